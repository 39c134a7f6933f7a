//! Quotas that close and figures that do not mislead, over HTTP at a fixed clock: a closed
//! quota's figures stop at its deadline (met or missed), the recent rate averages over the days
//! a quota has existed, nothing moves on a quota's first day, a quota its devices cannot meet
//! says so, the required daily rate is one decimal rounded up, an as-of day outside the period
//! is labelled, every percentage is a number, a split that does not add up is refused, and a
//! ranking links only to the quotas the viewer may open.

use std::sync::Arc;

use eid::testkit::{create_user, fresh_store, spawn_with_clock};
use eid_core::accounts::{day_number, metric};
use eid_core::clock::ManualClock;
use eid_core::store::{unit_path, Role};
use eid_core::{sql, Store};
use eid_domain::{iso, Tree, UnitCode, Units};
use serde_json::{json, Value};
use time::macros::date;
use time::{Date, Duration};

use crate::helpers::{
    agent, call, cookie_value, csrf_field, get_json, post_form, send_json, set_cookie, sign_in,
    TestUser,
};

/// The fixed day the server runs at.
const TODAY: Date = date!(2026 - 01 - 10);

fn bump(store: &dyn Store, metric: &str, commune: &UnitCode, day: Date, n: i64) {
    let path = unit_path(commune).unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + $4",
            &[metric.into(), path.into(), day_number(day).into(), n.into()],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[metric.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

struct World {
    base: String,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    district: UnitCode,
    communes: Vec<UnitCode>,
    huyen: TestUser,
}

fn world(label: &str) -> World {
    let store = fresh_store(label);
    let units = Units::get();
    let district = units.children(Tree::Gso2024, &UnitCode::parse("62").unwrap())[0].code;
    let communes: Vec<UnitCode> = units
        .children(Tree::Gso2024, &district)
        .iter()
        .map(|u| u.code)
        .collect();
    let huyen = create_user(
        store.as_ref(),
        &format!("{label}-huyen"),
        Role::District,
        district,
    );
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock.clone());
    World {
        base,
        store,
        clock,
        district,
        communes,
        huyen,
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
    (status, r.into_json().unwrap_or(Value::Null))
}

impl World {
    /// A quota the district sets for one of its communes.
    fn quota(
        &self,
        unit: &UnitCode,
        metric: &str,
        target: u64,
        start: Date,
        deadline: Date,
    ) -> i64 {
        let (s, v) = post(
            &self.base,
            "/api/v1/ops/quotas",
            &self.huyen.token,
            json!({"unit": unit.as_str(), "metric": metric, "target": target,
                   "start": iso(start), "deadline": iso(deadline), "reason": "Kế hoạch 06"}),
        );
        assert_eq!(s, 201, "{v}");
        v["quota"]["id"].as_i64().unwrap()
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = get_json(&self.base, path, &self.huyen.token);
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A console session of the district officer: (cookie, csrf).
    fn console(&self) -> (String, String) {
        let r = sign_in(&self.base, &self.huyen.username, &self.huyen.password);
        assert_eq!(r.status(), 303);
        let cookie = format!(
            "eid_session={}",
            cookie_value(&set_cookie(&r, "eid_session").unwrap())
        );
        let page = call(
            agent()
                .get(&format!("{}/ops", self.base))
                .header("Cookie", &cookie),
        );
        let csrf = csrf_field(&page.into_string().unwrap());
        (cookie, csrf)
    }

    fn page(&self, cookie: &str, path: &str) -> String {
        let r = call(
            agent()
                .get(&format!("{}{path}", self.base))
                .header("Cookie", cookie),
        );
        assert_eq!(r.status(), 200);
        r.into_string().unwrap()
    }
}

#[test]
fn a_closed_quota_counts_only_its_period_and_is_met_or_missed_for_ever() {
    let w = world("close-a");
    let c = w.communes[0];
    let day = date!(2023 - 06 - 27);
    // A one-day quota of 47 for 27 June 2023: 10 that day, 288 in 2026.
    let id = w.quota(&c, metric::LEVEL2_ACTIVATED, 47, day, day);
    bump(w.store.as_ref(), metric::LEVEL2_ACTIVATED, &c, day, 10);
    bump(
        w.store.as_ref(),
        metric::LEVEL2_ACTIVATED,
        &c,
        TODAY - Duration::days(3),
        288,
    );

    let now = w.get(&format!("/api/v1/ops/quotas/{id}"));
    let q = &now["quota"];
    assert_eq!(q["done"], 10, "{q}");
    assert_eq!(q["percent"], json!(21.28));
    assert!(q["percent"].is_number() && q["forecast_percent_at_deadline"].is_number());
    assert_eq!(q["status"], "missed");
    assert_eq!(q["period"], "after_deadline");
    assert_eq!(q["closed"], true);
    assert!(q["counting_rule"]
        .as_str()
        .unwrap()
        .contains("never change"));
    assert_eq!(now["daily"].as_array().unwrap().len(), 1);
    assert_eq!(now["daily"][0]["n"], 10);
    // The same figures as of its own day and a year later.
    for as_of in ["2023-06-27", "2024-06-27"] {
        let then = w.get(&format!("/api/v1/ops/quotas/{id}?as_of={as_of}"));
        assert_eq!(then["quota"]["done"], 10, "{as_of}");
        assert_eq!(then["quota"]["percent"], json!(21.28));
        assert_eq!(then["quota"]["status"], "missed");
    }
    // Met when the day's work reached it, whatever came later.
    let met = w.quota(&c, metric::LEVEL1_ACTIVATED, 5, day, day);
    bump(w.store.as_ref(), metric::LEVEL1_ACTIVATED, &c, day, 6);
    bump(w.store.as_ref(), metric::LEVEL1_ACTIVATED, &c, TODAY, 500);
    let v = w.get(&format!("/api/v1/ops/quotas/{met}"));
    assert_eq!(v["quota"]["done"], 6);
    assert_eq!(v["quota"]["percent"], json!(120.0));
    assert_eq!(v["quota"]["status"], "met");

    // The page labels it closed, in Vietnamese, with dates written dd/mm/yyyy.
    let (cookie, _) = w.console();
    let page = w.page(&cookie, &format!("/ops/quotas/{id}"));
    assert!(page.contains("Không đạt"), "{page}");
    assert!(
        page.contains("Chỉ tiêu đã kết thúc ngày 27/06/2023"),
        "{page}"
    );
    assert!(page.contains("21,28\u{a0}%"));
    assert!(!shows_number(&page, "634"), "{page}");
    assert!(
        !page.contains("Năng lực thu nhận"),
        "no capacity to plan once closed"
    );
}

#[test]
fn rankings_stop_at_the_deadline_and_nothing_moves_on_a_first_day() {
    let w = world("close-b");
    let (a, b) = (w.communes[0], w.communes[1]);
    let start = date!(2023 - 06 - 01);
    let deadline = date!(2023 - 06 - 30);
    let (cookie, csrf) = w.console();
    // The province would set the district's quota; the district splits it by hand.
    let tinh = create_user(
        w.store.as_ref(),
        "close-b-tinh",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    );
    let (s, v) = post(
        &w.base,
        "/api/v1/ops/quotas",
        &tinh.token,
        json!({"unit": w.district.as_str(), "metric": "level2_activated", "target": 20,
               "start": iso(start), "deadline": iso(deadline), "reason": "Kế hoạch"}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["quota"]["id"].as_i64().unwrap();
    let mut parts = serde_json::Map::new();
    parts.insert(a.as_str().into(), json!(10));
    parts.insert(b.as_str().into(), json!(10));
    let (s, v) = post(
        &w.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &w.huyen.token,
        json!({"mode": "manual", "parts": parts}),
    );
    assert_eq!(s, 200, "{v}");
    bump(
        w.store.as_ref(),
        metric::LEVEL2_ACTIVATED,
        &a,
        date!(2023 - 06 - 10),
        8,
    );
    bump(
        w.store.as_ref(),
        metric::LEVEL2_ACTIVATED,
        &b,
        date!(2023 - 06 - 10),
        3,
    );
    // After the deadline, b does a lot: it does not count.
    bump(
        w.store.as_ref(),
        metric::LEVEL2_ACTIVATED,
        &b,
        date!(2023 - 07 - 05),
        100,
    );
    let v = w.get(&format!("/api/v1/ops/quotas/{id}"));
    let first = &v["ranking"][0];
    assert_eq!(first["unit"], a.as_str(), "{}", v["ranking"]);
    assert_eq!(first["percent"], json!(80.0));
    let rb = v["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"] == b.as_str())
        .unwrap();
    assert_eq!(rb["done"], 3);
    assert_eq!(rb["status"], "missed");
    assert_eq!(rb["days_left"], 0);

    // A quota that starts today: on its first day nothing moves and nothing is "behind".
    let today_q = {
        let (s, v) = post(
            &w.base,
            "/api/v1/ops/quotas",
            &tinh.token,
            json!({"unit": w.district.as_str(), "metric": "accounts_activated", "target": 3000,
                   "start": iso(TODAY), "deadline": iso(TODAY + Duration::days(29)), "reason": "Mới"}),
        );
        assert_eq!(s, 201, "{v}");
        v["quota"]["id"].as_i64().unwrap()
    };
    let r = post_form(
        agent()
            .post(&format!("{}/ops/quotas/{today_q}/split", w.base))
            .header("Cookie", &cookie),
        &[("mode", "proportional"), ("csrf", &csrf)],
    );
    assert_eq!(r.status(), 303);
    bump(w.store.as_ref(), metric::ACCOUNTS_ACTIVATED, &b, TODAY, 30);
    let v = w.get(&format!("/api/v1/ops/quotas/{today_q}"));
    let q = &v["quota"];
    assert_eq!(q["status"], "too_early", "{q}");
    assert_eq!(q["rate_days"], 1);
    assert_eq!(q["rate_7d"], json!(30.0));
    for r in v["ranking"].as_array().unwrap() {
        assert_eq!(r["rank_change"], 0, "{r}");
        assert_eq!(r["percent_change"], json!(0.0), "{r}");
    }
    let page = w.page(&cookie, &format!("/ops/quotas/{today_q}"));
    assert!(page.contains("Ngày đầu tiên của chỉ tiêu"), "{page}");
    assert!(!page.contains("change down"), "no drops on the first day");
    assert!(page.contains("change same"));
    assert!(page.contains("trung bình 1 ngày"));
    // The split table shows what each child needs a day, its days left and forecast.
    let children = &page[page.find("<table class=\"children").unwrap()..];
    let children = &children[..children.find("</table>").unwrap()];
    assert!(
        children.contains("Cần/ngày")
            && children.contains("Còn (ngày)")
            && children.contains("Dự báo đạt")
    );
    assert!(
        children.contains("<td class=\"num days-left\">29</td>"),
        "{children}"
    );
    // A child's history says where its quota came from, in Vietnamese.
    let v = w.get(&format!("/api/v1/ops/quotas/{today_q}"));
    let child = v["children"][0]["id"].as_i64().unwrap();
    let page = w.page(&cookie, &format!("/ops/quotas/{child}"));
    assert!(
        page.contains(&format!("Phân bổ từ chỉ tiêu cấp trên số {today_q}")),
        "{page}"
    );
    assert!(!page.contains("split from quota"));
    // Two days later: the rate is over 3 days, and the day before is compared.
    w.clock.advance(Duration::days(2));
    bump(
        w.store.as_ref(),
        metric::ACCOUNTS_ACTIVATED,
        &b,
        TODAY + Duration::days(2),
        60,
    );
    let v = w.get(&format!("/api/v1/ops/quotas/{today_q}"));
    assert_eq!(v["quota"]["rate_days"], 3);
    assert_eq!(v["quota"]["rate_7d"], json!(30.0));
    assert_ne!(v["quota"]["status"], "too_early");
    // Before the start: labelled, not started.
    let v = w.get(&format!("/api/v1/ops/quotas/{today_q}?as_of=2025-12-01"));
    assert_eq!(v["quota"]["period"], "before_start");
    assert_eq!(v["quota"]["status"], "not_started");
    assert_eq!(v["quota"]["done"], 0);
    let (cookie, _) = w.console(); // a new session: the clock moved past the old one's life
    let page = w.page(&cookie, &format!("/ops/quotas/{today_q}?as_of=2025-12-01"));
    assert!(
        page.contains("Ngày xem 01/12/2025 trước ngày bắt đầu 10/01/2026"),
        "{page}"
    );
    assert!(page.contains("Chưa bắt đầu"));
}

#[test]
fn the_required_rate_is_one_decimal_rounded_up_and_capacity_bounds_the_status() {
    let w = world("close-c");
    let c = w.communes[0];
    // 40 by TODAY + 10, 9 done: 31 left over 10 days is 3.1 a day.
    let id = w.quota(
        &c,
        metric::LEVEL1_ACTIVATED,
        40,
        TODAY - Duration::days(5),
        TODAY + Duration::days(10),
    );
    bump(
        w.store.as_ref(),
        metric::LEVEL1_ACTIVATED,
        &c,
        TODAY - Duration::days(1),
        9,
    );
    let v = w.get(&format!("/api/v1/ops/quotas/{id}"));
    assert_eq!(v["quota"]["required_daily"], json!(3.1), "{v}");
    assert!(v["quota"]["required_daily_rule"]
        .as_str()
        .unwrap()
        .contains("rounded up to one decimal"));
    // 37 left over 12 days is 3.083…: 3.1, not 4 and not 3.
    let id2 = w.quota(
        &c,
        metric::LEVEL2_ACTIVATED,
        40,
        TODAY - Duration::days(5),
        TODAY + Duration::days(12),
    );
    bump(
        w.store.as_ref(),
        metric::LEVEL2_ACTIVATED,
        &c,
        TODAY - Duration::days(1),
        3,
    );
    let v = w.get(&format!("/api/v1/ops/quotas/{id2}"));
    assert_eq!(v["quota"]["required_daily"], json!(3.1), "{v}");
    let (cookie, _) = w.console();
    let page = w.page(&cookie, &format!("/ops/quotas/{id2}"));
    assert!(page.contains(">3,1<"), "{page}");
    assert!(page.contains("làm tròn lên 1 chữ số thập phân"));

    // Applications: 2,000 by the day after tomorrow, 500 done at 1,000 a day; one device of 300.
    let (seed, public) = eid_core::intake::new_key();
    let _ = seed;
    let (s, v) = post(
        &w.base,
        "/api/v1/devices",
        &w.huyen.token,
        json!({"name": "Máy 1", "unit": c.as_str(), "public_key": public, "daily_capacity": 300}),
    );
    assert_eq!(s, 201, "{v}");
    let id3 = w.quota(
        &c,
        metric::APPLICATIONS_COLLECTED,
        7_000,
        TODAY - Duration::days(6),
        TODAY + Duration::days(2),
    );
    for back in 0..7 {
        bump(
            w.store.as_ref(),
            metric::APPLICATIONS_COLLECTED,
            &c,
            TODAY - Duration::days(back),
            800,
        );
    }
    let v = w.get(&format!("/api/v1/ops/quotas/{id3}"));
    // 1,400 left, 800 a day would meet it; 300 a day of devices cannot.
    assert_eq!(v["quota"]["remaining"], 1_400, "{v}");
    assert_eq!(v["quota"]["status"], "beyond_capacity");
    let page = w.page(&cookie, &format!("/ops/quotas/{id3}"));
    assert!(page.contains("Vượt năng lực thu nhận"), "{page}");
    assert!(page.contains("id=\"capacity-reason\""));
    assert!(
        page.contains(
            "thu tối đa 300 hồ sơ mỗi ngày: 1.400 hồ sơ còn lại cần 5 ngày, chỉ còn 2 ngày"
        ),
        "{page}"
    );
    assert!(page
        .contains("<span class=\"badge st-beyond_capacity\">Vượt năng lực thu nhận</span></h1>"));
}

#[test]
fn a_manual_split_that_does_not_add_up_is_refused_over_the_api_unless_confirmed() {
    let w = world("close-d");
    let tinh = create_user(
        w.store.as_ref(),
        "close-d-tinh",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    );
    let (s, v) = post(
        &w.base,
        "/api/v1/ops/quotas",
        &tinh.token,
        json!({"unit": w.district.as_str(), "metric": "level2_activated", "target": 6000,
               "start": iso(TODAY), "deadline": iso(TODAY + Duration::days(30)), "reason": "x"}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["quota"]["id"].as_i64().unwrap();
    let body = |accept: Option<i64>| {
        let mut b = json!({"mode": "manual", "parts": {w.communes[0].as_str(): 14_285}});
        if let Some(d) = accept {
            b["accept_difference"] = json!(d);
        }
        b
    };
    let (s, v) = post(
        &w.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &w.huyen.token,
        body(None),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("split.mismatch")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("8285 over"),
        "{v}"
    );
    let (s, _) = post(
        &w.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &w.huyen.token,
        body(Some(100)),
    );
    assert_eq!(s, 422);
    let v = w.get(&format!("/api/v1/ops/quotas/{id}"));
    assert!(v["children"].as_array().unwrap().is_empty());
    let (s, v) = post(
        &w.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &w.huyen.token,
        body(Some(8285)),
    );
    assert_eq!(s, 200, "{v}");
    let v = w.get(&format!("/api/v1/ops/quotas/{id}"));
    assert_eq!(v["quota"]["children_add_up"], false);
}

#[test]
fn the_openapi_document_gives_percentages_one_numeric_type() {
    let w = world("close-e");
    let r = call(agent().get(&format!("{}/api/v1/openapi.json", w.base)));
    let doc: Value = r.into_json().unwrap();
    let schemas = &doc["components"]["schemas"];
    let q = &schemas["QuotaOut"]["properties"];
    for field in ["percent", "forecast_percent_at_deadline", "rate_7d"] {
        assert_eq!(q[field]["type"], "number", "{field}: {}", q[field]);
    }
    let r = &schemas["RankedOut"]["properties"];
    assert_eq!(r["percent"]["type"], "number");
    assert_eq!(r["percent_change"]["type"], "number");
    assert!(
        doc["paths"]["/api/v1/ops/quotas/{id}"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("QuotaDetailOut")
    );
}

#[test]
fn a_commune_officer_sees_the_districts_ranking_without_links_to_other_communes_quotas() {
    let w = world("close-f");
    let tinh = create_user(
        w.store.as_ref(),
        "close-f-tinh",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    );
    let (s, v) = post(
        &w.base,
        "/api/v1/ops/quotas",
        &tinh.token,
        json!({"unit": w.district.as_str(), "metric": "level2_activated", "target": 20,
               "start": iso(TODAY - Duration::days(3)), "deadline": iso(TODAY + Duration::days(30)), "reason": "x"}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["quota"]["id"].as_i64().unwrap();
    let (a, b) = (w.communes[0], w.communes[1]);
    let mut parts = serde_json::Map::new();
    parts.insert(a.as_str().into(), json!(10));
    parts.insert(b.as_str().into(), json!(10));
    let (s, v) = post(
        &w.base,
        &format!("/api/v1/ops/quotas/{id}/split"),
        &w.huyen.token,
        json!({"mode": "manual", "parts": parts}),
    );
    assert_eq!(s, 200, "{v}");
    let child = |u: &UnitCode| {
        v["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["unit"] == u.as_str())
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (mine, theirs) = (child(&a), child(&b));
    let xa = create_user(w.store.as_ref(), "close-f-xa", Role::Commune, a);
    let r = sign_in(&w.base, &xa.username, &xa.password);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = w.page(&cookie, &format!("/ops/quotas/{id}"));
    assert!(
        page.contains(&format!("href=\"/ops/quotas/{mine}\"")),
        "{page}"
    );
    assert!(
        !page.contains(&format!("href=\"/ops/quotas/{theirs}\"")),
        "no link that ends in 403"
    );
    let r = call(
        agent()
            .get(&format!("{}/ops/quotas/{theirs}", w.base))
            .header("Cookie", &cookie),
    );
    assert_eq!(r.status(), 403, "which the link would have met");
}

/// Whether `page` shows `n` as a number of its own: not inside a longer number, a token or an
/// identifier (the page carries random tokens that may hold the same digits).
fn shows_number(page: &str, n: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '_' | '-');
    page.match_indices(n).any(|(i, _)| {
        let before = page[..i].chars().next_back();
        let after = page[i + n.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}
