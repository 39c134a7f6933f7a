//! Comparison levels: how two records agree, field by field.
//!
//! Every field compares to a small level number; 0 means "one side is missing" and carries no
//! weight. The levels are ordered from the strongest agreement to disagreement, and each has a
//! stable name for the explanation.

use strsim::jaro_winkler;

use super::record::{Birth, NamePart, Place, Record};

/// The fields compared, in the order of a [`Gamma`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Id,
    Surname,
    Middle,
    Given,
    Birth,
    Sex,
    Unit,
}

pub const FIELDS: [Field; 7] = [
    Field::Id,
    Field::Surname,
    Field::Middle,
    Field::Given,
    Field::Birth,
    Field::Sex,
    Field::Unit,
];

/// The most levels a field has, missing (0) included.
pub const MAX_LEVELS: usize = 7;

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "personal_id",
            Field::Surname => "surname",
            Field::Middle => "middle_name",
            Field::Given => "given_name",
            Field::Birth => "birth_date",
            Field::Sex => "sex",
            Field::Unit => "unit",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    /// The names of the levels, index = level (0 is always `missing`).
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["missing", "exact", "one_digit", "different"],
            Field::Surname | Field::Given => &[
                "missing",
                "exact",
                "folded",
                "jaro_winkler_92",
                "jaro_winkler_80",
                "swapped",
                "different",
            ],
            Field::Middle => &[
                "missing",
                "exact",
                "folded",
                "jaro_winkler_88",
                "one_missing",
                "different",
            ],
            Field::Birth => &[
                "missing",
                "exact",
                "day_month_swapped",
                "year_only",
                "two_of_three",
                "same_year",
                "different",
            ],
            Field::Sex => &["missing", "same", "different"],
            Field::Unit => &[
                "missing",
                "same_commune",
                "same_district",
                "same_province",
                "same_province_2025",
                "different",
            ],
        }
    }
    /// The level name, `?` out of range.
    pub fn level_name(self, level: u8) -> &'static str {
        self.levels()
            .get(usize::from(level))
            .copied()
            .unwrap_or("?")
    }
}

/// The comparison vector of a pair: one level per field, in [`FIELDS`] order.
pub type Gamma = [u8; 7];

/// Packs a vector into one number (3 bits a field), for counting patterns.
pub fn pack(g: &Gamma) -> u32 {
    g.iter()
        .enumerate()
        .fold(0u32, |acc, (i, l)| acc | (u32::from(*l & 7) << (3 * i)))
}

pub fn unpack(p: u32) -> Gamma {
    let mut g = [0u8; 7];
    for (i, l) in g.iter_mut().enumerate() {
        *l = ((p >> (3 * i)) & 7) as u8;
    }
    g
}

/// Compares a register record `a` with a sector record `b`.
pub fn compare(a: &Record, b: &Record) -> Gamma {
    let swapped = !a.surname.is_empty()
        && !a.given.is_empty()
        && a.surname.folded != a.given.folded
        && a.surname.folded == b.given.folded
        && a.given.folded == b.surname.folded;
    let (surname, given) = if swapped {
        (5, 5)
    } else {
        let straight = (name(&a.surname, &b.surname), name(&a.given, &b.given));
        if straight.0 > 3 && straight.1 > 3 && swapped_with_typos(a, b) {
            (5, 5)
        } else {
            straight
        }
    };
    [
        id(a.id.as_deref(), b.id.as_deref()),
        surname,
        middle(&a.middle, &b.middle),
        given,
        birth(a.birth, b.birth),
        match (a.sex, b.sex) {
            (Some(x), Some(y)) if x == y => 1,
            (Some(_), Some(_)) => 2,
            _ => 0,
        },
        unit(&a.place, &b.place),
    ]
}

/// Surname and given name swapped, one of them with a typo: neither agrees in place, one
/// crossed part is equal and the other close (Jaro-Winkler ≥ 0.9 on the folded characters)
/// (FEBRL's swapped names with a typo; a register's own two parts must differ).
fn swapped_with_typos(a: &Record, b: &Record) -> bool {
    if a.surname.is_empty() || a.given.is_empty() || b.surname.is_empty() || b.given.is_empty() {
        return false;
    }
    if jaro_winkler(&a.surname.folded, &a.given.folded) >= 0.9 {
        return false;
    }
    let (s, g) = (
        jaro_winkler(&a.surname.folded, &b.given.folded),
        jaro_winkler(&a.given.folded, &b.surname.folded),
    );
    // One crossed part agrees exactly, the other is close: two different people whose names
    // are merely alike (common in Vietnamese names) stay apart.
    (a.surname.folded == b.given.folded && g >= 0.9)
        || (a.given.folded == b.surname.folded && s >= 0.9)
}

/// Personal IDs: equal, one digit off (a typo or two adjacent digits swapped), or different.
pub fn id(a: Option<&str>, b: Option<&str>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else { return 0 };
    if a == b {
        return 1;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return 3;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a.get(i) != b.get(i)).collect();
    let near = match diff.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a.get(*i) == b.get(*j) && a.get(*j) == b.get(*i),
        _ => false,
    };
    if near {
        2
    } else {
        3
    }
}

/// Surname or given name: exact with diacritics, equal once folded, close by Jaro-Winkler over
/// the folded characters, or different.
pub fn name(a: &NamePart, b: &NamePart) -> u8 {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    if a.kept == b.kept {
        return 1;
    }
    if a.folded == b.folded {
        return 2;
    }
    let s = jaro_winkler(&a.folded, &b.folded);
    if s >= 0.92 {
        3
    } else if s >= 0.80 {
        4
    } else {
        6
    }
}

/// Middle names: like names, and "one side has none" is a level of its own (middle names are
/// often left out of sector records).
pub fn middle(a: &NamePart, b: &NamePart) -> u8 {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return 0,
        (true, false) | (false, true) => return 4,
        _ => {}
    }
    if a.kept == b.kept {
        return 1;
    }
    if a.folded == b.folded {
        return 2;
    }
    if jaro_winkler(&a.folded, &b.folded) >= 0.88 {
        3
    } else {
        5
    }
}

/// Birth dates: exact, day and month swapped, one side a year alone with the same year, two of
/// year/month/day equal, the same year, or different.
pub fn birth(a: Option<Birth>, b: Option<Birth>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else { return 0 };
    if !a.is_full() || !b.is_full() {
        return if a.year == b.year { 3 } else { 6 };
    }
    if a == b {
        return 1;
    }
    if a.year == b.year && a.month == b.day && a.day == b.month {
        return 2;
    }
    let same = u8::from(a.year == b.year) + u8::from(a.month == b.month) + u8::from(a.day == b.day);
    if same == 2 {
        4
    } else if a.year == b.year {
        5
    } else {
        6
    }
}

/// Places: the same commune (in either tree, across the trees where the 2025 commune is known),
/// the same 2024 district, the same province (across the trees: the same 2025 province), two
/// old provinces merged in 2025 (neighbours), or different.
pub fn unit(a: &Place, b: &Place) -> u8 {
    if !a.is_known() || !b.is_known() {
        return 0;
    }
    let same = |x: Option<u32>, y: Option<u32>| matches!((x, y), (Some(x), Some(y)) if x == y);
    if same(a.commune_2024, b.commune_2024) || same(a.commune_2025, b.commune_2025) {
        return 1;
    }
    if same(a.district_2024, b.district_2024) {
        return 2;
    }
    if same(a.province_2024, b.province_2024) {
        return 3;
    }
    if same(a.province_2025, b.province_2025) {
        // Both in the old tree: two old provinces merged into one. Otherwise the same
        // (current) province.
        let both_old = a.province_2024.is_some() && b.province_2024.is_some();
        return if both_old { 4 } else { 3 };
    }
    5
}
