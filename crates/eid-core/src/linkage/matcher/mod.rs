//! The matcher: sector rows against the register, with no IO.
//!
//! A row whose personal ID is in the register is decided on the ID: **matched** when the rest
//! of the row is consistent with that person (its Fellegi–Sunter score without the ID reaches
//! the review threshold), **conflict** otherwise (the ID matches but name, date or sex
//! disagree; the best other candidate, if it reaches the match threshold, is kept beside it).
//! Every other row is scored against the register records its blocking keys find
//! ([`block`]): **matched** above the upper threshold, **review** between the thresholds,
//! **unmatched** below. A row's person is at most one register person, so each candidate is
//! weighed against the row's person being none of them (the prior) and against the other
//! candidates (the competition): a sole strong candidate is matched, two alike go to review.
//! Every decision can be explained field by field ([`Linker::explain_decision`]).

pub mod block;
pub mod compare;
pub mod dedupe;
pub mod model;
pub mod record;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

use std::collections::HashMap;

use compare::{compare, Field, Gamma, FIELDS};
use model::{Model, TermFrequencies};
use record::Record;

/// What a row came to. Outcomes are data, not errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Matched,
    Conflict,
    Review,
    Unmatched,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Matched,
        Outcome::Conflict,
        Outcome::Review,
        Outcome::Unmatched,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Conflict => "conflict",
            Outcome::Review => "review",
            Outcome::Unmatched => "unmatched",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The two thresholds an officer sets, as match probabilities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// At or above: matched.
    pub matched: f64,
    /// At or above (and below `matched`): review.
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            matched: 0.9,
            review: 0.5,
        }
    }
}

/// How a decision was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    PersonalId,
    Probabilistic,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::PersonalId => "personal_id",
            Method::Probabilistic => "probabilistic",
        }
    }
}

/// A decision on one sector row. `person` and `alternative` index the register.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub method: Method,
    /// The register person the row is matched to (or conflicts with, or is proposed for review).
    pub person: Option<u32>,
    /// For a conflict: another person the scores point to, when one reaches the match threshold.
    pub alternative: Option<u32>,
    /// The total weight (log2 odds) of the pair with `person`.
    pub score: f64,
}

impl Decision {
    /// The register person this row links to for counting links: matched rows, and conflicts
    /// (to the alternative when the scores found one, else to the ID's holder).
    pub fn link(&self) -> Option<u32> {
        match self.outcome {
            Outcome::Matched => self.person,
            Outcome::Conflict => self.alternative.or(self.person),
            Outcome::Review | Outcome::Unmatched => None,
        }
    }
}

/// One field of an explanation.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldScore {
    pub field: Field,
    pub level: u8,
    pub level_name: &'static str,
    /// log2(m/u) for the level.
    pub weight: f64,
    /// The term-frequency adjustment, in bits (names agreeing only).
    pub adjustment: f64,
}

/// Why a pair scored as it did: each field's level and weight, the prior, the competition from
/// the row's other candidates and the total (their sum).
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    pub fields: Vec<FieldScore>,
    pub prior: f64,
    /// In bits, at most 0: −log2(1 + Σ 2^w) over the row's other candidates' pair weights w
    /// (0 for a pair explained alone, or decided on the ID).
    pub competition: f64,
    pub total: f64,
    pub probability: f64,
}

/// What a row comes to when its worker failed.
const UNDECIDED: Decision = Decision {
    outcome: Outcome::Unmatched,
    method: Method::Probabilistic,
    person: None,
    alternative: None,
    score: f64::NEG_INFINITY,
};

/// The blocking rule of the second EM session (birth date + province).
const BIRTH_PROVINCE_RULE: u8 = 5;

/// Fewer rows than this whose ID the register holds, and the model is trained on every
/// candidate pair instead.
const MIN_ID_PAIRS: u64 = 200;

/// The least chance allowed that a row's person is none of its candidates: a sample of rows
/// cannot show that it is smaller, and at 0 any lone candidate would be certain.
const MIN_OUTSIDE: f64 = 0.01;

/// How many random pairs estimate u.
const RANDOM_PAIRS: usize = 200_000;

/// Converts log2 odds into a probability.
pub fn probability(score: f64) -> f64 {
    1.0 / (1.0 + (-score).exp2())
}

/// The register prepared for matching: its records, the personal ID index, the blocking index
/// and the name frequencies.
pub struct Linker {
    register: Vec<Record>,
    by_id: HashMap<String, u32>,
    index: block::Index,
    tf: TermFrequencies,
}

impl Linker {
    pub fn new(register: Vec<Record>) -> Linker {
        let mut by_id = HashMap::with_capacity(register.len());
        for (i, r) in register.iter().enumerate() {
            if let (Some(id), Ok(i)) = (&r.id, u32::try_from(i)) {
                by_id.entry(id.clone()).or_insert(i);
            }
        }
        // The blocking index and the name frequencies are built at once, one on each core.
        let (index, tf) = std::thread::scope(|s| {
            let tf = s.spawn(|| TermFrequencies::build(&register));
            let index = block::Index::build(&register);
            // Building the frequencies cannot panic; if it did, names weigh unadjusted.
            (index, tf.join().unwrap_or_default())
        });
        Linker {
            register,
            by_id,
            index,
            tf,
        }
    }

    pub fn register(&self) -> &[Record] {
        &self.register
    }

    /// Estimates the model without labels, in two EM sessions over pairs where the share of
    /// matches is high (EM over every candidate pair finds "same family, same province" as
    /// its class at a million persons, not "same person"):
    /// 1. rows paired with the register person holding their personal ID, the ID left out:
    ///    m for every other field (the few wrong IDs are the non-matches EM separates);
    /// 2. rows paired with the persons born the same day in the same province: m for the ID.
    ///
    /// u comes from pairs drawn at random (nearly all non-matches, free of blocking's bias).
    /// λ, the chance that a given register person is a row's, is the share of rows with a
    /// register person (session 1's match share among rows whose ID the register holds, times
    /// that share of rows with an ID) over the register's size. The prior weighs it against
    /// the chance that the row's person is none of its candidates: not in the register, or in
    /// it but missed by every blocking key — one minus that share times the blocking's recall,
    /// which is measured on the same rows (how often the ID's holder is among the candidates
    /// of the rules that do not use the ID). Up to `sample` rows (spread evenly) are used. A
    /// source without IDs falls back to one session over every candidate pair, whose match
    /// share gives the matches among a row's candidates directly.
    pub fn train(&self, rows: &[Record], sample: usize) -> Model {
        let step = (rows.len() / sample.max(1)).max(1);
        let mut by_id: HashMap<u32, u64> = HashMap::new();
        let mut by_birth: HashMap<u32, u64> = HashMap::new();
        let mut all: HashMap<u32, u64> = HashMap::new();
        let (mut with_id, mut found, mut sampled, mut pairs) = (0u64, 0u64, 0u64, 0u64);
        let mut in_blocks = 0u64;
        let mut cands = Vec::new();
        for row in rows.iter().step_by(step) {
            sampled += 1;
            if let Some(id) = &row.id {
                with_id += 1;
                if let Some((h, p)) = self
                    .by_id
                    .get(id)
                    .and_then(|&h| Some((h, self.register.get(h as usize)?)))
                {
                    found += 1;
                    self.index
                        .candidates_without(row, block::ID_PREFIX_RULE, &mut cands);
                    in_blocks += u64::from(cands.binary_search(&h).is_ok());
                    let mut g = compare(p, row);
                    g[Field::Id.index()] = 0;
                    *by_id.entry(compare::pack(&g)).or_default() += 1;
                }
            }
            self.index
                .candidates_under(row, Some(BIRTH_PROVINCE_RULE), &mut cands);
            for &c in &cands {
                if let Some(r) = self.register.get(c as usize) {
                    *by_birth.entry(compare::pack(&compare(r, row))).or_default() += 1;
                }
            }
            if found < MIN_ID_PAIRS {
                self.index.candidates(row, &mut cands);
                for &c in &cands {
                    if let Some(r) = self.register.get(c as usize) {
                        *all.entry(compare::pack(&compare(r, row))).or_default() += 1;
                        pairs += 1;
                    }
                }
            }
        }
        // The share of rows with a register person, and the share of rows whose person is
        // among their candidates.
        let (mut model, matches_per_row, among_candidates) = if found >= MIN_ID_PAIRS {
            let mut model = Model::estimate(&by_id, 100);
            let second = Model::estimate(&by_birth, 100);
            model.m[Field::Id.index()] = second.m[Field::Id.index()];
            model.iterations += second.iterations;
            let share = (model.lambda * found as f64 / with_id.max(1) as f64).min(1.0);
            let recall = in_blocks as f64 / found as f64;
            (model, share, share * recall)
        } else {
            let model = Model::estimate(&all, 100);
            let per_row = model.lambda * pairs as f64 / sampled.max(1) as f64;
            (model, per_row, per_row)
        };
        // u from random pairs: a fixed-seed walk, so the same data gives the same model.
        let mut random: HashMap<u32, u64> = HashMap::new();
        let (n, k) = (self.register.len() as u64, rows.len() as u64);
        if n > 0 && k > 0 {
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            let mut next = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                state >> 33
            };
            for _ in 0..RANDOM_PAIRS {
                let (a, b) = (next() % n, next() % k);
                if let (Some(x), Some(y)) = (self.register.get(a as usize), rows.get(b as usize)) {
                    *random.entry(compare::pack(&compare(x, y))).or_default() += 1;
                }
            }
            model.set_u(&random);
            model.lambda = (matches_per_row / n as f64).clamp(1e-12, 0.5);
            model.outside = Some((1.0 - among_candidates).clamp(MIN_OUTSIDE, 1.0));
        }
        model
    }

    /// The total weight of a register record against a row, with the term-frequency adjustment.
    fn score(&self, model: &Model, person: &Record, g: &Gamma) -> f64 {
        let mut total = model.prior();
        for f in FIELDS {
            let level = g[f.index()];
            total += model.weight(f, level) + self.adjustment(f, level, person);
        }
        total
    }

    fn adjustment(&self, f: Field, level: u8, person: &Record) -> f64 {
        // Exact or folded agreement (levels 1 and 2) on a surname or given name.
        match (f, level) {
            (Field::Surname, 1 | 2) => self.tf.adjustment(f, &person.surname.folded),
            (Field::Given, 1 | 2) => self.tf.adjustment(f, &person.given.folded),
            _ => 0.0,
        }
    }

    /// Every candidate of a row with its pair's total weight, in index order. With
    /// `ignore_id`, the personal ID is left out of the comparison (it is known to belong to
    /// someone else); `skip` is left out of the candidates.
    fn scored(
        &self,
        model: &Model,
        row: &Record,
        skip: Option<u32>,
        ignore_id: bool,
    ) -> Vec<(u32, f64)> {
        let mut cands = Vec::new();
        self.index.candidates(row, &mut cands);
        cands
            .into_iter()
            .filter(|&c| Some(c) != skip)
            .filter_map(|c| {
                let person = self.register.get(c as usize)?;
                let mut g = compare(person, row);
                if ignore_id {
                    g[Field::Id.index()] = 0;
                }
                Some((c, self.score(model, person, &g)))
            })
            .collect()
    }

    /// The best candidate by its pair's weight (the first of equals), with the competition
    /// from the others.
    fn best(
        &self,
        model: &Model,
        row: &Record,
        skip: Option<u32>,
        ignore_id: bool,
    ) -> Option<Best> {
        let scores = self.scored(model, row, skip, ignore_id);
        let mut best: Option<(u32, f64)> = None;
        for &(c, s) in &scores {
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }
        let (person, pair) = best?;
        Some(Best {
            person,
            pair,
            competition: competition(&scores, person),
        })
    }

    /// Decides one row.
    pub fn decide(&self, model: &Model, t: &Thresholds, row: &Record) -> Decision {
        let upper = odds(t.matched);
        let lower = odds(t.review);
        if let Some(&holder) = row.id.as_ref().and_then(|id| self.by_id.get(id)) {
            if let Some(person) = self.register.get(holder as usize) {
                let mut g = compare(person, row);
                // Consistency is judged on the other fields alone, without the population prior:
                // given the ID, the question is only whether the rest argues against it.
                g[Field::Id.index()] = 0;
                let rest = self.score(model, person, &g) - model.prior();
                let with_id = model.prior() + rest + model.weight(Field::Id, 1);
                if rest >= 0.0 {
                    return Decision {
                        outcome: Outcome::Matched,
                        method: Method::PersonalId,
                        person: Some(holder),
                        alternative: None,
                        score: with_id,
                    };
                }
                let alternative = self
                    .best(model, row, Some(holder), true)
                    .filter(|b| b.total() >= upper)
                    .map(|b| b.person);
                return Decision {
                    outcome: Outcome::Conflict,
                    method: Method::PersonalId,
                    person: Some(holder),
                    alternative,
                    score: with_id,
                };
            }
        }
        match self.best(model, row, None, false) {
            // Two candidates alike share the probability: neither reaches the match threshold
            // (each is at most 1 bit above the other's weight) and a person decides.
            Some(b) if b.total() >= upper => Decision {
                outcome: Outcome::Matched,
                method: Method::Probabilistic,
                person: Some(b.person),
                alternative: None,
                score: b.total(),
            },
            // Review when the pair reaches the review threshold, alone or against the others
            // (two strong candidates alike both fall below it once weighed together).
            Some(b) if b.total() >= lower || b.pair >= lower => Decision {
                outcome: Outcome::Review,
                method: Method::Probabilistic,
                person: Some(b.person),
                alternative: None,
                score: b.total(),
            },
            best => Decision {
                outcome: Outcome::Unmatched,
                method: Method::Probabilistic,
                person: None,
                alternative: None,
                score: best.map_or(f64::NEG_INFINITY, |b| b.total()),
            },
        }
    }

    /// Decides every row, on `threads` threads, in row order.
    pub fn decide_all(
        &self,
        model: &Model,
        t: &Thresholds,
        rows: &[Record],
        threads: usize,
    ) -> Vec<Decision> {
        let chunk = rows.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(chunk)
                .map(|part| {
                    let h = s.spawn(move || {
                        part.iter()
                            .map(|r| self.decide(model, t, r))
                            .collect::<Vec<_>>()
                    });
                    (part.len(), h)
                })
                .collect();
            let mut out = Vec::with_capacity(rows.len());
            for (len, h) in handles {
                // A worker cannot panic (no indexing, no unwrap); if one did, its rows stay
                // unmatched, in place, rather than bringing the run down.
                let part = h.join().unwrap_or_else(|_| vec![UNDECIDED; len]);
                out.extend(part);
            }
            out
        })
    }

    /// The explanation of a decision: its pair's, and for a decision by score the competition
    /// from the row's other candidates, so that the total is the decision's score. `None`
    /// when the decision names no person.
    pub fn explain_decision(
        &self,
        model: &Model,
        row: &Record,
        d: &Decision,
    ) -> Option<Explanation> {
        let person = d.person?;
        let mut e = self.explain(model, row, person)?;
        if d.method == Method::Probabilistic {
            e.competition = competition(&self.scored(model, row, None, false), person);
            e.total += e.competition;
            e.probability = probability(e.total);
        }
        Some(e)
    }

    /// The explanation of a pair on its own: per field the level, its weight and adjustment,
    /// the prior and the total. `None` when `person` is not in the register.
    pub fn explain(&self, model: &Model, row: &Record, person: u32) -> Option<Explanation> {
        let person = self.register.get(person as usize)?;
        let g = compare(person, row);
        let fields: Vec<FieldScore> = FIELDS
            .iter()
            .map(|&f| {
                let level = g[f.index()];
                FieldScore {
                    field: f,
                    level,
                    level_name: f.level_name(level),
                    weight: model.weight(f, level),
                    adjustment: self.adjustment(f, level, person),
                }
            })
            .collect();
        let prior = model.prior();
        let total = prior + fields.iter().map(|f| f.weight + f.adjustment).sum::<f64>();
        Some(Explanation {
            fields,
            prior,
            competition: 0.0,
            total,
            probability: probability(total),
        })
    }
}

/// A row's best candidate.
#[derive(Clone, Copy, Debug)]
struct Best {
    person: u32,
    /// The pair's own total weight: the prior and the fields.
    pair: f64,
    /// The competition from the row's other candidates, in bits (see [`competition`]).
    competition: f64,
}

impl Best {
    fn total(&self) -> f64 {
        self.pair + self.competition
    }
}

/// A row's person is at most one register person. With the pairs' weights w_j (log2 odds of
/// "this candidate is the row's person" against "none of the candidates is"), the odds that
/// `person` is the one, against all the other possibilities, are 2^w / (1 + Σ_{j≠person} 2^w_j):
/// the pair's weight plus this term, −log2(1 + Σ_{j≠person} 2^w_j), in bits (0 for a sole
/// candidate, about −w_j beside a strong one).
fn competition(scores: &[(u32, f64)], person: u32) -> f64 {
    let others: f64 = scores
        .iter()
        .filter(|(c, _)| *c != person)
        .map(|(_, w)| w.exp2())
        .sum();
    -others.ln_1p() / std::f64::consts::LN_2
}

/// A threshold probability as log2 odds: at 1 or above no finite weight reaches it (an officer
/// who sets the match threshold to 1 matches nothing by score), at 0 or below every one does.
fn odds(p: f64) -> f64 {
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    (p / (1.0 - p)).log2()
}
