//! Emulation scoring: points for the share of quota and for reports on time, and the leaderboard.

use super::*;

/// The most points a unit can earn from its percentage of quota.
pub const QUOTA_POINTS_CAP: f64 = 120.0;
/// Points for each report submitted on time.
pub const ON_TIME_POINTS: f64 = 10.0;
/// Points for each report submitted late.
pub const LATE_POINTS: f64 = 5.0;

/// A unit's emulation score.
///
/// The rule: one point for each percent of quota reached, up to 120 (so doing more than asked
/// counts, but not without limit); plus 10 points for each report submitted on time and 5 for
/// each report submitted late; a missing report earns nothing, and a report not yet due does not
/// count. A negative or undefined percentage counts as 0.
pub fn score(percent_of_quota: f64, reports: &[Timeliness]) -> f64 {
    let quota = if percent_of_quota.is_nan() {
        0.0
    } else {
        percent_of_quota.clamp(0.0, QUOTA_POINTS_CAP)
    };
    reports.iter().fold(quota, |acc, report| {
        acc + match report {
            Timeliness::OnTime => ON_TIME_POINTS,
            Timeliness::Late => LATE_POINTS,
            Timeliness::Missing | Timeliness::NotDueYet => 0.0,
        }
    })
}

/// A unit's place on the emulation leaderboard. See [`leaderboard`].
#[derive(Debug, Clone, PartialEq)]
pub struct Standing<K> {
    pub key: K,
    pub score: f64,
    /// 1 for the highest score; equal scores share a rank (1, 2, 2, 4).
    pub rank: usize,
}

/// Sorts units by score, highest first, equal scores keeping the order given and sharing a
/// rank. A score that is not a number comes last.
pub fn leaderboard<K: Clone>(scores: &[(K, f64)]) -> Vec<Standing<K>> {
    let sortable = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
    let mut order: Vec<&(K, f64)> = scores.iter().collect();
    order.sort_by(|a, b| sortable(b.1).total_cmp(&sortable(a.1)));
    let mut out: Vec<Standing<K>> = Vec::with_capacity(order.len());
    for (place, (key, s)) in order.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if sortable(prev.score) == sortable(*s) => prev.rank,
            _ => place + 1,
        };
        out.push(Standing {
            key: key.clone(),
            score: *s,
            rank,
        });
    }
    out
}
