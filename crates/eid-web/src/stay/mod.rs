//! Stay notifications over HTTP (issue 14): the citizen's pages under `/me/stays`, the commune
//! police's console under `/stays`, and `POST /api/v1/stays` for an establishment's system with
//! a client-credentials token. The rules are `eid_core::stay`'s; this module parses and renders
//! (`templates/me_stay*.html`, `templates/stay_*.html`).

mod api;
mod citizen;
mod console;
pub mod i18n;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use eid_core::stay::Kind;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::console::i18n::Lang;
use crate::state::AppState;

/// The pages: citizen and console.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/stays", get(citizen::list))
        .route(
            "/me/stays/notify",
            get(citizen::notify_form).post(citizen::notify),
        )
        .route(
            "/me/stays/upload",
            post(citizen::upload).layer(DefaultBodyLimit::max(
                eid_core::stay::csv::MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/me/stays/self",
            get(citizen::self_form).post(citizen::self_notify),
        )
        .route("/stays", get(console::home))
        .route(
            "/stays/establishments",
            get(console::new_form).post(console::add),
        )
        .route("/stays/establishments/{id}", get(console::establishment))
        .route(
            "/stays/establishments/{id}/client",
            post(console::bind_client),
        )
        .route(
            "/stays/search",
            get(console::search_form).post(console::search),
        )
        .route("/stays/report", get(console::report))
}

/// The API route, documented by its `#[utoipa::path]`.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api::notify))
}

/// An establishment type in the page's language.
pub fn kind_label(lang: Lang, k: Kind) -> &'static str {
    lang.t(&format!("stay.kind.{}", k.as_str()))
}

/// A time as `dd/mm/yyyy hh:mm` in Vietnam.
pub fn day_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(eid_core::clock::vietnam());
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// A day as `dd/mm/yyyy`.
pub fn day(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}
