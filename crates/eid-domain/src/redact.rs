//! `Debug` forms for values that hold personal data but are kept as plain text (a phone as
//! E.164, a personal ID read back from a report, an SMS body, a token).
//!
//! A hand-written `Debug` of a type that holds such text wraps each field in one of these, so a
//! stray `{:?}` prints the same masked forms as [`PersonalId`], [`PhoneNumber`] and
//! [`PersonName`](crate::PersonName) do, and never the text itself.

use std::fmt;

use crate::id::PersonalId;
use crate::phone::PhoneNumber;

/// Shows nothing of the value: `…`.
#[derive(Clone, Copy)]
pub struct Hidden;

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("…")
    }
}

/// Free text (an SMS body, an address, a reason typed by an officer): only its length.
#[derive(Clone, Copy)]
pub struct Text<'a>(pub &'a str);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

/// A phone number kept as text: masked like [`PhoneNumber`]'s `Debug` (the last three digits).
#[derive(Clone, Copy)]
pub struct Phone<'a>(pub &'a str);

impl fmt::Debug for Phone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match PhoneNumber::parse(self.0) {
            Ok(p) => fmt::Debug::fmt(&p, f),
            Err(_) => f.write_str("PhoneNumber(…)"),
        }
    }
}

/// A personal ID kept as text: masked like [`PersonalId`]'s `Debug` (the first six digits).
#[derive(Clone, Copy)]
pub struct Id<'a>(pub &'a str);

impl fmt::Debug for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match PersonalId::parse(self.0) {
            Ok(p) => fmt::Debug::fmt(&p, f),
            Err(_) => f.write_str("PersonalId(…)"),
        }
    }
}

/// Text that may be a personal ID (an audit target: a personal ID, a unit code, a token id):
/// masked like [`Id`] when it is one, shown as it is otherwise.
#[derive(Clone, Copy)]
pub struct MaybeId<'a>(pub &'a str);

impl fmt::Debug for MaybeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match PersonalId::parse(self.0) {
            Ok(p) => fmt::Debug::fmt(&p, f),
            Err(_) => fmt::Debug::fmt(self.0, f),
        }
    }
}

/// `impl Debug for T` showing the fields in `show` as they are and masking the others: `phone`
/// and `id` (text fields) as the domain types print them, `text` as its length, `hide` not at
/// all. Each crate uses it for its own types that hold personal data or secrets.
#[macro_export]
macro_rules! masked_debug {
    ($t:ty, $name:literal {
        show: [$($s:ident),* $(,)?]
        $(, phone: [$($p:ident),* $(,)?])?
        $(, id: [$($i:ident),* $(,)?])?
        $(, text: [$($x:ident),* $(,)?])?
        $(, hide: [$($h:ident),* $(,)?])?
        $(,)?
    }) => {
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut d = f.debug_struct($name);
                $(d.field(stringify!($s), &self.$s);)*
                $($(d.field(stringify!($p), &$crate::redact::Phone(&self.$p));)*)?
                $($(d.field(stringify!($i), &$crate::redact::Id(&self.$i));)*)?
                $($(d.field(stringify!($x), &$crate::redact::Text(&self.$x));)*)?
                $($(d.field(stringify!($h), &$crate::redact::Hidden);)*)?
                d.finish()
            }
        }
    };
}

/// Fixtures for the masking tests of every crate: personal data in each form it could take, and
/// a check that a value's `Debug` shows none of it. Used by tests only.
#[doc(hidden)]
#[allow(clippy::panic)]
pub mod testing {
    use std::fmt;

    use time::macros::datetime;
    use time::OffsetDateTime;

    pub const ID: &str = "001204012345";
    pub const PHONE: &str = "+84912345678";
    pub const BODY: &str = "Ma xac thuc cua ban la 482915.";
    pub const ADDRESS: &str = "12 Ngõ Huế, phường Phố Huế";
    pub const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
    pub const TOKEN: &str = "tok9f8e7d6c5b4a39";
    pub const PASSWORD: &str = "Mat-khau-rat-bi-mat-1";
    pub const PASSCODE: &str = "918273";
    pub const USERNAME: &str = "nguyen.van.an";
    pub const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

    /// What must never show, in every form it could take.
    pub const SECRETS: &[&str] = &[
        ID,
        PHONE,
        "0912345678",
        "912345678",
        "1990-05-17",
        "17/05/1990",
        "Ngõ Huế",
        "Ma xac thuc",
        "482915",
        SEED,
        TOKEN,
        PASSWORD,
        PASSCODE,
        USERNAME,
        "Nguyễn",
        "Khai",
        "HK-0099",
        "hdl55aa66bb",
    ];

    pub fn check<T: fmt::Debug>(what: &str, v: &T, shown: &[&str]) {
        for text in [format!("{v:?}"), format!("{v:#?}")] {
            for s in SECRETS {
                assert!(!text.contains(s), "{what} shows {s:?}: {text}");
            }
            for s in shown {
                assert!(text.contains(s), "{what} should show {s:?}: {text}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_forms_keep_no_more_than_the_domain_types_show() {
        let phone = "+84912345678";
        let shown = format!("{:?} {:#?}", Phone(phone), Phone("0912345678"));
        assert_eq!(shown, "PhoneNumber(0******678) PhoneNumber(0******678)");
        assert_eq!(format!("{:?}", Phone("not a phone 0912")), "PhoneNumber(…)");

        let id = "001204012345";
        assert_eq!(format!("{:?}", Id(id)), "PersonalId(001204…)");
        assert_eq!(format!("{:?}", Id("12345")), "PersonalId(…)");
        assert_eq!(format!("{:?}", MaybeId(id)), "PersonalId(001204…)");
        assert_eq!(format!("{:?}", MaybeId("token:17")), "\"token:17\"");

        let body = "Ma xac thuc: 482915";
        assert_eq!(format!("{:?}", Text(body)), "<19 chars>");
        assert_eq!(format!("{:#?}", Some(Hidden)), "Some(\n    …,\n)");
    }
}
