//! The simulation: candidates, scheduled steps, and each step through the accounts use cases.

use super::*;

/// A person the simulation may use: alive, 14 or older over the whole history, a valid card
/// throughout, a phone.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) id: PersonalId,
    pub(super) phone: PhoneNumber,
    pub(super) smartphone: bool,
    pub(super) self_service: bool,
}

/// One step of the simulation, taken at its time.
#[derive(Debug, Clone)]
pub(super) enum Step {
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
pub(super) struct Memory {
    pub(super) district: usize,
    pub(super) application: Option<i64>,
    pub(super) phone: String,
    pub(super) code: String,
    pub(super) handle: String,
}
pub(super) struct Sim<'a> {
    pub(super) store: &'a dyn Store,
    pub(super) o: &'a HistoryOptions,
    pub(super) rng: Rng,
    pub(super) cands: Vec<Candidate>,
    pub(super) memory: HashMap<usize, Memory>,
    pub(super) devices: Vec<(acc::Device, DemoDevice)>,
    pub(super) officers: Vec<Staff>,
    pub(super) reviewer: Staff,
    pub(super) password_hash: String,
    pub(super) passcode_hash: String,
    pub(super) queue: BinaryHeap<Reverse<(i64, usize)>>,
    pub(super) steps: Vec<(OffsetDateTime, Step)>,
    pub(super) report: HistoryReport,
}

impl Sim<'_> {
    pub(super) fn schedule(&mut self, t: OffsetDateTime, step: Step) {
        if t > self.o.now {
            return;
        }
        let i = self.steps.len();
        self.steps.push((t, step));
        self.queue
            .push(Reverse(((t.unix_timestamp_nanos() / 1_000_000) as i64, i)));
    }

    pub(super) fn refused(&mut self, r: &Refusal) -> Result<(), String> {
        if let Refusal::Store(e) = r {
            return Err(e.to_string());
        }
        *self.report.refused.entry(r.code()).or_insert(0) += 1;
        Ok(())
    }

    /// The code of the message just queued to `to` for `purpose`, which is then recorded as
    /// delivered (the demo sends nothing: its phones are synthetic).
    pub(super) fn take_code(
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

    pub(super) fn device_hash(&self, cand: usize) -> Vec<u8> {
        token_hash(&format!(
            "demo-phone-{}",
            self.cands.get(cand).map(|c| c.id.as_str()).unwrap_or("")
        ))
    }

    pub(super) fn cand(&self, cand: usize) -> Result<Candidate, String> {
        self.cands
            .get(cand)
            .cloned()
            .ok_or_else(|| "demo: no such candidate".to_owned())
    }

    pub(super) fn mem(&mut self, cand: usize) -> &mut Memory {
        self.memory.entry(cand).or_default()
    }

    /// Whether and when the citizen activates after a code was sent at `sent`.
    pub(super) fn plan_activation(&mut self, cand: usize, sent: OffsetDateTime) {
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

    pub(super) fn collect(
        &mut self,
        t: OffsetDateTime,
        cand: usize,
        device: usize,
    ) -> Result<(), String> {
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

    pub(super) fn step(&mut self, t: OffsetDateTime, step: Step) -> Result<(), String> {
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
