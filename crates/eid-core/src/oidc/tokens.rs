//! Signing what the token endpoint answers — the ID token (the client's algorithm), the access
//! token (an ES256 JWT, RFC 9068, carrying the grant's id and never the personal ID; `cnf.jkt`
//! when DPoP-bound) — and checking an access token at the userinfo endpoint.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::clients::Client;
use super::grant::Issue;
use super::jose::{self, Alg, Jws};
use super::keys::SigningKeys;
use super::OAuthError;
use crate::secret;

/// How long ID and access tokens live.
pub const TOKEN_SECONDS: i64 = 600;

/// A token response, signed.
pub struct Minted {
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub refresh_token: Option<String>,
    pub scope: String,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Minted({}, …)", self.token_type)
    }
}

fn no_key() -> OAuthError {
    OAuthError {
        error: "server_error",
        description: "the server failed; try again".into(),
        cause: Some("no current signing key".into()),
    }
}

fn signing_failed(e: String) -> OAuthError {
    OAuthError {
        error: "server_error",
        description: "the server failed; try again".into(),
        cause: Some(e),
    }
}

/// Signs the tokens of `issue` for `client`.
pub fn mint(
    keys: &SigningKeys,
    issuer: &str,
    client: &Client,
    issue: &Issue,
    now: OffsetDateTime,
) -> Result<Minted, OAuthError> {
    let iat = now.unix_timestamp();
    let d = &issue.details;
    let scope = d.scopes.join(" ");
    let mut at = json!({
        "iss": issuer,
        "sub": issue.sub,
        "aud": issuer,
        "client_id": client.client_id,
        "iat": iat,
        "exp": iat + TOKEN_SECONDS,
        "jti": secret::random_token(),
        "scope": scope,
        "gid": issue.grant_id,
    });
    if let Some(jkt) = &d.dpop_jkt {
        at["cnf"] = json!({ "jkt": jkt });
    }
    let es = keys.get(Alg::Es256).ok_or_else(no_key)?;
    let access_token = es.sign_jwt("at+jwt", &at).map_err(signing_failed)?;
    let half = sha2_half(&access_token);
    let mut id = json!({
        "iss": issuer,
        "sub": issue.sub,
        "aud": client.client_id,
        "iat": iat,
        "exp": iat + TOKEN_SECONDS,
        "auth_time": d.auth_time,
        "acr": d.acr,
        "amr": d.amr,
        "sid": d.sid,
        "at_hash": half,
    });
    if let Some(n) = &d.nonce {
        id["nonce"] = json!(n);
    }
    let key = keys.get(client.id_token_alg).ok_or_else(no_key)?;
    let id_token = key.sign_jwt("JWT", &id).map_err(signing_failed)?;
    Ok(Minted {
        access_token,
        token_type: if d.dpop_jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
        expires_in: TOKEN_SECONDS,
        id_token,
        refresh_token: issue.refresh_token.clone(),
        scope,
    })
}

/// `at_hash`: the left half of the token's SHA-256, base64url.
fn sha2_half(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(token.as_bytes());
    jose::b64(h.get(..16).unwrap_or_default())
}

/// A client-credentials access token (RFC 6749 §4.4) for a client's own system, not a
/// person: `sub` is the client, `gty` says the grant, and there is no grant id, so the userinfo
/// endpoint refuses it. No ID token, no refresh token.
pub fn mint_client(
    keys: &SigningKeys,
    issuer: &str,
    client: &Client,
    scope: &str,
    now: OffsetDateTime,
) -> Result<Minted, OAuthError> {
    let iat = now.unix_timestamp();
    let at = json!({
        "iss": issuer,
        "sub": client.client_id,
        "aud": issuer,
        "client_id": client.client_id,
        "iat": iat,
        "exp": iat + TOKEN_SECONDS,
        "jti": secret::random_token(),
        "scope": scope,
        "gty": "client_credentials",
    });
    let es = keys.get(Alg::Es256).ok_or_else(no_key)?;
    Ok(Minted {
        access_token: es.sign_jwt("at+jwt", &at).map_err(signing_failed)?,
        token_type: "Bearer",
        expires_in: TOKEN_SECONDS,
        id_token: String::new(),
        refresh_token: None,
        scope: scope.to_owned(),
    })
}

/// A client-credentials access token's claims, checked.
#[derive(Debug)]
pub struct ClientAccess {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Checks a client-credentials access token against the published keys: signature, issuer,
/// type, grant, expiry.
pub fn check_client_access(
    jwks: &Value,
    issuer: &str,
    token: &str,
    now: OffsetDateTime,
) -> Result<ClientAccess, OAuthError> {
    let bad = || OAuthError::new("invalid_token", "the access token is not valid");
    let c = verified(jwks, issuer, token, now)?;
    if c.get("gty").and_then(Value::as_str) != Some("client_credentials") {
        return Err(bad());
    }
    Ok(ClientAccess {
        client_id: c
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_owned(),
        scopes: c
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

/// The claims of an access token whose signature, issuer, type and expiry are good.
fn verified(
    jwks: &Value,
    issuer: &str,
    token: &str,
    now: OffsetDateTime,
) -> Result<Value, OAuthError> {
    let bad = || OAuthError::new("invalid_token", "the access token is not valid");
    let jws = Jws::parse(token).ok_or_else(bad)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
        return Err(bad());
    }
    let kid = jws
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(bad)?;
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|ks| {
            ks.iter()
                .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        })
        .ok_or_else(bad)?;
    if !jws.verify(key) {
        return Err(bad());
    }
    let c = jws.claims;
    if c.get("iss").and_then(Value::as_str) != Some(issuer)
        || c.get("exp").and_then(Value::as_i64).unwrap_or(0) <= now.unix_timestamp()
    {
        return Err(bad());
    }
    Ok(c)
}

/// An access token's claims the userinfo endpoint needs.
#[derive(Debug)]
pub struct Access {
    pub grant_id: i64,
    pub client_id: String,
    pub sub: String,
    pub jkt: Option<String>,
}

/// Checks an access token against the published keys: signature, issuer, type, expiry.
pub fn check_access(
    jwks: &Value,
    issuer: &str,
    token: &str,
    now: OffsetDateTime,
) -> Result<Access, OAuthError> {
    let bad = || OAuthError::new("invalid_token", "the access token is not valid");
    let c = &verified(jwks, issuer, token, now)?;
    Ok(Access {
        grant_id: c.get("gid").and_then(Value::as_i64).ok_or_else(bad)?,
        client_id: c
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_owned(),
        sub: c
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_owned(),
        jkt: c
            .get("cnf")
            .and_then(|x| x.get("jkt"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
pub fn logout_token(
    keys: &SigningKeys,
    issuer: &str,
    client: &Client,
    sub: &str,
    sid: &str,
    now: OffsetDateTime,
) -> Result<String, OAuthError> {
    let iat = now.unix_timestamp();
    let claims = json!({
        "iss": issuer,
        "aud": client.client_id,
        "iat": iat,
        "exp": iat + 120,
        "jti": secret::random_token(),
        "sub": sub,
        "sid": sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    keys.get(client.id_token_alg)
        .ok_or_else(no_key)?
        .sign_jwt("logout+jwt", &claims)
        .map_err(signing_failed)
}

/// Reads an ID token this provider signed (`id_token_hint`): any published key, expired or
/// not. Returns (client_id, sid).
pub fn read_id_token_hint(
    jwks: &Value,
    issuer: &str,
    token: &str,
) -> Option<(String, Option<String>)> {
    let jws = Jws::parse(token)?;
    let kid = jws.header.get("kid").and_then(Value::as_str)?;
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)?
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))?;
    if !jws.verify(key) || jws.claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    let aud = match jws.claims.get("aud")? {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    let sid = jws
        .claims
        .get("sid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((aud, sid))
}
