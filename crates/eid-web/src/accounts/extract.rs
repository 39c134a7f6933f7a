//! The citizen's session, as an extractor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use eid_core::accounts::{self as acc, Account, Refusal};

use crate::error::AppError;
use crate::limits::Kind;
use crate::state::AppState;

/// A citizen route that checks a password, passcode or code: the request is let through its
/// source address's allowance first ([`crate::limits`]), or answered 429 `auth.rate_limited`.
pub struct SecretSource;

impl FromRequestParts<AppState> for SecretSource {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state.sources.take_for(Kind::Secret, parts)?;
        Ok(SecretSource)
    }
}

/// A citizen route that may send an SMS: as [`SecretSource`], with the SMS allowance.
pub struct SmsSource;

impl FromRequestParts<AppState> for SmsSource {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state.sources.take_for(Kind::Sms, parts)?;
        Ok(SmsSource)
    }
}

/// A signed-in citizen, from `Authorization: Bearer <session token>`. A locked account is
/// refused here: it can do nothing.
pub struct Citizen {
    pub account: Account,
    pub token: String,
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(AppError::Unauthenticated)?
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::BadCredentials)?
            .to_owned();
        let now = state.now();
        let t = token.clone();
        let account = state
            .blocking(move |store| {
                let Some(a) = acc::session_account(store, &t, now)? else {
                    return Ok(None);
                };
                Ok(Some(acc::sync_account_lock(store, a, now)?))
            })
            .await?
            .ok_or(AppError::BadCredentials)?;
        let locks = account.locks();
        if !locks.is_empty() {
            return Err(Refusal::AccountLocked(locks).into());
        }
        Ok(Citizen { account, token })
    }
}
