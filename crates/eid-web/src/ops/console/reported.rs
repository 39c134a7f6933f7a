//! Reported figures (`/ops/reported`): the daily figures of units that do not run eid, entered
//! by hand or imported from a CSV or XLSX file by the level above, shown apart from recorded
//! counts (a "báo cáo" badge and the rule's legend) with their provenance; a figure's page with
//! every version and the form to correct it. Forms carry the CSRF token; the import form is
//! `multipart/form-data` (a file input works without JavaScript).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::ops::service::{may_report, FigureIn, ImportIn, ImportReport};
use eid_core::ops::{self, Put, ReportedFigure, ReportedVersion};
use eid_domain::{campaign, Metric, Tree, UnitCode, Units};

use super::{console, metric_label, tabs, unit_label};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{form_value, Opt, Tab};
use crate::ui::format::{day_label, num};

/// The outcomes `?done=` may name on these pages (`ops.done.<key>`).
const DONE: &[&str] = &[
    "reported_created",
    "reported_corrected",
    "reported_unchanged",
];

/// A figure as the pages list it.
pub struct FigureRow {
    pub id: i64,
    pub day: String,
    pub unit: String,
    pub metric: String,
    pub count: String,
    pub counted: bool,
    pub source: String,
    pub version: i64,
    /// Whether the viewer may open the figure's page (always: they see its unit).
    pub href: String,
}

pub fn figure_row(lang: Lang, f: &ReportedFigure) -> FigureRow {
    FigureRow {
        id: f.id,
        day: day_label(lang, f.day),
        unit: unit_label(&f.unit),
        metric: metric_label(lang, f.metric.as_str()),
        count: num(lang, f.count),
        counted: f.counted,
        source: f.latest.source.clone(),
        version: f.version,
        href: format!("/ops/reported/{}", f.id),
    }
}

/// The rule in the page's language.
pub fn rule_text(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => ops::REPORTED_RULE_VI,
        Lang::En => ops::REPORTED_RULE,
    }
}

/// The entry form's values.
#[derive(Default, Clone)]
pub struct EntryForm {
    pub unit: String,
    pub day: String,
    pub metric: String,
    pub count: String,
    pub source: String,
    pub reason: String,
}

/// An import's outcome, for the page.
pub struct ImportView {
    pub applied: bool,
    pub file_name: String,
    pub sha256: String,
    pub rows: String,
    pub created: String,
    pub corrected: String,
    pub unchanged: String,
    pub bad: Vec<(String, String)>,
}

fn import_view(lang: Lang, file_name: &str, r: &ImportReport) -> ImportView {
    ImportView {
        applied: r.applied,
        file_name: file_name.to_owned(),
        sha256: r.sha256.clone(),
        rows: num(lang, r.rows as u64),
        created: num(lang, r.created as u64),
        corrected: num(lang, r.corrected as u64),
        unchanged: num(lang, r.unchanged as u64),
        bad: r
            .bad
            .iter()
            .take(500)
            .map(|b| (num(lang, b.line), reason_text(lang, &b.reason)))
            .collect(),
    }
}

/// A bad row's reason in the page's language: the core writes it in English; the known forms
/// are put into Vietnamese here (the quoted value kept), anything else is shown as it is.
fn reason_text(lang: Lang, reason: &str) -> String {
    if lang == Lang::En {
        return reason.to_owned();
    }
    const FORMS: &[(&str, &str)] = &[
        ("is not a unit code", "không phải mã đơn vị"),
        (
            "is not a day (dd/mm/yyyy or YYYY-MM-DD)",
            "không phải ngày (dd/mm/yyyy hoặc yyyy-mm-dd)",
        ),
        ("is not a metric", "không phải chỉ số"),
        ("is not a whole number", "không phải số nguyên không âm"),
        (
            "is not a unit below yours",
            "không phải đơn vị cấp dưới của bạn",
        ),
        (
            "a figure is reported for today or a day before",
            "chỉ báo cáo số của hôm nay hoặc các ngày trước",
        ),
        (
            "the same unit, day and metric as line",
            "trùng đơn vị, ngày và chỉ số với dòng",
        ),
        (
            "say where the figure comes from (or give the import a source)",
            "cần ghi nguồn (hoặc ghi nguồn chung cho tệp)",
        ),
        (
            "a unit above this one already has a figure for this metric and day",
            "đơn vị cấp trên đã có số cho chỉ số và ngày này",
        ),
        (
            "a unit below this one already has a figure for this metric and day",
            "đơn vị cấp dưới đã có số cho chỉ số và ngày này",
        ),
        ("say why it is corrected", "cần ghi lý do sửa"),
        ("the figure is", "số đã có là"),
        (
            "cards issued are read from the register; report applications or accounts",
            "số thẻ đã cấp lấy từ sổ dân cư; chỉ báo cáo hồ sơ và tài khoản",
        ),
        (
            "a day's count is at most 10,000,000",
            "số của một ngày tối đa 10.000.000",
        ),
        ("unit:", "đơn vị:"),
        ("day:", "ngày:"),
        ("metric:", "chỉ số:"),
        ("count:", "số lượng:"),
        ("source:", "nguồn:"),
    ];
    FORMS
        .iter()
        .fold(reason.to_owned(), |t, (en, vi)| t.replace(en, vi))
}

#[derive(Template)]
#[template(path = "ops_reported.html")]
struct ReportedPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    rule: &'static str,
    reported_rows: Vec<FigureRow>,
    /// Units the viewer may report for (empty: no forms).
    units: Vec<Opt>,
    metrics: Vec<Opt>,
    form: EntryForm,
    import: Option<ImportView>,
    notice: Option<Notice>,
}

/// The units below `own` the officer may report for: the children, and their children when
/// that keeps the list short.
fn report_units(user: &ConsoleUser, selected: &str) -> Vec<Opt> {
    let units = Units::get();
    let own = user.caller.unit();
    let mut out = Vec::new();
    let kids = units.children(Tree::Gso2024, &own);
    let deep = kids
        .iter()
        .map(|k| units.children(Tree::Gso2024, &k.code).len())
        .sum::<usize>()
        <= 400;
    for k in kids {
        if may_report(&user.caller, &k.code) {
            out.push(Opt {
                value: k.code.as_str().to_owned(),
                label: format!("{} ({})", k.name, k.code.as_str()),
                selected: k.code.as_str() == selected,
            });
        }
        if deep {
            for g in units.children(Tree::Gso2024, &k.code) {
                out.push(Opt {
                    value: g.code.as_str().to_owned(),
                    label: format!("— {} ({})", g.name, g.code.as_str()),
                    selected: g.code.as_str() == selected,
                });
            }
        }
    }
    out
}

fn counted_metrics(lang: Lang, selected: &str) -> Vec<Opt> {
    campaign::Metric::ALL
        .iter()
        .filter(|m| ops::counted(**m))
        .map(|m| Opt {
            value: m.as_str().to_owned(),
            label: metric_label(lang, m.as_str()),
            selected: m.as_str() == selected,
        })
        .collect()
}

async fn reported_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
    unit: Option<&str>,
) -> Result<ReportedPage, ConsoleError> {
    let lang = user.lang;
    let unit = svc::unit_in_scope(&user.caller, unit).map_err(console(lang))?;
    let today = state.today();
    let figs = svc::figures(
        state,
        &user.caller,
        unit,
        None,
        campaign::shift_days(today, -120),
        today,
    )
    .await
    .map_err(console(lang))?;
    let units = report_units(user, "");
    let form = EntryForm {
        unit: units.first().map(|o| o.value.clone()).unwrap_or_default(),
        day: day_label(Lang::Vi, campaign::shift_days(today, -1)),
        metric: Metric::ApplicationsCollected.as_str().to_owned(),
        ..EntryForm::default()
    };
    Ok(ReportedPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "reported"),
        scope: unit_label(&unit),
        rule: rule_text(lang),
        reported_rows: figs.iter().take(300).map(|f| figure_row(lang, f)).collect(),
        metrics: counted_metrics(lang, &form.metric),
        units,
        form,
        import: None,
        notice: None,
    })
}

/// `GET /ops/reported?unit=`
pub async fn reported(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = reported_page(
        &state,
        &user,
        &here(&uri),
        q.get("unit").map(String::as_str),
    )
    .await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

fn put_key(p: Put) -> &'static str {
    match p {
        Put::Created => "reported_created",
        Put::Corrected => "reported_corrected",
        Put::Unchanged => "reported_unchanged",
    }
}

/// `POST /ops/reported`: `unit`, `day` (dd/mm/yyyy), `metric`, `count`, `source`, `reason`.
pub async fn reported_enter(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let f = EntryForm {
        unit: form_value(&form, "unit"),
        day: form_value(&form, "day"),
        metric: form_value(&form, "metric"),
        count: form_value(&form, "count"),
        source: form_value(&form, "source"),
        reason: form_value(&form, "reason"),
    };
    let done = async {
        let unit = crate::access::parse_unit(&f.unit, Tree::Gso2024)?.code;
        let metric = Metric::parse(&f.metric).ok_or_else(|| {
            AppError::from(eid_core::Error::bad("metric.invalid", "choose a metric"))
        })?;
        let count = ops::parse_count(&f.count).ok_or_else(|| {
            AppError::from(eid_core::Error::bad(
                "reported.count",
                "the count is a whole number",
            ))
        })?;
        let input = FigureIn {
            unit,
            metric,
            day: svc::parse_any_day(&f.day, "day")?,
            count,
            source: f.source.clone(),
            reason: f.reason.clone(),
        };
        svc::enter_figure(&state, &user.caller, input).await
    }
    .await;
    match done {
        Ok((_, put)) => {
            Ok(Redirect::to(&format!("/ops/reported?done={}", put_key(put))).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = reported_page(&state, &user, "/ops/reported", None).await?;
            page.notice = Some(Notice::refused(lang, &e));
            page.units = report_units(&user, &f.unit);
            page.metrics = counted_metrics(lang, &f.metric);
            page.form = f;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /ops/reported/import` (multipart): `csrf`, `file`, `source`, `reason`, `skip_bad`.
pub async fn reported_import(
    State(state): State<AppState>,
    user: ConsoleUser,
    mut parts: Multipart,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Vec<u8> = Vec::new();
    let mut file_name = String::new();
    while let Ok(Some(field)) = parts.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("").to_owned();
            file = field.bytes().await.map(|b| b.to_vec()).map_err(|_| {
                ConsoleError(
                    AppError::bad("reported.file", "the file did not arrive whole"),
                    lang,
                )
            })?;
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    user.check_csrf(&fields)?;
    let how = ImportIn {
        file_name: file_name.clone(),
        source: form_value(&fields, "source"),
        reason: form_value(&fields, "reason"),
        skip_bad: fields
            .get("skip_bad")
            .is_some_and(|v| v == "on" || v == "true"),
    };
    let r = svc::import_figures(&state, &user.caller, file, how).await;
    let mut page = reported_page(&state, &user, "/ops/reported", None).await?;
    match r {
        Ok(rep) => {
            page.notice = Some(Notice {
                ok: rep.applied,
                text: lang
                    .t(if rep.applied {
                        "ops.rpf.import_applied"
                    } else {
                        "ops.rpf.import_not_applied"
                    })
                    .to_owned(),
                detail: String::new(),
                code: "",
            });
            page.import = Some(import_view(lang, &file_name, &rep));
            render(&page)
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// A version as the figure's page lists it.
pub struct VersionRow {
    pub version: i64,
    pub count: String,
    pub at: String,
    pub actor: String,
    pub source: String,
    pub file_name: String,
    pub sha: String,
    pub reason: String,
}

fn version_row(lang: Lang, v: &ReportedVersion, names: &super::quota::Names) -> VersionRow {
    let local = v.at.to_offset(eid_core::clock::vietnam());
    VersionRow {
        version: v.version,
        count: num(lang, v.count),
        at: format!(
            "{} {:02}:{:02}",
            day_label(lang, local.date()),
            local.hour(),
            local.minute()
        ),
        actor: super::quota::actor_label(lang, &v.actor, names),
        source: v.source.clone(),
        file_name: v.file_name.clone(),
        sha: v.file_sha256.chars().take(12).collect(),
        reason: v.reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "ops_reported_figure.html")]
struct FigurePage {
    page: PageCtx,
    tabs: Vec<Tab>,
    rule: &'static str,
    figure: FigureRow,
    versions: Vec<VersionRow>,
    may_correct: bool,
    count: String,
    reason: String,
    notice: Option<Notice>,
}

async fn figure_page(
    state: &AppState,
    user: &ConsoleUser,
    id: i64,
    here_path: &str,
) -> Result<FigurePage, ConsoleError> {
    let lang = user.lang;
    let (fig, versions) = svc::figure_history(state, &user.caller, id)
        .await
        .map_err(console(lang))?;
    let names =
        super::quota::actor_names(state, versions.iter().map(|v| v.actor.clone()).collect())
            .await
            .map_err(console(lang))?;
    Ok(FigurePage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "reported"),
        rule: rule_text(lang),
        may_correct: may_report(&user.caller, &fig.unit),
        count: fig.count.to_string(),
        figure: figure_row(lang, &fig),
        versions: versions
            .iter()
            .map(|v| version_row(lang, v, &names))
            .collect(),
        reason: String::new(),
        notice: None,
    })
}

fn figure_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("reported.not_found", "no reported figure has this id"),
            lang,
        )
    })
}

/// `GET /ops/reported/{id}`
pub async fn figure(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let id = figure_id(&id, user.lang)?;
    let mut page = figure_page(&state, &user, id, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/reported/{id}`: `count`, `reason`, `source` — a correction.
pub async fn figure_correct(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = figure_id(&id, lang)?;
    let (count, reason) = (form_value(&form, "count"), form_value(&form, "reason"));
    let done = async {
        let n = ops::parse_count(&count).ok_or_else(|| {
            AppError::from(eid_core::Error::bad(
                "reported.count",
                "the count is a whole number",
            ))
        })?;
        svc::correct_figure(
            &state,
            &user.caller,
            id,
            n,
            form_value(&form, "source"),
            reason.clone(),
        )
        .await
    }
    .await;
    match done {
        Ok(_) => Ok(
            Redirect::to(&format!("/ops/reported/{id}?done=reported_corrected")).into_response(),
        ),
        Err(e) => {
            let e = in_place(e, lang)?;
            let path = format!("/ops/reported/{id}");
            let mut page = figure_page(&state, &user, id, &path).await?;
            page.notice = Some(Notice::refused(lang, &e));
            page.count = count;
            page.reason = reason;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// The reported figures of a quota's unit within its period, for the quota page: the rows, and
/// whether the viewer sees any (the section is left out otherwise).
pub async fn quota_figures(
    state: &AppState,
    user: &ConsoleUser,
    q: &ops::Quota,
    as_of: time::Date,
) -> Vec<FigureRow> {
    let unit: UnitCode = if user.caller.sees(&q.unit) {
        q.unit
    } else {
        user.caller.unit()
    };
    let (first, last) = (ops::service::FIRST_DAY, ops::service::LAST_DAY);
    let from = q.start.clamp(first, last);
    let to = as_of.min(q.deadline).clamp(first, last).max(from);
    svc::figures(state, &user.caller, unit, Some(q.metric), from, to)
        .await
        .map(|v| {
            v.iter()
                .take(100)
                .map(|f| figure_row(user.lang, f))
                .collect()
        })
        .unwrap_or_default()
}
