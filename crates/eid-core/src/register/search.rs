//! Searching persons by folded name prefix and birth within a unit of the caller's scope.

use eid_domain::{fold, parse_iso_date, Tree, Units};

use super::parse::parse_unit;
use crate::store::{SearchQuery, StoredPerson};
use crate::{Acting, Caller, Error, Store};

/// The raw parameters of a person search, as typed. Its `Debug` shows the unit and the limit
/// only.
#[derive(Default, Clone)]
pub struct SearchParams {
    pub name: Option<String>,
    pub birth: Option<String>,
    pub unit: Option<String>,
    pub limit: Option<String>,
}

eid_domain::masked_debug!(SearchParams, "SearchParams" { show: [unit, limit], hide: [name, birth] });

/// The most results one search returns.
pub const MAX_LIMIT: u32 = 100;

/// Parses the parameters into a query scoped to `caller` (without the scope check).
pub fn parse_search(caller: &Caller, p: &SearchParams) -> Result<SearchQuery, Error> {
    let name = fold(p.name.as_deref().unwrap_or(""));
    let name = name.trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Err(Error::bad(
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
                return Err(Error::bad(
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
        None => caller.unit(),
        Some(s) => parse_unit(s, Tree::Gso2024)?.code,
    };
    let limit = match p.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 20,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::bad(
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

/// Runs a parsed search if its unit lies within the caller's scope. Audited as
/// `person.search` with the unit as target, allowed or denied.
pub fn search(
    store: &dyn Store,
    acting: &Acting,
    q: &SearchQuery,
) -> Result<Vec<StoredPerson>, Error> {
    const ACTION: &str = "person.search";
    let target = q.within.as_str();
    let caller = &acting.caller;
    let allowed = caller.not_auditor().is_ok()
        && Units::get().contains(Tree::Gso2024, &caller.unit(), &q.within);
    if !allowed {
        acting.audit(store, ACTION, target, "denied")?;
        return Err(Error::ScopeDenied);
    }
    let found = store.search(q)?;
    // The store scopes by unit already; this is a second guard.
    let found: Vec<StoredPerson> = found
        .into_iter()
        .filter(|p| caller.sees(&p.person.residence.unit))
        .collect();
    acting.audit(store, ACTION, target, "ok")?;
    Ok(found)
}
