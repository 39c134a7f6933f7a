//! What the register keeps of a person's residence beyond the person record's 18 columns: the
//! end of the temporary residence's term and a declared temporary absence (Law on Residence
//! 2020, Art. 27–28 and 31). Changed only by approved residence procedures, through an `updated`
//! event of the person whose changes name these fields.

use std::fmt;

use time::Date;

use crate::person::{check_address, iso, parse_iso_date, PersonError};

/// The longest term of a temporary residence, in days: 2 years (Art. 27(3)), leap day included.
pub const MAX_TERM_DAYS: i64 = 2 * 366;

/// A declared temporary absence (khai báo tạm vắng): from, to, and where to (may be empty).
#[derive(Clone, PartialEq, Eq)]
pub struct Absence {
    pub from: Date,
    pub to: Date,
    pub destination: String,
}

impl fmt::Debug for Absence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Absence({}..{}, …)", iso(self.from), iso(self.to))
    }
}

/// The residence fields of a person that the 18-column record has no place for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Residency {
    /// The last day of the temporary residence's term (none without a temporary residence).
    pub temp_until: Option<Date>,
    pub absence: Option<Absence>,
}

/// The field names, as the events and the API name them.
pub const FIELDS: [&str; 4] = ["temp_until", "absence_from", "absence_to", "absence_place"];

impl Residency {
    /// The fields' text forms in [`FIELDS`] order (ISO dates; empty when absent).
    pub fn fields(&self) -> [String; 4] {
        let d = |x: Option<Date>| x.map(iso).unwrap_or_default();
        [
            d(self.temp_until),
            d(self.absence.as_ref().map(|a| a.from)),
            d(self.absence.as_ref().map(|a| a.to)),
            self.absence
                .as_ref()
                .map(|a| a.destination.clone())
                .unwrap_or_default(),
        ]
    }

    /// The inverse of [`Residency::fields`]; `None` when a date does not parse or the absence is
    /// half given.
    pub fn from_fields(f: &[&str; 4]) -> Option<Residency> {
        let d = |s: &str| -> Option<Option<Date>> {
            if s.is_empty() {
                Some(None)
            } else {
                parse_iso_date(s).map(Some)
            }
        };
        let temp_until = d(f[0])?;
        let absence = match (d(f[1])?, d(f[2])?) {
            (Some(from), Some(to)) => Some(Absence {
                from,
                to,
                destination: f[3].to_owned(),
            }),
            (None, None) if f[3].is_empty() => None,
            _ => return None,
        };
        Some(Residency {
            temp_until,
            absence,
        })
    }

    /// The rules: a term ends at most [`MAX_TERM_DAYS`] after `today` and only with a temporary
    /// residence (`has_temporary`); an absence ends after it starts; the destination is an
    /// address.
    pub fn check(&self, has_temporary: bool, today: Date) -> Result<(), PersonError> {
        if let Some(u) = self.temp_until {
            if !has_temporary {
                return Err(PersonError::Address {
                    field: "temp_until",
                    reason: "a term end without a temporary residence".into(),
                });
            }
            if (u - today).whole_days() > MAX_TERM_DAYS {
                return Err(PersonError::Address {
                    field: "temp_until",
                    reason: "a temporary residence lasts at most 2 years".into(),
                });
            }
        }
        if let Some(a) = &self.absence {
            if a.to < a.from {
                return Err(PersonError::Address {
                    field: "absence_to",
                    reason: "an absence ends before it starts".into(),
                });
            }
            check_address("absence_place", &a.destination)?;
        }
        Ok(())
    }

    /// The absence in force on `day`, if any.
    pub fn absent_on(&self, day: Date) -> Option<&Absence> {
        self.absence
            .as_ref()
            .filter(|a| a.from <= day && day <= a.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn fields_round_trip_and_half_absences_are_refused() {
        let r = Residency {
            temp_until: Some(date!(2028 - 01 - 31)),
            absence: Some(Absence {
                from: date!(2026 - 12 - 01),
                to: date!(2027 - 03 - 01),
                destination: "Đà Nẵng".into(),
            }),
        };
        let f = r.fields();
        assert_eq!(f[0], "2028-01-31");
        let refs = [f[0].as_str(), f[1].as_str(), f[2].as_str(), f[3].as_str()];
        assert_eq!(Residency::from_fields(&refs), Some(r.clone()));
        assert_eq!(Residency::from_fields(&["", "2026-12-01", "", ""]), None);
        assert_eq!(
            Residency::from_fields(&["", "", "", ""]),
            Some(Residency::default())
        );
        let today = date!(2026 - 11 - 23);
        assert!(r.check(true, today).is_ok());
        assert_eq!(r.check(false, today).unwrap_err().field(), "temp_until");
        let long = Residency {
            temp_until: Some(date!(2028 - 11 - 25)),
            absence: None,
        };
        assert_eq!(long.check(true, today).unwrap_err().field(), "temp_until");
        assert!(r.absent_on(date!(2027 - 01 - 01)).is_some());
        assert!(r.absent_on(date!(2027 - 03 - 02)).is_none());
    }
}
