//! Figures reported by units that do not run eid, over HTTP at a fixed clock: entry by the level
//! above, CSV and XLSX imports with bad rows reported by line and nothing half-applied, a
//! correction's history, the one rule that never counts a unit-day twice (a commune that also
//! records events), and the 403s outside scope.

use std::sync::Arc;

use eid::testkit::{create_user, fresh_store, spawn_with_clock, TestUser};
use eid_core::accounts::{day_number, metric};
use eid_core::clock::ManualClock;
use eid_core::store::{unit_path, Role};
use eid_core::{sql, Store};
use eid_domain::{iso, Tree, UnitCode, Units};
use serde_json::{json, Value};
use time::macros::date;
use time::{Date, Duration};

use crate::helpers::{agent, get_json, send_bytes, send_json};

const TODAY: Date = date!(2026 - 03 - 10);

fn record(store: &dyn Store, commune: &UnitCode, day: Date, n: i64) {
    let path = unit_path(commune).unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4)",
            &[
                metric::APPLICATIONS_COLLECTED.into(),
                path.into(),
                day_number(day).into(),
                n.into(),
            ],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[metric::APPLICATIONS_COLLECTED.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

fn post(base: &str, path: &str, who: &TestUser, body: Value) -> (u16, Value) {
    let r = send_json(
        agent()
            .post(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {}", who.token)),
        body,
    );
    let st = r.status();
    (st, r.into_json().unwrap_or(Value::Null))
}

fn import(base: &str, who: &TestUser, query: &str, file: &[u8]) -> (u16, Value) {
    let r = send_bytes(
        agent()
            .post(&format!("{base}/api/v1/ops/reported/import?{query}"))
            .header("Authorization", &format!("Bearer {}", who.token))
            .header("Content-Type", "application/octet-stream"),
        file,
    );
    let st = r.status();
    (st, r.into_json().unwrap_or(Value::Null))
}

fn lines(v: &Value) -> Vec<u64> {
    v["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect()
}

#[test]
fn reported_figures_are_entered_imported_corrected_and_counted_once() {
    let store = fresh_store("reported");
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock);
    let units = Units::get();
    let p = UnitCode::parse("62").unwrap();
    let d = units.children(Tree::Gso2024, &p)[0].code;
    let communes = units.communes_under(Tree::Gso2024, &d);
    let (c0, c1, c2) = (communes[0].code, communes[1].code, communes[2].code);
    let tinh = create_user(store.as_ref(), "rep-tinh", Role::Province, p);
    let huyen = create_user(store.as_ref(), "rep-huyen", Role::District, d);
    let other = create_user(
        store.as_ref(),
        "rep-khac",
        Role::Province,
        UnitCode::parse("01").unwrap(),
    );
    let auditor = create_user(store.as_ref(), "rep-kt", Role::Auditor, UnitCode::NATION);
    let day = TODAY - Duration::days(5);

    // A district quota, set by the province.
    let (st, q) = post(
        &base,
        "/api/v1/ops/quotas",
        &tinh,
        json!({
        "unit": d.as_str(), "metric": "applications_collected", "target": 100,
        "start": iso(TODAY - Duration::days(30)), "deadline": iso(TODAY + Duration::days(20)),
        "reason": "Kế hoạch"}),
    );
    assert_eq!(st, 201, "{q}");
    let qid = q["quota"]["id"].as_i64().unwrap();

    // Entry: the district enters its commune's figure; c1 also records 3 events that day.
    let enter = |who: &TestUser, unit: &UnitCode, count: u64| {
        post(
            &base,
            "/api/v1/ops/reported",
            who,
            json!({
            "unit": unit.as_str(), "day": day.format(&time::macros::format_description!("[day]/[month]/[year]")).unwrap(),
            "metric": "applications_collected", "count": count, "source": "điện thoại"}),
        )
    };
    let (st, v) = enter(&huyen, &c0, 10);
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["outcome"].as_str(), v["figure"]["counted"].as_bool()),
        (Some("created"), Some(true))
    );
    assert!(v["rule"].as_str().unwrap().contains("recorded"));
    let (st, v) = enter(&tinh, &c1, 7);
    assert_eq!(st, 201, "{v}");
    record(store.as_ref(), &c1, day, 3);

    // The rule: 10 reported (nothing recorded) + 3 recorded (the 7 reported is shown, not added).
    let (st, v) = get_json(&base, &format!("/api/v1/ops/quotas/{qid}"), &tinh.token);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["quota"]["done"], 13, "{}", v["quota"]);
    assert!(v["reported_rule"].as_str().unwrap().contains("not added"));
    let shown: Vec<(String, bool)> = v["reported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["unit"].as_str().unwrap().to_owned(),
                f["counted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(shown.contains(&(c0.as_str().to_owned(), true)), "{shown:?}");
    assert!(
        shown.contains(&(c1.as_str().to_owned(), false)),
        "{shown:?}"
    );
    let day_row = v["daily"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["day"] == iso(day))
        .unwrap()
        .clone();
    assert_eq!(day_row["n"], 13);

    // Scope: the district reports for the units below it only; others may not read.
    let (st, _) = enter(&huyen, &d, 1);
    assert_eq!(st, 403);
    let (st, _) = enter(&huyen, &p, 1);
    assert_eq!(st, 403);
    let (st, _) = enter(&other, &c0, 1);
    assert_eq!(st, 403);
    let (st, list) = get_json(
        &base,
        &format!("/api/v1/ops/reported?unit={}", d.as_str()),
        &tinh.token,
    );
    assert_eq!(st, 200);
    let id = list["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["unit"] == c0.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        get_json(&base, &format!("/api/v1/ops/reported/{id}"), &other.token).0,
        403
    );
    assert_eq!(
        get_json(&base, &format!("/api/v1/ops/reported/{id}"), &auditor.token).0,
        403
    );
    assert_eq!(
        get_json(
            &base,
            &format!("/api/v1/ops/reported?unit={}", p.as_str()),
            &huyen.token
        )
        .0,
        403
    );

    // Correction: a reason is required; every version is kept.
    let (st, v) = post(
        &base,
        &format!("/api/v1/ops/reported/{id}/corrections"),
        &huyen,
        json!({"count": 12, "reason": ""}),
    );
    assert_eq!(st, 400, "{v}");
    let (st, v) = post(
        &base,
        &format!("/api/v1/ops/reported/{id}/corrections"),
        &huyen,
        json!({"count": 12, "reason": "xã gửi lại số đúng"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["figure"]["count"], 12);
    let (st, h) = get_json(&base, &format!("/api/v1/ops/reported/{id}"), &tinh.token);
    assert_eq!(st, 200);
    let versions = h["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (versions[0]["count"].as_u64(), versions[1]["count"].as_u64()),
        (Some(10), Some(12))
    );
    assert_eq!(versions[1]["reason"], "xã gửi lại số đúng");
    assert_eq!(versions[0]["source"], "điện thoại");

    // CSV import with bad rows: nothing applied, then applied with skip_bad.
    let csv = format!(
        "unit,day,metric,count,source\n{c2},{d1},applications_collected,8,Zalo\n01,{d1},applications_collected,5,Zalo\n{c2},32/01/2026,applications_collected,5,Zalo\n{c2},{d2},level1_activated,1.200,\n",
        c2 = c2.as_str(), d1 = iso(day), d2 = iso(day + Duration::days(1)),
    );
    let (st, v) = import(
        &base,
        &huyen,
        "file_name=xa.csv&source=bảng+tính",
        csv.as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["applied"].as_bool(), v["rows"].as_u64()),
        (Some(false), Some(4))
    );
    assert_eq!(lines(&v), vec![3, 4]);
    assert_eq!(
        get_json(
            &base,
            &format!("/api/v1/ops/reported?unit={}", c2.as_str()),
            &tinh.token
        )
        .1["figures"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (st, v) = import(
        &base,
        &huyen,
        "file_name=xa.csv&source=bảng+tính&skip_bad=true",
        csv.as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["applied"].as_bool(), v["created"].as_u64()),
        (Some(true), Some(2))
    );
    let sha = v["sha256"].as_str().unwrap().to_owned();
    let (_, l) = get_json(
        &base,
        &format!("/api/v1/ops/reported?unit={}", c2.as_str()),
        &tinh.token,
    );
    let figs = l["figures"].as_array().unwrap();
    assert_eq!(figs.len(), 2);
    assert!(figs.iter().all(
        |f| f["latest"]["file_sha256"] == sha.as_str() && f["latest"]["file_name"] == "xa.csv"
    ));
    assert!(figs
        .iter()
        .any(|f| f["count"] == 1200 && f["latest"]["source"] == "bảng tính"));

    // XLSX import: a changed count without a reason is a bad row; a row that is not a day too.
    let xlsx = {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (i, h) in ["unit", "day", "metric", "count", "source"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, i as u16, *h).unwrap();
        }
        ws.write_string(1, 0, c2.as_str()).unwrap();
        ws.write_string(1, 1, &iso(day)).unwrap();
        ws.write_string(1, 2, "applications_collected").unwrap();
        ws.write_number(1, 3, 9.0).unwrap();
        ws.write_string(1, 4, "Zalo").unwrap();
        ws.write_string(2, 0, c0.as_str()).unwrap();
        ws.write_string(2, 1, "hôm qua").unwrap();
        wb.save_to_buffer().unwrap()
    };
    let (st, v) = import(&base, &huyen, "file_name=tuan.xlsx", &xlsx);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["applied"], false);
    assert_eq!(lines(&v), vec![2, 3]);
    let (st, v) = import(
        &base,
        &huyen,
        "file_name=tuan.xlsx&reason=số+tuần+sửa&skip_bad=true",
        &xlsx,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["applied"].as_bool(), v["corrected"].as_u64()),
        (Some(true), Some(1))
    );

    // The district quota now counts c0 (12), c1 (3 recorded) and c2 (9): 24.
    let (_, v) = get_json(&base, &format!("/api/v1/ops/quotas/{qid}"), &tinh.token);
    assert_eq!(v["quota"]["done"], 24, "{}", v["quota"]);

    // Rows outside the importer's units are bad rows, never written.
    let (st, v) = import(&base, &other, "source=x&skip_bad=true", csv.as_bytes());
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["created"], 0);
    assert_eq!(import(&base, &auditor, "source=x", csv.as_bytes()).0, 403);
}
