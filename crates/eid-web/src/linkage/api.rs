//! The linkage handlers.

use axum::extract::{Path, Query, State};
use axum::Json;
use eid_core::Acting;
use serde_json::{json, Value};

use super::wire::{result_json, DecisionIn, ResultsQuery};
use crate::auth::ApiCaller;
use crate::error::{request_id, AppError};
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/linkage/results",
    tag = "linkage",
    summary = "Decisions on sector rows of one outcome within a unit of the caller's scope, newest first (audited).",
    params(ResultsQuery),
    responses(
        (status = 200, description = "`{outcome, results: [{id, source, line, row_id, outcome, method, personal_id, alternative_id, score, received_on, attributes}]}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ResultsQuery>,
) -> Result<Json<Value>, AppError> {
    let outcome = q.outcome.clone();
    let acting = Acting::new(caller, request_id(), state.now());
    let rows = state
        .blocking(move |store| {
            eid_core::linkage::service::results(
                store,
                &acting,
                &q.outcome,
                q.unit.as_deref(),
                q.limit.unwrap_or(100),
            )
            .map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "outcome": outcome,
        "results": rows.iter().map(|r| result_json(r, false)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/results/{id}",
    tag = "linkage",
    summary = "One decision with its breakdown: per field the comparison level, its weight (log2 m/u) and term-frequency adjustment, the prior and the total (audited).",
    params(("id" = i64, Path, description = "The result's id.")),
    responses(
        (status = 200, description = "The decision and `explanation: {method, fields: [{field, level, weight, adjustment}], prior, total, probability, alternative}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn result(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("link.not_found", "no such result"))?;
    let acting = Acting::new(caller, request_id(), state.now());
    let r = state
        .blocking(move |store| {
            eid_core::linkage::service::result(store, &acting, id).map_err(Into::into)
        })
        .await?;
    Ok(Json(result_json(&r, true)))
}

/// The verdict of a decision as the core takes it; `same` with no person names the result's own.
pub(crate) fn verdict(
    verdict: &str,
    personal_id: Option<&str>,
) -> Result<eid_core::linkage::decide::Verdict, AppError> {
    use eid_core::linkage::decide::Verdict;
    match verdict {
        "different" => Ok(Verdict::Different),
        "same" => match personal_id.map(str::trim).filter(|p| !p.is_empty()) {
            None => Ok(Verdict::Proposed),
            Some(p) => eid_domain::PersonalId::parse(p)
                .map(Verdict::Same)
                .map_err(|_| AppError::BadRequest {
                    code: "person.bad_id",
                    message: "a personal ID is 12 digits".into(),
                }),
        },
        _ => Err(AppError::BadRequest {
            code: "link.bad_verdict",
            message: "verdict is same or different".into(),
        }),
    }
}

/// Runs a decision.
pub(crate) async fn run_decision(
    state: &AppState,
    acting: Acting,
    id: i64,
    verdict: eid_core::linkage::decide::Verdict,
    reason: String,
) -> Result<eid_core::linkage::service::LinkResult, AppError> {
    state
        .blocking(move |store| {
            eid_core::linkage::decide::decide(store, &acting, id, &verdict, &reason)
                .map_err(Into::into)
        })
        .await
}

#[utoipa::path(
    post,
    path = "/api/v1/linkage/results/{id}/decision",
    tag = "linkage",
    summary = "Decides a review or a conflict: `same` (linked to a register person in the caller's units; the proposed one by default) or `different`, with a reason. Reused when the same row comes again from the same source (audited).",
    params(("id" = i64, Path, description = "The result's id.")),
    request_body = DecisionIn,
    responses(
        (status = 200, description = "The result as it stands after the decision, with `decision: {id, result_id, verdict, personal_id, reason, actor, at}`.", body = Object),
        (status = 409, description = "`link.already_decided`: decided already, or by someone else at the same moment.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn decision(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionIn>,
) -> Result<Json<Value>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("link.not_found", "no such result"))?;
    let v = verdict(&body.verdict, body.personal_id.as_deref())?;
    let acting = Acting::new(caller, request_id(), state.now());
    let r = run_decision(&state, acting, id, v, body.reason).await?;
    Ok(Json(result_json(&r, true)))
}
