//! The dependency rule of ARCHITECTURE.md, checked with `cargo tree`: the domain crate does no
//! IO and knows no wire format; the core crate knows no HTTP, HTML or command line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

/// Every package in the normal (non-dev, non-build) dependency tree of `package`.
fn tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
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

#[test]
fn the_domain_crate_depends_on_no_io_serialisation_or_framework() {
    let deps = tree("eid-domain");
    assert!(
        deps.contains("time") && deps.contains("unicode-normalization"),
        "{deps:?}"
    );
    for banned in [
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
    ] {
        assert!(
            !deps.contains(banned),
            "eid-domain must not depend on {banned}: {deps:?}"
        );
    }
}

#[test]
fn the_core_crate_knows_no_http_html_or_command_line() {
    let deps = tree("eid-core");
    assert!(
        deps.contains("eid-domain") && deps.contains("rusqlite") && deps.contains("postgres"),
        "{deps:?}"
    );
    for banned in [
        "eid",
        "axum",
        "hyper",
        "askama",
        "clap",
        "indicatif",
        "tracing-subscriber",
        "tower-http",
    ] {
        assert!(
            !deps.contains(banned),
            "eid-core must not depend on {banned}"
        );
    }
}

#[test]
fn only_the_core_crate_contains_sql() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["eid-domain/src", "eid/src"] {
        for entry in walk(&root.join(dir)) {
            let text = std::fs::read_to_string(&entry).unwrap();
            for needle in ["SELECT ", "INSERT INTO", "CREATE TABLE"] {
                assert!(
                    !text.contains(needle),
                    "{} contains SQL ({needle})",
                    entry.display()
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
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
