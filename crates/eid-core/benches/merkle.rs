//! Proofs of the data-use log (issue 15): an inclusion proof and a consistency proof built from
//! the stored complete subtrees (O(log n) nodes) against the same proofs built from every leaf
//! (O(n)), at 10^4 and 10^6 leaves — in memory (the tree alone) and on SQLite (the rows a
//! proof reads: `transparency::tree` against reading every leaf hash). Same run, same machine:
//! the ratio is the figure that travels.
//!
//! `cargo bench -p eid-core --bench merkle -- [--sizes 10000,1000000] [--sqlite 1]`

// A benchmark program, not library code: failing fast on a broken setup is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Instant;

use eid_core::oidc::keys::Kek;
use eid_core::sql;
use eid_core::transparency::{self, checkpoint, merkle, tree, DataUse, Who};
use time::macros::datetime;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

/// Mean microseconds per call of `f` over `reps` calls.
fn time_us(reps: u32, mut f: impl FnMut(u32)) -> f64 {
    let t = Instant::now();
    for i in 0..reps {
        f(i);
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
}

fn in_memory(n: u64) {
    let leaves: Vec<merkle::Hash> = (0..n)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    let mut nodes: HashMap<(u32, u64), merkle::Hash> = leaves
        .iter()
        .enumerate()
        .map(|(i, h)| ((0, i as u64), *h))
        .collect();
    for (l, level) in merkle::complete_levels(&leaves).iter().enumerate() {
        for (i, h) in level.iter().enumerate() {
            nodes.insert((l as u32 + 1, i as u64), *h);
        }
    }
    let idx = |i: u32| (u64::from(i) * 7919) % n;
    let stored = time_us(2000, |i| {
        let p = merkle::inclusion_proof_from(idx(i), n, &mut nodes).unwrap();
        std::hint::black_box(p);
    });
    let full_reps = if n > 100_000 { 5 } else { 50 };
    let full = time_us(full_reps, |i| {
        let p = merkle::inclusion_proof(idx(i) as usize, &leaves).unwrap();
        std::hint::black_box(p);
    });
    let c_stored = time_us(2000, |i| {
        let p = merkle::consistency_proof_from(1 + idx(i) % (n - 1), n, &mut nodes).unwrap();
        std::hint::black_box(p);
    });
    let c_full = time_us(full_reps, |i| {
        let p = merkle::consistency_proof((1 + idx(i) % (n - 1)) as usize, &leaves).unwrap();
        std::hint::black_box(p);
    });
    println!(
        "in memory  {n:>9} leaves  inclusion {stored:>9.2} µs stored vs {full:>11.1} µs every leaf (×{:.0})  consistency {c_stored:>9.2} µs vs {c_full:>11.1} µs (×{:.0})",
        full / stored,
        c_full / c_stored
    );
}

fn on_sqlite(n: u64) {
    let dir = std::env::temp_dir().join(format!("eid-bench-merkle-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = eid_core::open(&format!("sqlite://{}", dir.join("eid.db").display())).unwrap();
    store.migrate().unwrap();
    let at = datetime!(2026-12-04 09:00 UTC);
    let t = Instant::now();
    sql::transact(store.db(), |tx| {
        for i in 0..n {
            transparency::record_in(
                tx,
                &DataUse {
                    personal_id: format!("{:012}", i % 100_000),
                    who: Who::Sector {
                        source: "bhxh".into(),
                    },
                    what: "match".into(),
                    purpose: "linkage.match".into(),
                    at,
                },
            )?;
        }
        Ok::<_, eid_core::StoreError>(())
    })
    .unwrap();
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    checkpoint::publish(store.as_ref(), &Kek::random(), at)
        .unwrap()
        .unwrap();
    let publish = t.elapsed().as_secs_f64();
    let idx = |i: u32| (u64::from(i) * 7919) % n;
    let stored = time_us(500, |i| {
        let p = sql::read(store.db(), |tx| tree::inclusion_proof(tx, idx(i), n)).unwrap();
        std::hint::black_box(p);
    });
    let full_reps = if n > 100_000 { 3 } else { 20 };
    let full = time_us(full_reps, |i| {
        let leaves = sql::read(store.db(), |tx| {
            tx.query("SELECT leaf_hash FROM data_use ORDER BY seq", &[])
        })
        .unwrap();
        let leaves: Vec<merkle::Hash> = leaves
            .iter()
            .map(|r| r[0].clone().blob().unwrap().try_into().unwrap())
            .collect();
        let p = merkle::inclusion_proof(idx(i) as usize, &leaves).unwrap();
        std::hint::black_box(p);
    });
    println!(
        "SQLite     {n:>9} leaves  inclusion {stored:>9.1} µs stored vs {full:>11.1} µs every leaf (×{:.0})  (load {load:.1} s, first checkpoint with the tree filled {publish:.1} s)",
        full / stored
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: then one small size,
    // so that the bench still runs end to end without the minute a million leaves take.
    let default = if std::env::args().any(|a| a == "--bench") {
        "10000,1000000"
    } else {
        "1000"
    };
    let sizes: Vec<u64> = arg("--sizes", default)
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let sqlite = arg("--sqlite", "1") != "0";
    for &n in &sizes {
        in_memory(n);
    }
    if sqlite {
        for &n in &sizes {
            on_sqlite(n);
        }
    }
}
