//! The chip-based citizen identity card (CCCD) and when it expires.
//!
//! A card must be renewed when its holder turns 14, 25, 40 and 60. A card issued within the two
//! years before one of those birthdays stays valid until the next one; a card issued from the
//! 58th birthday on never expires.

use time::Date;

use crate::person::{birthday, BirthDate};

/// The ages at which a card must be renewed.
pub const MILESTONES: [u8; 4] = [14, 25, 40, 60];

/// A CCCD card as the register knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    pub issued: Date,
    pub revoked: bool,
}

impl Card {
    /// Whether the card is valid on `today`: issued, not revoked, not expired.
    pub fn is_valid(&self, birth: BirthDate, today: Date) -> bool {
        !self.revoked
            && self.issued <= today
            && card_expiry(birth, self.issued).is_none_or(|e| today < e)
    }
}

/// The date a card issued on `issued` to a person born on `birth` expires, or `None` for a card
/// valid for life. A birth date known only by its year counts from 1 January of that year.
pub fn card_expiry(birth: BirthDate, issued: Date) -> Option<Date> {
    MILESTONES.iter().find_map(|&age| {
        let due = birthday(birth, i32::from(age))?;
        let grace_starts = birthday(birth, i32::from(age) - 2)?;
        (issued < grace_starts).then_some(due)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn expiry_follows_the_age_milestones() {
        let born = BirthDate::Full(date!(1990 - 03 - 15));
        let cases = [
            (date!(2016 - 01 - 10), Some(date!(2030 - 03 - 15))), // age 25 → valid to 40
            (date!(2013 - 03 - 14), Some(date!(2015 - 03 - 15))), // 22 years 364 days → still due at 25
            (date!(2013 - 03 - 15), Some(date!(2030 - 03 - 15))), // exactly 23 → next milestone
            (date!(2028 - 06 - 01), Some(date!(2050 - 03 - 15))), // within 2 years of 40 → to 60
            (date!(2048 - 03 - 15), None),                        // from 58 on → for life
        ];
        for (issued, want) in cases {
            assert_eq!(card_expiry(born, issued), want, "issued {issued}");
        }
    }

    #[test]
    fn a_child_card_is_due_at_fourteen_and_year_only_births_count_from_january() {
        let born = BirthDate::Year(2015);
        assert_eq!(
            card_expiry(born, date!(2020 - 05 - 01)),
            Some(date!(2029 - 01 - 01))
        );
        assert_eq!(
            card_expiry(born, date!(2027 - 05 - 01)),
            Some(date!(2040 - 01 - 01))
        );
    }

    #[test]
    fn leap_day_births_renew_on_the_last_day_of_february() {
        let born = BirthDate::Full(date!(2000 - 02 - 29));
        assert_eq!(
            card_expiry(born, date!(2016 - 01 - 01)),
            Some(date!(2025 - 02 - 28))
        );
    }

    #[test]
    fn validity_needs_issue_not_revoked_not_expired() {
        let born = BirthDate::Full(date!(1990 - 03 - 15));
        let card = Card {
            issued: date!(2016 - 01 - 10),
            revoked: false,
        };
        assert!(card.is_valid(born, date!(2024 - 01 - 01)));
        assert!(!card.is_valid(born, date!(2030 - 03 - 15)));
        assert!(!card.is_valid(born, date!(2015 - 01 - 01)));
        assert!(!Card {
            revoked: true,
            ..card
        }
        .is_valid(born, date!(2024 - 01 - 01)));
    }
}
