use eid_domain::units::{Level, Tree, UnitCode, Units};
use eid_gen::{GenConfig, Generator};

use super::compare::{self, Field};
use super::record::{Birth, NamePart, Places, Record};
use super::*;

fn n(s: &str) -> NamePart {
    NamePart::new(s)
}

fn rec(id: &str, s: &str, m: &str, g: &str, birth: &str, sex: &str, unit: &str) -> Record {
    Record::from_text(
        &mut Places::default(),
        id,
        s,
        m,
        g,
        birth,
        sex,
        Tree::Gso2024,
        unit,
    )
}

#[test]
fn names_compare_with_and_without_diacritics_by_characters() {
    assert_eq!(compare::name(&n("Nguyễn"), &n("Nguyễn")), 1);
    // NFD input and upper case are the same name.
    let nfd = "NGUYE\u{302}\u{303}N";
    assert_eq!(compare::name(&n("Nguyễn"), &n(nfd)), 1);
    assert_eq!(compare::name(&n("Nguyễn"), &n("Nguyen")), 2);
    assert_eq!(compare::name(&n("Đặng"), &n("Dang")), 2);
    // A typo in a word with diacritics: one character, not one byte.
    assert_eq!(compare::name(&n("Nguyễn"), &n("Nguyẽn")), 2);
    assert_eq!(compare::name(&n("Phương"), &n("Phuong")), 2);
    assert_eq!(compare::name(&n("Phương"), &n("Phuogn")), 3);
    assert_eq!(compare::name(&n("Trần"), &n("Lê")), 6);
    assert_eq!(compare::name(&n(""), &n("Lê")), 0);
}

#[test]
fn swapped_names_and_a_missing_middle_name_have_their_own_levels() {
    let a = rec("", "Nguyễn", "Thị", "Lan", "1990-05-12", "F", "");
    let b = rec("", "Lan", "Thị", "Nguyen", "1990-05-12", "F", "");
    let g = compare::compare(&a, &b);
    assert_eq!(g[Field::Surname.index()], 5);
    assert_eq!(g[Field::Given.index()], 5);
    let c = rec("", "Nguyễn", "", "Lan", "1990-05-12", "F", "");
    assert_eq!(compare::compare(&a, &c)[Field::Middle.index()], 4);
    assert_eq!(compare::compare(&c, &c)[Field::Middle.index()], 0);
    // Swapped with a typo on either side (FEBRL's "erin delcay" for "delacy erin").
    let d = rec("", "Delacy", "", "Erin", "1912-06-28", "", "");
    let e = rec("", "Erin", "", "Delcay", "1912-06-28", "", "");
    let g = compare::compare(&d, &e);
    assert_eq!((g[Field::Surname.index()], g[Field::Given.index()]), (5, 5));
    // Not when the names agree in place, nor when the crossed names are not close.
    let f = rec("", "Delacy", "", "Erim", "1912-06-28", "", "");
    assert_eq!(compare::compare(&d, &f)[Field::Surname.index()], 1);
    let h = rec("", "Erin", "", "Lodge", "1912-06-28", "", "");
    assert_eq!(compare::compare(&d, &h)[Field::Surname.index()], 6);
}

#[test]
fn dates_understand_swaps_years_alone_and_slashes() {
    let d = |s: &str| Birth::parse(s);
    assert_eq!(d("12/05/1990"), d("1990-05-12"));
    assert_eq!(d("31/02/1990"), None);
    assert_eq!(compare::birth(d("1990-05-12"), d("1990-05-12")), 1);
    assert_eq!(compare::birth(d("1990-05-12"), d("1990-12-05")), 2);
    assert_eq!(compare::birth(d("1990-05-12"), d("1990")), 3);
    assert_eq!(compare::birth(d("1990-05-12"), d("1991")), 6);
    assert_eq!(compare::birth(d("1990-05-12"), d("1991-05-12")), 4);
    assert_eq!(compare::birth(d("1990-05-12"), d("1990-06-13")), 5);
    assert_eq!(compare::birth(d("1990-05-12"), d("1975-01-01")), 6);
    assert_eq!(compare::birth(None, d("1975-01-01")), 0);
}

#[test]
fn ids_one_digit_off_or_transposed_are_near() {
    assert_eq!(compare::id(Some("001090012345"), Some("001090012345")), 1);
    assert_eq!(compare::id(Some("001090012345"), Some("001090012346")), 2);
    assert_eq!(compare::id(Some("001090012345"), Some("001090012354")), 2);
    assert_eq!(compare::id(Some("001090012345"), Some("001090099999")), 3);
    assert_eq!(compare::id(None, Some("001090099999")), 0);
}

/// Two communes of one 2024 district, one of another district of the province, and one of an
/// old province merged into the same 2025 province.
fn places() -> (String, String, String, String) {
    let units = Units::get();
    let provinces = units.provinces(Tree::Gso2024);
    for p in &provinces {
        let Some(new) = units.province_2025_for_2024(&p.code) else {
            continue;
        };
        let Some(other) = provinces.iter().find(|q| {
            q.code != p.code
                && units.province_2025_for_2024(&q.code).map(|u| &u.code) == Some(&new.code)
        }) else {
            continue;
        };
        let districts = units.children(Tree::Gso2024, &p.code);
        let (Some(d1), Some(d2)) = (districts.first(), districts.get(1)) else {
            continue;
        };
        let c1 = units.communes_under(Tree::Gso2024, &d1.code);
        let c2 = units.communes_under(Tree::Gso2024, &d2.code);
        let c3 = units.communes_under(Tree::Gso2024, &other.code);
        if let ([a, b, ..], [c, ..], [d, ..]) = (c1.as_slice(), c2.as_slice(), c3.as_slice()) {
            return (
                a.code.as_str().to_owned(),
                b.code.as_str().to_owned(),
                c.code.as_str().to_owned(),
                d.code.as_str().to_owned(),
            );
        }
    }
    panic!("no merged provinces in the shipped units");
}

#[test]
fn units_compare_in_the_tree_and_across_the_2025_reform() {
    let (a, b, c, d) = places();
    let mut places = Places::default();
    let at = |p: &mut Places, t, s: &str| p.resolve(t, s);
    let pa = at(&mut places, Tree::Gso2024, &a);
    assert_eq!(compare::unit(&pa, &pa), 1);
    assert_eq!(compare::unit(&pa, &at(&mut places, Tree::Gso2024, &b)), 2);
    assert_eq!(compare::unit(&pa, &at(&mut places, Tree::Gso2024, &c)), 3);
    assert_eq!(compare::unit(&pa, &at(&mut places, Tree::Gso2024, &d)), 4);
    // The same commune named in the 2025 tree, where the data maps it.
    let units = Units::get();
    let old = UnitCode::parse(&a).unwrap();
    if let Some(new) = units.commune_2025_for_2024(&old) {
        let p25 = at(&mut places, Tree::Gso2025, new.code.as_str());
        assert_eq!(compare::unit(&pa, &p25), 1);
    }
    // The 2025 province of the commune: the same province across the trees.
    let province = units
        .ancestors(Tree::Gso2024, &old)
        .into_iter()
        .find(|u| u.level == Level::Province)
        .unwrap();
    let new_province = units.province_2025_for_2024(&province.code).unwrap();
    let p25 = at(&mut places, Tree::Gso2025, new_province.code.as_str());
    assert_eq!(compare::unit(&pa, &p25), 3);
    assert_eq!(compare::unit(&pa, &Default::default()), 0);
}

#[test]
fn a_frequent_surname_weighs_less_than_a_rare_one() {
    let mut register = Vec::new();
    for i in 0..38 {
        register.push(rec(
            &format!("0010900{i:05}"),
            "Nguyễn",
            "Văn",
            "An",
            "1990",
            "M",
            "",
        ));
    }
    for i in 0..2 {
        register.push(rec(
            &format!("0010910{i:05}"),
            "Lò",
            "Văn",
            "An",
            "1990",
            "M",
            "",
        ));
    }
    let linker = Linker::new(register);
    let nguyen = linker.tf.adjustment(Field::Surname, "nguyen");
    let lo = linker.tf.adjustment(Field::Surname, "lo");
    assert!(nguyen < 0.0, "{nguyen}");
    assert!(lo > nguyen + 3.0, "{lo} vs {nguyen}");
    assert!((linker.tf.surname_share("nguyen") - 0.95).abs() < 1e-9);
}

#[test]
fn em_on_unlabelled_pairs_learns_that_agreement_means_a_match() {
    let (register, rows, truth) = noisy_world(4000);
    let linker = Linker::new(register);
    let model = linker.train(&rows, 10_000);
    assert!(model.iterations > 1);
    for f in [Field::Surname, Field::Given, Field::Birth] {
        assert!(model.weight(f, 1) > 1.0, "{f:?} {}", model.weight(f, 1));
        let last = (f.levels().len() - 1) as u8;
        assert!(
            model.weight(f, last) < -1.0,
            "{f:?} {}",
            model.weight(f, last)
        );
    }
    assert!(
        model.weight(Field::Birth, 2) > 0.0,
        "day/month swap still counts for"
    );
    let decisions = linker.decide_all(&model, &Thresholds::default(), &rows, 2);
    assert_eq!(decisions.len(), rows.len());
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (d, t) in decisions.iter().zip(&truth) {
        match (d.link(), t) {
            (Some(l), Some(t)) if l == *t => tp += 1,
            (Some(_), Some(_)) => {
                fp += 1;
                fn_ += 1
            }
            (Some(_), None) => fp += 1,
            (None, Some(_)) => fn_ += 1,
            (None, None) => {}
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    assert!(precision > 0.98, "precision {precision}");
    assert!(recall > 0.95, "recall {recall}");
}

#[test]
fn decisions_on_the_id_conflicts_and_unmatched_rows_explain_themselves() {
    let (register, rows, _) = noisy_world(2000);
    let linker = Linker::new(register.clone());
    let model = linker.train(&rows, 10_000);
    let t = Thresholds::default();
    let a = &register[10];
    let b = register
        .iter()
        .find(|r| r.birth != a.birth && r.surname != a.surname)
        .unwrap();

    // The ID, with the rest consistent (names without diacritics): matched on the ID.
    let mut row = a.clone();
    row.surname = n(&row.surname.folded);
    let d = linker.decide(&model, &t, &row);
    assert_eq!(
        (d.outcome, d.method, d.person),
        (Outcome::Matched, Method::PersonalId, Some(10))
    );

    // A's ID on B's data: a conflict with A, and B proposed beside it.
    let mut row = b.clone();
    row.id = a.id.clone();
    let d = linker.decide(&model, &t, &row);
    assert_eq!(d.outcome, Outcome::Conflict);
    assert_eq!(d.person, Some(10));
    let bi = register.iter().position(|r| r.id == b.id).map(|i| i as u32);
    assert_eq!(d.alternative, bi);
    let e = linker.explain(&model, &row, 10).unwrap();
    let birth = e.fields.iter().find(|f| f.field == Field::Birth).unwrap();
    assert!(birth.weight < 0.0);
    assert!(e.probability < 0.5);

    // No ID, swapped names and a day/month swap: matched by score, explained.
    let mut row = a.clone();
    row.id = None;
    std::mem::swap(&mut row.surname, &mut row.given);
    let d = linker.decide(&model, &t, &row);
    assert_eq!(
        (d.outcome, d.method, d.person),
        (Outcome::Matched, Method::Probabilistic, Some(10))
    );
    let e = linker.explain_decision(&model, &row, &d).unwrap();
    assert_eq!(e.fields.len(), 7);
    let surname = e.fields.iter().find(|f| f.field == Field::Surname).unwrap();
    assert_eq!(surname.level_name, "swapped");
    let sum: f64 = e.prior
        + e.competition
        + e.fields
            .iter()
            .map(|f| f.weight + f.adjustment)
            .sum::<f64>();
    assert!((e.total - sum).abs() < 1e-9);
    assert!((e.total - d.score).abs() < 1e-9);

    // Someone the register does not hold.
    let row = rec("", "Khổng", "Minh", "Triết", "1931-02-03", "M", "");
    let d = linker.decide(&model, &t, &row);
    assert_eq!((d.outcome, d.person), (Outcome::Unmatched, None));
}

/// A generated register and a noisy copy of it (diacritics lost, typos, swaps, missing IDs),
/// with the truth as register indices.
fn noisy_world(count: u64) -> (Vec<Record>, Vec<Record>, Vec<Option<u32>>) {
    let cfg = GenConfig {
        count,
        seed: 7,
        province: None,
        today: time::macros::date!(2025 - 01 - 01),
    };
    let persons: Vec<_> = Generator::new(&cfg).unwrap().collect();
    let rows = eid_gen::sector::sector_copy(&persons, 11);
    let mut places = Places::default();
    let register: Vec<Record> = persons
        .iter()
        .map(|p| Record::from_person(&mut places, p))
        .collect();
    let index: std::collections::HashMap<&str, u32> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i as u32))
        .collect();
    let mut sector = Vec::new();
    let mut truth = Vec::new();
    for r in &rows {
        let tree = Tree::parse(&r.unit_tree).unwrap();
        sector.push(Record::from_text(
            &mut places,
            &r.personal_id,
            &r.surname,
            &r.middle_name,
            &r.given_name,
            &r.birth_date,
            &r.sex,
            tree,
            &r.unit,
        ));
        truth.push(index.get(r.truth.as_str()).copied());
    }
    (register, sector, truth)
}

#[test]
fn the_register_against_itself_finds_a_person_entered_twice_and_nothing_else() {
    let today = time::macros::date!(2026 - 11 - 23);
    let people: Vec<eid_domain::Person> = Generator::new(&GenConfig {
        count: 3000,
        seed: 5,
        province: None,
        today,
    })
    .unwrap()
    .collect();
    let mut places = Places::default();
    let mut register: Vec<Record> = people
        .iter()
        .map(|p| Record::from_person(&mut places, p))
        .collect();
    // One person again under another ID, the name without diacritics and the given name
    // mistyped; another again with day and month swapped.
    let mut twice = register[100].clone();
    twice.id = Some("001099999999".into());
    twice.surname = n(&twice.surname.folded.clone());
    let last = twice.given.kept.chars().last().unwrap_or('a');
    twice.given = n(&format!("{}{last}", twice.given.kept));
    register.push(twice);
    let mut swapped = register[200].clone();
    swapped.id = Some("001099999998".into());
    if let Some(b) = swapped.birth.as_mut() {
        if b.is_full() && b.day <= 12 {
            std::mem::swap(&mut b.day, &mut b.month);
        }
    }
    register.push(swapped);
    let linker = Linker::new(register);
    let model = linker.train_dedupe(100_000);
    let found = linker.duplicates(&model, &Thresholds::default(), 2);
    let pairs: Vec<(u32, u32)> = found.iter().map(|d| (d.a, d.b)).collect();
    assert!(pairs.contains(&(100, 3000)), "{pairs:?}");
    assert!(pairs.contains(&(200, 3001)), "{pairs:?}");
    // Each pair once, the lower index first; few others (the generator makes households of
    // namesakes, not duplicates).
    assert!(found.iter().all(|d| d.a < d.b));
    assert!(pairs.len() <= 3, "{pairs:?}");
    let e = linker.explain_pair(&model, 200, 3001).unwrap();
    let id = e.fields.iter().find(|f| f.field == Field::Id).unwrap();
    assert_eq!((id.level, id.weight), (0, 0.0));
}

#[test]
fn the_index_finds_exactly_the_records_sharing_a_key_and_skips_oversized_blocks() {
    let (register, sector, _) = noisy_world(600);
    let index = block::Index::build(&register);
    let register_keys: Vec<Vec<(u8, u64)>> = register.iter().map(block::keys).collect();
    let mut size: HashMap<u64, usize> = HashMap::new();
    for k in register_keys.iter().flatten() {
        *size.entry(k.1).or_default() += 1;
    }
    assert_eq!(index.len(), size.values().sum::<usize>());
    let mut found = Vec::new();
    let mut pairs = 0;
    for row in &sector {
        let keys = block::keys(row);
        // By brute force: every register record with a key in common.
        let expected: Vec<u32> = register_keys
            .iter()
            .enumerate()
            .filter(|(_, rk)| rk.iter().any(|k| keys.contains(k)))
            .map(|(i, _)| i as u32)
            .collect();
        index.candidates(row, &mut found);
        assert_eq!(found, expected);
        pairs += found.len();
        // Under one rule: the records sharing that rule's key.
        index.candidates_under(row, Some(0), &mut found);
        let expected: Vec<u32> = register_keys
            .iter()
            .enumerate()
            .filter(|(_, rk)| rk.iter().any(|k| k.0 == 0 && keys.contains(k)))
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(found, expected);
    }
    assert!(pairs >= sector.len() / 2, "{pairs} candidate pairs");

    // One more than the largest block kept: the same surname and birth date, different given
    // names, provinces and IDs. That rule says nothing about them, so it finds none.
    let crowd: Vec<Record> = (0..=block::MAX_BLOCK)
        .map(|i| rec("", "Nguyễn", "", &format!("g{i}"), "1990-05-12", "M", ""))
        .collect();
    let index = block::Index::build(&crowd);
    let row = rec("", "Nguyen", "", "x", "1990-05-12", "M", "");
    index.candidates(&row, &mut found);
    assert!(found.is_empty(), "{found:?}");
    let index = block::Index::build(crowd.get(1..).unwrap());
    index.candidates(&row, &mut found);
    assert_eq!(found.len(), block::MAX_BLOCK);
}

#[test]
fn a_sole_strong_candidate_is_matched_at_a_million_persons_and_two_alike_go_to_review() {
    let (register, rows, _) = noisy_world(2000);
    let linker = Linker::new(register.clone());
    let mut model = linker.train(&rows, 10_000);
    // The same rows against a register of 1,000,000 persons: λ, the chance that a given
    // register person is a row's, is 500 times smaller.
    model.lambda *= 2000.0 / 1_000_000.0;
    let t = Thresholds::default();
    let a = &register[10];
    // No ID, the surname without diacritics, the day wrong, no middle name, no sex, another
    // district of the province: the register person is the row's only candidate.
    let mut row = a.clone();
    row.id = None;
    row.surname = n(&row.surname.folded);
    row.birth = a.birth.map(|b| Birth {
        day: if b.day == 1 { 2 } else { 1 },
        ..b
    });
    row.middle = n("");
    row.sex = None;
    let elsewhere = register
        .iter()
        .find(|o| {
            o.place.province_2025 == a.place.province_2025
                && o.place.district_2024 != a.place.district_2024
        })
        .unwrap();
    row.place = elsewhere.place;

    let d = linker.decide(&model, &t, &row);
    assert_eq!(
        (d.outcome, d.method, d.person),
        (Outcome::Matched, Method::Probabilistic, Some(10))
    );
    let e = linker.explain_decision(&model, &row, &d).unwrap();
    assert_eq!(e.competition, 0.0);
    assert!((e.total - d.score).abs() < 1e-9);
    let fields: f64 = e.fields.iter().map(|f| f.weight + f.adjustment).sum();
    assert!((e.prior + fields - e.total).abs() < 1e-9);
    // Weighed as a pair among all pairs (prior λ/(1 − λ)), it stays below the match threshold:
    // this is the row the prior against "none of the candidates" matches.
    let pairwise = (model.lambda / (1.0 - model.lambda)).log2() + fields;
    assert!(probability(pairwise) < t.matched, "{pairwise}");
    assert!(e.probability >= t.matched, "{}", e.total);

    // A match threshold of 1 matches nothing by score, however strong: the row goes to review.
    let never = Thresholds {
        matched: 1.0,
        review: 0.5,
    };
    let mut exact = a.clone();
    exact.id = None;
    assert_eq!(
        linker.decide(&model, &never, &exact).outcome,
        Outcome::Review
    );

    // The same person entered twice under two IDs: two candidates alike, a person decides.
    let mut twice = register.clone();
    let mut copy = a.clone();
    copy.id = Some("001099999999".to_owned());
    twice.push(copy);
    let linker = Linker::new(twice);
    let mut row = a.clone();
    row.id = None;
    row.surname = n(&row.surname.folded);
    let d = linker.decide(&model, &t, &row);
    assert_eq!(d.outcome, Outcome::Review);
    assert!(d.person == Some(10) || d.person == Some(2000));
    let e = linker.explain_decision(&model, &row, &d).unwrap();
    let alone = e.total - e.competition;
    assert!(probability(alone) >= t.matched, "{alone}");
    // The other's weight is the same: the competition takes it all (1 + 2^w ≈ 2^w).
    assert!((e.competition + alone).abs() < 0.01, "{:?}", e.competition);
    assert!((e.total - d.score).abs() < 1e-9);
}
