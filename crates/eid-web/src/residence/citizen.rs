//! The citizen's residence pages (`/me/residence`). Filing and answering need a level-2 session:
//! a level-1 one is sent through the passcode step (`sign_in_url(next, 2, false)`) and comes
//! back. Files are read whole from `multipart/form-data` and checked by the core (their bytes,
//! never the content type the browser sent).

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eid_core::accounts::web_session::WebSession;
use eid_core::residence::attach::{self, Upload};
use eid_core::residence::{confirm, requests, rules, Applicant, NewRequest, State as RState};
use eid_domain::AccountLevel;

use super::{
    clock_text, day, fee, moment, procedure_label, state_class, state_label, unit_name, StepView,
};
use crate::citizen::{render, see_other, sign_in_url, Citizen, Fields, MeError, MePage};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::state::AppState;

/// The session, if it reached level 2; else the way there.
fn level2(s: &WebSession, here: &str) -> Result<Applicant, MeError> {
    if s.level < AccountLevel::Two {
        return Err(MeError::Redirect(sign_in_url(here, 2, false)));
    }
    Ok(Applicant {
        personal_id: s.personal_id,
        level: s.level,
    })
}

fn page(headers: &HeaderMap, s: &WebSession, here: &str) -> MePage {
    MePage::new(headers, Some(s), "residence", here)
}

/// A refusal's words: its own translation, else the general one with the code.
fn refusal_text(lang: Lang, e: &AppError) -> String {
    match lang.t(&format!("res.err.{}", e.code())) {
        "??" => match lang.t(&format!("err.{}", e.code())) {
            "??" => format!("{} ({})", lang.t("res.err.other"), e.code()),
            t => t.to_owned(),
        },
        t => t.to_owned(),
    }
}

pub struct Row {
    pub id: i64,
    pub title: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub submitted: String,
    pub due: String,
    pub clock: String,
    pub overdue: bool,
    pub asked: bool,
}

#[derive(Template)]
#[template(path = "me_res.html")]
struct ListPage {
    page: MePage,
    done: &'static str,
    rows: Vec<Row>,
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    procedure: String,
}

fn done_text(lang: Lang, done: &str) -> &'static str {
    match done {
        "submitted" | "answered" => lang.t(&format!("res.done.{done}")),
        _ => "",
    }
}

/// `GET /me/residence`: my requests, their state and clock, what is asked.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<DoneQuery>,
) -> Result<Response, MeError> {
    let p = page(&headers, &s, "/me/residence");
    let lang = p.lang;
    let pid = s.personal_id;
    let today = state.today();
    let found = state
        .read(move |store| Ok(requests::mine(store, &pid)?))
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    let rows = found
        .iter()
        .map(|r| {
            let (clock, overdue) = clock_text(lang, r, today);
            Row {
                id: r.id,
                title: procedure_label(lang, r.procedure),
                state: state_label(lang, r.state),
                state_class: state_class(r.state),
                submitted: moment(r.submitted_at),
                due: day(r.due),
                clock,
                overdue: overdue && r.state.is_open(),
                asked: r.state == RState::MoreInfo,
            }
        })
        .collect();
    render(
        &ListPage {
            done: done_text(lang, &q.done),
            page: p,
            rows,
        },
        StatusCode::OK,
    )
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub days: u32,
    pub fee: String,
    pub chosen: bool,
}

#[derive(Template)]
#[template(path = "me_res_new.html")]
struct NewPage {
    page: MePage,
    error: String,
    choices: Vec<Choice>,
    commune: String,
    address: String,
    until: String,
    note: String,
    members: String,
    max_files: usize,
    max_mb: String,
}

fn new_page(state: &AppState, page: MePage, form: &NewRequest, error: String) -> NewPage {
    let lang = page.lang;
    let chosen = if form.procedure.is_empty() {
        "temporary"
    } else {
        form.procedure.as_str()
    };
    let cfg = state.config.residence;
    NewPage {
        choices: rules::ALL
            .iter()
            .map(|p| {
                let t = p.terms();
                Choice {
                    value: p.as_str(),
                    label: procedure_label(lang, *p),
                    days: t.working_days,
                    fee: fee(lang, t.fee_vnd),
                    chosen: p.as_str() == chosen,
                }
            })
            .collect(),
        commune: form.commune.clone(),
        address: form.address.clone(),
        until: form.until.clone(),
        note: form.note.clone(),
        members: form.members.clone(),
        max_files: cfg.max_files,
        max_mb: crate::ui::format::fixed(lang, cfg.max_file_bytes as f64 / 1_048_576.0, 0),
        error,
        page,
    }
}

/// `GET /me/residence/new`: the form (level 2).
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<DoneQuery>,
) -> Result<Response, MeError> {
    level2(&s, "/me/residence/new")?;
    let form = NewRequest {
        procedure: q.procedure,
        ..NewRequest::default()
    };
    let p = page(&headers, &s, "/me/residence/new");
    render(&new_page(&state, p, &form, String::new()), StatusCode::OK)
}

/// A multipart form read whole: its fields and its files.
async fn read_form(mut m: Multipart) -> Result<(Fields, Vec<Upload>), AppError> {
    let mut fields = Fields::new();
    let mut files = Vec::new();
    let too_large = || AppError::bad("residence.file_too_large", "the form is too large");
    while let Some(part) = m.next_field().await.map_err(|_| too_large())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "files" {
            let file_name = part.file_name().unwrap_or_default().to_owned();
            let bytes = part.bytes().await.map_err(|_| too_large())?;
            files.push(Upload {
                name: file_name,
                bytes: bytes.to_vec(),
            });
        } else {
            let text = part.text().await.map_err(|_| too_large())?;
            fields.insert(name, text);
        }
    }
    Ok((fields, files))
}

fn field(f: &Fields, k: &str) -> String {
    f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// `POST /me/residence/new` (multipart): files the request.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    m: Multipart,
) -> Result<Response, MeError> {
    let who = level2(&s, "/me/residence/new")?;
    let p = || page(&headers, &s, "/me/residence/new");
    let lang = p().lang;
    let (fields, files) = match read_form(m).await {
        Ok(x) => x,
        Err(e) => {
            let t = refusal_text(lang, &e);
            return render(
                &new_page(&state, p(), &NewRequest::default(), t),
                e.status(),
            );
        }
    };
    crate::citizen::session::check_csrf(&headers, &field(&fields, "csrf"))
        .map_err(|e| MeError::Page(e, lang))?;
    let form = NewRequest {
        procedure: field(&fields, "procedure"),
        commune: field(&fields, "commune"),
        address: field(&fields, "address"),
        until: field(&fields, "until"),
        note: field(&fields, "note"),
        members: field(&fields, "members"),
    };
    let limits = state.config.residence.limits();
    let now = state.now();
    let f2 = form.clone();
    let done = state
        .blocking(move |store| {
            let checked = attach::check(files, limits)?;
            Ok(requests::submit(store, &who, &f2, &checked, now)?)
        })
        .await;
    match done {
        Ok(id) => Ok(see_other(&format!("/me/residence/{id}?done=submitted"))),
        Err(e @ (AppError::Internal(_) | AppError::Csrf)) => Err(MeError::Page(e, lang)),
        Err(e) => {
            let t = refusal_text(lang, &e);
            render(&new_page(&state, p(), &form, t), e.status())
        }
    }
}

#[derive(Template)]
#[template(path = "me_res_request.html")]
struct OnePage {
    page: MePage,
    done: &'static str,
    error: String,
    id: i64,
    title: &'static str,
    state: &'static str,
    state_class: &'static str,
    place: String,
    address: String,
    until: String,
    fee: String,
    legal_days: u32,
    due: String,
    clock: String,
    overdue: bool,
    asked: Option<String>,
    outcome: Option<String>,
    refused: bool,
    steps: Vec<StepView>,
    max_files: usize,
}

async fn one_page(
    state: &AppState,
    p: MePage,
    s: &WebSession,
    id: i64,
    done: &'static str,
    error: String,
) -> Result<OnePage, MeError> {
    let lang = p.lang;
    let pid = s.personal_id;
    let (r, steps) = state
        .read(move |store| Ok(requests::one_mine(store, &pid, id)?))
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    let (clock, overdue) = clock_text(lang, &r, state.today());
    Ok(OnePage {
        done,
        error,
        id: r.id,
        title: procedure_label(lang, r.procedure),
        state: state_label(lang, r.state),
        state_class: state_class(r.state),
        place: unit_name(&r.commune),
        address: r.address.clone(),
        until: r.until.map(day).unwrap_or_default(),
        fee: fee(lang, r.fee_vnd),
        legal_days: r.legal_days,
        due: day(r.due),
        clock,
        overdue: overdue && r.state.is_open(),
        asked: if r.state == RState::MoreInfo {
            r.asked.clone()
        } else {
            None
        },
        outcome: r.outcome.clone(),
        refused: r.state == RState::Refused,
        steps: super::step_views(lang, &steps),
        max_files: state.config.residence.max_files,
        page: p,
    })
}

fn parse_id(raw: &str, lang: Lang) -> Result<i64, MeError> {
    raw.parse::<i64>().map_err(|_| {
        MeError::Page(
            AppError::not_found("residence.not_found", "no such request"),
            lang,
        )
    })
}

/// `GET /me/residence/{id}`.
pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, MeError> {
    let here = format!("/me/residence/{id}");
    let p = page(&headers, &s, &here);
    let lang = p.lang;
    let id = parse_id(&id, lang)?;
    let view = one_page(&state, p, &s, id, done_text(lang, &q.done), String::new()).await?;
    render(&view, StatusCode::OK)
}

/// `POST /me/residence/{id}/answer` (multipart): `csrf`, `answer`, `files`.
pub async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Path(raw): Path<String>,
    m: Multipart,
) -> Result<Response, MeError> {
    let here = format!("/me/residence/{raw}");
    let who = level2(&s, &here)?;
    let lang = Lang::from_headers(&headers);
    let id = parse_id(&raw, lang)?;
    let done = match read_form(m).await {
        Ok((fields, files)) => {
            crate::citizen::session::check_csrf(&headers, &field(&fields, "csrf"))
                .map_err(|e| MeError::Page(e, lang))?;
            let text = field(&fields, "answer");
            let limits = state.config.residence.limits();
            let now = state.now();
            state
                .blocking(move |store| {
                    let checked = attach::check(files, limits)?;
                    Ok(requests::answer(store, &who, id, &text, &checked, now)?)
                })
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Ok(see_other(&format!("/me/residence/{id}?done=answered"))),
        Err(e @ (AppError::Internal(_) | AppError::Csrf | AppError::NotFound { .. })) => {
            Err(MeError::Page(e, lang))
        }
        Err(e) => {
            let t = refusal_text(lang, &e);
            let view = one_page(&state, page(&headers, &s, &here), &s, id, "", t).await?;
            render(&view, e.status())
        }
    }
}

/// A file as a download: its stored kind (from its bytes), never shown inline.
pub fn file_response(name: &str, mime: &str, bytes: Vec<u8>) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// `GET /me/residence/{id}/files/{file}`: one of my files.
pub async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let (id, file) = (parse_id(&id, lang)?, parse_id(&file, lang)?);
    let pid = s.personal_id;
    let (name, mime, bytes) = state
        .read(move |store| Ok(requests::my_file(store, &pid, id, file)?))
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    Ok(file_response(&name, &mime, bytes))
}

#[derive(Template)]
#[template(path = "me_res_confirm.html")]
struct ConfirmPage {
    page: MePage,
    number: String,
    issued: String,
    name: String,
    personal_id: String,
    birth: String,
    permanent: String,
    temporary: Option<String>,
    until: String,
    household: String,
    token: String,
    qr: String,
    verify_url: String,
}

/// The signed confirmation of the session's person, made from the register now.
async fn signed(
    state: &AppState,
    s: &WebSession,
) -> Result<(confirm::Confirmation, String), AppError> {
    let st = state.clone();
    let pid = s.personal_id;
    let now = state.now();
    state
        .blocking(move |store| {
            let (keys, _) = st.oidc.keys(store, now).map_err(|e| {
                AppError::Internal(format!(
                    "signing keys: {} {}",
                    e.description,
                    e.cause.unwrap_or_default()
                ))
            })?;
            let c = confirm::build(store, &st.oidc.issuer, &pid, now)?;
            let token = confirm::sign(&keys, &c)?;
            Ok((c, token))
        })
        .await
}

fn place(p: &confirm::Place) -> String {
    format!("{}, {}", p.address, p.unit_name)
}

/// `GET /me/residence/confirmation`: the printable confirmation with its signed form and QR.
pub async fn confirmation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
) -> Result<Response, MeError> {
    let p = page(&headers, &s, "/me/residence/confirmation");
    let lang = p.lang;
    let (c, token) = signed(&state, &s)
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    let verify_url = format!(
        "{}/verify/residence?t={}",
        state.oidc.issuer,
        crate::citizen::session::encode(&token)
    );
    let birth = match eid_core::residence::calendar::parse_date(&c.birth) {
        Some(d) => day(d),
        None => c.birth.clone(),
    };
    render(
        &ConfirmPage {
            number: c.number.clone(),
            issued: moment(c.issued_at),
            name: c.name.clone(),
            personal_id: c.personal_id.clone(),
            birth,
            permanent: place(&c.permanent),
            temporary: c.temporary.as_ref().map(place),
            until: c
                .temporary
                .as_ref()
                .and_then(|t| t.until.as_deref())
                .and_then(eid_core::residence::calendar::parse_date)
                .map(day)
                .unwrap_or_default(),
            household: c.household.clone().unwrap_or_default(),
            qr: super::qr::svg(&verify_url),
            token,
            verify_url,
            page: p,
        },
        StatusCode::OK,
    )
}

/// `GET /me/residence/confirmation.jwt`: the signed form as a file.
pub async fn confirmation_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let (_, token) = signed(&state, &s)
        .await
        .map_err(|e| MeError::Page(e, lang))?;
    Ok(file_response(
        "xac-nhan-cu-tru.jwt",
        "application/jwt",
        token.into_bytes(),
    ))
}
