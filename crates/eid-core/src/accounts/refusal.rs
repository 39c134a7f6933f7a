//! Why an account rule refused, and how each refusal maps onto a class of answer.

use std::fmt;

use eid_domain::DeviceStatus;
use time::{Date, OffsetDateTime};

use crate::store::StoreError;

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
    /// Too many codes were asked for this person or this phone; retry after this time.
    TooManyCodes(OffsetDateTime),
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
    /// Level 2 was asked of a level-1 account (it must be upgraded first).
    Level2Required,
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
            Refusal::TooManyCodes(_) => "code.too_many",
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
            Refusal::Level2Required => "account.level2_required",
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
            | Refusal::Level2Required
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
            Refusal::LockedOut(_) | Refusal::TooManySends | Refusal::TooManyCodes(_) => {
                Class::TooMany
            }
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
            Refusal::TooManyCodes(_) => {
                f.write_str("too many codes were asked for; try again later")
            }
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
            Refusal::Level2Required => f.write_str(
                "this needs a level-2 account; upgrade the account first",
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
