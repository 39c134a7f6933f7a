//! eid as an OpenID provider seen by pip `authlib`, a client independent of eid's own code:
//! `tests/oidc/authlib_client.py` signs a citizen in on eid's pages (password, the new browser's
//! SMS code, consent) with code + PKCE + client_secret_basic, validates the RS256 ID token
//! against the JWKS and calls userinfo, on the shared test server.
//!
//! The interpreter is `EID_PYTHON` (python3 by default); `scripts/test` installs authlib. A
//! missing module fails the test, as the OpenAPI validator's does.

use std::process::Command;

use eid_core::oidc::clients::{self, AuthMethod, NewClient};
use eid_core::oidc::jose::Alg;
use eid_core::store::{Role, Staff};
use eid_core::{Acting, Actor, Caller};
use eid_domain::UnitCode;

use crate::helpers::{app, now};

const PASSWORD: &str = "Mật-khẩu-Mạnh-2026";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_eid")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(bin()).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ministry() -> Acting {
    Acting::new(
        Caller {
            staff: Staff {
                id: 0,
                username: "test".into(),
                display_name: "test".into(),
                role: Role::Ministry,
                unit: UnitCode::NATION,
                disabled: false,
            },
            actor: Actor::Cli("test".into()),
        },
        "test",
        now(),
    )
}

/// A level-1 account with a password on the shared server, registered as the app does through
/// `eid client`; returns its personal ID and phone.
pub fn citizen(base: &str, token: &str, phone: &str) -> String {
    let a = app();
    for p in a.persons.iter().rev().take(200) {
        let pid = p.id.as_str();
        let (ok, out, _) = run(&[
            "client",
            "register",
            "--server",
            base,
            "--personal-id",
            pid,
            "--phone",
            phone,
            "--device-id",
            "oidc-test-device-1",
        ]);
        let Some(handle) = out.lines().last().filter(|_| ok).map(str::to_owned) else {
            continue;
        };
        let (ok, code, _) = run(&[
            "client",
            "code",
            "--server",
            base,
            "--token",
            token,
            "--phone",
            phone,
            "--purpose",
            "register",
        ]);
        if !ok {
            continue;
        }
        let (ok, _, err) = run(&[
            "client",
            "confirm",
            "--server",
            base,
            "--handle",
            &handle,
            "--code",
            code.trim(),
            "--password",
            PASSWORD,
            "--passcode",
            "246810",
        ]);
        assert!(ok, "{err}");
        return pid.to_owned();
    }
    panic!("no person of the shared province could register at level 1");
}

#[test]
fn authlib_signs_a_citizen_in_with_code_pkce_and_client_secret_basic_and_checks_the_rs256_id_token()
{
    let a = app();
    let python = std::env::var("EID_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import authlib, requests"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "the authlib test needs pip authlib and requests: run scripts/test, or point EID_PYTHON at \
         an interpreter that has them\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let redirect = "http://127.0.0.1:9/authlib/cb";
    let new = NewClient {
        client_id: Some("authlib-it".into()),
        name_vi: "Ứng dụng thử authlib".into(),
        name_en: "authlib test client".into(),
        logo_uri: None,
        redirect_uris: vec![redirect.into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        scopes: vec!["openid".into(), "profile".into(), "birthdate".into()],
        acr_values: vec![eid_core::oidc::ACR_LOA1.into()],
        id_token_alg: Alg::Rs256,
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        require_par: false,
        sector_identifier: None,
        dpop_bound: false,
    };
    let (_, secret) = clients::add(a.store.as_ref(), &ministry(), &new).unwrap();
    let secret = secret.unwrap();
    let phone = "0912777001";
    let pid = citizen(&a.base, &a.ministry.token, phone);
    let code_command = format!(
        "{} client code --server {} --token {} --phone {phone} --purpose device",
        bin(),
        a.base,
        a.ministry.token
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/oidc/authlib_client.py"
    );
    let o = Command::new(&python)
        .args([
            script,
            "--issuer",
            &a.base,
            "--client-id",
            "authlib-it",
            "--client-secret",
            &secret,
            "--redirect-uri",
            redirect,
            "--scope",
            "openid profile birthdate",
            "--alg",
            "RS256",
            "--field",
            &format!("personal_id={pid}"),
            "--field",
            &format!("password={PASSWORD}"),
            "--code-command",
            &code_command,
            "--expect-claims",
            "birthdate,family_name,given_name,name",
            "--allow-claims",
            "middle_name",
        ])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "authlib client failed:\n{err}\n{out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["alg"], "RS256");
    assert_eq!(summary["acr"], eid_core::oidc::ACR_LOA1);
    let id_claims: Vec<&str> = summary["id_token_claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for c in ["iss", "aud", "sub", "nonce", "acr", "auth_time"] {
        assert!(id_claims.contains(&c), "{c} in the ID token: {id_claims:?}");
    }
    assert!(
        !id_claims.contains(&"vn_personal_id"),
        "no personal ID without its scope"
    );
}
