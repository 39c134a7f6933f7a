//! Vietnam's administrative units, in both trees the register has to know.
//!
//! Until 30 June 2025 the country had three levels: 63 provinces (tỉnh, thành phố), 696
//! districts (quận, huyện, thị xã, thành phố thuộc tỉnh) and about ten thousand communes (xã,
//! phường, thị trấn): the [`Tree::Gso2024`] tree. From 1 July 2025 (Resolution 202/2025/QH15)
//! it has two: 34 provinces and 3,321 communes (xã, phường, đặc khu): [`Tree::Gso2025`].
//!
//! Units are named by their GSO code, zero-padded to the width of their level: 2 digits for a
//! province, 3 for a district, 5 for a commune ([`UnitCode`]). A 2025 commune reuses the code of
//! one of the old communes merged into it, so one code can name two different units (commune
//! `00004` is Phường Trúc Bạch in 2024 and Phường Ba Đình in 2025): every lookup takes a
//! [`Tree`].
//!
//! The data is `data/admin-units.tsv`, derived by `tools/derive-admin-units.py` from the GSO lists
//! as packaged by the PyPI package vietnam-provinces, compiled into the binary and parsed once
//! ([`Units::get`]). The old-to-new mappings are the province merger table, and for communes only
//! what the data shows: an old commune whose code the 2025 tree reuses maps to that commune; the
//! others have no known mapping.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use time::macros::date;
use time::Date;

use crate::name::fold;

/// The shipped data. See its header for the source and the counts.
const DATA: &str = include_str!("../data/admin-units.tsv");

/// Which tree of administrative units a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Three levels (province, district, commune), in force until 2025-06-30.
    Gso2024,
    /// Two levels (province, commune), in force from 2025-07-01.
    Gso2025,
}

/// The last day of the three-level tree.
const LAST_DAY_2024: Date = date!(2025 - 06 - 30);
/// The first day of the two-level tree.
const FIRST_DAY_2025: Date = date!(2025 - 07 - 01);

impl Tree {
    /// Both trees, oldest first.
    pub const ALL: [Tree; 2] = [Tree::Gso2024, Tree::Gso2025];

    /// The days the tree is in force: (first day, last day), both inclusive, `None` when open.
    pub fn in_force(self) -> (Option<Date>, Option<Date>) {
        match self {
            Tree::Gso2024 => (None, Some(LAST_DAY_2024)),
            Tree::Gso2025 => (Some(FIRST_DAY_2025), None),
        }
    }

    /// The tree in force on `date`.
    pub fn at(date: Date) -> Tree {
        if date <= LAST_DAY_2024 {
            Tree::Gso2024
        } else {
            Tree::Gso2025
        }
    }

    /// `"2024"` or `"2025"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tree::Gso2024 => "2024",
            Tree::Gso2025 => "2025",
        }
    }

    /// The inverse of [`Tree::as_str`]: exactly `"2024"` or `"2025"`.
    pub fn parse(s: &str) -> Option<Tree> {
        match s {
            "2024" => Some(Tree::Gso2024),
            "2025" => Some(Tree::Gso2025),
            _ => None,
        }
    }
}

impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level of a unit, from the root down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The country itself, the root of both trees ([`UnitCode::NATION`]).
    Nation,
    /// Tỉnh or thành phố trực thuộc trung ương; 2-digit codes.
    Province,
    /// Quận, huyện, thị xã or thành phố thuộc tỉnh; 3-digit codes; only in [`Tree::Gso2024`].
    District,
    /// Xã, phường, thị trấn or đặc khu; 5-digit codes.
    Commune,
}

impl Level {
    /// `"nation"`, `"province"`, `"district"` or `"commune"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::District => "district",
            Level::Commune => "commune",
        }
    }

    /// How many digits a code of this level has (the 2 letters of `VN` for the nation).
    fn width(self) -> usize {
        match self {
            Level::Nation | Level::Province => 2,
            Level::District => 3,
            Level::Commune => 5,
        }
    }

    /// The largest code of this level (0 for the nation, whose code has no number).
    fn max(self) -> u32 {
        match self {
            Level::Nation => 0,
            Level::Province => 99,
            Level::District => 999,
            Level::Commune => 99_999,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A well-formed unit code: `VN`, or a GSO code of 2, 3 or 5 digits whose width is its level.
///
/// A code is only well formed, not known to exist: [`Units::lookup`] checks that, in a tree.
/// Codes order by level, then by number, which is the order of the GSO lists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode {
    level: Level,
    number: u32,
    /// The zero-padded ASCII text, `level.width()` bytes long, the rest zero.
    text: [u8; 5],
}

impl UnitCode {
    /// The country, root of both trees. Displays as `VN`.
    pub const NATION: UnitCode = UnitCode {
        level: Level::Nation,
        number: 0,
        text: *b"VN\0\0\0",
    };

    /// Parses `VN` or a code of exactly 2 (province), 3 (district) or 5 (commune) ASCII digits.
    /// Codes of all zeros name no unit and are refused. Existence is not checked.
    pub fn parse(s: &str) -> Result<UnitCode, UnitError> {
        if s == "VN" {
            return Ok(UnitCode::NATION);
        }
        let level = match s.len() {
            2 => Level::Province,
            3 => Level::District,
            5 => Level::Commune,
            _ => return Err(format_error(s)),
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(s));
        }
        let number = s.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
        if number == 0 {
            return Err(UnitError::Format(format!(
                "unit code {s} is all zeros, which names no unit"
            )));
        }
        UnitCode::new(level, number).ok_or_else(|| format_error(s))
    }

    /// The code of province `n` (1 to 99).
    pub fn province(n: u8) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::Province, u32::from(n))
    }

    /// The code of district `n` (1 to 999).
    pub fn district(n: u16) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::District, u32::from(n))
    }

    /// The code of commune `n` (1 to 99999).
    pub fn commune(n: u32) -> Result<UnitCode, UnitError> {
        UnitCode::numbered(Level::Commune, n)
    }

    fn numbered(level: Level, n: u32) -> Result<UnitCode, UnitError> {
        UnitCode::new(level, n).ok_or_else(|| {
            UnitError::Format(format!(
                "{level} code must be 1 to {}: got {n}",
                level.max()
            ))
        })
    }

    /// The code of a numbered unit, if `number` fits the level's width and is not zero.
    fn new(level: Level, number: u32) -> Option<UnitCode> {
        if level == Level::Nation || number == 0 || number > level.max() {
            return None;
        }
        let mut text = [0u8; 5];
        let mut rest = number;
        for slot in text.iter_mut().take(level.width()).rev() {
            // `rest % 10` is below 10, so the cast cannot truncate.
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Some(UnitCode {
            level,
            number,
            text,
        })
    }

    /// The level the code's width names.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The code as displayed: zero-padded (`"38"`, `"389"`, `"15001"`) or `"VN"`.
    pub fn as_str(&self) -> &str {
        self.text
            .get(..self.level.width())
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or("")
    }

    /// The integer code (0 for [`UnitCode::NATION`]).
    pub fn number(&self) -> u32 {
        self.number
    }
}

/// The error for a string that is not a unit code, showing at most 16 characters of it.
fn format_error(s: &str) -> UnitError {
    let shown: String = s.chars().take(16).collect();
    let more = if s.chars().nth(16).is_some() {
        "…"
    } else {
        ""
    };
    UnitError::Format(format!(
        "unit code must be VN or 2, 3 or 5 digits: got {shown:?}{more}"
    ))
}

impl fmt::Debug for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitCode({})", self.as_str())
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for UnitCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for UnitCode {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<UnitCode, UnitError> {
        UnitCode::parse(s)
    }
}

/// Why a unit code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitError {
    /// Not a well-formed code; the string is the whole reason, in English.
    Format(String),
    /// Well formed, but no unit of the tree has this code (shown zero-padded).
    Unknown { tree: Tree, code: String },
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitError::Format(reason) => f.write_str(reason),
            UnitError::Unknown { tree, code } => {
                write!(f, "unknown unit {code} in the {tree} tree")
            }
        }
    }
}

impl std::error::Error for UnitError {}

/// One administrative unit of one tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub tree: Tree,
    pub code: UnitCode,
    pub level: Level,
    /// The official name with its type, in NFC, as in the GSO list: "Tỉnh Thanh Hóa".
    pub name: String,
    /// [`crate::name::fold`] of the name: "tinh thanh hoa".
    pub folded: String,
    /// The unit one level up; `None` for provinces (whose parent is the nation) and the nation.
    pub parent: Option<UnitCode>,
    /// Urban by its type: a thành phố province; a quận, thị xã or thành phố district; a phường or
    /// thị trấn commune.
    pub urban: bool,
}

/// Type words that can open a unit's name, folded, each followed by a space in the name.
const TYPE_PREFIXES: [&str; 9] = [
    "tinh",
    "thanh pho",
    "quan",
    "huyen",
    "thi xa",
    "xa",
    "phuong",
    "thi tran",
    "dac khu",
];

/// The number of words of the type prefix that opens a folded name, if any.
fn prefix_words(folded: &str) -> Option<usize> {
    TYPE_PREFIXES.iter().find_map(|prefix| {
        let rest = folded.strip_prefix(prefix)?.strip_prefix(' ')?;
        (!rest.is_empty()).then(|| prefix.split(' ').count())
    })
}

/// The folded name without its type prefix, when it has one.
fn folded_short(folded: &str) -> Option<&str> {
    let words = prefix_words(folded)?;
    folded.splitn(words + 1, ' ').nth(words)
}

impl Unit {
    /// The name without its type word(s): "Thanh Hóa" for "Tỉnh Thanh Hóa", "1" for "Quận 1".
    pub fn short_name(&self) -> &str {
        match prefix_words(&self.folded) {
            // Folding keeps word boundaries (names are stored with single spaces).
            Some(words) => self
                .name
                .splitn(words + 1, ' ')
                .nth(words)
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    fn new(tree: Tree, code: UnitCode, parent: Option<UnitCode>, name: &str) -> Unit {
        let folded = fold(name);
        let urban = match code.level() {
            Level::Nation => false,
            Level::Province => folded.starts_with("thanh pho "),
            Level::District => ["quan ", "thi xa ", "thanh pho "]
                .iter()
                .any(|p| folded.starts_with(p)),
            Level::Commune => ["phuong ", "thi tran "]
                .iter()
                .any(|p| folded.starts_with(p)),
        };
        Unit {
            tree,
            code,
            level: code.level(),
            name: name.to_owned(),
            folded,
            parent,
            urban,
        }
    }
}

/// The units of one tree.
#[derive(Debug)]
struct TreeUnits {
    /// The nation, named "Việt Nam".
    root: Unit,
    /// Every unit but the root, sorted by code: provinces, then districts, then communes.
    units: Vec<Unit>,
    /// For each unit of `units`, the indices of its children, in code order.
    children: Vec<Vec<usize>>,
    /// Indices of the provinces, in code order.
    provinces: Vec<usize>,
    /// Folded full name and folded name without type prefix → indices, in code order.
    by_name: HashMap<String, Vec<usize>>,
    /// Code → index + 1 (0: no such unit), one slot per possible code of each level: lookups by
    /// code are on every hot path (each imported row, each request).
    slots: Vec<u32>,
}

/// Where each level's codes start in [`TreeUnits::slots`].
fn slot(code: &UnitCode) -> Option<usize> {
    let n = usize::try_from(code.number()).ok()?;
    match code.level() {
        Level::Nation => None,
        Level::Province => Some(n),
        Level::District => Some(100 + n),
        Level::Commune => Some(1_100 + n),
    }
}

const SLOTS: usize = 1_100 + 100_000;

impl TreeUnits {
    fn index(&self, code: &UnitCode) -> Option<usize> {
        let i = *self.slots.get(slot(code)?)?;
        usize::try_from(i).ok()?.checked_sub(1)
    }

    fn unit(&self, code: &UnitCode) -> Option<&Unit> {
        if *code == UnitCode::NATION {
            return Some(&self.root);
        }
        self.units.get(self.index(code)?)
    }

    fn at(&self, indices: &[usize]) -> Vec<&Unit> {
        indices.iter().filter_map(|&i| self.units.get(i)).collect()
    }
}

/// Every administrative unit of both trees, with the 2024 → 2025 mappings.
#[derive(Debug)]
pub struct Units {
    gso2024: TreeUnits,
    gso2025: TreeUnits,
    /// 2024 province code → index in `gso2024.units`.
    province_2024_index: [Option<usize>; 100],
    /// 2024 province code → 2025 province code.
    province_map: [Option<u8>; 100],
    /// 2024 commune code → 2025 commune code, where known.
    commune_map: HashMap<u32, u32>,
    /// Lines of the data that could not be used (0 for the shipped file; a test checks it).
    skipped: usize,
}

static UNITS: OnceLock<Units> = OnceLock::new();

impl Units {
    /// The shipped units, parsed on first use.
    pub fn get() -> &'static Units {
        UNITS.get_or_init(|| Units::from_tsv(DATA))
    }

    fn tree(&self, tree: Tree) -> &TreeUnits {
        match tree {
            Tree::Gso2024 => &self.gso2024,
            Tree::Gso2025 => &self.gso2025,
        }
    }

    /// The unit with this code in the tree; the nation for [`UnitCode::NATION`].
    pub fn unit(&self, tree: Tree, code: &UnitCode) -> Option<&Unit> {
        self.tree(tree).unit(code)
    }

    /// Parses `code` and finds it in the tree.
    pub fn lookup(&self, tree: Tree, code: &str) -> Result<&Unit, UnitError> {
        let code = UnitCode::parse(code)?;
        self.unit(tree, &code).ok_or_else(|| UnitError::Unknown {
            tree,
            code: code.as_str().to_owned(),
        })
    }

    /// The province of the three-level tree with this code, in constant time (for personal IDs,
    /// whose first three digits are such a code).
    pub fn province_2024(&self, code: u8) -> Option<&Unit> {
        let index = (*self.province_2024_index.get(usize::from(code))?)?;
        self.gso2024.units.get(index)
    }

    /// The units one level below `code`, in code order (the provinces for the nation).
    pub fn children(&self, tree: Tree, code: &UnitCode) -> Vec<&Unit> {
        let t = self.tree(tree);
        if *code == UnitCode::NATION {
            return t.at(&t.provinces);
        }
        match t.index(code).and_then(|i| t.children.get(i)) {
            Some(children) => t.at(children),
            None => Vec::new(),
        }
    }

    /// The provinces of the tree, in code order.
    pub fn provinces(&self, tree: Tree) -> Vec<&Unit> {
        self.children(tree, &UnitCode::NATION)
    }

    /// Every commune in the subtree of `code`, in code order; a commune gives itself; an unknown
    /// code gives nothing.
    pub fn communes_under(&self, tree: Tree, code: &UnitCode) -> Vec<&Unit> {
        let t = self.tree(tree);
        let mut stack: Vec<usize> = if *code == UnitCode::NATION {
            t.provinces.clone()
        } else {
            t.index(code).into_iter().collect()
        };
        let mut found = Vec::new();
        while let Some(i) = stack.pop() {
            match t.units.get(i) {
                Some(unit) if unit.level == Level::Commune => found.push(i),
                Some(_) => stack.extend(t.children.get(i).into_iter().flatten().copied()),
                None => {}
            }
        }
        found.sort_unstable();
        t.at(&found)
    }

    /// The units above `code`, nearest first, up to its province (the nation is left out).
    pub fn ancestors(&self, tree: Tree, code: &UnitCode) -> Vec<&Unit> {
        let t = self.tree(tree);
        let mut out = Vec::new();
        let mut next = t.unit(code).and_then(|u| u.parent);
        // Parents are always a level up, so this ends; the bound is a second guard.
        while let Some(parent) = next.filter(|_| out.len() < 3) {
            let Some(unit) = t.unit(&parent) else { break };
            out.push(unit);
            next = unit.parent;
        }
        out
    }

    /// Whether `unit` lies in the subtree of `ancestor`: a unit contains itself, the nation
    /// contains every unit of the tree, and a code unknown in the tree is contained by nothing.
    pub fn contains(&self, tree: Tree, ancestor: &UnitCode, unit: &UnitCode) -> bool {
        if self.unit(tree, unit).is_none() {
            return false;
        }
        if *ancestor == UnitCode::NATION || ancestor == unit {
            return true;
        }
        if ancestor.level() >= unit.level() {
            return false;
        }
        self.ancestors(tree, unit)
            .iter()
            .any(|u| u.code == *ancestor)
    }

    /// The units whose folded name, with or without its type word(s) (Tỉnh, Thành phố, Quận,
    /// Huyện, Thị xã, Xã, Phường, Thị trấn, Đặc khu), equals the folded `query`. Exact matches
    /// only; provinces first, then districts, then communes, each in code order.
    pub fn find_by_name(&self, tree: Tree, query: &str) -> Vec<&Unit> {
        let t = self.tree(tree);
        match t.by_name.get(&fold(query)) {
            Some(indices) => t.at(indices),
            None => Vec::new(),
        }
    }

    /// The 2025 province an old province was merged into (or kept as).
    pub fn province_2025_for_2024(&self, old_province: &UnitCode) -> Option<&Unit> {
        if old_province.level() != Level::Province {
            return None;
        }
        let new = (*self
            .province_map
            .get(usize::try_from(old_province.number()).ok()?)?)?;
        self.gso2025.unit(&UnitCode::province(new).ok()?)
    }

    /// The 2025 commune an old commune became part of, where the data shows it: the 2025 commune
    /// that reuses its code. `None` for the other old communes (their mapping is unknown).
    pub fn commune_2025_for_2024(&self, old_commune: &UnitCode) -> Option<&Unit> {
        if old_commune.level() != Level::Commune {
            return None;
        }
        let new = self.commune_map.get(&old_commune.number())?;
        self.gso2025.unit(&UnitCode::commune(*new).ok()?)
    }

    /// How many lines of the data could not be used (malformed, duplicated, or naming a unit
    /// that does not exist). A test keeps it at 0 for the shipped file.
    pub fn skipped_lines(&self) -> usize {
        self.skipped
    }

    /// The number of units of the tree, the nation not counted.
    pub fn len(&self, tree: Tree) -> usize {
        self.tree(tree).units.len()
    }

    /// Whether the tree has no unit but the nation.
    pub fn is_empty(&self, tree: Tree) -> bool {
        self.len(tree) == 0
    }

    /// Parses the TSV (see the data file's header). Lines that do not parse, duplicate an earlier
    /// line, or name a parent or mapping end that does not exist are counted in `skipped`.
    fn from_tsv(text: &str) -> Units {
        let mut rows: [Vec<Row>; 2] = [Vec::new(), Vec::new()];
        let mut mappings: Vec<(Level, u32, u32)> = Vec::new();
        let mut skipped = 0;
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let parsed = match fields.as_slice() {
                [tree, level, code, parent, name] => {
                    parse_unit_row(tree, level, code, parent, name).map(|(tree, row)| {
                        if let Some(rows) = rows.get_mut(tree) {
                            rows.push(row);
                        }
                    })
                }
                ["M", level, old, new] => {
                    parse_mapping_row(level, old, new).map(|m| mappings.push(m))
                }
                _ => None,
            };
            if parsed.is_none() {
                skipped += 1;
            }
        }
        let [rows_2024, rows_2025] = rows;
        let (gso2024, bad) = build_tree(Tree::Gso2024, rows_2024);
        skipped += bad;
        let (gso2025, bad) = build_tree(Tree::Gso2025, rows_2025);
        skipped += bad;

        let mut province_2024_index = [None; 100];
        for &i in &gso2024.provinces {
            let slot = gso2024
                .units
                .get(i)
                .and_then(|u| province_2024_index.get_mut(usize::try_from(u.code.number()).ok()?));
            if let Some(slot) = slot {
                *slot = Some(i);
            }
        }

        let mut province_map = [None; 100];
        let mut commune_map = HashMap::new();
        for (level, old, new) in mappings {
            // Both ends must exist, and a unit maps once; anything else is skipped.
            let known = UnitCode::new(level, old)
                .zip(UnitCode::new(level, new))
                .is_some_and(|(o, n)| gso2024.unit(&o).is_some() && gso2025.unit(&n).is_some());
            let ok = known
                && match level {
                    Level::Province => {
                        let slot = usize::try_from(old)
                            .ok()
                            .and_then(|i| province_map.get_mut(i));
                        match (slot, u8::try_from(new)) {
                            (Some(slot @ None), Ok(new)) => {
                                *slot = Some(new);
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => match commune_map.entry(old) {
                        Entry::Vacant(slot) => {
                            slot.insert(new);
                            true
                        }
                        Entry::Occupied(_) => false,
                    },
                };
            if !ok {
                skipped += 1;
            }
        }

        Units {
            gso2024,
            gso2025,
            province_2024_index,
            province_map,
            commune_map,
            skipped,
        }
    }
}

/// A unit line of the data: code, parent number, name.
type Row<'a> = (UnitCode, Option<u32>, &'a str);

/// `2024|2025 P|D|C code parent name` → (tree index, row).
fn parse_unit_row<'a>(
    tree: &str,
    level: &str,
    code: &str,
    parent: &str,
    name: &'a str,
) -> Option<(usize, Row<'a>)> {
    let tree = Tree::parse(tree)?;
    let level = match (tree, level) {
        (_, "P") => Level::Province,
        (Tree::Gso2024, "D") => Level::District,
        (_, "C") => Level::Commune,
        _ => return None,
    };
    let code = UnitCode::new(level, parse_number(code)?)?;
    let parent = match (level, parent) {
        (Level::Province, "") => None,
        (Level::Province, _) | (_, "") => return None,
        (_, parent) => Some(parse_number(parent)?),
    };
    if name.trim().is_empty() || name.trim() != name {
        return None;
    }
    let index = match tree {
        Tree::Gso2024 => 0,
        Tree::Gso2025 => 1,
    };
    Some((index, (code, parent, name)))
}

/// `M P|C old new` → (level, old, new).
fn parse_mapping_row(level: &str, old: &str, new: &str) -> Option<(Level, u32, u32)> {
    let level = match level {
        "P" => Level::Province,
        "C" => Level::Commune,
        _ => return None,
    };
    Some((level, parse_number(old)?, parse_number(new)?))
}

/// A plain decimal number of 1 to 5 ASCII digits.
fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Sorts, deduplicates and links one tree's rows; returns the tree and how many rows were dropped.
fn build_tree(tree: Tree, mut rows: Vec<Row>) -> (TreeUnits, usize) {
    rows.sort_by_key(|(code, _, _)| *code);
    let before = rows.len();
    rows.dedup_by_key(|(code, _, _)| *code);
    let mut dropped = before - rows.len();

    let parent_level = |level: Level| match (tree, level) {
        (Tree::Gso2024, Level::Commune) => Level::District,
        _ => Level::Province,
    };
    // Rows are sorted by level, so a parent is accepted before its children.
    let mut units: Vec<Unit> = Vec::with_capacity(rows.len());
    let mut children: Vec<Vec<usize>> = Vec::with_capacity(rows.len());
    let mut provinces = Vec::new();
    for (code, parent, name) in rows {
        let parent = match parent {
            None => None,
            Some(n) => {
                let parent = UnitCode::new(parent_level(code.level()), n);
                let found = parent.and_then(|p| units.binary_search_by(|u| u.code.cmp(&p)).ok());
                match parent.zip(found) {
                    Some((parent, index)) => Some((parent, index)),
                    None => {
                        dropped += 1;
                        continue;
                    }
                }
            }
        };
        let index = units.len();
        match parent {
            Some((_, parent_index)) => {
                if let Some(siblings) = children.get_mut(parent_index) {
                    siblings.push(index);
                }
            }
            None => provinces.push(index),
        }
        units.push(Unit::new(tree, code, parent.map(|(p, _)| p), name));
        children.push(Vec::new());
    }

    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        by_name.entry(unit.folded.clone()).or_default().push(i);
        if let Some(short) = folded_short(&unit.folded) {
            by_name.entry(short.to_owned()).or_default().push(i);
        }
    }

    let mut slots = vec![0u32; SLOTS];
    for (i, unit) in units.iter().enumerate() {
        if let (Some(s), Ok(v)) = (slot(&unit.code), u32::try_from(i + 1)) {
            if let Some(cell) = slots.get_mut(s) {
                *cell = v;
            }
        }
    }
    let root = Unit::new(tree, UnitCode::NATION, None, "Việt Nam");
    (
        TreeUnits {
            root,
            units,
            children,
            provinces,
            by_name,
            slots,
        },
        dropped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn units() -> &'static Units {
        Units::get()
    }

    fn code(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn show(unit: &Unit) -> String {
        let urban = if unit.urban { ", urban" } else { "" };
        format!("{} {} ({}{urban})", unit.code, unit.name, unit.level)
    }

    fn show_all(units: &[&Unit]) -> String {
        units.iter().map(|u| show(u)).collect::<Vec<_>>().join("\n")
    }

    fn check_lookup(tree: Tree, input: &str, expect: Expect) {
        let actual = match units().lookup(tree, input) {
            Ok(unit) => {
                let parent = unit
                    .parent
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into());
                format!("{} parent={parent}", show(unit))
            }
            Err(e) => format!("err {e}"),
        };
        expect.assert_eq(&actual);
    }

    fn check_find(tree: Tree, query: &str, expect: Expect) {
        expect.assert_eq(&show_all(&units().find_by_name(tree, query)));
    }

    fn counts(tree: Tree) -> String {
        let t = units().tree(tree);
        let n = |level| t.units.iter().filter(|u| u.level == level).count();
        format!(
            "{tree}: {} provinces, {} districts, {} communes",
            n(Level::Province),
            n(Level::District),
            n(Level::Commune)
        )
    }

    #[test]
    fn the_shipped_file_has_no_malformed_line_and_the_expected_counts() {
        assert_eq!(units().skipped, 0);
        expect!["2024: 63 provinces, 696 districts, 10051 communes"]
            .assert_eq(&counts(Tree::Gso2024));
        expect!["2025: 34 provinces, 0 districts, 3321 communes"].assert_eq(&counts(Tree::Gso2025));
        assert_eq!(units().len(Tree::Gso2024), 63 + 696 + 10051);
        assert_eq!(units().len(Tree::Gso2025), 34 + 3321);
        assert!(!units().is_empty(Tree::Gso2025));
        assert_eq!(units().commune_map.len(), 3310);
        assert_eq!(units().province_map.iter().flatten().count(), 63);
    }

    #[test]
    fn the_header_names_the_source() {
        assert!(DATA.lines().take(3).any(|l| {
            l.contains(
            "vietnam-provinces (author Nguyễn Hồng Quân, repository sunshine-tech/VietnamProvinces)"
        )
        }));
    }

    #[test]
    fn lookups_by_code_depend_on_the_tree() {
        check_lookup(
            Tree::Gso2024,
            "38",
            expect!["38 Tỉnh Thanh Hóa (province) parent=-"],
        );
        check_lookup(
            Tree::Gso2024,
            "380",
            expect!["380 Thành phố Thanh Hóa (district, urban) parent=38"],
        );
        check_lookup(
            Tree::Gso2024,
            "387",
            expect!["387 Huyện Quan Sơn (district) parent=38"],
        );
        check_lookup(
            Tree::Gso2024,
            "15001",
            expect!["15001 Xã Trung Hạ (commune) parent=387"],
        );
        check_lookup(
            Tree::Gso2025,
            "15001",
            expect!["15001 Xã Trung Hạ (commune) parent=38"],
        );
        check_lookup(
            Tree::Gso2024,
            "00004",
            expect!["00004 Phường Trúc Bạch (commune, urban) parent=001"],
        );
        check_lookup(
            Tree::Gso2025,
            "00004",
            expect!["00004 Phường Ba Đình (commune, urban) parent=01"],
        );
        check_lookup(
            Tree::Gso2024,
            "01",
            expect!["01 Thành phố Hà Nội (province, urban) parent=-"],
        );
        check_lookup(
            Tree::Gso2025,
            "04",
            expect!["04 Tỉnh Cao Bằng (province) parent=-"],
        );
        check_lookup(
            Tree::Gso2025,
            "26732",
            expect!["26732 Đặc khu Côn Đảo (commune) parent=79"],
        );
        check_lookup(
            Tree::Gso2024,
            "VN",
            expect!["VN Việt Nam (nation) parent=-"],
        );
        check_lookup(
            Tree::Gso2025,
            "62",
            expect!["err unknown unit 62 in the 2025 tree"],
        );
        check_lookup(
            Tree::Gso2025,
            "380",
            expect!["err unknown unit 380 in the 2025 tree"],
        );
        check_lookup(
            Tree::Gso2024,
            "99999",
            expect!["err unknown unit 99999 in the 2024 tree"],
        );
        check_lookup(
            Tree::Gso2024,
            "03",
            expect!["err unknown unit 03 in the 2024 tree"],
        );
    }

    #[test]
    fn province_2024_is_indexed_by_number() {
        assert_eq!(
            units().province_2024(38).map(|u| u.name.as_str()),
            Some("Tỉnh Thanh Hóa")
        );
        assert_eq!(
            units().province_2024(62).map(|u| u.name.as_str()),
            Some("Tỉnh Kon Tum")
        );
        assert!(units().province_2024(0).is_none());
        assert!(units().province_2024(3).is_none());
        assert!(units().province_2024(99).is_none());
        assert!(units().province_2024(255).is_none());
        let indexed = (0..=u8::MAX)
            .filter(|&n| units().province_2024(n).is_some())
            .count();
        assert_eq!(indexed, 63);
    }

    #[test]
    fn codes_parse_by_width_and_refuse_everything_else() {
        fn check(input: &str, expect: Expect) {
            let actual = match UnitCode::parse(input) {
                Ok(c) => format!("{} {} {}", c.level().as_str(), c.as_str(), c.number()),
                Err(e) => format!("err {e}"),
            };
            expect.assert_eq(&actual);
        }
        check("VN", expect!["nation VN 0"]);
        check("38", expect!["province 38 38"]);
        check("389", expect!["district 389 389"]);
        check("15001", expect!["commune 15001 15001"]);
        check("00004", expect!["commune 00004 4"]);
        check("99", expect!["province 99 99"]);
        check(
            "12a",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "12a""#]],
        );
        check(
            "1234",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "1234""#]],
        );
        check(
            "",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got """#]],
        );
        check(
            "vn",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "vn""#]],
        );
        check(
            " 38",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got " 38""#]],
        );
        check(
            "+38",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "+38""#]],
        );
        check(
            "３８",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "３８""#]],
        );
        check(
            "000",
            expect!["err unit code 000 is all zeros, which names no unit"],
        );
        check(
            "12345678901234567890",
            expect![[r#"err unit code must be VN or 2, 3 or 5 digits: got "1234567890123456"…"#]],
        );
    }

    #[test]
    fn constructors_pad_and_refuse_out_of_range_numbers() {
        let shown = |r: Result<UnitCode, UnitError>| match r {
            Ok(c) => format!("{c:?}"),
            Err(e) => format!("err {e}"),
        };
        expect!["UnitCode(01)"].assert_eq(&shown(UnitCode::province(1)));
        expect!["UnitCode(007)"].assert_eq(&shown(UnitCode::district(7)));
        expect!["UnitCode(15001)"].assert_eq(&shown(UnitCode::commune(15001)));
        expect!["err province code must be 1 to 99: got 100"]
            .assert_eq(&shown(UnitCode::province(100)));
        expect!["err district code must be 1 to 999: got 0"]
            .assert_eq(&shown(UnitCode::district(0)));
        expect!["err commune code must be 1 to 99999: got 100000"]
            .assert_eq(&shown(UnitCode::commune(100_000)));
        assert_eq!(UnitCode::commune(4).unwrap(), code("00004"));
        assert_eq!(UnitCode::NATION.to_string(), "VN");
        assert_eq!("389".parse::<UnitCode>().unwrap().as_ref(), "389");
        assert!(code("VN") < code("99") && code("99") < code("001") && code("999") < code("00001"));
    }

    #[test]
    fn names_are_found_with_or_without_diacritics_case_and_type() {
        let find = |q| show_all(&units().find_by_name(Tree::Gso2024, q));
        assert_eq!(find("Thanh Hóa"), find("thanh hoa"));
        assert_eq!(find("  THANH   HOÁ "), find("thanh hoa"));
        check_find(
            Tree::Gso2024,
            "thanh hoa",
            expect![[r#"
                38 Tỉnh Thanh Hóa (province)
                380 Thành phố Thanh Hóa (district, urban)
                800 Huyện Thạnh Hóa (district)
                06163 Xã Thành Hòa (commune)
                16213 Xã Thanh Hòa (commune)
                18958 Xã Thanh Hóa (commune)
                25315 Xã Thanh Hòa (commune)
                27865 Thị trấn Thạnh Hóa (commune, urban)
                28000 Xã Thạnh Hòa (commune)
                28333 Xã Thạnh Hoà (commune)
                28480 Xã Thanh Hòa (commune)
                30916 Xã Thạnh Hòa (commune)
                31217 Phường Thạnh Hoà (commune, urban)
                31405 Xã Thạnh Hòa (commune)"#]],
        );
        check_find(
            Tree::Gso2024,
            "tỉnh thanh hóa",
            expect!["38 Tỉnh Thanh Hóa (province)"],
        );
        check_find(
            Tree::Gso2024,
            "Thành phố Thanh Hóa",
            expect!["380 Thành phố Thanh Hóa (district, urban)"],
        );
        check_find(
            Tree::Gso2025,
            "thanh hoa",
            expect![[r#"
                38 Tỉnh Thanh Hóa (province)
                27865 Xã Thạnh Hóa (commune)
                28436 Phường Thanh Hòa (commune, urban)
                31408 Xã Thạnh Hòa (commune)"#]],
        );
        check_find(
            Tree::Gso2024,
            "ha noi",
            expect!["01 Thành phố Hà Nội (province, urban)"],
        );
        check_find(
            Tree::Gso2025,
            "con dao",
            expect!["26732 Đặc khu Côn Đảo (commune)"],
        );
        check_find(
            Tree::Gso2024,
            "con dao",
            expect!["755 Huyện Côn Đảo (district)"],
        );
        check_find(
            Tree::Gso2024,
            "quận 1",
            expect!["760 Quận 1 (district, urban)"],
        );
        assert_eq!(units().find_by_name(Tree::Gso2024, "1").len(), 34);
        check_find(Tree::Gso2024, "thanh", expect!["19480 Xã Thanh (commune)"]);
        check_find(Tree::Gso2024, "", expect![""]);
    }

    #[test]
    fn old_provinces_map_to_the_merged_ones() {
        let map = |old: &str| {
            let new = units().province_2025_for_2024(&code(old)).map(show);
            format!("{old} -> {}", new.unwrap_or_else(|| "none".into()))
        };
        expect!["62 -> 51 Tỉnh Quảng Ngãi (province)"].assert_eq(&map("62"));
        expect!["49 -> 48 Thành phố Đà Nẵng (province, urban)"].assert_eq(&map("49"));
        expect!["38 -> 38 Tỉnh Thanh Hóa (province)"].assert_eq(&map("38"));
        expect!["77 -> 79 Thành phố Hồ Chí Minh (province, urban)"].assert_eq(&map("77"));
        expect!["03 -> none"].assert_eq(&map("03"));
        expect!["380 -> none"].assert_eq(&map("380"));
        let old = units().provinces(Tree::Gso2024);
        assert_eq!(old.len(), 63);
        let mut targets: Vec<UnitCode> = old
            .iter()
            .map(|p| units().province_2025_for_2024(&p.code).map(|n| n.code))
            .collect::<Option<_>>()
            .unwrap();
        targets.sort();
        targets.dedup();
        let new: Vec<UnitCode> = units()
            .provinces(Tree::Gso2025)
            .iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(targets, new);
    }

    #[test]
    fn old_communes_map_where_the_new_tree_reuses_their_code() {
        let map = |old: &str| {
            let from = units()
                .lookup(Tree::Gso2024, old)
                .map(show)
                .unwrap_or_default();
            let to = units().commune_2025_for_2024(&code(old)).map(show);
            format!("{from} -> {}", to.unwrap_or_else(|| "unknown".into()))
        };
        expect!["14758 Phường Đông Thọ (commune, urban) -> 14758 Phường Hàm Rồng (commune, urban)"]
            .assert_eq(&map("14758"));
        expect!["14755 Phường Hàm Rồng (commune, urban) -> unknown"].assert_eq(&map("14755"));
        expect!["15001 Xã Trung Hạ (commune) -> 15001 Xã Trung Hạ (commune)"]
            .assert_eq(&map("15001"));
        assert!(units().commune_2025_for_2024(&code("38")).is_none());
        // Every mapped commune lands in the province its old province merged into.
        for (&old, &new) in &units().commune_map {
            let old = units()
                .unit(Tree::Gso2024, &UnitCode::commune(old).unwrap())
                .unwrap();
            let old_province = units()
                .ancestors(Tree::Gso2024, &old.code)
                .last()
                .unwrap()
                .code;
            let new = units()
                .unit(Tree::Gso2025, &UnitCode::commune(new).unwrap())
                .unwrap();
            assert_eq!(
                units()
                    .province_2025_for_2024(&old_province)
                    .map(|p| p.code),
                new.parent,
                "{}",
                old.name
            );
        }
    }

    #[test]
    fn ancestors_go_up_to_the_province_and_contains_follows_them() {
        let u = units();
        expect![[r#"
            387 Huyện Quan Sơn (district)
            38 Tỉnh Thanh Hóa (province)"#]]
        .assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &code("15001"))));
        expect!["38 Tỉnh Thanh Hóa (province)"]
            .assert_eq(&show_all(&u.ancestors(Tree::Gso2025, &code("15001"))));
        expect![""].assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &code("38"))));
        expect![""].assert_eq(&show_all(&u.ancestors(Tree::Gso2024, &UnitCode::NATION)));

        let contains = |tree, a: &str, b: &str| u.contains(tree, &code(a), &code(b));
        assert!(contains(Tree::Gso2024, "38", "15001"));
        assert!(contains(Tree::Gso2024, "387", "15001"));
        assert!(contains(Tree::Gso2024, "15001", "15001"));
        assert!(contains(Tree::Gso2024, "VN", "15001"));
        assert!(contains(Tree::Gso2024, "VN", "VN"));
        assert!(contains(Tree::Gso2025, "38", "15001"));
        assert!(!contains(Tree::Gso2024, "380", "15001"));
        assert!(!contains(Tree::Gso2024, "01", "15001"));
        assert!(!contains(Tree::Gso2024, "15001", "387"));
        assert!(!contains(Tree::Gso2025, "387", "15001"));
        assert!(!contains(Tree::Gso2024, "VN", "99999"));
        assert!(!contains(Tree::Gso2025, "62", "62"));
    }

    #[test]
    fn children_and_communes_are_listed_in_code_order() {
        let u = units();
        expect![[r#"
            00001 Phường Phúc Xá (commune, urban)
            00004 Phường Trúc Bạch (commune, urban)
            00006 Phường Vĩnh Phúc (commune, urban)"#]]
        .assert_eq(&show_all(&u.children(Tree::Gso2024, &code("001"))[..3]));
        let districts = u.children(Tree::Gso2024, &code("38"));
        assert_eq!(districts.len(), 26);
        assert!(districts.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(u.children(Tree::Gso2025, &code("38")).len(), 166);
        assert!(u.children(Tree::Gso2024, &code("15001")).is_empty());
        assert!(u
            .children(Tree::Gso2024, &code("62"))
            .iter()
            .all(|d| d.level == Level::District));
        assert_eq!(u.provinces(Tree::Gso2025).len(), 34);
        assert_eq!(u.children(Tree::Gso2025, &UnitCode::NATION).len(), 34);

        let under_38 = u.communes_under(Tree::Gso2024, &code("38"));
        assert_eq!(
            under_38.len(),
            districts
                .iter()
                .map(|d| u.children(Tree::Gso2024, &d.code).len())
                .sum()
        );
        assert!(under_38.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(
            u.communes_under(Tree::Gso2024, &UnitCode::NATION).len(),
            10051
        );
        assert_eq!(
            u.communes_under(Tree::Gso2025, &UnitCode::NATION).len(),
            3321
        );
        expect!["15001 Xã Trung Hạ (commune)"]
            .assert_eq(&show_all(&u.communes_under(Tree::Gso2024, &code("15001"))));
        // Island districts have no commune in the source.
        assert!(u.communes_under(Tree::Gso2024, &code("755")).is_empty());
        assert!(u.communes_under(Tree::Gso2024, &code("99999")).is_empty());
    }

    #[test]
    fn the_tree_changes_on_the_first_of_july_2025() {
        assert_eq!(Tree::at(date!(2025 - 06 - 30)), Tree::Gso2024);
        assert_eq!(Tree::at(date!(2025 - 07 - 01)), Tree::Gso2025);
        assert_eq!(Tree::at(date!(1990 - 01 - 01)), Tree::Gso2024);
        for tree in Tree::ALL {
            let (from, until) = tree.in_force();
            for day in [from, until].into_iter().flatten() {
                assert_eq!(Tree::at(day), tree);
            }
            assert_eq!(Tree::parse(tree.as_str()), Some(tree));
        }
        assert_eq!(Tree::parse("2023"), None);
    }

    #[test]
    fn urban_follows_the_unit_type() {
        let urban = |tree, c: &str| units().lookup(tree, c).map(|u| u.urban).unwrap();
        assert!(urban(Tree::Gso2024, "79"));
        assert!(!urban(Tree::Gso2024, "38"));
        assert!(urban(Tree::Gso2024, "381")); // Thị xã Bỉm Sơn
        assert!(!urban(Tree::Gso2024, "387"));
        // "Thành Phố Bắc Kạn" has a capital P in the source.
        assert!(units()
            .find_by_name(Tree::Gso2024, "bac kan")
            .iter()
            .all(|u| u.level != Level::District || u.urban));
        expect!["Thanh Hóa"].assert_eq(units().lookup(Tree::Gso2024, "38").unwrap().short_name());
        expect!["Trung Hạ"].assert_eq(units().lookup(Tree::Gso2024, "15001").unwrap().short_name());
        expect!["Việt Nam"].assert_eq(
            units()
                .unit(Tree::Gso2024, &UnitCode::NATION)
                .unwrap()
                .short_name(),
        );
    }

    #[test]
    fn malformed_lines_are_skipped_not_fatal() {
        let text = "# header\n\
                    2024\tP\t38\t\tTỉnh Thanh Hóa\n\
                    2024\tD\t380\t38\tThành phố Thanh Hóa\n\
                    2024\tC\t14755\t380\tPhường Hàm Rồng\n\
                    2025\tP\t38\t\tTỉnh Thanh Hóa\n\
                    2025\tC\t14758\t38\tPhường Hàm Rồng\n\
                    2025\tD\t380\t38\tno districts in 2025\n\
                    2024\tC\t14756\t999\torphan\n\
                    2024\tP\t38\t\tduplicate\n\
                    2024\tP\t100\t\ttoo wide\n\
                    2024\tP\t3\t1\tprovince with a parent\n\
                    2024\tC\t14757\t380\t\n\
                    garbage\n\
                    M\tP\t38\t38\n\
                    M\tP\t38\t38\n\
                    M\tP\t62\t51\n\
                    M\tC\t14755\t14758\n\
                    M\tX\t1\t1\n";
        let units = Units::from_tsv(text);
        assert_eq!(units.skipped, 10);
        assert_eq!(units.len(Tree::Gso2024), 3);
        assert_eq!(units.len(Tree::Gso2025), 2);
        assert_eq!(
            units.province_2024(38).map(|u| u.name.as_str()),
            Some("Tỉnh Thanh Hóa")
        );
        assert!(units.province_2025_for_2024(&code("38")).is_some());
        assert!(units.commune_2025_for_2024(&code("14755")).is_some());
        assert!(Units::from_tsv("").is_empty(Tree::Gso2024));
    }
}
