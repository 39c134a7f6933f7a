//! The Fellegi–Sunter model: m and u per field level, estimated by expectation–maximisation
//! over the candidate pairs without labels, and the term-frequency adjustment for names.
//!
//! A pair's weight is the sum over fields of log2(m/u) for the level the field compared at
//! (missing fields weigh 0), plus the prior log-odds λ/o: λ the chance that a given register
//! person is the row's, o the chance of the alternative the pair is weighed against. Scoring
//! pairs one by one, o is 1 − λ (the pair does not match). Linking a sector row, whose person is
//! at most one register person, o is the chance that the row's person is none of the candidates
//! the blocking found (not in the register, or missed by every key): the other candidates are
//! then weighed beside it (`Linker`), not folded into the prior. For
//! surnames and given names that agree exactly (or once folded), the weight is adjusted by how
//! common the value is: log2(u_avg / tf(value)), where tf is the value's share of the register
//! and u_avg the chance that two random register names agree (Σ tf²). Agreeing on Nguyễn
//! (~38 %) then says much less than agreeing on a rare surname.

use std::collections::HashMap;

use super::compare::{unpack, Field, Gamma, FIELDS, MAX_LEVELS};
use super::record::Record;

/// m, u and λ.
#[derive(Clone, Debug)]
pub struct Model {
    /// P(level | match), per field, per level (level 0 unused).
    pub m: [[f64; MAX_LEVELS]; 7],
    /// P(level | non-match).
    pub u: [[f64; MAX_LEVELS]; 7],
    /// The chance that a given pair matches (for a sector row: the share of rows with a register
    /// person over the register's size).
    pub lambda: f64,
    /// The chance of the alternative a pair is weighed against: `None` for the pair not
    /// matching (1 − λ); for a sector row, that its person is none of its candidates.
    pub outside: Option<f64>,
    /// EM iterations run.
    pub iterations: usize,
}

/// Smallest probability kept, so that no level is impossible.
const FLOOR: f64 = 1e-6;

impl Model {
    /// The starting point: agreement levels likely among matches, rare among non-matches.
    fn initial() -> Model {
        let mut m = [[0.0; MAX_LEVELS]; 7];
        let mut u = [[0.0; MAX_LEVELS]; 7];
        for f in FIELDS {
            let n = f.levels().len() - 1;
            for l in 1..=n {
                // Level 1 is the strongest agreement, the last one disagreement.
                let strength = (n - l) as f64 / (n as f64 - 1.0).max(1.0);
                m[f.index()][l] = 0.02 + 0.9 * strength * strength;
                u[f.index()][l] = 0.02 + 0.9 * (1.0 - strength);
            }
        }
        let mut model = Model {
            m,
            u,
            lambda: 0.3,
            outside: None,
            iterations: 0,
        };
        model.normalise();
        model
    }

    fn normalise(&mut self) {
        for f in FIELDS {
            let n = f.levels().len();
            for table in [&mut self.m, &mut self.u] {
                let row = &mut table[f.index()];
                let mut sum = 0.0;
                for v in row.iter_mut().take(n).skip(1) {
                    *v = v.max(FLOOR);
                    sum += *v;
                }
                for v in row.iter_mut().take(n).skip(1) {
                    *v /= sum;
                }
            }
        }
    }

    /// Sets u from the pattern counts of random pairs: per field, each level's share among the
    /// pairs where the field is present (a level never seen counts as half a pair).
    pub fn set_u(&mut self, patterns: &HashMap<u32, u64>) {
        let mut u = [[0.0; MAX_LEVELS]; 7];
        for (p, c) in patterns {
            let g = unpack(*p);
            for f in FIELDS {
                if let Some(v) = u[f.index()].get_mut(usize::from(g[f.index()])) {
                    *v += *c as f64;
                }
            }
        }
        for f in FIELDS {
            let n = f.levels().len();
            let row = &mut u[f.index()];
            let present: f64 = row.iter().take(n).skip(1).sum();
            for v in row.iter_mut().take(n).skip(1) {
                *v = (v.max(0.5)) / present.max(1.0);
            }
        }
        self.u = u;
    }

    /// The weight of a field at a level, log2(m/u); 0 for a missing field.
    pub fn weight(&self, field: Field, level: u8) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let l = usize::from(level);
        let m = self.m[field.index()].get(l).copied().unwrap_or(FLOOR);
        let u = self.u[field.index()].get(l).copied().unwrap_or(FLOOR);
        (m.max(FLOOR) / u.max(FLOOR)).log2()
    }

    /// The prior log-odds of a candidate pair: log2(λ/o), o the alternative (see `outside`).
    pub fn prior(&self) -> f64 {
        let l = self.lambda.clamp(1e-12, 1.0 - FLOOR);
        let o = self.outside.unwrap_or(1.0 - l).clamp(FLOOR, 1.0);
        (l / o).log2()
    }

    /// Estimates m, u and λ from the counts of comparison patterns over the candidate pairs.
    pub fn estimate(patterns: &HashMap<u32, u64>, max_iterations: usize) -> Model {
        let mut model = Model::initial();
        let patterns: Vec<(Gamma, f64)> = patterns
            .iter()
            .map(|(p, c)| (unpack(*p), *c as f64))
            .collect();
        let total: f64 = patterns.iter().map(|p| p.1).sum();
        if total == 0.0 {
            return model;
        }
        for it in 0..max_iterations {
            let mut m = [[0.0; MAX_LEVELS]; 7];
            let mut u = [[0.0; MAX_LEVELS]; 7];
            let mut matched = 0.0;
            // ln m − ln u per field and level, once per iteration (0 for a missing field).
            let mut diff = [[0.0f64; MAX_LEVELS]; 7];
            for f in FIELDS {
                let i = f.index();
                let levels = model.m[i].iter().zip(&model.u[i]).zip(diff[i].iter_mut());
                for ((m, u), d) in levels.take(f.levels().len()).skip(1) {
                    *d = m.max(FLOOR).ln() - u.max(FLOOR).ln();
                }
            }
            let prior = model.lambda.ln() - (1.0 - model.lambda).ln();
            for (g, count) in &patterns {
                let mut log_odds = prior;
                for f in FIELDS {
                    log_odds += diff[f.index()]
                        .get(usize::from(g[f.index()]))
                        .copied()
                        .unwrap_or(0.0);
                }
                let (lm, lu) = (log_odds, 0.0);
                let w = 1.0 / (1.0 + (lu - lm).exp());
                matched += w * count;
                for f in FIELDS {
                    let l = usize::from(g[f.index()]);
                    if let (Some(mv), Some(uv)) = (m[f.index()].get_mut(l), u[f.index()].get_mut(l))
                    {
                        *mv += w * count;
                        *uv += (1.0 - w) * count;
                    }
                }
            }
            let lambda = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
            let mut next = Model {
                m,
                u,
                lambda,
                outside: None,
                iterations: it + 1,
            };
            next.normalise();
            let change = FIELDS
                .iter()
                .flat_map(|f| {
                    let i = f.index();
                    (1..MAX_LEVELS).map(move |l| (i, l))
                })
                .map(|(i, l)| (next.m[i][l] - model.m[i][l]).abs())
                .fold((next.lambda - model.lambda).abs(), f64::max);
            model = next;
            if change < 1e-5 {
                break;
            }
        }
        model
    }
}

/// How often each folded surname and given name occurs in the register.
#[derive(Default)]
pub struct TermFrequencies {
    surname: HashMap<String, f64>,
    given: HashMap<String, f64>,
    surname_avg: f64,
    given_avg: f64,
}

impl TermFrequencies {
    pub fn build(register: &[Record]) -> TermFrequencies {
        let mut surname: HashMap<String, f64> = HashMap::new();
        let mut given: HashMap<String, f64> = HashMap::new();
        let (mut ns, mut ng) = (0.0, 0.0);
        for r in register {
            if !r.surname.is_empty() {
                *surname.entry(r.surname.folded.clone()).or_default() += 1.0;
                ns += 1.0;
            }
            if !r.given.is_empty() {
                *given.entry(r.given.folded.clone()).or_default() += 1.0;
                ng += 1.0;
            }
        }
        let share = |map: &mut HashMap<String, f64>, n: f64| -> f64 {
            let mut avg = 0.0;
            for v in map.values_mut() {
                *v /= n.max(1.0);
                avg += *v * *v;
            }
            avg
        };
        let surname_avg = share(&mut surname, ns);
        let given_avg = share(&mut given, ng);
        TermFrequencies {
            surname,
            given,
            surname_avg,
            given_avg,
        }
    }

    /// The adjustment, in bits, for agreeing on `value` of `field` (0 for other fields and for
    /// values the register does not hold).
    pub fn adjustment(&self, field: Field, value: &str) -> f64 {
        let (map, avg) = match field {
            Field::Surname => (&self.surname, self.surname_avg),
            Field::Given => (&self.given, self.given_avg),
            _ => return 0.0,
        };
        match map.get(value) {
            Some(tf) if *tf > 0.0 && avg > 0.0 => (avg / tf).log2(),
            _ => 0.0,
        }
    }

    /// The share of the register with this folded surname.
    pub fn surname_share(&self, value: &str) -> f64 {
        self.surname.get(value).copied().unwrap_or(0.0)
    }
}
