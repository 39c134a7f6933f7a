//! The core of eid: the use cases by slice — the register (reads, search, units, corrections,
//! import and export), staff and access (sign-in, sessions, the audit log), accounts (levels 1
//! and 2, sign-in, locks, the SMS outbox), intake packets, operations (quotas, progress,
//! outreach, reports) — with credentials and the clock, over `eid-store`.
//!
//! It knows nothing of HTTP, HTML or the command line (checked by a test): `eid-web` and the
//! binary call it. Time and randomness come in as parameters where a result depends on them, so
//! the same input gives the same output. SQL is written through `eid_store::sql` only.

pub mod accounts;
pub mod audit_log;
pub mod caller;
pub mod clock;
pub mod error;
pub mod face;
pub mod intake;
pub mod linkage;
pub mod officer_code;
pub mod oidc;
pub mod ops;
pub mod outbox;
pub mod peaks;
pub mod register;
pub mod residence;
pub mod rollup;
pub mod rp;
pub mod secret;
pub mod settings;
pub mod staff;
pub mod stay;
pub mod transparency;
pub mod wallet;

// The storage crate under its old paths (`eid_core::store`, `eid_core::sql`, …).
pub use caller::{Acting, Caller};
pub use eid_store::{
    account_key, audit, backup, csvfmt, pg, residency, sql, sqlite, store, testkit,
};
pub use eid_store::{open, Actor, Store, StoreError};
pub use error::Error;
pub use register::import;
