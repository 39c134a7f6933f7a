//! Operations benchmarks (issue 5), on SQLite:
//!
//! 1. The cost the roll-up adds to each account event: the same events written in the same
//!    run with and without `accounts::bump` in their transaction, interleaved in rounds.
//! 2. Ranking every commune of a province by % of quota, with status, with millions of account
//!    events in the store: p50 and p99 over repeated rankings.
//!
//! `cargo bench -p eid-core --bench ops -- [--events N] [--days D] [--province P] [--rollup N]`
//! (defaults: 10,000,000 events over 120 days in Thanh Hóa, 38; 200,000 events for the
//! roll-up comparison).

// A benchmark program, not library code: failing fast on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use eid_core::accounts::{self, day_number, metric};
use eid_core::ops::{self, NewQuota, Split};
use eid_core::sql::{self, Val};
use eid_core::store::{to_ms, unit_path, Actor, Store};
use eid_domain::{Tree, UnitCode, Units};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);
const TODAY: Date = date!(2026 - 11 - 23);

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

const INSERT_EVENT: &str = "INSERT INTO account_event (personal_id, account_id, application_id, kind, at, day, commune, \
     res_path, unit, device_id, actor, detail) VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, NULL, NULL, $8, '{}')";

/// Writes `n` events in transactions of `batch`, bumping the counter when `rollup`; returns the
/// seconds taken.
fn write_events(
    store: &dyn Store,
    communes: &[(UnitCode, i64)],
    n: u64,
    batch: u64,
    rollup: bool,
    seed: u64,
) -> f64 {
    let t = Instant::now();
    let mut written = 0;
    while written < n {
        let todo = batch.min(n - written);
        sql::transact(store.db(), |tx| {
            for i in 0..todo {
                let k = (seed + written + i) as usize;
                let (commune, path) = &communes[k % communes.len()];
                let at = NOW - Duration::minutes((k % 10_000) as i64);
                tx.exec(
                    INSERT_EVENT,
                    &[
                        Val::Text(format!("0380{:08}", k % 100_000_000)),
                        Val::Int(k as i64),
                        Val::from("level2_activated"),
                        Val::Int(to_ms(at)),
                        Val::Int(accounts::day_of(at)),
                        Val::from(commune.as_str()),
                        Val::Int(*path),
                        Val::from("anonymous"),
                    ],
                )?;
                if rollup {
                    accounts::bump(tx, metric::LEVEL2_ACTIVATED, *path, at)?;
                }
            }
            Ok::<_, eid_core::StoreError>(())
        })
        .unwrap();
        written += todo;
    }
    t.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ops benchmark: run it with `cargo bench -p eid-core --bench ops`");
        return;
    }
    let events = arg("--events", 10_000_000);
    let days = arg("--days", 120) as i64;
    let province = UnitCode::province(arg("--province", 38) as u8).expect("a province code");
    let rollup_n = arg("--rollup", 200_000);
    let dir = std::env::temp_dir().join(format!("eid-bench-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = eid_core::open(&format!("sqlite://{}", dir.join("eid.db").display())).unwrap();
    store.migrate().unwrap();
    let s = store.as_ref();
    let communes: Vec<(UnitCode, i64)> = Units::get()
        .communes_under(Tree::Gso2024, &province)
        .iter()
        .filter_map(|u| unit_path(&u.code).map(|p| (u.code, p)))
        .collect();
    println!(
        "province {} ({} communes), SQLite at {}",
        province.as_str(),
        communes.len(),
        dir.display()
    );

    // 1. Roll-up cost: interleaved rounds, same events, with and without the counter.
    let rounds = 4;
    let per = rollup_n / rounds;
    let (mut with, mut without) = (0.0, 0.0);
    for r in 0..rounds {
        without += write_events(s, &communes, per, 1000, false, r * per * 2);
        with += write_events(s, &communes, per, 1000, true, r * per * 2 + per);
    }
    let n = (per * rounds) as f64;
    let (us_with, us_without) = (with / n * 1e6, without / n * 1e6);
    println!();
    println!("| benchmark | eid | baseline | difference | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| write an account event, {} events in transactions of 1,000 | {:.2} µs with the roll-up | {:.2} µs without | **{:+.2} µs per event** | ≤ 10 µs |",
        per * rounds,
        us_with,
        us_without,
        us_with - us_without
    );

    // 2. Fill the store: `events` account events over `days` days across the province's
    // communes, with their counters (summed per commune and day, the state the roll-up leaves).
    let t = Instant::now();
    let first_day = day_number(TODAY) - days + 1;
    let mut counts: std::collections::HashMap<(i64, i64), i64> = std::collections::HashMap::new();
    let batch = 50_000;
    let mut done = 0u64;
    while done < events {
        let todo = batch.min(events - done);
        sql::transact(s.db(), |tx| {
            for i in 0..todo {
                let k = done + i;
                // A ramp: later days get more events; communes get uneven shares.
                let c =
                    ((k * 2_654_435_761) % (communes.len() as u64 * 3)) as usize % communes.len();
                let d = first_day + ((k as f64 / events as f64).sqrt() * days as f64) as i64 % days;
                let (commune, path) = &communes[c];
                tx.exec(
                    INSERT_EVENT,
                    &[
                        Val::Text(format!("{:012}", k)),
                        Val::Int(k as i64),
                        Val::from("level2_activated"),
                        Val::Int(d * 86_400_000),
                        Val::Int(d),
                        Val::from(commune.as_str()),
                        Val::Int(*path),
                        Val::from("anonymous"),
                    ],
                )?;
                *counts.entry((*path, d)).or_default() += 1;
            }
            Ok::<_, eid_core::StoreError>(())
        })
        .unwrap();
        done += todo;
    }
    sql::transact(s.db(), |tx| {
        for ((path, d), n) in &counts {
            tx.exec(
                "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + $4",
                &[
                    metric::LEVEL2_ACTIVATED.into(),
                    Val::Int(*path),
                    Val::Int(*d),
                    Val::Int(*n),
                ],
            )?;
            tx.exec(
                "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, $3) \
                 ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + $3",
                &[
                    metric::LEVEL2_ACTIVATED.into(),
                    Val::Int(*path),
                    Val::Int(*n),
                ],
            )?;
        }
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
    let total_events = sql::read(s.db(), |tx| {
        tx.int("SELECT count(*) FROM account_event", &[])
    })
    .unwrap();
    println!();
    println!(
        "filled {} account events ({} counter rows) in {:.1} s",
        total_events,
        counts.len(),
        t.elapsed().as_secs_f64()
    );

    // Quotas: the province's, split to districts and each district's to its communes.
    let actor = Actor::Cli("bench".into());
    let q = ops::set_quota(
        s,
        &NewQuota {
            unit: province,
            metric: metric::LEVEL2_ACTIVATED.into(),
            cohort: String::new(),
            target: events + events / 5,
            start: eid_core::accounts::day_date(first_day),
            deadline: TODAY + Duration::days(30),
            parent_id: None,
        },
        &actor,
        "bench",
        NOW,
    )
    .unwrap();
    let districts = ops::split(
        s,
        q.id,
        Split::Manual(even(&province, q.target)),
        &actor,
        NOW,
    )
    .unwrap();
    for d in &districts {
        ops::split(s, d.id, Split::Manual(even(&d.unit, d.target)), &actor, NOW).unwrap();
    }

    // 3. Rank every commune, many times.
    let mut times = Vec::new();
    let mut n_ranked = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let r = ops::rank_communes(s, &province, metric::LEVEL2_ACTIVATED, TODAY).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        n_ranked = r.len();
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!();
    println!("| benchmark | p50 | p99 | goal |");
    println!("|---|---|---|---|");
    println!(
        "| rank all {} communes of province {} by % of quota with status, {} events in the store | {:.2} ms | **{:.2} ms** | p99 ≤ 20 ms |",
        n_ranked,
        province.as_str(),
        total_events,
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    drop(store);
    if arg("--keep", 0) == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `total` split as evenly as possible over `unit`'s children.
fn even(unit: &UnitCode, total: u64) -> Vec<(UnitCode, u64)> {
    let kids: Vec<(UnitCode, u64)> = Units::get()
        .children(Tree::Gso2024, unit)
        .iter()
        .map(|u| (u.code, 1))
        .collect();
    eid_domain::campaign::split_proportional(total, &kids)
}
