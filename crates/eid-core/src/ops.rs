//! Project 06 operations: quotas (chỉ tiêu) and their splits, progress from the per-unit,
//! per-day counters that account transitions roll up, eligible-population denominators,
//! rankings, peak campaigns, intake capacity, outreach lists with contacts and proposed register
//! changes, and periodic reports.
//!
//! The arithmetic is `eid_domain::campaign`'s; this module reads and writes the tables (through
//! [`crate::sql`], once for both engines) and feeds it.

use std::collections::HashMap;

use eid_domain::campaign::{
    self, Progress, ProgressInput, RankInput, Ranked, Schedule, Timeliness,
};
use eid_domain::{
    iso, redact, AccountLevel, AccountState, ApplicationState, Level, Metric, PersonalId,
    ProposalState, Tree, UnitCode, Units,
};
use time::{Date, Duration, OffsetDateTime};

use crate::accounts::{day_date, day_number, day_of};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{path_range, to_ms, unit_path, Actor, Store, StoreError};

/// Why an operations change was refused. Messages carry no personal data.
#[derive(Debug)]
pub enum OpsError {
    Invalid(&'static str, String),
    NotFound(&'static str),
    /// The record changed since it was read (optimistic version check).
    Stale,
    Store(StoreError),
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> OpsError {
        OpsError::Store(e)
    }
}

impl std::fmt::Display for OpsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpsError::Invalid(_, why) => f.write_str(why),
            OpsError::NotFound(what) => write!(f, "not found: {what}"),
            OpsError::Stale => {
                f.write_str("it was changed by someone else since you read it; reload")
            }
            OpsError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl OpsError {
    pub fn code(&self) -> &'static str {
        match self {
            OpsError::Invalid(code, _) | OpsError::NotFound(code) => code,
            OpsError::Stale => "ops.stale",
            OpsError::Store(_) => "internal",
        }
    }
}

/// Whether a metric is counted from account events (`unit_day_count`); cards issued are
/// counted from the register.
pub const fn counted(m: Metric) -> bool {
    match m {
        Metric::ApplicationsCollected
        | Metric::Level1Activated
        | Metric::Level2Activated
        | Metric::AccountsActivated => true,
        Metric::CardsIssued => false,
    }
}

/// A stored value that names no state or metric: the database holds what the code does not know.
fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// The minimum age counted in account denominators.
pub const ELIGIBLE_AGE: i32 = 14;

// ----------------------------------------------------------------------------------------------
// Counters

/// The `[lo, hi)` residence-path range of a unit (2024 tree).
fn range(unit: &UnitCode) -> Result<(i64, i64), OpsError> {
    path_range(unit).ok_or(OpsError::Invalid(
        "unit.unknown",
        "the unit is not in the 2024 tree".into(),
    ))
}

/// Total of `metric` inside `unit` on days `from..=to`.
pub fn done(
    store: &dyn Store,
    metric: &str,
    unit: &UnitCode,
    from: i64,
    to: i64,
) -> Result<u64, OpsError> {
    let r = range(unit)?;
    Ok(crate::accounts::count(store, metric, r, from, to)?
        .max(0)
        .unsigned_abs())
}

/// Daily totals of `metric` inside `unit` on days `from..=to` (days without events are 0).
pub fn daily(
    store: &dyn Store,
    metric: &str,
    unit: &UnitCode,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, u64)>, OpsError> {
    let (lo, hi) = range(unit)?;
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM unit_day_count WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 GROUP BY day ORDER BY day",
            &[metric.into(), lo.into(), hi.into(), from.into(), to.into()],
        )
    })?;
    let mut by_day: HashMap<i64, u64> = HashMap::new();
    for r in rows {
        let d = r.first().cloned().unwrap_or(Val::Null).int()?;
        let n = r.get(1).cloned().unwrap_or(Val::Null).int()?;
        by_day.insert(d, n.max(0).unsigned_abs());
    }
    Ok((from..=to)
        .map(|d| (d, by_day.get(&d).copied().unwrap_or(0)))
        .collect())
}

/// Totals of `metric` on days `from..=to` for each direct child of `unit` (2024 tree), in one
/// range scan over the counters: the child a commune's path falls in is found by its range.
pub fn by_child(
    store: &dyn Store,
    metric: &str,
    unit: &UnitCode,
    from: i64,
    to: i64,
) -> Result<Vec<(UnitCode, u64)>, OpsError> {
    let (lo, hi) = range(unit)?;
    let children: Vec<(UnitCode, (i64, i64))> = Units::get()
        .children(Tree::Gso2024, unit)
        .iter()
        .filter_map(|c| path_range(&c.code).map(|r| (c.code, r)))
        .collect();
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT res_path, CAST(SUM(n) AS BIGINT) FROM unit_day_count WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5 GROUP BY res_path",
            &[metric.into(), lo.into(), hi.into(), from.into(), to.into()],
        )
    })?;
    let mut totals = vec![0u64; children.len()];
    for r in rows {
        let path = r.first().cloned().unwrap_or(Val::Null).int()?;
        let n = r
            .get(1)
            .cloned()
            .unwrap_or(Val::Null)
            .int()?
            .max(0)
            .unsigned_abs();
        if let Some(i) = children
            .iter()
            .position(|(_, (a, b))| path >= *a && path < *b)
        {
            if let Some(t) = totals.get_mut(i) {
                *t += n;
            }
        }
    }
    Ok(children.into_iter().map(|(c, _)| c).zip(totals).collect())
}

/// Totals of `metric` per 2025 province for counters recorded in the 2024 tree: the history
/// re-aggregated into the two-level tree in force since 1 July 2025. Every 2024 province maps
/// to exactly one 2025 province, so nothing is left over at this level.
pub fn by_province_2025(
    store: &dyn Store,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(UnitCode, u64)>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT res_path / 100000000, CAST(SUM(n) AS BIGINT) FROM unit_day_count WHERE metric = $1 AND day >= $2 AND day <= $3 \
             GROUP BY res_path / 100000000",
            &[metric.into(), from.into(), to.into()],
        )
    })?;
    let units = Units::get();
    let mut out: HashMap<UnitCode, u64> = HashMap::new();
    for r in rows {
        let p = r.first().cloned().unwrap_or(Val::Null).int()?;
        let n = r
            .get(1)
            .cloned()
            .unwrap_or(Val::Null)
            .int()?
            .max(0)
            .unsigned_abs();
        let Some(old) = u8::try_from(p)
            .ok()
            .and_then(|p| UnitCode::province(p).ok())
        else {
            continue;
        };
        if let Some(new) = units.province_2025_for_2024(&old) {
            *out.entry(new.code).or_default() += n;
        }
    }
    let mut v: Vec<(UnitCode, u64)> = out.into_iter().collect();
    v.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(v)
}

// ----------------------------------------------------------------------------------------------
// Eligible population

/// People who count in account denominators, per commune under `unit`: alive and present
/// (not dead, emigrated or recorded absent) and at least 14 on `today`. A birth date known only
/// by its year counts from 1 January.
pub fn eligible_by_commune(
    store: &dyn Store,
    unit: &UnitCode,
    today: Date,
) -> Result<HashMap<UnitCode, u64>, OpsError> {
    let (lo, hi) = range(unit)?;
    let cutoff = eid_domain::birthday_cutoff(today, ELIGIBLE_AGE);
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT residence_unit, count(*) FROM person WHERE res_path >= $1 AND res_path < $2 \
             AND life_status = 'alive' AND birth_date <= $3 GROUP BY residence_unit",
            &[lo.into(), hi.into(), cutoff.into()],
        )
    })?;
    let mut out = HashMap::new();
    for r in rows {
        let code = r.first().cloned().unwrap_or(Val::Null).text()?;
        let n = r
            .get(1)
            .cloned()
            .unwrap_or(Val::Null)
            .int()?
            .max(0)
            .unsigned_abs();
        let u = UnitCode::parse(&code)
            .map_err(|e| StoreError::Corrupt(format!("residence unit: {e}")))?;
        out.insert(u, n);
    }
    Ok(out)
}

/// The eligible population of each direct child of `unit`.
pub fn eligible_by_child(
    store: &dyn Store,
    unit: &UnitCode,
    today: Date,
) -> Result<Vec<(UnitCode, u64)>, OpsError> {
    let communes = eligible_by_commune(store, unit, today)?;
    let units = Units::get();
    Ok(units
        .children(Tree::Gso2024, unit)
        .iter()
        .map(|c| {
            let n = communes
                .iter()
                .filter(|(k, _)| units.contains(Tree::Gso2024, &c.code, k))
                .map(|(_, n)| *n)
                .sum();
            (c.code, n)
        })
        .collect())
}

// ----------------------------------------------------------------------------------------------
// Quotas

/// A quota: a target for a unit and a metric, optionally for a cohort, by a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub id: i64,
    pub unit: UnitCode,
    pub metric: Metric,
    /// Empty for the whole population; else the cohort's name (a department, a school …).
    pub cohort: String,
    pub target: u64,
    /// Counting starts on this day.
    pub start: Date,
    pub deadline: Date,
    pub parent_id: Option<i64>,
    pub set_by: Actor,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

const QUOTA_COLS: &str =
    "id, unit, metric, cohort, target, start_day, deadline, parent_id, set_by, updated_at, version";

fn quota_from(r: &SqlRow) -> Result<Quota, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Quota {
        id: g(0).int()?,
        unit: UnitCode::parse(&g(1).text()?)
            .map_err(|e| StoreError::Corrupt(format!("quota unit: {e}")))?,
        metric: {
            let m = g(2).text()?;
            Metric::parse(&m).ok_or_else(|| corrupt("quota metric", format!("{m:?}")))?
        },
        cohort: g(3).text()?,
        target: g(4).int()?.max(0).unsigned_abs(),
        start: day_date(g(5).int()?),
        deadline: day_date(g(6).int()?),
        parent_id: g(7).opt_int()?,
        set_by: Actor::from_db(&g(8).text()?),
        updated_at: crate::store::from_ms(g(9).int()?),
        version: g(10).int()?,
    })
}

/// A quota to set.
#[derive(Debug, Clone)]
pub struct NewQuota {
    pub unit: UnitCode,
    /// As given; [`set_quota`] refuses a name that is no [`Metric`].
    pub metric: String,
    pub cohort: String,
    pub target: u64,
    pub start: Date,
    pub deadline: Date,
    pub parent_id: Option<i64>,
}

fn check_metric(m: &str) -> Result<(), OpsError> {
    if campaign::Metric::parse(m).is_none() {
        return Err(OpsError::Invalid(
            "quota.metric",
            "metric is applications_collected, level1_activated, level2_activated, accounts_activated or cards_issued"
                .into(),
        ));
    }
    Ok(())
}

fn insert_quota(
    tx: &mut dyn Tx,
    q: &NewQuota,
    actor: &Actor,
    reason: &str,
    now: OffsetDateTime,
) -> Result<i64, OpsError> {
    let existing = tx.row(
        "SELECT id, target FROM quota WHERE unit = $1 AND metric = $2 AND cohort = $3 AND deadline = $4",
        &[q.unit.as_str().into(), q.metric.as_str().into(), q.cohort.as_str().into(), day_number(q.deadline).into()],
    )?;
    let target = i64::try_from(q.target)
        .map_err(|_| OpsError::Invalid("quota.target", "target too large".into()))?;
    let (id, old) = match existing {
        Some(r) => {
            let id = r.first().cloned().unwrap_or(Val::Null).int()?;
            let old = r.get(1).cloned().unwrap_or(Val::Null).int()?;
            tx.exec(
                "UPDATE quota SET target = $1, start_day = $2, parent_id = COALESCE($3, parent_id), set_by = $4, updated_at = $5, \
                 version = version + 1 WHERE id = $6",
                &[target.into(), day_number(q.start).into(), q.parent_id.into(), actor.to_db().into(), to_ms(now).into(), id.into()],
            )?;
            (id, Some(old))
        }
        None => {
            let id = tx.int(
                "INSERT INTO quota (unit, metric, cohort, target, start_day, deadline, parent_id, set_by, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id",
                &[
                    q.unit.as_str().into(),
                    q.metric.as_str().into(),
                    q.cohort.as_str().into(),
                    target.into(),
                    day_number(q.start).into(),
                    day_number(q.deadline).into(),
                    q.parent_id.into(),
                    actor.to_db().into(),
                    to_ms(now).into(),
                ],
            )?;
            (id, None)
        }
    };
    tx.exec(
        "INSERT INTO quota_change (quota_id, at, actor, old_target, new_target, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        &[id.into(), to_ms(now).into(), actor.to_db().into(), old.into(), target.into(), reason.into()],
    )?;
    Ok(id)
}

/// Sets a quota (creates it, or changes the target of the one with the same unit, metric,
/// cohort and deadline); the change is kept with who, when and why.
pub fn set_quota(
    store: &dyn Store,
    q: &NewQuota,
    actor: &Actor,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Quota, OpsError> {
    check_metric(&q.metric)?;
    if q.deadline < q.start {
        return Err(OpsError::Invalid(
            "quota.dates",
            "the deadline is before the start".into(),
        ));
    }
    if q.cohort.chars().count() > 100 {
        return Err(OpsError::Invalid(
            "quota.cohort",
            "a cohort name has at most 100 characters".into(),
        ));
    }
    if Units::get().unit(Tree::Gso2024, &q.unit).is_none() {
        return Err(OpsError::Invalid(
            "unit.unknown",
            "the unit is not in the 2024 tree".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        let id = insert_quota(tx, q, actor, reason, now)?;
        quota_in(tx, id)?.ok_or(OpsError::NotFound("quota.not_found"))
    })
}

fn quota_in(tx: &mut dyn Tx, id: i64) -> Result<Option<Quota>, StoreError> {
    let sql = format!("SELECT {QUOTA_COLS} FROM quota WHERE id = $1");
    tx.row(&sql, &[id.into()])?
        .as_ref()
        .map(quota_from)
        .transpose()
}

/// A quota by id.
pub fn quota(store: &dyn Store, id: i64) -> Result<Option<Quota>, StoreError> {
    sql::read(store.db(), |tx| quota_in(tx, id))
}

/// Quotas whose unit is `unit` itself or, with `subtree`, anywhere inside it.
pub fn quotas(store: &dyn Store, unit: &UnitCode, subtree: bool) -> Result<Vec<Quota>, StoreError> {
    let all: Vec<Quota> = sql::read(store.db(), |tx| {
        let sql = format!("SELECT {QUOTA_COLS} FROM quota ORDER BY deadline, metric, cohort, unit");
        tx.query(&sql, &[])?
            .iter()
            .map(quota_from)
            .collect::<Result<Vec<_>, _>>()
    })?;
    let units = Units::get();
    Ok(all
        .into_iter()
        .filter(|q| {
            if subtree {
                units.contains(Tree::Gso2024, unit, &q.unit)
            } else {
                q.unit == *unit
            }
        })
        .collect())
}

/// The child quotas of a quota.
pub fn children(store: &dyn Store, parent: i64) -> Result<Vec<Quota>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!("SELECT {QUOTA_COLS} FROM quota WHERE parent_id = $1 ORDER BY unit");
        tx.query(&sql, &[parent.into()])?
            .iter()
            .map(quota_from)
            .collect()
    })
}

/// One change of a quota's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaChange {
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub old_target: Option<u64>,
    pub new_target: u64,
    pub reason: String,
}

/// Every change of a quota, oldest first.
pub fn quota_history(store: &dyn Store, id: i64) -> Result<Vec<QuotaChange>, StoreError> {
    sql::read(store.db(), |tx| {
        tx.query(
            "SELECT at, actor, old_target, new_target, reason FROM quota_change WHERE quota_id = $1 ORDER BY seq",
            &[id.into()],
        )?
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok(QuotaChange {
                at: crate::store::from_ms(g(0).int()?),
                actor: Actor::from_db(&g(1).text()?),
                old_target: g(2).opt_int()?.map(|n| n.max(0).unsigned_abs()),
                new_target: g(3).int()?.max(0).unsigned_abs(),
                reason: g(4).text()?,
            })
        })
        .collect()
    })
}

/// How to split a quota down to the units below.
pub enum Split {
    /// In proportion to the eligible population of each child unit (largest remainder, so the
    /// parts add up exactly).
    Proportional { today: Date },
    /// By hand: a target per child unit.
    Manual(Vec<(UnitCode, u64)>),
}

/// Splits a quota to the direct children of its unit; each child quota has the same metric,
/// cohort, start and deadline. Returns the child quotas.
pub fn split(
    store: &dyn Store,
    parent_id: i64,
    how: Split,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Vec<Quota>, OpsError> {
    let parent = quota(store, parent_id)?.ok_or(OpsError::NotFound("quota.not_found"))?;
    let units = Units::get();
    let kids: Vec<UnitCode> = units
        .children(Tree::Gso2024, &parent.unit)
        .iter()
        .map(|u| u.code)
        .collect();
    if kids.is_empty() {
        return Err(OpsError::Invalid(
            "quota.no_children",
            "a commune's quota cannot be split further".into(),
        ));
    }
    let parts: Vec<(UnitCode, u64)> = match how {
        Split::Proportional { today } => {
            let weights = eligible_by_child(store, &parent.unit, today)?;
            campaign::split_proportional(parent.target, &weights)
        }
        Split::Manual(parts) => {
            for (u, _) in &parts {
                if !kids.contains(u) {
                    return Err(OpsError::Invalid(
                        "quota.not_a_child",
                        format!(
                            "{} is not directly below {}",
                            u.as_str(),
                            parent.unit.as_str()
                        ),
                    ));
                }
            }
            parts
        }
    };
    let reason = format!("split from quota {parent_id}");
    sql::transact(store.db(), |tx| {
        let mut out = Vec::new();
        for (unit, target) in &parts {
            let q = NewQuota {
                unit: *unit,
                metric: parent.metric.as_str().to_owned(),
                cohort: parent.cohort.clone(),
                target: *target,
                start: parent.start,
                deadline: parent.deadline,
                parent_id: Some(parent_id),
            };
            let id = insert_quota(tx, &q, actor, &reason, now)?;
            if let Some(q) = quota_in(tx, id)? {
                out.push(q);
            }
        }
        Ok(out)
    })
}

/// A quota with its progress on a day.
#[derive(Debug, Clone)]
pub struct QuotaProgress {
    pub quota: Quota,
    pub done: u64,
    pub last_7_days: u64,
    pub progress: Progress,
    /// Sum of the child quotas' targets, when there are children, and whether they add up.
    pub children_sum: Option<u64>,
}

/// Progress of a quota as of the end of `as_of`. Cohort quotas count the unit's events too
/// (the register does not yet record cohort membership; see ARCHITECTURE.md).
pub fn progress_of(store: &dyn Store, q: &Quota, as_of: Date) -> Result<QuotaProgress, OpsError> {
    let to = day_number(as_of);
    let from = day_number(q.start);
    let (done_n, last7) = if counted(q.metric) {
        (
            done(store, q.metric.as_str(), &q.unit, from, to)?,
            done(store, q.metric.as_str(), &q.unit, (to - 6).max(from), to)?,
        )
    } else {
        cards_issued(store, &q.unit, q.start, as_of)?
    };
    let progress = campaign::progress(&ProgressInput {
        target: q.target,
        done: done_n,
        as_of,
        deadline: q.deadline,
        last_7_days: last7,
    });
    let kids = children(store, q.id)?;
    Ok(QuotaProgress {
        quota: q.clone(),
        done: done_n,
        last_7_days: last7,
        progress,
        children_sum: (!kids.is_empty()).then(|| kids.iter().map(|k| k.target).sum()),
    })
}

/// Cards issued to residents of `unit` from `from` to `to`, and in the last 7 days to `to`,
/// read from the register's card dates (the one metric not rolled up from account events).
fn cards_issued(
    store: &dyn Store,
    unit: &UnitCode,
    from: Date,
    to: Date,
) -> Result<(u64, u64), OpsError> {
    let (lo, hi) = range(unit)?;
    let week = (to - Duration::days(6)).max(from);
    let n = |a: Date, b: Date| -> Result<u64, OpsError> {
        Ok(sql::read(store.db(), |tx| {
            tx.int(
                "SELECT count(*) FROM person WHERE res_path >= $1 AND res_path < $2 AND card_issued >= $3 AND card_issued <= $4",
                &[lo.into(), hi.into(), iso(a).into(), iso(b).into()],
            )
        })?
        .max(0)
        .unsigned_abs())
    };
    Ok((n(from, to)?, n(week, to)?))
}

/// The ranking of the child units of `parent`'s unit by % of their quota (the children of
/// `parent`), with the change since the day before `as_of`.
pub fn ranking(
    store: &dyn Store,
    parent: &Quota,
    as_of: Date,
) -> Result<Vec<Ranked<UnitCode>>, OpsError> {
    let kids = children(store, parent.id)?;
    let to = day_number(as_of);
    let from = day_number(parent.start);
    let mut rows = Vec::new();
    if counted(parent.metric) {
        let today = by_child(store, parent.metric.as_str(), &parent.unit, from, to)?;
        let yesterday_day = by_child(store, parent.metric.as_str(), &parent.unit, to, to)?;
        for k in &kids {
            let t = today
                .iter()
                .find(|(u, _)| *u == k.unit)
                .map_or(0, |(_, n)| *n);
            let d = yesterday_day
                .iter()
                .find(|(u, _)| *u == k.unit)
                .map_or(0, |(_, n)| *n);
            rows.push(RankInput {
                key: k.unit,
                done_today: t,
                done_yesterday: t - d.min(t),
                target: k.target,
            });
        }
    } else {
        for k in &kids {
            let (t, _) = cards_issued(store, &k.unit, k.start, as_of)?;
            let (y, _) = cards_issued(store, &k.unit, k.start, as_of - Duration::days(1))?;
            rows.push(RankInput {
                key: k.unit,
                done_today: t,
                done_yesterday: y,
                target: k.target,
            });
        }
    }
    Ok(campaign::rank(&rows))
}

// ----------------------------------------------------------------------------------------------
// Peak campaigns and capacity

/// A peak campaign (đợt cao điểm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub slogan: String,
    pub unit: UnitCode,
    pub start: Date,
    pub end: Date,
}

/// Records a peak campaign over a unit's subtree.
#[allow(clippy::too_many_arguments)]
pub fn add_campaign(
    store: &dyn Store,
    name: &str,
    slogan: &str,
    unit: &UnitCode,
    start: Date,
    end: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Campaign, OpsError> {
    let (name, slogan) = (name.trim(), slogan.trim());
    if name.is_empty() || name.chars().count() > 200 || slogan.chars().count() > 300 {
        return Err(OpsError::Invalid(
            "campaign.name",
            "a campaign needs a name (up to 200 characters) and a slogan up to 300".into(),
        ));
    }
    if end < start {
        return Err(OpsError::Invalid(
            "campaign.dates",
            "the campaign ends before it starts".into(),
        ));
    }
    range(unit)?;
    sql::transact(store.db(), |tx| {
        let id = tx.int(
            "INSERT INTO campaign (name, slogan, unit, start_day, end_day, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[name.into(), slogan.into(), unit.as_str().into(), day_number(start).into(), day_number(end).into(), actor.to_db().into(), to_ms(now).into()],
        )?;
        Ok(Campaign {
            id,
            name: name.to_owned(),
            slogan: slogan.to_owned(),
            unit: *unit,
            start,
            end,
        })
    })
}

/// Campaigns over `unit`, its ancestors or its descendants, latest first.
pub fn campaigns(store: &dyn Store, unit: &UnitCode) -> Result<Vec<Campaign>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, name, slogan, unit, start_day, end_day FROM campaign ORDER BY start_day DESC, id DESC", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let u = UnitCode::parse(&g(3).text()?)
            .map_err(|e| StoreError::Corrupt(format!("campaign unit: {e}")))?;
        if units.contains(Tree::Gso2024, &u, unit) || units.contains(Tree::Gso2024, unit, &u) {
            out.push(Campaign {
                id: g(0).int()?,
                name: g(1).text()?,
                slogan: g(2).text()?,
                unit: u,
                start: day_date(g(4).int()?),
                end: day_date(g(5).int()?),
            });
        }
    }
    Ok(out)
}

/// The average daily count of `metric` in the campaign's unit before it (the same number of
/// days) and during it (up to `as_of`).
pub fn campaign_rates(
    store: &dyn Store,
    c: &Campaign,
    metric: &str,
    as_of: Date,
) -> Result<(f64, f64), OpsError> {
    let start = day_number(c.start);
    let end = day_number(c.end.min(as_of));
    if end < start {
        return Ok((0.0, 0.0));
    }
    let days = end - start + 1;
    let during = done(store, metric, &c.unit, start, end)?;
    let before = done(store, metric, &c.unit, start - days, start - 1)?;
    Ok((before as f64 / days as f64, during as f64 / days as f64))
}

/// Intake capacity of a unit against what remains of a quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub devices: u32,
    /// Sum of the active devices' daily capacity.
    pub per_day: u64,
    /// Days of full-capacity work the remaining applications need (None: no capacity).
    pub days_needed: Option<u64>,
    pub days_left: i64,
    /// More devices (of the average capacity) that would meet the deadline; 0 if enough.
    pub more_devices: u64,
}

/// Capacity of `unit`'s active intake devices for `remaining` applications in `days_left`.
pub fn capacity(
    store: &dyn Store,
    unit: &UnitCode,
    remaining: u64,
    days_left: i64,
) -> Result<Capacity, OpsError> {
    let devices: Vec<_> = crate::accounts::devices(store, unit)?
        .into_iter()
        .filter(|d| d.status == eid_domain::DeviceStatus::Active)
        .collect();
    let per_day: u64 = devices.iter().map(|d| u64::from(d.daily_capacity)).sum();
    let n = u32::try_from(devices.len()).unwrap_or(u32::MAX);
    let days_needed = (per_day > 0).then(|| remaining.div_ceil(per_day));
    let avg = if n > 0 { per_day / u64::from(n) } else { 250 };
    let more = if days_left <= 0 {
        0
    } else {
        let needed_per_day = remaining.div_ceil(days_left.unsigned_abs());
        needed_per_day.saturating_sub(per_day).div_ceil(avg.max(1))
    };
    Ok(Capacity {
        devices: n,
        per_day,
        days_needed,
        days_left,
        more_devices: more,
    })
}

// ----------------------------------------------------------------------------------------------
// Outreach

/// Outcomes of a contact.
pub const OUTCOMES: [&str; 7] = [
    "visited",
    "not_home",
    "no_phone",
    "moved_away",
    "dead",
    "refused",
    "emigrated",
];

/// Who to list. Its `Debug` shows the address filter's length only.
#[derive(Clone, Default)]
pub struct OutreachFilter {
    /// `no_application` (no application in progress or done, no level-2 account) or
    /// `no_account` (no active account at all).
    pub missing: String,
    /// Part of the address (case-insensitive, as typed).
    pub address: Option<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// `none`, `basic` or `smartphone`.
    pub phone_type: Option<String>,
    pub limit: u32,
}

/// One person on an outreach list. Its `Debug` masks the person.
#[derive(Clone, PartialEq, Eq)]
pub struct OutreachRow {
    pub personal_id: String,
    pub name: String,
    pub birth_date: String,
    pub address: String,
    pub phone: Option<String>,
    pub phone_type: String,
    /// The level of the person's active account, if any.
    pub account_level: Option<AccountLevel>,
    /// The state of the person's latest application, if any.
    pub application_state: Option<ApplicationState>,
    pub assignee: Option<String>,
    pub due: Option<Date>,
    pub last_outcome: Option<String>,
}

/// The eligible people of a commune still to reach, "clear on people".
pub fn outreach(
    store: &dyn Store,
    commune: &UnitCode,
    today: Date,
    f: &OutreachFilter,
) -> Result<Vec<OutreachRow>, OpsError> {
    let path = unit_path(commune).ok_or(OpsError::Invalid(
        "unit.not_commune",
        "outreach lists are per commune".into(),
    ))?;
    let cutoff =
        eid_domain::birthday_cutoff(today, f.min_age.unwrap_or(ELIGIBLE_AGE).max(ELIGIBLE_AGE));
    let oldest = f
        .max_age
        .map(|a| eid_domain::birthday_cutoff(today, a + 1))
        .unwrap_or_default();
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT p.personal_id, p.surname, p.middle_name, p.given_name, p.birth_date, p.residence_address, p.phone, p.phone_type, \
             a.level, a.state, (SELECT ap.state FROM application ap WHERE ap.personal_id = p.personal_id ORDER BY ap.id DESC LIMIT 1), \
             o.assignee, o.due_day, (SELECT c.outcome FROM outreach_contact c WHERE c.personal_id = p.personal_id ORDER BY c.seq DESC LIMIT 1) \
             FROM person p LEFT JOIN account a ON a.personal_id = p.personal_id \
             LEFT JOIN outreach_assignment o ON o.personal_id = p.personal_id \
             WHERE p.res_path = $1 AND p.life_status = 'alive' AND p.birth_date <= $2 AND p.birth_date > $3 \
             ORDER BY p.residence_address, p.personal_id",
            &[path.into(), cutoff.into(), oldest.into()],
        )
    })?;
    let mut out = Vec::new();
    let address = f.address.as_ref().map(|a| a.to_lowercase());
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let account = match g(9).opt_text()? {
            Some(s) => Some(AccountState::parse(&s).map_err(|e| corrupt("account", e))?),
            None => None,
        };
        let level = match (account, g(8).opt_int()?) {
            (Some(AccountState::Active), Some(n)) => {
                Some(AccountLevel::from_number(n).map_err(|e| corrupt("account", e))?)
            }
            (Some(AccountState::Active), None) | (Some(AccountState::Pending) | None, _) => None,
        };
        let app = match g(10).opt_text()? {
            Some(s) => Some(ApplicationState::parse(&s).map_err(|e| corrupt("application", e))?),
            None => None,
        };
        let keep = match f.missing.as_str() {
            "no_account" => level.is_none(),
            _ => {
                level != Some(AccountLevel::Two)
                    && match app {
                        None | Some(ApplicationState::Rejected) => true,
                        Some(
                            ApplicationState::Review
                            | ApplicationState::Approved
                            | ApplicationState::CodeSent
                            | ApplicationState::Activated,
                        ) => false,
                    }
            }
        };
        if !keep {
            continue;
        }
        let addr = g(5).text()?;
        if let Some(a) = &address {
            if !addr.to_lowercase().contains(a.as_str()) {
                continue;
            }
        }
        let phone_type = g(7).text()?;
        if let Some(pt) = &f.phone_type {
            if !pt.is_empty() && *pt != phone_type {
                continue;
            }
        }
        let name = [g(1).text()?, g(2).text()?, g(3).text()?]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(OutreachRow {
            personal_id: g(0).text()?,
            name,
            birth_date: g(4).text()?,
            address: addr,
            phone: g(6).opt_text()?,
            phone_type,
            account_level: level,
            application_state: app,
            assignee: g(11).opt_text()?,
            due: g(12).opt_int()?.map(day_date),
            last_outcome: g(13).opt_text()?,
        });
        if out.len() >= f.limit.max(1) as usize {
            break;
        }
    }
    Ok(out)
}

/// Assigns people of a commune to an officer or working group with a due date.
pub fn assign(
    store: &dyn Store,
    commune: &UnitCode,
    ids: &[PersonalId],
    assignee: &str,
    due: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<u64, OpsError> {
    let assignee = assignee.trim();
    if assignee.is_empty() || assignee.chars().count() > 100 {
        return Err(OpsError::Invalid(
            "outreach.assignee",
            "name an officer or working group (up to 100 characters)".into(),
        ));
    }
    let path = unit_path(commune).ok_or(OpsError::Invalid(
        "unit.not_commune",
        "outreach lists are per commune".into(),
    ))?;
    sql::transact(store.db(), |tx| {
        let mut n = 0;
        for id in ids {
            let inside = tx.row(
                "SELECT 1 FROM person WHERE personal_id = $1 AND res_path = $2",
                &[id.as_str().into(), path.into()],
            )?;
            if inside.is_none() {
                return Err(OpsError::Invalid(
                    "outreach.not_in_commune",
                    "a listed person does not live in this commune".into(),
                ));
            }
            tx.exec(
                "INSERT INTO outreach_assignment (personal_id, commune, assignee, due_day, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (personal_id) DO UPDATE SET assignee = $3, due_day = $4, assigned_by = $5, assigned_at = $6",
                &[id.as_str().into(), commune.as_str().into(), assignee.into(), day_number(due).into(), actor.to_db().into(), to_ms(now).into()],
            )?;
            n += 1;
        }
        Ok(n)
    })
}

/// Records a contact's outcome. Dead, moved away and emigrated become a proposed register
/// change for an officer to confirm; returns the proposal's id when one was made.
pub fn record_contact(
    store: &dyn Store,
    id: &PersonalId,
    outcome: &str,
    note: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Option<i64>, OpsError> {
    if !OUTCOMES.contains(&outcome) {
        return Err(OpsError::Invalid(
            "outreach.outcome",
            format!("outcome is one of {}", OUTCOMES.join(", ")),
        ));
    }
    if note.chars().count() > 500 {
        return Err(OpsError::Invalid(
            "outreach.note",
            "a note has at most 500 characters".into(),
        ));
    }
    let p = store
        .person(id)?
        .ok_or(OpsError::NotFound("person.not_found"))?;
    let commune = p.person.residence.unit;
    sql::transact(store.db(), |tx| {
        let seq = tx.int(
            "INSERT INTO outreach_contact (personal_id, commune, at, day, outcome, note, actor) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            &[id.as_str().into(), commune.as_str().into(), to_ms(now).into(), day_of(now).into(), outcome.into(), note.trim().into(), actor.to_db().into()],
        )?;
        let proposed = match outcome {
            "dead" => Some("dead"),
            "emigrated" => Some("emigrated"),
            "moved_away" => Some("absent"),
            _ => None,
        };
        let Some(proposed) = proposed else {
            return Ok(None);
        };
        let pid = tx.int(
            "INSERT INTO register_proposal (personal_id, commune, proposed, contact_seq, state, created_at) VALUES ($1, $2, $3, $4, 'open', $5) RETURNING id",
            &[id.as_str().into(), commune.as_str().into(), proposed.into(), seq.into(), to_ms(now).into()],
        )?;
        Ok(Some(pid))
    })
}

/// A proposed register change from the field. Its `Debug` masks the personal ID.
#[derive(Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: i64,
    pub personal_id: String,
    pub commune: UnitCode,
    pub proposed: String,
    pub state: ProposalState,
    pub created_at: OffsetDateTime,
}

/// Open proposals for communes inside `unit`.
pub fn proposals(store: &dyn Store, unit: &UnitCode) -> Result<Vec<Proposal>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, personal_id, commune, proposed, state, created_at FROM register_proposal WHERE state = 'open' ORDER BY id", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let c = UnitCode::parse(&g(2).text()?)
            .map_err(|e| StoreError::Corrupt(format!("proposal unit: {e}")))?;
        if units.contains(Tree::Gso2024, unit, &c) {
            out.push(Proposal {
                id: g(0).int()?,
                personal_id: g(1).text()?,
                commune: c,
                proposed: g(3).text()?,
                state: ProposalState::parse(&g(4).text()?).map_err(|e| corrupt("proposal", e))?,
                created_at: crate::store::from_ms(g(5).int()?),
            });
        }
    }
    Ok(out)
}

/// Confirms (the register records the new life status, as an `updated` event by the officer)
/// or dismisses a proposal.
pub fn decide_proposal(
    store: &dyn Store,
    id: i64,
    confirm: bool,
    actor: &Actor,
    may_see: &dyn Fn(&UnitCode) -> bool,
    now: OffsetDateTime,
) -> Result<Proposal, OpsError> {
    let p = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT personal_id, commune, proposed, state FROM register_proposal WHERE id = $1",
            &[id.into()],
        )
    })?
    .ok_or(OpsError::NotFound("proposal.not_found"))?;
    let g = |i: usize| p.get(i).cloned().unwrap_or(Val::Null);
    let (pid, commune, proposed, state) = (g(0).text()?, g(1).text()?, g(2).text()?, g(3).text()?);
    let commune = UnitCode::parse(&commune).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let state = ProposalState::parse(&state).map_err(|e| corrupt("proposal", e))?;
    if !may_see(&commune) {
        return Err(OpsError::Invalid(
            "scope.denied",
            "the proposal is outside your unit".into(),
        ));
    }
    match state {
        ProposalState::Open => {}
        ProposalState::Confirmed | ProposalState::Dismissed => {
            return Err(OpsError::Invalid(
                "proposal.decided",
                format!("the proposal is already {state}"),
            ));
        }
    }
    let person_id = PersonalId::parse(&pid).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if confirm {
        let stored = store
            .person(&person_id)?
            .ok_or(OpsError::NotFound("person.not_found"))?;
        let mut next = stored.person.clone();
        next.life = eid_domain::LifeStatus {
            state: eid_domain::LifeState::parse(&proposed).unwrap_or(eid_domain::LifeState::Absent),
            since: Some(now.to_offset(crate::accounts::vietnam()).date()),
        };
        let mut w = store.writer(actor, &format!("confirmed outreach proposal {id}"), now)?;
        w.put(&next)?;
        w.commit()?;
        crate::accounts::sync_register_lock(store, &person_id, now)?;
    }
    let new_state = if confirm {
        ProposalState::Confirmed
    } else {
        ProposalState::Dismissed
    };
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE register_proposal SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4",
            &[new_state.as_str().into(), actor.to_db().into(), to_ms(now).into(), id.into()],
        )?;
        Ok::<_, OpsError>(())
    })?;
    Ok(Proposal {
        id,
        personal_id: pid,
        commune,
        proposed,
        state: new_state,
        created_at: now,
    })
}

// ----------------------------------------------------------------------------------------------
// Periodic reports

/// A reporting duty: an agency (a member of the working group, or a unit below) reports to
/// `unit` on a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSchedule {
    pub id: i64,
    pub agency: String,
    pub unit: UnitCode,
    pub schedule: Schedule,
    pub grace_days: u32,
    pub start: Date,
}

#[allow(clippy::too_many_arguments)]
pub fn add_schedule(
    store: &dyn Store,
    agency: &str,
    unit: &UnitCode,
    schedule: Schedule,
    grace_days: u32,
    start: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<ReportSchedule, OpsError> {
    let agency = agency.trim();
    if agency.is_empty() || agency.chars().count() > 200 {
        return Err(OpsError::Invalid(
            "report.agency",
            "name the reporting agency (up to 200 characters)".into(),
        ));
    }
    if grace_days > 31 {
        return Err(OpsError::Invalid(
            "report.grace",
            "grace is at most 31 days".into(),
        ));
    }
    range(unit)?;
    sql::transact(store.db(), |tx| {
        let id = tx.int(
            "INSERT INTO report_schedule (agency, unit, schedule, grace_days, start_day, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[agency.into(), unit.as_str().into(), schedule.as_str().into(), grace_days.into(), day_number(start).into(), actor.to_db().into(), to_ms(now).into()],
        )?;
        Ok(ReportSchedule {
            id,
            agency: agency.to_owned(),
            unit: *unit,
            schedule,
            grace_days,
            start,
        })
    })
}

/// Reporting duties towards `unit` or units inside it.
pub fn schedules(store: &dyn Store, unit: &UnitCode) -> Result<Vec<ReportSchedule>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, agency, unit, schedule, grace_days, start_day FROM report_schedule ORDER BY agency, id", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let u = UnitCode::parse(&g(2).text()?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if !units.contains(Tree::Gso2024, unit, &u) {
            continue;
        }
        out.push(ReportSchedule {
            id: g(0).int()?,
            agency: g(1).text()?,
            unit: u,
            schedule: Schedule::parse(&g(3).text()?).unwrap_or(Schedule::Weekly),
            grace_days: u32::try_from(g(4).int()?).unwrap_or(0),
            start: day_date(g(5).int()?),
        });
    }
    Ok(out)
}

/// Submits the report for the period that contains `period_day`.
pub fn submit_report(
    store: &dyn Store,
    schedule_id: i64,
    period_day: Date,
    body: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), OpsError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(OpsError::Invalid(
            "report.body",
            "a report has 1 to 10,000 characters".into(),
        ));
    }
    let s = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT schedule FROM report_schedule WHERE id = $1",
            &[schedule_id.into()],
        )
    })?
    .ok_or(OpsError::NotFound("report.schedule_not_found"))?;
    let schedule = Schedule::parse(&s.first().cloned().unwrap_or(Val::Null).text()?)
        .unwrap_or(Schedule::Weekly);
    let period = campaign::periods(schedule, period_day, period_day)
        .into_iter()
        .next()
        .ok_or(OpsError::Invalid(
            "report.period",
            "no period contains this day".into(),
        ))?;
    let today = now.to_offset(crate::accounts::vietnam()).date();
    if period.start > today {
        return Err(OpsError::Invalid(
            "report.future",
            "a period that has not started cannot be reported".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        let n = tx.exec(
            "INSERT INTO report_submission (schedule_id, period_start, submitted_at, submitted_day, body, actor) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (schedule_id, period_start) DO NOTHING",
            &[schedule_id.into(), day_number(period.start).into(), to_ms(now).into(), day_of(now).into(), body.into(), actor.to_db().into()],
        )?;
        if n == 0 {
            return Err(OpsError::Invalid(
                "report.already_submitted",
                "this period's report was already submitted".into(),
            ));
        }
        Ok(())
    })
}

/// A schedule's periods up to `today` with their timeliness.
#[derive(Debug, Clone)]
pub struct ReportStatus {
    pub schedule: ReportSchedule,
    pub periods: Vec<(campaign::Period, Timeliness)>,
    pub completeness: campaign::Completeness,
}

/// Who is on time, late or missing, per period, for duties towards `unit` (and below).
pub fn report_status(
    store: &dyn Store,
    unit: &UnitCode,
    today: Date,
) -> Result<Vec<ReportStatus>, OpsError> {
    let mut out = Vec::new();
    for s in schedules(store, unit)? {
        let submitted: HashMap<i64, i64> = sql::read(store.db(), |tx| {
            tx.query(
                "SELECT period_start, submitted_day FROM report_submission WHERE schedule_id = $1",
                &[s.id.into()],
            )
        })?
        .iter()
        .filter_map(|r| Some((r.first()?.int().ok()?, r.get(1)?.int().ok()?)))
        .collect();
        let periods: Vec<(campaign::Period, Timeliness)> =
            campaign::periods(s.schedule, s.start, today)
                .into_iter()
                .map(|p| {
                    let sub = submitted.get(&day_number(p.start)).map(|d| day_date(*d));
                    (p, campaign::timeliness(p, s.grace_days, sub, today))
                })
                .collect();
        let statuses: Vec<Timeliness> = periods.iter().map(|(_, t)| *t).collect();
        out.push(ReportStatus {
            completeness: campaign::completeness(&statuses),
            schedule: s,
            periods,
        });
    }
    Ok(out)
}

/// The level of a unit's children, for labels.
pub fn child_level(unit: &UnitCode) -> Option<Level> {
    match unit.level() {
        Level::Nation => Some(Level::Province),
        Level::Province => Some(Level::District),
        Level::District => Some(Level::Commune),
        Level::Commune => None,
    }
}

/// One commune in a province-wide ranking.
#[derive(Debug, Clone)]
pub struct CommuneStanding {
    pub ranked: Ranked<UnitCode>,
    pub progress: Progress,
}

/// Ranks every commune under `within` that has a quota for `metric` (the one with the nearest
/// deadline on or after `as_of`) by % of quota, with status and the change since the day
/// before. One grouped scan of the counters gives done-to-date, today's count and the last
/// seven days for all communes at once; counting starts at the earliest start among the
/// communes' quotas (a split gives them all their parent's start).
pub fn rank_communes(
    store: &dyn Store,
    within: &UnitCode,
    metric: &str,
    as_of: Date,
) -> Result<Vec<CommuneStanding>, OpsError> {
    if !Metric::parse(metric).is_some_and(counted) {
        return Err(OpsError::Invalid(
            "metric.invalid",
            "metric is one counted from account events".into(),
        ));
    }
    let (lo, hi) = range(within)?;
    let day = day_number(as_of);
    let mut quotas: HashMap<UnitCode, Quota> = HashMap::new();
    let rows = sql::read(store.db(), |tx| {
        let sql = format!("SELECT {QUOTA_COLS} FROM quota WHERE metric = $1 AND cohort = '' AND deadline >= $2 ORDER BY deadline DESC");
        tx.query(&sql, &[metric.into(), day.into()])
    })?;
    for r in &rows {
        let q = quota_from(r)?;
        if q.unit.level() == Level::Commune && unit_path(&q.unit).is_some_and(|p| p >= lo && p < hi)
        {
            quotas.insert(q.unit, q);
        }
    }
    let earliest = quotas
        .values()
        .map(|q| day_number(q.start))
        .min()
        .unwrap_or(day);
    // done = running total − days after `as_of` − days before the start; today and the last
    // seven days from the day index. Each query reads a handful of rows per commune.
    let grouped = |sql: &str, args: Vec<Val>| -> Result<HashMap<i64, (u64, u64)>, OpsError> {
        let rows = sql::read(store.db(), |tx| tx.query(sql, &args))?;
        let mut out = HashMap::new();
        for r in rows {
            let g = |i: usize| {
                r.get(i)
                    .cloned()
                    .unwrap_or(Val::Null)
                    .int()
                    .map(|n| n.max(0).unsigned_abs())
            };
            let path = r.first().cloned().unwrap_or(Val::Null).int()?;
            out.insert(path, (g(1)?, g(2).unwrap_or(0)));
        }
        Ok(out)
    };
    let totals = grouped(
        "SELECT res_path, n, 0 FROM unit_total WHERE metric = $1 AND res_path >= $2 AND res_path < $3",
        vec![metric.into(), lo.into(), hi.into()],
    )?;
    let outside = grouped(
        "SELECT res_path, CAST(SUM(n) AS BIGINT), 0 FROM unit_day_count WHERE metric = $1 AND (day > $4 OR day < $5) \
         AND res_path >= $2 AND res_path < $3 GROUP BY res_path",
        vec![metric.into(), lo.into(), hi.into(), day.into(), earliest.into()],
    )?;
    let recent = grouped(
        "SELECT res_path, CAST(SUM(n) AS BIGINT), CAST(SUM(CASE WHEN day = $4 THEN n ELSE 0 END) AS BIGINT) \
         FROM unit_day_count WHERE metric = $1 AND day > $4 - 7 AND day <= $4 AND day >= $5 \
         AND res_path >= $2 AND res_path < $3 GROUP BY res_path",
        vec![metric.into(), lo.into(), hi.into(), day.into(), earliest.into()],
    )?;
    let mut by_path: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    for (path, (total, _)) in &totals {
        let out = outside.get(path).map_or(0, |x| x.0);
        let (last7, today) = recent.get(path).copied().unwrap_or((0, 0));
        by_path.insert(*path, (total.saturating_sub(out), today, last7));
    }
    let mut inputs = Vec::with_capacity(quotas.len());
    let mut progress: HashMap<UnitCode, Progress> = HashMap::new();
    for (unit, q) in &quotas {
        let (done, today, last7) = unit_path(unit)
            .and_then(|p| by_path.get(&p))
            .copied()
            .unwrap_or((0, 0, 0));
        inputs.push(RankInput {
            key: *unit,
            done_today: done,
            done_yesterday: done - today.min(done),
            target: q.target,
        });
        progress.insert(
            *unit,
            campaign::progress(&ProgressInput {
                target: q.target,
                done,
                as_of,
                deadline: q.deadline,
                last_7_days: last7,
            }),
        );
    }
    inputs.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    Ok(campaign::rank(&inputs)
        .into_iter()
        .filter_map(|r| {
            progress.remove(&r.key).map(|p| CommuneStanding {
                ranked: r,
                progress: p,
            })
        })
        .collect())
}

// ----------------------------------------------------------------------------------------------
// Debug without personal data

impl std::fmt::Debug for OutreachFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutreachFilter")
            .field("missing", &self.missing)
            .field("address", &self.address.as_deref().map(redact::Text))
            .field("min_age", &self.min_age)
            .field("max_age", &self.max_age)
            .field("phone_type", &self.phone_type)
            .field("limit", &self.limit)
            .finish()
    }
}

impl std::fmt::Debug for OutreachRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutreachRow")
            .field("personal_id", &redact::Id(&self.personal_id))
            .field("name", &redact::Hidden)
            .field("birth_date", &redact::Hidden)
            .field("address", &redact::Hidden)
            .field("phone", &self.phone.as_deref().map(redact::Phone))
            .field("phone_type", &self.phone_type)
            .field("account_level", &self.account_level)
            .field("application_state", &self.application_state)
            .field("assignee", &self.assignee)
            .field("due", &self.due)
            .field("last_outcome", &self.last_outcome)
            .finish()
    }
}

impl std::fmt::Debug for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposal")
            .field("id", &self.id)
            .field("personal_id", &redact::Id(&self.personal_id))
            .field("commune", &self.commune)
            .field("proposed", &self.proposed)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish()
    }
}
