//! The citizen app (`/api/v1/app/…`): level-1 registration, level-2 activation and upgrade,
//! children's accounts, sign-in and the holder's own account. The rules, credential checks
//! included, are `eid_core::accounts`; a handler parses, runs one use case on a blocking thread
//! and renders.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eid_core::accounts::{self as acc, Account};
use serde_json::{json, Value};

use crate::access::parse_id;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

use super::extract::{Citizen, SecretSource, SmsSource};
use super::wire::*;

// ----------------------------------------------------------------------------------------------
// Level 1

/// Checks the holder's passcode on a blocking thread (a wrong one counts towards the lock-out).
async fn passcode(state: &AppState, a: &Account, passcode: &str) -> Result<(), AppError> {
    let (s, now, a, passcode) = (
        state.accounts.clone(),
        state.now(),
        a.clone(),
        passcode.to_owned(),
    );
    state
        .hashing(move |store| Ok(acc::check_passcode(store, &s, &a, &passcode, now)?))
        .await
}

#[utoipa::path(
    post,
    path = "/api/v1/app/register",
    tag = "accounts",
    summary = "Level 1: registers with the personal ID, phone, a photo and the device; the same answer whatever the register holds.",
    request_body = RegisterIn,
    responses(
        (status = 202, description = "`{handle, message}` (a JSON object): a code was sent by SMS if the details match.", body = Object),
        Errors,
    ),
)]
pub(super) async fn register(
    State(state): State<AppState>,
    _limit: SmsSource,
    JsonBody(r): JsonBody<RegisterIn>,
) -> Result<Response, AppError> {
    let id = parse_id(&r.personal_id)?;
    let phone = phone(&r.phone)?;
    let photo = photo(&r.photo_base64)?;
    let device = device_hash(&r.device_id)?;
    let now = state.now();
    // Decided from the ID alone, before the face is compared or the register read: the same
    // answer for a child in the register and an unused ID of the same year.
    acc::under_14_by_id(&id, now)?;
    let verifier = Arc::clone(&state.verifier);
    let (pid, bytes) = (id.as_str().to_owned(), photo.clone());
    let verdict = tokio::task::spawn_blocking(move || verifier.compare(&pid, &bytes))
        .await
        .map_err(|e| AppError::Internal(format!("verifier task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("face verifier: {e}")))?;
    let s = state.accounts.clone();
    let handle = state
        .blocking(move |store| {
            let reg = acc::Registration {
                personal_id: &id,
                phone: &phone,
                photo: &photo,
                photo_hash: crate::verifier::sha256(&photo),
                verifier: &verdict.verifier,
                score: verdict.score,
                matched: verdict.matched,
                device_hash: device,
            };
            Ok(acc::register(store, &s, &reg, now)?)
        })
        .await?;
    state.dispatcher.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "handle": handle,
            "message": "if the details match the register, a code was sent by SMS to the phone number given",
        })),
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/app/register/confirm",
    tag = "accounts",
    summary = "Level 1: confirms with the SMS code and sets the password and passcode.",
    request_body = ConfirmIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
)]
pub(super) async fn register_confirm(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(c): JsonBody<ConfirmIn>,
) -> Result<Json<Value>, AppError> {
    code_ok(&c.code)?;
    password_ok(&c.password)?;
    passcode_ok(&c.passcode)?;
    let hashes = hash_secrets(vec![c.password, c.passcode]).await?;
    let now = state.now();
    let s = state.accounts.clone();
    let a = state
        .blocking(move |store| {
            let (pw, pc) = (&hashes[0], &hashes[1]);
            Ok(acc::confirm_registration(
                store, &s, &c.handle, &c.code, pw, pc, now,
            )?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

// ----------------------------------------------------------------------------------------------
// Level 2 activation and self-service upgrade

#[utoipa::path(
    post,
    path = "/api/v1/app/activate",
    tag = "accounts",
    summary = "Level 2: activates with the SMS activation code from an approved application.",
    request_body = ActivateIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
)]
pub(super) async fn activate(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(c): JsonBody<ActivateIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id(&c.personal_id)?;
    code_ok(&c.code)?;
    password_ok(&c.password)?;
    passcode_ok(&c.passcode)?;
    let device = device_hash(&c.device_id)?;
    let hashes = hash_secrets(vec![c.password, c.passcode]).await?;
    let now = state.now();
    let s = state.accounts.clone();
    let a = state
        .blocking(move |store| {
            let (pw, pc) = (&hashes[0], &hashes[1]);
            Ok(acc::activate(
                store, &s, &id, &c.code, pw, pc, &device, now,
            )?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/upgrade",
    tag = "accounts",
    summary = "Level 2 by self-service for cards issued from the cut-off; else 409 `account.go_in_person` with the collecting units.",
    request_body = UpgradeIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn upgrade(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(u): JsonBody<UpgradeIn>,
) -> Result<Json<Value>, AppError> {
    passcode(&state, &citizen.account, &u.passcode).await?;
    let photo = photo(&u.photo_base64)?;
    let verifier = Arc::clone(&state.verifier);
    let pid = citizen.account.personal_id.as_str().to_owned();
    let verdict = tokio::task::spawn_blocking(move || verifier.compare(&pid, &photo))
        .await
        .map_err(|e| AppError::Internal(format!("verifier task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("face verifier: {e}")))?;
    let now = state.now();
    let s = state.accounts.clone();
    let a = state
        .blocking(move |store| {
            Ok(acc::self_upgrade(
                store,
                &s,
                &citizen.account,
                &verdict.verifier,
                verdict.score,
                verdict.matched,
                now,
            )?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/children",
    tag = "accounts",
    summary = "A recorded guardian with level 2 opens a child's account.",
    request_body = ChildIn,
    responses(
        (status = 201, description = "`{account}`: the child's account (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn register_child(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(c): JsonBody<ChildIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    passcode(&state, &citizen.account, &c.passcode).await?;
    let child = parse_id(&c.child_personal_id)?;
    password_ok(&c.child_password)?;
    passcode_ok(&c.child_passcode)?;
    let hashes = hash_secrets(vec![c.child_password, c.child_passcode]).await?;
    let now = state.now();
    let a = state
        .blocking(move |store| {
            Ok(acc::register_child(
                store,
                &citizen.account,
                &child,
                &hashes[0],
                &hashes[1],
                now,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "account": account_json(&a) })),
    ))
}

// ----------------------------------------------------------------------------------------------
// Sign-in

#[utoipa::path(
    post,
    path = "/api/v1/app/signin",
    tag = "accounts",
    summary = "Signs in: a session on the bound device, or a code to the phone for a new device.",
    request_body = SignInIn,
    responses(
        (status = 200, description = "`{token, expires_at}` (a JSON object): the session.", body = Object),
        (status = 202, description = "`{device_check, message}` (a JSON object): a new device; confirm with the SMS code.", body = Object),
        Errors,
    ),
)]
pub(super) async fn signin(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(c): JsonBody<SignInIn>,
) -> Result<Response, AppError> {
    let device = device_hash(&c.device_id)?;
    let (s, now) = (state.accounts.clone(), state.now());
    let out = state
        .hashing(move |store| {
            let credentials = acc::Credentials {
                personal_id: &c.personal_id,
                password: &c.password,
                passcode: None,
            };
            Ok(acc::sign_in(store, &s, &credentials, &device, now)?)
        })
        .await?;
    Ok(signin_response(out, &state))
}

fn signin_response(out: acc::SignIn, state: &AppState) -> Response {
    match out {
        acc::SignIn::Session { token, expires_at } => Json(json!({
            "token": token,
            "expires_at": rfc3339(expires_at),
        }))
        .into_response(),
        acc::SignIn::DeviceCheck { handle } => {
            state.dispatcher.wake();
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "device_check": handle,
                    "message": "a new device: a code was sent by SMS to the account's phone",
                })),
            )
                .into_response()
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/app/signin/device",
    tag = "accounts",
    summary = "Binds the new device with the SMS code and ends other sessions.",
    request_body = CodeIn,
    responses(
        (status = 200, description = "`{token, expires_at}` (a JSON object): the session.", body = Object),
        (status = 202, description = "`{device_check, message}` (a JSON object).", body = Object),
        Errors,
    ),
)]
pub(super) async fn signin_device(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(c): JsonBody<CodeIn>,
) -> Result<Response, AppError> {
    code_ok(&c.code)?;
    let now = state.now();
    let s = state.accounts.clone();
    let out = state
        .blocking(move |store| Ok(acc::confirm_device(store, &s, &c.handle, &c.code, now)?))
        .await?;
    Ok(signin_response(out, &state))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/signout",
    tag = "accounts",
    summary = "Ends the session.",
    responses(
        (status = 204, description = "Signed out."),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn signout(
    State(state): State<AppState>,
    citizen: Citizen,
) -> Result<StatusCode, AppError> {
    state
        .blocking(move |store| Ok(acc::sign_out(store, &citizen.token)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------------------------------------------
// The holder's own account

#[utoipa::path(
    get,
    path = "/api/v1/app/account",
    tag = "accounts",
    summary = "The holder's account.",
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn my_account(citizen: Citizen) -> Json<Value> {
    Json(json!({ "account": account_json(&citizen.account) }))
}

#[utoipa::path(
    get,
    path = "/api/v1/app/events",
    tag = "accounts",
    summary = "Every event of the holder's account and applications.",
    responses(
        (status = 200, description = "`{events: [...]}` (a JSON object built by hand: seq, at, kind, actor, application_id, unit, device_id, detail).", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn my_events(
    State(state): State<AppState>,
    citizen: Citizen,
) -> Result<Json<Value>, AppError> {
    let id = citizen.account.personal_id;
    let events = state
        .blocking(move |store| Ok(acc::events(store, &id)?))
        .await?;
    Ok(Json(json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>()
    })))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/lock",
    tag = "accounts",
    summary = "The holder locks the account with the passcode.",
    request_body = PasscodeIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn holder_lock(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(p): JsonBody<PasscodeIn>,
) -> Result<Json<Value>, AppError> {
    let (s, now) = (state.accounts.clone(), state.now());
    let a = state
        .hashing(move |store| {
            acc::check_passcode(store, &s, &citizen.account, &p.passcode, now)?;
            Ok(acc::set_lock(
                store,
                &citizen.account,
                acc::LockBy::Holder,
                true,
                now,
            )?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

/// The holder lifts their own lock with password and passcode (no session: a locked account
/// has none).
#[utoipa::path(
    post,
    path = "/api/v1/app/unlock",
    tag = "accounts",
    summary = "The holder lifts their own lock with password and passcode.",
    request_body = UnlockIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
)]
pub(super) async fn holder_unlock(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(u): JsonBody<UnlockIn>,
) -> Result<Json<Value>, AppError> {
    let (s, now) = (state.accounts.clone(), state.now());
    let a = state
        .hashing(move |store| {
            let credentials = acc::Credentials {
                personal_id: &u.personal_id,
                password: &u.password,
                passcode: Some(&u.passcode),
            };
            Ok(acc::unlock(store, &s, &credentials, now)?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/passcode",
    tag = "accounts",
    summary = "Changes the passcode.",
    request_body = NewPasscodeIn,
    responses(
        (status = 204, description = "The passcode is changed."),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn change_passcode(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(p): JsonBody<NewPasscodeIn>,
) -> Result<StatusCode, AppError> {
    passcode_ok(&p.new_passcode)?;
    replace_secret(&state, citizen, p.passcode, "passcode", p.new_passcode).await
}

#[utoipa::path(
    post,
    path = "/api/v1/app/password",
    tag = "accounts",
    summary = "Changes the password.",
    request_body = NewPasswordIn,
    responses(
        (status = 204, description = "The password is changed."),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn change_password(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(p): JsonBody<NewPasswordIn>,
) -> Result<StatusCode, AppError> {
    password_ok(&p.new_password)?;
    replace_secret(&state, citizen, p.passcode, "password", p.new_password).await
}

/// Replaces the password or the passcode (`which`) after checking the current passcode; the
/// core hashes the new one.
async fn replace_secret(
    state: &AppState,
    citizen: Citizen,
    passcode: String,
    which: &'static str,
    new: String,
) -> Result<StatusCode, AppError> {
    let (s, now) = (state.accounts.clone(), state.now());
    state
        .hashing(move |store| {
            Ok(acc::replace_secret(
                store,
                &s,
                &citizen.account,
                &passcode,
                which,
                &new,
                now,
            )?)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/app/phone",
    tag = "accounts",
    summary = "Starts a phone change: a code to each number.",
    request_body = PhoneIn,
    responses(
        (status = 202, description = "`{handle, message}` (a JSON object).", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn phone_start(
    State(state): State<AppState>,
    _limit: SecretSource,
    _sms: SmsSource,
    citizen: Citizen,
    JsonBody(p): JsonBody<PhoneIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let new_phone = phone(&p.new_phone)?;
    let now = state.now();
    let s = state.accounts.clone();
    let handle = state
        .hashing(move |store| {
            acc::check_passcode(store, &s, &citizen.account, &p.passcode, now)?;
            Ok(acc::start_phone_change(
                store,
                &s,
                &citizen.account,
                &new_phone,
                now,
            )?)
        })
        .await?;
    state.dispatcher.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "handle": handle, "message": "a code was sent to each number" })),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/phone/confirm",
    tag = "accounts",
    summary = "Confirms the phone change with both codes.",
    request_body = PhoneConfirmIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("citizen" = [])),
)]
pub(super) async fn phone_confirm(
    State(state): State<AppState>,
    _limit: SecretSource,
    citizen: Citizen,
    JsonBody(p): JsonBody<PhoneConfirmIn>,
) -> Result<Json<Value>, AppError> {
    code_ok(&p.code_old)?;
    code_ok(&p.code_new)?;
    let now = state.now();
    let s = state.accounts.clone();
    let a = state
        .blocking(move |store| {
            Ok(acc::confirm_phone_change(
                store,
                &s,
                &citizen.account,
                &p.handle,
                &p.code_old,
                &p.code_new,
                now,
            )?)
        })
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/password-reset",
    tag = "accounts",
    summary = "Starts a password reset; a code only when the ID and phone match an account.",
    request_body = ResetIn,
    responses(
        (status = 202, description = "`{handle, message}` (a JSON object).", body = Object),
        Errors,
    ),
)]
pub(super) async fn reset_start(
    State(state): State<AppState>,
    _limit: SmsSource,
    JsonBody(r): JsonBody<ResetIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let id = parse_id(&r.personal_id)?;
    let phone = phone(&r.phone)?;
    let now = state.now();
    let s = state.accounts.clone();
    let handle = state
        .blocking(move |store| Ok(acc::start_reset(store, &s, &id, &phone, now)?))
        .await?;
    state.dispatcher.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "handle": handle,
            "message": "if an account has this ID and phone, a code was sent to the phone",
        })),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/app/password-reset/confirm",
    tag = "accounts",
    summary = "Sets a new password with the SMS code.",
    request_body = ResetConfirmIn,
    responses(
        (status = 204, description = "The password is changed."),
        Errors,
    ),
)]
pub(super) async fn reset_confirm(
    State(state): State<AppState>,
    _limit: SecretSource,
    JsonBody(r): JsonBody<ResetConfirmIn>,
) -> Result<StatusCode, AppError> {
    code_ok(&r.code)?;
    password_ok(&r.password)?;
    let hashes = hash_secrets(vec![r.password]).await?;
    let now = state.now();
    let s = state.accounts.clone();
    state
        .blocking(move |store| {
            Ok(acc::confirm_reset(
                store, &s, &r.handle, &r.code, &hashes[0], now,
            )?)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
