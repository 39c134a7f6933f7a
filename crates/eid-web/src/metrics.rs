//! Prometheus metrics: `prometheus-client` metrics in one explicit registry, written in the text
//! exposition format (version 0.0.4).
//!
//! Requests are counted by route template (never the raw path, which can hold a personal ID)
//! and status class; latency goes into one histogram. Counters never hold personal data.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The route templates known in advance; any other template the router matched counts under
/// its own label too (at most [`MAX_OWN_ROUTES`] of them), an unmatched request as `other`.
pub const ROUTES: [&str; 88] = [
    "/healthz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/me",
    "/api/v1/persons",
    "/api/v1/persons/{id}",
    "/api/v1/persons/{id}/history",
    "/api/v1/units/{code}",
    "/api/v1/audit",
    "/",
    "/login",
    "/logout",
    "/lang/{lang}",
    "/search",
    "/persons/{id}",
    "/units",
    "/units/{code}",
    "/audit",
    "/static/style.css",
    "/favicon.ico",
    "/static/{file}",
    "/api/v1/app/register",
    "/api/v1/app/register/confirm",
    "/api/v1/app/activate",
    "/api/v1/app/signin",
    "/api/v1/app/signin/device",
    "/api/v1/app/unlock",
    "/api/v1/app/password-reset",
    "/api/v1/app/password-reset/confirm",
    "/api/v1/app/account",
    "/api/v1/app/events",
    "/api/v1/app/lock",
    "/api/v1/app/passcode",
    "/api/v1/app/password",
    "/api/v1/app/phone",
    "/api/v1/app/phone/confirm",
    "/api/v1/app/upgrade",
    "/api/v1/app/children",
    "/api/v1/app/signout",
    "/api/v1/intake/applications",
    "/api/v1/applications",
    "/api/v1/applications/{id}",
    "/api/v1/applications/{id}/approve",
    "/api/v1/applications/{id}/reject",
    "/api/v1/applications/{id}/resend",
    "/api/v1/accounts/{id}",
    "/api/v1/accounts/{id}/lock",
    "/api/v1/accounts/{id}/unlock",
    "/api/v1/accounts/{id}/phone",
    "/api/v1/persons/{id}/guardians",
    "/api/v1/devices",
    "/api/v1/devices/{id}/status",
    "/api/v1/sms",
    "/api/v1/ops/quotas",
    "/api/v1/ops/quotas/{id}",
    "/api/v1/ops/quotas/{id}/split",
    "/api/v1/ops/quotas/{id}/capacity",
    "/api/v1/ops/quotas/{id}/leaderboard",
    "/api/v1/ops/series",
    "/api/v1/ops/national",
    "/api/v1/ops/provinces-2025",
    "/api/v1/ops/campaigns",
    "/api/v1/ops/outreach",
    "/api/v1/ops/outreach/assign",
    "/api/v1/ops/outreach/contacts",
    "/api/v1/ops/proposals",
    "/api/v1/ops/proposals/{id}",
    "/api/v1/ops/reports",
    "/api/v1/ops/reports/schedules",
    "/api/v1/ops/reports/{id}/submit",
    "/applications",
    "/applications/{id}",
    "/accounts",
    "/accounts/{id}",
    "/devices",
    "/sms",
    "/ops",
    "/ops/quotas/{id}",
    "/ops/units",
    "/ops/outreach",
    "/ops/outreach.csv",
    "/ops/outreach.xlsx",
    "/ops/outreach/print",
    "/ops/proposals",
    "/ops/reports",
    "/ops/campaigns",
    "/ops/quotas/{id}/leaderboard",
    "other",
];

/// At most this many distinct matched route templates beyond [`ROUTES`] get a label of their
/// own (the citizen's pages, the OpenID provider, the residence, stay, wallet and linkage
/// slices, which keep adding routes); further ones count as `other`. The router's templates are
/// finite and never a raw path, so this bound is a backstop.
pub const MAX_OWN_ROUTES: usize = 300;

/// The label of a matched route template (`other` for an unmatched request).
fn label_of(route: &str, own: &std::sync::RwLock<Vec<&'static str>>) -> &'static str {
    if let Some(r) = ROUTES.iter().find(|x| **x == route) {
        return r;
    }
    let other = ROUTES[ROUTES.len() - 1];
    // Only the router's templates start with a slash; an unmatched request is "other".
    if !route.starts_with('/') {
        return other;
    }
    if let Ok(known) = own.read() {
        if let Some(r) = known.iter().find(|x| **x == route) {
            return r;
        }
    }
    let Ok(mut known) = own.write() else {
        return other;
    };
    if let Some(r) = known.iter().find(|x| **x == route) {
        return r;
    }
    if known.len() >= MAX_OWN_ROUTES {
        return other;
    }
    // Bounded (above) and kept for the process's life, as the label is.
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    known.push(leaked);
    leaked
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The labels of a request counter: a route of [`ROUTES`] and a status class of [`CLASSES`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: &'static str,
}

/// The labels of an admission counter: the lane and whether the request was admitted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AdmissionLabels {
    lane: &'static str,
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    admission: Family<AdmissionLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    latency: Histogram,
    persons_read: Counter,
    persons_searched: Counter,
    login_failures: Counter,
    login_limited: Counter,
    scope_denied: Counter,
    intake_groups: Counter,
    intake_grouped: Counter,
    secret_checks: Counter,
    secret_check_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    /// The matched templates beyond [`ROUTES`] seen so far.
    own_routes: std::sync::RwLock<Vec<&'static str>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        // The library adds the `_info` and `_total` suffixes and the final full stop of the help.
        registry.register(
            "eid_build",
            "Build information",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "eid_http_requests",
            "HTTP requests by route and status class",
            requests.clone(),
        );
        let latency = Histogram::new(BUCKETS);
        registry.register(
            "eid_http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        let admission = Family::<AdmissionLabels, Counter>::default();
        registry.register(
            "eid_admission_requests",
            "Requests admitted or turned away by admission control, by lane",
            admission.clone(),
        );
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let persons_read = counter("eid_persons_read", "Persons looked up by ID");
        let persons_searched = counter("eid_person_searches", "Person searches run");
        let login_failures = counter(
            "eid_login_failures",
            "Failed sign-ins (wrong password or unknown user)",
        );
        let login_limited = counter(
            "eid_login_rate_limited",
            "Sign-ins refused by the rate limit",
        );
        let scope_denied = counter(
            "eid_scope_denied",
            "Requests refused as outside the caller's scope",
        );
        let intake_groups = counter(
            "eid_intake_group_commits",
            "Write transactions of the intake group commit",
        );
        let intake_grouped = counter(
            "eid_intake_group_applications",
            "Applications those transactions held",
        );
        let secret_checks = counter(
            "eid_secret_checks",
            "Password and passcode checks run by the hashing pool",
        );
        let secret_check_seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "eid_secret_check_seconds",
            "Time the hashing pool spent checking passwords and passcodes (Argon2id)",
            secret_check_seconds.clone(),
        );
        Metrics {
            registry,
            admission,
            requests,
            latency,
            persons_read,
            persons_searched,
            login_failures,
            login_limited,
            scope_denied,
            intake_groups,
            intake_grouped,
            secret_checks,
            secret_check_seconds,
            own_routes: std::sync::RwLock::new(Vec::new()),
        }
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let route = label_of(route, &self.own_routes);
        let class = CLASSES[usize::from((status / 100).clamp(1, 5) - 1)];
        self.requests
            .get_or_create(&RequestLabels {
                route,
                status: class,
            })
            .inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// Counts one request of `lane` (officer, citizen, register) admitted or turned away.
    pub fn admission(&self, lane: &'static str, admitted: bool) {
        let outcome = if admitted { "admitted" } else { "shed" };
        self.admission
            .get_or_create(&AdmissionLabels { lane, outcome })
            .inc();
    }

    pub fn person_read(&self) {
        self.persons_read.inc();
    }
    pub fn person_search(&self) {
        self.persons_searched.inc();
    }
    pub fn login_failure(&self) {
        self.login_failures.inc();
    }
    pub fn login_limited(&self) {
        self.login_limited.inc();
    }
    pub fn scope_denied(&self) {
        self.scope_denied.inc();
    }

    /// The intake group commit's counts so far ([`eid_core::sql::Group::counts`]).
    pub fn intake_group(&self, (groups, bodies): (u64, u64)) {
        use std::sync::atomic::Ordering::Relaxed;
        self.intake_groups.inner().store(groups, Relaxed);
        self.intake_grouped.inner().store(bodies, Relaxed);
    }

    /// Sets the hashing pool's counters: checks run and their microseconds in all
    /// ([`crate::hashpool::HashPool::served`]).
    pub fn secret_checks(&self, (checks, micros): (u64, u64)) {
        use std::sync::atomic::Ordering::Relaxed;
        self.secret_checks.inner().store(checks, Relaxed);
        // f64 in its bits, as the counter keeps it.
        self.secret_check_seconds
            .inner()
            .store((micros as f64 / 1e6).to_bits(), Relaxed);
    }

    /// The Prometheus text format (version 0.0.4), see [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_class_and_buckets_are_cumulative() {
        let m = Metrics::default();
        m.request("/api/v1/persons/{id}", 200, Duration::from_millis(3));
        m.request("/api/v1/persons/{id}", 404, Duration::from_millis(30));
        m.request("other", 500, Duration::from_secs(20));
        let text = m.render();
        assert!(text
            .contains("eid_http_requests_total{route=\"/api/v1/persons/{id}\",status=\"2xx\"} 1"));
        assert!(text.contains("eid_http_requests_total{route=\"other\",status=\"5xx\"} 1"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("eid_build_info{version=\""));
        m.secret_checks((3, 45_500));
        let text = m.render();
        assert!(text.contains("eid_secret_checks_total 3\n"), "{text}");
        assert!(
            text.contains("eid_secret_check_seconds_total 0.0455\n"),
            "{text}"
        );
    }

    #[test]
    fn citizen_and_provider_routes_count_under_their_templates_and_stay_bounded() {
        let m = Metrics::default();
        m.request("/me/devices", 200, Duration::from_millis(1));
        m.request("/me", 303, Duration::from_millis(1));
        m.request("/oauth2/token", 200, Duration::from_millis(1));
        m.request("/oauth2/token", 400, Duration::from_millis(1));
        m.request(
            "/.well-known/openid-configuration",
            200,
            Duration::from_millis(1),
        );
        m.request("/me/residence/{id}", 200, Duration::from_millis(1));
        // What the router did not match comes as "other", never as its raw path.
        m.request("other", 200, Duration::from_millis(1));
        let text = m.render();
        for line in [
            "eid_http_requests_total{route=\"/me/devices\",status=\"2xx\"} 1",
            "eid_http_requests_total{route=\"/me\",status=\"3xx\"} 1",
            "eid_http_requests_total{route=\"/oauth2/token\",status=\"2xx\"} 1",
            "eid_http_requests_total{route=\"/oauth2/token\",status=\"4xx\"} 1",
            "eid_http_requests_total{route=\"/.well-known/openid-configuration\",status=\"2xx\"} 1",
            "eid_http_requests_total{route=\"/me/residence/{id}\",status=\"2xx\"} 1",
            "eid_http_requests_total{route=\"other\",status=\"2xx\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        // Past the bound, further templates count as other.
        for i in 0..MAX_OWN_ROUTES + 10 {
            m.request(&format!("/me/x{i}"), 200, Duration::from_millis(1));
        }
        let text = m.render();
        let labels = text
            .lines()
            .filter(|l| l.starts_with("eid_http_requests_total{route=\"/me/x"))
            .count();
        assert_eq!(labels, MAX_OWN_ROUTES - 5);
        assert!(text
            .lines()
            .any(|l| l == "eid_http_requests_total{route=\"other\",status=\"2xx\"} 16"));
    }

    #[test]
    fn the_exposition_keeps_its_names_types_and_help() {
        let m = Metrics::default();
        m.person_read();
        m.request("/healthz", 200, Duration::from_millis(1));
        m.login_failure();
        m.login_failure();
        let text = m.render();
        for line in [
            "# HELP eid_build_info Build information.",
            "# TYPE eid_build_info gauge",
            "# TYPE eid_http_requests_total counter",
            "# TYPE eid_http_request_duration_seconds histogram",
            "eid_http_request_duration_seconds_count 1",
            "# HELP eid_persons_read_total Persons looked up by ID.",
            "# TYPE eid_persons_read_total counter",
            "eid_persons_read_total 1",
            "eid_person_searches_total 0",
            "eid_login_failures_total 2",
            "eid_login_rate_limited_total 0",
            "eid_scope_denied_total 0",
            "eid_intake_group_commits_total 0",
            "eid_intake_group_applications_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    }
}
