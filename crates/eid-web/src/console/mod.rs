//! The web console: server-rendered pages for staff, in Vietnamese or English.
//!
//! Sign-in sets the `eid_session` cookie (HttpOnly, SameSite=Strict); every form that changes
//! state carries the session's CSRF token, checked in constant time. Pages are askama
//! templates in `crates/eid/templates`; the navigation is built from [`SECTIONS`], so a new
//! section is one entry there. Reads go through [`crate::access`], like the API, and are
//! audited the same way.

mod accounts;
pub mod actors;
mod audit;
pub mod i18n;
/// The operations pages, under their old path.
pub use crate::ops::console as ops;
pub(crate) mod session;

/// The register's pages, under their old path (`here` and `local` are shared by every page).
pub(crate) use crate::register::console as pages;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eid_core::store::{Role, Staff};
use eid_domain::{Tree, Units};

use crate::error::{request_id, AppError};
use crate::state::AppState;
use i18n::Lang;

pub use session::ConsoleUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/lang/{lang}", get(session::switch_lang))
        .route("/search", get(pages::search))
        .route("/persons/{id}", get(pages::person))
        .route(
            "/persons/{id}/edit",
            get(pages::edit_form).post(pages::edit_save),
        )
        .route("/units", get(pages::units_home))
        .route("/units/{code}", get(pages::unit))
        .route("/audit", get(audit::page))
        .route("/audit.csv", get(audit::csv))
        .route("/applications", get(accounts::applications))
        .route("/applications/{id}", get(accounts::application))
        .route(
            "/applications/{id}/{action}",
            post(accounts::application_act),
        )
        .route("/accounts", get(accounts::account_find))
        .route("/accounts/{id}", get(accounts::account))
        .route("/accounts/{id}/{action}", post(accounts::account_act))
        .route(
            "/devices",
            get(accounts::devices).post(accounts::device_add),
        )
        .route("/devices/{id}/status", post(accounts::device_status))
        .route("/sms", get(accounts::sms))
        .merge(ops::routes())
        .merge(crate::linkage::console_routes())
        .merge(crate::oidc_admin::routes())
        .route("/static/style.css", get(style))
        .layer(axum::middleware::from_fn(scope_viewer))
}

tokio::task_local! {
    /// The role of the officer a console request was authenticated as, once the session
    /// extractor has found it: an error page shows that officer's navigation.
    static VIEWER: std::cell::Cell<Option<Role>>;
}

/// Notes the role of the signed-in officer for the error page of this request.
pub(crate) fn note_viewer(role: Role) {
    let _ = VIEWER.try_with(|v| v.set(Some(role)));
}

fn viewer() -> Option<Role> {
    VIEWER.try_with(|v| v.get()).ok().flatten()
}

async fn scope_viewer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    VIEWER
        .scope(std::cell::Cell::new(None), next.run(req))
        .await
}

/// The navigation a role sees, `active` marked.
fn nav_for(lang: Lang, role: Role, active: &str) -> Vec<NavLink> {
    SECTIONS
        .iter()
        .filter(|s| s.roles.contains(&role))
        .map(|s| NavLink {
            href: s.href,
            label: lang.t(s.label),
            active: s.id == active,
        })
        .collect()
}

/// The console's style sheet, compiled into the binary.
const STYLE: &str = include_str!("../../static/style.css");

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

/// One section of the left navigation, shown to the roles listed.
pub struct Section {
    pub id: &'static str,
    pub href: &'static str,
    /// Translation key of the label.
    pub label: &'static str,
    pub roles: &'static [Role],
}

const OFFICERS: &[Role] = &[
    Role::Ministry,
    Role::Province,
    Role::District,
    Role::Commune,
];

/// The sections of the console, in menu order. Later sections (accounts, applications,
/// quotas, campaigns) are one entry each.
pub const SECTIONS: &[Section] = &[
    Section {
        id: "search",
        href: "/search",
        label: "nav.search",
        roles: OFFICERS,
    },
    Section {
        id: "units",
        href: "/units",
        label: "nav.units",
        roles: OFFICERS,
    },
    Section {
        id: "accounts",
        href: "/applications",
        label: "nav.accounts",
        roles: OFFICERS,
    },
    Section {
        id: "ops",
        href: "/ops",
        label: "nav.ops",
        roles: OFFICERS,
    },
    Section {
        id: "linkage",
        href: "/linkage",
        label: "nav.linkage",
        roles: OFFICERS,
    },
    Section {
        id: "stays",
        href: "/stays",
        label: "nav.stays",
        roles: OFFICERS,
    },
    Section {
        id: "residence",
        href: "/residence",
        label: "nav.residence",
        roles: OFFICERS,
    },
    Section {
        id: "rp",
        href: "/relying-parties",
        label: "nav.rp",
        roles: &[Role::Ministry],
    },
    Section {
        id: "surge",
        href: "/surge",
        label: "nav.surge",
        roles: &[Role::Ministry],
    },
    Section {
        id: "audit",
        href: "/audit",
        label: "nav.audit",
        roles: &[Role::Auditor, Role::Ministry],
    },
    Section {
        id: "trust-reports",
        href: "/trust/reports",
        label: "nav.trust.reports",
        roles: &[Role::Auditor, Role::Ministry],
    },
    Section {
        id: "trust-code",
        href: "/trust/officer-code",
        label: "nav.trust.code",
        roles: OFFICERS,
    },
];

/// A link of the navigation as rendered.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The signed-in officer as shown in the top bar.
pub struct UserView {
    pub display_name: String,
    pub role: &'static str,
    pub unit_name: String,
    /// Officers may correct records in their scope; auditors only read the trail.
    pub can_edit: bool,
    /// Only ministry-level staff read the development SMS outbox (it holds live codes).
    pub can_read_outbox: bool,
}

tokio::task_local! {
    /// Whether the server runs in development mode, for the request being served (set by the
    /// request middleware in `startup`); the layout shows a strip on every page when it is.
    pub static DEVELOPMENT: bool;
}

/// Whether the request being served is answered by a server in development mode.
pub fn development() -> bool {
    DEVELOPMENT.try_with(|d| *d).unwrap_or(false)
}

/// What the layout needs on every page.
pub struct PageCtx {
    pub lang: Lang,
    /// Development mode: the layout shows a strip saying so.
    pub development: bool,
    pub user: Option<UserView>,
    pub nav: Vec<NavLink>,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
    /// This page's path and query, percent-encoded, for the language switch.
    pub here: String,
}

impl PageCtx {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Whether the signed-in officer may correct records (see `console::edit`).
    pub fn may_edit(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.can_edit)
    }

    /// Whether the signed-in officer may open the SMS outbox (ministry level only).
    pub fn may_read_outbox(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.can_read_outbox)
    }

    /// Whether the signed-in officer may run sector imports (national staff, the ministry
    /// role, as `eid_core::linkage::job` requires).
    pub fn may_import_sector(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.can_read_outbox)
    }

    /// A count with thousands grouped as the language writes it: 200.000 in Vietnamese,
    /// 200,000 in English.
    pub fn n(&self, n: &u64) -> String {
        let sep = match self.lang {
            Lang::Vi => '.',
            Lang::En => ',',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// The context of a page seen by `user`; `active` is the section id.
    pub fn new(lang: Lang, user: Option<&ConsoleUser>, active: &str, here: &str) -> PageCtx {
        let nav = match user {
            Some(u) => nav_for(lang, u.caller.staff.role, active),
            None => Vec::new(),
        };
        PageCtx {
            lang,
            development: development(),
            user: user.map(|u| user_view(lang, &u.caller.staff)),
            nav,
            csrf: user.map(|u| u.csrf.clone()).unwrap_or_default(),
            here: percent_encode(here),
        }
    }
}

fn user_view(lang: Lang, s: &Staff) -> UserView {
    let role_key = format!("role.{}", s.role.as_str());
    UserView {
        can_edit: s.role != eid_core::store::Role::Auditor,
        can_read_outbox: s.role == eid_core::store::Role::Ministry,
        display_name: s.display_name.clone(),
        role: lang.t(&role_key),
        unit_name: Units::get()
            .unit(Tree::Gso2024, &s.unit)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Response, ConsoleError> {
    t.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| ConsoleError(AppError::Internal(format!("template: {e}")), Lang::Vi))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    status: u16,
    code: &'static str,
    title: &'static str,
    detail: String,
    request_id: String,
}

/// An error rendered as a console page: signed-out users are sent to the sign-in page, other
/// errors show a translated title, the code and the request id.
#[derive(Debug)]
pub struct ConsoleError(pub AppError, pub Lang);

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> ConsoleError {
        ConsoleError(e, Lang::Vi)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let ConsoleError(err, lang) = self;
        if matches!(err, AppError::Unauthenticated | AppError::BadCredentials) {
            return Redirect::to("/login").into_response();
        }
        let rid = request_id();
        err.log(&rid);
        let key = format!("err.{}", err.code());
        let title = match lang.t(&key) {
            "??" => lang.t("err.input"),
            t => t,
        };
        // The core's own messages are English: a Vietnamese page shows the translated title
        // and the code, not them.
        let detail = match &err {
            AppError::BadRequest { message, .. }
            | AppError::NotFound { message, .. }
            | AppError::Refused { message, .. }
                if lang == Lang::En =>
            {
                message.clone()
            }
            _ => String::new(),
        };
        let mut ctx = PageCtx::new(lang, None, "", "/");
        // A signed-in officer keeps the navigation on an error page.
        if let Some(role) = viewer() {
            ctx.nav = nav_for(lang, role, "");
        }
        let page = ErrorPage {
            page: ctx,
            status: err.status().as_u16(),
            code: err.code(),
            title,
            detail,
            request_id: rid,
        };
        let mut response = match page.render() {
            Ok(html) => (err.status(), Html(html)).into_response(),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        };
        err.extra_headers(&mut response);
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
        response
    }
}

/// A message at the top of a page: the outcome of an action, or why it was refused
/// (`acc_notice.html` renders it).
pub struct Notice {
    pub ok: bool,
    pub text: String,
    /// The refusal's own message, when it differs from `text`.
    pub detail: String,
    pub code: &'static str,
}

impl Notice {
    /// The outcome named by `?done=<key>` after a redirect, translated as `<prefix>.done.<key>`,
    /// when `key` is one of `known`.
    pub fn done(
        lang: Lang,
        q: &std::collections::HashMap<String, String>,
        prefix: &str,
        known: &[&str],
    ) -> Option<Notice> {
        let done = q.get("done")?;
        known.contains(&done.as_str()).then(|| Notice {
            ok: true,
            text: lang.t(&format!("{prefix}.done.{done}")).to_owned(),
            detail: String::new(),
            code: "",
        })
    }

    /// A refusal, with its translated title and, when different, its own message.
    pub fn refused(lang: Lang, e: &AppError) -> Notice {
        let message = e.message();
        let text = match lang.t(&format!("err.{}", e.code())) {
            "??" => message.clone(),
            t => t.to_owned(),
        };
        Notice {
            ok: false,
            detail: if text == message {
                String::new()
            } else {
                message
            },
            text,
            code: e.code(),
        }
    }
}

/// Errors that a page shows in place (a refusal of the action); the rest (no session, a bad
/// CSRF token, outside the officer's scope, internal) become the console's error page.
pub fn in_place(e: AppError, lang: Lang) -> Result<AppError, ConsoleError> {
    match e {
        AppError::BadRequest { .. } | AppError::NotFound { .. } | AppError::Refused { .. } => Ok(e),
        other => Err(ConsoleError(other, lang)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_next_path_is_percent_encoded() {
        assert_eq!(
            percent_encode("/search?name=Nguyễn Văn"),
            "/search%3Fname%3DNguy%E1%BB%85n%20V%C4%83n"
        );
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn counts_are_grouped_as_each_language_writes_them() {
        let vi = PageCtx::new(Lang::Vi, None, "", "/");
        let en = PageCtx::new(Lang::En, None, "", "/");
        assert_eq!(vi.n(&200_000), "200.000");
        assert_eq!(en.n(&1_633_225), "1,633,225");
        assert_eq!(vi.n(&999), "999");
        assert_eq!(en.n(&0), "0");
    }
}
