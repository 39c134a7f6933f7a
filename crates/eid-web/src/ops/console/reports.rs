//! Periodic reports: the reporting schedules with their periods, new schedules and submissions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_domain::campaign::{self, Schedule, Timeliness};
use eid_domain::iso;

use super::{console, period_label, tabs, timeliness_class, unit_label, unit_options, DONE};
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{form_value, Opt, Tab};
use crate::ui::format::{day_label, pct};

/// Periods shown per reporting schedule, newest first.
const REPORT_PERIODS: usize = 6;

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
                // Only the schedule's own unit submits its reports: the form is offered to it
                // alone (the core refuses everyone else).
                open: s
                    .periods
                    .iter()
                    .rev()
                    .filter(|_| s.schedule.unit == user.caller.staff.unit)
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
