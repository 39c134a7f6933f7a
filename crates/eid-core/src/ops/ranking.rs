//! Rankings of the units below a quota, and of every commune of a province.

use std::collections::HashMap;

use eid_domain::campaign::{self, Progress, ProgressInput, RankInput, Ranked};
use eid_domain::{Level, Metric, UnitCode};
use time::Date;

use super::{
    by_child, cards_issued, children, counted, quota_from, range, reported_by_key, OpsError, Quota,
    QUOTA_COLS,
};
use crate::accounts::day_number;
use crate::sql::{self, Val};
use crate::store::{unit_path, Store};

/// The ranking of the child units of `parent`'s unit by % of their quota (the children of
/// `parent`), with the change since the day before `as_of`. Work counts up to the deadline:
/// after it the ranking is that of the deadline and never changes. On the quota's first day
/// (and before it) there is no day before to compare with: no unit moves.
pub fn ranking(
    store: &dyn Store,
    parent: &Quota,
    as_of: Date,
) -> Result<Vec<Ranked<UnitCode>>, OpsError> {
    let kids = children(store, parent.id)?;
    let end = as_of.min(parent.deadline);
    let to = day_number(end);
    let from = day_number(parent.start);
    let first_day = end <= parent.start;
    let mut rows = Vec::new();
    if end < parent.start {
        for k in &kids {
            rows.push(RankInput {
                key: k.unit,
                done_today: 0,
                done_yesterday: 0,
                target: k.target,
            });
        }
    } else if let Some((c, _)) = super::quota_cohort(store, &parent.unit, &parent.cohort)? {
        // A cohort quota's parts count only the members living in each part's unit.
        for k in &kids {
            let within = Some(range(&k.unit)?);
            let t = super::cohort_done_within(store, c.id, parent.metric, from, to, within)?;
            let d = super::cohort_done_within(store, c.id, parent.metric, to, to, within)?;
            rows.push(RankInput {
                key: k.unit,
                done_today: t,
                done_yesterday: if first_day { t } else { t - d.min(t) },
                target: k.target,
            });
        }
    } else if counted(parent.metric) {
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
                done_yesterday: if first_day { t } else { t - d.min(t) },
                target: k.target,
            });
        }
    } else {
        for k in &kids {
            let (t, _) = cards_issued(store, &k.unit, k.start, end)?;
            let y = if first_day {
                t
            } else {
                cards_issued(store, &k.unit, k.start, campaign::shift_days(end, -1))?.0
            };
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
    // Reported figures that count (see `REPORTED_RULE`), one more range scan.
    let reported = reported_by_key(
        store,
        metric,
        (lo, hi),
        earliest,
        day,
        (day - 6).max(earliest),
    )?;
    for (path, (n, last7, today)) in reported {
        let e = by_path.entry(path).or_default();
        *e = (
            e.0.saturating_add(n),
            e.1.saturating_add(today),
            e.2.saturating_add(last7),
        );
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
            // On a quota's first day there is no day before to compare with.
            done_yesterday: if as_of <= q.start {
                done
            } else {
                done - today.min(done)
            },
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
                start: q.start,
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
