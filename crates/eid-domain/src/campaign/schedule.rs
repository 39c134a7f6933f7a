//! Periodic reports: weekly and monthly periods, due days, timeliness and completeness.

use super::*;

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
