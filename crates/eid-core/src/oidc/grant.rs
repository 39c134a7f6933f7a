//! From an authorization request to tokens: what the citizen must do first (sign in, step up,
//! upgrade, consent), the code (single use, 60 s, its SHA-256 stored), and the token endpoint's
//! two grants. An exchange is one transaction — the assertion's `jti`, the code's use, the
//! refresh token and the release record commit together — so a token response costs one
//! durable write. A reused code or refresh token revokes its grant.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::clients::Client;
use super::request::{AuthRequest, AuthorizeError};
use super::{acr_of, claims, jose, ms, OAuthError, Session};
use crate::sql::{self, Tx, Val};
use crate::{secret, Error, Store, StoreError};

/// How long a code lives.
pub const CODE_SECONDS: i64 = 60;
/// How long a refresh token lives.
pub const REFRESH_SECONDS: i64 = 30 * 24 * 3600;

/// What the citizen must do before a code can be issued.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Sign in at `level`; `fresh` asks for a new sign-in even with a session.
    SignIn { level: u8, fresh: bool },
    /// The account cannot reach the level asked for: the page that says how to upgrade.
    Upgrade,
    /// Ask for consent to the request's scopes.
    Consent,
    /// Everything is in place: issue the code.
    Issue,
}

/// What a code (and later its grant) carries, kept as JSON with the code.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeDetails {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    /// Seconds since the epoch.
    pub auth_time: i64,
    pub sid: String,
    pub scopes: Vec<String>,
    pub dpop_jkt: Option<String>,
}

/// The account's level (0 when there is no active account).
pub fn account_level(store: &dyn Store, personal_id: &str) -> Result<u8, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT level FROM account WHERE personal_id = $1 AND state = 'active'",
            &[personal_id.into()],
        )
    })?;
    Ok(match row {
        Some(r) => u8::try_from(r.first().cloned().unwrap_or(Val::Null).int()?).unwrap_or(0),
        None => 0,
    })
}

/// Whether the citizen has consented (and not revoked) to every scope of `scopes`.
pub fn has_consent(
    store: &dyn Store,
    personal_id: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<bool, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT scopes FROM oidc_consent WHERE personal_id = $1 AND client_id = $2 \
             AND revoked_at IS NULL",
            &[personal_id.into(), client_id.into()],
        )
    })?;
    let Some(r) = row else { return Ok(false) };
    let given = r.first().cloned().unwrap_or(Val::Null).text()?;
    let given: Vec<&str> = given.split(' ').collect();
    Ok(scopes
        .iter()
        .all(|s| s == "openid" || given.contains(&s.as_str())))
}

fn back(req: &AuthRequest, error: &'static str, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        error,
        description: description.into(),
        state: req.state.clone(),
    }
}

/// What must happen next for `req`, given the browser's session.
pub fn decide(
    store: &dyn Store,
    client: &Client,
    req: &AuthRequest,
    session: Option<&Session>,
    now: OffsetDateTime,
) -> Result<Step, AuthorizeError> {
    let prompt = req.prompt.as_deref();
    let level = req.level(client);
    let session = session.filter(|s| req.login_hint.as_deref().is_none_or(|h| h == s.personal_id));
    let Some(s) = session else {
        if prompt == Some("none") {
            return Err(back(req, "login_required", "the citizen is not signed in"));
        }
        return Ok(Step::SignIn {
            level,
            fresh: prompt == Some("login"),
        });
    };
    let too_old = req
        .max_age
        .is_some_and(|m| now.unix_timestamp() - s.auth_time.unix_timestamp() > m);
    let before_request = prompt == Some("login") && ms(s.auth_time) < req.requested_at;
    if too_old || before_request {
        if prompt == Some("none") {
            return Err(back(req, "login_required", "a new sign-in is needed"));
        }
        return Ok(Step::SignIn { level, fresh: true });
    }
    if s.level < level {
        if account_level(store, &s.personal_id)? < level {
            if prompt == Some("none") {
                return Err(back(
                    req,
                    "interaction_required",
                    "the account's level is too low",
                ));
            }
            return Ok(Step::Upgrade);
        }
        if prompt == Some("none") {
            return Err(back(
                req,
                "interaction_required",
                "a step-up sign-in is needed",
            ));
        }
        return Ok(Step::SignIn {
            level,
            fresh: false,
        });
    }
    if prompt == Some("consent")
        || !has_consent(store, &s.personal_id, &client.client_id, &req.scopes)?
    {
        if prompt == Some("none") {
            return Err(back(
                req,
                "consent_required",
                "the citizen has not consented",
            ));
        }
        return Ok(Step::Consent);
    }
    Ok(Step::Issue)
}

/// Issues a code for `req` in one transaction: the consent (when `consented` now), the grant,
/// the code, and the end of the waiting request. Returns the code.
pub fn issue_code(
    store: &dyn Store,
    req: &AuthRequest,
    session: &Session,
    consented: bool,
    pending: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let code = secret::random_token();
    let details = CodeDetails {
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        acr: acr_of(session.level).to_owned(),
        amr: session.amr.clone(),
        auth_time: session.auth_time.unix_timestamp(),
        sid: session.sid.clone(),
        scopes: req.scopes.clone(),
        dpop_jkt: req.dpop_jkt.clone(),
    };
    let details = serde_json::to_string(&details).map_err(|e| StoreError::Db(e.to_string()))?;
    let scopes = req.scopes.join(" ");
    let t = ms(now);
    sql::transact(store.db(), |tx| {
        if consented {
            tx.exec(
                "INSERT INTO oidc_consent (personal_id, client_id, scopes, granted_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (personal_id, client_id) DO UPDATE \
                 SET scopes = excluded.scopes, granted_at = excluded.granted_at, revoked_at = NULL",
                &[
                    session.personal_id.clone().into(),
                    req.client_id.clone().into(),
                    scopes.clone().into(),
                    t.into(),
                ],
            )?;
        }
        let gid = tx.int(
            "INSERT INTO oidc_grant (personal_id, client_id, scopes, sid, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                session.personal_id.clone().into(),
                req.client_id.clone().into(),
                scopes.clone().into(),
                session.sid.clone().into(),
                t.into(),
            ],
        )?;
        tx.exec(
            "INSERT INTO oidc_code (code_hash, grant_id, client_id, details, expires_at, used) \
             VALUES ($1, $2, $3, $4, $5, 0)",
            &[
                secret::token_hash(&code).into(),
                gid.into(),
                req.client_id.clone().into(),
                details.clone().into(),
                (t + CODE_SECONDS * 1000).into(),
            ],
        )?;
        if let Some(h) = pending {
            tx.exec(
                "DELETE FROM oidc_request WHERE handle_hash = $1",
                &[secret::token_hash(h).into()],
            )?;
        }
        Ok::<_, Error>(())
    })?;
    Ok(code)
}

/// Ends the waiting request (the citizen declined).
pub fn drop_pending(store: &dyn Store, handle: &str) -> Result<(), Error> {
    sql::write_one(store.db(), |tx| {
        tx.exec(
            "DELETE FROM oidc_request WHERE handle_hash = $1",
            &[secret::token_hash(handle).into()],
        )
    })?;
    Ok(())
}

/// What the token endpoint hands out, before signing.
#[derive(Clone)]
pub struct Issue {
    pub grant_id: i64,
    pub client_id: String,
    /// The pairwise subject.
    pub sub: String,
    pub details: CodeDetails,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issue(grant {})", self.grant_id)
    }
}

enum Outcome {
    Issued(Box<Issue>),
    /// Committed (a code used or a grant revoked), then refused.
    Refused(&'static str, &'static str),
}

/// Revokes a grant and every refresh token of it.
pub(crate) fn revoke_grant(tx: &mut dyn Tx, grant_id: i64, now: i64) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE oidc_grant SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[grant_id.into(), now.into()],
    )?;
    tx.exec(
        "UPDATE oidc_refresh SET used = 1 WHERE grant_id = $1 AND used = 0",
        &[grant_id.into()],
    )?;
    Ok(())
}

fn new_refresh(
    tx: &mut dyn Tx,
    grant_id: i64,
    details: &CodeDetails,
    t: i64,
) -> Result<Option<String>, StoreError> {
    if !details.scopes.iter().any(|s| s == "offline_access") {
        return Ok(None);
    }
    let token = secret::random_token();
    tx.exec(
        "INSERT INTO oidc_refresh (token_hash, grant_id, dpop_jkt, created_at, expires_at, used) \
         VALUES ($1, $2, $3, $4, $5, 0)",
        &[
            secret::token_hash(&token).into(),
            grant_id.into(),
            details.dpop_jkt.clone().into(),
            t.into(),
            (t + REFRESH_SECONDS * 1000).into(),
        ],
    )?;
    Ok(Some(token))
}

/// The grant's person and whether it stands, for `client_id`.
fn live_grant(
    tx: &mut dyn Tx,
    grant_id: i64,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    let row = tx.row(
        "SELECT g.personal_id FROM oidc_grant g JOIN oidc_client c ON c.client_id = g.client_id \
         WHERE g.id = $1 AND g.client_id = $2 AND g.revoked_at IS NULL AND c.disabled = 0",
        &[grant_id.into(), client_id.into()],
    )?;
    row.map(|r| r.first().cloned().unwrap_or(Val::Null).text())
        .transpose()
}

fn finish(outcome: Result<Outcome, OAuthError>) -> Result<Issue, OAuthError> {
    match outcome? {
        Outcome::Issued(i) => Ok(*i),
        Outcome::Refused(e, d) => Err(OAuthError::new(e, d)),
    }
}

/// The `authorization_code` grant.
pub fn exchange(
    store: &dyn Store,
    auth: &Authenticated,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
    dpop_jkt: Option<&str>,
    now: OffsetDateTime,
) -> Result<Issue, OAuthError> {
    let client = &auth.client;
    let hash = secret::token_hash(code);
    let verifier_ok = (43..=128).contains(&code_verifier.len())
        && code_verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let challenge = jose::sha256_b64(code_verifier.as_bytes());
    let t = ms(now);
    finish(sql::transact(store.db(), |tx| {
        if !auth.spend_jti(tx, now)? {
            return Err(OAuthError::new(
                "invalid_client",
                "the client assertion was used before",
            ));
        }
        let used = tx.row(
            "UPDATE oidc_code SET used = 1 WHERE code_hash = $1 AND used = 0 \
             RETURNING grant_id, client_id, details, expires_at",
            &[hash.clone().into()],
        )?;
        let Some(r) = used else {
            // Unknown, or used before: a replay revokes what the code issued.
            if let Some(r) = tx.row(
                "SELECT grant_id FROM oidc_code WHERE code_hash = $1",
                &[hash.clone().into()],
            )? {
                let gid = r.first().cloned().unwrap_or(Val::Null).int()?;
                revoke_grant(tx, gid, t)?;
                return Ok(Outcome::Refused(
                    "invalid_grant",
                    "the code was used before; its tokens are revoked",
                ));
            }
            return Err(OAuthError::new("invalid_grant", "the code is unknown"));
        };
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let gid = g(0).int()?;
        if g(1).text()? != client.client_id {
            return Ok(Outcome::Refused(
                "invalid_grant",
                "the code was issued to another client",
            ));
        }
        if g(3).int()? <= t {
            return Ok(Outcome::Refused("invalid_grant", "the code has expired"));
        }
        let details: CodeDetails = serde_json::from_str(&g(2).text()?)
            .map_err(|_| StoreError::Corrupt("a code's details are not JSON".into()))?;
        if details.redirect_uri != redirect_uri {
            return Ok(Outcome::Refused(
                "invalid_grant",
                "the redirect_uri differs from the request's",
            ));
        }
        if !verifier_ok
            || !secret::constant_time_eq(challenge.as_bytes(), details.code_challenge.as_bytes())
        {
            return Ok(Outcome::Refused(
                "invalid_grant",
                "the PKCE code_verifier does not match",
            ));
        }
        if let Some(bound) = &details.dpop_jkt {
            if dpop_jkt != Some(bound.as_str()) {
                return Ok(Outcome::Refused(
                    "invalid_grant",
                    "the code is bound to another DPoP key",
                ));
            }
        }
        let Some(personal_id) = live_grant(tx, gid, &client.client_id)? else {
            return Ok(Outcome::Refused("invalid_grant", "the grant was revoked"));
        };
        let mut details = details;
        if details.dpop_jkt.is_none() {
            details.dpop_jkt = dpop_jkt.map(str::to_owned);
        }
        let key = claims::pairwise_key(tx)?;
        let sub = claims::subject(&key, &client.sector_identifier, &personal_id);
        let refresh_token = new_refresh(tx, gid, &details, t)?;
        tx.exec(
            "INSERT INTO oidc_release (personal_id, client_id, claims, released_at) VALUES ($1, $2, $3, $4)",
            &[
                personal_id.into(),
                client.client_id.clone().into(),
                "sub acr amr auth_time".into(),
                t.into(),
            ],
        )?;
        Ok(Outcome::Issued(Box::new(Issue {
            grant_id: gid,
            client_id: client.client_id.clone(),
            sub,
            details,
            refresh_token,
        })))
    }))
}

/// The `refresh_token` grant: the token is spent and a new one issued; a token spent before
/// revokes its grant.
pub fn refresh(
    store: &dyn Store,
    auth: &Authenticated,
    token: &str,
    dpop_jkt: Option<&str>,
    now: OffsetDateTime,
) -> Result<Issue, OAuthError> {
    let client = &auth.client;
    let hash = secret::token_hash(token);
    let t = ms(now);
    finish(sql::transact(store.db(), |tx| {
        if !auth.spend_jti(tx, now)? {
            return Err(OAuthError::new(
                "invalid_client",
                "the client assertion was used before",
            ));
        }
        let used = tx.row(
            "UPDATE oidc_refresh SET used = 1 WHERE token_hash = $1 AND used = 0 \
             RETURNING grant_id, expires_at, dpop_jkt",
            &[hash.clone().into()],
        )?;
        let Some(r) = used else {
            if let Some(r) = tx.row(
                "SELECT grant_id FROM oidc_refresh WHERE token_hash = $1",
                &[hash.clone().into()],
            )? {
                let gid = r.first().cloned().unwrap_or(Val::Null).int()?;
                revoke_grant(tx, gid, t)?;
                return Ok(Outcome::Refused(
                    "invalid_grant",
                    "the refresh token was used before; the grant is revoked",
                ));
            }
            return Err(OAuthError::new(
                "invalid_grant",
                "the refresh token is unknown",
            ));
        };
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let gid = g(0).int()?;
        if g(1).int()? <= t {
            return Ok(Outcome::Refused(
                "invalid_grant",
                "the refresh token has expired",
            ));
        }
        let Some(personal_id) = live_grant(tx, gid, &client.client_id)? else {
            return Ok(Outcome::Refused("invalid_grant", "the grant was revoked"));
        };
        let d = tx
            .row(
                "SELECT details FROM oidc_code WHERE grant_id = $1 LIMIT 1",
                &[gid.into()],
            )?
            .ok_or_else(|| StoreError::Corrupt("a grant without its code".into()))?;
        let mut details: CodeDetails =
            serde_json::from_str(&d.first().cloned().unwrap_or(Val::Null).text()?)
                .map_err(|_| StoreError::Corrupt("a code's details are not JSON".into()))?;
        details.nonce = None;
        details.dpop_jkt = g(2).opt_text()?.or_else(|| dpop_jkt.map(str::to_owned));
        let key = claims::pairwise_key(tx)?;
        let sub = claims::subject(&key, &client.sector_identifier, &personal_id);
        let refresh_token = new_refresh(tx, gid, &details, t)?;
        Ok(Outcome::Issued(Box::new(Issue {
            grant_id: gid,
            client_id: client.client_id.clone(),
            sub,
            details,
            refresh_token,
        })))
    }))
}
