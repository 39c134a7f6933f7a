//! Hardening (issue 10), items 6, 11 and 12: the under-14 answer is the same for a child in the
//! register and an unused ID of the same birth year; `eid export persons` guards cells a
//! spreadsheet would run as a formula and reads back the same on import; only a report
//! schedule's own unit submits its report.

use std::sync::Arc;

use base64::Engine as _;
use eid_core::Actor;
use eid_domain::{
    BirthDate, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence, Sex,
    UnitCode,
};
use serde_json::{json, Value};
use time::{Date, Duration, Month};

use crate::helpers::{agent, app, fresh_store, now, send_json, spawn};

fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> (u16, String) {
    let mut req = agent().post(&format!("{base}{path}"));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let r = send_json(req, body);
    (r.status(), r.into_string().unwrap())
}

// ----------------------------------------------------------------------------------------------
// Item 12: only the schedule's own unit submits

#[test]
fn only_the_schedules_own_unit_submits_its_report() {
    let a = app();
    let start = now().date() - Duration::days(14);
    let (s, v) = post(
        &a.base,
        "/api/v1/ops/reports/schedules",
        Some(&a.ministry.token),
        json!({"agency": "Sở Tư pháp (hardening)", "unit": a.province.unit.as_str(),
               "schedule": "weekly", "grace_days": 1, "start": eid_domain::iso(start)}),
    );
    assert_eq!(s, 201, "{v}");
    let sched = serde_json::from_str::<Value>(&v).unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/ops/reports/{sched}/submit");
    let body = |who: &str| json!({"period_day": eid_domain::iso(start), "body": format!("báo cáo của {who}")});
    let code = |v: &str| {
        serde_json::from_str::<Value>(v).unwrap()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let (s, v) = post(&a.base, &path, Some(&a.commune.token), body("xã"));
    assert_eq!(
        (s, code(&v).as_str()),
        (403, "scope.denied"),
        "commune: {v}"
    );
    let (s, v) = post(&a.base, &path, Some(&a.district.token), body("huyện"));
    assert_eq!(
        (s, code(&v).as_str()),
        (403, "scope.denied"),
        "district: {v}"
    );
    let (s, v) = post(&a.base, &path, Some(&a.province.token), body("tỉnh"));
    assert_eq!(s, 201, "province: {v}");
}

// ----------------------------------------------------------------------------------------------
// Item 6: the under-14 answer does not tell which children exist

/// A child of Kon Tum who turns 14 tomorrow: 13 today.
fn child(serial: u32, unit: UnitCode) -> Person {
    let t = now().date() + Duration::days(1);
    let born = Date::from_calendar_date(t.year() - 14, t.month(), t.day())
        .unwrap_or_else(|_| Date::from_calendar_date(t.year() - 14, Month::March, 1).unwrap());
    Person {
        id: PersonalId::from_parts(62, Sex::Female, born.year(), serial).unwrap(),
        name: PersonName::parse("Nguyễn", "Thị", "Hoa").unwrap(),
        birth: BirthDate::Full(born),
        sex: Sex::Female,
        hometown: None,
        residence: Residence {
            unit,
            address: format!("Thôn {serial}"),
        },
        temporary: None,
        household: None,
        phone: Some(PhoneNumber::parse(&format!("0912{serial:06}")).unwrap()),
        phone_type: PhoneType::Smartphone,
        life: LifeStatus::ALIVE,
        card: None,
    }
}

/// The answer to a level-1 registration with the request id taken out of the body.
fn register(base: &str, id: &str, photo_of: &str) -> (u16, String, String) {
    let photo =
        base64::engine::general_purpose::STANDARD.encode(eid::verifier::dev_portrait(photo_of));
    let (s, text) = post(
        base,
        "/api/v1/app/register",
        None,
        json!({"personal_id": id, "phone": "0912999999", "photo_base64": photo, "device_id": "app-device-0001"}),
    );
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let rid = v["error"]["request_id"].as_str().unwrap_or("").to_owned();
    assert!(!rid.is_empty(), "{s} {text}");
    (
        s,
        text.replace(&rid, "<rid>"),
        v["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn an_existing_thirteen_year_old_and_an_unused_id_of_the_same_year_get_the_same_answer() {
    let store = fresh_store("hard-u14");
    let a = app();
    let kid = child(41, a.commune.unit);
    let mut w = store
        .writer(&Actor::Cli("test".into()), "test", now())
        .unwrap();
    w.put(&kid).unwrap();
    w.commit().unwrap();
    let unused = PersonalId::from_parts(62, Sex::Female, kid.birth.year(), 42).unwrap();
    assert!(store.person(&unused).unwrap().is_none());
    let base = spawn(Arc::clone(&store));

    // Their own photos, and somebody else's.
    for photo_of in [None, Some("062190000000")] {
        let known = register(&base, kid.id.as_str(), photo_of.unwrap_or(kid.id.as_str()));
        let free = register(&base, unused.as_str(), photo_of.unwrap_or(unused.as_str()));
        assert_eq!((known.0, &known.1), (free.0, &free.1), "{photo_of:?}");
        assert_eq!((known.0, known.2.as_str()), (422, "account.under_14"));
    }
}

// ----------------------------------------------------------------------------------------------
// Item 11: export guards formulas and reads back the same

fn eid(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn rows(csv_text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn export(db: &str) -> String {
    let o = eid(&["--db", db, "export", "persons", "--unit", "62"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn import(db: &str, file: &std::path::Path) -> Value {
    let o = eid(&[
        "--db",
        db,
        "import",
        "persons",
        file.to_str().unwrap(),
        "--on-error",
        "abort",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn export_guards_formulas_and_an_exported_file_imports_to_the_same_register() {
    use eid_core::csvfmt;
    let today = now().date();
    let mut people: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 40,
        seed: 5,
        province: Some(UnitCode::parse("62").unwrap()),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok())
    .take(6)
    .collect();
    let formulas = [
        "=HYPERLINK(\"http://evil.example/?x\",\"Bấm vào đây\")",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        // Already guarded by hand: must come back with its quote, not lose it.
        "'=1+1",
    ];
    for (p, f) in people.iter_mut().zip(formulas) {
        p.residence.address = f.to_owned();
    }
    people[5].household = Some("-A1".to_owned());
    for p in &people {
        p.check(today).unwrap();
    }
    let dir = crate::helpers::temp_dir("hard-formulas");
    let input = dir.join("in.csv");
    let mut w = csv::Writer::from_path(&input).unwrap();
    w.write_record(csvfmt::COLUMNS).unwrap();
    // The first four as a spreadsheet would save them; the rest in the import format, where a
    // quote before a formula's first character is the export's guard.
    for (i, p) in people.iter().enumerate() {
        if i < 4 {
            w.write_record(csvfmt::fields(p)).unwrap();
        } else {
            csvfmt::write_person(&mut w, p).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);

    let engine = eid_core::testkit::Engine::from_env();
    let db = crate::helpers::fresh_url(engine, "hard-exp1");
    assert_eq!(import(&db, &input)["imported"], 6);
    let first = export(&db);
    let exported = rows(&first);
    assert_eq!(exported.len(), 6);
    // No cell a spreadsheet would run as a formula.
    for row in &exported {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unguarded cell {cell:?}"
            );
        }
    }
    let address = |id: &PersonalId| {
        exported
            .iter()
            .find(|r| r[0] == id.as_str())
            .map(|r| (r[8].clone(), r[11].clone()))
            .unwrap()
    };
    for (p, f) in people.iter().zip(formulas) {
        assert_eq!(address(&p.id).0, format!("'{f}"));
    }
    assert_eq!(address(&people[5].id).1, "'-A1");

    // The exported file read back: into the same register nothing changes; into an empty one
    // the same register, exported byte for byte the same.
    let file = dir.join("exported.csv");
    std::fs::write(&file, &first).unwrap();
    let again = import(&db, &file);
    assert_eq!(
        (again["unchanged"].as_u64(), again["updated"].as_u64()),
        (Some(6), Some(0)),
        "{again}"
    );
    let db2 = crate::helpers::fresh_url(engine, "hard-exp2");
    assert_eq!(import(&db2, &file)["imported"], 6);
    assert_eq!(export(&db2), first);
}
