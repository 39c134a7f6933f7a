//! The rules of Vietnam's population register, as types.
//!
//! This crate does no IO: no files, no network, no clock, no randomness, no serialisation
//! derives. Every value that crosses into the system is parsed here into a type that can
//! only hold a valid value (`PersonalId`, `PersonName`, `PhoneNumber`, `UnitCode`), and
//! every parse failure says which rule failed. Time is always a parameter (`today`).

pub mod campaign;
pub mod card;
pub mod id;
pub mod name;
pub mod person;
pub mod phone;
pub mod redact;
pub mod residency;
pub mod state;
pub mod units;

pub use campaign::{Metric, Progress, ProgressInput, Schedule, Status, Timeliness};
pub use card::{card_expiry, Card};
pub use id::{IdError, PersonalId};
pub use name::{fold, NameError, PersonName};
pub use person::{
    birthday_cutoff, iso, parse_iso_date, BirthDate, LifeState, LifeStatus, Person, PersonError,
    Residence, Sex,
};
pub use phone::{PhoneError, PhoneNumber, PhoneType};
pub use residency::{Absence, Residency};
pub use state::{
    AccountLevel, AccountState, AccountStatus, ApplicationState, DeviceStatus, ProposalState,
    SmsState, UnknownState,
};
pub use units::{Level, Tree, Unit, UnitCode, UnitError, Units};
