//! Accounts as stored: the row, its reading, and the secrets kept beside it.

use std::fmt;

use eid_domain::redact;
use eid_domain::{AccountLevel, AccountState, AccountStatus, PersonalId, UnitCode};
use time::OffsetDateTime;

use crate::account_key::{self, Key, ACCOUNT};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, Store, StoreError};

/// An account, without its secrets. Its `Debug` masks the phone and the guardian.
#[derive(Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    pub personal_id: PersonalId,
    /// Zero while pending, then one or two.
    pub level: AccountLevel,
    pub state: AccountState,
    /// E.164.
    pub phone: String,
    pub guardian: Option<String>,
    pub commune: UnitCode,
    pub res_path: i64,
    pub verifier: Option<String>,
    pub verifier_score: Option<f64>,
    pub holder_lock: bool,
    pub officer_lock: Option<String>,
    pub register_lock: Option<String>,
    pub failures: u32,
    pub locked_out_until: Option<OffsetDateTime>,
    pub device_hash: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
}

impl Account {
    /// Who holds a lock on the account (holder, officer, register); empty when usable.
    pub fn locks(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.holder_lock {
            v.push("holder");
        }
        if self.officer_lock.is_some() {
            v.push("officer");
        }
        if self.register_lock.is_some() {
            v.push("register");
        }
        v
    }
    /// How a statement names this account: by its id, in the partition of the `res_path` it
    /// was read with (see [`crate::account_key`]).
    pub fn key(&self) -> Key<'static> {
        Key::At {
            id: self.id,
            res_path: self.res_path,
        }
    }
    /// Whether the account is active (it may still be locked).
    pub fn is_active(&self) -> bool {
        match self.state {
            AccountState::Active => true,
            AccountState::Pending => false,
        }
    }
    /// Pending, active, or active but locked.
    pub fn status(&self) -> AccountStatus {
        match self.state {
            AccountState::Pending => AccountStatus::Pending,
            AccountState::Active if self.locks().is_empty() => AccountStatus::Active,
            AccountState::Active => AccountStatus::Locked,
        }
    }
}

pub(super) const ACCOUNT_COLS: &str = "id, personal_id, level, state, phone, guardian_id, commune, res_path, \
    verifier, verifier_score, holder_lock, officer_lock, register_lock, failures, locked_out_until, \
    device_hash, created_at, activated_at";

pub(super) fn account_from(r: &SqlRow) -> Result<Account, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let id_text = g(1).text()?;
    Ok(Account {
        id: g(0).int()?,
        personal_id: PersonalId::parse(&id_text)
            .map_err(|e| StoreError::Corrupt(format!("account personal ID: {e}")))?,
        level: AccountLevel::from_number(g(2).int()?).map_err(corrupt)?,
        state: AccountState::parse(&g(3).text()?).map_err(corrupt)?,
        phone: g(4).text()?,
        guardian: g(5).opt_text()?,
        commune: UnitCode::parse(&g(6).text()?)
            .map_err(|e| StoreError::Corrupt(format!("account commune: {e}")))?,
        res_path: g(7).int()?,
        verifier: g(8).opt_text()?,
        verifier_score: g(9).opt_real()?,
        holder_lock: g(10).int()? != 0,
        officer_lock: g(11).opt_text()?,
        register_lock: g(12).opt_text()?,
        failures: u32::try_from(g(13).int()?).unwrap_or(u32::MAX),
        locked_out_until: g(14).opt_int()?.map(from_ms),
        device_hash: g(15).opt_blob()?,
        created_at: from_ms(g(16).int()?),
        activated_at: g(17).opt_int()?.map(from_ms),
    })
}

/// A stored value that names no state: the database holds what the code does not know.
pub(super) fn corrupt(e: eid_domain::UnknownState) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The account `key` names, read inside `tx` (on PostgreSQL from its one partition, see
/// [`crate::account_key`]).
pub(crate) fn account_where(tx: &mut dyn Tx, key: Key<'_>) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM account WHERE {ACCOUNT}");
    account_key::row(tx, &sql, &[], key)?
        .as_ref()
        .map(account_from)
        .transpose()
}

/// The account of a person, if any.
pub fn account_of(store: &dyn Store, id: &PersonalId) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| account_where(tx, Key::Person(id.as_str())))
}

/// An account by its id.
pub fn account_by_id(store: &dyn Store, id: i64) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| account_where(tx, Key::Id(id)))
}

/// An account with the Argon2id hashes of its password and passcode.
pub(super) type WithSecrets = (Account, Option<String>, Option<String>);

/// The active account of a person with the Argon2id hashes of its password and passcode, in
/// one statement (a sign-in's first read).
pub(super) fn active_account_and_secrets(
    store: &dyn Store,
    id: &PersonalId,
) -> Result<Option<WithSecrets>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {ACCOUNT_COLS}, password_hash, passcode_hash FROM account WHERE {ACCOUNT}"
        );
        let Some(r) = account_key::row(tx, &sql, &[], Key::Person(id.as_str()))? else {
            return Ok(None);
        };
        let a = account_from(&r)?;
        if !a.is_active() {
            return Ok(None);
        }
        // The two hashes are the last two columns.
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null).opt_text();
        let n = r.len().saturating_sub(2);
        Ok(Some((a, g(n)?, g(n + 1)?)))
    })
}

/// The Argon2id hashes of an account's password and passcode, for checking off the runtime.
pub fn secrets(
    store: &dyn Store,
    a: &Account,
) -> Result<(Option<String>, Option<String>), StoreError> {
    sql::read(store.db(), |tx| {
        let r = account_key::row(
            tx,
            "SELECT password_hash, passcode_hash FROM account WHERE {account}",
            &[],
            a.key(),
        )?;
        match r {
            Some(r) => Ok((
                r.first().cloned().unwrap_or(Val::Null).opt_text()?,
                r.get(1).cloned().unwrap_or(Val::Null).opt_text()?,
            )),
            None => Ok((None, None)),
        }
    })
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("personal_id", &self.personal_id)
            .field("level", &self.level)
            .field("state", &self.state)
            .field("phone", &redact::Phone(&self.phone))
            .field("guardian", &self.guardian.as_deref().map(redact::Id))
            .field("commune", &self.commune)
            .field("res_path", &self.res_path)
            .field("verifier", &self.verifier)
            .field("verifier_score", &self.verifier_score)
            .field("holder_lock", &self.holder_lock)
            .field(
                "officer_lock",
                &self.officer_lock.as_deref().map(redact::Text),
            )
            .field("register_lock", &self.register_lock)
            .field("failures", &self.failures)
            .field("locked_out_until", &self.locked_out_until)
            .field(
                "device_hash",
                &self.device_hash.as_ref().map(|_| redact::Hidden),
            )
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .finish()
    }
}

/// The oldest active, unlocked account of `level`, if any: the citizen a demo or a smoke test
/// signs in as.
pub fn sample_account(
    store: &dyn Store,
    level: AccountLevel,
) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM account WHERE level = $1 AND state = 'active' \
             AND holder_lock = 0 AND officer_lock IS NULL AND register_lock IS NULL \
             ORDER BY id LIMIT 1"
        );
        tx.row(&sql, &[i64::from(level.number()).into()])?
            .as_ref()
            .map(account_from)
            .transpose()
    })
}
