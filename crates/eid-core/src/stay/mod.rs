//! Stay notifications (issue 14, thông báo lưu trú): establishments registered by the commune
//! police with the citizens who may notify for each, stays notified by those citizens (one or
//! several guests, or "I am the guest"), in bulk by a healthcare facility (CSV) or by an
//! establishment's own system (`POST /api/v1/stays`, client-credentials token), the commune
//! police's view of their unit, and the guest's own list.
//!
//! The rules are the Law on Residence 68/2020 Art. 30 and Circular 55/2021 Art. 15, kept as data
//! in [`DEADLINE`] with their source: notify before 23:00 (Vietnam time) on the day the stay
//! starts; a guest arriving at 23:00 or later, before 08:00 the next day. A late notification is
//! accepted and marked late. Close relatives staying repeatedly notify once (the 2020 text): a
//! per-establishment setting, and each stay records which rule applied ([`Rule`]).
//!
//! A host never learns anything of the register beyond what they typed: a guest's personal ID,
//! full name and date of birth are checked together, with the same work and the same answer
//! whether the ID is unknown or the name or date does not match ([`service::check_guest`]).

pub mod api;
pub mod csv;
pub mod service;
pub mod view;

use std::fmt;

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub use service::*;

/// The deadline rule, as data with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRule {
    /// Hours east of UTC of the time the rule is read in (Vietnam, UTC+7).
    pub utc_offset_hours: i8,
    /// A stay is notified before this hour on the day it starts…
    pub same_day_before: u8,
    /// …unless the guest arrives at that hour or later: then before this hour the next day.
    pub next_day_before: u8,
    /// A foreign guest is declared within this many hours of arrival, whatever the hour.
    pub foreign_within_hours: u8,
    /// Where the rule comes from.
    pub source: &'static str,
}

/// The rule in force.
pub const DEADLINE: DeadlineRule = DeadlineRule {
    utc_offset_hours: 7,
    same_day_before: 23,
    next_day_before: 8,
    foreign_within_hours: 12,
    source: "Luật Cư trú 68/2020/QH14 Điều 30; Thông tư 55/2021/TT-BCA Điều 15 (23:00, 08:00); \
             Luật 47/2014/QH13 Điều 33, sửa đổi 2019 (người nước ngoài, 12 giờ)",
};

impl DeadlineRule {
    fn offset(&self) -> UtcOffset {
        UtcOffset::from_hms(self.utc_offset_hours, 0, 0).unwrap_or(UtcOffset::UTC)
    }

    /// The day a stay starts on, in the rule's time.
    pub fn day_of(&self, arrival: OffsetDateTime) -> Date {
        arrival.to_offset(self.offset()).date()
    }

    /// The deadline of a stay arriving at `arrival`, for a citizen (`foreign` false) or a
    /// foreign guest.
    pub fn deadline(&self, arrival: OffsetDateTime, foreign: bool) -> OffsetDateTime {
        if foreign {
            return arrival + Duration::hours(i64::from(self.foreign_within_hours));
        }
        let local = arrival.to_offset(self.offset());
        let at = |day: Date, hour: u8| {
            let t = Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT);
            PrimitiveDateTime::new(day, t).assume_offset(self.offset())
        };
        if local.hour() < self.same_day_before {
            at(local.date(), self.same_day_before)
        } else {
            let next = local.date().next_day().unwrap_or(local.date());
            at(next, self.next_day_before)
        }
    }

    /// Whether a notification at `notified` of a stay arriving at `arrival` is late.
    pub fn late(&self, arrival: OffsetDateTime, foreign: bool, notified: OffsetDateTime) -> bool {
        notified > self.deadline(arrival, foreign)
    }
}

/// The kinds of establishment (the VNeID flow's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Household,
    Tourist,
    Healthcare,
    Dormitory,
    Rental,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Household,
        Kind::Tourist,
        Kind::Healthcare,
        Kind::Dormitory,
        Kind::Rental,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Household => "household",
            Kind::Tourist => "tourist",
            Kind::Healthcare => "healthcare",
            Kind::Dormitory => "dormitory",
            Kind::Rental => "rental",
            Kind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Which rule applied to a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every stay is notified (the default).
    EachStay,
    /// The first stay of a close relative at an establishment that notifies relatives once.
    RelativesFirst,
    /// A repeated stay of that relative: covered by the first notification, never late.
    RelativesRepeat,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::EachStay => "each_stay",
            Rule::RelativesFirst => "relatives_first",
            Rule::RelativesRepeat => "relatives_repeat",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        match s {
            "each_stay" => Some(Rule::EachStay),
            "relatives_first" => Some(Rule::RelativesFirst),
            "relatives_repeat" => Some(Rule::RelativesRepeat),
            _ => None,
        }
    }
}

/// How a stay was notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A notifier of the establishment, on the citizen pages.
    Web,
    /// The guest themselves ("I am the guest").
    SelfGuest,
    /// A healthcare facility's CSV upload.
    Csv,
    /// An establishment's system, through the API.
    Api,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Web => "web",
            Via::SelfGuest => "self",
            Via::Csv => "csv",
            Via::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Via> {
        match s {
            "web" => Some(Via::Web),
            "self" => Some(Via::SelfGuest),
            "csv" => Some(Via::Csv),
            "api" => Some(Via::Api),
            _ => None,
        }
    }
}

/// A guest as the host typed them.
#[derive(Clone, PartialEq, Eq)]
pub enum Guest {
    /// A citizen: personal ID, full name and date of birth, checked together.
    Citizen {
        personal_id: String,
        full_name: String,
        birth: String,
    },
    /// A foreigner: passport number, nationality (ISO 3166 alpha-3 or alpha-2) and name.
    Foreigner {
        passport: String,
        nationality: String,
        full_name: String,
    },
}

impl fmt::Debug for Guest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guest::Citizen { .. } => f.write_str("Guest::Citizen(…)"),
            Guest::Foreigner { nationality, .. } => write!(f, "Guest::Foreigner({nationality}, …)"),
        }
    }
}

/// One stay to notify.
#[derive(Debug, Clone)]
pub struct StayIn {
    pub guest: Guest,
    pub arrival: OffsetDateTime,
    pub departure: OffsetDateTime,
    pub reason: String,
}

/// Who notifies: a signed-in citizen (a notifier of the establishment, or the guest) or an API
/// client bound to the establishment.
#[derive(Clone)]
pub enum Notifier {
    Citizen { personal_id: String, via: Via },
    Client { client_id: String },
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notifier::Citizen { via, .. } => write!(f, "Notifier::Citizen({via:?}, …)"),
            Notifier::Client { client_id } => write!(f, "Notifier::Client({client_id})"),
        }
    }
}

/// An establishment.
#[derive(Clone, PartialEq, Eq)]
pub struct Establishment {
    pub id: i64,
    pub kind: Kind,
    pub name: String,
    pub address: String,
    pub commune: eid_domain::UnitCode,
    pub relatives_once: bool,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for Establishment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Establishment({}, {}, {})",
            self.id,
            self.kind.as_str(),
            self.commune.as_str()
        )
    }
}

/// What a notification gave back for one stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    pub id: i64,
    pub late: bool,
    pub deadline: Option<OffsetDateTime>,
    pub rule: Rule,
    /// The same stay had already been notified (a repeated submission): nothing new was written.
    pub repeated: bool,
}

/// Masks a full name for someone who may see only that a person did something: the first letter
/// of each word, the given name whole ("Nguyễn Thị Hoa" → "N. T. Hoa").
pub fn masked_name(full: &str) -> String {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.split_last() {
        Some((last, rest)) => {
            let mut out: Vec<String> = rest
                .iter()
                .map(|w| format!("{}.", w.chars().next().unwrap_or('-')))
                .collect();
            out.push((*last).to_owned());
            out.join(" ")
        }
        None => String::new(),
    }
}
