//! Hardening of the operations console and API (issue 10, items 8 and 9): dates outside
//! 2000-01-01..=2100-12-31 and targets outside what a population can be are refused with a JSON
//! error, a split by hand with huge parts is refused rather than wrapped, and quotas and report
//! schedules stored before these bounds (at 9999-12-31, from year 0001) no longer crash the
//! dashboard or the quota page, nor make the reports page huge.

use std::sync::Arc;

use eid_core::ops::{self, NewQuota};
use eid_core::{Actor, Store};
use eid_domain::campaign::Schedule;
use eid_domain::{Tree, UnitCode, Units};
use serde_json::{json, Value};
use time::macros::date;

use crate::helpers::{
    agent, call, cookie_value, create_user, fresh_store, get_json, send_json, set_cookie, sign_in,
    spawn, TestUser,
};

struct Fixture {
    base: String,
    store: Arc<dyn Store>,
    province: TestUser,
    district: TestUser,
}

fn setup(label: &str) -> Fixture {
    let store = fresh_store(label);
    let province = UnitCode::parse("62").unwrap();
    let district = Units::get().children(Tree::Gso2024, &province)[0].code;
    let s = store.as_ref();
    Fixture {
        province: create_user(
            s,
            &format!("{label}-tinh"),
            eid_core::store::Role::Province,
            province,
        ),
        district: create_user(
            s,
            &format!("{label}-huyen"),
            eid_core::store::Role::District,
            district,
        ),
        base: spawn(Arc::clone(&store)),
        store,
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

fn quota_body(unit: &UnitCode, target: u64, start: &str, deadline: &str) -> Value {
    json!({"unit": unit.as_str(), "metric": "level2_activated", "target": target,
           "start": start, "deadline": deadline, "reason": "kế hoạch"})
}

/// `(status, body)` of a console page for `u`, signed in.
fn page(f: &Fixture, u: &TestUser, path: &str) -> (u16, String) {
    let r = sign_in(&f.base, &u.username, &u.password);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let r = call(
        agent()
            .get(&format!("{}{path}", f.base))
            .header("Cookie", &cookie),
    );
    let status = r.status();
    (status, r.into_string().unwrap())
}

#[test]
fn dates_outside_the_range_are_refused_and_stored_ones_no_longer_crash_the_pages() {
    let f = setup("hard-dates");
    let unit = f.district.unit;
    for (start, deadline) in [
        ("9999-12-31", "9999-12-31"),
        ("0001-01-01", "2026-12-31"),
        ("2026-01-01", "2101-01-01"),
    ] {
        let (s, v) = post(
            &f.base,
            "/api/v1/ops/quotas",
            &f.province.token,
            quota_body(&unit, 100, start, deadline),
        );
        assert_eq!(
            (s, code(&v)),
            (400, "ops.bad_date"),
            "{start}..{deadline}: {v}"
        );
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("2000-01-01") && message.contains("2100-12-31"),
            "{v}"
        );
    }
    let (s, v) = post(
        &f.base,
        "/api/v1/ops/quotas",
        &f.province.token,
        quota_body(&unit, 100, "2023-01-01", "2023-02-29"),
    );
    assert_eq!((s, code(&v)), (400, "deadline"), "{v}");
    let (s, v) = post(
        &f.base,
        "/api/v1/ops/quotas",
        &f.province.token,
        quota_body(&unit, 100, "2024-01-01", "2024-02-29"),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = get_json(
        &f.base,
        "/api/v1/ops/quotas?as_of=9999-12-31",
        &f.district.token,
    );
    assert_eq!((s, code(&v)), (400, "ops.bad_date"), "{v}");

    // A quota stored before the bound, at the last day of the calendar, and a report schedule
    // from year 1: the pages answer, and the reports page stays small.
    let legacy = ops::set_quota(
        f.store.as_ref(),
        &NewQuota {
            unit,
            metric: "level2_activated".into(),
            cohort: "legacy".into(),
            target: 100,
            start: date!(9999 - 12 - 31),
            deadline: date!(9999 - 12 - 31),
            parent_id: None,
        },
        &Actor::Cli("test".into()),
        "stored before the bound",
        crate::helpers::now(),
    )
    .unwrap();
    ops::add_schedule(
        f.store.as_ref(),
        "Công an huyện",
        &unit,
        Schedule::Weekly,
        2,
        date!(0001 - 01 - 01),
        &Actor::Cli("test".into()),
        crate::helpers::now(),
    )
    .unwrap();
    let (s, html) = page(&f, &f.district, "/ops");
    assert_eq!(s, 200);
    assert!(html.contains("</html>"));
    let (s, html) = page(&f, &f.district, &format!("/ops/quotas/{}", legacy.id));
    assert_eq!(s, 200);
    assert!(html.contains("<svg"));
    let (s, v) = get_json(
        &f.base,
        &format!("/api/v1/ops/quotas/{}", legacy.id),
        &f.district.token,
    );
    assert_eq!(s, 200, "{v}");
    let (s, html) = page(&f, &f.district, "/ops/reports");
    assert_eq!(s, 200);
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
}

#[test]
fn targets_are_bounded_and_a_split_by_hand_with_huge_parts_is_refused() {
    let f = setup("hard-targets");
    let unit = f.district.unit;
    for target in [0, 200_000_001, i64::MAX as u64, u64::MAX] {
        let (s, v) = post(
            &f.base,
            "/api/v1/ops/quotas",
            &f.province.token,
            quota_body(&unit, target, "2026-01-01", "2026-12-31"),
        );
        assert_eq!((s, code(&v)), (400, "ops.bad_target"), "{target}: {v}");
    }
    let (s, v) = post(
        &f.base,
        "/api/v1/ops/quotas",
        &f.province.token,
        quota_body(&unit, 1000, "2026-01-01", "2026-12-31"),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["quota"]["id"].as_i64().unwrap();
    let communes = Units::get().children(Tree::Gso2024, &unit);
    let half = i64::MAX as u64 / 2 + 1;
    let parts: serde_json::Map<String, Value> = communes
        .iter()
        .take(2)
        .map(|c| (c.code.as_str().to_owned(), json!(half)))
        .collect();
    let (s, v) = post(
        &f.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &f.district.token,
        json!({"mode": "manual", "parts": parts}),
    );
    assert_eq!((s, code(&v)), (400, "ops.bad_target"), "{v}");
    let (s, v) = get_json(
        &f.base,
        &format!("/api/v1/ops/quotas/{id}"),
        &f.district.token,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["children"].as_array().unwrap().len(), 0, "{v}");
}
