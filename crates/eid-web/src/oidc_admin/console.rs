//! The registry's pages: `GET /relying-parties` (the list), `GET /relying-parties/new` and
//! `POST /relying-parties` (register), `GET|POST /relying-parties/{id}` (a client and its edit
//! form), `POST …/rotate-secret` (a new secret, shown once) and `POST …/disable`.
//!
//! A secret is shown on the answer to the POST that made it, never behind a link, with
//! `Cache-Control: no-store`; the registry keeps only its hash.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::oidc::clients::{self, AuthMethod, Client, NewClient};
use eid_core::oidc::jose::Alg;
use eid_core::oidc::{ACR_LOA1, ACR_VALUES, SCOPES};
use eid_core::rp::{self, ClientEdit};
use eid_core::Acting;

use crate::console::i18n::Lang;
use crate::console::pages::{here, local};
use crate::console::{
    in_place, percent_encode, render, ConsoleError, ConsoleUser, Notice, PageCtx,
};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::form::{form_value, Opt};

/// What `?done=` may say after a redirect (translated as `rp.done.<key>`).
const DONE: &[&str] = &["added", "updated", "disabled"];
/// The signing algorithms a client may choose, the default first.
const ALGS: [&str; 3] = ["ES256", "RS256", "EdDSA"];
const METHODS: [&str; 2] = ["client_secret_basic", "private_key_jwt"];

/// One client as listed.
pub struct RpRow {
    pub id: String,
    pub href: String,
    pub name: String,
    pub active: bool,
    pub alg: &'static str,
    pub auth: &'static str,
    pub scopes: String,
    pub levels: String,
    pub redirects: usize,
    pub created: String,
}

/// A checkbox of the form.
pub struct Check {
    pub name: String,
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The register / edit form's values (as typed, so a refused form comes back filled).
pub struct RpForm {
    pub client_id: String,
    pub name_vi: String,
    pub name_en: String,
    pub logo_uri: String,
    pub redirect_uris: String,
    pub post_logout_uris: String,
    pub backchannel_uri: String,
    pub scopes: Vec<Check>,
    pub levels: Vec<Check>,
    pub algs: Vec<Opt>,
    pub methods: Vec<Opt>,
    pub jwks: String,
    pub require_par: bool,
    pub dpop: bool,
    pub sector: String,
}

#[derive(Template)]
#[template(path = "rp_list.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<RpRow>,
    notice: Option<Notice>,
}

#[derive(Template)]
#[template(path = "rp_new.html")]
struct NewPage {
    page: PageCtx,
    form: RpForm,
    notice: Option<Notice>,
}

#[derive(Template)]
#[template(path = "rp_client.html")]
struct ClientPage {
    page: PageCtx,
    id: String,
    href: String,
    name: String,
    active: bool,
    auth: &'static str,
    has_secret: bool,
    sector: String,
    created: String,
    form: RpForm,
    notice: Option<Notice>,
}

#[derive(Template)]
#[template(path = "rp_secret.html")]
struct SecretPage {
    page: PageCtx,
    id: String,
    href: String,
    name: String,
    secret: String,
    fresh: bool,
}

fn href(id: &str) -> String {
    format!("/relying-parties/{}", percent_encode(id))
}

fn scope_label(lang: Lang, s: &str) -> &'static str {
    lang.t(&format!("rp.scope.{s}"))
}

fn level_label(lang: Lang, acr: &str) -> &'static str {
    if acr == ACR_LOA1 {
        lang.t("rp.level.1")
    } else {
        lang.t("rp.level.2")
    }
}

fn row(lang: Lang, c: &Client) -> RpRow {
    RpRow {
        id: c.client_id.clone(),
        href: href(&c.client_id),
        name: match lang {
            Lang::Vi => c.name_vi.clone(),
            Lang::En => c.name_en.clone(),
        },
        active: !c.disabled,
        alg: c.id_token_alg.as_str(),
        auth: c.auth_method.as_str(),
        scopes: c.scopes.join(" "),
        levels: c
            .acr_values
            .iter()
            .map(|a| level_label(lang, a))
            .collect::<Vec<_>>()
            .join(", "),
        redirects: c.redirect_uris.len(),
        created: local(c.created_at),
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The form with the values of `c` (or the defaults of a new client).
fn form_of(lang: Lang, c: Option<&Client>) -> RpForm {
    let scopes: Vec<String> = c.map_or_else(
        || vec!["openid".into(), "profile".into()],
        |c| c.scopes.clone(),
    );
    let levels: Vec<String> = c.map_or_else(|| vec![ACR_LOA1.to_owned()], |c| c.acr_values.clone());
    let alg = c.map_or("ES256", |c| c.id_token_alg.as_str());
    let method = c.map_or("client_secret_basic", |c| c.auth_method.as_str());
    RpForm {
        client_id: c.map(|c| c.client_id.clone()).unwrap_or_default(),
        name_vi: c.map(|c| c.name_vi.clone()).unwrap_or_default(),
        name_en: c.map(|c| c.name_en.clone()).unwrap_or_default(),
        logo_uri: c.and_then(|c| c.logo_uri.clone()).unwrap_or_default(),
        redirect_uris: c.map(|c| c.redirect_uris.join("\n")).unwrap_or_default(),
        post_logout_uris: c
            .map(|c| c.post_logout_redirect_uris.join("\n"))
            .unwrap_or_default(),
        backchannel_uri: c
            .and_then(|c| c.backchannel_logout_uri.clone())
            .unwrap_or_default(),
        scopes: scope_checks(lang, |s| scopes.iter().any(|x| x == s)),
        levels: level_checks(lang, |a| levels.iter().any(|x| x == a)),
        algs: options(lang, &ALGS, alg),
        methods: options(lang, &METHODS, method),
        jwks: c
            .and_then(|c| c.jwks.as_ref())
            .and_then(|j| serde_json::to_string_pretty(j).ok())
            .unwrap_or_default(),
        require_par: c.is_some_and(|c| c.require_par),
        dpop: c.is_some_and(|c| c.dpop_bound),
        sector: c.map(|c| c.sector_identifier.clone()).unwrap_or_default(),
    }
}

fn scope_checks(lang: Lang, on: impl Fn(&str) -> bool) -> Vec<Check> {
    SCOPES
        .iter()
        .filter(|s| **s != "openid")
        .map(|s| Check {
            name: format!("scope.{s}"),
            value: s,
            label: scope_label(lang, s),
            checked: on(s),
        })
        .collect()
}

fn level_checks(lang: Lang, on: impl Fn(&str) -> bool) -> Vec<Check> {
    ACR_VALUES
        .iter()
        .map(|a| Check {
            name: format!("acr.{a}"),
            value: a,
            label: level_label(lang, a),
            checked: on(a),
        })
        .collect()
}

/// The options of a select; a value with a translation (`rp.opt.<value>`) shows it.
fn options(lang: Lang, all: &[&str], chosen: &str) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: (*v).to_owned(),
            label: crate::ui::form::label(lang, "rp.opt", v),
            selected: *v == chosen,
        })
        .collect()
}

/// The form as posted, to show again after a refusal.
fn form_posted(lang: Lang, f: &HashMap<String, String>) -> RpForm {
    RpForm {
        client_id: form_value(f, "client_id"),
        name_vi: form_value(f, "name_vi"),
        name_en: form_value(f, "name_en"),
        logo_uri: form_value(f, "logo_uri"),
        redirect_uris: form_value(f, "redirect_uris"),
        post_logout_uris: form_value(f, "post_logout_uris"),
        backchannel_uri: form_value(f, "backchannel_uri"),
        scopes: scope_checks(lang, |s| f.contains_key(&format!("scope.{s}"))),
        levels: level_checks(lang, |a| f.contains_key(&format!("acr.{a}"))),
        algs: options(lang, &ALGS, &form_value(f, "alg")),
        methods: options(lang, &METHODS, &form_value(f, "auth_method")),
        jwks: form_value(f, "jwks"),
        require_par: f.contains_key("require_par"),
        dpop: f.contains_key("dpop"),
        sector: form_value(f, "sector"),
    }
}

/// What the posted form asks for, shared by register and edit.
struct Posted {
    scopes: Vec<String>,
    levels: Vec<String>,
    alg: Alg,
    jwks: Option<serde_json::Value>,
}

fn parse_posted(f: &HashMap<String, String>) -> Result<Posted, AppError> {
    let mut scopes = vec!["openid".to_owned()];
    scopes.extend(
        SCOPES
            .iter()
            .filter(|s| **s != "openid" && f.contains_key(&format!("scope.{s}")))
            .map(|s| (*s).to_owned()),
    );
    let levels = ACR_VALUES
        .iter()
        .filter(|a| f.contains_key(&format!("acr.{a}")))
        .map(|a| (*a).to_owned())
        .collect();
    let alg = Alg::parse(&form_value(f, "alg")).ok_or_else(|| {
        AppError::bad(
            "oidc.client.bad",
            "the signing algorithm is ES256, RS256 or EdDSA",
        )
    })?;
    let jwks = match form_value(f, "jwks") {
        j if j.is_empty() => None,
        j => Some(serde_json::from_str(&j).map_err(|_| {
            AppError::bad(
                "oidc.client.bad",
                "the public keys are not a JSON document (JWKS)",
            )
        })?),
    };
    Ok(Posted {
        scopes,
        levels,
        alg,
        jwks,
    })
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /relying-parties`
pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let all = state
        .blocking(move |store| clients::list(store, &acting).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    render(&ListPage {
        page: PageCtx::new(lang, Some(&user), "rp", &here(&uri)),
        rows: all.iter().map(|c| row(lang, c)).collect(),
        notice: Notice::done(lang, &q, "rp", DONE),
    })
}

/// `GET /relying-parties/new`
pub async fn new_form(user: ConsoleUser, uri: Uri) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    rp::may_manage(&user.caller).map_err(|e| ConsoleError(e.into(), lang))?;
    render(&NewPage {
        page: PageCtx::new(lang, Some(&user), "rp", &here(&uri)),
        form: form_of(lang, None),
        notice: None,
    })
}

/// `POST /relying-parties`: registers a client; a secret is shown once on the answer.
pub async fn add(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    rp::may_manage(&user.caller).map_err(|e| ConsoleError(e.into(), lang))?;
    let added = match parse_posted(&f) {
        Ok(p) => {
            let method = AuthMethod::parse(&form_value(&f, "auth_method"))
                .unwrap_or(AuthMethod::ClientSecretBasic);
            let new = NewClient {
                client_id: opt(&form_value(&f, "client_id")),
                name_vi: form_value(&f, "name_vi"),
                name_en: form_value(&f, "name_en"),
                logo_uri: opt(&form_value(&f, "logo_uri")),
                redirect_uris: lines(&form_value(&f, "redirect_uris")),
                post_logout_redirect_uris: lines(&form_value(&f, "post_logout_uris")),
                backchannel_logout_uri: opt(&form_value(&f, "backchannel_uri")),
                scopes: p.scopes,
                acr_values: p.levels,
                id_token_alg: p.alg,
                auth_method: method,
                jwks: if method == AuthMethod::PrivateKeyJwt {
                    p.jwks
                } else {
                    None
                },
                require_par: f.contains_key("require_par"),
                sector_identifier: opt(&form_value(&f, "sector")),
                dpop_bound: f.contains_key("dpop"),
            };
            let acting = Acting::new(user.caller.clone(), request_id(), state.now());
            state
                .blocking(move |store| clients::add(store, &acting, &new).map_err(Into::into))
                .await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok((c, Some(secret))) => render(&SecretPage {
            page: PageCtx::new(lang, Some(&user), "rp", "/relying-parties"),
            href: href(&c.client_id),
            id: c.client_id,
            name: c.name_vi,
            secret,
            fresh: true,
        })
        .map(no_store),
        Ok((c, None)) => {
            Ok(Redirect::to(&format!("{}?done=added", href(&c.client_id))).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let page = NewPage {
                page: PageCtx::new(lang, Some(&user), "rp", &here(&uri)),
                form: form_posted(lang, &f),
                notice: Some(Notice::refused(lang, &e)),
            };
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

async fn client_page(
    state: &AppState,
    user: &ConsoleUser,
    id: String,
) -> Result<ClientPage, ConsoleError> {
    let lang = user.lang;
    let caller = user.caller.clone();
    let c = state
        .read(move |store| rp::client(store, &caller, &id).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(ClientPage {
        page: PageCtx::new(lang, Some(user), "rp", &href(&c.client_id)),
        href: href(&c.client_id),
        id: c.client_id.clone(),
        name: match lang {
            Lang::Vi => c.name_vi.clone(),
            Lang::En => c.name_en.clone(),
        },
        active: !c.disabled,
        auth: c.auth_method.as_str(),
        has_secret: c.auth_method == AuthMethod::ClientSecretBasic,
        sector: c.sector_identifier.clone(),
        created: local(c.created_at),
        form: form_of(lang, Some(&c)),
        notice: None,
    })
}

/// `GET /relying-parties/{id}`
pub async fn client(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = client_page(&state, &user, id).await?;
    page.notice = Notice::done(user.lang, &q, "rp", DONE);
    render(&page)
}

/// `POST /relying-parties/{id}`: saves the edit form.
pub async fn edit(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let saved = match parse_posted(&f) {
        Ok(p) => {
            let edit = ClientEdit {
                name_vi: form_value(&f, "name_vi"),
                name_en: form_value(&f, "name_en"),
                logo_uri: opt(&form_value(&f, "logo_uri")),
                redirect_uris: lines(&form_value(&f, "redirect_uris")),
                post_logout_redirect_uris: lines(&form_value(&f, "post_logout_uris")),
                backchannel_logout_uri: opt(&form_value(&f, "backchannel_uri")),
                scopes: p.scopes,
                acr_values: p.levels,
                id_token_alg: p.alg,
                jwks: p.jwks,
                require_par: f.contains_key("require_par"),
                dpop_bound: f.contains_key("dpop"),
            };
            let acting = Acting::new(user.caller.clone(), request_id(), state.now());
            let cid = id.clone();
            let saved = state
                .blocking(move |store| rp::update(store, &acting, &cid, &edit).map_err(Into::into))
                .await;
            // This node's flows read clients through a cache: the change counts here at once.
            state.oidc.clients.forget(&id);
            saved
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(c) => Ok(Redirect::to(&format!("{}?done=updated", href(&c.client_id))).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = client_page(&state, &user, id).await?;
            let sector = page.form.sector.clone();
            page.form = form_posted(lang, &f);
            page.form.sector = sector;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /relying-parties/{id}/rotate-secret`: a new secret, shown once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let cid = id.clone();
    let rotated = state
        .blocking(move |store| {
            let secret = clients::rotate_secret(store, &acting, &cid)?;
            let c = clients::get(store, &cid)?;
            Ok((secret, c))
        })
        .await;
    state.oidc.clients.forget(&id);
    match rotated {
        Ok((secret, c)) => render(&SecretPage {
            page: PageCtx::new(lang, Some(&user), "rp", "/relying-parties"),
            href: href(&id),
            name: c.map(|c| c.name_vi).unwrap_or_default(),
            id,
            secret,
            fresh: false,
        })
        .map(no_store),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = client_page(&state, &user, id).await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /relying-parties/{id}/disable`
pub async fn disable(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let cid = id.clone();
    let done = state
        .blocking(move |store| clients::disable(store, &acting, &cid).map_err(Into::into))
        .await;
    state.oidc.clients.forget(&id);
    match done {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=disabled", href(&id))).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = client_page(&state, &user, id).await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
