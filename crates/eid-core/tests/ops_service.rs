//! The operations use cases' rules, on both engines: who may set and split a quota for which
//! unit, and that every refusal and every success is audited with the request id the caller
//! acted under. SQLite always; PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::audit::AuditQuery;
use eid_core::ops::service;
use eid_core::ops::{NewQuota, Split};
use eid_core::store::{Actor, Role, Staff, Store};
use eid_core::{Acting, Caller, Error};
use eid_domain::{Tree, UnitCode, Units};
use time::macros::{date, datetime};
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

/// The first unit below `unit` (2024 tree).
fn first_child(unit: &UnitCode) -> UnitCode {
    Units::get().children(Tree::Gso2024, unit)[0].code
}

/// A caller with `role` at `unit`, acting in request `rid`.
fn acting(id: i64, role: Role, unit: UnitCode, rid: &str) -> Acting {
    let staff = Staff {
        id,
        username: format!("staff{id}"),
        display_name: format!("Staff {id}"),
        role,
        unit,
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Staff(id),
        },
        rid,
        NOW,
    )
}

fn quota(unit: UnitCode) -> NewQuota {
    NewQuota {
        unit,
        metric: "level2_activated".into(),
        cohort: String::new(),
        target: 1000,
        start: date!(2026 - 11 - 01),
        deadline: date!(2026 - 12 - 31),
        parent_id: None,
    }
}

/// The audit lines of `action` as `(target, outcome, request_id)`, oldest first.
fn audit(store: &dyn Store, action: &str) -> Vec<(String, String, String)> {
    let mut lines: Vec<_> = store
        .audit_query(&AuditQuery {
            action: Some(action.to_owned()),
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| (e.target, e.outcome, e.request_id))
        .collect();
    lines.reverse();
    lines
}

fn line(target: &UnitCode, outcome: &str, rid: &str) -> (String, String, String) {
    (
        target.as_str().to_owned(),
        outcome.to_owned(),
        rid.to_owned(),
    )
}

#[test]
fn a_commune_officer_cannot_set_a_quota_and_the_refusal_is_audited() {
    let district = first_child(&code("62"));
    let commune = first_child(&district);
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let officer = acting(7, Role::Commune, commune, "req-commune");
        assert!(!service::may_set_quota(&officer.caller, &commune));
        let r = service::set_quota(s, &officer, &quota(commune), "the commune's own target");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        assert_eq!(
            audit(s, "quota.set"),
            vec![line(&commune, "denied", "req-commune")]
        );
        assert!(eid_core::ops::quotas(s, &commune, false)
            .unwrap()
            .is_empty());
    }
}

#[test]
fn a_province_officer_sets_its_districts_quota_but_not_another_provinces() {
    let mine = first_child(&code("62"));
    let theirs = first_child(&code("01"));
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let officer = acting(8, Role::Province, code("62"), "req-ok");
        let saved = service::set_quota(s, &officer, &quota(mine), "  the plan for 2026  ").unwrap();
        assert_eq!((saved.unit, saved.target), (mine, 1000));
        assert_eq!(saved.set_by, Actor::Staff(8));
        assert_eq!(
            eid_core::ops::quota_history(s, saved.id).unwrap()[0].reason,
            "the plan for 2026"
        );

        let elsewhere = acting(8, Role::Province, code("62"), "req-other-province");
        let r = service::set_quota(s, &elsewhere, &quota(theirs), "not ours");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        // Its own province's quota is the ministry's to set.
        let own = acting(8, Role::Province, code("62"), "req-own-province");
        let r = service::set_quota(s, &own, &quota(code("62")), "our own");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");

        assert_eq!(
            audit(s, "quota.set"),
            vec![
                line(&mine, "ok", "req-ok"),
                line(&theirs, "denied", "req-other-province"),
                line(&code("62"), "denied", "req-own-province"),
            ]
        );
        assert!(eid_core::ops::quotas(s, &theirs, false).unwrap().is_empty());
        assert!(eid_core::ops::quotas(s, &code("62"), false)
            .unwrap()
            .is_empty());

        // A reason is required; input is refused before anything is audited.
        let r = service::set_quota(s, &officer, &quota(mine), "   ");
        assert!(
            matches!(
                r,
                Err(Error::Bad {
                    code: "quota.reason",
                    ..
                })
            ),
            "{r:?}"
        );
        assert_eq!(audit(s, "quota.set").len(), 3);
    }
}

#[test]
fn an_auditor_is_refused_and_the_refusal_is_audited() {
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let auditor = acting(9, Role::Auditor, UnitCode::NATION, "req-auditor");
        let r = service::set_quota(s, &auditor, &quota(code("62")), "audit");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        assert_eq!(
            audit(s, "quota.set"),
            vec![line(&code("62"), "denied", "req-auditor")]
        );
        // Auditors read the audit trail only: no quota, no list of people.
        let r = service::quotas_with_progress(s, &auditor.caller, &code("62"), true, NOW.date());
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        let r = service::outreach(s, &auditor, "62", &Default::default());
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        assert_eq!(
            audit(s, "outreach.list"),
            vec![line(&code("62"), "denied", "req-auditor")]
        );
    }
}

#[test]
fn a_district_sees_its_provinces_quota_but_only_the_province_splits_it() {
    let district = first_child(&code("62"));
    let other_district = Units::get().children(Tree::Gso2024, &code("62"))[1].code;
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-ministry");
        let q = service::set_quota(s, &ministry, &quota(code("62")), "national plan").unwrap();

        let officer = acting(2, Role::District, district, "req-district");
        assert_eq!(service::quota(s, &officer.caller, q.id).unwrap().id, q.id);
        let how = Split::Manual(vec![(district, 600), (other_district, 400)]);
        let r = service::split(s, &officer, q.id, how);
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");

        let province = acting(3, Role::Province, code("62"), "req-province");
        let how = Split::Manual(vec![(district, 600), (other_district, 400)]);
        let kids = service::split(s, &province, q.id, how).unwrap();
        assert_eq!(
            kids.iter().map(|k| (k.unit, k.target)).collect::<Vec<_>>(),
            vec![(district, 600), (other_district, 400)]
        );
        let id = q.id.to_string();
        assert_eq!(
            audit(s, "quota.split"),
            vec![
                (id.clone(), "denied".into(), "req-district".into()),
                (id, "ok".into(), "req-province".into()),
            ]
        );
    }
}

#[test]
fn a_manual_split_that_does_not_add_up_is_refused_unless_its_difference_is_confirmed() {
    let district = first_child(&code("62"));
    let other_district = Units::get().children(Tree::Gso2024, &code("62"))[1].code;
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-ministry");
        let q = service::set_quota(s, &ministry, &quota(code("62")), "national plan").unwrap();
        let province = acting(3, Role::Province, code("62"), "req-province");
        // 14,285 against 1,000: refused, saying by how much it is over.
        let how = Split::Manual(vec![(district, 14_000), (other_district, 285)]);
        let r = service::split(s, &province, q.id, how);
        match r {
            Err(Error::Ops(eid_core::ops::OpsError::Invalid(code, msg))) => {
                assert_eq!(code, "split.mismatch");
                assert!(msg.contains("14285") && msg.contains("13285 over"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        assert!(eid_core::ops::children(s, q.id).unwrap().is_empty());
        // Under, with a wrong confirmation: refused too.
        let how = Split::ManualAccepting {
            parts: vec![(district, 600)],
            difference: -300,
        };
        assert!(service::split(s, &province, q.id, how).is_err());
        // Confirmed exactly: saved.
        let how = Split::ManualAccepting {
            parts: vec![(district, 600)],
            difference: -400,
        };
        assert_eq!(service::split(s, &province, q.id, how).unwrap().len(), 1);
        // Adding the other district's 400 makes it add up: no confirmation needed.
        let how = Split::Manual(vec![(other_district, 400)]);
        assert_eq!(service::split(s, &province, q.id, how).unwrap().len(), 1);
    }
}

#[test]
fn only_the_schedules_own_unit_submits_its_report_and_refusals_are_audited() {
    let district = first_child(&code("62"));
    let commune = first_child(&district);
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-ministry");
        let sched = service::add_schedule(
            s,
            &ministry,
            &service::NewSchedule {
                agency: "Sở Tư pháp".into(),
                unit: "62".into(),
                schedule: eid_domain::Schedule::Weekly,
                grace_days: 1,
                start: date!(2026 - 11 - 02),
            },
        )
        .unwrap();
        let day = date!(2026 - 11 - 09);
        let xa = acting(2, Role::Commune, commune, "req-commune");
        let r = service::submit_report(s, &xa, sched.id, day, "báo cáo của xã");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        let huyen = acting(3, Role::District, district, "req-district");
        let r = service::submit_report(s, &huyen, sched.id, day, "báo cáo của huyện");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        let r = service::submit_report(s, &ministry, sched.id, day, "báo cáo của bộ");
        assert!(matches!(r, Err(Error::ScopeDenied)), "{r:?}");
        let tinh = acting(4, Role::Province, code("62"), "req-province");
        service::submit_report(s, &tinh, sched.id, day, "báo cáo của tỉnh").unwrap();
        let id = sched.id.to_string();
        assert_eq!(
            audit(s, "report.submit"),
            vec![
                (id.clone(), "denied".into(), "req-commune".into()),
                (id.clone(), "denied".into(), "req-district".into()),
                (id.clone(), "denied".into(), "req-ministry".into()),
                (id, "ok".into(), "req-province".into()),
            ]
        );
    }
}

/// The code of a `Bad` refusal, or a description of what came instead.
fn bad_code<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Bad { code, message }) => {
            if code == "ops.bad_date" {
                assert!(
                    message.contains("2000-01-01") && message.contains("2100-12-31"),
                    "{message}"
                );
            }
            code.to_owned()
        }
        other => format!("not refused as bad: {other:?}"),
    }
}

#[test]
fn dates_outside_2000_to_2100_are_refused_and_29_february_only_in_a_leap_year() {
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-dates");
        let q = |start, deadline| NewQuota {
            start,
            deadline,
            ..quota(code("62"))
        };
        for (start, deadline) in [
            (date!(9999 - 12 - 31), date!(9999 - 12 - 31)),
            (date!(0001 - 01 - 01), date!(2026 - 12 - 31)),
            (date!(2026 - 01 - 01), date!(2101 - 01 - 01)),
            (date!(1999 - 12 - 31), date!(2026 - 12 - 31)),
            (time::Date::MIN, time::Date::MAX),
        ] {
            let r = service::set_quota(s, &ministry, &q(start, deadline), "plan");
            assert_eq!(bad_code(r), "ops.bad_date", "{start}..{deadline}");
        }
        // The edges of the range, and 29 February of a leap year, are accepted.
        service::set_quota(
            s,
            &ministry,
            &q(date!(2000 - 01 - 01), date!(2100 - 12 - 31)),
            "plan",
        )
        .unwrap();
        let leap = service::parse_day("2024-02-29", "deadline").unwrap();
        service::set_quota(s, &ministry, &q(date!(2024 - 01 - 01), leap), "plan").unwrap();
        assert_eq!(
            bad_code(service::parse_day("2023-02-29", "deadline")),
            "deadline"
        );
        assert_eq!(
            bad_code(service::parse_day("0001-01-01", "start")),
            "ops.bad_date"
        );
        assert_eq!(
            bad_code(service::parse_day("9999-12-31", "start")),
            "ops.bad_date"
        );

        let campaign = |start, end| service::NewCampaign {
            name: "Ngày hội".into(),
            slogan: String::new(),
            unit: "62".into(),
            start,
            end,
        };
        let r = service::add_campaign(
            s,
            &ministry,
            &campaign(date!(2026 - 01 - 01), date!(9999 - 12 - 31)),
        );
        assert_eq!(bad_code(r), "ops.bad_date");
        let r = service::add_campaign(
            s,
            &ministry,
            &campaign(date!(0001 - 01 - 01), date!(2026 - 01 - 01)),
        );
        assert_eq!(bad_code(r), "ops.bad_date");
        service::add_campaign(
            s,
            &ministry,
            &campaign(date!(2024 - 02 - 29), date!(2024 - 03 - 10)),
        )
        .unwrap();

        let schedule = |start| service::NewSchedule {
            agency: "Công an tỉnh".into(),
            unit: "62".into(),
            schedule: eid_domain::campaign::Schedule::Weekly,
            grace_days: 2,
            start,
        };
        for start in [
            date!(0001 - 01 - 01),
            date!(9999 - 12 - 31),
            date!(1999 - 12 - 31),
        ] {
            assert_eq!(
                bad_code(service::add_schedule(s, &ministry, &schedule(start))),
                "ops.bad_date"
            );
        }
        let sched = service::add_schedule(s, &ministry, &schedule(date!(2026 - 10 - 01))).unwrap();
        let r = service::submit_report(s, &ministry, sched.id, date!(9999 - 12 - 31), "x");
        assert_eq!(bad_code(r), "ops.bad_date");

        // as_of of the reads
        let caller = &ministry.caller;
        for as_of in [date!(0001 - 01 - 01), date!(9999 - 12 - 31)] {
            let r = service::quotas_with_progress(s, caller, &UnitCode::NATION, true, as_of);
            assert_eq!(bad_code(r.map(|v| v.len())), "ops.bad_date");
            assert_eq!(
                bad_code(service::reports(s, caller, as_of).map(|v| v.len())),
                "ops.bad_date"
            );
            assert_eq!(
                bad_code(service::campaigns(s, caller, as_of).map(|v| v.len())),
                "ops.bad_date"
            );
        }
    }
}

#[test]
fn a_schedule_lists_a_bounded_number_of_periods() {
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-periods");
        service::add_schedule(
            s,
            &ministry,
            &service::NewSchedule {
                agency: "Công an tỉnh".into(),
                unit: "62".into(),
                schedule: eid_domain::campaign::Schedule::Weekly,
                grace_days: 2,
                start: date!(2000 - 01 - 01),
            },
        )
        .unwrap();
        let all = service::reports(s, &ministry.caller, date!(2100 - 12 - 31)).unwrap();
        let n = all[0].periods.len();
        assert!(n > 0 && n <= eid_core::ops::MAX_PERIODS, "{n} periods");
        // the newest periods are the ones kept
        let last = all[0].periods.last().unwrap().0;
        assert!(last.end >= date!(2100 - 12 - 31), "{last:?}");
    }
}

#[test]
fn targets_are_bounded_to_a_population_and_a_split_cannot_wrap() {
    let district = first_child(&code("62"));
    let other_district = Units::get().children(Tree::Gso2024, &code("62"))[1].code;
    for store in eid_core::testkit::engines("ops_service") {
        let s = store.as_ref();
        let ministry = acting(1, Role::Ministry, UnitCode::NATION, "req-target");
        for target in [0, 200_000_001, i64::MAX as u64, u64::MAX] {
            let q = NewQuota {
                target,
                ..quota(code("62"))
            };
            let r = service::set_quota(s, &ministry, &q, "plan");
            assert_eq!(bad_code(r), "ops.bad_target", "{target}");
        }
        let big = NewQuota {
            target: 200_000_000,
            ..quota(code("62"))
        };
        let q = service::set_quota(s, &ministry, &big, "plan").unwrap();
        assert_eq!(q.target, 200_000_000);

        let province = acting(3, Role::Province, code("62"), "req-province");
        let half = i64::MAX as u64 / 2 + 1;
        let how = Split::Manual(vec![(district, half), (other_district, half)]);
        let r = service::split(s, &province, q.id, how);
        assert_eq!(bad_code(r.map(|v| v.len())), "ops.bad_target");
        assert!(eid_core::ops::children(s, q.id).unwrap().is_empty());

        // parts inside the bound, even when their sum is more than the parent's (with the
        // difference confirmed), are kept and summed without wrapping
        let how = Split::ManualAccepting {
            parts: vec![(district, 200_000_000), (other_district, 200_000_000)],
            difference: 200_000_000,
        };
        service::split(s, &province, q.id, how).unwrap();
        let p = eid_core::ops::progress_of(s, &q, date!(2026 - 11 - 23)).unwrap();
        assert_eq!(p.children_sum, Some(400_000_000));
    }
}
