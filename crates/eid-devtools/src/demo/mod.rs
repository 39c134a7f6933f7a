//! The demo province's campaign: intake devices per district with their officers, and a history
//! of the last weeks — applications collected, reviews, activation codes, level-2 activations,
//! level-1 registrations, a few self-service upgrades and officer locks — so that the operations
//! console has something to show.
//!
//! The history is written by the same `eid_core::accounts` functions, in the same transactions,
//! as the API: packets are signed with each device's key and verified before they are collected,
//! codes are read from the SMS outbox as a phone would receive them, and each call gets the
//! simulated time of the step as its `now`. Only the clock and the people are simulated.
//!
//! Shape (per day, before noise of ±15 %): a campaign that ramps from a quarter of its later
//! level to four fifths over the weeks before a peak campaign (đợt cao điểm) that started
//! 12 days ago and runs 21 days; the peak opens with three days at 1.5 and holds at 1.25;
//! Saturdays run at 0.6 and Sundays at 0.35. Of the approved applications about two thirds are
//! activated in the end, most within three days and a few only after an officer re-sent an
//! expired code; the last days' are still waiting. Level-1 registrations run at 30 % of the
//! day's applications early on, rising to 55 %.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Instant;

use eid_core::accounts::{self as acc, Refusal};
use eid_core::secret::{hash_password, hex, random_password, token_hash};
use eid_core::store::{NewStaff, Role, Staff};
use eid_core::{Actor, Store};
use eid_domain::{DeviceStatus, Level, PersonalId, PhoneNumber, SmsState, Tree, UnitCode, Units};
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use crate::client::{code_in, Rng};
use eid_core::clock::vietnam;

mod history;
mod live;
mod operations;
mod report;
mod sim;
mod staff;
mod stay;

pub use history::fill_demo_history;
pub use live::{live_setup, spawn_live, Live};
pub use report::{daily_figures, write_citizen, write_report};
pub use stay::{seed_stays, StaySeed};

/// The password every simulated citizen's account has (with [`DEMO_PASSCODE`]).
pub const DEMO_PASSWORD: &str = "Demo-eID-2023";
/// The passcode every simulated citizen's account has.
pub const DEMO_PASSCODE: &str = "202306";
/// The demo's ministry-level officer (the only demo account that reads the SMS outbox).
pub const MINISTRY_OFFICER: &str = "bo.congan";
/// The slogan of the demo's peak campaign.
pub const PEAK_NAME: &str = "Đợt cao điểm \"Đến từng nhà, rà từng người\"";
/// The peak campaign started this many days before today (today included in its days)…
pub const PEAK_STARTED_DAYS_AGO: i64 = 11;
/// … and lasts this many days.
pub const PEAK_DAYS: i64 = 21;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// The province (2024 tree) whose districts get devices.
    pub province: UnitCode,
    /// How many days of history, today included.
    pub days: u32,
    /// About how many applications in all (today's are cut at `now`).
    pub applications: u64,
    pub seed: u64,
    /// The end of the history: steps after it are not taken.
    pub now: OffsetDateTime,
    pub settings: acc::Settings,
    /// Keep the text (and codes) of the simulated messages in the outbox, as the development
    /// sink does; false blanks the codes as after a real gateway.
    pub keep_sms_text: bool,
}

/// A device the demo registered.
#[derive(Clone)]
pub struct DemoDevice {
    pub id: i64,
    pub name: String,
    pub unit: UnitCode,
    pub capacity: u32,
    pub status: DeviceStatus,
    /// The private key seed. Derived from the demo's seed: never use it for a real device.
    pub seed_hex: String,
    /// The officer named in its packets.
    pub officer: String,
}

/// One day's counts as the roll-up holds them for the province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub date: Date,
    pub collected: i64,
    pub level1: i64,
    pub level2: i64,
}

/// What the history holds.
#[derive(Debug, Clone, Default)]
pub struct HistoryReport {
    pub devices: Vec<DemoDevice>,
    pub reviewer: String,
    pub peak_start: Option<Date>,
    pub peak_end: Option<Date>,
    pub days: Vec<DayFigures>,
    pub eligible: usize,
    pub collected: u64,
    pub to_review: u64,
    pub approved_on_review: u64,
    pub rejected: u64,
    pub codes_sent: u64,
    pub resent: u64,
    pub activated: u64,
    pub level1_started: u64,
    pub level1_confirmed: u64,
    pub upgraded: u64,
    pub locked: u64,
    /// Steps the rules refused, by refusal code (expected: none or very few).
    pub refused: BTreeMap<&'static str, u64>,
    /// Daily figures of the other provinces brought in as reported figures.
    pub reported_rows: usize,
    /// Seconds for the other provinces' quotas and their import.
    pub reported_seconds: f64,
    /// Seconds for the whole fill, and for the Argon2id hashes among them.
    pub seconds: f64,
    pub hashing_seconds: f64,
}

impl HistoryReport {
    pub fn total(&self, f: impl Fn(&DayFigures) -> i64) -> i64 {
        self.days.iter().map(f).sum()
    }
}

/// A time on `date` in Vietnam, `minutes` after midnight.
fn at(date: Date, minutes: f64) -> OffsetDateTime {
    let whole = minutes.clamp(0.0, 1439.0) as u32;
    let secs = ((minutes - f64::from(whole)) * 60.0).clamp(0.0, 59.0) as u8;
    let t = Time::from_hms(
        u8::try_from(whole / 60).unwrap_or(23),
        u8::try_from(whole % 60).unwrap_or(59),
        secs,
    )
    .unwrap_or(Time::MIDNIGHT);
    PrimitiveDateTime::new(date, t).assume_offset(vietnam())
}

/// A uniformly random time on `date` between two times of day (minutes after midnight).
fn between(rng: &mut Rng, date: Date, from: f64, to: f64) -> OffsetDateTime {
    at(date, from + (to - from) * rng.unit())
}

fn local_date(t: OffsetDateTime) -> Date {
    t.to_offset(vietnam()).date()
}

fn minutes(rng: &mut Rng, lo: i64, hi: i64) -> Duration {
    Duration::seconds(60 * lo + rng.below(u64::try_from(60 * (hi - lo)).unwrap_or(1)) as i64)
}

/// The weight of day `i` of `days` (before noise): the ramp, the peak, the weekend.
pub fn day_weight(i: u32, days: u32, weekday: Weekday) -> f64 {
    let peak_start = i64::from(days) - PEAK_STARTED_DAYS_AGO - 1;
    let i = i64::from(i);
    let base = if i < peak_start {
        0.25 + 0.55 * i as f64 / (peak_start - 1).max(1) as f64
    } else if i < peak_start + 3 {
        1.5
    } else {
        1.25
    };
    base * match weekday {
        Weekday::Saturday => 0.6,
        Weekday::Sunday => 0.35,
        _ => 1.0,
    }
}

/// Splits `n` among shares in proportion (largest remainders, ties to the random source).
fn split(n: u64, shares: &[f64], rng: &mut Rng) -> Vec<u64> {
    let total: f64 = shares.iter().sum();
    if total <= 0.0 {
        return vec![0; shares.len()];
    }
    let mut out: Vec<u64> = Vec::with_capacity(shares.len());
    let mut rest: Vec<(f64, usize)> = Vec::new();
    for (i, s) in shares.iter().enumerate() {
        let exact = n as f64 * s / total;
        out.push(exact.floor() as u64);
        rest.push((exact - exact.floor() + rng.unit() * 1e-9, i));
    }
    let given: u64 = out.iter().sum();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, i) in rest.iter().take(usize::try_from(n - given).unwrap_or(0)) {
        if let Some(o) = out.get_mut(*i) {
            *o += 1;
        }
    }
    out
}

/// The key seed of demo device `k` of `unit`: derived from the demo's seed, so the same demo
/// gets the same keys. Never use it for a real device.
fn device_seed(seed: u64, unit: &UnitCode, k: usize) -> String {
    hex(&Sha256::digest(format!(
        "eid-demo-device:{seed}:{unit}:{k}"
    )))
}

// ----------------------------------------------------------------------------------------------
// The live trickle (`eid demo --live`)
