//! Configuration in layers: a TOML file, then `EID_`-prefixed environment variables, then flags.
//!
//! Every layer is optional and each one overrides the one before it, key by key. The file is
//! strict (`deny_unknown_fields`): a misspelt key is an error that names it rather than a
//! setting silently ignored. The environment is passed in as a map so that tests never touch
//! the real process environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use time::macros::{date, format_description};
use time::{Date, OffsetDateTime};

use crate::outbound::ExtraCa;
use crate::sms::{DevSink, HttpGateway, SmsSender};
use crate::verifier::{DevHashVerifier, FaceVerifier, HttpVerifier};

/// The default database: a SQLite file under `data/`.
pub const DEFAULT_DB: &str = "sqlite://data/eid.db";
/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The settings of a running eid, after every layer was applied.
///
/// `Debug` leaves out the gateway and verifier credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub db: String,
    pub listen: SocketAddr,
    /// Slow clients: a connection that has not sent a whole request header this many seconds
    /// after it opened (or after its previous answer) is closed (`header_read_timeout_seconds`,
    /// `EID_HEADER_READ_TIMEOUT_SECONDS`; default 10).
    pub header_read_timeout_seconds: u64,
    /// A request not answered within this many seconds, its body read included, gets 408
    /// `request.timeout` (`request_timeout_seconds`, `EID_REQUEST_TIMEOUT_SECONDS`; default 30).
    pub request_timeout_seconds: u64,
    /// Open connections at most; beyond it new ones are closed at once (`max_connections`,
    /// `EID_MAX_CONNECTIONS`; default 4096).
    pub max_connections: u32,
    /// A tracing filter, e.g. `info` or `eid=debug,info`.
    pub log: String,
    /// How long a console session lives, in minutes.
    pub session_ttl_minutes: u64,
    /// Whether cookies carry `Secure` (set it when served over HTTPS).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per username and per client IP within the window.
    pub login_max_failures: u32,
    /// The sign-in rate-limit window, in minutes.
    pub login_window_minutes: u64,
    /// The SMS gateway (`http://…` or `https://…`); unset, messages go to the development sink, whose outbox
    /// the console shows to staff.
    pub sms_gateway_url: Option<String>,
    /// The `Authorization` header sent to the SMS gateway, as is (e.g. `Bearer …`).
    pub sms_gateway_auth: Option<String>,
    /// The JSON body sent to the SMS gateway; `{to}` and `{body}` become the JSON-escaped
    /// recipient and text.
    pub sms_template: String,
    /// The face verification service (`http://…` or `https://…`); unset, the development verifier that only
    /// compares photo hashes.
    pub face_verifier_url: Option<String>,
    /// The `Authorization` header sent to the face verification service, as is.
    pub face_verifier_auth: Option<String>,
    /// The score a photo needs to match, in thousandths (800 = 0.8).
    pub face_match_threshold_permille: u32,
    /// A PEM file of CA certificates the SMS gateway and the face verifier are trusted under
    /// besides the webpki roots (for a service whose certificate a private CA issued).
    pub http_ca_file: Option<String>,
    /// How long a level-2 activation code lives, in days.
    pub code_ttl_days: u32,
    /// How long a sign-up or sign-in one-time code lives, in minutes.
    pub otp_ttl_minutes: u32,
    /// How many times a code may be sent (the first send included).
    pub code_max_sends: u32,
    /// Wrong entries a code allows before it dies.
    pub code_max_attempts: u32,
    /// Citizens whose card was issued on or after this day may upgrade to level 2 themselves.
    pub level2_self_service_from: Date,
    /// Wrong passwords or passcodes in a row before an account is locked out for a while.
    pub account_max_failures: u32,
    /// How long such a lock-out lasts, in minutes.
    pub account_lockout_minutes: u64,
    /// Development mode: the server may run with the development SMS sink and face verifier,
    /// says so in a banner at start and shows a strip on every console page. Off unless set
    /// (`development = true`, `EID_DEVELOPMENT=1`, `eid serve --dev`; `eid demo` sets it).
    pub development: bool,
    /// Development only: the server's clock starts at this instant and runs on from there
    /// (`clock_at = "2025-03-15T09:00:00+07:00"`, `EID_CLOCK_AT`, `--clock-at`), so a demo or a
    /// browser test can run on a fixed date. Refused outside development mode.
    pub clock_at: Option<OffsetDateTime>,
    /// Behind TLS: every answer carries `Strict-Transport-Security: max-age=N;
    /// includeSubDomains` (`hsts_max_age_seconds = 31536000`, `EID_HSTS_MAX_AGE_SECONDS`). Unset,
    /// no such header (a server on plain HTTP must not send it).
    pub hsts_max_age_seconds: Option<u64>,
    /// When set, `/metrics` answers only a request with `Authorization: Bearer <token>`
    /// (`metrics_token`, `EID_METRICS_TOKEN`); unset, it is open (for a scraper on loopback).
    pub metrics_token: Option<String>,
    /// The `[limits]` table: per-source limits on the citizen routes, the code limits, and
    /// the trusted proxies (`EID_TRUSTED_PROXIES`, comma-separated) whose `X-Forwarded-For`
    /// names the source. See ARCHITECTURE.md, "Limits on secrets and codes".
    pub limits: crate::limits::Limits,
    /// The `[oidc]` table: the OpenID Connect provider's issuer and key file.
    pub oidc: crate::oidc::OidcConfig,
    /// The `[citizen]` table: the browser sessions of the citizen's pages (`/me`).
    pub citizen: crate::citizen::CitizenConfig,
    /// The `[admission]` table: admission control under overload (lanes, limits, goals).
    pub admission: crate::admission::AdmissionConfig,
    /// The `[residence]` table: limits on the scans attached to residence requests.
    pub residence: crate::residence::ResidenceConfig,
    /// The `[wallet]` table: the presented QR's lifetime.
    pub wallet: crate::wallet::WalletConfig,
    /// The `[trust]` table: the account recovery's time lock.
    pub trust: crate::trust::TrustConfig,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Config {
            db,
            listen,
            header_read_timeout_seconds,
            request_timeout_seconds,
            max_connections,
            log,
            session_ttl_minutes,
            secure_cookies,
            login_max_failures,
            login_window_minutes,
            sms_gateway_url,
            sms_gateway_auth,
            sms_template,
            face_verifier_url,
            face_verifier_auth,
            face_match_threshold_permille,
            http_ca_file,
            code_ttl_days,
            otp_ttl_minutes,
            code_max_sends,
            code_max_attempts,
            level2_self_service_from,
            account_max_failures,
            account_lockout_minutes,
            development,
            clock_at,
            hsts_max_age_seconds,
            metrics_token,
            limits,
            oidc,
            citizen,
            admission,
            residence,
            wallet,
            trust,
        } = self;
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("db", db)
            .field("listen", listen)
            .field("header_read_timeout_seconds", header_read_timeout_seconds)
            .field("request_timeout_seconds", request_timeout_seconds)
            .field("max_connections", max_connections)
            .field("log", log)
            .field("session_ttl_minutes", session_ttl_minutes)
            .field("secure_cookies", secure_cookies)
            .field("login_max_failures", login_max_failures)
            .field("login_window_minutes", login_window_minutes)
            .field("sms_gateway_url", sms_gateway_url)
            .field("sms_gateway_auth", &redacted(sms_gateway_auth))
            .field("sms_template", sms_template)
            .field("face_verifier_url", face_verifier_url)
            .field("face_verifier_auth", &redacted(face_verifier_auth))
            .field(
                "face_match_threshold_permille",
                face_match_threshold_permille,
            )
            .field("http_ca_file", http_ca_file)
            .field("code_ttl_days", code_ttl_days)
            .field("otp_ttl_minutes", otp_ttl_minutes)
            .field("code_max_sends", code_max_sends)
            .field("code_max_attempts", code_max_attempts)
            .field("level2_self_service_from", level2_self_service_from)
            .field("account_max_failures", account_max_failures)
            .field("account_lockout_minutes", account_lockout_minutes)
            .field("development", development)
            .field("clock_at", clock_at)
            .field("hsts_max_age_seconds", hsts_max_age_seconds)
            .field("metrics_token", &redacted(metrics_token))
            .field("limits", limits)
            .field("oidc", oidc)
            .field("citizen", citizen)
            .field("admission", admission)
            .field("residence", residence)
            .field("wallet", wallet)
            .field("trust", trust)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            db: DEFAULT_DB.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_connections: 4096,
            log: "info".to_owned(),
            session_ttl_minutes: 8 * 60,
            secure_cookies: false,
            login_max_failures: 5,
            login_window_minutes: 15,
            sms_gateway_url: None,
            sms_gateway_auth: None,
            sms_template: crate::sms::DEFAULT_TEMPLATE.to_owned(),
            face_verifier_url: None,
            face_verifier_auth: None,
            face_match_threshold_permille: 800,
            http_ca_file: None,
            code_ttl_days: 7,
            otp_ttl_minutes: 5,
            code_max_sends: 3,
            code_max_attempts: 5,
            level2_self_service_from: date!(2022 - 04 - 01),
            account_max_failures: 5,
            account_lockout_minutes: 15,
            development: false,
            clock_at: None,
            hsts_max_age_seconds: None,
            metrics_token: None,
            limits: crate::limits::Limits::default(),
            oidc: crate::oidc::OidcConfig::default(),
            citizen: crate::citizen::CitizenConfig::default(),
            admission: crate::admission::AdmissionConfig::default(),
            residence: crate::residence::ResidenceConfig::default(),
            wallet: crate::wallet::WalletConfig::default(),
            trust: crate::trust::TrustConfig::default(),
        }
    }
}

/// The TOML file: every key optional, no other key allowed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<String>,
    pub listen: Option<String>,
    pub header_read_timeout_seconds: Option<u64>,
    pub request_timeout_seconds: Option<u64>,
    pub max_connections: Option<u32>,
    pub log: Option<String>,
    pub session_ttl_minutes: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub login_max_failures: Option<u32>,
    pub login_window_minutes: Option<u64>,
    pub sms_gateway_url: Option<String>,
    pub sms_gateway_auth: Option<String>,
    pub sms_template: Option<String>,
    pub face_verifier_url: Option<String>,
    pub face_verifier_auth: Option<String>,
    pub face_match_threshold_permille: Option<u32>,
    pub http_ca_file: Option<String>,
    pub code_ttl_days: Option<u32>,
    pub otp_ttl_minutes: Option<u32>,
    pub code_max_sends: Option<u32>,
    pub code_max_attempts: Option<u32>,
    /// `"YYYY-MM-DD"` (a bare TOML date is accepted too).
    pub level2_self_service_from: Option<FileDate>,
    pub account_max_failures: Option<u32>,
    pub account_lockout_minutes: Option<u64>,
    pub development: Option<bool>,
    /// RFC 3339, e.g. `"2025-03-15T09:00:00+07:00"`.
    pub clock_at: Option<String>,
    pub hsts_max_age_seconds: Option<u64>,
    pub metrics_token: Option<String>,
    pub limits: Option<crate::limits::Limits>,
    pub oidc: Option<crate::oidc::OidcConfig>,
    pub citizen: Option<crate::citizen::CitizenConfig>,
    pub admission: Option<crate::admission::AdmissionConfig>,
    pub residence: Option<crate::residence::ResidenceConfig>,
    pub wallet: Option<crate::wallet::WalletConfig>,
    pub trust: Option<crate::trust::TrustConfig>,
}

/// A day in the file: a string `"YYYY-MM-DD"` or a bare TOML date.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileDate {
    Text(String),
    Toml(toml::value::Datetime),
}

impl FileDate {
    fn text(&self) -> String {
        match self {
            FileDate::Text(s) => s.clone(),
            FileDate::Toml(d) => d.to_string(),
        }
    }
}

/// The settings that can also be given as flags (the last layer).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub db: Option<String>,
    pub listen: Option<String>,
    /// `--dev`: development mode on (the flag cannot turn it off).
    pub development: bool,
    /// `--clock-at`: the instant the server's clock starts at (development only).
    pub clock_at: Option<String>,
}

/// Why the configuration could not be assembled. Names the file, variable or key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the file at `path` (if any), then the process environment, then `flags`.
    pub fn load(path: Option<&Path>, flags: &Overrides) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                ConfigError(format!("cannot read config file {}: {e}", p.display()))
            })?),
            None => None,
        };
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("EID_"))
            .collect();
        Config::layered(text.as_deref(), &env, flags)
    }

    /// Builds the configuration from the file's text, an environment map and flags.
    pub fn layered(
        file: Option<&str>,
        env: &HashMap<String, String>,
        flags: &Overrides,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = match file {
            Some(text) => toml::from_str(text)
                .map_err(|e| ConfigError(format!("config file: {}", e.message())))?,
            None => FileConfig::default(),
        };
        let mut c = Config::default();
        c.slow_clients(&file, env)?;
        let mut listen = None;
        // Layer 1: the file.
        if let Some(v) = file.db {
            c.db = v;
        }
        if let Some(v) = file.listen {
            listen = Some(("listen in the config file", v));
        }
        if let Some(v) = file.log {
            c.log = v;
        }
        if let Some(v) = file.session_ttl_minutes {
            c.session_ttl_minutes = v;
        }
        if let Some(v) = file.secure_cookies {
            c.secure_cookies = v;
        }
        if let Some(v) = file.login_max_failures {
            c.login_max_failures = v;
        }
        if let Some(v) = file.login_window_minutes {
            c.login_window_minutes = v;
        }
        if let Some(v) = file.sms_gateway_url {
            c.sms_gateway_url = non_empty(v);
        }
        if let Some(v) = file.sms_gateway_auth {
            c.sms_gateway_auth = non_empty(v);
        }
        if let Some(v) = file.sms_template {
            c.sms_template = v;
        }
        if let Some(v) = file.face_verifier_url {
            c.face_verifier_url = non_empty(v);
        }
        if let Some(v) = file.face_verifier_auth {
            c.face_verifier_auth = non_empty(v);
        }
        if let Some(v) = file.face_match_threshold_permille {
            c.face_match_threshold_permille = v;
        }
        if let Some(v) = file.http_ca_file {
            c.http_ca_file = non_empty(v);
        }
        if let Some(v) = file.code_ttl_days {
            c.code_ttl_days = v;
        }
        if let Some(v) = file.otp_ttl_minutes {
            c.otp_ttl_minutes = v;
        }
        if let Some(v) = file.code_max_sends {
            c.code_max_sends = v;
        }
        if let Some(v) = file.code_max_attempts {
            c.code_max_attempts = v;
        }
        if let Some(v) = file.level2_self_service_from {
            c.level2_self_service_from =
                day("level2_self_service_from in the config file", &v.text())?;
        }
        if let Some(v) = file.account_max_failures {
            c.account_max_failures = v;
        }
        if let Some(v) = file.account_lockout_minutes {
            c.account_lockout_minutes = v;
        }
        if let Some(v) = file.development {
            c.development = v;
        }
        if let Some(v) = &file.clock_at {
            c.clock_at = Some(instant("clock_at in the config file", v)?);
        }
        if let Some(v) = file.hsts_max_age_seconds {
            c.hsts_max_age_seconds = Some(v);
        }
        if let Some(v) = file.metrics_token {
            c.metrics_token = non_empty(v);
        }
        if let Some(v) = file.citizen {
            c.citizen = v;
        }
        if let Some(v) = file.residence {
            c.residence = v;
        }
        if let Some(v) = file.wallet {
            c.wallet = v;
        }
        if let Some(v) = file.trust {
            c.trust = v;
        }
        if let Some(v) = file.limits {
            c.limits = v;
        }
        if let Some(v) = file.oidc {
            c.oidc = v;
        }
        if let Some(v) = file.admission {
            c.admission = v;
        }
        // Layer 2: the environment.
        if let Some(v) = env.get("EID_HSTS_MAX_AGE_SECONDS") {
            c.hsts_max_age_seconds = match v.trim() {
                "" => None,
                v => Some(number("EID_HSTS_MAX_AGE_SECONDS", v)?),
            };
        }
        if let Some(v) = env.get("EID_TRUSTED_PROXIES") {
            c.limits.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| {
                        ConfigError(format!("EID_TRUSTED_PROXIES: {a:?} is not an IP address"))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = env.get("EID_WALLET_QR_SECONDS") {
            c.wallet.qr_seconds = number("EID_WALLET_QR_SECONDS", v)?;
        }
        if let Some(v) = env.get("EID_TRUST_RECOVERY_LOCK_HOURS") {
            c.trust.recovery_lock_hours = number("EID_TRUST_RECOVERY_LOCK_HOURS", v)?;
        }
        if let Some(v) = env.get("EID_METRICS_TOKEN") {
            c.metrics_token = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_DB") {
            c.db = v.clone();
        }
        if let Some(v) = env.get("EID_LISTEN") {
            listen = Some(("EID_LISTEN", v.clone()));
        }
        if let Some(v) = env.get("EID_LOG") {
            c.log = v.clone();
        }
        if let Some(v) = env.get("EID_SESSION_TTL_MINUTES") {
            c.session_ttl_minutes = number("EID_SESSION_TTL_MINUTES", v)?;
        }
        if let Some(v) = env.get("EID_SECURE_COOKIES") {
            c.secure_cookies = boolean("EID_SECURE_COOKIES", v)?;
        }
        if let Some(v) = env.get("EID_DEVELOPMENT") {
            c.development = boolean("EID_DEVELOPMENT", v)?;
        }
        if let Some(v) = env.get("EID_CLOCK_AT") {
            c.clock_at = match v.trim() {
                "" => None,
                v => Some(instant("EID_CLOCK_AT", v)?),
            };
        }
        if let Some(v) = env.get("EID_LOGIN_MAX_FAILURES") {
            c.login_max_failures = number("EID_LOGIN_MAX_FAILURES", v)?;
        }
        if let Some(v) = env.get("EID_LOGIN_WINDOW_MINUTES") {
            c.login_window_minutes = number("EID_LOGIN_WINDOW_MINUTES", v)?;
        }
        if let Some(v) = env.get("EID_SMS_GATEWAY_URL") {
            c.sms_gateway_url = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_SMS_GATEWAY_AUTH") {
            c.sms_gateway_auth = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_SMS_TEMPLATE") {
            c.sms_template = v.clone();
        }
        if let Some(v) = env.get("EID_FACE_VERIFIER_URL") {
            c.face_verifier_url = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_FACE_VERIFIER_AUTH") {
            c.face_verifier_auth = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_FACE_MATCH_THRESHOLD_PERMILLE") {
            c.face_match_threshold_permille = number("EID_FACE_MATCH_THRESHOLD_PERMILLE", v)?;
        }
        if let Some(v) = env.get("EID_HTTP_CA_FILE") {
            c.http_ca_file = non_empty(v.clone());
        }
        if let Some(v) = env.get("EID_CODE_TTL_DAYS") {
            c.code_ttl_days = number("EID_CODE_TTL_DAYS", v)?;
        }
        if let Some(v) = env.get("EID_OTP_TTL_MINUTES") {
            c.otp_ttl_minutes = number("EID_OTP_TTL_MINUTES", v)?;
        }
        if let Some(v) = env.get("EID_CODE_MAX_SENDS") {
            c.code_max_sends = number("EID_CODE_MAX_SENDS", v)?;
        }
        if let Some(v) = env.get("EID_CODE_MAX_ATTEMPTS") {
            c.code_max_attempts = number("EID_CODE_MAX_ATTEMPTS", v)?;
        }
        if let Some(v) = env.get("EID_LEVEL2_SELF_SERVICE_FROM") {
            c.level2_self_service_from = day("EID_LEVEL2_SELF_SERVICE_FROM", v)?;
        }
        if let Some(v) = env.get("EID_ACCOUNT_MAX_FAILURES") {
            c.account_max_failures = number("EID_ACCOUNT_MAX_FAILURES", v)?;
        }
        if let Some(v) = env.get("EID_ACCOUNT_LOCKOUT_MINUTES") {
            c.account_lockout_minutes = number("EID_ACCOUNT_LOCKOUT_MINUTES", v)?;
        }
        // Layer 3: the flags.
        if let Some(v) = &flags.db {
            c.db = v.clone();
        }
        if let Some(v) = &flags.listen {
            listen = Some(("--listen", v.clone()));
        }
        if flags.development {
            c.development = true;
        }
        if let Some(v) = &flags.clock_at {
            c.clock_at = Some(instant("--clock-at", v)?);
        }
        for (key, value) in [
            ("header_read_timeout_seconds", c.header_read_timeout_seconds),
            ("request_timeout_seconds", c.request_timeout_seconds),
            ("max_connections", u64::from(c.max_connections)),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{key} must be at least 1")));
            }
        }
        if let Some((source, v)) = listen {
            c.listen = v.parse().map_err(|_| {
                ConfigError(format!(
                    "{source}: {v:?} is not an address such as {DEFAULT_LISTEN}"
                ))
            })?;
        }
        if c.session_ttl_minutes == 0 {
            return Err(ConfigError(
                "session_ttl_minutes must be at least 1".to_owned(),
            ));
        }
        if c.login_window_minutes == 0 || c.login_max_failures == 0 {
            return Err(ConfigError(
                "login_max_failures and login_window_minutes must be at least 1".to_owned(),
            ));
        }
        for (key, url) in [
            ("sms_gateway_url", &c.sms_gateway_url),
            ("face_verifier_url", &c.face_verifier_url),
        ] {
            // The URL is not echoed: it may carry credentials.
            if url
                .as_ref()
                .is_some_and(|u| !u.starts_with("http://") && !u.starts_with("https://"))
            {
                return Err(ConfigError(format!(
                    "{key} must be an http:// URL or an https:// URL"
                )));
            }
        }
        if let Some(path) = &c.http_ca_file {
            ExtraCa::from_pem_file(Path::new(path))
                .map_err(|e| ConfigError(format!("http_ca_file: {e}")))?;
        }
        crate::sms::check_template(&c.sms_template)
            .map_err(|e| ConfigError(format!("sms_template: {e}")))?;
        c.limits.check().map_err(ConfigError)?;
        c.citizen.check().map_err(ConfigError)?;
        c.admission.check().map_err(ConfigError)?;
        c.residence.check().map_err(ConfigError)?;
        c.wallet.check().map_err(ConfigError)?;
        c.trust.check().map_err(ConfigError)?;
        if c.face_match_threshold_permille > 1000 {
            return Err(ConfigError(
                "face_match_threshold_permille must be between 0 and 1000".to_owned(),
            ));
        }
        for (key, value) in [
            ("code_ttl_days", u64::from(c.code_ttl_days)),
            ("otp_ttl_minutes", u64::from(c.otp_ttl_minutes)),
            ("code_max_sends", u64::from(c.code_max_sends)),
            ("code_max_attempts", u64::from(c.code_max_attempts)),
            ("account_max_failures", u64::from(c.account_max_failures)),
            ("account_lockout_minutes", c.account_lockout_minutes),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{key} must be at least 1")));
            }
        }
        Ok(c)
    }

    /// The clock the server and the command line read: the system's, or in development mode one
    /// that starts at `clock_at`.
    pub fn clock(&self) -> std::sync::Arc<dyn eid_core::clock::Clock> {
        match (self.development, self.clock_at) {
            (true, Some(at)) => std::sync::Arc::new(eid_core::clock::ShiftedClock::starting_at(at)),
            _ => std::sync::Arc::new(eid_core::clock::SystemClock),
        }
    }

    /// Refuses a production server (development mode off) that would run with a development
    /// adapter: one line naming what to configure.
    pub fn check_production(&self) -> Result<(), ConfigError> {
        if self.development {
            return Ok(());
        }
        if self.clock_at.is_some() {
            return Err(ConfigError(
                "refusing to serve on a moved clock: clock_at (EID_CLOCK_AT, --clock-at) is a \
                 development setting; unset it or set development mode"
                    .to_owned(),
            ));
        }
        let missing: Vec<&str> = [
            (
                self.sms_gateway_url.is_none(),
                "an SMS gateway (sms_gateway_url or EID_SMS_GATEWAY_URL)",
            ),
            (
                self.face_verifier_url.is_none(),
                "a face verifier (face_verifier_url or EID_FACE_VERIFIER_URL)",
            ),
        ]
        .into_iter()
        .filter_map(|(missing, what)| missing.then_some(what))
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ConfigError(format!(
            "refusing to serve with development adapters: configure {}, or set development mode \
             (development = true, EID_DEVELOPMENT=1 or --dev) to run with them",
            missing.join(" and ")
        )))
    }

    /// The banner a server in development mode prints at start (several lines, for stderr);
    /// `None` in production.
    pub fn development_banner(&self) -> Option<String> {
        if !self.development {
            return None;
        }
        let mut lines = vec![
            "==================================================================".to_owned(),
            "eid: DEVELOPMENT MODE: not for real people, real data or the internet".to_owned(),
        ];
        if self.sms_gateway_url.is_none() {
            lines.push(
                "  SMS: development sink: messages are not sent; ministry staff read them, \
                 codes included, in the console's SMS outbox"
                    .to_owned(),
            );
        }
        if self.face_verifier_url.is_none() {
            lines.push(
                "  face verification: development verifier: accepts the development portrait \
                 of anyone whose personal ID is known"
                    .to_owned(),
            );
        }
        lines.push("==================================================================".to_owned());
        Some(lines.join("\n"))
    }

    /// The face match threshold as a score between 0.0 and 1.0.
    pub fn face_match_threshold(&self) -> f64 {
        f64::from(self.face_match_threshold_permille) / 1000.0
    }

    /// The certificates of `http_ca_file`, if set. Checked when the configuration was loaded;
    /// should the file have become unreadable since, the webpki roots alone are trusted.
    pub fn extra_ca(&self) -> ExtraCa {
        match &self.http_ca_file {
            Some(path) => ExtraCa::from_pem_file(Path::new(path)).unwrap_or_else(|e| {
                tracing::warn!("http_ca_file: {e}; trusting the webpki roots only");
                ExtraCa::default()
            }),
            None => ExtraCa::default(),
        }
    }

    /// The configured SMS sender: the HTTP gateway when `sms_gateway_url` is set, else the
    /// development sink.
    pub fn sms_sender(&self) -> Arc<dyn SmsSender> {
        match &self.sms_gateway_url {
            Some(url) => Arc::new(
                HttpGateway::new(
                    url.clone(),
                    self.sms_gateway_auth.clone(),
                    self.sms_template.clone(),
                    crate::sms::DEFAULT_TIMEOUT,
                )
                .trusting(&self.extra_ca()),
            ),
            None => Arc::new(DevSink),
        }
    }

    /// The configured face verifier: the HTTP service when `face_verifier_url` is set, else the
    /// development verifier that compares photo hashes.
    pub fn face_verifier(&self) -> Arc<dyn FaceVerifier> {
        match &self.face_verifier_url {
            Some(url) => Arc::new(
                HttpVerifier::new(
                    url.clone(),
                    self.face_verifier_auth.clone(),
                    crate::verifier::DEFAULT_TIMEOUT,
                    self.face_match_threshold(),
                )
                .trusting(&self.extra_ca()),
            ),
            None => Arc::new(DevHashVerifier),
        }
    }
}

/// An empty string means "not set" (so that an environment variable can clear a file's value).
fn non_empty(v: String) -> Option<String> {
    if v.trim().is_empty() {
        None
    } else {
        Some(v)
    }
}

fn boolean(name: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(ConfigError(format!(
            "{name} must be true or false, got {v:?}"
        ))),
    }
}

fn day(name: &str, v: &str) -> Result<Date, ConfigError> {
    Date::parse(v.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| {
        ConfigError(format!(
            "{name} must be a date such as 2022-04-01 (YYYY-MM-DD), got {v:?}"
        ))
    })
}

/// An instant in RFC 3339 (`2025-03-15T09:00:00+07:00`).
fn instant(name: &str, v: &str) -> Result<OffsetDateTime, ConfigError> {
    OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
        ConfigError(format!(
            "{name}: {v:?} is not an instant such as 2025-03-15T09:00:00+07:00"
        ))
    })
}

impl Config {
    /// The slow-client limits from the file, then the environment (no flags).
    fn slow_clients(
        &mut self,
        file: &FileConfig,
        env: &HashMap<String, String>,
    ) -> Result<(), ConfigError> {
        if let Some(v) = file.header_read_timeout_seconds {
            self.header_read_timeout_seconds = v;
        }
        if let Some(v) = file.request_timeout_seconds {
            self.request_timeout_seconds = v;
        }
        if let Some(v) = file.max_connections {
            self.max_connections = v;
        }
        if let Some(v) = env.get("EID_HEADER_READ_TIMEOUT_SECONDS") {
            self.header_read_timeout_seconds = number("EID_HEADER_READ_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = env.get("EID_REQUEST_TIMEOUT_SECONDS") {
            self.request_timeout_seconds = number("EID_REQUEST_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = env.get("EID_MAX_CONNECTIONS") {
            self.max_connections = number("EID_MAX_CONNECTIONS", v)?;
        }
        Ok(())
    }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| ConfigError(format!("{name} must be a whole number, got {v:?}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let c = Config::layered(None, &HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.db, "sqlite://data/eid.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.session_ttl_minutes, 480);
    }

    #[test]
    fn the_environment_overrides_the_file_and_flags_override_both() {
        let file = "db = \"sqlite://file.db\"\nlisten = \"127.0.0.1:1\"\nlog = \"debug\"\nsession_ttl_minutes = 5\n";
        let e = env(&[
            ("EID_DB", "sqlite://env.db"),
            ("EID_LISTEN", "127.0.0.1:2"),
            ("EID_SESSION_TTL_MINUTES", "7"),
        ]);
        let flags = Overrides {
            db: Some("sqlite://flag.db".to_owned()),
            ..Overrides::default()
        };

        let c = Config::layered(Some(file), &e, &flags).unwrap();

        assert_eq!(c.db, "sqlite://flag.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:2");
        assert_eq!(c.log, "debug");
        assert_eq!(c.session_ttl_minutes, 7);
        let c = Config::layered(Some(file), &HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(
            (c.db.as_str(), c.listen.port(), c.session_ttl_minutes),
            ("sqlite://file.db", 1, 5)
        );
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_that_names_it() {
        let err = Config::layered(
            Some("db = \"x\"\nlisten_addr = \"y\"\n"),
            &HashMap::new(),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("unknown field `listen_addr`"), "{err}");
    }

    #[test]
    fn the_new_settings_have_their_defaults() {
        let c = Config::default();
        assert_eq!(c.sms_gateway_url, None);
        assert_eq!(c.sms_template, r#"{"to":"{to}","text":"{body}"}"#);
        assert_eq!(c.face_verifier_url, None);
        assert_eq!(c.face_match_threshold_permille, 800);
        assert_eq!(c.face_match_threshold(), 0.8);
        assert_eq!(
            (
                c.code_ttl_days,
                c.otp_ttl_minutes,
                c.code_max_sends,
                c.code_max_attempts
            ),
            (7, 5, 3, 5)
        );
        assert_eq!(c.level2_self_service_from.to_string(), "2022-04-01");
        assert_eq!((c.account_max_failures, c.account_lockout_minutes), (5, 15));
        assert!(!c.development, "production is the default");
        assert_eq!(c.sms_sender().name(), "dev-sink");
        assert!(c.face_verifier().describe().starts_with("dev-hash"));
    }

    #[test]
    fn sms_verifier_and_code_settings_come_from_the_file_and_the_environment() {
        let file = "sms_gateway_url = \"http://sms.local/send\"\nsms_gateway_auth = \"Bearer f\"\n\
                    code_ttl_days = 10\nlevel2_self_service_from = \"2023-01-15\"\n\
                    face_verifier_url = \"http://faces.local:9000/compare\"\n\
                    face_match_threshold_permille = 900\naccount_lockout_minutes = 30\n";
        let c = Config::layered(Some(file), &HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.sms_gateway_url.as_deref(), Some("http://sms.local/send"));
        assert_eq!(c.sms_gateway_auth.as_deref(), Some("Bearer f"));
        assert_eq!(c.code_ttl_days, 10);
        assert_eq!(c.level2_self_service_from.to_string(), "2023-01-15");
        assert_eq!(c.account_lockout_minutes, 30);
        assert_eq!(c.sms_sender().name(), "http-gateway");
        let d = c.face_verifier().describe();
        assert!(
            d.starts_with("http:faces.local:9000") && d.contains("0.900"),
            "{d}"
        );
        // The credentials stay out of Debug.
        assert!(!format!("{c:?}").contains("Bearer f"));

        let e = env(&[
            ("EID_CODE_TTL_DAYS", "3"),
            ("EID_LEVEL2_SELF_SERVICE_FROM", "2024-02-29"),
            ("EID_SMS_GATEWAY_URL", ""),
            ("EID_OTP_TTL_MINUTES", "2"),
            ("EID_CODE_MAX_ATTEMPTS", "4"),
        ]);
        let c = Config::layered(Some(file), &e, &Overrides::default()).unwrap();
        assert_eq!(c.code_ttl_days, 3);
        assert_eq!(c.level2_self_service_from.to_string(), "2024-02-29");
        assert_eq!((c.otp_ttl_minutes, c.code_max_attempts), (2, 4));
        // An empty variable unsets the file's gateway: back to the development sink.
        assert_eq!(c.sms_gateway_url, None);
        assert_eq!(c.sms_sender().name(), "dev-sink");
    }

    #[test]
    fn a_bare_toml_date_is_accepted_too() {
        let c = Config::layered(
            Some("level2_self_service_from = 2021-12-31\n"),
            &HashMap::new(),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.level2_self_service_from.to_string(), "2021-12-31");
    }

    #[test]
    fn bad_new_settings_name_their_key() {
        let bad = |file: Option<&str>, pairs: &[(&str, &str)]| {
            Config::layered(file, &env(pairs), &Overrides::default())
                .unwrap_err()
                .0
        };
        assert_eq!(
            bad(None, &[("EID_LEVEL2_SELF_SERVICE_FROM", "2022-13-01")]),
            "EID_LEVEL2_SELF_SERVICE_FROM must be a date such as 2022-04-01 (YYYY-MM-DD), got \"2022-13-01\""
        );
        assert_eq!(
            bad(Some("level2_self_service_from = \"1/4/2022\"\n"), &[]),
            "level2_self_service_from in the config file must be a date such as 2022-04-01 (YYYY-MM-DD), got \"1/4/2022\""
        );
        assert_eq!(
            bad(None, &[("EID_CODE_MAX_SENDS", "three")]),
            "EID_CODE_MAX_SENDS must be a whole number, got \"three\""
        );
        assert_eq!(
            bad(None, &[("EID_CODE_TTL_DAYS", "0")]),
            "code_ttl_days must be at least 1"
        );
        assert_eq!(
            bad(None, &[("EID_FACE_MATCH_THRESHOLD_PERMILLE", "1001")]),
            "face_match_threshold_permille must be between 0 and 1000"
        );
        // https is fine now that the client speaks TLS; another scheme is not.
        let e = bad(
            None,
            &[("EID_SMS_GATEWAY_URL", "ftp://user:pw@sms.example/")],
        );
        assert!(
            e.starts_with("sms_gateway_url must be an http:// URL"),
            "{e}"
        );
        assert!(!e.contains("pw@"), "{e}");
        let c = Config::layered(
            None,
            &env(&[
                ("EID_SMS_GATEWAY_URL", "https://user:pw@sms.example/"),
                ("EID_FACE_VERIFIER_URL", "https://faces.example/v1"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.sms_sender().name(), "http-gateway");
        assert!(c
            .face_verifier()
            .describe()
            .starts_with("http:faces.example"));
        let e = bad(None, &[("EID_HTTP_CA_FILE", "/nonexistent/eid-ca.pem")]);
        assert!(
            e.starts_with("http_ca_file: cannot read /nonexistent/eid-ca.pem"),
            "{e}"
        );
        let e = bad(Some("sms_template = \"{to} {body}\"\n"), &[]);
        assert_eq!(e, "sms_template: it does not render to a JSON object");
        let e = bad(Some("face_match_threshold = 0.8\n"), &[]);
        assert!(e.contains("unknown field `face_match_threshold`"), "{e}");
    }

    #[test]
    fn development_mode_comes_from_the_file_the_environment_or_the_flag() {
        let no_flags = Overrides::default();
        let dev = |file: Option<&str>, pairs: &[(&str, &str)], flags: &Overrides| {
            Config::layered(file, &env(pairs), flags)
                .unwrap()
                .development
        };
        assert!(!dev(None, &[], &no_flags));
        assert!(dev(Some("development = true\n"), &[], &no_flags));
        assert!(dev(None, &[("EID_DEVELOPMENT", "1")], &no_flags));
        assert!(!dev(
            Some("development = true\n"),
            &[("EID_DEVELOPMENT", "false")],
            &no_flags
        ));
        let flag = Overrides {
            development: true,
            ..Overrides::default()
        };
        assert!(dev(None, &[("EID_DEVELOPMENT", "0")], &flag));
        let err =
            Config::layered(None, &env(&[("EID_DEVELOPMENT", "yes")]), &no_flags).unwrap_err();
        assert_eq!(err.0, "EID_DEVELOPMENT must be true or false, got \"yes\"");
        let err =
            Config::layered(Some("develop = true\n"), &HashMap::new(), &no_flags).unwrap_err();
        assert!(err.0.contains("unknown field `develop`"), "{err}");
    }

    #[test]
    fn a_moved_clock_is_a_development_setting_from_the_file_the_environment_or_the_flag() {
        let no_flags = Overrides::default();
        let at = time::macros::datetime!(2025-03-15 09:00 +7);
        let c = Config::layered(
            Some("development = true\nclock_at = \"2025-03-15T09:00:00+07:00\"\n"),
            &HashMap::new(),
            &no_flags,
        )
        .unwrap();
        assert_eq!(c.clock_at, Some(at));
        assert_eq!(c.clock().today(), time::macros::date!(2025 - 03 - 15));
        assert!(c.check_production().is_ok());
        let c = Config::layered(
            None,
            &env(&[("EID_CLOCK_AT", "2025-03-15T09:00:00+07:00")]),
            &no_flags,
        )
        .unwrap();
        assert_eq!(c.clock_at, Some(at));
        // Outside development mode the server refuses it, and the clock is the system's.
        let e = Config {
            sms_gateway_url: Some("http://sms.local/send".to_owned()),
            face_verifier_url: Some("http://face.local/compare".to_owned()),
            ..c.clone()
        }
        .check_production()
        .unwrap_err();
        assert!(e.0.contains("clock_at"), "{e}");
        assert_ne!(c.clock().today(), time::macros::date!(2025 - 03 - 15));
        let flag = Overrides {
            clock_at: Some("2024-06-30T23:59:00+07:00".to_owned()),
            development: true,
            ..Overrides::default()
        };
        let c = Config::layered(None, &HashMap::new(), &flag).unwrap();
        assert_eq!(c.clock().today(), time::macros::date!(2024 - 06 - 30));
        let e =
            Config::layered(None, &env(&[("EID_CLOCK_AT", "15/03/2025")]), &no_flags).unwrap_err();
        assert!(
            e.0.starts_with("EID_CLOCK_AT: \"15/03/2025\" is not an instant"),
            "{e}"
        );
    }

    #[test]
    fn production_refuses_the_development_adapters_and_names_what_to_configure() {
        let c = Config::default();
        let e = c.check_production().unwrap_err().0;
        assert!(!e.contains('\n'), "one line: {e}");
        for key in [
            "sms_gateway_url",
            "face_verifier_url",
            "development = true",
            "--dev",
        ] {
            assert!(e.contains(key), "{key} in {e}");
        }
        assert!(c.development_banner().is_none());

        let sms_only = Config {
            sms_gateway_url: Some("http://sms.local/send".to_owned()),
            ..Config::default()
        };
        let e = sms_only.check_production().unwrap_err().0;
        assert!(
            e.contains("face_verifier_url") && !e.contains("sms_gateway_url"),
            "{e}"
        );

        let real = Config {
            face_verifier_url: Some("http://faces.local/compare".to_owned()),
            ..sms_only
        };
        assert_eq!(real.check_production(), Ok(()));
        assert!(real.development_banner().is_none());

        let dev = Config {
            development: true,
            ..Config::default()
        };
        assert_eq!(dev.check_production(), Ok(()));
        let banner = dev.development_banner().unwrap();
        assert!(banner.contains("DEVELOPMENT MODE"), "{banner}");
        assert!(banner.contains("SMS: development sink"), "{banner}");
        assert!(
            banner.contains("face verification: development verifier"),
            "{banner}"
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let err = Config::layered(
            None,
            &env(&[("EID_LISTEN", "nowhere")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "EID_LISTEN: \"nowhere\" is not an address such as 127.0.0.1:8080"
        );
        let err = Config::layered(
            None,
            &env(&[("EID_SESSION_TTL_MINUTES", "soon")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.0,
            "EID_SESSION_TTL_MINUTES must be a whole number, got \"soon\""
        );
    }
}
