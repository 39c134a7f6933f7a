//! Sector linkage (issue 13): decisions read over the API within the officer's units, with
//! their breakdown; and `eid gen sector`, `eid link source`, `eid link import` as a process.

use std::process::{Command, Output};

use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::Actor;
use eid_domain::name::fold;
use eid_domain::Person;

use crate::helpers::{agent, app, call, fresh_url, get_json, now, temp_dir};

fn row(id: &str, p: &Person, with_id: bool) -> String {
    format!(
        "{id},{},{},{},{},{},{},{}",
        if with_id { p.id.as_str() } else { "" },
        fold(p.name.surname()),
        p.name.middle(),
        p.name.given(),
        p.birth,
        p.sex.as_str(),
        p.residence.unit.as_str()
    )
}

#[test]
fn results_are_listed_by_outcome_within_the_officers_units_with_their_breakdown() {
    let app = app();
    let (local, far) = (app.local_person(), app.far_person());
    let store = app.store.as_ref();
    let actor = Actor::Cli("test".into());
    service::define_source(
        store,
        &actor,
        now(),
        &Source {
            name: "bhyt-it".into(),
            kind: "health_insurance".into(),
            mapping: Mapping::parse("row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit=unit").unwrap(),
        },
    )
    .unwrap();
    let mut lines =
        vec!["row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit".to_owned()];
    for (i, p) in app.persons.iter().enumerate().take(300) {
        lines.push(row(&format!("P{i}"), p, i % 4 != 0));
    }
    lines.push(row("LOCAL", local, true));
    lines.push(row("FAR", far, false));
    let file = lines.join("\n");
    let summary = service::import(
        store,
        &actor,
        now(),
        "bhyt-it",
        "bhyt.csv",
        now().date(),
        file.as_bytes(),
        &Thresholds::default(),
        &mut |r| panic!("rejected line {}: {}", r.line, r.reason),
    )
    .unwrap();
    assert_eq!(summary.rows, 302);

    let list = |token: &str| {
        let (status, body) = get_json(
            &app.base,
            "/api/v1/linkage/results?outcome=matched&limit=1000",
            token,
        );
        assert_eq!(status, 200, "{body}");
        body["results"].as_array().unwrap().clone()
    };
    let find = |rows: &[serde_json::Value], id: &str| {
        rows.iter()
            .find(|r| r["row_id"] == id && r["source"] == "bhyt-it")
            .cloned()
    };
    let commune = list(&app.commune.token);
    let mine = find(&commune, "LOCAL").expect("the commune officer sees their resident");
    assert_eq!(mine["personal_id"], local.id.as_str());
    assert_eq!(mine["method"], "personal_id");
    assert!(mine.get("explanation").is_none());
    assert!(find(&commune, "FAR").is_none());
    let all = list(&app.ministry.token);
    let far_row = find(&all, "FAR").expect("the ministry sees every unit");
    assert_eq!(far_row["personal_id"], far.id.as_str());
    assert_eq!(far_row["method"], "probabilistic");

    // One decision with its breakdown; outside the officer's units it does not exist.
    let id = far_row["id"].as_i64().unwrap();
    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/linkage/results/{id}"),
        &app.province.token,
    );
    assert_eq!(status, 200, "{body}");
    let fields = body["explanation"]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 7);
    let surname = fields.iter().find(|f| f["field"] == "surname").unwrap();
    assert_eq!(surname["level"], "folded");
    assert!(
        body["explanation"]["total"].as_f64().unwrap() > 6.0,
        "{body}"
    );
    assert!(body["explanation"]["probability"].as_f64().unwrap() >= 0.9);
    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/linkage/results/{id}"),
        &app.commune.token,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("link.not_found")),
        "{body}"
    );

    let (status, body) = get_json(
        &app.base,
        "/api/v1/linkage/results?outcome=maybe",
        &app.ministry.token,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("link.bad_outcome")),
        "{body}"
    );
    let (status, _) = get_json(
        &app.base,
        "/api/v1/linkage/results?outcome=matched",
        &app.auditor.token,
    );
    assert_eq!(status, 403);
    let anonymous = call(agent().get(app.url("/api/v1/linkage/results?outcome=matched")));
    assert_eq!(anonymous.status(), 401);

    let doc = eid_web::openapi::document();
    assert!(doc["paths"]["/api/v1/linkage/results/{id}"]["get"].is_object());
}

fn eid(db: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.arg("--db").arg(db).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_cli_generates_a_sector_copy_saves_a_source_and_imports_it() {
    let dir = temp_dir("cli-link");
    let db = fresh_url(eid_core::testkit::Engine::from_env(), "cli-link");
    let persons = dir.join("persons.csv");
    let sector = dir.join("sector.csv");
    let truth = dir.join("truth.csv");
    let p = persons.to_str().unwrap();
    let o = eid(
        &db,
        &[
            "gen",
            "persons",
            "--count",
            "300",
            "--seed",
            "5",
            "--province",
            "62",
            "--out",
            p,
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = eid(&db, &["import", "persons", p, "--on-error", "skip"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = eid(
        &db,
        &[
            "gen",
            "sector",
            "--persons",
            p,
            "--out",
            sector.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let rows = std::fs::read_to_string(&sector).unwrap().lines().count() - 1;
    assert!((240..=300).contains(&rows), "{rows}");
    assert_eq!(
        std::fs::read_to_string(&truth).unwrap().lines().count() - 1,
        rows
    );

    // A mapping that misses the birth date is refused; one naming a column the file lacks
    // fails the import before anything is stored.
    let o = eid(
        &db,
        &[
            "link",
            "source",
            "--name",
            "bhxh",
            "--kind",
            "social_insurance",
            "--mapping",
            "row_id=row_id,surname=surname,given_name=given_name",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o).1, "eid: birth_date is not mapped\n");
    let o = eid(
        &db,
        &[
            "link",
            "source",
            "--name",
            "bhxh",
            "--kind",
            "social_insurance",
            "--mapping",
            "row_id=row_id,surname=surname,given_name=given_name,birth_date=ngay_sinh",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = eid(
        &db,
        &[
            "link",
            "import",
            "--source",
            "bhxh",
            sector.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o).1,
        "eid: column ngay_sinh (for birth_date) is not in the file\n"
    );

    let mapping = Mapping::identity().to_text();
    let o = eid(
        &db,
        &[
            "link",
            "source",
            "--name",
            "bhxh",
            "--kind",
            "social_insurance",
            "--mapping",
            &mapping,
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    // One bad row appended: a birth date that does not exist.
    let mut content = std::fs::read_to_string(&sector).unwrap();
    content.push_str("BAD,,Lê,,An,1990-02-30,M,2024,,,,\n");
    std::fs::write(&sector, content).unwrap();
    let o = eid(
        &db,
        &[
            "link",
            "import",
            "--source",
            "bhxh",
            sector.to_str().unwrap(),
            "--received",
            "2026-11-20",
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out} {err}");
    assert!(
        out.starts_with(&format!("batch 1: {rows} rows, 1 rejected; matched ")),
        "{out}"
    );
    assert!(
        err.contains(&format!("line {}: birth_date:", rows + 2)),
        "{err}"
    );
    let report = std::fs::read_to_string(format!("{}.rejected.csv", sector.display())).unwrap();
    assert!(report.starts_with("line,column,reason\n"), "{report}");
    let matched: u64 = out
        .split("matched ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(matched as usize * 100 >= rows * 90, "{out}");
}

/// Officers decide reviews and conflicts over the API: within their units only, once (two at
/// the same moment: one wins, the other is told 409), and the decision is reused when the same
/// rows come again.
#[test]
fn officers_decide_over_the_api_once_within_their_units_and_decisions_are_reused() {
    use crate::helpers::send_json;
    let app = app();
    let (local, far) = (app.local_person(), app.far_person());
    let store = app.store.as_ref();
    let actor = Actor::Cli("test".into());
    service::define_source(
        store,
        &actor,
        now(),
        &Source {
            name: "bhxh-decide".into(),
            kind: "social_insurance".into(),
            mapping: Mapping::identity(),
        },
    )
    .unwrap();
    let mut lines = vec![Mapping::identity()
        .columns
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(",")];
    let line = |id: &str, pid: &str, s: &str, m: &str, g: &str, p: &Person| {
        format!(
            "{id},{pid},{s},{m},{g},{},{},,{}",
            p.birth,
            p.sex.as_str(),
            p.residence.unit.as_str()
        )
    };
    for (i, p) in app.persons.iter().enumerate().skip(400).take(150) {
        let n = &p.name;
        lines.push(line(
            &format!("D{i}"),
            p.id.as_str(),
            n.surname(),
            n.middle(),
            n.given(),
            p,
        ));
    }
    // LOCAL: no ID, names swapped and folded, the year of birth alone: a review in the commune
    // officer's commune. FAR: FAR's ID on someone else's data: a conflict outside the commune
    // officer's district.
    let n = &local.name;
    lines.push(format!(
        "LOCAL,,{},{},{},{},{},,{}",
        fold(n.given()),
        fold(n.middle()),
        fold(n.surname()),
        local.birth.year(),
        local.sex.as_str(),
        local.residence.unit.as_str()
    ));
    lines.push(format!(
        "FAR,{},Khổng,Minh,Triết,1931-02-03,M,,{}",
        far.id.as_str(),
        far.residence.unit.as_str()
    ));
    let file = lines.join("\n");
    let import = || {
        service::import(
            store,
            &actor,
            now(),
            "bhxh-decide",
            "bhxh.csv",
            now().date(),
            file.as_bytes(),
            &Thresholds {
                matched: 1.5,
                review: 0.5,
            },
            &mut |r| panic!("rejected line {}: {}", r.line, r.reason),
        )
        .unwrap()
    };
    import();
    let listed = |outcome: &str, row: &str| {
        let (status, body) = get_json(
            &app.base,
            &format!("/api/v1/linkage/results?outcome={outcome}&limit=1000"),
            &app.ministry.token,
        );
        assert_eq!(status, 200, "{body}");
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["row_id"] == row && r["source"] == "bhxh-decide")
            .cloned()
    };
    let review = listed("review", "LOCAL").unwrap_or_else(|| {
        panic!(
            "LOCAL is a review: {:?} {:?}",
            listed("matched", "LOCAL"),
            listed("unmatched", "LOCAL")
        )
    });
    let conflict = listed("conflict", "FAR").expect("FAR is a conflict");
    let decide = |token: &str, id: &serde_json::Value, body: serde_json::Value| {
        let r = send_json(
            agent()
                .post(&app.url(&format!("/api/v1/linkage/results/{id}/decision")))
                .header("Authorization", &format!("Bearer {token}")),
            body,
        );
        let status = r.status();
        (status, r.into_json::<serde_json::Value>().unwrap())
    };

    // The commune officer may not decide on a row outside their units: 403, JSON error.
    let (status, body) = decide(
        &app.commune.token,
        &conflict["id"],
        serde_json::json!({"verdict": "different", "reason": "khác người"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("scope.denied")),
        "{body}"
    );
    let (status, body) = decide(
        &app.commune.token,
        &review["id"],
        serde_json::json!({"verdict": "perhaps", "reason": "?"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("link.bad_verdict")),
        "{body}"
    );

    // The same person, as proposed.
    let (status, body) = decide(
        &app.commune.token,
        &review["id"],
        serde_json::json!({"verdict": "same", "reason": "Đối chiếu hộ khẩu"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "matched");
    assert_eq!(body["personal_id"], local.id.as_str());
    assert_eq!(body["decision"]["verdict"], "same");
    assert_eq!(body["decision"]["reason"], "Đối chiếu hộ khẩu");

    // Two officers at the same moment on the conflict: one 200, one 409.
    let id = conflict["id"].clone();
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| {
            decide(
                &app.ministry.token,
                &id,
                serde_json::json!({"verdict": "different", "reason": "Khác ngày sinh"}),
            )
        });
        let two = s.spawn(|| {
            decide(
                &app.province.token,
                &id,
                serde_json::json!({"verdict": "different", "reason": "Khác họ tên"}),
            )
        });
        (one.join().unwrap(), two.join().unwrap())
    });
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let refused = if a.0 == 409 { &a.1 } else { &b.1 };
    assert_eq!(refused["error"]["code"], "link.already_decided");
    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/linkage/results/{id}"),
        &app.ministry.token,
    );
    assert_eq!(status, 200);
    assert_eq!(body["outcome"], "unmatched");

    // Imported again: both rows come back settled by the officers' decisions.
    import();
    let again = |outcome: &str, row: &str, after: &serde_json::Value| {
        listed(outcome, row).filter(|r| r["id"].as_i64() > after.as_i64())
    };
    let local_again = again("matched", "LOCAL", &conflict["id"]).expect("LOCAL matched again");
    assert_eq!(local_again["method"], "officer");
    assert_eq!(local_again["personal_id"], local.id.as_str());
    assert_eq!(local_again["decision"]["result_id"], review["id"]);
    let far_again = again("unmatched", "FAR", &conflict["id"]).expect("FAR unmatched again");
    assert_eq!(far_again["method"], "officer");
    assert!(again("conflict", "FAR", &conflict["id"]).is_none());

    let doc = eid_web::openapi::document();
    assert!(doc["paths"]["/api/v1/linkage/results/{id}/decision"]["post"].is_object());
}
