//! The linkage console: the review queue of the officer's units (reviews and conflicts not yet
//! decided, with the counts of every outcome per source, paged) and one result with its
//! readable breakdown — per field the sector's value beside the register's, the comparison
//! level and its weight, the total and the probability — and the decision form.
//!
//! Scope, audit and the decision itself are the core's ([`eid_core::linkage::decide`]); this
//! module turns them into display strings (numbers and dates as the language writes them).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::linkage::decide::{self, Review};
use eid_core::linkage::service::LinkResult;
use eid_core::linkage::Outcome;
use eid_core::Acting;
use eid_domain::{parse_iso_date, Person, Tree, UnitCode, Units};
use serde_json::Value;

use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::form::form_value;
use crate::ui::format::{day_label, fixed, num};

/// Rows per page of the queue.
const PER_PAGE: u32 = 25;

/// One source's counts, in [`Outcome::ALL`] order.
pub struct SourceCounts {
    pub source: String,
    pub counts: Vec<(&'static str, &'static str, String)>,
}

/// One row of the queue.
pub struct QueueRow {
    pub id: i64,
    pub outcome: &'static str,
    pub outcome_label: &'static str,
    pub source: String,
    pub row_id: String,
    pub line: String,
    pub proposed: String,
    pub probability: String,
    pub received: String,
}

#[derive(Template)]
#[template(path = "link_queue.html")]
struct QueuePage {
    page: PageCtx,
    scope: String,
    sources: Vec<SourceCounts>,
    /// The sources, each with whether it is the one filtered on.
    source_names: Vec<(String, bool)>,
    open: String,
    rows: Vec<QueueRow>,
    page_no: u32,
    prev: Option<String>,
    next: Option<String>,
}

fn outcome_label(lang: Lang, o: Outcome) -> &'static str {
    lang.t(&format!("link.outcome.{}", o.as_str()))
}

fn unit_label(code: &UnitCode) -> String {
    match Units::get().unit(Tree::Gso2024, code) {
        Some(u) => format!("{} ({})", u.name, code.as_str()),
        None => code.as_str().to_owned(),
    }
}

/// A probability as a percentage with one decimal.
fn probability(lang: Lang, r: &LinkResult) -> String {
    r.explanation["probability"]
        .as_f64()
        .map(|p| format!("{}\u{a0}%", fixed(lang, p * 100.0, 1)))
        .unwrap_or_else(|| "—".to_owned())
}

/// A signed weight with two decimals, as the language writes it.
fn weight(lang: Lang, w: f64) -> String {
    let s = fixed(lang, w.abs(), 2);
    if w < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("−{s}")
    } else {
        s
    }
}

/// `GET /linkage?source=&page=&unit=`
pub async fn queue(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let source = q.get("source").cloned().unwrap_or_default();
    let unit = q.get("unit").cloned().filter(|u| !u.trim().is_empty());
    let page_no: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (src, u) = (source.clone(), unit.clone());
    let queue = state
        .blocking(move |store| {
            decide::queue(
                store,
                &acting,
                u.as_deref(),
                Some(src.as_str()),
                page_no,
                PER_PAGE,
            )
            .map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let mut by_source: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for (s, o, n) in &queue.counts {
        let slot = Outcome::ALL.iter().position(|x| x == o).unwrap_or(0);
        if let Some(c) = by_source.entry(s.clone()).or_default().get_mut(slot) {
            *c += n;
        }
    }
    let link = |p: u32| {
        let mut s = format!("/linkage?page={p}");
        if !source.is_empty() {
            s.push_str(&format!(
                "&source={}",
                crate::console::percent_encode(&source)
            ));
        }
        if let Some(u) = &unit {
            s.push_str(&format!("&unit={}", crate::console::percent_encode(u)));
        }
        s
    };
    let shown = u64::from(page_no + 1) * u64::from(PER_PAGE);
    let page = QueuePage {
        page: PageCtx::new(lang, Some(&user), "linkage", &here(&uri)),
        scope: unit_label(&queue.unit),
        source_names: by_source
            .keys()
            .map(|k| (k.clone(), *k == source))
            .collect(),
        sources: by_source
            .iter()
            .map(|(s, c)| SourceCounts {
                source: s.clone(),
                counts: Outcome::ALL
                    .iter()
                    .zip(c)
                    .map(|(o, n)| (o.as_str(), outcome_label(lang, *o), num(lang, *n)))
                    .collect(),
            })
            .collect(),
        open: num(lang, queue.open),
        rows: queue
            .rows
            .iter()
            .map(|r| QueueRow {
                id: r.id,
                outcome: r.outcome.as_str(),
                outcome_label: outcome_label(lang, r.outcome),
                source: r.source.clone(),
                row_id: r.row_id.clone(),
                line: num(lang, r.line.max(0) as u64),
                proposed: r.personal_id.clone().unwrap_or_else(|| "—".to_owned()),
                probability: probability(lang, r),
                received: day_label(lang, r.received_on),
            })
            .collect(),
        page_no: page_no + 1,
        prev: (page_no > 0).then(|| link(page_no - 1)),
        next: (queue.open > shown).then(|| link(page_no + 1)),
    };
    render(&page)
}

/// One field of the breakdown.
pub struct FieldRow {
    pub field: &'static str,
    pub sector: String,
    pub register: String,
    pub level: &'static str,
    pub level_key: String,
    pub weight: String,
    pub negative: bool,
}

/// A label and a value.
pub struct Item {
    pub label: &'static str,
    pub value: String,
}

/// The decision already made.
pub struct DecidedView {
    pub title: &'static str,
    pub reason: String,
    pub actor: String,
    pub at: String,
    /// When reused from another result: its id.
    pub reused_from: Option<i64>,
}

#[derive(Template)]
#[template(path = "link_result.html")]
struct ResultPage {
    page: PageCtx,
    id: i64,
    outcome: &'static str,
    outcome_label: &'static str,
    summary: Vec<Item>,
    proposed: Option<String>,
    alternative: Option<String>,
    fields: Vec<FieldRow>,
    prior: String,
    /// The competition from the row's other candidates, when there was any.
    competition: Option<String>,
    total: String,
    probability: String,
    attributes: Vec<Item>,
    decided: Option<DecidedView>,
    decidable: bool,
    form_verdict: String,
    form_person: String,
    form_reason: String,
    notice: Option<Notice>,
}

/// A date as the language writes it when it is one, else as given (a year alone).
fn date_text(lang: Lang, s: &str) -> String {
    match parse_iso_date(s) {
        Some(d) => day_label(lang, d),
        None => s.to_owned(),
    }
}

fn register_value(lang: Lang, p: &Person, field: &str) -> String {
    match field {
        "personal_id" => p.id.as_str().to_owned(),
        "surname" => p.name.surname().to_owned(),
        "middle_name" => p.name.middle().to_owned(),
        "given_name" => p.name.given().to_owned(),
        "birth_date" => date_text(lang, &p.birth.to_string()),
        "sex" => lang.t(&format!("sex.{}", p.sex.as_str())).to_owned(),
        "unit" => unit_label(&p.residence.unit),
        _ => String::new(),
    }
}

fn sector_value(lang: Lang, values: &Value, field: &str) -> String {
    let v = values[field].as_str().unwrap_or("").trim();
    match field {
        _ if v.is_empty() => "—".to_owned(),
        "birth_date" => date_text(lang, v),
        "sex" => match lang.t(&format!("sex.{v}")) {
            "??" => v.to_owned(),
            t => t.to_owned(),
        },
        "unit" => UnitCode::parse(v)
            .map(|c| unit_label(&c))
            .unwrap_or_else(|_| v.to_owned()),
        _ => v.to_owned(),
    }
}

fn result_page(lang: Lang, user: &ConsoleUser, here_path: &str, review: &Review) -> ResultPage {
    let r = &review.result;
    let num_or_dash = |v: &Value| v.as_f64().map_or("—".to_owned(), |w| weight(lang, w));
    let fields = r.explanation["fields"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    let field = f["field"].as_str().unwrap_or("");
                    let level = f["level"].as_str().unwrap_or("");
                    let w = f["weight"].as_f64().unwrap_or(0.0)
                        + f["adjustment"].as_f64().unwrap_or(0.0);
                    FieldRow {
                        field: lang.t(&format!("link.field.{field}")),
                        sector: sector_value(lang, &r.values, field),
                        register: review
                            .person
                            .as_ref()
                            .map(|p| register_value(lang, p, field))
                            .filter(|v| !v.is_empty())
                            .unwrap_or_else(|| "—".to_owned()),
                        level: lang.t(&format!("link.level.{level}")),
                        level_key: level.to_owned(),
                        weight: weight(lang, w),
                        negative: w < 0.0,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let method = lang.t(&format!("link.method.{}", r.method));
    let summary = vec![
        Item {
            label: lang.t("link.source"),
            value: r.source.clone(),
        },
        Item {
            label: lang.t("link.row_id"),
            value: r.row_id.clone(),
        },
        Item {
            label: lang.t("link.line"),
            value: num(lang, r.line.max(0) as u64),
        },
        Item {
            label: lang.t("link.received"),
            value: day_label(lang, r.received_on),
        },
        Item {
            label: lang.t("link.method"),
            value: if method == "??" {
                r.method.clone()
            } else {
                method.to_owned()
            },
        },
    ];
    let attributes = r
        .attributes
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| Item {
                    label: "",
                    value: format!("{k}: {}", v.as_str().unwrap_or("")),
                })
                .collect()
        })
        .unwrap_or_default();
    let decided = r.decision.as_ref().map(|d| DecidedView {
        title: lang.t(&format!("link.decided.{}", d.verdict)),
        reason: d.reason.clone(),
        actor: d.actor.clone(),
        at: {
            let t = d.at.to_offset(crate::state::vietnam());
            format!(
                "{} {:02}:{:02}",
                day_label(lang, t.date()),
                t.hour(),
                t.minute()
            )
        },
        reused_from: (d.result_id != r.id).then_some(d.result_id),
    });
    ResultPage {
        page: PageCtx::new(lang, Some(user), "linkage", here_path),
        id: r.id,
        outcome: r.outcome.as_str(),
        outcome_label: outcome_label(lang, r.outcome),
        summary,
        proposed: r.personal_id.clone(),
        alternative: r.alternative_id.clone(),
        fields,
        prior: num_or_dash(&r.explanation["prior"]),
        competition: r.explanation["competition"]
            .as_f64()
            .filter(|c| *c != 0.0)
            .map(|_| num_or_dash(&r.explanation["competition"])),
        total: num_or_dash(&r.explanation["total"]),
        probability: probability(lang, r),
        attributes,
        decidable: r.decision.is_none() && matches!(r.outcome, Outcome::Review | Outcome::Conflict),
        decided,
        form_verdict: String::new(),
        form_person: String::new(),
        form_reason: String::new(),
        notice: None,
    }
}

fn parse_id(id: &str, lang: Lang) -> Result<i64, ConsoleError> {
    id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("link.not_found", "no such result"),
            lang,
        )
    })
}

async fn read_review(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
) -> Result<Review, ConsoleError> {
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| decide::review(store, &acting, id).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, user.lang))
}

/// `GET /linkage/{id}`
pub async fn result(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let review = read_review(&state, &user, id).await?;
    let mut page = result_page(lang, &user, &here(&uri), &review);
    page.notice = Notice::done(lang, &q, "link", &["decided"]);
    render(&page)
}

/// `POST /linkage/{id}`: `verdict=same|different`, `personal_id` (for `same`; the proposed
/// person when empty), `reason`.
pub async fn decide_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let (verdict, person, reason) = (
        form_value(&form, "verdict"),
        form_value(&form, "personal_id"),
        form_value(&form, "reason"),
    );
    let done = match super::api::verdict(&verdict, Some(&person)) {
        Ok(v) => {
            let acting = Acting::new(user.caller.clone(), request_id(), state.now());
            super::api::run_decision(&state, acting, id, v, reason.clone())
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/linkage/{id}?done=decided")).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let review = read_review(&state, &user, id).await?;
            let mut page = result_page(lang, &user, &format!("/linkage/{id}"), &review);
            page.notice = Some(Notice::refused(lang, &e));
            page.form_verdict = verdict;
            page.form_person = person;
            page.form_reason = reason;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
