//! Operations on both engines: denominators, quotas and their splits, progress from the
//! roll-ups (with the seeds' own figures), ranking, re-aggregation into the 2025 tree, reports,
//! outreach and proposed register changes. SQLite always; PostgreSQL when
//! `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::accounts::{day_number, metric};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::ops::{self, NewQuota, OutreachFilter, Split};
use eid_core::sql;
use eid_core::store::{unit_path, Actor, Store};
use eid_domain::campaign::{Schedule, Status, Timeliness};
use eid_domain::{AccountLevel, LifeState, Person, Tree, UnitCode, Units};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn people(count: u64) -> Vec<Person> {
    Generator::new(&GenConfig {
        count,
        seed: 6,
        province: Some(code("62")),
        today: TODAY,
    })
    .unwrap()
    .collect()
}

fn load(store: &dyn Store, persons: &[Person]) {
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, persons.iter().cloned(), &opts).unwrap();
}

/// Puts `n` on a counter for a commune and day, as the account transitions would.
fn count(store: &dyn Store, metric: &str, commune: &UnitCode, day: Date, n: i64) {
    let path = unit_path(commune).unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + $4",
            &[metric.into(), path.into(), day_number(day).into(), n.into()],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[metric.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

fn actor() -> Actor {
    Actor::Staff(1)
}

fn quota(unit: &str, metric: &str, target: u64, start: Date, deadline: Date) -> NewQuota {
    NewQuota {
        unit: code(unit),
        metric: metric.into(),
        cohort: String::new(),
        target,
        start,
        deadline,
        parent_id: None,
    }
}

#[test]
fn denominators_leave_out_the_dead_the_emigrated_the_absent_and_children() {
    let persons = people(3000);
    let states: std::collections::HashSet<LifeState> =
        persons.iter().map(|p| p.life.state).collect();
    assert!(
        states.contains(&LifeState::Dead),
        "the generator should make some deaths"
    );
    for store in eid_core::testkit::engines("ops") {
        load(store.as_ref(), &persons);
        let got = ops::eligible_by_commune(store.as_ref(), &code("62"), TODAY).unwrap();
        let mut want: std::collections::HashMap<UnitCode, u64> = Default::default();
        for p in &persons {
            if p.life.state == LifeState::Alive && p.birth.age_on(TODAY) >= 14 {
                *want.entry(p.residence.unit).or_default() += 1;
            }
        }
        assert_eq!(got, want, "{}", store.engine());
        let total: u64 = got.values().sum();
        assert!(total < persons.len() as u64 && total > 0);
        // By district: the communes summed up their own branch.
        let by_district = ops::eligible_by_child(store.as_ref(), &code("62"), TODAY).unwrap();
        assert_eq!(by_district.iter().map(|(_, n)| n).sum::<u64>(), total);
    }
}

#[test]
fn kon_tum_on_30_may_2023_needed_8595_a_day() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let q = ops::set_quota(
            s,
            &quota(
                "62",
                metric::ACCOUNTS_ACTIVATED,
                421_013,
                date!(2023 - 05 - 11),
                date!(2023 - 07 - 15),
            ),
            &actor(),
            "Bộ giao",
            NOW,
        )
        .unwrap();
        let commune = Units::get().communes_under(Tree::Gso2024, &code("62"))[0].code;
        // 6,791 level-1 and 18,832 level-2 activations by 30 May, the last week at 9,440.
        count(
            s,
            metric::ACCOUNTS_ACTIVATED,
            &commune,
            date!(2023 - 05 - 20),
            25_623 - 9_440,
        );
        count(
            s,
            metric::ACCOUNTS_ACTIVATED,
            &commune,
            date!(2023 - 05 - 27),
            9_440,
        );
        count(
            s,
            metric::ACCOUNTS_ACTIVATED,
            &commune,
            date!(2023 - 05 - 31),
            1_000,
        ); // after as_of: not counted
        let p = ops::progress_of(s, &q, date!(2023 - 05 - 30)).unwrap();
        assert_eq!(p.done, 25_623);
        assert_eq!(p.progress.remaining, 395_390);
        assert_eq!(p.progress.days_left, 46);
        assert_eq!(p.progress.required_daily.unwrap().round() as u64, 8_595);
        assert_eq!(p.last_7_days, 9_440);
        assert_eq!(p.progress.status, Status::Behind);
    }
}

#[test]
fn thanh_hoa_percentages_come_out_of_the_counters() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let start = date!(2023 - 01 - 01);
        let deadline = date!(2023 - 12 - 31);
        let q1 = ops::set_quota(
            s,
            &quota("38", metric::ACCOUNTS_ACTIVATED, 1_620_967, start, deadline),
            &actor(),
            "giao",
            NOW,
        )
        .unwrap();
        let q2 = ops::set_quota(
            s,
            &quota(
                "38",
                metric::APPLICATIONS_COLLECTED,
                1_620_967,
                start,
                deadline,
            ),
            &actor(),
            "giao",
            NOW,
        )
        .unwrap();
        let commune = Units::get().communes_under(Tree::Gso2024, &code("38"))[3].code;
        count(
            s,
            metric::ACCOUNTS_ACTIVATED,
            &commune,
            date!(2023 - 08 - 01),
            1_633_225,
        );
        count(
            s,
            metric::APPLICATIONS_COLLECTED,
            &commune,
            date!(2023 - 08 - 01),
            2_330_383,
        );
        let as_of = date!(2023 - 08 - 21);
        let p1 = ops::progress_of(s, &q1, as_of).unwrap();
        let p2 = ops::progress_of(s, &q2, as_of).unwrap();
        assert_eq!(
            eid_domain::campaign::percent_fixed(p1.done, q1.target, 2),
            "100.76"
        );
        assert_eq!(
            eid_domain::campaign::percent_fixed(p2.done, q2.target, 2),
            "143.76"
        );
        assert_eq!(p1.progress.status, Status::Met);
    }
}

#[test]
fn a_quota_splits_in_proportion_and_every_change_is_kept() {
    let persons = people(2000);
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        load(s, &persons);
        let q = ops::set_quota(
            s,
            &quota(
                "62",
                metric::LEVEL2_ACTIVATED,
                1000,
                date!(2026 - 10 - 01),
                date!(2026 - 12 - 31),
            ),
            &actor(),
            "first",
            NOW,
        )
        .unwrap();
        assert_eq!(q.version, 1);
        let q = ops::set_quota(
            s,
            &quota(
                "62",
                metric::LEVEL2_ACTIVATED,
                1200,
                date!(2026 - 10 - 01),
                date!(2026 - 12 - 31),
            ),
            &Actor::Staff(2),
            "raised",
            NOW,
        )
        .unwrap();
        assert_eq!(q.version, 2);
        let history = ops::quota_history(s, q.id).unwrap();
        assert_eq!(
            history
                .iter()
                .map(|h| (
                    h.old_target,
                    h.new_target,
                    h.reason.as_str(),
                    h.actor.clone()
                ))
                .collect::<Vec<_>>(),
            vec![
                (None, 1000, "first", Actor::Staff(1)),
                (Some(1000), 1200, "raised", Actor::Staff(2))
            ]
        );
        let kids =
            ops::split(s, q.id, Split::Proportional { today: TODAY }, &actor(), NOW).unwrap();
        assert_eq!(kids.iter().map(|k| k.target).sum::<u64>(), 1200);
        let weights = ops::eligible_by_child(s, &code("62"), TODAY).unwrap();
        let total: u64 = weights.iter().map(|(_, n)| n).sum();
        for k in &kids {
            let w = weights.iter().find(|(u, _)| *u == k.unit).unwrap().1;
            let exact = 1200.0 * w as f64 / total as f64;
            assert!(
                (k.target as f64 - exact).abs() < 1.0,
                "{} {} vs {exact}",
                k.unit.as_str(),
                k.target
            );
            assert_eq!(k.parent_id, Some(q.id));
        }
        assert_eq!(
            ops::progress_of(s, &q, TODAY).unwrap().children_sum,
            Some(1200)
        );
        // A hand edit of one child makes the children not add up, and the parent shows it.
        let first = &kids[0];
        ops::set_quota(
            s,
            &NewQuota {
                target: first.target + 7,
                parent_id: Some(q.id),
                ..quota(
                    first.unit.as_str(),
                    metric::LEVEL2_ACTIVATED,
                    0,
                    first.start,
                    first.deadline,
                )
            },
            &actor(),
            "by hand",
            NOW,
        )
        .unwrap();
        assert_eq!(
            ops::progress_of(s, &q, TODAY).unwrap().children_sum,
            Some(1207)
        );
        // A manual split naming a unit that is not a child is refused.
        let err =
            ops::split(s, q.id, Split::Manual(vec![(code("38"), 5)]), &actor(), NOW).unwrap_err();
        assert_eq!(err.code(), "quota.not_a_child");
        // A commune's quota cannot be split.
        let commune = Units::get().communes_under(Tree::Gso2024, &code("62"))[0].code;
        let cq = ops::set_quota(
            s,
            &quota(
                commune.as_str(),
                metric::LEVEL2_ACTIVATED,
                10,
                date!(2026 - 10 - 01),
                date!(2026 - 12 - 31),
            ),
            &actor(),
            "x",
            NOW,
        )
        .unwrap();
        assert_eq!(
            ops::split(
                s,
                cq.id,
                Split::Proportional { today: TODAY },
                &actor(),
                NOW
            )
            .unwrap_err()
            .code(),
            "quota.no_children"
        );
    }
}

#[test]
fn districts_rank_by_percent_with_the_change_since_yesterday() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let units = Units::get();
        let districts: Vec<UnitCode> = units
            .children(Tree::Gso2024, &code("62"))
            .iter()
            .take(3)
            .map(|u| u.code)
            .collect();
        let start = date!(2026 - 11 - 01);
        let deadline = date!(2026 - 12 - 31);
        let parent = ops::set_quota(
            s,
            &quota("62", metric::LEVEL2_ACTIVATED, 300, start, deadline),
            &actor(),
            "x",
            NOW,
        )
        .unwrap();
        ops::split(
            s,
            parent.id,
            Split::Manual(districts.iter().map(|d| (*d, 100)).collect()),
            &actor(),
            NOW,
        )
        .unwrap();
        let commune_of = |d: &UnitCode| units.communes_under(Tree::Gso2024, d)[0].code;
        // District 0: 50 by yesterday; district 1: 40 by yesterday and 30 today; district 2: 10.
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &commune_of(&districts[0]),
            date!(2026 - 11 - 20),
            50,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &commune_of(&districts[1]),
            date!(2026 - 11 - 20),
            40,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &commune_of(&districts[1]),
            date!(2026 - 11 - 23),
            30,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &commune_of(&districts[2]),
            date!(2026 - 11 - 21),
            10,
        );
        let r = ops::ranking(s, &parent, TODAY).unwrap();
        let got: Vec<(UnitCode, usize, i64)> = r
            .iter()
            .map(|x| (x.key, x.rank_today, x.rank_change))
            .collect();
        assert_eq!(
            got,
            vec![
                (districts[1], 1, 1),
                (districts[0], 2, -1),
                (districts[2], 3, 0)
            ]
        );
    }
}

#[test]
fn every_commune_of_a_province_ranks_with_its_status() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let communes: Vec<UnitCode> = Units::get()
            .communes_under(Tree::Gso2024, &code("62"))
            .iter()
            .take(4)
            .map(|u| u.code)
            .collect();
        let (start, deadline) = (date!(2026 - 11 - 01), date!(2026 - 12 - 22));
        for c in &communes {
            ops::set_quota(
                s,
                &quota(c.as_str(), metric::LEVEL2_ACTIVATED, 100, start, deadline),
                &actor(),
                "x",
                NOW,
            )
            .unwrap();
        }
        // 0: met; 1: 60 done, 30 of them this week (on track: 4.3/day vs 40/29 needed);
        // 2: 10 done, none lately (behind); 3: nothing.
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &communes[0],
            date!(2026 - 11 - 05),
            100,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &communes[1],
            date!(2026 - 11 - 05),
            30,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &communes[1],
            date!(2026 - 11 - 23),
            30,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &communes[2],
            date!(2026 - 11 - 03),
            10,
        );
        count(
            s,
            metric::LEVEL2_ACTIVATED,
            &communes[2],
            date!(2026 - 10 - 20),
            50,
        ); // before the start
        let r = ops::rank_communes(s, &code("62"), metric::LEVEL2_ACTIVATED, TODAY).unwrap();
        let got: Vec<(UnitCode, usize, u64, Status)> = r
            .iter()
            .map(|x| {
                (
                    x.ranked.key,
                    x.ranked.rank_today,
                    x.ranked.done_today,
                    x.progress.status,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (communes[0], 1, 100, Status::Met),
                (communes[1], 2, 60, Status::OnTrack),
                (communes[2], 3, 10, Status::Behind),
                (communes[3], 4, 0, Status::Behind),
            ]
        );
        assert_eq!(r[1].ranked.done_yesterday, 30);
        assert_eq!(
            ops::rank_communes(s, &code("62"), "nonsense", TODAY)
                .unwrap_err()
                .code(),
            "metric.invalid"
        );
    }
}

#[test]
fn history_re_aggregates_into_the_2025_provinces() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let units = Units::get();
        let kon_tum = units.communes_under(Tree::Gso2024, &code("62"))[0].code;
        let quang_ngai = units.communes_under(Tree::Gso2024, &code("51"))[0].code;
        let ha_noi = units.communes_under(Tree::Gso2024, &code("01"))[0].code;
        count(
            s,
            metric::LEVEL1_ACTIVATED,
            &kon_tum,
            date!(2025 - 03 - 01),
            7,
        );
        count(
            s,
            metric::LEVEL1_ACTIVATED,
            &quang_ngai,
            date!(2025 - 03 - 02),
            5,
        );
        count(
            s,
            metric::LEVEL1_ACTIVATED,
            &ha_noi,
            date!(2025 - 03 - 02),
            2,
        );
        let got = ops::by_province_2025(s, metric::LEVEL1_ACTIVATED, 0, day_number(TODAY)).unwrap();
        let new_qn = units.province_2025_for_2024(&code("62")).unwrap().code;
        assert_eq!(
            units.province_2025_for_2024(&code("51")).unwrap().code,
            new_qn,
            "Kon Tum merged into Quảng Ngãi"
        );
        let find = |c: UnitCode| got.iter().find(|(u, _)| *u == c).map(|(_, n)| *n);
        assert_eq!(find(new_qn), Some(12));
        assert_eq!(
            find(units.province_2025_for_2024(&code("01")).unwrap().code),
            Some(2)
        );
        assert_eq!(got.iter().map(|(_, n)| n).sum::<u64>(), 14);
    }
}

#[test]
fn reports_are_on_time_late_or_missing_per_period() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let sched = ops::add_schedule(
            s,
            "Sở Y tế",
            &code("62"),
            Schedule::Weekly,
            2,
            date!(2026 - 11 - 02),
            &actor(),
            NOW,
        )
        .unwrap();
        // Week of 2 Nov: on time (Monday after). Week of 9 Nov: late. Week of 16 Nov: missing
        // (due 24 Nov counts as not due yet on 23 Nov). Week of 23 Nov: not due.
        ops::submit_report(
            s,
            sched.id,
            date!(2026 - 11 - 03),
            "tuần 1",
            &actor(),
            datetime!(2026-11-09 03:00 UTC),
        )
        .unwrap();
        ops::submit_report(
            s,
            sched.id,
            date!(2026 - 11 - 10),
            "tuần 2",
            &actor(),
            datetime!(2026-11-20 03:00 UTC),
        )
        .unwrap();
        let again = ops::submit_report(s, sched.id, date!(2026 - 11 - 10), "lại", &actor(), NOW)
            .unwrap_err();
        assert_eq!(again.code(), "report.already_submitted");
        let st = ops::report_status(s, &code("62"), TODAY).unwrap();
        assert_eq!(st.len(), 1);
        let got: Vec<(Date, Timeliness)> =
            st[0].periods.iter().map(|(p, t)| (p.start, *t)).collect();
        assert_eq!(
            got,
            vec![
                (date!(2026 - 11 - 02), Timeliness::OnTime),
                (date!(2026 - 11 - 09), Timeliness::Late),
                (date!(2026 - 11 - 16), Timeliness::NotDueYet),
                (date!(2026 - 11 - 23), Timeliness::NotDueYet),
            ]
        );
        let later = ops::report_status(s, &code("62"), date!(2026 - 11 - 26)).unwrap();
        assert_eq!(later[0].periods[2].1, Timeliness::Missing);
        assert_eq!(
            (
                later[0].completeness.on_time,
                later[0].completeness.late,
                later[0].completeness.missing
            ),
            (1, 1, 1)
        );
    }
}

#[test]
fn outreach_lists_the_unreached_and_a_reported_death_becomes_a_confirmed_change() {
    let persons = people(1500);
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        load(s, &persons);
        // The commune with the most eligible people.
        let eligible = ops::eligible_by_commune(s, &code("62"), TODAY).unwrap();
        let (commune, n) = eligible
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(c, n)| (*c, *n))
            .unwrap();
        let all = ops::outreach(
            s,
            &commune,
            TODAY,
            &OutreachFilter {
                missing: "no_account".into(),
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            all.len() as u64,
            n,
            "nobody has an account yet: every eligible person is listed"
        );
        let smart = ops::outreach(
            s,
            &commune,
            TODAY,
            &OutreachFilter {
                missing: "no_account".into(),
                phone_type: Some("smartphone".into()),
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(smart.iter().all(|r| r.phone_type == "smartphone"));
        assert!(smart.len() < all.len());
        let old = ops::outreach(
            s,
            &commune,
            TODAY,
            &OutreachFilter {
                missing: "no_account".into(),
                min_age: Some(60),
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            old.iter().all(|r| r.birth_date.as_str() <= "1966-11-23"),
            "60+ only"
        );
        let target = &all[0];
        let id = eid_domain::PersonalId::parse(&target.personal_id).unwrap();
        ops::assign(
            s,
            &commune,
            &[id],
            "Tổ công tác số 1",
            date!(2026 - 11 - 30),
            &actor(),
            NOW,
        )
        .unwrap();
        let relisted = ops::outreach(
            s,
            &commune,
            TODAY,
            &OutreachFilter {
                missing: "no_account".into(),
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            relisted
                .iter()
                .find(|r| r.personal_id == target.personal_id)
                .unwrap()
                .assignee
                .as_deref(),
            Some("Tổ công tác số 1")
        );
        assert_eq!(
            ops::record_contact(s, &id, "not_home", "", &actor(), NOW).unwrap(),
            None
        );
        let proposal = ops::record_contact(s, &id, "dead", "gia đình báo", &actor(), NOW)
            .unwrap()
            .unwrap();
        let open = ops::proposals(s, &commune).unwrap();
        assert_eq!(
            open.iter()
                .map(|p| (p.id, p.proposed.as_str()))
                .collect::<Vec<_>>(),
            vec![(proposal, "dead")]
        );
        // Outside the officer's unit: refused; inside: the register records the death.
        let refused =
            ops::decide_proposal(s, proposal, true, &actor(), &|_| false, NOW).unwrap_err();
        assert_eq!(refused.code(), "scope.denied");
        ops::decide_proposal(s, proposal, true, &actor(), &|_| true, NOW).unwrap();
        let p = s.person(&id).unwrap().unwrap();
        assert_eq!(p.person.life.state, LifeState::Dead);
        assert_eq!(s.history(&id).unwrap().last().unwrap().actor, actor());
        let after = ops::outreach(
            s,
            &commune,
            TODAY,
            &OutreachFilter {
                missing: "no_account".into(),
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(after.len(), all.len() - 1, "the dead leave the list");
        assert_eq!(
            ops::decide_proposal(s, proposal, false, &actor(), &|_| true, NOW)
                .unwrap_err()
                .code(),
            "proposal.decided"
        );
        assert_eq!(
            ops::record_contact(s, &id, "gone", "", &actor(), NOW)
                .unwrap_err()
                .code(),
            "outreach.outcome"
        );
    }
}

/// An account row as the account use cases write it, at `commune` (its residence when it was
/// registered).
fn account_at(store: &dyn Store, personal_id: &str, commune: &UnitCode, level: i64) {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO account (personal_id, level, state, phone, commune, res_path, created_at, \
             updated_at) VALUES ($1, $2, 'active', '+84912345678', $3, $4, 1, 1)",
            &[
                personal_id.into(),
                level.into(),
                commune.as_str().into(),
                unit_path(commune).unwrap().into(),
            ],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

#[test]
fn outreach_sees_an_account_registered_in_another_province() {
    // On PostgreSQL `account` is partitioned by province: the commune's list reads its
    // province's partition, and an account registered where its holder lived before is in
    // another one (migration 34).
    let persons = people(1500);
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        load(s, &persons);
        let eligible = ops::eligible_by_commune(s, &code("62"), TODAY).unwrap();
        let commune = eligible
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(c, _)| *c)
            .unwrap();
        let list = |missing: &str| {
            ops::outreach(
                s,
                &commune,
                TODAY,
                &OutreachFilter {
                    missing: missing.into(),
                    limit: 10_000,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        let all = list("no_account");
        let (here, moved, none) = (
            all[0].personal_id.clone(),
            all[1].personal_id.clone(),
            all[2].personal_id.clone(),
        );
        account_at(s, &here, &commune, 1);
        account_at(s, &moved, &code("00001"), 1); // Phúc Xá, Hà Nội
        let without = list("no_account");
        assert_eq!(without.len(), all.len() - 2);
        assert!(without
            .iter()
            .all(|r| r.personal_id != here && r.personal_id != moved));
        let level = |rows: &[ops::OutreachRow], pid: &str| {
            rows.iter()
                .find(|r| r.personal_id == pid)
                .map(|r| r.account_level)
        };
        let no_level_2 = list("no_application");
        assert_eq!(level(&no_level_2, &here), Some(Some(AccountLevel::One)));
        assert_eq!(level(&no_level_2, &moved), Some(Some(AccountLevel::One)));
        assert_eq!(level(&no_level_2, &none), Some(None));
    }
}

#[test]
fn capacity_says_how_many_more_devices_meet_the_deadline() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let unit = code("608");
        for i in 0..2 {
            let key = eid_core::intake::new_key().1;
            let key: [u8; 32] = eid_core::intake::parse_public_key(&key).unwrap();
            eid_core::accounts::add_device(s, &format!("Máy {i}"), &unit, &key, 250, &actor(), NOW)
                .unwrap();
        }
        // 20,000 left in 20 days = 1,000 a day; two devices give 500: two more are needed.
        let c = ops::capacity(s, &unit, 20_000, 20).unwrap();
        assert_eq!(
            (c.devices, c.per_day, c.days_needed, c.more_devices),
            (2, 500, Some(40), 2)
        );
        let enough = ops::capacity(s, &unit, 5_000, 20).unwrap();
        assert_eq!(enough.more_devices, 0);
    }
}

#[test]
fn a_stored_metric_the_code_does_not_know_is_a_corrupt_store_not_a_panic() {
    for s in eid_core::testkit::engines("ops") {
        let s = s.as_ref();
        let q = ops::set_quota(
            s,
            &quota(
                "62",
                metric::LEVEL2_ACTIVATED,
                10,
                TODAY,
                TODAY + time::Duration::days(30),
            ),
            &actor(),
            "test",
            NOW,
        )
        .unwrap();
        assert_eq!(q.metric, eid_domain::Metric::Level2Activated);
        assert_eq!(
            ops::quota(s, q.id).unwrap().map(|q| q.metric),
            Some(q.metric)
        );
        sql::transact(s.db(), |tx| {
            tx.exec(
                "UPDATE quota SET metric = 'level3_activated' WHERE id = $1",
                &[q.id.into()],
            )
        })
        .unwrap();
        match ops::quota(s, q.id) {
            Err(eid_core::StoreError::Corrupt(why)) => {
                assert!(
                    why.contains("quota metric") && why.contains("level3_activated"),
                    "{why}"
                )
            }
            other => panic!("expected a corrupt store, got {other:?}"),
        }
    }
}

#[test]
fn a_proposal_with_a_life_status_the_code_does_not_know_is_refused_not_read_as_absent() {
    for store in eid_core::testkit::engines("ops") {
        let s = store.as_ref();
        let persons = people(40);
        load(s, &persons);
        let p = persons
            .iter()
            .find(|p| p.life.state == LifeState::Alive && p.check(TODAY).is_ok())
            .unwrap();
        let proposal = ops::record_contact(s, &p.id, "moved_away", "", &actor(), NOW)
            .unwrap()
            .unwrap();
        // A value the schema's check would refuse today: as if written by another version.
        if s.engine() == "postgres" {
            sql::transact(s.db(), |tx| {
                tx.exec(
                    "ALTER TABLE register_proposal DROP CONSTRAINT register_proposal_proposed_check",
                    &[],
                )
            })
            .unwrap();
        } else {
            sql::write_one(s.db(), |tx| {
                tx.exec("PRAGMA ignore_check_constraints = ON", &[])
            })
            .unwrap();
        }
        sql::write_one(s.db(), |tx| {
            tx.exec(
                "UPDATE register_proposal SET proposed = 'moved' WHERE id = $1",
                &[proposal.into()],
            )
        })
        .unwrap();
        let before = s.person(&p.id).unwrap().unwrap();
        let refused =
            ops::decide_proposal(s, proposal, true, &actor(), &|_| true, NOW).unwrap_err();
        assert_eq!(refused.code(), "proposal.bad_value");
        assert!(matches!(
            eid_core::Error::from(refused),
            eid_core::Error::Bad {
                code: "proposal.bad_value",
                ..
            }
        ));
        assert_eq!(s.person(&p.id).unwrap().unwrap(), before, "nothing written");
        assert_eq!(
            ops::proposals(s, &p.residence.unit).unwrap().len(),
            1,
            "still open"
        );
    }
}
