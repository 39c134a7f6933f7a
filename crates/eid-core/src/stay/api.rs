//! Stay notifications by an establishment's own system (a hospital's, a hotel's): the OAuth2
//! client-credentials grant at the provider's token endpoint, for a registered client bound to
//! one establishment ([`super::bind_client`]), with the one scope [`SCOPE`]; and the check of
//! the access token `POST /api/v1/stays` is called with.

use serde_json::Value;
use time::OffsetDateTime;

use super::client_establishment;
use crate::oidc::auth::Authenticated;
use crate::oidc::tokens;
use crate::oidc::OAuthError;
use crate::{Error, Store};

/// The scope of a client-credentials token that may notify stays.
pub const SCOPE: &str = "stay:notify";

/// The client-credentials grant for an authenticated client: it must be bound to an
/// establishment, and may ask for [`SCOPE`] only (or nothing, which means it). Spends a client
/// assertion's `jti`. Returns the scope granted.
pub fn client_grant(
    store: &dyn Store,
    auth: &Authenticated,
    scope: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<String, OAuthError> {
    if client_establishment(store, &auth.client.client_id)?.is_none() {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client is not registered for the client_credentials grant",
        ));
    }
    if !scope.split_whitespace().all(|s| s == SCOPE) {
        return Err(OAuthError::new(
            "invalid_scope",
            "the client_credentials grant gives the scope stay:notify only",
        ));
    }
    auth.spend_jti_now(store, request_id, now)?;
    Ok(SCOPE.to_owned())
}

/// The client and establishment behind a client-credentials access token with [`SCOPE`]; the
/// client must still be enabled and bound.
pub fn caller(
    store: &dyn Store,
    jwks: &Value,
    issuer: &str,
    token: &str,
    now: OffsetDateTime,
) -> Result<(String, i64), OAuthError> {
    let access = tokens::check_client_access(jwks, issuer, token, now)?;
    if !access.scopes.iter().any(|s| s == SCOPE) {
        return Err(OAuthError::new(
            "insufficient_scope",
            "the token lacks the scope stay:notify",
        ));
    }
    let client = crate::oidc::clients::get(store, &access.client_id).map_err(|e| match e {
        Error::Store(e) => OAuthError::server(e),
        _ => OAuthError::new("invalid_token", "the access token is not valid"),
    })?;
    if client.is_none_or(|c| c.disabled) {
        return Err(OAuthError::new("invalid_token", "the client is disabled"));
    }
    match client_establishment(store, &access.client_id)? {
        Some(e) => Ok((access.client_id, e)),
        None => Err(OAuthError::new(
            "invalid_token",
            "the client is no longer bound to an establishment",
        )),
    }
}
