//! Verify an officer (issue 15): every staff account can show a short-lived code (8 characters
//! from an alphabet without look-alikes, valid 5 minutes), stored as its SHA-256 only. A citizen
//! checks a code — on their pages or signed out, rate-limited per client through the core
//! attempt limits — and learns only "an officer of <unit>, on duty" or "not valid": nothing
//! tells an unknown code from an expired one or names the officer. Failed checks are counted
//! per claimed unit and day ("possible scam calls").

use rand::Rng;
use time::{Duration, OffsetDateTime};

use crate::accounts::limits;
use crate::sql::{self, Val};
use crate::store::{to_ms, Role};
use crate::{Acting, Error, Store, StoreError};

/// How long a code is valid.
pub const VALID_FOR: Duration = Duration::minutes(5);
/// The code's length.
pub const LEN: usize = 8;
/// Checks per client and window.
pub const CHECK_LIMIT: u32 = 10;
pub const CHECK_WINDOW: Duration = Duration::minutes(10);

const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A code shown to an officer.
#[derive(Clone)]
pub struct Issued {
    pub code: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issued(…)")
    }
}

/// The code as typed: upper case, spaces and dashes dropped.
pub fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn hash(code: &str) -> Vec<u8> {
    crate::secret::token_hash(&format!("officer-code:{code}"))
}

/// A fresh code for the caller (any staff account but an auditor's). Audited as
/// `officer_code.issue`.
pub fn issue(store: &dyn Store, acting: &Acting) -> Result<Issued, Error> {
    let result = (|| {
        if acting.caller.role() == Role::Auditor {
            return Err(Error::ScopeDenied);
        }
        let mut rng = rand::rngs::OsRng;
        let code: String = (0..LEN)
            .map(|_| {
                let i = rng.gen_range(0..ALPHABET.len());
                char::from(ALPHABET.get(i).copied().unwrap_or(b'A'))
            })
            .collect();
        let expires_at = acting.now + VALID_FOR;
        sql::transact(store.db(), |tx| {
            tx.exec(
                "DELETE FROM officer_code WHERE expires_at < $1",
                &[to_ms(acting.now - Duration::hours(1)).into()],
            )?;
            tx.exec(
                "INSERT INTO officer_code (code_hash, staff_id, unit, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    hash(&code).into(),
                    acting.caller.staff.id.into(),
                    acting.caller.unit().to_string().into(),
                    to_ms(acting.now).into(),
                    to_ms(expires_at).into(),
                ],
            )?;
            Ok::<_, StoreError>(())
        })?;
        Ok(Issued { code, expires_at })
    })();
    acting.audited(store, "officer_code.issue", "self", result)
}

/// What a check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// An officer of this unit (2024 code and name), on duty.
    Valid {
        unit: String,
        unit_name: String,
    },
    NotValid,
    /// Too many checks from this client: try again at this time.
    Limited(OffsetDateTime),
}

/// Checks a code. `client` identifies the asker for the rate limit (an address or a session,
/// hashed before it is stored); `claimed_unit` is the unit the caller said they were from, which
/// a failure is counted against ("unknown" when none or not a unit).
pub fn check(
    store: &dyn Store,
    code: &str,
    claimed_unit: Option<&str>,
    client: &str,
    now: OffsetDateTime,
) -> Result<Check, Error> {
    let code = normalise(code);
    let claimed = claimed_unit
        .map(str::trim)
        .and_then(|u| eid_domain::UnitCode::parse(u).ok())
        .map(|u| u.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let day = now.unix_timestamp().div_euclid(86_400);
    let found = sql::transact(store.db(), |tx| {
        let key = limits::hashed_key(tx, "officer_check", client)?;
        let r = limits::reserve(tx, &key, CHECK_LIMIT, CHECK_WINDOW, now)?;
        if !r.granted {
            return Ok::<_, StoreError>(Err(r.until));
        }
        let row = if code.len() == LEN {
            tx.row(
                "SELECT c.unit FROM officer_code c JOIN staff s ON s.id = c.staff_id \
                 WHERE c.code_hash = $1 AND c.expires_at > $2 AND NOT s.disabled",
                &[hash(&code).into(), to_ms(now).into()],
            )?
        } else {
            None
        };
        let unit = row
            .and_then(|r| r.first().cloned())
            .map(|v| v.text())
            .transpose()?;
        if unit.is_none() {
            tx.exec(
                "INSERT INTO officer_check_fail (unit, day, n) VALUES ($1, $2, 1) \
                 ON CONFLICT (unit, day) DO UPDATE SET n = officer_check_fail.n + 1",
                &[claimed.as_str().into(), day.into()],
            )?;
        }
        Ok(Ok(unit))
    })?;
    Ok(match found {
        Err(until) => Check::Limited(until),
        Ok(None) => Check::NotValid,
        Ok(Some(unit)) => {
            let unit_name = eid_domain::UnitCode::parse(&unit)
                .ok()
                .and_then(|c| {
                    eid_domain::Units::get()
                        .unit(eid_domain::Tree::Gso2024, &c)
                        .map(|u| u.name.clone())
                })
                .unwrap_or_else(|| unit.clone());
            Check::Valid { unit, unit_name }
        }
    })
}

/// Failed checks per claimed unit and day, the last `days` days, most first: (unit, day as days
/// since 1970, count). Staff see the units within their own (the nation sees all, "unknown"
/// included); auditors too. Audited as `officer_code.failures`.
pub fn failures(
    store: &dyn Store,
    acting: &Acting,
    days: i64,
) -> Result<Vec<(String, i64, i64)>, Error> {
    let since = acting.now.unix_timestamp().div_euclid(86_400) - days;
    let result = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT unit, day, n FROM officer_check_fail WHERE day > $1 ORDER BY n DESC, day DESC LIMIT 500",
            &[since.into()],
        )
    })
    .map_err(Error::from)
    .and_then(|rows| {
        let own = acting.caller.unit();
        let national = own.level() == eid_domain::Level::Nation
            || matches!(acting.caller.role(), Role::Ministry | Role::Auditor);
        let mut out = Vec::new();
        for r in rows {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            let unit = g(0).text()?;
            let visible = national
                || eid_domain::UnitCode::parse(&unit).is_ok_and(|u| {
                    eid_domain::Units::get().contains(eid_domain::Tree::Gso2024, &own, &u)
                });
            if visible {
                out.push((unit, g(1).int()?, g(2).int()?));
            }
        }
        Ok(out)
    });
    acting.audited(store, "officer_code.failures", "units", result)
}
