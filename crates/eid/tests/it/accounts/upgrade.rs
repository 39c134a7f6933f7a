//! The self-service upgrade and accounts of children through a recorded guardian.

use eid_core::store::Role;
use eid_domain::{Tree, Units};
use serde_json::json;
use time::macros::date;

use super::*;

#[test]
fn self_service_upgrade_depends_on_the_card_date() {
    let w = World::new("acc-upgrade");
    // Devices: the holder's commune, a neighbour, a suspended one in the district, and one in
    // another district.
    w.device(w.at.commune);
    w.device(w.at.neighbour);
    let third = Units::get().children(Tree::Gso2024, &w.at.district)[2].code;
    let suspended = w.device(third);
    ok(
        w.post(
            &format!("/api/v1/devices/{}/status", suspended.id),
            Some(&w.huyen.token),
            json!({ "status": "suspended" }),
        ),
        200,
    );
    w.device(w.at.far);

    let new_card = w.person(Some(date!(2022 - 04 - 01)));
    w.level1(&new_card);
    let token = w.session(&new_card);
    let upgrade = |token: &str, passcode: &str, photo_of: &str| {
        w.post(
            "/api/v1/app/upgrade",
            Some(token),
            json!({ "passcode": passcode, "photo_base64": photo(photo_of) }),
        )
    };
    refused(
        upgrade(&token, "000000", new_card.id.as_str()),
        401,
        "account.bad_passcode",
    );
    refused(
        upgrade(&token, PASSCODE, "062190000000"),
        422,
        "account.face_mismatch",
    );
    let a = ok(upgrade(&token, PASSCODE, new_card.id.as_str()), 200);
    assert_eq!(a["account"]["level"], 2);
    let v = w.account(&new_card);
    assert_eq!(v["account"]["level"], 2);
    assert_eq!(
        kinds(&v),
        strs(&[
            "registration_started",
            "level1_activated",
            "signed_in",
            "secret_failed",
            "level2_activated"
        ])
    );
    refused(
        upgrade(&token, PASSCODE, new_card.id.as_str()),
        409,
        "state.wrong",
    );

    let old_card = w.person(Some(date!(2022 - 03 - 31)));
    w.level1(&old_card);
    let token = w.session(&old_card);
    let e = refused(
        upgrade(&token, PASSCODE, old_card.id.as_str()),
        409,
        "account.go_in_person",
    );
    assert_eq!(e["detail"]["card_issued"], "2022-03-31");
    // Nearest first: the commune, its district, then the rest of the province.
    assert_eq!(
        e["detail"]["collecting_units"],
        json!([
            w.at.commune.as_str(),
            w.at.neighbour.as_str(),
            w.at.far.as_str()
        ])
    );
    assert_eq!(w.account(&old_card)["account"]["level"], 1);
}

#[test]
fn under_14_account_through_a_recorded_guardian() {
    let w = World::new("acc-guardian");
    let dev = w.device(w.at.commune);
    let mother = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &mother);
    let stranger = w.person(Some(date!(2021 - 06 - 01)));
    w.level2(&dev, &stranger);
    let father = w.person(Some(date!(2021 - 06 - 01)));
    w.level1(&father);
    let child = w.person_born(date!(2016 - 07 - 01), None, w.at.commune);

    // The register records the guardians; an officer outside the child's commune may not.
    let neighbour = w.user("xa2", Role::Commune, w.at.neighbour);
    let guardians = format!("/api/v1/persons/{}/guardians", child.id.as_str());
    refused(
        w.post(
            &guardians,
            Some(&neighbour.token),
            json!({ "guardian_id": mother.id.as_str(), "relation": "mother" }),
        ),
        403,
        "scope.denied",
    );
    for (g, rel) in [(&mother, "mother"), (&father, "father")] {
        let r = w.post(
            &guardians,
            Some(&w.xa.token),
            json!({ "guardian_id": g.id.as_str(), "relation": rel }),
        );
        assert_eq!(r.0, 204, "{}", r.1);
    }

    let child_body = |passcode: &str| {
        json!({ "passcode": passcode, "child_personal_id": child.id.as_str(),
                "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" })
    };
    // A level-2 holder who is not the guardian.
    let t = w.session(&stranger);
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        403,
        "account.not_guardian",
    );
    // A recorded guardian with only a level-1 account.
    let t = w.session(&father);
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        403,
        "account.guardian_required",
    );
    // The recorded guardian with a level-2 account, for someone who is not a child.
    let t = w.session(&mother);
    refused(
        w.post(
            "/api/v1/app/children",
            Some(&t),
            json!({ "passcode": PASSCODE, "child_personal_id": stranger.id.as_str(),
                    "child_password": "Mật-khẩu-Của-Con-1", "child_passcode": "135790" }),
        ),
        422,
        "account.not_a_child",
    );
    // And for the child.
    let r = ok(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        201,
    );
    assert_eq!(r["account"]["level"], 1);
    assert_eq!(r["account"]["state"], "active");
    assert_eq!(r["account"]["guardian"], mother.id.as_str());
    assert_eq!(r["account"]["phone"], phone_of(&mother).masked());
    let v = w.account(&child);
    assert_eq!(
        kinds(&v),
        strs(&["guardian_recorded", "guardian_recorded", "level1_activated"])
    );
    // Once is enough.
    refused(
        w.post("/api/v1/app/children", Some(&t), child_body(PASSCODE)),
        409,
        "state.wrong",
    );
    // The child signs in with their own password.
    ok(
        w.signin(child.id.as_str(), "Mật-khẩu-Của-Con-1", "child-device-01"),
        200,
    );
}
