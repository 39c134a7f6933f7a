//! A quota's page: its chart, the children and whether they add up, capacity, the history of
//! target changes, and the forms to change the target and to split it.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::ops;
use eid_core::store::Role;
use eid_core::Actor;
use eid_domain::campaign;
use eid_domain::{iso, Tree, Units};

use super::{
    as_of_param, bar_svg, capacity_reason, console, figure, figures, fill, forecast_label,
    metric_label, mismatch, parse_target, period_note, quota_id, rank_rows, required_label,
    status_class, status_label, tabs, unit_label, Figure, RankRow, DONE,
};
use crate::console::i18n::Lang;
use crate::console::pages::{here, local};
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::chart::{chart_svg, ChartData};
use crate::ui::form::{form_value, Tab};
use crate::ui::format::{day_label, num, pct, pct_f};

/// A child quota as listed.
pub struct ChildRow {
    pub href: String,
    pub unit: String,
    pub target: String,
    pub done: String,
    pub percent: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// Its required daily rate (one decimal, rounded up), days left and forecast date.
    pub required: String,
    pub days_left: String,
    pub forecast: String,
    pub forecast_class: &'static str,
    /// What the row sorts by.
    pub raw: super::sort::Raw,
}

/// One change of the target.
pub struct HistRow {
    pub at: String,
    pub actor: String,
    pub old: String,
    pub new: String,
    pub reason: String,
}

/// The confirmation a manual split that does not add up needs: what is over or under.
pub struct SplitConfirm {
    pub text: String,
    /// The difference confirmed (children's sum minus the target).
    pub difference: String,
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
    /// The as-of day against the quota's period (before its start, after its deadline, its
    /// first day), or empty.
    period_note: String,
    /// Why the quota is beyond capacity, or empty.
    capacity_reason: String,
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
    /// The sortable headers of the ranking and of the children.
    rank_heads: Vec<super::sort::Head>,
    child_heads: Vec<super::sort::Head>,
    capacity: Vec<Figure>,
    capacity_note: &'static str,
    /// The deadline has passed: no capacity to plan.
    closed: bool,
    history: Vec<HistRow>,
    can_target: bool,
    can_split: bool,
    parts: Vec<PartInput>,
    confirm: Option<SplitConfirm>,
    target_value: String,
    reason: String,
    notice: Option<Notice>,
    /// Figures reported for the quota's unit in its period, shown apart with the rule.
    reported_rows: Vec<super::reported::FigureRow>,
    rule: &'static str,
    /// For a quota set as a share of a base: the base, the share, the count it was resolved
    /// from and when; empty otherwise.
    base_note: String,
}

/// Display names of the staff and of the API tokens' owners behind a page's actors.
#[derive(Default)]
pub(super) struct Names {
    staff: HashMap<i64, String>,
    tokens: HashMap<i64, String>,
}

pub(super) fn actor_label(lang: Lang, actor: &Actor, names: &Names) -> String {
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

pub(super) async fn actor_names(state: &AppState, actors: Vec<Actor>) -> Result<Names, AppError> {
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

/// A change's reason as shown: the core's own note of a split ("split from quota N") in the
/// page's language, anything else as the officer wrote it.
fn history_reason(lang: Lang, reason: &str) -> String {
    match reason
        .strip_prefix("split from quota ")
        .and_then(|n| n.parse::<i64>().ok())
    {
        Some(n) => fill(lang.t("ops.quota.split_from"), &[("id", n.to_string())]),
        None => reason.to_owned(),
    }
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
    let reported_rows = super::reported::quota_figures(state, user, &quota, as_of).await;
    let by_rank = super::sort::Sort {
        key: "rank",
        desc: false,
    };
    let rank_sort = super::sort::sort_from(q, &super::sort::RANKING);
    let child_sort = super::sort::sort_from(q, &super::sort::CHILDREN);
    let base_note = quota.base.map_or_else(String::new, |b| {
        let resolved_on = d.history.last().map_or(quota.start, |h| {
            h.at.to_offset(eid_core::clock::vietnam()).date()
        });
        super::cohorts::base_note(lang, &b, &quota.cohort, quota.target, resolved_on)
    });
    Ok(QuotaPage {
        base_note,
        reported_rows,
        rule: super::reported::rule_text(lang),
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
        period_note: period_note(lang, p, as_of),
        capacity_reason: capacity_reason(lang, p, &cap),
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
                raw: super::sort::Raw::of(
                    unit_label(&c.quota.unit),
                    c.done,
                    c.quota.target,
                    &c.progress,
                ),
                href: if eid_core::ops::service::may_see_quota(caller, &c.quota) {
                    format!("/ops/quotas/{}", c.quota.id)
                } else {
                    String::new()
                },
                unit: unit_label(&c.quota.unit),
                target: num(lang, c.quota.target),
                done: num(lang, c.done),
                percent: pct(lang, c.done, c.quota.target),
                status: status_label(lang, c.progress.status),
                status_class: status_class(c.progress.status),
                required: required_label(lang, &c.progress),
                days_left: num(lang, c.progress.days_left.max(0).unsigned_abs()),
                forecast: forecast_label(lang, c).0,
                forecast_class: forecast_label(lang, c).1,
            })
            .collect::<Vec<_>>()
            .tap_sort(child_sort.as_ref()),
        children_sum: p.children_sum.map(|s| num(lang, s)).unwrap_or_default(),
        mismatch: mismatch(lang, p),
        split_ok: p.children_sum == Some(quota.target),
        ranking: {
            let mut rows = rank_rows(lang, caller, &d.ranking, &d.children);
            super::sort::apply(&mut rows, rank_sort.as_ref(), |r, k| r.raw.key(k));
            rows
        },
        rank_heads: super::sort::heads(
            lang,
            &super::sort::RANKING,
            Some(rank_sort.as_ref().unwrap_or(&by_rank)),
            &format!("/ops/quotas/{id}"),
            q,
            "#ranking",
        ),
        child_heads: super::sort::heads(
            lang,
            &super::sort::CHILDREN,
            child_sort.as_ref(),
            &format!("/ops/quotas/{id}"),
            q,
            "#children",
        ),
        capacity,
        closed: p.period == ops::Period::After,
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
                reason: history_reason(lang, &h.reason),
            })
            .collect(),
        can_target: above,
        can_split: inside && !below.is_empty(),
        parts,
        confirm: None,
        target_value: quota.target.to_string(),
        reason: String::new(),
        notice: Notice::done(lang, q, "ops", DONE),
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
                None => match form_value(&form, "accept_difference").parse::<i128>() {
                    Ok(difference) => Ok(ops::Split::ManualAccepting { parts, difference }),
                    Err(_) => Ok(ops::Split::Manual(parts)),
                },
            }
        }
        _ => Err(AppError::bad(
            "split.mode",
            "mode is proportional or manual",
        )),
    };
    // The parts as given, to say by how much a split that does not add up is over or under.
    let given = match &how {
        Ok(ops::Split::Manual(parts) | ops::Split::ManualAccepting { parts, .. }) => parts.clone(),
        _ => Vec::new(),
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
            if e.code() == "split.mismatch" {
                // The confirmation below says it in the page's language.
                if let Some(n) = page.notice.as_mut() {
                    n.detail = String::new();
                }
                let q = svc::quota(&state, &user.caller, id)
                    .await
                    .map_err(console(lang))?;
                let check = state
                    .blocking(move |store| Ok(ops::manual_check(store, &q, &given)?))
                    .await
                    .map_err(console(lang))?;
                let by = u64::try_from(check.difference.unsigned_abs()).unwrap_or(u64::MAX);
                let sum = u64::try_from(check.children_sum).unwrap_or(u64::MAX);
                page.confirm = Some(SplitConfirm {
                    text: fill(
                        lang.t(if check.difference > 0 {
                            "ops.split.confirm_over"
                        } else {
                            "ops.split.confirm_under"
                        }),
                        &[
                            ("sum", num(lang, sum)),
                            ("diff", num(lang, by)),
                            ("target", num(lang, check.parent)),
                        ],
                    ),
                    difference: check.difference.to_string(),
                });
            }
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// Sorting a built list in place, inside a struct literal.
trait TapSort {
    fn tap_sort(self, sort: Option<&super::sort::Sort>) -> Self;
}

impl TapSort for Vec<ChildRow> {
    fn tap_sort(mut self, sort: Option<&super::sort::Sort>) -> Self {
        super::sort::apply(&mut self, sort, |r, k| r.raw.key(k));
        self
    }
}
