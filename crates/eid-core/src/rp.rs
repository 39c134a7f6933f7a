//! Editing a relying party of the registry (`oidc::clients` registers, lists, rotates secrets
//! and disables; this changes what a registered client may do). Ministry-level staff only;
//! audited as `oidc.client.update`. The client id, the authentication method and the pairwise
//! sector stay as registered: changing the sector would change every citizen's `sub` at that
//! service, and changing the method is a new registration.

use serde_json::Value;

use crate::oidc::clients::{self, AuthMethod, Client};
use crate::oidc::jose::Alg;
use crate::oidc::{ACR_VALUES, SCOPES};
use crate::sql;
use crate::store::Role;
use crate::{Acting, Caller, Error, Store};

/// What an edit may change.
#[derive(Debug, Clone)]
pub struct ClientEdit {
    pub name_vi: String,
    pub name_en: String,
    pub logo_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub scopes: Vec<String>,
    pub acr_values: Vec<String>,
    pub id_token_alg: Alg,
    /// Replaces the public keys of a `private_key_jwt` client when `Some`.
    pub jwks: Option<Value>,
    pub require_par: bool,
    pub dpop_bound: bool,
}

fn bad(m: impl Into<String>) -> Error {
    Error::bad("oidc.client.bad", m)
}

fn check(e: &ClientEdit, method: AuthMethod) -> Result<(), Error> {
    if e.name_vi.trim().is_empty() || e.name_en.trim().is_empty() {
        return Err(bad("a client needs a name in Vietnamese and in English"));
    }
    if e.name_vi.chars().count() > 200 || e.name_en.chars().count() > 200 {
        return Err(bad("a name is at most 200 characters"));
    }
    if e.redirect_uris.is_empty() {
        return Err(bad("a client needs at least one redirect URI"));
    }
    let uris = e
        .redirect_uris
        .iter()
        .chain(&e.post_logout_redirect_uris)
        .chain(e.backchannel_logout_uri.iter())
        .chain(e.logo_uri.iter());
    for u in uris {
        if !clients::valid_uri(u) {
            return Err(bad(
                "URIs must be absolute https:// (http:// on loopback only), without a fragment",
            ));
        }
    }
    if let Some(s) = e.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(bad(format!("unknown scope {s:?}")));
    }
    if e.acr_values.is_empty() {
        return Err(bad("a client needs at least one level (acr value)"));
    }
    if let Some(a) = e
        .acr_values
        .iter()
        .find(|a| !ACR_VALUES.contains(&a.as_str()))
    {
        return Err(bad(format!("unknown acr value {a:?}")));
    }
    if let Some(j) = &e.jwks {
        if method != AuthMethod::PrivateKeyJwt {
            return Err(bad("public keys are for private_key_jwt clients"));
        }
        let keys = j.get("keys").and_then(Value::as_array);
        if keys.is_none_or(|k| k.is_empty()) {
            return Err(bad("a JWKS needs at least one key"));
        }
    }
    Ok(())
}

/// Changes what `client_id` may do (see [`ClientEdit`]); returns the client as stored.
pub fn update(
    store: &dyn Store,
    acting: &Acting,
    client_id: &str,
    edit: &ClientEdit,
) -> Result<Client, Error> {
    let result = (|| -> Result<Client, Error> {
        may_manage(&acting.caller)?;
        let before = clients::get(store, client_id)?
            .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))?;
        check(edit, before.auth_method)?;
        let mut scopes: Vec<String> = vec!["openid".into()];
        for s in &edit.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        let ms = (acting.now.unix_timestamp_nanos() / 1_000_000) as i64;
        let jwks = match &edit.jwks {
            Some(j) => Some(j.to_string()),
            None => before.jwks.as_ref().map(Value::to_string),
        };
        sql::write_one(store.db(), |tx| {
            tx.exec(
                "UPDATE oidc_client SET name_vi = $1, name_en = $2, logo_uri = $3, \
                 redirect_uris = $4, post_logout_redirect_uris = $5, backchannel_logout_uri = $6, \
                 scopes = $7, acr_values = $8, id_token_alg = $9, jwks = $10, require_par = $11, \
                 dpop_bound = $12, updated_at = $13 WHERE client_id = $14",
                &[
                    edit.name_vi.trim().into(),
                    edit.name_en.trim().into(),
                    edit.logo_uri.clone().into(),
                    serde_json::to_string(&edit.redirect_uris)
                        .unwrap_or_default()
                        .into(),
                    serde_json::to_string(&edit.post_logout_redirect_uris)
                        .unwrap_or_default()
                        .into(),
                    edit.backchannel_logout_uri.clone().into(),
                    scopes.join(" ").into(),
                    edit.acr_values.join(" ").into(),
                    edit.id_token_alg.as_str().into(),
                    jwks.into(),
                    edit.require_par.into(),
                    edit.dpop_bound.into(),
                    ms.into(),
                    client_id.into(),
                ],
            )
        })?;
        clients::get(store, client_id)?
            .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))
    })();
    acting.audited(store, "oidc.client.update", client_id, result)
}

/// Whether `caller` may manage the registry (ministry level); `ScopeDenied` otherwise.
pub fn may_manage(caller: &Caller) -> Result<(), Error> {
    if caller.role() == Role::Ministry {
        Ok(())
    } else {
        Err(Error::ScopeDenied)
    }
}

/// One client, for the registry's pages (ministry level; disabled clients too).
pub fn client(store: &dyn Store, caller: &Caller, client_id: &str) -> Result<Client, Error> {
    may_manage(caller)?;
    clients::get(store, client_id)?
        .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))
}
