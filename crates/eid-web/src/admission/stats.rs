//! What the gate admitted and turned away, per lane and minute (the last hour), and the last
//! requests turned away (lane, route template, reason, time — never a path or a person), for the
//! console's surge page. Bounded: 60 minutes and 50 refusals.

use std::collections::VecDeque;
use std::sync::Mutex;

use time::OffsetDateTime;

use super::{Lane, Reason, QUEUED};

const MINUTES: usize = 60;
const RECENT: usize = 50;

/// One minute's counts per queued lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    pub admitted: [u64; QUEUED],
    pub shed: [u64; QUEUED],
}

impl Minute {
    pub fn start(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.minute * 60).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A request turned away.
#[derive(Debug, Clone)]
pub struct TurnedAway {
    pub at: OffsetDateTime,
    pub lane: Lane,
    pub reason: Reason,
    /// The route template (`/me/register`), never the path.
    pub route: String,
}

#[derive(Default)]
struct Inner {
    minutes: VecDeque<Minute>,
    recent: VecDeque<TurnedAway>,
    totals: [[u64; 2]; QUEUED],
}

/// The counts of one server.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
    /// The time of the last count, for the minute of `admitted` (which takes no clock).
    clock_minute: std::sync::atomic::AtomicI64,
}

fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

impl Inner {
    fn minute(&mut self, m: i64) -> &mut Minute {
        if self.minutes.back().is_none_or(|b| b.minute < m) {
            if self.minutes.len() == MINUTES {
                self.minutes.pop_front();
            }
            self.minutes.push_back(Minute {
                minute: m,
                ..Minute::default()
            });
        }
        // A clock moved back: count in the newest minute.
        let last = self.minutes.len().saturating_sub(1);
        &mut self.minutes[last]
    }
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the minute that admissions count in (the middleware calls it with the request time).
    pub fn tick(&self, now: OffsetDateTime) {
        self.clock_minute
            .store(minute_of(now), std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts one admitted request of `lane`.
    pub fn admitted(&self, lane: Lane) {
        let Some(i) = lane.queue() else { return };
        let m = self.clock_minute.load(std::sync::atomic::Ordering::Relaxed);
        let mut inner = self.lock();
        inner.minute(m).admitted[i] += 1;
        inner.totals[i][0] += 1;
    }

    /// Counts one request of `lane` turned away, and keeps it in the recent list.
    pub fn shed(&self, lane: Lane, reason: Reason, route: &str, now: OffsetDateTime) {
        let Some(i) = lane.queue() else { return };
        let mut inner = self.lock();
        inner.minute(minute_of(now)).shed[i] += 1;
        inner.totals[i][1] += 1;
        if inner.recent.len() == RECENT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(TurnedAway {
            at: now,
            lane,
            reason,
            route: route.chars().take(100).collect(),
        });
    }

    /// The last `n` minutes with counts, newest first.
    pub fn minutes(&self, n: usize) -> Vec<Minute> {
        self.lock().minutes.iter().rev().take(n).cloned().collect()
    }

    /// The requests turned away lately, newest first.
    pub fn recent(&self) -> Vec<TurnedAway> {
        self.lock().recent.iter().rev().cloned().collect()
    }

    /// Admitted and turned away since the start, per queued lane.
    pub fn totals(&self) -> [[u64; 2]; QUEUED] {
        self.lock().totals
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_to_their_minute_and_lane_and_the_history_is_bounded() {
        let s = Stats::default();
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        s.tick(t0);
        s.admitted(Lane::Officer);
        s.admitted(Lane::Health);
        s.shed(Lane::Register, Reason::QueueFull, "/me/register", t0);
        let m = s.minutes(5);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].admitted, [1, 0, 0]);
        assert_eq!(m[0].shed, [0, 0, 1]);
        for k in 1..=100 {
            let t = t0 + time::Duration::minutes(k);
            s.tick(t);
            s.admitted(Lane::Citizen);
            s.shed(Lane::Citizen, Reason::TimedOut, "/me/signin", t);
        }
        assert_eq!(s.minutes(1000).len(), MINUTES);
        assert_eq!(s.recent().len(), RECENT);
        assert_eq!(s.recent()[0].at, t0 + time::Duration::minutes(100));
        assert_eq!(s.totals(), [[1, 0], [100, 100], [0, 1]]);
    }
}
