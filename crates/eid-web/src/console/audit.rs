//! The audit trail for auditors and the ministry: filtered by actor, action, target and a
//! range of days (dd/mm/yyyy), paged 100 entries at a time (`?before=<seq>`), exported as CSV
//! with the same filter. Actors show as name and username, actions and outcomes translated
//! (with the action's code, which the filter takes). The read is the core's
//! `eid_core::audit_log::audit_search`, audited as `audit.read`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use eid_core::audit_log::{audit_search, AuditFilter, MAX_EXPORT};
use eid_core::ops::parse_day_text;
use eid_core::store::AuditEntry;
use eid_core::Acting;
use time::Date;

use crate::console::actors::Names;
use crate::console::i18n::Lang;
use crate::console::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::error::{request_id, AppError};
use crate::register::console::{here, local};
use crate::state::AppState;
use crate::ui::form::label;
use crate::ui::format::day_label;

/// Entries on one page.
const PAGE: u32 = 100;

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub action_code: String,
    pub target: String,
    pub outcome: String,
    pub outcome_code: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: PageCtx,
    rows: Vec<AuditRow>,
    actor: String,
    action: String,
    target: String,
    from: String,
    to: String,
    error: String,
    /// The query of this filter, without the page (for the CSV link and the next page).
    query: String,
    next: Option<i64>,
    paged: bool,
}

/// The filter of the request, and the days as typed (to show them back).
fn filter(
    q: &HashMap<String, String>,
    limit: u32,
) -> Result<(AuditFilter, String, String), &'static str> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let day = |k: &str| -> Result<Option<Date>, &'static str> {
        let raw = get(k);
        if raw.is_empty() {
            return Ok(None);
        }
        parse_day_text(&raw).map(Some).ok_or("audit.bad_day")
    };
    let f = AuditFilter {
        actor: get("actor"),
        action: get("action"),
        target: get("target"),
        from: day("from")?,
        to: day("to")?,
        before_seq: get("before").parse().ok(),
        limit,
    };
    Ok((f, get("from"), get("to")))
}

fn encode_query(lang: Lang, f: &AuditFilter) -> String {
    let enc = crate::citizen::session::encode;
    let mut parts = Vec::new();
    for (k, v) in [
        ("actor", &f.actor),
        ("action", &f.action),
        ("target", &f.target),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    for (k, d) in [("from", f.from), ("to", f.to)] {
        if let Some(d) = d {
            parts.push(format!("{k}={}", enc(&day_label(lang, d))));
        }
    }
    parts.join("&")
}

async fn search(
    state: &AppState,
    user: &ConsoleUser,
    f: AuditFilter,
) -> Result<(Vec<AuditEntry>, Names), ConsoleError> {
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    state
        .blocking(move |store| {
            let entries = audit_search(store, &acting, &f)?;
            let names = Names::load(store, entries.iter().map(|e| &e.actor))?;
            Ok((entries, names))
        })
        .await
        .map_err(|e: AppError| ConsoleError(e, lang))
}

fn row(lang: Lang, names: &Names, a: &AuditEntry) -> AuditRow {
    AuditRow {
        at: local(a.at),
        actor: names.label(lang, &a.actor),
        action: match lang.t(&format!("audit.act.{}", a.action)) {
            "??" => String::new(),
            t => t.to_owned(),
        },
        action_code: a.action.clone(),
        target: a.target.clone(),
        outcome: label(lang, "audit.outcome", &a.outcome),
        outcome_code: a.outcome.clone(),
        request_id: a.request_id.clone(),
    }
}

/// `GET /audit?actor=&action=&target=&from=&to=&before=`: one page of the trail.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (f, from, to, error) = match filter(&q, PAGE + 1) {
        Ok((f, from, to)) => (f, from, to, String::new()),
        Err(key) => (
            AuditFilter {
                limit: PAGE + 1,
                ..Default::default()
            },
            get("from"),
            get("to"),
            lang.t(key).to_owned(),
        ),
    };
    let paged = f.before_seq.is_some();
    let query = encode_query(lang, &f);
    let shown = (f.actor.clone(), f.action.clone(), f.target.clone());
    let (mut entries, names) = match search(&state, &user, f).await {
        Ok(r) => r,
        Err(ConsoleError(AppError::BadRequest { .. }, _)) => (Vec::new(), Names::default()),
        Err(e) => return Err(e),
    };
    let next = if entries.len() > PAGE as usize {
        entries.truncate(PAGE as usize);
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    let error = if error.is_empty() && !from.is_empty() && !to.is_empty() {
        match (parse_day_text(&from), parse_day_text(&to)) {
            (Some(a), Some(b)) if b < a => lang.t("audit.bad_range").to_owned(),
            _ => error,
        }
    } else {
        error
    };
    let page = AuditPage {
        page: PageCtx::new(lang, Some(&user), "audit", &here(&uri)),
        rows: entries.iter().map(|a| row(lang, &names, a)).collect(),
        actor: shown.0,
        action: shown.1,
        target: shown.2,
        from,
        to,
        error,
        query,
        next,
        paged,
    };
    render(&page)
}

/// Quotes a CSV field when it needs it, and defuses a leading formula character.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /audit.csv?…`: every entry of the filter (up to 50,000), UTF-8 with a BOM, dates
/// dd/mm/yyyy hh:mm, actors by name with the stored actor beside for machines.
pub async fn csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let (f, _, _) = filter(&q, MAX_EXPORT).map_err(|key| {
        ConsoleError(
            AppError::BadRequest {
                code: key,
                message: lang.t(key).to_owned(),
            },
            lang,
        )
    })?;
    let (entries, names) = search(&state, &user, f).await?;
    let mut out = String::from("\u{feff}");
    let head = [
        "audit.time",
        "audit.actor",
        "audit.actor_code",
        "audit.action",
        "audit.action_code",
        "audit.target",
        "audit.outcome",
        "audit.request",
    ];
    out.push_str(
        &head
            .iter()
            .map(|k| csv_field(lang.t(k)))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    for a in &entries {
        let r = row(lang, &names, a);
        let fields = [
            r.at,
            r.actor,
            a.actor.to_db(),
            r.action,
            r.action_code,
            r.target,
            r.outcome,
            r.request_id,
        ];
        out.push_str(
            &fields
                .iter()
                .map(|s| csv_field(s))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"nhat-ky-truy-cap.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(csv_field("062166132820"), "062166132820");
    }

    #[test]
    fn days_are_read_as_dd_mm_yyyy_and_a_bad_one_is_refused() {
        let q: HashMap<String, String> = [("from", "01/12/2026"), ("to", "2026-12-04")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let Ok((f, _, _)) = filter(&q, 10) else {
            unreachable!("a good filter")
        };
        assert_eq!(f.from.map(|d| d.day()), Some(1));
        assert_eq!(f.to.map(|d| d.day()), Some(4));
        assert_eq!(
            encode_query(Lang::Vi, &f),
            "from=01%2F12%2F2026&to=04%2F12%2F2026"
        );
        let bad: HashMap<String, String> = [("from".to_owned(), "32/13/2026".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(filter(&bad, 10).err(), Some("audit.bad_day"));
    }
}
