//! Accounts over HTTP: level 1 and level 2 from registration to activation, their lifecycle, and every refusal.
//!
//! Each test runs its own server over a fresh store (SQLite, or PostgreSQL when
//! `EID_TEST_DATABASE_URL` is set) in Kon Tum: a commune, a neighbouring commune of the same
//! district, and a commune of another district. Persons are written through the store's writer
//! so that each test decides age, card and life status; staff come from `helpers::create_user`;
//! SMS codes are read from the development outbox (`GET /api/v1/sms`).

use std::cell::Cell;
use std::sync::Arc;

use base64::Engine as _;
use eid_core::accounts::{self as acc, metric};
use eid_core::intake::{new_key, sign, signing_key, PacketFields};
use eid_core::store::{path_range, to_ms, Role};
use eid_core::{Actor, Store, StoreError};
use eid_domain::{
    BirthDate, Card, LifeState, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType,
    Residence, Sex, Tree, UnitCode, Units,
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
        let store = fresh_store(label);
        let at = places();
        let xa = create_user(store.as_ref(), "xa", Role::Commune, at.commune);
        let huyen = create_user(store.as_ref(), "huyen", Role::District, at.district);
        let bo = create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION);
        World {
            base: spawn(Arc::clone(&store)),
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

// ----------------------------------------------------------------------------------------------
// Level 1

#[test]
fn level1_registration_is_confirmed_with_the_sms_code() {
    let w = World::new("acc-l1");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap().to_owned();
    assert_eq!(handle.len(), 64);
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["purpose"], "register");
    let code = six_digits(msgs[0]["body"].as_str().unwrap());

    // Before the code: a pending account.
    let before = w.account(&p);
    assert_eq!(before["account"]["state"], "pending");
    assert_eq!(before["account"]["level"], 0);

    let a = ok(w.confirm(&handle, &code, PASSWORD), 200);
    assert_eq!(a["account"]["state"], "active");
    assert_eq!(a["account"]["level"], 1);
    assert_eq!(a["account"]["verifier"], "dev-hash");
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "active");
    assert_eq!(v["account"]["level"], 1);
    assert_eq!(v["account"]["locks"], json!([]));
    assert_eq!(
        kinds(&v),
        strs(&["registration_started", "level1_activated"])
    );

    // The code is used: a second confirm fails.
    refused(w.confirm(&handle, &code, PASSWORD), 401, "code.invalid");
    // The holder signs in on the device they registered from.
    w.session(&p);
}

#[test]
fn level1_unknown_dead_emigrated_or_active_get_the_same_answer_and_no_code() {
    let w = World::new("acc-l1-quiet");
    let real = w.person(Some(date!(2021 - 06 - 01)));
    let first = ok(w.register(&real, real.id.as_str()), 202);
    let message = first["message"].clone();
    let code = w.code(phone_of(&real), "register");
    ok(
        w.confirm(first["handle"].as_str().unwrap(), &code, PASSWORD),
        200,
    );

    let mut dead = w.person(Some(date!(2021 - 06 - 01)));
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2025 - 01 - 10)),
    };
    w.put(&dead);
    let mut emigrated = w.person(Some(date!(2021 - 06 - 01)));
    emigrated.life = LifeStatus {
        state: LifeState::Emigrated,
        since: Some(date!(2024 - 05 - 01)),
    };
    w.put(&emigrated);
    let unknown = PersonalId::from_parts(62, Sex::Male, 1985, 999_001).unwrap();
    let unknown_phone = PhoneNumber::parse("0987000111").unwrap();

    let cases: Vec<(&str, String, PhoneNumber)> = vec![
        (
            "unknown",
            unknown.as_str().to_owned(),
            unknown_phone.clone(),
        ),
        ("dead", dead.id.as_str().to_owned(), phone_of(&dead).clone()),
        (
            "emigrated",
            emigrated.id.as_str().to_owned(),
            phone_of(&emigrated).clone(),
        ),
        // Again for the person who now has an active account, from a new phone number.
        (
            "active",
            real.id.as_str().to_owned(),
            PhoneNumber::parse("0987000222").unwrap(),
        ),
    ];
    for (what, id, phone) in cases {
        let r = ok(w.register_as(&id, &phone.national(), &id), 202);
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["handle", "message"], "{what}");
        assert_eq!(r["message"], message, "{what}");
        let handle = r["handle"].as_str().unwrap();
        assert_eq!(handle.len(), 64, "{what}");
        assert!(w.sms(&phone).is_empty(), "{what}: an SMS was queued");
        refused(w.confirm(handle, "123456", PASSWORD), 401, "code.invalid");
    }
    // Only the real registration sent a code.
    assert_eq!(w.sms(phone_of(&real)).len(), 1);
    // The refusals are on the persons' records, not on an account.
    assert_eq!(w.stored_kinds(&dead), strs(&["registration_refused"]));
    assert_eq!(
        kinds(&w.account(&real)),
        strs(&[
            "registration_started",
            "level1_activated",
            "registration_refused"
        ])
    );
}

#[test]
fn level1_refuses_under_14_a_wrong_photo_and_a_weak_password() {
    let w = World::new("acc-l1-refusals");
    // Under 14 by the year in the ID, and under 14 by the birthday later this year.
    let today = crate::helpers::now().date();
    let young = w.person_born(date!(2014 - 01 - 05), None, w.at.commune);
    refused(
        w.register(&young, young.id.as_str()),
        422,
        "account.under_14",
    );
    let born = Date::from_calendar_date(today.year() - 14, time::Month::December, 31).unwrap();
    let almost = w.person_born(born, None, w.at.commune);
    refused(
        w.register(&almost, almost.id.as_str()),
        422,
        "account.under_14",
    );
    assert!(w.sms(phone_of(&young)).is_empty());
    assert!(w.sms(phone_of(&almost)).is_empty());

    // Somebody else's photo.
    let p = w.person(Some(date!(2021 - 06 - 01)));
    refused(w.register(&p, "062190000000"), 422, "account.face_mismatch");
    assert!(w.sms(phone_of(&p)).is_empty());

    // A weak password is refused before the code is looked at: the code still works.
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap();
    let code = w.code(phone_of(&p), "register");
    refused(w.confirm(handle, &code, "password"), 400, "password.policy");
    refused(
        w.confirm(handle, &code, "abcdefghijkl"),
        400,
        "password.policy",
    );
    refused(
        w.post(
            "/api/v1/app/register/confirm",
            None,
            json!({ "handle": handle, "code": code, "password": PASSWORD, "passcode": "12345" }),
        ),
        400,
        "passcode.invalid",
    );
    ok(w.confirm(handle, &code, PASSWORD), 200);
}

#[test]
fn level1_code_dies_after_five_wrong_entries() {
    let w = World::new("acc-l1-dies");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let handle = r["handle"].as_str().unwrap();
    let code = w.code(phone_of(&p), "register");
    for k in 1..=5 {
        refused(
            w.confirm(handle, &wrong(&code, k), PASSWORD),
            401,
            "code.invalid",
        );
    }
    refused(w.confirm(handle, &code, PASSWORD), 401, "code.invalid");
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "pending");
    assert_eq!(kinds(&v), strs(&["registration_started"]));

    // Registering again sends a new code, which works.
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let code2 = w.code(phone_of(&p), "register");
    ok(
        w.confirm(r["handle"].as_str().unwrap(), &code2, PASSWORD),
        200,
    );
}

#[test]
fn level1_expired_code_is_refused() {
    let w = World::new("acc-l1-expired");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.register(&p, p.id.as_str()), 202);
    let code = w.code(phone_of(&p), "register");
    w.expire_codes("register");
    refused(
        w.confirm(r["handle"].as_str().unwrap(), &code, PASSWORD),
        401,
        "code.invalid",
    );
    assert_eq!(w.account(&p)["account"]["state"], "pending");
}

// ----------------------------------------------------------------------------------------------
// Level 2 in person

#[test]
fn level2_packet_to_activation() {
    let w = World::new("acc-l2");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
    assert_eq!(r["review_reason"], Value::Null);
    let id = r["application"]["id"].as_i64().unwrap();
    let a = w.application(id);
    assert_eq!(a["state"], "code_sent");
    assert_eq!(a["unit"], w.at.commune.as_str());
    assert_eq!(a["device_id"], dev.id);
    assert_eq!(a["match"]["result"], "match");
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent"
        ])
    );
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["purpose"], "activate");
    let code = six_digits(msgs[0]["body"].as_str().unwrap());
    // No account before activation.
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&w.xa.token),
        ),
        404,
        "account.not_found",
    );

    let act = ok(w.activate(&p, &code), 200);
    assert_eq!(act["account"]["level"], 2);
    assert_eq!(act["account"]["state"], "active");
    assert_eq!(w.application(id)["state"], "activated");
    let v = w.account(&p);
    assert_eq!(v["account"]["level"], 2);
    assert_eq!(v["account"]["state"], "active");
    assert_eq!(v["account"]["locks"], json!([]));
    assert_eq!(
        kinds(&v),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent",
            "level2_activated"
        ])
    );
    // The code is used.
    refused(w.activate(&p, &code), 401, "code.invalid");
    let token = w.session(&p);
    let me = ok(w.get("/api/v1/app/account", Some(&token)), 200);
    assert_eq!(me["account"]["level"], 2);
}

#[test]
fn level2_bad_signature_or_altered_packet_is_refused() {
    let w = World::new("acc-l2-sig");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    // Signed by another key, naming this device.
    let (other_seed, _) = new_key();
    let forged = packet_signed(dev.id, &other_seed, &p, "xa", true);
    refused(w.intake(forged), 422, "packet.invalid");
    // A signed packet with one byte changed (the phone's last digit).
    let good = w.packet(&dev, &p, "xa", true);
    let hex_phone = eid_core::secret::hex(phone_of(&p).national().as_bytes());
    let mut changed = phone_of(&p).national().into_bytes();
    *changed.last_mut().unwrap() = if changed.last() == Some(&b'9') {
        b'8'
    } else {
        b'9'
    };
    let altered_packet =
        good["packet"]
            .as_str()
            .unwrap()
            .replacen(&hex_phone, &eid_core::secret::hex(&changed), 1);
    assert_ne!(altered_packet, good["packet"].as_str().unwrap());
    let altered = json!({ "packet": altered_packet, "signature": good["signature"] });
    refused(w.intake(altered), 422, "packet.invalid");
    // A signature of the wrong length, and a packet that is not hex.
    refused(
        w.intake(json!({ "packet": good["packet"], "signature": "abcd" })),
        422,
        "packet.invalid",
    );
    refused(
        w.intake(json!({ "packet": "zz", "signature": good["signature"] })),
        422,
        "packet.invalid",
    );
    // Nothing was collected; the genuine packet still goes through.
    let list = ok(w.get("/api/v1/applications", Some(&w.xa.token)), 200);
    assert_eq!(list["applications"], json!([]));
    assert!(w.sms(phone_of(&p)).is_empty());
    ok(w.intake(good), 201);
}

#[test]
fn level2_unknown_or_suspended_device_is_refused() {
    let w = World::new("acc-l2-device");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let unknown = packet_signed(dev.id + 1000, &dev.seed, &p, "xa", true);
    refused(w.intake(unknown), 403, "device.unknown");

    // A commune officer may not suspend; the district officer does.
    refused(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.xa.token),
            json!({ "status": "suspended" }),
        ),
        403,
        "scope.denied",
    );
    let d = ok(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.huyen.token),
            json!({ "status": "suspended" }),
        ),
        200,
    );
    assert_eq!(d["device"]["status"], "suspended");
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        403,
        "device.inactive",
    );
    assert!(w.stored_kinds(&p).is_empty());

    // Active again: collected.
    ok(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.huyen.token),
            json!({ "status": "active" }),
        ),
        200,
    );
    ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
}

#[test]
fn level2_officer_must_cover_the_device_unit() {
    let w = World::new("acc-l2-officer");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    // An officer of the neighbouring commune.
    w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.intake(w.packet(&dev, &p, "xa2", true)),
        403,
        "officer.outside_scope",
    );
    // Nobody by that name.
    refused(
        w.intake(w.packet(&dev, &p, "nobody", true)),
        403,
        "officer.unknown",
    );
    assert!(w.stored_kinds(&p).is_empty());
    // The district officer covers the commune's device.
    ok(w.intake(w.packet(&dev, &p, "huyen", true)), 201);
}

#[test]
fn level2_replayed_packet_is_refused() {
    let w = World::new("acc-l2-replay");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let packet = w.packet(&dev, &p, "xa", true);
    let id = ok(w.intake(packet.clone()), 201)["application"]["id"]
        .as_i64()
        .unwrap();
    refused(w.intake(packet.clone()), 409, "packet.replayed");
    // Still a replay once the application is closed.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "người dân rút hồ sơ" }),
        ),
        200,
    );
    refused(w.intake(packet), 409, "packet.replayed");
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
}

#[test]
fn level2_person_must_be_alive_with_a_valid_card() {
    let w = World::new("acc-l2-person");
    let dev = w.device(w.at.commune);
    let mut dead = w.person(Some(date!(2021 - 06 - 01)));
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2026 - 01 - 02)),
    };
    w.put(&dead);
    refused(
        w.intake(w.packet(&dev, &dead, "xa", true)),
        409,
        "person.not_alive",
    );

    // Issued at 20, due at 25 (2015).
    let expired = w.person(Some(date!(2010 - 06 - 01)));
    refused(
        w.intake(w.packet(&dev, &expired, "xa", true)),
        409,
        "person.card_invalid",
    );

    let mut revoked = w.person(Some(date!(2023 - 02 - 01)));
    revoked.card = Some(Card {
        issued: date!(2023 - 02 - 01),
        revoked: true,
    });
    w.put(&revoked);
    let e = refused(
        w.intake(w.packet(&dev, &revoked, "xa", true)),
        409,
        "person.card_invalid",
    );
    assert!(e["message"].as_str().unwrap().contains("revoked"), "{e}");

    let no_card = w.person(None);
    let e = refused(
        w.intake(w.packet(&dev, &no_card, "xa", true)),
        409,
        "person.card_invalid",
    );
    assert!(e["message"].as_str().unwrap().contains("no card"), "{e}");

    let unknown = Person {
        id: PersonalId::from_parts(62, Sex::Female, 1990, 999_002).unwrap(),
        ..w.person(None)
    };
    refused(
        w.intake(w.packet(&dev, &unknown, "xa", true)),
        404,
        "person.not_found",
    );

    for p in [&dead, &expired, &revoked, &no_card] {
        assert!(w.stored_kinds(p).is_empty());
        assert!(w.sms(phone_of(p)).is_empty());
    }
    let list = ok(w.get("/api/v1/applications", Some(&w.xa.token)), 200);
    assert_eq!(list["applications"], json!([]));
}

#[test]
fn level2_one_open_application_per_person() {
    let w = World::new("acc-l2-open");
    let dev = w.device(w.at.commune);
    let other = w.device(w.at.neighbour);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let first = w.collect(&dev, &p, false);
    assert_eq!(w.application(first)["state"], "review");
    // A new packet (new nonce), on another device of the district: still refused.
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        409,
        "application.open",
    );
    refused(
        w.intake(w.packet(&other, &p, "huyen", true)),
        409,
        "application.open",
    );
    // Once the first is rejected, a new one is collected.
    ok(
        w.post(
            &format!("/api/v1/applications/{first}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "vân tay không khớp" }),
        ),
        200,
    );
    ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
}

#[test]
fn level2_no_match_goes_to_review_decided_by_a_higher_level() {
    let w = World::new("acc-l2-review");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.intake(w.packet(&dev, &p, "xa", false)), 201);
    assert!(r["review_reason"]
        .as_str()
        .unwrap()
        .contains("no fingerprint"));
    let id = r["application"]["id"].as_i64().unwrap();
    let a = w.application(id);
    assert_eq!(a["state"], "review");
    assert_eq!(a["match"]["result"], "no_match");
    assert!(w.sms(phone_of(&p)).is_empty());
    assert_eq!(
        w.stored_kinds(&p),
        strs(&["application_collected", "application_review"])
    );
    let queue = ok(
        w.get("/api/v1/applications?state=review", Some(&w.huyen.token)),
        200,
    );
    assert_eq!(queue["applications"][0]["id"], id);

    // The commune officer (same unit as the device) may not decide it.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.xa.token),
            json!({}),
        ),
        403,
        "review.not_higher_level",
    );
    // An officer of another district is outside the scope.
    let other = Units::get()
        .ancestors(Tree::Gso2024, &w.at.far)
        .into_iter()
        .find(|u| u.level == eid_domain::Level::District)
        .unwrap()
        .code;
    let stranger = w.user("huyen2", Role::District, other);
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&stranger.token),
            json!({}),
        ),
        403,
        "officer.outside_scope",
    );
    assert_eq!(w.application(id)["state"], "review");

    let d = ok(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.huyen.token),
            json!({}),
        ),
        200,
    );
    assert_eq!(d["application"]["state"], "code_sent");
    assert_eq!(
        d["application"]["decided_by"],
        format!("staff:{}", w.huyen.id)
    );
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_review",
            "application_approved",
            "activation_code_sent"
        ])
    );
    // Approving twice is a wrong state.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.huyen.token),
            json!({}),
        ),
        409,
        "state.wrong",
    );
    let code = w.code(phone_of(&p), "activate");
    ok(w.activate(&p, &code), 200);
    assert_eq!(w.application(id)["state"], "activated");
}

#[test]
fn level2_rejection_needs_a_reason_and_kills_the_code() {
    let w = World::new("acc-l2-reject");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let code = w.code(phone_of(&p), "activate");
    // Rejection is a decision of a unit above the collecting one, and needs a reason.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.xa.token),
            json!({ "reason": "giấy tờ không hợp lệ" }),
        ),
        403,
        "review.not_higher_level",
    );
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "  " }),
        ),
        422,
        "application.reason",
    );
    let r = ok(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "giấy tờ không hợp lệ" }),
        ),
        200,
    );
    assert_eq!(r["application"]["state"], "rejected");
    let a = w.application(id);
    assert_eq!(a["state"], "rejected");
    assert_eq!(a["reject_reason"], "giấy tờ không hợp lệ");
    assert_eq!(
        w.stored_kinds(&p).last().map(String::as_str),
        Some("application_rejected")
    );
    // The code sent before the rejection no longer activates anything.
    refused(w.activate(&p, &code), 401, "code.invalid");
    // A rejected application cannot be rejected, approved or re-sent.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "lần nữa" }),
        ),
        409,
        "state.wrong",
    );
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        409,
        "state.wrong",
    );
}

#[test]
fn level2_resend_limit_and_the_old_code_dies() {
    let w = World::new("acc-l2-resend");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let first = w.code(phone_of(&p), "activate");
    // Sends 2 and 3 of 3.
    for _ in 0..2 {
        let r = ok(
            w.post(
                &format!("/api/v1/applications/{id}/resend"),
                Some(&w.xa.token),
                json!({}),
            ),
            200,
        );
        assert_eq!(r["application"]["state"], "code_sent");
    }
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        429,
        "code.too_many_sends",
    );
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 3);
    let codes: Vec<String> = msgs
        .iter()
        .map(|m| six_digits(m["body"].as_str().unwrap()))
        .collect();
    let last = codes[2].clone();
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent",
            "activation_code_resent",
            "activation_code_resent"
        ])
    );
    // The earlier codes are dead (unless a code happened to repeat).
    for old in [&first, &codes[1]] {
        if *old != last {
            refused(w.activate(&p, old), 401, "code.invalid");
        }
    }
    ok(w.activate(&p, &last), 200);
    assert_eq!(w.application(id)["state"], "activated");
}

#[test]
fn level2_activation_code_dies_after_wrong_entries_and_when_expired() {
    let w = World::new("acc-l2-dies");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let code = w.code(phone_of(&p), "activate");
    for k in 1..=5 {
        refused(w.activate(&p, &wrong(&code, k)), 401, "code.invalid");
    }
    refused(w.activate(&p, &code), 401, "code.invalid");
    assert_eq!(w.application(id)["state"], "code_sent");
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&w.xa.token),
        ),
        404,
        "account.not_found",
    );

    // A new code from the officer; it expires unused.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        200,
    );
    let second = w.code(phone_of(&p), "activate");
    w.expire_codes("activate");
    refused(w.activate(&p, &second), 401, "code.invalid");

    // The last allowed send works.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        200,
    );
    let third = w.code(phone_of(&p), "activate");
    ok(w.activate(&p, &third), 200);
}

// ----------------------------------------------------------------------------------------------
// Self-service upgrade and guardians

#[test]
fn self_service_upgrade_depends_on_the_card_date() {
    let w = World::new("acc-upgrade");
    // Devices: the holder's commune, a neighbour, a suspended one in the district, and one in
    // another district.
    w.device(w.at.commune);
    w.device(w.at.neighbour);
    let third = Units::get().children(Tree::Gso2024, &w.at.district)[2].code;
    let suspended = w.device(third);
    ok(
        w.post(
            &format!("/api/v1/devices/{}/status", suspended.id),
            Some(&w.huyen.token),
            json!({ "status": "suspended" }),
        ),
        200,
    );
    w.device(w.at.far);

    let new_card = w.person(Some(date!(2022 - 04 - 01)));
    w.level1(&new_card);
    let token = w.session(&new_card);
    let upgrade = |token: &str, passcode: &str, photo_of: &str| {
        w.post(
            "/api/v1/app/upgrade",
            Some(token),
            json!({ "passcode": passcode, "photo_base64": photo(photo_of) }),
        )
    };
    refused(
        upgrade(&token, "000000", new_card.id.as_str()),
        401,
        "account.bad_passcode",
    );
    refused(
        upgrade(&token, PASSCODE, "062190000000"),
        422,
        "account.face_mismatch",
    );
    let a = ok(upgrade(&token, PASSCODE, new_card.id.as_str()), 200);
    assert_eq!(a["account"]["level"], 2);
    let v = w.account(&new_card);
    assert_eq!(v["account"]["level"], 2);
    assert_eq!(
        kinds(&v),
        strs(&[
            "registration_started",
            "level1_activated",
            "signed_in",
            "secret_failed",
            "level2_activated"
        ])
    );
    refused(
        upgrade(&token, PASSCODE, new_card.id.as_str()),
        409,
        "state.wrong",
    );

    let old_card = w.person(Some(date!(2022 - 03 - 31)));
    w.level1(&old_card);
    let token = w.session(&old_card);
    let e = refused(
        upgrade(&token, PASSCODE, old_card.id.as_str()),
        409,
        "account.go_in_person",
    );
    assert_eq!(e["detail"]["card_issued"], "2022-03-31");
    // Nearest first: the commune, its district, then the rest of the province.
    assert_eq!(
        e["detail"]["collecting_units"],
        json!([
            w.at.commune.as_str(),
            w.at.neighbour.as_str(),
            w.at.far.as_str()
        ])
    );
    assert_eq!(w.account(&old_card)["account"]["level"], 1);
}

#[test]
fn under_14_account_through_a_recorded_guardian() {
    let w = World::new("acc-guardian");
    let dev = w.device(w.at.commune);
    let mother = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &mother);
    let stranger = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &stranger);
    let father = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&father);
    let child = w.person_born(date!(2016 - 07 - 01), None, w.at.commune);

    // The register records the guardians; an officer outside the child's commune may not.
    let neighbour = w.user("xa2", Role::Commune, w.at.neighbour);
    let guardians = format!("/api/v1/persons/{}/guardians", child.id.as_str());
    refused(
        w.post(
            &guardians,
            Some(&neighbour.token),
            json!({ "guardian_id": mother.id.as_str(), "relation": "mother" }),
        ),
        403,
        "scope.denied",
    );
    for (g, rel) in [(&mother, "mother"), (&father, "father")] {
        let r = w.post(
            &guardians,
            Some(&w.xa.token),
            json!({ "guardian_id": g.id.as_str(), "relation": rel }),
        );
        assert_eq!(r.0, 204, "{}", r.1);
    }

    let child_body = |passcode: &str| {
        json!({ "passcode": passcode, "child_personal_id": child.id.as_str(),
                "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" })
    };
    // A level-2 holder who is not the guardian.
    let t = w.session(&stranger);
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        403,
        "account.not_guardian",
    );
    // A recorded guardian with only a level-1 account.
    let t = w.session(&father);
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        403,
        "account.guardian_required",
    );
    // The recorded guardian with a level-2 account, for someone who is not a child.
    let t = w.session(&mother);
    refused(
        w.post(
            "/api/v1/app/children",
            Some(&t),
            json!({ "passcode": PASSCODE, "child_personal_id": stranger.id.as_str(),
                    "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" }),
        ),
        422,
        "account.not_a_child",
    );
    // And for the child.
    let r = ok(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        201,
    );
    assert_eq!(r["account"]["level"], 1);
    assert_eq!(r["account"]["state"], "active");
    assert_eq!(r["account"]["guardian"], mother.id.as_str());
    assert_eq!(r["account"]["phone"], phone_of(&mother).masked());
    let v = w.account(&child);
    assert_eq!(
        kinds(&v),
        strs(&["guardian_recorded", "guardian_recorded", "level1_activated"])
    );
    // Once is enough.
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        409,
        "state.wrong",
    );
    // The child signs in with their own password.
    ok(
        w.signin(child.id.as_str(), "Mật-khẩu-Của-Con-1", "child-device-01"),
        200,
    );
}

// ----------------------------------------------------------------------------------------------
// Sign-in

#[test]
fn signin_on_a_new_device_needs_the_code_and_ends_the_old_session() {
    let w = World::new("acc-signin-device");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let old = w.session(&p);
    ok(w.get("/api/v1/app/account", Some(&old)), 200);

    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    assert!(r.get("token").is_none());
    let code = w.code(phone_of(&p), "device");
    // The old session lives until the new device is confirmed.
    ok(w.get("/api/v1/app/account", Some(&old)), 200);
    refused(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": wrong(&code, 1) }),
        ),
        401,
        "code.invalid",
    );
    let s = ok(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": code }),
        ),
        200,
    );
    let new = s["token"].as_str().unwrap().to_owned();
    ok(w.get("/api/v1/app/account", Some(&new)), 200);
    refused(
        w.get("/api/v1/app/account", Some(&old)),
        401,
        "auth.invalid",
    );
    // The new device is the bound one now; the first device needs a code again.
    ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 200);
    ok(w.signin(p.id.as_str(), PASSWORD, DEVICE), 202);
    // No session at all, and a session signed out.
    refused(w.get("/api/v1/app/account", None), 401, "auth.required");
    assert_eq!(w.post("/api/v1/app/signout", Some(&new), json!({})).0, 204);
    refused(
        w.get("/api/v1/app/account", Some(&new)),
        401,
        "auth.invalid",
    );
    let v = w.account(&p);
    assert_eq!(
        kinds(&v),
        strs(&[
            "registration_started",
            "level1_activated",
            "signed_in",
            "device_check_sent",
            "device_bound",
            "signed_in",
            "signed_in",
            "device_check_sent"
        ])
    );
}

#[test]
fn signin_failures_look_alike_and_lock_out() {
    let w = World::new("acc-signin-fail");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let unknown = PersonalId::from_parts(62, Sex::Male, 1980, 999_003).unwrap();
    let a = refused(
        w.signin(unknown.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    let b = refused(
        w.signin("06209", PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    let c = refused(
        w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        401,
        "auth.bad_credentials",
    );
    assert_eq!(a["message"], b["message"]);
    assert_eq!(a["message"], c["message"]);
    // A person in the register without an account answers alike too.
    let no_account = w.person(Some(date!(2021 - 06 - 01)));
    refused(
        w.signin(no_account.id.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );

    for _ in 2..=4 {
        refused(
            w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
            401,
            "auth.bad_credentials",
        );
    }
    let e = refused(
        w.signin(p.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        429,
        "auth.locked_out",
    );
    assert!(e["detail"]["retry_after_seconds"].as_i64().unwrap() > 0);
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
    let v = w.account(&p);
    let k = kinds(&v);
    assert_eq!(k.iter().filter(|k| *k == "secret_failed").count(), 5);
    assert_eq!(k.last().map(String::as_str), Some("locked_out"));
    assert!(!k.contains(&"signed_in".to_owned()));
}

// ----------------------------------------------------------------------------------------------
// Locks

/// Every endpoint a signed-in citizen calls, with a plausible body.
fn citizen_calls(w: &World, token: &str) -> Vec<(String, (u16, Value))> {
    let mut out = vec![
        (
            "account".to_owned(),
            w.get("/api/v1/app/account", Some(token)),
        ),
        (
            "events".to_owned(),
            w.get("/api/v1/app/events", Some(token)),
        ),
    ];
    let posts = [
        ("/api/v1/app/lock", json!({ "passcode": PASSCODE })),
        (
            "/api/v1/app/passcode",
            json!({ "passcode": PASSCODE, "new_passcode": "111111" }),
        ),
        (
            "/api/v1/app/password",
            json!({ "passcode": PASSCODE, "new_password": "Mật-khẩu-Mới-2027" }),
        ),
        (
            "/api/v1/app/phone",
            json!({ "passcode": PASSCODE, "new_phone": "0987111222" }),
        ),
        (
            "/api/v1/app/phone/confirm",
            json!({ "handle": "x", "code_old": "111111", "code_new": "222222" }),
        ),
        (
            "/api/v1/app/upgrade",
            json!({ "passcode": PASSCODE, "photo_base64": photo("062190000000") }),
        ),
        (
            "/api/v1/app/children",
            json!({ "passcode": PASSCODE, "child_personal_id": "062216000001",
                    "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" }),
        ),
        ("/api/v1/app/signout", json!({})),
    ];
    for (path, body) in posts {
        out.push((path.to_owned(), w.post(path, Some(token), body)));
    }
    out
}

#[test]
fn holder_locks_with_the_passcode_and_unlocks() {
    let w = World::new("acc-holder-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "000000" }),
        ),
        401,
        "account.bad_passcode",
    );
    let a = ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "locked");
    assert_eq!(a["account"]["locks"], json!(["holder"]));
    // The lock ended the session; signing in again is refused for the lock.
    for (what, r) in citizen_calls(&w, &token) {
        assert_eq!(r.0, 401, "{what}: {}", r.1);
    }
    let e = refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    assert!(e["message"].as_str().unwrap().contains("holder"));
    refused(
        w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE),
        423,
        "account.locked",
    );
    assert!(w.sms(phone_of(&p)).iter().all(|m| m["purpose"] != "device"));

    let unlock = |password: &str, passcode: &str| {
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": password, "passcode": passcode }),
        )
    };
    refused(unlock(PASSWORD, "000000"), 401, "auth.bad_credentials");
    refused(
        unlock("Sai-mật-khẩu-1", PASSCODE),
        401,
        "auth.bad_credentials",
    );
    let a = ok(unlock(PASSWORD, PASSCODE), 200);
    assert_eq!(a["account"]["state"], "active");
    refused(unlock(PASSWORD, PASSCODE), 409, "state.wrong");
    let token = w.session(&p);
    ok(w.get("/api/v1/app/account", Some(&token)), 200);
    let v = w.account(&p);
    let k = kinds(&v);
    let at = k.iter().position(|k| k == "locked_by_holder").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&[
            "locked_by_holder",
            "secret_failed",
            "secret_failed",
            "unlocked_by_holder",
            "signed_in"
        ])
    );
}

#[test]
fn officer_lock_with_a_reason_that_the_holder_cannot_lift() {
    let w = World::new("acc-officer-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let path = format!("/api/v1/accounts/{}/lock", p.id.as_str());
    refused(
        w.post(&path, Some(&w.xa.token), json!({})),
        422,
        "account.reason",
    );
    // An officer of another commune sees neither the account nor its lock.
    let outsider = w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.post(
            &path,
            Some(&outsider.token),
            json!({ "reason": "gọi đường dây nóng" }),
        ),
        403,
        "scope.denied",
    );
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&outsider.token),
        ),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "reason": "gọi đường dây nóng 1900 0368" }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "locked");
    assert_eq!(a["account"]["locks"], json!(["officer"]));
    assert_eq!(
        a["account"]["officer_lock_reason"],
        "gọi đường dây nóng 1900 0368"
    );
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        401,
        "auth.invalid",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    // The holder's unlock does not lift an officer's lock.
    refused(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        409,
        "state.wrong",
    );
    assert_eq!(w.account(&p)["account"]["state"], "locked");
    // The district officer above lifts it, with a reason.
    let unlock = format!("/api/v1/accounts/{}/unlock", p.id.as_str());
    refused(
        w.post(&unlock, Some(&outsider.token), json!({ "reason": "x" })),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &unlock,
            Some(&w.huyen.token),
            json!({ "reason": "chủ tài khoản đến trực tiếp" }),
        ),
        200,
    );
    assert_eq!(a["account"]["state"], "active");
    w.session(&p);
    let k = kinds(&w.account(&p));
    let at = k.iter().position(|k| k == "locked_by_officer").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&["locked_by_officer", "unlocked_by_officer", "signed_in"])
    );
}

#[test]
fn the_register_locks_on_death_and_unlocks_when_corrected() {
    let w = World::new("acc-register-lock");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);

    let mut dead = p.clone();
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2026 - 11 - 01)),
    };
    w.put(&dead);
    for (what, r) in citizen_calls(&w, &token) {
        assert_eq!(
            (r.0, r.1["error"]["code"].as_str()),
            (423, Some("account.locked")),
            "{what}: {}",
            r.1
        );
    }
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        423,
        "account.locked",
    );
    let v = w.account(&p);
    assert_eq!(v["account"]["state"], "locked");
    assert_eq!(v["account"]["locks"], json!(["register"]));
    assert_eq!(v["account"]["register_lock_reason"], "dead");
    assert_eq!(
        kinds(&v).last().map(String::as_str),
        Some("locked_by_register")
    );
    // Not something an officer or the holder lifts.
    refused(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        409,
        "state.wrong",
    );

    // The record was wrong: back alive, the account is usable again (the session too).
    w.put(&p);
    let me = ok(w.get("/api/v1/app/account", Some(&token)), 200);
    assert_eq!(me["account"]["state"], "active");
    // A revoked card locks too, and a new card lifts it.
    let mut revoked = p.clone();
    revoked.card = Some(Card {
        issued: date!(2021 - 06 - 01),
        revoked: true,
    });
    w.put(&revoked);
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        423,
        "account.locked",
    );
    let mut renewed = p.clone();
    renewed.card = Some(Card {
        issued: date!(2026 - 11 - 02),
        revoked: false,
    });
    w.put(&renewed);
    ok(w.get("/api/v1/app/account", Some(&token)), 200);
    let v = w.account(&p);
    let k = kinds(&v);
    let at = k.iter().position(|k| k == "locked_by_register").unwrap();
    assert_eq!(
        k[at..].to_vec(),
        strs(&[
            "locked_by_register",
            "unlocked_by_register",
            "locked_by_register",
            "unlocked_by_register"
        ])
    );
    let reasons: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "locked_by_register")
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["dead", "card_revoked"]);
}

// ----------------------------------------------------------------------------------------------
// Changes

#[test]
fn phone_change_is_verified_on_both_numbers() {
    let w = World::new("acc-phone");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let new_phone = PhoneNumber::parse("0987654321").unwrap();
    refused(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": "000000", "new_phone": new_phone.national() }),
        ),
        401,
        "account.bad_passcode",
    );
    refused(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_phone": phone_of(&p).national() }),
        ),
        422,
        "phone.same",
    );
    let r = ok(
        w.post(
            "/api/v1/app/phone",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_phone": new_phone.national() }),
        ),
        202,
    );
    let handle = r["handle"].as_str().unwrap();
    let code_old = w.code(phone_of(&p), "phone_old");
    let code_new = w.code(&new_phone, "phone_new");
    let confirm = |a: &str, b: &str| {
        w.post(
            "/api/v1/app/phone/confirm",
            Some(&token),
            json!({ "handle": handle, "code_old": a, "code_new": b }),
        )
    };
    if code_old != code_new {
        refused(confirm(&code_new, &code_old), 401, "code.invalid");
    }
    refused(
        confirm(&code_old, &wrong(&code_new, 1)),
        401,
        "code.invalid",
    );
    let a = ok(confirm(&code_old, &code_new), 200);
    assert_eq!(a["account"]["phone"], new_phone.masked());
    refused(confirm(&code_old, &code_new), 401, "code.invalid");
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[k.len() - 4..].to_vec(),
        strs(&[
            "signed_in",
            "secret_failed",
            "phone_change_started",
            "phone_changed"
        ])
    );
    // A new device's code now goes to the new number.
    ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    w.code(&new_phone, "device");
}

#[test]
fn officer_changes_the_phone_with_a_reason() {
    let w = World::new("acc-officer-phone");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let path = format!("/api/v1/accounts/{}/phone", p.id.as_str());
    refused(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0987654321", "reason": " " }),
        ),
        422,
        "account.reason",
    );
    refused(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0123", "reason": "x" }),
        ),
        400,
        "phone.invalid",
    );
    let outsider = w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.post(
            &path,
            Some(&outsider.token),
            json!({ "phone": "0987654321", "reason": "x" }),
        ),
        403,
        "scope.denied",
    );
    let a = ok(
        w.post(
            &path,
            Some(&w.xa.token),
            json!({ "phone": "0987654321", "reason": "mất SIM, đến trực tiếp" }),
        ),
        200,
    );
    assert_eq!(a["account"]["phone"], "0******321");
    let v = w.account(&p);
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "phone_changed");
    assert_eq!(last["detail"]["reason"], "mất SIM, đến trực tiếp");
    assert_eq!(last["actor"], format!("staff:{}", w.xa.id));
}

#[test]
fn password_reset_sends_a_code_only_when_id_and_phone_match() {
    let w = World::new("acc-reset");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let stranger_phone = PhoneNumber::parse("0987000333").unwrap();
    let unknown = PersonalId::from_parts(62, Sex::Male, 1980, 999_004).unwrap();
    let start = |id: &str, phone: &PhoneNumber| {
        ok(
            w.post(
                "/api/v1/app/password-reset",
                None,
                json!({ "personal_id": id, "phone": phone.national() }),
            ),
            202,
        )
    };
    let a = start(unknown.as_str(), phone_of(&p));
    let b = start(p.id.as_str(), &stranger_phone);
    assert_eq!(a["message"], b["message"]);
    assert_eq!(a["handle"].as_str().unwrap().len(), 64);
    assert!(w.sms(&stranger_phone).is_empty());
    assert_eq!(
        w.sms(phone_of(&p))
            .iter()
            .filter(|m| m["purpose"] == "reset")
            .count(),
        0
    );
    let reset = |handle: &str, code: &str, password: &str| {
        w.post(
            "/api/v1/app/password-reset/confirm",
            None,
            json!({ "handle": handle, "code": code, "password": password }),
        )
    };
    refused(
        reset(a["handle"].as_str().unwrap(), "123456", "Mật-khẩu-Mới-2027"),
        401,
        "code.invalid",
    );
    refused(
        reset(b["handle"].as_str().unwrap(), "123456", "Mật-khẩu-Mới-2027"),
        401,
        "code.invalid",
    );

    let c = start(p.id.as_str(), phone_of(&p));
    assert_eq!(c["message"], a["message"]);
    let code = w.code(phone_of(&p), "reset");
    let handle = c["handle"].as_str().unwrap();
    refused(reset(handle, &code, "weak"), 400, "password.policy");
    assert_eq!(reset(handle, &code, "Mật-khẩu-Mới-2027").0, 204);
    refused(
        reset(handle, &code, "Mật-khẩu-Mới-2028"),
        401,
        "code.invalid",
    );
    // Every session ended; the old password is gone.
    refused(
        w.get("/api/v1/app/account", Some(&token)),
        401,
        "auth.invalid",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        401,
        "auth.bad_credentials",
    );
    ok(w.signin(p.id.as_str(), "Mật-khẩu-Mới-2027", DEVICE), 200);
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[k.len() - 4..].to_vec(),
        strs(&[
            "password_reset_started",
            "password_reset",
            "secret_failed",
            "signed_in"
        ])
    );
}

#[test]
fn passcode_change_needs_the_current_passcode() {
    let w = World::new("acc-passcode");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    let change = |current: &str, new: &str| {
        w.post(
            "/api/v1/app/passcode",
            Some(&token),
            json!({ "passcode": current, "new_passcode": new }),
        )
    };
    refused(change("000000", "135792"), 401, "account.bad_passcode");
    refused(change(PASSCODE, "13579"), 400, "passcode.invalid");
    refused(change(PASSCODE, "abcdef"), 400, "passcode.invalid");
    assert_eq!(change(PASSCODE, "135792").0, 204);
    refused(change(PASSCODE, "111111"), 401, "account.bad_passcode");
    // The new passcode is the one that locks.
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        401,
        "account.bad_passcode",
    );
    ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "135792" }),
        ),
        200,
    );
    let k = kinds(&w.account(&p));
    assert_eq!(
        k[2..].to_vec(),
        strs(&[
            "signed_in",
            "secret_failed",
            "passcode_changed",
            "secret_failed",
            "secret_failed",
            "locked_by_holder"
        ])
    );
}

#[test]
fn passcode_failures_lock_out_too() {
    let w = World::new("acc-passcode-lockout");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    for _ in 1..=4 {
        refused(
            w.post(
                "/api/v1/app/lock",
                Some(&token),
                json!({ "passcode": "000000" }),
            ),
            401,
            "account.bad_passcode",
        );
    }
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": "000000" }),
        ),
        429,
        "auth.locked_out",
    );
    refused(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        429,
        "auth.locked_out",
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
}

#[test]
fn the_holder_lists_every_event_in_order() {
    let w = World::new("acc-events");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let token = w.session(&p);
    ok(
        w.post(
            "/api/v1/app/lock",
            Some(&token),
            json!({ "passcode": PASSCODE }),
        ),
        200,
    );
    ok(
        w.post(
            "/api/v1/app/unlock",
            None,
            json!({ "personal_id": p.id.as_str(), "password": PASSWORD, "passcode": PASSCODE }),
        ),
        200,
    );
    let token = w.session(&p);
    assert_eq!(
        w.post(
            "/api/v1/app/passcode",
            Some(&token),
            json!({ "passcode": PASSCODE, "new_passcode": "135792" }),
        )
        .0,
        204
    );
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let code = w.code(phone_of(&p), "device");
    let s = ok(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": r["device_check"], "code": code }),
        ),
        200,
    );
    let token = s["token"].as_str().unwrap();
    let new_phone = PhoneNumber::parse("0987654321").unwrap();
    let h = ok(
        w.post(
            "/api/v1/app/phone",
            Some(token),
            json!({ "passcode": "135792", "new_phone": new_phone.national() }),
        ),
        202,
    );
    ok(
        w.post(
            "/api/v1/app/phone/confirm",
            Some(token),
            json!({ "handle": h["handle"], "code_old": w.code(phone_of(&p), "phone_old"),
                    "code_new": w.code(&new_phone, "phone_new") }),
        ),
        200,
    );

    let events = ok(w.get("/api/v1/app/events", Some(token)), 200)["events"].clone();
    let events = events.as_array().unwrap();
    let k: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        k,
        vec![
            "registration_started",
            "level1_activated",
            "signed_in",
            "locked_by_holder",
            "unlocked_by_holder",
            "signed_in",
            "passcode_changed",
            "device_check_sent",
            "device_bound",
            "signed_in",
            "phone_change_started",
            "phone_changed"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|s| s[0] < s[1]), "{seqs:?}");
    // Sign-ins name the device by a label, never by its identifier.
    let label = |d: &str| eid_core::secret::hex(&eid_core::secret::token_hash(d)[..4]);
    let devices: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "signed_in")
        .map(|e| e["detail"]["device"].as_str().unwrap())
        .collect();
    assert_eq!(
        devices,
        vec![label(DEVICE), label(DEVICE), label(OTHER_DEVICE)]
    );
    let text = serde_json::to_string(events).unwrap();
    assert!(!text.contains(DEVICE) && !text.contains(OTHER_DEVICE));
    assert!(!text.contains(phone_of(&p).as_str()) && !text.contains(new_phone.as_str()));
    assert_eq!(events[11]["detail"]["to"], new_phone.masked());
}

// ----------------------------------------------------------------------------------------------
// The roll-up

#[test]
fn the_roll_up_counts_every_transition() {
    let w = World::new("acc-rollup");
    let first_day = acc::day_of(crate::helpers::now());
    let dev = w.device(w.at.commune);
    // Level 1: two activations, one registration left pending.
    let a = w.person(Some(date!(2022 - 05 - 01)));
    w.level1(&a);
    let b = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&b);
    let c = w.person(Some(date!(2021 - 06 - 01)));
    ok(w.register(&c, c.id.as_str()), 202);
    // Level 2: four applications collected; one activated, one rejected, one in review, one
    // with its code unused; and one self-service upgrade.
    let d = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &d);
    let e = w.person(Some(date!(2021 - 06 - 01)));
    let rejected = w.collect(&dev, &e, true);
    ok(
        w.post(
            &format!("/api/v1/applications/{rejected}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "sai thông tin" }),
        ),
        200,
    );
    let f = w.person(Some(date!(2021 - 06 - 01)));
    w.collect(&dev, &f, false);
    w.collect(&dev, &c, true);
    let t = w.session(&a);
    ok(
        w.post(
            "/api/v1/app/upgrade",
            Some(&t),
            json!({ "passcode": PASSCODE, "photo_base64": photo(a.id.as_str()) }),
        ),
        200,
    );
    // A resident of the neighbouring commune, collected on the commune's device: counted
    // where they live.
    let g = w.person_born(
        date!(1988 - 02 - 02),
        Some(date!(2021 - 06 - 01)),
        w.at.neighbour,
    );
    w.collect(&dev, &g, true);
    // Refusals count nothing.
    refused(
        w.intake(w.packet(&dev, &e, "nobody", true)),
        403,
        "officer.unknown",
    );
    refused(
        w.signin(b.id.as_str(), "Sai-mật-khẩu-1", DEVICE),
        401,
        "auth.bad_credentials",
    );

    let last_day = acc::day_of(crate::helpers::now());
    let count = |m: &str, unit: &UnitCode| {
        acc::count(
            w.store.as_ref(),
            m,
            path_range(unit).unwrap(),
            first_day,
            last_day,
        )
        .unwrap()
    };
    let commune = w.at.commune;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &commune), 4);
    assert_eq!(count(metric::LEVEL1_ACTIVATED, &commune), 2);
    assert_eq!(count(metric::LEVEL2_ACTIVATED, &commune), 2);
    let neighbour = w.at.neighbour;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &neighbour), 1);
    assert_eq!(count(metric::LEVEL1_ACTIVATED, &neighbour), 0);
    let district = w.at.district;
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &district), 5);
    assert_eq!(count(metric::LEVEL2_ACTIVATED, &district), 2);
    assert_eq!(count(metric::APPLICATIONS_COLLECTED, &w.at.far), 0);
    // The same numbers as the events say.
    let mut by_kind = std::collections::HashMap::<String, i64>::new();
    for p in [&a, &b, &c, &d, &e, &f] {
        for k in w.stored_kinds(p) {
            *by_kind.entry(k).or_default() += 1;
        }
    }
    assert_eq!(by_kind.get("application_collected"), Some(&4));
    assert_eq!(by_kind.get("level1_activated"), Some(&2));
    assert_eq!(by_kind.get("level2_activated"), Some(&2));
    // Outside the days: nothing.
    assert_eq!(
        acc::count(
            w.store.as_ref(),
            metric::LEVEL1_ACTIVATED,
            path_range(&commune).unwrap(),
            first_day - 10,
            first_day - 1
        )
        .unwrap(),
        0
    );
}

// ----------------------------------------------------------------------------------------------
// The same request many times at once (a double tap, or a guesser in parallel)

/// Sends `n` requests built by `body(i)` to `path` at the same moment; returns the answers.
fn at_once(w: &World, path: &str, n: usize, body: impl Fn(usize) -> Value) -> Vec<(u16, Value)> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (url, b, barrier) = (format!("{}{path}", w.base), body(i), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let req = agent().post(&url);
                barrier.wait();
                answer(send_json(req, b))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn parallel_wrong_codes_all_count() {
    let w = World::new("acc-par-codes");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    w.session(&p);
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    let code = w.code(phone_of(&p), "device");
    let answers = at_once(
        &w,
        "/api/v1/app/signin/device",
        16,
        |i| json!({ "handle": handle, "code": wrong(&code, u32::try_from(i).unwrap() + 1) }),
    );
    for a in answers {
        refused(a, 401, "code.invalid");
    }
    // Sixteen wrong entries: the code is dead.
    refused(
        w.post(
            "/api/v1/app/signin/device",
            None,
            json!({ "handle": handle, "code": code }),
        ),
        401,
        "code.invalid",
    );
}

#[test]
fn parallel_uses_of_one_code_give_one_session() {
    let w = World::new("acc-par-once");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let r = ok(w.signin(p.id.as_str(), PASSWORD, OTHER_DEVICE), 202);
    let handle = r["device_check"].as_str().unwrap().to_owned();
    let code = w.code(phone_of(&p), "device");
    let answers = at_once(
        &w,
        "/api/v1/app/signin/device",
        8,
        |_| json!({ "handle": handle, "code": code }),
    );
    let granted: Vec<&(u16, Value)> = answers.iter().filter(|a| a.0 == 200).collect();
    assert_eq!(granted.len(), 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.0 != 200) {
        refused(a.clone(), 401, "code.invalid");
    }
    let k = kinds(&w.account(&p));
    assert_eq!(
        k.iter().filter(|k| *k == "device_bound").count(),
        1,
        "{k:?}"
    );
}

#[test]
fn parallel_wrong_passwords_all_count() {
    let w = World::new("acc-par-passwords");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&p);
    let answers = at_once(
        &w,
        "/api/v1/app/signin",
        8,
        |_| json!({ "personal_id": p.id.as_str(), "password": "Sai-mật-khẩu-1", "device_id": DEVICE }),
    );
    assert!(
        answers.iter().all(|a| a.0 == 401 || a.0 == 429),
        "{answers:?}"
    );
    refused(
        w.signin(p.id.as_str(), PASSWORD, DEVICE),
        429,
        "auth.locked_out",
    );
}

#[test]
fn parallel_copies_of_a_packet_collect_once() {
    let w = World::new("acc-par-packet");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let packet = w.packet(&dev, &p, "xa", true);
    let answers = at_once(&w, "/api/v1/intake/applications", 8, |_| packet.clone());
    assert_eq!(
        answers.iter().filter(|a| a.0 == 201).count(),
        1,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 201) {
        refused(a, 409, "packet.replayed");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
}

/// Like [`at_once`], with an officer's token.
fn at_once_as(w: &World, token: &str, path: &str, n: usize) -> Vec<(u16, Value)> {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (format!("{}{path}", w.base), Arc::clone(&barrier));
            let auth = format!("Bearer {token}");
            std::thread::spawn(move || {
                let req = agent().post(&url).header("Authorization", &auth);
                barrier.wait();
                answer(send_json(req, json!({})))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn parallel_approvals_and_resends_act_once_each() {
    let w = World::new("acc-par-decide");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, false);
    let answers = at_once_as(
        &w,
        &w.huyen.token,
        &format!("/api/v1/applications/{id}/approve"),
        6,
    );
    assert_eq!(
        answers.iter().filter(|a| a.0 == 200).count(),
        1,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 200) {
        refused(a, 409, "state.wrong");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
    // Two more sends are allowed, however many ask at once.
    let answers = at_once_as(
        &w,
        &w.xa.token,
        &format!("/api/v1/applications/{id}/resend"),
        6,
    );
    assert_eq!(
        answers.iter().filter(|a| a.0 == 200).count(),
        2,
        "{answers:?}"
    );
    for a in answers.into_iter().filter(|a| a.0 != 200) {
        refused(a, 429, "code.too_many_sends");
    }
    assert_eq!(w.sms(phone_of(&p)).len(), 3);
    ok(w.activate(&p, &w.code(phone_of(&p), "activate")), 200);
}
