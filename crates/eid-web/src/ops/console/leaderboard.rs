//! The emulation leaderboard of the units below a quota.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use eid_domain::campaign;

use super::{as_of_param, console, metric_label, quota_id, tabs, unit_label};
use crate::console::pages::here;
use crate::console::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::Tab;
use crate::ui::format::{fixed, pct_f};

/// One unit of the emulation leaderboard.
pub struct BoardRow {
    pub rank: usize,
    pub unit: String,
    pub percent: String,
    pub quota_points: String,
    pub report_points: String,
    pub score: String,
}

#[derive(Template)]
#[template(path = "ops_leaderboard.html")]
struct LeaderboardPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    id: i64,
    metric: String,
    unit: String,
    rule: String,
    rows: Vec<BoardRow>,
}

/// `GET /ops/quotas/{id}/leaderboard`
pub async fn leaderboard(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = quota_id(&id, lang)?;
    let as_of = as_of_param(&state, &q).map_err(console(lang))?;
    let quota = svc::quota(&state, &user.caller, id)
        .await
        .map_err(console(lang))?;
    let board = svc::leaderboard(&state, &user.caller, id, as_of)
        .await
        .map_err(console(lang))?;
    let rule = format!(
        "{} {} {} {} {} {} {}",
        lang.t("ops.board.rule_a"),
        fixed(lang, campaign::QUOTA_POINTS_CAP, 0),
        lang.t("ops.board.rule_b"),
        fixed(lang, campaign::ON_TIME_POINTS, 0),
        lang.t("ops.board.rule_c"),
        fixed(lang, campaign::LATE_POINTS, 0),
        lang.t("ops.board.rule_d"),
    );
    render(&LeaderboardPage {
        page: PageCtx::new(lang, Some(&user), "ops", &here(&uri)),
        tabs: tabs(lang, "dashboard"),
        id,
        metric: metric_label(lang, quota.metric.as_str()),
        unit: unit_label(&quota.unit),
        rule,
        rows: board
            .iter()
            .map(|(u, percent, score, rank)| {
                let qp = if percent.is_nan() {
                    0.0
                } else {
                    percent.clamp(0.0, campaign::QUOTA_POINTS_CAP)
                };
                BoardRow {
                    rank: *rank,
                    unit: unit_label(u),
                    percent: pct_f(lang, *percent),
                    quota_points: fixed(lang, qp, 2),
                    report_points: fixed(lang, (score - qp).max(0.0), 0),
                    score: fixed(lang, *score, 2),
                }
            })
            .collect(),
    })
}
