//! The OpenID Connect provider over HTTP: discovery, JWKS, PAR, authorize, token, userinfo,
//! logout (RP-initiated and back-channel), the consent and refusal pages. The rules are in
//! `eid_core::oidc`; this module parses, answers in the specifications' formats and keeps the
//! per-node caches (the opened signing keys, DPoP proof ids).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use eid_core::oidc::keys::{self, Kek, SigningKeys};
use eid_core::oidc::OAuthError;
use eid_core::Store;
use serde::Deserialize;
use serde_json::Value;

use crate::state::AppState;

mod endpoints;
mod front;
pub(crate) use endpoints::credentials as client_credentials;
pub mod i18n;
mod pages;
pub mod services;

/// The `[oidc]` table of the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The issuer identifier, the server's public base URL (`https://id.example.vn`). Unset:
    /// `http://` and the address the server listens on (development and tests).
    pub issuer: Option<String>,
    /// The 32-byte key-encryption key that seals the signing keys; created (mode 0600) when
    /// absent. Unset: `<database file>.oidc.key` beside a SQLite database; on PostgreSQL it
    /// must be set outside development mode.
    pub key_file: Option<String>,
}

/// The key-encryption key's file: `[oidc] key_file`, or `<database file>.oidc.key` beside a
/// SQLite database; `None` on PostgreSQL without `key_file`.
pub fn key_file(config: &crate::Config) -> Option<PathBuf> {
    config
        .oidc
        .key_file
        .as_ref()
        .map(PathBuf::from)
        .or_else(|| {
            config
                .db
                .strip_prefix("sqlite://")
                .filter(|p| !p.is_empty() && !p.contains(":memory:"))
                .map(|p| PathBuf::from(format!("{p}.oidc.key")))
        })
}

/// How long opened signing keys are used before the store is asked again (a rotation on
/// another node shows within this time; the JWKS publishes the next key long before).
const KEY_CACHE: Duration = Duration::from_secs(30);

struct Cached {
    keys: Arc<SigningKeys>,
    jwks: Arc<Value>,
    at: Instant,
}

/// The provider's per-node state.
pub struct OidcState {
    pub issuer: String,
    kek_file: Option<PathBuf>,
    development: bool,
    /// Read or created on first use, so a server that never signs keeps no key file.
    kek: std::sync::OnceLock<Result<Arc<Kek>, String>>,
    cache: RwLock<Option<Cached>>,
    /// Held while the keys are (re)loaded, so requests that find the cache empty or stale
    /// together open the keys once — and, on a new database, generate them once (two RSA keys
    /// take about a second of CPU) — instead of each doing it.
    reload: Mutex<()>,
    /// DPoP proof ids seen within their window (jti → expiry, Unix seconds).
    dpop_seen: Mutex<HashMap<String, i64>>,
    /// The token endpoint's client rows (see [`eid_core::oidc::clients::Cache`]).
    pub clients: eid_core::oidc::clients::Cache,
}

impl std::fmt::Debug for OidcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OidcState({})", self.issuer)
    }
}

impl OidcState {
    /// From the configuration: the issuer, and the key-encryption key (read or created now).
    pub fn new(config: &crate::Config) -> OidcState {
        let issuer = config
            .oidc
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen))
            .trim_end_matches('/')
            .to_owned();
        let path = config
            .oidc
            .key_file
            .as_ref()
            .map(PathBuf::from)
            .or_else(|| {
                config
                    .db
                    .strip_prefix("sqlite://")
                    .filter(|p| !p.is_empty() && !p.contains(":memory:"))
                    .map(|p| PathBuf::from(format!("{p}.oidc.key")))
            });
        OidcState {
            issuer,
            kek_file: path,
            development: config.development,
            kek: std::sync::OnceLock::new(),
            cache: RwLock::new(None),
            reload: Mutex::new(()),
            dpop_seen: Mutex::new(HashMap::new()),
            clients: eid_core::oidc::clients::Cache::default(),
        }
    }

    /// Whether this node's key-encryption key lives only as long as the process (development
    /// mode on PostgreSQL without `[oidc] key_file`): keys sealed by an earlier process do not
    /// open with it.
    pub fn kek_is_temporary(&self) -> bool {
        self.kek_file.is_none() && self.development
    }

    /// The key-encryption key (signing keys, sealed codes and waiting requests).
    pub fn kek(&self) -> Result<Arc<Kek>, OAuthError> {
        let kek = self.kek.get_or_init(|| match &self.kek_file {
            Some(p) => Kek::load_or_create(p).map(Arc::new),
            None if self.development => Ok(Arc::new(Kek::random())),
            None => Err("set [oidc] key_file: the signing keys need a key-encryption key".into()),
        });
        kek.clone().map_err(|e| OAuthError {
            error: "server_error",
            description: "the provider is not configured".into(),
            cause: Some(e),
        })
    }

    fn cached(&self) -> Option<(Arc<SigningKeys>, Arc<Value>)> {
        let guard = self.cache.read().ok()?;
        let c = guard.as_ref()?;
        (c.at.elapsed() < KEY_CACHE).then(|| (Arc::clone(&c.keys), Arc::clone(&c.jwks)))
    }

    /// The current signing keys and the published JWKS (made on first use; cached briefly).
    pub fn keys(
        &self,
        store: &dyn Store,
        now: time::OffsetDateTime,
    ) -> Result<(Arc<SigningKeys>, Arc<Value>), OAuthError> {
        if let Some(k) = self.cached() {
            return Ok(k);
        }
        // One loader at a time; whoever waited finds the cache filled by the one before.
        let _loading = self.reload.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = self.cached() {
            return Ok(k);
        }
        let kek = self.kek()?;
        keys::ensure(store, &kek, now)?;
        let signing = Arc::new(keys::signing_keys(store, &kek)?);
        let jwks = Arc::new(keys::jwks(store)?);
        if let Ok(mut g) = self.cache.write() {
            *g = Some(Cached {
                keys: Arc::clone(&signing),
                jwks: Arc::clone(&jwks),
                at: Instant::now(),
            });
        }
        Ok((signing, jwks))
    }

    /// Forgets the cached keys (after a rotation on this node).
    pub fn forget_keys(&self) {
        if let Ok(mut g) = self.cache.write() {
            *g = None;
        }
    }

    /// Records a DPoP proof id; `false` if it was seen within its window (a replay).
    fn dpop_fresh(&self, jti: &str, iat: i64, now: i64) -> bool {
        let Ok(mut seen) = self.dpop_seen.lock() else {
            return false;
        };
        if seen.len() > 100_000 {
            seen.retain(|_, exp| *exp > now);
        }
        let exp = iat + eid_core::oidc::auth::DPOP_WINDOW_SECONDS;
        match seen.get(jti) {
            Some(e) if *e > now => false,
            _ => {
                seen.insert(jti.to_owned(), exp);
                true
            }
        }
    }
}

/// Makes the signing keys if the database has none and opens them into the node's cache (at
/// `eid serve` start: no request pays for generating or opening them).
pub async fn prepare_keys(state: &AppState) -> Result<(), String> {
    let st = state.clone();
    let now = state.now();
    tokio::task::spawn_blocking(move || {
        st.oidc
            .keys(st.store.as_ref(), now)
            .map(|_| ())
            .map_err(|e| e.cause.unwrap_or(e.description))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Every route of the provider.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(endpoints::discovery),
        )
        .route("/oauth2/jwks", get(endpoints::jwks))
        .route("/oauth2/par", axum::routing::post(endpoints::par))
        .route("/oauth2/token", axum::routing::post(endpoints::token))
        .route(
            "/oauth2/userinfo",
            get(endpoints::userinfo).post(endpoints::userinfo),
        )
        .route(
            "/oauth2/authorize",
            get(front::authorize).post(front::authorize_post),
        )
        .route("/oauth2/resume", get(front::resume))
        .route("/oauth2/consent", axum::routing::post(front::consent))
        .route(
            "/oauth2/logout",
            get(front::logout).post(front::logout_post),
        )
        .merge(services::router())
}

/// A JSON error in the specifications' format, not cached.
pub(crate) fn oauth_error(e: &OAuthError) -> Response {
    if let Some(cause) = &e.cause {
        tracing::error!(request_id = %crate::error::request_id(), error = %cause, "oidc failure");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({"error": e.error, "error_description": e.description});
    let mut r = (status, axum::Json(body)).into_response();
    if e.error == "invalid_client" {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"eid\""),
        );
    }
    r
}

/// The browser's session, as the provider sees it (the citizen pages' session): `sid` is a
/// hash of the session's id, so a client never learns the session's handle.
pub(crate) async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<eid_core::oidc::Session> {
    let ws = match crate::citizen::session::current(state, headers).await {
        Ok(ws) => ws?,
        Err(e) => {
            tracing::warn!(request_id = %crate::error::request_id(), error = ?e, "citizen session");
            return None;
        }
    };
    Some(eid_core::oidc::Session {
        sid: sid_of(ws.id, &ws.device_id),
        personal_id: ws.personal_id.as_str().to_owned(),
        level: ws.level.number(),
        auth_time: ws.auth_time,
        amr: ws.amr.clone(),
    })
}

/// The session's published id: a hash over the session's id and its device's hash (a secret
/// of the browser), so it names one session and cannot be guessed from a sequence.
fn sid_of(id: i64, device: &str) -> String {
    eid_core::oidc::jose::sha256_b64(format!("eid-sid:{id}:{device}").as_bytes())
}

/// Ends the browser's citizen session (RP-initiated logout).
pub(crate) async fn end_browser_session(state: &AppState, headers: &HeaderMap) {
    if let Ok(Some(ws)) = crate::citizen::session::current(state, headers).await {
        let now = state.now();
        let r = state
            .blocking(move |store| Ok(eid_core::accounts::web_session::end(store, ws.id, now)?))
            .await;
        if let Err(e) = r {
            tracing::warn!(request_id = %crate::error::request_id(), error = ?e, "ending a citizen session");
        }
    }
}

/// Where to send a browser to sign in (at `level`, `fresh` forcing a new sign-in), coming back
/// to `next`.
pub(crate) fn sign_in_url(next: &str, level: u8, fresh: bool) -> String {
    crate::citizen::session::sign_in_url(next, level, fresh)
}

/// Percent-encodes a query value.
pub(crate) fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
