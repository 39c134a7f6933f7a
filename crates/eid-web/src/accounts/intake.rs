//! Intake devices (`/api/v1/intake/…`): signed application packets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use eid_core::accounts as acc;
use serde_json::{json, Value};

use crate::error::{request_id, AppError};
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

use super::wire::*;

/// An intake device sends a signed application (the rule: `eid_core::accounts::intake`).
#[utoipa::path(
    post,
    path = "/api/v1/intake/applications",
    tag = "accounts",
    summary = "An Ed25519-signed application packet from a registered intake device (audited).",
    request_body = PacketIn,
    responses(
        (status = 201, description = "`{application, review_reason}` (a JSON object built by hand).", body = Object),
        Errors,
    ),
)]
pub(super) async fn intake(
    State(state): State<AppState>,
    JsonBody(p): JsonBody<PacketIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let (st, now, rid) = (state.clone(), state.now(), request_id());
    let collected = state
        .blocking(move |store| {
            let node = acc::IntakeNode {
                group: st.intake_writes(),
                cache: Some(&st.intake_cache),
            };
            Ok(acc::intake_on(
                node,
                store,
                &st.accounts,
                &p.packet,
                &p.signature,
                &rid,
                now,
            )?)
        })
        .await?;
    state.dispatcher.wake();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "application": application_json(&collected.application),
            "review_reason": collected.review_reason,
        })),
    ))
}
