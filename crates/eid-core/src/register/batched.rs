//! Imports on an engine where a write transaction holds the whole database (SQLite; see
//! [`Store::one_writer`]), so that a server running on the same database keeps writing.
//!
//! One transaction for a whole file would hold SQLite's write lock for as long as the import
//! runs, and every write of the server would wait for it (and fail with "database is locked"
//! once the store's ten-second wait for the lock ran out). Here no write transaction of an import
//! holds the lock longer than [`HOLD`], and each is followed by a [`PAUSE`] in which the
//! server's waiting writers take their turn.
//!
//! - `--on-error skip` writes the good rows straight into the register, batch by batch.
//! - `--on-error abort` keeps its all-or-nothing meaning through a staging table: the checked
//!   rows go to `import_stage` first (batch by batch; the register is untouched), and only
//!   when the whole file has been read without a bad row is the run marked `merging` and
//!   merged into the register, batch by batch. A bad row, an error or a crash before that mark
//!   leaves the register as it was (the staged rows are thrown away); after it, the import has
//!   been decided and is finished — by this process, or if it died, by the next `eid import` or
//!   `eid migrate` ([`resume_imports`]), the way a journal is replayed. The person events and
//!   the register stay append-only and consistent at every commit: no row is ever deleted from
//!   the register or its history to undo an import.
//!
//! PostgreSQL keeps importing in one transaction: it locks only the rows it writes.

use std::time::{Duration, Instant};

use eid_domain::Person;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::csvfmt;
use crate::sql::{self, Val};
use crate::store::{
    from_ms, person_from_fields, to_ms, Actor, BatchCounts, PersonWriter, Store, StoreError,
};

/// The longest one write transaction of an import holds the lock.
pub const HOLD: Duration = Duration::from_millis(100);
/// The pause after each of an import's write transactions, in which other writers go.
pub const PAUSE: Duration = Duration::from_millis(10);
/// Rows read from the stage at a time.
const CHUNK: usize = 500;
/// Rows staged per transaction (a plain insert each: well under [`HOLD`]).
const STAGE_ROWS: usize = 2_000;
/// Staged rows deleted per transaction when a run is cleaned up.
const DELETE_CHUNK: i64 = 5_000;
/// A run whose importer has not shown it is alive for this long is resumed or thrown away.
const STALE_AFTER: Duration = Duration::from_secs(60);

fn add(total: &mut BatchCounts, c: BatchCounts) {
    total.imported += c.imported;
    total.updated += c.updated;
    total.unchanged += c.unchanged;
}

fn beat() -> i64 {
    to_ms(SystemClock.now())
}

/// Where an import's checked persons go.
pub(super) enum Sink<'s> {
    /// One transaction for the whole file (an engine that locks rows, not the database).
    Whole(Box<dyn PersonWriter + 's>),
    /// Short transactions straight into the register (`skip`).
    Batched(Batched<'s>),
    /// Staged, then merged (`abort`).
    Staged(Staged<'s>),
}

impl<'s> Sink<'s> {
    pub(super) fn open(
        store: &'s dyn Store,
        all_or_nothing: bool,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Sink<'s>, StoreError> {
        Ok(if !store.one_writer() {
            Sink::Whole(store.writer(actor, reason, now)?)
        } else if all_or_nothing {
            Sink::Staged(Staged::begin(store, actor, reason, now)?)
        } else {
            Sink::Batched(Batched {
                store,
                actor: actor.clone(),
                reason: reason.to_owned(),
                now,
                open: None,
                counts: BatchCounts::default(),
            })
        })
    }

    pub(super) fn put(&mut self, p: &Person) -> Result<(), StoreError> {
        match self {
            Sink::Whole(w) => w.put(p),
            Sink::Batched(b) => b.put(p),
            Sink::Staged(s) => s.put(p),
        }
    }

    /// Writes what is left and returns the counts of the whole import.
    pub(super) fn finish(self) -> Result<BatchCounts, StoreError> {
        match self {
            Sink::Whole(w) => w.commit(),
            Sink::Batched(mut b) => {
                b.commit()?;
                Ok(b.counts)
            }
            Sink::Staged(s) => s.finish(),
        }
    }

    /// Writes nothing more; what is uncommitted or only staged is thrown away. (Rows a
    /// `Batched` sink committed stay: `skip` keeps the good rows.)
    pub(super) fn abandon(self) -> Result<(), StoreError> {
        match self {
            Sink::Whole(_) | Sink::Batched(_) => Ok(()),
            Sink::Staged(s) => discard(s.store, s.run),
        }
    }
}

/// Short transactions straight into the register.
pub(super) struct Batched<'s> {
    store: &'s dyn Store,
    actor: Actor,
    reason: String,
    now: OffsetDateTime,
    open: Option<(Box<dyn PersonWriter + 's>, Instant)>,
    counts: BatchCounts,
}

impl Batched<'_> {
    fn put(&mut self, p: &Person) -> Result<(), StoreError> {
        let (w, since) = match &mut self.open {
            Some(o) => o,
            None => self.open.insert((
                self.store.writer(&self.actor, &self.reason, self.now)?,
                Instant::now(),
            )),
        };
        w.put(p)?;
        if since.elapsed() >= HOLD {
            self.commit()?;
            std::thread::sleep(PAUSE);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if let Some((w, _)) = self.open.take() {
            add(&mut self.counts, w.commit()?);
        }
        Ok(())
    }
}

/// Checked rows on their way to the stage.
pub(super) struct Staged<'s> {
    store: &'s dyn Store,
    run: i64,
    buf: Vec<String>,
    staged: i64,
}

impl<'s> Staged<'s> {
    fn begin(
        store: &'s dyn Store,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Staged<'s>, StoreError> {
        let run = sql::transact(store.db(), |tx| {
            tx.int(
                "INSERT INTO import_run (state, actor, reason, at, staged, merged, beat) \
                 VALUES ('staging', $1, $2, $3, 0, 0, $4) RETURNING id",
                &[
                    actor.to_db().into(),
                    reason.into(),
                    to_ms(now).into(),
                    beat().into(),
                ],
            )
        })?;
        Ok(Staged {
            store,
            run,
            buf: Vec::with_capacity(STAGE_ROWS),
            staged: 0,
        })
    }

    fn put(&mut self, p: &Person) -> Result<(), StoreError> {
        let fields = csvfmt::fields(p);
        let json = serde_json::to_string(&fields)
            .map_err(|e| StoreError::Db(format!("staging a row: {e}")))?;
        self.buf.push(json);
        if self.buf.len() >= STAGE_ROWS {
            self.flush()?;
            std::thread::sleep(PAUSE);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.buf);
        let (run, first) = (self.run, self.staged);
        sql::transact(self.store.db(), |tx| {
            for (i, fields) in rows.iter().enumerate() {
                let seq = first + 1 + i64::try_from(i).unwrap_or(i64::MAX);
                tx.exec(
                    "INSERT INTO import_stage (run, seq, fields) VALUES ($1, $2, $3)",
                    &[run.into(), seq.into(), fields.into()],
                )?;
            }
            tx.exec(
                "UPDATE import_run SET staged = $2, beat = $3 WHERE id = $1",
                &[
                    run.into(),
                    (first + i64::try_from(rows.len()).unwrap_or(0)).into(),
                    beat().into(),
                ],
            )
        })?;
        self.staged += i64::try_from(rows.len()).unwrap_or(0);
        Ok(())
    }

    /// Stages the rest, marks the run decided, merges it.
    fn finish(mut self) -> Result<BatchCounts, StoreError> {
        if let Err(e) = self.flush() {
            let _ = discard(self.store, self.run);
            return Err(e);
        }
        let marked = sql::transact(self.store.db(), |tx| {
            tx.exec(
                "UPDATE import_run SET state = 'merging', beat = $2 WHERE id = $1 AND state = 'staging'",
                &[self.run.into(), beat().into()],
            )
        });
        match marked {
            Ok(1) => merge(self.store, self.run),
            Ok(_) => Err(StoreError::Conflict(
                "the import was abandoned by another process meanwhile",
            )),
            Err(e) => {
                let _ = discard(self.store, self.run);
                Err(e)
            }
        }
    }
}

/// Merges a decided run's staged rows into the register, from where it stopped, in short
/// transactions; each records how far it got in the same transaction.
fn merge(store: &dyn Store, run: i64) -> Result<BatchCounts, StoreError> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT actor, reason, at, merged FROM import_run WHERE id = $1",
            &[run.into()],
        )
    })?
    .ok_or(StoreError::NotFound)?;
    let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    let (actor, reason, at) = (
        Actor::from_db(&g(0).text()?),
        g(1).text()?,
        from_ms(g(2).int()?),
    );
    let mut at_seq = g(3).int()?;
    let mut counts = BatchCounts::default();
    loop {
        let started = Instant::now();
        let mut w = store.writer(&actor, &reason, at)?;
        let mut more = true;
        while more && started.elapsed() < HOLD {
            let rows = sql::read(store.db(), |tx| {
                tx.query(
                    "SELECT seq, fields FROM import_stage WHERE run = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[run.into(), at_seq.into(), i64::try_from(CHUNK).unwrap_or(500).into()],
                )
            })?;
            more = rows.len() == CHUNK;
            for r in rows {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                let fields: [String; 18] = serde_json::from_str(&g(1).text()?)
                    .map_err(|e| StoreError::Corrupt(format!("staged import row: {e}")))?;
                w.put(&person_from_fields(&fields)?)?;
                at_seq = g(0).int()?;
                if started.elapsed() >= HOLD {
                    // The rest of the chunk is read again by the next transaction.
                    more = true;
                    break;
                }
            }
        }
        w.tx()?.exec(
            "UPDATE import_run SET merged = $2, beat = $3 WHERE id = $1",
            &[run.into(), at_seq.into(), beat().into()],
        )?;
        add(&mut counts, w.commit()?);
        if !more {
            break;
        }
        std::thread::sleep(PAUSE);
    }
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE import_run SET state = 'done', beat = $2 WHERE id = $1",
            &[run.into(), beat().into()],
        )
    })?;
    delete_stage(store, run)?;
    Ok(counts)
}

/// Throws a run's staged rows away; the register was never touched.
fn discard(store: &dyn Store, run: i64) -> Result<(), StoreError> {
    delete_stage(store, run)?;
    sql::transact(store.db(), |tx| {
        tx.exec(
            "DELETE FROM import_run WHERE id = $1 AND state = 'staging'",
            &[run.into()],
        )
    })?;
    Ok(())
}

/// Deletes a run's staged rows, a few thousand per transaction.
fn delete_stage(store: &dyn Store, run: i64) -> Result<(), StoreError> {
    let last = sql::read(store.db(), |tx| {
        tx.int(
            "SELECT max(seq) FROM import_stage WHERE run = $1",
            &[run.into()],
        )
    })?;
    let mut from = 0;
    while from < last {
        let to = from.saturating_add(DELETE_CHUNK);
        sql::transact(store.db(), |tx| {
            tx.exec(
                "DELETE FROM import_stage WHERE run = $1 AND seq > $2 AND seq <= $3",
                &[run.into(), from.into(), to.into()],
            )
        })?;
        from = to;
        std::thread::sleep(PAUSE);
    }
    Ok(())
}

/// Finishes what an import that died left: a decided run (`merging`) is merged to the end, an
/// undecided one (`staging`) thrown away. Only runs whose importer has not shown it is alive for
/// a minute are touched. Returns how many runs were merged. Nothing to do on PostgreSQL.
pub fn resume_imports(store: &dyn Store) -> Result<u64, StoreError> {
    if !store.one_writer() {
        return Ok(0);
    }
    let stale = beat() - i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
    let runs = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT id, state FROM import_run WHERE state <> 'done' AND beat < $1 ORDER BY id",
            &[stale.into()],
        )
    })?;
    let mut merged = 0;
    for r in runs {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let run = g(0).int()?;
        if g(1).text()? == "merging" {
            merge(store, run)?;
            merged += 1;
        } else {
            discard(store, run)?;
        }
    }
    Ok(merged)
}
