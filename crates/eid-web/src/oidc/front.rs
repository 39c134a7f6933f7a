//! The browser's side of the provider: authorize (by value or by a pushed request), the
//! return from sign-in (`/oauth2/resume`), consent, and RP-initiated logout with back-channel
//! logout tokens sent off the request path.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use eid_core::oidc::clients::Client;
use eid_core::oidc::grant::{self, Step};
use eid_core::oidc::jose;
use eid_core::oidc::request::{self, AuthRequest, AuthorizeError, Params};
use eid_core::oidc::{services as core_services, tokens, Session};

use super::{current_session, pages, pct, sign_in_url};
use crate::error::AppError;
use crate::state::AppState;

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;
type FormPairs = Result<Form<Vec<(String, String)>>, FormRejection>;

/// A redirect to the client with `pairs` added to its redirect URI's query.
fn to_client(redirect_uri: &str, pairs: &[(&str, Option<&str>)]) -> Response {
    let mut url = redirect_uri.to_owned();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        if let Some(v) = v {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.push_str(&pct(v));
            sep = '&';
        }
    }
    see_other(&url)
}

fn see_other(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(v) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn refused(state: &AppState, headers: &HeaderMap, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page { error, description } => pages::error(headers, error, &description),
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state: st,
        } => to_client(
            &redirect_uri,
            &[
                ("error", Some(error)),
                ("error_description", Some(&description)),
                ("state", st.as_deref()),
                ("iss", Some(&state.oidc.issuer)),
            ],
        ),
        AuthorizeError::Server(e) => AppError::from(e).into_response(),
    }
}

/// The provider's key-encryption key, or the server error of a provider not configured.
fn kek(state: &AppState) -> Result<std::sync::Arc<eid_core::oidc::keys::Kek>, AuthorizeError> {
    state.oidc.kek().map_err(|e| {
        AuthorizeError::Server(eid_core::Error::Store(eid_core::StoreError::Db(
            e.cause.unwrap_or(e.description),
        )))
    })
}

fn internal(e: AppError) -> AuthorizeError {
    AuthorizeError::Server(eid_core::Error::Store(eid_core::StoreError::Db(format!(
        "{e:?}"
    ))))
}

/// The consent form's token: bound to the waiting request, the browser (the citizen pages'
/// form token, from the secret device cookie) and the session.
fn consent_csrf(headers: &HeaderMap, rid: &str, session: &Session) -> String {
    let browser = crate::citizen::session::csrf_token(headers);
    jose::sha256_b64(format!("consent:{rid}:{browser}:{}", session.sid).as_bytes())
}

/// What the browser is shown or sent to next, for a request (new, or waiting as `rid`).
async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    client: Client,
    req: AuthRequest,
    rid: Option<String>,
    session: Option<Session>,
) -> Result<Response, AuthorizeError> {
    let now = state.now();
    let (c, r, s) = (client.clone(), req.clone(), session.clone());
    let step = state
        .blocking(move |store| Ok(grant::decide(store, &c, &r, s.as_ref(), now)))
        .await
        .map_err(internal)??;
    if step == Step::Issue {
        let Some(session) = session else {
            return Err(internal(AppError::Internal(
                "issue without a session".into(),
            )));
        };
        let k = kek(state)?;
        // Nothing to write (no consent given now): sealing only, on this thread.
        let code = grant::issue_code(state.store.as_ref(), &k, &req, &session, false, now)?;
        return Ok(code_redirect(state, &req, &code));
    }
    let rid = match rid {
        Some(r) => r,
        None => request::save_pending(&*kek(state)?, &req, now)?,
    };
    let resume = format!("/oauth2/resume?rid={rid}");
    Ok(match step {
        Step::SignIn { level, fresh } => see_other(&sign_in_url(&resume, level, fresh)),
        Step::Upgrade => {
            let back = format!(
                "{}{}error=access_denied&state={}&iss={}",
                req.redirect_uri,
                if req.redirect_uri.contains('?') {
                    '&'
                } else {
                    '?'
                },
                pct(req.state.as_deref().unwrap_or("")),
                pct(&state.oidc.issuer)
            );
            pages::upgrade(headers, &client, &back)
        }
        Step::Consent | Step::Issue => {
            let Some(s) = session else {
                return Err(internal(AppError::Internal(
                    "consent without a session".into(),
                )));
            };
            pages::consent(
                headers,
                &client,
                &req.scopes,
                s.level,
                &rid,
                &consent_csrf(headers, &rid, &s),
                &req.redirect_uri,
            )
        }
    })
}

fn code_redirect(state: &AppState, req: &AuthRequest, code: &str) -> Response {
    to_client(
        &req.redirect_uri,
        &[
            ("code", Some(code)),
            ("state", req.state.as_deref()),
            ("iss", Some(&state.oidc.issuer)),
        ],
    )
}

async fn start(
    state: AppState,
    headers: HeaderMap,
    pairs: Option<Vec<(String, String)>>,
) -> Response {
    let Some(p) = pairs.and_then(request::params) else {
        return pages::error(
            &headers,
            "invalid_request",
            "the request's parameters are malformed or repeated",
        );
    };
    let now = state.now();
    let session = current_session(&state, &headers).await;
    let st = state.clone();
    let run = async {
        let (client, req) = state
            .blocking(move |store| Ok(request::front(store, &st.oidc.clients, &p, now)))
            .await
            .map_err(internal)??;
        proceed(&state, &headers, client, req, None, session).await
    };
    match run.await {
        Ok(r) => r,
        Err(e) => refused(&state, &headers, e),
    }
}

pub(super) async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryPairs,
) -> Response {
    start(state, headers, q.ok().map(|Query(p)| p)).await
}

pub(super) async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: FormPairs,
) -> Response {
    start(state, headers, f.ok().map(|Form(p)| p)).await
}

fn param(pairs: &Option<Params>, k: &str) -> String {
    pairs
        .as_ref()
        .and_then(|p| p.get(k))
        .cloned()
        .unwrap_or_default()
}

async fn pending(
    state: &AppState,
    rid: &str,
) -> Result<Option<(Client, AuthRequest)>, AuthorizeError> {
    let now = state.now();
    let rid = rid.to_owned();
    let k = kek(state)?;
    let st = state.clone();
    state
        .blocking(move |store| {
            Ok(request::load_pending(
                store,
                &st.oidc.clients,
                &k,
                &rid,
                now,
            ))
        })
        .await
        .map_err(internal)?
        .map_err(AuthorizeError::Server)
}

pub(super) async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryPairs,
) -> Response {
    let p = q.ok().and_then(|Query(p)| request::params(p));
    let rid = param(&p, "rid");
    let session = current_session(&state, &headers).await;
    let run = async {
        let Some((client, req)) = pending(&state, &rid).await? else {
            return Err(AuthorizeError::Page {
                error: "invalid_request",
                description: "this sign-in request has ended; start again from the service".into(),
            });
        };
        proceed(&state, &headers, client, req, Some(rid.clone()), session).await
    };
    match run.await {
        Ok(r) => r,
        Err(e) => refused(&state, &headers, e),
    }
}

pub(super) async fn consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: FormPairs,
) -> Response {
    let p = f.ok().and_then(|Form(p)| request::params(p));
    let rid = param(&p, "rid");
    let csrf = param(&p, "csrf");
    let decision = param(&p, "decision");
    let session = current_session(&state, &headers).await;
    let now = state.now();
    let run = async {
        let Some((client, req)) = pending(&state, &rid).await? else {
            return Err(AuthorizeError::Page {
                error: "invalid_request",
                description: "this sign-in request has ended; start again from the service".into(),
            });
        };
        let Some(s) = session else {
            return proceed(&state, &headers, client, req, Some(rid), None).await;
        };
        if !eid_core::secret::constant_time_eq(
            csrf.as_bytes(),
            consent_csrf(&headers, &rid, &s).as_bytes(),
        ) {
            return Err(AuthorizeError::Page {
                error: "invalid_request",
                description: "the consent form is stale; start again from the service".into(),
            });
        }
        let (c, r, ss) = (client.clone(), req.clone(), s.clone());
        let step = state
            .blocking(move |store| Ok(grant::decide(store, &c, &r, Some(&ss), now)))
            .await
            .map_err(internal)?;
        match step {
            Ok(Step::Consent | Step::Issue) => {}
            _ => return proceed(&state, &headers, client, req, Some(rid), Some(s)).await,
        }
        if decision != "allow" {
            return Err(AuthorizeError::Redirect {
                redirect_uri: req.redirect_uri.clone(),
                error: "access_denied",
                description: "the citizen declined".into(),
                state: req.state.clone(),
            });
        }
        let (r, k) = (req.clone(), kek(&state)?);
        let code = state
            .blocking(move |store| Ok(grant::issue_code(store, &k, &r, &s, true, now)))
            .await
            .map_err(internal)??;
        Ok(code_redirect(&state, &req, &code))
    };
    match run.await {
        Ok(r) => r,
        Err(e) => refused(&state, &headers, e),
    }
}

/// The logout form's token, bound to the browser (its secret device cookie) and session.
fn logout_csrf(headers: &HeaderMap, session: Option<&Session>) -> String {
    let sid = session.map_or("", |s| s.sid.as_str());
    let browser = crate::citizen::session::csrf_token(headers);
    jose::sha256_b64(format!("logout:{browser}:{sid}").as_bytes())
}

async fn end_session(state: AppState, headers: HeaderMap, p: Params, confirmed: bool) -> Response {
    let now = state.now();
    let session = current_session(&state, &headers).await;
    let hint = p.get("id_token_hint").cloned();
    let post = p.get("post_logout_redirect_uri").cloned();
    let st = state.clone();
    let client_id = p.get("client_id").cloned();
    let looked = state
        .blocking(move |store| {
            let (_, jwks) = st
                .oidc
                .keys(store, now)
                .map_err(|e| AppError::Internal(e.description))?;
            let from_hint = match &hint {
                Some(h) => match tokens::read_id_token_hint(&jwks, &st.oidc.issuer, h) {
                    Some(x) => Some(x),
                    None => {
                        return Ok(Err("the id_token_hint is not an ID token of this provider"))
                    }
                },
                None => None,
            };
            let cid = match (&from_hint, &client_id) {
                (Some((a, _)), Some(c)) if a != c => {
                    return Ok(Err("client_id and id_token_hint differ"))
                }
                (Some((a, _)), _) => Some(a.clone()),
                (None, c) => c.clone(),
            };
            let client = match &cid {
                Some(c) => eid_core::oidc::clients::get(store, c)?,
                None => None,
            };
            Ok(Ok((from_hint, client)))
        })
        .await;
    let (from_hint, client) = match looked {
        Ok(Ok(x)) => x,
        Ok(Err(why)) => return pages::error(&headers, "invalid_request", why),
        Err(e) => return e.into_response(),
    };
    if let Some(uri) = &post {
        let ok = client
            .as_ref()
            .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri));
        if !ok {
            return pages::error(
                &headers,
                "invalid_request",
                "the post_logout_redirect_uri is not registered for this client",
            );
        }
    }
    // Without a valid hint, the citizen confirms (a page elsewhere cannot sign them out).
    if from_hint.is_none() && !confirmed {
        let fields: Vec<(String, String)> = p.into_iter().collect();
        return pages::logout(
            &headers,
            false,
            &logout_csrf(&headers, session.as_ref()),
            fields,
        );
    }
    if confirmed && from_hint.is_none() {
        let given = p.get("csrf").map(String::as_str).unwrap_or("");
        if !eid_core::secret::constant_time_eq(
            given.as_bytes(),
            logout_csrf(&headers, session.as_ref()).as_bytes(),
        ) {
            return pages::error(&headers, "invalid_request", "the logout form is stale");
        }
    }
    let sid = session
        .as_ref()
        .map(|s| s.sid.clone())
        .or_else(|| from_hint.as_ref().and_then(|(_, s)| s.clone()));
    super::end_browser_session(&state, &headers).await;
    if let Some(sid) = sid {
        back_channel(state.clone(), sid);
    }
    match post {
        Some(uri) => to_client(&uri, &[("state", p.get("state").map(String::as_str))]),
        None => pages::logout(&headers, true, "", Vec::new()),
    }
}

/// Sends logout tokens to every client the session signed in to, on a task of its own.
fn back_channel(state: AppState, sid: String) {
    tokio::spawn(async move {
        let now = state.now();
        let st = state.clone();
        let sent = state
            .blocking(move |store| {
                let targets = core_services::logout_targets(store, &sid)?;
                let (keys, _) = st.oidc.keys(store, now).map_err(|e| AppError::Internal(e.description))?;
                let agent = crate::outbound::agent(std::time::Duration::from_secs(5), &st.config.extra_ca());
                for (client, sub) in targets {
                    let Some(uri) = &client.backchannel_logout_uri else { continue };
                    let Ok(token) = tokens::logout_token(&keys, &st.oidc.issuer, &client, &sub, &sid, now) else {
                        continue;
                    };
                    let body = format!("logout_token={}", pct(&token));
                    let r = agent
                        .post(uri)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .send(body.as_bytes());
                    match r {
                        Ok(resp) => tracing::info!(client = %client.client_id, status = resp.status().as_u16(), "back-channel logout"),
                        Err(e) => tracing::warn!(client = %client.client_id, error = %crate::outbound::describe(&e), "back-channel logout failed"),
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = ?e, "back-channel logout");
        }
    });
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryPairs,
) -> Response {
    match q.ok().and_then(|Query(p)| request::params(p)) {
        Some(p) => end_session(state, headers, p, false).await,
        None => pages::error(&headers, "invalid_request", "malformed parameters"),
    }
}

pub(super) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: FormPairs,
) -> Response {
    match f.ok().and_then(|Form(p)| request::params(p)) {
        Some(p) => {
            let confirmed = p.contains_key("csrf");
            end_session(state, headers, p, confirmed).await
        }
        None => pages::error(&headers, "invalid_request", "malformed parameters"),
    }
}
