//! The states things go through: an account, an application for level 2, an intake device, a
//! proposed register change.
//!
//! Each is an enum with a stable name ([`as_str`](ApplicationState::as_str)), the text stored
//! in the database and shown on the wire, and a parse that refuses any other text, so a state
//! is decoded once, where it is read, and every decision on it is an exhaustive `match`.

use std::fmt;
use std::str::FromStr;

/// Text that names no state of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState {
    /// Which kind of state was expected (`"application state"`, …).
    pub kind: &'static str,
    /// The text that was given.
    pub text: String,
}

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: {:?}", self.kind, self.text)
    }
}

impl std::error::Error for UnknownState {}

/// An enum of states with stable names: `ALL`, `as_str`, `parse`, `FromStr`, `Display`.
macro_rules! named_states {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every state, in a fixed order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name, as stored and shown on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The state with this stable name; any other text is refused.
            pub fn parse(s: &str) -> Result<$name, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState { kind: $kind, text: s.to_owned() }),
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        /// The stable name, padded and aligned as the format asks (`{:<9}`).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

/// The level of assurance of an electronic identification account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountLevel {
    /// No level yet: a level-1 registration not confirmed.
    Zero,
    /// Level 1: registered by the holder in the app.
    One,
    /// Level 2: identity checked in person at an intake point (or by a fresh face match with a
    /// recent chip card).
    Two,
}

impl AccountLevel {
    /// Every level, lowest first.
    pub const ALL: &'static [AccountLevel] =
        &[AccountLevel::Zero, AccountLevel::One, AccountLevel::Two];

    /// The level as stored and shown on the wire: 0, 1 or 2.
    pub const fn number(self) -> u8 {
        match self {
            AccountLevel::Zero => 0,
            AccountLevel::One => 1,
            AccountLevel::Two => 2,
        }
    }

    /// The level with this number; any other number is refused.
    pub fn from_number(n: i64) -> Result<AccountLevel, UnknownState> {
        match n {
            0 => Ok(AccountLevel::Zero),
            1 => Ok(AccountLevel::One),
            2 => Ok(AccountLevel::Two),
            _ => Err(UnknownState {
                kind: "account level",
                text: n.to_string(),
            }),
        }
    }
}

impl fmt::Display for AccountLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.number(), f)
    }
}

named_states! {
    /// An account's stored state: registered but not yet confirmed, or active.
    AccountState, "account state" {
        Pending => "pending",
        Active => "active",
    }
}

named_states! {
    /// An account as its holder and officers see it: pending, active, or active but locked (by
    /// its holder, an officer or the register).
    AccountStatus, "account status" {
        Pending => "pending",
        Active => "active",
        Locked => "locked",
    }
}

named_states! {
    /// Where an application for level 2 stands.
    ApplicationState, "application state" {
        /// Collected, waiting for an officer's review (the face match or a check asked for it).
        Review => "review",
        /// Approved by a reviewer; the activation code is not yet sent.
        Approved => "approved",
        /// The activation code is sent; waiting for the holder to activate.
        CodeSent => "code_sent",
        /// The holder activated level 2 (final).
        Activated => "activated",
        /// Rejected by a reviewer (final).
        Rejected => "rejected",
    }
}

impl ApplicationState {
    /// Whether the application is still under way (under review, approved, or its code sent):
    /// it blocks a new application for the same person and may still be rejected.
    pub const fn is_open(self) -> bool {
        match self {
            ApplicationState::Review | ApplicationState::Approved | ApplicationState::CodeSent => {
                true
            }
            ApplicationState::Activated | ApplicationState::Rejected => false,
        }
    }
}

named_states! {
    /// Whether an intake device may collect applications.
    DeviceStatus, "device status" {
        Active => "active",
        Suspended => "suspended",
        /// Retired for good: a retired device never comes back.
        Retired => "retired",
    }
}

impl DeviceStatus {
    /// Whether a device in this status may be moved to `next` (a retired device stays retired).
    pub const fn may_become(self, next: DeviceStatus) -> bool {
        match self {
            DeviceStatus::Retired => matches!(next, DeviceStatus::Retired),
            DeviceStatus::Active | DeviceStatus::Suspended => true,
        }
    }
}

named_states! {
    /// Where a message of the SMS outbox stands.
    SmsState, "SMS state" {
        /// Waiting to be sent (or to be tried again).
        Pending => "pending",
        Sent => "sent",
        /// Given up after too many attempts.
        Failed => "failed",
    }
}

named_states! {
    /// Where a register change proposed from the field stands.
    ProposalState, "proposal state" {
        /// Waiting for an officer's decision.
        Open => "open",
        /// The register recorded the change.
        Confirmed => "confirmed",
        /// The officer dismissed it.
        Dismissed => "dismissed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_stored_name() {
        let names: Vec<(&str, String)> = AccountState::ALL
            .iter()
            .map(|s| {
                (
                    "account",
                    AccountState::parse(s.as_str())
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .chain(AccountStatus::ALL.iter().map(|s| {
                (
                    "status",
                    s.as_str()
                        .parse::<AccountStatus>()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            }))
            .chain(ApplicationState::ALL.iter().map(|s| {
                (
                    "application",
                    ApplicationState::parse(s.as_str())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            }))
            .chain(DeviceStatus::ALL.iter().map(|s| {
                (
                    "device",
                    DeviceStatus::parse(s.as_str())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            }))
            .chain(SmsState::ALL.iter().map(|s| {
                (
                    "sms",
                    SmsState::parse(s.as_str())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            }))
            .chain(ProposalState::ALL.iter().map(|s| {
                (
                    "proposal",
                    ProposalState::parse(s.as_str())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            }))
            .collect();
        let want = [
            ("account", "pending"),
            ("account", "active"),
            ("status", "pending"),
            ("status", "active"),
            ("status", "locked"),
            ("application", "review"),
            ("application", "approved"),
            ("application", "code_sent"),
            ("application", "activated"),
            ("application", "rejected"),
            ("device", "active"),
            ("device", "suspended"),
            ("device", "retired"),
            ("sms", "pending"),
            ("sms", "sent"),
            ("sms", "failed"),
            ("proposal", "open"),
            ("proposal", "confirmed"),
            ("proposal", "dismissed"),
        ];
        let got: Vec<(&str, &str)> = names.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_text_is_refused_and_named() {
        for bad in ["", "Review", "review ", "codesent", "locked?", "activé"] {
            let e = ApplicationState::parse(bad).unwrap_err();
            assert_eq!(e.kind, "application state");
            assert_eq!(e.text, bad);
        }
        assert!(
            AccountState::parse("locked").is_err(),
            "locked is not stored"
        );
        assert!(DeviceStatus::parse("ACTIVE").is_err());
        assert!(ProposalState::parse("closed").is_err());
        assert_eq!(
            "x".parse::<DeviceStatus>().unwrap_err().to_string(),
            "unknown device status: \"x\""
        );
    }

    #[test]
    fn display_pads_like_the_text_it_stands_for() {
        assert_eq!(format!("[{:<9}]", DeviceStatus::Active), "[active   ]");
        assert_eq!(
            format!("[{:>9}]", ApplicationState::CodeSent),
            "[code_sent]"
        );
        assert_eq!(format!("[{:^8}]", SmsState::Sent), "[  sent  ]");
        assert_eq!(format!("[{:>3}]", AccountLevel::Two), "[  2]");
    }

    #[test]
    fn levels_are_numbers_zero_to_two_in_order() {
        for (n, l) in [
            (0, AccountLevel::Zero),
            (1, AccountLevel::One),
            (2, AccountLevel::Two),
        ] {
            assert_eq!(AccountLevel::from_number(n), Ok(l));
            assert_eq!(i64::from(l.number()), n);
            assert_eq!(l.to_string(), n.to_string());
        }
        assert!(AccountLevel::Zero < AccountLevel::One && AccountLevel::One < AccountLevel::Two);
        for bad in [-1, 3, 200] {
            assert_eq!(
                AccountLevel::from_number(bad).unwrap_err().kind,
                "account level"
            );
        }
    }

    #[test]
    fn open_applications_are_those_under_way() {
        let open: Vec<&str> = ApplicationState::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(open, ["review", "approved", "code_sent"]);
    }

    #[test]
    fn a_retired_device_stays_retired() {
        use DeviceStatus::*;
        for from in DeviceStatus::ALL {
            for to in DeviceStatus::ALL {
                let want = *from != Retired || *to == Retired;
                assert_eq!(from.may_become(*to), want, "{from} -> {to}");
            }
        }
        assert!(Suspended.may_become(Active));
    }
}
