//! What linkage changes in the register, over HTTP (issue 13): a civil-registry death becomes a
//! proposal that, confirmed, sets the person dead and locks their account; a birth becomes a
//! proposed person with its gaps, created when confirmed; a person entered twice is proposed
//! for a merge, merged and unmerged; the quality scores per unit, their worklists and scope
//! refusals; importing the same file again proposes nothing twice. Each test has its own server
//! and store (Kon Tum, generated).

use std::sync::Arc;

use base64::Engine as _;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{
    BirthDate, Card, Level, LifeState, LifeStatus, Person, PersonName, PersonalId, PhoneNumber,
    PhoneType, Residence, Sex, Tree, UnitCode, Units,
};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{agent, call, create_user, fresh_store, now, send_json, spawn, TestUser};

struct World {
    base: String,
    store: Arc<dyn Store>,
    persons: Vec<Person>,
    /// Officers: the nation, the province, the commune of `persons[0]`, another commune.
    bo: TestUser,
    tinh: TestUser,
    xa: TestUser,
    other_xa: TestUser,
}

fn world(label: &str) -> World {
    let store = fresh_store(label);
    let today = now().date();
    let province = UnitCode::parse("62").unwrap();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 400,
        seed: 17,
        province: Some(province),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok() && p.life.state == LifeState::Alive)
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Abort,
        today,
        now: now(),
        actor: Actor::Cli("test".to_owned()),
        reason: "test data".to_owned(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let commune = persons[0].residence.unit;
    let other = persons
        .iter()
        .find(|p| district_of(&p.residence.unit) != district_of(&commune))
        .unwrap()
        .residence
        .unit;
    World {
        bo: create_user(store.as_ref(), "bo", Role::Ministry, UnitCode::NATION),
        tinh: create_user(store.as_ref(), "tinh", Role::Province, province),
        xa: create_user(store.as_ref(), "xa", Role::Commune, commune),
        other_xa: create_user(store.as_ref(), "xa2", Role::Commune, other),
        base: spawn(Arc::clone(&store)),
        store,
        persons,
    }
}

fn district_of(c: &UnitCode) -> UnitCode {
    Units::get()
        .ancestors(Tree::Gso2024, c)
        .into_iter()
        .find(|u| u.level == Level::District)
        .unwrap()
        .code
}

impl World {
    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        answer(call(
            agent()
                .get(&format!("{}{path}", self.base))
                .header("Authorization", &format!("Bearer {token}")),
        ))
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = agent().post(&format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        answer(send_json(req, body))
    }

    fn source(&self, name: &str, kind: &str) {
        service::define_source(
            self.store.as_ref(),
            &Actor::Cli("test".into()),
            now(),
            &Source {
                name: name.into(),
                kind: kind.into(),
                mapping: Mapping::parse("row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit=unit").unwrap(),
            },
        )
        .unwrap();
    }

    fn import(&self, source: &str, file: &str) -> service::LinkSummary {
        service::import(
            self.store.as_ref(),
            &Actor::Cli("test".into()),
            now(),
            source,
            "file.csv",
            now().date(),
            file.as_bytes(),
            &Thresholds::default(),
            &mut |r| panic!("rejected line {}: {}", r.line, r.reason),
        )
        .unwrap()
    }

    /// A person with a phone and a valid card in the commune officer's commune, written to the
    /// register, with an active level-1 account.
    fn person_with_account(&self, serial: u32) -> Person {
        let phone = format!("0912{serial:06}");
        let p = Person {
            id: PersonalId::from_parts(62, Sex::Female, 1980, serial).unwrap(),
            name: PersonName::parse("Đinh", "Thị", "Mai").unwrap(),
            birth: BirthDate::Full(date!(1980 - 04 - 09)),
            sex: Sex::Female,
            hometown: None,
            residence: Residence {
                unit: self.xa.unit,
                address: "Thôn 3".into(),
            },
            temporary: None,
            household: None,
            phone: Some(PhoneNumber::parse(&phone).unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2021 - 06 - 01),
                revoked: false,
            }),
        };
        let mut wr = self
            .store
            .writer(&Actor::Cli("test".into()), "test", now())
            .unwrap();
        wr.put(&p).unwrap();
        wr.commit().unwrap();
        let photo = base64::engine::general_purpose::STANDARD
            .encode(eid::verifier::dev_portrait(p.id.as_str()));
        let (status, r) = self.post(
            "/api/v1/app/register",
            None,
            json!({"personal_id": p.id.as_str(), "phone": phone, "photo_base64": photo, "device_id": "app-device-0001"}),
        );
        assert_eq!(status, 202, "{r}");
        let (_, sms) = self.get("/api/v1/sms?limit=100", &self.bo.token);
        let to = format!("+84{}", &phone[1..]);
        let body = sms["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to.as_str() && m["purpose"] == "register")
            .unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, a) = self.post(
            "/api/v1/app/register/confirm",
            None,
            json!({"handle": r["handle"], "code": six_digits(&body), "password": "Mật-khẩu-Mạnh-2026", "passcode": "246810"}),
        );
        assert_eq!(
            (status, a["account"]["state"].as_str()),
            (200, Some("active")),
            "{a}"
        );
        p
    }

    fn proposals(&self, kind: &str, token: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/linkage/proposals?kind={kind}"), token);
        assert_eq!(status, 200, "{body}");
        body["proposals"].as_array().unwrap().clone()
    }
}

fn answer(r: crate::helpers::Reply) -> (u16, Value) {
    let status = r.status();
    let text = r.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn line(row: &str, p: &Person, extra: &str) -> String {
    format!(
        "{row},{},{},{},{},{},{},{}{extra}",
        p.id.as_str(),
        p.name.surname(),
        p.name.middle(),
        p.name.given(),
        p.birth,
        p.sex.as_str(),
        p.residence.unit.as_str()
    )
}

/// The first run of exactly six digits in a message.
fn six_digits(body: &str) -> String {
    let digits: Vec<(usize, char)> = body.char_indices().collect();
    let mut run = String::new();
    for (_, c) in digits {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() == 6 {
                return run;
            }
            run.clear();
        }
    }
    assert_eq!(run.len(), 6, "no six-digit code in the message");
    run
}

#[test]
fn a_confirmed_death_sets_the_person_dead_and_locks_the_account_once() {
    let w = world("link-death");
    let p = w.person_with_account(777_001);
    w.source("khai-tu", "civil_deaths");
    let file = format!(
        "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,death_date\n{}",
        line("KT-1", &p, ",2026-10-20")
    );
    assert_eq!(w.import("khai-tu", &file).proposed, 1);
    // The same file again: no second proposal.
    assert_eq!(w.import("khai-tu", &file).proposed, 0);
    let open = w.proposals("death", &w.xa.token);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["personal_id"], p.id.as_str());
    assert_eq!(open[0]["detail"]["death_date"], "2026-10-20");
    let id = open[0]["id"].as_i64().unwrap();
    // Another commune's officer neither sees nor decides it.
    assert!(w.proposals("death", &w.other_xa.token).is_empty());
    let path = format!("/api/v1/linkage/proposals/{id}/decision");
    let (status, body) = w.post(
        &path,
        Some(&w.other_xa.token),
        json!({"decision": "confirm", "reason": "giấy chứng tử"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("scope.denied")),
        "{body}"
    );
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": ""}),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": "giấy chứng tử số 45"}),
    );
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "dismiss", "reason": "lại"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("link.proposal_decided")),
        "{body}"
    );

    let stored = w.store.person(&p.id).unwrap().unwrap().person;
    assert_eq!(stored.life.state, LifeState::Dead);
    assert_eq!(stored.life.since, Some(date!(2026 - 10 - 20)));
    let (status, acc) = w.get(&format!("/api/v1/accounts/{}", p.id.as_str()), &w.xa.token);
    assert_eq!(status, 200, "{acc}");
    assert_eq!(acc["account"]["state"], "locked");
    assert_eq!(acc["account"]["register_lock_reason"], "dead");
    // The event trail: one confirmation by the officer.
    let (_, one) = w.get(&format!("/api/v1/linkage/proposals/{id}"), &w.xa.token);
    assert_eq!(one["events"].as_array().unwrap().len(), 1);
    assert_eq!(one["events"][0]["kind"], "confirmed");
    // The person's findings name the death source.
    let (status, f) = w.get(
        &format!("/api/v1/linkage/persons/{}/findings", p.id.as_str()),
        &w.xa.token,
    );
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["results"][0]["source"], "khai-tu");
    let (status, _) = w.get(
        &format!("/api/v1/linkage/persons/{}/findings", p.id.as_str()),
        &w.other_xa.token,
    );
    assert_eq!(status, 403);
}

#[test]
fn a_birth_is_proposed_with_its_gaps_and_confirmed_as_a_new_person() {
    let w = world("link-birth");
    w.source("khai-sinh", "civil_births");
    let unit = w.xa.unit.as_str().to_owned();
    let file = format!(
        "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,mother_birth_date,hometown_unit\n\
         KS-9,,A Lăng,Văn,Tùng,2026-11-01,M,{unit},1998-02-11,62"
    );
    assert_eq!(w.import("khai-sinh", &file).proposed, 1);
    assert_eq!(w.import("khai-sinh", &file).proposed, 0);
    let open = w.proposals("birth", &w.xa.token);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        open[0]["detail"]["gaps"],
        json!(["personal_id", "father_birth_date", "residence_address"])
    );
    let id = open[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/linkage/proposals/{id}/decision");
    // Without a personal ID no record can be made.
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": "khai sinh"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("link.birth_invalid")),
        "{body}"
    );
    let child = PersonalId::from_parts(62, Sex::Male, 2026, 555_123).unwrap();
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": "khai sinh số 9", "personal_id": child.as_str(), "residence_address": "Thôn Kon Klor"}),
    );
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    let born = w.store.person(&child).unwrap().unwrap().person;
    assert_eq!((born.name.given(), born.sex), ("Tùng", Sex::Male));
    assert_eq!(
        born.hometown.map(|h| h.as_str().to_owned()).as_deref(),
        Some("62")
    );
    let history = w.store.history(&child).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "created");
    // The officer's API token is the actor.
    assert!(
        matches!(history[0].actor, Actor::Token(_)),
        "{:?}",
        history[0].actor
    );
    // The father's date of birth is still missing: a gap on the person, on the worklist.
    let (_, f) = w.get(
        &format!("/api/v1/linkage/persons/{}/findings", child.as_str()),
        &w.xa.token,
    );
    assert_eq!(f["gaps"], json!(["father_birth_date"]));
    let (status, work) = w.get(
        "/api/v1/linkage/quality/worklist?criterion=complete",
        &w.xa.token,
    );
    assert_eq!(status, 200, "{work}");
    assert!(work["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["personal_id"] == child.as_str()));
}

#[test]
fn a_duplicate_is_merged_and_unmerged_and_quality_is_scored_per_unit_within_scope() {
    let w = world("link-dedupe");
    // A person entered a second time under another personal ID.
    let original = w
        .persons
        .iter()
        .find(|p| p.residence.unit == w.xa.unit)
        .unwrap()
        .clone();
    let mut twin = original.clone();
    twin.id = PersonalId::from_parts(62, twin.sex, twin.birth.year(), 888_001).unwrap();
    twin.phone = None;
    twin.household = None;
    let mut wr = w
        .store
        .writer(&Actor::Cli("test".into()), "test", now())
        .unwrap();
    wr.put(&twin).unwrap();
    wr.commit().unwrap();

    // A holder of an account entered a second time: merged into the second record, the account
    // of the first is locked by the merge, and unlocked when it is undone.
    let holder = w.person_with_account(777_002);
    let mut second = holder.clone();
    second.id = PersonalId::from_parts(62, Sex::Female, 1980, 888_002).unwrap();
    second.phone = None;
    let mut wr = w
        .store
        .writer(&Actor::Cli("test".into()), "test", now())
        .unwrap();
    wr.put(&second).unwrap();
    wr.commit().unwrap();

    // Before any run: no population known, scores empty.
    let (status, q) = w.get("/api/v1/linkage/quality", &w.tinh.token);
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["total"]["population"], 0);
    // Only national staff run the register against itself.
    let (status, _) = w.post("/api/v1/linkage/dedupe", Some(&w.tinh.token), json!({}));
    assert_eq!(status, 403);
    let (status, run) = w.post("/api/v1/linkage/dedupe", Some(&w.bo.token), json!({}));
    assert_eq!(status, 200, "{run}");
    assert!(run["proposed"].as_u64().unwrap() >= 1, "{run}");
    let (_, again) = w.post("/api/v1/linkage/dedupe", Some(&w.bo.token), json!({}));
    assert_eq!(again["proposed"], 0, "{again}");

    let merges = w.proposals("merge", &w.xa.token);
    let m = merges
        .iter()
        .find(|m| {
            let ids = [m["personal_id"].as_str(), m["other_id"].as_str()];
            ids.contains(&Some(original.id.as_str())) && ids.contains(&Some(twin.id.as_str()))
        })
        .unwrap_or_else(|| panic!("the pair is proposed: {merges:?}"))
        .clone();
    let id = m["id"].as_i64().unwrap();
    assert!(m["detail"]["explanation"]["probability"].as_f64().unwrap() >= 0.5);

    // Quality: the province's total is the sum of its districts, and the clean score counts
    // the suspected duplicate.
    let (_, q) = w.get("/api/v1/linkage/quality", &w.tinh.token);
    let children = q["children"].as_array().unwrap();
    assert!(children.len() > 1);
    let sum: u64 = children
        .iter()
        .map(|c| c["population"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, q["total"]["population"].as_u64().unwrap());
    assert_eq!(
        q["total"]["population"].as_u64().unwrap(),
        w.persons.len() as u64 + 3,
        "the generated persons, the twin, the account holder and their second record"
    );
    assert!(
        q["total"]["scores"]["clean"]["lowering"].as_u64().unwrap() >= 1,
        "{q}"
    );
    assert!(q["method"]["clean"].as_str().unwrap().contains("merge"));
    let (_, mine) = w.get("/api/v1/linkage/quality", &w.xa.token);
    let clean_before = mine["total"]["scores"]["clean"]["score"].as_f64().unwrap();
    assert!(clean_before < 1.0, "{mine}");
    // Another unit is refused; the auditor too.
    let (status, body) = w.get(
        &format!("/api/v1/linkage/quality?unit={}", w.other_xa.unit.as_str()),
        &w.xa.token,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("scope.denied")),
        "{body}"
    );
    let (status, _) = w.get(
        "/api/v1/linkage/quality/worklist?criterion=clean",
        &w.other_xa.token,
    );
    assert_eq!(status, 200);
    let (status, body) = w.get(
        "/api/v1/linkage/quality/worklist?criterion=nice",
        &w.xa.token,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("link.bad_criterion"))
    );

    // Merge, keeping the original.
    let path = format!("/api/v1/linkage/proposals/{id}/decision");
    let (status, _) = w.post(
        &path,
        Some(&w.other_xa.token),
        json!({"decision": "confirm", "reason": "trùng", "survivor": original.id.as_str()}),
    );
    assert_eq!(status, 403);
    let (status, body) = w.post(
        &path,
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": "trùng hồ sơ", "survivor": original.id.as_str()}),
    );
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("confirmed")),
        "{body}"
    );
    let (_, f) = w.get(
        &format!("/api/v1/linkage/persons/{}/findings", twin.id.as_str()),
        &w.xa.token,
    );
    assert_eq!(f["merged_into"]["survivor"], original.id.as_str());
    assert!(w.store.person(&twin.id).unwrap().is_some(), "never deleted");
    let (_, after) = w.get("/api/v1/linkage/quality", &w.xa.token);
    assert!(after["total"]["scores"]["clean"]["score"].as_f64().unwrap() > clean_before);

    // Undo: both stand again.
    let undo = format!("/api/v1/linkage/proposals/{id}/undo");
    let (status, body) = w.post(
        &undo,
        Some(&w.xa.token),
        json!({"reason": "nhầm, hai người khác nhau"}),
    );
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("undone")),
        "{body}"
    );
    let (_, f) = w.get(
        &format!("/api/v1/linkage/persons/{}/findings", twin.id.as_str()),
        &w.xa.token,
    );
    assert_eq!(f["merged_into"], Value::Null);
    let (status, body) = w.post(&undo, Some(&w.xa.token), json!({"reason": "lại"}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("link.proposal_decided"))
    );
    let (_, one) = w.get(&format!("/api/v1/linkage/proposals/{id}"), &w.xa.token);
    let kinds: Vec<&str> = one["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["merged", "undone"]);

    // The account follows the survivor: the duplicate's is locked while the merge stands.
    let pair = w
        .proposals("merge", &w.xa.token)
        .into_iter()
        .find(|m| {
            let ids = [m["personal_id"].as_str(), m["other_id"].as_str()];
            ids.contains(&Some(holder.id.as_str())) && ids.contains(&Some(second.id.as_str()))
        })
        .expect("the account holder's pair is proposed");
    let pid = pair["id"].as_i64().unwrap();
    let (status, body) = w.post(
        &format!("/api/v1/linkage/proposals/{pid}/decision"),
        Some(&w.xa.token),
        json!({"decision": "confirm", "reason": "trùng hồ sơ", "survivor": second.id.as_str()}),
    );
    assert_eq!(status, 200, "{body}");
    let account = |p: &Person| {
        w.get(&format!("/api/v1/accounts/{}", p.id.as_str()), &w.xa.token)
            .1
    };
    let a = account(&holder);
    assert_eq!(a["account"]["state"], "locked", "{a}");
    assert_eq!(a["account"]["locks"], json!(["officer"]), "{a}");
    let (status, _) = w.post(
        &format!("/api/v1/linkage/proposals/{pid}/undo"),
        Some(&w.xa.token),
        json!({"reason": "nhầm"}),
    );
    assert_eq!(status, 200);
    let a = account(&holder);
    assert_eq!(a["account"]["state"], "active", "{a}");

    let doc = eid_web::openapi::document();
    for p in [
        "/api/v1/linkage/proposals",
        "/api/v1/linkage/quality",
        "/api/v1/linkage/dedupe",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
}
