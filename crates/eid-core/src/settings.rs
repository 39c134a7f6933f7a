//! What a database says about itself, kept in `app_setting`: for now, whether `eid demo` made it.
//!
//! The demo resets the passwords of its own accounts each time it starts. It must never do that
//! to a database that holds someone else's staff or people, so it claims a database only when
//! the database is empty, and marks it in the same transaction; later runs find the mark.

use crate::sql::{self, Val};
use crate::store::{Store, StoreError};

/// The key of the mark, and its value.
const MADE_BY: &str = "made_by";
const DEMO: &[u8] = b"eid demo";

/// Whether `eid demo` may use this database: yes if the demo made it, or if it holds no person
/// and no staff (it is then marked as the demo's in the same transaction); no otherwise.
pub fn claim_for_demo(store: &dyn Store) -> Result<bool, StoreError> {
    sql::transact(store.db(), |tx| {
        if let Some(row) = tx.row(
            "SELECT value FROM app_setting WHERE key = $1",
            &[MADE_BY.into()],
        )? {
            let value = row.first().cloned().unwrap_or(Val::Null).blob()?;
            return Ok(value == DEMO);
        }
        let people = tx.int(
            "SELECT count(*) FROM (SELECT 1 FROM person LIMIT 1) AS p",
            &[],
        )?;
        let staff = tx.int(
            "SELECT count(*) FROM (SELECT 1 FROM staff LIMIT 1) AS s",
            &[],
        )?;
        if people > 0 || staff > 0 {
            return Ok(false);
        }
        tx.exec(
            "INSERT INTO app_setting (key, value) VALUES ($1, $2)",
            &[MADE_BY.into(), DEMO.into()],
        )?;
        Ok(true)
    })
}

/// Whether the demo made this database (read only).
pub fn made_by_demo(store: &dyn Store) -> Result<bool, StoreError> {
    sql::read(store.db(), |tx| {
        let row = tx.row(
            "SELECT value FROM app_setting WHERE key = $1",
            &[MADE_BY.into()],
        )?;
        match row {
            Some(r) => Ok(r.first().cloned().unwrap_or(Val::Null).blob()? == DEMO),
            None => Ok(false),
        }
    })
}
