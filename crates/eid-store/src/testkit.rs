//! The test kit's storage half: fresh, migrated stores on either engine, for the conformance
//! suites, the HTTP and CLI suite and the benches (the server half is `eid::testkit`).
//!
//! The engine comes from `EID_TEST_ENGINE` (`sqlite`, the default, or `postgres`); PostgreSQL
//! needs `EID_TEST_DATABASE_URL` and each store gets a schema of its own. Asking for PostgreSQL
//! without a URL is a failure, never a silent fallback to SQLite.

#![allow(clippy::panic)] // a test kit that cannot make a store has nothing better to do

use std::path::PathBuf;
use std::sync::Arc;

use crate::Store;

/// A database engine under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine named by `EID_TEST_ENGINE` (SQLite when unset or empty).
    pub fn from_env() -> Engine {
        match std::env::var("EID_TEST_ENGINE").as_deref() {
            Ok("postgres") | Ok("postgresql") | Ok("pg") => Engine::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Engine::Sqlite,
            Ok(other) => panic!("EID_TEST_ENGINE={other}: expected sqlite or postgres"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// 12 random lowercase hex digits, for names no other test has.
fn salt() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// The PostgreSQL server the tests run on (`EID_TEST_DATABASE_URL`). The suite runs on both
/// engines: without a URL a test that wants PostgreSQL fails, unless the run says on purpose
/// that it is SQLite only (`EID_SKIP_POSTGRES=1`, as `scripts/test` takes it), which is then
/// printed — a missing database is never a silent pass.
pub fn postgres_url() -> Option<String> {
    if let Some(url) = std::env::var("EID_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(url);
    }
    if std::env::var("EID_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("EID_SKIP_POSTGRES=1: the PostgreSQL half of this test did not run");
        return None;
    }
    panic!(
        "this test runs on PostgreSQL too: set EID_TEST_DATABASE_URL (scripts/test starts a \
         throwaway server) or EID_SKIP_POSTGRES=1 for a run on SQLite only"
    )
}

/// A fresh, empty folder under the system's temporary folder.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eid-test-{label}-{}", salt()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// The URL of a fresh database on `engine`: a new SQLite file in a new folder, or a new schema
/// (`?schema=`) on the test PostgreSQL server. `eid --db URL` and [`crate::open`] take it.
pub fn fresh_url(engine: Engine, label: &str) -> String {
    match engine {
        Engine::Sqlite => {
            let path = temp_dir(label).join("eid.db");
            format!("sqlite://{}", path.display())
        }
        Engine::Postgres => {
            let Some(url) = postgres_url() else {
                panic!(
                    "EID_TEST_ENGINE=postgres needs EID_TEST_DATABASE_URL (scripts/test starts a server)"
                )
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}schema=eid_test_{}", salt().to_lowercase())
        }
    }
}

/// A fresh, migrated store on `engine`.
pub fn fresh_store_on(engine: Engine, label: &str) -> Arc<dyn Store> {
    let url = fresh_url(engine, label);
    let store = match crate::open(&url) {
        Ok(s) => s,
        Err(e) => panic!("cannot open a fresh {} store: {e}", engine.name()),
    };
    if let Err(e) = store.migrate() {
        panic!("migration failed on {}: {e}", engine.name());
    }
    store
}

/// A fresh, migrated store on SQLite and one on PostgreSQL ([`postgres_url`]): a conformance
/// test runs its body on each.
pub fn engines(label: &str) -> Vec<Arc<dyn Store>> {
    let mut out = vec![fresh_store_on(Engine::Sqlite, label)];
    if postgres_url().is_some() {
        out.push(fresh_store_on(Engine::Postgres, label));
    }
    out
}

/// A fresh, migrated store on the engine named by `EID_TEST_ENGINE`.
pub fn fresh_store(label: &str) -> Arc<dyn Store> {
    fresh_store_on(Engine::from_env(), label)
}
