//! Building and running the server: the router, the request middleware, and the listener.
//!
//! [`Application::build`] binds the listener first and returns the address it got, so tests bind
//! port 0 and learn the real port. The middleware gives every request a random id (also in the
//! `x-request-id` response header and every error body), counts it in the metrics by route
//! template, logs it without its path (paths can hold personal IDs), and adds the security
//! headers.
//!
//! The server loop is ours rather than `axum::serve`, for slow clients (see ARCHITECTURE.md,
//! "Slow clients"): at most `max_connections` connections are open (beyond it a new one is
//! closed at once); a connection that has not sent a whole request header within
//! `header_read_timeout_seconds` of opening (or of its previous answer) is closed; a request
//! not answered within `request_timeout_seconds`, its body read included, gets 408
//! `request.timeout`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
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
        let mut config = config;
        if config.oidc.issuer.is_none() {
            config.oidc.issuer = Some(format!("http://{addr}"));
        }
        let state = AppState::with_clock(Arc::clone(&store), config, clock);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let keep_body = state.sms.name() == "dev-sink";
        state.dispatcher.spawn(
            Arc::new(crate::accounts_api::StoreOutbox { store, keep_body }),
            Arc::clone(&state.sms),
            Arc::clone(&state.clock),
            std::time::Duration::from_secs(2),
            stopped.clone(),
        );
        crate::trust::spawn_preparer(&state, stopped.clone());
        crate::trust::spawn_folder(&state, stopped);
        crate::linkage::jobs::resume_open(&state);
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
        let limits = Limits::of(&self.state.config);
        serve(self.listener, self.router, limits, shutdown_signal()).await;
        Ok(())
    }
}

/// The connection limits of [`serve`], from the configuration.
#[derive(Debug, Clone, Copy)]
struct Limits {
    connections: usize,
    header_read: Duration,
}

impl Limits {
    fn of(config: &Config) -> Limits {
        Limits {
            connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
            header_read: Duration::from_secs(config.header_read_timeout_seconds),
        }
    }
}

/// Accepts connections until `stop` completes, then lets the open ones finish their request
/// and waits for them. Each connection holds one of `limits.connections` places while it is
/// open; a connection that finds none free is closed before anything is read from it.
async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let places = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    let (stop_all, stopping) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(place) = Arc::clone(&places).try_acquire_owned() else {
            tracing::debug!("connection limit reached: a new connection was closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<_>| {
            use tower_service::Service;
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().call(request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(place);
        });
    }
    drop(listener);
    let _ = stop_all.send(true);
    let all = u32::try_from(limits.connections).unwrap_or(u32::MAX);
    let _ = places.acquire_many(all).await;
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
        .merge(crate::oidc::router())
        .merge(crate::citizen::router(state.clone()))
        .merge(crate::stay::router())
        .merge(crate::admission::console::routes())
        .merge(crate::trust::router(state.clone()))
        .merge(crate::wallet::router())
        .merge(crate::residence::router(state.clone()))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::admission::admit,
        ))
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
    if let Some(g) = state.intake_writes_started() {
        state.metrics.intake_group(g.counts());
    }
    state.metrics.secret_checks(state.hash_pool.served());
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
async fn audit_durable(state: &AppState, id: &str) -> Result<(), eid_core::StoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.store.audit_synced(
        id,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    match rx.await {
        Ok(r) => r,
        Err(_) => Err(eid_core::StoreError::Db(
            "the audit flusher dropped the request".to_owned(),
        )),
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
    let api = request.uri().path().starts_with("/api/");
    let lang = crate::console::i18n::Lang::from_headers(request.headers());
    let limit = Duration::from_secs(state.config.request_timeout_seconds);
    let answer = async {
        let response = next.run(request).await;
        // The answer leaves only once the request's audit lines are committed (group commit
        // on SQLite; at once on PostgreSQL, which committed each line already): a crash after
        // this point cannot lose the line of an answered request.
        match audit_durable(&state, &id).await {
            Ok(()) => response,
            Err(e @ eid_core::StoreError::Unavailable(_)) => {
                crate::error::store_error(&e).into_response()
            }
            Err(e) => AppError::Internal(format!("audit trail: {e}")).into_response(),
        }
    };
    let timed = async {
        match tokio::time::timeout(limit, answer).await {
            Ok(response) => response,
            Err(_) => {
                let err = AppError::Refused {
                    status: StatusCode::REQUEST_TIMEOUT,
                    code: "request.timeout",
                    message: format!(
                        "the request was not answered within {} seconds",
                        limit.as_secs()
                    ),
                    detail: None,
                };
                if api {
                    err.into_response()
                } else {
                    crate::console::ConsoleError(err, lang).into_response()
                }
            }
        }
    };
    let mut response = REQUEST_ID
        .scope(
            id.clone(),
            REQUEST_CLOCK.scope(clock, crate::console::DEVELOPMENT.scope(development, timed)),
        )
        .await;
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
    // A page that must send a form on to another origin (the OpenID Connect consent) sets
    // its own policy.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
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
