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

/// The whole document.
pub fn document() -> Value {
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
