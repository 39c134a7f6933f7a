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
