//! The linkage API (`/api/v1/linkage/…`): decisions on sector rows by outcome, and one
//! decision with its field-by-field breakdown, an officer's decision on a review or a conflict;
//! and the console's review queue ([`console`]). Scope and parsing live in the core
//! ([`eid_core::linkage::service`]); [`api`] holds the handlers and [`wire`] the JSON views.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub mod api;
pub mod console;
pub mod i18n;
pub mod jobs;
pub mod proposals;
pub mod quality;
pub mod wire;

/// The console pages: the review queue and one result with its decision form.
pub fn console_routes() -> axum::Router<AppState> {
    use axum::routing::get;
    use axum::routing::post;
    axum::Router::new()
        .route("/linkage", get(console::queue))
        .route("/linkage/proposals", get(proposals::list))
        .route(
            "/linkage/proposals/{id}",
            get(proposals::one).post(proposals::decide_form),
        )
        .merge(jobs::routes())
        .route("/linkage/quality", get(quality::page))
        .route("/linkage/quality/worklist", get(quality::worklist))
        .route("/linkage/dedupe", post(quality::dedupe))
        .route(
            "/linkage/{id}",
            get(console::result).post(console::decide_form),
        )
}

/// The linkage routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(api::results))
        .routes(routes!(api::result))
        .routes(routes!(api::decision))
        .routes(routes!(api::proposals))
        .routes(routes!(api::proposal))
        .routes(routes!(api::proposal_decision))
        .routes(routes!(api::proposal_undo))
        .routes(routes!(api::dedupe))
        .routes(routes!(api::quality))
        .routes(routes!(api::worklist))
        .routes(routes!(api::findings))
}
