//! Outbound HTTP for the adapters that call other services (the SMS gateway, the face
//! verifier): one configuration of the `ureq` client, with TLS through rustls, so that `http://`
//! and `https://` services both work.
//!
//! Trust: Mozilla's root certificates (webpki) and, when `http_ca_file` is configured, the
//! certificates of that PEM file as well (the CA of a private gateway). Redirects are not
//! followed, and a 4xx or 5xx answer is a response rather than an error, so that the callers
//! read the status themselves.
//!
//! Errors are described by kind only ([`describe`]): never the URL (it may carry credentials),
//! the request or the answer (they carry phones, message bodies and photos).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// CA certificates trusted besides the webpki roots. The default trusts none.
#[derive(Clone, Default)]
pub struct ExtraCa(Arc<Vec<Certificate<'static>>>);

impl ExtraCa {
    /// Reads the certificates of a PEM file. Errors when the file cannot be read, is not PEM,
    /// holds no certificate, or holds one that cannot serve as a trust anchor. Private keys in
    /// the file are ignored.
    pub fn from_pem_file(path: &Path) -> Result<ExtraCa, String> {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(e) => return Err(format!("{shown} is not a PEM file: {e}")),
            }
        }
        if certs.is_empty() {
            return Err(format!("{shown} holds no PEM certificate"));
        }
        // ureq skips a root it cannot parse without a word; refuse it here instead.
        let mut store = rustls::RootCertStore::empty();
        for (n, cert) in certs.iter().enumerate() {
            store
                .add(rustls::pki_types::CertificateDer::from(cert.der()))
                .map_err(|e| format!("certificate {} of {shown}: {e}", n + 1))?;
        }
        Ok(ExtraCa(Arc::new(certs)))
    }

    /// How many certificates are trusted besides the webpki roots.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for ExtraCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraCa({} certificates)", self.0.len())
    }
}

/// An agent for a service: the whole call (connect, TLS, send, answer) within `timeout`, no
/// redirects, every status a response, TLS verified against the webpki roots and `extra`.
pub fn agent(timeout: Duration, extra: &ExtraCa) -> ureq::Agent {
    let roots = if extra.is_empty() {
        RootCerts::WebPki
    } else {
        // The same Mozilla roots, as certificates, so that the extra ones can join them.
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()))
            .chain(extra.0.iter().cloned())
            .into()
    };
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        // As before: no proxy taken from the environment.
        .proxy(None)
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .new_agent()
}

/// What went wrong with a call, by kind, for errors and logs: a TLS failure names the TLS
/// error (e.g. an unknown issuer); nothing names the URL, the request or the answer.
pub fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Rustls(tls) => format!("TLS: {tls}"),
        ureq::Error::Tls(what) => format!("TLS: {what}"),
        ureq::Error::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => format!("TLS: {tls}"),
            None => io.kind().to_string(),
        },
        ureq::Error::Timeout(which) => format!("timed out ({which})"),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::BadUri(_) => "not a valid URL".to_owned(),
        ureq::Error::TlsRequired => "TLS required".to_owned(),
        ureq::Error::Protocol(_) | ureq::Error::Http(_) => "HTTP protocol error".to_owned(),
        ureq::Error::BodyExceedsLimit(limit) => format!("answer longer than {limit} bytes"),
        _ => "HTTP client error".to_owned(),
    }
}
