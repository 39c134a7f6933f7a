//! Quick checks of the engine against a real server. They run only when
//! `EID_TEST_DATABASE_URL` names one (`postgres://postgres@127.0.0.1:54329/postgres`); each
//! test works in a fresh schema, dropped at its end. The shared conformance suite is
//! `tests/store.rs`.

use super::copy::{copy_bytea, copy_text, created_json};
use super::*;
use crate::store::{ApiToken, NewStaff, Role};
use time::macros::{date, datetime};
use time::Date;

const TODAY: Date = date!(2026 - 01 - 01);
pub(super) const NOW: OffsetDateTime = datetime!(2026-01-01 08:00 UTC);

/// A fresh store in its own schema, or `None` without a test database.
pub(super) struct Fresh {
    pub(super) store: PgStore,
    url: String,
    schema: String,
}

impl Fresh {
    /// Another store on the same schema whose pool has one connection (to see what that
    /// connection keeps).
    pub(super) fn one_connection(&self) -> PgStore {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        PgStore::connect(&format!("{}{sep}pool=1", self.url), Some(&self.schema)).unwrap()
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // keep the schema to look at
        }
        if let Ok(mut c) = Client::connect(&split_pool(&self.url).unwrap().0, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP SCHEMA {} CASCADE",
                quote_ident(&self.schema)
            ));
        }
    }
}

pub(super) fn fresh(name: &str) -> Option<Fresh> {
    fresh_at(name, i32::MAX)
}

impl Fresh {
    /// A connection of its own to the store's schema, outside the store's pool.
    pub(super) fn raw(&self) -> Client {
        let mut c = Client::connect(&split_pool(&self.url).unwrap().0, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {}", quote_ident(&self.schema)))
            .unwrap();
        c
    }
}

/// A fresh store migrated up to version `last`.
pub(super) fn fresh_at(name: &str, last: i32) -> Option<Fresh> {
    let url = crate::testkit::postgres_url()?;
    let salt = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    let schema = format!("eid_pg_{name}_{}_{salt}", std::process::id());
    let store = PgStore::connect(&url, Some(&schema)).unwrap();
    store.migrate_to(last).unwrap();
    Some(Fresh { store, url, schema })
}

const BASE: [&str; 18] = [
    "038090001234",
    "Lê",
    "Văn",
    "An",
    "1990-05-02",
    "M",
    "38",
    "14755",
    "Thôn 3",
    "",
    "",
    "HH-1",
    "0912345678",
    "smartphone",
    "alive",
    "",
    "2021-06-01",
    "0",
];

pub(super) fn person(changes: &[(usize, &str)]) -> Person {
    let mut f = BASE;
    for &(i, v) in changes {
        f[i] = v;
    }
    csvfmt::parse_row(&f, TODAY).unwrap()
}

pub(super) fn id(s: &str) -> PersonalId {
    PersonalId::parse(s).unwrap()
}

pub(super) fn unit(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

pub(super) fn put_all(store: &PgStore, persons: &[Person]) -> BatchCounts {
    let mut w = store
        .writer(&Actor::Cli("test".into()), "test", NOW)
        .unwrap();
    for p in persons {
        w.put(p).unwrap();
    }
    w.commit().unwrap()
}

pub(super) fn counts(imported: u64, updated: u64, unchanged: u64) -> BatchCounts {
    BatchCounts {
        imported,
        updated,
        unchanged,
    }
}

#[test]
fn url_pool_size_is_split_off() {
    assert_eq!(
        split_pool("postgres://u@h:1/db").unwrap(),
        ("postgres://u@h:1/db".into(), DEFAULT_POOL)
    );
    assert_eq!(
        split_pool("postgres://u@h:1/db?pool=3").unwrap(),
        ("postgres://u@h:1/db".into(), 3)
    );
    assert_eq!(
        split_pool("postgres://u@h/db?sslmode=disable&pool=2").unwrap(),
        ("postgres://u@h/db?sslmode=disable".into(), 2)
    );
    assert!(split_pool("postgres://u@h/db?pool=0").is_err());
}

#[test]
fn statements_are_kept_per_connection_and_prepared_again_when_the_schema_changes() {
    let Some(t) = fresh("statements") else {
        return;
    };
    // One connection, so that every call below meets the same kept statements.
    let s = t.one_connection();
    let columns = |s: &PgStore| -> Result<usize, StoreError> {
        crate::sql::read(s.db(), |tx| {
            let rows = tx.query("SELECT * FROM probe ORDER BY a", &[])?;
            Ok(rows.first().map_or(0, Vec::len))
        })
    };
    crate::sql::transact(s.db(), |tx| {
        tx.exec("CREATE TABLE probe (a bigint)", &[])?;
        tx.exec("INSERT INTO probe (a) VALUES ($1)", &[Val::Int(1)])?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    for _ in 0..3 {
        assert_eq!(columns(&s).unwrap(), 1);
    }
    // Prepared once on the connection, not once a call.
    let kept = |s: &PgStore| -> i64 {
        crate::sql::read(s.db(), |tx| {
            tx.query(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                &[Val::Text("SELECT * FROM probe ORDER BY a".into())],
            )
        })
        .unwrap()[0][0]
            .clone()
            .int()
            .unwrap()
    };
    assert_eq!(kept(&s), 1);

    // A change of the table's columns outside a migration: the kept statement's result no
    // longer fits; the call that meets it fails and the statement is prepared again after.
    crate::sql::transact(s.db(), |tx| {
        tx.exec("ALTER TABLE probe ADD COLUMN b bigint", &[])?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    assert!(columns(&s).is_err());
    assert_eq!(columns(&s).unwrap(), 2);

    // After a migration every kept statement is dropped before the next call meets it.
    crate::sql::transact(s.db(), |tx| {
        tx.exec("ALTER TABLE probe ADD COLUMN c bigint", &[])?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    s.migrate().unwrap();
    assert_eq!(columns(&s).unwrap(), 3);
    assert_eq!(kept(&s), 1);
}

/// A person's lookup by ID (its partition key, then its row) runs kept statements; a
/// per-database key is kept with the connection once the unit of work that read it committed,
/// never from one that rolled back.
#[test]
fn lookups_and_keys_are_kept_on_the_connection() {
    let Some(t) = fresh("kept") else {
        return;
    };
    let s = t.one_connection();
    put_all(&s, &[person(&[])]);
    let prepared = |s: &PgStore, like: &str| -> i64 {
        crate::sql::read(s.db(), |tx| {
            tx.int(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1",
                &[Val::Text(like.into())],
            )
        })
        .unwrap()
    };
    for _ in 0..8 {
        let found = s.person(&id("038090001234")).unwrap().unwrap();
        assert_eq!(found.person.id.as_str(), "038090001234");
        assert!(s.person(&id("038090009999")).unwrap().is_none());
    }
    assert_eq!(prepared(&s, "SELECT province FROM person_key%"), 1);
    // The read names the person's partition (Thanh Hóa's, 038), and is planned once for the
    // connection: a generic plan after PostgreSQL's five custom ones.
    assert_eq!(
        prepared(
            &s,
            "SELECT personal_id, surname%FROM person_038 person WHERE%"
        ),
        1
    );
    assert_eq!(
        prepared(&s, "SELECT personal_id, surname%FROM person WHERE%"),
        0
    );
    let generic = crate::sql::read(s.db(), |tx| {
        tx.int(
            "SELECT generic_plans FROM pg_prepared_statements \
             WHERE statement LIKE 'SELECT personal_id, surname%FROM person_038 person WHERE%'",
            &[],
        )
    })
    .unwrap();
    assert!(generic > 0, "generic plans: {generic}");

    // Inserted and read by a unit of work that then fails: not kept.
    let failed = crate::sql::transact(s.db(), |tx| {
        tx.exec(
            "INSERT INTO app_setting (key, value) VALUES ('test_key', $1)",
            &[Val::Blob(vec![1])],
        )?;
        assert_eq!(tx.stored_key("test_key")?, Some(vec![1]));
        Err::<(), _>(StoreError::Db("rolled back on purpose".into()))
    });
    assert!(failed.is_err());
    let read = |s: &PgStore| crate::sql::read(s.db(), |tx| tx.stored_key("test_key")).unwrap();
    assert_eq!(read(&s), None);

    // Committed, then read: kept, so the connection answers without asking again (a key is
    // written once and never changed; deleting it here only shows where the answer came from).
    crate::sql::transact(s.db(), |tx| {
        tx.exec(
            "INSERT INTO app_setting (key, value) VALUES ('test_key', $1)",
            &[Val::Blob(vec![2])],
        )
    })
    .unwrap();
    assert_eq!(read(&s), Some(vec![2]));
    let mut raw = t.raw();
    raw.execute("DELETE FROM app_setting WHERE key = 'test_key'", &[])
        .unwrap();
    assert_eq!(read(&s), Some(vec![2]));
    // After a migration the connection reads its keys again.
    s.migrate().unwrap();
    assert_eq!(read(&s), None);
}

/// A lookup with a hint of where the person lives reads that province's partition alone when
/// they are there, and answers as a plain lookup when they are not (moved) or do not exist.
#[test]
fn a_lookup_near_a_province_falls_back_when_the_person_is_elsewhere() {
    let Some(t) = fresh("near") else {
        return;
    };
    let s = &t.store;
    put_all(s, &[person(&[])]);
    let id_ = id("038090001234");
    let home = s.person(&id_).unwrap().unwrap();
    let province = |p: i64| p * crate::store::PROVINCE_SPAN + 1;
    let home_path = crate::store::unit_path(&home.person.residence.unit).unwrap();
    let near = s.person_near(&id_, home_path).unwrap().unwrap();
    assert_eq!(near, home);
    let elsewhere = s.person_near(&id_, province(1)).unwrap().unwrap();
    assert_eq!(elsewhere, home);
    assert!(s
        .person_near(&id("038090009999"), home_path)
        .unwrap()
        .is_none());
    assert!(s
        .person_near(&id("038090009999"), province(1))
        .unwrap()
        .is_none());
}

#[test]
fn audit_months_are_made_ahead_while_the_server_runs() {
    let Some(t) = fresh("ahead") else {
        return;
    };
    let months = |s: &PgStore| -> i64 {
        crate::sql::read(s.db(), |tx| {
            tx.query(
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'audit'::regclass AND c.relname LIKE 'audit\\_2%'",
                &[],
            )
        })
        .unwrap()[0][0]
            .clone()
            .int()
            .unwrap()
    };
    // `migrate` made the current month and the next three.
    let before = months(&t.store);
    assert!(before >= 4, "{before}");
    assert_eq!(t.store.prepare_ahead().unwrap(), 0);
    // Asked for six ahead, the three missing are made, once.
    assert_eq!(t.store.audit_months_ahead(6).unwrap(), 3);
    assert_eq!(months(&t.store), before + 3);
    assert_eq!(t.store.audit_months_ahead(6).unwrap(), 0);
    // A line written at the last of them goes to its own partition, not the default one.
    let far = crate::sql::read(t.store.db(), |tx| {
        tx.query(
            "SELECT (extract(epoch FROM (date_trunc('month', now() AT TIME ZONE 'Asia/Ho_Chi_Minh') \
             + interval '6 months' + interval '1 day') AT TIME ZONE 'Asia/Ho_Chi_Minh') * 1000)::bigint",
            &[],
        )
    })
    .unwrap()[0][0]
        .clone()
        .int()
        .unwrap();
    crate::sql::transact(t.store.db(), |tx| {
        tx.exec(
            "INSERT INTO audit (at, actor, action, target, outcome, request_id) \
             VALUES ($1, 'test', 'probe', '-', 'ok', 'r')",
            &[Val::Int(far)],
        )?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let part = crate::sql::read(t.store.db(), |tx| {
        tx.query(
            "SELECT tableoid::regclass::text FROM audit WHERE action = 'probe'",
            &[],
        )
    })
    .unwrap()[0][0]
        .clone()
        .text()
        .unwrap();
    assert!(part.starts_with("audit_2"), "{part}");
}

#[test]
fn connection_errors_say_why() {
    // Nothing listens on port 1.
    let Err(e) = PgStore::connect("postgres://postgres@127.0.0.1:1/x?connect_timeout=5", None)
    else {
        panic!("connected to port 1")
    };
    // Unavailable (the HTTP layer answers 503 with Retry-After), and the cause is kept.
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("database unavailable: error connecting to server: "),
        "{msg}"
    );
}

#[test]
fn copy_text_escapes_specials() {
    let mut out = Vec::new();
    copy_text(&mut out, "a\\b\tc\nd\re");
    assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
    let mut out = Vec::new();
    copy_bytea(&mut out, &[0x00, 0xab]);
    assert_eq!(out, b"\\\\x00ab");
}

#[test]
fn created_json_is_created_changes() {
    let p = person(&[(8, "Số 5 \"Nhà A\" \\ ngõ 2"), (2, "")]);
    let fields = csvfmt::fields(&p);
    let mut out = Vec::new();
    created_json(&mut out, &fields);
    // Undo the COPY escaping: JSON text has no raw tab or newline, so only backslashes.
    let text = String::from_utf8(out).unwrap().replace("\\\\", "\\");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, store::created_changes(&fields));
}

#[test]
fn migrate_twice() {
    let Some(t) = fresh("migrate") else { return };
    t.store.migrate().unwrap();
    t.store.ping().unwrap();
    assert_eq!(t.store.engine(), "postgres");
    let mut c = t.store.conn().unwrap();
    let n: i64 = c
        .c()
        .unwrap()
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, i64::try_from(MIGRATIONS.len()).unwrap());
}

#[test]
fn writer_creates_updates_and_skips_unchanged() {
    let Some(t) = fresh("writer") else { return };
    let s = &t.store;
    let a = person(&[]);
    let b = person(&[
        (0, "038090001235"),
        (3, "Bình"),
        (12, ""),
        (13, "none"),
        (16, ""),
        (17, ""),
    ]);
    assert_eq!(put_all(s, &[a.clone(), b.clone()]), counts(2, 0, 0));

    let got = s.person(&a.id).unwrap().unwrap();
    assert_eq!(got.person, a);
    assert_eq!(got.version, 1);
    assert_eq!(got.updated_at, NOW);
    assert_eq!(s.person(&b.id).unwrap().unwrap().person, b);
    assert!(s.person(&id("038090009999")).unwrap().is_none());

    // The same again: nothing changes.
    assert_eq!(put_all(s, &[a.clone(), b.clone()]), counts(0, 0, 2));
    assert_eq!(s.history(&a.id).unwrap().len(), 1);

    // A change: one updated event with [old, new].
    let a2 = person(&[(8, "Thôn 4"), (12, "0987654321")]);
    assert_eq!(put_all(s, &[a2.clone(), b.clone()]), counts(0, 1, 1));
    let got = s.person(&a.id).unwrap().unwrap();
    assert_eq!(got.person, a2);
    assert_eq!(got.version, 2);
    let h = s.history(&a.id).unwrap();
    assert_eq!(h.len(), 2);
    assert!(h[0].seq < h[1].seq);
    assert_eq!(h[0].kind, "created");
    assert_eq!(h[0].changes, store::created_changes(&csvfmt::fields(&a)));
    assert_eq!(h[0].actor, Actor::Cli("test".into()));
    assert_eq!(h[0].reason, "test");
    assert_eq!(h[0].at, NOW);
    assert_eq!(h[1].kind, "updated");
    assert_eq!(
        h[1].changes,
        serde_json::json!({"residence_address": ["Thôn 3", "Thôn 4"], "phone": ["0912345678", "0987654321"]})
    );
    assert_eq!(store::replay(&h), Some(csvfmt::fields(&a2)));

    // Quotes and backslashes survive COPY and JSON.
    let d = person(&[(0, "038090001237"), (8, "Số 5 \"Nhà A\" \\ ngõ 2\\")]);
    assert_eq!(put_all(s, std::slice::from_ref(&d)), counts(1, 0, 0));
    assert_eq!(s.person(&d.id).unwrap().unwrap().person, d);
    assert_eq!(
        s.history(&d.id).unwrap()[0].changes,
        store::created_changes(&csvfmt::fields(&d))
    );

    // The same person twice in one batch, and a new one changed within the batch.
    let a3 = person(&[(8, "Thôn 5")]);
    let c1 = person(&[(0, "038090001236")]);
    let c2 = person(&[(0, "038090001236"), (3, "Cường")]);
    assert_eq!(
        put_all(s, &[a3.clone(), a.clone(), c1, c2.clone()]),
        counts(1, 3, 0)
    );
    let got = s.person(&a.id).unwrap().unwrap();
    assert_eq!((got.person, got.version), (a.clone(), 4));
    let got = s.person(&c2.id).unwrap().unwrap();
    assert_eq!((got.person, got.version), (c2.clone(), 2));
    for p in [&a, &b, &c2] {
        assert_eq!(
            store::replay(&s.history(&p.id).unwrap()),
            Some(csvfmt::fields(p))
        );
    }
}

#[test]
fn a_small_pool_serves_many_threads() {
    let Some(t) = fresh("pool") else { return };
    let url = format!(
        "{}{}pool=2",
        t.url,
        if t.url.contains('?') { '&' } else { '?' }
    );
    let s = PgStore::connect(&url, Some(&t.schema)).unwrap();
    std::thread::scope(|scope| {
        for i in 0..8 {
            let s = &s;
            scope.spawn(move || {
                for j in 0..10 {
                    s.audit(
                        &Actor::Staff(i),
                        "test.pool",
                        &j.to_string(),
                        "ok",
                        "r",
                        NOW,
                    )
                    .unwrap();
                    s.audit_log(5).unwrap();
                }
            });
        }
    });
    assert_eq!(s.audit_log(1000).unwrap().len(), 80);
    assert!(s.pool.lock().open <= 2);
}

#[test]
fn dropping_a_writer_rolls_back() {
    let Some(t) = fresh("rollback") else { return };
    let s = &t.store;
    {
        let mut w = s.writer(&Actor::Staff(1), "x", NOW).unwrap();
        w.put(&person(&[])).unwrap();
    }
    assert!(s.person(&id(BASE[0])).unwrap().is_none());
    assert!(s.history(&id(BASE[0])).unwrap().is_empty());
    // The connection went back to the pool in a usable state.
    assert_eq!(put_all(s, &[person(&[])]), counts(1, 0, 0));
}

#[test]
fn search_and_scopes() {
    let Some(t) = fresh("search") else { return };
    let s = &t.store;
    let p1 = person(&[]); // Lê Văn An, 1990-05-02, 14755 (district 380, province 38)
    let p2 = person(&[(0, "038090001235"), (3, "Anh"), (7, "14758")]);
    let p3 = person(&[
        (0, "037085000001"),
        (3, "Bảo"),
        (4, "1985"),
        (7, "14752"),
        (6, ""),
    ]);
    let p4 = person(&[
        (0, "001190000001"),
        (1, "Nguyễn"),
        (2, "Thị"),
        (3, "Hoa"),
        (5, "F"),
        (7, "00001"),
    ]);
    put_all(s, &[p1.clone(), p2.clone(), p3.clone(), p4.clone()]);

    let q = |name: &str, within: &str| SearchQuery {
        name_prefix: name.into(),
        birth_year: None,
        birth_date: None,
        within: unit(within),
        limit: 10,
    };
    let ids = |r: Vec<StoredPerson>| {
        r.into_iter()
            .map(|p| p.person.id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.search(&q("le van an", "VN")).unwrap()),
        vec!["038090001234", "038090001235"]
    );
    assert_eq!(
        ids(s.search(&q("le van anh", "VN")).unwrap()),
        vec!["038090001235"]
    );
    assert_eq!(
        ids(s.search(&q("le", "38")).unwrap()),
        vec!["038090001234", "038090001235"]
    );
    assert_eq!(
        ids(s.search(&q("le", "380")).unwrap()),
        vec!["038090001234", "038090001235"]
    );
    assert_eq!(
        ids(s.search(&q("le", "14758")).unwrap()),
        vec!["038090001235"]
    );
    assert_eq!(ids(s.search(&q("le", "37")).unwrap()), vec!["037085000001"]);
    assert_eq!(
        ids(s.search(&q("", "01")).unwrap()),
        vec![p4.id.as_str().to_owned()]
    );
    assert!(s.search(&q("le_", "VN")).unwrap().is_empty());
    assert!(s.search(&q("l%", "VN")).unwrap().is_empty());
    assert!(s.search(&q("le\\", "VN")).unwrap().is_empty());
    let mut by_year = q("le", "VN");
    by_year.birth_year = Some(1985);
    assert_eq!(ids(s.search(&by_year).unwrap()), vec!["037085000001"]);
    let mut by_date = q("le", "VN");
    by_date.birth_date = Some(date!(1990 - 05 - 02));
    assert_eq!(
        ids(s.search(&by_date).unwrap()),
        vec!["038090001234", "038090001235"]
    );
    let mut limited = q("", "VN");
    limited.limit = 1;
    assert_eq!(s.search(&limited).unwrap().len(), 1);

    let mut seen = Vec::new();
    let n = s
        .for_each_person(&unit("38"), &mut |p| {
            seen.push(p.id.as_str().to_owned());
            Ok(())
        })
        .unwrap();
    assert_eq!(
        (n, seen),
        (
            2,
            vec!["038090001234".to_owned(), "038090001235".to_owned()]
        )
    );
    let n = s
        .for_each_person(&UnitCode::NATION, &mut |_| Ok(()))
        .unwrap();
    assert_eq!(n, 4);
    let stop = s.for_each_person(&UnitCode::NATION, &mut |_| Err(StoreError::NotFound));
    assert!(matches!(stop, Err(StoreError::NotFound)));

    let dead = Person {
        life: eid_domain::LifeStatus {
            state: eid_domain::LifeState::Dead,
            since: None,
        },
        ..p2
    };
    put_all(s, &[dead]);
    let pop = s.population_by_commune(&unit("38")).unwrap();
    assert_eq!(
        pop,
        vec![
            (unit("14755"), Population { total: 1, alive: 1 }),
            (unit("14758"), Population { total: 1, alive: 0 })
        ]
    );
    assert_eq!(s.population_by_commune(&UnitCode::NATION).unwrap().len(), 4);
}

#[test]
fn staff_sessions_tokens_and_audit() {
    let Some(t) = fresh("staff") else { return };
    let s = &t.store;
    let new = NewStaff {
        username: "thu".into(),
        display_name: "Chị Thu".into(),
        role: Role::Commune,
        unit: unit("14755"),
        password_hash: "h1".into(),
    };
    let sid = s.create_staff(&new, NOW).unwrap();
    assert!(matches!(
        s.create_staff(&new, NOW),
        Err(StoreError::Conflict("username already exists"))
    ));
    let (staff, hash) = s.staff_by_username("thu").unwrap().unwrap();
    assert_eq!(
        (
            staff.id,
            staff.role,
            staff.unit,
            staff.disabled,
            hash.as_str()
        ),
        (sid, Role::Commune, unit("14755"), false, "h1")
    );
    assert_eq!(s.staff_by_id(sid).unwrap(), Some(staff.clone()));
    assert_eq!(s.list_staff().unwrap(), vec![staff.clone()]);
    s.set_password(sid, "h2").unwrap();
    assert_eq!(s.staff_by_username("thu").unwrap().unwrap().1, "h2");
    assert!(matches!(
        s.set_password(sid + 100, "x"),
        Err(StoreError::NotFound)
    ));

    let later = NOW + time::Duration::hours(1);
    s.create_session(b"cookie", sid, "csrf", NOW, later)
        .unwrap();
    let sess = s.session(b"cookie", NOW).unwrap().unwrap();
    assert_eq!(
        (sess.staff.id, sess.csrf.as_str(), sess.expires_at),
        (sid, "csrf", later)
    );
    assert!(s.session(b"cookie", later).unwrap().is_none());
    assert!(s.session(b"other", NOW).unwrap().is_none());
    s.delete_session(b"cookie").unwrap();
    assert!(s.session(b"cookie", NOW).unwrap().is_none());

    let tid = s.create_api_token(sid, "sync", b"tokenhash", NOW).unwrap();
    assert_eq!(
        s.api_token(b"tokenhash")
            .unwrap()
            .map(|(id, st)| (id, st.id)),
        Some((tid, sid))
    );
    s.revoke_api_token(tid, later).unwrap();
    assert!(s.api_token(b"tokenhash").unwrap().is_none());
    assert!(matches!(
        s.revoke_api_token(tid + 100, later),
        Err(StoreError::NotFound)
    ));
    let list = s.list_api_tokens().unwrap();
    assert_eq!(
        list,
        vec![ApiToken {
            id: tid,
            staff_id: sid,
            name: "sync".into(),
            created_at: NOW,
            revoked_at: Some(later)
        }]
    );

    s.audit(&Actor::Staff(sid), "auth.login", "thu", "ok", "r1", NOW)
        .unwrap();
    s.audit(
        &Actor::Token(tid),
        "person.read",
        BASE[0],
        "denied",
        "r2",
        later,
    )
    .unwrap();
    let log = s.audit_log(10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].action.as_str(), log[0].actor.clone(), log[0].at),
        ("person.read", Actor::Token(tid), later)
    );
    assert_eq!(
        (
            log[1].action.as_str(),
            log[1].outcome.as_str(),
            log[1].request_id.as_str()
        ),
        ("auth.login", "ok", "r1")
    );
    assert_eq!(s.audit_log(1).unwrap().len(), 1);

    // Append-only tables refuse changes.
    put_all(s, &[person(&[])]);
    let mut c = s.conn().unwrap();
    let c = c.c().unwrap();
    c.batch_execute(
        "INSERT INTO oidc_release (personal_id, client_id, claims, released_at) VALUES ('x', 'c', 'name', 1)",
    )
    .unwrap();
    for sql in [
        "UPDATE oidc_release SET claims = 'x'",
        "DELETE FROM oidc_release",
        "TRUNCATE oidc_release",
        "UPDATE audit SET outcome = 'ok'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "UPDATE person_event SET reason = 'x'",
        "DELETE FROM person_event",
        "TRUNCATE person_event",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        let msg = db(e).to_string();
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
    assert_eq!(s.audit_log(10).unwrap().len(), 2);
}
