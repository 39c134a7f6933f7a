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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

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
pub const MAX_BLOCK: usize = 200;

/// The rule that needs the row's personal ID (its first six digits).
pub const ID_PREFIX_RULE: u8 = 4;

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

/// Keys are already hashes: the map uses them as they are instead of hashing them again.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap = HashMap<u64, (u32, u32), BuildHasherDefault<KeyHasher>>;

/// The register's keys: each key's block is a run of register positions in one array, found
/// by a hash lookup (one memory access, where a binary search over millions of entries took
/// two dozen).
pub struct Index {
    /// Register positions, grouped by key, ascending within a block.
    members: Vec<u32>,
    /// Key → (start, length) in `members`.
    blocks: KeyMap,
}

impl Index {
    pub fn build(register: &[Record]) -> Index {
        let mut entries = Vec::with_capacity(register.len() * RULES.len());
        for (i, r) in register.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            entries.extend(keys(r).into_iter().map(|(_, k)| (k, i)));
        }
        entries.sort_unstable();
        let mut blocks = KeyMap::default();
        let mut members = Vec::with_capacity(entries.len());
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let (Some(first), Ok(start), Ok(len)) = (
                run.first(),
                u32::try_from(members.len()),
                u32::try_from(run.len()),
            ) else {
                break;
            };
            blocks.insert(first.0, (start, len));
            members.extend(run.iter().map(|e| e.1));
        }
        Index { members, blocks }
    }

    /// The register records sharing a key with `r`, each once, in index order.
    pub fn candidates(&self, r: &Record, out: &mut Vec<u32>) {
        self.candidates_under(r, None, out);
    }

    /// Like [`Index::candidates`], under one rule only (by its number in [`RULES`]).
    pub fn candidates_under(&self, r: &Record, rule: Option<u8>, out: &mut Vec<u32>) {
        self.collect(r, |n| rule.is_none_or(|x| x == n), out);
    }

    /// Like [`Index::candidates`], under every rule but one (by its number in [`RULES`]).
    pub fn candidates_without(&self, r: &Record, rule: u8, out: &mut Vec<u32>) {
        self.collect(r, |n| n != rule, out);
    }

    fn collect(&self, r: &Record, rule: impl Fn(u8) -> bool, out: &mut Vec<u32>) {
        out.clear();
        for (n, k) in keys(r) {
            if !rule(n) {
                continue;
            }
            let Some(&(start, len)) = self.blocks.get(&k) else {
                continue;
            };
            let (start, len) = (start as usize, len as usize);
            if len <= MAX_BLOCK {
                out.extend_from_slice(self.members.get(start..start + len).unwrap_or(&[]));
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// How many (key, record) entries the index holds.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}
