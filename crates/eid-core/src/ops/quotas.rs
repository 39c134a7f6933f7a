//! Quotas (chỉ tiêu): setting one, reading them, the change history and splits to the units below.

use eid_domain::campaign;
use eid_domain::{Metric, Tree, UnitCode, Units};
use time::{Date, OffsetDateTime};

use super::{corrupt, eligible_by_child, OpsError};
use crate::accounts::{day_date, day_number};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{to_ms, Actor, Store, StoreError};

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
    /// Set as a share of a base: the base, the share and the count it was resolved from.
    pub base: Option<super::QuotaBase>,
}

pub(super) const QUOTA_COLS: &str =
    "id, unit, metric, cohort, target, start_day, deadline, parent_id, set_by, updated_at, version, \
     base, base_permille, base_count";

pub(super) fn quota_from(r: &SqlRow) -> Result<Quota, StoreError> {
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
        base: super::Base::parse(&g(11).text()?).map(|base| super::QuotaBase {
            base,
            permille: u32::try_from(g(12).opt_int().ok().flatten().unwrap_or(0).max(0))
                .unwrap_or(0),
            count: g(13)
                .opt_int()
                .ok()
                .flatten()
                .unwrap_or(0)
                .max(0)
                .unsigned_abs(),
        }),
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
                 version = version + 1, base = '', base_permille = NULL, base_count = NULL WHERE id = $6",
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
    /// By hand: a target per child unit (a child not named keeps its quota). Refused as
    /// `split.mismatch` when the children's quotas would not add up to the parent's.
    Manual(Vec<(UnitCode, u64)>),
    /// By hand, accepting that the children's quotas add up to `difference` more (positive) or
    /// less (negative) than the parent's: saved only when that is the difference they make,
    /// so the officer confirms exactly what is over or under.
    ManualAccepting {
        parts: Vec<(UnitCode, u64)>,
        difference: i128,
    },
}

/// What the children's quotas of `parent` would add up to with `parts` given by hand (a child
/// not named keeps its quota), against the parent's target.
pub fn manual_check(
    store: &dyn Store,
    parent: &Quota,
    parts: &[(UnitCode, u64)],
) -> Result<campaign::SplitCheck, OpsError> {
    let kept: Vec<u64> = children(store, parent.id)?
        .into_iter()
        .filter(|k| !parts.iter().any(|(u, _)| *u == k.unit))
        .map(|k| k.target)
        .collect();
    let all: Vec<u64> = kept
        .into_iter()
        .chain(parts.iter().map(|(_, n)| *n))
        .collect();
    Ok(campaign::check_split(parent.target, &all))
}

/// The refusal of a manual split that does not add up, saying by how much it is over or under.
pub fn mismatch_error(check: &campaign::SplitCheck) -> OpsError {
    let (word, by) = if check.difference > 0 {
        ("over", check.difference)
    } else {
        ("under", -check.difference)
    };
    OpsError::Invalid(
        "split.mismatch",
        format!(
            "the parts add up to {}, {by} {word} the quota's {}; confirm the difference ({}) to save anyway",
            check.children_sum, check.parent, check.difference
        ),
    )
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
        Split::Manual(parts) => manual_parts(store, &parent, &kids, parts, 0)?,
        Split::ManualAccepting { parts, difference } => {
            manual_parts(store, &parent, &kids, parts, difference)?
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

/// The parts of a manual split, checked: every unit directly below the parent's, and the
/// children's quotas adding up to the parent's give or take exactly `accepted`.
fn manual_parts(
    store: &dyn Store,
    parent: &Quota,
    kids: &[UnitCode],
    parts: Vec<(UnitCode, u64)>,
    accepted: i128,
) -> Result<Vec<(UnitCode, u64)>, OpsError> {
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
    let check = manual_check(store, parent, &parts)?;
    if check.difference != accepted {
        return Err(mismatch_error(&check));
    }
    Ok(parts)
}
