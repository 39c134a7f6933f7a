//! Periodic reports: reporting duties, submissions and who is on time, late or missing.

use std::collections::HashMap;

use eid_domain::campaign::{self, Schedule, Timeliness};
use eid_domain::{Tree, UnitCode, Units};
use time::{Date, OffsetDateTime};

use super::{range, OpsError};
use crate::accounts::{day_date, day_number, day_of};
use crate::sql::{self, Val};
use crate::store::{to_ms, Actor, Store, StoreError};

/// A reporting duty: an agency (a member of the working group, or a unit below) reports to
/// `unit` on a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSchedule {
    pub id: i64,
    pub agency: String,
    pub unit: UnitCode,
    pub schedule: Schedule,
    pub grace_days: u32,
    pub start: Date,
}

#[allow(clippy::too_many_arguments)]
pub fn add_schedule(
    store: &dyn Store,
    agency: &str,
    unit: &UnitCode,
    schedule: Schedule,
    grace_days: u32,
    start: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<ReportSchedule, OpsError> {
    let agency = agency.trim();
    if agency.is_empty() || agency.chars().count() > 200 {
        return Err(OpsError::Invalid(
            "report.agency",
            "name the reporting agency (up to 200 characters)".into(),
        ));
    }
    if grace_days > 31 {
        return Err(OpsError::Invalid(
            "report.grace",
            "grace is at most 31 days".into(),
        ));
    }
    range(unit)?;
    sql::transact(store.db(), |tx| {
        let id = tx.int(
            "INSERT INTO report_schedule (agency, unit, schedule, grace_days, start_day, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[agency.into(), unit.as_str().into(), schedule.as_str().into(), grace_days.into(), day_number(start).into(), actor.to_db().into(), to_ms(now).into()],
        )?;
        Ok(ReportSchedule {
            id,
            agency: agency.to_owned(),
            unit: *unit,
            schedule,
            grace_days,
            start,
        })
    })
}

/// Reporting duties towards `unit` or units inside it.
pub fn schedules(store: &dyn Store, unit: &UnitCode) -> Result<Vec<ReportSchedule>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, agency, unit, schedule, grace_days, start_day FROM report_schedule ORDER BY agency, id", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let u = UnitCode::parse(&g(2).text()?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if !units.contains(Tree::Gso2024, unit, &u) {
            continue;
        }
        out.push(ReportSchedule {
            id: g(0).int()?,
            agency: g(1).text()?,
            unit: u,
            schedule: Schedule::parse(&g(3).text()?).unwrap_or(Schedule::Weekly),
            grace_days: u32::try_from(g(4).int()?).unwrap_or(0),
            start: day_date(g(5).int()?),
        });
    }
    Ok(out)
}

/// Submits the report for the period that contains `period_day`.
pub fn submit_report(
    store: &dyn Store,
    schedule_id: i64,
    period_day: Date,
    body: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), OpsError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(OpsError::Invalid(
            "report.body",
            "a report has 1 to 10,000 characters".into(),
        ));
    }
    let s = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT schedule FROM report_schedule WHERE id = $1",
            &[schedule_id.into()],
        )
    })?
    .ok_or(OpsError::NotFound("report.schedule_not_found"))?;
    let schedule = Schedule::parse(&s.first().cloned().unwrap_or(Val::Null).text()?)
        .unwrap_or(Schedule::Weekly);
    let period = campaign::periods(schedule, period_day, period_day)
        .into_iter()
        .next()
        .ok_or(OpsError::Invalid(
            "report.period",
            "no period contains this day".into(),
        ))?;
    let today = now.to_offset(crate::accounts::vietnam()).date();
    if period.start > today {
        return Err(OpsError::Invalid(
            "report.future",
            "a period that has not started cannot be reported".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        let n = tx.exec(
            "INSERT INTO report_submission (schedule_id, period_start, submitted_at, submitted_day, body, actor) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (schedule_id, period_start) DO NOTHING",
            &[schedule_id.into(), day_number(period.start).into(), to_ms(now).into(), day_of(now).into(), body.into(), actor.to_db().into()],
        )?;
        if n == 0 {
            return Err(OpsError::Invalid(
                "report.already_submitted",
                "this period's report was already submitted".into(),
            ));
        }
        Ok(())
    })
}

/// The most periods of one schedule [`report_status`] lists: the newest ones (three years of
/// weeks, thirteen of months). Timeliness and completeness are those of the periods listed.
pub const MAX_PERIODS: usize = 156;

/// The first day whose period [`report_status`] lists for `s` up to `today`: its start, or a
/// day far enough back for [`MAX_PERIODS`] periods if that is later, so a schedule that began
/// long ago costs no more than one that began three years ago.
fn listed_from(s: &ReportSchedule, today: Date) -> Date {
    let days_per_period: i64 = match s.schedule {
        campaign::Schedule::Weekly => 7,
        campaign::Schedule::Monthly => 31,
    };
    let back = days_per_period.saturating_mul(i64::try_from(MAX_PERIODS).unwrap_or(i64::MAX));
    s.start.max(campaign::shift_days(today, -back))
}

/// A schedule's periods up to `today` with their timeliness.
#[derive(Debug, Clone)]
pub struct ReportStatus {
    pub schedule: ReportSchedule,
    pub periods: Vec<(campaign::Period, Timeliness)>,
    pub completeness: campaign::Completeness,
}

/// Who is on time, late or missing, per period, for duties towards `unit` (and below).
pub fn report_status(
    store: &dyn Store,
    unit: &UnitCode,
    today: Date,
) -> Result<Vec<ReportStatus>, OpsError> {
    let mut out = Vec::new();
    for s in schedules(store, unit)? {
        let submitted: HashMap<i64, i64> = sql::read(store.db(), |tx| {
            tx.query(
                "SELECT period_start, submitted_day FROM report_submission WHERE schedule_id = $1",
                &[s.id.into()],
            )
        })?
        .iter()
        .filter_map(|r| Some((r.first()?.int().ok()?, r.get(1)?.int().ok()?)))
        .collect();
        let mut periods = campaign::periods(s.schedule, listed_from(&s, today), today);
        periods.drain(..periods.len().saturating_sub(MAX_PERIODS));
        let periods: Vec<(campaign::Period, Timeliness)> = periods
            .into_iter()
            .map(|p| {
                let sub = submitted.get(&day_number(p.start)).map(|d| day_date(*d));
                (p, campaign::timeliness(p, s.grace_days, sub, today))
            })
            .collect();
        let statuses: Vec<Timeliness> = periods.iter().map(|(_, t)| *t).collect();
        out.push(ReportStatus {
            completeness: campaign::completeness(&statuses),
            schedule: s,
            periods,
        });
    }
    Ok(out)
}
