//! Progress of a quota: done to date, the last seven days and the forecast.

use eid_domain::campaign::{self, Progress, ProgressInput};
use eid_domain::{iso, UnitCode};
use time::Date;

use super::{children, counted, done, range, OpsError, Quota};
use crate::accounts::day_number;
use crate::sql;
use crate::store::Store;

/// Where an as-of day lies against a quota's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Before the quota's start: nothing is counted yet.
    Before,
    /// From the start to the deadline, both included.
    During,
    /// After the deadline: the quota is closed, its figures are those of its deadline.
    After,
}

impl Period {
    /// Where `as_of` lies against `start..=deadline`.
    pub fn of(as_of: Date, start: Date, deadline: Date) -> Period {
        if as_of < start {
            Period::Before
        } else if as_of > deadline {
            Period::After
        } else {
            Period::During
        }
    }

    /// The stable name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Before => "before_start",
            Period::During => "in_period",
            Period::After => "after_deadline",
        }
    }
}

/// The rule progress follows, as the API states it.
pub const COUNTING_RULE: &str = "work counts from the start to the deadline, both included: \
after the deadline the figures are those at the end of the deadline and never change (met or missed); \
the recent rate averages the last 7 days of the period, or the days the quota has existed when fewer";

/// A quota with its progress on a day.
#[derive(Debug, Clone)]
pub struct QuotaProgress {
    pub quota: Quota,
    /// Where the as-of day lies against the quota's period.
    pub period: Period,
    pub done: u64,
    pub last_7_days: u64,
    pub progress: Progress,
    /// Sum of the child quotas' targets, when there are children, and whether they add up.
    pub children_sum: Option<u64>,
}

/// Progress of a quota as of the end of `as_of`. Work counts from the start to the deadline:
/// after the deadline the figures are those of the deadline (see [`COUNTING_RULE`]). A quota
/// whose cohort names a cohort of its unit (or, for a part of a split, of a unit above it)
/// counts only the members' transitions ([`super::quota_cohort`]); one whose cohort names none
/// counts the unit's events.
pub fn progress_of(store: &dyn Store, q: &Quota, as_of: Date) -> Result<QuotaProgress, OpsError> {
    let end = as_of.min(q.deadline);
    let to = day_number(end);
    let from = day_number(q.start);
    let cohort = super::quota_cohort(store, &q.unit, &q.cohort)?;
    let (done_n, last7) = if end < q.start {
        (0, 0)
    } else if let Some((c, within)) = cohort {
        (
            super::cohort_done_within(store, c.id, q.metric, from, to, within)?,
            super::cohort_done_within(store, c.id, q.metric, (to - 6).max(from), to, within)?,
        )
    } else if counted(q.metric) {
        (
            done(store, q.metric.as_str(), &q.unit, from, to)?,
            done(store, q.metric.as_str(), &q.unit, (to - 6).max(from), to)?,
        )
    } else {
        cards_issued(store, &q.unit, q.start, end)?
    };
    let progress = campaign::progress(&ProgressInput {
        target: q.target,
        done: done_n,
        as_of,
        deadline: q.deadline,
        last_7_days: last7,
        start: q.start,
    });
    let kids = children(store, q.id)?;
    Ok(QuotaProgress {
        quota: q.clone(),
        period: Period::of(as_of, q.start, q.deadline),
        done: done_n,
        last_7_days: last7,
        progress,
        children_sum: (!kids.is_empty()).then(|| {
            kids.iter()
                .fold(0u64, |sum, k| sum.saturating_add(k.target))
        }),
    })
}

/// Cards issued to residents of `unit` from `from` to `to`, and in the last 7 days to `to`,
/// read from the register's card dates (the one metric not rolled up from account events).
pub(super) fn cards_issued(
    store: &dyn Store,
    unit: &UnitCode,
    from: Date,
    to: Date,
) -> Result<(u64, u64), OpsError> {
    let (lo, hi) = range(unit)?;
    let week = campaign::shift_days(to, -6).max(from);
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

/// [`progress_of`], and a quota of applications whose unit's active intake devices cannot
/// collect what remains by the deadline is [`campaign::Status::BeyondCapacity`] (see
/// [`campaign::limit_by_capacity`]). Other metrics are not collected by devices.
pub fn progress_with_capacity(
    store: &dyn Store,
    q: &Quota,
    as_of: Date,
) -> Result<QuotaProgress, OpsError> {
    let mut p = progress_of(store, q, as_of)?;
    if q.metric == campaign::Metric::ApplicationsCollected && p.period != Period::After {
        let cap = super::capacity(store, &q.unit, p.progress.remaining, p.progress.days_left)?;
        campaign::limit_by_capacity(&mut p.progress, cap.per_day);
    }
    Ok(p)
}
