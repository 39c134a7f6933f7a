//! Prometheus metrics, kept in atomics and written in the text exposition format by hand.
//!
//! Requests are counted by route template (never the raw path, which can hold a personal ID)
//! and status class; latency goes into one histogram. Counters never hold personal data.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The route templates counted one by one; anything else counts as `other`.
pub const ROUTES: [&str; 86] = [
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

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    /// One row of status-class counters per route of [`ROUTES`].
    requests: Vec<[AtomicU64; 5]>,
    /// Cumulative bucket counts are computed on output; these are per bucket (last: +Inf).
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    persons_read: AtomicU64,
    persons_searched: AtomicU64,
    login_failures: AtomicU64,
    login_limited: AtomicU64,
    scope_denied: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: ROUTES.iter().map(|_| Default::default()).collect(),
            latency: Default::default(),
            latency_sum_micros: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
            persons_read: AtomicU64::new(0),
            persons_searched: AtomicU64::new(0),
            login_failures: AtomicU64::new(0),
            login_limited: AtomicU64::new(0),
            scope_denied: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let r = ROUTES
            .iter()
            .position(|x| *x == route)
            .unwrap_or(ROUTES.len() - 1);
        let c = usize::from((status / 100).clamp(1, 5) - 1);
        if let Some(counter) = self.requests.get(r).and_then(|row| row.get(c)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let b = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        if let Some(bucket) = self.latency.get(b) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn person_read(&self) {
        self.persons_read.fetch_add(1, Ordering::Relaxed);
    }
    pub fn person_search(&self) {
        self.persons_searched.fetch_add(1, Ordering::Relaxed);
    }
    pub fn login_failure(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub fn login_limited(&self) {
        self.login_limited.fetch_add(1, Ordering::Relaxed);
    }
    pub fn scope_denied(&self) {
        self.scope_denied.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP eid_build_info Build information.\n# TYPE eid_build_info gauge"
        );
        let _ = writeln!(
            out,
            "eid_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        let _ = writeln!(
            out,
            "# HELP eid_http_requests_total HTTP requests by route and status class."
        );
        let _ = writeln!(out, "# TYPE eid_http_requests_total counter");
        for (route, row) in ROUTES.iter().zip(&self.requests) {
            for (class, n) in CLASSES.iter().zip(row) {
                let n = load(n);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "eid_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {n}"
                    );
                }
            }
        }

        let _ = writeln!(
            out,
            "# HELP eid_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(out, "# TYPE eid_http_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (le, n) in BUCKETS.iter().zip(&self.latency) {
            cumulative += load(n);
            let _ = writeln!(
                out,
                "eid_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "eid_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = load(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "eid_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "eid_http_request_duration_seconds_count {count}");

        let counters = [
            (
                "eid_persons_read_total",
                "Persons looked up by ID.",
                &self.persons_read,
            ),
            (
                "eid_person_searches_total",
                "Person searches run.",
                &self.persons_searched,
            ),
            (
                "eid_login_failures_total",
                "Failed sign-ins (wrong password or unknown user).",
                &self.login_failures,
            ),
            (
                "eid_login_rate_limited_total",
                "Sign-ins refused by the rate limit.",
                &self.login_limited,
            ),
            (
                "eid_scope_denied_total",
                "Requests refused as outside the caller's scope.",
                &self.scope_denied,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                load(value)
            );
        }
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
        m.request("/nope/{x}", 500, Duration::from_secs(20));
        let text = m.render();
        assert!(text
            .contains("eid_http_requests_total{route=\"/api/v1/persons/{id}\",status=\"2xx\"} 1"));
        assert!(text.contains("eid_http_requests_total{route=\"other\",status=\"5xx\"} 1"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("eid_build_info{version=\""));
    }
}
