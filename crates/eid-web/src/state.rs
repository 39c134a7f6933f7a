//! The state shared by every request: the store, the configuration, metrics and the sign-in
//! rate limiter, plus the two helpers every handler needs (the clock and blocking store calls).

use std::sync::Arc;

use eid_core::clock::{Clock, SystemClock};
use eid_core::Store;
use time::OffsetDateTime;

use crate::auth::RateLimiter;
use crate::config::Config;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::sms::{Dispatcher, SmsSender};
use crate::verifier::FaceVerifier;

/// Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// API bearer tokens confirmed within the last second.
    pub tokens: crate::auth::TokenCache,
    /// The per-source limiters of the citizen routes.
    pub sources: crate::limits::SourceLimits,
    /// Bounds the store calls in flight: beyond the database's connections, more blocking
    /// threads only queue on the pool and cost context switches.
    pub store_slots: tokio::sync::Semaphore,
    /// The account rules from the configuration.
    pub accounts: eid_core::accounts::Settings,
    /// Who delivers the SMS outbox, and the handle that wakes its dispatcher.
    pub sms: Arc<dyn SmsSender>,
    pub dispatcher: Dispatcher,
    /// Who compares a level-1 applicant's photo with their portrait.
    pub verifier: Arc<dyn FaceVerifier>,
    /// The only clock the server reads (the system's, or a test's).
    pub clock: Arc<dyn Clock>,
    /// The OpenID Connect provider's per-node state (issuer, opened keys, DPoP proof ids).
    pub oidc: crate::oidc::OidcState,
    /// Admission control: the lanes' gate and counts (surge mode).
    pub admission: crate::admission::Admission,
    /// The threads that check secrets (Argon2), one per core, with a bounded queue.
    pub hash_pool: crate::hashpool::HashPool,
    /// The token endpoint's group commit (code exchanges and refreshes that arrive together
    /// share one write transaction), started on first use; `None` when its thread could not
    /// start (each then commits alone).
    token_writes: std::sync::OnceLock<Option<eid_core::sql::Group>>,
    /// The intake route's group commit (applications that arrive together share one write
    /// transaction), started on first use like `token_writes`.
    intake_writes: std::sync::OnceLock<Option<eid_core::sql::Group>>,
    /// The intake devices and officers every application reads (confirmed inside each
    /// application's transaction: `eid_core::accounts::intake_on`).
    pub intake_cache: eid_core::accounts::IntakeCache,
}

fn db_of(s: &dyn Store) -> &dyn eid_core::sql::Db {
    s.db()
}

/// How many store calls may run at once.
const STORE_SLOTS: usize = 8;

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The account rules a configuration sets.
pub fn account_settings(c: &Config) -> eid_core::accounts::Settings {
    eid_core::accounts::Settings {
        otp_ttl: time::Duration::minutes(i64::from(c.otp_ttl_minutes)),
        activation_ttl: time::Duration::days(i64::from(c.code_ttl_days)),
        max_sends: c.code_max_sends,
        max_attempts: c.code_max_attempts,
        self_service_from: c.level2_self_service_from,
        max_failures: c.account_max_failures,
        lockout: time::Duration::minutes(
            i64::try_from(c.account_lockout_minutes).unwrap_or(i64::MAX / 60_000),
        ),
        session_ttl: time::Duration::minutes(
            i64::try_from(c.session_ttl_minutes).unwrap_or(i64::MAX / 60_000),
        ),
        web_idle: time::Duration::minutes(i64::from(c.citizen.idle_minutes)),
        web_ttl: time::Duration::hours(i64::from(c.citizen.absolute_hours)),
        code_issues_per_hour: c.limits.code_issues_per_hour,
        code_guesses_per_hour: c.limits.code_guesses_per_hour,
    }
}

/// Vietnam's time zone (UTC+7), used for "today" (card validity).
pub use eid_core::clock::vietnam;

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config) -> AppState {
        AppState::with_clock(store, config, Arc::new(SystemClock))
    }

    /// The state over `store` with time read from `clock`.
    pub fn with_clock(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> AppState {
        let limiter = RateLimiter::new(config.login_max_failures, config.login_window_minutes * 60);
        let accounts = account_settings(&config);
        let sources = crate::limits::SourceLimits::new(&config.limits);
        let sms = config.sms_sender();
        let verifier = config.face_verifier();
        let oidc = crate::oidc::OidcState::new(&config);
        let admission = crate::admission::Admission::new(&config.admission);
        AppState(Arc::new(Inner {
            admission,
            hash_pool: crate::hashpool::HashPool::for_cores(std::time::Duration::from_millis(
                config.limits.hash_wait_ms.into(),
            )),
            oidc,
            store,
            accounts,
            sms,
            dispatcher: Dispatcher::new(),
            verifier,
            config,
            metrics: Metrics::default(),
            limiter,
            tokens: crate::auth::TokenCache::default(),
            sources,
            store_slots: tokio::sync::Semaphore::new(STORE_SLOTS),
            clock,
            token_writes: std::sync::OnceLock::new(),
            intake_writes: std::sync::OnceLock::new(),
            intake_cache: eid_core::accounts::IntakeCache::default(),
        }))
    }

    /// The token endpoint's group commit (see [`eid_core::sql::Group`]).
    pub fn token_writes(&self) -> Option<&eid_core::sql::Group> {
        self.token_writes
            .get_or_init(|| {
                eid_core::sql::Group::start("eid-token-commit", Arc::clone(&self.store), db_of)
                    .map_err(|e| tracing::warn!("token group commit: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// The intake route's group commit (see [`eid_core::sql::Group`]).
    pub fn intake_writes(&self) -> Option<&eid_core::sql::Group> {
        self.intake_writes
            .get_or_init(|| {
                eid_core::sql::Group::start("eid-intake-commit", Arc::clone(&self.store), db_of)
                    .map_err(|e| tracing::warn!("intake group commit: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// The intake route's group commit if it has started (the metrics read its counts).
    pub fn intake_writes_started(&self) -> Option<&eid_core::sql::Group> {
        self.intake_writes.get().and_then(Option::as_ref)
    }

    /// The current time, from the state's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Today's date in Vietnam.
    pub fn today(&self) -> time::Date {
        self.clock.today()
    }

    /// Runs a point read (`f` must only read, and only a few rows): inline when the engine's
    /// reads are local and take microseconds (SQLite), on a blocking thread otherwise.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, AppError> + Send + 'static,
    {
        if self.store.reads_are_local() {
            return f(self.store.as_ref());
        }
        self.blocking(f).await
    }

    /// Runs `f` with the store on a blocking thread. A panic or cancellation there is an
    /// internal error.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, AppError> + Send + 'static,
    {
        let _slot = self
            .store_slots
            .acquire()
            .await
            .map_err(|e| AppError::Internal(format!("store slots closed: {e}")))?;
        self.unslotted(f).await
    }

    /// Runs a credential check on the hashing pool ([`crate::hashpool`]): one thread per core,
    /// a queue bounded in size and time (beyond it, the designed `503 server.busy`). It takes no
    /// store slot: its time is Argon2's, not the database's (a few point reads and one write),
    /// so a burst of sign-ins must not hold the slots every other request needs, nor start more
    /// checks at once than there are cores to run them.
    pub async fn hashing<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, AppError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        self.hash_pool.run(move || f(store.as_ref())).await
    }

    async fn unslotted<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, AppError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
    }
}
