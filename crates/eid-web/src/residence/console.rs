//! The commune police's pages in the console: the queue (`/residence`), one request with its
//! steps, files and the acts on it (assign, ask for more, approve, refuse), and the operations
//! figures per commune (`/residence/ops`). Scope is the core's: commune officers act on their
//! commune's requests, higher levels read their sub-units.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use eid_core::residence::officer::{self, Filter};
use eid_core::residence::{rules, Request, State as RState};
use eid_core::store::Role;
use eid_core::Acting;

use super::{clock_text, day, fee, moment, procedure_label, state_class, state_label, unit_name};
use crate::console::i18n::Lang;
use crate::console::{render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;

pub struct QueueRow {
    pub id: i64,
    pub procedure: &'static str,
    pub commune: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub submitted: String,
    pub due: String,
    pub clock: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "res_queue.html")]
struct QueuePage {
    page: PageCtx,
    filters: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<QueueRow>,
}

fn row(lang: Lang, r: &Request, today: time::Date) -> QueueRow {
    let (clock, overdue) = clock_text(lang, r, today);
    QueueRow {
        id: r.id,
        procedure: procedure_label(lang, r.procedure),
        commune: eid_domain::Units::get()
            .unit(eid_domain::Tree::Gso2024, &r.commune)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        state: state_label(lang, r.state),
        state_class: state_class(r.state),
        submitted: moment(r.submitted_at),
        due: day(r.due),
        clock,
        overdue: overdue && r.state.is_open(),
    }
}

/// `GET /residence?filter=open|overdue|closed|all`.
pub async fn queue(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let filter = Filter::parse(q.get("filter").map_or("", String::as_str));
    let caller = user.caller.clone();
    let today = state.today();
    let found = state
        .read(move |store| Ok(officer::queue(store, &caller, filter, today)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let here = format!("/residence?filter={}", filter.as_str());
    render(&QueuePage {
        page: PageCtx::new(lang, Some(&user), "residence", &here),
        filters: [Filter::Open, Filter::Overdue, Filter::Closed, Filter::All]
            .iter()
            .map(|f| {
                (
                    f.as_str(),
                    lang.t(&format!("res.filter.{}", f.as_str())),
                    *f == filter,
                )
            })
            .collect(),
        rows: found.iter().map(|r| row(lang, r, today)).collect(),
    })
}

#[derive(Template)]
#[template(path = "res_request.html")]
struct OnePage {
    page: PageCtx,
    notice: Option<Notice>,
    r: QueueRow,
    personal_id: String,
    address: String,
    until: String,
    note: String,
    fee: String,
    legal_days: u32,
    asked: Option<String>,
    outcome: Option<String>,
    may_act: bool,
    may_decide: bool,
    steps: Vec<super::StepView>,
}

fn parse_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse::<i64>().map_err(|_| {
        ConsoleError(
            AppError::not_found("residence.not_found", "no such request"),
            lang,
        )
    })
}

async fn one_page(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
    notice: Option<Notice>,
) -> Result<OnePage, ConsoleError> {
    let lang = user.lang;
    let caller = user.caller.clone();
    let (r, steps) = state
        .read(move |store| Ok(officer::one_as(store, &caller, id)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let may_act = user.caller.role() == Role::Commune && r.state.is_open();
    Ok(OnePage {
        page: PageCtx::new(lang, Some(user), "residence", &format!("/residence/{id}")),
        notice,
        personal_id: r.personal_id.clone(),
        address: r.address.clone(),
        until: r.until.map(day).unwrap_or_default(),
        note: r.note.clone(),
        fee: fee(lang, r.fee_vnd),
        legal_days: r.legal_days,
        asked: if r.state == RState::MoreInfo {
            r.asked.clone()
        } else {
            None
        },
        outcome: r.outcome.clone(),
        may_act,
        may_decide: may_act && r.state != RState::MoreInfo,
        steps: super::step_views(lang, &steps),
        r: row(lang, &r, state.today()),
    })
}

/// `GET /residence/{id}`.
pub async fn one(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let notice = Notice::done(lang, &q, "res", &["assign", "ask", "approve", "refuse"]);
    render(&one_page(&state, &user, id, notice).await?)
}

/// `POST /residence/{id}/{assign|ask|approve|refuse}`: `csrf`, and `username`, `question` or
/// `reason`.
pub async fn act(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let text = |k: &str| form.get(k).cloned().unwrap_or_default();
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let action = match action.as_str() {
        "assign" | "ask" | "approve" | "refuse" => action,
        _ => {
            return Err(ConsoleError(
                AppError::not_found("route.not_found", "no such page"),
                lang,
            ))
        }
    };
    let (a, username, question, reason) = (
        action.clone(),
        text("username"),
        text("question"),
        text("reason"),
    );
    let done = state
        .blocking(move |store| {
            match a.as_str() {
                "assign" => officer::assign(store, &acting, id, &username)?,
                "ask" => officer::ask(store, &acting, id, &question)?,
                "approve" => officer::approve(store, &acting, id)?,
                _ => officer::refuse(store, &acting, id, &reason)?,
            }
            Ok(())
        })
        .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/residence/{id}?done={action}")).into_response()),
        Err(e @ (AppError::Internal(_) | AppError::Csrf | AppError::ScopeDenied)) => {
            Err(ConsoleError(e, lang))
        }
        Err(e) => {
            let status = e.status();
            let mut notice = Notice::refused(lang, &e);
            let own = lang.t(&format!("res.err.{}", e.code()));
            if own != "??" {
                notice.text = own.to_owned();
            }
            let page = one_page(&state, &user, id, Some(notice)).await?;
            render(&page).map(|r| (status, r).into_response())
        }
    }
}

/// `GET /residence/{id}/files/{file}`.
pub async fn file(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let (id, file) = (parse_id(&id, lang)?, parse_id(&file, lang)?);
    let caller = user.caller.clone();
    let (name, mime, bytes) = state
        .read(move |store| Ok(officer::file_as(store, &caller, id, file)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(super::citizen::file_response(&name, &mime, bytes))
}

pub struct FigureRow {
    pub commune: String,
    pub open: String,
    pub overdue: String,
    pub approved: String,
    pub refused: String,
    pub on_time: String,
    pub mean_days: String,
    pub mean_limit: String,
}

pub struct TermRow {
    pub label: &'static str,
    pub days: u32,
    pub fee: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "res_ops.html")]
struct OpsPage {
    page: PageCtx,
    rows: Vec<FigureRow>,
    total: FigureRow,
    terms: Vec<TermRow>,
    holidays: Vec<(String, &'static str, String)>,
}

fn figure_row(lang: Lang, f: &officer::CommuneFigures) -> FigureRow {
    let fmt = |v: Option<f64>| {
        v.map(|x| crate::ui::format::fixed(lang, x, 1))
            .unwrap_or_else(|| "—".into())
    };
    let decided = f.approved + f.refused;
    FigureRow {
        commune: f
            .commune
            .as_ref()
            .map(unit_name)
            .unwrap_or_else(|| lang.t("res.ops.total").to_owned()),
        open: crate::ui::format::num(lang, f.open),
        overdue: crate::ui::format::num(lang, f.overdue),
        approved: crate::ui::format::num(lang, f.approved),
        refused: crate::ui::format::num(lang, f.refused),
        on_time: if decided == 0 {
            "—".into()
        } else {
            crate::ui::format::pct(lang, f.on_time, decided)
        },
        mean_days: fmt(f.mean_days),
        mean_limit: fmt(f.mean_limit),
    }
}

/// `GET /residence/ops`: requests per commune, overdue, times against the legal limits.
pub async fn ops(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let caller = user.caller.clone();
    let today = state.today();
    let (per, total) = state
        .read(move |store| Ok(officer::figures(store, &caller, today)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let year = today.year();
    render(&OpsPage {
        page: PageCtx::new(lang, Some(&user), "residence", "/residence/ops"),
        rows: per.iter().map(|f| figure_row(lang, f)).collect(),
        total: figure_row(lang, &total),
        terms: rules::table()
            .iter()
            .map(|t| TermRow {
                label: procedure_label(lang, t.procedure),
                days: t.working_days,
                fee: fee(lang, t.fee_vnd),
                source: t.source.clone(),
            })
            .collect(),
        holidays: eid_core::residence::calendar::specials()
            .into_iter()
            .filter(|s| s.date.year() == year)
            .map(|s| {
                let kind = match s.kind {
                    eid_core::residence::calendar::DayKind::Holiday => lang.t("res.day.holiday"),
                    eid_core::residence::calendar::DayKind::Compensatory => {
                        lang.t("res.day.compensatory")
                    }
                    eid_core::residence::calendar::DayKind::Workday => lang.t("res.day.workday"),
                };
                (day(s.date), kind, s.name)
            })
            .collect(),
    })
}
