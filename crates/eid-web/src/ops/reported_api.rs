//! The handlers of reported figures (`/api/v1/ops/reported…`): figures entered or imported by
//! the level above for units that do not run eid, their corrections and history, each
//! documented by its `#[utoipa::path]`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use eid_core::ops::service::{FigureIn, ImportIn};
use eid_core::ops::{Put, REPORTED_RULE};
use eid_domain::Metric;

use super::reported_wire::*;
use super::svc;
use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

fn metric(raw: &str) -> Result<Metric, AppError> {
    Metric::parse(raw.trim()).ok_or_else(|| {
        AppError::from(eid_core::Error::bad(
            "metric.invalid",
            "metric is applications_collected, level1_activated, level2_activated or accounts_activated",
        ))
    })
}

fn figure_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found("reported.not_found", "no reported figure has this id"))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/reported",
    tag = "operations",
    summary = "Reported daily figures of units inside one, with whether each counts and its provenance.",
    params(ReportedQuery),
    responses(
        (status = 200, description = "The rule and the figures, newest day first (at most 1,000).", body = ReportedList),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ReportedQuery>,
) -> Result<Json<ReportedList>, AppError> {
    let unit = svc::unit_in_scope(&caller, q.unit.as_deref())?;
    let to = match q.to.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => svc::parse_any_day(d, "to")?,
        None => state.today(),
    };
    let from = match q.from.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => svc::parse_any_day(d, "from")?,
        None => eid_domain::campaign::shift_days(to, -90),
    };
    let m = q
        .metric
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(metric)
        .transpose()?;
    let figs = svc::figures(&state, &caller, unit, m, from, to).await?;
    Ok(Json(ReportedList {
        rule: REPORTED_RULE.to_owned(),
        figures: figs.iter().map(reported_out).collect(),
    }))
}

fn put_name(p: Put) -> &'static str {
    match p {
        Put::Created => "created",
        Put::Corrected => "corrected",
        Put::Unchanged => "unchanged",
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/reported",
    tag = "operations",
    summary = "Enters a unit's daily figure, by the level above (audited); a changed figure needs a reason.",
    request_body = ReportedIn,
    responses(
        (status = 201, description = "The figure as it stands and what was done (`created`, `corrected`, `unchanged`).", body = ReportedSaved),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn enter(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(f): JsonBody<ReportedIn>,
) -> Result<(StatusCode, Json<ReportedSaved>), AppError> {
    let unit = crate::access::parse_unit(&f.unit, eid_domain::Tree::Gso2024)?.code;
    let input = FigureIn {
        unit,
        metric: metric(&f.metric)?,
        day: svc::parse_any_day(&f.day, "day")?,
        count: f.count,
        source: f.source,
        reason: f.reason,
    };
    let (fig, put) = svc::enter_figure(&state, &caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReportedSaved {
            rule: REPORTED_RULE.to_owned(),
            outcome: put_name(put).to_owned(),
            figure: reported_out(&fig),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/reported/{id}",
    tag = "operations",
    summary = "A reported figure with every version and its provenance.",
    params(("id" = i64, Path, description = "The figure's id.")),
    responses(
        (status = 200, description = "The figure, the rule and every version, oldest first.", body = ReportedDetailOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ReportedDetailOut>, AppError> {
    let (fig, versions) = svc::figure_history(&state, &caller, figure_id(&id)?).await?;
    Ok(Json(ReportedDetailOut {
        rule: REPORTED_RULE.to_owned(),
        figure: reported_out(&fig),
        versions: versions.iter().map(version_out).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/reported/{id}/corrections",
    tag = "operations",
    summary = "Corrects a reported figure with a reason, keeping every version (audited).",
    params(("id" = i64, Path, description = "The figure's id.")),
    request_body = CorrectionIn,
    responses(
        (status = 200, description = "The figure as it stands.", body = ReportedSaved),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn correct(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(c): JsonBody<CorrectionIn>,
) -> Result<Json<ReportedSaved>, AppError> {
    let id = figure_id(&id)?;
    let before = svc::figure_history(&state, &caller, id).await?.0.count;
    let fig = svc::correct_figure(&state, &caller, id, c.count, c.source, c.reason).await?;
    Ok(Json(ReportedSaved {
        rule: REPORTED_RULE.to_owned(),
        outcome: if before == fig.count && c.count == before {
            "unchanged"
        } else {
            "corrected"
        }
        .to_owned(),
        figure: reported_out(&fig),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/reported/import",
    tag = "operations",
    summary = "Imports a CSV or XLSX file of daily figures (header `unit,day,metric,count,source`; day dd/mm/yyyy or YYYY-MM-DD), audited.",
    params(ImportQuery),
    request_body(content = Vec<u8>, description = "The file: CSV (UTF-8) or XLSX (first sheet).", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "What the import did, with the bad rows by line and reason. Without `skip_bad`, a file with a bad row writes nothing (`applied` false).", body = ImportOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn import(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Json<ImportOut>, AppError> {
    let how = ImportIn {
        file_name: q.file_name.unwrap_or_default(),
        source: q.source.unwrap_or_default(),
        reason: q.reason.unwrap_or_default(),
        skip_bad: q.skip_bad.unwrap_or(false),
    };
    let r = svc::import_figures(&state, &caller, body.to_vec(), how).await?;
    Ok(Json(import_out(&r)))
}

/// The share-of-base quota a `QuotaIn` with `base` asks for.
pub(super) fn share_quota(
    unit: eid_domain::UnitCode,
    q: &super::wire::QuotaIn,
    base: &str,
) -> Result<eid_core::ops::service::ShareQuota, AppError> {
    let base = eid_core::ops::Base::parse(base.trim()).ok_or_else(|| {
        AppError::from(eid_core::Error::bad(
            "quota.base",
            "base is card_holders, eligible or cohort",
        ))
    })?;
    let permille = q
        .percent
        .map(|p| p * 10.0)
        .filter(|p| p.is_finite() && (p - p.round()).abs() < 1e-6 && *p >= 1.0 && *p <= 1000.0)
        .map(|p| p.round() as u32)
        .ok_or_else(|| {
            AppError::from(eid_core::Error::bad(
                "quota.share",
                "percent is from 0.1 to 100, with at most one decimal",
            ))
        })?;
    Ok(eid_core::ops::service::ShareQuota {
        unit,
        metric: q.metric.clone(),
        cohort: q.cohort.trim().to_owned(),
        base,
        permille,
        start: svc::parse_day(&q.start, "start")?,
        deadline: svc::parse_day(&q.deadline, "deadline")?,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/cohorts",
    tag = "operations",
    summary = "The cohorts of the caller's unit and the units inside it, with their member counts.",
    responses(
        (status = 200, description = "The cohorts, by unit and name.", body = CohortList),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cohorts(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<CohortList>, AppError> {
    let list = svc::cohorts(&state, &caller).await?;
    Ok(Json(CohortList {
        cohorts: list.iter().map(cohort_out).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/cohorts",
    tag = "operations",
    summary = "Creates a cohort of a unit inside the caller's (audited).",
    request_body = CohortIn,
    responses(
        (status = 201, description = "The cohort, without members yet.", body = CohortOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn create_cohort(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(c): JsonBody<CohortIn>,
) -> Result<(StatusCode, Json<CohortOut>), AppError> {
    let unit = crate::access::parse_unit(&c.unit, eid_domain::Tree::Gso2024)?.code;
    let saved = svc::create_cohort(&state, &caller, unit, c.name).await?;
    Ok((StatusCode::CREATED, Json(cohort_out(&saved))))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/cohorts/{id}/members",
    tag = "operations",
    summary = "Adds the personal IDs of a CSV (one a line, first column) to a cohort (audited).",
    params(("id" = i64, Path, description = "The cohort's id.")),
    request_body(content = Vec<u8>, description = "The list: UTF-8 text, one personal ID a line; a header line is skipped.", content_type = "text/csv"),
    responses(
        (status = 200, description = "How many were added, how many were already members, and the bad lines by line and reason.", body = MembersOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cohort_members(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<MembersOut>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("cohort.not_found", "no cohort has this id"))?;
    let r = svc::import_members(&state, &caller, id, body.to_vec()).await?;
    Ok(Json(MembersOut {
        added: r.added,
        already: r.already,
        bad: r
            .bad
            .iter()
            .map(|b| BadRowOut {
                line: b.line,
                reason: b.reason.clone(),
            })
            .collect(),
    }))
}
