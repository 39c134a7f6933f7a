//! Consistency under concurrency (issue 10, items 13, 14 and 17), with real parallel requests
//! against the real server, on the engine the suite runs on:
//! - confirm and dismiss of one proposal sent together: exactly one wins, the other is told
//!   (409 `proposal.decided`), and the register changes at most once;
//! - two officers correcting one person at the same time: one wins, the other is told (409);
//! - `eid import` (the real binary, a separate process) while the server runs on the same
//!   database: every request of the server succeeds within a bounded wait, the import is
//!   complete afterwards, and abort mode with a bad row late in the file writes nothing.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{LifeState, Person, PersonalId, UnitCode};
use serde_json::{json, Value};

use crate::helpers::{
    agent, call, cookie_value, create_user, csrf_field, fresh_store, fresh_url, now, post_form,
    send_json, set_cookie, sign_in, spawn, temp_dir, TestUser,
};

/// A fresh store with `count` generated people of Kon Tum (62), each of them checked.
fn seeded(label: &str, count: u64) -> (Arc<dyn Store>, Vec<Person>) {
    seeded_at(fresh_store(label), count)
}

fn seeded_at(store: Arc<dyn Store>, count: u64) -> (Arc<dyn Store>, Vec<Person>) {
    let today = now().date();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count,
        seed: 23,
        province: Some(UnitCode::parse("62").unwrap()),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok())
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now: now(),
        actor: Actor::Cli("test".into()),
        reason: "seed".into(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    (store, persons)
}

fn post_json(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
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

fn province_officer(store: &dyn Store, name: &str) -> TestUser {
    create_user(store, name, Role::Province, UnitCode::parse("62").unwrap())
}

#[test]
fn confirm_and_dismiss_sent_together_decide_a_proposal_once() {
    const PAIRS: usize = 20;
    let (store, persons) = seeded("race-proposal", 400);
    let officer = province_officer(store.as_ref(), "race-tinh");
    let base = spawn(Arc::clone(&store));
    let alive: Vec<&Person> = persons
        .iter()
        .filter(|p| p.life.state == LifeState::Alive)
        .take(PAIRS)
        .collect();
    assert_eq!(alive.len(), PAIRS);
    let mut proposals = Vec::new();
    for p in &alive {
        let (s, v) = post_json(
            &base,
            "/api/v1/ops/outreach/contacts",
            &officer.token,
            json!({"personal_id": p.id.as_str(), "outcome": "dead", "note": "hàng xóm báo"}),
        );
        assert_eq!(s, 201, "{v}");
        proposals.push(v["proposal_id"].as_i64().unwrap());
    }
    let versions: Vec<i64> = alive
        .iter()
        .map(|p| store.person(&p.id).unwrap().unwrap().version)
        .collect();

    // Every pair at once: 40 requests released together.
    let gate = Arc::new(Barrier::new(PAIRS * 2));
    let mut threads = Vec::new();
    for (i, id) in proposals.iter().enumerate() {
        for decision in ["confirm", "dismiss"] {
            let (gate, base, token, id) =
                (Arc::clone(&gate), base.clone(), officer.token.clone(), *id);
            threads.push(std::thread::spawn(move || {
                gate.wait();
                let (s, v) = post_json(
                    &base,
                    &format!("/api/v1/ops/proposals/{id}"),
                    &token,
                    json!({ "decision": decision }),
                );
                (i, decision, s, v)
            }));
        }
    }
    let answers: Vec<(usize, &str, u16, Value)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();

    for (i, p) in alive.iter().enumerate() {
        let pair: Vec<&(usize, &str, u16, Value)> = answers.iter().filter(|a| a.0 == i).collect();
        let won: Vec<&&(usize, &str, u16, Value)> = pair.iter().filter(|a| a.2 == 200).collect();
        assert_eq!(
            won.len(),
            1,
            "pair {i}: exactly one decision wins: {pair:?}"
        );
        let lost = pair.iter().find(|a| a.2 != 200).unwrap();
        assert_eq!(
            (lost.2, code(&lost.3)),
            (409, "proposal.decided"),
            "pair {i}: the other is told: {pair:?}"
        );
        let winner = won[0].1;
        assert_eq!(
            won[0].3["state"].as_str(),
            Some(if winner == "confirm" {
                "confirmed"
            } else {
                "dismissed"
            })
        );
        let stored = store.person(&p.id).unwrap().unwrap();
        let (want_version, want_state) = if winner == "confirm" {
            (versions[i] + 1, LifeState::Dead)
        } else {
            (versions[i], LifeState::Alive)
        };
        assert_eq!(
            (stored.version, stored.person.life.state),
            (want_version, want_state),
            "pair {i}: the register changed at most once ({winner} won)"
        );
        assert_eq!(store.history(&p.id).unwrap().len() as i64, want_version);
    }

    // The console tells an officer whose decision came second, in Vietnamese, with a 409.
    let (cookie, csrf) = console_session(&base, &officer, "/ops/proposals");
    let r = post_form(
        agent()
            .post(&format!("{base}/ops/proposals/{}", proposals[0]))
            .header("Cookie", &cookie),
        &[("csrf", &csrf), ("decision", "dismiss")],
    );
    assert_eq!(r.status(), 409);
    assert!(r
        .into_string()
        .unwrap()
        .contains("Đề xuất đã được xử lý (có thể bởi cán bộ khác cùng lúc)"));
}

/// The console's edit form for `p` with a new phone number.
fn correction(p: &Person, csrf: &str, version: i64, phone: &str) -> Vec<(String, String)> {
    let (temp_unit, temp_address) = match &p.temporary {
        Some(t) => (t.unit.as_str().to_owned(), t.address.clone()),
        None => (String::new(), String::new()),
    };
    vec![
        ("csrf".into(), csrf.to_owned()),
        ("version".into(), version.to_string()),
        ("address".into(), p.residence.address.clone()),
        ("temp_unit".into(), temp_unit),
        ("temp_address".into(), temp_address),
        ("phone".into(), phone.to_owned()),
        ("phone_type".into(), "smartphone".into()),
        ("life".into(), p.life.state.as_str().into()),
        (
            "life_date".into(),
            p.life.since.map(eid_domain::iso).unwrap_or_default(),
        ),
        ("reason".into(), "công dân báo đổi số".into()),
    ]
}

/// A signed-in console session: its cookie and the CSRF token of `form_path`.
fn console_session(base: &str, user: &TestUser, form_path: &str) -> (String, String) {
    let r = sign_in(base, &user.username, &user.password);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let form = call(
        agent()
            .get(&format!("{base}{form_path}"))
            .header("Cookie", &cookie),
    );
    assert_eq!(form.status(), 200);
    let csrf = csrf_field(&form.into_string().unwrap());
    (cookie, csrf)
}

#[test]
fn two_officers_correcting_one_person_at_once_one_wins_and_the_other_is_told() {
    const PERSONS: usize = 12;
    let (store, persons) = seeded("race-correct", 300);
    let a = province_officer(store.as_ref(), "sua-a");
    let b = province_officer(store.as_ref(), "sua-b");
    let base = spawn(Arc::clone(&store));
    let targets: Vec<&Person> = persons
        .iter()
        .filter(|p| p.life.state == LifeState::Alive)
        .take(PERSONS)
        .collect();
    let first = format!("/persons/{}/edit", targets[0].id.as_str());
    let sessions = [
        console_session(&base, &a, &first),
        console_session(&base, &b, &first),
    ];
    for (n, p) in targets.iter().enumerate() {
        let version = store.person(&p.id).unwrap().unwrap().version;
        let gate = Arc::new(Barrier::new(2));
        let threads: Vec<_> = sessions
            .iter()
            .zip(["0901234567", "0987654321"])
            .map(|((cookie, csrf), phone)| {
                let form = correction(p, csrf, version, phone);
                let (gate, cookie) = (Arc::clone(&gate), cookie.clone());
                let url = format!("{base}/persons/{}/edit", p.id.as_str());
                std::thread::spawn(move || {
                    let pairs: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    gate.wait();
                    let r = post_form(agent().post(&url).header("Cookie", &cookie), &pairs);
                    (phone, r.status())
                })
            })
            .collect();
        let answers: Vec<(&str, u16)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let mut statuses: Vec<u16> = answers.iter().map(|a| a.1).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, vec![303, 409], "person {n}: {answers:?}");
        let winner = answers.iter().find(|a| a.1 == 303).unwrap().0;
        let stored = store.person(&p.id).unwrap().unwrap();
        assert_eq!(stored.version, version + 1, "person {n}: one write");
        assert_eq!(
            stored.person.phone.map(|x| x.as_str().to_owned()),
            Some(format!("+84{}", &winner[1..])),
            "person {n}: the winner's change is the one kept"
        );
    }
}

/// Runs the real `eid` binary.
fn eid(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

/// Generates `count` people of `province` into `dir/name` with the real binary.
fn generate(dir: &std::path::Path, name: &str, count: u32, province: &str) -> std::path::PathBuf {
    let csv = dir.join(name);
    let o = eid(&[
        "gen",
        "persons",
        "--count",
        &count.to_string(),
        "--seed",
        "5",
        "--province",
        province,
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    csv
}

#[test]
fn an_import_in_another_process_does_not_stop_the_server_from_writing() {
    let url = fresh_url(eid_core::testkit::Engine::from_env(), "import-live");
    let store = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    let (store, persons) = seeded_at(store, 300);
    let officer = province_officer(store.as_ref(), "live-tinh");
    let base = spawn(Arc::clone(&store));
    let dir = temp_dir("import-live");
    // Hà Nội: none of the seeded people of Kon Tum is in the file.
    let csv = generate(&dir, "hanoi.csv", 40_000, "01");

    let importer = {
        let (url, csv) = (url.clone(), csv.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let o = eid(&[
                "--db",
                &url,
                "import",
                "persons",
                csv.to_str().unwrap(),
                "--json",
            ]);
            (o, started.elapsed())
        })
    };
    // The server's requests while the import runs: a read, a write through the shared SQL
    // layer (a contact), a write through the register's writer (a confirmed death).
    let mut slowest_write = Duration::ZERO;
    let mut writes = 0;
    let mut failures = Vec::new();
    let alive: Vec<&Person> = persons
        .iter()
        .filter(|p| p.life.state == LifeState::Alive)
        .collect();
    let mut i = 0;
    while !importer.is_finished() && i < alive.len() {
        let p = alive[i];
        i += 1;
        let read = call(
            agent()
                .get(&format!("{base}/api/v1/persons/{}", p.id.as_str()))
                .header("Authorization", &format!("Bearer {}", officer.token)),
        );
        if read.status() != 200 {
            failures.push(format!("read {}", read.status()));
        }
        let t = Instant::now();
        let (s, v) = post_json(
            &base,
            "/api/v1/ops/outreach/contacts",
            &officer.token,
            json!({"personal_id": p.id.as_str(), "outcome": "dead"}),
        );
        slowest_write = slowest_write.max(t.elapsed());
        writes += 1;
        if s != 201 {
            failures.push(format!("contact {s} {v}"));
            continue;
        }
        let t = Instant::now();
        let (s, v) = post_json(
            &base,
            &format!("/api/v1/ops/proposals/{}", v["proposal_id"]),
            &officer.token,
            json!({"decision": "confirm"}),
        );
        slowest_write = slowest_write.max(t.elapsed());
        writes += 1;
        if s != 200 {
            failures.push(format!("confirm {s} {v}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (out, took) = importer.join().unwrap();
    eprintln!("import took {took:?}; {writes} writes meanwhile, the slowest {slowest_write:?}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["committed"].as_bool(), summary["imported"].as_u64()),
        (Some(true), Some(40_000)),
        "{summary}"
    );
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        writes >= 10,
        "the server was written to during the import: {writes}"
    );
    assert!(
        slowest_write < Duration::from_secs(3),
        "a write waited {slowest_write:?} for the import ({took:?})"
    );
    // The import is complete: every person of the file is in the register.
    let text = std::fs::read_to_string(&csv).unwrap();
    for line in text.lines().skip(1).step_by(997) {
        let id = PersonalId::parse(&line[..12]).unwrap();
        assert!(store.person(&id).unwrap().is_some(), "{}", &line[..12]);
    }
}

#[test]
fn abort_with_a_bad_row_late_in_a_big_file_writes_nothing() {
    let url = fresh_url(eid_core::testkit::Engine::from_env(), "import-abort");
    let store = eid_core::open(&url).unwrap();
    store.migrate().unwrap();
    let (store, _) = seeded_at(store, 100);
    let dir = temp_dir("import-abort");
    let csv = generate(&dir, "hanoi.csv", 12_000, "01");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let last = lines.len() - 2;
    let line = &mut lines[last];
    *line = format!("003{}", &line[3..]);
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();

    let o = eid(&[
        "--db",
        &url,
        "import",
        "persons",
        bad.to_str().unwrap(),
        "--on-error",
        "abort",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (summary["committed"].as_bool(), summary["rejected"].as_u64()),
        (Some(false), Some(1)),
        "{summary}"
    );
    for l in lines.iter().skip(1).step_by(499) {
        let id = PersonalId::parse(&l[..12]).unwrap();
        assert!(store.person(&id).unwrap().is_none(), "nothing was written");
    }
    let export = eid(&["--db", &url, "export", "persons", "--unit", "01"]);
    assert!(export.status.success());
    assert_eq!(String::from_utf8_lossy(&export.stdout).lines().count(), 1);
}
