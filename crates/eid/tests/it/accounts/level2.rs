//! Level 2 in person: signed packets from intake devices, review, approval and activation.

use eid_core::intake::new_key;
use eid_core::store::Role;
use eid_domain::{Card, LifeState, LifeStatus, Person, PersonalId, Sex, Tree, Units};
use serde_json::{json, Value};
use time::macros::date;

use super::*;

#[test]
fn level2_packet_to_activation() {
    let w = World::new("acc-l2");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
    assert_eq!(r["review_reason"], Value::Null);
    let id = r["application"]["id"].as_i64().unwrap();
    let a = w.application(id);
    assert_eq!(a["state"], "code_sent");
    assert_eq!(a["unit"], w.at.commune.as_str());
    assert_eq!(a["device_id"], dev.id);
    assert_eq!(a["match"]["result"], "match");
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent"
        ])
    );
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["purpose"], "activate");
    let code = six_digits(msgs[0]["body"].as_str().unwrap());
    // No account before activation.
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&w.xa.token),
        ),
        404,
        "account.not_found",
    );

    let act = ok(w.activate(&p, &code), 200);
    assert_eq!(act["account"]["level"], 2);
    assert_eq!(act["account"]["state"], "active");
    assert_eq!(w.application(id)["state"], "activated");
    let v = w.account(&p);
    assert_eq!(v["account"]["level"], 2);
    assert_eq!(v["account"]["state"], "active");
    assert_eq!(v["account"]["locks"], json!([]));
    assert_eq!(
        kinds(&v),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent",
            "level2_activated"
        ])
    );
    // The code is used.
    refused(w.activate(&p, &code), 401, "code.invalid");
    let token = w.session(&p);
    let me = ok(w.get("/api/v1/app/account", Some(&token)), 200);
    assert_eq!(me["account"]["level"], 2);
}

#[test]
fn level2_bad_signature_or_altered_packet_is_refused() {
    let w = World::new("acc-l2-sig");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    // Signed by another key, naming this device.
    let (other_seed, _) = new_key();
    let forged = packet_signed(dev.id, &other_seed, &p, "xa", true);
    refused(w.intake(forged), 422, "packet.invalid");
    // A signed packet with one byte changed (the phone's last digit).
    let good = w.packet(&dev, &p, "xa", true);
    let hex_phone = eid_core::secret::hex(phone_of(&p).national().as_bytes());
    let mut changed = phone_of(&p).national().into_bytes();
    *changed.last_mut().unwrap() = if changed.last() == Some(&b'9') {
        b'8'
    } else {
        b'9'
    };
    let altered_packet =
        good["packet"]
            .as_str()
            .unwrap()
            .replacen(&hex_phone, &eid_core::secret::hex(&changed), 1);
    assert_ne!(altered_packet, good["packet"].as_str().unwrap());
    let altered = json!({ "packet": altered_packet, "signature": good["signature"] });
    refused(w.intake(altered), 422, "packet.invalid");
    // A signature of the wrong length, and a packet that is not hex.
    refused(
        w.intake(json!({ "packet": good["packet"], "signature": "abcd" })),
        422,
        "packet.invalid",
    );
    refused(
        w.intake(json!({ "packet": "zz", "signature": good["signature"] })),
        422,
        "packet.invalid",
    );
    // Nothing was collected; the genuine packet still goes through.
    let list = ok(w.get("/api/v1/applications", Some(&w.xa.token)), 200);
    assert_eq!(list["applications"], json!([]));
    assert!(w.sms(phone_of(&p)).is_empty());
    ok(w.intake(good), 201);
}

#[test]
fn level2_unknown_or_suspended_device_is_refused() {
    let w = World::new("acc-l2-device");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let unknown = packet_signed(dev.id + 1000, &dev.seed, &p, "xa", true);
    refused(w.intake(unknown), 403, "device.unknown");

    // A commune officer may not suspend; the district officer does.
    refused(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.xa.token),
            json!({ "status": "suspended" }),
        ),
        403,
        "scope.denied",
    );
    let d = ok(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.huyen.token),
            json!({ "status": "suspended" }),
        ),
        200,
    );
    assert_eq!(d["device"]["status"], "suspended");
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        403,
        "device.inactive",
    );
    assert!(w.stored_kinds(&p).is_empty());

    // Active again: collected.
    ok(
        w.post(
            &format!("/api/v1/devices/{}/status", dev.id),
            Some(&w.huyen.token),
            json!({ "status": "active" }),
        ),
        200,
    );
    ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
}

/// The server keeps the devices and officers it read for a few seconds: a device suspended,
/// or an officer disabled (in the store, as another node or `eid admin` would), after they were
/// read active is refused at once — the application's transaction reads both rows again — and
/// nothing is written; made active again, they are accepted at once.
#[test]
fn level2_a_device_or_officer_changed_after_it_was_read_is_seen_at_once() {
    let w = World::new("acc-l2-cached");
    let dev = w.device(w.at.commune);
    let status = |s: &str| {
        ok(
            w.post(
                &format!("/api/v1/devices/{}/status", dev.id),
                Some(&w.huyen.token),
                json!({ "status": s }),
            ),
            200,
        )
    };
    w.collect(&dev, &w.person(Some(date!(2021 - 06 - 01))), true);
    status("suspended");
    let p = w.person(Some(date!(2021 - 06 - 01)));
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        403,
        "device.inactive",
    );
    assert!(w.stored_kinds(&p).is_empty());
    status("active");
    w.collect(&dev, &w.person(Some(date!(2021 - 06 - 01))), true);

    w.store.set_staff_disabled(w.xa.id, true).unwrap();
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        403,
        "officer.unknown",
    );
    assert!(w.stored_kinds(&p).is_empty());
    w.store.set_staff_disabled(w.xa.id, false).unwrap();
    ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
}

#[test]
fn level2_officer_must_cover_the_device_unit() {
    let w = World::new("acc-l2-officer");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    // An officer of the neighbouring commune.
    w.user("xa2", Role::Commune, w.at.neighbour);
    refused(
        w.intake(w.packet(&dev, &p, "xa2", true)),
        403,
        "officer.outside_scope",
    );
    // Nobody by that name.
    refused(
        w.intake(w.packet(&dev, &p, "nobody", true)),
        403,
        "officer.unknown",
    );
    assert!(w.stored_kinds(&p).is_empty());
    // The district officer covers the commune's device.
    ok(w.intake(w.packet(&dev, &p, "huyen", true)), 201);
}

#[test]
fn level2_replayed_packet_is_refused() {
    let w = World::new("acc-l2-replay");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let packet = w.packet(&dev, &p, "xa", true);
    let id = ok(w.intake(packet.clone()), 201)["application"]["id"]
        .as_i64()
        .unwrap();
    refused(w.intake(packet.clone()), 409, "packet.replayed");
    // Still a replay once the application is closed.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "người dân rút hồ sơ" }),
        ),
        200,
    );
    refused(w.intake(packet), 409, "packet.replayed");
    assert_eq!(w.sms(phone_of(&p)).len(), 1);
}

#[test]
fn level2_person_must_be_alive_with_a_valid_card() {
    let w = World::new("acc-l2-person");
    let dev = w.device(w.at.commune);
    let mut dead = w.person(Some(date!(2021 - 06 - 01)));
    dead.life = LifeStatus {
        state: LifeState::Dead,
        since: Some(date!(2026 - 01 - 02)),
    };
    w.put(&dead);
    refused(
        w.intake(w.packet(&dev, &dead, "xa", true)),
        409,
        "person.not_alive",
    );

    // Issued at 20, due at 25 (2015).
    let expired = w.person(Some(date!(2010 - 06 - 01)));
    refused(
        w.intake(w.packet(&dev, &expired, "xa", true)),
        409,
        "person.card_invalid",
    );

    let mut revoked = w.person(Some(date!(2023 - 02 - 01)));
    revoked.card = Some(Card {
        issued: date!(2023 - 02 - 01),
        revoked: true,
    });
    w.put(&revoked);
    let e = refused(
        w.intake(w.packet(&dev, &revoked, "xa", true)),
        409,
        "person.card_invalid",
    );
    assert!(e["message"].as_str().unwrap().contains("revoked"), "{e}");

    let no_card = w.person(None);
    let e = refused(
        w.intake(w.packet(&dev, &no_card, "xa", true)),
        409,
        "person.card_invalid",
    );
    assert!(e["message"].as_str().unwrap().contains("no card"), "{e}");

    let unknown = Person {
        id: PersonalId::from_parts(62, Sex::Female, 1990, 999_002).unwrap(),
        ..w.person(None)
    };
    refused(
        w.intake(w.packet(&dev, &unknown, "xa", true)),
        404,
        "person.not_found",
    );

    for p in [&dead, &expired, &revoked, &no_card] {
        assert!(w.stored_kinds(p).is_empty());
        assert!(w.sms(phone_of(p)).is_empty());
    }
    let list = ok(w.get("/api/v1/applications", Some(&w.xa.token)), 200);
    assert_eq!(list["applications"], json!([]));
}

#[test]
fn level2_one_open_application_per_person() {
    let w = World::new("acc-l2-open");
    let dev = w.device(w.at.commune);
    let other = w.device(w.at.neighbour);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let first = w.collect(&dev, &p, false);
    assert_eq!(w.application(first)["state"], "review");
    // A new packet (new nonce), on another device of the district: still refused.
    refused(
        w.intake(w.packet(&dev, &p, "xa", true)),
        409,
        "application.open",
    );
    refused(
        w.intake(w.packet(&other, &p, "huyen", true)),
        409,
        "application.open",
    );
    // Once the first is rejected, a new one is collected.
    ok(
        w.post(
            &format!("/api/v1/applications/{first}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "vân tay không khớp" }),
        ),
        200,
    );
    ok(w.intake(w.packet(&dev, &p, "xa", true)), 201);
}

#[test]
fn level2_no_match_goes_to_review_decided_by_a_higher_level() {
    let w = World::new("acc-l2-review");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let r = ok(w.intake(w.packet(&dev, &p, "xa", false)), 201);
    assert!(r["review_reason"]
        .as_str()
        .unwrap()
        .contains("no fingerprint"));
    let id = r["application"]["id"].as_i64().unwrap();
    let a = w.application(id);
    assert_eq!(a["state"], "review");
    assert_eq!(a["match"]["result"], "no_match");
    assert!(w.sms(phone_of(&p)).is_empty());
    assert_eq!(
        w.stored_kinds(&p),
        strs(&["application_collected", "application_review"])
    );
    let queue = ok(
        w.get("/api/v1/applications?state=review", Some(&w.huyen.token)),
        200,
    );
    assert_eq!(queue["applications"][0]["id"], id);

    // The commune officer (same unit as the device) may not decide it.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.xa.token),
            json!({}),
        ),
        403,
        "review.not_higher_level",
    );
    // An officer of another district is outside the scope.
    let other = Units::get()
        .ancestors(Tree::Gso2024, &w.at.far)
        .into_iter()
        .find(|u| u.level == eid_domain::Level::District)
        .unwrap()
        .code;
    let stranger = w.user("huyen2", Role::District, other);
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&stranger.token),
            json!({}),
        ),
        403,
        "officer.outside_scope",
    );
    assert_eq!(w.application(id)["state"], "review");

    let d = ok(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.huyen.token),
            json!({}),
        ),
        200,
    );
    assert_eq!(d["application"]["state"], "code_sent");
    assert_eq!(
        d["application"]["decided_by"],
        format!("staff:{}", w.huyen.id)
    );
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_review",
            "application_approved",
            "activation_code_sent"
        ])
    );
    // Approving twice is a wrong state.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/approve"),
            Some(&w.huyen.token),
            json!({}),
        ),
        409,
        "state.wrong",
    );
    let code = w.code(phone_of(&p), "activate");
    ok(w.activate(&p, &code), 200);
    assert_eq!(w.application(id)["state"], "activated");
}

#[test]
fn level2_rejection_needs_a_reason_and_kills_the_code() {
    let w = World::new("acc-l2-reject");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let code = w.code(phone_of(&p), "activate");
    // Rejection is a decision of a unit above the collecting one, and needs a reason.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.xa.token),
            json!({ "reason": "giấy tờ không hợp lệ" }),
        ),
        403,
        "review.not_higher_level",
    );
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "  " }),
        ),
        422,
        "application.reason",
    );
    let r = ok(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "giấy tờ không hợp lệ" }),
        ),
        200,
    );
    assert_eq!(r["application"]["state"], "rejected");
    let a = w.application(id);
    assert_eq!(a["state"], "rejected");
    assert_eq!(a["reject_reason"], "giấy tờ không hợp lệ");
    assert_eq!(
        w.stored_kinds(&p).last().map(String::as_str),
        Some("application_rejected")
    );
    // The code sent before the rejection no longer activates anything.
    refused(w.activate(&p, &code), 401, "code.invalid");
    // A rejected application cannot be rejected, approved or re-sent.
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/reject"),
            Some(&w.huyen.token),
            json!({ "reason": "lần nữa" }),
        ),
        409,
        "state.wrong",
    );
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        409,
        "state.wrong",
    );
}

#[test]
fn level2_resend_limit_and_the_old_code_dies() {
    let w = World::new("acc-l2-resend");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let first = w.code(phone_of(&p), "activate");
    // Sends 2 and 3 of 3.
    for _ in 0..2 {
        let r = ok(
            w.post(
                &format!("/api/v1/applications/{id}/resend"),
                Some(&w.xa.token),
                json!({}),
            ),
            200,
        );
        assert_eq!(r["application"]["state"], "code_sent");
    }
    refused(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        429,
        "code.too_many_sends",
    );
    let msgs = w.sms(phone_of(&p));
    assert_eq!(msgs.len(), 3);
    let codes: Vec<String> = msgs
        .iter()
        .map(|m| six_digits(m["body"].as_str().unwrap()))
        .collect();
    let last = codes[2].clone();
    assert_eq!(
        w.stored_kinds(&p),
        strs(&[
            "application_collected",
            "application_approved",
            "activation_code_sent",
            "activation_code_resent",
            "activation_code_resent"
        ])
    );
    // The earlier codes are dead (unless a code happened to repeat).
    for old in [&first, &codes[1]] {
        if *old != last {
            refused(w.activate(&p, old), 401, "code.invalid");
        }
    }
    ok(w.activate(&p, &last), 200);
    assert_eq!(w.application(id)["state"], "activated");
}

#[test]
fn level2_activation_code_dies_after_wrong_entries_and_when_expired() {
    let w = World::new("acc-l2-dies");
    let dev = w.device(w.at.commune);
    let p = w.person(Some(date!(2021 - 06 - 01)));
    let id = w.collect(&dev, &p, true);
    let code = w.code(phone_of(&p), "activate");
    for k in 1..=5 {
        refused(w.activate(&p, &wrong(&code, k)), 401, "code.invalid");
    }
    refused(w.activate(&p, &code), 401, "code.invalid");
    assert_eq!(w.application(id)["state"], "code_sent");
    refused(
        w.get(
            &format!("/api/v1/accounts/{}", p.id.as_str()),
            Some(&w.xa.token),
        ),
        404,
        "account.not_found",
    );

    // A new code from the officer; it expires unused.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        200,
    );
    let second = w.code(phone_of(&p), "activate");
    w.expire_codes("activate");
    refused(w.activate(&p, &second), 401, "code.invalid");

    // The last allowed send works.
    ok(
        w.post(
            &format!("/api/v1/applications/{id}/resend"),
            Some(&w.xa.token),
            json!({}),
        ),
        200,
    );
    let third = w.code(phone_of(&p), "activate");
    ok(w.activate(&p, &third), 200);
}
