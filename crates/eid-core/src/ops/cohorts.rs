//! Cohorts and quotas set as a share of a base.
//!
//! A cohort is a named list of people in a unit (the officials of a department, the students of
//! a school): created by an officer of the unit or above, its members imported as a list of
//! personal IDs. A quota whose `cohort` names a cohort of its unit counts only its members'
//! account transitions (read from `account_event`): applications collected, level-1 and level-2
//! activations, and accounts activated for the first time.
//!
//! A quota may be set as a share of a base the register knows — card holders, eligible people
//! or a cohort's members — in tenths of a percent: the target is the base's count times the
//! share, rounded up, and the quota keeps the base, the share and the count it was resolved
//! from. It is not re-resolved as the register changes: setting it again resolves it again.

use std::collections::HashSet;

use eid_domain::{Metric, PersonalId, UnitCode};
use time::{Date, OffsetDateTime};

use super::{eligible_by_commune, range, BadRow, OpsError};
use crate::sql::{self, Val};
use crate::store::{to_ms, Actor, Store};

/// The most members a cohort file may list.
pub const MAX_MEMBERS: usize = 1_000_000;

/// A cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub id: i64,
    pub unit: UnitCode,
    pub name: String,
    pub members: u64,
}

/// The base a quota's share is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Living residents of the unit whose card is issued and not revoked.
    CardHolders,
    /// People who count in account denominators ([`super::eligible_by_commune`]).
    Eligible,
    /// The members of the quota's cohort.
    Cohort,
}

impl Base {
    pub const fn as_str(self) -> &'static str {
        match self {
            Base::CardHolders => "card_holders",
            Base::Eligible => "eligible",
            Base::Cohort => "cohort",
        }
    }

    pub fn parse(s: &str) -> Option<Base> {
        match s {
            "card_holders" => Some(Base::CardHolders),
            "eligible" => Some(Base::Eligible),
            "cohort" => Some(Base::Cohort),
            _ => None,
        }
    }
}

/// The base a quota's target was resolved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaBase {
    pub base: Base,
    /// The share in tenths of a percent (65 % is 650).
    pub permille: u32,
    /// The base's count when the target was resolved (not re-resolved since).
    pub count: u64,
}

/// The cohort named `name` of `unit`, if any.
pub fn cohort_by_name(
    store: &dyn Store,
    unit: &UnitCode,
    name: &str,
) -> Result<Option<Cohort>, OpsError> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT c.id, c.unit, c.name, (SELECT count(*) FROM cohort_member m WHERE m.cohort_id = c.id) \
             FROM cohort c WHERE c.unit = $1 AND c.name = $2",
            &[unit.as_str().into(), name.into()],
        )
    })?;
    row.map(|r| cohort_from(&r)).transpose()
}

fn cohort_from(r: &sql::SqlRow) -> Result<Cohort, OpsError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Cohort {
        id: g(0).int()?,
        unit: UnitCode::parse(&g(1).text()?)
            .map_err(|e| crate::StoreError::Corrupt(format!("cohort unit: {e}")))?,
        name: g(2).text()?,
        members: g(3).int()?.max(0).unsigned_abs(),
    })
}

/// The cohorts of the units listed, by unit and name.
pub fn cohorts_of(store: &dyn Store, units: &[UnitCode]) -> Result<Vec<Cohort>, OpsError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT c.id, c.unit, c.name, (SELECT count(*) FROM cohort_member m WHERE m.cohort_id = c.id) \
             FROM cohort c ORDER BY c.unit, c.name",
            &[],
        )
    })?;
    let want: HashSet<&UnitCode> = units.iter().collect();
    rows.iter()
        .map(cohort_from)
        .filter(|c| c.as_ref().map_or(true, |c| want.contains(&c.unit)))
        .collect()
}

/// Creates a cohort (a name unique within its unit).
pub fn create_cohort(
    store: &dyn Store,
    unit: &UnitCode,
    name: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Cohort, OpsError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(OpsError::Invalid(
            "cohort.name",
            "a cohort's name has 1 to 100 characters".into(),
        ));
    }
    range(unit)?;
    if cohort_by_name(store, unit, name)?.is_some() {
        return Err(OpsError::Conflict(
            "cohort.exists",
            "the unit already has a cohort of this name".into(),
        ));
    }
    let id = sql::transact(store.db(), |tx| {
        tx.int(
            "INSERT INTO cohort (unit, name, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[unit.as_str().into(), name.into(), actor.to_db().into(), to_ms(now).into()],
        )
    })?;
    Ok(Cohort {
        id,
        unit: *unit,
        name: name.to_owned(),
        members: 0,
    })
}

/// What a members import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersReport {
    pub added: usize,
    /// Already members.
    pub already: usize,
    /// Lines not added, by line and reason (never the line's text: it may be a personal ID).
    pub bad: Vec<BadRow>,
}

/// Adds the personal IDs of a CSV or an XLSX workbook (one a line, in the first column of the
/// first sheet; a header line that is not an ID is skipped) to a cohort: every ID must be a person of the register living in the
/// cohort's unit. Bad lines are reported and the good ones added, in one transaction.
pub fn import_members(
    store: &dyn Store,
    cohort: &Cohort,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<MembersReport, OpsError> {
    let sheet;
    let text = if super::FileKind::sniff(bytes) == super::FileKind::Xlsx {
        sheet = super::xlsx_first_column(bytes).map_err(|e| OpsError::Invalid("cohort.file", e))?;
        sheet.as_str()
    } else {
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .map_err(|_| OpsError::Invalid("cohort.file", "the file is not UTF-8 text".into()))?
    };
    let (lo, hi) = range(&cohort.unit)?;
    let mut ids: Vec<(u64, PersonalId)> = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let first = line
            .split([',', ';', '\t'])
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if first.is_empty() {
            continue;
        }
        match PersonalId::parse(first) {
            Ok(id) => ids.push((n, id)),
            Err(_) if n == 1 && !first.bytes().any(|b| b.is_ascii_digit()) => {}
            Err(_) => bad.push(BadRow {
                line: n,
                reason: "not a personal ID (12 digits)".into(),
            }),
        }
        if ids.len() > MAX_MEMBERS {
            return Err(OpsError::Invalid(
                "cohort.file",
                format!("a cohort file lists at most {MAX_MEMBERS} people"),
            ));
        }
    }
    let (added, already, more_bad) = sql::transact(store.db(), |tx| {
        let (mut added, mut already) = (0, 0);
        let mut more_bad = Vec::new();
        let mut seen = HashSet::new();
        for (n, id) in &ids {
            if !seen.insert(id.as_str().to_owned()) {
                more_bad.push(BadRow {
                    line: *n,
                    reason: "the same personal ID as an earlier line".into(),
                });
                continue;
            }
            // Within the unit's range first: on PostgreSQL the range keeps the lookup to the
            // unit's partition of the register (migration 31); a miss is then told apart.
            let inside = tx.row(
                "SELECT 1 FROM person WHERE personal_id = $1 AND res_path >= $2 AND res_path < $3",
                &[id.as_str().into(), lo.into(), hi.into()],
            )?;
            if inside.is_none() {
                let exists = tx.row(
                    "SELECT 1 FROM person WHERE personal_id = $1",
                    &[id.as_str().into()],
                )?;
                more_bad.push(BadRow {
                    line: *n,
                    reason: if exists.is_none() {
                        "no person of the register has this personal ID".into()
                    } else {
                        "the person does not live in the cohort's unit".into()
                    },
                });
                continue;
            }
            let exists = tx
                .row(
                    "SELECT 1 FROM cohort_member WHERE cohort_id = $1 AND personal_id = $2",
                    &[cohort.id.into(), id.as_str().into()],
                )?
                .is_some();
            if exists {
                already += 1;
                continue;
            }
            tx.exec(
                "INSERT INTO cohort_member (cohort_id, personal_id, added_at) VALUES ($1, $2, $3)",
                &[cohort.id.into(), id.as_str().into(), to_ms(now).into()],
            )?;
            added += 1;
        }
        Ok::<_, crate::StoreError>((added, already, more_bad))
    })?;
    bad.extend(more_bad);
    bad.sort_by_key(|b| b.line);
    Ok(MembersReport {
        added,
        already,
        bad,
    })
}

/// A cohort's members' transitions of `metric` on days `from..=to`.
pub fn cohort_done(
    store: &dyn Store,
    cohort_id: i64,
    metric: Metric,
    from: i64,
    to: i64,
) -> Result<u64, OpsError> {
    cohort_done_within(store, cohort_id, metric, from, to, None)
}

/// [`cohort_done`], counting only the members who live in the residence-path range `within`
/// (a unit below the cohort's, for the parts of a split cohort quota), or all when `None`.
pub fn cohort_done_within(
    store: &dyn Store,
    cohort_id: i64,
    metric: Metric,
    from: i64,
    to: i64,
    within: Option<(i64, i64)>,
) -> Result<u64, OpsError> {
    let (lo, hi) = within.unwrap_or((i64::MIN, i64::MAX));
    // Members living in the range: the person's residence path, read through the member.
    const IN_RANGE: &str =
        "m.personal_id IN (SELECT personal_id FROM person WHERE res_path >= $4 AND res_path < $5)";
    let n = sql::read(store.db(), |tx| {
        match metric {
        Metric::AccountsActivated => tx.int(
            &format!(
                "SELECT count(*) FROM (SELECT e.personal_id, MIN(e.day) AS first_day FROM cohort_member m \
                 JOIN account_event e ON e.personal_id = m.personal_id \
                 WHERE m.cohort_id = $1 AND e.kind IN ('level1_activated', 'level2_activated') AND {IN_RANGE} \
                 GROUP BY e.personal_id) t WHERE t.first_day >= $2 AND t.first_day <= $3"
            ),
            &[cohort_id.into(), from.into(), to.into(), lo.into(), hi.into()],
        ),
        Metric::CardsIssued => tx.int(
            "SELECT count(*) FROM cohort_member m JOIN person p ON p.personal_id = m.personal_id \
             WHERE m.cohort_id = $1 AND p.card_issued >= $2 AND p.card_issued <= $3 \
             AND p.res_path >= $4 AND p.res_path < $5",
            &[
                cohort_id.into(),
                eid_domain::iso(crate::accounts::day_date(from)).into(),
                eid_domain::iso(crate::accounts::day_date(to)).into(),
                lo.into(),
                hi.into(),
            ],
        ),
        m => tx.int(
            &format!(
                "SELECT count(*) FROM cohort_member m JOIN account_event e ON e.personal_id = m.personal_id \
                 WHERE m.cohort_id = $1 AND e.kind = $6 AND e.day >= $2 AND e.day <= $3 AND {IN_RANGE}"
            ),
            &[
                cohort_id.into(),
                from.into(),
                to.into(),
                lo.into(),
                hi.into(),
                m.as_str().into(),
            ],
        ),
    }
    })?;
    Ok(n.max(0).unsigned_abs())
}

/// A quota's cohort and, for a part of a split cohort quota, the path range of the part's unit.
pub type QuotaCohort = (Cohort, Option<(i64, i64)>);

/// The cohort a quota counts, if its `cohort` names one: a cohort of the quota's own unit, or,
/// for a part of a split cohort quota, of the nearest unit above it — then only the members
/// living in the quota's unit count, and the range of that unit comes with it.
pub fn quota_cohort(
    store: &dyn Store,
    unit: &UnitCode,
    name: &str,
) -> Result<Option<QuotaCohort>, OpsError> {
    if name.is_empty() {
        return Ok(None);
    }
    if let Some(c) = cohort_by_name(store, unit, name)? {
        return Ok(Some((c, None)));
    }
    let units = eid_domain::Units::get();
    for above in units.ancestors(eid_domain::Tree::Gso2024, unit) {
        if let Some(c) = cohort_by_name(store, &above.code, name)? {
            return Ok(Some((c, Some(range(unit)?))));
        }
    }
    Ok(None)
}

/// The count of a base for `unit` (and the cohort named `cohort` of it, for [`Base::Cohort`])
/// on `today`.
pub fn base_count(
    store: &dyn Store,
    base: Base,
    unit: &UnitCode,
    cohort: &str,
    today: Date,
) -> Result<u64, OpsError> {
    match base {
        Base::Eligible => Ok(eligible_by_commune(store, unit, today)?
            .values()
            .fold(0u64, |s, n| s.saturating_add(*n))),
        Base::CardHolders => {
            let (lo, hi) = range(unit)?;
            let n = sql::read(store.db(), |tx| {
                tx.int(
                    "SELECT count(*) FROM person WHERE res_path >= $1 AND res_path < $2 AND life_status = 'alive' \
                     AND card_issued IS NOT NULL AND card_issued <= $3 AND NOT COALESCE(card_revoked, FALSE)",
                    &[lo.into(), hi.into(), eid_domain::iso(today).into()],
                )
            })?;
            Ok(n.max(0).unsigned_abs())
        }
        Base::Cohort => cohort_by_name(store, unit, cohort)?
            .map(|c| c.members)
            .ok_or(OpsError::Invalid(
                "quota.cohort",
                "the unit has no cohort of this name".into(),
            )),
    }
}

/// `count × permille / 1000`, rounded up (a share is met only by reaching it).
pub fn share_of(count: u64, permille: u32) -> u64 {
    let n = u128::from(count) * u128::from(permille);
    u64::try_from(n.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// Records on a quota the base its target was resolved from.
pub fn record_base(
    store: &dyn Store,
    quota_id: i64,
    base: Base,
    permille: u32,
    count: u64,
) -> Result<(), OpsError> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE quota SET base = $1, base_permille = $2, base_count = $3 WHERE id = $4",
            &[
                base.as_str().into(),
                i64::from(permille).into(),
                count.into(),
                quota_id.into(),
            ],
        )
    })?;
    Ok(())
}

/// The base a quota was resolved from: `(base, permille, count)`, or `None` for a quota set
/// as a number.
pub fn quota_base(store: &dyn Store, quota_id: i64) -> Result<Option<(Base, u32, u64)>, OpsError> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT base, base_permille, base_count FROM quota WHERE id = $1",
            &[quota_id.into()],
        )
    })?;
    let Some(r) = row else { return Ok(None) };
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let Some(base) = Base::parse(&g(0).text()?) else {
        return Ok(None);
    };
    let permille = u32::try_from(g(1).opt_int()?.unwrap_or(0).max(0)).unwrap_or(0);
    let count = g(2).opt_int()?.unwrap_or(0).max(0).unsigned_abs();
    Ok(Some((base, permille, count)))
}
