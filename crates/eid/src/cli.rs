//! The command line: `eid serve`, `eid demo`, `eid migrate`, `eid import`, `eid export`,
//! `eid gen`, `eid admin` and `eid client`.
//!
//! Doc comments on the clap structs are the `--help` text. Commands other than `serve` and
//! `demo` are synchronous: they call the store directly, with no async runtime (`eid client`
//! calls a running server over HTTP instead). Exit codes: 0 success, 1 a refused import
//! (`--on-error abort` with bad rows), 2 any other failure, 141 standard output closed before
//! everything was written (`eid … | head -1`; see [`out`]). Nothing here panics on a closed pipe.

mod out;

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
use out::{errln, outln};

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
    /// Creates or upgrades the database schema.
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
    /// Manages staff accounts, API tokens, intake devices and account locks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Plays the citizen app and an intake device against a running server, over HTTP.
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Development mode: allows the development SMS sink (messages stay in the outbox) and the
    /// development face verifier, with a banner at start and a strip on every console page
    /// (also `development = true` in the config file or EID_DEVELOPMENT=1).
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The province to generate, a GSO code of the 2024 tree (62 is Kon Tum).
    #[arg(long, default_value = "62")]
    pub province: String,
    /// How many persons to generate when the database is empty.
    #[arg(long, default_value_t = 200_000)]
    pub people: u64,
    /// The seed of the generator: the same seed gives the same people (and the same history).
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
    /// Days of campaign history to simulate (intake devices per district, applications,
    /// activations), ending now; 0 for none. Filled once: skipped when the province has devices.
    #[arg(long, default_value_t = 45)]
    pub history_days: u32,
    /// About how many applications the history holds [default: one per 60 people].
    #[arg(long, value_name = "N")]
    pub history_applications: Option<u64>,
    /// While serving, keep a small live trickle of applications, activations and level-1
    /// registrations going through the HTTP API (one application every few seconds).
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Imports persons from a CSV file in the eid person format (see `eid gen persons`).
    Persons(ImportPersonsArgs),
}

/// What to do when some rows are bad.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnErrorArg {
    /// Write nothing if any row is bad (the default).
    Abort,
    /// Write the good rows and report the bad ones.
    Skip,
}

#[derive(Debug, Args)]
pub struct ImportPersonsArgs {
    /// The CSV file to import.
    pub file: PathBuf,
    /// What to do when some rows are bad.
    #[arg(long, value_enum, default_value = "abort")]
    pub on_error: OnErrorArg,
    /// Where to write the rejected rows (line,column,reason) [default: FILE.rejected.csv].
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Prints one JSON object with the counts on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Exports the persons living in a unit's subtree (2024 tree) as CSV.
    Persons(ExportPersonsArgs),
}

#[derive(Debug, Args)]
pub struct ExportPersonsArgs {
    /// The unit: VN, a province (2 digits), a district (3) or a commune (5).
    #[arg(long)]
    pub unit: String,
    /// The file to write [default: standard output].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Generates synthetic persons as CSV in the import format (no database needed).
    Persons(GenPersonsArgs),
}

#[derive(Debug, Args)]
pub struct GenPersonsArgs {
    /// How many persons to generate.
    #[arg(long)]
    pub count: u64,
    /// The seed: the same seed gives the same people.
    #[arg(long)]
    pub seed: u64,
    /// Only this province (a GSO code of the 2024 tree) [default: the whole country].
    #[arg(long)]
    pub province: Option<String>,
    /// The file to write [default: standard output].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Creates a staff account. Without --password-stdin a random password is printed once.
    CreateUser(CreateUserArgs),
    /// Issues an API token for an account and prints it once.
    IssueToken(IssueTokenArgs),
    /// Revokes an API token by its id.
    RevokeToken(RevokeTokenArgs),
    /// Lists staff accounts.
    ListUsers,
    /// Lists API tokens (never their secrets).
    ListTokens,
    /// Registers, suspends, re-activates, retires and lists intake devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Locks or unlocks a citizen's account as an officer, with a reason.
    #[command(subcommand)]
    Account(AccountCommand),
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Registers an intake device for a unit and prints its id.
    Add(DeviceAddArgs),
    /// Suspends a device: its packets are refused until it is activated again.
    Suspend(DeviceIdArgs),
    /// Puts a suspended device back in service.
    Activate(DeviceIdArgs),
    /// Retires a device for good.
    Retire(DeviceIdArgs),
    /// Lists the devices, by unit.
    List(DeviceListArgs),
}

#[derive(Debug, Args)]
pub struct DeviceAddArgs {
    /// The device's name as officers know it (1 to 100 characters).
    #[arg(long)]
    pub name: String,
    /// The unit (2024 tree) that holds it: a province, district or commune.
    #[arg(long)]
    pub unit: String,
    /// The device's Ed25519 public key, 64 hex digits.
    #[arg(
        long,
        value_name = "HEX",
        required_unless_present = "generate_key",
        conflicts_with = "generate_key"
    )]
    pub public_key: Option<String>,
    /// Generates the key pair here and prints the private seed once (to be put on the device).
    #[arg(long)]
    pub generate_key: bool,
    /// Applications the device can collect a day (one device does 200 to 300).
    #[arg(long, default_value_t = 250)]
    pub capacity: u32,
}

#[derive(Debug, Args)]
pub struct DeviceIdArgs {
    /// The device's id, as `eid admin device list` shows it.
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct DeviceListArgs {
    /// Only the devices inside this unit (2024 tree) [default: all].
    #[arg(long)]
    pub unit: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Locks the account (an officer's lock, e.g. after a hotline call reporting loss of control).
    Lock(AccountLockArgs),
    /// Lifts an officer's lock.
    Unlock(AccountLockArgs),
}

#[derive(Args)]
pub struct AccountLockArgs {
    /// The holder's 12-digit personal ID.
    pub personal_id: String,
    /// Why (1 to 500 characters); kept in the account's history.
    #[arg(long)]
    pub reason: String,
    /// The staff user the lock is recorded for; their unit must contain the holder's residence.
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_staff: String,
}

/// The server a client command talks to.
#[derive(Debug, Args)]
pub struct ServerArg {
    /// The server's base URL (http only).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Sends one signed application packet, as an intake device.
    Intake(ClientIntakeArgs),
    /// Starts a level-1 registration, as the app (photo: the development portrait).
    Register(ClientRegisterArgs),
    /// Confirms a level-1 registration with the SMS code and sets password and passcode.
    Confirm(ClientConfirmArgs),
    /// Activates level 2 with the activation code from the SMS.
    Activate(ClientActivateArgs),
    /// Signs in and prints the session token (or the handle of a new-device check).
    Signin(ClientSigninArgs),
    /// Confirms a new device with the code sent to the account's phone.
    ConfirmDevice(ClientConfirmDeviceArgs),
    /// Prints the latest code sent to a phone, read from the development SMS outbox.
    Code(ClientCodeArgs),
    /// Plays a device and its applicants: sends N applications for eligible people found with
    /// the staff person search (or listed in --ids), activates a share and registers some at
    /// level 1, reading every code from the development outbox; prints counts and rates.
    Simulate(ClientSimulateArgs),
}

#[derive(Args)]
pub struct ClientIntakeArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The intake device's id.
    #[arg(long)]
    pub device_id: i64,
    /// The device's private key seed (64 hex digits, from `eid admin device add --generate-key`).
    #[arg(long, value_name = "HEX")]
    pub key_seed: String,
    /// The officer (staff username) collecting the application.
    #[arg(long, value_name = "USERNAME")]
    pub officer: String,
    #[arg(long)]
    pub personal_id: String,
    #[arg(long)]
    pub phone: String,
    /// The device found no fingerprint match (the application goes to review).
    #[arg(long)]
    pub no_match: bool,
    /// How the device compared: fingerprint or portrait.
    #[arg(long, default_value = "fingerprint")]
    pub method: String,
    /// Against what: card, register or immigration.
    #[arg(long, default_value = "card")]
    pub against: String,
}

#[derive(Args)]
pub struct ClientRegisterArgs {
    #[command(flatten)]
    pub server: ServerArg,
    #[arg(long)]
    pub personal_id: String,
    #[arg(long)]
    pub phone: String,
    /// The app's device identifier (8 to 128 characters).
    #[arg(long)]
    pub device_id: String,
    /// The face photo [default: the development portrait, which the development verifier accepts].
    #[arg(long, value_name = "PATH")]
    pub photo: Option<PathBuf>,
}

#[derive(Args)]
pub struct ClientConfirmArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The handle `eid client register` printed.
    #[arg(long)]
    pub handle: String,
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub password: String,
    /// Six digits.
    #[arg(long)]
    pub passcode: String,
}

#[derive(Args)]
pub struct ClientActivateArgs {
    #[command(flatten)]
    pub server: ServerArg,
    #[arg(long)]
    pub personal_id: String,
    /// The activation code from the SMS.
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub password: String,
    /// Six digits.
    #[arg(long)]
    pub passcode: String,
    /// The app's device identifier (8 to 128 characters); the account is bound to it.
    #[arg(long)]
    pub device_id: String,
}

#[derive(Args)]
pub struct ClientSigninArgs {
    #[command(flatten)]
    pub server: ServerArg,
    #[arg(long)]
    pub personal_id: String,
    #[arg(long)]
    pub password: String,
    /// The app's device identifier.
    #[arg(long)]
    pub device_id: String,
}

#[derive(Args)]
pub struct ClientConfirmDeviceArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The handle `eid client signin` printed.
    #[arg(long)]
    pub handle: String,
    #[arg(long)]
    pub code: String,
}

#[derive(Args)]
pub struct ClientCodeArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// A ministry-level staff API token (the outbox is read through GET /api/v1/sms, which only
    /// ministry-level staff may read).
    #[arg(long)]
    pub token: String,
    #[arg(long)]
    pub phone: String,
    /// What the code is for: activate, register, device, reset or phone.
    #[arg(long, default_value = "activate")]
    pub purpose: String,
}

#[derive(Args)]
pub struct ClientSimulateArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// A ministry-level staff API token (person search, devices, and the outbox, which only
    /// ministry-level staff may read).
    #[arg(long)]
    pub token: String,
    /// The intake device's id.
    #[arg(long)]
    pub device_id: i64,
    /// The device's private key seed (64 hex digits).
    #[arg(long, value_name = "HEX")]
    pub key_seed: String,
    /// The officer (staff username) named in the packets.
    #[arg(long, value_name = "USERNAME")]
    pub officer: String,
    /// How many applications to send.
    #[arg(long)]
    pub count: usize,
    /// Share of approved applications the citizens activate.
    #[arg(long, default_value_t = 0.6)]
    pub activate_rate: f64,
    /// Level-1 registrations started per application.
    #[arg(long, default_value_t = 0.3)]
    pub level1_rate: f64,
    /// Share of packets without a fingerprint match (they go to review).
    #[arg(long, default_value_t = 0.02)]
    pub no_match_rate: f64,
    /// Applicants from this file of personal IDs (one a line, or the first column of a CSV
    /// such as `eid export persons` writes) instead of the person search.
    #[arg(long, value_name = "PATH")]
    pub ids: Option<PathBuf>,
    /// The password every simulated citizen sets.
    #[arg(long, default_value = crate::demo::DEMO_PASSWORD)]
    pub password: String,
    /// The passcode every simulated citizen sets.
    #[arg(long, default_value = crate::demo::DEMO_PASSCODE)]
    pub passcode: String,
    /// The seed of the choices [default: from the clock].
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// The sign-in name.
    #[arg(long)]
    pub username: String,
    /// ministry (unit VN), province (2-digit unit), district (3-digit), commune (5-digit) or
    /// auditor (any unit).
    #[arg(long)]
    pub role: String,
    /// The unit (2024 tree) whose people the account may see.
    #[arg(long)]
    pub unit: String,
    /// The name shown in the console [default: the username].
    #[arg(long)]
    pub display_name: Option<String>,
    /// Reads the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct IssueTokenArgs {
    /// The account the token acts as.
    #[arg(long)]
    pub username: String,
    /// A label to recognise the token by (e.g. the system that uses it).
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's id, as listed by `eid admin list-tokens`.
    #[arg(long)]
    pub id: i64,
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
        // The demo always runs in development mode.
        development: matches!(
            &cli.command,
            Command::Serve(ServeArgs { dev: true }) | Command::Demo(_)
        ),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
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
            outln!("schema of the {} database is up to date", store.engine())
        }
        Command::Import(ImportCommand::Persons(args)) => import_persons(&config, &args),
        Command::Export(ExportCommand::Persons(args)) => export_persons(&config, &args),
        Command::Gen(GenCommand::Persons(args)) => gen_persons(&args),
        Command::Admin(cmd) => admin(&config, cmd),
        Command::Client(cmd) => client_command(cmd),
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

fn now() -> OffsetDateTime {
    eid_core::clock::Clock::now(&eid_core::clock::SystemClock)
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
    tracing::info!(%addr, "listening");
    errln!("eid listening on http://{addr}");
    app.run_until_stopped().await?;
    Ok(())
}

fn import_persons(config: &Config, args: &ImportPersonsArgs) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let report_path = args.report.clone().unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".rejected.csv");
        PathBuf::from(p)
    });
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let opts = ImportOptions {
        on_error: match args.on_error {
            OnErrorArg::Abort => OnError::Abort,
            OnErrorArg::Skip => OnError::Skip,
        },
        today: today(),
        now: now(),
        actor: Actor::Cli("import".to_owned()),
        reason: format!("import of {name}"),
    };

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    });

    let mut report: Option<csv::Writer<std::fs::File>> = None;
    let mut report_error: Option<String> = None;
    let mut first: Vec<Rejected> = Vec::new();
    let started = Instant::now();
    let result = eid_core::import::import_persons(
        store.as_ref(),
        std::io::BufReader::new(file),
        &opts,
        &mut |r: &Rejected| {
            if first.len() < 5 {
                first.push(r.clone());
            }
            if report.is_none() && report_error.is_none() {
                match csv::Writer::from_path(&report_path) {
                    Ok(mut w) => {
                        let _ = w.write_record(["line", "column", "reason"]);
                        report = Some(w);
                    }
                    Err(e) => {
                        report_error = Some(format!("cannot write {}: {e}", report_path.display()))
                    }
                }
            }
            if let Some(w) = report.as_mut() {
                if let Err(e) =
                    w.write_record([r.line.to_string().as_str(), r.column, r.reason.as_str()])
                {
                    report_error = Some(e.to_string());
                }
            }
        },
        &mut |bytes| {
            if let Some(b) = &bar {
                b.set_position(bytes);
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(mut w) = report.take() {
        w.flush()?;
    }
    if let Some(e) = report_error {
        return Err(e.into());
    }
    let summary = result?;
    let report_shown = (summary.rejected > 0).then(|| report_path.display().to_string());
    if args.json {
        outln!(
            "{}",
            import_json(
                &summary,
                report_shown.as_deref(),
                started.elapsed().as_secs_f64()
            )
        )?;
    } else {
        print_import_summary(
            &summary,
            &first,
            report_shown.as_deref(),
            started.elapsed().as_secs_f64(),
        )?;
    }
    if summary.committed {
        Ok(())
    } else {
        Err(Failure {
            message: String::new(),
            code: 1,
        })
    }
}

/// The `--json` summary of an import: one object on one line.
pub fn import_json(s: &ImportSummary, report: Option<&str>, seconds: f64) -> serde_json::Value {
    serde_json::json!({
        "imported": s.imported,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "rejected": s.rejected,
        "rows": s.rows,
        "committed": s.committed,
        "report": report,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    })
}

fn print_import_summary(
    s: &ImportSummary,
    first: &[Rejected],
    report: Option<&str>,
    seconds: f64,
) -> Result<(), Failure> {
    outln!(
        "{} rows in {seconds:.1} s: {} imported, {} updated, {} unchanged, {} rejected",
        s.rows,
        s.imported,
        s.updated,
        s.unchanged,
        s.rejected
    )?;
    for r in first {
        outln!("  line {}: {}: {}", r.line, r.column, r.reason)?;
    }
    if s.rejected > first.len() as u64 {
        outln!("  … and {} more", s.rejected - first.len() as u64)?;
    }
    if let Some(path) = report {
        outln!("rejected rows written to {path}")?;
    }
    if !s.committed {
        outln!("nothing was written: the file has bad rows (use --on-error skip to keep the good ones)")?;
    }
    Ok(())
}

fn export_persons(config: &Config, args: &ExportPersonsArgs) -> Result<(), Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, args.unit.trim())?.code;
    let store = open_store(&config.db)?;
    let n = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            eid_core::import::export_persons(store.as_ref(), &unit, std::io::BufWriter::new(file))?
        }
        None => {
            let (stream, closed) = out::Stream::new();
            eid_core::import::export_persons(store.as_ref(), &unit, stream).map_err(|e| {
                if closed.get() {
                    out::closed()
                } else {
                    Failure::from(e)
                }
            })?
        }
    };
    errln!("exported {n} persons");
    Ok(())
}

fn gen_persons(args: &GenPersonsArgs) -> Result<(), Failure> {
    let province = match &args.province {
        Some(p) => Some(province_code(p)?),
        None => None,
    };
    let cfg = eid_gen::GenConfig {
        count: args.count,
        seed: args.seed,
        province,
        today: today(),
    };
    let generator = eid_gen::Generator::new(&cfg)?;
    let (out, closed): (Box<dyn Write>, _) = match &args.out {
        Some(path) => (
            Box::new(
                std::fs::File::create(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
            ),
            None,
        ),
        None => {
            let (stream, closed) = out::Stream::new();
            (Box::new(stream), Some(closed))
        }
    };
    let stopped = |e: Failure| match &closed {
        Some(c) if c.get() => out::closed(),
        _ => e,
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    eid_core::csvfmt::write_header(&mut w).map_err(|e| stopped(e.into()))?;
    for p in generator {
        eid_core::csvfmt::write_person(&mut w, &p).map_err(|e| stopped(e.into()))?;
    }
    w.flush().map_err(|e| stopped(e.into()))?;
    Ok(())
}

fn province_code(raw: &str) -> Result<UnitCode, Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, raw.trim())?;
    if unit.level != Level::Province {
        return Err(format!("{} is a {}, not a province", unit.code, unit.level).into());
    }
    Ok(unit.code)
}

/// Checks that `unit` exists in the 2024 tree and fits `role`; returns it.
pub fn check_role_unit(role: Role, unit: &str) -> Result<UnitCode, String> {
    let unit = Units::get()
        .lookup(Tree::Gso2024, unit.trim())
        .map_err(|e| e.to_string())?;
    match role.level() {
        Some(level) if level != unit.level => Err(format!(
            "role {} needs a {} unit ({}), but {} ({}) is a {}",
            role.as_str(),
            level,
            match level {
                Level::Nation => "VN",
                Level::Province => "2 digits",
                Level::District => "3 digits",
                Level::Commune => "5 digits",
            },
            unit.code,
            unit.name,
            unit.level
        )),
        _ => Ok(unit.code),
    }
}

fn admin(config: &Config, cmd: AdminCommand) -> Result<(), Failure> {
    match cmd {
        AdminCommand::CreateUser(a) => {
            let role = Role::parse(a.role.trim()).ok_or_else(|| {
                format!(
                    "role must be ministry, province, district, commune or auditor, got {:?}",
                    a.role
                )
            })?;
            let unit = check_role_unit(role, &a.unit)?;
            let (password, generated) = if a.password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .take(4096)
                    .read_to_string(&mut line)?;
                let pw = line.lines().next().unwrap_or("").to_owned();
                (pw, false)
            } else {
                (secret::random_password(), true)
            };
            secret::check_password_policy(&password)?;
            let store = open_store(&config.db)?;
            let new = NewStaff {
                username: a.username.trim().to_owned(),
                display_name: a
                    .display_name
                    .unwrap_or_else(|| a.username.trim().to_owned()),
                role,
                unit,
                password_hash: secret::hash_password(&password)?,
            };
            if generated {
                // Shown before the account exists: a password nobody saw is never stored.
                if store.staff_by_username(&new.username)?.is_some() {
                    return Err(format!("a user named {:?} already exists", new.username).into());
                }
                out::shown_once(
                    &format!("password (shown once): {password}\n"),
                    "the password",
                )?;
            }
            let id = store.create_staff(&new, now())?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "staff.create",
                &new.username,
                "ok",
                "cli",
                now(),
            )?;
            outln!(
                "created user {} (id {id}), role {}, unit {}",
                new.username,
                role.as_str(),
                unit
            )
        }
        AdminCommand::IssueToken(a) => {
            let store = open_store(&config.db)?;
            let (staff, _) = store
                .staff_by_username(a.username.trim())?
                .ok_or_else(|| format!("no user named {:?}", a.username))?;
            let token = secret::random_token();
            // Shown before it is stored: a token nobody saw is never valid. Its id comes after,
            // on stderr, so that the token stays the last line of stdout.
            out::shown_once(
                &format!("token for {} (shown once):\n{token}\n", staff.username),
                "the token",
            )?;
            let id =
                store.create_api_token(staff.id, &a.name, &secret::token_hash(&token), now())?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "token.issue",
                &id.to_string(),
                "ok",
                "cli",
                now(),
            )?;
            errln!("token {id} issued (eid admin revoke-token --id {id} revokes it)");
            Ok(())
        }
        AdminCommand::RevokeToken(a) => {
            let store = open_store(&config.db)?;
            store.revoke_api_token(a.id, now()).map_err(|e| match e {
                eid_core::StoreError::NotFound => format!("no token with id {}", a.id),
                e => e.to_string(),
            })?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "token.revoke",
                &a.id.to_string(),
                "ok",
                "cli",
                now(),
            )?;
            outln!("token {} revoked", a.id)
        }
        AdminCommand::ListUsers => {
            let store = open_store(&config.db)?;
            print_users(&store.list_staff()?)
        }
        AdminCommand::ListTokens => {
            let store = open_store(&config.db)?;
            outln!(
                "{:>4}  {:>5}  {:<24}  {:<20}  revoked",
                "id",
                "user",
                "name",
                "created"
            )?;
            for t in store.list_api_tokens()? {
                outln!(
                    "{:>4}  {:>5}  {:<24}  {:<20}  {}",
                    t.id,
                    t.staff_id,
                    t.name,
                    crate::wire::rfc3339(t.created_at),
                    t.revoked_at
                        .map(crate::wire::rfc3339)
                        .unwrap_or_else(|| "-".to_owned())
                )?;
            }
            Ok(())
        }
        AdminCommand::Device(cmd) => admin_device(config, cmd),
        AdminCommand::Account(cmd) => admin_account(config, cmd),
    }
}

/// The unit a device is registered for: one of the 2024 tree, below the nation.
fn device_unit(raw: &str) -> Result<UnitCode, Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, raw.trim())?;
    if unit.level == Level::Nation {
        return Err("a device belongs to a province, district or commune, not to VN".into());
    }
    Ok(unit.code)
}

fn unit_label(code: &UnitCode) -> String {
    match Units::get().unit(Tree::Gso2024, code) {
        Some(u) => format!("{} ({})", u.code, u.name),
        None => code.to_string(),
    }
}

fn admin_device(config: &Config, cmd: DeviceCommand) -> Result<(), Failure> {
    let cli = Actor::Cli("admin".to_owned());
    match cmd {
        DeviceCommand::Add(a) => {
            let unit = device_unit(&a.unit)?;
            let (public_hex, seed) = match (&a.public_key, a.generate_key) {
                (Some(k), false) => (k.trim().to_owned(), None),
                (None, true) => {
                    let (seed, public) = eid_core::intake::new_key();
                    (public, Some(seed))
                }
                _ => return Err("give either --public-key or --generate-key".into()),
            };
            let key = eid_core::intake::parse_public_key(&public_hex)
                .map_err(|e| format!("--public-key: {e}"))?;
            let store = open_store(&config.db)?;
            if let Some(seed) = &seed {
                // The seed first, alone on the first line (`| head -1` keeps it), and before the
                // device exists: a device whose seed nobody received is never registered.
                out::shown_once(
                    &format!("private key seed (shown once; keep it on the device, which signs its packets with it): {seed}\n"),
                    "the private key seed",
                )?;
            }
            let r = acc::add_device(
                store.as_ref(),
                &a.name,
                &unit,
                &key,
                a.capacity,
                &cli,
                now(),
            );
            store.audit(
                &cli,
                "device.add",
                unit.as_str(),
                if r.is_ok() { "ok" } else { "denied" },
                "cli",
                now(),
            )?;
            let d = r?;
            outln!(
                "device {} added: {}, unit {}, {} applications a day",
                d.id,
                d.name,
                unit_label(&d.unit),
                d.daily_capacity
            )?;
            outln!("public key {public_hex}")
        }
        DeviceCommand::Suspend(a) => device_status(config, a.id, DeviceStatus::Suspended),
        DeviceCommand::Activate(a) => device_status(config, a.id, DeviceStatus::Active),
        DeviceCommand::Retire(a) => device_status(config, a.id, DeviceStatus::Retired),
        DeviceCommand::List(a) => {
            let within = match &a.unit {
                Some(u) => Units::get().lookup(Tree::Gso2024, u.trim())?.code,
                None => UnitCode::NATION,
            };
            let store = open_store(&config.db)?;
            let devices = acc::devices(store.as_ref(), &within)?;
            outln!(
                "{:>4}  {:<6}  {:<9}  {:>8}  {:<16}  name",
                "id",
                "unit",
                "status",
                "capacity",
                "public key"
            )?;
            for d in &devices {
                let key = eid_core::secret::hex(&d.public_key);
                outln!(
                    "{:>4}  {:<6}  {:<9}  {:>8}  {:<16}  {}",
                    d.id,
                    d.unit.as_str(),
                    d.status,
                    d.daily_capacity,
                    format!("{}…", key.get(..15).unwrap_or(&key)),
                    d.name
                )?;
            }
            errln!(
                "{} device{}",
                devices.len(),
                if devices.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
    }
}

fn device_status(config: &Config, id: i64, status: DeviceStatus) -> Result<(), Failure> {
    let cli = Actor::Cli("admin".to_owned());
    let store = open_store(&config.db)?;
    let before =
        acc::device(store.as_ref(), id)?.ok_or_else(|| format!("no device with id {id}"))?;
    let r = acc::set_device_status(store.as_ref(), id, status, &cli, now());
    store.audit(
        &cli,
        "device.status",
        &id.to_string(),
        if r.is_ok() { "ok" } else { "denied" },
        "cli",
        now(),
    )?;
    let d = r?;
    outln!(
        "device {} ({}) is {} (was {})",
        d.id,
        d.name,
        d.status,
        before.status
    )?;
    Ok(())
}

/// The staff user a CLI command acts as (`--as USERNAME`): it must exist, be enabled and not be
/// an auditor.
pub fn acting_staff(store: &dyn Store, username: &str) -> Result<Staff, Failure> {
    let (staff, _) = store
        .staff_by_username(username.trim())?
        .ok_or_else(|| format!("no staff user named {:?}", username.trim()))?;
    if staff.disabled {
        return Err(format!("staff user {} is disabled", staff.username).into());
    }
    if staff.role == Role::Auditor {
        return Err(format!(
            "{} is an auditor: auditors do not lock or unlock accounts",
            staff.username
        )
        .into());
    }
    Ok(staff)
}

fn admin_account(config: &Config, cmd: AccountCommand) -> Result<(), Failure> {
    let (a, lock) = match cmd {
        AccountCommand::Lock(a) => (a, true),
        AccountCommand::Unlock(a) => (a, false),
    };
    let id = eid_domain::PersonalId::parse(a.personal_id.trim())
        .map_err(|e| format!("personal ID {:?}: {e}", a.personal_id.trim()))?;
    let store = open_store(&config.db)?;
    let staff = acting_staff(store.as_ref(), &a.as_staff)?;
    let actor = Actor::Cli(format!("admin:{}", staff.username));
    let action = if lock {
        "account.lock"
    } else {
        "account.unlock"
    };
    let Some(account) = acc::sync_register_lock(store.as_ref(), &id, now())? else {
        store.audit(&actor, action, id.as_str(), "failed", "cli", now())?;
        return Err(format!("no account for personal ID {id}").into());
    };
    let r = acc::set_lock(
        store.as_ref(),
        &account,
        acc::LockBy::Officer(&staff, &a.reason),
        lock,
        now(),
    );
    store.audit(
        &actor,
        action,
        id.as_str(),
        if r.is_ok() { "ok" } else { "denied" },
        "cli",
        now(),
    )?;
    let account = r?;
    outln!(
        "account of {id} {} by {}; it is now {}{}",
        if lock { "locked" } else { "unlocked" },
        staff.username,
        account.status(),
        match account.locks() {
            l if l.is_empty() => String::new(),
            l => format!(" (locks: {})", l.join(", ")),
        }
    )?;
    Ok(())
}

fn client_command(cmd: ClientCommand) -> Result<(), Failure> {
    use crate::client::{Applicant, Client, IntakeDevice, SignedIn};
    match cmd {
        ClientCommand::Intake(a) => {
            let client = Client::new(&a.server.server);
            let device = IntakeDevice {
                id: a.device_id,
                seed_hex: a.key_seed.trim().to_owned(),
                officer: a.officer.trim().to_owned(),
            };
            let applicant = Applicant {
                matched: !a.no_match,
                method: &a.method,
                against: &a.against,
                ..Applicant::matching(a.personal_id.trim(), a.phone.trim())
            };
            let app = client.intake(&device, &applicant)?;
            outln!("application {} {}", app.application_id, app.state)?;
            if let Some(why) = app.review_reason {
                outln!("in review: {why}")?;
            }
            Ok(())
        }
        ClientCommand::Register(a) => {
            let client = Client::new(&a.server.server);
            let photo = match &a.photo {
                Some(p) => {
                    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?
                }
                None => crate::verifier::dev_portrait(a.personal_id.trim()),
            };
            let handle = client.register(a.personal_id.trim(), &a.phone, &photo, &a.device_id)?;
            outln!("if the details match the register, a code was sent by SMS; confirm with the handle:")?;
            outln!("{handle}")?;
            Ok(())
        }
        ClientCommand::Confirm(a) => {
            let client = Client::new(&a.server.server);
            let account = client.confirm(&a.handle, a.code.trim(), &a.password, &a.passcode)?;
            print_account(&account)
        }
        ClientCommand::Activate(a) => {
            let client = Client::new(&a.server.server);
            let account = client.activate(
                a.personal_id.trim(),
                a.code.trim(),
                &a.password,
                &a.passcode,
                &a.device_id,
            )?;
            print_account(&account)
        }
        ClientCommand::Signin(a) => {
            let client = Client::new(&a.server.server);
            match client.signin(a.personal_id.trim(), &a.password, &a.device_id)? {
                SignedIn::Session { token, expires_at } => {
                    outln!("signed in until {expires_at}; session token:")?;
                    outln!("{token}")?;
                }
                SignedIn::DeviceCheck { handle } => {
                    outln!("a new device: a code went by SMS to the account's phone; confirm with `eid client confirm-device --handle {handle} --code CODE`")?;
                }
            }
            Ok(())
        }
        ClientCommand::ConfirmDevice(a) => {
            let client = Client::new(&a.server.server);
            match client.confirm_device(&a.handle, a.code.trim())? {
                SignedIn::Session { token, expires_at } => {
                    outln!("signed in until {expires_at}; session token:")?;
                    outln!("{token}")?;
                }
                SignedIn::DeviceCheck { .. } => outln!("the server asks for another check")?,
            }
            Ok(())
        }
        ClientCommand::Code(a) => {
            let client = Client::new(&a.server.server);
            let (_, code) = client
                .latest_code(a.token.trim(), &a.phone, a.purpose.trim(), 0)?
                .ok_or_else(|| {
                    format!(
                        "no {} code to {} in the latest messages of the outbox",
                        a.purpose.trim(),
                        a.phone.trim()
                    )
                })?;
            outln!("{code}")?;
            Ok(())
        }
        ClientCommand::Simulate(a) => {
            for (name, v) in [
                ("--activate-rate", a.activate_rate),
                ("--level1-rate", a.level1_rate),
                ("--no-match-rate", a.no_match_rate),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{name} must be between 0 and 1, got {v}").into());
                }
            }
            let ids = match &a.ids {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    Some(crate::client::read_ids(&text))
                }
                None => None,
            };
            let client = Client::new(&a.server.server);
            let sim = crate::client::Simulation {
                token: a.token.trim().to_owned(),
                device: IntakeDevice {
                    id: a.device_id,
                    seed_hex: a.key_seed.trim().to_owned(),
                    officer: a.officer.trim().to_owned(),
                },
                count: a.count,
                activate_rate: a.activate_rate,
                level1_rate: a.level1_rate,
                no_match_rate: a.no_match_rate,
                password: a.password.clone(),
                passcode: a.passcode.clone(),
                ids,
                seed: a.seed.unwrap_or_else(crate::client::clock_seed),
            };
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(a.count as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} applications ({per_sec})",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            let report = crate::client::simulate(&client, &sim, &mut |r| {
                if let Some(b) = &bar {
                    b.set_position(r.sent);
                }
            });
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let report = report?;
            outln!("{report}")?;
            if report.sent < a.count as u64 {
                errln!(
                    "only {} eligible people were found for {} applications",
                    report.candidates,
                    a.count
                );
            }
            Ok(())
        }
    }
}

fn print_account(a: &serde_json::Value) -> Result<(), Failure> {
    let s = |k: &str| {
        a.get(k)
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    outln!(
        "account of {}: level {}, {}, phone {}",
        s("personal_id"),
        s("level"),
        s("state"),
        s("phone")
    )
}

fn print_users(users: &[Staff]) -> Result<(), Failure> {
    outln!(
        "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  disabled",
        "id",
        "username",
        "role",
        "unit",
        "display name"
    )?;
    for s in users {
        outln!(
            "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  {}",
            s.id,
            s.username,
            s.role.as_str(),
            s.unit.as_str(),
            s.display_name,
            if s.disabled { "yes" } else { "no" }
        )?;
    }
    Ok(())
}

/// The demo accounts for a province: (username, display name, role, unit).
pub fn demo_accounts(
    store: &dyn Store,
    province: &Units,
    code: UnitCode,
) -> Result<Vec<(String, String, Role, UnitCode)>, Failure> {
    let units = province;
    let district = units
        .children(Tree::Gso2024, &code)
        .into_iter()
        .next()
        .ok_or_else(|| format!("province {code} has no districts"))?;
    let pops = store.population_by_commune(&district.code)?;
    let commune = pops
        .iter()
        .max_by_key(|(c, p)| (p.total, std::cmp::Reverse(*c)))
        .map(|(c, _)| *c)
        .or_else(|| {
            units
                .children(Tree::Gso2024, &district.code)
                .first()
                .map(|u| u.code)
        })
        .ok_or_else(|| format!("district {} has no communes", district.code))?;
    let name = |c: &UnitCode| {
        units
            .unit(Tree::Gso2024, c)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    Ok(vec![
        (
            "bo.congan".to_owned(),
            "Cán bộ Bộ Công an".to_owned(),
            Role::Ministry,
            UnitCode::NATION,
        ),
        (
            format!("tinh.{code}"),
            format!("Công an {}", name(&code)),
            Role::Province,
            code,
        ),
        (
            format!("huyen.{}", district.code),
            format!("Công an {}", district.name),
            Role::District,
            district.code,
        ),
        (
            format!("xa.{commune}"),
            format!("Công an {}", name(&commune)),
            Role::Commune,
            commune,
        ),
        (
            "kiemtra".to_owned(),
            "Thanh tra, kiểm tra".to_owned(),
            Role::Auditor,
            UnitCode::NATION,
        ),
    ])
}

fn demo(config: Config, args: &DemoArgs) -> Result<(), Failure> {
    let province = province_code(&args.province)?;
    let store = open_store(&config.db)?;
    // The demo resets its accounts' passwords: it only ever touches a database it made.
    if !eid_core::settings::claim_for_demo(store.as_ref())? {
        return Err(
            "this database already holds staff or people that `eid demo` did not create; the demo \
             only runs on an empty database or one it made (give it another with --db, e.g. \
             --db sqlite://data/demo.db)"
                .into(),
        );
    }
    development_banner(&config);
    let units = Units::get();
    let existing: u64 = store
        .population_by_commune(&UnitCode::NATION)?
        .iter()
        .map(|(_, p)| p.total)
        .sum();
    // The people of the demo: those generated now, or those already there.
    let mut people = existing;
    if existing == 0 {
        let started = Instant::now();
        errln!(
            "generating {} persons of {} (seed {}) …",
            args.people,
            province,
            args.seed
        );
        let cfg = eid_gen::GenConfig {
            count: args.people,
            seed: args.seed,
            province: Some(province),
            today: today(),
        };
        let generator = eid_gen::Generator::new(&cfg)?;
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today: today(),
            now: now(),
            actor: Actor::Cli("demo".to_owned()),
            reason: "demo data".to_owned(),
        };
        let s = eid_core::import::import_generated(store.as_ref(), generator, &opts)?;
        people = s.imported;
        errln!(
            "imported {} persons in {:.1} s ({} rejected)",
            s.imported,
            started.elapsed().as_secs_f64(),
            s.rejected
        );
    } else {
        errln!("the database already holds {existing} persons: not generating");
    }

    // The passwords are shown before they are set: a password nobody saw is never stored.
    let accounts: Vec<_> = demo_accounts(store.as_ref(), units, province)?
        .into_iter()
        .map(|(username, display, role, unit)| {
            let unit_name = units
                .unit(Tree::Gso2024, &unit)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            (
                username,
                display,
                role,
                unit,
                unit_name,
                secret::random_password(),
            )
        })
        .collect();
    let mut table = format!(
        "\n{:<14}  {:<9}  {:<34}  password\n",
        "username", "role", "unit"
    );
    for (u, _, r, _, n, p) in &accounts {
        table.push_str(&format!("{u:<14}  {:<9}  {n:<34}  {p}\n", r.as_str()));
    }
    table.push('\n');
    out::shown_once(&table, "the demo accounts' passwords")?;
    for (username, display, role, unit, _, password) in accounts {
        let hash = secret::hash_password(&password)?;
        match store.staff_by_username(&username)? {
            Some((staff, _)) => store.set_password(staff.id, &hash)?,
            None => {
                let new = NewStaff {
                    username: username.clone(),
                    display_name: display,
                    role,
                    unit,
                    password_hash: hash,
                };
                store.create_staff(&new, now())?;
            }
        }
    }

    let history = if args.history_days > 0 {
        let options = crate::demo::HistoryOptions {
            province,
            days: args.history_days,
            applications: args.history_applications.unwrap_or(people / 60),
            seed: args.seed,
            now: now(),
            settings: crate::state::account_settings(&config),
            keep_sms_text: config.sms_sender().name() == "dev-sink",
        };
        errln!(
            "simulating {} days of campaign history (about {} applications) …",
            options.days,
            options.applications
        );
        let filled = crate::demo::fill_demo_history(store.as_ref(), &options)?;
        if filled.is_none() {
            errln!("the province already has intake devices: not simulating a history");
        }
        filled
    } else {
        None
    };

    if let Some(h) = &history {
        crate::demo::write_report(h, &mut std::io::stdout().lock())
            .map_err(|e| out::failure(&e))?;
        outln!()?;
    }
    let live = if args.live {
        Some(crate::demo::live_setup(
            store.as_ref(),
            province,
            args.seed,
        )?)
    } else {
        None
    };
    runtime()?.block_on(async move {
        let (app, addr) = crate::Application::with_store(config, store).await?;
        tracing::info!(%addr, "listening");
        let base = format!("http://{addr}");
        if let Some(h) = history.as_ref().and_then(|h| h.devices.first()) {
            outln!(
                "try an intake device: eid client intake --server {base} --device-id {} --key-seed {} --officer {} --personal-id ID --phone PHONE",
                h.id, h.seed_hex, h.officer
            )?;
        }
        if let Some(live) = live {
            outln!(
                "live: {} devices send an application every few seconds, with activations and level-1 registrations (--live)",
                live.devices.len()
            )?;
            crate::demo::spawn_live(base.clone(), live);
        }
        outln!("open {base} and sign in with one of the accounts above")?;
        errln!("eid listening on {base}");
        app.run_until_stopped().await?;
        Ok::<(), Failure>(())
    })
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
