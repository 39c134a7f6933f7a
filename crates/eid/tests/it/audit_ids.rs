//! The request id on every audit entry: each officer and operations action, through the API and
//! through the console, is audited with the id of the request that did it (its response's
//! `x-request-id` header), never with "-".
//!
//! One server over its own fresh store, so the newest audit entry is always the action just
//! done: the actions run one after another in a single test.

use std::sync::Arc;

use eid_core::accounts::metric;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::intake::{new_key, sign, signing_key, unhex, PacketFields};
use eid_core::secret::random_token;
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{
    iso, BirthDate, Card, Level, LifeState, LifeStatus, Person, PersonName, PersonalId,
    PhoneNumber, PhoneType, Residence, Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;
use time::Duration;

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, post_form, send_json,
    set_cookie, sign_in, spawn, Reply, TestUser, WithBody,
};

struct Fixture {
    base: String,
    store: Arc<dyn Store>,
    commune: UnitCode,
    district: UnitCode,
    /// Generated people of `commune` the outreach list shows.
    eligible: Vec<PersonalId>,
    xa: TestUser,
    huyen: TestUser,
    tinh: TestUser,
    /// Ministry staff: the only ones who may read the development SMS outbox.
    bo: TestUser,
    serial: std::cell::Cell<u32>,
    /// The newest audit entry already checked.
    seen: std::cell::Cell<i64>,
    /// Every action checked, with the request id that did it.
    checked: std::cell::RefCell<Vec<(String, String)>>,
}

fn today() -> time::Date {
    crate::helpers::now()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date()
}

fn fixture() -> Fixture {
    let store = fresh_store("audit-ids");
    let today = today();
    let province = UnitCode::parse("62").unwrap();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 600,
        seed: 41,
        province: Some(province),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok())
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now: crate::helpers::now(),
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let mut counts: std::collections::HashMap<UnitCode, usize> = Default::default();
    for p in &persons {
        *counts.entry(p.residence.unit).or_default() += 1;
    }
    let commune = counts
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .map(|(c, _)| *c)
        .unwrap();
    let district = Units::get()
        .ancestors(Tree::Gso2024, &commune)
        .into_iter()
        .find(|u| u.level == Level::District)
        .unwrap()
        .code;
    let eligible: Vec<PersonalId> = persons
        .iter()
        .filter(|p| {
            p.residence.unit == commune
                && p.life.state == LifeState::Alive
                && p.birth.age_on(today) >= 14
        })
        .map(|p| p.id)
        .collect();
    assert!(eligible.len() >= 3, "people to reach in {commune}");
    let s = store.as_ref();
    Fixture {
        xa: create_user(s, "ai.xa", Role::Commune, commune),
        huyen: create_user(s, "ai.huyen", Role::District, district),
        tinh: create_user(s, "ai.tinh", Role::Province, province),
        bo: create_user(s, "ai.bo", Role::Ministry, UnitCode::NATION),
        base: spawn(Arc::clone(&store)),
        store,
        commune,
        district,
        eligible,
        serial: std::cell::Cell::new(1),
        seen: std::cell::Cell::new(0),
        checked: Default::default(),
    }
}

/// A response's status, request id and body (JSON, or the text as a JSON string).
struct Answer {
    status: u16,
    rid: String,
    body: Value,
    location: Option<String>,
}

fn answer(r: Reply) -> Answer {
    let status = r.status();
    let rid = r.header("x-request-id").unwrap_or("").to_owned();
    let location = r.header("location").map(str::to_owned);
    let text = r.into_string().unwrap();
    Answer {
        status,
        rid,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        location,
    }
}

fn send(req: WithBody, body: Option<Value>) -> Reply {
    match body {
        Some(b) => send_json(req, b),
        None => call(req),
    }
}

/// A signed-in officer of the console.
struct Officer {
    cookie: String,
    csrf: String,
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
        let auth = format!("Bearer {token}");
        let url = self.url(path);
        let reply = match method {
            "GET" => call(agent().get(&url).header("Authorization", &auth)),
            "POST" => send(agent().post(&url).header("Authorization", &auth), body),
            "PUT" => send(agent().put(&url).header("Authorization", &auth), body),
            other => panic!("no such method in this test: {other}"),
        };
        answer(reply)
    }

    fn officer(&self, u: &TestUser) -> Officer {
        let r = sign_in(&self.base, &u.username, &u.password);
        assert_eq!(r.status(), 303);
        let cookie = format!(
            "eid_session={}",
            cookie_value(&set_cookie(&r, "eid_session").unwrap())
        );
        let page = call(agent().get(&self.url("/search")).header("Cookie", &cookie));
        let csrf = csrf_field(&page.into_string().unwrap());
        Officer { cookie, csrf }
    }

    fn page(&self, o: &Officer, path: &str) -> Answer {
        answer(call(
            agent().get(&self.url(path)).header("Cookie", &o.cookie),
        ))
    }

    fn form(&self, o: &Officer, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut all = form.to_vec();
        all.push(("csrf", &o.csrf));
        answer(post_form(
            agent().post(&self.url(path)).header("Cookie", &o.cookie),
            &all,
        ))
    }

    /// Asserts the status, then that the request wrote `action` to the audit trail and that
    /// every entry written since the previous check (the newest first) carries the response's
    /// request id.
    #[track_caller]
    fn audited(&self, what: &str, a: &Answer, status: u16, action: &str) {
        let body: String = a.body.to_string().chars().take(400).collect();
        assert_eq!(a.status, status, "{what}: {body}");
        assert_eq!(a.rid.len(), 16, "{what}: the response has a request id");
        let since = self.seen.get();
        let new: Vec<_> = self
            .store
            .audit_log(100)
            .unwrap()
            .into_iter()
            .filter(|e| e.seq > since)
            .collect();
        assert!(!new.is_empty(), "{what}: nothing was audited");
        for e in &new {
            assert_eq!(
                (e.action.as_str(), e.request_id.as_str()),
                (e.action.as_str(), a.rid.as_str()),
                "{what}: every entry it wrote carries its request id"
            );
        }
        assert!(
            new.iter().any(|e| e.action == action),
            "{what}: {action} is audited, among {:?}",
            new.iter().map(|e| &e.action).collect::<Vec<_>>()
        );
        assert_eq!(new[0].request_id, a.rid, "{what}: the newest entry");
        self.seen.set(new[0].seq);
        self.checked
            .borrow_mut()
            .push((what.to_owned(), a.rid.clone()));
    }

    /// Marks every entry written so far as seen (sign-ins before the actions).
    fn mark(&self) {
        let newest = self.store.audit_log(1).unwrap();
        self.seen.set(newest.first().map_or(0, |e| e.seq));
    }

    /// A new adult of the commune with a valid card and a phone, written to the register.
    fn person(&self) -> Person {
        let n = self.serial.get();
        self.serial.set(n + 1);
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Female, 1991, 977_000 + n).unwrap(),
            name: PersonName::parse("Lê", "Thị", "Lan").unwrap(),
            birth: BirthDate::Full(date!(1991 - 06 - 02)),
            sex: Sex::Female,
            hometown: None,
            residence: Residence {
                unit: self.commune,
                address: format!("Tổ {n}"),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&format!("0983{n:06}")).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2023 - 02 - 10),
                revoked: false,
            }),
        };
        let now = crate::helpers::now();
        p.check(now.date()).unwrap();
        let mut w = self
            .store
            .writer(&Actor::Cli("test".into()), "test", now)
            .unwrap();
        w.put(&p).unwrap();
        w.commit().unwrap();
        p
    }

    /// Sends a signed application for `p` from device `dev`; returns its id.
    fn collect(&self, dev: (i64, &str), p: &Person, matched: bool) -> i64 {
        let phone = p.phone.as_ref().unwrap().national();
        let nonce: [u8; 16] = unhex(&random_token()[..32]).unwrap().try_into().unwrap();
        let fields = PacketFields {
            device: dev.0,
            personal_id: p.id.as_str(),
            phone: &phone,
            portrait_sha256: [7; 32],
            method: "fingerprint",
            against: "card",
            matched,
            score: if matched { 0.95 } else { 0.2 },
            officer: &self.xa.username,
            collected_at: crate::helpers::now(),
            nonce,
        };
        let (packet, signature) = sign(&fields, &signing_key(dev.1).unwrap()).unwrap();
        let a = answer(send(
            agent().post(&self.url("/api/v1/intake/applications")),
            Some(json!({ "packet": packet, "signature": signature })),
        ));
        self.audited("intake", &a, 201, "intake.packet");
        a.body["application"]["id"].as_i64().unwrap()
    }

    /// The newest activation code sent to `p`.
    fn activation_code(&self, p: &Person) -> String {
        let phone = p.phone.as_ref().unwrap().as_str().to_owned();
        (0..100)
            .find_map(|_| {
                let a = self.api("GET", "/api/v1/sms?limit=500", &self.bo.token, None);
                let code = a.body["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["to"] == phone.as_str() && m["purpose"] == "activate")
                    .and_then(|m| m["body"].as_str())
                    .and_then(|b| {
                        b.as_bytes()
                            .windows(6)
                            .position(|w| w.iter().all(u8::is_ascii_digit))
                            .map(|i| b[i..i + 6].to_owned())
                    });
                if code.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                code
            })
            .expect("an activation SMS")
    }

    /// A level-2 account for a new person; returns the person.
    fn account(&self, dev: (i64, &str)) -> Person {
        let p = self.person();
        self.collect(dev, &p, true);
        let code = self.activation_code(&p);
        let a = answer(send(
            agent().post(&self.url("/api/v1/app/activate")),
            Some(json!({
                "personal_id": p.id.as_str(), "code": code, "password": "Mật-khẩu-Mạnh-2026",
                "passcode": "135790", "device_id": "audit-id-test-phone",
            })),
        ));
        assert_eq!(a.status, 200, "{}", a.body);
        p
    }
}

#[test]
fn every_officer_and_operations_action_is_audited_with_its_request_id() {
    let f = fixture();
    let (c, d) = (
        f.commune.as_str().to_owned(),
        f.district.as_str().to_owned(),
    );
    let huyen = f.officer(&f.huyen);
    let xa = f.officer(&f.xa);
    let tinh = f.officer(&f.tinh);
    f.mark();

    // Devices.
    let (seed, public) = new_key();
    let a = f.api(
        "POST",
        "/api/v1/devices",
        &f.huyen.token,
        Some(json!({ "name": "Máy 1", "unit": c, "public_key": public, "daily_capacity": 300 })),
    );
    f.audited("API device.add", &a, 201, "device.add");
    let dev = (a.body["device"]["id"].as_i64().unwrap(), seed.as_str());
    let (_, public2) = new_key();
    let a = f.form(
        &huyen,
        "/devices",
        &[
            ("name", "Máy 2"),
            ("unit", &c),
            ("public_key", &public2),
            ("daily_capacity", "100"),
        ],
    );
    f.audited("console device.add", &a, 303, "device.add");
    let devices = f.api("GET", "/api/v1/devices", &f.huyen.token, None);
    let second = devices.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Máy 2")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let a = f.api(
        "POST",
        &format!("/api/v1/devices/{second}/status"),
        &f.huyen.token,
        Some(json!({ "status": "suspended" })),
    );
    f.audited("API device.status", &a, 200, "device.status");
    let a = f.form(
        &huyen,
        &format!("/devices/{second}/status"),
        &[("status", "active")],
    );
    f.audited("console device.status", &a, 303, "device.status");

    // Applications: approve and reject reviews, resend a code.
    let review = || f.collect(dev, &f.person(), false);
    let (r1, r2, r3, r4) = (review(), review(), review(), review());
    for (id, how, reason) in [(r1, "approve", None), (r2, "reject", Some("Ảnh không rõ"))] {
        let a = f.api(
            "POST",
            &format!("/api/v1/applications/{id}/{how}"),
            &f.huyen.token,
            Some(json!({ "reason": reason })),
        );
        f.audited(
            &format!("API application.{how}"),
            &a,
            200,
            &format!("application.{how}"),
        );
    }
    for (id, how) in [(r3, "approve"), (r4, "reject")] {
        let a = f.form(
            &huyen,
            &format!("/applications/{id}/{how}"),
            &[("reason", "Ảnh không rõ")],
        );
        f.audited(
            &format!("console application.{how}"),
            &a,
            303,
            &format!("application.{how}"),
        );
    }
    let sent = f.collect(dev, &f.person(), true);
    let a = f.api(
        "POST",
        &format!("/api/v1/applications/{sent}/resend"),
        &f.xa.token,
        None,
    );
    f.audited("API application.resend", &a, 200, "application.resend");
    let a = f.form(&xa, &format!("/applications/{sent}/resend"), &[]);
    f.audited("console application.resend", &a, 303, "application.resend");

    // Accounts: read, lock, unlock, phone.
    let p = f.account(dev);
    let id = p.id.as_str();
    let a = f.api("GET", &format!("/api/v1/accounts/{id}"), &f.xa.token, None);
    f.audited("API account.read", &a, 200, "account.read");
    let a = f.page(&xa, &format!("/accounts/{id}"));
    f.audited("console account.read", &a, 200, "account.read");
    for (how, console) in [
        ("lock", false),
        ("unlock", true),
        ("lock", true),
        ("unlock", false),
    ] {
        let a = if console {
            f.form(
                &xa,
                &format!("/accounts/{id}/{how}"),
                &[("reason", "Công dân đề nghị")],
            )
        } else {
            f.api(
                "POST",
                &format!("/api/v1/accounts/{id}/{how}"),
                &f.xa.token,
                Some(json!({ "reason": "Công dân đề nghị" })),
            )
        };
        let (via, status) = if console {
            ("console", 303)
        } else {
            ("API", 200)
        };
        f.audited(
            &format!("{via} account.{how}"),
            &a,
            status,
            &format!("account.{how}"),
        );
    }
    let a = f.api(
        "POST",
        &format!("/api/v1/accounts/{id}/phone"),
        &f.xa.token,
        Some(json!({ "phone": "0977000111", "reason": "Đến trực tiếp" })),
    );
    f.audited("API account.phone", &a, 200, "account.phone");
    let a = f.form(
        &xa,
        &format!("/accounts/{id}/phone"),
        &[("phone", "0977000222"), ("reason", "Đến trực tiếp")],
    );
    f.audited("console account.phone", &a, 303, "account.phone");

    // A guardian (the API only: the console has no guardian form).
    let child = f.person();
    let a = f.api(
        "POST",
        &format!("/api/v1/persons/{}/guardians", child.id.as_str()),
        &f.xa.token,
        Some(json!({ "guardian_id": id, "relation": "mother" })),
    );
    f.audited("API guardian.add", &a, 204, "guardian.add");

    // Quotas: set (API, console form, console target) and split.
    let (start, deadline) = (
        iso(today() - Duration::days(5)),
        iso(today() + Duration::days(30)),
    );
    let a = f.api(
        "POST",
        "/api/v1/ops/quotas",
        &f.tinh.token,
        Some(
            json!({ "unit": d, "metric": metric::LEVEL2_ACTIVATED, "cohort": "",
                     "target": 100, "start": start, "deadline": deadline, "reason": "Kế hoạch" }),
        ),
    );
    f.audited("API quota.set", &a, 201, "quota.set");
    let q1 = a.body["quota"]["id"].as_i64().unwrap();
    let a = f.form(
        &tinh,
        "/ops/quotas",
        &[
            ("unit", &d),
            ("metric", metric::LEVEL1_ACTIVATED),
            ("cohort", ""),
            ("target", "80"),
            ("start", &start),
            ("deadline", &deadline),
            ("reason", "Kế hoạch"),
        ],
    );
    f.audited("console quota.set", &a, 303, "quota.set");
    let q2: i64 = a
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix("/ops/quotas/"))
        .and_then(|l| l.split('?').next())
        .unwrap()
        .parse()
        .unwrap();
    let a = f.form(
        &tinh,
        &format!("/ops/quotas/{q2}/target"),
        &[("target", "90"), ("reason", "Bổ sung")],
    );
    f.audited("console quota target", &a, 303, "quota.set");
    let a = f.api(
        "POST",
        &format!("/api/v1/ops/quotas/{q1}/split"),
        &f.huyen.token,
        Some(json!({ "mode": "proportional" })),
    );
    f.audited("API quota.split", &a, 200, "quota.split");
    let a = f.form(
        &huyen,
        &format!("/ops/quotas/{q2}/split"),
        &[("mode", "proportional")],
    );
    f.audited("console quota.split", &a, 303, "quota.split");

    // Outreach: the list (API JSON and CSV; console page, CSV, XLSX, print), assign, contact.
    for format in ["json", "csv"] {
        let a = f.api(
            "GET",
            &format!("/api/v1/ops/outreach?commune={c}&missing=no_account&format={format}"),
            &f.xa.token,
            None,
        );
        f.audited(
            &format!("API outreach.list {format}"),
            &a,
            200,
            "outreach.list",
        );
    }
    for path in [
        "/ops/outreach",
        "/ops/outreach.csv",
        "/ops/outreach.xlsx",
        "/ops/outreach/print",
    ] {
        let r = call(
            agent()
                .get(&f.url(&format!("{path}?missing=no_account")))
                .header("Cookie", &xa.cookie),
        );
        let a = Answer {
            status: r.status(),
            rid: r.header("x-request-id").unwrap_or("").to_owned(),
            body: Value::Null,
            location: None,
        };
        f.audited(&format!("console {path}"), &a, 200, "outreach.list");
    }
    let due = iso(today() + Duration::days(3));
    let (g1, g2) = (f.eligible[0].as_str(), f.eligible[1].as_str());
    let a = f.api(
        "POST",
        "/api/v1/ops/outreach/assign",
        &f.xa.token,
        Some(json!({ "commune": c, "personal_ids": [g1], "assignee": "Tổ 1", "due": due })),
    );
    f.audited("API outreach.assign", &a, 200, "outreach.assign");
    let a = f.form(
        &xa,
        "/ops/outreach/assign",
        &[
            ("commune", &c),
            ("id", g2),
            ("assignee", "Tổ 2"),
            ("due", &due),
        ],
    );
    f.audited("console outreach.assign", &a, 303, "outreach.assign");
    let a = f.api(
        "POST",
        "/api/v1/ops/outreach/contacts",
        &f.xa.token,
        Some(json!({ "personal_id": g1, "outcome": "dead", "note": "Gia đình báo" })),
    );
    f.audited("API outreach.contact", &a, 201, "outreach.contact");
    let p1 = a.body["proposal_id"].as_i64().unwrap();
    let a = f.form(
        &xa,
        "/ops/outreach/contact",
        &[
            ("personal_id", g2),
            ("outcome", "dead"),
            ("note", "Gia đình báo"),
        ],
    );
    f.audited("console outreach.contact", &a, 303, "outreach.contact");

    // Proposals: dismiss both.
    let list = f.api("GET", "/api/v1/ops/proposals", &f.huyen.token, None);
    let p2 = list.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["personal_id"] == g2)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let a = f.api(
        "POST",
        &format!("/api/v1/ops/proposals/{p1}"),
        &f.huyen.token,
        Some(json!({ "decision": "dismiss" })),
    );
    f.audited("API proposal.decide", &a, 200, "proposal.decide");
    let a = f.form(
        &huyen,
        &format!("/ops/proposals/{p2}"),
        &[("decision", "dismiss")],
    );
    f.audited("console proposal.decide", &a, 303, "proposal.decide");

    // Every entry this run wrote carries a request id, and each checked one is there.
    let all = f.store.audit_log(100_000).unwrap();
    let dashes: Vec<String> = all
        .iter()
        .filter(|e| e.request_id == "-" || e.request_id.is_empty())
        .map(|e| format!("{} {}", e.action, e.outcome))
        .collect();
    assert!(
        dashes.is_empty(),
        "audited without a request id: {dashes:?}"
    );
    let checked = f.checked.borrow();
    assert!(checked.len() >= 40, "{} actions checked", checked.len());
    for (what, rid) in checked.iter() {
        assert!(
            all.iter().any(|e| &e.request_id == rid),
            "{what}: {rid} is in the audit log"
        );
    }
}
