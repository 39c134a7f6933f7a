//! The working-day calendar the legal processing times are counted on: Monday to Friday, less
//! the public holidays and the weekdays given off in lieu, plus the weekend days worked in
//! exchange — all kept as data (`holidays.tsv`, its sources named at its top), not code.

use std::collections::HashMap;
use std::sync::OnceLock;

use time::{Date, Duration, Weekday};

/// What the data says about a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A public holiday.
    Holiday,
    /// A weekday given off in lieu of a holiday on a weekend, or swapped for a weekend day.
    Compensatory,
    /// A weekend day worked in exchange for a weekday off.
    Workday,
}

/// One line of the holiday data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Special {
    pub date: Date,
    pub kind: DayKind,
    pub name: String,
    /// Where the day comes from: the article of the Labour Code, the lunar date, the notice.
    pub source: String,
}

const DATA: &str = include_str!("holidays.tsv");

/// The years the data covers: counting past them is refused rather than guessed.
pub const FIRST_YEAR: i32 = 2025;
pub const LAST_YEAR: i32 = 2027;

/// Parses the holiday data (a bad line is an error naming it).
pub fn parse(text: &str) -> Result<Vec<Special>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(d), Some(k), Some(name), Some(source)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(format!("line {}: four columns expected", n + 1));
        };
        if source.trim().is_empty() {
            return Err(format!("line {}: the source is missing", n + 1));
        }
        let date = parse_date(d).ok_or_else(|| format!("line {}: bad date", n + 1))?;
        let kind = match k {
            "holiday" => DayKind::Holiday,
            "compensatory" => DayKind::Compensatory,
            "workday" => DayKind::Workday,
            _ => return Err(format!("line {}: unknown kind", n + 1)),
        };
        out.push(Special {
            date,
            kind,
            name: name.to_owned(),
            source: source.trim().to_owned(),
        });
    }
    Ok(out)
}

/// `yyyy-mm-dd`.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.trim().split('-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// `yyyy-mm-dd`.
pub fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn table() -> &'static HashMap<Date, DayKind> {
    static T: OnceLock<HashMap<Date, DayKind>> = OnceLock::new();
    T.get_or_init(|| {
        parse(DATA)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.date, s.kind))
            .collect()
    })
}

/// Every line of the shipped data.
pub fn specials() -> Vec<Special> {
    parse(DATA).unwrap_or_default()
}

/// Whether the police work on `d`.
pub fn is_working_day(d: Date) -> bool {
    match table().get(&d) {
        Some(DayKind::Holiday | DayKind::Compensatory) => false,
        Some(DayKind::Workday) => true,
        None => !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
    }
}

/// Whether the calendar covers `d`.
pub fn covered(d: Date) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&d.year())
}

/// The day a request filed on `filed` is due when the police have `days` working days: the
/// count starts on the next working day (the day of filing is not counted), so 3 working days
/// from a Friday end on the Wednesday after. `None` past the calendar's years.
pub fn due_date(filed: Date, days: u32) -> Option<Date> {
    let mut d = filed;
    let mut left = days;
    while left > 0 {
        d = d.checked_add(Duration::days(1))?;
        if !covered(d) {
            return None;
        }
        if is_working_day(d) {
            left -= 1;
        }
    }
    Some(d)
}

/// Working days from `from` (exclusive) to `to` (inclusive); negative when `to` is before
/// `from`. What the clock shows: days used, and days left (`to` = the due date).
pub fn working_days_between(from: Date, to: Date) -> i64 {
    let (a, b, sign) = if to >= from {
        (from, to, 1)
    } else {
        (to, from, -1)
    };
    let mut n = 0i64;
    let mut d = a;
    while d < b {
        let Some(next) = d.checked_add(Duration::days(1)) else {
            break;
        };
        d = next;
        if is_working_day(d) {
            n += 1;
        }
    }
    sign * n
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_data_parses_and_covers_each_year() {
        let all = parse(DATA).unwrap();
        for y in FIRST_YEAR..=LAST_YEAR {
            assert!(
                all.iter().filter(|s| s.date.year() == y).count() >= 7,
                "{y}"
            );
        }
        assert!(all.iter().all(|s| !s.source.is_empty()));
        assert!(parse("2026-01-01\tholiday\tTết Dương lịch\n").is_err());
    }

    fn kind_on(d: Date) -> Option<DayKind> {
        parse(DATA)
            .unwrap()
            .into_iter()
            .find(|s| s.date == d)
            .map(|s| s.kind)
    }

    #[test]
    fn lunar_holidays_fall_on_their_computed_days() {
        use time::macros::date;
        // Tết (lunar 1/1) and the Hùng Kings (lunar 10/3), Vietnam time.
        for d in [
            date!(2025 - 01 - 29),
            date!(2026 - 02 - 17),
            date!(2027 - 02 - 06),
            date!(2025 - 04 - 07),
            date!(2026 - 04 - 26),
            date!(2027 - 04 - 16),
        ] {
            assert_eq!(kind_on(d), Some(DayKind::Holiday), "{d}");
        }
        // Five days of Tết in each year.
        for y in FIRST_YEAR..=LAST_YEAR {
            let n = parse(DATA)
                .unwrap()
                .iter()
                .filter(|s| s.date.year() == y && s.kind == DayKind::Holiday)
                .filter(|s| s.name.starts_with("Tết Nguyên đán"))
                .count();
            assert_eq!(n, 5, "{y}");
        }
    }

    #[test]
    fn a_holiday_on_a_weekend_is_made_up_on_a_following_weekday_in_2026_and_2027() {
        let all = parse(DATA).unwrap();
        let weekend = |d: Date| matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        for y in [2026, 2027] {
            let on_weekend = all
                .iter()
                .filter(|s| s.date.year() == y && s.kind == DayKind::Holiday && weekend(s.date))
                .count();
            let made_up = all
                .iter()
                .filter(|s| s.date.year() == y && s.kind == DayKind::Compensatory)
                .filter(|s| s.source.contains("111(3)"))
                .count();
            assert_eq!(on_weekend, made_up, "{y}");
        }
        assert!(!is_working_day(time::macros::date!(2027 - 02 - 11)));
        assert!(is_working_day(time::macros::date!(2027 - 02 - 12)));
    }
}
