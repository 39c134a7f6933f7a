//! The SQLite engine: one file, WAL mode, one writer and a pool of readers.
//!
//! SQLite allows one writer at a time, so writes go through a single connection behind a mutex
//! and reads through a small pool of read connections that see the last committed state.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use eid_domain::{fold, Person, PersonalId, UnitCode};
use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use crate::audit::{self, AuditQuery};
use crate::sql::{to_sqlite_placeholders, Db, SqlRow, Tx, Val};
use crate::store::{
    created_changes, from_ms, path_range, person_from_strs, phone_national, to_ms, updated_changes,
    Actor, AuditEntry, BatchCounts, PersonEvent, PersonWriter, Population, PreparedPerson,
    PutOutcome, SearchQuery, Store, StoreError, StoredPerson,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_accounts.sql")),
    (3, include_str!("../migrations/sqlite/0003_operations.sql")),
    (5, include_str!("../migrations/sqlite/0005_attempts.sql")),
    (6, include_str!("../migrations/sqlite/0006_import_runs.sql")),
    (8, include_str!("../migrations/sqlite/0008_linkage.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_link_decisions.sql"),
    ),
    (
        10,
        include_str!("../migrations/sqlite/0010_citizen_web_session.sql"),
    ),
    (11, include_str!("../migrations/sqlite/0011_oidc.sql")),
    (12, include_str!("../migrations/sqlite/0012_reported.sql")),
    (
        13,
        include_str!("../migrations/sqlite/0013_link_proposals.sql"),
    ),
    (
        14,
        include_str!("../migrations/sqlite/0014_oidc_code_grant.sql"),
    ),
    (15, include_str!("../migrations/sqlite/0015_stay.sql")),
    (16, include_str!("../migrations/sqlite/0016_residence.sql")),
    (17, include_str!("../migrations/sqlite/0017_wallet.sql")),
    (
        18,
        include_str!("../migrations/sqlite/0018_transparency.sql"),
    ),
    (19, include_str!("../migrations/sqlite/0019_peaks.sql")),
    (21, include_str!("../migrations/sqlite/0021_link_jobs.sql")),
    (
        22,
        include_str!("../migrations/sqlite/0022_province_day_count.sql"),
    ),
    (23, include_str!("../migrations/sqlite/0023_residency.sql")),
    (
        24,
        include_str!("../migrations/sqlite/0024_transparency_nodes.sql"),
    ),
    (
        26,
        include_str!("../migrations/sqlite/0026_link_job_lease.sql"),
    ),
    (
        28,
        include_str!("../migrations/sqlite/0028_import_sorted.sql"),
    ),
    (
        29,
        include_str!("../migrations/sqlite/0029_data_use_fold.sql"),
    ),
    (
        30,
        include_str!("../migrations/sqlite/0030_reported_overlap.sql"),
    ),
    (
        35,
        include_str!("../migrations/sqlite/0035_data_use_by_person.sql"),
    ),
];
const AUDIT_MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/sqlite/audit/0001_audit.sql"))];

/// The audit trail's file next to the register's: `data/eid.db` → `data/eid.audit.db`.
pub fn audit_path(path: &Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.audit.db"))
}

fn apply_migrations(conn: &Connection, migrations: &[(i64, &str)]) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in migrations {
        let done: Option<i64> = conn
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_some() {
            continue;
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now') * 1000)",
            [version],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// The columns of `person` that hold the 18 CSV fields, in CSV order, then version and time.
const PERSON_COLUMNS: &str = "personal_id, surname, middle_name, given_name, birth_date, sex, hometown_unit, \
     residence_unit, residence_address, temp_unit, temp_address, household_id, phone, phone_type, life_status, \
     life_status_date, card_issued, card_revoked, version, updated_at";

const READERS: usize = 8;

/// How often the checkpointer thread copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The WAL length, in frames (pages), past which the checkpointer resets the log (64 MiB of
/// 4 KiB pages).
const WAL_LIMIT_FRAMES: i64 = 16_384;

/// A SQLite database file.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// The audit trail's own database, written by the flusher thread.
    audit_conn: Arc<Mutex<Connection>>,
    /// Audit lines on their way to the database, committed in groups by the flusher thread;
    /// see [`audit::GroupCommit`].
    audit: Arc<audit::GroupCommit>,
    flusher: Option<std::thread::JoinHandle<()>>,
    audit_checkpointer: Option<std::thread::JoinHandle<()>>,
    /// Copies the WAL into the database every [`CHECKPOINT_EVERY`], off the write path.
    checkpointer: Option<std::thread::JoinHandle<()>>,
    checkpoint_stop: Arc<AtomicBool>,
    readers: Mutex<Vec<Connection>>,
    available: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a connection waits for another connection's (or process's) write lock before
/// giving up with "database is locked".
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The busy handler: polls every millisecond for up to [`LOCK_WAIT`]. SQLite's own
/// `busy_timeout` backs off to sleeps of 100 ms, so a writer waiting on another process that
/// commits in short transactions with short pauses between them (`eid import`) would keep
/// missing its turn; polling this often takes the lock in the first pause.
fn wait_for_lock(tries: i32) -> bool {
    let waited = Duration::from_millis(u64::try_from(tries).unwrap_or(0));
    if waited >= LOCK_WAIT {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_handler(Some(wait_for_lock))?;
    // The writer runs every write path's statements; an application alone prepares ~16, and
    // rusqlite keeps 16 by default, so a group commit (plus its savepoints) re-parsed its
    // statements each time.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -{CACHE_KIB};
         PRAGMA mmap_size = 1073741824;
         PRAGMA temp_store = MEMORY;
         PRAGMA threads = 2;"
    ))?;
    Ok(conn)
}

/// The audit trail's connection for the flusher: as [`connect`] (WAL, `synchronous = NORMAL`: a
/// committed batch is in the WAL file when the commit returns, so it survives a crash of the
/// process; a power loss can lose the batches since the last checkpoint, as for the register's
/// own writes, and leaves the file consistent). Checkpoints run on a [`spawn_checkpointer`]
/// thread, so the flusher, which answering requests wait for, never pays their fsync.
fn connect_audit(path: &Path) -> Result<Connection, StoreError> {
    let conn = connect(path)?;
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    Ok(conn)
}

/// Checkpoints the WAL of the database file at `path` on a thread of its own (named `name`)
/// until `stop`, so that no commit pays a checkpoint's fsync. PASSIVE every
/// [`CHECKPOINT_EVERY`] copies what it can without waiting for readers or the writer. Under a
/// steady stream of commits that never finishes the log, so once the WAL passes
/// [`WAL_LIMIT_FRAMES`] a TRUNCATE checkpoint waits for the readers, finishes it and resets the
/// file: a short pause for writers now and then instead of a WAL that grows without bound.
fn spawn_checkpointer(
    path: &Path,
    name: &str,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let conn = connect(path)?;
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                std::thread::park_timeout(CHECKPOINT_EVERY);
                let log = conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    .unwrap_or(0);
                if log > WAL_LIMIT_FRAMES {
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                }
            }
        })
        .map_err(|e| StoreError::Db(format!("starting the {name} thread: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, and its parent folder.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let path = Path::new(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Db(format!("creating {}: {e}", parent.display())))?;
        }
        let writer_conn = connect(path)?;
        // Checkpoints run on a thread of their own (below), not inside the writer's lock at
        // the commit that fills the WAL: that commit would otherwise pay the checkpoint's
        // fsync for every request queued behind it.
        writer_conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        let writer = Mutex::new(writer_conn);
        let checkpoint_stop = Arc::new(AtomicBool::new(false));
        let checkpointer =
            spawn_checkpointer(path, "eid-checkpoint", Arc::clone(&checkpoint_stop))?;
        let audit_conn = Arc::new(Mutex::new(connect_audit(&audit_path(path))?));
        let audit_checkpointer = spawn_checkpointer(
            &audit_path(path),
            "eid-audit-checkpoint",
            Arc::clone(&checkpoint_stop),
        )?;
        let audit = Arc::new(audit::GroupCommit::default());
        let flusher = {
            let (writer, audit) = (Arc::clone(&audit_conn), Arc::clone(&audit));
            std::thread::Builder::new()
                .name("eid-audit-flush".into())
                .spawn(move || audit.run(|batch| append_batch(&writer, batch)))
                .map_err(|e| StoreError::Db(format!("starting the audit flusher: {e}")))?
        };
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            // A reader refuses writes: a read body that wrote would otherwise take the write
            // lock from beside the single writer (and on PostgreSQL, where reads run outside
            // a transaction, nothing else would refuse it).
            let reader = connect(path)?;
            reader.pragma_update(None, "query_only", true)?;
            readers.push(reader);
        }
        Ok(SqliteStore {
            writer,
            audit_conn,
            audit: Arc::clone(&audit),
            flusher: Some(flusher),
            audit_checkpointer: Some(audit_checkpointer),
            checkpointer: Some(checkpointer),
            checkpoint_stop,
            readers: Mutex::new(readers),
            available: Condvar::new(),
        })
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = {
            let mut pool = lock(&self.readers);
            loop {
                if let Some(c) = pool.pop() {
                    break c;
                }
                pool = self.available.wait(pool).unwrap_or_else(|p| p.into_inner());
            }
        };
        let result = f(&conn);
        lock(&self.readers).push(conn);
        self.available.notify_one();
        result
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = lock(&self.writer);
        f(&conn)
    }
}

/// Commits a batch of audit lines in one transaction (the flusher's `write`).
fn append_batch(writer: &Mutex<Connection>, batch: &[audit::Line]) -> Result<(), StoreError> {
    let conn = lock(writer);
    let tx = conn.unchecked_transaction()?;
    for line in batch {
        audit::append(&mut SqliteTx { conn: &tx }, line)?;
    }
    tx.commit()?;
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.audit.stop();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        self.checkpoint_stop.store(true, Ordering::Release);
        if let Some(handle) = self.audit_checkpointer.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
        if let Some(handle) = self.checkpointer.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

fn opt_text(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Column `i` as borrowed text (`None` for NULL).
fn text_ref<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, StoreError> {
    row.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// The two CSV fields a row does not hold as their text: the phone (stored as E.164) and the
/// revoked flag (stored as an integer), in their CSV form.
fn converted_fields(row: &Row<'_>) -> Result<[String; 2], StoreError> {
    let phone = text_ref(row, 12)?.map(phone_national).unwrap_or_default();
    let revoked = row
        .get::<_, Option<i64>>(17)?
        .map(|r| r.to_string())
        .unwrap_or_default();
    Ok([phone, revoked])
}

/// The 18 CSV fields (columns 0..18 of [`PERSON_COLUMNS`]) of a row, borrowed from it but for
/// the phone and the revoked flag, taken from `converted` ([`converted_fields`]).
fn row_texts<'r>(
    row: &'r Row<'_>,
    converted: &'r [String; 2],
) -> Result<[&'r str; 18], StoreError> {
    let mut fields = [""; 18];
    for (i, slot) in fields.iter_mut().enumerate() {
        *slot = match i {
            12 => converted[0].as_str(),
            17 => converted[1].as_str(),
            _ => text_ref(row, i)?.unwrap_or_default(),
        };
    }
    Ok(fields)
}

/// The 18 CSV fields of a row, owned (the old values an update is compared with).
fn row_fields(row: &Row<'_>) -> Result<[String; 18], StoreError> {
    let converted = converted_fields(row)?;
    Ok(row_texts(row, &converted)?.map(str::to_owned))
}

/// A person read from the register columns (the first 18 of [`PERSON_COLUMNS`]), checked as
/// an imported row is, from the row's own text (no string made per field).
fn stored_person(row: &Row<'_>) -> Result<StoredPerson, StoreError> {
    let converted = converted_fields(row)?;
    Ok(StoredPerson {
        person: person_from_strs(&row_texts(row, &converted)?)?,
        version: row.get(18)?,
        updated_at: from_ms(row.get(19)?),
    })
}

/// Parses stored `changes`, expanding the array form of a created event into its object form.
fn expand_changes(text: &str) -> Result<serde_json::Value, StoreError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    match value {
        serde_json::Value::Array(items) => {
            let mut fields: [String; 18] = Default::default();
            if items.len() != fields.len() {
                return Err(StoreError::Corrupt(
                    "created event with a wrong column count".into(),
                ));
            }
            for (slot, item) in fields.iter_mut().zip(items) {
                *slot = item.as_str().unwrap_or_default().to_owned();
            }
            Ok(created_changes(&fields))
        }
        other => Ok(other),
    }
}

/// The insert of a register row, with the placeholders `?1`..`?24` (a macro, for `concat!`).
macro_rules! insert_person {
    () => {
        "INSERT INTO person (personal_id, surname, middle_name, given_name, name_folded, \
         birth_date, birth_year, sex, hometown_unit, residence_unit, res_path, residence_address, \
         temp_unit, temp_address, household_id, phone, phone_type, life_status, life_status_date, \
         card_issued, card_revoked, digest, version, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20, ?21, ?22, ?23, ?24)"
    };
}

/// A register row.
const INSERT_PERSON: &str = insert_person!();

/// [`INSERT_PERSON`], or nothing when a row of the same ID exists.
const INSERT_NEW_PERSON: &str = concat!(insert_person!(), " ON CONFLICT (personal_id) DO NOTHING");

/// [`INSERT_PERSON`], or the new values over the row of the same ID.
const UPSERT_PERSON: &str = concat!(
    insert_person!(),
    " ON CONFLICT (personal_id) DO UPDATE SET surname = excluded.surname, \
     middle_name = excluded.middle_name, given_name = excluded.given_name, \
     name_folded = excluded.name_folded, birth_date = excluded.birth_date, \
     birth_year = excluded.birth_year, sex = excluded.sex, hometown_unit = excluded.hometown_unit, \
     residence_unit = excluded.residence_unit, res_path = excluded.res_path, \
     residence_address = excluded.residence_address, temp_unit = excluded.temp_unit, \
     temp_address = excluded.temp_address, household_id = excluded.household_id, \
     phone = excluded.phone, phone_type = excluded.phone_type, life_status = excluded.life_status, \
     life_status_date = excluded.life_status_date, card_issued = excluded.card_issued, \
     card_revoked = excluded.card_revoked, digest = excluded.digest, version = excluded.version, \
     updated_at = excluded.updated_at"
);

/// The secondary indexes of the register's person tables (name, SQL) that a load into an
/// empty register drops and builds at its end, by one sort each, rather than keep row by row.
/// An index that leads with the personal ID is kept: a sorted load appends to it at its end,
/// which costs less than building it again (`person_event (personal_id, seq)`).
pub const DEFERRABLE_INDEXES: &str = "SELECT m.name, m.sql FROM sqlite_master m \
     WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name IN ('person', 'person_event') \
     AND (SELECT i.name FROM pragma_index_info(m.name) i WHERE i.seqno = 0) <> 'personal_id' \
     ORDER BY m.name";

/// Each connection's page cache, in KiB (`PRAGMA cache_size`).
const CACHE_KIB: i64 = 262_144;
/// The page cache while [`build_indexes`] runs, in KiB.
const SORT_CACHE_KIB: i64 = 2_048;

/// Runs `creates` (the [`DEFERRABLE_INDEXES`] a load dropped) in `tx`, on the writer. For
/// their duration the connection sorts through temporary files with a 2 MiB page cache:
/// SQLite's sorter then sorts in pieces on its worker threads (`PRAGMA threads`) and merges
/// them, where with `temp_store = MEMORY` it sorts everything in one piece on this thread. For
/// the three person indexes at 1 M persons: 1.5 s instead of 3.1 s. A setting SQLite refuses
/// (`temp_store` cannot change once the connection has temporary tables; eid makes none) only
/// makes the build slower. With nothing to build it runs nothing: every writer's commit comes
/// here, and shrinking the cache to 2 MiB drops the pages the writer had cached.
pub fn build_indexes(tx: &mut dyn Tx, creates: &[String]) -> Result<(), StoreError> {
    if creates.is_empty() {
        return Ok(());
    }
    let _ = tx.exec("PRAGMA temp_store = FILE", &[]);
    tx.exec(&format!("PRAGMA cache_size = -{SORT_CACHE_KIB}"), &[])?;
    let built = creates
        .iter()
        .try_for_each(|create| tx.exec(create, &[]).map(drop));
    let _ = tx.exec("PRAGMA temp_store = MEMORY", &[]);
    tx.exec(&format!("PRAGMA cache_size = -{CACHE_KIB}"), &[])?;
    built
}

/// A person's event, with the placeholders `?1`..`?6`.
const INSERT_EVENT: &str =
    "INSERT INTO person_event (personal_id, at, actor, kind, reason, changes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// What is written with a person's row besides its columns.
struct RowWrite<'a> {
    kind: &'a str,
    changes: &'a str,
    version: i64,
    at: i64,
    actor: &'a str,
    reason: &'a str,
}

impl RowWrite<'_> {
    /// Writes the row through `person` ([`INSERT_PERSON`], [`UPSERT_PERSON`] or
    /// [`INSERT_NEW_PERSON`]) and, if that wrote it, its event through `event`
    /// ([`INSERT_EVENT`]). Returns whether it wrote them.
    fn write(
        &self,
        prepared: &PreparedPerson,
        person: &mut rusqlite::Statement<'_>,
        event: &mut rusqlite::Statement<'_>,
    ) -> Result<bool, StoreError> {
        let p = &prepared.person;
        let fields = &prepared.fields;
        let id = p.id.as_str();
        let written = person.execute(params![
            id,
            fields[1],
            fields[2],
            fields[3],
            prepared.folded,
            fields[4],
            p.birth.year(),
            fields[5],
            opt_text(&fields[6]),
            fields[7],
            prepared.res_path,
            fields[8],
            opt_text(&fields[9]),
            opt_text(&fields[10]),
            opt_text(&fields[11]),
            p.phone.as_ref().map(|x| x.as_str()),
            fields[13],
            fields[14],
            opt_text(&fields[15]),
            opt_text(&fields[16]),
            p.card.map(|c| i64::from(c.revoked)),
            prepared.digest,
            self.version,
            self.at,
        ])?;
        if written == 0 {
            return Ok(false);
        }
        event.execute(params![
            id,
            self.at,
            self.actor,
            self.kind,
            self.reason,
            self.changes
        ])?;
        Ok(true)
    }
}

/// A write transaction on the single writer connection.
struct SqliteWriter<'a> {
    conn: MutexGuard<'a, Connection>,
    /// Secondary indexes dropped for a bulk load into an empty register, recreated at commit.
    deferred_indexes: Vec<String>,
    /// In a bulk load, the IDs written so far: only these can already be in the table.
    bulk_written: std::collections::HashSet<PersonalId>,
    actor: String,
    reason: String,
    now_ms: i64,
    counts: BatchCounts,
    open: bool,
}

impl SqliteWriter<'_> {
    fn put_one(&mut self, prepared: &PreparedPerson) -> Result<PutOutcome, StoreError> {
        let p = &prepared.person;
        let fields = &prepared.fields;
        let dig = &prepared.digest;
        let id = p.id.as_str();
        let bulk_new = !self.deferred_indexes.is_empty() && self.bulk_written.insert(p.id);
        let existing: Option<(Vec<u8>, i64)> = if !bulk_new {
            self.conn
                .prepare_cached("SELECT digest, version FROM person WHERE personal_id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
        } else {
            // Bulk load into an empty register, and an ID not seen before: it cannot exist.
            None
        };
        let (updated, created);
        let (kind, changes, version) = match existing {
            Some((old, _)) if &old == dig => return Ok(PutOutcome::Unchanged),
            Some((_, version)) => {
                let old_fields = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {PERSON_COLUMNS} FROM person WHERE personal_id = ?1"
                    ))?
                    .query_row([id], |r| Ok(row_fields(r)))??;
                match updated_changes(&old_fields, fields) {
                    Some(c) => {
                        updated = c.to_string();
                        ("updated", updated.as_str(), version + 1)
                    }
                    None => return Ok(PutOutcome::Unchanged),
                }
            }
            None => {
                created = prepared.created()?;
                ("created", created.as_ref(), 1)
            }
        };
        // A row new to a bulk load is a plain insert: a shorter statement and no conflict
        // clause to run.
        let sql = if bulk_new {
            INSERT_PERSON
        } else {
            UPSERT_PERSON
        };
        let (mut person, mut event) = (
            self.conn.prepare_cached(sql)?,
            self.conn.prepare_cached(INSERT_EVENT)?,
        );
        let row = RowWrite {
            kind,
            changes,
            version,
            at: self.now_ms,
            actor: &self.actor,
            reason: &self.reason,
        };
        row.write(prepared, &mut person, &mut event)?;
        Ok(if kind == "created" {
            PutOutcome::Created
        } else {
            PutOutcome::Updated
        })
    }
}

impl PersonWriter for SqliteWriter<'_> {
    fn put(&mut self, person: &Person) -> Result<(), StoreError> {
        self.put_prepared(&PreparedPerson::new(person.clone())?)
    }

    fn put_prepared(&mut self, person: &PreparedPerson) -> Result<(), StoreError> {
        let outcome = self.put_one(person)?;
        self.counts.add(outcome);
        Ok(())
    }

    fn put_many(&mut self, persons: &[PreparedPerson]) -> Result<(), StoreError> {
        // Each is tried as a new row first, through statements looked up once for all of them
        // (the rows of an import are mostly new, and a lookup per row costs as much as the
        // insert). A row whose ID is taken is written after them, in order, by `put_one`.
        let bulk = !self.deferred_indexes.is_empty();
        let mut again = Vec::new();
        {
            let (mut person, mut event) = (
                self.conn.prepare_cached(INSERT_NEW_PERSON)?,
                self.conn.prepare_cached(INSERT_EVENT)?,
            );
            for p in persons {
                if bulk && self.bulk_written.contains(&p.person.id) {
                    again.push(p);
                    continue;
                }
                let written = RowWrite {
                    kind: "created",
                    changes: &p.created()?,
                    version: 1,
                    at: self.now_ms,
                    actor: &self.actor,
                    reason: &self.reason,
                }
                .write(p, &mut person, &mut event)?;
                if !written {
                    again.push(p);
                    continue;
                }
                if bulk {
                    self.bulk_written.insert(p.person.id);
                }
                self.counts.add(PutOutcome::Created);
            }
        }
        again.into_iter().try_for_each(|p| self.put_prepared(p))
    }

    fn current(&mut self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError> {
        // The writer holds SQLite's write lock from `BEGIN IMMEDIATE`: no one else can change
        // the row before this transaction ends.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PERSON_COLUMNS} FROM person WHERE personal_id = ?1"
        ))?;
        let mut rows = stmt.query([id.as_str()])?;
        match rows.next()? {
            Some(row) => Ok(Some(stored_person(row)?)),
            None => Ok(None),
        }
    }

    fn tx(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(SqliteTx { conn: &self.conn }))
    }

    fn commit(mut self: Box<Self>) -> Result<BatchCounts, StoreError> {
        let deferred = std::mem::take(&mut self.deferred_indexes);
        build_indexes(&mut SqliteTx { conn: &self.conn }, &deferred)?;
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(self.counts)
    }
}

impl Drop for SqliteWriter<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    fn db(&self) -> &dyn Db {
        self
    }

    fn reads_are_local(&self) -> bool {
        true
    }

    fn one_writer(&self) -> bool {
        true
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.write(|conn| apply_migrations(conn, MIGRATIONS))?;
        apply_migrations(&lock(&self.audit_conn), AUDIT_MIGRATIONS)
    }

    fn backup_to(&self, to: &Path) -> Result<crate::backup::Copied, StoreError> {
        let audit_file = lock(&self.audit_conn).path().map(std::path::PathBuf::from);
        self.read(|conn| {
            // `VACUUM INTO` writes the copy through this reader, which otherwise refuses writes.
            conn.pragma_update(None, "query_only", false)?;
            let copied = crate::backup::backup(conn, audit_file.as_deref(), to);
            conn.pragma_update(None, "query_only", true)?;
            copied
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
    }

    fn person(&self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM person WHERE personal_id = ?1"
            ))?;
            let mut rows = stmt.query([id.as_str()])?;
            match rows.next()? {
                Some(row) => Ok(Some(stored_person(row)?)),
                None => Ok(None),
            }
        })
    }

    fn person_and_residency(
        &self,
        id: &PersonalId,
    ) -> Result<Option<(StoredPerson, eid_domain::Residency)>, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {PERSON_COLUMNS}, {} FROM person \
                 LEFT JOIN person_residency USING (personal_id) WHERE personal_id = ?1",
                crate::residency::COLUMNS
            )
        });
        self.read(|c| {
            let mut stmt = c.prepare_cached(&SQL)?;
            let mut rows = stmt.query([id.as_str()])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let p = stored_person(row)?;
            let r = crate::residency::from_texts([
                row.get(20)?,
                row.get(21)?,
                row.get(22)?,
                row.get(23)?,
            ])?;
            Ok(Some((p, r)))
        })
    }

    fn history(&self, id: &PersonalId) -> Result<Vec<PersonEvent>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, actor, kind, reason, changes FROM person_event WHERE personal_id = ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query([id.as_str()])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let changes: String = r.get(5)?;
                let actor: String = r.get(2)?;
                out.push(PersonEvent {
                    seq: r.get(0)?,
                    at: from_ms(r.get(1)?),
                    actor: Actor::from_db(&actor),
                    kind: r.get(3)?,
                    reason: r.get(4)?,
                    changes: expand_changes(&changes)?,
                });
            }
            Ok(out)
        })
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(&q.within) else {
            return Ok(Vec::new());
        };
        let prefix = fold(&q.name_prefix);
        let upper = format!("{prefix}\u{10FFFF}");
        let birth_date = q.birth_date.map(eid_domain::iso);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM person \
                 WHERE name_folded >= ?1 AND name_folded < ?2 \
                 AND (?3 IS NULL OR birth_year = ?3) AND (?4 IS NULL OR birth_date = ?4) \
                 AND res_path >= ?5 AND res_path < ?6 \
                 ORDER BY name_folded, personal_id LIMIT ?7"
            ))?;
            let mut rows = stmt.query(params![
                prefix,
                upper,
                q.birth_year,
                birth_date,
                lo,
                hi,
                q.limit
            ])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(stored_person(r)?);
            }
            Ok(out)
        })
    }

    fn household(
        &self,
        household_id: &str,
        within: &UnitCode,
    ) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(within) else {
            return Ok(Vec::new());
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM person \
                 WHERE household_id = ?1 AND res_path >= ?2 AND res_path < ?3 \
                 ORDER BY birth_date, personal_id LIMIT 100"
            ))?;
            let mut rows = stmt.query(params![household_id, lo, hi])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(stored_person(r)?);
            }
            Ok(out)
        })
    }

    fn writer(
        &self,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Box<dyn PersonWriter + '_>, StoreError> {
        let conn = lock(&self.writer);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        // Loading into an empty register: building the secondary indexes once at the end (a
        // sort) is several times faster than maintaining them row by row.
        let empty: bool =
            conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM person)", [], |r| r.get(0))?;
        let mut deferred_indexes = Vec::new();
        if empty {
            let mut stmt = conn.prepare(DEFERRABLE_INDEXES)?;
            let indexes: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            for (name, sql) in indexes {
                conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
                deferred_indexes.push(sql);
            }
        }
        Ok(Box::new(SqliteWriter {
            conn,
            deferred_indexes,
            bulk_written: std::collections::HashSet::new(),
            actor: actor.to_db(),
            reason: reason.to_owned(),
            now_ms: to_ms(now),
            counts: BatchCounts::default(),
            open: true,
        }))
    }

    fn for_each_person(
        &self,
        unit: &UnitCode,
        f: &mut dyn FnMut(&Person) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(0);
        };
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PERSON_COLUMNS} FROM person WHERE res_path >= ?1 AND res_path < ?2 ORDER BY personal_id"
            ))?;
            let mut rows = stmt.query([lo, hi])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                f(&stored_person(r)?.person)?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn population_by_commune(
        &self,
        unit: &UnitCode,
    ) -> Result<Vec<(UnitCode, Population)>, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(Vec::new());
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT residence_unit, count(*), sum(life_status = 'alive') FROM person \
                 WHERE res_path >= ?1 AND res_path < ?2 \
                   AND personal_id NOT IN (SELECT personal_id FROM person_merged) \
                 GROUP BY residence_unit ORDER BY residence_unit",
            )?;
            let mut rows = stmt.query([lo, hi])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let code: String = r.get(0)?;
                let unit =
                    UnitCode::parse(&code).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let total: i64 = r.get(1)?;
                let alive: i64 = r.get(2)?;
                out.push((
                    unit,
                    Population {
                        total: total.unsigned_abs(),
                        alive: alive.unsigned_abs(),
                    },
                ));
            }
            Ok(out)
        })
    }

    fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let line = audit::Line::new(actor, action, target, outcome, request_id, now);
        self.audit.push(line);
        Ok(())
    }

    fn audit_is_grouped(&self) -> bool {
        true
    }

    fn audit_synced(&self, request_id: &str, done: audit::Done) {
        self.audit.when_durable(request_id, done);
    }

    /// Waits for the queue to be committed, then reads the trail's own file with the shared
    /// query.
    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit.sync()?;
        let conn = lock(&self.audit_conn);
        audit::query(&mut SqliteTx { conn: &conn }, q)
    }
}

// ----------------------------------------------------------------------------------------------
// The shared SQL interface (src/sql.rs)

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Val::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// A connection inside a transaction (or a reader), seen through [`Tx`].
struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(&to_sqlite_placeholders(sql))?;
        let n = stmt.execute(rusqlite::params_from_iter(args.iter()))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, args: &[Val]) -> Result<Vec<SqlRow>, StoreError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.conn.prepare_cached(&to_sqlite_placeholders(sql))?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut r = Vec::with_capacity(width);
            for i in 0..width {
                r.push(match row.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(n) => Val::Int(n),
                    ValueRef::Real(f) => Val::Real(f),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Val::Blob(b.to_vec()),
                });
            }
            out.push(r);
        }
        Ok(out)
    }

    fn engine(&self) -> &'static str {
        "sqlite"
    }
}

impl Db for SqliteStore {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            // IMMEDIATE: take the write lock up front (waiting under the busy handler, `wait_for_lock`). A deferred
            // transaction that read first could find its snapshot stale after a checkpoint
            // reset the WAL, and SQLite answers that with an immediate SQLITE_BUSY.
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            body(&mut SqliteTx { conn: &tx })?;
            tx.commit()?;
            Ok(())
        })
    }

    fn read_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            body(&mut SqliteTx { conn: &tx })
        })
    }

    fn autocommit_dyn(
        &self,
        write: bool,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if write {
            self.write(|conn| body(&mut SqliteTx { conn }))
        } else {
            self.read(|conn| body(&mut SqliteTx { conn }))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod build_index_tests {
    use super::*;

    fn settings(conn: &Connection) -> (i64, i64) {
        let get = |pragma: &str| conn.query_row(pragma, [], |r| r.get::<_, i64>(0)).unwrap();
        (get("PRAGMA cache_size"), get("PRAGMA temp_store"))
    }

    /// The deferred indexes are built in the writer's transaction, and the connection is left
    /// with its own cache and temporary storage, whether there was anything to build or not.
    #[test]
    fn indexes_are_built_and_the_connection_keeps_its_settings() {
        let dir = std::env::temp_dir().join(format!(
            "eid-build-index-test-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let conn = connect(&dir.join("t.db")).unwrap();
        let own = settings(&conn);
        assert_eq!(own, (-CACHE_KIB, 2), "2 is MEMORY");
        conn.execute_batch(
            "CREATE TABLE t (a TEXT, b INTEGER);
             WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 1000)
             INSERT INTO t SELECT 'x' || v, v FROM n;",
        )
        .unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        build_indexes(&mut SqliteTx { conn: &conn }, &[]).unwrap();
        assert_eq!(settings(&conn), own);
        build_indexes(
            &mut SqliteTx { conn: &conn },
            &["CREATE INDEX t_a ON t (a)".to_owned()],
        )
        .unwrap();
        assert_eq!(settings(&conn), own);
        conn.execute_batch("COMMIT").unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 't_a'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
