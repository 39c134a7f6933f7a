//! One small SQL interface over both engines, for the parts of the store that are written once:
//! staff, sessions, API tokens and the audit trail, accounts, applications, devices, the SMS
//! outbox, the campaign roll-ups and operations.
//!
//! The register's hot paths (bulk import, point reads) stay engine-specific in `sqlite.rs` and
//! `pg.rs`, where each engine's strengths (COPY, WITHOUT ROWID tables) are worth two versions.
//! Everything else is plain SQL that both engines read alike: statements are written with
//! PostgreSQL's `$1 … $n` placeholders, which the SQLite side turns into `?1 … ?n`. Tables used
//! through this module keep to four column types: `BIGINT`/`INTEGER`, `TEXT`, `BYTEA`/`BLOB` and
//! `DOUBLE PRECISION`/`REAL`.

use crate::store::StoreError;

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Val {
    pub fn int(&self) -> Result<i64, StoreError> {
        match self {
            Val::Int(n) => Ok(*n),
            other => Err(StoreError::Corrupt(format!(
                "expected an integer, got {}",
                other.kind()
            ))),
        }
    }
    pub fn opt_int(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Val::Null => Ok(None),
            v => v.int().map(Some),
        }
    }
    pub fn real(&self) -> Result<f64, StoreError> {
        match self {
            Val::Real(f) => Ok(*f),
            Val::Int(n) => Ok(*n as f64),
            other => Err(StoreError::Corrupt(format!(
                "expected a number, got {}",
                other.kind()
            ))),
        }
    }
    pub fn opt_real(&self) -> Result<Option<f64>, StoreError> {
        match self {
            Val::Null => Ok(None),
            v => v.real().map(Some),
        }
    }
    /// [`Val::text`], moved out instead of copied.
    pub fn into_text(self) -> Result<String, StoreError> {
        match self {
            Val::Text(s) => Ok(s),
            other => other.text(),
        }
    }

    pub fn text(&self) -> Result<String, StoreError> {
        match self {
            Val::Text(s) => Ok(s.clone()),
            other => Err(StoreError::Corrupt(format!(
                "expected text, got {}",
                other.kind()
            ))),
        }
    }
    pub fn opt_text(&self) -> Result<Option<String>, StoreError> {
        match self {
            Val::Null => Ok(None),
            v => v.text().map(Some),
        }
    }
    pub fn blob(&self) -> Result<Vec<u8>, StoreError> {
        match self {
            Val::Blob(b) => Ok(b.clone()),
            other => Err(StoreError::Corrupt(format!(
                "expected bytes, got {}",
                other.kind()
            ))),
        }
    }
    pub fn opt_blob(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Val::Null => Ok(None),
            v => v.blob().map(Some),
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Int(_) => "integer",
            Val::Real(_) => "real",
            Val::Text(_) => "text",
            Val::Blob(_) => "bytes",
        }
    }
}

impl From<i64> for Val {
    fn from(n: i64) -> Val {
        Val::Int(n)
    }
}
impl From<u32> for Val {
    fn from(n: u32) -> Val {
        Val::Int(i64::from(n))
    }
}
impl From<f64> for Val {
    fn from(f: f64) -> Val {
        Val::Real(f)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Int(i64::from(b))
    }
}
impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_owned())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}
impl From<&[u8]> for Val {
    fn from(b: &[u8]) -> Val {
        Val::Blob(b.to_vec())
    }
}
impl From<Vec<u8>> for Val {
    fn from(b: Vec<u8>) -> Val {
        Val::Blob(b)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Val {
        o.map_or(Val::Null, Into::into)
    }
}

/// One row of a result, columns in `SELECT` order.
pub type SqlRow = Vec<Val>;

/// A transaction (or, from [`Db::read`], a read-only snapshot) on either engine.
pub trait Tx {
    /// Runs a statement; returns the number of rows changed.
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64, StoreError>;
    /// Runs a query and returns every row.
    fn query(&mut self, sql: &str, args: &[Val]) -> Result<Vec<SqlRow>, StoreError>;
    /// Which engine this is (`sqlite` or `postgres`), for the rare statement that differs.
    fn engine(&self) -> &'static str;
    /// A per-database key already read on this connection (`stored_key`), if the engine keeps
    /// them: PostgreSQL does, where each read is a round trip; SQLite reads it in a few
    /// microseconds and keeps nothing.
    fn kept_key(&mut self, _name: &'static str) -> Option<Vec<u8>> {
        None
    }
    /// Keeps a key read in this unit of work, for the connection's next ones once this one has
    /// committed (a key inserted by a unit of work that rolls back is never kept).
    fn keep_key(&mut self, _name: &'static str, _value: &[u8]) {}
}

impl dyn Tx + '_ {
    /// The per-database key `name` of `app_setting` (the code key, the pairwise key), if it
    /// has been made. Such a key is written once, when first needed, and never changed, so an
    /// engine may keep it with the connection after the first read ([`Tx::kept_key`]).
    pub fn stored_key(&mut self, name: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(k) = self.kept_key(name) {
            return Ok(Some(k));
        }
        let Some(r) = self.row(
            "SELECT value FROM app_setting WHERE key = $1",
            &[name.into()],
        )?
        else {
            return Ok(None);
        };
        let k = r.into_iter().next().unwrap_or(Val::Null).blob()?;
        self.keep_key(name, &k);
        Ok(Some(k))
    }

    /// The first row, if any.
    pub fn row(&mut self, sql: &str, args: &[Val]) -> Result<Option<SqlRow>, StoreError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }
    /// A single integer (`SELECT count(*)`, `… RETURNING id`).
    pub fn int(&mut self, sql: &str, args: &[Val]) -> Result<i64, StoreError> {
        match self.row(sql, args)? {
            Some(r) => r
                .first()
                .map_or(Ok(0), |v| v.opt_int().map(|o| o.unwrap_or(0))),
            None => Err(StoreError::Corrupt("query returned no row".into())),
        }
    }
}

/// What a transaction body gives back: the caller's own error type, or a store error.
pub enum Outcome<E> {
    Store(StoreError),
    Refused(E),
}

/// Runs transactions on the store's engine. Implemented by both engines.
pub trait Db {
    /// Runs `body` in one write transaction; commits when it returns `Ok`, rolls back on `Err`.
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `body` on a read connection (a consistent snapshot where the engine gives one).
    fn read_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `body` without an explicit transaction: each statement commits on its own. For
    /// bodies of one statement, where `BEGIN` and `COMMIT` would only add round trips. `write`
    /// asks for the connection that may write (SQLite's single writer) instead of a reader.
    fn autocommit_dyn(
        &self,
        write: bool,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

/// The marker a body's refusal travels under so that the engine rolls back.
const REFUSED: &str = "transaction body refused";

/// Runs `body` in one write transaction. `Err(E)` from the body rolls back and is returned as is;
/// a store error rolls back and is converted with `From`.
pub fn transact<T, E: From<StoreError>>(
    db: &dyn Db,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E> {
    let mut body = Some(body);
    let mut out: Option<Result<T, E>> = None;
    let result = db.transact_dyn(&mut |tx| {
        let Some(f) = body.take() else {
            return Err(StoreError::Db("transaction body run twice".into()));
        };
        match f(tx) {
            Ok(v) => {
                out = Some(Ok(v));
                Ok(())
            }
            Err(e) => {
                out = Some(Err(e));
                Err(StoreError::Conflict(REFUSED))
            }
        }
    });
    match (result, out) {
        (Ok(()), Some(r)) => r,
        (Err(StoreError::Conflict(REFUSED)), Some(Err(e))) => Err(e),
        (Err(e), _) => Err(E::from(e)),
        (Ok(()), None) => Err(E::from(StoreError::Db(
            "transaction body did not run".into(),
        ))),
    }
}

/// Runs `body` on a read connection.
pub fn read<T, E: From<StoreError>>(
    db: &dyn Db,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
) -> Result<T, E> {
    let mut body = Some(body);
    let mut out: Option<Result<T, E>> = None;
    let result = db.read_dyn(&mut |tx| {
        let Some(f) = body.take() else {
            return Err(StoreError::Db("read body run twice".into()));
        };
        out = Some(f(tx));
        Ok(())
    });
    match (result, out) {
        (Ok(()), Some(r)) => r,
        (Err(e), _) => Err(E::from(e)),
        (Ok(()), None) => Err(E::from(StoreError::Db("read body did not run".into()))),
    }
}

fn autocommit<T>(
    db: &dyn Db,
    write: bool,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut body = Some(body);
    let mut out: Option<T> = None;
    db.autocommit_dyn(write, &mut |tx| {
        let Some(f) = body.take() else {
            return Err(StoreError::Db("statement body run twice".into()));
        };
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Db("statement body did not run".into()))
}

/// Runs a body of one writing statement outside an explicit transaction (see
/// [`Db::autocommit_dyn`]). A body of several statements belongs in [`transact`].
pub fn write_one<T>(
    db: &dyn Db,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    autocommit(db, true, body)
}

/// Runs a body of one reading statement on a reader, outside an explicit transaction.
pub fn read_one<T>(
    db: &dyn Db,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    autocommit(db, false, body)
}

/// What a grouped body hands back: whether its writes stand, and how to answer its caller once
/// the group's transaction has committed (or failed).
type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type GroupBody = Box<dyn FnOnce(&mut dyn Tx) -> (bool, Deliver) + Send>;

/// The most bodies one group transaction takes.
const GROUP_MAX: usize = 64;

/// Group commit: concurrent write transactions gathered into one, each body under a savepoint
/// of its own, each caller answered only after the group's `COMMIT` returned. A body that
/// refuses (or fails) rolls back to its savepoint, so its writes go and the others' stay,
/// exactly as if each had its own transaction; the group shares the commit's work (the WAL
/// frames of the pages the bodies share, the commit record, one `BEGIN`/`COMMIT`). One thread
/// runs the groups: it takes whatever bodies are waiting when it is free (nothing is held back
/// to wait for more), so a lone body commits at once and without savepoints.
///
/// Bodies run on that thread, in arrival order: a body must not wait on another body's caller.
pub struct Group {
    queue: std::sync::Mutex<Option<std::sync::mpsc::Sender<GroupBody>>>,
    counts: std::sync::Arc<GroupCounts>,
}

/// How many group transactions a [`Group`] began, and how many bodies they held.
#[derive(Default)]
struct GroupCounts {
    groups: std::sync::atomic::AtomicU64,
    bodies: std::sync::atomic::AtomicU64,
}

impl Group {
    /// Starts the thread that commits groups on the database `db(owner)` (named `name`); it
    /// ends when the `Group` is dropped.
    pub fn start<D: ?Sized + Send + Sync + 'static>(
        name: &str,
        owner: std::sync::Arc<D>,
        db: fn(&D) -> &dyn Db,
    ) -> Result<Group, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel::<GroupBody>();
        let counts = std::sync::Arc::new(GroupCounts::default());
        let mine = std::sync::Arc::clone(&counts);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut bodies = vec![first];
                    while bodies.len() < GROUP_MAX {
                        match rx.try_recv() {
                            Ok(b) => bodies.push(b),
                            Err(_) => break,
                        }
                    }
                    use std::sync::atomic::Ordering::Relaxed;
                    mine.groups.fetch_add(1, Relaxed);
                    mine.bodies.fetch_add(bodies.len() as u64, Relaxed);
                    run_group(db(&owner), bodies);
                }
            })
            .map_err(|e| StoreError::Db(format!("cannot start the group-commit thread: {e}")))?;
        Ok(Group {
            queue: std::sync::Mutex::new(Some(tx)),
            counts,
        })
    }

    /// How many group transactions have begun, and how many bodies they held (so the mean
    /// group size is their ratio). A group is counted before its bodies run.
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.counts.groups.load(Relaxed),
            self.counts.bodies.load(Relaxed),
        )
    }

    fn send(&self, body: GroupBody) -> Result<(), StoreError> {
        let gone = || StoreError::Db("the group-commit thread has stopped".into());
        let queue = self.queue.lock().map_err(|_| gone())?;
        queue
            .as_ref()
            .ok_or_else(gone)?
            .send(body)
            .map_err(|_| gone())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
    }
}

/// The marker under which a lone body's refusal rolls its transaction back.
const GROUP_REFUSED: &str = "grouped body refused";

fn run_group(db: &dyn Db, bodies: Vec<GroupBody>) {
    let alone = bodies.len() == 1;
    let mut bodies: Vec<Option<GroupBody>> = bodies.into_iter().map(Some).collect();
    let mut delivers: Vec<Deliver> = Vec::with_capacity(bodies.len());
    let result = db.transact_dyn(&mut |tx| {
        for slot in bodies.iter_mut() {
            let Some(body) = slot.take() else {
                return Err(StoreError::Db("group body run twice".into()));
            };
            if alone {
                let (keep, deliver) = body(tx);
                delivers.push(deliver);
                return if keep {
                    Ok(())
                } else {
                    Err(StoreError::Conflict(GROUP_REFUSED))
                };
            }
            tx.exec("SAVEPOINT eid_group", &[])?;
            let (keep, deliver) = body(tx);
            delivers.push(deliver);
            if !keep {
                tx.exec("ROLLBACK TO SAVEPOINT eid_group", &[])?;
            }
            tx.exec("RELEASE SAVEPOINT eid_group", &[])?;
        }
        Ok(())
    });
    match result {
        Ok(()) | Err(StoreError::Conflict(GROUP_REFUSED)) => {
            for d in delivers {
                d(Ok(()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for d in delivers {
                d(Err(StoreError::Db(msg.clone())));
            }
        }
    }
    // A body that never ran (the transaction failed before it) is dropped here, with its
    // caller's channel: that caller gets an error.
}

/// Runs `body` as [`transact`] does, but in `group`'s next group transaction when there is a
/// group: the answer comes back after that transaction committed, and `Err` from the body rolls
/// back only the body's own writes. Blocks the calling thread meanwhile.
pub fn transact_grouped<T, E, F>(db: &dyn Db, group: Option<&Group>, body: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
{
    let Some(group) = group else {
        return transact(db, body);
    };
    let (answer, answered) = std::sync::mpsc::sync_channel::<Result<T, E>>(1);
    group.send(Box::new(move |tx: &mut dyn Tx| {
        let out = body(tx);
        let keep = out.is_ok();
        let deliver: Deliver = Box::new(move |committed: Result<(), StoreError>| {
            let _ = answer.send(committed.map_err(E::from).and(out));
        });
        (keep, deliver)
    }))?;
    answered
        .recv()
        .map_err(|_| E::from(StoreError::Db("the group transaction was lost".into())))?
}

/// `$1 … $n` → `?1 … ?n` for SQLite. Statements in this crate put no `$` in literals.
pub fn to_sqlite_placeholders(sql: &str) -> String {
    sql.replace('$', "?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_keep_their_numbers() {
        assert_eq!(
            to_sqlite_placeholders("SELECT a FROM t WHERE b = $2 AND c = $1 OR d = $10"),
            "SELECT a FROM t WHERE b = ?2 AND c = ?1 OR d = ?10"
        );
    }

    #[test]
    fn values_read_back_as_their_kind_or_say_what_they_are() {
        assert_eq!(Val::Int(3).int().ok(), Some(3));
        assert_eq!(Val::Null.opt_int().ok(), Some(None));
        assert_eq!(Val::Int(2).real().ok(), Some(2.0));
        let err = Val::Text("x".into()).int().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("stored data is corrupt: expected an integer, got text")
        );
        assert_eq!(Val::from(Some("a")), Val::Text("a".into()));
        assert_eq!(Val::from(None::<i64>), Val::Null);
    }
}
