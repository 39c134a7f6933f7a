//! Online backups of a SQLite database and their restore (`eid admin backup`, `eid admin
//! restore`).
//!
//! A backup is `VACUUM INTO` run on a read connection of the serving store: in WAL mode that is
//! one read transaction, so the copy is the database as of the moment it began (every write
//! committed before it is in, none after), and the writer and other readers go on meanwhile. The
//! audit trail's own file (`NAME.audit.db`) is copied the same way next to the backup
//! (`FILE` → `FILE`'s `.audit.db` sibling, as [`crate::sqlite::audit_path`] names it). Each copy
//! is written under a temporary name, checked with `PRAGMA integrity_check`, and only then
//! renamed into place, so a failed backup leaves no half file behind.
//!
//! A restore is offline (the server stopped): it checks the backup, refuses to replace a
//! database that holds people or staff unless forced, copies the backup next to the target and
//! renames it over it, removing the target's stale WAL and shared-memory files.
//!
//! PostgreSQL is backed up with its own tools (base backups and WAL archiving, see
//! `scripts/pg-pitr.sh` and the README's "Backups").

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::sqlite::audit_path;
use crate::StoreError;

/// What a backup or a restore copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// The register's file and its size in bytes.
    pub main: (PathBuf, u64),
    /// The audit trail's file and its size, when the source had one.
    pub audit: Option<(PathBuf, u64)>,
    /// Persons and staff accounts in the copy.
    pub persons: i64,
    pub staff: i64,
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(format!("{what} {}: {e}", path.display()))
}

fn temp_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `PRAGMA integrity_check` on the file at `path`, opened read-only: `Ok` only for "ok".
pub fn integrity(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| io("opening", path, e))?;
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| io("checking", path, e))?;
    if result == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "{} fails the integrity check: {result}",
            path.display()
        )))
    }
}

/// Rows in `table` of the database at `path`, 0 when it has no such table.
fn count(conn: &Connection, table: &str) -> Result<i64, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(0);
    }
    Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
}

/// Copies the database `conn` has open into `to` as of one read transaction, through a temporary
/// file that is checked before it is renamed into place. Refuses an existing `to`.
fn vacuum_into(conn: &Connection, to: &Path) -> Result<u64, StoreError> {
    if to.exists() {
        return Err(StoreError::Db(format!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        )));
    }
    let temp = temp_of(to);
    let _ = std::fs::remove_file(&temp);
    let target = temp.to_string_lossy().into_owned();
    let result = conn
        .execute("VACUUM INTO ?1", [&target])
        .map_err(|e| io("copying into", to, e))
        .and_then(|_| integrity(&temp))
        .and_then(|()| std::fs::rename(&temp, to).map_err(|e| io("renaming onto", to, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|()| size(to))
}

/// Backs up the serving database: `main` is one of its read connections, `audit_file` the path
/// of its audit trail (copied through a connection of its own, so the flusher is not held).
pub(crate) fn backup(
    main: &Connection,
    audit_file: Option<&Path>,
    to: &Path,
) -> Result<Copied, StoreError> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
    }
    let audit_to = audit_path(to);
    if audit_to.exists() {
        return Err(StoreError::Db(format!(
            "{} exists already: a backup never overwrites a file",
            audit_to.display()
        )));
    }
    let bytes = vacuum_into(main, to)?;
    let audit = match audit_file.filter(|p| p.exists()) {
        Some(file) => {
            let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| io("opening", file, e))?;
            Some((audit_to.clone(), vacuum_into(&conn, &audit_to)?))
        }
        None => None,
    };
    let copy = Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| io("opening", to, e))?;
    Ok(Copied {
        main: (to.to_path_buf(), bytes),
        audit,
        persons: count(&copy, "person")?,
        staff: count(&copy, "staff")?,
    })
}

/// Whether the database file at `path` holds people or staff (a file that is not a database
/// counts as holding something: it is not ours to replace silently).
pub fn holds_data(path: &Path) -> bool {
    if !path.exists() || size(path) == 0 {
        return false;
    }
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return true;
    };
    match (count(&conn, "person"), count(&conn, "staff")) {
        (Ok(p), Ok(s)) => p > 0 || s > 0,
        _ => true,
    }
}

/// Restores the backup `from` (and its audit file, when there is one) onto the database file
/// `to`, with the server stopped. Refuses a target that holds people or staff unless `force`.
pub fn restore(from: &Path, to: &Path, force: bool) -> Result<Copied, StoreError> {
    if !from.exists() {
        return Err(StoreError::Db(format!("no backup at {}", from.display())));
    }
    integrity(from)?;
    let audit_from = audit_path(from);
    let has_audit = audit_from.exists();
    if has_audit {
        integrity(&audit_from)?;
    }
    if holds_data(to) && !force {
        return Err(StoreError::Db(format!(
            "{} holds people or staff: restoring would replace them (add --force to do so)",
            to.display()
        )));
    }
    let put = |from: &Path, to: &Path| -> Result<u64, StoreError> {
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
        }
        let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| io("opening", from, e))?;
        let temp = temp_of(to);
        let _ = std::fs::remove_file(&temp);
        let target = temp.to_string_lossy().into_owned();
        let copied = conn
            .execute("VACUUM INTO ?1", [&target])
            .map_err(|e| io("copying into", to, e))
            .and_then(|_| integrity(&temp));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        // The old file's log and shared memory belong to the old file.
        for suffix in ["-wal", "-shm"] {
            let mut stale = to.as_os_str().to_owned();
            stale.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(stale));
        }
        std::fs::rename(&temp, to).map_err(|e| io("renaming onto", to, e))?;
        Ok(size(to))
    };
    let bytes = put(from, to)?;
    let audit = if has_audit {
        let audit_to = audit_path(to);
        Some((audit_to.clone(), put(&audit_from, &audit_to)?))
    } else {
        None
    };
    let conn = Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| io("opening", to, e))?;
    Ok(Copied {
        main: (to.to_path_buf(), bytes),
        audit,
        persons: count(&conn, "person")?,
        staff: count(&conn, "staff")?,
    })
}
