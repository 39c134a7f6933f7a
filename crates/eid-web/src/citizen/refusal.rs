//! Refusal pages: every refusal of the account rules (and of the web boundary: a stale form,
//! too many requests) as a page in plain words that says what happened and what to do next —
//! try again later, call the hotline 1900 0368, go to the nearest police unit that collects
//! applications, upgrade the account.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use eid_domain::{Tree, Units};

use super::MePage;
use crate::console::i18n::Lang;
use crate::error::{request_id, AppError};

/// An error of a `/me` page: a page that explains it, or a redirect (to sign in).
#[derive(Debug)]
pub enum MeError {
    Page(AppError, Lang),
    Redirect(String),
}

impl From<AppError> for MeError {
    fn from(e: AppError) -> MeError {
        MeError::Page(e, Lang::Vi)
    }
}

impl MeError {
    /// The same error shown in `lang`.
    pub fn lang(e: AppError, lang: Lang) -> MeError {
        MeError::Page(e, lang)
    }
}

/// The translation keys of a refusal: its title and what to do next. Every code the account
/// rules answer has its own pair; others fall back to a general one.
pub fn keys(lang: Lang, code: &str) -> (&'static str, &'static str) {
    let title = lang.t(&format!("me.err.{code}"));
    let next = lang.t(&format!("me.next.{code}"));
    (
        if title == "??" {
            lang.t("me.err.other")
        } else {
            title
        },
        if next == "??" {
            lang.t("me.next.other")
        } else {
            next
        },
    )
}

#[derive(Template)]
#[template(path = "me_refusal.html")]
struct RefusalPage {
    page: MePage,
    code: &'static str,
    title: &'static str,
    next: &'static str,
    /// The units to go to (names), for "go in person".
    units: Vec<String>,
    /// Minutes to wait, for a lock-out or too many codes.
    wait_minutes: i64,
    request_id: String,
}

/// The names of the units a refusal lists (codes in its detail).
fn units_of(e: &AppError) -> Vec<String> {
    let AppError::Refused {
        detail: Some(d), ..
    } = e
    else {
        return Vec::new();
    };
    let all = Units::get();
    d.get("collecting_units")
        .and_then(|v| v.as_array())
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_str())
                .filter_map(|c| eid_domain::UnitCode::parse(c).ok())
                .filter_map(|c| all.unit(Tree::Gso2024, &c).map(|u| u.name.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_of(e: &AppError) -> i64 {
    let secs = match e {
        AppError::Refused {
            detail: Some(d), ..
        } => d
            .get("retry_after_seconds")
            .and_then(|v| v.as_i64())
            .unwrap_or(0),
        AppError::RateLimited { retry_after } => i64::try_from(*retry_after).unwrap_or(0),
        _ => 0,
    };
    if secs <= 0 {
        0
    } else {
        (secs + 59) / 60
    }
}

/// The refusal page of `e` (the page context from a request, or a bare one).
pub fn page(e: &AppError, page: MePage) -> Response {
    let rid = request_id();
    e.log(&rid);
    let code = e.code();
    let (title, next) = keys(page.lang, code);
    let status = e.status();
    let view = RefusalPage {
        code,
        title,
        next,
        units: units_of(e),
        wait_minutes: wait_of(e),
        request_id: rid,
        page,
    };
    let mut response = match view.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    e.extra_headers(&mut response);
    response
        .headers_mut()
        .remove(axum::http::header::WWW_AUTHENTICATE);
    response
}

impl IntoResponse for MeError {
    fn into_response(self) -> Response {
        match self {
            MeError::Redirect(to) => Redirect::to(&to).into_response(),
            MeError::Page(AppError::Unauthenticated | AppError::BadCredentials, _) => {
                Redirect::to("/me/signin").into_response()
            }
            MeError::Page(e, lang) => {
                let ctx = MePage {
                    lang,
                    development: crate::console::development(),
                    signed_in: false,
                    nav: Vec::new(),
                    csrf: String::new(),
                    here: "/me".into(),
                };
                page(&e, ctx)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use eid_core::accounts::Refusal;
    use eid_domain::DeviceStatus;
    use time::OffsetDateTime;

    use super::*;

    /// One of each refusal the account rules answer.
    fn every_refusal() -> Vec<Refusal> {
        vec![
            Refusal::Under14,
            Refusal::FaceMismatch,
            Refusal::BadCode,
            Refusal::TooManySends,
            Refusal::TooManyCodes(OffsetDateTime::UNIX_EPOCH),
            Refusal::BadCredentials,
            Refusal::LockedOut(OffsetDateTime::UNIX_EPOCH),
            Refusal::AccountLocked(vec!["holder"]),
            Refusal::BadPasscode,
            Refusal::DeviceUnknown,
            Refusal::DeviceInactive(DeviceStatus::Suspended),
            Refusal::DeviceOutsideScope,
            Refusal::BadPacket("x".into()),
            Refusal::Replay,
            Refusal::PacketTime,
            Refusal::OfficerUnknown,
            Refusal::OfficerOutsideScope,
            Refusal::PersonUnknown,
            Refusal::PersonNotAlive("dead"),
            Refusal::CardInvalid("expired"),
            Refusal::ApplicationOpen,
            Refusal::NotFound("account.not_found"),
            Refusal::WrongState("x".into()),
            Refusal::NotHigherLevel,
            Refusal::Level2Required,
            Refusal::GuardianRequired,
            Refusal::NotGuardian,
            Refusal::GoInPerson {
                card_issued: None,
                units: vec![],
            },
            Refusal::Invalid("account.bad_phone", "x".into()),
        ]
    }

    #[test]
    fn every_refusal_the_citizen_can_meet_has_its_own_words_in_both_languages() {
        for r in every_refusal() {
            let code = r.code();
            for lang in [Lang::Vi, Lang::En] {
                let (title, next) = keys(lang, code);
                assert_ne!(title, "??", "{code}");
                assert!(!next.is_empty() && next != "??", "{code}");
            }
            // Its own words, not the general fallback (a rule the citizen may meet).
            if !matches!(
                r,
                Refusal::DeviceUnknown
                    | Refusal::DeviceInactive(_)
                    | Refusal::DeviceOutsideScope
                    | Refusal::BadPacket(_)
                    | Refusal::Replay
                    | Refusal::PacketTime
                    | Refusal::OfficerUnknown
                    | Refusal::OfficerOutsideScope
                    | Refusal::NotHigherLevel
                    | Refusal::NotFound(_)
                    | Refusal::Invalid(..)
            ) {
                assert_ne!(
                    Lang::Vi.t(&format!("me.err.{code}")),
                    "??",
                    "{code} has no page of its own"
                );
                assert_ne!(Lang::Vi.t(&format!("me.next.{code}")), "??", "{code}");
            }
        }
    }

    #[test]
    fn the_hotline_is_named_where_the_citizen_is_stuck() {
        for code in [
            "account.locked",
            "auth.locked_out",
            "account.face_mismatch",
            "person.card_invalid",
        ] {
            let (_, next) = keys(Lang::Vi, code);
            assert!(next.contains("1900 0368"), "{code}: {next}");
        }
        let (_, next) = keys(Lang::Vi, "account.go_in_person");
        assert!(next.contains("công an"), "{next}");
        let (_, next) = keys(Lang::Vi, "account.level2_required");
        assert!(
            next.contains("nâng cấp") || next.contains("Nâng cấp"),
            "{next}"
        );
    }
}
