//! `eid client`: the citizen and intake flows against a running server.

use super::*;

pub(super) fn client_command(cmd: ClientCommand) -> Result<(), Failure> {
    use crate::client::{Applicant, Client, IntakeDevice, SignedIn};
    match cmd {
        ClientCommand::Intake(a) => {
            let client = Client::new(&a.server.server);
            let device = IntakeDevice {
                id: a.device_id,
                seed_hex: a.key_seed.trim().to_owned(),
                officer: a.officer.trim().to_owned(),
            };
            let applicant = Applicant {
                matched: !a.no_match,
                method: &a.method,
                against: &a.against,
                ..Applicant::matching(a.personal_id.trim(), a.phone.trim())
            };
            let app = client.intake(&device, &applicant)?;
            outln!("application {} {}", app.application_id, app.state)?;
            if let Some(why) = app.review_reason {
                outln!("in review: {why}")?;
            }
            Ok(())
        }
        ClientCommand::Register(a) => {
            let client = Client::new(&a.server.server);
            let photo = match &a.photo {
                Some(p) => {
                    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?
                }
                None => crate::verifier::dev_portrait(a.personal_id.trim()),
            };
            let handle = client.register(a.personal_id.trim(), &a.phone, &photo, &a.device_id)?;
            outln!("if the details match the register, a code was sent by SMS; confirm with the handle:")?;
            outln!("{handle}")?;
            Ok(())
        }
        ClientCommand::Confirm(a) => {
            let client = Client::new(&a.server.server);
            let account = client.confirm(&a.handle, a.code.trim(), &a.password, &a.passcode)?;
            print_account(&account)
        }
        ClientCommand::Activate(a) => {
            let client = Client::new(&a.server.server);
            let account = client.activate(
                a.personal_id.trim(),
                a.code.trim(),
                &a.password,
                &a.passcode,
                &a.device_id,
            )?;
            print_account(&account)
        }
        ClientCommand::Signin(a) => {
            let client = Client::new(&a.server.server);
            match client.signin(a.personal_id.trim(), &a.password, &a.device_id)? {
                SignedIn::Session { token, expires_at } => {
                    outln!("signed in until {expires_at}; session token:")?;
                    outln!("{token}")?;
                }
                SignedIn::DeviceCheck { handle } => {
                    outln!("a new device: a code went by SMS to the account's phone; confirm with `eid client confirm-device --handle {handle} --code CODE`")?;
                }
            }
            Ok(())
        }
        ClientCommand::ConfirmDevice(a) => {
            let client = Client::new(&a.server.server);
            match client.confirm_device(&a.handle, a.code.trim())? {
                SignedIn::Session { token, expires_at } => {
                    outln!("signed in until {expires_at}; session token:")?;
                    outln!("{token}")?;
                }
                SignedIn::DeviceCheck { .. } => outln!("the server asks for another check")?,
            }
            Ok(())
        }
        ClientCommand::Code(a) => {
            let client = Client::new(&a.server.server);
            let (_, code) = client
                .latest_code(a.token.trim(), &a.phone, a.purpose.trim(), 0)?
                .ok_or_else(|| {
                    format!(
                        "no {} code to {} in the latest messages of the outbox",
                        a.purpose.trim(),
                        a.phone.trim()
                    )
                })?;
            outln!("{code}")?;
            Ok(())
        }
        ClientCommand::Simulate(a) => {
            for (name, v) in [
                ("--activate-rate", a.activate_rate),
                ("--level1-rate", a.level1_rate),
                ("--no-match-rate", a.no_match_rate),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{name} must be between 0 and 1, got {v}").into());
                }
            }
            let ids = match &a.ids {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    Some(crate::client::read_ids(&text))
                }
                None => None,
            };
            let client = Client::new(&a.server.server);
            let sim = crate::client::Simulation {
                token: a.token.trim().to_owned(),
                device: IntakeDevice {
                    id: a.device_id,
                    seed_hex: a.key_seed.trim().to_owned(),
                    officer: a.officer.trim().to_owned(),
                },
                count: a.count,
                activate_rate: a.activate_rate,
                level1_rate: a.level1_rate,
                no_match_rate: a.no_match_rate,
                password: a.password.clone(),
                passcode: a.passcode.clone(),
                ids,
                seed: a.seed.unwrap_or_else(crate::client::clock_seed),
            };
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(a.count as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} applications ({per_sec})",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            let report = crate::client::simulate(&client, &sim, &mut |r| {
                if let Some(b) = &bar {
                    b.set_position(r.sent);
                }
            });
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let report = report?;
            outln!("{report}")?;
            if report.sent < a.count as u64 {
                errln!(
                    "only {} eligible people were found for {} applications",
                    report.candidates,
                    a.count
                );
            }
            Ok(())
        }
    }
}

pub(super) fn print_account(a: &serde_json::Value) -> Result<(), Failure> {
    let s = |k: &str| {
        a.get(k)
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    outln!(
        "account of {}: level {}, {}, phone {}",
        s("personal_id"),
        s("level"),
        s("state"),
        s("phone")
    )
}
