//! The use cases of cohorts and of quotas set as a share of a base, with their scope rules:
//! an officer (not an auditor) creates cohorts and imports their members in units inside
//! theirs; a share-of-base quota is set by the level above, as any quota. Re-exported by
//! [`super::service`].

use eid_domain::{Tree, UnitCode, Units};

use super::service::{check_day, may_set_quota, set_quota};
use super::{base_count, record_base, share_of, Base, Cohort, MembersReport, NewQuota, Quota};
use crate::clock::vietnam;
use crate::{Acting, Caller, Error, Store};

fn inside(caller: &Caller, unit: &UnitCode) -> bool {
    caller.role() != crate::store::Role::Auditor
        && Units::get().contains(Tree::Gso2024, &caller.unit(), unit)
}

/// Creates a cohort of a unit inside the caller's. Audited as `cohort.create` on the unit.
pub fn create_cohort(
    store: &dyn Store,
    acting: &Acting,
    unit: &UnitCode,
    name: &str,
) -> Result<Cohort, Error> {
    const ACTION: &str = "cohort.create";
    if !inside(&acting.caller, unit) {
        acting.audit(store, ACTION, unit.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    let r = super::create_cohort(store, unit, name, acting.actor(), acting.now);
    acting.audited(store, ACTION, unit.as_str(), r)
}

/// A cohort by id that the caller may see.
pub fn cohort(store: &dyn Store, caller: &Caller, id: i64) -> Result<Cohort, Error> {
    caller.not_auditor()?;
    let c = cohort_by_id(store, id)?
        .ok_or_else(|| Error::not_found("cohort.not_found", "no cohort has this id"))?;
    if !inside(caller, &c.unit) {
        return Err(Error::ScopeDenied);
    }
    Ok(c)
}

fn cohort_by_id(store: &dyn Store, id: i64) -> Result<Option<Cohort>, Error> {
    let row = crate::sql::read(store.db(), |tx| {
        tx.row("SELECT unit, name FROM cohort WHERE id = $1", &[id.into()])
    })?;
    let Some(r) = row else { return Ok(None) };
    let unit = r.first().cloned().unwrap_or(crate::sql::Val::Null).text()?;
    let name = r.get(1).cloned().unwrap_or(crate::sql::Val::Null).text()?;
    let unit = UnitCode::parse(&unit)
        .map_err(|e| crate::StoreError::Corrupt(format!("cohort unit: {e}")))?;
    Ok(super::cohort_by_name(store, &unit, &name)?)
}

/// The cohorts of the caller's unit and the units inside it.
pub fn cohorts(store: &dyn Store, caller: &Caller) -> Result<Vec<Cohort>, Error> {
    caller.not_auditor()?;
    let units = Units::get();
    let every: Vec<UnitCode> = crate::sql::read(store.db(), |tx| {
        tx.query("SELECT DISTINCT unit FROM cohort", &[])
    })?
    .iter()
    .filter_map(|r| r.first().and_then(|v| v.clone().text().ok()))
    .filter_map(|u| UnitCode::parse(&u).ok())
    .filter(|u| units.contains(Tree::Gso2024, &caller.unit(), u))
    .collect();
    Ok(super::cohorts_of(store, &every)?)
}

/// Imports a list of personal IDs into a cohort the caller may see (bad lines reported by line,
/// good ones added). Audited as `cohort.members` on the cohort's id.
pub fn import_members(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    bytes: &[u8],
) -> Result<MembersReport, Error> {
    const ACTION: &str = "cohort.members";
    let target = id.to_string();
    let c = match cohort(store, &acting.caller, id) {
        Err(Error::ScopeDenied) => {
            acting.audit(store, ACTION, &target, "denied")?;
            return Err(Error::ScopeDenied);
        }
        r => r?,
    };
    let r = super::import_members(store, &c, bytes, acting.now);
    acting.audited(store, ACTION, &target, r)
}

/// A quota as a share of a base.
#[derive(Debug, Clone)]
pub struct ShareQuota {
    pub unit: UnitCode,
    pub metric: String,
    /// Empty for the whole population; for [`Base::Cohort`], the cohort's name.
    pub cohort: String,
    pub base: Base,
    /// The share in tenths of a percent (65 % is 650), from 1 to 1000.
    pub permille: u32,
    pub start: time::Date,
    pub deadline: time::Date,
}

/// Sets a quota as a share of a base, by the level above: the target is resolved now from the
/// base's count (rounded up) and kept with the base, the share and that count. Audited as
/// `quota.set` (as any quota). Returns the quota and the count it was resolved from.
pub fn set_quota_share(
    store: &dyn Store,
    acting: &Acting,
    q: &ShareQuota,
    reason: &str,
) -> Result<(Quota, u64), Error> {
    if !may_set_quota(&acting.caller, &q.unit) {
        acting.audit(store, "quota.set", q.unit.as_str(), "denied")?;
        return Err(Error::ScopeDenied);
    }
    if !(1..=1000).contains(&q.permille) {
        return Err(Error::bad("quota.share", "a share is from 0,1 % to 100 %"));
    }
    if q.base == Base::Cohort && q.cohort.trim().is_empty() {
        return Err(Error::bad(
            "quota.cohort",
            "a share of a cohort names the cohort",
        ));
    }
    check_day(q.start, "start")?;
    check_day(q.deadline, "deadline")?;
    let today = acting.now.to_offset(vietnam()).date();
    let count = base_count(store, q.base, &q.unit, q.cohort.trim(), today)?;
    let target = share_of(count, q.permille);
    if target == 0 {
        return Err(Error::bad(
            "quota.base_empty",
            "the base counts nobody in this unit: the share would be 0",
        ));
    }
    let new = NewQuota {
        unit: q.unit,
        metric: q.metric.clone(),
        cohort: q.cohort.trim().to_owned(),
        target,
        start: q.start,
        deadline: q.deadline,
        parent_id: None,
    };
    let saved = set_quota(store, acting, &new, reason)?;
    record_base(store, saved.id, q.base, q.permille, count)?;
    let saved = super::quota(store, saved.id)?.unwrap_or(saved);
    Ok((saved, count))
}

/// What a share of a base resolves to now, before it is set: the base's count and the target
/// (rounded up), for the level above (the same scope as [`set_quota_share`]; nothing written).
pub fn preview_share(
    store: &dyn Store,
    caller: &Caller,
    unit: &UnitCode,
    base: Base,
    cohort: &str,
    permille: u32,
    today: time::Date,
) -> Result<(u64, u64), Error> {
    if !may_set_quota(caller, unit) {
        return Err(Error::ScopeDenied);
    }
    if !(1..=1000).contains(&permille) {
        return Err(Error::bad("quota.share", "a share is from 0,1 % to 100 %"));
    }
    let count = base_count(store, base, unit, cohort.trim(), today)?;
    Ok((count, share_of(count, permille)))
}
