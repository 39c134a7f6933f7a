//! The arguments of each command; their doc comments are the `--help` text.

use super::*;

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
    /// Makes a noisy sector copy of a person file (names without diacritics, typos, swaps,
    /// missing and wrong IDs, duplicated rows, moves, deaths) and its ground truth.
    Sector(GenSectorArgs),
}

#[derive(Debug, Args)]
pub struct GenSectorArgs {
    /// The person CSV to copy (from `eid gen persons`).
    #[arg(long, value_name = "PATH")]
    pub persons: PathBuf,
    /// The seed of the noise.
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// The sector CSV to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// The truth to write: row_id,personal_id (empty for people the register does not hold).
    #[arg(long, value_name = "PATH")]
    pub truth: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Links a sector CSV against a person CSV in memory (no database) and writes one decision
    /// a row: row_id,outcome,method,personal_id,alternative_id,score.
    Run(LinkRunArgs),
    /// Saves a sector source and its column mapping (checked before it is saved).
    Source(LinkSourceArgs),
    /// Imports a sector CSV from a saved source: every row matched against the register and
    /// stored with its explanation; bad rows reported with line and reason.
    Import(LinkImportArgs),
    /// Matches the register against itself: a merge proposal for every pair of persons taken
    /// for one, and the data-quality roll-ups (population, missing fields) refreshed.
    Dedupe(LinkDedupeArgs),
}

#[derive(Debug, Args)]
pub struct LinkDedupeArgs {
    /// Match probability at or above which a pair is proposed with confidence.
    #[arg(long, default_value_t = 0.9)]
    pub matched: f64,
    /// Match probability at or above which a pair is proposed at all.
    #[arg(long, default_value_t = 0.5)]
    pub review: f64,
}

#[derive(Debug, Args)]
pub struct LinkSourceArgs {
    /// The source's name (letters, digits, _ and -).
    #[arg(long)]
    pub name: String,
    /// social_insurance, health_insurance, civil_births, civil_deaths, education or other.
    #[arg(long)]
    pub kind: String,
    /// Which column holds each field, as field=column,… (fields: row_id, personal_id, surname,
    /// middle_name, given_name, birth_date, sex, unit_tree, unit); other columns are kept.
    #[arg(long)]
    pub mapping: String,
}

#[derive(Debug, Args)]
pub struct LinkImportArgs {
    /// The saved source the file comes from.
    #[arg(long)]
    pub source: String,
    /// The sector file: a CSV, or an XLSX workbook (its first sheet).
    pub file: PathBuf,
    /// The day the file was received (YYYY-MM-DD) [default: today].
    #[arg(long, value_name = "DATE")]
    pub received: Option<String>,
    /// Where to write the rejected rows (line,column,reason) [default: FILE.rejected.csv].
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Match probability at or above which a row is matched.
    #[arg(long, default_value_t = 0.9)]
    pub matched: f64,
    /// Match probability at or above which a row goes to review.
    #[arg(long, default_value_t = 0.5)]
    pub review: f64,
}

#[derive(Debug, Args)]
pub struct LinkRunArgs {
    /// The register, a person CSV.
    #[arg(long, value_name = "PATH")]
    pub register: PathBuf,
    /// The sector CSV.
    #[arg(long, value_name = "PATH")]
    pub sector: PathBuf,
    /// Which column holds each field, as field=column,… [default: columns named as the fields].
    #[arg(long)]
    pub mapping: Option<String>,
    /// The decisions CSV to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Match probability at or above which a row is matched.
    #[arg(long, default_value_t = 0.9)]
    pub matched: f64,
    /// Match probability at or above which a row goes to review.
    #[arg(long, default_value_t = 0.5)]
    pub review: f64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// How many rows the EM trains on.
    #[arg(long, default_value_t = 50_000)]
    pub sample: usize,
    /// Prints the estimated model (each field level's weight, the prior) on stderr.
    #[arg(long)]
    pub show_model: bool,
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
    /// Provinces (comma-separated codes of the 2024 tree) that together hold --heavy-share
    /// percent of the residents, in equal shares (a nation with five provinces the size of
    /// Thanh Hóa: five codes at 90 % of 20 M).
    #[arg(long, value_delimiter = ',')]
    pub heavy: Vec<String>,
    /// The percentage of residents in the --heavy provinces.
    #[arg(long, default_value_t = 90)]
    pub heavy_share: u8,
    /// Leaves out the first N persons (the same persons as without it, so a register can be
    /// grown in slices of one generated set).
    #[arg(long, default_value_t = 0)]
    pub skip: u64,
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
    /// The relying-party registry: services that sign citizens in with eid (OpenID Connect).
    #[command(subcommand)]
    Client(RpCommand),
    /// The OpenID provider's signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Announced peaks: windows in which new registrations get a smaller share of the server.
    #[command(subcommand)]
    Peak(super::surge::PeakCommand),
    /// Copies a SQLite database (and its audit trail) into a new file while the server runs.
    Backup(super::surge::BackupArgs),
    /// Restores a backup onto the configured SQLite database (server stopped).
    Restore(super::surge::RestoreArgs),
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
