//! Suspected duplicates inside the register (one person entered twice), and their merge.
//!
//! [`run`] reads the register once, scores it against itself with the sector matcher's
//! blocking and Fellegi–Sunter model ([`super::matcher::dedupe`]) and proposes a merge for
//! every pair at or above the review threshold (once: the same pair is never proposed twice,
//! whatever its state). The same pass writes the roll-ups the quality page reads: each
//! commune's population and the persons with missing fields ([`super::quality`]).
//!
//! [`merge`] is the officer's confirmation. The duplicate is never deleted and its register
//! record is not rewritten: the merge is an append-only `merged` event on the proposal naming
//! the duplicate and the survivor, and `person_merged` (the merges in force) maps the
//! duplicate to its survivor. Accounts and links follow the survivor as follows:
//! - the survivor's account, links and verifications stay as they are;
//! - the duplicate's account, if any, is locked by an officer lock whose reason names the
//!   merge (its holder signs in as the survivor, after enrolling there if needed);
//! - the duplicate's sector results and verifications stay on the record they were made on
//!   (they are history), and the survivor's page lists them through `person_merged`.
//!
//! [`undo`] restores both: an append-only `undone` event, the `person_merged` row removed, and
//! the officer lock the merge set lifted (one set by someone else is left alone).

use std::collections::HashMap;

use eid_domain::{PersonalId, UnitCode};
use serde_json::json;

use super::matcher::record::{Places, Record};
use super::matcher::{Linker, Thresholds};
use super::proposals::{decided, insert, one_as, settle, LinkProposal};
use super::quality::person_gaps;
use crate::accounts::{account_of, set_lock, LockBy};
use crate::error::Error;
use crate::register::check_reason;
use crate::sql::{self, Val};
use crate::store::{to_ms, unit_path, Actor, Store, StoreError};
use crate::Acting;

/// The source name merge proposals carry.
pub const SOURCE: &str = "register";

/// What a dedupe run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupeSummary {
    pub persons: u64,
    /// Pairs at or above the review threshold.
    pub pairs: u64,
    /// Merge proposals new in this run.
    pub proposed: u64,
    /// Persons with at least one missing field.
    pub incomplete: u64,
}

/// Runs the register against itself and writes the proposals and roll-ups (one transaction).
pub fn run(
    store: &dyn Store,
    actor: &Actor,
    now: time::OffsetDateTime,
    thresholds: &Thresholds,
) -> Result<DedupeSummary, Error> {
    let merged: std::collections::HashSet<String> = sql::read(store.db(), |tx| {
        tx.query("SELECT personal_id FROM person_merged", &[])
    })?
    .iter()
    .filter_map(|r| r.first().cloned().and_then(|v| v.text().ok()))
    .collect();
    let mut ids: Vec<String> = Vec::new();
    let mut paths: Vec<Option<i64>> = Vec::new();
    let mut gaps: Vec<Vec<&'static str>> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut population: HashMap<i64, (String, u64, u64)> = HashMap::new();
    let mut places = Places::default();
    store.for_each_person(&UnitCode::NATION, &mut |p| {
        let path = unit_path(&p.residence.unit);
        if let Some(path) = path {
            let e = population
                .entry(path)
                .or_insert_with(|| (p.residence.unit.as_str().to_owned(), 0, 0));
            e.1 += 1;
            e.2 += u64::from(p.life.counts());
        }
        // Merged duplicates stay in the register but are not proposed again.
        if merged.contains(p.id.as_str()) {
            return Ok(());
        }
        ids.push(p.id.as_str().to_owned());
        paths.push(path);
        gaps.push(person_gaps(p));
        records.push(Record::from_person(&mut places, p));
        Ok(())
    })?;
    let linker = Linker::new(records);
    let model = linker.train_dedupe(100_000);
    let pairs = linker.duplicates(&model, thresholds, 2);
    let mut summary = DedupeSummary {
        persons: ids.len() as u64,
        pairs: pairs.len() as u64,
        incomplete: gaps.iter().filter(|g| !g.is_empty()).count() as u64,
        ..DedupeSummary::default()
    };
    let gap_count = |i: u32| gaps.get(i as usize).map_or(usize::MAX, Vec::len);
    sql::transact(store.db(), |tx| {
        for d in &pairs {
            let (Some(a), Some(b)) = (ids.get(d.a as usize), ids.get(d.b as usize)) else {
                continue;
            };
            // The survivor: the record with fewer missing fields, then the lower personal ID.
            let (dup, surv, di, si) = if (gap_count(d.b), b) < (gap_count(d.a), a) {
                (a, b, d.a, d.b)
            } else {
                (b, a, d.b, d.a)
            };
            let explanation = linker.explain_pair(&model, di, si).map(|e| {
                json!({
                    "fields": e.fields.iter().map(|f| json!({
                        "field": f.field.as_str(),
                        "level": f.level_name,
                        "weight": (f.weight * 100.0).round() / 100.0,
                        "adjustment": (f.adjustment * 100.0).round() / 100.0,
                    })).collect::<Vec<_>>(),
                    "prior": (e.prior * 100.0).round() / 100.0,
                    "total": (e.total * 100.0).round() / 100.0,
                    "probability": (e.probability * 1e6).round() / 1e6,
                })
            });
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let path = paths.get(di as usize).copied().flatten();
            summary.proposed += insert(
                tx,
                "merge",
                SOURCE,
                &format!("{lo}:{hi}"),
                "",
                None,
                Some(dup),
                Some(surv),
                path,
                Some(d.score),
                &json!({ "explanation": explanation }),
                now,
            )?;
        }
        // The roll-ups, replaced.
        tx.exec("DELETE FROM link_gap", &[])?;
        for ((id, path), g) in ids.iter().zip(&paths).zip(&gaps) {
            if let (Some(path), false) = (path, g.is_empty()) {
                tx.exec(
                    "INSERT INTO link_gap (personal_id, res_path, gaps) VALUES ($1, $2, $3)",
                    &[id.as_str().into(), (*path).into(), g.join(",").into()],
                )?;
            }
        }
        tx.exec("DELETE FROM link_population", &[])?;
        for (path, (commune, total, alive)) in &population {
            tx.exec(
                "INSERT INTO link_population (res_path, commune, total, alive, computed_at) VALUES ($1, $2, $3, $4, $5)",
                &[(*path).into(), commune.as_str().into(), (*total as i64).into(), (*alive as i64).into(), to_ms(now).into()],
            )?;
        }
        Ok::<_, StoreError>(())
    })?;
    let _ = actor;
    Ok(summary)
}

/// [`run`] for a staff caller: national-level staff only (it reads the whole register).
/// Audited as `link.dedupe`.
pub fn run_as(
    store: &dyn Store,
    acting: &Acting,
    thresholds: &Thresholds,
) -> Result<DedupeSummary, Error> {
    let done = (|| {
        acting.caller.not_auditor()?;
        if acting.caller.unit() != UnitCode::NATION {
            return Err(Error::ScopeDenied);
        }
        run(store, acting.actor(), acting.now, thresholds)
    })();
    acting.audited(store, "link.dedupe", "nation", done)
}

fn person_of(s: Option<&str>) -> Result<PersonalId, Error> {
    s.and_then(|s| PersonalId::parse(s).ok())
        .ok_or_else(|| StoreError::Corrupt("merge proposal without its persons".into()).into())
}

/// Merges a proposed pair: `survivor` names which of the two stays (the proposed one by
/// default). Refused: auditors, a pair outside the caller's units (`ScopeDenied`, also when
/// either person lives outside them), a missing reason, a proposal that is not an open merge
/// (`Conflict` `link.proposal_decided`, `Bad` `link.not_decidable`), a survivor that is not one
/// of the pair (`Bad` `link.bad_survivor`), a person merged already (`Conflict`
/// `link.already_merged`). Audited as `link.merge`.
pub fn merge(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    survivor: Option<&str>,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let done = merge_unaudited(store, acting, id, survivor, reason);
    acting.audited(store, "link.merge", &id.to_string(), done)
}

fn merge_unaudited(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    survivor: Option<&str>,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let caller = &acting.caller;
    caller.not_auditor()?;
    let reason = check_reason(reason)?.to_owned();
    let (p, _) = one_as(store, caller, id, true)?;
    if p.kind != "merge" {
        return Err(Error::bad(
            "link.not_decidable",
            "only a merge proposal is merged",
        ));
    }
    if p.state != "open" {
        return Err(decided());
    }
    let (a, b) = (
        person_of(p.personal_id.as_deref())?,
        person_of(p.other_id.as_deref())?,
    );
    let (dup, surv) = match survivor.map(str::trim).filter(|s| !s.is_empty()) {
        None => (a, b),
        Some(s) if s == b.as_str() => (a, b),
        Some(s) if s == a.as_str() => (b, a),
        Some(_) => {
            return Err(Error::bad(
                "link.bad_survivor",
                "the survivor is one of the two persons",
            ))
        }
    };
    for pid in [&dup, &surv] {
        match store.person(pid)? {
            None => {
                return Err(Error::not_found(
                    "person.not_found",
                    "no person has this personal ID",
                ))
            }
            Some(s) if !caller.sees(&s.person.residence.unit) => return Err(Error::ScopeDenied),
            Some(_) => {}
        }
    }
    let account = account_of(store, &dup)?;
    let lock = account.as_ref().is_some_and(|a| a.officer_lock.is_none());
    let detail = json!({
        "duplicate": dup.as_str(),
        "survivor": surv.as_str(),
        "account_locked": lock,
    });
    sql::transact(store.db(), |tx| {
        let already = tx
            .row(
                "SELECT 1 FROM person_merged WHERE personal_id IN ($1, $2)",
                &[dup.as_str().into(), surv.as_str().into()],
            )?
            .is_some();
        if already {
            return Err(Error::Conflict {
                code: "link.already_merged",
                message: "one of the two has been merged already".into(),
            });
        }
        settle(
            tx,
            id,
            "open",
            "confirmed",
            "merged",
            acting,
            &reason,
            &detail,
        )?;
        tx.exec(
            "INSERT INTO person_merged (personal_id, survivor, proposal_id, merged_at) VALUES ($1, $2, $3, $4)",
            &[dup.as_str().into(), surv.as_str().into(), id.into(), to_ms(acting.now).into()],
        )?;
        Ok(())
    })?;
    if let (Some(a), true) = (account, lock) {
        let why = format!("merged into another record (link merge {id})");
        set_lock(
            store,
            &a,
            LockBy::Officer(&caller.staff, &why),
            true,
            acting.now,
        )?;
    }
    Ok(one_as(store, caller, id, true)?.0)
}

/// Undoes a merge: both persons stand again as they did before. Refused like [`merge`], and
/// a proposal that is not a merge in force (`Conflict` `link.proposal_decided`). Audited as
/// `link.unmerge`.
pub fn undo(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let done = undo_unaudited(store, acting, id, reason);
    acting.audited(store, "link.unmerge", &id.to_string(), done)
}

fn undo_unaudited(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let caller = &acting.caller;
    caller.not_auditor()?;
    let reason = check_reason(reason)?.to_owned();
    let (p, events) = one_as(store, caller, id, true)?;
    if p.kind != "merge" {
        return Err(Error::bad("link.not_decidable", "only a merge is undone"));
    }
    if p.state != "confirmed" {
        return Err(decided());
    }
    let merged = events.iter().rev().find(|e| e.kind == "merged");
    let dup = person_of(merged.and_then(|e| e.detail["duplicate"].as_str()))?;
    let locked = merged.is_some_and(|e| e.detail["account_locked"] == true);
    if let Some(s) = store.person(&dup)? {
        if !caller.sees(&s.person.residence.unit) {
            return Err(Error::ScopeDenied);
        }
    }
    sql::transact(store.db(), |tx| {
        settle(
            tx,
            id,
            "confirmed",
            "undone",
            "undone",
            acting,
            &reason,
            &json!({ "duplicate": dup.as_str() }),
        )?;
        tx.exec(
            "DELETE FROM person_merged WHERE personal_id = $1 AND proposal_id = $2",
            &[dup.as_str().into(), id.into()],
        )?;
        Ok::<_, Error>(())
    })?;
    if locked {
        let why = format!("merged into another record (link merge {id})");
        if let Some(a) = account_of(store, &dup)? {
            // Only the lock this merge set is lifted.
            if a.officer_lock.as_deref() == Some(why.as_str()) {
                let undo_why = format!("merge undone (link merge {id})");
                set_lock(
                    store,
                    &a,
                    LockBy::Officer(&caller.staff, &undo_why),
                    false,
                    acting.now,
                )?;
            }
        }
    }
    Ok(one_as(store, caller, id, true)?.0)
}

/// A merge as a person sees it: the other person and the proposal's id.
pub type MergeRef = (String, i64);

/// The merge in force for a person: (survivor, proposal id) when merged into someone, and the
/// persons merged into them.
pub fn merges_of(
    store: &dyn Store,
    id: &PersonalId,
) -> Result<(Option<MergeRef>, Vec<MergeRef>), Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT personal_id, survivor, proposal_id FROM person_merged WHERE personal_id = $1 OR survivor = $1",
            &[id.as_str().into()],
        )
    })?;
    let (mut into, mut from) = (None, Vec::new());
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let (dup, surv, pid) = (g(0).text()?, g(1).text()?, g(2).int()?);
        if dup == id.as_str() {
            into = Some((surv, pid));
        } else {
            from.push((dup, pid));
        }
    }
    Ok((into, from))
}
