//! Outreach lists: who still lacks an application or an account in a commune, assignment,
//! contact outcomes, the CSV and XLSX exports and the printable list.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::ops;
use eid_domain::{iso, Level, Tree, UnitCode, Units};
use time::Duration;

use super::{console, tabs, unit_label, DONE};
use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::{self, svc, OutreachQuery};
use crate::state::AppState;
use crate::ui::form::{form_value, label, Opt, Tab};
use crate::ui::format::day_label;
use crate::ui::xlsx;

/// People on one page of the outreach list; the total and the pages count the whole list,
/// up to [`EXPORT_LIMIT`], as the exports do.
const PAGE_SIZE: usize = 100;
/// The most people an export or the printable list holds.
const EXPORT_LIMIT: u32 = 20_000;
/// Communes offered in a select; above this the commune is typed.
const COMMUNE_SELECT_MAX: usize = 400;

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
    /// Everyone the filter lists (grouped), and whether the list stopped at [`EXPORT_LIMIT`].
    total: String,
    total_n: usize,
    full: bool,
    /// The column the list is sorted by (`address` unless `?sort=` names another), and the
    /// header links that sort by each column.
    sort: &'static str,
    sorts: Vec<SortLink>,
    /// Pages: this one (from 1), how many, the first row's number.
    page_no: usize,
    pages: usize,
    first_no: usize,
    query: String,
    outcomes: Vec<Opt>,
    due: String,
    assignee: String,
    notice: Option<Notice>,
}

/// A column header that sorts the list by that column (a plain link, no script).
pub struct SortLink {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// The columns the list sorts by: address (the walker's order) by default.
const SORTS: [(&str, &str); 4] = [
    ("name", "field.name"),
    ("birth", "field.birth"),
    ("address", "ops.out.address"),
    ("state", "ops.out.state"),
];

fn sort_key(q: &HashMap<String, String>) -> &'static str {
    let asked = q.get("sort").map(String::as_str).unwrap_or("address");
    SORTS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| *k == asked)
        .unwrap_or("address")
}

/// Sorts rows by `key`; ties keep the address order the list came in.
fn sort_rows(rows: &mut [ops::OutreachRow], key: &str) {
    match key {
        // The given name decides, as Vietnamese lists are read.
        "name" => rows.sort_by(|a, b| {
            let given = |n: &str| n.rsplit(' ').next().unwrap_or("").to_lowercase();
            given(&a.name)
                .cmp(&given(&b.name))
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        }),
        "birth" => rows.sort_by(|a, b| a.birth_date.cmp(&b.birth_date)),
        "state" => rows.sort_by_key(|r| (r.account_level, r.application_state.map(|s| s.as_str()))),
        _ => {}
    }
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
        total: String::new(),
        total_n: 0,
        full: false,
        page_no: 1,
        pages: 1,
        first_no: 1,
        sort: sort_key(q),
        sorts: Vec::new(),
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
        let query = page.f.to_query(EXPORT_LIMIT)?;
        let filter = query.filter()?;
        svc::outreach(state, &user.caller, &page.f.commune, filter).await
    }
    .await;
    match listed {
        Ok((unit, mut rows)) => {
            sort_rows(&mut rows, page.sort);
            let base = page.query.clone();
            page.sorts = SORTS
                .iter()
                .map(|(k, label)| SortLink {
                    key: k,
                    label: lang.t(label),
                    href: format!("/ops/outreach?{base}&sort={k}"),
                    active: *k == page.sort,
                })
                .collect();
            page.commune = unit_label(&unit);
            page.listed = true;
            page.full = rows.len() >= EXPORT_LIMIT as usize;
            page.total_n = rows.len();
            page.total = crate::ui::format::num(lang, rows.len() as u64);
            page.pages = rows.len().div_ceil(PAGE_SIZE).max(1);
            page.page_no = q
                .get("page")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, page.pages);
            let start = (page.page_no - 1) * PAGE_SIZE;
            page.first_no = start + 1;
            let end = (start + PAGE_SIZE).min(rows.len());
            page.rows = out_rows(lang, rows.get(start..end).unwrap_or_default());
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
    let mut ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .collect();
    // "Everyone the filter lists", across pages: the list is read again with the same filter.
    if form_value(&map, "all") == "1" {
        let (_, _, rows) = export_rows(&state, &user, &back_query(&form)).await?;
        ids = rows.into_iter().map(|r| r.personal_id).collect();
    }
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

/// `GET /ops/outreach.csv?…`: the list as CSV (the API's documented columns, UTF-8 with a
/// BOM), birth dates dd/mm/yyyy.
pub async fn outreach_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let (unit, _, rows) = export_rows(&state, &user, &q).await?;
    let body = ops_api::outreach_csv_days(&rows, true).map_err(console(user.lang))?;
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
pub(super) const EXPORT_HEADERS: [&str; 10] = [
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
                    eid_domain::parse_iso_date(&birth)
                        .map_or(xlsx::Cell::Text(birth), xlsx::Cell::Date),
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
    /// The number of rows, grouped as the language writes it.
    count: String,
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
        count: crate::ui::format::num(lang, rows.len() as u64),
        rows: out_rows(lang, &rows),
        query: f.query(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
