//! Becoming a holder: level-1 registration (personal ID, phone, a portrait from the phone's
//! camera), its SMS code with the new password and passcode; level-2 activation with the code
//! from an approved application; the self-service upgrade (or the nearest places to go); and
//! the password reset. The same use cases as the app API, on this browser's device.

use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use axum::Form;
use eid_core::accounts as acc;
use eid_domain::AccountLevel;

use super::account::done;
use super::forms::{FormPage, Input};
use super::session::{self, MaybeCitizen};
use super::signin::account_of;
use super::{field, guard, refusal, secret, see_other, Citizen, Fields, MeError, MePage};
use crate::accounts::wire::{code_ok, hash_secrets, passcode_ok, password_ok, phone};
use crate::accounts::MAX_PHOTO_BYTES;
use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

/// A multipart form read whole: its text fields and the photo.
struct Posted {
    fields: Fields,
    photo: Vec<u8>,
}

async fn read_multipart(mut m: Multipart) -> Result<Posted, AppError> {
    let mut fields = Fields::new();
    let mut photo = Vec::new();
    while let Some(part) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad("photo.size", "the form could not be read"))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "photo" {
            photo = part
                .bytes()
                .await
                .map_err(|_| AppError::bad("photo.size", "the photo is too large"))?
                .to_vec();
        } else {
            let text = part
                .text()
                .await
                .map_err(|_| AppError::bad("photo.size", "the form could not be read"))?;
            fields.insert(name, text);
        }
    }
    Ok(Posted { fields, photo })
}

fn photo_ok(photo: &[u8]) -> Result<(), AppError> {
    if photo.is_empty() {
        return Err(AppError::bad("photo.missing", "a portrait is needed"));
    }
    if photo.len() > MAX_PHOTO_BYTES {
        return Err(AppError::bad("photo.size", "the photo is too large"));
    }
    Ok(())
}

/// Compares a photo with the person's portrait (the configured face verifier).
async fn compare(
    state: &AppState,
    pid: &str,
    photo: Vec<u8>,
) -> Result<crate::verifier::Verdict, AppError> {
    let verifier = Arc::clone(&state.verifier);
    let pid = pid.to_owned();
    tokio::task::spawn_blocking(move || verifier.compare(&pid, &photo))
        .await
        .map_err(|e| AppError::Internal(format!("verifier task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("face verifier: {e}")))
}

// ----------------------------------------------------------------------------------------------
// Level 1

fn register_form(page: MePage, pid: &str, ph: &str) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.register.title",
        "/me/register",
        "me.register.submit",
        vec![
            Input::personal_id(lang, "personal_id", "me.field.personal_id", pid),
            Input::phone(lang, "phone", "me.field.phone", ph),
            Input::photo(lang),
        ],
    )
    .intro("me.register.intro")
    .multipart()
    .link("/me/signin", "me.register.have_account")
}

pub async fn form(headers: HeaderMap) -> Result<Response, MeError> {
    register_form(MePage::new(&headers, None, "", "/me/register"), "", "").show()
}

fn confirm_form(page: MePage, handle: &str) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.confirm.title",
        "/me/register/confirm",
        "me.confirm.submit",
        vec![
            Input::hidden("handle", handle),
            Input::six(lang, "code", "me.field.code", false),
            Input::password(lang, "password", "me.field.new_password", true),
            Input::six(lang, "passcode", "me.field.new_passcode", true),
        ],
    )
    .intro("me.confirm.intro")
}

/// Level 1: the same answer whatever the register holds (a code goes out only when the details
/// match); the browser is the device the account will be bound to.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    m: Multipart,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "", "/me/register");
    let posted = match read_multipart(m).await {
        Ok(p) => p,
        Err(e) => return register_form(page(), "", "").again(&e),
    };
    let f = &posted.fields;
    if let Err(e) = guard(&state, &headers, &extensions, f, &[Kind::Sms]) {
        return Ok(refusal::page(&e, page()));
    }
    let (pid, ph) = (
        field(f, "personal_id").to_owned(),
        field(f, "phone").to_owned(),
    );
    let device = session::device_hash(&headers).ok_or(AppError::Csrf)?;
    let out = async {
        let id = crate::access::parse_id(&pid)?;
        let number = phone(&ph)?;
        photo_ok(&posted.photo)?;
        let now = state.now();
        acc::under_14_by_id(&id, now)?;
        let verdict = compare(&state, id.as_str(), posted.photo.clone()).await?;
        let s = state.accounts.clone();
        let photo = posted.photo.clone();
        state
            .blocking(move |store| {
                let reg = acc::Registration {
                    personal_id: &id,
                    phone: &number,
                    photo: &photo,
                    photo_hash: crate::verifier::sha256(&photo),
                    verifier: &verdict.verifier,
                    score: verdict.score,
                    matched: verdict.matched,
                    device_hash: device,
                };
                Ok(acc::register(store, &s, &reg, now)?)
            })
            .await
    }
    .await;
    match out {
        Ok(handle) => {
            state.dispatcher.wake();
            confirm_form(page(), &handle).show()
        }
        Err(e) => register_form(page(), &pid, &ph).again(&e),
    }
}

/// Confirms with the SMS code and sets the password and passcode.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "", "/me/register");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let handle = field(&f, "handle").to_owned();
    let out = async {
        let (code, pw, pc) = (
            field(&f, "code").to_owned(),
            secret(&f, "password"),
            secret(&f, "passcode"),
        );
        code_ok(&code)?;
        password_ok(&pw)?;
        passcode_ok(&pc)?;
        let hashes = hash_secrets(vec![pw, pc]).await?;
        let (s, now, h) = (state.accounts.clone(), state.now(), handle.clone());
        state
            .blocking(move |store| {
                Ok(acc::confirm_registration(
                    store, &s, &h, &code, &hashes[0], &hashes[1], now,
                )?)
            })
            .await
    }
    .await;
    match out {
        Ok(_) => Ok(see_other("/me/signin?done=registered")),
        Err(e) => confirm_form(page(), &handle).again(&e),
    }
}

// ----------------------------------------------------------------------------------------------
// Level 2

fn activate_page(page: MePage, pid: &str) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.activate.title",
        "/me/activate",
        "me.activate.submit",
        vec![
            Input::personal_id(lang, "personal_id", "me.field.personal_id", pid),
            Input::six(lang, "code", "me.field.activation_code", false),
            Input::password(lang, "password", "me.field.new_password", true),
            Input::six(lang, "passcode", "me.field.new_passcode", true),
        ],
    )
    .intro("me.activate.intro")
}

pub async fn activate_form(headers: HeaderMap) -> Result<Response, MeError> {
    activate_page(MePage::new(&headers, None, "", "/me/activate"), "").show()
}

/// Level 2 with the activation code from an approved application; this browser becomes the
/// bound device.
pub async fn activate(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "", "/me/activate");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let pid = field(&f, "personal_id").to_owned();
    let device = session::device_hash(&headers).ok_or(AppError::Csrf)?;
    let out = async {
        let id = crate::access::parse_id(&pid)?;
        let (code, pw, pc) = (
            field(&f, "code").to_owned(),
            secret(&f, "password"),
            secret(&f, "passcode"),
        );
        code_ok(&code)?;
        password_ok(&pw)?;
        passcode_ok(&pc)?;
        let hashes = hash_secrets(vec![pw, pc]).await?;
        let (s, now) = (state.accounts.clone(), state.now());
        state
            .blocking(move |store| {
                Ok(acc::activate(
                    store, &s, &id, &code, &hashes[0], &hashes[1], &device, now,
                )?)
            })
            .await
    }
    .await;
    match out {
        Ok(_) => Ok(see_other("/me/signin?done=activated")),
        Err(e) => activate_page(page(), &pid).again(&e),
    }
}

fn upgrade_page(page: MePage) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.upgrade.title",
        "/me/upgrade",
        "me.upgrade.submit",
        vec![
            Input::photo(lang),
            Input::six(lang, "passcode", "me.field.passcode", true),
        ],
    )
    .intro("me.upgrade.intro")
    .note("me.upgrade.rule")
    .multipart()
}

/// The self-service upgrade; a level-2 account is told it is one already.
pub async fn upgrade_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
) -> Result<Response, MeError> {
    let a = account_of(&state, &s).await?;
    let page = MePage::new(&headers, Some(&s), "home", "/me/upgrade");
    if a.level == AccountLevel::Two {
        return Ok(see_other("/me"));
    }
    upgrade_page(page).show()
}

/// Level 2 by self-service when the card date allows it (a fresh face match); otherwise the
/// refusal page lists the nearest units that take applications.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    m: Multipart,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, Some(&s), "home", "/me/upgrade");
    let posted = match read_multipart(m).await {
        Ok(p) => p,
        Err(e) => return upgrade_page(page()).again(&e),
    };
    let f = &posted.fields;
    if let Err(e) = guard(&state, &headers, &extensions, f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let a = account_of(&state, &s).await?;
    let out = async {
        photo_ok(&posted.photo)?;
        let (st, now, pc) = (state.accounts.clone(), state.now(), secret(f, "passcode"));
        let held = a.clone();
        state
            .hashing(move |store| Ok(acc::check_passcode(store, &st, &held, &pc, now)?))
            .await?;
        let verdict = compare(&state, a.personal_id.as_str(), posted.photo.clone()).await?;
        let st = state.accounts.clone();
        state
            .blocking(move |store| {
                Ok(acc::self_upgrade(
                    store,
                    &st,
                    &a,
                    &verdict.verifier,
                    verdict.score,
                    verdict.matched,
                    now,
                )?)
            })
            .await
    }
    .await;
    match out {
        Ok(_) => Ok(see_other("/me?done=upgraded")),
        Err(e) => upgrade_page(page()).again(&e),
    }
}

// ----------------------------------------------------------------------------------------------
// Password reset

fn reset_page(page: MePage, pid: &str, ph: &str) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.reset.title",
        "/me/reset",
        "me.reset.submit",
        vec![
            Input::personal_id(lang, "personal_id", "me.field.personal_id", pid),
            Input::phone(lang, "phone", "me.field.phone", ph),
        ],
    )
    .intro("me.reset.intro")
    .link("/me/signin", "me.reset.back")
}

pub async fn reset_form(
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, s.as_ref(), "", "/me/reset");
    let d = done(page.lang, &q);
    reset_page(page, "", "").done(d).show()
}

fn reset_confirm_page(page: MePage, handle: &str) -> FormPage {
    let lang = page.lang;
    FormPage::new(
        page,
        "me.reset.confirm_title",
        "/me/reset/confirm",
        "me.reset.confirm_submit",
        vec![
            Input::hidden("handle", handle),
            Input::six(lang, "code", "me.field.code", false),
            Input::password(lang, "password", "me.field.new_password", true),
        ],
    )
    .intro("me.reset.confirm_intro")
}

/// Starts a reset: a code only when the ID and phone match an account (the same page either way).
pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "", "/me/reset");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Sms]) {
        return Ok(refusal::page(&e, page()));
    }
    let (pid, ph) = (
        field(&f, "personal_id").to_owned(),
        field(&f, "phone").to_owned(),
    );
    let out = async {
        let id = crate::access::parse_id(&pid)?;
        let number = phone(&ph)?;
        let (s, now) = (state.accounts.clone(), state.now());
        state
            .blocking(move |store| Ok(acc::start_reset(store, &s, &id, &number, now)?))
            .await
    }
    .await;
    match out {
        Ok(handle) => {
            state.dispatcher.wake();
            reset_confirm_page(page(), &handle).show()
        }
        Err(e) => reset_page(page(), &pid, &ph).again(&e),
    }
}

/// Sets the new password with the code.
pub async fn reset_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let page = || MePage::new(&headers, None, "", "/me/reset");
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let handle = field(&f, "handle").to_owned();
    let out = async {
        let (code, pw) = (field(&f, "code").to_owned(), secret(&f, "password"));
        code_ok(&code)?;
        password_ok(&pw)?;
        let hashes = hash_secrets(vec![pw]).await?;
        let (s, now, h) = (state.accounts.clone(), state.now(), handle.clone());
        state
            .blocking(move |store| Ok(acc::confirm_reset(store, &s, &h, &code, &hashes[0], now)?))
            .await
    }
    .await;
    match out {
        Ok(()) => Ok(see_other("/me/signin?done=reset")),
        Err(e) => reset_confirm_page(page(), &handle).again(&e),
    }
}
