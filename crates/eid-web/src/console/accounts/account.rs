//! An account: its locks, events and the officer's actions on it.

use super::*;

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
    pub unit: String,
    pub device: String,
    pub detail: String,
    pub application: Option<i64>,
}

#[derive(Template)]
#[template(path = "acc_account.html")]
pub(super) struct AccountPage {
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
pub(super) fn detail_text(lang: Lang, v: &serde_json::Value) -> String {
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
                (_, serde_json::Value::String(s)) => match eid_domain::parse_iso_date(s) {
                    Some(d) => crate::ui::format::day_label(lang, d),
                    None => s.clone(),
                },
                (_, serde_json::Value::Number(n)) if n.is_f64() => {
                    crate::ui::format::fixed(lang, n.as_f64().unwrap_or_default(), 2)
                }
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
pub(super) const REVIEW_REASONS: &[(&str, &str)] = &[
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

pub(super) fn review_reason(lang: Lang, raw: &str) -> String {
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

pub(super) async fn account_page(
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
            .map(|s| crate::ui::format::fixed(lang, s, 3))
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
    Redirect::to(&format!("/accounts/{}", crate::console::percent_encode(id))).into_response()
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
            page.page.here =
                crate::console::percent_encode(&format!("/accounts/{}", a.personal_id));
            page.notice = Some(Notice::refused(lang, &e));
            page.form = action;
            page.reason = reason;
            page.new_phone = new_phone;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
