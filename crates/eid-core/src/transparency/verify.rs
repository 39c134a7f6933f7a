//! `eid audit verify`: the stored entries against their leaf hashes and the tree, every
//! checkpoint's root and signature, and consistency between successive checkpoints.

use super::checkpoint::{self, Checkpoint};
use super::merkle::{self, Hash};
use super::tree;
use crate::sql;
use crate::{Error, Store, StoreError};

/// What a verification found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub entries: u64,
    pub checkpoints: u64,
    /// Each problem in words, naming the entry or checkpoint; empty when the log is sound.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What the per-person copy of the log (`data_use_by_person`, filled by
/// [`super::index_tail`]) holds against what it should: a citizen's page reads their entries
/// through it, so a row deleted or changed there would hide an entry from them while the log
/// itself still verifies.
struct CopyCounts {
    /// Rows in the copy.
    rows: i64,
    /// Entries copied so far (`transparency_head.indexed`): leaves 0 to this, each once.
    indexed: i64,
    /// Rows naming no entry of that person, or an entry not copied yet.
    stray: i64,
}

impl CopyCounts {
    fn read(tx: &mut dyn sql::Tx) -> Result<CopyCounts, StoreError> {
        Ok(CopyCounts {
            rows: tx.int("SELECT count(*) FROM data_use_by_person", &[])?,
            indexed: tx.int("SELECT indexed FROM transparency_head WHERE id = 1", &[])?,
            stray: tx.int(
                "SELECT count(*) FROM data_use_by_person b \
                 WHERE b.seq >= (SELECT indexed FROM transparency_head WHERE id = 1) \
                 OR NOT EXISTS (SELECT 1 FROM data_use d \
                 WHERE d.seq = b.seq AND d.personal_id = b.personal_id)",
                &[],
            )?,
        })
    }

    /// With no stray row, the rows name distinct entries below `indexed` (two rows of one
    /// entry would name two persons, and one of them is stray); so `indexed` of them is each
    /// copied entry once.
    fn check(&self, problems: &mut Vec<String>) {
        if self.stray > 0 {
            problems.push(format!(
                "the per-person copy has {} rows that name no such entry of that person",
                self.stray
            ));
        }
        if self.rows - self.stray != self.indexed {
            problems.push(format!(
                "the per-person copy should hold entries 0 to {} once each and holds {} of them \
                 (a person's entry is hidden from their page)",
                self.indexed,
                self.rows - self.stray
            ));
        }
    }
}

/// Verifies the whole log.
pub fn verify(store: &dyn Store) -> Result<Report, Error> {
    let (entries, head, nodes, filled, copy) = sql::read(store.db(), |tx| {
        let head = tx.int("SELECT size FROM transparency_head WHERE id = 1", &[])?;
        let entries = super::all_entries(tx)?;
        let nodes = tree::all_nodes(tx)?;
        let filled = tree::filled(tx)?;
        let copy = CopyCounts::read(tx)?;
        Ok::<_, StoreError>((entries, head, nodes, filled, copy))
    })?;
    let mut report = Report {
        entries: entries.len() as u64,
        ..Report::default()
    };
    // Leaf hashes recomputed from each entry's columns: what the tree must be built from.
    let mut leaves: Vec<Hash> = Vec::with_capacity(entries.len());
    for (i, (entry, stored)) in entries.iter().enumerate() {
        if entry.seq != i as u64 {
            report.problems.push(format!(
                "entry {}: found where entry {i} belongs (an entry is missing or was added)",
                entry.seq
            ));
        }
        let leaf = entry.leaf_hash();
        if stored.as_slice() != leaf.as_slice() {
            report.problems.push(format!(
                "entry {}: its content does not match its leaf hash (altered)",
                entry.seq
            ));
        }
        leaves.push(leaf);
    }
    if head != entries.len() as i64 {
        report.problems.push(format!(
            "the log's head says {head} entries and {} are stored",
            entries.len()
        ));
    }
    check_nodes(&leaves, &nodes, filled, &mut report.problems);
    copy.check(&mut report.problems);
    let checkpoints = checkpoint::all(store)?;
    report.checkpoints = checkpoints.len() as u64;
    let mut previous: Option<&Checkpoint> = None;
    for cp in &checkpoints {
        let n = cp.size as usize;
        match leaves.get(..n) {
            None => report.problems.push(format!(
                "checkpoint {}: covers more entries than are stored",
                cp.size
            )),
            Some(prefix) => {
                if merkle::root(prefix) != cp.root {
                    let first_bad = first_changed(&entries, n);
                    report.problems.push(match first_bad {
                        Some(seq) => format!(
                            "checkpoint {}: the stored entries give another root (entry {seq} altered)",
                            cp.size
                        ),
                        None => format!(
                            "checkpoint {}: the stored entries give another root",
                            cp.size
                        ),
                    });
                }
            }
        }
        match checkpoint::public_jwk(store, &cp.kid)? {
            Some(jwk) if checkpoint::signature_valid(cp, &jwk) => {}
            Some(_) => report.problems.push(format!(
                "checkpoint {}: its signature does not verify",
                cp.size
            )),
            None => report.problems.push(format!(
                "checkpoint {}: its signing key {} is unknown",
                cp.size, cp.kid
            )),
        }
        if let Some(prev) = previous {
            let consistent = leaves
                .get(..n)
                .and_then(|l| merkle::consistency_proof(prev.size as usize, l))
                .is_some_and(|proof| {
                    merkle::verify_consistency(prev.size, cp.size, &prev.root, &cp.root, &proof)
                });
            if !consistent {
                report.problems.push(format!(
                    "checkpoints {} and {}: the later one does not extend the earlier one",
                    prev.size, cp.size
                ));
            }
        }
        previous = Some(cp);
    }
    Ok(report)
}

/// The first entry below `n` whose stored leaf hash differs from its recomputed one.
fn first_changed(entries: &[(super::Entry, Vec<u8>)], n: usize) -> Option<u64> {
    entries
        .iter()
        .take(n)
        .find(|(e, stored)| stored.as_slice() != e.leaf_hash().as_slice())
        .map(|(e, _)| e.seq)
}

/// The stored tree (what proofs are built from) against the tree recomputed from the entries:
/// every stored node must be the complete subtree the entries give, and every complete subtree
/// up to the filled size must be stored.
fn check_nodes(
    leaves: &[Hash],
    nodes: &[(u32, u64, Hash)],
    filled: u64,
    problems: &mut Vec<String>,
) {
    let levels = merkle::complete_levels(leaves);
    let mut stored = 0usize;
    for &(level, idx, hash) in nodes {
        let expected = usize::try_from(idx)
            .ok()
            .and_then(|i| levels.get((level as usize).checked_sub(1)?)?.get(i));
        match expected {
            Some(e) if *e == hash => stored += 1,
            Some(_) => problems.push(format!(
                "tree node {level}/{idx} (entries {} to {}): does not match the entries",
                idx << level,
                ((idx + 1) << level) - 1
            )),
            None => problems.push(format!(
                "tree node {level}/{idx}: covers entries that are not stored"
            )),
        }
    }
    if filled > leaves.len() as u64 {
        problems.push(format!(
            "the stored tree says {filled} entries and {} are stored",
            leaves.len()
        ));
        return;
    }
    let due: u64 = (1..64u32).map(|l| filled >> l).take_while(|&n| n > 0).sum();
    if (stored as u64) < due {
        problems.push(format!(
            "the stored tree lacks {} of its {due} nodes",
            due - stored as u64
        ));
    }
}
