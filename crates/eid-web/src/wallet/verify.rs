//! The verifier's side: the public desk page `/verify` (loads the JWKS and the status list once,
//! then checks presentations in the browser with WebCrypto, no network needed), the signed
//! status list `/wallet/status`, and the online check `POST /verify/online` (the server verifies,
//! refuses a presentation read before, and records the read for its holder).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use eid_core::wallet::cred::{self, Attr};
use eid_core::wallet::status;
use serde_json::json;

use crate::citizen::{render, Fields, MeError, MePage};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify", get(desk))
        .route("/verify/online", post(online))
        .route(status::PATH, get(status_list))
        .route("/static/verify.js", get(script))
        .route("/static/wallet.css", get(style))
}

const SCRIPT: &str = include_str!("../../static/verify.js");
const STYLE: &str = include_str!("../../static/wallet.css");

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

#[derive(Template)]
#[template(path = "verify_desk.html")]
struct DeskPage {
    page: MePage,
    /// (claim name, label) for every claim a presentation may carry.
    labels: Vec<(String, &'static str)>,
    /// (code, message) of every refusal.
    refusals: Vec<(&'static str, &'static str)>,
}

/// The desk page: works offline once loaded (script and data from this origin only).
async fn desk(headers: HeaderMap) -> Result<Response, MeError> {
    let page = MePage::new(&headers, None, "", "/verify");
    let lang = page.lang;
    let mut labels: Vec<(String, &'static str)> = Vec::new();
    for a in Attr::ALL {
        labels.push((
            a.key().to_owned(),
            lang.t(&format!("wallet.attr.{}", a.key())),
        ));
        if a.document().is_some() {
            labels.push((format!("{}_to", a.key()), lang.t("wallet.valid_to")));
        }
    }
    for p in cred::PURPOSES {
        labels.push((
            format!("purpose.{p}"),
            lang.t(&format!("wallet.purpose.{p}")),
        ));
    }
    for k in [
        "yes",
        "no",
        "purpose",
        "expires",
        "loading",
        "ready",
        "stale",
        "seen",
        "ok",
        "nolist",
        "camera",
        "nocamera",
        "online_ok",
    ] {
        labels.push((format!("ui.{k}"), lang.t(&format!("verify.ui.{k}"))));
    }
    let refusals = [
        "malformed",
        "unknown_key",
        "bad_signature",
        "expired",
        "revoked",
        "replayed",
        "not_issued",
    ]
    .into_iter()
    .map(|c| (c, lang.t(&format!("verify.bad.{c}"))))
    .collect();
    let mut r = render(
        &DeskPage {
            page,
            labels,
            refusals,
        },
        StatusCode::OK,
    )?;
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
             img-src 'self'; media-src 'self' blob: mediastream:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    Ok(r)
}

/// The signed status list (`application/statuslist+jwt`), cacheable for its `ttl`.
async fn status_list(State(state): State<AppState>) -> Result<Response, AppError> {
    let now = state.now();
    let st = state.clone();
    let token = state
        .blocking(move |store| {
            let (keys, _) = st
                .oidc
                .keys(store, now)
                .map_err(|e| AppError::Internal(format!("signing keys: {}", e.description)))?;
            Ok(status::token(store, &keys, &st.oidc.issuer, now)?)
        })
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/statuslist+jwt"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        token,
    )
        .into_response())
}

/// The online check: form fields `text` (the scanned QR) and `verifier` (who reads it). The
/// answer is JSON: `{"ok": true, "purpose", "expires_at", "claims": {…}}` or `{"ok": false,
/// "code"}` (200 either way: the refusal is the answer).
async fn online(
    State(state): State<AppState>,
    Form(f): Form<Fields>,
) -> Result<Response, AppError> {
    let text = f.get("text").cloned().unwrap_or_default();
    let verifier = f.get("verifier").cloned().unwrap_or_default();
    if text.len() > 4096 || verifier.len() > 1024 {
        return Err(AppError::bad("wallet.too_long", "the text is too long"));
    }
    let now = state.now();
    let st = state.clone();
    let r = state
        .blocking(move |store| {
            let (_, jwks) = st
                .oidc
                .keys(store, now)
                .map_err(|e| AppError::Internal(format!("signing keys: {}", e.description)))?;
            Ok(cred::check_online(store, &jwks, &text, &verifier, now)?)
        })
        .await?;
    Ok(Json(match r {
        Ok(v) => json!({
            "ok": true,
            "purpose": v.purpose,
            "expires_at": v.expires_at,
            "claims": v.claims.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        }),
        Err(e) => json!({ "ok": false, "code": e.code() }),
    })
    .into_response())
}
