//! Sector linkage over the store (issue 13), on SQLite and, when `EID_TEST_DATABASE_URL` is
//! set, on PostgreSQL: sources and their mapping, an import with bad rows, stored decisions
//! with their explanation, verification marks, and results scoped to the officer's units.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::import::{import_generated, ImportOptions, OnError, Rejected};
use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::{Outcome, Thresholds};
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Error, Store};
use eid_domain::name::fold;
use eid_domain::units::{Level, Tree, Units};
use eid_domain::{LifeState, Person, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn populate(store: &dyn Store) -> Vec<Person> {
    let people: Vec<Person> = Generator::new(&GenConfig {
        count: 600,
        seed: 21,
        province: None,
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.life.state == LifeState::Alive)
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Abort,
        today: TODAY,
        now: NOW,
        actor: Actor::Cli("test".into()),
        reason: "test".into(),
    };
    import_generated(store, people.iter().cloned(), &opts).unwrap();
    people
}

fn caller(role: Role, unit: &str) -> Acting {
    Acting::new(caller_of(role, unit), "rid-link", NOW)
}

fn caller_of(role: Role, unit: &str) -> Caller {
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
    }
}

fn province_of(p: &Person) -> String {
    Units::get()
        .ancestors(Tree::Gso2024, &p.residence.unit)
        .into_iter()
        .find(|u| u.level == Level::Province)
        .unwrap()
        .code
        .as_str()
        .to_owned()
}

const HEADER: &str = "ma_so,so_dinh_danh,ho,ten_dem,ten,ngay_sinh,gioi_tinh,don_vi,so_the";

fn mapping() -> Mapping {
    Mapping::parse(
        "row_id=ma_so,personal_id=so_dinh_danh,surname=ho,middle_name=ten_dem,given_name=ten,birth_date=ngay_sinh,sex=gioi_tinh,unit=don_vi",
    )
    .unwrap()
}

/// A sector row for `p` in the file's columns; `id` and the names as given.
fn line(row: &str, id: &str, s: &str, m: &str, g: &str, p: &Person, card: &str) -> String {
    format!(
        "{row},{id},{s},{m},{g},{},{},{},{card}",
        p.birth,
        p.sex.as_str(),
        p.residence.unit.as_str()
    )
}

#[test]
fn a_sector_file_is_matched_stored_explained_and_scoped() {
    for store in eid_core::testkit::engines("linkage") {
        let store = store.as_ref();
        let people = populate(store);
        let actor = Actor::Cli("test".into());

        // A mapping that names no birth date is refused before it is saved.
        let bad = Source {
            name: "bhxh".into(),
            kind: "social_insurance".into(),
            mapping: Mapping {
                columns: vec![("row_id".into(), "ma_so".into())],
            },
        };
        assert!(matches!(
            service::define_source(store, &actor, NOW, &bad),
            Err(Error::Bad {
                code: "link.bad_mapping",
                ..
            })
        ));
        let src = Source {
            mapping: mapping(),
            ..bad
        };
        service::define_source(store, &actor, NOW, &src).unwrap();
        assert_eq!(service::source(store, "bhxh").unwrap(), src);

        // Every person once, names folded for a third of them, IDs left out for a fifth;
        // then the hand-made rows.
        let mut rows = vec![HEADER.to_owned()];
        for (i, p) in people.iter().enumerate().skip(4) {
            let (s, m, g) = (p.name.surname(), p.name.middle(), p.name.given());
            let (s, m, g) = if i % 3 == 0 {
                (fold(s), fold(m), fold(g))
            } else {
                (s.into(), m.into(), g.into())
            };
            let id = if i % 5 == 0 { "" } else { p.id.as_str() };
            rows.push(line(&format!("R{i}"), id, &s, &m, &g, p, ""));
        }
        let (a, b, c) = (&people[0], &people[1], &people[2]);
        // A: the ID, names without diacritics, a health card number kept as an attribute.
        rows.push(line(
            "A",
            a.id.as_str(),
            &fold(a.name.surname()),
            a.name.middle(),
            a.name.given(),
            a,
            "GD4010012345678",
        ));
        // B: no ID, surname and given name swapped.
        rows.push(line(
            "B",
            "",
            b.name.given(),
            b.name.middle(),
            b.name.surname(),
            b,
            "",
        ));
        // C: C's ID on someone else's data (a conflict).
        rows.push(format!(
            "C,{},Khổng,Minh,Triết,1931-02-03,M,{},",
            c.id.as_str(),
            c.residence.unit.as_str()
        ));
        // D: nobody the register holds.
        rows.push(format!(
            "D,,Khổng,Minh,Triết,1931-02-03,M,{},",
            c.residence.unit.as_str()
        ));
        // E: a bad date.
        rows.push("E,,Lê,,An,1990-13-45,M,,".to_owned());
        let bad_line = rows.len() as u64;
        let file = rows.join("\n");

        let mut rejected: Vec<Rejected> = Vec::new();
        let summary = service::import(
            store,
            &actor,
            NOW,
            "bhxh",
            "bhxh-2026-11.csv",
            TODAY,
            file.as_bytes(),
            &Thresholds::default(),
            &mut |r| rejected.push(r.clone()),
        )
        .unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (rejected[0].line, rejected[0].column),
            (bad_line, "birth_date")
        );
        assert_eq!(summary.rows, (people.len() - 4 + 4) as u64);
        assert_eq!(summary.rejected, 1);
        let matched = summary.outcomes[0];
        assert!(matched as usize >= people.len() - 4, "{summary:?}");
        assert_eq!(summary.outcomes.iter().sum::<u64>(), summary.rows);
        assert_eq!(summary.verified, matched);

        let nation = caller(Role::Ministry, "VN");
        let find = |outcome: &str, row: &str| {
            service::results(store, &nation, outcome, None, 1000)
                .unwrap()
                .into_iter()
                .find(|r| r.row_id == row)
        };
        let ra = find("matched", "A").expect("A matched");
        assert_eq!(ra.personal_id.as_deref(), Some(a.id.as_str()));
        assert_eq!(ra.method, "personal_id");
        assert_eq!(ra.attributes["so_the"], "GD4010012345678");
        assert_eq!(ra.received_on, TODAY);
        let rb = find("matched", "B").expect("B matched");
        assert_eq!(rb.personal_id.as_deref(), Some(b.id.as_str()));
        assert_eq!(rb.method, "probabilistic");
        let fields = rb.explanation["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 7);
        let surname = fields.iter().find(|f| f["field"] == "surname").unwrap();
        assert_eq!(surname["level"], "swapped");
        let sum: f64 = rb.explanation["prior"].as_f64().unwrap()
            + rb.explanation["competition"].as_f64().unwrap()
            + fields
                .iter()
                .map(|f| f["weight"].as_f64().unwrap() + f["adjustment"].as_f64().unwrap())
                .sum::<f64>();
        assert!((sum - rb.explanation["total"].as_f64().unwrap()).abs() < 0.1);
        let rc = find("conflict", "C").expect("C conflicts");
        assert_eq!(rc.personal_id.as_deref(), Some(c.id.as_str()));
        let birth = rc.explanation["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "birth_date")
            .unwrap()
            .clone();
        assert_eq!(birth["level"], "different");
        assert!(find("unmatched", "D").is_some());
        assert!(find("matched", "D").is_none());

        // Verified against the source, with the file's day; C (a conflict) is not.
        let v = service::verified_against(store, &a.id).unwrap();
        assert_eq!(v.get("bhxh"), Some(&TODAY));
        assert!(service::verified_against(store, &c.id).unwrap().is_empty());

        // Scope: the officer of A's province sees A; one of another province does not.
        let home = caller(Role::Province, &province_of(a));
        assert!(service::results(store, &home, "matched", None, 1000)
            .unwrap()
            .iter()
            .any(|r| r.row_id == "A"));
        assert_eq!(service::result(store, &home, ra.id).unwrap().row_id, "A");
        let other = Units::get()
            .provinces(Tree::Gso2024)
            .into_iter()
            .map(|u| u.code.as_str().to_owned())
            .find(|p| *p != province_of(a))
            .unwrap();
        let away = caller(Role::Province, &other);
        assert!(!service::results(store, &away, "matched", None, 1000)
            .unwrap()
            .iter()
            .any(|r| r.row_id == "A"));
        assert!(matches!(
            service::result(store, &away, ra.id),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            service::results(store, &away, "matched", Some(&province_of(a)), 10),
            Err(Error::ScopeDenied)
        ));
        assert!(matches!(
            service::results(store, &nation, "maybe", None, 10),
            Err(Error::Bad {
                code: "link.bad_outcome",
                ..
            })
        ));
        assert!(matches!(
            service::result(store, &caller(Role::Auditor, "VN"), ra.id),
            Err(Error::ScopeDenied)
        ));
        assert_eq!(Outcome::parse("review"), Some(Outcome::Review));

        // Every read is audited with its request id: the refused ones too.
        let log = store.audit_log(1000).unwrap();
        let has = |action: &str, target: &str, outcome: &str| {
            log.iter().any(|e| {
                e.action == action
                    && e.target == target
                    && e.outcome == outcome
                    && e.request_id == "rid-link"
            })
        };
        assert!(has("link.result", &ra.id.to_string(), "ok"));
        assert!(has("link.result", &ra.id.to_string(), "failed"));
        assert!(has("link.result", &ra.id.to_string(), "denied"));
        assert!(has(
            "link.results",
            &format!("matched@{}", province_of(a)),
            "denied"
        ));
        assert!(has("link.results", "matched@VN", "ok"));
    }
}

#[test]
fn a_file_that_lacks_a_mapped_column_is_refused_before_anything_is_stored() {
    for store in eid_core::testkit::engines("linkage") {
        let store = store.as_ref();
        populate(store);
        let actor = Actor::Cli("test".into());
        let src = Source {
            name: "bhyt".into(),
            kind: "health_insurance".into(),
            mapping: mapping(),
        };
        service::define_source(store, &actor, NOW, &src).unwrap();
        let file = "ma_so,ho,ten,ngay_sinh\nX,Lê,An,1990-01-01\n";
        let err = service::import(
            store,
            &actor,
            NOW,
            "bhyt",
            "f.csv",
            TODAY,
            file.as_bytes(),
            &Thresholds::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Bad {
                    code: "link.bad_file",
                    ..
                }
            ),
            "{err:?}"
        );
        let nation = caller(Role::Ministry, "VN");
        for o in ["matched", "conflict", "review", "unmatched"] {
            assert!(service::results(store, &nation, o, None, 10)
                .unwrap()
                .is_empty());
        }
        assert!(matches!(
            service::import(
                store,
                &actor,
                NOW,
                "nope",
                "f.csv",
                TODAY,
                file.as_bytes(),
                &Thresholds::default(),
                &mut |_| {}
            ),
            Err(Error::NotFound {
                code: "link.no_source",
                ..
            })
        ));
    }
}

/// Imports `file` from the source `bhxh` with no probabilistic match (every scored pair at or
/// above the review threshold becomes a review).
fn import_reviewing(store: &dyn Store, file: &str) -> service::LinkSummary {
    service::import(
        store,
        &Actor::Cli("test".into()),
        NOW,
        "bhxh",
        "bhxh.csv",
        TODAY,
        file.as_bytes(),
        &Thresholds {
            matched: 1.5,
            review: 0.5,
        },
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn officers_decide_reviews_and_conflicts_and_their_decisions_are_reused() {
    use eid_core::linkage::decide::{self, Verdict};
    for store in eid_core::testkit::engines("linkage") {
        let store = store.as_ref();
        let people = populate(store);
        let src = Source {
            name: "bhxh".into(),
            kind: "social_insurance".into(),
            mapping: mapping(),
        };
        service::define_source(store, &Actor::Cli("test".into()), NOW, &src).unwrap();
        let (b, c) = (&people[1], &people[2]);
        let mut rows = vec![HEADER.to_owned()];
        for (i, p) in people.iter().enumerate().skip(4) {
            let (s, m, g) = (p.name.surname(), p.name.middle(), p.name.given());
            rows.push(line(&format!("R{i}"), p.id.as_str(), s, m, g, p, ""));
        }
        // B: no ID, names swapped: scored, so a review. C: C's ID on other data: a conflict.
        let b_row = line(
            "B",
            "",
            b.name.given(),
            b.name.middle(),
            b.name.surname(),
            b,
            "",
        );
        rows.push(b_row.clone());
        let c_row = format!(
            "C,{},Khổng,Minh,Triết,1931-02-03,M,{},",
            c.id.as_str(),
            c.residence.unit.as_str()
        );
        rows.push(c_row.clone());
        let file = rows.join("\n");
        import_reviewing(store, &file);

        let nation = caller(Role::Ministry, "VN");
        let q = decide::queue(store, &nation, None, None, 0, 200).unwrap();
        let rb = q
            .rows
            .iter()
            .find(|r| r.row_id == "B")
            .expect("B in review")
            .clone();
        let rc = q
            .rows
            .iter()
            .find(|r| r.row_id == "C")
            .expect("C in conflict")
            .clone();
        assert_eq!(rb.outcome, Outcome::Review);
        assert_eq!(rc.outcome, Outcome::Conflict);
        assert_eq!(rb.values["surname"], b.name.given());
        assert!(q.open >= 2);
        let counted = |source: &str, o: Outcome| {
            q.counts
                .iter()
                .find(|(s, x, _)| s == source && *x == o)
                .map_or(0, |c| c.2)
        };
        assert!(counted("bhxh", Outcome::Matched) >= (people.len() - 4) as u64);
        assert!(counted("bhxh", Outcome::Conflict) >= 1);

        // The review page names the register person beside the row.
        let review = decide::review(store, &nation, rb.id).unwrap();
        assert_eq!(review.person.as_ref().map(|p| p.id), Some(b.id));

        // Refusals: an officer of another province, an auditor, no reason, a matched result.
        let home_b = caller(Role::Province, &province_of(b));
        let other = Units::get()
            .provinces(Tree::Gso2024)
            .into_iter()
            .map(|u| u.code.as_str().to_owned())
            .find(|p| *p != province_of(b) && *p != province_of(c))
            .unwrap();
        let away = caller(Role::Province, &other);
        let same_b = Verdict::Same(b.id);
        assert!(matches!(
            decide::decide(store, &away, rb.id, &same_b, "cùng người"),
            Err(Error::ScopeDenied)
        ));
        assert!(matches!(
            decide::decide(store, &caller(Role::Auditor, "VN"), rb.id, &same_b, "x"),
            Err(Error::ScopeDenied)
        ));
        assert!(matches!(
            decide::decide(store, &home_b, rb.id, &same_b, "  "),
            Err(Error::Bad {
                code: "person.reason_required",
                ..
            })
        ));
        let matched = service::results(store, &nation, "matched", None, 1)
            .unwrap()
            .remove(0);
        assert!(matches!(
            decide::decide(store, &nation, matched.id, &Verdict::Different, "không"),
            Err(Error::Bad {
                code: "link.not_decidable",
                ..
            })
        ));

        // B is the same person; C is not. A second decision on B is a conflict.
        let after = decide::decide(store, &home_b, rb.id, &same_b, "Đối chiếu hồ sơ").unwrap();
        assert_eq!(after.outcome, Outcome::Matched);
        assert_eq!(after.personal_id.as_deref(), Some(b.id.as_str()));
        let d = after.decision.clone().unwrap();
        assert_eq!(
            (d.verdict.as_str(), d.reason.as_str()),
            ("same", "Đối chiếu hồ sơ")
        );
        assert_eq!(d.actor, Actor::Staff(7).to_string());
        assert_eq!(d.at, NOW);
        assert!(matches!(
            decide::decide(store, &nation, rb.id, &Verdict::Different, "lại"),
            Err(Error::Conflict {
                code: "link.already_decided",
                ..
            })
        ));
        let home_c = caller(Role::Province, &province_of(c));
        let after =
            decide::decide(store, &home_c, rc.id, &Verdict::Different, "Khác người").unwrap();
        assert_eq!(after.outcome, Outcome::Unmatched);
        assert_eq!(after.personal_id, None);
        // Verified against the insurance source by the officer's decision; C is not.
        assert_eq!(
            service::verified_against(store, &b.id).unwrap().get("bhxh"),
            Some(&TODAY)
        );
        assert!(service::verified_against(store, &c.id).unwrap().is_empty());
        let q = decide::queue(store, &nation, None, None, 0, 200).unwrap();
        assert!(!q.rows.iter().any(|r| r.row_id == "B" || r.row_id == "C"));

        // Imported again: the officers' decisions win over the matcher's.
        import_reviewing(store, &file);
        let latest = |outcome: &str, row: &str| {
            service::results(store, &nation, outcome, None, 1000)
                .unwrap()
                .into_iter()
                .find(|r| r.row_id == row && r.id > rc.id)
        };
        let b2 = latest("matched", "B").expect("B reused as matched");
        assert_eq!(b2.method, "officer");
        assert_eq!(b2.personal_id.as_deref(), Some(b.id.as_str()));
        assert_eq!(b2.decision.as_ref().map(|d| d.result_id), Some(rb.id));
        let c2 = latest("unmatched", "C").expect("C reused as unmatched");
        assert_eq!(c2.method, "officer");
        assert!(latest("conflict", "C").is_none());

        // A row whose values changed is a new row: the matcher decides it again.
        let changed = file.replace(&c_row, &c_row.replace("Triết", "Triệt"));
        import_reviewing(store, &changed);
        let c3 = service::results(store, &nation, "conflict", None, 1000)
            .unwrap()
            .into_iter()
            .find(|r| r.row_id == "C" && r.id > c2.id)
            .expect("a changed C is a conflict again");
        assert!(c3.decision.is_none());

        // Every decision is audited with its outcome.
        let log = store.audit_log(1000).unwrap();
        let has = |target: i64, outcome: &str| {
            log.iter().any(|e| {
                e.action == "link.decide" && e.target == target.to_string() && e.outcome == outcome
            })
        };
        assert!(has(rb.id, "ok") && has(rb.id, "denied") && has(rb.id, "failed"));
        assert!(has(rc.id, "ok"));
        assert!(log
            .iter()
            .any(|e| e.action == "link.queue" && e.target == "VN"));
    }
}
