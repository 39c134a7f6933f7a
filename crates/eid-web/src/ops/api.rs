//! The operations handlers (`/api/v1/ops/…`), each documented by its `#[utoipa::path]`: they
//! parse the request, call the use cases through [`super::svc`] and render JSON or CSV.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eid_core::accounts::day_date;
use eid_core::ops;
use eid_domain::campaign::{self, Schedule};
use eid_domain::{iso, Tree, Units};
use serde_json::{json, Value};
use time::Date;

use super::svc;
use super::wire::*;
use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

fn as_of(state: &AppState, raw: Option<&str>) -> Result<Date, AppError> {
    match raw.filter(|s| !s.is_empty()) {
        Some(d) => svc::parse_day(d, "as_of"),
        None => Ok(state.today()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/quotas",
    tag = "operations",
    summary = "Quotas with progress: done, %, remaining, days left, required daily rate, recent rate, forecast, status.",
    params(QuotaQuery),
    responses(
        (status = 200, description = "Each quota with its progress as of the end of `as_of` (default today): work counts from the start to the deadline, so a closed quota's figures never change.", body = QuotaList),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_quotas(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<QuotaQuery>,
) -> Result<Json<QuotaList>, AppError> {
    let unit = svc::unit_in_scope(&caller, q.unit.as_deref())?;
    let day = as_of(&state, q.as_of.as_deref())?;
    let list =
        svc::quotas_with_progress(&state, &caller, &unit, q.subtree.unwrap_or(false), day).await?;
    Ok(Json(QuotaList {
        as_of: iso(day),
        quotas: list.iter().map(quota_out).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/quotas",
    tag = "operations",
    summary = "Sets a quota, by the level above (audited): a number, or a share of a base (`base` and `percent`) resolved now and kept with the base's count.",
    request_body = QuotaIn,
    responses(
        (status = 201, description = "The quota with its progress today.", body = QuotaSaved),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn set_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(q): JsonBody<QuotaIn>,
) -> Result<(StatusCode, Json<QuotaSaved>), AppError> {
    let unit = crate::access::parse_unit(&q.unit, Tree::Gso2024)?.code;
    if let Some(base) = q.base.as_deref().filter(|b| !b.is_empty()) {
        let share = super::reported_api::share_quota(unit, &q, base)?;
        let saved = svc::set_quota_share(&state, &caller, share, q.reason).await?;
        let day = state.today();
        let p = state
            .blocking(move |store| Ok(ops::progress_with_capacity(store, &saved, day)?))
            .await?;
        return Ok((
            StatusCode::CREATED,
            Json(QuotaSaved {
                quota: quota_out(&p),
            }),
        ));
    }
    let new = ops::NewQuota {
        unit,
        metric: q.metric,
        cohort: q.cohort.trim().to_owned(),
        target: q.target,
        start: svc::parse_day(&q.start, "start")?,
        deadline: svc::parse_day(&q.deadline, "deadline")?,
        parent_id: None,
    };
    let saved = svc::set_quota(&state, &caller, new, q.reason).await?;
    let day = state.today();
    let p = state
        .blocking(move |store| Ok(ops::progress_with_capacity(store, &saved, day)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(QuotaSaved {
            quota: quota_out(&p),
        }),
    ))
}

fn parse_id_num(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found("quota.not_found", "no quota has this id"))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/quotas/{id}",
    tag = "operations",
    summary = "A quota with its children, ranking, history and daily series.",
    params(("id" = i64, Path, description = "The quota's id."), QuotaQuery),
    responses(
        (status = 200, description = "The quota, its children and the ranking of the units below (each with its required daily rate, days left and forecast), its history and its daily series, as of the end of `as_of`.", body = QuotaDetailOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn get_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(q): Query<QuotaQuery>,
) -> Result<Json<QuotaDetailOut>, AppError> {
    let id = parse_id_num(&id)?;
    let day = as_of(&state, q.as_of.as_deref())?;
    let d = svc::detail(&state, &caller, id, day).await?;
    let q = &d.progress.quota;
    let within = if caller.sees(&q.unit) {
        q.unit
    } else {
        caller.unit()
    };
    // The period, within the days an operations date may be (a stored quota may lie outside).
    let from = q
        .start
        .clamp(ops::service::FIRST_DAY, ops::service::LAST_DAY);
    let to = day
        .min(q.deadline)
        .clamp(ops::service::FIRST_DAY, ops::service::LAST_DAY)
        .max(from);
    let reported = svc::figures(&state, &caller, within, Some(q.metric), from, to).await?;
    let mut cumulative = 0u64;
    Ok(Json(QuotaDetailOut {
        reported_rule: ops::REPORTED_RULE.to_owned(),
        reported: reported
            .iter()
            .map(super::reported_wire::reported_out)
            .collect(),
        as_of: iso(day),
        quota: quota_out(&d.progress),
        children: d.children.iter().map(quota_out).collect(),
        ranking: d
            .ranking
            .iter()
            .map(|r| ranked_out(r, d.children.iter().find(|c| c.quota.unit == r.key)))
            .collect(),
        history: d
            .history
            .iter()
            .map(|h| QuotaChangeOut {
                at: h
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                actor: h.actor.to_db(),
                old_target: h.old_target,
                new_target: h.new_target,
                reason: h.reason.clone(),
            })
            .collect(),
        daily: d
            .daily
            .iter()
            .map(|(day, n)| {
                cumulative = cumulative.saturating_add(*n);
                DayOut {
                    day: iso(day_date(*day)),
                    n: *n,
                    cumulative,
                }
            })
            .collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/quotas/{id}/split",
    tag = "operations",
    summary = "Splits a quota among the units below, proportionally or by hand (audited).",
    params(("id" = i64, Path, description = "The quota's id.")),
    request_body = SplitIn,
    responses(
        (status = 200, description = "The child quotas with their progress. A manual split whose children's quotas would not add up to the parent's is refused as `split.mismatch` (422), saying the difference, unless `accept_difference` gives exactly that difference.", body = SplitOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn split_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(s): JsonBody<SplitIn>,
) -> Result<Json<SplitOut>, AppError> {
    let id = parse_id_num(&id)?;
    let how = match s.mode.as_str() {
        "proportional" => ops::Split::Proportional {
            today: state.today(),
        },
        "manual" => {
            let parts = s
                .parts
                .iter()
                .map(|(u, n)| Ok((crate::access::parse_unit(u, Tree::Gso2024)?.code, *n)))
                .collect::<Result<Vec<_>, AppError>>()?;
            match s.accept_difference {
                Some(d) => ops::Split::ManualAccepting {
                    parts,
                    difference: i128::from(d),
                },
                None => ops::Split::Manual(parts),
            }
        }
        _ => {
            return Err(AppError::bad(
                "split.mode",
                "mode is proportional or manual",
            ))
        }
    };
    let kids = svc::split(&state, &caller, id, how).await?;
    let day = state.today();
    let progress = state
        .blocking(move |store| {
            kids.iter()
                .map(|k| ops::progress_with_capacity(store, k, day).map_err(AppError::from))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(SplitOut {
        children: progress.iter().map(quota_out).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/quotas/{id}/capacity",
    tag = "operations",
    summary = "Intake capacity against what remains.",
    params(("id" = i64, Path, description = "The quota's id.")),
    responses(
        (status = 200, description = "`{devices, per_day, days_needed, days_left, more_devices}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn capacity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id_num(&id)?;
    let c = svc::capacity(&state, &caller, id).await?;
    Ok(Json(json!({
        "devices": c.devices,
        "per_day": c.per_day,
        "days_needed": c.days_needed,
        "days_left": c.days_left,
        "more_devices": c.more_devices,
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/quotas/{id}/leaderboard",
    tag = "operations",
    summary = "Emulation scores of the units below, with the rule.",
    params(("id" = i64, Path, description = "The quota's id.")),
    responses(
        (status = 200, description = "`{rule, units: [...]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn leaderboard(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id_num(&id)?;
    let board = svc::leaderboard(&state, &caller, id, state.today()).await?;
    Ok(Json(json!({
        "rule": format!(
            "points = % of quota (capped at {}) + {} per report on time + {} per late report",
            campaign::QUOTA_POINTS_CAP, campaign::ON_TIME_POINTS, campaign::LATE_POINTS
        ),
        "units": board.iter().map(|(u, pct, score, rank)| json!({
            "unit": u.as_str(), "unit_name": svc::unit_name(u),
            "percent": (pct * 100.0).round() / 100.0, "score": (score * 100.0).round() / 100.0, "rank": rank,
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/national",
    tag = "operations",
    summary = "The ministry's national view: every province ranked by % of its quota for each metric, with status, required daily rate and forecast; who met both quotas; the slowest.",
    params(NationalQuery),
    responses(
        (status = 200, description = "The national view as of the end of `as_of`, in the 2024 tree or re-aggregated into the 2025 provinces. For the ministry's staff (the nation) only.", body = NationalOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn national(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<NationalQuery>,
) -> Result<Json<NationalOut>, AppError> {
    let tree = parse_tree(q.tree.as_deref())?;
    let day = as_of(&state, q.as_of.as_deref())?;
    let n = svc::national(&state, &caller, tree, day).await?;
    Ok(Json(national_out(&n)))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/series",
    tag = "operations",
    summary = "Daily counts of a metric in a unit.",
    params(SeriesQuery),
    responses(
        (status = 200, description = "`{unit, metric, days: [{day, n}]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn series(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Value>, AppError> {
    let (unit, rows) = svc::series(
        &state,
        &caller,
        q.unit.clone(),
        q.metric.clone(),
        q.from.clone(),
        q.to.clone(),
    )
    .await?;
    Ok(Json(json!({
        "unit": unit.as_str(),
        "metric": q.metric,
        "days": rows.iter().map(|(d, n)| json!({ "day": iso(day_date(*d)), "n": n })).collect::<Vec<_>>(),
    })))
}

/// History re-aggregated into the 2025 two-level tree, for the provinces the caller sees.
#[utoipa::path(
    get,
    path = "/api/v1/ops/provinces-2025",
    tag = "operations",
    summary = "History re-aggregated into the 2025 provinces the caller sees.",
    params(P2025Query),
    responses(
        (status = 200, description = "`{tree, metric, provinces: [{unit, name, n}]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn provinces_2025(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<P2025Query>,
) -> Result<Json<Value>, AppError> {
    let rows = svc::provinces_2025(
        &state,
        &caller,
        q.metric.clone(),
        q.from.clone(),
        q.to.clone(),
    )
    .await?;
    let units = Units::get();
    Ok(Json(json!({
        "tree": "gso2025",
        "metric": q.metric,
        "provinces": rows.iter().map(|(u, n)| json!({
            "unit": u.as_str(),
            "name": units.unit(Tree::Gso2025, u).map(|x| x.name.clone()).unwrap_or_default(),
            "n": n,
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/campaigns",
    tag = "operations",
    summary = "Peak campaigns with the rate before and during.",
    responses(
        (status = 200, description = "`{campaigns: [...]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_campaigns(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Value>, AppError> {
    let list = svc::campaigns(&state, &caller, state.today()).await?;
    Ok(Json(json!({
        "campaigns": list.iter().map(|(c, before, during)| json!({
            "id": c.id, "name": c.name, "slogan": c.slogan, "unit": c.unit.as_str(),
            "start": iso(c.start), "end": iso(c.end),
            "applications_per_day_before": (before * 10.0).round() / 10.0,
            "applications_per_day_during": (during * 10.0).round() / 10.0,
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/campaigns",
    tag = "operations",
    summary = "Records a peak campaign over a unit inside the caller's.",
    request_body = CampaignIn,
    responses(
        (status = 201, description = "`{id}` (a JSON object).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn add_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(c): JsonBody<CampaignIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let new = svc::NewCampaign {
        start: svc::parse_day(&c.start, "start")?,
        end: svc::parse_day(&c.end, "end")?,
        name: c.name,
        slogan: c.slogan,
        unit: c.unit,
    };
    let saved = svc::add_campaign(&state, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": saved.id }))))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/outreach",
    tag = "operations",
    summary = "A commune's people still to reach, as JSON or CSV (audited).",
    params(OutreachQuery),
    responses(
        (status = 200, description = "`{commune, people: [...]}` (a JSON object built by hand), or `text/csv` with `format=csv`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn outreach(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<OutreachQuery>,
) -> Result<Response, AppError> {
    let f = q.filter()?;
    let (unit, rows) = svc::outreach(&state, &caller, &q.commune, f).await?;
    match q.format.as_deref().unwrap_or("json") {
        "csv" => {
            let body = outreach_csv(&rows)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"outreach-{}.csv\"", unit.as_str()),
                    ),
                ],
                body,
            )
                .into_response())
        }
        "json" => Ok(Json(json!({
            "commune": unit.as_str(),
            "people": rows.iter().map(|r| {
                let c = outreach_cells(r);
                let mut o = serde_json::Map::new();
                for (k, v) in OUTREACH_COLUMNS.iter().zip(c) {
                    o.insert((*k).to_owned(), Value::String(v));
                }
                o.insert("due".into(), json!(r.due.map(iso)));
                Value::Object(o)
            }).collect::<Vec<_>>(),
        }))
        .into_response()),
        _ => Err(AppError::bad("outreach.format", "format is json or csv")),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/outreach/assign",
    tag = "operations",
    summary = "Assigns people of a commune to a team with a due date (audited).",
    request_body = AssignIn,
    responses(
        (status = 200, description = "`{assigned}` (a JSON object).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(a): JsonBody<AssignIn>,
) -> Result<Json<Value>, AppError> {
    let due = svc::parse_day(&a.due, "due")?;
    let n = svc::assign(
        &state,
        &caller,
        &a.commune,
        &a.personal_ids,
        &a.assignee,
        due,
    )
    .await?;
    Ok(Json(json!({ "assigned": n })))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/outreach/contacts",
    tag = "operations",
    summary = "Records a contact outcome; dead, moved away and emigrated become proposals (audited).",
    request_body = ContactIn,
    responses(
        (status = 201, description = "`{proposal_id}` (a JSON object; null when no proposal).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn contact(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(c): JsonBody<ContactIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let proposal = svc::contact(&state, &caller, &c.personal_id, &c.outcome, &c.note).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "proposal_id": proposal })),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/proposals",
    tag = "operations",
    summary = "Open proposed register changes.",
    responses(
        (status = 200, description = "`{proposals: [...]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_proposals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Value>, AppError> {
    let list = svc::proposals(&state, &caller).await?;
    Ok(Json(json!({
        "proposals": list.iter().map(|p| json!({
            "id": p.id, "personal_id": p.personal_id, "commune": p.commune.as_str(),
            "proposed": p.proposed, "state": p.state.as_str(),
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/proposals/{id}",
    tag = "operations",
    summary = "Confirms or dismisses a proposed register change (audited).",
    params(("id" = i64, Path, description = "The proposal's id.")),
    request_body = DecisionIn,
    responses(
        (status = 200, description = "`{id, state}` (a JSON object).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn decide_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<DecisionIn>,
) -> Result<Json<Value>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("proposal.not_found", "no proposal has this id"))?;
    let confirm = match d.decision.as_str() {
        "confirm" => true,
        "dismiss" => false,
        _ => {
            return Err(AppError::bad(
                "proposal.decision",
                "decision is confirm or dismiss",
            ))
        }
    };
    let p = svc::decide(&state, &caller, id, confirm).await?;
    Ok(Json(json!({ "id": p.id, "state": p.state.as_str() })))
}

#[utoipa::path(
    get,
    path = "/api/v1/ops/reports",
    tag = "operations",
    summary = "Reporting duties with each period on time, late, missing or not due.",
    responses(
        (status = 200, description = "`{schedules: [...]}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn reports(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Value>, AppError> {
    let list = svc::reports(&state, &caller).await?;
    Ok(Json(json!({
        "schedules": list.iter().map(|s| json!({
            "id": s.schedule.id,
            "agency": s.schedule.agency,
            "unit": s.schedule.unit.as_str(),
            "schedule": s.schedule.schedule.as_str(),
            "grace_days": s.schedule.grace_days,
            "periods": s.periods.iter().map(|(p, t)| json!({
                "start": iso(p.start), "end": iso(p.end), "due": iso(campaign::due(*p, s.schedule.grace_days)), "status": t.as_str(),
            })).collect::<Vec<_>>(),
            "expected": s.completeness.expected,
            "on_time": s.completeness.on_time,
            "late": s.completeness.late,
            "missing": s.completeness.missing,
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/reports/schedules",
    tag = "operations",
    summary = "Adds a reporting duty towards a unit inside the caller's.",
    request_body = ScheduleIn,
    responses(
        (status = 201, description = "`{id}` (a JSON object).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn add_schedule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(s): JsonBody<ScheduleIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let schedule = Schedule::parse(&s.schedule)
        .ok_or_else(|| AppError::bad("report.schedule", "schedule is weekly or monthly"))?;
    let new = svc::NewSchedule {
        start: svc::parse_day(&s.start, "start")?,
        agency: s.agency,
        unit: s.unit,
        schedule,
        grace_days: s.grace_days,
    };
    let saved = svc::add_schedule(&state, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": saved.id }))))
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/reports/{id}/submit",
    tag = "operations",
    summary = "Submits the report of the period containing `period_day`.",
    params(("id" = i64, Path, description = "The schedule's id.")),
    request_body = SubmitIn,
    responses(
        (status = 201, description = "Submitted."),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn submit_report(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(s): JsonBody<SubmitIn>,
) -> Result<StatusCode, AppError> {
    svc::not_auditor(&caller)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("report.schedule_not_found", "no schedule has this id"))?;
    let day = svc::parse_day(&s.period_day, "period_day")?;
    svc::submit_report(&state, &caller, id, day, s.body).await?;
    Ok(StatusCode::CREATED)
}
