//! Intake devices (`/api/v1/intake/…`): signed application packets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use eid_core::accounts::{self as acc, Refusal};
use serde_json::{json, Value};

use crate::error::{request_id, AppError};
use crate::openapi::Errors;
use crate::state::AppState;

use super::wire::*;

// ----------------------------------------------------------------------------------------------
// Intake devices

/// An intake device sends a signed application. The device is known by the id inside the
/// packet; nothing else in it is read before the signature checks out with that device's key.
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
    Json(p): Json<PacketIn>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let device_id = eid_core::intake::claimed_device(&p.packet)
        .map_err(|e| AppError::from(Refusal::BadPacket(e.to_string())))?;
    let now = state.now();
    let s = state.accounts.clone();
    let rid = request_id();
    let collected = state
        .blocking(move |store| {
            let device = acc::device(store, device_id)?.ok_or(Refusal::DeviceUnknown)?;
            let key: [u8; 32] = device
                .public_key
                .clone()
                .try_into()
                .map_err(|_| AppError::Internal("stored device key is not 32 bytes".into()))?;
            let verified = eid_core::intake::verify(&p.packet, &p.signature, &key);
            let actor = eid_core::Actor::Cli(format!("device:{device_id}"));
            let packet = match verified {
                Ok(packet) => packet,
                Err(e) => {
                    store.audit(
                        &actor,
                        "intake.packet",
                        &device_id.to_string(),
                        "denied",
                        &rid,
                        now,
                    )?;
                    return Err(Refusal::BadPacket(e.to_string()).into());
                }
            };
            let out = acc::collect(store, &s, &device, &packet, now);
            let outcome = if out.is_ok() { "ok" } else { "denied" };
            store.audit(
                &actor,
                "intake.packet",
                packet.personal_id.as_str(),
                outcome,
                &rid,
                now,
            )?;
            Ok::<_, AppError>(out?)
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
