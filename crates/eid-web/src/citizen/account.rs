//! The signed-in citizen's account: the overview, locks (lock it myself; who locked it and
//! why), devices (sign one out), events, children, and the changes of phone, password and
//! passcode. Each action is the app API's use case, after the form token and the per-source
//! limiter ([`super::guard`]).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use eid_core::accounts::web_session::{self, WebSession};
use eid_core::accounts::{self as acc, Account};
use eid_core::Actor;
use eid_domain::AccountLevel;

use super::forms::{in_place, when, FormPage, Input, ListPage, Row};
use super::session::{self, session_cookie};
use super::signin::account_of;
use super::{
    field, guard, refusal, render, secret, see_other, Citizen, Fields, MaybeCitizen, MeError,
    MePage,
};
use crate::accounts::wire::{code_ok, hash_secrets, masked, passcode_ok, password_ok, phone};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

/// An account as the overview shows it.
pub struct AccountView {
    pub level: u8,
    pub session_level: u8,
    pub locked: bool,
    pub pending: bool,
    pub phone: String,
}

impl AccountView {
    pub fn of(a: &Account, s: &WebSession) -> AccountView {
        AccountView {
            level: a.level.number(),
            session_level: s.level.number(),
            locked: !a.locks().is_empty(),
            pending: !a.is_active(),
            phone: masked(&a.phone),
        }
    }
}

/// The outcome keys a redirect may name with `?done=`.
const DONE: &[&str] = &[
    "password",
    "passcode",
    "phone",
    "upgraded",
    "locked",
    "unlocked",
    "device",
    "child",
    "registered",
    "activated",
    "reset",
];

/// The notice of `?done=<key>`, translated as `me.done.<key>`.
pub fn done(lang: Lang, q: &Fields) -> &'static str {
    match q.get("done") {
        Some(d) if DONE.contains(&d.as_str()) => lang.t(&format!("me.done.{d}")),
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
    let done = done(page.lang, &q);
    render(
        &HomePage {
            a: AccountView::of(&a, &s),
            page,
            done,
        },
        StatusCode::OK,
    )
}

// ----------------------------------------------------------------------------------------------
// Locks

#[derive(Template)]
#[template(path = "me_locks.html")]
struct LocksPage {
    page: MePage,
    /// Who holds a lock and why; `None` when signed out (nothing is known yet).
    locks: Option<Vec<(&'static str, String)>>,
    /// Signed in and not locked: the form that locks; otherwise the form that unlocks.
    can_lock: bool,
    personal_id: String,
    error: &'static str,
    done: &'static str,
}

/// Who locked the account and why, in words.
fn lock_rows(lang: Lang, a: &Account) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if a.holder_lock {
        out.push((lang.t("me.locks.by_holder"), String::new()));
    }
    if let Some(reason) = &a.officer_lock {
        out.push((lang.t("me.locks.by_officer"), reason.clone()));
    }
    if let Some(reason) = &a.register_lock {
        let key = format!("me.locks.register.{reason}");
        let why = match lang.t(&key) {
            "??" => String::new(),
            t => t.to_owned(),
        };
        out.push((lang.t("me.locks.by_register"), why));
    }
    out
}

/// The locks page: signed in, the account's locks and the form that locks it; signed out (a
/// locked account has no session), the form that unlocks with password and passcode.
pub async fn locks(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, s.as_ref(), "locks", "/me/locks");
    let done = done(page.lang, &q);
    let (locks, can_lock) = match &s {
        Some(s) => {
            let a = account_of(&state, s).await?;
            (Some(lock_rows(page.lang, &a)), a.locks().is_empty())
        }
        None => (None, false),
    };
    render(
        &LocksPage {
            page,
            locks,
            can_lock,
            personal_id: String::new(),
            error: "",
            done,
        },
        StatusCode::OK,
    )
}

/// The holder locks the account with the passcode (the app's rule); the session ends with it.
pub async fn lock(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, Some(&s), "locks", "/me/locks");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let a = account_of(&state, &s).await?;
    let (st, now, pc) = (state.accounts.clone(), state.now(), secret(&f, "passcode"));
    let held = a.clone();
    let out = state
        .hashing(move |store| {
            acc::check_passcode(store, &st, &held, &pc, now)?;
            Ok(acc::set_lock(store, &held, acc::LockBy::Holder, true, now)?)
        })
        .await;
    match out {
        Ok(locked) => {
            let lang = page().lang;
            // The session ended with the lock: the page is a signed-out one now.
            let signed_out = MePage::new(&headers, None, "locks", "/me/locks");
            let mut response = render(
                &LocksPage {
                    page: signed_out,
                    locks: Some(lock_rows(lang, &locked)),
                    can_lock: false,
                    personal_id: String::new(),
                    error: "",
                    done: lang.t("me.done.locked"),
                },
                StatusCode::OK,
            )?;
            session::add_cookie(&mut response, &session_cookie(&state, "", 0));
            Ok(response)
        }
        Err(e) => match in_place(&e) {
            Some(key) => {
                let p = page();
                let lang = p.lang;
                render(
                    &LocksPage {
                        page: p,
                        locks: Some(lock_rows(lang, &a)),
                        can_lock: true,
                        personal_id: String::new(),
                        error: lang.t(key),
                        done: "",
                    },
                    e.status(),
                )
            }
            None => Ok(refusal::page(&e, page())),
        },
    }
}

/// The holder, signed out, proves password and passcode: their own lock is lifted, and the
/// locks that remain are shown with who set them and why.
pub async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "locks", "/me/locks");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let pid = field(&f, "personal_id").to_owned();
    let (st, now) = (state.accounts.clone(), state.now());
    let (id, pw, pc) = (pid.clone(), secret(&f, "password"), secret(&f, "passcode"));
    let out = state
        .hashing(move |store| {
            let c = acc::Credentials {
                personal_id: &id,
                password: &pw,
                passcode: Some(&pc),
            };
            Ok(acc::unlock_own(store, &st, &c, now)?)
        })
        .await;
    let p = page();
    let lang = p.lang;
    match out {
        Ok(a) if a.locks().is_empty() => Ok(see_other("/me/signin?done=unlocked")),
        Ok(a) => render(
            &LocksPage {
                page: p,
                locks: Some(lock_rows(lang, &a)),
                can_lock: false,
                personal_id: pid,
                error: "",
                done: "",
            },
            StatusCode::LOCKED,
        ),
        Err(e) => match in_place(&e) {
            Some(key) => render(
                &LocksPage {
                    page: p,
                    locks: None,
                    can_lock: false,
                    personal_id: pid,
                    error: lang.t(key),
                    done: "",
                },
                e.status(),
            ),
            None => Ok(refusal::page(&e, p)),
        },
    }
}

// ----------------------------------------------------------------------------------------------
// Devices and events

/// The devices with live sessions (browsers and the app), each with a button that signs it out.
pub async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let a = account_of(&state, &s).await?;
    let page = MePage::new(&headers, Some(&s), "devices", "/me/devices");
    let lang = page.lang;
    let now = state.now();
    let list = state
        .blocking(move |store| Ok(web_session::devices_of(store, &a, now)?))
        .await?;
    let rows = list
        .into_iter()
        .map(|d| {
            let mut badges = Vec::new();
            if d.device_id == s.device_id {
                badges.push(lang.t("me.devices.this"));
            }
            if d.bound {
                badges.push(lang.t("me.devices.bound"));
            }
            Row {
                title: format!("{} {}", lang.t("me.devices.device"), d.label),
                badges,
                sub: format!(
                    "{} {} · {} {} · {} {}",
                    lang.t("me.devices.browsers"),
                    d.browser_sessions,
                    lang.t("me.devices.apps"),
                    d.app_sessions,
                    lang.t("me.devices.last"),
                    when(d.last_seen)
                ),
                action: Some((
                    "/me/devices",
                    "device",
                    d.device_id,
                    lang.t("me.devices.signout"),
                )),
            }
        })
        .collect();
    let mut view = ListPage::new(page, "me.devices.title", "me.devices.none", rows);
    view.intro = lang.t("me.devices.intro");
    view.done = done(lang, &q);
    render(&view, StatusCode::OK)
}

/// Signs one device out (this browser too, if it is the one).
pub async fn device_signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, Some(&s), "devices", "/me/devices");
    if let Err(e) = session::check_csrf(&headers, field(&f, "csrf")) {
        return Ok(refusal::page(&e, page));
    }
    let a = account_of(&state, &s).await?;
    let device = field(&f, "device").to_owned();
    let this = device == s.device_id;
    let now = state.now();
    let out = state
        .blocking(move |store| Ok(web_session::sign_out_device(store, &a, &device, now)?))
        .await;
    match out {
        Ok(_) if this => {
            let mut response = see_other("/me/signin");
            session::add_cookie(&mut response, &session_cookie(&state, "", 0));
            Ok(response)
        }
        Ok(_) => Ok(see_other("/me/devices?done=device")),
        Err(e) => Ok(refusal::page(&e, page)),
    }
}

/// Who did it, in words.
fn actor_words(lang: Lang, a: &Actor) -> &'static str {
    match a {
        Actor::Anonymous => lang.t("me.events.by_you"),
        Actor::Staff(_) => lang.t("me.events.by_officer"),
        _ => lang.t("me.events.by_system"),
    }
}

/// Every event of the account, newest first.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, Some(&s), "events", "/me/events");
    let lang = page.lang;
    let id = s.personal_id;
    let mut list = state
        .blocking(move |store| Ok(acc::events(store, &id)?))
        .await?;
    list.reverse();
    let rows = list
        .iter()
        .map(|e| Row {
            title: match lang.t(&format!("me.event.{}", e.kind)) {
                "??" => lang.t("me.event.other").to_owned(),
                t => t.to_owned(),
            },
            badges: Vec::new(),
            sub: format!("{} · {}", when(e.at), actor_words(lang, &e.actor)),
            action: None,
        })
        .collect();
    render(
        &ListPage::new(page, "me.events.title", "me.events.none", rows),
        StatusCode::OK,
    )
}

// ----------------------------------------------------------------------------------------------
// Children

async fn children_page(
    state: &AppState,
    headers: &HeaderMap,
    s: &WebSession,
    error: &'static str,
    status: StatusCode,
    done_key: &'static str,
) -> Result<Response, MeError> {
    let a = account_of(state, s).await?;
    let page = MePage::new(headers, Some(s), "children", "/me/children");
    let lang = page.lang;
    let id = s.personal_id;
    let list = state
        .blocking(move |store| Ok(acc::children_of(store, &id)?))
        .await?;
    let rows = list
        .iter()
        .map(|c| Row {
            title: c.name.clone(),
            badges: vec![match &c.account {
                Some(ca) if ca.is_active() => lang.t("me.children.has_account"),
                _ => lang.t("me.children.no_account"),
            }],
            sub: format!(
                "{} {}{}",
                lang.t("me.children.id"),
                c.personal_id.as_str(),
                c.birth
                    .map(|b| format!(" · {} {b}", lang.t("me.children.born")))
                    .unwrap_or_default()
            ),
            action: None,
        })
        .collect();
    let mut view = ListPage::new(page, "me.children.title", "me.children.none", rows);
    view.intro = lang.t("me.children.intro");
    view.done = done_key;
    if a.level == AccountLevel::Two {
        view.has_form = true;
        view.form_title = lang.t("me.children.add");
        view.form_action = "/me/children";
        view.form_submit = lang.t("me.children.submit");
        view.inputs = vec![
            Input::personal_id(lang, "child_personal_id", "me.field.child_id", ""),
            Input::password(lang, "child_password", "me.field.child_password", true),
            Input::six(lang, "child_passcode", "me.field.child_passcode", true),
            Input::six(lang, "passcode", "me.field.passcode", true),
        ];
        view.error = error;
    } else {
        view.intro = lang.t("me.children.need_level2");
    }
    render(&view, status)
}

/// The children the register records under the holder, and (for a level-2 account) the form
/// that opens an account for one under 14.
pub async fn children(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    children_page(&state, &headers, &s, "", StatusCode::OK, done(lang, &q)).await
}

/// Opens a child's account (the app's rule: the guardian's passcode, then `register_child`).
pub async fn child_add(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(
            &e,
            MePage::new(&headers, Some(&s), "children", "/me/children"),
        ));
    }
    let a = account_of(&state, &s).await?;
    let out = async {
        let child = crate::access::parse_id(field(&f, "child_personal_id"))?;
        let (pw, pc) = (secret(&f, "child_password"), secret(&f, "child_passcode"));
        password_ok(&pw)?;
        passcode_ok(&pc)?;
        let (st, now, mine) = (state.accounts.clone(), state.now(), secret(&f, "passcode"));
        let held = a.clone();
        state
            .hashing(move |store| Ok(acc::check_passcode(store, &st, &held, &mine, now)?))
            .await?;
        let hashes = hash_secrets(vec![pw, pc]).await?;
        state
            .blocking(move |store| {
                Ok(acc::register_child(
                    store, &a, &child, &hashes[0], &hashes[1], now,
                )?)
            })
            .await
    }
    .await;
    match out {
        Ok(_) => Ok(see_other("/me/children?done=child")),
        Err(e) => match in_place(&e) {
            Some(key) => {
                let lang = Lang::from_headers(&headers);
                children_page(&state, &headers, &s, lang.t(key), e.status(), "").await
            }
            None => Ok(refusal::page(
                &e,
                MePage::new(&headers, Some(&s), "children", "/me/children"),
            )),
        },
    }
}

// ----------------------------------------------------------------------------------------------
// Phone, password, passcode

fn phone_form(page: MePage) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.phone.title",
        "/me/phone",
        "me.phone.submit",
        vec![
            Input::phone(lang, "new_phone", "me.field.new_phone", ""),
            Input::six(lang, "passcode", "me.field.passcode", true),
        ],
    )
    .intro("me.phone.intro")
}

pub async fn phone_page(headers: HeaderMap, Citizen(s): Citizen) -> Result<Response, MeError> {
    phone_form(MePage::new(&headers, Some(&s), "security", "/me/phone")).show()
}

/// Starts a phone change: a code to each number.
pub async fn phone_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, Some(&s), "security", "/me/phone");
    if let Err(e) = guard(
        &state,
        &headers,
        &extensions,
        &f,
        &[Kind::Secret, Kind::Sms],
    ) {
        return Ok(refusal::page(&e, page()));
    }
    let a = account_of(&state, &s).await?;
    let out = async {
        let new_phone = phone(field(&f, "new_phone"))?;
        let (st, now, pc) = (state.accounts.clone(), state.now(), secret(&f, "passcode"));
        state
            .hashing(move |store| {
                acc::check_passcode(store, &st, &a, &pc, now)?;
                Ok(acc::start_phone_change(store, &st, &a, &new_phone, now)?)
            })
            .await
    }
    .await;
    match out {
        Ok(handle) => {
            state.dispatcher.wake();
            let p = page();
            let lang = p.lang;
            FormPage::new(
                p,
                "me.phone.confirm_title",
                "/me/phone/confirm",
                "me.phone.confirm_submit",
                vec![
                    Input::hidden("handle", &handle),
                    Input::six(lang, "code_old", "me.field.code_old", false),
                    Input::six(lang, "code_new", "me.field.code_new", false),
                ],
            )
            .intro("me.phone.confirm_intro")
            .show()
        }
        Err(e) => phone_form(page()).again(&e),
    }
}

/// Confirms the phone change with both codes.
pub async fn phone_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, Some(&s), "security", "/me/phone");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page));
    }
    let a = account_of(&state, &s).await?;
    let out = async {
        let (handle, old, new) = (
            field(&f, "handle").to_owned(),
            field(&f, "code_old").to_owned(),
            field(&f, "code_new").to_owned(),
        );
        code_ok(&old)?;
        code_ok(&new)?;
        let (st, now) = (state.accounts.clone(), state.now());
        state
            .blocking(move |store| {
                Ok(acc::confirm_phone_change(
                    store, &st, &a, &handle, &old, &new, now,
                )?)
            })
            .await
    }
    .await;
    match out {
        Ok(_) => Ok(see_other("/me?done=phone")),
        Err(e) => {
            let lang = page.lang;
            FormPage::new(
                page,
                "me.phone.confirm_title",
                "/me/phone/confirm",
                "me.phone.confirm_submit",
                vec![
                    Input::hidden("handle", field(&f, "handle")),
                    Input::six(lang, "code_old", "me.field.code_old", false),
                    Input::six(lang, "code_new", "me.field.code_new", false),
                ],
            )
            .again(&e)
        }
    }
}

fn secret_form(page: MePage, which: &str) -> FormPage {
    let lang = page.lang;
    let (title, action, new): (&str, &'static str, Input) = if which == "password" {
        (
            "me.password.title",
            "/me/password",
            Input::password(lang, "new_password", "me.field.new_password", true),
        )
    } else {
        (
            "me.passcode_change.title",
            "/me/passcode",
            Input::six(lang, "new_passcode", "me.field.new_passcode", true),
        )
    };
    FormPage::new(
        page,
        title,
        action,
        "me.secret.submit",
        vec![new, Input::six(lang, "passcode", "me.field.passcode", true)],
    )
    .link("/me/phone", "me.home.change_phone")
    .link(
        if which == "password" {
            "/me/passcode"
        } else {
            "/me/password"
        },
        if which == "password" {
            "me.home.change_passcode"
        } else {
            "me.home.change_password"
        },
    )
}

pub async fn password_page(headers: HeaderMap, Citizen(s): Citizen) -> Result<Response, MeError> {
    secret_form(
        MePage::new(&headers, Some(&s), "security", "/me/password"),
        "password",
    )
    .show()
}

pub async fn passcode_page(headers: HeaderMap, Citizen(s): Citizen) -> Result<Response, MeError> {
    secret_form(
        MePage::new(&headers, Some(&s), "security", "/me/passcode"),
        "passcode",
    )
    .show()
}

/// Replaces the password or the passcode after the current passcode (`replace_secret`).
async fn replace(
    state: AppState,
    headers: HeaderMap,
    extensions: Extensions,
    s: WebSession,
    f: Fields,
    which: &'static str,
) -> Result<Response, MeError> {
    let here = if which == "password" {
        "/me/password"
    } else {
        "/me/passcode"
    };
    let page = || MePage::new(&headers, Some(&s), "security", here);
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let a = account_of(&state, &s).await?;
    let new = f
        .get(if which == "password" {
            "new_password"
        } else {
            "new_passcode"
        })
        .cloned()
        .unwrap_or_default();
    let check: Result<(), AppError> = if which == "password" {
        password_ok(&new)
    } else {
        passcode_ok(&new)
    };
    let out = match check {
        Ok(()) => {
            let (st, now, pc) = (state.accounts.clone(), state.now(), secret(&f, "passcode"));
            state
                .hashing(move |store| {
                    Ok(acc::replace_secret(store, &st, &a, &pc, which, &new, now)?)
                })
                .await
        }
        Err(e) => Err(e),
    };
    match out {
        Ok(()) => Ok(see_other(&format!("/me?done={which}"))),
        Err(e) => secret_form(page(), which).again(&e),
    }
}

pub async fn password(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    replace(state, headers, extensions, s, f, "password").await
}

pub async fn passcode(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    replace(state, headers, extensions, s, f, "passcode").await
}
