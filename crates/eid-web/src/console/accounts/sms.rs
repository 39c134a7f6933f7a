//! The development SMS outbox (ministry staff only).

use super::*;

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
pub(super) struct SmsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    sys: SysInfo,
    rows: Vec<SmsRow>,
}

pub(super) fn sms_row(lang: Lang, m: &Sms) -> SmsRow {
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
