//! The core of eid: the storage API and its two engines, import and export, synthetic
//! populations, and credentials.
//!
//! This is the only crate that speaks SQL. It knows nothing of HTTP, HTML or the command line:
//! the `eid` binary calls it. Time and randomness come in as parameters where a result depends
//! on them, so the same input gives the same output.

pub mod accounts;
pub mod csvfmt;
pub mod gen;
pub mod import;
pub mod intake;
pub mod ops;
pub mod pg;
pub mod secret;
pub mod settings;
pub mod sql;
pub mod sqlite;
pub mod store;

pub use store::{open, Actor, Store, StoreError};
