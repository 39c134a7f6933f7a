//! The per-unit, per-day counters that account transitions roll up, read by unit, by child
//! unit and re-aggregated into the 2025 tree; and the eligible population, the denominators.

use std::collections::HashMap;

use eid_domain::{Tree, UnitCode, Units};
use time::Date;

use super::{
    reported_by_key, reported_by_province, reported_daily, reported_total, OpsError, ELIGIBLE_AGE,
};
use crate::sql::{self, Val};
use crate::store::{path_range, Store, StoreError};

// ----------------------------------------------------------------------------------------------
// Counters

/// The `[lo, hi)` residence-path range of a unit (2024 tree).
pub(super) fn range(unit: &UnitCode) -> Result<(i64, i64), OpsError> {
    path_range(unit).ok_or(OpsError::Invalid(
        "unit.unknown",
        "the unit is not in the 2024 tree".into(),
    ))
}

/// Total of `metric` inside `unit` on days `from..=to`: the recorded counters and the reported
/// figures that count under [`super::REPORTED_RULE`].
pub fn done(
    store: &dyn Store,
    metric: &str,
    unit: &UnitCode,
    from: i64,
    to: i64,
) -> Result<u64, OpsError> {
    let r = range(unit)?;
    let recorded = crate::accounts::count(store, metric, r, from, to)?
        .max(0)
        .unsigned_abs();
    Ok(recorded.saturating_add(reported_total(store, metric, r, from, to)?))
}

/// Daily totals of `metric` inside `unit` on days `from..=to` (days without events are 0),
/// reported figures that count included.
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
    for (d, n) in reported_daily(store, metric, (lo, hi), from, to)? {
        let t = by_day.entry(d).or_default();
        *t = t.saturating_add(n);
    }
    Ok((from..=to)
        .map(|d| (d, by_day.get(&d).copied().unwrap_or(0)))
        .collect())
}

/// Totals of `metric` on days `from..=to` for each direct child of `unit` (2024 tree), in one
/// range scan over the counters (and one over the reported figures): the child a commune's path
/// falls in is found by its range; a figure reported by `unit` itself counts for no child.
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
    let mut rows: Vec<(i64, u64)> = rows
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
            Ok((g(0)?, g(1)?.max(0).unsigned_abs()))
        })
        .collect::<Result<_, StoreError>>()?;
    rows.extend(
        reported_by_key(store, metric, (lo, hi), from, to, to)?
            .into_iter()
            .map(|(k, (n, _, _))| (k, n)),
    );
    for (path, n) in rows {
        if let Some(i) = children
            .iter()
            .position(|(_, (a, b))| path >= *a && path < *b)
        {
            if let Some(t) = totals.get_mut(i) {
                *t = t.saturating_add(n);
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
    let mut rows: Vec<(i64, u64)> = rows
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).int();
            Ok((g(0)?, g(1)?.max(0).unsigned_abs()))
        })
        .collect::<Result<_, StoreError>>()?;
    rows.extend(reported_by_province(store, metric, from, to)?);
    for (p, n) in rows {
        let Some(old) = u8::try_from(p)
            .ok()
            .and_then(|p| UnitCode::province(p).ok())
        else {
            continue;
        };
        if let Some(new) = units.province_2025_for_2024(&old) {
            let t = out.entry(new.code).or_default();
            *t = t.saturating_add(n);
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
                .fold(0u64, |sum, (_, n)| sum.saturating_add(*n));
            (c.code, n)
        })
        .collect())
}
