//! The relying-party registry in the console (issue 12): the services that sign citizens in
//! with eid — list, register, edit, a new secret (shown once), disable. Ministry-level staff
//! only: the core refuses everyone else (403) and the navigation shows them no link. The rules
//! are the core's (`eid_core::oidc::clients`, `eid_core::rp`); this module parses the forms
//! and renders `templates/rp_*.html`. [`portal`] is the demo's sample relying party
//! (development mode only).

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

mod console;
pub mod i18n;
mod portal;

/// The registry's console pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/relying-parties", get(console::list).post(console::add))
        .route("/relying-parties/new", get(console::new_form))
        .route(
            "/relying-parties/{id}",
            get(console::client).post(console::edit),
        )
        .route(
            "/relying-parties/{id}/rotate-secret",
            post(console::rotate_secret),
        )
        .route("/relying-parties/{id}/disable", post(console::disable))
        .route("/demo/portal", get(portal::portal))
        .route("/demo/portal/login", get(portal::login))
        .route("/demo/portal/callback", get(portal::callback))
}
