//! `Debug` for the development tools' types that hold secrets or personal data: intake devices
//! with their key seeds, applicants, sessions, codes and the demo's live settings. Each shows its
//! ids and masks the rest with the forms of [`eid_domain::redact`].

use std::fmt;

use eid_domain::masked_debug;
use eid_domain::redact::Hidden;

use crate::client::{Applicant, Candidate, IntakeDevice, OutboxSms, SignedIn, Simulation};
use crate::demo::{DemoDevice, Live};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use eid_domain::redact::testing::*;
    use eid_domain::{DeviceStatus, UnitCode};

    use super::*;

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn device() -> IntakeDevice {
        IntakeDevice {
            id: 9,
            seed_hex: SEED.into(),
            officer: "can.bo.xa".into(),
        }
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
}
