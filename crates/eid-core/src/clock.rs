//! The one clock. Everything that needs "now" is handed a [`Clock`] (the server keeps one in its
//! state, the CLI and the demo make their own) instead of reading the system time, so the tests
//! can run the whole server at a fixed date and move time forward at will.
//!
//! `clippy.toml` bans `OffsetDateTime::now_utc`, `now_local` and `SystemTime::now` everywhere;
//! [`SystemClock`] is the single place allowed to read them.

use std::sync::Mutex;

use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// Where the current time comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// Today's date in Vietnam (UTC+7): card validity, ages, campaign days.
    fn today(&self) -> Date {
        self.now().to_offset(vietnam()).date()
    }
}

/// Vietnam's time zone (UTC+7).
pub fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// The operating system's clock: what production runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place the system time is read
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system's clock moved to start at a chosen instant: time runs as usual from there. A
/// development server started "on 15 March 2025" keeps sessions and codes working while every
/// date it shows and stamps is that day's.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: Duration,
}

impl ShiftedClock {
    /// A clock that reads `at` now and runs on from there.
    pub fn starting_at(at: OffsetDateTime) -> ShiftedClock {
        ShiftedClock {
            offset: at - SystemClock.now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        SystemClock.now() + self.offset
    }
}

/// A clock that stands still until told to move: for tests (a server at a fixed date) and for
/// the demo's simulated history.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(at),
        }
    }

    /// A manual clock at `date`, 09:00 in Vietnam.
    pub fn at_date(date: Date) -> ManualClock {
        let at = date
            .with_hms(9, 0, 0)
            .map(|t| t.assume_offset(vietnam()))
            .unwrap_or_else(|_| date.midnight().assume_utc());
        ManualClock::new(at)
    }

    /// Sets the time.
    pub fn set(&self, at: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(datetime!(2024-06-30 16:59:59 UTC));
        assert_eq!(c.now(), datetime!(2024-06-30 16:59:59 UTC));
        // 16:59:59 UTC is 23:59:59 in Vietnam: still the 30th there.
        assert_eq!(c.today(), date!(2024 - 06 - 30));
        c.advance(Duration::seconds(1));
        assert_eq!(c.today(), date!(2024 - 07 - 01));
        c.set(datetime!(2025-01-01 00:00 UTC));
        assert_eq!(c.now(), datetime!(2025-01-01 00:00 UTC));
    }

    #[test]
    fn at_date_is_morning_in_vietnam() {
        let c = ManualClock::at_date(date!(2023 - 03 - 15));
        assert_eq!(c.now(), datetime!(2023-03-15 02:00 UTC));
        assert_eq!(c.today(), date!(2023 - 03 - 15));
    }

    #[test]
    fn a_shifted_clock_starts_where_asked_and_runs_on() {
        let c = ShiftedClock::starting_at(datetime!(2025-03-15 02:00 UTC));
        let first = c.now();
        assert!((first - datetime!(2025-03-15 02:00 UTC)).abs() < Duration::seconds(5));
        assert_eq!(c.today(), date!(2025 - 03 - 15));
        assert!(c.now() >= first);
    }

    #[test]
    fn system_clock_is_after_the_project_began() {
        assert!(SystemClock.now() > datetime!(2024-01-01 00:00 UTC));
    }
}
