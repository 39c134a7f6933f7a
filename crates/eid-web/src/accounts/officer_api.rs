//! The officers' HTTP handlers (`/api/v1/applications`, `/api/v1/accounts`, `/api/v1/devices`,
//! `/api/v1/sms`): each parses, calls [`super::officer`] and renders.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

use super::wire::*;

use super::officer;

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
pub(super) async fn list_applications(
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
pub(super) async fn get_application(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "application.not_found")?;
    let a = officer::application(&state, &caller, id).await?;
    Ok(Json(json!({ "application": application_json(&a) })))
}

#[derive(Deserialize, Default, ToSchema)]
pub(super) struct ReasonIn {
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
pub(super) async fn approve(
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
pub(super) async fn reject(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<ReasonIn>,
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
pub(super) async fn resend(
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
pub(super) async fn get_account(
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
pub(super) async fn officer_lock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<ReasonIn>,
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
pub(super) async fn officer_unlock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<ReasonIn>,
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
pub(super) async fn officer_phone(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<OfficerPhoneIn>,
) -> Result<Json<Value>, AppError> {
    let a = officer::set_phone(&state, &caller, &id, &p.phone, &p.reason).await?;
    Ok(Json(json!({ "account": account_json(&a) })))
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
pub(super) async fn add_guardian(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(g): JsonBody<GuardianIn>,
) -> Result<StatusCode, AppError> {
    officer::add_guardian(&state, &caller, &id, &g.guardian_id, &g.relation).await?;
    Ok(StatusCode::NO_CONTENT)
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
pub(super) async fn list_devices(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Value>, AppError> {
    let devices = officer::devices(&state, &caller, q.unit.as_deref()).await?;
    Ok(Json(json!({
        "devices": devices.iter().map(device_json).collect::<Vec<_>>()
    })))
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
pub(super) async fn add_device(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(d): JsonBody<DeviceIn>,
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
pub(super) async fn device_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(s): JsonBody<StatusIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_num(&id, "device.not_found")?;
    let d = officer::device_status(&state, &caller, id, &s.status).await?;
    Ok(Json(json!({ "device": device_json(&d) })))
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
pub(super) async fn list_sms(
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
