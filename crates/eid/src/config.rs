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

use serde::Deserialize;

/// The default database: a SQLite file under `data/`.
pub const DEFAULT_DB: &str = "sqlite://data/eid.db";
/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The settings of a running eid, after every layer was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub db: String,
    pub listen: SocketAddr,
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
}

impl Default for Config {
    fn default() -> Config {
        Config {
            db: DEFAULT_DB.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log: "info".to_owned(),
            session_ttl_minutes: 8 * 60,
            secure_cookies: false,
            login_max_failures: 5,
            login_window_minutes: 15,
        }
    }
}

/// The TOML file: every key optional, no other key allowed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<String>,
    pub listen: Option<String>,
    pub log: Option<String>,
    pub session_ttl_minutes: Option<u64>,
    pub secure_cookies: Option<bool>,
    pub login_max_failures: Option<u32>,
    pub login_window_minutes: Option<u64>,
}

/// The settings that can also be given as flags (the last layer).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub db: Option<String>,
    pub listen: Option<String>,
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
        // Layer 2: the environment.
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
            c.secure_cookies = match v.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ConfigError(format!(
                        "EID_SECURE_COOKIES must be true or false, got {v:?}"
                    )))
                }
            };
        }
        if let Some(v) = env.get("EID_LOGIN_MAX_FAILURES") {
            c.login_max_failures = number("EID_LOGIN_MAX_FAILURES", v)?;
        }
        if let Some(v) = env.get("EID_LOGIN_WINDOW_MINUTES") {
            c.login_window_minutes = number("EID_LOGIN_WINDOW_MINUTES", v)?;
        }
        // Layer 3: the flags.
        if let Some(v) = &flags.db {
            c.db = v.clone();
        }
        if let Some(v) = &flags.listen {
            listen = Some(("--listen", v.clone()));
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
        Ok(c)
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
            listen: None,
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
