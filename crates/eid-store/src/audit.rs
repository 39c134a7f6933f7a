//! The audit trail's statements, written once for both engines through [`crate::sql`].
//!
//! Where the lines go differs, deliberately: PostgreSQL appends each line as it comes (the
//! [`Store`](crate::store::Store) trait's default `audit`); SQLite queues lines and a flusher
//! thread commits them in groups ([`GroupCommit`]) to a database file of its own (see
//! `sqlite.rs` and ARCHITECTURE.md). Either way the server answers a request only once its
//! lines are committed (`Store::audit_synced`). Both append with [`append`] and read with
//! [`query`], so the trail has the same shape, order and filters on both.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::sql::{SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, AuditEntry, StoreError};

/// One line on its way to the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: String,
}

impl Line {
    pub fn new(
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Line {
        Line {
            at: to_ms(now),
            actor: actor.to_db(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            request_id: request_id.to_owned(),
        }
    }
}

/// Which entries to read. Every filter given must match; entries come newest first (by
/// `seq`, the order they were appended in) unless `oldest_first`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<Actor>,
    /// The exact action (`auth.login`).
    pub action: Option<String>,
    /// The exact target.
    pub target: Option<String>,
    /// Only entries older than this `seq`: the next page after an entry.
    pub before_seq: Option<i64>,
    /// Only entries newer than this `seq` (a reader that follows the trail).
    pub after_seq: Option<i64>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Only entries at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Only entries before this instant.
    pub until: Option<OffsetDateTime>,
    pub limit: u32,
}

/// Appends one line.
pub fn append(tx: &mut dyn Tx, line: &Line) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO audit (at, actor, action, target, outcome, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Val::from(line.at),
            Val::from(&line.actor),
            Val::from(&line.action),
            Val::from(&line.target),
            Val::from(&line.outcome),
            Val::from(&line.request_id),
        ],
    )?;
    Ok(())
}

/// The entries matching `q`, newest first.
pub fn query(tx: &mut dyn Tx, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let mut sql =
        String::from("SELECT seq, at, actor, action, target, outcome, request_id FROM audit");
    let mut args: Vec<Val> = Vec::new();
    let mut filter = |clause: &str, v: Val| {
        args.push(v);
        let glue = if args.len() == 1 { " WHERE " } else { " AND " };
        sql.push_str(glue);
        sql.push_str(&clause.replace('#', &format!("${}", args.len())));
    };
    if let Some(a) = &q.actor {
        filter("actor = #", Val::from(a.to_db()));
    }
    if let Some(a) = &q.action {
        filter("action = #", Val::from(a));
    }
    if let Some(t) = &q.target {
        filter("target = #", Val::from(t));
    }
    if let Some(s) = q.before_seq {
        filter("seq < #", Val::from(s));
    }
    if let Some(s) = q.after_seq {
        filter("seq > #", Val::from(s));
    }
    if let Some(t) = q.since {
        filter("at >= #", Val::from(to_ms(t)));
    }
    if let Some(t) = q.until {
        filter("at < #", Val::from(to_ms(t)));
    }
    args.push(Val::from(q.limit));
    let order = if q.oldest_first { "ASC" } else { "DESC" };
    sql.push_str(&format!(" ORDER BY seq {order} LIMIT ${}", args.len()));
    tx.query(&sql, &args)?.into_iter().map(entry).collect()
}

fn entry(r: SqlRow) -> Result<AuditEntry, StoreError> {
    // The row's values are moved into the entry, in the query's column order.
    let mut values = r.into_iter();
    let mut next = || values.next().unwrap_or(Val::Null);
    Ok(AuditEntry {
        seq: next().int()?,
        at: from_ms(next().int()?),
        actor: Actor::from_db(&next().into_text()?),
        action: next().into_text()?,
        target: next().into_text()?,
        outcome: next().into_text()?,
        request_id: next().into_text()?,
    })
}

/// Called once the lines a request recorded are durable, or with the error that kept them from
/// being written.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// The most lines one batch commits.
const MAX_BATCH: usize = 4096;

/// Below this many queued lines the flusher waits [`GATHER`] before it commits.
const GATHER_BELOW: usize = 32;
/// How long the flusher lets a small group gather: far below a request's own time.
const GATHER: std::time::Duration = std::time::Duration::from_micros(200);

/// Group commit of audit lines, for an engine that writes them on a thread of its own
/// (SQLite): [`GroupCommit::push`] queues a line, [`GroupCommit::run`] on that thread commits
/// everything queued in one transaction as soon as it is free (while one batch commits, the
/// next one gathers; a group of fewer than [`GATHER_BELOW`] lines waits [`GATHER`] first, as a
/// commit costs far more than a line), and [`GroupCommit::when_durable`] tells a request when
/// the batch holding its lines has committed. The server answers only then, so an answered
/// request's line survives a crash of the process; a request waits about one commit, and a
/// burst shares it.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Lines not yet taken by the flusher, oldest first.
    lines: Vec<Line>,
    /// How many lines were ever pushed: the newest line's sequence number.
    pushed: u64,
    /// Lines up to this sequence number are committed.
    durable: u64,
    /// The sequence number of each request's newest line that is not yet known committed.
    marks: HashMap<String, u64>,
    /// Who waits for which sequence number to commit.
    waiters: Vec<(u64, Done)>,
    /// The flusher sleeps on `wake` (so a push must wake it).
    idle: bool,
    stop: bool,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GroupCommit {
    /// Queues one line.
    pub fn push(&self, line: Line) {
        let mut q = lock(&self.queue);
        q.pushed += 1;
        let seq = q.pushed;
        match q.marks.get_mut(&line.request_id) {
            Some(mark) => *mark = seq,
            None => {
                q.marks.insert(line.request_id.clone(), seq);
            }
        }
        q.lines.push(line);
        let idle = q.idle;
        drop(q);
        if idle {
            self.wake.notify_one();
        }
    }

    /// Calls `done` once every line pushed so far with `request_id` is committed: at once when
    /// none is waiting.
    pub fn when_durable(&self, request_id: &str, done: Done) {
        let mut q = lock(&self.queue);
        match q.marks.get(request_id).copied() {
            Some(seq) if seq > q.durable => q.waiters.push((seq, done)),
            _ => {
                drop(q);
                done(Ok(()));
            }
        }
    }

    /// Blocks until every line pushed so far is committed.
    pub fn sync(&self) -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let mut q = lock(&self.queue);
            if q.durable >= q.pushed {
                return Ok(());
            }
            let seq = q.pushed;
            q.waiters.push((
                seq,
                Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            ));
        }
        self.wake.notify_one();
        rx.recv()
            .map_err(|_| StoreError::Db("the audit flusher stopped".to_owned()))?
    }

    /// Asks [`GroupCommit::run`] to commit what is queued and return.
    pub fn stop(&self) {
        lock(&self.queue).stop = true;
        self.wake.notify_all();
    }

    /// The flusher: takes what is queued (up to [`MAX_BATCH`] lines), has `write` commit it in
    /// one transaction, tells the waiters, and goes again; sleeps only while nothing is queued.
    /// A failed write (disk full) puts the lines back, fails the requests waiting for them (so
    /// they answer with an error instead of hanging) and retries a second later.
    pub fn run(&self, mut write: impl FnMut(&[Line]) -> Result<(), StoreError>) {
        loop {
            let (batch, end) = {
                let mut q = lock(&self.queue);
                while q.lines.is_empty() && !q.stop {
                    q.idle = true;
                    q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                if q.lines.len() < GATHER_BELOW && !q.stop {
                    // A few lines only: let the requests in flight add theirs, so that one
                    // commit carries many (a commit costs far more than a line).
                    q.idle = false;
                    drop(q);
                    std::thread::sleep(GATHER);
                    q = lock(&self.queue);
                }
                q.idle = false;
                if q.lines.is_empty() {
                    return; // stopped, and everything is written
                }
                let take = q.lines.len().min(MAX_BATCH);
                let batch: Vec<Line> = q.lines.drain(..take).collect();
                let end = q.durable + take as u64;
                (batch, end)
            };
            let result = write(&batch);
            let mut q = lock(&self.queue);
            let failed = match &result {
                Ok(()) => {
                    q.durable = end;
                    let durable = q.durable;
                    q.marks.retain(|_, seq| *seq > durable);
                    None
                }
                Err(e) => {
                    let mut rest = batch;
                    rest.append(&mut q.lines);
                    q.lines = rest;
                    Some(e.to_string())
                }
            };
            let waiters = std::mem::take(&mut q.waiters);
            let (ready, waiting): (Vec<_>, Vec<_>) =
                waiters.into_iter().partition(|(seq, _)| *seq <= end);
            q.waiters = waiting;
            let stop = q.stop;
            drop(q);
            for (_, done) in ready {
                done(match &failed {
                    None => Ok(()),
                    Some(e) => Err(StoreError::Db(format!("writing the audit trail: {e}"))),
                });
            }
            if let Some(e) = failed {
                if stop {
                    // Shutting down on a refusing database: nothing more can be done; the
                    // lines were not acknowledged to anyone.
                    let mut q = lock(&self.queue);
                    let waiters = std::mem::take(&mut q.waiters);
                    drop(q);
                    for (_, done) in waiters {
                        done(Err(StoreError::Db(format!("writing the audit trail: {e}"))));
                    }
                    return;
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn line(request_id: &str) -> Line {
        Line {
            at: 0,
            actor: "cli:test".into(),
            action: "person.view".into(),
            target: "t".into(),
            outcome: "ok".into(),
            request_id: request_id.into(),
        }
    }

    fn notify() -> (Done, mpsc::Receiver<Result<(), StoreError>>) {
        let (tx, rx) = mpsc::channel();
        (
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
            rx,
        )
    }

    #[test]
    fn a_request_hears_of_its_lines_only_once_their_batch_is_written() {
        let group = Arc::new(GroupCommit::default());
        group.push(line("a"));
        group.push(line("b"));
        group.push(line("a"));
        let (done, heard) = notify();
        group.when_durable("a", done);
        // Nothing written yet: no answer.
        assert!(heard.recv_timeout(Duration::from_millis(50)).is_err());
        // A request with no line waiting hears at once.
        let (done, none) = notify();
        group.when_durable("c", done);
        assert!(none.try_recv().unwrap().is_ok());

        let (gate, open) = mpsc::channel::<()>();
        let written = Arc::new(Mutex::new(Vec::<String>::new()));
        let flusher = {
            let (group, written) = (Arc::clone(&group), Arc::clone(&written));
            std::thread::spawn(move || {
                group.run(|batch| {
                    open.recv().unwrap();
                    let mut w = written.lock().unwrap();
                    w.extend(batch.iter().map(|l| l.request_id.clone()));
                    Ok(())
                })
            })
        };
        assert!(heard.recv_timeout(Duration::from_millis(50)).is_err());
        gate.send(()).unwrap();
        assert!(heard.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
        assert_eq!(*written.lock().unwrap(), ["a", "b", "a"]);

        group.push(line("d"));
        gate.send(()).unwrap();
        group.sync().unwrap();
        assert_eq!(written.lock().unwrap().len(), 4);
        group.stop();
        flusher.join().unwrap();
    }

    #[test]
    fn a_failed_batch_fails_its_requests_and_is_written_again() {
        let group = Arc::new(GroupCommit::default());
        group.push(line("a"));
        let (done, heard) = notify();
        group.when_durable("a", done);
        let written = Arc::new(Mutex::new(Vec::<String>::new()));
        let flusher = {
            let (group, written) = (Arc::clone(&group), Arc::clone(&written));
            let mut tries = 0;
            std::thread::spawn(move || {
                group.run(|batch| {
                    tries += 1;
                    if tries == 1 {
                        return Err(StoreError::Db("disk full".into()));
                    }
                    let mut w = written.lock().unwrap();
                    w.extend(batch.iter().map(|l| l.request_id.clone()));
                    Ok(())
                })
            })
        };
        let refused = heard.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(refused.unwrap_err().to_string().contains("disk full"));
        // Kept, and written on the retry.
        group.sync().unwrap();
        assert_eq!(*written.lock().unwrap(), ["a"]);
        group.stop();
        flusher.join().unwrap();
    }
}
