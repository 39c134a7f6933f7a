//! Residence procedures on both engines: the working-day calendar across Tết and weekends, each
//! procedure's rules, attachments checked by their bytes and size, scope, double submissions
//! (also in parallel), the officer's questions and the citizen's answers, an approval that
//! changes the register through an `updated` event with the request as reason, SMS at each step,
//! the operations figures, and the signed confirmation refused once a byte is altered. SQLite
//! always; PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::oidc::keys::{self, Kek};
use eid_core::residence::attach::{self, Limits, Upload};
use eid_core::residence::calendar::{due_date, is_working_day, working_days_between};
use eid_core::residence::officer::{self, Filter};
use eid_core::residence::{confirm, requests, Applicant, NewRequest, State};
use eid_core::sql;
use eid_core::store::{NewStaff, Role};
use eid_core::{Acting, Actor, Caller, Error, Store};
use eid_domain::{AccountLevel, Person, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

/// Living persons of province 62, imported, each with an account (for the SMS).
fn populate(store: &dyn Store) -> Vec<Person> {
    let people: Vec<Person> = Generator::new(&GenConfig {
        count: 60,
        seed: 14,
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
    let alive: Vec<Person> = people
        .into_iter()
        .filter(|p| p.life.state == eid_domain::LifeState::Alive && p.household.is_some())
        .collect();
    for p in &alive {
        sql::transact(store.db(), |tx| {
            tx.exec(
                "INSERT INTO account (personal_id, level, state, phone, commune, res_path, \
                 created_at, updated_at) VALUES ($1, 2, 'active', '0912345678', $2, 0, 0, 0)",
                &[p.id.as_str().into(), p.residence.unit.as_str().into()],
            )
        })
        .unwrap();
    }
    alive
}

fn officer(store: &dyn Store, username: &str, role: Role, unit: UnitCode) -> Caller {
    let id = store
        .create_staff(
            &NewStaff {
                username: username.into(),
                display_name: format!("Cán bộ {username}"),
                role,
                unit,
                password_hash: "x".into(),
            },
            NOW,
        )
        .unwrap();
    Caller {
        staff: store.staff_by_id(id).unwrap().unwrap(),
        actor: Actor::Staff(id),
    }
}

fn acting(c: &Caller) -> Acting {
    Acting::new(c.clone(), "rid-res", NOW + Duration::hours(1))
}

fn applicant(p: &Person) -> Applicant {
    Applicant {
        personal_id: p.id,
        level: AccountLevel::Two,
    }
}

fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend_from_slice(&[7u8; 300]);
    b
}

fn temporary(commune: &UnitCode) -> NewRequest {
    NewRequest {
        procedure: "temporary".into(),
        commune: commune.as_str().into(),
        address: "Số 5 ngõ 12, thôn Đông".into(),
        until: "2027-11-01".into(),
        note: "Đi làm ở đây".into(),
        members: String::new(),
    }
}

fn sms_count(store: &dyn Store) -> usize {
    eid_core::outbox::sms_list(store, 1000)
        .unwrap()
        .iter()
        .filter(|s| s.purpose == "residence")
        .count()
}

fn a_commune_other_than(store: &dyn Store, p: &Person) -> UnitCode {
    // Another commune of the same province, from the register.
    let mut other = None;
    store
        .for_each_person(&code("62"), &mut |q| {
            if other.is_none() && q.residence.unit != p.residence.unit {
                other = Some(q.residence.unit);
            }
            Ok(())
        })
        .unwrap();
    other.unwrap()
}

#[test]
fn working_days_skip_weekends_tet_and_swapped_days() {
    // Tết Bính Ngọ: off Saturday 14/02 to Sunday 22/02/2026. Three working days from Friday
    // 13/02 end on Wednesday 25/02.
    assert_eq!(
        due_date(date!(2026 - 02 - 13), 3),
        Some(date!(2026 - 02 - 25))
    );
    assert!(!is_working_day(date!(2026 - 02 - 17)));
    assert!(!is_working_day(date!(2026 - 02 - 21)));
    // Three working days from a Friday, no holiday: the Wednesday after.
    assert_eq!(
        due_date(date!(2026 - 11 - 20), 3),
        Some(date!(2026 - 11 - 25))
    );
    // Seven from Thursday 29/01/2026 cross a weekend: Monday 09/02.
    assert_eq!(
        due_date(date!(2026 - 01 - 29), 7),
        Some(date!(2026 - 02 - 09))
    );
    // Giỗ Tổ 2026 on a Sunday is made up on Monday 27/04; 30/04 and 01/05 follow, so three
    // working days from Friday 24/04 are 28/04, 29/04 and Monday 04/05.
    assert!(!is_working_day(date!(2026 - 04 - 27)));
    assert_eq!(
        due_date(date!(2026 - 04 - 24), 3),
        Some(date!(2026 - 05 - 04))
    );
    // A Saturday worked in exchange counts; the Friday swapped for it does not.
    assert!(is_working_day(date!(2026 - 01 - 10)));
    assert!(!is_working_day(date!(2026 - 01 - 02)));
    assert_eq!(
        due_date(date!(2025 - 01 - 24), 1),
        Some(date!(2025 - 02 - 03))
    );
    // Between: Tết week counts nothing.
    assert_eq!(
        working_days_between(date!(2026 - 02 - 13), date!(2026 - 02 - 23)),
        1
    );
    assert_eq!(
        working_days_between(date!(2026 - 02 - 23), date!(2026 - 02 - 13)),
        -1
    );
    // Past the data's years: refused, not guessed.
    assert_eq!(due_date(date!(2027 - 12 - 30), 5), None);
}

#[test]
fn attachments_are_checked_by_their_bytes_and_size() {
    let limits = Limits {
        max_bytes: 1000,
        max_files: 2,
    };
    let up = |b: Vec<u8>| Upload {
        name: "scan.jpg".into(),
        bytes: b,
    };
    let ok = attach::check(vec![up(jpeg()), up(b"%PDF-1.7 x".to_vec())], limits).unwrap();
    assert_eq!(ok[0].mime, "image/jpeg");
    assert_eq!(ok[1].mime, "application/pdf");
    assert_eq!(ok[0].sha256, attach::key(&jpeg()));
    assert_eq!(ok[0].sha256.len(), 64);
    let code = |r: Result<_, Error>| match r {
        Err(Error::Bad { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    // A text file named .jpg (whatever the browser said) is refused.
    assert_eq!(
        code(attach::check(vec![up(b"hello".to_vec())], limits)),
        "residence.file_type"
    );
    assert_eq!(
        code(attach::check(
            vec![up([0xFF, 0xD8, 0xFF, 0, 0].repeat(300))],
            limits
        )),
        "residence.file_too_large"
    );
    assert_eq!(
        code(attach::check(
            vec![up(jpeg()), up(jpeg()), up(jpeg())],
            limits
        )),
        "residence.too_many_files"
    );
    // An empty file input is no file.
    assert!(attach::check(vec![up(Vec::new())], limits)
        .unwrap()
        .is_empty());
}

#[test]
fn a_temporary_residence_is_asked_answered_approved_into_the_register() {
    for store in eid_core::testkit::engines("residence") {
        let store = store.as_ref();
        let people = populate(store);
        let p = &people[0];
        // Before any procedure: the person, no residency row, the empty residency; an unknown
        // ID, nothing.
        let (before, none) = store.person_and_residency(&p.id).unwrap().unwrap();
        assert_eq!(before.person, *p);
        assert_eq!(none, eid_domain::Residency::default());
        let unknown = eid_domain::PersonalId::parse("001099000001").unwrap();
        assert!(store.person(&unknown).unwrap().is_none());
        assert!(store.person_and_residency(&unknown).unwrap().is_none());
        let there = a_commune_other_than(store, p);
        let files = attach::check(
            vec![Upload {
                name: "hop-dong.jpg".into(),
                bytes: jpeg(),
            }],
            Limits::default(),
        )
        .unwrap();
        let id = requests::submit(store, &applicant(p), &temporary(&there), &files, NOW).unwrap();
        // Filed Monday 23/11/2026 (09:00 in Vietnam): due Thursday 26/11.
        let (r, steps) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!(r.state, State::Submitted);
        assert_eq!(r.due, date!(2026 - 11 - 26));
        assert_eq!((r.legal_days, r.fee_vnd), (3, 7000));
        assert_eq!(steps[0].files.len(), 1);
        assert_eq!(sms_count(store), 1);
        // The same scan again is kept once.
        let blobs = sql::read(store.db(), |tx| {
            tx.int("SELECT count(*) FROM res_blob", &[])
        })
        .unwrap();
        assert_eq!(blobs, 1);

        // Someone else cannot read it.
        let q = &people[1];
        assert!(matches!(
            requests::one_mine(store, &q.id, id),
            Err(Error::NotFound { .. })
        ));

        // The officer of the request's commune asks; another commune's officer is refused.
        let home = officer(store, "home", Role::Commune, p.residence.unit);
        let cop = officer(store, "cop", Role::Commune, there);
        assert!(matches!(
            officer::ask(store, &acting(&home), id, "?"),
            Err(Error::ScopeDenied)
        ));
        assert!(matches!(
            officer::approve(store, &acting(&home), id),
            Err(Error::ScopeDenied)
        ));
        officer::assign(store, &acting(&cop), id, "").unwrap();
        officer::ask(
            store,
            &acting(&cop),
            id,
            "Cần bản chụp hợp đồng thuê có chữ ký",
        )
        .unwrap();
        assert_eq!(sms_count(store), 2);
        let (r, _) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!(r.state, State::MoreInfo);
        assert_eq!(
            r.asked.as_deref(),
            Some("Cần bản chụp hợp đồng thuê có chữ ký")
        );
        // Not approved while waiting for the citizen.
        assert!(matches!(
            officer::approve(store, &acting(&cop), id),
            Err(Error::Conflict {
                code: "residence.waiting",
                ..
            })
        ));
        let more = attach::check(
            vec![Upload {
                name: "hop-dong-ky.pdf".into(),
                bytes: b"%PDF-1.4 signed".to_vec(),
            }],
            Limits::default(),
        )
        .unwrap();
        let later = NOW + Duration::days(1);
        requests::answer(store, &applicant(p), id, "Đã bổ sung", &more, later).unwrap();
        let (r, steps) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!(r.state, State::Assigned);
        assert_eq!(
            r.due,
            date!(2026 - 11 - 27),
            "the clock starts again from the answer"
        );
        assert_eq!(steps.last().unwrap().files.len(), 1);
        // A second answer is refused.
        assert!(matches!(
            requests::answer(store, &applicant(p), id, "x", &[], later),
            Err(Error::Conflict { .. })
        ));

        officer::approve(store, &acting(&cop), id).unwrap();
        let after = store.person(&p.id).unwrap().unwrap().person;
        let t = after.temporary.unwrap();
        assert_eq!(
            (t.unit, t.address.as_str()),
            (there, "Số 5 ngõ 12, thôn Đông")
        );
        let last = store.history(&p.id).unwrap().pop().unwrap();
        assert_eq!(last.kind, "updated");
        assert_eq!(last.reason, officer::event_reason(id));
        assert_eq!(last.actor, cop.actor);
        // The term's end is in the register too, named in the event's changes.
        assert_eq!(
            eid_core::residence::residency_of(store, &p.id)
                .unwrap()
                .temp_until,
            Some(date!(2027 - 11 - 01))
        );
        assert_eq!(last.changes["temp_until"][1], "2027-11-01");
        // The lookup's one-statement read agrees with the two reads it replaces.
        let (both_p, both_r) = store.person_and_residency(&p.id).unwrap().unwrap();
        assert_eq!(both_p, store.person(&p.id).unwrap().unwrap());
        assert_eq!(
            both_r,
            eid_core::residence::residency_of(store, &p.id).unwrap()
        );
        assert_eq!(both_r.temp_until, Some(date!(2027 - 11 - 01)));
        assert_eq!(
            eid_core::residency::replay(&store.history(&p.id).unwrap()),
            Some(eid_core::residence::residency_of(store, &p.id).unwrap())
        );
        assert_eq!(
            store.person(&p.id).unwrap().unwrap().version,
            store.history(&p.id).unwrap().len() as i64
        );
        assert_eq!(sms_count(store), 3);
        // Decided once.
        assert!(matches!(
            officer::refuse(store, &acting(&cop), id, "x"),
            Err(Error::Conflict { .. })
        ));
        // Audited with the request id.
        let audit: Vec<_> = store
            .audit_log(100)
            .unwrap()
            .into_iter()
            .filter(|a| a.action.starts_with("residence."))
            .map(|a| (a.action, a.outcome))
            .collect();
        assert!(audit.contains(&("residence.approve".into(), "ok".into())));
        assert!(audit.contains(&("residence.ask".into(), "denied".into())));

        // The figures of the commune: one approved, nothing open.
        let (per, total) = officer::figures(store, &cop, TODAY + Duration::days(3)).unwrap();
        assert_eq!(per.len(), 1);
        assert_eq!((total.approved, total.open, total.on_time), (1, 0, 1));
    }
}

#[test]
fn double_submissions_are_refused_also_in_parallel() {
    for store in eid_core::testkit::engines("residence") {
        let people = populate(store.as_ref());
        let p = people[0].clone();
        let there = a_commune_other_than(store.as_ref(), &p);
        let mut handles = Vec::new();
        for _ in 0..6 {
            let (store, p) = (Arc::clone(&store), p.clone());
            handles.push(std::thread::spawn(move || {
                requests::submit(store.as_ref(), &applicant(&p), &temporary(&there), &[], NOW)
            }));
        }
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        for r in results.iter().filter(|r| r.is_err()) {
            assert!(
                matches!(
                    r,
                    Err(Error::Conflict {
                        code: "residence.duplicate",
                        ..
                    })
                ),
                "{r:?}"
            );
        }
        // Once decided, a new one may be filed.
        let id = results.into_iter().find_map(Result::ok).unwrap();
        let cop = officer(store.as_ref(), "cop2", Role::Commune, there);
        officer::refuse(store.as_ref(), &acting(&cop), id, "Địa chỉ không có thật").unwrap();
        let (r, _) = requests::one_mine(store.as_ref(), &p.id, id).unwrap();
        assert_eq!(
            (r.state, r.outcome.as_deref()),
            (State::Refused, Some("Địa chỉ không có thật"))
        );
        requests::submit(store.as_ref(), &applicant(&p), &temporary(&there), &[], NOW).unwrap();
    }
}

#[test]
fn each_procedure_keeps_its_rules() {
    for store in eid_core::testkit::engines("residence") {
        let store = store.as_ref();
        let people = populate(store);
        let p = &people[2];
        let who = applicant(p);
        let bad = |r: Result<i64, Error>| match r {
            Err(Error::Bad { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        let mut f = temporary(&p.residence.unit);
        f.until = "2029-01-01".into();
        assert_eq!(
            bad(requests::submit(store, &who, &f, &[], NOW)),
            "residence.term_too_long"
        );
        f.until = "2026-11-01".into();
        assert_eq!(
            bad(requests::submit(store, &who, &f, &[], NOW)),
            "residence.until_past"
        );
        f.until = "2027-01-01".into();
        f.commune = "62".into();
        assert_eq!(
            bad(requests::submit(store, &who, &f, &[], NOW)),
            "residence.bad_commune"
        );
        f.commune = p.residence.unit.as_str().into();
        f.procedure = "marriage".into();
        assert_eq!(
            bad(requests::submit(store, &who, &f, &[], NOW)),
            "residence.bad_procedure"
        );
        // A level-1 session may not file.
        let low = Applicant {
            personal_id: p.id,
            level: AccountLevel::One,
        };
        assert_eq!(
            bad(requests::submit(
                store,
                &low,
                &temporary(&p.residence.unit),
                &[],
                NOW
            )),
            "residence.level2_required"
        );
        // Renewal and deregistration need a temporary residence in the register.
        let mut r = NewRequest {
            procedure: "renewal".into(),
            until: "2027-06-01".into(),
            ..NewRequest::default()
        };
        if p.temporary.is_none() {
            assert_eq!(
                bad(requests::submit(store, &who, &r, &[], NOW)),
                "residence.no_temporary"
            );
        }
        // Household split: 5 working days, at the permanent residence's commune; approving it
        // gives the person a household of their own, with the members named. A member of
        // another household and an unknown ID get the same refusal.
        let old_household = p.household.clone().unwrap();
        let mate = store
            .household(&old_household, &p.residence.unit)
            .unwrap()
            .into_iter()
            .map(|m| m.person)
            .find(|m| m.id != p.id)
            .expect("the generator makes households of several people");
        let stranger = people.iter().find(|o| o.household != p.household).unwrap();
        for members in [
            stranger.id.as_str().to_owned(),
            "001099000001".to_owned(),
            p.id.as_str().to_owned(),
        ] {
            let f = NewRequest {
                procedure: "split".into(),
                members,
                ..NewRequest::default()
            };
            assert_eq!(
                bad(requests::submit(store, &who, &f, &[], NOW)),
                "residence.bad_member"
            );
        }
        let split = NewRequest {
            procedure: "split".into(),
            members: format!(" {}, ", mate.id.as_str()),
            ..NewRequest::default()
        };
        let id = requests::submit(store, &who, &split, &[], NOW).unwrap();
        let (req, _) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!((req.legal_days, req.commune), (5, p.residence.unit));
        let cop = officer(store, "cop3", Role::Commune, p.residence.unit);
        // A district officer reads it but may not decide.
        let district = officer(
            store,
            "district",
            Role::District,
            eid_domain::Units::get()
                .unit(eid_domain::Tree::Gso2024, &p.residence.unit)
                .unwrap()
                .parent
                .unwrap(),
        );
        assert_eq!(
            officer::queue(store, &district, Filter::Open, TODAY)
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            officer::approve(store, &acting(&district), id),
            Err(Error::ScopeDenied)
        ));
        officer::approve(store, &acting(&cop), id).unwrap();
        let after = store.person(&p.id).unwrap().unwrap().person;
        assert_eq!(
            after.household.as_deref(),
            Some(format!("HH-R{id}").as_str())
        );
        let moved = store.person(&mate.id).unwrap().unwrap().person;
        assert_eq!(moved.household, after.household);
        let last = store.history(&mate.id).unwrap().pop().unwrap();
        assert_eq!(last.reason, officer::event_reason(id));
        // Absence: 1 working day, free; the register keeps it (from the filing day, to the
        // end date, where to).
        let absence = NewRequest {
            procedure: "absence".into(),
            until: "2027-12-01".into(),
            address: "Phường Hải Châu, Đà Nẵng".into(),
            ..NewRequest::default()
        };
        let id = requests::submit(store, &who, &absence, &[], NOW).unwrap();
        let (req, _) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!(
            (req.legal_days, req.fee_vnd, req.due),
            (1, 0, date!(2026 - 11 - 24))
        );
        let before = store.history(&p.id).unwrap().len();
        officer::approve(store, &acting(&cop), id).unwrap();
        let events = store.history(&p.id).unwrap();
        assert_eq!(events.len(), before + 1);
        let last = events.last().unwrap();
        assert_eq!(last.reason, officer::event_reason(id));
        assert_eq!(
            last.changes["absence_to"],
            serde_json::json!(["", "2027-12-01"])
        );
        let away = eid_core::residence::residency_of(store, &p.id).unwrap();
        let a = away.absence.unwrap();
        assert_eq!(
            (a.from, a.to, a.destination.as_str()),
            (TODAY, date!(2027 - 12 - 01), "Phường Hải Châu, Đà Nẵng")
        );
        // Permanent residence elsewhere: 7 working days; approved, the register moves.
        let there = a_commune_other_than(store, p);
        let mut perm = temporary(&there);
        perm.procedure = "permanent".into();
        perm.until = String::new();
        let id = requests::submit(store, &who, &perm, &[], NOW).unwrap();
        let (req, _) = requests::one_mine(store, &p.id, id).unwrap();
        assert_eq!((req.legal_days, req.fee_vnd), (7, 10000));
        // Overdue in the queue once its due date has passed.
        let cop_there = officer(store, "cop4", Role::Commune, there);
        let late = req.due + Duration::days(3);
        assert_eq!(
            officer::queue(store, &cop_there, Filter::Overdue, late)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            officer::queue(store, &cop_there, Filter::Overdue, TODAY)
                .unwrap()
                .len(),
            0
        );
        officer::approve(store, &acting(&cop_there), id).unwrap();
        assert_eq!(
            store.person(&p.id).unwrap().unwrap().person.residence.unit,
            there
        );
        // A renewal within the term's last 15 days only.
        let mut t = temporary(&there);
        t.until = "2026-12-01".into();
        let other = &people[3];
        let id = requests::submit(store, &applicant(other), &t, &[], NOW).unwrap();
        officer::approve(store, &acting(&cop_there), id).unwrap();
        r.until = "2027-06-01".into();
        let id = requests::submit(store, &applicant(other), &r, &[], NOW).unwrap();
        let (req, _) = requests::one_mine(store, &other.id, id).unwrap();
        assert_eq!((req.commune, req.fee_vnd), (there, 5000));
        assert_eq!(
            eid_core::residence::residency_of(store, &other.id)
                .unwrap()
                .temp_until,
            Some(date!(2026 - 12 - 01))
        );
        // Approved, the renewal moves the term's end.
        officer::approve(store, &acting(&cop_there), id).unwrap();
        assert_eq!(
            eid_core::residence::residency_of(store, &other.id)
                .unwrap()
                .temp_until,
            Some(date!(2027 - 06 - 01))
        );
        // Deregistered, the temporary residence and its term are gone.
        let dereg = NewRequest {
            procedure: "deregister".into(),
            ..NewRequest::default()
        };
        let id = requests::submit(store, &applicant(other), &dereg, &[], NOW).unwrap();
        officer::approve(store, &acting(&cop_there), id).unwrap();
        assert_eq!(
            store.person(&other.id).unwrap().unwrap().person.temporary,
            None
        );
        assert_eq!(
            eid_core::residence::residency_of(store, &other.id).unwrap(),
            eid_domain::Residency::default()
        );
        let mut t2 = temporary(&there);
        t2.until = "2027-10-01".into();
        let third = &people[4];
        let id = requests::submit(store, &applicant(third), &t2, &[], NOW).unwrap();
        officer::approve(store, &acting(&cop_there), id).unwrap();
        assert_eq!(
            bad(requests::submit(store, &applicant(third), &r, &[], NOW)),
            "residence.renew_too_early"
        );
    }
}

#[test]
fn the_confirmation_verifies_and_one_altered_byte_is_refused() {
    for store in eid_core::testkit::engines("residence") {
        let store = store.as_ref();
        let people = populate(store);
        let p = &people[0];
        let kek = Kek::random();
        keys::ensure(store, &kek, NOW).unwrap();
        let signing = keys::signing_keys(store, &kek).unwrap();
        let jwks = keys::jwks(store).unwrap();
        let c = confirm::build(store, "https://eid.test", &p.id, NOW).unwrap();
        let token = confirm::sign(&signing, &c).unwrap();
        let back = confirm::verify(&jwks, &token).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.personal_id, p.id.as_str());
        assert_eq!(back.permanent.commune, p.residence.unit.as_str());
        // Every single-byte change of the claims is refused.
        let dot = token.find('.').unwrap();
        for i in [dot + 5, dot + 40, token.len() - 3] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(confirm::verify(&jwks, &altered).is_err(), "byte {i}");
        }
        // Another key set does not know it.
        assert_eq!(
            confirm::verify(&serde_json::json!({"keys": []}), &token),
            Err(confirm::Invalid::UnknownKey)
        );
        assert_eq!(
            confirm::verify(&jwks, "not a token"),
            Err(confirm::Invalid::Malformed)
        );
    }
}
