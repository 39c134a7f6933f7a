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
    let db = format!("sqlite://{}", dir.join("eid.db").display());

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
    let dir = temp_dir("cli-admin");
    let db = format!("sqlite://{}", dir.join("eid.db").display());

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
