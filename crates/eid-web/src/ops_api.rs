//! The operations API (`/api/v1/ops/…`): quotas and their splits, progress with forecasts,
//! rankings, daily series, the 2025 re-aggregation, peak campaigns, capacity, outreach lists
//! (JSON, CSV, XLSX), proposed register changes, periodic reports and the emulation
//! leaderboard.
//!
//! Every call is scoped to the caller's unit and audited where it reads or changes records of
//! people. The service functions in [`svc`] are what the console calls too.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eid_core::accounts::{day_date, day_number};
use eid_core::ops::{self, Campaign, OutreachFilter, Quota, QuotaProgress};
use eid_core::store::Role;
use eid_domain::campaign::{self, Ranked, Schedule};
use eid_domain::{iso, parse_iso_date, PersonalId, Tree, UnitCode, Units};
use serde::Deserialize;
use serde_json::{json, Value};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{ApiCaller, Caller};
use crate::error::{request_id, AppError};
use crate::openapi::Errors;
use crate::state::AppState;

/// The operations routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_quotas, set_quota))
        .routes(routes!(get_quota))
        .routes(routes!(split_quota))
        .routes(routes!(capacity))
        .routes(routes!(leaderboard))
        .routes(routes!(series))
        .routes(routes!(provinces_2025))
        .routes(routes!(list_campaigns, add_campaign))
        .routes(routes!(outreach))
        .routes(routes!(assign))
        .routes(routes!(contact))
        .routes(routes!(list_proposals))
        .routes(routes!(decide_proposal))
        .routes(routes!(reports))
        .routes(routes!(add_schedule))
        .routes(routes!(submit_report))
}

// ----------------------------------------------------------------------------------------------
// Service functions (shared with the console)

pub mod svc {
    use super::*;
    use crate::accounts_api::officer::audited;

    pub fn not_auditor(caller: &Caller) -> Result<(), AppError> {
        if caller.staff.role == Role::Auditor {
            return Err(AppError::ScopeDenied);
        }
        Ok(())
    }

    /// The unit a caller asks about: their own by default, else one inside their unit.
    pub fn unit_in_scope(caller: &Caller, raw: Option<&str>) -> Result<UnitCode, AppError> {
        crate::accounts_api::officer::within(caller, raw)
    }

    pub fn parse_day(raw: &str, what: &'static str) -> Result<Date, AppError> {
        parse_iso_date(raw.trim())
            .ok_or_else(|| AppError::bad(what, format!("{what} is a date, YYYY-MM-DD")))
    }

    /// The unit's name for display (2024 tree).
    pub fn unit_name(code: &UnitCode) -> String {
        Units::get()
            .unit(Tree::Gso2024, code)
            .map_or_else(|| code.as_str().to_owned(), |u| u.name.clone())
    }

    /// A quota the caller may see: its unit inside theirs, or one of their ancestors' quotas
    /// (the province's target is visible to its districts).
    pub async fn quota(state: &AppState, caller: &Caller, id: i64) -> Result<Quota, AppError> {
        not_auditor(caller)?;
        let q = state
            .blocking(move |store| Ok(ops::quota(store, id)?))
            .await?
            .ok_or_else(|| AppError::not_found("quota.not_found", "no quota has this id"))?;
        let units = Units::get();
        if !units.contains(Tree::Gso2024, &caller.staff.unit, &q.unit)
            && !units.contains(Tree::Gso2024, &q.unit, &caller.staff.unit)
        {
            return Err(AppError::ScopeDenied);
        }
        Ok(q)
    }

    pub async fn quotas_with_progress(
        state: &AppState,
        caller: &Caller,
        unit: &UnitCode,
        subtree: bool,
        as_of: Date,
    ) -> Result<Vec<QuotaProgress>, AppError> {
        not_auditor(caller)?;
        let unit = *unit;
        state
            .blocking(move |store| {
                let qs = ops::quotas(store, &unit, subtree)?;
                let mut out = Vec::with_capacity(qs.len());
                for q in &qs {
                    out.push(ops::progress_of(store, q, as_of)?);
                }
                Ok(out)
            })
            .await
    }

    /// Sets a quota. The level above sets it: the caller's unit must contain the quota's unit
    /// and be above it (the ministry sets the provinces' and may set its own national one).
    pub async fn set_quota(
        state: &AppState,
        caller: &Caller,
        q: ops::NewQuota,
        reason: String,
    ) -> Result<Quota, AppError> {
        not_auditor(caller)?;
        let units = Units::get();
        let above = caller.staff.unit != q.unit || caller.staff.role == Role::Ministry;
        if !units.contains(Tree::Gso2024, &caller.staff.unit, &q.unit) || !above {
            return Err(AppError::ScopeDenied);
        }
        if reason.trim().is_empty() {
            return Err(AppError::bad(
                "quota.reason",
                "say why the quota is set or changed",
            ));
        }
        let (now, rid) = (state.now(), request_id());
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let r = ops::set_quota(store, &q, &caller.actor, reason.trim(), now);
                audited(store, &caller, "quota.set", q.unit.as_str(), &rid, now, r)
            })
            .await
    }

    pub async fn split(
        state: &AppState,
        caller: &Caller,
        id: i64,
        how: ops::Split,
    ) -> Result<Vec<Quota>, AppError> {
        let q = quota(state, caller, id).await?;
        if !Units::get().contains(Tree::Gso2024, &caller.staff.unit, &q.unit) {
            return Err(AppError::ScopeDenied);
        }
        let (now, rid) = (state.now(), request_id());
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let r = ops::split(store, id, how, &caller.actor, now);
                audited(store, &caller, "quota.split", &id.to_string(), &rid, now, r)
            })
            .await
    }

    /// A quota's ranking of the units below, its children with progress, and its history.
    pub struct QuotaDetail {
        pub progress: QuotaProgress,
        pub children: Vec<QuotaProgress>,
        pub ranking: Vec<Ranked<UnitCode>>,
        pub history: Vec<ops::QuotaChange>,
        /// Daily counts from the start to `as_of`, for the chart.
        pub daily: Vec<(i64, u64)>,
    }

    pub async fn detail(
        state: &AppState,
        caller: &Caller,
        id: i64,
        as_of: Date,
    ) -> Result<QuotaDetail, AppError> {
        let q = quota(state, caller, id).await?;
        state
            .blocking(move |store| {
                let progress = ops::progress_of(store, &q, as_of)?;
                let mut children = Vec::new();
                for k in ops::children(store, q.id)? {
                    children.push(ops::progress_of(store, &k, as_of)?);
                }
                let ranking = ops::ranking(store, &q, as_of)?;
                let history = ops::quota_history(store, q.id)?;
                let daily = if ops::counted(q.metric) {
                    ops::daily(
                        store,
                        q.metric.as_str(),
                        &q.unit,
                        day_number(q.start),
                        day_number(as_of.min(q.deadline).max(q.start)),
                    )?
                } else {
                    Vec::new()
                };
                Ok(QuotaDetail {
                    progress,
                    children,
                    ranking,
                    history,
                    daily,
                })
            })
            .await
    }

    /// Emulation: points for % of quota (capped) and for timely reports, per child unit.
    pub async fn leaderboard(
        state: &AppState,
        caller: &Caller,
        id: i64,
        as_of: Date,
    ) -> Result<Vec<(UnitCode, f64, f64, usize)>, AppError> {
        let q = quota(state, caller, id).await?;
        state
            .blocking(move |store| {
                let statuses = ops::report_status(store, &q.unit, as_of)?;
                let mut scores = Vec::new();
                for k in ops::children(store, q.id)? {
                    let p = ops::progress_of(store, &k, as_of)?;
                    let reports: Vec<campaign::Timeliness> = statuses
                        .iter()
                        .filter(|s| s.schedule.unit == k.unit)
                        .flat_map(|s| s.periods.iter().map(|(_, t)| *t))
                        .collect();
                    scores.push((
                        k.unit,
                        p.progress.percent,
                        campaign::score(p.progress.percent, &reports),
                    ));
                }
                let board = campaign::leaderboard(
                    &scores.iter().map(|(u, _, s)| (*u, *s)).collect::<Vec<_>>(),
                );
                Ok(board
                    .into_iter()
                    .map(|st| {
                        let pct = scores
                            .iter()
                            .find(|(u, _, _)| *u == st.key)
                            .map_or(0.0, |(_, p, _)| *p);
                        (st.key, pct, st.score, st.rank)
                    })
                    .collect())
            })
            .await
    }

    /// The outreach list of a commune inside the caller's unit. Audited: it lists people.
    pub async fn outreach(
        state: &AppState,
        caller: &Caller,
        commune: &str,
        f: OutreachFilter,
    ) -> Result<(UnitCode, Vec<ops::OutreachRow>), AppError> {
        let unit = unit_in_scope(caller, Some(commune))?;
        if unit.level() != eid_domain::Level::Commune {
            return Err(AppError::bad(
                "unit.not_commune",
                "outreach lists are per commune: give a commune code",
            ));
        }
        let today = state.today();
        let (now, rid) = (state.now(), request_id());
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let rows = ops::outreach(store, &unit, today, &f)?;
                store.audit(
                    &caller.actor,
                    "outreach.list",
                    unit.as_str(),
                    "ok",
                    &rid,
                    now,
                )?;
                Ok((unit, rows))
            })
            .await
    }

    pub async fn assign(
        state: &AppState,
        caller: &Caller,
        commune: &str,
        ids: &[String],
        assignee: &str,
        due: Date,
    ) -> Result<u64, AppError> {
        let unit = unit_in_scope(caller, Some(commune))?;
        let ids = ids
            .iter()
            .map(|i| crate::access::parse_id(i))
            .collect::<Result<Vec<PersonalId>, _>>()?;
        if ids.is_empty() || ids.len() > 1000 {
            return Err(AppError::bad(
                "outreach.ids",
                "assign 1 to 1,000 people at a time",
            ));
        }
        let now = state.now();
        let (caller, assignee, rid) = (caller.clone(), assignee.to_owned(), request_id());
        state
            .blocking(move |store| {
                let r = ops::assign(store, &unit, &ids, &assignee, due, &caller.actor, now);
                audited(
                    store,
                    &caller,
                    "outreach.assign",
                    unit.as_str(),
                    &rid,
                    now,
                    r,
                )
            })
            .await
    }

    pub async fn contact(
        state: &AppState,
        caller: &Caller,
        id: &str,
        outcome: &str,
        note: &str,
    ) -> Result<Option<i64>, AppError> {
        not_auditor(caller)?;
        let id = crate::access::parse_id(id)?;
        let now = state.now();
        let (caller, outcome, note) = (caller.clone(), outcome.to_owned(), note.to_owned());
        let rid = request_id();
        state
            .blocking(move |store| {
                let p = store.person(&id)?.ok_or_else(|| {
                    AppError::not_found("person.not_found", "no person has this personal ID")
                })?;
                if !caller.staff.sees(&p.person.residence.unit) {
                    store.audit(
                        &caller.actor,
                        "outreach.contact",
                        id.as_str(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(AppError::ScopeDenied);
                }
                let r = ops::record_contact(store, &id, &outcome, &note, &caller.actor, now);
                audited(
                    store,
                    &caller,
                    "outreach.contact",
                    id.as_str(),
                    &rid,
                    now,
                    r,
                )
            })
            .await
    }

    pub async fn proposals(
        state: &AppState,
        caller: &Caller,
    ) -> Result<Vec<ops::Proposal>, AppError> {
        not_auditor(caller)?;
        let unit = caller.staff.unit;
        state
            .blocking(move |store| Ok(ops::proposals(store, &unit)?))
            .await
    }

    pub async fn decide(
        state: &AppState,
        caller: &Caller,
        id: i64,
        confirm: bool,
    ) -> Result<ops::Proposal, AppError> {
        not_auditor(caller)?;
        let (now, rid) = (state.now(), request_id());
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let staff = caller.staff.clone();
                let r = ops::decide_proposal(
                    store,
                    id,
                    confirm,
                    &caller.actor,
                    &|u| staff.sees(u),
                    now,
                );
                audited(
                    store,
                    &caller,
                    "proposal.decide",
                    &id.to_string(),
                    &rid,
                    now,
                    r,
                )
            })
            .await
    }

    pub async fn campaigns(
        state: &AppState,
        caller: &Caller,
        as_of: Date,
    ) -> Result<Vec<(Campaign, f64, f64)>, AppError> {
        not_auditor(caller)?;
        let unit = caller.staff.unit;
        state
            .blocking(move |store| {
                let mut out = Vec::new();
                for c in ops::campaigns(store, &unit)? {
                    let (before, during) = ops::campaign_rates(
                        store,
                        &c,
                        eid_core::accounts::metric::APPLICATIONS_COLLECTED,
                        as_of,
                    )?;
                    out.push((c, before, during));
                }
                Ok(out)
            })
            .await
    }

    pub async fn reports(
        state: &AppState,
        caller: &Caller,
    ) -> Result<Vec<ops::ReportStatus>, AppError> {
        not_auditor(caller)?;
        let unit = caller.staff.unit;
        let today = state.today();
        state
            .blocking(move |store| Ok(ops::report_status(store, &unit, today)?))
            .await
    }

    /// A campaign to record (see [`add_campaign`]).
    pub struct NewCampaign {
        pub name: String,
        pub slogan: String,
        /// The unit's code, checked to be inside the caller's.
        pub unit: String,
        pub start: Date,
        pub end: Date,
    }

    /// Records a peak campaign over a unit inside the caller's.
    pub async fn add_campaign(
        state: &AppState,
        caller: &Caller,
        c: NewCampaign,
    ) -> Result<Campaign, AppError> {
        let unit = unit_in_scope(caller, Some(&c.unit))?;
        let now = state.now();
        let actor = caller.actor.clone();
        state
            .blocking(move |store| {
                Ok(ops::add_campaign(
                    store, &c.name, &c.slogan, &unit, c.start, c.end, &actor, now,
                )?)
            })
            .await
    }

    /// A reporting duty to add (see [`add_schedule`]).
    pub struct NewSchedule {
        pub agency: String,
        /// The unit's code, checked to be inside the caller's.
        pub unit: String,
        pub schedule: Schedule,
        pub grace_days: u32,
        pub start: Date,
    }

    /// Adds a reporting duty towards a unit inside the caller's.
    pub async fn add_schedule(
        state: &AppState,
        caller: &Caller,
        s: NewSchedule,
    ) -> Result<ops::ReportSchedule, AppError> {
        let unit = unit_in_scope(caller, Some(&s.unit))?;
        let now = state.now();
        let actor = caller.actor.clone();
        state
            .blocking(move |store| {
                Ok(ops::add_schedule(
                    store,
                    &s.agency,
                    &unit,
                    s.schedule,
                    s.grace_days,
                    s.start,
                    &actor,
                    now,
                )?)
            })
            .await
    }

    /// Submits the report of the period containing `period_day`. The reporting unit's own
    /// officers, or anyone above it, submit.
    pub async fn submit_report(
        state: &AppState,
        caller: &Caller,
        id: i64,
        period_day: Date,
        body: String,
    ) -> Result<(), AppError> {
        not_auditor(caller)?;
        let now = state.now();
        let caller = caller.clone();
        state
            .blocking(move |store| {
                let sched = ops::schedules(store, &UnitCode::NATION)?
                    .into_iter()
                    .find(|x| x.id == id)
                    .ok_or_else(|| {
                        AppError::not_found("report.schedule_not_found", "no schedule has this id")
                    })?;
                let units = Units::get();
                if !units.contains(Tree::Gso2024, &caller.staff.unit, &sched.unit)
                    && !units.contains(Tree::Gso2024, &sched.unit, &caller.staff.unit)
                {
                    return Err(AppError::ScopeDenied);
                }
                Ok(ops::submit_report(
                    store,
                    id,
                    period_day,
                    &body,
                    &caller.actor,
                    now,
                )?)
            })
            .await
    }
}

// ----------------------------------------------------------------------------------------------
// Wire views

pub fn progress_json(p: &QuotaProgress) -> Value {
    let q = &p.quota;
    let pr = &p.progress;
    json!({
        "id": q.id,
        "unit": q.unit.as_str(),
        "unit_name": svc::unit_name(&q.unit),
        "metric": q.metric.as_str(),
        "cohort": q.cohort,
        "target": q.target,
        "start": iso(q.start),
        "deadline": iso(q.deadline),
        "parent_id": q.parent_id,
        "set_by": q.set_by.to_db(),
        "version": q.version,
        "done": p.done,
        "percent": campaign::percent_fixed(p.done, q.target, 2),
        "remaining": pr.remaining,
        "days_left": pr.days_left,
        "days_left_rule": "calendar days after the as-of day up to and including the deadline; counts are those known at the end of the as-of day",
        "required_daily": pr.required_daily.map(|r| r.ceil()),
        "rate_7d": (pr.rate_7d * 10.0).round() / 10.0,
        "forecast_met_on": pr.forecast_met_on.map(iso),
        "forecast_percent_at_deadline": (pr.forecast_percent_at_deadline * 100.0).round() / 100.0,
        "status": pr.status.as_str(),
        "children_sum": p.children_sum,
        "children_add_up": p.children_sum.map(|s| s == q.target),
    })
}

fn ranked_json(r: &Ranked<UnitCode>) -> Value {
    json!({
        "unit": r.key.as_str(),
        "unit_name": svc::unit_name(&r.key),
        "done": r.done_today,
        "target": r.target,
        "percent": campaign::percent_fixed(r.done_today, r.target, 2),
        "rank": r.rank_today,
        "rank_yesterday": r.rank_yesterday,
        "rank_change": r.rank_change,
        "percent_change": (r.percent_change * 100.0).round() / 100.0,
    })
}

// ----------------------------------------------------------------------------------------------
// Handlers

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct QuotaQuery {
    unit: Option<String>,
    subtree: Option<bool>,
    as_of: Option<String>,
}

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
    summary = "Quotas with progress: done, %, remaining, days left, required daily rate, 7-day rate, forecast, status.",
    params(QuotaQuery),
    responses(
        (status = 200, description = "`{as_of, quotas: [...]}` (a JSON object built by hand; each quota with its progress: id, unit, metric, target, done, percent, remaining, days_left, required_daily, rate_7d, forecast, status, …).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn list_quotas(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<QuotaQuery>,
) -> Result<Json<Value>, AppError> {
    let unit = svc::unit_in_scope(&caller, q.unit.as_deref())?;
    let day = as_of(&state, q.as_of.as_deref())?;
    let list =
        svc::quotas_with_progress(&state, &caller, &unit, q.subtree.unwrap_or(false), day).await?;
    Ok(Json(json!({
        "as_of": iso(day),
        "quotas": list.iter().map(progress_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, ToSchema)]
struct QuotaIn {
    unit: String,
    metric: String,
    #[serde(default)]
    cohort: String,
    target: u64,
    start: String,
    deadline: String,
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/quotas",
    tag = "operations",
    summary = "Sets a quota, by the level above (audited).",
    request_body = QuotaIn,
    responses(
        (status = 201, description = "`{quota}` with its progress (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn set_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(q): Json<QuotaIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let unit = crate::access::parse_unit(&q.unit, Tree::Gso2024)?.code;
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
        .blocking(move |store| Ok(ops::progress_of(store, &saved, day)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "quota": progress_json(&p) })),
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
        (status = 200, description = "`{as_of, quota, children, ranking, history, daily}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn get_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(q): Query<QuotaQuery>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id_num(&id)?;
    let day = as_of(&state, q.as_of.as_deref())?;
    let d = svc::detail(&state, &caller, id, day).await?;
    let mut cumulative = 0u64;
    Ok(Json(json!({
        "as_of": iso(day),
        "quota": progress_json(&d.progress),
        "children": d.children.iter().map(progress_json).collect::<Vec<_>>(),
        "ranking": d.ranking.iter().map(ranked_json).collect::<Vec<_>>(),
        "history": d.history.iter().map(|h| json!({
            "at": h.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "actor": h.actor.to_db(),
            "old_target": h.old_target,
            "new_target": h.new_target,
            "reason": h.reason,
        })).collect::<Vec<_>>(),
        "daily": d.daily.iter().map(|(day, n)| {
            cumulative += n;
            json!({ "day": iso(day_date(*day)), "n": n, "cumulative": cumulative })
        }).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, ToSchema)]
struct SplitIn {
    mode: String,
    #[serde(default)]
    parts: std::collections::BTreeMap<String, u64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/ops/quotas/{id}/split",
    tag = "operations",
    summary = "Splits a quota among the units below, proportionally or by hand (audited).",
    params(("id" = i64, Path, description = "The quota's id.")),
    request_body = SplitIn,
    responses(
        (status = 200, description = "`{children: [...]}` with their progress (a JSON object built by hand).", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
async fn split_quota(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(s): Json<SplitIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id_num(&id)?;
    let how = match s.mode.as_str() {
        "proportional" => ops::Split::Proportional {
            today: state.today(),
        },
        "manual" => ops::Split::Manual(
            s.parts
                .iter()
                .map(|(u, n)| Ok((crate::access::parse_unit(u, Tree::Gso2024)?.code, *n)))
                .collect::<Result<Vec<_>, AppError>>()?,
        ),
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
                .map(|k| ops::progress_of(store, k, day).map_err(AppError::from))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(
        json!({ "children": progress.iter().map(progress_json).collect::<Vec<_>>() }),
    ))
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
async fn capacity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id_num(&id)?;
    let q = svc::quota(&state, &caller, id).await?;
    let day = state.today();
    let c = state
        .blocking(move |store| {
            let p = ops::progress_of(store, &q, day)?;
            Ok(ops::capacity(
                store,
                &q.unit,
                p.progress.remaining,
                p.progress.days_left,
            )?)
        })
        .await?;
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
async fn leaderboard(
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SeriesQuery {
    unit: Option<String>,
    metric: String,
    from: String,
    to: String,
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
async fn series(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Value>, AppError> {
    svc::not_auditor(&caller)?;
    let unit = svc::unit_in_scope(&caller, q.unit.as_deref())?;
    let Some(metric) = campaign::Metric::parse(&q.metric).filter(|m| ops::counted(*m)) else {
        return Err(AppError::bad(
            "metric.invalid",
            "metric is one counted from account events",
        ));
    };
    let (from, to) = (
        svc::parse_day(&q.from, "from")?,
        svc::parse_day(&q.to, "to")?,
    );
    if to < from || (to - from).whole_days() > 3660 {
        return Err(AppError::bad(
            "series.range",
            "from..to is at most ten years, in order",
        ));
    }
    let rows = state
        .blocking(move |store| {
            Ok(ops::daily(
                store,
                metric.as_str(),
                &unit,
                day_number(from),
                day_number(to),
            )?)
        })
        .await?;
    Ok(Json(json!({
        "unit": unit.as_str(),
        "metric": q.metric,
        "days": rows.iter().map(|(d, n)| json!({ "day": iso(day_date(*d)), "n": n })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct P2025Query {
    metric: String,
    from: String,
    to: String,
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
async fn provinces_2025(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<P2025Query>,
) -> Result<Json<Value>, AppError> {
    svc::not_auditor(&caller)?;
    let Some(metric) = campaign::Metric::parse(&q.metric).filter(|m| ops::counted(*m)) else {
        return Err(AppError::bad(
            "metric.invalid",
            "metric is one counted from account events",
        ));
    };
    let (from, to) = (
        svc::parse_day(&q.from, "from")?,
        svc::parse_day(&q.to, "to")?,
    );
    let rows = state
        .blocking(move |store| {
            Ok(ops::by_province_2025(
                store,
                metric.as_str(),
                day_number(from),
                day_number(to),
            )?)
        })
        .await?;
    let units = Units::get();
    let mine: Vec<UnitCode> = match caller.staff.unit.level() {
        eid_domain::Level::Nation => rows.iter().map(|(u, _)| *u).collect(),
        _ => {
            let old_province = units
                .ancestors(Tree::Gso2024, &caller.staff.unit)
                .into_iter()
                .chain(units.unit(Tree::Gso2024, &caller.staff.unit))
                .find(|u| u.level == eid_domain::Level::Province)
                .map(|u| u.code);
            old_province
                .and_then(|p| units.province_2025_for_2024(&p))
                .map(|u| vec![u.code])
                .unwrap_or_default()
        }
    };
    Ok(Json(json!({
        "tree": "gso2025",
        "metric": q.metric,
        "provinces": rows.iter().filter(|(u, _)| mine.contains(u)).map(|(u, n)| json!({
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
async fn list_campaigns(
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

#[derive(Deserialize, ToSchema)]
struct CampaignIn {
    name: String,
    slogan: String,
    unit: String,
    start: String,
    end: String,
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
async fn add_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(c): Json<CampaignIn>,
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

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutreachQuery {
    pub commune: String,
    pub missing: Option<String>,
    pub address: Option<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub phone_type: Option<String>,
    pub format: Option<String>,
    pub limit: Option<u32>,
}

impl OutreachQuery {
    pub fn filter(&self) -> Result<OutreachFilter, AppError> {
        let missing = self
            .missing
            .clone()
            .unwrap_or_else(|| "no_application".into());
        if !matches!(missing.as_str(), "no_application" | "no_account") {
            return Err(AppError::bad(
                "outreach.missing",
                "missing is no_application or no_account",
            ));
        }
        if let Some(pt) = self.phone_type.as_deref().filter(|p| !p.is_empty()) {
            if eid_domain::PhoneType::parse(pt).is_none() {
                return Err(AppError::bad(
                    "outreach.phone_type",
                    "phone_type is none, basic or smartphone",
                ));
            }
        }
        Ok(OutreachFilter {
            missing,
            address: self.address.clone().filter(|a| !a.trim().is_empty()),
            min_age: self.min_age,
            max_age: self.max_age,
            phone_type: self.phone_type.clone().filter(|p| !p.is_empty()),
            limit: self.limit.unwrap_or(5000).clamp(1, 20_000),
        })
    }
}

/// The columns of an exported outreach list.
pub const OUTREACH_COLUMNS: [&str; 10] = [
    "personal_id",
    "name",
    "birth_date",
    "address",
    "phone",
    "phone_type",
    "account_level",
    "application_state",
    "assignee",
    "last_outcome",
];

/// The cells of one exported row, in the order of [`OUTREACH_COLUMNS`].
pub fn outreach_cells(r: &ops::OutreachRow) -> [String; 10] {
    [
        r.personal_id.clone(),
        r.name.clone(),
        r.birth_date.clone(),
        r.address.clone(),
        r.phone.clone().unwrap_or_default(),
        r.phone_type.clone(),
        r.account_level.map(|l| l.to_string()).unwrap_or_default(),
        r.application_state
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        r.assignee.clone().unwrap_or_default(),
        r.last_outcome.clone().unwrap_or_default(),
    ]
}

/// The outreach list as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
/// Vietnamese right). Cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn outreach_csv(rows: &[ops::OutreachRow]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(OUTREACH_COLUMNS)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    for r in rows {
        let cells = outreach_cells(r).map(|c| {
            if c.starts_with(['=', '+', '-', '@']) {
                format!("'{c}")
            } else {
                c
            }
        });
        w.write_record(&cells)
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))
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
async fn outreach(
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

#[derive(Deserialize, ToSchema)]
struct AssignIn {
    commune: String,
    personal_ids: Vec<String>,
    assignee: String,
    due: String,
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
async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(a): Json<AssignIn>,
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

#[derive(Deserialize, ToSchema)]
struct ContactIn {
    personal_id: String,
    outcome: String,
    #[serde(default)]
    note: String,
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
async fn contact(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(c): Json<ContactIn>,
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
async fn list_proposals(
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

#[derive(Deserialize, ToSchema)]
struct DecisionIn {
    decision: String,
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
async fn decide_proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(d): Json<DecisionIn>,
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
async fn reports(
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

#[derive(Deserialize, ToSchema)]
struct ScheduleIn {
    agency: String,
    unit: String,
    schedule: String,
    grace_days: u32,
    start: String,
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
async fn add_schedule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(s): Json<ScheduleIn>,
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

#[derive(Deserialize, ToSchema)]
struct SubmitIn {
    period_day: String,
    body: String,
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
async fn submit_report(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Json(s): Json<SubmitIn>,
) -> Result<StatusCode, AppError> {
    svc::not_auditor(&caller)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("report.schedule_not_found", "no schedule has this id"))?;
    let day = svc::parse_day(&s.period_day, "period_day")?;
    svc::submit_report(&state, &caller, id, day, s.body).await?;
    Ok(StatusCode::CREATED)
}
