//! Intake devices: the list, registration and status.

use super::*;

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
pub(super) struct DevicesPage {
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

pub(super) fn device_row(lang: Lang, d: &Device, may_manage: bool) -> DeviceRow {
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
pub(super) fn may_manage(user: &ConsoleUser) -> bool {
    !matches!(user.caller.staff.role, Role::Commune | Role::Auditor)
}

pub(super) async fn devices_page(
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
            page.page.here = crate::console::percent_encode("/devices");
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
