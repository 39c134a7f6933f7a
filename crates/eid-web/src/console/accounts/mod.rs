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

mod account;
mod applications;
mod devices;
mod sms;

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
use crate::accounts::officer;
use crate::error::AppError;
use crate::state::AppState;
use crate::wire::unit_name;

pub use account::*;
pub use applications::*;
pub use devices::*;
pub use sms::*;

/// The most applications a queue page lists.
pub(super) const QUEUE_LIMIT: u32 = 200;
/// The most messages the SMS page lists.
pub(super) const SMS_LIMIT: u32 = 100;
/// What the outcome notices may say (`?done=`), each a translation key `acc.done.<value>`.
pub(super) const DONE: &[&str] = &[
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
pub(super) fn label(lang: Lang, prefix: &str, value: &str) -> String {
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

pub(super) fn tabs(lang: Lang, active: &str) -> Vec<Tab> {
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
    /// The development verifier runs: the page says so in the reader's language.
    pub verifier_dev: bool,
    pub sms: &'static str,
    pub dev_sms: bool,
}

pub(super) fn sysinfo(state: &AppState) -> SysInfo {
    let sms = state.sms.name();
    SysInfo {
        verifier_dev: state.verifier.describe().starts_with("dev-hash"),
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
pub(super) fn unit_label(code: &UnitCode) -> String {
    match unit_name(code) {
        Some(n) => format!("{n} ({})", code.as_str()),
        None => code.as_str().to_owned(),
    }
}

pub(super) fn form_value(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// Who did something, as shown in tables: a staff member's name and username, the citizen
/// for the app's own actions, a system name otherwise.
pub(super) fn actor_label(lang: Lang, actor: &Actor, staff: &HashMap<i64, String>) -> String {
    match actor {
        Actor::Staff(id) => staff.get(id).cloned().unwrap_or_else(|| actor.to_db()),
        Actor::Anonymous => lang.t("acc.actor.citizen").to_owned(),
        Actor::Cli(what) => format!("{} ({what})", lang.t("acc.actor.system")),
        Actor::Token(_) => actor.to_db(),
    }
}

/// Display names of staff and devices by id, for the tables of one page.
#[derive(Default)]
pub(super) struct Names {
    staff: HashMap<i64, String>,
    devices: HashMap<i64, String>,
}

pub(super) async fn names(
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

pub(super) fn device_label(names: &Names, id: i64) -> String {
    names
        .devices
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("#{id}"))
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
