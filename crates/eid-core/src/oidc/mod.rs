//! The OpenID Connect provider (issue 12): signing keys and the JWKS (`keys`), the relying-party
//! registry (`clients`), compact JWS over ring (`jose`).
//!
//! Levels of assurance are published as `acr` values: [`ACR_LOA1`] (password) and
//! [`ACR_LOA2`] (password and passcode on an account activated in person).

pub mod clients;
pub mod jose;
pub mod keys;

/// Level 1: an account registered online, signed in with its password.
pub const ACR_LOA1: &str = "urn:eid:vn:loa:1";
/// Level 2: an account activated in person, signed in with password and passcode.
pub const ACR_LOA2: &str = "urn:eid:vn:loa:2";
/// Every acr value the provider knows, lowest first.
pub const ACR_VALUES: [&str; 2] = [ACR_LOA1, ACR_LOA2];

/// Every scope the provider knows. `vn_personal_id` releases the personal ID number and nothing
/// else does; `offline_access` asks for a refresh token.
pub const SCOPES: [&str; 8] = [
    "openid",
    "profile",
    "birthdate",
    "gender",
    "address",
    "phone",
    "vn_personal_id",
    "offline_access",
];

pub mod auth;
pub mod claims;
pub mod grant;
pub mod request;
pub mod services;
pub mod tokens;

use time::OffsetDateTime;

use crate::{Error, StoreError};

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(n: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An OAuth error as the specifications name it (`invalid_grant`, `invalid_client`, …), for the
/// JSON endpoints (PAR, token, userinfo). The web answers it in the specifications' format.
#[derive(Debug)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
    /// A failure of the server, logged by the web and never shown.
    pub cause: Option<String>,
}

impl OAuthError {
    pub fn new(error: &'static str, description: &str) -> OAuthError {
        OAuthError {
            error,
            description: description.to_owned(),
            cause: None,
        }
    }

    pub fn server(e: StoreError) -> OAuthError {
        OAuthError {
            error: "server_error",
            description: "the server failed; try again".into(),
            cause: Some(e.to_string()),
        }
    }

    /// The HTTP status (RFC 6749 §5.2, RFC 6750 §3.1).
    pub fn status(&self) -> u16 {
        match self.error {
            "invalid_client" | "invalid_token" => 401,
            "insufficient_scope" => 403,
            "server_error" => 500,
            _ => 400,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> OAuthError {
        OAuthError::server(e)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> OAuthError {
        match e {
            Error::Store(e) => OAuthError::server(e),
            other => OAuthError {
                error: "invalid_request",
                description: other.to_string(),
                cause: None,
            },
        }
    }
}

/// The citizen's browser session as the provider sees it.
#[derive(Clone)]
pub struct Session {
    /// The session's id, published as `sid` (a hash, never the cookie).
    pub sid: String,
    pub personal_id: String,
    /// 1 (password) or 2 (password and passcode).
    pub level: u8,
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(level {}, …)", self.level)
    }
}

/// The acr value of a level.
pub fn acr_of(level: u8) -> &'static str {
    if level >= 2 {
        ACR_LOA2
    } else {
        ACR_LOA1
    }
}
