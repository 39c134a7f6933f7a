//! The test kit's server half: the real server on 127.0.0.1:0 over a given store and clock, and
//! staff of any role with passwords and API tokens. The HTTP and CLI suite and the benches start
//! servers through it instead of each keeping a copy.
//!
//! Fresh stores come from [`eid_core::testkit`] (SQLite, or PostgreSQL with `EID_TEST_ENGINE`).

#![allow(clippy::panic)] // a test kit that cannot start a server has nothing better to do

use std::net::SocketAddr;
use std::sync::Arc;

use eid_core::clock::{Clock, SystemClock};
use eid_core::secret::{hash_password, random_token, token_hash};
use eid_core::store::{NewStaff, Role};
use eid_core::Store;
use eid_domain::UnitCode;

use crate::Config;

pub use eid_core::testkit::{fresh_store, fresh_store_on, fresh_url, temp_dir, Engine};

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub addr: SocketAddr,
}

/// The configuration the test kit serves with: development adapters on (the tests read SMS codes
/// from the development outbox), listening on port 0. Every request of a test comes from
/// 127.0.0.1, so the per-source allowances are wide; the per-ID, per-account and per-phone
/// limits are the production ones. [`production_limits`] serves with the production
/// allowances, behind a trusted proxy on 127.0.0.1 so that a test can name its sources.
pub fn test_config() -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        development: true,
        limits: crate::limits::Limits {
            source_secret_burst: 100_000,
            source_secret_per_hour: 1_000_000,
            source_sms_burst: 100_000,
            source_sms_per_hour: 1_000_000,
            // A debug build checks a password ten times slower than a release build, and the
            // suite runs many servers at once: a burst's checks may wait longer than a second.
            hash_wait_ms: 10_000,
            ..crate::limits::Limits::default()
        },
        // The OpenID Connect provider's key-encryption key: a file of the test's own, made on
        // first use.
        oidc: crate::oidc::OidcConfig {
            issuer: None,
            key_file: Some(
                std::env::temp_dir()
                    .join(format!(
                        "eid-test-oidc-{}.key",
                        &eid_core::secret::random_token()[..20]
                    ))
                    .display()
                    .to_string(),
            ),
        },
        ..Config::default()
    }
}

/// [`test_config`] with the production per-source allowances, and 127.0.0.1 as a trusted
/// proxy: a request's `X-Forwarded-For` names its source.
pub fn production_limits() -> Config {
    Config {
        limits: crate::limits::Limits {
            trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
            hash_wait_ms: 10_000,
            ..crate::limits::Limits::default()
        },
        ..test_config()
    }
}

/// Starts the server over `store` on its own thread and runtime with the system clock; returns
/// its base URL.
pub fn spawn(store: Arc<dyn Store>) -> String {
    spawn_with(store, test_config(), Arc::new(SystemClock)).base
}

/// Starts the server over `store` reading time from `clock` (a [`eid_core::clock::ManualClock`]
/// runs it at a fixed date that the test moves).
pub fn spawn_with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> String {
    spawn_with(store, test_config(), clock).base
}

/// Starts the server over `store` with `config` and `clock` on its own thread, with a runtime of
/// one worker per core as `eid serve` has (the server runs until the test process ends).
pub fn spawn_with(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Server {
    let (tx, rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = tx.send(Err(format!("tokio runtime: {e}")));
                return;
            }
        };
        rt.block_on(async move {
            match crate::Application::with_clock(config, store, clock).await {
                Ok((app, addr)) => {
                    let _ = tx.send(Ok(addr));
                    if let Err(e) = app.run_until_stopped().await {
                        eprintln!("test server stopped: {e}");
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    match rx.recv() {
        Ok(Ok(addr)) => Server {
            base: format!("http://{addr}"),
            addr,
        },
        Ok(Err(e)) => panic!("the test server did not start: {e}"),
        Err(e) => panic!("the test server thread ended: {e}"),
    }
}

/// A staff account made for a test: its password and an API token in clear.
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub token: String,
    pub unit: UnitCode,
}

impl std::fmt::Debug for TestUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Creates staff `username` with `role` at `unit`, with a random password that meets the policy
/// and an API token.
pub fn create_user(store: &dyn Store, username: &str, role: Role, unit: UnitCode) -> TestUser {
    let password = format!("Mật-khẩu-{}-A1", &random_token()[..8]);
    let password_hash = match hash_password(&password) {
        Ok(h) => h,
        Err(e) => panic!("hashing a test password: {e}"),
    };
    let new = NewStaff {
        username: username.to_owned(),
        display_name: format!("Cán bộ {username}"),
        role,
        unit,
        password_hash,
    };
    let now = SystemClock.now();
    let id = match store.create_staff(&new, now) {
        Ok(id) => id,
        Err(e) => panic!("creating test staff {username}: {e}"),
    };
    let token = random_token();
    if let Err(e) =
        store.create_api_token(id, &format!("test {username}"), &token_hash(&token), now)
    {
        panic!("issuing a token to {username}: {e}");
    }
    TestUser {
        id,
        username: username.to_owned(),
        password,
        token,
        unit,
    }
}
