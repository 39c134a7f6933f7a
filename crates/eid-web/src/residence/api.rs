//! The residence procedures as JSON (issue 14), for the citizen's app or system and for the
//! commune police's own systems:
//! - `/api/v1/app/residence…` with the citizen's app session (`Authorization: Bearer`, the
//!   `citizen` scheme): list one's requests, read one with its clock, steps and question, file a
//!   request without scans (scans go through `/me/residence`), answer a question.
//! - `/api/v1/residence…` with a staff API token: the queue of the caller's units, one request,
//!   assign, ask, approve, refuse — the same use cases as the console, scoped by unit and audited
//!   by the core (`residence.assign`, `.ask`, `.approve`, `.refuse`).
//!
//! Errors are the API's JSON errors with their stable codes (`residence.not_found`,
//! `residence.duplicate`, `residence.term_too_long`, `scope.denied`, …).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use eid_core::residence::officer::{self, Filter};
use eid_core::residence::{requests, Applicant, NewRequest, Request, Step};
use eid_core::Acting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::Citizen;
use crate::auth::ApiCaller;
use crate::error::{request_id, AppError};
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;
use crate::wire::rfc3339;

/// The legal clock as of today, in working days.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceClock)]
pub struct ClockJson {
    /// Working days used since the clock started (the filing, or the last answer).
    pub used: i64,
    /// Working days left to the due date (negative when overdue).
    pub left: i64,
    pub overdue: bool,
}

/// A residence request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceRequest)]
pub struct RequestJson {
    pub id: i64,
    /// `temporary`, `renewal`, `permanent`, `absence`, `split` or `deregister`.
    pub procedure: &'static str,
    /// `submitted`, `assigned`, `more_info`, `approved` or `refused`.
    pub state: &'static str,
    /// The commune whose police decide (5 digits, 2024 tree).
    pub commune: String,
    pub commune_name: String,
    /// The address the request is about (a temporary absence's destination when given).
    pub address: String,
    /// The end of the term or of the absence, `YYYY-MM-DD`.
    pub until: Option<String>,
    pub note: String,
    /// A split: the members who move with the applicant.
    pub members: Vec<String>,
    /// Legal processing time, working days.
    pub legal_days: u32,
    /// The online fee, VND.
    pub fee_vnd: i64,
    pub submitted_at: String,
    /// The due date, `YYYY-MM-DD`.
    pub due: String,
    pub clock: ClockJson,
    /// The officer's open question.
    pub asked: Option<String>,
    pub decided_at: Option<String>,
    /// The refusal's reason, or what the approval changed.
    pub outcome: Option<String>,
}

/// An attachment, as listed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceFile)]
pub struct FileJson {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

/// One step of a request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceStep)]
pub struct StepJson {
    /// `submitted`, `assigned`, `asked`, `answered`, `approved`, `refused`.
    pub kind: String,
    /// `citizen` or `police`.
    pub by: &'static str,
    pub body: String,
    pub at: String,
    pub files: Vec<FileJson>,
}

/// A request with its steps.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceRequestDetail)]
pub struct DetailJson {
    pub request: RequestJson,
    pub steps: Vec<StepJson>,
}

/// A list of requests.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceRequests)]
pub struct ListJson {
    pub requests: Vec<RequestJson>,
}

/// A request of the queue, with the applicant's personal ID (staff only).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceQueueItem)]
pub struct QueueItemJson {
    pub personal_id: String,
    #[serde(flatten)]
    pub request: RequestJson,
}

/// The queue of the caller's units.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidenceQueue)]
pub struct QueueJson {
    pub requests: Vec<QueueItemJson>,
}

/// A request as filed by the app (no scans: those go through the citizen's pages).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResidenceRequestIn)]
pub struct NewJson {
    /// `temporary`, `renewal`, `permanent`, `absence`, `split` or `deregister`.
    pub procedure: String,
    /// The commune's code (temporary and permanent residence).
    #[serde(default)]
    pub commune: String,
    /// The address (temporary and permanent residence; a temporary absence's destination).
    #[serde(default)]
    pub address: String,
    /// The end of the term (temporary residence, renewal; at most 2 years on) or of the
    /// absence, `YYYY-MM-DD`.
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub note: String,
    /// A household split: the personal IDs of the household's members who move too.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A text: an answer, a question, a reason, an officer's username.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResidenceText)]
pub struct TextJson {
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open` (default), `overdue`, `closed` or `all`.
    pub filter: Option<String>,
}

fn request_json(r: &Request, today: time::Date) -> RequestJson {
    let c = r.clock(today);
    RequestJson {
        id: r.id,
        procedure: r.procedure.as_str(),
        state: r.state.as_str(),
        commune: r.commune.as_str().to_owned(),
        commune_name: super::unit_name(&r.commune),
        address: r.address.clone(),
        until: r.until.map(eid_domain::iso),
        note: r.note.clone(),
        members: r.members.clone(),
        legal_days: r.legal_days,
        fee_vnd: r.fee_vnd,
        submitted_at: rfc3339(r.submitted_at),
        due: eid_domain::iso(r.due),
        clock: ClockJson {
            used: c.used,
            left: c.left,
            overdue: c.overdue,
        },
        asked: r.asked.clone(),
        decided_at: r.decided_at.map(rfc3339),
        outcome: r.outcome.clone(),
    }
}

fn detail_json(r: &Request, steps: &[Step], today: time::Date) -> DetailJson {
    DetailJson {
        request: request_json(r, today),
        steps: steps
            .iter()
            .map(|s| StepJson {
                kind: s.kind.clone(),
                by: if s.actor == "citizen" {
                    "citizen"
                } else {
                    "police"
                },
                body: s.body.clone(),
                at: rfc3339(s.at),
                files: s
                    .files
                    .iter()
                    .map(|f| FileJson {
                        id: f.id,
                        name: f.name.clone(),
                        mime: f.mime.clone(),
                        size: f.size,
                        sha256: f.sha256.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found("residence.not_found", "no such request"))
}

fn applicant(c: &Citizen) -> Applicant {
    Applicant {
        personal_id: c.account.personal_id,
        level: c.account.level,
    }
}

// ----------------------------------------------------------------------------------------------
// The citizen

#[utoipa::path(
    operation_id = "residence_my_list",
    get,
    path = "/api/v1/app/residence",
    tag = "residence",
    summary = "The holder's residence requests, newest first.",
    responses((status = 200, description = "The requests.", body = ListJson), Errors),
    security(("citizen" = [])),
)]
pub(super) async fn my_list(
    State(state): State<AppState>,
    citizen: Citizen,
) -> Result<Json<ListJson>, AppError> {
    let pid = citizen.account.personal_id;
    let today = state.today();
    let mine = state
        .read(move |store| Ok(requests::mine(store, &pid)?))
        .await?;
    Ok(Json(ListJson {
        requests: mine.iter().map(|r| request_json(r, today)).collect(),
    }))
}

#[utoipa::path(
    operation_id = "residence_my_one",
    get,
    path = "/api/v1/app/residence/{id}",
    tag = "residence",
    summary = "One of the holder's requests with its clock, steps and open question.",
    params(("id" = i64, Path, description = "The request's id.")),
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("citizen" = [])),
)]
pub(super) async fn my_one(
    State(state): State<AppState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Result<Json<DetailJson>, AppError> {
    let id = parse_id(&id)?;
    let pid = citizen.account.personal_id;
    let today = state.today();
    let (r, steps) = state
        .read(move |store| Ok(requests::one_mine(store, &pid, id)?))
        .await?;
    Ok(Json(detail_json(&r, &steps, today)))
}

#[utoipa::path(
    operation_id = "residence_my_submit",
    post,
    path = "/api/v1/app/residence",
    tag = "residence",
    summary = "Files a request (a level-2 account; without scans, which the citizen's pages take).",
    request_body = NewJson,
    responses((status = 201, description = "The request as filed.", body = DetailJson), Errors),
    security(("citizen" = [])),
)]
pub(super) async fn my_submit(
    State(state): State<AppState>,
    citizen: Citizen,
    JsonBody(body): JsonBody<NewJson>,
) -> Result<(StatusCode, Json<DetailJson>), AppError> {
    let who = applicant(&citizen);
    let now = state.now();
    let today = state.today();
    let form = NewRequest {
        procedure: body.procedure,
        commune: body.commune,
        address: body.address,
        until: body.until,
        note: body.note,
        members: body.members.join(" "),
    };
    let (r, steps) = state
        .blocking(move |store| {
            let id = requests::submit(store, &who, &form, &[], now)?;
            Ok(requests::one_mine(store, &who.personal_id, id)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(detail_json(&r, &steps, today))))
}

#[utoipa::path(
    operation_id = "residence_my_answer",
    post,
    path = "/api/v1/app/residence/{id}/answer",
    tag = "residence",
    summary = "Answers the police's question (the legal clock starts again).",
    params(("id" = i64, Path, description = "The request's id.")),
    request_body = TextJson,
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("citizen" = [])),
)]
pub(super) async fn my_answer(
    State(state): State<AppState>,
    citizen: Citizen,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextJson>,
) -> Result<Json<DetailJson>, AppError> {
    let id = parse_id(&id)?;
    let who = applicant(&citizen);
    let now = state.now();
    let today = state.today();
    let (r, steps) = state
        .blocking(move |store| {
            requests::answer(store, &who, id, &body.text, &[], now)?;
            Ok(requests::one_mine(store, &who.personal_id, id)?)
        })
        .await?;
    Ok(Json(detail_json(&r, &steps, today)))
}

// ----------------------------------------------------------------------------------------------
// The police

#[utoipa::path(
    operation_id = "residence_queue",
    get,
    path = "/api/v1/residence",
    tag = "residence",
    summary = "The requests of the caller's units, oldest due first (at most 500).",
    params(QueueQuery),
    responses((status = 200, description = "The queue.", body = QueueJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn queue(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<QueueQuery>,
) -> Result<Json<QueueJson>, AppError> {
    let filter = Filter::parse(q.filter.as_deref().unwrap_or("open"));
    let today = state.today();
    let list = state
        .read(move |store| Ok(officer::queue(store, &caller, filter, today)?))
        .await?;
    Ok(Json(QueueJson {
        requests: list
            .iter()
            .map(|r| QueueItemJson {
                personal_id: r.personal_id.clone(),
                request: request_json(r, today),
            })
            .collect(),
    }))
}

#[utoipa::path(
    operation_id = "residence_one",
    get,
    path = "/api/v1/residence/{id}",
    tag = "residence",
    summary = "One request of the caller's units with its steps.",
    params(("id" = i64, Path, description = "The request's id.")),
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn one(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DetailJson>, AppError> {
    let id = parse_id(&id)?;
    let today = state.today();
    let (r, steps) = state
        .read(move |store| Ok(officer::one_as(store, &caller, id)?))
        .await?;
    Ok(Json(detail_json(&r, &steps, today)))
}

/// Runs one officer action and answers the request as it is after it.
async fn act(
    state: &AppState,
    caller: eid_core::Caller,
    id: &str,
    action: &'static str,
    text: String,
) -> Result<Json<DetailJson>, AppError> {
    let id = parse_id(id)?;
    let today = state.today();
    let acting = Acting::new(caller, request_id(), state.now());
    let (r, steps) = state
        .blocking(move |store| {
            match action {
                "assign" => officer::assign(store, &acting, id, &text)?,
                "ask" => officer::ask(store, &acting, id, &text)?,
                "approve" => officer::approve(store, &acting, id)?,
                _ => officer::refuse(store, &acting, id, &text)?,
            }
            Ok(officer::one_as(store, &acting.caller, id)?)
        })
        .await?;
    Ok(Json(detail_json(&r, &steps, today)))
}

#[utoipa::path(
    operation_id = "residence_assign",
    post,
    path = "/api/v1/residence/{id}/assign",
    tag = "residence",
    summary = "Assigns the request to an officer of its commune (`text`: a username, or empty for the caller; audited).",
    params(("id" = i64, Path, description = "The request's id.")),
    request_body = TextJson,
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextJson>,
) -> Result<Json<DetailJson>, AppError> {
    act(&state, caller, &id, "assign", body.text).await
}

#[utoipa::path(
    operation_id = "residence_ask",
    post,
    path = "/api/v1/residence/{id}/ask",
    tag = "residence",
    summary = "Asks the citizen for more (`text`: what is missing; the citizen is told by SMS; audited).",
    params(("id" = i64, Path, description = "The request's id.")),
    request_body = TextJson,
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn ask(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextJson>,
) -> Result<Json<DetailJson>, AppError> {
    act(&state, caller, &id, "ask", body.text).await
}

#[utoipa::path(
    operation_id = "residence_approve",
    post,
    path = "/api/v1/residence/{id}/approve",
    tag = "residence",
    summary = "Approves the request: the register changes through the person's events (audited).",
    params(("id" = i64, Path, description = "The request's id.")),
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn approve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<DetailJson>, AppError> {
    act(&state, caller, &id, "approve", String::new()).await
}

#[utoipa::path(
    operation_id = "residence_refuse",
    post,
    path = "/api/v1/residence/{id}/refuse",
    tag = "residence",
    summary = "Refuses the request (`text`: the reason the citizen reads; audited).",
    params(("id" = i64, Path, description = "The request's id.")),
    request_body = TextJson,
    responses((status = 200, description = "The request.", body = DetailJson), Errors),
    security(("bearer" = [])),
)]
pub(super) async fn refuse(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextJson>,
) -> Result<Json<DetailJson>, AppError> {
    act(&state, caller, &id, "refuse", body.text).await
}
