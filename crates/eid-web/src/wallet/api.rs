//! `POST /api/v1/presentations/verify`: a relying party (a client of the OpenID Connect
//! provider: a bank, a hospital, an airline) checks a citizen's presentation online with its
//! client credentials, `client_secret_basic` or `private_key_jwt`, authenticated by the
//! provider's own client check (`eid_core::oidc::auth`). The answer is the disclosed claims;
//! the read is recorded for the holder naming the client (`eid_core::wallet::cred::read_online`).
//!
//! Limits: failed client authentications take a place in the source address's budget shared
//! with the token and pushed-request endpoints (`[limits] client_auth_failures_per_hour`); an
//! authenticated client's checks pass its own allowance (`client_presentation_burst`,
//! `client_presentation_per_hour`).

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::Json;
use eid_core::oidc::auth::{self, Authenticated};
use eid_core::oidc::request::Params;
use eid_core::oidc::OAuthError;
use eid_core::wallet::cred::{self, Invalid, Reader, Verified};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

/// The endpoint's path (an assertion's `aud` may name it).
pub const PATH: &str = "/api/v1/presentations/verify";

/// A presentation to check, with the client's assertion when it uses `private_key_jwt`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentationIn {
    /// The presentation's text as scanned from the citizen's QR code (`EID1:` and base45).
    #[schema(examples("EID1:6BFOXN…"))]
    pub presentation: String,
    /// The purpose the relying party states: `age`, `health`, `bank`, `travel` or `other`.
    /// When given it must be the purpose the citizen chose for this QR code.
    #[serde(default)]
    pub purpose: Option<String>,
    /// `private_key_jwt` (RFC 7523): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[serde(default)]
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with one of the client's registered keys, `iss` = `sub`
    /// = the client id, `aud` the issuer or this endpoint's URL, `exp` within 10 minutes, and a
    /// `jti` used once.
    #[serde(default)]
    pub client_assertion: Option<String>,
    /// `private_key_jwt`: the client id (optional; must be the assertion's `iss`).
    #[serde(default)]
    pub client_id: Option<String>,
}

impl std::fmt::Debug for PresentationIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PresentationIn({} bytes, …)", self.presentation.len())
    }
}

/// A presentation that verified and was read: what the citizen chose to disclose, nothing else.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationOut {
    /// Always `true` here: a presentation that does not verify is refused with an error.
    pub verified: bool,
    /// The purpose the citizen chose: `age`, `health`, `bank`, `travel` or `other`.
    pub purpose: String,
    /// When the citizen made the QR code (RFC 3339).
    pub issued_at: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The disclosed claims only: `over18` (a boolean), `name`, `birth`, `sex`, `nat`, `pid`,
    /// `hi` and `dl` (a document's number or class) with `hi_to`/`dl_to` (valid to), strings.
    #[schema(value_type = Object)]
    pub claims: Map<String, Value>,
}

/// RFC 3339 text of a credential's Unix time (empty if out of range).
fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(crate::wire::rfc3339)
        .unwrap_or_default()
}

fn answer(v: Verified) -> PresentationOut {
    let claims = v
        .claims
        .into_iter()
        .map(|(k, val)| {
            let val = match (k.as_str(), val.as_str()) {
                ("over18", "true") => Value::Bool(true),
                ("over18", "false") => Value::Bool(false),
                _ => Value::String(val),
            };
            (k, val)
        })
        .collect();
    PresentationOut {
        verified: true,
        purpose: v.purpose,
        issued_at: rfc3339(v.issued_at),
        expires_at: rfc3339(v.expires_at),
        claims,
    }
}

/// A refused presentation: its status and stable code.
fn refusal(e: Invalid) -> AppError {
    let (status, code, message) = match e {
        Invalid::Malformed => (
            StatusCode::BAD_REQUEST,
            "presentation.malformed",
            "not a presentation (EID1: and base45 of a signed credential)",
        ),
        Invalid::UnknownKey => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.unknown_key",
            "signed by no key the platform publishes",
        ),
        Invalid::BadSignature => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.bad_signature",
            "the signature does not verify: the presentation was altered or forged",
        ),
        Invalid::Expired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.expired",
            "the presentation has expired; ask the citizen for a new QR code",
        ),
        Invalid::Revoked => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.revoked",
            "the citizen withdrew this presentation",
        ),
        Invalid::Replayed => (
            StatusCode::CONFLICT,
            "presentation.replayed",
            "this presentation was read before; a presentation is read once",
        ),
        Invalid::NotIssued => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.not_issued",
            "the platform never issued this presentation",
        ),
        Invalid::PurposeMismatch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation.purpose_mismatch",
            "the citizen made this QR code for another purpose",
        ),
    };
    AppError::Refused {
        status,
        code,
        message: message.to_owned(),
        detail: None,
    }
}

/// A failed client authentication in the API's errors; past the source's budget, 429.
fn client_error(state: &AppState, source: std::net::IpAddr, e: OAuthError) -> AppError {
    match e.error {
        auth::OVER_BUDGET => AppError::RateLimited {
            retry_after: state.sources.client_auth.spent(source).unwrap_or(1),
        },
        "server_error" => AppError::Internal(e.cause.unwrap_or(e.description)),
        "invalid_request" => AppError::bad("client.bad_request", e.description),
        _ => AppError::BadClient(e.description),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/presentations/verify",
    tag = "wallet",
    summary = "Check a citizen's wallet presentation online as a relying party (kiểm tra mã QR).",
    description = "A relying party registered with the OpenID Connect provider checks the \
        presentation a citizen shows (the text of the QR code of the wallet) with its client \
        credentials, as at the token endpoint: HTTP Basic with the client id and secret \
        (`client_secret_basic`), or `client_assertion_type` and `client_assertion` in the body \
        (`private_key_jwt`; `aud` the issuer or this endpoint's URL; each assertion once). The \
        server checks the signature against the published keys, the expiry, the status list \
        and that it issued the presentation; a presentation is read once. The answer carries \
        the disclosed claims only. The read is recorded for the citizen, naming the client, \
        what was disclosed, the purpose and the time (their \"who used my data\" page). \
        Refusals: `client.invalid` (401, `WWW-Authenticate`: unknown client, wrong secret or \
        assertion — the same answer for each), `presentation.malformed` (400), \
        `presentation.bad_signature`, `presentation.unknown_key`, `presentation.expired`, \
        `presentation.revoked`, `presentation.not_issued`, `presentation.purpose_mismatch` \
        (422), `presentation.replayed` (409), `presentation.bad_purpose` (400), \
        `auth.rate_limited` (429 with `Retry-After`: too many failed client authentications \
        from the address, or the client's own allowance of checks spent).",
    request_body = PresentationIn,
    responses(
        (status = 200, description = "The presentation verified and was read.", body = PresentationOut),
        Errors,
    ),
    security(("client" = []), ()),
)]
pub(super) async fn verify(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PresentationIn>,
) -> Result<Json<PresentationOut>, AppError> {
    let source = state
        .sources
        .source(crate::auth::client_ip(&extensions), &headers);
    if let Some(wait) = state.sources.client_auth.spent(source) {
        return Err(AppError::RateLimited { retry_after: wait });
    }
    let mut params = Params::new();
    for (k, v) in [
        ("client_assertion_type", &body.client_assertion_type),
        ("client_assertion", &body.client_assertion),
        ("client_id", &body.client_id),
    ] {
        if let Some(v) = v {
            params.insert(k.to_owned(), v.clone());
        }
    }
    let creds = crate::oidc::client_credentials(&headers, &params)
        .map_err(|e| client_error(&state, source, e))?;
    let now = state.now();
    let rid = crate::error::request_id();
    let st = state.clone();
    let read = state
        .blocking(move |store| {
            let issuer = st.oidc.issuer.as_str();
            let url = format!("{issuer}{PATH}");
            let authenticated = (|| -> Result<Authenticated, OAuthError> {
                let a =
                    auth::authenticate_within(store, &creds, &[issuer, &url], &rid, now, &|| {
                        st.sources.client_auth.take(source)
                    })?;
                a.spend_jti_now(store, &rid, now)?;
                Ok(a)
            })()
            .map_err(|e| client_error(&st, source, e))?;
            let client = authenticated.client;
            st.sources.take_presentation(&client.client_id)?;
            let (_, jwks) = st
                .oidc
                .keys(store, now)
                .map_err(|e| AppError::Internal(format!("signing keys: {}", e.description)))?;
            let reader = Reader::RelyingParty {
                client_id: client.client_id.clone(),
                name: client.name_vi.clone(),
            };
            Ok(cred::read_online(
                store,
                &jwks,
                &body.presentation,
                &reader,
                body.purpose.as_deref(),
                now,
            )?)
        })
        .await?;
    read.map(|v| Json(answer(v))).map_err(refusal)
}
