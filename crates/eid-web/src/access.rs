//! Access-controlled reads shared by the JSON API and the console.
//!
//! Input is parsed into domain types first (a bad ID is a 400 with the parser's reason), the
//! caller's scope is checked against the person's permanent residence or the unit, and every
//! person read or search is written to the audit trail, allowed or denied, with the request id.
//! A person who exists outside the caller's scope is a 403; an ID nobody has is a 404.

use std::collections::HashMap;

use eid_core::store::{AuditEntry, PersonEvent, Population, Role, SearchQuery, StoredPerson};
use eid_core::Store;
use eid_domain::{fold, parse_iso_date, Level, PersonalId, Tree, Unit, UnitCode, UnitError, Units};

use crate::auth::Caller;
use crate::error::{request_id, AppError};
use crate::state::AppState;

/// Writes one audit line.
fn audit(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: &str,
    outcome: &str,
    rid: &str,
    state_now: time::OffsetDateTime,
) -> Result<(), AppError> {
    Ok(store.audit(&caller.actor, action, target, outcome, rid, state_now)?)
}

/// Parses a personal ID from a path or form, with the domain's reason on failure.
pub fn parse_id(raw: &str) -> Result<PersonalId, AppError> {
    PersonalId::parse(raw.trim())
        .map_err(|e| AppError::bad("person.bad_id", format!("invalid personal ID: {e}")))
}

/// Parses a unit code and finds it in `tree`.
pub fn parse_unit(raw: &str, tree: Tree) -> Result<&'static Unit, AppError> {
    Units::get().lookup(tree, raw.trim()).map_err(|e| match e {
        UnitError::Format(reason) => {
            AppError::bad("unit.bad_code", format!("invalid unit code: {reason}"))
        }
        e @ UnitError::Unknown { .. } => AppError::not_found("unit.not_found", e.to_string()),
    })
}

/// Parses `2024` or `2025` (empty: 2024).
pub fn parse_tree(raw: Option<&str>) -> Result<Tree, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Tree::Gso2024),
        Some(s) => Tree::parse(s).ok_or_else(|| {
            AppError::bad(
                "unit.bad_tree",
                format!("tree must be 2024 or 2025, got {s:?}"),
            )
        }),
    }
}

/// One person, if the caller may see them. Audited as `person.read`.
pub async fn read_person(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<StoredPerson, AppError> {
    let (person, _) = load(state, caller, raw_id, false).await?;
    Ok(person)
}

/// One person and their full history, if the caller may see them. Audited as `person.read`.
pub async fn person_history(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<(StoredPerson, Vec<PersonEvent>), AppError> {
    load(state, caller, raw_id, true).await
}

async fn load(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    with_history: bool,
) -> Result<(StoredPerson, Vec<PersonEvent>), AppError> {
    let id = parse_id(raw_id)?;
    let caller = caller.clone();
    let rid = request_id();
    let now = state.now();
    let result = state
        .read(move |store| {
            let target = id.as_str();
            if caller.staff.role == Role::Auditor {
                audit(store, &caller, "person.read", target, "denied", &rid, now)?;
                return Err(AppError::ScopeDenied);
            }
            let Some(person) = store.person(&id)? else {
                audit(store, &caller, "person.read", target, "failed", &rid, now)?;
                return Err(AppError::not_found(
                    "person.not_found",
                    "no person has this personal ID",
                ));
            };
            if !caller.staff.sees(&person.person.residence.unit) {
                audit(store, &caller, "person.read", target, "denied", &rid, now)?;
                return Err(AppError::ScopeDenied);
            }
            let history = if with_history {
                store.history(&id)?
            } else {
                Vec::new()
            };
            audit(store, &caller, "person.read", target, "ok", &rid, now)?;
            Ok((person, history))
        })
        .await;
    match &result {
        Ok(_) => state.metrics.person_read(),
        Err(AppError::ScopeDenied) => state.metrics.scope_denied(),
        Err(_) => {}
    }
    result
}

/// The raw parameters of a person search, as typed.
#[derive(Default, Clone)]
pub struct SearchParams {
    pub name: Option<String>,
    pub birth: Option<String>,
    pub unit: Option<String>,
    pub limit: Option<String>,
}

/// The most results one search returns.
pub const MAX_LIMIT: u32 = 100;

/// Parses the parameters into a query scoped to `caller` (without the scope check).
pub fn parse_search(caller: &Caller, p: &SearchParams) -> Result<SearchQuery, AppError> {
    let name = fold(p.name.as_deref().unwrap_or(""));
    let name = name.trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Err(AppError::bad(
            "search.name_required",
            "name must have at least 2 letters",
        ));
    }
    let (birth_year, birth_date) = match p.birth.as_deref().map(str::trim).filter(|s| !s.is_empty())
    {
        None => (None, None),
        Some(s) if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => (s.parse().ok(), None),
        Some(s) => match parse_iso_date(s) {
            Some(d) => (Some(d.year()), Some(d)),
            None => {
                return Err(AppError::bad(
                    "search.bad_birth",
                    format!(
                        "birth must be a year (YYYY) or a date (YYYY-MM-DD), got {:?}",
                        s.chars().take(20).collect::<String>()
                    ),
                ))
            }
        },
    };
    let within = match p.unit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => caller.staff.unit,
        Some(s) => parse_unit(s, Tree::Gso2024)?.code,
    };
    let limit = match p.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 20,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::bad(
                    "search.bad_limit",
                    format!("limit must be 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    Ok(SearchQuery {
        name_prefix: name.to_owned(),
        birth_year,
        birth_date,
        within,
        limit,
    })
}

/// Searches persons by folded name prefix and birth within a unit of the caller's scope.
/// Audited as `person.search` with the unit as target.
pub async fn search(
    state: &AppState,
    caller: &Caller,
    p: &SearchParams,
) -> Result<(SearchQuery, Vec<StoredPerson>), AppError> {
    let q = parse_search(caller, p)?;
    let caller = caller.clone();
    let rid = request_id();
    let now = state.now();
    let result = state
        .blocking(move |store| {
            let target = q.within.as_str().to_owned();
            let allowed = caller.staff.role != Role::Auditor
                && Units::get().contains(Tree::Gso2024, &caller.staff.unit, &q.within);
            if !allowed {
                audit(
                    store,
                    &caller,
                    "person.search",
                    &target,
                    "denied",
                    &rid,
                    now,
                )?;
                return Err(AppError::ScopeDenied);
            }
            let found = store.search(&q)?;
            // The store scopes by unit already; this is a second guard.
            let found: Vec<StoredPerson> = found
                .into_iter()
                .filter(|p| caller.staff.sees(&p.person.residence.unit))
                .collect();
            audit(store, &caller, "person.search", &target, "ok", &rid, now)?;
            Ok((q, found))
        })
        .await;
    match &result {
        Ok(_) => state.metrics.person_search(),
        Err(AppError::ScopeDenied) => state.metrics.scope_denied(),
        Err(_) => {}
    }
    result
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

/// A unit and its children with populations counted from the communes the caller sees.
pub async fn unit_view(
    state: &AppState,
    caller: &Caller,
    raw_code: &str,
    raw_tree: Option<&str>,
) -> Result<UnitView, AppError> {
    let tree = parse_tree(raw_tree)?;
    let unit = parse_unit(raw_code, tree)?;
    if caller.staff.role == Role::Auditor {
        return Err(AppError::ScopeDenied);
    }
    let units = Units::get();
    let scope = caller.staff.unit;
    let (query_root, complete) = match tree {
        Tree::Gso2024 if units.contains(tree, &scope, &unit.code) => (unit.code, true),
        Tree::Gso2024 if units.contains(tree, &unit.code, &scope) => (scope, false),
        Tree::Gso2024 => {
            state.metrics.scope_denied();
            return Err(AppError::ScopeDenied);
        }
        Tree::Gso2025 => (scope, scope == UnitCode::NATION),
    };
    let pops = state
        .blocking(move |store| Ok(store.population_by_commune(&query_root)?))
        .await?;
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

/// The newest audit entries, for auditors and the ministry. Audited as `audit.read`.
pub async fn audit_log(
    state: &AppState,
    caller: &Caller,
    limit: u32,
) -> Result<Vec<AuditEntry>, AppError> {
    let caller = caller.clone();
    let rid = request_id();
    let now = state.now();
    state
        .blocking(move |store| {
            if !matches!(caller.staff.role, Role::Auditor | Role::Ministry) {
                audit(store, &caller, "audit.read", "audit", "denied", &rid, now)?;
                return Err(AppError::ScopeDenied);
            }
            let entries = store.audit_log(limit)?;
            audit(store, &caller, "audit.read", "audit", "ok", &rid, now)?;
            Ok(entries)
        })
        .await
}
