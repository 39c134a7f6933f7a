//! The connection pool: a few clients behind a mutex, opened when first needed and kept.
//!
//! A connection found dead (the server went away: a crash, a failover) is dropped, and with it
//! every idle one — they lead to the same server — so the next caller opens a fresh one, which
//! a URL listing several hosts with `target_session_attrs=read-write` sends to the new primary.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::replica::Floor;
use super::*;

/// Statements prepared on a connection, kept with it: a statement sent as text is parsed by the
/// server each time and costs a round trip more (parse and describe, then bind and execute); a
/// kept one is bound and executed at once. Plans are still made per execution where PostgreSQL
/// judges a custom plan better (a person's lookup keeps pruning to one partition at plan time).
pub(super) struct Statements {
    kept: HashMap<String, postgres::Statement>,
    /// Per-database keys read on this connection by a unit of work that then committed
    /// ([`crate::sql::Tx::kept_key`]): written once and never changed, so never stale.
    pub(super) keys: HashMap<&'static str, Vec<u8>>,
    /// The pool's schema generation when they were prepared ([`Pool::schema_changed`]).
    generation: u64,
}

/// Statements kept per connection; past this the connection's are dropped and prepared again
/// as they come. eid sends a few hundred distinct statements, and a read of one person or one
/// account one per province partition it meets (`store::province_partition`): up to 64 each.
const STATEMENTS_KEPT: usize = 1024;

impl Statements {
    pub(super) fn new() -> Statements {
        Statements {
            kept: HashMap::new(),
            keys: HashMap::new(),
            generation: 0,
        }
    }

    /// The kept statement for `sql`, prepared with `prepare` the first time.
    pub(super) fn get(
        &mut self,
        sql: &str,
        prepare: impl FnOnce(&str) -> Result<postgres::Statement, postgres::Error>,
    ) -> Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.kept.get(sql) {
            return Ok(s.clone());
        }
        let s = prepare(sql)?;
        if self.kept.len() >= STATEMENTS_KEPT {
            self.kept.clear();
        }
        self.kept.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Forgets `sql`'s statement (its execution failed: it is prepared again next time).
    pub(super) fn forget(&mut self, sql: &str) {
        self.kept.remove(sql);
    }
}

/// A connection with its kept statements, for the engine's own statements outside the shared
/// interface (a person's lookup by ID and its partition key): each is prepared once on the
/// connection, then bound and executed in one round trip instead of two.
pub(crate) struct Kept<'a> {
    client: &'a mut Client,
    statements: &'a mut Statements,
}

impl<'a> Kept<'a> {
    pub(super) fn new(client: &'a mut Client, statements: &'a mut Statements) -> Self {
        Kept { client, statements }
    }

    /// Every row of `sql`'s kept statement run with `params`.
    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = &mut *self.client;
        let st = self
            .statements
            .get(sql, |q| client.prepare(q))
            .map_err(db)?;
        client.query(&st, params).map_err(|e| {
            if super::db::stale(&e) {
                self.statements.forget(sql);
            }
            db(e)
        })
    }

    /// The first row of [`Kept::query`], if any.
    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// A connection and what is kept with it.
pub(super) struct Pooled {
    pub(super) client: Client,
    pub(super) statements: Statements,
}

pub(super) struct PoolState {
    pub(super) idle: Vec<Pooled>,
    /// Connections open, idle or lent.
    pub(super) open: usize,
}

pub(super) struct Pool {
    pub(super) config: postgres::Config,
    pub(super) schema: Option<String>,
    pub(super) max: usize,
    pub(super) state: Mutex<PoolState>,
    pub(super) freed: Condvar,
    /// Where the commit position of writes is recorded (only when there are replicas).
    pub(super) floor: Option<Arc<Floor>>,
    /// Bumped when the schema changes (a migration): statements kept from before are dropped.
    pub(super) generation: AtomicU64,
}

impl Pool {
    pub(super) fn new(
        config: postgres::Config,
        schema: Option<String>,
        max: usize,
        floor: Option<Arc<Floor>>,
    ) -> Pool {
        Pool {
            config,
            schema,
            max,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            floor,
            generation: AtomicU64::new(0),
        }
    }

    /// The schema changed: every connection prepares its statements again.
    pub(super) fn schema_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn lend(&self, mut pooled: Pooled) -> Conn<'_> {
        let now = self.generation.load(Ordering::SeqCst);
        if pooled.statements.generation != now {
            pooled.statements.kept.clear();
            pooled.statements.keys.clear();
            pooled.statements.generation = now;
        }
        Conn {
            pool: self,
            client: Some(pooled),
            discard: false,
            wrote: false,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn open_client(&self) -> Result<Client, StoreError> {
        // No server to connect to (refused, reset, timed out): the database is unavailable.
        let mut client = self.config.connect(NoTls).map_err(|e| match db(e) {
            StoreError::Db(m) | StoreError::Violated(_, m) => StoreError::Unavailable(m),
            e => e,
        })?;
        let mut setup = String::from("SET client_min_messages = warning; SET TIME ZONE 'UTC';");
        if let Some(schema) = &self.schema {
            setup.push_str(&format!(" SET search_path TO {};", quote_ident(schema)));
        }
        client.batch_execute(&setup).map_err(db)?;
        Ok(client)
    }

    /// A connection, opened if none is idle and the pool is not full; otherwise waits.
    pub(super) fn get(&self) -> Result<Conn<'_>, StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(pooled) = state.idle.pop() {
                if pooled.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                drop(state);
                return Ok(self.lend(pooled));
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.open_client() {
                    Ok(client) => Ok(self.lend(Pooled {
                        client,
                        statements: Statements::new(),
                    })),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(state, POOL_WAIT)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(StoreError::Unavailable(
                    "no free database connection (pool exhausted)".into(),
                ));
            }
        }
    }

    pub(super) fn put_back(&self, client: Option<Pooled>, discard: bool, lost: bool) {
        let mut state = self.lock();
        let dead = lost || client.as_ref().is_some_and(|p| p.client.is_closed());
        let mut stale = Vec::new();
        match client {
            Some(c) if !discard && !dead => state.idle.push(c),
            _ => state.open = state.open.saturating_sub(1),
        }
        if dead {
            // The server went away: the idle connections lead to it too.
            stale = std::mem::take(&mut state.idle);
            state.open = state.open.saturating_sub(stale.len());
        }
        drop(state);
        self.freed.notify_all();
        drop(stale);
    }
}

/// Whether an error says the connection's server is gone or is no longer the primary (sorted
/// where the engine met it: [`super::db`]); a transaction rolled back for a concurrent one is
/// not.
pub(super) fn is_lost(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(m) if !m.starts_with(super::ROLLED_BACK))
}

/// A connection lent by the pool; goes back when dropped.
pub(super) struct Conn<'a> {
    pub(super) pool: &'a Pool,
    pub(super) client: Option<Pooled>,
    /// Close instead of returning (its session state is unknown).
    pub(super) discard: bool,
    /// It ran a write: its commit position is recorded when it goes back (with replicas).
    pub(super) wrote: bool,
}

impl Conn<'_> {
    /// Notes the outcome of a unit of work: an error that says the server is gone drops this
    /// connection and the pool's idle ones.
    /// [`Conn::check`], when a statement of the work already found the server gone (`lost`)
    /// though the body returned an error of its own: the connection is dropped all the same.
    pub(super) fn check_noted<T>(
        &mut self,
        r: Result<T, StoreError>,
        lost: bool,
    ) -> Result<T, StoreError> {
        if lost && !matches!(&r, Err(e) if is_lost(e)) {
            self.discard = true;
            self.pool.put_back(self.client.take(), true, true);
        }
        self.check(r)
    }

    pub(super) fn check<T>(&mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Err(e) if is_lost(&e) => {
                self.discard = true;
                self.pool.put_back(self.client.take(), true, true);
                Err(e)
            }
            r => r,
        }
    }

    pub(super) fn c(&mut self) -> Result<&mut Client, StoreError> {
        Ok(self.parts()?.0)
    }

    /// The connection with its kept statements ([`Kept`]).
    pub(super) fn kept(&mut self) -> Result<Kept<'_>, StoreError> {
        let (client, statements) = self.parts()?;
        Ok(Kept::new(client, statements))
    }

    /// The connection and its kept statements, borrowed apart.
    pub(super) fn parts(&mut self) -> Result<(&mut Client, &mut Statements), StoreError> {
        let p = self
            .client
            .as_mut()
            .ok_or_else(|| StoreError::Db("connection already returned".into()))?;
        Ok((&mut p.client, &mut p.statements))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if self.client.is_none() {
            return; // already given back by `check`
        }
        if self.wrote && !self.discard {
            if let (Some(floor), Some(p)) = (&self.pool.floor, self.client.as_mut()) {
                floor.record(&mut p.client);
            }
        }
        self.pool.put_back(self.client.take(), self.discard, false);
    }
}

impl Drop for Pool {
    /// Closes the idle connections on a thread of their own: a `postgres::Client` closes by
    /// running its own runtime, which panics on an async runtime's thread — where the store's
    /// last reference can go when a server shuts down (a background task ends last).
    fn drop(&mut self) {
        let idle =
            std::mem::take(&mut self.state.get_mut().unwrap_or_else(|p| p.into_inner()).idle);
        if idle.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}
