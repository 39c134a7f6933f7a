//! The console's proposals: deaths and births from the civil registry and merges of
//! suspected duplicates within the officer's units (`/linkage/proposals`), one proposal with
//! its events and the officer's decision (`/linkage/proposals/{id}`): confirm or dismiss, for a
//! birth the gaps the officer can fill, for a merge which of the two stays, and undoing a
//! merge. Scope, audit and the change itself are the core's ([`eid_core::linkage::proposals`],
//! [`eid_core::linkage::dedupe`]).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::linkage::proposals::{LinkProposal, ProposalEvent};
use eid_core::Acting;
use eid_domain::parse_iso_date;
use serde_json::Value;

use super::wire::ProposalDecisionIn;
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::form::form_value;
use crate::ui::format::{day_label, fixed};

/// One proposal, as the list and the page show it.
pub struct ProposalRow {
    pub id: i64,
    pub kind: String,
    pub kind_label: &'static str,
    pub state: String,
    pub state_label: &'static str,
    pub source: String,
    pub row_id: String,
    pub person: Option<String>,
    pub other: Option<String>,
    /// Death: the date of death; birth: the child's name and date of birth; merge: the
    /// probability.
    pub summary: String,
    /// Birth: the gaps, as labels.
    pub gaps: Vec<&'static str>,
    pub created: String,
}

/// A label and a value.
pub struct Item {
    pub label: String,
    pub value: String,
    pub negative: bool,
}

/// One event, for display.
pub struct EventRow {
    pub kind: &'static str,
    pub actor: String,
    pub reason: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "link_proposals.html")]
struct ListPage {
    page: PageCtx,
    kind: String,
    kinds: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<ProposalRow>,
}

#[derive(Template)]
#[template(path = "link_proposal.html")]
struct OnePage {
    page: PageCtx,
    p: ProposalRow,
    values: Vec<Item>,
    breakdown: Vec<Item>,
    events: Vec<EventRow>,
    open: bool,
    undoable: bool,
    form_reason: String,
    notice: Option<Notice>,
}

fn date_text(lang: Lang, s: &str) -> String {
    match parse_iso_date(s) {
        Some(d) => day_label(lang, d),
        None => s.to_owned(),
    }
}

fn at_text(lang: Lang, t: time::OffsetDateTime) -> String {
    let t = t.to_offset(crate::state::vietnam());
    format!(
        "{} {:02}:{:02}",
        day_label(lang, t.date()),
        t.hour(),
        t.minute()
    )
}

fn probability(lang: Lang, p: Option<f64>) -> String {
    p.map(|p| format!("{}\u{a0}%", fixed(lang, p * 100.0, 1)))
        .unwrap_or_else(|| "—".to_owned())
}

pub(super) fn row_of(lang: Lang, p: &LinkProposal) -> ProposalRow {
    let d = &p.detail;
    let summary = match p.kind.as_str() {
        "death" => d["death_date"]
            .as_str()
            .map(|s| format!("{}: {}", lang.t("link.prop.death_date"), date_text(lang, s)))
            .unwrap_or_else(|| lang.t("link.prop.death_undated").to_owned()),
        "birth" => {
            let v = &d["values"];
            let name = ["surname", "middle_name", "given_name"]
                .iter()
                .filter_map(|k| v[*k].as_str())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "{name}, {}",
                date_text(lang, v["birth_date"].as_str().unwrap_or("—"))
            )
        }
        _ => format!(
            "{}: {}",
            lang.t("link.probability"),
            probability(lang, d["explanation"]["probability"].as_f64())
        ),
    };
    let gaps = d["gaps"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(|k| lang.t(&format!("link.gap.{k}")))
                .collect()
        })
        .unwrap_or_default();
    ProposalRow {
        id: p.id,
        kind: p.kind.clone(),
        kind_label: lang.t(&format!("link.prop.kind.{}", p.kind)),
        state: p.state.clone(),
        state_label: lang.t(&format!("link.prop.state.{}", p.state)),
        source: p.source.clone(),
        row_id: p.row_id.clone(),
        person: p.personal_id.clone(),
        other: p.other_id.clone(),
        summary,
        gaps,
        created: day_label(lang, p.created_at.to_offset(crate::state::vietnam()).date()),
    }
}

/// `GET /linkage/proposals?kind=&unit=&state=`
pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let kind = q.get("kind").cloned().unwrap_or_default();
    let st = q.get("state").cloned().unwrap_or_default();
    let unit = q.get("unit").cloned().filter(|u| !u.trim().is_empty());
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let k = kind.clone();
    let rows = state
        .blocking(move |store| {
            eid_core::linkage::proposals::list(store, &acting, &k, &st, unit.as_deref(), 200)
                .map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let page = ListPage {
        page: PageCtx::new(lang, Some(&user), "linkage", &here(&uri)),
        kinds: [
            ("", "link.prop.all"),
            ("death", "link.prop.kind.death"),
            ("birth", "link.prop.kind.birth"),
            ("merge", "link.prop.kind.merge"),
        ]
        .into_iter()
        .map(|(k, label)| (k, lang.t(label), k == kind))
        .collect(),
        kind,
        rows: rows.iter().map(|p| row_of(lang, p)).collect(),
    };
    render(&page)
}

fn one_page(
    lang: Lang,
    user: &ConsoleUser,
    here_path: &str,
    p: &LinkProposal,
    events: &[ProposalEvent],
) -> OnePage {
    let values = p.detail["values"]
        .as_object()
        .into_iter()
        .chain(p.detail["attributes"].as_object())
        .flat_map(|o| o.iter())
        .map(|(k, v)| {
            let s = v.as_str().unwrap_or("");
            Item {
                label: match lang.t(&format!("link.field.{k}")) {
                    "??" => k.clone(),
                    t => t.to_owned(),
                },
                value: if k.ends_with("date") {
                    date_text(lang, s)
                } else {
                    s.to_owned()
                },
                negative: false,
            }
        })
        .collect();
    let breakdown = p.detail["explanation"]["fields"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    let w = f["weight"].as_f64().unwrap_or(0.0)
                        + f["adjustment"].as_f64().unwrap_or(0.0);
                    let field = f["field"].as_str().unwrap_or("");
                    let level = f["level"].as_str().unwrap_or("");
                    Item {
                        label: format!(
                            "{} — {}",
                            lang.t(&format!("link.field.{field}")),
                            lang.t(&format!("link.level.{level}"))
                        ),
                        value: {
                            let s = fixed(lang, w.abs(), 2);
                            if w < 0.0 {
                                format!("−{s}")
                            } else {
                                s
                            }
                        },
                        negative: w < 0.0,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    OnePage {
        page: PageCtx::new(lang, Some(user), "linkage", here_path),
        p: row_of(lang, p),
        values,
        breakdown,
        events: events
            .iter()
            .map(|e| EventRow {
                kind: lang.t(&format!("link.prop.event.{}", e.kind)),
                actor: e.actor.clone(),
                reason: e.reason.clone(),
                at: at_text(lang, e.at),
            })
            .collect(),
        open: p.state == "open",
        undoable: p.kind == "merge" && p.state == "confirmed",
        form_reason: String::new(),
        notice: None,
    }
}

fn parse_id(id: &str, lang: Lang) -> Result<i64, ConsoleError> {
    id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("link.proposal_not_found", "no such proposal"),
            lang,
        )
    })
}

async fn read(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
) -> Result<(LinkProposal, Vec<ProposalEvent>), ConsoleError> {
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| {
            eid_core::linkage::proposals::proposal(store, &acting, id).map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, user.lang))
}

/// `GET /linkage/proposals/{id}`
pub async fn one(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let (p, events) = read(&state, &user, id).await?;
    let mut page = one_page(lang, &user, &here(&uri), &p, &events);
    page.notice = Notice::done(lang, &q, "link", &["confirmed", "dismissed", "undone"]);
    render(&page)
}

/// `POST /linkage/proposals/{id}`: `action=confirm|dismiss|undo`, `reason`, and for a birth
/// `personal_id`, `hometown_unit`, `residence_address`; for a merge `survivor`.
pub async fn decide_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let action = form_value(&form, "action");
    let reason = form_value(&form, "reason");
    let opt = |k: &str| Some(form_value(&form, k)).filter(|v| !v.trim().is_empty());
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let done = if action == "undo" {
        let r = reason.clone();
        state
            .blocking(move |store| {
                eid_core::linkage::dedupe::undo(store, &acting, id, &r).map_err(Into::into)
            })
            .await
            .map(|_| "undone")
    } else {
        let body = ProposalDecisionIn {
            decision: action.clone(),
            reason: reason.clone(),
            personal_id: opt("personal_id"),
            hometown_unit: opt("hometown_unit"),
            residence_address: opt("residence_address"),
            survivor: opt("survivor"),
        };
        super::api::run_proposal_decision(&state, acting, id, body)
            .await
            .map(|_| {
                if action == "dismiss" {
                    "dismissed"
                } else {
                    "confirmed"
                }
            })
    };
    match done {
        Ok(what) => {
            Ok(Redirect::to(&format!("/linkage/proposals/{id}?done={what}")).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let (p, events) = read(&state, &user, id).await?;
            let mut page = one_page(
                lang,
                &user,
                &format!("/linkage/proposals/{id}"),
                &p,
                &events,
            );
            page.notice = Some(Notice::refused(lang, &e));
            page.form_reason = reason;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
