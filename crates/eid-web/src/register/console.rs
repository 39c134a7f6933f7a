//! The register's console pages: search, person, correction, units and the audit log.
//!
//! Each handler reads through [`crate::access`] (the register's use cases in `eid_core`) and
//! turns the result into a flat view struct of display strings, translated here, so templates
//! only lay out text.
//!
//! Correcting a person's record: address, temporary residence, phone and life status, each
//! change with its reason. Identity fields (ID, name, birth, sex) are not edited here: they change
//! through their own procedures. The form carries the version it was made from; the handler
//! parses the form into a corrected record and `eid_core::register::correct_person` writes it
//! (the officer as actor, the reason required, the version checked again under the write lock).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::register;
use eid_core::store::{PersonEvent, Role, StoredPerson};
use eid_core::Acting;
use eid_domain::person::check_address;
use eid_domain::{
    card_expiry, iso, parse_iso_date, LifeState, LifeStatus, Person, PhoneNumber, PhoneType,
    Residence, Tree, UnitCode, Units,
};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::access::{self, SearchParams, UnitView};
use crate::console::i18n::Lang;
use crate::console::session::MaybeUser;
use crate::console::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::{vietnam, AppState};
use crate::wire::{changes, unit_name};

/// A timestamp in Vietnam's time, to the minute, as Vietnamese writes it: 04/12/2026 08:07.
pub(crate) fn local(t: OffsetDateTime) -> String {
    t.to_offset(vietnam())
        .format(format_description!("[day]/[month]/[year] [hour]:[minute]"))
        .unwrap_or_default()
}

pub(crate) fn here(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned())
}

pub async fn home(MaybeUser(user): MaybeUser) -> Response {
    match user {
        None => Redirect::to("/login").into_response(),
        Some(u) if u.caller.staff.role == Role::Auditor => Redirect::to("/audit").into_response(),
        Some(_) => Redirect::to("/search").into_response(),
    }
}

/// One row of the search results (phone masked).
pub struct ResultRow {
    pub id: String,
    pub name: String,
    pub birth: String,
    pub sex: &'static str,
    pub unit: String,
    pub phone: String,
    pub life: &'static str,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: PageCtx,
    name: String,
    birth: String,
    unit: String,
    searched: bool,
    error: String,
    rows: Vec<ResultRow>,
}

pub async fn search(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (name, birth, unit) = (get("name"), get("birth"), get("unit"));
    // A personal ID typed into the search opens the person (whose page checks the scope).
    let typed = name.trim();
    if typed.len() == 12 && typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Redirect::to(&format!("/persons/{typed}")).into_response());
    }
    let mut page = SearchPage {
        page: PageCtx::new(lang, Some(&user), "search", &here(&uri)),
        name: name.clone(),
        birth: birth.clone(),
        unit: unit.clone(),
        searched: false,
        error: String::new(),
        rows: Vec::new(),
    };
    if !name.trim().is_empty() {
        let params = SearchParams {
            name: Some(name),
            birth: Some(crate::ui::format::iso_from_typed(&birth)),
            unit: Some(unit),
            limit: Some("50".to_owned()),
        };
        match access::search(&state, &user.caller, &params).await {
            Ok((_, found)) => {
                page.searched = true;
                page.rows = found.iter().map(|p| row(lang, p)).collect();
            }
            Err(e @ (AppError::BadRequest { .. } | AppError::NotFound { .. })) => {
                page.error = crate::console::Notice::refused(lang, &e).text
            }
            Err(e) => return Err(ConsoleError(e, lang)),
        }
    }
    render(&page)
}

fn row(lang: Lang, sp: &StoredPerson) -> ResultRow {
    let p = &sp.person;
    ResultRow {
        id: p.id.as_str().to_owned(),
        name: p.name.full(),
        birth: crate::ui::format::birth_label(lang, p.birth),
        sex: lang.t(&format!("sex.{}", p.sex.as_str())),
        unit: unit_name(&p.residence.unit).unwrap_or_else(|| p.residence.unit.as_str().to_owned()),
        phone: p.phone.as_ref().map(|x| x.masked()).unwrap_or_default(),
        life: lang.t(&format!("life.{}", p.life.state.as_str())),
    }
}

/// A place: unit code, unit name and address.
pub struct PlaceView {
    pub code: String,
    pub name: String,
    pub address: String,
}

pub struct CardView {
    pub issued: String,
    pub expires: String,
    pub status: &'static str,
    pub valid: bool,
}

pub struct ChangeView {
    pub field: String,
    pub old: String,
    pub new: String,
}

pub struct EventView {
    pub at: String,
    pub actor: String,
    /// The actor as the trail stores it (`cli:import`), for the title of the name.
    pub actor_code: String,
    pub kind: &'static str,
    pub reason: String,
    pub changes: Vec<ChangeView>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    page: PageCtx,
    id: String,
    name: String,
    birth: String,
    sex: &'static str,
    hometown: String,
    residence: PlaceView,
    temporary: Option<PlaceView>,
    /// The temporary residence's term end, dd/mm/yyyy (empty when none).
    temp_until: String,
    /// A declared temporary absence in words (empty when none).
    absence: String,
    household: String,
    phone: String,
    phone_type: &'static str,
    life: &'static str,
    life_since: String,
    card: Option<CardView>,
    version: i64,
    updated_at: String,
    events: Vec<EventView>,
    members: Vec<MemberView>,
    /// Linkage: sources that confirmed the person, findings, merges (issue 13).
    link: Option<crate::linkage::quality::PersonLink>,
    /// Whether the person has an e-ID account (the account button shows only then).
    has_account: bool,
    /// A correction was just saved.
    saved: bool,
}

/// Another member of the person's household, as listed on the person page.
struct MemberView {
    id: String,
    name: String,
    birth: String,
    life: &'static str,
}

fn place(r: &eid_domain::Residence) -> PlaceView {
    PlaceView {
        code: r.unit.as_str().to_owned(),
        name: unit_name(&r.unit).unwrap_or_default(),
        address: r.address.clone(),
    }
}

/// A changed field's value in words: units by name, days dd/mm/yyyy, sex, phone type and life
/// status translated.
fn change_value(lang: Lang, field: &str, v: &str) -> String {
    if v.is_empty() {
        return String::new();
    }
    let unit = || {
        UnitCode::parse(v)
            .ok()
            .and_then(|u| unit_name(&u).map(|n| format!("{n} ({v})")))
            .unwrap_or_else(|| v.to_owned())
    };
    match field {
        "sex" => crate::ui::form::label(lang, "sex", v),
        "phone_type" => crate::ui::form::label(lang, "phone", v),
        "life_status" => crate::ui::form::label(lang, "life", v),
        "card_revoked" => lang
            .t(if v == "1" { "hist.yes" } else { "hist.no" })
            .to_owned(),
        "hometown_unit" | "residence_unit" | "temp_unit" => unit(),
        "birth_date" | "life_status_date" | "card_issued" | "temp_until" | "absence_from"
        | "absence_to" => parse_iso_date(v)
            .map(|d| crate::ui::format::day_label(lang, d))
            .unwrap_or_else(|| v.to_owned()),
        _ => v.to_owned(),
    }
}

fn event(lang: Lang, names: &crate::console::actors::Names, e: &PersonEvent) -> EventView {
    EventView {
        at: local(e.at),
        actor: names.label(lang, &e.actor),
        actor_code: e.actor.to_db(),
        kind: if e.kind == "created" {
            lang.t("history.created")
        } else {
            lang.t("history.updated")
        },
        reason: match e.reason.as_str() {
            "demo data" => lang.t("hist.reason.demo").to_owned(),
            r => r.to_owned(),
        },
        changes: changes(e)
            .into_iter()
            .filter(|c| {
                !c.old.as_deref().unwrap_or("").is_empty()
                    || !c.new.as_deref().unwrap_or("").is_empty()
            })
            .map(|c| ChangeView {
                old: change_value(lang, &c.field, c.old.as_deref().unwrap_or_default()),
                new: change_value(lang, &c.field, c.new.as_deref().unwrap_or_default()),
                field: crate::ui::form::label(lang, "hist.f", &c.field),
            })
            .collect(),
    }
}

pub async fn person(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let saved = crate::auth::cookie(&headers, SAVED_COOKIE).is_some();
    let (sp, events) = access::person_history(&state, &user.caller, &id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let names = crate::console::actors::Names::fetch(
        &state,
        events.iter().map(|e| e.actor.clone()).collect(),
    )
    .await
    .map_err(|e| ConsoleError(e, lang))?;
    // The person was just read in the officer's scope (and audited); whether an account
    // exists only decides if the account button leads anywhere.
    let pid = sp.person.id;
    let has_account = state
        .read(move |store| Ok(eid_core::accounts::account_of(store, &pid)?.is_some()))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let residency = state
        .read(move |store| Ok(eid_core::residence::residency_of(store, &pid)?))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let today = state.today();
    let p = &sp.person;
    // The household's other members within the officer's scope, audited like any read of them.
    let members = match p.household.clone() {
        Some(household) => access::household_members(&state, &user.caller, household, p.id)
            .await
            .map_err(|e| ConsoleError(e, lang))?,
        None => Vec::new(),
    };
    let members = members
        .iter()
        .map(|m| MemberView {
            id: m.person.id.as_str().to_owned(),
            name: m.person.name.full(),
            birth: crate::ui::format::birth_label(lang, m.person.birth),
            life: lang.t(&format!("life.{}", m.person.life.state.as_str())),
        })
        .collect();
    let card = p.card.map(|c| {
        let valid = c.is_valid(p.birth, today);
        CardView {
            issued: crate::ui::format::day_label(lang, c.issued),
            expires: card_expiry(p.birth, c.issued)
                .map(|d| crate::ui::format::day_label(lang, d))
                .unwrap_or_else(|| lang.t("card.for_life").to_owned()),
            status: if c.revoked {
                lang.t("card.revoked")
            } else if valid {
                lang.t("card.valid")
            } else {
                lang.t("card.expired")
            },
            valid,
        }
    });
    let page = PersonPage {
        page: PageCtx::new(lang, Some(&user), "search", &here(&uri)),
        id: p.id.as_str().to_owned(),
        name: p.name.full(),
        birth: crate::ui::format::birth_label(lang, p.birth),
        sex: lang.t(&format!("sex.{}", p.sex.as_str())),
        hometown: p
            .hometown
            .map(|u| format!("{} ({})", unit_name(&u).unwrap_or_default(), u.as_str()))
            .unwrap_or_default(),
        residence: place(&p.residence),
        temporary: p.temporary.as_ref().map(place),
        temp_until: residency
            .temp_until
            .map(|d| crate::ui::format::day_label(lang, d))
            .unwrap_or_default(),
        absence: residency
            .absence
            .as_ref()
            .map(|a| {
                let mut t = format!(
                    "{} {} {} {}",
                    lang.t("field.absence_from"),
                    crate::ui::format::day_label(lang, a.from),
                    lang.t("field.absence_to"),
                    crate::ui::format::day_label(lang, a.to)
                );
                if !a.destination.is_empty() {
                    t.push_str(&format!(
                        " · {} {}",
                        lang.t("field.absence_place"),
                        a.destination
                    ));
                }
                t
            })
            .unwrap_or_default(),
        household: p.household.clone().unwrap_or_default(),
        phone: p.phone.as_ref().map(|x| x.national()).unwrap_or_default(),
        phone_type: lang.t(&format!("phone.{}", p.phone_type.as_str())),
        life: lang.t(&format!("life.{}", p.life.state.as_str())),
        life_since: p
            .life
            .since
            .map(|d| crate::ui::format::day_label(lang, d))
            .unwrap_or_default(),
        card,
        version: sp.version,
        updated_at: local(sp.updated_at),
        events: events.iter().map(|e| event(lang, &names, e)).collect(),
        members,
        link: crate::linkage::quality::person_block(&state, lang, p.id).await,
        has_account,
        saved,
    };
    let mut response = render(&page)?;
    if saved {
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "{SAVED_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict",
            uri.path()
        )) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "units_find.html")]
struct UnitsFindPage {
    page: PageCtx,
    name: String,
    matches: Vec<UnitMatch>,
}

/// A unit found by name, with its place in the tree for telling namesakes apart.
pub struct UnitMatch {
    pub code: String,
    pub name: String,
    pub within: String,
    pub link: bool,
}

/// `/units`: the officer's own unit, or with `?name=` the units of that name (2024 tree).
pub async fn units_home(
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let name = q
        .get("name")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if name.is_empty() {
        return Ok(
            Redirect::to(&format!("/units/{}", user.caller.staff.unit.as_str())).into_response(),
        );
    }
    let units = Units::get();
    let scope = user.caller.staff.unit;
    let matches = units
        .find_by_name(Tree::Gso2024, &name)
        .into_iter()
        .take(100)
        .map(|u| UnitMatch {
            code: u.code.as_str().to_owned(),
            name: u.name.clone(),
            within: units
                .ancestors(Tree::Gso2024, &u.code)
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            link: units.contains(Tree::Gso2024, &scope, &u.code)
                || units.contains(Tree::Gso2024, &u.code, &scope),
        })
        .collect();
    render(&UnitsFindPage {
        page: PageCtx::new(user.lang, Some(&user), "units", &here(&uri)),
        name,
        matches,
    })
}

/// A unit in a breadcrumb or a table, with a link when the caller may open it.
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub total: u64,
    pub alive: u64,
    pub link: bool,
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    page: PageCtx,
    tree: &'static str,
    code: String,
    name: String,
    total: u64,
    alive: u64,
    complete: bool,
    breadcrumb: Vec<UnitRow>,
    children: Vec<UnitRow>,
    maps_to: Option<UnitRow>,
    unmapped: Option<u64>,
}

pub async fn unit(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let view: UnitView = access::unit_view(
        &state,
        &user.caller,
        &code,
        q.get("tree").map(String::as_str),
    )
    .await
    .map_err(|e| ConsoleError(e, lang))?;
    let units = Units::get();
    let scope = user.caller.staff.unit;
    let can_open = |c: &UnitCode| {
        view.tree == Tree::Gso2024
            && (units.contains(Tree::Gso2024, &scope, c)
                || units.contains(Tree::Gso2024, c, &scope))
    };
    let plain = |u: &eid_domain::Unit, link: bool| UnitRow {
        code: u.code.as_str().to_owned(),
        name: u.name.clone(),
        total: 0,
        alive: 0,
        link,
    };
    let mut breadcrumb: Vec<UnitRow> = Vec::new();
    if view.unit.code != UnitCode::NATION {
        if let Some(nation) = units.unit(view.tree, &UnitCode::NATION) {
            breadcrumb.push(plain(nation, can_open(&UnitCode::NATION)));
        }
    }
    breadcrumb.extend(
        view.ancestors
            .iter()
            .rev()
            .map(|u| plain(u, can_open(&u.code))),
    );
    let page = UnitPage {
        page: PageCtx::new(lang, Some(&user), "units", &here(&uri)),
        tree: view.tree.as_str(),
        code: view.unit.code.as_str().to_owned(),
        name: view.unit.name.clone(),
        total: view.population.total,
        alive: view.population.alive,
        complete: view.complete,
        breadcrumb,
        children: view
            .children
            .iter()
            .map(|(u, p)| UnitRow {
                code: u.code.as_str().to_owned(),
                name: u.name.clone(),
                total: p.total,
                alive: p.alive,
                link: can_open(&u.code),
            })
            .collect(),
        maps_to: view.maps_to.map(|u| plain(u, false)),
        unmapped: view.unmapped.map(|p| p.total),
    };
    render(&page)
}

// Correcting a person's record.

#[derive(Template)]
#[template(path = "person_edit.html")]
struct EditPage {
    page: PageCtx,
    id: String,
    name: String,
    version: i64,
    address: String,
    temp_unit: String,
    temp_address: String,
    phone: String,
    phone_options: Vec<Choice>,
    life_options: Vec<Choice>,
    life_date: String,
    reason: String,
    error: Option<String>,
}

/// One option of a select.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(page: &PageCtx, prefix: &str, values: &[&'static str], current: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|&value| Choice {
            value,
            label: page.t(&format!("{prefix}.{value}")),
            selected: value == current,
        })
        .collect()
}

impl EditPage {
    fn of(page: PageCtx, p: &Person, version: i64) -> EditPage {
        EditPage {
            phone_options: choices(
                &page,
                "phone",
                &["none", "basic", "smartphone"],
                p.phone_type.as_str(),
            ),
            life_options: choices(
                &page,
                "life",
                &["alive", "dead", "emigrated", "absent"],
                p.life.state.as_str(),
            ),
            page,
            id: p.id.as_str().to_owned(),
            name: p.name.full(),
            version,
            address: p.residence.address.clone(),
            temp_unit: p
                .temporary
                .as_ref()
                .map(|t| t.unit.as_str().to_owned())
                .unwrap_or_default(),
            temp_address: p
                .temporary
                .as_ref()
                .map(|t| t.address.clone())
                .unwrap_or_default(),
            phone: p.phone.as_ref().map(|x| x.national()).unwrap_or_default(),
            life_date: p.life.since.map(iso).unwrap_or_default(),
            reason: String::new(),
            error: None,
        }
    }
}

/// Auditors only read the audit trail: the form is refused before anything is read.
fn may_edit(user: &ConsoleUser) -> Result<(), ConsoleError> {
    user.caller
        .not_auditor()
        .map_err(|e| ConsoleError(e.into(), user.lang))
}

/// `GET /persons/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    may_edit(&user)?;
    let lang = user.lang;
    let sp = access::read_person(&state, &user.caller, &id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    render(&EditPage::of(
        PageCtx::new(lang, Some(&user), "search", &here(&uri)),
        &sp.person,
        sp.version,
    ))
}

/// Applies the form to a copy of the record, or says which field is wrong (a translation key).
fn apply(
    p: &Person,
    f: &HashMap<String, String>,
    today: time::Date,
) -> Result<Person, &'static str> {
    let get = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    let mut next = p.clone();
    let address = eid_domain::name::nfc(get("address"));
    check_address("residence_address", &address).map_err(|_| "edit.bad_address")?;
    next.residence.address = address;
    next.temporary = match get("temp_unit") {
        "" if get("temp_address").is_empty() => None,
        "" => return Err("edit.bad_temp_unit"),
        code => {
            let unit = UnitCode::parse(code).map_err(|_| "edit.bad_temp_unit")?;
            let address = eid_domain::name::nfc(get("temp_address"));
            check_address("temp_address", &address).map_err(|_| "edit.bad_address")?;
            Some(Residence { unit, address })
        }
    };
    next.phone = match get("phone") {
        "" => None,
        raw => Some(PhoneNumber::parse(raw).map_err(|_| "edit.bad_phone")?),
    };
    next.phone_type = PhoneType::parse(get("phone_type")).ok_or("edit.bad_phone_type")?;
    let state = LifeState::parse(get("life")).ok_or("edit.bad_life")?;
    let since = match get("life_date") {
        "" => None,
        raw => Some(parse_iso_date(raw).ok_or("edit.bad_date")?),
    };
    next.life = LifeStatus { state, since };
    next.check(today).map_err(|e| match e.field() {
        "temp_unit" => "edit.bad_temp_unit",
        "phone_type" => "edit.bad_phone_type",
        "life_status_date" => "edit.bad_life_date",
        _ => "edit.bad_record",
    })?;
    Ok(next)
}

/// `POST /persons/{id}/edit`
pub async fn edit_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    may_edit(&user)?;
    let lang = user.lang;
    let sp = access::read_person(&state, &user.caller, &id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    let version: i64 = form
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    let again = |key: &'static str, status: StatusCode| {
        let mut page = EditPage::of(
            PageCtx::new(lang, Some(&user), "search", &here(&uri)),
            &sp.person,
            sp.version,
        );
        for (k, slot) in [
            ("address", &mut page.address),
            ("temp_unit", &mut page.temp_unit),
            ("temp_address", &mut page.temp_address),
            ("phone", &mut page.phone),
            ("life_date", &mut page.life_date),
        ] {
            *slot = form.get(k).cloned().unwrap_or_default();
        }
        let submitted = |k: &str| form.get(k).map(String::as_str).unwrap_or("").to_owned();
        page.phone_options = choices(
            &page.page,
            "phone",
            &["none", "basic", "smartphone"],
            &submitted("phone_type"),
        );
        page.life_options = choices(
            &page.page,
            "life",
            &["alive", "dead", "emigrated", "absent"],
            &submitted("life"),
        );
        page.reason = reason.clone();
        page.error = Some(lang.t(key).to_owned());
        render(&page).map(|r| (status, r).into_response())
    };
    // The reason first, then the version the form was made from, then the fields: the same
    // order of answers as before the write moved into the core.
    let reason = match register::check_reason(&reason) {
        Ok(r) => r.to_owned(),
        Err(_) => return again("edit.reason_required", StatusCode::BAD_REQUEST),
    };
    if version != sp.version {
        return again("edit.conflict", StatusCode::CONFLICT);
    }
    let next = match apply(&sp.person, &form, state.today()) {
        Ok(p) => p,
        Err(key) => return again(key, StatusCode::BAD_REQUEST),
    };
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let written = state
        .blocking(move |store| {
            match register::correct_person(store, &acting, &next, version, &reason) {
                Ok(()) => Ok(true),
                // Checked again under the writer: a change that landed since the page was read
                // wins.
                Err(eid_core::Error::Conflict { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    if !written {
        return again("edit.conflict", StatusCode::CONFLICT);
    }
    let path = format!("/persons/{}", sp.person.id.as_str());
    let mut response = Redirect::to(&path).into_response();
    // The person page says "saved" once: a cookie for that page only, cleared when shown.
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{SAVED_COOKIE}=1; Path={path}; Max-Age=60; HttpOnly; SameSite=Strict"
    )) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Set by a saved correction for the person page that follows, which shows a success message.
const SAVED_COOKIE: &str = "eid_saved";
