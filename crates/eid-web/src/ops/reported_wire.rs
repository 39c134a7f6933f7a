//! The wire of reported figures (`/api/v1/ops/reported…`): request bodies, query strings and
//! the JSON views, converted by hand from the core's types.

use eid_core::ops::service::ImportReport;
use eid_core::ops::{ReportedFigure, ReportedVersion, REPORTED_RULE};
use eid_domain::iso;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use super::svc::unit_name;

/// One version of a figure and where it came from.
#[derive(Serialize, ToSchema)]
pub struct ReportedVersionOut {
    pub version: i64,
    pub count: u64,
    /// RFC 3339.
    pub at: String,
    /// Who entered or imported it (`staff:N`, `token:N`).
    pub actor: String,
    /// How the figure arrived (phone, Zalo, a spreadsheet …).
    pub source: String,
    /// The imported file's name; empty when entered by hand.
    pub file_name: String,
    /// The imported file's SHA-256 (hex); empty when entered by hand.
    pub file_sha256: String,
    /// The correction's reason; empty for the first version.
    pub reason: String,
}

pub fn version_out(v: &ReportedVersion) -> ReportedVersionOut {
    ReportedVersionOut {
        version: v.version,
        count: v.count,
        at: v.at.format(&Rfc3339).unwrap_or_default(),
        actor: v.actor.to_db(),
        source: v.source.clone(),
        file_name: v.file_name.clone(),
        file_sha256: v.file_sha256.clone(),
        reason: v.reason.clone(),
    }
}

/// A reported figure as it stands, with the provenance of its current version.
#[derive(Serialize, ToSchema)]
pub struct ReportedOut {
    pub id: i64,
    /// The reporting unit (2024 tree): a province, district or commune.
    pub unit: String,
    pub unit_name: String,
    /// applications_collected, level1_activated, level2_activated or accounts_activated.
    pub metric: String,
    /// YYYY-MM-DD.
    pub day: String,
    pub count: u64,
    /// Whether it counts in progress and rankings under `rule`: false when the unit recorded
    /// events of that metric that day (the recorded count stands).
    pub counted: bool,
    pub version: i64,
    pub latest: ReportedVersionOut,
}

pub fn reported_out(f: &ReportedFigure) -> ReportedOut {
    ReportedOut {
        id: f.id,
        unit: f.unit.as_str().to_owned(),
        unit_name: unit_name(&f.unit),
        metric: f.metric.as_str().to_owned(),
        day: iso(f.day),
        count: f.count,
        counted: f.counted,
        version: f.version,
        latest: version_out(&f.latest),
    }
}

/// `GET /api/v1/ops/reported`.
#[derive(Serialize, ToSchema)]
pub struct ReportedList {
    /// The one rule by which reported figures count.
    pub rule: String,
    /// Newest day first, at most 1,000.
    pub figures: Vec<ReportedOut>,
}

/// A figure saved.
#[derive(Serialize, ToSchema)]
pub struct ReportedSaved {
    pub rule: String,
    /// `created`, `corrected` or `unchanged`.
    pub outcome: String,
    pub figure: ReportedOut,
}

/// `GET /api/v1/ops/reported/{id}`.
#[derive(Serialize, ToSchema)]
pub struct ReportedDetailOut {
    pub rule: String,
    pub figure: ReportedOut,
    /// Every version, oldest first.
    pub versions: Vec<ReportedVersionOut>,
}

/// A row not applied.
#[derive(Serialize, ToSchema)]
pub struct BadRowOut {
    /// The file's line (the header is line 1; an XLSX sheet's row number).
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    pub rule: String,
    /// The file's SHA-256, hex, kept with every figure it wrote.
    pub sha256: String,
    /// Rows read, the header not counted.
    pub rows: usize,
    /// False when a row was bad and `skip_bad` was not set: then nothing was written.
    pub applied: bool,
    pub created: usize,
    pub corrected: usize,
    pub unchanged: usize,
    pub bad: Vec<BadRowOut>,
}

pub fn import_out(r: &ImportReport) -> ImportOut {
    ImportOut {
        rule: REPORTED_RULE.to_owned(),
        sha256: r.sha256.clone(),
        rows: r.rows,
        applied: r.applied,
        created: r.created,
        corrected: r.corrected,
        unchanged: r.unchanged,
        bad: r
            .bad
            .iter()
            .map(|b| BadRowOut {
                line: b.line,
                reason: b.reason.clone(),
            })
            .collect(),
    }
}

/// `GET /api/v1/ops/reported` query.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportedQuery {
    /// Figures of units inside this one (default: the caller's).
    pub unit: Option<String>,
    /// One metric (default: all).
    pub metric: Option<String>,
    /// YYYY-MM-DD (default: 90 days before `to`).
    pub from: Option<String>,
    /// YYYY-MM-DD (default: today).
    pub to: Option<String>,
}

/// A figure entered by hand.
#[derive(Deserialize, ToSchema)]
pub struct ReportedIn {
    /// A province, district or commune below the caller's unit.
    pub unit: String,
    /// YYYY-MM-DD or dd/mm/yyyy; today or before.
    pub day: String,
    pub metric: String,
    pub count: u64,
    /// How it arrived (phone, Zalo, a spreadsheet …).
    pub source: String,
    /// Required when the figure exists with another count.
    #[serde(default)]
    pub reason: String,
}

/// A correction.
#[derive(Deserialize, ToSchema)]
pub struct CorrectionIn {
    pub count: u64,
    /// Why the figure changes.
    pub reason: String,
    /// The new source (default: the current one).
    #[serde(default)]
    pub source: String,
}

/// `POST /api/v1/ops/reported/import` query.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, kept as provenance.
    pub file_name: Option<String>,
    /// The source of rows whose own `source` cell is empty.
    pub source: Option<String>,
    /// The reason of the corrections the file makes.
    pub reason: Option<String>,
    /// `true`: apply the good rows and report the bad ones. Default: a file with any bad row
    /// writes nothing.
    pub skip_bad: Option<bool>,
}

/// A cohort: a named list of people of a unit.
#[derive(Serialize, ToSchema)]
pub struct CohortOut {
    pub id: i64,
    pub unit: String,
    pub unit_name: String,
    pub name: String,
    pub members: u64,
}

pub fn cohort_out(c: &eid_core::ops::Cohort) -> CohortOut {
    CohortOut {
        id: c.id,
        unit: c.unit.as_str().to_owned(),
        unit_name: unit_name(&c.unit),
        name: c.name.clone(),
        members: c.members,
    }
}

/// `GET /api/v1/ops/cohorts`.
#[derive(Serialize, ToSchema)]
pub struct CohortList {
    pub cohorts: Vec<CohortOut>,
}

/// A cohort to create.
#[derive(Deserialize, ToSchema)]
pub struct CohortIn {
    /// A unit inside the caller's.
    pub unit: String,
    /// Unique within the unit; a cohort quota names it in `cohort`.
    pub name: String,
}

/// What a members import did.
#[derive(Serialize, ToSchema)]
pub struct MembersOut {
    pub added: usize,
    /// Already members.
    pub already: usize,
    /// Lines not added, by line and reason (the line's text is never echoed).
    pub bad: Vec<BadRowOut>,
}
