//! The JSON API under `/api/v1`, authenticated by bearer tokens.
//!
//! Handlers are thin: take the raw input, let [`crate::access`] parse, check scope, call the
//! store and audit, then convert to the wire structs of [`crate::wire`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::access::{self, SearchParams};
use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::state::AppState;
use crate::wire::{
    AuditJson, EventJson, HistoryJson, MeJson, PersonJson, SearchJson, UnitJson, UnitMatchesJson,
    UnitRefJson,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/persons", get(search))
        .route("/api/v1/persons/{id}", get(person))
        .route("/api/v1/persons/{id}/history", get(history))
        .route("/api/v1/units", get(units_by_name))
        .route("/api/v1/units/{code}", get(unit))
        .route("/api/v1/audit", get(audit))
}

/// Units whose folded name (with or without its type word: Tỉnh, Huyện, Xã …) is the query.
/// Unit names are public reference data: any signed-in caller may look them up.
async fn units_by_name(
    ApiCaller(_caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<UnitMatchesJson>, AppError> {
    let tree = access::parse_tree(q.get("tree").map(String::as_str))?;
    let name = q.get("name").map(String::as_str).unwrap_or("").trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 1 {
        return Err(AppError::bad(
            "unit.name_required",
            "give a unit name to look up",
        ));
    }
    let units = eid_domain::Units::get().find_by_name(tree, name);
    Ok(Json(UnitMatchesJson {
        tree: tree.as_str(),
        units: units.into_iter().take(100).map(UnitRefJson::new).collect(),
    }))
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

async fn me(ApiCaller(caller): ApiCaller) -> Json<MeJson> {
    Json(MeJson::new(&caller.staff, &caller.actor))
}

async fn person(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PersonJson>, AppError> {
    let p = access::read_person(&state, &caller, &id).await?;
    Ok(Json(PersonJson::new(&p, state.today())))
}

async fn history(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<HistoryJson>, AppError> {
    let (p, events) = access::person_history(&state, &caller, &id).await?;
    Ok(Json(HistoryJson {
        personal_id: p.person.id.as_str().to_owned(),
        events: events.iter().map(EventJson::new).collect(),
    }))
}

async fn search(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<SearchJson>, AppError> {
    let params = SearchParams {
        name: q.get("name").cloned(),
        birth: q.get("birth").cloned(),
        unit: q.get("unit").cloned(),
        limit: q.get("limit").cloned(),
    };
    let (query, found) = access::search(&state, &caller, &params).await?;
    let today = state.today();
    Ok(Json(SearchJson {
        unit: query.within.as_str().to_owned(),
        count: found.len(),
        persons: found.iter().map(|p| PersonJson::new(p, today)).collect(),
    }))
}

async fn unit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<UnitJson>, AppError> {
    let view = access::unit_view(&state, &caller, &code, q.get("tree").map(String::as_str)).await?;
    Ok(Json(UnitJson::new(&view)))
}

async fn audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<AuditJson>>, AppError> {
    let limit = match q.get("limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => 100,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::bad("audit.bad_limit", "limit must be 1 to 1000"))?,
    };
    let entries = access::audit_log(&state, &caller, limit).await?;
    Ok(Json(entries.iter().map(AuditJson::new).collect()))
}
