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

/// The URL of a fresh database on `engine`: a new SQLite file in a new folder (empty until it
/// is opened and migrated), or a new database on the test PostgreSQL server, already migrated:
/// a copy of a template ([`pg_template`]). `eid --db URL` and [`crate::open`] take it.
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
            let template = pg_template(&url);
            let name = format!("eid_test_{}", salt());
            pg_admin(&url, &format!("CREATE DATABASE {name} TEMPLATE {template}"));
            with_database(&url, &name)
        }
    }
}

/// The name of a database on the test server that holds every migration of this build and
/// nothing else, made by the first test that asks for it (its name hashes the migrations' text,
/// so a changed migration gets a template of its own).
///
/// Each test used to migrate a schema of its own in one shared database. A migrated schema is
/// about 900 tables, partitions and indexes, so by the HTTP suite the shared catalog held some
/// 300,000 of them and a migration took 9 s instead of 1.3 s. A database per test keeps each
/// catalog small, and copying the template is cheaper than migrating.
fn pg_template(url: &str) -> String {
    use sha2::{Digest, Sha256};
    static TEMPLATE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let mut made = TEMPLATE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(name) = made.as_ref() {
        return name.clone();
    }
    let mut hash = Sha256::new();
    for (version, sql) in crate::pg::MIGRATIONS {
        hash.update(version.to_be_bytes());
        hash.update(sql.as_bytes());
    }
    let digest: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("eid_template_{digest}");
    let mut admin = pg_connect(url);
    // Test processes (the crates' suites, `eid` under test) may ask at the same time: one builds.
    pg_exec(&mut admin, "SELECT pg_advisory_lock(7391000016)");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap_or_else(|e| panic!("cannot look for the template database: {e}"))
        .is_some();
    if !exists {
        let building = format!("{name}_{}", salt());
        pg_exec(&mut admin, &format!("CREATE DATABASE {building}"));
        let store = match crate::pg::PgStore::connect(&with_database(url, &building), None) {
            Ok(s) => s,
            Err(e) => panic!("cannot open the template database: {e}"),
        };
        if let Err(e) = Store::migrate(&store) {
            panic!("migration of the template database failed: {e}");
        }
        drop(store);
        // Nothing may be connected to a database that is renamed or copied.
        pg_exec(
            &mut admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
            ),
        );
        pg_exec(
            &mut admin,
            &format!("ALTER DATABASE {building} RENAME TO {name}"),
        );
    }
    pg_exec(&mut admin, "SELECT pg_advisory_unlock(7391000016)");
    *made = Some(name.clone());
    name
}

/// `url` with its database (the path) replaced by `name`, its query string kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A connection to the test server's own database, for statements about databases.
fn pg_connect(url: &str) -> postgres::Client {
    let plain = url.split_once('?').map_or(url, |(b, _)| b);
    match postgres::Client::connect(plain, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => panic!("cannot connect to the test PostgreSQL server: {e}"),
    }
}

fn pg_exec(client: &mut postgres::Client, sql: &str) {
    if let Err(e) = client.batch_execute(sql) {
        panic!("{sql}: {e}");
    }
}

fn pg_admin(url: &str, sql: &str) {
    pg_exec(&mut pg_connect(url), sql);
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
