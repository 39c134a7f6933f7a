//! The console's data-quality page (`/linkage/quality`): "đúng, đủ, sạch, sống" for the
//! officer's unit and each unit under it, each score saying how it is computed and linking to
//! the worklist of the persons lowering it (`/linkage/quality/worklist`); national staff start
//! a dedupe run from it (`POST /linkage/dedupe`). Scores, scope and audit are the core's
//! ([`eid_core::linkage::quality`]).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::linkage::quality::{Counts, CRITERIA};
use eid_core::Acting;
use eid_domain::{Tree, UnitCode, Units};

use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{percent_encode, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::request_id;
use crate::state::AppState;
use crate::ui::format::{day_label, fixed, num};

/// One criterion's score in a unit.
pub struct Score {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    /// Width of the bar, 0–100.
    pub bar: u32,
    pub lowering: String,
    pub href: String,
}

/// A unit's line.
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub population: String,
    pub scores: Vec<Score>,
    pub href: String,
}

/// How a criterion is computed.
pub struct Method {
    pub key: &'static str,
    pub label: &'static str,
    pub text: &'static str,
}

#[derive(Template)]
#[template(path = "link_quality.html")]
struct QualityPage {
    page: PageCtx,
    unit: UnitRow,
    confirmed: String,
    children: Vec<UnitRow>,
    methods: Vec<Method>,
    computed: Option<String>,
    may_run: bool,
    notice: Option<Notice>,
}

fn unit_name(code: &UnitCode) -> String {
    Units::get()
        .unit(Tree::Gso2024, code)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| code.as_str().to_owned())
}

/// A share as a percentage with one decimal, as the language writes it.
fn percent(lang: Lang, share: Option<f64>) -> String {
    share
        .map(|s| format!("{}\u{a0}%", fixed(lang, s * 100.0, 1)))
        .unwrap_or_else(|| "—".to_owned())
}

fn unit_row(lang: Lang, code: &UnitCode, c: &Counts) -> UnitRow {
    let u = percent_encode(code.as_str());
    UnitRow {
        code: code.as_str().to_owned(),
        name: unit_name(code),
        population: num(lang, c.population),
        scores: CRITERIA
            .iter()
            .enumerate()
            .map(|(i, k)| Score {
                key: k,
                label: lang.t(&format!("link.q.{k}")),
                value: percent(lang, c.score(i)),
                bar: c
                    .score(i)
                    .map_or(0, |s| (s * 100.0).round().clamp(0.0, 100.0) as u32),
                lowering: num(lang, c.lowering.get(i).copied().unwrap_or(0)),
                href: format!("/linkage/quality/worklist?criterion={k}&unit={u}"),
            })
            .collect(),
        href: format!("/linkage/quality?unit={u}"),
    }
}

/// `GET /linkage/quality?unit=`
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let unit = q.get("unit").cloned().filter(|u| !u.trim().is_empty());
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let qy = state
        .blocking(move |store| {
            eid_core::linkage::quality::scores(store, &acting, unit.as_deref()).map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let page = QualityPage {
        page: PageCtx::new(lang, Some(&user), "linkage", &here(&uri)),
        unit: unit_row(lang, &qy.unit, &qy.total),
        confirmed: num(lang, qy.total.confirmed),
        children: qy
            .children
            .iter()
            .filter(|(c, _)| *c != qy.unit)
            .map(|(c, n)| unit_row(lang, c, n))
            .collect(),
        methods: CRITERIA
            .iter()
            .map(|k| Method {
                key: k,
                label: lang.t(&format!("link.q.{k}")),
                text: lang.t(&format!("link.q.{k}.how")),
            })
            .collect(),
        computed: qy.computed_at.map(|t| {
            let t = t.to_offset(crate::state::vietnam());
            format!(
                "{} {:02}:{:02}",
                day_label(lang, t.date()),
                t.hour(),
                t.minute()
            )
        }),
        may_run: user.caller.unit() == UnitCode::NATION && user.caller.not_auditor().is_ok(),
        notice: Notice::done(lang, &q, "link", &["dedupe"]),
    };
    render(&page)
}

/// One person on a worklist.
pub struct WorkRow {
    pub personal_id: String,
    pub unit: String,
    pub why: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "link_worklist.html")]
struct WorklistPage {
    page: PageCtx,
    criterion: &'static str,
    how: &'static str,
    scope: String,
    back: String,
    rows: Vec<WorkRow>,
}

/// `GET /linkage/quality/worklist?criterion=&unit=`
pub async fn worklist(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let criterion = q.get("criterion").cloned().unwrap_or_default();
    let unit = q.get("unit").cloned().filter(|u| !u.trim().is_empty());
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (c, u) = (criterion.clone(), unit.clone());
    let items = state
        .blocking(move |store| {
            eid_core::linkage::quality::worklist(store, &acting, &c, u.as_deref(), 500)
                .map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let key = CRITERIA
        .iter()
        .find(|k| **k == criterion)
        .copied()
        .unwrap_or("correct");
    let scope = unit
        .as_deref()
        .and_then(|u| UnitCode::parse(u).ok())
        .unwrap_or_else(|| user.caller.unit());
    let rows = items
        .iter()
        .map(|i| {
            let commune = UnitCode::commune((i.res_path % 100_000) as u32).ok();
            WorkRow {
                personal_id: i.personal_id.clone(),
                unit: commune.map(|c| unit_name(&c)).unwrap_or_default(),
                why: i
                    .why
                    .split(',')
                    .map(|w| match lang.t(&format!("link.why.{w}")) {
                        "??" => lang.t(&format!("link.gap.{w}")).to_owned(),
                        t => t.to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                href: match (i.proposal_id, i.result_id) {
                    (Some(p), _) => Some(format!("/linkage/proposals/{p}")),
                    (None, Some(r)) => Some(format!("/linkage/{r}")),
                    _ => None,
                },
            }
        })
        .collect();
    let page = WorklistPage {
        page: PageCtx::new(lang, Some(&user), "linkage", &here(&uri)),
        criterion: lang.t(&format!("link.q.{key}")),
        how: lang.t(&format!("link.q.{key}.how")),
        back: format!("/linkage/quality?unit={}", percent_encode(scope.as_str())),
        scope: unit_name(&scope),
        rows,
    };
    render(&page)
}

/// `POST /linkage/dedupe`: runs the register against itself (national staff).
pub async fn dedupe(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| {
            eid_core::linkage::dedupe::run_as(
                store,
                &acting,
                &eid_core::linkage::Thresholds::default(),
            )
            .map_err(Into::into)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(Redirect::to("/linkage/quality?done=dedupe").into_response())
}

/// What the register's person page shows of linkage: the sources that confirmed the person,
/// their findings (sector rows, proposals, missing fields) and merges.
pub struct PersonLink {
    /// (source, day).
    pub verified: Vec<(String, String)>,
    /// (result id, source, outcome label).
    pub results: Vec<(i64, String, &'static str)>,
    /// (proposal id, kind label, state label).
    pub proposals: Vec<(i64, &'static str, &'static str)>,
    pub gaps: Vec<&'static str>,
    pub merged_into: Option<String>,
    pub merged_from: Vec<String>,
}

impl PersonLink {
    pub fn is_empty(&self) -> bool {
        self.verified.is_empty()
            && self.results.is_empty()
            && self.proposals.is_empty()
            && self.gaps.is_empty()
            && self.merged_into.is_none()
            && self.merged_from.is_empty()
    }
}

/// The person page's linkage block, for a person the page has already read (in scope and
/// audited there); `None` when it cannot be read (the page shows without it).
pub async fn person_block(
    state: &AppState,
    lang: Lang,
    id: eid_domain::PersonalId,
) -> Option<PersonLink> {
    let f = state
        .blocking(move |store| {
            eid_core::linkage::quality::findings_of(store, &id).map_err(Into::into)
        })
        .await
        .ok()?;
    Some(PersonLink {
        verified: f
            .verified
            .iter()
            .map(|(s, d)| (s.clone(), day_label(lang, *d)))
            .collect(),
        results: f
            .results
            .iter()
            .map(|r| {
                (
                    r.id,
                    r.source.clone(),
                    lang.t(&format!("link.outcome.{}", r.outcome.as_str())),
                )
            })
            .collect(),
        proposals: f
            .proposals
            .iter()
            .map(|p| {
                (
                    p.id,
                    lang.t(&format!("link.prop.kind.{}", p.kind)),
                    lang.t(&format!("link.prop.state.{}", p.state)),
                )
            })
            .collect(),
        gaps: f
            .gaps
            .iter()
            .map(|g| lang.t(&format!("link.gap.{g}")))
            .collect(),
        merged_into: f.merged_into.map(|(s, _)| s),
        merged_from: f.merged_from.into_iter().map(|(d, _)| d).collect(),
    })
}
