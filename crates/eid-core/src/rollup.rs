//! The campaign counters: per metric, per residence path and per day in Vietnam
//! (`unit_day_count`) and in total (`unit_total`), bumped by the account transitions in their own
//! transactions and summed by the operations console.

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::sql::{self, Tx};
use crate::store::{Store, StoreError};

/// Vietnam's time zone.
pub fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Days since 1970-01-01 of `at` in Vietnam: the `day` of events and counters.
pub fn day_of(at: OffsetDateTime) -> i64 {
    day_number(at.to_offset(vietnam()).date())
}

/// Days since 1970-01-01.
pub fn day_number(d: Date) -> i64 {
    (d - time::macros::date!(1970 - 01 - 01)).whole_days()
}

/// The date of a day number.
pub fn day_date(n: i64) -> Date {
    time::macros::date!(1970 - 01 - 01) + Duration::days(n)
}

/// What a campaign counts, written by the transitions below: the stored names of
/// [`eid_domain::Metric`]s.
pub mod metric {
    use eid_domain::Metric;

    pub const APPLICATIONS_COLLECTED: &str = Metric::ApplicationsCollected.as_str();
    pub const LEVEL1_ACTIVATED: &str = Metric::Level1Activated.as_str();
    pub const LEVEL2_ACTIVATED: &str = Metric::Level2Activated.as_str();
    /// An account became active for the first time, at either level (not raised again when a
    /// level-1 account becomes level 2).
    pub const ACCOUNTS_ACTIVATED: &str = Metric::AccountsActivated.as_str();
}

/// Adds one to a campaign counter, in the caller's transaction (public for the benchmarks).
pub fn bump(
    tx: &mut dyn Tx,
    metric: &str,
    res_path: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + 1",
        &[metric.into(), res_path.into(), day_of(now).into()],
    )?;
    tx.exec(
        "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, 1) \
         ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + 1",
        &[metric.into(), res_path.into()],
    )?;
    Ok(())
}

/// The sum of a metric over a subtree's `[lo, hi)` range of residence paths and `[from, to]`
/// days.
pub fn count(
    store: &dyn Store,
    metric: &str,
    range: (i64, i64),
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    sql::read(store.db(), |tx| {
        tx.int(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM unit_day_count WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_are_vietnam_days() {
        let at = time::macros::datetime!(2026-11-23 17:30 UTC);
        assert_eq!(day_date(day_of(at)), time::macros::date!(2026 - 11 - 24));
        assert_eq!(day_number(time::macros::date!(1970 - 01 - 02)), 1);
    }
}
