//! The citizen's side: the claims a grant releases at the userinfo endpoint (each release
//! recorded, by claim name only), the connected services (consents, what each received and
//! when) and their revocation, and the grants a browser session's logout reaches.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::clients::{self, Client};
use super::grant::revoke_grant;
use super::{claims, from_ms, ms, OAuthError};
use crate::account_key::{self, Key};
use crate::sql::{self, Val};
use crate::{Error, Store, StoreError};
use eid_domain::PersonalId;

/// The userinfo answer for grant `grant_id` of `client_id`; records the release.
pub fn userinfo(
    store: &dyn Store,
    grant_id: i64,
    client_id: &str,
    now: OffsetDateTime,
) -> Result<Map<String, Value>, OAuthError> {
    let invalid = || OAuthError::new("invalid_token", "the access token is not valid");
    let row = sql::read(store.db(), |tx| {
        let grant = tx.row(
            "SELECT g.personal_id, g.scopes FROM oidc_grant g JOIN oidc_client c \
             ON c.client_id = g.client_id WHERE g.id = $1 AND g.client_id = $2 \
             AND g.revoked_at IS NULL AND c.disabled = 0",
            &[grant_id.into(), client_id.into()],
        )?;
        let Some(g) = grant else { return Ok(None) };
        let pid = g.first().cloned().unwrap_or(Val::Null).text()?;
        let phone = account_key::phone(tx, Key::Person(&pid))?;
        let key = claims::pairwise_key(tx)?;
        Ok::<_, StoreError>(Some((
            pid,
            g.get(1).cloned().unwrap_or(Val::Null).text()?,
            phone,
            key,
        )))
    })?;
    let Some((pid, scopes, phone, key)) = row else {
        return Err(invalid());
    };
    let client = clients::get(store, client_id)?.ok_or_else(invalid)?;
    let id =
        PersonalId::parse(&pid).map_err(|_| StoreError::Corrupt("a grant's personal ID".into()))?;
    let person = store.person(&id)?.ok_or_else(invalid)?;
    let scopes: Vec<String> = scopes.split(' ').map(str::to_owned).collect();
    let mut out = Map::new();
    out.insert(
        "sub".into(),
        claims::subject(&key, &client.sector_identifier, &pid).into(),
    );
    let released = claims::for_scopes(&person.person, phone.as_deref(), &scopes);
    let names: Vec<&str> = released.keys().map(String::as_str).collect();
    if !names.is_empty() {
        let names = names.join(" ");
        sql::transact(store.db(), |tx| {
            tx.exec(
                "INSERT INTO oidc_release (personal_id, client_id, claims, released_at) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    pid.clone().into(),
                    client_id.into(),
                    names.as_str().into(),
                    ms(now).into(),
                ],
            )?;
            crate::transparency::note_in(
                tx,
                &crate::transparency::DataUse {
                    personal_id: pid.clone(),
                    who: crate::transparency::Who::RelyingParty {
                        client_id: client_id.to_owned(),
                        name: client.name_vi.clone(),
                    },
                    what: names.clone(),
                    purpose: "oidc.userinfo".to_owned(),
                    at: now,
                },
            )
        })?;
    }
    out.extend(released);
    Ok(out)
}

/// One release: the claim names, and when.
#[derive(Debug, Clone)]
pub struct Release {
    pub claims: Vec<String>,
    pub at: OffsetDateTime,
}

/// A service the citizen has connected to.
#[derive(Debug, Clone)]
pub struct Service {
    pub client: Client,
    pub scopes: Vec<String>,
    pub granted_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// Newest first, at most 20.
    pub releases: Vec<Release>,
}

/// The citizen's connected services (consents, revoked ones included), newest first.
pub fn services(store: &dyn Store, personal_id: &str) -> Result<Vec<Service>, Error> {
    let (consents, releases) = sql::read(store.db(), |tx| {
        let c = tx.query(
            "SELECT client_id, scopes, granted_at, revoked_at FROM oidc_consent \
             WHERE personal_id = $1 ORDER BY granted_at DESC",
            &[personal_id.into()],
        )?;
        let r = tx.query(
            "SELECT client_id, claims, released_at FROM oidc_release WHERE personal_id = $1 \
             ORDER BY released_at DESC, id DESC LIMIT 500",
            &[personal_id.into()],
        )?;
        Ok::<_, StoreError>((c, r))
    })?;
    let mut out = Vec::new();
    for c in consents {
        let g = |i: usize| c.get(i).cloned().unwrap_or(Val::Null);
        let client_id = g(0).text()?;
        let Some(client) = clients::get(store, &client_id)? else {
            continue;
        };
        let mut rel = Vec::new();
        for r in &releases {
            let h = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            if h(0).text()? == client_id && rel.len() < 20 {
                rel.push(Release {
                    claims: h(1).text()?.split(' ').map(str::to_owned).collect(),
                    at: from_ms(h(2).int()?),
                });
            }
        }
        out.push(Service {
            client,
            scopes: g(1).text()?.split(' ').map(str::to_owned).collect(),
            granted_at: from_ms(g(2).int()?),
            revoked_at: g(3).opt_int()?.map(from_ms),
            releases: rel,
        });
    }
    Ok(out)
}

/// Revokes the citizen's consent to `client_id` and every grant of it (their refresh tokens
/// stop working; access tokens are refused at userinfo). `false` if there was none.
pub fn revoke(
    store: &dyn Store,
    personal_id: &str,
    client_id: &str,
    now: OffsetDateTime,
) -> Result<bool, Error> {
    let t = ms(now);
    sql::transact(store.db(), |tx| {
        let n = tx.exec(
            "UPDATE oidc_consent SET revoked_at = $3 WHERE personal_id = $1 AND client_id = $2 \
             AND revoked_at IS NULL",
            &[personal_id.into(), client_id.into(), t.into()],
        )?;
        let grants = tx.query(
            "SELECT id FROM oidc_grant WHERE personal_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            &[personal_id.into(), client_id.into()],
        )?;
        for g in grants {
            revoke_grant(tx, g.first().cloned().unwrap_or(Val::Null).int()?, t)?;
        }
        Ok::<_, Error>(n > 0)
    })
}

/// The clients with a back-channel logout URI that a browser session signed in to, with the
/// pairwise `sub` each knows.
pub fn logout_targets(store: &dyn Store, sid: &str) -> Result<Vec<(Client, String)>, Error> {
    let rows = sql::read(store.db(), |tx| {
        let rows = tx.query(
            "SELECT DISTINCT client_id, personal_id FROM oidc_grant WHERE sid = $1",
            &[sid.into()],
        )?;
        let key = if rows.is_empty() {
            Vec::new()
        } else {
            claims::pairwise_key(tx)?
        };
        Ok::<_, StoreError>((rows, key))
    })?;
    let (rows, key) = rows;
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let Some(client) = clients::get(store, &g(0).text()?)? else {
            continue;
        };
        if client.backchannel_logout_uri.is_some() && !client.disabled {
            let sub = claims::subject(&key, &client.sector_identifier, &g(1).text()?);
            out.push((client, sub));
        }
    }
    Ok(out)
}
