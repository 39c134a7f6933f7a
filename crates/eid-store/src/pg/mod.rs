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

pub use copy::PgWriter;
use pool::{Conn, Pool, PoolState};

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
mod tests;
