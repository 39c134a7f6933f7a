//! The cost of one Argon2id verification with eid's parameters (m = 19 MiB, t = 2, p = 1), on
//! one thread: the baseline of the full sign-in in `bench/oidc-token.sh`. Prints
//! `verify_seconds: S`, the median of 31 verifications after 3 to warm up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use eid_core::secret::{hash_password, verify_password};

fn main() {
    let stored = hash_password("Bench password 1A").expect("a hash");
    let mut times: Vec<f64> = (0..34)
        .map(|_| {
            let t = Instant::now();
            assert!(verify_password("Bench password 1A", Some(&stored)));
            t.elapsed().as_secs_f64()
        })
        .skip(3)
        .collect();
    times.sort_by(f64::total_cmp);
    println!("verify_seconds: {:.6}", times[times.len() / 2]);
}
