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
        ws.write_string(1, 1, iso(day)).unwrap();
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

/// The console session of an officer: cookie and CSRF token.
fn console_session(base: &str, u: &TestUser) -> (String, String) {
    use crate::helpers::{call, cookie_value, csrf_field, set_cookie, sign_in};
    let r = sign_in(base, &u.username, &u.password);
    assert_eq!(r.status(), 303);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = call(
        agent()
            .get(&format!("{base}/search"))
            .header("Cookie", &cookie),
    );
    (cookie.clone(), csrf_field(&page.into_string().unwrap()))
}

fn multipart(boundary: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[test]
fn the_console_enters_imports_and_corrects_figures_in_vietnamese() {
    use crate::helpers::{call, post_form};
    let store = fresh_store("reported-console");
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock);
    let units = Units::get();
    let p = UnitCode::parse("62").unwrap();
    let d = units.children(Tree::Gso2024, &p)[0].code;
    let c = units.communes_under(Tree::Gso2024, &d);
    let (c0, c1) = (c[0].code, c[1].code);
    let huyen = create_user(store.as_ref(), "repc-huyen", Role::District, d);
    let xa = create_user(store.as_ref(), "repc-xa", Role::Commune, c0);
    let (cookie, csrf) = console_session(&base, &huyen);
    let get = |cookie: &str, path: &str| {
        let r = call(
            agent()
                .get(&format!("{base}{path}"))
                .header("Cookie", cookie),
        );
        (r.status(), r.into_string().unwrap())
    };

    let (st, html) = get(&cookie, "/ops/reported");
    assert_eq!(st, 200);
    assert!(
        html.contains("Số liệu báo cáo") && html.contains("không cộng"),
        "the rule's legend"
    );
    assert!(html.contains("enctype=\"multipart/form-data\""));

    // Entry with a dd/mm/yyyy day; without the CSRF token it is refused.
    let form = [
        ("unit", c0.as_str()),
        ("day", "05/03/2026"),
        ("metric", "applications_collected"),
        ("count", "1.234"),
        ("source", "Zalo UBND xã"),
    ];
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/reported"))
            .header("Cookie", &cookie),
        &form,
    );
    assert_eq!(r.status(), 403);
    let mut with_csrf = form.to_vec();
    with_csrf.push(("csrf", &csrf));
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/reported"))
            .header("Cookie", &cookie),
        &with_csrf,
    );
    assert_eq!(r.status(), 303);
    let (_, html) = get(&cookie, "/ops/reported?done=reported_created");
    assert!(
        html.contains("05/03/2026") && html.contains("1.234") && html.contains("badge reported"),
        "{html}"
    );

    // Import with a bad row: the report lists it by line and nothing is written.
    let csv = format!("unit,day,metric,count,source\n{},06/03/2026,applications_collected,7,\n{},xx,applications_collected,1,\n", c1.as_str(), c1.as_str());
    let boundary = "eidtestboundary";
    let body = multipart(
        boundary,
        &[("csrf", &csrf), ("source", "bảng tính")],
        ("tuan.csv", csv.as_bytes()),
    );
    let r = crate::helpers::send_bytes(
        agent()
            .post(&format!("{base}/ops/reported/import"))
            .header("Cookie", &cookie)
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        &body,
    );
    assert_eq!(r.status(), 200);
    let html = r.into_string().unwrap();
    assert!(
        html.contains("chưa nhập dòng nào") && html.contains("<td class=\"num\">3</td>"),
        "{html}"
    );
    let body = multipart(
        boundary,
        &[("csrf", &csrf), ("source", "bảng tính"), ("skip_bad", "on")],
        ("tuan.csv", csv.as_bytes()),
    );
    let r = crate::helpers::send_bytes(
        agent()
            .post(&format!("{base}/ops/reported/import"))
            .header("Cookie", &cookie)
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        &body,
    );
    assert_eq!(r.status(), 200);
    assert!(r.into_string().unwrap().contains("Đã nhập tệp."));

    // The figure's page: history and correction with a reason.
    let (_, l) = get_json(
        &base,
        &format!("/api/v1/ops/reported?unit={}", c0.as_str()),
        &huyen.token,
    );
    let id = l["figures"][0]["id"].as_i64().unwrap();
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/reported/{id}"))
            .header("Cookie", &cookie),
        &[
            ("count", "1.240"),
            ("reason", "xã báo lại"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.status(), 303);
    let (st, html) = get(&cookie, &format!("/ops/reported/{id}"));
    assert_eq!(st, 200);
    assert!(
        html.contains("xã báo lại")
            && html.contains("1.240")
            && html.contains("1.234")
            && html.contains("nhập tay"),
        "{html}"
    );

    // A commune officer reads its own figure but has no form to change it; another unit's page is 403.
    let (xc, _) = console_session(&base, &xa);
    let (st, html) = get(&xc, &format!("/ops/reported/{id}"));
    assert_eq!(st, 200);
    assert!(!html.contains("Lưu bản sửa"));
    let (_, l1) = get_json(
        &base,
        &format!("/api/v1/ops/reported?unit={}", c1.as_str()),
        &huyen.token,
    );
    let id1 = l1["figures"][0]["id"].as_i64().unwrap();
    assert_eq!(get(&xc, &format!("/ops/reported/{id1}")).0, 403);
    let (_, html) = get(&xc, "/ops/reported");
    assert!(
        !html.contains("action=\"/ops/reported/import\""),
        "no forms for a commune"
    );
    assert!(
        !html.contains(&format!("/ops/reported/{id1}")),
        "only links the viewer can open"
    );
}

#[test]
fn a_share_of_base_quota_and_a_cohort_quota_over_http() {
    use eid_core::import::{import_generated, ImportOptions, OnError};
    let store = fresh_store("reported-share");
    let p = UnitCode::parse("62").unwrap();
    let persons: Vec<eid_domain::Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 600,
        seed: 31,
        province: Some(p),
        today: TODAY,
    })
    .unwrap()
    .filter(|x| x.check(TODAY).is_ok())
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today: TODAY,
        now: TODAY.midnight().assume_utc(),
        actor: eid_core::Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let clock = Arc::new(ManualClock::at_date(TODAY));
    let base = spawn_with_clock(Arc::clone(&store), clock);
    let units = Units::get();
    let d = units
        .children(Tree::Gso2024, &p)
        .iter()
        .map(|u| u.code)
        .max_by_key(|u| {
            persons
                .iter()
                .filter(|x| units.contains(Tree::Gso2024, u, &x.residence.unit))
                .count()
        })
        .unwrap();
    let tinh = create_user(store.as_ref(), "share-tinh", Role::Province, p);
    let huyen = create_user(store.as_ref(), "share-huyen", Role::District, d);
    let quota = |who: &TestUser, body: Value| post(&base, "/api/v1/ops/quotas", who, body);
    let dates = json!({"start": iso(TODAY - Duration::days(10)), "deadline": iso(TODAY + Duration::days(30))});
    let with = |mut v: Value| {
        for (k, x) in dates.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };

    // 65 % of the eligible people: the resolved number and the base's count are shown.
    let (st, v) = quota(
        &tinh,
        with(
            json!({"unit": d.as_str(), "metric": "accounts_activated", "base": "eligible", "percent": 65, "reason": "65 % người đủ điều kiện"}),
        ),
    );
    assert_eq!(st, 201, "{v}");
    let b = &v["quota"]["base"];
    let count = b["count"].as_u64().unwrap();
    assert!(count > 50, "{b}");
    assert_eq!(b["percent"], 65.0);
    assert_eq!(
        v["quota"]["target"].as_u64().unwrap(),
        (count * 65).div_ceil(100)
    );
    assert!(b["rule"].as_str().unwrap().contains("not re-resolved"));
    let (st, v) = quota(
        &tinh,
        with(
            json!({"unit": d.as_str(), "metric": "level1_activated", "base": "eligible", "percent": 65.55, "reason": "x"}),
        ),
    );
    assert_eq!(st, 400, "{v}");
    let (st, _) = quota(
        &huyen,
        with(
            json!({"unit": d.as_str(), "metric": "level1_activated", "base": "card_holders", "percent": 100, "reason": "x"}),
        ),
    );
    assert_eq!(st, 403);

    // A cohort of the district, its members imported, and a quota of 100 % of them.
    let (st, c) = post(
        &base,
        "/api/v1/ops/cohorts",
        &huyen,
        json!({"unit": d.as_str(), "name": "Giáo viên THPT"}),
    );
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    let members: Vec<&eid_domain::Person> = persons
        .iter()
        .filter(|x| units.contains(Tree::Gso2024, &d, &x.residence.unit))
        .take(3)
        .collect();
    let list = format!(
        "personal_id\n{}\nabc\n{}\n{}\n",
        members[0].id.as_str(),
        members[1].id.as_str(),
        members[2].id.as_str()
    );
    let r = send_bytes(
        agent()
            .post(&format!("{base}/api/v1/ops/cohorts/{cid}/members"))
            .header("Authorization", &format!("Bearer {}", huyen.token))
            .header("Content-Type", "text/csv"),
        list.as_bytes(),
    );
    assert_eq!(r.status(), 200);
    let m: Value = r.into_json().unwrap();
    assert_eq!((m["added"].as_u64(), lines(&m)), (Some(3), vec![3]));
    let (_, l) = get_json(&base, "/api/v1/ops/cohorts", &tinh.token);
    assert_eq!(l["cohorts"][0]["members"], 3);

    let (st, v) = quota(
        &tinh,
        with(
            json!({"unit": d.as_str(), "metric": "level2_activated", "cohort": "Giáo viên THPT", "base": "cohort", "percent": 100, "reason": "100 % giáo viên"}),
        ),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (
            v["quota"]["target"].as_u64(),
            v["quota"]["base"]["count"].as_u64()
        ),
        (Some(3), Some(3))
    );
    let qid = v["quota"]["id"].as_i64().unwrap();
    // One member and one non-member activate at level 2: the cohort quota counts the member only.
    let outsider = persons
        .iter()
        .find(|x| {
            units.contains(Tree::Gso2024, &d, &x.residence.unit)
                && !members.iter().any(|m| m.id == x.id)
        })
        .unwrap();
    for id in [members[0].id.as_str(), outsider.id.as_str()] {
        sql::transact(store.db(), |tx| {
            tx.exec(
                "INSERT INTO account_event (personal_id, kind, at, day, actor, detail) VALUES ($1, 'level2_activated', 0, $2, 'test', '{}')",
                &[id.into(), day_number(TODAY - Duration::days(1)).into()],
            )
        })
        .unwrap();
    }
    let (_, v) = get_json(&base, &format!("/api/v1/ops/quotas/{qid}"), &tinh.token);
    assert_eq!(v["quota"]["done"], 1, "{}", v["quota"]);

    // The console: cohorts listed, created and given members; a share previewed then saved.
    use crate::helpers::{call, post_form};
    let (hc, hcsrf) = console_session(&base, &huyen);
    let (tc, tcsrf) = console_session(&base, &tinh);
    let get = |cookie: &str, path: &str| {
        let r = call(
            agent()
                .get(&format!("{base}{path}"))
                .header("Cookie", cookie),
        );
        (r.status(), r.into_string().unwrap())
    };
    let (st, html) = get(&hc, "/ops/cohorts");
    assert_eq!(st, 200);
    assert!(
        html.contains("Giáo viên THPT") && html.contains(&format!("/ops/cohorts/{cid}")),
        "{html}"
    );
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/cohorts"))
            .header("Cookie", &hc),
        &[
            ("unit", d.as_str()),
            ("name", "Cán bộ huyện"),
            ("csrf", &hcsrf),
        ],
    );
    assert_eq!(r.status(), 303);
    let to = r.header("Location").unwrap().to_owned();
    assert!(
        to.starts_with("/ops/cohorts/") && to.ends_with("?done=cohort_created"),
        "{to}"
    );
    let boundary = "eidcohortboundary";
    let list = format!(
        "số định danh\n{}\n12345\n{}\n{}\n",
        members[0].id.as_str(),
        members[0].id.as_str(),
        members[1].id.as_str()
    );
    let body = multipart(
        boundary,
        &[("csrf", &hcsrf)],
        ("can-bo.csv", list.as_bytes()),
    );
    let path = to.trim_end_matches("?done=cohort_created").to_owned();
    let r = send_bytes(
        agent()
            .post(&format!("{base}{path}/members"))
            .header("Cookie", &hc)
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
        &body,
    );
    assert_eq!(r.status(), 200);
    let html = r.into_string().unwrap();
    assert!(
        html.contains("Đã thêm 2 thành viên.")
            && html.contains("<td class=\"num\">3</td><td>không phải số định danh")
            && html.contains("<td class=\"num\">4</td><td>trùng số định danh")
            && !html.contains(members[0].id.as_str()),
        "{html}"
    );
    assert!(
        html.contains("<span id=\"member-count\">2</span>"),
        "{html}"
    );
    // A district officer cannot set its own quota: no share form units, and the POST is 403.
    let (_, html) = get(&hc, &path);
    assert!(
        !html.contains("/ops/share?unit="),
        "only the level above sets quotas"
    );

    let q = format!(
        "/ops/share?unit={}&metric=level1_activated&base=card_holders&percent=12,5&start=01/03/2026&deadline=30/04/2026&reason=thu&preview=1",
        d.as_str()
    );
    let (st, html) = get(&tc, &q);
    assert_eq!(st, 200, "{html}");
    let holders = eid_core::ops::base_count(
        store.as_ref(),
        eid_core::ops::Base::CardHolders,
        &d,
        "",
        TODAY,
    )
    .unwrap();
    let resolved = (holders * 125).div_ceil(1000);
    assert!(
        html.contains("12,5 %")
            && html.contains(&format!("<strong id=\"base-count\">{holders}</strong>"))
            && html.contains(&format!("<strong id=\"resolved\">{resolved}</strong>"))
            && html.contains("10/03/2026"),
        "{html}"
    );
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/share"))
            .header("Cookie", &tc),
        &[
            ("unit", d.as_str()),
            ("metric", "level1_activated"),
            ("base", "card_holders"),
            ("cohort", ""),
            ("percent", "12,5"),
            ("start", "01/03/2026"),
            ("deadline", "30/04/2026"),
            ("reason", "thử"),
            ("csrf", &tcsrf),
        ],
    );
    assert_eq!(r.status(), 303);
    let to = r.header("Location").unwrap().to_owned();
    let (_, html) = get(&tc, &to);
    assert!(
        html.contains("id=\"base-note\"") && html.contains("12,5 % × người có thẻ CCCD"),
        "{html}"
    );
    let (_, html) = get(&tc, &format!("/ops/quotas/{qid}"));
    assert!(
        html.contains("100 % × thành viên nhóm «Giáo viên THPT» (3 người"),
        "{html}"
    );
    let (st, _) = get(
        &hc,
        &format!(
            "/ops/share?unit={}&base=eligible&percent=50&preview=1",
            d.as_str()
        ),
    );
    assert_eq!(st, 403);
}
