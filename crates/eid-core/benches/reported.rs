//! Reported figures (issue 11), on SQLite:
//!
//! 1. Importing a province's reported daily figures, 60 days × every commune (Thanh Hóa, 38:
//!    about 600 communes), through the same import an officer uses.
//! 2. The ministry's national ranking of 63 provinces, before the figures are loaded (recorded
//!    counters only) and after (every other province's daily figures reported at the province
//!    level, and the communes of 38 as above): p50 and p99.
//! 3. Ranking every commune of 38 with its reported figures.
//!
//! `cargo bench -p eid-core --bench reported -- [--days D] [--province P] [--runs N]`

// A benchmark program, not library code: failing fast on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::Instant;

use eid_core::accounts::{day_number, metric};
use eid_core::ops::{self, service, NewQuota};
use eid_core::sql::{self, Val};
use eid_core::store::{unit_path, Actor, Store};
use eid_domain::{Level, Tree, UnitCode, Units};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const TODAY: Date = date!(2026 - 11 - 23);

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time_national(s: &dyn Store, runs: usize) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let v = ops::national(s, Tree::Gso2024, TODAY).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        n = v.metrics.first().map_or(0, |m| m.rows.len());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (percentile(&times, 0.5), percentile(&times, 0.99), n)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("reported benchmark: run it with `cargo bench -p eid-core --bench reported`");
        return;
    }
    let days = arg("--days", 60) as i64;
    let province = UnitCode::parse(&format!("{:02}", arg("--province", 38))).unwrap();
    let dir = std::env::temp_dir().join(format!("eid-bench-reported-{}", std::process::id()));
    let store = eid_core::open(&format!("sqlite://{}", dir.join("eid.db").display())).unwrap();
    store.migrate().unwrap();
    let s = store.as_ref();
    let units = Units::get();
    let first = TODAY - Duration::days(days);
    let actor = Actor::Cli("bench".into());

    // Recorded counters: every commune of every province, a few a day (the provinces that run eid).
    let t = Instant::now();
    let communes: Vec<(UnitCode, i64)> = units
        .provinces(Tree::Gso2024)
        .iter()
        .flat_map(|p| units.communes_under(Tree::Gso2024, &p.code))
        .filter_map(|c| unit_path(&c.code).map(|k| (c.code, k)))
        .collect();
    sql::transact(s.db(), |tx| {
        for (i, (_, path)) in communes.iter().enumerate() {
            for d in 0..days {
                if (i as i64 + d) % 3 != 0 {
                    continue;
                }
                tx.exec(
                    "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4)",
                    &[
                        metric::APPLICATIONS_COLLECTED.into(),
                        Val::Int(*path),
                        Val::Int(day_number(first) + d),
                        Val::Int(5),
                    ],
                )?;
            }
        }
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
    for p in units.provinces(Tree::Gso2024) {
        ops::set_quota(
            s,
            &NewQuota {
                unit: p.code,
                metric: metric::APPLICATIONS_COLLECTED.into(),
                cohort: String::new(),
                target: 1_000_000,
                start: first,
                deadline: TODAY + Duration::days(30),
                parent_id: None,
            },
            &actor,
            "bench",
            NOW,
        )
        .unwrap();
    }
    println!(
        "recorded counters for {} communes over {days} days in {:.1} s",
        communes.len(),
        t.elapsed().as_secs_f64()
    );
    let runs = arg("--runs", 200) as usize;
    let before = time_national(s, runs);
    println!(
        "national before: p50 {:.2} ms p99 {:.2} ms",
        before.0, before.1
    );

    // 1. 60 days × every commune of the province, imported as a CSV file.
    let mut csv = String::from("unit,day,metric,count,source\n");
    let mine: Vec<UnitCode> = units
        .communes_under(Tree::Gso2024, &province)
        .iter()
        .map(|c| c.code)
        .collect();
    for c in &mine {
        for d in 0..days {
            let day = first + Duration::days(d);
            let _ = writeln!(
                csv,
                "{},{:02}/{:02}/{},applications_collected,{},Zalo",
                c.as_str(),
                day.day(),
                u8::from(day.month()),
                day.year(),
                3 + d % 7
            );
        }
    }
    let how = service::ImportIn {
        file_name: "xa.csv".into(),
        source: String::new(),
        reason: String::new(),
        skip_bad: false,
    };
    let t = Instant::now();
    let r = service::import_as(
        s,
        &actor,
        NOW,
        &|u: &UnitCode| u.level() != Level::Nation,
        csv.as_bytes(),
        &how,
    )
    .unwrap();
    let import_s = t.elapsed().as_secs_f64();
    assert!(r.applied, "{:?}", r.bad.first());
    println!("imported {} figures in {import_s:.2} s", r.created);

    // The other provinces report at the province level.
    let mut csv = String::from("unit,day,metric,count,source\n");
    for p in units
        .provinces(Tree::Gso2024)
        .iter()
        .filter(|p| p.code != province)
    {
        for d in 0..days {
            let day = first + Duration::days(d);
            let _ = writeln!(
                csv,
                "{},{},applications_collected,{},Zalo",
                p.code.as_str(),
                eid_domain::iso(day),
                900 + d
            );
        }
    }
    let r2 =
        service::import_as(s, &actor, NOW, &|_: &UnitCode| true, csv.as_bytes(), &how).unwrap();
    assert!(r2.applied);
    let after = time_national(s, runs);

    // 3. Every commune of the province, ranked, with its reported figures.
    for c in &mine {
        ops::set_quota(
            s,
            &NewQuota {
                unit: *c,
                metric: metric::APPLICATIONS_COLLECTED.into(),
                cohort: String::new(),
                target: 1000,
                start: first,
                deadline: TODAY + Duration::days(30),
                parent_id: None,
            },
            &actor,
            "bench",
            NOW,
        )
        .unwrap();
    }
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = ops::rank_communes(s, &province, metric::APPLICATIONS_COLLECTED, TODAY)
            .unwrap()
            .len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());

    println!();
    println!("| benchmark | result | goal |");
    println!("|---|---|---|");
    println!(
        "| import {} reported figures ({} communes × {days} days) | **{:.2} s** | seconds |",
        r.created,
        mine.len(),
        import_s
    );
    println!("| national ranking of {} provinces, recorded counters only | p50 {:.2} ms, p99 {:.2} ms | p99 ≤ 20 ms |", before.2, before.0, before.1);
    println!("| national ranking of {} provinces, with {} reported figures | p50 {:.2} ms, **p99 {:.2} ms** | p99 ≤ 20 ms |", after.2, r.created + r2.created, after.0, after.1);
    println!("| rank all {n} communes of {} with their reported figures | p50 {:.2} ms, **p99 {:.2} ms** | p99 ≤ 20 ms |", province.as_str(), percentile(&times, 0.5), percentile(&times, 0.99));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
