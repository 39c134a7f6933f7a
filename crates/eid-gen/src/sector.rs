//! A noisy sector copy of a generated register, with its ground truth, for measuring the
//! linkage (issue 13).
//!
//! Each register person appears in the sector file with probability 87 %, and 3 % of the rows
//! appear twice; 1 % of the rows are people the register does not hold. On the rows, as sector
//! agencies key them: names without diacritics (30 %), a typo in one name part (8 %), surname
//! and given name swapped (3 %), the middle name left out (10 %), day and month swapped (3 %
//! where possible), a year alone for the date (3 %), a day off (2 %), the personal ID missing
//! (20 %) or wrong (2 %), the sex left blank (3 %), the residence moved to another province
//! (5 %), the residence given in the 2025 tree (40 %), and deaths: the register's dead, and
//! 0.5 % of the living reported dead.

use eid_domain::name::fold;
use eid_domain::units::{Level, Tree, UnitCode, Units};
use eid_domain::{iso, BirthDate, LifeState, Person};

use crate::rng::Rng;

/// One sector row, as text in the sector CSV's columns, and its truth.
#[derive(Clone, PartialEq, Eq)]
pub struct SectorRow {
    pub row_id: String,
    pub personal_id: String,
    pub surname: String,
    pub middle_name: String,
    pub given_name: String,
    pub birth_date: String,
    pub sex: String,
    /// `2024` or `2025`: the tree `unit` belongs to.
    pub unit_tree: String,
    pub unit: String,
    pub card_number: String,
    pub valid_to: String,
    pub death_date: String,
    /// The register person the row really is; empty for people the register does not hold.
    pub truth: String,
}

impl std::fmt::Debug for SectorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SectorRow({})", self.row_id)
    }
}

/// The sector CSV's header, in order (`truth` goes to a file of its own).
pub const SECTOR_COLUMNS: [&str; 12] = [
    "row_id",
    "personal_id",
    "surname",
    "middle_name",
    "given_name",
    "birth_date",
    "sex",
    "unit_tree",
    "unit",
    "card_number",
    "valid_to",
    "death_date",
];

impl SectorRow {
    /// The fields in [`SECTOR_COLUMNS`] order.
    pub fn fields(&self) -> [&str; 12] {
        [
            &self.row_id,
            &self.personal_id,
            &self.surname,
            &self.middle_name,
            &self.given_name,
            &self.birth_date,
            &self.sex,
            &self.unit_tree,
            &self.unit,
            &self.card_number,
            &self.valid_to,
            &self.death_date,
        ]
    }
}

/// Makes the noisy copy of `persons`, deterministically from `seed`.
pub fn sector_copy(persons: &[Person], seed: u64) -> Vec<SectorRow> {
    let mut rng = Rng::new(seed ^ 0x5EC7_0A11_D47A_0001);
    let units = Units::get();
    let communes: Vec<&UnitCode> = units
        .communes_under(Tree::Gso2024, &UnitCode::NATION)
        .into_iter()
        .map(|u| &u.code)
        .collect();
    let mut out = Vec::with_capacity(persons.len());
    let mut next_row = 0u64;
    for (i, p) in persons.iter().enumerate() {
        if !rng.per_mille(870) {
            continue;
        }
        let copies = if rng.per_mille(30) { 2 } else { 1 };
        for _ in 0..copies {
            next_row += 1;
            let mut row = noisy(&mut rng, p, persons, &communes);
            row.row_id = format!("S{next_row:08}");
            out.push(row);
        }
        // About 1 % of rows: someone the register does not hold (a name and date of another
        // person, moved elsewhere, never with an ID).
        if rng.per_mille(11) {
            let other = persons.get((i * 7919 + 13) % persons.len().max(1));
            if let Some(o) = other {
                next_row += 1;
                let mut row = noisy(&mut rng, o, persons, &communes);
                row.row_id = format!("S{next_row:08}");
                row.personal_id.clear();
                row.truth.clear();
                row.given_name = GIVEN_OUTSIDERS
                    .get(rng.below(GIVEN_OUTSIDERS.len() as u64) as usize)
                    .copied()
                    .unwrap_or("Khuê")
                    .to_owned();
                row.birth_date = format!("{}", 1940 + rng.below(80));
                out.push(row);
            }
        }
    }
    out
}

/// Given names rare enough that an invented person rarely meets a real one.
const GIVEN_OUTSIDERS: [&str; 6] = ["Khuê", "Diệp", "Ngà", "Thục", "Quyên", "Yên"];

fn noisy(rng: &mut Rng, p: &Person, persons: &[Person], communes: &[&UnitCode]) -> SectorRow {
    let (mut surname, mut middle, mut given) = (
        p.name.surname().to_owned(),
        p.name.middle().to_owned(),
        p.name.given().to_owned(),
    );
    if rng.per_mille(300) {
        surname = title(&fold(&surname));
        middle = title(&fold(&middle));
        given = title(&fold(&given));
    }
    if rng.per_mille(80) {
        match rng.below(3) {
            0 => surname = typo(rng, &surname),
            1 => given = typo(rng, &given),
            _ => middle = typo(rng, &middle),
        }
    }
    if rng.per_mille(30) {
        std::mem::swap(&mut surname, &mut given);
    }
    if rng.per_mille(100) {
        middle.clear();
    }
    let birth_date = match p.birth {
        BirthDate::Year(y) => format!("{y:04}"),
        BirthDate::Full(d) => {
            let (y, m, day) = (d.year(), d.month() as u8, d.day());
            let r = rng.below(1000);
            if r < 30 && day <= 12 && day != m {
                format!("{y:04}-{day:02}-{m:02}")
            } else if r < 60 {
                format!("{y:04}")
            } else if r < 80 {
                let off = d
                    .next_day()
                    .filter(|n| n.month() == d.month())
                    .or(d.previous_day());
                off.map_or_else(|| iso(d), iso)
            } else {
                iso(d)
            }
        }
    };
    let personal_id = match rng.below(1000) {
        0..200 => String::new(),
        200..210 => {
            let other = persons.get(rng.below(persons.len() as u64) as usize);
            other.map_or_else(String::new, |o| o.id.as_str().to_owned())
        }
        210..220 => {
            let mut digits: Vec<u8> = p.id.as_str().bytes().collect();
            let at = 6 + rng.below(6) as usize;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + ((*d - b'0' + 1 + rng.below(8) as u8) % 10);
            }
            String::from_utf8(digits).unwrap_or_default()
        }
        _ => p.id.as_str().to_owned(),
    };
    let mut commune = p.residence.unit;
    if rng.per_mille(50) {
        for _ in 0..8 {
            let Some(c) = communes.get(rng.below(communes.len() as u64) as usize) else {
                break;
            };
            if province(c) != province(&commune) {
                commune = **c;
                break;
            }
        }
    }
    let (unit_tree, unit) = if rng.per_mille(400) {
        in_2025(&commune)
    } else {
        ("2024".to_owned(), commune.as_str().to_owned())
    };
    let dead = p.life.state == LifeState::Dead;
    let death_date = if dead {
        p.life.since.map(iso).unwrap_or_else(|| "2024".to_owned())
    } else if rng.per_mille(5) {
        format!("2025-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
    } else {
        String::new()
    };
    SectorRow {
        row_id: String::new(),
        personal_id,
        surname,
        middle_name: middle,
        given_name: given,
        birth_date,
        sex: if rng.per_mille(30) {
            String::new()
        } else {
            p.sex.as_str().to_owned()
        },
        unit_tree,
        unit,
        card_number: format!("GD4{:02}{:010}", rng.below(100), rng.below(10_000_000_000)),
        valid_to: format!("{}-12-31", 2025 + rng.below(3)),
        death_date,
        truth: p.id.as_str().to_owned(),
    }
}

/// The province of a 2024 commune.
fn province(c: &UnitCode) -> Option<u32> {
    Units::get()
        .ancestors(Tree::Gso2024, c)
        .into_iter()
        .find(|u| u.level == Level::Province)
        .map(|u| u.code.number())
}

/// The commune's place in the 2025 tree: its 2025 commune when known, else its 2025 province.
fn in_2025(c: &UnitCode) -> (String, String) {
    let units = Units::get();
    if let Some(new) = units.commune_2025_for_2024(c) {
        return ("2025".to_owned(), new.code.as_str().to_owned());
    }
    let old = province(c).and_then(|p| u8::try_from(p).ok());
    let new = old
        .and_then(|p| UnitCode::province(p).ok())
        .and_then(|p| units.province_2025_for_2024(&p));
    match new {
        Some(u) => ("2025".to_owned(), u.code.as_str().to_owned()),
        None => ("2024".to_owned(), c.as_str().to_owned()),
    }
}

/// Each word with a capital first letter.
fn title(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One keying mistake by characters: a letter replaced, dropped, doubled or two swapped.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return s.to_owned();
    }
    let at = 1 + rng.below(chars.len() as u64 - 1) as usize;
    match rng.below(4) {
        0 => {
            if let Some(c) = chars.get_mut(at) {
                *c = char::from(b'a' + rng.below(26) as u8);
            }
        }
        1 => {
            chars.remove(at);
        }
        2 => {
            if let Some(&c) = chars.get(at) {
                chars.insert(at, c);
            }
        }
        _ => chars.swap(at - 1, at),
    }
    chars.into_iter().collect()
}
