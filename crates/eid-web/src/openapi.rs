//! The OpenAPI 3.1 document of `/api/v1`, written by hand.
//!
//! A test in `tests/it` checks that every API route of the router is listed here, so the
//! document cannot silently fall behind the code.

use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(schema: &str, description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn errors() -> Value {
    json!({
        "400": error_response("Bad input (`person.bad_id`, `unit.bad_code`, `search.bad_birth`, …): the message says why."),
        "401": error_response("Missing (`auth.required`) or invalid (`auth.invalid`) bearer token."),
        "403": error_response("Outside the caller's scope (`scope.denied`); audited."),
        "404": error_response("Not found (`person.not_found`, `unit.not_found`)."),
        "500": error_response("Internal error (`internal`); quote the request id.")
    })
}

fn with_ok(ok_code: Value) -> Value {
    let mut e = errors();
    if let (Some(map), Some(extra)) = (e.as_object_mut(), ok_code.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    e
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": "Personal identification number, 12 digits.",
            "schema": { "type": "string", "pattern": "^[0-9]{12}$" } })
}

/// The account and operations routes: method, path, who calls it, summary. Request and response
/// bodies are JSON objects described in the summaries; refusals are the `Error` schema with a
/// stable code (`code.invalid`, `account.locked`, `packet.replayed`, `quota.metric`, …).
pub const MORE_ROUTES: &[(&str, &str, &str, &str)] = &[
    ("post", "/api/v1/app/register", "citizen", "Level 1: {personal_id, phone, photo_base64, device_id} → 202 {handle}; the same answer whatever the register holds."),
    ("post", "/api/v1/app/register/confirm", "citizen", "Level 1: {handle, code, password, passcode} → the active level-1 account."),
    ("post", "/api/v1/app/activate", "citizen", "Level 2: {personal_id, code, password, passcode, device_id} with the SMS activation code."),
    ("post", "/api/v1/app/signin", "citizen", "{personal_id, password, device_id} → {token} on the bound device, or 202 {device_check} with a code to the phone."),
    ("post", "/api/v1/app/signin/device", "citizen", "{handle, code}: binds the new device and ends other sessions."),
    ("post", "/api/v1/app/unlock", "citizen", "{personal_id, password, passcode}: the holder lifts their own lock."),
    ("post", "/api/v1/app/password-reset", "citizen", "{personal_id, phone} → 202 {handle}; a code only when they match an account."),
    ("post", "/api/v1/app/password-reset/confirm", "citizen", "{handle, code, password}."),
    ("get", "/api/v1/app/account", "session", "The holder's account."),
    ("get", "/api/v1/app/events", "session", "Every event of the holder's account and applications."),
    ("post", "/api/v1/app/lock", "session", "{passcode}: the holder locks the account."),
    ("post", "/api/v1/app/passcode", "session", "{passcode, new_passcode}."),
    ("post", "/api/v1/app/password", "session", "{passcode, new_password}."),
    ("post", "/api/v1/app/phone", "session", "{passcode, new_phone} → 202 {handle}; a code to each number."),
    ("post", "/api/v1/app/phone/confirm", "session", "{handle, code_old, code_new}."),
    ("post", "/api/v1/app/upgrade", "session", "{passcode, photo_base64}: level 2 for cards issued from the cut-off; else 409 account.go_in_person with the collecting units."),
    ("post", "/api/v1/app/children", "session", "{passcode, child_personal_id, child_password, child_passcode}: a recorded guardian with level 2 opens a child's account."),
    ("post", "/api/v1/app/signout", "session", "Ends the session."),
    ("post", "/api/v1/intake/applications", "device", "{packet, signature}: an Ed25519-signed application from a registered intake device."),
    ("get", "/api/v1/applications", "staff", "Applications collected inside the caller's unit (?state, unit, day, limit)."),
    ("get", "/api/v1/applications/{id}", "staff", "One application."),
    ("post", "/api/v1/applications/{id}/approve", "staff", "Approve a review (an officer above the collecting unit); the activation code is sent."),
    ("post", "/api/v1/applications/{id}/reject", "staff", "{reason}."),
    ("post", "/api/v1/applications/{id}/resend", "staff", "A new activation code, up to the limit."),
    ("get", "/api/v1/accounts/{id}", "staff", "An account and its events (audited)."),
    ("post", "/api/v1/accounts/{id}/lock", "staff", "{reason}: an officer's lock."),
    ("post", "/api/v1/accounts/{id}/unlock", "staff", "{reason}."),
    ("post", "/api/v1/accounts/{id}/phone", "staff", "{phone, reason}: the holder came in person."),
    ("post", "/api/v1/persons/{id}/guardians", "staff", "{guardian_id, relation}: records a guardian."),
    ("get", "/api/v1/devices", "staff", "Intake devices inside the caller's unit."),
    ("post", "/api/v1/devices", "staff", "{name, unit, public_key, daily_capacity}."),
    ("post", "/api/v1/devices/{id}/status", "staff", "{status}: active, suspended or retired."),
    ("get", "/api/v1/sms", "staff", "The SMS outbox, with the development sink only."),
    ("get", "/api/v1/ops/quotas", "staff", "Quotas with progress (?unit, subtree, as_of): done, %, remaining, days left, required daily rate, 7-day rate, forecast, status."),
    ("post", "/api/v1/ops/quotas", "staff", "{unit, metric, cohort, target, start, deadline, reason}: set by the level above."),
    ("get", "/api/v1/ops/quotas/{id}", "staff", "A quota with children, ranking, history and daily series."),
    ("post", "/api/v1/ops/quotas/{id}/split", "staff", "{mode: proportional|manual, parts}."),
    ("get", "/api/v1/ops/quotas/{id}/capacity", "staff", "Intake capacity against what remains."),
    ("get", "/api/v1/ops/quotas/{id}/leaderboard", "staff", "Emulation scores of the units below, with the rule."),
    ("get", "/api/v1/ops/series", "staff", "Daily counts of a metric in a unit (?unit, metric, from, to)."),
    ("get", "/api/v1/ops/provinces-2025", "staff", "History re-aggregated into the 2025 provinces (?metric, from, to)."),
    ("get", "/api/v1/ops/campaigns", "staff", "Peak campaigns with the rate before and during."),
    ("post", "/api/v1/ops/campaigns", "staff", "{name, slogan, unit, start, end}."),
    ("get", "/api/v1/ops/outreach", "staff", "A commune's people still to reach (?commune, missing, address, min_age, max_age, phone_type, format=json|csv); audited."),
    ("post", "/api/v1/ops/outreach/assign", "staff", "{commune, personal_ids, assignee, due}."),
    ("post", "/api/v1/ops/outreach/contacts", "staff", "{personal_id, outcome, note}: dead, moved away and emigrated become proposals."),
    ("get", "/api/v1/ops/proposals", "staff", "Open proposed register changes."),
    ("post", "/api/v1/ops/proposals/{id}", "staff", "{decision: confirm|dismiss}."),
    ("get", "/api/v1/ops/reports", "staff", "Reporting duties with each period on time, late, missing or not due."),
    ("post", "/api/v1/ops/reports/schedules", "staff", "{agency, unit, schedule, grace_days, start}."),
    ("post", "/api/v1/ops/reports/{id}/submit", "staff", "{period_day, body}."),
];

fn more_paths() -> serde_json::Map<String, Value> {
    let mut paths = serde_json::Map::new();
    for (method, path, who, summary) in MORE_ROUTES {
        let security = match *who {
            "staff" => json!([{ "bearer": [] }]),
            "session" => json!([{ "citizen": [] }]),
            _ => json!([]),
        };
        let tag = if path.starts_with("/api/v1/ops/") {
            "operations"
        } else {
            "accounts"
        };
        let mut op = json!({
            "summary": summary,
            "tags": [tag],
            "security": security,
            "responses": with_ok(json!({ "200": { "description": "Done; a JSON object.", "content": { "application/json": {} } } })),
        });
        if *method == "post" {
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    paths
}

/// The whole document.
pub fn document() -> Value {
    let mut doc = base_document();
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.extend(more_paths());
    }
    if let Some(schemes) = doc["components"]["securitySchemes"].as_object_mut() {
        schemes.insert(
            "citizen".to_owned(),
            json!({ "type": "http", "scheme": "bearer", "description": "A citizen session token from /api/v1/app/signin." }),
        );
    }
    doc
}

fn base_document() -> Value {
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "eid API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The population register of the national electronic identity platform. Every response carries an `x-request-id` header; every person read and search is audited.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/openapi.json": { "get": {
                "summary": "This document.", "operationId": "openapi", "security": [],
                "responses": { "200": { "description": "The OpenAPI document.", "content": { "application/json": {} } } }
            }},
            "/api/v1/me": { "get": {
                "summary": "The account behind the token.", "operationId": "me",
                "responses": with_ok(json!({ "200": ok("Me", "The caller.") }))
            }},
            "/api/v1/persons": { "get": {
                "summary": "Search persons by name (folded prefix: accents and case ignored) and birth, within a unit of the caller's scope.",
                "operationId": "searchPersons",
                "parameters": [
                    { "name": "name", "in": "query", "required": true, "schema": { "type": "string", "minLength": 2 }, "description": "Full name or its beginning, surname first." },
                    { "name": "birth", "in": "query", "schema": { "type": "string", "pattern": "^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$" }, "description": "Year (YYYY) or date (YYYY-MM-DD) of birth." },
                    { "name": "unit", "in": "query", "schema": { "type": "string" }, "description": "Unit code of the 2024 tree; defaults to the caller's unit and must be inside it." },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } }
                ],
                "responses": with_ok(json!({ "200": ok("SearchResult", "Matching persons.") }))
            }},
            "/api/v1/persons/{id}": { "get": {
                "summary": "One person by personal ID.", "operationId": "getPerson",
                "parameters": [id_param()],
                "responses": with_ok(json!({ "200": ok("Person", "The person.") }))
            }},
            "/api/v1/persons/{id}/history": { "get": {
                "summary": "Every change to a person, oldest first.", "operationId": "getPersonHistory",
                "parameters": [id_param()],
                "responses": with_ok(json!({ "200": ok("History", "The events.") }))
            }},
            "/api/v1/units": { "get": {
                "summary": "Units whose folded name, with or without its type word (Tỉnh, Huyện, Xã …), is the query: provinces first, at most 100.",
                "operationId": "findUnits",
                "parameters": [
                    { "name": "name", "in": "query", "required": true, "schema": { "type": "string" }, "description": "A unit name, with or without diacritics." },
                    { "name": "tree", "in": "query", "schema": { "type": "string", "enum": ["2024", "2025"], "default": "2024" } }
                ],
                "responses": with_ok(json!({ "200": { "description": "The matches.", "content": { "application/json": { "schema": {
                    "type": "object", "properties": { "tree": { "type": "string" }, "units": { "type": "array", "items": { "$ref": "#/components/schemas/UnitRef" } } }
                } } } } }))
            }},
            "/api/v1/units/{code}": { "get": {
                "summary": "An administrative unit with its children and their populations (only people within the caller's scope are counted).",
                "operationId": "getUnit",
                "parameters": [
                    { "name": "code", "in": "path", "required": true, "schema": { "type": "string" }, "description": "VN, or a GSO code of 2, 3 or 5 digits." },
                    { "name": "tree", "in": "query", "schema": { "type": "string", "enum": ["2024", "2025"], "default": "2024" } }
                ],
                "responses": with_ok(json!({ "200": ok("Unit", "The unit.") }))
            }},
            "/api/v1/audit": { "get": {
                "summary": "The newest audit entries (auditors and the ministry).", "operationId": "getAudit",
                "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }],
                "responses": with_ok(json!({ "200": { "description": "Entries, newest first.", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/AuditEntry" } } } } } }))
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "An API token issued with `eid admin issue-token`." }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message", "request_id"],
                    "properties": { "code": { "type": "string", "examples": ["person.not_found"] }, "message": { "type": "string" }, "request_id": { "type": "string" } }
                }}},
                "Me": { "type": "object", "required": ["id", "username", "display_name", "role", "unit"], "properties": {
                    "id": { "type": "integer" }, "username": { "type": "string" }, "display_name": { "type": "string" },
                    "role": { "type": "string", "enum": ["ministry", "province", "district", "commune", "auditor"] },
                    "unit": { "type": "string" }, "unit_name": nullable_string, "actor": { "type": "string" }
                }},
                "Residence": { "type": "object", "required": ["unit", "address"], "properties": {
                    "unit": { "type": "string" }, "unit_name": nullable_string, "address": { "type": "string" } } },
                "Person": { "type": "object", "required": ["personal_id", "name", "birth_date", "sex", "residence", "phone_type", "life_status", "version", "updated_at"], "properties": {
                    "personal_id": { "type": "string" },
                    "name": { "type": "object", "properties": { "surname": { "type": "string" }, "middle": { "type": "string" }, "given": { "type": "string" }, "full": { "type": "string" } } },
                    "birth_date": { "type": "string", "description": "YYYY-MM-DD, or YYYY when only the year is known." },
                    "sex": { "type": "string", "enum": ["M", "F"] },
                    "hometown_unit": nullable_string,
                    "residence": { "$ref": "#/components/schemas/Residence" },
                    "temporary": { "oneOf": [{ "$ref": "#/components/schemas/Residence" }, { "type": "null" }] },
                    "household_id": nullable_string,
                    "phone": { "type": ["string", "null"], "description": "E.164." },
                    "phone_type": { "type": "string", "enum": ["none", "basic", "smartphone"] },
                    "life_status": { "type": "object", "properties": { "state": { "type": "string", "enum": ["alive", "dead", "emigrated", "absent"] }, "since": nullable_string } },
                    "card": { "oneOf": [{ "type": "null" }, { "type": "object", "properties": {
                        "issued": { "type": "string", "format": "date" }, "expires": { "type": ["string", "null"], "description": "null: valid for life." },
                        "revoked": { "type": "boolean" }, "valid": { "type": "boolean" } } }] },
                    "version": { "type": "integer" },
                    "updated_at": { "type": "string", "format": "date-time" }
                }},
                "SearchResult": { "type": "object", "properties": {
                    "unit": { "type": "string" }, "count": { "type": "integer" },
                    "persons": { "type": "array", "items": { "$ref": "#/components/schemas/Person" } } } },
                "History": { "type": "object", "properties": {
                    "personal_id": { "type": "string" },
                    "events": { "type": "array", "items": { "type": "object", "properties": {
                        "seq": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "actor": { "type": "string" },
                        "kind": { "type": "string", "enum": ["created", "updated"] }, "reason": { "type": "string" },
                        "changes": { "type": "array", "items": { "type": "object", "properties": {
                            "field": { "type": "string" }, "old": nullable_string, "new": nullable_string } } } } } } } },
                "Population": { "type": "object", "properties": { "total": { "type": "integer" }, "alive": { "type": "integer" } } },
                "UnitRef": { "type": "object", "properties": { "code": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string" } } },
                "Unit": { "type": "object", "properties": {
                    "tree": { "type": "string" }, "code": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string" }, "urban": { "type": "boolean" },
                    "ancestors": { "type": "array", "items": { "$ref": "#/components/schemas/UnitRef" } },
                    "population": { "$ref": "#/components/schemas/Population" },
                    "complete": { "type": "boolean", "description": "False when the unit is above the caller's own and only the caller's part is counted." },
                    "children": { "type": "array", "items": { "type": "object", "properties": {
                        "code": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string" }, "urban": { "type": "boolean" },
                        "population": { "$ref": "#/components/schemas/Population" } } } },
                    "unmapped": { "oneOf": [{ "$ref": "#/components/schemas/Population" }, { "type": "null" }] },
                    "maps_to_2025": { "oneOf": [{ "$ref": "#/components/schemas/UnitRef" }, { "type": "null" }] } } },
                "AuditEntry": { "type": "object", "properties": {
                    "seq": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "actor": { "type": "string" },
                    "action": { "type": "string" }, "target": { "type": "string" }, "outcome": { "type": "string", "enum": ["ok", "denied", "failed"] },
                    "request_id": { "type": "string" } } }
            }
        }
    })
}
