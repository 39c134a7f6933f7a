//! The officer operations as the API and the console call them: thin async wrappers that take
//! the request's id and time, run the use case of `eid_core::accounts::officer` (scope checks
//! and auditing included) on a blocking thread, and map its error.

use eid_core::accounts::officer::{self as core, AppAction};
use eid_core::accounts::{Account, AccountEvent, Application, Device, Sms};
use eid_core::Acting;

use crate::auth::Caller;
use crate::error::{request_id, AppError};
use crate::state::AppState;

/// The caller acting in this request, now.
fn acting(state: &AppState, caller: &Caller) -> Acting {
    Acting::new(caller.clone(), request_id(), state.now())
}

pub async fn applications(
    state: &AppState,
    caller: &Caller,
    unit: Option<&str>,
    app_state: Option<String>,
    day: Option<time::Date>,
    limit: u32,
) -> Result<Vec<Application>, AppError> {
    let (caller, unit) = (caller.clone(), unit.map(str::to_owned));
    state
        .blocking(move |store| {
            Ok(core::applications(
                store,
                &caller,
                unit.as_deref(),
                app_state.as_deref(),
                day,
                limit,
            )?)
        })
        .await
}

/// An application the caller may see (collected inside their unit, or by a resident of it).
pub async fn application(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Application, AppError> {
    let caller = caller.clone();
    state
        .blocking(move |store| Ok(core::application(store, &caller, id)?))
        .await
}

/// Approve or reject an application, or re-send its code.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: &str,
    reason: Option<String>,
) -> Result<Application, AppError> {
    let (acting, action) = (acting(state, caller), AppAction::parse(action));
    let s = state.accounts.clone();
    let out = state
        .blocking(move |store| {
            Ok(core::act(
                store,
                &s,
                &acting,
                id,
                action,
                reason.as_deref(),
            )?)
        })
        .await?;
    state.dispatcher.wake();
    Ok(out)
}

/// An account and its events, if the holder lives inside the caller's unit.
pub async fn account(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<(Account, Vec<AccountEvent>), AppError> {
    let (acting, raw_id) = (acting(state, caller), raw_id.to_owned());
    state
        .blocking(move |store| Ok(core::account(store, &acting, &raw_id)?))
        .await
}

/// Lock or unlock by an officer, with a reason.
pub async fn lock(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    lock: bool,
    reason: &str,
) -> Result<Account, AppError> {
    let acting = acting(state, caller);
    let (raw_id, reason) = (raw_id.to_owned(), reason.to_owned());
    state
        .blocking(move |store| Ok(core::lock(store, &acting, &raw_id, lock, &reason)?))
        .await
}

/// An officer changes the phone number (the holder came in person).
pub async fn set_phone(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    new_phone: &str,
    reason: &str,
) -> Result<Account, AppError> {
    let acting = acting(state, caller);
    let (raw_id, new_phone, reason) = (raw_id.to_owned(), new_phone.to_owned(), reason.to_owned());
    state
        .blocking(move |store| {
            Ok(core::set_phone(
                store, &acting, &raw_id, &new_phone, &reason,
            )?)
        })
        .await
}

pub async fn devices(
    state: &AppState,
    caller: &Caller,
    unit: Option<&str>,
) -> Result<Vec<Device>, AppError> {
    let (caller, unit) = (caller.clone(), unit.map(str::to_owned));
    state
        .blocking(move |store| Ok(core::devices(store, &caller, unit.as_deref())?))
        .await
}

/// Registers a device in a unit inside the caller's (district level and above register).
pub async fn add_device(
    state: &AppState,
    caller: &Caller,
    name: &str,
    unit: &str,
    public_key_hex: &str,
    daily_capacity: u32,
) -> Result<Device, AppError> {
    let acting = acting(state, caller);
    let (name, unit, key) = (name.to_owned(), unit.to_owned(), public_key_hex.to_owned());
    state
        .blocking(move |store| {
            Ok(core::add_device(
                store,
                &acting,
                &name,
                &unit,
                &key,
                daily_capacity,
            )?)
        })
        .await
}

pub async fn device_status(
    state: &AppState,
    caller: &Caller,
    id: i64,
    status: &str,
) -> Result<Device, AppError> {
    let (acting, status) = (acting(state, caller), status.to_owned());
    state
        .blocking(move |store| Ok(core::set_status(store, &acting, id, &status)?))
        .await
}

/// The SMS outbox; only while the development sink is the sender, and only to ministry-level
/// staff.
pub async fn sms(state: &AppState, caller: &Caller, limit: u32) -> Result<Vec<Sms>, AppError> {
    let (caller, development_sink) = (caller.clone(), state.sms.name() == "dev-sink");
    state
        .blocking(move |store| Ok(core::sms(store, &caller, development_sink, limit)?))
        .await
}

/// Records a guardian of a child who lives inside the caller's unit.
pub async fn add_guardian(
    state: &AppState,
    caller: &Caller,
    child: &str,
    guardian: &str,
    relation: &str,
) -> Result<(), AppError> {
    let acting = acting(state, caller);
    let (child, guardian, relation) = (child.to_owned(), guardian.to_owned(), relation.to_owned());
    state
        .blocking(move |store| {
            Ok(core::add_guardian(
                store, &acting, &child, &guardian, &relation,
            )?)
        })
        .await
}
