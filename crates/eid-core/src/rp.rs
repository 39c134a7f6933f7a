//! Editing a relying party of the registry (`oidc::clients` registers, lists, rotates secrets
//! and disables; this changes what a registered client may do). Ministry-level staff only;
//! audited as `oidc.client.update`. The client id, the authentication method and the pairwise
//! sector stay as registered: changing the sector would change every citizen's `sub` at that
//! service, and changing the method is a new registration.

use serde_json::Value;

use crate::oidc::clients::{self, AuthMethod, Client};
use crate::oidc::jose::Alg;
use crate::oidc::ACR_VALUES;
use crate::sql;
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

fn check(e: &ClientEdit, method: AuthMethod) -> Result<(), Error> {
    clients::check_terms(&clients::Terms {
        name_vi: &e.name_vi,
        name_en: &e.name_en,
        logo_uri: e.logo_uri.as_ref(),
        redirect_uris: &e.redirect_uris,
        post_logout_redirect_uris: &e.post_logout_redirect_uris,
        backchannel_logout_uri: e.backchannel_logout_uri.as_ref(),
        scopes: &e.scopes,
        acr_values: &e.acr_values,
    })?;
    let bad = |m: &str| Err(Error::bad("oidc.client.bad", m));
    if let Some(j) = &e.jwks {
        if method != AuthMethod::PrivateKeyJwt {
            return bad("public keys are for private_key_jwt clients");
        }
        let keys = j.get("keys").and_then(Value::as_array);
        if keys.is_none_or(|k| k.is_empty()) {
            return bad("a JWKS needs at least one key");
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

pub use clients::may_manage;

/// One client, for the registry's pages (ministry level; disabled clients too).
pub fn client(store: &dyn Store, caller: &Caller, client_id: &str) -> Result<Client, Error> {
    may_manage(caller)?;
    clients::get(store, client_id)?
        .ok_or_else(|| Error::not_found("oidc.client.not_found", "no such client"))
}

/// The client id of the demo's sample relying party (`eid demo`, development mode only).
pub const DEMO_PORTAL: &str = "demo-portal";
/// Where an older `eid demo` kept its portal's secret in plain text; removed at registration.
const OLD_DEMO_PORTAL_SECRET: &str = "demo.portal_secret";

/// The demo portal's secrets this process made (the portal is served by the process that
/// registers it, and presents its secret at the token endpoint like any relying party). The
/// database keeps only the secret's hash, as for every client; a few are kept so that several
/// servers of one process (the tests) each find theirs.
static DEMO_SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
const DEMO_SECRETS_KEPT: usize = 16;

/// Registers the demo's portal for the server at `base` (`http://127.0.0.1:PORT`), or points the
/// registered one at `base` again and gives it a new secret; keeps that secret for the portal.
/// Returns the portal's URL.
pub fn register_demo_portal(
    store: &dyn Store,
    acting: &Acting,
    base: &str,
) -> Result<String, Error> {
    let base = base.trim_end_matches('/');
    let portal = format!("{base}/demo/portal");
    let callback = format!("{portal}/callback");
    let scopes: Vec<String> = ["openid", "profile", "birthdate", "gender", "address"]
        .map(str::to_owned)
        .to_vec();
    let levels: Vec<String> = ACR_VALUES.map(str::to_owned).to_vec();
    let secret = match clients::get(store, DEMO_PORTAL)? {
        Some(c) => {
            let edit = ClientEdit {
                name_vi: c.name_vi,
                name_en: c.name_en,
                logo_uri: None,
                redirect_uris: vec![callback],
                post_logout_redirect_uris: vec![portal.clone()],
                backchannel_logout_uri: None,
                scopes,
                acr_values: levels,
                id_token_alg: Alg::Es256,
                jwks: None,
                require_par: false,
                dpop_bound: false,
            };
            update(store, acting, DEMO_PORTAL, &edit)?;
            clients::rotate_secret(store, acting, DEMO_PORTAL)?
        }
        None => {
            let new = clients::NewClient {
                client_id: Some(DEMO_PORTAL.to_owned()),
                name_vi: "Cổng dịch vụ công (minh hoạ)".to_owned(),
                name_en: "Public service portal (demo)".to_owned(),
                logo_uri: None,
                redirect_uris: vec![callback],
                post_logout_redirect_uris: vec![portal.clone()],
                backchannel_logout_uri: None,
                scopes,
                acr_values: levels,
                id_token_alg: Alg::Es256,
                auth_method: AuthMethod::ClientSecretBasic,
                jwks: None,
                require_par: false,
                sector_identifier: Some("demo-portal.local".to_owned()),
                dpop_bound: false,
            };
            let (_, secret) = clients::add(store, acting, &new)?;
            secret.ok_or_else(|| Error::bad("oidc.client.bad", "the demo portal got no secret"))?
        }
    };
    sql::write_one(store.db(), |tx| {
        tx.exec(
            "DELETE FROM app_setting WHERE key = $1",
            &[OLD_DEMO_PORTAL_SECRET.into()],
        )
    })?;
    let mut kept = DEMO_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() >= DEMO_SECRETS_KEPT {
        kept.remove(0);
    }
    kept.push(secret);
    Ok(portal)
}

/// The demo portal's secret, when `eid demo` registered it on this database in this process
/// (the one of this process's secrets that matches the client's stored hash).
pub fn demo_portal_secret(store: &dyn Store) -> Result<Option<String>, Error> {
    let Some(client) = clients::get(store, DEMO_PORTAL)? else {
        return Ok(None);
    };
    let kept = DEMO_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    Ok(kept
        .iter()
        .rev()
        .find(|s| client.secret_matches(s))
        .cloned())
}
