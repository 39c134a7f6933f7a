//! Blocking: which register records a sector row is compared with at all.
//!
//! Several rules, unioned; each turns a record into at most one key, and two records are
//! candidates when they share a key under some rule. The rules are chosen for Vietnamese
//! registers, where a surname alone says little (Nguyễn is ~38 %) and sector records lose
//! diacritics, swap name parts, swap day and month and give a year alone:
//! - full birth date + folded surname;
//! - full birth date with day and month in either order + folded given name;
//! - birth year + province (2025 tree, so both trees meet) + folded given name;
//! - birth year + province + folded surname and given name in either order;
//! - the first six digits of the personal ID (province, century and sex, year) + folded given
//!   name;
//! - full birth date + province (2025 tree): every name may be mangled, few share both;
//! - birth year + province + folded surname and middle name (a typo in the given name, a year
//!   alone).
//!
//! Every rule but the first two and the ID prefix keeps the province: nationwide, a birth year
//! with a common surname and given name (Nguyễn Văn Anh) is a block of hundreds at 1,000,000
//! persons, which is where the time went.

use std::hash::{Hash, Hasher};

use super::record::Record;

/// The rules, by name, in the order their keys are computed.
pub const RULES: [&str; 7] = [
    "birth_date+surname",
    "birth_day_month_any_order+given",
    "birth_year+province+given",
    "birth_year+province+names_any_order",
    "id_prefix+given",
    "birth_date+province",
    "birth_year+province+surname+middle",
];

/// A block larger than this is skipped for the rule (it would say nothing and cost much).
const MAX_BLOCK: usize = 200;

fn key(rule: u8, nums: &[i64], texts: &[&str]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rule.hash(&mut h);
    nums.hash(&mut h);
    texts.hash(&mut h);
    h.finish()
}

/// The keys of a record under every rule that applies to it, with the rule's number.
pub fn keys(r: &Record) -> Vec<(u8, u64)> {
    let mut out = Vec::with_capacity(RULES.len());
    let (s, g) = (r.surname.folded.as_str(), r.given.folded.as_str());
    if let Some(b) = r.birth {
        let y = i64::from(b.year);
        if b.is_full() {
            let (m, d) = (i64::from(b.month), i64::from(b.day));
            if !s.is_empty() {
                out.push((0, key(0, &[y, m, d], &[s])));
            }
            if !g.is_empty() {
                let (lo, hi) = if m <= d { (m, d) } else { (d, m) };
                out.push((1, key(1, &[y, lo, hi], &[g])));
            }
        }
        if let (Some(p), true) = (r.place.province_2025, b.is_full()) {
            out.push((
                5,
                key(
                    5,
                    &[y, i64::from(b.month), i64::from(b.day), i64::from(p)],
                    &[],
                ),
            ));
        }
        let m = r.middle.folded.as_str();
        if let (Some(p), false) = (r.place.province_2025, s.is_empty() || m.is_empty()) {
            out.push((6, key(6, &[y, i64::from(p)], &[s, m])));
        }
        if let (Some(p), false) = (r.place.province_2025, g.is_empty()) {
            out.push((2, key(2, &[y, i64::from(p)], &[g])));
        }
        if let (Some(p), false) = (r.place.province_2025, s.is_empty() || g.is_empty()) {
            let (lo, hi) = if s <= g { (s, g) } else { (g, s) };
            out.push((3, key(3, &[y, i64::from(p)], &[lo, hi])));
        }
    }
    if let (Some(id), false) = (&r.id, g.is_empty()) {
        if let Some(prefix) = id.get(..6) {
            out.push((4, key(4, &[], &[prefix, g])));
        }
    }
    out
}

/// The register's keys, sorted, for lookups by binary search.
pub struct Index {
    entries: Vec<(u64, u32)>,
}

impl Index {
    pub fn build(register: &[Record]) -> Index {
        let mut entries = Vec::with_capacity(register.len() * RULES.len());
        for (i, r) in register.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            entries.extend(keys(r).into_iter().map(|(_, k)| (k, i)));
        }
        entries.sort_unstable();
        Index { entries }
    }

    /// The register records sharing a key with `r`, each once, in index order.
    pub fn candidates(&self, r: &Record, out: &mut Vec<u32>) {
        self.candidates_under(r, None, out);
    }

    /// Like [`Index::candidates`], under one rule only (by its number in [`RULES`]).
    pub fn candidates_under(&self, r: &Record, rule: Option<u8>, out: &mut Vec<u32>) {
        out.clear();
        for (n, k) in keys(r) {
            if rule.is_some_and(|x| x != n) {
                continue;
            }
            let start = self.entries.partition_point(|e| e.0 < k);
            let rest = self.entries.get(start..).unwrap_or(&[]);
            let block = rest
                .get(..rest.partition_point(|e| e.0 == k))
                .unwrap_or(&[]);
            if block.len() <= MAX_BLOCK {
                out.extend(block.iter().map(|e| e.1));
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
