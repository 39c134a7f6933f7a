//! The application queue and one application: review, approval, rejection, re-send.

use super::*;

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
pub(super) struct QueuePage {
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

pub(super) fn matching(lang: Lang, a: &Application) -> (String, String) {
    let result = lang.t(if a.matched {
        "acc.match.yes"
    } else {
        "acc.match.no"
    });
    let score = a
        .match_score
        .map(|s| format!(" {}", crate::ui::format::fixed(lang, s, 2)))
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
        d => match eid_core::ops::parse_day_text(d) {
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
    if let Ok(u) = user.caller.within(Some(unit.as_str())) {
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
pub(super) struct ApplicationPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    id: i64,
    personal_id: String,
    /// Whether the applicant has an account (the account link shows only then).
    has_account: bool,
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

pub(super) async fn application_page(
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
    let pid = a.personal_id;
    let has_account = state
        .read(move |store| Ok(eid_core::accounts::account_of(store, &pid)?.is_some()))
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
        has_account,
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

pub(super) fn application_id(raw: &str, lang: Lang) -> Result<i64, ConsoleError> {
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
            page.page.here = crate::console::percent_encode(&format!("/applications/{id}"));
            page.reason = reason;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
