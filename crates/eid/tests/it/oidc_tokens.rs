//! The token endpoint (both grants, both client authentications), ID tokens checked against
//! the JWKS, userinfo and its release record, code and refresh-token replay, JWKS rotation.

use std::sync::Arc;

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

/// The portal's token requests, each form on its own thread, all at once; answers in order.
fn portal_tokens_at_once(op: &Arc<Op>, forms: Vec<Vec<(String, String)>>) -> Vec<(u16, Value)> {
    forms
        .into_iter()
        .map(|f| {
            let op = Arc::clone(op);
            std::thread::spawn(move || {
                let pairs: Vec<(&str, &str)> =
                    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                portal_token(&op, &op.portal_secret, &pairs)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect()
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

/// Every release of claims at a code exchange is an entry of the citizen's data-use log
/// ("who received my data, when"), once, naming the client; a refused exchange releases
/// nothing. (On PostgreSQL the entry commits as a pending row with the exchange and the fold
/// moves it into the log; on SQLite it is appended in the exchange's transaction.)
#[test]
fn a_code_exchange_is_recorded_once_in_the_citizens_data_use_log() {
    use eid_core::transparency::{self, staff_reads};
    let op = setup("oidc-data-use");
    let pid = op.person.id.as_str().to_owned();
    let released = |op: &Op| -> Vec<(String, String, String, String)> {
        // What the citizen's page does before it reads the log.
        staff_reads::fold(op.store.as_ref()).unwrap();
        transparency::entries_for(op.store.as_ref(), &pid, 0)
            .unwrap()
            .0
            .into_iter()
            .filter(|e| e.who_kind == "relying_party")
            .map(|e| (e.who_id, e.who_name, e.what, e.purpose))
            .collect()
    };
    assert!(released(&op).is_empty());
    let (code, verifier) = op.code("bank", "openid profile offline_access", 2);
    let (s, tok) = exchange(&op, &code, &verifier);
    assert_eq!(s, 200, "{tok}");
    let bank = eid_core::oidc::clients::get(op.store.as_ref(), "bank")
        .unwrap()
        .unwrap();
    let one = (
        "bank".to_owned(),
        bank.name_vi.clone(),
        "sub acr amr auth_time".to_owned(),
        "oidc.sign_in".to_owned(),
    );
    assert_eq!(released(&op), vec![one.clone()]);
    // Folded again: still once. A replayed code and a wrong verifier release nothing.
    assert_eq!(released(&op), vec![one.clone()]);
    let (s, _) = exchange(&op, &code, &verifier);
    assert_eq!(s, 400);
    let (code, _) = op.code("bank", "openid profile", 2);
    let (s, _) = exchange(&op, &code, &"x".repeat(43));
    assert_eq!(s, 400);
    assert_eq!(released(&op), vec![one.clone()]);
    // A second sign-in: a second entry.
    let (code, verifier) = op.code("bank", "openid profile", 2);
    assert_eq!(exchange(&op, &code, &verifier).0, 200);
    assert_eq!(released(&op), vec![one.clone(), one]);
    // Nothing is left pending (PostgreSQL's path; SQLite's table stays empty).
    let pending = eid_core::sql::read(op.store.db(), |tx| {
        tx.int("SELECT count(*) FROM data_use_pending", &[])
    })
    .unwrap();
    assert_eq!(pending, 0);
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

/// A DPoP proof (RFC 9449) by `key` for `method` and `url`, with `ath` for an access token.
fn proof(
    op: &Op,
    key: &eid_core::oidc::jose::SigningKey,
    method: &str,
    url: &str,
    access: Option<&str>,
) -> String {
    let header =
        serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk().unwrap()});
    let mut claims = serde_json::json!({"htm": method, "htu": url, "iat": op.clock_now(),
        "jti": eid_core::secret::random_token()});
    if let Some(a) = access {
        claims["ath"] = serde_json::json!(eid_core::oidc::jose::sha256_b64(a.as_bytes()));
    }
    key.sign_with_header(&header, &claims).unwrap()
}

#[test]
fn dpop_binds_the_tokens_to_the_proof_key_and_a_proof_is_used_once() {
    use eid_core::oidc::jose::{Alg, SigningKey};
    let op = setup("oidc-dpop");
    let key = SigningKey::generate("dpop", Alg::Es256).unwrap();
    let other = SigningKey::generate("other", Alg::Es256).unwrap();
    let token_url = op.url("/oauth2/token");
    let (code, verifier) = op.code("bank", "openid profile", 1);
    let a = op.assertion(&token_url);
    let r = post_form(
        agent()
            .post(&token_url)
            .header("dpop", &proof(&op, &key, "POST", &token_url, None)),
        &[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", BANK_CB),
            ("code_verifier", &verifier),
        ],
    );
    let (s, tok) = json(r);
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "DPoP");
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let (_, at) = verified(&op, &access);
    assert_eq!(
        at["cnf"]["jkt"].as_str(),
        eid_core::oidc::jose::thumbprint(&key.public_jwk().unwrap()).as_deref()
    );

    let info_url = op.url("/oauth2/userinfo");
    let with = |scheme: &str, p: Option<String>| {
        let mut req = agent()
            .get(&info_url)
            .header("authorization", &format!("{scheme} {access}"));
        if let Some(p) = p {
            req = req.header("dpop", &p);
        }
        json(call(req))
    };
    assert_eq!(
        userinfo(&op, &access).0,
        401,
        "a bound token without its proof"
    );
    let p = proof(&op, &key, "GET", &info_url, Some(&access));
    assert_eq!(with("DPoP", Some(p.clone())).0, 200);
    let (s, b) = with("DPoP", Some(p));
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_dpop_proof")),
        "a proof is used once"
    );
    assert_eq!(
        with(
            "DPoP",
            Some(proof(&op, &other, "GET", &info_url, Some(&access)))
        )
        .0,
        401,
        "another key"
    );
    assert_eq!(
        with(
            "DPoP",
            Some(proof(&op, &key, "POST", &info_url, Some(&access)))
        )
        .0,
        401,
        "another method"
    );
    assert_eq!(
        with("DPoP", Some(proof(&op, &key, "GET", &info_url, None))).0,
        401,
        "no ath"
    );
    assert_eq!(
        with(
            "DPoP",
            Some(proof(&op, &key, "GET", &info_url, Some(&access)))
        )
        .0,
        200
    );
}

#[test]
fn a_client_assertion_is_good_for_one_token_request_and_a_replay_is_audited() {
    let op = setup("oidc-jti");
    let token_url = op.url("/oauth2/token");
    let a = op.assertion(&token_url);
    let send = |code: &str, verifier: &str| {
        json(post_form(
            agent().post(&token_url),
            &[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", BANK_CB),
                ("code_verifier", verifier),
            ],
        ))
    };
    let (c1, v1) = op.code("bank", "openid", 1);
    assert_eq!(send(&c1, &v1).0, 200);
    let (c2, v2) = op.code("bank", "openid", 1);
    let (s, b) = send(&c2, &v2);
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    // The second code was not spent by the refused request.
    assert_eq!(exchange(&op, &c2, &v2).0, 200);
    let log = op.store.audit_log(50).unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "oidc.client_auth" && e.outcome == "failed" && e.target == "bank"));
}

#[test]
fn failed_client_authentications_are_budgeted_per_source_even_in_a_burst() {
    let op = setup("oidc-client-budget");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-a-token"),
    ];
    // Right secrets cost nothing from the budget, whatever the grant says afterwards — 40 at
    // once from one address (a bank's server) all get through.
    let op = Arc::new(op);
    let right: Vec<_> = (0..40)
        .map(|_| {
            let op = Arc::clone(&op);
            std::thread::spawn(move || portal_token(&op, &op.portal_secret, &form))
        })
        .collect();
    for t in right {
        let (s, b) = t.join().unwrap();
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_grant")),
            "{b}"
        );
    }
    // 60 wrong secrets at once from one address: the default budget of 20 failures is answered
    // and audited, the rest are turned away (429) without an audit line.
    let burst: Vec<_> = (0..60)
        .map(|i| {
            let op = Arc::clone(&op);
            std::thread::spawn(move || portal_token(&op, &format!("wrong-{i}"), &form))
        })
        .collect();
    let mut by_status = std::collections::BTreeMap::new();
    for t in burst {
        let (s, b) = t.join().unwrap();
        if s == 429 {
            assert_eq!(b["error"], "invalid_client", "{b}");
        }
        *by_status.entry(s).or_insert(0) += 1;
    }
    assert_eq!(
        by_status,
        [(401, 20), (429, 40)].into_iter().collect(),
        "checked at most the budget"
    );
    let failed = op
        .store
        .audit_log(500)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "oidc.client_auth" && e.outcome == "failed")
        .count();
    assert_eq!(failed, 20, "only the checked ones were audited");
    // The right secret after the budget is spent waits for the window as well.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("portal:{}", op.portal_secret));
    let r = post_form(
        agent()
            .post(&op.url("/oauth2/token"))
            .header("authorization", &format!("Basic {basic}")),
        &form,
    );
    assert_eq!(r.status(), 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
}

#[test]
fn a_code_sent_many_times_at_once_is_exchanged_once_and_then_revoked() {
    let op = Arc::new(setup("oidc-code-race"));
    let (code, verifier) = op.code("portal", "openid profile offline_access", 1);
    let form = |code: String, verifier: String| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code),
            ("redirect_uri".to_owned(), PORTAL_CB.to_owned()),
            ("code_verifier".to_owned(), verifier),
        ]
    };
    let answers = portal_tokens_at_once(
        &op,
        (0..8)
            .map(|_| form(code.clone(), verifier.clone()))
            .collect(),
    );
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok.len(), 1, "exactly one exchange: {answers:?}");
    assert!(answers
        .iter()
        .filter(|(s, _)| *s != 200)
        .all(|(s, b)| *s == 400 && b["error"] == "invalid_grant"));
    // The reuse revoked what the one exchange issued.
    let (s, _) = userinfo(&op, ok[0]["access_token"].as_str().unwrap());
    assert_eq!(s, 401);
    let (s, b) = portal_token(
        &op,
        &op.portal_secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", ok[0]["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // A code sealed by another provider's key, or altered, is unknown.
    let mut altered = code.clone();
    altered.replace_range(10..11, if &code[10..11] == "A" { "B" } else { "A" });
    let (s, b) = portal_token(
        &op,
        &op.portal_secret,
        &form(altered, verifier.clone())
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
}

/// Exchanges and refreshes that arrive together share the token endpoint's group commit: each
/// still gets its own grant and tokens, and a reused refresh token still revokes its own grant
/// (and only it), answered in the same burst as other clients' good ones.
#[test]
fn exchanges_and_refreshes_at_once_each_keep_their_own_grant() {
    let op = Arc::new(setup("oidc-group"));
    let n = 12;
    let codes: Vec<(String, String)> = (0..n)
        .map(|_| op.code("portal", "openid profile offline_access", 1))
        .collect();
    let burst = |forms| portal_tokens_at_once(&op, forms);
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let exchanged = burst(
        codes
            .iter()
            .map(|(c, v)| {
                vec![
                    pair("grant_type", "authorization_code"),
                    pair("code", c),
                    pair("redirect_uri", PORTAL_CB),
                    pair("code_verifier", v),
                ]
            })
            .collect(),
    );
    assert!(exchanged.iter().all(|(s, _)| *s == 200), "{exchanged:?}");
    let first: Vec<String> = exchanged
        .iter()
        .map(|(_, b)| b["refresh_token"].as_str().unwrap().to_owned())
        .collect();
    let grants: std::collections::BTreeSet<String> = exchanged
        .iter()
        .map(|(_, b)| verified(&op, b["access_token"].as_str().unwrap()).1["gid"].to_string())
        .collect();
    assert_eq!(grants.len(), n, "one grant per exchange");
    let refresh = |t: &str| {
        vec![
            pair("grant_type", "refresh_token"),
            pair("refresh_token", t),
        ]
    };
    let rotated = burst(first.iter().map(|t| refresh(t)).collect());
    assert!(rotated.iter().all(|(s, _)| *s == 200), "{rotated:?}");
    let second: Vec<String> = rotated
        .iter()
        .map(|(_, b)| b["refresh_token"].as_str().unwrap().to_owned())
        .collect();
    // The first half of the spent tokens again, beside the second half's fresh ones.
    let mut forms: Vec<_> = first[..n / 2].iter().map(|t| refresh(t)).collect();
    forms.extend(second[n / 2..].iter().map(|t| refresh(t)));
    let mixed = burst(forms);
    for (i, (s, b)) in mixed.iter().enumerate() {
        if i < n / 2 {
            assert_eq!(
                (*s, b["error"].as_str()),
                (400, Some("invalid_grant")),
                "reuse {i}"
            );
        } else {
            assert_eq!(*s, 200, "fresh {i}: {b}");
        }
    }
    // The reused tokens' grants are revoked: their rotated tokens are refused too.
    for t in &second[..n / 2] {
        let (s, b) = portal_token(
            &op,
            &op.portal_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", t)],
        );
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    }
}

/// The token endpoint's client cache never outlives a change made behind the server's back (in
/// the store, as `eid admin client` does): a rotated secret works at once and the old one is
/// refused, and a client disabled after a request that cached it gets no tokens.
#[test]
fn a_client_changed_in_the_store_is_seen_by_the_next_token_request() {
    use eid_core::oidc::clients;
    let op = setup("oidc-client-cache");
    let exchange_portal = |secret: &str| {
        let (code, verifier) = op.code("portal", "openid profile offline_access", 1);
        portal_token(
            &op,
            secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", &verifier),
            ],
        )
    };
    // Cached by a first exchange.
    let (s, first) = exchange_portal(&op.portal_secret);
    assert_eq!(s, 200, "{first}");
    let new_secret =
        clients::rotate_secret(op.store.as_ref(), &crate::oidc::ministry(), "portal").unwrap();
    let (s, b) = exchange_portal(&new_secret);
    assert_eq!(s, 200, "the new secret at once: {b}");
    let (s, b) = exchange_portal(&op.portal_secret);
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    // Cached again with the new secret, then disabled in the store: a refresh and an exchange
    // with the right secret get nothing.
    let (s, b) = exchange_portal(&new_secret);
    assert_eq!(s, 200, "{b}");
    let (code, verifier) = op.code("portal", "openid profile offline_access", 1);
    clients::disable(op.store.as_ref(), &crate::oidc::ministry(), "portal").unwrap();
    let (s, r) = portal_token(
        &op,
        &new_secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", b["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_ne!(s, 200, "a disabled client's refresh: {r}");
    assert!(r.get("refresh_token").is_none() && r.get("access_token").is_none());
    let (s, r) = portal_token(
        &op,
        &new_secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PORTAL_CB),
            ("code_verifier", &verifier),
        ],
    );
    assert_ne!(s, 200, "a disabled client's exchange: {r}");
    assert!(r.get("access_token").is_none());
}

/// A code issued before its client was edited is checked against the client as it is at the
/// exchange: a redirect URI or a scope taken away since refuses the code (the front channel
/// may read a client row up to 5 s old; the exchange confirms the row in its transaction).
#[test]
fn a_code_for_a_redirect_or_scope_taken_away_since_is_refused() {
    use eid_core::oidc::clients;
    use eid_core::rp::{self, ClientEdit};
    let op = setup("oidc-client-edited");
    let exchange = |code: &str, verifier: &str| {
        portal_token(
            &op,
            &op.portal_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", verifier),
            ],
        )
    };
    let edit_of = |c: &clients::Client| ClientEdit {
        name_vi: c.name_vi.clone(),
        name_en: c.name_en.clone(),
        logo_uri: c.logo_uri.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        scopes: c.scopes.clone(),
        acr_values: c.acr_values.clone(),
        id_token_alg: c.id_token_alg,
        jwks: None,
        require_par: c.require_par,
        dpop_bound: c.dpop_bound,
    };
    let refused = |code: &str, verifier: &str| {
        let (s, b) = exchange(code, verifier);
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_grant")),
            "{b}"
        );
        assert!(b.get("access_token").is_none());
    };
    let before = clients::get(op.store.as_ref(), "portal").unwrap().unwrap();
    assert!(before.scopes.iter().any(|s| s == "profile"), "{before:?}");

    // The scope `profile` taken away after the code was issued.
    let (code, verifier) = op.code("portal", "openid profile offline_access", 1);
    let mut edit = edit_of(&before);
    edit.scopes.retain(|s| s != "profile");
    rp::update(op.store.as_ref(), &crate::oidc::ministry(), "portal", &edit).unwrap();
    refused(&code, &verifier);
    // A code within the scopes left is exchanged.
    let (code, verifier) = op.code("portal", "openid offline_access", 1);
    let (s, b) = exchange(&code, &verifier);
    assert_eq!(s, 200, "{b}");

    // The redirect URI replaced after the code was issued.
    let (code, verifier) = op.code("portal", "openid offline_access", 1);
    let now = clients::get(op.store.as_ref(), "portal").unwrap().unwrap();
    let mut edit = edit_of(&now);
    edit.redirect_uris = vec!["http://127.0.0.1:9/elsewhere".into()];
    rp::update(op.store.as_ref(), &crate::oidc::ministry(), "portal", &edit).unwrap();
    refused(&code, &verifier);
}
