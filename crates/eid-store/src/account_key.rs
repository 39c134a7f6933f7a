//! Statements on one account, written once for both engines.
//!
//! On PostgreSQL `account` is partitioned by province (RANGE on `res_path`, migration 34), and
//! the unpartitioned `account_key (id, personal_id → province)` says which partition holds an
//! account. A statement that names an account by its id or its holder's personal ID is sent in
//! two steps: the province is read from `account_key`, then the statement goes with that
//! province's `res_path` range as parameters, so that the planner keeps one partition of 64 (read
//! inside the same statement, the range would leave the planner to prepare all 64: 1.5 ms of
//! planning against 0.04 ms, `EXPLAIN ANALYZE` on the development cluster). A read names that
//! province's partition instead of the range ([`READ_FROM`]). An account already
//! read carries its `res_path` ([`Key::At`]), which names its partition without the first step.
//! An account that moved province between the two steps (a level 1 registration or a level 2
//! activation sets its `res_path`) is not in the partition read: when a statement finds nothing
//! the key is read again and the statement repeated while the province keeps changing.
//!
//! SQLite keeps one `account` table: the statement is sent once, with the key's condition alone.
//!
//! A statement names the account with [`ACCOUNT`] where its condition goes; the key's parameters
//! follow the statement's own (`UPDATE account SET phone = $1 WHERE {account}` becomes
//! `… WHERE id = $2 AND res_path >= $3 AND res_path < $4` on PostgreSQL, and
//! `SELECT phone FROM account WHERE {account}` becomes
//! `SELECT phone FROM account_062 WHERE id = $1`).

use crate::sql::{SqlRow, Tx, Val};
use crate::store::{province_partition, province_range, Rule, StoreError, PROVINCE_SPAN};

/// Where a statement's condition on the account goes.
pub const ACCOUNT: &str = "{account}";

/// How a statement names one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// By its id.
    Id(i64),
    /// By its holder's personal ID.
    Person(&'a str),
    /// By its id, with a `res_path` of its partition already known (the account was read
    /// before, or its partition read with [`partition_hint`]): the partition is read without
    /// `account_key`, which is read only if the account is not found there (it moved since).
    At { id: i64, res_path: i64 },
}

impl Key<'_> {
    /// [`Key::At`] when `res_path` is known, else [`Key::Id`].
    pub fn hinted(id: i64, res_path: Option<i64>) -> Key<'static> {
        match res_path {
            Some(res_path) => Key::At { id, res_path },
            None => Key::Id(id),
        }
    }

    fn column_and_value(self) -> (&'static str, Val) {
        match self {
            Key::Id(id) | Key::At { id, .. } => ("id", id.into()),
            Key::Person(p) => ("personal_id", p.into()),
        }
    }
}

/// An expression for a statement's select list that gives, next to an account id (`id_col`),
/// a `res_path` of that account's partition for [`Key::hinted`]: on PostgreSQL the province read
/// from `account_key` in the same statement (an unpartitioned table, one index probe), on SQLite
/// `NULL`. It saves the first step of the statement that then reads the account.
pub fn partition_hint(engine: &str, id_col: &str) -> String {
    if engine == "postgres" {
        format!(
            "(SELECT CAST(province AS bigint) * {PROVINCE_SPAN} FROM account_key WHERE id = {id_col})"
        )
    } else {
        "NULL".to_owned()
    }
}

/// How a statement over the persons `p` of one province joins their accounts as `a` (see
/// [`of_province`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvinceJoin {
    /// The `LEFT JOIN`s, after the statement's `FROM person p`.
    pub join: String,
    /// An expression for the select list: not NULL when the person has an account that `a`
    /// does not hold, because it lives in another province's partition (its holder moved since
    /// it was registered or activated). Read such an account by [`Key::Person`].
    pub elsewhere: String,
    /// The join's parameters, to follow the statement's own.
    pub args: Vec<Val>,
}

/// The accounts of the persons `p` of the province of `res_path` (a path of the province or of
/// any unit in it), joined as `a`, with placeholders from `$first`. On PostgreSQL `a` is that province's partition alone (its range
/// is a parameter, so the planner keeps one partition of 64), and `account_key` tells which
/// persons have their account in another one; on SQLite `a` is the table.
pub fn of_province(engine: &str, res_path: i64, first: usize) -> ProvinceJoin {
    if engine != "postgres" {
        return ProvinceJoin {
            join: "LEFT JOIN account a ON a.personal_id = p.personal_id".to_owned(),
            elsewhere: "NULL".to_owned(),
            args: Vec::new(),
        };
    }
    let n = first;
    let province = res_path / PROVINCE_SPAN;
    let (lo, hi) = province_range(province);
    ProvinceJoin {
        join: format!(
            "LEFT JOIN account a ON a.personal_id = p.personal_id \
             AND a.res_path >= ${n} AND a.res_path < ${} \
             LEFT JOIN account_key k ON k.personal_id = p.personal_id AND k.province <> ${}",
            n + 1,
            n + 2
        ),
        elsewhere: "k.id".to_owned(),
        args: vec![lo.into(), hi.into(), province.into()],
    }
}

/// How a read of one account names it (`SELECT … FROM account WHERE {account} …`). On PostgreSQL
/// such a read goes to the province's partition by name ([`province_partition`]: planned once per
/// connection, not at each execution). A write goes through the parent with the province's range
/// as parameters: the parent's statement triggers keep `account_key`, and an update that changes
/// `res_path` moves the row to another province's partition.
const READ_FROM: &str = "FROM account WHERE {account}";

/// Attempts of a statement on an account that keeps moving province (see the module's doc).
const ATTEMPTS: usize = 4;

/// The province's partition range of `key` from `account_key`; `None` when no account has it.
fn partition(tx: &mut dyn Tx, key: Key<'_>) -> Result<Option<(i64, i64)>, StoreError> {
    let sql = match key {
        Key::Id(_) | Key::At { .. } => "SELECT province FROM account_key WHERE id = $1",
        Key::Person(_) => "SELECT province FROM account_key WHERE personal_id = $1",
    };
    let Some(row) = tx.row(sql, &[key.column_and_value().1])? else {
        return Ok(None);
    };
    let province = row.first().cloned().unwrap_or(Val::Null).int()?;
    Ok(Some(province_range(province)))
}

/// Runs `sql` on the account `key` (see the module's doc) with `run`; `found` says whether it
/// found the account.
fn on_account<T>(
    tx: &mut dyn Tx,
    sql: &str,
    args: &[Val],
    key: Key<'_>,
    run: impl Fn(&mut dyn Tx, &str, &[Val]) -> Result<T, StoreError>,
    found: impl Fn(&T) -> bool,
    nothing: impl Fn() -> T,
) -> Result<T, StoreError> {
    let n = args.len() + 1;
    let (column, value) = key.column_and_value();
    let mut all = args.to_vec();
    all.push(value);
    if tx.engine() != "postgres" {
        return run(tx, &sql.replace(ACCOUNT, &format!("{column} = ${n}")), &all);
    }
    // A read names the province's partition; a write goes through the parent with the range.
    let read = sql.starts_with("SELECT ") && sql.contains(READ_FROM);
    let ranged = (!read).then(|| {
        sql.replace(
            ACCOUNT,
            &format!(
                "{column} = ${n} AND res_path >= ${} AND res_path < ${}",
                n + 1,
                n + 2
            ),
        )
    });
    let mut range = match key {
        Key::At { res_path, .. } => Some(province_range(res_path / PROVINCE_SPAN)),
        Key::Id(_) | Key::Person(_) => partition(tx, key)?,
    };
    let mut out = nothing();
    for _ in 0..ATTEMPTS {
        let Some((lo, hi)) = range else {
            return Ok(out);
        };
        all.truncate(n);
        out = match &ranged {
            Some(ranged) => {
                all.extend([lo.into(), hi.into()]);
                run(tx, ranged, &all)?
            }
            None => {
                let partition = province_partition("account", lo / PROVINCE_SPAN);
                let sql = sql.replace(
                    READ_FROM,
                    &format!("FROM {partition} WHERE {column} = ${n}"),
                );
                run(tx, &sql, &all)?
            }
        };
        if found(&out) {
            return Ok(out);
        }
        let now = partition(tx, key)?;
        if now == range {
            return Ok(out);
        }
        range = now;
    }
    Ok(out)
}

/// The rows of a query on the account `key`: `sql` has [`ACCOUNT`] where the condition goes.
pub fn query(
    tx: &mut dyn Tx,
    sql: &str,
    args: &[Val],
    key: Key<'_>,
) -> Result<Vec<SqlRow>, StoreError> {
    on_account(
        tx,
        sql,
        args,
        key,
        |tx, sql, args| tx.query(sql, args),
        |rows| !rows.is_empty(),
        Vec::new,
    )
}

/// The first row of a query on the account `key` (see [`query`]).
pub fn row(
    tx: &mut dyn Tx,
    sql: &str,
    args: &[Val],
    key: Key<'_>,
) -> Result<Option<SqlRow>, StoreError> {
    Ok(query(tx, sql, args, key)?.into_iter().next())
}

/// The phone bound to the account `key` (E.164), `None` when there is no such account.
pub fn phone(tx: &mut dyn Tx, key: Key<'_>) -> Result<Option<String>, StoreError> {
    row(tx, "SELECT phone FROM account WHERE {account}", &[], key)?
        .and_then(|r| r.into_iter().next())
        .map(|v| v.text())
        .transpose()
}

/// Runs a statement that changes the account `key` (see [`query`]); returns the rows changed.
pub fn exec(tx: &mut dyn Tx, sql: &str, args: &[Val], key: Key<'_>) -> Result<u64, StoreError> {
    on_account(
        tx,
        sql,
        args,
        key,
        |tx, sql, args| tx.exec(sql, args),
        |&n| n > 0,
        || 0,
    )
}

/// Inserts an account unless its holder has one, inside a write transaction: `sql` is an
/// `INSERT INTO account (…) VALUES (…)` without `ON CONFLICT` or `RETURNING`. Returns the new
/// account's id, or `None` when the personal ID already has an account (one committed meanwhile
/// by another transaction included, as `ON CONFLICT DO NOTHING` answers).
///
/// SQLite sends it with `ON CONFLICT (personal_id) DO NOTHING`. PostgreSQL has no unique index
/// on `personal_id` alone to name there (a partitioned table's keys contain its partition key):
/// `account_key_personal_id_key` refuses the second account, from the insert's statement
/// trigger, and the insert runs under a savepoint so that the refusal leaves the transaction
/// usable.
pub fn insert_new(tx: &mut dyn Tx, sql: &str, args: &[Val]) -> Result<Option<i64>, StoreError> {
    let id = |rows: Vec<SqlRow>| -> Result<Option<i64>, StoreError> {
        rows.into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .map(|v| v.int())
            .transpose()
    };
    if tx.engine() != "postgres" {
        return id(tx.query(
            &format!("{sql} ON CONFLICT (personal_id) DO NOTHING RETURNING id"),
            args,
        )?);
    }
    tx.exec("SAVEPOINT eid_account_insert", &[])?;
    match tx.query(&format!("{sql} RETURNING id"), args) {
        // Left to end with the transaction: a `RELEASE` would cost a round trip and free nothing
        // that matters.
        Ok(rows) => id(rows),
        // The id comes from the sequence: a unique key refused can only be the holder's.
        Err(StoreError::Violated(Rule::Unique, _)) => {
            tx.exec("ROLLBACK TO SAVEPOINT eid_account_insert", &[])?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
