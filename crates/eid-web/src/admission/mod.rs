//! Admission control (surge mode, issue 16): under overload the server keeps answering the
//! requests it admits within their latency goal and turns the rest away early and cheaply — a
//! Vietnamese waiting page that reloads itself for people, `503` with `Retry-After` for programs
//! — instead of slowing everyone down until everything times out ("Hệ thống đang bảo trì").
//!
//! ## Lanes
//! Every request is put in a lane by its route and session, before any work ([`classify`]):
//! - `health`: `/healthz`, `/metrics`, style sheets — always answered, never counted;
//! - `officer`: officers' intake (`/api/v1/intake…`), the staff console and the staff API;
//! - `citizen`: sign-in of registered citizens (`/me/signin`, `/oauth2/*`, `/api/v1/app/signin`),
//!   and every `/me` or app request that carries a citizen's session;
//! - `register`: new registrations (`/me/register`, `/api/v1/app/register`).
//!
//! ## The gate ([`gate::Gate`])
//! One in-flight limit shared by the three queued lanes; a lane may hold at most its share of it
//! (officers all of it, citizens 90 %, registrations 50 % — less in an announced peak), and a
//! freed place goes to the first waiter of the highest lane. A request that finds no place
//! waits in its lane's queue only if the expected wait (the waiters ahead of it, in its lane and
//! above, times the smoothed service time, over the limit) plus its own service time fits the
//! lane's latency goal; otherwise it is turned away at once, which costs a few microseconds. A
//! waiter whose allowance runs out is turned away then. Each queue holds at most `max_queue`
//! requests, so memory is bounded by `limit + 3 × max_queue` requests whatever comes in.
//!
//! Why a limit on requests in flight rather than a rate: the server's capacity changes with the
//! mix (a sign-in costs an Argon2 hash, a health check nothing) and with the machine, and
//! in-flight work is what queues on the cores and the database. The limit adapts by AIMD on the
//! observed service time: every 32 completions (or second), if the 90th percentile of service
//! times missed `target_ms` while at least half the places were used, the limit is multiplied
//! by target/p90 (cut by a tenth to a half); if it met the target while the places were mostly
//! used, it rises by one. AIMD
//! rather than a gradient on the minimum latency (Vegas, Gradient2) because the mix holds
//! routes whose cost differs by 100× (hashing vs. a lookup): a minimum-latency baseline would
//! be set by the cheapest route and read every hash as congestion. Decreases only under load,
//! so one slow request on a quiet server does not shrink the limit. Bounds `min_limit` and
//! `max_limit` keep it sane.
//!
//! ## Announced peaks
//! A ministry officer announces a window (`eid_core::peaks`); the gate reads the windows every
//! few seconds and, while one holds, divides the registration lane's share by the expected
//! load (down to a floor), so officers and sign-ins keep their places while the crowd that a
//! national announcement brings waits its turn or is told when to come back.
//!
//! ## Answers when turned away
//! Both are `503 Service Unavailable` with `Retry-After` (the time the queues need to drain,
//! spread a little so that those turned away together do not return together). The HTML
//! page is 503 rather than 200 so that proxies, monitors and crawlers see overload for what
//! it is and nothing caches it as the page; browsers show a 503's body and honour its
//! `<meta http-equiv="refresh">` just the same.

pub mod console;
pub mod gate;
pub mod i18n;
mod page;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;

use crate::state::AppState;
pub use gate::{Gate, Permit, Reason, Shed};

/// The queued lanes (officer, citizen, register).
pub const QUEUED: usize = 3;

/// The lane of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Health,
    Officer,
    Citizen,
    Register,
}

impl Lane {
    /// The queued lanes, highest first.
    pub const QUEUED: [Lane; QUEUED] = [Lane::Officer, Lane::Citizen, Lane::Register];

    /// The lane's queue index (0 is the highest), `None` for health.
    pub fn queue(self) -> Option<usize> {
        match self {
            Lane::Health => None,
            Lane::Officer => Some(0),
            Lane::Citizen => Some(1),
            Lane::Register => Some(2),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Health => "health",
            Lane::Officer => "officer",
            Lane::Citizen => "citizen",
            Lane::Register => "register",
        }
    }
}

/// The `[admission]` table of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// Off: every request is admitted at once (the lanes are still counted).
    pub enabled: bool,
    /// The in-flight limit at start, and its bounds as it adapts.
    pub initial_limit: u32,
    pub min_limit: u32,
    pub max_limit: u32,
    /// The service time (admission to answer) whose 90th percentile the limit aims at, in ms.
    pub target_ms: u64,
    /// The latency goal of each lane (officer, citizen, register), queueing included, in ms.
    pub goal_ms: [u64; QUEUED],
    /// The most requests waiting in one lane.
    pub max_queue: u32,
    /// The shares of the limit the citizen and the registration lanes may hold, in thousandths
    /// (officers may hold all of it); in an announced peak the registration share is divided
    /// by the expected load, down to `register_share_floor_permille`.
    pub citizen_share_permille: u32,
    pub register_share_permille: u32,
    pub register_share_floor_permille: u32,
    /// The service time assumed before any was measured, in ms.
    pub initial_service_ms: u64,
    /// The longest `Retry-After` given, in seconds.
    pub max_retry_after_seconds: u64,
}

impl Default for AdmissionConfig {
    fn default() -> AdmissionConfig {
        AdmissionConfig {
            enabled: true,
            initial_limit: 32,
            min_limit: 4,
            max_limit: 512,
            target_ms: 250,
            goal_ms: [2_000, 1_500, 1_500],
            max_queue: 256,
            citizen_share_permille: 900,
            register_share_permille: 500,
            register_share_floor_permille: 50,
            initial_service_ms: 20,
            max_retry_after_seconds: 60,
        }
    }
}

impl AdmissionConfig {
    /// The limits must be ordered and at least 1, the shares within 1..=1000.
    pub fn check(&self) -> Result<(), String> {
        if self.min_limit == 0 || self.min_limit > self.max_limit {
            return Err("admission: min_limit must be at least 1 and at most max_limit".into());
        }
        if self.max_queue == 0 || self.goal_ms.contains(&0) || self.target_ms == 0 {
            return Err("admission: max_queue, goal_ms and target_ms must be at least 1".into());
        }
        for (key, v) in [
            ("citizen_share_permille", self.citizen_share_permille),
            ("register_share_permille", self.register_share_permille),
            (
                "register_share_floor_permille",
                self.register_share_floor_permille,
            ),
        ] {
            if !(1..=1000).contains(&v) {
                return Err(format!("admission.{key} must be between 1 and 1000"));
            }
        }
        if self.max_retry_after_seconds == 0 {
            return Err("admission.max_retry_after_seconds must be at least 1".into());
        }
        Ok(())
    }
}

/// What the server keeps for admission: the gate, the counts, and the peaks' refresh time.
pub struct Admission {
    pub gate: Arc<Gate>,
    pub stats: stats::Stats,
    refreshed: std::sync::Mutex<Option<Instant>>,
}

/// How often the announced peaks are read again.
const PEAKS_EVERY: Duration = Duration::from_secs(10);

impl Admission {
    pub fn new(config: &AdmissionConfig) -> Admission {
        Admission {
            gate: Arc::new(Gate::new(config.clone())),
            stats: stats::Stats::default(),
            refreshed: std::sync::Mutex::new(None),
        }
    }

    /// Whether the peaks are due to be read again (and, if so, marks them read now).
    fn peaks_due(&self) -> bool {
        let mut at = self.refreshed.lock().unwrap_or_else(|p| p.into_inner());
        match *at {
            Some(t) if t.elapsed() < PEAKS_EVERY => false,
            _ => {
                *at = Some(Instant::now());
                true
            }
        }
    }
}

/// Reads the announced peaks and sets the gate's load from the one holding now.
pub async fn refresh_peaks(state: &AppState) {
    let now = state.now();
    let read = state
        .read(move |store| Ok(eid_core::peaks::upcoming(store, now)?))
        .await;
    match read {
        Ok(peaks) => state
            .admission
            .gate
            .set_load(eid_core::peaks::load_at(&peaks, now)),
        Err(e) => tracing::warn!(error = %e.message(), "reading the announced peaks failed"),
    }
}

/// Whether `headers` carry a cookie named `name`.
fn has_cookie(headers: &axum::http::HeaderMap, name: &str) -> bool {
    crate::auth::cookie(headers, name).is_some()
}

/// The lane of a request, from its path and whether it carries a session.
pub fn classify(path: &str, headers: &axum::http::HeaderMap) -> Lane {
    let under = |prefix: &str| {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if path == "/healthz"
        || path == "/metrics"
        || path == "/favicon.ico"
        || path.starts_with("/static/")
    {
        return Lane::Health;
    }
    if under("/api/v1/intake") {
        return Lane::Officer;
    }
    if under("/me/register") || under("/api/v1/app/register") {
        return Lane::Register;
    }
    if under("/me") || under("/oauth2") || under("/.well-known") || under("/api/v1/app") {
        return Lane::Citizen;
    }
    if has_cookie(headers, crate::citizen::session::SESSION_COOKIE) {
        return Lane::Citizen;
    }
    Lane::Officer
}

/// Whether the client reads HTML (a browser) rather than JSON.
fn wants_html(path: &str, headers: &axum::http::HeaderMap) -> bool {
    if path.starts_with("/api/") || path.starts_with("/oauth2/token") {
        return false;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The middleware: classifies the request, waits for a place or turns it away, and holds the
/// place until the answer is made.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let lane = classify(path, request.headers());
    let admission = &state.admission;
    admission.stats.tick(state.now());
    if admission.peaks_due() {
        let s = state.clone();
        tokio::spawn(async move { refresh_peaks(&s).await });
    }
    if lane == Lane::Health || !admission.gate.config().enabled {
        if lane != Lane::Health {
            admission.stats.admitted(lane);
            state.metrics.admission(lane.as_str(), true);
        }
        return next.run(request).await;
    }
    match admission.gate.acquire(lane).await {
        Ok(permit) => {
            admission.stats.admitted(lane);
            state.metrics.admission(lane.as_str(), true);
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(shed) => {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "other".to_owned());
            admission.stats.shed(lane, shed.reason, &route, state.now());
            state.metrics.admission(lane.as_str(), false);
            let html = wants_html(path, request.headers());
            let lang = crate::console::i18n::Lang::from_headers(request.headers());
            page::turned_away(shed, html, lang, request.uri())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn requests_are_put_in_lanes_by_route_and_session() {
        let none = HeaderMap::new();
        let mut citizen = HeaderMap::new();
        citizen.insert(header::COOKIE, HeaderValue::from_static("eid_me=abc"));
        let cases = [
            ("/healthz", &none, Lane::Health),
            ("/metrics", &none, Lane::Health),
            ("/static/style.css", &none, Lane::Health),
            ("/api/v1/intake/applications", &none, Lane::Officer),
            ("/applications", &none, Lane::Officer),
            ("/api/v1/persons/x", &none, Lane::Officer),
            ("/login", &none, Lane::Officer),
            ("/me/signin", &none, Lane::Citizen),
            ("/oauth2/authorize", &none, Lane::Citizen),
            ("/api/v1/app/signin", &none, Lane::Citizen),
            ("/me", &citizen, Lane::Citizen),
            ("/me/register", &none, Lane::Register),
            ("/me/register/confirm", &citizen, Lane::Register),
            ("/api/v1/app/register", &none, Lane::Register),
            ("/me/registered", &none, Lane::Citizen),
            ("/healthzz", &none, Lane::Officer),
        ];
        for (path, headers, lane) in cases {
            assert_eq!(classify(path, headers), lane, "{path}");
        }
    }

    #[test]
    fn the_defaults_pass_their_own_check_and_nonsense_does_not() {
        assert!(AdmissionConfig::default().check().is_ok());
        let bad = AdmissionConfig {
            min_limit: 10,
            max_limit: 5,
            ..AdmissionConfig::default()
        };
        assert!(bad.check().is_err());
        let bad = AdmissionConfig {
            register_share_permille: 0,
            ..AdmissionConfig::default()
        };
        assert!(bad.check().is_err());
    }
}
