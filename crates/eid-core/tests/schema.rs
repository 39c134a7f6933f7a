//! The two engines' schemas, compared after migrating a fresh database of each.
//!
//! Each catalogue is read into the same list of facts, one line each, and the two lists must
//! be equal:
//!
//! ```text
//! table staff
//! column staff.disabled integer not null
//! primary key staff (id)
//! unique staff (username)
//! foreign key session (staff_id) -> staff (id)
//! check device device_daily_capacity_check
//! index person_name on person (name_folded, birth_year)
//! ```
//!
//! SQLite is read from `sqlite_master` and `pragma table_info / index_list / index_info /
//! foreign_key_list`, over both of its files (the audit trail has one of its own; its
//! `schema_migrations` is that file's bookkeeping and left out). PostgreSQL is read from
//! `information_schema` and `pg_constraint` / `pg_index` in the test's schema.
//!
//! How the engines' differences are normalised, and nothing else is:
//! - **Types** become the four column kinds of `src/sql.rs`. integer: SQLite's INTEGER
//!   affinity; PostgreSQL `smallint`, `integer`, `bigint` and `boolean` (the SQL layer reads a
//!   boolean as 0/1). text: SQLite's TEXT affinity; PostgreSQL `text`, `character varying` and
//!   `jsonb` (stored JSON that the engine reads back as text). blob: `BLOB` / `bytea`. real:
//!   SQLite's REAL affinity / `double precision`, `real`. Any other type fails the test: a new
//!   type must be given a kind on purpose.
//! - **Nullability**: a primary-key column counts as NOT NULL on SQLite, as PostgreSQL makes
//!   it. (An `INTEGER PRIMARY KEY` is the rowid and cannot be NULL; SQLite's documented quirk
//!   of accepting NULL in other primary-key columns of rowid tables is not reproduced here —
//!   every such key is a hash or a name the code computes, never NULL.)
//! - **Unique constraints** are compared by their columns: SQLite names them
//!   `sqlite_autoindex_…`, PostgreSQL `…_key`. Indexes created with `CREATE INDEX` are compared
//!   by name, columns, uniqueness and whether they are partial.
//! - **Checks** are compared by name: PostgreSQL names a column's check `{table}_{column}_check`;
//!   SQLite keeps no name, so the same name is derived from the `CREATE TABLE` text for every
//!   column definition that has a `CHECK` (a named `CONSTRAINT x CHECK` keeps its name).
//!   Their expressions are not compared (PostgreSQL rewrites them).
//! - **Partitioned tables** (PostgreSQL only, migrations 31–34): a partitioned table is
//!   compared as the one table it stands for; its partitions (`relispartition`) and their
//!   indexes and constraints are left out, and its partition key's columns are taken out of its
//!   primary key and unique constraints (PostgreSQL requires them there: `person (personal_id,
//!   res_path)` is SQLite's `person (personal_id)`, `account`'s unique `(personal_id,
//!   res_path)` SQLite's unique `(personal_id)`). Tables that only route and guard a
//!   partitioned table on PostgreSQL (`ROUTING_TABLES`: `person_key`, which keeps `person`'s
//!   IDs unique across its partitions, `audit_key`, which does the same for the trail's `seq`,
//!   and `account_key`, for `account`'s ids and personal IDs) are left out, and a foreign key
//!   that points at one of them is compared as pointing at the table it stands for (the
//!   sessions' `account_id` references `account_key (id)` on PostgreSQL, `account (id)` on
//!   SQLite).
//! - Triggers, defaults and collations are not compared.
//!
//! The PostgreSQL half needs `EID_TEST_DATABASE_URL` (`scripts/test` sets it). Without it the
//! SQLite half still runs (every column has a kind, the facts are read), and the test says on
//! stderr that the comparison did not run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use eid_core::pg::PgStore;
use eid_core::sqlite::{audit_path, SqliteStore};
use eid_core::store::Store;

fn unique(prefix: &str) -> String {
    let salt = &eid_core::secret::random_token()[..12];
    format!("{prefix}_{}_{salt}", std::process::id())
}

/// The kind of a SQLite declared type, by SQLite's affinity rules.
fn sqlite_kind(declared: &str) -> Result<&'static str, String> {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Ok("integer")
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Ok("text")
    } else if t.contains("BLOB") {
        Ok("blob")
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Ok("real")
    } else {
        Err(format!("SQLite type {declared:?} has no column kind"))
    }
}

fn pg_kind(data_type: &str) -> Result<&'static str, String> {
    match data_type {
        "smallint" | "integer" | "bigint" | "boolean" => Ok("integer"),
        "text" | "character varying" | "jsonb" => Ok("text"),
        "bytea" => Ok("blob"),
        "double precision" | "real" => Ok("real"),
        other => Err(format!("PostgreSQL type {other:?} has no column kind")),
    }
}

/// The top-level comma-separated items between the outer parentheses of a `CREATE TABLE`.
fn table_items(sql: &str) -> Vec<String> {
    // Drop `-- comments` first: they may hold commas and parentheses.
    let sql: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let Some(open) = sql.find('(') else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut depth = 0;
    let mut quoted = false;
    let mut cur = String::new();
    for ch in sql[open + 1..].chars() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth == 0 => break,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    items.push(cur);
    items
        .into_iter()
        .map(|i| i.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|i| !i.is_empty())
        .collect()
}

/// The check constraints' names of a SQLite table, derived as PostgreSQL names them.
fn sqlite_checks(table: &str, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for item in table_items(sql) {
        let words: Vec<&str> = item.split(' ').collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let Some(at) = upper
            .iter()
            .position(|w| w == "CHECK" || w.starts_with("CHECK("))
        else {
            continue;
        };
        if at >= 2 && upper[at - 2] == "CONSTRAINT" {
            out.push(words[at - 1].trim_matches('"').to_owned());
        } else if matches!(
            upper[0].as_str(),
            "CHECK" | "PRIMARY" | "UNIQUE" | "FOREIGN"
        ) || upper[0].starts_with("CHECK(")
        {
            out.push(format!("{table}_check"));
        } else {
            out.push(format!("{table}_{}_check", words[0].trim_matches('"')));
        }
    }
    out
}

fn add_sqlite_facts(
    conn: &rusqlite::Connection,
    skip: &[&str],
    facts: &mut BTreeSet<String>,
) -> Result<(), String> {
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(n, _): &(String, String)| !skip.contains(&n.as_str()))
        .collect();
    for (table, sql) in tables {
        facts.insert(format!("table {table}"));
        let cols: Vec<(String, String, bool, i64)> = conn
            .prepare(&format!("PRAGMA table_info(\"{table}\")"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (name, declared, not_null, pk_pos) in &cols {
            let kind = sqlite_kind(declared).map_err(|e| format!("{table}.{name}: {e}"))?;
            let null = if *not_null || *pk_pos > 0 {
                "not null"
            } else {
                "null"
            };
            facts.insert(format!("column {table}.{name} {kind} {null}"));
            if *pk_pos > 0 {
                pk.push((*pk_pos, name.clone()));
            }
        }
        pk.sort();
        if !pk.is_empty() {
            let names: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
            facts.insert(format!("primary key {table} ({})", names.join(", ")));
        }
        let indexes: Vec<(String, bool, String, bool)> = conn
            .prepare(&format!("PRAGMA index_list(\"{table}\")"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (name, is_unique, origin, partial) in indexes {
            let cols: Vec<String> = conn
                .prepare(&format!("PRAGMA index_info(\"{name}\")"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(2))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let cols = cols.join(", ");
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    facts.insert(format!("unique {table} ({cols})"));
                }
                _ => {
                    facts.insert(index_fact(&name, &table, &cols, is_unique, partial));
                }
            }
        }
        let mut fks: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        let rows: Vec<(i64, String, String, Option<String>)> = conn
            .prepare(&format!("PRAGMA foreign_key_list(\"{table}\")"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, to_table, from, to) in rows {
            let e = fks.entry(id).or_insert((to_table, Vec::new(), Vec::new()));
            e.1.push(from);
            e.2.push(to.unwrap_or_else(|| "(its primary key)".into()));
        }
        for (to_table, from, to) in fks.into_values() {
            facts.insert(format!(
                "foreign key {table} ({}) -> {to_table} ({})",
                from.join(", "),
                to.join(", ")
            ));
        }
        for name in sqlite_checks(&table, &sql) {
            facts.insert(format!("check {table} {name}"));
        }
    }
    Ok(())
}

fn index_fact(name: &str, table: &str, cols: &str, unique: bool, partial: bool) -> String {
    format!(
        "index {name} on {table} ({cols}){}{}",
        if unique { " unique" } else { "" },
        if partial { " partial" } else { "" }
    )
}

fn sqlite_facts() -> Result<BTreeSet<String>, String> {
    let dir = std::env::temp_dir().join(unique("eid-schema"));
    let path = dir.join("eid.db");
    let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
    store.migrate().unwrap();
    drop(store);
    let mut facts = BTreeSet::new();
    add_sqlite_facts(&rusqlite::Connection::open(&path).unwrap(), &[], &mut facts)?;
    add_sqlite_facts(
        &rusqlite::Connection::open(audit_path(&path)).unwrap(),
        &["schema_migrations"],
        &mut facts,
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(facts)
}

/// PostgreSQL-only tables that route and guard a partitioned table (see the module's doc),
/// with the table each stands for.
const ROUTING_TABLES: &[(&str, &str)] = &[
    ("person_key", "person"),
    ("audit_key", "audit"),
    ("account_key", "account"),
];

fn pg_facts(url: &str) -> Result<BTreeSet<String>, String> {
    let schema = unique("schema");
    let store = PgStore::connect(url, Some(&schema)).unwrap();
    store.migrate().unwrap();
    drop(store);
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut left_out: BTreeSet<String> = ROUTING_TABLES
        .iter()
        .map(|(t, _)| (*t).to_owned())
        .collect();
    for r in c
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relispartition",
            &[&schema],
        )
        .unwrap()
    {
        left_out.insert(r.get(0));
    }
    // Each partitioned table's partition key columns.
    let mut partition_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT c.relname::text, a.attname::text FROM pg_partitioned_table pt \
             JOIN pg_class c ON c.oid = pt.partrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(pt.partattrs::int2[]) \
             WHERE n.nspname = $1",
            &[&schema],
        )
        .unwrap()
    {
        partition_keys.entry(r.get(0)).or_default().push(r.get(1));
    }
    let mut facts = BTreeSet::new();
    for r in c
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            &[&schema],
        )
        .unwrap()
    {
        let table: String = r.get(0);
        if !left_out.contains(&table) {
            facts.insert(format!("table {table}"));
        }
    }
    for r in c
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns WHERE table_schema = $1",
            &[&schema],
        )
        .unwrap()
    {
        let (table, col, ty, nullable): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if left_out.contains(&table) {
            continue;
        }
        let kind = pg_kind(&ty).map_err(|e| format!("{table}.{col}: {e}"))?;
        let null = if nullable == "YES" {
            "null"
        } else {
            "not null"
        };
        facts.insert(format!("column {table}.{col} {kind} {null}"));
    }
    // Constraints, their columns in key order.
    let cols = "(SELECT string_agg(a.attname, ', ' ORDER BY k.n) \
                 FROM unnest({keys}) WITH ORDINALITY k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum)";
    let sql = format!(
        "SELECT con.contype::text, t.relname::text, con.conname::text, {}, \
                coalesce(f.relname::text, ''), coalesce({}, '') \
         FROM pg_constraint con \
         JOIN pg_class t ON t.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_class f ON f.oid = con.confrelid \
         WHERE n.nspname = $1",
        cols.replace("{keys}", "con.conkey")
            .replace("{rel}", "con.conrelid"),
        cols.replace("{keys}", "con.confkey")
            .replace("{rel}", "con.confrelid"),
    );
    for r in c.query(sql.as_str(), &[&schema]).unwrap() {
        let (kind, table, name, cols, to_table, to_cols): (
            String,
            String,
            String,
            Option<String>,
            String,
            String,
        ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
        if left_out.contains(&table) {
            continue;
        }
        let mut cols = cols.unwrap_or_default();
        let to_table = ROUTING_TABLES
            .iter()
            .find(|(key, _)| *key == to_table)
            .map_or(to_table.clone(), |(_, stands_for)| (*stands_for).to_owned());
        if let (Some(key), "p" | "u") = (partition_keys.get(&table), kind.as_str()) {
            cols = cols
                .split(", ")
                .filter(|c| !key.iter().any(|k| k == c))
                .collect::<Vec<_>>()
                .join(", ");
        }
        let fact = match kind.as_str() {
            "p" => format!("primary key {table} ({cols})"),
            "u" => format!("unique {table} ({cols})"),
            "f" => format!("foreign key {table} ({cols}) -> {to_table} ({to_cols})"),
            "c" => format!("check {table} {name}"),
            other => format!("constraint {table} {name} of kind {other}"),
        };
        facts.insert(fact);
    }
    // Indexes that are not there for a constraint.
    for r in c
        .query(
            "SELECT i.relname::text, t.relname::text, \
                    (SELECT string_agg(a.attname, ', ' ORDER BY k.n) \
                     FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, n) \
                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum), \
                    x.indisunique, x.indpred IS NOT NULL \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = $1 \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)",
            &[&schema],
        )
        .unwrap()
    {
        let (name, table, cols, is_unique, partial): (String, String, Option<String>, bool, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if left_out.contains(&table) {
            continue;
        }
        facts.insert(index_fact(
            &name,
            &table,
            &cols.unwrap_or_default(),
            is_unique,
            partial,
        ));
    }
    c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
    Ok(facts)
}

/// The facts only one side has, as a readable report (empty when the sides agree).
fn diff(sqlite: &BTreeSet<String>, pg: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for (side, only) in [
        ("only in SQLite", sqlite.difference(pg).collect::<Vec<_>>()),
        (
            "only in PostgreSQL",
            pg.difference(sqlite).collect::<Vec<_>>(),
        ),
    ] {
        if !only.is_empty() {
            out.push_str(&format!("{side}:\n"));
            for f in only {
                out.push_str(&format!("  {f}\n"));
            }
        }
    }
    out
}

#[test]
fn both_engines_migrate_to_the_same_schema() {
    let sqlite = sqlite_facts().unwrap_or_else(|e| panic!("{e}"));
    // The SQLite half stands on its own: the catalogue was read and says what it should.
    for fact in [
        "table audit",
        "column staff.disabled integer not null",
        "column session.token_hash blob not null",
        "unique staff (username)",
        "foreign key session (staff_id) -> staff (id)",
        "check person_event person_event_kind_check",
    ] {
        assert!(sqlite.contains(fact), "SQLite lacks {fact:?}");
    }
    let Some(url) = eid_core::testkit::postgres_url() else {
        return; // EID_SKIP_POSTGRES=1, said on stderr
    };
    let pg = pg_facts(&url).unwrap_or_else(|e| panic!("{e}"));
    let report = diff(&sqlite, &pg);
    assert!(
        report.is_empty(),
        "the engines' schemas differ after migration ({} facts in SQLite, {} in PostgreSQL):\n{report}",
        sqlite.len(),
        pg.len()
    );
}

#[test]
fn the_diff_names_what_only_one_side_has() {
    let a: BTreeSet<String> = ["table t", "column t.a integer not null"]
        .map(String::from)
        .into();
    let b: BTreeSet<String> = ["table t", "column t.a integer null"]
        .map(String::from)
        .into();
    assert_eq!(diff(&a, &a), "");
    assert_eq!(
        diff(&a, &b),
        "only in SQLite:\n  column t.a integer not null\nonly in PostgreSQL:\n  column t.a integer null\n"
    );
}

#[test]
fn sqlite_check_names_are_derived_as_postgresql_names_them() {
    let sql =
        "CREATE TABLE device (\n    id INTEGER PRIMARY KEY,\n    -- a comment, with a comma\n    \
               daily_capacity INTEGER NOT NULL CHECK (daily_capacity > 0),\n    \
               status TEXT NOT NULL CHECK (status IN ('a,b', 'c')),\n    \
               CONSTRAINT period CHECK (start_day <= end_day)\n)";
    assert_eq!(
        sqlite_checks("device", sql),
        [
            "device_daily_capacity_check",
            "device_status_check",
            "period"
        ]
    );
    assert_eq!(sqlite_kind("INTEGER"), Ok("integer"));
    assert_eq!(sqlite_kind("BLOB"), Ok("blob"));
    assert!(sqlite_kind("NUMERIC").is_err());
    assert!(pg_kind("numeric").is_err());
}
