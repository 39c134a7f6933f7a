//! The Project 06 operations console: the unit's dashboard (a card per quota with its progress,
//! forecast and status, the ranking of the units below, late and missing reports, the campaign
//! in progress), a quota's page (the chart of cumulative progress against the required line,
//! the children and whether they add up, capacity, the history of changes, the forms to change
//! and split it), the emulation leaderboard, outreach lists with assignment, contact outcomes
//! and exports (CSV, XLSX, a printable list), proposed register changes, periodic reports and
//! peak campaigns.
//!
//! Every read and write goes through [`crate::ops_api::svc`], the functions the JSON API calls,
//! so the scope checks and audit entries are the same whichever door an officer uses. Charts
//! are SVG drawn here, inline in the page: the site's CSP runs no script and loads nothing
//! from elsewhere. Numbers are formatted as the language writes them (1.633.225 and 100,76 in
//! Vietnamese); percentages of a quota come from [`campaign::percent_fixed`], so they are the
//! exact figures the API returns.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::accounts::{day_date, day_number};
use eid_core::ops::{self, QuotaProgress};
use eid_core::store::Role;
use eid_core::Actor;
use eid_domain::campaign::{self, Ranked, Schedule, Status, Timeliness};
use eid_domain::{iso, Level, Tree, UnitCode, Units};
use time::{Date, Duration};

use crate::console::i18n::Lang;
use crate::console::pages::{here, local};
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::{self, svc, OutreachQuery};
use crate::state::AppState;
use crate::ui::xlsx;

/// The most people the outreach page lists (the exports take up to [`EXPORT_LIMIT`]).
const PAGE_LIMIT: u32 = 500;
/// The most people an export or the printable list holds.
const EXPORT_LIMIT: u32 = 20_000;
/// Late and missing reports listed on the dashboard.
const DASH_REPORTS: usize = 8;
/// Periods shown per reporting schedule, newest first.
const REPORT_PERIODS: usize = 6;
/// Communes offered in a select; above this the commune is typed.
const COMMUNE_SELECT_MAX: usize = 400;
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
];
// ----------------------------------------------------------------------------------------------
// Formatting

/// The decimal separator of the language.
fn decimal_sep(lang: Lang) -> char {
    match lang {
        Lang::Vi => ',',
        Lang::En => '.',
    }
}

/// The thousands separator of the language.
fn group_sep(lang: Lang) -> char {
    match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    }
}

/// Groups the digits of a decimal number written with a `.` point ("1633225.5") and writes
/// it as the language does ("1.633.225,5" or "1,633,225.5").
fn localize(lang: Lang, plain: &str) -> String {
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut out = String::with_capacity(plain.len() + plain.len() / 3 + 1);
    out.push_str(sign);
    let len = int.chars().count();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(group_sep(lang));
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(decimal_sep(lang));
        out.push_str(frac);
    }
    out
}

/// A count with thousands grouped.
fn num(lang: Lang, n: u64) -> String {
    localize(lang, &n.to_string())
}

/// A non-negative quantity with `decimals` decimals, rounded half away from zero.
fn fixed(lang: Lang, v: f64, decimals: u32) -> String {
    localize(lang, &campaign::format_percent(v, decimals))
}

/// `done` as a percentage of `target`, two decimals, exactly as the API gives it.
fn pct(lang: Lang, done: u64, target: u64) -> String {
    format!(
        "{}\u{a0}%",
        localize(lang, &campaign::percent_fixed(done, target, 2))
    )
}

/// A percentage already computed as a float, two decimals.
fn pct_f(lang: Lang, v: f64) -> String {
    format!("{}\u{a0}%", fixed(lang, v, 2))
}

/// A date as the language writes it: 15/07/2023, or 2023-07-15.
fn day_label(lang: Lang, d: Date) -> String {
    match lang {
        Lang::Vi => format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()),
        Lang::En => iso(d),
    }
}

/// A date without its year, for chart ticks and periods: 15/07.
fn short_day(d: Date) -> String {
    format!("{:02}/{:02}", d.day(), u8::from(d.month()))
}

/// The translation of `prefix.value`, or the value itself when the table has none.
fn label(lang: Lang, prefix: &str, value: &str) -> String {
    match lang.t(&format!("{prefix}.{value}")) {
        "??" => value.to_owned(),
        t => t.to_owned(),
    }
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
    }
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

/// Escapes text for HTML and SVG.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn form_value(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

// ----------------------------------------------------------------------------------------------
// Shared pieces

/// A tab of the operations section.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

fn tabs(lang: Lang, active: &str) -> Vec<Tab> {
    [
        ("dashboard", "/ops", "ops.tab.dashboard"),
        ("outreach", "/ops/outreach", "ops.tab.outreach"),
        ("proposals", "/ops/proposals", "ops.tab.proposals"),
        ("reports", "/ops/reports", "ops.tab.reports"),
        ("campaigns", "/ops/campaigns", "ops.tab.campaigns"),
    ]
    .into_iter()
    .map(|(id, href, key)| Tab {
        href,
        label: lang.t(key),
        active: id == active,
    })
    .collect()
}

fn console(lang: Lang) -> impl Fn(AppError) -> ConsoleError {
    move |e| ConsoleError(e, lang)
}

/// One option of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
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
    let required = match pr.required_daily {
        Some(_) if pr.remaining == 0 => "0".to_owned(),
        Some(r) => num(lang, r.ceil() as u64),
        None => "—".to_owned(),
    };
    let required_hint = match pr.required_daily {
        None => t("ops.fig.required_none").to_owned(),
        Some(_) => t("ops.fig.per_day").to_owned(),
    };
    let (forecast, forecast_class) = match pr.forecast_met_on {
        Some(d) if pr.remaining == 0 => (day_label(lang, d), "date"),
        Some(d) => (
            day_label(lang, d),
            if d > q.deadline { "date bad" } else { "date" },
        ),
        None => (t("ops.fig.never").to_owned(), "bad"),
    };
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
            required,
            required_hint,
            if pr.required_daily.is_some_and(|r| r > pr.rate_7d) {
                "bad"
            } else {
                ""
            },
        ),
        figure(
            t("ops.fig.rate_7d"),
            fixed(lang, pr.rate_7d, 1),
            format!("{} · {}", t("ops.fig.per_day"), t("ops.fig.last_7")),
            "",
        ),
        figure(
            t("ops.fig.forecast_on"),
            forecast,
            t("ops.fig.at_rate").to_owned(),
            forecast_class,
        ),
        figure(
            t("ops.fig.forecast_pct"),
            pct_f(lang, pr.forecast_percent_at_deadline),
            format!("{} {}", t("ops.fig.on"), day_label(lang, q.deadline)),
            if pr.forecast_percent_at_deadline < 100.0 {
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
// The chart

/// What the chart of a quota draws.
pub struct ChartData<'a> {
    pub start: Date,
    pub deadline: Date,
    pub as_of: Date,
    pub target: u64,
    pub done: u64,
    pub rate_7d: f64,
    /// Daily counts from the start (see [`svc::QuotaDetail::daily`]).
    pub daily: &'a [(i64, u64)],
}

/// A round step for about `ticks` ticks up to `max`: 1, 2, 2.5 or 5 times a power of ten,
/// never below 1 (counts are whole).
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = (max / ticks).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw {
            return (m * mag).max(1.0);
        }
    }
    10.0 * mag
}

/// The chart of cumulative progress against the required line to the deadline, as SVG.
///
/// x runs from the start to the deadline (days); y is the count. The solid line is the
/// cumulative count done at the end of each day; the straight required line goes from (start,
/// 0) to (deadline, target); the dashed forecast goes on from the as-of day at the rate of the
/// last 7 days; a vertical mark shows the as-of day and a dotted line the target.
pub fn chart_svg(lang: Lang, c: &ChartData, compact: bool) -> String {
    let (w, h) = if compact {
        (560.0, 220.0)
    } else {
        (880.0, 360.0)
    };
    let (ml, mr, mt, mb) = if compact {
        (64.0, 14.0, 16.0, 30.0)
    } else {
        (84.0, 24.0, 22.0, 52.0)
    };
    let font = 13.0;
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let d0 = day_number(c.start);
    let d1 = day_number(c.deadline).max(d0 + 1);
    let asof = day_number(c.as_of);
    let x = |d: i64| ml + (d.clamp(d0, d1) - d0) as f64 / (d1 - d0) as f64 * pw;

    let mut cum = 0u64;
    let mut points: Vec<(i64, u64)> = Vec::with_capacity(c.daily.len());
    for (d, n) in c.daily {
        cum = cum.saturating_add(*n);
        if *d >= d0 && *d <= d1 {
            points.push((*d, cum));
        }
    }
    let forecast =
        (asof >= d0 && asof < d1).then(|| c.done as f64 + c.rate_7d * (d1 - asof) as f64);
    let top = [c.target as f64, cum as f64, forecast.unwrap_or(0.0), 1.0]
        .into_iter()
        .fold(0.0, f64::max)
        * 1.06;
    let step = nice_step(top, if compact { 4.0 } else { 5.0 });
    let ymax = (top / step).ceil() * step;
    let y = |v: f64| mt + ph - v / ymax * ph;

    let mut s = String::with_capacity(8192);
    let title = lang.t("ops.chart.title");
    let _ = write!(
        s,
        "<svg class=\"chart{}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-size=\"{font}\"><title>{}</title>",
        if compact { " compact" } else { "" },
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        "<rect class=\"ch-plot\" x=\"{ml}\" y=\"{mt}\" width=\"{pw}\" height=\"{ph}\"/>"
    );
    // y grid and labels
    let mut v = 0.0;
    while v <= ymax + 0.5 {
        let yy = y(v);
        let _ = write!(
            s,
            "<line class=\"ch-grid\" x1=\"{ml}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/>\
             <text class=\"ch-tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            ml + pw,
            ml - 6.0,
            yy + font * 0.35,
            esc(&num(lang, v as u64))
        );
        v += step;
    }
    // x ticks: the start, the deadline and evenly between
    let n_ticks: i64 = if compact { 4 } else { 7 };
    let span = d1 - d0;
    let mut ticks: Vec<i64> = (0..=n_ticks)
        .map(|i| d0 + (span * i + n_ticks / 2) / n_ticks)
        .collect();
    ticks.dedup();
    for d in &ticks {
        let xx = x(*d);
        let anchor = if *d == d0 {
            "start"
        } else if *d == d1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            "<line class=\"ch-xgrid\" x1=\"{xx:.1}\" y1=\"{mt}\" x2=\"{xx:.1}\" y2=\"{:.1}\"/>\
             <text class=\"ch-tick\" x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            mt + ph + 4.0,
            mt + ph + font + 6.0,
            short_day(day_date(*d))
        );
    }
    let _ = write!(
        s,
        "<line class=\"ch-axis\" x1=\"{ml}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
         <line class=\"ch-axis\" x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{:.1}\"/>",
        mt + ph,
        ml + pw,
        mt + ph,
        mt + ph
    );
    if !compact {
        let _ = write!(
            s,
            "<text class=\"ch-axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text class=\"ch-axis-title\" x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>",
            ml + pw / 2.0,
            h - 8.0,
            esc(lang.t("ops.chart.x")),
            mt + ph / 2.0,
            mt + ph / 2.0,
            esc(lang.t("ops.chart.y"))
        );
    }
    // the target
    let ty = y(c.target as f64);
    let _ = write!(
        s,
        "<line class=\"ch-target\" x1=\"{ml}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/>\
         <text class=\"ch-label\" x=\"{:.1}\" y=\"{:.1}\">{} {}</text>",
        ml + pw,
        ml + 6.0,
        ty - 5.0,
        esc(lang.t("ops.chart.target")),
        esc(&num(lang, c.target))
    );
    // the required line
    let _ = write!(
        s,
        "<line class=\"ch-required\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/>",
        x(d0),
        y(0.0),
        x(d1)
    );
    // the cumulative count, with the area under it
    if !points.is_empty() {
        let mut line = String::new();
        for (d, n) in &points {
            let _ = write!(line, "{:.1},{:.1} ", x(*d), y(*n as f64));
        }
        let (first, last) = (
            points.first().map_or(d0, |p| p.0),
            points.last().map_or(d0, |p| p.0),
        );
        let _ = write!(
            s,
            "<polygon class=\"ch-area\" points=\"{:.1},{:.1} {line}{:.1},{:.1}\"/>\
             <polyline class=\"ch-actual\" points=\"{}\"/>",
            x(first),
            y(0.0),
            x(last),
            y(0.0),
            line.trim_end()
        );
    }
    // the forecast at the 7-day rate
    if let Some(end) = forecast {
        let (fx0, fy0, fx1, fy1) = (x(asof), y(c.done as f64), x(d1), y(end));
        let _ = write!(
            s,
            "<line class=\"ch-forecast\" x1=\"{fx0:.1}\" y1=\"{fy0:.1}\" x2=\"{fx1:.1}\" y2=\"{fy1:.1}\"/>"
        );
    }
    // the as-of day
    if asof >= d0 && asof <= d1 {
        let ax = x(asof);
        let anchor = if ax > ml + pw - 90.0 {
            "end"
        } else if ax < ml + 90.0 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            "<line class=\"ch-today\" x1=\"{ax:.1}\" y1=\"{mt}\" x2=\"{ax:.1}\" y2=\"{:.1}\"/>\
             <circle class=\"ch-dot\" cx=\"{ax:.1}\" cy=\"{:.1}\" r=\"3.5\"/>\
             <text class=\"ch-label ch-today-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{} {}</text>",
            mt + ph,
            y(c.done as f64),
            if anchor == "end" { ax - 4.0 } else if anchor == "start" { ax + 4.0 } else { ax },
            mt - 5.0 + font,
            esc(lang.t("ops.chart.as_of")),
            short_day(c.as_of)
        );
    }
    s.push_str("</svg>");
    s
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
}

fn rank_rows(lang: Lang, ranking: &[Ranked<UnitCode>], children: &[QuotaProgress]) -> Vec<RankRow> {
    ranking
        .iter()
        .map(|r| {
            let child = children.iter().find(|c| c.quota.unit == r.key);
            let (change, class) = match r.rank_change {
                0 => ("–".to_owned(), "same"),
                n if n > 0 => (format!("▲\u{a0}{n}"), "up"),
                n => (format!("▼\u{a0}{}", n.unsigned_abs()), "down"),
            };
            RankRow {
                rank: r.rank_today,
                change,
                change_class: class,
                change_title: format!("{} {}", lang.t("ops.rank.yesterday"), r.rank_yesterday),
                unit: svc::unit_name(&r.key),
                href: child.map_or_else(String::new, |c| format!("/ops/quotas/{}", c.quota.id)),
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
            }
        })
        .collect()
}

// ----------------------------------------------------------------------------------------------
// The dashboard

/// A quota as a card of the dashboard.
pub struct QuotaCard {
    pub id: i64,
    pub metric: String,
    pub cohort: String,
    pub unit: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub percent: String,
    pub bar: String,
    pub figures: Vec<Figure>,
    pub mismatch: String,
    pub chart: String,
    pub period: String,
}

/// The ranking of the units below for one quota.
pub struct RankingBlock {
    pub title: String,
    pub href: String,
    pub rows: Vec<RankRow>,
}

/// A late or missing report.
pub struct ReportLine {
    pub agency: String,
    pub unit: String,
    pub period: String,
    pub due: String,
    pub status: &'static str,
    pub status_class: &'static str,
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

/// The values of the new-quota form.
#[derive(Default)]
pub struct QuotaForm {
    pub unit: String,
    pub metric: String,
    pub cohort: String,
    pub target: String,
    pub start: String,
    pub deadline: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "ops_dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    scope_code: String,
    /// The officer looks at a unit below their own.
    drilled: bool,
    as_of: String,
    as_of_label: String,
    is_today: bool,
    cards: Vec<QuotaCard>,
    rankings: Vec<RankingBlock>,
    reports: Vec<ReportLine>,
    reports_more: usize,
    campaigns: Vec<CampaignView>,
    may_set: bool,
    units: Vec<Opt>,
    metrics: Vec<Opt>,
    form: QuotaForm,
    notice: Option<Notice>,
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

/// Whether the officer sets quotas for the units below (not a commune officer).
fn may_set(user: &ConsoleUser) -> bool {
    user.caller.staff.unit.level() != Level::Commune || user.caller.staff.role == Role::Ministry
}

async fn dashboard_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    q: &HashMap<String, String>,
) -> Result<DashboardPage, ConsoleError> {
    let lang = user.lang;
    let caller = &user.caller;
    let unit =
        svc::unit_in_scope(caller, q.get("unit").map(String::as_str)).map_err(console(lang))?;
    let today = state.today();
    let as_of = as_of_param(state, q).map_err(console(lang))?;
    let list = svc::quotas_with_progress(state, caller, &unit, false, as_of)
        .await
        .map_err(console(lang))?;
    let mut cards = Vec::new();
    let mut rankings = Vec::new();
    for p in &list {
        let d = svc::detail(state, caller, p.quota.id, as_of)
            .await
            .map_err(console(lang))?;
        let q = &d.progress.quota;
        let chart = chart_svg(
            lang,
            &ChartData {
                start: q.start,
                deadline: q.deadline,
                as_of,
                target: q.target,
                done: d.progress.done,
                rate_7d: d.progress.progress.rate_7d,
                daily: &d.daily,
            },
            true,
        );
        cards.push(QuotaCard {
            id: q.id,
            metric: metric_label(lang, q.metric.as_str()),
            cohort: q.cohort.clone(),
            unit: unit_label(&q.unit),
            status: status_label(lang, d.progress.progress.status),
            status_class: status_class(d.progress.progress.status),
            percent: pct(lang, d.progress.done, q.target),
            bar: bar_svg(&d.progress, as_of),
            figures: figures(lang, &d.progress),
            mismatch: mismatch(lang, &d.progress),
            chart,
            period: format!(
                "{} – {}",
                day_label(lang, q.start),
                day_label(lang, q.deadline)
            ),
        });
        if !d.ranking.is_empty() {
            rankings.push(RankingBlock {
                title: format!(
                    "{}{}",
                    metric_label(lang, q.metric.as_str()),
                    if q.cohort.is_empty() {
                        String::new()
                    } else {
                        format!(" · {}", q.cohort)
                    }
                ),
                href: format!("/ops/quotas/{}", q.id),
                rows: rank_rows(lang, &d.ranking, &d.children),
            });
        }
    }
    // Late and missing reports, newest first.
    let statuses = svc::reports(state, caller).await.map_err(console(lang))?;
    let mut late: Vec<(Date, ReportLine)> = Vec::new();
    for s in &statuses {
        if !Units::get().contains(Tree::Gso2024, &unit, &s.schedule.unit) {
            continue;
        }
        for (p, t) in &s.periods {
            if matches!(t, Timeliness::Late | Timeliness::Missing) {
                late.push((
                    p.start,
                    ReportLine {
                        agency: s.schedule.agency.clone(),
                        unit: svc::unit_name(&s.schedule.unit),
                        period: format!(
                            "{} – {}",
                            day_label(lang, p.start),
                            day_label(lang, p.end)
                        ),
                        due: day_label(lang, campaign::due(*p, s.schedule.grace_days)),
                        status: lang.t(&format!("ops.report.{}", t.as_str())),
                        status_class: timeliness_class(*t),
                    },
                ));
            }
        }
    }
    // Missing before late, then newest first.
    late.sort_by(|a, b| {
        (b.1.status_class == "bad")
            .cmp(&(a.1.status_class == "bad"))
            .then(b.0.cmp(&a.0))
    });
    let reports_more = late.len().saturating_sub(DASH_REPORTS);
    let reports = late
        .into_iter()
        .take(DASH_REPORTS)
        .map(|(_, r)| r)
        .collect();
    let campaigns = svc::campaigns(state, caller, as_of)
        .await
        .map_err(console(lang))?
        .iter()
        .filter(|(c, _, _)| c.start <= as_of && as_of <= c.end)
        .map(|(c, b, d)| campaign_view(lang, c, *b, *d, as_of))
        .collect();
    let own = caller.staff.unit;
    Ok(DashboardPage {
        page: PageCtx::new(lang, Some(user), "ops", &here(uri)),
        tabs: tabs(lang, "dashboard"),
        scope: unit_label(&unit),
        scope_code: unit.as_str().to_owned(),
        drilled: unit != own,
        as_of: iso(as_of),
        as_of_label: day_label(lang, as_of),
        is_today: as_of == today,
        cards,
        rankings,
        reports,
        reports_more,
        campaigns,
        may_set: may_set(user),
        units: unit_options(
            &unit,
            caller.staff.role == Role::Ministry && unit == own,
            "",
        ),
        metrics: metric_options(lang, campaign::Metric::ApplicationsCollected.as_str()),
        form: QuotaForm {
            start: iso(today),
            deadline: iso(today + Duration::days(30)),
            ..QuotaForm::default()
        },
        notice: Notice::done(lang, q, "ops", DONE),
    })
}

/// `GET /ops?as_of=&unit=`: the dashboard of the officer's unit (or of a unit below).
pub async fn dashboard(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let page = dashboard_page(&state, &user, &uri, &q).await?;
    render(&page)
}

/// `POST /ops/quotas`: sets a quota for a unit below the officer's.
pub async fn quota_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let f = QuotaForm {
        unit: form_value(&form, "unit"),
        metric: form_value(&form, "metric"),
        cohort: form_value(&form, "cohort"),
        target: form_value(&form, "target"),
        start: form_value(&form, "start"),
        deadline: form_value(&form, "deadline"),
        reason: form_value(&form, "reason"),
    };
    let saved = async {
        let unit = crate::access::parse_unit(&f.unit, Tree::Gso2024)?.code;
        let target = parse_target(&f.target)?;
        let new = ops::NewQuota {
            unit,
            metric: f.metric.clone(),
            cohort: f.cohort.clone(),
            target,
            start: svc::parse_day(&f.start, "start")?,
            deadline: svc::parse_day(&f.deadline, "deadline")?,
            parent_id: None,
        };
        svc::set_quota(&state, &user.caller, new, f.reason.clone()).await
    }
    .await;
    match saved {
        Ok(q) => Ok(Redirect::to(&format!("/ops/quotas/{}?done=quota_set", q.id)).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = dashboard_page(&state, &user, &uri, &HashMap::new()).await?;
            page.page.here = crate::console::percent_encode("/ops");
            page.notice = Some(Notice::refused(lang, &e));
            for o in &mut page.units {
                o.selected = o.value == f.unit;
            }
            page.metrics = metric_options(lang, &f.metric);
            page.form = f;
            render(&page).map(|r| (e.status(), r).into_response())
        }
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

// ----------------------------------------------------------------------------------------------
// A quota

/// A child quota as listed.
pub struct ChildRow {
    pub href: String,
    pub unit: String,
    pub target: String,
    pub done: String,
    pub percent: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

/// One change of the target.
pub struct HistRow {
    pub at: String,
    pub actor: String,
    pub old: String,
    pub new: String,
    pub reason: String,
}

/// One number input of the manual split.
pub struct PartInput {
    pub code: String,
    pub name: String,
    pub value: String,
    pub eligible: String,
}

#[derive(Template)]
#[template(path = "ops_quota.html")]
struct QuotaPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    id: i64,
    metric: String,
    cohort: String,
    unit: String,
    status: &'static str,
    status_class: &'static str,
    percent: String,
    bar: String,
    figures: Vec<Figure>,
    period: String,
    chart: String,
    as_of: String,
    as_of_label: String,
    forecast_pct: String,
    set_by: String,
    parent_href: String,
    children: Vec<ChildRow>,
    children_sum: String,
    mismatch: String,
    split_ok: bool,
    ranking: Vec<RankRow>,
    capacity: Vec<Figure>,
    capacity_note: &'static str,
    history: Vec<HistRow>,
    can_target: bool,
    can_split: bool,
    parts: Vec<PartInput>,
    target_value: String,
    reason: String,
    notice: Option<Notice>,
}

/// Display names of the staff and of the API tokens' owners behind a page's actors.
#[derive(Default)]
struct Names {
    staff: HashMap<i64, String>,
    tokens: HashMap<i64, String>,
}

fn actor_label(lang: Lang, actor: &Actor, names: &Names) -> String {
    match actor {
        Actor::Staff(id) => names
            .staff
            .get(id)
            .cloned()
            .unwrap_or_else(|| actor.to_db()),
        Actor::Anonymous => "—".to_owned(),
        Actor::Cli(what) => format!("{} ({what})", lang.t("ops.actor.system")),
        Actor::Token(id) => match names.tokens.get(id) {
            Some(n) => format!("{n} · {} #{id}", lang.t("ops.actor.token")),
            None => actor.to_db(),
        },
    }
}

async fn actor_names(state: &AppState, actors: Vec<Actor>) -> Result<Names, AppError> {
    state
        .blocking(move |store| {
            let mut n = Names::default();
            let name = |id: i64| -> Result<Option<String>, AppError> {
                Ok(store
                    .staff_by_id(id)?
                    .map(|s| format!("{} ({})", s.display_name, s.username)))
            };
            let tokens: BTreeSet<i64> = actors
                .iter()
                .filter_map(|a| match a {
                    Actor::Token(id) => Some(*id),
                    _ => None,
                })
                .collect();
            if !tokens.is_empty() {
                for t in store.list_api_tokens()? {
                    if tokens.contains(&t.id) {
                        if let Some(s) = name(t.staff_id)? {
                            n.tokens.insert(t.id, s);
                        }
                    }
                }
            }
            for a in &actors {
                if let Actor::Staff(id) = a {
                    if !n.staff.contains_key(id) {
                        if let Some(s) = name(*id)? {
                            n.staff.insert(*id, s);
                        }
                    }
                }
            }
            Ok(n)
        })
        .await
}

async fn quota_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    id: i64,
    q: &HashMap<String, String>,
) -> Result<QuotaPage, ConsoleError> {
    let lang = user.lang;
    let caller = &user.caller;
    let as_of = as_of_param(state, q).map_err(console(lang))?;
    let d = svc::detail(state, caller, id, as_of)
        .await
        .map_err(console(lang))?;
    let p = &d.progress;
    let quota = p.quota.clone();
    // Capacity: the unit's active intake devices against what remains.
    let (unit, remaining, days_left) = (quota.unit, p.progress.remaining, p.progress.days_left);
    let cap = state
        .blocking(move |store| Ok(ops::capacity(store, &unit, remaining, days_left)?))
        .await
        .map_err(console(lang))?;
    let t = |k: &'static str| lang.t(k);
    let days_needed_class = match cap.days_needed {
        Some(n) if i64::try_from(n).unwrap_or(i64::MAX) > cap.days_left => "bad",
        None if remaining > 0 => "bad",
        _ => "",
    };
    let capacity = vec![
        figure(
            t("ops.cap.devices"),
            num(lang, u64::from(cap.devices)),
            String::new(),
            "",
        ),
        figure(
            t("ops.cap.per_day"),
            num(lang, cap.per_day),
            t("ops.fig.per_day").to_owned(),
            "",
        ),
        figure(
            t("ops.cap.days_needed"),
            cap.days_needed
                .map_or_else(|| "—".to_owned(), |n| num(lang, n)),
            format!(
                "{} {}",
                num(lang, cap.days_left.max(0).unsigned_abs()),
                t("ops.cap.days_left")
            ),
            days_needed_class,
        ),
        figure(
            t("ops.cap.more"),
            num(lang, cap.more_devices),
            t("ops.cap.more_hint").to_owned(),
            if cap.more_devices > 0 { "bad" } else { "" },
        ),
    ];
    let actors: Vec<Actor> = d
        .history
        .iter()
        .map(|h| h.actor.clone())
        .chain(std::iter::once(quota.set_by.clone()))
        .collect();
    let names = actor_names(state, actors).await.map_err(console(lang))?;
    let units = Units::get();
    let own = caller.staff.unit;
    let above = units.contains(Tree::Gso2024, &own, &quota.unit)
        && (own != quota.unit || caller.staff.role == Role::Ministry);
    let inside = units.contains(Tree::Gso2024, &own, &quota.unit);
    let below = units.children(Tree::Gso2024, &quota.unit);
    let eligible = if inside && !below.is_empty() {
        let u = quota.unit;
        let today = state.today();
        state
            .blocking(move |store| Ok(ops::eligible_by_child(store, &u, today)?))
            .await
            .map_err(console(lang))?
    } else {
        Vec::new()
    };
    let parts = below
        .iter()
        .map(|u| PartInput {
            code: u.code.as_str().to_owned(),
            name: u.name.clone(),
            value: d
                .children
                .iter()
                .find(|c| c.quota.unit == u.code)
                .map(|c| c.quota.target.to_string())
                .unwrap_or_default(),
            eligible: eligible
                .iter()
                .find(|(c, _)| *c == u.code)
                .map(|(_, n)| num(lang, *n))
                .unwrap_or_default(),
        })
        .collect();
    Ok(QuotaPage {
        page: PageCtx::new(lang, Some(user), "ops", &here(uri)),
        tabs: tabs(lang, "dashboard"),
        id: quota.id,
        metric: metric_label(lang, quota.metric.as_str()),
        cohort: quota.cohort.clone(),
        unit: unit_label(&quota.unit),
        status: status_label(lang, p.progress.status),
        status_class: status_class(p.progress.status),
        percent: pct(lang, p.done, quota.target),
        bar: bar_svg(p, as_of),
        figures: figures(lang, p),
        period: format!(
            "{} – {}",
            day_label(lang, quota.start),
            day_label(lang, quota.deadline)
        ),
        chart: chart_svg(
            lang,
            &ChartData {
                start: quota.start,
                deadline: quota.deadline,
                as_of,
                target: quota.target,
                done: p.done,
                rate_7d: p.progress.rate_7d,
                daily: &d.daily,
            },
            false,
        ),
        as_of: iso(as_of),
        as_of_label: day_label(lang, as_of),
        forecast_pct: pct_f(lang, p.progress.forecast_percent_at_deadline),
        set_by: actor_label(lang, &quota.set_by, &names),
        parent_href: quota
            .parent_id
            .map(|p| format!("/ops/quotas/{p}"))
            .unwrap_or_default(),
        children: d
            .children
            .iter()
            .map(|c| ChildRow {
                href: format!("/ops/quotas/{}", c.quota.id),
                unit: unit_label(&c.quota.unit),
                target: num(lang, c.quota.target),
                done: num(lang, c.done),
                percent: pct(lang, c.done, c.quota.target),
                status: status_label(lang, c.progress.status),
                status_class: status_class(c.progress.status),
            })
            .collect(),
        children_sum: p.children_sum.map(|s| num(lang, s)).unwrap_or_default(),
        mismatch: mismatch(lang, p),
        split_ok: p.children_sum == Some(quota.target),
        ranking: rank_rows(lang, &d.ranking, &d.children),
        capacity,
        capacity_note: if quota.metric == campaign::Metric::ApplicationsCollected {
            t("ops.cap.note")
        } else {
            t("ops.cap.note_other")
        },
        history: d
            .history
            .iter()
            .rev()
            .map(|h| HistRow {
                at: local(h.at),
                actor: actor_label(lang, &h.actor, &names),
                old: h.old_target.map(|o| num(lang, o)).unwrap_or_default(),
                new: num(lang, h.new_target),
                reason: h.reason.clone(),
            })
            .collect(),
        can_target: above,
        can_split: inside && !below.is_empty(),
        parts,
        target_value: quota.target.to_string(),
        reason: String::new(),
        notice: Notice::done(lang, q, "ops", DONE),
    })
}

fn quota_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("quota.not_found", "no quota has this id"),
            lang,
        )
    })
}

/// `GET /ops/quotas/{id}?as_of=`
pub async fn quota(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let id = quota_id(&id, user.lang)?;
    let page = quota_page(&state, &user, &uri, id, &q).await?;
    render(&page)
}

/// `POST /ops/quotas/{id}/target`: the level above changes the target, with a reason.
pub async fn quota_target(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = quota_id(&id, lang)?;
    let q = svc::quota(&state, &user.caller, id)
        .await
        .map_err(console(lang))?;
    let (target, reason) = (form_value(&form, "target"), form_value(&form, "reason"));
    let done = match parse_target(&target) {
        Ok(n) => {
            let new = ops::NewQuota {
                unit: q.unit,
                metric: q.metric.as_str().to_owned(),
                cohort: q.cohort.clone(),
                target: n,
                start: q.start,
                deadline: q.deadline,
                parent_id: None,
            };
            svc::set_quota(&state, &user.caller, new, reason.clone()).await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/ops/quotas/{id}?done=target")).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = quota_page(&state, &user, &uri, id, &HashMap::new()).await?;
            page.page.here = crate::console::percent_encode(&format!("/ops/quotas/{id}"));
            page.notice = Some(Notice::refused(lang, &e));
            page.target_value = target;
            page.reason = reason;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /ops/quotas/{id}/split`: `mode=proportional`, or `mode=manual` with `part.<code>`.
pub async fn quota_split(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = quota_id(&id, lang)?;
    let how = match form_value(&form, "mode").as_str() {
        "proportional" => Ok(ops::Split::Proportional {
            today: state.today(),
        }),
        "manual" => {
            let mut parts = Vec::new();
            let mut bad = None;
            let mut keys: Vec<&String> = form.keys().collect();
            keys.sort();
            for k in keys {
                let Some(code) = k.strip_prefix("part.") else {
                    continue;
                };
                let raw = form_value(&form, k);
                if raw.is_empty() {
                    continue;
                }
                match (
                    crate::access::parse_unit(code, Tree::Gso2024),
                    parse_target(&raw),
                ) {
                    (Ok(u), Ok(n)) => parts.push((u.code, n)),
                    (Err(e), _) | (_, Err(e)) => {
                        bad = Some(e);
                        break;
                    }
                }
            }
            match bad {
                Some(e) => Err(e),
                None if parts.is_empty() => Err(AppError::bad(
                    "split.parts",
                    "give a target to at least one unit below",
                )),
                None => Ok(ops::Split::Manual(parts)),
            }
        }
        _ => Err(AppError::bad(
            "split.mode",
            "mode is proportional or manual",
        )),
    };
    let done = match how {
        Ok(how) => svc::split(&state, &user.caller, id, how).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/ops/quotas/{id}?done=split")).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = quota_page(&state, &user, &uri, id, &HashMap::new()).await?;
            page.page.here = crate::console::percent_encode(&format!("/ops/quotas/{id}"));
            page.notice = Some(Notice::refused(lang, &e));
            for part in &mut page.parts {
                if let Some(v) = form.get(&format!("part.{}", part.code)) {
                    part.value = v.trim().to_owned();
                }
            }
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The leaderboard

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

// ----------------------------------------------------------------------------------------------
// Outreach

/// The filters of an outreach list, as typed.
#[derive(Default, Clone)]
pub struct OutreachForm {
    pub commune: String,
    pub missing: String,
    pub address: String,
    pub min_age: String,
    pub max_age: String,
    pub phone_type: String,
}

impl OutreachForm {
    fn from_query(q: &HashMap<String, String>) -> OutreachForm {
        let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        OutreachForm {
            commune: get("commune"),
            missing: match get("missing").as_str() {
                "no_account" => "no_account".to_owned(),
                _ => "no_application".to_owned(),
            },
            address: get("address"),
            min_age: get("min_age"),
            max_age: get("max_age"),
            phone_type: get("phone_type"),
        }
    }

    /// The filters as a query string (percent-encoded), for links and redirects.
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("commune", &self.commune),
            ("missing", &self.missing),
            ("address", &self.address),
            ("min_age", &self.min_age),
            ("max_age", &self.max_age),
            ("phone_type", &self.phone_type),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", crate::console::percent_encode(v)));
            }
        }
        parts.join("&")
    }

    fn to_query(&self, limit: u32) -> Result<OutreachQuery, AppError> {
        let age = |raw: &str, what: &'static str| -> Result<Option<i32>, AppError> {
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse::<i32>()
                .ok()
                .filter(|a| (0..=150).contains(a))
                .map(Some)
                .ok_or_else(|| AppError::bad(what, "an age is a whole number of years, 0 to 150"))
        };
        Ok(OutreachQuery {
            commune: self.commune.clone(),
            missing: Some(self.missing.clone()),
            address: Some(self.address.clone()),
            min_age: age(&self.min_age, "outreach.min_age")?,
            max_age: age(&self.max_age, "outreach.max_age")?,
            phone_type: Some(self.phone_type.clone()),
            format: None,
            limit: Some(limit),
        })
    }
}

/// One person of an outreach list.
pub struct OutRow {
    pub id: String,
    pub name: String,
    pub birth: String,
    pub address: String,
    pub phone: String,
    pub phone_type: String,
    pub phone_class: &'static str,
    pub state: String,
    pub assignee: String,
    pub due: String,
    pub outcome: String,
}

fn out_rows(lang: Lang, rows: &[ops::OutreachRow]) -> Vec<OutRow> {
    rows.iter()
        .map(|r| OutRow {
            id: r.personal_id.clone(),
            name: r.name.clone(),
            birth: eid_domain::parse_iso_date(&r.birth_date)
                .map_or_else(|| r.birth_date.clone(), |d| day_label(lang, d)),
            address: r.address.clone(),
            phone: r
                .phone
                .as_deref()
                .map(|p| {
                    eid_domain::PhoneNumber::parse(p)
                        .map_or_else(|_| p.to_owned(), |n| n.national())
                })
                .unwrap_or_default(),
            phone_type: label(lang, "ops.phone", &r.phone_type),
            phone_class: match r.phone_type.as_str() {
                "none" => "bad",
                "basic" => "warn",
                _ => "ok",
            },
            state: person_state(lang, r),
            assignee: r.assignee.clone().unwrap_or_default(),
            due: r.due.map(|d| day_label(lang, d)).unwrap_or_default(),
            outcome: r
                .last_outcome
                .as_deref()
                .map(|o| label(lang, "ops.outcome", o))
                .unwrap_or_default(),
        })
        .collect()
}

/// Where a person stands: their account's level, else their latest application's state.
fn person_state(lang: Lang, r: &ops::OutreachRow) -> String {
    match (r.account_level, r.application_state) {
        (Some(l), _) => format!("{} {l}", lang.t("ops.out.level")),
        (None, Some(s)) => format!(
            "{}: {}",
            lang.t("ops.out.application"),
            label(lang, "acc.app_state", s.as_str())
        ),
        (None, None) => lang.t("ops.out.nothing").to_owned(),
    }
}

#[derive(Template)]
#[template(path = "ops_outreach.html")]
struct OutreachPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    f: OutreachForm,
    /// Communes to choose from (empty: the commune is typed).
    communes: Vec<Opt>,
    commune_fixed: bool,
    phone_types: Vec<Opt>,
    commune: String,
    listed: bool,
    rows: Vec<OutRow>,
    full: bool,
    limit: u32,
    query: String,
    outcomes: Vec<Opt>,
    due: String,
    assignee: String,
    notice: Option<Notice>,
}

fn commune_options(user: &ConsoleUser, selected: &str) -> Vec<Opt> {
    let units = Units::get();
    let own = user.caller.staff.unit;
    if own.level() == Level::Commune {
        return Vec::new();
    }
    let communes = units.communes_under(Tree::Gso2024, &own);
    if communes.len() > COMMUNE_SELECT_MAX {
        return Vec::new();
    }
    communes
        .iter()
        .map(|u| {
            let district = u
                .parent
                .filter(|p| p.level() == Level::District && own.level() != Level::District)
                .map(|p| format!(" · {}", svc::unit_name(&p)))
                .unwrap_or_default();
            Opt {
                value: u.code.as_str().to_owned(),
                label: format!("{} ({}){district}", u.name, u.code.as_str()),
                selected: u.code.as_str() == selected,
            }
        })
        .collect()
}

fn phone_type_options(lang: Lang, selected: &str) -> Vec<Opt> {
    ["none", "basic", "smartphone"]
        .into_iter()
        .map(|v| Opt {
            value: v.to_owned(),
            label: label(lang, "phone", v),
            selected: v == selected,
        })
        .collect()
}

fn outcome_options(lang: Lang) -> Vec<Opt> {
    ops::OUTCOMES
        .iter()
        .map(|o| Opt {
            value: (*o).to_owned(),
            label: label(lang, "ops.outcome", o),
            selected: false,
        })
        .collect()
}

async fn outreach_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: String,
    q: &HashMap<String, String>,
) -> Result<OutreachPage, ConsoleError> {
    let lang = user.lang;
    let mut f = OutreachForm::from_query(q);
    let own = user.caller.staff.unit;
    let fixed_commune = own.level() == Level::Commune;
    if fixed_commune && f.commune.is_empty() {
        f.commune = own.as_str().to_owned();
    }
    let mut page = OutreachPage {
        page: PageCtx::new(lang, Some(user), "ops", &here_path),
        tabs: tabs(lang, "outreach"),
        communes: commune_options(user, &f.commune),
        commune_fixed: fixed_commune,
        phone_types: phone_type_options(lang, &f.phone_type),
        commune: String::new(),
        listed: false,
        rows: Vec::new(),
        full: false,
        limit: PAGE_LIMIT,
        query: f.query(),
        outcomes: outcome_options(lang),
        due: iso(state.today() + Duration::days(7)),
        assignee: String::new(),
        notice: Notice::done(lang, q, "ops", DONE),
        f,
    };
    if page.f.commune.is_empty() {
        return Ok(page);
    }
    let listed = async {
        let query = page.f.to_query(PAGE_LIMIT)?;
        let filter = query.filter()?;
        svc::outreach(state, &user.caller, &page.f.commune, filter).await
    }
    .await;
    match listed {
        Ok((unit, rows)) => {
            page.commune = unit_label(&unit);
            page.listed = true;
            page.full = rows.len() >= PAGE_LIMIT as usize;
            page.rows = out_rows(lang, &rows);
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            page.notice = Some(Notice::refused(lang, &e));
        }
    }
    Ok(page)
}

/// `GET /ops/outreach?commune=&missing=&address=&min_age=&max_age=&phone_type=`
pub async fn outreach(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let page = outreach_page(&state, &user, here(&uri), &q).await?;
    let status = match &page.notice {
        Some(n) if !n.ok => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    render(&page).map(|r| (status, r).into_response())
}

/// The filters a form carried back (`back`, a query string of the list it came from).
fn back_query(form: &[(String, String)]) -> HashMap<String, String> {
    let back = form
        .iter()
        .find(|(k, _)| k == "back")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let uri: Uri = format!("/ops/outreach?{back}")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/ops/outreach"));
    Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default()
}

fn pairs_to_map(form: &[(String, String)]) -> HashMap<String, String> {
    form.iter()
        .filter(|(k, _)| k != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn outreach_refused(
    state: &AppState,
    user: &ConsoleUser,
    form: &[(String, String)],
    e: AppError,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let e = in_place(e, lang)?;
    let q = back_query(form);
    let f = OutreachForm::from_query(&q);
    let mut page = outreach_page(state, user, format!("/ops/outreach?{}", f.query()), &q).await?;
    page.notice = Some(Notice::refused(lang, &e));
    render(&page).map(|r| (e.status(), r).into_response())
}

fn outreach_done(form: &[(String, String)], done: &str) -> Response {
    let f = OutreachForm::from_query(&back_query(form));
    let q = f.query();
    let sep = if q.is_empty() { "" } else { "&" };
    Redirect::to(&format!("/ops/outreach?{q}{sep}done={done}")).into_response()
}

/// `POST /ops/outreach/assign`: `id` (repeated), `assignee`, `due`, `commune`, `back`.
pub async fn outreach_assign(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let map = pairs_to_map(&form);
    user.check_csrf(&map)?;
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .collect();
    let done = async {
        let due = svc::parse_day(&form_value(&map, "due"), "due")?;
        svc::assign(
            &state,
            &user.caller,
            &form_value(&map, "commune"),
            &ids,
            &form_value(&map, "assignee"),
            due,
        )
        .await
    }
    .await;
    match done {
        Ok(_) => Ok(outreach_done(&form, "assigned")),
        Err(e) => outreach_refused(&state, &user, &form, e).await,
    }
}

/// `POST /ops/outreach/contact`: `personal_id`, `outcome`, `note`, `back`.
pub async fn outreach_contact(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let map = pairs_to_map(&form);
    user.check_csrf(&map)?;
    let done = svc::contact(
        &state,
        &user.caller,
        &form_value(&map, "personal_id"),
        &form_value(&map, "outcome"),
        &form_value(&map, "note"),
    )
    .await;
    match done {
        Ok(Some(_)) => Ok(outreach_done(&form, "contact_proposal")),
        Ok(None) => Ok(outreach_done(&form, "contact")),
        Err(e) => outreach_refused(&state, &user, &form, e).await,
    }
}

/// The list for an export or the printable view: every row up to [`EXPORT_LIMIT`].
async fn export_rows(
    state: &AppState,
    user: &ConsoleUser,
    q: &HashMap<String, String>,
) -> Result<(UnitCode, OutreachForm, Vec<ops::OutreachRow>), ConsoleError> {
    let lang = user.lang;
    let mut f = OutreachForm::from_query(q);
    if f.commune.is_empty() && user.caller.staff.unit.level() == Level::Commune {
        f.commune = user.caller.staff.unit.as_str().to_owned();
    }
    let filter = f
        .to_query(EXPORT_LIMIT)
        .and_then(|q| q.filter())
        .map_err(console(lang))?;
    let (unit, rows) = svc::outreach(state, &user.caller, &f.commune, filter)
        .await
        .map_err(console(lang))?;
    Ok((unit, f, rows))
}

/// `GET /ops/outreach.csv?…`: the list as CSV (the API's columns, UTF-8 with a BOM).
pub async fn outreach_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let (unit, _, rows) = export_rows(&state, &user, &q).await?;
    let body = ops_api::outreach_csv(&rows).map_err(console(user.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"outreach-{}.csv\"", unit.as_str()),
            ),
        ],
        body,
    )
        .into_response())
}

/// The translation keys of the exported columns, in the order of [`ops_api::OUTREACH_COLUMNS`].
const EXPORT_HEADERS: [&str; 10] = [
    "field.personal_id",
    "field.name",
    "field.birth",
    "ops.out.address",
    "field.phone",
    "field.phone_type",
    "ops.out.level",
    "ops.out.application",
    "ops.out.assignee",
    "ops.out.outcome",
];

/// The outreach list as an XLSX workbook: the header row translated, values as stored except
/// phone types, application states and outcomes, which are translated too.
pub fn outreach_workbook(
    lang: Lang,
    unit: &UnitCode,
    rows: &[ops::OutreachRow],
) -> Result<Vec<u8>, AppError> {
    let sheet = xlsx::Sheet {
        name: format!("{} {}", lang.t("ops.out.sheet"), unit.as_str()),
        header: EXPORT_HEADERS
            .iter()
            .map(|k| lang.t(k).to_owned())
            .collect(),
        rows: rows
            .iter()
            .map(|r| {
                let c = ops_api::outreach_cells(r);
                let [id, name, birth, address, phone, phone_type, level, app, assignee, outcome] =
                    c;
                vec![
                    xlsx::Cell::Text(id),
                    xlsx::Cell::Text(name),
                    xlsx::Cell::Text(birth),
                    xlsx::Cell::Text(address),
                    xlsx::Cell::Text(phone),
                    xlsx::Cell::Text(label(lang, "phone", &phone_type)),
                    match level.parse::<f64>() {
                        Ok(n) => xlsx::Cell::Number(n),
                        Err(_) => xlsx::Cell::Empty,
                    },
                    if app.is_empty() {
                        xlsx::Cell::Empty
                    } else {
                        xlsx::Cell::Text(label(lang, "acc.app_state", &app))
                    },
                    xlsx::Cell::Text(assignee),
                    if outcome.is_empty() {
                        xlsx::Cell::Empty
                    } else {
                        xlsx::Cell::Text(label(lang, "ops.outcome", &outcome))
                    },
                ]
            })
            .collect(),
        column_widths: vec![15.0, 28.0, 12.0, 36.0, 14.0, 20.0, 8.0, 16.0, 18.0, 18.0],
    };
    xlsx::workbook(&[sheet]).map_err(AppError::Internal)
}

/// `GET /ops/outreach.xlsx?…`
pub async fn outreach_xlsx(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let (unit, _, rows) = export_rows(&state, &user, &q).await?;
    let body = outreach_workbook(user.lang, &unit, &rows).map_err(console(user.lang))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"outreach-{}.xlsx\"", unit.as_str()),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "ops_outreach_print.html")]
struct PrintPage {
    page: PageCtx,
    commune: String,
    district: String,
    date: String,
    filters: String,
    officer: String,
    rows: Vec<OutRow>,
    query: String,
}

/// `GET /ops/outreach/print?…`: the list as a clean page to print, with signature lines.
pub async fn outreach_print(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let (unit, f, rows) = export_rows(&state, &user, &q).await?;
    let mut filters = vec![label(lang, "ops.missing", &f.missing)];
    if !f.address.is_empty() {
        filters.push(format!("{}: {}", lang.t("ops.out.address"), f.address));
    }
    if !f.min_age.is_empty() || !f.max_age.is_empty() {
        filters.push(format!(
            "{}: {}–{}",
            lang.t("ops.out.age"),
            if f.min_age.is_empty() {
                "14"
            } else {
                &f.min_age
            },
            f.max_age
        ));
    }
    if !f.phone_type.is_empty() {
        filters.push(format!(
            "{}: {}",
            lang.t("field.phone_type"),
            label(lang, "phone", &f.phone_type)
        ));
    }
    let district = Units::get()
        .ancestors(Tree::Gso2024, &unit)
        .into_iter()
        .filter(|u| u.level != Level::Nation)
        .map(|u| u.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    render(&PrintPage {
        page: PageCtx::new(lang, Some(&user), "ops", &here(&uri)),
        commune: svc::unit_name(&unit),
        district,
        date: day_label(lang, state.today()),
        filters: filters.join(" · "),
        officer: user.caller.staff.display_name.clone(),
        rows: out_rows(lang, &rows),
        query: f.query(),
    })
}

// ----------------------------------------------------------------------------------------------
// Proposed register changes

/// One open proposal.
pub struct ProposalRow {
    pub id: i64,
    pub personal_id: String,
    pub commune: String,
    pub proposed: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ops_proposals.html")]
struct ProposalsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    rows: Vec<ProposalRow>,
    notice: Option<Notice>,
}

async fn proposals_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<ProposalsPage, ConsoleError> {
    let lang = user.lang;
    let list = svc::proposals(state, &user.caller)
        .await
        .map_err(console(lang))?;
    Ok(ProposalsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "proposals"),
        scope: unit_label(&user.caller.staff.unit),
        rows: list
            .iter()
            .map(|p| ProposalRow {
                id: p.id,
                personal_id: p.personal_id.clone(),
                commune: unit_label(&p.commune),
                proposed: label(lang, "life", &p.proposed),
                created: local(p.created_at),
            })
            .collect(),
        notice: None,
    })
}

/// `GET /ops/proposals`
pub async fn proposals(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = proposals_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/proposals/{id}`: `decision=confirm|dismiss`.
pub async fn proposal_decide(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id: i64 = id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("proposal.not_found", "no proposal has this id"),
            lang,
        )
    })?;
    let confirm = match form_value(&form, "decision").as_str() {
        "confirm" => Ok(true),
        "dismiss" => Ok(false),
        _ => Err(AppError::bad(
            "proposal.decision",
            "decision is confirm or dismiss",
        )),
    };
    let done = match confirm {
        Ok(c) => svc::decide(&state, &user.caller, id, c).await.map(|_| c),
        Err(e) => Err(e),
    };
    match done {
        Ok(c) => Ok(Redirect::to(if c {
            "/ops/proposals?done=confirmed"
        } else {
            "/ops/proposals?done=dismissed"
        })
        .into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = proposals_page(&state, &user, "/ops/proposals").await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Periodic reports

/// One period of a schedule.
pub struct PeriodView {
    pub label: String,
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

/// A reporting schedule with its periods.
pub struct ScheduleView {
    pub id: i64,
    pub agency: String,
    pub unit: String,
    pub schedule: &'static str,
    pub grace: u32,
    pub start: String,
    pub expected: usize,
    pub on_time: usize,
    pub late: usize,
    pub missing: usize,
    pub completeness: String,
    pub periods: Vec<PeriodView>,
    pub older: usize,
    /// Periods that can still be reported: (a day of the period, its label).
    pub open: Vec<Opt>,
}

/// The values of the new-schedule form.
#[derive(Default)]
pub struct ScheduleForm {
    pub agency: String,
    pub unit: String,
    pub schedule: String,
    pub grace: String,
    pub start: String,
}

#[derive(Template)]
#[template(path = "ops_reports.html")]
struct ReportsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    schedules: Vec<ScheduleView>,
    units: Vec<Opt>,
    form: ScheduleForm,
    /// Which schedule's submit form the refused values belong to, and the text typed.
    submit_id: i64,
    body: String,
    notice: Option<Notice>,
}

async fn reports_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<ReportsPage, ConsoleError> {
    let lang = user.lang;
    let list = svc::reports(state, &user.caller)
        .await
        .map_err(console(lang))?;
    let today = state.today();
    // Who needs chasing first: the most missing, then the most late.
    let mut list = list;
    list.sort_by(|a, b| {
        (b.completeness.missing, b.completeness.late)
            .cmp(&(a.completeness.missing, a.completeness.late))
            .then_with(|| a.schedule.agency.cmp(&b.schedule.agency))
    });
    let schedules = list
        .iter()
        .map(|s| {
            let c = &s.completeness;
            let submitted = c.on_time + c.late;
            let older = s.periods.len().saturating_sub(REPORT_PERIODS);
            ScheduleView {
                id: s.schedule.id,
                agency: s.schedule.agency.clone(),
                unit: unit_label(&s.schedule.unit),
                schedule: lang.t(&format!("ops.schedule.{}", s.schedule.schedule.as_str())),
                grace: s.schedule.grace_days,
                start: day_label(lang, s.schedule.start),
                expected: c.expected,
                on_time: c.on_time,
                late: c.late,
                missing: c.missing,
                completeness: if c.expected == 0 {
                    "—".to_owned()
                } else {
                    pct(lang, submitted as u64, c.expected as u64)
                },
                periods: s
                    .periods
                    .iter()
                    .rev()
                    .take(REPORT_PERIODS)
                    .map(|(p, t)| PeriodView {
                        label: period_label(*p),
                        title: format!(
                            "{} – {} · {} {} · {}",
                            day_label(lang, p.start),
                            day_label(lang, p.end),
                            lang.t("ops.report.due"),
                            day_label(lang, campaign::due(*p, s.schedule.grace_days)),
                            lang.t(&format!("ops.report.{}", t.as_str())),
                        ),
                        status: lang.t(&format!("ops.report_short.{}", t.as_str())),
                        status_class: timeliness_class(*t),
                    })
                    .collect(),
                older,
                open: s
                    .periods
                    .iter()
                    .rev()
                    .filter(|(p, t)| {
                        matches!(t, Timeliness::Missing | Timeliness::NotDueYet) && p.start <= today
                    })
                    .map(|(p, t)| Opt {
                        value: iso(p.start),
                        label: format!(
                            "{} – {} ({})",
                            day_label(lang, p.start),
                            day_label(lang, p.end),
                            lang.t(&format!("ops.report.{}", t.as_str()))
                        ),
                        selected: false,
                    })
                    .collect(),
            }
        })
        .collect();
    let own = user.caller.staff.unit;
    Ok(ReportsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "reports"),
        scope: unit_label(&own),
        schedules,
        units: unit_options(&own, true, ""),
        form: ScheduleForm {
            schedule: Schedule::Weekly.as_str().to_owned(),
            grace: "2".to_owned(),
            start: iso(today),
            ..ScheduleForm::default()
        },
        submit_id: 0,
        body: String::new(),
        notice: None,
    })
}

/// `GET /ops/reports`
pub async fn reports(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = reports_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/reports/schedules`: `agency`, `unit`, `schedule`, `grace_days`, `start`.
pub async fn schedule_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let f = ScheduleForm {
        agency: form_value(&form, "agency"),
        unit: form_value(&form, "unit"),
        schedule: form_value(&form, "schedule"),
        grace: form_value(&form, "grace_days"),
        start: form_value(&form, "start"),
    };
    let done = async {
        let schedule = Schedule::parse(&f.schedule)
            .ok_or_else(|| AppError::bad("report.schedule", "schedule is weekly or monthly"))?;
        let grace_days = f
            .grace
            .parse::<u32>()
            .map_err(|_| AppError::bad("report.grace", "grace is a whole number of days"))?;
        let new = svc::NewSchedule {
            agency: f.agency.clone(),
            unit: f.unit.clone(),
            schedule,
            grace_days,
            start: svc::parse_day(&f.start, "start")?,
        };
        svc::add_schedule(&state, &user.caller, new).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/ops/reports?done=schedule").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = reports_page(&state, &user, "/ops/reports").await?;
            page.notice = Some(Notice::refused(lang, &e));
            for o in &mut page.units {
                o.selected = o.value == f.unit;
            }
            page.form = f;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /ops/reports/{id}/submit`: `period_day`, `body`.
pub async fn report_submit(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id: i64 = id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("report.schedule_not_found", "no schedule has this id"),
            lang,
        )
    })?;
    let body = form_value(&form, "body");
    let done = async {
        let day = svc::parse_day(&form_value(&form, "period_day"), "period_day")?;
        svc::submit_report(&state, &user.caller, id, day, body.clone()).await
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to("/ops/reports?done=report").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = reports_page(&state, &user, "/ops/reports").await?;
            page.notice = Some(Notice::refused(lang, &e));
            page.submit_id = id;
            page.body = body;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Peak campaigns

/// The values of the new-campaign form.
#[derive(Default)]
pub struct CampaignForm {
    pub name: String,
    pub slogan: String,
    pub unit: String,
    pub start: String,
    pub end: String,
}

#[derive(Template)]
#[template(path = "ops_campaigns.html")]
struct CampaignsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    campaigns: Vec<CampaignView>,
    units: Vec<Opt>,
    form: CampaignForm,
    notice: Option<Notice>,
}

async fn campaigns_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<CampaignsPage, ConsoleError> {
    let lang = user.lang;
    let today = state.today();
    let list = svc::campaigns(state, &user.caller, today)
        .await
        .map_err(console(lang))?;
    let own = user.caller.staff.unit;
    Ok(CampaignsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "campaigns"),
        scope: unit_label(&own),
        campaigns: list
            .iter()
            .map(|(c, b, d)| campaign_view(lang, c, *b, *d, today))
            .collect(),
        units: unit_options(&own, true, own.as_str()),
        form: CampaignForm {
            unit: own.as_str().to_owned(),
            start: iso(today),
            end: iso(today + Duration::days(20)),
            ..CampaignForm::default()
        },
        notice: None,
    })
}

/// `GET /ops/campaigns`
pub async fn campaigns(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = campaigns_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/campaigns`: `name`, `slogan`, `unit`, `start`, `end`.
pub async fn campaign_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let f = CampaignForm {
        name: form_value(&form, "name"),
        slogan: form_value(&form, "slogan"),
        unit: form_value(&form, "unit"),
        start: form_value(&form, "start"),
        end: form_value(&form, "end"),
    };
    let done = async {
        let new = svc::NewCampaign {
            name: f.name.clone(),
            slogan: f.slogan.clone(),
            unit: f.unit.clone(),
            start: svc::parse_day(&f.start, "start")?,
            end: svc::parse_day(&f.end, "end")?,
        };
        svc::add_campaign(&state, &user.caller, new).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/ops/campaigns?done=campaign").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = campaigns_page(&state, &user, "/ops/campaigns").await?;
            page.notice = Some(Notice::refused(lang, &e));
            for o in &mut page.units {
                o.selected = o.value == f.unit;
            }
            page.form = f;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::date;

    const STATUSES: &[Status] = &[Status::Met, Status::OnTrack, Status::AtRisk, Status::Behind];
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
        keys.extend(EXPORT_HEADERS.iter().map(|k| (*k).to_owned()));
        for key in keys {
            assert_ne!(Lang::Vi.t(&key), "??", "{key}");
            assert_ne!(Lang::En.t(&key), "??", "{key}");
        }
    }

    #[test]
    fn numbers_are_written_as_each_language_writes_them() {
        assert_eq!(num(Lang::Vi, 1_633_225), "1.633.225");
        assert_eq!(num(Lang::En, 1_633_225), "1,633,225");
        assert_eq!(pct(Lang::Vi, 1_633_225, 1_620_967), "100,76\u{a0}%");
        assert_eq!(pct(Lang::En, 2_330_383, 1_620_967), "143.76\u{a0}%");
        assert_eq!(fixed(Lang::Vi, 8595.43, 1), "8.595,4");
        assert_eq!(day_label(Lang::Vi, date!(2023 - 07 - 15)), "15/07/2023");
        assert_eq!(day_label(Lang::En, date!(2023 - 07 - 15)), "2023-07-15");
    }

    #[test]
    fn chart_steps_are_round() {
        assert_eq!(nice_step(421_013.0, 5.0), 100_000.0);
        assert_eq!(nice_step(618.0, 5.0), 200.0);
        assert_eq!(nice_step(3.0, 5.0), 1.0);
        assert_eq!(nice_step(1200.0, 5.0), 250.0);
    }

    #[test]
    fn the_chart_draws_the_required_line_the_actual_line_the_forecast_and_the_day() {
        let start = date!(2023 - 05 - 11);
        let daily: Vec<(i64, u64)> = (0..20).map(|i| (day_number(start) + i, 1_000)).collect();
        let svg = chart_svg(
            Lang::En,
            &ChartData {
                start,
                deadline: date!(2023 - 07 - 15),
                as_of: start + Duration::days(19),
                target: 421_013,
                done: 20_000,
                rate_7d: 1_000.0,
                daily: &daily,
            },
            false,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for class in [
            "ch-required",
            "ch-actual",
            "ch-forecast",
            "ch-today",
            "ch-target",
        ] {
            assert!(svg.contains(class), "{class}");
        }
        assert!(svg.contains(">11/05<") && svg.contains(">15/07<"), "{svg}");
        assert!(svg.contains("421,013"));
    }

    #[test]
    fn the_outreach_filters_round_trip_through_a_query_string() {
        let f = OutreachForm {
            commune: "23284".into(),
            missing: "no_account".into(),
            address: "Thôn 3".into(),
            min_age: "60".into(),
            max_age: String::new(),
            phone_type: "none".into(),
        };
        let q = f.query();
        assert_eq!(
            q,
            "commune=23284&missing=no_account&address=Th%C3%B4n%203&min_age=60&phone_type=none"
        );
        let back = back_query(&[("back".into(), q)]);
        let again = OutreachForm::from_query(&back);
        assert_eq!(again.address, "Thôn 3");
        assert_eq!(again.query(), f.query());
    }
}
