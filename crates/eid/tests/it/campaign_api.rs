//! The operations API over HTTP: quotas and splits by the level above, progress and ranking,
//! outreach lists (JSON and CSV) with contacts and proposed register changes, reports,
//! the 2025 re-aggregation, and scoping by role and unit.

use std::sync::Arc;

use eid_core::accounts::{day_number, metric};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::store::{unit_path, Role};
use eid_core::{sql, Actor, Store};
use eid_domain::{Level, Person, Tree, UnitCode, Units};
use serde_json::{json, Value};

use crate::helpers::{agent, call, create_user, fresh_store, get_json, send_json, spawn, TestUser};

struct Ops {
    base: String,
    store: Arc<dyn Store>,
    persons: Vec<Person>,
    province: TestUser,
    district: TestUser,
    commune: TestUser,
    other_commune: TestUser,
    auditor: TestUser,
}

fn setup(label: &str) -> Ops {
    let store = fresh_store(label);
    let today = crate::helpers::now().date();
    let province = UnitCode::parse("62").unwrap();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 2000,
        seed: 11,
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
    let commune = persons[0].residence.unit;
    let units = Units::get();
    let district = units
        .ancestors(Tree::Gso2024, &commune)
        .into_iter()
        .find(|u| u.level == Level::District)
        .unwrap()
        .code;
    let other = units
        .communes_under(Tree::Gso2024, &district)
        .into_iter()
        .find(|u| u.code != commune)
        .unwrap()
        .code;
    let s = store.as_ref();
    Ops {
        province: create_user(s, &format!("{label}-tinh"), Role::Province, province),
        district: create_user(s, &format!("{label}-huyen"), Role::District, district),
        commune: create_user(s, &format!("{label}-xa"), Role::Commune, commune),
        other_commune: create_user(s, &format!("{label}-xa2"), Role::Commune, other),
        auditor: create_user(s, &format!("{label}-kt"), Role::Auditor, UnitCode::NATION),
        base: spawn(Arc::clone(&store)),
        store,
        persons,
    }
}

fn post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = send_json(
        agent()
            .post(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}")),
        body,
    );
    let status = r.status();
    let text = r.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

fn bump(store: &dyn Store, commune: &UnitCode, day: time::Date, n: i64) {
    let path = unit_path(commune).unwrap();
    let m = metric::LEVEL2_ACTIVATED;
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + $4",
            &[m.into(), path.into(), day_number(day).into(), n.into()],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[m.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

#[test]
fn the_level_above_sets_and_splits_quotas_and_everyone_sees_progress_in_scope() {
    let o = setup("opsq");
    let today = crate::helpers::now().date();
    let start = today - time::Duration::days(30);
    let deadline = today + time::Duration::days(30);
    let q = |unit: &str, target: u64| {
        json!({"unit": unit, "metric": "level2_activated", "target": target,
               "start": eid_domain::iso(start), "deadline": eid_domain::iso(deadline), "reason": "Kế hoạch 06"})
    };
    // A district officer cannot set their own unit's quota; the province sets it.
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/quotas",
        &o.district.token,
        q(o.district.unit.as_str(), 100),
    );
    assert_eq!((s, code(&v)), (403, "scope.denied"));
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/quotas",
        &o.province.token,
        q(o.district.unit.as_str(), 100),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["quota"]["id"].as_i64().unwrap();
    assert_eq!(v["quota"]["status"], "behind");
    // Bad input: an unknown metric and a deadline before the start, each with its reason.
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/quotas",
        &o.province.token,
        json!({"unit": o.district.unit.as_str(), "metric": "votes", "target": 1, "start": "2026-01-01", "deadline": "2026-02-01", "reason": "x"}),
    );
    assert_eq!((s, code(&v)), (422, "quota.metric"));
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/quotas",
        &o.province.token,
        json!({"unit": o.district.unit.as_str(), "metric": "level2_activated", "target": 1, "start": "2026-03-01", "deadline": "2026-02-01", "reason": "x"}),
    );
    assert_eq!((s, code(&v)), (422, "quota.dates"));
    // The district splits it in proportion to its communes' eligible people.
    let (s, v) = post(
        &o.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &o.district.token,
        json!({"mode": "proportional"}),
    );
    assert_eq!(s, 200, "{v}");
    let kids = v["children"].as_array().unwrap();
    assert_eq!(
        kids.iter()
            .map(|k| k["target"].as_u64().unwrap())
            .sum::<u64>(),
        100
    );
    // Activity in the commune officer's commune shows in the district's ranking.
    bump(o.store.as_ref(), &o.commune.unit, today, 7);
    let (s, v) = get_json(
        &o.base,
        &format!("/api/v1/ops/quotas/{id}"),
        &o.district.token,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["quota"]["done"], 7);
    assert_eq!(v["quota"]["children_add_up"], true);
    let first = &v["ranking"][0];
    assert_eq!(first["unit"], o.commune.unit.as_str());
    assert_eq!(first["rank"], 1);
    assert!(v["quota"]["days_left_rule"]
        .as_str()
        .unwrap()
        .contains("calendar days"));
    // The commune officer sees their own quota and the district's, not a sibling's.
    let (s, v) = get_json(&o.base, "/api/v1/ops/quotas", &o.commune.token);
    assert_eq!(s, 200);
    assert_eq!(v["quotas"].as_array().unwrap().len(), 1);
    let sibling = kids
        .iter()
        .find(|k| k["unit"] == o.other_commune.unit.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = get_json(
        &o.base,
        &format!("/api/v1/ops/quotas/{sibling}"),
        &o.commune.token,
    );
    assert_eq!(s, 403);
    let (s, _) = get_json(
        &o.base,
        &format!("/api/v1/ops/quotas/{id}"),
        &o.commune.token,
    );
    assert_eq!(s, 200, "a commune sees its district's quota");
    let (s, _) = get_json(
        &o.base,
        &format!("/api/v1/ops/quotas/{id}"),
        &o.auditor.token,
    );
    assert_eq!(s, 403, "auditors read the audit trail, not operations");
    let (s, v) = get_json(
        &o.base,
        &format!("/api/v1/ops/quotas?unit={}", o.other_commune.unit.as_str()),
        &o.commune.token,
    );
    assert_eq!((s, code(&v)), (403, "scope.denied"));
}

#[test]
fn outreach_lists_people_in_scope_and_exports_csv() {
    let o = setup("opso");
    let commune = o.commune.unit;
    let (s, v) = get_json(
        &o.base,
        &format!(
            "/api/v1/ops/outreach?commune={}&missing=no_account",
            commune.as_str()
        ),
        &o.commune.token,
    );
    assert_eq!(s, 200, "{v}");
    let people = v["people"].as_array().unwrap();
    let today = crate::helpers::now().date();
    let want = o
        .persons
        .iter()
        .filter(|p| {
            p.residence.unit == commune
                && p.life.state == eid_domain::LifeState::Alive
                && p.birth.age_on(today) >= 14
        })
        .count();
    assert_eq!(people.len(), want);
    // Another commune's officer may not list it.
    let (s, _) = get_json(
        &o.base,
        &format!("/api/v1/ops/outreach?commune={}", commune.as_str()),
        &o.other_commune.token,
    );
    assert_eq!(s, 403);
    // A district is not a commune.
    let (s, v) = get_json(
        &o.base,
        &format!("/api/v1/ops/outreach?commune={}", o.district.unit.as_str()),
        &o.district.token,
    );
    assert_eq!((s, code(&v)), (400, "unit.not_commune"));
    // CSV: a byte-order mark, the header, one line per person.
    let r = call(
        agent()
            .get(&format!(
                "{}/api/v1/ops/outreach?commune={}&missing=no_account&format=csv",
                o.base,
                commune.as_str()
            ))
            .header("Authorization", &format!("Bearer {}", o.commune.token)),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let bytes = r.into_bytes();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("personal_id,name,birth_date,address,phone"));
    assert_eq!(text.lines().count(), want + 1);
    // Assign, record a death, confirm it: the register changes and the person leaves the list.
    let id = people[0]["personal_id"].as_str().unwrap().to_owned();
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/outreach/assign",
        &o.commune.token,
        json!({"commune": commune.as_str(), "personal_ids": [id], "assignee": "Tổ 3", "due": eid_domain::iso(today)}),
    );
    assert_eq!((s, v["assigned"].as_u64()), (200, Some(1)));
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/outreach/contacts",
        &o.commune.token,
        json!({"personal_id": id, "outcome": "dead", "note": "hàng xóm báo"}),
    );
    assert_eq!(s, 201, "{v}");
    let proposal = v["proposal_id"].as_i64().unwrap();
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/outreach/contacts",
        &o.other_commune.token,
        json!({"personal_id": id, "outcome": "visited"}),
    );
    assert_eq!((s, code(&v)), (403, "scope.denied"));
    let (s, v) = get_json(&o.base, "/api/v1/ops/proposals", &o.district.token);
    assert_eq!((s, v["proposals"][0]["id"].as_i64()), (200, Some(proposal)));
    let (s, v) = post(
        &o.base,
        &format!("/api/v1/ops/proposals/{proposal}"),
        &o.district.token,
        json!({"decision": "confirm"}),
    );
    assert_eq!((s, v["state"].as_str()), (200, Some("confirmed")));
    let p = o
        .store
        .person(&eid_domain::PersonalId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.person.life.state, eid_domain::LifeState::Dead);
    let (_, v) = get_json(
        &o.base,
        &format!(
            "/api/v1/ops/outreach?commune={}&missing=no_account",
            commune.as_str()
        ),
        &o.commune.token,
    );
    assert_eq!(v["people"].as_array().unwrap().len(), want - 1);
    let (s, v) = post(
        &o.base,
        &format!("/api/v1/ops/proposals/{proposal}"),
        &o.district.token,
        json!({"decision": "confirm"}),
    );
    assert_eq!((s, code(&v)), (409, "proposal.decided"));
}

#[test]
fn reports_are_tracked_and_history_re_aggregates_into_2025() {
    let o = setup("opsr");
    let today = crate::helpers::now().date();
    let start = today - time::Duration::days(21);
    let (s, v) = post(
        &o.base,
        "/api/v1/ops/reports/schedules",
        &o.province.token,
        json!({"agency": "Công an huyện", "unit": o.district.unit.as_str(), "schedule": "weekly", "grace_days": 1, "start": eid_domain::iso(start)}),
    );
    assert_eq!(s, 201, "{v}");
    let sched = v["id"].as_i64().unwrap();
    let (s, _) = post(
        &o.base,
        &format!("/api/v1/ops/reports/{sched}/submit"),
        &o.district.token,
        json!({"period_day": eid_domain::iso(start), "body": "Đã thu nhận 120 hồ sơ"}),
    );
    assert_eq!(s, 201);
    let (s, v) = post(
        &o.base,
        &format!("/api/v1/ops/reports/{sched}/submit"),
        &o.district.token,
        json!({"period_day": eid_domain::iso(start), "body": "lại"}),
    );
    assert_eq!((s, code(&v)), (422, "report.already_submitted"));
    let (s, v) = get_json(&o.base, "/api/v1/ops/reports", &o.province.token);
    assert_eq!(s, 200);
    let sc = &v["schedules"][0];
    // The first week was reported today, after its due day: late. Later weeks: missing or
    // not due yet, depending on the weekday.
    assert_eq!(sc["late"], 1, "{sc}");
    assert_eq!(sc["periods"][0]["status"], "late", "{sc}");
    assert!(sc["missing"].as_u64().unwrap() >= 1, "{sc}");
    assert_eq!(
        sc["expected"].as_u64(),
        Some(
            sc["on_time"].as_u64().unwrap()
                + sc["late"].as_u64().unwrap()
                + sc["missing"].as_u64().unwrap()
        )
    );
    // 2025 tree: Kon Tum's counts appear under the merged province.
    bump(o.store.as_ref(), &o.commune.unit, today, 5);
    let (s, v) = get_json(
        &o.base,
        &format!(
            "/api/v1/ops/provinces-2025?metric=level2_activated&from={}&to={}",
            eid_domain::iso(start),
            eid_domain::iso(today)
        ),
        &o.province.token,
    );
    assert_eq!(s, 200, "{v}");
    let new = Units::get()
        .province_2025_for_2024(&UnitCode::parse("62").unwrap())
        .unwrap()
        .code;
    assert_eq!(
        v["provinces"],
        json!([{"unit": new.as_str(), "name": Units::get().unit(Tree::Gso2025, &new).unwrap().name, "n": 5}])
    );
}
