//! What linkage changes in the register (issue 13), on SQLite and, when
//! `EID_TEST_DATABASE_URL` is set, on PostgreSQL: deaths and births from the civil registry
//! become proposals (once, however often the file comes), confirmed through the register's
//! writer; duplicates inside the register are proposed, merged and unmerged; the quality
//! scores count what lowers them, within the officer's units.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::dedupe;
use eid_core::linkage::files::Mapping;
use eid_core::linkage::proposals::{self, BirthInput, ProposalDecision};
use eid_core::linkage::quality;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller, Error, Store};
use eid_domain::units::{Level, Tree, Units};
use eid_domain::{LifeState, Person, PersonalId, UnitCode};
use eid_gen::{GenConfig, Generator};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const TODAY: Date = date!(2026 - 11 - 23);
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

fn populate(store: &dyn Store, extra: &[Person]) -> Vec<Person> {
    let mut people: Vec<Person> = Generator::new(&GenConfig {
        count: 500,
        seed: 33,
        province: None,
        today: TODAY,
    })
    .unwrap()
    .filter(|p| p.life.state == LifeState::Alive)
    .collect();
    people.extend(extra.iter().cloned());
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
        "rid-linkprop",
        NOW,
    )
}

fn province_of(unit: &UnitCode) -> String {
    Units::get()
        .ancestors(Tree::Gso2024, unit)
        .into_iter()
        .find(|u| u.level == Level::Province)
        .unwrap()
        .code
        .as_str()
        .to_owned()
}

fn define(store: &dyn Store, name: &str, kind: &str) {
    service::define_source(
        store,
        &Actor::Cli("test".into()),
        NOW,
        &Source {
            name: name.into(),
            kind: kind.into(),
            mapping: Mapping::parse("row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit=unit").unwrap(),
        },
    )
    .unwrap();
}

fn import(store: &dyn Store, source: &str, file: &str) -> service::LinkSummary {
    service::import(
        store,
        &Actor::Cli("test".into()),
        NOW,
        source,
        "file.csv",
        TODAY,
        file.as_bytes(),
        &Thresholds::default(),
        &mut |r| panic!("rejected line {}: {}", r.line, r.reason),
    )
    .unwrap()
}

fn row(id: &str, p: &Person, extra: &str) -> String {
    format!(
        "{id},{},{},{},{},{},{},{}{extra}",
        p.id.as_str(),
        p.name.surname(),
        p.name.middle(),
        p.name.given(),
        p.birth,
        p.sex.as_str(),
        p.residence.unit.as_str()
    )
}

#[test]
fn a_death_is_proposed_once_and_confirmed_through_the_register() {
    for store in eid_core::testkit::engines("linkage_proposals") {
        let store = store.as_ref();
        let people = populate(store, &[]);
        define(store, "hotich-tu", "civil_deaths");
        let dead = &people[3];
        let file = format!(
            "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,death_date\n{}",
            row("D1", dead, ",2026-11-02")
        );
        let first = import(store, "hotich-tu", &file);
        assert_eq!(first.proposed, 1, "{}", store.engine());
        // The same file again proposes nothing more.
        let again = import(store, "hotich-tu", &file);
        assert_eq!(again.proposed, 0);

        let unit = dead.residence.unit.as_str().to_owned();
        let officer = acting(Role::Commune, &unit);
        let open = proposals::list(store, &officer, "death", "", None, 100).unwrap();
        assert_eq!(open.len(), 1);
        let p = &open[0];
        assert_eq!(p.personal_id.as_deref(), Some(dead.id.as_str()));
        assert_eq!(p.detail["death_date"], "2026-11-02");

        // Outside the officer's units: not listed, and refused.
        let far = people
            .iter()
            .find(|q| province_of(&q.residence.unit) != province_of(&dead.residence.unit))
            .unwrap();
        let stranger = acting(Role::Commune, far.residence.unit.as_str());
        assert!(proposals::list(store, &stranger, "death", "", None, 100)
            .unwrap()
            .is_empty());
        let refused = proposals::decide(
            store,
            &stranger,
            p.id,
            &ProposalDecision::Confirm(BirthInput::default()),
            "giấy chứng tử",
        );
        assert!(matches!(refused, Err(Error::ScopeDenied)), "{refused:?}");

        let done = proposals::decide(
            store,
            &officer,
            p.id,
            &ProposalDecision::Confirm(BirthInput::default()),
            "giấy chứng tử số 12",
        )
        .unwrap();
        assert_eq!(done.state, "confirmed");
        let stored = store.person(&dead.id).unwrap().unwrap();
        assert_eq!(stored.person.life.state, LifeState::Dead);
        assert_eq!(stored.person.life.since, Some(date!(2026 - 11 - 02)));
        let history = store.history(&dead.id).unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            (last.kind.as_str(), &last.actor),
            ("updated", &Actor::Staff(7))
        );
        assert!(
            last.reason.contains("giấy chứng tử số 12"),
            "{}",
            last.reason
        );
        // A second decision finds it decided.
        let twice = proposals::decide(store, &officer, p.id, &ProposalDecision::Dismiss, "x");
        assert!(
            matches!(
                twice,
                Err(Error::Conflict {
                    code: "link.proposal_decided",
                    ..
                })
            ),
            "{twice:?}"
        );
        // The person is dead now: a later death row for them proposes nothing.
        let later = format!(
            "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,death_date\n{}",
            row("D2", dead, ",2026-11-02")
        );
        assert_eq!(import(store, "hotich-tu", &later).proposed, 0);

        // A death row whose names disagree with the ID's holder is a conflict, not a proposal;
        // the officer who decides it is the same person makes the proposal.
        let other = &people[4];
        let renamed = format!(
            "D3,{},Âu,,Xuyến,1931-01-01,{},{},2026-11-05",
            other.id.as_str(),
            if other.sex == eid_domain::Sex::Male {
                "F"
            } else {
                "M"
            },
            other.residence.unit.as_str()
        );
        let file = format!(
            "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,death_date\n{renamed}"
        );
        assert_eq!(import(store, "hotich-tu", &file).proposed, 0);
        let nation = acting(Role::Ministry, "VN");
        let conflicts = service::results(store, &nation, "conflict", None, 10).unwrap();
        let c = conflicts
            .iter()
            .find(|r| r.row_id == "D3")
            .expect("a conflict");
        eid_core::linkage::decide::decide(
            store,
            &nation,
            c.id,
            &eid_core::linkage::decide::Verdict::Proposed,
            "cùng một người, tên ghi sai",
        )
        .unwrap();
        let open = proposals::list(store, &nation, "death", "", None, 100).unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].personal_id.as_deref(), Some(other.id.as_str()));
        assert_eq!(open[0].detail["death_date"], "2026-11-05");
    }
}

#[test]
fn a_birth_is_proposed_with_its_gaps_and_confirmed_as_a_new_person() {
    for store in eid_core::testkit::engines("linkage_proposals") {
        let store = store.as_ref();
        let people = populate(store, &[]);
        define(store, "hotich-sinh", "civil_births");
        let mother = &people[5];
        let unit = mother.residence.unit.as_str().to_owned();
        let file = format!(
            "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,father_birth_date\n\
             B1,,Hoàng,Minh,Khuê,2026-10-30,F,{unit},1990-04-02"
        );
        assert_eq!(import(store, "hotich-sinh", &file).proposed, 1);
        assert_eq!(import(store, "hotich-sinh", &file).proposed, 0);
        let officer = acting(Role::Commune, &unit);
        let open = proposals::list(store, &officer, "birth", "", None, 10).unwrap();
        assert_eq!(open.len(), 1, "{}", store.engine());
        let gaps: Vec<&str> = open[0].detail["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(
            gaps,
            [
                "personal_id",
                "mother_birth_date",
                "hometown_unit",
                "residence_address"
            ]
        );
        // Without a personal ID the record cannot be made.
        let missing = proposals::decide(
            store,
            &officer,
            open[0].id,
            &ProposalDecision::Confirm(BirthInput::default()),
            "đăng ký khai sinh",
        );
        assert!(
            matches!(
                missing,
                Err(Error::Bad {
                    code: "link.birth_invalid",
                    ..
                })
            ),
            "{missing:?}"
        );
        let province: u8 = province_of(&mother.residence.unit).parse().unwrap();
        let id = PersonalId::from_parts(province, eid_domain::Sex::Female, 2026, 424_242).unwrap();
        // An ID the register holds already is refused.
        let taken = proposals::decide(
            store,
            &officer,
            open[0].id,
            &ProposalDecision::Confirm(BirthInput {
                personal_id: Some(mother.id.as_str().into()),
                ..BirthInput::default()
            }),
            "đăng ký khai sinh",
        );
        assert!(taken.is_err(), "{taken:?}");
        let done = proposals::decide(
            store,
            &officer,
            open[0].id,
            &ProposalDecision::Confirm(BirthInput {
                personal_id: Some(id.as_str().into()),
                residence_address: Some("Số 4, thôn Đông".into()),
                hometown_unit: None,
            }),
            "đăng ký khai sinh",
        )
        .unwrap();
        assert_eq!(done.state, "confirmed");
        let born = store.person(&id).unwrap().unwrap().person;
        assert_eq!(born.name.given(), "Khuê");
        assert_eq!(born.residence.unit, mother.residence.unit);
        let history = store.history(&id).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (history[0].kind.as_str(), &history[0].actor),
            ("created", &Actor::Staff(7))
        );
        // What the officer could not fill stays a gap on the person.
        let f = quality::findings(store, &officer, &id).unwrap();
        assert_eq!(f.gaps, ["mother_birth_date", "hometown_unit"]);
        assert_eq!(f.proposals.len(), 1);
    }
}

#[test]
fn duplicates_are_proposed_merged_and_unmerged_and_lower_the_clean_score() {
    for store in eid_core::testkit::engines("linkage_proposals") {
        let store = store.as_ref();
        let base: Vec<Person> = Generator::new(&GenConfig {
            count: 500,
            seed: 33,
            province: None,
            today: TODAY,
        })
        .unwrap()
        .filter(|p| p.life.state == LifeState::Alive)
        .collect();
        // Two persons entered twice under another personal ID.
        let mut twins = Vec::new();
        for (k, p) in [&base[10], &base[20]].into_iter().enumerate() {
            let mut d = p.clone();
            d.id = PersonalId::from_parts(
                d.id.province_code(),
                d.sex,
                d.birth.year(),
                900_000 + k as u32,
            )
            .unwrap();
            d.phone = None;
            d.card = None;
            twins.push(d);
        }
        populate(store, &twins);
        let summary = dedupe::run(
            store,
            &Actor::Cli("test".into()),
            NOW,
            &Thresholds::default(),
        )
        .unwrap();
        assert!(summary.proposed >= 2, "{summary:?} on {}", store.engine());
        // Nothing else in this register looks like one person twice.
        assert_eq!((summary.pairs, summary.proposed), (2, 2), "{summary:?}");
        let nation = acting(Role::Ministry, "VN");
        let open = proposals::list(store, &nation, "merge", "", None, 1000).unwrap();
        let pair = |p: &Person, d: &Person| {
            open.iter()
                .find(|x| {
                    let ids = [x.personal_id.as_deref(), x.other_id.as_deref()];
                    ids.contains(&Some(p.id.as_str())) && ids.contains(&Some(d.id.as_str()))
                })
                .cloned()
        };
        let first = pair(&base[10], &twins[0]).expect("the first duplicate is proposed");
        assert!(pair(&base[20], &twins[1]).is_some());
        assert!(first.detail["explanation"]["total"].as_f64().unwrap() > 0.0);
        // Proposed once: a second run adds nothing for these pairs.
        let again = dedupe::run(
            store,
            &Actor::Cli("test".into()),
            NOW,
            &Thresholds::default(),
        )
        .unwrap();
        assert_eq!(again.proposed, 0);

        let unit = base[10].residence.unit.as_str().to_owned();
        let officer = acting(Role::Commune, &unit);
        let before = quality::scores(store, &officer, None).unwrap();
        assert!(before.total.lowering[2] >= 1, "{before:?}");
        assert!(before.total.population >= 1);
        let clean_before = before.total.score(2).unwrap();

        let dup_unit = twins[0].residence.unit;
        let population = |store: &dyn Store| {
            store
                .population_by_commune(&dup_unit)
                .unwrap()
                .iter()
                .map(|(_, p)| p.total)
                .sum::<u64>()
        };
        let counted_before = population(store);
        let bad = dedupe::merge(store, &officer, first.id, Some("001234567890"), "trùng");
        assert!(
            matches!(
                bad,
                Err(Error::Bad {
                    code: "link.bad_survivor",
                    ..
                })
            ),
            "{bad:?}"
        );
        let merged = dedupe::merge(
            store,
            &officer,
            first.id,
            Some(base[10].id.as_str()),
            "trùng hồ sơ",
        )
        .unwrap();
        assert_eq!(merged.state, "confirmed");
        let (into, _) = dedupe::merges_of(store, &twins[0].id).unwrap();
        assert_eq!(into.map(|x| x.0).as_deref(), Some(base[10].id.as_str()));
        // Never deleted, but no longer counted in the population quotas and figures use.
        assert!(store.person(&twins[0].id).unwrap().is_some());
        assert_eq!(
            population(store),
            counted_before - 1,
            "the duplicate is not counted"
        );
        let after = quality::scores(store, &officer, None).unwrap();
        assert!(after.total.score(2).unwrap() > clean_before);
        let survivor = quality::findings(store, &officer, &base[10].id).unwrap();
        assert_eq!(survivor.merged_from.len(), 1);

        let undone = dedupe::undo(store, &officer, first.id, "nhầm").unwrap();
        assert_eq!(undone.state, "undone");
        assert_eq!(dedupe::merges_of(store, &twins[0].id).unwrap().0, None);
        assert_eq!(
            population(store),
            counted_before,
            "counted again after the undo"
        );
        let twice = dedupe::undo(store, &officer, first.id, "nhầm");
        assert!(matches!(twice, Err(Error::Conflict { .. })), "{twice:?}");
        let (_, events) = proposals::proposal(store, &officer, first.id).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["merged", "undone"]);

        // Scores per child unit; a unit outside the officer's is refused.
        let province = province_of(&base[10].residence.unit);
        let prov = acting(Role::Province, &province);
        let q = quality::scores(store, &prov, None).unwrap();
        assert!(!q.children.is_empty());
        let sum: u64 = q.children.iter().map(|c| c.1.population).sum();
        assert_eq!(sum, q.total.population);
        let far = base
            .iter()
            .find(|p| province_of(&p.residence.unit) != province)
            .unwrap();
        let refused = quality::scores(store, &officer, Some(far.residence.unit.as_str()));
        assert!(matches!(refused, Err(Error::ScopeDenied)), "{refused:?}");
        let work = quality::worklist(store, &prov, "complete", None, 1000).unwrap();
        assert_eq!(work.len() as u64, q.total.lowering[1]);
        let auditor = acting(Role::Auditor, "VN");
        assert!(dedupe::run_as(store, &auditor, &Thresholds::default()).is_err());
        assert!(matches!(
            dedupe::run_as(store, &prov, &Thresholds::default()),
            Err(Error::ScopeDenied)
        ));
    }
}
