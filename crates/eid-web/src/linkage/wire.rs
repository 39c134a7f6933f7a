//! The linkage API's wire: the query string of the result list and the JSON view of a
//! decision (built by hand from the core's [`LinkResult`]).

use eid_core::linkage::service::{Decided, LinkResult};
use eid_domain::iso;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `matched`, `conflict`, `review` or `unmatched`.
    pub outcome: String,
    /// A unit of the 2024 tree inside the caller's; the caller's own by default.
    pub unit: Option<String>,
    /// 1 to 1000; 100 by default.
    pub limit: Option<u32>,
}

/// A decision. `breakdown` only on the single-result view.
pub fn result_json(r: &LinkResult, breakdown: bool) -> Value {
    let mut v = json!({
        "id": r.id,
        "source": r.source,
        "line": r.line,
        "row_id": r.row_id,
        "outcome": r.outcome.as_str(),
        "method": r.method,
        "personal_id": r.personal_id,
        "alternative_id": r.alternative_id,
        "score": r.score.map(|s| (s * 100.0).round() / 100.0),
        "received_on": iso(r.received_on),
        "attributes": r.attributes,
        "decision": r.decision.as_ref().map(decided_json),
    });
    if breakdown {
        if let Some(o) = v.as_object_mut() {
            o.insert("explanation".into(), r.explanation.clone());
            o.insert("values".into(), r.values.clone());
        }
    }
    v
}

/// An officer's decision.
pub fn decided_json(d: &Decided) -> Value {
    json!({
        "id": d.id,
        "result_id": d.result_id,
        "verdict": d.verdict,
        "personal_id": d.personal_id,
        "reason": d.reason,
        "actor": d.actor,
        "at": crate::wire::rfc3339(d.at),
    })
}

/// An officer's decision on a review or a conflict.
#[derive(Deserialize, ToSchema)]
pub struct DecisionIn {
    /// `same` (the row is the register person `personal_id`) or `different`.
    pub verdict: String,
    /// For `same`: the register person (the result's own by default).
    #[serde(default)]
    pub personal_id: Option<String>,
    /// Why, 1 to 200 characters.
    pub reason: String,
}

/// The query string of the proposal list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    /// `death`, `birth` or `merge`; every kind by default.
    pub kind: Option<String>,
    /// `open` (default), `confirmed`, `dismissed` or `undone`.
    pub state: Option<String>,
    /// A unit of the 2024 tree inside the caller's; the caller's own by default.
    pub unit: Option<String>,
    /// 1 to 1000; 100 by default.
    pub limit: Option<u32>,
}

/// An officer's decision on a proposal.
#[derive(Deserialize, ToSchema)]
pub struct ProposalDecisionIn {
    /// `confirm` (a death or birth changes the register; a merge merges) or `dismiss`.
    pub decision: String,
    /// Why, 1 to 200 characters.
    pub reason: String,
    /// Birth: the personal ID when the row gave none.
    #[serde(default)]
    pub personal_id: Option<String>,
    /// Birth: the hometown (a unit code of the 2024 tree) when the row gave none.
    #[serde(default)]
    pub hometown_unit: Option<String>,
    /// Birth: the residence address when the row gave none.
    #[serde(default)]
    pub residence_address: Option<String>,
    /// Merge: which of the two stays (the proposed survivor by default).
    #[serde(default)]
    pub survivor: Option<String>,
}

/// A reason alone (undoing a merge).
#[derive(Deserialize, ToSchema)]
pub struct ReasonIn {
    /// Why, 1 to 200 characters.
    pub reason: String,
}

/// The thresholds of a dedupe run.
#[derive(Deserialize, ToSchema, Default)]
pub struct DedupeIn {
    /// Match probability at or above which a pair is proposed with confidence (0.9 by default).
    #[serde(default)]
    pub matched: Option<f64>,
    /// Match probability at or above which a pair is proposed at all (0.5 by default).
    #[serde(default)]
    pub review: Option<f64>,
}

/// The query string of the quality views.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityQuery {
    /// A unit of the 2024 tree inside the caller's; the caller's own by default.
    pub unit: Option<String>,
    /// Worklist only: `correct`, `complete`, `clean` or `live`.
    pub criterion: Option<String>,
    /// Worklist only: 1 to 1000; 200 by default.
    pub limit: Option<u32>,
}

/// A proposal.
pub fn proposal_json(p: &eid_core::linkage::proposals::LinkProposal) -> Value {
    json!({
        "id": p.id,
        "kind": p.kind,
        "source": p.source,
        "row_id": p.row_id,
        "result_id": p.result_id,
        "personal_id": p.personal_id,
        "other_id": p.other_id,
        "score": p.score.map(|s| (s * 100.0).round() / 100.0),
        "detail": p.detail,
        "state": p.state,
        "created_at": crate::wire::rfc3339(p.created_at),
        "decided_by": p.decided_by,
        "decided_at": p.decided_at.map(crate::wire::rfc3339),
    })
}

/// A proposal's event.
pub fn event_json(e: &eid_core::linkage::proposals::ProposalEvent) -> Value {
    json!({
        "kind": e.kind,
        "actor": e.actor,
        "reason": e.reason,
        "detail": e.detail,
        "at": crate::wire::rfc3339(e.at),
    })
}

/// A unit's counts with its four scores.
pub fn counts_json(c: &eid_core::linkage::quality::Counts) -> Value {
    let scores: serde_json::Map<String, Value> = eid_core::linkage::quality::CRITERIA
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                (*k).to_owned(),
                json!({
                    "score": c.score(i).map(|s| (s * 10_000.0).round() / 10_000.0),
                    "lowering": c.lowering.get(i),
                }),
            )
        })
        .collect();
    json!({
        "population": c.population,
        "alive": c.alive,
        "confirmed_by_sources": c.confirmed,
        "scores": scores,
    })
}
