//! The operations API (`/api/v1/ops/…`): quotas and their splits, progress with forecasts,
//! rankings, daily series, the 2025 re-aggregation, peak campaigns, capacity, outreach lists
//! (JSON, CSV, XLSX), proposed register changes, periodic reports and the emulation
//! leaderboard.
//!
//! Who may see and do what, and the audit trail, are decided in the core
//! ([`eid_core::ops::service`]); [`svc`] runs those use cases for a request (the console calls
//! it too), [`api`] holds the handlers and [`wire`] what goes over the wire.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub mod api;
pub mod console;
pub mod reported_api;
pub mod reported_wire;
pub mod svc;
pub mod wire;

pub use wire::{
    outreach_cells, outreach_csv, outreach_csv_days, progress_json, OutreachQuery, OUTREACH_COLUMNS,
};

/// The operations routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(api::list_quotas, api::set_quota))
        .routes(routes!(api::get_quota))
        .routes(routes!(api::split_quota))
        .routes(routes!(api::capacity))
        .routes(routes!(api::leaderboard))
        .routes(routes!(api::national))
        .routes(routes!(api::series))
        .routes(routes!(api::provinces_2025))
        .routes(routes!(api::list_campaigns, api::add_campaign))
        .routes(routes!(api::outreach))
        .routes(routes!(api::assign))
        .routes(routes!(api::contact))
        .routes(routes!(api::list_proposals))
        .routes(routes!(api::decide_proposal))
        .routes(routes!(api::reports))
        .routes(routes!(api::add_schedule))
        .routes(routes!(api::submit_report))
        .routes(routes!(reported_api::list, reported_api::enter))
        .routes(routes!(reported_api::detail))
        .routes(routes!(reported_api::correct))
        .routes(routes!(reported_api::cohorts, reported_api::create_cohort))
        .merge(
            OpenApiRouter::default()
                .routes(routes!(reported_api::import))
                .routes(routes!(reported_api::cohort_members))
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
}

/// The largest file of reported figures accepted (60 days × 600 communes × 5 metrics in CSV is
/// about 9 MB).
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;
