//! The command line: `eid serve`, `eid demo`, `eid migrate`, `eid import`, `eid export`,
//! `eid gen` and `eid admin`.
//!
//! Doc comments on the clap structs are the `--help` text. Commands other than `serve` and
//! `demo` are synchronous: they call the store directly, with no async runtime. Exit codes:
//! 0 success, 1 a refused import (`--on-error abort` with bad rows), 2 any other failure.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eid_core::import::{ImportOptions, ImportSummary, OnError, Rejected};
use eid_core::secret;
use eid_core::store::{NewStaff, Role, Staff};
use eid_core::{Actor, Store};
use eid_domain::{Level, Tree, UnitCode, Units};
use time::OffsetDateTime;

use crate::config::{Config, Overrides};
use crate::state::vietnam;

/// eID: the national population register and electronic identity platform.
#[derive(Debug, Parser)]
#[command(name = "eid", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file (keys: db, listen, log, session_ttl_minutes, secure_cookies,
    /// login_max_failures, login_window_minutes). EID_* environment variables override it.
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
    /// Runs the HTTP server: the JSON API, the web console, /healthz and /metrics.
    Serve,
    /// Fills a database with a synthetic province, creates one account per role, prints their
    /// passwords, and serves like `eid serve` (on 127.0.0.1:8080 unless --listen says otherwise).
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
    /// Manages staff accounts and API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The province to generate, a GSO code of the 2024 tree (62 is Kon Tum).
    #[arg(long, default_value = "62")]
    pub province: String,
    /// How many persons to generate when the database is empty.
    #[arg(long, default_value_t = 200_000)]
    pub people: u64,
    /// The seed of the generator: the same seed gives the same people.
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
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
                eprintln!("eid: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    let overrides = Overrides {
        db: cli.db.clone(),
        listen: cli.listen.clone(),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    match cli.command {
        Command::Serve => {
            init_logging(&config.log);
            runtime()?.block_on(serve(config))
        }
        Command::Demo(args) => {
            init_logging(&config.log);
            demo(config, &args)
        }
        Command::Migrate => {
            let store = open_store(&config.db)?;
            println!("schema of the {} database is up to date", store.engine());
            Ok(())
        }
        Command::Import(ImportCommand::Persons(args)) => import_persons(&config, &args),
        Command::Export(ExportCommand::Persons(args)) => export_persons(&config, &args),
        Command::Gen(GenCommand::Persons(args)) => gen_persons(&args),
        Command::Admin(cmd) => admin(&config, cmd),
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

/// Creates the folder of a `sqlite://` database file if it is missing.
pub fn prepare_sqlite_dir(url: &str) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
    }
    Ok(())
}

/// Opens and migrates the store.
pub fn open_store(url: &str) -> Result<Arc<dyn Store>, Failure> {
    prepare_sqlite_dir(url)?;
    let store = eid_core::open(url)?;
    store.migrate()?;
    Ok(store)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn today() -> time::Date {
    now().to_offset(vietnam()).date()
}

async fn serve(config: Config) -> Result<(), Failure> {
    let (app, addr) = crate::Application::build(config).await?;
    tracing::info!(%addr, "listening");
    eprintln!("eid listening on http://{addr}");
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
        println!(
            "{}",
            import_json(
                &summary,
                report_shown.as_deref(),
                started.elapsed().as_secs_f64()
            )
        );
    } else {
        print_import_summary(
            &summary,
            &first,
            report_shown.as_deref(),
            started.elapsed().as_secs_f64(),
        );
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

fn print_import_summary(s: &ImportSummary, first: &[Rejected], report: Option<&str>, seconds: f64) {
    println!(
        "{} rows in {seconds:.1} s: {} imported, {} updated, {} unchanged, {} rejected",
        s.rows, s.imported, s.updated, s.unchanged, s.rejected
    );
    for r in first {
        println!("  line {}: {}: {}", r.line, r.column, r.reason);
    }
    if s.rejected > first.len() as u64 {
        println!("  … and {} more", s.rejected - first.len() as u64);
    }
    if let Some(path) = report {
        println!("rejected rows written to {path}");
    }
    if !s.committed {
        println!("nothing was written: the file has bad rows (use --on-error skip to keep the good ones)");
    }
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
        None => eid_core::import::export_persons(store.as_ref(), &unit, std::io::stdout().lock())?,
    };
    eprintln!("exported {n} persons");
    Ok(())
}

fn gen_persons(args: &GenPersonsArgs) -> Result<(), Failure> {
    let province = match &args.province {
        Some(p) => Some(province_code(p)?),
        None => None,
    };
    let cfg = eid_core::gen::GenConfig {
        count: args.count,
        seed: args.seed,
        province,
        today: today(),
    };
    let generator = eid_core::gen::Generator::new(&cfg)?;
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    eid_core::csvfmt::write_header(&mut w)?;
    for p in generator {
        eid_core::csvfmt::write_person(&mut w, &p)?;
    }
    w.flush()?;
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
            let id = store.create_staff(&new, now())?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "staff.create",
                &new.username,
                "ok",
                "cli",
                now(),
            )?;
            println!(
                "created user {} (id {id}), role {}, unit {}",
                new.username,
                role.as_str(),
                unit
            );
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        AdminCommand::IssueToken(a) => {
            let store = open_store(&config.db)?;
            let (staff, _) = store
                .staff_by_username(a.username.trim())?
                .ok_or_else(|| format!("no user named {:?}", a.username))?;
            let token = secret::random_token();
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
            println!("token {id} for {} (shown once):\n{token}", staff.username);
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
            println!("token {} revoked", a.id);
            Ok(())
        }
        AdminCommand::ListUsers => {
            let store = open_store(&config.db)?;
            print_users(&store.list_staff()?);
            Ok(())
        }
        AdminCommand::ListTokens => {
            let store = open_store(&config.db)?;
            println!(
                "{:>4}  {:>5}  {:<24}  {:<20}  revoked",
                "id", "user", "name", "created"
            );
            for t in store.list_api_tokens()? {
                println!(
                    "{:>4}  {:>5}  {:<24}  {:<20}  {}",
                    t.id,
                    t.staff_id,
                    t.name,
                    crate::wire::rfc3339(t.created_at),
                    t.revoked_at
                        .map(crate::wire::rfc3339)
                        .unwrap_or_else(|| "-".to_owned())
                );
            }
            Ok(())
        }
    }
}

fn print_users(users: &[Staff]) {
    println!(
        "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  disabled",
        "id", "username", "role", "unit", "display name"
    );
    for s in users {
        println!(
            "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  {}",
            s.id,
            s.username,
            s.role.as_str(),
            s.unit.as_str(),
            s.display_name,
            if s.disabled { "yes" } else { "no" }
        );
    }
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
    let units = Units::get();
    let existing: u64 = store
        .population_by_commune(&UnitCode::NATION)?
        .iter()
        .map(|(_, p)| p.total)
        .sum();
    if existing == 0 {
        let started = Instant::now();
        eprintln!(
            "generating {} persons of {} (seed {}) …",
            args.people, province, args.seed
        );
        let cfg = eid_core::gen::GenConfig {
            count: args.people,
            seed: args.seed,
            province: Some(province),
            today: today(),
        };
        let generator = eid_core::gen::Generator::new(&cfg)?;
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today: today(),
            now: now(),
            actor: Actor::Cli("demo".to_owned()),
            reason: "demo data".to_owned(),
        };
        let s = eid_core::import::import_generated(store.as_ref(), generator, &opts)?;
        eprintln!(
            "imported {} persons in {:.1} s ({} rejected)",
            s.imported,
            started.elapsed().as_secs_f64(),
            s.rejected
        );
    } else {
        eprintln!("the database already holds {existing} persons: not generating");
    }

    let accounts = demo_accounts(store.as_ref(), units, province)?;
    let mut rows = Vec::new();
    for (username, display, role, unit) in accounts {
        let password = secret::random_password();
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
        let unit_name = units
            .unit(Tree::Gso2024, &unit)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        rows.push((username, role.as_str(), unit_name, password));
    }
    println!();
    println!(
        "{:<14}  {:<9}  {:<34}  password",
        "username", "role", "unit"
    );
    for (u, r, n, p) in &rows {
        println!("{u:<14}  {r:<9}  {n:<34}  {p}");
    }
    println!();
    runtime()?.block_on(async move {
        let (app, addr) = crate::Application::with_store(config, store).await?;
        tracing::info!(%addr, "listening");
        println!("open http://{addr} and sign in with one of the accounts above");
        eprintln!("eid listening on http://{addr}");
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
