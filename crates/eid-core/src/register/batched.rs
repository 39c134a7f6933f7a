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

use eid_domain::{Person, PersonalId};
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::csvfmt;
use crate::sql::{self, Val};
use crate::store::{
    from_ms, person_from_fields, to_ms, Actor, BatchCounts, PersonWriter, PreparedPerson, Store,
    StoreError,
};

/// The longest one write transaction of an import holds the lock.
pub const HOLD: Duration = Duration::from_millis(100);
/// The pause after each of an import's write transactions, in which other writers go.
pub const PAUSE: Duration = Duration::from_millis(10);
/// Rows read from the stage at a time (a run staged one row per stage row).
const CHUNK: usize = 500;
/// Rows sorted together in memory before they are staged (one sorted sequence).
const SORT_ROWS: usize = 100_000;
/// Rows per stage row.
const BLOCK_ROWS: usize = 2_000;
/// Room for one row's stage text (most rows are 150–250 bytes).
const ROW_TEXT: usize = 256;
/// Stage rows written per transaction: a sorted sequence's 50 blocks, about 13 MB, in one
/// (well under [`HOLD`]; ten of them paused more than they wrote).
const BLOCKS_PER_TX: usize = 50;
/// Stage rows deleted per statement when a run is cleaned up: blocks of [`BLOCK_ROWS`]...
const BLOCKS_DELETED: i64 = 10;
/// ...or, for a run staged one row per stage row, single rows.
const ROWS_DELETED: i64 = 5_000;
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
///
/// Rows are staged in sorted sequences: up to [`SORT_ROWS`] checked rows are sorted by personal
/// ID in memory and staged as blocks of [`BLOCK_ROWS`], each one stage row (a JSON array of the
/// rows' 18 CSV fields) with `seq` = sequence << 32 | block. The merge then reads the sequences
/// side by side and writes the rows in personal-ID order ([`merge_sorted`]): the register's
/// `WITHOUT ROWID` table grows at its end, as `.import` of sorted rows would, instead of splitting
/// pages all over the tree in every short transaction (and writing each of them to the WAL
/// again at every commit). A stage row per block instead of per row also makes staging one
/// insert per few thousand rows.
pub(super) struct Staged<'s> {
    store: &'s dyn Store,
    run: i64,
    /// Each buffered row's personal ID and its fields as stage text ([`push_field`]).
    buf: Vec<(PersonalId, String)>,
    /// Where [`csvfmt::each_field`] formats the fields that are not stored as text.
    scratch: String,
    sequence: i64,
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
                "INSERT INTO import_run (state, actor, reason, at, staged, merged, beat, merged_through) \
                 VALUES ('staging', $1, $2, $3, 0, 0, $4, '') RETURNING id",
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
            // Room for one sequence, kept from one to the next: grown by doubling and dropped
            // each time, the buffer was copied on every growth and its fresh pages faulted in
            // and cleared again (~4 % of a 1 M-row import's CPU). Address space only until used.
            buf: Vec::with_capacity(SORT_ROWS),
            scratch: String::new(),
            sequence: 0,
            staged: 0,
        })
    }

    fn put(&mut self, p: &Person) -> Result<(), StoreError> {
        let mut row = String::with_capacity(ROW_TEXT);
        csvfmt::each_field(p, &mut self.scratch, |field| push_field(&mut row, field));
        self.buf.push((p.id, row));
        if self.buf.len() >= SORT_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Stages the buffered rows as one sorted sequence, a few blocks per transaction.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut rows = std::mem::take(&mut self.buf);
        rows.sort_unstable_by_key(|(id, _)| *id);
        let blocks: Vec<&[(PersonalId, String)]> = rows.chunks(BLOCK_ROWS).collect();
        let mut block = 0i64;
        for group in blocks.chunks(BLOCKS_PER_TX) {
            let mut encoded = Vec::with_capacity(group.len());
            let mut n = 0i64;
            for b in group {
                encoded.push(encode_block(b));
                n += i64::try_from(b.len()).unwrap_or(i64::MAX);
            }
            let (run, seq0, staged) = (self.run, (self.sequence << 32) | block, self.staged + n);
            sql::transact(self.store.db(), |tx| {
                for (i, json) in encoded.iter().enumerate() {
                    tx.exec(
                        "INSERT INTO import_stage (run, seq, fields) VALUES ($1, $2, $3)",
                        &[
                            run.into(),
                            (seq0 + i64::try_from(i).unwrap_or(0)).into(),
                            json.as_str().into(),
                        ],
                    )?;
                }
                tx.exec(
                    "UPDATE import_run SET staged = $2, beat = $3 WHERE id = $1",
                    &[run.into(), staged.into(), beat().into()],
                )
            })?;
            self.staged = staged;
            block += i64::try_from(group.len()).unwrap_or(0);
            std::thread::sleep(PAUSE);
        }
        self.sequence += 1;
        rows.clear();
        self.buf = rows;
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

/// What a run records about itself.
struct RunHead {
    actor: Actor,
    reason: String,
    at: OffsetDateTime,
    merged: i64,
    /// The last personal ID merged, for a run staged in sorted sequences.
    through: Option<String>,
    deferred: Option<String>,
}

/// Merges a decided run's staged rows into the register, from where it stopped.
fn merge(store: &dyn Store, run: i64) -> Result<BatchCounts, StoreError> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT actor, reason, at, merged, merged_through, deferred FROM import_run WHERE id = $1",
            &[run.into()],
        )
    })?
    .ok_or(StoreError::NotFound)?;
    let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    let head = RunHead {
        actor: Actor::from_db(&g(0).text()?),
        reason: g(1).text()?,
        at: from_ms(g(2).int()?),
        merged: g(3).int()?,
        through: g(4).opt_text()?,
        deferred: g(5).opt_text()?,
    };
    match head.through {
        Some(_) => merge_sorted(store, run, head),
        None => merge_rows(store, run, &head),
    }
}

/// One sorted sequence of a run, read a block at a time.
struct Cursor {
    blocks: Vec<i64>,
    next_block: usize,
    rows: Vec<[String; 18]>,
    pos: usize,
}

impl Cursor {
    fn head(&self) -> Option<&[String; 18]> {
        self.rows.get(self.pos)
    }

    /// The current row, taken out (the cursor is to be advanced next).
    fn take_head(&mut self) -> Option<[String; 18]> {
        self.rows.get_mut(self.pos).map(std::mem::take)
    }

    /// Moves past the current row, reading the next block when this one is done.
    fn advance(&mut self, store: &dyn Store, run: i64) -> Result<(), StoreError> {
        self.pos += 1;
        while self.pos >= self.rows.len() {
            let Some(&seq) = self.blocks.get(self.next_block) else {
                return Ok(());
            };
            self.next_block += 1;
            self.rows = block(store, run, seq)?;
            self.pos = 0;
        }
        Ok(())
    }
}

fn block(store: &dyn Store, run: i64, seq: i64) -> Result<Vec<[String; 18]>, StoreError> {
    let text = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT fields FROM import_stage WHERE run = $1 AND seq = $2",
            &[run.into(), seq.into()],
        )
    })?
    .and_then(|r| r.first().cloned())
    .ok_or(StoreError::Corrupt(
        "a staged import block is missing".into(),
    ))?
    .text()?;
    decode_block(&text)
}

/// Appends a field to a row's stage text: its length in bytes, `:`, and its bytes. A block is
/// its rows' texts one after the other. No field needs escaping, and reading one back is a copy
/// (a JSON array of arrays, the form before, cost staging and the merge a fifth of their time).
fn push_field(out: &mut String, field: &str) {
    use std::fmt::Write;
    let _ = write!(out, "{}:", field.len());
    out.push_str(field);
}

/// The rows' texts as one block.
fn encode_block(rows: &[(PersonalId, String)]) -> String {
    let mut out = String::with_capacity(rows.iter().map(|(_, r)| r.len()).sum());
    for (_, row) in rows {
        out.push_str(row);
    }
    out
}

/// Reads [`encode_block`]'s text back; a block staged as JSON (by an earlier build, resumed by
/// this one) is read as JSON.
fn decode_block(text: &str) -> Result<Vec<[String; 18]>, StoreError> {
    let corrupt = || StoreError::Corrupt("a staged import block is malformed".into());
    if text.starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("staged import rows: {e}")));
    }
    let mut rows = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut row: [String; 18] = Default::default();
        for field in &mut row {
            let (len, tail) = rest.split_once(':').ok_or_else(corrupt)?;
            let len: usize = len.parse().map_err(|_| corrupt())?;
            let value = tail.get(..len).ok_or_else(corrupt)?;
            *field = value.to_owned();
            rest = tail.get(len..).ok_or_else(corrupt)?;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The register's indexes an import into an empty register builds at its end (name, SQL).
fn register_indexes(tx: &mut dyn sql::Tx) -> Result<Vec<(String, String)>, StoreError> {
    tx.query(crate::sqlite::DEFERRABLE_INDEXES, &[])?
        .into_iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok((g(0).text()?, g(1).text()?))
        })
        .collect()
}

/// Merges a run staged in sorted sequences, in personal-ID order, in short transactions; each
/// records the last personal ID it merged. Into an empty register, the person tables'
/// secondary indexes are dropped first (recorded on the run in the same transaction) and built
/// again, by one sort each, in the transaction that ends the run: kept row by row, a short
/// transaction touches index pages all over and writes them all again at its commit. A crash
/// in between leaves them recorded; the resumed merge builds them.
fn merge_sorted(store: &dyn Store, run: i64, head: RunHead) -> Result<BatchCounts, StoreError> {
    let mut deferred = head.deferred.clone();
    if deferred.is_none() && head.merged == 0 {
        deferred = sql::transact(store.db(), |tx| {
            if tx.int("SELECT count(*) FROM (SELECT 1 FROM person LIMIT 1)", &[])? > 0 {
                return Ok::<_, StoreError>(None);
            }
            let indexes = register_indexes(tx)?;
            for (name, _) in &indexes {
                tx.exec(&format!("DROP INDEX \"{name}\""), &[])?;
            }
            let sqls: Vec<&str> = indexes.iter().map(|(_, s)| s.as_str()).collect();
            let json = serde_json::to_string(&sqls)
                .map_err(|e| StoreError::Db(format!("recording indexes: {e}")))?;
            tx.exec(
                "UPDATE import_run SET deferred = $2 WHERE id = $1",
                &[run.into(), json.as_str().into()],
            )?;
            Ok(Some(json))
        })?;
    }

    let seqs = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT seq FROM import_stage WHERE run = $1 ORDER BY seq",
            &[run.into()],
        )
    })?;
    let mut cursors: Vec<Cursor> = Vec::new();
    let mut last_sequence = None;
    for r in seqs {
        let seq = r.first().cloned().unwrap_or(Val::Null).int()?;
        if last_sequence != Some(seq >> 32) {
            last_sequence = Some(seq >> 32);
            cursors.push(Cursor {
                blocks: Vec::new(),
                next_block: 0,
                rows: Vec::new(),
                pos: 0,
            });
        }
        if let Some(c) = cursors.last_mut() {
            c.blocks.push(seq);
        }
    }
    // One thread reads the sequences side by side and works out each row's columns while this
    // one writes: about half of a merge's time is not SQLite's, and SQLite takes one writer.
    let mut through = head.through.clone().unwrap_or_default();
    let mut merged = head.merged;
    let mut counts = BatchCounts::default();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPE_BATCHES);
        // Written batches go back to the reader to be freed there: freeing on the writing
        // thread what another thread allocated cost it a tenth of its time.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<PreparedPerson>>();
        let from = through.clone();
        let reader = scope.spawn(move || read_sorted(store, run, cursors, &from, &tx, &done_rx));
        let mut next = rx.recv().ok().transpose()?;
        while next.is_some() {
            let started = Instant::now();
            let mut w = store.writer(&head.actor, &head.reason, head.at)?;
            while let Some(batch) = next.take() {
                w.put_many(&batch)?;
                if let Some(last) = batch.last() {
                    through.clone_from(&last.fields[0]);
                }
                merged += i64::try_from(batch.len()).unwrap_or(0);
                let _ = done_tx.send(batch);
                next = rx.recv().ok().transpose()?;
                if started.elapsed() >= HOLD {
                    break;
                }
            }
            w.tx()?.exec(
                "UPDATE import_run SET merged = $2, merged_through = $3, beat = $4 WHERE id = $1",
                &[
                    run.into(),
                    merged.into(),
                    through.as_str().into(),
                    beat().into(),
                ],
            )?;
            add(&mut counts, w.commit()?);
            if next.is_some() {
                std::thread::sleep(PAUSE);
            }
        }
        drop(done_tx);
        // The reader ended its rows by hanging up; had it died instead, the run is not done.
        reader
            .join()
            .map_err(|_| StoreError::Db("the thread reading a staged import failed".into()))
    })?;

    let rebuild: Vec<String> = match &deferred {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| StoreError::Corrupt(format!("deferred indexes: {e}")))?,
        None => Vec::new(),
    };
    sql::transact(store.db(), |tx| {
        crate::sqlite::build_indexes(tx, &rebuild)?;
        tx.exec(
            "UPDATE import_run SET state = 'done', deferred = NULL, beat = $2 WHERE id = $1",
            &[run.into(), beat().into()],
        )
    })?;
    delete_stage(store, run, BLOCKS_DELETED)?;
    Ok(counts)
}

/// Rows handed from [`read_sorted`] to the writing thread at a time, and batches in flight
/// (a transaction ends, after [`HOLD`], between two batches).
const PIPE_ROWS: usize = 256;
const PIPE_BATCHES: usize = 32;

type Prepared = Result<Vec<PreparedPerson>, StoreError>;

/// The reading side of [`merge_sorted`]: merges the run's sorted sequences past `through` into
/// one personal-ID order and sends the rows, their columns worked out, in batches. An error is
/// sent as the last message; it stops early when the writing side is gone.
fn read_sorted(
    store: &dyn Store,
    run: i64,
    mut cursors: Vec<Cursor>,
    through: &str,
    tx: &std::sync::mpsc::SyncSender<Prepared>,
    written: &std::sync::mpsc::Receiver<Vec<PreparedPerson>>,
) {
    let send = |batch: Vec<PreparedPerson>| {
        written.try_iter().for_each(drop);
        tx.send(Ok(batch)).is_ok()
    };
    let read = (|| -> Result<(), StoreError> {
        let mut heap = std::collections::BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            // Past what an earlier merge of this run wrote.
            c.pos = usize::MAX - 1;
            c.advance(store, run)?;
            while c.head().is_some_and(|f| f[0].as_str() <= through) {
                c.advance(store, run)?;
            }
            if let Some(f) = c.head() {
                heap.push(std::cmp::Reverse((f[0].clone(), i)));
            }
        }
        let mut batch = Vec::with_capacity(PIPE_ROWS);
        while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
            let Some(c) = cursors.get_mut(i) else {
                continue;
            };
            if let Some(fields) = c.take_head() {
                batch.push(PreparedPerson::from_fields(fields)?);
            }
            c.advance(store, run)?;
            if let Some(f) = c.head() {
                heap.push(std::cmp::Reverse((f[0].clone(), i)));
            }
            if batch.len() == PIPE_ROWS
                && !send(std::mem::replace(&mut batch, Vec::with_capacity(PIPE_ROWS)))
            {
                return Ok(());
            }
        }
        if !batch.is_empty() {
            send(batch);
        }
        Ok(())
    })();
    if let Err(e) = read {
        let _ = tx.send(Err(e));
    }
}

/// Merges a run staged one row per stage row by an earlier version, from the row where it
/// stopped, in short transactions; each records how far it got in the same transaction.
fn merge_rows(store: &dyn Store, run: i64, head: &RunHead) -> Result<BatchCounts, StoreError> {
    let (actor, reason, at) = (&head.actor, &head.reason, head.at);
    let mut at_seq = head.merged;
    let mut counts = BatchCounts::default();
    loop {
        let started = Instant::now();
        let mut w = store.writer(actor, reason, at)?;
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
    delete_stage(store, run, ROWS_DELETED)?;
    Ok(counts)
}

/// Throws a run's staged rows away; the register was never touched.
fn discard(store: &dyn Store, run: i64) -> Result<(), StoreError> {
    delete_stage(store, run, BLOCKS_DELETED)?;
    sql::transact(store.db(), |tx| {
        tx.exec(
            "DELETE FROM import_run WHERE id = $1 AND state = 'staging'",
            &[run.into()],
        )
    })?;
    Ok(())
}

/// Deletes a run's staged rows, `per_statement` stage rows at a time, in transactions of about
/// [`HOLD`] with [`PAUSE`] between them (as the merge's): a transaction per few stage rows
/// paused more than it deleted (a 1 M-row run: 50 transactions, 0.5 s of pauses).
fn delete_stage(store: &dyn Store, run: i64, per_statement: i64) -> Result<(), StoreError> {
    loop {
        let started = Instant::now();
        let more = sql::transact(store.db(), |tx| loop {
            let deleted = tx.exec(
                "DELETE FROM import_stage WHERE run = $1 AND seq IN \
                 (SELECT seq FROM import_stage WHERE run = $1 ORDER BY seq LIMIT $2)",
                &[run.into(), per_statement.into()],
            )?;
            if deleted == 0 {
                return Ok::<_, StoreError>(false);
            }
            if started.elapsed() >= HOLD {
                return Ok(true);
            }
        })?;
        if !more {
            return Ok(());
        }
        std::thread::sleep(PAUSE);
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn row(first: &str, rest: &str) -> [String; 18] {
        let mut r: [String; 18] = Default::default();
        r[0] = first.to_owned();
        r[5] = rest.to_owned();
        r[17] = "12:34".to_owned();
        r
    }

    fn encode(rows: &[[String; 18]]) -> String {
        let mut text = String::new();
        rows.iter().flatten().for_each(|f| push_field(&mut text, f));
        text
    }

    #[test]
    fn a_block_reads_back_as_it_was_staged() {
        let rows = vec![
            row("001201000001", "Nguyễn Văn A: 3 ngõ 7, \"Hà Nội\""),
            row("001201000002", ""),
            row("9:", "1:x"),
        ];
        let text = encode(&rows);
        assert_eq!(decode_block(&text).unwrap(), rows);
        assert!(decode_block("").unwrap().is_empty());
    }

    /// A person staged field by field reads back as the fields the merge expects.
    #[test]
    fn a_staged_person_reads_back_as_its_csv_fields() {
        use eid_gen::{GenConfig, Generator};
        let persons: Vec<Person> = Generator::new(&GenConfig {
            count: 500,
            seed: 11,
            province: None,
            today: time::macros::date!(2026 - 11 - 23),
        })
        .unwrap()
        .collect();
        let mut scratch = String::new();
        let mut text = String::new();
        for p in &persons {
            csvfmt::each_field(p, &mut scratch, |f| push_field(&mut text, f));
        }
        let back = decode_block(&text).unwrap();
        let expected: Vec<[String; 18]> = persons.iter().map(csvfmt::fields).collect();
        assert_eq!(back, expected);
        // The generated persons cover the optional fields both ways.
        let some = |i: usize| expected.iter().filter(|r| !r[i].is_empty()).count();
        for i in [9, 12, 15, 16] {
            assert!(some(i) > 0 && some(i) < expected.len(), "column {i}");
        }
    }

    #[test]
    fn a_block_staged_as_json_is_still_read() {
        let rows = vec![row("001201000001", "Lê Thị B")];
        let json = serde_json::to_string(&rows).unwrap();
        assert_eq!(decode_block(&json).unwrap(), rows);
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let text = encode(&[row("001201000001", "Trần Văn Ơn")]);
        // Cut anywhere, including inside a multi-byte letter: each cut is refused.
        let mut refused = 0;
        for cut in 1..text.len() {
            if let Some(head) = text.get(..cut) {
                assert!(decode_block(head).is_err(), "cut at {cut}");
                refused += 1;
            }
        }
        assert!(refused > 20);
        // A length that ends inside a letter, one past the end, one that is not a number.
        assert!(decode_block("2:ễ").is_err());
        assert!(decode_block("99:abc").is_err());
        assert!(decode_block("x:abc").is_err());
    }
}
