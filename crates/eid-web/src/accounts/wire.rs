//! The account API's wire: JSON views of accounts, events, applications, devices and
//! messages, the request bodies and queries, and the input checks on them.

use base64::Engine as _;
use eid_core::accounts::{self as acc, Account, AccountEvent, Application, Device, Sms};
use eid_core::secret::{check_password_policy, hash_password};
use eid_domain::PhoneNumber;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

use super::MAX_PHOTO_BYTES;

// ----------------------------------------------------------------------------------------------
// Wire views

pub(crate) use crate::wire::rfc3339;

pub(crate) fn masked(phone: &str) -> String {
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

pub(super) fn bad(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::bad(code, message)
}

pub(crate) fn phone(raw: &str) -> Result<PhoneNumber, AppError> {
    PhoneNumber::parse(raw).map_err(|e| bad("phone.invalid", e.to_string()))
}

pub(crate) fn passcode_ok(p: &str) -> Result<(), AppError> {
    if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad("passcode.invalid", "the passcode is exactly 6 digits"))
    }
}

pub(crate) fn password_ok(p: &str) -> Result<(), AppError> {
    check_password_policy(p).map_err(|why| bad("password.policy", why))
}

pub(crate) fn code_ok(c: &str) -> Result<(), AppError> {
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad("code.format", "a code is 6 digits"))
    }
}

/// The hash of the app's device identifier (the store never keeps the identifier itself).
pub(super) fn device_hash(raw: &str) -> Result<Vec<u8>, AppError> {
    acc::device_hash(raw).map_err(|why| bad("device_id.invalid", why))
}

pub(crate) fn photo(b64: &str) -> Result<Vec<u8>, AppError> {
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
pub(crate) async fn hash_secrets(secrets: Vec<String>) -> Result<Vec<String>, AppError> {
    tokio::task::spawn_blocking(move || {
        secrets
            .iter()
            .map(|s| hash_password(s).map_err(AppError::Internal))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))?
}

// ----------------------------------------------------------------------------------------------
// Request bodies and queries

#[derive(Deserialize, ToSchema)]
pub(super) struct RegisterIn {
    pub(super) personal_id: String,
    pub(super) phone: String,
    pub(super) photo_base64: String,
    pub(super) device_id: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ConfirmIn {
    pub(super) handle: String,
    pub(super) code: String,
    pub(super) password: String,
    pub(super) passcode: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ActivateIn {
    pub(super) personal_id: String,
    pub(super) code: String,
    pub(super) password: String,
    pub(super) passcode: String,
    pub(super) device_id: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct UpgradeIn {
    pub(super) passcode: String,
    pub(super) photo_base64: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ChildIn {
    pub(super) passcode: String,
    pub(super) child_personal_id: String,
    pub(super) child_password: String,
    pub(super) child_passcode: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SignInIn {
    pub(super) personal_id: String,
    pub(super) password: String,
    pub(super) device_id: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct CodeIn {
    pub(super) handle: String,
    pub(super) code: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PasscodeIn {
    pub(super) passcode: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct UnlockIn {
    pub(super) personal_id: String,
    pub(super) password: String,
    pub(super) passcode: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewPasscodeIn {
    pub(super) passcode: String,
    pub(super) new_passcode: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct NewPasswordIn {
    pub(super) passcode: String,
    pub(super) new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PhoneIn {
    pub(super) passcode: String,
    pub(super) new_phone: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PhoneConfirmIn {
    pub(super) handle: String,
    pub(super) code_old: String,
    pub(super) code_new: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ResetIn {
    pub(super) personal_id: String,
    pub(super) phone: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ResetConfirmIn {
    pub(super) handle: String,
    pub(super) code: String,
    pub(super) password: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PacketIn {
    pub(super) packet: String,
    pub(super) signature: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    pub(super) unit: Option<String>,
    pub(super) state: Option<String>,
    pub(super) day: Option<String>,
    pub(super) limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct OfficerPhoneIn {
    pub(super) phone: String,
    pub(super) reason: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct GuardianIn {
    pub(super) guardian_id: String,
    pub(super) relation: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeviceQuery {
    pub(super) unit: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct DeviceIn {
    pub(super) name: String,
    pub(super) unit: String,
    pub(super) public_key: String,
    pub(super) daily_capacity: u32,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct StatusIn {
    pub(super) status: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SmsQuery {
    pub(super) limit: Option<u32>,
}
