//! Face verification behind a trait: the level-1 sign-up compares the citizen's photo with the
//! reference portrait of the person.
//!
//! Two verifiers exist: [`HttpVerifier`] calls a configured verification service, and
//! [`DevHashVerifier`], for development, compares photo hashes with a fixed development portrait
//! and says so: it recognises no faces. [`FaceVerifier::describe`] is what the console shows about
//! the configured verifier.
//!
//! Errors never carry the personal ID or the photo.

use base64::Engine as _;

use crate::outbound::{self, ExtraCa};

/// How long a call to the verification service may take.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub use eid_core::face::{dev_portrait, sha256};

/// The answer of a verifier, recorded with the account.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Which verifier answered: `"dev-hash"` or `"http:<host>"`.
    pub verifier: String,
    /// Similarity, 0.0 to 1.0.
    pub score: f64,
    pub matched: bool,
    /// A short explanation for staff (no personal data).
    pub note: String,
}

/// Compares a photo with the reference portrait of a person. Blocking: call it from
/// `tokio::task::spawn_blocking`.
pub trait FaceVerifier: Send + Sync + 'static {
    /// Shown in the console: which verifier is configured and what it does.
    fn describe(&self) -> String;
    /// Compares `photo` with the reference portrait of `personal_id`. An `Err` means no answer
    /// (the service failed), not a mismatch.
    fn compare(&self, personal_id: &str, photo: &[u8]) -> Result<Verdict, String>;
}

/// The development verifier: the photo matches iff its SHA-256 equals that of
/// [`dev_portrait`]`(personal_id)`. Score 1.0 or 0.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevHashVerifier;

impl FaceVerifier for DevHashVerifier {
    fn describe(&self) -> String {
        "dev-hash: a development verifier. It only compares the SHA-256 hash of the photo with \
         the hash of a fixed development portrait (the bytes \"eid-dev-portrait:<personal ID>\"); \
         it recognises no faces and must not be used in production. Set face_verifier_url to \
         use a real verification service."
            .to_owned()
    }

    fn compare(&self, personal_id: &str, photo: &[u8]) -> Result<Verdict, String> {
        let matched = sha256(photo) == sha256(&dev_portrait(personal_id));
        Ok(Verdict {
            verifier: "dev-hash".to_owned(),
            score: if matched { 1.0 } else { 0.0 },
            matched,
            note: if matched {
                "photo hash equals the development portrait's (no face was compared)"
            } else {
                "photo hash differs from the development portrait's (no face was compared)"
            }
            .to_owned(),
        })
    }
}

/// Calls a face verification service: POSTs `{"personal_id": "…", "photo_base64": "…"}` (with
/// `auth`, when set, as the `Authorization` header) and reads `{"score": 0.0..1.0}` with an
/// optional `"match": bool`. The photo matches when the score reaches `threshold` and the
/// service did not itself answer `"match": false`.
///
/// The URL may be `http://` or `https://`; TLS is verified against the webpki roots and the
/// certificates given to [`HttpVerifier::trusting`] (see [`crate::outbound`]).
pub struct HttpVerifier {
    url: String,
    auth: Option<String>,
    timeout: std::time::Duration,
    threshold: f64,
    agent: ureq::Agent,
}

impl HttpVerifier {
    pub fn new(
        url: impl Into<String>,
        auth: Option<String>,
        timeout: std::time::Duration,
        threshold: f64,
    ) -> HttpVerifier {
        HttpVerifier {
            url: url.into(),
            auth,
            timeout,
            threshold,
            agent: outbound::agent(timeout, &ExtraCa::default()),
        }
    }

    /// Trusts the certificates of `extra` besides the webpki roots (a private service's CA).
    pub fn trusting(mut self, extra: &ExtraCa) -> HttpVerifier {
        self.agent = outbound::agent(self.timeout, extra);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// `http:<host[:port]>`, the name recorded with verdicts.
    pub fn name(&self) -> String {
        format!("http:{}", host_of(&self.url))
    }
}

impl std::fmt::Debug for HttpVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpVerifier")
            .field("url", &self.url)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// The host (and port) of a URL: between `scheme://` (and any `user@`) and the path.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

#[derive(serde::Deserialize)]
struct ServiceAnswer {
    score: f64,
    #[serde(rename = "match")]
    matched: Option<bool>,
}

impl FaceVerifier for HttpVerifier {
    fn describe(&self) -> String {
        format!(
            "{}: the face verification service on {}; a photo matches when its score is at \
             least {:.3}.",
            self.name(),
            host_of(&self.url),
            self.threshold
        )
    }

    fn compare(&self, personal_id: &str, photo: &[u8]) -> Result<Verdict, String> {
        let body = serde_json::json!({
            "personal_id": personal_id,
            "photo_base64": base64::engine::general_purpose::STANDARD.encode(photo),
        });
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        let mut resp = match req.send(body.to_string()) {
            Ok(resp) if resp.status().is_success() => resp,
            Ok(resp) => return Err(format!("face verifier answered {}", resp.status().as_u16())),
            Err(e) => {
                return Err(format!(
                    "face verifier unreachable: {}",
                    outbound::describe(&e)
                ))
            }
        };
        let bad = || "face verifier answer is not {\"score\": 0.0..1.0}".to_owned();
        let text = resp.body_mut().read_to_string().map_err(|_| bad())?;
        let answer: ServiceAnswer = serde_json::from_str(&text).map_err(|_| bad())?;
        if !(0.0..=1.0).contains(&answer.score) {
            return Err(bad());
        }
        let reached = answer.score >= self.threshold;
        let matched = reached && answer.matched != Some(false);
        let mut note = format!(
            "score {:.3} {} threshold {:.3}",
            answer.score,
            if reached { ">=" } else { "<" },
            self.threshold
        );
        if let Some(m) = answer.matched {
            note.push_str(if m {
                "; the service says match"
            } else {
                "; the service says no match"
            });
        }
        Ok(Verdict {
            verifier: self.name(),
            score: answer.score,
            matched,
            note,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sms::test_server::{dead_url, serve, serve_tls, TestPki};
    use std::time::Duration;

    const ID: &str = "001090012345";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_dev_verifier_matches_only_the_dev_portrait_and_says_what_it_does() {
        let v = DevHashVerifier;
        assert_eq!(dev_portrait(ID), b"eid-dev-portrait:001090012345".to_vec());
        let yes = v.compare(ID, &dev_portrait(ID)).unwrap();
        assert_eq!(
            (yes.verifier.as_str(), yes.score, yes.matched),
            ("dev-hash", 1.0, true)
        );
        let no = v.compare(ID, &dev_portrait("001090099999")).unwrap();
        assert_eq!((no.score, no.matched), (0.0, false));
        assert!(!no.note.contains(ID));
        let d = v.describe();
        assert!(
            d.contains("development") && d.contains("hash") && d.contains("no faces"),
            "{d}"
        );
    }

    #[test]
    fn the_http_verifier_sends_the_photo_and_applies_the_threshold() {
        let (url, requests) = serve(vec![
            (200, r#"{"score":0.93}"#),
            (200, r#"{"score":0.5,"match":true}"#),
            (200, r#"{"score":0.95,"match":false}"#),
        ]);
        let v = HttpVerifier::new(
            &url,
            Some("Key abc".to_owned()),
            Duration::from_secs(5),
            0.8,
        );
        let host = url.trim_start_matches("http://").trim_end_matches("/send");

        let verdict = v.compare(ID, b"\x89PNG photo").unwrap();

        assert_eq!(verdict.verifier, format!("http:{host}"));
        assert_eq!((verdict.score, verdict.matched), (0.93, true));
        assert_eq!(verdict.note, "score 0.930 >= threshold 0.800");
        let r = requests.recv().unwrap();
        assert_eq!(r.request_line, "POST /send HTTP/1.1");
        assert_eq!(r.header("authorization"), Some("Key abc"));
        assert_eq!(
            r.json(),
            serde_json::json!({"personal_id": ID, "photo_base64": "iVBORyBwaG90bw=="})
        );
        // Below the threshold: no match, whatever the service says.
        assert!(!v.compare(ID, b"p").unwrap().matched);
        // The service's own "no match" wins over the score.
        let v3 = v.compare(ID, b"p").unwrap();
        assert!(!v3.matched);
        assert!(
            v3.note.ends_with("the service says no match"),
            "{}",
            v3.note
        );
        assert!(v.describe().contains(host));
    }

    #[test]
    fn http_verifier_errors_name_the_status_without_personal_data() {
        let (url, _requests) = serve(vec![
            (500, "{}"),
            (403, "{}"),
            (200, r#"{"similarity":0.9}"#),
            (200, r#"{"score":7}"#),
        ]);
        let v = HttpVerifier::new(&url, None, Duration::from_secs(5), 0.8);
        assert_eq!(
            v.compare(ID, b"p").unwrap_err(),
            "face verifier answered 500"
        );
        assert_eq!(
            v.compare(ID, b"p").unwrap_err(),
            "face verifier answered 403"
        );
        for _ in 0..2 {
            let e = v.compare(ID, b"p").unwrap_err();
            assert!(e.contains("not {\"score\""), "{e}");
        }
        let e = HttpVerifier::new(dead_url(), None, Duration::from_secs(5), 0.8)
            .compare(ID, b"p")
            .unwrap_err();
        assert!(e.starts_with("face verifier unreachable"), "{e}");
        assert!(!e.contains(ID));
    }

    #[test]
    fn the_http_verifier_answers_over_https_and_refuses_an_untrusted_certificate() {
        let pki = TestPki::new();
        let (url, requests) = serve_tls(
            vec![
                (200, r#"{"score":0.91}"#),
                (200, r#"{"score":0.42}"#),
                (200, "{}"),
            ],
            &pki,
        );
        let ca_file = pki.ca_file();
        let ca = ExtraCa::from_pem_file(&ca_file).unwrap();

        let v = HttpVerifier::new(&url, None, Duration::from_secs(5), 0.8).trusting(&ca);
        let verdict = v.compare(ID, b"\x89PNG photo").unwrap();
        assert_eq!((verdict.score, verdict.matched), (0.91, true));
        assert_eq!(
            requests.recv().unwrap().json(),
            serde_json::json!({"personal_id": ID, "photo_base64": "iVBORyBwaG90bw=="})
        );

        // Through the configuration: the service URL and the CA file.
        let env: std::collections::HashMap<String, String> = [
            ("EID_FACE_VERIFIER_URL", url.as_str()),
            ("EID_HTTP_CA_FILE", ca_file.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config =
            crate::Config::layered(None, &env, &crate::config::Overrides::default()).unwrap();
        let verdict = config.face_verifier().compare(ID, b"p").unwrap();
        assert_eq!((verdict.score, verdict.matched), (0.42, false));
        std::fs::remove_file(ca_file).unwrap();

        // Without the CA, the server's certificate is not trusted: a clear error, no answer.
        let e = HttpVerifier::new(&url, None, Duration::from_secs(5), 0.8)
            .compare(ID, b"p")
            .unwrap_err();
        assert!(e.starts_with("face verifier unreachable: TLS: "), "{e}");
        assert!(e.contains("certificate"), "{e}");
        assert!(!e.contains(ID), "{e}");
    }

    #[test]
    fn the_name_is_the_host_and_debug_hides_the_auth() {
        assert_eq!(
            host_of("http://u:p@faces.example:8443/v1/compare?x=1"),
            "faces.example:8443"
        );
        assert_eq!(host_of("http://faces.example"), "faces.example");
        let v = HttpVerifier::new(
            "http://faces.example/v1",
            Some("Bearer s3cret".to_owned()),
            Duration::from_secs(1),
            0.8,
        );
        assert_eq!(v.name(), "http:faces.example");
        assert!(!format!("{v:?}").contains("s3cret"));
    }
}
