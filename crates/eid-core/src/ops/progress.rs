//! Progress of a quota: done to date, the last seven days and the forecast.

use eid_domain::campaign::{self, Progress, ProgressInput};
use eid_domain::{iso, UnitCode};
use time::Date;

use super::{children, counted, done, range, OpsError, Quota};
use crate::accounts::day_number;
use crate::sql;
use crate::store::Store;

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
