//! Stay notifications over a real store (either engine): the deadline rule in Vietnam time,
//! late marking, bad dates, the guest check that answers the same for an unknown ID and a
//! mismatch, the close-relatives rule, repeated submissions, scope and the audited search.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use eid_core::stay::{
    self, view, Guest, Kind, NewEstablishment, Notifier, Rule, StayIn, Via, DEADLINE,
    GUEST_UNVERIFIED,
};
use eid_core::store::{Role, Staff};
use eid_core::{testkit, Acting, Actor, Caller, Error, Store};
use eid_domain::{
    BirthDate, LifeStatus, Person, PersonName, PersonalId, PhoneType, Residence, Sex, Tree,
    UnitCode, Units,
};
use time::macros::{date, datetime};
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-12-03 20:00 +7);

fn acting(role: Role, unit: UnitCode) -> Acting {
    Acting::new(
        Caller {
            staff: Staff {
                id: 7,
                username: "xa".into(),
                display_name: "Xã".into(),
                role,
                unit,
                disabled: false,
            },
            actor: Actor::Staff(7),
        },
        "req-stay-1",
        NOW,
    )
}

struct World {
    store: Arc<dyn Store>,
    commune: UnitCode,
    other: UnitCode,
    district: UnitCode,
}

fn world(label: &str) -> World {
    let store = testkit::fresh_store(label);
    let units = Units::get();
    let province = UnitCode::parse("62").unwrap();
    let district = units.children(Tree::Gso2024, &province)[0].code;
    let communes = units.children(Tree::Gso2024, &district);
    World {
        store,
        commune: communes[0].code,
        other: communes[1].code,
        district,
    }
}

fn person(w: &World, serial: u32, surname: &str, given: &str, born: time::Date) -> Person {
    let p = Person {
        id: PersonalId::from_parts(62, Sex::Male, born.year(), serial).unwrap(),
        name: PersonName::parse(surname, "Văn", given).unwrap(),
        birth: BirthDate::Full(born),
        sex: Sex::Male,
        hometown: None,
        residence: Residence {
            unit: w.commune,
            address: format!("Thôn {serial}"),
        },
        temporary: None,
        household: None,
        phone: None,
        phone_type: PhoneType::None,
        life: LifeStatus::ALIVE,
        card: None,
    };
    let mut wr = w
        .store
        .writer(&Actor::Cli("test".into()), "test", NOW)
        .unwrap();
    wr.put(&p).unwrap();
    wr.commit().unwrap();
    p
}

fn establishment(w: &World, kind: Kind, notifier: &Person, relatives_once: bool) -> i64 {
    let officer = acting(Role::Commune, w.commune);
    stay::register_establishment(
        &*w.store,
        &officer,
        &NewEstablishment {
            kind,
            name: "Nhà nghỉ Hoa Mai".into(),
            address: "12 Lê Lợi".into(),
            commune: w.commune.as_str().into(),
            relatives_once,
            notifiers: vec![notifier.id.as_str().into()],
        },
    )
    .unwrap()
    .id
}

fn guest_of(p: &Person) -> Guest {
    Guest::Citizen {
        personal_id: p.id.as_str().into(),
        full_name: p.name.full(),
        birth: match p.birth {
            BirthDate::Full(d) => format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()),
            BirthDate::Year(y) => y.to_string(),
        },
    }
}

fn stay_in(guest: Guest, arrival: OffsetDateTime) -> StayIn {
    StayIn {
        guest,
        arrival,
        departure: arrival + time::Duration::days(2),
        reason: "Thăm người thân".into(),
    }
}

fn host(p: &Person) -> Notifier {
    Notifier::Citizen {
        personal_id: p.id.as_str().into(),
        via: Via::Web,
    }
}

#[test]
fn the_deadline_is_23_00_the_same_day_or_08_00_the_next_for_a_late_arrival_in_vietnam_time() {
    let cases = [
        // (arrival, deadline)
        (
            datetime!(2026-12-03 22:59 +7),
            datetime!(2026-12-03 23:00 +7),
        ),
        (
            datetime!(2026-12-03 00:00 +7),
            datetime!(2026-12-03 23:00 +7),
        ),
        (
            datetime!(2026-12-03 23:00 +7),
            datetime!(2026-12-04 08:00 +7),
        ),
        (
            datetime!(2026-12-03 23:59 +7),
            datetime!(2026-12-04 08:00 +7),
        ),
        // 16:30 UTC is 23:30 in Vietnam: the next morning.
        (
            datetime!(2026-12-03 16:30 UTC),
            datetime!(2026-12-04 01:00 UTC),
        ),
        // 17:30 UTC on the 3rd is 00:30 on the 4th in Vietnam: 23:00 on the 4th.
        (
            datetime!(2026-12-03 17:30 UTC),
            datetime!(2026-12-04 16:00 UTC),
        ),
        // Year end.
        (
            datetime!(2026-12-31 23:10 +7),
            datetime!(2027-01-01 08:00 +7),
        ),
    ];
    for (arrival, want) in cases {
        assert_eq!(DEADLINE.deadline(arrival, false), want, "{arrival}");
    }
    assert_eq!(
        DEADLINE.deadline(datetime!(2026-12-03 23:30 +7), true),
        datetime!(2026-12-04 11:30 +7),
        "a foreign guest: 12 hours"
    );
    let a = datetime!(2026-12-03 21:00 +7);
    assert!(!DEADLINE.late(a, false, datetime!(2026-12-03 23:00 +7)));
    assert!(DEADLINE.late(a, false, datetime!(2026-12-03 23:00:01 +7)));
    assert_eq!(
        DEADLINE.day_of(datetime!(2026-12-03 17:30 UTC)),
        date!(2026 - 12 - 04)
    );
    assert!(DEADLINE.source.contains("55/2021"));
}

#[test]
fn a_host_notifies_two_guests_one_on_time_and_one_late_and_each_is_marked() {
    let w = world("stay-late");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g1 = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let g2 = person(&w, 3, "Phạm", "Bình", date!(1975 - 11 - 30));
    let e = establishment(&w, Kind::Tourist, &h, false);
    let now = datetime!(2026-12-03 23:30 +7);
    let out = stay::notify(
        &*w.store,
        &host(&h),
        e,
        &[
            stay_in(guest_of(&g1), datetime!(2026-12-03 20:00 +7)),
            stay_in(guest_of(&g2), datetime!(2026-12-03 23:15 +7)),
        ],
        now,
    )
    .unwrap();
    assert_eq!(out.len(), 2);
    assert!(out[0].late, "arrived 20:00, notified 23:30: late");
    assert_eq!(out[0].deadline, Some(datetime!(2026-12-03 23:00 +7)));
    assert!(!out[1].late, "arrived 23:15: due 08:00 the next day");
    assert_eq!(out[1].deadline, Some(datetime!(2026-12-04 08:00 +7)));
    assert_eq!(out[0].rule, Rule::EachStay);

    // The guest sees the stay and a masked notifier.
    let mine = view::my_stays(&*w.store, g1.id.as_str()).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].notified_by, "T. V. Hùng");
    assert_eq!(mine[0].stay.establishment, "Nhà nghỉ Hoa Mai");
    // Where the stay used the guest's data.
    let uses = view::data_uses(&*w.store, g1.id.as_str(), NOW - time::Duration::days(1)).unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0].fields, view::CHECKED_FIELDS);
    assert_eq!(uses[0].via, Via::Web);
}

#[test]
fn departure_before_arrival_is_refused_and_nothing_is_written() {
    let w = world("stay-dates");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let e = establishment(&w, Kind::Tourist, &h, false);
    let arrival = datetime!(2026-12-03 20:00 +7);
    let mut s = stay_in(guest_of(&g), arrival);
    s.departure = arrival - time::Duration::hours(1);
    let ok = stay_in(guest_of(&h), arrival);
    let r = stay::notify(&*w.store, &host(&h), e, &[ok, s], NOW).unwrap_err();
    assert_eq!(r.index, 1);
    assert!(
        matches!(
            r.error,
            Error::Bad {
                code: "stay.departure_before_arrival",
                ..
            }
        ),
        "{:?}",
        r.error
    );
    assert!(view::my_stays(&*w.store, h.id.as_str()).unwrap().is_empty());
}

fn refusal(r: Result<PersonalId, Error>) -> String {
    match r {
        Err(Error::Bad { code, message }) => format!("{code}: {message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_unknown_id_a_wrong_name_and_a_wrong_birth_date_get_the_same_answer() {
    let w = world("stay-probe");
    let g = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let store = &*w.store;
    let unknown = PersonalId::from_parts(62, Sex::Male, 1990, 999).unwrap();
    let answers = [
        refusal(stay::check_guest(
            store,
            unknown.as_str(),
            "Lê Văn Nam",
            "06/05/1990",
        )),
        refusal(stay::check_guest(
            store,
            g.id.as_str(),
            "Lê Văn Nhân",
            "06/05/1990",
        )),
        refusal(stay::check_guest(
            store,
            g.id.as_str(),
            "Lê Văn Nam",
            "07/05/1990",
        )),
        refusal(stay::check_guest(
            store,
            "12345",
            "Lê Văn Nam",
            "06/05/1990",
        )),
    ];
    assert!(answers[0].starts_with(GUEST_UNVERIFIED), "{}", answers[0]);
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    // The right three together pass, typed with or without accents, in either date format.
    assert_eq!(
        stay::check_guest(store, g.id.as_str(), "Lê Văn Nam", "06/05/1990").unwrap(),
        g.id
    );
    assert!(stay::check_guest(store, g.id.as_str(), "le van nam", "1990-05-06").is_ok());

    // Comparable work: an unknown ID costs about what a mismatch costs (medians of many tries;
    // generous, as the machine is shared).
    let median = |f: &dyn Fn()| {
        let mut t: Vec<u128> = (0..101)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_nanos()
            })
            .collect();
        t.sort_unstable();
        t[50]
    };
    let a = median(&|| {
        let _ = stay::check_guest(store, unknown.as_str(), "Lê Văn Nam", "06/05/1990");
    });
    let b = median(&|| {
        let _ = stay::check_guest(store, g.id.as_str(), "Lê Văn Nhân", "06/05/1990");
    });
    let ratio = a.max(b) as f64 / a.min(b).max(1) as f64;
    assert!(ratio < 5.0, "unknown {a} ns, mismatch {b} ns");
}

#[test]
fn only_notifiers_notify_and_i_am_the_guest_is_for_ones_own_stay() {
    let w = world("stay-who");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let e = establishment(&w, Kind::Rental, &h, false);
    let a = datetime!(2026-12-03 10:00 +7);
    let r = stay::notify(&*w.store, &host(&g), e, &[stay_in(guest_of(&h), a)], NOW).unwrap_err();
    assert!(matches!(r.error, Error::ScopeDenied));
    let me = Notifier::Citizen {
        personal_id: g.id.as_str().into(),
        via: Via::SelfGuest,
    };
    let r = stay::notify(&*w.store, &me, e, &[stay_in(guest_of(&h), a)], NOW).unwrap_err();
    assert!(matches!(
        r.error,
        Error::Bad {
            code: "stay.not_self",
            ..
        }
    ));
    let n = stay::notify_self(
        &*w.store,
        g.id.as_str(),
        e,
        a,
        a + time::Duration::days(1),
        "Công tác",
        NOW,
    )
    .unwrap();
    assert!(!n.late);
    let mine = view::my_stays(&*w.store, g.id.as_str()).unwrap();
    assert_eq!(mine[0].stay.via, Via::SelfGuest);
}

#[test]
fn a_repeated_submission_writes_one_stay_and_relatives_notify_once() {
    let w = world("stay-repeat");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g = person(&w, 2, "Trần", "Nam", date!(2000 - 05 - 06));
    let e = establishment(&w, Kind::Household, &h, true);
    let a1 = datetime!(2026-11-01 10:00 +7);
    let first = stay::notify(&*w.store, &host(&h), e, &[stay_in(guest_of(&g), a1)], NOW).unwrap();
    assert_eq!(first[0].rule, Rule::RelativesFirst);
    assert!(first[0].late, "notified a month later");
    let again = stay::notify(&*w.store, &host(&h), e, &[stay_in(guest_of(&g), a1)], NOW).unwrap();
    assert!(again[0].repeated);
    assert_eq!(again[0].id, first[0].id);
    let a2 = datetime!(2026-11-20 10:00 +7);
    let second = stay::notify(&*w.store, &host(&h), e, &[stay_in(guest_of(&g), a2)], NOW).unwrap();
    assert_eq!(second[0].rule, Rule::RelativesRepeat);
    assert!(!second[0].late, "covered by the first notification");
    assert_eq!(second[0].deadline, None);
    assert_eq!(view::my_stays(&*w.store, g.id.as_str()).unwrap().len(), 2);
}

#[test]
fn the_police_see_their_unit_only_and_search_with_a_reason_that_is_kept() {
    let w = world("stay-scope");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let e = establishment(&w, Kind::Tourist, &h, false);
    let a = datetime!(2026-12-03 10:00 +7);
    stay::notify(&*w.store, &host(&h), e, &[stay_in(guest_of(&g), a)], NOW).unwrap();

    let mine = acting(Role::Commune, w.commune);
    let other = acting(Role::Commune, w.other);
    let district = acting(Role::District, w.district);
    let day = date!(2026 - 12 - 03);

    let today = view::today(&*w.store, &mine, None, day).unwrap();
    assert_eq!(today.len(), 1);
    assert_eq!(today[0].guests, 1);
    assert!(view::today(&*w.store, &other, None, day)
        .unwrap()
        .is_empty());
    assert!(matches!(
        view::today(&*w.store, &other, Some(w.commune.as_str()), day),
        Err(Error::ScopeDenied)
    ));
    assert!(matches!(
        view::guests(&*w.store, &other, e, day),
        Err(Error::ScopeDenied)
    ));
    assert_eq!(
        view::guests(&*w.store, &district, e, day).unwrap().1.len(),
        1
    );
    assert!(matches!(
        stay::register_establishment(
            &*w.store,
            &other,
            &NewEstablishment {
                kind: Kind::Other,
                name: "X".into(),
                address: "Y".into(),
                commune: w.commune.as_str().into(),
                relatives_once: false,
                notifiers: vec![],
            }
        ),
        Err(Error::ScopeDenied)
    ));

    // Search: commune officers only, with a reason.
    assert!(matches!(
        view::search(&*w.store, &district, g.id.as_str(), "Xác minh tin báo"),
        Err(Error::ScopeDenied)
    ));
    assert!(matches!(
        view::search(&*w.store, &mine, g.id.as_str(), ""),
        Err(Error::Bad {
            code: "stay.search_reason",
            ..
        })
    ));
    let found = view::search(&*w.store, &mine, g.id.as_str(), "Xác minh tin báo").unwrap();
    assert_eq!(found.len(), 1);
    let reasons = view::search_reasons(&*w.store, "req-stay-1").unwrap();
    assert!(reasons
        .iter()
        .any(|(p, r)| p == g.id.as_str() && r == "Xác minh tin báo"));
    let log = w.store.audit_log(100).unwrap();
    assert!(log
        .iter()
        .any(|l| l.action == "stay.search" && l.outcome == "ok"));
    assert!(log
        .iter()
        .any(|l| l.action == "stay.search" && l.outcome == "denied"));

    // The report lists every type, with this stay under tourist accommodation.
    let rep = view::report(&*w.store, &mine, None, day, day).unwrap();
    assert_eq!(rep.len(), Kind::ALL.len());
    let tourist = rep.iter().find(|r| r.kind == Kind::Tourist).unwrap();
    assert_eq!(
        (tourist.establishments, tourist.stays, tourist.late),
        (1, 1, 0)
    );
}

#[test]
fn a_bulk_file_keeps_good_rows_and_reports_bad_ones_by_line() {
    let w = world("stay-csv");
    let h = person(&w, 1, "Trần", "Hùng", date!(1980 - 01 - 02));
    let g = person(&w, 2, "Lê", "Nam", date!(1990 - 05 - 06));
    let e = establishment(&w, Kind::Healthcare, &h, false);
    let file = format!(
        "personal_id,full_name,birth_date,passport,nationality,arrival,departure,reason\n\
         {id},Lê Văn Nam,06/05/1990,,,03/12/2026 08:00,05/12/2026 08:00,Điều trị nội trú\n\
         {id},Lê Văn Nhân,06/05/1990,,,03/12/2026 08:00,05/12/2026 08:00,Điều trị nội trú\n\
         ,John Smith,,X1234567,GBR,03/12/2026 09:00,04/12/2026 09:00,Điều trị\n\
         {hid},Trần Văn Hùng,02/01/1980,,,05/12/2026 08:00,03/12/2026 08:00,Điều trị\n\
         ,,,,,,,\n",
        id = g.id.as_str(),
        hid = h.id.as_str()
    );
    let rows = stay::csv::parse(file.as_bytes()).unwrap();
    let n = Notifier::Citizen {
        personal_id: h.id.as_str().into(),
        via: Via::Csv,
    };
    let out = stay::notify_bulk(&*w.store, &n, e, rows, NOW).unwrap();
    let lines: Vec<usize> = out.written.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![2, 4]);
    let bad: Vec<(usize, String)> = out
        .refused
        .iter()
        .map(|(l, e)| {
            (
                *l,
                match e {
                    Error::Bad { code, .. } => (*code).to_owned(),
                    other => format!("{other:?}"),
                },
            )
        })
        .collect();
    assert_eq!(
        bad,
        vec![
            (3, GUEST_UNVERIFIED.to_owned()),
            (5, "stay.departure_before_arrival".to_owned()),
            (6, "stay.no_guest".to_owned()),
        ]
    );
    assert!(
        stay::csv::parse(b"a,b\n1,2\n").is_err(),
        "a header without the columns"
    );
}
