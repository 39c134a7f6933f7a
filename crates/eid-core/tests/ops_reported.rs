//! Figures reported by units that do not run eid, on both engines: the rule that never counts a
//! unit-day twice (in progress, series, splits, rankings and the national view), corrections
//! that keep every version (append-only), nesting refused, and the CSV and XLSX import with bad
//! rows reported and nothing half-applied. SQLite always; PostgreSQL when
//! `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::accounts::{day_number, metric};
use eid_core::ops::service::{self as uc, FigureIn, ImportIn};
use eid_core::ops::{self, FigureFilter, NewQuota, OpsError, Provenance, Put};
use eid_core::sql;
use eid_core::store::{unit_path, Actor, Role, Staff, Store};
use eid_core::{Acting, Caller, Error};
use eid_domain::{Metric, Tree, UnitCode, Units};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const D1: Date = date!(2026 - 11 - 10);
const D2: Date = date!(2026 - 11 - 11);

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

/// The first district of Kon Tum (62) and two of its communes.
fn units() -> (UnitCode, UnitCode, UnitCode) {
    let u = Units::get();
    let d = u.children(Tree::Gso2024, &code("62"))[0].code;
    let c = u.communes_under(Tree::Gso2024, &d);
    (d, c[0].code, c[1].code)
}

/// Records `n` events on a commune and day, as the account transitions would.
fn record(store: &dyn Store, commune: &UnitCode, day: Date, n: i64) {
    let path = unit_path(commune).unwrap();
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4)",
            &[
                metric::APPLICATIONS_COLLECTED.into(),
                path.into(),
                day_number(day).into(),
                n.into(),
            ],
        )?;
        tx.exec(
            "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
             ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
            &[metric::APPLICATIONS_COLLECTED.into(), path.into(), n.into()],
        )?;
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
}

fn put(
    store: &dyn Store,
    unit: &UnitCode,
    day: Date,
    n: u64,
    reason: &str,
) -> Result<Put, OpsError> {
    let prov = Provenance {
        source: "Zalo".into(),
        reason: reason.into(),
        ..Provenance::default()
    };
    sql::transact(store.db(), |tx| {
        ops::put_figure(
            tx,
            (unit, Metric::ApplicationsCollected, day),
            n,
            &prov,
            &Actor::Staff(1),
            NOW,
        )
    })
}

fn quota(store: &dyn Store, unit: &UnitCode, target: u64) -> ops::Quota {
    ops::set_quota(
        store,
        &NewQuota {
            unit: *unit,
            metric: metric::APPLICATIONS_COLLECTED.into(),
            cohort: String::new(),
            target,
            start: date!(2026 - 11 - 01),
            deadline: date!(2026 - 12 - 31),
            parent_id: None,
        },
        &Actor::Staff(1),
        "x",
        NOW,
    )
    .unwrap()
}

fn acting(role: Role, unit: UnitCode) -> Acting {
    Acting::new(
        Caller {
            staff: Staff {
                id: 7,
                username: "officer".into(),
                display_name: "Officer".into(),
                role,
                unit,
                disabled: false,
            },
            actor: Actor::Staff(7),
        },
        "rid-reported",
        NOW,
    )
}

fn list(store: &dyn Store, within: &UnitCode) -> Vec<ops::ReportedFigure> {
    ops::figures(
        store,
        &FigureFilter {
            within: *within,
            metric: None,
            from: date!(2026 - 01 - 01),
            to: TODAY,
            limit: 1000,
        },
    )
    .unwrap()
}

#[test]
fn a_reported_day_counts_only_when_the_unit_recorded_nothing_that_day() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let (d, c0, c1) = units();
        // c0 reports 10 and records nothing; c1 reports 7 but recorded 3 itself: 3 stands.
        assert_eq!(put(s, &c0, D1, 10, "").unwrap(), Put::Created);
        assert_eq!(put(s, &c1, D1, 7, "").unwrap(), Put::Created);
        record(s, &c1, D1, 3);
        // Another province reports at the province level only.
        assert_eq!(put(s, &code("01"), D1, 40, "").unwrap(), Put::Created);

        let figs = list(s, &d);
        let flags: Vec<(UnitCode, u64, bool)> =
            figs.iter().map(|f| (f.unit, f.count, f.counted)).collect();
        assert!(flags.contains(&(c0, 10, true)), "{flags:?}");
        assert!(flags.contains(&(c1, 7, false)), "{flags:?}");

        let qd = quota(s, &d, 100);
        assert_eq!(ops::progress_of(s, &qd, TODAY).unwrap().done, 13);
        let series = ops::daily(
            s,
            metric::APPLICATIONS_COLLECTED,
            &d,
            day_number(D1),
            day_number(D2),
        )
        .unwrap();
        assert_eq!(series, vec![(day_number(D1), 13), (day_number(D2), 0)]);
        let kids = ops::by_child(
            s,
            metric::APPLICATIONS_COLLECTED,
            &code("62"),
            day_number(D1),
            day_number(D1),
        )
        .unwrap();
        assert_eq!(kids.iter().find(|(u, _)| *u == d).map(|x| x.1), Some(13));

        // Communes rank with the same figures.
        quota(s, &c0, 20);
        quota(s, &c1, 20);
        let ranked =
            ops::rank_communes(s, &code("62"), metric::APPLICATIONS_COLLECTED, TODAY).unwrap();
        let done: Vec<(UnitCode, u64)> = ranked
            .iter()
            .map(|r| (r.ranked.key, r.ranked.done_today))
            .collect();
        assert_eq!(done, vec![(c0, 10), (c1, 3)]);

        // The national view: 62 from the province's sum less the day c1 recorded, 01 reported.
        let q62 = quota(s, &code("62"), 1000);
        let q01 = quota(s, &code("01"), 1000);
        let nat = ops::national(s, Tree::Gso2024, TODAY).unwrap();
        let rows = &nat.metrics[0].rows;
        let done_of = |q: &ops::Quota| {
            rows.iter()
                .find(|r| r.quota_id == Some(q.id))
                .map(|r| r.done)
        };
        assert_eq!(done_of(&q01), Some(40));
        assert_eq!(done_of(&q62), Some(13));
        let p2025 = ops::by_province_2025(
            s,
            metric::APPLICATIONS_COLLECTED,
            day_number(D1),
            day_number(D1),
        )
        .unwrap();
        assert_eq!(p2025.iter().fold(0, |t, (_, n)| t + n), 53);
    }
}

#[test]
fn a_correction_keeps_every_version_and_figures_do_not_nest() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let (d, c0, _) = units();
        put(s, &c0, D1, 10, "").unwrap();
        let e = put(s, &c0, D1, 12, " ").unwrap_err();
        assert_eq!(e.code(), "reported.reason");
        assert_eq!(
            put(s, &c0, D1, 12, "typo in the Zalo message").unwrap(),
            Put::Corrected
        );
        assert_eq!(put(s, &c0, D1, 12, "").unwrap(), Put::Unchanged);
        let f = &list(s, &c0)[0];
        assert_eq!((f.count, f.version), (12, 2));
        let h = ops::figure_history(s, f.id).unwrap();
        assert_eq!(
            h.iter()
                .map(|v| (v.count, v.reason.as_str()))
                .collect::<Vec<_>>(),
            vec![(10, ""), (12, "typo in the Zalo message")]
        );
        // The province's daily sum moved by the difference only.
        let q = quota(s, &code("62"), 100);
        assert_eq!(ops::progress_of(s, &q, TODAY).unwrap().done, 12);

        // Above or below a figure of the same metric and day: refused.
        assert_eq!(put(s, &d, D1, 5, "").unwrap_err().code(), "reported.nested");
        assert_eq!(
            put(s, &code("62"), D1, 5, "").unwrap_err().code(),
            "reported.nested"
        );
        put(s, &code("62"), D2, 50, "").unwrap();
        assert_eq!(
            put(s, &c0, D2, 5, "").unwrap_err().code(),
            "reported.nested"
        );
        // Cards issued come from the register, the nation reports nothing.
        let prov = Provenance::default();
        let e = sql::transact(s.db(), |tx| {
            ops::put_figure(
                tx,
                (&c0, Metric::CardsIssued, D1),
                1,
                &prov,
                &Actor::Staff(1),
                NOW,
            )
        })
        .unwrap_err();
        assert_eq!(e.code(), "reported.metric");
        assert!(ops::figure_keys(&UnitCode::NATION).is_err());

        // The history is append-only on both engines.
        for stmt in [
            "UPDATE reported_version SET n = 1",
            "DELETE FROM reported_version",
        ] {
            let err = sql::transact(s.db(), |tx| tx.exec(stmt, &[])).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{stmt}: {err}");
        }
    }
}

fn csv_file(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from("unit,day,metric,count,source\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

#[test]
fn an_import_reports_bad_rows_by_line_and_writes_nothing_unless_told_to_skip() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let (d, c0, c1) = units();
        let province = acting(Role::Province, code("62"));
        let file = csv_file(&[
            &format!(
                "{},10/11/2026,applications_collected,1.234,Zalo",
                c0.as_str()
            ),
            &format!("{},11/11/2026,applications_collected,5,", c0.as_str()),
            "01,10/11/2026,applications_collected,5,",
            &format!("{},2026-11-10,level1_activated,4,điện thoại", c1.as_str()),
            &format!("{},31/11/2026,applications_collected,4,", c1.as_str()),
            &format!("{},10/11/2026,applications_collected,9,", c0.as_str()),
        ]);
        let how = ImportIn {
            file_name: "xa.csv".into(),
            source: "bảng tính huyện".into(),
            ..ImportIn::default()
        };
        let r = uc::import_figures(s, &province, &file, &how).unwrap();
        assert!(!r.applied);
        assert_eq!(r.rows, 6);
        assert_eq!(
            r.bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![4, 6, 7]
        );
        assert!(
            r.bad[0].reason.contains("not a unit below yours"),
            "{:?}",
            r.bad
        );
        assert!(r.bad[2].reason.contains("line 2"), "{:?}", r.bad);
        assert!(list(s, &d).is_empty(), "nothing half-applied");

        let skip = ImportIn {
            skip_bad: true,
            ..how.clone()
        };
        let r = uc::import_figures(s, &province, &file, &skip).unwrap();
        assert!(r.applied);
        assert_eq!(
            (r.created, r.corrected, r.unchanged, r.bad.len()),
            (3, 0, 0, 3)
        );
        let figs = list(s, &d);
        let first = figs.iter().find(|f| f.unit == c0 && f.day == D1).unwrap();
        assert_eq!(first.count, 1234);
        assert_eq!(first.latest.file_name, "xa.csv");
        assert_eq!(first.latest.file_sha256, r.sha256);
        assert_eq!(r.sha256.len(), 64);
        let second = figs.iter().find(|f| f.unit == c0 && f.day == D2).unwrap();
        assert_eq!(second.latest.source, "bảng tính huyện");

        // The same file again changes nothing.
        let r = uc::import_figures(s, &province, &file, &skip).unwrap();
        assert_eq!((r.created, r.unchanged), (0, 3));

        // An XLSX file that changes a figure: refused without a reason, kept with one.
        let xlsx = {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            for (i, h) in ["unit", "day", "metric", "count", "source"]
                .iter()
                .enumerate()
            {
                ws.write_string(0, i as u16, *h).unwrap();
            }
            ws.write_string(1, 0, c0.as_str()).unwrap();
            ws.write_string(1, 1, "10/11/2026").unwrap();
            ws.write_string(1, 2, "applications_collected").unwrap();
            ws.write_number(1, 3, 1300.0).unwrap();
            ws.write_string(1, 4, "báo cáo tuần").unwrap();
            ws.write_string(2, 0, c1.as_str()).unwrap();
            ws.write_string(2, 1, "xx").unwrap();
            wb.save_to_buffer().unwrap()
        };
        let xhow = ImportIn {
            file_name: "tuan.xlsx".into(),
            ..ImportIn::default()
        };
        let r = uc::import_figures(s, &province, &xlsx, &xhow).unwrap();
        assert!(!r.applied);
        assert_eq!(r.bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![2, 3]);
        assert!(r.bad[0].reason.contains("say why"), "{:?}", r.bad);
        let r = uc::import_figures(
            s,
            &province,
            &xlsx,
            &ImportIn {
                reason: "báo cáo tuần sửa số".into(),
                skip_bad: true,
                ..xhow
            },
        )
        .unwrap();
        assert_eq!((r.applied, r.corrected), (true, 1));
        let (fig, versions) = uc::figure_history(s, &province.caller, first.id).unwrap();
        assert_eq!(fig.count, 1300);
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[1].file_name, "tuan.xlsx");
        assert_eq!(versions[1].reason, "báo cáo tuần sửa số");

        // A file that is not one is refused as a whole.
        let e = uc::import_figures(s, &province, b"a;b\n", &skip).unwrap_err();
        assert!(matches!(e, Error::Bad { .. } | Error::Ops(_)), "{e:?}");
    }
}

#[test]
fn only_the_level_above_enters_a_units_figures() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let (d, c0, _) = units();
        let fig = |unit: UnitCode| FigureIn {
            unit,
            metric: Metric::ApplicationsCollected,
            day: D1,
            count: 4,
            source: "điện thoại".into(),
            reason: String::new(),
        };
        let district = acting(Role::District, d);
        assert!(matches!(
            uc::enter_figure(s, &district, &fig(d)),
            Err(Error::ScopeDenied)
        ));
        assert!(matches!(
            uc::enter_figure(s, &district, &fig(code("62"))),
            Err(Error::ScopeDenied)
        ));
        let other = acting(Role::Province, code("01"));
        assert!(matches!(
            uc::enter_figure(s, &other, &fig(c0)),
            Err(Error::ScopeDenied)
        ));
        let (saved, put) = uc::enter_figure(s, &district, &fig(c0)).unwrap();
        assert_eq!((saved.count, saved.counted, put), (4, true, Put::Created));
        // Not for a day to come; not read from outside.
        let mut later = fig(c0);
        later.day = date!(2026 - 11 - 24);
        assert!(uc::enter_figure(s, &district, &later).is_err());
        assert!(matches!(
            uc::figure_history(s, &other.caller, saved.id),
            Err(Error::ScopeDenied)
        ));
    }
}

fn load_people(store: &dyn Store) -> Vec<eid_domain::Person> {
    use eid_core::import::{import_generated, ImportOptions, OnError};
    let people: Vec<eid_domain::Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 400,
        seed: 11,
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
}

fn event(store: &dyn Store, personal_id: &str, kind: &str, day: Date) {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO account_event (personal_id, kind, at, day, actor, detail) VALUES ($1, $2, 0, $3, 'test', '{}')",
            &[personal_id.into(), kind.into(), day_number(day).into()],
        )
    })
    .unwrap();
}

#[test]
fn a_quota_as_a_share_of_a_base_and_a_cohort_quota_that_counts_its_members() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let people = load_people(s);
        let units = Units::get();
        // The district with the most people.
        let d = units
            .children(Tree::Gso2024, &code("62"))
            .iter()
            .map(|u| u.code)
            .max_by_key(|u| {
                people
                    .iter()
                    .filter(|p| units.contains(Tree::Gso2024, u, &p.residence.unit))
                    .count()
            })
            .unwrap();
        let province = acting(Role::Province, code("62"));
        let share = |base: ops::Base, permille: u32, cohort: &str, metric: &str| uc::ShareQuota {
            unit: d,
            metric: metric.into(),
            cohort: cohort.into(),
            base,
            permille,
            start: date!(2026 - 11 - 01),
            deadline: date!(2026 - 12 - 31),
        };
        // 65 % of the eligible people, rounded up, kept with the count.
        let eligible = ops::base_count(s, ops::Base::Eligible, &d, "", TODAY).unwrap();
        assert!(eligible > 10, "{eligible}");
        let (q, count) = uc::set_quota_share(
            s,
            &province,
            &share(ops::Base::Eligible, 650, "", "accounts_activated"),
            "65 % người đủ điều kiện",
        )
        .unwrap();
        assert_eq!(count, eligible);
        assert_eq!(q.target, (eligible * 65).div_ceil(100));
        let q = ops::quota(s, q.id).unwrap().unwrap();
        assert_eq!(
            q.base,
            Some(ops::QuotaBase {
                base: ops::Base::Eligible,
                permille: 650,
                count: eligible
            })
        );
        // Set again as a number: the base is gone.
        let mut plain = NewQuota {
            unit: d,
            metric: "accounts_activated".into(),
            cohort: String::new(),
            target: 5,
            start: q.start,
            deadline: q.deadline,
            parent_id: None,
        };
        uc::set_quota(s, &province, &plain, "số cụ thể").unwrap();
        assert_eq!(ops::quota(s, q.id).unwrap().unwrap().base, None);
        // Card holders: the register's count.
        let (q2, holders) = uc::set_quota_share(
            s,
            &province,
            &share(ops::Base::CardHolders, 1000, "", "level2_activated"),
            "100 % người có thẻ",
        )
        .unwrap();
        assert_eq!(q2.target, holders);
        // Only the level above.
        let district = acting(Role::District, d);
        assert!(matches!(
            uc::set_quota_share(
                s,
                &district,
                &share(ops::Base::Eligible, 500, "", "level1_activated"),
                "x"
            ),
            Err(Error::ScopeDenied)
        ));

        // A cohort of the district with four members; bad lines by line, never echoed.
        let cohort = uc::create_cohort(s, &district, &d, "Cán bộ Sở Tư pháp").unwrap();
        assert!(uc::create_cohort(s, &district, &d, "Cán bộ Sở Tư pháp").is_err());
        let inside: Vec<&eid_domain::Person> = people
            .iter()
            .filter(|p| units.contains(Tree::Gso2024, &d, &p.residence.unit))
            .take(4)
            .collect();
        let outside = people
            .iter()
            .find(|p| !units.contains(Tree::Gso2024, &d, &p.residence.unit))
            .unwrap();
        let file = format!(
            "personal_id\n{}\n{}\n123\n{}\n{}\n{}\n{}\n",
            inside[0].id.as_str(),
            inside[1].id.as_str(),
            outside.id.as_str(),
            inside[2].id.as_str(),
            inside[0].id.as_str(),
            inside[3].id.as_str()
        );
        let r = uc::import_members(s, &district, cohort.id, file.as_bytes()).unwrap();
        assert_eq!(r.added, 4);
        assert_eq!(
            r.bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![4, 5, 7]
        );
        assert!(r
            .bad
            .iter()
            .all(|b| !b.reason.contains(outside.id.as_str())));
        let other = acting(Role::Province, code("01"));
        assert!(matches!(
            uc::import_members(s, &other, cohort.id, file.as_bytes()),
            Err(Error::ScopeDenied)
        ));

        // A cohort quota of 100 % of its members counts only the members' transitions.
        let (cq, n) = uc::set_quota_share(
            s,
            &province,
            &share(
                ops::Base::Cohort,
                1000,
                "Cán bộ Sở Tư pháp",
                "level2_activated",
            ),
            "100 % cán bộ",
        )
        .unwrap();
        assert_eq!((n, cq.target), (4, 4));
        event(s, inside[0].id.as_str(), "level2_activated", D1);
        event(s, inside[1].id.as_str(), "level2_activated", D2);
        event(s, outside.id.as_str(), "level2_activated", D1);
        event(s, inside[2].id.as_str(), "level1_activated", D1);
        assert_eq!(ops::progress_of(s, &cq, TODAY).unwrap().done, 2);
        plain.metric = "accounts_activated".into();
        plain.cohort = "Cán bộ Sở Tư pháp".into();
        let aq = uc::set_quota(s, &province, &plain, "x").unwrap();
        assert_eq!(ops::progress_of(s, &aq, TODAY).unwrap().done, 3);

        // Split among the communes, the cohort quota's parts and its ranking count only the
        // members living in each commune — not the 50 events the commune itself recorded.
        let c0 = inside[0].residence.unit;
        let path = eid_core::store::unit_path(&c0).unwrap();
        sql::transact(s.db(), |tx| {
            tx.exec(
                "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ('level2_activated', $1, $2, 50)",
                &[path.into(), day_number(D1).into()],
            )?;
            tx.exec(
                "INSERT INTO unit_total (metric, res_path, n) VALUES ('level2_activated', $1, 50) \
                 ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + 50",
                &[path.into()],
            )
        })
        .unwrap();
        let parts = uc::split(
            s,
            &province,
            cq.id,
            ops::Split::Proportional { today: TODAY },
        )
        .unwrap();
        assert!(parts.len() > 1 && parts.iter().all(|p| p.cohort == cq.cohort));
        let done: Vec<(UnitCode, u64)> = parts
            .iter()
            .map(|p| (p.unit, ops::progress_of(s, p, TODAY).unwrap().done))
            .collect();
        let members_in = |u: &UnitCode| {
            [inside[0], inside[1]]
                .iter()
                .filter(|p| units.contains(Tree::Gso2024, u, &p.residence.unit))
                .count() as u64
        };
        for (u, n) in &done {
            assert_eq!(*n, members_in(u), "{}", u.as_str());
        }
        assert_eq!(done.iter().map(|(_, n)| n).sum::<u64>(), 2);
        let ranking = ops::ranking(s, &cq, TODAY).unwrap();
        assert_eq!(ranking.len(), parts.len());
        for r in &ranking {
            assert_eq!(r.done_today, members_in(&r.key), "{}", r.key.as_str());
        }
    }
}

/// The national view reads the per-province daily roll-up (kept by triggers on the counters)
/// and the reported figures in one pass; its figures are those of each province's own
/// progress, whatever level the figures were reported at and whether the province recorded
/// events on their days.
#[test]
fn the_national_view_from_the_province_roll_up_matches_each_provinces_progress() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let (_, c0, c1) = units();
        let hn = Units::get().communes_under(Tree::Gso2024, &code("01"))[0].code;
        let th = Units::get().communes_under(Tree::Gso2024, &code("38"))[0].code;
        // 62: commune figures, c1's on a day it recorded (not counted), c0's counted.
        put(s, &c0, D1, 10, "").unwrap();
        put(s, &c1, D1, 7, "").unwrap();
        record(s, &c1, D1, 3);
        // 38: its own figure on a day it recorded (not counted) and on one it did not.
        put(s, &code("38"), D1, 100, "").unwrap();
        put(s, &code("38"), TODAY, 40, "").unwrap();
        record(s, &th, D1, 5);
        // 01: recorded only, the counter bumped twice the same day (an update of its row).
        let path = unit_path(&hn).unwrap();
        sql::transact(s.db(), |tx| {
            eid_core::rollup::bump(tx, metric::APPLICATIONS_COLLECTED, path, NOW)?;
            eid_core::rollup::bump(tx, metric::APPLICATIONS_COLLECTED, path, NOW)
        })
        .unwrap();
        // 02: a province figure only.
        put(s, &code("02"), D2, 9, "").unwrap();

        let qs: Vec<ops::Quota> = ["62", "38", "01", "02"]
            .iter()
            .map(|p| quota(s, &code(p), 1000))
            .collect();
        let nat = ops::national(s, Tree::Gso2024, TODAY).unwrap();
        let rows = &nat.metrics[0].rows;
        let mut seen = Vec::new();
        for q in &qs {
            let row = rows.iter().find(|r| r.quota_id == Some(q.id)).unwrap();
            let own = ops::progress_of(s, q, TODAY).unwrap();
            assert_eq!(
                (row.done, row.last_7_days),
                (own.done, own.last_7_days),
                "{}",
                q.unit.as_str()
            );
            assert_eq!(row.progress, own.progress, "{}", q.unit.as_str());
            seen.push((q.unit.as_str().to_owned(), row.done, row.last_7_days));
        }
        assert_eq!(
            seen,
            vec![
                ("62".to_owned(), 13, 0),
                ("38".to_owned(), 45, 40),
                ("01".to_owned(), 2, 2),
                ("02".to_owned(), 9, 0),
            ]
        );
        // The roll-up follows the counters, updates and deletions included.
        let rolled = |s: &dyn Store| {
            sql::read(s.db(), |tx| {
                tx.int(
                    "SELECT COALESCE(CAST(SUM(n) AS BIGINT), 0) FROM province_day_count WHERE province = 1",
                    &[],
                )
            })
            .unwrap()
        };
        assert_eq!(rolled(s), 2);
        sql::transact(s.db(), |tx| {
            tx.exec(
                "DELETE FROM unit_day_count WHERE res_path = $1",
                &[path.into()],
            )
        })
        .unwrap();
        assert_eq!(rolled(s), 0);
    }
}

/// The figures the rule counts, worked out from scratch: a figure counts when no counter
/// inside its unit is positive that day. `(res_path, day) -> counts?`, and per province and
/// day the sum of the figures that count.
type Expected = (
    std::collections::BTreeMap<(i64, i64), bool>,
    std::collections::BTreeMap<(i64, i64), i64>,
);

fn expected(s: &dyn Store) -> Expected {
    let rows = sql::read(s.db(), |tx| {
        tx.query(
            "SELECT f.res_path, f.day, f.n, CASE WHEN EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric \
             AND u.day = f.day AND u.res_path >= f.res_path AND u.res_path < f.path_hi AND u.n > 0) THEN 0 ELSE 1 END \
             FROM reported_figure f",
            &[],
        )
    })
    .unwrap();
    let mut flags = std::collections::BTreeMap::new();
    let mut sums = std::collections::BTreeMap::new();
    for r in rows {
        let g = |i: usize| r[i].clone().int().unwrap();
        let counts = g(3) == 1;
        flags.insert((g(0), g(1)), counts);
        *sums.entry((g(0) / 100_000_000, g(1))).or_insert(0) += if counts { g(2) } else { 0 };
    }
    (flags, sums)
}

/// One event recorded on a commune at `hour` of `day`, as an account transition bumps it.
fn bump(s: &dyn Store, commune: &UnitCode, day: Date, hour: u8) {
    let path = unit_path(commune).unwrap();
    let at = day.with_hms(hour, 0, 0).unwrap().assume_utc();
    sql::transact(s.db(), |tx| {
        eid_core::rollup::bump(tx, metric::APPLICATIONS_COLLECTED, path, at)
    })
    .unwrap();
}

/// What the store keeps at write time, in the same shape.
fn kept(s: &dyn Store) -> Expected {
    let (figs, days) = sql::read(s.db(), |tx| {
        Ok::<_, eid_core::StoreError>((
            tx.query("SELECT res_path, day, overlapped FROM reported_figure", &[])?,
            tx.query(
                "SELECT province, day, counted FROM reported_province_day WHERE counted <> 0",
                &[],
            )?,
        ))
    })
    .unwrap();
    let flags = figs
        .iter()
        .map(|r| {
            let g = |i: usize| r[i].clone().int().unwrap();
            ((g(0), g(1)), g(2) == 0)
        })
        .collect();
    let sums = days
        .iter()
        .map(|r| {
            let g = |i: usize| r[i].clone().int().unwrap();
            ((g(0), g(1)), g(2))
        })
        .collect();
    (flags, sums)
}

fn sums_without_zeros(mut e: Expected) -> Expected {
    e.1.retain(|_, n| *n != 0);
    e
}

/// Whether a figure counts is kept when either side is written (not found at read time): after
/// every step of a random mix of figures, corrections, counters that appear, grow, vanish and
/// come back, at commune, district and province level, the kept flags and the province-day
/// sums equal the rule worked out from scratch.
#[test]
fn whether_a_figure_counts_is_kept_through_every_write_on_either_side() {
    use rand::{Rng, SeedableRng};
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let u = Units::get();
        let districts = u.children(Tree::Gso2024, &code("62"));
        let mut communes = Vec::new();
        for d in &districts[..2] {
            communes.extend(
                u.communes_under(Tree::Gso2024, &d.code)[..3]
                    .iter()
                    .map(|c| c.code),
            );
        }
        let units: Vec<UnitCode> = [code("62"), districts[0].code, districts[1].code]
            .into_iter()
            .chain(communes.iter().copied())
            .collect();
        let days = [D1, D2];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for step in 0..300 {
            let day = days[rng.gen_range(0..2)];
            match rng.gen_range(0..5) {
                0 | 1 => {
                    let unit = units[rng.gen_range(0..units.len())];
                    // Nested figures are refused; that refusal writes nothing.
                    let _ = put(s, &unit, day, rng.gen_range(0..50), "sửa theo báo cáo");
                }
                2 => {
                    let c = communes[rng.gen_range(0..communes.len())];
                    bump(s, &c, day, 9);
                }
                3 => {
                    // A counter set to zero or back (no eid writer does this; the rule holds anyway).
                    let c = communes[rng.gen_range(0..communes.len())];
                    let n: i64 = rng.gen_range(0..2);
                    sql::transact(s.db(), |tx| {
                        tx.exec(
                            "UPDATE unit_day_count SET n = $1 WHERE metric = $2 AND res_path = $3 AND day = $4",
                            &[
                                n.into(),
                                metric::APPLICATIONS_COLLECTED.into(),
                                unit_path(&c).unwrap().into(),
                                day_number(day).into(),
                            ],
                        )
                    })
                    .unwrap();
                }
                _ => {
                    let c = communes[rng.gen_range(0..communes.len())];
                    sql::transact(s.db(), |tx| {
                        tx.exec(
                            "DELETE FROM unit_day_count WHERE metric = $1 AND res_path = $2 AND day = $3",
                            &[
                                metric::APPLICATIONS_COLLECTED.into(),
                                unit_path(&c).unwrap().into(),
                                day_number(day).into(),
                            ],
                        )
                    })
                    .unwrap();
                }
            }
            assert_eq!(kept(s), sums_without_zeros(expected(s)), "step {step}");
        }
        let (flags, _) = expected(s);
        assert!(
            flags.values().any(|c| *c) && flags.values().any(|c| !*c),
            "{flags:?}"
        );
    }
}

/// Figures and the first counters of a day written at the same moment from many connections
/// (on PostgreSQL, READ COMMITTED): neither side misses the other.
#[test]
fn figures_and_counters_written_at_once_still_follow_the_rule() {
    for store in eid_core::testkit::engines("ops_reported") {
        let s = store.as_ref();
        let u = Units::get();
        let communes: Vec<UnitCode> = u
            .children(Tree::Gso2024, &code("62"))
            .iter()
            .flat_map(|d| u.communes_under(Tree::Gso2024, &d.code))
            .map(|c| c.code)
            .take(24)
            .collect();
        for round in 0..4 {
            let day = date!(2026 - 10 - 01) + time::Duration::days(round);
            std::thread::scope(|sc| {
                for (i, c) in communes.iter().enumerate() {
                    sc.spawn(move || {
                        if i % 2 == 0 {
                            put(s, c, day, 5, "").unwrap();
                        } else {
                            bump(s, c, day, 9);
                        }
                    });
                }
                // A second event on every fifth commune, racing both.
                for c in communes.iter().step_by(5) {
                    sc.spawn(move || {
                        bump(s, c, day, 10);
                    });
                }
            });
        }
        let want = sums_without_zeros(expected(s));
        assert_eq!(kept(s), want);
        assert!(want.0.values().any(|c| !*c), "some figure met a counter");
    }
}
