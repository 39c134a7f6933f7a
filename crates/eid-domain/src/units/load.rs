//! Parsing the shipped data into the two trees.

use super::tree::*;
use super::*;

impl Units {
    /// Parses the TSV (see the data file's header). Lines that do not parse, duplicate an earlier
    /// line, or name a parent or mapping end that does not exist are counted in `skipped`.
    pub(super) fn from_tsv(text: &str) -> Units {
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
