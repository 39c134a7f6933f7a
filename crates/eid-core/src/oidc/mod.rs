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
