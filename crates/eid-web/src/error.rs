//! The one error type of the HTTP boundary, mapped to a status and a stable code in one place.
//!
//! The JSON body is `{"error": {"code", "message", "request_id"}}`. Codes are stable and
//! greppable (`person.not_found`); messages are for people. An internal cause is logged once
//! here, with the request id, and never shown: the client sees `internal` and the request id.
//! The console renders the same errors as HTML through [`crate::console::ConsoleError`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eid_core::StoreError;

tokio::task_local! {
    /// The id of the request being served, set by the request middleware.
    pub static REQUEST_ID: String;
    /// The server's clock, set by the request middleware, for answers that depend on the time
    /// (a lock-out's retry delay).
    pub static REQUEST_CLOCK: std::sync::Arc<dyn eid_core::clock::Clock>;
}

/// The current time by the server's clock (the system's outside a request).
fn now() -> time::OffsetDateTime {
    use eid_core::clock::{Clock, SystemClock};
    REQUEST_CLOCK
        .try_with(|c| c.now())
        .unwrap_or_else(|_| SystemClock.now())
}

/// The request id of the current task, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

#[derive(Debug)]
pub enum AppError {
    /// Input that does not parse; `code` names what (`person.bad_id`), `message` why.
    BadRequest { code: &'static str, message: String },
    /// No credentials were given.
    Unauthenticated,
    /// The credentials are unknown, revoked or expired.
    BadCredentials,
    /// A relying party's client authentication (`client_secret_basic`, `private_key_jwt`) is
    /// missing or failed; the message says which without telling whether the client exists.
    BadClient(String),
    /// The caller may not see this (outside their unit, or their role has no access).
    ScopeDenied,
    /// The form's CSRF token is missing or wrong.
    Csrf,
    /// Nothing with this key exists.
    NotFound { code: &'static str, message: String },
    /// Too many failed sign-ins; retry after this many seconds.
    RateLimited { retry_after: u64 },
    /// An account rule refused the request (see `eid_core::accounts::Refusal`).
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
        /// Extra fields for the client (the units to go to, a retry time).
        detail: Option<serde_json::Value>,
    },
    /// A bug or an unavailable database: logged, never shown.
    Internal(String),
}

impl AppError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated | AppError::BadCredentials | AppError::BadClient(_) => {
                StatusCode::UNAUTHORIZED
            }
            AppError::ScopeDenied | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Refused { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, greppable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } | AppError::NotFound { code, .. } => code,
            AppError::Unauthenticated => "auth.required",
            AppError::BadCredentials => "auth.invalid",
            AppError::BadClient(_) => "client.invalid",
            AppError::ScopeDenied => "scope.denied",
            AppError::Csrf => "auth.csrf",
            AppError::RateLimited { .. } => "auth.rate_limited",
            AppError::Refused { code, .. } => code,
            AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client (in English; the console translates by code).
    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest { message, .. }
            | AppError::NotFound { message, .. }
            | AppError::Refused { message, .. }
            | AppError::BadClient(message) => message.clone(),
            AppError::Unauthenticated => {
                "authentication required: send Authorization: Bearer <token>".to_owned()
            }
            AppError::BadCredentials => "the credentials are not valid".to_owned(),
            AppError::ScopeDenied => "this is outside the scope of your account".to_owned(),
            AppError::Csrf => {
                "the form is missing its security token or it has expired; reload the page"
                    .to_owned()
            }
            AppError::RateLimited { retry_after } => {
                format!("too many failed sign-ins; try again in {retry_after} seconds")
            }
            AppError::Internal(_) => {
                "internal error; quote the request id when reporting it".to_owned()
            }
        }
    }

    /// Logs an internal cause once. Other errors are the client's and are not logged here.
    pub fn log(&self, request_id: &str) {
        if let AppError::Internal(cause) = self {
            tracing::error!(request_id, cause = %cause, "internal error");
        }
    }

    /// Headers every rendering of this error carries.
    pub fn extra_headers(&self, response: &mut Response) {
        match self {
            AppError::RateLimited { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            // An overloaded server's refusal says when to come back.
            AppError::Refused {
                status,
                detail: Some(d),
                ..
            } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                if let Some(v) = d
                    .get("retry_after_seconds")
                    .and_then(|s| s.as_u64())
                    .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
                {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            AppError::Unauthenticated | AppError::BadCredentials => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::BadClient(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"eid\""),
                );
            }
            _ => {}
        }
    }
}

/// A store error: `503 server.unavailable` with `Retry-After` when the database cannot take
/// work for the moment (a failover under way, no free connection), an internal error otherwise.
pub fn store_error(e: &StoreError) -> AppError {
    match e {
        StoreError::Unavailable(cause) => {
            tracing::warn!(request_id = %request_id(), cause = %cause, "database unavailable");
            AppError::Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "server.unavailable",
                message: format!(
                    "the database cannot take requests at the moment; try again in {UNAVAILABLE_RETRY_SECS} seconds"
                ),
                detail: Some(serde_json::json!({
                    "retry_after_seconds": UNAVAILABLE_RETRY_SECS,
                    "reason": "database",
                })),
            }
        }
        e => AppError::Internal(e.to_string()),
    }
}

/// How long a client is asked to wait when the database is unavailable: about the time a
/// PostgreSQL failover under Patroni takes to promote a replica (`bench/pg-failover.sh`).
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// Through the core's `Error`, which already sorts out the store and scope cases.
impl From<eid_core::ops::OpsError> for AppError {
    fn from(e: eid_core::ops::OpsError) -> AppError {
        eid_core::Error::from(e).into()
    }
}

/// An operations rule's refusal (the store and scope cases arrive as their own variants).
fn ops_refusal(e: eid_core::ops::OpsError) -> AppError {
    use eid_core::ops::OpsError;
    match e {
        OpsError::Store(e) => store_error(&e),
        OpsError::NotFound(code) => AppError::not_found(code, "not found"),
        OpsError::Invalid(code, why) => AppError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: why,
            detail: None,
        },
        OpsError::Stale => AppError::Refused {
            status: StatusCode::CONFLICT,
            code: "ops.stale",
            message: OpsError::Stale.to_string(),
            detail: None,
        },
        // The core turns these into its own `Bad` and `Conflict`; mapped alike here.
        OpsError::Bad(code, message) => AppError::BadRequest { code, message },
        OpsError::Conflict(code, message) => AppError::Refused {
            status: StatusCode::CONFLICT,
            code,
            message,
            detail: None,
        },
    }
}

/// Every use-case error of the core, mapped to HTTP here and nowhere else.
impl From<eid_core::Error> for AppError {
    fn from(e: eid_core::Error) -> AppError {
        use eid_core::Error;
        match e {
            Error::Bad { code, message } => AppError::BadRequest { code, message },
            Error::NotFound { code, message } => AppError::NotFound { code, message },
            Error::ScopeDenied => AppError::ScopeDenied,
            Error::Conflict { code, message } => AppError::Refused {
                status: StatusCode::CONFLICT,
                code,
                message,
                detail: None,
            },
            Error::Refused(r) => r.into(),
            Error::Ops(e) => ops_refusal(e),
            Error::Store(e) => store_error(&e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        store_error(&e)
    }
}

impl From<eid_core::accounts::Refusal> for AppError {
    fn from(r: eid_core::accounts::Refusal) -> AppError {
        use eid_core::accounts::{Class, Refusal};
        let detail = match &r {
            Refusal::Store(e) => return store_error(e),
            Refusal::GoInPerson { card_issued, units } => Some(serde_json::json!({
                "card_issued": card_issued.map(eid_domain::iso),
                "collecting_units": units,
            })),
            Refusal::LockedOut(until) | Refusal::TooManyCodes(until) => Some(serde_json::json!({
                "retry_after_seconds": (*until - now()).whole_seconds().max(1),
            })),
            _ => None,
        };
        let status = match r.class() {
            Class::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Class::Unauthorized => StatusCode::UNAUTHORIZED,
            Class::Forbidden => StatusCode::FORBIDDEN,
            Class::NotFound => StatusCode::NOT_FOUND,
            Class::Conflict => StatusCode::CONFLICT,
            Class::Locked => StatusCode::LOCKED,
            Class::TooMany => StatusCode::TOO_MANY_REQUESTS,
        };
        AppError::Refused {
            status,
            code: r.code(),
            message: r.to_string(),
            detail,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        self.log(&request_id);
        let mut error = serde_json::json!({
            "code": self.code(), "message": self.message(), "request_id": request_id
        });
        if let (
            AppError::Refused {
                detail: Some(d), ..
            },
            Some(obj),
        ) = (&self, error.as_object_mut())
        {
            obj.insert("detail".to_owned(), d.clone());
        }
        let body = serde_json::json!({ "error": error });
        let mut response = (self.status(), axum::Json(body)).into_response();
        self.extra_headers(&mut response);
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_stable_code_and_status() {
        let cases = [
            (AppError::bad("person.bad_id", "x"), 400, "person.bad_id"),
            (AppError::Unauthenticated, 401, "auth.required"),
            (AppError::BadCredentials, 401, "auth.invalid"),
            (AppError::BadClient("x".into()), 401, "client.invalid"),
            (AppError::ScopeDenied, 403, "scope.denied"),
            (AppError::Csrf, 403, "auth.csrf"),
            (
                AppError::not_found("person.not_found", "x"),
                404,
                "person.not_found",
            ),
            (
                AppError::RateLimited { retry_after: 3 },
                429,
                "auth.rate_limited",
            ),
            (AppError::Internal("secret cause".into()), 500, "internal"),
            (
                store_error(&StoreError::Unavailable("secret cause".into())),
                503,
                "server.unavailable",
            ),
            (
                store_error(&StoreError::Db("secret cause".into())),
                500,
                "internal",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status().as_u16(), e.code()), (status, code));
            assert!(!e.message().contains("secret cause"));
        }
    }

    #[test]
    fn an_unavailable_database_answers_503_with_retry_after() {
        let response = store_error(&StoreError::Unavailable("failover".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            &UNAVAILABLE_RETRY_SECS.to_string()
        );
    }
}
