//! The commune police's stay pages: `GET /stays` (today's guests per establishment and the late
//! notifications of the unit), `GET|POST /stays/establishments` (register an establishment and
//! its notifiers), `GET /stays/establishments/{id}` (its guests today; bind an API client),
//! `GET|POST /stays/search` (a person's stays, commune officers only, with a reason) and
//! `GET /stays/report` (per establishment type and per day; `?format=csv`). Scope, roles and
//! auditing are the core's (`eid_core::stay`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::stay::{self, view, Kind, NewEstablishment};
use eid_core::store::Role;
use eid_core::Acting;
use time::Date;

use super::{day, day_time, kind_label};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::form::{form_value, Opt};

const DONE: &[&str] = &["added", "bound"];

fn parse_day(q: &HashMap<String, String>, key: &str, default: Date) -> Date {
    q.get(key)
        .and_then(|d| eid_domain::parse_iso_date(d.trim()))
        .unwrap_or(default)
}

fn unit_param(q: &HashMap<String, String>) -> Option<String> {
    q.get("unit")
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
}

/// One establishment of today's list.
pub struct TodayRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub commune: String,
    pub guests: u64,
    pub late: u64,
}

/// One stay as an officer sees it.
pub struct StayView {
    pub establishment: String,
    pub establishment_id: i64,
    pub guest: String,
    pub arrival: String,
    pub departure: String,
    pub deadline: String,
    pub notified: String,
    pub late: bool,
    pub rule: &'static str,
    pub via: &'static str,
    pub reason: String,
}

fn stay_view(lang: Lang, s: &view::StayRow) -> StayView {
    StayView {
        establishment: s.establishment.clone(),
        establishment_id: s.establishment_id,
        guest: match &s.guest_name {
            Some(n) => format!("{n} ({})", s.guest_key.trim_start_matches("P:")),
            None => s.guest_key.clone(),
        },
        arrival: day_time(s.arrival),
        departure: day_time(s.departure),
        deadline: s.deadline.map(day_time).unwrap_or_else(|| "—".into()),
        notified: day_time(s.notified_at),
        late: s.late,
        rule: lang.t(&format!("stay.rule.{}", s.rule.as_str())),
        via: lang.t(&format!("stay.via.{}", s.via.as_str())),
        reason: s.reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "stay_home.html")]
struct HomePage {
    page: PageCtx,
    unit: String,
    day: String,
    day_iso: String,
    rows: Vec<TodayRow>,
    late: Vec<StayView>,
    may_add: bool,
    may_search: bool,
    notice: Option<Notice>,
    source: &'static str,
}

/// `GET /stays?unit=&day=`
pub async fn home(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let d = parse_day(&q, "day", state.today());
    let unit = unit_param(&q);
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let u = unit.clone();
    let (rows, late) = state
        .blocking(move |store| {
            let rows = view::today(store, &acting, u.as_deref(), d)?;
            let from = d - time::Duration::days(6);
            let late = view::late(store, &acting, u.as_deref(), from, d)?;
            Ok((rows, late))
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    render(&HomePage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        unit: unit.unwrap_or_default(),
        day: day(d),
        day_iso: eid_domain::iso(d),
        rows: rows
            .into_iter()
            .map(|r| TodayRow {
                id: r.establishment.id,
                kind: kind_label(lang, r.establishment.kind),
                commune: stay::commune_name(&r.establishment.commune),
                name: r.establishment.name,
                guests: r.guests,
                late: r.late,
            })
            .collect(),
        late: late.iter().map(|s| stay_view(lang, s)).collect(),
        may_add: user.caller.role() != Role::Auditor,
        may_search: user.caller.role() == Role::Commune,
        notice: Notice::done(lang, &q, "stay", DONE),
        source: stay::DEADLINE.source,
    })
}

#[derive(Template)]
#[template(path = "stay_new.html")]
struct NewPage {
    page: PageCtx,
    kinds: Vec<Opt>,
    name: String,
    address: String,
    commune: String,
    notifiers: String,
    relatives_once: bool,
    notice: Option<Notice>,
}

fn kinds(lang: Lang, chosen: &str) -> Vec<Opt> {
    Kind::ALL
        .iter()
        .map(|k| Opt {
            value: k.as_str().to_owned(),
            label: kind_label(lang, *k).to_owned(),
            selected: k.as_str() == chosen,
        })
        .collect()
}

/// `GET /stays/establishments`: the registration form.
pub async fn new_form(user: ConsoleUser, uri: Uri) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    user.caller
        .not_auditor()
        .map_err(|e| ConsoleError(e.into(), lang))?;
    render(&NewPage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        kinds: kinds(lang, "household"),
        name: String::new(),
        address: String::new(),
        commune: if user.caller.role() == Role::Commune {
            user.caller.unit().as_str().to_owned()
        } else {
            String::new()
        },
        notifiers: String::new(),
        relatives_once: false,
        notice: None,
    })
}

/// `POST /stays/establishments`
pub async fn add(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let kind = Kind::parse(&form_value(&f, "kind"));
    let new = NewEstablishment {
        kind: kind.unwrap_or(Kind::Other),
        name: form_value(&f, "name"),
        address: form_value(&f, "address"),
        commune: form_value(&f, "commune"),
        relatives_once: f.contains_key("relatives_once"),
        notifiers: form_value(&f, "notifiers")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let r = match kind {
        None => Err(AppError::bad(
            "stay.bad_kind",
            "choose the establishment type",
        )),
        Some(_) => {
            state
                .blocking(move |store| Ok(stay::register_establishment(store, &acting, &new)?))
                .await
        }
    };
    match r {
        Ok(e) => {
            Ok(Redirect::to(&format!("/stays/establishments/{}?done=added", e.id)).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let page = NewPage {
                page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
                kinds: kinds(lang, &form_value(&f, "kind")),
                name: form_value(&f, "name"),
                address: form_value(&f, "address"),
                commune: form_value(&f, "commune"),
                notifiers: form_value(&f, "notifiers"),
                relatives_once: f.contains_key("relatives_once"),
                notice: Some(Notice::refused(lang, &e)),
            };
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "stay_establishment.html")]
struct EstablishmentPage {
    page: PageCtx,
    id: i64,
    name: String,
    kind: &'static str,
    address: String,
    commune: String,
    relatives_once: bool,
    day: String,
    guests: Vec<StayView>,
    notice: Option<Notice>,
}

/// `GET /stays/establishments/{id}?day=`: the guests present that day.
pub async fn establishment(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let d = parse_day(&q, "day", state.today());
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (e, rows) = state
        .blocking(move |store| Ok(view::guests(store, &acting, id, d)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    render(&EstablishmentPage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        id: e.id,
        kind: kind_label(lang, e.kind),
        commune: stay::commune_name(&e.commune),
        relatives_once: e.relatives_once,
        name: e.name,
        address: e.address,
        day: day(d),
        guests: rows.iter().map(|s| stay_view(lang, s)).collect(),
        notice: Notice::done(lang, &q, "stay", DONE),
    })
}

/// `POST /stays/establishments/{id}/client`: binds a registered relying party to the
/// establishment for the client-credentials grant.
pub async fn bind_client(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let client = form_value(&f, "client_id");
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| Ok(stay::bind_client(store, &acting, &client, id)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(Redirect::to(&format!("/stays/establishments/{id}?done=bound")).into_response())
}

#[derive(Template)]
#[template(path = "stay_search.html")]
struct SearchPage {
    page: PageCtx,
    personal_id: String,
    reason: String,
    searched: bool,
    rows: Vec<StayView>,
    notice: Option<Notice>,
}

/// `GET /stays/search`
pub async fn search_form(user: ConsoleUser, uri: Uri) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    if user.caller.role() != Role::Commune {
        return Err(ConsoleError(AppError::ScopeDenied, lang));
    }
    render(&SearchPage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        personal_id: String::new(),
        reason: String::new(),
        searched: false,
        rows: Vec::new(),
        notice: None,
    })
}

/// `POST /stays/search`: a person's stays in the officer's commune; the reason is kept.
pub async fn search(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&f)?;
    let lang = user.lang;
    let pid = form_value(&f, "personal_id");
    let reason = form_value(&f, "reason");
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (p, r) = (pid.clone(), reason.clone());
    let found = state
        .blocking(move |store| Ok(view::search(store, &acting, &p, &r)?))
        .await;
    let (rows, notice, status) = match found {
        Ok(rows) => (rows, None, axum::http::StatusCode::OK),
        Err(e) => {
            let e = in_place(e, lang)?;
            (Vec::new(), Some(Notice::refused(lang, &e)), e.status())
        }
    };
    let page = SearchPage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        personal_id: pid,
        reason,
        searched: notice.is_none(),
        rows: rows.iter().map(|s| stay_view(lang, s)).collect(),
        notice,
    };
    render(&page).map(|r| (status, r).into_response())
}

/// One row of the report per type.
pub struct KindRow {
    pub kind: &'static str,
    pub establishments: u64,
    pub stays: u64,
    pub late: u64,
}

/// One row of the report per day.
pub struct DayRow {
    pub day: String,
    pub kind: &'static str,
    pub stays: u64,
    pub late: u64,
}

#[derive(Template)]
#[template(path = "stay_report.html")]
struct ReportPage {
    page: PageCtx,
    unit: String,
    from: String,
    to: String,
    kinds: Vec<KindRow>,
    days: Vec<DayRow>,
    csv_href: String,
}

/// `GET /stays/report?unit=&from=&to=&format=csv`: stays per establishment type (and per day).
pub async fn report(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let to = parse_day(&q, "to", state.today());
    let from = parse_day(&q, "from", to - time::Duration::days(6));
    let unit = unit_param(&q);
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let u = unit.clone();
    let (kinds, days) = state
        .blocking(move |store| {
            Ok((
                view::report(store, &acting, u.as_deref(), from, to)?,
                view::counts(store, &acting, u.as_deref(), from, to)?,
            ))
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    if q.get("format").map(String::as_str) == Some("csv") {
        let mut out = String::from("kind,establishments,stays,late\n");
        for k in &kinds {
            out.push_str(&format!(
                "{},{},{},{}\n",
                k.kind.as_str(),
                k.establishments,
                k.stays,
                k.late
            ));
        }
        let mut r = out.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"stays-by-type.csv\""),
        );
        return Ok(r);
    }
    let csv_href = format!(
        "/stays/report?format=csv&from={}&to={}{}",
        eid_domain::iso(from),
        eid_domain::iso(to),
        unit.as_deref()
            .map(|u| format!("&unit={}", crate::console::percent_encode(u)))
            .unwrap_or_default()
    );
    render(&ReportPage {
        page: PageCtx::new(lang, Some(&user), "stays", &here(&uri)),
        unit: unit.unwrap_or_default(),
        from: eid_domain::iso(from),
        to: eid_domain::iso(to),
        kinds: kinds
            .iter()
            .map(|k| KindRow {
                kind: kind_label(lang, k.kind),
                establishments: k.establishments,
                stays: k.stays,
                late: k.late,
            })
            .collect(),
        days: days
            .iter()
            .map(|d| DayRow {
                day: eid_domain::parse_iso_date(&d.day)
                    .map(day)
                    .unwrap_or_default(),
                kind: kind_label(lang, d.kind),
                stays: d.stays,
                late: d.late,
            })
            .collect(),
        csv_href,
    })
}
