//! The linkage use cases over the store: sources with a saved column mapping, importing a
//! sector file (every row decided and stored with its explanation; matched insurance rows mark
//! the person verified against the source), and the results an officer may read, scoped to
//! their units.

use std::collections::HashMap;
use std::io::Read;

use eid_domain::{PersonalId, UnitCode};
use serde_json::{json, Value};
use time::{Date, OffsetDateTime};

use super::files::{read_sector, Mapping};
use super::matcher::record::{Places, Record};
use super::matcher::{Decision, Linker, Outcome, Thresholds};
use crate::error::Error;
use crate::import::Rejected;
use crate::rollup::{day_date, day_number};
use crate::sql::{self, Val};
use crate::store::{path_range, to_ms, unit_path, Actor, Store, StoreError};
use crate::{Acting, Caller};

/// The kinds of source.
pub const KINDS: [&str; 6] = [
    "social_insurance",
    "health_insurance",
    "civil_births",
    "civil_deaths",
    "education",
    "other",
];

/// A named source and its column mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub kind: String,
    pub mapping: Mapping,
}

/// Saves a source (a new one, or a new mapping for an existing one) after checking the mapping.
pub fn define_source(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    source: &Source,
) -> Result<(), Error> {
    let name = source.name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::bad(
            "link.bad_source",
            "a source name is 1–64 letters, digits, _ or -",
        ));
    }
    if !KINDS.contains(&source.kind.as_str()) {
        return Err(Error::bad(
            "link.bad_kind",
            format!("kind must be one of {}", KINDS.join(", ")),
        ));
    }
    source
        .mapping
        .check()
        .map_err(|e| Error::bad("link.bad_mapping", e))?;
    let (mapping, actor) = (source.mapping.to_text(), actor.to_string());
    sql::transact(store.db(), |tx| {
        let n = tx.exec(
            "UPDATE link_source SET kind = $2, mapping = $3 WHERE name = $1",
            &[
                name.into(),
                source.kind.as_str().into(),
                mapping.as_str().into(),
            ],
        )?;
        if n == 0 {
            tx.exec(
                "INSERT INTO link_source (name, kind, mapping, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[name.into(), source.kind.as_str().into(), mapping.as_str().into(), actor.as_str().into(), to_ms(now).into()],
            )?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}

/// A source by name.
pub fn source(store: &dyn Store, name: &str) -> Result<Source, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT kind, mapping FROM link_source WHERE name = $1",
            &[name.into()],
        )
    })?
    .ok_or_else(|| Error::not_found("link.no_source", format!("no source named {name}")))?;
    let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    let mapping = Mapping::parse(&g(1).text()?)
        .map_err(|e| StoreError::Corrupt(format!("link_source.mapping: {e}")))?;
    Ok(Source {
        name: name.to_owned(),
        kind: g(0).text()?,
        mapping,
    })
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkSummary {
    pub batch_id: i64,
    pub rows: u64,
    pub rejected: u64,
    /// Rows per outcome, in [`Outcome::ALL`] order.
    pub outcomes: [u64; 4],
    /// Persons newly or again marked verified against the source.
    pub verified: u64,
    /// Proposals made: deaths (civil-registry deaths) or new persons (civil-registry births).
    pub proposed: u64,
}

/// Imports a sector file from `source`: checks the file against the saved mapping before any
/// row is read, decides every good row against the whole register, and stores the batch, one
/// result per row and the verifications, in one transaction. Bad rows go to `on_rejected`.
#[allow(clippy::too_many_arguments)]
pub fn import(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    source_name: &str,
    file_name: &str,
    received_on: Date,
    input: impl Read,
    thresholds: &Thresholds,
    on_rejected: &mut dyn FnMut(&Rejected),
) -> Result<LinkSummary, Error> {
    let src = source(store, source_name)?;
    let (rows, rejected) =
        read_sector(input, &src.mapping, now.date()).map_err(|e| Error::bad("link.bad_file", e))?;
    for r in &rejected {
        on_rejected(r);
    }
    let prepared = prepare(store, src, rows, thresholds)?;
    let (actor_s, day) = (actor.to_string(), day_number(received_on));
    let mut summary = LinkSummary {
        rows: prepared.rows.len() as u64,
        rejected: rejected.len() as u64,
        ..LinkSummary::default()
    };
    let batch_id = sql::transact(store.db(), |tx| {
        let batch = new_batch(
            tx,
            &prepared,
            file_name,
            day,
            rejected.len() as u64,
            &actor_s,
            now,
        )?;
        prepared.write(tx, batch, day, now, 0..prepared.rows.len(), &mut summary)?;
        Ok::<_, StoreError>(batch)
    })?;
    summary.batch_id = batch_id;
    Ok(summary)
}

/// A sector file read and decided against the register, ready to be written in one go or in
/// checkpointed slices (the same file over the same register decides the same way).
pub(crate) struct Prepared {
    pub src: Source,
    pub rows: Vec<super::files::SectorRow>,
    ids: Vec<String>,
    paths: Vec<Option<i64>>,
    alive: Vec<bool>,
    linker: Linker,
    model: super::matcher::model::Model,
    decisions: Vec<(Decision, Option<i64>)>,
}

/// Decides every good row of a file from `src` against the whole register.
pub(crate) fn prepare(
    store: &dyn Store,
    src: Source,
    rows: Vec<super::files::SectorRow>,
    thresholds: &Thresholds,
) -> Result<Prepared, Error> {
    // The register, in memory: ids, comparable records, and the residence key for scoping.
    let mut ids: Vec<String> = Vec::new();
    let mut paths: Vec<Option<i64>> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut alive: Vec<bool> = Vec::new();
    let mut places = Places::default();
    store.for_each_person(&UnitCode::NATION, &mut |p| {
        alive.push(p.life.state == eid_domain::LifeState::Alive);
        ids.push(p.id.as_str().to_owned());
        paths.push(unit_path(&p.residence.unit));
        records.push(Record::from_person(&mut places, p));
        Ok(())
    })?;
    let linker = Linker::new(records);
    let sector: Vec<Record> = rows.iter().map(|r| r.record.clone()).collect();
    let model = linker.train(&sector, 50_000);
    let decisions = linker.decide_all(&model, thresholds, &sector, 2);
    // Officers' earlier decisions on the same rows win over the matcher's.
    let prior = super::decide::prior_decisions(store, &src.name)?;
    let decisions: Vec<(Decision, Option<i64>)> = {
        let index: HashMap<&str, u32> = if prior.is_empty() {
            HashMap::new()
        } else {
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i as u32))
                .collect()
        };
        rows.iter()
            .zip(decisions)
            .map(|(row, d)| super::decide::reuse(&prior, &index, &row.row_id, &row.fingerprint, d))
            .collect()
    };
    Ok(Prepared {
        src,
        rows,
        ids,
        paths,
        alive,
        linker,
        model,
        decisions,
    })
}

/// Opens the batch a file's results belong to.
pub(crate) fn new_batch(
    tx: &mut dyn sql::Tx,
    p: &Prepared,
    file_name: &str,
    day: i64,
    rejected: u64,
    actor: &str,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    match tx.row(
        "INSERT INTO link_batch (source, file_name, received_on, row_count, rejected, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[p.src.name.as_str().into(), file_name.into(), day.into(), (p.rows.len() as i64).into(),
          (rejected as i64).into(), actor.into(), to_ms(now).into()],
    )? {
        Some(r) => r.first().cloned().unwrap_or(Val::Null).int(),
        None => Err(StoreError::Db("no batch id".into())),
    }
}

impl Prepared {
    /// Stores the results of the good rows in `range` (positions in file order) in `batch`,
    /// with their verifications and proposals, adding them to `summary`.
    pub(crate) fn write(
        &self,
        tx: &mut dyn sql::Tx,
        batch: i64,
        day: i64,
        now: OffsetDateTime,
        range: std::ops::Range<usize>,
        summary: &mut LinkSummary,
    ) -> Result<(), StoreError> {
        let (src, ids) = (&self.src, &self.ids);
        let verifies = matches!(src.kind.as_str(), "social_insurance" | "health_insurance");
        let id_of = |i: Option<u32>| i.and_then(|i| ids.get(i as usize)).cloned();
        let rows = self.rows.get(range.clone()).unwrap_or_default();
        let decisions = self.decisions.get(range).unwrap_or_default();
        for (row, (d, decided)) in rows.iter().zip(decisions) {
            let explanation = explain_json(&self.linker, &self.model, &row.record, d, ids);
            let method = if decided.is_some() {
                "officer"
            } else {
                d.method.as_str()
            };
            let values: serde_json::Map<String, Value> = row
                .values
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let attributes: serde_json::Map<String, Value> = row
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            // Scope: the person's residence; for rows that name no person, the row's commune.
            let path = d
                .person
                .and_then(|i| self.paths.get(i as usize).copied().flatten())
                .or_else(|| row_path(&row.record));
            let score = d.score.is_finite().then_some(d.score);
            let id = tx
                    .row(
                        "INSERT INTO link_result (batch_id, source, line, row_id, outcome, method, personal_id, alternative_id, \
                         res_path, score, explanation, attributes, received_on, fingerprint, row_values, decision_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                        &[batch.into(), src.name.as_str().into(), (row.line as i64).into(), row.row_id.as_str().into(),
                          d.outcome.as_str().into(), method.into(), id_of(d.person).into(),
                          id_of(d.alternative).into(), path.into(), score.into(),
                          explanation.to_string().into(), Value::Object(attributes).to_string().into(), day.into(),
                          row.fingerprint.as_str().into(), Value::Object(values).to_string().into(), (*decided).into()],
                    )?
                    .and_then(|r| r.first().cloned())
                    .unwrap_or(Val::Null)
                    .int()?;
            if let Some(slot) = Outcome::ALL.iter().position(|o| *o == d.outcome) {
                if let Some(c) = summary.outcomes.get_mut(slot) {
                    *c += 1;
                }
            }
            if d.outcome == Outcome::Matched {
                if let Some(pid) = id_of(d.person) {
                    crate::transparency::note_in(
                        tx,
                        &crate::transparency::DataUse {
                            personal_id: pid,
                            who: crate::transparency::Who::Sector {
                                source: src.name.clone(),
                            },
                            what: src.kind.clone(),
                            purpose: "linkage.match".to_owned(),
                            at: now,
                        },
                    )?;
                }
            }
            if verifies && d.outcome == Outcome::Matched {
                if let Some(pid) = id_of(d.person) {
                    summary.verified += mark_verified(tx, &pid, &src.name, day, id)?;
                }
            }
            // A death of a living person, or a birth the register does not know: proposed.
            let living = d.person.and_then(|i| self.alive.get(i as usize)).copied() == Some(true);
            match (src.kind.as_str(), d.outcome, id_of(d.person)) {
                ("civil_deaths", Outcome::Matched, Some(pid)) if living => {
                    summary.proposed += super::proposals::propose_death(
                        tx, &src.name, row, id, &pid, path, score, now,
                    )?;
                }
                ("civil_births", Outcome::Unmatched, _) => {
                    summary.proposed +=
                        super::proposals::propose_birth(tx, &src.name, row, id, path, now)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Marks `pid` verified against `source` on `day` (unless a later file already did); the
/// number of rows written (0 or 1).
pub(super) fn mark_verified(
    tx: &mut dyn sql::Tx,
    pid: &str,
    source: &str,
    day: i64,
    result_id: i64,
) -> Result<u64, StoreError> {
    let args: [Val; 4] = [pid.into(), source.into(), day.into(), result_id.into()];
    let n = tx.exec(
        "UPDATE person_verification SET verified_on = $3, result_id = $4 \
         WHERE personal_id = $1 AND source = $2 AND verified_on <= $3",
        &args,
    )?;
    if n > 0 {
        return Ok(n);
    }
    tx.exec(
        "INSERT INTO person_verification (personal_id, source, verified_on, result_id) \
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS \
         (SELECT 1 FROM person_verification WHERE personal_id = $1 AND source = $2)",
        &args,
    )
}

/// The 2024 commune key of a sector row, when it names a 2024 commune.
fn row_path(r: &Record) -> Option<i64> {
    let c = r.place.commune_2024?;
    unit_path(&UnitCode::commune(c).ok()?)
}

fn explain_json(
    linker: &Linker,
    model: &super::matcher::model::Model,
    row: &Record,
    d: &Decision,
    ids: &[String],
) -> Value {
    let pair = linker.explain_decision(model, row, d);
    let fields: Vec<Value> = pair
        .as_ref()
        .map(|e| {
            e.fields
                .iter()
                .map(|f| {
                    json!({
                        "field": f.field.as_str(),
                        "level": f.level_name,
                        "weight": round(f.weight),
                        "adjustment": round(f.adjustment),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "method": d.method.as_str(),
        "fields": fields,
        "prior": pair.as_ref().map(|e| round(e.prior)),
        "competition": pair.as_ref().map(|e| round(e.competition)),
        "total": pair.as_ref().map(|e| round(e.total)),
        "probability": pair.as_ref().map(|e| (e.probability * 1e6).round() / 1e6),
        "alternative": d.alternative.and_then(|i| ids.get(i as usize)),
    })
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One stored decision.
#[derive(Clone, PartialEq)]
pub struct LinkResult {
    pub id: i64,
    pub source: String,
    pub line: i64,
    pub row_id: String,
    pub outcome: Outcome,
    pub method: String,
    pub personal_id: Option<String>,
    pub alternative_id: Option<String>,
    pub score: Option<f64>,
    /// The explanation: method, fields (field, level, weight, adjustment), prior, competition
    /// (from the row's other candidates), total, probability, alternative.
    pub explanation: Value,
    /// The sector's own columns kept with the row (card numbers, validity, …).
    pub attributes: Value,
    pub received_on: Date,
    /// The row's mapped fields other than `row_id`, by target (`surname`, `birth_date`, …).
    pub values: Value,
    /// The officer decision that settled this row (made on it, or reused from an earlier file).
    pub decision: Option<Decided>,
}

/// An officer's decision on a sector row.
#[derive(Clone, PartialEq)]
pub struct Decided {
    pub id: i64,
    /// The result it was made on.
    pub result_id: i64,
    /// `same` or `different`.
    pub verdict: String,
    pub personal_id: Option<String>,
    pub reason: String,
    /// The actor as recorded (`staff:7`).
    pub actor: String,
    pub at: OffsetDateTime,
}

impl std::fmt::Debug for LinkResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkResult({}, {})", self.id, self.outcome.as_str())
    }
}

/// The columns [`result_from`] reads, over `link_result r LEFT JOIN link_decision d` ([`RESULT_FROM`]).
pub(super) const RESULT_COLUMNS: &str = "r.id, r.source, r.line, r.row_id, r.outcome, r.method, r.personal_id, r.alternative_id, r.score, r.explanation, r.attributes, r.received_on, r.res_path, \
     r.row_values, d.id, d.result_id, d.verdict, d.personal_id, d.reason, d.actor, d.decided_at";
pub(super) const RESULT_FROM: &str =
    "link_result r LEFT JOIN link_decision d ON d.id = r.decision_id";

pub(super) fn result_from(r: &[Val]) -> Result<(LinkResult, Option<i64>), StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let outcome = g(4).text()?;
    let json = |v: Val| -> Result<Value, StoreError> {
        serde_json::from_str(&v.text()?).map_err(|_| StoreError::Corrupt("link_result json".into()))
    };
    Ok((
        LinkResult {
            id: g(0).int()?,
            source: g(1).text()?,
            line: g(2).int()?,
            row_id: g(3).text()?,
            outcome: Outcome::parse(&outcome)
                .ok_or_else(|| StoreError::Corrupt(format!("link_result.outcome {outcome}")))?,
            method: g(5).text()?,
            personal_id: g(6).opt_text()?,
            alternative_id: g(7).opt_text()?,
            score: g(8).opt_real()?,
            explanation: json(g(9))?,
            attributes: json(g(10))?,
            received_on: day_date(g(11).int()?),
            values: json(g(13))?,
            decision: match g(14).opt_int()? {
                None => None,
                Some(id) => Some(Decided {
                    id,
                    result_id: g(15).int()?,
                    verdict: g(16).text()?,
                    personal_id: g(17).opt_text()?,
                    reason: g(18).text()?,
                    actor: g(19).text()?,
                    at: crate::store::from_ms(g(20).int()?),
                }),
            },
        },
        g(12).opt_int()?,
    ))
}

/// The results of one outcome within a unit (the caller's own when none is named), newest
/// first, at most `limit` (1–1000). Rows that name no place are listed to nation-wide staff only.
/// Audited as `link.results` with the outcome and unit.
pub fn results(
    store: &dyn Store,
    acting: &Acting,
    outcome: &str,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<LinkResult>, Error> {
    let target = format!(
        "{outcome}@{}",
        unit.unwrap_or(acting.caller.unit().as_str())
    );
    let found = list(store, &acting.caller, outcome, unit, limit);
    acting.audited(store, "link.results", &target, found)
}

fn list(
    store: &dyn Store,
    caller: &Caller,
    outcome: &str,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<LinkResult>, Error> {
    let unit = caller.within(unit)?;
    let outcome = Outcome::parse(outcome).ok_or_else(|| {
        Error::bad(
            "link.bad_outcome",
            "outcome is matched, conflict, review or unmatched",
        )
    })?;
    let (lo, hi) =
        path_range(&unit).ok_or_else(|| Error::not_found("unit.not_found", "no such unit"))?;
    let nation = unit == UnitCode::NATION;
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!(
                "SELECT {RESULT_COLUMNS} FROM {RESULT_FROM} WHERE r.outcome = $1 \
                 AND ((r.res_path >= $2 AND r.res_path < $3) OR ($4 = 1 AND r.res_path IS NULL)) \
                 ORDER BY r.id DESC LIMIT $5"
            ),
            &[
                outcome.as_str().into(),
                lo.into(),
                hi.into(),
                i64::from(nation).into(),
                i64::from(limit.clamp(1, 1000)).into(),
            ],
        )
    })?;
    rows.iter()
        .map(|r| result_from(r).map(|x| x.0).map_err(Error::from))
        .collect()
}

/// One decision with its breakdown, if the caller's units include it. Audited as `link.result`.
pub fn result(store: &dyn Store, acting: &Acting, id: i64) -> Result<LinkResult, Error> {
    let found = one(store, &acting.caller, id);
    acting.audited(store, "link.result", &id.to_string(), found)
}

fn one(store: &dyn Store, caller: &Caller, id: i64) -> Result<LinkResult, Error> {
    one_as(store, caller, id, false)
}

/// One result if the caller's units include it; outside them it is `NotFound` (a read), or
/// `ScopeDenied` when `deny` (an action, refused as a register correction is).
pub(super) fn one_as(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    deny: bool,
) -> Result<LinkResult, Error> {
    caller.not_auditor()?;
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {RESULT_COLUMNS} FROM {RESULT_FROM} WHERE r.id = $1"),
            &[id.into()],
        )
    })?;
    let not_found = || Error::not_found("link.not_found", "no such result");
    let (r, path) = result_from(&row.ok_or_else(not_found)?)?;
    let within = match (path, path_range(&caller.unit())) {
        (Some(p), Some((lo, hi))) => p >= lo && p < hi,
        (None, _) => caller.unit() == UnitCode::NATION,
        _ => false,
    };
    // Outside the caller's units it does not exist for them.
    if !within {
        return Err(if deny {
            Error::ScopeDenied
        } else {
            not_found()
        });
    }
    Ok(r)
}

/// The sources a person was verified against, with the day of the file, by source name.
pub fn verified_against(
    store: &dyn Store,
    id: &PersonalId,
) -> Result<HashMap<String, Date>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT source, verified_on FROM person_verification WHERE personal_id = $1",
            &[id.as_str().into()],
        )
    })?;
    let mut out = HashMap::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        out.insert(g(0).text()?, day_date(g(1).int()?));
    }
    Ok(out)
}
