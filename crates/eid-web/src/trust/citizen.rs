//! The citizen's pages: `/me/data-use` (who used my data, with inclusion proofs and "report
//! misuse") and `/me/verify-officer` (check an officer's code; signed in or not).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eid_core::officer_code::{self, Check};
use eid_core::transparency::{self, checkpoint, reports, Entry};

use crate::citizen::{field, guard, render, see_other, Citizen, MaybeCitizen, MeError, MePage};
use crate::console::i18n::Lang;
use crate::limits::Kind;
use crate::state::AppState;

/// One entry as the citizen sees it.
pub struct UseRow {
    pub seq: u64,
    pub who: String,
    pub kind: &'static str,
    pub what: String,
    pub purpose: String,
    pub when: String,
    /// "In checkpoint N (verified)" or "not yet in a checkpoint".
    pub proof: String,
    /// The report's state and answer, when reported.
    pub report: String,
    pub may_report: bool,
}

#[derive(Template)]
#[template(path = "trust_data_use.html")]
pub struct DataUsePage {
    pub page: MePage,
    pub rows: Vec<UseRow>,
    pub page_no: u32,
    pub more: bool,
    pub done: &'static str,
    pub checkpoint: String,
    /// A recovery of this account waiting out its lock, with a cancel button.
    pub banner: String,
}

/// A time as the citizen's pages show it: dd/mm/yyyy hh:mm in Vietnam.
pub fn when(t: time::OffsetDateTime) -> String {
    let v = t.to_offset(crate::state::vietnam());
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        v.day(),
        u8::from(v.month()),
        v.year(),
        v.hour(),
        v.minute()
    )
}

pub fn unit_label(code: &str) -> String {
    eid_domain::UnitCode::parse(code)
        .ok()
        .and_then(|c| {
            eid_domain::Units::get()
                .unit(eid_domain::Tree::Gso2024, &c)
                .map(|u| u.name.clone())
        })
        .unwrap_or_else(|| code.to_owned())
}

fn who(lang: Lang, e: &Entry) -> String {
    match e.who_kind.as_str() {
        "staff" => {
            let role = e.who_role.as_deref().unwrap_or("");
            let role = match lang.t(&format!("trust.role.{role}")) {
                "??" => lang.t("trust.role.other"),
                t => t,
            };
            let unit = match e.who_unit.as_deref() {
                Some(u) if u.trim_start_matches('0').is_empty() => {
                    lang.t("trust.unit.nation").to_owned()
                }
                Some(u) => unit_label(u),
                None => String::new(),
            };
            format!("{role} · {unit}")
        }
        _ => e.who_name.clone(),
    }
}

/// What was read, in the citizen's words: the whole value's translation, else each word's.
fn what(lang: Lang, w: &str) -> String {
    let key = |k: &str| format!("trust.what.{}", k.replace(' ', "_"));
    match lang.t(&key(w)) {
        "??" => w
            .split_whitespace()
            .map(|x| match lang.t(&key(x)) {
                "??" => x.to_owned(),
                t => t.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        t => t.to_owned(),
    }
}

fn purpose(lang: Lang, p: &str) -> String {
    match lang.t(&format!("trust.purpose.{p}")) {
        "??" => p.to_owned(),
        t => t.to_owned(),
    }
}

fn outcome_words(lang: Lang, r: &reports::Report) -> String {
    if r.open {
        return lang.t("trust.report.open").to_owned();
    }
    let outcome = r.outcome.as_deref().unwrap_or("");
    format!(
        "{}: {} — {}",
        lang.t("trust.report.answered"),
        lang.t(&format!("trust.outcome.{outcome}")),
        r.answer.as_deref().unwrap_or("")
    )
}

/// `GET /me/data-use?page=N`
pub async fn data_use(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, Some(&s), "data-use", "/me/data-use");
    let lang = page.lang;
    let page_no = q
        .get("page")
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0)
        .min(10_000);
    // A failed signing (no key file) leaves the page readable, without the newest checkpoint.
    let own = Some(s.personal_id.as_str().to_owned());
    if let Err(e) = super::refresh_checkpoint(&state, own).await {
        tracing::warn!(error = ?e, "transparency: no checkpoint signed");
    }
    let pid = s.personal_id.as_str().to_owned();
    let (entries, more, proofs, mine, latest) = state
        .blocking(move |store| {
            let (entries, more) = transparency::entries_for(store, &pid, page_no)?;
            let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
            let proofs = checkpoint::inclusions(store, &seqs)?;
            let mine = reports::for_person(store, &pid)?;
            let latest = checkpoint::latest(store)?;
            Ok((entries, more, proofs, mine, latest))
        })
        .await
        .map_err(|e| MeError::lang(e, lang))?;
    let rows = entries
        .iter()
        .zip(proofs.iter())
        .map(|(e, p)| {
            let report = mine.iter().find(|r| r.seq == e.seq);
            UseRow {
                seq: e.seq,
                who: who(lang, e),
                kind: lang.t(&format!("trust.kind.{}", e.who_kind)),
                what: what(lang, &e.what),
                purpose: purpose(lang, &e.purpose),
                when: when(e.at),
                proof: match p {
                    Some(inc) if inc.verifies() => format!(
                        "{} {} ✓",
                        lang.t("trust.use.included"),
                        crate::ui::format::num(lang, inc.checkpoint.size)
                    ),
                    Some(_) => lang.t("trust.use.proof_failed").to_owned(),
                    None => lang.t("trust.use.pending").to_owned(),
                },
                report: report.map(|r| outcome_words(lang, r)).unwrap_or_default(),
                may_report: report.is_none_or(|r| !r.open),
            }
        })
        .collect();
    let checkpoint = match latest {
        Some(cp) => format!(
            "{} {} · {}",
            lang.t("trust.use.checkpoint_size"),
            crate::ui::format::num(lang, cp.size),
            when(cp.signed_at)
        ),
        None => lang.t("trust.use.no_checkpoint").to_owned(),
    };
    let done = if q.contains_key("reported") {
        lang.t("trust.use.reported")
    } else {
        ""
    };
    let banner = super::recover::banner(&state, lang, Some(&s)).await;
    render(
        &DataUsePage {
            banner,
            page,
            rows,
            page_no,
            more,
            done,
            checkpoint,
        },
        StatusCode::OK,
    )
}

/// `POST /me/data-use/report`
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Citizen(s): Citizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    guard(&state, &headers, &extensions, &f, &[]).map_err(|e| MeError::lang(e, lang))?;
    let seq: u64 = field(&f, "seq").parse().map_err(|_| {
        MeError::lang(
            crate::error::AppError::bad("data_use.seq", "no such entry"),
            lang,
        )
    })?;
    let note = field(&f, "note").to_owned();
    let pid = s.personal_id.as_str().to_owned();
    let now = state.now();
    state
        .blocking(move |store| Ok(reports::open(store, &pid, seq, &note, now)?))
        .await
        .map_err(|e| MeError::lang(e, lang))?;
    Ok(see_other(&format!("/me/data-use?reported=1#use-{seq}")))
}

#[derive(Template)]
#[template(path = "trust_verify_officer.html")]
pub struct OfficerPage {
    pub page: MePage,
    pub code: String,
    pub result: String,
    pub valid: bool,
}

/// `GET /me/verify-officer?code=…` (the officer's QR opens this with the code filled in).
pub async fn officer_form(
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let code: String = q
        .get("code")
        .map(|c| officer_code::normalise(c))
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    render(
        &OfficerPage {
            page: MePage::new(&headers, s.as_ref(), "verify-officer", "/me/verify-officer"),
            code,
            result: String::new(),
            valid: false,
        },
        StatusCode::OK,
    )
}

/// `POST /me/verify-officer`
pub async fn officer_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    MaybeCitizen(s): MaybeCitizen,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let page = MePage::new(&headers, s.as_ref(), "verify-officer", "/me/verify-officer");
    let lang = page.lang;
    guard(&state, &headers, &extensions, &f, &[Kind::Secret])
        .map_err(|e| MeError::lang(e, lang))?;
    let source = state
        .sources
        .source(crate::auth::client_ip(&extensions), &headers)
        .to_string();
    let code = field(&f, "code").to_owned();
    let unit = field(&f, "unit").to_owned();
    let now = state.now();
    let answer = state
        .blocking(move |store| {
            let unit = (!unit.is_empty()).then_some(unit.as_str());
            Ok(officer_code::check(store, &code, unit, &source, now)?)
        })
        .await
        .map_err(|e| MeError::lang(e, lang))?;
    let (result, valid, status) = match answer {
        Check::Valid { unit_name, .. } => (
            format!(
                "{} {}, {}",
                lang.t("trust.officer.valid"),
                unit_name,
                lang.t("trust.officer.on_duty")
            ),
            true,
            StatusCode::OK,
        ),
        Check::NotValid => (
            lang.t("trust.officer.invalid").to_owned(),
            false,
            StatusCode::OK,
        ),
        Check::Limited(until) => (
            format!("{} {}", lang.t("trust.officer.limited"), when(until)),
            false,
            StatusCode::TOO_MANY_REQUESTS,
        ),
    };
    render(
        &OfficerPage {
            page,
            code: String::new(),
            result,
            valid,
        },
        status,
    )
}
