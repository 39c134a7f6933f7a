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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::PathBuf;

    use eid_core::store::{AuditEntry, PersonEvent, Role, Staff, StoredPerson};
    use eid_core::Actor;
    use eid_domain::{
        BirthDate, DeviceStatus, LifeStatus, Person, PersonName, PersonalId, PhoneNumber,
        PhoneType, Residence, Sex, UnitCode,
    };
    use time::macros::{date, datetime};
    use time::OffsetDateTime;

    use super::*;
    use crate::auth::Caller;
    use crate::cli::ServerArg;
    use crate::wire::SearchJson;

    const ID: &str = "001204012345";
    const PHONE: &str = "+84912345678";
    const BODY: &str = "Ma xac thuc cua ban la 482915.";
    const ADDRESS: &str = "12 Ngõ Huế, phường Phố Huế";
    const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
    const TOKEN: &str = "tok9f8e7d6c5b4a39";
    const PASSWORD: &str = "Mat-khau-rat-bi-mat-1";
    const PASSCODE: &str = "918273";
    const USERNAME: &str = "nguyen.van.an";
    const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

    /// What must never show, in every form it could take.
    const SECRETS: &[&str] = &[
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

    fn check<T: fmt::Debug>(what: &str, v: &T, shown: &[&str]) {
        for text in [format!("{v:?}"), format!("{v:#?}")] {
            for s in SECRETS {
                assert!(!text.contains(s), "{what} shows {s:?}: {text}");
            }
            for s in shown {
                assert!(text.contains(s), "{what} should show {s:?}: {text}");
            }
        }
    }

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn stored() -> StoredPerson {
        StoredPerson {
            person: Person {
                id: PersonalId::parse(ID).unwrap(),
                name: PersonName::parse("Nguyễn", "Thị Minh", "Khai").unwrap(),
                birth: BirthDate::Full(date!(1990 - 05 - 17)),
                sex: Sex::Female,
                hometown: None,
                residence: Residence {
                    unit: unit("00004"),
                    address: ADDRESS.into(),
                },
                temporary: None,
                household: Some("HK-0099-7788".into()),
                phone: Some(PhoneNumber::parse(PHONE).unwrap()),
                phone_type: PhoneType::Smartphone,
                life: LifeStatus::ALIVE,
                card: None,
            },
            version: 4,
            updated_at: NOW,
        }
    }

    fn staff() -> Staff {
        Staff {
            id: 31,
            username: USERNAME.into(),
            display_name: "Nguyễn Văn An".into(),
            role: Role::Commune,
            unit: unit("00004"),
            disabled: false,
        }
    }

    fn device() -> IntakeDevice {
        IntakeDevice {
            id: 9,
            seed_hex: SEED.into(),
            officer: "can.bo.xa".into(),
        }
    }

    fn server() -> ServerArg {
        ServerArg {
            server: "http://127.0.0.1:8080".into(),
        }
    }

    #[test]
    fn the_outbox_message_masks_the_phone_and_the_body() {
        let m = OutboxMessage {
            id: 88,
            to: PHONE.into(),
            body: BODY.into(),
            attempts: 2,
        };
        check(
            "OutboxMessage",
            &m,
            &["id: 88", "0******678", "attempts: 2"],
        );
    }

    #[test]
    fn wire_views_mask_the_person_and_the_staff() {
        let person = crate::wire::PersonJson::new(&stored(), date!(2026 - 11 - 23));
        check(
            "PersonJson",
            &person,
            &["PersonalId(001204…)", "version: 4"],
        );
        check(
            "SearchJson",
            &SearchJson {
                unit: "00004".into(),
                count: 1,
                persons: vec![person],
            },
            &["count: 1", "PersonalId(001204…)"],
        );
        let event = PersonEvent {
            seq: 77,
            at: NOW,
            actor: Actor::Staff(31),
            kind: "updated".into(),
            reason: "sửa địa chỉ Ngõ Huế".into(),
            changes: serde_json::json!({ "phone": [PHONE, "+84987654321"], "residence_address": [ADDRESS, "x"] }),
        };
        let history = HistoryJson {
            personal_id: ID.into(),
            events: vec![EventJson::new(&event)],
        };
        check(
            "HistoryJson",
            &history,
            &["seq: 77", "PersonalId(001204…)", "\"phone\""],
        );
        check(
            "MeJson",
            &MeJson::new(&staff(), &Actor::Staff(31)),
            &["id: 31"],
        );
        let audit = AuditEntry {
            seq: 909,
            at: NOW,
            actor: Actor::Staff(31),
            action: "person.read".into(),
            target: ID.into(),
            outcome: "ok".into(),
            request_id: "req-1".into(),
        };
        check(
            "AuditJson",
            &AuditJson::new(&audit),
            &["person.read", "PersonalId(001204…)"],
        );
        check(
            "Caller",
            &Caller {
                staff: staff(),
                actor: Actor::Staff(31),
            },
            &["id: 31"],
        );
        check(
            "SearchParams",
            &SearchParams {
                name: Some("nguyen thi minh khai".into()),
                birth: Some("1990-05-17".into()),
                unit: Some("00004".into()),
                limit: None,
            },
            &["00004"],
        );
    }

    #[test]
    fn development_tools_hide_seeds_tokens_codes_and_applicants() {
        check("IntakeDevice", &device(), &["id: 9"]);
        let applicant = Applicant {
            personal_id: ID,
            phone: PHONE,
            matched: true,
            method: "fingerprint",
            against: "card",
            collected_at: NOW,
        };
        check(
            "Applicant",
            &applicant,
            &["PersonalId(001204…)", "0******678"],
        );
        check(
            "OutboxSms",
            &OutboxSms {
                id: 5,
                to: PHONE.into(),
                body: BODY.into(),
                purpose: "activate".into(),
                state: "sent".into(),
            },
            &["id: 5", "activate"],
        );
        check(
            "Candidate",
            &Candidate {
                personal_id: ID.into(),
                phone: PHONE.into(),
                smartphone: true,
            },
            &["PersonalId(001204…)"],
        );
        check(
            "Simulation",
            &Simulation {
                token: TOKEN.into(),
                device: device(),
                count: 10,
                activate_rate: 0.5,
                level1_rate: 0.3,
                no_match_rate: 0.0,
                password: PASSWORD.into(),
                passcode: PASSCODE.into(),
                ids: Some(vec![ID.into()]),
                seed: 6,
            },
            &["count: 10", "id: 9"],
        );
        check(
            "SignedIn::Session",
            &SignedIn::Session {
                token: TOKEN.into(),
                expires_at: "2026-11-24T09:00:00Z".into(),
            },
            &["Session"],
        );
        check(
            "SignedIn::DeviceCheck",
            &SignedIn::DeviceCheck {
                handle: "hdl55aa66bb77cc".into(),
            },
            &["DeviceCheck"],
        );
        check(
            "DemoDevice",
            &DemoDevice {
                id: 9,
                name: "Máy 1".into(),
                unit: unit("00004"),
                capacity: 120,
                status: DeviceStatus::Active,
                seed_hex: SEED.into(),
                officer: "can.bo.xa".into(),
            },
            &["id: 9", "Active"],
        );
        check(
            "Live",
            &Live {
                devices: vec![device()],
                token: TOKEN.into(),
                seed: 6,
            },
            &["seed: 6"],
        );
    }

    #[test]
    fn command_line_arguments_hide_what_they_carry() {
        check(
            "AccountLockArgs",
            &AccountLockArgs {
                personal_id: ID.into(),
                reason: "mất điện thoại".into(),
                as_staff: "admin".into(),
            },
            &["PersonalId(001204…)", "admin"],
        );
        check(
            "ClientIntakeArgs",
            &ClientIntakeArgs {
                server: server(),
                device_id: 9,
                key_seed: SEED.into(),
                officer: "can.bo.xa".into(),
                personal_id: ID.into(),
                phone: PHONE.into(),
                no_match: false,
                method: "fingerprint".into(),
                against: "card".into(),
            },
            &["device_id: 9", "0******678"],
        );
        check(
            "ClientRegisterArgs",
            &ClientRegisterArgs {
                server: server(),
                personal_id: ID.into(),
                phone: PHONE.into(),
                device_id: "dev-1".into(),
                photo: Some(PathBuf::from("face.jpg")),
            },
            &["dev-1"],
        );
        check(
            "ClientConfirmArgs",
            &ClientConfirmArgs {
                server: server(),
                handle: "hdl55aa66bb77cc".into(),
                code: "482915".into(),
                password: PASSWORD.into(),
                passcode: PASSCODE.into(),
            },
            &["127.0.0.1"],
        );
        check(
            "ClientActivateArgs",
            &ClientActivateArgs {
                server: server(),
                personal_id: ID.into(),
                code: "482915".into(),
                password: PASSWORD.into(),
                passcode: PASSCODE.into(),
                device_id: "dev-1".into(),
            },
            &["dev-1"],
        );
        check(
            "ClientSigninArgs",
            &ClientSigninArgs {
                server: server(),
                personal_id: ID.into(),
                password: PASSWORD.into(),
                device_id: "dev-1".into(),
            },
            &["dev-1"],
        );
        check(
            "ClientConfirmDeviceArgs",
            &ClientConfirmDeviceArgs {
                server: server(),
                handle: "hdl55aa66bb77cc".into(),
                code: "482915".into(),
            },
            &["127.0.0.1"],
        );
        check(
            "ClientCodeArgs",
            &ClientCodeArgs {
                server: server(),
                token: TOKEN.into(),
                phone: PHONE.into(),
                purpose: "activate".into(),
            },
            &["activate"],
        );
        check(
            "ClientSimulateArgs",
            &ClientSimulateArgs {
                server: server(),
                token: TOKEN.into(),
                device_id: 9,
                key_seed: SEED.into(),
                officer: "can.bo.xa".into(),
                count: 10,
                activate_rate: 0.6,
                level1_rate: 0.3,
                no_match_rate: 0.02,
                ids: None,
                password: PASSWORD.into(),
                passcode: PASSCODE.into(),
                seed: Some(6),
            },
            &["count: 10"],
        );
    }
}
