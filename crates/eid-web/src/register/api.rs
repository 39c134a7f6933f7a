//! The JSON API under `/api/v1`, authenticated by bearer tokens.
//!
//! Handlers are thin: take the raw input, let [`crate::access`] (over `eid_core::register`)
//! parse, check scope, call the store and audit, then convert to the wire structs of
//! [`crate::wire`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{self, SearchParams};
use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::openapi::ReadErrors;
use crate::state::AppState;
use crate::wire::{
    AuditJson, EventJson, HistoryJson, MeJson, PersonJson, SearchJson, UnitJson, UnitMatchesJson,
    UnitRefJson,
};

/// The register's routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(openapi))
        .routes(routes!(me))
        .routes(routes!(search))
        .routes(routes!(person))
        .routes(routes!(history))
        .routes(routes!(units_by_name))
        .routes(routes!(unit))
        .routes(routes!(audit))
}

/// Units whose folded name (with or without its type word: Tỉnh, Huyện, Xã …) is the query.
/// Unit names are public reference data: any signed-in caller may look them up.
#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "register",
    summary = "Units whose folded name, with or without its type word (Tỉnh, Huyện, Xã …), is the query: provinces first, at most 100.",
    params(
        ("name" = String, Query, description = "A unit name, with or without diacritics."),
        ("tree" = Option<String>, Query, description = "`2024` (the default) or `2025`."),
    ),
    responses((status = 200, description = "The matches.", body = UnitMatchesJson), ReadErrors),
    security(("bearer" = []))
)]
async fn units_by_name(
    ApiCaller(_caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<UnitMatchesJson>, AppError> {
    let tree = access::parse_tree(q.get("tree").map(String::as_str))?;
    let name = q.get("name").map(String::as_str).unwrap_or("");
    let units = eid_core::register::units_by_name(tree, name)?;
    Ok(Json(UnitMatchesJson {
        tree: tree.as_str(),
        units: units.into_iter().map(UnitRefJson::new).collect(),
    }))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "register",
    summary = "This document.",
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
async fn openapi() -> Json<&'static serde_json::Value> {
    Json(crate::openapi::document())
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "register",
    summary = "The account behind the token.",
    responses((status = 200, description = "The caller.", body = MeJson), ReadErrors),
    security(("bearer" = []))
)]
async fn me(ApiCaller(caller): ApiCaller) -> Json<MeJson> {
    Json(MeJson::new(&caller.staff, &caller.actor))
}

#[utoipa::path(
    get,
    path = "/api/v1/persons/{id}",
    tag = "register",
    summary = "One person by personal ID (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    responses((status = 200, description = "The person.", body = PersonJson), ReadErrors),
    security(("bearer" = []))
)]
async fn person(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PersonJson>, AppError> {
    let (p, residency) = access::read_person_and_residency(&state, &caller, &id).await?;
    let mut json = PersonJson::new(&p, state.today());
    json.residency = Some(crate::wire::ResidencyJson::new(&residency));
    Ok(Json(json))
}

#[utoipa::path(
    get,
    path = "/api/v1/persons/{id}/history",
    tag = "register",
    summary = "Every change to a person, oldest first (audited).",
    params(("id" = String, Path, description = "Personal identification number, 12 digits.", pattern = "^[0-9]{12}$")),
    responses((status = 200, description = "The events.", body = HistoryJson), ReadErrors),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/persons",
    tag = "register",
    summary = "Search persons by name (folded prefix: accents and case ignored) and birth, within a unit of the caller's scope (audited).",
    params(
        ("name" = String, Query, description = "Full name or its beginning, surname first.", min_length = 2),
        ("birth" = Option<String>, Query, description = "Year (YYYY) or date (YYYY-MM-DD) of birth.", pattern = "^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$"),
        ("unit" = Option<String>, Query, description = "Unit code of the 2024 tree; defaults to the caller's unit and must be inside it."),
        ("limit" = Option<u32>, Query, description = "1 to 100; 20 by default.", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "Matching persons.", body = SearchJson), ReadErrors),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/units/{code}",
    tag = "register",
    summary = "An administrative unit with its children and their populations (only people within the caller's scope are counted).",
    params(
        ("code" = String, Path, description = "VN, or a GSO code of 2, 3 or 5 digits."),
        ("tree" = Option<String>, Query, description = "`2024` (the default) or `2025`."),
    ),
    responses((status = 200, description = "The unit.", body = UnitJson), ReadErrors),
    security(("bearer" = []))
)]
async fn unit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<UnitJson>, AppError> {
    let view = access::unit_view(&state, &caller, &code, q.get("tree").map(String::as_str)).await?;
    Ok(Json(UnitJson::new(&view)))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "register",
    summary = "The newest audit entries (auditors and the ministry; audited).",
    params(("limit" = Option<u32>, Query, description = "1 to 1000; 100 by default.", minimum = 1, maximum = 1000)),
    responses((status = 200, description = "Entries, newest first.", body = Vec<AuditJson>), ReadErrors),
    security(("bearer" = []))
)]
async fn audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<AuditJson>>, AppError> {
    let limit = eid_core::audit_log::parse_limit(q.get("limit").map(String::as_str))?;
    let entries = access::audit_log(&state, &caller, limit).await?;
    Ok(Json(entries.iter().map(AuditJson::new).collect()))
}
