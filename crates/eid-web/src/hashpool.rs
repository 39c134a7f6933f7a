//! The threads that check secrets (Argon2), one per core, with a queue bounded in size and in
//! time.
//!
//! A passcode or password check costs tens of milliseconds of one core and a few MiB of memory.
//! Run on tokio's blocking pool, a surge of sign-ins starts as many checks at once as there are
//! requests admitted: they share the cores, so every one of them takes as long as all of them,
//! the async workers (which answer every other request) wait for a core behind them, and each
//! check holds its Argon2 buffer the whole time. Here at most one check per core runs; the others
//! wait in order, so a check takes its own time plus the queue ahead of it, and memory is bounded
//! by the number of threads.
//!
//! The queue is bounded twice: by length (a request that finds it full is refused at once), and
//! by time (a request whose expected wait — the checks ahead of it times the recent time of one
//! check, over the threads — is beyond [`MAX_WAIT`] is refused at once; one that still waited
//! longer is refused when its turn comes, without being checked). A refusal is the designed
//! overload answer: `503` with `Retry-After`, code `server.busy`, as admission control gives.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::error::AppError;

/// The longest a check may wait for a thread unless `[limits] hash_wait_ms` says otherwise.
/// In a release build a check takes 20–50 ms, so a second is 20–50 checks queued per thread:
/// a citizen's sign-in stays within its lane's goal (1.5 s at p99) instead of waiting behind a
/// queue it will not get through in time.
pub const MAX_WAIT: Duration = Duration::from_millis(1000);
/// Checks that may wait per thread.
const QUEUE_PER_THREAD: usize = 64;

type Job = Box<dyn FnOnce(Result<(), AppError>) + Send>;

struct Queued {
    job: Job,
    at: Instant,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    threads: usize,
    capacity: usize,
    max_wait: Duration,
    /// The recent time of one check, in microseconds (moving average).
    service_us: AtomicU64,
    /// Checks run since the pool started, and their time in all, in microseconds (`/metrics`).
    checks: AtomicU64,
    checks_us: AtomicU64,
}

struct Queue {
    jobs: VecDeque<Queued>,
    closed: bool,
}

/// The pool. Dropping the last handle lets its threads finish what is queued and end.
pub struct HashPool {
    shared: Arc<Shared>,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The designed refusal of an overloaded server.
pub fn busy(retry_after: Duration) -> AppError {
    let secs = retry_after.as_secs().max(1);
    AppError::Refused {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "server.busy",
        message: format!(
            "the server is answering as many requests as it can; try again in {secs} seconds"
        ),
        detail: Some(serde_json::json!({
            "retry_after_seconds": secs,
            "reason": "hashing",
        })),
    }
}

impl HashPool {
    /// One thread per core this process may run on, no check waiting longer than `max_wait`.
    pub fn for_cores(max_wait: Duration) -> HashPool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashPool::new(cores, cores * QUEUE_PER_THREAD, max_wait)
    }

    /// `threads` checking threads, at most `capacity` checks waiting, none longer than `max_wait`.
    pub fn new(threads: usize, capacity: usize, max_wait: Duration) -> HashPool {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            threads,
            capacity,
            max_wait,
            service_us: AtomicU64::new(0),
            checks: AtomicU64::new(0),
            checks_us: AtomicU64::new(0),
        });
        for i in 0..threads {
            let s = Arc::clone(&shared);
            // A thread that cannot be started leaves fewer threads; the others still serve.
            let _ = std::thread::Builder::new()
                .name(format!("eid-hash-{i}"))
                .spawn(move || work(&s));
        }
        HashPool { shared }
    }

    /// Runs `f` on a checking thread and returns its result, or the busy refusal.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |admitted| {
            let _ = tx.send(admitted.and_then(|()| f()));
        });
        self.submit(job)?;
        rx.await
            .map_err(|_| AppError::Internal("a hashing thread ended".into()))?
    }

    fn submit(&self, job: Job) -> Result<(), AppError> {
        let s = &self.shared;
        let mut q = lock(&s.queue);
        let ahead = q.jobs.len();
        if ahead >= s.capacity {
            return Err(busy(s.max_wait));
        }
        let expected = self.expected_wait(ahead);
        if expected > s.max_wait {
            return Err(busy(expected));
        }
        q.jobs.push_back(Queued {
            job,
            at: Instant::now(),
        });
        drop(q);
        s.ready.notify_one();
        Ok(())
    }

    /// The wait of a check with `ahead` checks queued before it, at the recent check time.
    fn expected_wait(&self, ahead: usize) -> Duration {
        let s = &self.shared;
        let one = s.service_us.load(Ordering::Relaxed);
        let rounds = u64::try_from(ahead / s.threads).unwrap_or(u64::MAX);
        Duration::from_micros(one.saturating_mul(rounds))
    }

    /// Checks waiting now.
    /// The checks run since the pool started and their time in all, in microseconds.
    pub fn served(&self) -> (u64, u64) {
        let s = &self.shared;
        (
            s.checks.load(Ordering::Relaxed),
            s.checks_us.load(Ordering::Relaxed),
        )
    }

    pub fn queued(&self) -> usize {
        lock(&self.shared.queue).jobs.len()
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(s: &Shared) {
    loop {
        let next = {
            let mut q = lock(&s.queue);
            loop {
                if let Some(j) = q.jobs.pop_front() {
                    break Some(j);
                }
                if q.closed {
                    break None;
                }
                q = s.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(Queued { job, at }) = next else {
            return;
        };
        if at.elapsed() > s.max_wait {
            job(Err(busy(s.max_wait)));
            continue;
        }
        let started = Instant::now();
        // A panicking check answers its request with an internal error (the sender is dropped)
        // and leaves the thread serving.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(()))));
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let old = s.service_us.load(Ordering::Relaxed);
        let avg = if old == 0 { took } else { (old * 7 + took) / 8 };
        s.service_us.store(avg, Ordering::Relaxed);
        s.checks_us.fetch_add(took, Ordering::Relaxed);
        s.checks.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn is_busy(e: &AppError) -> bool {
        matches!(e, AppError::Refused { status, code: "server.busy", .. }
            if *status == StatusCode::SERVICE_UNAVAILABLE)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_with_the_designed_503_and_the_queued_checks_still_run() {
        let pool = Arc::new(HashPool::new(1, 2, Duration::from_secs(3600)));
        // The one thread is held by a check that waits for the test's word.
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let p = Arc::clone(&pool);
        let first = tokio::spawn(async move {
            p.run(move || {
                let _ = started_tx.send(());
                hold_rx.recv().ok();
                Ok(1)
            })
            .await
        });
        started_rx.await.unwrap();
        // Two may wait.
        let mut waiting = Vec::new();
        for n in 2..4 {
            let p = Arc::clone(&pool);
            waiting.push(tokio::spawn(async move { p.run(move || Ok(n)).await }));
        }
        while pool.queued() < 2 {
            tokio::task::yield_now().await;
        }
        // The third is turned away at once, as admission control turns requests away.
        let refused = pool.run(|| Ok(9)).await.unwrap_err();
        assert!(is_busy(&refused), "{refused:?}");
        let mut response = refused.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers_mut().get("retry-after").is_some());
        // Released, the held check and the waiting ones are answered in order.
        hold_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        let mut got = Vec::new();
        for w in waiting {
            got.push(w.await.unwrap().unwrap());
        }
        assert_eq!(got, vec![2, 3]);
        // And the queue takes checks again.
        assert_eq!(pool.run(|| Ok(5)).await.unwrap(), 5);
        // Four checks ran (the refused one did not); the held one took at least its wait.
        let (checks, micros) = pool.served();
        assert_eq!(checks, 4);
        assert!(micros > 0, "{micros}");
    }

    #[tokio::test]
    async fn a_check_that_waited_past_the_bound_is_refused_without_running() {
        let pool = Arc::new(HashPool::new(1, 8, Duration::from_millis(20)));
        // The one thread is held by a check that waits for the test's word (tried again should
        // a loaded machine have kept even the idle thread from it past the bound).
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let hold_rx = Arc::new(Mutex::new(hold_rx));
        let first = loop {
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            let p = Arc::clone(&pool);
            let h = Arc::clone(&hold_rx);
            let first = tokio::spawn(async move {
                p.run(move || {
                    let _ = started_tx.send(());
                    h.lock().map(|r| r.recv().ok()).ok();
                    Ok(())
                })
                .await
            });
            if started_rx.await.is_ok() {
                break first;
            }
        };
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let p = Arc::clone(&pool);
        let late = tokio::spawn(async move {
            p.run(move || {
                r.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await
        });
        while pool.queued() < 1 {
            tokio::task::yield_now().await;
        }
        // Held past the bound.
        std::thread::sleep(Duration::from_millis(60));
        hold_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        let e = late.await.unwrap().unwrap_err();
        assert!(is_busy(&e), "{e:?}");
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_check_runs_and_its_error_comes_back() {
        let pool = HashPool::new(2, 4, MAX_WAIT);
        assert_eq!(pool.run(|| Ok("ok")).await.unwrap(), "ok");
        let e = pool
            .run(|| -> Result<(), AppError> { Err(AppError::BadCredentials) })
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::BadCredentials));
    }
}
