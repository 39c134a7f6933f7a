//! A client that plays the citizen app and an intake device over HTTP against a running server:
//! the library behind `eid client …`, also used by the tests and by `eid demo --live`.
//!
//! It speaks only the public API: `/api/v1/intake/applications` with packets signed by the
//! device's Ed25519 key, the app's `/api/v1/app/…` routes, and, with a staff token, the
//! development SMS outbox (`GET /api/v1/sms`, served only while the development sink is the
//! sender) to read the codes a citizen would get on their phone, plus the person search to pick
//! applicants. Every call is blocking (ureq): use it from a thread, not from async code.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use eid_core::intake::{self, PacketFields};
use eid_domain::PhoneNumber;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// How long one request may take (activation and sign-in hash with Argon2id on the server).
pub const TIMEOUT: Duration = Duration::from_secs(60);

// ----------------------------------------------------------------------------------------------
// Errors

/// A refused or failed call: the HTTP status and the server's error code and message, or a
/// transport failure (no status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl ClientError {
    fn local(code: &str, message: impl Into<String>) -> ClientError {
        ClientError {
            status: None,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s} {}: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// A small deterministic random source (the same seed gives the same simulation)

/// SplitMix64: enough for picking people and rates in a simulation; not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.next_u64() % n
    }
    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
    /// 16 bytes (a packet nonce).
    pub fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

/// A seed from the clock, for runs that need not repeat.
pub fn clock_seed() -> u64 {
    let now = eid_core::clock::Clock::now(&eid_core::clock::SystemClock);
    (now.unix_timestamp_nanos() as u64) ^ u64::from(std::process::id())
}

// ----------------------------------------------------------------------------------------------
// Intake devices and codes

/// An intake device as the client plays it: its id, its private key seed (hex), and the
/// officer whose username goes into every packet.
#[derive(Clone)]
pub struct IntakeDevice {
    pub id: i64,
    pub seed_hex: String,
    pub officer: String,
}

/// What a device checked and puts in one packet.
#[derive(Clone)]
pub struct Applicant<'a> {
    pub personal_id: &'a str,
    pub phone: &'a str,
    /// Whether the device found a fingerprint (or portrait) match.
    pub matched: bool,
    /// `fingerprint` or `portrait`.
    pub method: &'a str,
    /// `card`, `register` or `immigration`.
    pub against: &'a str,
    pub collected_at: OffsetDateTime,
}

impl<'a> Applicant<'a> {
    /// A fingerprint match against the card, collected now.
    pub fn matching(personal_id: &'a str, phone: &'a str) -> Applicant<'a> {
        Applicant {
            personal_id,
            phone,
            matched: true,
            method: "fingerprint",
            against: "card",
            collected_at: eid_core::clock::Clock::now(&eid_core::clock::SystemClock),
        }
    }
}

impl IntakeDevice {
    /// Signs a packet for `a`: `(packet_hex, signature_hex)`. The portrait hash is that of the
    /// development portrait of the applicant.
    pub fn sign(&self, a: &Applicant<'_>, nonce: [u8; 16]) -> Result<(String, String), String> {
        let key = intake::signing_key(&self.seed_hex).map_err(|e| e.to_string())?;
        let fields = PacketFields {
            device: self.id,
            personal_id: a.personal_id,
            phone: a.phone,
            portrait_sha256: eid_core::face::sha256(&eid_core::face::dev_portrait(a.personal_id)),
            method: a.method,
            against: a.against,
            matched: a.matched,
            score: if a.matched { 0.97 } else { 0.31 },
            officer: &self.officer,
            collected_at: a.collected_at,
            nonce,
        };
        intake::sign(&fields, &key)
    }
}

/// A random packet nonce from the OS.
pub fn random_nonce() -> [u8; 16] {
    let token = eid_core::secret::random_token();
    let bytes = intake::unhex(token.get(..32).unwrap_or("")).unwrap_or_default();
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b;
    }
    out
}

/// The one-time code in an SMS text: the first run of exactly six digits.
pub fn code_in(body: &str) -> Option<String> {
    let mut run = String::new();
    for ch in body.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() {
            run.push(ch);
            continue;
        }
        if run.len() == 6 {
            return Some(run);
        }
        run.clear();
    }
    None
}

/// The E.164 form of a phone number as the outbox addresses it (the input when it does not
/// parse, so that the server gives the error).
pub fn e164(phone: &str) -> String {
    PhoneNumber::parse(phone)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|_| phone.trim().to_owned())
}

// ----------------------------------------------------------------------------------------------
// Answers

/// An application as the intake call answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub application_id: i64,
    /// `code_sent` (approved automatically, the code went by SMS) or `review`.
    pub state: String,
    pub review_reason: Option<String>,
}

/// What a sign-in gives.
#[derive(Clone, PartialEq, Eq)]
pub enum SignedIn {
    Session {
        token: String,
        expires_at: String,
    },
    /// A new device: a code went to the account's phone; confirm with this handle.
    DeviceCheck {
        handle: String,
    },
}

/// One message of the development outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxSms {
    pub id: i64,
    pub to: String,
    pub body: String,
    pub purpose: String,
    pub state: String,
}

/// A person the simulation may use, from the staff API.
#[derive(Clone, PartialEq, Eq)]
pub struct Candidate {
    pub personal_id: String,
    pub phone: String,
    pub smartphone: bool,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

// ----------------------------------------------------------------------------------------------
// The client

/// The client's HTTP agent: the whole call within [`TIMEOUT`], no redirects, every status an
/// answer, TLS against the webpki roots, no proxy from the environment.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

/// A connection to one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `base` (`http://host:port` or `https://…`).
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim().trim_end_matches('/').to_owned(),
            agent: agent(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn answer(
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ClientError> {
        let mut resp = r.map_err(|e| ClientError::local("transport", e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::local("transport", e.to_string()))?;
        let v: Value = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        if (200..300).contains(&status) {
            return Ok(v);
        }
        let err = v.get("error");
        Err(ClientError {
            status: Some(status),
            code: err
                .map(|e| text(e, "code"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "http".to_owned()),
            message: err
                .map(|e| text(e, "message"))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| format!("the server answered {status}")),
        })
    }

    fn post(&self, path: &str, body: &Value, bearer: Option<&str>) -> Result<Value, ClientError> {
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(t) = bearer {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        Client::answer(req.send(body.to_string()))
    }

    fn get(&self, path: &str, bearer: &str) -> Result<Value, ClientError> {
        let req = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {bearer}"));
        Client::answer(req.call())
    }

    // The intake device.

    /// Sends one signed application packet as `device`.
    pub fn intake_signed(&self, packet: &str, signature: &str) -> Result<Intake, ClientError> {
        let v = self.post(
            "/api/v1/intake/applications",
            &json!({ "packet": packet, "signature": signature }),
            None,
        )?;
        let app = v.get("application").cloned().unwrap_or(Value::Null);
        Ok(Intake {
            application_id: app.get("id").and_then(Value::as_i64).unwrap_or(0),
            state: text(&app, "state"),
            review_reason: v
                .get("review_reason")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Signs (with a random nonce) and sends one application as `device`.
    pub fn intake(&self, device: &IntakeDevice, a: &Applicant<'_>) -> Result<Intake, ClientError> {
        let (packet, sig) = device
            .sign(a, random_nonce())
            .map_err(|e| ClientError::local("packet.sign", e))?;
        self.intake_signed(&packet, &sig)
    }

    // The citizen app.

    /// Starts a level-1 registration; returns the handle to confirm with.
    pub fn register(
        &self,
        personal_id: &str,
        phone: &str,
        photo: &[u8],
        app_device: &str,
    ) -> Result<String, ClientError> {
        use base64::Engine as _;
        let v = self.post(
            "/api/v1/app/register",
            &json!({
                "personal_id": personal_id,
                "phone": phone,
                "photo_base64": base64::engine::general_purpose::STANDARD.encode(photo),
                "device_id": app_device,
            }),
            None,
        )?;
        Ok(text(&v, "handle"))
    }

    /// Confirms a level-1 registration; returns the account.
    pub fn confirm(
        &self,
        handle: &str,
        code: &str,
        password: &str,
        passcode: &str,
    ) -> Result<Value, ClientError> {
        let v = self.post(
            "/api/v1/app/register/confirm",
            &json!({ "handle": handle, "code": code, "password": password, "passcode": passcode }),
            None,
        )?;
        Ok(v.get("account").cloned().unwrap_or(Value::Null))
    }

    /// Activates level 2 with the code from the SMS; returns the account.
    pub fn activate(
        &self,
        personal_id: &str,
        code: &str,
        password: &str,
        passcode: &str,
        app_device: &str,
    ) -> Result<Value, ClientError> {
        let v = self.post(
            "/api/v1/app/activate",
            &json!({
                "personal_id": personal_id,
                "code": code,
                "password": password,
                "passcode": passcode,
                "device_id": app_device,
            }),
            None,
        )?;
        Ok(v.get("account").cloned().unwrap_or(Value::Null))
    }

    fn signed_in(v: &Value) -> SignedIn {
        match v.get("device_check").and_then(Value::as_str) {
            Some(h) => SignedIn::DeviceCheck {
                handle: h.to_owned(),
            },
            None => SignedIn::Session {
                token: text(v, "token"),
                expires_at: text(v, "expires_at"),
            },
        }
    }

    /// Signs in with personal ID and password from an app device.
    pub fn signin(
        &self,
        personal_id: &str,
        password: &str,
        app_device: &str,
    ) -> Result<SignedIn, ClientError> {
        let v = self.post(
            "/api/v1/app/signin",
            &json!({ "personal_id": personal_id, "password": password, "device_id": app_device }),
            None,
        )?;
        Ok(Client::signed_in(&v))
    }

    /// Confirms a new device with the code sent to the account's phone.
    pub fn confirm_device(&self, handle: &str, code: &str) -> Result<SignedIn, ClientError> {
        let v = self.post(
            "/api/v1/app/signin/device",
            &json!({ "handle": handle, "code": code }),
            None,
        )?;
        Ok(Client::signed_in(&v))
    }

    /// The signed-in holder's account.
    pub fn my_account(&self, session: &str) -> Result<Value, ClientError> {
        let v = self.get("/api/v1/app/account", session)?;
        Ok(v.get("account").cloned().unwrap_or(v))
    }

    // Staff (a bearer API token).

    /// The latest messages of the development outbox, newest first.
    pub fn sms(&self, staff_token: &str, limit: u32) -> Result<Vec<OutboxSms>, ClientError> {
        let v = self.get(&format!("/api/v1/sms?limit={limit}"), staff_token)?;
        Ok(v.get("messages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|m| OutboxSms {
                        id: m.get("id").and_then(Value::as_i64).unwrap_or(0),
                        to: text(m, "to"),
                        body: text(m, "body"),
                        purpose: text(m, "purpose"),
                        state: text(m, "state"),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The code of the newest message to `phone` for `purpose` (`activate`, `register`,
    /// `device`, …) whose id is above `after`, read from the development outbox.
    pub fn latest_code(
        &self,
        staff_token: &str,
        phone: &str,
        purpose: &str,
        after: i64,
    ) -> Result<Option<(i64, String)>, ClientError> {
        let to = e164(phone);
        for limit in [50, 500] {
            let msgs = self.sms(staff_token, limit)?;
            let found = msgs
                .iter()
                .filter(|m| m.id > after && m.to == to && m.purpose == purpose)
                .find_map(|m| code_in(&m.body).map(|c| (m.id, c)));
            if found.is_some() || msgs.len() < limit as usize {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The intake devices the token's officer sees.
    pub fn devices(&self, staff_token: &str) -> Result<Vec<Value>, ClientError> {
        let v = self.get("/api/v1/devices", staff_token)?;
        Ok(v.get("devices")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Persons whose folded name starts with `name` (born in `birth_year`, if given), living
    /// inside `unit`.
    pub fn persons(
        &self,
        staff_token: &str,
        name: &str,
        birth_year: Option<i32>,
        unit: &str,
        limit: u32,
    ) -> Result<Vec<Value>, ClientError> {
        let birth = birth_year
            .map(|y| format!("&birth={y}"))
            .unwrap_or_default();
        let v = self.get(
            &format!(
                "/api/v1/persons?name={}&unit={}&limit={limit}{birth}",
                query_escape(name),
                query_escape(unit)
            ),
            staff_token,
        )?;
        Ok(v.get("persons")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// One person by personal ID.
    pub fn person(&self, staff_token: &str, personal_id: &str) -> Result<Value, ClientError> {
        self.get(
            &format!("/api/v1/persons/{}", query_escape(personal_id)),
            staff_token,
        )
    }
}

/// Percent-encodes a query value.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a person (as the staff API shows them) may apply today: alive, 14 or older (15 by
/// birth year, to be safe with year-only dates), a valid card and a phone.
pub fn eligible(p: &Value, today: time::Date) -> Option<Candidate> {
    let alive = p.pointer("/life_status/state").and_then(Value::as_str) == Some("alive");
    let card = p.pointer("/card/valid").and_then(Value::as_bool) == Some(true);
    let phone = p.get("phone").and_then(Value::as_str)?;
    let year: i32 = text(p, "birth_date").get(..4)?.parse().ok()?;
    if !alive || !card || today.year() - year < 15 {
        return None;
    }
    Some(Candidate {
        personal_id: text(p, "personal_id"),
        phone: phone.to_owned(),
        smartphone: text(p, "phone_type") == "smartphone",
    })
}

// ----------------------------------------------------------------------------------------------
// The simulation behind `eid client simulate`

/// The commonest Vietnamese surnames, folded: the person search needs a name prefix of at least
/// two letters.
pub const SURNAMES: &[&str] = &[
    "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do",
    "ho", "ngo", "duong", "ly", "dinh", "trinh", "mai", "truong", "lam", "ha", "luu", "cao",
];

/// What `simulate` does.
#[derive(Clone)]
pub struct Simulation {
    /// A staff token that sees the device's unit (for the person search and the outbox).
    pub token: String,
    pub device: IntakeDevice,
    /// How many applications to send.
    pub count: usize,
    /// Of the applications approved, how many the citizens activate (0.0 to 1.0).
    pub activate_rate: f64,
    /// Level-1 registrations started per application sent (0.0 to 1.0).
    pub level1_rate: f64,
    /// Of the packets, how many carry no fingerprint match (they go to review).
    pub no_match_rate: f64,
    /// The password and passcode every simulated citizen sets.
    pub password: String,
    pub passcode: String,
    /// Applicants from this list of personal IDs instead of the person search.
    pub ids: Option<Vec<String>>,
    pub seed: u64,
}

/// What a simulation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulationReport {
    pub candidates: usize,
    pub sent: u64,
    pub collected: u64,
    pub in_review: u64,
    /// Refusals by error code.
    pub refused: BTreeMap<String, u64>,
    pub activation_codes: u64,
    pub activated: u64,
    pub signed_in: u64,
    pub level1_started: u64,
    pub level1_confirmed: u64,
    pub seconds: f64,
}

impl SimulationReport {
    fn refuse(&mut self, e: &ClientError) {
        *self.refused.entry(e.code.clone()).or_insert(0) += 1;
    }
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "-".to_owned()
    } else {
        format!("{:.1} %", n as f64 * 100.0 / d as f64)
    }
}

impl fmt::Display for SimulationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_s = |n: u64| {
            if self.seconds > 0.0 {
                n as f64 / self.seconds
            } else {
                0.0
            }
        };
        writeln!(f, "candidates found      {}", self.candidates)?;
        writeln!(
            f,
            "applications sent     {} ({:.1}/s)",
            self.sent,
            per_s(self.sent)
        )?;
        writeln!(
            f,
            "  collected           {} ({} of sent)",
            self.collected,
            pct(self.collected, self.sent)
        )?;
        writeln!(
            f,
            "  in review           {} ({} of collected)",
            self.in_review,
            pct(self.in_review, self.collected)
        )?;
        for (code, n) in &self.refused {
            writeln!(f, "  refused {code:<20} {n}")?;
        }
        writeln!(f, "activation codes read {}", self.activation_codes)?;
        writeln!(
            f,
            "level 2 activated     {} ({} of collected, {:.1}/s)",
            self.activated,
            pct(self.activated, self.collected),
            per_s(self.activated)
        )?;
        writeln!(f, "signed in             {}", self.signed_in)?;
        writeln!(
            f,
            "level 1 started       {} ({} of applications sent)",
            self.level1_started,
            pct(self.level1_started, self.sent)
        )?;
        writeln!(
            f,
            "level 1 activated     {} ({} of started)",
            self.level1_confirmed,
            pct(self.level1_confirmed, self.level1_started)
        )?;
        write!(f, "in {:.1} s", self.seconds)
    }
}

/// Finds people the device may collect from: through the person search within the device's
/// unit (by common surnames), or from `ids`, one staff read each.
pub fn candidates(
    client: &Client,
    sim: &Simulation,
    want: usize,
) -> Result<Vec<Candidate>, ClientError> {
    let today = eid_core::clock::Clock::now(&eid_core::clock::SystemClock)
        .to_offset(eid_core::clock::vietnam())
        .date();
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    if let Some(ids) = &sim.ids {
        for id in ids {
            if out.len() >= want {
                break;
            }
            match client.person(&sim.token, id) {
                Ok(p) => {
                    if let Some(c) = eligible(&p, today) {
                        if seen.insert(c.personal_id.clone()) {
                            out.push(c);
                        }
                    }
                }
                Err(e) if e.status == Some(404) || e.status == Some(400) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(out);
    }
    let devices = client.devices(&sim.token)?;
    let unit = devices
        .iter()
        .find(|d| d.get("id").and_then(Value::as_i64) == Some(sim.device.id))
        .map(|d| text(d, "unit"))
        .ok_or_else(|| {
            ClientError::local(
                "device.not_found",
                format!(
                    "device {} is not among the devices the token's officer sees",
                    sim.device.id
                ),
            )
        })?;
    // A search gives at most 100 people: by surname first, then by surname and birth year.
    let mut searches: Vec<(&str, Option<i32>)> = SURNAMES.iter().map(|s| (*s, None)).collect();
    for year in (1940..=today.year() - 15).rev() {
        searches.extend(SURNAMES.iter().take(8).map(|s| (*s, Some(year))));
    }
    for (surname, year) in searches {
        if out.len() >= want {
            break;
        }
        let found = match client.persons(&sim.token, surname, year, &unit, 100) {
            Ok(found) => found,
            Err(e) if e.status == Some(400) => continue,
            Err(e) => return Err(e),
        };
        for p in found {
            if let Some(c) = eligible(&p, today) {
                if seen.insert(c.personal_id.clone()) {
                    out.push(c);
                }
            }
        }
    }
    Ok(out)
}

/// A simulation under way: the people found, and what was done so far.
#[derive(Debug)]
pub struct Simulator {
    client: Client,
    sim: Simulation,
    rng: Rng,
    pool: Vec<Candidate>,
    /// Applicants come from the front of the pool, level-1 registrations from the back.
    front: usize,
    back: usize,
    /// Codes are read from messages newer than this.
    last_sms: i64,
    level1_due: f64,
    started: Instant,
    pub report: SimulationReport,
}

impl Simulator {
    /// Finds the candidates (enough for `sim.count` applications and their level-1 share).
    pub fn new(client: &Client, sim: Simulation) -> Result<Simulator, ClientError> {
        let started = Instant::now();
        let mut rng = Rng::new(sim.seed);
        let want = sim
            .count
            .saturating_add((sim.count as f64 * sim.level1_rate).ceil() as usize)
            .saturating_add(10);
        let mut pool = candidates(client, &sim, want)?;
        rng.shuffle(&mut pool);
        let last_sms = client
            .sms(&sim.token, 1)?
            .first()
            .map(|m| m.id)
            .unwrap_or(0);
        Ok(Simulator {
            client: client.clone(),
            report: SimulationReport {
                candidates: pool.len(),
                ..SimulationReport::default()
            },
            back: pool.len(),
            front: 0,
            pool,
            sim,
            rng,
            last_sms,
            level1_due: 0.0,
            started,
        })
    }

    /// Sends one application (activating it, or not, at once) and the level-1 registrations
    /// due with it. False when no candidate is left.
    pub fn step(&mut self) -> Result<bool, ClientError> {
        if self.front >= self.back {
            return Ok(false);
        }
        let c = self.pool[self.front].clone();
        self.front += 1;
        let mut a = Applicant::matching(&c.personal_id, &c.phone);
        a.matched = !self.rng.chance(self.sim.no_match_rate);
        self.report.sent += 1;
        match self.client.intake(&self.sim.device, &a) {
            Ok(app) => {
                self.report.collected += 1;
                if app.state == "review" {
                    self.report.in_review += 1;
                } else if self.rng.chance(self.sim.activate_rate) {
                    self.activate(&c)?;
                }
            }
            Err(e) if e.status.is_some() => self.report.refuse(&e),
            Err(e) => return Err(e),
        }
        self.level1_due += self.sim.level1_rate;
        while self.level1_due >= 1.0 && self.front < self.back {
            self.level1_due -= 1.0;
            self.back -= 1;
            // Prefer a smartphone holder: swap one in from further down if there is one.
            let back = self.back;
            if !self.pool[back].smartphone {
                if let Some(i) = (self.front..back).rev().find(|&i| self.pool[i].smartphone) {
                    self.pool.swap(i, back);
                }
            }
            let c = self.pool[back].clone();
            self.register(&c)?;
        }
        self.report.seconds = self.started.elapsed().as_secs_f64();
        Ok(true)
    }

    /// The report, with the time taken.
    pub fn finish(mut self) -> SimulationReport {
        self.report.seconds = self.started.elapsed().as_secs_f64();
        self.report
    }

    fn activate(&mut self, c: &Candidate) -> Result<(), ClientError> {
        let (client, sim) = (&self.client, &self.sim);
        let Some((id, code)) =
            client.latest_code(&sim.token, &c.phone, "activate", self.last_sms)?
        else {
            *self
                .report
                .refused
                .entry("code.not_in_outbox".into())
                .or_insert(0) += 1;
            return Ok(());
        };
        self.last_sms = self.last_sms.max(id);
        self.report.activation_codes += 1;
        let device = app_device(&c.personal_id);
        match client.activate(&c.personal_id, &code, &sim.password, &sim.passcode, &device) {
            Ok(_) => self.report.activated += 1,
            Err(e) if e.status.is_some() => {
                self.report.refuse(&e);
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        match client.signin(&c.personal_id, &sim.password, &device) {
            Ok(SignedIn::Session { .. }) => self.report.signed_in += 1,
            Ok(SignedIn::DeviceCheck { .. }) => {}
            Err(e) if e.status.is_some() => self.report.refuse(&e),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn register(&mut self, c: &Candidate) -> Result<(), ClientError> {
        let (client, sim) = (&self.client, &self.sim);
        let device = app_device(&c.personal_id);
        let photo = eid_core::face::dev_portrait(&c.personal_id);
        let handle = match client.register(&c.personal_id, &c.phone, &photo, &device) {
            Ok(h) => h,
            Err(e) if e.status.is_some() => {
                self.report.refuse(&e);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.report.level1_started += 1;
        // No message: the register refused quietly (an account exists, or no such person).
        let Some((id, code)) =
            client.latest_code(&sim.token, &c.phone, "register", self.last_sms)?
        else {
            *self
                .report
                .refused
                .entry("register.no_code_sent".into())
                .or_insert(0) += 1;
            return Ok(());
        };
        self.last_sms = self.last_sms.max(id);
        match client.confirm(&handle, &code, &sim.password, &sim.passcode) {
            Ok(_) => self.report.level1_confirmed += 1,
            Err(e) if e.status.is_some() => self.report.refuse(&e),
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// Plays the device and the citizens: sends `sim.count` signed applications for eligible
/// people, reads each activation code from the outbox, activates a share of them (and signs
/// those in), and starts (and confirms) level-1 registrations for others. Calls `progress`
/// after each application.
pub fn simulate(
    client: &Client,
    sim: &Simulation,
    progress: &mut dyn FnMut(&SimulationReport),
) -> Result<SimulationReport, ClientError> {
    let mut s = Simulator::new(client, sim.clone())?;
    while (s.report.sent as usize) < sim.count && s.step()? {
        progress(&s.report);
    }
    Ok(s.finish())
}

fn app_device(personal_id: &str) -> String {
    format!("sim-phone-{personal_id}")
}

/// Reads a list of personal IDs: one per line, or the first column of a CSV (a header line
/// and any line whose first field is not 12 digits are skipped), e.g. `eid export persons`.
pub fn read_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let first = l.split(',').next().unwrap_or("").trim().trim_matches('"');
            (first.len() == 12 && first.bytes().all(|b| b.is_ascii_digit()))
                .then(|| first.to_owned())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_first_run_of_six_digits() {
        assert_eq!(
            code_in("Ho so ... Ma kich hoat: 042137, hieu luc den het ngay 30/11/2026."),
            Some("042137".to_owned())
        );
        assert_eq!(
            code_in("Ma xac thuc dang ky tai khoan dinh danh dien tu: 123456. Hieu luc 5 phut."),
            Some("123456".to_owned())
        );
        assert_eq!(code_in("goi 1900 0368, ma ••••••"), None);
        assert_eq!(code_in("1234567 and 654321"), Some("654321".to_owned()));
    }

    #[test]
    fn the_random_source_repeats_for_a_seed() {
        let mut a = Rng::new(9);
        let mut b = Rng::new(9);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut v: Vec<u32> = (0..50).collect();
        a.shuffle(&mut v);
        let mut w: Vec<u32> = (0..50).collect();
        b.shuffle(&mut w);
        assert_eq!(v, w);
        assert!((0..1000).all(|_| a.unit() < 1.0 && a.below(7) < 7));
    }

    #[test]
    fn signed_packets_verify_with_the_device_key() {
        let seed = "11".repeat(32);
        let key = intake::signing_key(&seed).unwrap();
        let public = intake::parse_public_key(&intake::public_hex(&key)).unwrap();
        let device = IntakeDevice {
            id: 4,
            seed_hex: seed,
            officer: "thunhan.608".into(),
        };
        let a = Applicant::matching("062090001234", "0912345678");
        let (packet, sig) = device.sign(&a, random_nonce()).unwrap();
        let p = intake::verify(&packet, &sig, &public).unwrap();
        assert_eq!((p.device, p.officer.as_str()), (4, "thunhan.608"));
    }

    #[test]
    fn id_lists_take_the_first_column_and_skip_headers() {
        let text = "personal_id,surname\n062090001234,Nguyễn\n\"062190001235\",A\nbad\n";
        assert_eq!(read_ids(text), vec!["062090001234", "062190001235"]);
    }
}
