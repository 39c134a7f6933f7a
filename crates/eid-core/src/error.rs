//! The one error of the use cases, whatever the transport. The web crate maps each variant to
//! an HTTP status and a stable code in one place (`eid_web::error`); the CLI prints it.

use std::fmt;

use crate::accounts::Refusal;
use crate::ops::OpsError;
use crate::StoreError;

/// Why a use case did not do what was asked.
#[derive(Debug)]
pub enum Error {
    /// Input that does not parse: `code` names what (`person.bad_id`), `message` why.
    Bad { code: &'static str, message: String },
    /// Nothing with this key exists (`person.not_found`).
    NotFound { code: &'static str, message: String },
    /// Outside the caller's scope, or their role has no access. Audited as `denied`.
    ScopeDenied,
    /// The record changed since the caller read it (`person.stale`): nothing was written.
    Conflict { code: &'static str, message: String },
    /// An account rule refused (a stable code and a class of its own).
    Refused(Refusal),
    /// An operations rule refused.
    Ops(OpsError),
    /// The database failed: logged by the caller, never shown.
    Store(StoreError),
}

impl Error {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Error {
        Error::Bad {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Error {
        Error::NotFound {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bad { message, .. }
            | Error::NotFound { message, .. }
            | Error::Conflict { message, .. } => f.write_str(message),
            Error::ScopeDenied => f.write_str("this is outside the scope of your account"),
            Error::Refused(r) => write!(f, "{r}"),
            Error::Ops(e) => write!(f, "{e}"),
            Error::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        Error::Store(e)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        match r {
            Refusal::Store(e) => Error::Store(e),
            r => Error::Refused(r),
        }
    }
}

impl From<OpsError> for Error {
    fn from(e: OpsError) -> Error {
        match e {
            OpsError::Store(e) => Error::Store(e),
            OpsError::Invalid("scope.denied", _) => Error::ScopeDenied,
            OpsError::Bad(code, message) => Error::Bad { code, message },
            OpsError::Conflict(code, message) => Error::Conflict { code, message },
            e => Error::Ops(e),
        }
    }
}
