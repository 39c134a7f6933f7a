//! Authorization requests: their validation (the same rules for a front-channel request and a
//! pushed one), pushed requests (RFC 9126: 60 s, single use) and requests waiting for the
//! citizen's sign-in or consent (10 minutes).
//!
//! Errors go back to the client only once the client and the redirect URI are known good;
//! before that they are a page of the provider's own, so the endpoint is never an open redirect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::Kek;
use time::OffsetDateTime;

use super::clients::{self, Client};
use super::{ms, OAuthError, ACR_LOA1};
use crate::secret;
use crate::sql::{self, Val};
use crate::{Error, Store, StoreError};

/// How long a pushed request lives.
pub const PAR_SECONDS: i64 = 60;
/// How long a request may wait for sign-in and consent.
pub const PENDING_SECONDS: i64 = 600;
/// The prefix of a pushed request's `request_uri`.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A validated authorization request.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The acr values asked for, each one the client may use.
    pub acr_values: Vec<String>,
    /// `dpop_jkt` (RFC 9449 §10): the key the code is bound to.
    pub dpop_jkt: Option<String>,
    /// When the request was first seen (Unix ms): `prompt=login` wants a sign-in after it.
    pub requested_at: i64,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthRequest({} {:?})", self.client_id, self.scopes)
    }
}

impl AuthRequest {
    /// The level this request needs: the highest acr value asked for, or the client's lowest
    /// allowed level when it asks for none.
    pub fn level(&self, client: &Client) -> u8 {
        let acceptable = if self.acr_values.is_empty() {
            &client.acr_values
        } else {
            &self.acr_values
        };
        if acceptable.iter().any(|a| a == ACR_LOA1) || acceptable.is_empty() {
            1
        } else {
            2
        }
    }
}

/// Why an authorization request is refused.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI is not known good: the provider's own page.
    Page {
        error: &'static str,
        description: String,
    },
    /// Back to the client's redirect URI with `error`, `state` and `iss`.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
    /// The store failed.
    Server(Error),
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> AuthorizeError {
        AuthorizeError::Server(Error::Store(e))
    }
}
impl From<Error> for AuthorizeError {
    fn from(e: Error) -> AuthorizeError {
        AuthorizeError::Server(e)
    }
}

fn page(error: &'static str, description: &str) -> AuthorizeError {
    AuthorizeError::Page {
        error,
        description: description.into(),
    }
}

/// Parameters as sent; a repeated parameter is refused (RFC 6749 §3.1).
pub type Params = BTreeMap<String, String>;

/// Collects form or query pairs; `None` if a parameter repeats.
pub fn params(pairs: Vec<(String, String)>) -> Option<Params> {
    let mut out = Params::new();
    for (k, v) in pairs {
        if out.insert(k, v).is_some() {
            return None;
        }
    }
    Some(out)
}

/// Validates a request's parameters for `client`, whose redirect URI is already known good.
/// The error is (code, description).
pub fn validate(
    client: &Client,
    p: &Params,
    now: OffsetDateTime,
) -> Result<AuthRequest, (&'static str, String)> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let err = |c: &'static str, d: &str| Err((c, d.to_owned()));
    if get("request").is_some() {
        return err(
            "request_not_supported",
            "request objects are not supported; use PAR",
        );
    }
    if get("response_type") != Some("code") {
        return err(
            "unsupported_response_type",
            "only the authorization code flow (response_type=code) is supported",
        );
    }
    if let Some(mode) = get("response_mode") {
        if mode != "query" {
            return err("invalid_request", "only response_mode=query is supported");
        }
    }
    let scopes: Vec<String> = get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return err("invalid_scope", "the scope must include openid");
    }
    if scopes.iter().any(|s| !client.scopes.contains(s)) {
        return err(
            "invalid_scope",
            "a scope asked for is not allowed for this client",
        );
    }
    let Some(challenge) = get("code_challenge") else {
        return err(
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return err("invalid_request", "PKCE code_challenge_method must be S256");
    }
    if challenge.len() != 43 || super::jose::unb64(challenge).is_none_or(|b| b.len() != 32) {
        return err(
            "invalid_request",
            "code_challenge is not a base64url SHA-256",
        );
    }
    let prompt = match get("prompt") {
        None => None,
        Some(p @ ("none" | "login" | "consent")) => Some(p.to_owned()),
        Some(_) => {
            return err(
                "invalid_request",
                "prompt must be one of none, login, consent",
            )
        }
    };
    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return err("invalid_request", "max_age must be a non-negative integer"),
        },
    };
    let acr_values: Vec<String> = get("acr_values")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if acr_values.iter().any(|a| !client.acr_values.contains(a)) {
        return err(
            "invalid_request",
            "an acr value asked for is not allowed for this client",
        );
    }
    let bounded = |k: &str, n: usize| get(k).is_some_and(|v| v.len() > n);
    if bounded("state", 1024) || bounded("nonce", 512) || bounded("login_hint", 64) {
        return err("invalid_request", "a parameter is too long");
    }
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: get("redirect_uri").unwrap_or("").to_owned(),
        scopes,
        state: get("state").map(str::to_owned),
        nonce: get("nonce").map(str::to_owned),
        code_challenge: challenge.to_owned(),
        prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        acr_values,
        dpop_jkt: get("dpop_jkt").map(str::to_owned),
        requested_at: ms(now),
    })
}

/// The client a request names, enabled, read through the node's cache of client rows
/// ([`clients::Cache`]): a front-channel step writes nothing a client could misuse, and the
/// token endpoint confirms the client's row in the exchange's own write transaction, so a
/// client disabled or changed on another node is stopped there at the latest; this node's
/// console forgets the row it changes.
fn enabled_client(
    store: &dyn Store,
    cache: &clients::Cache,
    client_id: Option<&str>,
) -> Result<Option<Client>, Error> {
    let Some(id) = client_id.filter(|c| !c.is_empty() && c.len() <= 100) else {
        return Ok(None);
    };
    Ok(cache
        .get(store, id)?
        .map(|(read, _)| read.client)
        .filter(|c| !c.disabled))
}

/// A front-channel request (`/oauth2/authorize`): by `request_uri` (consumed) or by value.
pub fn front(
    store: &dyn Store,
    cache: &clients::Cache,
    p: &Params,
    now: OffsetDateTime,
) -> Result<(Client, AuthRequest), AuthorizeError> {
    let client = enabled_client(store, cache, p.get("client_id").map(String::as_str))?
        .ok_or_else(|| page("invalid_client", "unknown client"))?;
    if let Some(uri) = p.get("request_uri") {
        let req = consume_par(store, &client.client_id, uri, now)?.ok_or_else(|| {
            page(
                "invalid_request_uri",
                "the request_uri is unknown, used or expired",
            )
        })?;
        return Ok((client, req));
    }
    let redirect = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    if !client.redirect_uris.iter().any(|u| u == redirect) {
        return Err(page(
            "invalid_request",
            "the redirect_uri is not registered for this client",
        ));
    }
    let back = |error, description| AuthorizeError::Redirect {
        redirect_uri: redirect.to_owned(),
        error,
        description,
        state: p.get("state").cloned(),
    };
    if client.require_par {
        return Err(back(
            "invalid_request",
            "this client must push its requests (PAR)".into(),
        ));
    }
    let req = validate(&client, p, now).map_err(|(e, d)| back(e, d))?;
    Ok((client, req))
}

/// Stores a pushed request for `client` (already authenticated); returns its `request_uri`.
pub fn push(
    store: &dyn Store,
    client: &Client,
    p: &Params,
    now: OffsetDateTime,
) -> Result<String, OAuthError> {
    if p.contains_key("request_uri") {
        return Err(OAuthError::new(
            "invalid_request",
            "request_uri may not be pushed",
        ));
    }
    if p.get("client_id").is_some_and(|c| *c != client.client_id) {
        return Err(OAuthError::new(
            "invalid_request",
            "client_id does not match the client",
        ));
    }
    let redirect = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    if !client.redirect_uris.iter().any(|u| u == redirect) {
        return Err(OAuthError::new(
            "invalid_request",
            "the redirect_uri is not registered for this client",
        ));
    }
    let req = validate(client, p, now).map_err(|(e, d)| OAuthError::new(e, &d))?;
    let handle = secret::random_token();
    let json = serde_json::to_string(&req)
        .map_err(|e| OAuthError::server(StoreError::Db(e.to_string())))?;
    sql::write_one(store.db(), |tx| {
        // Now and then, clear pushed requests that ended a while ago and were never used.
        if rand::random::<u8>() == 0 {
            tx.exec(
                "DELETE FROM oidc_request WHERE expires_at < $1",
                &[(ms(now) - 3_600_000).into()],
            )?;
        }
        tx.exec(
            "INSERT INTO oidc_request (handle_hash, kind, client_id, params, expires_at) \
             VALUES ($1, 'par', $2, $3, $4)",
            &[
                secret::token_hash(&handle).into(),
                client.client_id.clone().into(),
                json.into(),
                (ms(now) + PAR_SECONDS * 1000).into(),
            ],
        )
    })?;
    Ok(format!("{REQUEST_URI_PREFIX}{handle}"))
}

/// Takes a pushed request out (single use); `None` when unknown, used, expired or another
/// client's.
fn consume_par(
    store: &dyn Store,
    client_id: &str,
    uri: &str,
    now: OffsetDateTime,
) -> Result<Option<AuthRequest>, Error> {
    let Some(handle) = uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(None);
    };
    let row = sql::write_one(store.db(), |tx| {
        tx.row(
            "DELETE FROM oidc_request WHERE handle_hash = $1 AND kind = 'par' AND client_id = $2 \
             RETURNING params, expires_at",
            &[secret::token_hash(handle).into(), client_id.into()],
        )
    })?;
    let Some(r) = row else { return Ok(None) };
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    if g(1).int()? <= ms(now) {
        return Ok(None);
    }
    let mut req: AuthRequest = serde_json::from_str(&g(0).text()?)
        .map_err(|_| StoreError::Corrupt("a pushed request is not JSON".into()))?;
    req.requested_at = ms(now);
    Ok(Some(req))
}

/// The sealing purpose of waiting requests.
const PENDING_PURPOSE: &str = "oidc-pending";

/// A waiting request as sealed in its handle.
#[derive(Serialize, Deserialize)]
struct Pending {
    req: AuthRequest,
    /// When it ends (Unix ms).
    expires: i64,
}

/// Keeps a request while the citizen signs in or consents: the handle is the request itself,
/// sealed under `kek` for [`PENDING_SECONDS`], so waiting costs no write. A handle says
/// nothing to whoever holds it and opens only here; it is as good as the authorization URL it
/// came from (the session, consent and CSRF checks still apply when it is resumed).
pub fn save_pending(kek: &Kek, req: &AuthRequest, now: OffsetDateTime) -> Result<String, Error> {
    let body = serde_json::to_vec(&Pending {
        req: req.clone(),
        expires: ms(now) + PENDING_SECONDS * 1000,
    })
    .map_err(|e| StoreError::Db(e.to_string()))?;
    kek.seal_token(PENDING_PURPOSE, &body, now)
}

/// A waiting request by handle, with its client (enabled); `None` when unknown or expired.
pub fn load_pending(
    store: &dyn Store,
    cache: &clients::Cache,
    kek: &Kek,
    handle: &str,
    now: OffsetDateTime,
) -> Result<Option<(Client, AuthRequest)>, Error> {
    let Some(plain) = kek.open_token(PENDING_PURPOSE, handle, 1, now) else {
        return Ok(None);
    };
    let Ok(p) = serde_json::from_slice::<Pending>(&plain) else {
        return Ok(None);
    };
    if p.expires <= ms(now) {
        return Ok(None);
    }
    let Some(client) = enabled_client(store, cache, Some(&p.req.client_id))? else {
        return Ok(None);
    };
    Ok(Some((client, p.req)))
}
