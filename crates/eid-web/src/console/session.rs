//! Console sessions: sign-in, sign-out, the session extractor, and the language switch.
//!
//! The sign-in form is protected by a double-submit token (a cookie and a hidden field that
//! must match) since there is no session yet; after sign-in, forms carry the session's own
//! CSRF token. The credential check is `eid_core::staff::sign_in`: an unknown user and a wrong
//! password take the same Argon2id work and get the same answer, and every attempt is audited.
//! Attempts are rate-limited here per username and per client IP ([`crate::auth::RateLimiter`],
//! in memory): each reserves its place before the password is checked.

use std::collections::HashMap;
use std::time::Instant;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use eid_core::accounts::Refusal;
use eid_core::secret::{constant_time_eq, random_token, token_hash};
use eid_core::{staff, Acting};
use time::Duration;

use super::i18n::{Lang, LANG_COOKIE};
use super::{render, ConsoleError, PageCtx};
use crate::auth::{client_ip, cookie, set_cookie, Caller, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{request_id, AppError};
use crate::state::AppState;

/// A signed-in officer, from the session cookie. Its `Debug` hides the CSRF token and the
/// session's hash.
#[derive(Clone)]
pub struct ConsoleUser {
    pub caller: Caller,
    pub csrf: String,
    pub lang: Lang,
    session_hash: Vec<u8>,
}

impl std::fmt::Debug for ConsoleUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleUser")
            .field("caller", &self.caller)
            .field("csrf", &eid_domain::redact::Hidden)
            .field("lang", &self.lang)
            .field("session_hash", &eid_domain::redact::Hidden)
            .finish()
    }
}

impl ConsoleUser {
    /// Checks a form's CSRF token against the session's, in constant time.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), ConsoleError> {
        let given = form.get("csrf").map(String::as_str).unwrap_or("");
        if !given.is_empty() && constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError(AppError::Csrf, self.lang))
        }
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or(ConsoleError(AppError::Unauthenticated, lang))?;
        let hash = token_hash(&token);
        let now = state.now();
        let lookup = hash.clone();
        let session = state
            .read(move |store| Ok(staff::session_caller(store, &lookup, now)?))
            .await
            .map_err(|e| ConsoleError(e, lang))?;
        match session {
            Some((caller, csrf)) => Ok(ConsoleUser {
                caller: {
                    crate::console::note_viewer(caller.staff.role);
                    caller
                },
                csrf,
                lang,
                session_hash: hash,
            }),
            None => Err(ConsoleError(AppError::Unauthenticated, lang)),
        }
    }
}

/// The optional form of [`ConsoleUser`]: `None` when signed out.
pub struct MaybeUser(pub Option<ConsoleUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match ConsoleUser::from_request_parts(parts, state).await {
            Ok(u) => Ok(MaybeUser(Some(u))),
            Err(ConsoleError(AppError::Unauthenticated, _)) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageCtx,
    login_csrf: String,
    username: String,
    error: &'static str,
}

fn login_page(
    lang: Lang,
    status: StatusCode,
    username: &str,
    error: &'static str,
    secure: bool,
) -> Result<Response, ConsoleError> {
    let token = random_token();
    let page = LoginPage {
        page: PageCtx::new(lang, None, "", "/login"),
        login_csrf: token.clone(),
        username: username.to_owned(),
        error,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&set_cookie(
        LOGIN_CSRF_COOKIE,
        &token,
        3600,
        true,
        secure,
        "Strict",
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeUser(user): MaybeUser,
) -> Result<Response, ConsoleError> {
    if user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    login_page(
        Lang::from_headers(&headers),
        StatusCode::OK,
        "",
        "",
        state.config.secure_cookies,
    )
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::from_headers(&headers);
    let ip = state.sources.source(client_ip(&extensions), &headers);
    let secure = state.config.secure_cookies;

    // The double-submit check: the hidden field must equal the cookie set with the form.
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let given = form.get("csrf").map(String::as_str).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(ConsoleError(AppError::Csrf, lang));
    }
    let username = form
        .get("username")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let rid = request_id();
    let now = state.now();

    // Check and reserve in one step: the reservation counts as a failure unless it succeeds.
    if let Err(retry_after) = state.limiter.reserve(&username, ip, Instant::now()) {
        state.metrics.login_limited();
        let user = username.clone();
        state
            .blocking(move |store| Ok(staff::sign_in_limited(store, &user, &rid, now)?))
            .await
            .map_err(|e| ConsoleError(e, lang))?;
        let mut response = login_page(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            &username,
            "login.limited",
            secure,
        )?;
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }

    let ttl = Duration::minutes(i64::try_from(state.config.session_ttl_minutes).unwrap_or(480));
    let user = username.clone();
    let rid2 = rid.clone();
    let outcome = state
        .hashing(
            move |store| match staff::sign_in(store, &user, &password, &rid2, now) {
                Ok(found) => Ok(Some(staff::open_session(store, &found, ttl, now)?.token)),
                Err(eid_core::Error::Refused(Refusal::BadCredentials)) => Ok(None),
                Err(e) => Err(e.into()),
            },
        )
        .await
        .map_err(|e| ConsoleError(e, lang))?;

    match outcome {
        Some(token) => {
            state.limiter.success_from(&username, ip);
            tracing::info!(request_id = %rid, "console sign-in");
            let max_age = state.config.session_ttl_minutes * 60;
            let mut response = Redirect::to("/").into_response();
            let cookies = [
                set_cookie(SESSION_COOKIE, &token, max_age, true, secure, "Strict"),
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, true, secure, "Strict"),
            ];
            for c in cookies {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(response)
        }
        None => {
            state.metrics.login_failure();
            login_page(
                lang,
                StatusCode::UNAUTHORIZED,
                &username,
                "login.failed",
                secure,
            )
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let hash = user.session_hash.clone();
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| Ok(staff::sign_out(store, &acting, &hash)?))
        .await
        .map_err(|e| ConsoleError(e, user.lang))?;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(
        SESSION_COOKIE,
        "",
        0,
        true,
        state.config.secure_cookies,
        "Strict",
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Only a same-site path may be the target of the language switch (no open redirect): a path
/// that starts with a single `/`, made of visible ASCII only (no control characters, whitespace,
/// or bytes a browser would drop or rewrite, such as a tab or a backslash), with no `.`/`..` segment
/// that could turn it into `//host` once normalised. Anything else goes to `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if is_same_site_path(n) => n,
        _ => "/",
    }
}

fn is_same_site_path(n: &str) -> bool {
    let path = n.split(['?', '#']).next().unwrap_or_default();
    n.starts_with('/')
        && !n.starts_with("//")
        && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !path.split('/').any(|seg| seg == "." || seg == "..")
}

pub async fn switch_lang(
    State(state): State<AppState>,
    Path(lang): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::parse(&lang).ok_or_else(|| {
        ConsoleError(
            AppError::not_found("route.not_found", "language must be vi or en"),
            Lang::Vi,
        )
    })?;
    let mut response = Redirect::to(safe_next(q.get("next").map(String::as_str))).into_response();
    let c = set_cookie(
        LANG_COOKIE,
        lang.code(),
        365 * 24 * 3600,
        false,
        state.config.secure_cookies,
        "Lax",
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_only_goes_to_local_paths() {
        assert_eq!(safe_next(Some("/search?name=an")), "/search?name=an");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "/\t/evil.example",
            "/ /evil.example",
            "/.//evil.example",
            "/a/..//evil.example",
            "/\u{e9}",
            "/x\\y",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/ops?unit=62#top")), "/ops?unit=62#top");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod debug_tests {
    use eid_core::store::{Role, Staff};
    use eid_core::Actor;

    use super::*;

    #[test]
    fn a_console_user_hides_the_csrf_token_the_session_and_the_staff_names() {
        let user = ConsoleUser {
            caller: Caller {
                staff: Staff {
                    id: 31,
                    username: "nguyen.van.an".into(),
                    display_name: "Nguyễn Văn An".into(),
                    role: Role::Commune,
                    unit: eid_domain::UnitCode::parse("00004").unwrap(),
                    disabled: false,
                },
                actor: Actor::Staff(31),
            },
            csrf: "csrfa1b2c3d4e5f6".into(),
            lang: Lang::Vi,
            session_hash: b"sessionhash-0123".to_vec(),
        };
        for text in [format!("{user:?}"), format!("{user:#?}")] {
            for secret in [
                "csrfa1b2c3d4e5f6",
                "nguyen.van.an",
                "Nguyễn",
                "115, 101, 115",
            ] {
                assert!(!text.contains(secret), "shows {secret:?}: {text}");
            }
            assert!(text.contains("id: 31"), "{text}");
        }
    }
}
