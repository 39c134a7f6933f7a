//! Staff accounts, console sessions and API tokens: written once for both engines through
//! [`crate::sql`]. The [`Store`](crate::store::Store) trait's methods of the same names call
//! these; no engine has its own copy.
//!
//! The rules both engines therefore share:
//! - a taken username is `Conflict("username already exists")`; a session or token for an
//!   unknown account is `NotFound`, a cookie or token hash already in use `Conflict`;
//! - a disabled account is still found by name or id (sign-in needs to say "disabled"), but
//!   none of its sessions or tokens is: the filter is in the SQL of [`session`] and
//!   [`api_token`];
//! - a session is live while `now < expires_at`; a token while `revoked_at IS NULL`.
//!
//! Single-statement reads and writes run without `BEGIN`/`COMMIT` ([`sql::read_one`],
//! [`sql::write_one`]): session and token lookups happen on every request.

use eid_domain::UnitCode;
use time::OffsetDateTime;

use crate::sql::{self, Db, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, ApiToken, NewStaff, Role, Rule, Session, Staff, StoreError};

/// The columns [`staff_at`] reads, on a `staff` aliased `st`.
const STAFF_COLS: &str = "st.id, st.username, st.display_name, st.role, st.unit, st.disabled";

fn col(row: &SqlRow, i: usize) -> Val {
    row.get(i).cloned().unwrap_or(Val::Null)
}

/// A staff account from the columns [`STAFF_COLS`] starting at `base`.
fn staff_at(row: &SqlRow, base: usize) -> Result<Staff, StoreError> {
    let role = col(row, base + 3).text()?;
    let unit = col(row, base + 4).text()?;
    Ok(Staff {
        id: col(row, base).int()?,
        username: col(row, base + 1).text()?,
        display_name: col(row, base + 2).text()?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt("staff has an unknown role".into()))?,
        unit: UnitCode::parse(&unit)
            .map_err(|_| StoreError::Corrupt("staff has a bad unit code".into()))?,
        disabled: col(row, base + 5).int()? != 0,
    })
}

/// Maps the integrity errors an insert expects; everything else passes through.
fn expected(e: StoreError, duplicate: &'static str) -> StoreError {
    match e {
        StoreError::Violated(Rule::Unique, _) => StoreError::Conflict(duplicate),
        StoreError::Violated(Rule::ForeignKey, _) => StoreError::NotFound,
        other => other,
    }
}

fn changed_one(n: u64) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub fn create_staff(db: &dyn Db, new: &NewStaff, now: OffsetDateTime) -> Result<i64, StoreError> {
    sql::write_one(db, |tx| {
        tx.int(
            "INSERT INTO staff (username, display_name, role, unit, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                Val::from(&new.username),
                Val::from(&new.display_name),
                Val::from(new.role.as_str()),
                Val::from(new.unit.as_str()),
                Val::from(&new.password_hash),
                Val::from(to_ms(now)),
            ],
        )
    })
    .map_err(|e| expected(e, "username already exists"))
}

pub fn staff_by_username(
    db: &dyn Db,
    username: &str,
) -> Result<Option<(Staff, String)>, StoreError> {
    let row = sql::read_one(db, |tx| {
        tx.row(
            &format!("SELECT {STAFF_COLS}, st.password_hash FROM staff st WHERE st.username = $1"),
            &[Val::from(username)],
        )
    })?;
    row.map(|r| Ok((staff_at(&r, 0)?, col(&r, 6).text()?)))
        .transpose()
}

/// The account with id `id`, disabled or not, read inside `tx` (a write transaction that acts
/// on a row read earlier confirms it with this).
pub fn staff_in(tx: &mut dyn Tx, id: i64) -> Result<Option<Staff>, StoreError> {
    tx.row(
        &format!("SELECT {STAFF_COLS} FROM staff st WHERE st.id = $1"),
        &[Val::from(id)],
    )?
    .map(|r| staff_at(&r, 0))
    .transpose()
}

pub fn staff_by_id(db: &dyn Db, id: i64) -> Result<Option<Staff>, StoreError> {
    let row = sql::read_one(db, |tx| {
        tx.row(
            &format!("SELECT {STAFF_COLS} FROM staff st WHERE st.id = $1"),
            &[Val::from(id)],
        )
    })?;
    row.map(|r| staff_at(&r, 0)).transpose()
}

pub fn list_staff(db: &dyn Db) -> Result<Vec<Staff>, StoreError> {
    let rows = sql::read_one(db, |tx| {
        tx.query(
            &format!("SELECT {STAFF_COLS} FROM staff st ORDER BY st.id"),
            &[],
        )
    })?;
    rows.iter().map(|r| staff_at(r, 0)).collect()
}

pub fn set_password(db: &dyn Db, staff_id: i64, password_hash: &str) -> Result<(), StoreError> {
    let n = sql::write_one(db, |tx| {
        tx.exec(
            "UPDATE staff SET password_hash = $1 WHERE id = $2",
            &[Val::from(password_hash), Val::from(staff_id)],
        )
    })?;
    changed_one(n)
}

pub fn set_disabled(db: &dyn Db, staff_id: i64, disabled: bool) -> Result<(), StoreError> {
    let n = sql::write_one(db, |tx| {
        tx.exec(
            "UPDATE staff SET disabled = $1 WHERE id = $2",
            &[Val::from(disabled), Val::from(staff_id)],
        )
    })?;
    changed_one(n)
}

pub fn create_session(
    db: &dyn Db,
    token_hash: &[u8],
    staff_id: i64,
    csrf: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    sql::transact(db, |tx: &mut dyn Tx| {
        tx.exec(
            "DELETE FROM session WHERE expires_at <= $1",
            &[Val::from(to_ms(now))],
        )?;
        tx.exec(
            "INSERT INTO session (token_hash, staff_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Val::from(token_hash),
                Val::from(staff_id),
                Val::from(csrf),
                Val::from(to_ms(now)),
                Val::from(to_ms(expires_at)),
            ],
        )
        .map_err(|e| expected(e, "session already exists"))?;
        Ok(())
    })
}

pub fn session(
    db: &dyn Db,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> Result<Option<Session>, StoreError> {
    let row = sql::read_one(db, |tx| {
        tx.row(
            &format!(
                "SELECT {STAFF_COLS}, x.csrf, x.expires_at \
                 FROM session x JOIN staff st ON st.id = x.staff_id \
                 WHERE x.token_hash = $1 AND x.expires_at > $2 AND NOT st.disabled"
            ),
            &[Val::from(token_hash), Val::from(to_ms(now))],
        )
    })?;
    row.map(|r| {
        Ok(Session {
            staff: staff_at(&r, 0)?,
            csrf: col(&r, 6).text()?,
            expires_at: from_ms(col(&r, 7).int()?),
        })
    })
    .transpose()
}

pub fn delete_session(db: &dyn Db, token_hash: &[u8]) -> Result<(), StoreError> {
    sql::write_one(db, |tx| {
        tx.exec(
            "DELETE FROM session WHERE token_hash = $1",
            &[Val::from(token_hash)],
        )
    })?;
    Ok(())
}

pub fn create_api_token(
    db: &dyn Db,
    staff_id: i64,
    name: &str,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    sql::write_one(db, |tx| {
        tx.int(
            "INSERT INTO api_token (staff_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[
                Val::from(staff_id),
                Val::from(name),
                Val::from(token_hash),
                Val::from(to_ms(now)),
            ],
        )
    })
    .map_err(|e| expected(e, "token already exists"))
}

pub fn revoke_api_token(db: &dyn Db, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    let n = sql::write_one(db, |tx| {
        tx.exec(
            "UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[Val::from(to_ms(now)), Val::from(id)],
        )
    })?;
    changed_one(n)
}

pub fn api_token(db: &dyn Db, token_hash: &[u8]) -> Result<Option<(i64, Staff)>, StoreError> {
    let row = sql::read_one(db, |tx| {
        tx.row(
            &format!(
                "SELECT {STAFF_COLS}, t.id FROM api_token t JOIN staff st ON st.id = t.staff_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT st.disabled"
            ),
            &[Val::from(token_hash)],
        )
    })?;
    row.map(|r| Ok((col(&r, 6).int()?, staff_at(&r, 0)?)))
        .transpose()
}

pub fn list_api_tokens(db: &dyn Db) -> Result<Vec<ApiToken>, StoreError> {
    let rows = sql::read_one(db, |tx| {
        tx.query(
            "SELECT id, staff_id, name, created_at, revoked_at FROM api_token ORDER BY id",
            &[],
        )
    })?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: col(r, 0).int()?,
                staff_id: col(r, 1).int()?,
                name: col(r, 2).text()?,
                created_at: from_ms(col(r, 3).int()?),
                revoked_at: col(r, 4).opt_int()?.map(from_ms),
            })
        })
        .collect()
}
