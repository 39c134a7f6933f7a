//! The demo's sample relying party, "Cổng dịch vụ công (minh hoạ)", served by the same binary in
//! development mode only (404 otherwise) at `/demo/portal`. It behaves as any portal would:
//! its "Đăng nhập bằng eID" button starts a real authorization code flow with PKCE (S256),
//! `state` and `nonce` against eid's own endpoints (found through discovery), and its callback
//! exchanges the code at the token endpoint over loopback HTTP with the outbound client
//! (`client_secret_basic`), checks the ID token (signature against the JWKS, `iss`, `aud`,
//! `nonce`), calls userinfo, and shows the claims it was given.
//!
//! `eid demo` registers the client (`eid_core::rp::register_demo_portal`) with the server's own
//! address as its redirect URI; the flow's state, nonce and verifier wait in an HttpOnly cookie
//! scoped to `/demo/portal`.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use eid_core::oidc::clients;
use eid_core::oidc::jose::{self, Jws};
use eid_core::rp::{demo_portal_secret, DEMO_PORTAL};
use serde_json::Value;

use crate::console::i18n::Lang;
use crate::console::render;
use crate::error::AppError;
use crate::outbound::{agent, ExtraCa};
use crate::state::AppState;

const COOKIE: &str = "eid_demo_portal";
const CALLBACK: &str = "/demo/portal/callback";

/// One released claim as shown.
pub struct ClaimRow {
    pub name: String,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "rp_portal.html")]
struct PortalPage {
    lang: Lang,
    /// Set once signed in: the claims released.
    claims: Vec<ClaimRow>,
    signed_in: bool,
    /// A refusal or failure, already translated.
    problem: String,
    ready: bool,
}

impl PortalPage {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

fn page(lang: Lang) -> PortalPage {
    PortalPage {
        lang,
        claims: Vec::new(),
        signed_in: false,
        problem: String::new(),
        ready: true,
    }
}

fn show(p: &PortalPage) -> Response {
    match render(p) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The portal's registration: its base URL (from its redirect URI) and its secret.
async fn registration(state: &AppState) -> Result<Option<(String, String)>, AppError> {
    state
        .read(|store| {
            let Some(c) = clients::get(store, DEMO_PORTAL)? else {
                return Ok(None);
            };
            let Some(secret) = demo_portal_secret(store)? else {
                return Ok(None);
            };
            let base = c
                .redirect_uris
                .iter()
                .find_map(|u| u.strip_suffix(CALLBACK))
                .map(str::to_owned);
            Ok(base.filter(|_| !c.disabled).map(|b| (b, secret)))
        })
        .await
}

fn random() -> String {
    eid_core::secret::random_token()
}

fn pkce_challenge(verifier: &str) -> String {
    jose::sha256_b64(verifier.as_bytes())
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The provider's metadata, read over loopback like any relying party would.
fn discover(base: &str) -> Result<Value, String> {
    let agent = agent(Duration::from_secs(10), &ExtraCa::default());
    let mut r = agent
        .get(&format!("{base}/.well-known/openid-configuration"))
        .call()
        .map_err(|e| crate::outbound::describe(&e))?;
    if r.status() != 200 {
        return Err(format!("discovery answered {}", r.status()));
    }
    r.body_mut()
        .read_json::<Value>()
        .map_err(|_| "discovery is not JSON".to_owned())
}

fn endpoint(meta: &Value, name: &str) -> Result<String, String> {
    meta.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("discovery has no {name}"))
}

/// `GET /demo/portal`
pub async fn portal(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.development {
        return AppError::not_found("route.not_found", "no such page").into_response();
    }
    let lang = Lang::from_headers(&headers);
    let mut p = page(lang);
    p.ready = matches!(registration(&state).await, Ok(Some(_)));
    show(&p)
}

/// `GET /demo/portal/login`: the authorization request.
pub async fn login(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.development {
        return AppError::not_found("route.not_found", "no such page").into_response();
    }
    let lang = Lang::from_headers(&headers);
    let Ok(Some((base, _))) = registration(&state).await else {
        let mut p = page(lang);
        p.ready = false;
        return show(&p);
    };
    let meta = {
        let base = base.clone();
        tokio::task::spawn_blocking(move || discover(&base)).await
    };
    let authorize = match meta
        .map_err(|_| "discovery failed".to_owned())
        .and_then(|m| m.and_then(|m| endpoint(&m, "authorization_endpoint")))
    {
        Ok(a) => a,
        Err(e) => return failed(lang, &e),
    };
    let (st, nonce, verifier) = (random(), random(), random());
    let url = format!(
        "{authorize}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={st}&nonce={nonce}&code_challenge={}&code_challenge_method=S256",
        enc(DEMO_PORTAL),
        enc(&format!("{base}{CALLBACK}")),
        enc("openid profile birthdate gender address"),
        pkce_challenge(&verifier),
    );
    let mut r = Redirect::to(&url).into_response();
    let cookie = format!(
        "{COOKIE}={st}.{nonce}.{verifier}; Path=/demo/portal; HttpOnly; SameSite=Lax; Max-Age=600"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn failed(lang: Lang, why: &str) -> Response {
    // The reason is a kind of failure (never a token or a claim); logged for the developer.
    tracing::warn!(reason = why, "demo portal: sign-in failed");
    let mut p = page(lang);
    p.problem = lang.t("portal.failed").to_owned();
    show(&p)
}

/// `GET /demo/portal/callback`: the authorization response.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !state.config.development {
        return AppError::not_found("route.not_found", "no such page").into_response();
    }
    let lang = Lang::from_headers(&headers);
    let flow = crate::auth::cookie(&headers, COOKIE).unwrap_or_default();
    let mut parts = flow.splitn(3, '.');
    let (st, nonce, verifier) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let mut response = if let Some(error) = q.get("error") {
        let mut p = page(lang);
        p.problem = if error == "access_denied" {
            lang.t("portal.denied").to_owned()
        } else {
            lang.t("portal.failed").to_owned()
        };
        show(&p)
    } else if st.is_empty() || q.get("state") != Some(&st) {
        failed(lang, "state does not match")
    } else {
        match registration(&state).await {
            Ok(Some((base, secret))) => {
                let code = q.get("code").cloned().unwrap_or_default();
                let iss = q.get("iss").cloned();
                let done = tokio::task::spawn_blocking(move || {
                    exchange(&base, &secret, &code, &verifier, &nonce, iss.as_deref())
                })
                .await;
                match done {
                    Ok(Ok(claims)) => {
                        let mut p = page(lang);
                        p.signed_in = true;
                        p.claims = rows(lang, &claims);
                        show(&p)
                    }
                    Ok(Err(e)) => failed(lang, &e),
                    Err(_) => failed(lang, "the exchange did not finish"),
                }
            }
            _ => failed(lang, "the portal is not registered"),
        }
    };
    let clear = format!("{COOKIE}=; Path=/demo/portal; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Code → tokens → checked ID token → userinfo; returns the claims released (userinfo's, with
/// the ID token's `acr` and `auth_time`).
fn exchange(
    base: &str,
    secret: &str,
    code: &str,
    verifier: &str,
    nonce: &str,
    iss: Option<&str>,
) -> Result<serde_json::Map<String, Value>, String> {
    let meta = discover(base)?;
    let issuer = endpoint(&meta, "issuer")?;
    if iss.is_some_and(|i| i != issuer) {
        return Err("the authorization response's iss is not the provider's".into());
    }
    let agent = agent(Duration::from_secs(10), &ExtraCa::default());
    let basic = STANDARD.encode(format!("{}:{}", enc(DEMO_PORTAL), enc(secret)));
    let redirect = format!("{base}{CALLBACK}");
    let mut r = agent
        .post(&endpoint(&meta, "token_endpoint")?)
        .header("Authorization", &format!("Basic {basic}"))
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier),
        ])
        .map_err(|e| crate::outbound::describe(&e))?;
    if r.status() != 200 {
        return Err(format!("the token endpoint answered {}", r.status()));
    }
    let tokens: Value = r
        .body_mut()
        .read_json()
        .map_err(|_| "the token response is not JSON".to_owned())?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or("no id_token")?;
    let access = tokens
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or("no access_token")?;
    let jws = Jws::parse(id_token).ok_or("the ID token is not a JWS")?;
    let mut jwks_r = agent
        .get(&endpoint(&meta, "jwks_uri")?)
        .call()
        .map_err(|e| crate::outbound::describe(&e))?;
    let jwks: Value = jwks_r
        .body_mut()
        .read_json()
        .map_err(|_| "the JWKS is not JSON".to_owned())?;
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let verified = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
        .any(|k| jws.verify(k));
    if !verified {
        return Err("the ID token's signature does not verify".into());
    }
    let c = &jws.claims;
    if c.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err("the ID token's iss is wrong".into());
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == DEMO_PORTAL,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(DEMO_PORTAL)),
        _ => false,
    };
    if !aud_ok || c.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err("the ID token's aud or nonce is wrong".into());
    }
    let mut u = agent
        .get(&endpoint(&meta, "userinfo_endpoint")?)
        .header("Authorization", &format!("Bearer {access}"))
        .call()
        .map_err(|e| crate::outbound::describe(&e))?;
    if u.status() != 200 {
        return Err(format!("userinfo answered {}", u.status()));
    }
    let mut claims = match u.body_mut().read_json::<Value>() {
        Ok(Value::Object(m)) => m,
        _ => return Err("userinfo is not a JSON object".into()),
    };
    if claims.get("sub") != c.get("sub") {
        return Err("userinfo's sub is not the ID token's".into());
    }
    for k in ["acr", "auth_time"] {
        if let Some(v) = c.get(k) {
            claims.insert(k.to_owned(), v.clone());
        }
    }
    Ok(claims)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .get("formatted")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

fn rows(lang: Lang, claims: &serde_json::Map<String, Value>) -> Vec<ClaimRow> {
    let mut keys: Vec<&String> = claims.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| ClaimRow {
            name: k.clone(),
            label: match lang.t(&format!("portal.claim.{k}")) {
                "??" => "",
                t => t,
            },
            value: claims.get(k).map(text).unwrap_or_default(),
        })
        .collect()
}
