//! The citizen's own pages (`/me`): register, activate and upgrade, sign in on this browser,
//! and the account (locks, phone, password, passcode, devices, events, children, reset).
//!
//! Server-rendered askama pages in their own layout (`citizen_layout.html`), Vietnamese by
//! default with English on the console's language switch (keys in [`i18n`]), working without
//! JavaScript. Every rule is a use case of `eid_core::accounts` (the same the app API calls);
//! every secret or code check first takes the request's source address through the per-source
//! limiter of the app routes ([`crate::limits`]), then the core's own limits. The browser
//! session is [`session`]; refusals become [`refusal`] pages that say what to do next.

mod account;
mod forms;
pub mod i18n;
mod refusal;
mod register;
pub mod session;
mod signin;

use std::collections::HashMap;

use askama::Template;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eid_core::accounts::web_session::WebSession;
use serde::Deserialize;

use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

pub use refusal::MeError;
pub use session::{sign_in_url, Citizen, MaybeCitizen};

/// The `[citizen]` table of the configuration file: the browser sessions of `/me`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenConfig {
    /// A session unused this many minutes ends (default 30).
    pub idle_minutes: u32,
    /// A session ends this many hours after it started, however used (default 12).
    pub absolute_hours: u32,
}

impl Default for CitizenConfig {
    fn default() -> CitizenConfig {
        CitizenConfig {
            idle_minutes: 30,
            absolute_hours: 12,
        }
    }
}

impl CitizenConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.idle_minutes == 0 || self.absolute_hours == 0 {
            return Err(
                "citizen.idle_minutes and citizen.absolute_hours must be at least 1".into(),
            );
        }
        if u64::from(self.idle_minutes) > u64::from(self.absolute_hours) * 60 {
            return Err("citizen.idle_minutes must not exceed citizen.absolute_hours".into());
        }
        Ok(())
    }
}

/// The largest registration or upgrade form (a portrait up to
/// [`crate::accounts::MAX_PHOTO_BYTES`] and a few fields).
const MAX_FORM_BYTES: usize = crate::accounts::MAX_PHOTO_BYTES + 64 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/me", get(account::home))
        .route("/me/signin", get(signin::form).post(signin::submit))
        .route("/me/signin/code", post(signin::code))
        .route(
            "/me/signin/passcode",
            get(signin::passcode_form).post(signin::passcode),
        )
        .route("/me/signout", post(signin::signout))
        .route(
            "/me/register",
            get(register::form)
                .post(register::submit)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/me/register/confirm", post(register::confirm))
        .route(
            "/me/activate",
            get(register::activate_form).post(register::activate),
        )
        .route(
            "/me/upgrade",
            get(register::upgrade_form)
                .post(register::upgrade)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/me/reset", get(register::reset_form).post(register::reset))
        .route("/me/reset/confirm", post(register::reset_confirm))
        .route("/me/locks", get(account::locks).post(account::lock))
        .route("/me/unlock", post(account::unlock))
        .route(
            "/me/devices",
            get(account::devices).post(account::device_signout),
        )
        .route("/me/events", get(account::events))
        .route(
            "/me/children",
            get(account::children).post(account::child_add),
        )
        .route(
            "/me/phone",
            get(account::phone_page).post(account::phone_start),
        )
        .route("/me/phone/confirm", post(account::phone_confirm))
        .route(
            "/me/password",
            get(account::password_page).post(account::password),
        )
        .route(
            "/me/passcode",
            get(account::passcode_page).post(account::passcode),
        )
        .route("/me/{*rest}", get(not_found).post(not_found))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            session::ensure_device,
        ))
        // After the layer: the style sheet is cached publicly and sets no cookie.
        .route("/static/me.css", get(style))
}

/// An address under `/me` that names no page: a page that says so, in the citizen's words.
async fn not_found(headers: HeaderMap, MaybeCitizen(s): MaybeCitizen) -> Response {
    refusal::page(
        &AppError::not_found("route.not_found", "no such page"),
        MePage::new(&headers, s.as_ref(), "", "/me"),
    )
}

const STYLE: &str = include_str!("../../static/me.css");

async fn style() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
        .into_response()
}

/// One item of the citizen's navigation.
pub struct NavItem {
    pub id: &'static str,
    pub href: &'static str,
    /// Translation key of the label.
    pub label: &'static str,
}

/// The navigation of the signed-in citizen's pages, in order. A new page is one line here
/// (the OpenID Connect provider adds "Dịch vụ đã kết nối", `/me/services`, key
/// `me.nav.services`, already translated).
pub const NAV: &[NavItem] = &[
    NavItem {
        id: "home",
        href: "/me",
        label: "me.nav.home",
    },
    NavItem {
        id: "locks",
        href: "/me/locks",
        label: "me.nav.locks",
    },
    NavItem {
        id: "devices",
        href: "/me/devices",
        label: "me.nav.devices",
    },
    NavItem {
        id: "events",
        href: "/me/events",
        label: "me.nav.events",
    },
    NavItem {
        id: "children",
        href: "/me/children",
        label: "me.nav.children",
    },
    NavItem {
        id: "security",
        href: "/me/password",
        label: "me.nav.security",
    },
    NavItem {
        id: "wallet",
        href: "/me/wallet",
        label: "wallet.nav",
    },
    NavItem {
        id: "residence",
        href: "/me/residence",
        label: "me.nav.residence",
    },
    NavItem {
        id: "stays",
        href: "/me/stays",
        label: "me.nav.stays",
    },
    NavItem {
        id: "services",
        href: "/me/services",
        label: "me.nav.services",
    },
    NavItem {
        id: "data-use",
        href: "/me/data-use",
        label: "me.nav.data_use",
    },
    NavItem {
        id: "verify-officer",
        href: "/me/verify-officer",
        label: "me.nav.verify_officer",
    },
];

/// A navigation link as rendered.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What the citizen layout needs on every page.
pub struct MePage {
    pub lang: Lang,
    pub development: bool,
    pub signed_in: bool,
    pub nav: Vec<NavLink>,
    /// This browser's form token.
    pub csrf: String,
    /// This page's path and query, percent-encoded, for the language switch.
    pub here: String,
}

impl MePage {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// The page context for a request; `active` is the navigation item's id.
    pub fn new(
        headers: &HeaderMap,
        session: Option<&WebSession>,
        active: &str,
        here: &str,
    ) -> MePage {
        let lang = Lang::from_headers(headers);
        MePage {
            lang,
            development: crate::console::development(),
            signed_in: session.is_some(),
            nav: match session {
                Some(_) => NAV
                    .iter()
                    .map(|n| NavLink {
                        href: n.href,
                        label: lang.t(n.label),
                        active: n.id == active,
                    })
                    .collect(),
                None => Vec::new(),
            },
            csrf: session::csrf_token(headers),
            here: crate::console::percent_encode(here),
        }
    }
}

/// Renders a template with a status.
pub fn render<T: Template>(t: &T, status: StatusCode) -> Result<Response, MeError> {
    t.render()
        .map(|html| (status, Html(html)).into_response())
        .map_err(|e| MeError::Page(AppError::Internal(format!("template: {e}")), Lang::Vi))
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A posted form, as fields.
pub type Fields = HashMap<String, String>;

/// A field of a form, trimmed (empty when missing).
pub fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map_or("", |v| v.trim())
}

/// A secret field of a form as typed (not trimmed: a password may begin or end with a space).
pub fn secret(f: &Fields, name: &str) -> String {
    f.get(name).cloned().unwrap_or_default()
}

/// Checks the form's token (`csrf`), then takes the request's source through the per-source
/// limiter of `kind` (the app routes' limiter), before any secret is compared.
pub fn guard(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    form: &Fields,
    kinds: &[Kind],
) -> Result<(), AppError> {
    session::check_csrf(headers, field(form, "csrf"))?;
    let source = state
        .sources
        .source(crate::auth::client_ip(extensions), headers);
    for &k in kinds {
        state.sources.take(k, source)?;
    }
    Ok(())
}
