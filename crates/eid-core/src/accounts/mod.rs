//! Electronic identification accounts: level 1 (self-service), level 2 (in person, through a
//! signed application from an intake device), their one-time codes, sessions, locks and
//! changes. The SMS outbox is [`crate::outbox`] and the campaign counters [`crate::rollup`]; both are
//! re-exported here under their old paths.
//!
//! Written once for both engines through [`crate::sql`]. Every transition appends an
//! `account_event` in the same transaction, attributed to the person's residence commune (and,
//! for applications, the collecting unit and device) and the day in Vietnam; transitions that a
//! campaign counts also bump `unit_day_count` in that transaction.
//!
//! Secrets: a new password or passcode arrives here already hashed with Argon2id for the
//! registration and reset flows (the caller hashes off the async runtime, before the
//! transaction, so that no write lock is held while hashing). The credential checks
//! ([`check_credentials`], [`sign_in`], [`unlock`], [`check_passcode`], [`replace_secret`]) do
//! their Argon2 work here, outside any transaction, with equal time for unknown people and the
//! lock-out; call them off the async runtime. The officer use cases, with their scope checks and
//! audits, are [`officer`].
//!
//! One-time codes are six digits, short-lived and limited to a few attempts; they are kept as
//! HMAC-SHA-256 under a per-database key, which costs microseconds: an Argon2id hash per code
//! would cap activation-code issue at a few dozen a second on this hardware. The SMS text that
//! carries a code stays in the outbox until sent; after that the code part is blanked.

mod account;
mod applications;
mod changes;
mod codes;
mod devices;
mod events;
mod guardians;
mod level1;
pub mod limits;
mod locks;
pub mod officer;
pub mod recovery;
mod refusal;
mod signin;
pub mod web_session;

pub use account::*;
pub use applications::*;
pub use changes::*;
use codes::*;
pub use devices::*;
pub use events::*;
pub use guardians::*;
pub use level1::*;
pub use locks::*;
pub use refusal::*;
pub use signin::*;

use crate::account_key::{self, Key};
pub(crate) use crate::outbox::queue_sms;
pub use crate::outbox::{sms_due, sms_list, sms_record, Sms, SmsResult};
pub use crate::rollup::{bump, count, day_date, day_number, day_of, metric, vietnam};

use time::{Date, Duration};

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
    /// The window of `max_failures`: at most that many passwords (or passcodes) are checked
    /// per personal ID (or account) in it, and a lock-out lasts until it ends.
    pub lockout: Duration,
    pub session_ttl: Duration,
    /// A browser session ([`web_session`]) ends after this long unused…
    pub web_idle: Duration,
    /// …and this long after it started, however used.
    pub web_ttl: Duration,
    /// Sign-in, reset and phone-change codes sent per hour for one personal ID, and for one
    /// phone number.
    pub code_issues_per_hour: u32,
    /// Code entries checked per hour for one person, across all of their codes.
    pub code_guesses_per_hour: u32,
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
            web_idle: Duration::minutes(30),
            web_ttl: Duration::hours(12),
            code_issues_per_hour: 3,
            code_guesses_per_hour: 10,
        }
    }
}

/// The minimum age for an account of one's own.
pub const MIN_AGE: i32 = 14;
