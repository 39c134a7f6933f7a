//! The public check of a confirmation of residence information (`/verify/residence`): paste the
//! signed form, or open the link its QR code holds (`?t=`). It is checked against the keys the
//! provider publishes (the same JWKS as `/oauth2/jwks`); nothing is stored and no session is
//! needed, so the form is a GET.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eid_core::residence::confirm;

use super::day;
use crate::citizen::{render, MaybeCitizen, MeError, MePage};
use crate::error::AppError;
use crate::state::AppState;

#[derive(serde::Deserialize, Default)]
pub struct VerifyQuery {
    #[serde(default)]
    t: String,
}

pub struct Verified {
    pub number: String,
    pub issued: String,
    pub issuer: String,
    pub name: String,
    pub personal_id: String,
    pub birth: String,
    pub permanent: String,
    pub temporary: Option<String>,
    pub until: String,
}

#[derive(Template)]
#[template(path = "res_verify.html")]
struct VerifyPage {
    page: MePage,
    token: String,
    checked: bool,
    ok: Option<Verified>,
    error: &'static str,
}

fn place(p: &confirm::Place) -> String {
    format!("{}, {}", p.address, p.unit_name)
}

fn date_text(s: &str) -> String {
    eid_core::residence::calendar::parse_date(s)
        .map(day)
        .unwrap_or_else(|| s.to_owned())
}

/// `GET /verify/residence[?t=<signed form>]`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, MeError> {
    let p = MePage::new(&headers, s.as_ref(), "", "/verify/residence");
    let lang = p.lang;
    let token = q.t.trim().to_owned();
    if token.is_empty() {
        return render(
            &VerifyPage {
                page: p,
                token,
                checked: false,
                ok: None,
                error: "",
            },
            StatusCode::OK,
        );
    }
    let st = state.clone();
    let now = state.now();
    let jwks = state
        .blocking(move |store| {
            st.oidc
                .keys(store, now)
                .map(|(_, jwks)| jwks)
                .map_err(|e| AppError::Internal(format!("keys: {}", e.description)))
        })
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    let (ok, error, status) = match confirm::verify(&jwks, &token) {
        Ok(c) => (
            Some(Verified {
                number: c.number.clone(),
                issued: super::moment(c.issued_at),
                issuer: c.issuer.clone(),
                name: c.name.clone(),
                personal_id: c.personal_id.clone(),
                birth: date_text(&c.birth),
                permanent: place(&c.permanent),
                temporary: c.temporary.as_ref().map(place),
                until: c
                    .temporary
                    .as_ref()
                    .and_then(|t| t.until.as_deref())
                    .map(date_text)
                    .unwrap_or_default(),
            }),
            "",
            StatusCode::OK,
        ),
        Err(e) => (
            None,
            lang.t(&format!("res.verify.{}", e.code())),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    render(
        &VerifyPage {
            page: p,
            token,
            checked: true,
            ok,
            error,
        },
        status,
    )
}
