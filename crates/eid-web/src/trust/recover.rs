//! `/me/recover`: account recovery without the old phone (the rules are
//! `eid_core::accounts::recovery`). The requester's handle lives in an HttpOnly cookie of this
//! browser for the length of the lock; the owner's sessions see a banner with a cancel button,
//! and the bound phone's SMS links to `/me/recover/cancel`. A refusal names its reason and the
//! next step of the fallback ladder.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Multipart, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use eid_core::accounts::recovery::{self, Status};

use crate::auth::{cookie, set_cookie};
use crate::citizen::session::{add_cookie, secure};
use crate::citizen::{field, guard, render, MaybeCitizen, MeError, MePage};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

const HANDLE_COOKIE: &str = "eid_recover";
/// The handle cookie outlives the lock by a few days.
const HANDLE_MAX_AGE: u64 = 7 * 24 * 3600;

#[derive(Template)]
#[template(path = "trust_recover.html")]
pub struct RecoverPage {
    pub page: MePage,
    pub step: &'static str,
    pub message: String,
    pub ok: bool,
    pub next_step: String,
    pub banner: String,
    pub token: String,
}

fn lock(state: &AppState) -> time::Duration {
    time::Duration::hours(state.config.trust.recovery_lock_hours)
}

pub(super) async fn banner(
    state: &AppState,
    lang: Lang,
    s: Option<&eid_core::accounts::web_session::WebSession>,
) -> String {
    let Some(s) = s else { return String::new() };
    let pid = s.personal_id.as_str().to_owned();
    match state
        .read(move |store| Ok(recovery::pending_for(store, &pid)?))
        .await
    {
        Ok(Some(p)) => format!(
            "{} {} {} {}.",
            lang.t("trust.rec.banner"),
            p.new_phone_masked,
            lang.t("trust.rec.banner_until"),
            super::citizen::when(p.unlock_at)
        ),
        _ => String::new(),
    }
}

fn page_of(page: MePage, step: &'static str) -> RecoverPage {
    RecoverPage {
        page,
        step,
        message: String::new(),
        ok: false,
        next_step: String::new(),
        banner: String::new(),
        token: String::new(),
    }
}

/// A refusal with its reason and the ladder's next step.
fn refused(mut p: RecoverPage, e: AppError, step: &'static str) -> Result<Response, MeError> {
    let lang = p.page.lang;
    if e.status().is_server_error() {
        return Err(MeError::lang(e, lang));
    }
    let code = e.code();
    p.message = match lang.t(&format!("trust.rec.err.{code}")) {
        "??" => lang.t("trust.rec.err.other").to_owned(),
        t => t.to_owned(),
    };
    p.next_step = lang
        .t(&format!("trust.ladder.{}", recovery::next_step(code)))
        .to_owned();
    p.step = step;
    let status = e.status();
    render(&p, status)
}

/// `GET /me/recover`: the form, or where this browser's recovery stands.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, s.as_ref(), "", "/me/recover");
    let lang = page.lang;
    let mut p = page_of(page, "start");
    p.banner = banner(&state, lang, s.as_ref()).await;
    if let Some(handle) = cookie(&headers, HANDLE_COOKIE) {
        let now = state.now();
        let st = state
            .read(move |store| Ok(recovery::status(store, &handle, now)?))
            .await;
        if let Ok(st) = st {
            match st {
                Status::WaitingForCode => p.step = "code",
                Status::Locked { unlock_at } => {
                    p.step = "locked";
                    p.message = format!(
                        "{} {}.",
                        lang.t("trust.rec.locked"),
                        super::citizen::when(unlock_at)
                    );
                    p.ok = true;
                }
                Status::Ready => p.step = "ready",
                Status::Cancelled => {
                    p.message = lang.t("trust.rec.was_cancelled").to_owned();
                }
                Status::Completed => {
                    p.message = lang.t("trust.rec.done").to_owned();
                    p.ok = true;
                }
            }
        }
    }
    render(&p, StatusCode::OK)
}

/// `POST /me/recover` (multipart): personal ID, passcode, new phone and a fresh portrait.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    MaybeCitizen(s): MaybeCitizen,
    mut m: Multipart,
) -> Result<Response, MeError> {
    let p = page_of(
        MePage::new(&headers, s.as_ref(), "", "/me/recover"),
        "start",
    );
    let mut f = HashMap::new();
    let mut photo = Vec::new();
    while let Ok(Some(part)) = m.next_field().await {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "photo" {
            match part.bytes().await {
                Ok(b) if b.len() <= crate::accounts::MAX_PHOTO_BYTES => photo = b.to_vec(),
                _ => {
                    return refused(
                        p,
                        AppError::bad("photo.size", "the photo is too large"),
                        "start",
                    )
                }
            }
        } else if let Ok(t) = part.text().await {
            f.insert(name, t);
        }
    }
    if let Err(e) = guard(
        &state,
        &headers,
        &extensions,
        &f,
        &[Kind::Secret, Kind::Sms],
    ) {
        return refused(p, e, "start");
    }
    if photo.is_empty() {
        return refused(
            p,
            AppError::bad("photo.missing", "a portrait is needed"),
            "start",
        );
    }
    let pid = field(&f, "personal_id").to_owned();
    let passcode = f.get("passcode").cloned().unwrap_or_default();
    let phone = field(&f, "phone").to_owned();
    let device = crate::citizen::session::device_hash(&headers);
    let verifier = Arc::clone(&state.verifier);
    let who = pid.clone();
    let verdict = tokio::task::spawn_blocking(move || verifier.compare(&who, &photo))
        .await
        .map_err(|e| AppError::Internal(format!("verifier task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("face verifier: {e}")))?;
    let now = state.now();
    let out = state
        .hashing(move |store| {
            let r = recovery::Start {
                personal_id: &pid,
                passcode: &passcode,
                new_phone: &phone,
                device_hash: device,
                face_matched: verdict.matched,
            };
            Ok(recovery::start(store, &r, now)?)
        })
        .await;
    match out {
        Ok(handle) => {
            state.dispatcher.wake();
            let mut p = p;
            p.step = "code";
            p.message = p.page.t("trust.rec.code_sent").to_owned();
            p.ok = true;
            let mut r = render(&p, StatusCode::OK)?;
            add_cookie(
                &mut r,
                &set_cookie(
                    HANDLE_COOKIE,
                    &handle,
                    HANDLE_MAX_AGE,
                    true,
                    secure(&state),
                    "Lax",
                ),
            );
            Ok(r)
        }
        Err(e) => refused(p, e, "start"),
    }
}

/// `POST /me/recover/confirm`: the new phone's code; the time lock starts.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    MaybeCitizen(s): MaybeCitizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let mut p = page_of(MePage::new(&headers, s.as_ref(), "", "/me/recover"), "code");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return refused(p, e, "code");
    }
    let Some(handle) = cookie(&headers, HANDLE_COOKIE) else {
        return refused(
            p,
            AppError::not_found("recovery.not_found", "no recovery"),
            "start",
        );
    };
    let code = field(&f, "code").to_owned();
    let (now, lock, base) = (state.now(), lock(&state), state.oidc.issuer.clone());
    let out = state
        .blocking(move |store| Ok(recovery::confirm(store, &handle, &code, lock, &base, now)?))
        .await;
    match out {
        Ok(unlock_at) => {
            state.dispatcher.wake();
            p.step = "locked";
            p.ok = true;
            p.message = format!(
                "{} {}.",
                p.page.t("trust.rec.locked"),
                super::citizen::when(unlock_at)
            );
            render(&p, StatusCode::OK)
        }
        Err(e) => refused(p, e, "code"),
    }
}

/// `POST /me/recover/complete`: after the lock, the new phone and this device are bound.
pub async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    MaybeCitizen(s): MaybeCitizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let mut p = page_of(MePage::new(&headers, s.as_ref(), "", "/me/recover"), "");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[]) {
        return refused(p, e, "");
    }
    let Some(handle) = cookie(&headers, HANDLE_COOKIE) else {
        return refused(
            p,
            AppError::not_found("recovery.not_found", "no recovery"),
            "start",
        );
    };
    let now = state.now();
    match state
        .blocking(move |store| Ok(recovery::complete(store, &handle, now)?))
        .await
    {
        Ok(()) => {
            state.dispatcher.wake();
            p.ok = true;
            p.message = p.page.t("trust.rec.done").to_owned();
            render(&p, StatusCode::OK)
        }
        Err(e) => refused(p, e, ""),
    }
}

/// `GET /me/recover/cancel?t=…` (the link in the bound phone's SMS): a button, so that a link
/// preview does not cancel by itself.
pub async fn cancel_form(
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let mut p = page_of(
        MePage::new(&headers, s.as_ref(), "", "/me/recover"),
        "cancel",
    );
    p.token = q
        .get("t")
        .cloned()
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect();
    render(&p, StatusCode::OK)
}

/// `POST /me/recover/cancel` with the SMS token.
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    MaybeCitizen(s): MaybeCitizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let mut p = page_of(MePage::new(&headers, s.as_ref(), "", "/me/recover"), "");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return refused(p, e, "");
    }
    let token = field(&f, "t").to_owned();
    let now = state.now();
    match state
        .blocking(move |store| Ok(recovery::cancel_by_token(store, &token, now)?))
        .await
    {
        Ok(()) => {
            p.ok = true;
            p.message = p.page.t("trust.rec.cancelled").to_owned();
            render(&p, StatusCode::OK)
        }
        Err(e) => refused(p, e, ""),
    }
}

/// `POST /me/recover/cancel-mine`: the signed-in owner cancels every open recovery.
pub async fn cancel_mine(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    crate::citizen::Citizen(s): crate::citizen::Citizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let mut p = page_of(MePage::new(&headers, Some(&s), "", "/me/recover"), "");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[]) {
        return refused(p, e, "");
    }
    let pid = s.personal_id.as_str().to_owned();
    let now = state.now();
    state
        .blocking(move |store| Ok(recovery::cancel_by_owner(store, &pid, now)?))
        .await
        .map_err(|e| MeError::lang(e, p.page.lang))?;
    p.ok = true;
    p.message = p.page.t("trust.rec.cancelled").to_owned();
    render(&p, StatusCode::OK)
}
