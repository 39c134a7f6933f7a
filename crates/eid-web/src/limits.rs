//! Per-source limits on the citizen routes that check a secret or send an SMS, and the source
//! address they key on; the failed client authentications of relying parties per source, and
//! the presentation checks of each relying party.
//!
//! Each kind of route has a keyed GCRA limiter (`governor`) per source address, in memory: it
//! answers before any database work or hash, so a single address cannot spray guesses across
//! personal IDs nor flood phones, and it runs out before an account's own limit does (its
//! burst is smaller than `account_max_failures`), so an attacker's address is throttled before
//! the account it attacks is locked out. The per-ID, per-account and per-phone limits live in
//! the database (`eid_core::accounts::limits`) and hold across nodes. The source is the TCP
//! peer; `X-Forwarded-For` is read only when the peer is one of `trusted_proxies`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{request::Parts, HeaderMap};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;

use crate::error::AppError;

/// The `[limits]` table of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Reverse proxies whose `X-Forwarded-For` is believed (their own addresses). Empty: the
    /// source is always the TCP peer, and `X-Forwarded-For` is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Secret and code checks one source address may send at once…
    pub source_secret_burst: u32,
    /// …and then per hour.
    pub source_secret_per_hour: u32,
    /// Requests that send an SMS one source address may send at once…
    pub source_sms_burst: u32,
    /// …and then per hour.
    pub source_sms_per_hour: u32,
    /// Sign-up, sign-in, reset and phone-change codes sent per hour for one personal ID and
    /// for one phone number (each purpose counts on its own).
    pub code_issues_per_hour: u32,
    /// Code entries checked per hour for one person, across all of their codes.
    pub code_guesses_per_hour: u32,
    /// Failed client authentications at the token and pushed-request endpoints one source
    /// address may make per hour; past it, that source's client checks wait for the hour to end.
    pub client_auth_failures_per_hour: u32,
    /// Presentation checks one relying party (client) may make at
    /// `/api/v1/presentations/verify` at once…
    pub client_presentation_burst: u32,
    /// …and then per hour.
    pub client_presentation_per_hour: u32,
    /// The longest a password, passcode or code check waits for a hashing thread, in
    /// milliseconds; a check expected to wait longer is refused at once with `503 server.busy`
    /// and `Retry-After` (see the hashing pool).
    pub hash_wait_ms: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            trusted_proxies: Vec::new(),
            source_secret_burst: 4,
            source_secret_per_hour: 60,
            source_sms_burst: 3,
            source_sms_per_hour: 6,
            code_issues_per_hour: 3,
            code_guesses_per_hour: 10,
            client_auth_failures_per_hour: 20,
            client_presentation_burst: 100,
            client_presentation_per_hour: 36_000,
            hash_wait_ms: 1_000,
        }
    }
}

impl Limits {
    /// Every number must be at least 1.
    pub fn check(&self) -> Result<(), String> {
        for (key, v) in [
            ("source_secret_burst", self.source_secret_burst),
            ("source_secret_per_hour", self.source_secret_per_hour),
            ("source_sms_burst", self.source_sms_burst),
            ("source_sms_per_hour", self.source_sms_per_hour),
            ("code_issues_per_hour", self.code_issues_per_hour),
            ("code_guesses_per_hour", self.code_guesses_per_hour),
            (
                "client_auth_failures_per_hour",
                self.client_auth_failures_per_hour,
            ),
            ("client_presentation_burst", self.client_presentation_burst),
            (
                "client_presentation_per_hour",
                self.client_presentation_per_hour,
            ),
            ("hash_wait_ms", self.hash_wait_ms),
        ] {
            if v == 0 {
                return Err(format!("limits.{key} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// Which limiter a route answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A password, passcode or code is checked.
    Secret,
    /// An SMS may be sent.
    Sms,
}

/// The per-source limiters of a running server.
pub struct SourceLimits {
    trusted: Vec<IpAddr>,
    secret: DefaultKeyedRateLimiter<IpAddr>,
    sms: DefaultKeyedRateLimiter<IpAddr>,
    /// Failed client authentications (the token, pushed-request and presentation endpoints).
    pub client_auth: FailureBudget,
    /// Presentation checks per relying party, keyed by client id. Taken only once the client
    /// has authenticated, so a stranger sending wrong secrets under a client's id spends the
    /// stranger's own address's budget, not the client's.
    presentations: DefaultKeyedRateLimiter<String>,
}

/// A budget of failed checks per source address in a fixed window. A check runs freely (a
/// client secret's comparison is a hash); a *failure* takes a place, atomically, before it is
/// recorded, so however many failures one source sends at once, at most `limit` are recorded
/// and answered as failures per window, the rest — and, once the budget is spent, every
/// request of that source, a right secret too — are turned away until the window ends.
/// Successes take nothing: a relying party's concurrent token calls never meet the budget.
pub struct FailureBudget {
    limit: u32,
    window: Duration,
    used: std::sync::Mutex<std::collections::HashMap<IpAddr, (std::time::Instant, u32)>>,
}

impl FailureBudget {
    pub fn new(limit: u32, window: Duration) -> FailureBudget {
        FailureBudget {
            limit: limit.max(1),
            window,
            used: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// When the source's budget is spent in a window that has not ended, the seconds left.
    pub fn spent(&self, source: IpAddr) -> Option<u64> {
        let now = std::time::Instant::now();
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let (start, n) = used.get(&source)?;
        let elapsed = now.duration_since(*start);
        (elapsed < self.window && *n >= self.limit)
            .then(|| self.window.saturating_sub(elapsed).as_secs().max(1))
    }

    /// Takes a place for one failure of `source`; `false` when the budget is spent.
    pub fn take(&self, source: IpAddr) -> bool {
        let now = std::time::Instant::now();
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.len() >= SWEEP_AT {
            used.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let slot = used.entry(source).or_insert((now, 0));
        if now.duration_since(slot.0) >= self.window {
            *slot = (now, 0);
        }
        if slot.1 >= self.limit {
            return false;
        }
        slot.1 += 1;
        true
    }
}

/// Keys kept before the idle ones are swept.
const SWEEP_AT: usize = 10_000;

fn quota(burst: u32, per_hour: u32) -> Quota {
    let per = Duration::from_secs(3600) / per_hour.max(1);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per)
        .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// Takes one from `key`'s allowance in `limiter` (sweeping keys that went quiet once there are
/// many), or says how long to wait.
fn take_key<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), AppError>
where
    K: std::hash::Hash + Eq + Clone,
{
    if limiter.len() >= SWEEP_AT {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            retry_after: wait.as_secs().max(1),
        }
    })
}

impl SourceLimits {
    pub fn new(l: &Limits) -> SourceLimits {
        SourceLimits {
            trusted: l.trusted_proxies.clone(),
            secret: governor::RateLimiter::keyed(quota(
                l.source_secret_burst,
                l.source_secret_per_hour,
            )),
            sms: governor::RateLimiter::keyed(quota(l.source_sms_burst, l.source_sms_per_hour)),
            client_auth: FailureBudget::new(
                l.client_auth_failures_per_hour,
                Duration::from_secs(3600),
            ),
            presentations: governor::RateLimiter::keyed(quota(
                l.client_presentation_burst,
                l.client_presentation_per_hour,
            )),
        }
    }

    /// The source of a request: the TCP peer, or, when the peer is a trusted proxy, the
    /// right-most `X-Forwarded-For` address that is not a trusted proxy itself.
    pub fn source(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted.contains(&peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|a| !self.trusted.contains(a))
            .unwrap_or(peer)
    }

    /// Takes one request of `kind` from `source`'s allowance, or says how long to wait.
    pub fn take(&self, kind: Kind, source: IpAddr) -> Result<(), AppError> {
        let limiter = match kind {
            Kind::Secret => &self.secret,
            Kind::Sms => &self.sms,
        };
        take_key(limiter, &source)
    }

    /// Takes one presentation check from an authenticated client's allowance, or says how long
    /// to wait.
    pub fn take_presentation(&self, client_id: &str) -> Result<(), AppError> {
        take_key(&self.presentations, &client_id.to_owned())
    }

    /// [`SourceLimits::take`] for a request's parts.
    pub fn take_for(&self, kind: Kind, parts: &Parts) -> Result<IpAddr, AppError> {
        let source = self.source(crate::auth::client_ip(&parts.extensions), &parts.headers);
        self.take(kind, source)?;
        Ok(source)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_budget_holds_under_threads() {
        let budget = std::sync::Arc::new(FailureBudget::new(5, Duration::from_secs(3600)));
        let a = IpAddr::from([192, 0, 2, 1]);
        assert_eq!(budget.spent(a), None);
        let granted: usize = (0..32)
            .map(|_| {
                let b = std::sync::Arc::clone(&budget);
                std::thread::spawn(move || b.take(a))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum();
        assert_eq!(granted, 5);
        let wait = budget.spent(a).unwrap();
        assert!((3590..=3600).contains(&wait), "{wait}");
        assert!(!budget.take(a));
        assert!(budget.take(IpAddr::from([192, 0, 2, 2])), "per source");
        let short = FailureBudget::new(1, Duration::from_millis(20));
        assert!(short.take(a));
        assert!(short.spent(a).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(short.spent(a), None, "a new window");
        assert!(short.take(a));
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy = IpAddr::from([10, 0, 0, 1]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        let open = SourceLimits::new(&Limits::default());
        assert_eq!(open.source(proxy, &h), proxy);
        let behind = SourceLimits::new(&Limits {
            trusted_proxies: vec![proxy],
            ..Limits::default()
        });
        assert_eq!(behind.source(proxy, &h), IpAddr::from([203, 0, 113, 7]));
        assert_eq!(
            behind.source(IpAddr::from([1, 2, 3, 4]), &h),
            IpAddr::from([1, 2, 3, 4])
        );
    }

    #[test]
    fn a_source_gets_its_burst_then_waits() {
        let l = SourceLimits::new(&Limits::default());
        let a = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..4 {
            l.take(Kind::Secret, a).unwrap();
        }
        assert!(matches!(
            l.take(Kind::Secret, a),
            Err(AppError::RateLimited { retry_after }) if retry_after > 0
        ));
        l.take(Kind::Secret, IpAddr::from([192, 0, 2, 2])).unwrap();
    }

    #[test]
    fn a_client_gets_its_presentation_burst_then_waits() {
        let l = SourceLimits::new(&Limits {
            client_presentation_burst: 3,
            ..Limits::default()
        });
        for _ in 0..3 {
            l.take_presentation("bank").unwrap();
        }
        assert!(matches!(
            l.take_presentation("bank"),
            Err(AppError::RateLimited { retry_after }) if retry_after > 0
        ));
        l.take_presentation("hospital").unwrap();
    }
}
