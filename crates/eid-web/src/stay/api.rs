//! `POST /api/v1/stays`: an establishment's own system (a hospital's, a hotel's) notifies stays
//! with a client-credentials access token (scope `stay:notify`) from `/oauth2/token`. The rules
//! are the core's (`eid_core::stay`); this module parses the JSON and answers it.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use eid_core::stay::{self, Notifier, StayIn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

/// One guest's stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StayWire {
    /// A citizen guest's personal ID (12 digits); checked with `full_name` and `birth_date`.
    #[serde(default)]
    pub personal_id: Option<String>,
    /// The guest's full name.
    pub full_name: String,
    /// A citizen's date of birth, `yyyy-mm-dd` or `dd/mm/yyyy`.
    #[serde(default)]
    pub birth_date: Option<String>,
    /// A foreign guest's passport number (instead of `personal_id`).
    #[serde(default)]
    pub passport: Option<String>,
    /// A foreign guest's nationality, ISO 3166 alpha-2 or alpha-3.
    #[serde(default)]
    pub nationality: Option<String>,
    /// Arrival: RFC 3339, or `yyyy-mm-ddThh:mm` in Vietnam time.
    #[schema(examples("2026-12-03T20:15:00+07:00"))]
    pub arrival: String,
    /// Expected departure, not before the arrival, within 30 days.
    pub departure: String,
    /// Why the guest stays (up to 200 characters).
    pub reason: String,
}

/// A notification of one or several stays at the client's establishment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaysIn {
    /// At most 500 stays; all are written or none.
    pub stays: Vec<StayWire>,
}

/// One stay as written.
#[derive(Debug, Serialize, ToSchema)]
pub struct StayOut {
    pub id: i64,
    /// Notified after the deadline (accepted, marked late).
    pub late: bool,
    /// The deadline that applied (RFC 3339), none for a repeated stay of a close relative.
    pub deadline: Option<String>,
    /// `each_stay`, `relatives_first` or `relatives_repeat`.
    pub rule: String,
    /// The same stay (establishment, guest, arrival) had been notified before; nothing new.
    pub repeated: bool,
}

/// The stays written, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaysOut {
    pub stays: Vec<StayOut>,
    /// The deadline rule and its source.
    pub rule_source: String,
}

fn stay_in(w: &StayWire) -> Result<StayIn, eid_core::Error> {
    let get = |k: &str| -> String {
        match k {
            "personal_id" => w.personal_id.clone().unwrap_or_default(),
            "full_name" => w.full_name.clone(),
            "birth_date" => w.birth_date.clone().unwrap_or_default(),
            "passport" => w.passport.clone().unwrap_or_default(),
            "nationality" => w.nationality.clone().unwrap_or_default(),
            "arrival" => w.arrival.clone(),
            "departure" => w.departure.clone(),
            "reason" => w.reason.clone(),
            _ => String::new(),
        }
    };
    stay::csv::stay_from_fields(&get)
}

pub(crate) use crate::wire::rfc3339;

/// A refusal of the stay at `index` of a submission: the core's error, with the index.
pub(crate) fn row_error(index: usize, e: eid_core::Error) -> AppError {
    match AppError::from(e) {
        AppError::BadRequest { code, message } => AppError::Refused {
            status: StatusCode::BAD_REQUEST,
            code,
            message,
            detail: Some(serde_json::json!({ "index": index })),
        },
        other => other,
    }
}

fn token_error(e: eid_core::oidc::OAuthError) -> AppError {
    match e.error {
        "insufficient_scope" => AppError::ScopeDenied,
        "server_error" => AppError::Internal(e.cause.unwrap_or_default()),
        _ => AppError::BadCredentials,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/stays",
    tag = "stays",
    summary = "Notify stays at the establishment the client is bound to (thông báo lưu trú).",
    description = "Authenticated by an OAuth2 client-credentials access token with scope \
        `stay:notify` (`POST /oauth2/token`, `grant_type=client_credentials`) of a client bound to \
        one establishment. A citizen guest's personal ID, full name and date of birth are checked \
        against the register together: an unknown ID and a mismatch get the same answer \
        (`stay.guest_unverified`). Deadline: before 23:00 Vietnam time on the day the stay starts, \
        before 08:00 the next day for an arrival at 23:00 or later; late notifications are \
        accepted and marked late. All stays are written or none; a refusal names the stay's \
        `index` in `detail`. Sending the same stay again writes nothing (`repeated`).",
    request_body = StaysIn,
    responses(
        (status = 201, description = "The stays written.", body = StaysOut),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StaysIn>,
) -> Result<(StatusCode, Json<StaysOut>), AppError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .ok_or(AppError::Unauthenticated)?;
    let mut stays = Vec::with_capacity(body.stays.len());
    for (i, w) in body.stays.iter().enumerate() {
        stays.push(stay_in(w).map_err(|e| row_error(i, e))?);
    }
    let now = state.now();
    let st = state.clone();
    let written = state
        .blocking(move |store| {
            let issuer = st.oidc.issuer.clone();
            let (_, jwks) = st.oidc.keys(store, now).map_err(token_error)?;
            let (client_id, est) =
                stay::api::caller(store, &jwks, &issuer, &token, now).map_err(token_error)?;
            stay::notify(store, &Notifier::Client { client_id }, est, &stays, now)
                .map_err(|r| row_error(r.index, r.error))
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StaysOut {
            stays: written
                .iter()
                .map(|n| StayOut {
                    id: n.id,
                    late: n.late,
                    deadline: n.deadline.map(rfc3339),
                    rule: n.rule.as_str().to_owned(),
                    repeated: n.repeated,
                })
                .collect(),
            rule_source: stay::DEADLINE.source.to_owned(),
        }),
    ))
}
