//! Administrative units: finding them by name, and a unit's populations as far as the caller may
//! see.

use std::collections::HashMap;

use eid_domain::{Level, Tree, Unit, UnitCode, Units};

use crate::store::Population;
use crate::{Caller, Error, Store};

/// Units whose folded name (with or without its type word: Tỉnh, Huyện, Xã …) is `name`,
/// provinces first, at most 100. Unit names are public reference data: no scope applies.
pub fn units_by_name(tree: Tree, name: &str) -> Result<Vec<&'static Unit>, Error> {
    let name = name.trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 1 {
        return Err(Error::bad(
            "unit.name_required",
            "give a unit name to look up",
        ));
    }
    Ok(Units::get()
        .find_by_name(tree, name)
        .into_iter()
        .take(100)
        .collect())
}

/// A unit with its ancestors, its children and populations, as far as the caller may see.
#[derive(Debug, Clone)]
pub struct UnitView {
    pub tree: Tree,
    pub unit: &'static Unit,
    /// Nearest first, up to the province.
    pub ancestors: Vec<&'static Unit>,
    pub population: Population,
    pub children: Vec<(&'static Unit, Population)>,
    /// 2025 tree only: people under a province whose 2024 commune has no known 2025 commune.
    pub unmapped: Option<Population>,
    /// 2024 tree only: the 2025 unit this one maps into (its province for a district).
    pub maps_to: Option<&'static Unit>,
    /// Whether the populations cover the whole unit (false when it is above the caller's unit).
    pub complete: bool,
}

fn add(p: &mut Population, q: Population) {
    p.total += q.total;
    p.alive += q.alive;
}

/// The effective parent of a unit: its parent, or the nation for a province.
fn parent_of(u: &Unit) -> Option<UnitCode> {
    match u.level {
        Level::Nation => None,
        _ => Some(u.parent.unwrap_or(UnitCode::NATION)),
    }
}

/// A unit and its children with populations counted from the communes the caller sees. In the
/// 2024 tree a unit outside the caller's branch (neither within nor above their unit) is
/// `ScopeDenied`; auditors are refused. Populations are counts, not personal data: not audited.
pub fn unit_view(
    store: &dyn Store,
    caller: &Caller,
    unit: &'static Unit,
    tree: Tree,
) -> Result<UnitView, Error> {
    caller.not_auditor()?;
    let units = Units::get();
    let scope = caller.unit();
    let (query_root, complete) = match tree {
        Tree::Gso2024 if units.contains(tree, &scope, &unit.code) => (unit.code, true),
        Tree::Gso2024 if units.contains(tree, &unit.code, &scope) => (scope, false),
        Tree::Gso2024 => return Err(Error::ScopeDenied),
        Tree::Gso2025 => (scope, scope == UnitCode::NATION),
    };
    let pops = store.population_by_commune(&query_root)?;
    let children_units = units.children(tree, &unit.code);
    let mut by_child: HashMap<UnitCode, Population> = HashMap::new();
    let mut population = Population::default();
    let mut unmapped = Population::default();
    for (commune, pop) in pops {
        match tree {
            Tree::Gso2024 => {
                if !units.contains(tree, &unit.code, &commune) {
                    continue;
                }
                add(&mut population, pop);
                let own = units.unit(tree, &commune).into_iter();
                let chain = own.chain(units.ancestors(tree, &commune));
                if let Some(child) = chain.into_iter().find(|u| parent_of(u) == Some(unit.code)) {
                    add(by_child.entry(child.code).or_default(), pop);
                }
            }
            Tree::Gso2025 => {
                let province24 = units
                    .ancestors(Tree::Gso2024, &commune)
                    .into_iter()
                    .find(|u| u.level == Level::Province);
                let p25 = province24.and_then(|p| units.province_2025_for_2024(&p.code));
                let c25 = units.commune_2025_for_2024(&commune);
                match unit.level {
                    Level::Nation => {
                        add(&mut population, pop);
                        if let Some(p) = p25 {
                            add(by_child.entry(p.code).or_default(), pop);
                        }
                    }
                    Level::Province if p25.is_some_and(|p| p.code == unit.code) => {
                        add(&mut population, pop);
                        match c25.filter(|c| parent_of(c) == Some(unit.code)) {
                            Some(c) => add(by_child.entry(c.code).or_default(), pop),
                            None => add(&mut unmapped, pop),
                        }
                    }
                    Level::Commune | Level::District
                        if c25.is_some_and(|c| c.code == unit.code) =>
                    {
                        add(&mut population, pop);
                    }
                    _ => {}
                }
            }
        }
    }
    let children = children_units
        .into_iter()
        .map(|c| (c, by_child.get(&c.code).copied().unwrap_or_default()))
        .collect();
    let maps_to = match (tree, unit.level) {
        (Tree::Gso2024, Level::Province) => units.province_2025_for_2024(&unit.code),
        (Tree::Gso2024, Level::District) => units
            .ancestors(tree, &unit.code)
            .into_iter()
            .find(|u| u.level == Level::Province)
            .and_then(|p| units.province_2025_for_2024(&p.code)),
        (Tree::Gso2024, Level::Commune) => units.commune_2025_for_2024(&unit.code),
        _ => None,
    };
    let unmapped = (tree == Tree::Gso2025 && unit.level == Level::Province).then_some(unmapped);
    Ok(UnitView {
        tree,
        unit,
        ancestors: units.ancestors(tree, &unit.code),
        population,
        children,
        unmapped,
        maps_to,
        complete,
    })
}
