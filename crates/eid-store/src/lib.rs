//! eid's storage: the synchronous `Store` API for the register's hot paths and the types it
//! speaks, the shared SQL layer (`sql`) that every other slice writes its statements once
//! through, the two engines (`sqlite`, `pg`), their migrations, and the person CSV format the
//! engines digest (`csvfmt`).
//!
//! This is the only crate that depends on `rusqlite` or `postgres` (checked by a test). It knows
//! no use case: accounts, operations and the rest live in `eid-core` on top of `sql`.

pub mod account_key;
pub mod audit;
pub mod backup;
pub mod csvfmt;
pub mod pg;
pub mod redact;
pub mod residency;
pub mod sql;
pub mod sqlite;
pub mod staff;
pub mod store;
pub mod testkit;

pub use store::{open, Actor, Store, StoreError};
