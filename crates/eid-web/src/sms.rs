//! SMS through an outbox: requests queue messages in a table (the [`OutboxStore`]), and a
//! background task (the dispatcher) hands them to a [`SmsSender`]. Nothing waits on the gateway
//! inside a request; a request that queued a message may nudge the dispatcher with
//! [`Dispatcher::wake`].
//!
//! Two senders exist: [`HttpGateway`], which POSTs a JSON body made from a configured template to
//! an SMS gateway, and [`DevSink`], which sends nothing (in development the console shows the
//! outbox to staff, so the codes can be read there).
//!
//! Delivery is at least once: a transport error after the gateway received the request is
//! retried, so a gateway may now and then see a message twice.
//!
//! The phone number and the text of a message are personal data (the text usually holds a
//! one-time code): they never appear in errors or logs written here, which name status codes
//! and error kinds only. Implementations of [`OutboxStore`] must keep to the same rule in their
//! error strings, which the dispatcher logs.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::outbound::{self, ExtraCa};

/// The default template of the HTTP gateway's JSON body.
pub const DEFAULT_TEMPLATE: &str = r#"{"to":"{to}","text":"{body}"}"#;

/// Attempts after which a message that still fails with a retryable error is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// How many messages the dispatcher takes from the outbox in one go.
pub const DISPATCH_BATCH: u32 = 100;

/// How long a call to the gateway may take.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A message waiting in the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    /// The recipient, E.164 (`+84…`).
    pub to: String,
    pub body: String,
    /// Send attempts made so far (0 for a new message).
    pub attempts: u32,
}

/// What became of one send attempt; the store records it (the store's own type: sent with the
/// provider's id, due again at `next_attempt_at`, or failed).
pub use eid_core::accounts::SmsResult as SendOutcome;

/// The outbox table, as the dispatcher sees it.
pub trait OutboxStore: Send + Sync + 'static {
    /// Messages still to send whose next attempt is at or before `now`, oldest first, at most
    /// `limit`.
    fn due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OutboxMessage>, String>;
    /// Records the outcome of an attempt on message `id` made at `now`: adds one to its attempts
    /// and stores the outcome (sent with the provider id, due again at `next_attempt_at`, or
    /// failed), with the error when there is one.
    fn record(&self, id: i64, outcome: &SendOutcome, now: OffsetDateTime) -> Result<(), String>;
}

/// Why a message could not be sent. The text names status codes or error kinds, never the
/// recipient or the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (rate limit, server error, network trouble).
    Retryable(String),
    /// Trying again will not help (the gateway refused the request).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Retryable(e) => write!(f, "retryable: {e}"),
            SendError::Permanent(e) => write!(f, "permanent: {e}"),
        }
    }
}

/// Something that delivers SMS. Blocking: the dispatcher calls it on a blocking thread.
pub trait SmsSender: Send + Sync + 'static {
    /// `"http-gateway"` or `"dev-sink"`.
    fn name(&self) -> &'static str;
    /// Sends `body` to `to` (E.164) and returns the provider's message id if it gave one.
    fn send(&self, to: &str, body: &str) -> Result<Option<String>, SendError>;
}

/// Sends SMS by POSTing a JSON body to an HTTP gateway.
///
/// The body is the template with `{to}` and `{body}` replaced by the JSON-escaped recipient and
/// text (the template supplies the quotes around them). `auth`, when set, is sent as the
/// `Authorization` header as is (e.g. `Bearer …`). Redirects are not followed.
///
/// Answers: 2xx is sent, with the provider id from the response's `id` or `message_id` field if
/// present; 408, 429, 5xx, 3xx and network errors are retryable; any other 4xx is permanent.
///
/// The URL may be `http://` or `https://`; TLS is verified against the webpki roots and the
/// certificates given to [`HttpGateway::trusting`] (see [`crate::outbound`]).
pub struct HttpGateway {
    url: String,
    auth: Option<String>,
    template: String,
    timeout: std::time::Duration,
    agent: ureq::Agent,
}

impl HttpGateway {
    pub fn new(
        url: impl Into<String>,
        auth: Option<String>,
        template: impl Into<String>,
        timeout: std::time::Duration,
    ) -> HttpGateway {
        HttpGateway {
            url: url.into(),
            auth,
            template: template.into(),
            timeout,
            agent: outbound::agent(timeout, &ExtraCa::default()),
        }
    }

    /// Trusts the certificates of `extra` besides the webpki roots (a private gateway's CA).
    pub fn trusting(mut self, extra: &ExtraCa) -> HttpGateway {
        self.agent = outbound::agent(self.timeout, extra);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }
}

impl std::fmt::Debug for HttpGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGateway")
            .field("url", &self.url)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("template", &self.template)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmsSender for HttpGateway {
    fn name(&self) -> &'static str {
        "http-gateway"
    }

    fn send(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let json = render_template(&self.template, to, body);
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(auth) = &self.auth {
            req = req.header("Authorization", auth);
        }
        match req.send(json) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) {
                    Ok(resp
                        .body_mut()
                        .read_to_string()
                        .ok()
                        .as_deref()
                        .and_then(provider_id))
                } else if status < 200 || (300..400).contains(&status) {
                    Err(SendError::Retryable(format!(
                        "gateway answered {status} (redirects are not followed)"
                    )))
                } else if status == 408 || status == 429 || status >= 500 {
                    Err(SendError::Retryable(format!("gateway answered {status}")))
                } else {
                    Err(SendError::Permanent(format!("gateway answered {status}")))
                }
            }
            Err(e) => Err(SendError::Retryable(format!(
                "gateway unreachable: {}",
                outbound::describe(&e)
            ))),
        }
    }
}

/// The provider's message id from a gateway's JSON answer: `id`, else `message_id`; a string or
/// a number.
fn provider_id(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    ["id", "message_id"].iter().find_map(|k| match v.get(k)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The JSON string content of `s` (escaped, without the surrounding quotes).
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}

/// Fills `template`: every `{to}` and `{body}` becomes the JSON-escaped recipient and text.
/// One pass, so a `{to}` inside the text is left as it is.
pub fn render_template(template: &str, to: &str, body: &str) -> String {
    let (to, body) = (json_escaped(to), json_escaped(body));
    let mut out = String::with_capacity(template.len() + to.len() + body.len());
    let mut rest = template;
    loop {
        let next = [("{to}", &to), ("{body}", &body)]
            .into_iter()
            .filter_map(|(p, v)| rest.find(p).map(|at| (at, p, v)))
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, p, v)) => {
                out.push_str(&rest[..at]);
                out.push_str(v);
                rest = &rest[at + p.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Checks that `template` renders to a JSON object for any recipient and text. Used when the
/// configuration is loaded.
pub fn check_template(template: &str) -> Result<(), String> {
    let rendered = render_template(template, "+84900000000", "a \"text\"\nwith {to}");
    match serde_json::from_str::<serde_json::Value>(&rendered) {
        Ok(serde_json::Value::Object(_)) => {}
        _ => return Err("it does not render to a JSON object".to_owned()),
    }
    if !template.contains("{to}") || !template.contains("{body}") {
        return Err("it must contain both {to} and {body}".to_owned());
    }
    Ok(())
}

/// Sends nothing and reports success. For development: the console shows the outbox to staff,
/// so the codes can be read there.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevSink;

impl SmsSender for DevSink {
    fn name(&self) -> &'static str {
        "dev-sink"
    }

    fn send(&self, _to: &str, _body: &str) -> Result<Option<String>, SendError> {
        Ok(Some("dev-sink".to_owned()))
    }
}

/// The wait before attempt number `attempts` (counting from 1) is retried: 30 s, 60 s, 120 s …
/// doubling, at most an hour.
pub fn backoff(attempts: u32) -> time::Duration {
    let exponent = attempts.saturating_sub(1).min(31);
    let seconds = 30u64.saturating_mul(1u64 << exponent).min(3600);
    time::Duration::seconds(seconds as i64)
}

/// How many messages one pass of the dispatcher sent, put back for a retry and gave up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchCounts {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

impl DispatchCounts {
    pub fn total(&self) -> u32 {
        self.sent + self.retried + self.failed
    }
}

/// Sends the messages due at `now` (at most `limit`) and records each outcome. A retryable
/// error is retried at `now + backoff(attempts + 1)` until the message has had [`MAX_ATTEMPTS`]
/// attempts, then it fails. Stops at the first store error (a message that was sent but could
/// not be recorded will be sent again).
pub fn dispatch_once(
    store: &dyn OutboxStore,
    sender: &dyn SmsSender,
    now: OffsetDateTime,
    limit: u32,
) -> Result<DispatchCounts, String> {
    let mut counts = DispatchCounts::default();
    for m in store.due(now, limit)? {
        let attempt = m.attempts.saturating_add(1);
        let outcome = match sender.send(&m.to, &m.body) {
            Ok(provider_id) => {
                counts.sent += 1;
                SendOutcome::Sent { provider_id }
            }
            Err(SendError::Retryable(error)) if attempt < MAX_ATTEMPTS => {
                counts.retried += 1;
                SendOutcome::Retry {
                    error,
                    next_attempt_at: now + backoff(attempt),
                }
            }
            Err(SendError::Retryable(error)) => {
                counts.failed += 1;
                SendOutcome::Failed {
                    error: format!("gave up after {attempt} attempts: {error}"),
                }
            }
            Err(SendError::Permanent(error)) => {
                counts.failed += 1;
                SendOutcome::Failed { error }
            }
        };
        store.record(m.id, &outcome, now)?;
    }
    Ok(counts)
}

/// A handle on the dispatcher: clone it into the application state and call [`wake`] after
/// queueing a message so that it goes out without waiting for the next round.
///
/// [`wake`]: Dispatcher::wake
#[derive(Debug, Clone, Default)]
pub struct Dispatcher {
    notify: Arc<Notify>,
}

impl Dispatcher {
    /// A handle not yet running; [`Dispatcher::spawn`] starts the task. Waking a handle whose
    /// task is not running does nothing harmful.
    pub fn new() -> Dispatcher {
        Dispatcher::default()
    }

    /// Asks the dispatcher to run a round now (or right after the current one).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Starts the dispatcher task on the current tokio runtime: it runs [`dispatch_once`] on a
    /// blocking thread, logs the counts, then sleeps `every` or until woken, and stops when
    /// `shutdown` becomes true or its sender is dropped. A full batch is followed at once by
    /// another round.
    pub fn spawn(
        &self,
        store: Arc<dyn OutboxStore>,
        sender: Arc<dyn SmsSender>,
        clock: Arc<dyn eid_core::clock::Clock>,
        every: std::time::Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let notify = self.notify.clone();
        tokio::spawn(async move {
            let name = sender.name();
            tracing::info!(sender = name, "sms dispatcher started");
            loop {
                if *shutdown.borrow_and_update() {
                    break;
                }
                let (st, se) = (store.clone(), sender.clone());
                let now = clock.now();
                let round = tokio::task::spawn_blocking(move || {
                    dispatch_once(&*st, &*se, now, DISPATCH_BATCH)
                })
                .await;
                let mut full = false;
                match round {
                    Ok(Ok(c)) => {
                        if c.total() > 0 {
                            tracing::info!(
                                sender = name,
                                sent = c.sent,
                                retried = c.retried,
                                failed = c.failed,
                                "sms outbox dispatched"
                            );
                        }
                        full = c.total() >= DISPATCH_BATCH;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(sender = name, %error, "sms outbox: store error")
                    }
                    Err(error) => {
                        tracing::error!(sender = name, %error, "sms outbox: dispatch task failed")
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = notify.notified() => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
            }
            tracing::info!(sender = name, "sms dispatcher stopped");
        })
    }
}

/// Starts a dispatcher (see [`Dispatcher::spawn`]) and returns its handle with the task.
pub fn spawn_dispatcher(
    store: Arc<dyn OutboxStore>,
    sender: Arc<dyn SmsSender>,
    clock: Arc<dyn eid_core::clock::Clock>,
    every: std::time::Duration,
    shutdown: watch::Receiver<bool>,
) -> (Dispatcher, JoinHandle<()>) {
    let dispatcher = Dispatcher::new();
    let task = dispatcher.spawn(store, sender, clock, every, shutdown);
    (dispatcher, task)
}

/// A tiny HTTP(S) server for tests: answers canned responses in order and records the requests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod test_server {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

    /// One request as the server read it.
    #[derive(Debug, Clone)]
    pub struct Recorded {
        pub request_line: String,
        /// Header names lower-cased.
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Recorded {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k == &name.to_ascii_lowercase())
                .map(|(_, v)| v.as_str())
        }

        pub fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    /// A throwaway certificate authority and a server certificate it issued for 127.0.0.1.
    pub struct TestPki {
        /// The CA's certificate, PEM.
        pub ca_pem: String,
        chain: Vec<CertificateDer<'static>>,
        key: PrivatePkcs8KeyDer<'static>,
    }

    impl TestPki {
        pub fn new() -> TestPki {
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.distinguished_name
                .push(DnType::CommonName, "eid test CA");
            ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
            let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
            leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let leaf_key = KeyPair::generate().unwrap();
            let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();
            TestPki {
                ca_pem: ca.pem(),
                chain: vec![leaf.der().clone()],
                key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
            }
        }

        /// Writes the CA's certificate to a fresh file under the temporary directory.
        pub fn ca_file(&self) -> PathBuf {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "eid-test-ca-{}-{}.pem",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, &self.ca_pem).unwrap();
            path
        }

        fn server_config(&self) -> Arc<rustls::ServerConfig> {
            let config = rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), self.key.clone_key().into())
                .unwrap();
            Arc::new(config)
        }
    }

    /// Serves `responses` (status, JSON body), one per connection, and returns the base URL and
    /// a receiver of the recorded requests.
    pub fn serve(responses: Vec<(u16, &'static str)>) -> (String, mpsc::Receiver<Recorded>) {
        serve_on(responses, None)
    }

    /// The same over TLS with the server certificate of `pki`, on `https://127.0.0.1:…`. A
    /// connection whose handshake fails (the client does not trust the certificate) uses up its
    /// response and records nothing.
    pub fn serve_tls(
        responses: Vec<(u16, &'static str)>,
        pki: &TestPki,
    ) -> (String, mpsc::Receiver<Recorded>) {
        serve_on(responses, Some(pki.server_config()))
    }

    fn serve_on(
        responses: Vec<(u16, &'static str)>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> (String, mpsc::Receiver<Recorded>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}/send", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for (status, answer_body) in responses {
                let (tcp, _) = listener.accept().unwrap();
                match &tls {
                    None => exchange(tcp, status, answer_body, &tx).unwrap(),
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                        let mut stream = rustls::StreamOwned::new(conn, tcp);
                        if exchange(&mut stream, status, answer_body, &tx).is_ok() {
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                    }
                }
            }
        });
        (url, rx)
    }

    /// Reads one request from `s`, records it and answers it.
    fn exchange(
        mut s: impl Read + Write,
        status: u16,
        answer_body: &str,
        tx: &mpsc::Sender<Recorded>,
    ) -> std::io::Result<()> {
        let closed = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(closed());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Err(closed());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8(buf[head_end..head_end + len].to_vec()).unwrap();
        tx.send(Recorded {
            request_line,
            headers,
            body,
        })
        .unwrap();
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer_body}",
            answer_body.len()
        );
        s.write_all(answer.as_bytes())?;
        s.flush()
    }

    /// A URL on which nothing listens.
    pub fn dead_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/send")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::test_server::{dead_url, serve, serve_tls, TestPki};
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;
    use time::macros::datetime;

    const PHONE: &str = "+84901234567";
    const TEXT: &str = "Ma xac thuc eID: 482913";

    #[derive(Debug, Clone, PartialEq)]
    enum Status {
        Pending { next_at: OffsetDateTime },
        Sent(Option<String>),
        Failed(String),
    }

    /// An outbox in memory: (message, status, last error).
    #[derive(Default)]
    struct MemOutbox(Mutex<Vec<(OutboxMessage, Status, Option<String>)>>);

    impl MemOutbox {
        fn with(messages: &[(i64, u32)]) -> MemOutbox {
            let now = datetime!(2000-01-01 0:00 UTC);
            MemOutbox(Mutex::new(
                messages
                    .iter()
                    .map(|&(id, attempts)| {
                        let m = OutboxMessage {
                            id,
                            to: PHONE.to_owned(),
                            body: TEXT.to_owned(),
                            attempts,
                        };
                        (m, Status::Pending { next_at: now }, None)
                    })
                    .collect(),
            ))
        }

        fn get(&self, id: i64) -> (u32, Status, Option<String>) {
            let v = self.0.lock().unwrap();
            let (m, s, e) = v.iter().find(|(m, _, _)| m.id == id).unwrap();
            (m.attempts, s.clone(), e.clone())
        }
    }

    impl OutboxStore for MemOutbox {
        fn due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OutboxMessage>, String> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, s, _)| matches!(s, Status::Pending { next_at } if *next_at <= now))
                .take(limit as usize)
                .map(|(m, _, _)| m.clone())
                .collect())
        }

        fn record(
            &self,
            id: i64,
            outcome: &SendOutcome,
            _now: OffsetDateTime,
        ) -> Result<(), String> {
            let mut v = self.0.lock().unwrap();
            let (m, s, e) = v
                .iter_mut()
                .find(|(m, _, _)| m.id == id)
                .ok_or("no such message")?;
            m.attempts += 1;
            match outcome {
                SendOutcome::Sent { provider_id } => *s = Status::Sent(provider_id.clone()),
                SendOutcome::Retry {
                    error,
                    next_attempt_at,
                } => {
                    *s = Status::Pending {
                        next_at: *next_attempt_at,
                    };
                    *e = Some(error.clone());
                }
                SendOutcome::Failed { error } => {
                    *s = Status::Failed(error.clone());
                    *e = Some(error.clone());
                }
            }
            Ok(())
        }
    }

    fn gateway(url: &str, auth: Option<&str>) -> HttpGateway {
        HttpGateway::new(
            url,
            auth.map(str::to_owned),
            DEFAULT_TEMPLATE,
            Duration::from_secs(5),
        )
    }

    const NOW: OffsetDateTime = datetime!(2025-03-10 8:00 UTC);

    #[test]
    fn the_gateway_posts_the_template_with_auth_and_reads_the_provider_id() {
        let (url, requests) = serve(vec![(200, r#"{"id":"x1"}"#)]);
        let store = MemOutbox::with(&[(1, 0)]);

        let counts = dispatch_once(&store, &gateway(&url, Some("Bearer k3y")), NOW, 10).unwrap();

        assert_eq!(
            counts,
            DispatchCounts {
                sent: 1,
                retried: 0,
                failed: 0
            }
        );
        assert_eq!(store.get(1), (1, Status::Sent(Some("x1".to_owned())), None));
        let r = requests.recv().unwrap();
        assert_eq!(r.request_line, "POST /send HTTP/1.1");
        assert_eq!(r.header("authorization"), Some("Bearer k3y"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json(), serde_json::json!({"to": PHONE, "text": TEXT}));
    }

    #[test]
    fn message_id_is_read_too_and_no_auth_header_is_sent_without_auth() {
        let (url, requests) = serve(vec![(202, r#"{"message_id":42}"#), (200, "not json")]);
        let g = gateway(&url, None);
        assert_eq!(g.send(PHONE, TEXT), Ok(Some("42".to_owned())));
        assert_eq!(requests.recv().unwrap().header("authorization"), None);
        assert_eq!(g.send(PHONE, TEXT), Ok(None));
    }

    #[test]
    fn a_503_is_retried_after_the_backoff_without_personal_data_in_the_error() {
        let (url, _requests) = serve(vec![(503, "{}")]);
        let store = MemOutbox::with(&[(1, 2)]);

        let counts = dispatch_once(&store, &gateway(&url, None), NOW, 10).unwrap();

        assert_eq!((counts.sent, counts.retried, counts.failed), (0, 1, 0));
        let (attempts, status, error) = store.get(1);
        assert_eq!(attempts, 3);
        // The third attempt failed: the fourth is due 120 s later.
        assert_eq!(
            status,
            Status::Pending {
                next_at: NOW + time::Duration::seconds(120)
            }
        );
        let error = error.unwrap();
        assert_eq!(error, "gateway answered 503");
        assert!(!error.contains(PHONE) && !error.contains("482913"));
        // Not due before then.
        assert!(store.due(NOW, 10).unwrap().is_empty());
        assert_eq!(store.due(NOW + backoff(3), 10).unwrap().len(), 1);
    }

    #[test]
    fn a_429_is_retried_and_a_400_fails_at_once() {
        let (url, _requests) = serve(vec![(429, "{}"), (400, r#"{"error":"bad number"}"#)]);
        let g = gateway(&url, None);
        assert_eq!(
            g.send(PHONE, TEXT),
            Err(SendError::Retryable("gateway answered 429".to_owned()))
        );
        let store = MemOutbox::with(&[(7, 0)]);
        let counts = dispatch_once(&store, &g, NOW, 10).unwrap();
        assert_eq!((counts.sent, counts.retried, counts.failed), (0, 0, 1));
        assert_eq!(
            store.get(7),
            (
                1,
                Status::Failed("gateway answered 400".to_owned()),
                Some("gateway answered 400".to_owned())
            )
        );
    }

    #[test]
    fn after_max_attempts_a_retryable_error_fails() {
        let (url, _requests) = serve(vec![(503, "{}"), (500, "{}")]);
        let store = MemOutbox::with(&[(1, MAX_ATTEMPTS - 2), (2, MAX_ATTEMPTS - 1)]);

        let counts = dispatch_once(&store, &gateway(&url, None), NOW, 10).unwrap();

        assert_eq!((counts.sent, counts.retried, counts.failed), (0, 1, 1));
        assert!(matches!(store.get(1).1, Status::Pending { .. }));
        assert_eq!(
            store.get(2),
            (
                MAX_ATTEMPTS,
                Status::Failed("gave up after 8 attempts: gateway answered 500".to_owned()),
                Some("gave up after 8 attempts: gateway answered 500".to_owned())
            )
        );
    }

    #[test]
    fn an_unreachable_gateway_is_retryable() {
        let g = gateway(&dead_url(), None);
        match g.send(PHONE, TEXT) {
            Err(SendError::Retryable(e)) => {
                assert!(e.starts_with("gateway unreachable"), "{e}");
                assert!(!e.contains(PHONE) && !e.contains("482913"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_gateway_sends_over_https_to_a_server_under_the_configured_ca() {
        let pki = TestPki::new();
        let (url, requests) = serve_tls(
            vec![(200, r#"{"id":"tls-1"}"#), (200, r#"{"id":"tls-2"}"#)],
            &pki,
        );
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let ca_file = pki.ca_file();
        let ca = ExtraCa::from_pem_file(&ca_file).unwrap();
        assert_eq!(ca.len(), 1);

        let g = gateway(&url, Some("Bearer k3y")).trusting(&ca);
        assert_eq!(g.send(PHONE, TEXT), Ok(Some("tls-1".to_owned())));
        let r = requests.recv().unwrap();
        assert_eq!(r.request_line, "POST /send HTTP/1.1");
        assert_eq!(r.header("authorization"), Some("Bearer k3y"));
        assert_eq!(r.json(), serde_json::json!({"to": PHONE, "text": TEXT}));

        // The same through the configuration: the gateway URL and the CA file.
        let env: std::collections::HashMap<String, String> = [
            ("EID_SMS_GATEWAY_URL", url.as_str()),
            ("EID_HTTP_CA_FILE", ca_file.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config =
            crate::Config::layered(None, &env, &crate::config::Overrides::default()).unwrap();
        let sender = config.sms_sender();
        assert_eq!(sender.name(), "http-gateway");
        assert_eq!(sender.send(PHONE, TEXT), Ok(Some("tls-2".to_owned())));
        assert_eq!(
            requests.recv().unwrap().json(),
            serde_json::json!({"to": PHONE, "text": TEXT})
        );
        std::fs::remove_file(ca_file).unwrap();
    }

    #[test]
    fn a_gateway_whose_certificate_is_not_trusted_is_refused_with_a_clear_error() {
        let pki = TestPki::new();
        let other_file = TestPki::new().ca_file();
        let other = ExtraCa::from_pem_file(&other_file).unwrap();
        std::fs::remove_file(other_file).unwrap();
        let (url, requests) = serve_tls(vec![(200, "{}"), (200, "{}")], &pki);

        // The webpki roots alone, then another CA: neither issued the server's certificate.
        for g in [gateway(&url, None), gateway(&url, None).trusting(&other)] {
            match g.send(PHONE, TEXT) {
                Err(SendError::Retryable(e)) => {
                    assert!(e.starts_with("gateway unreachable: TLS: "), "{e}");
                    assert!(e.contains("certificate"), "{e}");
                    assert!(!e.contains(PHONE) && !e.contains("482913"), "{e}");
                    assert!(!e.contains(&url), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
        // Nothing reached the server.
        assert!(requests.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[test]
    fn the_dev_sink_marks_messages_sent() {
        let store = MemOutbox::with(&[(1, 0), (2, 3)]);
        let counts = dispatch_once(&store, &DevSink, NOW, 10).unwrap();
        assert_eq!(counts.sent, 2);
        assert_eq!(
            store.get(2),
            (4, Status::Sent(Some("dev-sink".to_owned())), None)
        );
        assert_eq!(DevSink.name(), "dev-sink");
        assert!(store.due(NOW, 10).unwrap().is_empty());
    }

    #[test]
    fn dispatch_takes_at_most_the_limit() {
        let store = MemOutbox::with(&[(1, 0), (2, 0), (3, 0)]);
        assert_eq!(dispatch_once(&store, &DevSink, NOW, 2).unwrap().sent, 2);
        assert_eq!(store.due(NOW, 10).unwrap().len(), 1);
    }

    #[test]
    fn the_template_escapes_quotes_newlines_and_placeholders_in_values() {
        let body = "say \"hi\"\nline 2\\ {to} {body} \u{1} Mã";
        let rendered = render_template(DEFAULT_TEMPLATE, "+84\"1", body);
        let v: serde_json::Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(v, serde_json::json!({"to": "+84\"1", "text": body}));

        let custom = r#"{"msisdn":"{to}","sms":{"text":"{body}","copy":"{body}"},"from":"EID"}"#;
        let v: serde_json::Value =
            serde_json::from_str(&render_template(custom, PHONE, "a\"b")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"msisdn": PHONE, "sms": {"text": "a\"b", "copy": "a\"b"}, "from": "EID"})
        );

        assert_eq!(check_template(DEFAULT_TEMPLATE), Ok(()));
        assert_eq!(check_template(custom), Ok(()));
        assert!(check_template(r#"{"to":{to},"text":"{body}"}"#).is_err());
        assert!(check_template(r#"{"to":"{to}"}"#).is_err());
    }

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_an_hour() {
        let secs: Vec<i64> = (0..=10).map(|n| backoff(n).whole_seconds()).collect();
        assert_eq!(
            secs,
            [30, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
        );
        assert_eq!(backoff(u32::MAX).whole_seconds(), 3600);
    }

    #[test]
    fn debug_output_hides_the_auth() {
        let g = gateway("http://127.0.0.1:1/", Some("Bearer s3cret"));
        assert!(!format!("{g:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn the_dispatcher_runs_when_woken_and_stops_on_shutdown() {
        let store = Arc::new(MemOutbox::with(&[(1, 0)]));
        let (tx, rx) = watch::channel(false);
        let (dispatcher, task) = spawn_dispatcher(
            store.clone(),
            Arc::new(DevSink),
            Arc::new(eid_core::clock::SystemClock),
            Duration::from_secs(3600),
            rx,
        );
        // The first round runs at once.
        for _ in 0..200 {
            if matches!(store.get(1).1, Status::Sent(_)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(matches!(store.get(1).1, Status::Sent(_)));

        // A message queued later goes out when the dispatcher is woken, not after an hour.
        store.0.lock().unwrap().push((
            OutboxMessage {
                id: 2,
                to: PHONE.to_owned(),
                body: TEXT.to_owned(),
                attempts: 0,
            },
            Status::Pending {
                next_at: datetime!(2000-01-01 0:00 UTC),
            },
            None,
        ));
        dispatcher.wake();
        for _ in 0..200 {
            if matches!(store.get(2).1, Status::Sent(_)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(matches!(store.get(2).1, Status::Sent(_)));

        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
