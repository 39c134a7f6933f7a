//! `Debug` for the command-line arguments that carry personal data or secrets: each shows its
//! settings and masks the rest with the forms of [`eid_domain::redact`].

use eid_domain::masked_debug;

use crate::cli::{
    AccountLockArgs, ClientActivateArgs, ClientCodeArgs, ClientConfirmArgs,
    ClientConfirmDeviceArgs, ClientIntakeArgs, ClientRegisterArgs, ClientSigninArgs,
    ClientSimulateArgs,
};

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

    use eid_domain::redact::testing::*;

    use super::*;
    use crate::cli::ServerArg;

    fn server() -> ServerArg {
        ServerArg {
            server: "http://127.0.0.1:8080".into(),
        }
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
