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
fn add_days(date: Date, days: i64) -> Option<Date> {
    let julian = i64::from(date.to_julian_day()).checked_add(days)?;
    Date::from_julian_day(i32::try_from(julian).ok()?).ok()
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
/// - **On track**: not met, but at the rate of the last 7 days it will be met by the deadline
///   (the forecast at the deadline is at least 100 %).
/// - **At risk**: at that rate the forecast at the deadline is below 100 % but at least
///   [`AT_RISK_FLOOR`] (90 %).
/// - **Behind**: the forecast at the deadline is below 90 %, or the deadline has passed (no day
///   left) and the quota is not met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Met,
    OnTrack,
    AtRisk,
    Behind,
}

impl Status {
    /// The stable name used in storage and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Behind => "behind",
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
    /// The count done in the 7 days ending on `as_of`, `as_of` included.
    pub last_7_days: u64,
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
    /// The average daily count of the last 7 days.
    pub rate_7d: f64,
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
/// The forecast assumes the average of the last 7 days goes on every day after `as_of`. It is
/// computed on exact integers (seven times each count), so a rate that meets the quota exactly
/// on the deadline gives a forecast of exactly 100 %, a `forecast_met_on` equal to the deadline
/// and the status on track.
pub fn progress(input: &ProgressInput) -> Progress {
    let ProgressInput {
        target,
        done,
        as_of,
        deadline,
        last_7_days,
    } = *input;
    let remaining = target.saturating_sub(done);
    let days = days_left(as_of, deadline);

    let required_daily = if remaining == 0 {
        Some(0.0)
    } else if days == 0 {
        None
    } else {
        Some(remaining as f64 / days as f64)
    };

    // remaining ÷ (last_7_days ÷ 7), rounded up to whole days.
    let forecast_met_on = if remaining == 0 {
        Some(as_of)
    } else if last_7_days == 0 {
        None
    } else {
        let needed = (u128::from(remaining) * 7).div_ceil(u128::from(last_7_days));
        i64::try_from(needed).ok().and_then(|n| add_days(as_of, n))
    };

    // Seven times the count expected at the end of the deadline, over seven times the target.
    let days_u = u128::try_from(days).unwrap_or(0);
    let (forecast_num, forecast_den) = if target == 0 {
        (1, 1)
    } else {
        let projected =
            (u128::from(done) * 7).saturating_add(u128::from(last_7_days).saturating_mul(days_u));
        (projected, u128::from(target) * 7)
    };
    let forecast_percent_at_deadline = percent_of(forecast_num, forecast_den);

    let status = if done >= target {
        Status::Met
    } else if days == 0 {
        Status::Behind
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
        rate_7d: last_7_days as f64 / 7.0,
        forecast_met_on,
        forecast_percent_at_deadline,
        status,
    }
}

/// The most decimals [`format_percent`] and [`percent_fixed`] will show; more are cut to this.
pub const MAX_DECIMALS: u32 = 17;

/// Formats a percentage (or any number) with `decimals` decimals, rounding half away from zero.
///
/// The float is read as the shortest decimal that converts back to it (what Rust's `{}` prints),
/// and that decimal is rounded: 2.675 shows as "2.68" and 0.125 as "0.13" with two decimals,
/// where `format!("{:.2}")` would round the binary value just below them down. A result of zero
/// has no minus sign. Not-a-number and infinities are printed as Rust prints them.
///
/// A percentage computed as a float from two counts can land a hair off a half; to show a share
/// of two counts, prefer [`percent_fixed`].
pub fn format_percent(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let decimals = decimals.min(MAX_DECIMALS) as usize;
    let text = value.abs().to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let frac: Vec<u8> = frac_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();

    let mut digits: Vec<u8> = int_part.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    digits.extend((0..decimals).map(|i| frac.get(i).copied().unwrap_or(0)));
    if frac.get(decimals).is_some_and(|&d| d >= 5) {
        round_up(&mut digits);
    }
    render(value.is_sign_negative(), &digits, decimals)
}

/// Adds one to the last of a list of decimal digits, carrying.
fn round_up(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

/// Decimal digits as text, the last `decimals` of them after the point.
fn render(negative: bool, digits: &[u8], decimals: usize) -> String {
    let (int_digits, frac_digits) = digits.split_at(digits.len().saturating_sub(decimals));
    let mut out = String::with_capacity(digits.len() + 3);
    if negative && digits.iter().any(|&d| d != 0) {
        out.push('-');
    }
    if int_digits.is_empty() {
        out.push('0');
    }
    out.extend(int_digits.iter().map(|&d| char::from(b'0' + d)));
    if decimals > 0 {
        out.push('.');
        out.extend(frac_digits.iter().map(|&d| char::from(b'0' + d)));
    }
    out
}

/// `done` as a percentage of `target` with `decimals` decimals, computed and rounded (half away
/// from zero) on integers, so the digits are always right: 1,633,225 of 1,620,967 is "100.76".
/// A zero target gives 100 (see the module notes). At most [`MAX_DECIMALS`] decimals.
pub fn percent_fixed(done: u64, target: u64, decimals: u32) -> String {
    let decimals = decimals.min(MAX_DECIMALS);
    let (num, den) = share(done, target);
    // num < 2^64 and scale ≤ 10^19 < 2^64, so the product fits in a u128.
    let scaled = num * 10u128.pow(decimals + 2);
    let mut units = scaled / den;
    if (scaled % den) * 2 >= den {
        units += 1;
    }
    let one = 10u128.pow(decimals);
    let (whole, frac) = (units / one, units % one);
    if decimals == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:0width$}", width = decimals as usize)
    }
}

/// Splits a parent quota among children in proportion to their weights (for example their
/// eligible population), by the largest-remainder method.
///
/// Each child first gets the whole part of its exact share `total × weight ÷ Σ weights`; what is
/// left (fewer units than there are children) goes one by one to the children with the largest
/// fractional parts, earlier children first among equals. The parts therefore always add up to
/// `total` exactly and each differs from its exact share by less than one. If every weight is
/// zero the total is split evenly the same way. With no children the result is empty.
pub fn split_proportional<K: Clone>(total: u64, weights: &[(K, u64)]) -> Vec<(K, u64)> {
    let all_zero = weights.iter().all(|(_, w)| *w == 0);
    let weight = |w: u64| if all_zero { 1 } else { u128::from(w) };
    let sum: u128 = weights.iter().map(|(_, w)| weight(*w)).sum();
    if sum == 0 {
        return Vec::new();
    }
    let total_wide = u128::from(total);

    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, (_, w)) in weights.iter().enumerate() {
        // total and w are both below 2^64, so the product fits in a u128.
        let exact = total_wide * weight(*w);
        // A share is at most the total, so it fits in a u64.
        parts.push(u64::try_from(exact / sum).unwrap_or(total));
        remainders.push((i, exact % sum));
    }
    let given: u128 = parts.iter().map(|&p| u128::from(p)).sum();
    let leftover = usize::try_from(total_wide.saturating_sub(given)).unwrap_or(usize::MAX);
    remainders.sort_by_key(|&(i, r)| (Reverse(r), i));
    for &(i, _) in remainders.iter().take(leftover) {
        if let Some(part) = parts.get_mut(i) {
            *part += 1;
        }
    }
    weights
        .iter()
        .zip(parts)
        .map(|((key, _), part)| (key.clone(), part))
        .collect()
}

/// Whether children's quotas add up to their parent's. See [`check_split`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitCheck {
    /// The parent's quota.
    pub parent: u64,
    /// The sum of the children's quotas.
    pub children_sum: u128,
    /// `children_sum − parent`: positive when the children were given more than the parent
    /// has, negative when part of the parent's quota was not given to any child.
    pub difference: i128,
    /// Whether the sum equals the parent's quota.
    pub matches: bool,
}

/// Compares a parent's quota with the sum of its children's.
pub fn check_split(parent: u64, children: &[u64]) -> SplitCheck {
    let children_sum: u128 = children.iter().map(|&c| u128::from(c)).sum();
    let difference = i128::try_from(children_sum).unwrap_or(i128::MAX) - i128::from(parent);
    SplitCheck {
        parent,
        children_sum,
        difference,
        matches: difference == 0,
    }
}

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

/// How often a periodic report is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// ISO weeks, Monday to Sunday.
    Weekly,
    /// Calendar months.
    Monthly,
}

impl Schedule {
    /// The stable name used in storage and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Schedule::Weekly => "weekly",
            Schedule::Monthly => "monthly",
        }
    }

    /// The schedule with this stable name, if there is one.
    pub fn parse(s: &str) -> Option<Schedule> {
        [Schedule::Weekly, Schedule::Monthly]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A reporting period, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

/// The period of `schedule` that contains `date`.
fn period_containing(schedule: Schedule, date: Date) -> Option<Period> {
    match schedule {
        Schedule::Weekly => {
            let back = i64::from(date.weekday().number_days_from_monday());
            let start = add_days(date, -back)?;
            Some(Period {
                start,
                end: add_days(start, 6)?,
            })
        }
        Schedule::Monthly => Some(Period {
            start: date.replace_day(1).ok()?,
            end: date.replace_day(date.month().length(date.year())).ok()?,
        }),
    }
}

/// The whole periods of `schedule` that overlap `from..=to`, in order: the first contains
/// `from`, the last contains `to`; periods are not cut at either end. Empty when `from` is after
/// `to`.
pub fn periods(schedule: Schedule, from: Date, to: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let mut cursor = Some(from);
    while let Some(day) = cursor {
        if day > to {
            break;
        }
        let Some(period) = period_containing(schedule, day) else {
            break;
        };
        out.push(period);
        cursor = period.end.next_day();
    }
    out
}

/// The last day a report for `period` is on time: its end plus `grace_days` (the last day the
/// calendar has, if that would be beyond it).
pub fn due(period: Period, grace_days: u32) -> Date {
    add_days(period.end, i64::from(grace_days)).unwrap_or(Date::MAX)
}

/// How a periodic report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeliness {
    /// Submitted on or before the due day.
    OnTime,
    /// Submitted after the due day.
    Late,
    /// Not submitted, and the due day has passed.
    Missing,
    /// Not submitted, and the due day is today or later.
    NotDueYet,
}

impl Timeliness {
    /// The stable name used in storage and URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timeliness::OnTime => "on_time",
            Timeliness::Late => "late",
            Timeliness::Missing => "missing",
            Timeliness::NotDueYet => "not_due_yet",
        }
    }
}

/// Classifies the report for `period`, due `grace_days` after its end (see [`due`]), submitted
/// on `submitted` if it was, as seen on `today`. A report can still be submitted on time on its
/// due day, so it is missing only from the day after.
pub fn timeliness(
    period: Period,
    grace_days: u32,
    submitted: Option<Date>,
    today: Date,
) -> Timeliness {
    let due = due(period, grace_days);
    match submitted {
        Some(day) if day <= due => Timeliness::OnTime,
        Some(_) => Timeliness::Late,
        None if today > due => Timeliness::Missing,
        None => Timeliness::NotDueYet,
    }
}

/// How complete a set of reports is. See [`completeness`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Completeness {
    /// Reports whose due day has come and gone or that were submitted: on time, late or missing.
    pub expected: usize,
    pub on_time: usize,
    pub late: usize,
    pub missing: usize,
}

/// Counts reports by how they stand; reports not yet due are not expected yet.
pub fn completeness(statuses: &[Timeliness]) -> Completeness {
    let mut c = Completeness::default();
    for status in statuses {
        match status {
            Timeliness::OnTime => c.on_time += 1,
            Timeliness::Late => c.late += 1,
            Timeliness::Missing => c.missing += 1,
            Timeliness::NotDueYet => continue,
        }
        c.expected += 1;
    }
    c
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input(
        target: u64,
        done: u64,
        as_of: Date,
        deadline: Date,
        last_7_days: u64,
    ) -> ProgressInput {
        ProgressInput {
            target,
            done,
            as_of,
            deadline,
            last_7_days,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    // ---- metrics and names ----

    #[test]
    fn metric_names_round_trip_and_unknown_names_are_refused() {
        let want = [
            (Metric::ApplicationsCollected, "applications_collected"),
            (Metric::Level1Activated, "level1_activated"),
            (Metric::Level2Activated, "level2_activated"),
            (Metric::AccountsActivated, "accounts_activated"),
            (Metric::CardsIssued, "cards_issued"),
        ];
        assert_eq!(Metric::ALL.len(), want.len());
        for (metric, name) in want {
            assert_eq!(metric.as_str(), name);
            assert_eq!(Metric::parse(name), Some(metric));
            assert!(Metric::ALL.contains(&metric));
        }
        for bad in ["", "Cards_Issued", "level3_activated", " cards_issued"] {
            assert_eq!(Metric::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn status_schedule_and_timeliness_names() {
        let statuses = [
            (Status::Met, "met"),
            (Status::OnTrack, "on_track"),
            (Status::AtRisk, "at_risk"),
            (Status::Behind, "behind"),
        ];
        for (s, name) in statuses {
            assert_eq!(s.as_str(), name);
        }
        for (s, name) in [(Schedule::Weekly, "weekly"), (Schedule::Monthly, "monthly")] {
            assert_eq!(s.as_str(), name);
            assert_eq!(Schedule::parse(name), Some(s));
        }
        assert_eq!(Schedule::parse("daily"), None);
        let timeliness = [
            (Timeliness::OnTime, "on_time"),
            (Timeliness::Late, "late"),
            (Timeliness::Missing, "missing"),
            (Timeliness::NotDueYet, "not_due_yet"),
        ];
        for (t, name) in timeliness {
            assert_eq!(t.as_str(), name);
        }
    }

    // ---- days left ----

    #[test]
    fn days_left_counts_the_days_after_as_of_through_the_deadline() {
        let cases = [
            (date!(2023 - 05 - 30), date!(2023 - 07 - 15), 46), // Kon Tum on 30 May
            (date!(2023 - 05 - 11), date!(2023 - 07 - 15), 65), // Kon Tum from 11 May
            (date!(2023 - 05 - 14), date!(2023 - 06 - 30), 47), // Quảng Nam on 14 May
            (date!(2023 - 07 - 14), date!(2023 - 07 - 15), 1),
            (date!(2023 - 07 - 15), date!(2023 - 07 - 15), 0), // on the deadline
            (date!(2023 - 08 - 21), date!(2023 - 07 - 15), 0), // past it: never negative
            (date!(2024 - 02 - 28), date!(2024 - 03 - 01), 2), // leap year
            (date!(2023 - 02 - 28), date!(2023 - 03 - 01), 1),
            (date!(2023 - 12 - 31), date!(2024 - 01 - 01), 1),
        ];
        for (as_of, deadline, want) in cases {
            assert_eq!(days_left(as_of, deadline), want, "{as_of} → {deadline}");
        }
    }

    // ---- golden figures from the seeds ----

    #[test]
    fn thanh_hoa_percentages() {
        let quota = 1_620_967;
        assert_eq!(percent_fixed(1_633_225, quota, 2), "100.76");
        assert_eq!(percent_fixed(2_330_383, quota, 2), "143.76");
        assert_eq!(format_percent(percent(1_633_225, quota), 2), "100.76");
        assert_eq!(format_percent(percent(2_330_383, quota), 2), "143.76");
    }

    #[test]
    fn quang_nam_percentage_and_required_rate() {
        assert_eq!(percent_fixed(94_000, 738_000, 1), "12.7");
        assert_eq!(percent_fixed(94_000, 738_000, 2), "12.74");
        assert_eq!(format_percent(percent(94_000, 738_000), 1), "12.7");
        let p = progress(&input(
            738_000,
            94_000,
            date!(2023 - 05 - 14),
            date!(2023 - 06 - 30),
            0,
        ));
        assert_eq!(p.remaining, 644_000);
        assert_eq!(p.days_left, 47);
        assert_eq!(p.required_daily.map(f64::round), Some(13_702.0));
        assert_eq!(p.status, Status::Behind);
    }

    const KON_TUM_QUOTA: u64 = 421_013;
    const KON_TUM_DEADLINE: Date = date!(2023 - 07 - 15);

    fn kon_tum_on_30_may(last_7_days: u64) -> Progress {
        progress(&input(
            KON_TUM_QUOTA,
            6_791 + 18_832,
            date!(2023 - 05 - 30),
            KON_TUM_DEADLINE,
            last_7_days,
        ))
    }

    #[test]
    fn kon_tum_required_rate_on_30_may() {
        let p = kon_tum_on_30_may(0);
        assert_eq!(6_791 + 18_832, 25_623);
        assert_eq!(p.remaining, 395_390);
        assert_eq!(p.days_left, 46);
        let required = p.required_daily.unwrap_or(f64::NAN);
        assert!((required - 8_595.43).abs() < 0.01, "{required}");
        assert_eq!(required.round(), 8_595.0);
        assert_eq!(format_percent(required, 1), "8595.4");
        assert_eq!(percent_fixed(25_623, KON_TUM_QUOTA, 2), "6.09");
    }

    #[test]
    fn kon_tum_whole_quota_from_11_may() {
        let p = progress(&input(
            KON_TUM_QUOTA,
            0,
            date!(2023 - 05 - 11),
            KON_TUM_DEADLINE,
            0,
        ));
        assert_eq!(p.days_left, 65);
        let required = p.required_daily.unwrap_or(f64::NAN);
        assert_eq!(required.round(), 6_477.0);
        assert_eq!(format_percent(required, 1), "6477.1");
        // The article says "over 6,500 a day". Spread over the 65 days from 11 May the quota is
        // 6,477 a day; 6,500 a day would need the window to be under 65 days (64 days gives
        // 6,578). The article gives a round headline figure, not an exact division.
        assert!(required < 6_500.0);
        assert!(KON_TUM_QUOTA as f64 / 64.0 > 6_500.0);
    }

    #[test]
    fn kon_tum_at_its_real_pace_is_behind() {
        // 25,623 activations in the 19 days from 11 May is about 1,349 a day; a week at that
        // pace is 9,440. The required rate is 8,595 a day, more than six times that.
        let p = kon_tum_on_30_may(9_440);
        let required = p.required_daily.unwrap_or(f64::NAN);
        assert!(p.rate_7d < required);
        assert!(close(p.rate_7d, 9_440.0 / 7.0));
        // (25,623 + 9,440 / 7 × 46) / 421,013 = 20.82 %
        assert_eq!(format_percent(p.forecast_percent_at_deadline, 2), "20.82");
        assert_eq!(p.status, Status::Behind);
        // ceil(7 × 395,390 / 9,440) = 294 days after 30 May.
        assert_eq!(p.forecast_met_on, Some(date!(2024 - 03 - 19)));
    }

    #[test]
    fn kon_tum_status_thresholds_at_the_exact_boundaries() {
        // On track needs 25,623 + r × 46 ≥ 421,013 with r = w / 7, i.e. w ≥ 60,168.04.
        // At risk needs the forecast ≥ 90 % (378,911.7), i.e. w ≥ 53,761.3.
        let cases = [
            (60_169, Status::OnTrack),
            (60_168, Status::AtRisk),
            (53_762, Status::AtRisk),
            (53_761, Status::Behind),
            (9_440, Status::Behind),
            (0, Status::Behind),
        ];
        for (week, want) in cases {
            let p = kon_tum_on_30_may(week);
            assert_eq!(p.status, want, "last 7 days {week}");
            let met_by_deadline = p.forecast_met_on.is_some_and(|d| d <= KON_TUM_DEADLINE);
            assert_eq!(
                met_by_deadline,
                want == Status::OnTrack,
                "last 7 days {week}"
            );
        }
    }

    #[test]
    fn truong_xuan_week() {
        // 79 level-2 activations in a week against a quota of 618.
        assert_eq!(percent_fixed(79, 618, 2), "12.78");
        assert_eq!(percent_fixed(79, 618, 1), "12.8");
        let p = progress(&input(
            618,
            79,
            date!(2023 - 05 - 28),
            date!(2023 - 05 - 28),
            79,
        ));
        assert!(close(p.rate_7d, 79.0 / 7.0));
        assert_eq!(format_percent(p.rate_7d, 1), "11.3");
        assert_eq!(p.remaining, 539);
        assert_eq!(p.required_daily, None); // the week is over
        assert_eq!(p.status, Status::Behind);
        assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 15))); // 48 more days at that rate

        let ranked = rank(&[
            RankInput {
                key: "Phường A",
                done_today: 400,
                done_yesterday: 350,
                target: 600,
            },
            RankInput {
                key: "Trường Xuân",
                done_today: 79,
                done_yesterday: 70,
                target: 618,
            },
            RankInput {
                key: "Phường B",
                done_today: 300,
                done_yesterday: 280,
                target: 500,
            },
        ]);
        assert_eq!(ranked.last().map(|r| r.key), Some("Trường Xuân"));
        assert_eq!(ranked.last().map(|r| r.rank_today), Some(3));
    }

    // ---- progress edge cases ----

    #[test]
    fn progress_edge_cases() {
        let d = date!(2023 - 06 - 01);
        let deadline = date!(2023 - 06 - 11);

        // target 0: met, 100 %.
        for done in [0, 5] {
            let p = progress(&input(0, done, d, deadline, 0));
            assert_eq!(p.status, Status::Met);
            assert!(close(p.percent, 100.0));
            assert!(close(p.forecast_percent_at_deadline, 100.0));
            assert_eq!(p.remaining, 0);
            assert_eq!(p.required_daily, Some(0.0));
            assert_eq!(p.forecast_met_on, Some(d));
        }

        // Met with more than asked, even after the deadline.
        let p = progress(&input(100, 130, date!(2023 - 07 - 01), deadline, 0));
        assert_eq!(p.status, Status::Met);
        assert!(close(p.percent, 130.0));
        assert_eq!(p.remaining, 0);
        assert_eq!(p.days_left, 0);
        assert_eq!(p.required_daily, Some(0.0));
        assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 01)));

        // Deadline passed and not met: behind whatever the rate, no required rate.
        let p = progress(&input(100, 99, date!(2023 - 07 - 01), deadline, 700));
        assert_eq!(p.status, Status::Behind);
        assert_eq!(p.required_daily, None);
        assert_eq!(p.days_left, 0);
        assert!(close(p.forecast_percent_at_deadline, 99.0));
        assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 02)));

        // On the deadline day itself: no day left.
        let p = progress(&input(100, 99, deadline, deadline, 700));
        assert_eq!(p.status, Status::Behind);
        assert_eq!(p.required_daily, None);

        // Zero rate: no forecast date; the status follows what is already done.
        let p = progress(&input(100, 95, d, deadline, 0));
        assert_eq!(p.forecast_met_on, None);
        assert!(close(p.rate_7d, 0.0));
        assert!(close(p.forecast_percent_at_deadline, 95.0));
        assert_eq!(p.status, Status::AtRisk);
        assert_eq!(p.required_daily, Some(0.5));
        let p = progress(&input(100, 10, d, deadline, 0));
        assert_eq!(p.status, Status::Behind);
    }

    #[test]
    fn status_thresholds_are_exact() {
        let as_of = date!(2023 - 01 - 01);
        let deadline = date!(2023 - 02 - 20); // 50 days left
                                              // (target, done, last 7 days, forecast %, status)
        let cases = [
            (100, 50, 7, 100.0, Status::OnTrack), // exactly on the deadline
            (100, 49, 7, 99.0, Status::AtRisk),
            (100, 40, 7, 90.0, Status::AtRisk), // exactly the floor
            (100, 39, 7, 89.0, Status::Behind),
            (100, 0, 14, 100.0, Status::OnTrack),
            (100, 100, 0, 100.0, Status::Met),
            (1_000, 500, 0, 50.0, Status::Behind),
        ];
        for (target, done, week, forecast, want) in cases {
            let p = progress(&input(target, done, as_of, deadline, week));
            assert_eq!(p.days_left, 50);
            assert_eq!(p.status, want, "{target} {done} {week}");
            assert!(
                close(p.forecast_percent_at_deadline, forecast),
                "{target} {done} {week}: {}",
                p.forecast_percent_at_deadline
            );
        }
        assert_eq!(AT_RISK_FLOOR, 90.0);
        // Exactly on the deadline: the forecast day is the deadline.
        let p = progress(&input(100, 50, as_of, deadline, 7));
        assert_eq!(p.forecast_met_on, Some(deadline));
        let p = progress(&input(100, 49, as_of, deadline, 7));
        assert_eq!(p.forecast_met_on, Some(date!(2023 - 02 - 21)));
    }

    #[test]
    fn forecast_day_rounds_up_and_agrees_with_on_track() {
        let as_of = date!(2023 - 05 - 30);
        // (remaining, last 7 days, days to the forecast)
        let cases = [
            (10, 7, 10),
            (10, 14, 5),
            (10, 21, 4),
            (1, 7_000, 1),
            (7, 3, 17),
        ];
        for (remaining, week, days) in cases {
            let p = progress(&input(1_000, 1_000 - remaining, as_of, as_of, week));
            assert_eq!(
                p.forecast_met_on,
                as_of.checked_add(time::Duration::days(days)),
                "{remaining} {week}"
            );
        }
        // For a spread of rates, on track ⇔ forecast day on or before the deadline.
        let deadline = date!(2023 - 07 - 15);
        for week in (0..80_000).step_by(997) {
            let p = progress(&input(421_013, 25_623, as_of, deadline, week));
            assert_eq!(
                p.status == Status::OnTrack,
                p.forecast_met_on.is_some_and(|d| d <= deadline),
                "{week}"
            );
        }
    }

    #[test]
    fn progress_with_large_numbers() {
        let p = progress(&input(
            100_000_000,
            99_999_999,
            date!(2023 - 01 - 01),
            date!(2023 - 12 - 31),
            0,
        ));
        assert_eq!(p.remaining, 1);
        assert_eq!(p.days_left, 364);
        assert_eq!(p.status, Status::AtRisk);
        assert_eq!(format_percent(p.percent, 2), "100.00");
        assert_eq!(percent_fixed(99_999_999, 100_000_000, 2), "100.00");
        assert_eq!(percent_fixed(99_999_999, 100_000_000, 6), "99.999999");

        // A forecast beyond the calendar is no date rather than a panic.
        let p = progress(&input(u64::MAX, 0, date!(2023 - 01 - 01), Date::MAX, 1));
        assert_eq!(p.forecast_met_on, None);
        assert_eq!(p.status, Status::Behind);
    }

    // ---- formatting ----

    #[test]
    fn format_percent_rounds_half_away_from_zero() {
        let cases = [
            (143.762_536_5, 2, "143.76"),
            (2.675, 2, "2.68"),
            (1.005, 2, "1.01"),
            (0.125, 2, "0.13"),
            (0.285, 2, "0.29"),
            (-1.005, 2, "-1.01"),
            (-0.004, 2, "0.00"),
            (-0.0, 1, "0.0"),
            (0.0, 1, "0.0"),
            (99.995, 2, "100.00"),
            (9.96, 1, "10.0"),
            (0.5, 0, "1"),
            (1.5, 0, "2"),
            (2.5, 0, "3"),
            (-2.5, 0, "-3"),
            (100.0, 2, "100.00"),
            (12.7, 3, "12.700"),
            (1e-7, 2, "0.00"),
            (0.000_5, 3, "0.001"),
            (999.999, 2, "1000.00"),
            (123_456_789.0, 0, "123456789"),
        ];
        for (value, decimals, want) in cases {
            assert_eq!(
                format_percent(value, decimals),
                want,
                "{value} to {decimals}"
            );
        }
        // The standard formatter rounds the binary value, just below the half.
        assert_eq!(format!("{:.2}", 2.675), "2.67");
        assert_eq!(format_percent(f64::NAN, 2), "NaN");
        assert_eq!(format_percent(f64::INFINITY, 2), "inf");
        assert_eq!(format_percent(1.0, 99).len(), 2 + MAX_DECIMALS as usize);
    }

    #[test]
    fn percent_fixed_is_exact() {
        let cases = [
            (0, 0, 2, "100.00"),
            (5, 0, 0, "100"),
            (0, 10, 1, "0.0"),
            (1, 3, 2, "33.33"),
            (2, 3, 2, "66.67"),
            (1, 8, 1, "12.5"),
            (1, 16, 1, "6.3"), // 6.25: half away from zero
            (1, 200, 0, "1"),  // 0.5
            (1, 201, 0, "0"),
            (3, 3, 2, "100.00"),
            (1_633_225, 1_620_967, 0, "101"),
            (1_633_225, 1_620_967, 4, "100.7562"),
            (100_000_000, 100_000_000, 2, "100.00"),
            (u64::MAX, 1, 0, "1844674407370955161500"),
        ];
        for (done, target, decimals, want) in cases {
            assert_eq!(
                percent_fixed(done, target, decimals),
                want,
                "{done}/{target}"
            );
        }
        assert_eq!(
            percent_fixed(1, 3, 40),
            format!("33.{}", "3".repeat(MAX_DECIMALS as usize))
        );
        assert_eq!(
            percent_fixed(u64::MAX, u64::MAX, 40).len(),
            4 + MAX_DECIMALS as usize
        );
    }

    // ---- splitting ----

    #[test]
    fn split_proportional_cases() {
        let cases: [(u64, &[u64], &[u64]); 10] = [
            (10, &[1, 1, 1], &[4, 3, 3]),
            (10, &[0, 0, 0], &[4, 3, 3]),
            (2, &[1, 1, 1], &[1, 1, 0]),
            (100, &[1, 2, 3], &[17, 33, 50]),
            (0, &[5, 7], &[0, 0]),
            (7, &[0, 1, 0], &[0, 7, 0]),
            (5, &[3, 0, 3], &[3, 0, 2]),
            (1, &[1, 1, 2], &[0, 0, 1]),
            (
                100_000_000,
                &[33_333_333, 33_333_333, 33_333_334],
                &[33_333_333, 33_333_333, 33_333_334],
            ),
            (
                100_000_000,
                &[1, 1, 1, 1, 1, 1, 1],
                &[
                    14_285_715, 14_285_715, 14_285_714, 14_285_714, 14_285_714, 14_285_714,
                    14_285_714,
                ],
            ),
        ];
        for (total, weights, want) in cases {
            let keyed: Vec<(usize, u64)> = weights.iter().copied().enumerate().collect();
            let got = split_proportional(total, &keyed);
            let keys: Vec<usize> = got.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, (0..weights.len()).collect::<Vec<_>>());
            let parts: Vec<u64> = got.iter().map(|(_, p)| *p).collect();
            assert_eq!(parts, want, "{total} by {weights:?}");
        }
        let none: [(&str, u64); 0] = [];
        assert!(split_proportional(10, &none).is_empty());
    }

    #[test]
    fn split_parts_always_add_up_and_stay_within_one_of_the_exact_share() {
        let weight_sets: [&[u64]; 6] = [
            &[1_234_567, 89_012, 345, 6_789_012, 0, 1],
            &[u64::MAX / 4, 1, u64::MAX / 4],
            &[3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
            &[97, 89, 83, 79, 73, 71, 67, 61, 59, 53],
            &[0, 0, 1],
            &[100_000_000; 3],
        ];
        for weights in weight_sets {
            for total in [0, 1, 9, 10, 1_000, 999_983, 100_000_000, u64::MAX] {
                let keyed: Vec<(&str, u64)> = weights.iter().map(|&w| ("u", w)).collect();
                let parts: Vec<u64> = split_proportional(total, &keyed)
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect();
                let sum: u128 = parts.iter().map(|&p| u128::from(p)).sum();
                assert_eq!(sum, u128::from(total), "{total} by {weights:?}");
                let wsum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
                for (&p, &w) in parts.iter().zip(weights) {
                    let lhs = u128::from(p) * wsum;
                    let exact = u128::from(total) * u128::from(w);
                    assert!(lhs.abs_diff(exact) < wsum, "{total} by {weights:?}");
                }
                assert!(check_split(total, &parts).matches);
            }
        }
    }

    #[test]
    fn check_split_reports_the_difference() {
        let cases: [(u64, &[u64], u128, i128, bool); 6] = [
            (100, &[30, 30, 30], 90, -10, false),
            (100, &[50, 50], 100, 0, true),
            (100, &[60, 50], 110, 10, false),
            (0, &[], 0, 0, true),
            (5, &[], 0, -5, false),
            (
                0,
                &[u64::MAX, u64::MAX],
                2 * u64::MAX as u128,
                2 * u64::MAX as i128,
                false,
            ),
        ];
        for (parent, children, sum, diff, matches) in cases {
            let c = check_split(parent, children);
            assert_eq!(c.parent, parent);
            assert_eq!(c.children_sum, sum, "{parent} {children:?}");
            assert_eq!(c.difference, diff, "{parent} {children:?}");
            assert_eq!(c.matches, matches, "{parent} {children:?}");
        }
    }

    // ---- ranking ----

    fn row(key: &'static str, today: u64, yesterday: u64, target: u64) -> RankInput<&'static str> {
        RankInput {
            key,
            done_today: today,
            done_yesterday: yesterday,
            target,
        }
    }

    #[test]
    fn ranking_orders_by_percent_with_changes_since_yesterday() {
        // Illustrative figures for Thanh Hóa districts (target 10,000 each), shaped like the
        // report's list (Đông Sơn 139.58 % first … Cẩm Thủy 101.11 % last).
        let rows = [
            row("Cẩm Thủy", 10_111, 10_050, 10_000),
            row("Đông Sơn", 13_958, 13_000, 10_000),
            row("Nông Cống", 11_500, 13_100, 10_000),
            row("Hà Trung", 12_000, 11_000, 10_000),
        ];
        let ranked = rank(&rows);
        let got: Vec<(&str, usize, usize, i64)> = ranked
            .iter()
            .map(|r| (r.key, r.rank_today, r.rank_yesterday, r.rank_change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Đông Sơn", 1, 2, 1),
                ("Hà Trung", 2, 3, 1),
                ("Nông Cống", 3, 1, -2),
                ("Cẩm Thủy", 4, 4, 0),
            ]
        );
        assert_eq!(format_percent(ranked[0].percent_today, 2), "139.58");
        assert_eq!(format_percent(ranked[0].percent_change, 2), "9.58");
        assert_eq!(format_percent(ranked[2].percent_change, 2), "-16.00");
        assert_eq!(format_percent(ranked[3].percent_today, 2), "101.11");
        assert_eq!(format_percent(ranked[3].percent_yesterday, 2), "100.50");
    }

    #[test]
    fn ranking_ties_share_a_rank_and_keep_input_order() {
        let rows = [
            row("c", 1, 1, 4),
            row("a", 50, 10, 100),
            row("b", 1, 0, 2),
            row("d", 3, 3, 4),
        ];
        let ranked = rank(&rows);
        let got: Vec<(&str, usize, usize)> = ranked
            .iter()
            .map(|r| (r.key, r.rank_today, r.rank_yesterday))
            .collect();
        // today: d 75 %, a 50 %, b 50 %, c 25 %; yesterday: d 75 %, c 25 %, a 10 %, b 0 %
        assert_eq!(
            got,
            vec![("d", 1, 1), ("a", 2, 3), ("b", 2, 4), ("c", 4, 2)]
        );
        assert!(rank::<&str>(&[]).is_empty());
    }

    #[test]
    fn ranking_compares_exactly_not_as_floats() {
        // (10^17 + 1) / (3 × 10^17) is a hair above 1/3, but both are the same float.
        let big = 100_000_000_000_000_000u64;
        let rows = [
            row("third", 1, 1, 3),
            row("hair above", big + 1, big + 1, 3 * big),
        ];
        assert_eq!(
            rows[0].done_today as f64 / 3.0,
            (big + 1) as f64 / (3 * big) as f64
        );
        let ranked = rank(&rows);
        assert_eq!(ranked[0].key, "hair above");
        assert_eq!((ranked[0].rank_today, ranked[1].rank_today), (1, 2));

        // A zero target counts as 100 %: tied with a unit at exactly 100 %.
        let ranked = rank(&[
            row("full", 10, 10, 10),
            row("none asked", 0, 0, 0),
            row("over", 11, 5, 10),
        ]);
        let got: Vec<(&str, usize)> = ranked.iter().map(|r| (r.key, r.rank_today)).collect();
        assert_eq!(got, vec![("over", 1), ("full", 2), ("none asked", 2)]);
        assert!(close(ranked[2].percent_change, 0.0));
    }

    // ---- reporting ----

    #[test]
    fn weekly_periods_run_monday_to_sunday() {
        let got = periods(
            Schedule::Weekly,
            date!(2023 - 05 - 30),
            date!(2023 - 06 - 12),
        );
        assert_eq!(
            got,
            vec![
                Period {
                    start: date!(2023 - 05 - 29),
                    end: date!(2023 - 06 - 04)
                },
                Period {
                    start: date!(2023 - 06 - 05),
                    end: date!(2023 - 06 - 11)
                },
                Period {
                    start: date!(2023 - 06 - 12),
                    end: date!(2023 - 06 - 18)
                },
            ]
        );
        // Across the new year; 31 Dec 2023 is a Sunday.
        let got = periods(
            Schedule::Weekly,
            date!(2023 - 12 - 31),
            date!(2024 - 01 - 01),
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].start, date!(2023 - 12 - 25));
        assert_eq!(got[1].start, date!(2024 - 01 - 01));
        assert_eq!(got[1].end, date!(2024 - 01 - 07));
        // A single day.
        let got = periods(
            Schedule::Weekly,
            date!(2023 - 06 - 04),
            date!(2023 - 06 - 04),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].start, date!(2023 - 05 - 29));
        // A year of weeks, each 7 days long and following on.
        let got = periods(
            Schedule::Weekly,
            date!(2023 - 01 - 02),
            date!(2023 - 12 - 31),
        );
        assert_eq!(got.len(), 52);
        for pair in got.windows(2) {
            assert_eq!(pair[0].end.next_day(), Some(pair[1].start));
            assert_eq!(pair[1].start.weekday(), time::Weekday::Monday);
            assert_eq!(days_left(pair[1].start, pair[1].end), 6);
        }
    }

    #[test]
    fn monthly_periods_are_calendar_months() {
        let got = periods(
            Schedule::Monthly,
            date!(2024 - 01 - 15),
            date!(2024 - 03 - 01),
        );
        let want = [
            (date!(2024 - 01 - 01), date!(2024 - 01 - 31)),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29)),
            (date!(2024 - 03 - 01), date!(2024 - 03 - 31)),
        ];
        assert_eq!(got, want.map(|(start, end)| Period { start, end }).to_vec());
        let got = periods(
            Schedule::Monthly,
            date!(2023 - 11 - 30),
            date!(2024 - 01 - 01),
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].end, date!(2023 - 11 - 30));
        assert_eq!(got[1].end, date!(2023 - 12 - 31));
        assert_eq!(got[2].start, date!(2024 - 01 - 01));
        assert_eq!(
            periods(
                Schedule::Monthly,
                date!(2023 - 02 - 10),
                date!(2023 - 02 - 10)
            )[0]
            .end,
            date!(2023 - 02 - 28)
        );
        assert!(periods(
            Schedule::Monthly,
            date!(2024 - 02 - 01),
            date!(2024 - 01 - 31)
        )
        .is_empty());
        assert!(periods(
            Schedule::Weekly,
            date!(2024 - 02 - 01),
            date!(2024 - 01 - 31)
        )
        .is_empty());
        assert_eq!(
            periods(
                Schedule::Monthly,
                date!(2023 - 01 - 01),
                date!(2023 - 12 - 31)
            )
            .len(),
            12
        );
    }

    #[test]
    fn due_days_and_timeliness() {
        let week = Period {
            start: date!(2023 - 05 - 29),
            end: date!(2023 - 06 - 04),
        };
        assert_eq!(due(week, 0), date!(2023 - 06 - 04));
        assert_eq!(due(week, 2), date!(2023 - 06 - 06));
        assert_eq!(
            due(
                Period {
                    start: Date::MAX,
                    end: Date::MAX
                },
                1
            ),
            Date::MAX
        );

        // (submitted, today, want) with grace 2: due 6 June.
        let cases = [
            (
                Some(date!(2023 - 06 - 06)),
                date!(2023 - 06 - 20),
                Timeliness::OnTime,
            ),
            (
                Some(date!(2023 - 06 - 02)),
                date!(2023 - 06 - 02),
                Timeliness::OnTime,
            ),
            (
                Some(date!(2023 - 06 - 07)),
                date!(2023 - 06 - 07),
                Timeliness::Late,
            ),
            (
                Some(date!(2023 - 07 - 01)),
                date!(2023 - 07 - 01),
                Timeliness::Late,
            ),
            (None, date!(2023 - 06 - 06), Timeliness::NotDueYet),
            (None, date!(2023 - 06 - 01), Timeliness::NotDueYet),
            (None, date!(2023 - 06 - 07), Timeliness::Missing),
        ];
        for (submitted, today, want) in cases {
            assert_eq!(
                timeliness(week, 2, submitted, today),
                want,
                "{submitted:?} {today}"
            );
        }
    }

    #[test]
    fn completeness_counts_what_is_due() {
        use Timeliness::*;
        // (statuses, [expected, on time, late, missing])
        let cases: [(&[Timeliness], [usize; 4]); 4] = [
            (&[OnTime, Late, Missing, NotDueYet, OnTime], [4, 2, 1, 1]),
            (&[], [0, 0, 0, 0]),
            (&[NotDueYet, NotDueYet], [0, 0, 0, 0]),
            (&[Missing, Missing, Late], [3, 0, 1, 2]),
        ];
        for (statuses, [expected, on_time, late, missing]) in cases {
            assert_eq!(
                completeness(statuses),
                Completeness {
                    expected,
                    on_time,
                    late,
                    missing
                },
                "{statuses:?}"
            );
        }
    }

    // ---- emulation ----

    #[test]
    fn scoring_rule() {
        use Timeliness::*;
        let cases: [(f64, &[Timeliness], f64); 8] = [
            (100.76, &[OnTime, OnTime, Late, Missing, NotDueYet], 125.76),
            (143.76, &[], 120.0), // capped
            (120.0, &[OnTime], 130.0),
            (12.7, &[OnTime; 4], 52.7),
            (0.0, &[Late, Late], 10.0),
            (-5.0, &[], 0.0),
            (f64::NAN, &[OnTime], 10.0),
            (50.0, &[Missing, NotDueYet], 50.0),
        ];
        for (percent, reports, want) in cases {
            let got = score(percent, reports);
            assert!(close(got, want), "{percent} {reports:?}: {got}");
        }
    }

    #[test]
    fn leaderboard_sorts_by_score_and_shares_ranks() {
        let scores = [
            ("a", 52.7),
            ("b", 125.76),
            ("c", f64::NAN),
            ("d", 52.7),
            ("e", 130.0),
            ("f", 10.0),
        ];
        let got: Vec<(&str, usize)> = leaderboard(&scores)
            .into_iter()
            .map(|s| (s.key, s.rank))
            .collect();
        assert_eq!(
            got,
            vec![("e", 1), ("b", 2), ("a", 3), ("d", 3), ("f", 5), ("c", 6)]
        );
        assert!(leaderboard::<&str>(&[]).is_empty());
    }
}
