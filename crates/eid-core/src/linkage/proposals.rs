//! What linkage proposes to change in the register, and the officer's decision on it:
//! - **death**: a civil-registry death row matched to a living register person proposes that
//!   the person died (on the row's `death_date` when it gives one). Confirmed, the register
//!   records it as an `updated` event by the officer through the [`crate::store::PersonWriter`]
//!   and the account is locked by the register lock, as confirmed outreach proposals do
//!   ([`crate::ops::proposals::decide_proposal`]).
//! - **birth**: a civil-registry birth row the register does not know proposes a new person,
//!   with the fields the registry lacked listed as gaps (parents' dates of birth, hometown,
//!   address, …). Confirmed, the person is created (a `created` event by the officer) from the
//!   row and what the officer fills in.
//! - **merge**: two register persons the dedupe run takes for one ([`super::dedupe`]).
//!
//! A proposal is keyed by its kind, source, row key and the fingerprint of the row's values:
//! importing the same file again proposes nothing twice. Every decision is an append-only
//! `link_proposal_event`; the proposal's state changes in the same transaction, conditionally,
//! so of two decisions sent together one wins and the other is `link.proposal_decided` (409).

use eid_domain::{LifeState, LifeStatus, PersonalId, UnitCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::files::SectorRow;
use crate::error::Error;
use crate::register::check_reason;
use crate::sql::{self, Val};
use crate::store::{from_ms, path_range, to_ms, unit_path, Store, StoreError};
use crate::{Acting, Caller};

/// The kinds of proposal.
pub const KINDS: [&str; 3] = ["death", "birth", "merge"];

/// The attributes of a birth row whose absence is a gap (the registry books often lack them),
/// beside the fields the register itself requires.
pub const BIRTH_EXTRAS: [&str; 4] = [
    "father_birth_date",
    "mother_birth_date",
    "hometown_unit",
    "residence_address",
];

/// A proposal as stored.
#[derive(Clone, PartialEq)]
pub struct LinkProposal {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub row_id: String,
    pub result_id: Option<i64>,
    /// The person concerned: who died, the birth's personal ID if the row gave one, the
    /// duplicate of a merge.
    pub personal_id: Option<String>,
    /// A merge's proposed survivor.
    pub other_id: Option<String>,
    pub res_path: Option<i64>,
    pub score: Option<f64>,
    /// Death: `{death_date, values}`; birth: `{values, attributes, gaps}`; merge:
    /// `{explanation}`.
    pub detail: Value,
    pub state: String,
    pub created_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for LinkProposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LinkProposal({}, {}, {})",
            self.id, self.kind, self.state
        )
    }
}

/// One event of a proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposalEvent {
    pub kind: String,
    pub actor: String,
    pub reason: String,
    pub detail: Value,
    pub at: OffsetDateTime,
}

pub(super) const PROPOSAL_COLUMNS: &str = "id, kind, source, row_id, result_id, personal_id, other_id, res_path, score, detail, state, created_at, decided_by, decided_at";

pub(super) fn proposal_from(r: &[Val]) -> Result<LinkProposal, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(LinkProposal {
        id: g(0).int()?,
        kind: g(1).text()?,
        source: g(2).text()?,
        row_id: g(3).text()?,
        result_id: g(4).opt_int()?,
        personal_id: g(5).opt_text()?,
        other_id: g(6).opt_text()?,
        res_path: g(7).opt_int()?,
        score: g(8).opt_real()?,
        detail: serde_json::from_str(&g(9).text()?)
            .map_err(|_| StoreError::Corrupt("link_proposal.detail".into()))?,
        state: g(10).text()?,
        created_at: from_ms(g(11).int()?),
        decided_by: g(12).opt_text()?,
        decided_at: g(13).opt_int()?.map(from_ms),
    })
}

/// Inserts a proposal unless the same (kind, source, row, fingerprint) is there already, or
/// `unless_open` names a person with an open proposal of the same kind. The number written.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert(
    tx: &mut dyn sql::Tx,
    kind: &str,
    source: &str,
    row_id: &str,
    fingerprint: &str,
    result_id: Option<i64>,
    personal_id: Option<&str>,
    other_id: Option<&str>,
    res_path: Option<i64>,
    score: Option<f64>,
    detail: &Value,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    tx.exec(
        "INSERT INTO link_proposal (kind, source, row_id, fingerprint, result_id, personal_id, other_id, res_path, score, detail, state, created_at) \
         SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT), \
         CAST($6 AS TEXT), CAST($7 AS TEXT), CAST($8 AS BIGINT), CAST($9 AS DOUBLE PRECISION), CAST($10 AS TEXT), \
         'open', CAST($11 AS BIGINT) WHERE NOT EXISTS \
         (SELECT 1 FROM link_proposal WHERE kind = $1 AND ((source = $2 AND row_id = $3 AND fingerprint = $4) \
          OR ($6 IS NOT NULL AND personal_id = $6 AND state = 'open' AND kind <> 'merge'))) \
         ON CONFLICT DO NOTHING",
        &[kind.into(), source.into(), row_id.into(), fingerprint.into(), result_id.into(),
          personal_id.map(str::to_owned).into(), other_id.map(str::to_owned).into(), res_path.into(),
          score.into(), detail.to_string().into(), to_ms(now).into()],
    )
}

fn value<'a>(row: &'a SectorRow, key: &str) -> &'a str {
    row.values
        .iter()
        .chain(&row.attributes)
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.trim())
}

/// A death proposal for a matched civil-registry death row of a living person.
#[allow(clippy::too_many_arguments)]
pub(super) fn propose_death(
    tx: &mut dyn sql::Tx,
    source: &str,
    row: &SectorRow,
    result_id: i64,
    personal_id: &str,
    res_path: Option<i64>,
    score: Option<f64>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let death = value(row, "death_date");
    let detail = json!({
        "death_date": eid_domain::parse_iso_date(death).map(eid_domain::iso),
    });
    insert(
        tx,
        "death",
        source,
        &row.row_id,
        &row.fingerprint,
        Some(result_id),
        Some(personal_id),
        None,
        res_path,
        score,
        &detail,
        now,
    )
}

/// The gaps of a birth row: the fields the register needs that it lacks, then the
/// [`BIRTH_EXTRAS`] it lacks.
pub fn birth_gaps(values: &Value, attributes: &Value) -> Vec<String> {
    let get = |k: &str| {
        values[k]
            .as_str()
            .or_else(|| attributes[k].as_str())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let mut gaps = Vec::new();
    if PersonalId::parse(&get("personal_id")).is_err() {
        gaps.push("personal_id".to_owned());
    }
    if eid_domain::parse_iso_date(&get("birth_date")).is_none() {
        gaps.push("birth_date".to_owned());
    }
    if eid_domain::Sex::parse(&get("sex")).is_none() {
        gaps.push("sex".to_owned());
    }
    let tree = get("unit_tree");
    let commune = UnitCode::parse(&get("unit"))
        .ok()
        .filter(|c| (tree.is_empty() || tree == "2024") && unit_path(c).is_some());
    if commune.is_none() {
        gaps.push("residence_unit".to_owned());
    }
    for extra in BIRTH_EXTRAS {
        if get(extra).is_empty() {
            gaps.push(extra.to_owned());
        }
    }
    gaps
}

/// A birth proposal for an unmatched civil-registry birth row.
pub(super) fn propose_birth(
    tx: &mut dyn sql::Tx,
    source: &str,
    row: &SectorRow,
    result_id: i64,
    res_path: Option<i64>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let to_obj = |kv: &[(String, String)]| -> Value {
        Value::Object(
            kv.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let (values, attributes) = (to_obj(&row.values), to_obj(&row.attributes));
    let gaps = birth_gaps(&values, &attributes);
    let pid = PersonalId::parse(value(row, "personal_id")).ok();
    let detail = json!({ "values": values, "attributes": attributes, "gaps": gaps });
    insert(
        tx,
        "birth",
        source,
        &row.row_id,
        &row.fingerprint,
        Some(result_id),
        pid.as_ref().map(PersonalId::as_str),
        None,
        res_path,
        None,
        &detail,
        now,
    )
}

/// The scope clause over `p.res_path` with parameters `$1`–`$3` (low, high, nation).
const SCOPE: &str = "((p.res_path >= $1 AND p.res_path < $2) OR ($3 = 1 AND p.res_path IS NULL))";

/// Proposals of `kind` (any when empty) in `state` (`open` when empty) within a unit (the
/// caller's own when none is named), newest first, at most `limit` (1–1000). Audited as
/// `link.proposals`.
pub fn list(
    store: &dyn Store,
    acting: &Acting,
    kind: &str,
    state: &str,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<LinkProposal>, Error> {
    let target = format!("{kind}@{}", unit.unwrap_or(acting.caller.unit().as_str()));
    let found = list_of(store, &acting.caller, kind, state, unit, limit);
    acting.audited(store, "link.proposals", &target, found)
}

fn list_of(
    store: &dyn Store,
    caller: &Caller,
    kind: &str,
    state: &str,
    unit: Option<&str>,
    limit: u32,
) -> Result<Vec<LinkProposal>, Error> {
    let unit = caller.within(unit)?;
    if !kind.is_empty() && !KINDS.contains(&kind) {
        return Err(Error::bad("link.bad_kind", "kind is death, birth or merge"));
    }
    let state = if state.is_empty() { "open" } else { state };
    if !["open", "confirmed", "dismissed", "undone"].contains(&state) {
        return Err(Error::bad(
            "link.bad_state",
            "state is open, confirmed, dismissed or undone",
        ));
    }
    let (lo, hi) =
        path_range(&unit).ok_or_else(|| Error::not_found("unit.not_found", "no such unit"))?;
    let nation = i64::from(unit == UnitCode::NATION);
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!(
                "SELECT {PROPOSAL_COLUMNS} FROM link_proposal p WHERE {SCOPE} \
                 AND ($4 = '' OR p.kind = $4) AND p.state = $5 ORDER BY p.id DESC LIMIT $6"
            ),
            &[
                lo.into(),
                hi.into(),
                nation.into(),
                kind.into(),
                state.into(),
                i64::from(limit.clamp(1, 1000)).into(),
            ],
        )
    })?;
    rows.iter()
        .map(|r| proposal_from(r).map_err(Error::from))
        .collect()
}

/// One proposal with its events, if the caller's units include it (outside them: `NotFound`
/// for a read, `ScopeDenied` when `deny`).
pub(super) fn one_as(
    store: &dyn Store,
    caller: &Caller,
    id: i64,
    deny: bool,
) -> Result<(LinkProposal, Vec<ProposalEvent>), Error> {
    caller.not_auditor()?;
    let (row, events) = sql::read(store.db(), |tx| {
        let row = tx.row(
            &format!("SELECT {PROPOSAL_COLUMNS} FROM link_proposal WHERE id = $1"),
            &[id.into()],
        )?;
        let events = tx.query(
            "SELECT kind, actor, reason, detail, at FROM link_proposal_event WHERE proposal_id = $1 ORDER BY id",
            &[id.into()],
        )?;
        Ok::<_, StoreError>((row, events))
    })?;
    let not_found = || Error::not_found("link.proposal_not_found", "no such proposal");
    let p = proposal_from(&row.ok_or_else(not_found)?)?;
    let within = match (p.res_path, path_range(&caller.unit())) {
        (Some(x), Some((lo, hi))) => x >= lo && x < hi,
        (None, _) => caller.unit() == UnitCode::NATION,
        _ => false,
    };
    if !within {
        return Err(if deny {
            Error::ScopeDenied
        } else {
            not_found()
        });
    }
    let events = events
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok(ProposalEvent {
                kind: g(0).text()?,
                actor: g(1).text()?,
                reason: g(2).text()?,
                detail: serde_json::from_str(&g(3).text()?)
                    .map_err(|_| StoreError::Corrupt("link_proposal_event.detail".into()))?,
                at: from_ms(g(4).int()?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((p, events))
}

/// One proposal with its events. Audited as `link.proposal`.
pub fn proposal(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
) -> Result<(LinkProposal, Vec<ProposalEvent>), Error> {
    let found = one_as(store, &acting.caller, id, false);
    acting.audited(store, "link.proposal", &id.to_string(), found)
}

/// What an officer fills in when confirming a birth: the fields the row lacked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BirthInput {
    pub personal_id: Option<String>,
    pub hometown_unit: Option<String>,
    pub residence_address: Option<String>,
}

/// What an officer decides on a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalDecision {
    /// Death and birth: the register changes. Merge: see [`super::dedupe::merge`].
    Confirm(BirthInput),
    Dismiss,
}

pub(super) fn decided() -> Error {
    Error::Conflict {
        code: "link.proposal_decided",
        message: "the proposal has already been decided; reload the list".into(),
    }
}

/// Marks a proposal decided (conditionally on its state being `from`) and appends the event,
/// inside `tx`. `Conflict` when another decision got there first.
#[allow(clippy::too_many_arguments)]
pub(super) fn settle(
    tx: &mut dyn sql::Tx,
    id: i64,
    from: &str,
    to: &str,
    event: &str,
    acting: &Acting,
    reason: &str,
    detail: &Value,
) -> Result<(), Error> {
    let (actor, at) = (acting.actor().to_string(), to_ms(acting.now));
    let n = tx.exec(
        "UPDATE link_proposal SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND state = $5",
        &[id.into(), to.into(), actor.as_str().into(), at.into(), from.into()],
    )?;
    if n != 1 {
        return Err(decided());
    }
    tx.exec(
        "INSERT INTO link_proposal_event (proposal_id, kind, actor, reason, detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[id.into(), event.into(), actor.as_str().into(), reason.into(), detail.to_string().into(), at.into()],
    )?;
    Ok(())
}

/// Confirms or dismisses a death or birth proposal (a merge goes through
/// [`super::dedupe::merge`]). Refused: auditors and proposals outside the caller's units
/// (`ScopeDenied`), an unknown proposal (`NotFound`), a missing reason (`Bad`
/// `person.reason_required`), one decided already (`Conflict` `link.proposal_decided`), a
/// death of someone no longer in the register (`NotFound` `person.not_found`), a birth whose
/// fields do not make a valid record (`Bad` `link.birth_invalid`, naming the field) or whose
/// personal ID the register holds (`Conflict` `person.exists`). Audited as `link.proposal.decide`.
pub fn decide(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    decision: &ProposalDecision,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let done = decide_unaudited(store, acting, id, decision, reason);
    acting.audited(store, "link.proposal.decide", &id.to_string(), done)
}

/// [`decide`], or for a merge proposal confirmed, [`super::dedupe::merge`] keeping `survivor`:
/// the one entry point of the API and the console. Scope and audit are those of the use case
/// it routes to.
pub fn decide_any(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    decision: &ProposalDecision,
    survivor: Option<&str>,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let kind = sql::read(store.db(), |tx| {
        tx.row("SELECT kind FROM link_proposal WHERE id = $1", &[id.into()])
    })?
    .and_then(|r| r.first().cloned())
    .map(|v| v.text())
    .transpose()?;
    match (kind.as_deref(), decision) {
        (Some("merge"), ProposalDecision::Confirm(_)) => {
            super::dedupe::merge(store, acting, id, survivor, reason)
        }
        _ => decide(store, acting, id, decision, reason),
    }
}

fn decide_unaudited(
    store: &dyn Store,
    acting: &Acting,
    id: i64,
    decision: &ProposalDecision,
    reason: &str,
) -> Result<LinkProposal, Error> {
    let caller = &acting.caller;
    caller.not_auditor()?;
    let reason = check_reason(reason)?.to_owned();
    let (p, _) = one_as(store, caller, id, true)?;
    if p.state != "open" {
        return Err(decided());
    }
    let input = match decision {
        ProposalDecision::Dismiss => {
            sql::transact(store.db(), |tx| {
                settle(
                    tx,
                    id,
                    "open",
                    "dismissed",
                    "dismissed",
                    acting,
                    &reason,
                    &json!({}),
                )
            })?;
            return Ok(one_as(store, caller, id, true)?.0);
        }
        ProposalDecision::Confirm(input) => input,
    };
    match p.kind.as_str() {
        "death" => confirm_death(store, acting, &p, &reason)?,
        "birth" => confirm_birth(store, acting, &p, input, &reason)?,
        _ => {
            return Err(Error::bad(
                "link.not_decidable",
                "a merge is confirmed by merging",
            ))
        }
    }
    Ok(one_as(store, caller, id, true)?.0)
}

fn confirm_death(
    store: &dyn Store,
    acting: &Acting,
    p: &LinkProposal,
    reason: &str,
) -> Result<(), Error> {
    let pid = p
        .personal_id
        .as_deref()
        .and_then(|s| PersonalId::parse(s).ok())
        .ok_or_else(|| StoreError::Corrupt("death proposal without a person".into()))?;
    let since = p.detail["death_date"]
        .as_str()
        .and_then(eid_domain::parse_iso_date)
        .unwrap_or_else(|| acting.now.to_offset(crate::accounts::vietnam()).date());
    let why = format!(
        "{reason} (khai tử theo nguồn {}, đề xuất {})",
        p.source, p.id
    );
    let mut w = store.writer(acting.actor(), &why, acting.now)?;
    let stored = w
        .current(&pid)?
        .ok_or_else(|| Error::not_found("person.not_found", "no person has this personal ID"))?;
    if !acting.caller.sees(&stored.person.residence.unit) {
        return Err(Error::ScopeDenied);
    }
    let mut next = stored.person.clone();
    next.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(since),
    };
    w.put(&next)?;
    {
        let mut tx = w.tx()?;
        let detail = json!({ "life_status": "dead", "since": eid_domain::iso(since) });
        settle(
            tx.as_mut(),
            p.id,
            "open",
            "confirmed",
            "confirmed",
            acting,
            reason,
            &detail,
        )?;
    }
    w.commit()?;
    crate::accounts::sync_register_lock(store, &pid, acting.now)?;
    Ok(())
}

fn confirm_birth(
    store: &dyn Store,
    acting: &Acting,
    p: &LinkProposal,
    input: &BirthInput,
    reason: &str,
) -> Result<(), Error> {
    let (values, attributes) = (&p.detail["values"], &p.detail["attributes"]);
    let given = |k: &str| -> String {
        values[k]
            .as_str()
            .or_else(|| attributes[k].as_str())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let or = |filled: &Option<String>, k: &str| {
        filled
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or_else(|| given(k), str::to_owned)
    };
    let fields: [String; 18] = [
        or(&input.personal_id, "personal_id"),
        given("surname"),
        given("middle_name"),
        given("given_name"),
        given("birth_date"),
        given("sex"),
        or(&input.hometown_unit, "hometown_unit"),
        given("unit"),
        or(&input.residence_address, "residence_address"),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "none".to_owned(),
        "alive".to_owned(),
        String::new(),
        String::new(),
        String::new(),
    ];
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let today = acting.now.to_offset(crate::accounts::vietnam()).date();
    let person = crate::csvfmt::parse_fields(&refs, today).map_err(|e| Error::Bad {
        code: "link.birth_invalid",
        message: format!("{}: {}", e.column, e.reason),
    })?;
    if !acting.caller.sees(&person.residence.unit) {
        return Err(Error::ScopeDenied);
    }
    let why = format!(
        "{reason} (khai sinh theo nguồn {}, đề xuất {})",
        p.source, p.id
    );
    let mut w = store.writer(acting.actor(), &why, acting.now)?;
    if w.current(&person.id)?.is_some() {
        return Err(Error::Conflict {
            code: "person.exists",
            message: "the register already holds this personal ID".into(),
        });
    }
    w.put(&person)?;
    {
        let mut tx = w.tx()?;
        // The gaps that remain once the officer filled in what they could.
        let mut filled = values.as_object().cloned().unwrap_or_default();
        filled.insert("personal_id".into(), person.id.as_str().into());
        filled.insert("residence_address".into(), fields[8].clone().into());
        filled.insert("hometown_unit".into(), fields[6].clone().into());
        let gaps = birth_gaps(&Value::Object(filled), attributes);
        let detail = json!({ "personal_id": person.id.as_str(), "gaps": gaps });
        settle(
            tx.as_mut(),
            p.id,
            "open",
            "confirmed",
            "confirmed",
            acting,
            reason,
            &detail,
        )?;
        // The proposal now names the person it created.
        tx.exec(
            "UPDATE link_proposal SET personal_id = $2 WHERE id = $1",
            &[p.id.into(), person.id.as_str().into()],
        )?;
        if let Some(path) = unit_path(&person.residence.unit) {
            if !gaps.is_empty() {
                tx.exec(
                    "INSERT INTO link_gap (personal_id, res_path, gaps) VALUES ($1, $2, $3) \
                     ON CONFLICT (personal_id) DO UPDATE SET res_path = $2, gaps = $3",
                    &[
                        person.id.as_str().into(),
                        path.into(),
                        gaps.join(",").into(),
                    ],
                )?;
            }
        }
    }
    w.commit()?;
    Ok(())
}
