//! The unit picker (`/ops/units`): from the officer's unit down the tree, one level a page, and
//! a search by name (accents and case ignored). Every unit it shows lies inside the officer's
//! unit and links to its dashboard. Server-rendered links and a plain form: it works without
//! JavaScript.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use eid_core::ops::service as uc;
use eid_domain::{Tree, UnitCode, Units};

use super::{console, tabs};
use crate::console::pages::here;
use crate::console::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::Tab;
use crate::ui::format::num;

/// A unit as the picker lists it.
pub struct PickRow {
    pub code: String,
    pub name: String,
    /// Its ancestors inside the officer's unit, "Huyện …, Tỉnh …".
    pub within: String,
    /// Whether it has units below (a link opens them).
    pub has_children: bool,
}

/// One step of the path from the officer's unit to the unit shown.
pub struct Crumb {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "ops_units.html")]
struct UnitsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    /// The unit whose children are listed.
    code: String,
    name: String,
    path: Vec<Crumb>,
    children: Vec<PickRow>,
    query: String,
    matches: Vec<PickRow>,
    total: String,
    more: bool,
    searched: bool,
}

fn row(own: &UnitCode, u: &eid_domain::Unit) -> PickRow {
    let units = Units::get();
    let within = units
        .ancestors(Tree::Gso2024, &u.code)
        .into_iter()
        .filter(|a| a.code != *own && units.contains(Tree::Gso2024, own, &a.code))
        .map(|a| a.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    PickRow {
        code: u.code.as_str().to_owned(),
        name: u.name.clone(),
        within,
        has_children: !units.children(Tree::Gso2024, &u.code).is_empty(),
    }
}

/// `GET /ops/units?unit=&q=`: the units below `unit` (the officer's own by default) and the
/// units whose name contains `q`, all inside the officer's unit.
pub async fn units(
    State(_state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let caller = &user.caller;
    let unit =
        svc::unit_in_scope(caller, q.get("unit").map(String::as_str)).map_err(console(lang))?;
    let own = caller.staff.unit;
    let units = Units::get();
    let mut path: Vec<Crumb> = units
        .ancestors(Tree::Gso2024, &unit)
        .into_iter()
        .rev()
        .filter(|a| units.contains(Tree::Gso2024, &own, &a.code))
        .map(|a| Crumb {
            code: a.code.as_str().to_owned(),
            name: a.name.clone(),
        })
        .collect();
    let label = |u: &UnitCode| {
        if *u == UnitCode::NATION {
            lang.t("ops.units.nation").to_owned()
        } else {
            svc::unit_name(u)
        }
    };
    let name = label(&unit);
    if unit != own && !units.contains(Tree::Gso2024, &unit, &own) {
        // The officer's own unit heads the path (the nation has no entry in the tree).
        if path.first().map(|c| c.code.as_str()) != Some(own.as_str()) {
            path.insert(
                0,
                Crumb {
                    code: own.as_str().to_owned(),
                    name: label(&own),
                },
            );
        }
    }
    let children = units
        .children(Tree::Gso2024, &unit)
        .into_iter()
        .map(|u| PickRow {
            within: String::new(),
            ..row(&own, u)
        })
        .collect();
    let query = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let (found, total) = uc::find_units(caller, &query).map_err(|e| console(lang)(e.into()))?;
    let matches: Vec<PickRow> = found.into_iter().map(|u| row(&own, u)).collect();
    let page = UnitsPage {
        page: PageCtx::new(lang, Some(&user), "ops", &here(&uri)),
        tabs: tabs(lang, "units"),
        code: unit.as_str().to_owned(),
        name,
        path,
        children,
        more: total > matches.len(),
        matches,
        total: num(lang, u64::try_from(total).unwrap_or(u64::MAX)),
        searched: !query.is_empty(),
        query,
    };
    render(&page)
}
