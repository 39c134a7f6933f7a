//! The dashboard of a unit (`/ops`) and the form that sets a quota for a unit below.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::ops;
use eid_core::store::Role;
use eid_domain::campaign::{self, Timeliness};
use eid_domain::{iso, Level, Tree, Units};
use time::{Date, Duration};

use super::{
    as_of_param, bar_svg, campaign_view, console, figures, metric_label, metric_options, mismatch,
    parse_target, period_note, rank_rows, required_label, status_class, status_label, tabs,
    timeliness_class, unit_label, unit_options, CampaignView, Figure, RankRow, DONE,
};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::chart::{chart_svg, ChartData};
use crate::ui::form::{form_value, Opt, Tab};
use crate::ui::format::{day_label, num, pct};

/// Late and missing reports listed on the dashboard.
const DASH_REPORTS: usize = 8;

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
    /// The as-of day against the quota's period, or empty.
    pub period_note: String,
}

/// The ranking of the units below for one quota.
pub struct RankingBlock {
    pub title: String,
    pub href: String,
    pub rows: Vec<RankRow>,
}

/// One province of the national ranking of a metric.
pub struct ProvinceRow {
    pub rank: usize,
    pub unit: String,
    pub code: String,
    pub href: String,
    pub done: String,
    pub target: String,
    pub percent: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub required: String,
    pub days_left: String,
    pub forecast: String,
    pub forecast_class: &'static str,
    /// What the row sorts by.
    pub raw: super::sort::Raw,
}

/// The national ranking of one metric.
pub struct NationalBlock {
    pub title: String,
    pub metric: String,
    pub rows: Vec<ProvinceRow>,
    /// The slowest provinces' names, lowest % first.
    pub slowest: String,
}

/// The ministry's national view.
pub struct NationalView {
    pub tree: &'static str,
    pub blocks: Vec<NationalBlock>,
    pub met_both: String,
    pub met_both_count: usize,
    pub with_both: usize,
}

fn national_view(lang: Lang, n: &ops::National) -> NationalView {
    let name = |u: &eid_domain::UnitCode| crate::ops::wire::name_in(n.tree, u);
    let blocks = n
        .metrics
        .iter()
        .map(|m| NationalBlock {
            title: metric_label(lang, m.metric.as_str()),
            metric: m.metric.as_str().to_owned(),
            rows: m
                .rows
                .iter()
                .map(|r| {
                    let (forecast, forecast_class) =
                        match (r.progress.status, r.progress.forecast_met_on) {
                            (campaign::Status::Missed, _) => {
                                (lang.t("ops.fig.closed").to_owned(), "bad")
                            }
                            (campaign::Status::TooEarly | campaign::Status::NotStarted, _) => {
                                ("—".to_owned(), "")
                            }
                            (_, Some(d)) if d > r.deadline => (day_label(lang, d), "date bad"),
                            (_, Some(d)) => (day_label(lang, d), "date"),
                            (_, None) => (lang.t("ops.fig.never").to_owned(), "bad"),
                        };
                    let mut raw =
                        super::sort::Raw::of(name(&r.unit), r.done, r.target, &r.progress);
                    raw.rank = Some(r.rank as f64);
                    ProvinceRow {
                        raw,
                        rank: r.rank,
                        unit: name(&r.unit),
                        code: r.unit.as_str().to_owned(),
                        href: r
                            .quota_id
                            .map(|id| format!("/ops/quotas/{id}"))
                            .unwrap_or_default(),
                        done: num(lang, r.done),
                        target: num(lang, r.target),
                        percent: pct(lang, r.done, r.target),
                        status: status_label(lang, r.progress.status),
                        status_class: status_class(r.progress.status),
                        required: required_label(lang, &r.progress),
                        days_left: num(lang, r.progress.days_left.max(0).unsigned_abs()),
                        forecast,
                        forecast_class,
                    }
                })
                .collect(),
            slowest: m.slowest.iter().map(name).collect::<Vec<_>>().join(", "),
        })
        .collect();
    NationalView {
        tree: n.tree.as_str(),
        blocks,
        met_both: n.met_both.iter().map(name).collect::<Vec<_>>().join(", "),
        met_both_count: n.met_both.len(),
        with_both: n.with_both,
    }
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
    /// The ministry's national view (on the nation's dashboard).
    national: Option<NationalView>,
    rankings: Vec<RankingBlock>,
    /// The sortable headers of the rankings and of the national view.
    rank_heads: Vec<super::sort::Head>,
    nat_heads: Vec<super::sort::Head>,
    reports: Vec<ReportLine>,
    reports_more: usize,
    campaigns: Vec<CampaignView>,
    may_set: bool,
    units: Vec<Opt>,
    metrics: Vec<Opt>,
    form: QuotaForm,
    notice: Option<Notice>,
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
            period_note: period_note(lang, &d.progress, as_of),
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
                rows: rank_rows(lang, caller, &d.ranking, &d.children),
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
    let national = if unit == eid_domain::UnitCode::NATION {
        let tree = crate::ops::wire::parse_tree(q.get("tree").map(String::as_str))
            .map_err(console(lang))?;
        let n = svc::national(state, caller, tree, as_of)
            .await
            .map_err(console(lang))?;
        Some(national_view(lang, &n))
    } else {
        None
    };
    // Sorted by the column the page asks for (`?sort=&dir=`), by rank otherwise.
    use super::sort::{self, Sort};
    let by_rank = Sort {
        key: "rank",
        desc: false,
    };
    let rank_sort = sort::sort_from(q, &sort::RANKING);
    for b in &mut rankings {
        sort::apply(&mut b.rows, rank_sort.as_ref(), |r, k| r.raw.key(k));
    }
    let nat_sort = sort::sort_from(q, &sort::NATIONAL);
    let mut national = national;
    if let Some(n) = national.as_mut() {
        for b in &mut n.blocks {
            sort::apply(&mut b.rows, nat_sort.as_ref(), |r, k| r.raw.key(k));
        }
    }
    let rank_heads = sort::heads(
        lang,
        &sort::RANKING,
        Some(rank_sort.as_ref().unwrap_or(&by_rank)),
        "/ops",
        q,
        "#rankings",
    );
    let nat_heads = sort::heads(
        lang,
        &sort::NATIONAL,
        Some(nat_sort.as_ref().unwrap_or(&by_rank)),
        "/ops",
        q,
        "#national",
    );
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
        national,
        rankings,
        rank_heads,
        nat_heads,
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
