//! The gate: an adaptive in-flight limit shared by three priority lanes, each with a bounded
//! wait queue measured in time. See the module above for the design and its reasons.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{AdmissionConfig, Lane, QUEUED};

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The lane's queue already holds its most.
    QueueFull,
    /// The expected wait would pass the lane's goal.
    WaitTooLong,
    /// It waited its whole allowance without a place freeing.
    TimedOut,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::QueueFull => "queue_full",
            Reason::WaitTooLong => "wait_too_long",
            Reason::TimedOut => "timed_out",
        }
    }
}

/// A refusal: why, and how long the client should wait before trying again.
#[derive(Debug, Clone, Copy)]
pub struct Shed {
    pub reason: Reason,
    pub retry_after: Duration,
}

/// The lanes' state as the console shows it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The adaptive in-flight limit now.
    pub limit: u32,
    /// Per queued lane (officer, citizen, register): in flight, waiting, the lane's cap.
    pub in_flight: [u32; QUEUED],
    pub waiting: [u32; QUEUED],
    pub cap: [u32; QUEUED],
    /// The smoothed service time of admitted requests, in milliseconds.
    pub service_ms: f64,
    /// The expected wait of a request arriving now in each lane, in milliseconds.
    pub expected_wait_ms: [u64; QUEUED],
    /// The load announced by a peak now, in thousandths (1000 outside a peak).
    pub load_permille: u32,
}

struct Waiter {
    id: u64,
    tx: oneshot::Sender<Permit>,
}

struct Inner {
    limit: f64,
    in_flight: [u32; QUEUED],
    queues: [VecDeque<Waiter>; QUEUED],
    next_id: u64,
    /// Exponentially smoothed service time (admission to answer), in milliseconds: of all
    /// requests, and of each lane's.
    service_ms: f64,
    lane_service_ms: [f64; QUEUED],
    /// Service times of the current adaptation window, in milliseconds (at most `WINDOW`).
    window: Vec<f64>,
    window_started: Instant,
    /// The most requests in flight at once during the window.
    window_busiest: u32,
    load_permille: u32,
}

/// Completions per adaptation step (or one second, whichever comes first).
const WINDOW: usize = 32;
const STEP: Duration = Duration::from_secs(1);

/// The gate of one server.
pub struct Gate {
    config: AdmissionConfig,
    inner: Mutex<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A place in flight; dropping it frees the place, records the service time, and hands the
/// place to the first waiter of the highest lane that may take it.
pub struct Permit {
    gate: Arc<Gate>,
    lane: usize,
    started: Instant,
    /// False once the place was given back by hand (a hand-off that found no receiver).
    armed: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.armed {
            self.gate.release(self.lane, self.started.elapsed());
        }
    }
}

impl Gate {
    pub fn new(config: AdmissionConfig) -> Gate {
        let limit = f64::from(
            config
                .initial_limit
                .clamp(config.min_limit, config.max_limit),
        );
        let service_ms = config.initial_service_ms as f64;
        Gate {
            config,
            inner: Mutex::new(Inner {
                limit,
                in_flight: [0; QUEUED],
                queues: Default::default(),
                next_id: 0,
                service_ms,
                lane_service_ms: [service_ms; QUEUED],
                window: Vec::with_capacity(WINDOW),
                window_started: Instant::now(),
                window_busiest: 0,
                load_permille: 1000,
            }),
        }
    }

    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    /// Sets the load announced by the peak holding now (1000 outside a peak).
    pub fn set_load(&self, permille: u32) {
        lock(&self.inner).load_permille = permille.max(1000);
    }

    /// The share of the limit lane `i` may hold at once, as a count of places (at least 1).
    fn cap(&self, inner: &Inner, i: usize) -> u32 {
        let share = match i {
            0 => 1.0,
            1 => f64::from(self.config.citizen_share_permille) / 1000.0,
            _ => {
                // New registrations give way in an announced peak: their share shrinks with
                // the expected load, down to the floor.
                let load = f64::from(inner.load_permille) / 1000.0;
                let share = f64::from(self.config.register_share_permille) / 1000.0;
                let floor = f64::from(self.config.register_share_floor_permille) / 1000.0;
                (share / load).max(floor)
            }
        };
        ((inner.limit * share).floor() as u32).max(1)
    }

    fn total(inner: &Inner) -> u32 {
        inner.in_flight.iter().sum()
    }

    /// The expected wait of a request joining lane `i` now: everyone waiting in this lane and
    /// the lanes above it goes first, and places free at `limit / service time`.
    fn expected_wait(&self, inner: &Inner, i: usize) -> Duration {
        let ahead: usize = inner.queues.iter().take(i + 1).map(VecDeque::len).sum();
        let total = Self::total(inner);
        let limit = inner.limit.max(1.0);
        if ahead == 0 && f64::from(total) < limit && inner.in_flight[i] < self.cap(inner, i) {
            return Duration::ZERO;
        }
        let ms = (ahead as f64 + 1.0) * inner.service_ms / limit;
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }

    fn goal(&self, i: usize) -> Duration {
        Duration::from_millis(self.config.goal_ms[i])
    }

    /// How long a client turned away from lane `i` should wait: the time for the queues to
    /// drain, at least one second and at most the configured ceiling, spread by `salt` so that
    /// the clients turned away together do not all come back together.
    fn retry_after(&self, inner: &Inner, i: usize, salt: u64) -> Duration {
        let waiting: usize = inner.queues.iter().map(VecDeque::len).sum();
        let drain_ms = (waiting as f64 + 1.0) * inner.service_ms / inner.limit.max(1.0);
        let base = (drain_ms / 1000.0).ceil().max(1.0) + (i as f64);
        let spread = (salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62) as f64; // 0..=3
        let secs = (base + spread).min(self.config.max_retry_after_seconds as f64);
        Duration::from_secs(secs.max(1.0) as u64)
    }

    /// Admits a request of lane `i` now, queues it, or turns it away; waits in the queue at most
    /// the lane's goal less twice the lane's service time.
    pub async fn acquire(self: &Arc<Self>, lane: Lane) -> Result<Permit, Shed> {
        let Some(i) = lane.queue() else {
            return Ok(Permit {
                gate: Arc::clone(self),
                lane: usize::MAX,
                started: Instant::now(),
                armed: false,
            });
        };
        let (rx, id, allowance) = {
            let mut inner = lock(&self.inner);
            inner.next_id = inner.next_id.wrapping_add(1);
            let id = inner.next_id;
            let wait = self.expected_wait(&inner, i);
            if wait.is_zero() {
                inner.in_flight[i] += 1;
                let total = Self::total(&inner);
                inner.window_busiest = inner.window_busiest.max(total);
                return Ok(Permit {
                    gate: Arc::clone(self),
                    lane: i,
                    started: Instant::now(),
                    armed: true,
                });
            }
            // The lane's own service time, twice over for its spread: a request admitted at
            // the end of its wait must still be answered within the goal.
            let service = Duration::from_secs_f64(2.0 * inner.lane_service_ms[i] / 1000.0);
            let allowance = self.goal(i).saturating_sub(service);
            let shed = |reason| Shed {
                reason,
                retry_after: self.retry_after(&inner, i, id),
            };
            if inner.queues[i].len() >= self.config.max_queue as usize {
                return Err(shed(Reason::QueueFull));
            }
            if wait > allowance {
                return Err(shed(Reason::WaitTooLong));
            }
            let (tx, rx) = oneshot::channel();
            inner.queues[i].push_back(Waiter { id, tx });
            (rx, id, allowance)
        };
        let mut rx = rx;
        match tokio::time::timeout(allowance, &mut rx).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                let mut inner = lock(&self.inner);
                let before = inner.queues[i].len();
                inner.queues[i].retain(|w| w.id != id);
                if inner.queues[i].len() == before {
                    // Handed a place just as the wait ran out: take it.
                    drop(inner);
                    if let Ok(permit) = rx.try_recv() {
                        return Ok(permit);
                    }
                    let inner = lock(&self.inner);
                    return Err(Shed {
                        reason: Reason::TimedOut,
                        retry_after: self.retry_after(&inner, i, id),
                    });
                }
                Err(Shed {
                    reason: Reason::TimedOut,
                    retry_after: self.retry_after(&inner, i, id),
                })
            }
        }
    }

    fn release(self: &Arc<Self>, i: usize, took: Duration) {
        let mut inner = lock(&self.inner);
        if let Some(n) = inner.in_flight.get_mut(i) {
            *n = n.saturating_sub(1);
        }
        if let Some(s) = inner.lane_service_ms.get_mut(i) {
            *s = 0.8 * *s + 0.2 * took.as_secs_f64() * 1000.0;
        }
        self.observe(&mut inner, took);
        self.dispatch(&mut inner);
    }

    /// Records one service time; every [`WINDOW`] completions (or [`STEP`]) moves the limit:
    /// up by one when the window's 90th percentile met the target while the places were
    /// mostly used, down by target/p90 (between a tenth and a half) when it missed the target
    /// under load.
    fn observe(&self, inner: &mut Inner, took: Duration) {
        let ms = took.as_secs_f64() * 1000.0;
        inner.service_ms = 0.9 * inner.service_ms + 0.1 * ms;
        inner.window.push(ms);
        if inner.window.len() < WINDOW && inner.window_started.elapsed() < STEP {
            return;
        }
        let mut w = std::mem::take(&mut inner.window);
        w.sort_by(f64::total_cmp);
        let p90 = w
            .get((w.len() * 9 / 10).min(w.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        let busy = f64::from(inner.window_busiest) >= inner.limit * 0.5;
        let target = self.config.target_ms as f64;
        let (min, max) = (
            f64::from(self.config.min_limit),
            f64::from(self.config.max_limit),
        );
        if p90 > target && busy {
            // The further past the target, the deeper the cut (at most by half), so a surge
            // that arrives at once is brought under the goals within a few windows.
            let factor = (target / p90).clamp(0.5, 0.9);
            inner.limit = (inner.limit * factor).max(min);
        } else if p90 <= target && f64::from(inner.window_busiest) >= inner.limit * 0.8 {
            inner.limit = (inner.limit + 1.0).min(max);
        }
        w.clear();
        inner.window = w;
        inner.window_started = Instant::now();
        inner.window_busiest = Self::total(inner);
    }

    /// Hands free places to waiters, highest lane first, within each lane's cap.
    fn dispatch(self: &Arc<Self>, inner: &mut Inner) {
        loop {
            if f64::from(Self::total(inner)) >= inner.limit.max(1.0) {
                return;
            }
            let Some(i) = (0..QUEUED)
                .find(|&i| !inner.queues[i].is_empty() && inner.in_flight[i] < self.cap(inner, i))
            else {
                return;
            };
            let Some(w) = inner.queues[i].pop_front() else {
                return;
            };
            inner.in_flight[i] += 1;
            let permit = Permit {
                gate: Arc::clone(self),
                lane: i,
                started: Instant::now(),
                armed: true,
            };
            if let Err(mut back) = w.tx.send(permit) {
                // The waiter is gone (its client hung up): the place is free again.
                back.armed = false;
                inner.in_flight[i] = inner.in_flight[i].saturating_sub(1);
            } else {
                let total = Self::total(inner);
                inner.window_busiest = inner.window_busiest.max(total);
            }
        }
    }

    /// The lanes now.
    pub fn snapshot(&self) -> Snapshot {
        let inner = lock(&self.inner);
        let mut s = Snapshot {
            limit: inner.limit as u32,
            service_ms: inner.service_ms,
            load_permille: inner.load_permille,
            ..Snapshot::default()
        };
        for i in 0..QUEUED {
            s.in_flight[i] = inner.in_flight[i];
            s.waiting[i] = u32::try_from(inner.queues[i].len()).unwrap_or(u32::MAX);
            s.cap[i] = self.cap(&inner, i);
            s.expected_wait_ms[i] =
                u64::try_from(self.expected_wait(&inner, i).as_millis()).unwrap_or(u64::MAX);
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn tiny() -> AdmissionConfig {
        AdmissionConfig {
            initial_limit: 1,
            min_limit: 1,
            max_limit: 1,
            max_queue: 2,
            goal_ms: [5_000, 5_000, 5_000],
            ..AdmissionConfig::default()
        }
    }

    #[tokio::test]
    async fn a_freed_place_goes_to_the_highest_lane_waiting_and_a_full_queue_turns_away() {
        let gate = Arc::new(Gate::new(tiny()));
        let held = gate.acquire(Lane::Citizen).await.unwrap();
        let g = Arc::clone(&gate);
        let register =
            tokio::spawn(async move { g.acquire(Lane::Register).await.map(|_| Instant::now()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let g = Arc::clone(&gate);
        let officer = tokio::spawn(async move {
            let p = g.acquire(Lane::Officer).await;
            let at = Instant::now();
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(p);
            at
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let s = gate.snapshot();
        assert_eq!(s.waiting, [1, 0, 1]);
        // A second and third registration: one more fits the queue of two, the next is refused.
        let g = Arc::clone(&gate);
        let _third = tokio::spawn(async move { g.acquire(Lane::Register).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = gate.acquire(Lane::Register).await.err().unwrap();
        assert_eq!(refused.reason, Reason::QueueFull);
        assert!(refused.retry_after >= Duration::from_secs(1));
        // Health is never queued.
        assert!(gate.acquire(Lane::Health).await.is_ok());
        drop(held);
        let officer_at = officer.await.unwrap();
        let register_at = register.await.unwrap().unwrap();
        assert!(officer_at < register_at, "the officer goes first");
    }

    #[tokio::test]
    async fn a_wait_beyond_the_goal_is_refused_at_once() {
        let gate = Arc::new(Gate::new(AdmissionConfig {
            goal_ms: [5_000, 5_000, 50],
            initial_service_ms: 100,
            ..tiny()
        }));
        let _held = gate.acquire(Lane::Officer).await.unwrap();
        let started = Instant::now();
        let refused = gate.acquire(Lane::Register).await.err().unwrap();
        assert_eq!(refused.reason, Reason::WaitTooLong);
        assert!(started.elapsed() < Duration::from_millis(20));
    }

    #[test]
    fn an_announced_peak_shrinks_the_share_of_new_registrations_down_to_the_floor() {
        let gate = Gate::new(AdmissionConfig {
            initial_limit: 100,
            ..AdmissionConfig::default()
        });
        let normal = gate.snapshot().cap;
        gate.set_load(4000);
        let peak = gate.snapshot().cap;
        assert_eq!(normal[0], peak[0]);
        assert_eq!(normal[1], peak[1]);
        assert_eq!(normal[2], 50);
        assert_eq!(peak[2], 12);
        gate.set_load(100_000);
        assert_eq!(gate.snapshot().cap[2], 5);
        gate.set_load(1000);
        assert_eq!(gate.snapshot().cap[2], 50);
    }

    #[test]
    fn the_limit_falls_when_service_times_miss_the_target_under_load_and_climbs_back() {
        let gate = Arc::new(Gate::new(AdmissionConfig {
            initial_limit: 20,
            min_limit: 4,
            max_limit: 40,
            target_ms: 100,
            ..AdmissionConfig::default()
        }));
        {
            let mut inner = lock(&gate.inner);
            inner.window_busiest = 20;
            for _ in 0..WINDOW {
                gate.observe(&mut inner, Duration::from_millis(400));
            }
        }
        // Four times the target: cut by half.
        assert_eq!(gate.snapshot().limit, 10);
        {
            let mut inner = lock(&gate.inner);
            inner.window_busiest = 10;
            for _ in 0..WINDOW {
                gate.observe(&mut inner, Duration::from_millis(110));
            }
        }
        // Just past the target: cut by a tenth.
        assert_eq!(gate.snapshot().limit, 9);
        {
            let mut inner = lock(&gate.inner);
            inner.window_busiest = 9;
            for _ in 0..WINDOW {
                gate.observe(&mut inner, Duration::from_millis(10));
            }
        }
        assert_eq!(gate.snapshot().limit, 10);
    }
}
