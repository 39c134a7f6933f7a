//! The JSON API: persons, search, units, scope and tokens.

use eid_domain::{fold, UnitCode};

use crate::helpers::{agent, app, call, get_json};

#[test]
fn a_person_in_scope_is_returned_with_every_field() {
    let app = app();
    let p = app.local_person();

    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}", p.id),
        &app.commune.token,
    );

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["personal_id"], p.id.as_str());
    assert_eq!(body["name"]["full"], p.name.full());
    assert_eq!(body["name"]["surname"], p.name.surname());
    assert_eq!(body["birth_date"], p.birth.to_string());
    assert_eq!(body["sex"], p.sex.as_str());
    assert_eq!(body["residence"]["unit"], p.residence.unit.as_str());
    assert!(body["residence"]["unit_name"].as_str().unwrap().len() > 3);
    assert_eq!(
        body["phone"],
        p.phone
            .as_ref()
            .map_or(serde_json::Value::Null, |x| x.as_str().into())
    );
    assert_eq!(body["life_status"]["state"], p.life.state.as_str());
    assert_eq!(body["version"], 1);
    for key in [
        "temporary",
        "household_id",
        "phone_type",
        "card",
        "updated_at",
        "hometown_unit",
    ] {
        assert!(body.get(key).is_some(), "{key} missing");
    }
}

#[test]
fn a_person_outside_scope_is_refused_and_the_refusal_is_audited() {
    let app = app();
    let p = app.far_person();

    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}", p.id),
        &app.commune.token,
    );

    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "scope.denied");
    let request_id = body["error"]["request_id"].as_str().unwrap();
    let log = app.store.audit_log(1000).unwrap();
    let entry = log
        .iter()
        .find(|a| a.request_id == request_id)
        .expect("an audit entry");
    assert_eq!(
        (
            entry.action.as_str(),
            entry.target.as_str(),
            entry.outcome.as_str()
        ),
        ("person.read", p.id.as_str(), "denied")
    );
}

#[test]
fn the_province_officer_sees_the_whole_province_and_the_auditor_sees_no_one() {
    let app = app();
    let p = app.far_person();

    let (province, _) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}", p.id),
        &app.province.token,
    );
    let (ministry, _) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}", p.id),
        &app.ministry.token,
    );
    let (auditor, _) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}", p.id),
        &app.auditor.token,
    );

    assert_eq!((province, ministry, auditor), (200, 200, 403));
}

#[test]
fn an_unknown_person_is_404_and_a_bad_id_is_400_with_the_reason() {
    let app = app();

    let (unknown, body) = get_json(
        &app.base,
        "/api/v1/persons/062099999999",
        &app.ministry.token,
    );
    assert_eq!(unknown, 404, "{body}");
    assert_eq!(body["error"]["code"], "person.not_found");

    let (bad, body) = get_json(
        &app.base,
        "/api/v1/persons/003123456789",
        &app.ministry.token,
    );
    assert_eq!(bad, 400, "{body}");
    assert_eq!(body["error"]["code"], "person.bad_id");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("digits 1-3 (003) are not a province code of the GSO list"),
        "{message}"
    );
}

#[test]
fn a_search_by_folded_name_without_accents_finds_the_accented_name() {
    let app = app();
    let p = app
        .persons
        .iter()
        .find(|p| p.name.full() != fold(&p.name.full()) && !p.name.full().contains(['đ', 'Đ']))
        .unwrap();
    let query = fold(&p.name.full()).replace(' ', "%20");

    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/persons?name={query}&birth={}", p.birth.year()),
        &app.province.token,
    );

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unit"], "62");
    let found = body["persons"].as_array().unwrap();
    let hit = found
        .iter()
        .find(|x| x["personal_id"] == p.id.as_str())
        .expect("the person is found");
    assert_eq!(hit["name"]["full"], p.name.full());
    let log = app.store.audit_log(1000).unwrap();
    assert!(log
        .iter()
        .any(|a| a.action == "person.search" && a.target == "62" && a.outcome == "ok"));
}

#[test]
fn a_search_outside_the_callers_unit_is_refused_and_bad_input_is_400() {
    let app = app();

    let (outside, body) = get_json(
        &app.base,
        "/api/v1/persons?name=nguyen&unit=01",
        &app.province.token,
    );
    assert_eq!(outside, 403, "{body}");

    let (bad_birth, body) = get_json(
        &app.base,
        "/api/v1/persons?name=nguyen&birth=19x0",
        &app.province.token,
    );
    assert_eq!(
        (bad_birth, body["error"]["code"].as_str()),
        (400, Some("search.bad_birth"))
    );

    let (bad_unit, body) = get_json(
        &app.base,
        "/api/v1/persons?name=nguyen&unit=6",
        &app.province.token,
    );
    assert_eq!(
        (bad_unit, body["error"]["code"].as_str()),
        (400, Some("unit.bad_code"))
    );
}

#[test]
fn unit_populations_add_up_to_the_number_of_persons_imported() {
    let app = app();

    let (status, body) = get_json(&app.base, "/api/v1/units/62", &app.province.token);

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["population"]["total"], app.imported);
    let children = body["children"].as_array().unwrap();
    assert!(!children.is_empty());
    let sum: u64 = children
        .iter()
        .map(|c| c["population"]["total"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, app.imported);
    let alive: u64 = children
        .iter()
        .map(|c| c["population"]["alive"].as_u64().unwrap())
        .sum();
    assert!(alive <= sum && alive > 0);
    assert!(body["maps_to_2025"]["code"].is_string());

    let (_, nation) = get_json(&app.base, "/api/v1/units/VN", &app.ministry.token);
    assert_eq!(nation["population"]["total"], app.imported);
    let (_, nation_2025) = get_json(&app.base, "/api/v1/units/VN?tree=2025", &app.ministry.token);
    assert_eq!(nation_2025["population"]["total"], app.imported);
}

#[test]
fn a_commune_officer_cannot_open_another_district_and_sees_only_their_part_above() {
    let app = app();
    let other = app.far_person().residence.unit;

    let (denied, _) = get_json(
        &app.base,
        &format!("/api/v1/units/{other}"),
        &app.commune.token,
    );
    let (above, body) = get_json(&app.base, "/api/v1/units/62", &app.commune.token);

    assert_eq!(denied, 403);
    assert_eq!(above, 200);
    assert_eq!(body["complete"], false);
    let own = app
        .persons
        .iter()
        .filter(|p| p.residence.unit == app.commune.unit)
        .count() as u64;
    assert_eq!(body["population"]["total"], own);
    assert!(UnitCode::parse(body["code"].as_str().unwrap()).is_ok());
}

#[test]
fn history_lists_the_creation_event_with_its_fields() {
    let app = app();
    let p = app.local_person();

    let (status, body) = get_json(
        &app.base,
        &format!("/api/v1/persons/{}/history", p.id),
        &app.district.token,
    );

    assert_eq!(status, 200, "{body}");
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "created");
    assert_eq!(events[0]["actor"], "cli:test");
    let changes = events[0]["changes"].as_array().unwrap();
    assert_eq!(changes[0]["field"], "personal_id");
    assert_eq!(changes[0]["new"], p.id.as_str());
}

#[test]
fn me_describes_the_token_owner_and_a_revoked_token_is_401() {
    let app = app();
    let extra = crate::helpers::create_user(
        app.store.as_ref(),
        "revoked.user",
        eid_core::store::Role::Province,
        UnitCode::parse("62").unwrap(),
    );

    let (before, me) = get_json(&app.base, "/api/v1/me", &extra.token);
    assert_eq!(before, 200);
    assert_eq!(me["username"], "revoked.user");
    assert_eq!(me["role"], "province");
    let token_id = app
        .store
        .list_api_tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.staff_id == extra.id)
        .unwrap()
        .id;
    app.store
        .revoke_api_token(token_id, crate::helpers::now())
        .unwrap();
    // The server takes a token the store confirmed on trust for `TOKEN_TTL`, no longer.
    std::thread::sleep(eid::auth::TOKEN_TTL + std::time::Duration::from_millis(50));

    let (after, body) = get_json(&app.base, "/api/v1/me", &extra.token);
    assert_eq!(after, 401, "{body}");
    assert_eq!(body["error"]["code"], "auth.invalid");
    let (none, body) = get_json(&app.base, "/api/v1/me", "");
    assert_eq!(
        (none, body["error"]["code"].as_str()),
        (401, Some("auth.invalid"))
    );
}

#[test]
fn the_audit_log_is_for_auditors_and_the_ministry() {
    let app = app();

    let (auditor, body) = get_json(&app.base, "/api/v1/audit?limit=5", &app.auditor.token);
    let (commune, _) = get_json(&app.base, "/api/v1/audit", &app.commune.token);

    assert_eq!((auditor, commune), (200, 403));
    assert!(body.as_array().unwrap().len() <= 5);
}

#[test]
fn units_are_found_by_name_with_or_without_accents_and_type_word() {
    let app = app();

    let (status, body) = get_json(
        &app.base,
        "/api/v1/units?name=kon%20tum",
        &app.commune.token,
    );
    assert_eq!(status, 200, "{body}");
    let found: Vec<(String, String)> = body["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["code"].as_str().unwrap().to_owned(),
                u["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found.first(),
        Some(&("62".to_owned(), "province".to_owned())),
        "provinces first: {found:?}"
    );
    assert!(
        found.iter().any(|(c, _)| c == "608"),
        "Thành phố Kon Tum: {found:?}"
    );

    let (_, accented) = get_json(
        &app.base,
        "/api/v1/units?name=T%E1%BB%88NH%20KON%20TUM",
        &app.commune.token,
    );
    assert_eq!(accented["units"][0]["code"], "62");

    let (_, two_level) = get_json(
        &app.base,
        "/api/v1/units?name=kon%20tum&tree=2025",
        &app.commune.token,
    );
    assert!(
        two_level["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["level"] != "province"),
        "Kon Tum is no province of the two-level tree"
    );

    let (status, body) = get_json(&app.base, "/api/v1/units?name=", &app.commune.token);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "unit.name_required");
}

/// The served OpenAPI document passes the standard validator (pip `openapi-spec-validator`).
/// The interpreter is `EID_PYTHON` (python3 by default); `scripts/test` installs the module.
#[test]
fn the_openapi_document_passes_openapi_spec_validator() {
    let app = app();
    let python = std::env::var("EID_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the Python module openapi_spec_validator is not installed for {python}: run \
             `{python} -m pip install openapi-spec-validator` (scripts/test does), or point \
             EID_PYTHON at an interpreter that has it\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "cannot run {python} ({e}): install Python 3 with openapi-spec-validator, or point \
             EID_PYTHON at an interpreter that has it"
        ),
    }
    let r = call(agent().get(&app.url("/api/v1/openapi.json")));
    assert_eq!(r.status(), 200);
    let doc = r.into_string().unwrap();
    let file = crate::helpers::temp_dir("openapi").join("openapi.json");
    std::fs::write(&file, &doc).unwrap();

    let out = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();

    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{text}"
    );
    assert!(text.contains("OK"), "{text}");
}
