//! Access-controlled reads shared by the JSON API and the console: thin async adapters over the
//! register's and the audit log's use cases in `eid_core` (`eid_core::register`,
//! `eid_core::audit_log`), where input parsing, scope checks and auditing live.
//!
//! Each adapter builds the [`Acting`] (caller, request id, the server's time) outside the
//! blocking closure, runs the use case on the store, maps `eid_core::Error` to [`AppError`] and
//! counts the read or the refusal in the metrics.

use eid_core::register;
use eid_core::store::{AuditEntry, PersonEvent, SearchQuery, StoredPerson};
use eid_core::Acting;
use eid_domain::{PersonalId, Tree, Unit};

use crate::auth::Caller;
use crate::error::{request_id, AppError};
use crate::state::AppState;

pub use eid_core::register::{SearchParams, UnitView, MAX_LIMIT};

/// Parses a personal ID from a path or form, with the domain's reason on failure.
pub fn parse_id(raw: &str) -> Result<PersonalId, AppError> {
    Ok(register::parse_id(raw)?)
}

/// Parses a unit code and finds it in `tree`.
pub fn parse_unit(raw: &str, tree: Tree) -> Result<&'static Unit, AppError> {
    Ok(register::parse_unit(raw, tree)?)
}

/// Parses `2024` or `2025` (empty: 2024).
pub fn parse_tree(raw: Option<&str>) -> Result<Tree, AppError> {
    Ok(register::parse_tree(raw)?)
}

/// The caller acting in the request being served, at the server's time.
fn acting(state: &AppState, caller: &Caller) -> Acting {
    Acting::new(caller.clone(), request_id(), state.now())
}

/// Counts a read of the register, or its scope refusal.
fn count<T>(state: &AppState, result: &Result<T, AppError>, ok: fn(&crate::metrics::Metrics)) {
    match result {
        Ok(_) => ok(&state.metrics),
        Err(AppError::ScopeDenied) => state.metrics.scope_denied(),
        Err(_) => {}
    }
}

/// One person, if the caller may see them. Audited as `person.read`.
pub async fn read_person(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<StoredPerson, AppError> {
    let id = parse_id(raw_id)?;
    let acting = acting(state, caller);
    let result = state
        .read(move |store| Ok(register::read_person(store, &acting, &id)?))
        .await;
    count(state, &result, crate::metrics::Metrics::person_read);
    result
}

/// [`read_person`] with the person's residency, in the same store call (the API's lookup: one
/// trip to a blocking thread and the pool on PostgreSQL, not two).
pub async fn read_person_and_residency(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<(StoredPerson, eid_domain::Residency), AppError> {
    let id = parse_id(raw_id)?;
    let acting = acting(state, caller);
    let result = state
        .read(move |store| Ok(register::read_person_and_residency(store, &acting, &id)?))
        .await;
    count(state, &result, crate::metrics::Metrics::person_read);
    result
}

/// One person and their full history, if the caller may see them. Audited as `person.read`.
pub async fn person_history(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<(StoredPerson, Vec<PersonEvent>), AppError> {
    let id = parse_id(raw_id)?;
    let acting = acting(state, caller);
    let result = state
        .read(move |store| Ok(register::person_history(store, &acting, &id)?))
        .await;
    count(state, &result, crate::metrics::Metrics::person_read);
    result
}

/// The other members of a person's household within the caller's unit. Audited as
/// `person.household`.
pub async fn household_members(
    state: &AppState,
    caller: &Caller,
    household: String,
    own: PersonalId,
) -> Result<Vec<StoredPerson>, AppError> {
    let acting = acting(state, caller);
    state
        .read(move |store| {
            Ok(register::household_members(
                store, &acting, &household, &own,
            )?)
        })
        .await
}

/// Parses the parameters into a query scoped to `caller` (without the scope check).
pub fn parse_search(caller: &Caller, p: &SearchParams) -> Result<SearchQuery, AppError> {
    Ok(register::parse_search(caller, p)?)
}

/// Searches persons by folded name prefix and birth within a unit of the caller's scope.
/// Audited as `person.search` with the unit as target.
pub async fn search(
    state: &AppState,
    caller: &Caller,
    p: &SearchParams,
) -> Result<(SearchQuery, Vec<StoredPerson>), AppError> {
    let q = parse_search(caller, p)?;
    let acting = acting(state, caller);
    let result = state
        .blocking(move |store| {
            let found = register::search(store, &acting, &q)?;
            Ok((q, found))
        })
        .await;
    count(state, &result, crate::metrics::Metrics::person_search);
    result
}

/// A unit and its children with populations counted from the communes the caller sees.
pub async fn unit_view(
    state: &AppState,
    caller: &Caller,
    raw_code: &str,
    raw_tree: Option<&str>,
) -> Result<UnitView, AppError> {
    let tree = parse_tree(raw_tree)?;
    let unit = parse_unit(raw_code, tree)?;
    let who = caller.clone();
    let result = state
        .blocking(move |store| Ok(register::unit_view(store, &who, unit, tree)?))
        .await;
    // An auditor's refusal is not counted as a scope denial (it never was).
    if matches!(result, Err(AppError::ScopeDenied)) && caller.not_auditor().is_ok() {
        state.metrics.scope_denied();
    }
    result
}

/// The newest audit entries, for auditors and the ministry. Audited as `audit.read`.
pub async fn audit_log(
    state: &AppState,
    caller: &Caller,
    limit: u32,
) -> Result<Vec<AuditEntry>, AppError> {
    let acting = acting(state, caller);
    state
        .blocking(move |store| Ok(eid_core::audit_log::audit_log(store, &acting, limit)?))
        .await
}
