//! The ministry's national view: every province ranked by % of its quota for each metric, with
//! status, required daily rate and forecast; the provinces that met both the applications and
//! the accounts quota; the slowest; in the 2024 tree, or re-aggregated into the 2025 provinces
//! (the quotas and counts of the 2024 provinces each 2025 province took in, summed).

use std::collections::BTreeMap;

use eid_domain::campaign::{self, Metric, Progress, ProgressInput, RankInput, Status};
use eid_domain::{Level, Tree, UnitCode, Units};
use time::Date;

use super::{counted, progress_of, province_daily, quota_from, OpsError, Quota, QUOTA_COLS};
use crate::accounts::day_number;
use crate::sql;
use crate::store::Store;

/// How many of the slowest provinces a metric lists.
pub const SLOWEST: usize = 5;

/// The two quotas a province "meets both" of: applications collected and accounts activated.
pub const BOTH: [Metric; 2] = [Metric::ApplicationsCollected, Metric::AccountsActivated];

/// One province in the national ranking of a metric.
#[derive(Debug, Clone)]
pub struct ProvinceStanding {
    /// The province (of the tree asked for).
    pub unit: UnitCode,
    /// 2024: the province's quota; 2025: none (a sum of several).
    pub quota_id: Option<i64>,
    /// 2025: the 2024 provinces whose quotas and counts are summed; 2024: the province itself.
    pub from_2024: Vec<UnitCode>,
    pub target: u64,
    pub done: u64,
    /// The count of the recent days the rate averages over (see [`Progress::rate_days`]).
    pub last_7_days: u64,
    pub start: Date,
    pub deadline: Date,
    pub progress: Progress,
    /// 1 for the highest %; equal shares share a rank.
    pub rank: usize,
}

/// The ranking of one metric.
#[derive(Debug, Clone)]
pub struct MetricRanking {
    pub metric: Metric,
    /// Highest % first.
    pub rows: Vec<ProvinceStanding>,
    /// Up to [`SLOWEST`] provinces not met, lowest % first.
    pub slowest: Vec<UnitCode>,
}

/// The national view as of a day.
#[derive(Debug, Clone)]
pub struct National {
    pub tree: Tree,
    pub as_of: Date,
    /// Only the metrics some province has a quota for, in [`Metric::ALL`]'s order.
    pub metrics: Vec<MetricRanking>,
    /// Provinces that met both their applications and their accounts quota.
    pub met_both: Vec<UnitCode>,
    /// Provinces that have both quotas (the denominator of "met both").
    pub with_both: usize,
}

/// The quota of a province for a metric that counts as of `as_of`: the one whose period holds
/// it (the nearest deadline first), else the next to start, else the last to have closed.
fn pick(mut qs: Vec<Quota>, as_of: Date) -> Option<Quota> {
    qs.sort_by_key(|q| {
        let (class, key) = if q.start <= as_of && as_of <= q.deadline {
            (0, q.deadline.to_julian_day())
        } else if q.start > as_of {
            (1, q.start.to_julian_day())
        } else {
            (2, -q.deadline.to_julian_day())
        };
        (class, key, q.id)
    });
    qs.into_iter().next()
}

/// The provinces' whole-population quotas, by (metric, province).
fn province_quotas(
    store: &dyn Store,
) -> Result<BTreeMap<(Metric, UnitCode), Vec<Quota>>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        let sql = format!("SELECT {QUOTA_COLS} FROM quota WHERE cohort = '' ORDER BY id");
        tx.query(&sql, &[])
    })?;
    let mut out: BTreeMap<(Metric, UnitCode), Vec<Quota>> = BTreeMap::new();
    for r in &rows {
        let q = quota_from(r)?;
        if q.unit.level() == Level::Province {
            out.entry((q.metric, q.unit)).or_default().push(q);
        }
    }
    Ok(out)
}

/// Ranks `rows` by % (exactly), fills their ranks and orders them highest first.
fn ranked(rows: Vec<ProvinceStanding>) -> Vec<ProvinceStanding> {
    let inputs: Vec<RankInput<usize>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| RankInput {
            key: i,
            done_today: r.done,
            done_yesterday: r.done,
            target: r.target,
        })
        .collect();
    campaign::rank(&inputs)
        .into_iter()
        .filter_map(|r| {
            let mut row = rows.get(r.key)?.clone();
            row.rank = r.rank_today;
            Some(row)
        })
        .collect()
}

/// A province's row before it is ranked.
fn standing(q: &Quota, done: u64, last_7_days: u64, progress: Progress) -> ProvinceStanding {
    ProvinceStanding {
        unit: q.unit,
        quota_id: Some(q.id),
        from_2024: vec![q.unit],
        target: q.target,
        done,
        last_7_days,
        start: q.start,
        deadline: q.deadline,
        progress,
        rank: 0,
    }
}

/// The national view in `tree` as of the end of `as_of`. Each province's figures are those of
/// [`progress_of`]: work counts from the quota's start to its deadline.
pub fn national(store: &dyn Store, tree: Tree, as_of: Date) -> Result<National, OpsError> {
    let units = Units::get();
    let quotas = province_quotas(store)?;
    let mut picked: BTreeMap<Metric, Vec<Quota>> = BTreeMap::new();
    for ((metric, _), qs) in quotas {
        if let Some(q) = pick(qs, as_of) {
            picked.entry(metric).or_default().push(q);
        }
    }
    let mut by_metric: BTreeMap<Metric, Vec<ProvinceStanding>> = BTreeMap::new();
    for (metric, qs) in picked {
        let rows = by_metric.entry(metric).or_default();
        if !counted(metric) {
            for q in qs {
                let p = progress_of(store, &q, as_of)?;
                rows.push(standing(&q, p.done, p.last_7_days, p.progress));
            }
            continue;
        }
        // Every province's figures in one read of the per-province daily sums.
        let span = |q: &Quota| (day_number(q.start), day_number(as_of.min(q.deadline)));
        let from = qs.iter().map(|q| span(q).0).min().unwrap_or(0);
        let to = qs.iter().map(|q| span(q).1).max().unwrap_or(0);
        let daily = province_daily(store, metric.as_str(), from, to)?;
        for q in qs {
            let (a, b) = span(&q);
            let p = i64::from(q.unit.number());
            let sum = |a: i64| {
                let (mut rec, mut rep) = (0i64, 0u64);
                for d in a..=b {
                    if let Some((r, n)) = daily.get(&(p, d)) {
                        rec = rec.saturating_add(*r);
                        rep = rep.saturating_add(*n);
                    }
                }
                rec.max(0).unsigned_abs().saturating_add(rep)
            };
            let (done, last7) = if b < a {
                (0, 0)
            } else {
                (sum(a), sum((b - 6).max(a)))
            };
            let progress = campaign::progress(&ProgressInput {
                target: q.target,
                done,
                as_of,
                deadline: q.deadline,
                last_7_days: last7,
                start: q.start,
            });
            rows.push(standing(&q, done, last7, progress));
        }
    }
    if tree == Tree::Gso2025 {
        for rows in by_metric.values_mut() {
            let mut merged: BTreeMap<UnitCode, Vec<ProvinceStanding>> = BTreeMap::new();
            for r in rows.drain(..) {
                if let Some(new) = units.province_2025_for_2024(&r.unit) {
                    merged.entry(new.code).or_default().push(r);
                }
            }
            for (unit, parts) in merged {
                let target = parts.iter().fold(0u64, |s, r| s.saturating_add(r.target));
                let done = parts.iter().fold(0u64, |s, r| s.saturating_add(r.done));
                // The recent counts summed; the rate averages over the days since the earliest
                // start (at most 7), the deadline is the latest.
                let recent = parts
                    .iter()
                    .fold(0u64, |s, r| s.saturating_add(r.last_7_days));
                let start = parts.iter().map(|r| r.start).min().unwrap_or(as_of);
                let deadline = parts.iter().map(|r| r.deadline).max().unwrap_or(as_of);
                let progress = campaign::progress(&ProgressInput {
                    target,
                    done,
                    as_of,
                    deadline,
                    last_7_days: recent,
                    start,
                });
                rows.push(ProvinceStanding {
                    unit,
                    quota_id: None,
                    from_2024: parts.iter().map(|r| r.unit).collect(),
                    target,
                    done,
                    last_7_days: recent,
                    start,
                    deadline,
                    progress,
                    rank: 0,
                });
            }
        }
    }
    let mut metrics = Vec::new();
    for metric in Metric::ALL {
        let Some(rows) = by_metric.remove(metric) else {
            continue;
        };
        let rows = ranked(rows);
        let slowest = rows
            .iter()
            .rev()
            .filter(|r| r.progress.status != Status::Met)
            .take(SLOWEST)
            .map(|r| r.unit)
            .collect();
        metrics.push(MetricRanking {
            metric: *metric,
            rows,
            slowest,
        });
    }
    let status = |m: Metric, u: &UnitCode| {
        metrics
            .iter()
            .find(|r| r.metric == m)
            .and_then(|r| r.rows.iter().find(|s| s.unit == *u))
            .map(|s| s.progress.status)
    };
    let mut with_both = 0;
    let mut met_both = Vec::new();
    if let Some(first) = metrics.iter().find(|r| r.metric == BOTH[0]) {
        for r in &first.rows {
            let both: Vec<Option<Status>> = BOTH.iter().map(|m| status(*m, &r.unit)).collect();
            if both.iter().all(Option::is_some) {
                with_both += 1;
                if both.iter().all(|s| *s == Some(Status::Met)) {
                    met_both.push(r.unit);
                }
            }
        }
    }
    met_both.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(National {
        tree,
        as_of,
        metrics,
        met_both,
        with_both,
    })
}
