//! The command line: `eid serve`, `eid demo`, `eid migrate`, `eid import`, `eid export`,
//! `eid gen`, `eid admin` and `eid client`.
//!
//! Doc comments on the clap structs are the `--help` text. Commands other than `serve` and
//! `demo` are synchronous: they call the store directly, with no async runtime (`eid client`
//! calls a running server over HTTP instead). Exit codes: 0 success, 1 a refused import
//! (`--on-error abort` with bad rows), 2 any other failure, 141 standard output closed before
//! everything was written (`eid … | head -1`; see [`out`]). Nothing here panics on a closed pipe.

mod admin;
mod args;
mod audit;
mod client;
mod demo;
mod import;
mod link;
mod link_demo;
mod oidc;
mod out;
mod residence;
mod surge;
mod trust;
mod wallet;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eid_core::accounts as acc;
use eid_core::import::{ImportOptions, ImportSummary, OnError, Rejected};
use eid_core::secret;
use eid_core::store::{NewStaff, Role, Staff};
use eid_core::{Actor, Store};
use eid_domain::{DeviceStatus, Level, Tree, UnitCode, Units};
use time::OffsetDateTime;

use crate::config::{Config, Overrides};
use crate::state::vietnam;
use admin::admin;
use client::client_command;
use demo::demo;
use import::{export_persons, gen_persons, import_persons};
use out::{errln, outln};

pub use admin::{acting_staff, check_role_unit};
pub use args::*;
pub use demo::demo_accounts;
pub use import::import_json;
pub use oidc::{KeysCommand, KeysRotateArgs, RpAddArgs, RpCommand, RpIdArgs};

/// eID: the national population register and electronic identity platform.
#[derive(Debug, Parser)]
#[command(name = "eid", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file (keys: db, listen, log, session_ttl_minutes, secure_cookies,
    /// login_max_failures, login_window_minutes, sms_gateway_url, face_verifier_url,
    /// development, …). EID_* environment variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://data/eid.db].
    #[arg(long, global = true, value_name = "URL")]
    pub db: Option<String>,
    /// The address the server listens on [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Development only: the clock starts at this instant (RFC 3339, e.g.
    /// 2025-03-15T09:00:00+07:00) and runs on, for a demo or a test on a fixed date.
    #[arg(long, global = true, value_name = "INSTANT")]
    pub clock_at: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the HTTP server: the JSON API, the web console, /healthz and /metrics. Refuses to
    /// start without an SMS gateway and a face verifier unless development mode is set.
    Serve(ServeArgs),
    /// Fills an empty database with a synthetic province, creates one account per role, prints
    /// their passwords, and serves in development mode (on 127.0.0.1:8080 unless --listen says
    /// otherwise). Refuses a database holding staff or people it did not create.
    Demo(DemoArgs),
    /// Creates or upgrades the database schema, and finishes an import that died after it was
    /// decided (SQLite).
    Migrate,
    /// Imports records from CSV.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Exports records as CSV.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Generates synthetic records as CSV.
    #[command(subcommand)]
    Gen(GenCommand),
    /// Matches sector data (social and health insurance, civil registry) against the register.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Manages staff accounts, API tokens, intake devices and account locks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Plays the citizen app and an intake device against a running server, over HTTP.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Checks the data-use transparency log (`eid audit verify`) and signs checkpoints.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Checks signed documents against the published keys: a wallet presentation, a
    /// confirmation of residence information.
    #[command(subcommand)]
    Verify(VerifyCommand),
}

/// A command's failure: a message for stderr and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure {
            message: e.to_string(),
            code: 2,
        }
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                errln!("eid: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    let overrides = Overrides {
        db: cli.db.clone(),
        listen: cli.listen.clone(),
        clock_at: cli.clock_at.clone(),
        // The demo always runs in development mode.
        development: matches!(
            &cli.command,
            Command::Serve(ServeArgs { dev: true }) | Command::Demo(_)
        ),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    let _ = CLOCK.set(config.clock());
    match cli.command {
        Command::Serve(_) => {
            config.check_production()?;
            init_logging(&config.log);
            runtime()?.block_on(serve(config))
        }
        Command::Demo(args) => {
            init_logging(&config.log);
            demo(config, &args)
        }
        Command::Migrate => {
            let store = open_store(&config.db)?;
            let finished = eid_core::import::resume_imports(store.as_ref())?;
            if finished > 0 {
                outln!("finished {finished} interrupted import(s)")?;
            }
            oidc::make_keys(&config, store.as_ref())?;
            outln!("schema of the {} database is up to date", store.engine())
        }
        Command::Import(ImportCommand::Persons(args)) => import_persons(&config, &args),
        Command::Export(ExportCommand::Persons(args)) => export_persons(&config, &args),
        Command::Gen(GenCommand::Persons(args)) => gen_persons(&args),
        Command::Gen(GenCommand::Sector(args)) => link::gen_sector(&args),
        Command::Link(LinkCommand::Run(args)) => link::link_run(&args),
        Command::Link(LinkCommand::Source(args)) => link::link_source(&config, &args),
        Command::Link(LinkCommand::Import(args)) => link::link_import(&config, &args),
        Command::Link(LinkCommand::Dedupe(args)) => link::link_dedupe(&config, &args),
        Command::Admin(cmd) => admin(&config, cmd),
        Command::Client(cmd) => client_command(cmd),
        Command::Audit(cmd) => audit::audit(&config, cmd),
        Command::Verify(VerifyCommand::Credential(args)) => wallet::verify(&config, &args),
        Command::Verify(VerifyCommand::Residence(args)) => residence::verify(args),
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub use eid_core::store::prepare_sqlite_dir;

/// Opens and migrates the store.
pub fn open_store(url: &str) -> Result<Arc<dyn Store>, Failure> {
    prepare_sqlite_dir(url)?;
    let store = eid_core::open(url)?;
    store.migrate()?;
    Ok(store)
}

/// The clock the command reads: the configuration's (the system's, or in development mode one
/// that starts at `clock_at`), set once when the configuration is loaded.
static CLOCK: std::sync::OnceLock<Arc<dyn eid_core::clock::Clock>> = std::sync::OnceLock::new();

fn now() -> OffsetDateTime {
    match CLOCK.get() {
        Some(c) => c.now(),
        None => eid_core::clock::Clock::now(&eid_core::clock::SystemClock),
    }
}

fn today() -> time::Date {
    now().to_offset(vietnam()).date()
}

/// Prints the development banner to stderr when development mode is on.
fn development_banner(config: &Config) {
    if let Some(banner) = config.development_banner() {
        errln!("{banner}");
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    development_banner(&config);
    let (app, addr) = crate::Application::build(config).await?;
    // The signing keys, made now on a new database and opened into the cache, so that no
    // request pays for either.
    if let Err(e) = crate::oidc::prepare_keys(app.state()).await {
        // In development on PostgreSQL without a key file, the key-encryption key is made anew
        // by each process, so keys an earlier process sealed do not open: the register and the
        // console still serve; the provider refuses until `[oidc] key_file` is set.
        if !app.state().oidc.kek_is_temporary() {
            return Err(e.into());
        }
        errln!(
            "eid: the sign-in provider's keys do not open ({e}): this process's key-encryption key is temporary; set [oidc] key_file to keep one across restarts"
        );
    }
    tracing::info!(%addr, "listening");
    errln!("eid listening on http://{addr}");
    app.run_until_stopped().await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn roles_must_match_the_level_of_their_unit() {
        assert_eq!(check_role_unit(Role::Ministry, "VN"), Ok(UnitCode::NATION));
        assert!(check_role_unit(Role::Province, "62").is_ok());
        assert!(check_role_unit(Role::Auditor, "62").is_ok());
        let err = check_role_unit(Role::Commune, "62").unwrap_err();
        assert!(
            err.starts_with("role commune needs a commune unit (5 digits), but 62 ("),
            "{err}"
        );
        assert_eq!(
            check_role_unit(Role::Province, "03").unwrap_err(),
            "unknown unit 03 in the 2024 tree"
        );
        assert!(check_role_unit(Role::District, "6x").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

/// `eid verify …`: signed documents checked against the published keys.
#[derive(Debug, clap::Subcommand)]
pub enum VerifyCommand {
    /// Checks a wallet presentation's text (`EID1:…`; `-` reads it from stdin): signature,
    /// expiry, status. Exit 0 when valid, 1 when refused (the reason on stderr).
    Credential(wallet::CredentialArgs),
    /// Checks a confirmation of residence information (the signed `.jwt` file downloaded from
    /// /me/residence/confirmation, or a file holding its /verify/residence link) against the
    /// published JWKS. Exit code 0 when valid, 1 when refused.
    Residence(residence::VerifyResidenceArgs),
}
