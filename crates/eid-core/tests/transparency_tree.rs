//! The stored tree of the data-use log (issue 15): proofs built from stored complete subtrees
//! (O(log n) nodes) equal the ones built from every leaf, for every size 1..200 and random
//! indices, in memory and from the database, and against the RFC 6962 reference vectors; a
//! stored node altered behind the log's back is named by `verify`. SQLite always; PostgreSQL
//! when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use eid_core::oidc::keys::Kek;
use eid_core::sql;
use eid_core::transparency::{self, checkpoint, merkle, tree, DataUse, Who};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The stored tree over `leaves`, as a map of complete subtrees (level 0: the leaves).
fn nodes_of(leaves: &[merkle::Hash]) -> HashMap<(u32, u64), merkle::Hash> {
    let mut out: HashMap<(u32, u64), merkle::Hash> = leaves
        .iter()
        .enumerate()
        .map(|(i, h)| ((0, i as u64), *h))
        .collect();
    for (l, level) in merkle::complete_levels(leaves).iter().enumerate() {
        for (i, h) in level.iter().enumerate() {
            out.insert((l as u32 + 1, i as u64), *h);
        }
    }
    out
}

#[test]
fn proofs_from_stored_subtrees_equal_proofs_from_every_leaf() {
    let leaves: Vec<merkle::Hash> = (0..200u32)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    let mut nodes = nodes_of(&leaves);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        assert_eq!(
            merkle::range_root(0, n as u64, &mut nodes),
            merkle::root(tree),
            "root {n}"
        );
        // Every index of small trees, random ones of larger.
        let picks: Vec<usize> = if n <= 40 {
            (0..n).collect()
        } else {
            (0..12).map(|_| rng.below(n as u64) as usize).collect()
        };
        for i in picks {
            assert_eq!(
                merkle::inclusion_proof_from(i as u64, n as u64, &mut nodes),
                merkle::inclusion_proof(i, tree),
                "inclusion {i} in {n}"
            );
        }
        for _ in 0..8 {
            let m = 1 + rng.below(n as u64) as usize;
            assert_eq!(
                merkle::consistency_proof_from(m as u64, n as u64, &mut nodes),
                merkle::consistency_proof(m, tree),
                "consistency {m} → {n}"
            );
        }
        assert_eq!(
            merkle::inclusion_proof_from(n as u64, n as u64, &mut nodes),
            None
        );
        assert_eq!(
            merkle::consistency_proof_from(0, n as u64, &mut nodes),
            None
        );
    }
    // A proof asks for O(log n) nodes, not the leaves.
    let mut wanted = merkle::Wanted::default();
    merkle::inclusion_proof_from(77, 200, &mut wanted).unwrap();
    assert!(wanted.0.len() <= 2 * 8, "{} nodes", wanted.0.len());
}

/// RFC 6962's reference data (the Certificate Transparency test vectors: eight leaves, the roots
/// of each prefix, and paths) through the stored-subtree proofs.
#[test]
fn stored_subtree_proofs_match_the_rfc_6962_reference_vectors() {
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    let h = |s: &str| -> merkle::Hash { unhex(s).try_into().unwrap() };
    let leaves: Vec<merkle::Hash> = LEAVES
        .iter()
        .map(|l| merkle::leaf_hash(&unhex(l)))
        .collect();
    let mut nodes = nodes_of(&leaves);
    for n in 1..=8u64 {
        assert_eq!(
            merkle::range_root(0, n, &mut nodes),
            h(ROOTS[n as usize - 1])
        );
    }
    let inclusion: [(u64, u64, &[&str]); 4] = [
        (0, 1, &[]),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (i, n, want) in inclusion {
        let want: Vec<merkle::Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(
            merkle::inclusion_proof_from(i, n, &mut nodes).unwrap(),
            want,
            "inclusion {i} in {n}"
        );
    }
    let consistency: [(u64, u64, &[&str]); 3] = [
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, n, want) in consistency {
        let want: Vec<merkle::Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(
            merkle::consistency_proof_from(m, n, &mut nodes).unwrap(),
            want,
            "consistency {m} → {n}"
        );
    }
}

fn use_of(n: u64) -> DataUse {
    DataUse {
        personal_id: format!("0010990{:05}", n % 7),
        who: Who::Sector {
            source: format!("bhxh-{n}"),
        },
        what: "match".into(),
        purpose: "linkage.match".into(),
        at: NOW + Duration::seconds(n as i64),
    }
}

#[test]
fn stored_tree_proofs_equal_the_full_computation_and_a_forged_node_is_named() {
    for s in eid_core::testkit::engines("transparency-tree") {
        let s = s.as_ref();
        let kek = Kek::random();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut sizes = Vec::new();
        let mut recorded = 0u64;
        // Checkpoints at random sizes up to 200, the stored tree filled at each.
        while recorded < 200 {
            let more = 1 + rng.below(23);
            for _ in 0..more.min(200 - recorded) {
                transparency::record(s, &use_of(recorded)).unwrap();
                recorded += 1;
            }
            let cp = checkpoint::publish(s, &kek, NOW).unwrap().unwrap();
            assert_eq!(cp.size, recorded);
            sizes.push(recorded);
        }
        let leaves: Vec<merkle::Hash> = (0..recorded)
            .map(|i| transparency::entry(s, i).unwrap().unwrap().leaf_hash())
            .collect();
        sql::read(s.db(), |tx| {
            assert_eq!(tree::filled(tx)?, recorded);
            for &n in &sizes {
                let prefix = &leaves[..n as usize];
                assert_eq!(
                    tree::root(tx, n)?,
                    merkle::root(prefix),
                    "{}: root {n}",
                    tx.engine()
                );
                for _ in 0..6 {
                    let i = rng.below(n);
                    assert_eq!(
                        tree::inclusion_proof(tx, i, n)?,
                        merkle::inclusion_proof(i as usize, prefix),
                        "{}: inclusion {i} in {n}",
                        tx.engine()
                    );
                }
                for &m in sizes.iter().filter(|&&m| m <= n) {
                    assert_eq!(
                        tree::consistency_proof(tx, m, n)?,
                        merkle::consistency_proof(m as usize, prefix),
                        "{}: consistency {m} → {n}",
                        tx.engine()
                    );
                }
            }
            Ok::<_, eid_core::StoreError>(())
        })
        .unwrap();
        // Every checkpoint's root is what the leaves give, and the citizen's proofs verify.
        for cp in checkpoint::all(s).unwrap() {
            assert_eq!(cp.root, merkle::root(&leaves[..cp.size as usize]));
        }
        let seqs: Vec<u64> = (0..recorded).step_by(13).collect();
        for inc in checkpoint::inclusions(s, &seqs).unwrap() {
            assert!(inc.unwrap().verifies());
        }
        let report = transparency::verify::verify(s).unwrap();
        assert!(report.ok(), "{}: {:?}", s.engine(), report.problems);

        // A stored node altered behind the log's back (triggers off) is named by verify.
        sql::transact(s.db(), |tx| {
            if tx.engine() == "sqlite" {
                tx.exec("DROP TRIGGER transparency_node_no_update", &[])?;
            } else {
                tx.exec(
                    "ALTER TABLE transparency_node DISABLE TRIGGER transparency_node_append_only",
                    &[],
                )?;
            }
            tx.exec(
                "UPDATE transparency_node SET hash = $1 WHERE level = 3 AND idx = 2",
                &[vec![7u8; 32].into()],
            )
        })
        .unwrap();
        let report = transparency::verify::verify(s).unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.starts_with("tree node 3/2 ")),
            "{}: {:?}",
            s.engine(),
            report.problems
        );
    }
}
