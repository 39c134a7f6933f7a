//! The citizen's browser session on the web side: the two cookies, the extractors, the form
//! token, and the sign-in address other slices (the OpenID Connect provider) send people to.
//!
//! - `eid_dev`: a random device identifier, set on the first visit to any `/me` page and kept a
//!   year (HttpOnly). The browser is a device, as the app is: the store knows only its SHA-256.
//! - `eid_me`: the session token (HttpOnly), whose SHA-256 names a row of
//!   `citizen_web_session` ([`eid_core::accounts::web_session`]). A session is only good with
//!   the device cookie it was opened with.
//!
//! Both are `SameSite=Lax; Path=/`, and `Secure` when the server says it is served over HTTPS
//! (`secure_cookies`, or HSTS configured). Every form carries a token derived from the device
//! cookie (SHA-256 under a label), which a page on another site can neither read nor compute;
//! it is compared in constant time ([`check_csrf`]).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use eid_core::accounts::web_session::{self, WebSession};
use eid_core::secret::{constant_time_eq, hex, random_token, token_hash};

use super::MeError;
use crate::auth::{cookie, set_cookie};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "eid_me";
/// The device cookie.
pub const DEVICE_COOKIE: &str = "eid_dev";
/// How long the device cookie is kept, in seconds (a year).
const DEVICE_MAX_AGE: u64 = 365 * 24 * 3600;

/// Whether cookies carry `Secure`: the server is served over HTTPS.
pub fn secure(state: &AppState) -> bool {
    state.config.secure_cookies || state.config.hsts_max_age_seconds.is_some()
}

/// The `Set-Cookie` value of the session cookie (`max_age` 0 clears it).
pub fn session_cookie(state: &AppState, token: &str, max_age: u64) -> String {
    set_cookie(SESSION_COOKIE, token, max_age, true, secure(state), "Lax")
}

/// Appends a `Set-Cookie` header.
pub fn add_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A device identifier as the browser holds it: 64 hex digits.
fn valid_device(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The browser's device identifier (its cookie), if it has a valid one.
pub fn device_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, DEVICE_COOKIE).filter(|v| valid_device(v))
}

/// The hash the store keeps of the browser's device identifier.
pub fn device_hash(headers: &HeaderMap) -> Option<Vec<u8>> {
    device_id(headers).and_then(|d| eid_core::accounts::device_hash(&d).ok())
}

/// Middleware of every `/me` route: a browser without a device cookie gets one, and the
/// request is served as if it had sent it (so the first page's forms already carry a token).
pub async fn ensure_device(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if device_id(req.headers()).is_some() {
        return next.run(req).await;
    }
    let id = random_token();
    let pair = format!("{DEVICE_COOKIE}={id}");
    let merged = match req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
    {
        Some(old) if !old.trim().is_empty() => format!("{old}; {pair}"),
        _ => pair,
    };
    if let Ok(v) = HeaderValue::from_str(&merged) {
        req.headers_mut().insert(header::COOKIE, v);
    }
    let mut response = next.run(req).await;
    add_cookie(
        &mut response,
        &set_cookie(
            DEVICE_COOKIE,
            &id,
            DEVICE_MAX_AGE,
            true,
            secure(&state),
            "Lax",
        ),
    );
    response
}

/// The form token of this browser (empty without a device cookie).
pub fn csrf_token(headers: &HeaderMap) -> String {
    match device_id(headers) {
        Some(d) => hex(&token_hash(&format!("eid-me-form:{d}")))
            .chars()
            .take(40)
            .collect(),
        None => String::new(),
    }
}

/// Checks a form's `csrf` field against this browser's token, in constant time.
pub fn check_csrf(headers: &HeaderMap, given: &str) -> Result<(), AppError> {
    let want = csrf_token(headers);
    if !want.is_empty() && constant_time_eq(want.as_bytes(), given.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

/// Only a local path may follow a sign-in: it starts with `/` and not `//` or `/\`, and is
/// visible ASCII (the console's language switch applies the same rule). Else `/me`.
pub fn local_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && crate::console::session::safe_next(Some(next)) == next;
    if ok {
        next
    } else {
        "/me"
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to send someone to sign in and come back to `next`: `level` 2 asks for the passcode
/// after the password (or only the passcode on a level-1 session), `fresh` asks for the
/// password again even with a live session.
pub fn sign_in_url(next: &str, level: u8, fresh: bool) -> String {
    format!(
        "/me/signin?next={}&acr={}&fresh={}",
        encode(next),
        if level >= 2 { 2 } else { 1 },
        u8::from(fresh)
    )
}

/// The session of this browser, if it has a live one opened on this device.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebSession>, AppError> {
    let (Some(token), Some(device)) = (cookie(headers, SESSION_COOKIE), device_hash(headers))
    else {
        return Ok(None);
    };
    let now = state.now();
    let found = state
        .blocking(move |store| Ok(web_session::find(store, &token, now)?))
        .await?;
    Ok(found.filter(|s| constant_time_eq(s.device_id.as_bytes(), hex(&device).as_bytes())))
}

/// The browser's session, if any.
pub struct MaybeCitizen(pub Option<WebSession>);

impl FromRequestParts<AppState> for MaybeCitizen {
    type Rejection = MeError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, MeError> {
        let lang = Lang::from_headers(&parts.headers);
        current(state, &parts.headers)
            .await
            .map(MaybeCitizen)
            .map_err(|e| MeError::Page(e, lang))
    }
}

/// A signed-in citizen; without a session, a redirect (303) to the sign-in page that comes
/// back here.
pub struct Citizen(pub WebSession);

impl FromRequestParts<AppState> for Citizen {
    type Rejection = MeError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, MeError> {
        let MaybeCitizen(found) = MaybeCitizen::from_request_parts(parts, state).await?;
        match found {
            Some(s) => Ok(Citizen(s)),
            None => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map_or("/me", |p| p.as_str())
                    .to_owned();
                // A form posted without a session comes back to its page, not to the POST.
                let back = if parts.method == axum::http::Method::GET {
                    here
                } else {
                    parts.uri.path().to_owned()
                };
                Err(MeError::Redirect(sign_in_url(local_next(&back), 1, false)))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_address_carries_next_level_and_freshness() {
        assert_eq!(
            sign_in_url("/oauth2/authorize?x=1&y=2", 2, true),
            "/me/signin?next=%2Foauth2%2Fauthorize%3Fx%3D1%26y%3D2&acr=2&fresh=1"
        );
        assert_eq!(
            sign_in_url("/me", 1, false),
            "/me/signin?next=%2Fme&acr=1&fresh=0"
        );
    }

    #[test]
    fn only_local_paths_follow_a_sign_in() {
        assert_eq!(local_next("/me/locks"), "/me/locks");
        assert_eq!(local_next("/oauth2/authorize?a=b"), "/oauth2/authorize?a=b");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "me",
            "/a/../b",
            "/\t/x",
        ] {
            assert_eq!(local_next(bad), "/me", "{bad:?}");
        }
    }

    #[test]
    fn the_form_token_depends_on_the_device_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(csrf_token(&h), "");
        assert!(check_csrf(&h, "").is_err());
        h.insert(
            header::COOKIE,
            format!("eid_dev={}", "a".repeat(64)).parse().unwrap(),
        );
        let t = csrf_token(&h);
        assert_eq!(t.len(), 40);
        assert!(check_csrf(&h, &t).is_ok());
        assert!(check_csrf(&h, "x").is_err());
        let mut other = HeaderMap::new();
        other.insert(
            header::COOKIE,
            format!("eid_dev={}", "b".repeat(64)).parse().unwrap(),
        );
        assert!(check_csrf(&other, &t).is_err());
    }
}
