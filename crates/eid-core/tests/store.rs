//! The storage conformance suite: every test runs against SQLite, and against PostgreSQL when
//! `EID_TEST_DATABASE_URL` is set (each test in a fresh schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eid_core::import::{import_persons, ImportOptions, ImportSummary, OnError, Rejected};
use eid_core::pg::PgStore;
use eid_core::sqlite::SqliteStore;
use eid_core::store::{replay, Actor, NewStaff, Role, SearchQuery, Store, StoreError};
use eid_core::{csvfmt, secret};
use eid_domain::{PersonalId, UnitCode};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The engines under test: SQLite and PostgreSQL (`eid_core::testkit::postgres_url`).
fn engines() -> Vec<Arc<dyn Store>> {
    let dir = std::env::temp_dir().join(unique("eid-store-test"));
    let mut out: Vec<Arc<dyn Store>> = Vec::new();
    let sqlite = SqliteStore::open(dir.join("eid.db").to_str().unwrap()).unwrap();
    out.push(Arc::new(sqlite));
    if let Some(url) = eid_core::testkit::postgres_url() {
        let schema = unique("t");
        out.push(Arc::new(PgStore::connect(&url, Some(&schema)).unwrap()));
    }
    for s in &out {
        s.migrate().unwrap();
    }
    out
}

const HEADER: &str = "personal_id,surname,middle_name,given_name,birth_date,sex,hometown_unit,residence_unit,residence_address,temp_unit,temp_address,household_id,phone,phone_type,life_status,life_status_date,card_issued,card_revoked";

/// Good rows: three people in Thanh Hóa (two communes of two districts), one in Kon Tum.
const ROWS: &[&str] = &[
    "038090001234,Lê,Văn,An,1990-05-02,M,38,14755,Số 5 Hàm Rồng,,,HK38-1,0912345678,smartphone,alive,,2021-06-01,0",
    "038185004321,Nguyễn,Thị Bảo,Vân,1985-11-30,F,380,14755,Số 7 Hàm Rồng,,,HK38-2,0987654321,basic,alive,,2022-01-15,0",
    "038060000777,Trần,Đức,Bình,1960,M,38,14809,Phường Bắc Sơn,,,HK38-3,,none,dead,2024-03-01,2016-04-01,0",
    "062305000001,Y,,Nhi,2005-07-07,F,62,23341,Thôn 1,,,HK62-1,0335555555,smartphone,alive,,2023-08-08,0",
];

fn csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

fn opts(on_error: OnError) -> ImportOptions {
    ImportOptions {
        on_error,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test import".into(),
    }
}

fn import(store: &dyn Store, text: &str, on_error: OnError) -> (ImportSummary, Vec<Rejected>) {
    let mut rejected = Vec::new();
    let summary = import_persons(
        store,
        text.as_bytes(),
        &opts(on_error),
        &mut |r| rejected.push(r.clone()),
        &mut |_| {},
    )
    .unwrap();
    (summary, rejected)
}

fn id(s: &str) -> PersonalId {
    PersonalId::parse(s).unwrap()
}

fn unit(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

#[test]
fn migrating_twice_is_harmless() {
    for s in engines() {
        s.migrate().unwrap();
        s.ping().unwrap();
    }
}

#[test]
fn a_new_person_is_created_with_its_event() {
    for s in engines() {
        let (sum, rej) = import(&*s, &csv(ROWS), OnError::Abort);
        assert!(rej.is_empty(), "{}: {rej:?}", s.engine());
        assert_eq!(
            (
                sum.imported,
                sum.updated,
                sum.unchanged,
                sum.rows,
                sum.committed
            ),
            (4, 0, 0, 4, true)
        );
        let p = s.person(&id("038185004321")).unwrap().unwrap();
        assert_eq!(p.person.name.full(), "Nguyễn Thị Bảo Vân");
        assert_eq!(p.version, 1);
        assert_eq!(p.updated_at, NOW);
        let h = s.history(&id("038185004321")).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].kind, "created");
        assert_eq!(h[0].actor, Actor::Cli("test".into()));
        assert_eq!(h[0].reason, "test import");
        assert_eq!(h[0].changes["phone"], "0987654321");
        assert!(s.person(&id("001090000123")).unwrap().is_none());
    }
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    for s in engines() {
        import(&*s, &csv(ROWS), OnError::Abort);
        let (sum, _) = import(&*s, &csv(ROWS), OnError::Abort);
        assert_eq!(
            (sum.imported, sum.updated, sum.unchanged),
            (0, 0, 4),
            "{}",
            s.engine()
        );
        assert_eq!(s.history(&id("038090001234")).unwrap().len(), 1);
    }
}

#[test]
fn a_changed_row_becomes_an_update_event_with_old_and_new_values() {
    for s in engines() {
        import(&*s, &csv(ROWS), OnError::Abort);
        let changed = ROWS[0]
            .replace("Số 5 Hàm Rồng", "Số 9 Hàm Rồng")
            .replace("0912345678", "0901234567");
        let (sum, _) = import(&*s, &csv(&[&changed, ROWS[1]]), OnError::Abort);
        assert_eq!(
            (sum.imported, sum.updated, sum.unchanged),
            (0, 1, 1),
            "{}",
            s.engine()
        );
        let p = s.person(&id("038090001234")).unwrap().unwrap();
        assert_eq!(p.version, 2);
        assert_eq!(p.person.residence.address, "Số 9 Hàm Rồng");
        let h = s.history(&id("038090001234")).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].kind, "updated");
        let changes = h[1].changes.as_object().unwrap();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(
            h[1].changes["residence_address"],
            serde_json::json!(["Số 5 Hàm Rồng", "Số 9 Hàm Rồng"])
        );
        assert_eq!(
            h[1].changes["phone"],
            serde_json::json!(["0912345678", "0901234567"])
        );
        assert!(h[0].seq < h[1].seq);
    }
}

#[test]
fn the_current_record_is_the_projection_of_its_history() {
    for s in engines() {
        import(&*s, &csv(ROWS), OnError::Abort);
        let moved = ROWS[1].replace("14755,Số 7 Hàm Rồng", "14809,Số 1 Bắc Sơn");
        import(&*s, &csv(&[&moved]), OnError::Abort);
        let married = moved.replace(",basic,", ",smartphone,");
        import(&*s, &csv(&[&married]), OnError::Abort);
        for row in ROWS {
            let pid = id(&row[..12]);
            let current = csvfmt::fields(&s.person(&pid).unwrap().unwrap().person);
            assert_eq!(
                replay(&s.history(&pid).unwrap()),
                Some(current),
                "{}",
                s.engine()
            );
        }
    }
}

#[test]
fn a_writer_dropped_without_commit_writes_nothing() {
    for s in engines() {
        {
            let mut w = s
                .writer(&Actor::Cli("test".into()), "rolled back", NOW)
                .unwrap();
            let p = csvfmt::parse_row(&ROWS[0].split(',').collect::<Vec<_>>(), TODAY).unwrap();
            w.put(&p).unwrap();
        }
        assert!(
            s.person(&id("038090001234")).unwrap().is_none(),
            "{}",
            s.engine()
        );
        assert!(s.history(&id("038090001234")).unwrap().is_empty());
    }
}

#[test]
fn abort_writes_nothing_when_one_row_is_bad_and_skip_keeps_the_good_ones() {
    for s in engines() {
        let bad = ROWS[1].replace("1985-11-30", "1985-02-30");
        let text = csv(&[ROWS[0], &bad, ROWS[2]]);
        let (sum, rej) = import(&*s, &text, OnError::Abort);
        assert!(!sum.committed);
        assert_eq!((sum.imported, sum.rejected, sum.rows), (0, 1, 3));
        assert_eq!(
            rej,
            vec![Rejected {
                line: 3,
                column: "birth_date",
                reason: "\"1985-02-30\" is not a date (YYYY-MM-DD or YYYY)".into()
            }]
        );
        assert!(
            s.person(&id("038090001234")).unwrap().is_none(),
            "{}",
            s.engine()
        );

        let (sum, rej) = import(&*s, &text, OnError::Skip);
        assert!(sum.committed);
        assert_eq!((sum.imported, sum.rejected), (2, 1));
        assert_eq!(rej.len(), 1);
        assert!(s.person(&id("038090001234")).unwrap().is_some());
        assert!(s.person(&id("038060000777")).unwrap().is_some());
    }
}

#[test]
fn bad_rows_are_reported_with_line_column_and_reason() {
    let long = "x".repeat(1025);
    let nfd_name = "038090001234,Nguye\u{302}\u{303}n,Va\u{306}n,An,1990-05-02,M,38,14755,Số 5,,,,,none,alive,,,";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            ROWS[0].replacen("038090001234", "003090001234", 1),
            "personal_id",
            "digits 1-3 (003) are not a province code of the GSO list",
        ),
        (
            ROWS[0].replacen("038090001234", "03809000123", 1),
            "personal_id",
            "must have 12 digits, has 11 characters",
        ),
        (
            ROWS[0].replacen("038090001234", "03809000123X", 1),
            "personal_id",
            "character 12 is not a digit",
        ),
        (
            ROWS[0].replace(",M,", ",F,"),
            "sex",
            "personal ID says sex M, record says F",
        ),
        (
            ROWS[0].replace("1990-05-02", "1991-05-02"),
            "birth_date",
            "personal ID says born in 1990, record says 1991",
        ),
        (
            ROWS[0].replace("1990-05-02", "1990-13-02"),
            "birth_date",
            "\"1990-13-02\" is not a date (YYYY-MM-DD or YYYY)",
        ),
        (
            ROWS[0].replace("2021-06-01", "2027-06-01"),
            "card_issued",
            "card issue date is in the future",
        ),
        (
            ROWS[0].replace(",14755,", ",99999,"),
            "residence_unit",
            "unknown unit 99999 in the 2024 tree",
        ),
        (
            ROWS[0].replace(",14755,", ",380,"),
            "residence_unit",
            "unit 380 is not a commune",
        ),
        (
            ROWS[0].replace(",14755,", ",14a55,"),
            "residence_unit",
            "unit code must be VN or 2, 3 or 5 digits: got \"14a55\"",
        ),
        (
            ROWS[0].replace(",Văn,", ",V4n,"),
            "middle_name",
            "middle name contains '4', not a letter",
        ),
        (
            ROWS[0].replace("0912345678", "0241234567"),
            "phone",
            "prefix 024 is not a Vietnamese mobile prefix",
        ),
        (
            format!("{},extra", ROWS[0]),
            "*",
            "expected 18 columns, found 19",
        ),
        (
            ROWS[0].replacen(",", ";", 3),
            "*",
            "expected 18 columns, found 15",
        ),
        (
            ROWS[0].replace("Số 5 Hàm Rồng", &long),
            "residence_address",
            "field is longer than 1024 bytes",
        ),
        (
            ROWS[0].replace("Số 5 Hàm Rồng", &"ô".repeat(201)),
            "residence_address",
            "address has 201 characters, more than 200",
        ),
        (
            ROWS[0].replace(",alive,,", ",deceased,,"),
            "life_status",
            "\"deceased\" is not alive, dead, emigrated or absent",
        ),
    ];
    let s = &engines()[0];
    for (row, column, reason) in &cases {
        let (sum, rej) = import(&**s, &csv(&[row]), OnError::Abort);
        assert_eq!(sum.rejected, 1, "{row}");
        assert_eq!(
            (rej[0].line, rej[0].column, rej[0].reason.as_str()),
            (2, *column, *reason),
            "{row}"
        );
    }
    // An NFD name is not an error: it is stored in NFC.
    let (sum, rej) = import(&**s, &csv(&[nfd_name]), OnError::Abort);
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(sum.imported, 1);
    assert_eq!(
        s.person(&id("038090001234"))
            .unwrap()
            .unwrap()
            .person
            .name
            .full(),
        "Nguyễn Văn An"
    );
}

#[test]
fn a_duplicate_id_in_one_file_is_rejected_with_the_first_line() {
    for s in engines() {
        let (sum, rej) = import(&*s, &csv(&[ROWS[0], ROWS[1], ROWS[0]]), OnError::Skip);
        assert_eq!((sum.imported, sum.rejected), (2, 1), "{}", s.engine());
        assert_eq!(rej[0].line, 4);
        assert_eq!(rej[0].reason, "duplicate personal ID, first seen on line 2");
    }
}

#[test]
fn a_bom_and_crlf_line_ends_are_accepted() {
    for s in engines() {
        let text = format!("\u{feff}{}", csv(ROWS).replace('\n', "\r\n"));
        let (sum, rej) = import(&*s, &text, OnError::Abort);
        assert!(rej.is_empty(), "{rej:?}");
        assert_eq!(sum.imported, 4, "{}", s.engine());
        let card = s
            .person(&id("038090001234"))
            .unwrap()
            .unwrap()
            .person
            .card
            .unwrap();
        assert!(!card.revoked);
    }
}

#[test]
fn a_wrong_header_is_refused_before_anything_is_read() {
    let s = &engines()[0];
    let err = import_persons(
        &**s,
        "id,name\n1,2\n".as_bytes(),
        &opts(OnError::Skip),
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 1: header must be: personal_id,surname,"),
        "{err}"
    );
}

#[test]
fn search_finds_folded_names_within_the_unit_only() {
    for s in engines() {
        import(&*s, &csv(ROWS), OnError::Abort);
        let q = |name: &str, year: Option<i32>, within: &str| SearchQuery {
            name_prefix: eid_domain::fold(name),
            birth_year: year,
            birth_date: None,
            within: unit(within),
            limit: 50,
        };
        let ids = |q: SearchQuery| -> Vec<String> {
            s.search(&q)
                .unwrap()
                .into_iter()
                .map(|p| p.person.id.to_string())
                .collect()
        };
        assert_eq!(
            ids(q("NGUYEN THI BAO VAN", None, "38")),
            vec!["038185004321"],
            "{}",
            s.engine()
        );
        assert_eq!(
            ids(q("nguyễn thị", Some(1985), "14755")),
            vec!["038185004321"]
        );
        assert_eq!(ids(q("nguyen", Some(1986), "38")), Vec::<String>::new());
        assert_eq!(
            ids(q("le van an", None, "381")),
            Vec::<String>::new(),
            "other district"
        );
        assert_eq!(ids(q("", None, "38")).len(), 3);
        assert_eq!(ids(q("", None, "VN")).len(), 4);
        assert_eq!(ids(q("y nhi", None, "62")), vec!["062305000001"]);
        let exact = SearchQuery {
            birth_date: Some(date!(1990 - 05 - 02)),
            ..q("le", None, "VN")
        };
        assert_eq!(ids(exact), vec!["038090001234"]);
        assert_eq!(
            ids(q("%", None, "VN")),
            Vec::<String>::new(),
            "wildcards are literal"
        );
    }
}

#[test]
fn export_and_population_follow_the_unit_subtree() {
    for s in engines() {
        import(&*s, &csv(ROWS), OnError::Abort);
        let mut seen = Vec::new();
        let n = s.for_each_person(&unit("38"), &mut |p| {
            seen.push(p.id.to_string());
            Ok(())
        });
        assert_eq!(n.unwrap(), 3, "{}", s.engine());
        assert_eq!(
            seen,
            vec!["038060000777", "038090001234", "038185004321"],
            "ordered by personal ID"
        );
        let pop = s.population_by_commune(&unit("38")).unwrap();
        let got: Vec<(String, u64, u64)> = pop
            .iter()
            .map(|(u, p)| (u.as_str().to_owned(), p.total, p.alive))
            .collect();
        assert_eq!(
            got,
            vec![("14755".to_owned(), 2, 2), ("14809".to_owned(), 1, 0)]
        );
        assert_eq!(s.population_by_commune(&unit("23341")).unwrap().len(), 1);

        let mut out = Vec::new();
        eid_core::import::export_persons(&*s, &unit("380"), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3);
        // The export re-imports as unchanged.
        let (sum, rej) = import(&*s, &text, OnError::Abort);
        assert!(rej.is_empty());
        assert_eq!(sum.unchanged, 2);
    }
}

fn staff(username: &str, role: Role, unit_code: &str) -> NewStaff {
    NewStaff {
        username: username.into(),
        display_name: format!("Officer {username}"),
        role,
        unit: unit(unit_code),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
    }
}

#[test]
fn staff_usernames_are_unique_and_scopes_follow_the_tree() {
    for s in engines() {
        let a = s
            .create_staff(&staff("xa.14755", Role::Commune, "14755"), NOW)
            .unwrap();
        let err = s
            .create_staff(&staff("xa.14755", Role::Commune, "14758"), NOW)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err}",
            s.engine()
        );
        let (found, hash) = s.staff_by_username("xa.14755").unwrap().unwrap();
        assert_eq!(found.id, a);
        assert!(hash.starts_with("$argon2id$"));
        assert!(found.sees(&unit("14755")));
        assert!(!found.sees(&unit("14758")));
        let province = s
            .create_staff(&staff("tinh.38", Role::Province, "38"), NOW)
            .unwrap();
        let province = s.staff_by_id(province).unwrap().unwrap();
        assert!(province.sees(&unit("14809")) && !province.sees(&unit("23341")));
        assert_eq!(s.list_staff().unwrap().len(), 2);
        s.set_password(a, "new-hash").unwrap();
        assert_eq!(
            s.staff_by_username("xa.14755").unwrap().unwrap().1,
            "new-hash"
        );
        assert!(matches!(
            s.set_password(9999, "x"),
            Err(StoreError::NotFound)
        ));
    }
}

#[test]
fn sessions_expire_and_tokens_can_be_revoked() {
    for s in engines() {
        let sid = s
            .create_staff(&staff("tinh.38", Role::Province, "38"), NOW)
            .unwrap();
        let cookie = secret::token_hash(&secret::random_token());
        let later = NOW + time::Duration::hours(8);
        s.create_session(&cookie, sid, "csrf-1", NOW, later)
            .unwrap();
        let live = s
            .session(&cookie, NOW + time::Duration::hours(1))
            .unwrap()
            .unwrap();
        assert_eq!(
            (live.staff.id, live.csrf.as_str()),
            (sid, "csrf-1"),
            "{}",
            s.engine()
        );
        assert!(
            s.session(&cookie, later).unwrap().is_none(),
            "expired at its expiry"
        );
        s.delete_session(&cookie).unwrap();
        assert!(s.session(&cookie, NOW).unwrap().is_none());

        let token = secret::token_hash("api-token");
        let tid = s
            .create_api_token(sid, "bank gateway", &token, NOW)
            .unwrap();
        assert_eq!(
            s.api_token(&token).unwrap().map(|(id, st)| (id, st.id)),
            Some((tid, sid))
        );
        s.revoke_api_token(tid, NOW).unwrap();
        assert!(s.api_token(&token).unwrap().is_none());
        assert!(matches!(
            s.revoke_api_token(tid, NOW),
            Err(StoreError::NotFound)
        ));
        let listed = s.list_api_tokens().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].revoked_at, Some(NOW));
    }
}

#[test]
fn the_audit_trail_lists_newest_first() {
    for s in engines() {
        s.audit(
            &Actor::Staff(1),
            "person.read",
            "038090001234",
            "ok",
            "r1",
            NOW,
        )
        .unwrap();
        s.audit(
            &Actor::Token(2),
            "person.read",
            "062305000001",
            "denied",
            "r2",
            NOW,
        )
        .unwrap();
        let log = s.audit_log(10).unwrap();
        assert_eq!(log.len(), 2, "{}", s.engine());
        assert_eq!(
            (
                log[0].actor.clone(),
                log[0].outcome.as_str(),
                log[0].request_id.as_str()
            ),
            (Actor::Token(2), "denied", "r2")
        );
        assert_eq!(s.audit_log(1).unwrap().len(), 1);
    }
}

#[test]
fn events_and_audit_cannot_be_rewritten_in_sqlite() {
    let dir = std::env::temp_dir().join(unique("eid-append-only"));
    let path = dir.join("eid.db");
    let s = SqliteStore::open(path.to_str().unwrap()).unwrap();
    s.migrate().unwrap();
    import(&s, &csv(ROWS), OnError::Abort);
    s.audit(&Actor::Staff(1), "person.read", "x", "ok", "r1", NOW)
        .unwrap();
    assert_eq!(
        s.audit_log(10).unwrap().len(),
        1,
        "reading the trail flushes queued lines"
    );
    let raw = rusqlite::Connection::open(&path).unwrap();
    let raw_audit = rusqlite::Connection::open(eid_core::sqlite::audit_path(&path)).unwrap();
    raw.execute(
        "INSERT INTO oidc_release (personal_id, client_id, claims, released_at) VALUES ('x', 'c', 'name', 1)",
        [],
    )
    .unwrap();
    for (conn, sql) in [
        (&raw, "UPDATE oidc_release SET claims = 'rewritten'"),
        (&raw, "DELETE FROM oidc_release"),
        (&raw, "UPDATE person_event SET reason = 'rewritten'"),
        (&raw, "DELETE FROM person_event"),
        (&raw_audit, "UPDATE audit SET outcome = 'ok'"),
        (&raw_audit, "DELETE FROM audit"),
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn events_and_audit_cannot_be_rewritten_in_postgres() {
    let Some(url) = eid_core::testkit::postgres_url() else {
        return; // EID_SKIP_POSTGRES=1, said on stderr
    };
    let schema = unique("t");
    let s = PgStore::connect(&url, Some(&schema)).unwrap();
    s.migrate().unwrap();
    import(&s, &csv(ROWS), OnError::Abort);
    s.audit(&Actor::Staff(1), "person.read", "x", "ok", "r1", NOW)
        .unwrap();
    let mut raw = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE person_event SET reason = 'rewritten'",
        "DELETE FROM person_event",
        "UPDATE audit SET outcome = 'ok'",
        "DELETE FROM audit",
    ] {
        let sql = sql
            .replace("person_event", &format!("{schema}.person_event"))
            .replace("audit", &format!("{schema}.audit"));
        assert!(raw.execute(sql.as_str(), &[]).is_err(), "{sql}");
    }
}

#[test]
fn concurrent_audit_lines_are_all_kept() {
    for s in engines() {
        std::thread::scope(|scope| {
            for t in 0..8 {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..50 {
                        s.audit(
                            &Actor::Staff(t),
                            "person.read",
                            &format!("{t}-{i}"),
                            "ok",
                            "r",
                            NOW,
                        )
                        .unwrap();
                    }
                });
            }
        });
        let log = s.audit_log(1000).unwrap();
        assert_eq!(log.len(), 400, "{}", s.engine());
        let mut targets: Vec<&str> = log.iter().map(|e| e.target.as_str()).collect();
        targets.sort_unstable();
        targets.dedup();
        assert_eq!(targets.len(), 400);
    }
}

#[test]
fn queued_audit_lines_reach_the_database_without_a_reader() {
    let dir = std::env::temp_dir().join(unique("eid-audit-flush"));
    let path = dir.join("eid.db");
    {
        let s = SqliteStore::open(path.to_str().unwrap()).unwrap();
        s.migrate().unwrap();
        s.audit(&Actor::Staff(1), "person.read", "a", "ok", "r1", NOW)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let raw = rusqlite::Connection::open(eid_core::sqlite::audit_path(&path)).unwrap();
        let n: i64 = raw
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the flusher wrote the line");
        s.audit(&Actor::Staff(1), "person.read", "b", "ok", "r2", NOW)
            .unwrap();
    }
    // Dropping the store flushed the second line.
    let raw = rusqlite::Connection::open(eid_core::sqlite::audit_path(&path)).unwrap();
    let n: i64 = raw
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_bulk_load_into_an_empty_register_rebuilds_every_index() {
    let dir = std::env::temp_dir().join(unique("eid-bulk"));
    let path = dir.join("eid.db");
    let s = SqliteStore::open(path.to_str().unwrap()).unwrap();
    s.migrate().unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let indexes = |raw: &rusqlite::Connection| -> Vec<String> {
        let mut st = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = indexes(&raw);
    assert!(before.len() >= 4, "{before:?}");
    import(&s, &csv(ROWS), OnError::Abort);
    assert_eq!(indexes(&raw), before);

    if let Some(url) = eid_core::testkit::postgres_url() {
        let schema = unique("t");
        let s = PgStore::connect(&url, Some(&schema)).unwrap();
        s.migrate().unwrap();
        let mut raw = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut indexes = || -> Vec<String> {
            raw.query(
                "SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
                &[&schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        let before = indexes();
        assert!(before.len() >= 5, "{before:?}");
        import(&s, &csv(ROWS), OnError::Abort);
        assert_eq!(indexes(), before);
    }
}

#[test]
fn household_members_are_listed_eldest_first_within_the_unit() {
    for s in engines() {
        let son =
            "038205001111,Lê,Minh,Khôi,2005-03-01,M,38,14755,Số 5 Hàm Rồng,,,HK38-1,,none,alive,,,";
        import(
            &*s,
            &csv(&[ROWS[0], ROWS[1], ROWS[2], ROWS[3], son]),
            OnError::Abort,
        );
        let ids = |h: &str, within: &str| -> Vec<String> {
            s.household(h, &unit(within))
                .unwrap()
                .into_iter()
                .map(|p| p.person.id.to_string())
                .collect()
        };
        assert_eq!(
            ids("HK38-1", "14755"),
            vec!["038090001234", "038205001111"],
            "{}",
            s.engine()
        );
        assert_eq!(
            ids("HK38-1", "381"),
            Vec::<String>::new(),
            "outside the unit"
        );
        assert_eq!(ids("HK-none", "VN"), Vec::<String>::new());
    }
}

// ---------------------------------------------------------------------------------------------
// Staff, sessions, tokens and audit: where the two engines used to differ.

#[test]
fn a_duplicate_username_is_the_same_conflict_on_both_engines() {
    for s in engines() {
        s.create_staff(&staff("xa.14755", Role::Commune, "14755"), NOW)
            .unwrap();
        let err = s
            .create_staff(&staff("xa.14755", Role::Province, "38"), NOW)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict("username already exists")),
            "{}: {err:?}",
            s.engine()
        );
        // Names differ by case are different names on both engines.
        s.create_staff(&staff("XA.14755", Role::Commune, "14755"), NOW)
            .unwrap();
        assert_eq!(s.list_staff().unwrap().len(), 2, "{}", s.engine());
    }
}

#[test]
fn sessions_and_tokens_for_unknown_accounts_or_taken_hashes_are_refused_alike() {
    for s in engines() {
        let e = s.engine();
        let sid = s
            .create_staff(&staff("tinh.38", Role::Province, "38"), NOW)
            .unwrap();
        let later = NOW + time::Duration::hours(1);
        let err = s
            .create_session(b"cookie-x", sid + 100, "c", NOW, later)
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{e}: {err:?}");
        s.create_session(b"cookie-1", sid, "c", NOW, later).unwrap();
        let err = s
            .create_session(b"cookie-1", sid, "c2", NOW, later)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict("session already exists")),
            "{e}: {err:?}"
        );
        // The refused session changed nothing.
        assert_eq!(s.session(b"cookie-1", NOW).unwrap().unwrap().csrf, "c");

        let err = s
            .create_api_token(sid + 100, "x", b"token-x", NOW)
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{e}: {err:?}");
        s.create_api_token(sid, "a", b"token-1", NOW).unwrap();
        let err = s.create_api_token(sid, "b", b"token-1", NOW).unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict("token already exists")),
            "{e}: {err:?}"
        );
        assert_eq!(s.list_api_tokens().unwrap().len(), 1, "{e}");
    }
}

#[test]
fn integrity_errors_come_back_as_the_same_rule_on_both_engines() {
    use eid_core::sql::{self, Val};
    use eid_core::store::Rule;
    for s in engines() {
        let e = s.engine();
        let sid = s
            .create_staff(&staff("xa.14755", Role::Commune, "14755"), NOW)
            .unwrap();
        let insert = |name: Val, unit: Val| {
            sql::transact(s.db(), |tx| {
                tx.exec(
                    "INSERT INTO staff (username, display_name, role, unit, password_hash, created_at) \
                     VALUES ($1, 'x', 'commune', $2, 'h', 0)",
                    &[name, unit],
                )
            })
        };
        let rule = |r: Result<u64, StoreError>| match r {
            Err(StoreError::Violated(rule, _)) => Some(rule),
            other => panic!("{e}: {other:?}"),
        };
        assert_eq!(
            rule(insert("xa.14755".into(), "14755".into())),
            Some(Rule::Unique),
            "{e}"
        );
        assert_eq!(
            rule(insert("other".into(), Val::Null)),
            Some(Rule::NotNull),
            "{e}"
        );
        let fk = sql::transact(s.db(), |tx| {
            tx.exec(
                "INSERT INTO api_token (staff_id, name, token_hash, created_at) VALUES ($1, 'x', $2, 0)",
                &[Val::from(sid + 100), Val::from(b"h".as_slice())],
            )
        });
        assert_eq!(rule(fk), Some(Rule::ForeignKey), "{e}");
        // The message names the rule, never the values.
        let Err(err) = insert("xa.14755".into(), "14755".into()) else {
            panic!("{e}: inserted twice")
        };
        let msg = err.to_string();
        assert!(msg.starts_with("database error: "), "{e}: {msg}");
        assert!(!msg.contains("xa.14755"), "{e}: {msg}");
    }
}

#[test]
fn a_disabled_account_is_found_by_name_but_its_sessions_and_tokens_are_not() {
    for s in engines() {
        let e = s.engine();
        let sid = s
            .create_staff(&staff("xa.14755", Role::Commune, "14755"), NOW)
            .unwrap();
        let later = NOW + time::Duration::hours(8);
        s.create_session(b"cookie", sid, "csrf", NOW, later)
            .unwrap();
        let tid = s.create_api_token(sid, "sync", b"token", NOW).unwrap();
        assert!(s.session(b"cookie", NOW).unwrap().is_some(), "{e}");

        s.set_staff_disabled(sid, true).unwrap();
        let (found, hash) = s.staff_by_username("xa.14755").unwrap().unwrap();
        assert!(found.disabled, "{e}: sign-in must see the flag");
        assert!(hash.starts_with("$argon2id$"));
        assert!(s.staff_by_id(sid).unwrap().unwrap().disabled, "{e}");
        assert!(s.list_staff().unwrap()[0].disabled, "{e}");
        assert!(s.session(b"cookie", NOW).unwrap().is_none(), "{e}");
        assert!(s.api_token(b"token").unwrap().is_none(), "{e}");
        // Disabling revokes nothing: the rows stay, and come back with the account.
        assert_eq!(s.list_api_tokens().unwrap()[0].revoked_at, None, "{e}");

        s.set_staff_disabled(sid, false).unwrap();
        assert!(!s.staff_by_id(sid).unwrap().unwrap().disabled, "{e}");
        let back = s.session(b"cookie", NOW).unwrap().unwrap();
        assert_eq!((back.staff.id, back.staff.disabled), (sid, false), "{e}");
        assert_eq!(
            s.api_token(b"token").unwrap().map(|(id, st)| (id, st.id)),
            Some((tid, sid)),
            "{e}"
        );
        assert!(
            matches!(
                s.set_staff_disabled(sid + 100, true),
                Err(StoreError::NotFound)
            ),
            "{e}"
        );
    }
}

#[test]
fn a_session_lives_until_the_millisecond_before_its_expiry_and_expired_ones_are_cleared() {
    for s in engines() {
        let e = s.engine();
        let sid = s
            .create_staff(&staff("tinh.38", Role::Province, "38"), NOW)
            .unwrap();
        let expiry = NOW + time::Duration::minutes(30);
        s.create_session(b"old", sid, "c1", NOW, expiry).unwrap();
        let ms = time::Duration::milliseconds(1);
        let live = s.session(b"old", expiry - ms).unwrap().unwrap();
        assert_eq!(live.expires_at, expiry, "{e}");
        assert!(s.session(b"old", expiry).unwrap().is_none(), "{e}");
        assert!(s.session(b"old", expiry + ms).unwrap().is_none(), "{e}");
        // A session that is not expired yet survives a new sign-in...
        s.create_session(
            b"new",
            sid,
            "c2",
            expiry - ms,
            expiry + time::Duration::hours(1),
        )
        .unwrap();
        assert!(s.session(b"old", expiry - ms).unwrap().is_some(), "{e}");
        // ...an expired one is deleted by it: asked about an earlier moment, it is gone.
        s.create_session(
            b"newer",
            sid,
            "c3",
            expiry,
            expiry + time::Duration::hours(1),
        )
        .unwrap();
        assert!(s.session(b"old", NOW).unwrap().is_none(), "{e}");
        assert_eq!(
            s.session(b"new", expiry).unwrap().unwrap().csrf,
            "c2",
            "{e}"
        );
        // Deleting an unknown session is not an error.
        s.delete_session(b"never").unwrap();
    }
}

#[test]
fn revoking_a_token_revokes_that_token_only_and_only_once() {
    for s in engines() {
        let e = s.engine();
        let sid = s
            .create_staff(&staff("tinh.38", Role::Province, "38"), NOW)
            .unwrap();
        let a = s.create_api_token(sid, "bank", b"hash-a", NOW).unwrap();
        let b = s
            .create_api_token(sid, "post", b"hash-b", NOW + time::Duration::seconds(1))
            .unwrap();
        assert!(a < b, "{e}");
        let at = NOW + time::Duration::days(2);
        s.revoke_api_token(a, at).unwrap();
        assert!(s.api_token(b"hash-a").unwrap().is_none(), "{e}");
        assert_eq!(s.api_token(b"hash-b").unwrap().map(|(id, _)| id), Some(b));
        assert!(
            matches!(s.revoke_api_token(a, at), Err(StoreError::NotFound)),
            "{e}"
        );
        assert!(
            matches!(s.revoke_api_token(b + 100, at), Err(StoreError::NotFound)),
            "{e}"
        );
        let listed: Vec<_> = s
            .list_api_tokens()
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.name, t.revoked_at))
            .collect();
        assert_eq!(
            listed,
            vec![(a, "bank".into(), Some(at)), (b, "post".into(), None)],
            "{e}"
        );
        assert!(s.api_token(b"hash-unknown").unwrap().is_none(), "{e}");
    }
}

#[test]
fn the_audit_trail_keeps_append_order_and_filters_alike() {
    use eid_core::audit::AuditQuery;
    for s in engines() {
        let e = s.engine();
        // Appended out of time order, and two at the same instant: append order wins.
        let lines = [
            (Actor::Staff(1), "auth.login", "xa.14755", NOW),
            (Actor::Staff(1), "person.read", "038090001234", NOW),
            (
                Actor::Token(2),
                "person.read",
                "062305000001",
                NOW - time::Duration::hours(1),
            ),
            (Actor::Anonymous, "auth.login", "nobody", NOW),
            (Actor::Staff(1), "person.read", "062305000001", NOW),
        ];
        for (i, (actor, action, target, at)) in lines.iter().enumerate() {
            s.audit(actor, action, target, "ok", &format!("r{i}"), *at)
                .unwrap();
        }
        let rids = |q: AuditQuery| -> Vec<String> {
            s.audit_query(&q)
                .unwrap()
                .into_iter()
                .map(|a| a.request_id)
                .collect()
        };
        let all = s.audit_log(10).unwrap();
        assert_eq!(
            all.iter()
                .map(|a| a.request_id.as_str())
                .collect::<Vec<_>>(),
            ["r4", "r3", "r2", "r1", "r0"],
            "{e}"
        );
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "{e}");
        assert_eq!(all[2].at, NOW - time::Duration::hours(1), "{e}");
        assert_eq!(all[1].actor, Actor::Anonymous, "{e}");
        let q = |limit| AuditQuery {
            limit,
            ..Default::default()
        };
        assert_eq!(
            rids(AuditQuery {
                actor: Some(Actor::Staff(1)),
                ..q(10)
            }),
            ["r4", "r1", "r0"],
            "{e}"
        );
        assert_eq!(
            rids(AuditQuery {
                action: Some("person.read".into()),
                target: Some("062305000001".into()),
                ..q(10)
            }),
            ["r4", "r2"],
            "{e}"
        );
        assert_eq!(
            rids(AuditQuery {
                actor: Some(Actor::Staff(1)),
                action: Some("auth.login".into()),
                ..q(10)
            }),
            ["r0"],
            "{e}"
        );
        // Paging: the next page starts after the last entry seen.
        let first = s.audit_query(&q(2)).unwrap();
        assert_eq!(first.len(), 2, "{e}");
        assert_eq!(
            rids(AuditQuery {
                before_seq: Some(first[1].seq),
                ..q(2)
            }),
            ["r2", "r1"],
            "{e}"
        );
        assert!(rids(q(0)).is_empty(), "{e}");
        assert!(
            rids(AuditQuery {
                target: Some("none".into()),
                ..q(10)
            })
            .is_empty(),
            "{e}"
        );
    }
}

/// A load into an empty register skips looking up stored rows for a batch of IDs it has not
/// written (PostgreSQL); a person written again in a later batch is still found and updated.
#[test]
fn a_person_written_again_in_a_later_batch_of_a_bulk_load_is_an_update() {
    use eid_gen::{GenConfig, Generator};
    let people: Vec<eid_domain::Person> = Generator::new(&GenConfig {
        count: 5_200,
        seed: 21,
        province: Some(UnitCode::parse("62").unwrap()),
        today: date!(2026 - 11 - 23),
    })
    .unwrap()
    .collect();
    for s in engines() {
        let mut w = s
            .writer(&Actor::Cli("test".into()), "bulk load", NOW)
            .unwrap();
        for p in &people {
            w.put(p).unwrap();
        }
        // The first person again, changed, after the first batch of 5,000 was written.
        let mut again = people[0].clone();
        again.residence.address = "Số 77 đường Mới".into();
        w.put(&again).unwrap();
        let counts = w.commit().unwrap();
        assert_eq!(
            (counts.imported, counts.updated),
            (5_200, 1),
            "{}",
            s.engine()
        );
        let stored = s.person(&people[0].id).unwrap().unwrap();
        assert_eq!(stored.version, 2, "{}", s.engine());
        assert_eq!(stored.person.residence.address, "Số 77 đường Mới");
        let kinds: Vec<String> = s
            .history(&people[0].id)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["created", "updated"], "{}", s.engine());
    }
}
