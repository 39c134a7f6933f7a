//! Correcting a person's record (the console's edit form): the officer is the actor, a reason is
//! required, and the version the form was made from must still be current — checked again under
//! the write lock, so a change that landed meanwhile is never overwritten. The write goes through
//! the same `PersonWriter` as an import: the change is an `updated` event with the officer as
//! actor and the reason given, in the same transaction.

use eid_domain::Person;

use crate::clock::vietnam;
use crate::{Acting, Error, Store};

/// The longest reason we keep.
pub const MAX_REASON_CHARS: usize = 200;

/// The reason of a correction, trimmed: required, at most [`MAX_REASON_CHARS`] characters, no
/// control characters (`person.reason_required` otherwise).
pub fn check_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return Err(Error::bad(
            "person.reason_required",
            format!("a reason of 1 to {MAX_REASON_CHARS} characters is required"),
        ));
    }
    Ok(reason)
}

/// Whether `next` keeps what a correction may not change: the identity (ID, name, birth, sex,
/// hometown), the permanent residence's unit, the household and the card. Those change through
/// their own procedures.
fn same_identity(current: &Person, next: &Person) -> bool {
    current.id == next.id
        && current.name == next.name
        && current.birth == next.birth
        && current.sex == next.sex
        && current.hometown == next.hometown
        && current.residence.unit == next.residence.unit
        && current.household == next.household
        && current.card == next.card
}

/// Writes `next` over the stored record of the same personal ID if that record is still at
/// `expected_version` and lies within the caller's scope (both its residence and the corrected
/// one). Refused: auditors, a missing reason, a record that fails `Person::check` or changes a
/// field not corrected here (`Bad`, nothing audited), a person outside the
/// scope (`ScopeDenied`, audited `denied`), an unknown ID (`NotFound`, audited `failed`), a
/// record changed since the form was made (`Conflict` with `person.stale`, nothing written).
/// Audited as `person.update` with the personal ID as target. A death, emigration or revoked
/// card locks the person's account at once (and a correction back unlocks it).
pub fn correct_person(
    store: &dyn Store,
    acting: &Acting,
    next: &Person,
    expected_version: i64,
    reason: &str,
) -> Result<(), Error> {
    const ACTION: &str = "person.update";
    acting.caller.not_auditor()?;
    let reason = check_reason(reason)?;
    let today = acting.now.to_offset(vietnam()).date();
    next.check(today)
        .map_err(|e| Error::bad("person.invalid_record", format!("{}: {e}", e.field())))?;
    let target = next.id.as_str();
    // The version is read inside the writer's transaction and the row stays locked until it
    // ends (SQLite: the write lock taken when the writer opens; PostgreSQL: `FOR UPDATE`), so
    // a correction that lands meanwhile waits and then finds the version changed.
    let mut writer = store.writer(acting.actor(), reason, acting.now)?;
    let Some(current) = writer.current(&next.id)? else {
        drop(writer);
        acting.audit(store, ACTION, target, "failed")?;
        return Err(Error::not_found(
            "person.not_found",
            "no person has this personal ID",
        ));
    };
    if !acting.caller.sees(&current.person.residence.unit)
        || !acting.caller.sees(&next.residence.unit)
    {
        drop(writer);
        acting.audit(store, ACTION, target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    if current.version != expected_version {
        return Err(Error::Conflict {
            code: "person.stale",
            message: "the record changed since the form was opened; reload it".to_owned(),
        });
    }
    if !same_identity(&current.person, next) {
        return Err(Error::bad(
            "person.fixed_field",
            "only the addresses, the phone and the life status are corrected here",
        ));
    }
    writer.put(next)?;
    writer.commit()?;
    crate::accounts::sync_register_lock(store, &next.id, acting.now)?;
    acting.audit(store, ACTION, target, "ok")?;
    Ok(())
}
