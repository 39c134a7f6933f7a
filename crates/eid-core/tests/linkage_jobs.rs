//! Sector imports as jobs (issue 13), on SQLite and, when `EID_TEST_DATABASE_URL` is set, on
//! PostgreSQL: XLSX sector files (date cells, serial numbers, text dates, IDs kept as numbers,
//! bad rows by sheet row), a job stopped half-way and resumed that ends as one uninterrupted
//! import does (no row lost, none written twice), cancel, and who may run jobs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::files::{read_sector, read_sector_bytes, read_sector_xlsx, Mapping};
use eid_core::linkage::job::{self, JobSpec};
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::sql;
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Error, Store};
use eid_domain::name::fold;
use eid_domain::{LifeState, Person, UnitCode};
use eid_gen::{GenConfig, Generator};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn people() -> Vec<Person> {
    Generator::new(&GenConfig {
        count: 400,
        seed: 33,
        province: None,
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.life.state == LifeState::Alive)
    .collect()
}

fn populate(store: &dyn Store, people: &[Person]) {
    let opts = ImportOptions {
        on_error: OnError::Abort,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, people.iter().cloned(), &opts).unwrap();
    service::define_source(
        store,
        &Actor::Cli("test".into()),
        NOW,
        &Source {
            name: "bhxh".into(),
            kind: "social_insurance".into(),
            mapping: mapping(),
        },
    )
    .unwrap();
}

const HEADER: [&str; 9] = [
    "ma_so",
    "so_dinh_danh",
    "ho",
    "ten_dem",
    "ten",
    "ngay_sinh",
    "gioi_tinh",
    "don_vi",
    "so_the",
];

fn mapping() -> Mapping {
    Mapping::parse(
        "row_id=ma_so,personal_id=so_dinh_danh,surname=ho,middle_name=ten_dem,given_name=ten,birth_date=ngay_sinh,sex=gioi_tinh,unit=don_vi",
    )
    .unwrap()
}

/// Every person once (names folded for a third, IDs left out for a quarter), one person the
/// register does not hold, and one bad row (a sex that is neither M nor F) in the middle.
fn sector_rows(people: &[Person]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let (s, m, g) = (p.name.surname(), p.name.middle(), p.name.given());
        let (s, m, g) = if i % 3 == 0 {
            (fold(s), fold(m), fold(g))
        } else {
            (s.into(), m.into(), g.into())
        };
        let id = if i % 4 == 0 { "" } else { p.id.as_str() };
        rows.push(vec![
            format!("R{i}"),
            id.to_owned(),
            s,
            m,
            g,
            p.birth.to_string(),
            p.sex.as_str().to_owned(),
            p.residence.unit.as_str().to_owned(),
            format!("GD{i:08}"),
        ]);
        if i == people.len() / 2 {
            rows.push(
                ["BAD", "", "Lê", "", "An", "1990-01-02", "X", "", ""]
                    .map(str::to_owned)
                    .to_vec(),
            );
        }
    }
    rows.push(
        [
            "NOBODY",
            "",
            "Khổng",
            "Minh",
            "Triết",
            "1931-02-03",
            "M",
            "",
            "",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    rows
}

fn csv_of(rows: &[Vec<String>]) -> String {
    let mut out = HEADER.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out
}

/// The same rows as a workbook: IDs as numbers (leading zeros lost), birth dates as date
/// cells, plain serial numbers or `DD/MM/YYYY` text in turn; a blank row before the data.
fn xlsx_of(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let day = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2; // sheet row 2 (index 1) is left blank
        for (c, v) in r.iter().enumerate() {
            let c = c as u16;
            if v.is_empty() {
                continue;
            }
            let full = c == 5 && v.len() == 10;
            if c == 1 {
                sheet
                    .write_number(row, c, v.parse::<f64>().unwrap())
                    .unwrap();
            } else if full {
                let (y, m, d) = (&v[0..4], &v[5..7], &v[8..10]);
                let dt = ExcelDateTime::from_ymd(
                    y.parse().unwrap(),
                    m.parse().unwrap(),
                    d.parse().unwrap(),
                )
                .unwrap();
                match i % 3 {
                    0 => {
                        sheet.write_datetime_with_format(row, c, &dt, &day).unwrap();
                    }
                    1 => {
                        sheet.write_number(row, c, dt.to_excel()).unwrap();
                    }
                    _ => {
                        sheet.write_string(row, c, format!("{d}/{m}/{y}")).unwrap();
                    }
                }
            } else if c == 5 {
                // A year-only birth date, as a number.
                sheet
                    .write_number(row, c, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(row, c, v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn acting(role: Role, unit: &str) -> Acting {
    Acting::new(
        Caller {
            staff: Staff {
                id: 7,
                username: "officer".into(),
                display_name: "Cán bộ".into(),
                role,
                unit: UnitCode::parse(unit).unwrap(),
                disabled: false,
            },
            actor: Actor::Staff(7),
        },
        "rid-job",
        NOW,
    )
}

fn spec(file_name: &str) -> JobSpec {
    JobSpec {
        source: "bhxh".into(),
        file_name: file_name.into(),
        received_on: TODAY,
        thresholds: Thresholds::default(),
    }
}

fn now() -> OffsetDateTime {
    NOW
}

/// (rows, distinct lines) of a batch's stored results.
fn stored(store: &dyn Store, batch: i64) -> (i64, i64) {
    let r = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT COUNT(*), COUNT(DISTINCT line) FROM link_result WHERE batch_id = $1",
            &[batch.into()],
        )
    })
    .unwrap()
    .unwrap();
    (r[0].int().unwrap(), r[1].int().unwrap())
}

#[test]
fn an_xlsx_sector_file_reads_as_its_csv_does() {
    let people = people();
    let rows = sector_rows(&people);
    let (csv_good, csv_bad) = read_sector(csv_of(&rows).as_bytes(), &mapping(), TODAY).unwrap();
    let xlsx = xlsx_of(&rows);
    let (good, bad) = read_sector_xlsx(&xlsx, &mapping(), TODAY).unwrap();
    // The same rows, by ID, with the same personal IDs (zeros restored) and birth dates.
    assert_eq!(good.len(), csv_good.len());
    assert_eq!(good.len(), rows.len() - 1);
    for (x, c) in good.iter().zip(&csv_good) {
        assert_eq!(x.row_id, c.row_id);
        let get = |v: &[(String, String)], k: &str| {
            v.iter().find(|(t, _)| t == k).map(|(_, v)| v.clone())
        };
        assert_eq!(
            get(&x.values, "personal_id"),
            get(&c.values, "personal_id"),
            "{}",
            x.row_id
        );
        assert_eq!(get(&x.values, "surname"), get(&c.values, "surname"));
        // Date cells and serial numbers come back as YYYY-MM-DD; text as written.
        let (xb, cb) = (
            get(&x.values, "birth_date").unwrap(),
            get(&c.values, "birth_date").unwrap(),
        );
        if xb.contains('/') {
            let p: Vec<&str> = xb.split('/').collect();
            assert_eq!(format!("{}-{}-{}", p[2], p[1], p[0]), cb);
        } else {
            assert_eq!(xb, cb, "{}", x.row_id);
        }
        assert_eq!(x.attributes, c.attributes);
    }
    // The bad row, by its sheet row: header on row 1, a blank row 2, data from row 3.
    assert_eq!(csv_bad.len(), 1);
    assert_eq!(bad.len(), 1);
    let bad_index = rows.iter().position(|r| r[0] == "BAD").unwrap() as u64;
    assert_eq!((bad[0].line, bad[0].column), (bad_index + 3, "sex"));
    assert_eq!(csv_bad[0].line, bad_index + 2);
    // Told apart by content.
    assert_eq!(
        read_sector_bytes(&xlsx, &mapping(), TODAY).unwrap().0.len(),
        good.len()
    );
    // A workbook without a mapped column fails whole, as a CSV does.
    let wrong = Mapping::parse("row_id=ma,surname=ho,given_name=ten,birth_date=ngay_sinh").unwrap();
    assert_eq!(
        read_sector_xlsx(&xlsx, &wrong, TODAY).unwrap_err(),
        "column ma (for row_id) is not in the file"
    );
    assert!(read_sector_xlsx(b"PK\x03\x04 not a workbook", &mapping(), TODAY).is_err());
}

#[test]
fn a_job_stopped_and_resumed_ends_as_one_uninterrupted_import() {
    let people = people();
    let rows = sector_rows(&people);
    let file = csv_of(&rows);
    for (stopped, whole) in eid_core::testkit::engines("linkage_jobs")
        .into_iter()
        .zip(eid_core::testkit::engines("linkage_jobs"))
    {
        let (stopped, whole) = (stopped.as_ref(), whole.as_ref());
        populate(stopped, &people);
        populate(whole, &people);
        let nation = acting(Role::Ministry, "VN");

        // One uninterrupted import, the pre-job way.
        let mut rejected = Vec::new();
        let one = service::import(
            whole,
            &Actor::Cli("test".into()),
            NOW,
            "bhxh",
            "f.csv",
            TODAY,
            file.as_bytes(),
            &Thresholds::default(),
            &mut |r| rejected.push(r.clone()),
        )
        .unwrap();

        // A job that "crashes" after two slices of 60 rows, then is resumed.
        let id = job::submit_as(stopped, &nation, &spec("f.csv"), file.as_bytes()).unwrap();
        assert_eq!(job::open_jobs(stopped).unwrap(), vec![id]);
        let mut slices = 0;
        let half = job::run(stopped, id, &now, 60, &mut |_| {
            slices += 1;
            slices <= 2
        })
        .unwrap();
        assert_eq!(half.state, "running");
        assert_eq!(half.done_rows, 120);
        assert_eq!(half.total_rows, one.rows);
        assert_eq!(stored(stopped, half.batch_id.unwrap()), (120, 120));
        assert_eq!(job::open_jobs(stopped).unwrap(), vec![id]);
        // Resumed from row 121: every row once.
        let mut first = None;
        let done = job::run(stopped, id, &now, 60, &mut |d| {
            first.get_or_insert(d);
            true
        })
        .unwrap();
        assert_eq!(first, Some(120));
        assert_eq!(done.state, "done");
        assert!(job::open_jobs(stopped).unwrap().is_empty());
        assert_eq!(done.done_rows, one.rows);
        assert_eq!(done.outcomes, one.outcomes);
        assert_eq!(done.verified, one.verified);
        assert_eq!(done.rejected, 1);
        let n = one.rows as i64;
        assert_eq!(stored(stopped, done.batch_id.unwrap()), (n, n));
        assert_eq!(stored(whole, one.batch_id), (n, n));
        assert!(one.outcomes[0] > 200, "{one:?}");
        // The rejected row with its line, as the import reported it.
        let bad = job::rejected_as(stopped, &nation, id).unwrap();
        assert_eq!(bad.len(), 1);
        assert_eq!(
            (bad[0].line, bad[0].column.as_str()),
            (rejected[0].line, rejected[0].column)
        );
        // A finished job runs no more.
        assert_eq!(
            job::run(stopped, id, &now, 60, &mut |_| true).unwrap(),
            done
        );

        // Two runners on one job (a second server, say): the first one's lease has expired when
        // the second comes, which takes the job over; the first finds it at its next checkpoint,
        // steps back (`link.job_busy`) and no row is written twice.
        let two = job::submit_as(stopped, &nation, &spec("f.csv"), file.as_bytes()).unwrap();
        let mut other = None;
        let later = || NOW + job::LEASE + time::Duration::seconds(1);
        let first = job::run(stopped, two, &now, 60, &mut |_| {
            if other.is_none() {
                other = Some(job::run(stopped, two, &later, 60, &mut |_| true).unwrap());
            }
            true
        });
        assert!(matches!(
            first,
            Err(Error::Conflict {
                code: "link.job_busy",
                ..
            })
        ));
        let other = other.unwrap();
        assert_eq!(
            (other.state.as_str(), other.outcomes),
            ("done", one.outcomes)
        );
        assert_eq!(stored(stopped, other.batch_id.unwrap()), (n, n));
    }
}

#[test]
fn two_runners_on_one_database_one_runs_the_job_the_other_takes_over_when_its_lease_expires() {
    let people = people();
    let rows = sector_rows(&people);
    let file = csv_of(&rows);
    for (store, whole) in eid_core::testkit::engines("linkage_jobs")
        .into_iter()
        .zip(eid_core::testkit::engines("linkage_jobs"))
    {
        let (store, whole) = (store.as_ref(), whole.as_ref());
        populate(store, &people);
        populate(whole, &people);
        let nation = acting(Role::Ministry, "VN");
        let reference = job::submit_as(whole, &nation, &spec("f.csv"), file.as_bytes()).unwrap();
        let reference = job::run(whole, reference, &now, 60, &mut |_| true).unwrap();
        assert_eq!(reference.state, "done");

        // Server A runs the job; server B (another owner, same database) tries at every slice
        // while A's lease lives: B is refused and writes nothing, A alone moves the checkpoint.
        let id = job::submit_as(store, &nation, &spec("f.csv"), file.as_bytes()).unwrap();
        let mut seen = Vec::new();
        let a = job::run_as(store, id, "server-a", &now, 60, &mut |done| {
            let before = job::get(store, id).unwrap().done_rows;
            let b = job::run_as(store, id, "server-b", &now, 60, &mut |_| true);
            assert!(
                matches!(
                    b,
                    Err(Error::Conflict {
                        code: "link.job_busy",
                        ..
                    })
                ),
                "{b:?}"
            );
            assert_eq!(job::get(store, id).unwrap().done_rows, before);
            seen.push(done);
            // A "crashes" (stops without a word) after three slices.
            seen.len() <= 3
        });
        // A stopped on its own: the lease is let go, but here A died instead: put it back as a
        // crash leaves it (held by A, until NOW + LEASE).
        let a = a.unwrap();
        assert_eq!((a.state.as_str(), a.done_rows), ("running", 180));
        assert_eq!(seen, vec![0, 60, 120, 180]);
        sql::write_one(store.db(), |tx| {
            tx.exec(
                "UPDATE link_job SET lease_owner = 'server-a', lease_until = $2 WHERE id = $1",
                &[id.into(), eid_core::store::to_ms(NOW + job::LEASE).into()],
            )
        })
        .unwrap();
        // Before the lease expires B may not take over; the job is not takeable.
        let b = job::run_as(store, id, "server-b", &now, 60, &mut |_| true);
        assert!(
            matches!(
                b,
                Err(Error::Conflict {
                    code: "link.job_busy",
                    ..
                })
            ),
            "{b:?}"
        );
        assert!(job::takeable_jobs(store, NOW).unwrap().is_empty());
        let after = NOW + job::LEASE + time::Duration::seconds(1);
        assert_eq!(job::takeable_jobs(store, after).unwrap(), vec![id]);
        // After it, B takes over from A's checkpoint and finishes: every row once.
        let later = move || after;
        let mut first = None;
        let b = job::run_as(store, id, "server-b", &later, 60, &mut |d| {
            first.get_or_insert(d);
            true
        })
        .unwrap();
        assert_eq!(first, Some(180));
        assert_eq!(b.state, "done");
        assert_eq!(b.outcomes, reference.outcomes);
        assert_eq!(b.verified, reference.verified);
        let n = reference.total_rows as i64;
        assert_eq!(stored(store, b.batch_id.unwrap()), (n, n));
        // A coming back finds the job closed and does nothing.
        assert_eq!(
            job::run_as(store, id, "server-a", &now, 60, &mut |_| true).unwrap(),
            b
        );

        // A runner told to stop lets the lease go: another takes over at once.
        let id = job::submit_as(store, &nation, &spec("f.csv"), file.as_bytes()).unwrap();
        let mut k = 0;
        let a = job::run_as(store, id, "server-a", &now, 60, &mut |_| {
            k += 1;
            k <= 1
        })
        .unwrap();
        assert_eq!(a.done_rows, 60);
        assert_eq!(job::takeable_jobs(store, NOW).unwrap(), vec![id]);
        let b = job::run_as(store, id, "server-b", &now, 60, &mut |_| true).unwrap();
        assert_eq!((b.state.as_str(), b.outcomes), ("done", reference.outcomes));
    }
}

#[test]
fn an_xlsx_job_ends_as_the_csv_job_does_and_a_cancelled_job_keeps_what_it_wrote() {
    let people = people();
    let rows = sector_rows(&people);
    for store in eid_core::testkit::engines("linkage_jobs") {
        let store = store.as_ref();
        populate(store, &people);
        let nation = acting(Role::Ministry, "VN");
        let x = job::submit_as(store, &nation, &spec("f.xlsx"), &xlsx_of(&rows)).unwrap();
        let x = job::run(store, x, &now, job::SLICE, &mut |_| true).unwrap();
        assert_eq!(x.state, "done");
        assert_eq!(x.total_rows, rows.len() as u64 - 1);
        assert_eq!(x.rejected, 1);
        assert!(x.outcomes[0] > 200, "{x:?}");
        assert_eq!(x.outcomes.iter().sum::<u64>(), x.total_rows);

        // Cancelled after its first slice: that slice stays, nothing after it is written.
        let file = csv_of(&rows);
        let id = job::submit_as(store, &nation, &spec("g.csv"), file.as_bytes()).unwrap();
        let mut asked = false;
        let j = job::run(store, id, &now, 50, &mut |done| {
            if done > 0 && !asked {
                asked = true;
                let c = job::cancel_as(store, &nation, id).unwrap();
                assert!(c.cancel);
            }
            true
        })
        .unwrap();
        assert_eq!(j.state, "cancelled");
        assert_eq!(j.done_rows, 50);
        assert_eq!(stored(store, j.batch_id.unwrap()), (50, 50));
        assert!(matches!(
            job::cancel_as(store, &nation, id),
            Err(Error::Conflict {
                code: "link.job_closed",
                ..
            })
        ));
        // Cancelled before it ran: it ends without a batch.
        let q = job::submit_as(store, &nation, &spec("h.csv"), file.as_bytes()).unwrap();
        job::cancel_as(store, &nation, q).unwrap();
        let q = job::run(store, q, &now, 50, &mut |_| true).unwrap();
        assert_eq!((q.state.as_str(), q.batch_id), ("cancelled", None));

        // Jobs are national staff's, and never an auditor's; a bad file is refused before it is kept.
        for who in [acting(Role::Province, "01"), acting(Role::Auditor, "VN")] {
            assert!(matches!(
                job::submit_as(store, &who, &spec("f.csv"), file.as_bytes()),
                Err(Error::ScopeDenied)
            ));
            assert!(matches!(
                job::get_as(store, &who, id),
                Err(Error::ScopeDenied)
            ));
        }
        assert!(matches!(
            job::submit_as(store, &nation, &spec("e.csv"), b"a,b\n1,2\n"),
            Err(Error::Bad {
                code: "link.bad_file",
                ..
            })
        ));
        let mut other = spec("f.csv");
        other.source = "nope".into();
        assert!(matches!(
            job::submit_as(store, &nation, &other, file.as_bytes()),
            Err(Error::NotFound { .. })
        ));
        assert_eq!(job::list_as(store, &nation, 10).unwrap().len(), 3);
    }
}
