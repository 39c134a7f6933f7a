//! The assertions of the OpenID Foundation conformance suite's `oidcc-config`, `oidcc-basic`
//! and `oidcc-rp-initiated-logout` plans that apply to this provider, encoded as tests (the
//! hosted suite needs a public address). Each block names the suite's module it stands for.
//! Where eid departs from what a plan expects, on purpose, the test says so and checks eid's
//! answer instead: PKCE (S256) is required of every client, request objects are refused in
//! favour of PAR, and `client_secret_post` is not offered.

use eid_core::oidc::jose;
use serde_json::Value;

use crate::helpers::{agent, call, post_form, Reply};
use crate::oidc::{location_query, pct};
use crate::oidc_browser::{authorize_path, hidden, Browser, World, BYE, CB};

fn json_of(r: Reply) -> (u16, Value) {
    let s = r.status();
    (s, r.into_json().unwrap_or(Value::Null))
}

fn param<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn pkce() -> (String, String) {
    let verifier = eid_core::secret::random_token();
    let challenge = jose::sha256_b64(verifier.as_bytes());
    (verifier, challenge)
}

/// Follows an authorization request in a signed-in browser to the redirect back to the
/// client, allowing the consent page when it is shown.
fn to_client(b: &mut Browser<'_>, path: &str) -> Reply {
    let r = b.get_reply(path);
    if r.status() != 200 {
        return r;
    }
    let html = r.into_string().unwrap();
    let (rid, csrf) = (hidden(&html, "rid"), hidden(&html, "csrf"));
    let req = agent()
        .post(&format!("{}/oauth2/consent", b.w.base))
        .header("Cookie", &b.cookies());
    post_form(
        req,
        &[("rid", &rid), ("csrf", &csrf), ("decision", "allow")],
    )
}

fn code_from(r: &Reply) -> String {
    assert_eq!(r.status(), 303, "a redirect to the client");
    assert!(
        r.header("location").unwrap().starts_with(CB),
        "{:?}",
        r.header("location")
    );
    param(&location_query(r), "code")
        .expect("a code")
        .to_owned()
}

/// The keys of the provider, and the claims of an ID token after its signature verified.
fn verified_claims(w: &World, id_token: &str) -> Value {
    let (_, jwks) = json_of(call(agent().get(&format!("{}/oauth2/jwks", w.base))));
    let jws = jose::Jws::parse(id_token).expect("a compact JWS");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == jws.header["kid"])
        .expect("the ID token's kid is published")
        .clone();
    assert!(jws.verify(&key), "oidcc-server: the ID token's signature");
    jws.claims
}

fn exchange(w: &World, code: &str, verifier: &str) -> (u16, Value) {
    w.token(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", verifier),
    ])
}

#[test]
fn oidcc_config_discovery_and_keys() {
    let w = World::new("conf-config");
    let r = call(agent().get(&format!("{}/.well-known/openid-configuration", w.base)));
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let (s, d) = json_of(r);
    assert_eq!(s, 200);
    // oidcc-discovery-issuer-not-matching-config: the issuer is the URL the document came from.
    assert_eq!(d["issuer"], w.base.as_str());
    let issuer = d["issuer"].as_str().unwrap();
    assert!(!issuer.contains('?') && !issuer.contains('#') && !issuer.ends_with('/'));
    // oidcc-discovery-endpoint-verification: the required endpoints, under the issuer.
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let v = d[k].as_str().unwrap_or_else(|| panic!("{k} missing"));
        assert!(v.starts_with(issuer), "{k}: {v}");
    }
    let list = |k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap_or_else(|| panic!("{k} missing"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(list("response_types_supported").contains(&"code".to_owned()));
    assert!(!list("subject_types_supported").is_empty());
    assert!(
        list("id_token_signing_alg_values_supported").contains(&"RS256".to_owned()),
        "RS256 is required of every provider"
    );
    assert!(!list("id_token_signing_alg_values_supported").contains(&"none".to_owned()));
    assert!(list("scopes_supported").contains(&"openid".to_owned()));
    assert!(list("claims_supported").contains(&"sub".to_owned()));
    assert!(list("grant_types_supported").contains(&"authorization_code".to_owned()));
    assert!(list("code_challenge_methods_supported").contains(&"S256".to_owned()));
    let auth = list("token_endpoint_auth_methods_supported");
    assert!(auth.contains(&"client_secret_basic".to_owned()));
    assert!(!auth.contains(&"none".to_owned()), "no public clients");
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["claims_parameter_supported"], false);
    // oidcc-server-jwks: public keys only, each with a unique kid, for signing.
    let (s, jwks) = json_of(call(agent().get(d["jwks_uri"].as_str().unwrap())));
    assert_eq!(s, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "kids are unique");
    for k in keys {
        assert!(k["kty"].is_string(), "{k}");
        assert_eq!(k["use"], "sig", "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "no private part {private} in {k}");
        }
    }
}

#[test]
fn oidcc_basic_code_flow_tokens_and_userinfo() {
    let w = World::new("conf-basic");
    let p = w.person();
    w.level1(&p);
    let mut b = Browser::new(&w);
    let (s, _, _) = b.sign_in_new(&p, "/me", "1");
    assert_eq!(s, 303);

    // oidcc-server: the whole flow; the ID token as the specification wants it.
    let (verifier, challenge) = pkce();
    let code = code_from(&to_client(
        &mut b,
        &authorize_path("openid profile", &challenge, ""),
    ));
    let (s, tok) = exchange(&w, &code, &verifier);
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["expires_in"].as_i64().unwrap() > 0);
    let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], w.base.as_str());
    assert_eq!(id["aud"], "portal");
    assert_eq!(id["nonce"], "nn");
    let sub = id["sub"].as_str().unwrap().to_owned();
    assert!(!sub.is_empty() && sub.len() <= 255 && sub.is_ascii());
    let (iat, exp) = (id["iat"].as_i64().unwrap(), id["exp"].as_i64().unwrap());
    let now = crate::helpers::now().unix_timestamp();
    assert!((now - 60..=now + 5).contains(&iat), "iat is now");
    assert!(exp > iat);
    assert!(id["auth_time"].as_i64().unwrap() <= now);
    if let Some(at_hash) = id.get("at_hash").and_then(Value::as_str) {
        let digest = jose::unb64(&jose::sha256_b64(
            tok["access_token"].as_str().unwrap().as_bytes(),
        ))
        .unwrap();
        assert_eq!(at_hash, jose::b64(&digest[..16]));
    }

    // oidcc-userinfo-get, oidcc-userinfo-post-header: the same subject either way.
    let access = tok["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {access}");
    let (s, info) = json_of(call(
        agent()
            .get(&format!("{}/oauth2/userinfo", w.base))
            .header("authorization", &bearer),
    ));
    assert_eq!((s, info["sub"].as_str()), (200, Some(sub.as_str())));
    assert_eq!(info["name"], "Trần Thị Lan", "oidcc-scope-profile");
    let (s, info) = json_of(post_form(
        agent()
            .post(&format!("{}/oauth2/userinfo", w.base))
            .header("authorization", &bearer),
        &[],
    ));
    assert_eq!((s, info["sub"].as_str()), (200, Some(sub.as_str())));
    // oidcc-userinfo-post-body is optional (RFC 6750 §2.2 MAY): eid answers 401 with a challenge.
    let r = post_form(
        agent().post(&format!("{}/oauth2/userinfo", w.base)),
        &[("access_token", &access)],
    );
    assert_eq!(r.status(), 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    // oidcc-ensure-other-scope-order-succeeds, oidcc-ensure-request-with-unknown-parameter-succeeds,
    // oidcc-display-page, oidcc-display-popup, oidcc-ui-locales, oidcc-claims-locales,
    // oidcc-login-hint, oidcc-acr-values: each still ends in a code for the same subject.
    for extra in [
        "&scope=profile%20openid",
        "&extra=foobar",
        "&display=page",
        "&display=popup",
        "&ui_locales=vi-VN%20en",
        "&claims_locales=vi",
        &format!("&login_hint={}", p.id.as_str()),
        "&acr_values=urn%3Aeid%3Avn%3Aloa%3A1",
    ] {
        let (verifier, challenge) = pkce();
        let path = authorize_path("openid profile", &challenge, "");
        let path = if let Some(scope) = extra.strip_prefix("&scope=") {
            path.replace("scope=openid%20profile", &format!("scope={scope}"))
        } else {
            format!("{path}{extra}")
        };
        let r = to_client(&mut b, &path);
        assert!(
            r.header("location").is_some_and(|l| l.starts_with(CB)),
            "{extra}: {:?}",
            r.header("location")
        );
        let code = code_from(&r);
        let (s, tok) = exchange(&w, &code, &verifier);
        assert_eq!(s, 200, "{extra}: {tok}");
        let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
        assert_eq!(id["sub"].as_str(), Some(sub.as_str()), "{extra}");
    }

    // A login_hint naming someone else asks for a sign-in instead of using this session.
    let (_, challenge) = pkce();
    let (s, _, loc) = b.get(&authorize_path(
        "openid",
        &challenge,
        "&login_hint=001099000001",
    ));
    assert_eq!(s, 303);
    assert!(loc.unwrap().starts_with("/me/signin"));

    // oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce in, none out.
    let (verifier, challenge) = pkce();
    let path = authorize_path("openid", &challenge, "").replace("&nonce=nn", "");
    let code = code_from(&to_client(&mut b, &path));
    let (s, tok) = exchange(&w, &code, &verifier);
    assert_eq!(s, 200);
    let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
    assert!(id.get("nonce").is_none());

    // oidcc-ensure-post-request-succeeds: the authorization request as a form POST.
    let (verifier, challenge) = pkce();
    let form: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "portal"),
        ("redirect_uri", CB),
        ("scope", "openid profile"),
        ("state", "st"),
        ("nonce", "nn"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = post_form(
        agent()
            .post(&format!("{}/oauth2/authorize", w.base))
            .header("Cookie", &b.cookies()),
        &pairs,
    );
    let code = code_from(&r);
    assert_eq!(exchange(&w, &code, &verifier).0, 200);

    // oidcc-codereuse and oidcc-codereuse-30seconds: a second exchange fails and revokes what
    // the first one issued.
    let (verifier, challenge) = pkce();
    let code = code_from(&to_client(
        &mut b,
        &authorize_path("openid profile", &challenge, ""),
    ));
    let (s, first) = exchange(&w, &code, &verifier);
    assert_eq!(s, 200);
    let (s, again) = exchange(&w, &code, &verifier);
    assert_eq!((s, again["error"].as_str()), (400, Some("invalid_grant")));
    let r = call(agent().get(&format!("{}/oauth2/userinfo", w.base)).header(
        "authorization",
        &format!("Bearer {}", first["access_token"].as_str().unwrap()),
    ));
    assert_eq!(
        r.status(),
        401,
        "the first exchange's access token is revoked"
    );

    // oidcc-server-client-secret-post is not offered: the secret in the body is not accepted.
    let (verifier, challenge) = pkce();
    let code = code_from(&to_client(
        &mut b,
        &authorize_path("openid", &challenge, ""),
    ));
    let (s, e) = json_of(post_form(
        agent().post(&format!("{}/oauth2/token", w.base)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
            ("client_id", "portal"),
            ("client_secret", &w.secret),
        ],
    ));
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
}

#[test]
fn oidcc_basic_prompt_max_age_and_id_token_hint() {
    let w = World::new("conf-prompt");
    let p = w.person();
    w.level1(&p);

    // oidcc-prompt-none-not-logged-in: back to the client with login_required and the state.
    let mut fresh = Browser::new(&w);
    let (_, challenge) = pkce();
    let (s, _, loc) = fresh.get(&authorize_path("openid", &challenge, "&prompt=none"));
    assert_eq!(s, 303);
    let loc = loc.unwrap();
    assert!(loc.starts_with(CB), "{loc}");
    let r = fresh.get_reply(&authorize_path("openid", &challenge, "&prompt=none"));
    let pairs = location_query(&r);
    assert_eq!(param(&pairs, "error"), Some("login_required"));
    assert_eq!(param(&pairs, "state"), Some("st"));
    assert_eq!(param(&pairs, "iss"), Some(w.base.as_str()));

    let mut b = Browser::new(&w);
    let (s, _, _) = b.sign_in_new(&p, "/me", "1");
    assert_eq!(s, 303);
    let (verifier, challenge) = pkce();
    let code = code_from(&to_client(
        &mut b,
        &authorize_path("openid profile", &challenge, ""),
    ));
    let (_, tok) = exchange(&w, &code, &verifier);
    let first = verified_claims(&w, tok["id_token"].as_str().unwrap());
    let hint = tok["id_token"].as_str().unwrap().to_owned();

    // oidcc-prompt-none-logged-in: straight back with a code, no page.
    let (verifier, challenge) = pkce();
    let r = b.get_reply(&authorize_path(
        "openid profile",
        &challenge,
        "&prompt=none",
    ));
    let code = code_from(&r);
    let (s, tok) = exchange(&w, &code, &verifier);
    assert_eq!(s, 200);
    let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], first["sub"]);

    // oidcc-id-token-hint: prompt=none with the previous ID token as the hint.
    let (verifier, challenge) = pkce();
    let r = b.get_reply(&authorize_path(
        "openid profile",
        &challenge,
        &format!("&prompt=none&id_token_hint={hint}"),
    ));
    let code = code_from(&r);
    assert_eq!(exchange(&w, &code, &verifier).0, 200);

    // oidcc-max-age-10000: no new sign-in; auth_time is in the ID token.
    let (verifier, challenge) = pkce();
    let r = b.get_reply(&authorize_path(
        "openid profile",
        &challenge,
        "&max_age=10000",
    ));
    let code = code_from(&r);
    let (_, tok) = exchange(&w, &code, &verifier);
    let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
    assert_eq!(id["auth_time"], first["auth_time"]);

    // oidcc-prompt-login and oidcc-max-age-1: a fresh sign-in is asked for, and afterwards
    // auth_time is later than before.
    let (_, challenge) = pkce();
    let (s, _, loc) = b.get(&authorize_path(
        "openid profile",
        &challenge,
        "&prompt=login",
    ));
    assert_eq!(s, 303);
    assert!(loc.unwrap().contains("fresh=1"), "prompt=login");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (verifier, challenge) = pkce();
    let (s, _, loc) = b.get(&authorize_path("openid profile", &challenge, "&max_age=1"));
    assert_eq!(s, 303);
    let loc = loc.unwrap();
    assert!(
        loc.starts_with("/me/signin") && loc.contains("fresh=1"),
        "{loc}"
    );
    let next = crate::oidc::pct_decode(
        loc.split("next=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap(),
    );
    let (_, html, _) = b.get(&loc);
    let csrf = crate::helpers::csrf_field(&html);
    let (s, _, back) = b.post(
        "/me/signin",
        &[
            ("csrf", &csrf),
            ("personal_id", p.id.as_str()),
            ("password", crate::oidc_browser::PASSWORD),
            ("next", &next),
            ("acr", "1"),
            ("fresh", "1"),
        ],
    );
    assert_eq!(
        (s, back.as_deref()),
        (303, Some(next.as_str())),
        "a bound browser"
    );
    let code = code_from(&to_client(&mut b, &next));
    let (_, tok) = exchange(&w, &code, &verifier);
    let id = verified_claims(&w, tok["id_token"].as_str().unwrap());
    assert!(
        id["auth_time"].as_i64().unwrap() > first["auth_time"].as_i64().unwrap(),
        "a new auth_time after max_age=1"
    );
}

#[test]
fn oidcc_basic_bad_requests_stay_with_the_provider_or_go_back_as_errors() {
    let w = World::new("conf-bad");
    let mut b = Browser::new(&w);
    let (_, challenge) = pkce();
    let good = authorize_path("openid", &challenge, "");

    // oidcc-ensure-registered-redirect-uri, oidcc-redirect-uri-query-mismatch and -added,
    // oidcc-ensure-redirect-uri-in-authorization-request: an error page, never a redirect.
    for path in [
        good.replace(&pct(CB), &pct("https://attacker.example/cb")),
        good.replace(&pct(CB), &pct(&format!("{CB}?foo=bar"))),
        good.replace(&format!("&redirect_uri={}", pct(CB)), ""),
    ] {
        let (s, html, loc) = b.get(&path);
        assert_eq!(loc, None, "{path}");
        assert_eq!(s, 400, "{path}: {html}");
    }
    // oidcc-response-type-missing: back to the client with an error.
    let r = b.get_reply(&good.replace("response_type=code&", ""));
    assert_eq!(r.status(), 303);
    let e = location_query(&r);
    assert!(
        matches!(
            param(&e, "error"),
            Some("invalid_request" | "unsupported_response_type")
        ),
        "{e:?}"
    );
    assert_eq!(param(&e, "state"), Some("st"));
    // oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported.
    let r = b.get_reply(&format!("{good}&request=eyJhbGciOiJub25lIn0.e30."));
    assert_eq!(
        param(&location_query(&r), "error"),
        Some("request_not_supported")
    );
    // oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: only PAR's.
    let r = b.get_reply(&format!(
        "{good}&request_uri={}",
        pct("https://portal.example.vn/req.jwt")
    ));
    assert!(r.status() == 400 || param(&location_query(&r), "error").is_some());
    // The scope without openid.
    let r = b.get_reply(&good.replace("scope=openid", "scope=profile"));
    assert_eq!(param(&location_query(&r), "error"), Some("invalid_scope"));
    // eid requires PKCE of every client (the basic plan does not send it).
    let r = b.get_reply(&good.replace("&code_challenge_method=S256", ""));
    assert_eq!(param(&location_query(&r), "error"), Some("invalid_request"));
}

#[test]
fn oidcc_rp_initiated_logout_plan() {
    let w = World::new("conf-logout");
    let p = w.person();
    w.level1(&p);
    let (_, d) = json_of(call(
        agent().get(&format!("{}/.well-known/openid-configuration", w.base)),
    ));
    let end = d["end_session_endpoint"].as_str().unwrap().to_owned();
    let path = end.strip_prefix(&w.base).unwrap().to_owned();
    let mut b = Browser::new(&w);
    b.sign_in_new(&p, "/me", "1");
    let (verifier, challenge) = pkce();
    let code = code_from(&to_client(
        &mut b,
        &authorize_path("openid", &challenge, ""),
    ));
    let (_, tok) = exchange(&w, &code, &verifier);
    let hint = tok["id_token"].as_str().unwrap().to_owned();

    // oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an error page, no redirect.
    let (s, _, loc) = b.get(&format!(
        "{path}?id_token_hint={hint}&post_logout_redirect_uri={}",
        pct("https://attacker.example/bye")
    ));
    assert_eq!((s, loc), (400, None));
    // oidcc-rp-initiated-logout-modified-id-token-hint: an error page, no redirect.
    let mut bad = hint.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let (s, _, loc) = b.get(&format!(
        "{path}?id_token_hint={bad}&post_logout_redirect_uri={}",
        pct(BYE)
    ));
    assert_eq!((s, loc), (400, None));
    // oidcc-rp-initiated-logout-no-id-token-hint and -no-params and -only-state: the citizen is
    // asked to confirm; nothing is redirected and the session lives on.
    for q in [
        format!("?post_logout_redirect_uri={}&client_id=portal", pct(BYE)),
        String::new(),
        "?state=only".to_owned(),
    ] {
        let (s, html, loc) = b.get(&format!("{path}{q}"));
        assert_eq!((s, loc), (200, None), "{q}");
        assert!(
            html.contains("name=\"csrf\""),
            "a confirmation form: {html}"
        );
    }
    let (s, _, _) = b.get("/me");
    assert_eq!(s, 200, "still signed in before confirming");
    // oidcc-rp-initiated-logout: the hint, a registered destination and the state.
    let (s, _, loc) = b.get(&format!(
        "{path}?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye-2",
        pct(BYE)
    ));
    assert_eq!(
        (s, loc.as_deref()),
        (303, Some(format!("{BYE}?state=bye-2").as_str()))
    );
    // And afterwards, prompt=none finds no session.
    let (_, challenge) = pkce();
    let r = b.get_reply(&authorize_path("openid", &challenge, "&prompt=none"));
    assert_eq!(param(&location_query(&r), "error"), Some("login_required"));
    // oidcc-rp-initiated-logout-no-post-logout-redirect-uri: with the hint alone, a signed-out page.
    let mut b = Browser::new(&w);
    b.sign_in_new(&p, "/me", "1");
    let (s, html, loc) = b.get(&format!("{path}?id_token_hint={hint}"));
    assert_eq!((s, loc), (200, None));
    assert!(!html.contains("name=\"csrf\""), "no form: signed out");
    let (s, _, _) = b.get("/me");
    assert_eq!(s, 303, "signed out");
}
