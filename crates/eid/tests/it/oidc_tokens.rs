//! The token endpoint (both grants, both client authentications), ID tokens checked against
//! the JWKS, userinfo and its release record, code and refresh-token replay, JWKS rotation.

use base64::Engine as _;
use eid_core::oidc::jose::Jws;
use eid_core::oidc::keys;
use serde_json::Value;

use crate::helpers::{agent, call, post_form};
use crate::oidc::{json, setup, Op, BANK_CB, PORTAL_CB};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn bank_token(op: &Op, form: &[(&str, &str)]) -> (u16, Value) {
    let a = op.assertion(&op.url("/oauth2/token"));
    let mut f = vec![
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", a.as_str()),
    ];
    f.extend_from_slice(form);
    json(post_form(agent().post(&op.url("/oauth2/token")), &f))
}

fn portal_token(op: &Op, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("portal:{secret}"));
    json(post_form(
        agent()
            .post(&op.url("/oauth2/token"))
            .header("authorization", &format!("Basic {basic}")),
        form,
    ))
}

fn exchange(op: &Op, code: &str, verifier: &str) -> (u16, Value) {
    bank_token(
        op,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", BANK_CB),
            ("code_verifier", verifier),
        ],
    )
}

fn userinfo(op: &Op, access: &str) -> (u16, Value) {
    json(call(
        agent()
            .get(&op.url("/oauth2/userinfo"))
            .header("authorization", &format!("Bearer {access}")),
    ))
}

fn jwks(op: &Op) -> Value {
    json(call(agent().get(&op.url("/oauth2/jwks")))).1
}

/// Verifies a JWT against the provider's JWKS and returns its header and claims.
fn verified(op: &Op, token: &str) -> (Value, Value) {
    let jws = Jws::parse(token).unwrap();
    let kid = jws.header["kid"].as_str().unwrap().to_owned();
    let set = jwks(op);
    let key = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's key is published")
        .clone();
    assert!(jws.verify(&key), "signature");
    (jws.header, jws.claims)
}

#[test]
fn a_code_exchanges_once_with_its_pkce_verifier_and_a_replay_revokes_its_tokens() {
    let op = setup("oidc-code");
    // A wrong verifier spends the code; the right one afterwards finds it used.
    let (code, verifier) = op.code("bank", "openid profile birthdate", 2);
    let (s, b) = exchange(&op, &code, &"x".repeat(43));
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = exchange(&op, &code, &verifier);
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = exchange(&op, "no-such-code", &verifier);
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    let (code, verifier) = op.code("bank", "openid profile birthdate offline_access", 2);
    let (s, tok) = exchange(&op, &code, &verifier);
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    let (h, id) = verified(&op, tok["id_token"].as_str().unwrap());
    assert_eq!(h["alg"], "ES256");
    assert_eq!(id["iss"], op.base.as_str());
    assert_eq!(id["aud"], "bank");
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["acr"], "urn:eid:vn:loa:2");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["sid"], "sid-1");
    let sub = id["sub"].as_str().unwrap().to_owned();
    assert!(
        !sub.contains(op.person.id.as_str()),
        "pairwise, not the personal ID"
    );

    let access = tok["access_token"].as_str().unwrap().to_owned();
    let (s, info) = userinfo(&op, &access);
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["name"], op.person.name.full().as_str());
    assert!(info.get("birthdate").is_some());
    assert!(info.get("vn_personal_id").is_none(), "not asked for");
    assert!(info.get("address").is_none(), "not asked for");
    let services =
        eid_core::oidc::services::services(op.store.as_ref(), op.person.id.as_str()).unwrap();
    let bank = services
        .iter()
        .find(|s| s.client.client_id == "bank")
        .unwrap();
    assert!(bank
        .releases
        .iter()
        .any(|r| r.claims.contains(&"birthdate".to_owned())));
    assert!(bank
        .releases
        .iter()
        .all(|r| !r.claims.iter().any(|c| c.contains(op.person.id.as_str()))));

    // The code again: refused, and what it issued stops working.
    let (s, b) = exchange(&op, &code, &verifier);
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = userinfo(&op, &access);
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    let (s, b) = bank_token(
        &op,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tok["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    // Codes die after 60 seconds; another client cannot use one.
    let (code, verifier) = op.code("bank", "openid", 1);
    op.clock.advance(time::Duration::seconds(61));
    assert_eq!(exchange(&op, &code, &verifier).1["error"], "invalid_grant");
    let (code, verifier) = op.code("bank", "openid", 1);
    let (s, b) = portal_token(
        &op,
        &op.portal_secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", BANK_CB),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
}

#[test]
fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let op = setup("oidc-refresh");
    let (code, verifier) = op.code("portal", "openid profile address offline_access", 1);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PORTAL_CB),
        ("code_verifier", verifier.as_str()),
    ];
    let (s, b) = portal_token(&op, "wrong-secret", &form);
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    let (s, tok) = portal_token(&op, &op.portal_secret, &form);
    assert_eq!(s, 200, "{tok}");
    let (h, id) = verified(&op, tok["id_token"].as_str().unwrap());
    assert_eq!(h["alg"], "RS256", "the client's algorithm");
    assert_eq!(id["acr"], "urn:eid:vn:loa:1");
    let (s, info) = userinfo(&op, tok["access_token"].as_str().unwrap());
    assert_eq!(s, 200);
    assert_eq!(info["address"]["country"], "VN");
    assert!(info.get("birthdate").is_none());

    let r1 = tok["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |t: &str| {
        portal_token(
            &op,
            &op.portal_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", t)],
        )
    };
    let (s, t2) = refresh(&r1);
    assert_eq!(s, 200, "{t2}");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let (_, id2) = verified(&op, t2["id_token"].as_str().unwrap());
    assert_eq!(id2["sub"], id["sub"]);
    assert!(id2.get("nonce").is_none());
    // r1 again: reuse. The grant is revoked, so r2 and the access tokens stop working too.
    let (s, b) = refresh(&r1);
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = refresh(&r2);
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(userinfo(&op, t2["access_token"].as_str().unwrap()).0, 401);
    let (s, b) = portal_token(&op, &op.portal_secret, &[("grant_type", "password")]);
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[test]
fn rotation_publishes_the_new_key_and_keeps_the_previous_one() {
    let op = setup("oidc-rotate");
    let (code, verifier) = op.code("bank", "openid", 1);
    let (s, tok) = exchange(&op, &code, &verifier);
    assert_eq!(s, 200);
    let old_kid = Jws::parse(tok["id_token"].as_str().unwrap())
        .unwrap()
        .header["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let kek = keys::Kek::load_or_create(&op.kek_file).unwrap();
    keys::rotate(
        op.store.as_ref(),
        &kek,
        &eid_core::Actor::Cli("admin".into()),
        "cli",
        op.clock_now_dt(),
    )
    .unwrap();
    let set = jwks(&op);
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids.len(),
        9,
        "next, current and previous of each algorithm"
    );
    assert!(
        kids.contains(&old_kid.as_str()),
        "the previous key stays published"
    );
    // Tokens signed before the rotation still verify and still work.
    verified(&op, tok["id_token"].as_str().unwrap());
    assert_eq!(userinfo(&op, tok["access_token"].as_str().unwrap()).0, 200);
}
