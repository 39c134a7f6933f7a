//! The provider's JSON endpoints: discovery, JWKS, PAR (RFC 9126), token, userinfo.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use eid_core::oidc::auth::{self, Credentials, JWT_BEARER};
use eid_core::oidc::request::{self, Params};
use eid_core::oidc::{grant, services, tokens, OAuthError, ACR_VALUES, SCOPES};
use serde_json::json;

use super::{oauth_error, OidcState};
use crate::error::AppError;
use crate::state::AppState;

type Pairs = Result<Form<Vec<(String, String)>>, FormRejection>;

fn form(pairs: Pairs) -> Result<Params, OAuthError> {
    let Ok(Form(pairs)) = pairs else {
        return Err(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    };
    request::params(pairs)
        .ok_or_else(|| OAuthError::new("invalid_request", "a parameter is repeated"))
}

/// Decodes `%XX` and `+` (RFC 6749 §2.3.1 encodes Basic credentials as a form would).
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'+') => out.push(b' '),
            Some(b'%') => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            Some(c) => out.push(*c),
            None => return None,
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The client's credentials on a request: HTTP Basic (`client_secret_basic`) or the
/// `client_assertion` parameters (`private_key_jwt`), never both. Also the presentation API's
/// ([`crate::wallet`]), whose JSON body carries the assertion parameters.
pub(crate) fn credentials(headers: &HeaderMap, p: &Params) -> Result<Credentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let assertion = p.get("client_assertion");
    match (basic, assertion) {
        (Some(_), Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "use one client authentication method",
        )),
        (Some(b), None) => {
            let bad = || OAuthError::new("invalid_client", "malformed Basic credentials");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map_err(|_| bad())?;
            let raw = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
            Ok(Credentials::Basic {
                client_id: form_decode(id).ok_or_else(bad)?,
                secret: form_decode(secret).ok_or_else(bad)?,
            })
        }
        (None, Some(a)) => {
            if p.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                return Err(OAuthError::new(
                    "invalid_client",
                    "client_assertion_type must be jwt-bearer",
                ));
            }
            Ok(Credentials::Assertion {
                client_id: p.get("client_id").cloned(),
                assertion: a.clone(),
            })
        }
        (None, None) => Ok(Credentials::Missing),
    }
}

/// A DPoP proof on this request, verified and not seen before: its key's thumbprint.
fn dpop(
    oidc: &OidcState,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    now: time::OffsetDateTime,
    access_token: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            "invalid_dpop_proof",
            "one DPoP proof per request",
        ));
    }
    let v = v
        .to_str()
        .map_err(|_| OAuthError::new("invalid_dpop_proof", "the DPoP proof is not text"))?;
    let proof = auth::dpop_proof(v, method, url, now, access_token)?;
    if !oidc.dpop_fresh(&proof.jti, proof.iat, now.unix_timestamp()) {
        return Err(OAuthError::new(
            "invalid_dpop_proof",
            "the DPoP proof was used before",
        ));
    }
    Ok(Some(proof.jkt))
}

/// The request's source, unless its failed client authentications are spent for the window
/// (`[limits] client_auth_failures_per_hour`): then the 429 to answer.
fn client_check_place(
    state: &AppState,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Result<std::net::IpAddr, Box<Response>> {
    let source = state
        .sources
        .source(crate::auth::client_ip(extensions), headers);
    match state.sources.client_auth.spent(source) {
        None => Ok(source),
        Some(wait) => Err(Box::new(over_budget(wait))),
    }
}

fn over_budget(wait: u64) -> Response {
    let body = json!({
        "error": "invalid_client",
        "error_description": "too many failed client authentications from this address; try again later",
    });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The answer to a failure past the source's budget ([`auth::OVER_BUDGET`]), if this is one.
fn settle_client_check<T>(
    state: &AppState,
    source: std::net::IpAddr,
    r: &Result<T, OAuthError>,
) -> Option<Response> {
    match r {
        Err(e) if e.error == auth::OVER_BUDGET => Some(over_budget(
            state.sources.client_auth.spent(source).unwrap_or(1),
        )),
        _ => None,
    }
}

fn internal(e: AppError) -> OAuthError {
    OAuthError {
        error: "server_error",
        description: "the server failed; try again".into(),
        cause: Some(format!("{e:?}")),
    }
}

pub(super) async fn discovery(State(state): State<AppState>) -> Response {
    let i = &state.oidc.issuer;
    let algs = ["ES256", "RS256", "EdDSA"];
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/oauth2/authorize"),
        "pushed_authorization_request_endpoint": format!("{i}/oauth2/par"),
        "token_endpoint": format!("{i}/oauth2/token"),
        "userinfo_endpoint": format!("{i}/oauth2/userinfo"),
        "jwks_uri": format!("{i}/oauth2/jwks"),
        "end_session_endpoint": format!("{i}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "dpop_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr",
            "amr", "sid", "name", "family_name", "given_name", "middle_name", "birthdate",
            "gender", "address", "phone_number", "phone_number_verified", "vn_personal_id"],
        "acr_values_supported": ACR_VALUES,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_pushed_authorization_requests": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "ui_locales_supported": ["vi", "en"],
    }))
    .into_response()
}

pub(super) async fn jwks(State(state): State<AppState>) -> Response {
    let now = state.now();
    let st = state.clone();
    // Read fresh (one small read): a rotation shows at once, whichever node made it.
    let r = state
        .blocking(move |store| {
            Ok(st
                .oidc
                .keys(store, now)
                .and_then(|_| Ok(eid_core::oidc::keys::jwks(store)?)))
        })
        .await
        .map_err(internal)
        .and_then(|r| r);
    match r {
        Ok(jwks) => {
            let mut resp = Json(jwks).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            );
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            resp
        }
        Err(e) => oauth_error(&e),
    }
}

pub(super) async fn par(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Pairs,
) -> Response {
    let now = state.now();
    let source = match client_check_place(&state, &extensions, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let run = async {
        let mut p = form(body)?;
        let creds = credentials(&headers, &p)?;
        let issuer = state.oidc.issuer.clone();
        let rid = crate::error::request_id();
        let par_url = format!("{issuer}/oauth2/par");
        if let Some(jkt) = dpop(&state.oidc, &headers, "POST", &par_url, now, None)? {
            if p.get("dpop_jkt").is_some_and(|j| *j != jkt) {
                return Err(OAuthError::new(
                    "invalid_request",
                    "dpop_jkt differs from the proof's key",
                ));
            }
            p.insert("dpop_jkt".into(), jkt);
        }
        let st = state.clone();
        state
            .blocking(move |store| {
                Ok((|| {
                    let token_url = format!("{issuer}/oauth2/token");
                    let a = auth::authenticate_within(
                        store,
                        &creds,
                        &[&issuer, &par_url, &token_url],
                        &rid,
                        now,
                        &|| st.sources.client_auth.take(source),
                    )?;
                    a.spend_jti_now(store, &rid, now)?;
                    if a.client.dpop_bound && !p.contains_key("dpop_jkt") {
                        return Err(OAuthError::new(
                            "invalid_request",
                            "this client must bind its tokens with DPoP",
                        ));
                    }
                    request::push(store, &a.client, &p, now)
                })())
            })
            .await
            .map_err(internal)?
    };
    let result = run.await;
    if let Some(r) = settle_client_check(&state, source, &result) {
        return r;
    }
    match result {
        Ok(uri) => (
            StatusCode::CREATED,
            Json(json!({"request_uri": uri, "expires_in": request::PAR_SECONDS})),
        )
            .into_response(),
        Err(e) => oauth_error(&e),
    }
}

pub(super) async fn token(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Pairs,
) -> Response {
    let now = state.now();
    let source = match client_check_place(&state, &extensions, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let run = async {
        let p = form(body)?;
        let creds = credentials(&headers, &p)?;
        let issuer = state.oidc.issuer.clone();
        let rid = crate::error::request_id();
        let token_url = format!("{issuer}/oauth2/token");
        let jkt = dpop(&state.oidc, &headers, "POST", &token_url, now, None)?;
        let st = state.clone();
        state
            .blocking(move |store| {
                let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
                // The two grants that write confirm a cached client in their transaction;
                // when it changed meanwhile, the request runs again from the store.
                let cacheable = matches!(get("grant_type"), "authorization_code" | "refresh_token");
                let attempt = |cached: bool| -> Result<tokens::Minted, OAuthError> {
                    let audiences = [issuer.as_str(), token_url.as_str()];
                    let place = || st.sources.client_auth.take(source);
                    let a = if cached {
                        auth::authenticate_cached(
                            store,
                            &st.oidc.clients,
                            &creds,
                            &audiences,
                            &rid,
                            now,
                            &place,
                        )?
                    } else {
                        auth::authenticate_within(store, &creds, &audiences, &rid, now, &place)?
                    };
                    if a.client.dpop_bound && jkt.is_none() {
                        return Err(OAuthError::new(
                            "invalid_dpop_proof",
                            "this client must send a DPoP proof",
                        ));
                    }
                    if get("grant_type") == "client_credentials" {
                        let scope =
                            eid_core::stay::api::client_grant(store, &a, get("scope"), &rid, now)?;
                        let (keys, _) = st.oidc.keys(store, now)?;
                        return tokens::mint_client(&keys, &issuer, &a.client, &scope, now);
                    }
                    let issue = match get("grant_type") {
                        "authorization_code" => grant::exchange(
                            store,
                            st.token_writes(),
                            &*st.oidc.kek()?,
                            &a,
                            &grant::CodeGrant {
                                code: get("code"),
                                redirect_uri: get("redirect_uri"),
                                code_verifier: get("code_verifier"),
                            },
                            jkt.as_deref(),
                            &rid,
                            now,
                        )?,
                        "refresh_token" => grant::refresh(
                            store,
                            st.token_writes(),
                            &a,
                            get("refresh_token"),
                            jkt.as_deref(),
                            &rid,
                            now,
                        )?,
                        "" => {
                            return Err(OAuthError::new("invalid_request", "grant_type is missing"))
                        }
                        _ => {
                            return Err(OAuthError::new(
                                "unsupported_grant_type",
                                "only authorization_code, refresh_token and client_credentials",
                            ))
                        }
                    };
                    let (keys, _) = st.oidc.keys(store, now)?;
                    tokens::mint(&keys, &issuer, &a.client, &issue, now)
                };
                Ok(match attempt(cacheable) {
                    Err(e) if e.error == auth::STALE_CLIENT => {
                        st.oidc.clients.forget_all();
                        attempt(false)
                    }
                    other => other,
                })
            })
            .await
            .map_err(internal)?
    };
    let result = run.await;
    if let Some(r) = settle_client_check(&state, source, &result) {
        return r;
    }
    match result {
        Ok(m) => {
            let mut body = json!({
                "access_token": m.access_token,
                "token_type": m.token_type,
                "expires_in": m.expires_in,
                "id_token": m.id_token,
                "scope": m.scope,
            });
            if m.id_token.is_empty() {
                // The client-credentials grant answers no ID token (no person signed in).
                body.as_object_mut().map(|o| o.remove("id_token"));
            }
            if let Some(r) = m.refresh_token {
                body["refresh_token"] = json!(r);
            }
            let mut resp = Json(body).into_response();
            resp.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => oauth_error(&e),
    }
}

fn bearer_error(e: &OAuthError, dpop: bool) -> Response {
    let mut r = oauth_error(e);
    // At a resource, a bad DPoP proof is 401 (RFC 9449 §7.1), not the token endpoint's 400.
    if e.error == "invalid_dpop_proof" {
        *r.status_mut() = StatusCode::UNAUTHORIZED;
    }
    let scheme = if dpop { "DPoP" } else { "Bearer" };
    let v = format!("{scheme} error=\"{}\"", e.error);
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

pub(super) async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let now = state.now();
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme_dpop, token) = if let Some(t) = authz.strip_prefix("Bearer ") {
        (false, t.trim().to_owned())
    } else if let Some(t) = authz.strip_prefix("DPoP ") {
        (true, t.trim().to_owned())
    } else {
        let e = OAuthError::new("invalid_token", "an access token is required");
        let mut r = bearer_error(&e, false);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    let issuer = state.oidc.issuer.clone();
    let url = format!("{issuer}/oauth2/userinfo");
    let run = async {
        let proof = if scheme_dpop {
            dpop(
                &state.oidc,
                &headers,
                method.as_str(),
                &url,
                now,
                Some(&token),
            )?
        } else {
            None
        };
        let st = state.clone();
        state
            .blocking(move |store| {
                Ok((|| {
                    let (_, jwks) = st.oidc.keys(store, now)?;
                    let access = tokens::check_access(&jwks, &issuer, &token, now)?;
                    match (&access.jkt, &proof, scheme_dpop) {
                        (Some(bound), Some(p), true) if bound == p => {}
                        (None, None, false) => {}
                        _ => {
                            return Err(OAuthError::new(
                                "invalid_token",
                                "the token's binding and the request's proof differ",
                            ))
                        }
                    }
                    services::userinfo(store, access.grant_id, &access.client_id, now)
                })())
            })
            .await
            .map_err(internal)?
    };
    match run.await {
        Ok(claims) => Json(serde_json::Value::Object(claims)).into_response(),
        Err(e) => bearer_error(&e, scheme_dpop),
    }
}
