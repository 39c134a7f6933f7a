//! Units and the two trees, indexed by code: lookups, children, ancestors, names and mappings.

use std::sync::OnceLock;

use super::*;

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
pub(super) const TYPE_PREFIXES: [&str; 9] = [
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
pub(super) fn prefix_words(folded: &str) -> Option<usize> {
    TYPE_PREFIXES.iter().find_map(|prefix| {
        let rest = folded.strip_prefix(prefix)?.strip_prefix(' ')?;
        (!rest.is_empty()).then(|| prefix.split(' ').count())
    })
}

/// The folded name without its type prefix, when it has one.
pub(super) fn folded_short(folded: &str) -> Option<&str> {
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

    pub(super) fn new(tree: Tree, code: UnitCode, parent: Option<UnitCode>, name: &str) -> Unit {
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
pub(super) struct TreeUnits {
    /// The nation, named "Việt Nam".
    pub(super) root: Unit,
    /// Every unit but the root, sorted by code: provinces, then districts, then communes.
    pub(super) units: Vec<Unit>,
    /// For each unit of `units`, the indices of its children, in code order.
    pub(super) children: Vec<Vec<usize>>,
    /// Indices of the provinces, in code order.
    pub(super) provinces: Vec<usize>,
    /// Folded full name and folded name without type prefix → indices, in code order.
    pub(super) by_name: HashMap<String, Vec<usize>>,
    /// Code → index + 1 (0: no such unit), one slot per possible code of each level: lookups by
    /// code are on every hot path (each imported row, each request).
    pub(super) slots: Vec<u32>,
}

/// Where each level's codes start in [`TreeUnits::slots`].
pub(super) fn slot(code: &UnitCode) -> Option<usize> {
    let n = usize::try_from(code.number()).ok()?;
    match code.level() {
        Level::Nation => None,
        Level::Province => Some(n),
        Level::District => Some(100 + n),
        Level::Commune => Some(1_100 + n),
    }
}

pub(super) const SLOTS: usize = 1_100 + 100_000;

impl TreeUnits {
    pub(super) fn index(&self, code: &UnitCode) -> Option<usize> {
        let i = *self.slots.get(slot(code)?)?;
        usize::try_from(i).ok()?.checked_sub(1)
    }

    pub(super) fn unit(&self, code: &UnitCode) -> Option<&Unit> {
        if *code == UnitCode::NATION {
            return Some(&self.root);
        }
        self.units.get(self.index(code)?)
    }

    pub(super) fn at(&self, indices: &[usize]) -> Vec<&Unit> {
        indices.iter().filter_map(|&i| self.units.get(i)).collect()
    }
}

/// Every administrative unit of both trees, with the 2024 → 2025 mappings.
#[derive(Debug)]
pub struct Units {
    pub(super) gso2024: TreeUnits,
    pub(super) gso2025: TreeUnits,
    /// 2024 province code → index in `gso2024.units`.
    pub(super) province_2024_index: [Option<usize>; 100],
    /// 2024 province code → 2025 province code.
    pub(super) province_map: [Option<u8>; 100],
    /// 2024 commune code → 2025 commune code, where known.
    pub(super) commune_map: HashMap<u32, u32>,
    /// Lines of the data that could not be used (0 for the shipped file; a test checks it).
    pub(super) skipped: usize,
}

pub(super) static UNITS: OnceLock<Units> = OnceLock::new();

impl Units {
    /// The shipped units, parsed on first use.
    pub fn get() -> &'static Units {
        UNITS.get_or_init(|| Units::from_tsv(DATA))
    }

    pub(super) fn tree(&self, tree: Tree) -> &TreeUnits {
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
}
