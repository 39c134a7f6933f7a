//! Staff pages: the auditors' queue of misuse reports (`/trust/reports`, auditors and the
//! ministry) and the officer's own short-lived code with the "possible scam calls" figure
//! (`/trust/officer-code`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::transparency::{self, reports};
use eid_core::{officer_code, Acting};

use crate::console::pages::here;
use crate::console::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::error::request_id;
use crate::state::AppState;

pub struct ReportRow {
    pub id: i64,
    pub state: &'static str,
    pub entry: String,
    pub note: String,
    pub opened: String,
    pub answer: String,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "trust_reports.html")]
pub struct ReportsPage {
    pub page: PageCtx,
    pub rows: Vec<ReportRow>,
    pub outcomes: Vec<(&'static str, &'static str)>,
    pub done: &'static str,
}

/// `GET /trust/reports`
pub async fn reports(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (list, entries) = state
        .blocking(move |store| {
            let list = reports::queue(store, &acting)?;
            let mut entries = Vec::new();
            for r in &list {
                entries.push(transparency::entry(store, r.seq)?);
            }
            Ok((list, entries))
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let rows = list
        .iter()
        .zip(entries)
        .map(|(r, e)| ReportRow {
            id: r.id,
            state: lang.t(if r.open {
                "trust.report.open"
            } else {
                "trust.report.answered"
            }),
            entry: match e {
                Some(e) => format!(
                    "#{} · {} · {} {} · {} · {}",
                    e.seq,
                    super::citizen::when(e.at),
                    e.who_name,
                    e.who_unit.as_deref().unwrap_or(""),
                    e.what,
                    e.purpose
                ),
                None => format!("#{}", r.seq),
            },
            note: r.note.clone(),
            opened: super::citizen::when(r.created_at),
            answer: match (&r.outcome, &r.answer) {
                (Some(o), Some(a)) => {
                    format!("{} — {a}", lang.t(&format!("trust.outcome.{o}")))
                }
                _ => String::new(),
            },
            open: r.open,
        })
        .collect();
    render(&ReportsPage {
        page: PageCtx::new(lang, Some(&user), "trust-reports", &here(&uri)),
        rows,
        outcomes: reports::OUTCOMES
            .iter()
            .map(|o| (*o, lang.t(&format!("trust.outcome.{o}"))))
            .collect(),
        done: if q.contains_key("answered") {
            lang.t("trust.reports.done")
        } else {
            ""
        },
    })
}

/// `POST /trust/reports/{id}`
pub async fn answer(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let outcome = f.get("outcome").cloned().unwrap_or_default();
    let message = f.get("message").cloned().unwrap_or_default();
    state
        .blocking(move |store| Ok(reports::answer(store, &acting, id, &outcome, &message)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(Redirect::to("/trust/reports?answered=1").into_response())
}

#[derive(Template)]
#[template(path = "trust_officer.html")]
pub struct OfficerPage {
    pub page: PageCtx,
    pub code: String,
    pub until: String,
    pub link: String,
    pub qr: String,
    /// (unit, day, failed checks)
    pub scams: Vec<(String, String, String)>,
    /// Failed verifications: (reason, next step on the ladder, count).
    pub ladder: Vec<(String, String, String)>,
}

async fn officer_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    issue: bool,
) -> Result<OfficerPage, ConsoleError> {
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (issued, scams, ladder) = state
        .blocking(move |store| {
            let issued = if issue {
                Some(officer_code::issue(store, &acting)?)
            } else {
                None
            };
            let scams = officer_code::failures(store, &acting, 7)?;
            let ladder = eid_core::accounts::recovery::failures(store, 7, acting.now)?;
            Ok((issued, scams, ladder))
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let base = state.oidc.issuer.clone();
    let (code, until, link) = match &issued {
        Some(i) => (
            i.code.clone(),
            super::citizen::when(i.expires_at),
            format!("{base}/me/verify-officer?code={}", i.code),
        ),
        None => Default::default(),
    };
    let qr = if link.is_empty() {
        String::new()
    } else {
        super::qr::svg(&link).unwrap_or_default()
    };
    let ladder = ladder
        .into_iter()
        .map(|(reason, step, n)| {
            let words = match lang.t(&format!("trust.rec.err.{reason}")) {
                "??" => reason,
                t => t.to_owned(),
            };
            (
                words,
                lang.t(&format!("trust.ladder.{step}")).to_owned(),
                crate::ui::format::num(lang, u64::try_from(n).unwrap_or(0)),
            )
        })
        .collect();
    Ok(OfficerPage {
        ladder,
        page: PageCtx::new(lang, Some(user), "trust-code", &here(uri)),
        code,
        until,
        link,
        qr,
        scams: scams
            .into_iter()
            .map(|(unit, day, n)| {
                let d = time::OffsetDateTime::from_unix_timestamp(day * 86_400)
                    .map(|t| crate::ui::format::short_day(t.date()))
                    .unwrap_or_default();
                let unit = if unit == "unknown" {
                    lang.t("trust.scam.unknown").to_owned()
                } else {
                    super::citizen::unit_label(&unit)
                };
                (
                    unit,
                    d,
                    crate::ui::format::num(lang, u64::try_from(n).unwrap_or(0)),
                )
            })
            .collect(),
    })
}

/// `GET /trust/officer-code`
pub async fn officer(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    render(&officer_page(&state, &user, &uri, false).await?)
}

/// `POST /trust/officer-code`: a fresh code, shown on the answer (never behind a link).
pub async fn officer_issue(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let mut r = render(&officer_page(&state, &user, &uri, true).await?)?;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
