//! From an authorization request to tokens: what the citizen must do first (sign in, step up,
//! upgrade, consent), the code, and the token endpoint's two grants.
//!
//! A code is the grant-to-be sealed under the key-encryption key (AES-256-GCM, purpose
//! `code`, see [`Kek::seal_token`]): issuing one writes nothing. It lives 60 s and is single
//! use: the exchange is one transaction — the assertion's `jti`, the grant, the code's SHA-256
//! as used, the refresh token and the release record commit together — so a token response
//! costs one durable write and the code's use is recorded by the primary key of `oidc_code`.
//! A reused code or refresh token revokes its grant.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{Authenticated, STALE_CLIENT};
use super::clients::Client;
use super::keys::Kek;
use super::request::{AuthRequest, AuthorizeError};
use super::{acr_of, claims, jose, ms, OAuthError, Session};
use crate::account_key::{self, Key};
use crate::sql::{self, Tx, Val};
use crate::transparency::{DataUse, Who, PENDING_COLUMNS};
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
        account_key::row(
            tx,
            "SELECT level FROM account WHERE {account} AND state = 'active'",
            &[],
            Key::Person(personal_id),
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

/// What a code carries, sealed.
#[derive(Serialize, Deserialize)]
struct SealedCode {
    client_id: String,
    personal_id: String,
    details: CodeDetails,
    /// When it was issued and when it ends (Unix ms).
    issued: i64,
    expires: i64,
}

/// The sealing purpose of codes.
const CODE_PURPOSE: &str = "oidc-code";

/// Issues a code for `req`: the grant-to-be sealed under `kek`. Writes only the consent, when
/// the citizen gave it now (`consented`).
pub fn issue_code(
    store: &dyn Store,
    kek: &Kek,
    req: &AuthRequest,
    session: &Session,
    consented: bool,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let t = ms(now);
    let sealed = SealedCode {
        client_id: req.client_id.clone(),
        personal_id: session.personal_id.clone(),
        details: CodeDetails {
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            nonce: req.nonce.clone(),
            acr: acr_of(session.level).to_owned(),
            amr: session.amr.clone(),
            auth_time: session.auth_time.unix_timestamp(),
            sid: session.sid.clone(),
            scopes: req.scopes.clone(),
            dpop_jkt: req.dpop_jkt.clone(),
        },
        issued: t,
        expires: t + CODE_SECONDS * 1000,
    };
    if consented {
        let scopes = req.scopes.join(" ");
        sql::write_one(store.db(), |tx| {
            tx.exec(
                "INSERT INTO oidc_consent (personal_id, client_id, scopes, granted_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (personal_id, client_id) DO UPDATE \
                 SET scopes = excluded.scopes, granted_at = excluded.granted_at, revoked_at = NULL",
                &[
                    session.personal_id.clone().into(),
                    req.client_id.clone().into(),
                    scopes.into(),
                    t.into(),
                ],
            )
        })?;
    }
    let body = serde_json::to_vec(&sealed).map_err(|e| StoreError::Db(e.to_string()))?;
    kek.seal_token(CODE_PURPOSE, &body, now)
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
    if !offline(details) {
        return Ok(None);
    }
    let token = secret::random_token();
    insert_refresh(
        tx,
        secret::token_hash(&token),
        grant_id,
        details.dpop_jkt.clone(),
        t,
    )?;
    Ok(Some(token))
}

/// Whether a grant gets refresh tokens (it asked for `offline_access`).
fn offline(details: &CodeDetails) -> bool {
    details.scopes.iter().any(|s| s == "offline_access")
}

/// Stores a new refresh token of the grant by its hash.
fn insert_refresh(
    tx: &mut dyn Tx,
    hash: Vec<u8>,
    grant_id: i64,
    dpop_jkt: Option<String>,
    t: i64,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO oidc_refresh (token_hash, grant_id, dpop_jkt, created_at, expires_at, used) \
         VALUES ($1, $2, $3, $4, $5, 0)",
        &[
            hash.into(),
            grant_id.into(),
            dpop_jkt.into(),
            t.into(),
            refresh_end(t).into(),
        ],
    )?;
    Ok(())
}

/// When a refresh token made at `t` expires.
fn refresh_end(t: i64) -> i64 {
    t + REFRESH_SECONDS * 1000
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

/// The marker of a replayed client assertion inside a token transaction (rolled back, then
/// audited and answered `invalid_client`).
const REPLAYED: &str = "replayed_assertion";

fn finish(
    store: &dyn Store,
    auth: &Authenticated,
    request_id: &str,
    now: OffsetDateTime,
    outcome: Result<Outcome, OAuthError>,
) -> Result<Issue, OAuthError> {
    match outcome {
        Ok(Outcome::Issued(i)) => Ok(*i),
        Ok(Outcome::Refused(e, d)) => Err(OAuthError::new(e, d)),
        Err(e) if e.error == REPLAYED => auth.replayed(store, request_id, now),
        Err(e) => Err(e),
    }
}

/// The parameters of an `authorization_code` request.
#[derive(Clone, Copy)]
pub struct CodeGrant<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

impl std::fmt::Debug for CodeGrant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeGrant(…)")
    }
}

/// A code's use lost a race with another use of it (rolled back, then its grant revoked).
const RACED: &str = "raced_code";

/// Why an authentic, unused code cannot be exchanged by this request, if it cannot.
fn code_refusal(
    code: &SealedCode,
    client: &Client,
    redirect_uri: &str,
    code_verifier: &str,
    dpop_jkt: Option<&str>,
    t: i64,
) -> Option<&'static str> {
    let verifier_ok = (43..=128).contains(&code_verifier.len())
        && code_verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let challenge = jose::sha256_b64(code_verifier.as_bytes());
    let d = &code.details;
    if code.client_id != client.client_id {
        Some("the code was issued to another client")
    } else if code.expires <= t {
        Some("the code has expired")
    } else if d.redirect_uri != redirect_uri {
        Some("the redirect_uri differs from the request's")
    } else if !client.redirect_uris.contains(&d.redirect_uri) {
        // The client's row is confirmed current in the exchange's transaction: an edit made
        // after the code was issued counts here.
        Some("the redirect_uri is no longer registered for this client")
    } else if d.scopes.iter().any(|s| !client.scopes.contains(s)) {
        Some("the code's scopes are no longer allowed for this client")
    } else if !verifier_ok
        || !secret::constant_time_eq(challenge.as_bytes(), d.code_challenge.as_bytes())
    {
        Some("the PKCE code_verifier does not match")
    } else if d.dpop_jkt.as_deref().is_some_and(|b| dpop_jkt != Some(b)) {
        Some("the code is bound to another DPoP key")
    } else {
        None
    }
}

/// The claims a code's exchange releases (the ID token's; userinfo records its own).
const RELEASED: &str = "sub acr amr auth_time";

/// The purpose of a code exchange's entry in the data-use log.
const RELEASE_PURPOSE: &str = "oidc.sign_in";

/// What an exchange that issues tokens writes besides the grant and the code's use.
struct Issued {
    /// The new refresh token's hash (the grant asked for `offline_access`).
    refresh_hash: Option<Vec<u8>>,
    dpop_jkt: Option<String>,
    /// The client's name as the citizen's data-use log shows it.
    client_name: String,
}

/// The writes of a code's exchange before its tokens are minted: the grant, the code's single
/// use and, when the exchange issues tokens, the refresh token and the release of the claims,
/// in `oidc_release` (the citizen's connected services) and in the data-use log.
///
/// The data-use entry: on SQLite appended to the log in the exchange's transaction; on
/// PostgreSQL a row of `data_use_pending` in the same statement as the other writes, which the
/// server's fold moves into the log within a second and before the citizen's data-use page is
/// read (`transparency::staff_reads`), as it does for staff reads. Appending it here took two
/// round trips more and the log head's row lock, which every exchange would queue on until its
/// commit.
struct Spend<'a> {
    personal_id: &'a str,
    client_id: &'a str,
    scopes: String,
    sid: &'a str,
    code_hash: Vec<u8>,
    details: String,
    expires: i64,
    issue: Option<Issued>,
    t: i64,
}

impl Spend<'_> {
    /// Writes them; the grant's id, or `None` when the code's row already exists (another use
    /// of the same code got there first: the caller rolls back). On PostgreSQL the writes go
    /// in one statement (each a round trip otherwise); on SQLite one by one.
    fn write(&self, tx: &mut dyn Tx) -> Result<Option<i64>, StoreError> {
        if tx.engine() == "postgres" {
            let mut sql = String::from(
                "WITH g AS (INSERT INTO oidc_grant (personal_id, client_id, scopes, sid, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id), \
                 c AS (INSERT INTO oidc_code (code_hash, grant_id, client_id, details, expires_at, used) \
                 SELECT $6::bytea, id, $2, $7::text, $8::bigint, 1 FROM g \
                 ON CONFLICT (code_hash) DO NOTHING RETURNING grant_id)",
            );
            let mut args: Vec<Val> = vec![
                self.personal_id.into(),
                self.client_id.into(),
                self.scopes.clone().into(),
                self.sid.into(),
                self.t.into(),
                self.code_hash.clone().into(),
                self.details.clone().into(),
                self.expires.into(),
            ];
            if let Some(i) = &self.issue {
                sql.push_str(&format!(
                    ", l AS (INSERT INTO oidc_release (personal_id, client_id, claims, released_at) \
                     SELECT $1, $2, $9::text, $5 FROM c), \
                     p AS (INSERT INTO data_use_pending ({PENDING_COLUMNS}) \
                     SELECT $10::text, $11::text, $12::text, $13::text, $14::text, $15::text, \
                     $16::text, $17::text, $18::bigint FROM c)"
                ));
                args.push(RELEASED.into());
                args.extend(self.data_use(i).pending_values());
                if let Some(h) = &i.refresh_hash {
                    sql.push_str(
                        ", r AS (INSERT INTO oidc_refresh \
                         (token_hash, grant_id, dpop_jkt, created_at, expires_at, used) \
                         SELECT $19::bytea, grant_id, $20::text, $5, $21::bigint, 0 FROM c)",
                    );
                    args.extend([
                        h.clone().into(),
                        i.dpop_jkt.clone().into(),
                        refresh_end(self.t).into(),
                    ]);
                }
            }
            sql.push_str(" SELECT grant_id FROM c");
            return tx
                .row(&sql, &args)?
                .and_then(|r| r.into_iter().next())
                .map(|v| v.int())
                .transpose();
        }
        let gid = tx.int(
            "INSERT INTO oidc_grant (personal_id, client_id, scopes, sid, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                self.personal_id.into(),
                self.client_id.into(),
                self.scopes.clone().into(),
                self.sid.into(),
                self.t.into(),
            ],
        )?;
        let first = tx.row(
            "INSERT INTO oidc_code (code_hash, grant_id, client_id, details, expires_at, used) \
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (code_hash) DO NOTHING RETURNING grant_id",
            &[
                self.code_hash.clone().into(),
                gid.into(),
                self.client_id.into(),
                self.details.clone().into(),
                self.expires.into(),
            ],
        )?;
        if first.is_none() {
            return Ok(None);
        }
        if let Some(i) = &self.issue {
            tx.exec(
                "INSERT INTO oidc_release (personal_id, client_id, claims, released_at) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    self.personal_id.into(),
                    self.client_id.into(),
                    RELEASED.into(),
                    self.t.into(),
                ],
            )?;
            if let Some(h) = &i.refresh_hash {
                insert_refresh(tx, h.clone(), gid, i.dpop_jkt.clone(), self.t)?;
            }
            crate::transparency::record_in(tx, &self.data_use(i))?;
        }
        Ok(Some(gid))
    }

    /// The release's entry in the citizen's data-use log.
    fn data_use(&self, i: &Issued) -> DataUse {
        DataUse {
            personal_id: self.personal_id.to_owned(),
            who: Who::RelyingParty {
                client_id: self.client_id.to_owned(),
                name: i.client_name.clone(),
            },
            what: RELEASED.to_owned(),
            purpose: RELEASE_PURPOSE.to_owned(),
            at: super::from_ms(self.t),
        }
    }
}

/// The `authorization_code` grant.
#[allow(clippy::too_many_arguments)]
pub fn exchange(
    store: &dyn Store,
    group: Option<&sql::Group>,
    kek: &Kek,
    auth: &Authenticated,
    grant: &CodeGrant<'_>,
    dpop_jkt: Option<&str>,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Issue, OAuthError> {
    let CodeGrant {
        code,
        redirect_uri,
        code_verifier,
    } = *grant;
    let client = &auth.client;
    let unknown = || OAuthError::new("invalid_grant", "the code is unknown");
    // Two hours of keys: a code lives 60 s, across at most one change of hour.
    let plain = kek
        .open_token(CODE_PURPOSE, code, 1, now)
        .ok_or_else(unknown)?;
    let sealed: SealedCode = serde_json::from_slice(&plain).map_err(|_| unknown())?;
    let hash = secret::token_hash(code);
    let t = ms(now);
    let refusal = code_refusal(&sealed, client, redirect_uri, code_verifier, dpop_jkt, t);
    let (me, code_hash) = (auth.clone(), hash.clone());
    let dpop_jkt = dpop_jkt.map(str::to_owned);
    let outcome = sql::transact_grouped(store.db(), group, move |tx| {
        let (auth, hash, client) = (&me, code_hash, &me.client);
        // One read: whether the client's row is still the one cached, whether the code was
        // used before (a replay revokes what it issued), and whether the citizen took back
        // their consent after the code was issued.
        let (current, seen) = auth.confirm_client_and(
            tx,
            "(SELECT grant_id FROM oidc_code WHERE code_hash = $1), \
             (SELECT 1 FROM oidc_consent WHERE personal_id = $2 AND client_id = $3 \
              AND revoked_at IS NOT NULL AND revoked_at >= $4)",
            &[
                hash.clone().into(),
                sealed.personal_id.clone().into(),
                sealed.client_id.clone().into(),
                sealed.issued.into(),
            ],
        )?;
        if !current {
            return Err(OAuthError::new(STALE_CLIENT, "the client changed"));
        }
        if !auth.spend_jti(tx, now)? {
            return Err(OAuthError::new(
                REPLAYED,
                "the client assertion was used before",
            ));
        }
        let col = |i: usize| seen.get(i).cloned().unwrap_or(Val::Null);
        if let Some(gid) = col(0).opt_int()? {
            revoke_grant(tx, gid, t)?;
            return Ok(Outcome::Refused(
                "invalid_grant",
                "the code was used before; its tokens are revoked",
            ));
        }
        let withdrawn = col(1) != Val::Null;
        // Now and then, the codes that ended long ago go (a code's row matters while it lives).
        if rand::random::<u8>() == 0 {
            tx.exec(
                "DELETE FROM oidc_code WHERE expires_at < $1",
                &[(t - 3_600_000).into()],
            )?;
        }
        // A refused use spends the code as well.
        let refused = refusal.or(withdrawn.then_some("the grant was revoked"));
        let mut details = sealed.details.clone();
        if details.dpop_jkt.is_none() {
            details.dpop_jkt = dpop_jkt;
        }
        let refresh_token = (refused.is_none() && offline(&details)).then(secret::random_token);
        let spend = Spend {
            personal_id: &sealed.personal_id,
            client_id: &sealed.client_id,
            scopes: sealed.details.scopes.join(" "),
            sid: &sealed.details.sid,
            code_hash: hash.clone(),
            details: serde_json::to_string(&sealed.details)
                .map_err(|e| StoreError::Db(e.to_string()))?,
            expires: sealed.expires,
            issue: refused.is_none().then(|| Issued {
                refresh_hash: refresh_token.as_deref().map(secret::token_hash),
                dpop_jkt: details.dpop_jkt.clone(),
                client_name: client.name_vi.clone(),
            }),
            t,
        };
        // The code's use: a concurrent use of the same code finds the row and this one rolls
        // back (on SQLite the single writer orders them).
        let Some(gid) = spend.write(tx)? else {
            return Err(OAuthError::new(RACED, "the code was used at the same time"));
        };
        if let Some(why) = refused {
            revoke_grant(tx, gid, t)?;
            return Ok(Outcome::Refused("invalid_grant", why));
        }
        let key = claims::pairwise_key(tx)?;
        let sub = claims::subject(&key, &client.sector_identifier, &sealed.personal_id);
        Ok(Outcome::Issued(Box::new(Issue {
            grant_id: gid,
            client_id: client.client_id.clone(),
            sub,
            details,
            refresh_token,
        })))
    });
    let outcome = match outcome {
        Err(e) if e.error == RACED => {
            // The other use won: what it issued is revoked, as for any reuse.
            sql::transact(store.db(), |tx| {
                if let Some(r) = tx.row(
                    "SELECT grant_id FROM oidc_code WHERE code_hash = $1",
                    &[hash.clone().into()],
                )? {
                    revoke_grant(tx, r.first().cloned().unwrap_or(Val::Null).int()?, t)?;
                }
                Ok::<_, OAuthError>(())
            })?;
            Ok(Outcome::Refused(
                "invalid_grant",
                "the code was used before; its tokens are revoked",
            ))
        }
        other => other,
    };
    finish(store, auth, request_id, now, outcome)
}

/// The `refresh_token` grant: the token is spent and a new one issued; a token spent before
/// revokes its grant.
pub fn refresh(
    store: &dyn Store,
    group: Option<&sql::Group>,
    auth: &Authenticated,
    token: &str,
    dpop_jkt: Option<&str>,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Issue, OAuthError> {
    let hash = secret::token_hash(token);
    let t = ms(now);
    let me = auth.clone();
    let dpop_jkt = dpop_jkt.map(str::to_owned);
    finish(
        store,
        auth,
        request_id,
        now,
        sql::transact_grouped(store.db(), group, move |tx| {
            let (auth, client) = (&me, &me.client);
            if !auth.confirm_client(tx)? {
                return Err(OAuthError::new(STALE_CLIENT, "the client changed"));
            }
            if !auth.spend_jti(tx, now)? {
                return Err(OAuthError::new(
                    REPLAYED,
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
            details.dpop_jkt = g(2).opt_text()?.or(dpop_jkt);
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
        }),
    )
}
