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
    /// Seconds for the whole fill, and for the Argon2id hashes among them.
    pub seconds: f64,
    pub hashing_seconds: f64,
}

impl HistoryReport {
    pub fn total(&self, f: impl Fn(&DayFigures) -> i64) -> i64 {
        self.days.iter().map(f).sum()
    }
}

/// A person the simulation may use: alive, 14 or older over the whole history, a valid card
/// throughout, a phone.
#[derive(Debug, Clone)]
struct Candidate {
    id: PersonalId,
    phone: PhoneNumber,
    smartphone: bool,
    self_service: bool,
}

/// One step of the simulation, taken at its time.
#[derive(Debug, Clone)]
enum Step {
    Collect { cand: usize, device: usize },
    Decide { cand: usize, approve: bool },
    Resend { cand: usize },
    Activate { cand: usize },
    Register { cand: usize },
    Confirm { cand: usize },
    Upgrade { cand: usize },
    Lock { cand: usize },
}

/// What the simulation remembers of a candidate between steps.
#[derive(Clone, Default)]
struct Memory {
    district: usize,
    application: Option<i64>,
    phone: String,
    code: String,
    handle: String,
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

/// The staff account `username`, created (unit `unit`, role `role`) if missing.
fn officer(
    store: &dyn Store,
    username: &str,
    display: String,
    role: Role,
    unit: UnitCode,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<Staff, String> {
    if let Some((s, _)) = store
        .staff_by_username(username)
        .map_err(|e| e.to_string())?
    {
        return Ok(s);
    }
    store
        .create_staff(
            &NewStaff {
                username: username.to_owned(),
                display_name: display,
                role,
                unit,
                password_hash: password_hash.to_owned(),
            },
            now,
        )
        .map_err(|e| e.to_string())?;
    store
        .staff_by_username(username)
        .map_err(|e| e.to_string())?
        .map(|(s, _)| s)
        .ok_or_else(|| format!("staff {username} was not created"))
}

/// Registers demo device `k` of `unit`, whose key derives from the demo's seed.
#[allow(clippy::too_many_arguments)]
fn demo_device(
    store: &dyn Store,
    seed: u64,
    unit: UnitCode,
    k: usize,
    name: String,
    capacity: u32,
    officer: &Staff,
    at: OffsetDateTime,
) -> Result<(acc::Device, DemoDevice), String> {
    let seed_hex = device_seed(seed, &unit, k);
    let key = eid_core::intake::signing_key(&seed_hex).map_err(|e| e.to_string())?;
    let public = eid_core::intake::parse_public_key(&eid_core::intake::public_hex(&key))
        .map_err(|e| e.to_string())?;
    let dev = acc::add_device(
        store,
        &name,
        &unit,
        &public,
        capacity,
        &Actor::Cli("demo".to_owned()),
        at,
    )
    .map_err(|e| format!("demo device {name}: {e}"))?;
    let demo = DemoDevice {
        id: dev.id,
        name,
        unit,
        capacity,
        status: dev.status,
        seed_hex,
        officer: officer.username.clone(),
    };
    Ok((dev, demo))
}

struct Sim<'a> {
    store: &'a dyn Store,
    o: &'a HistoryOptions,
    rng: Rng,
    cands: Vec<Candidate>,
    memory: HashMap<usize, Memory>,
    devices: Vec<(acc::Device, DemoDevice)>,
    officers: Vec<Staff>,
    reviewer: Staff,
    password_hash: String,
    passcode_hash: String,
    queue: BinaryHeap<Reverse<(i64, usize)>>,
    steps: Vec<(OffsetDateTime, Step)>,
    report: HistoryReport,
}

impl Sim<'_> {
    fn schedule(&mut self, t: OffsetDateTime, step: Step) {
        if t > self.o.now {
            return;
        }
        let i = self.steps.len();
        self.steps.push((t, step));
        self.queue
            .push(Reverse(((t.unix_timestamp_nanos() / 1_000_000) as i64, i)));
    }

    fn refused(&mut self, r: &Refusal) -> Result<(), String> {
        if let Refusal::Store(e) = r {
            return Err(e.to_string());
        }
        *self.report.refused.entry(r.code()).or_insert(0) += 1;
        Ok(())
    }

    /// The code of the message just queued to `to` for `purpose`, which is then recorded as
    /// delivered (the demo sends nothing: its phones are synthetic).
    fn take_code(
        &mut self,
        to: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, String> {
        let Some(m) = acc::sms_list(self.store, 1)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        if m.to != to || m.purpose != purpose || m.state != SmsState::Pending {
            return Ok(None);
        }
        let code = code_in(&m.body);
        acc::sms_record(
            self.store,
            m.id,
            &acc::SmsResult::Sent {
                provider_id: Some("demo-history".to_owned()),
            },
            now + Duration::seconds(3),
            self.o.keep_sms_text,
        )
        .map_err(|e| e.to_string())?;
        Ok(code)
    }

    fn device_hash(&self, cand: usize) -> Vec<u8> {
        token_hash(&format!(
            "demo-phone-{}",
            self.cands.get(cand).map(|c| c.id.as_str()).unwrap_or("")
        ))
    }

    fn cand(&self, cand: usize) -> Result<Candidate, String> {
        self.cands
            .get(cand)
            .cloned()
            .ok_or_else(|| "demo: no such candidate".to_owned())
    }

    fn mem(&mut self, cand: usize) -> &mut Memory {
        self.memory.entry(cand).or_default()
    }

    /// Whether and when the citizen activates after a code was sent at `sent`.
    fn plan_activation(&mut self, cand: usize, sent: OffsetDateTime) {
        self.report.codes_sent += 1;
        if !self.rng.chance(0.66) {
            return;
        }
        let u = self.rng.unit();
        let lag = [0.20, 0.45, 0.62, 0.74, 0.82, 0.88, 0.92]
            .iter()
            .position(|&c| u < c);
        match lag {
            Some(0) => {
                let t = sent + minutes(&mut self.rng, 20, 600);
                self.schedule(t, Step::Activate { cand });
            }
            Some(days) => {
                let date = local_date(sent) + Duration::days(days as i64);
                let t = between(&mut self.rng, date, 390.0, 1320.0);
                self.schedule(t, Step::Activate { cand });
            }
            None => {
                // The code expired: the citizen calls, an officer re-sends it.
                let days = 8 + self.rng.below(6) as i64;
                let date = local_date(sent) + Duration::days(days);
                let t = between(&mut self.rng, date, 480.0, 960.0);
                self.schedule(t, Step::Resend { cand });
            }
        }
    }

    fn collect(&mut self, t: OffsetDateTime, cand: usize, device: usize) -> Result<(), String> {
        let c = self.cand(cand)?;
        let (dev, demo) = self
            .devices
            .get(device)
            .cloned()
            .ok_or("demo: no such device")?;
        // A few applicants give a relative's phone (the application goes to review).
        let phone = if self.rng.chance(0.012) {
            let other = self.rng.below(self.cands.len() as u64) as usize;
            self.cands
                .get(other)
                .map_or(c.phone.clone(), |o| o.phone.clone())
        } else {
            c.phone.clone()
        };
        let matched = !self.rng.chance(0.02);
        let method = if self.rng.chance(0.92) {
            "fingerprint"
        } else {
            "portrait"
        };
        let portrait = eid_core::face::dev_portrait(c.id.as_str());
        let fields = eid_core::intake::PacketFields {
            device: dev.id,
            personal_id: c.id.as_str(),
            phone: phone.as_str(),
            portrait_sha256: eid_core::face::sha256(&portrait),
            method,
            against: "card",
            matched,
            score: if matched {
                0.9 + 0.09 * self.rng.unit()
            } else {
                0.2 + 0.3 * self.rng.unit()
            },
            officer: &demo.officer,
            collected_at: t,
            nonce: self.rng.bytes16(),
        };
        let key = eid_core::intake::signing_key(&demo.seed_hex).map_err(|e| e.to_string())?;
        let (packet_hex, sig) = eid_core::intake::sign(&fields, &key)?;
        let public: [u8; 32] = dev
            .public_key
            .clone()
            .try_into()
            .map_err(|_| "demo: a device key is not 32 bytes".to_owned())?;
        // The server's check, exactly: the signature over the bytes, then the parse.
        let packet = eid_core::intake::verify(&packet_hex, &sig, &public)
            .map_err(|e| format!("demo: a signed packet does not verify: {e}"))?;
        let now = t + Duration::seconds(20 + self.rng.below(70) as i64);
        match acc::collect(self.store, &self.o.settings, &dev, &packet, now) {
            Ok(done) => {
                self.report.collected += 1;
                let district = self.memory.get(&cand).map_or(0, |m| m.district);
                *self.mem(cand) = Memory {
                    district,
                    application: Some(done.application.id),
                    phone: phone.as_str().to_owned(),
                    ..Memory::default()
                };
                if done.review_reason.is_some() {
                    self.report.to_review += 1;
                    let date = local_date(now) + Duration::days(1 + self.rng.below(2) as i64);
                    let when = between(&mut self.rng, date, 480.0, 990.0);
                    let approve = self.rng.chance(0.8);
                    self.schedule(when, Step::Decide { cand, approve });
                } else if let Some(code) = self.take_code(phone.as_str(), "activate", now)? {
                    self.mem(cand).code = code;
                    self.plan_activation(cand, now);
                }
            }
            Err(r) => self.refused(&r)?,
        }
        Ok(())
    }

    fn step(&mut self, t: OffsetDateTime, step: Step) -> Result<(), String> {
        let s = self.o.settings.clone();
        match step {
            Step::Collect { cand, device } => self.collect(t, cand, device)?,
            Step::Decide { cand, approve } => {
                let app = self.mem(cand).application.unwrap_or(-1);
                let reviewer = self.reviewer.clone();
                let d = if approve {
                    acc::Decision::Approve
                } else {
                    acc::Decision::Reject("ảnh chân dung và vân tay không khớp với dữ liệu thẻ")
                };
                match acc::decide(self.store, &s, app, &reviewer, d, t) {
                    Ok(_) if approve => {
                        self.report.approved_on_review += 1;
                        let phone = self.mem(cand).phone.clone();
                        if let Some(code) = self.take_code(&phone, "activate", t)? {
                            self.mem(cand).code = code;
                            self.plan_activation(cand, t);
                        }
                    }
                    Ok(_) => self.report.rejected += 1,
                    Err(r) => self.refused(&r)?,
                }
            }
            Step::Resend { cand } => {
                let m = self.mem(cand).clone();
                let officer = self
                    .officers
                    .get(m.district)
                    .cloned()
                    .ok_or("demo: no officer")?;
                match acc::resend_activation(
                    self.store,
                    &s,
                    m.application.unwrap_or(-1),
                    &officer,
                    t,
                ) {
                    Ok(_) => {
                        self.report.resent += 1;
                        if let Some(code) = self.take_code(&m.phone, "activate", t)? {
                            self.mem(cand).code = code;
                            let when = t + minutes(&mut self.rng, 10, 180);
                            self.schedule(when, Step::Activate { cand });
                        }
                    }
                    Err(r) => self.refused(&r)?,
                }
            }
            Step::Activate { cand } => {
                let c = self.cand(cand)?;
                let code = self.mem(cand).code.clone();
                let device = self.device_hash(cand);
                match acc::activate(
                    self.store,
                    &s,
                    &c.id,
                    &code,
                    &self.password_hash,
                    &self.passcode_hash,
                    &device,
                    t,
                ) {
                    Ok(_) => {
                        self.report.activated += 1;
                        if self.rng.chance(0.002) {
                            let date = local_date(t) + Duration::days(1 + self.rng.below(4) as i64);
                            let when = between(&mut self.rng, date, 480.0, 1020.0);
                            self.schedule(when, Step::Lock { cand });
                        }
                    }
                    Err(r) => self.refused(&r)?,
                }
            }
            Step::Register { cand } => {
                let c = self.cand(cand)?;
                let photo = eid_core::face::dev_portrait(c.id.as_str());
                let reg = acc::Registration {
                    personal_id: &c.id,
                    phone: &c.phone,
                    photo: &photo,
                    photo_hash: eid_core::face::sha256(&photo),
                    verifier: "dev-hash",
                    score: 1.0,
                    matched: true,
                    device_hash: self.device_hash(cand),
                };
                match acc::register(self.store, &s, &reg, t) {
                    Ok(handle) => {
                        self.report.level1_started += 1;
                        if let Some(code) = self.take_code(c.phone.as_str(), "register", t)? {
                            let m = self.mem(cand);
                            m.handle = handle;
                            m.code = code;
                            if self.rng.chance(0.9) {
                                let when = t + Duration::seconds(40 + self.rng.below(200) as i64);
                                self.schedule(when, Step::Confirm { cand });
                            }
                        }
                    }
                    Err(r) => self.refused(&r)?,
                }
            }
            Step::Confirm { cand } => {
                let m = self.mem(cand).clone();
                match acc::confirm_registration(
                    self.store,
                    &s,
                    &m.handle,
                    &m.code,
                    &self.password_hash,
                    &self.passcode_hash,
                    t,
                ) {
                    Ok(_) => {
                        self.report.level1_confirmed += 1;
                        let c = self.cand(cand)?;
                        if c.self_service && self.rng.chance(0.08) {
                            let date =
                                local_date(t) + Duration::days(1 + self.rng.below(10) as i64);
                            let when = between(&mut self.rng, date, 420.0, 1320.0);
                            self.schedule(when, Step::Upgrade { cand });
                        }
                    }
                    Err(r) => self.refused(&r)?,
                }
            }
            Step::Upgrade { cand } => {
                let c = self.cand(cand)?;
                if let Some(a) = acc::account_of(self.store, &c.id).map_err(|e| e.to_string())? {
                    match acc::self_upgrade(self.store, &s, &a, "dev-hash", 1.0, true, t) {
                        Ok(_) => self.report.upgraded += 1,
                        Err(r) => self.refused(&r)?,
                    }
                }
            }
            Step::Lock { cand } => {
                let c = self.cand(cand)?;
                let district = self.mem(cand).district;
                let officer = self
                    .officers
                    .get(district)
                    .cloned()
                    .ok_or("demo: no officer")?;
                if let Some(a) = acc::account_of(self.store, &c.id).map_err(|e| e.to_string())? {
                    let reason = "công dân gọi tổng đài 1900 0368 báo mất điện thoại";
                    match acc::set_lock(
                        self.store,
                        &a,
                        acc::LockBy::Officer(&officer, reason),
                        true,
                        t,
                    ) {
                        Ok(_) => self.report.locked += 1,
                        Err(r) => self.refused(&r)?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// The people who may take part, alive, of age, with a phone and a valid card over the whole
/// history, and their indices by district.
fn eligible_people(
    store: &dyn Store,
    o: &HistoryOptions,
    district_of: &HashMap<UnitCode, usize>,
    districts: usize,
    first: Date,
) -> Result<(Vec<Candidate>, Vec<Vec<usize>>), String> {
    let today = local_date(o.now);
    let mut cands: Vec<Candidate> = Vec::new();
    let mut by_district: Vec<Vec<usize>> = vec![Vec::new(); districts];
    store
        .for_each_person(&o.province, &mut |p| {
            let Some(&d) = district_of.get(&p.residence.unit) else {
                return Ok(());
            };
            let (Some(phone), Some(card)) = (&p.phone, p.card) else {
                return Ok(());
            };
            let ok = p.life.state == eid_domain::LifeState::Alive
                && p.birth.age_on(first) >= acc::MIN_AGE
                && today.year() - p.id.birth_year() > acc::MIN_AGE
                && card.is_valid(p.birth, first)
                && card.is_valid(p.birth, today + Duration::days(14));
            if ok {
                if let Some(v) = by_district.get_mut(d) {
                    v.push(cands.len());
                }
                cands.push(Candidate {
                    id: p.id,
                    phone: phone.clone(),
                    smartphone: p.phone_type == eid_domain::PhoneType::Smartphone,
                    self_service: card.issued >= o.settings.self_service_from,
                });
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;

    Ok((cands, by_district))
}

/// Fills the demo province with intake devices, their officers and a campaign history ending
/// at `o.now`. Returns `None`, doing nothing, when the province already has intake devices
/// (the history was filled before).
pub fn fill_demo_history(
    store: &dyn Store,
    o: &HistoryOptions,
) -> Result<Option<HistoryReport>, String> {
    let started = Instant::now();
    let units = Units::get();
    if !acc::devices(store, &o.province)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(None);
    }
    let province = units
        .unit(Tree::Gso2024, &o.province)
        .filter(|u| u.level == Level::Province)
        .ok_or_else(|| format!("{} is not a province of the 2024 tree", o.province))?;
    let days = o.days.max(1);
    let today = local_date(o.now);
    let first = today - Duration::days(i64::from(days) - 1);
    let mut rng = Rng::new(o.seed ^ 0x00de_0000);

    // The districts and the people who may take part, by district.
    let districts: Vec<&eid_domain::Unit> = units
        .children(Tree::Gso2024, &o.province)
        .into_iter()
        .filter(|u| u.level == Level::District)
        .collect();
    let district_of: HashMap<UnitCode, usize> = districts
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            units
                .children(Tree::Gso2024, &d.code)
                .into_iter()
                .map(move |c| (c.code, i))
        })
        .collect();
    let (cands, mut by_district) = eligible_people(store, o, &district_of, districts.len(), first)?;

    // Each district's people: some keep to level 1 (smartphone holders), the rest apply.
    let mut level2_pool: Vec<Vec<usize>> = Vec::new();
    let mut level1_pool: Vec<Vec<usize>> = Vec::new();
    for list in &mut by_district {
        rng.shuffle(list);
        let (mut l1, mut l2) = (Vec::new(), Vec::new());
        for &c in list.iter() {
            if cands.get(c).is_some_and(|c| c.smartphone) && rng.chance(0.4) {
                l1.push(c);
            } else {
                l2.push(c);
            }
        }
        level1_pool.push(l1);
        level2_pool.push(l2);
    }

    // The plan: applications per day and district.
    let shares: Vec<f64> = level2_pool.iter().map(|v| v.len() as f64).collect();
    let weights: Vec<f64> = (0..days)
        .map(|i| {
            let date = first + Duration::days(i64::from(i));
            day_weight(i, days, date.weekday()) * (0.85 + 0.3 * rng.unit())
        })
        .collect();
    let per_day = split(o.applications, &weights, &mut rng);
    let plan: Vec<Vec<u64>> = per_day
        .iter()
        .map(|&n| split(n, &shares, &mut rng))
        .collect();
    let level1_plan: Vec<Vec<u64>> = per_day
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let x = f64::from(u32::try_from(i).unwrap_or(0)) / f64::from(days.max(2) - 1);
            let l1 = (n as f64 * (0.30 + 0.25 * x)).round() as u64;
            let l1_shares: Vec<f64> = level1_pool.iter().map(|v| v.len() as f64).collect();
            split(l1, &l1_shares, &mut rng)
        })
        .collect();

    // Secrets: hashed once. Argon2id costs tens of milliseconds a hash: one per simulated
    // account would make the demo take minutes, so every simulated citizen gets the same
    // password and passcode hash, and the generated officers one hash of a random password
    // nobody knows (they only sign packets; an administrator can set a password).
    let hashing = Instant::now();
    let password_hash = hash_password(DEMO_PASSWORD)?;
    let passcode_hash = hash_password(DEMO_PASSCODE)?;
    let staff_hash = hash_password(&random_password())?;
    let hashing_seconds = hashing.elapsed().as_secs_f64();

    // Devices and officers, registered two days before the history starts.
    let setup = at(first - Duration::days(2), 540.0);
    let actor = Actor::Cli("demo".to_owned());
    let reviewer = officer(
        store,
        &format!("duyet.{}", o.province),
        format!("Cán bộ duyệt hồ sơ – Công an {}", province.name),
        Role::Province,
        o.province,
        &staff_hash,
        setup,
    )?;
    let mut officers: Vec<Staff> = Vec::new();
    let mut devices: Vec<(acc::Device, DemoDevice)> = Vec::new();
    let mut district_devices: Vec<Vec<usize>> = Vec::new();
    for (i, d) in districts.iter().enumerate() {
        let staff = officer(
            store,
            &format!("thunhan.{}", d.code),
            format!("Tổ thu nhận hồ sơ – Công an {}", d.name),
            Role::District,
            d.code,
            &staff_hash,
            setup,
        )?;
        let peak = plan
            .iter()
            .map(|p| p.get(i).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let n = if shares.get(i).copied().unwrap_or(0.0) > 0.0 {
            usize::try_from(peak.div_ceil(220)).unwrap_or(1).max(1)
        } else {
            0
        };
        let mut mine = Vec::new();
        for k in 0..n {
            let capacity = 200 + 10 * u32::try_from(rng.below(11)).unwrap_or(5);
            let name = format!("Máy thu nhận số {:02} – Công an {}", k + 1, d.name);
            mine.push(devices.len());
            devices.push(demo_device(
                store, o.seed, d.code, k, name, capacity, &staff, setup,
            )?);
        }
        district_devices.push(mine);
        officers.push(staff);
    }
    // A spare device at the province, out of service (it shows in the registry as suspended).
    let name = format!("Máy dự phòng – Công an {}", province.name);
    let (dev, mut demo) = demo_device(store, o.seed, o.province, 0, name, 250, &reviewer, setup)?;
    let dev = acc::set_device_status(
        store,
        dev.id,
        DeviceStatus::Suspended,
        &actor,
        setup + Duration::hours(1),
    )
    .map_err(|e| e.to_string())?;
    demo.status = dev.status;
    devices.push((dev, demo));

    let mut sim = Sim {
        store,
        o,
        rng,
        cands,
        memory: HashMap::new(),
        devices,
        officers,
        reviewer,
        password_hash,
        passcode_hash,
        queue: BinaryHeap::new(),
        steps: Vec::new(),
        report: HistoryReport {
            hashing_seconds,
            ..HistoryReport::default()
        },
    };
    sim.report.eligible = sim.cands.len();

    // The days' collections (working hours, spread over the district's devices up to their
    // capacity) and level-1 registrations (any time of the day).
    let mut next2 = vec![0usize; districts.len()];
    let mut next1 = vec![0usize; districts.len()];
    for (i, (l2, l1)) in plan.iter().zip(&level1_plan).enumerate() {
        let date = first + Duration::days(i as i64);
        for (d, &n) in l2.iter().enumerate() {
            let devs = district_devices.get(d).cloned().unwrap_or_default();
            let capacity: u64 = devs
                .iter()
                .filter_map(|&k| sim.devices.get(k).map(|(x, _)| u64::from(x.daily_capacity)))
                .sum();
            let mut times: Vec<OffsetDateTime> = (0..n.min(capacity))
                .map(|_| between(&mut sim.rng, date, 450.0, 1050.0))
                .collect();
            times.sort();
            let mut used = vec![0u64; devs.len()];
            for (j, t) in times.into_iter().enumerate() {
                let Some(&cand) = level2_pool.get(d).and_then(|p| p.get(next2[d])) else {
                    break;
                };
                next2[d] += 1;
                // Round robin over the devices that have capacity left.
                let Some(slot) = (0..devs.len()).map(|k| (j + k) % devs.len()).find(|&k| {
                    let cap = sim
                        .devices
                        .get(devs[k])
                        .map_or(0, |(x, _)| u64::from(x.daily_capacity));
                    used[k] < cap
                }) else {
                    break;
                };
                used[slot] += 1;
                sim.mem(cand).district = d;
                sim.schedule(
                    t,
                    Step::Collect {
                        cand,
                        device: devs[slot],
                    },
                );
            }
        }
        for (d, &n) in l1.iter().enumerate() {
            for _ in 0..n {
                let Some(&cand) = level1_pool.get(d).and_then(|p| p.get(next1[d])) else {
                    break;
                };
                next1[d] += 1;
                sim.mem(cand).district = d;
                let t = between(&mut sim.rng, date, 360.0, 1380.0);
                sim.schedule(t, Step::Register { cand });
            }
        }
    }

    // Run every step in time order.
    while let Some(Reverse((_, i))) = sim.queue.pop() {
        let Some((t, step)) = sim.steps.get(i).cloned() else {
            continue;
        };
        sim.step(t, step)?;
    }

    sim.report.days = daily_figures(store, &o.province, first, days)?;
    let peak_start = today - Duration::days(PEAK_STARTED_DAYS_AGO);
    sim.report.peak_start = Some(peak_start.max(first));
    sim.report.peak_end = Some(peak_start + Duration::days(PEAK_DAYS - 1));
    sim.report.reviewer = sim.reviewer.username.clone();
    sim.report.devices = sim.devices.iter().map(|(_, d)| d.clone()).collect();
    seed_operations(
        store,
        &o.province,
        first,
        today,
        peak_start.max(first),
        o.now,
    )?;
    sim.report.seconds = started.elapsed().as_secs_f64();
    Ok(Some(sim.report))
}

/// The operations a province runs over that history: the ministry's quotas for the province
/// (applications collected, level-2 and all accounts activated), split to districts and to
/// communes in proportion to eligible people; the peak campaign; weekly reports from each
/// district, some on time, some late, some missing.
///
/// The targets are set so that the deadline, 40 days from today, needs a faster pace than the
/// last week's: the dashboard shows a province behind on accounts and at risk on applications,
/// with districts on both sides, as the seeds' provinces were.
fn seed_operations(
    store: &dyn Store,
    province: &UnitCode,
    first: Date,
    today: Date,
    peak_start: Date,
    now: time::OffsetDateTime,
) -> Result<(), String> {
    use eid_core::ops;
    let e = |e: ops::OpsError| e.to_string();
    let ministry = eid_core::Actor::Cli("demo:ministry".into());
    let province_actor = eid_core::Actor::Cli("demo:province".into());
    let deadline = today + Duration::days(40);
    let range = eid_core::store::path_range(province).ok_or("no path range")?;
    let (from, to) = (acc::day_number(first), acc::day_number(today));
    let week = |m: &str| -> Result<u64, String> {
        Ok(acc::count(store, m, range, to - 6, to)
            .map_err(|e| e.to_string())?
            .max(0)
            .unsigned_abs())
    };
    let done = |m: &str| -> Result<u64, String> {
        Ok(acc::count(store, m, range, from, to)
            .map_err(|e| e.to_string())?
            .max(0)
            .unsigned_abs())
    };
    // Target = done + 40 days at a multiple of the last week's pace.
    for (metric, pace) in [
        (acc::metric::APPLICATIONS_COLLECTED, 1.05),
        (acc::metric::LEVEL2_ACTIVATED, 1.6),
        (acc::metric::ACCOUNTS_ACTIVATED, 1.4),
    ] {
        let target = done(metric)? + ((week(metric)? as f64 / 7.0) * 40.0 * pace).round() as u64;
        let q = ops::set_quota(
            store,
            &ops::NewQuota {
                unit: *province,
                metric: metric.into(),
                cohort: String::new(),
                target: target.max(1),
                start: first,
                deadline,
                parent_id: None,
            },
            &ministry,
            "Kế hoạch triển khai Đề án 06 (demo)",
            now,
        )
        .map_err(e)?;
        let districts = ops::split(
            store,
            q.id,
            ops::Split::Proportional { today },
            &province_actor,
            now,
        )
        .map_err(e)?;
        for d in &districts {
            ops::split(
                store,
                d.id,
                ops::Split::Proportional { today },
                &province_actor,
                now,
            )
            .map_err(e)?;
        }
    }
    ops::add_campaign(
        store,
        PEAK_NAME,
        "Đến từng nhà, rà từng người",
        province,
        peak_start,
        peak_start + Duration::days(PEAK_DAYS - 1),
        &province_actor,
        now,
    )
    .map_err(e)?;
    // Weekly reports from each district to the province, due the day after the week ends:
    // a pattern of on time, late and missing.
    let units = Units::get();
    for (i, d) in units.children(Tree::Gso2024, province).iter().enumerate() {
        let sched = ops::add_schedule(
            store,
            &format!("Công an {}", d.name),
            &d.code,
            eid_domain::campaign::Schedule::Weekly,
            1,
            first,
            &province_actor,
            now,
        )
        .map_err(e)?;
        for (k, p) in
            eid_domain::campaign::periods(eid_domain::campaign::Schedule::Weekly, first, today)
                .into_iter()
                .enumerate()
        {
            let due = eid_domain::campaign::due(p, 1);
            if due >= today {
                continue;
            }
            let late_by = match (i + k) % 5 {
                0 => None,    // missing
                1 => Some(3), // late
                _ => Some(0), // on time
            };
            let Some(late_by) = late_by else { continue };
            let at = (due + Duration::days(late_by))
                .min(today)
                .midnight()
                .assume_offset(acc::vietnam())
                + Duration::hours(16);
            ops::submit_report(
                store,
                sched.id,
                p.start,
                &format!("Tuần {}: đã thu nhận hồ sơ, kích hoạt tài khoản theo kế hoạch; khó khăn: thiếu máy tại xã vùng sâu.", k + 1),
                &eid_core::Actor::Cli(format!("demo:district:{}", d.code.as_str())),
                at.min(now),
            )
            .map_err(e)?;
        }
    }
    Ok(())
}

/// What the roll-up holds for the province, day by day from `first`.
pub fn daily_figures(
    store: &dyn Store,
    province: &UnitCode,
    first: Date,
    days: u32,
) -> Result<Vec<DayFigures>, String> {
    let range = eid_core::store::path_range(province)
        .ok_or_else(|| format!("{province} has no path range"))?;
    let mut out = Vec::new();
    for i in 0..days {
        let date = first + Duration::days(i64::from(i));
        let n = acc::day_number(date);
        let count =
            |metric: &str| acc::count(store, metric, range, n, n).map_err(|e| e.to_string());
        out.push(DayFigures {
            date,
            collected: count(acc::metric::APPLICATIONS_COLLECTED)?,
            level1: count(acc::metric::LEVEL1_ACTIVATED)?,
            level2: count(acc::metric::LEVEL2_ACTIVATED)?,
        });
    }
    Ok(out)
}

/// Writes what the history holds: the devices, weekly figures, the totals and the timing.
pub fn write_report(r: &HistoryReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let in_service = r
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .count();
    let capacity: u32 = r
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .map(|d| d.capacity)
        .sum();
    writeln!(
        out,
        "campaign history: {in_service} intake devices in service ({capacity} applications a day at full capacity) and 1 suspended spare"
    )?;
    if let (Some(s), Some(e)) = (r.peak_start, r.peak_end) {
        writeln!(
            out,
            "{PEAK_NAME}: {} to {} (in progress)",
            eid_domain::iso(s),
            eid_domain::iso(e)
        )?;
    }
    writeln!(
        out,
        "{:<23}  {:>12}  {:>9}  {:>9}",
        "week", "applications", "level 1", "level 2"
    )?;
    for week in r.days.chunks(7) {
        let (Some(a), Some(b)) = (week.first(), week.last()) else {
            continue;
        };
        writeln!(
            out,
            "{} – {}  {:>12}  {:>9}  {:>9}",
            eid_domain::iso(a.date),
            eid_domain::iso(b.date),
            week.iter().map(|d| d.collected).sum::<i64>(),
            week.iter().map(|d| d.level1).sum::<i64>(),
            week.iter().map(|d| d.level2).sum::<i64>(),
        )?;
    }
    let collected = r.total(|d| d.collected);
    let l2 = r.total(|d| d.level2);
    writeln!(
        out,
        "{collected} applications ({} to review: {} approved, {} rejected), {} codes sent ({} re-sent), \
         {l2} level-2 activations ({:.0} % of applications, {} by self-service upgrade), \
         {} level-1 activations of {} started, officer locks: {}",
        r.to_review,
        r.approved_on_review,
        r.rejected,
        r.codes_sent,
        r.resent,
        if collected > 0 {
            l2 as f64 * 100.0 / collected as f64
        } else {
            0.0
        },
        r.upgraded,
        r.level1_confirmed,
        r.level1_started,
        r.locked,
    )?;
    if !r.refused.is_empty() {
        let list: Vec<String> = r.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "steps the rules refused: {}", list.join(", "))?;
    }
    // Three hashes were made: the citizens' password and passcode, the officers' password.
    let per_hash = r.hashing_seconds / 3.0;
    let accounts = r.activated + r.level1_confirmed;
    writeln!(
        out,
        "simulated citizens share the password {DEMO_PASSWORD} and passcode {DEMO_PASSCODE}: each \
         hashed once with Argon2id ({:.0} ms) and the hash reused for all {accounts} accounts \
         (hashing both for each account would have added {:.0} s)",
        per_hash * 1000.0,
        per_hash * 2.0 * accounts as f64
    )?;
    writeln!(
        out,
        "the history took {:.1} s ({:.0} applications a second with everything that follows them)",
        r.seconds,
        if r.seconds > 0.0 {
            collected as f64 / r.seconds
        } else {
            0.0
        }
    )?;
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// The live trickle (`eid demo --live`)

/// What the live trickle needs: the demo's devices it can sign for and a staff token.
#[derive(Clone)]
pub struct Live {
    pub devices: Vec<crate::client::IntakeDevice>,
    pub token: String,
    pub seed: u64,
}

/// Finds the demo's active devices of the province whose keys derive from `seed`, and issues
/// an API token (for the person search and the development outbox, which only ministry-level
/// staff read) to the demo's ministry officer.
pub fn live_setup(store: &dyn Store, province: UnitCode, seed: u64) -> Result<Live, String> {
    let mut devices = Vec::new();
    for d in acc::devices(store, &province).map_err(|e| e.to_string())? {
        if d.status != DeviceStatus::Active {
            continue;
        }
        let found = (0..16).map(|k| device_seed(seed, &d.unit, k)).find(|s| {
            eid_core::intake::signing_key(s)
                .map(|key| {
                    eid_core::intake::public_hex(&key) == eid_core::secret::hex(&d.public_key)
                })
                .unwrap_or(false)
        });
        if let Some(seed_hex) = found {
            devices.push(crate::client::IntakeDevice {
                id: d.id,
                seed_hex,
                officer: format!("thunhan.{}", d.unit),
            });
        }
    }
    if devices.is_empty() {
        return Err(
            "--live needs the demo's intake devices: run the demo with a history (--history-days above 0) and the same --seed"
                .to_owned(),
        );
    }
    let (staff, _) = store
        .staff_by_username(MINISTRY_OFFICER)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--live needs the demo's staff user {MINISTRY_OFFICER}"))?;
    let token = eid_core::secret::random_token();
    store
        .create_api_token(
            staff.id,
            "eid demo --live",
            &token_hash(&token),
            eid_core::clock::Clock::now(&eid_core::clock::SystemClock),
        )
        .map_err(|e| e.to_string())?;
    Ok(Live {
        devices,
        token,
        seed,
    })
}

/// Starts the live trickle on its own thread: every 2 to 8 seconds one of the devices sends an
/// application for someone of its district; about 60 % are activated at once and a level-1
/// registration follows every third application. Runs until the process ends; failures are
/// logged and the trickle goes on.
pub fn spawn_live(base: String, live: Live) {
    std::thread::spawn(move || {
        let client = crate::client::Client::new(&base);
        let mut rng = Rng::new(live.seed ^ crate::client::clock_seed());
        let mut sims: Vec<crate::client::Simulator> = Vec::new();
        std::thread::sleep(std::time::Duration::from_secs(2));
        for d in &live.devices {
            let sim = crate::client::Simulation {
                token: live.token.clone(),
                device: d.clone(),
                count: 200,
                activate_rate: 0.6,
                level1_rate: 0.33,
                no_match_rate: 0.02,
                password: DEMO_PASSWORD.to_owned(),
                passcode: DEMO_PASSCODE.to_owned(),
                ids: None,
                seed: rng.next_u64(),
            };
            match crate::client::Simulator::new(&client, sim) {
                Ok(s) => sims.push(s),
                Err(e) => tracing::warn!(device = d.id, error = %e, "live: no candidates"),
            }
        }
        let mut sent = 0u64;
        while !sims.is_empty() {
            let wait = 2000 + rng.below(6000);
            std::thread::sleep(std::time::Duration::from_millis(wait));
            let i = rng.below(sims.len() as u64) as usize;
            let Some(s) = sims.get_mut(i) else { continue };
            match s.step() {
                Ok(true) => {
                    sent += 1;
                    if sent.is_multiple_of(20) {
                        tracing::info!(applications = sent, "live: trickle going on");
                    }
                }
                Ok(false) => {
                    sims.swap_remove(i);
                }
                Err(e) => tracing::warn!(error = %e, "live: a step failed"),
            }
        }
        tracing::info!("live: every candidate was used; the trickle stops");
    });
}
