//! The operations API's wire: request bodies and query strings (documented in the OpenAPI
//! document through their derives), the JSON views of quotas and rankings, and the outreach
//! list's export columns and CSV (shared with the console's XLSX and printable list).

use eid_core::ops::{self, OutreachFilter, QuotaProgress};
use eid_domain::campaign::{self, Ranked};
use eid_domain::{iso, UnitCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::svc;
use crate::error::AppError;

/// The rule for days left, as the API states it.
pub const DAYS_LEFT_RULE: &str = "calendar days after the as-of day up to and including the deadline; counts are those known at the end of the as-of day";

/// How the required daily rate is rounded, as the API states it.
pub const REQUIRED_DAILY_RULE: &str =
    "remaining ÷ days left, rounded up to one decimal (doing that much every day meets the quota); null when something remains and no day is left";

/// How every percentage of the operations API is written.
pub const PERCENT_RULE: &str =
    "every percentage is a JSON number in percent (100.76 is 100.76 %), rounded half away from zero to two decimals";

/// A percentage as the API writes it: a number with two decimals, exactly rounded.
pub fn percent_number(done: u64, target: u64) -> f64 {
    campaign::percent_fixed(done, target, 2)
        .parse()
        .unwrap_or(0.0)
}

/// A float in percent rounded to two decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The required daily rate, one decimal rounded up (see [`REQUIRED_DAILY_RULE`]).
pub fn required_daily(pr: &campaign::Progress) -> Option<f64> {
    campaign::required_daily_tenths(pr.remaining, pr.days_left).map(|t| t as f64 / 10.0)
}

/// A quota with its progress as of a day. Every percentage is a number (see `percent_rule`).
#[derive(Serialize, ToSchema)]
pub struct QuotaOut {
    pub id: i64,
    /// The unit's code (2024 tree).
    pub unit: String,
    pub unit_name: String,
    /// applications_collected, level1_activated, level2_activated, accounts_activated or
    /// cards_issued.
    pub metric: String,
    /// Empty for the whole population.
    pub cohort: String,
    pub target: u64,
    /// YYYY-MM-DD.
    pub start: String,
    /// YYYY-MM-DD: the last day whose work counts.
    pub deadline: String,
    pub parent_id: Option<i64>,
    pub set_by: String,
    pub version: i64,
    /// Where the as-of day lies: before_start, in_period or after_deadline (then the quota is
    /// closed and its figures are those at the end of its deadline).
    pub period: String,
    /// Whether the deadline has passed as of the as-of day: the figures never change again.
    pub closed: bool,
    /// Counted from the start to the as-of day or the deadline, whichever is first.
    pub done: u64,
    /// `done` in percent of `target`, a number with two decimals (100 for a zero target).
    pub percent: f64,
    pub remaining: u64,
    pub days_left: i64,
    pub days_left_rule: String,
    /// See `required_daily_rule`.
    pub required_daily: Option<f64>,
    pub required_daily_rule: String,
    /// The recent daily rate (one decimal), over `rate_days` days.
    pub rate_7d: f64,
    /// The days `rate_7d` averages over: the last 7 of the period, or the days the quota has
    /// existed when fewer.
    pub rate_days: u64,
    /// YYYY-MM-DD, or null when the rate is zero.
    pub forecast_met_on: Option<String>,
    /// In percent, a number with two decimals.
    pub forecast_percent_at_deadline: f64,
    /// met, on_track, at_risk, behind, beyond_capacity (the intake devices cannot collect what
    /// remains by the deadline), missed (closed and not met), too_early (the quota's first
    /// day) or not_started.
    pub status: String,
    pub counting_rule: String,
    pub percent_rule: String,
    pub children_sum: Option<u64>,
    pub children_add_up: Option<bool>,
    /// Set as a share of a base: the base, the share and the count it was resolved from.
    pub base: Option<QuotaBaseOut>,
}

pub fn quota_out(p: &QuotaProgress) -> QuotaOut {
    let q = &p.quota;
    let pr = &p.progress;
    QuotaOut {
        id: q.id,
        unit: q.unit.as_str().to_owned(),
        unit_name: svc::unit_name(&q.unit),
        metric: q.metric.as_str().to_owned(),
        cohort: q.cohort.clone(),
        target: q.target,
        start: iso(q.start),
        deadline: iso(q.deadline),
        parent_id: q.parent_id,
        set_by: q.set_by.to_db(),
        version: q.version,
        period: p.period.as_str().to_owned(),
        closed: p.period == ops::Period::After,
        done: p.done,
        percent: percent_number(p.done, q.target),
        remaining: pr.remaining,
        days_left: pr.days_left,
        days_left_rule: DAYS_LEFT_RULE.to_owned(),
        required_daily: required_daily(pr),
        required_daily_rule: REQUIRED_DAILY_RULE.to_owned(),
        rate_7d: (pr.rate_7d * 10.0).round() / 10.0,
        rate_days: pr.rate_days,
        forecast_met_on: pr.forecast_met_on.map(iso),
        forecast_percent_at_deadline: round2(pr.forecast_percent_at_deadline),
        status: pr.status.as_str().to_owned(),
        counting_rule: ops::COUNTING_RULE.to_owned(),
        percent_rule: PERCENT_RULE.to_owned(),
        children_sum: p.children_sum,
        children_add_up: p.children_sum.map(|s| s == q.target),
        base: q.base.map(|b| QuotaBaseOut {
            base: b.base.as_str().to_owned(),
            percent: f64::from(b.permille) / 10.0,
            count: b.count,
            rule: BASE_RULE.to_owned(),
        }),
    }
}

/// How a share-of-base target is resolved, as the API states it.
pub const BASE_RULE: &str = "the target is the base's count when the quota was set times the share, rounded up; it is not re-resolved as the register changes (setting the quota again resolves it again)";

/// The base a quota's target was resolved from.
#[derive(Serialize, ToSchema)]
pub struct QuotaBaseOut {
    /// card_holders, eligible or cohort.
    pub base: String,
    /// The share in percent, one decimal (65.0 is 65 %).
    pub percent: f64,
    /// The base's count when the target was resolved.
    pub count: u64,
    pub rule: String,
}

pub fn progress_json(p: &QuotaProgress) -> Value {
    serde_json::to_value(quota_out(p)).unwrap_or(Value::Null)
}

/// A unit in the ranking below a quota. On the quota's first day nothing moves.
#[derive(Serialize, ToSchema)]
pub struct RankedOut {
    pub unit: String,
    pub unit_name: String,
    pub done: u64,
    pub target: u64,
    /// In percent, a number with two decimals.
    pub percent: f64,
    pub rank: usize,
    pub rank_yesterday: usize,
    pub rank_change: i64,
    /// Percentage points since the day before, two decimals.
    pub percent_change: f64,
    /// The child's own quota figures, when it has one (its required daily rate, one decimal
    /// rounded up; its days left; its forecast).
    pub required_daily: Option<f64>,
    pub days_left: Option<i64>,
    pub forecast_met_on: Option<String>,
    pub forecast_percent_at_deadline: Option<f64>,
    pub status: Option<String>,
}

pub fn ranked_out(r: &Ranked<UnitCode>, child: Option<&QuotaProgress>) -> RankedOut {
    let pr = child.map(|c| &c.progress);
    RankedOut {
        unit: r.key.as_str().to_owned(),
        unit_name: svc::unit_name(&r.key),
        done: r.done_today,
        target: r.target,
        percent: percent_number(r.done_today, r.target),
        rank: r.rank_today,
        rank_yesterday: r.rank_yesterday,
        rank_change: r.rank_change,
        percent_change: round2(r.percent_change),
        required_daily: pr.and_then(required_daily),
        days_left: pr.map(|p| p.days_left),
        forecast_met_on: pr.and_then(|p| p.forecast_met_on).map(iso),
        forecast_percent_at_deadline: pr.map(|p| round2(p.forecast_percent_at_deadline)),
        status: pr.map(|p| p.status.as_str().to_owned()),
    }
}

pub fn ranked_json(r: &Ranked<UnitCode>, child: Option<&QuotaProgress>) -> Value {
    serde_json::to_value(ranked_out(r, child)).unwrap_or(Value::Null)
}

/// `GET /api/v1/ops/quotas`.
#[derive(Serialize, ToSchema)]
pub struct QuotaList {
    /// YYYY-MM-DD.
    pub as_of: String,
    pub quotas: Vec<QuotaOut>,
}

/// One change of a quota's target.
#[derive(Serialize, ToSchema)]
pub struct QuotaChangeOut {
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub old_target: Option<u64>,
    pub new_target: u64,
    pub reason: String,
}

/// One day of a quota's series.
#[derive(Serialize, ToSchema)]
pub struct DayOut {
    pub day: String,
    pub n: u64,
    pub cumulative: u64,
}

/// `GET /api/v1/ops/quotas/{id}`.
#[derive(Serialize, ToSchema)]
pub struct QuotaDetailOut {
    pub as_of: String,
    pub quota: QuotaOut,
    pub children: Vec<QuotaOut>,
    pub ranking: Vec<RankedOut>,
    pub history: Vec<QuotaChangeOut>,
    /// From the start to the as-of day or the deadline, whichever is first.
    pub daily: Vec<DayOut>,
    /// The one rule by which reported figures count in `done`, the ranking and `daily`.
    pub reported_rule: String,
    /// Figures reported for units inside the quota's (or, for an ancestor's quota, the
    /// caller's) within its period, newest day first (at most 1,000), each with `counted`
    /// and its provenance.
    pub reported: Vec<super::reported_wire::ReportedOut>,
}

/// `{quota}` of a quota just set.
#[derive(Serialize, ToSchema)]
pub struct QuotaSaved {
    pub quota: QuotaOut,
}

/// `{children}` of a split.
#[derive(Serialize, ToSchema)]
pub struct SplitOut {
    pub children: Vec<QuotaOut>,
}

/// A unit's name in a tree, or its code when the tree does not know it.
pub fn name_in(tree: eid_domain::Tree, code: &UnitCode) -> String {
    eid_domain::Units::get()
        .unit(tree, code)
        .map_or_else(|| code.as_str().to_owned(), |u| u.name.clone())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NationalQuery {
    /// 2024 (the 63 provinces, default) or 2025 (re-aggregated into the merged provinces).
    pub tree: Option<String>,
    /// YYYY-MM-DD; today by default.
    pub as_of: Option<String>,
}

/// One province in the national ranking of a metric.
#[derive(Serialize, ToSchema)]
pub struct ProvinceOut {
    pub rank: usize,
    pub unit: String,
    pub unit_name: String,
    /// 2024: the province's quota (open it at /api/v1/ops/quotas/{id}); 2025: null.
    pub quota_id: Option<i64>,
    /// The 2024 provinces summed into this one (2025), or the province itself (2024).
    pub from_2024: Vec<String>,
    pub target: u64,
    pub done: u64,
    /// In percent, a number with two decimals.
    pub percent: f64,
    pub remaining: u64,
    pub days_left: i64,
    /// One decimal, rounded up (see `required_daily_rule` of a quota).
    pub required_daily: Option<f64>,
    pub rate_7d: f64,
    pub forecast_met_on: Option<String>,
    /// In percent, a number with two decimals.
    pub forecast_percent_at_deadline: f64,
    pub status: String,
    pub deadline: String,
}

/// The ranking of one metric.
#[derive(Serialize, ToSchema)]
pub struct MetricRankingOut {
    pub metric: String,
    /// Highest % first.
    pub provinces: Vec<ProvinceOut>,
    /// Up to 5 provinces not met, lowest % first (codes).
    pub slowest: Vec<String>,
}

/// `GET /api/v1/ops/national`.
#[derive(Serialize, ToSchema)]
pub struct NationalOut {
    pub as_of: String,
    /// 2024 or 2025.
    pub tree: String,
    pub metrics: Vec<MetricRankingOut>,
    /// Provinces that met both their applications_collected and accounts_activated quotas.
    pub met_both: Vec<String>,
    /// Provinces that have both quotas.
    pub with_both: usize,
    pub percent_rule: String,
}

pub fn national_out(n: &ops::National) -> NationalOut {
    NationalOut {
        as_of: iso(n.as_of),
        tree: n.tree.as_str().to_owned(),
        metrics: n
            .metrics
            .iter()
            .map(|m| MetricRankingOut {
                metric: m.metric.as_str().to_owned(),
                provinces: m
                    .rows
                    .iter()
                    .map(|r| ProvinceOut {
                        rank: r.rank,
                        unit: r.unit.as_str().to_owned(),
                        unit_name: name_in(n.tree, &r.unit),
                        quota_id: r.quota_id,
                        from_2024: r.from_2024.iter().map(|u| u.as_str().to_owned()).collect(),
                        target: r.target,
                        done: r.done,
                        percent: percent_number(r.done, r.target),
                        remaining: r.progress.remaining,
                        days_left: r.progress.days_left,
                        required_daily: required_daily(&r.progress),
                        rate_7d: (r.progress.rate_7d * 10.0).round() / 10.0,
                        forecast_met_on: r.progress.forecast_met_on.map(iso),
                        forecast_percent_at_deadline: round2(
                            r.progress.forecast_percent_at_deadline,
                        ),
                        status: r.progress.status.as_str().to_owned(),
                        deadline: iso(r.deadline),
                    })
                    .collect(),
                slowest: m.slowest.iter().map(|u| u.as_str().to_owned()).collect(),
            })
            .collect(),
        met_both: n.met_both.iter().map(|u| u.as_str().to_owned()).collect(),
        with_both: n.with_both,
        percent_rule: PERCENT_RULE.to_owned(),
    }
}

/// The tree a request names: 2024 by default.
pub fn parse_tree(raw: Option<&str>) -> Result<eid_domain::Tree, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(eid_domain::Tree::Gso2024),
        Some(t) => eid_domain::Tree::parse(t)
            .ok_or_else(|| AppError::bad("tree.invalid", "tree is 2024 or 2025")),
    }
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
    /// The target as a number; ignored when `base` is given.
    #[serde(default)]
    pub target: u64,
    pub start: String,
    pub deadline: String,
    pub reason: String,
    /// Set the target as a share of a base: card_holders, eligible or cohort (the quota's
    /// cohort's members).
    #[serde(default)]
    pub base: Option<String>,
    /// The share of `base` in percent, at most one decimal (65 or 65.5).
    #[serde(default)]
    pub percent: Option<f64>,
}

#[derive(Deserialize, ToSchema)]
pub struct SplitIn {
    /// proportional or manual.
    pub mode: String,
    #[serde(default)]
    pub parts: std::collections::BTreeMap<String, u64>,
    /// For a manual split whose children's quotas do not add up to the parent's: the
    /// difference (their sum minus the parent's target, negative when under) the caller
    /// accepts. Without it such a split is refused as `split.mismatch`, saying the difference;
    /// with another difference than the real one it is refused too.
    #[serde(default)]
    pub accept_difference: Option<i64>,
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
    outreach_csv_days(rows, false)
}

/// [`outreach_csv`], with `birth_date` written `dd/mm/yyyy` when `vietnamese_days` (the
/// console's export; the API's stays ISO 8601). The header is the same documented one.
pub fn outreach_csv_days(
    rows: &[ops::OutreachRow],
    vietnamese_days: bool,
) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(OUTREACH_COLUMNS)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    for r in rows {
        let mut cells = outreach_cells(r);
        if vietnamese_days {
            if let Some(d) = eid_domain::parse_iso_date(&cells[2]) {
                cells[2] = format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year());
            }
        }
        let cells = cells.map(|c| {
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
