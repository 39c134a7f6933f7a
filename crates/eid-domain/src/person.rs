//! A person in the register, and the rules a record must satisfy as a whole.
//!
//! Field types are parsed one by one elsewhere ([`PersonalId`], [`PersonName`],
//! [`PhoneNumber`], [`UnitCode`]); [`Person::new`] checks what only the whole record can say:
//! the number agrees with sex and year of birth, dates are possible and in order, units exist
//! and are communes, and the phone type agrees with the number.

use std::fmt;

use time::{Date, Month};

use crate::card::Card;
use crate::id::PersonalId;
use crate::name::PersonName;
use crate::phone::{PhoneNumber, PhoneType};
use crate::units::{Level, Tree, UnitCode, Units};

/// Longest address and household identifier we accept, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_HOUSEHOLD_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// `M` or `F`, the form used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "M" | "m" | "Nam" | "nam" => Some(Sex::Male),
            "F" | "f" | "Nữ" | "nữ" | "Nu" | "nu" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// A date of birth: a full date, or only the year, as many old records have.
///
/// Its `Debug` shows the year only (the personal ID carries it anyway), never the day.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BirthDate {
    Full(Date),
    Year(i32),
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BirthDate::Full(d) => write!(f, "BirthDate({}-…)", d.year()),
            BirthDate::Year(y) => write!(f, "BirthDate({y})"),
        }
    }
}

impl BirthDate {
    /// Parses `YYYY-MM-DD` or `YYYY`.
    pub fn parse(s: &str) -> Option<BirthDate> {
        if s.len() == 4 {
            return s
                .parse::<i32>()
                .ok()
                .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
                .map(BirthDate::Year);
        }
        parse_iso_date(s).map(BirthDate::Full)
    }

    pub fn year(self) -> i32 {
        match self {
            BirthDate::Full(d) => d.year(),
            BirthDate::Year(y) => y,
        }
    }

    /// The earliest day the person can have been born on.
    pub fn earliest(self) -> Option<Date> {
        match self {
            BirthDate::Full(d) => Some(d),
            BirthDate::Year(y) => Date::from_calendar_date(y, Month::January, 1).ok(),
        }
    }

    /// Age in whole years on `today`; a year-only date counts from 1 January.
    pub fn age_on(self, today: Date) -> i32 {
        let Some(born) = self.earliest() else {
            return 0;
        };
        let mut age = today.year() - born.year();
        if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BirthDate::Full(d) => write_iso(f, *d),
            BirthDate::Year(y) => write!(f, "{y:04}"),
        }
    }
}

/// The day a person born on `birth` turns `age` (28 February for 29 February births in common
/// years), or `None` outside the calendar's range.
pub fn birthday(birth: BirthDate, age: i32) -> Option<Date> {
    let born = birth.earliest()?;
    let year = born.year() + age;
    Date::from_calendar_date(year, born.month(), born.day())
        .or_else(|_| Date::from_calendar_date(year, born.month(), born.day() - 1))
        .ok()
}

/// The latest birth date, as ISO text, of someone who is at least `age` on `today` (the
/// [`birthday`] rule: one born on 29 February turns a year older on 28 February in other
/// years). Stored birth dates compare as text against it: `YYYY-MM-DD <= cutoff` holds exactly
/// for those old enough, and a year-only `YYYY` (counted from 1 January) sorts before every
/// date of its year.
pub fn birthday_cutoff(today: Date, age: i32) -> String {
    let year = today.year() - age;
    let mut c = Date::from_calendar_date(year, today.month(), today.day())
        .or_else(|_| Date::from_calendar_date(year, today.month(), today.day() - 1))
        .unwrap_or(today);
    if today.month() == time::Month::February && today.day() == 28 {
        if let Ok(leap) = Date::from_calendar_date(year, time::Month::February, 29) {
            c = leap;
        }
    }
    iso(c)
}

/// Parses an ISO date, `YYYY-MM-DD`, and nothing else.
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Writes a date in ISO form, `YYYY-MM-DD`.
pub fn write_iso(f: &mut impl fmt::Write, d: Date) -> fmt::Result {
    write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// A date in ISO form, `YYYY-MM-DD`.
pub fn iso(d: Date) -> String {
    let mut s = String::with_capacity(10);
    let _ = write_iso(&mut s, d);
    s
}

/// Whether a person is alive and living where the register says ("sống").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeState {
    Alive,
    Dead,
    Emigrated,
    Absent,
}

impl LifeState {
    pub fn as_str(self) -> &'static str {
        match self {
            LifeState::Alive => "alive",
            LifeState::Dead => "dead",
            LifeState::Emigrated => "emigrated",
            LifeState::Absent => "absent",
        }
    }
    pub fn parse(s: &str) -> Option<LifeState> {
        match s {
            "alive" => Some(LifeState::Alive),
            "dead" => Some(LifeState::Dead),
            "emigrated" => Some(LifeState::Emigrated),
            "absent" => Some(LifeState::Absent),
            _ => None,
        }
    }
}

/// Life status with the date it took effect (none for the living; may be unknown otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifeStatus {
    pub state: LifeState,
    pub since: Option<Date>,
}

impl LifeStatus {
    pub const ALIVE: LifeStatus = LifeStatus {
        state: LifeState::Alive,
        since: None,
    };

    /// Whether the person counts in the denominators of targets (alive and present).
    pub fn counts(&self) -> bool {
        self.state == LifeState::Alive
    }
}

/// Where someone lives: a commune of the three-level tree and a free-text address within it.
#[derive(Clone, PartialEq, Eq)]
pub struct Residence {
    pub unit: UnitCode,
    pub address: String,
}

impl fmt::Debug for Residence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Residence({}, …)", self.unit.as_str())
    }
}

/// A person's record in the register.
///
/// Residence units are communes of the three-level tree ([`Tree::Gso2024`]), the tree the
/// register's records and the campaigns' figures are kept in; reports re-aggregate them into
/// the two-level tree through the unit mapping.
///
/// Its `Debug` masks what identifies the person (see the fields' own `Debug`s; the household
/// number is left out).
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonalId,
    pub name: PersonName,
    pub birth: BirthDate,
    pub sex: Sex,
    /// Quê quán: a unit of any level of the three-level tree, when known.
    pub hometown: Option<UnitCode>,
    pub residence: Residence,
    pub temporary: Option<Residence>,
    pub household: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub phone_type: PhoneType,
    pub life: LifeStatus,
    pub card: Option<Card>,
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("birth", &self.birth)
            .field("sex", &self.sex)
            .field("hometown", &self.hometown)
            .field("residence", &self.residence)
            .field("temporary", &self.temporary)
            .field("household", &self.household.as_ref().map(|_| "…"))
            .field("phone", &self.phone)
            .field("phone_type", &self.phone_type)
            .field("life", &self.life)
            .field("card", &self.card)
            .finish()
    }
}

/// A rule a person record breaks. [`PersonError::field`] names the field (the CSV column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonError {
    SexMismatch { id_says: Sex, record_says: Sex },
    YearMismatch { id_says: i32, record_says: i32 },
    BirthInFuture,
    BirthTooEarly(i32),
    UnknownUnit { field: &'static str, code: String },
    NotACommune { field: &'static str, code: String },
    Address { field: &'static str, reason: String },
    Household(String),
    PhoneTypeNone,
    LifeDateWithoutEvent,
    LifeDateBeforeBirth,
    LifeDateInFuture,
    CardBeforeBirth,
    CardInFuture,
}

impl PersonError {
    /// The field (CSV column) the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            PersonError::SexMismatch { .. } => "sex",
            PersonError::YearMismatch { .. }
            | PersonError::BirthInFuture
            | PersonError::BirthTooEarly(_) => "birth_date",
            PersonError::UnknownUnit { field, .. }
            | PersonError::NotACommune { field, .. }
            | PersonError::Address { field, .. } => field,
            PersonError::Household(_) => "household_id",
            PersonError::PhoneTypeNone => "phone_type",
            PersonError::LifeDateWithoutEvent
            | PersonError::LifeDateBeforeBirth
            | PersonError::LifeDateInFuture => "life_status_date",
            PersonError::CardBeforeBirth | PersonError::CardInFuture => "card_issued",
        }
    }
}

impl fmt::Display for PersonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonError::SexMismatch {
                id_says,
                record_says,
            } => write!(
                f,
                "personal ID says sex {}, record says {}",
                id_says.as_str(),
                record_says.as_str()
            ),
            PersonError::YearMismatch {
                id_says,
                record_says,
            } => {
                write!(
                    f,
                    "personal ID says born in {id_says}, record says {record_says}"
                )
            }
            PersonError::BirthInFuture => f.write_str("date of birth is in the future"),
            PersonError::BirthTooEarly(y) => write!(f, "year of birth {y} is before 1900"),
            PersonError::UnknownUnit { code, .. } => {
                write!(f, "unknown unit {code} in the 2024 tree")
            }
            PersonError::NotACommune { code, .. } => write!(f, "unit {code} is not a commune"),
            PersonError::Address { reason, .. } => f.write_str(reason),
            PersonError::Household(reason) => f.write_str(reason),
            PersonError::PhoneTypeNone => {
                f.write_str("phone type is none but a phone number is given")
            }
            PersonError::LifeDateWithoutEvent => {
                f.write_str("a living person has no life-status date")
            }
            PersonError::LifeDateBeforeBirth => f.write_str("life-status date is before birth"),
            PersonError::LifeDateInFuture => f.write_str("life-status date is in the future"),
            PersonError::CardBeforeBirth => f.write_str("card issued before birth"),
            PersonError::CardInFuture => f.write_str("card issue date is in the future"),
        }
    }
}

impl std::error::Error for PersonError {}

/// Checks a free-text address: NFC is the caller's job; here length and control characters.
pub fn check_address(field: &'static str, address: &str) -> Result<(), PersonError> {
    let n = address.chars().count();
    if n > MAX_ADDRESS_CHARS {
        return Err(PersonError::Address {
            field,
            reason: format!("address has {n} characters, more than {MAX_ADDRESS_CHARS}"),
        });
    }
    if address.chars().any(char::is_control) {
        return Err(PersonError::Address {
            field,
            reason: "address contains a control character".into(),
        });
    }
    Ok(())
}

fn check_commune(field: &'static str, code: &UnitCode) -> Result<(), PersonError> {
    if code.level() != Level::Commune {
        return Err(PersonError::NotACommune {
            field,
            code: code.as_str().to_owned(),
        });
    }
    if Units::get().unit(Tree::Gso2024, code).is_none() {
        return Err(PersonError::UnknownUnit {
            field,
            code: code.as_str().to_owned(),
        });
    }
    Ok(())
}

impl Person {
    /// Checks the rules that span fields. `today` bounds every date.
    pub fn check(&self, today: Date) -> Result<(), PersonError> {
        if self.id.sex() != self.sex {
            return Err(PersonError::SexMismatch {
                id_says: self.id.sex(),
                record_says: self.sex,
            });
        }
        let year = self.birth.year();
        if year < 1900 {
            return Err(PersonError::BirthTooEarly(year));
        }
        if self.id.birth_year() != year {
            return Err(PersonError::YearMismatch {
                id_says: self.id.birth_year(),
                record_says: year,
            });
        }
        let born = self
            .birth
            .earliest()
            .ok_or(PersonError::BirthTooEarly(year))?;
        if born > today {
            return Err(PersonError::BirthInFuture);
        }
        if let Some(home) = &self.hometown {
            if Units::get().unit(Tree::Gso2024, home).is_none() {
                return Err(PersonError::UnknownUnit {
                    field: "hometown_unit",
                    code: home.as_str().to_owned(),
                });
            }
        }
        check_commune("residence_unit", &self.residence.unit)?;
        check_address("residence_address", &self.residence.address)?;
        if let Some(temp) = &self.temporary {
            check_commune("temp_unit", &temp.unit)?;
            check_address("temp_address", &temp.address)?;
        }
        if let Some(h) = &self.household {
            let n = h.chars().count();
            if n > MAX_HOUSEHOLD_CHARS || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(PersonError::Household(format!(
                    "household ID must be up to {MAX_HOUSEHOLD_CHARS} letters, digits or '-'"
                )));
            }
        }
        if self.phone.is_some() && self.phone_type == PhoneType::None {
            return Err(PersonError::PhoneTypeNone);
        }
        match (self.life.state, self.life.since) {
            (LifeState::Alive, Some(_)) => return Err(PersonError::LifeDateWithoutEvent),
            (_, Some(d)) if d < born && self.birth != BirthDate::Year(d.year()) => {
                return Err(PersonError::LifeDateBeforeBirth)
            }
            (_, Some(d)) if d > today => return Err(PersonError::LifeDateInFuture),
            _ => {}
        }
        if let Some(card) = &self.card {
            if card.issued < born {
                return Err(PersonError::CardBeforeBirth);
            }
            if card.issued > today {
                return Err(PersonError::CardInFuture);
            }
        }
        Ok(())
    }

    /// Whether the person counts in the eligible population on `today`: alive and present,
    /// and at least `min_age` years old.
    pub fn eligible(&self, today: Date, min_age: i32) -> bool {
        self.life.counts() && self.birth.age_on(today) >= min_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    #[test]
    fn birthday_cutoffs_agree_with_ages() {
        assert_eq!(birthday_cutoff(TODAY, 14), "2012-11-23");
        assert_eq!(birthday_cutoff(date!(2027 - 02 - 28), 3), "2024-02-29");
        assert_eq!(birthday_cutoff(date!(2028 - 02 - 29), 1), "2027-02-28");
        for (born, age) in [
            ("2012-11-23", 14),
            ("2012-11-24", 13),
            ("2012", 14),
            ("2013", 13),
        ] {
            let b = BirthDate::parse(born).unwrap();
            assert_eq!(
                b.age_on(TODAY) >= 14,
                born <= birthday_cutoff(TODAY, 14).as_str(),
                "{born}"
            );
            assert_eq!(b.age_on(TODAY), age, "{born}");
        }
    }

    fn person() -> Person {
        Person {
            id: PersonalId::parse("038090001234").unwrap(),
            name: PersonName::parse("Lê", "Văn", "An").unwrap(),
            birth: BirthDate::Full(date!(1990 - 05 - 02)),
            sex: Sex::Male,
            hometown: Some(UnitCode::parse("38").unwrap()),
            residence: Residence {
                unit: UnitCode::parse("14755").unwrap(),
                address: "Thôn 3".into(),
            },
            temporary: None,
            household: Some("HH-1".into()),
            phone: Some(PhoneNumber::parse("0912345678").unwrap()),
            phone_type: PhoneType::Smartphone,
            life: LifeStatus::ALIVE,
            card: Some(Card {
                issued: date!(2021 - 06 - 01),
                revoked: false,
            }),
        }
    }

    fn reason(p: &Person) -> String {
        match p.check(TODAY) {
            Ok(()) => "ok".into(),
            Err(e) => format!("{}: {e}", e.field()),
        }
    }

    #[test]
    fn a_consistent_record_passes() {
        assert_eq!(reason(&person()), "ok");
    }

    #[test]
    fn records_that_break_a_rule_say_which() {
        type Mutation = Box<dyn Fn(&mut Person)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "sex: personal ID says sex M, record says F",
                Box::new(|p| p.sex = Sex::Female),
            ),
            (
                "birth_date: personal ID says born in 1990, record says 1991",
                Box::new(|p| p.birth = BirthDate::Year(1991)),
            ),
            (
                "residence_unit: unit 38 is not a commune",
                Box::new(|p| p.residence.unit = UnitCode::parse("38").unwrap()),
            ),
            (
                "residence_unit: unknown unit 99999 in the 2024 tree",
                Box::new(|p| p.residence.unit = UnitCode::parse("99999").unwrap()),
            ),
            (
                "phone_type: phone type is none but a phone number is given",
                Box::new(|p| p.phone_type = PhoneType::None),
            ),
            (
                "life_status_date: a living person has no life-status date",
                Box::new(|p| p.life.since = Some(date!(2020 - 01 - 01))),
            ),
            (
                "life_status_date: life-status date is in the future",
                Box::new(|p| {
                    p.life = LifeStatus {
                        state: LifeState::Dead,
                        since: Some(date!(2027 - 01 - 01)),
                    }
                }),
            ),
            (
                "card_issued: card issued before birth",
                Box::new(|p| {
                    p.card = Some(Card {
                        issued: date!(1989 - 01 - 01),
                        revoked: false,
                    })
                }),
            ),
            (
                "residence_address: address contains a control character",
                Box::new(|p| p.residence.address = "Thôn\u{7}3".into()),
            ),
        ];
        for (want, mutate) in cases {
            let mut p = person();
            mutate(&mut p);
            assert_eq!(reason(&p), want);
        }
    }

    #[test]
    fn birth_dates_parse_full_or_year_only() {
        assert_eq!(
            BirthDate::parse("1990-05-02"),
            Some(BirthDate::Full(date!(1990 - 05 - 02)))
        );
        assert_eq!(BirthDate::parse("1947"), Some(BirthDate::Year(1947)));
        assert_eq!(BirthDate::parse("1990-02-30"), None);
        assert_eq!(BirthDate::parse("1990-13-01"), None);
        assert_eq!(BirthDate::parse("02/05/1990"), None);
        assert_eq!(BirthDate::parse("+990"), None);
        assert_eq!(BirthDate::parse("1990-5-2"), None);
        assert_eq!(BirthDate::Year(1947).to_string(), "1947");
        assert_eq!(
            BirthDate::Full(date!(1990 - 05 - 02)).to_string(),
            "1990-05-02"
        );
    }

    #[test]
    fn ages_count_whole_years() {
        let b = BirthDate::Full(date!(2012 - 11 - 24));
        assert_eq!(b.age_on(TODAY), 13);
        assert_eq!(b.age_on(date!(2026 - 11 - 24)), 14);
        assert_eq!(BirthDate::Year(2012).age_on(TODAY), 14);
    }
}
