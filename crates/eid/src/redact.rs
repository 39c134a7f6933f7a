//! `Debug` for the binary's types that hold personal data or secrets: the SMS outbox message,
//! the wire views of persons and their history, the development tools' devices, applicants,
//! tokens and codes, and the command-line arguments that carry them.
//!
//! Each shows its ids and settings and masks the rest with the forms of
//! [`eid_domain::redact`]: phones and personal IDs as the domain types print them, free text as
//! its length, names, birth dates, codes, tokens, passwords and key seeds not at all. The types
//! stay where they are; only their `Debug` lives here.

use std::fmt;

use eid_domain::redact::{Hidden, Id, MaybeId, Phone, Text};

use crate::access::SearchParams;
use crate::cli::{
    AccountLockArgs, ClientActivateArgs, ClientCodeArgs, ClientConfirmArgs,
    ClientConfirmDeviceArgs, ClientIntakeArgs, ClientRegisterArgs, ClientSigninArgs,
    ClientSimulateArgs,
};
use crate::client::{Applicant, Candidate, IntakeDevice, OutboxSms, SignedIn, Simulation};
use crate::demo::{DemoDevice, Live};
use crate::sms::OutboxMessage;
use crate::wire::{
    AuditJson, ChangeJson, EventJson, HistoryJson, MeJson, NameJson, PersonJson, ResidenceJson,
};

/// `impl Debug for T` showing the fields in `show` as they are, and the fields in the other
/// groups through a mask: `phone` and `id` (text fields) as the domain types print them, `text`
/// as its length, `hide` not at all.
macro_rules! masked_debug {
    ($t:ty, $name:literal {
        show: [$($s:ident),* $(,)?]
        $(, phone: [$($p:ident),* $(,)?])?
        $(, id: [$($i:ident),* $(,)?])?
        $(, text: [$($x:ident),* $(,)?])?
        $(, hide: [$($h:ident),* $(,)?])?
        $(,)?
    }) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct($name);
                $(d.field(stringify!($s), &self.$s);)*
                $($(d.field(stringify!($p), &Phone(&self.$p));)*)?
                $($(d.field(stringify!($i), &Id(&self.$i));)*)?
                $($(d.field(stringify!($x), &Text(&self.$x));)*)?
                $($(d.field(stringify!($h), &Hidden);)*)?
                d.finish()
            }
        }
    };
}

// The SMS outbox (its body carries codes).
masked_debug!(OutboxMessage, "OutboxMessage" {
    show: [id, attempts], phone: [to], text: [body],
});

// A person search as typed.
masked_debug!(SearchParams, "SearchParams" { show: [unit, limit], hide: [name, birth] });

// Wire views of the register.
masked_debug!(NameJson, "NameJson" { show: [], hide: [surname, middle, given, full] });
masked_debug!(ResidenceJson, "ResidenceJson" { show: [unit, unit_name], text: [address] });
masked_debug!(PersonJson, "PersonJson" {
    show: [name, sex, hometown_unit, residence, temporary, phone_type, life_status, card, version],
    id: [personal_id],
    hide: [birth_date, household_id, phone],
});
masked_debug!(ChangeJson, "ChangeJson" { show: [field], hide: [old, new] });
masked_debug!(EventJson, "EventJson" {
    show: [seq, at, actor, kind, changes], text: [reason],
});
masked_debug!(HistoryJson, "HistoryJson" { show: [events], id: [personal_id] });
masked_debug!(MeJson, "MeJson" {
    show: [id, role, unit, unit_name, actor], hide: [username, display_name],
});

impl fmt::Debug for AuditJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditJson")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("actor", &self.actor)
            .field("action", &self.action)
            .field("target", &MaybeId(&self.target))
            .field("outcome", &self.outcome)
            .field("request_id", &self.request_id)
            .finish()
    }
}

// The development tools: devices with their key seeds, applicants, sessions, codes.
masked_debug!(IntakeDevice, "IntakeDevice" { show: [id, officer], hide: [seed_hex] });
masked_debug!(Applicant<'_>, "Applicant" {
    show: [matched, method, against, collected_at], phone: [phone], id: [personal_id],
});
masked_debug!(OutboxSms, "OutboxSms" {
    show: [id, purpose, state], phone: [to], text: [body],
});
masked_debug!(Candidate, "Candidate" {
    show: [smartphone], phone: [phone], id: [personal_id],
});
masked_debug!(Simulation, "Simulation" {
    show: [device, count, activate_rate, level1_rate, no_match_rate, seed],
    hide: [token, password, passcode, ids],
});
masked_debug!(DemoDevice, "DemoDevice" {
    show: [id, name, unit, capacity, status, officer], hide: [seed_hex],
});
masked_debug!(Live, "Live" { show: [devices, seed], hide: [token] });

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignedIn::Session { expires_at, .. } => f
                .debug_struct("Session")
                .field("token", &Hidden)
                .field("expires_at", expires_at)
                .finish(),
            SignedIn::DeviceCheck { .. } => f
                .debug_struct("DeviceCheck")
                .field("handle", &Hidden)
                .finish(),
        }
    }
}

// Command-line arguments that carry personal data or secrets.
masked_debug!(AccountLockArgs, "AccountLockArgs" {
    show: [as_staff], id: [personal_id], text: [reason],
});
masked_debug!(ClientIntakeArgs, "ClientIntakeArgs" {
    show: [server, device_id, officer, no_match, method, against],
    phone: [phone], id: [personal_id], hide: [key_seed],
});
masked_debug!(ClientRegisterArgs, "ClientRegisterArgs" {
    show: [server, device_id, photo], phone: [phone], id: [personal_id],
});
masked_debug!(ClientConfirmArgs, "ClientConfirmArgs" {
    show: [server], hide: [handle, code, password, passcode],
});
masked_debug!(ClientActivateArgs, "ClientActivateArgs" {
    show: [server, device_id], id: [personal_id], hide: [code, password, passcode],
});
masked_debug!(ClientSigninArgs, "ClientSigninArgs" {
    show: [server, device_id], id: [personal_id], hide: [password],
});
masked_debug!(ClientConfirmDeviceArgs, "ClientConfirmDeviceArgs" {
    show: [server], hide: [handle, code],
});
masked_debug!(ClientCodeArgs, "ClientCodeArgs" {
    show: [server, purpose], phone: [phone], hide: [token],
});
masked_debug!(ClientSimulateArgs, "ClientSimulateArgs" {
    show: [server, device_id, officer, count, activate_rate, level1_rate, no_match_rate, ids, seed],
    hide: [token, key_seed, password, passcode],
});
