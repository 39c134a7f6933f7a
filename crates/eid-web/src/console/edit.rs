//! Correcting a person's record from the console: address, temporary residence, phone and life
//! status, each change with its reason. Identity fields (ID, name, birth, sex) are not edited
//! here: they change through their own procedures.
//!
//! The form carries the version it was made from; a record changed meanwhile is not
//! overwritten. The write goes through the same `PersonWriter` as an import, so the change is an
//! `updated` event with the officer as actor and the reason given, in the same transaction.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::store::Role;
use eid_domain::person::check_address;
use eid_domain::{
    iso, parse_iso_date, LifeState, LifeStatus, Person, PhoneNumber, PhoneType, Residence, UnitCode,
};

use super::pages::here;
use super::{render, ConsoleError, ConsoleUser, PageCtx};
use crate::access;
use crate::error::{request_id, AppError};
use crate::state::AppState;

/// The longest reason we keep.
const MAX_REASON_CHARS: usize = 200;

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

fn may_edit(user: &ConsoleUser) -> Result<(), ConsoleError> {
    if user.caller.staff.role == Role::Auditor {
        return Err(ConsoleError(AppError::ScopeDenied, user.lang));
    }
    Ok(())
}

/// `GET /persons/{id}/edit`
pub async fn form(
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
pub async fn save(
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
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return again("edit.reason_required", StatusCode::BAD_REQUEST);
    }
    if version != sp.version {
        return again("edit.conflict", StatusCode::CONFLICT);
    }
    let next = match apply(&sp.person, &form, state.today()) {
        Ok(p) => p,
        Err(key) => return again(key, StatusCode::BAD_REQUEST),
    };
    let caller = user.caller.clone();
    let (rid, now, why) = (request_id(), state.now(), reason.clone());
    let written = state
        .blocking(move |store| {
            // Checked again under the writer: a change that landed since the page was read wins.
            let mut writer = store.writer(&caller.actor, &why, now)?;
            let current = store.person(&next.id)?.map(|p| p.version);
            if current != Some(version) {
                return Ok(false);
            }
            writer.put(&next)?;
            writer.commit()?;
            // A death, emigration or revoked card locks the person's account at once (and a
            // correction back unlocks it), recorded as an account event.
            eid_core::accounts::sync_register_lock(store, &next.id, now)?;
            store.audit(
                &caller.actor,
                "person.update",
                next.id.as_str(),
                "ok",
                &rid,
                now,
            )?;
            Ok(true)
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    if !written {
        return again("edit.conflict", StatusCode::CONFLICT);
    }
    Ok(Redirect::to(&format!("/persons/{}", sp.person.id.as_str())).into_response())
}
