//! The Project 06 operations console: the unit's dashboard (a card per quota with its progress,
//! forecast and status, the ranking of the units below, late and missing reports, the campaign
//! in progress), a quota's page (the chart of cumulative progress against the required line,
//! the children and whether they add up, capacity, the history of changes, the forms to change
//! and split it), the emulation leaderboard, outreach lists with assignment, contact outcomes
//! and exports (CSV, XLSX, a printable list), proposed register changes, periodic reports and
//! peak campaigns — a file per page family; this module routes them and holds what they share.
//!
//! Every read and write goes through [`crate::ops_api::svc`], the functions the JSON API calls,
//! so the scope checks and audit entries are the same whichever door an officer uses. Charts
//! are SVG drawn on the server ([`crate::ui::chart`]); numbers are formatted as the language
//! writes them ([`crate::ui::format`]); percentages of a quota come from
//! [`campaign::percent_fixed`], so they are the exact figures the API returns.

mod campaigns;
mod cohorts;
mod dashboard;
mod leaderboard;
mod outreach;
mod proposals;
mod quota;
mod reported;
mod reports;
mod sort;
mod units;

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use eid_core::accounts::day_number;
use eid_core::ops::service::may_see_quota;
use eid_core::ops::{self, QuotaProgress};
use eid_domain::campaign::{self, Ranked, Status, Timeliness};
use eid_domain::{Tree, UnitCode, Units};
use time::Date;

use crate::console::i18n::Lang;
use crate::console::ConsoleError;
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{self, label, Opt, Tab};
use crate::ui::format::{day_label, fixed, num, pct, pct_f, short_day};

/// What the outcome notices may say (`?done=`), each a translation key `ops.done.<value>`.
const DONE: &[&str] = &[
    "quota_set",
    "target",
    "split",
    "assigned",
    "contact",
    "contact_proposal",
    "confirmed",
    "dismissed",
    "report",
    "schedule",
    "campaign",
    "reported_created",
    "reported_corrected",
    "reported_unchanged",
    "cohort_created",
];

/// The operations pages' routes, merged into the console's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops", get(dashboard::dashboard))
        .route("/ops/quotas", post(dashboard::quota_add))
        .route("/ops/quotas/{id}", get(quota::quota))
        .route("/ops/units", get(units::units))
        .route("/ops/quotas/{id}/target", post(quota::quota_target))
        .route("/ops/quotas/{id}/split", post(quota::quota_split))
        .route(
            "/ops/quotas/{id}/leaderboard",
            get(leaderboard::leaderboard),
        )
        .route("/ops/outreach", get(outreach::outreach))
        .route("/ops/outreach.csv", get(outreach::outreach_csv))
        .route("/ops/outreach.xlsx", get(outreach::outreach_xlsx))
        .route("/ops/outreach/print", get(outreach::outreach_print))
        .route("/ops/outreach/assign", post(outreach::outreach_assign))
        .route("/ops/outreach/contact", post(outreach::outreach_contact))
        .route("/ops/proposals", get(proposals::proposals))
        .route("/ops/proposals/{id}", post(proposals::proposal_decide))
        .route("/ops/reports", get(reports::reports))
        .route("/ops/reports/schedules", post(reports::schedule_add))
        .route("/ops/reports/{id}/submit", post(reports::report_submit))
        .route(
            "/ops/reported",
            get(reported::reported).post(reported::reported_enter),
        )
        .route(
            "/ops/reported/import",
            post(reported::reported_import).layer(axum::extract::DefaultBodyLimit::max(
                crate::ops::IMPORT_LIMIT,
            )),
        )
        .route(
            "/ops/reported/{id}",
            get(reported::figure).post(reported::figure_correct),
        )
        .route(
            "/ops/cohorts",
            get(cohorts::cohorts).post(cohorts::cohort_add),
        )
        .route("/ops/cohorts/{id}", get(cohorts::cohort))
        .route(
            "/ops/cohorts/{id}/members",
            post(cohorts::cohort_members).layer(axum::extract::DefaultBodyLimit::max(
                crate::ops::IMPORT_LIMIT,
            )),
        )
        .route("/ops/share", get(cohorts::share).post(cohorts::share_save))
        .route(
            "/ops/campaigns",
            get(campaigns::campaigns).post(campaigns::campaign_add),
        )
}

fn metric_label(lang: Lang, metric: &str) -> String {
    label(lang, "ops.metric", metric)
}

fn status_label(lang: Lang, s: Status) -> &'static str {
    lang.t(&format!("ops.status.{}", s.as_str()))
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Met => "st-met",
        Status::OnTrack => "st-on_track",
        Status::AtRisk => "st-at_risk",
        Status::Behind => "st-behind",
        Status::BeyondCapacity => "st-beyond_capacity",
        Status::Missed => "st-missed",
        Status::TooEarly => "st-too_early",
        Status::NotStarted => "st-not_started",
    }
}

/// `text` with each `{name}` replaced by its value.
fn fill(text: &str, values: &[(&str, String)]) -> String {
    values.iter().fold(text.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

/// The required daily rate as shown: one decimal, rounded up (the page says so), or "—".
fn required_label(lang: Lang, pr: &campaign::Progress) -> String {
    campaign::required_daily_tenths(pr.remaining, pr.days_left)
        .map_or_else(|| "—".to_owned(), |t| fixed(lang, t as f64 / 10.0, 1))
}

/// The forecast date as shown, with its class: none once closed or on the first day.
fn forecast_label(lang: Lang, p: &QuotaProgress) -> (String, &'static str) {
    let pr = &p.progress;
    match (pr.status, pr.forecast_met_on) {
        (Status::Missed, _) => (lang.t("ops.fig.closed").to_owned(), "bad"),
        (Status::NotStarted, _) => ("—".to_owned(), ""),
        (Status::TooEarly, _) => ("—".to_owned(), ""),
        (_, Some(d)) if pr.remaining == 0 => (day_label(lang, d), "date"),
        (_, Some(d)) => (
            day_label(lang, d),
            if d > p.quota.deadline {
                "date bad"
            } else {
                "date"
            },
        ),
        (_, None) => (lang.t("ops.fig.never").to_owned(), "bad"),
    }
}

/// What the page says about the as-of day against the quota's period (before its start,
/// after its deadline, its first day), or nothing.
fn period_note(lang: Lang, p: &QuotaProgress, as_of: Date) -> String {
    let q = &p.quota;
    match p.period {
        ops::Period::Before => fill(
            lang.t("ops.period.before"),
            &[
                ("as_of", day_label(lang, as_of)),
                ("start", day_label(lang, q.start)),
            ],
        ),
        ops::Period::After => fill(
            lang.t("ops.period.after"),
            &[("deadline", day_label(lang, q.deadline))],
        ),
        ops::Period::During if as_of == q.start => lang.t("ops.period.first_day").to_owned(),
        ops::Period::During => String::new(),
    }
}

/// Why a quota is beyond capacity, or nothing.
fn capacity_reason(lang: Lang, p: &QuotaProgress, cap: &ops::Capacity) -> String {
    if p.progress.status != Status::BeyondCapacity {
        return String::new();
    }
    fill(
        lang.t("ops.cap.reason"),
        &[
            ("per_day", num(lang, cap.per_day)),
            ("remaining", num(lang, p.progress.remaining)),
            (
                "needed",
                cap.days_needed
                    .map_or_else(|| "—".to_owned(), |n| num(lang, n)),
            ),
            ("days", num(lang, cap.days_left.max(0).unsigned_abs())),
        ],
    )
}

fn timeliness_class(t: Timeliness) -> &'static str {
    match t {
        Timeliness::OnTime => "ok",
        Timeliness::Late => "warn",
        Timeliness::Missing => "bad",
        Timeliness::NotDueYet => "plain",
    }
}

/// A unit as "name (code)".
fn unit_label(code: &UnitCode) -> String {
    format!("{} ({})", svc::unit_name(code), code.as_str())
}

// ----------------------------------------------------------------------------------------------
// Shared pieces

fn tabs(lang: Lang, active: &str) -> Vec<Tab> {
    form::tabs(
        lang,
        active,
        &[
            ("dashboard", "/ops", "ops.tab.dashboard"),
            ("units", "/ops/units", "ops.tab.units"),
            ("outreach", "/ops/outreach", "ops.tab.outreach"),
            ("proposals", "/ops/proposals", "ops.tab.proposals"),
            ("reports", "/ops/reports", "ops.tab.reports"),
            ("campaigns", "/ops/campaigns", "ops.tab.campaigns"),
            ("reported", "/ops/reported", "ops.tab.reported"),
            ("cohorts", "/ops/cohorts", "ops.tab.cohorts"),
        ],
    )
}

fn console(lang: Lang) -> impl Fn(AppError) -> ConsoleError {
    move |e| ConsoleError(e, lang)
}

fn metric_options(lang: Lang, selected: &str) -> Vec<Opt> {
    campaign::Metric::ALL
        .iter()
        .map(|m| Opt {
            value: m.as_str().to_owned(),
            label: metric_label(lang, m.as_str()),
            selected: m.as_str() == selected,
        })
        .collect()
}

/// The units directly below `unit` (and the unit itself first when `with_self`), for selects.
fn unit_options(unit: &UnitCode, with_self: bool, selected: &str) -> Vec<Opt> {
    let units = Units::get();
    let mut out = Vec::new();
    if with_self {
        out.push(Opt {
            value: unit.as_str().to_owned(),
            label: unit_label(unit),
            selected: unit.as_str() == selected,
        });
    }
    for u in units.children(Tree::Gso2024, unit) {
        out.push(Opt {
            value: u.code.as_str().to_owned(),
            label: format!("{} ({})", u.name, u.code.as_str()),
            selected: u.code.as_str() == selected,
        });
    }
    out
}

/// One figure of a quota: a label, the value, and an optional hint under it.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    pub hint: String,
    /// `bad` when the figure is a warning (the forecast misses the deadline …).
    pub class: &'static str,
}

fn figure(label: &'static str, value: String, hint: String, class: &'static str) -> Figure {
    Figure {
        label,
        value,
        hint,
        class,
    }
}

/// The figures the console shows for every quota.
fn figures(lang: Lang, p: &QuotaProgress) -> Vec<Figure> {
    let q = &p.quota;
    let pr = &p.progress;
    let t = |k: &'static str| lang.t(k);
    let required_hint = match pr.required_daily {
        None => t("ops.fig.required_none").to_owned(),
        Some(_) => t("ops.fig.required_rule").to_owned(),
    };
    let (forecast, forecast_class) = forecast_label(lang, p);
    let judged = !matches!(
        pr.status,
        Status::Missed | Status::TooEarly | Status::NotStarted
    );
    vec![
        figure(t("ops.fig.target"), num(lang, q.target), String::new(), ""),
        figure(t("ops.fig.done"), num(lang, p.done), String::new(), ""),
        figure(
            t("ops.fig.remaining"),
            num(lang, pr.remaining),
            String::new(),
            "",
        ),
        figure(
            t("ops.fig.days_left"),
            num(lang, pr.days_left.max(0).unsigned_abs()),
            format!("{} {}", t("ops.fig.until"), day_label(lang, q.deadline)),
            "",
        ),
        figure(
            t("ops.fig.required"),
            required_label(lang, pr),
            required_hint,
            if pr.required_daily.is_some_and(|r| r > pr.rate_7d) {
                "bad"
            } else {
                ""
            },
        ),
        figure(
            t("ops.fig.rate_recent"),
            fixed(lang, pr.rate_7d, 1),
            fill(t("ops.fig.rate_over"), &[("n", pr.rate_days.to_string())]),
            "",
        ),
        figure(
            t("ops.fig.forecast_on"),
            forecast,
            if pr.status == Status::TooEarly {
                t("ops.fig.first_day").to_owned()
            } else {
                t("ops.fig.at_rate").to_owned()
            },
            forecast_class,
        ),
        figure(
            t("ops.fig.forecast_pct"),
            if judged {
                pct_f(lang, pr.forecast_percent_at_deadline)
            } else {
                "—".to_owned()
            },
            format!("{} {}", t("ops.fig.on"), day_label(lang, q.deadline)),
            if judged && pr.forecast_percent_at_deadline < 100.0 {
                "bad"
            } else {
                ""
            },
        ),
    ]
}

/// The warning shown when children's quotas do not add up to their parent's, or empty.
fn mismatch(lang: Lang, p: &QuotaProgress) -> String {
    let Some(sum) = p.children_sum else {
        return String::new();
    };
    let check = campaign::check_split(p.quota.target, &[sum]);
    if check.matches {
        return String::new();
    }
    let diff = check.difference.unsigned_abs();
    let diff = u64::try_from(diff).unwrap_or(u64::MAX);
    format!(
        "{} {} {} {} ({} {}).",
        lang.t("ops.split.mismatch_a"),
        num(lang, sum),
        lang.t("ops.split.mismatch_b"),
        num(lang, p.quota.target),
        lang.t(if check.difference > 0 {
            "ops.split.over"
        } else {
            "ops.split.under"
        }),
        num(lang, diff),
    )
}

/// A horizontal bar of the % done, with a mark where the straight required line is today.
fn bar_svg(p: &QuotaProgress, as_of: Date) -> String {
    let q = &p.quota;
    let done = (p.progress.percent.clamp(0.0, 100.0) * 10.0).round() / 10.0;
    let span = (day_number(q.deadline) - day_number(q.start)).max(1) as f64;
    let elapsed = ((day_number(as_of) - day_number(q.start)) as f64 / span).clamp(0.0, 1.0);
    let plan = (elapsed * 1000.0).round() / 10.0;
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" aria-hidden=\"true\">\
         <rect class=\"bar-bg\" x=\"0\" y=\"0\" width=\"100\" height=\"10\"/>\
         <rect class=\"bar-fill {}\" x=\"0\" y=\"0\" width=\"{done}\" height=\"10\"/>\
         <line class=\"bar-plan\" x1=\"{plan}\" y1=\"0\" x2=\"{plan}\" y2=\"10\"/></svg>",
        status_class(p.progress.status)
    )
}

// ----------------------------------------------------------------------------------------------
// Rankings

/// One unit of a ranking.
pub struct RankRow {
    pub rank: usize,
    pub change: String,
    pub change_class: &'static str,
    pub change_title: String,
    pub unit: String,
    pub href: String,
    pub done: String,
    pub target: String,
    pub percent: String,
    pub pp: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// The child's required daily rate, days left and forecast date ("" without a quota).
    pub required: String,
    pub days_left: String,
    pub forecast: String,
    pub forecast_class: &'static str,
    /// What the row sorts by.
    pub raw: sort::Raw,
}

/// The ranking's rows; a unit links to its quota only when the viewer may open it (a commune
/// officer sees the district's ranking, not the other communes' quotas).
fn rank_rows(
    lang: Lang,
    caller: &crate::auth::Caller,
    ranking: &[Ranked<UnitCode>],
    children: &[QuotaProgress],
) -> Vec<RankRow> {
    ranking
        .iter()
        .map(|r| {
            let child = children.iter().find(|c| c.quota.unit == r.key);
            let (change, class) = match r.rank_change {
                0 => ("–".to_owned(), "same"),
                n if n > 0 => (format!("▲\u{a0}{n}"), "up"),
                n => (format!("▼\u{a0}{}", n.unsigned_abs()), "down"),
            };
            let mut raw = child.map_or_else(
                || sort::Raw {
                    unit: svc::unit_name(&r.key),
                    done: r.done_today as f64,
                    target: r.target as f64,
                    percent: sort::percent(r.done_today, r.target),
                    ..sort::Raw::default()
                },
                |c| sort::Raw::of(svc::unit_name(&r.key), r.done_today, r.target, &c.progress),
            );
            raw.rank = Some(r.rank_today as f64);
            raw.change = Some(r.rank_change as f64);
            raw.pp = Some(r.percent_change);
            RankRow {
                raw,
                rank: r.rank_today,
                change,
                change_class: class,
                change_title: format!("{} {}", lang.t("ops.rank.yesterday"), r.rank_yesterday),
                unit: svc::unit_name(&r.key),
                href: child
                    .filter(|c| may_see_quota(caller, &c.quota))
                    .map_or_else(String::new, |c| format!("/ops/quotas/{}", c.quota.id)),
                done: num(lang, r.done_today),
                target: num(lang, r.target),
                percent: pct(lang, r.done_today, r.target),
                pp: format!(
                    "{}{}",
                    if r.percent_change >= 0.0 { "+" } else { "−" },
                    fixed(lang, r.percent_change.abs(), 2)
                ),
                status: child.map_or("", |c| status_label(lang, c.progress.status)),
                status_class: child.map_or("", |c| status_class(c.progress.status)),
                required: child.map_or_else(String::new, |c| required_label(lang, &c.progress)),
                days_left: child.map_or_else(String::new, |c| {
                    num(lang, c.progress.days_left.max(0).unsigned_abs())
                }),
                forecast: child.map_or_else(String::new, |c| forecast_label(lang, c).0),
                forecast_class: child.map_or("", |c| forecast_label(lang, c).1),
            }
        })
        .collect()
}

/// A peak campaign as shown.
pub struct CampaignView {
    pub name: String,
    pub slogan: String,
    pub unit: String,
    pub dates: String,
    pub day: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub before: String,
    pub during: String,
    pub change: String,
    pub change_class: &'static str,
}

fn period_label(p: campaign::Period) -> String {
    format!("{}–{}", short_day(p.start), short_day(p.end))
}

fn campaign_view(
    lang: Lang,
    c: &ops::Campaign,
    before: f64,
    during: f64,
    as_of: Date,
) -> CampaignView {
    let (state, class) = if as_of < c.start {
        ("ops.campaign.upcoming", "plain")
    } else if as_of > c.end {
        ("ops.campaign.ended", "plain")
    } else {
        ("ops.campaign.running", "info")
    };
    let total = (c.end - c.start).whole_days() + 1;
    let day = (as_of - c.start).whole_days() + 1;
    let (change, change_class) = if before > 0.0 && as_of >= c.start {
        let r = (during - before) / before * 100.0;
        (
            format!(
                "{}{}",
                if r >= 0.0 { "+" } else { "−" },
                pct_f(lang, r.abs())
            ),
            if r >= 0.0 { "up" } else { "down" },
        )
    } else {
        ("—".to_owned(), "same")
    };
    CampaignView {
        name: c.name.clone(),
        slogan: c.slogan.clone(),
        unit: unit_label(&c.unit),
        dates: format!("{} – {}", day_label(lang, c.start), day_label(lang, c.end)),
        day: if as_of >= c.start && as_of <= c.end {
            format!("{} {} / {}", lang.t("ops.campaign.day"), day, total)
        } else {
            String::new()
        },
        state: lang.t(state),
        state_class: class,
        before: fixed(lang, before, 1),
        during: fixed(lang, during, 1),
        change,
        change_class,
    }
}

/// The `as_of` of a request, or today.
fn as_of_param(state: &AppState, q: &HashMap<String, String>) -> Result<Date, AppError> {
    match q.get("as_of").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(d) => svc::parse_day(d, "as_of"),
        None => Ok(state.today()),
    }
}

fn parse_target(raw: &str) -> Result<u64, AppError> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' '))
        .collect();
    digits
        .parse()
        .map_err(|_| AppError::bad("quota.target", "the target is a whole number"))
}

fn quota_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("quota.not_found", "no quota has this id"),
            lang,
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use eid_core::ops;

    const STATUSES: &[Status] = Status::ALL;
    const TIMELINESS: &[Timeliness] = &[
        Timeliness::OnTime,
        Timeliness::Late,
        Timeliness::Missing,
        Timeliness::NotDueYet,
    ];

    /// Every value the pages translate by key has a translation in both languages.
    #[test]
    fn every_metric_status_outcome_and_notice_is_translated() {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(
            campaign::Metric::ALL
                .iter()
                .map(|m| format!("ops.metric.{}", m.as_str())),
        );
        keys.extend(
            STATUSES
                .iter()
                .map(|s| format!("ops.status.{}", s.as_str())),
        );
        keys.extend(
            TIMELINESS
                .iter()
                .map(|t| format!("ops.report.{}", t.as_str())),
        );
        keys.extend(ops::OUTCOMES.iter().map(|o| format!("ops.outcome.{o}")));
        keys.extend(
            TIMELINESS
                .iter()
                .map(|t| format!("ops.report_short.{}", t.as_str())),
        );
        keys.extend(DONE.iter().map(|d| format!("ops.done.{d}")));
        keys.extend(
            ["weekly", "monthly"]
                .iter()
                .map(|s| format!("ops.schedule.{s}")),
        );
        keys.extend(
            ["no_application", "no_account"]
                .iter()
                .map(|s| format!("ops.missing.{s}")),
        );
        keys.extend(
            ["dead", "emigrated", "absent"]
                .iter()
                .map(|s| format!("life.{s}")),
        );
        keys.extend(outreach::EXPORT_HEADERS.iter().map(|k| (*k).to_owned()));
        for key in keys {
            assert_ne!(Lang::Vi.t(&key), "??", "{key}");
            assert_ne!(Lang::En.t(&key), "??", "{key}");
        }
    }
}
