//! The signed-in citizen's account: the overview, locks, devices, events, children, and the
//! changes of phone, password and passcode.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eid_core::accounts::web_session::WebSession;
use eid_core::accounts::Account;
use eid_domain::AccountLevel;

use super::signin::account_of;
use super::{render, Citizen, Fields, MeError, MePage};
use crate::state::AppState;

/// An account as the holder's pages show it.
pub struct AccountView {
    pub level: u8,
    pub session_level: u8,
    pub locked: bool,
    pub pending: bool,
    pub phone: String,
    pub holder_lock: bool,
    pub officer_lock: Option<String>,
    pub register_lock: Option<String>,
}

impl AccountView {
    pub fn of(a: &Account, s: &WebSession) -> AccountView {
        AccountView {
            level: u8::try_from(a.level.number()).unwrap_or(0),
            session_level: u8::try_from(s.level.number()).unwrap_or(0),
            locked: !a.locks().is_empty(),
            pending: !a.is_active(),
            phone: crate::accounts::wire::masked(&a.phone),
            holder_lock: a.holder_lock,
            officer_lock: a.officer_lock.clone(),
            register_lock: a.register_lock.clone(),
        }
    }
}

/// The outcome keys a redirect may name with `?done=`.
const DONE: &[&str] = &[
    "password", "passcode", "phone", "upgraded", "locked", "unlocked", "device", "child",
];

/// The notice of `?done=<key>`, translated as `me.done.<key>`.
pub fn done(page: &MePage, q: &Fields) -> &'static str {
    match q.get("done") {
        Some(d) if DONE.contains(&d.as_str()) => page.t(&format!("me.done.{d}")),
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "me_home.html")]
struct HomePage {
    page: MePage,
    a: AccountView,
    done: &'static str,
}

/// The overview: level, state, phone, and what can be done next.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let a = account_of(&state, &s).await?;
    let page = MePage::new(&headers, Some(&s), "home", "/me");
    let done = done(&page, &q);
    render(
        &HomePage {
            a: AccountView::of(&a, &s),
            page,
            done,
        },
        StatusCode::OK,
    )
}

/// Whether an account has level 2.
pub fn is_level2(a: &Account) -> bool {
    a.level == AccountLevel::Two
}
