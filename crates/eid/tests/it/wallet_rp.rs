//! A relying party checks a citizen's wallet presentation online with its client credentials
//! (`POST /api/v1/presentations/verify`): the answer is the disclosed claims only, the read is
//! in the holder's "who used my data" log naming the client, a presentation is read once, and
//! tampered, expired, withdrawn ones and unauthenticated clients are refused with their codes
//! and leave no entry. The limits: failed client authentications per source address, checks per
//! client.
//!
//! Presentations are issued straight through the core with the server's signing keys, as
//! `oidc::Op::code` issues codes: the wallet pages that make them are tested in
//! `citizen_pages::wallet`.

use base64::Engine as _;
use eid_core::oidc::keys::{self, Kek};
use eid_core::transparency::{self, Entry};
use eid_core::wallet::cred::{self, Ask, Attr, Issued};
use serde_json::{json, Value};

use crate::helpers::{agent, call, send_json};
use crate::oidc::{json, setup, setup_with, Op};

const PATH: &str = "/api/v1/presentations/verify";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A presentation of the op's person, made now by the server's clock with its current keys.
fn present(op: &Op, purpose: &str, attrs: &[Attr]) -> Issued {
    // The JWKS makes the keys on a new database.
    assert_eq!(call(agent().get(&op.url("/oauth2/jwks"))).status(), 200);
    let kek = Kek::load_or_create(&op.kek_file).unwrap();
    let signing = keys::signing_keys(op.store.as_ref(), &kek).unwrap();
    let now = op.clock_now_dt();
    cred::issue(
        op.store.as_ref(),
        &signing,
        &op.person.id,
        &Ask {
            purpose,
            attrs,
            ttl_seconds: 60,
            issuer: &op.base,
        },
        now,
        now.date(),
    )
    .unwrap()
}

fn basic(client: &str, secret: &str) -> String {
    let pair = format!("{client}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The check as `portal` (`client_secret_basic`) with `secret`.
fn as_portal(op: &Op, secret: &str, body: Value) -> (u16, Value, Option<String>) {
    as_basic(op, "portal", secret, body)
}

fn as_basic(op: &Op, client: &str, secret: &str, body: Value) -> (u16, Value, Option<String>) {
    let r = send_json(
        agent()
            .post(&op.url(PATH))
            .header("authorization", &basic(client, secret)),
        body,
    );
    let www = r.header("www-authenticate").map(str::to_owned);
    let (status, body) = json(r);
    (status, body, www)
}

/// The check as `bank` (`private_key_jwt`) with the assertion `a`.
fn as_bank(op: &Op, a: &str, mut body: Value) -> (u16, Value) {
    body["client_assertion_type"] = json!(JWT_BEARER);
    body["client_assertion"] = json!(a);
    json(send_json(agent().post(&op.url(PATH)), body))
}

/// The holder's "who used my data" entries, newest first.
fn uses(op: &Op) -> Vec<Entry> {
    // What the citizen's page does first (on PostgreSQL, entries wait to be folded).
    transparency::staff_reads::fold(op.store.as_ref()).unwrap();
    transparency::entries_for(op.store.as_ref(), op.person.id.as_str(), 0)
        .unwrap()
        .0
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_relying_party_reads_a_presentation_once_and_the_holder_sees_it_named() {
    let op = setup("rp-verify-read");
    let qr = present(&op, "bank", &[Attr::Over18, Attr::Name]);
    assert!(uses(&op).is_empty());

    // client_secret_basic: the disclosed claims and nothing else.
    let (status, body, _) = as_portal(&op, &op.portal_secret, json!({ "presentation": qr.text }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verified"], true);
    assert_eq!(body["purpose"], "bank");
    let adult = eid_core::wallet::at_least(op.person.birth, 18, op.clock_now_dt().date());
    assert_eq!(
        body["claims"],
        json!({ "over18": adult, "name": op.person.name.full() })
    );
    let expires = time::OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires, qr.expires_at);

    // The holder's log names the client, what was disclosed and the purpose.
    let log = uses(&op);
    assert_eq!(log.len(), 1, "{log:?}");
    let e = &log[0];
    assert_eq!(
        (
            e.who_kind.as_str(),
            e.who_id.as_str(),
            e.who_name.as_str(),
            e.what.as_str(),
            e.purpose.as_str(),
        ),
        (
            "relying_party",
            "portal",
            "Cổng thử",
            "wallet_over18 wallet_name",
            "wallet.rp.bank"
        )
    );
    assert_eq!(e.at.unix_timestamp(), op.clock_now());
    // The wallet's own list of reads has it too.
    let reads = cred::reads(op.store.as_ref(), &op.person.id).unwrap();
    assert_eq!((reads.len(), reads[0].verifier.as_str()), (1, "Cổng thử"));

    // The same presentation again, by the same client or another: read before.
    let (status, body, _) = as_portal(&op, &op.portal_secret, json!({ "presentation": qr.text }));
    assert_eq!(
        (status, code(&body)),
        (409, "presentation.replayed"),
        "{body}"
    );
    let a = op.assertion(&op.url(PATH));
    let (status, body) = as_bank(&op, &a, json!({ "presentation": qr.text }));
    assert_eq!(
        (status, code(&body)),
        (409, "presentation.replayed"),
        "{body}"
    );
    assert_eq!(uses(&op).len(), 1, "a refused read records nothing");

    // private_key_jwt: an assertion for this endpoint, good once.
    let second = present(&op, "health", &[Attr::BirthDate]);
    let a = op.assertion(&op.url(PATH));
    let (status, body) = as_bank(&op, &a, json!({ "presentation": second.text }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["claims"].as_object().unwrap().len(), 1, "{body}");
    assert!(body["claims"]["birth"].is_string(), "{body}");
    let (status, body) = as_bank(&op, &a, json!({ "presentation": second.text }));
    assert_eq!((status, code(&body)), (401, "client.invalid"), "{body}");
    let log = uses(&op);
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[0].who_id.as_str(),
            log[0].who_name.as_str(),
            log[0].what.as_str(),
            log[0].purpose.as_str()
        ),
        ("bank", "Ngân hàng Thử", "wallet_birth", "wallet.rp.health")
    );

    // A stated purpose must be the citizen's; a mismatch leaves the presentation unread.
    let third = present(&op, "age", &[Attr::Over18]);
    let (status, body, _) = as_portal(
        &op,
        &op.portal_secret,
        json!({ "presentation": third.text, "purpose": "bank" }),
    );
    assert_eq!(
        (status, code(&body)),
        (422, "presentation.purpose_mismatch"),
        "{body}"
    );
    let (status, body, _) = as_portal(
        &op,
        &op.portal_secret,
        json!({ "presentation": third.text, "purpose": "marketing" }),
    );
    assert_eq!(
        (status, code(&body)),
        (400, "presentation.bad_purpose"),
        "{body}"
    );
    assert_eq!(uses(&op).len(), 2);
    let (status, body, _) = as_portal(
        &op,
        &op.portal_secret,
        json!({ "presentation": third.text, "purpose": "age" }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(uses(&op)[0].purpose, "wallet.rp.age");
}

#[test]
fn tampered_expired_and_withdrawn_presentations_are_refused_with_their_codes() {
    let op = setup("rp-verify-refused");
    let check = |text: &str| {
        let (status, body, _) = as_portal(&op, &op.portal_secret, json!({ "presentation": text }));
        (status, code(&body).to_owned())
    };

    // Tampered: one byte of the signed payload changed.
    let qr = present(&op, "travel", &[Attr::Name]);
    let mut bytes = cred::decode_text(&qr.text).unwrap();
    let n = bytes.len();
    bytes[n - 70] ^= 0x01;
    let tampered = format!("{}{}", cred::PREFIX, cred::base45(&bytes));
    assert_eq!(check(&tampered), (422, "presentation.bad_signature".into()));
    assert_eq!(
        check("EID1:not base45 ~"),
        (400, "presentation.malformed".into())
    );
    assert_eq!(check("hello"), (400, "presentation.malformed".into()));

    // Expired: a minute later by the server's clock.
    let old = present(&op, "travel", &[Attr::Name]);
    op.clock.advance(time::Duration::seconds(61));
    assert_eq!(check(&old.text), (422, "presentation.expired".into()));

    // Withdrawn by the holder.
    let withdrawn = present(&op, "age", &[Attr::Over18]);
    let now = op.clock_now_dt();
    assert!(cred::revoke(op.store.as_ref(), &op.person.id, &withdrawn.cti, now).unwrap());
    assert_eq!(check(&withdrawn.text), (422, "presentation.revoked".into()));

    // Nothing was read; the untouched original still reads (once).
    assert!(uses(&op).is_empty(), "{:?}", uses(&op));
    let fresh = present(&op, "travel", &[Attr::Name]);
    assert_eq!(check(&fresh.text), (200, String::new()));
    assert_eq!(uses(&op).len(), 1);
}

#[test]
fn an_unknown_or_unauthenticated_client_gets_401_and_nothing_is_read() {
    let op = setup("rp-verify-401");
    let qr = present(&op, "bank", &[Attr::Name, Attr::PersonalId]);
    let body = json!({ "presentation": qr.text });

    let wrong = as_portal(&op, "not-the-secret", body.clone());
    let unknown = as_basic(&op, "nobody", &op.portal_secret, body.clone());
    for (status, b, www) in [&wrong, &unknown] {
        assert_eq!((*status, code(b)), (401, "client.invalid"), "{b}");
        assert_eq!(www.as_deref(), Some("Basic realm=\"eid\""));
        assert!(b["claims"].is_null());
    }
    // The same answer whether or not the client exists.
    assert_eq!(wrong.1["error"]["message"], unknown.1["error"]["message"]);
    // No credentials at all; a bank assertion for another audience.
    let r = send_json(agent().post(&op.url(PATH)), body.clone());
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"eid\""));
    let (status, b) = json(r);
    assert_eq!((status, code(&b)), (401, "client.invalid"), "{b}");
    let a = op.assertion("https://elsewhere.example.vn");
    let (status, b) = as_bank(&op, &a, body.clone());
    assert_eq!((status, code(&b)), (401, "client.invalid"), "{b}");

    // Nothing was read: no entry, and the presentation still reads for the right client.
    assert!(uses(&op).is_empty());
    let failed = op
        .store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "oidc.client_auth" && e.outcome == "failed")
        .count();
    assert_eq!(failed, 4, "every failed client check is audited");
    let (status, b, _) = as_portal(&op, &op.portal_secret, body);
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["claims"]["pid"], op.person.id.as_str());
    assert_eq!(uses(&op).len(), 1);
}

#[test]
fn failed_client_checks_are_budgeted_per_source_and_reads_per_client() {
    let op = setup_with("rp-verify-limits", |c| {
        c.limits.client_presentation_burst = 2;
        c.limits.client_presentation_per_hour = 1;
    });
    let body = json!({ "presentation": "EID1:" });

    // A client's own allowance: two checks, then it waits; another client is not held up.
    for _ in 0..2 {
        let (status, b, _) = as_portal(&op, &op.portal_secret, body.clone());
        assert_eq!((status, code(&b)), (400, "presentation.malformed"), "{b}");
    }
    let r = send_json(
        agent()
            .post(&op.url(PATH))
            .header("authorization", &basic("portal", &op.portal_secret)),
        body.clone(),
    );
    assert_eq!(r.status(), 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    assert_eq!(code(&json(r).1), "auth.rate_limited");
    let a = op.assertion(&op.url(PATH));
    let (status, b) = as_bank(&op, &a, body.clone());
    assert_eq!((status, code(&b)), (400, "presentation.malformed"), "{b}");

    // Wrong secrets from one address: the budget's 20 failures are checked, then the address
    // waits, a right secret of another client too.
    for i in 0..20 {
        let (status, b, _) = as_basic(&op, "bank", &format!("wrong-{i}"), body.clone());
        assert_eq!(status, 401, "{b}");
    }
    let (status, b, _) = as_basic(&op, "bank", "wrong-21", body.clone());
    assert_eq!((status, code(&b)), (429, "auth.rate_limited"), "{b}");
    let a = op.assertion(&op.url(PATH));
    let (status, b) = as_bank(&op, &a, body);
    assert_eq!((status, code(&b)), (429, "auth.rate_limited"), "{b}");
}
