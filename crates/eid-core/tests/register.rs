//! The register's and staff's use cases on both engines: scope-checked, audited reads (with the
//! request id the caller's `Acting` carries), the audit log, person corrections (reason, version
//! checked under the write lock, an `updated` event by the officer) and staff sign-in. SQLite
//! always; PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use eid_core::accounts::Refusal;
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::register::{self, SearchParams};
use eid_core::store::{AuditEntry, NewStaff, Role, StoredPerson};
use eid_core::{audit_log, staff, Acting, Actor, Caller, Error, Store};
use eid_domain::{Person, PersonalId, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const PASSWORD: &str = "Mật-khẩu-đủ-dài-42";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

/// A small population of province 62, imported; returns the first living person.
fn populate(store: &dyn Store) -> Person {
    let people: Vec<Person> = Generator::new(&GenConfig {
        count: 40,
        seed: 9,
        province: Some(code("62")),
        today: TODAY,
    })
    .unwrap()
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, people.iter().cloned(), &opts).unwrap();
    people
        .into_iter()
        .find(|p| p.life.state == eid_domain::LifeState::Alive)
        .unwrap()
}

/// A staff account of `role` at `unit`, with [`PASSWORD`].
fn officer(store: &dyn Store, username: &str, role: Role, unit: UnitCode) -> Caller {
    let id = store
        .create_staff(
            &NewStaff {
                username: username.into(),
                display_name: format!("Cán bộ {username}"),
                role,
                unit,
                password_hash: eid_core::secret::hash_password(PASSWORD).unwrap(),
            },
            NOW,
        )
        .unwrap();
    Caller {
        staff: store.staff_by_id(id).unwrap().unwrap(),
        actor: Actor::Staff(id),
    }
}

fn acting(caller: &Caller, rid: &str) -> Acting {
    Acting::new(caller.clone(), rid, NOW)
}

/// The audit lines written under request id `rid`.
fn lines(store: &dyn Store, rid: &str) -> Vec<AuditEntry> {
    store
        .audit_log(1000)
        .unwrap()
        .into_iter()
        .filter(|a| a.request_id == rid)
        .collect()
}

fn one_line(store: &dyn Store, rid: &str) -> (String, String, String, Actor) {
    let found = lines(store, rid);
    assert_eq!(found.len(), 1, "{}: lines of {rid}", store.engine());
    let a = &found[0];
    (
        a.action.clone(),
        a.target.clone(),
        a.outcome.clone(),
        a.actor.clone(),
    )
}

fn stored(store: &dyn Store, id: &PersonalId) -> StoredPerson {
    store.person(id).unwrap().unwrap()
}

#[test]
fn a_read_in_scope_is_audited_ok_and_outside_denied_with_the_request_id() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let p = populate(s);
        let commune = officer(s, "xa", Role::Commune, p.residence.unit);
        let elsewhere = officer(s, "hanoi", Role::Province, code("01"));

        let found = register::read_person(s, &acting(&commune, "rid-ok"), &p.id).unwrap();
        assert_eq!(found.person.id, p.id);
        assert_eq!(
            one_line(s, "rid-ok"),
            (
                "person.read".into(),
                p.id.as_str().into(),
                "ok".into(),
                commune.actor.clone()
            )
        );

        let err = register::person_history(s, &acting(&elsewhere, "rid-out"), &p.id).unwrap_err();
        assert!(matches!(err, Error::ScopeDenied), "{}: {err}", s.engine());
        assert_eq!(
            one_line(s, "rid-out"),
            (
                "person.read".into(),
                p.id.as_str().into(),
                "denied".into(),
                elsewhere.actor.clone()
            )
        );

        // A search of another province is denied and audited with the unit as target.
        let q = register::parse_search(
            &elsewhere,
            &SearchParams {
                name: Some("nguyen".into()),
                unit: Some("62".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let err = register::search(s, &acting(&elsewhere, "rid-search"), &q).unwrap_err();
        assert!(matches!(err, Error::ScopeDenied));
        let (action, target, outcome, _) = one_line(s, "rid-search");
        assert_eq!(
            (action.as_str(), target.as_str(), outcome.as_str()),
            ("person.search", "62", "denied")
        );
    }
}

#[test]
fn an_unknown_id_is_not_found_and_audited_failed() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let p = populate(s);
        let province = officer(s, "tinh", Role::Province, code("62"));
        // A valid ID that nobody in the generated population has: another birth century digit.
        let unknown = (0..1000u32)
            .map(|n| PersonalId::parse(&format!("062099{n:06}")).unwrap())
            .find(|id| s.person(id).unwrap().is_none())
            .unwrap();
        assert_ne!(unknown, p.id);
        let err =
            register::read_person(s, &acting(&province, "rid-unknown"), &unknown).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotFound {
                    code: "person.not_found",
                    ..
                }
            ),
            "{}: {err}",
            s.engine()
        );
        let (action, target, outcome, _) = one_line(s, "rid-unknown");
        assert_eq!(
            (action.as_str(), target.as_str(), outcome.as_str()),
            ("person.read", unknown.as_str(), "failed")
        );
        assert!(matches!(
            register::parse_id("0620"),
            Err(Error::Bad {
                code: "person.bad_id",
                ..
            })
        ));
    }
}

#[test]
fn an_auditor_reads_the_trail_and_nothing_else() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let p = populate(s);
        let auditor = officer(s, "kiemtra", Role::Auditor, UnitCode::NATION);
        let commune = officer(s, "xa", Role::Commune, p.residence.unit);

        let err = register::read_person(s, &acting(&auditor, "rid-a1"), &p.id).unwrap_err();
        assert!(matches!(err, Error::ScopeDenied));
        assert_eq!(one_line(s, "rid-a1").2, "denied");

        let before = stored(s, &p.id);
        let mut next = before.person.clone();
        next.residence.address = "Số 7 đường Trần Hưng Đạo".into();
        let err = register::correct_person(
            s,
            &acting(&auditor, "rid-a2"),
            &next,
            before.version,
            "sửa địa chỉ",
        )
        .unwrap_err();
        assert!(matches!(err, Error::ScopeDenied));
        assert_eq!(stored(s, &p.id).version, before.version);

        let unit = register::parse_unit("62", eid_domain::Tree::Gso2024).unwrap();
        assert!(matches!(
            register::unit_view(s, &auditor, unit, eid_domain::Tree::Gso2024),
            Err(Error::ScopeDenied)
        ));

        let entries = audit_log::audit_log(s, &acting(&auditor, "rid-a3"), 50).unwrap();
        assert!(entries.iter().any(|e| e.request_id == "rid-a1"));
        assert_eq!(one_line(s, "rid-a3").2, "ok");
        // A commune officer may not read the trail; the refusal is audited.
        let err = audit_log::audit_log(s, &acting(&commune, "rid-a4"), 50).unwrap_err();
        assert!(matches!(err, Error::ScopeDenied));
        assert_eq!(one_line(s, "rid-a4").2, "denied");
    }
}

#[test]
fn a_correction_needs_a_reason_and_the_current_version() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let p = populate(s);
        let commune = officer(s, "xa", Role::Commune, p.residence.unit);
        let before = stored(s, &p.id);
        let events = s.history(&p.id).unwrap().len();
        let mut next = before.person.clone();
        next.residence.address = "Số 7 đường Trần Hưng Đạo".into();

        for reason in ["", "   ", "dòng\nmới", &"x".repeat(201)] {
            let err = register::correct_person(
                s,
                &acting(&commune, "rid-c1"),
                &next,
                before.version,
                reason,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Bad {
                        code: "person.reason_required",
                        ..
                    }
                ),
                "{}: {err}",
                s.engine()
            );
        }
        let err = register::correct_person(
            s,
            &acting(&commune, "rid-c2"),
            &next,
            before.version - 1,
            "sửa địa chỉ",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Conflict {
                    code: "person.stale",
                    ..
                }
            ),
            "{}: {err}",
            s.engine()
        );
        // Nothing was written: same version, same history, no `person.update` line.
        let after = stored(s, &p.id);
        assert_eq!(after.version, before.version);
        assert_eq!(after.person, before.person);
        assert_eq!(s.history(&p.id).unwrap().len(), events);
        assert!(lines(s, "rid-c1").is_empty() && lines(s, "rid-c2").is_empty());

        // The name is not corrected here.
        let mut renamed = next.clone();
        renamed.name = eid_domain::PersonName::parse("Trần", "Thị", "Bích").unwrap();
        let err = register::correct_person(
            s,
            &acting(&commune, "rid-c3"),
            &renamed,
            before.version,
            "đổi tên",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Bad {
                    code: "person.fixed_field",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(stored(s, &p.id).version, before.version);
    }
}

#[test]
fn a_good_correction_is_an_updated_event_by_the_officer() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let p = populate(s);
        let commune = officer(s, "xa", Role::Commune, p.residence.unit);
        let elsewhere = officer(s, "hanoi", Role::Province, code("01"));
        let before = stored(s, &p.id);
        let mut next = before.person.clone();
        next.residence.address = "Số 7 đường Trần Hưng Đạo".into();

        let err = register::correct_person(
            s,
            &acting(&elsewhere, "rid-g0"),
            &next,
            before.version,
            "sửa địa chỉ",
        )
        .unwrap_err();
        assert!(matches!(err, Error::ScopeDenied));
        assert_eq!(one_line(s, "rid-g0").2, "denied");

        register::correct_person(
            s,
            &acting(&commune, "rid-g1"),
            &next,
            before.version,
            "  sửa địa chỉ  ",
        )
        .unwrap();
        let after = stored(s, &p.id);
        assert_eq!(after.version, before.version + 1, "{}", s.engine());
        assert_eq!(after.person.residence.address, "Số 7 đường Trần Hưng Đạo");
        let history = s.history(&p.id).unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.kind, "updated");
        assert_eq!(last.actor, commune.actor);
        assert_eq!(last.reason, "sửa địa chỉ");
        assert!(
            last.changes.get("residence_address").is_some(),
            "{}",
            last.changes
        );
        assert_eq!(
            one_line(s, "rid-g1"),
            (
                "person.update".into(),
                p.id.as_str().into(),
                "ok".into(),
                commune.actor.clone()
            )
        );
        // The form made from the old version is now stale.
        let err = register::correct_person(
            s,
            &acting(&commune, "rid-g2"),
            &next,
            before.version,
            "lần nữa",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }));
    }
}

#[test]
fn staff_sign_in_answers_the_same_for_unknown_users_and_wrong_passwords() {
    for s in eid_core::testkit::engines("register") {
        let s = s.as_ref();
        let commune = officer(s, "xa.62", Role::Commune, code("62"));
        let disabled = officer(s, "nghi.62", Role::Commune, code("62"));
        s.set_staff_disabled(disabled.staff.id, true).unwrap();

        let found = staff::sign_in(s, "xa.62", PASSWORD, "rid-s1", NOW).unwrap();
        assert_eq!(found.id, commune.staff.id);
        assert_eq!(
            one_line(s, "rid-s1"),
            (
                "auth.login".into(),
                "xa.62".into(),
                "ok".into(),
                commune.actor.clone()
            )
        );
        for (user, password, rid, actor) in [
            (
                "xa.62",
                "wrong-password-123",
                "rid-s2",
                commune.actor.clone(),
            ),
            ("nobody", PASSWORD, "rid-s3", Actor::Anonymous),
            ("nghi.62", PASSWORD, "rid-s4", disabled.actor.clone()),
        ] {
            let err = staff::sign_in(s, user, password, rid, NOW).unwrap_err();
            assert!(
                matches!(err, Error::Refused(Refusal::BadCredentials)),
                "{user}: {err}"
            );
            assert_eq!(
                one_line(s, rid),
                ("auth.login".into(), user.into(), "failed".into(), actor)
            );
        }

        // A session opened after sign-in finds its caller; signing out ends it.
        let session = staff::open_session(s, &found, time::Duration::hours(8), NOW).unwrap();
        assert!(!format!("{session:?}").contains(&session.token));
        let hash = eid_core::secret::token_hash(&session.token);
        let (caller, csrf) = staff::session_caller(s, &hash, NOW).unwrap().unwrap();
        assert_eq!(
            (caller.staff.id, caller.actor.clone()),
            (commune.staff.id, commune.actor.clone())
        );
        assert!(!csrf.is_empty());
        staff::sign_out(s, &acting(&caller, "rid-s5"), &hash).unwrap();
        assert!(staff::session_caller(s, &hash, NOW).unwrap().is_none());
        assert_eq!(one_line(s, "rid-s5").0, "auth.logout");
    }
}

/// An abort-mode import on SQLite that died: a decided run (`merging`) is finished by the next
/// import or `eid migrate`, an undecided one (`staging`) is thrown away without touching the
/// register, and a run whose importer is still alive is left alone.
#[test]
fn an_interrupted_import_is_finished_if_decided_and_thrown_away_if_not() {
    use eid_core::sql;
    let store = eid_core::open(&format!(
        "sqlite://{}",
        std::env::temp_dir()
            .join(format!("eid-resume-test-{}", std::process::id()))
            .join("eid.db")
            .display()
    ))
    .unwrap();
    store.migrate().unwrap();
    let s = store.as_ref();
    let persons: Vec<Person> = Generator::new(&GenConfig {
        count: 30,
        seed: 4,
        province: Some(code("62")),
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.check(TODAY).is_ok())
    .collect();
    let (decided, undecided) = persons.split_at(persons.len() / 2);
    let alive_now = eid_core::store::to_ms(NOW.replace_year(2100).unwrap());
    let stage = |state: &str, beat: i64, rows: &[Person]| -> i64 {
        sql::transact(s.db(), |tx| {
            let run = tx.int(
                "INSERT INTO import_run (state, actor, reason, at, staged, merged, beat) \
                 VALUES ($1, 'cli:import', 'import of a.csv', $2, $3, 0, $4) RETURNING id",
                &[
                    state.into(),
                    eid_core::store::to_ms(NOW).into(),
                    (rows.len() as i64).into(),
                    beat.into(),
                ],
            )?;
            for (i, p) in rows.iter().enumerate() {
                let json = serde_json::to_string(&eid_core::csvfmt::fields(p)).unwrap();
                tx.exec(
                    "INSERT INTO import_stage (run, seq, fields) VALUES ($1, $2, $3)",
                    &[run.into(), (i as i64 + 1).into(), json.into()],
                )?;
            }
            Ok::<_, eid_core::StoreError>(run)
        })
        .unwrap()
    };
    let merging = stage("merging", 0, decided);
    let staging = stage("staging", 0, undecided);
    let live = stage("merging", alive_now, &undecided[..1]);

    assert_eq!(eid_core::import::resume_imports(s).unwrap(), 1);
    for p in decided {
        let stored = s.person(&p.id).unwrap().unwrap();
        assert_eq!(&stored.person, p);
        let history = s.history(&p.id).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].reason, "import of a.csv");
        assert_eq!(history[0].at, NOW);
    }
    for p in &undecided[1..] {
        assert!(
            s.person(&p.id).unwrap().is_none(),
            "an undecided run writes nothing"
        );
    }
    let state = |run: i64| {
        sql::read(s.db(), |tx| {
            tx.query(
                "SELECT r.state, (SELECT count(*) FROM import_stage WHERE run = r.id) FROM import_run r WHERE r.id = $1",
                &[run.into()],
            )
        })
        .unwrap()
        .first()
        .map(|r| (r[0].text().unwrap(), r[1].int().unwrap()))
    };
    assert_eq!(state(merging), Some(("done".to_owned(), 0)));
    assert_eq!(state(staging), None, "thrown away");
    assert_eq!(
        state(live),
        Some(("merging".to_owned(), 1)),
        "still running elsewhere"
    );
    assert!(s.person(&undecided[0].id).unwrap().is_none());
}

/// An abort-mode import on SQLite that died while merging its sorted sequences into an empty
/// register, after dropping the person tables' secondary indexes: the next import or `eid
/// migrate` merges the rest in personal-ID order from where it stopped (nothing twice) and
/// builds the indexes again, reading blocks staged as JSON (an earlier build) and as
/// length-prefixed text (this one).
#[test]
fn an_interrupted_sorted_merge_is_finished_and_its_deferred_indexes_built() {
    use eid_core::sql;
    let store = eid_core::open(&format!(
        "sqlite://{}",
        std::env::temp_dir()
            .join(format!("eid-sorted-resume-test-{}", std::process::id()))
            .join("eid.db")
            .display()
    ))
    .unwrap();
    store.migrate().unwrap();
    let s = store.as_ref();
    let mut persons: Vec<Person> = Generator::new(&GenConfig {
        count: 40,
        seed: 5,
        province: Some(code("62")),
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.check(TODAY).is_ok())
    .collect();
    persons.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    // Two sorted sequences (alternate persons), two blocks in the first.
    let even: Vec<&Person> = persons.iter().step_by(2).collect();
    let odd: Vec<&Person> = persons.iter().skip(1).step_by(2).collect();
    // Half the persons (by ID) were merged before the crash.
    let cut = persons.len() / 2;
    let through = persons[cut - 1].id.as_str().to_owned();
    let index_sql: String = sql::read(s.db(), |tx| {
        tx.row(
            "SELECT sql FROM sqlite_master WHERE name = 'person_name'",
            &[],
        )?
        .unwrap()[0]
            .text()
    })
    .unwrap();
    let run = sql::transact(s.db(), |tx| {
        tx.exec("DROP INDEX person_name", &[])?;
        let run = tx.int(
            "INSERT INTO import_run (state, actor, reason, at, staged, merged, beat, merged_through, deferred) \
             VALUES ('merging', 'cli:import', 'import of b.csv', $1, $2, $3, 0, $4, $5) RETURNING id",
            &[
                eid_core::store::to_ms(NOW).into(),
                (persons.len() as i64).into(),
                (cut as i64).into(),
                through.as_str().into(),
                serde_json::to_string(&[&index_sql]).unwrap().into(),
            ],
        )?;
        // The first sequence's blocks as an earlier build staged them (JSON), the second's as
        // this one does (each field its byte length, `:`, its bytes): a run is resumed by
        // whichever build runs next.
        let json = |rows: &[&Person]| {
            let fields: Vec<[String; 18]> =
                rows.iter().map(|p| eid_core::csvfmt::fields(p)).collect();
            serde_json::to_string(&fields).unwrap()
        };
        let text = |rows: &[&Person]| {
            let mut out = String::new();
            for f in rows.iter().flat_map(|p| eid_core::csvfmt::fields(p)) {
                out.push_str(&format!("{}:{f}", f.len()));
            }
            out
        };
        let half = even.len() / 2;
        for (seq, block) in [
            (0i64, json(&even[..half])),
            (1, json(&even[half..])),
            (1 << 32, text(&odd[..])),
        ] {
            tx.exec(
                "INSERT INTO import_stage (run, seq, fields) VALUES ($1, $2, $3)",
                &[run.into(), seq.into(), block.into()],
            )?;
        }
        Ok::<_, eid_core::StoreError>(run)
    })
    .unwrap();
    {
        let mut w = s
            .writer(&Actor::Cli("import".into()), "import of b.csv", NOW)
            .unwrap();
        for p in &persons[..cut] {
            w.put(p).unwrap();
        }
        w.tx()
            .unwrap()
            .exec(
                "UPDATE import_run SET merged = merged WHERE id = $1",
                &[run.into()],
            )
            .unwrap();
        w.commit().unwrap();
    }

    assert_eq!(eid_core::import::resume_imports(s).unwrap(), 1);
    for p in &persons {
        assert_eq!(&s.person(&p.id).unwrap().unwrap().person, p);
        assert_eq!(s.history(&p.id).unwrap().len(), 1, "merged once");
    }
    let (state, deferred, staged_left, has_index) = sql::read(s.db(), |tx| {
        let r = tx
            .row(
                "SELECT state, deferred, (SELECT count(*) FROM import_stage WHERE run = $1), \
                 (SELECT count(*) FROM sqlite_master WHERE name = 'person_name') \
                 FROM import_run WHERE id = $1",
                &[run.into()],
            )?
            .unwrap();
        Ok::<_, eid_core::StoreError>((r[0].text()?, r[1].opt_text()?, r[2].int()?, r[3].int()?))
    })
    .unwrap();
    assert_eq!(
        (state.as_str(), deferred, staged_left, has_index),
        ("done", None, 0, 1)
    );
}

/// Every staff read of a person is one entry of the data-use log, with who read it, once folded
/// (from the audit trail on SQLite, from the pending rows on PostgreSQL). Folding
/// again, or from several threads at once, repeats none; reopening the store (as after a crash
/// between the answer and the fold) loses none; denied and failed reads are not data uses.
#[test]
fn staff_reads_reach_the_data_use_log_once_each() {
    use eid_core::transparency::{self, staff_reads};
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eid-fold-test-{}_{n}", std::process::id()));
    let sqlite_url = format!("sqlite://{}", dir.join("eid.db").display());
    let mut stores = eid_core::testkit::engines("register");
    stores[0] = eid_core::open(&sqlite_url).unwrap();
    stores[0].migrate().unwrap();
    for s in &stores {
        let s = s.as_ref();
        let p = populate(s);
        let commune = officer(s, "xa", Role::Commune, p.residence.unit);
        let elsewhere = officer(s, "hanoi", Role::Province, code("01"));
        for k in 0..5 {
            register::read_person(s, &acting(&commune, &format!("rid-{k}")), &p.id).unwrap();
        }
        register::person_history(s, &acting(&commune, "rid-h"), &p.id).unwrap();
        register::read_person(s, &acting(&elsewhere, "rid-out"), &p.id).unwrap_err();
        let count = |s: &dyn Store| {
            eid_core::sql::read(s.db(), |tx| {
                tx.int(
                    "SELECT count(*) FROM data_use WHERE personal_id = $1",
                    &[p.id.as_str().into()],
                )
            })
            .unwrap()
        };
        assert_eq!(count(s), 0, "{}: before the fold", s.engine());
        assert_eq!(staff_reads::fold(s).unwrap(), 6, "{}", s.engine());
        assert_eq!(staff_reads::fold(s).unwrap(), 0, "{}", s.engine());
        let got = transparency::entries_for(s, p.id.as_str(), 0).unwrap().0;
        assert_eq!(count(s), 6, "{}", s.engine());
        assert_eq!(got.len(), 6, "{}", s.engine());
        for e in &got {
            assert_eq!(
                (
                    e.who_kind.as_str(),
                    e.who_id.as_str(),
                    e.who_role.as_deref()
                ),
                ("staff", "xa", Some("commune")),
                "{}",
                s.engine()
            );
            assert_eq!(e.who_unit.as_deref(), Some(p.residence.unit.as_str()));
            assert_eq!(e.purpose, staff_reads::PURPOSE);
        }
        // Reads from several threads, folded from several threads: each read once.
        std::thread::scope(|scope| {
            for t in 0..4 {
                let commune = &commune;
                let p = &p;
                scope.spawn(move || {
                    for k in 0..25 {
                        let rid = format!("rid-t{t}-{k}");
                        register::read_person(s, &acting(commune, &rid), &p.id).unwrap();
                        if k % 5 == 0 {
                            staff_reads::fold(s).unwrap();
                        }
                    }
                });
            }
        });
        staff_reads::fold(s).unwrap();
        assert_eq!(count(s), 106, "{}", s.engine());
        // More reads than one batch of the trail (2,000 lines): in one transaction, then with
        // a transaction for each batch.
        for (round, hold) in [(0, staff_reads::HOLD), (1, std::time::Duration::ZERO)] {
            for k in 0..2_100 {
                let rid = format!("rid-many-{round}-{k}");
                register::read_person(s, &acting(&commune, &rid), &p.id).unwrap();
            }
            assert_eq!(
                staff_reads::fold_holding(s, hold).unwrap(),
                2_100,
                "{}",
                s.engine()
            );
        }
        assert_eq!(count(s), 4_306, "{}", s.engine());
        let v = transparency::verify::verify(s).unwrap();
        assert!(v.ok(), "{}: {:?}", s.engine(), v.problems);
    }
    // SQLite: reads answered, then the process gone before any fold; the next one folds them.
    let s = eid_core::open(&sqlite_url).unwrap();
    let p = populate_id(s.as_ref());
    let commune = Caller {
        staff: s.staff_by_username("xa").unwrap().unwrap().0,
        actor: Actor::Staff(s.staff_by_username("xa").unwrap().unwrap().0.id),
    };
    for k in 0..3 {
        register::read_person(s.as_ref(), &acting(&commune, &format!("rid-late-{k}")), &p).unwrap();
    }
    s.audit_log(1).unwrap(); // the lines are durable (as before an answer)
    drop(s);
    let s = eid_core::open(&sqlite_url).unwrap();
    assert_eq!(staff_reads::fold(s.as_ref()).unwrap(), 3);
    let n = eid_core::sql::read(s.db(), |tx| {
        tx.int(
            "SELECT count(*) FROM data_use WHERE personal_id = $1",
            &[p.as_str().into()],
        )
    })
    .unwrap();
    assert_eq!(n, 4_309);
}

/// The person [`populate`] returned, found again in a store it populated.
fn populate_id(store: &dyn Store) -> PersonalId {
    let people: Vec<Person> = Generator::new(&GenConfig {
        count: 40,
        seed: 9,
        province: Some(code("62")),
        today: TODAY,
    })
    .unwrap()
    .collect();
    let p = people
        .into_iter()
        .find(|p| p.life.state == eid_domain::LifeState::Alive)
        .unwrap();
    assert!(store.person(&p.id).unwrap().is_some());
    p.id
}
