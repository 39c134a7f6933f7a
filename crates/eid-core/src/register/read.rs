//! Reading one person, with or without their history, and their household: scope-checked and
//! audited, allowed or not.

use eid_domain::PersonalId;

use crate::store::{PersonEvent, StoredPerson};
use crate::{Acting, Error, Store};

/// One person, if the caller may see them. Audited as `person.read`.
pub fn read_person(
    store: &dyn Store,
    acting: &Acting,
    id: &PersonalId,
) -> Result<StoredPerson, Error> {
    load(store, acting, id, false).map(|(p, _)| p)
}

/// One person and their residence fields (temporary stay, absence), read together, if the
/// caller may see them: the lookup API's answer. Audited as `person.read`.
pub fn read_person_and_residency(
    store: &dyn Store,
    acting: &Acting,
    id: &PersonalId,
) -> Result<(StoredPerson, eid_domain::Residency), Error> {
    let (person, residency) = checked(
        store,
        acting,
        id,
        || store.person_and_residency(id),
        |(p, _)| p,
    )?;
    crate::transparency::staff_reads::record_read(store, acting, id.as_str())?;
    Ok((person, residency))
}

/// One person and their full history, if the caller may see them. Audited as `person.read`.
pub fn person_history(
    store: &dyn Store,
    acting: &Acting,
    id: &PersonalId,
) -> Result<(StoredPerson, Vec<PersonEvent>), Error> {
    load(store, acting, id, true)
}

/// What `fetch` reads for `id` if the caller may see it; otherwise the refusal, audited as
/// `person.read` (`denied` or `failed`). An auditor is refused before the store is read.
fn checked<T>(
    store: &dyn Store,
    acting: &Acting,
    id: &PersonalId,
    fetch: impl FnOnce() -> Result<Option<T>, crate::StoreError>,
    person: impl Fn(&T) -> &StoredPerson,
) -> Result<T, Error> {
    use crate::transparency::staff_reads::ACTION;
    let target = id.as_str();
    if let Err(e) = acting.caller.not_auditor() {
        acting.audit(store, ACTION, target, "denied")?;
        return Err(e);
    }
    let Some(found) = fetch()? else {
        acting.audit(store, ACTION, target, "failed")?;
        return Err(Error::not_found(
            "person.not_found",
            "no person has this personal ID",
        ));
    };
    if !acting.caller.sees(&person(&found).person.residence.unit) {
        acting.audit(store, ACTION, target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    Ok(found)
}

fn load(
    store: &dyn Store,
    acting: &Acting,
    id: &PersonalId,
    with_history: bool,
) -> Result<(StoredPerson, Vec<PersonEvent>), Error> {
    let target = id.as_str();
    let person = checked(store, acting, id, || store.person(id), |p| p)?;
    let history = if with_history {
        store.history(id)?
    } else {
        Vec::new()
    };
    // The audit line is the read's record; the person sees it on their "who used my data" page.
    crate::transparency::staff_reads::record_read(store, acting, target)?;
    Ok((person, history))
}

/// The other members of household `household` within the caller's unit (`own` left out).
/// Audited as `person.household` with the household as target.
pub fn household_members(
    store: &dyn Store,
    acting: &Acting,
    household: &str,
    own: &PersonalId,
) -> Result<Vec<StoredPerson>, Error> {
    const ACTION: &str = "person.household";
    if let Err(e) = acting.caller.not_auditor() {
        acting.audit(store, ACTION, household, "denied")?;
        return Err(e);
    }
    let found = store.household(household, &acting.caller.unit())?;
    acting.audit(store, ACTION, household, "ok")?;
    Ok(found
        .into_iter()
        .filter(|m| m.person.id != *own && acting.caller.sees(&m.person.residence.unit))
        .collect())
}
