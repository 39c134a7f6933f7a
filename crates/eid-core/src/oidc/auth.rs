//! Who is calling the token and PAR endpoints: `client_secret_basic` or `private_key_jwt`
//! (RFC 7523: `iss` = `sub` = the client, `aud` the issuer or the endpoint, a near `exp`, and a
//! `jti` used once within its lifetime), and DPoP proofs (RFC 9449).

use serde_json::Value;
use time::OffsetDateTime;

use super::clients::{self, AuthMethod, Client};
use super::jose::{self, Jws};
use super::{ms, OAuthError};
use crate::sql::{self, Tx};
use crate::{secret, Store, StoreError};

/// The client assertion type of RFC 7523.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest lifetime of a client assertion the provider accepts.
const ASSERTION_MAX_SECONDS: i64 = 600;
/// How far a DPoP proof's `iat` may be from the server's clock.
pub const DPOP_WINDOW_SECONDS: i64 = 60;

/// What the caller presented.
pub enum Credentials {
    /// HTTP Basic: client id and secret (already form-decoded).
    Basic { client_id: String, secret: String },
    /// `client_assertion` with `client_assertion_type` jwt-bearer.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
    /// Neither.
    Missing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Basic { .. } => "Credentials::Basic(…)",
            Credentials::Assertion { .. } => "Credentials::Assertion(…)",
            Credentials::Missing => "Credentials::Missing",
        })
    }
}

/// An authenticated client, with the assertion's `jti` to spend once.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Client,
    jti: Option<(Vec<u8>, i64)>,
    /// The client's row as cached, when the client came from [`clients::Cache`]: the write
    /// transaction that issues tokens confirms it ([`Authenticated::confirm_client`]).
    cached_row: Option<sql::SqlRow>,
}

/// The error of a grant whose cached client changed before its transaction (rolled back; the
/// token endpoint forgets the cache and runs the request again from the store).
pub const STALE_CLIENT: &str = "stale_client";

fn invalid(d: &str) -> OAuthError {
    OAuthError::new("invalid_client", d)
}

/// Authenticates a client. `audiences` are the values an assertion's `aud` may hold (the
/// issuer, the endpoint's URL). A failure is audited (`oidc.client_auth`, `failed`, the client
/// id claimed) with `request_id`, like every other secret check; a success writes nothing, so
/// a token response stays one durable write.
pub fn authenticate(
    store: &dyn Store,
    creds: &Credentials,
    audiences: &[&str],
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Authenticated, OAuthError> {
    authenticate_within(store, creds, audiences, request_id, now, &|| true)
}

/// The error of a failure past the caller's budget ([`authenticate_within`]): not audited; the
/// token endpoint answers it 429.
pub const OVER_BUDGET: &str = "over_budget";

/// [`authenticate`] where a failure must first take a place in the caller's budget
/// (`failure_place`, e.g. the source address's failed authentications): past it, the failure is
/// [`OVER_BUDGET`] and writes nothing.
pub fn authenticate_within(
    store: &dyn Store,
    creds: &Credentials,
    audiences: &[&str],
    request_id: &str,
    now: OffsetDateTime,
    failure_place: &dyn Fn() -> bool,
) -> Result<Authenticated, OAuthError> {
    let result = check(&|id| clients::get(store, id), creds, audiences, now);
    settle(store, creds, request_id, now, failure_place, result)
}

/// [`authenticate_within`] with the client read through `cache` (see [`clients::Cache`]): a
/// client that fails to authenticate from the cache is read again from the store and checked
/// once more (its secret may have been rotated), and only that check's failure counts.
pub fn authenticate_cached(
    store: &dyn Store,
    cache: &clients::Cache,
    creds: &Credentials,
    audiences: &[&str],
    request_id: &str,
    now: OffsetDateTime,
    failure_place: &dyn Fn() -> bool,
) -> Result<Authenticated, OAuthError> {
    let hit: std::cell::RefCell<Option<(String, sql::SqlRow)>> = std::cell::RefCell::new(None);
    let lookup = |id: &str| -> Result<Option<Client>, crate::Error> {
        Ok(cache.get(store, id)?.map(|(read, cached)| {
            if cached {
                hit.replace(Some((id.to_owned(), read.row)));
            }
            read.client
        }))
    };
    let result = check(&lookup, creds, audiences, now);
    match (result, hit.into_inner()) {
        (Ok(mut a), Some((_, row))) => {
            a.cached_row = Some(row);
            Ok(a)
        }
        (Err(_), Some((id, _))) => {
            cache.forget(&id);
            authenticate_within(store, creds, audiences, request_id, now, failure_place)
        }
        (result, None) => settle(store, creds, request_id, now, failure_place, result),
    }
}

/// Budgets and audits a failed authentication.
fn settle(
    store: &dyn Store,
    creds: &Credentials,
    request_id: &str,
    now: OffsetDateTime,
    failure_place: &dyn Fn() -> bool,
    result: Result<Authenticated, OAuthError>,
) -> Result<Authenticated, OAuthError> {
    if let Err(e) = &result {
        if e.error == "invalid_client" && !failure_place() {
            return Err(OAuthError::new(
                OVER_BUDGET,
                "too many failed client authentications from this address; try again later",
            ));
        }
        if e.error == "invalid_client" {
            let claimed = match creds {
                Credentials::Basic { client_id, .. } => client_id.clone(),
                Credentials::Assertion {
                    client_id,
                    assertion,
                } => client_id.clone().unwrap_or_else(|| {
                    Jws::parse(assertion)
                        .and_then(|j| {
                            j.claims
                                .get("iss")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .unwrap_or_default()
                }),
                Credentials::Missing => String::new(),
            };
            let claimed: String = claimed.chars().take(100).collect();
            store.audit(
                &crate::Actor::Anonymous,
                "oidc.client_auth",
                &claimed,
                "failed",
                request_id,
                now,
            )?;
        }
    }
    result
}

type Lookup<'a> = dyn Fn(&str) -> Result<Option<Client>, crate::Error> + 'a;

fn check(
    lookup: &Lookup<'_>,
    creds: &Credentials,
    audiences: &[&str],
    now: OffsetDateTime,
) -> Result<Authenticated, OAuthError> {
    match creds {
        Credentials::Missing => Err(invalid("client authentication is required")),
        Credentials::Basic { client_id, secret } => {
            let client = lookup(client_id)?
                .filter(|c| !c.disabled && c.auth_method == AuthMethod::ClientSecretBasic);
            match client {
                Some(c) if c.secret_matches(secret) => Ok(Authenticated {
                    client: c,
                    jti: None,
                    cached_row: None,
                }),
                _ => Err(invalid("client authentication failed")),
            }
        }
        Credentials::Assertion {
            client_id,
            assertion,
        } => {
            let jws = Jws::parse(assertion)
                .ok_or_else(|| invalid("the client assertion is not a JWS"))?;
            let claim = |k: &str| jws.claims.get(k).and_then(Value::as_str);
            let iss = claim("iss").ok_or_else(|| invalid("the client assertion has no iss"))?;
            if claim("sub") != Some(iss) || client_id.as_deref().is_some_and(|c| c != iss) {
                return Err(invalid(
                    "the client assertion's iss, sub and client_id differ",
                ));
            }
            let client = lookup(iss)?
                .filter(|c| !c.disabled && c.auth_method == AuthMethod::PrivateKeyJwt)
                .ok_or_else(|| invalid("client authentication failed"))?;
            let kid = jws.header.get("kid").and_then(Value::as_str);
            let keys = client
                .jwks
                .as_ref()
                .and_then(|j| j.get("keys"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let verified = keys
                .iter()
                .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
                .any(|k| jws.verify(k));
            if !verified {
                return Err(invalid("client authentication failed"));
            }
            let aud_ok = match jws.claims.get("aud") {
                Some(Value::String(a)) => audiences.contains(&a.as_str()),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|x| audiences.contains(&x)),
                _ => false,
            };
            if !aud_ok {
                return Err(invalid("the client assertion's aud is not this provider"));
            }
            let now_s = now.unix_timestamp();
            let exp = jws.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
            if exp <= now_s || exp > now_s + ASSERTION_MAX_SECONDS {
                return Err(invalid("the client assertion is expired or lives too long"));
            }
            let jti = claim("jti")
                .filter(|j| !j.is_empty() && j.len() <= 256)
                .ok_or_else(|| invalid("the client assertion has no jti"))?;
            let key = secret::token_hash(&format!("{iss}\u{0}{jti}"));
            Ok(Authenticated {
                client,
                jti: Some((key, exp * 1000)),
                cached_row: None,
            })
        }
    }
}

impl Authenticated {
    /// Inside the transaction that acts for the client: when it came from the cache, whether
    /// its row is still the one cached (else the caller rolls back with [`STALE_CLIENT`]).
    pub fn confirm_client(&self, tx: &mut dyn Tx) -> Result<bool, StoreError> {
        match &self.cached_row {
            Some(row) => clients::still_current(tx, row),
            None => Ok(true),
        }
    }

    /// [`Authenticated::confirm_client`] and a read of the caller's in one statement
    /// ([`clients::still_current_and`]): whether the client is confirmed, and the values of
    /// `select` (a select list of scalar subqueries, with parameters `args`).
    pub fn confirm_client_and(
        &self,
        tx: &mut dyn Tx,
        select: &str,
        args: &[sql::Val],
    ) -> Result<(bool, sql::SqlRow), StoreError> {
        clients::still_current_and(tx, self.cached_row.as_ref(), select, args)
    }

    /// Spends the assertion's `jti` inside `tx` (the exchange's own transaction, so no extra
    /// commit); `false` if it was spent before.
    pub fn spend_jti(&self, tx: &mut dyn Tx, now: OffsetDateTime) -> Result<bool, StoreError> {
        let Some((key, exp)) = &self.jti else {
            return Ok(true);
        };
        if rand::random::<u8>() == 0 {
            tx.exec(
                "DELETE FROM oidc_jti WHERE expires_at < $1",
                &[ms(now).into()],
            )?;
        }
        let n = tx.exec(
            "INSERT INTO oidc_jti (key_hash, expires_at) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING",
            &[key.clone().into(), (*exp).into()],
        )?;
        Ok(n == 1)
    }

    /// Spends the `jti` in a write of its own (PAR); a replay is audited like a failed check.
    pub fn spend_jti_now(
        &self,
        store: &dyn Store,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), OAuthError> {
        if sql::write_one(store.db(), |tx| self.spend_jti(tx, now))? {
            Ok(())
        } else {
            self.replayed(store, request_id, now)
        }
    }

    /// Audits a replayed assertion and refuses it.
    pub fn replayed<T>(
        &self,
        store: &dyn Store,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<T, OAuthError> {
        store.audit(
            &crate::Actor::Anonymous,
            "oidc.client_auth",
            &self.client.client_id,
            "failed",
            request_id,
            now,
        )?;
        Err(invalid("the client assertion was used before"))
    }
}

/// A verified DPoP proof.
#[derive(Debug)]
pub struct Proof {
    /// The proof key's thumbprint (`cnf.jkt`).
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

/// Verifies a DPoP proof for `method` and `url` (no query or fragment); with an access token,
/// its `ath` must be the token's hash. Replays are the caller's to refuse (by `jti`).
pub fn dpop_proof(
    proof: &str,
    method: &str,
    url: &str,
    now: OffsetDateTime,
    access_token: Option<&str>,
) -> Result<Proof, OAuthError> {
    let bad = |d: &str| OAuthError::new("invalid_dpop_proof", d);
    let jws = Jws::parse(proof).ok_or_else(|| bad("the DPoP proof is not a JWS"))?;
    if jws.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(bad("the DPoP proof's typ is not dpop+jwt"));
    }
    let jwk = jws
        .header
        .get("jwk")
        .filter(|k| k.get("d").is_none())
        .ok_or_else(|| bad("the DPoP proof carries no public jwk"))?;
    if !jws.verify(jwk) {
        return Err(bad("the DPoP proof's signature does not verify"));
    }
    let claim = |k: &str| jws.claims.get(k).and_then(Value::as_str);
    if claim("htm") != Some(method) {
        return Err(bad("the DPoP proof's htm is not this method"));
    }
    let htu = claim("htu").unwrap_or("");
    let htu = htu.split(['?', '#']).next().unwrap_or("");
    if htu != url {
        return Err(bad("the DPoP proof's htu is not this URL"));
    }
    let iat = jws.claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    if (iat - now.unix_timestamp()).abs() > DPOP_WINDOW_SECONDS {
        return Err(bad("the DPoP proof's iat is too far from now"));
    }
    let jti = claim("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("the DPoP proof has no jti"))?;
    if let Some(token) = access_token {
        if claim("ath") != Some(jose::sha256_b64(token.as_bytes()).as_str()) {
            return Err(bad("the DPoP proof's ath is not this access token's hash"));
        }
    }
    let jkt = jose::thumbprint(jwk).ok_or_else(|| bad("the DPoP key is of an unknown kind"))?;
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
        iat,
    })
}
