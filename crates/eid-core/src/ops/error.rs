//! Why an operations change was refused.

use crate::StoreError;

/// Why an operations change was refused. Messages carry no personal data.
#[derive(Debug)]
pub enum OpsError {
    Invalid(&'static str, String),
    /// A value that does not parse (a stored proposal's unknown life status).
    Bad(&'static str, String),
    /// Someone else got there first (a proposal decided meanwhile): nothing was written.
    Conflict(&'static str, String),
    NotFound(&'static str),
    /// The record changed since it was read (optimistic version check).
    Stale,
    Store(StoreError),
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> OpsError {
        OpsError::Store(e)
    }
}

impl std::fmt::Display for OpsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpsError::Invalid(_, why) | OpsError::Bad(_, why) | OpsError::Conflict(_, why) => {
                f.write_str(why)
            }
            OpsError::NotFound(what) => write!(f, "not found: {what}"),
            OpsError::Stale => {
                f.write_str("it was changed by someone else since you read it; reload")
            }
            OpsError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl OpsError {
    pub fn code(&self) -> &'static str {
        match self {
            OpsError::Invalid(code, _)
            | OpsError::Bad(code, _)
            | OpsError::Conflict(code, _)
            | OpsError::NotFound(code) => code,
            OpsError::Stale => "ops.stale",
            OpsError::Store(_) => "internal",
        }
    }
}

/// A stored value that names no state or metric: the database holds what the code does not know.
pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}
