//! The register against itself: pairs of persons the matcher takes for one person entered
//! twice, with the same blocking and the same Fellegi–Sunter scoring as sector rows.
//!
//! Every register record has its own personal ID, so the ID never agrees between two records
//! and is left out of the comparison (its first digits still serve as a blocking key). m and
//! the match share are estimated by EM over the candidate pairs (each pair once, a record
//! never with itself); u from random pairs of distinct records; the prior is the expected
//! number of duplicates per record over the register's size, as for sector rows. With too
//! few candidate pairs for EM to say anything, m stays at its starting point.

use std::collections::HashMap;

use super::compare::{self, compare, Field, Gamma};
use super::model::Model;
use super::{odds, Linker, Thresholds};

/// Fewer candidate pairs than this, and EM is not run.
const MIN_PAIRS: u64 = 500;

/// How many random pairs estimate u.
const RANDOM_PAIRS: usize = 200_000;

/// A pair of register records that may be one person: indexes `a < b` and the pair's weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Duplicate {
    pub a: u32,
    pub b: u32,
    pub score: f64,
}

fn without_id(mut g: Gamma) -> Gamma {
    g[Field::Id.index()] = 0;
    g
}

impl Linker {
    /// Estimates the dedupe model over up to `sample` records (spread evenly).
    pub fn train_dedupe(&self, sample: usize) -> Model {
        let n = self.register.len();
        let step = (n / sample.max(1)).max(1);
        let mut patterns: HashMap<u32, u64> = HashMap::new();
        let (mut pairs, mut sampled) = (0u64, 0u64);
        let mut cands = Vec::new();
        for (i, r) in self.register.iter().enumerate().step_by(step) {
            sampled += 1;
            self.index.candidates(r, &mut cands);
            for &c in cands.iter().filter(|&&c| c as usize > i) {
                if let Some(o) = self.register.get(c as usize) {
                    *patterns
                        .entry(compare::pack(&without_id(compare(r, o))))
                        .or_default() += 1;
                    pairs += 1;
                }
            }
        }
        let mut model = if pairs >= MIN_PAIRS {
            Model::estimate(&patterns, 100)
        } else {
            Model::estimate(&HashMap::new(), 0)
        };
        // Duplicates per record, from EM's share of matches among the candidate pairs; a
        // register is mostly clean, so at most one record in a hundred.
        let per_record = if pairs >= MIN_PAIRS {
            (model.lambda * pairs as f64 / sampled.max(1) as f64).min(0.01)
        } else {
            0.001
        };
        let n64 = n as u64;
        if n64 > 1 {
            let mut random: HashMap<u32, u64> = HashMap::new();
            let mut state = 0x2545_F491_4F6C_DD1Du64;
            let mut next = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                state >> 33
            };
            for _ in 0..RANDOM_PAIRS {
                let (a, b) = (next() % n64, next() % n64);
                if a == b {
                    continue;
                }
                if let (Some(x), Some(y)) =
                    (self.register.get(a as usize), self.register.get(b as usize))
                {
                    *random
                        .entry(compare::pack(&without_id(compare(x, y))))
                        .or_default() += 1;
                }
            }
            model.set_u(&random);
            model.lambda = (per_record / n as f64).clamp(1e-12, 0.5);
        }
        model
    }

    /// The pairs scoring at or above the review threshold, each once (`a < b`), by `a` then `b`,
    /// on `threads` threads.
    pub fn duplicates(&self, model: &Model, t: &Thresholds, threads: usize) -> Vec<Duplicate> {
        let lower = odds(t.review);
        let n = self.register.len();
        let chunk = n.div_ceil(threads.max(1)).max(1);
        let starts: Vec<usize> = (0..n).step_by(chunk).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = starts
                .iter()
                .map(|&start| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        let mut cands = Vec::new();
                        let end = (start + chunk).min(n);
                        for i in start..end {
                            let Some(r) = self.register.get(i) else { break };
                            self.index.candidates(r, &mut cands);
                            for &c in cands.iter().filter(|&&c| c as usize > i) {
                                let Some(o) = self.register.get(c as usize) else {
                                    continue;
                                };
                                let score = self.score(model, o, &without_id(compare(r, o)));
                                if score >= lower {
                                    out.push(Duplicate {
                                        a: i as u32,
                                        b: c,
                                        score,
                                    });
                                }
                            }
                        }
                        out
                    })
                })
                .collect();
            // A worker cannot panic (no indexing, no unwrap); if one did, its pairs are lost
            // for this run rather than bringing it down.
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// The explanation of a pair of register records, the ID left out.
    pub fn explain_pair(&self, model: &Model, a: u32, b: u32) -> Option<super::Explanation> {
        let mut row = self.register.get(a as usize)?.clone();
        row.id = None;
        self.explain(model, &row, b)
    }
}
