//! The operations use cases for one request: each wrapper takes the caller, builds the
//! [`Acting`] (request id and time by the server's clock) outside the blocking thread, runs the
//! core use case of [`eid_core::ops::service`] on it and maps its error to HTTP. The JSON API and
//! the console call these, so both get the same rules and the same audit lines.

use eid_core::ops::service as uc;
use eid_core::ops::{self, Campaign, OutreachFilter, Quota, QuotaProgress};
use eid_core::Acting;
use eid_domain::UnitCode;
use time::Date;

pub use eid_core::ops::service::{unit_name, NewCampaign, NewSchedule, QuotaDetail};

use crate::auth::Caller;
use crate::error::{request_id, AppError};
use crate::state::AppState;

/// The caller acting in this request, now.
fn acting(state: &AppState, caller: &Caller) -> Acting {
    Acting::new(caller.clone(), request_id(), state.now())
}

/// Refuses auditors, who read the audit trail only.
pub fn not_auditor(caller: &Caller) -> Result<(), AppError> {
    Ok(caller.not_auditor()?)
}

/// The unit a caller asks about: their own by default, else one inside their unit.
pub fn unit_in_scope(caller: &Caller, raw: Option<&str>) -> Result<UnitCode, AppError> {
    Ok(caller.within(raw)?)
}

pub fn parse_day(raw: &str, what: &'static str) -> Result<Date, AppError> {
    Ok(uc::parse_day(raw, what)?)
}

/// A quota the caller may see: its unit inside theirs, or one of their ancestors' quotas
/// (the province's target is visible to its districts).
pub async fn quota(state: &AppState, caller: &Caller, id: i64) -> Result<Quota, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::quota(store, &caller, id)?))
        .await
}

pub async fn quotas_with_progress(
    state: &AppState,
    caller: &Caller,
    unit: &UnitCode,
    subtree: bool,
    as_of: Date,
) -> Result<Vec<QuotaProgress>, AppError> {
    let (caller, unit) = (caller.clone(), *unit);
    state
        .blocking(move |store| {
            Ok(uc::quotas_with_progress(
                store, &caller, &unit, subtree, as_of,
            )?)
        })
        .await
}

/// Sets a quota, by the level above (audited).
pub async fn set_quota(
    state: &AppState,
    caller: &Caller,
    q: ops::NewQuota,
    reason: String,
) -> Result<Quota, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::set_quota(store, &acting, &q, &reason)?))
        .await
}

/// Splits a quota among the units below (audited).
pub async fn split(
    state: &AppState,
    caller: &Caller,
    id: i64,
    how: ops::Split,
) -> Result<Vec<Quota>, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::split(store, &acting, id, how)?))
        .await
}

pub async fn detail(
    state: &AppState,
    caller: &Caller,
    id: i64,
    as_of: Date,
) -> Result<QuotaDetail, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::detail(store, &caller, id, as_of)?))
        .await
}

/// Intake capacity against what remains of a quota, today.
pub async fn capacity(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<ops::Capacity, AppError> {
    let (caller, today) = (caller.clone(), state.today());
    state
        .blocking(move |store| Ok(uc::capacity(store, &caller, id, today)?))
        .await
}

/// Emulation: points for % of quota (capped) and for timely reports, per child unit.
pub async fn leaderboard(
    state: &AppState,
    caller: &Caller,
    id: i64,
    as_of: Date,
) -> Result<Vec<(UnitCode, f64, f64, usize)>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::leaderboard(store, &caller, id, as_of)?))
        .await
}

/// The ministry's national view, for staff of the nation.
pub async fn national(
    state: &AppState,
    caller: &Caller,
    tree: eid_domain::Tree,
    as_of: Date,
) -> Result<ops::National, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::national(store, &caller, tree, as_of)?))
        .await
}

/// Daily counts of a metric in a unit inside the caller's.
pub async fn series(
    state: &AppState,
    caller: &Caller,
    unit: Option<String>,
    metric: String,
    from: String,
    to: String,
) -> Result<(UnitCode, Vec<(i64, u64)>), AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| {
            Ok(uc::series(
                store,
                &caller,
                unit.as_deref(),
                &metric,
                &from,
                &to,
            )?)
        })
        .await
}

/// History re-aggregated into the 2025 provinces the caller sees.
pub async fn provinces_2025(
    state: &AppState,
    caller: &Caller,
    metric: String,
    from: String,
    to: String,
) -> Result<Vec<(UnitCode, u64)>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::provinces_2025(store, &caller, &metric, &from, &to)?))
        .await
}

/// The outreach list of a commune inside the caller's unit. Audited: it lists people.
pub async fn outreach(
    state: &AppState,
    caller: &Caller,
    commune: &str,
    f: OutreachFilter,
) -> Result<(UnitCode, Vec<ops::OutreachRow>), AppError> {
    let (acting, commune) = (acting(state, caller), commune.to_owned());
    state
        .blocking(move |store| Ok(uc::outreach(store, &acting, &commune, &f)?))
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
    let acting = acting(state, caller);
    let (commune, ids, assignee) = (commune.to_owned(), ids.to_vec(), assignee.to_owned());
    state
        .blocking(move |store| Ok(uc::assign(store, &acting, &commune, &ids, &assignee, due)?))
        .await
}

pub async fn contact(
    state: &AppState,
    caller: &Caller,
    id: &str,
    outcome: &str,
    note: &str,
) -> Result<Option<i64>, AppError> {
    let acting = acting(state, caller);
    let (id, outcome, note) = (id.to_owned(), outcome.to_owned(), note.to_owned());
    state
        .blocking(move |store| Ok(uc::contact(store, &acting, &id, &outcome, &note)?))
        .await
}

pub async fn proposals(state: &AppState, caller: &Caller) -> Result<Vec<ops::Proposal>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::proposals(store, &caller)?))
        .await
}

pub async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    confirm: bool,
) -> Result<ops::Proposal, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::decide(store, &acting, id, confirm)?))
        .await
}

pub async fn campaigns(
    state: &AppState,
    caller: &Caller,
    as_of: Date,
) -> Result<Vec<(Campaign, f64, f64)>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::campaigns(store, &caller, as_of)?))
        .await
}

pub async fn reports(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<ops::ReportStatus>, AppError> {
    let (caller, today) = (caller.clone(), state.today());
    state
        .blocking(move |store| Ok(uc::reports(store, &caller, today)?))
        .await
}

/// Records a peak campaign over a unit inside the caller's.
pub async fn add_campaign(
    state: &AppState,
    caller: &Caller,
    c: NewCampaign,
) -> Result<Campaign, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::add_campaign(store, &acting, &c)?))
        .await
}

/// Adds a reporting duty towards a unit inside the caller's.
pub async fn add_schedule(
    state: &AppState,
    caller: &Caller,
    s: NewSchedule,
) -> Result<ops::ReportSchedule, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::add_schedule(store, &acting, &s)?))
        .await
}

/// Submits the report of the period containing `period_day` (who may: see
/// [`uc::submit_report`]).
pub async fn submit_report(
    state: &AppState,
    caller: &Caller,
    id: i64,
    period_day: Date,
    body: String,
) -> Result<(), AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::submit_report(store, &acting, id, period_day, &body)?))
        .await
}

// ----------------------------------------------------------------------------------------------
// Reported figures

/// Enters (or corrects, with a reason) a figure of a unit below the caller's (audited).
pub async fn enter_figure(
    state: &AppState,
    caller: &Caller,
    f: uc::FigureIn,
) -> Result<(ops::ReportedFigure, ops::Put), AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::enter_figure(store, &acting, &f)?))
        .await
}

/// Corrects a figure by id, with a reason (audited).
pub async fn correct_figure(
    state: &AppState,
    caller: &Caller,
    id: i64,
    count: u64,
    source: String,
    reason: String,
) -> Result<ops::ReportedFigure, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| {
            Ok(uc::correct_figure(
                store, &acting, id, count, &source, &reason,
            )?)
        })
        .await
}

/// Imports a CSV or XLSX file of figures (audited).
pub async fn import_figures(
    state: &AppState,
    caller: &Caller,
    bytes: Vec<u8>,
    how: uc::ImportIn,
) -> Result<uc::ImportReport, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::import_figures(store, &acting, &bytes, &how)?))
        .await
}

/// Figures of units inside `unit`, newest day first.
pub async fn figures(
    state: &AppState,
    caller: &Caller,
    unit: UnitCode,
    metric: Option<eid_domain::Metric>,
    from: Date,
    to: Date,
) -> Result<Vec<ops::ReportedFigure>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::list_figures(store, &caller, &unit, metric, from, to)?))
        .await
}

/// A figure with every version.
pub async fn figure_history(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(ops::ReportedFigure, Vec<ops::ReportedVersion>), AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::figure_history(store, &caller, id)?))
        .await
}

/// A reported day: `YYYY-MM-DD` or `dd/mm/yyyy`.
pub fn parse_any_day(raw: &str, what: &'static str) -> Result<Date, AppError> {
    let d = ops::parse_day_text(raw).ok_or_else(|| {
        AppError::from(eid_core::Error::bad(
            what,
            format!("{what} is a date, dd/mm/yyyy or YYYY-MM-DD"),
        ))
    })?;
    Ok(uc::check_day(d, what)?)
}

// ----------------------------------------------------------------------------------------------
// Cohorts and shares of a base

/// Sets a quota as a share of a base, by the level above (audited).
pub async fn set_quota_share(
    state: &AppState,
    caller: &Caller,
    q: uc::ShareQuota,
    reason: String,
) -> Result<Quota, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::set_quota_share(store, &acting, &q, &reason)?.0))
        .await
}

/// Creates a cohort of a unit inside the caller's (audited).
pub async fn create_cohort(
    state: &AppState,
    caller: &Caller,
    unit: UnitCode,
    name: String,
) -> Result<ops::Cohort, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::create_cohort(store, &acting, &unit, &name)?))
        .await
}

/// The cohorts of the caller's unit and below.
pub async fn cohorts(state: &AppState, caller: &Caller) -> Result<Vec<ops::Cohort>, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::cohorts(store, &caller)?))
        .await
}

/// Imports personal IDs into a cohort (audited).
pub async fn import_members(
    state: &AppState,
    caller: &Caller,
    id: i64,
    bytes: Vec<u8>,
) -> Result<ops::MembersReport, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(uc::import_members(store, &acting, id, &bytes)?))
        .await
}

/// A cohort the caller may see.
pub async fn cohort(state: &AppState, caller: &Caller, id: i64) -> Result<ops::Cohort, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(uc::cohort(store, &caller, id)?))
        .await
}

/// What a share of a base resolves to today, before it is set: the base's count and the target.
pub async fn preview_share(
    state: &AppState,
    caller: &Caller,
    unit: UnitCode,
    base: ops::Base,
    cohort: String,
    permille: u32,
) -> Result<(u64, u64), AppError> {
    let caller = caller.clone();
    let today = state.today();
    state
        .blocking(move |store| {
            Ok(uc::preview_share(
                store, &caller, &unit, base, &cohort, permille, today,
            )?)
        })
        .await
}
