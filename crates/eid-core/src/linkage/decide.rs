//! Officers' decisions on sector rows (issue 13): the review queue of a unit, one result with
//! the register person beside it, and the decision on a review or a conflict — "same person"
//! (linked to a register person the officer chooses) or "not the same", with a reason. Each
//! decision is an append-only event (`link_decision`) with its actor, reason and time; the
//! result it settles changes outcome in the same transaction, and the next import of the same
//! row (same source, same `row_id`, same fingerprint of its mapped values) reuses it.

use std::collections::HashMap;

use eid_domain::{Person, PersonalId, UnitCode};

use super::files::SectorRow;
use super::matcher::{Decision, Outcome};
use super::proposals::{propose_birth, propose_death};
use super::service::{mark_verified, one_as, result_from, LinkResult, RESULT_COLUMNS, RESULT_FROM};
use crate::error::Error;
use crate::register::check_reason;
use crate::rollup::day_number;
use crate::sql::{self, Val};
use crate::store::{path_range, to_ms, Store, StoreError};
use crate::{Acting, Caller};

/// What an officer decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The row is this register person.
    Same(PersonalId),
    /// The row is the register person the result names (the matcher's proposal).
    Proposed,
    /// The row is not the register person proposed.
    Different,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Same(_) | Verdict::Proposed => "same",
            Verdict::Different => "different",
        }
    }
}

/// The latest decision per (row_id, fingerprint) of a source: (decision id, linked person).
pub(super) type Prior = HashMap<(String, String), (i64, Option<String>)>;

/// The decisions made on rows of `source`, the latest per row.
pub(super) fn prior_decisions(store: &dyn Store, source: &str) -> Result<Prior, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT row_id, fingerprint, id, verdict, personal_id FROM link_decision \
             WHERE source = $1 ORDER BY id",
            &[source.into()],
        )
    })?;
    let mut out = Prior::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let person = match g(3).text()?.as_str() {
            "same" => g(4).opt_text()?,
            _ => None,
        };
        out.insert((g(0).text()?, g(1).text()?), (g(2).int()?, person));
    }
    Ok(out)
}

/// The matcher's decision `d`, or the officer's earlier one on the same row when there is one
/// (and the person it names is still in the register), with that decision's id.
pub(super) fn reuse(
    prior: &Prior,
    index: &HashMap<&str, u32>,
    row_id: &str,
    fingerprint: &str,
    d: Decision,
) -> (Decision, Option<i64>) {
    let Some((id, person)) = prior.get(&(row_id.to_owned(), fingerprint.to_owned())) else {
        return (d, None);
    };
    match person {
        Some(pid) => match index.get(pid.as_str()) {
            Some(&i) => (
                Decision {
                    outcome: Outcome::Matched,
                    person: Some(i),
                    alternative: None,
                    ..d
                },
                Some(*id),
            ),
            // The person left the register: the matcher decides again.
            None => (d, None),
        },
        None => (
            Decision {
                outcome: Outcome::Unmatched,
                person: None,
                alternative: d.person,
                ..d
            },
            Some(*id),
        ),
    }
}

/// Decides a review or a conflict. Refused: auditors and results outside the caller's units
/// (`ScopeDenied`, as a register correction is), an unknown result (`NotFound`), a missing
/// reason (`Bad` `person.reason_required`), a result that is not a review or a conflict
/// (`Bad` `link.not_decidable`), an unknown person (`NotFound` `person.not_found`) or one
/// outside the caller's units (`ScopeDenied`), a result decided already — also by someone else at the same
/// moment (`Conflict` `link.already_decided`). Audited as `link.decide` with the result's id.
/// Returns the result as it stands after the decision.
pub fn decide(
    store: &dyn Store,
    acting: &Acting,
    result_id: i64,
    verdict: &Verdict,
    reason: &str,
) -> Result<LinkResult, Error> {
    let done = decide_unaudited(store, acting, result_id, verdict, reason);
    acting.audited(store, "link.decide", &result_id.to_string(), done)
}

fn decide_unaudited(
    store: &dyn Store,
    acting: &Acting,
    result_id: i64,
    verdict: &Verdict,
    reason: &str,
) -> Result<LinkResult, Error> {
    let caller = &acting.caller;
    caller.not_auditor()?;
    let reason = check_reason(reason)?.to_owned();
    let current = one_as(store, caller, result_id, true)?;
    let already = || Error::Conflict {
        code: "link.already_decided",
        message: "this result has been decided already".into(),
    };
    if current.decision.is_some() {
        return Err(already());
    }
    if !matches!(current.outcome, Outcome::Review | Outcome::Conflict) {
        return Err(Error::bad(
            "link.not_decidable",
            "only reviews and conflicts are decided by an officer",
        ));
    }
    let proposed;
    let verdict = match verdict {
        Verdict::Proposed => {
            proposed = Verdict::Same(
                current
                    .personal_id
                    .as_deref()
                    .and_then(|p| PersonalId::parse(p).ok())
                    .ok_or_else(|| {
                        Error::bad(
                            "link.person_required",
                            "this result names no person: name one",
                        )
                    })?,
            );
            &proposed
        }
        v => v,
    };
    // The person linked, when they are alive: (their residence key); a death row linked to
    // them is then proposed as their death.
    let mut living: Option<Option<i64>> = None;
    if let Verdict::Same(pid) = verdict {
        match store.person(pid)? {
            None => {
                return Err(Error::not_found(
                    "person.not_found",
                    "no person has this personal ID",
                ))
            }
            Some(p) if !caller.sees(&p.person.residence.unit) => return Err(Error::ScopeDenied),
            Some(p) => {
                if p.person.life.state == eid_domain::LifeState::Alive {
                    living = Some(crate::store::unit_path(&p.person.residence.unit));
                }
            }
        }
    }
    let (outcome, person) = match verdict {
        Verdict::Same(pid) => (Outcome::Matched, Some(pid.as_str().to_owned())),
        Verdict::Different | Verdict::Proposed => (Outcome::Unmatched, None),
    };
    let (actor, at) = (acting.actor().to_string(), to_ms(acting.now));
    let kind = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT kind FROM link_source WHERE name = $1",
            &[current.source.as_str().into()],
        )
    })?
    .and_then(|r| r.first().cloned())
    .map(|k| k.text())
    .transpose()?
    .unwrap_or_default();
    let verifies = kind == "social_insurance" || kind == "health_insurance";
    sql::transact(store.db(), |tx| {
        let fingerprint = tx
            .row(
                "SELECT fingerprint FROM link_result WHERE id = $1",
                &[result_id.into()],
            )?
            .and_then(|r| r.first().cloned())
            .unwrap_or(Val::Null)
            .text()?;
        let decision = tx
            .row(
                "INSERT INTO link_decision (result_id, source, row_id, fingerprint, verdict, personal_id, reason, actor, decided_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[result_id.into(), current.source.as_str().into(), current.row_id.as_str().into(),
                  fingerprint.as_str().into(), verdict.as_str().into(), person.clone().into(),
                  reason.as_str().into(), actor.as_str().into(), at.into()],
            )?
            .and_then(|r| r.first().cloned())
            .unwrap_or(Val::Null)
            .int()?;
        // Conditional: a decision that landed meanwhile (another officer, another request)
        // leaves nothing to update, and this one is rolled back.
        let alternative = match person {
            Some(_) => current.alternative_id.clone(),
            None => current.personal_id.clone(),
        };
        let n = tx.exec(
            "UPDATE link_result SET outcome = $2, personal_id = $3, alternative_id = $4, decision_id = $5 \
             WHERE id = $1 AND decision_id IS NULL AND outcome IN ('review', 'conflict')",
            &[result_id.into(), outcome.as_str().into(), person.clone().into(),
              alternative.into(), decision.into()],
        )?;
        if n != 1 {
            return Err(already());
        }
        if let Some(pid) = person.as_deref() {
            crate::transparency::note_in(
                tx,
                &crate::transparency::DataUse {
                    personal_id: pid.to_owned(),
                    who: crate::transparency::Who::Sector {
                        source: current.source.clone(),
                    },
                    what: kind.clone(),
                    purpose: "linkage.review".to_owned(),
                    at: acting.now,
                },
            )?;
        }
        if let (true, Some(pid)) = (verifies, person.as_deref()) {
            mark_verified(
                tx,
                pid,
                &current.source,
                day_number(current.received_on),
                result_id,
            )?;
        }
        // What the import would have proposed had the matcher decided so: a death linked to a
        // living person, a birth of no one in the register.
        let row = sector_row(&current, &fingerprint);
        match (kind.as_str(), person.as_deref(), living) {
            ("civil_deaths", Some(pid), Some(path)) => {
                propose_death(
                    tx,
                    &current.source,
                    &row,
                    result_id,
                    pid,
                    path,
                    current.score,
                    acting.now,
                )?;
            }
            ("civil_births", None, _) => {
                let path = tx
                    .row(
                        "SELECT res_path FROM link_result WHERE id = $1",
                        &[result_id.into()],
                    )?
                    .and_then(|r| r.first().cloned())
                    .unwrap_or(Val::Null)
                    .opt_int()?;
                propose_birth(tx, &current.source, &row, result_id, path, acting.now)?;
            }
            _ => {}
        }
        Ok(())
    })?;
    one_as(store, caller, result_id, true)
}

/// A stored result as the sector row it came from, for the proposals a decision makes.
fn sector_row(r: &LinkResult, fingerprint: &str) -> SectorRow {
    let pairs = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    SectorRow {
        line: r.line.max(0) as u64,
        row_id: r.row_id.clone(),
        record: Default::default(),
        attributes: pairs(&r.attributes),
        values: pairs(&r.values),
        fingerprint: fingerprint.to_owned(),
    }
}

/// A result with the register person it names, for the console's breakdown.
pub struct Review {
    pub result: LinkResult,
    pub person: Option<Person>,
    /// Another person the scores pointed to (a conflict's alternative), when there is one.
    pub alternative: Option<Person>,
}

/// One result with the register's record beside it, if the caller's units include it.
/// Audited as `link.result`.
pub fn review(store: &dyn Store, acting: &Acting, id: i64) -> Result<Review, Error> {
    let found = (|| {
        let result = one_as(store, &acting.caller, id, false)?;
        let person_of = |pid: &Option<String>| -> Result<Option<Person>, Error> {
            let Some(pid) = pid.as_deref().and_then(|p| PersonalId::parse(p).ok()) else {
                return Ok(None);
            };
            Ok(store.person(&pid)?.map(|p| p.person))
        };
        Ok::<_, Error>(Review {
            person: person_of(&result.personal_id)?,
            alternative: person_of(&result.alternative_id)?,
            result,
        })
    })();
    acting.audited(store, "link.result", &id.to_string(), found)
}

/// The review queue of a unit: reviews and conflicts not yet decided, newest first, one page;
/// and the counts of every outcome per source in the unit.
pub struct Queue {
    pub unit: UnitCode,
    /// (source, outcome, count), by source then outcome.
    pub counts: Vec<(String, Outcome, u64)>,
    /// Undecided reviews and conflicts in the unit.
    pub open: u64,
    pub rows: Vec<LinkResult>,
}

/// The queue of `unit` (the caller's own when none is named), page `page` (from 0) of
/// `per_page` (1–200) rows, optionally of one source. Audited as `link.queue` with the unit.
pub fn queue(
    store: &dyn Store,
    acting: &Acting,
    unit: Option<&str>,
    source: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Queue, Error> {
    let target = unit.unwrap_or(acting.caller.unit().as_str()).to_owned();
    let found = queue_of(store, &acting.caller, unit, source, page, per_page);
    acting.audited(store, "link.queue", &target, found)
}

fn queue_of(
    store: &dyn Store,
    caller: &Caller,
    unit: Option<&str>,
    source: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Queue, Error> {
    let unit = caller.within(unit)?;
    let (lo, hi) =
        path_range(&unit).ok_or_else(|| Error::not_found("unit.not_found", "no such unit"))?;
    let nation = i64::from(unit == UnitCode::NATION);
    let scope = "((r.res_path >= $1 AND r.res_path < $2) OR ($3 = 1 AND r.res_path IS NULL))";
    let source = source.filter(|s| !s.is_empty()).unwrap_or("").to_owned();
    let per_page = i64::from(per_page.clamp(1, 200));
    let offset = i64::from(page.min(100_000)) * per_page;
    let (counts, open, rows) = sql::read(store.db(), |tx| {
        let counts = tx.query(
            &format!(
                "SELECT r.source, r.outcome, COUNT(*) FROM link_result r WHERE {scope} \
                 GROUP BY r.source, r.outcome ORDER BY r.source, r.outcome"
            ),
            &[lo.into(), hi.into(), nation.into()],
        )?;
        let open_where = format!(
            "{scope} AND r.outcome IN ('review', 'conflict') AND r.decision_id IS NULL \
             AND ($4 = '' OR r.source = $4)"
        );
        let open = tx
            .row(
                &format!("SELECT COUNT(*) FROM link_result r WHERE {open_where}"),
                &[lo.into(), hi.into(), nation.into(), source.as_str().into()],
            )?
            .and_then(|r| r.first().cloned())
            .unwrap_or(Val::Null)
            .int()?;
        let rows = tx.query(
            &format!(
                "SELECT {RESULT_COLUMNS} FROM {RESULT_FROM} WHERE {open_where} \
                 ORDER BY r.id DESC LIMIT $5 OFFSET $6"
            ),
            &[
                lo.into(),
                hi.into(),
                nation.into(),
                source.as_str().into(),
                per_page.into(),
                offset.into(),
            ],
        )?;
        Ok::<_, StoreError>((counts, open, rows))
    })?;
    let mut out = Vec::new();
    for r in counts {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let o = g(1).text()?;
        let outcome = Outcome::parse(&o)
            .ok_or_else(|| StoreError::Corrupt(format!("link_result.outcome {o}")))?;
        out.push((g(0).text()?, outcome, g(2).int()?.max(0) as u64));
    }
    Ok(Queue {
        unit,
        counts: out,
        open: open.max(0) as u64,
        rows: rows
            .iter()
            .map(|r| result_from(r).map(|x| x.0))
            .collect::<Result<_, _>>()?,
    })
}
