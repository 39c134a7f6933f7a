//! Hardening of the web boundary (issue 10): the language switch redirects only to same-site
//! paths (item 7), and a malformed JSON body to the API gets the API's JSON error with a stable
//! code (item 10).

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::helpers::{agent, app, call, Reply};

/// Sends `target` as the raw request target of a GET (bytes a URL library would refuse or
/// re-encode) and returns the response head.
fn raw_get(base: &str, target: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

/// The `Location` header of a raw response head.
fn raw_location(head: &str) -> Option<String> {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_owned())
        })
        .map(|v| v.trim_end_matches('\r').to_owned())
}

#[test]
fn the_language_switch_redirects_only_to_same_site_paths() {
    let a = app();
    let hostile = [
        "//evil.example/phish",
        "/%5Cevil.example",
        "/%09/evil.example/phish",
        "/%09/127.0.0.1:8197/phish",
        "/%2F/evil.example",
        "/%2F%2Fevil.example",
        "https://evil.example/",
        "https%3A%2F%2Fevil.example%2F",
        "/%20/evil.example",
        "/%0D%0ALocation:%20https://evil.example",
        "%2F%2Fevil.example",
        "/%5C/evil.example",
        "/./%2F/evil.example",
        "javascript:alert(1)",
    ];
    let mut answers = Vec::new();
    for next in hostile {
        let r = call(agent().get(&a.url(&format!("/lang/en?next={next}"))));
        answers.push((
            next,
            r.status(),
            r.header("location").unwrap_or("").to_owned(),
        ));
    }
    // Raw bytes in the query (a browser's address bar may send them as they are).
    for target in [
        "/lang/en?next=/\t/evil.example",
        "/lang/en?next=/\\evil.example",
        "/lang/en?next=/\\/evil.example",
    ] {
        let head = raw_get(&a.base, target);
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // A server may also refuse such a request line outright; that is not a redirect.
        if (300..400).contains(&status) {
            answers.push((target, status, raw_location(&head).unwrap_or_default()));
        } else {
            assert_eq!(status, 400, "{target:?}: {head}");
        }
    }
    let wrong: Vec<_> = answers
        .iter()
        .filter(|(_, status, location)| *status != 303 || location != "/")
        .collect();
    assert!(
        wrong.is_empty(),
        "each hostile next must redirect to /: {wrong:?}"
    );

    let good = call(agent().get(&a.url("/lang/en?next=%2Fops%3Funit%3D62")));
    assert_eq!(
        (good.status(), good.header("location")),
        (303, Some("/ops?unit=62"))
    );
    let plain = call(agent().get(&a.url("/lang/vi?next=/search")));
    assert_eq!(plain.header("location"), Some("/search"));
}

fn post_raw(url: &str, token: Option<&str>, content_type: &str, body: &str) -> Reply {
    let mut req = agent().post(url).header("Content-Type", content_type);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    crate::helpers::send_bytes(req, body.as_bytes())
}

#[test]
fn malformed_json_to_the_api_gets_the_json_error_with_a_code() {
    let a = app();
    let token = a.province.token.clone();
    // (route, token, a body with a field of the wrong type)
    let routes: [(&str, Option<&str>, &str); 4] = [
        ("/api/v1/ops/quotas", Some(&token), r#"{"unit": 62}"#),
        ("/api/v1/app/register", None, r#"{"personal_id": 62}"#),
        (
            "/api/v1/applications/1/reject",
            Some(&token),
            r#"{"reason": 5}"#,
        ),
        ("/api/v1/intake/applications", None, r#"{"packet": []}"#),
    ];
    let mut wrong = Vec::new();
    for (path, token, wrong_type) in routes {
        let url = a.url(path);
        for (case, content_type, body, status, code) in [
            (
                "syntax",
                "application/json",
                "{\"unit\": ",
                400,
                "request.bad_json",
            ),
            (
                "content type",
                "text/plain",
                "{}",
                415,
                "request.bad_content_type",
            ),
            (
                "field type",
                "application/json",
                wrong_type,
                422,
                "request.bad_fields",
            ),
        ] {
            let r = post_raw(&url, token, content_type, body);
            let got_status = r.status();
            let content = r.header("content-type").unwrap_or("").to_owned();
            let text = r.into_string().unwrap();
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let e = &v["error"];
            let ok = got_status == status
                && content.starts_with("application/json")
                && e["code"] == code
                && e["message"].as_str().is_some_and(|m| !m.is_empty())
                && e["request_id"].as_str().is_some_and(|m| !m.is_empty());
            if !ok {
                wrong.push(format!("{path} {case}: {got_status} {content} {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A server of its own over an empty store with `config` on top of the test kit's.
fn server_with(label: &str, config: eid::Config) -> String {
    let store = crate::helpers::fresh_store(label);
    eid::testkit::spawn_with(
        store,
        config,
        std::sync::Arc::new(eid_core::clock::SystemClock),
    )
    .base
}

#[test]
fn hsts_is_sent_only_when_configured() {
    let off = call(agent().get(&app().url("/login")));
    assert_eq!(off.status(), 200);
    assert_eq!(off.header("strict-transport-security"), None);

    let base = server_with(
        "hsts",
        eid::Config {
            hsts_max_age_seconds: Some(31_536_000),
            ..eid::testkit::test_config()
        },
    );
    for path in ["/login", "/api/v1/me", "/healthz", "/no/such/page"] {
        let r = call(agent().get(&format!("{base}{path}")));
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
}

#[test]
fn metrics_behind_a_token_need_the_token() {
    // Without a token configured, /metrics stays open (the shared server).
    let open = call(agent().get(&app().url("/metrics")));
    assert_eq!(open.status(), 200);

    let base = server_with(
        "metrics_token",
        eid::Config {
            metrics_token: Some("s3cret-metrics-token".to_owned()),
            ..eid::testkit::test_config()
        },
    );
    let url = format!("{base}/metrics");
    let none = call(agent().get(&url));
    let wrong = call(
        agent()
            .get(&url)
            .header("Authorization", "Bearer s3cret-metrics-tokeX"),
    );
    let prefix = call(agent().get(&url).header("Authorization", "Bearer s3cret"));
    let basic = call(
        agent()
            .get(&url)
            .header("Authorization", "Basic s3cret-metrics-token"),
    );
    let right = call(
        agent()
            .get(&url)
            .header("Authorization", "Bearer s3cret-metrics-token"),
    );
    assert_eq!(
        (
            none.status(),
            wrong.status(),
            prefix.status(),
            basic.status()
        ),
        (401, 401, 401, 401)
    );
    let refused: Value = none.into_json().unwrap();
    assert_eq!(refused["error"]["code"], "auth.required");
    assert_eq!(right.status(), 200);
    assert!(right.into_string().unwrap().contains("eid_"));
}

#[test]
fn hsts_and_the_metrics_token_come_from_the_file_and_the_environment() {
    use eid::config::Overrides;
    use std::collections::HashMap;

    let none = eid::Config::layered(None, &HashMap::new(), &Overrides::default()).unwrap();
    assert_eq!(
        (none.hsts_max_age_seconds, none.metrics_token),
        (None, None)
    );

    let file = "hsts_max_age_seconds = 63072000\nmetrics_token = \"from-the-file\"\n";
    let c = eid::Config::layered(Some(file), &HashMap::new(), &Overrides::default()).unwrap();
    assert_eq!(c.hsts_max_age_seconds, Some(63_072_000));
    assert_eq!(c.metrics_token.as_deref(), Some("from-the-file"));
    // The token stays out of Debug.
    assert!(!format!("{c:?}").contains("from-the-file"));

    let env: HashMap<String, String> = [
        ("EID_HSTS_MAX_AGE_SECONDS", "300"),
        ("EID_METRICS_TOKEN", "from-the-env"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let c = eid::Config::layered(Some(file), &env, &Overrides::default()).unwrap();
    assert_eq!(c.hsts_max_age_seconds, Some(300));
    assert_eq!(c.metrics_token.as_deref(), Some("from-the-env"));

    let bad: HashMap<String, String> =
        [("EID_HSTS_MAX_AGE_SECONDS".to_owned(), "a year".to_owned())].into();
    let e = eid::Config::layered(None, &bad, &Overrides::default()).unwrap_err();
    assert!(e.0.contains("EID_HSTS_MAX_AGE_SECONDS"), "{e}");
}
