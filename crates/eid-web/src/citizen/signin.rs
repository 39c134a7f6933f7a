//! Sign-in on this browser: the password (`/me/signin`), a new browser's code from the bound
//! phone (`/me/signin/code`), the passcode that raises the session to level 2
//! (`/me/signin/passcode`), and sign-out. `next`, `acr` and `fresh` travel through every step
//! as [`Target`]; only a local `next` is followed.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use eid_core::accounts::web_session::{self, WebSession};
use eid_core::accounts::{self as acc, Refusal, SignIn};
use eid_domain::AccountLevel;

use super::forms::in_place;
use super::session::{self, current, encode, local_next, session_cookie, MaybeCitizen};
use super::{field, guard, refusal, render, secret, see_other, Citizen, Fields, MeError, MePage};
use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

/// Where a sign-in goes afterwards: a local path, the level asked, and whether the password
/// must be asked again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub next: String,
    pub acr: u8,
    pub fresh: bool,
}

impl Target {
    pub fn from_fields(f: &Fields) -> Target {
        Target {
            next: local_next(field(f, "next")).to_owned(),
            acr: if field(f, "acr") == "2" { 2 } else { 1 },
            fresh: field(f, "fresh") == "1",
        }
    }

    /// As a query string (without `?`).
    pub fn query(&self) -> String {
        format!(
            "next={}&acr={}&fresh={}",
            encode(&self.next),
            self.acr,
            u8::from(self.fresh)
        )
    }

    /// Where to go once the password (or a new browser's code) is right.
    fn after_password(&self) -> String {
        if self.acr == 2 {
            format!("/me/signin/passcode?{}", self.query())
        } else {
            self.next.clone()
        }
    }
}

#[derive(Template)]
#[template(path = "me_signin.html")]
struct SignInPage {
    page: MePage,
    target: Target,
    personal_id: String,
    error: &'static str,
    done: &'static str,
}

#[derive(Template)]
#[template(path = "me_code.html")]
struct CodePage {
    page: MePage,
    target: Target,
    handle: String,
    error: &'static str,
}

#[derive(Template)]
#[template(path = "me_passcode.html")]
struct PasscodePage {
    page: MePage,
    target: Target,
    error: &'static str,
}

fn here(t: &Target) -> String {
    format!("/me/signin?{}", t.query())
}

/// The sign-in page; with a live session (and no `fresh`), straight on to `next`, or to the
/// passcode when level 2 is asked of a level-1 session.
pub async fn form(
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let t = Target::from_fields(&q);
    if let Some(s) = &s {
        if !t.fresh {
            return Ok(if t.acr == 2 && s.level != AccountLevel::Two {
                see_other(&format!("/me/signin/passcode?{}", t.query()))
            } else {
                see_other(&t.next)
            });
        }
    }
    let page = MePage::new(&headers, None, "", &here(&t));
    let done = super::account::done(page.lang, &q);
    render(
        &SignInPage {
            page,
            target: t,
            personal_id: String::new(),
            error: "",
            done,
        },
        StatusCode::OK,
    )
}

/// Opens the session: sets the cookie and goes on.
fn opened(state: &AppState, token: &str, to: &str) -> Response {
    let mut response = see_other(to);
    let max_age = u64::from(state.config.citizen.absolute_hours) * 3600;
    session::add_cookie(&mut response, &session_cookie(state, token, max_age));
    response
}

/// The answer of a sign-in step: the session, or a new browser's code page.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    old: Option<WebSession>,
    out: SignIn,
    t: Target,
) -> Result<Response, MeError> {
    match out {
        SignIn::Session { token, .. } => {
            if let Some(old) = old {
                let now = state.now();
                state
                    .blocking(move |store| Ok(web_session::end(store, old.id, now)?))
                    .await?;
            }
            Ok(opened(state, &token, &t.after_password()))
        }
        SignIn::DeviceCheck { handle } => {
            state.dispatcher.wake();
            let page = MePage::new(headers, None, "", &here(&t));
            render(
                &CodePage {
                    page,
                    target: t,
                    handle,
                    error: "",
                },
                StatusCode::ACCEPTED,
            )
        }
    }
}

/// Checks the password on this browser.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let t = Target::from_fields(&f);
    let page = || MePage::new(&headers, None, "", &here(&t));
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let device = session::device_hash(&headers).ok_or(AppError::Csrf)?;
    let old = current(&state, &headers).await?;
    let (s, now) = (state.accounts.clone(), state.now());
    let (pid, password) = (field(&f, "personal_id").to_owned(), secret(&f, "password"));
    let id = pid.clone();
    let out = state
        .hashing(move |store| {
            let c = acc::Credentials {
                personal_id: &id,
                password: &password,
                passcode: None,
            };
            Ok(web_session::sign_in(store, &s, &c, &device, now)?)
        })
        .await;
    match out {
        Ok(out) => signed_in(&state, &headers, old, out, t).await,
        Err(e) => match in_place(&e) {
            Some(error) => render(
                &SignInPage {
                    page: page(),
                    target: t.clone(),
                    personal_id: pid,
                    error,
                    done: "",
                },
                e.status(),
            ),
            None => Ok(refusal::page(&e, page())),
        },
    }
}

/// A new browser: the code sent to the bound phone.
pub async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let t = Target::from_fields(&f);
    let page = || MePage::new(&headers, None, "", &here(&t));
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let (handle, code) = (field(&f, "handle").to_owned(), field(&f, "code").to_owned());
    let old = current(&state, &headers).await?;
    let (s, now) = (state.accounts.clone(), state.now());
    let h = handle.clone();
    let out = state
        .blocking(move |store| Ok(web_session::confirm_device(store, &s, &h, &code, now)?))
        .await;
    match out {
        Ok(out) => signed_in(&state, &headers, old, out, t).await,
        Err(e) => match in_place(&e) {
            Some(error) => render(
                &CodePage {
                    page: page(),
                    target: t.clone(),
                    handle,
                    error,
                },
                e.status(),
            ),
            None => Ok(refusal::page(&e, page())),
        },
    }
}

/// The account behind a session, or a redirect to sign in when it is gone.
pub(super) async fn account_of(state: &AppState, s: &WebSession) -> Result<acc::Account, MeError> {
    let (s, now) = (s.clone(), state.now());
    state
        .blocking(move |store| Ok(web_session::account(store, &s, now)?))
        .await?
        .ok_or_else(|| MeError::Redirect(super::sign_in_url("/me", 1, false)))
}

/// The passcode page (level 2); a level-1 account is told how to upgrade.
pub async fn passcode_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    let t = Target {
        acr: 2,
        ..Target::from_fields(&q)
    };
    let page = MePage::new(
        &headers,
        Some(&s),
        "",
        &format!("/me/signin/passcode?{}", t.query()),
    );
    let a = account_of(&state, &s).await?;
    if a.level != AccountLevel::Two {
        return Ok(refusal::page(&Refusal::Level2Required.into(), page));
    }
    if s.level == AccountLevel::Two && !t.fresh {
        return Ok(see_other(&t.next));
    }
    render(
        &PasscodePage {
            page,
            target: t,
            error: "",
        },
        StatusCode::OK,
    )
}

/// Raises the session to level 2.
pub async fn passcode(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let t = Target {
        acr: 2,
        ..Target::from_fields(&f)
    };
    let page = || {
        MePage::new(
            &headers,
            Some(&s),
            "",
            &format!("/me/signin/passcode?{}", t.query()),
        )
    };
    if let Err(e) = guard(&state, &headers, &extensions, &f, &[Kind::Secret]) {
        return Ok(refusal::page(&e, page()));
    }
    let (st, now) = (state.accounts.clone(), state.now());
    let (session, pc) = (s.clone(), secret(&f, "passcode"));
    let out = state
        .hashing(move |store| Ok(web_session::step_up(store, &st, &session, &pc, now)?))
        .await;
    match out {
        Ok(_) => Ok(see_other(&t.next)),
        Err(e) => match in_place(&e) {
            Some(error) => render(
                &PasscodePage {
                    page: page(),
                    target: t.clone(),
                    error,
                },
                e.status(),
            ),
            None => Ok(refusal::page(&e, page())),
        },
    }
}

/// Ends this browser's session.
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCitizen(s): MaybeCitizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let lang = crate::console::i18n::Lang::from_headers(&headers);
    session::check_csrf(&headers, field(&f, "csrf")).map_err(|e| MeError::lang(e, lang))?;
    if let Some(s) = s {
        let now = state.now();
        state
            .blocking(move |store| Ok(web_session::end(store, s.id, now)?))
            .await
            .map_err(|e| MeError::lang(e, lang))?;
    }
    let mut response = see_other("/me/signin");
    session::add_cookie(&mut response, &session_cookie(&state, "", 0));
    Ok(response)
}
