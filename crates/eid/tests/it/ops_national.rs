//! The ministry's national view over HTTP at a fixed clock: every province with a quota ranked
//! by % for each metric with status, required daily rate, days left and forecast; who met both
//! quotas; the slowest; in the 2024 tree and re-aggregated into the 2025 one; on the console's
//! dashboard of the ministry. Other officers are refused.

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

use crate::helpers::{agent, call, cookie_value, get_json, send_json, set_cookie, sign_in};

const TODAY: Date = date!(2026 - 03 - 10);

fn bump(store: &dyn Store, metric: &str, unit: &UnitCode, day: Date, n: i64) {
    let commune = Units::get().communes_under(Tree::Gso2024, unit)[0].code;
    let path = unit_path(&commune).unwrap();
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

/// Two 2024 provinces merged into one 2025 province, and a third kept apart.
fn provinces() -> (UnitCode, UnitCode, UnitCode, UnitCode) {
    let units = Units::get();
    let all = units.provinces(Tree::Gso2024);
    for a in &all {
        for b in &all {
            if a.code.as_str() < b.code.as_str() {
                let (na, nb) = (
                    units.province_2025_for_2024(&a.code).unwrap().code,
                    units.province_2025_for_2024(&b.code).unwrap().code,
                );
                if na == nb {
                    let c = all
                        .iter()
                        .find(|c| units.province_2025_for_2024(&c.code).unwrap().code != na)
                        .unwrap();
                    return (a.code, b.code, c.code, na);
                }
            }
        }
    }
    panic!("no merged provinces")
}

#[test]
fn the_ministry_ranks_every_province_in_both_trees_and_others_are_refused() {
    let store = fresh_store("national");
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock);
    let bo = create_user(store.as_ref(), "nat-bo", Role::Ministry, UnitCode::NATION);
    let (a, b, c, merged) = provinces();
    let tinh = create_user(store.as_ref(), "nat-tinh", Role::Province, a);
    let start = TODAY - Duration::days(30);
    let deadline = TODAY + Duration::days(20);
    let set = |unit: &UnitCode, metric: &str, target: u64| {
        let r = send_json(
            agent()
                .post(&format!("{base}/api/v1/ops/quotas"))
                .header("Authorization", &format!("Bearer {}", bo.token)),
            json!({"unit": unit.as_str(), "metric": metric, "target": target,
                   "start": iso(start), "deadline": iso(deadline), "reason": "Kế hoạch quốc gia"}),
        );
        assert_eq!(r.status(), 201);
    };
    // a met both; b met applications only; c is slow on both.
    for (unit, apps, accounts) in [(a, 100, 50), (b, 200, 400), (c, 1_000, 1_000)] {
        set(&unit, "applications_collected", apps);
        set(&unit, "accounts_activated", accounts);
    }
    let s = store.as_ref();
    bump(
        s,
        metric::APPLICATIONS_COLLECTED,
        &a,
        TODAY - Duration::days(2),
        120,
    );
    bump(
        s,
        metric::ACCOUNTS_ACTIVATED,
        &a,
        TODAY - Duration::days(2),
        50,
    );
    bump(
        s,
        metric::APPLICATIONS_COLLECTED,
        &b,
        TODAY - Duration::days(1),
        200,
    );
    bump(
        s,
        metric::ACCOUNTS_ACTIVATED,
        &b,
        TODAY - Duration::days(1),
        100,
    );
    bump(
        s,
        metric::APPLICATIONS_COLLECTED,
        &c,
        TODAY - Duration::days(3),
        70,
    );
    bump(
        s,
        metric::ACCOUNTS_ACTIVATED,
        &c,
        TODAY - Duration::days(3),
        7,
    );

    let (st, v) = get_json(&base, "/api/v1/ops/national", &bo.token);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["tree"], "2024");
    let metric_of = |v: &Value, m: &str| -> Value {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"] == m)
            .cloned()
            .unwrap()
    };
    let apps = metric_of(&v, "applications_collected");
    let order: Vec<&str> = apps["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["unit"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![a.as_str(), b.as_str(), c.as_str()]);
    let slow = &apps["provinces"][2];
    assert_eq!(slow["percent"], json!(7.0));
    assert_eq!(slow["rank"], 3);
    assert_eq!(slow["days_left"], 20);
    // 930 left over 20 days: 46.5 a day.
    assert_eq!(slow["required_daily"], json!(46.5));
    assert_eq!(slow["status"], "behind");
    assert!(slow["forecast_percent_at_deadline"].is_number());
    assert_eq!(apps["slowest"], json!([c.as_str()]));
    let accounts = metric_of(&v, "accounts_activated");
    assert_eq!(accounts["provinces"][0]["unit"], a.as_str());
    assert_eq!(v["met_both"], json!([a.as_str()]));
    assert_eq!(v["with_both"], 3);

    // 2025: a and b are summed into one province.
    let (st, v) = get_json(&base, "/api/v1/ops/national?tree=2025", &bo.token);
    assert_eq!(st, 200, "{v}");
    let apps = metric_of(&v, "applications_collected");
    let m = apps["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["unit"] == merged.as_str())
        .cloned()
        .unwrap();
    assert_eq!(m["target"], 300);
    assert_eq!(m["done"], 320);
    assert_eq!(m["status"], "met");
    assert_eq!(m["from_2024"], json!([a.as_str(), b.as_str()]));
    assert_eq!(apps["provinces"].as_array().unwrap().len(), 2);

    // A province officer may not see the national view.
    let (st, v) = get_json(&base, "/api/v1/ops/national", &tinh.token);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (403, Some("scope.denied"))
    );
    let (st, _) = get_json(&base, "/api/v1/ops/national?tree=2026", &bo.token);
    assert_eq!(st, 400);

    // The ministry's dashboard is the national view, in Vietnamese.
    let r = sign_in(&base, &bo.username, &bo.password);
    assert_eq!(r.status(), 303);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = call(
        agent()
            .get(&format!("{base}/ops"))
            .header("Cookie", &cookie),
    )
    .into_string()
    .unwrap();
    assert!(page.contains("Toàn quốc: xếp hạng các tỉnh"), "{page}");
    assert!(!page.contains("Đơn vị chưa được giao chỉ tiêu nào"));
    let units = Units::get();
    for p in [a, b, c] {
        assert!(
            page.contains(&units.unit(Tree::Gso2024, &p).unwrap().name),
            "{p:?}"
        );
    }
    assert!(page.contains("Đạt cả hai chỉ tiêu"));
    assert!(
        page.contains("46,5"),
        "required daily rate, one decimal, Vietnamese comma"
    );
    let page = call(
        agent()
            .get(&format!("{base}/ops?tree=2025"))
            .header("Cookie", &cookie),
    )
    .into_string()
    .unwrap();
    assert!(page.contains(&units.unit(Tree::Gso2025, &merged).unwrap().name));
    assert!(page.contains("34 tỉnh sau sắp xếp 2025</strong>"));
}

#[test]
fn the_unit_picker_reaches_any_unit_in_scope_by_tree_or_folded_name_without_javascript() {
    let store = fresh_store("picker");
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock);
    let units = Units::get();
    let bo = create_user(store.as_ref(), "pick-bo", Role::Ministry, UnitCode::NATION);
    let province = UnitCode::parse("62").unwrap();
    let district = units.children(Tree::Gso2024, &province)[0].code;
    let huyen = create_user(store.as_ref(), "pick-huyen", Role::District, district);
    let session = |u: &crate::helpers::TestUser| {
        let r = sign_in(&base, &u.username, &u.password);
        assert_eq!(r.status(), 303);
        format!(
            "eid_session={}",
            cookie_value(&set_cookie(&r, "eid_session").unwrap())
        )
    };
    let get = |cookie: &str, path: &str| {
        let r = call(
            agent()
                .get(&format!("{base}{path}"))
                .header("Cookie", cookie),
        );
        (r.status(), r.into_string().unwrap())
    };
    let bo_c = session(&bo);
    // The dashboard links to the picker; the picker walks the tree one level a page.
    let (_, dash) = get(&bo_c, "/ops");
    assert!(dash.contains("href=\"/ops/units?unit="), "{dash}");
    let (st, page) = get(&bo_c, "/ops/units");
    assert_eq!(st, 200);
    assert!(page.contains("Toàn quốc"));
    assert!(
        page.contains("href=\"/ops?unit=62\""),
        "every province is listed"
    );
    assert!(page.contains("href=\"/ops/units?unit=62\""));
    assert!(!page.contains("<script"), "no JavaScript needed");
    let (_, page) = get(&bo_c, "/ops/units?unit=62");
    assert!(page.contains(&format!("href=\"/ops?unit={}\"", district.as_str())));
    // A commune found by its name without accents, and its dashboard opens.
    let commune = units.communes_under(Tree::Gso2024, &district)[0];
    let bare = eid_domain::fold(&commune.name);
    let words: Vec<&str> = bare.split(' ').collect();
    let query = words[words.len().saturating_sub(2)..].join("+");
    let (_, page) = get(&bo_c, &format!("/ops/units?q={query}"));
    assert!(
        page.contains(&format!("href=\"/ops?unit={}\"", commune.code.as_str())),
        "{page}"
    );
    assert!(page.contains("id=\"unit-matches\""));
    let (st, _) = get(&bo_c, &format!("/ops?unit={}", commune.code.as_str()));
    assert_eq!(st, 200);
    // The district officer finds only units of their district.
    let huyen_c = session(&huyen);
    let other = units.children(Tree::Gso2024, &province)[1].code;
    let other_name = eid_domain::fold(&svc_name(&other));
    let (_, page) = get(
        &huyen_c,
        &format!("/ops/units?q={}", other_name.replace(' ', "+")),
    );
    assert!(
        !page.contains(&format!("unit={}\"", other.as_str())),
        "outside the district"
    );
    let (st, _) = get(&huyen_c, &format!("/ops/units?unit={}", other.as_str()));
    assert_eq!(st, 403);
    let (_, page) = get(&huyen_c, &format!("/ops/units?q={query}"));
    assert!(page.contains(&format!("href=\"/ops?unit={}\"", commune.code.as_str())));
    // English on the switch.
    let r = call(
        agent()
            .get(&format!("{base}/ops/units"))
            .header("Cookie", &format!("{huyen_c}; lang=en")),
    );
    let page = r.into_string().unwrap();
    assert!(
        page.contains("Choose a unit") && page.contains("Units directly below"),
        "{page}"
    );
}

fn svc_name(code: &UnitCode) -> String {
    Units::get().unit(Tree::Gso2024, code).unwrap().name.clone()
}
