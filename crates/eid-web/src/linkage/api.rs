//! The linkage handlers.

use axum::extract::{Path, Query, State};
use axum::Json;
use eid_core::Acting;
use serde_json::{json, Value};

use super::wire::{result_json, ResultsQuery};
use crate::auth::ApiCaller;
use crate::error::{request_id, AppError};
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
