//! The JSON body extractor of the API: axum's `Json`, but a body that is not JSON, is not sent
//! as JSON, or does not fit the expected fields is answered with the API's JSON error
//! (`{"error": {"code", "message", "request_id"}}`) instead of axum's plain text. Responses keep
//! using `axum::Json`.
//!
//! Codes: `request.bad_json` (400, not JSON), `request.bad_content_type` (415, no
//! `Content-Type: application/json`), `request.bad_fields` (422, JSON of the wrong shape),
//! `request.body` (the status axum gives: a body too large or unreadable).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A request body parsed as JSON into `T`; rejections become [`AppError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

/// The API error for a rejected JSON body, in the status family axum gives it.
fn rejected(rejection: &JsonRejection) -> AppError {
    let code = match rejection {
        JsonRejection::JsonSyntaxError(_) => "request.bad_json",
        JsonRejection::MissingJsonContentType(_) => "request.bad_content_type",
        JsonRejection::JsonDataError(_) => "request.bad_fields",
        _ => "request.body",
    };
    AppError::Refused {
        status: rejection.status(),
        code,
        message: rejection.body_text(),
        detail: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    /// Every handler of the crate takes its JSON body through [`super::JsonBody`]: an
    /// `axum::Json` in extractor position would answer malformed bodies in plain text again.
    #[test]
    fn no_handler_takes_axum_json_as_its_body() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        let mut offenders = Vec::new();
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        let l = line.trim();
                        if l.starts_with("Json(") && l.contains("): Json<") {
                            offenders.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        assert!(files > 20, "the scan found the sources");
        assert!(offenders.is_empty(), "use JsonBody: {offenders:?}");
    }
}
