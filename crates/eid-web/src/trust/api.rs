//! The log's public face: the newest signed checkpoint as a signed note (`text/plain`), every
//! checkpoint as JSON, an entry's inclusion proof and a consistency proof between two
//! checkpoints (hashes only: nothing personal).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use eid_core::transparency::checkpoint::{self, Checkpoint};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::state::AppState;

fn cp_json(c: &Checkpoint) -> Value {
    json!({
        "size": c.size,
        "root": B64.encode(c.root),
        "kid": c.kid,
        "signed_at": c.signed_at.unix_timestamp(),
        "note": c.note,
    })
}

/// `GET /transparency/checkpoint`: the newest signed note.
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    super::refresh_checkpoint(&state, None).await?;
    let cp = state
        .read(|store| Ok(checkpoint::latest(store)?))
        .await?
        .ok_or_else(|| AppError::not_found("transparency.empty", "no checkpoint yet"))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        cp.note,
    )
        .into_response())
}

/// `GET /transparency/checkpoints`: every checkpoint, smallest first.
pub async fn checkpoints(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let all = state.read(|store| Ok(checkpoint::all(store)?)).await?;
    Ok(Json(json!({
        "origin": checkpoint::ORIGIN,
        "checkpoints": all.iter().map(cp_json).collect::<Vec<_>>(),
    })))
}

/// `GET /transparency/proof/{seq}`: the entry's leaf hash and inclusion proof against the
/// newest checkpoint.
pub async fn proof(
    State(state): State<AppState>,
    Path(seq): Path<u64>,
) -> Result<Json<Value>, AppError> {
    let found = state
        .read(move |store| Ok(checkpoint::inclusions(store, &[seq])?))
        .await?;
    let inc = found.into_iter().flatten().next().ok_or_else(|| {
        AppError::not_found("transparency.not_included", "not in a checkpoint yet")
    })?;
    Ok(Json(json!({
        "leaf_index": inc.seq,
        "leaf_hash": B64.encode(inc.leaf),
        "tree_size": inc.checkpoint.size,
        "root": B64.encode(inc.checkpoint.root),
        "proof": inc.proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        "verified": inc.verifies(),
    })))
}

/// `GET /transparency/consistency?old=N&new=M`.
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let num = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| AppError::bad("transparency.size", "old and new are tree sizes"))
    };
    let (old, new) = (num("old")?, num("new")?);
    let proof = state
        .read(move |store| Ok(checkpoint::consistency(store, old, new)?))
        .await?
        .ok_or_else(|| AppError::not_found("transparency.no_proof", "no such pair of sizes"))?;
    Ok(Json(json!({
        "old": old,
        "new": new,
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    })))
}
