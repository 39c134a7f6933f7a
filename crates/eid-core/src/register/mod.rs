//! The population register: who may read a person, search, see a unit's population and correct
//! a record, and the import and export of persons.
//!
//! Every use case here takes the caller as [`Acting`](crate::Acting) (or [`Caller`](crate::Caller)
//! when nothing is audited) and answers with [`Error`](crate::Error): input is parsed into
//! domain types first (a bad ID is `Bad` with the parser's reason), the caller's scope is checked
//! against the person's permanent residence or the unit, and every person read, search and
//! correction is written to the audit trail, allowed or denied, with the request id. A person who
//! exists outside the caller's scope is `ScopeDenied`; an ID nobody has is `NotFound`. Auditors
//! read the audit trail only.

pub mod batched;
pub mod correct;
pub mod import;
pub mod parse;
pub mod read;
pub mod search;
pub mod units;

pub use correct::{check_reason, correct_person, MAX_REASON_CHARS};
pub use parse::{parse_id, parse_tree, parse_unit};
pub use read::{household_members, person_history, read_person, read_person_and_residency};
pub use search::{parse_search, search, SearchParams, MAX_LIMIT};
pub use units::{unit_view, units_by_name, UnitView};
