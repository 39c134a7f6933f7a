//! The account API: the citizen app (`/api/v1/app/…`), intake devices (`/api/v1/intake/…`) and
//! officers (`/api/v1/applications`, `/api/v1/accounts`, `/api/v1/devices`, `/api/v1/sms`).
//!
//! Handlers parse into domain types, hash secrets with Argon2id on blocking threads before any
//! transaction, and leave the rules to `eid_core::accounts`. The officer operations are plain
//! functions ([`officer`]) so the console calls exactly what the API calls.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use eid_core::accounts::{self as acc, Account, AccountEvent, Application, Device, Refusal, Sms};
use eid_core::secret::{check_password_policy, hash_password, verify_password};
use eid_core::Store;
use eid_domain::{PersonalId, PhoneNumber};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::parse_id;
use crate::auth::{ApiCaller, Caller};
use crate::error::{request_id, AppError};
use crate::openapi::Errors;
use crate::state::AppState;

/// The largest photo accepted, in bytes (after base64 decoding).
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The account routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(register))
        .routes(routes!(register_confirm))
        .routes(routes!(activate))
        .routes(routes!(signin))
        .routes(routes!(signin_device))
        .routes(routes!(holder_unlock))
        .routes(routes!(reset_start))
        .routes(routes!(reset_confirm))
        .routes(routes!(my_account))
        .routes(routes!(my_events))
        .routes(routes!(holder_lock))
        .routes(routes!(change_passcode))
        .routes(routes!(change_password))
        .routes(routes!(phone_start))
        .routes(routes!(phone_confirm))
        .routes(routes!(upgrade))
        .routes(routes!(register_child))
        .routes(routes!(signout))
        .routes(routes!(intake))
        .routes(routes!(list_applications))
        .routes(routes!(get_application))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(resend))
        .routes(routes!(get_account))
        .routes(routes!(officer_lock))
        .routes(routes!(officer_unlock))
        .routes(routes!(officer_phone))
        .routes(routes!(add_guardian))
        .routes(routes!(list_devices, add_device))
        .routes(routes!(device_status))
        .routes(routes!(list_sms))
}

// ----------------------------------------------------------------------------------------------
// Wire views

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn masked(phone: &str) -> String {
    PhoneNumber::parse(phone)
        .map(|p| p.masked())
        .unwrap_or_default()
}

/// An account as the holder and officers see it (never its secrets).
pub fn account_json(a: &Account) -> Value {
    json!({
        "personal_id": a.personal_id.as_str(),
        "level": a.level.number(),
        "state": a.status().as_str(),
        "locks": a.locks(),
        "officer_lock_reason": a.officer_lock,
        "register_lock_reason": a.register_lock,
        "phone": masked(&a.phone),
        "guardian": a.guardian,
        "commune": a.commune.as_str(),
        "verifier": a.verifier,
        "verifier_score": a.verifier_score,
        "created_at": rfc3339(a.created_at),
        "activated_at": a.activated_at.map(rfc3339),
    })
}

pub fn event_json(e: &AccountEvent) -> Value {
    json!({
        "seq": e.seq,
        "at": rfc3339(e.at),
        "kind": e.kind,
        "actor": e.actor.to_db(),
        "application_id": e.application_id,
        "unit": e.unit,
        "device_id": e.device_id,
        "detail": e.detail,
    })
}

pub fn application_json(a: &Application) -> Value {
    json!({
        "id": a.id,
        "personal_id": a.personal_id.as_str(),
        "phone": masked(&a.phone),
        "match": {
            "method": a.match_method,
            "against": a.match_against,
            "result": if a.matched { "match" } else { "no_match" },
            "score": a.match_score,
        },
        "officer_id": a.officer_id,
        "device_id": a.device_id,
        "unit": a.unit.as_str(),
        "commune": a.commune.as_str(),
        "collected_at": rfc3339(a.collected_at),
        "state": a.state.as_str(),
        "review_reason": a.review_reason,
        "reject_reason": a.reject_reason,
        "decided_by": a.decided_by,
        "updated_at": rfc3339(a.updated_at),
    })
}

pub fn device_json(d: &Device) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "unit": d.unit.as_str(),
        "public_key": eid_core::secret::hex(&d.public_key),
        "daily_capacity": d.daily_capacity,
        "status": d.status.as_str(),
        "created_at": rfc3339(d.created_at),
    })
}

pub fn sms_json(m: &Sms) -> Value {
    json!({
        "id": m.id,
        "to": m.to,
        "body": m.body,
        "purpose": m.purpose,
        "state": m.state.as_str(),
        "attempts": m.attempts,
        "created_at": rfc3339(m.created_at),
        "sent_at": m.sent_at.map(rfc3339),
        "last_error": m.last_error,
    })
}

// ----------------------------------------------------------------------------------------------
// Input helpers

fn bad(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::bad(code, message)
}

fn phone(raw: &str) -> Result<PhoneNumber, AppError> {
    PhoneNumber::parse(raw).map_err(|e| bad("phone.invalid", e.to_string()))
}

fn passcode_ok(p: &str) -> Result<(), AppError> {
    if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad("passcode.invalid", "the passcode is exactly 6 digits"))
    }
}

fn password_ok(p: &str) -> Result<(), AppError> {
    check_password_policy(p).map_err(|why| bad("password.policy", why))
}

fn code_ok(c: &str) -> Result<(), AppError> {
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad("code.format", "a code is 6 digits"))
    }
}

/// The hash of the app's device identifier (the store never keeps the identifier itself).
fn device_hash(raw: &str) -> Result<Vec<u8>, AppError> {
    let raw = raw.trim();
    if raw.len() < 8 || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "device_id.invalid",
            "device_id is 8 to 128 printable ASCII characters",
        ));
    }
    Ok(eid_core::secret::token_hash(raw))
}

fn photo(b64: &str) -> Result<Vec<u8>, AppError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad("photo.encoding", "photo_base64 is not valid base64"))?;
    if bytes.is_empty() || bytes.len() > MAX_PHOTO_BYTES {
        return Err(bad(
            "photo.size",
            format!("the photo must be 1 byte to {MAX_PHOTO_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// Hashes secrets with Argon2id on a blocking thread.
async fn hash_secrets(secrets: Vec<String>) -> Result<Vec<String>, AppError> {
    tokio::task::spawn_blocking(move || {
        secrets
            .iter()
            .map(|s| hash_password(s).map_err(AppError::Internal))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))?
}

/// Checks a secret against a stored hash on a blocking thread (a dummy hash when none).
async fn verify(secret: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || verify_password(&secret, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(format!("verify task failed: {e}")))
}

// ----------------------------------------------------------------------------------------------
// The citizen's session

/// A signed-in citizen, from `Authorization: Bearer <session token>`. A locked account is
/// refused here: it can do nothing.
pub struct Citizen {
    pub account: Account,
    pub token: String,
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(AppError::Unauthenticated)?
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::BadCredentials)?
            .to_owned();
        let now = state.now();
        let t = token.clone();
        let account = state
            .blocking(move |store| {
                let Some(a) = acc::session_account(store, &t, now)? else {
                    return Ok(None);
                };
                Ok(Some(acc::sync_account_lock(store, a, now)?))
            })
            .await?
            .ok_or(AppError::BadCredentials)?;
        let locks = account.locks();
        if !locks.is_empty() {
            return Err(Refusal::AccountLocked(locks).into());
        }
        Ok(Citizen { account, token })
    }
}

/// Checks the holder's passcode; a wrong one counts towards the lock-out.
async fn check_passcode(state: &AppState, a: &Account, passcode: &str) -> Result<(), AppError> {
    let now = state.now();
    if let Some(until) = acc::locked_out(a, now) {
        return Err(Refusal::LockedOut(until).into());
    }
    let id = a.id;
    let (_, stored) = state
        .blocking(move |store| Ok(acc::secrets(store, id)?))
        .await?;
    if verify(passcode.to_owned(), stored).await? {
        let a2 = a.clone();
        state
            .blocking(move |store| Ok(acc::secret_ok(store, &a2)?))
            .await?;
        return Ok(());
    }
    let (s, a2) = (state.accounts.clone(), a.clone());
    let locked = state
        .blocking(move |store| Ok(acc::secret_failed(store, &s, &a2, "passcode", now)?))
        .await?;
    Err(match locked {
        Some(until) => Refusal::LockedOut(until).into(),
        None => Refusal::BadPasscode.into(),
    })
}

// ----------------------------------------------------------------------------------------------
// Level 1

#[derive(Deserialize, ToSchema)]
struct RegisterIn {
    personal_id: String,
    phone: String,
    photo_base64: String,
    device_id: String,
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
async fn register(
    State(state): State<AppState>,
    Json(r): Json<RegisterIn>,
) -> Result<Response, AppError> {
    let id = parse_id(&r.personal_id)?;
    let phone = phone(&r.phone)?;
    let photo = photo(&r.photo_base64)?;
    let device = device_hash(&r.device_id)?;
    let verifier = Arc::clone(&state.verifier);
    let (pid, bytes) = (id.as_str().to_owned(), photo.clone());
    let verdict = tokio::task::spawn_blocking(move || verifier.compare(&pid, &bytes))
        .await
        .map_err(|e| AppError::Internal(format!("verifier task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("face verifier: {e}")))?;
    let now = state.now();
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

#[derive(Deserialize, ToSchema)]
struct ConfirmIn {
    handle: String,
    code: String,
    password: String,
    passcode: String,
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
async fn register_confirm(
    State(state): State<AppState>,
    Json(c): Json<ConfirmIn>,
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

#[derive(Deserialize, ToSchema)]
struct ActivateIn {
    personal_id: String,
    code: String,
    password: String,
    passcode: String,
    device_id: String,
}

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
async fn activate(
    State(state): State<AppState>,
    Json(c): Json<ActivateIn>,
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

#[derive(Deserialize, ToSchema)]
struct UpgradeIn {
    passcode: String,
    photo_base64: String,
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
async fn upgrade(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(u): Json<UpgradeIn>,
) -> Result<Json<Value>, AppError> {
    check_passcode(&state, &citizen.account, &u.passcode).await?;
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

#[derive(Deserialize, ToSchema)]
struct ChildIn {
    passcode: String,
    child_personal_id: String,
    child_password: String,
    child_passcode: String,
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
async fn register_child(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(c): Json<ChildIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    check_passcode(&state, &citizen.account, &c.passcode).await?;
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

/// Checks a personal ID with its password (and passcode, when given). An unknown person, a
/// malformed ID and a wrong secret get the same answer after the same hashing work; wrong
/// secrets count towards the lock-out, and a lock-out in force still costs a hash.
async fn check_credentials(
    state: &AppState,
    raw_id: &str,
    password: String,
    passcode: Option<String>,
    what: &'static str,
) -> Result<Account, AppError> {
    let with_passcode = passcode.is_some();
    let found = match PersonalId::parse(raw_id).ok() {
        Some(id) => {
            state
                .blocking(move |store| {
                    let Some((a, pw)) = acc::signin_lookup(store, &id)? else {
                        return Ok(None);
                    };
                    let pc = if with_passcode {
                        acc::secrets(store, a.id)?.1
                    } else {
                        None
                    };
                    Ok(Some((a, pw, pc)))
                })
                .await?
        }
        None => None,
    };
    let now = state.now();
    let (account, pw, pc) = match found {
        Some((a, pw, pc)) => (Some(a), pw, pc),
        None => (None, None, None),
    };
    if let Some(until) = account.as_ref().and_then(|a| acc::locked_out(a, now)) {
        let _ = verify(password, None).await?;
        return Err(Refusal::LockedOut(until).into());
    }
    let mut ok = verify(password, pw).await?;
    if let Some(p) = passcode {
        ok &= verify(p, pc).await?;
    }
    let Some(a) = account else {
        return Err(Refusal::BadCredentials.into());
    };
    if !ok {
        let s = state.accounts.clone();
        let locked = state
            .blocking(move |store| Ok(acc::secret_failed(store, &s, &a, what, now)?))
            .await?;
        return Err(match locked {
            Some(until) => Refusal::LockedOut(until).into(),
            None => Refusal::BadCredentials.into(),
        });
    }
    Ok(a)
}

#[derive(Deserialize, ToSchema)]
struct SignInIn {
    personal_id: String,
    password: String,
    device_id: String,
}

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
async fn signin(
    State(state): State<AppState>,
    Json(c): Json<SignInIn>,
) -> Result<Response, AppError> {
    let device = device_hash(&c.device_id)?;
    let a = check_credentials(&state, &c.personal_id, c.password, None, "password").await?;
    let (s, now) = (state.accounts.clone(), state.now());
    let out = state
        .blocking(move |store| Ok(acc::signin(store, &s, &a, &device, now)?))
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

#[derive(Deserialize, ToSchema)]
struct CodeIn {
    handle: String,
    code: String,
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
async fn signin_device(
    State(state): State<AppState>,
    Json(c): Json<CodeIn>,
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
async fn signout(State(state): State<AppState>, citizen: Citizen) -> Result<StatusCode, AppError> {
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
async fn my_account(citizen: Citizen) -> Json<Value> {
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
async fn my_events(
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

#[derive(Deserialize, ToSchema)]
struct PasscodeIn {
    passcode: String,
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
async fn holder_lock(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(p): Json<PasscodeIn>,
) -> Result<Json<Value>, AppError> {
    check_passcode(&state, &citizen.account, &p.passcode).await?;
    let now = state.now();
    let a = state
        .blocking(move |store| {
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

#[derive(Deserialize, ToSchema)]
struct UnlockIn {
    personal_id: String,
    password: String,
    passcode: String,
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
async fn holder_unlock(
    State(state): State<AppState>,
    Json(u): Json<UnlockIn>,
) -> Result<Json<Value>, AppError> {
    let a = check_credentials(
        &state,
        &u.personal_id,
        u.password,
        Some(u.passcode),
        "unlock",
    )
    .await?;
    let now = state.now();
    let a = state
        .blocking(move |store| Ok(acc::set_lock(store, &a, acc::LockBy::Holder, false, now)?))
        .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[derive(Deserialize, ToSchema)]
struct NewPasscodeIn {
    passcode: String,
    new_passcode: String,
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
async fn change_passcode(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(p): Json<NewPasscodeIn>,
) -> Result<StatusCode, AppError> {
    passcode_ok(&p.new_passcode)?;
    replace_secret(&state, citizen, &p.passcode, "passcode", p.new_passcode).await
}

#[derive(Deserialize, ToSchema)]
struct NewPasswordIn {
    passcode: String,
    new_password: String,
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
async fn change_password(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(p): Json<NewPasswordIn>,
) -> Result<StatusCode, AppError> {
    password_ok(&p.new_password)?;
    replace_secret(&state, citizen, &p.passcode, "password", p.new_password).await
}

/// Replaces the password or the passcode (`which`) after checking the current passcode.
async fn replace_secret(
    state: &AppState,
    citizen: Citizen,
    passcode: &str,
    which: &'static str,
    new: String,
) -> Result<StatusCode, AppError> {
    check_passcode(state, &citizen.account, passcode).await?;
    let hashes = hash_secrets(vec![new]).await?;
    let now = state.now();
    state
        .blocking(move |store| {
            Ok(acc::set_secret(
                store,
                &citizen.account,
                which,
                &hashes[0],
                now,
            )?)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct PhoneIn {
    passcode: String,
    new_phone: String,
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
async fn phone_start(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(p): Json<PhoneIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let new_phone = phone(&p.new_phone)?;
    check_passcode(&state, &citizen.account, &p.passcode).await?;
    let now = state.now();
    let s = state.accounts.clone();
    let handle = state
        .blocking(move |store| {
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

#[derive(Deserialize, ToSchema)]
struct PhoneConfirmIn {
    handle: String,
    code_old: String,
    code_new: String,
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
async fn phone_confirm(
    State(state): State<AppState>,
    citizen: Citizen,
    Json(p): Json<PhoneConfirmIn>,
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

#[derive(Deserialize, ToSchema)]
struct ResetIn {
    personal_id: String,
    phone: String,
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
async fn reset_start(
    State(state): State<AppState>,
    Json(r): Json<ResetIn>,
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

#[derive(Deserialize, ToSchema)]
struct ResetConfirmIn {
    handle: String,
    code: String,
    password: String,
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
async fn reset_confirm(
    State(state): State<AppState>,
    Json(r): Json<ResetConfirmIn>,
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

// ----------------------------------------------------------------------------------------------
// Intake devices

#[derive(Deserialize, ToSchema)]
struct PacketIn {
    packet: String,
    signature: String,
}

/// An intake device sends a signed application. The device is known by the id inside the
/// packet; nothing else in it is read before the signature checks out with that device's key.
#[utoipa::path(
    post,
    path = "/api/v1/intake/applications",
    tag = "accounts",
    summary = "An Ed25519-signed application packet from a registered intake device (audited).",
    request_body = PacketIn,
    responses(
        (status = 201, description = "`{application, review_reason}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
)]
async fn intake(
    State(state): State<AppState>,
    Json(p): Json<PacketIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let device_id = eid_core::intake::claimed_device(&p.packet)
        .map_err(|e| AppError::from(Refusal::BadPacket(e.to_string())))?;
    let now = state.now();
    let s = state.accounts.clone();
    let rid = request_id();
    let collected = state
        .blocking(move |store| {
            let device = acc::device(store, device_id)?.ok_or(Refusal::DeviceUnknown)?;
            let key: [u8; 32] = device
                .public_key
                .clone()
                .try_into()
                .map_err(|_| AppError::Internal("stored device key is not 32 bytes".into()))?;
            let verified = eid_core::intake::verify(&p.packet, &p.signature, &key);
            let actor = eid_core::Actor::Cli(format!("device:{device_id}"));
            let packet = match verified {
                Ok(packet) => packet,
                Err(e) => {
                    store.audit(
                        &actor,
                        "intake.packet",
                        &device_id.to_string(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(Refusal::BadPacket(e.to_string()).into());
                }
            };
            let out = acc::collect(store, &s, &device, &packet, now);
            let outcome = if out.is_ok() { "ok" } else { "denied" };
            store.audit(
                &actor,
                "intake.packet",
                packet.personal_id.as_str(),
                outcome,
                &rid,
                now,
            )?;
            Ok::<_, AppError>(out?)
        })
        .await?;
    state.dispatcher.wake();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "application": application_json(&collected.application),
            "review_reason": collected.review_reason,
        })),
    ))
}

// ----------------------------------------------------------------------------------------------
// Officers

/// The officer operations, shared by the API and the console. Each checks the caller's role
/// and unit, and audits what it did.
pub mod officer {
    use super::*;
    use eid_core::store::Role;
    use eid_domain::{Tree, UnitCode, Units};

    /// Writes one audit line with the request id `rid`, taken by the caller before the
    /// blocking closure (the request's task-local id is not visible on a blocking thread).
    fn audit(
        store: &dyn Store,
        caller: &Caller,
        action: &str,
        target: &str,
        outcome: &str,
        rid: &str,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        Ok(store.audit(&caller.actor, action, target, outcome, rid, now)?)
    }

    /// Audits an action's outcome (`ok` or `denied`) with the request id `rid` and passes its
    /// result on.
    pub fn audited<T, E: Into<AppError>>(
        store: &dyn Store,
        caller: &Caller,
        action: &str,
        target: &str,
        rid: &str,
        now: OffsetDateTime,
        r: Result<T, E>,
    ) -> Result<T, AppError> {
        let outcome = if r.is_ok() { "ok" } else { "denied" };
        audit(store, caller, action, target, outcome, rid, now)?;
        r.map_err(Into::into)
    }

    fn not_auditor(caller: &Caller) -> Result<(), AppError> {
        if caller.staff.role == Role::Auditor {
            return Err(AppError::ScopeDenied);
        }
        Ok(())
    }

    /// The unit to look inside: the caller's own, or one inside it.
    pub fn within(caller: &Caller, unit: Option<&str>) -> Result<UnitCode, AppError> {
        not_auditor(caller)?;
        let Some(raw) = unit.filter(|u| !u.trim().is_empty()) else {
            return Ok(caller.staff.unit);
        };
        let u = crate::access::parse_unit(raw, Tree::Gso2024)?;
        if !Units::get().contains(Tree::Gso2024, &caller.staff.unit, &u.code) {
            return Err(AppError::ScopeDenied);
        }
        Ok(u.code)
    }

    pub async fn applications(
        state: &AppState,
        caller: &Caller,
        unit: Option<&str>,
        app_state: Option<String>,
        day: Option<time::Date>,
        limit: u32,
    ) -> Result<Vec<Application>, AppError> {
        let within = within(caller, unit)?;
        let app_state = match app_state
            .as_deref()
            .map(eid_domain::ApplicationState::parse)
        {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => {
                return Err(bad(
                    "application.state",
                    "state is review, approved, code_sent, activated or rejected",
                ));
            }
        };
        let filter = acc::AppFilter {
            within,
            state: app_state,
            day: day.map(acc::day_number),
            limit: limit.clamp(1, 1000),
        };
        state
            .blocking(move |store| Ok(acc::applications(store, &filter)?))
            .await
    }

    /// An application the caller may see (collected inside their unit, or by a resident of it).
    pub async fn application(
        state: &AppState,
        caller: &Caller,
        id: i64,
    ) -> Result<Application, AppError> {
        not_auditor(caller)?;
        let a = state
            .blocking(move |store| Ok(acc::application(store, id)?))
            .await?
            .ok_or_else(|| {
                AppError::not_found("application.not_found", "no application has this id")
            })?;
        let units = Units::get();
        if !units.contains(Tree::Gso2024, &caller.staff.unit, &a.unit)
            && !caller.staff.sees(&a.commune)
        {
            return Err(AppError::ScopeDenied);
        }
        Ok(a)
    }

    /// Approve or reject an application, or re-send its code.
    pub async fn act(
        state: &AppState,
        caller: &Caller,
        id: i64,
        action: &str,
        reason: Option<String>,
    ) -> Result<Application, AppError> {
        not_auditor(caller)?;
        let now = state.now();
        let s = state.accounts.clone();
        let (caller, action, rid) = (caller.clone(), action.to_owned(), request_id());
        let out = state
            .blocking(move |store| {
                let r = match action.as_str() {
                    "approve" => {
                        acc::decide(store, &s, id, &caller.staff, acc::Decision::Approve, now)
                    }
                    "reject" => acc::decide(
                        store,
                        &s,
                        id,
                        &caller.staff,
                        acc::Decision::Reject(reason.as_deref().unwrap_or("")),
                        now,
                    ),
                    _ => acc::resend_activation(store, &s, id, &caller.staff, now),
                };
                audited(
                    store,
                    &caller,
                    &format!("application.{action}"),
                    &id.to_string(),
                    &rid,
                    now,
                    r,
                )
            })
            .await?;
        state.dispatcher.wake();
        Ok(out)
    }

    /// An account and its events, if the holder lives inside the caller's unit.
    pub async fn account(
        state: &AppState,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(Account, Vec<AccountEvent>), AppError> {
        not_auditor(caller)?;
        let id = parse_id(raw_id)?;
        let (now, rid) = (state.now(), request_id());
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let Some(a) = acc::sync_register_lock(store, &id, now)? else {
                    audit(
                        store,
                        &caller,
                        "account.read",
                        id.as_str(),
                        "failed",
                        &rid,
                        now,
                    )?;
                    return Err(AppError::not_found(
                        "account.not_found",
                        "this person has no account",
                    ));
                };
                if !caller.staff.sees(&a.commune) {
                    audit(
                        store,
                        &caller,
                        "account.read",
                        id.as_str(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(AppError::ScopeDenied);
                }
                audit(store, &caller, "account.read", id.as_str(), "ok", &rid, now)?;
                let events = acc::events(store, &id)?;
                Ok((a, events))
            })
            .await
    }

    /// Lock or unlock by an officer, with a reason.
    pub async fn lock(
        state: &AppState,
        caller: &Caller,
        raw_id: &str,
        lock: bool,
        reason: &str,
    ) -> Result<Account, AppError> {
        let (a, _) = account(state, caller, raw_id).await?;
        let now = state.now();
        let (caller, reason, rid) = (caller.clone(), reason.to_owned(), request_id());
        state
            .blocking(move |store| {
                let r = acc::set_lock(
                    store,
                    &a,
                    acc::LockBy::Officer(&caller.staff, &reason),
                    lock,
                    now,
                );
                let action = if lock {
                    "account.lock"
                } else {
                    "account.unlock"
                };
                audited(store, &caller, action, a.personal_id.as_str(), &rid, now, r)
            })
            .await
    }

    /// An officer changes the phone number (the holder came in person).
    pub async fn set_phone(
        state: &AppState,
        caller: &Caller,
        raw_id: &str,
        new_phone: &str,
        reason: &str,
    ) -> Result<Account, AppError> {
        let p = phone(new_phone)?;
        let (a, _) = account(state, caller, raw_id).await?;
        let now = state.now();
        let (caller, reason, rid) = (caller.clone(), reason.to_owned(), request_id());
        state
            .blocking(move |store| {
                let r = acc::officer_set_phone(store, &caller.staff, &a, &p, &reason, now);
                audited(
                    store,
                    &caller,
                    "account.phone",
                    a.personal_id.as_str(),
                    &rid,
                    now,
                    r,
                )
            })
            .await
    }

    pub async fn devices(
        state: &AppState,
        caller: &Caller,
        unit: Option<&str>,
    ) -> Result<Vec<Device>, AppError> {
        let within = within(caller, unit)?;
        state
            .blocking(move |store| Ok(acc::devices(store, &within)?))
            .await
    }

    /// Registers a device in a unit inside the caller's (district level and above register).
    pub async fn add_device(
        state: &AppState,
        caller: &Caller,
        name: &str,
        unit: &str,
        public_key_hex: &str,
        daily_capacity: u32,
    ) -> Result<Device, AppError> {
        let unit = within(caller, Some(unit))?;
        if caller.staff.role == Role::Commune {
            return Err(AppError::ScopeDenied);
        }
        let key = eid_core::intake::parse_public_key(public_key_hex)
            .map_err(|e| bad("device.public_key", e.to_string()))?;
        let now = state.now();
        let (caller, name, rid) = (caller.clone(), name.to_owned(), request_id());
        state
            .blocking(move |store| {
                let r = acc::add_device(
                    store,
                    &name,
                    &unit,
                    &key,
                    daily_capacity,
                    &caller.actor,
                    now,
                );
                audited(store, &caller, "device.add", unit.as_str(), &rid, now, r)
            })
            .await
    }

    pub async fn device_status(
        state: &AppState,
        caller: &Caller,
        id: i64,
        status: &str,
    ) -> Result<Device, AppError> {
        not_auditor(caller)?;
        if caller.staff.role == Role::Commune {
            return Err(AppError::ScopeDenied);
        }
        let now = state.now();
        let (caller, status, rid) = (caller.clone(), status.to_owned(), request_id());
        state
            .blocking(move |store| {
                let d = acc::device(store, id)?.ok_or_else(|| {
                    AppError::not_found("device.not_found", "no device has this id")
                })?;
                if !Units::get().contains(Tree::Gso2024, &caller.staff.unit, &d.unit) {
                    audit(
                        store,
                        &caller,
                        "device.status",
                        &id.to_string(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(AppError::ScopeDenied);
                }
                let r = acc::device_status(&status)
                    .and_then(|s| acc::set_device_status(store, id, s, &caller.actor, now));
                audited(
                    store,
                    &caller,
                    "device.status",
                    &id.to_string(),
                    &rid,
                    now,
                    r,
                )
            })
            .await
    }

    /// The SMS outbox; only while the development sink is the sender (a real gateway's
    /// messages are not for staff to read), and only to ministry-level staff (the messages
    /// carry live codes for people anywhere).
    pub async fn sms(state: &AppState, caller: &Caller, limit: u32) -> Result<Vec<Sms>, AppError> {
        if caller.staff.role != Role::Ministry {
            return Err(AppError::ScopeDenied);
        }
        if state.sms.name() != "dev-sink" {
            return Err(AppError::not_found(
                "sms.not_development",
                "the SMS outbox is shown only with the development sink",
            ));
        }
        state
            .blocking(move |store| Ok(acc::sms_list(store, limit.clamp(1, 500))?))
            .await
    }

    /// Records a guardian of a child who lives inside the caller's unit.
    pub async fn add_guardian(
        state: &AppState,
        caller: &Caller,
        child: &str,
        guardian: &str,
        relation: &str,
    ) -> Result<(), AppError> {
        not_auditor(caller)?;
        let child = parse_id(child)?;
        let guardian = parse_id(guardian)?;
        let now = state.now();
        let (caller, relation, rid) = (caller.clone(), relation.to_owned(), request_id());
        state
            .blocking(move |store| {
                let c = store.person(&child)?.ok_or_else(|| {
                    AppError::not_found("person.not_found", "no person has this personal ID")
                })?;
                if !caller.staff.sees(&c.person.residence.unit) {
                    audit(
                        store,
                        &caller,
                        "guardian.add",
                        child.as_str(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(AppError::ScopeDenied);
                }
                let r =
                    acc::record_guardian(store, &child, &guardian, &relation, &caller.actor, now);
                audited(store, &caller, "guardian.add", child.as_str(), &rid, now, r)
            })
            .await
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    unit: Option<String>,
    state: Option<String>,
    day: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "accounts",
    summary = "Applications collected inside the caller's unit.",
    params(ListQuery),
    responses(
        (status = 200, description = "`{applications: [...]}` (a JSON object built by hand: id, personal_id, phone masked, match, unit, commune, state, …).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn list_applications(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let day = match q.day.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Some(
            eid_domain::parse_iso_date(d)
                .ok_or_else(|| bad("day.invalid", "day is a date, YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let apps = officer::applications(
        &state,
        &caller,
        q.unit.as_deref(),
        q.state.filter(|s| !s.is_empty()),
        day,
        q.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(json!({
        "applications": apps.iter().map(application_json).collect::<Vec<_>>()
    })))
}

fn parse_num(raw: &str, what: &'static str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found(what, "no such id"))
}

#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}",
    tag = "accounts",
    summary = "One application.",
    params(("id" = i64, Path, description = "The application's id.")),
    responses(
        (status = 200, description = "`{application}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn get_application(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "application.not_found")?;
    let a = officer::application(&state, &caller, id).await?;
    Ok(Json(json!({ "application": application_json(&a) })))
}

#[derive(Deserialize, Default, ToSchema)]
struct ReasonIn {
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/approve",
    tag = "accounts",
    summary = "Approves a review (an officer above the collecting unit); the activation code is sent (audited).",
    params(("id" = i64, Path, description = "The application's id.")),
    responses(
        (status = 200, description = "`{application}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn approve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "application.not_found")?;
    let a = officer::act(&state, &caller, id, "approve", None).await?;
    Ok(Json(json!({ "application": application_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/reject",
    tag = "accounts",
    summary = "Rejects an application with a reason (audited).",
    params(("id" = i64, Path, description = "The application's id.")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "`{application}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn reject(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(r): Json<ReasonIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "application.not_found")?;
    let a = officer::act(&state, &caller, id, "reject", r.reason).await?;
    Ok(Json(json!({ "application": application_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/resend",
    tag = "accounts",
    summary = "Sends a new activation code, up to the limit (audited).",
    params(("id" = i64, Path, description = "The application's id.")),
    responses(
        (status = 200, description = "`{application}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn resend(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "application.not_found")?;
    let a = officer::act(&state, &caller, id, "resend", None).await?;
    Ok(Json(json!({ "application": application_json(&a) })))
}

#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    summary = "An account and its events (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    responses(
        (status = 200, description = "`{account, events}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn get_account(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let (a, events) = officer::account(&state, &caller, &id).await?;
    Ok(Json(json!({
        "account": account_json(&a),
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/lock",
    tag = "accounts",
    summary = "An officer's lock, with a reason (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn officer_lock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(r): Json<ReasonIn>,
) -> Result<Json<Value>, AppError> {
    let a = officer::lock(
        &state,
        &caller,
        &id,
        true,
        r.reason.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/unlock",
    tag = "accounts",
    summary = "Lifts the officer's lock, with a reason (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn officer_unlock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(r): Json<ReasonIn>,
) -> Result<Json<Value>, AppError> {
    let a = officer::lock(
        &state,
        &caller,
        &id,
        false,
        r.reason.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[derive(Deserialize, ToSchema)]
struct OfficerPhoneIn {
    phone: String,
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/phone",
    tag = "accounts",
    summary = "Changes the phone number: the holder came in person (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    request_body = OfficerPhoneIn,
    responses(
        (status = 200, description = "\"`{account}`: the account (a JSON object built by hand, not a typed schema: personal_id, level, state, locks, phone masked, commune, created_at, activated_at, …).\"", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn officer_phone(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(p): Json<OfficerPhoneIn>,
) -> Result<Json<Value>, AppError> {
    let a = officer::set_phone(&state, &caller, &id, &p.phone, &p.reason).await?;
    Ok(Json(json!({ "account": account_json(&a) })))
}

#[derive(Deserialize, ToSchema)]
struct GuardianIn {
    guardian_id: String,
    relation: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/persons/{id}/guardians",
    tag = "accounts",
    summary = "Records a guardian of a child living inside the caller's unit (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    request_body = GuardianIn,
    responses(
        (status = 204, description = "Recorded."),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn add_guardian(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(g): Json<GuardianIn>,
) -> Result<StatusCode, AppError> {
    officer::add_guardian(&state, &caller, &id, &g.guardian_id, &g.relation).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeviceQuery {
    unit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "accounts",
    summary = "Intake devices inside the caller's unit.",
    params(DeviceQuery),
    responses(
        (status = 200, description = "`{devices: [...]}` (a JSON object built by hand: id, name, unit, public_key, daily_capacity, status, created_at).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn list_devices(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Value>, AppError> {
    let devices = officer::devices(&state, &caller, q.unit.as_deref()).await?;
    Ok(Json(json!({
        "devices": devices.iter().map(device_json).collect::<Vec<_>>()
    })))
}

#[derive(Deserialize, ToSchema)]
struct DeviceIn {
    name: String,
    unit: String,
    public_key: String,
    daily_capacity: u32,
}

#[utoipa::path(
    post,
    path = "/api/v1/devices",
    tag = "accounts",
    summary = "Registers an intake device (district level and above; audited).",
    request_body = DeviceIn,
    responses(
        (status = 201, description = "`{device}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn add_device(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(d): Json<DeviceIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let d = officer::add_device(
        &state,
        &caller,
        &d.name,
        &d.unit,
        &d.public_key,
        d.daily_capacity,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "device": device_json(&d) })),
    ))
}

#[derive(Deserialize, ToSchema)]
struct StatusIn {
    status: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/status",
    tag = "accounts",
    summary = "Suspends, reactivates or retires a device (audited).",
    params(("id" = i64, Path, description = "The device's id.")),
    request_body = StatusIn,
    responses(
        (status = 200, description = "`{device}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn device_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(s): Json<StatusIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "device.not_found")?;
    let d = officer::device_status(&state, &caller, id, &s.status).await?;
    Ok(Json(json!({ "device": device_json(&d) })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SmsQuery {
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/sms",
    tag = "accounts",
    summary = "The SMS outbox, with the development sink only.",
    params(SmsQuery),
    responses(
        (status = 200, description = "`{sender, messages: [...]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn list_sms(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<SmsQuery>,
) -> Result<Json<Value>, AppError> {
    let msgs = officer::sms(&state, &caller, q.limit.unwrap_or(50)).await?;
    Ok(Json(json!({
        "sender": state.sms.name(),
        "messages": msgs.iter().map(sms_json).collect::<Vec<_>>(),
    })))
}

// ----------------------------------------------------------------------------------------------
// The outbox as the SMS dispatcher sees it

/// The store's outbox behind [`crate::sms::OutboxStore`].
pub struct StoreOutbox {
    pub store: Arc<dyn Store>,
    /// Keep a sent message's text (the development sink, whose messages staff read).
    pub keep_body: bool,
}

impl crate::sms::OutboxStore for StoreOutbox {
    fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::sms::OutboxMessage>, String> {
        let msgs = acc::sms_due(self.store.as_ref(), now, limit).map_err(|e| e.to_string())?;
        Ok(msgs
            .into_iter()
            .map(|m| crate::sms::OutboxMessage {
                id: m.id,
                to: m.to,
                body: m.body,
                attempts: m.attempts,
            })
            .collect())
    }

    fn record(
        &self,
        id: i64,
        outcome: &crate::sms::SendOutcome,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        acc::sms_record(self.store.as_ref(), id, outcome, now, self.keep_body)
            .map_err(|e| e.to_string())
    }
}
