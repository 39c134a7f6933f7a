//! Accounts over HTTP: level 1 and level 2 from registration to activation, their lifecycle, and every refusal.
//!
//! Each test runs its own server over a fresh store (SQLite, or PostgreSQL when
//! `EID_TEST_DATABASE_URL` is set) in Kon Tum: a commune, a neighbouring commune of the same
//! district, and a commune of another district. Persons are written through the store's writer
//! so that each test decides age, card and life status; staff come from `helpers::create_user`;
//! SMS codes are read from the development outbox (`GET /api/v1/sms`).

mod changes;
mod hardening_secrets;
mod level1;
mod level2;
mod locks;
mod parallel;
mod rollup;
mod signin;
mod upgrade;

use std::cell::Cell;
use std::sync::Arc;

use base64::Engine as _;
use eid_core::accounts::{self as acc};
use eid_core::intake::{new_key, sign, signing_key, PacketFields};
use eid_core::store::{to_ms, Role};
use eid_core::{Actor, Store, StoreError};
use eid_domain::{
    BirthDate, Card, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
    Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;
use time::{Date, Duration};

use crate::helpers::{agent, call, create_user, fresh_store, send_json, spawn, Reply, TestUser};

/// A password that meets the policy, and the holder's 6-digit passcode.
const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";
const PASSCODE: &str = "246810";
/// The app's identifier of the holder's phone, and of a second phone.
const DEVICE: &str = "app-device-0001";
const OTHER_DEVICE: &str = "app-device-0002";

// ----------------------------------------------------------------------------------------------
// The world of one test

/// Kon Tum: `commune` and `neighbour` in `district` (the province's second district), `far` in
/// its first district (so `far`'s code sorts before `commune`'s).
struct Places {
    province: UnitCode,
    district: UnitCode,
    commune: UnitCode,
    neighbour: UnitCode,
    far: UnitCode,
}

fn places() -> Places {
    let units = Units::get();
    let province = UnitCode::parse("62").unwrap();
    let districts = units.children(Tree::Gso2024, &province);
    let first = districts[0].code;
    let district = districts[1].code;
    let communes = units.children(Tree::Gso2024, &district);
    let far = units.children(Tree::Gso2024, &first)[0].code;
    let p = Places {
        province,
        district,
        commune: communes[0].code,
        neighbour: communes[1].code,
        far,
    };
    assert!(p.far.as_str() < p.commune.as_str() && p.commune.as_str() < p.neighbour.as_str());
    p
}

/// An intake device: its id and its key's seed.
struct Dev {
    id: i64,
    seed: String,
}

struct World {
    base: String,
    store: Arc<dyn Store>,
    at: Places,
    /// A commune officer of `commune` and a district officer of `district`.
    xa: TestUser,
    huyen: TestUser,
    /// A ministry-level officer: the only level that reads the development outbox.
    bo: TestUser,
    serial: Cell<u32>,
}

impl World {
    fn new(label: &str) -> World {
        World::with_config(label, eid::testkit::test_config())
    }

    /// A world whose server runs with `config`.
    fn with_config(label: &str, config: eid::Config) -> World {
        let store = fresh_store(label);
        let at = places();
        let xa = create_user(store.as_ref(), "xa", Role::Commune, at.commune);
        let huyen = create_user(store.as_ref(), "huyen", Role::District, at.district);
        let bo = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
        let clock = Arc::new(eid_core::clock::SystemClock);
        World {
            base: eid::testkit::spawn_with(Arc::clone(&store), config, clock).base,
            store,
            at,
            xa,
            huyen,
            bo,
            serial: Cell::new(1),
        }
    }

    fn user(&self, name: &str, role: Role, unit: UnitCode) -> TestUser {
        create_user(self.store.as_ref(), name, role, unit)
    }

    // -- HTTP

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = agent().post(&format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        answer(send_json(req, body))
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = agent().get(&format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        answer(call(req))
    }

    // -- The register

    /// A new adult of `commune`, born 1990-03-15, with a card issued on `card` (valid today when
    /// issued after 2013) and a phone of their own; written to the register.
    fn person(&self, card: Option<Date>) -> Person {
        self.person_born(date!(1990 - 03 - 15), card, self.at.commune)
    }

    fn person_born(&self, born: Date, card: Option<Date>, unit: UnitCode) -> Person {
        let n = self.serial.get();
        self.serial.set(n + 1);
        let id = PersonalId::from_parts(62, Sex::Female, born.year(), n).unwrap();
        let p = Person {
            id,
            name: PersonName::parse("Nguyễn", "Thị", "Hoa").unwrap(),
            birth: BirthDate::Full(born),
            sex: Sex::Female,
            hometown: None,
            residence: Residence {
                unit,
                address: format!("Thôn {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0912{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: card.map(|issued| Card {
                issued,
                revoked: false,
            }),
        };
        self.put(&p);
        p
    }

    /// Writes a person (new or changed) through the register's writer.
    fn put(&self, p: &Person) {
        let today = crate::helpers::now().date();
        p.check(today).unwrap();
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", crate::helpers::now())
            .unwrap();
        w.put(p).unwrap();
        w.commit().unwrap();
    }

    // -- SMS

    /// The messages to `phone` (E.164), oldest first, from the development outbox.
    fn sms(&self, phone: &PhoneNumber) -> Vec<Value> {
        let body = ok(self.get("/api/v1/sms?limit=500", Some(&self.bo.token)), 200);
        assert_eq!(body["sender"], "dev-sink");
        let mut msgs: Vec<Value> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == phone.as_str())
            .cloned()
            .collect();
        msgs.reverse();
        msgs
    }

    /// The code of the newest message to `phone` for `purpose`.
    fn code(&self, phone: &PhoneNumber, purpose: &str) -> String {
        let msgs = self.sms(phone);
        let m = msgs
            .iter()
            .rev()
            .find(|m| m["purpose"] == purpose)
            .unwrap_or_else(|| panic!("no {purpose} SMS to {phone:?}: {msgs:?}"));
        six_digits(m["body"].as_str().unwrap())
    }

    /// Every open code of `purpose` expires now (the server's clock is the real one).
    fn expire_codes(&self, purpose: &str) {
        let past = to_ms(crate::helpers::now() - Duration::minutes(1));
        eid_core::sql::transact(self.store.db(), |tx| {
            tx.exec(
                "UPDATE code SET expires_at = $1 WHERE purpose = $2",
                &[past.into(), purpose.into()],
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    // -- Level 1

    fn register(&self, p: &Person, photo_of: &str) -> (u16, Value) {
        self.register_as(p.id.as_str(), &phone_of(p).national(), photo_of)
    }

    fn register_as(&self, id: &str, phone: &str, photo_of: &str) -> (u16, Value) {
        self.post(
            "/api/v1/app/register",
            None,
            json!({
                "personal_id": id,
                "phone": phone,
                "photo_base64": photo(photo_of),
                "device_id": DEVICE,
            }),
        )
    }

    fn confirm(&self, handle: &str, code: &str, password: &str) -> (u16, Value) {
        self.post(
            "/api/v1/app/register/confirm",
            None,
            json!({ "handle": handle, "code": code, "password": password, "passcode": PASSCODE }),
        )
    }

    /// A level-1 account for `p`, registered from [`DEVICE`].
    fn level1(&self, p: &Person) {
        let r = ok(self.register(p, p.id.as_str()), 202);
        let code = self.code(phone_of(p), "register");
        let a = ok(
            self.confirm(r["handle"].as_str().unwrap(), &code, PASSWORD),
            200,
        );
        assert_eq!(
            (
                a["account"]["level"].as_u64(),
                a["account"]["state"].as_str()
            ),
            (Some(1), Some("active"))
        );
    }

    fn signin(&self, id: &str, password: &str, device: &str) -> (u16, Value) {
        self.post(
            "/api/v1/app/signin",
            None,
            json!({ "personal_id": id, "password": password, "device_id": device }),
        )
    }

    /// A session of `p` on [`DEVICE`].
    fn session(&self, p: &Person) -> String {
        let r = ok(self.signin(p.id.as_str(), PASSWORD, DEVICE), 200);
        r["token"].as_str().unwrap().to_owned()
    }

    // -- Level 2

    /// Registers an intake device in `unit` (through an officer whose unit contains it).
    fn device(&self, unit: UnitCode) -> Dev {
        let (seed, public) = new_key();
        let token = if Units::get().contains(Tree::Gso2024, &self.at.district, &unit) {
            self.huyen.token.clone()
        } else {
            self.user(
                &format!("tinh{}", self.serial.get()),
                Role::Province,
                self.at.province,
            )
            .token
        };
        self.serial.set(self.serial.get() + 1);
        let r = ok(
            self.post(
                "/api/v1/devices",
                Some(&token),
                json!({ "name": format!("Máy thu nhận {}", unit.as_str()), "unit": unit.as_str(),
                        "public_key": public, "daily_capacity": 200 }),
            ),
            201,
        );
        assert_eq!(r["device"]["status"], "active");
        Dev {
            id: r["device"]["id"].as_i64().unwrap(),
            seed,
        }
    }

    /// An application packet for `p` collected by `officer` on `dev`, signed with `seed`.
    fn packet(&self, dev: &Dev, p: &Person, officer: &str, matched: bool) -> Value {
        packet_signed(dev.id, &dev.seed, p, officer, matched)
    }

    fn intake(&self, packet: Value) -> (u16, Value) {
        self.post("/api/v1/intake/applications", None, packet)
    }

    /// Collects an application for `p` on `dev` (officer `xa`); returns its id.
    fn collect(&self, dev: &Dev, p: &Person, matched: bool) -> i64 {
        let r = ok(self.intake(self.packet(dev, p, "xa", matched)), 201);
        r["application"]["id"].as_i64().unwrap()
    }

    fn application(&self, id: i64) -> Value {
        ok(
            self.get(&format!("/api/v1/applications/{id}"), Some(&self.xa.token)),
            200,
        )["application"]
            .clone()
    }

    fn activate(&self, p: &Person, code: &str) -> (u16, Value) {
        self.post(
            "/api/v1/app/activate",
            None,
            json!({ "personal_id": p.id.as_str(), "code": code, "password": PASSWORD,
                    "passcode": PASSCODE, "device_id": DEVICE }),
        )
    }

    /// A level-2 account for `p`, collected on `dev` and activated from [`DEVICE`].
    fn level2(&self, dev: &Dev, p: &Person) -> i64 {
        let app = self.collect(dev, p, true);
        let code = self.code(phone_of(p), "activate");
        let a = ok(self.activate(p, &code), 200);
        assert_eq!(a["account"]["level"], 2);
        app
    }

    // -- Officers' view

    /// `GET /api/v1/accounts/{id}` as the commune officer.
    fn account(&self, p: &Person) -> Value {
        ok(
            self.get(
                &format!("/api/v1/accounts/{}", p.id.as_str()),
                Some(&self.xa.token),
            ),
            200,
        )
    }

    /// The kinds of every event of `p` (account and applications), from the store.
    fn stored_kinds(&self, p: &Person) -> Vec<String> {
        acc::events(self.store.as_ref(), &p.id)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

/// Status and JSON body (`null` for an empty body) of a response, whatever its status.
fn answer(r: Reply) -> (u16, Value) {
    let status = r.status();
    let text = r.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the status and returns the body.
#[track_caller]
fn ok(r: (u16, Value), status: u16) -> Value {
    assert_eq!(r.0, status, "{}", r.1);
    r.1
}

/// Asserts a refusal's status and `error.code`; returns the error object.
#[track_caller]
fn refused(r: (u16, Value), status: u16, code: &str) -> Value {
    assert_eq!(
        (r.0, r.1["error"]["code"].as_str().unwrap_or("")),
        (status, code),
        "{}",
        r.1
    );
    r.1["error"].clone()
}

fn phone_of(p: &Person) -> &PhoneNumber {
    p.phone.as_ref().unwrap()
}

/// The photo the development verifier accepts for `id`, base64.
fn photo(id: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(eid::verifier::dev_portrait(id))
}

/// The first run of exactly six digits in a message.
fn six_digits(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return chars[start..i].iter().collect();
            }
        } else {
            i += 1;
        }
    }
    panic!("no six-digit code in {body:?}")
}

/// A six-digit code that is not `code`.
fn wrong(code: &str, k: u32) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + k) % 1_000_000)
}

fn kinds(account: &Value) -> Vec<String> {
    account["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn nonce() -> [u8; 16] {
    let t = eid_core::intake::unhex(&eid_core::secret::random_token()).unwrap();
    t[..16].try_into().unwrap()
}

fn packet_signed(device: i64, seed: &str, p: &Person, officer: &str, matched: bool) -> Value {
    let phone = phone_of(p).national();
    let fields = PacketFields {
        device,
        personal_id: p.id.as_str(),
        phone: &phone,
        portrait_sha256: eid::verifier::sha256(&eid::verifier::dev_portrait(p.id.as_str())),
        method: "fingerprint",
        against: "card",
        matched,
        score: if matched { 0.97 } else { 0.31 },
        officer,
        collected_at: crate::helpers::now(),
        nonce: nonce(),
    };
    let (packet, signature) = sign(&fields, &signing_key(seed).unwrap()).unwrap();
    json!({ "packet": packet, "signature": signature })
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
