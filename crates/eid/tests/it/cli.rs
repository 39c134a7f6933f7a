//! The `eid` binary as a process: help texts, gen, import (abort and skip), export, admin.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::temp_dir;

fn eid(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_runs_for_the_program_and_every_subcommand() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["demo"],
        &["migrate"],
        &["import"],
        &["import", "persons"],
        &["export", "persons"],
        &["gen", "persons"],
        &["admin"],
        &["admin", "create-user"],
        &["admin", "issue-token"],
        &["admin", "revoke-token"],
        &["admin", "list-users"],
        &["admin", "list-tokens"],
    ];
    for args in commands {
        let mut with_help = args.to_vec();
        with_help.push("--help");

        let o = eid(&with_help);

        assert!(
            o.status.success(),
            "eid {with_help:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout(&o).contains("Usage: eid"), "eid {with_help:?}");
    }
}

/// Generates `count` persons into `dir/persons.csv`.
fn generate(dir: &Path, count: u32) -> std::path::PathBuf {
    let csv = dir.join("persons.csv");
    let o = eid(&[
        "gen",
        "persons",
        "--count",
        &count.to_string(),
        "--seed",
        "11",
        "--province",
        "62",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    csv
}

/// Replaces the personal ID of data row `row` (1-based) with one of an unknown province.
fn break_row(csv: &Path, row: usize) -> std::path::PathBuf {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let line = &mut lines[row];
    *line = format!("003{}", &line[3..]);
    let bad = csv.with_file_name("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    bad
}

#[test]
fn import_with_json_prints_one_summary_object() {
    let dir = temp_dir("cli-json");
    let csv = generate(&dir, 40);
    let db = format!("sqlite://{}", dir.join("db/eid.db").display());

    let o = eid(&[
        "--db",
        &db,
        "import",
        "persons",
        csv.to_str().unwrap(),
        "--json",
    ]);

    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["rows"], 40);
    assert_eq!(summary["imported"], 40);
    assert_eq!(
        (summary["updated"].as_u64(), summary["unchanged"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        (summary["rejected"].as_u64(), summary["committed"].as_bool()),
        (Some(0), Some(true))
    );
    assert!(summary["report"].is_null());

    let again = eid(&[
        "--db",
        &db,
        "import",
        "persons",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["unchanged"].as_u64()),
        (Some(0), Some(40))
    );
}

#[test]
fn abort_on_a_bad_row_writes_nothing_and_skip_keeps_the_good_rows() {
    let dir = temp_dir("cli-abort");
    let csv = generate(&dir, 20);
    let bad = break_row(&csv, 5);
    let db = crate::helpers::fresh_url(eid_core::testkit::Engine::from_env(), "cli");

    let aborted = eid(&[
        "--db",
        &db,
        "import",
        "persons",
        bad.to_str().unwrap(),
        "--on-error",
        "abort",
        "--json",
    ]);

    assert_eq!(aborted.status.code(), Some(1));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&aborted)).unwrap();
    assert_eq!(
        (summary["committed"].as_bool(), summary["rejected"].as_u64()),
        (Some(false), Some(1))
    );
    let export = eid(&["--db", &db, "export", "persons", "--unit", "62"]);
    assert!(export.status.success());
    assert_eq!(
        stdout(&export).lines().count(),
        1,
        "only the header: nothing was written"
    );

    let report = dir.join("report.csv");
    let skipped = eid(&[
        "--db",
        &db,
        "import",
        "persons",
        bad.to_str().unwrap(),
        "--on-error",
        "skip",
        "--report",
        report.to_str().unwrap(),
    ]);

    assert!(
        skipped.status.success(),
        "{}",
        String::from_utf8_lossy(&skipped.stderr)
    );
    let out = stdout(&skipped);
    assert!(
        out.contains("19 imported") && out.contains("1 rejected"),
        "{out}"
    );
    assert!(
        out.contains(
            "line 6: personal_id: digits 1-3 (003) are not a province code of the GSO list"
        ),
        "{out}"
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(report_text.lines().next(), Some("line,column,reason"));
    assert!(
        report_text
            .contains("6,personal_id,digits 1-3 (003) are not a province code of the GSO list"),
        "{report_text}"
    );
    let export = eid(&["--db", &db, "export", "persons", "--unit", "62"]);
    assert_eq!(stdout(&export).lines().count(), 20);
}

#[test]
fn admin_creates_users_checks_role_units_and_issues_and_revokes_tokens() {
    let db = crate::helpers::fresh_url(eid_core::testkit::Engine::from_env(), "cli");

    let mismatch = eid(&[
        "--db",
        &db,
        "admin",
        "create-user",
        "--username",
        "x",
        "--role",
        "commune",
        "--unit",
        "62",
    ]);
    assert_eq!(mismatch.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mismatch.stderr)
        .contains("role commune needs a commune unit (5 digits)"));

    let created = eid(&[
        "--db",
        &db,
        "admin",
        "create-user",
        "--username",
        "tinh.62",
        "--role",
        "province",
        "--unit",
        "62",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(stdout(&created).contains("password (shown once): "));

    let issued = eid(&[
        "--db",
        &db,
        "admin",
        "issue-token",
        "--username",
        "tinh.62",
        "--name",
        "portal",
    ]);
    assert!(issued.status.success());
    assert_eq!(stdout(&issued).lines().last().unwrap().len(), 64);

    let users = stdout(&eid(&["--db", &db, "admin", "list-users"]));
    assert!(users.contains("tinh.62") && users.contains("province"));
    let tokens = stdout(&eid(&["--db", &db, "admin", "list-tokens"]));
    assert!(tokens.contains("portal"));
    let revoked = eid(&["--db", &db, "admin", "revoke-token", "--id", "1"]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
}

#[test]
fn help_runs_for_the_device_account_and_client_commands() {
    let commands: &[&[&str]] = &[
        &["admin", "device"],
        &["admin", "device", "add"],
        &["admin", "device", "suspend"],
        &["admin", "device", "activate"],
        &["admin", "device", "retire"],
        &["admin", "device", "list"],
        &["admin", "account"],
        &["admin", "account", "lock"],
        &["admin", "account", "unlock"],
        &["client"],
        &["client", "intake"],
        &["client", "register"],
        &["client", "confirm"],
        &["client", "activate"],
        &["client", "signin"],
        &["client", "confirm-device"],
        &["client", "code"],
        &["client", "simulate"],
    ];
    for args in commands {
        let mut with_help = args.to_vec();
        with_help.push("--help");

        let o = eid(&with_help);

        assert!(o.status.success(), "eid {with_help:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage: eid"), "eid {with_help:?}");
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `eid --db DB args…` and returns the output.
fn eid_db(db: &str, args: &[&str]) -> Output {
    let mut all = vec!["--db", db];
    all.extend_from_slice(args);
    eid(&all)
}

#[test]
fn admin_adds_suspends_activates_retires_and_lists_devices() {
    let db = crate::helpers::fresh_url(eid_core::testkit::Engine::from_env(), "cli");

    let bad_unit = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 1",
            "--unit",
            "03",
            "--generate-key",
        ],
    );
    assert_eq!(bad_unit.status.code(), Some(2));
    assert_eq!(stderr(&bad_unit), "eid: unknown unit 03 in the 2024 tree\n");
    let nation = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 1",
            "--unit",
            "VN",
            "--generate-key",
        ],
    );
    assert_eq!(
        stderr(&nation),
        "eid: a device belongs to a province, district or commune, not to VN\n"
    );
    let no_key = eid_db(
        &db,
        &["admin", "device", "add", "--name", "Máy 1", "--unit", "608"],
    );
    assert_eq!(no_key.status.code(), Some(2), "clap refuses it");
    let bad_key = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 1",
            "--unit",
            "608",
            "--public-key",
            "abcd",
        ],
    );
    assert_eq!(
        stderr(&bad_key),
        "eid: --public-key: public key is not valid hex of the right length\n"
    );

    let generated = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 1",
            "--unit",
            "608",
            "--generate-key",
        ],
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    let out = stdout(&generated);
    let lines: Vec<&str> = out.lines().collect();
    // The seed comes first, alone on its line, written before the device was stored.
    assert_eq!(
        lines[1],
        "device 1 added: Máy 1, unit 608 (Thành phố Kon Tum), 250 applications a day"
    );
    assert!(
        lines[0].starts_with("private key seed (shown once"),
        "{out}"
    );
    let seed = lines[0].rsplit(' ').next().unwrap();
    let key = eid_core::intake::signing_key(seed).unwrap();
    assert_eq!(
        lines[2],
        format!("public key {}", eid_core::intake::public_hex(&key))
    );

    let (_, public) = eid_core::intake::new_key();
    let given = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy tỉnh",
            "--unit",
            "62",
            "--public-key",
            &public,
            "--capacity",
            "300",
        ],
    );
    assert!(given.status.success(), "{}", stderr(&given));
    assert!(
        stdout(&given).starts_with(
            "device 2 added: Máy tỉnh, unit 62 (Tỉnh Kon Tum), 300 applications a day\n"
        ),
        "{}",
        stdout(&given)
    );
    assert!(!stdout(&given).contains("private key seed"));
    let same_key = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 3",
            "--unit",
            "62",
            "--public-key",
            &public,
        ],
    );
    assert_eq!(
        stderr(&same_key),
        "eid: another device has this public key\n"
    );
    let zero = eid_db(
        &db,
        &[
            "admin",
            "device",
            "add",
            "--name",
            "Máy 3",
            "--unit",
            "62",
            "--generate-key",
            "--capacity",
            "0",
        ],
    );
    assert_eq!(stderr(&zero), "eid: daily capacity must be 1 to 10,000\n");

    let suspended = eid_db(&db, &["admin", "device", "suspend", "1"]);
    assert!(suspended.status.success(), "{}", stderr(&suspended));
    assert_eq!(
        stdout(&suspended),
        "device 1 (Máy 1) is suspended (was active)\n"
    );
    let activated = eid_db(&db, &["admin", "device", "activate", "1"]);
    assert_eq!(
        stdout(&activated),
        "device 1 (Máy 1) is active (was suspended)\n"
    );
    let retired = eid_db(&db, &["admin", "device", "retire", "2"]);
    assert_eq!(
        stdout(&retired),
        "device 2 (Máy tỉnh) is retired (was active)\n"
    );
    let back = eid_db(&db, &["admin", "device", "activate", "2"]);
    assert_eq!(back.status.code(), Some(2));
    assert_eq!(
        stderr(&back),
        "eid: a retired device cannot be brought back\n"
    );
    let unknown = eid_db(&db, &["admin", "device", "suspend", "99"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(stderr(&unknown), "eid: no device with id 99\n");

    let all = eid_db(&db, &["admin", "device", "list"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let rows: Vec<String> = stdout(&all).lines().map(str::to_owned).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].starts_with("  id  unit    status"), "{rows:?}");
    // By unit code as text, then id.
    assert!(
        rows[1].starts_with("   1  608     active          250  ") && rows[1].ends_with("Máy 1"),
        "{rows:?}"
    );
    assert!(
        rows[2].starts_with("   2  62      retired         300  ") && rows[2].ends_with("Máy tỉnh"),
        "{rows:?}"
    );
    let district = eid_db(&db, &["admin", "device", "list", "--unit", "608"]);
    assert_eq!(stdout(&district).lines().count(), 2);
    assert_eq!(stderr(&district), "1 device\n");
    let bad_list = eid_db(&db, &["admin", "device", "list", "--unit", "03"]);
    assert_eq!(stderr(&bad_list), "eid: unknown unit 03 in the 2024 tree\n");

    // Every change is an audited CLI action and a device event.
    let store = eid_core::open(&db).unwrap();
    let audit = store.audit_log(50).unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.outcome.as_str()))
        .collect();
    assert!(actions.contains(&("device.add", "ok")), "{actions:?}");
    assert!(actions.contains(&("device.add", "denied")), "{actions:?}");
    assert!(actions.contains(&("device.status", "ok")), "{actions:?}");
    assert!(
        actions.contains(&("device.status", "denied")),
        "{actions:?}"
    );
    assert!(audit
        .iter()
        .all(|a| a.actor == eid_core::Actor::Cli("admin".into())));
}

/// The store at `db` (shared with the `eid` processes of a test) with `count` generated people
/// of Kon Tum; returns it and the people who may hold an account.
fn people_store(
    db: &str,
    count: u64,
) -> (std::sync::Arc<dyn eid_core::Store>, Vec<eid_domain::Person>) {
    let store = eid_core::open(db).unwrap();
    store.migrate().unwrap();
    let people = import_people(store.as_ref(), count);
    (store, people)
}

/// Imports `count` generated people of Kon Tum; returns those who may hold an account (alive,
/// 15 or older by birth year, with a phone and a valid card).
fn import_people(store: &dyn eid_core::Store, count: u64) -> Vec<eid_domain::Person> {
    use eid_core::import::{import_generated, ImportOptions, OnError};
    let now = crate::helpers::now();
    let today = now.date();
    let cfg = eid_gen::GenConfig {
        count,
        seed: 11,
        province: Some(eid_domain::UnitCode::parse("62").unwrap()),
        today,
    };
    let people: Vec<eid_domain::Person> = eid_gen::Generator::new(&cfg).unwrap().collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now,
        actor: eid_core::Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, people.clone().into_iter(), &opts).unwrap();
    people
        .into_iter()
        .filter(|p| {
            p.life.state == eid_domain::LifeState::Alive
                && today.year() - p.id.birth_year() >= 15
                && p.phone.is_some()
                && p.card.is_some_and(|c| c.is_valid(p.birth, today))
        })
        .collect()
}

/// The district (2024 tree) of a commune.
fn district_of(commune: &eid_domain::UnitCode) -> eid_domain::UnitCode {
    use eid_domain::{Level, Tree, Units};
    Units::get()
        .ancestors(Tree::Gso2024, commune)
        .into_iter()
        .find(|u| u.level == Level::District)
        .unwrap()
        .code
}

fn staff(
    store: &dyn eid_core::Store,
    username: &str,
    role: eid_core::store::Role,
    unit: eid_domain::UnitCode,
) {
    store
        .create_staff(
            &eid_core::store::NewStaff {
                username: username.into(),
                display_name: username.into(),
                role,
                unit,
                password_hash: "not-a-hash".into(),
            },
            crate::helpers::now(),
        )
        .unwrap();
}

#[test]
fn admin_locks_and_unlocks_an_account_as_an_officer() {
    use eid_core::accounts as acc;
    use eid_core::store::Role;
    let db = crate::helpers::fresh_url(eid_core::testkit::Engine::from_env(), "cli");
    let (store, people) = people_store(&db, 400);
    let holder = &people[0];
    let without_account = &people[1];
    let now = crate::helpers::now();
    // A level-1 account for the holder, through the account rules.
    let s = acc::Settings::default();
    let phone = holder.phone.clone().unwrap();
    let photo = eid::verifier::dev_portrait(holder.id.as_str());
    let handle = acc::register(
        store.as_ref(),
        &s,
        &acc::Registration {
            personal_id: &holder.id,
            phone: &phone,
            photo: &photo,
            photo_hash: eid::verifier::sha256(&photo),
            verifier: "dev-hash",
            score: 1.0,
            matched: true,
            device_hash: vec![1; 32],
        },
        now,
    )
    .unwrap();
    let sms = acc::sms_list(store.as_ref(), 1).unwrap();
    let code = eid::client::code_in(&sms[0].body).unwrap();
    acc::confirm_registration(
        store.as_ref(),
        &s,
        &handle,
        &code,
        "pw-hash",
        "pc-hash",
        now,
    )
    .unwrap();
    let district = district_of(&holder.residence.unit);
    staff(store.as_ref(), "huyen.local", Role::District, district);
    let elsewhere = eid_domain::Units::get()
        .children(
            eid_domain::Tree::Gso2024,
            &eid_domain::UnitCode::parse("62").unwrap(),
        )
        .into_iter()
        .find(|u| u.code != district)
        .unwrap()
        .code;
    staff(store.as_ref(), "huyen.other", Role::District, elsewhere);
    staff(
        store.as_ref(),
        "kiemtra",
        Role::Auditor,
        eid_domain::UnitCode::NATION,
    );
    let id = holder.id.as_str();
    let lock = |args: &[&str]| {
        let mut all = vec!["admin", "account"];
        all.extend_from_slice(args);
        eid_db(&db, &all)
    };

    let malformed = lock(&["lock", "12345", "--reason", "x", "--as", "huyen.local"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert_eq!(
        stderr(&malformed),
        "eid: personal ID \"12345\": must have 12 digits, has 5 characters\n"
    );
    let unknown = lock(&[
        "lock",
        without_account.id.as_str(),
        "--reason",
        "x",
        "--as",
        "huyen.local",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        stderr(&unknown),
        format!(
            "eid: no account for personal ID {}\n",
            without_account.id.as_str()
        )
    );
    let nobody = lock(&["lock", id, "--reason", "x", "--as", "nobody"]);
    assert_eq!(stderr(&nobody), "eid: no staff user named \"nobody\"\n");
    let auditor = lock(&["lock", id, "--reason", "x", "--as", "kiemtra"]);
    assert_eq!(
        stderr(&auditor),
        "eid: kiemtra is an auditor: auditors do not lock or unlock accounts\n"
    );
    let outside = lock(&["lock", id, "--reason", "x", "--as", "huyen.other"]);
    assert_eq!(
        stderr(&outside),
        "eid: the officer may not act for this unit\n"
    );
    let no_reason = lock(&["lock", id, "--reason", "  ", "--as", "huyen.local"]);
    assert_eq!(
        stderr(&no_reason),
        "eid: a lock or unlock needs a reason of 1 to 500 characters\n"
    );
    let missing_as = lock(&["lock", id, "--reason", "x"]);
    assert_eq!(missing_as.status.code(), Some(2), "--as is required");

    let locked = lock(&[
        "lock",
        id,
        "--reason",
        "gọi tổng đài báo mất điện thoại",
        "--as",
        "huyen.local",
    ]);
    assert!(locked.status.success(), "{}", stderr(&locked));
    assert_eq!(
        stdout(&locked),
        format!("account of {id} locked by huyen.local; it is now locked (locks: officer)\n")
    );
    let again = lock(&["lock", id, "--reason", "x", "--as", "huyen.local"]);
    assert_eq!(stderr(&again), "eid: the officer's lock is already on\n");
    let a = acc::account_of(store.as_ref(), &holder.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        a.officer_lock.as_deref(),
        Some("gọi tổng đài báo mất điện thoại")
    );

    let unlocked = lock(&[
        "unlock",
        id,
        "--reason",
        "công dân đến trụ sở xác minh",
        "--as",
        "huyen.local",
    ]);
    assert!(unlocked.status.success(), "{}", stderr(&unlocked));
    assert_eq!(
        stdout(&unlocked),
        format!("account of {id} unlocked by huyen.local; it is now active\n")
    );
    let events: Vec<String> = acc::events(store.as_ref(), &holder.id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        events.ends_with(&["locked_by_officer".into(), "unlocked_by_officer".into()]),
        "{events:?}"
    );
    let audit = store.audit_log(50).unwrap();
    let mine: Vec<(String, String, String)> = audit
        .iter()
        .filter(|a| a.action.starts_with("account."))
        .map(|a| (a.action.clone(), a.outcome.clone(), a.actor.to_db()))
        .collect();
    assert!(mine.contains(&(
        "account.lock".into(),
        "ok".into(),
        "cli:admin:huyen.local".into()
    )));
    assert!(mine.contains(&(
        "account.lock".into(),
        "denied".into(),
        "cli:admin:huyen.other".into()
    )));
    assert!(mine.contains(&(
        "account.lock".into(),
        "failed".into(),
        "cli:admin:huyen.local".into()
    )));
    assert!(mine.contains(&(
        "account.unlock".into(),
        "ok".into(),
        "cli:admin:huyen.local".into()
    )));
}

#[test]
fn the_client_plays_an_intake_device_and_a_citizen_end_to_end() {
    use eid::client::{Applicant, Client, IntakeDevice, SignedIn};
    use eid_core::accounts as acc;
    use eid_core::store::Role;
    let store = crate::helpers::fresh_store("cli-client-e2e");
    let people = import_people(store.as_ref(), 600);
    let p = people[0].clone();
    let district = district_of(&p.residence.unit);
    let officer =
        crate::helpers::create_user(store.as_ref(), "thunhan.e2e", Role::District, district);
    // The development outbox is read at ministry level.
    let bo = crate::helpers::create_user(
        store.as_ref(),
        "bo.e2e",
        Role::Ministry,
        eid_domain::UnitCode::NATION,
    );
    let (seed, public) = eid_core::intake::new_key();
    let device = acc::add_device(
        store.as_ref(),
        "Máy thu nhận e2e",
        &district,
        &eid_core::intake::parse_public_key(&public).unwrap(),
        250,
        &eid_core::Actor::Cli("test".into()),
        crate::helpers::now(),
    )
    .unwrap();
    let base = crate::helpers::spawn(std::sync::Arc::clone(&store));
    let client = Client::new(&base);
    let device = IntakeDevice {
        id: device.id,
        seed_hex: seed,
        officer: officer.username.clone(),
    };
    let id = p.id.as_str();
    let phone = p.phone.as_ref().unwrap().as_str();

    // The device collects a signed application: approved at once, a code goes by SMS.
    let applicant = Applicant::matching(id, phone);
    let (packet, signature) = device
        .sign(&applicant, eid::client::random_nonce())
        .unwrap();
    let intake = client.intake_signed(&packet, &signature).unwrap();
    assert_eq!(intake.state, "code_sent");
    assert_eq!(intake.review_reason, None);
    let replay = client.intake_signed(&packet, &signature).unwrap_err();
    assert_eq!(
        (replay.status, replay.code.as_str()),
        (Some(409), "packet.replayed")
    );

    // The citizen reads the code (here: from the development outbox) and activates.
    let (_, code) = client
        .latest_code(&bo.token, phone, "activate", 0)
        .unwrap()
        .expect("an activation code in the outbox");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = client
        .activate(id, wrong, "Mật-khẩu-e2e-2023", "135790", "e2e-phone-0001")
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (Some(401), "code.invalid")
    );
    let account = client
        .activate(id, &code, "Mật-khẩu-e2e-2023", "135790", "e2e-phone-0001")
        .unwrap();
    assert_eq!(account["level"], 2);
    assert_eq!(account["state"], "active");

    // Sign-in from the bound device gives a session; the account answers to it.
    let SignedIn::Session { token, .. } = client
        .signin(id, "Mật-khẩu-e2e-2023", "e2e-phone-0001")
        .unwrap()
    else {
        panic!("the device the account was activated on is bound");
    };
    let mine = client.my_account(&token).unwrap();
    assert_eq!(mine["personal_id"], id);
    assert_eq!(mine["level"], 2);
    let bad = client
        .signin(id, "wrong-password-X1", "e2e-phone-0001")
        .unwrap_err();
    assert_eq!(
        (bad.status, bad.code.as_str()),
        (Some(401), "auth.bad_credentials")
    );

    // A new device needs the code sent to the bound phone.
    let SignedIn::DeviceCheck { handle } = client
        .signin(id, "Mật-khẩu-e2e-2023", "e2e-phone-0002")
        .unwrap()
    else {
        panic!("a new device is checked");
    };
    let (_, code) = client
        .latest_code(&bo.token, phone, "device", 0)
        .unwrap()
        .unwrap();
    assert!(matches!(
        client.confirm_device(&handle, &code).unwrap(),
        SignedIn::Session { .. }
    ));

    // The simulation: a few more applications with activations and level-1 registrations.
    let sim = eid::client::Simulation {
        token: bo.token.clone(),
        device: device.clone(),
        count: 6,
        activate_rate: 1.0,
        level1_rate: 0.5,
        no_match_rate: 0.0,
        password: "Mật-khẩu-e2e-2023".into(),
        passcode: "135790".into(),
        ids: None,
        seed: 4,
    };
    let report = eid::client::simulate(&client, &sim, &mut |_| {}).unwrap();
    assert_eq!(report.sent, 6, "{report}");
    // Refusals (none expected here) would be counted, not fatal.
    assert!(report.collected >= 5, "{report}");
    assert!(report.activated >= 4, "{report}");
    assert_eq!(report.signed_in, report.activated, "{report}");
    assert_eq!(report.level1_started, 3, "{report}");
    assert!(report.level1_confirmed >= 2, "{report}");
    let range = eid_core::store::path_range(&district).unwrap();
    let day = acc::day_of(crate::helpers::now());
    assert_eq!(
        acc::count(
            store.as_ref(),
            acc::metric::LEVEL2_ACTIVATED,
            range,
            day,
            day
        )
        .unwrap(),
        1 + report.activated as i64
    );
}

#[test]
fn the_demo_history_writes_daily_counts_through_the_account_rules() {
    use eid_core::accounts as acc;
    let store = crate::helpers::fresh_store("cli-demo-history");
    import_people(store.as_ref(), 3000);
    let province = eid_domain::UnitCode::parse("62").unwrap();
    let now = crate::helpers::now();
    let options = eid::demo::HistoryOptions {
        province,
        days: 21,
        applications: 150,
        seed: 5,
        now,
        settings: acc::Settings::default(),
        keep_sms_text: true,
    };

    let report = eid::demo::fill_demo_history(store.as_ref(), &options)
        .unwrap()
        .expect("a first fill");

    assert_eq!(report.days.len(), 21);
    let today = now.to_offset(eid::state::vietnam()).date();
    assert_eq!(report.days.last().unwrap().date, today);
    let collected = report.total(|d| d.collected);
    let level1 = report.total(|d| d.level1);
    let level2 = report.total(|d| d.level2);
    assert_eq!(collected, report.collected as i64);
    assert!(collected > 100 && collected <= 150, "{collected}");
    assert_eq!(level1, report.level1_confirmed as i64);
    assert_eq!(level2, (report.activated + report.upgraded) as i64);
    assert!(level1 > 0 && level2 > 0, "{level1} {level2}");
    assert!(
        level2 * 100 >= collected * 35 && level2 * 100 <= collected * 80,
        "{level2} of {collected}"
    );
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    // The roll-up holds the same counts as the report, for the province and the whole nation.
    let first = acc::day_number(report.days[0].date);
    let last = acc::day_number(today);
    let range = eid_core::store::path_range(&province).unwrap();
    assert_eq!(
        acc::count(
            store.as_ref(),
            acc::metric::APPLICATIONS_COLLECTED,
            range,
            first,
            last
        )
        .unwrap(),
        collected
    );
    // A campaign ramps up: the last week collects more than the first.
    let week = |days: &[eid::demo::DayFigures]| days.iter().map(|d| d.collected).sum::<i64>();
    assert!(
        week(&report.days[14..]) > week(&report.days[..7]),
        "{:?}",
        report.days
    );
    // Devices per district with realistic capacities, none used beyond its capacity.
    let devices = acc::devices(store.as_ref(), &province).unwrap();
    assert!(devices.len() >= 2, "{devices:?}");
    assert!(devices
        .iter()
        .all(|d| (200..=300).contains(&d.daily_capacity)));
    assert_eq!(
        devices
            .iter()
            .filter(|d| d.status.as_str() == "suspended")
            .count(),
        1
    );
    for (device, _, n) in acc::device_use(store.as_ref(), first, last).unwrap() {
        let d = devices.iter().find(|d| d.id == device).unwrap();
        assert!(n <= i64::from(d.daily_capacity));
    }
    // Activation codes still open are those of the last week.
    assert!(report.codes_sent >= report.activated);
    // The operations over that history: three province quotas split down to every commune,
    // the peak campaign, and weekly reports from every district with some missing.
    let quotas = eid_core::ops::quotas(store.as_ref(), &province, false).unwrap();
    assert_eq!(quotas.len(), 3, "{quotas:?}");
    let communes = eid_domain::Units::get().communes_under(eid_domain::Tree::Gso2024, &province);
    let ranked = eid_core::ops::rank_communes(
        store.as_ref(),
        &province,
        acc::metric::LEVEL2_ACTIVATED,
        today,
    )
    .unwrap();
    assert_eq!(ranked.len(), communes.len());
    let campaigns = eid_core::ops::campaigns(store.as_ref(), &province).unwrap();
    assert_eq!(campaigns.len(), 1);
    assert!(
        campaigns[0].start <= today && today <= campaigns[0].end,
        "in progress"
    );
    let reports = eid_core::ops::report_status(store.as_ref(), &province, today).unwrap();
    let districts = eid_domain::Units::get()
        .children(eid_domain::Tree::Gso2024, &province)
        .len();
    assert_eq!(reports.len(), districts);
    assert!(reports.iter().any(|r| r.completeness.missing > 0));
    assert!(reports.iter().any(|r| r.completeness.on_time > 0));
    // The ministry's national view ranks the demo province on each of its three metrics, in
    // both trees, among every other province, whose figures the demo brings in as reported
    // figures (issue 11): 63 provinces in the 2024 tree, 34 in the 2025 one.
    for (tree, provinces) in [
        (eid_domain::Tree::Gso2024, 63),
        (eid_domain::Tree::Gso2025, 34),
    ] {
        let national = eid_core::ops::national(store.as_ref(), tree, today).unwrap();
        assert_eq!(national.metrics.len(), 3, "{tree}");
        assert!(national
            .metrics
            .iter()
            .all(|m| m.rows.len() == provinces && m.rows.iter().all(|r| r.done > 0)));
        let mine = eid_domain::Units::get()
            .unit(tree, &province)
            .map(|u| u.code)
            .or_else(|| {
                eid_domain::Units::get()
                    .province_2025_for_2024(&province)
                    .map(|u| u.code)
            })
            .unwrap();
        assert!(national
            .metrics
            .iter()
            .all(|m| m.rows.iter().any(|r| r.unit == mine && r.done > 0)));
    }
    // Filled once: a second call leaves the province as it is.
    assert!(eid::demo::fill_demo_history(store.as_ref(), &options)
        .unwrap()
        .is_none());
}
