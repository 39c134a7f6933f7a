//! What officers do with accounts, applications, devices, guardians and the SMS outbox, shared
//! by the API and the console: each use case checks the caller's role and unit and audits what
//! it did through [`Acting`], so every audit line carries the request's id.
//!
//! Audit outcomes are `ok`, or `denied` for any refusal (a scope refusal or a rule's), as the
//! officer API has always recorded them; a read of an account that does not exist is `failed`.

use eid_domain::{ApplicationState, PhoneNumber, Tree, Units};
use time::Date;

use crate::error::Error;
use crate::store::Role;
use crate::{Acting, Caller, Store};

use super::*;

/// Parses a personal ID typed by an officer.
use crate::register::parse_id;

fn phone(raw: &str) -> Result<PhoneNumber, Error> {
    PhoneNumber::parse(raw).map_err(|e| Error::bad("phone.invalid", e.to_string()))
}

/// Audits `result` as `ok` or `denied` and passes it on.
pub fn audited<T, E: Into<Error>>(
    store: &dyn Store,
    acting: &Acting,
    action: &str,
    target: &str,
    result: Result<T, E>,
) -> Result<T, Error> {
    let outcome = if result.is_ok() { "ok" } else { "denied" };
    acting.audit(store, action, target, outcome)?;
    result.map_err(Into::into)
}

/// Applications collected inside `unit` (the caller's by default) or by its residents, by
/// state and day.
pub fn applications(
    store: &dyn Store,
    caller: &Caller,
    unit: Option<&str>,
    state: Option<&str>,
    day: Option<Date>,
    limit: u32,
) -> Result<Vec<Application>, Error> {
    let within = caller.within(unit)?;
    let state = match state.map(ApplicationState::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => {
            return Err(Error::bad(
                "application.state",
                "state is review, approved, code_sent, activated or rejected",
            ));
        }
    };
    let filter = AppFilter {
        within,
        state,
        day: day.map(day_number),
        limit: limit.clamp(1, 1000),
    };
    Ok(super::applications(store, &filter)?)
}

/// An application the caller may see (collected inside their unit, or by a resident of it).
pub fn application(store: &dyn Store, caller: &Caller, id: i64) -> Result<Application, Error> {
    caller.not_auditor()?;
    let a = super::application(store, id)?
        .ok_or_else(|| Error::not_found("application.not_found", "no application has this id"))?;
    if !Units::get().contains(Tree::Gso2024, &caller.staff.unit, &a.unit)
        && !caller.sees(&a.commune)
    {
        return Err(Error::ScopeDenied);
    }
    Ok(a)
}

/// What an officer does with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    Approve,
    Reject,
    Resend,
}

impl AppAction {
    /// `approve`, `reject`, or anything else: re-send the code (as the console's forms send).
    pub fn parse(s: &str) -> AppAction {
        match s {
            "approve" => AppAction::Approve,
            "reject" => AppAction::Reject,
            _ => AppAction::Resend,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AppAction::Approve => "approve",
            AppAction::Reject => "reject",
            AppAction::Resend => "resend",
        }
    }
}

/// Approves or rejects an application (with a reason), or re-sends its code. Audited as
/// `application.<action>`.
pub fn act(
    store: &dyn Store,
    s: &Settings,
    acting: &Acting,
    id: i64,
    action: AppAction,
    reason: Option<&str>,
) -> Result<Application, Error> {
    acting.caller.not_auditor()?;
    let (staff, now) = (&acting.caller.staff, acting.now);
    let r = match action {
        AppAction::Approve => decide(store, s, id, staff, Decision::Approve, now),
        AppAction::Reject => decide(
            store,
            s,
            id,
            staff,
            Decision::Reject(reason.unwrap_or("")),
            now,
        ),
        AppAction::Resend => resend_activation(store, s, id, staff, now),
    };
    audited(
        store,
        acting,
        &format!("application.{}", action.as_str()),
        &id.to_string(),
        r,
    )
}

/// An account and its events, if the holder lives inside the caller's unit (the register's
/// lock brought up to date first). Audited as `account.read`.
pub fn account(
    store: &dyn Store,
    acting: &Acting,
    raw_id: &str,
) -> Result<(Account, Vec<AccountEvent>), Error> {
    acting.caller.not_auditor()?;
    let id = parse_id(raw_id)?;
    let Some(a) = sync_register_lock(store, &id, acting.now)? else {
        acting.audit(store, "account.read", id.as_str(), "failed")?;
        return Err(Error::not_found(
            "account.not_found",
            "this person has no account",
        ));
    };
    if !acting.caller.sees(&a.commune) {
        acting.audit(store, "account.read", id.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    acting.audit(store, "account.read", id.as_str(), "ok")?;
    let events = events(store, &id)?;
    Ok((a, events))
}

/// An officer locks or unlocks an account, with a reason. Audited as `account.read` and
/// `account.lock` or `account.unlock`.
pub fn lock(
    store: &dyn Store,
    acting: &Acting,
    raw_id: &str,
    lock: bool,
    reason: &str,
) -> Result<Account, Error> {
    let (a, _) = account(store, acting, raw_id)?;
    let r = set_lock(
        store,
        &a,
        LockBy::Officer(&acting.caller.staff, reason),
        lock,
        acting.now,
    );
    let action = if lock {
        "account.lock"
    } else {
        "account.unlock"
    };
    audited(store, acting, action, a.personal_id.as_str(), r)
}

/// An officer changes the phone number (the holder came in person). Audited as
/// `account.read` and `account.phone`.
pub fn set_phone(
    store: &dyn Store,
    acting: &Acting,
    raw_id: &str,
    new_phone: &str,
    reason: &str,
) -> Result<Account, Error> {
    let p = phone(new_phone)?;
    let (a, _) = account(store, acting, raw_id)?;
    let r = officer_set_phone(store, &acting.caller.staff, &a, &p, reason, acting.now);
    audited(store, acting, "account.phone", a.personal_id.as_str(), r)
}

/// The intake devices inside `unit` (the caller's by default).
pub fn devices(
    store: &dyn Store,
    caller: &Caller,
    unit: Option<&str>,
) -> Result<Vec<Device>, Error> {
    let within = caller.within(unit)?;
    Ok(super::devices(store, &within)?)
}

/// Registers a device in a unit inside the caller's (district level and above register).
/// Audited as `device.add`.
pub fn add_device(
    store: &dyn Store,
    acting: &Acting,
    name: &str,
    unit: &str,
    public_key_hex: &str,
    daily_capacity: u32,
) -> Result<Device, Error> {
    let unit = acting.caller.within(Some(unit))?;
    if acting.caller.role() == Role::Commune {
        return Err(Error::ScopeDenied);
    }
    let key = crate::intake::parse_public_key(public_key_hex)
        .map_err(|e| Error::bad("device.public_key", e.to_string()))?;
    let r = super::add_device(
        store,
        name,
        &unit,
        &key,
        daily_capacity,
        acting.actor(),
        acting.now,
    );
    audited(store, acting, "device.add", unit.as_str(), r)
}

/// Sets a device's status (district level and above, inside the caller's unit). Audited as
/// `device.status`.
pub fn set_status(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    status: &str,
) -> Result<Device, Error> {
    acting.caller.not_auditor()?;
    if acting.caller.role() == Role::Commune {
        return Err(Error::ScopeDenied);
    }
    let d = device(store, id)?
        .ok_or_else(|| Error::not_found("device.not_found", "no device has this id"))?;
    if !Units::get().contains(Tree::Gso2024, &acting.caller.staff.unit, &d.unit) {
        acting.audit(store, "device.status", &id.to_string(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    let r = device_status(status)
        .and_then(|s| set_device_status(store, id, s, acting.actor(), acting.now));
    audited(store, acting, "device.status", &id.to_string(), r)
}

/// The SMS outbox; only while the development sink is the sender (`development_sink`: a real
/// gateway's messages are not for staff to read), and only to ministry-level staff (the
/// messages carry live codes for people anywhere).
pub fn sms(
    store: &dyn Store,
    caller: &Caller,
    development_sink: bool,
    limit: u32,
) -> Result<Vec<Sms>, Error> {
    if caller.role() != Role::Ministry {
        return Err(Error::ScopeDenied);
    }
    if !development_sink {
        return Err(Error::not_found(
            "sms.not_development",
            "the SMS outbox is shown only with the development sink",
        ));
    }
    Ok(sms_list(store, limit.clamp(1, 500))?)
}

/// Records a guardian of a child who lives inside the caller's unit. Audited as
/// `guardian.add`.
pub fn add_guardian(
    store: &dyn Store,
    acting: &Acting,
    child: &str,
    guardian: &str,
    relation: &str,
) -> Result<(), Error> {
    acting.caller.not_auditor()?;
    let child = parse_id(child)?;
    let guardian = parse_id(guardian)?;
    let c = store
        .person(&child)?
        .ok_or_else(|| Error::not_found("person.not_found", "no person has this personal ID"))?;
    if !acting.caller.sees(&c.person.residence.unit) {
        acting.audit(store, "guardian.add", child.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    let r = record_guardian(
        store,
        &child,
        &guardian,
        relation,
        acting.actor(),
        acting.now,
    );
    audited(store, acting, "guardian.add", child.as_str(), r)
}
