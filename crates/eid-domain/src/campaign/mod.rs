//! The arithmetic of the Project 06 operations console: quotas, progress, forecasts, status,
//! ranking, splitting quotas down the unit tree, reporting timeliness and emulation scoring.
//!
//! Everything here is a pure function of its arguments. Counts are whole numbers (`u64`), dates
//! are [`time::Date`], and "today" is always a parameter. Where a result is compared or shown
//! to the user (a percentage, a rank, a status) it is computed from exact integer fractions, so
//! that two units with the same figures always get the same answer and a quota met exactly
//! shows as met.
//!
//! # How days are counted
//!
//! Counts are those known at the **end** of the `as_of` day. The days left are the calendar days
//! after `as_of` up to and including the deadline: from 30 May to 15 July 2023 that is 46 days
//! (31 May is the first, 15 July the last). On the deadline itself no day is left, and a quota
//! not met by the end of its deadline is behind. See [`days_left`].
//!
//! # A zero target
//!
//! A quota of zero (as a split can give a unit with no eligible people) asks for nothing, so it
//! is met whatever has been done: its percentage is 100 % and its status [`Status::Met`]. This
//! keeps the percentage and the status consistent with each other.

use std::cmp::{Ordering, Reverse};

use time::Date;

mod format;
mod rank;
mod schedule;
mod score;
mod split;

pub use format::{format_percent, percent_fixed, MAX_DECIMALS};
pub use rank::{rank, RankInput, Ranked};
pub use schedule::{
    completeness, due, periods, timeliness, Completeness, Period, Schedule, Timeliness,
};
pub use score::{leaderboard, score, Standing, LATE_POINTS, ON_TIME_POINTS, QUOTA_POINTS_CAP};
pub use split::{check_split, split_proportional, SplitCheck};

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Applications for an electronic identification account collected.
    ApplicationsCollected,
    /// Level-1 accounts activated.
    Level1Activated,
    /// Level-2 accounts activated.
    Level2Activated,
    /// Accounts activated at either level, each account once (a level-1 account later raised
    /// to level 2 is not counted again): the "tài khoản kích hoạt" of the seeds' totals.
    AccountsActivated,
    /// Chip-based identity cards issued.
    CardsIssued,
}

impl Metric {
    /// Every metric, in a fixed order.
    pub const ALL: &'static [Metric] = &[
        Metric::ApplicationsCollected,
        Metric::Level1Activated,
        Metric::Level2Activated,
        Metric::AccountsActivated,
        Metric::CardsIssued,
    ];

    /// The stable name used in storage and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::ApplicationsCollected => "applications_collected",
            Metric::Level1Activated => "level1_activated",
            Metric::Level2Activated => "level2_activated",
            Metric::AccountsActivated => "accounts_activated",
            Metric::CardsIssued => "cards_issued",
        }
    }

    /// The metric with this stable name, if there is one.
    pub fn parse(s: &str) -> Option<Metric> {
        Self::ALL.iter().copied().find(|m| m.as_str() == s)
    }
}

/// The number of days left before a deadline, with counts known at the end of `as_of`.
///
/// It is the number of calendar days after `as_of` up to and including `deadline`, that is
/// `deadline − as_of` in whole days, and never negative: it is 0 on the deadline itself and
/// after it. From 30 May to 15 July 2023 there are 46 days left; from 11 May, 65.
pub fn days_left(as_of: Date, deadline: Date) -> i64 {
    (i64::from(deadline.to_julian_day()) - i64::from(as_of.to_julian_day())).max(0)
}

/// `date` moved by `days` days, or `None` beyond the range of the calendar.
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    let julian = i64::from(date.to_julian_day()).checked_add(days)?;
    Date::from_julian_day(i32::try_from(julian).ok()?).ok()
}

/// `date` moved by `days` days, stopping at the first or last day the calendar has
/// ([`Date::MIN`], [`Date::MAX`]) instead of overflowing: it never panics.
pub fn shift_days(date: Date, days: i64) -> Date {
    add_days(date, days).unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

/// `done / target` as an exact fraction, a zero target reading as 1/1 (see the module notes).
fn share(done: u64, target: u64) -> (u128, u128) {
    if target == 0 {
        (1, 1)
    } else {
        (u128::from(done), u128::from(target))
    }
}

/// `num / den × 100` as a float: one correctly rounded division of two integers, so a fraction
/// that is exactly 90 % or 100 % gives exactly 90.0 or 100.0.
fn percent_of(num: u128, den: u128) -> f64 {
    num.saturating_mul(100) as f64 / den as f64
}

/// `done` as a percentage of `target` (100 for a zero target). For display use
/// [`percent_fixed`], which rounds exactly.
pub fn percent(done: u64, target: u64) -> f64 {
    let (num, den) = share(done, target);
    percent_of(num, den)
}

/// The lowest forecast percentage at the deadline that counts as [`Status::AtRisk`] rather than
/// [`Status::Behind`].
pub const AT_RISK_FLOOR: f64 = 90.0;

/// Where a quota stands.
///
/// - **Met**: done has reached the target.
/// - **On track**: not met, but at the recent rate (see [`Progress::rate_7d`]) it will be met by
///   the deadline (the forecast at the deadline is at least 100 %).
/// - **At risk**: at that rate the forecast at the deadline is below 100 % but at least
///   [`AT_RISK_FLOOR`] (90 %).
/// - **Behind**: the forecast at the deadline is below 90 %.
/// - **Beyond capacity**: whatever the rate, the intake devices cannot collect what remains by
///   the deadline (see [`limit_by_capacity`]); set by the caller that knows the capacity.
/// - **Missed**: the deadline has passed (no day is left) and the quota is not met. A quota
///   whose deadline has passed is met or missed, nothing else.
/// - **Too early**: the as-of day is the quota's first day: one day is no basis for a forecast.
/// - **Not started**: the as-of day is before the quota's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Met,
    OnTrack,
    AtRisk,
    Behind,
    BeyondCapacity,
    Missed,
    TooEarly,
    NotStarted,
}

impl Status {
    /// Every status, in a fixed order.
    pub const ALL: &'static [Status] = &[
        Status::Met,
        Status::OnTrack,
        Status::AtRisk,
        Status::Behind,
        Status::BeyondCapacity,
        Status::Missed,
        Status::TooEarly,
        Status::NotStarted,
    ];

    /// The stable name used in storage and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Behind => "behind",
            Status::BeyondCapacity => "beyond_capacity",
            Status::Missed => "missed",
            Status::TooEarly => "too_early",
            Status::NotStarted => "not_started",
        }
    }
}

/// The figures a quota's progress is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressInput {
    /// The quota.
    pub target: u64,
    /// The count done by the end of `as_of`.
    pub done: u64,
    /// The day the counts are known at (at its end).
    pub as_of: Date,
    /// The last day on which work counts towards the quota.
    pub deadline: Date,
    /// The count done in the last 7 days of the quota ending on `as_of` (or on the deadline,
    /// when `as_of` is after it), that day included, and never before `start`.
    pub last_7_days: u64,
    /// The quota's first day: the recent rate averages over the days the quota has existed,
    /// at most 7 (see [`rate_days`]).
    pub start: Date,
}

/// The number of days the recent rate of a quota averages over: the days from `start` to
/// `as_of` (or to the deadline, once it has passed), both included, at most 7 and at least 1.
/// A quota in its third day divides its count by 3, not by 7.
pub fn rate_days(start: Date, as_of: Date, deadline: Date) -> u64 {
    let end = as_of.min(deadline);
    let existed = i64::from(end.to_julian_day()) - i64::from(start.to_julian_day()) + 1;
    existed.clamp(1, 7).unsigned_abs()
}

/// The required daily rate in tenths, rounded **up** (so that doing the shown rate every day
/// meets the quota): `remaining ÷ days`, 31 ÷ 10 is 31 tenths (3.1) and 37 ÷ 12 is 31 tenths
/// (3.083… shown as 3.1). `None` when no day is left and something remains.
pub fn required_daily_tenths(remaining: u64, days: i64) -> Option<u64> {
    if remaining == 0 {
        return Some(0);
    }
    let days = u128::try_from(days).ok().filter(|d| *d > 0)?;
    let tenths = (u128::from(remaining) * 10).div_ceil(days);
    Some(u64::try_from(tenths).unwrap_or(u64::MAX))
}

/// Marks a quota that the intake capacity cannot meet: when `per_day` (the capacity, a day)
/// times the days left is less than what remains, a quota that is neither met nor closed is
/// [`Status::BeyondCapacity`], whatever its recent rate says. A capacity of 0 is unknown (no
/// device recorded) and changes nothing.
pub fn limit_by_capacity(p: &mut Progress, per_day: u64) {
    let open = matches!(
        p.status,
        Status::OnTrack | Status::AtRisk | Status::Behind | Status::TooEarly
    );
    let days = u128::try_from(p.days_left).unwrap_or(0);
    if open && per_day > 0 && u128::from(per_day) * days < u128::from(p.remaining) {
        p.status = Status::BeyondCapacity;
    }
}

/// A quota's progress as the console shows it. See [`progress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Done as a percentage of the target (100 for a zero target).
    pub percent: f64,
    /// What is left to do; 0 once the target is reached.
    pub remaining: u64,
    /// See [`days_left`].
    pub days_left: i64,
    /// The count needed each remaining day to meet the quota: remaining ÷ days left. `Some(0.0)`
    /// when nothing remains, `None` when something remains and no day is left.
    pub required_daily: Option<f64>,
    /// The average daily count of the last 7 days, or of the days the quota has existed when
    /// fewer (see [`rate_days`]).
    pub rate_7d: f64,
    /// The number of days `rate_7d` averages over, 1 to 7.
    pub rate_days: u64,
    /// The day the quota will be met at the rate of the last 7 days: `as_of` if it already is,
    /// `None` if the rate is zero (or the day would be beyond the calendar).
    pub forecast_met_on: Option<Date>,
    /// The percentage the quota will reach by the end of the deadline at the rate of the last 7
    /// days: (done + rate × days left) ÷ target × 100.
    pub forecast_percent_at_deadline: f64,
    /// See [`Status`].
    pub status: Status,
}

/// Computes a quota's progress, forecast and status.
///
/// The forecast assumes the recent average (of the last 7 days, or of the days the quota has
/// existed when fewer) goes on every day after `as_of`. It is computed on exact integers (the
/// rate's days times each count), so a rate that meets the quota exactly
/// on the deadline gives a forecast of exactly 100 %, a `forecast_met_on` equal to the deadline
/// and the status on track.
pub fn progress(input: &ProgressInput) -> Progress {
    let ProgressInput {
        target,
        done,
        as_of,
        deadline,
        last_7_days,
        start,
    } = *input;
    let rd = rate_days(start, as_of, deadline);
    let remaining = target.saturating_sub(done);
    let days = days_left(as_of, deadline);

    let required_daily = if remaining == 0 {
        Some(0.0)
    } else if days == 0 {
        None
    } else {
        Some(remaining as f64 / days as f64)
    };

    // remaining ÷ (last_7_days ÷ rate days), rounded up to whole days.
    let forecast_met_on = if remaining == 0 {
        Some(as_of)
    } else if last_7_days == 0 {
        None
    } else {
        let needed = (u128::from(remaining) * u128::from(rd)).div_ceil(u128::from(last_7_days));
        i64::try_from(needed).ok().and_then(|n| add_days(as_of, n))
    };

    // Rate-days times the count expected at the end of the deadline, over rate-days times the
    // target.
    let days_u = u128::try_from(days).unwrap_or(0);
    let (forecast_num, forecast_den) = if target == 0 {
        (1, 1)
    } else {
        let projected = (u128::from(done) * u128::from(rd))
            .saturating_add(u128::from(last_7_days).saturating_mul(days_u));
        (projected, u128::from(target) * u128::from(rd))
    };
    let forecast_percent_at_deadline = percent_of(forecast_num, forecast_den);

    let status = if done >= target {
        Status::Met
    } else if as_of < start {
        Status::NotStarted
    } else if days == 0 {
        Status::Missed
    } else if as_of == start {
        Status::TooEarly
    } else if forecast_num >= forecast_den {
        Status::OnTrack
    } else if forecast_percent_at_deadline >= AT_RISK_FLOOR {
        Status::AtRisk
    } else {
        Status::Behind
    };

    Progress {
        percent: percent(done, target),
        remaining,
        days_left: days,
        required_daily,
        rate_7d: last_7_days as f64 / rd as f64,
        rate_days: rd,
        forecast_met_on,
        forecast_percent_at_deadline,
        status,
    }
}

#[cfg(test)]
mod tests;
