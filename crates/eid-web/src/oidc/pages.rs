//! The provider's pages: consent, refusal, upgrade, logout and the connected services.

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::console::i18n::Lang;
use crate::console::PageCtx;

pub(crate) fn ctx(headers: &HeaderMap, here: &str) -> PageCtx {
    PageCtx {
        lang: Lang::from_headers(headers),
        development: crate::console::development(),
        user: None,
        nav: Vec::new(),
        csrf: String::new(),
        here: super::pct(here),
    }
}

fn html<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(h) => (status, Html(h)).into_response(),
        Err(e) => {
            tracing::error!(request_id = %crate::error::request_id(), error = %e, "template");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "oidc_error.html")]
struct ErrorPage<'a> {
    page: PageCtx,
    error: &'a str,
    description: &'a str,
}

/// The provider's own error page (the client or its redirect URI is not known good).
pub(crate) fn error(headers: &HeaderMap, error: &str, description: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        &ErrorPage {
            page: ctx(headers, "/"),
            error,
            description,
        },
    )
}

#[derive(Template)]
#[template(path = "oidc_consent.html")]
struct ConsentPage {
    page: PageCtx,
    client_name: String,
    logo: Option<String>,
    scopes: Vec<&'static str>,
    level: &'static str,
    rid: String,
    csrf: String,
}

/// The consent page. The form may send the browser on to the client's redirect URI, so the
/// page's `form-action` allows that origin.
pub(crate) fn consent(
    headers: &HeaderMap,
    client: &eid_core::oidc::clients::Client,
    scopes: &[String],
    level: u8,
    rid: &str,
    csrf: &str,
    redirect_uri: &str,
) -> Response {
    let page = ctx(headers, &format!("/oauth2/resume?rid={rid}"));
    let lang = page.lang;
    let labels = scopes
        .iter()
        .map(|s| lang.t(&format!("oidc.scope.{s}")))
        .collect();
    let name = match lang {
        Lang::Vi => client.name_vi.clone(),
        Lang::En => client.name_en.clone(),
    };
    let mut r = html(
        StatusCode::OK,
        &ConsentPage {
            page,
            client_name: name,
            logo: client.logo_uri.clone(),
            scopes: labels,
            level: lang.t(if level >= 2 {
                "oidc.level.2"
            } else {
                "oidc.level.1"
            }),
            rid: rid.to_owned(),
            csrf: csrf.to_owned(),
        },
    );
    let target = origin(redirect_uri);
    let img = client.logo_uri.as_deref().map(origin).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' {img}; form-action 'self' {target}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// `scheme://host[:port]` of a registered URI.
pub(crate) fn origin(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "oidc_upgrade.html")]
struct UpgradePage {
    page: PageCtx,
    client_name: String,
    back: String,
}

/// A level-1-only account asked for level 2: how to upgrade.
pub(crate) fn upgrade(
    headers: &HeaderMap,
    client: &eid_core::oidc::clients::Client,
    back: &str,
) -> Response {
    let page = ctx(headers, "/");
    let client_name = match page.lang {
        Lang::Vi => client.name_vi.clone(),
        Lang::En => client.name_en.clone(),
    };
    html(
        StatusCode::FORBIDDEN,
        &UpgradePage {
            page,
            client_name,
            back: back.to_owned(),
        },
    )
}

#[derive(Template)]
#[template(path = "oidc_logout.html")]
struct LogoutPage {
    page: PageCtx,
    done: bool,
    csrf: String,
    fields: Vec<(String, String)>,
}

/// Asks to confirm a logout (no valid `id_token_hint`), or says it is done.
pub(crate) fn logout(
    headers: &HeaderMap,
    done: bool,
    csrf: &str,
    fields: Vec<(String, String)>,
) -> Response {
    html(
        StatusCode::OK,
        &LogoutPage {
            page: ctx(headers, "/oauth2/logout"),
            done,
            csrf: csrf.to_owned(),
            fields,
        },
    )
}

/// One connected service, as shown.
pub(crate) struct ServiceView {
    pub client_id: String,
    pub name: String,
    pub since: String,
    pub revoked: bool,
    pub scopes: Vec<&'static str>,
    pub releases: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "oidc_services.html")]
struct ServicesPage {
    page: PageCtx,
    services: Vec<ServiceView>,
    csrf: String,
}

pub(crate) fn services(headers: &HeaderMap, services: Vec<ServiceView>, csrf: &str) -> Response {
    html(
        StatusCode::OK,
        &ServicesPage {
            page: ctx(headers, "/me/services"),
            services,
            csrf: csrf.to_owned(),
        },
    )
}
