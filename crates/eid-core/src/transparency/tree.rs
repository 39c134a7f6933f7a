//! The stored tree of the data-use log: the hash of every complete subtree above the leaves
//! (`transparency_node`, level ≥ 1; level 0 is `data_use.leaf_hash`), filled up to a checkpoint's
//! size in the transaction that signs it ([`fill`]). Proofs against a filled size read only the
//! O(log n) nodes they need ([`inclusion_proof`], [`consistency_proof`], [`root`]); a size the
//! stored tree does not cover yet (a database from before it, until the next checkpoint) falls
//! back to reading the leaves.

use std::collections::HashMap;

use super::merkle::{self, Hash, Nodes, Wanted};
use crate::sql::{Tx, Val};
use crate::StoreError;

/// The size up to which every complete subtree is stored.
pub fn filled(tx: &mut dyn Tx) -> Result<u64, StoreError> {
    let n = tx.int(
        "SELECT filled FROM transparency_nodes_head WHERE id = 1",
        &[],
    )?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt("a negative stored-tree size".into()))
}

fn hash_of(v: Option<&Val>) -> Result<Hash, StoreError> {
    let b = v.cloned().unwrap_or(Val::Null).blob()?;
    <[u8; 32]>::try_from(b.as_slice())
        .map_err(|_| StoreError::Corrupt("a tree hash is not 32 bytes".into()))
}

fn int_of(v: Option<&Val>) -> Result<u64, StoreError> {
    let n = v.cloned().unwrap_or(Val::Null).int()?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt("a negative tree index".into()))
}

/// Reads the nodes `wanted` names (leaves from `data_use`, the rest from `transparency_node`),
/// in one query each; a node not stored is an error.
fn fetch(tx: &mut dyn Tx, wanted: &Wanted) -> Result<HashMap<(u32, u64), Hash>, StoreError> {
    let mut out = HashMap::with_capacity(wanted.0.len());
    let leaves: Vec<u64> = wanted
        .0
        .iter()
        .filter(|(l, _)| *l == 0)
        .map(|(_, i)| *i)
        .collect();
    for chunk in leaves.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let args: Vec<Val> = chunk.iter().map(|&i| (i as i64).into()).collect();
        let rows = tx.query(
            &format!(
                "SELECT seq, leaf_hash FROM data_use WHERE seq IN ({})",
                marks.join(", ")
            ),
            &args,
        )?;
        for r in &rows {
            out.insert((0, int_of(r.first())?), hash_of(r.get(1))?);
        }
    }
    let inner: Vec<(u32, u64)> = wanted.0.iter().filter(|(l, _)| *l > 0).copied().collect();
    for chunk in inner.chunks(100) {
        let conds: Vec<String> = (0..chunk.len())
            .map(|i| format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let args: Vec<Val> = chunk
            .iter()
            .flat_map(|&(l, i)| [i64::from(l).into(), (i as i64).into()])
            .collect();
        let rows = tx.query(
            &format!(
                "SELECT level, idx, hash FROM transparency_node WHERE {}",
                conds.join(" OR ")
            ),
            &args,
        )?;
        for r in &rows {
            let level = u32::try_from(int_of(r.first())?)
                .map_err(|_| StoreError::Corrupt("a tree level out of range".into()))?;
            out.insert((level, int_of(r.get(1))?), hash_of(r.get(2))?);
        }
    }
    if out.len() != wanted.0.len() {
        return Err(StoreError::Corrupt(
            "the stored tree lacks a node it should hold".into(),
        ));
    }
    Ok(out)
}

/// Runs `f` over the stored nodes it needs: once to learn which, then on them as read.
fn with_nodes<T>(
    tx: &mut dyn Tx,
    f: impl Fn(&mut dyn Nodes) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    let mut wanted = Wanted::default();
    if f(&mut wanted).is_none() {
        return Ok(None);
    }
    let mut nodes = fetch(tx, &wanted)?;
    Ok(f(&mut nodes))
}

/// The leaf hashes of the first `size` leaves when the stored tree does not cover `size`.
fn leaves_if_unfilled(tx: &mut dyn Tx, size: u64) -> Result<Option<Vec<Hash>>, StoreError> {
    if size <= filled(tx)? {
        return Ok(None);
    }
    let leaves = super::leaf_hashes(tx, size)?;
    if (leaves.len() as u64) < size {
        return Err(StoreError::Corrupt(
            "the log holds fewer entries than the tree's size".into(),
        ));
    }
    Ok(Some(leaves))
}

/// The audit path of leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof(
    tx: &mut dyn Tx,
    index: u64,
    size: u64,
) -> Result<Option<Vec<Hash>>, StoreError> {
    if let Some(leaves) = leaves_if_unfilled(tx, size)? {
        return Ok(usize::try_from(index)
            .ok()
            .and_then(|i| merkle::inclusion_proof(i, &leaves)));
    }
    with_nodes(tx, |n| merkle::inclusion_proof_from(index, size, n))
}

/// The consistency proof from the first `old` leaves to the first `size`.
pub fn consistency_proof(
    tx: &mut dyn Tx,
    old: u64,
    size: u64,
) -> Result<Option<Vec<Hash>>, StoreError> {
    if let Some(leaves) = leaves_if_unfilled(tx, size)? {
        return Ok(usize::try_from(old)
            .ok()
            .and_then(|o| merkle::consistency_proof(o, &leaves)));
    }
    with_nodes(tx, |n| merkle::consistency_proof_from(old, size, n))
}

/// The root of the tree of the first `size` leaves.
pub fn root(tx: &mut dyn Tx, size: u64) -> Result<Hash, StoreError> {
    if let Some(leaves) = leaves_if_unfilled(tx, size)? {
        return Ok(merkle::root(&leaves));
    }
    Ok(with_nodes(tx, |n| Some(merkle::range_root(0, size, n)))?
        .unwrap_or_else(|| merkle::root(&[])))
}

/// Stores every complete subtree of the first `size` leaves not stored yet, and moves the
/// filled mark to `size`: reads the new leaves and at most one older node per level.
pub fn fill(tx: &mut dyn Tx, size: u64) -> Result<(), StoreError> {
    let p = filled(tx)?;
    if size <= p {
        return Ok(());
    }
    // Level 0 from the first leaf of the pair that holds leaf p.
    let mut start = p & !1;
    let rows = tx.query(
        "SELECT seq, leaf_hash FROM data_use WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        &[(start as i64).into(), (size as i64).into()],
    )?;
    let mut cur = Vec::with_capacity(rows.len());
    for (k, r) in rows.iter().enumerate() {
        if int_of(r.first())? != start + k as u64 {
            return Err(StoreError::Corrupt(
                "the log has a gap in its leaves".into(),
            ));
        }
        cur.push(hash_of(r.get(1))?);
    }
    if start + cur.len() as u64 != size {
        return Err(StoreError::Corrupt(
            "the log holds fewer entries than the tree's size".into(),
        ));
    }
    let mut level: u32 = 0;
    loop {
        // `cur` is level `level` from index `start` (even); its pairs are the new nodes above.
        let next: Vec<Hash> = cur
            .chunks_exact(2)
            .map(|p| merkle::node_hash(&p[0], &p[1]))
            .collect();
        if next.is_empty() {
            break;
        }
        level += 1;
        let nstart = start / 2;
        for (k, h) in next.iter().enumerate() {
            tx.exec(
                "INSERT INTO transparency_node (level, idx, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (level, idx) DO NOTHING",
                &[
                    i64::from(level).into(),
                    ((nstart + k as u64) as i64).into(),
                    h.to_vec().into(),
                ],
            )?;
        }
        if nstart % 2 == 1 {
            // The left sibling of the first new node is older: stored already.
            let mut w = Wanted::default();
            w.0.insert((level, nstart - 1));
            let old = fetch(tx, &w)?;
            let mut with = Vec::with_capacity(next.len() + 1);
            with.push(old.get(&(level, nstart - 1)).copied().unwrap_or([0; 32]));
            with.extend(next);
            cur = with;
            start = nstart - 1;
        } else {
            cur = next;
            start = nstart;
        }
    }
    tx.exec(
        "UPDATE transparency_nodes_head SET filled = $1 WHERE id = 1 AND filled < $1",
        &[(size as i64).into()],
    )?;
    Ok(())
}

/// Every stored node, by level then index (verification).
pub fn all_nodes(tx: &mut dyn Tx) -> Result<Vec<(u32, u64, Hash)>, StoreError> {
    let rows = tx.query(
        "SELECT level, idx, hash FROM transparency_node ORDER BY level, idx",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let level = u32::try_from(int_of(r.first())?)
                .map_err(|_| StoreError::Corrupt("a tree level out of range".into()))?;
            Ok((level, int_of(r.get(1))?, hash_of(r.get(2))?))
        })
        .collect()
}
