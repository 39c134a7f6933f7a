//! The operations use cases, as the JSON API and the console call them: each one decides who may
//! see and do what — auditors read the audit trail only; a caller sees their own unit and what
//! lies inside it; the level above sets and splits a quota — and writes the audit trail through
//! [`Acting`], so every line carries the request's id.
//!
//! A scope refusal of an audited action is audited `denied`; the action's own outcome is audited
//! `ok` or `failed` (see [`Acting::audited`]). Input that does not parse is refused before
//! anything is audited. Reads take the [`Caller`] only: nothing of them is audited.

use eid_domain::campaign::{self, Ranked, Schedule, Timeliness};
use eid_domain::{parse_iso_date, Level, PersonalId, Tree, UnitCode, Units};
use time::Date;

use crate::accounts::day_number;
use crate::clock::vietnam;
use crate::ops::{self, Campaign, OutreachFilter, OutreachRow, Quota, QuotaProgress};
use crate::store::Role;
use crate::{Acting, Caller, Error, Store};

// ----------------------------------------------------------------------------------------------
// Input and labels

/// The first day an operations date may be (a quota's start or deadline, a campaign's ends, a
/// report schedule's start, a report's period day, an as-of day).
pub const FIRST_DAY: Date = time::macros::date!(2000 - 01 - 01);
/// The last day an operations date may be (see [`FIRST_DAY`]).
pub const LAST_DAY: Date = time::macros::date!(2100 - 12 - 31);
/// The largest quota target: more people than the country will have.
pub const MAX_TARGET: u64 = 200_000_000;

/// `day` if it lies in [`FIRST_DAY`]`..=`[`LAST_DAY`], else `ops.bad_date` naming `what` and
/// the range.
pub fn check_day(day: Date, what: &str) -> Result<Date, Error> {
    if (FIRST_DAY..=LAST_DAY).contains(&day) {
        Ok(day)
    } else {
        Err(Error::bad(
            "ops.bad_date",
            format!("{what} is a day from {FIRST_DAY} to {LAST_DAY}"),
        ))
    }
}

/// `target` if it is from `least` (1 for a quota set, 0 for a child's part of a split by hand:
/// a unit may be given nothing) to [`MAX_TARGET`], else `ops.bad_target`.
pub fn check_target(target: u64, least: u64) -> Result<u64, Error> {
    if (least..=MAX_TARGET).contains(&target) {
        Ok(target)
    } else {
        Err(Error::bad(
            "ops.bad_target",
            format!("a target is a whole number from {least} to {MAX_TARGET}"),
        ))
    }
}

/// Parses a `YYYY-MM-DD` day; `what` names the field (and is the error's code). A day outside
/// [`FIRST_DAY`]`..=`[`LAST_DAY`] is refused as `ops.bad_date` (see [`check_day`]).
pub fn parse_day(raw: &str, what: &'static str) -> Result<Date, Error> {
    let day = parse_iso_date(raw.trim())
        .ok_or_else(|| Error::bad(what, format!("{what} is a date, YYYY-MM-DD")))?;
    check_day(day, what)
}

/// The unit's name for display (2024 tree), or its code when the tree does not know it.
pub fn unit_name(code: &UnitCode) -> String {
    Units::get()
        .unit(Tree::Gso2024, code)
        .map_or_else(|| code.as_str().to_owned(), |u| u.name.clone())
}

/// A unit code of the 2024 tree.
use crate::register::parse_id;

/// What an audit line names when a request is refused before its input was checked: the code
/// as given when it is well formed, else `-` (never free text from the request).
fn unit_target(raw: &str) -> String {
    UnitCode::parse(raw.trim()).map_or_else(|_| "-".to_owned(), |u| u.as_str().to_owned())
}

fn id_target(raw: &str) -> String {
    PersonalId::parse(raw.trim()).map_or_else(|_| "-".to_owned(), |p| p.as_str().to_owned())
}

/// Passes `r` on, auditing a scope refusal of `action` on `target` as `denied`.
fn checked<T>(
    store: &dyn Store,
    acting: &Acting,
    action: &str,
    target: &str,
    r: Result<T, Error>,
) -> Result<T, Error> {
    if let Err(Error::ScopeDenied) = &r {
        acting.audit(store, action, target, "denied")?;
    }
    r
}

/// Today in Vietnam, by the acting request's time.
fn today(acting: &Acting) -> Date {
    acting.now.to_offset(vietnam()).date()
}

// ----------------------------------------------------------------------------------------------
// Scope

/// Who may set a quota for `unit`: the level above. The caller's unit must contain the quota's
/// unit and be above it; the ministry sets the provinces' and may set its own national one.
/// Auditors set none.
pub fn may_set_quota(caller: &Caller, unit: &UnitCode) -> bool {
    let above = caller.unit() != *unit || caller.role() == Role::Ministry;
    caller.role() != Role::Auditor
        && Units::get().contains(Tree::Gso2024, &caller.unit(), unit)
        && above
}

/// Who may see a quota: one whose unit lies inside the caller's, or one of their ancestors'
/// (the province's target is visible to its districts). Auditors see none.
pub fn may_see_quota(caller: &Caller, q: &Quota) -> bool {
    let units = Units::get();
    caller.role() != Role::Auditor
        && (units.contains(Tree::Gso2024, &caller.unit(), &q.unit)
            || units.contains(Tree::Gso2024, &q.unit, &caller.unit()))
}

/// Who may split a quota: a caller who sees it and whose unit contains the quota's (an
/// ancestor's quota is visible, but not theirs to split).
pub fn may_split_quota(caller: &Caller, q: &Quota) -> bool {
    may_see_quota(caller, q) && Units::get().contains(Tree::Gso2024, &caller.unit(), &q.unit)
}

// ----------------------------------------------------------------------------------------------
// Quotas

/// A quota the caller may see (see [`may_see_quota`]).
pub fn quota(store: &dyn Store, caller: &Caller, id: i64) -> Result<Quota, Error> {
    caller.not_auditor()?;
    let q = ops::quota(store, id)?
        .ok_or_else(|| Error::not_found("quota.not_found", "no quota has this id"))?;
    if !may_see_quota(caller, &q) {
        return Err(Error::ScopeDenied);
    }
    Ok(q)
}

/// The quotas of `unit` (or, with `subtree`, of every unit inside it) with their progress as of
/// the end of `as_of`. `unit` is one [`Caller::within`] gave.
pub fn quotas_with_progress(
    store: &dyn Store,
    caller: &Caller,
    unit: &UnitCode,
    subtree: bool,
    as_of: Date,
) -> Result<Vec<QuotaProgress>, Error> {
    caller.not_auditor()?;
    check_day(as_of, "as_of")?;
    let qs = ops::quotas(store, unit, subtree)?;
    let mut out = Vec::with_capacity(qs.len());
    for q in &qs {
        out.push(ops::progress_with_capacity(store, q, as_of)?);
    }
    Ok(out)
}

/// Sets a quota, by the level above (see [`may_set_quota`]), with a reason. Audited as
/// `quota.set` on the quota's unit.
pub fn set_quota(
    store: &dyn Store,
    acting: &Acting,
    q: &ops::NewQuota,
    reason: &str,
) -> Result<Quota, Error> {
    const ACTION: &str = "quota.set";
    if !may_set_quota(&acting.caller, &q.unit) {
        acting.audit(store, ACTION, q.unit.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    if reason.trim().is_empty() {
        return Err(Error::bad(
            "quota.reason",
            "say why the quota is set or changed",
        ));
    }
    check_day(q.start, "start")?;
    check_day(q.deadline, "deadline")?;
    check_target(q.target, 1)?;
    let r = ops::set_quota(store, q, acting.actor(), reason.trim(), acting.now);
    acting.audited(store, ACTION, q.unit.as_str(), r)
}

/// Splits a quota among the units below (see [`may_split_quota`]). Audited as `quota.split` on
/// the quota's id.
pub fn split(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    how: ops::Split,
) -> Result<Vec<Quota>, Error> {
    const ACTION: &str = "quota.split";
    let target = id.to_string();
    let q = checked(
        store,
        acting,
        ACTION,
        &target,
        quota(store, &acting.caller, id),
    )?;
    if !may_split_quota(&acting.caller, &q) {
        acting.audit(store, ACTION, &target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    if let ops::Split::Manual(parts) | ops::Split::ManualAccepting { parts, .. } = &how {
        for (_, part) in parts {
            check_target(*part, 0)?;
        }
    }
    let r = ops::split(store, id, how, acting.actor(), acting.now);
    acting.audited(store, ACTION, &target, r)
}

/// A quota's progress, its children with progress, the ranking of the units below, its history
/// and its daily counts.
pub struct QuotaDetail {
    pub progress: QuotaProgress,
    pub children: Vec<QuotaProgress>,
    pub ranking: Vec<Ranked<UnitCode>>,
    pub history: Vec<ops::QuotaChange>,
    /// Daily counts from the start to `as_of`, for the chart.
    pub daily: Vec<(i64, u64)>,
}

/// The detail of a quota the caller may see, as of the end of `as_of`.
pub fn detail(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    as_of: Date,
) -> Result<QuotaDetail, Error> {
    check_day(as_of, "as_of")?;
    let q = quota(store, caller, id)?;
    let progress = ops::progress_with_capacity(store, &q, as_of)?;
    let mut children = Vec::new();
    for k in ops::children(store, q.id)? {
        children.push(ops::progress_with_capacity(store, &k, as_of)?);
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
}

/// Intake capacity of a visible quota's unit against what remains of it on `today`.
pub fn capacity(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<ops::Capacity, Error> {
    check_day(today, "as_of")?;
    let q = quota(store, caller, id)?;
    let p = ops::progress_of(store, &q, today)?;
    Ok(ops::capacity(
        store,
        &q.unit,
        p.progress.remaining,
        p.progress.days_left,
    )?)
}

/// Emulation: points for % of quota (capped) and for timely reports, per child unit: `(unit,
/// percent, score, rank)`.
pub fn leaderboard(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    as_of: Date,
) -> Result<Vec<(UnitCode, f64, f64, usize)>, Error> {
    check_day(as_of, "as_of")?;
    let q = quota(store, caller, id)?;
    let statuses = ops::report_status(store, &q.unit, as_of)?;
    let mut scores = Vec::new();
    for k in ops::children(store, q.id)? {
        let p = ops::progress_of(store, &k, as_of)?;
        let reports: Vec<Timeliness> = statuses
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
    let board = campaign::leaderboard(&scores.iter().map(|(u, _, s)| (*u, *s)).collect::<Vec<_>>());
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
}

/// The ministry's national view (see [`ops::national`]): for staff of the nation only (the
/// ministry's officers), in the 2024 tree or re-aggregated into the 2025 one.
pub fn national(
    store: &dyn Store,
    caller: &Caller,
    tree: Tree,
    as_of: Date,
) -> Result<ops::National, Error> {
    caller.not_auditor()?;
    if caller.unit() != UnitCode::NATION {
        return Err(Error::ScopeDenied);
    }
    check_day(as_of, "as_of")?;
    Ok(ops::national(store, tree, as_of)?)
}

// ----------------------------------------------------------------------------------------------
// The unit picker

/// The most units a search of the unit picker returns.
pub const PICK_LIMIT: usize = 50;

/// Units inside the caller's (their own included) whose folded name contains the folded
/// `query` ("hoa" finds "Tỉnh Thanh Hóa" and "Xã Hòa Bình"), provinces first, then districts,
/// then communes, each in code order: at most [`PICK_LIMIT`], and how many match in all. An
/// empty query matches nothing.
pub fn find_units(
    caller: &Caller,
    query: &str,
) -> Result<(Vec<&'static eid_domain::Unit>, usize), Error> {
    caller.not_auditor()?;
    let q = eid_domain::fold(query.trim());
    if q.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let units = Units::get();
    let mut found: Vec<&'static eid_domain::Unit> = Vec::new();
    let mut level: Vec<&'static eid_domain::Unit> = match units.unit(Tree::Gso2024, &caller.unit())
    {
        Some(u) => vec![u],
        None => units.provinces(Tree::Gso2024),
    };
    while !level.is_empty() {
        found.extend(level.iter().filter(|u| u.folded.contains(&q)));
        level = level
            .iter()
            .flat_map(|u| units.children(Tree::Gso2024, &u.code))
            .collect();
    }
    let total = found.len();
    found.truncate(PICK_LIMIT);
    Ok((found, total))
}

// ----------------------------------------------------------------------------------------------
// Counters

/// A metric counted from account events, by name.
fn counted_metric(raw: &str) -> Result<campaign::Metric, Error> {
    campaign::Metric::parse(raw)
        .filter(|m| ops::counted(*m))
        .ok_or_else(|| {
            Error::bad(
                "metric.invalid",
                "metric is one counted from account events",
            )
        })
}

/// Daily counts of a metric in a unit inside the caller's (their own by default), from `from`
/// to `to` (at most ten years).
pub fn series(
    store: &dyn Store,
    caller: &Caller,
    unit: Option<&str>,
    metric: &str,
    from: &str,
    to: &str,
) -> Result<(UnitCode, Vec<(i64, u64)>), Error> {
    caller.not_auditor()?;
    let unit = caller.within(unit)?;
    let metric = counted_metric(metric)?;
    let (from, to) = (parse_day(from, "from")?, parse_day(to, "to")?);
    if to < from || (to - from).whole_days() > 3660 {
        return Err(Error::bad(
            "series.range",
            "from..to is at most ten years, in order",
        ));
    }
    let rows = ops::daily(
        store,
        metric.as_str(),
        &unit,
        day_number(from),
        day_number(to),
    )?;
    Ok((unit, rows))
}

/// History re-aggregated into the 2025 provinces, for the provinces the caller sees: every one
/// for the nation, else the one their 2024 province became.
pub fn provinces_2025(
    store: &dyn Store,
    caller: &Caller,
    metric: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(UnitCode, u64)>, Error> {
    caller.not_auditor()?;
    let metric = counted_metric(metric)?;
    let (from, to) = (parse_day(from, "from")?, parse_day(to, "to")?);
    let rows = ops::by_province_2025(store, metric.as_str(), day_number(from), day_number(to))?;
    let units = Units::get();
    let mine: Vec<UnitCode> = match caller.unit().level() {
        Level::Nation => rows.iter().map(|(u, _)| *u).collect(),
        _ => {
            let old_province = units
                .ancestors(Tree::Gso2024, &caller.unit())
                .into_iter()
                .chain(units.unit(Tree::Gso2024, &caller.unit()))
                .find(|u| u.level == Level::Province)
                .map(|u| u.code);
            old_province
                .and_then(|p| units.province_2025_for_2024(&p))
                .map(|u| vec![u.code])
                .unwrap_or_default()
        }
    };
    Ok(rows.into_iter().filter(|(u, _)| mine.contains(u)).collect())
}

// ----------------------------------------------------------------------------------------------
// Outreach and proposals

/// The outreach list of a commune inside the caller's unit. Audited as `outreach.list`: it
/// lists people.
pub fn outreach(
    store: &dyn Store,
    acting: &Acting,
    commune: &str,
    f: &OutreachFilter,
) -> Result<(UnitCode, Vec<OutreachRow>), Error> {
    const ACTION: &str = "outreach.list";
    let unit = checked(
        store,
        acting,
        ACTION,
        &unit_target(commune),
        acting.caller.within(Some(commune)),
    )?;
    if unit.level() != Level::Commune {
        return Err(Error::bad(
            "unit.not_commune",
            "outreach lists are per commune: give a commune code",
        ));
    }
    let rows = ops::outreach(store, &unit, today(acting), f)?;
    acting.audit(store, ACTION, unit.as_str(), "ok")?;
    Ok((unit, rows))
}

/// Assigns 1 to 1,000 people of a commune inside the caller's unit to a team with a due date.
/// Audited as `outreach.assign` on the commune.
pub fn assign(
    store: &dyn Store,
    acting: &Acting,
    commune: &str,
    ids: &[String],
    assignee: &str,
    due: Date,
) -> Result<u64, Error> {
    const ACTION: &str = "outreach.assign";
    let unit = checked(
        store,
        acting,
        ACTION,
        &unit_target(commune),
        acting.caller.within(Some(commune)),
    )?;
    check_day(due, "due")?;
    let ids = ids
        .iter()
        .map(|i| parse_id(i))
        .collect::<Result<Vec<PersonalId>, _>>()?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(Error::bad(
            "outreach.ids",
            "assign 1 to 1,000 people at a time",
        ));
    }
    let r = ops::assign(
        store,
        &unit,
        &ids,
        assignee,
        due,
        acting.actor(),
        acting.now,
    );
    acting.audited(store, ACTION, unit.as_str(), r)
}

/// Records a contact's outcome for a person the caller sees; returns the proposed register
/// change's id when the outcome makes one. Audited as `outreach.contact` on the person.
pub fn contact(
    store: &dyn Store,
    acting: &Acting,
    id: &str,
    outcome: &str,
    note: &str,
) -> Result<Option<i64>, Error> {
    const ACTION: &str = "outreach.contact";
    checked(
        store,
        acting,
        ACTION,
        &id_target(id),
        acting.caller.not_auditor(),
    )?;
    let id = parse_id(id)?;
    let p = store
        .person(&id)?
        .ok_or_else(|| Error::not_found("person.not_found", "no person has this personal ID"))?;
    if !acting.caller.sees(&p.person.residence.unit) {
        acting.audit(store, ACTION, id.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    let r = ops::record_contact(store, &id, outcome, note, acting.actor(), acting.now);
    acting.audited(store, ACTION, id.as_str(), r)
}

/// Open proposed register changes in the caller's unit.
pub fn proposals(store: &dyn Store, caller: &Caller) -> Result<Vec<ops::Proposal>, Error> {
    caller.not_auditor()?;
    Ok(ops::proposals(store, &caller.unit())?)
}

/// Confirms or dismisses a proposed register change in the caller's unit. Audited as
/// `proposal.decide` on the proposal's id.
pub fn decide(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    confirm: bool,
) -> Result<ops::Proposal, Error> {
    const ACTION: &str = "proposal.decide";
    let target = id.to_string();
    checked(store, acting, ACTION, &target, acting.caller.not_auditor())?;
    let staff = &acting.caller.staff;
    let r = ops::decide_proposal(
        store,
        id,
        confirm,
        acting.actor(),
        &|u| staff.sees(u),
        acting.now,
    );
    acting.audited(store, ACTION, &target, r)
}

// ----------------------------------------------------------------------------------------------
// Campaigns and reports

/// Peak campaigns over, above or below the caller's unit, with the average daily applications
/// before and during each (up to `as_of`).
pub fn campaigns(
    store: &dyn Store,
    caller: &Caller,
    as_of: Date,
) -> Result<Vec<(Campaign, f64, f64)>, Error> {
    caller.not_auditor()?;
    check_day(as_of, "as_of")?;
    let mut out = Vec::new();
    for c in ops::campaigns(store, &caller.unit())? {
        let (before, during) = ops::campaign_rates(
            store,
            &c,
            crate::accounts::metric::APPLICATIONS_COLLECTED,
            as_of,
        )?;
        out.push((c, before, during));
    }
    Ok(out)
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
pub fn add_campaign(
    store: &dyn Store,
    acting: &Acting,
    c: &NewCampaign,
) -> Result<Campaign, Error> {
    let unit = acting.caller.within(Some(&c.unit))?;
    check_day(c.start, "start")?;
    check_day(c.end, "end")?;
    Ok(ops::add_campaign(
        store,
        &c.name,
        &c.slogan,
        &unit,
        c.start,
        c.end,
        acting.actor(),
        acting.now,
    )?)
}

/// Reporting duties towards the caller's unit (and below), each period on time, late, missing
/// or not due on `today`.
pub fn reports(
    store: &dyn Store,
    caller: &Caller,
    today: Date,
) -> Result<Vec<ops::ReportStatus>, Error> {
    caller.not_auditor()?;
    check_day(today, "as_of")?;
    Ok(ops::report_status(store, &caller.unit(), today)?)
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
pub fn add_schedule(
    store: &dyn Store,
    acting: &Acting,
    s: &NewSchedule,
) -> Result<ops::ReportSchedule, Error> {
    let unit = acting.caller.within(Some(&s.unit))?;
    check_day(s.start, "start")?;
    Ok(ops::add_schedule(
        store,
        &s.agency,
        &unit,
        s.schedule,
        s.grace_days,
        s.start,
        acting.actor(),
        acting.now,
    )?)
}

/// Submits the report of the period containing `period_day`. Only the reporting unit's own
/// officers submit (staff whose unit is the schedule's unit): neither the units below it nor
/// those above. Audited as `report.submit` on the schedule's id; a refusal as `denied`.
pub fn submit_report(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    period_day: Date,
    body: &str,
) -> Result<(), Error> {
    const ACTION: &str = "report.submit";
    let target = id.to_string();
    checked(store, acting, ACTION, &target, acting.caller.not_auditor())?;
    check_day(period_day, "period_day")?;
    let sched = ops::schedules(store, &UnitCode::NATION)?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Error::not_found("report.schedule_not_found", "no schedule has this id"))?;
    if acting.caller.unit() != sched.unit {
        acting.audit(store, ACTION, &target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    let r = ops::submit_report(store, id, period_day, body, acting.actor(), acting.now);
    acting.audited(store, ACTION, &target, r)
}

// Reported figures: their use cases live in `reported_service`.
pub use super::reported_service::*;
// Cohorts and quotas as a share of a base: `cohort_service`.
pub use super::cohort_service::*;
