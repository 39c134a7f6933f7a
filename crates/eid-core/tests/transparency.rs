//! The data-use log (issue 15): the Merkle tree against the RFC 6962 reference vectors, entries
//! recorded and proven included in a signed checkpoint, consistency between checkpoints, and
//! `verify` catching an entry altered by raw SQL; misuse reports; officer codes. SQLite always;
//! PostgreSQL when `EID_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::oidc::keys::Kek;
use eid_core::store::{NewStaff, Role};
use eid_core::transparency::{self, checkpoint, merkle, reports, DataUse, Who};
use eid_core::{officer_code, sql, Acting, Actor, Caller, Store};
use eid_domain::UnitCode;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn h(hex: &str) -> merkle::Hash {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The Certificate Transparency reference leaves and the roots of their trees of 1..=8 leaves.
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

fn ref_leaves() -> Vec<merkle::Hash> {
    LEAVES
        .iter()
        .map(|l| merkle::leaf_hash(&unhex(l)))
        .collect()
}

#[test]
fn roots_and_proofs_match_the_rfc_6962_reference_vectors() {
    let leaves = ref_leaves();
    assert_eq!(
        merkle::root(&[]),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    for n in 1..=8 {
        assert_eq!(merkle::root(&leaves[..n]), h(ROOTS[n - 1]), "size {n}");
    }
    let cases: [(usize, usize, &[&str]); 3] = [
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
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
    ];
    for (index, size, want) in cases {
        let proof = merkle::inclusion_proof(index, &leaves[..size]).unwrap();
        let want: Vec<merkle::Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(proof, want, "inclusion {index} in {size}");
        let root = h(ROOTS[size - 1]);
        assert!(merkle::verify_inclusion(
            index as u64,
            size as u64,
            &leaves[index],
            &proof,
            &root
        ));
        // Another leaf, another index or another root: refused.
        assert!(!merkle::verify_inclusion(
            index as u64,
            size as u64,
            &leaves[(index + 1) % size],
            &proof,
            &root
        ));
        assert!(!merkle::verify_inclusion(
            ((index + 1) % size) as u64,
            size as u64,
            &leaves[index],
            &proof,
            &root
        ));
        assert!(!merkle::verify_inclusion(
            index as u64,
            size as u64,
            &leaves[index],
            &proof,
            &h(ROOTS[0])
        ));
    }
    let consistency: [(usize, usize, &[&str]); 3] = [
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
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, want) in consistency {
        let proof = merkle::consistency_proof(old, &leaves[..new]).unwrap();
        let want: Vec<merkle::Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(proof, want, "consistency {old} → {new}");
        let (r1, r2) = (h(ROOTS[old - 1]), h(ROOTS[new - 1]));
        assert!(merkle::verify_consistency(
            old as u64, new as u64, &r1, &r2, &proof
        ));
        assert!(!merkle::verify_consistency(
            old as u64, new as u64, &r2, &r1, &proof
        ));
    }
}

#[test]
fn every_proof_round_trips_in_trees_of_every_shape() {
    let leaves: Vec<merkle::Hash> = (0..37u8)
        .map(|i| merkle::leaf_hash(&[i, i ^ 0x5a]))
        .collect();
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        let root = merkle::root(tree);
        for i in 0..n {
            let p = merkle::inclusion_proof(i, tree).unwrap();
            assert!(merkle::verify_inclusion(
                i as u64, n as u64, &tree[i], &p, &root
            ));
        }
        for m in 1..=n {
            let p = merkle::consistency_proof(m, tree).unwrap();
            let old = merkle::root(&leaves[..m]);
            assert!(
                merkle::verify_consistency(m as u64, n as u64, &old, &root, &p),
                "{m}→{n}"
            );
            if m < n {
                let mut other = old;
                other[0] ^= 1;
                assert!(!merkle::verify_consistency(
                    m as u64, n as u64, &other, &root, &p
                ));
            }
        }
    }
}

fn officer(store: &dyn Store, username: &str, role: Role, unit: &str) -> Caller {
    let id = store
        .create_staff(
            &NewStaff {
                username: username.into(),
                display_name: format!("Cán bộ {username}"),
                role,
                unit: if unit == "00" {
                    UnitCode::NATION
                } else {
                    UnitCode::parse(unit).unwrap()
                },
                password_hash: "x".into(),
            },
            NOW,
        )
        .unwrap();
    Caller {
        staff: store.staff_by_id(id).unwrap().unwrap(),
        actor: Actor::Staff(id),
    }
}

fn use_of(pid: &str, n: i64) -> DataUse {
    DataUse {
        personal_id: pid.into(),
        who: Who::RelyingParty {
            client_id: format!("rp{n}"),
            name: format!("Dịch vụ {n}"),
        },
        what: "name birthdate".into(),
        purpose: "oidc.userinfo".into(),
        at: NOW + Duration::minutes(n),
    }
}

/// Runs `change` on `table` behind the log's back: its append-only guard (`sqlite_trigger`
/// dropped on SQLite, `pg_trigger` disabled on PostgreSQL) out of the way first, as someone with
/// the database's keys could.
fn behind_the_back(store: &dyn Store, table: &str, triggers: (&str, &str), change: &str) {
    sql::transact(store.db(), |tx| {
        if tx.engine() == "sqlite" {
            tx.exec(&format!("DROP TRIGGER {}", triggers.0), &[])?;
        } else {
            tx.exec(
                &format!("ALTER TABLE {table} DISABLE TRIGGER {}", triggers.1),
                &[],
            )?;
        }
        tx.exec(change, &[])
    })
    .unwrap();
}

/// Alters entry `seq`'s purpose behind the log's back.
fn tamper(store: &dyn Store, seq: u64) {
    behind_the_back(
        store,
        "data_use",
        ("data_use_no_update", "data_use_append_only"),
        &format!("UPDATE data_use SET purpose = 'nothing to see' WHERE seq = {seq}"),
    );
}

#[test]
fn entries_are_included_in_signed_checkpoints_and_tampering_is_named() {
    for s in eid_core::testkit::engines("transparency-log") {
        let s = s.as_ref();
        let kek = Kek::random();
        let pid = "001099000123";
        for n in 0..5 {
            assert_eq!(transparency::record(s, &use_of(pid, n)).unwrap(), n as u64);
        }
        transparency::record(s, &use_of("001099000999", 9)).unwrap();
        let first = checkpoint::publish(s, &kek, NOW).unwrap().unwrap();
        assert_eq!(first.size, 6);
        assert!(
            first.note.starts_with("eid.gov.vn/data-use\n6\n"),
            "{}",
            first.note
        );
        // Nothing new: no second checkpoint of the same size.
        assert!(checkpoint::publish(s, &kek, NOW).unwrap().is_none());
        for n in 10..13 {
            transparency::record(s, &use_of(pid, n)).unwrap();
        }
        let second = checkpoint::publish(s, &kek, NOW + Duration::hours(1))
            .unwrap()
            .unwrap();
        assert_eq!(second.size, 9);
        let jwk = checkpoint::public_jwk(s, &second.kid).unwrap().unwrap();
        assert!(checkpoint::signature_valid(&second, &jwk));
        let mut forged = second.clone();
        forged.root[0] ^= 1;
        assert!(!checkpoint::signature_valid(&forged, &jwk));

        // The citizen's entries, newest first, each proven in the newest checkpoint.
        let (mine, more) = transparency::entries_for(s, pid, 0).unwrap();
        assert!(!more);
        assert_eq!(mine.len(), 8);
        assert!(mine.iter().all(|e| e.personal_id == pid));
        let seqs: Vec<u64> = mine.iter().map(|e| e.seq).collect();
        for inc in checkpoint::inclusions(s, &seqs).unwrap() {
            let inc = inc.unwrap();
            assert_eq!(inc.checkpoint.size, 9);
            assert!(inc.verifies(), "entry {}", inc.seq);
        }
        // The later checkpoint extends the earlier one.
        let proof = checkpoint::consistency(s, 6, 9).unwrap().unwrap();
        assert!(merkle::verify_consistency(
            6,
            9,
            &first.root,
            &second.root,
            &proof
        ));

        let report = transparency::verify::verify(s).unwrap();
        assert!(report.ok(), "{}: {:?}", s.engine(), report.problems);
        assert_eq!((report.entries, report.checkpoints), (9, 2));

        // The log refuses updates through the ordinary door…
        let refused = sql::transact(s.db(), |tx| {
            tx.exec("UPDATE data_use SET purpose = 'x' WHERE seq = 3", &[])
        });
        assert!(refused.is_err(), "{}", s.engine());
        // …and an update behind its back is found, naming the entry.
        tamper(s, 3);
        let report = transparency::verify::verify(s).unwrap();
        assert!(!report.ok());
        assert!(
            report.problems.iter().any(|p| p.starts_with("entry 3:")),
            "{:?}",
            report.problems
        );
        assert!(
            report.problems.iter().any(|p| p.contains("checkpoint 6")),
            "{:?}",
            report.problems
        );
    }
}

#[test]
fn concurrent_records_get_distinct_gapless_leaves() {
    for s in eid_core::testkit::engines("transparency-parallel") {
        std::thread::scope(|scope| {
            for t in 0..4 {
                let s = s.clone();
                scope.spawn(move || {
                    for n in 0..10 {
                        transparency::record(s.as_ref(), &use_of("001099000123", t * 100 + n))
                            .unwrap();
                    }
                });
            }
        });
        let report = transparency::verify::verify(s.as_ref()).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.entries, 40);
    }
}

/// A person's entries are found the same way whether they sit in the log's unindexed tail, in
/// `data_use_by_person`, or some in each: the copy moves the whole tail once, in key order, and
/// only when the tail is long enough; a second copy finds nothing to do.
#[test]
fn a_persons_entries_read_the_same_from_the_tail_and_from_the_copy() {
    for s in eid_core::testkit::engines("transparency-tail") {
        let s = s.as_ref();
        let people = ["001099000123", "079088000456", "062077000789"];
        // 45 entries, 15 each, interleaved: every person's entries are spread over the log.
        for n in 0..45 {
            transparency::record(s, &use_of(people[n as usize % 3], n)).unwrap();
        }
        let read = |pid: &str| {
            let mut seqs = Vec::new();
            for page in 0.. {
                let (entries, more) = transparency::entries_for(s, pid, page).unwrap();
                seqs.extend(entries.iter().map(|e| (e.seq, e.personal_id.clone())));
                if !more {
                    break;
                }
            }
            (seqs, transparency::newest_seq(s, pid).unwrap())
        };
        let in_tail: Vec<_> = people.iter().map(|p| read(p)).collect();
        for (k, (seqs, newest)) in in_tail.iter().enumerate() {
            assert_eq!(seqs.len(), 15, "{}", s.engine());
            assert!(seqs.iter().all(|(_, pid)| pid == people[k]));
            assert!(seqs.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
            assert_eq!(*newest, Some(seqs[0].0));
        }
        assert_eq!(transparency::newest_seq(s, "001000000000").unwrap(), None);

        // A tail shorter than asked for stays where it is.
        assert_eq!(transparency::index_tail(s, 46).unwrap(), 0);
        assert_eq!(
            transparency::index_tail(s, 45).unwrap(),
            45,
            "{}",
            s.engine()
        );
        assert_eq!(transparency::index_tail(s, 0).unwrap(), 0, "nothing left");
        // 10 more: now some of each person's entries are copied and some in the tail.
        for n in 45..55 {
            transparency::record(s, &use_of(people[n as usize % 3], n)).unwrap();
        }
        let split: Vec<_> = people.iter().map(|p| read(p)).collect();
        for (k, (seqs, newest)) in split.iter().enumerate() {
            let tail_seqs: Vec<_> = seqs.iter().filter(|(seq, _)| *seq >= 45).collect();
            assert!(!tail_seqs.is_empty());
            assert_eq!(seqs.len(), 15 + tail_seqs.len());
            assert_eq!(
                &seqs[tail_seqs.len()..],
                &in_tail[k].0[..],
                "{}",
                s.engine()
            );
            assert_eq!(*newest, Some(seqs[0].0));
        }
        assert_eq!(transparency::index_tail(s, 1).unwrap(), 10);
        let copied: Vec<_> = people.iter().map(|p| read(p)).collect();
        assert_eq!(copied, split, "{}", s.engine());
        // Each entry is in the copy once.
        let rows = sql::read(s.db(), |tx| {
            tx.int("SELECT count(*) FROM data_use_by_person", &[])
        })
        .unwrap();
        assert_eq!(rows, 55);
        let report = transparency::verify::verify(s).unwrap();
        assert!(report.ok(), "{:?}", report.problems);

        // The copy is append-only, and a row removed behind its back is named.
        let removed = sql::transact(s.db(), |tx| {
            tx.exec("DELETE FROM data_use_by_person WHERE seq = 7", &[])
        });
        assert!(removed.is_err(), "{}", s.engine());
        behind_the_back(
            s,
            "data_use_by_person",
            (
                "data_use_by_person_no_delete",
                "data_use_by_person_append_only",
            ),
            "DELETE FROM data_use_by_person WHERE seq = 7",
        );
        let report = transparency::verify::verify(s).unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(
            report.problems[0].contains("holds 54 of them"),
            "{:?}",
            report.problems
        );
        assert_eq!(
            read(people[1]).0.len(),
            copied[1].0.len() - 1,
            "hidden from the page"
        );
    }
}

/// Uses noted without a leaf index (stays, wallet checks, sector matches): on SQLite in the log
/// at once; on PostgreSQL pending until the fold, and two writers do not queue on the log's
/// head — a second one commits while the first is still open. Every kind comes back as noted,
/// once.
#[test]
fn noted_uses_reach_the_log_once_each_without_queueing_on_its_head() {
    use std::sync::mpsc;
    let kinds = [
        Who::Sector {
            source: "BHXH tỉnh".into(),
        },
        Who::Verifier {
            id: "desk-7".into(),
            name: "Quầy 7".into(),
        },
        Who::Establishment {
            id: "42".into(),
            name: "Khách sạn Sông Hàn".into(),
        },
    ];
    let pid = "001099000456";
    for s in eid_core::testkit::engines("transparency-noted") {
        let postgres = sql::read(s.db(), |tx| {
            Ok::<_, eid_core::StoreError>(tx.engine() == "postgres")
        })
        .unwrap();
        let noted = |n: usize| DataUse {
            personal_id: pid.into(),
            who: kinds[n].clone(),
            what: format!("field_{n}"),
            purpose: format!("purpose.{n}"),
            at: NOW + Duration::minutes(n as i64),
        };
        if postgres {
            // The first writer notes a use and stays open until the second has committed.
            let (opened, is_open) = mpsc::channel::<()>();
            let (release, released) = mpsc::channel::<()>();
            let (store, first_use) = (&s, noted(0));
            std::thread::scope(|scope| {
                let first = scope.spawn(move || {
                    sql::transact(store.db(), |tx| {
                        transparency::note_in(tx, &first_use)?;
                        opened.send(()).unwrap();
                        released
                            .recv_timeout(std::time::Duration::from_secs(10))
                            .unwrap();
                        Ok::<_, eid_core::StoreError>(())
                    })
                    .unwrap();
                });
                is_open.recv().unwrap();
                let started = std::time::Instant::now();
                sql::transact(s.db(), |tx| transparency::note_in(tx, &noted(1))).unwrap();
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(5),
                    "the second writer waited for the first"
                );
                release.send(()).unwrap();
                first.join().unwrap();
            });
            sql::transact(s.db(), |tx| transparency::note_in(tx, &noted(2))).unwrap();
            assert!(
                transparency::entries_for(s.as_ref(), pid, 0)
                    .unwrap()
                    .0
                    .is_empty(),
                "pending until the fold"
            );
        } else {
            for n in 0..3 {
                sql::transact(s.db(), |tx| transparency::note_in(tx, &noted(n))).unwrap();
            }
        }
        transparency::staff_reads::fold(s.as_ref()).unwrap();
        // A second fold finds nothing more.
        transparency::staff_reads::fold(s.as_ref()).unwrap();
        let mut got: Vec<_> = transparency::entries_for(s.as_ref(), pid, 0)
            .unwrap()
            .0
            .into_iter()
            .map(|e| (e.who_kind, e.who_id, e.who_name, e.what, e.purpose, e.at))
            .collect();
        got.sort_by(|a, b| a.3.cmp(&b.3));
        let want: Vec<_> = (0..3)
            .map(|n| {
                let u = noted(n);
                let (id, name) = match &u.who {
                    Who::Sector { source } => (source.clone(), source.clone()),
                    Who::Verifier { id, name } | Who::Establishment { id, name } => {
                        (id.clone(), name.clone())
                    }
                    _ => unreachable!(),
                };
                (u.who.kind().to_owned(), id, name, u.what, u.purpose, u.at)
            })
            .collect();
        assert_eq!(got, want);
        let report = transparency::verify::verify(s.as_ref()).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.entries, 3);
    }
}

#[test]
fn a_misuse_report_reaches_the_auditors_and_its_answer_the_citizen() {
    for s in eid_core::testkit::engines("transparency-reports") {
        let s = s.as_ref();
        let pid = "001099000123";
        let clerk = officer(s, "clerk", Role::Commune, "00004");
        let seq = transparency::record(
            s,
            &DataUse {
                personal_id: pid.into(),
                who: Who::staff(&clerk),
                what: "person".into(),
                purpose: "register.lookup".into(),
                at: NOW,
            },
        )
        .unwrap();
        // Someone else's entry is not theirs to report.
        assert!(reports::open(s, "001099000999", seq, "?", NOW).is_err());
        let id = reports::open(s, pid, seq, "Tôi không đến cơ quan nào", NOW).unwrap();
        assert_eq!(reports::open(s, pid, seq, "again", NOW).unwrap(), id);

        let auditor = officer(s, "auditor", Role::Auditor, "00");
        let act = Acting::new(auditor, "rid-aud", NOW);
        // A commune officer has no queue.
        assert!(reports::queue(s, &Acting::new(clerk.clone(), "rid-c", NOW)).is_err());
        let queue = reports::queue(s, &act).unwrap();
        assert_eq!(queue.len(), 1);
        assert!(queue[0].open);
        assert_eq!(queue[0].who_unit.as_deref(), Some("00004"));
        assert!(reports::answer(s, &act, id, "bogus", "x").is_err());
        reports::answer(s, &act, id, "misuse", "Đã xử lý cán bộ").unwrap();
        // Answered once only.
        assert!(reports::answer(s, &act, id, "misuse", "again").is_err());
        let mine = reports::for_person(s, pid).unwrap();
        assert_eq!(mine.len(), 1);
        assert!(!mine[0].open);
        assert_eq!(mine[0].outcome.as_deref(), Some("misuse"));
        assert_eq!(mine[0].answer.as_deref(), Some("Đã xử lý cán bộ"));
    }
}

#[test]
fn an_officer_code_says_the_unit_while_fresh_and_nothing_else() {
    for s in eid_core::testkit::engines("transparency-officer") {
        let s = s.as_ref();
        let clerk = officer(s, "clerk", Role::Commune, "00004");
        let issued = officer_code::issue(s, &Acting::new(clerk, "rid-o", NOW)).unwrap();
        assert_eq!(issued.code.len(), officer_code::LEN);
        let lower = issued.code.to_lowercase();
        match officer_code::check(s, &lower, None, "client-a", NOW + Duration::minutes(1)).unwrap()
        {
            officer_code::Check::Valid { unit, unit_name } => {
                assert_eq!(unit, "00004");
                assert!(!unit_name.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // Expired, or wrong: the same answer, and failures counted against the claimed unit.
        assert_eq!(
            officer_code::check(
                s,
                &issued.code,
                Some("00004"),
                "client-a",
                NOW + Duration::minutes(6)
            )
            .unwrap(),
            officer_code::Check::NotValid
        );
        assert_eq!(
            officer_code::check(s, "ZZZZZZZZ", Some("00004"), "client-a", NOW).unwrap(),
            officer_code::Check::NotValid
        );
        let boss = officer(s, "boss", Role::Ministry, "00");
        let figures = officer_code::failures(s, &Acting::new(boss, "rid-f", NOW), 7).unwrap();
        assert_eq!(
            figures.iter().find(|f| f.0 == "00004").map(|f| f.2),
            Some(2)
        );
        // The limit: a client that guesses too often is held back.
        let mut limited = false;
        for _ in 0..officer_code::CHECK_LIMIT + 1 {
            if let officer_code::Check::Limited(_) =
                officer_code::check(s, "AAAAAAAA", None, "client-b", NOW).unwrap()
            {
                limited = true;
            }
        }
        assert!(limited);
    }
}
