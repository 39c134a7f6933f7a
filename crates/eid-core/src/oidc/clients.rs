//! The relying-party registry: who may ask eid to sign citizens in, where the answers may go,
//! what each may ask for (scopes and levels), how it signs its ID tokens and how it proves who
//! it is. Ministry-level staff manage it; every change is audited through [`Acting`].
//!
//! A `client_secret_basic` secret is 32 random bytes shown once; the registry keeps its SHA-256.
//! A fast hash is enough for a 256-bit random secret (no dictionary to try), and Argon2id would
//! cost the token endpoint ~20 ms of a core per exchange, against its goal of 3,000 a second.

use serde_json::Value;
use time::OffsetDateTime;

use super::jose::Alg;
use super::{ACR_VALUES, SCOPES};
use crate::secret;
use crate::sql::{self, SqlRow, Val};
use crate::store::Role;
use crate::{Acting, Error, Store, StoreError};

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    PrivateKeyJwt,
    ClientSecretBasic,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
        }
    }
    pub fn parse(s: &str) -> Option<AuthMethod> {
        match s {
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            _ => None,
        }
    }
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Chosen by the registry when `None`.
    pub client_id: Option<String>,
    pub name_vi: String,
    pub name_en: String,
    pub logo_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Scopes the client may ask for (`openid` is always allowed).
    pub scopes: Vec<String>,
    /// Levels the client may ask for (`urn:eid:vn:loa:1`, `urn:eid:vn:loa:2`).
    pub acr_values: Vec<String>,
    pub id_token_alg: Alg,
    pub auth_method: AuthMethod,
    /// Public keys for `private_key_jwt` (a JWKS document).
    pub jwks: Option<Value>,
    pub require_par: bool,
    /// The pairwise `sub` sector; the host of the first redirect URI when `None`.
    pub sector_identifier: Option<String>,
    pub dpop_bound: bool,
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name_vi: String,
    pub name_en: String,
    pub logo_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub scopes: Vec<String>,
    pub acr_values: Vec<String>,
    pub id_token_alg: Alg,
    pub auth_method: AuthMethod,
    pub jwks: Option<Value>,
    pub require_par: bool,
    pub sector_identifier: String,
    pub dpop_bound: bool,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    /// The stored secret hash (SHA-256), for `client_secret_basic`.
    pub(crate) secret_hash: Option<Vec<u8>>,
}

impl Client {
    /// Whether `secret` is this client's secret (constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(h) => crate::secret::constant_time_eq(h, &secret::token_hash(secret)),
            None => false,
        }
    }
}

const COLUMNS: &str = "client_id, name_vi, name_en, logo_uri, redirect_uris, \
    post_logout_redirect_uris, backchannel_logout_uri, scopes, acr_values, id_token_alg, \
    auth_method, jwks, require_par, sector_identifier, dpop_bound, disabled, created_at, secret_hash";

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn uri_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt("a URI list is not JSON".into()))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn from_row(r: &SqlRow) -> Result<Client, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let alg = g(9).text()?;
    let method = g(10).text()?;
    let jwks = match g(11).opt_text()? {
        Some(t) => Some(
            serde_json::from_str(&t)
                .map_err(|_| StoreError::Corrupt("a client JWKS is not JSON".into()))?,
        ),
        None => None,
    };
    Ok(Client {
        client_id: g(0).text()?,
        name_vi: g(1).text()?,
        name_en: g(2).text()?,
        logo_uri: g(3).opt_text()?,
        redirect_uris: uri_list(&g(4).text()?)?,
        post_logout_redirect_uris: uri_list(&g(5).text()?)?,
        backchannel_logout_uri: g(6).opt_text()?,
        scopes: words(&g(7).text()?),
        acr_values: words(&g(8).text()?),
        id_token_alg: Alg::parse(&alg)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown alg {alg:?}")))?,
        auth_method: AuthMethod::parse(&method)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown auth method {method:?}")))?,
        jwks,
        require_par: g(12).int()? != 0,
        sector_identifier: g(13).text()?,
        dpop_bound: g(14).int()? != 0,
        disabled: g(15).int()? != 0,
        created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(g(16).int()?) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        secret_hash: g(17).opt_blob()?,
    })
}

fn ministry(acting: &Acting) -> Result<(), Error> {
    may_manage(&acting.caller)
}

/// Whether `caller` may manage the registry (ministry level); `ScopeDenied` otherwise.
pub fn may_manage(caller: &crate::Caller) -> Result<(), Error> {
    if caller.role() == Role::Ministry {
        Ok(())
    } else {
        Err(Error::ScopeDenied)
    }
}

/// An absolute URI the registry accepts: `https://…`, or `http://` on a loopback host (local
/// development and tests), with no fragment.
pub fn valid_uri(u: &str) -> bool {
    if u.len() > 2000 || u.contains('#') || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if let Some(rest) = u.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    if let Some(rest) = u.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        return matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    }
    false
}

fn host_of(u: &str) -> Option<String> {
    let rest = u.split_once("://")?.1;
    let host = rest.split(['/', '?']).next()?;
    Some(host.to_ascii_lowercase())
}

/// What a registration and an edit both set, borrowed for [`check_terms`].
pub(crate) struct Terms<'a> {
    pub name_vi: &'a str,
    pub name_en: &'a str,
    pub logo_uri: Option<&'a String>,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub backchannel_logout_uri: Option<&'a String>,
    pub scopes: &'a [String],
    pub acr_values: &'a [String],
}

/// The registry's rules on names, URIs, scopes and levels (for `add` and `rp::update`).
pub(crate) fn check_terms(t: &Terms) -> Result<(), Error> {
    let bad = |m: String| Err(Error::bad("oidc.client.bad", m));
    if t.name_vi.trim().is_empty() || t.name_en.trim().is_empty() {
        return bad("a client needs a name in Vietnamese and in English".into());
    }
    if t.name_vi.chars().count() > 200 || t.name_en.chars().count() > 200 {
        return bad("a name is at most 200 characters".into());
    }
    if t.redirect_uris.is_empty() {
        return bad("a client needs at least one redirect URI".into());
    }
    let mut uris = t
        .redirect_uris
        .iter()
        .chain(t.post_logout_redirect_uris)
        .chain(t.backchannel_logout_uri)
        .chain(t.logo_uri);
    if uris.any(|u| !valid_uri(u)) {
        return bad(
            "URIs must be absolute https:// (http:// on loopback only), without a fragment".into(),
        );
    }
    if let Some(s) = t.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return bad(format!("unknown scope {s:?}"));
    }
    if t.acr_values.is_empty() {
        return bad("a client needs at least one level (acr value)".into());
    }
    if let Some(a) = t
        .acr_values
        .iter()
        .find(|a| !ACR_VALUES.contains(&a.as_str()))
    {
        return bad(format!("unknown acr value {a:?}"));
    }
    Ok(())
}

fn check(new: &NewClient) -> Result<(), Error> {
    let bad = |m: &str| Err(Error::bad("oidc.client.bad", m));
    check_terms(&Terms {
        name_vi: &new.name_vi,
        name_en: &new.name_en,
        logo_uri: new.logo_uri.as_ref(),
        redirect_uris: &new.redirect_uris,
        post_logout_redirect_uris: &new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri.as_ref(),
        scopes: &new.scopes,
        acr_values: &new.acr_values,
    })?;
    if new.auth_method == AuthMethod::PrivateKeyJwt {
        let keys = new
            .jwks
            .as_ref()
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array);
        if keys.is_none_or(|k| k.is_empty()) {
            return bad("private_key_jwt needs the client's public keys (a JWKS with keys)");
        }
    }
    if let Some(id) = &new.client_id {
        if id.is_empty()
            || id.len() > 100
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad("a client id is 1-100 letters, digits, '-', '_' or '.'");
        }
    }
    Ok(())
}

/// Registers a client. Returns it and, for `client_secret_basic`, its secret (shown once).
pub fn add(
    store: &dyn Store,
    acting: &Acting,
    new: &NewClient,
) -> Result<(Client, Option<String>), Error> {
    let target = new.client_id.clone().unwrap_or_default();
    let result = (|| -> Result<(Client, Option<String>), Error> {
        ministry(acting)?;
        check(new)?;
        let client_id = new
            .client_id
            .clone()
            .unwrap_or_else(|| format!("c-{}", &secret::random_token()[..20]));
        let secret = (new.auth_method == AuthMethod::ClientSecretBasic).then(secret::random_token);
        let mut scopes: Vec<String> = vec!["openid".into()];
        scopes.extend(new.scopes.iter().filter(|s| *s != "openid").cloned());
        let sector = match &new.sector_identifier {
            Some(s) if !s.trim().is_empty() => s.trim().to_ascii_lowercase(),
            _ => new
                .redirect_uris
                .first()
                .and_then(|u| host_of(u))
                .unwrap_or_else(|| client_id.clone()),
        };
        let args: Vec<Val> = vec![
            client_id.clone().into(),
            new.name_vi.trim().into(),
            new.name_en.trim().into(),
            new.logo_uri.clone().into(),
            serde_json::to_string(&new.redirect_uris)
                .unwrap_or_default()
                .into(),
            serde_json::to_string(&new.post_logout_redirect_uris)
                .unwrap_or_default()
                .into(),
            new.backchannel_logout_uri.clone().into(),
            scopes.join(" ").into(),
            new.acr_values.join(" ").into(),
            new.id_token_alg.as_str().into(),
            new.auth_method.as_str().into(),
            new.jwks.as_ref().map(Value::to_string).into(),
            new.require_par.into(),
            sector.into(),
            new.dpop_bound.into(),
            ms(acting.now).into(),
            secret.as_deref().map(secret::token_hash).into(),
        ];
        sql::transact(store.db(), |tx| {
            let n = tx.int(
                "SELECT count(*) FROM oidc_client WHERE client_id = $1",
                &[client_id.clone().into()],
            )?;
            if n > 0 {
                return Err(Error::Conflict {
                    code: "oidc.client.exists",
                    message: "a client with this id exists".into(),
                });
            }
            tx.exec(
                "INSERT INTO oidc_client (client_id, name_vi, name_en, logo_uri, redirect_uris, \
                 post_logout_redirect_uris, backchannel_logout_uri, scopes, acr_values, \
                 id_token_alg, auth_method, jwks, require_par, sector_identifier, dpop_bound, \
                 disabled, created_at, updated_at, secret_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $16, $17)",
                &args,
            )?;
            Ok(())
        })?;
        let client = get(store, &client_id)?
            .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))?;
        Ok((client, secret))
    })();
    let target = result.as_ref().map_or(target, |(c, _)| c.client_id.clone());
    acting.audited(store, "oidc.client.add", &target, result)
}

/// Every client, by id (ministry-level staff).
pub fn list(store: &dyn Store, acting: &Acting) -> Result<Vec<Client>, Error> {
    let result = (|| -> Result<Vec<Client>, Error> {
        ministry(acting)?;
        let rows = sql::read(store.db(), |tx| {
            tx.query(
                &format!("SELECT {COLUMNS} FROM oidc_client ORDER BY client_id"),
                &[],
            )
        })?;
        rows.iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from)
    })();
    acting.audited(store, "oidc.client.list", "", result)
}

/// One client by id, disabled or not (the flows check `disabled` themselves). Not audited: the
/// provider's own look-up on every request.
pub fn get(store: &dyn Store, client_id: &str) -> Result<Option<Client>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {COLUMNS} FROM oidc_client WHERE client_id = $1"),
            &[client_id.into()],
        )
    })?;
    row.as_ref().map(from_row).transpose().map_err(Error::from)
}

/// How long a cached client row may answer a request that writes nothing (a refused code, say)
/// before it is read again. A request that issues tokens confirms its row in its own write
/// transaction ([`still_current`]) whatever its age.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(5);
/// Beyond this many clients, the cache starts again.
const CACHE_MAX: usize = 10_000;

/// A client as read, and the row it was read from (to confirm it later).
#[derive(Debug, Clone)]
pub struct Read {
    pub client: Client,
    pub row: SqlRow,
}

/// A per-node cache of client rows for the token endpoint, which reads its client on every
/// request: a hit saves a read transaction. A change made anywhere — another node, the CLI —
/// is caught where it matters: the grant's write transaction reads the row again and compares
/// ([`still_current`]); on a difference the request starts again from the store. A failed
/// authentication with a cached row is tried again from the store too (a rotated secret).
#[derive(Debug, Default)]
pub struct Cache {
    rows: std::sync::Mutex<std::collections::HashMap<String, (Read, std::time::Instant)>>,
}

impl Cache {
    /// The client, from the cache when it was read within [`CACHE_FOR`], else from the store;
    /// and whether it came from the cache.
    pub fn get(&self, store: &dyn Store, client_id: &str) -> Result<Option<(Read, bool)>, Error> {
        if let Ok(rows) = self.rows.lock() {
            if let Some((r, at)) = rows.get(client_id) {
                if at.elapsed() < CACHE_FOR {
                    return Ok(Some((r.clone(), true)));
                }
            }
        }
        let Some(read) = get_row(store, client_id)? else {
            self.forget(client_id);
            return Ok(None);
        };
        if let Ok(mut rows) = self.rows.lock() {
            if rows.len() >= CACHE_MAX {
                rows.clear();
            }
            rows.insert(
                client_id.to_owned(),
                (read.clone(), std::time::Instant::now()),
            );
        }
        Ok(Some((read, false)))
    }

    /// Drops every row (one changed).
    pub fn forget_all(&self) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.clear();
        }
    }

    /// Drops the client's row (it changed, or failed to authenticate a request).
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.remove(client_id);
        }
    }
}

/// [`get`] with the row it was read from.
pub fn get_row(store: &dyn Store, client_id: &str) -> Result<Option<Read>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {COLUMNS} FROM oidc_client WHERE client_id = $1"),
            &[client_id.into()],
        )
    })?;
    match row {
        Some(row) => Ok(Some(Read {
            client: from_row(&row)?,
            row,
        })),
        None => Ok(None),
    }
}

/// Whether the client's row is still `row`, read inside `tx` (the write transaction that
/// acts on a cached client).
pub fn still_current(tx: &mut dyn sql::Tx, row: &SqlRow) -> Result<bool, StoreError> {
    Ok(still_current_and(tx, Some(row), "NULL", &[])?.0)
}

/// [`still_current`]'s check and a read of the caller's in one statement (one round trip less
/// on PostgreSQL): `select` is a select list without `FROM` (scalar subqueries) whose parameters
/// are `args`. Answers whether the client's row is still `row` (`None`: not from the cache, so
/// nothing to check) and the values of `select`.
pub fn still_current_and(
    tx: &mut dyn sql::Tx,
    row: Option<&SqlRow>,
    select: &str,
    args: &[Val],
) -> Result<(bool, SqlRow), StoreError> {
    let Some(row) = row else {
        return Ok((
            true,
            tx.row(&format!("SELECT {select}"), args)?
                .unwrap_or_default(),
        ));
    };
    let Some(Val::Text(id)) = row.first() else {
        return Ok((false, SqlRow::default()));
    };
    let mut all = args.to_vec();
    all.push(id.clone().into());
    // The client's columns are NULL when its row is gone: never equal to a cached row.
    let mut values = tx
        .row(
            &format!(
                "SELECT {select}, c.* FROM (SELECT 1 AS one) o LEFT JOIN \
                 (SELECT {COLUMNS} FROM oidc_client WHERE client_id = ${}) c ON 1 = 1",
                all.len()
            ),
            &all,
        )?
        .unwrap_or_default();
    let Some(split) = values.len().checked_sub(row.len()) else {
        return Ok((false, values));
    };
    let now = values.split_off(split);
    Ok((&now == row, values))
}

/// A new secret for a `client_secret_basic` client (the old one stops working); shown once.
pub fn rotate_secret(store: &dyn Store, acting: &Acting, client_id: &str) -> Result<String, Error> {
    let result = (|| -> Result<String, Error> {
        ministry(acting)?;
        let client = get(store, client_id)?
            .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))?;
        if client.auth_method != AuthMethod::ClientSecretBasic {
            return Err(Error::bad(
                "oidc.client.no_secret",
                "this client authenticates with private_key_jwt and has no secret",
            ));
        }
        let secret = secret::random_token();
        let hash = secret::token_hash(&secret);
        sql::write_one(store.db(), |tx| {
            tx.exec(
                "UPDATE oidc_client SET secret_hash = $1, updated_at = $2 WHERE client_id = $3",
                &[hash.into(), ms(acting.now).into(), client_id.into()],
            )
        })?;
        Ok(secret)
    })();
    acting.audited(store, "oidc.client.rotate_secret", client_id, result)
}

/// Disables a client: its requests are refused and its grants' tokens stop working.
pub fn disable(store: &dyn Store, acting: &Acting, client_id: &str) -> Result<(), Error> {
    let result = (|| -> Result<(), Error> {
        ministry(acting)?;
        let n = sql::transact(store.db(), |tx| {
            let n = tx.exec(
                "UPDATE oidc_client SET disabled = 1, updated_at = $1 WHERE client_id = $2",
                &[ms(acting.now).into(), client_id.into()],
            )?;
            tx.exec(
                "UPDATE oidc_grant SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
                &[ms(acting.now).into(), client_id.into()],
            )?;
            Ok::<_, Error>(n)
        })?;
        if n == 0 {
            return Err(Error::not_found("oidc.client.not_found", "no such client"));
        }
        Ok(())
    })();
    acting.audited(store, "oidc.client.disable", client_id, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_uris_are_https_or_loopback_http_without_fragments() {
        assert!(valid_uri("https://portal.gov.vn/cb"));
        assert!(valid_uri("http://127.0.0.1:8080/cb"));
        assert!(valid_uri("http://localhost/cb"));
        assert!(!valid_uri("http://portal.gov.vn/cb"));
        assert!(!valid_uri("https://portal.gov.vn/cb#x"));
        assert!(!valid_uri("javascript:alert(1)"));
        assert!(!valid_uri("https:///x"));
        assert_eq!(
            host_of("https://Portal.gov.vn:443/cb").as_deref(),
            Some("portal.gov.vn:443")
        );
    }
}
