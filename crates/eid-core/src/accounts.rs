//! Electronic identification accounts: level 1 (self-service), level 2 (in person, through a
//! signed application from an intake device), their one-time codes, sessions, locks and
//! changes, the SMS outbox, and the per-unit, per-day counters the operations console reads.
//!
//! Written once for both engines through [`crate::sql`]. Every transition appends an
//! `account_event` in the same transaction, attributed to the person's residence commune (and,
//! for applications, the collecting unit and device) and the day in Vietnam; transitions that a
//! campaign counts also bump `unit_day_count` in that transaction.
//!
//! Secrets: passwords and passcodes arrive here already hashed with Argon2id (the caller hashes
//! off the async runtime, before the transaction, so that no write lock is held while hashing).
//! One-time codes are six digits, short-lived and limited to a few attempts; they are kept as
//! HMAC-SHA-256 under a per-database key, which costs microseconds: an Argon2id hash per code
//! would cap activation-code issue at a few dozen a second on this hardware. The SMS text that
//! carries a code stays in the outbox until sent; after that the code part is blanked.

use std::fmt;

use eid_domain::redact;
use eid_domain::{
    AccountLevel, AccountState, AccountStatus, ApplicationState, DeviceStatus, LifeState, Person,
    PersonalId, PhoneNumber, SmsState, Tree, UnitCode, Units,
};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::intake::Packet;
use crate::secret::{constant_time_eq, hex, random_token, token_hash};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, unit_path, Actor, Role, Staff, Store, StoreError};

/// The settings accounts obey (from the server's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long a sign-up, sign-in, reset or phone-change code lives.
    pub otp_ttl: Duration,
    /// How long a level-2 activation code lives.
    pub activation_ttl: Duration,
    /// How many times one activation code may be sent (the first send included).
    pub max_sends: u32,
    /// Wrong entries a code allows before it dies.
    pub max_attempts: u32,
    /// Cards issued on or after this date allow self-service upgrade to level 2.
    pub self_service_from: Date,
    /// Wrong passwords or passcodes before a lock-out.
    pub max_failures: u32,
    pub lockout: Duration,
    pub session_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            otp_ttl: Duration::minutes(5),
            activation_ttl: Duration::days(7),
            max_sends: 3,
            max_attempts: 5,
            self_service_from: time::macros::date!(2022 - 04 - 01),
            max_failures: 5,
            lockout: Duration::minutes(15),
            session_ttl: Duration::hours(12),
        }
    }
}

/// The minimum age for an account of one's own.
pub const MIN_AGE: i32 = 14;

/// Vietnam's time zone.
pub fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Days since 1970-01-01 of `at` in Vietnam: the `day` of events and counters.
pub fn day_of(at: OffsetDateTime) -> i64 {
    day_number(at.to_offset(vietnam()).date())
}

/// Days since 1970-01-01.
pub fn day_number(d: Date) -> i64 {
    (d - time::macros::date!(1970 - 01 - 01)).whole_days()
}

/// The date of a day number.
pub fn day_date(n: i64) -> Date {
    time::macros::date!(1970 - 01 - 01) + Duration::days(n)
}

/// What a campaign counts, written by the transitions below: the stored names of
/// [`eid_domain::Metric`]s.
pub mod metric {
    use eid_domain::Metric;

    pub const APPLICATIONS_COLLECTED: &str = Metric::ApplicationsCollected.as_str();
    pub const LEVEL1_ACTIVATED: &str = Metric::Level1Activated.as_str();
    pub const LEVEL2_ACTIVATED: &str = Metric::Level2Activated.as_str();
    /// An account became active for the first time, at either level (not raised again when a
    /// level-1 account becomes level 2).
    pub const ACCOUNTS_ACTIVATED: &str = Metric::AccountsActivated.as_str();
}

// ----------------------------------------------------------------------------------------------
// Refusals

/// How a refusal maps onto HTTP (the binary chooses the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Invalid,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Locked,
    TooMany,
}

/// Why an account operation was refused. Messages never contain personal data.
#[derive(Debug)]
pub enum Refusal {
    /// Sign-up for someone under 14 (the ID gives the birth year).
    Under14,
    /// The face verifier did not match the photo.
    FaceMismatch,
    /// The code is wrong, expired, used or dead, or there is none (one answer for all).
    BadCode,
    /// The code may not be sent again.
    TooManySends,
    /// Unknown person, no account, or wrong password (one answer for all).
    BadCredentials,
    /// Too many wrong passwords or passcodes; retry after this time.
    LockedOut(OffsetDateTime),
    /// The account is locked; by whom.
    AccountLocked(Vec<&'static str>),
    /// The passcode is wrong.
    BadPasscode,
    DeviceUnknown,
    DeviceInactive(DeviceStatus),
    DeviceOutsideScope,
    BadPacket(String),
    Replay,
    PacketTime,
    OfficerUnknown,
    OfficerOutsideScope,
    PersonUnknown,
    PersonNotAlive(&'static str),
    CardInvalid(&'static str),
    ApplicationOpen,
    NotFound(&'static str),
    WrongState(String),
    NotHigherLevel,
    GuardianRequired,
    NotGuardian,
    GoInPerson {
        card_issued: Option<Date>,
        units: Vec<String>,
    },
    Invalid(&'static str, String),
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        Refusal::Store(e)
    }
}

impl Refusal {
    /// A stable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Under14 => "account.under_14",
            Refusal::FaceMismatch => "account.face_mismatch",
            Refusal::BadCode => "code.invalid",
            Refusal::TooManySends => "code.too_many_sends",
            Refusal::BadCredentials => "auth.bad_credentials",
            Refusal::LockedOut(_) => "auth.locked_out",
            Refusal::AccountLocked(_) => "account.locked",
            Refusal::BadPasscode => "account.bad_passcode",
            Refusal::DeviceUnknown => "device.unknown",
            Refusal::DeviceInactive(_) => "device.inactive",
            Refusal::DeviceOutsideScope => "device.outside_scope",
            Refusal::BadPacket(_) => "packet.invalid",
            Refusal::Replay => "packet.replayed",
            Refusal::PacketTime => "packet.time",
            Refusal::OfficerUnknown => "officer.unknown",
            Refusal::OfficerOutsideScope => "officer.outside_scope",
            Refusal::PersonUnknown => "person.not_found",
            Refusal::PersonNotAlive(_) => "person.not_alive",
            Refusal::CardInvalid(_) => "person.card_invalid",
            Refusal::ApplicationOpen => "application.open",
            Refusal::NotFound(what) => what,
            Refusal::WrongState(_) => "state.wrong",
            Refusal::NotHigherLevel => "review.not_higher_level",
            Refusal::GuardianRequired => "account.guardian_required",
            Refusal::NotGuardian => "account.not_guardian",
            Refusal::GoInPerson { .. } => "account.go_in_person",
            Refusal::Invalid(code, _) => code,
            Refusal::Store(_) => "internal",
        }
    }

    pub fn class(&self) -> Class {
        match self {
            Refusal::Under14
            | Refusal::FaceMismatch
            | Refusal::BadPacket(_)
            | Refusal::PacketTime
            | Refusal::Invalid(..) => Class::Invalid,
            Refusal::BadCode | Refusal::BadCredentials | Refusal::BadPasscode => {
                Class::Unauthorized
            }
            Refusal::DeviceUnknown
            | Refusal::DeviceInactive(_)
            | Refusal::DeviceOutsideScope
            | Refusal::OfficerUnknown
            | Refusal::OfficerOutsideScope
            | Refusal::NotHigherLevel
            | Refusal::NotGuardian
            | Refusal::GuardianRequired => Class::Forbidden,
            Refusal::PersonUnknown | Refusal::NotFound(_) => Class::NotFound,
            Refusal::Replay
            | Refusal::PersonNotAlive(_)
            | Refusal::CardInvalid(_)
            | Refusal::ApplicationOpen
            | Refusal::WrongState(_)
            | Refusal::GoInPerson { .. } => Class::Conflict,
            Refusal::AccountLocked(_) => Class::Locked,
            Refusal::LockedOut(_) | Refusal::TooManySends => Class::TooMany,
            Refusal::Store(_) => Class::Invalid,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Under14 => f.write_str(
                "under 14: the account is registered by a guardian who holds a level-2 account",
            ),
            Refusal::FaceMismatch => f.write_str("the photo does not match the person's portrait"),
            Refusal::BadCode => f.write_str("the code is wrong or no longer valid"),
            Refusal::TooManySends => f.write_str("the code has been sent as many times as allowed"),
            Refusal::BadCredentials => f.write_str("personal ID or password is wrong"),
            Refusal::LockedOut(_) => {
                f.write_str("too many wrong attempts; try again later or call 1900 0368")
            }
            Refusal::AccountLocked(by) => write!(f, "the account is locked ({})", by.join(", ")),
            Refusal::BadPasscode => f.write_str("the passcode is wrong"),
            Refusal::DeviceUnknown => f.write_str("no intake device has this id"),
            Refusal::DeviceInactive(s) => write!(f, "the intake device is {s}"),
            Refusal::DeviceOutsideScope => {
                f.write_str("the device's unit is outside the officer's unit")
            }
            Refusal::BadPacket(why) => write!(f, "the application packet is refused: {why}"),
            Refusal::Replay => f.write_str("this packet was already received"),
            Refusal::PacketTime => f.write_str(
                "the packet's collection time is more than 7 days old or in the future",
            ),
            Refusal::OfficerUnknown => f.write_str("the packet names no active officer"),
            Refusal::OfficerOutsideScope => f.write_str("the officer may not act for this unit"),
            Refusal::PersonUnknown => f.write_str("no person in the register has this ID"),
            Refusal::PersonNotAlive(s) => write!(f, "the register records the person as {s}"),
            Refusal::CardInvalid(why) => write!(f, "the person holds no valid card: {why}"),
            Refusal::ApplicationOpen => {
                f.write_str("the person already has an application in progress")
            }
            Refusal::NotFound(what) => write!(f, "not found: {what}"),
            Refusal::WrongState(s) => f.write_str(s),
            Refusal::NotHigherLevel => f.write_str(
                "a review is decided by an officer of a unit above the collecting unit",
            ),
            Refusal::GuardianRequired => f.write_str(
                "only a guardian recorded in the register who holds an active level-2 account may do this",
            ),
            Refusal::NotGuardian => {
                f.write_str("the register does not record this account's holder as the guardian")
            }
            Refusal::GoInPerson { .. } => f.write_str(
                "cards issued before the self-service cut-off need an in-person application at a police unit that collects them",
            ),
            Refusal::Invalid(_, why) => f.write_str(why),
            Refusal::Store(e) => write!(f, "{e}"),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Accounts as stored

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

const ACCOUNT_COLS: &str = "id, personal_id, level, state, phone, guardian_id, commune, res_path, \
    verifier, verifier_score, holder_lock, officer_lock, register_lock, failures, locked_out_until, \
    device_hash, created_at, activated_at";

fn account_from(r: &SqlRow) -> Result<Account, StoreError> {
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
fn corrupt(e: eid_domain::UnknownState) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn account_where(tx: &mut dyn Tx, cond: &str, arg: Val) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM account WHERE {cond}");
    tx.row(&sql, &[arg])?.as_ref().map(account_from).transpose()
}

/// The account of a person, if any.
pub fn account_of(store: &dyn Store, id: &PersonalId) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| {
        account_where(tx, "personal_id = $1", id.as_str().into())
    })
}

/// An account by its id.
pub fn account_by_id(store: &dyn Store, id: i64) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| account_where(tx, "id = $1", id.into()))
}

/// The Argon2id hashes of an account's password and passcode, for checking off the runtime.
pub fn secrets(
    store: &dyn Store,
    account_id: i64,
) -> Result<(Option<String>, Option<String>), StoreError> {
    sql::read(store.db(), |tx| {
        let r = tx.row(
            "SELECT password_hash, passcode_hash FROM account WHERE id = $1",
            &[account_id.into()],
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

// ----------------------------------------------------------------------------------------------
// Events and counters

/// One event of an account's history.
#[derive(Clone, PartialEq)]
pub struct AccountEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor: Actor,
    pub application_id: Option<i64>,
    pub unit: Option<String>,
    pub device_id: Option<i64>,
    /// JSON without secrets or personal data beyond what the holder already knows.
    pub detail: serde_json::Value,
}

/// What one event records.
struct NewEvent<'a> {
    personal_id: &'a str,
    account_id: Option<i64>,
    application_id: Option<i64>,
    kind: &'a str,
    commune: Option<&'a str>,
    res_path: Option<i64>,
    unit: Option<&'a str>,
    device_id: Option<i64>,
    actor: &'a Actor,
    detail: serde_json::Value,
}

impl<'a> NewEvent<'a> {
    fn account(a: &'a Account, kind: &'a str, actor: &'a Actor) -> NewEvent<'a> {
        NewEvent {
            personal_id: a.personal_id.as_str(),
            account_id: Some(a.id),
            application_id: None,
            kind,
            commune: Some(a.commune.as_str()),
            res_path: Some(a.res_path),
            unit: None,
            device_id: None,
            actor,
            detail: serde_json::json!({}),
        }
    }
    fn detail(mut self, d: serde_json::Value) -> Self {
        self.detail = d;
        self
    }
}

fn record(tx: &mut dyn Tx, e: NewEvent<'_>, now: OffsetDateTime) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO account_event (personal_id, account_id, application_id, kind, at, day, commune, \
         res_path, unit, device_id, actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            e.personal_id.into(),
            e.account_id.into(),
            e.application_id.into(),
            e.kind.into(),
            to_ms(now).into(),
            day_of(now).into(),
            e.commune.into(),
            e.res_path.into(),
            e.unit.into(),
            e.device_id.into(),
            e.actor.to_db().into(),
            e.detail.to_string().into(),
        ],
    )?;
    Ok(())
}

/// Adds one to a campaign counter, in the caller's transaction (public for the benchmarks).
pub fn bump(
    tx: &mut dyn Tx,
    metric: &str,
    res_path: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO unit_day_count (metric, res_path, day, n) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (metric, res_path, day) DO UPDATE SET n = unit_day_count.n + 1",
        &[metric.into(), res_path.into(), day_of(now).into()],
    )?;
    tx.exec(
        "INSERT INTO unit_total (metric, res_path, n) VALUES ($1, $2, 1) \
         ON CONFLICT (metric, res_path) DO UPDATE SET n = unit_total.n + 1",
        &[metric.into(), res_path.into()],
    )?;
    Ok(())
}

/// Every event of a person's account and applications, oldest first.
pub fn events(store: &dyn Store, id: &PersonalId) -> Result<Vec<AccountEvent>, StoreError> {
    sql::read(store.db(), |tx| {
        let rows = tx.query(
            "SELECT seq, at, kind, actor, application_id, unit, device_id, detail FROM account_event \
             WHERE personal_id = $1 ORDER BY seq",
            &[id.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                Ok(AccountEvent {
                    seq: g(0).int()?,
                    at: from_ms(g(1).int()?),
                    kind: g(2).text()?,
                    actor: Actor::from_db(&g(3).text()?),
                    application_id: g(4).opt_int()?,
                    unit: g(5).opt_text()?,
                    device_id: g(6).opt_int()?,
                    detail: serde_json::from_str(&g(7).text()?)
                        .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?,
                })
            })
            .collect()
    })
}

// ----------------------------------------------------------------------------------------------
// One-time codes and the SMS outbox

fn code_key(tx: &mut dyn Tx) -> Result<Vec<u8>, StoreError> {
    if let Some(r) = tx.row("SELECT value FROM app_setting WHERE key = 'code_key'", &[])? {
        return r.first().cloned().unwrap_or(Val::Null).blob();
    }
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    tx.exec(
        "INSERT INTO app_setting (key, value) VALUES ('code_key', $1) ON CONFLICT (key) DO NOTHING",
        &[key.clone().into()],
    )?;
    let r = tx.row("SELECT value FROM app_setting WHERE key = 'code_key'", &[])?;
    r.and_then(|r| r.into_iter().next())
        .ok_or_else(|| StoreError::Db("the code key could not be stored".into()))?
        .blob()
}

fn code_mac(key: &[u8], handle: &[u8], code: &str) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(handle);
            m.update(b":");
            m.update(code.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => Vec::new(),
    }
}

/// A new six-digit code.
fn six_digits() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// A code row to create.
struct NewCode<'a> {
    purpose: &'a str,
    personal_id: Option<&'a str>,
    account_id: Option<i64>,
    application_id: Option<i64>,
    phone: Option<&'a str>,
    payload: String,
    ttl: Duration,
    /// A second code (phone change: one to each number).
    second: bool,
}

/// Creates a code; returns `(handle, code, second code)`. The handle is what the client keeps
/// to confirm; the codes go by SMS.
fn new_code(
    tx: &mut dyn Tx,
    c: NewCode<'_>,
    now: OffsetDateTime,
) -> Result<(String, String, Option<String>), StoreError> {
    let key = code_key(tx)?;
    let handle = random_token();
    let handle_hash = token_hash(&handle);
    let code = six_digits();
    let second = c.second.then(six_digits);
    tx.exec(
        "INSERT INTO code (handle, purpose, personal_id, account_id, application_id, phone, code_hash, \
         code2_hash, payload, state, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
        &[
            handle_hash.clone().into(),
            c.purpose.into(),
            c.personal_id.into(),
            c.account_id.into(),
            c.application_id.into(),
            c.phone.into(),
            code_mac(&key, &handle_hash, &code).into(),
            second
                .as_ref()
                .map(|s| code_mac(&key, &handle_hash, s))
                .into(),
            c.payload.into(),
            to_ms(now + c.ttl).into(),
            to_ms(now).into(),
        ],
    )?;
    Ok((handle, code, second))
}

/// A decoy: a handle with no code behind it, answered exactly like a real one.
fn decoy_code(
    tx: &mut dyn Tx,
    purpose: &str,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let handle = random_token();
    tx.exec(
        "INSERT INTO code (handle, purpose, state, expires_at, created_at) VALUES ($1, $2, 'open', $3, $4)",
        &[
            token_hash(&handle).into(),
            purpose.into(),
            to_ms(now + ttl).into(),
            to_ms(now).into(),
        ],
    )?;
    Ok(handle)
}

/// A code row found by its handle.
struct OpenCode {
    id: i64,
    handle_hash: Vec<u8>,
    account_id: Option<i64>,
    application_id: Option<i64>,
    phone: Option<String>,
    code_hash: Option<Vec<u8>>,
    code2_hash: Option<Vec<u8>>,
    payload: String,
    open: bool,
    expires_at: OffsetDateTime,
}

const CODE_COLS: &str =
    "id, handle, personal_id, account_id, application_id, phone, code_hash, code2_hash, \
    payload, attempts, sends, state, expires_at";

fn code_from(r: &SqlRow) -> Result<OpenCode, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(OpenCode {
        id: g(0).int()?,
        handle_hash: g(1).opt_blob()?.unwrap_or_default(),
        account_id: g(3).opt_int()?,
        application_id: g(4).opt_int()?,
        phone: g(5).opt_text()?,
        code_hash: g(6).opt_blob()?,
        code2_hash: g(7).opt_blob()?,
        payload: g(8).text()?,
        open: g(11).text()? == "open",
        expires_at: from_ms(g(12).int()?),
    })
}

/// Checks `code` (and `code2`) against the code behind `handle` for `purpose`. A wrong entry
/// counts an attempt; the last allowed wrong entry kills the code. Every failure is the same
/// [`Refusal::BadCode`].
fn check_code(
    tx: &mut dyn Tx,
    found: Option<OpenCode>,
    code: &str,
    code2: Option<&str>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Result<OpenCode, Refusal>, StoreError> {
    let key = code_key(tx)?;
    let Some(c) = found else {
        // Spend the same work as a real check.
        let _ = code_mac(&key, b"-", code);
        return Ok(Err(Refusal::BadCode));
    };
    let good1 = c
        .code_hash
        .as_ref()
        .is_some_and(|h| constant_time_eq(h, &code_mac(&key, &c.handle_hash, code)));
    let good2 = match (&c.code2_hash, code2) {
        (None, _) => true,
        (Some(h), Some(code2)) => constant_time_eq(h, &code_mac(&key, &c.handle_hash, code2)),
        (Some(_), None) => false,
    };
    if !c.open || c.expires_at <= now {
        return Ok(Err(Refusal::BadCode));
    }
    if good1 && good2 {
        // Only one request uses a code, even when several present it at once.
        let used = tx.exec(
            "UPDATE code SET state = 'used' WHERE id = $1 AND state = 'open'",
            &[c.id.into()],
        )?;
        if used == 0 {
            return Ok(Err(Refusal::BadCode));
        }
        return Ok(Ok(c));
    }
    // Counted in the database, so that wrong entries sent at once all count.
    tx.exec(
        "UPDATE code SET attempts = attempts + 1, \
         state = CASE WHEN attempts + 1 >= $1 THEN 'dead' ELSE state END \
         WHERE id = $2 AND state = 'open'",
        &[settings.max_attempts.into(), c.id.into()],
    )?;
    Ok(Err(Refusal::BadCode))
}

/// Runs `body` in one transaction once the code that `find` looks up checks out. A wrong code
/// still commits (its attempt counts) and so does a refusal from `body` (the code is spent);
/// a store error rolls everything back.
fn with_code<T>(
    store: &dyn Store,
    s: &Settings,
    now: OffsetDateTime,
    (code, code2): (&str, Option<&str>),
    find: impl FnOnce(&mut dyn Tx) -> Result<Option<OpenCode>, StoreError>,
    body: impl FnOnce(&mut dyn Tx, OpenCode) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    sql::transact(store.db(), |tx| -> Result<Result<T, Refusal>, Refusal> {
        let found = find(tx)?;
        let c = match check_code(tx, found, code, code2, s, now)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        match body(tx, c) {
            Err(Refusal::Store(e)) => Err(Refusal::Store(e)),
            r => Ok(r),
        }
    })?
}

fn code_by_handle(
    tx: &mut dyn Tx,
    purpose: &str,
    handle: &str,
) -> Result<Option<OpenCode>, StoreError> {
    let sql = format!("SELECT {CODE_COLS} FROM code WHERE handle = $1 AND purpose = $2");
    tx.row(&sql, &[token_hash(handle).into(), purpose.into()])?
        .as_ref()
        .map(code_from)
        .transpose()
}

/// Queues an SMS; a dispatcher sends it outside any request.
fn queue_sms(
    tx: &mut dyn Tx,
    to: &str,
    body: &str,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO sms_outbox (to_phone, body, purpose, state, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, 'pending', $4, $4)",
        &[to.into(), body.into(), purpose.into(), to_ms(now).into()],
    )?;
    Ok(())
}

/// One message of the outbox. Its `Debug` masks the phone and shows only the body's length.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    pub id: i64,
    pub to: String,
    pub body: String,
    pub purpose: String,
    pub state: SmsState,
    pub attempts: u32,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

fn sms_from(r: &SqlRow) -> Result<Sms, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Sms {
        id: g(0).int()?,
        to: g(1).text()?,
        body: g(2).text()?,
        purpose: g(3).text()?,
        state: SmsState::parse(&g(4).text()?).map_err(corrupt)?,
        attempts: u32::try_from(g(5).int()?).unwrap_or(u32::MAX),
        created_at: from_ms(g(6).int()?),
        sent_at: g(7).opt_int()?.map(from_ms),
        last_error: g(8).opt_text()?,
    })
}

const SMS_COLS: &str =
    "id, to_phone, body, purpose, state, attempts, created_at, sent_at, last_error";

/// Messages due for sending.
pub fn sms_due(store: &dyn Store, now: OffsetDateTime, limit: u32) -> Result<Vec<Sms>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {SMS_COLS} FROM sms_outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        tx.query(&sql, &[to_ms(now).into(), limit.into()])?
            .iter()
            .map(sms_from)
            .collect()
    })
}

/// What happened to one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsResult {
    /// The gateway accepted the message; `provider_id` is its message id when it gave one.
    Sent { provider_id: Option<String> },
    /// The attempt failed and the message is due again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: OffsetDateTime,
    },
    /// The message will not be sent.
    Failed { error: String },
}

/// Records a send. A sent message's code is blanked: the outbox keeps no live secret.
pub fn sms_record(
    store: &dyn Store,
    id: i64,
    result: &SmsResult,
    now: OffsetDateTime,
    keep_body: bool,
) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| {
        match result {
            SmsResult::Sent { provider_id } => {
                tx.exec(
                    "UPDATE sms_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $1, \
                     provider_id = $2, last_error = NULL WHERE id = $3",
                    &[to_ms(now).into(), provider_id.clone().into(), id.into()],
                )?;
                if !keep_body {
                    let body = tx.row("SELECT body FROM sms_outbox WHERE id = $1", &[id.into()])?;
                    if let Some(b) = body.and_then(|r| r.into_iter().next()) {
                        let blanked = blank_digits(&b.text()?);
                        tx.exec(
                            "UPDATE sms_outbox SET body = $1 WHERE id = $2",
                            &[blanked.into(), id.into()],
                        )?;
                    }
                }
            }
            SmsResult::Retry {
                error,
                next_attempt_at,
            } => {
                tx.exec(
                    "UPDATE sms_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 \
                     WHERE id = $3",
                    &[to_ms(*next_attempt_at).into(), error.clone().into(), id.into()],
                )?;
            }
            SmsResult::Failed { error } => {
                tx.exec(
                    "UPDATE sms_outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 \
                     WHERE id = $2",
                    &[error.clone().into(), id.into()],
                )?;
            }
        }
        Ok(())
    })
}

/// Replaces every run of six digits with `••••••` (the codes in a sent message).
fn blank_digits(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut run = String::new();
    for ch in body.chars().chain(std::iter::once('\0')) {
        if ch.is_ascii_digit() {
            run.push(ch);
            continue;
        }
        if run.len() == 6 {
            out.push_str("••••••");
        } else {
            out.push_str(&run);
        }
        run.clear();
        if ch != '\0' {
            out.push(ch);
        }
    }
    out
}

/// The latest messages, newest first (the development sink's view for staff).
pub fn sms_list(store: &dyn Store, limit: u32) -> Result<Vec<Sms>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!("SELECT {SMS_COLS} FROM sms_outbox ORDER BY id DESC LIMIT $1");
        tx.query(&sql, &[limit.into()])?
            .iter()
            .map(sms_from)
            .collect()
    })
}

// ----------------------------------------------------------------------------------------------
// Register checks

/// Why the register stops a person from using an account, if it does: death, emigration or a
/// revoked card. Absence from the locality does not lock an account.
pub fn register_lock_reason(p: &Person) -> Option<&'static str> {
    match p.life.state {
        LifeState::Dead => return Some("dead"),
        LifeState::Emigrated => return Some("emigrated"),
        _ => {}
    }
    if p.card.is_some_and(|c| c.revoked) {
        return Some("card_revoked");
    }
    None
}

fn alive(p: &Person) -> Result<(), Refusal> {
    match p.life.state {
        LifeState::Dead => Err(Refusal::PersonNotAlive("dead")),
        LifeState::Emigrated => Err(Refusal::PersonNotAlive("emigrated")),
        _ => Ok(()),
    }
}

fn valid_card(p: &Person, today: Date) -> Result<Date, Refusal> {
    let Some(card) = p.card else {
        return Err(Refusal::CardInvalid("no card issued"));
    };
    if card.revoked {
        return Err(Refusal::CardInvalid("revoked"));
    }
    if !card.is_valid(p.birth, today) {
        return Err(Refusal::CardInvalid("expired"));
    }
    Ok(card.issued)
}

fn residence(p: &Person) -> Result<(UnitCode, i64), StoreError> {
    let path = unit_path(&p.residence.unit)
        .ok_or_else(|| StoreError::Corrupt("residence is not a commune".into()))?;
    Ok((p.residence.unit, path))
}

/// Brings an account's register lock in line with the register, recording the change. Called
/// wherever an account is used and after the register changes a person; returns the account
/// as it now stands.
pub fn sync_register_lock(
    store: &dyn Store,
    id: &PersonalId,
    now: OffsetDateTime,
) -> Result<Option<Account>, StoreError> {
    match account_of(store, id)? {
        Some(a) => sync_account_lock(store, a, now).map(Some),
        None => Ok(None),
    }
}

/// [`sync_register_lock`] for an account already read.
pub fn sync_account_lock(
    store: &dyn Store,
    a: Account,
    now: OffsetDateTime,
) -> Result<Account, StoreError> {
    let Some(stored) = store.person(&a.personal_id)? else {
        return Ok(a);
    };
    let want = register_lock_reason(&stored.person);
    if a.register_lock.as_deref() == want {
        return Ok(a);
    }
    let fallback = a.clone();
    sql::transact(store.db(), |tx| {
        let Some(a) = account_where(tx, "id = $1", a.id.into())? else {
            return Ok(fallback);
        };
        if a.register_lock.as_deref() == want {
            return Ok(a);
        }
        tx.exec(
            "UPDATE account SET register_lock = $1, updated_at = $2 WHERE id = $3",
            &[want.into(), to_ms(now).into(), a.id.into()],
        )?;
        let actor = Actor::Cli("register".into());
        let (kind, why) = match want {
            Some(w) => ("locked_by_register", w),
            None => (
                "unlocked_by_register",
                a.register_lock.as_deref().unwrap_or(""),
            ),
        };
        record(
            tx,
            NewEvent::account(&a, kind, &actor).detail(serde_json::json!({ "reason": why })),
            now,
        )?;
        Ok(account_where(tx, "id = $1", a.id.into())?.unwrap_or(a))
    })
}

// ----------------------------------------------------------------------------------------------
// Level 1: self-service registration

/// A level-1 registration as the app sends it, after the face check.
pub struct Registration<'a> {
    pub personal_id: &'a PersonalId,
    pub phone: &'a PhoneNumber,
    pub photo: &'a [u8],
    pub photo_hash: [u8; 32],
    pub verifier: &'a str,
    pub score: f64,
    pub matched: bool,
    pub device_hash: Vec<u8>,
}

/// Starts a level-1 registration. Returns a handle to confirm with. For someone the register
/// does not know, who is not alive, or who already holds an active account, the answer is the
/// same handle-shaped token (no code is sent; the outcome is recorded for the person where there
/// is one), so that registration cannot be used to learn who is in the register.
pub fn register(
    store: &dyn Store,
    s: &Settings,
    r: &Registration<'_>,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    let today = now.to_offset(vietnam()).date();
    // The ID itself gives the birth year: an applicant surely under 14 is told why.
    if today.year() - r.personal_id.birth_year() < MIN_AGE {
        return Err(Refusal::Under14);
    }
    let person = store.person(r.personal_id)?.map(|p| p.person);
    if let Some(p) = &person {
        if p.birth.age_on(today) < MIN_AGE {
            return Err(Refusal::Under14);
        }
    }
    if !r.matched {
        return Err(Refusal::FaceMismatch);
    }
    sql::transact(store.db(), |tx| {
        let Some(p) = person.as_ref() else {
            return Ok(decoy_code(tx, "register", s.otp_ttl, now)?);
        };
        let (commune, res_path) = residence(p)?;
        let existing = account_where(tx, "personal_id = $1", p.id.as_str().into())?;
        let refused = if alive(p).is_err() {
            Some("not alive in the register")
        } else if existing.as_ref().is_some_and(Account::is_active) {
            Some("an active account exists")
        } else {
            None
        };
        if let Some(why) = refused {
            let actor = Actor::Anonymous;
            record(
                tx,
                NewEvent {
                    personal_id: p.id.as_str(),
                    account_id: existing.as_ref().map(|a| a.id),
                    application_id: None,
                    kind: "registration_refused",
                    commune: Some(commune.as_str()),
                    res_path: Some(res_path),
                    unit: None,
                    device_id: None,
                    actor: &actor,
                    detail: serde_json::json!({ "reason": why }),
                },
                now,
            )?;
            return Ok(decoy_code(tx, "register", s.otp_ttl, now)?);
        }
        tx.exec(
            "INSERT INTO photo (hash, bytes, created_at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING",
            &[r.photo_hash.to_vec().into(), r.photo.to_vec().into(), to_ms(now).into()],
        )?;
        let account_id = match existing {
            Some(a) => {
                tx.exec(
                    "UPDATE account SET phone = $1, photo_hash = $2, verifier = $3, verifier_score = $4, \
                     device_hash = $5, commune = $6, res_path = $7, updated_at = $8 WHERE id = $9",
                    &[
                        r.phone.as_str().into(),
                        r.photo_hash.to_vec().into(),
                        r.verifier.into(),
                        r.score.into(),
                        r.device_hash.clone().into(),
                        commune.as_str().into(),
                        res_path.into(),
                        to_ms(now).into(),
                        a.id.into(),
                    ],
                )?;
                tx.exec(
                    "UPDATE code SET state = 'dead' WHERE account_id = $1 AND purpose = 'register' AND state = 'open'",
                    &[a.id.into()],
                )?;
                a.id
            }
            None => match tx.row(
                "INSERT INTO account (personal_id, level, state, phone, commune, res_path, photo_hash, verifier, \
                 verifier_score, device_hash, register_lock, created_at, updated_at) \
                 VALUES ($1, 0, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (personal_id) DO NOTHING RETURNING id",
                &[
                    p.id.as_str().into(),
                    r.phone.as_str().into(),
                    commune.as_str().into(),
                    res_path.into(),
                    r.photo_hash.to_vec().into(),
                    r.verifier.into(),
                    r.score.into(),
                    r.device_hash.clone().into(),
                    register_lock_reason(p).into(),
                    to_ms(now).into(),
                ],
            )? {
                Some(r) => r.first().cloned().unwrap_or(Val::Null).int()?,
                // A registration for the same person committed meanwhile: answer as for any
                // refused registration.
                None => return Ok(decoy_code(tx, "register", s.otp_ttl, now)?),
            },
        };
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "register",
                personal_id: Some(p.id.as_str()),
                account_id: Some(account_id),
                application_id: None,
                phone: Some(r.phone.as_str()),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            r.phone.as_str(),
            &format!(
                "Ma xac thuc dang ky tai khoan dinh danh dien tu: {code}. Hieu luc {} phut. Khong cung cap ma nay cho bat ky ai.",
                s.otp_ttl.whole_minutes()
            ),
            "register",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent {
                personal_id: p.id.as_str(),
                account_id: Some(account_id),
                application_id: None,
                kind: "registration_started",
                commune: Some(commune.as_str()),
                res_path: Some(res_path),
                unit: None,
                device_id: None,
                actor: &actor,
                detail: serde_json::json!({
                    "level": 1,
                    "verifier": r.verifier,
                    "score": r.score,
                    "photo_sha256": hex(&r.photo_hash),
                    "phone": PhoneNumber::parse(r.phone.as_str()).map(|p| p.masked()).unwrap_or_default(),
                }),
            },
            now,
        )?;
        Ok(handle)
    })
}

/// Confirms a level-1 registration with the SMS code and sets the secrets: the account is
/// active at level 1.
pub fn confirm_registration(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    password_hash: &str,
    passcode_hash: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let found = code_by_handle(tx, "register", handle)?;
            Ok(found)
        },
        |tx, c| {
            let Some(a) = account_where(tx, "id = $1", c.account_id.unwrap_or(-1).into())? else {
                return Err(Refusal::BadCode);
            };
            if a.is_active() {
                return Err(Refusal::BadCode);
            }
            tx.exec(
            "UPDATE account SET level = 1, state = 'active', password_hash = $1, passcode_hash = $2, \
             activated_at = $3, updated_at = $3 WHERE id = $4",
            &[password_hash.into(), passcode_hash.into(), to_ms(now).into(), a.id.into()],
        )?;
            let actor = Actor::Anonymous;
            record(tx, NewEvent::account(&a, "level1_activated", &actor), now)?;
            bump(tx, metric::LEVEL1_ACTIVATED, a.res_path, now)?;
            bump(tx, metric::ACCOUNTS_ACTIVATED, a.res_path, now)?;
            account_where(tx, "id = $1", a.id.into())?.ok_or(Refusal::NotFound("account.not_found"))
        },
    )
}

// ----------------------------------------------------------------------------------------------
// Intake devices

/// An intake device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub name: String,
    pub unit: UnitCode,
    pub public_key: Vec<u8>,
    pub daily_capacity: u32,
    pub status: DeviceStatus,
    pub created_at: OffsetDateTime,
}

const DEVICE_COLS: &str = "id, name, unit, public_key, daily_capacity, status, created_at";

fn device_from(r: &SqlRow) -> Result<Device, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Device {
        id: g(0).int()?,
        name: g(1).text()?,
        unit: UnitCode::parse(&g(2).text()?)
            .map_err(|e| StoreError::Corrupt(format!("device unit: {e}")))?,
        public_key: g(3).blob()?,
        daily_capacity: u32::try_from(g(4).int()?).unwrap_or(0),
        status: DeviceStatus::parse(&g(5).text()?).map_err(corrupt)?,
        created_at: from_ms(g(6).int()?),
    })
}

/// Registers an intake device for a unit (of the 2024 tree, below the nation).
pub fn add_device(
    store: &dyn Store,
    name: &str,
    unit: &UnitCode,
    public_key: &[u8; 32],
    daily_capacity: u32,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Device, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::Invalid(
            "device.name",
            "a device name has 1 to 100 characters".into(),
        ));
    }
    if daily_capacity == 0 || daily_capacity > 10_000 {
        return Err(Refusal::Invalid(
            "device.capacity",
            "daily capacity must be 1 to 10,000".into(),
        ));
    }
    match Units::get().unit(Tree::Gso2024, unit) {
        Some(u) if u.level != eid_domain::Level::Nation => {}
        _ => {
            return Err(Refusal::Invalid(
                "device.unit",
                "the unit must be a province, district or commune of the 2024 tree".into(),
            ))
        }
    }
    sql::transact(store.db(), |tx| {
        if tx
            .row(
                "SELECT id FROM device WHERE public_key = $1",
                &[public_key.to_vec().into()],
            )?
            .is_some()
        {
            return Err(Refusal::Invalid(
                "device.key_taken",
                "another device has this public key".into(),
            ));
        }
        let id = tx.int(
            "INSERT INTO device (name, unit, public_key, daily_capacity, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING id",
            &[
                name.into(),
                unit.as_str().into(),
                public_key.to_vec().into(),
                daily_capacity.into(),
                to_ms(now).into(),
            ],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: "",
                account_id: None,
                application_id: None,
                kind: "device_added",
                commune: None,
                res_path: None,
                unit: Some(unit.as_str()),
                device_id: Some(id),
                actor,
                detail: serde_json::json!({ "name": name, "daily_capacity": daily_capacity }),
            },
            now,
        )?;
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        tx.row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()?
            .ok_or(Refusal::NotFound("device.not_found"))
    })
}

/// The device status named by `s` (`active`, `suspended`, `retired`), as a refusal otherwise.
pub fn device_status(s: &str) -> Result<DeviceStatus, Refusal> {
    DeviceStatus::parse(s).map_err(|_| {
        Refusal::Invalid(
            "device.status",
            "status is active, suspended or retired".into(),
        )
    })
}

/// Sets a device's status. A retired device stays retired.
pub fn set_device_status(
    store: &dyn Store,
    id: i64,
    status: DeviceStatus,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Device, Refusal> {
    sql::transact(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        let d = tx
            .row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()?
            .ok_or(Refusal::NotFound("device.not_found"))?;
        if !d.status.may_become(status) {
            return Err(Refusal::WrongState(
                "a retired device cannot be brought back".into(),
            ));
        }
        tx.exec(
            "UPDATE device SET status = $1, updated_at = $2 WHERE id = $3",
            &[status.as_str().into(), to_ms(now).into(), id.into()],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: "",
                account_id: None,
                application_id: None,
                kind: "device_status",
                commune: None,
                res_path: None,
                unit: Some(d.unit.as_str()),
                device_id: Some(id),
                actor,
                detail: serde_json::json!({ "from": d.status.as_str(), "to": status.as_str() }),
            },
            now,
        )?;
        Ok(Device { status, ..d })
    })
}

/// A device by id.
pub fn device(store: &dyn Store, id: i64) -> Result<Option<Device>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        tx.row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()
    })
}

/// Devices whose unit is inside `within` (2024 tree), by unit then id.
pub fn devices(store: &dyn Store, within: &UnitCode) -> Result<Vec<Device>, StoreError> {
    let all: Vec<Device> = sql::read(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device ORDER BY unit, id");
        tx.query(&sql, &[])?
            .iter()
            .map(device_from)
            .collect::<Result<Vec<_>, _>>()
    })?;
    let units = Units::get();
    Ok(all
        .into_iter()
        .filter(|d| units.contains(Tree::Gso2024, within, &d.unit))
        .collect())
}

/// Applications collected by each device on each day in `[from, to]` (day numbers).
pub fn device_use(
    store: &dyn Store,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    sql::read(store.db(), |tx| {
        tx.query(
            "SELECT device_id, day, n FROM device_day_count WHERE day >= $1 AND day <= $2 ORDER BY device_id, day",
            &[from.into(), to.into()],
        )?
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok((g(0).int()?, g(1).int()?, g(2).int()?))
        })
        .collect()
    })
}

// ----------------------------------------------------------------------------------------------
// Level 2: applications

/// An application for level 2. Its `Debug` masks the phone.
#[derive(Clone, PartialEq)]
pub struct Application {
    pub id: i64,
    pub personal_id: PersonalId,
    /// E.164.
    pub phone: String,
    pub match_method: String,
    pub match_against: String,
    pub matched: bool,
    pub match_score: Option<f64>,
    pub officer_id: i64,
    pub device_id: i64,
    /// The collecting unit (the device's).
    pub unit: UnitCode,
    /// The applicant's residence commune.
    pub commune: UnitCode,
    pub collected_at: OffsetDateTime,
    pub state: ApplicationState,
    pub review_reason: Option<String>,
    pub reject_reason: Option<String>,
    pub decided_by: Option<String>,
    pub updated_at: OffsetDateTime,
}

const APP_COLS: &str = "id, personal_id, phone, match_method, match_against, match_result, match_score, \
    officer_id, device_id, unit, commune, collected_at, state, review_reason, reject_reason, decided_by, updated_at, res_path";

fn app_from(r: &SqlRow) -> Result<Application, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let unit = |v: Val| -> Result<UnitCode, StoreError> {
        UnitCode::parse(&v.text()?)
            .map_err(|e| StoreError::Corrupt(format!("application unit: {e}")))
    };
    Ok(Application {
        id: g(0).int()?,
        personal_id: PersonalId::parse(&g(1).text()?)
            .map_err(|e| StoreError::Corrupt(format!("application personal ID: {e}")))?,
        phone: g(2).text()?,
        match_method: g(3).text()?,
        match_against: g(4).text()?,
        matched: g(5).text()? == "match",
        match_score: g(6).opt_real()?,
        officer_id: g(7).int()?,
        device_id: g(8).int()?,
        unit: unit(g(9))?,
        commune: unit(g(10))?,
        collected_at: from_ms(g(11).int()?),
        state: ApplicationState::parse(&g(12).text()?).map_err(corrupt)?,
        review_reason: g(13).opt_text()?,
        reject_reason: g(14).opt_text()?,
        decided_by: g(15).opt_text()?,
        updated_at: from_ms(g(16).int()?),
    })
}

fn app_where(tx: &mut dyn Tx, id: i64) -> Result<Option<(Application, i64)>, StoreError> {
    let sql = format!("SELECT {APP_COLS} FROM application WHERE id = $1");
    match tx.row(&sql, &[id.into()])? {
        Some(r) => {
            let path = r.get(17).cloned().unwrap_or(Val::Null).int()?;
            Ok(Some((app_from(&r)?, path)))
        }
        None => Ok(None),
    }
}

/// An application by id.
pub fn application(store: &dyn Store, id: i64) -> Result<Option<Application>, StoreError> {
    sql::read(store.db(), |tx| Ok(app_where(tx, id)?.map(|(a, _)| a)))
}

/// What to list.
#[derive(Debug, Clone)]
pub struct AppFilter {
    /// Collecting units inside this unit (2024 tree).
    pub within: UnitCode,
    pub state: Option<ApplicationState>,
    /// Collected on this day (day number), if given.
    pub day: Option<i64>,
    pub limit: u32,
}

/// Applications collected inside a unit, newest first.
pub fn applications(store: &dyn Store, f: &AppFilter) -> Result<Vec<Application>, StoreError> {
    let units = Units::get();
    let within = f.within;
    // Collecting units are few; filter them in memory, rows by index.
    let rows: Vec<Application> = sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {APP_COLS} FROM application WHERE ($1 = '' OR state = $1) AND ($2 < 0 OR collected_day = $2) \
             ORDER BY id DESC"
        );
        let mut out = Vec::new();
        for r in tx.query(
            &sql,
            &[
                f.state.map_or("", ApplicationState::as_str).into(),
                f.day.unwrap_or(-1).into(),
            ],
        )? {
            let a = app_from(&r)?;
            if units.contains(Tree::Gso2024, &within, &a.unit) {
                out.push(a);
                if out.len() >= f.limit as usize {
                    break;
                }
            }
        }
        Ok::<_, StoreError>(out)
    })?;
    Ok(rows)
}

/// The outcome of collecting an application.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub application: Application,
    /// Set when the application went to the review queue.
    pub review_reason: Option<String>,
}

/// Collects a verified application packet (its signature already checked against `device`).
pub fn collect(
    store: &dyn Store,
    s: &Settings,
    device: &Device,
    packet: &Packet,
    now: OffsetDateTime,
) -> Result<Collected, Refusal> {
    match device.status {
        DeviceStatus::Active => {}
        DeviceStatus::Suspended | DeviceStatus::Retired => {
            return Err(Refusal::DeviceInactive(device.status));
        }
    }
    if packet.collected_at > now + Duration::minutes(5)
        || packet.collected_at < now - Duration::days(7)
    {
        return Err(Refusal::PacketTime);
    }
    let officer = match store.staff_by_username(&packet.officer)? {
        Some((st, _)) if !st.disabled && st.role != Role::Auditor => st,
        _ => return Err(Refusal::OfficerUnknown),
    };
    if !Units::get().contains(Tree::Gso2024, &officer.unit, &device.unit) {
        return Err(Refusal::OfficerOutsideScope);
    }
    let today = now.to_offset(vietnam()).date();
    let person = store
        .person(&packet.personal_id)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&person)?;
    valid_card(&person, today)?;
    let (commune, res_path) = residence(&person)?;
    // Checks that send the application to review rather than refuse it.
    let mut review: Vec<&str> = Vec::new();
    if !packet.matching.matched {
        review.push("the device found no fingerprint or portrait match");
    }
    if person.birth.age_on(today) < MIN_AGE {
        review.push("under 14: needs a guardian's consent on file");
    }
    if person
        .phone
        .as_ref()
        .is_some_and(|p| p.as_str() != packet.phone.as_str())
    {
        review.push("the phone differs from the one in the register");
    }
    let officer_actor = Actor::Staff(officer.id);
    sql::transact(store.db(), |tx| {
        if tx
            .row(
                "SELECT id FROM application WHERE packet_hash = $1",
                &[packet.hash.to_vec().into()],
            )?
            .is_some()
        {
            return Err(Refusal::Replay);
        }
        if tx
            .row(
                "SELECT id FROM application WHERE personal_id = $1 AND state IN ('review', 'approved', 'code_sent')",
                &[packet.personal_id.as_str().into()],
            )?
            .is_some()
        {
            return Err(replay_or_open(tx, packet)?);
        }
        let state = if review.is_empty() {
            // Approved automatically: the code is issued below in this transaction, so the
            // row is written once, in its final state.
            ApplicationState::CodeSent
        } else {
            ApplicationState::Review
        };
        let review_reason = (!review.is_empty()).then(|| review.join("; "));
        let at = packet.collected_at.min(now);
        let inserted = tx.row(
            "INSERT INTO application (personal_id, phone, portrait_hash, match_method, match_against, match_result, \
             match_score, officer_id, device_id, unit, commune, res_path, packet_hash, collected_at, collected_day, \
             state, review_reason, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT DO NOTHING RETURNING id",
            &[
                packet.personal_id.as_str().into(),
                packet.phone.as_str().into(),
                packet.portrait_sha256.to_vec().into(),
                packet.matching.method.as_str().into(),
                packet.matching.against.as_str().into(),
                (if packet.matching.matched { "match" } else { "no_match" }).into(),
                packet.matching.score.into(),
                officer.id.into(),
                device.id.into(),
                device.unit.as_str().into(),
                commune.as_str().into(),
                res_path.into(),
                packet.hash.to_vec().into(),
                to_ms(at).into(),
                day_of(at).into(),
                state.as_str().into(),
                review_reason.clone().into(),
                to_ms(now).into(),
            ],
        )?;
        // Nothing inserted: a request running at the same time stored this packet, or another
        // open application for the person, after the checks above.
        let Some(id) = inserted.and_then(|r| r.into_iter().next()) else {
            return Err(replay_or_open(tx, packet)?);
        };
        let id = id.int()?;
        let ev = |kind: &'static str, detail: serde_json::Value| NewEvent {
            personal_id: packet.personal_id.as_str(),
            account_id: None,
            application_id: Some(id),
            kind,
            commune: Some(commune.as_str()),
            res_path: Some(res_path),
            unit: Some(device.unit.as_str()),
            device_id: Some(device.id),
            actor: &officer_actor,
            detail,
        };
        record(
            tx,
            ev(
                "application_collected",
                serde_json::json!({
                    "method": packet.matching.method,
                    "against": packet.matching.against,
                    "matched": packet.matching.matched,
                    "packet_sha256": hex(&packet.hash),
                }),
            ),
            at,
        )?;
        bump(tx, metric::APPLICATIONS_COLLECTED, res_path, at)?;
        tx.exec(
            "INSERT INTO device_day_count (device_id, day, n) VALUES ($1, $2, 1) \
             ON CONFLICT (device_id, day) DO UPDATE SET n = device_day_count.n + 1",
            &[device.id.into(), day_of(at).into()],
        )?;
        match &review_reason {
            Some(why) => record(
                tx,
                ev("application_review", serde_json::json!({ "reason": why })),
                now,
            )?,
            None => {
                record(
                    tx,
                    ev(
                        "application_approved",
                        serde_json::json!({ "by": "automatic" }),
                    ),
                    now,
                )?;
                send_activation(
                    tx,
                    s,
                    id,
                    &packet.personal_id,
                    packet.phone.as_str(),
                    &commune,
                    res_path,
                    now,
                    false,
                )?;
            }
        }
        let (application, _) =
            app_where(tx, id)?.ok_or(Refusal::NotFound("application.not_found"))?;
        Ok(Collected {
            application,
            review_reason,
        })
    })
}

/// Why a packet finds an open application: it is that application's own packet (a copy sent
/// again, possibly at the same moment), or the person applied with another packet.
fn replay_or_open(tx: &mut dyn Tx, packet: &Packet) -> Result<Refusal, StoreError> {
    let replay = tx
        .row(
            "SELECT id FROM application WHERE packet_hash = $1",
            &[packet.hash.to_vec().into()],
        )?
        .is_some();
    Ok(if replay {
        Refusal::Replay
    } else {
        Refusal::ApplicationOpen
    })
}

/// Issues an activation code for an approved application and queues its SMS.
#[allow(clippy::too_many_arguments)]
fn send_activation(
    tx: &mut dyn Tx,
    s: &Settings,
    app_id: i64,
    id: &PersonalId,
    phone: &str,
    commune: &UnitCode,
    res_path: i64,
    now: OffsetDateTime,
    resend: bool,
) -> Result<(), StoreError> {
    let (_, code, _) = new_code(
        tx,
        NewCode {
            purpose: "activate",
            personal_id: Some(id.as_str()),
            account_id: None,
            application_id: Some(app_id),
            phone: Some(phone),
            payload: String::new(),
            ttl: s.activation_ttl,
            second: false,
        },
        now,
    )?;
    let until = (now + s.activation_ttl).to_offset(vietnam()).date();
    queue_sms(
        tx,
        phone,
        &format!(
            "Ho so tai khoan dinh danh dien tu muc 2 da duoc duyet. Ma kich hoat: {code}, hieu luc den het ngay {:02}/{:02}/{}. Kich hoat tren ung dung VNeID.",
            until.day(),
            u8::from(until.month()),
            until.year()
        ),
        "activate",
        now,
    )?;
    tx.exec(
        "UPDATE application SET state = 'code_sent', updated_at = $1 WHERE id = $2 AND state <> 'code_sent'",
        &[to_ms(now).into(), app_id.into()],
    )?;
    let actor = Actor::Cli("c06".into());
    record(
        tx,
        NewEvent {
            personal_id: id.as_str(),
            account_id: None,
            application_id: Some(app_id),
            kind: if resend {
                "activation_code_resent"
            } else {
                "activation_code_sent"
            },
            commune: Some(commune.as_str()),
            res_path: Some(res_path),
            unit: None,
            device_id: None,
            actor: &actor,
            detail: serde_json::json!({ "valid_until": eid_domain::iso(until) }),
        },
        now,
    )?;
    Ok(())
}

/// Whether `officer` may decide a review of an application collected at `unit`: their unit
/// contains it and is above it.
pub fn may_review(officer: &Staff, unit: &UnitCode) -> bool {
    officer.role != Role::Auditor
        && !officer.disabled
        && officer.unit != *unit
        && Units::get().contains(Tree::Gso2024, &officer.unit, unit)
}

/// A review decision.
pub enum Decision<'a> {
    Approve,
    Reject(&'a str),
}

/// Decides an application in review (approve: the code is sent), or rejects one in progress.
pub fn decide(
    store: &dyn Store,
    s: &Settings,
    app_id: i64,
    officer: &Staff,
    d: Decision<'_>,
    now: OffsetDateTime,
) -> Result<Application, Refusal> {
    sql::transact(store.db(), |tx| {
        // Takes the application's row lock first, so that decisions and re-sends of one
        // application arriving at once run one after the other, each seeing the last.
        tx.exec(
            "UPDATE application SET updated_at = updated_at WHERE id = $1",
            &[app_id.into()],
        )?;
        let (a, res_path) =
            app_where(tx, app_id)?.ok_or(Refusal::NotFound("application.not_found"))?;
        if !may_review(officer, &a.unit) {
            return Err(
                if officer.sees(&a.commune)
                    || Units::get().contains(Tree::Gso2024, &officer.unit, &a.unit)
                {
                    Refusal::NotHigherLevel
                } else {
                    Refusal::OfficerOutsideScope
                },
            );
        }
        let actor = Actor::Staff(officer.id);
        let ev = |kind: &'static str, detail: serde_json::Value| NewEvent {
            personal_id: a.personal_id.as_str(),
            account_id: None,
            application_id: Some(a.id),
            kind,
            commune: Some(a.commune.as_str()),
            res_path: Some(res_path),
            unit: Some(a.unit.as_str()),
            device_id: Some(a.device_id),
            actor: &actor,
            detail,
        };
        match d {
            Decision::Approve => {
                match a.state {
                    ApplicationState::Review => {}
                    ApplicationState::Approved
                    | ApplicationState::CodeSent
                    | ApplicationState::Activated
                    | ApplicationState::Rejected => {
                        return Err(Refusal::WrongState(format!(
                            "only an application in review can be approved; this one is {}",
                            a.state
                        )));
                    }
                }
                tx.exec(
                    "UPDATE application SET state = 'approved', decided_by = $1, updated_at = $2 WHERE id = $3",
                    &[actor.to_db().into(), to_ms(now).into(), a.id.into()],
                )?;
                record(
                    tx,
                    ev(
                        "application_approved",
                        serde_json::json!({ "by": "officer" }),
                    ),
                    now,
                )?;
                send_activation(
                    tx,
                    s,
                    a.id,
                    &a.personal_id,
                    &a.phone,
                    &a.commune,
                    res_path,
                    now,
                    false,
                )?;
            }
            Decision::Reject(reason) => {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(Refusal::Invalid(
                        "application.reason",
                        "a rejection needs a reason of 1 to 500 characters".into(),
                    ));
                }
                if !a.state.is_open() {
                    return Err(Refusal::WrongState(format!(
                        "the application is already {}",
                        a.state
                    )));
                }
                tx.exec(
                    "UPDATE application SET state = 'rejected', reject_reason = $1, decided_by = $2, updated_at = $3 WHERE id = $4",
                    &[reason.into(), actor.to_db().into(), to_ms(now).into(), a.id.into()],
                )?;
                tx.exec(
                    "UPDATE code SET state = 'dead' WHERE application_id = $1 AND state = 'open'",
                    &[a.id.into()],
                )?;
                record(
                    tx,
                    ev(
                        "application_rejected",
                        serde_json::json!({ "reason": reason }),
                    ),
                    now,
                )?;
            }
        }
        app_where(tx, a.id)?
            .map(|(a, _)| a)
            .ok_or(Refusal::NotFound("application.not_found"))
    })
}

/// Sends a new activation code for an application whose code was sent (the old code dies),
/// up to the configured number of sends.
pub fn resend_activation(
    store: &dyn Store,
    s: &Settings,
    app_id: i64,
    officer: &Staff,
    now: OffsetDateTime,
) -> Result<Application, Refusal> {
    sql::transact(store.db(), |tx| {
        // Takes the application's row lock first, so that decisions and re-sends of one
        // application arriving at once run one after the other, each seeing the last.
        tx.exec(
            "UPDATE application SET updated_at = updated_at WHERE id = $1",
            &[app_id.into()],
        )?;
        let (a, res_path) =
            app_where(tx, app_id)?.ok_or(Refusal::NotFound("application.not_found"))?;
        if !Units::get().contains(Tree::Gso2024, &officer.unit, &a.unit)
            && !officer.sees(&a.commune)
        {
            return Err(Refusal::OfficerOutsideScope);
        }
        if a.state != ApplicationState::CodeSent {
            return Err(Refusal::WrongState(format!(
                "a code is re-sent only after one was sent; this application is {}",
                a.state
            )));
        }
        let sends = tx.int(
            "SELECT count(*) FROM code WHERE application_id = $1 AND purpose = 'activate'",
            &[a.id.into()],
        )?;
        if sends >= i64::from(s.max_sends) {
            return Err(Refusal::TooManySends);
        }
        tx.exec(
            "UPDATE code SET state = 'dead' WHERE application_id = $1 AND state = 'open'",
            &[a.id.into()],
        )?;
        send_activation(
            tx,
            s,
            a.id,
            &a.personal_id,
            &a.phone,
            &a.commune,
            res_path,
            now,
            true,
        )?;
        app_where(tx, a.id)?
            .map(|(a, _)| a)
            .ok_or(Refusal::NotFound("application.not_found"))
    })
}

/// Activates level 2 with the code from the SMS: creates the account, or raises an existing one
/// to level 2, with the application's phone and the new secrets.
#[allow(clippy::too_many_arguments)]
pub fn activate(
    store: &dyn Store,
    s: &Settings,
    id: &PersonalId,
    code: &str,
    password_hash: &str,
    passcode_hash: &str,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let person = store.person(id)?.map(|p| p.person);
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let sql = format!(
            "SELECT {CODE_COLS} FROM code WHERE personal_id = $1 AND purpose = 'activate' AND state = 'open' \
             ORDER BY id DESC LIMIT 1"
        );
            let found = tx
                .row(&sql, &[id.as_str().into()])?
                .as_ref()
                .map(code_from)
                .transpose()?;
            Ok(found)
        },
        |tx, c| {
            let (Some(p), Some(app_id)) = (person.as_ref(), c.application_id) else {
                return Err(Refusal::BadCode);
            };
            let (commune, res_path) = residence(p)?;
            let phone = c.phone.clone().unwrap_or_default();
            let existing = account_where(tx, "personal_id = $1", id.as_str().into())?;
            let newly_active = !existing.as_ref().is_some_and(Account::is_active);
            let account_id = match existing {
            Some(a) => {
                tx.exec(
                    "UPDATE account SET level = 2, state = 'active', phone = $1, password_hash = $2, passcode_hash = $3, \
                     device_hash = $4, commune = $5, res_path = $6, failures = 0, locked_out_until = NULL, \
                     activated_at = COALESCE(activated_at, $7), updated_at = $7 WHERE id = $8",
                    &[
                        phone.clone().into(),
                        password_hash.into(),
                        passcode_hash.into(),
                        device_hash.to_vec().into(),
                        commune.as_str().into(),
                        res_path.into(),
                        to_ms(now).into(),
                        a.id.into(),
                    ],
                )?;
                a.id
            }
            None => tx.int(
                "INSERT INTO account (personal_id, level, state, phone, password_hash, passcode_hash, commune, res_path, \
                 device_hash, register_lock, created_at, activated_at, updated_at) \
                 VALUES ($1, 2, 'active', $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) RETURNING id",
                &[
                    id.as_str().into(),
                    phone.clone().into(),
                    password_hash.into(),
                    passcode_hash.into(),
                    commune.as_str().into(),
                    res_path.into(),
                    device_hash.to_vec().into(),
                    register_lock_reason(p).into(),
                    to_ms(now).into(),
                ],
            )?,
        };
            tx.exec(
                "UPDATE application SET state = 'activated', updated_at = $1 WHERE id = $2",
                &[to_ms(now).into(), app_id.into()],
            )?;
            let a = account_where(tx, "id = $1", account_id.into())?
                .ok_or(Refusal::NotFound("account.not_found"))?;
            let actor = Actor::Anonymous;
            let mut e = NewEvent::account(&a, "level2_activated", &actor);
            e.application_id = Some(app_id);
            record(tx, e, now)?;
            bump(tx, metric::LEVEL2_ACTIVATED, res_path, now)?;
            if newly_active {
                bump(tx, metric::ACCOUNTS_ACTIVATED, res_path, now)?;
            }
            Ok(a)
        },
    )
}

/// Raises a level-1 account to level 2 from the app, with a fresh face match, when the holder's
/// card was issued on or after the self-service cut-off. Otherwise refuses with the units that
/// collect applications nearest to the holder's residence.
pub fn self_upgrade(
    store: &dyn Store,
    s: &Settings,
    account: &Account,
    verifier: &str,
    score: f64,
    matched: bool,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let today = now.to_offset(vietnam()).date();
    if account.level >= AccountLevel::Two {
        return Err(Refusal::WrongState("the account is already level 2".into()));
    }
    let person = store
        .person(&account.personal_id)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&person)?;
    let issued = valid_card(&person, today)?;
    if issued < s.self_service_from {
        return Err(Refusal::GoInPerson {
            card_issued: Some(issued),
            units: nearest_collecting_units(store, &account.commune)?,
        });
    }
    if !matched {
        return Err(Refusal::FaceMismatch);
    }
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE account SET level = 2, verifier = $1, verifier_score = $2, updated_at = $3 WHERE id = $4 AND level = 1",
            &[verifier.into(), score.into(), to_ms(now).into(), account.id.into()],
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(account, "level2_activated", &actor).detail(
                serde_json::json!({ "by": "self_service", "verifier": verifier, "score": score }),
            ),
            now,
        )?;
        bump(tx, metric::LEVEL2_ACTIVATED, account.res_path, now)?;
        account_where(tx, "id = $1", account.id.into())?
            .ok_or(Refusal::NotFound("account.not_found"))
    })
}

/// Units with an active intake device, nearest first: the commune, its district, its province.
pub fn nearest_collecting_units(
    store: &dyn Store,
    commune: &UnitCode,
) -> Result<Vec<String>, StoreError> {
    let units = Units::get();
    let mut rings: Vec<UnitCode> = vec![*commune];
    // `ancestors` is nearest first: the district, then the province.
    for a in units.ancestors(Tree::Gso2024, commune) {
        rings.push(a.code);
    }
    // One read of the province's active devices, then ring by ring.
    let province = rings.last().copied().unwrap_or(*commune);
    let active: Vec<Device> = devices(store, &province)?
        .into_iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .collect();
    let mut out: Vec<String> = Vec::new();
    for ring in rings {
        for d in active
            .iter()
            .filter(|d| units.contains(Tree::Gso2024, &ring, &d.unit))
        {
            if !out.iter().any(|u| u == d.unit.as_str()) {
                out.push(d.unit.as_str().to_owned());
            }
        }
        if out.len() >= 5 {
            break;
        }
    }
    out.truncate(5);
    Ok(out)
}

// ----------------------------------------------------------------------------------------------
// Guardians

/// Records in the register that `guardian` is the guardian of `child`.
pub fn record_guardian(
    store: &dyn Store,
    child: &PersonalId,
    guardian: &PersonalId,
    relation: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    if child == guardian {
        return Err(Refusal::Invalid(
            "guardian.self",
            "a person cannot be their own guardian".into(),
        ));
    }
    let relation = relation.trim();
    if !matches!(relation, "father" | "mother" | "guardian") {
        return Err(Refusal::Invalid(
            "guardian.relation",
            "relation is father, mother or guardian".into(),
        ));
    }
    let c = store.person(child)?.ok_or(Refusal::PersonUnknown)?;
    store.person(guardian)?.ok_or(Refusal::PersonUnknown)?;
    let (commune, res_path) = residence(&c.person)?;
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO guardian (child_id, guardian_id, relation, recorded_at, actor) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (child_id, guardian_id) DO UPDATE SET relation = $3",
            &[child.as_str().into(), guardian.as_str().into(), relation.into(), to_ms(now).into(), actor.to_db().into()],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: child.as_str(),
                account_id: None,
                application_id: None,
                kind: "guardian_recorded",
                commune: Some(commune.as_str()),
                res_path: Some(res_path),
                unit: None,
                device_id: None,
                actor,
                detail: serde_json::json!({ "relation": relation }),
            },
            now,
        )?;
        Ok(())
    })
}

/// Whether the register records `guardian` as a guardian of `child`.
pub fn is_guardian(
    store: &dyn Store,
    child: &PersonalId,
    guardian: &PersonalId,
) -> Result<bool, StoreError> {
    sql::read(store.db(), |tx| {
        Ok(tx
            .row(
                "SELECT 1 FROM guardian WHERE child_id = $1 AND guardian_id = $2",
                &[child.as_str().into(), guardian.as_str().into()],
            )?
            .is_some())
    })
}

/// A guardian with an active level-2 account opens a level-1 account for a child under 14; the
/// child's account uses the guardian's phone.
pub fn register_child(
    store: &dyn Store,
    guardian: &Account,
    child: &PersonalId,
    password_hash: &str,
    passcode_hash: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    if guardian.level < AccountLevel::Two || guardian.status() != AccountStatus::Active {
        return Err(Refusal::GuardianRequired);
    }
    let p = store
        .person(child)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&p)?;
    let today = now.to_offset(vietnam()).date();
    if p.birth.age_on(today) >= MIN_AGE {
        return Err(Refusal::Invalid(
            "account.not_a_child",
            "from 14 a person registers an account of their own".into(),
        ));
    }
    if !is_guardian(store, child, &guardian.personal_id)? {
        return Err(Refusal::NotGuardian);
    }
    let (commune, res_path) = residence(&p)?;
    sql::transact(store.db(), |tx| {
        if account_where(tx, "personal_id = $1", child.as_str().into())?
            .is_some_and(|a| a.is_active())
        {
            return Err(Refusal::WrongState(
                "the child already has an account".into(),
            ));
        }
        tx.exec(
            "DELETE FROM account WHERE personal_id = $1 AND state = 'pending'",
            &[child.as_str().into()],
        )?;
        let id = tx.row(
            "INSERT INTO account (personal_id, level, state, phone, password_hash, passcode_hash, guardian_id, commune, \
             res_path, created_at, activated_at, updated_at) VALUES ($1, 1, 'active', $2, $3, $4, $5, $6, $7, $8, $8, $8) \
             ON CONFLICT (personal_id) DO NOTHING RETURNING id",
            &[
                child.as_str().into(),
                guardian.phone.as_str().into(),
                password_hash.into(),
                passcode_hash.into(),
                guardian.personal_id.as_str().into(),
                commune.as_str().into(),
                res_path.into(),
                to_ms(now).into(),
            ],
        )?
        .and_then(|r| r.first().cloned())
        .ok_or_else(|| Refusal::WrongState("the child already has an account".into()))?
        .int()?;
        let a = account_where(tx, "id = $1", id.into())?
            .ok_or(Refusal::NotFound("account.not_found"))?;
        let actor = Actor::Cli(format!("guardian:{}", guardian.id));
        record(
            tx,
            NewEvent::account(&a, "level1_activated", &actor)
                .detail(serde_json::json!({ "by": "guardian" })),
            now,
        )?;
        bump(tx, metric::LEVEL1_ACTIVATED, res_path, now)?;
        bump(tx, metric::ACCOUNTS_ACTIVATED, res_path, now)?;
        Ok(a)
    })
}

// ----------------------------------------------------------------------------------------------
// Sign-in, sessions and devices

/// What a sign-in gives. Its `Debug` hides the token and the handle.
#[derive(Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A session token for the bound device.
    Session {
        token: String,
        expires_at: OffsetDateTime,
    },
    /// A new device: a code went to the bound phone; confirm with this handle.
    DeviceCheck { handle: String },
}

/// The account a sign-in names, with its password hash, for the caller to check off the
/// runtime. `None` when the person has no active account (the caller checks against a dummy
/// hash so that the answer takes as long).
pub fn signin_lookup(
    store: &dyn Store,
    id: &PersonalId,
) -> Result<Option<(Account, Option<String>)>, StoreError> {
    let Some(a) = account_of(store, id)? else {
        return Ok(None);
    };
    if !a.is_active() {
        return Ok(None);
    }
    let (pw, _) = secrets(store, a.id)?;
    Ok(Some((a, pw)))
}

/// Whether a lock-out is in force.
pub fn locked_out(a: &Account, now: OffsetDateTime) -> Option<OffsetDateTime> {
    a.locked_out_until.filter(|&u| u > now)
}

/// Counts a wrong password or passcode; locks out after too many.
pub fn secret_failed(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    what: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    sql::transact(store.db(), |tx| {
        // Counted in the database (failures sent at once all count), and never while a
        // lock-out is in force: a failure that was already in flight leaves it as it is.
        tx.exec(
            "UPDATE account SET failures = failures + 1, updated_at = $1 WHERE id = $2 \
             AND (locked_out_until IS NULL OR locked_out_until <= $1)",
            &[to_ms(now).into(), a.id.into()],
        )?;
        let row = tx
            .row(
                "SELECT failures, locked_out_until FROM account WHERE id = $1",
                &[a.id.into()],
            )?
            .unwrap_or_default();
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        let failures = g(0).opt_int()?.unwrap_or(0);
        let in_force = g(1).opt_int()?.map(from_ms).filter(|&u| u > now);
        let lock =
            (in_force.is_none() && failures >= i64::from(s.max_failures)).then(|| now + s.lockout);
        if let Some(until) = lock {
            tx.exec(
                "UPDATE account SET failures = 0, locked_out_until = $1 WHERE id = $2",
                &[to_ms(until).into(), a.id.into()],
            )?;
        }
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "secret_failed", &actor)
                .detail(serde_json::json!({ "secret": what })),
            now,
        )?;
        if in_force.is_some() {
            return Ok(in_force);
        }
        if let Some(until) = lock {
            record(
                tx,
                NewEvent::account(a, "locked_out", &actor)
                    .detail(serde_json::json!({ "minutes": s.lockout.whole_minutes() })),
                now,
            )?;
            return Ok(Some(until));
        }
        Ok(None)
    })
}

fn new_session(
    tx: &mut dyn Tx,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, StoreError> {
    let token = random_token();
    let expires_at = now + s.session_ttl;
    tx.exec(
        "INSERT INTO citizen_session (token_hash, account_id, device_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[token_hash(&token).into(), a.id.into(), device_hash.to_vec().into(), to_ms(now).into(), to_ms(expires_at).into()],
    )?;
    tx.exec(
        "UPDATE account SET failures = 0, locked_out_until = NULL WHERE id = $1",
        &[a.id.into()],
    )?;
    Ok(SignIn::Session { token, expires_at })
}

/// Completes a sign-in whose password was right: a session on the bound device, or a code to
/// the bound phone for a new device.
pub fn signin(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    let a = sync_account_lock(store, a.clone(), now)?;
    let locks = a.locks();
    if !locks.is_empty() {
        return Err(Refusal::AccountLocked(locks));
    }
    sql::transact(store.db(), |tx| {
        let actor = Actor::Anonymous;
        let bound = a
            .device_hash
            .as_deref()
            .is_some_and(|d| constant_time_eq(d, device_hash));
        if bound || a.device_hash.is_none() {
            if a.device_hash.is_none() {
                tx.exec(
                    "UPDATE account SET device_hash = $1 WHERE id = $2",
                    &[device_hash.to_vec().into(), a.id.into()],
                )?;
            }
            let out = new_session(tx, s, &a, device_hash, now)?;
            record(
                tx,
                NewEvent::account(&a, "signed_in", &actor)
                    .detail(serde_json::json!({ "device": device_label(device_hash) })),
                now,
            )?;
            return Ok(out);
        }
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "device",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(&a.phone),
                payload: hex(device_hash),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            &a.phone,
            &format!("Ma xac thuc dang nhap tren thiet bi moi: {code}. Neu khong phai ban, goi 1900 0368."),
            "device",
            now,
        )?;
        record(
            tx,
            NewEvent::account(&a, "device_check_sent", &actor)
                .detail(serde_json::json!({ "device": device_label(device_hash) })),
            now,
        )?;
        Ok(SignIn::DeviceCheck { handle })
    })
}

/// A short label for a device hash in events (not the device's identifier).
fn device_label(h: &[u8]) -> String {
    hex(h.get(..4).unwrap_or(h))
}

/// Confirms a new device with the code sent to the bound phone: the device becomes the bound
/// one and every other session ends.
pub fn confirm_device(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<SignIn, Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let found = code_by_handle(tx, "device", handle)?;
            Ok(found)
        },
        |tx, c| {
            let Some(a) = account_where(tx, "id = $1", c.account_id.unwrap_or(-1).into())? else {
                return Err(Refusal::BadCode);
            };
            if !a.locks().is_empty() {
                return Err(Refusal::AccountLocked(a.locks()));
            }
            let device = crate::intake::unhex(&c.payload).unwrap_or_default();
            tx.exec(
                "UPDATE account SET device_hash = $1, updated_at = $2 WHERE id = $3",
                &[device.clone().into(), to_ms(now).into(), a.id.into()],
            )?;
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
            let actor = Actor::Anonymous;
            record(
                tx,
                NewEvent::account(&a, "device_bound", &actor)
                    .detail(serde_json::json!({ "device": device_label(&device) })),
                now,
            )?;
            let out = new_session(tx, s, &a, &device, now)?;
            record(
                tx,
                NewEvent::account(&a, "signed_in", &actor)
                    .detail(serde_json::json!({ "device": device_label(&device) })),
                now,
            )?;
            Ok(out)
        },
    )
}

/// The account behind a session token, if the session is live. Locks are the caller's to check.
pub fn session_account(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<Account>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {} FROM account a JOIN citizen_session s ON s.account_id = a.id \
             WHERE s.token_hash = $1 AND s.revoked = 0 AND s.expires_at > $2",
            ACCOUNT_COLS
                .split(", ")
                .map(|c| format!("a.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        tx.row(&sql, &[token_hash(token).into(), to_ms(now).into()])?
            .as_ref()
            .map(account_from)
            .transpose()
    })
}

/// Ends a session.
pub fn sign_out(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE citizen_session SET revoked = 1 WHERE token_hash = $1",
            &[token_hash(token).into()],
        )?;
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Locks

/// Who locks or unlocks.
pub enum LockBy<'a> {
    /// The holder, who proved their passcode.
    Holder,
    /// An officer, with a reason.
    Officer(&'a Staff, &'a str),
}

/// Locks or unlocks an account. The holder lifts only their own lock; an officer lifts only
/// an officer's lock; the register's lock follows the register.
pub fn set_lock(
    store: &dyn Store,
    a: &Account,
    by: LockBy<'_>,
    lock: bool,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    sql::transact(store.db(), |tx| {
        let a = account_where(tx, "id = $1", a.id.into())?
            .ok_or(Refusal::NotFound("account.not_found"))?;
        let (actor, kind, detail) = match by {
            LockBy::Holder => {
                if a.holder_lock == lock {
                    return Err(Refusal::WrongState(format!(
                        "the holder's lock is already {}",
                        if lock { "on" } else { "off" }
                    )));
                }
                tx.exec(
                    "UPDATE account SET holder_lock = $1, updated_at = $2 WHERE id = $3",
                    &[lock.into(), to_ms(now).into(), a.id.into()],
                )?;
                (
                    Actor::Anonymous,
                    if lock {
                        "locked_by_holder"
                    } else {
                        "unlocked_by_holder"
                    },
                    serde_json::json!({}),
                )
            }
            LockBy::Officer(officer, reason) => {
                if !officer.sees(&a.commune) {
                    return Err(Refusal::OfficerOutsideScope);
                }
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(Refusal::Invalid(
                        "account.reason",
                        "a lock or unlock needs a reason of 1 to 500 characters".into(),
                    ));
                }
                if a.officer_lock.is_some() == lock {
                    return Err(Refusal::WrongState(format!(
                        "the officer's lock is already {}",
                        if lock { "on" } else { "off" }
                    )));
                }
                tx.exec(
                    "UPDATE account SET officer_lock = $1, updated_at = $2 WHERE id = $3",
                    &[
                        (if lock { Some(reason) } else { None }).into(),
                        to_ms(now).into(),
                        a.id.into(),
                    ],
                )?;
                if lock {
                    tx.exec(
                        "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                        &[a.id.into()],
                    )?;
                }
                (
                    Actor::Staff(officer.id),
                    if lock {
                        "locked_by_officer"
                    } else {
                        "unlocked_by_officer"
                    },
                    serde_json::json!({ "reason": reason }),
                )
            }
        };
        if lock {
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
        }
        record(tx, NewEvent::account(&a, kind, &actor).detail(detail), now)?;
        account_where(tx, "id = $1", a.id.into())?.ok_or(Refusal::NotFound("account.not_found"))
    })
}

// ----------------------------------------------------------------------------------------------
// Changes: phone, password, passcode

/// Starts a change of phone number: one code to the old number and one to the new.
pub fn start_phone_change(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    new_phone: &PhoneNumber,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    if new_phone.as_str() == a.phone {
        return Err(Refusal::Invalid(
            "phone.same",
            "the new number is the current one".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        let (handle, code_old, code_new) = new_code(
            tx,
            NewCode {
                purpose: "phone",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(new_phone.as_str()),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: true,
            },
            now,
        )?;
        queue_sms(tx, &a.phone, &format!("Ma xac nhan doi so dien thoai (so cu): {code_old}. Neu khong phai ban, goi 1900 0368."), "phone_old", now)?;
        queue_sms(
            tx,
            new_phone.as_str(),
            &format!(
                "Ma xac nhan doi so dien thoai (so moi): {}.",
                code_new.unwrap_or_default()
            ),
            "phone_new",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "phone_change_started", &actor)
                .detail(serde_json::json!({ "to": new_phone.masked() })),
            now,
        )?;
        Ok(handle)
    })
}

/// Confirms a phone change with both codes.
pub fn confirm_phone_change(
    store: &dyn Store,
    s: &Settings,
    a: &Account,
    handle: &str,
    code_old: &str,
    code_new: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    with_code(
        store,
        s,
        now,
        (code_old, Some(code_new)),
        |tx| {
            let found = code_by_handle(tx, "phone", handle)?.filter(|c| c.account_id == Some(a.id));
            Ok(found)
        },
        |tx, c| {
            let phone = c.phone.clone().unwrap_or_default();
            change_phone(tx, a, &phone, &Actor::Anonymous, None, now)
        },
    )
}

fn change_phone(
    tx: &mut dyn Tx,
    a: &Account,
    phone: &str,
    actor: &Actor,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    tx.exec(
        "UPDATE account SET phone = $1, updated_at = $2 WHERE id = $3",
        &[phone.into(), to_ms(now).into(), a.id.into()],
    )?;
    let masked = PhoneNumber::parse(phone)
        .map(|p| p.masked())
        .unwrap_or_default();
    record(
        tx,
        NewEvent::account(a, "phone_changed", actor)
            .detail(serde_json::json!({ "to": masked, "reason": reason })),
        now,
    )?;
    account_where(tx, "id = $1", a.id.into())?.ok_or(Refusal::NotFound("account.not_found"))
}

/// An officer changes the phone number (the holder came in person), with a reason.
pub fn officer_set_phone(
    store: &dyn Store,
    officer: &Staff,
    a: &Account,
    phone: &PhoneNumber,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    if !officer.sees(&a.commune) {
        return Err(Refusal::OfficerOutsideScope);
    }
    if reason.trim().is_empty() {
        return Err(Refusal::Invalid(
            "account.reason",
            "a phone change by an officer needs a reason".into(),
        ));
    }
    sql::transact(store.db(), |tx| {
        change_phone(
            tx,
            a,
            phone.as_str(),
            &Actor::Staff(officer.id),
            Some(reason.trim()),
            now,
        )
    })
}

/// Starts a password reset. The same handle-shaped answer whether or not the ID and phone
/// match an account; a code goes only to the account's own phone.
pub fn start_reset(
    store: &dyn Store,
    s: &Settings,
    id: &PersonalId,
    phone: &PhoneNumber,
    now: OffsetDateTime,
) -> Result<String, Refusal> {
    let a = account_of(store, id)?.filter(|a| a.is_active() && a.phone == phone.as_str());
    sql::transact(store.db(), |tx| {
        let Some(a) = a.as_ref() else {
            return Ok(decoy_code(tx, "reset", s.otp_ttl, now)?);
        };
        let (handle, code, _) = new_code(
            tx,
            NewCode {
                purpose: "reset",
                personal_id: Some(a.personal_id.as_str()),
                account_id: Some(a.id),
                application_id: None,
                phone: Some(&a.phone),
                payload: String::new(),
                ttl: s.otp_ttl,
                second: false,
            },
            now,
        )?;
        queue_sms(
            tx,
            &a.phone,
            &format!("Ma dat lai mat khau: {code}. Neu khong phai ban, goi 1900 0368."),
            "reset",
            now,
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(a, "password_reset_started", &actor),
            now,
        )?;
        Ok(handle)
    })
}

/// Completes a password reset with the code; ends every session.
pub fn confirm_reset(
    store: &dyn Store,
    s: &Settings,
    handle: &str,
    code: &str,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| code_by_handle(tx, "reset", handle),
        |tx, c| {
            let Some(a) = account_where(tx, "id = $1", c.account_id.unwrap_or(-1).into())? else {
                return Err(Refusal::BadCode);
            };
            tx.exec(
                "UPDATE account SET password_hash = $1, failures = 0, locked_out_until = NULL, updated_at = $2 WHERE id = $3",
                &[password_hash.into(), to_ms(now).into(), a.id.into()],
            )?;
            tx.exec(
                "UPDATE citizen_session SET revoked = 1 WHERE account_id = $1",
                &[a.id.into()],
            )?;
            let actor = Actor::Anonymous;
            record(tx, NewEvent::account(&a, "password_reset", &actor), now)?;
            Ok(())
        },
    )
}

/// Replaces the password or the passcode (`which`: `password` or `passcode`); the caller has
/// checked the current passcode.
pub fn set_secret(
    store: &dyn Store,
    a: &Account,
    which: &str,
    hash: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let (sql, kind) = match which {
        "password" => (
            "UPDATE account SET password_hash = $1, updated_at = $2 WHERE id = $3",
            "password_changed",
        ),
        "passcode" => (
            "UPDATE account SET passcode_hash = $1, updated_at = $2 WHERE id = $3",
            "passcode_changed",
        ),
        _ => {
            return Err(Refusal::Invalid(
                "account.secret",
                "password or passcode".into(),
            ))
        }
    };
    sql::transact(store.db(), |tx| {
        tx.exec(sql, &[hash.into(), to_ms(now).into(), a.id.into()])?;
        let actor = Actor::Anonymous;
        record(tx, NewEvent::account(a, kind, &actor), now)?;
        Ok(())
    })
}

/// Resets the failure count after a right passcode.
pub fn secret_ok(store: &dyn Store, a: &Account) -> Result<(), StoreError> {
    if a.failures == 0 {
        return Ok(());
    }
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE account SET failures = 0 WHERE id = $1",
            &[a.id.into()],
        )?;
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Counters

/// The sum of a metric over a subtree's `[lo, hi)` range of residence paths and `[from, to]`
/// days.
pub fn count(
    store: &dyn Store,
    metric: &str,
    range: (i64, i64),
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    sql::read(store.db(), |tx| {
        tx.int(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM unit_day_count WHERE metric = $1 AND res_path >= $2 AND res_path < $3 \
             AND day >= $4 AND day <= $5",
            &[metric.into(), range.0.into(), range.1.into(), from.into(), to.into()],
        )
    })
}

// ----------------------------------------------------------------------------------------------
// Debug without personal data

use eid_store::redact::JsonKeys;

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

impl fmt::Debug for AccountEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountEvent")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("kind", &self.kind)
            .field("actor", &self.actor)
            .field("application_id", &self.application_id)
            .field("unit", &self.unit)
            .field("device_id", &self.device_id)
            .field("detail", &JsonKeys(&self.detail))
            .finish()
    }
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sms")
            .field("id", &self.id)
            .field("to", &redact::Phone(&self.to))
            .field("body", &redact::Text(&self.body))
            .field("purpose", &self.purpose)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("created_at", &self.created_at)
            .field("sent_at", &self.sent_at)
            .field("last_error", &self.last_error)
            .finish()
    }
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("id", &self.id)
            .field("personal_id", &self.personal_id)
            .field("phone", &redact::Phone(&self.phone))
            .field("match_method", &self.match_method)
            .field("match_against", &self.match_against)
            .field("matched", &self.matched)
            .field("match_score", &self.match_score)
            .field("officer_id", &self.officer_id)
            .field("device_id", &self.device_id)
            .field("unit", &self.unit)
            .field("commune", &self.commune)
            .field("collected_at", &self.collected_at)
            .field("state", &self.state)
            .field("review_reason", &self.review_reason)
            .field(
                "reject_reason",
                &self.reject_reason.as_deref().map(redact::Text),
            )
            .field("decided_by", &self.decided_by)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignIn::Session { expires_at, .. } => f
                .debug_struct("Session")
                .field("token", &redact::Hidden)
                .field("expires_at", expires_at)
                .finish(),
            SignIn::DeviceCheck { .. } => f
                .debug_struct("DeviceCheck")
                .field("handle", &redact::Hidden)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_codes_are_blanked_and_other_numbers_kept() {
        assert_eq!(
            blank_digits("Ma kich hoat: 123456, hieu luc den het ngay 30/11/2026."),
            "Ma kich hoat: ••••••, hieu luc den het ngay 30/11/2026."
        );
        assert_eq!(blank_digits("goi 1900 0368"), "goi 1900 0368");
    }

    #[test]
    fn day_numbers_are_vietnam_days() {
        let at = time::macros::datetime!(2026-11-23 17:30 UTC);
        assert_eq!(day_date(day_of(at)), time::macros::date!(2026 - 11 - 24));
        assert_eq!(day_number(time::macros::date!(1970 - 01 - 02)), 1);
    }

    #[test]
    fn code_macs_depend_on_key_handle_and_code() {
        let a = code_mac(b"k1", b"h", "123456");
        assert_eq!(a.len(), 32);
        assert_ne!(a, code_mac(b"k2", b"h", "123456"));
        assert_ne!(a, code_mac(b"k1", b"g", "123456"));
        assert_ne!(a, code_mac(b"k1", b"h", "123457"));
    }
}
