//! A deterministic synthetic population of Vietnam, for demos, tests and benchmarks.
//!
//! The generator builds households, not loose individuals: it draws a commune of the 2024 tree
//! (weighted by province population, wards 2.5× and towns 1.6× a rural commune), an ethnic
//! naming system from the province's 2019-census mix (far more minority households in rural
//! communes of the mountains and the Central Highlands), then a household shape (single, couple,
//! nuclear family, single parent, three generations; ~3.4 people on average) with coherent ages
//! (parents 20–45 years older than their children, grandparents a generation above) and names
//! (children take the father's family name, or the mother's clan where kinship is matrilineal,
//! wives keep theirs). Surnames, middle and given names follow their real frequencies and the
//! fashions of each generation (the `names` submodule has the tables and their sources). Ages follow the
//! 2024 pyramid (~23 % under 15). Phones, cards (CCCD) and life status depend on age and on how
//! urban and remote the commune is: smartphones for ~85 % of adults in wards, ~15–30 % in remote
//! minority villages; most adults carry a chip card, most issued in the 2021 campaign.
//!
//! Randomness is a seeded xoshiro256** with integer-only sampling, so the same configuration gives
//! the same people on every platform; the first `n` people do not depend on `count`. Personal
//! IDs and phone numbers come from per-prefix counters sent through keyed Feistel permutations,
//! so they look random but never repeat within a generated set.

mod names;
mod naming;
mod rng;
pub mod sector;
mod world;

use std::collections::VecDeque;

use eid_domain::{Person, UnitCode};
use time::macros::date;
use time::Date;

use rng::Rng;
use world::{Counters, World};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// How many persons.
    pub count: u64,
    /// The seed: same seed and configuration, same persons.
    pub seed: u64,
    /// A province of the 2024 tree to draw residents from; `None` for the whole country, weighted
    /// by province population.
    pub province: Option<UnitCode>,
    /// The day the register is as of: ages, dates of events and cards are relative to it.
    pub today: Date,
}

/// The oldest age generated.
const MAX_AGE: i32 = 100;
const EARLIEST: Date = date!(1900 - 01 - 01);
/// The chip-card campaign.
const CHIP_START: Date = date!(2021 - 01 - 01);
/// The 12-digit cards issued before the chip card.
const OLD_CARD_START: Date = date!(2016 - 01 - 01);
const OLD_CARD_END: Date = date!(2020 - 12 - 31);
/// The Law on Identity lets children under 14 have a card from this day.
const CHILD_CARD_START: Date = date!(2024 - 07 - 01);

const SERIALS: u64 = 1_000_000;
const SUBSCRIBERS: u64 = 10_000_000;

// ---------------------------------------------------------------------------------------------
// The generator

/// An iterator over `count` synthetic persons, household by household.
pub struct Generator {
    world: World,
    rng: Rng,
    counters: Counters,
    buffer: VecDeque<Person>,
    remaining: u64,
}

impl Generator {
    /// Prepares the tables for `cfg`. Fails when `cfg.province` is not a province of the 2024 tree.
    pub fn new(cfg: &GenConfig) -> Result<Generator, String> {
        Generator::nation(cfg, &[], 0)
    }

    /// A nation whose `heavy` provinces (of the 2024 tree) together hold `heavy_pct` % of the
    /// residents in equal shares — for a register of 20 M, five provinces at 90 % are five
    /// provinces the size of Thanh Hóa and the rest — and the other provinces the rest, by
    /// population. With `cfg.province` set only that province is drawn from.
    pub fn nation(cfg: &GenConfig, heavy: &[UnitCode], heavy_pct: u8) -> Result<Generator, String> {
        let mut nums = Vec::with_capacity(heavy.len());
        for code in heavy {
            match u8::try_from(code.number()) {
                Ok(n) if code.level() == eid_domain::Level::Province => nums.push(n),
                _ => return Err(format!("{code} is not a province code")),
            }
        }
        let world = World::new(cfg, &nums, u64::from(heavy_pct))?;
        Ok(Generator {
            world,
            rng: Rng::new(cfg.seed),
            counters: Counters {
                ids: vec![0; 100 * 1000],
                phones: vec![0; names::PHONE_PREFIXES.len()],
                households: 0,
            },
            buffer: VecDeque::with_capacity(8),
            remaining: cfg.count,
        })
    }
}

impl Iterator for Generator {
    type Item = Person;

    fn next(&mut self) -> Option<Person> {
        if self.remaining == 0 {
            return None;
        }
        // A household always has a member; the bound only guards against an impossible loop.
        for _ in 0..1000 {
            if let Some(person) = self.buffer.pop_front() {
                self.remaining -= 1;
                return Some(person);
            }
            self.world
                .household(&mut self.rng, &mut self.counters, &mut self.buffer);
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
