//! `eid admin peak add|list|remove` (announced peaks for the admission control, issue 16) and
//! `eid admin backup` / `eid admin restore` (SQLite online backup and its restore).
//!
//! Peaks go through `eid_core::peaks` as a ministry-level caller recorded as `cli:admin`; the
//! backup through the store (`Store::backup_to`), the restore through `eid_store::backup`.

use super::*;
use eid_core::peaks::{self, NewPeak};

#[derive(Debug, Subcommand)]
pub enum PeakCommand {
    /// Announces a peak: in its window new registrations get a smaller share of the server,
    /// so that officers and sign-ins keep theirs.
    Add(PeakAddArgs),
    /// Lists the announced peaks that have not ended.
    List,
    /// Removes an announced peak by its id.
    Remove(PeakIdArgs),
}

#[derive(Debug, Args)]
pub struct PeakAddArgs {
    /// When it starts: "dd/mm/yyyy hh:mm" in Vietnam's time, or RFC 3339.
    #[arg(long)]
    pub start: String,
    /// When it ends (same forms).
    #[arg(long)]
    pub end: String,
    /// The expected load as a multiple of an ordinary day (3, 2.5).
    #[arg(long)]
    pub load: String,
    /// What the peak is (up to 200 characters).
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct PeakIdArgs {
    /// The peak's id (from `eid admin peak list`).
    #[arg(long)]
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist); the audit trail goes beside it as FILE's
    /// `.audit.db`. Safe while the server runs.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (from `eid admin backup`). Stop the server first.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replaces a database that holds people or staff.
    #[arg(long)]
    pub force: bool,
}

/// The command line as a caller: ministry level, recorded as `cli:admin`.
fn cli_acting() -> eid_core::Acting {
    let staff = Staff {
        id: 0,
        username: "admin".to_owned(),
        display_name: "eid admin (command line)".to_owned(),
        role: Role::Ministry,
        unit: UnitCode::NATION,
        disabled: false,
    };
    eid_core::Acting::new(
        eid_core::Caller {
            staff,
            actor: Actor::Cli("admin".to_owned()),
        },
        "cli",
        now(),
    )
}

fn time(s: &str, what: &str) -> Result<OffsetDateTime, Failure> {
    peaks::parse_time(s).ok_or_else(|| {
        Failure::from(format!(
            "--{what}: write a time as dd/mm/yyyy hh:mm (Vietnam) or RFC 3339, got {s:?}"
        ))
    })
}

pub(super) fn peak(config: &Config, cmd: PeakCommand) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let acting = cli_acting();
    match cmd {
        PeakCommand::Add(a) => {
            let new = NewPeak {
                starts_at: time(&a.start, "start")?,
                ends_at: time(&a.end, "end")?,
                load_permille: peaks::parse_load(&a.load).ok_or_else(|| {
                    format!(
                        "--load: a multiple of an ordinary day (3, 2.5), got {:?}",
                        a.load
                    )
                })?,
                note: a.note,
            };
            let id = peaks::add(store.as_ref(), &acting, &new).map_err(core_failure)?;
            outln!(
                "peak {id} announced: {} – {}, {}",
                peaks::show_time(new.starts_at),
                peaks::show_time(new.ends_at),
                peaks::show_load(new.load_permille, false)
            )
        }
        PeakCommand::List => {
            let list = peaks::upcoming(store.as_ref(), now())?;
            if list.is_empty() {
                return outln!("no peak announced");
            }
            for p in list {
                outln!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    p.id,
                    peaks::show_time(p.starts_at),
                    peaks::show_time(p.ends_at),
                    peaks::show_load(p.load_permille, false),
                    p.note,
                    if p.holds(now()) {
                        "\t(in progress)"
                    } else {
                        ""
                    }
                )?;
            }
            Ok(())
        }
        PeakCommand::Remove(a) => {
            peaks::remove(store.as_ref(), &acting, a.id).map_err(core_failure)?;
            outln!("peak {} removed", a.id)
        }
    }
}

fn core_failure(e: eid_core::Error) -> Failure {
    Failure::from(match e {
        eid_core::Error::Bad { message, .. } | eid_core::Error::NotFound { message, .. } => message,
        e => e.to_string(),
    })
}

fn sqlite_path(url: &str) -> Result<PathBuf, Failure> {
    url.strip_prefix("sqlite://")
        .map(PathBuf::from)
        .ok_or_else(|| {
            Failure::from(
                "eid admin backup and restore work on SQLite; for PostgreSQL see scripts/pg-pitr.sh"
                    .to_owned(),
            )
        })
}

pub(super) fn backup(config: &Config, a: BackupArgs) -> Result<(), Failure> {
    sqlite_path(&config.db)?;
    let store = open_store(&config.db)?;
    let started = Instant::now();
    let copied = store.backup_to(&a.to)?;
    store.audit(
        &Actor::Cli("admin".to_owned()),
        "db.backup",
        "",
        "ok",
        "cli",
        now(),
    )?;
    outln!(
        "backed up to {} ({} bytes{}): {} persons, {} staff, integrity ok, {:.1} s",
        copied.main.0.display(),
        copied.main.1,
        copied
            .audit
            .as_ref()
            .map(|(p, n)| format!("; audit trail {} ({n} bytes)", p.display()))
            .unwrap_or_default(),
        copied.persons,
        copied.staff,
        started.elapsed().as_secs_f64()
    )
}

pub(super) fn restore(config: &Config, a: RestoreArgs) -> Result<(), Failure> {
    let target = sqlite_path(&config.db)?;
    let copied = eid_core::backup::restore(&a.from, &target, a.force)?;
    // The restored file may predate the binary: bring its schema up to date.
    let store = open_store(&config.db)?;
    store.audit(
        &Actor::Cli("admin".to_owned()),
        "db.restore",
        "",
        "ok",
        "cli",
        now(),
    )?;
    outln!(
        "restored {} onto {}: {} persons, {} staff, integrity ok",
        a.from.display(),
        copied.main.0.display(),
        copied.persons,
        copied.staff
    )
}

/// The demo's part: one announced peak (tomorrow evening, 19:00–21:00 in Vietnam, 3×) unless
/// one is announced already, and where to look.
pub(super) fn demo_surge(store: &dyn Store, base: &str) -> Result<(), Failure> {
    let now = now();
    if peaks::upcoming(store, now)?.is_empty() {
        let day = now
            .to_offset(vietnam())
            .date()
            .next_day()
            .unwrap_or(now.date());
        let at = |h: u8| {
            time::PrimitiveDateTime::new(
                day,
                time::Time::from_hms(h, 0, 0).unwrap_or(time::Time::MIDNIGHT),
            )
            .assume_offset(vietnam())
        };
        let new = NewPeak {
            starts_at: at(19),
            ends_at: at(21),
            load_permille: 3000,
            note: "Ví dụ: giờ cao điểm buổi tối (demo)".to_owned(),
        };
        peaks::add(store, &cli_acting(), &new).map_err(core_failure)?;
    }
    outln!("surge: open {base}/surge as the ministry account (lanes, turned away, announced peaks); eid admin backup --to FILE copies the database while it serves")
}
