//! Health, metrics and the OpenAPI document.

use crate::helpers::{agent, app, call};

#[test]
fn healthz_answers_ok_with_a_request_id() {
    let app = app();

    let r = call(agent().get(&app.url("/healthz")));

    assert_eq!(r.status(), 200);
    assert_eq!(r.header("x-request-id").map(str::len), Some(16));
    assert_eq!(r.into_string().unwrap(), "ok");
}

#[test]
fn metrics_count_requests_by_route_template_and_never_by_raw_path() {
    let app = app();
    let id = app.local_person().id.as_str().to_owned();
    call(
        agent()
            .get(&app.url(&format!("/api/v1/persons/{id}")))
            .header("Authorization", &format!("Bearer {}", app.commune.token)),
    );
    call(agent().get(&app.url("/healthz")));
    call(agent().get(&app.url("/oauth2/jwks")));
    call(agent().get(&app.url("/me/signin")));

    let r = call(agent().get(&app.url("/metrics")));

    assert_eq!(r.status(), 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.into_string().unwrap();
    assert!(
        text.contains("eid_http_requests_total{route=\"/healthz\",status=\"2xx\"}"),
        "{text}"
    );
    assert!(
        text.contains("eid_http_requests_total{route=\"/api/v1/persons/{id}\",status=\"2xx\"}"),
        "{text}"
    );
    // The provider's and the citizen pages' routes count under their templates, not as other.
    assert!(
        text.contains("eid_http_requests_total{route=\"/oauth2/jwks\",status=\"2xx\"}"),
        "{text}"
    );
    assert!(
        text.contains("eid_http_requests_total{route=\"/me/signin\",status=\"2xx\"}"),
        "{text}"
    );
    // A served request always counts under its template (tests sharing this server may ask for
    // paths that do not exist: those are "other", with 4xx).
    assert!(!text.contains("route=\"other\",status=\"2xx\""), "{text}");
    assert!(text.contains("# TYPE eid_http_request_duration_seconds histogram"));
    assert!(text.contains("eid_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(text.contains("eid_persons_read_total"));
    assert!(text.contains("eid_login_failures_total"));
    assert!(text.contains("eid_build_info{version=\""));
    assert!(!text.contains(&id), "a personal ID leaked into the metrics");
}

#[test]
fn the_openapi_document_parses_and_lists_every_api_route() {
    let app = app();

    let r = call(agent().get(&app.url("/api/v1/openapi.json")));

    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = r.into_json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for route in eid::metrics::ROUTES
        .iter()
        .filter(|r| r.starts_with("/api/v1/"))
    {
        assert!(
            paths.contains_key(*route),
            "{route} is missing from the OpenAPI document"
        );
    }
    // Every documented operation is served: none falls through to the router's fallback.
    // (Every served API route is documented by construction: the server mounts the routes of
    // the same `OpenApiRouter` this document comes from.)
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1").replace("{code}", "62");
        for method in ["get", "post"] {
            if !item[method].is_object() {
                continue;
            }
            operations += 1;
            let url = app.url(&concrete);
            let r = if method == "get" {
                call(agent().get(&url))
            } else {
                call(agent().post(&url))
            };
            assert_ne!(
                r.status(),
                405,
                "{method} {path} is documented but not served"
            );
            let body: serde_json::Value = r.into_json().unwrap_or_default();
            assert_ne!(
                body["error"]["code"], "route.not_found",
                "{method} {path} is documented but not served"
            );
        }
    }
    // The 59 of the hand-written document it replaces, at least.
    assert!(operations >= 59, "{operations} operations documented");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Person"]["properties"]["personal_id"].is_object());
}

#[test]
fn an_unknown_api_route_is_a_json_404() {
    let app = app();

    let r = call(agent().get(&app.url("/api/v1/nothing-here")));

    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.into_json().unwrap();
    assert_eq!(body["error"]["code"], "route.not_found");
}
