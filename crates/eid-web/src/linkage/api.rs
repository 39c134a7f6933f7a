//! The linkage handlers.

use axum::extract::{Path, Query, State};
use axum::Json;
use eid_core::Acting;
use serde_json::{json, Value};

use super::wire::{
    counts_json, event_json, proposal_json, result_json, DecisionIn, DedupeIn, ProposalDecisionIn,
    ProposalsQuery, QualityQuery, ReasonIn, ResultsQuery,
};
use crate::auth::ApiCaller;
use crate::error::{request_id, AppError};
use crate::json::JsonBody;
use crate::openapi::Errors;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/linkage/results",
    tag = "linkage",
    summary = "Decisions on sector rows of one outcome within a unit of the caller's scope, newest first (audited).",
    params(ResultsQuery),
    responses(
        (status = 200, description = "`{outcome, results: [{id, source, line, row_id, outcome, method, personal_id, alternative_id, score, received_on, attributes}]}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn results(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ResultsQuery>,
) -> Result<Json<Value>, AppError> {
    let outcome = q.outcome.clone();
    let acting = Acting::new(caller, request_id(), state.now());
    let rows = state
        .blocking(move |store| {
            eid_core::linkage::service::results(
                store,
                &acting,
                &q.outcome,
                q.unit.as_deref(),
                q.limit.unwrap_or(100),
            )
            .map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "outcome": outcome,
        "results": rows.iter().map(|r| result_json(r, false)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/results/{id}",
    tag = "linkage",
    summary = "One decision with its breakdown: per field the comparison level, its weight (log2 m/u) and term-frequency adjustment, the prior and the total (audited).",
    params(("id" = i64, Path, description = "The result's id.")),
    responses(
        (status = 200, description = "The decision and `explanation: {method, fields: [{field, level, weight, adjustment}], prior, total, probability, alternative}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn result(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("link.not_found", "no such result"))?;
    let acting = Acting::new(caller, request_id(), state.now());
    let r = state
        .blocking(move |store| {
            eid_core::linkage::service::result(store, &acting, id).map_err(Into::into)
        })
        .await?;
    Ok(Json(result_json(&r, true)))
}

/// The verdict of a decision as the core takes it; `same` with no person names the result's own.
pub(crate) fn verdict(
    verdict: &str,
    personal_id: Option<&str>,
) -> Result<eid_core::linkage::decide::Verdict, AppError> {
    use eid_core::linkage::decide::Verdict;
    match verdict {
        "different" => Ok(Verdict::Different),
        "same" => match personal_id.map(str::trim).filter(|p| !p.is_empty()) {
            None => Ok(Verdict::Proposed),
            Some(p) => eid_domain::PersonalId::parse(p)
                .map(Verdict::Same)
                .map_err(|_| AppError::BadRequest {
                    code: "person.bad_id",
                    message: "a personal ID is 12 digits".into(),
                }),
        },
        _ => Err(AppError::BadRequest {
            code: "link.bad_verdict",
            message: "verdict is same or different".into(),
        }),
    }
}

/// Runs a decision.
pub(crate) async fn run_decision(
    state: &AppState,
    acting: Acting,
    id: i64,
    verdict: eid_core::linkage::decide::Verdict,
    reason: String,
) -> Result<eid_core::linkage::service::LinkResult, AppError> {
    state
        .blocking(move |store| {
            eid_core::linkage::decide::decide(store, &acting, id, &verdict, &reason)
                .map_err(Into::into)
        })
        .await
}

#[utoipa::path(
    post,
    path = "/api/v1/linkage/results/{id}/decision",
    tag = "linkage",
    summary = "Decides a review or a conflict: `same` (linked to a register person in the caller's units; the proposed one by default) or `different`, with a reason. Reused when the same row comes again from the same source (audited).",
    params(("id" = i64, Path, description = "The result's id.")),
    request_body = DecisionIn,
    responses(
        (status = 200, description = "The result as it stands after the decision, with `decision: {id, result_id, verdict, personal_id, reason, actor, at}`.", body = Object),
        (status = 409, description = "`link.already_decided`: decided already, or by someone else at the same moment.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn decision(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionIn>,
) -> Result<Json<Value>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("link.not_found", "no such result"))?;
    let v = verdict(&body.verdict, body.personal_id.as_deref())?;
    let acting = Acting::new(caller, request_id(), state.now());
    let r = run_decision(&state, acting, id, v, body.reason).await?;
    Ok(Json(result_json(&r, true)))
}

fn parse_proposal_id(id: &str) -> Result<i64, AppError> {
    id.parse()
        .map_err(|_| AppError::not_found("link.proposal_not_found", "no such proposal"))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/proposals",
    tag = "linkage",
    summary = "Proposed register changes within a unit of the caller's scope, newest first: deaths and births from the civil registry, merges of suspected duplicates (audited).",
    params(ProposalsQuery),
    responses(
        (status = 200, description = "`{proposals: [{id, kind, source, row_id, result_id, personal_id, other_id, score, detail, state, created_at, decided_by, decided_at}]}`; a birth's `detail.gaps` lists the fields the registry lacked.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn proposals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<ProposalsQuery>,
) -> Result<Json<Value>, AppError> {
    let acting = Acting::new(caller, request_id(), state.now());
    let rows = state
        .blocking(move |store| {
            eid_core::linkage::proposals::list(
                store,
                &acting,
                q.kind.as_deref().unwrap_or(""),
                q.state.as_deref().unwrap_or(""),
                q.unit.as_deref(),
                q.limit.unwrap_or(100),
            )
            .map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "proposals": rows.iter().map(proposal_json).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/proposals/{id}",
    tag = "linkage",
    summary = "One proposal with its events (confirmed, dismissed, merged, undone) (audited).",
    params(("id" = i64, Path, description = "The proposal's id.")),
    responses(
        (status = 200, description = "The proposal and `events: [{kind, actor, reason, detail, at}]`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn proposal(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = parse_proposal_id(&id)?;
    let acting = Acting::new(caller, request_id(), state.now());
    let (p, events) = state
        .blocking(move |store| {
            eid_core::linkage::proposals::proposal(store, &acting, id).map_err(Into::into)
        })
        .await?;
    let mut v = proposal_json(&p);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "events".into(),
            events.iter().map(event_json).collect::<Vec<_>>().into(),
        );
    }
    Ok(Json(v))
}

/// Runs an officer's decision on a proposal: confirm (a merge for a merge proposal) or dismiss.
pub(crate) async fn run_proposal_decision(
    state: &AppState,
    acting: Acting,
    id: i64,
    body: ProposalDecisionIn,
) -> Result<eid_core::linkage::proposals::LinkProposal, AppError> {
    use eid_core::linkage::proposals::{BirthInput, ProposalDecision};
    let decision = match body.decision.as_str() {
        "confirm" => ProposalDecision::Confirm(BirthInput {
            personal_id: body.personal_id,
            hometown_unit: body.hometown_unit,
            residence_address: body.residence_address,
        }),
        "dismiss" => ProposalDecision::Dismiss,
        _ => {
            return Err(AppError::BadRequest {
                code: "link.bad_decision",
                message: "decision is confirm or dismiss".into(),
            })
        }
    };
    let (reason, survivor) = (body.reason, body.survivor);
    state
        .blocking(move |store| {
            eid_core::linkage::proposals::decide_any(
                store,
                &acting,
                id,
                &decision,
                survivor.as_deref(),
                &reason,
            )
            .map_err(Into::into)
        })
        .await
}

#[utoipa::path(
    post,
    path = "/api/v1/linkage/proposals/{id}/decision",
    tag = "linkage",
    summary = "Confirms or dismisses a proposal: a death sets the person dead through the register's events and locks their account; a birth creates the person (the officer fills in the gaps they can); a merge marks the duplicate merged into the survivor (audited).",
    params(("id" = i64, Path, description = "The proposal's id.")),
    request_body = ProposalDecisionIn,
    responses(
        (status = 200, description = "The proposal as it stands after the decision.", body = Object),
        (status = 409, description = "`link.proposal_decided`: decided already; `person.exists`: the birth's personal ID is taken; `link.already_merged`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn proposal_decision(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ProposalDecisionIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_proposal_id(&id)?;
    let acting = Acting::new(caller, request_id(), state.now());
    let p = run_proposal_decision(&state, acting, id, body).await?;
    Ok(Json(proposal_json(&p)))
}

#[utoipa::path(
    post,
    path = "/api/v1/linkage/proposals/{id}/undo",
    tag = "linkage",
    summary = "Undoes a merge: both persons stand again, the duplicate's account lock set by the merge is lifted (audited).",
    params(("id" = i64, Path, description = "The merge proposal's id.")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "The proposal, now `undone`.", body = Object),
        (status = 409, description = "`link.proposal_decided`: not a merge in force.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn proposal_undo(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_proposal_id(&id)?;
    let acting = Acting::new(caller, request_id(), state.now());
    let p = state
        .blocking(move |store| {
            eid_core::linkage::dedupe::undo(store, &acting, id, &body.reason).map_err(Into::into)
        })
        .await?;
    Ok(Json(proposal_json(&p)))
}

/// The thresholds of a run, checked.
pub(crate) fn thresholds(
    matched: Option<f64>,
    review: Option<f64>,
) -> Result<eid_core::linkage::Thresholds, AppError> {
    let d = eid_core::linkage::Thresholds::default();
    let t = eid_core::linkage::Thresholds {
        matched: matched.unwrap_or(d.matched),
        review: review.unwrap_or(d.review),
    };
    if !(0.0 < t.review && t.review <= t.matched && t.matched < 1.0) {
        return Err(AppError::BadRequest {
            code: "link.bad_thresholds",
            message: "0 < review ≤ matched < 1".into(),
        });
    }
    Ok(t)
}

#[utoipa::path(
    post,
    path = "/api/v1/linkage/dedupe",
    tag = "linkage",
    summary = "Runs the register against itself (national staff): a merge proposal for every pair of persons the matcher takes for one, and the quality roll-ups refreshed (audited).",
    request_body = DedupeIn,
    responses(
        (status = 200, description = "`{persons, pairs, proposed, incomplete}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn dedupe(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<DedupeIn>,
) -> Result<Json<Value>, AppError> {
    let t = thresholds(body.matched, body.review)?;
    let acting = Acting::new(caller, request_id(), state.now());
    let s = state
        .blocking(move |store| {
            eid_core::linkage::dedupe::run_as(store, &acting, &t).map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "persons": s.persons,
        "pairs": s.pairs,
        "proposed": s.proposed,
        "incomplete": s.incomplete,
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/quality",
    tag = "linkage",
    summary = "Data quality of a unit and of each unit under it — correct, complete, clean, live — each a share of the population with the number of persons lowering it (audited).",
    params(QualityQuery),
    responses(
        (status = 200, description = "`{unit, computed_at, total: {population, alive, confirmed_by_sources, scores: {correct|complete|clean|live: {score, lowering}}}, children: [{unit, name, …}], method}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn quality(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, AppError> {
    let acting = Acting::new(caller, request_id(), state.now());
    let qy = state
        .blocking(move |store| {
            eid_core::linkage::quality::scores(store, &acting, q.unit.as_deref())
                .map_err(Into::into)
        })
        .await?;
    let units = eid_domain::Units::get();
    let name = |c: &eid_domain::UnitCode| {
        units
            .unit(eid_domain::Tree::Gso2024, c)
            .map(|u| u.name.clone())
    };
    Ok(Json(json!({
        "unit": qy.unit.as_str(),
        "name": name(&qy.unit),
        "computed_at": qy.computed_at.map(crate::wire::rfc3339),
        "total": counts_json(&qy.total),
        "children": qy.children.iter().map(|(c, n)| {
            let mut v = counts_json(n);
            if let Some(o) = v.as_object_mut() {
                o.insert("unit".into(), c.as_str().into());
                o.insert("name".into(), name(c).into());
            }
            v
        }).collect::<Vec<_>>(),
        "method": {
            "correct": "1 − persons with an undecided conflict (a sector row carries their personal ID but disagrees on name, date of birth or sex) / population",
            "complete": "1 − persons missing the hometown, a full date of birth or the residence address / population",
            "clean": "1 − persons in an open merge proposal or named by a sector row awaiting review / population",
            "live": "1 − persons counted as living whom a civil-registry death row names (open death proposal) / population",
        },
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/quality/worklist",
    tag = "linkage",
    summary = "The persons lowering one criterion in a unit, with why and the result or proposal to open (audited).",
    params(QualityQuery),
    responses(
        (status = 200, description = "`{criterion, items: [{personal_id, why, result_id, proposal_id}]}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn worklist(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, AppError> {
    let criterion = q.criterion.clone().unwrap_or_default();
    let acting = Acting::new(caller, request_id(), state.now());
    let c = criterion.clone();
    let items = state
        .blocking(move |store| {
            eid_core::linkage::quality::worklist(
                store,
                &acting,
                &c,
                q.unit.as_deref(),
                q.limit.unwrap_or(200),
            )
            .map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "criterion": criterion,
        "items": items.iter().map(|i| json!({
            "personal_id": i.personal_id,
            "why": i.why,
            "result_id": i.result_id,
            "proposal_id": i.proposal_id,
        })).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/linkage/persons/{personal_id}/findings",
    tag = "linkage",
    summary = "What linkage knows about one person: sector rows naming them, the sources that confirmed them, proposals, missing fields, merges (audited).",
    params(("personal_id" = String, Path, description = "The 12-digit personal ID.")),
    responses(
        (status = 200, description = "`{results, verified: [{source, on}], proposals, gaps, merged_into, merged_from}`.", body = Object),
        Errors,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn findings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pid): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = eid_domain::PersonalId::parse(&pid)
        .map_err(|_| AppError::not_found("person.not_found", "no person has this personal ID"))?;
    let acting = Acting::new(caller, request_id(), state.now());
    let f = state
        .blocking(move |store| {
            eid_core::linkage::quality::findings(store, &acting, &id).map_err(Into::into)
        })
        .await?;
    Ok(Json(json!({
        "results": f.results.iter().map(|r| result_json(r, false)).collect::<Vec<_>>(),
        "verified": f.verified.iter().map(|(s, d)| json!({"source": s, "on": eid_domain::iso(*d)})).collect::<Vec<_>>(),
        "proposals": f.proposals.iter().map(proposal_json).collect::<Vec<_>>(),
        "gaps": f.gaps,
        "merged_into": f.merged_into.as_ref().map(|(s, p)| json!({"survivor": s, "proposal_id": p})),
        "merged_from": f.merged_from.iter().map(|(d, p)| json!({"duplicate": d, "proposal_id": p})).collect::<Vec<_>>(),
    })))
}
