//! The migrations that partition the large tables on PostgreSQL (issue 16, migrations 31–34),
//! each converting a database that holds rows, against a real server (`EID_TEST_DATABASE_URL`),
//! each in a fresh schema.

use super::tests::{counts, fresh_at, id, person, put_all, unit, NOW};
use super::*;
use time::macros::datetime;

/// The partitions of `person` that an `EXPLAIN (ANALYZE)` of `sql` says were read.
fn partitions_read(c: &mut Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Vec<String> {
    partitions_of(c, "person", sql, params)
}

/// The partitions of `table` (named `{table}_…`, its key table `{table}_key` left out) that an
/// `EXPLAIN (ANALYZE)` of `sql` says were read.
fn partitions_of(
    c: &mut Client,
    table: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Vec<String> {
    let plan: Vec<String> = c
        .query(
            &format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"),
            params,
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut read: Vec<String> = plan
        .iter()
        .filter(|l| !l.contains("never executed"))
        .filter_map(|l| {
            let at = l.find(&format!(" on {table}_"))?;
            let name = l[at + 4..].split_whitespace().next()?;
            (!name.starts_with(&format!("{table}_key"))).then(|| name.to_owned())
        })
        .collect();
    read.sort();
    read.dedup();
    read
}

/// Fills the `person` and `person_event` tables of a schema as it was before migration 31
/// (one table each, no `person_key`) with `persons` as the writer writes them: written into a
/// current schema, then copied over. Today's writer needs the partitions and `person_key`.
fn fill_as_before_31(old: &mut Client, persons: &[Person]) {
    use std::io::{Read as _, Write as _};
    let current = super::tests::fresh("partition_src").expect("a server");
    assert_eq!(
        put_all(&current.store, persons).imported,
        persons.len() as u64
    );
    let mut src = current.raw();
    for (table, cols, order) in [
        ("person", PERSON_ALL_COLS, "personal_id"),
        (
            "person_event",
            "personal_id, at, actor, kind, reason, changes",
            "seq",
        ),
    ] {
        let mut rows = Vec::new();
        src.copy_out(&format!(
            "COPY (SELECT {cols} FROM {table} ORDER BY {order}) TO STDOUT"
        ))
        .unwrap()
        .read_to_end(&mut rows)
        .unwrap();
        let mut w = old
            .copy_in(&format!("COPY {table} ({cols}) FROM STDIN"))
            .unwrap();
        w.write_all(&rows).unwrap();
        w.finish().unwrap();
    }
}

#[test]
fn migration_31_partitions_a_register_that_has_persons() {
    let Some(t) = fresh_at("partition", 30) else {
        return;
    };
    // A database as it was before migration 31, with persons and their history in it.
    let mut c = t.raw();
    let s = &t.store;
    let ids: Vec<String> = (0..40).map(|i| format!("0380900{:05}", 1234 + i)).collect();
    let hanoi = "00001";
    let persons: Vec<Person> = ids
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            let unit = if i % 2 == 0 { "14755" } else { hanoi };
            person(&[(0, pid.as_str()), (7, unit)])
        })
        .collect();
    fill_as_before_31(&mut c, &persons);
    // (A second event is written by hand.)
    c.execute(
        "INSERT INTO person_event (personal_id, at, actor, kind, reason, changes) \
         VALUES ($1, 1, 'cli:test', 'updated', 'test', '{}')",
        &[&ids[0]],
    )
    .unwrap();

    // Act: the conversion.
    s.migrate().unwrap();

    // Rows and history kept, and found by ID.
    let n: i64 = c
        .query_one("SELECT count(*) FROM person", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 40);
    let n: i64 = c
        .query_one("SELECT count(*) FROM person_event", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 41);
    for (i, pid) in ids.iter().enumerate() {
        let got = s.person(&id(pid)).unwrap().unwrap();
        let expected = if i % 2 == 0 { "14755" } else { hanoi };
        assert_eq!(got.person.residence.unit.as_str(), expected);
    }
    assert_eq!(s.history(&id(&ids[0])).unwrap().len(), 2);
    let provinces: Vec<String> = c
        .query(
            "SELECT DISTINCT tableoid::regclass::text FROM person ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(provinces, ["person_001", "person_038"]);

    // A person who moves province is found by ID afterwards, in the new province only.
    let mover = person(&[(0, ids[2].as_str()), (7, hanoi)]);
    assert_eq!(put_all(s, &[mover]), counts(0, 1, 0));
    let got = s.person(&id(&ids[2])).unwrap().unwrap();
    assert_eq!(got.person.residence.unit.as_str(), hanoi);
    assert_eq!(got.version, 2);
    let (k, rows): (i16, i64) = {
        let r = c
            .query_one(
                "SELECT (SELECT province FROM person_key WHERE personal_id = $1), \
                 (SELECT count(*) FROM person WHERE personal_id = $1)",
                &[&ids[2]],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((k, rows), (1, 1));
    assert_eq!(s.history(&id(&ids[2])).unwrap().len(), 2);

    // A second row for an ID is refused in any province: through the writer's COPY of new rows
    // too (it would otherwise land in another partition, whose primary key cannot see it).
    for unit in ["14755", hanoi] {
        let e = c
            .batch_execute(&format!(
                "INSERT INTO person SELECT personal_id, surname, middle_name, given_name, \
                 name_folded, birth_date, birth_year, sex, hometown_unit, '{unit}', \
                 res_path % 100000000 + {}, residence_address, temp_unit, temp_address, \
                 household_id, phone, phone_type, life_status, life_status_date, card_issued, \
                 card_revoked, digest, version, updated_at FROM person WHERE personal_id = '{}'",
                if unit == hanoi {
                    100_000_000_i64
                } else {
                    3_800_000_000
                },
                ids[4]
            ))
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{e}");
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM person", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 40);

    // Pruning: a lookup by ID reads one partition; so does a search within a commune.
    c.batch_execute("ANALYZE person").unwrap();
    let lookup = format!("SELECT * FROM person WHERE {}", by_id("$1", "$2", "$3"));
    for (i, partition) in [(1, "person_001"), (4, "person_038")] {
        let (lo, hi) = partition_of(
            &mut pool::Kept::new(&mut c, &mut pool::Statements::new()),
            &ids[i],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            partitions_read(&mut c, &lookup, &[&ids[i], &lo, &hi]),
            [partition]
        );
        // Kept when the statement is planned, not skipped when it runs: the plan names one
        // partition of `person`.
        let plan: Vec<String> = c
            .query(
                &format!("EXPLAIN (COSTS OFF) {lookup}"),
                &[&ids[i], &lo, &hi],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let planned = plan.iter().filter(|l| l.contains(" on person_")).count();
        assert_eq!(planned, 1, "{plan:#?}");
    }
    assert_eq!(
        partition_of(
            &mut pool::Kept::new(&mut c, &mut pool::Statements::new()),
            "999999999999"
        )
        .unwrap(),
        None
    );
    let (lo, hi) = path_range(&unit("14755")).unwrap();
    let search = "SELECT personal_id FROM person WHERE name_folded LIKE 'le%' \
                  AND res_path >= $1 AND res_path < $2 ORDER BY name_folded, personal_id LIMIT 50";
    assert_eq!(partitions_read(&mut c, search, &[&lo, &hi]), ["person_038"]);
    let history = "SELECT seq FROM person_event WHERE personal_id = $1 ORDER BY seq";
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN (COSTS OFF) {history}"), &[&ids[1]])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let event_partitions = plan
        .iter()
        .filter(|l| l.contains(" on person_event_"))
        .count();
    assert_eq!(event_partitions, 1, "{plan:#?}");

    // New events after the conversion go on from the old sequence.
    let seqs: Vec<i64> = s
        .history(&id(&ids[2]))
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[1] > 41, "{seqs:?}");
}

/// The plan's lines of `EXPLAIN (COSTS OFF) sql` that scan a partition of `table`: what the
/// planner kept, before the executor skips anything.
fn partitions_planned(
    c: &mut Client,
    table: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Vec<String> {
    c.query(&format!("EXPLAIN (COSTS OFF) {sql}"), params)
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|l| l.contains(&format!(" on {table}_")))
        .collect()
}

/// Runs `sql` and returns the error's text, which must say the table is append-only.
fn refused(c: &mut Client, sql: &str) -> String {
    let e = c.batch_execute(sql).expect_err(sql);
    let msg = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert!(msg.contains("append-only"), "{sql}: {e}");
    msg
}

#[test]
fn migration_32_partitions_an_audit_trail_by_month() {
    let Some(t) = fresh_at("audit", 31) else {
        return;
    };
    // A trail as it was before migration 32: lines in November and December 2025 (one just
    // after midnight of 1 December in Vietnam, still 30 November in UTC) and January 2026.
    let mut c = t.raw();
    let s = &t.store;
    let cli = Actor::Cli("test".into());
    let times = [
        (datetime!(2025-11-15 10:00 +07), "audit_202511"),
        (datetime!(2025-11-30 17:30 UTC), "audit_202512"),
        (datetime!(2025-12-20 09:00 +07), "audit_202512"),
        (NOW, "audit_202601"),
    ];
    for (i, (at, _)) in times.iter().enumerate() {
        s.audit(&cli, "person.read", &format!("p{i}"), "ok", "r", *at)
            .unwrap();
    }
    let before: Vec<i64> = s.audit_log(10).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(before.len(), 4);

    // Act: the conversion.
    s.migrate().unwrap();

    // The lines are kept, in the same order, each in its month's partition.
    let after: Vec<i64> = s.audit_log(10).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(after, before);
    for (i, (_, partition)) in times.iter().enumerate() {
        let got: String = c
            .query_one(
                "SELECT tableoid::regclass::text FROM audit WHERE target = $1",
                &[&format!("p{i}")],
            )
            .unwrap()
            .get(0);
        assert_eq!(got, *partition, "line {i}");
    }
    // The partitions of this month and the next three exist, made ahead by the migration.
    let ahead: Vec<(String, bool)> = c
        .query(
            "SELECT p, to_regclass(p) IS NOT NULL FROM (SELECT 'audit_' || to_char(date_trunc('month', \
             now() AT TIME ZONE 'Asia/Ho_Chi_Minh') + make_interval(months => m), 'YYYYMM') AS p \
             FROM generate_series(0, 4) AS m) AS months",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let made: Vec<bool> = ahead.iter().map(|(_, made)| *made).collect();
    assert_eq!(made, [true, true, true, true, false], "{ahead:?}");

    // A new line goes on from the old sequence; one whose month has no partition is kept in
    // the default partition and read like the others; migrating again (a restart) keeps it.
    s.audit(&cli, "auth.login", "late", "ok", "r2", NOW)
        .unwrap();
    let far = datetime!(2031-05-01 12:00 UTC);
    s.audit(&cli, "auth.login", "far", "ok", "r3", far).unwrap();
    let newest = s.audit_log(2).unwrap();
    assert_eq!(newest[0].target, "far");
    assert!(newest[1].seq > before[0], "{newest:?} after {before:?}");
    s.migrate().unwrap();
    let got: String = c
        .query_one(
            "SELECT tableoid::regclass::text FROM audit WHERE target = 'far'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(got, "audit_default");

    // Append-only on the table, on every partition written directly, and on its key.
    for table in [
        "audit",
        "audit_202511",
        "audit_202601",
        "audit_default",
        "audit_key",
    ] {
        refused(&mut c, &format!("UPDATE {table} SET seq = seq"));
        refused(&mut c, &format!("DELETE FROM {table}"));
        let msg = refused(&mut c, &format!("TRUNCATE {table}"));
        assert!(msg.contains(table), "{msg}");
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 6);

    // A `seq` already in the trail is refused in any month, through the table or a partition.
    let old = before[3];
    for (table, at) in [("audit", to_ms(NOW)), ("audit_202512", to_ms(times[2].0))] {
        let e = c
            .execute(
                &format!(
                    "INSERT INTO {table} (seq, at, actor, action, target, outcome, request_id) \
                     VALUES ($1, $2, 'cli:test', 'x', 'dup', 'ok', 'r')"
                ),
                &[&old, &at],
            )
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{table}: {e}");
    }

    // An auditor's search by days reads the months it names: a December day, one partition,
    // kept when the statement is planned. The newest page merges the months in `seq` order.
    c.batch_execute("ANALYZE audit").unwrap();
    let search = "SELECT seq, at, actor, action, target, outcome, request_id FROM audit \
                  WHERE at >= $1 AND at < $2 ORDER BY seq DESC LIMIT $3";
    let (from, to) = (
        to_ms(datetime!(2025-12-20 00:00 +07)),
        to_ms(datetime!(2025-12-21 00:00 +07)),
    );
    let limit = 100_i64;
    assert_eq!(
        partitions_of(&mut c, "audit", search, &[&from, &to, &limit]),
        ["audit_202512"]
    );
    assert_eq!(
        partitions_planned(&mut c, "audit", search, &[&from, &to, &limit]).len(),
        1
    );
    let day = s
        .audit_query(&crate::audit::AuditQuery {
            since: Some(datetime!(2025-12-20 00:00 +07)),
            until: Some(datetime!(2025-12-21 00:00 +07)),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let targets: Vec<&str> = day.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["p2"]);
    // The newest page merges the months' `seq` indexes, read backwards, instead of sorting the
    // trail (a month of 20,000 lines).
    c.execute(
        "INSERT INTO audit (at, actor, action, target, outcome, request_id) \
         SELECT $1::bigint + i, 'cli:test', 'x', 'bulk', 'ok', 'r' FROM generate_series(1, 20000) AS i",
        &[&to_ms(datetime!(2025-12-05 09:00 +07))],
    )
    .unwrap();
    c.batch_execute("ANALYZE audit").unwrap();
    let newest = "SELECT seq FROM audit ORDER BY seq DESC LIMIT $1";
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN (COSTS OFF) {newest}"), &[&limit])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.iter().any(|l| l.contains("Merge Append")), "{plan:#?}");
    assert!(
        plan.iter()
            .any(|l| l.contains("Scan Backward") && l.contains(" on audit_202512 ")),
        "{plan:#?}"
    );
}

#[test]
fn migration_33_partitions_account_events_by_person() {
    let Some(t) = fresh_at("account_event", 32) else {
        return;
    };
    // Account histories as they were before migration 33: 40 persons with two events each.
    let mut c = t.raw();
    let s = &t.store;
    let ids: Vec<String> = (0..40).map(|i| format!("0380900{:05}", 1234 + i)).collect();
    let insert = "INSERT INTO account_event (personal_id, kind, at, day, res_path, actor, detail) \
                  VALUES ($1, $2, $3, 20454, 3814755000, 'cli:test', '{}')";
    for (i, pid) in ids.iter().enumerate() {
        let at = i64::try_from(i).unwrap();
        c.execute(insert, &[pid, &"level1_activated", &at]).unwrap();
        c.execute(insert, &[pid, &"level2_activated", &(at + 100)])
            .unwrap();
    }
    let last: i64 = c
        .query_one("SELECT max(seq) FROM account_event", &[])
        .unwrap()
        .get(0);

    // Act: the conversion.
    s.migrate().unwrap();

    // Every event is kept, spread over the 16 partitions, and a person's are in one of them.
    let (n, partitions, max): (i64, i64, i64) = {
        let r = c
            .query_one(
                "SELECT count(*), count(DISTINCT tableoid), max(seq) FROM account_event",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((n, max), (80, last));
    assert!(partitions > 1, "{partitions}");
    let made: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'account_event'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(made, 16);
    let split: i64 = c
        .query_one(
            "SELECT count(*) FROM (SELECT personal_id FROM account_event GROUP BY personal_id \
             HAVING count(DISTINCT tableoid) > 1) AS s",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(split, 0);

    // A person's history, oldest first, reads one partition, kept when the statement is planned.
    let history = "SELECT seq, at, kind FROM account_event WHERE personal_id = $1 ORDER BY seq";
    let kinds: Vec<String> = c
        .query(history, &[&ids[7]])
        .unwrap()
        .iter()
        .map(|r| r.get(2))
        .collect();
    assert_eq!(kinds, ["level1_activated", "level2_activated"]);
    c.batch_execute("ANALYZE account_event").unwrap();
    assert_eq!(
        partitions_planned(&mut c, "account_event", history, &[&ids[7]]).len(),
        1
    );
    assert_eq!(
        partitions_of(&mut c, "account_event", history, &[&ids[7]]).len(),
        1
    );

    // New events go on from the old identity's sequence, without a `seq` given.
    let seq: i64 = c
        .query_one(
            "INSERT INTO account_event (personal_id, kind, at, day, actor, detail) \
             VALUES ($1, 'level1_activated', 1, 1, 'cli:test', '{}') RETURNING seq",
            &[&ids[0]],
        )
        .unwrap()
        .get(0);
    assert_eq!(seq, last + 1);

    // Append-only on the table and on a partition written directly.
    let partition: String = c
        .query_one(
            "SELECT tableoid::regclass::text FROM account_event WHERE personal_id = $1 LIMIT 1",
            &[&ids[0]],
        )
        .unwrap()
        .get(0);
    for table in ["account_event", partition.as_str()] {
        refused(&mut c, &format!("UPDATE {table} SET kind = 'x'"));
        refused(&mut c, &format!("DELETE FROM {table}"));
        let msg = refused(&mut c, &format!("TRUNCATE {table}"));
        assert!(msg.contains(table), "{msg}");
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM account_event", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 81);
}

/// An account row for a test, through the shared interface: `(personal_id, commune, res_path)`.
const ACCOUNT_INSERT: &str = "INSERT INTO account (personal_id, level, state, phone, commune, \
     res_path, created_at, updated_at) VALUES ($1, 1, 'active', '+84912345678', $2, $3, 1, 1)";

/// The accounts' id sequence as `(last_value, is_called)`.
fn account_ids(c: &mut Client) -> (i64, bool) {
    let r = c
        .query_one("SELECT last_value, is_called FROM account_id_seq", &[])
        .unwrap();
    (r.get(0), r.get(1))
}

#[test]
fn migration_34_partitions_accounts_by_province() {
    use crate::account_key::{self, Key};
    use crate::sql;
    let Some(t) = fresh_at("account", 33) else {
        return;
    };
    // Accounts as they were before migration 34: 40 in two provinces, two of them with an app
    // session and a browser session.
    let mut c = t.raw();
    let s = &t.store;
    let ids: Vec<String> = (0..40).map(|i| format!("0380900{:05}", 1234 + i)).collect();
    let (thanh_hoa, hanoi) = ("14755", "00001");
    let path = |u: &str| unit_path(&unit(u)).unwrap();
    let mut account_ids_made = Vec::new();
    for (i, pid) in ids.iter().enumerate() {
        let u = if i % 2 == 0 { thanh_hoa } else { hanoi };
        let id: i64 = c
            .query_one(
                &format!("{ACCOUNT_INSERT} RETURNING id"),
                &[pid, &u, &path(u)],
            )
            .unwrap()
            .get(0);
        account_ids_made.push(id);
    }
    for &a in &account_ids_made[..2] {
        c.execute(
            "INSERT INTO citizen_session (token_hash, account_id, device_hash, created_at, \
             expires_at) VALUES ($1, $2, '\\x00', 1, 2)",
            &[&a.to_be_bytes().to_vec(), &a],
        )
        .unwrap();
        c.execute(
            "INSERT INTO citizen_web_session (token_hash, account_id, personal_id, device_hash, \
             level, auth_time, amr, created_at, last_seen, idle_until, expires_at) \
             VALUES ($1, $2, 'x', '\\x00', 1, 1, 'pwd', 1, 1, 2, 2)",
            &[&a.to_be_bytes().to_vec(), &a],
        )
        .unwrap();
    }
    let before = account_ids(&mut c);
    assert_eq!(before, (*account_ids_made.last().unwrap(), true));

    // Act: the conversion.
    s.migrate().unwrap();

    // Every account is kept, in its province's partition, with its key row.
    let partitions: Vec<(String, i64)> = c
        .query(
            "SELECT tableoid::regclass::text, count(*) FROM account GROUP BY 1 ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        partitions,
        [
            ("account_001".to_owned(), 20),
            ("account_038".to_owned(), 20)
        ]
    );
    let made: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'account'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(made, 64);
    // The partitions a read names (`store::province_partition`) are the catalog's, with the
    // catalog's bounds, for `person` (migration 31) and `account`.
    for table in ["person", "account"] {
        let catalog: Vec<(String, String)> = c
            .query(
                "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::text::regclass \
                 ORDER BY 1",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut named: Vec<(String, String)> = crate::store::PARTITIONED_PROVINCES
            .iter()
            .map(|&p| {
                let (lo, hi) = crate::store::province_range(p);
                (
                    crate::store::province_partition(table, p),
                    format!("FOR VALUES FROM ('{lo}') TO ('{hi}')"),
                )
            })
            .collect();
        named.push((
            crate::store::province_partition(table, 3),
            "DEFAULT".to_owned(),
        ));
        named.sort();
        assert_eq!(catalog, named, "{table}");
    }
    let keyed: i64 = c
        .query_one(
            "SELECT count(*) FROM account a JOIN account_key k ON k.id = a.id \
             AND k.personal_id = a.personal_id AND k.province = a.res_path / 100000000",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(keyed, 40);
    assert_eq!(account_ids(&mut c), before);

    // Found by id and by personal ID through the two steps, in its one partition.
    let phone = "SELECT personal_id FROM account WHERE {account}";
    let found = |key: Key<'_>| -> Option<String> {
        sql::read(s, |tx| account_key::row(tx, phone, &[], key))
            .unwrap()
            .map(|r| r[0].text().unwrap())
    };
    for (pid, &a) in ids.iter().zip(&account_ids_made) {
        assert_eq!(found(Key::Id(a)).as_deref(), Some(pid.as_str()));
        assert_eq!(found(Key::Person(pid)).as_deref(), Some(pid.as_str()));
    }
    assert_eq!(found(Key::Id(-1)), None);
    assert_eq!(found(Key::Person("999999999999")), None);
    // A read names the province's partition, and its plan is made once for the connection (a
    // generic plan), not at every execution as through the parent.
    let one = t.one_connection();
    for _ in 0..8 {
        let r = sql::read(&one, |tx| {
            account_key::row(tx, phone, &[], Key::Id(account_ids_made[1]))
        })
        .unwrap();
        assert_eq!(r.unwrap()[0].text().unwrap(), ids[1]);
    }
    let plans = sql::read(&one, |tx| {
        tx.row(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement = 'SELECT personal_id FROM account_001 WHERE id = $1'",
            &[],
        )
    })
    .unwrap()
    .expect("the read of account_001 is kept on the connection");
    assert!(plans[0].int().unwrap() > 0, "{plans:?}");

    // New accounts take ids after the old identity's last value.
    let (fresh_pid, fresh_path) = ("038090099999".to_owned(), path(hanoi));
    let new_id = sql::transact(s, |tx| {
        account_key::insert_new(
            tx,
            ACCOUNT_INSERT,
            &[fresh_pid.as_str().into(), hanoi.into(), fresh_path.into()],
        )
    })
    .unwrap();
    assert_eq!(new_id, Some(before.0 + 1));

    // A second account for a person is refused in any province, and for an id too: through
    // `insert_new` as "has one already", leaving the transaction usable.
    for u in [thanh_hoa, hanoi] {
        let e = c
            .execute(ACCOUNT_INSERT, &[&ids[4], &u, &path(u)])
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{e}");
    }
    let e = c
        .execute(
            "INSERT INTO account (id, personal_id, level, state, phone, commune, res_path, \
             created_at, updated_at) VALUES ($1, '038090088888', 1, 'active', '+84912345678', \
             '00001', $2, 1, 1)",
            &[&account_ids_made[4], &path(hanoi)],
        )
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{e}");
    let (refused, after) = sql::transact(s, |tx| {
        let refused = account_key::insert_new(
            tx,
            ACCOUNT_INSERT,
            &[
                ids[5].as_str().into(),
                thanh_hoa.into(),
                path(thanh_hoa).into(),
            ],
        )?;
        let after = account_key::insert_new(
            tx,
            ACCOUNT_INSERT,
            &[
                "038090077777".into(),
                thanh_hoa.into(),
                path(thanh_hoa).into(),
            ],
        )?;
        Ok::<_, StoreError>((refused, after))
    })
    .unwrap();
    assert_eq!(refused, None);
    assert!(after.is_some());
    let n: i64 = c
        .query_one("SELECT count(*) FROM account", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 42);
    let e = c
        .execute(
            "UPDATE account SET personal_id = '038090066666' WHERE id = $1",
            &[&account_ids_made[0]],
        )
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(&SqlState::INTEGRITY_CONSTRAINT_VIOLATION),
        "{e}"
    );

    // An account moved to another province is found there, by a key read before the move too.
    let mover = account_ids_made[2];
    let stale = Key::At {
        id: mover,
        res_path: path(thanh_hoa),
    };
    let moved = sql::transact(s, |tx| {
        account_key::exec(
            tx,
            "UPDATE account SET commune = $1, res_path = $2 WHERE {account}",
            &[hanoi.into(), path(hanoi).into()],
            stale,
        )
    })
    .unwrap();
    assert_eq!(moved, 1);
    let (where_now, province): (String, i16) = {
        let r = c
            .query_one(
                "SELECT a.tableoid::regclass::text, k.province FROM account a \
                 JOIN account_key k ON k.id = a.id WHERE a.id = $1",
                &[&mover],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((where_now.as_str(), province), ("account_001", 1));
    assert_eq!(found(stale).as_deref(), Some(ids[2].as_str()));
    assert_eq!(
        found(Key::Person(&ids[2])).as_deref(),
        Some(ids[2].as_str())
    );
    let changed = sql::transact(s, |tx| {
        account_key::exec(
            tx,
            "UPDATE account SET failures = 1 WHERE {account}",
            &[],
            stale,
        )
    })
    .unwrap();
    assert_eq!(changed, 1);

    // The sessions' foreign keys hold, on `account_key`: no session for an unknown account, no
    // account deleted under its sessions; an account without sessions goes with its key row.
    let fks: Vec<String> = c
        .query(
            "SELECT conrelid::regclass::text || ' -> ' || confrelid::regclass::text \
             FROM pg_constraint WHERE contype = 'f' AND confrelid = 'account_key'::regclass \
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        fks,
        [
            "citizen_session -> account_key",
            "citizen_web_session -> account_key"
        ]
    );
    let e = c
        .execute(
            "INSERT INTO citizen_session (token_hash, account_id, device_hash, created_at, \
             expires_at) VALUES ('\\x0102', -5, '\\x00', 1, 2)",
            &[],
        )
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{e}");
    let e = c
        .execute("DELETE FROM account WHERE id = $1", &[&account_ids_made[0]])
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{e}");
    let gone = sql::transact(s, |tx| {
        account_key::exec(
            tx,
            "DELETE FROM account WHERE {account}",
            &[],
            Key::Person(&ids[9]),
        )
    })
    .unwrap();
    assert_eq!(gone, 1);
    let keys: i64 = c
        .query_one(
            "SELECT count(*) FROM account_key WHERE personal_id = $1",
            &[&ids[9]],
        )
        .unwrap()
        .get(0);
    assert_eq!(keys, 0);

    // Pruning: a lookup by id and one by personal ID each plan and read one partition, and a
    // commune's outreach join reads its province's partition of `account` alone.
    c.batch_execute("ANALYZE account; ANALYZE account_key")
        .unwrap();
    let by_id = "SELECT * FROM account WHERE id = $1 AND res_path >= $2 AND res_path < $3";
    let by_person =
        "SELECT * FROM account WHERE personal_id = $1 AND res_path >= $2 AND res_path < $3";
    let (lo, hi) = province_range(38);
    let pid = ids[6].as_str();
    let a = account_ids_made[6];
    assert_eq!(
        partitions_planned(&mut c, "account", by_id, &[&a, &lo, &hi]).len(),
        1
    );
    assert_eq!(
        partitions_of(&mut c, "account", by_id, &[&a, &lo, &hi]),
        ["account_038"]
    );
    assert_eq!(
        partitions_planned(&mut c, "account", by_person, &[&pid, &lo, &hi]).len(),
        1
    );
    assert_eq!(
        partitions_of(&mut c, "account", by_person, &[&pid, &lo, &hi]),
        ["account_038"]
    );
    let persons: Vec<Person> = ids
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            let u = if i % 2 == 0 { thanh_hoa } else { hanoi };
            person(&[(0, pid.as_str()), (7, u)])
        })
        .collect();
    assert_eq!(put_all(s, &persons), counts(40, 0, 0));
    let commune = path(thanh_hoa);
    let join = account_key::of_province("postgres", commune, 2);
    let outreach = format!(
        "SELECT p.personal_id, a.level, {} FROM person p {} WHERE p.res_path = $1",
        join.elsewhere, join.join
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&commune];
    params.extend(join.args.iter().map(|v| v as &(dyn ToSql + Sync)));
    assert_eq!(
        partitions_planned(&mut c, "account", &outreach, &params)
            .iter()
            .filter(|l| !l.contains(" on account_key"))
            .count(),
        1
    );
    assert_eq!(
        partitions_of(&mut c, "account", &outreach, &params),
        ["account_038"]
    );
    // The mover lives in Thanh Hoá by the register and has their account in Hanoi's partition:
    // the join says it is elsewhere.
    let rows = c.query(&outreach, &params).unwrap();
    let elsewhere: Vec<String> = rows
        .iter()
        .filter(|r| r.get::<_, Option<i64>>(2).is_some())
        .map(|r| r.get(0))
        .collect();
    assert_eq!(elsewhere, [ids[2].clone()]);
}

/// A write to an account that another transaction moves to another province meanwhile is
/// rolled back by PostgreSQL (`40001`: the row went to another partition): the store says it is
/// worth sending again (`503` over HTTP), not a database failure (`500`), and sent again it
/// lands in the account's new partition.
#[test]
fn a_write_that_meets_a_concurrent_move_is_worth_sending_again() {
    use crate::account_key::{self, Key};
    use crate::sql;
    let Some(t) = fresh_at("account_race", 34) else {
        return;
    };
    let (thanh_hoa, hanoi) = ("14755", "00001");
    let path = |u: &str| unit_path(&unit(u)).unwrap();
    let mut c = t.raw();
    let id: i64 = c
        .query_one(
            &format!("{ACCOUNT_INSERT} RETURNING id"),
            &[&"038090012345", &thanh_hoa, &path(thanh_hoa)],
        )
        .unwrap()
        .get(0);
    let set_phone = |s: &PgStore, phone: &str| {
        sql::transact(s, |tx| {
            account_key::exec(
                tx,
                "UPDATE account SET phone = $1 WHERE {account}",
                &[phone.into()],
                Key::At {
                    id,
                    res_path: path(thanh_hoa),
                },
            )
        })
    };

    // Another transaction moves the account to Hà Nội and holds its lock...
    let mut mover = t.raw();
    let mut tx = mover.transaction().unwrap();
    tx.execute(
        "UPDATE account SET commune = $1, res_path = $2 WHERE id = $3",
        &[&hanoi, &path(hanoi), &id],
    )
    .unwrap();
    // ...while the store's write waits for it in the Thanh Hóa partition.
    let blocked = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| set_phone(&t.store, "+84911111111"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        tx.commit().unwrap();
        waiting.join().unwrap()
    });

    match blocked {
        Err(StoreError::Unavailable(m)) => assert!(m.starts_with(ROLLED_BACK), "{m}"),
        other => panic!("expected a rolled-back write, got {other:?}"),
    }
    // Sent again, it finds the account where it went (the key read again) and writes.
    assert_eq!(set_phone(&t.store, "+84922222222").unwrap(), 1);
    let (phone, commune): (String, String) = {
        let r = c
            .query_one("SELECT phone, commune FROM account WHERE id = $1", &[&id])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((phone.as_str(), commune.as_str()), ("+84922222222", hanoi));
}

/// The writer copies new rows into their provinces' partitions, not through the parent, and
/// writes their keys itself (the parent's trigger does not see them): every row lands in its
/// province's partition with its key beside it, and an ID another writer is creating at the
/// same time is a conflict on the key, not a second row in another partition.
#[test]
fn the_writer_copies_new_rows_into_their_partitions_with_their_keys() {
    let Some(t) = super::tests::fresh("writer_parts") else {
        return;
    };
    let s = &t.store;
    let mut c = t.raw();
    let units = ["14755", "00001", "14755", "00001", "00001"];
    let ids: Vec<String> = (0..50).map(|i| format!("0380900{:05}", 2000 + i)).collect();
    let persons: Vec<Person> = ids
        .iter()
        .zip(units.iter().cycle())
        .map(|(pid, u)| person(&[(0, pid.as_str()), (7, u)]))
        .collect();
    assert_eq!(put_all(s, &persons), counts(50, 0, 0));

    // Each row in its province's partition; one key per row, naming that province.
    let rows = c
        .query(
            "SELECT p.tableoid::regclass::text, p.res_path / 100000000, k.province \
             FROM person p LEFT JOIN person_key k USING (personal_id)",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 50);
    let mut by_partition: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let (partition, province, key): (String, i64, Option<i16>) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(
            partition,
            crate::store::province_partition("person", province)
        );
        assert_eq!(key.map(i64::from), Some(province));
        *by_partition.entry(partition).or_default() += 1;
    }
    assert_eq!(by_partition.get("person_001"), Some(&30));
    assert_eq!(by_partition.get("person_038"), Some(&20));
    let keys: i64 = c
        .query_one("SELECT count(*) FROM person_key", &[])
        .unwrap()
        .get(0);
    assert_eq!(keys, 50);
    // Read back by ID, and a second import of the same file changes nothing.
    let got = s.person(&id(&ids[1])).unwrap().unwrap();
    assert_eq!(got.person.residence.unit.as_str(), "00001");
    assert_eq!(put_all(s, &persons), counts(0, 0, 50));

    // Two writers creating the same new ID: the first has written it (not committed); the
    // second, which read no such ID, waits on its key and is refused once the first commits.
    let fresh_id = "038090099999";
    let newcomer = person(&[(0, fresh_id), (7, "14755")]);
    let actor = Actor::Cli("test".into());
    let mut first = s.writer(&actor, "test", NOW).unwrap();
    first.put(&newcomer).unwrap();
    first.current(&id(&ids[0])).unwrap(); // flushes the buffered row
    let elsewhere = person(&[(0, fresh_id), (7, "00001")]);
    let second = std::thread::scope(|scope| {
        let h = scope.spawn(|| {
            let mut w = s.writer(&actor, "test", NOW)?;
            w.put(&elsewhere)?;
            w.commit()
        });
        // The second writer's key waits for the first's transaction.
        let waited = (0..200).any(|_| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0);
            if n == 0 {
                std::thread::sleep(Duration::from_millis(25));
            }
            n > 0
        });
        assert!(
            waited,
            "the second writer never waited on the first one's key"
        );
        assert_eq!(first.commit().unwrap(), counts(1, 0, 0));
        h.join().unwrap()
    });
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    let (rows, key): (i64, i16) = {
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM person WHERE personal_id = $1), \
                 (SELECT province FROM person_key WHERE personal_id = $1)",
                &[&fresh_id],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((rows, key), (1, 38));
}
