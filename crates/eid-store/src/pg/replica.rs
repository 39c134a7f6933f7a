//! Read-only work on streaming replicas, with a staleness bound and read-your-writes.
//!
//! Replicas are listed in the database URL (`replica=postgres://…`, repeatable) beside
//! `max_replica_lag_ms=N` (default [`DEFAULT_MAX_LAG_MS`]). Read transactions and the register's
//! reads (lookups, searches, households, exports, roll-ups) go to a replica, in turn, when both
//! hold at the start of the read:
//! - it has replayed this server's last committed write (its replay LSN is at or past the WAL
//!   position the primary gave right after that commit): whatever this server acknowledged is
//!   visible, so a user reads back their own writes;
//! - it is streaming from the primary and its replay lag is at most `max_replica_lag_ms`: the lag
//!   is 0 when everything received is replayed, else the age of the last replayed transaction.
//!   Writes made through other servers are then at most that old.
//!
//! Otherwise the read goes to the primary. A replica that cannot be reached rests for
//! [`REST`] before it is tried again. Writes, the health check and migrations always use the
//! primary. The freshness check costs one round trip per read on the replica; it needs the
//! `pg_monitor` role (or a superuser) to see `pg_stat_wal_receiver`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::pool::Pool;
use super::*;

/// Replay lag beyond which a replica is skipped, unless the URL says otherwise.
pub const DEFAULT_MAX_LAG_MS: u64 = 1_000;
/// How long an unreachable replica is left alone.
const REST: Duration = Duration::from_secs(2);
/// Position unknown: reads go to the primary until a write's position is known again.
const UNKNOWN: u64 = u64::MAX;

/// The WAL position (as a byte offset) of this server's last committed write.
pub(super) struct Floor {
    lsn: Mutex<u64>,
}

impl Floor {
    pub(super) fn new() -> Floor {
        Floor { lsn: Mutex::new(0) }
    }

    fn get(&self) -> u64 {
        *self.lsn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the primary's current WAL position on `client`, right after a write on it, and
    /// raises the floor to it. If the position cannot be read the floor becomes unknown.
    pub(super) fn record(&self, client: &mut Client) {
        let lsn = client
            .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", &[])
            .and_then(|row| row.try_get::<_, i64>(0))
            .ok()
            .and_then(|n| u64::try_from(n).ok());
        let mut cur = self.lsn.lock().unwrap_or_else(|p| p.into_inner());
        *cur = match lsn {
            Some(n) if *cur == UNKNOWN => n,
            Some(n) => (*cur).max(n),
            None => UNKNOWN,
        };
    }
}

pub(super) struct Replica {
    pub(super) pool: Pool,
    resting_until: Mutex<Option<Instant>>,
}

/// The read routing of a store with replicas.
pub(super) struct Replicas {
    pub(super) list: Vec<Replica>,
    pub(super) max_lag_ms: u64,
    pub(super) floor: Arc<Floor>,
    next: AtomicUsize,
}

/// The parts of a database URL that are the store's, not libpq's.
pub(super) struct UrlParts {
    pub(super) url: String,
    pub(super) pool: usize,
    pub(super) replicas: Vec<String>,
    pub(super) max_lag_ms: u64,
}

/// Splits `pool=N`, `replica=URL` (repeatable) and `max_replica_lag_ms=N` out of the URL's
/// query string; the rest stays for the driver.
pub(super) fn split_url(url: &str) -> Result<UrlParts, StoreError> {
    let mut parts = UrlParts {
        url: url.to_owned(),
        pool: DEFAULT_POOL,
        replicas: Vec::new(),
        max_lag_ms: DEFAULT_MAX_LAG_MS,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok(parts);
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool", n)) => {
                parts.pool = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        StoreError::Db("database URL: pool must be a number from 1 to 1000".into())
                    })?;
            }
            Some(("replica", r)) => {
                if !(r.starts_with("postgres://") || r.starts_with("postgresql://")) {
                    return Err(StoreError::Db(
                        "database URL: replica must be a postgres:// URL".into(),
                    ));
                }
                parts.replicas.push(r.to_owned());
            }
            Some(("max_replica_lag_ms", n)) => {
                parts.max_lag_ms = n.parse::<u64>().map_err(|_| {
                    StoreError::Db("database URL: max_replica_lag_ms must be a number".into())
                })?;
            }
            _ => rest.push(pair),
        }
    }
    parts.url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok(parts)
}

impl Replicas {
    pub(super) fn new(
        urls: &[String],
        schema: Option<&str>,
        max: usize,
        max_lag_ms: u64,
        floor: Arc<Floor>,
    ) -> Result<Replicas, StoreError> {
        let mut list = Vec::with_capacity(urls.len());
        for url in urls {
            let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
                StoreError::Db(format!("bad PostgreSQL replica URL: {e}"))
            })?;
            if config.get_application_name().is_none() {
                config.application_name("eid");
            }
            if config.get_connect_timeout().is_none() {
                config.connect_timeout(Duration::from_secs(2));
            }
            list.push(Replica {
                pool: Pool::new(config, schema.map(str::to_owned), max, None),
                resting_until: Mutex::new(None),
            });
        }
        Ok(Replicas {
            list,
            max_lag_ms,
            floor,
            next: AtomicUsize::new(0),
        })
    }

    /// The schema changed on the primary: the replicas' connections prepare again too.
    pub(super) fn schema_changed(&self) {
        for r in &self.list {
            r.pool.schema_changed();
        }
    }

    /// A connection to a replica fresh enough for this read, if one is.
    pub(super) fn conn(&self) -> Option<Conn<'_>> {
        let floor = self.floor.get();
        if floor == UNKNOWN || self.list.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.list.len() {
            let r = &self.list[(start + i) % self.list.len()];
            if r.resting() {
                continue;
            }
            let mut conn = match r.pool.get() {
                Ok(c) => c,
                Err(_) => {
                    r.rest();
                    continue;
                }
            };
            match fresh(&mut conn, floor, self.max_lag_ms) {
                Ok(true) => return Some(conn),
                Ok(false) => {}
                Err(e) => {
                    let _ = conn.check(Err::<(), _>(e));
                    r.rest();
                }
            }
        }
        None
    }
}

impl Replica {
    fn resting(&self) -> bool {
        let mut until = self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    fn rest(&self) {
        *self.resting_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REST);
    }
}

/// Whether the replica behind `conn` has replayed `floor` and lags at most `max_lag_ms`.
fn fresh(conn: &mut Conn<'_>, floor: u64, max_lag_ms: u64) -> Result<bool, StoreError> {
    let row = conn
        .c()?
        .query_one(
            "SELECT pg_is_in_recovery(), \
                    COALESCE((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0), \
                    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                         ELSE COALESCE((extract(epoch FROM clock_timestamp() \
                              - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0) END, \
                    EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')",
            &[],
        )
        .map_err(db)?;
    let recovering: bool = row.try_get(0).map_err(db)?;
    let replayed: i64 = row.try_get(1).map_err(db)?;
    let lag: i64 = row.try_get(2).map_err(db)?;
    let streaming: bool = row.try_get(3).map_err(db)?;
    Ok(recovering
        && streaming
        && u64::try_from(replayed).is_ok_and(|r| r >= floor)
        && u64::try_from(lag).is_ok_and(|l| l <= max_lag_ms))
}
