//! Building and running the server: the router, the request middleware, and the listener.
//!
//! [`Application::build`] binds the listener first and returns the address it got, so tests bind
//! port 0 and learn the real port. The middleware gives every request a random id (also in the
//! `x-request-id` response header and every error body), counts it in the metrics by route
//! template, logs it without its path (paths can hold personal IDs), and adds the security
//! headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use eid_core::clock::Clock;
use eid_core::Store;

use crate::config::Config;
use crate::error::{AppError, REQUEST_CLOCK, REQUEST_ID};
use crate::state::AppState;

/// A bound, ready-to-run server.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
    /// Dropping it stops the SMS dispatcher.
    _stop_dispatcher: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Opens the store named by `config.db`, migrates it, and binds `config.listen`. Refuses a
    /// configuration that [`Config::check_production`] refuses, before touching the database.
    pub async fn build(config: Config) -> Result<(Application, SocketAddr), String> {
        config.check_production().map_err(|e| e.to_string())?;
        let url = config.db.clone();
        let store = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, String> {
            eid_core::store::prepare_sqlite_dir(&url)?;
            let store = eid_core::open(&url).map_err(|e| e.to_string())?;
            store.migrate().map_err(|e| e.to_string())?;
            Ok(store)
        })
        .await
        .map_err(|e| e.to_string())??;
        Application::with_store(config, store).await
    }

    /// Binds `config.listen` over an already opened and migrated store. Refuses the development
    /// adapters outside development mode ([`Config::check_production`]).
    pub async fn with_store(
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<(Application, SocketAddr), String> {
        let clock = config.clock();
        Application::with_clock(config, store, clock).await
    }

    /// Binds `config.listen` over an already opened and migrated store, reading time from
    /// `clock` (the test kit runs servers at a fixed date this way).
    pub async fn with_clock(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Application, SocketAddr), String> {
        config.check_production().map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let state = AppState::with_clock(Arc::clone(&store), config, clock);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let keep_body = state.sms.name() == "dev-sink";
        state.dispatcher.spawn(
            Arc::new(crate::accounts_api::StoreOutbox { store, keep_body }),
            Arc::clone(&state.sms),
            Arc::clone(&state.clock),
            std::time::Duration::from_secs(2),
            stopped,
        );
        let router = router(state.clone());
        Ok((
            Application {
                listener,
                router,
                state,
                _stop_dispatcher: stop,
            },
            addr,
        ))
    }

    /// The shared state (for tests and the demo).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C (or SIGTERM on Unix).
    pub async fn run_until_stopped(self) -> Result<(), String> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(Router::from(crate::openapi::api_router()))
        .merge(crate::console::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            around_request,
        ))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.read(|store| Ok(store.ping()?)).await?;
    Ok("ok")
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        if !metrics_authorized(token, &headers) {
            return AppError::Unauthenticated.into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Whether `headers` carry `Authorization: Bearer <token>`. The hashes are compared in constant
/// time, so neither the token's bytes nor its length show in the answer's timing.
fn metrics_authorized(token: &str, headers: &HeaderMap) -> bool {
    use eid_core::secret::{constant_time_eq, token_hash};
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    constant_time_eq(&token_hash(given), &token_hash(token))
}

async fn not_found(request: Request) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let err = AppError::not_found("route.not_found", "no such page or API route");
    if api {
        err.into_response()
    } else {
        let lang = crate::console::i18n::Lang::from_headers(request.headers());
        crate::console::ConsoleError(err, lang).into_response()
    }
}

/// A random request id: 16 hex digits.
fn new_request_id() -> String {
    let mut token = eid_core::secret::random_token();
    token.truncate(16);
    token
}

/// Waits until the store has committed every audit line of request `id`.
async fn audit_durable(state: &AppState, id: &str) -> Result<(), String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.store.audit_synced(
        id,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    match rx.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the audit flusher dropped the request".to_owned()),
    }
}

async fn around_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".to_owned());
    let method = request.method().clone();
    let id = new_request_id();
    let clock = Arc::clone(&state.clock);
    // The console's pages read the mode from here to show the development strip.
    let development = state.config.development;
    let mut response = REQUEST_ID
        .scope(
            id.clone(),
            REQUEST_CLOCK.scope(
                clock,
                crate::console::DEVELOPMENT.scope(development, next.run(request)),
            ),
        )
        .await;
    // The answer leaves only once the request's audit lines are committed (group commit on
    // SQLite; at once on PostgreSQL, which committed each line already): a crash after this
    // point cannot lose the line of an answered request.
    if let Err(e) = audit_durable(&state, &id).await {
        response = AppError::Internal(format!("audit trail: {e}")).into_response();
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(&route, status, elapsed);
    tracing::info!(request_id = %id, %method, route = %route, status, micros = elapsed.as_micros() as u64, "request");
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    if let Some(max_age) = state.config.hsts_max_age_seconds {
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={max_age}; includeSubDomains")) {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, v);
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
