//! The dependency rules of ARCHITECTURE.md, checked with `cargo tree` and by reading the sources:
//! - the domain does no IO and knows no wire format;
//! - only the store crate depends on `rusqlite` or `postgres`, and only it and the core write SQL
//!   (the core through `eid_store::sql`);
//! - the core knows no HTTP, HTML or command line;
//! - the web crate knows no SQL and no database driver;
//! - the generator depends on the domain alone, and the development tools not on the web crate
//!   (so a console edit rebuilds neither, and they compile side by side).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's crates.
const CRATES: [&str; 7] = [
    "eid-domain",
    "eid-store",
    "eid-core",
    "eid-gen",
    "eid-web",
    "eid-devtools",
    "eid",
];

/// The packages in the normal (non-dev, non-build) dependency tree of `package`, down to
/// `depth` (`None`: all of it).
fn tree(package: &str, depth: Option<u32>) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec![
        "tree".to_owned(),
        "--offline".to_owned(),
        "-p".to_owned(),
        package.to_owned(),
        "-e".to_owned(),
        "normal".to_owned(),
        "--prefix".to_owned(),
        "none".to_owned(),
        "--format".to_owned(),
        "{p}".to_owned(),
    ];
    if let Some(d) = depth {
        args.push("--depth".to_owned());
        args.push(d.to_string());
    }
    let out = Command::new(cargo)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The direct normal dependencies of `package` (without itself).
fn direct(package: &str) -> BTreeSet<String> {
    let mut d = tree(package, Some(1));
    d.remove(package);
    d
}

fn assert_none(package: &str, deps: &BTreeSet<String>, banned: &[&str]) {
    for b in banned {
        assert!(
            !deps.contains(*b),
            "{package} must not depend on {b}: {deps:?}"
        );
    }
}

#[test]
fn the_domain_crate_depends_on_no_io_serialisation_or_framework() {
    let deps = tree("eid-domain", None);
    assert!(
        deps.contains("time") && deps.contains("unicode-normalization"),
        "{deps:?}"
    );
    assert_none(
        "eid-domain",
        &deps,
        &[
            "eid-store",
            "eid-core",
            "tokio",
            "rusqlite",
            "postgres",
            "serde",
            "serde_json",
            "csv",
            "axum",
            "rand",
            "getrandom",
        ],
    );
}

#[test]
fn only_the_store_crate_depends_on_a_database_driver() {
    for krate in CRATES {
        let deps = direct(krate);
        let drivers = deps.contains("rusqlite") || deps.contains("postgres");
        assert_eq!(
            drivers,
            krate == "eid-store",
            "{krate}: direct dependencies {deps:?}"
        );
    }
}

/// (The synchronous `postgres` client runs `tokio` inside, so `tokio` itself is no sign of HTTP.)
#[test]
fn the_core_crate_knows_no_http_html_or_command_line() {
    let deps = tree("eid-core", None);
    assert!(
        deps.contains("eid-domain") && deps.contains("eid-store"),
        "{deps:?}"
    );
    assert_none(
        "eid-core",
        &deps,
        &[
            "eid",
            "eid-web",
            "eid-devtools",
            "eid-gen",
            "axum",
            "hyper",
            "askama",
            "clap",
            "indicatif",
            "ureq",
            "tracing-subscriber",
            "tower-http",
        ],
    );
}

#[test]
fn the_generator_needs_only_the_domain_and_the_tools_not_the_web() {
    let gen = direct("eid-gen");
    assert_eq!(
        gen,
        ["eid-domain", "time"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "eid-gen's direct dependencies"
    );
    let tools = tree("eid-devtools", None);
    assert_none(
        "eid-devtools",
        &tools,
        &["eid-web", "eid", "axum", "hyper", "askama"],
    );
    let web = tree("eid-web", None);
    assert_none("eid-web", &web, &["eid-devtools", "eid-gen", "eid", "clap"]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn sql_is_written_only_in_the_store_and_the_core() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut read = 0;
    for dir in [
        "eid-domain/src",
        "eid-gen/src",
        "eid-web/src",
        "eid-devtools/src",
        "eid/src",
    ] {
        for entry in walk(&root.join(dir)) {
            read += 1;
            let text = std::fs::read_to_string(&entry).unwrap();
            for needle in [
                "SELECT ",
                "INSERT INTO",
                "UPDATE ",
                "DELETE FROM",
                "CREATE TABLE",
            ] {
                assert!(
                    !text.contains(needle),
                    "{} contains SQL ({needle})",
                    entry.display()
                );
            }
        }
    }
    assert!(read > 20, "only {read} source files read");
}

/// No source file grows past ~1,200 lines: a file that does is a slice asking to be split.
#[test]
fn no_source_file_is_longer_than_1200_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut read = 0;
    let mut long = Vec::new();
    for krate in CRATES {
        for sub in ["src", "tests", "benches"] {
            let dir = root.join(krate).join(sub);
            if !dir.is_dir() {
                continue;
            }
            for entry in walk(&dir) {
                read += 1;
                let lines = std::fs::read_to_string(&entry).unwrap().lines().count();
                if lines > 1200 {
                    long.push(format!("{} ({lines} lines)", entry.display()));
                }
            }
        }
    }
    assert!(read > 100, "only {read} source files read");
    assert!(long.is_empty(), "split these: {long:?}");
}
