//! `eid audit verify`: checks the data-use transparency log — every stored entry against its
//! leaf hash, every checkpoint's root against the stored entries and its signature against the
//! platform's key, and that each checkpoint extends the one before (RFC 6962 consistency).
//! Exit code 0 when the log is sound, 1 when it is not (each problem on stderr, naming the
//! entry or checkpoint). `eid audit checkpoint` signs and stores a checkpoint now.

use super::*;
use eid_core::oidc::keys;
use eid_core::transparency::{checkpoint, verify};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verifies the data-use transparency log: entries, checkpoints (root and signature) and
    /// consistency between successive checkpoints. Exit code 1 when anything is wrong.
    Verify,
    /// Signs and stores a checkpoint of the data-use log now (the server does so regularly).
    Checkpoint(AuditCheckpointArgs),
}

#[derive(Debug, Args)]
pub struct AuditCheckpointArgs {
    /// The key-encryption key file of the signing keys [default: the server's].
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

pub(super) fn audit(config: &Config, cmd: AuditCommand) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let store = store.as_ref();
    match cmd {
        AuditCommand::Verify => {
            eid_core::transparency::staff_reads::fold(store)?;
            let report = verify::verify(store)?;
            for p in &report.problems {
                errln!("eid audit verify: {p}");
            }
            if report.ok() {
                outln!(
                    "data-use log verified: {} entries, {} checkpoints, each signed and each extending the one before",
                    report.entries,
                    report.checkpoints
                )
            } else {
                Err(Failure {
                    message: format!(
                        "the data-use log does not verify: {} problem(s)",
                        report.problems.len()
                    ),
                    code: 1,
                })
            }
        }
        AuditCommand::Checkpoint(a) => {
            let path = match a.key_file {
                Some(p) => p,
                None => super::oidc::key_file(config)?,
            };
            let kek = keys::Kek::load_or_create(&path)?;
            eid_core::transparency::staff_reads::fold(store)?;
            match checkpoint::publish(store, &kek, now())? {
                Some(cp) => outln!("checkpoint {} signed\n{}", cp.size, cp.note.trim_end()),
                None => outln!("no new entries since the last checkpoint"),
            }
        }
    }
}
