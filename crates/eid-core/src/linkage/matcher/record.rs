//! The form both sides are compared in: names kept (NFC, lower case) and folded (no
//! diacritics, `đ` → `d`), a birth date that may be a year alone, and a place resolved once in
//! both GSO trees.

use std::collections::HashMap;

use eid_domain::name::{fold, nfc};
use eid_domain::units::{Level, Tree, UnitCode, Units};
use eid_domain::Sex;

/// One name part in its two forms; both empty when missing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NamePart {
    /// NFC, lower case: diacritics kept.
    pub kept: String,
    /// Folded: lower case, no diacritics, `đ` → `d`.
    pub folded: String,
}

impl NamePart {
    pub fn new(s: &str) -> NamePart {
        let kept = nfc(s.trim()).to_lowercase();
        let folded = fold(&kept);
        NamePart { kept, folded }
    }
    pub fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }
}

/// A birth date: year always; month and day 0 when unknown (a year-only date).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Birth {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Birth {
    /// `YYYY-MM-DD`, `YYYY` or `DD/MM/YYYY`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Birth> {
        let s = s.trim();
        if let Some(b) = eid_domain::BirthDate::parse(s) {
            return Some(match b {
                eid_domain::BirthDate::Full(d) => Birth {
                    year: d.year(),
                    month: d.month() as u8,
                    day: d.day(),
                },
                eid_domain::BirthDate::Year(y) => Birth {
                    year: y,
                    month: 0,
                    day: 0,
                },
            });
        }
        let mut parts = s.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (day, month, year) = (
            d.parse::<u8>().ok()?,
            m.parse::<u8>().ok()?,
            y.parse().ok()?,
        );
        let month_t = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month_t, day).ok()?;
        Some(Birth { year, month, day })
    }
    pub fn is_full(self) -> bool {
        self.month != 0
    }
}

/// A place resolved in both trees; every part `None` when unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// Which tree the source used.
    pub tree: Option<Tree>,
    pub commune_2024: Option<u32>,
    pub district_2024: Option<u32>,
    pub province_2024: Option<u32>,
    pub commune_2025: Option<u32>,
    pub province_2025: Option<u32>,
}

impl Place {
    pub fn is_known(&self) -> bool {
        self.tree.is_some()
    }
}

/// Resolves unit codes to [`Place`]s, each code once.
#[derive(Default)]
pub struct Places {
    /// Per tree (2024, 2025): code → place. Looked up by `&str`, so a code already seen costs
    /// no allocation.
    cache: [HashMap<String, Place>; 2],
}

impl Places {
    /// The place of a commune (or district, or province) code of `tree`; unknown codes give an
    /// unknown place.
    pub fn resolve(&mut self, tree: Tree, code: &str) -> Place {
        let code = code.trim();
        if code.is_empty() {
            return Place::default();
        }
        let cache = match tree {
            Tree::Gso2024 => &mut self.cache[0],
            Tree::Gso2025 => &mut self.cache[1],
        };
        if let Some(p) = cache.get(code) {
            return *p;
        }
        let place = resolve(tree, code).unwrap_or_default();
        cache.insert(code.to_owned(), place);
        place
    }
}

fn resolve(tree: Tree, code: &str) -> Option<Place> {
    let units = Units::get();
    let unit = units.lookup(tree, code).ok()?;
    let mut place = Place {
        tree: Some(tree),
        ..Place::default()
    };
    let mut chain = vec![unit.code];
    chain.extend(
        units
            .ancestors(tree, &unit.code)
            .into_iter()
            .map(|u| u.code),
    );
    for c in &chain {
        let n = Some(c.number());
        match (tree, c.level()) {
            (Tree::Gso2024, Level::Commune) => place.commune_2024 = n,
            (Tree::Gso2024, Level::District) => place.district_2024 = n,
            (Tree::Gso2024, Level::Province) => place.province_2024 = n,
            (Tree::Gso2025, Level::Commune) => place.commune_2025 = n,
            (Tree::Gso2025, Level::Province) => place.province_2025 = n,
            _ => {}
        }
    }
    if tree == Tree::Gso2024 {
        if let Some(p) = place.province_2024.and_then(|p| u8::try_from(p).ok()) {
            let old = UnitCode::province(p).ok()?;
            place.province_2025 = units.province_2025_for_2024(&old).map(|u| u.code.number());
        }
        if let Some(c) = place.commune_2024 {
            let old = UnitCode::commune(c).ok()?;
            place.commune_2025 = units.commune_2025_for_2024(&old).map(|u| u.code.number());
        }
    }
    Some(place)
}

/// One record, register or sector, in comparable form.
#[derive(Clone, Default)]
pub struct Record {
    /// The 12-digit personal ID, when given.
    pub id: Option<String>,
    pub surname: NamePart,
    pub middle: NamePart,
    pub given: NamePart,
    pub birth: Option<Birth>,
    pub sex: Option<Sex>,
    pub place: Place,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data never reaches a log: only which fields are present.
        write!(
            f,
            "Record(id: {}, birth: {}, place: {})",
            self.id.is_some(),
            self.birth.is_some(),
            self.place.is_known()
        )
    }
}

impl Record {
    /// Builds a record from text fields as a file gives them.
    #[allow(clippy::too_many_arguments)]
    pub fn from_text(
        places: &mut Places,
        id: &str,
        surname: &str,
        middle: &str,
        given: &str,
        birth: &str,
        sex: &str,
        unit_tree: Tree,
        unit: &str,
    ) -> Record {
        let id = id.trim();
        Record {
            id: (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned()),
            surname: NamePart::new(surname),
            middle: NamePart::new(middle),
            given: NamePart::new(given),
            birth: Birth::parse(birth),
            sex: Sex::parse(sex.trim()),
            place: places.resolve(unit_tree, unit),
        }
    }
}

impl Record {
    /// A register person in comparable form (units of the 2024 tree).
    pub fn from_person(places: &mut Places, p: &eid_domain::Person) -> Record {
        Record {
            id: Some(p.id.as_str().to_owned()),
            surname: NamePart::new(p.name.surname()),
            middle: NamePart::new(p.name.middle()),
            given: NamePart::new(p.name.given()),
            birth: Birth::parse(&p.birth.to_string()),
            sex: Some(p.sex),
            place: places.resolve(Tree::Gso2024, p.residence.unit.as_str()),
        }
    }
}
