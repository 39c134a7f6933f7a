//! Cohorts and quotas set as a share of a base (`/ops/cohorts`, `/ops/share`): the cohorts of
//! the officer's unit and below with their member counts, the form to create one, a cohort's
//! page with the import of its members (a list of personal IDs, CSV or XLSX; bad lines by line
//! and reason, never the line's text) and its quotas; and the form that sets a quota as a share
//! of card holders, eligible people or a cohort, which shows the base's count and the number it
//! resolves to before saving ("Xem trước" is a GET of the same form; "Lưu" posts it).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::ops::{self, Base, QuotaBase};
use eid_domain::{campaign, Tree, UnitCode};
use time::Date;

use super::{console, metric_label, metric_options, tabs, unit_label, unit_options};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{form_value, Opt, Tab};
use crate::ui::format::{day_label, fixed, num, pct};

/// The outcomes `?done=` may name on these pages (`ops.done.<key>`).
const DONE: &[&str] = &["cohort_created"];

/// The base's name in the page's language.
fn base_label(lang: Lang, base: Base) -> &'static str {
    lang.t(&format!("ops.base.{}", base.as_str()))
}

/// A share in tenths of a percent as the language writes it ("65 %", "12,5 %").
fn share_label(lang: Lang, permille: u32) -> String {
    let decimals = u32::from(!permille.is_multiple_of(10));
    format!("{} %", fixed(lang, f64::from(permille) / 10.0, decimals))
}

/// The line the quota page shows for a quota set as a share of a base.
pub fn base_note(lang: Lang, b: &QuotaBase, cohort: &str, target: u64, on: Date) -> String {
    let base = if b.base == Base::Cohort {
        format!("{} «{}»", base_label(lang, b.base), cohort)
    } else {
        base_label(lang, b.base).to_owned()
    };
    super::fill(
        lang.t("ops.base.note"),
        &[
            ("share", share_label(lang, b.permille)),
            ("base", base),
            ("count", num(lang, b.count)),
            ("day", day_label(lang, on)),
            ("target", num(lang, target)),
        ],
    )
}

/// A cohort as the pages list it.
pub struct CohortRow {
    pub name: String,
    pub unit: String,
    pub members: String,
    pub href: String,
}

fn cohort_row(lang: Lang, c: &ops::Cohort) -> CohortRow {
    CohortRow {
        name: c.name.clone(),
        unit: unit_label(&c.unit),
        members: num(lang, c.members),
        href: format!("/ops/cohorts/{}", c.id),
    }
}

#[derive(Template)]
#[template(path = "ops_cohorts.html")]
struct CohortsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    cohorts: Vec<CohortRow>,
    units: Vec<Opt>,
    name: String,
    notice: Option<Notice>,
}

async fn cohorts_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<CohortsPage, ConsoleError> {
    let lang = user.lang;
    let list = svc::cohorts(state, &user.caller)
        .await
        .map_err(console(lang))?;
    let own = user.caller.unit();
    Ok(CohortsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "cohorts"),
        scope: unit_label(&own),
        cohorts: list.iter().map(|c| cohort_row(lang, c)).collect(),
        units: unit_options(&own, own != UnitCode::NATION, own.as_str()),
        name: String::new(),
        notice: None,
    })
}

/// `GET /ops/cohorts`
pub async fn cohorts(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = cohorts_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/cohorts`: `unit`, `name`.
pub async fn cohort_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let (unit, name) = (form_value(&form, "unit"), form_value(&form, "name"));
    let done = async {
        let code = crate::access::parse_unit(&unit, Tree::Gso2024)?.code;
        svc::create_cohort(&state, &user.caller, code, name.clone()).await
    }
    .await;
    match done {
        Ok(c) => {
            Ok(Redirect::to(&format!("/ops/cohorts/{}?done=cohort_created", c.id)).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = cohorts_page(&state, &user, "/ops/cohorts").await?;
            page.notice = Some(Notice::refused(lang, &e));
            for o in &mut page.units {
                o.selected = o.value == unit;
            }
            page.name = name;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// A members import's outcome, for the page.
pub struct MembersView {
    pub file_name: String,
    pub added: String,
    pub already: String,
    pub bad: Vec<(String, String)>,
}

/// A bad line's reason in the page's language (the core writes it in English).
fn member_reason(lang: Lang, reason: &str) -> String {
    let key = match reason {
        "not a personal ID (12 digits)" => "ops.cohort.bad.not_id",
        "the same personal ID as an earlier line" => "ops.cohort.bad.repeat",
        "no person of the register has this personal ID" => "ops.cohort.bad.unknown",
        "the person does not live in the cohort's unit" => "ops.cohort.bad.outside",
        _ => return reason.to_owned(),
    };
    lang.t(key).to_owned()
}

/// A quota of the cohort, listed on its page.
pub struct CohortQuota {
    pub href: String,
    pub metric: String,
    pub target: String,
    pub done: String,
    pub percent: String,
    pub deadline: String,
}

#[derive(Template)]
#[template(path = "ops_cohort.html")]
struct CohortPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    id: i64,
    cohort: CohortRow,
    quotas: Vec<CohortQuota>,
    share_href: String,
    report: Option<MembersView>,
    notice: Option<Notice>,
}

async fn cohort_page(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
    here_path: &str,
) -> Result<CohortPage, ConsoleError> {
    let lang = user.lang;
    let c = svc::cohort(state, &user.caller, id)
        .await
        .map_err(console(lang))?;
    let today = state.today();
    let quotas = svc::quotas_with_progress(state, &user.caller, &c.unit, false, today)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.quota.cohort == c.name)
        .map(|p| CohortQuota {
            href: format!("/ops/quotas/{}", p.quota.id),
            metric: metric_label(lang, p.quota.metric.as_str()),
            target: num(lang, p.quota.target),
            done: num(lang, p.done),
            percent: pct(lang, p.done, p.quota.target),
            deadline: day_label(lang, p.quota.deadline),
        })
        .collect();
    let may_set = ops::service::may_set_quota(&user.caller, &c.unit);
    Ok(CohortPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "cohorts"),
        id,
        share_href: if may_set {
            format!(
                "/ops/share?unit={}&base=cohort&cohort={}",
                c.unit.as_str(),
                crate::console::percent_encode(&c.name)
            )
        } else {
            String::new()
        },
        cohort: cohort_row(lang, &c),
        quotas,
        report: None,
        notice: None,
    })
}

fn cohort_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("cohort.not_found", "no cohort has this id"),
            lang,
        )
    })
}

/// `GET /ops/cohorts/{id}`
pub async fn cohort(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let id = cohort_id(&id, user.lang)?;
    let mut page = cohort_page(&state, &user, id, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/cohorts/{id}/members` (multipart): `csrf`, `file` (CSV or XLSX).
pub async fn cohort_members(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    mut parts: Multipart,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = cohort_id(&id, lang)?;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Vec<u8> = Vec::new();
    let mut file_name = String::new();
    while let Ok(Some(field)) = parts.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("").to_owned();
            file = field.bytes().await.map(|b| b.to_vec()).map_err(|_| {
                ConsoleError(
                    AppError::bad("cohort.file", "the file did not arrive whole"),
                    lang,
                )
            })?;
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    user.check_csrf(&fields)?;
    let r = svc::import_members(&state, &user.caller, id, file).await;
    let path = format!("/ops/cohorts/{id}");
    match r {
        Ok(rep) => {
            let mut page = cohort_page(&state, &user, id, &path).await?;
            page.notice = Some(Notice {
                ok: true,
                text: super::fill(
                    lang.t("ops.cohort.imported"),
                    &[("n", num(lang, rep.added as u64))],
                ),
                detail: String::new(),
                code: "",
            });
            page.report = Some(MembersView {
                file_name,
                added: num(lang, rep.added as u64),
                already: num(lang, rep.already as u64),
                bad: rep
                    .bad
                    .iter()
                    .take(500)
                    .map(|b| (num(lang, b.line), member_reason(lang, &b.reason)))
                    .collect(),
            });
            render(&page)
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = cohort_page(&state, &user, id, &path).await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// The share-of-base form's values.
#[derive(Default, Clone)]
pub struct ShareForm {
    pub unit: String,
    pub metric: String,
    pub base: String,
    pub cohort: String,
    pub percent: String,
    pub start: String,
    pub deadline: String,
    pub reason: String,
}

impl ShareForm {
    fn from_map(m: &HashMap<String, String>) -> ShareForm {
        ShareForm {
            unit: form_value(m, "unit"),
            metric: form_value(m, "metric"),
            base: form_value(m, "base"),
            cohort: form_value(m, "cohort"),
            percent: form_value(m, "percent"),
            start: form_value(m, "start"),
            deadline: form_value(m, "deadline"),
            reason: form_value(m, "reason"),
        }
    }
}

/// What the share resolves to, shown before saving.
pub struct Preview {
    pub base: String,
    pub count: String,
    pub share: String,
    pub target: String,
    pub as_of: String,
}

#[derive(Template)]
#[template(path = "ops_share.html")]
struct SharePage {
    page: PageCtx,
    tabs: Vec<Tab>,
    units: Vec<Opt>,
    metrics: Vec<Opt>,
    bases: Vec<Opt>,
    cohorts: Vec<Opt>,
    form: ShareForm,
    preview: Option<Preview>,
    notice: Option<Notice>,
}

/// A percentage typed as "65", "65,5" or "65.5", in tenths of a percent.
fn parse_percent(raw: &str) -> Result<u32, AppError> {
    let t = raw.trim().trim_end_matches('%').trim().replace(',', ".");
    t.parse::<f64>()
        .ok()
        .map(|p| p * 10.0)
        .filter(|p| p.is_finite() && (p - p.round()).abs() < 1e-6 && *p >= 1.0 && *p <= 1000.0)
        .map(|p| p.round() as u32)
        .ok_or_else(|| {
            AppError::from(eid_core::Error::bad(
                "quota.share",
                "percent is from 0.1 to 100, with at most one decimal",
            ))
        })
}

fn parse_base(raw: &str) -> Result<Base, AppError> {
    Base::parse(raw.trim()).ok_or_else(|| {
        AppError::from(eid_core::Error::bad(
            "quota.base",
            "base is card_holders, eligible or cohort",
        ))
    })
}

async fn share_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
    form: ShareForm,
) -> Result<SharePage, ConsoleError> {
    let lang = user.lang;
    let own = user.caller.unit();
    let list = svc::cohorts(state, &user.caller)
        .await
        .map_err(console(lang))?;
    let mut cohorts: Vec<Opt> = vec![Opt {
        value: String::new(),
        label: lang.t("ops.share.no_cohort").to_owned(),
        selected: form.cohort.is_empty(),
    }];
    let mut names: Vec<&str> = list
        .iter()
        .filter(|c| c.unit != own || own == UnitCode::NATION)
        .map(|c| c.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    cohorts.extend(names.into_iter().map(|n| Opt {
        value: n.to_owned(),
        label: n.to_owned(),
        selected: n == form.cohort,
    }));
    let bases = [Base::CardHolders, Base::Eligible, Base::Cohort]
        .iter()
        .map(|b| Opt {
            value: b.as_str().to_owned(),
            label: base_label(lang, *b).to_owned(),
            selected: b.as_str() == form.base,
        })
        .collect();
    Ok(SharePage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "cohorts"),
        units: unit_options(&own, false, &form.unit),
        metrics: metric_options(lang, &form.metric),
        bases,
        cohorts,
        form,
        preview: None,
        notice: None,
    })
}

/// `GET /ops/share?unit=&metric=&base=&cohort=&percent=&start=&deadline=&reason=&preview=1`:
/// the form, and with `preview` what the share resolves to today (nothing saved).
pub async fn share(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let today = state.today();
    let mut form = ShareForm::from_map(&q);
    if form.base.is_empty() {
        form.base = Base::CardHolders.as_str().to_owned();
    }
    if form.metric.is_empty() {
        form.metric = campaign::Metric::Level2Activated.as_str().to_owned();
    }
    if form.start.is_empty() {
        form.start = day_label(Lang::Vi, today);
    }
    if form.deadline.is_empty() {
        form.deadline = day_label(Lang::Vi, campaign::shift_days(today, 60));
    }
    let mut page = share_page(&state, &user, &here(&uri), form.clone()).await?;
    if q.contains_key("preview") {
        let r = async {
            let unit = crate::access::parse_unit(&form.unit, Tree::Gso2024)?.code;
            let base = parse_base(&form.base)?;
            let permille = parse_percent(&form.percent)?;
            let cohort = if base == Base::Cohort {
                form.cohort.clone()
            } else {
                String::new()
            };
            let (count, target) =
                svc::preview_share(&state, &user.caller, unit, base, cohort, permille).await?;
            Ok::<_, AppError>((base, permille, count, target))
        }
        .await;
        match r {
            Ok((base, permille, count, target)) => {
                page.preview = Some(Preview {
                    base: base_label(lang, base).to_owned(),
                    count: num(lang, count),
                    share: share_label(lang, permille),
                    target: num(lang, target),
                    as_of: day_label(lang, today),
                });
            }
            Err(e) => {
                let e = in_place(e, lang)?;
                page.notice = Some(Notice::refused(lang, &e));
                return render(&page).map(|r| (e.status(), r).into_response());
            }
        }
    }
    page.notice = page.notice.or_else(|| Notice::done(lang, &q, "ops", DONE));
    render(&page)
}

/// `POST /ops/share`: the form's fields — sets the quota (audited as `quota.set`).
pub async fn share_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(m): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&m)?;
    let lang = user.lang;
    let f = ShareForm::from_map(&m);
    let saved = async {
        let base = parse_base(&f.base)?;
        let q = eid_core::ops::service::ShareQuota {
            unit: crate::access::parse_unit(&f.unit, Tree::Gso2024)?.code,
            metric: f.metric.clone(),
            cohort: if base == Base::Cohort {
                f.cohort.trim().to_owned()
            } else {
                String::new()
            },
            base,
            permille: parse_percent(&f.percent)?,
            start: svc::parse_any_day(&f.start, "start")?,
            deadline: svc::parse_any_day(&f.deadline, "deadline")?,
        };
        svc::set_quota_share(&state, &user.caller, q, f.reason.clone()).await
    }
    .await;
    match saved {
        Ok(q) => Ok(Redirect::to(&format!("/ops/quotas/{}?done=quota_set", q.id)).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = share_page(&state, &user, "/ops/share", f).await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
