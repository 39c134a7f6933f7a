//! Ranking sibling units by their share of quota, with the change since yesterday.

use super::*;

/// One unit to rank among its siblings. The target is the same on both days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankInput<K> {
    pub key: K,
    /// The count done by the end of today.
    pub done_today: u64,
    /// The count done by the end of the previous day.
    pub done_yesterday: u64,
    pub target: u64,
}

/// A unit's place in a ranking. See [`rank`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<K> {
    pub key: K,
    pub done_today: u64,
    pub done_yesterday: u64,
    pub target: u64,
    pub percent_today: f64,
    pub percent_yesterday: f64,
    /// 1 for the highest percentage; units with equal percentages share a rank, and the next
    /// rank skips accordingly (1, 2, 2, 4).
    pub rank_today: usize,
    /// The rank by yesterday's percentages, counted the same way.
    pub rank_yesterday: usize,
    /// `rank_yesterday − rank_today`: positive when the unit moved up.
    pub rank_change: i64,
    /// Today's percentage minus yesterday's, in percentage points.
    pub percent_change: f64,
}

/// Compares two shares exactly: `a_done / a_target` against `b_done / b_target`.
fn cmp_share(a: (u64, u64), b: (u64, u64)) -> Ordering {
    let (an, ad) = share(a.0, a.1);
    let (bn, bd) = share(b.0, b.1);
    (an * bd).cmp(&(bn * ad))
}

/// Positions sorted by share, highest first (stable), with each position's competition rank.
fn ranks_by(shares: &[(u64, u64)]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&i, &j| cmp_share(shares[j], shares[i]));
    let mut ranks = vec![0; shares.len()];
    let mut previous: Option<(u64, u64)> = None;
    let mut current = 0;
    for (place, &i) in order.iter().enumerate() {
        if previous.is_none_or(|p| cmp_share(p, shares[i]) != Ordering::Equal) {
            current = place + 1;
        }
        ranks[i] = current;
        previous = Some(shares[i]);
    }
    (order, ranks)
}

/// Ranks sibling units by their percentage of quota, highest first, with the change since the
/// previous day.
///
/// Percentages are compared exactly (`done_a × target_b` against `done_b × target_a`), never
/// as floats. Units with equal percentages share a rank and keep the order they were given in.
/// A zero target counts as 100 %.
pub fn rank<K: Clone>(rows: &[RankInput<K>]) -> Vec<Ranked<K>> {
    let today: Vec<(u64, u64)> = rows.iter().map(|r| (r.done_today, r.target)).collect();
    let yesterday: Vec<(u64, u64)> = rows.iter().map(|r| (r.done_yesterday, r.target)).collect();
    let (order, ranks_today) = ranks_by(&today);
    let (_, ranks_yesterday) = ranks_by(&yesterday);
    order
        .into_iter()
        .filter_map(|i| {
            let row = rows.get(i)?;
            let rank_today = *ranks_today.get(i)?;
            let rank_yesterday = *ranks_yesterday.get(i)?;
            let percent_change = if row.target == 0 {
                0.0
            } else {
                let delta = i128::from(row.done_today) - i128::from(row.done_yesterday);
                (delta * 100) as f64 / row.target as f64
            };
            Some(Ranked {
                key: row.key.clone(),
                done_today: row.done_today,
                done_yesterday: row.done_yesterday,
                target: row.target,
                percent_today: percent(row.done_today, row.target),
                percent_yesterday: percent(row.done_yesterday, row.target),
                rank_today,
                rank_yesterday,
                rank_change: rank_yesterday as i64 - rank_today as i64,
                percent_change,
            })
        })
        .collect()
}
