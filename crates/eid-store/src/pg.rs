//! The PostgreSQL engine of the storage API (PostgreSQL 15 and later).
//!
//! Synchronous, on the `postgres` crate, with a small connection pool of its own: callers are
//! blocking threads (tokio's `spawn_blocking` or plain threads), never async tasks. The pool
//! size comes from the URL (`postgres://user@host:5432/eid?pool=16`, default 8); connections are
//! opened when first needed and kept.
//!
//! Bulk writes go through [`PgWriter`]: rows are buffered, each batch's current rows fetched in
//! one query, and new rows, changed rows and events written with `COPY`.
//!
//! Error messages carry the server's message and SQLSTATE, never its `DETAIL`, which may quote
//! row values (personal data).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use eid_domain::{Person, PersonalId, UnitCode};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, CopyInWriter, NoTls, Row};
use time::OffsetDateTime;

use crate::csvfmt;
use crate::sql::{Db, SqlRow, Tx, Val};
use crate::store::{
    self, from_ms, path_range, person_from_fields, phone_national, to_ms, unit_path, Actor,
    BatchCounts, PersonEvent, PersonWriter, Population, Rule, SearchQuery, Store, StoreError,
    StoredPerson,
};

/// The numbered migrations, applied in order. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_accounts.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_operations.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_schema_parity.sql"),
    ),
];

/// Connections in the pool unless the URL says `?pool=N`.
const DEFAULT_POOL: usize = 8;
/// How long a caller waits for a free connection before giving up.
const POOL_WAIT: Duration = Duration::from_secs(60);
/// Persons a writer buffers before it writes them.
const BATCH: usize = 5_000;
/// Rows fetched at a time when streaming persons out.
const STREAM_CHUNK: i32 = 2_000;
/// Key of the advisory lock that serialises migrations.
const MIGRATE_LOCK: i64 = 0x0065_6964_5f6d_6967; // "eid_mig"

/// The 18 CSV columns, in [`csvfmt::COLUMNS`] order, as stored in `person`.
const PERSON_COLS: &str =
    "personal_id, surname, middle_name, given_name, birth_date, sex, hometown_unit, \
     residence_unit, residence_address, temp_unit, temp_address, household_id, phone, phone_type, \
     life_status, life_status_date, card_issued, card_revoked";

/// Every column of `person`, in the order the writer's `COPY` sends them.
const PERSON_ALL_COLS: &str = "personal_id, surname, middle_name, given_name, name_folded, birth_date, \
     birth_year, sex, hometown_unit, residence_unit, res_path, residence_address, temp_unit, temp_address, \
     household_id, phone, phone_type, life_status, life_status_date, card_issued, card_revoked, digest, \
     version, updated_at";

// ----------------------------------------------------------------------------------------------
// Errors and conversions

/// A database error as a [`StoreError`], without the server's `DETAIL` (it may quote values).
/// Integrity errors become [`StoreError::Violated`], as SQLite's do.
pub(crate) fn db(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => {
            let msg = format!(
                "{}: {} (SQLSTATE {})",
                d.severity(),
                d.message(),
                d.code().code()
            );
            let rule = match d.code() {
                c if *c == SqlState::UNIQUE_VIOLATION => Some(Rule::Unique),
                c if *c == SqlState::FOREIGN_KEY_VIOLATION => Some(Rule::ForeignKey),
                c if *c == SqlState::CHECK_VIOLATION => Some(Rule::Check),
                c if *c == SqlState::NOT_NULL_VIOLATION => Some(Rule::NotNull),
                _ => None,
            };
            match rule {
                Some(rule) => StoreError::Violated(rule, msg),
                None => StoreError::Db(msg),
            }
        }
        // Not from the server (connection, protocol, conversion): the cause says what.
        None => match std::error::Error::source(&e) {
            Some(cause) => StoreError::Db(format!("{e}: {cause}")),
            None => StoreError::Db(e.to_string()),
        },
    }
}

fn is_code(e: &postgres::Error, code: &SqlState) -> bool {
    e.code() == Some(code)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Quotes an SQL identifier.
fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

// ----------------------------------------------------------------------------------------------
// Connection pool

struct PoolState {
    idle: Vec<Client>,
    /// Connections open, idle or lent.
    open: usize,
}

struct Pool {
    config: postgres::Config,
    schema: Option<String>,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open_client(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(db)?;
        let mut setup = String::from("SET client_min_messages = warning; SET TIME ZONE 'UTC';");
        if let Some(schema) = &self.schema {
            setup.push_str(&format!(" SET search_path TO {};", quote_ident(schema)));
        }
        client.batch_execute(&setup).map_err(db)?;
        Ok(client)
    }

    /// A connection, opened if none is idle and the pool is not full; otherwise waits.
    fn get(&self) -> Result<Conn<'_>, StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                    discard: false,
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.open_client() {
                    Ok(client) => Ok(Conn {
                        pool: self,
                        client: Some(client),
                        discard: false,
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(state, POOL_WAIT)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(StoreError::Db(
                    "no free database connection (pool exhausted)".into(),
                ));
            }
        }
    }

    fn put_back(&self, client: Option<Client>, discard: bool) {
        let mut state = self.lock();
        match client {
            Some(c) if !discard && !c.is_closed() => state.idle.push(c),
            _ => state.open = state.open.saturating_sub(1),
        }
        drop(state);
        self.freed.notify_one();
    }
}

/// A connection lent by the pool; goes back when dropped.
struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    /// Close instead of returning (its session state is unknown).
    discard: bool,
}

impl Conn<'_> {
    fn c(&mut self) -> Result<&mut Client, StoreError> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Db("connection already returned".into()))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.pool.put_back(self.client.take(), self.discard);
    }
}

// ----------------------------------------------------------------------------------------------
// The store

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
}

/// Splits `pool=N` out of the URL's query string.
fn split_pool(url: &str) -> Result<(String, usize), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_POOL));
    };
    let mut size = DEFAULT_POOL;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool", n)) => {
                size = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        StoreError::Db("database URL: pool must be a number from 1 to 1000".into())
                    })?;
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, size))
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?pool=N&…]`). With `schema`,
    /// every connection works in that schema, created if missing (tests use a fresh one each).
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PgStore, StoreError> {
        let (url, max) = split_pool(url)?;
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Db(format!("bad PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("eid");
        }
        let store = PgStore {
            pool: Pool {
                config,
                schema: schema.map(str::to_owned),
                max,
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            },
        };
        let mut conn = store.pool.get()?;
        if let Some(schema) = schema {
            conn.c()?
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(schema)
                ))
                .map_err(db)?;
        }
        drop(conn);
        Ok(store)
    }

    fn conn(&self) -> Result<Conn<'_>, StoreError> {
        self.pool.get()
    }
}

// ----------------------------------------------------------------------------------------------
// Rows to domain types

/// The 18 CSV fields of a person from `PERSON_COLS` at `base`, exactly as [`csvfmt::fields`]
/// gives them (the phone back in national form).
fn row_fields(row: &Row, base: usize) -> Result<[String; 18], StoreError> {
    let mut out: [String; 18] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        match i {
            12 => {
                if let Some(p) = row.try_get::<_, Option<&str>>(base + i).map_err(db)? {
                    *slot = phone_national(p);
                }
            }
            17 => {
                *slot = match row.try_get::<_, Option<bool>>(base + i).map_err(db)? {
                    Some(true) => "1".into(),
                    Some(false) => "0".into(),
                    None => String::new(),
                }
            }
            _ => {
                if let Some(s) = row.try_get::<_, Option<&str>>(base + i).map_err(db)? {
                    s.clone_into(slot);
                }
            }
        }
    }
    Ok(out)
}

/// A row of `SELECT PERSON_COLS, version, updated_at`.
fn stored_person(row: &Row) -> Result<StoredPerson, StoreError> {
    let person = person_from_fields(&row_fields(row, 0)?)?;
    Ok(StoredPerson {
        person,
        version: row.try_get(18).map_err(db)?,
        updated_at: from_ms(row.try_get(19).map_err(db)?),
    })
}

// ----------------------------------------------------------------------------------------------
// COPY text format

/// Appends `s` escaped for `COPY … FROM STDIN` text format.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A nullable text column: the empty string is NULL.
fn copy_opt(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.extend_from_slice(b"\\N");
    } else {
        copy_text(out, s);
    }
}

fn copy_int(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, "{n}");
}

/// A bytea column in hex form (`\x…`, its backslash escaped for COPY).
fn copy_bytea(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\\\x");
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

// ----------------------------------------------------------------------------------------------
// The writer

/// A person ready to write: its CSV fields and the derived columns.
struct Pending {
    fields: [String; 18],
    folded: String,
    birth_year: i32,
    res_path: i64,
    phone: Option<String>,
    digest: Vec<u8>,
}

/// A row to write: the person's final state in this batch.
struct OutRow {
    p: Pending,
    version: i64,
    /// The version the row has in the database now; 0 when it is new.
    base_version: i64,
    /// The `created` event whose changes are this row's fields, until the row is replaced.
    created_event: Option<usize>,
}

/// The `changes` of an event.
enum Changes {
    /// Every field of the row at this index of the rows to write, written straight to COPY.
    Created(usize),
    Json(serde_json::Value),
}

struct Event {
    personal_id: String,
    kind: &'static str,
    changes: Changes,
}

/// The current state of a person while a batch is classified.
enum Current {
    /// As stored: a row of the lookup query.
    Db(usize),
    /// As written earlier in this batch: an index in the rows to write.
    Out(usize),
}

/// A write transaction on one pooled connection. See [`PersonWriter`].
pub struct PgWriter<'a> {
    conn: Conn<'a>,
    actor: String,
    reason: String,
    now_ms: i64,
    buf: Vec<Pending>,
    counts: BatchCounts,
    stage_created: bool,
    paths: HashMap<UnitCode, i64>,
    /// Secondary indexes dropped for a bulk load into an empty register, rebuilt at commit.
    deferred_indexes: Vec<String>,
    /// COMMIT or ROLLBACK was sent.
    done: bool,
}

impl<'a> PgWriter<'a> {
    fn new(
        mut conn: Conn<'a>,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<PgWriter<'a>, StoreError> {
        let c = conn.c()?;
        // Loading into an empty register: building the secondary indexes once at the end is
        // several times faster than maintaining them row by row. The primary keys stay.
        // The first look is outside any transaction, so it holds no lock afterwards. If the
        // table looks empty, writers queue on a table lock taken before anything is read, and
        // the one that gets it looks again: two writers that both saw an empty table would
        // otherwise each hold a read lock the other's DROP INDEX waits for (a deadlock).
        let looks_empty = |c: &mut Client| -> Result<bool, StoreError> {
            Ok(c.query_one("SELECT NOT EXISTS (SELECT 1 FROM person)", &[])
                .map_err(db)?
                .get(0))
        };
        let mut empty = looks_empty(c)?;
        c.batch_execute("BEGIN").map_err(db)?;
        if empty {
            c.batch_execute("LOCK TABLE person IN SHARE ROW EXCLUSIVE MODE")
                .map_err(db)?;
            empty = looks_empty(c)?;
        }
        let mut deferred_indexes = Vec::new();
        if empty {
            let rows = c
                .query(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i \
                     JOIN pg_class k ON k.relname = i.indexname \
                     JOIN pg_index x ON x.indexrelid = k.oid AND NOT x.indisprimary AND NOT x.indisunique \
                     WHERE i.schemaname = current_schema() AND i.tablename IN ('person', 'person_event') \
                     AND k.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                     ORDER BY i.indexname",
                    &[],
                )
                .map_err(db)?;
            for row in rows {
                let (name, def): (String, String) = (row.get(0), row.get(1));
                c.batch_execute(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                    .map_err(db)?;
                deferred_indexes.push(def);
            }
        }
        Ok(PgWriter {
            deferred_indexes,
            conn,
            actor: actor.to_db(),
            reason: reason.to_owned(),
            now_ms: to_ms(now),
            buf: Vec::with_capacity(BATCH),
            counts: BatchCounts::default(),
            stage_created: false,
            paths: HashMap::new(),
            done: false,
        })
    }

    fn pending(&mut self, person: &Person) -> Result<Pending, StoreError> {
        let unit = person.residence.unit;
        let res_path = match self.paths.get(&unit) {
            Some(&k) => k,
            None => {
                let k = unit_path(&unit).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "residence unit {} is not a commune of the 2024 tree",
                        unit.as_str()
                    ))
                })?;
                self.paths.insert(unit, k);
                k
            }
        };
        let fields = csvfmt::fields(person);
        let digest = store::digest(&fields);
        Ok(Pending {
            folded: person.name.folded(),
            birth_year: person.birth.year(),
            res_path,
            phone: person.phone.as_ref().map(|p| p.as_str().to_owned()),
            digest,
            fields,
        })
    }

    /// Writes the buffered persons.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH));
        let (out, events) = self.classify(batch)?;
        self.write_rows(&out)?;
        self.write_events(&events, &out)
    }

    /// Compares the batch with the stored rows: which persons are new, changed or the same.
    fn classify(&mut self, batch: Vec<Pending>) -> Result<(Vec<OutRow>, Vec<Event>), StoreError> {
        let ids: Vec<&str> = batch.iter().map(|p| p.fields[0].as_str()).collect();
        let rows = self
            .conn
            .c()?
            .query(
                &format!(
                    "SELECT digest, version, {PERSON_COLS} FROM person WHERE personal_id = ANY($1)"
                ),
                &[&ids],
            )
            .map_err(db)?;
        drop(ids);
        let mut current: HashMap<String, Current> = HashMap::with_capacity(batch.len());
        for (i, row) in rows.iter().enumerate() {
            current.insert(row.try_get(2).map_err(db)?, Current::Db(i));
        }
        let lost = || StoreError::Db("writer lost track of a row".into());

        let mut out: Vec<OutRow> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        for p in batch {
            let id = p.fields[0].clone();
            let (old_fields, old_version, out_index, base_version) = match current.get(&id) {
                None => {
                    events.push(Event {
                        personal_id: id.clone(),
                        kind: "created",
                        changes: Changes::Created(out.len()),
                    });
                    current.insert(id, Current::Out(out.len()));
                    out.push(OutRow {
                        p,
                        version: 1,
                        base_version: 0,
                        created_event: Some(events.len() - 1),
                    });
                    self.counts.imported += 1;
                    continue;
                }
                Some(Current::Db(i)) => {
                    let row = rows.get(*i).ok_or_else(lost)?;
                    let digest: &[u8] = row.try_get(0).map_err(db)?;
                    if digest == p.digest.as_slice() {
                        self.counts.unchanged += 1;
                        continue;
                    }
                    let version: i64 = row.try_get(1).map_err(db)?;
                    (Cow::Owned(row_fields(row, 2)?), version, None, version)
                }
                Some(Current::Out(i)) => {
                    let o = out.get(*i).ok_or_else(lost)?;
                    if o.p.digest == p.digest {
                        self.counts.unchanged += 1;
                        continue;
                    }
                    (
                        Cow::Borrowed(&o.p.fields),
                        o.version,
                        Some(*i),
                        o.base_version,
                    )
                }
            };
            let Some(changes) = store::updated_changes(&old_fields, &p.fields) else {
                self.counts.unchanged += 1;
                continue;
            };
            drop(old_fields);
            events.push(Event {
                personal_id: id.clone(),
                kind: "updated",
                changes: Changes::Json(changes),
            });
            self.counts.updated += 1;
            let row = OutRow {
                p,
                version: old_version + 1,
                base_version,
                created_event: None,
            };
            match out_index {
                Some(i) => {
                    // Created earlier in this batch: its `created` event keeps the first fields.
                    let slot = out.get_mut(i).ok_or_else(lost)?;
                    if let Some(e) = slot.created_event {
                        events.get_mut(e).ok_or_else(lost)?.changes =
                            Changes::Json(store::created_changes(&slot.p.fields));
                    }
                    *slot = row;
                }
                None => {
                    current.insert(id, Current::Out(out.len()));
                    out.push(row);
                }
            }
        }
        Ok((out, events))
    }

    /// New rows go straight into `person` with COPY (a row someone else created meanwhile is a
    /// conflict); changed rows go through a staging table and one UPDATE that checks the
    /// version each was read at (optimistic locking).
    fn write_rows(&mut self, out: &[OutRow]) -> Result<(), StoreError> {
        let now_ms = self.now_ms;
        if out.iter().any(|r| r.base_version == 0) {
            let mut copy = CopyStream::new(
                self.conn.c()?,
                &format!("COPY person ({PERSON_ALL_COLS}) FROM STDIN"),
            )
            .map_err(db)?;
            for r in out.iter().filter(|r| r.base_version == 0) {
                encode_row(copy.buf(), r, now_ms, false);
                copy.row_done();
            }
            copy.finish().map_err(|e| {
                if is_code(&e, &SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict("a person was created by another writer at the same time")
                } else {
                    db(e)
                }
            })?;
        }
        let changed = out.iter().filter(|r| r.base_version > 0).count();
        if changed == 0 {
            return Ok(());
        }
        let client = self.conn.c()?;
        if self.stage_created {
            client
                .batch_execute("TRUNCATE eid_person_stage")
                .map_err(db)?;
        } else {
            client
                .batch_execute("CREATE TEMP TABLE eid_person_stage (LIKE person, base_version bigint) ON COMMIT DROP")
                .map_err(db)?;
            self.stage_created = true;
        }
        let mut copy = CopyStream::new(
            client,
            &format!("COPY eid_person_stage ({PERSON_ALL_COLS}, base_version) FROM STDIN"),
        )
        .map_err(db)?;
        for r in out.iter().filter(|r| r.base_version > 0) {
            encode_row(copy.buf(), r, now_ms, true);
            copy.row_done();
        }
        copy.finish().map_err(db)?;
        let set = PERSON_ALL_COLS
            .split(", ")
            .filter(|c| *c != "personal_id")
            .map(|c| format!("{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let n = client
            .execute(
                &format!(
                    "UPDATE person SET {set} FROM eid_person_stage s \
                     WHERE person.personal_id = s.personal_id AND person.version = s.base_version"
                ),
                &[],
            )
            .map_err(db)?;
        if usize::try_from(n).ok() != Some(changed) {
            return Err(StoreError::Conflict(
                "a person was changed by another writer at the same time",
            ));
        }
        Ok(())
    }

    fn write_events(&mut self, events: &[Event], out: &[OutRow]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // The columns all events of the writer share: at, actor (after kind: reason).
        let mut head = Vec::new();
        head.push(b'\t');
        copy_int(&mut head, self.now_ms);
        head.push(b'\t');
        copy_text(&mut head, &self.actor);
        head.push(b'\t');
        let mut tail = Vec::new();
        tail.push(b'\t');
        copy_text(&mut tail, &self.reason);
        tail.push(b'\t');
        let mut copy = CopyStream::new(
            self.conn.c()?,
            "COPY person_event (personal_id, at, actor, kind, reason, changes) FROM STDIN",
        )
        .map_err(db)?;
        for e in events {
            let buf = copy.buf();
            copy_text(buf, &e.personal_id);
            buf.extend_from_slice(&head);
            buf.extend_from_slice(e.kind.as_bytes());
            buf.extend_from_slice(&tail);
            match &e.changes {
                Changes::Created(i) => match out.get(*i) {
                    Some(r) => created_json(buf, &r.p.fields),
                    None => return Err(StoreError::Db("writer lost track of a row".into())),
                },
                Changes::Json(v) => copy_text(buf, &v.to_string()),
            }
            buf.push(b'\n');
            copy.row_done();
        }
        copy.finish().map_err(db)?;
        Ok(())
    }
}

/// Bytes sent to the server at a time while a COPY is encoded, so that the server works on one
/// chunk while the next is encoded.
const COPY_CHUNK: usize = 64 * 1024;

/// A `COPY … FROM STDIN` fed in chunks.
struct CopyStream<'c> {
    w: CopyInWriter<'c>,
    buf: Vec<u8>,
    /// A write failed: the server refused the data; `finish` reports why.
    failed: bool,
}

impl<'c> CopyStream<'c> {
    fn new(client: &'c mut Client, sql: &str) -> Result<CopyStream<'c>, postgres::Error> {
        Ok(CopyStream {
            w: client.copy_in(sql)?,
            buf: Vec::with_capacity(COPY_CHUNK + 4096),
            failed: false,
        })
    }

    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Call after each whole row.
    fn row_done(&mut self) {
        if self.buf.len() >= COPY_CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        if !self.failed && self.w.write_all(&self.buf).is_err() {
            self.failed = true;
        }
        self.buf.clear();
    }

    fn finish(mut self) -> Result<u64, postgres::Error> {
        self.send();
        self.w.finish()
    }
}

/// One row of `PERSON_ALL_COLS` (then `base_version` if asked) in COPY text format.
fn encode_row(buf: &mut Vec<u8>, r: &OutRow, now_ms: i64, with_base: bool) {
    let f = &r.p.fields;
    let text = |buf: &mut Vec<u8>, i: usize| {
        copy_text(buf, f.get(i).map(String::as_str).unwrap_or(""));
        buf.push(b'\t');
    };
    let opt = |buf: &mut Vec<u8>, i: usize| {
        copy_opt(buf, f.get(i).map(String::as_str).unwrap_or(""));
        buf.push(b'\t');
    };
    text(buf, 0); // personal_id
    text(buf, 1); // surname
    text(buf, 2); // middle_name
    text(buf, 3); // given_name
    copy_text(buf, &r.p.folded);
    buf.push(b'\t');
    text(buf, 4); // birth_date
    copy_int(buf, i64::from(r.p.birth_year));
    buf.push(b'\t');
    text(buf, 5); // sex
    opt(buf, 6); // hometown_unit
    text(buf, 7); // residence_unit
    copy_int(buf, r.p.res_path);
    buf.push(b'\t');
    text(buf, 8); // residence_address
    opt(buf, 9); // temp_unit
    opt(buf, 10); // temp_address
    opt(buf, 11); // household_id
    copy_opt(buf, r.p.phone.as_deref().unwrap_or("")); // phone, E.164
    buf.push(b'\t');
    text(buf, 13); // phone_type
    text(buf, 14); // life_status
    opt(buf, 15); // life_status_date
    opt(buf, 16); // card_issued
    buf.extend_from_slice(match f[17].as_str() {
        "1" => b"t",
        "0" => b"f",
        _ => b"\\N",
    });
    buf.push(b'\t');
    copy_bytea(buf, &r.p.digest);
    buf.push(b'\t');
    copy_int(buf, r.version);
    buf.push(b'\t');
    copy_int(buf, now_ms);
    if with_base {
        buf.push(b'\t');
        copy_int(buf, r.base_version);
    }
    buf.push(b'\n');
}

/// The `changes` of a `created` event, the same JSON as [`store::created_changes`], written
/// straight into COPY text format.
fn created_json(buf: &mut Vec<u8>, fields: &[String; 18]) {
    buf.push(b'{');
    for (i, (column, value)) in csvfmt::COLUMNS.iter().zip(fields).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        buf.extend_from_slice(column.as_bytes());
        buf.extend_from_slice(b"\":");
        if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            // Nothing to escape, for JSON or for COPY.
            buf.push(b'"');
            buf.extend_from_slice(value.as_bytes());
            buf.push(b'"');
        } else {
            copy_text(buf, &serde_json::Value::String(value.clone()).to_string());
        }
    }
    buf.push(b'}');
}

impl PersonWriter for PgWriter<'_> {
    fn put(&mut self, person: &Person) -> Result<(), StoreError> {
        let p = self.pending(person)?;
        self.buf.push(p);
        if self.buf.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<BatchCounts, StoreError> {
        self.flush()?;
        for def in std::mem::take(&mut self.deferred_indexes) {
            self.conn.c()?.batch_execute(&def).map_err(db)?;
        }
        self.done = true;
        if let Err(e) = self.conn.c()?.batch_execute("COMMIT") {
            self.conn.discard = true;
            return Err(db(e));
        }
        Ok(self.counts)
    }
}

impl Drop for PgWriter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let rolled_back = match self.conn.client.as_mut() {
            Some(c) => c.batch_execute("ROLLBACK").is_ok(),
            None => false,
        };
        if !rolled_back {
            self.conn.discard = true;
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The Store implementation

impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn db(&self) -> &dyn Db {
        self
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.c()?.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
        )
        .map_err(db)?;
        let applied: Vec<i32> = tx
            .query("SELECT version FROM schema_migrations", &[])
            .map_err(db)?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            tx.batch_execute(sql).map_err(db)?;
            // The database's own clock, as on SQLite: when a migration ran is not business time.
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) \
                 VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                &[version],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.c()?.batch_execute("SELECT 1").map_err(db)
    }

    fn person(&self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError> {
        let mut conn = self.conn()?;
        let row = conn
            .c()?
            .query_opt(
                &format!(
                    "SELECT {PERSON_COLS}, version, updated_at FROM person WHERE personal_id = $1"
                ),
                &[&id.as_str()],
            )
            .map_err(db)?;
        row.as_ref().map(stored_person).transpose()
    }

    fn history(&self, id: &PersonalId) -> Result<Vec<PersonEvent>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn
            .c()?
            .query(
                "SELECT seq, at, actor, kind, reason, changes::text FROM person_event \
                 WHERE personal_id = $1 ORDER BY seq",
                &[&id.as_str()],
            )
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let changes: &str = r.try_get(5).map_err(db)?;
                Ok(PersonEvent {
                    seq: r.try_get(0).map_err(db)?,
                    at: from_ms(r.try_get(1).map_err(db)?),
                    actor: Actor::from_db(r.try_get(2).map_err(db)?),
                    kind: r.try_get(3).map_err(db)?,
                    reason: r.try_get(4).map_err(db)?,
                    changes: serde_json::from_str(changes)
                        .map_err(|_| corrupt("event changes are not JSON"))?,
                })
            })
            .collect()
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(&q.within) else {
            return Ok(Vec::new());
        };
        // Folding twice changes nothing; it makes the store agree with SQLite on unfolded input.
        let prefix = eid_domain::fold(&q.name_prefix);
        let mut pattern = String::with_capacity(prefix.len() + 1);
        for c in prefix.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        let limit = i64::from(q.limit);
        let birth_date = q.birth_date.map(eid_domain::iso);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&pattern, &lo, &hi, &limit];
        let mut sql = format!(
            "SELECT {PERSON_COLS}, version, updated_at FROM person \
             WHERE name_folded LIKE $1 AND res_path >= $2 AND res_path < $3"
        );
        if let Some(year) = &q.birth_year {
            params.push(year);
            sql.push_str(&format!(" AND birth_year = ${}", params.len()));
        }
        if let Some(date) = &birth_date {
            params.push(date);
            sql.push_str(&format!(" AND birth_date = ${}", params.len()));
        }
        sql.push_str(" ORDER BY name_folded, personal_id LIMIT $4");
        let mut conn = self.conn()?;
        let rows = conn.c()?.query(&sql, &params).map_err(db)?;
        rows.iter().map(stored_person).collect()
    }

    fn household(
        &self,
        household_id: &str,
        within: &UnitCode,
    ) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(within) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {PERSON_COLS}, version, updated_at FROM person \
             WHERE household_id = $1 AND res_path >= $2 AND res_path < $3 \
             ORDER BY birth_date, personal_id LIMIT 100"
        );
        let mut conn = self.conn()?;
        let rows = conn
            .c()?
            .query(&sql, &[&household_id, &lo, &hi])
            .map_err(db)?;
        rows.iter().map(stored_person).collect()
    }

    fn writer(
        &self,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Box<dyn PersonWriter + '_>, StoreError> {
        Ok(Box::new(PgWriter::new(self.conn()?, actor, reason, now)?))
    }

    fn for_each_person(
        &self,
        unit: &UnitCode,
        f: &mut dyn FnMut(&Person) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(0);
        };
        let mut conn = self.conn()?;
        let mut tx = conn
            .c()?
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(db)?;
        let portal = tx
            .bind(
                &format!(
                    "SELECT {PERSON_COLS} FROM person WHERE res_path >= $1 AND res_path < $2 ORDER BY personal_id"
                ),
                &[&lo, &hi],
            )
            .map_err(db)?;
        let mut n = 0u64;
        loop {
            let rows = tx.query_portal(&portal, STREAM_CHUNK).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                f(&person_from_fields(&row_fields(row, 0)?)?)?;
                n += 1;
            }
            if rows.len() < usize::try_from(STREAM_CHUNK).unwrap_or(usize::MAX) {
                break;
            }
        }
        drop(portal);
        tx.commit().map_err(db)?;
        Ok(n)
    }

    fn population_by_commune(
        &self,
        unit: &UnitCode,
    ) -> Result<Vec<(UnitCode, Population)>, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(Vec::new());
        };
        let mut conn = self.conn()?;
        let rows = conn
            .c()?
            .query(
                "SELECT residence_unit, count(*), count(*) FILTER (WHERE life_status = 'alive') FROM person \
                 WHERE res_path >= $1 AND res_path < $2 GROUP BY residence_unit ORDER BY residence_unit",
                &[&lo, &hi],
            )
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let code: &str = r.try_get(0).map_err(db)?;
                let total: i64 = r.try_get(1).map_err(db)?;
                let alive: i64 = r.try_get(2).map_err(db)?;
                Ok((
                    UnitCode::parse(code)
                        .map_err(|_| corrupt("person has a bad residence unit"))?,
                    Population {
                        total: u64::try_from(total).unwrap_or(0),
                        alive: u64::try_from(alive).unwrap_or(0),
                    },
                ))
            })
            .collect()
    }
}

// ----------------------------------------------------------------------------------------------
// The shared SQL interface (src/sql.rs)

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(n) => match *ty {
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                _ => n.to_sql(ty, out),
            },
            Val::Real(f) => f.to_sql(ty, out),
            Val::Text(s) => s.as_str().to_sql(ty, out),
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_row(row: &Row) -> Result<SqlRow, StoreError> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(db)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(db)?
                .map(|n| Val::Int(i64::from(n))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(db)?
                .map(|n| Val::Int(i64::from(n))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(db)?
                .map(|b| Val::Int(i64::from(b))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(db)?.map(Val::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(db)?
                .map(|f| Val::Real(f64::from(f))),
            Type::NUMERIC => {
                return Err(StoreError::Corrupt(
                    "numeric columns are not read through the shared interface; cast to bigint"
                        .into(),
                ))
            }
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(db)?
                .map(Val::Blob),
            _ => row
                .try_get::<_, Option<String>>(i)
                .map_err(db)?
                .map(Val::Text),
        };
        out.push(v.unwrap_or(Val::Null));
    }
    Ok(out)
}

/// A connection inside a transaction, or on its own (each statement its own transaction).
enum PgTx<'a, 'c> {
    Tx(&'a mut postgres::Transaction<'c>),
    Auto(&'a mut Client),
}

fn pg_args(args: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64, StoreError> {
        match self {
            PgTx::Tx(tx) => tx.execute(sql, &pg_args(args)),
            PgTx::Auto(c) => c.execute(sql, &pg_args(args)),
        }
        .map_err(db)
    }

    fn query(&mut self, sql: &str, args: &[Val]) -> Result<Vec<SqlRow>, StoreError> {
        let rows = match self {
            PgTx::Tx(tx) => tx.query(sql, &pg_args(args)),
            PgTx::Auto(c) => c.query(sql, &pg_args(args)),
        }
        .map_err(db)?;
        rows.iter().map(pg_row).collect()
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }
}

impl Db for PgStore {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.c()?.transaction().map_err(db)?;
        body(&mut PgTx::Tx(&mut tx))?;
        tx.commit().map_err(db)
    }

    fn read_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .c()?
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(db)?;
        body(&mut PgTx::Tx(&mut tx))?;
        tx.commit().map_err(db)
    }

    /// One pool, so `write` changes nothing here.
    fn autocommit_dyn(
        &self,
        _write: bool,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        body(&mut PgTx::Auto(conn.c()?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    //! Quick checks of the engine against a real server. They run only when
    //! `EID_TEST_DATABASE_URL` names one (`postgres://postgres@127.0.0.1:54329/postgres`); each
    //! test works in a fresh schema, dropped at its end. The shared conformance suite is
    //! `tests/store.rs`.

    use super::*;
    use crate::store::{ApiToken, NewStaff, Role};
    use time::macros::{date, datetime};
    use time::Date;

    const TODAY: Date = date!(2026 - 01 - 01);
    const NOW: OffsetDateTime = datetime!(2026-01-01 08:00 UTC);

    /// A fresh store in its own schema, or `None` without a test database.
    struct Fresh {
        store: PgStore,
        url: String,
        schema: String,
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if std::thread::panicking() {
                return; // keep the schema to look at
            }
            if let Ok(mut c) = Client::connect(&split_pool(&self.url).unwrap().0, NoTls) {
                let _ = c.batch_execute(&format!(
                    "DROP SCHEMA {} CASCADE",
                    quote_ident(&self.schema)
                ));
            }
        }
    }

    fn fresh(name: &str) -> Option<Fresh> {
        let url = std::env::var("EID_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let salt = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        let schema = format!("eid_pg_{name}_{}_{salt}", std::process::id());
        let store = PgStore::connect(&url, Some(&schema)).unwrap();
        store.migrate().unwrap();
        Some(Fresh { store, url, schema })
    }

    const BASE: [&str; 18] = [
        "038090001234",
        "Lê",
        "Văn",
        "An",
        "1990-05-02",
        "M",
        "38",
        "14755",
        "Thôn 3",
        "",
        "",
        "HH-1",
        "0912345678",
        "smartphone",
        "alive",
        "",
        "2021-06-01",
        "0",
    ];

    fn person(changes: &[(usize, &str)]) -> Person {
        let mut f = BASE;
        for &(i, v) in changes {
            f[i] = v;
        }
        csvfmt::parse_row(&f, TODAY).unwrap()
    }

    fn id(s: &str) -> PersonalId {
        PersonalId::parse(s).unwrap()
    }

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn put_all(store: &PgStore, persons: &[Person]) -> BatchCounts {
        let mut w = store
            .writer(&Actor::Cli("test".into()), "test", NOW)
            .unwrap();
        for p in persons {
            w.put(p).unwrap();
        }
        w.commit().unwrap()
    }

    fn counts(imported: u64, updated: u64, unchanged: u64) -> BatchCounts {
        BatchCounts {
            imported,
            updated,
            unchanged,
        }
    }

    #[test]
    fn url_pool_size_is_split_off() {
        assert_eq!(
            split_pool("postgres://u@h:1/db").unwrap(),
            ("postgres://u@h:1/db".into(), DEFAULT_POOL)
        );
        assert_eq!(
            split_pool("postgres://u@h:1/db?pool=3").unwrap(),
            ("postgres://u@h:1/db".into(), 3)
        );
        assert_eq!(
            split_pool("postgres://u@h/db?sslmode=disable&pool=2").unwrap(),
            ("postgres://u@h/db?sslmode=disable".into(), 2)
        );
        assert!(split_pool("postgres://u@h/db?pool=0").is_err());
    }

    #[test]
    fn connection_errors_say_why() {
        // Nothing listens on port 1.
        let Err(e) = PgStore::connect("postgres://postgres@127.0.0.1:1/x?connect_timeout=5", None)
        else {
            panic!("connected to port 1")
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("database error: error connecting to server: "),
            "{msg}"
        );
    }

    #[test]
    fn copy_text_escapes_specials() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\\b\tc\nd\re");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
        let mut out = Vec::new();
        copy_bytea(&mut out, &[0x00, 0xab]);
        assert_eq!(out, b"\\\\x00ab");
    }

    #[test]
    fn created_json_is_created_changes() {
        let p = person(&[(8, "Số 5 \"Nhà A\" \\ ngõ 2"), (2, "")]);
        let fields = csvfmt::fields(&p);
        let mut out = Vec::new();
        created_json(&mut out, &fields);
        // Undo the COPY escaping: JSON text has no raw tab or newline, so only backslashes.
        let text = String::from_utf8(out).unwrap().replace("\\\\", "\\");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, store::created_changes(&fields));
    }

    #[test]
    fn migrate_twice() {
        let Some(t) = fresh("migrate") else { return };
        t.store.migrate().unwrap();
        t.store.ping().unwrap();
        assert_eq!(t.store.engine(), "postgres");
        let mut c = t.store.conn().unwrap();
        let n: i64 = c
            .c()
            .unwrap()
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn writer_creates_updates_and_skips_unchanged() {
        let Some(t) = fresh("writer") else { return };
        let s = &t.store;
        let a = person(&[]);
        let b = person(&[
            (0, "038090001235"),
            (3, "Bình"),
            (12, ""),
            (13, "none"),
            (16, ""),
            (17, ""),
        ]);
        assert_eq!(put_all(s, &[a.clone(), b.clone()]), counts(2, 0, 0));

        let got = s.person(&a.id).unwrap().unwrap();
        assert_eq!(got.person, a);
        assert_eq!(got.version, 1);
        assert_eq!(got.updated_at, NOW);
        assert_eq!(s.person(&b.id).unwrap().unwrap().person, b);
        assert!(s.person(&id("038090009999")).unwrap().is_none());

        // The same again: nothing changes.
        assert_eq!(put_all(s, &[a.clone(), b.clone()]), counts(0, 0, 2));
        assert_eq!(s.history(&a.id).unwrap().len(), 1);

        // A change: one updated event with [old, new].
        let a2 = person(&[(8, "Thôn 4"), (12, "0987654321")]);
        assert_eq!(put_all(s, &[a2.clone(), b.clone()]), counts(0, 1, 1));
        let got = s.person(&a.id).unwrap().unwrap();
        assert_eq!(got.person, a2);
        assert_eq!(got.version, 2);
        let h = s.history(&a.id).unwrap();
        assert_eq!(h.len(), 2);
        assert!(h[0].seq < h[1].seq);
        assert_eq!(h[0].kind, "created");
        assert_eq!(h[0].changes, store::created_changes(&csvfmt::fields(&a)));
        assert_eq!(h[0].actor, Actor::Cli("test".into()));
        assert_eq!(h[0].reason, "test");
        assert_eq!(h[0].at, NOW);
        assert_eq!(h[1].kind, "updated");
        assert_eq!(
            h[1].changes,
            serde_json::json!({"residence_address": ["Thôn 3", "Thôn 4"], "phone": ["0912345678", "0987654321"]})
        );
        assert_eq!(store::replay(&h), Some(csvfmt::fields(&a2)));

        // Quotes and backslashes survive COPY and JSON.
        let d = person(&[(0, "038090001237"), (8, "Số 5 \"Nhà A\" \\ ngõ 2\\")]);
        assert_eq!(put_all(s, std::slice::from_ref(&d)), counts(1, 0, 0));
        assert_eq!(s.person(&d.id).unwrap().unwrap().person, d);
        assert_eq!(
            s.history(&d.id).unwrap()[0].changes,
            store::created_changes(&csvfmt::fields(&d))
        );

        // The same person twice in one batch, and a new one changed within the batch.
        let a3 = person(&[(8, "Thôn 5")]);
        let c1 = person(&[(0, "038090001236")]);
        let c2 = person(&[(0, "038090001236"), (3, "Cường")]);
        assert_eq!(
            put_all(s, &[a3.clone(), a.clone(), c1, c2.clone()]),
            counts(1, 3, 0)
        );
        let got = s.person(&a.id).unwrap().unwrap();
        assert_eq!((got.person, got.version), (a.clone(), 4));
        let got = s.person(&c2.id).unwrap().unwrap();
        assert_eq!((got.person, got.version), (c2.clone(), 2));
        for p in [&a, &b, &c2] {
            assert_eq!(
                store::replay(&s.history(&p.id).unwrap()),
                Some(csvfmt::fields(p))
            );
        }
    }

    #[test]
    fn a_small_pool_serves_many_threads() {
        let Some(t) = fresh("pool") else { return };
        let url = format!(
            "{}{}pool=2",
            t.url,
            if t.url.contains('?') { '&' } else { '?' }
        );
        let s = PgStore::connect(&url, Some(&t.schema)).unwrap();
        std::thread::scope(|scope| {
            for i in 0..8 {
                let s = &s;
                scope.spawn(move || {
                    for j in 0..10 {
                        s.audit(
                            &Actor::Staff(i),
                            "test.pool",
                            &j.to_string(),
                            "ok",
                            "r",
                            NOW,
                        )
                        .unwrap();
                        s.audit_log(5).unwrap();
                    }
                });
            }
        });
        assert_eq!(s.audit_log(1000).unwrap().len(), 80);
        assert!(s.pool.lock().open <= 2);
    }

    #[test]
    fn dropping_a_writer_rolls_back() {
        let Some(t) = fresh("rollback") else { return };
        let s = &t.store;
        {
            let mut w = s.writer(&Actor::Staff(1), "x", NOW).unwrap();
            w.put(&person(&[])).unwrap();
        }
        assert!(s.person(&id(BASE[0])).unwrap().is_none());
        assert!(s.history(&id(BASE[0])).unwrap().is_empty());
        // The connection went back to the pool in a usable state.
        assert_eq!(put_all(s, &[person(&[])]), counts(1, 0, 0));
    }

    #[test]
    fn search_and_scopes() {
        let Some(t) = fresh("search") else { return };
        let s = &t.store;
        let p1 = person(&[]); // Lê Văn An, 1990-05-02, 14755 (district 380, province 38)
        let p2 = person(&[(0, "038090001235"), (3, "Anh"), (7, "14758")]);
        let p3 = person(&[
            (0, "037085000001"),
            (3, "Bảo"),
            (4, "1985"),
            (7, "14752"),
            (6, ""),
        ]);
        let p4 = person(&[
            (0, "001190000001"),
            (1, "Nguyễn"),
            (2, "Thị"),
            (3, "Hoa"),
            (5, "F"),
            (7, "00001"),
        ]);
        put_all(s, &[p1.clone(), p2.clone(), p3.clone(), p4.clone()]);

        let q = |name: &str, within: &str| SearchQuery {
            name_prefix: name.into(),
            birth_year: None,
            birth_date: None,
            within: unit(within),
            limit: 10,
        };
        let ids = |r: Vec<StoredPerson>| {
            r.into_iter()
                .map(|p| p.person.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(s.search(&q("le van an", "VN")).unwrap()),
            vec!["038090001234", "038090001235"]
        );
        assert_eq!(
            ids(s.search(&q("le van anh", "VN")).unwrap()),
            vec!["038090001235"]
        );
        assert_eq!(
            ids(s.search(&q("le", "38")).unwrap()),
            vec!["038090001234", "038090001235"]
        );
        assert_eq!(
            ids(s.search(&q("le", "380")).unwrap()),
            vec!["038090001234", "038090001235"]
        );
        assert_eq!(
            ids(s.search(&q("le", "14758")).unwrap()),
            vec!["038090001235"]
        );
        assert_eq!(ids(s.search(&q("le", "37")).unwrap()), vec!["037085000001"]);
        assert_eq!(
            ids(s.search(&q("", "01")).unwrap()),
            vec![p4.id.as_str().to_owned()]
        );
        assert!(s.search(&q("le_", "VN")).unwrap().is_empty());
        assert!(s.search(&q("l%", "VN")).unwrap().is_empty());
        assert!(s.search(&q("le\\", "VN")).unwrap().is_empty());
        let mut by_year = q("le", "VN");
        by_year.birth_year = Some(1985);
        assert_eq!(ids(s.search(&by_year).unwrap()), vec!["037085000001"]);
        let mut by_date = q("le", "VN");
        by_date.birth_date = Some(date!(1990 - 05 - 02));
        assert_eq!(
            ids(s.search(&by_date).unwrap()),
            vec!["038090001234", "038090001235"]
        );
        let mut limited = q("", "VN");
        limited.limit = 1;
        assert_eq!(s.search(&limited).unwrap().len(), 1);

        let mut seen = Vec::new();
        let n = s
            .for_each_person(&unit("38"), &mut |p| {
                seen.push(p.id.as_str().to_owned());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            (n, seen),
            (
                2,
                vec!["038090001234".to_owned(), "038090001235".to_owned()]
            )
        );
        let n = s
            .for_each_person(&UnitCode::NATION, &mut |_| Ok(()))
            .unwrap();
        assert_eq!(n, 4);
        let stop = s.for_each_person(&UnitCode::NATION, &mut |_| Err(StoreError::NotFound));
        assert!(matches!(stop, Err(StoreError::NotFound)));

        let dead = Person {
            life: eid_domain::LifeStatus {
                state: eid_domain::LifeState::Dead,
                since: None,
            },
            ..p2
        };
        put_all(s, &[dead]);
        let pop = s.population_by_commune(&unit("38")).unwrap();
        assert_eq!(
            pop,
            vec![
                (unit("14755"), Population { total: 1, alive: 1 }),
                (unit("14758"), Population { total: 1, alive: 0 })
            ]
        );
        assert_eq!(s.population_by_commune(&UnitCode::NATION).unwrap().len(), 4);
    }

    #[test]
    fn staff_sessions_tokens_and_audit() {
        let Some(t) = fresh("staff") else { return };
        let s = &t.store;
        let new = NewStaff {
            username: "thu".into(),
            display_name: "Chị Thu".into(),
            role: Role::Commune,
            unit: unit("14755"),
            password_hash: "h1".into(),
        };
        let sid = s.create_staff(&new, NOW).unwrap();
        assert!(matches!(
            s.create_staff(&new, NOW),
            Err(StoreError::Conflict("username already exists"))
        ));
        let (staff, hash) = s.staff_by_username("thu").unwrap().unwrap();
        assert_eq!(
            (
                staff.id,
                staff.role,
                staff.unit,
                staff.disabled,
                hash.as_str()
            ),
            (sid, Role::Commune, unit("14755"), false, "h1")
        );
        assert_eq!(s.staff_by_id(sid).unwrap(), Some(staff.clone()));
        assert_eq!(s.list_staff().unwrap(), vec![staff.clone()]);
        s.set_password(sid, "h2").unwrap();
        assert_eq!(s.staff_by_username("thu").unwrap().unwrap().1, "h2");
        assert!(matches!(
            s.set_password(sid + 100, "x"),
            Err(StoreError::NotFound)
        ));

        let later = NOW + time::Duration::hours(1);
        s.create_session(b"cookie", sid, "csrf", NOW, later)
            .unwrap();
        let sess = s.session(b"cookie", NOW).unwrap().unwrap();
        assert_eq!(
            (sess.staff.id, sess.csrf.as_str(), sess.expires_at),
            (sid, "csrf", later)
        );
        assert!(s.session(b"cookie", later).unwrap().is_none());
        assert!(s.session(b"other", NOW).unwrap().is_none());
        s.delete_session(b"cookie").unwrap();
        assert!(s.session(b"cookie", NOW).unwrap().is_none());

        let tid = s.create_api_token(sid, "sync", b"tokenhash", NOW).unwrap();
        assert_eq!(
            s.api_token(b"tokenhash")
                .unwrap()
                .map(|(id, st)| (id, st.id)),
            Some((tid, sid))
        );
        s.revoke_api_token(tid, later).unwrap();
        assert!(s.api_token(b"tokenhash").unwrap().is_none());
        assert!(matches!(
            s.revoke_api_token(tid + 100, later),
            Err(StoreError::NotFound)
        ));
        let list = s.list_api_tokens().unwrap();
        assert_eq!(
            list,
            vec![ApiToken {
                id: tid,
                staff_id: sid,
                name: "sync".into(),
                created_at: NOW,
                revoked_at: Some(later)
            }]
        );

        s.audit(&Actor::Staff(sid), "auth.login", "thu", "ok", "r1", NOW)
            .unwrap();
        s.audit(
            &Actor::Token(tid),
            "person.read",
            BASE[0],
            "denied",
            "r2",
            later,
        )
        .unwrap();
        let log = s.audit_log(10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].action.as_str(), log[0].actor.clone(), log[0].at),
            ("person.read", Actor::Token(tid), later)
        );
        assert_eq!(
            (
                log[1].action.as_str(),
                log[1].outcome.as_str(),
                log[1].request_id.as_str()
            ),
            ("auth.login", "ok", "r1")
        );
        assert_eq!(s.audit_log(1).unwrap().len(), 1);

        // Append-only tables refuse changes.
        put_all(s, &[person(&[])]);
        let mut c = s.conn().unwrap();
        let c = c.c().unwrap();
        for sql in [
            "UPDATE audit SET outcome = 'ok'",
            "DELETE FROM audit",
            "TRUNCATE audit",
            "UPDATE person_event SET reason = 'x'",
            "DELETE FROM person_event",
            "TRUNCATE person_event",
        ] {
            let e = c.batch_execute(sql).unwrap_err();
            let msg = db(e).to_string();
            assert!(msg.contains("append-only"), "{sql}: {msg}");
        }
        assert_eq!(s.audit_log(10).unwrap().len(), 2);
    }
}
