//! The account API: the citizen app (`/api/v1/app/…`), intake devices (`/api/v1/intake/…`) and
//! officers (`/api/v1/applications`, `/api/v1/accounts`, `/api/v1/devices`, `/api/v1/sms`).
//!
//! Handlers parse into domain types, run one `eid_core::accounts` use case on a blocking thread
//! (the credential checks with their equal timing and lock-outs included) and render; they hash
//! only the new secrets of the registration and reset flows, before any transaction. The
//! officer operations are thin wrappers ([`officer`]) over `eid_core::accounts::officer`, so the
//! console calls exactly what the API calls. `crate::accounts_api` is this module's old path.

mod app;
mod extract;
mod intake;
pub mod officer;
mod officer_api;
mod outbox;
pub(crate) mod wire;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use extract::Citizen;
pub use outbox::StoreOutbox;
pub use wire::{account_json, application_json, device_json, event_json, sms_json};

/// The largest photo accepted, in bytes (after base64 decoding).
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The account routes, each documented by the `#[utoipa::path]` on its handler.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(app::register))
        .routes(routes!(app::register_confirm))
        .routes(routes!(app::activate))
        .routes(routes!(app::signin))
        .routes(routes!(app::signin_device))
        .routes(routes!(app::holder_unlock))
        .routes(routes!(app::reset_start))
        .routes(routes!(app::reset_confirm))
        .routes(routes!(app::my_account))
        .routes(routes!(app::my_events))
        .routes(routes!(app::holder_lock))
        .routes(routes!(app::change_passcode))
        .routes(routes!(app::change_password))
        .routes(routes!(app::phone_start))
        .routes(routes!(app::phone_confirm))
        .routes(routes!(app::upgrade))
        .routes(routes!(app::register_child))
        .routes(routes!(app::signout))
        .routes(routes!(intake::intake))
        .routes(routes!(officer_api::list_applications))
        .routes(routes!(officer_api::get_application))
        .routes(routes!(officer_api::approve))
        .routes(routes!(officer_api::reject))
        .routes(routes!(officer_api::resend))
        .routes(routes!(officer_api::get_account))
        .routes(routes!(officer_api::officer_lock))
        .routes(routes!(officer_api::officer_unlock))
        .routes(routes!(officer_api::officer_phone))
        .routes(routes!(officer_api::add_guardian))
        .routes(routes!(officer_api::list_devices, officer_api::add_device))
        .routes(routes!(officer_api::device_status))
        .routes(routes!(officer_api::list_sms))
}
