//! The console's surge page (`GET /surge`, ministry only): the lanes now (in flight, waiting,
//! cap, expected wait), admitted and turned away per minute, what was turned away lately, and
//! the announced peaks with a form to announce one (`POST /surge/peaks`) or remove one
//! (`POST /surge/peaks/{id}/remove`). The rules and the audit are `eid_core::peaks`'.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eid_core::peaks::{self, NewPeak};
use eid_core::store::Role;
use eid_core::Acting;

use super::{Lane, QUEUED};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::form::form_value;

const DONE: &[&str] = &["added", "removed"];

/// The surge pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surge", get(page))
        .route("/surge/peaks", post(add))
        .route("/surge/peaks/{id}/remove", post(remove))
}

pub struct LaneRow {
    pub label: &'static str,
    pub lane: &'static str,
    pub in_flight: u32,
    pub waiting: u32,
    pub cap: u32,
    pub expected_ms: u64,
    pub goal_ms: u64,
    pub admitted: String,
    pub shed: String,
}

pub struct MinuteRow {
    pub at: String,
    pub admitted: Vec<String>,
    pub shed: Vec<String>,
}

pub struct ShedRow {
    pub at: String,
    pub lane: &'static str,
    pub route: String,
    pub reason: &'static str,
}

pub struct PeakRow {
    pub id: i64,
    pub start: String,
    pub end: String,
    pub load: String,
    pub note: String,
    pub active: bool,
}

/// The announce form as typed.
#[derive(Default)]
pub struct PeakForm {
    pub start: String,
    pub end: String,
    pub load: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "surge.html")]
struct SurgePage {
    page: PageCtx,
    limit: u32,
    service: String,
    load: String,
    lanes: Vec<LaneRow>,
    lane_labels: Vec<&'static str>,
    minutes: Vec<MinuteRow>,
    recent: Vec<ShedRow>,
    peaks: Vec<PeakRow>,
    form: PeakForm,
    notice: Option<Notice>,
}

fn lane_label(lang: Lang, lane: Lane) -> &'static str {
    lang.t(&format!("surge.lane.{}", lane.as_str()))
}

fn ministry(user: &ConsoleUser) -> Result<(), ConsoleError> {
    if user.caller.staff.role == Role::Ministry {
        Ok(())
    } else {
        Err(ConsoleError(eid_core::Error::ScopeDenied.into(), user.lang))
    }
}

async fn show(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    form: PeakForm,
    notice: Option<Notice>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let now = state.now();
    let list = state
        .read(move |store| Ok(peaks::upcoming(store, now)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let admission = &state.admission;
    let snap = admission.gate.snapshot();
    let totals = admission.stats.totals();
    let n = |v: u64| crate::ui::format::num(lang, v);
    let config = admission.gate.config();
    let lanes = Lane::QUEUED
        .iter()
        .enumerate()
        .map(|(i, lane)| LaneRow {
            label: lane_label(lang, *lane),
            lane: lane.as_str(),
            in_flight: snap.in_flight[i],
            waiting: snap.waiting[i],
            cap: snap.cap[i],
            expected_ms: snap.expected_wait_ms[i],
            goal_ms: config.goal_ms[i],
            admitted: n(totals[i][0]),
            shed: n(totals[i][1]),
        })
        .collect();
    let minutes = admission
        .stats
        .minutes(15)
        .into_iter()
        .map(|m| MinuteRow {
            at: peaks::show_time(m.start()),
            admitted: (0..QUEUED).map(|i| n(m.admitted[i])).collect(),
            shed: (0..QUEUED).map(|i| n(m.shed[i])).collect(),
        })
        .collect();
    let recent = admission
        .stats
        .recent()
        .into_iter()
        .map(|r| ShedRow {
            at: peaks::show_time(r.at),
            lane: lane_label(lang, r.lane),
            route: r.route,
            reason: lang.t(&format!("surge.reason.{}", r.reason.as_str())),
        })
        .collect();
    let comma = lang == Lang::Vi;
    render(&SurgePage {
        page: PageCtx::new(lang, Some(user), "surge", &here(uri)),
        limit: snap.limit,
        service: format!("{} ms", crate::ui::format::fixed(lang, snap.service_ms, 1)),
        load: peaks::show_load(snap.load_permille, comma),
        lanes,
        lane_labels: Lane::QUEUED.iter().map(|l| lane_label(lang, *l)).collect(),
        minutes,
        recent,
        peaks: list
            .iter()
            .map(|p| PeakRow {
                id: p.id,
                start: peaks::show_time(p.starts_at),
                end: peaks::show_time(p.ends_at),
                load: peaks::show_load(p.load_permille, comma),
                note: p.note.clone(),
                active: p.holds(now),
            })
            .collect(),
        form,
        notice,
    })
}

/// `GET /surge`
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    ministry(&user)?;
    let notice = Notice::done(user.lang, &q, "surge", DONE);
    show(&state, &user, &uri, PeakForm::default(), notice).await
}

fn parse_form(f: &HashMap<String, String>) -> Result<NewPeak, AppError> {
    let time = |key: &str| {
        peaks::parse_time(&form_value(f, key))
            .ok_or_else(|| AppError::bad("peak.bad_time", "a time is written dd/mm/yyyy hh:mm"))
    };
    Ok(NewPeak {
        starts_at: time("start")?,
        ends_at: time("end")?,
        load_permille: peaks::parse_load(&form_value(f, "load")).ok_or_else(|| {
            AppError::bad(
                "peak.bad_load",
                "the expected load is a number from 1 to 100",
            )
        })?,
        note: form_value(f, "note"),
    })
}

/// `POST /surge/peaks`
pub async fn add(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    ministry(&user)?;
    let lang = user.lang;
    let added = match parse_form(&f) {
        Ok(new) => {
            let acting = Acting::new(user.caller.clone(), request_id(), state.now());
            state
                .blocking(move |store| peaks::add(store, &acting, &new).map_err(Into::into))
                .await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => {
            super::refresh_peaks(&state).await;
            Ok(Redirect::to("/surge?done=added").into_response())
        }
        Err(e @ AppError::BadRequest { .. }) => {
            let form = PeakForm {
                start: form_value(&f, "start"),
                end: form_value(&f, "end"),
                load: form_value(&f, "load"),
                note: form_value(&f, "note"),
            };
            let notice = Some(Notice::refused(lang, &e));
            let mut r = show(&state, &user, &uri, form, notice).await?;
            *r.status_mut() = e.status();
            Ok(r)
        }
        Err(e) => Err(ConsoleError(e, lang)),
    }
}

/// `POST /surge/peaks/{id}/remove`
pub async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    ministry(&user)?;
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| peaks::remove(store, &acting, id).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    super::refresh_peaks(&state).await;
    Ok(Redirect::to("/surge?done=removed").into_response())
}
