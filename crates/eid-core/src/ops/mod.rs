//! Project 06 operations: quotas (chỉ tiêu) and their splits, progress from the per-unit,
//! per-day counters that account transitions roll up, eligible-population denominators,
//! rankings, peak campaigns, intake capacity, outreach lists with contacts and proposed register
//! changes, and periodic reports.
//!
//! The arithmetic is `eid_domain::campaign`'s; the files here read and write the tables (through
//! [`crate::sql`], once for both engines) and feed it. They trust their caller: who may see and
//! do what — scope, who may set or split a quota for which unit — and the audit trail are
//! decided in [`service`], the use cases the web crate and the console call.
//!
//! Everything is re-exported here, so `eid_core::ops::X` names every item whatever file holds it.

use eid_domain::Metric;

mod campaigns;
mod capacity;
mod cohort_service;
mod cohorts;
mod counters;
mod error;
mod national;
mod outreach;
mod progress;
mod proposals;
mod quotas;
mod ranking;
mod reported;
mod reported_file;
mod reported_service;
mod reports;
pub mod service;

pub use campaigns::*;
pub use capacity::*;
pub use cohorts::*;
pub use counters::*;
pub use error::*;
pub use national::*;
pub use outreach::*;
pub use progress::*;
pub use proposals::*;
pub use quotas::*;
pub use ranking::*;
pub use reported::*;
pub use reported_file::*;
pub use reports::*;

/// Whether a metric is counted from account events (`unit_day_count`); cards issued are
/// counted from the register.
pub const fn counted(m: Metric) -> bool {
    match m {
        Metric::ApplicationsCollected
        | Metric::Level1Activated
        | Metric::Level2Activated
        | Metric::AccountsActivated => true,
        Metric::CardsIssued => false,
    }
}

/// The minimum age counted in account denominators.
pub const ELIGIBLE_AGE: i32 = 14;
