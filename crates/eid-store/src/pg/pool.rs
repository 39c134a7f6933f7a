//! The connection pool: a few clients behind a mutex, opened when first needed and kept.

use super::*;

pub(super) struct PoolState {
    pub(super) idle: Vec<Client>,
    /// Connections open, idle or lent.
    pub(super) open: usize,
}

pub(super) struct Pool {
    pub(super) config: postgres::Config,
    pub(super) schema: Option<String>,
    pub(super) max: usize,
    pub(super) state: Mutex<PoolState>,
    pub(super) freed: Condvar,
}

impl Pool {
    pub(super) fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn open_client(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(db)?;
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
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                    discard: false,
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.open_client() {
                    Ok(client) => Ok(Conn {
                        pool: self,
                        client: Some(client),
                        discard: false,
                    }),
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
                return Err(StoreError::Db(
                    "no free database connection (pool exhausted)".into(),
                ));
            }
        }
    }

    pub(super) fn put_back(&self, client: Option<Client>, discard: bool) {
        let mut state = self.lock();
        match client {
            Some(c) if !discard && !c.is_closed() => state.idle.push(c),
            _ => state.open = state.open.saturating_sub(1),
        }
        drop(state);
        self.freed.notify_one();
    }
}

/// A connection lent by the pool; goes back when dropped.
pub(super) struct Conn<'a> {
    pub(super) pool: &'a Pool,
    pub(super) client: Option<Client>,
    /// Close instead of returning (its session state is unknown).
    pub(super) discard: bool,
}

impl Conn<'_> {
    pub(super) fn c(&mut self) -> Result<&mut Client, StoreError> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Db("connection already returned".into()))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.pool.put_back(self.client.take(), self.discard);
    }
}
