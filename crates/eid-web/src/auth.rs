//! Who is calling: API bearer tokens, console sessions, and the sign-in rate limiter.
//!
//! Tokens and session cookies are random secrets the store knows only by their SHA-256
//! ([`eid_core::secret::token_hash`]); `eid_core::staff` turns a hash into a [`Caller`] and
//! checks passwords. The rate limiter stays here, in memory. Sign-in failures are counted per
//! username and per client IP; a success clears the username's count but not the IP's, so one good account
//! cannot be used to keep guessing others from the same address. An attempt reserves its place
//! before its password is checked ([`RateLimiter::reserve`]), so a burst gets no more checks
//! than the limit. Being in memory, it is per node: with several nodes, a burst spread across
//! them gets the limit on each (every attempt is audited); the citizens' limits, which face
//! the whole country, are in the database for that reason.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use eid_core::secret::token_hash;

use crate::error::AppError;
use crate::state::AppState;

/// The name of the console session cookie.
pub const SESSION_COOKIE: &str = "eid_session";
/// The name of the pre-sign-in CSRF cookie (double-submit for the sign-in form).
pub const LOGIN_CSRF_COOKIE: &str = "eid_login_csrf";

/// An authenticated caller: the core's proof type (the staff account and its audit actor).
pub use eid_core::Caller;

/// An API caller, authenticated by `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(AppError::Unauthenticated)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::BadCredentials)?;
        let hash = token_hash(token);
        if let Some(caller) = state.tokens.get(&hash) {
            return Ok(ApiCaller(caller));
        }
        let key = hash.clone();
        let found = state
            .read(move |store| Ok(eid_core::staff::token_caller(store, &key)?))
            .await?;
        if let Some(caller) = &found {
            state.tokens.put(hash, caller.clone());
        }
        found.map(ApiCaller).ok_or(AppError::BadCredentials)
    }
}

/// Bearer tokens the store confirmed within the last [`TOKEN_TTL`], by hash: a program calling
/// the API thousands of times a second is not looked up thousands of times. Only tokens found
/// are kept, so an unknown token is always asked of the store. A token revoked (or its account
/// disabled) — by `eid admin` on this machine or through another node — is refused by every
/// node within [`TOKEN_TTL`].
#[derive(Default)]
pub struct TokenCache {
    seen: Mutex<HashMap<Vec<u8>, (Caller, Instant)>>,
}

/// How long a confirmed token is taken on trust.
pub const TOKEN_TTL: Duration = Duration::from_secs(1);
/// The most tokens kept; a full cache starts again empty.
const TOKEN_CACHE_MAX: usize = 10_000;

impl TokenCache {
    fn get(&self, hash: &[u8]) -> Option<Caller> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_TTL)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, hash: Vec<u8>, caller: Caller) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= TOKEN_CACHE_MAX {
            seen.clear();
        }
        seen.insert(hash, (caller, Instant::now()));
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value with the attributes every eid cookie carries.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: u64,
    http_only: bool,
    secure: bool,
    same_site: &str,
) -> String {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite={same_site}");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The client's address as seen by the socket (a reverse proxy's address when behind one).
pub fn client_ip(parts_extensions: &axum::http::Extensions) -> IpAddr {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Failed sign-ins per key within a sliding window.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Entries kept before expired ones are swept, to bound memory under a spray of usernames.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max_failures: u32, window_secs: u64) -> RateLimiter {
        RateLimiter {
            max: usize::try_from(max_failures).unwrap_or(usize::MAX).max(1),
            window: Duration::from_secs(window_secs.max(1)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, ip: IpAddr) -> [String; 2] {
        [
            format!("user:{}", username.trim().to_lowercase()),
            format!("ip:{ip}"),
        ]
    }

    /// Reserves an attempt for the username and the address, in one critical section with the
    /// check, so that attempts arriving together cannot all pass a check made before any of
    /// them is recorded: `Err(seconds)` when either is at its limit (nothing is recorded then).
    /// The reservation counts as a failure until [`RateLimiter::success`] clears the
    /// username's; a failure needs nothing more.
    pub fn reserve(&self, username: &str, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::check_in(&map, self.max, self.window, username, ip, now)?;
        self.record_in(&mut map, username, ip, now);
        Ok(())
    }

    /// `Err(seconds)` when the username or the address is locked out at `now`.
    pub fn check(&self, username: &str, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::check_in(&map, self.max, self.window, username, ip, now)
    }

    fn check_in(
        map: &HashMap<String, VecDeque<Instant>>,
        max: usize,
        window: Duration,
        username: &str,
        ip: IpAddr,
        now: Instant,
    ) -> Result<(), u64> {
        let mut wait = None;
        for key in Self::keys(username, ip) {
            let Some(times) = map.get(&key) else { continue };
            let live: Vec<&Instant> = times
                .iter()
                .filter(|t| now.duration_since(**t) < window)
                .collect();
            if live.len() >= max {
                if let Some(oldest) = live.first() {
                    let left = window.saturating_sub(now.duration_since(**oldest));
                    let secs = left.as_secs().max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Records a failed sign-in for the username and the address.
    pub fn failure(&self, username: &str, ip: IpAddr, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        self.record_in(&mut map, username, ip, now);
    }

    fn record_in(
        &self,
        map: &mut HashMap<String, VecDeque<Instant>>,
        username: &str,
        ip: IpAddr,
        now: Instant,
    ) {
        if map.len() >= SWEEP_AT {
            let window = self.window;
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        for key in Self::keys(username, ip) {
            let times = map.entry(key).or_default();
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                times.pop_front();
            }
            times.push_back(now);
            while times.len() > self.max {
                times.pop_front();
            }
        }
    }

    /// After a successful sign-in from `ip`: clears the username's failures, and gives the
    /// address back the place its reservation took (the address keeps its failures).
    pub fn success_from(&self, username: &str, ip: IpAddr) {
        self.success(username);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(times) = map.get_mut(&format!("ip:{ip}")) {
            times.pop_back();
        }
    }

    /// Clears the username's failures after a successful sign-in (the address keeps its own).
    pub fn success(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let [user, _] = Self::keys(username, IpAddr::from([0, 0, 0, 0]));
        map.remove(&user);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_user_and_the_address_for_the_window() {
        let limiter = RateLimiter::new(5, 900);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(limiter.check("an", ip, t0), Ok(()), "attempt {i}");
            limiter.failure("an", ip, t0);
        }
        assert_eq!(
            limiter.check("An", IpAddr::from([10, 0, 0, 2]), t0),
            Err(900)
        );
        assert_eq!(
            limiter.check("binh", ip, t0 + Duration::from_secs(100)),
            Err(800)
        );
        assert_eq!(
            limiter.check("an", ip, t0 + Duration::from_secs(900)),
            Ok(())
        );
    }

    #[test]
    fn reservations_are_counted_before_the_check_runs() {
        let limiter = RateLimiter::new(5, 900);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        let granted = (0..40)
            .filter(|_| limiter.reserve("an", ip, t0).is_ok())
            .count();
        assert_eq!(granted, 5);
        assert_eq!(limiter.reserve("an", ip, t0), Err(900));
    }

    #[test]
    fn a_success_clears_the_username_but_not_the_address() {
        let limiter = RateLimiter::new(2, 60);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        limiter.failure("an", ip, t0);
        limiter.failure("an", ip, t0);
        limiter.success("an");
        assert_eq!(limiter.check("an", IpAddr::from([10, 0, 0, 9]), t0), Ok(()));
        assert!(limiter.check("an", ip, t0).is_err());
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; eid_session=abc; lang=en".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "eid_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, "nope"), None);
    }
}
