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

mod copy;
mod db;
mod pool;
mod register;
mod replica;

pub use copy::PgWriter;
use pool::{Conn, Kept, Pool};
pub use replica::DEFAULT_MAX_LAG_MS;
use replica::{split_url, Floor, Replicas};

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
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_accounts.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_operations.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_schema_parity.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_attempts.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_import_runs.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_linkage.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_link_decisions.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_citizen_web_session.sql"),
    ),
    (11, include_str!("../../migrations/postgres/0011_oidc.sql")),
    (
        12,
        include_str!("../../migrations/postgres/0012_reported.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_link_proposals.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_oidc_code_grant.sql"),
    ),
    (15, include_str!("../../migrations/postgres/0015_stay.sql")),
    (
        16,
        include_str!("../../migrations/postgres/0016_residence.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_wallet.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_transparency.sql"),
    ),
    (19, include_str!("../../migrations/postgres/0019_peaks.sql")),
    (
        21,
        include_str!("../../migrations/postgres/0021_link_jobs.sql"),
    ),
    (
        22,
        include_str!("../../migrations/postgres/0022_province_day_count.sql"),
    ),
    (
        23,
        include_str!("../../migrations/postgres/0023_residency.sql"),
    ),
    (
        24,
        include_str!("../../migrations/postgres/0024_transparency_nodes.sql"),
    ),
    (
        26,
        include_str!("../../migrations/postgres/0026_link_job_lease.sql"),
    ),
    (
        28,
        include_str!("../../migrations/postgres/0028_import_sorted.sql"),
    ),
    (
        29,
        include_str!("../../migrations/postgres/0029_data_use_fold.sql"),
    ),
    (
        30,
        include_str!("../../migrations/postgres/0030_reported_overlap.sql"),
    ),
    (
        31,
        include_str!("../../migrations/postgres/0031_partition_register.sql"),
    ),
    (
        32,
        include_str!("../../migrations/postgres/0032_partition_audit.sql"),
    ),
    (
        33,
        include_str!("../../migrations/postgres/0033_partition_account_event.sql"),
    ),
    (
        34,
        include_str!("../../migrations/postgres/0034_partition_account.sql"),
    ),
    (
        35,
        include_str!("../../migrations/postgres/0035_data_use_by_person.sql"),
    ),
];

/// The migration that partitions the audit trail by month (see its file).
const AUDIT_BY_MONTH: i32 = 32;
/// Months after the current one whose audit partitions are made at every migration (every
/// server start and `eid migrate`) and by a running server every few hours
/// (`Store::prepare_ahead`).
const AUDIT_MONTHS_AHEAD: i32 = 3;

/// Connections in the pool unless the URL says `?pool=N`.
const DEFAULT_POOL: usize = 8;
/// How long a caller waits for a free connection before giving up.
const POOL_WAIT: Duration = Duration::from_secs(60);
/// Persons a writer buffers before it writes them. Each batch's new rows go out as one COPY
/// per province partition they fall in (about 63 for a national file in random order), so a
/// small batch means many small COPYs, each set up and torn down: at 5,000 a 300,000-row
/// import sent ~3,800 of them, and PostgreSQL spent ~15 % more CPU on the same rows than at
/// 50,000 (an A/B of `eid import persons`, 2026-12-06). About 50 MB of rows at most.
const BATCH: usize = 50_000;
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

/// The condition that finds the person whose ID is the parameter `id` in the one partition of
/// `person` between the parameters `lo` and `hi` (from [`partition_of`]). The range is a
/// parameter of the statement, so the planner keeps that one partition; read inside the
/// statement (a sub-select of `person_key`), the planner would prepare all 64 and the executor
/// skip 63 — about 3 ms a lookup instead of 0.1 (migration 31).
pub(crate) fn by_id(id: &str, lo: &str, hi: &str) -> String {
    format!("person.personal_id = {id} AND person.res_path >= {lo} AND person.res_path < {hi}")
}

/// The partition of `person` whose `res_path` range begins at `lo` (from [`partition_of`]), by
/// name: a read of one person is sent to it, planned once per connection
/// ([`crate::store::province_partition`]); [`by_id`] serves the statements that go through the
/// parent.
pub(crate) fn person_partition(lo: i64) -> String {
    crate::store::province_partition("person", lo.div_euclid(crate::store::PROVINCE_SPAN))
}

/// The half-open `res_path` range of the partition that holds the person `id`, from
/// `person_key`; `None` when no person has that ID.
pub(crate) fn partition_of(c: &mut Kept<'_>, id: &str) -> Result<Option<(i64, i64)>, StoreError> {
    let row = c.query_opt(
        "SELECT province FROM person_key WHERE personal_id = $1",
        &[&id],
    )?;
    row.map(|r| r.try_get::<_, i16>(0).map(province_range))
        .transpose()
        .map_err(db)
}

/// [`partition_of`] inside a transaction of the shared interface (`sql::Tx`), for a use case
/// that writes a person by ID on either engine.
pub(crate) fn partition_in(
    tx: &mut dyn crate::sql::Tx,
    id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let Some(row) = tx.row(
        "SELECT province FROM person_key WHERE personal_id = $1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    let province = row
        .first()
        .cloned()
        .unwrap_or(crate::sql::Val::Null)
        .int()?;
    let province = i16::try_from(province)
        .map_err(|_| StoreError::Corrupt(format!("province {province} out of range")))?;
    Ok(Some(province_range(province)))
}

/// Runs `read` on the person `id`'s partition (see [`partition_of`]) and returns what it found.
/// A person who moved province between the two statements is not in the partition read: the
/// key is read again, and the read repeated while it keeps changing (a few times at most).
pub(crate) fn in_partition_of<T>(
    c: &mut Kept<'_>,
    id: &str,
    mut read: impl FnMut(&mut Kept<'_>, i64, i64) -> Result<Option<T>, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut range = partition_of(c, id)?;
    for _ in 0..4 {
        let Some((lo, hi)) = range else {
            return Ok(None);
        };
        if let Some(found) = read(c, lo, hi)? {
            return Ok(Some(found));
        }
        let now = partition_of(c, id)?;
        if now == range {
            return Ok(None);
        }
        range = now;
    }
    Ok(None)
}

/// The half-open range of `res_path` of a province's partition (see [`by_id`]).
pub(crate) fn province_range(province: i16) -> (i64, i64) {
    crate::store::province_range(i64::from(province))
}

/// A database error as a [`StoreError`], without the server's `DETAIL` (it may quote values).
/// Integrity errors become [`StoreError::Violated`], as SQLite's do; an error that says the
/// server is gone or is no longer the primary becomes [`StoreError::Unavailable`] (see
/// [`server_lost`]), wherever it surfaces, so the HTTP layer answers `503` for it. So does a
/// transaction the server rolled back because another got in its way (class `40`: a deadlock,
/// or a row moved to another partition by a concurrent update — an account's move between
/// provinces): worth sending again, but its connection and the server are fine, so its message
/// starts with [`ROLLED_BACK`], which [`pool::is_lost`] reads.
pub(crate) fn db(e: postgres::Error) -> StoreError {
    let lost = server_lost(&e);
    let rolled_back = e.code().is_some_and(|c| c.code().starts_with("40"));
    match db_kind(e) {
        StoreError::Db(msg) if lost => StoreError::Unavailable(msg),
        StoreError::Db(msg) if rolled_back => {
            StoreError::Unavailable(format!("{ROLLED_BACK}{msg}"))
        }
        e => e,
    }
}

/// How the message of a [`StoreError::Unavailable`] for a rolled-back transaction begins.
pub(crate) const ROLLED_BACK: &str = "rolled back by a concurrent transaction: ";

/// Whether an error says the connection's server is gone or is no longer the primary: the
/// connection is closed (a crash, kill -9), the server is shutting down (`57P01`–`57P03`), a
/// connection exception (class `08`), or a write refused by a read-only server (`25006`, a
/// demoted primary).
fn server_lost(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08") || c.starts_with("57P") || c == "25006";
    }
    if e.is_closed() {
        return true;
    }
    // Not from the server: an I/O or protocol failure of the connection itself.
    let msg = match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    msg.contains("error communicating with the server")
        || msg.contains("unexpected EOF")
        || msg.contains("Connection reset")
        || msg.contains("Broken pipe")
}

fn db_kind(e: postgres::Error) -> StoreError {
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

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    /// Streaming replicas for read-only work, if the URL lists any (see [`replica`]).
    replicas: Option<Replicas>,
}

/// Splits `pool=N` out of the URL's query string (tests).
#[cfg(test)]
fn split_pool(url: &str) -> Result<(String, usize), StoreError> {
    split_url(url).map(|p| (p.url, p.pool))
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?pool=N&…]`). With `schema`,
    /// every connection works in that schema, created if missing (tests use a fresh one each).
    /// `replica=postgres://…` (repeatable) and `max_replica_lag_ms=N` in the query string send
    /// read-only work to streaming replicas (see [`replica`]); the host list may name several
    /// servers with `target_session_attrs=read-write` so that a failover finds the new primary.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PgStore, StoreError> {
        let parts = split_url(url)?;
        let mut config: postgres::Config = parts
            .url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Db(format!("bad PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("eid");
        }
        let floor = (!parts.replicas.is_empty()).then(|| std::sync::Arc::new(Floor::new()));
        let replicas = match &floor {
            Some(floor) => Some(Replicas::new(
                &parts.replicas,
                schema,
                parts.pool,
                parts.max_lag_ms,
                floor.clone(),
            )?),
            None => None,
        };
        let store = PgStore {
            pool: Pool::new(config, schema.map(str::to_owned), parts.pool, floor),
            replicas,
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

    /// A connection to the primary.
    fn conn(&self) -> Result<Conn<'_>, StoreError> {
        self.pool.get()
    }

    /// A connection to the primary for a write: its commit position is recorded when it goes
    /// back, so that replicas serve this server's reads only once they have replayed it.
    fn writer_conn(&self) -> Result<Conn<'_>, StoreError> {
        let mut conn = self.pool.get()?;
        conn.wrote = self.replicas.is_some();
        Ok(conn)
    }

    /// The schema changed (a migration ran): statements kept on every connection, the
    /// replicas' too, are prepared again.
    fn schema_changed(&self) {
        self.pool.schema_changed();
        if let Some(r) = &self.replicas {
            r.schema_changed();
        }
    }

    /// A connection for read-only work: a fresh enough replica, else the primary.
    fn reader(&self) -> Result<Conn<'_>, StoreError> {
        match self.replicas.as_ref().and_then(Replicas::conn) {
            Some(conn) => Ok(conn),
            None => self.conn(),
        }
    }

    /// Whether a read would go to a replica now (for tests and the bench).
    pub fn reads_on_replica(&self) -> bool {
        self.replicas.as_ref().and_then(Replicas::conn).is_some()
    }
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod partition_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod replica_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
