//! The 12-digit personal identification number (số định danh cá nhân), also the CCCD number.
//!
//! Digits 1–3 are the GSO code of the province where the birth was registered (one of the 63
//! provinces before the 2025 merger), digit 4 encodes century and sex, digits 5–6 are the last
//! two digits of the year of birth, digits 7–12 are random.

use std::fmt;

use crate::person::Sex;
use crate::units::Units;

/// A personal identification number that passed every structural rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalId([u8; 12]);

/// Why a string is not a personal identification number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Not exactly 12 characters.
    Length(usize),
    /// A character that is not an ASCII digit, at this 1-based position.
    NotDigit(usize),
    /// Digits 1–3 are not the GSO code of a province of the three-level tree.
    UnknownProvince(String),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length(n) => write!(f, "must have 12 digits, has {n} characters"),
            IdError::NotDigit(pos) => write!(f, "character {pos} is not a digit"),
            IdError::UnknownProvince(code) => {
                write!(
                    f,
                    "digits 1-3 ({code}) are not a province code of the GSO list"
                )
            }
        }
    }
}

impl std::error::Error for IdError {}

impl PersonalId {
    /// Parses a personal ID. Surrounding whitespace is not accepted: callers trim first.
    pub fn parse(s: &str) -> Result<PersonalId, IdError> {
        let count = s.chars().count();
        if count != 12 {
            return Err(IdError::Length(count));
        }
        let mut digits = [0u8; 12];
        for (i, (slot, c)) in digits.iter_mut().zip(s.chars()).enumerate() {
            if !c.is_ascii_digit() {
                return Err(IdError::NotDigit(i + 1));
            }
            *slot = c as u8;
        }
        let id = PersonalId(digits);
        let province = id.province_code();
        if Units::get().province_2024(province).is_none() {
            return Err(IdError::UnknownProvince(id.as_str()[..3].to_owned()));
        }
        Ok(id)
    }

    /// Builds an ID from its parts; `serial` is taken modulo 1,000,000.
    ///
    /// Fails like [`PersonalId::parse`] when the province code is unknown or the year is outside
    /// 1900–2399.
    pub fn from_parts(
        province: u8,
        sex: Sex,
        year: i32,
        serial: u32,
    ) -> Result<PersonalId, IdError> {
        let century = (year - 1900).div_euclid(100);
        if !(0..=4).contains(&century) {
            return Err(IdError::NotDigit(4));
        }
        let digit4 = century * 2 + if sex == Sex::Female { 1 } else { 0 };
        let s = format!(
            "{:03}{}{:02}{:06}",
            province,
            digit4,
            year.rem_euclid(100),
            serial % 1_000_000
        );
        PersonalId::parse(&s)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The GSO code of the province where the birth was registered (digits 1–3).
    pub fn province_code(&self) -> u8 {
        let d = |i: usize| u32::from(self.0[i] - b'0');
        u8::try_from(d(0) * 100 + d(1) * 10 + d(2)).unwrap_or(u8::MAX)
    }

    /// The sex encoded in digit 4.
    pub fn sex(&self) -> Sex {
        if (self.0[3] - b'0').is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The year of birth encoded in digits 4–6.
    pub fn birth_year(&self) -> i32 {
        let century = i32::from((self.0[3] - b'0') / 2);
        let yy = i32::from(self.0[4] - b'0') * 10 + i32::from(self.0[5] - b'0');
        1900 + century * 100 + yy
    }
}

impl AsRef<str> for PersonalId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Personal IDs are personal data: `Debug` shows only the province and birth year digits.
impl fmt::Debug for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalId({}…)", &self.as_str()[..6])
    }
}

impl std::str::FromStr for PersonalId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PersonalId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(input: &str, expect: Expect) {
        let actual = match PersonalId::parse(input) {
            Ok(id) => format!(
                "ok province={:03} sex={:?} year={}",
                id.province_code(),
                id.sex(),
                id.birth_year()
            ),
            Err(e) => format!("err {e}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn ids_are_checked_digit_by_digit() {
        check(
            "001090000123",
            expect!["ok province=001 sex=Male year=1990"],
        );
        check(
            "038185004321",
            expect!["ok province=038 sex=Female year=1985"],
        );
        check(
            "062204000001",
            expect!["ok province=062 sex=Male year=2004"],
        );
        check(
            "079305123456",
            expect!["ok province=079 sex=Female year=2005"],
        );
        check(
            "049499000001",
            expect!["ok province=049 sex=Male year=2199"],
        );
        check(
            "00109000012",
            expect!["err must have 12 digits, has 11 characters"],
        );
        check(
            "0010900001234",
            expect!["err must have 12 digits, has 13 characters"],
        );
        check("00109O000123", expect!["err character 6 is not a digit"]);
        check(
            "003090000123",
            expect!["err digits 1-3 (003) are not a province code of the GSO list"],
        );
        check(
            "099090000123",
            expect!["err digits 1-3 (099) are not a province code of the GSO list"],
        );
        check("", expect!["err must have 12 digits, has 0 characters"]);
        check("０01090000123", expect!["err character 1 is not a digit"]);
    }

    #[test]
    fn from_parts_round_trips_sex_and_year() {
        let id = PersonalId::from_parts(38, Sex::Female, 2011, 42).unwrap();
        assert_eq!(id.as_str(), "038311000042");
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.birth_year(), 2011);
        assert!(PersonalId::from_parts(3, Sex::Male, 1990, 1).is_err());
        assert!(PersonalId::from_parts(1, Sex::Male, 1899, 1).is_err());
    }

    #[test]
    fn debug_does_not_reveal_the_serial() {
        let id = PersonalId::parse("001090000123").unwrap();
        assert_eq!(format!("{id:?}"), "PersonalId(001090…)");
    }
}
