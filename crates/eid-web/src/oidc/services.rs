//! The citizen's "Dịch vụ đã kết nối" page (`/me/services`): each service consented to, what
//! it may receive, when it received what, and revocation (which ends the grant's tokens).

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use eid_core::oidc::services as core;
use eid_core::oidc::{jose, Session};

use super::pages::{self, ServiceView};
use super::{current_session, sign_in_url};
use crate::console::i18n::Lang;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/services", get(list))
        .route("/me/services/revoke", post(revoke))
}

fn csrf(s: &Session) -> String {
    jose::sha256_b64(format!("services:{}", s.sid).as_bytes())
}

fn redirect(to: &str) -> Response {
    (
        axum::http::StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_owned())],
    )
        .into_response()
}

fn day_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(crate::state::vietnam());
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(s) = current_session(&state, &headers).await else {
        return redirect(&sign_in_url("/me/services", 1, false));
    };
    let lang = Lang::from_headers(&headers);
    let pid = s.personal_id.clone();
    let found = state
        .read(move |store| Ok(core::services(store, &pid)?))
        .await;
    let services = match found {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let views = services
        .into_iter()
        .map(|sv| ServiceView {
            client_id: sv.client.client_id.clone(),
            name: match lang {
                Lang::Vi => sv.client.name_vi.clone(),
                Lang::En => sv.client.name_en.clone(),
            },
            since: day_time(sv.granted_at),
            revoked: sv.revoked_at.is_some(),
            scopes: sv
                .scopes
                .iter()
                .map(|x| lang.t(&format!("oidc.scope.{x}")))
                .collect(),
            releases: sv
                .releases
                .iter()
                .map(|r| {
                    let what: Vec<&str> = r
                        .claims
                        .iter()
                        .map(|c| lang.t(&format!("oidc.claim.{c}")))
                        .collect();
                    (day_time(r.at), what.join(", "))
                })
                .collect(),
        })
        .collect();
    pages::services(&headers, views, &csrf(&s))
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Some(s) = current_session(&state, &headers).await else {
        return redirect(&sign_in_url("/me/services", 1, false));
    };
    let p = f
        .ok()
        .and_then(|Form(p)| eid_core::oidc::request::params(p))
        .unwrap_or_default();
    let given = p.get("csrf").map(String::as_str).unwrap_or("");
    if !eid_core::secret::constant_time_eq(given.as_bytes(), csrf(&s).as_bytes()) {
        return pages::error(
            &headers,
            "invalid_request",
            "the form is stale; open the page again",
        );
    }
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let now = state.now();
    let pid = s.personal_id.clone();
    match state
        .blocking(move |store| Ok(core::revoke(store, &pid, &client_id, now)?))
        .await
    {
        Ok(_) => redirect("/me/services"),
        Err(e) => e.into_response(),
    }
}
