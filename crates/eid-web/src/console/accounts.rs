//! The officer pages for electronic identification accounts: the application queue of the
//! officer's unit and its review queue, an application with its decisions, an account with its
//! history and locks, the intake device registry, and the SMS outbox of the development sink.
//!
//! Every read and write goes through [`crate::accounts_api::officer`], the same functions the
//! JSON API calls, so scope checks and audit entries are the same whichever door an officer
//! uses. A refused action is shown on the page it came from, with the refusal's message and the
//! status it carries; only a missing session, a bad CSRF token, a page outside the officer's
//! scope and internal errors become the console's error page. Each page states which face
//! verifier and which SMS sender the server is configured with.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::accounts::{self as acc, Account, AccountEvent, Application, Device, Sms};
use eid_core::store::Role;
use eid_core::Actor;
use eid_domain::{
    AccountStatus, ApplicationState, DeviceStatus, PhoneNumber, SmsState, Tree, UnitCode, Units,
};

use super::i18n::Lang;
use super::pages::{here, local};
use super::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::accounts_api::officer;
use crate::error::AppError;
use crate::state::AppState;
use crate::wire::unit_name;

/// The most applications a queue page lists.
const QUEUE_LIMIT: u32 = 200;
/// The most messages the SMS page lists.
const SMS_LIMIT: u32 = 100;
/// What the outcome notices may say (`?done=`), each a translation key `acc.done.<value>`.
const DONE: &[&str] = &[
    "approve",
    "reject",
    "resend",
    "lock",
    "unlock",
    "phone",
    "device_added",
    "device_status",
];

// ----------------------------------------------------------------------------------------------
// Shared pieces

/// The translation of `prefix.value`, or the value itself when the table has none (a state
/// the console does not know yet is shown as stored rather than as `??`).
fn label(lang: Lang, prefix: &str, value: &str) -> String {
    match lang.t(&format!("{prefix}.{value}")) {
        "??" => value.to_owned(),
        t => t.to_owned(),
    }
}

/// A tab of the accounts section.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
    /// Shown only to ministry-level staff (the SMS outbox).
    pub ministry_only: bool,
}

fn tabs(lang: Lang, active: &str) -> Vec<Tab> {
    [
        ("applications", "/applications", "acc.tab.applications"),
        ("review", "/applications?state=review", "acc.tab.review"),
        ("devices", "/devices", "acc.tab.devices"),
        ("sms", "/sms", "acc.tab.sms"),
    ]
    .into_iter()
    .map(|(id, href, key)| Tab {
        href,
        label: lang.t(key),
        active: id == active,
        ministry_only: id == "sms",
    })
    .collect()
}

/// Which face verifier and SMS sender the server runs with.
pub struct SysInfo {
    pub verifier: String,
    pub sms: &'static str,
    pub dev_sms: bool,
}

fn sysinfo(state: &AppState) -> SysInfo {
    let sms = state.sms.name();
    SysInfo {
        verifier: state.verifier.describe(),
        sms,
        dev_sms: sms == "dev-sink",
    }
}

/// The class of the badge a state is shown with.
trait Badge: Copy {
    fn badge(self) -> &'static str;
}

impl Badge for ApplicationState {
    fn badge(self) -> &'static str {
        match self {
            ApplicationState::Activated => "ok",
            ApplicationState::Review => "warn",
            ApplicationState::Approved | ApplicationState::CodeSent => "info",
            ApplicationState::Rejected => "bad",
        }
    }
}

impl Badge for AccountStatus {
    fn badge(self) -> &'static str {
        match self {
            AccountStatus::Active => "ok",
            AccountStatus::Pending => "warn",
            AccountStatus::Locked => "bad",
        }
    }
}

impl Badge for DeviceStatus {
    fn badge(self) -> &'static str {
        match self {
            DeviceStatus::Active => "ok",
            DeviceStatus::Suspended => "warn",
            DeviceStatus::Retired => "bad",
        }
    }
}

impl Badge for SmsState {
    fn badge(self) -> &'static str {
        match self {
            SmsState::Sent => "ok",
            SmsState::Pending => "warn",
            SmsState::Failed => "bad",
        }
    }
}

/// A unit as "name (code)".
fn unit_label(code: &UnitCode) -> String {
    match unit_name(code) {
        Some(n) => format!("{n} ({})", code.as_str()),
        None => code.as_str().to_owned(),
    }
}

fn form_value(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// Who did something, as shown in tables: a staff member's name and username, the citizen
/// for the app's own actions, a system name otherwise.
fn actor_label(lang: Lang, actor: &Actor, staff: &HashMap<i64, String>) -> String {
    match actor {
        Actor::Staff(id) => staff.get(id).cloned().unwrap_or_else(|| actor.to_db()),
        Actor::Anonymous => lang.t("acc.actor.citizen").to_owned(),
        Actor::Cli(what) => format!("{} ({what})", lang.t("acc.actor.system")),
        Actor::Token(_) => actor.to_db(),
    }
}

/// Display names of staff and devices by id, for the tables of one page.
#[derive(Default)]
struct Names {
    staff: HashMap<i64, String>,
    devices: HashMap<i64, String>,
}

async fn names(
    state: &AppState,
    staff_ids: BTreeSet<i64>,
    device_ids: BTreeSet<i64>,
) -> Result<Names, AppError> {
    state
        .read(move |store| {
            let mut n = Names::default();
            for id in staff_ids {
                if let Some(s) = store.staff_by_id(id)? {
                    n.staff
                        .insert(id, format!("{} ({})", s.display_name, s.username));
                }
            }
            for id in device_ids {
                if let Some(d) = acc::device(store, id)? {
                    n.devices.insert(id, format!("{} #{id}", d.name));
                }
            }
            Ok(n)
        })
        .await
}

fn device_label(names: &Names, id: i64) -> String {
    names
        .devices
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("#{id}"))
}

// ----------------------------------------------------------------------------------------------
// The application queue

/// One option of a select.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// One row of the application queue.
pub struct AppRow {
    pub id: i64,
    pub personal_id: String,
    pub collected: String,
    pub unit: String,
    pub device: String,
    pub matched: bool,
    /// "Match 0.97" and "fingerprint / card".
    pub matching: (String, String),
    pub state: String,
    pub state_class: &'static str,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "acc_applications.html")]
struct QueuePage {
    page: PageCtx,
    tabs: Vec<Tab>,
    sys: SysInfo,
    review: bool,
    states: Vec<Choice>,
    unit: String,
    day: String,
    scope: String,
    notice: Option<Notice>,
    rows: Vec<AppRow>,
    limit: u32,
    /// The list stopped at the limit: older applications are not shown.
    full: bool,
}

fn matching(lang: Lang, a: &Application) -> (String, String) {
    let result = lang.t(if a.matched {
        "acc.match.yes"
    } else {
        "acc.match.no"
    });
    let score = a
        .match_score
        .map(|s| format!(" {s:.2}"))
        .unwrap_or_default();
    (
        format!("{result}{score}"),
        format!(
            "{} / {}",
            label(lang, "acc.method", &a.match_method),
            label(lang, "acc.against", &a.match_against)
        ),
    )
}

/// `GET /applications?state=&unit=&day=`
pub async fn applications(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (app_state, unit, day) = (get("state"), get("unit"), get("day"));
    let review = ApplicationState::parse(&app_state) == Ok(ApplicationState::Review);
    let mut page = QueuePage {
        page: PageCtx::new(lang, Some(&user), "accounts", &here(&uri)),
        tabs: tabs(lang, if review { "review" } else { "applications" }),
        sys: sysinfo(&state),
        review,
        states: ApplicationState::ALL
            .iter()
            .map(|s| s.as_str())
            .map(|value| Choice {
                value,
                label: lang.t(&format!("acc.app_state.{value}")),
                selected: value == app_state,
            })
            .collect(),
        unit: unit.clone(),
        day: day.clone(),
        scope: unit_label(&user.caller.staff.unit),
        notice: None,
        rows: Vec::new(),
        limit: QUEUE_LIMIT,
        full: false,
    };
    let day_filter = match day.as_str() {
        "" => None,
        d => match eid_domain::parse_iso_date(d) {
            Some(d) => Some(d),
            None => {
                page.notice = Some(Notice::refused(
                    lang,
                    &AppError::bad("day.invalid", "day is a date, YYYY-MM-DD"),
                ));
                return render(&page).map(|r| (StatusCode::BAD_REQUEST, r).into_response());
            }
        },
    };
    let found = officer::applications(
        &state,
        &user.caller,
        Some(unit.as_str()),
        (!app_state.is_empty()).then_some(app_state),
        day_filter,
        QUEUE_LIMIT,
    )
    .await;
    let apps = match found {
        Ok(apps) => apps,
        Err(e) => {
            let e = in_place(e, lang)?;
            let status = e.status();
            page.notice = Some(Notice::refused(lang, &e));
            return render(&page).map(|r| (status, r).into_response());
        }
    };
    page.full = apps.len() >= QUEUE_LIMIT as usize;
    if let Ok(u) = officer::within(&user.caller, Some(unit.as_str())) {
        page.scope = unit_label(&u);
    }
    let names = names(
        &state,
        BTreeSet::new(),
        apps.iter().map(|a| a.device_id).collect(),
    )
    .await
    .map_err(|e| ConsoleError(e, lang))?;
    page.rows = apps
        .iter()
        .map(|a| AppRow {
            id: a.id,
            personal_id: a.personal_id.as_str().to_owned(),
            collected: local(a.collected_at),
            unit: unit_label(&a.unit),
            device: device_label(&names, a.device_id),
            matched: a.matched,
            matching: matching(lang, a),
            state: label(lang, "acc.app_state", a.state.as_str()),
            state_class: a.state.badge(),
            reason: match (&a.reject_reason, &a.review_reason) {
                (Some(r), _) => r.clone(),
                (None, Some(r)) => review_reason(lang, r),
                (None, None) => String::new(),
            },
        })
        .collect();
    render(&page)
}

// ----------------------------------------------------------------------------------------------
// One application

#[derive(Template)]
#[template(path = "acc_application.html")]
struct ApplicationPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    id: i64,
    personal_id: String,
    phone: String,
    collected: String,
    unit: String,
    commune: String,
    device: String,
    officer: String,
    matched: bool,
    matching: (String, String),
    state: String,
    state_class: &'static str,
    review_reason: String,
    reject_reason: String,
    decided_by: String,
    updated: String,
    can_approve: bool,
    can_reject: bool,
    can_resend: bool,
    /// The application waits for a higher-level officer than this one.
    needs_higher: bool,
    reason: String,
    notice: Option<Notice>,
}

async fn application_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    a: &Application,
) -> Result<ApplicationPage, ConsoleError> {
    let lang = user.lang;
    let staff = &user.caller.staff;
    let decided_by = a.decided_by.as_deref().map(Actor::from_db);
    let mut staff_ids: BTreeSet<i64> = [a.officer_id].into_iter().collect();
    if let Some(Actor::Staff(id)) = decided_by {
        staff_ids.insert(id);
    }
    let names = names(state, staff_ids, [a.device_id].into_iter().collect())
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let reviewer = acc::may_review(staff, &a.unit);
    let open = a.state.is_open();
    let in_review = match a.state {
        ApplicationState::Review => true,
        ApplicationState::Approved
        | ApplicationState::CodeSent
        | ApplicationState::Activated
        | ApplicationState::Rejected => false,
    };
    Ok(ApplicationPage {
        page: PageCtx::new(lang, Some(user), "accounts", &here(uri)),
        tabs: tabs(lang, if in_review { "review" } else { "applications" }),
        id: a.id,
        personal_id: a.personal_id.as_str().to_owned(),
        phone: PhoneNumber::parse(&a.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        collected: local(a.collected_at),
        unit: unit_label(&a.unit),
        commune: unit_label(&a.commune),
        device: device_label(&names, a.device_id),
        officer: actor_label(lang, &Actor::Staff(a.officer_id), &names.staff),
        matched: a.matched,
        matching: matching(lang, a),
        state: label(lang, "acc.app_state", a.state.as_str()),
        state_class: a.state.badge(),
        review_reason: a
            .review_reason
            .as_deref()
            .map(|r| review_reason(lang, r))
            .unwrap_or_default(),
        reject_reason: a.reject_reason.clone().unwrap_or_default(),
        decided_by: decided_by
            .map(|d| actor_label(lang, &d, &names.staff))
            .unwrap_or_default(),
        updated: local(a.updated_at),
        can_approve: reviewer && in_review,
        can_reject: reviewer && open,
        can_resend: a.state == ApplicationState::CodeSent
            && (Units::get().contains(Tree::Gso2024, &staff.unit, &a.unit)
                || staff.sees(&a.commune)),
        needs_higher: !reviewer && in_review,
        reason: String::new(),
        notice: None,
    })
}

fn application_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("application.not_found", "no application has this id"),
            lang,
        )
    })
}

/// `GET /applications/{id}`
pub async fn application(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = application_id(&id, lang)?;
    let a = officer::application(&state, &user.caller, id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let mut page = application_page(&state, &user, &uri, &a).await?;
    page.notice = Notice::done(lang, &q, "acc", DONE);
    render(&page)
}

/// `POST /applications/{id}/{approve|reject|resend}`
pub async fn application_act(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = application_id(&id, lang)?;
    if !matches!(action.as_str(), "approve" | "reject" | "resend") {
        return Err(ConsoleError(
            AppError::not_found("route.not_found", "no such action"),
            lang,
        ));
    }
    // Reading first applies the officer's scope: an application they may not see is a 403.
    let a = officer::application(&state, &user.caller, id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let reason = form_value(&form, "reason");
    let given = (action == "reject").then(|| reason.clone());
    match officer::act(&state, &user.caller, a.id, &action, given).await {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{}?done={action}", a.id)).into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let a = officer::application(&state, &user.caller, id)
                .await
                .map_err(|e| ConsoleError(e, lang))?;
            let mut page = application_page(&state, &user, &uri, &a).await?;
            page.page.here = super::percent_encode(&format!("/applications/{id}"));
            page.reason = reason;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// An account

/// A lock on an account and why.
pub struct LockView {
    pub by: &'static str,
    pub why: String,
    pub who: String,
}

/// One event of an account's history.
pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub actor_id: String,
    pub unit: String,
    pub device: String,
    pub detail: String,
    pub application: Option<i64>,
}

#[derive(Template)]
#[template(path = "acc_account.html")]
struct AccountPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    personal_id: String,
    name: String,
    state: String,
    state_class: &'static str,
    level: u8,
    locks: Vec<LockView>,
    officer_locked: bool,
    phone: String,
    guardian: String,
    commune: String,
    verifier: String,
    score: String,
    created: String,
    activated: String,
    locked_out_until: String,
    events: Vec<EventRow>,
    notice: Option<Notice>,
    /// Which form the refused values belong to, and what was typed.
    form: String,
    reason: String,
    new_phone: String,
}

/// An event's detail as short `key: value` pairs, keys and known values translated; long hex
/// values are cut.
fn detail_text(lang: Lang, v: &serde_json::Value) -> String {
    let Some(o) = v.as_object() else {
        return String::new();
    };
    o.iter()
        .map(|(k, v)| {
            let mut s = match (k.as_str(), v) {
                (_, serde_json::Value::Bool(b)) => {
                    lang.t(if *b { "acc.yes" } else { "acc.no" }).to_owned()
                }
                ("by", serde_json::Value::String(s)) => label(lang, "acc.by", s),
                ("method", serde_json::Value::String(s)) => label(lang, "acc.method", s),
                ("against", serde_json::Value::String(s)) => label(lang, "acc.against", s),
                ("secret", serde_json::Value::String(s)) => label(lang, "acc.secret", s),
                ("reason", serde_json::Value::String(s)) => {
                    match lang.t(&format!("acc.register_lock.{s}")) {
                        "??" => review_reason(lang, s),
                        t => t.to_owned(),
                    }
                }
                (_, serde_json::Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            if s.len() > 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                s.truncate(16);
                s.push('…');
            }
            format!("{}: {s}", label(lang, "acc.detail", k))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The reasons `eid_core::accounts::collect` gives for sending an application to review (joined
/// by "; "), with their translation keys. A reason not listed is shown as written.
const REVIEW_REASONS: &[(&str, &str)] = &[
    (
        "the device found no fingerprint or portrait match",
        "acc.why.no_match",
    ),
    (
        "under 14: needs a guardian's consent on file",
        "acc.why.under_14",
    ),
    (
        "the phone differs from the one in the register",
        "acc.why.phone",
    ),
];

fn review_reason(lang: Lang, raw: &str) -> String {
    raw.split("; ")
        .map(|part| {
            REVIEW_REASONS
                .iter()
                .find(|(en, _)| *en == part)
                .map(|(_, key)| lang.t(key).to_owned())
                .unwrap_or_else(|| part.to_owned())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn account_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    a: &Account,
    events: &[AccountEvent],
) -> Result<AccountPage, ConsoleError> {
    let lang = user.lang;
    let staff_ids = events
        .iter()
        .filter_map(|e| match e.actor {
            Actor::Staff(id) => Some(id),
            _ => None,
        })
        .collect();
    let device_ids = events.iter().filter_map(|e| e.device_id).collect();
    let names = names(state, staff_ids, device_ids)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    // The register's name of the holder (a read of the person, audited as one).
    let name = crate::access::read_person(state, &user.caller, a.personal_id.as_str())
        .await
        .map(|sp| sp.person.name.full())
        .unwrap_or_default();
    let last = |kind: &str| events.iter().rev().find(|e| e.kind == kind);
    let mut locks = Vec::new();
    if a.holder_lock {
        locks.push(LockView {
            by: lang.t("acc.lock.holder"),
            why: lang.t("acc.lock.holder_why").to_owned(),
            who: last("locked_by_holder")
                .map(|e| local(e.at))
                .unwrap_or_default(),
        });
    }
    if let Some(why) = &a.officer_lock {
        locks.push(LockView {
            by: lang.t("acc.lock.officer"),
            why: why.clone(),
            who: last("locked_by_officer")
                .map(|e| {
                    format!(
                        "{} · {}",
                        actor_label(lang, &e.actor, &names.staff),
                        local(e.at)
                    )
                })
                .unwrap_or_default(),
        });
    }
    if let Some(why) = &a.register_lock {
        locks.push(LockView {
            by: lang.t("acc.lock.register"),
            why: label(lang, "acc.register_lock", why),
            who: last("locked_by_register")
                .map(|e| local(e.at))
                .unwrap_or_default(),
        });
    }
    let now = state.now();
    Ok(AccountPage {
        page: PageCtx::new(lang, Some(user), "accounts", &here(uri)),
        tabs: tabs(lang, ""),
        personal_id: a.personal_id.as_str().to_owned(),
        name,
        state: label(lang, "acc.state", a.status().as_str()),
        state_class: a.status().badge(),
        level: a.level.number(),
        locks,
        officer_locked: a.officer_lock.is_some(),
        phone: PhoneNumber::parse(&a.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        guardian: a.guardian.clone().unwrap_or_default(),
        commune: unit_label(&a.commune),
        verifier: a.verifier.clone().unwrap_or_default(),
        score: a
            .verifier_score
            .map(|s| format!("{s:.3}"))
            .unwrap_or_default(),
        created: local(a.created_at),
        activated: a.activated_at.map(local).unwrap_or_default(),
        locked_out_until: a
            .locked_out_until
            .filter(|t| *t > now)
            .map(local)
            .unwrap_or_default(),
        events: events
            .iter()
            .rev()
            .map(|e| EventRow {
                at: local(e.at),
                kind: label(lang, "acc.event", &e.kind),
                actor: actor_label(lang, &e.actor, &names.staff),
                actor_id: match e.actor {
                    Actor::Staff(_) => e.actor.to_db(),
                    _ => String::new(),
                },
                unit: e
                    .unit
                    .as_deref()
                    .and_then(|u| UnitCode::parse(u).ok())
                    .map(|u| unit_label(&u))
                    .unwrap_or_default(),
                device: e
                    .device_id
                    .map(|d| device_label(&names, d))
                    .unwrap_or_default(),
                detail: detail_text(lang, &e.detail),
                application: e.application_id,
            })
            .collect(),
        notice: None,
        form: String::new(),
        reason: String::new(),
        new_phone: String::new(),
    })
}

/// `GET /accounts?id=`: opens the account of a personal ID typed in a form.
pub async fn account_find(
    _user: ConsoleUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = q.get("id").map(|v| v.trim()).unwrap_or("");
    if id.is_empty() {
        return Redirect::to("/applications").into_response();
    }
    Redirect::to(&format!("/accounts/{}", super::percent_encode(id))).into_response()
}

/// `GET /accounts/{personal_id}`
pub async fn account(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let (a, events) = officer::account(&state, &user.caller, &id)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let mut page = account_page(&state, &user, &uri, &a, &events).await?;
    page.notice = Notice::done(lang, &q, "acc", DONE);
    render(&page)
}

/// `POST /accounts/{personal_id}/{lock|unlock|phone}`
pub async fn account_act(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let reason = form_value(&form, "reason");
    let new_phone = form_value(&form, "phone");
    let done = match action.as_str() {
        "lock" | "unlock" => {
            officer::lock(&state, &user.caller, &id, action == "lock", &reason).await
        }
        "phone" => officer::set_phone(&state, &user.caller, &id, &new_phone, &reason).await,
        _ => {
            return Err(ConsoleError(
                AppError::not_found("route.not_found", "no such action"),
                lang,
            ))
        }
    };
    match done {
        Ok(a) => Ok(Redirect::to(&format!(
            "/accounts/{}?done={action}",
            a.personal_id.as_str()
        ))
        .into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let (a, events) = officer::account(&state, &user.caller, &id)
                .await
                .map_err(|e| ConsoleError(e, lang))?;
            let mut page = account_page(&state, &user, &uri, &a, &events).await?;
            page.page.here = super::percent_encode(&format!("/accounts/{}", a.personal_id));
            page.notice = Some(Notice::refused(lang, &e));
            page.form = action;
            page.reason = reason;
            page.new_phone = new_phone;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Devices

/// One intake device as listed.
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub unit: String,
    pub status: String,
    pub status_class: &'static str,
    pub capacity: u64,
    pub fingerprint: String,
    pub public_key: String,
    pub created: String,
    /// The statuses this device can be moved to.
    pub actions: Vec<DeviceAction>,
}

/// A button that moves a device to another status.
pub struct DeviceAction {
    pub status: &'static str,
    pub label: &'static str,
    pub danger: bool,
}

#[derive(Template)]
#[template(path = "acc_devices.html")]
struct DevicesPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    sys: SysInfo,
    scope: String,
    rows: Vec<DeviceRow>,
    may_manage: bool,
    notice: Option<Notice>,
    name: String,
    unit: String,
    public_key: String,
    capacity: String,
}

fn device_row(lang: Lang, d: &Device, may_manage: bool) -> DeviceRow {
    let key = eid_core::secret::hex(&d.public_key);
    let actions = if may_manage {
        DeviceStatus::ALL
            .iter()
            .filter(|&&s| s != d.status && d.status.may_become(s))
            .map(|&s| DeviceAction {
                status: s.as_str(),
                label: lang.t(&format!("acc.device.to.{s}")),
                danger: s == DeviceStatus::Retired,
            })
            .collect()
    } else {
        Vec::new()
    };
    DeviceRow {
        id: d.id,
        name: d.name.clone(),
        unit: unit_label(&d.unit),
        status: label(lang, "acc.device_status", d.status.as_str()),
        status_class: d.status.badge(),
        capacity: u64::from(d.daily_capacity),
        fingerprint: key.chars().take(16).collect(),
        public_key: key,
        created: local(d.created_at),
        actions,
    }
}

/// Whether the officer may register devices and change their status (district and above).
fn may_manage(user: &ConsoleUser) -> bool {
    !matches!(user.caller.staff.role, Role::Commune | Role::Auditor)
}

async fn devices_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
) -> Result<DevicesPage, ConsoleError> {
    let lang = user.lang;
    let manage = may_manage(user);
    let devices = officer::devices(state, &user.caller, None)
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(DevicesPage {
        page: PageCtx::new(lang, Some(user), "accounts", &here(uri)),
        tabs: tabs(lang, "devices"),
        sys: sysinfo(state),
        scope: unit_label(&user.caller.staff.unit),
        rows: devices
            .iter()
            .map(|d| device_row(lang, d, manage))
            .collect(),
        may_manage: manage,
        notice: None,
        name: String::new(),
        unit: user.caller.staff.unit.as_str().to_owned(),
        public_key: String::new(),
        capacity: "50".to_owned(),
    })
}

/// `GET /devices`
pub async fn devices(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = devices_page(&state, &user, &uri).await?;
    page.notice = Notice::done(user.lang, &q, "acc", DONE);
    render(&page)
}

/// `POST /devices`: registers a device.
pub async fn device_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let (name, unit, key, capacity) = (
        form_value(&form, "name"),
        form_value(&form, "unit"),
        form_value(&form, "public_key"),
        form_value(&form, "daily_capacity"),
    );
    let added = match capacity.parse::<u32>() {
        Ok(n) => officer::add_device(&state, &user.caller, &name, &unit, &key, n).await,
        Err(_) => Err(AppError::bad(
            "device.capacity",
            "daily capacity must be 1 to 10,000",
        )),
    };
    match added {
        Ok(_) => Ok(Redirect::to("/devices?done=device_added").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = devices_page(&state, &user, &uri).await?;
            page.notice = Some(Notice::refused(lang, &e));
            (page.name, page.unit, page.public_key, page.capacity) = (name, unit, key, capacity);
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

/// `POST /devices/{id}/status`: suspends, reactivates or retires a device.
pub async fn device_status(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id: i64 = id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("device.not_found", "no device has this id"),
            lang,
        )
    })?;
    let status = form_value(&form, "status");
    match officer::device_status(&state, &user.caller, id, &status).await {
        Ok(_) => Ok(Redirect::to("/devices?done=device_status").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = devices_page(&state, &user, &uri).await?;
            page.page.here = super::percent_encode("/devices");
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The SMS outbox

/// One message of the outbox.
pub struct SmsRow {
    pub at: String,
    pub to: String,
    pub purpose: String,
    pub state: String,
    pub state_class: &'static str,
    pub attempts: u32,
    pub body: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "acc_sms.html")]
struct SmsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    sys: SysInfo,
    rows: Vec<SmsRow>,
}

fn sms_row(lang: Lang, m: &Sms) -> SmsRow {
    SmsRow {
        at: local(m.sent_at.unwrap_or(m.created_at)),
        to: PhoneNumber::parse(&m.to)
            .map(|p| p.masked())
            .unwrap_or_default(),
        purpose: label(lang, "acc.sms_purpose", &m.purpose),
        state: label(lang, "acc.sms_state", m.state.as_str()),
        state_class: m.state.badge(),
        attempts: m.attempts,
        body: m.body.clone(),
        error: m.last_error.clone().unwrap_or_default(),
    }
}

/// `GET /sms`: the development sink's messages, or what the configured gateway is. Ministry-level
/// staff only: the messages carry live codes.
pub async fn sms(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    if user.caller.staff.role != Role::Ministry {
        return Err(ConsoleError(AppError::ScopeDenied, lang));
    }
    let sys = sysinfo(&state);
    let rows = if sys.dev_sms {
        officer::sms(&state, &user.caller, SMS_LIMIT)
            .await
            .map_err(|e| ConsoleError(e, lang))?
            .iter()
            .map(|m| sms_row(lang, m))
            .collect()
    } else {
        Vec::new()
    };
    render(&SmsPage {
        page: PageCtx::new(lang, Some(&user), "accounts", &here(&uri)),
        tabs: tabs(lang, "sms"),
        sys,
        rows,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Every value the store writes has a translation in both languages.
    #[test]
    fn every_known_state_kind_and_purpose_is_translated() {
        let app_states: Vec<&str> = ApplicationState::ALL.iter().map(|s| s.as_str()).collect();
        let device_statuses: Vec<&str> = DeviceStatus::ALL.iter().map(|s| s.as_str()).collect();
        let account_statuses: Vec<&str> = AccountStatus::ALL.iter().map(|s| s.as_str()).collect();
        let sms_states: Vec<&str> = SmsState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(account_statuses, ["pending", "active", "locked"]);
        assert_eq!(sms_states, ["pending", "sent", "failed"]);
        let known: &[(&str, &[&str])] = &[
            ("acc.app_state", &app_states),
            ("acc.device_status", &device_statuses),
            ("acc.device.to", &device_statuses),
            ("acc.done", DONE),
            ("acc.state", &account_statuses),
            ("acc.sms_state", &sms_states),
            (
                "acc.sms_purpose",
                &[
                    "activate",
                    "register",
                    "device",
                    "phone_old",
                    "phone_new",
                    "reset",
                ],
            ),
            ("acc.method", &["fingerprint", "portrait"]),
            ("acc.against", &["card", "register", "immigration"]),
            (
                "acc.by",
                &["automatic", "officer", "self_service", "guardian"],
            ),
            ("acc.secret", &["password", "passcode"]),
            (
                "acc.detail",
                &[
                    "reason",
                    "name",
                    "daily_capacity",
                    "from",
                    "to",
                    "by",
                    "valid_until",
                    "verifier",
                    "score",
                    "relation",
                    "secret",
                    "minutes",
                    "device",
                    "level",
                    "photo_sha256",
                    "phone",
                    "method",
                    "against",
                    "matched",
                    "packet_sha256",
                ],
            ),
            ("acc.register_lock", &["dead", "emigrated", "card_revoked"]),
            (
                "acc.event",
                &[
                    "registration_refused",
                    "registration_started",
                    "level1_activated",
                    "level2_activated",
                    "application_collected",
                    "application_review",
                    "application_approved",
                    "application_rejected",
                    "activation_code_sent",
                    "activation_code_resent",
                    "guardian_recorded",
                    "secret_failed",
                    "locked_out",
                    "signed_in",
                    "device_check_sent",
                    "device_bound",
                    "phone_change_started",
                    "phone_changed",
                    "password_reset_started",
                    "password_reset",
                    "password_changed",
                    "passcode_changed",
                    "locked_by_holder",
                    "unlocked_by_holder",
                    "locked_by_officer",
                    "unlocked_by_officer",
                    "locked_by_register",
                    "unlocked_by_register",
                ],
            ),
        ];
        for (prefix, values) in known {
            for v in *values {
                let key = format!("{prefix}.{v}");
                assert_ne!(Lang::Vi.t(&key), "??", "{key}");
                assert_ne!(Lang::En.t(&key), "??", "{key}");
            }
        }
    }

    #[test]
    fn review_reasons_are_translated_one_by_one_and_unknown_ones_kept() {
        let all = REVIEW_REASONS
            .iter()
            .map(|(en, _)| *en)
            .collect::<Vec<_>>()
            .join("; ");
        assert_eq!(
            review_reason(Lang::Vi, &all),
            "Thiết bị không đối sánh khớp vân tay hay ảnh chân dung; \
             Dưới 14 tuổi: cần có sự đồng ý của người giám hộ; \
             Số điện thoại khác số trong CSDL dân cư"
        );
        assert_eq!(
            review_reason(
                Lang::En,
                "something new; the phone differs from the one in the register"
            ),
            "something new; The phone differs from the one in the register"
        );
    }

    #[test]
    fn an_unknown_value_shows_as_stored() {
        assert_eq!(
            label(Lang::En, "acc.event", "brand_new_kind"),
            "brand_new_kind"
        );
        assert_eq!(label(Lang::Vi, "acc.app_state", "review"), "Chờ duyệt");
    }

    #[test]
    fn long_hex_in_an_event_detail_is_cut() {
        let d = serde_json::json!({ "matched": true, "packet_sha256": "ab".repeat(32) });
        assert_eq!(
            detail_text(Lang::En, &d),
            "matched: yes · packet: abababababababab…"
        );
        let d = serde_json::json!({ "by": "automatic", "reason": "dead" });
        assert_eq!(detail_text(Lang::Vi, &d), "bởi: tự động · lý do: Đã mất");
    }
}
