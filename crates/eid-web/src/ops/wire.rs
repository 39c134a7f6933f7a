//! The operations API's wire: request bodies and query strings (documented in the OpenAPI
//! document through their derives), the JSON views of quotas and rankings, and the outreach
//! list's export columns and CSV (shared with the console's XLSX and printable list).

use eid_core::ops::{self, OutreachFilter, QuotaProgress};
use eid_domain::campaign::{self, Ranked};
use eid_domain::{iso, UnitCode};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::svc;
use crate::error::AppError;

pub fn progress_json(p: &QuotaProgress) -> Value {
    let q = &p.quota;
    let pr = &p.progress;
    json!({
        "id": q.id,
        "unit": q.unit.as_str(),
        "unit_name": svc::unit_name(&q.unit),
        "metric": q.metric.as_str(),
        "cohort": q.cohort,
        "target": q.target,
        "start": iso(q.start),
        "deadline": iso(q.deadline),
        "parent_id": q.parent_id,
        "set_by": q.set_by.to_db(),
        "version": q.version,
        "done": p.done,
        "percent": campaign::percent_fixed(p.done, q.target, 2),
        "remaining": pr.remaining,
        "days_left": pr.days_left,
        "days_left_rule": "calendar days after the as-of day up to and including the deadline; counts are those known at the end of the as-of day",
        "required_daily": pr.required_daily.map(|r| r.ceil()),
        "rate_7d": (pr.rate_7d * 10.0).round() / 10.0,
        "forecast_met_on": pr.forecast_met_on.map(iso),
        "forecast_percent_at_deadline": (pr.forecast_percent_at_deadline * 100.0).round() / 100.0,
        "status": pr.status.as_str(),
        "children_sum": p.children_sum,
        "children_add_up": p.children_sum.map(|s| s == q.target),
    })
}

pub fn ranked_json(r: &Ranked<UnitCode>) -> Value {
    json!({
        "unit": r.key.as_str(),
        "unit_name": svc::unit_name(&r.key),
        "done": r.done_today,
        "target": r.target,
        "percent": campaign::percent_fixed(r.done_today, r.target, 2),
        "rank": r.rank_today,
        "rank_yesterday": r.rank_yesterday,
        "rank_change": r.rank_change,
        "percent_change": (r.percent_change * 100.0).round() / 100.0,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotaQuery {
    pub unit: Option<String>,
    pub subtree: Option<bool>,
    pub as_of: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct QuotaIn {
    pub unit: String,
    pub metric: String,
    #[serde(default)]
    pub cohort: String,
    pub target: u64,
    pub start: String,
    pub deadline: String,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SplitIn {
    pub mode: String,
    #[serde(default)]
    pub parts: std::collections::BTreeMap<String, u64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    pub unit: Option<String>,
    pub metric: String,
    pub from: String,
    pub to: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct P2025Query {
    pub metric: String,
    pub from: String,
    pub to: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CampaignIn {
    pub name: String,
    pub slogan: String,
    pub unit: String,
    pub start: String,
    pub end: String,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutreachQuery {
    pub commune: String,
    pub missing: Option<String>,
    pub address: Option<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub phone_type: Option<String>,
    pub format: Option<String>,
    pub limit: Option<u32>,
}

impl OutreachQuery {
    pub fn filter(&self) -> Result<OutreachFilter, AppError> {
        let missing = self
            .missing
            .clone()
            .unwrap_or_else(|| "no_application".into());
        if !matches!(missing.as_str(), "no_application" | "no_account") {
            return Err(AppError::bad(
                "outreach.missing",
                "missing is no_application or no_account",
            ));
        }
        if let Some(pt) = self.phone_type.as_deref().filter(|p| !p.is_empty()) {
            if eid_domain::PhoneType::parse(pt).is_none() {
                return Err(AppError::bad(
                    "outreach.phone_type",
                    "phone_type is none, basic or smartphone",
                ));
            }
        }
        Ok(OutreachFilter {
            missing,
            address: self.address.clone().filter(|a| !a.trim().is_empty()),
            min_age: self.min_age,
            max_age: self.max_age,
            phone_type: self.phone_type.clone().filter(|p| !p.is_empty()),
            limit: self.limit.unwrap_or(5000).clamp(1, 20_000),
        })
    }
}

/// The columns of an exported outreach list.
pub const OUTREACH_COLUMNS: [&str; 10] = [
    "personal_id",
    "name",
    "birth_date",
    "address",
    "phone",
    "phone_type",
    "account_level",
    "application_state",
    "assignee",
    "last_outcome",
];

/// The cells of one exported row, in the order of [`OUTREACH_COLUMNS`].
pub fn outreach_cells(r: &ops::OutreachRow) -> [String; 10] {
    [
        r.personal_id.clone(),
        r.name.clone(),
        r.birth_date.clone(),
        r.address.clone(),
        r.phone.clone().unwrap_or_default(),
        r.phone_type.clone(),
        r.account_level.map(|l| l.to_string()).unwrap_or_default(),
        r.application_state
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        r.assignee.clone().unwrap_or_default(),
        r.last_outcome.clone().unwrap_or_default(),
    ]
}

/// The outreach list as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
/// Vietnamese right). Cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn outreach_csv(rows: &[ops::OutreachRow]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(OUTREACH_COLUMNS)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    for r in rows {
        let cells = outreach_cells(r).map(|c| {
            if c.starts_with(['=', '+', '-', '@']) {
                format!("'{c}")
            } else {
                c
            }
        });
        w.write_record(&cells)
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))
}

#[derive(Deserialize, ToSchema)]
pub struct AssignIn {
    pub commune: String,
    pub personal_ids: Vec<String>,
    pub assignee: String,
    pub due: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ContactIn {
    pub personal_id: String,
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
pub struct DecisionIn {
    pub decision: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ScheduleIn {
    pub agency: String,
    pub unit: String,
    pub schedule: String,
    pub grace_days: u32,
    pub start: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitIn {
    pub period_day: String,
    pub body: String,
}
