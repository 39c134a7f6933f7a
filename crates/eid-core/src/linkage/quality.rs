//! Data quality per unit and per person: "đúng, đủ, sạch, sống" (correct, complete, clean,
//! live), each the share of the unit's persons that nothing lowers:
//! - **correct** (đúng): every stored record passed the register's field rules when written
//!   ([`eid_domain::Person::check`]), so what lowers it is disagreement with sector sources —
//!   persons with an undecided conflict (a row carries their personal ID but its name, date of
//!   birth or sex disagree). Persons a source confirmed (matched rows) are shown beside it.
//! - **complete** (đủ): persons missing a field the register should hold — the hometown, a
//!   full date of birth (not a year alone), the residence address.
//! - **clean** (sạch): persons suspected to be entered twice (an open merge proposal) or named
//!   by a sector row still awaiting review.
//! - **live** (sống): persons the register counts as living whom a civil-registry death row
//!   names (an open death proposal).
//!
//! Cost: no page reads the register. The population per commune and the persons with missing
//! fields are roll-ups (`link_population`, `link_gap`) written by each dedupe run, which reads
//! the register once anyway, and by confirmed births; the other counts are range scans over
//! `(outcome, res_path)` and `(kind, state, res_path)` indexes of the open findings. A unit's
//! page costs O(communes in the unit + open findings in the unit), never O(persons).

use std::collections::BTreeMap;

use eid_domain::{BirthDate, Level, Person, PersonalId, Tree, UnitCode, Units};
use time::{Date, OffsetDateTime};

use super::proposals::{proposal_from, LinkProposal, PROPOSAL_COLUMNS};
use super::service::{result_from, LinkResult, RESULT_COLUMNS, RESULT_FROM};
use crate::error::Error;
use crate::rollup::day_date;
use crate::sql::{self, Val};
use crate::store::{from_ms, path_range, Store, StoreError};
use crate::Acting;

/// The four criteria, in order.
pub const CRITERIA: [&str; 4] = ["correct", "complete", "clean", "live"];

/// The fields whose absence makes a record incomplete.
pub fn person_gaps(p: &Person) -> Vec<&'static str> {
    let mut out = Vec::new();
    if p.hometown.is_none() {
        out.push("hometown_unit");
    }
    if matches!(p.birth, BirthDate::Year(_)) {
        out.push("birth_date");
    }
    if p.residence.address.trim().is_empty() {
        out.push("residence_address");
    }
    out
}

/// The counts behind a unit's scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub population: u64,
    pub alive: u64,
    /// Persons a sector source confirmed (matched rows).
    pub confirmed: u64,
    /// Persons lowering each criterion, in [`CRITERIA`] order.
    pub lowering: [u64; 4],
}

impl Counts {
    /// The score of a criterion (its index in [`CRITERIA`]) as a share, `None` with no
    /// population counted yet.
    pub fn score(&self, criterion: usize) -> Option<f64> {
        let low = *self.lowering.get(criterion)?;
        (self.population > 0)
            .then(|| 1.0 - (low.min(self.population) as f64 / self.population as f64))
    }

    fn add(&mut self, o: &Counts) {
        self.population += o.population;
        self.alive += o.alive;
        self.confirmed += o.confirmed;
        for (a, b) in self.lowering.iter_mut().zip(o.lowering) {
            *a += b;
        }
    }
}

/// A unit's scores and its children's.
#[derive(Clone, Debug)]
pub struct Quality {
    pub unit: UnitCode,
    pub total: Counts,
    /// (child unit, counts), by code.
    pub children: Vec<(UnitCode, Counts)>,
    /// When the roll-ups were last written (the last dedupe run), if ever.
    pub computed_at: Option<OffsetDateTime>,
}

/// The child of `unit` (2024 tree) that holds the commune with key `path`.
fn child_of(unit: &UnitCode, path: i64) -> Option<UnitCode> {
    let (p, d, c) = (path / 100_000_000, (path / 100_000) % 1000, path % 100_000);
    let level = Units::get().unit(Tree::Gso2024, unit)?.level;
    match level {
        Level::Nation => UnitCode::province(u8::try_from(p).ok()?).ok(),
        Level::Province => UnitCode::district(u16::try_from(d).ok()?).ok(),
        Level::District | Level::Commune => UnitCode::commune(u32::try_from(c).ok()?).ok(),
    }
}

/// The scores of a unit (the caller's own when none is named) and of each of its children.
/// Audited as `link.quality`.
pub fn scores(store: &dyn Store, acting: &Acting, unit: Option<&str>) -> Result<Quality, Error> {
    let target = unit.unwrap_or(acting.caller.unit().as_str()).to_owned();
    let found = (|| {
        let unit = acting.caller.within(unit)?;
        scores_of(store, &unit)
    })();
    acting.audited(store, "link.quality", &target, found)
}

/// Per-commune counting queries, each `(res_path, count)` over `$1 <= res_path < $2`.
const QUERIES: [(&str, Option<usize>); 5] = [
    (
        "SELECT res_path, COUNT(DISTINCT personal_id) FROM link_result WHERE outcome = 'matched' AND res_path >= $1 AND res_path < $2 GROUP BY res_path",
        None,
    ),
    (
        "SELECT res_path, COUNT(DISTINCT personal_id) FROM link_result WHERE outcome = 'conflict' AND decision_id IS NULL AND res_path >= $1 AND res_path < $2 GROUP BY res_path",
        Some(0),
    ),
    (
        "SELECT res_path, COUNT(*) FROM link_gap WHERE res_path >= $1 AND res_path < $2 GROUP BY res_path",
        Some(1),
    ),
    (
        "SELECT res_path, COUNT(DISTINCT personal_id) FROM (SELECT res_path, personal_id FROM link_proposal WHERE kind = 'merge' AND state = 'open' AND res_path >= $1 AND res_path < $2 \
         UNION SELECT res_path, personal_id FROM link_result WHERE outcome = 'review' AND decision_id IS NULL AND personal_id IS NOT NULL AND res_path >= $1 AND res_path < $2) x GROUP BY res_path",
        Some(2),
    ),
    (
        "SELECT res_path, COUNT(DISTINCT personal_id) FROM link_proposal WHERE kind = 'death' AND state = 'open' AND res_path >= $1 AND res_path < $2 GROUP BY res_path",
        Some(3),
    ),
];

pub(super) fn scores_of(store: &dyn Store, unit: &UnitCode) -> Result<Quality, Error> {
    let (lo, hi) =
        path_range(unit).ok_or_else(|| Error::not_found("unit.not_found", "no such unit"))?;
    let (population, counts) = sql::read(store.db(), |tx| {
        let population = tx.query(
            "SELECT res_path, total, alive, computed_at FROM link_population WHERE res_path >= $1 AND res_path < $2",
            &[lo.into(), hi.into()],
        )?;
        let mut counts = Vec::new();
        for (q, slot) in QUERIES {
            counts.push((slot, tx.query(q, &[lo.into(), hi.into()])?));
        }
        Ok::<_, StoreError>((population, counts))
    })?;
    let mut by_child: BTreeMap<String, (UnitCode, Counts)> = BTreeMap::new();
    let mut computed_at: Option<i64> = None;
    fn entry<'a>(
        by_child: &'a mut BTreeMap<String, (UnitCode, Counts)>,
        unit: &UnitCode,
        path: i64,
    ) -> Option<&'a mut Counts> {
        let child = child_of(unit, path)?;
        Some(
            &mut by_child
                .entry(child.as_str().to_owned())
                .or_insert_with(|| (child, Counts::default()))
                .1,
        )
    }
    for r in &population {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let (path, total, alive, at) = (g(0).int()?, g(1).int()?, g(2).int()?, g(3).int()?);
        computed_at = Some(computed_at.map_or(at, |c| c.max(at)));
        if let Some(c) = entry(&mut by_child, unit, path) {
            c.population += total.max(0) as u64;
            c.alive += alive.max(0) as u64;
        }
    }
    for (slot, rows) in &counts {
        for r in rows {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            let (path, n) = (g(0).int()?, g(1).int()?.max(0) as u64);
            if let Some(c) = entry(&mut by_child, unit, path) {
                match slot.and_then(|s| c.lowering.get_mut(s)) {
                    Some(l) => *l += n,
                    None => c.confirmed += n,
                }
            }
        }
    }
    let mut total = Counts::default();
    for (_, c) in by_child.values() {
        total.add(c);
    }
    Ok(Quality {
        unit: *unit,
        total,
        children: by_child.into_values().collect(),
        computed_at: computed_at.map(from_ms),
    })
}

/// One person on a worklist: who, why (a field list, a result or a proposal), and the id of
/// the result or proposal to open.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub personal_id: String,
    pub res_path: i64,
    /// `conflict`, `review`, `merge`, `death`, or the missing fields joined by commas.
    pub why: String,
    pub result_id: Option<i64>,
    pub proposal_id: Option<i64>,
}

impl std::fmt::Debug for WorkItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkItem({})", self.why)
    }
}

/// The persons lowering `criterion` in a unit (the caller's own when none is named), at most
/// `limit` (1–1000). Audited as `link.worklist` with the criterion and unit.
pub fn worklist(
    store: &dyn Store,
    acting: &Acting,
    criterion: &str,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<WorkItem>, Error> {
    let target = format!(
        "{criterion}@{}",
        unit.unwrap_or(acting.caller.unit().as_str())
    );
    let found = (|| {
        let unit = acting.caller.within(unit)?;
        if !CRITERIA.contains(&criterion) {
            return Err(Error::bad(
                "link.bad_criterion",
                "criterion is correct, complete, clean or live",
            ));
        }
        let (lo, hi) =
            path_range(&unit).ok_or_else(|| Error::not_found("unit.not_found", "no such unit"))?;
        let q = match criterion {
            "correct" => "SELECT personal_id, res_path, 'conflict', id, NULL FROM link_result WHERE outcome = 'conflict' AND decision_id IS NULL AND res_path >= $1 AND res_path < $2 ORDER BY res_path, id LIMIT $3",
            "complete" => "SELECT personal_id, res_path, gaps, NULL, NULL FROM link_gap WHERE res_path >= $1 AND res_path < $2 ORDER BY res_path, personal_id LIMIT $3",
            "clean" => "SELECT personal_id, res_path, why, rid, pid FROM (\
                SELECT personal_id, res_path, 'merge' AS why, NULL AS rid, id AS pid FROM link_proposal WHERE kind = 'merge' AND state = 'open' AND res_path >= $1 AND res_path < $2 \
                UNION ALL SELECT personal_id, res_path, 'review', id, NULL FROM link_result WHERE outcome = 'review' AND decision_id IS NULL AND personal_id IS NOT NULL AND res_path >= $1 AND res_path < $2) x \
                ORDER BY res_path, personal_id LIMIT $3",
            _ => "SELECT personal_id, res_path, 'death', result_id, id FROM link_proposal WHERE kind = 'death' AND state = 'open' AND res_path >= $1 AND res_path < $2 ORDER BY res_path, id LIMIT $3",
        };
        let rows = sql::read(store.db(), |tx| {
            tx.query(
                q,
                &[lo.into(), hi.into(), i64::from(limit.clamp(1, 1000)).into()],
            )
        })?;
        rows.iter()
            .map(|r| {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                Ok(WorkItem {
                    personal_id: g(0).opt_text()?.unwrap_or_default(),
                    res_path: g(1).int()?,
                    why: g(2).text()?,
                    result_id: g(3).opt_int()?,
                    proposal_id: g(4).opt_int()?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()
    })();
    acting.audited(store, "link.worklist", &target, found)
}

/// What linkage knows about one person.
#[derive(Clone, Debug)]
pub struct Findings {
    /// Sector rows naming them (newest first, at most 50).
    pub results: Vec<LinkResult>,
    /// The sources that confirmed them, with the day of the file.
    pub verified: Vec<(String, Date)>,
    /// Proposals about them (death, birth, merge, as duplicate or survivor).
    pub proposals: Vec<LinkProposal>,
    /// The missing fields found by the last dedupe run.
    pub gaps: Vec<String>,
    /// When merged into someone: (survivor, proposal id).
    pub merged_into: Option<(String, i64)>,
    /// Persons merged into them: (duplicate, proposal id).
    pub merged_from: Vec<(String, i64)>,
}

/// A person's findings, if the caller's units include them (else `ScopeDenied`; unknown:
/// `NotFound`). Audited as `link.findings` with the personal ID.
pub fn findings(store: &dyn Store, acting: &Acting, id: &PersonalId) -> Result<Findings, Error> {
    let found = (|| {
        acting.caller.not_auditor()?;
        let person = store.person(id)?.ok_or_else(|| {
            Error::not_found("person.not_found", "no person has this personal ID")
        })?;
        if !acting.caller.sees(&person.person.residence.unit) {
            return Err(Error::ScopeDenied);
        }
        findings_of(store, id)
    })();
    acting.audited(store, "link.findings", id.as_str(), found)
}

/// [`findings`] without scope or audit, for a page that has checked both (the register's
/// person page).
pub fn findings_of(store: &dyn Store, id: &PersonalId) -> Result<Findings, Error> {
    let pid = id.as_str();
    let (results, verified, proposals, gaps) = sql::read(store.db(), |tx| {
        let results = tx.query(
            &format!("SELECT {RESULT_COLUMNS} FROM {RESULT_FROM} WHERE r.personal_id = $1 ORDER BY r.id DESC LIMIT 50"),
            &[pid.into()],
        )?;
        let verified = tx.query(
            "SELECT source, verified_on FROM person_verification WHERE personal_id = $1 ORDER BY source",
            &[pid.into()],
        )?;
        let proposals = tx.query(
            &format!("SELECT {PROPOSAL_COLUMNS} FROM link_proposal WHERE personal_id = $1 OR other_id = $1 ORDER BY id DESC LIMIT 50"),
            &[pid.into()],
        )?;
        let gaps = tx.row(
            "SELECT gaps FROM link_gap WHERE personal_id = $1",
            &[pid.into()],
        )?;
        Ok::<_, StoreError>((results, verified, proposals, gaps))
    })?;
    let (merged_into, merged_from) = super::dedupe::merges_of(store, id)?;
    Ok(Findings {
        results: results
            .iter()
            .map(|r| result_from(r).map(|x| x.0))
            .collect::<Result<_, _>>()?,
        verified: verified
            .iter()
            .map(|r| {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                Ok((g(0).text()?, day_date(g(1).int()?)))
            })
            .collect::<Result<_, StoreError>>()?,
        proposals: proposals
            .iter()
            .map(|r| proposal_from(r))
            .collect::<Result<_, _>>()?,
        gaps: gaps
            .and_then(|r| r.first().cloned())
            .map(|v| v.text())
            .transpose()?
            .map(|g| {
                g.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        merged_into,
        merged_from,
    })
}
