//! Limits on secrets and codes, kept in the database so that they hold across server nodes.
//!
//! A check *reserves* its place before it runs: one conditional upsert on the key's row counts
//! it only while the window's count is under the limit, so however many requests arrive at
//! once, at most `limit` of them get past the reservation per window (the row lock serialises
//! them on PostgreSQL, the single writer on SQLite). Keys never hold a personal ID or a phone
//! in clear: they are HMAC-SHA-256 under the per-database code key. The design, with its
//! numbers, is in ARCHITECTURE.md ("Limits on secrets and codes").

use rand::Rng;
use time::{Duration, OffsetDateTime};

use crate::secret::hex;
use crate::sql::{self, Tx, Val};
use crate::store::{from_ms, to_ms, Store, StoreError};

use super::codes::{code_key, code_mac};

/// What a reservation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// Whether this attempt got a place (it may run).
    pub granted: bool,
    /// Attempts counted in the window, this one included when granted.
    pub count: i64,
    /// When the window ends (a refused attempt may retry then).
    pub until: OffsetDateTime,
}

/// Reserves one attempt under `key`: granted while fewer than `limit` are counted in the
/// window of `window` that began with the key's first attempt; a window that has passed
/// starts again.
pub fn reserve(
    tx: &mut dyn Tx,
    key: &str,
    limit: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Reserved, StoreError> {
    // Now and then, the rows of windows long ended go (every window is at most a day).
    if rand::rngs::OsRng.gen_range(0..512u32) == 0 {
        tx.exec(
            "DELETE FROM attempt WHERE window_start < $1",
            &[to_ms(now - Duration::days(1)).into()],
        )?;
    }
    let stale = to_ms(now - window);
    let row = tx.row(
        "INSERT INTO attempt (key, window_start, n) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           n = CASE WHEN attempt.window_start <= $3 THEN 1 ELSE attempt.n + 1 END, \
           window_start = CASE WHEN attempt.window_start <= $3 THEN $2 ELSE attempt.window_start END \
         WHERE attempt.window_start <= $3 OR attempt.n < $4 \
         RETURNING n, window_start",
        &[
            key.into(),
            to_ms(now).into(),
            stale.into(),
            i64::from(limit).into(),
        ],
    )?;
    let (granted, row) = match row {
        Some(r) => (true, r),
        None => (
            false,
            tx.row(
                "SELECT n, window_start FROM attempt WHERE key = $1",
                &[key.into()],
            )?
            .unwrap_or_default(),
        ),
    };
    let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    let count = g(0).opt_int()?.unwrap_or(0);
    let start = g(1).opt_int()?.map(from_ms).unwrap_or(now);
    Ok(Reserved {
        granted,
        count,
        until: start + window,
    })
}

/// [`reserve`] in a transaction of its own.
pub fn reserve_now(
    store: &dyn Store,
    key: &str,
    limit: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Reserved, StoreError> {
    sql::transact(store.db(), |tx| reserve(tx, key, limit, window, now))
}

/// When the key is at its limit in a window that has not ended, the window's end (a look only:
/// nothing is reserved).
pub fn spent(
    store: &dyn Store,
    key: &str,
    limit: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    let [c] = look(store, [key])?;
    Ok(c.spent(limit, window, now))
}

/// What is counted under a key, as read by [`look`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// Attempts counted (0 when the key has no row).
    pub n: i64,
    /// When the key's window began, when it has a row.
    pub window_start: Option<OffsetDateTime>,
}

impl Counted {
    /// [`spent`] on what was read.
    pub fn spent(
        self,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let until = self.window_start? + window;
        (self.n >= i64::from(limit) && until > now).then_some(until)
    }

    /// [`count`] on what was read.
    pub fn count(self, window: Duration, now: OffsetDateTime) -> (i64, OffsetDateTime) {
        match self.window_start.map(|s| s + window) {
            Some(until) if until > now => (self.n, until),
            _ => (0, now + window),
        }
    }
}

/// What is counted under each of `keys`, in one read (a look only).
pub fn look<const N: usize>(
    store: &dyn Store,
    keys: [&str; N],
) -> Result<[Counted; N], StoreError> {
    let marks: Vec<String> = (1..=N).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT key, n, window_start FROM attempt WHERE key IN ({})",
        marks.join(", ")
    );
    let args: Vec<Val> = keys.iter().map(|&k| k.into()).collect();
    let rows = sql::read(store.db(), |tx| tx.query(&sql, &args))?;
    let mut out = [Counted::default(); N];
    for row in rows {
        let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
        let key = g(0).text()?;
        let counted = Counted {
            n: g(1).int()?,
            window_start: Some(from_ms(g(2).int()?)),
        };
        for (slot, k) in out.iter_mut().zip(keys) {
            if k == key {
                *slot = counted;
            }
        }
    }
    Ok(out)
}

/// Forgets the key's attempts (a right secret: the holder proved it).
pub fn clear(tx: &mut dyn Tx, key: &str) -> Result<(), StoreError> {
    tx.exec("DELETE FROM attempt WHERE key = $1", &[key.into()])?;
    Ok(())
}

/// [`clear`] in a transaction of its own.
pub fn clear_now(store: &dyn Store, key: &str) -> Result<(), StoreError> {
    sql::transact(store.db(), |tx| clear(tx, key))
}

/// Gives one reserved attempt back (a right code: it does not count against the person).
pub fn refund(tx: &mut dyn Tx, key: &str) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE attempt SET n = n - 1 WHERE key = $1 AND n > 0",
        &[key.into()],
    )?;
    Ok(())
}

/// The key of `what` (`pw` for sign-in, `pc` for the passcode, `issue`, `guess`) for a value
/// that must not be stored in clear (a personal ID as typed, a phone): its HMAC, truncated.
pub fn hashed_key(tx: &mut dyn Tx, what: &str, value: &str) -> Result<String, StoreError> {
    let k = code_key(tx)?;
    let mac = code_mac(&k, b"limit", value.trim());
    Ok(format!("{what}:{}", hex(mac.get(..16).unwrap_or(&mac))))
}

/// [`hashed_key`] outside a transaction: a read once the per-database code key exists (it is
/// made, in a write, only the first time).
pub fn hashed_key_now(store: &dyn Store, what: &str, value: &str) -> Result<String, StoreError> {
    let read = sql::read(store.db(), |tx| -> Result<Option<String>, StoreError> {
        let Some(k) = tx.stored_key("code_key")? else {
            return Ok(None);
        };
        let mac = code_mac(&k, b"limit", value.trim());
        Ok(Some(format!(
            "{what}:{}",
            hex(mac.get(..16).unwrap_or(&mac))
        )))
    })?;
    match read {
        Some(k) => Ok(k),
        None => sql::transact(store.db(), |tx| hashed_key(tx, what, value)),
    }
}

/// The attempts counted under `key` in its window, and when the window ends (nothing counted:
/// 0, and a window that would start now). A look only.
pub fn count(
    store: &dyn Store,
    key: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<(i64, OffsetDateTime), StoreError> {
    let [c] = look(store, [key])?;
    Ok(c.count(window, now))
}

/// Runs `f` while no other call for `key` runs on this node: checks under one key wait for
/// each other (a check under another key does not wait). The lock is dropped with its last
/// waiter, so the table holds only keys being checked.
pub fn one_at_a_time<T>(key: &str, f: impl FnOnce() -> T) -> T {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    static HELD: LazyLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let lock = {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(held.entry(key.to_owned()).or_default())
    };
    let out = {
        let _turn = lock.lock().unwrap_or_else(|p| p.into_inner());
        f()
    };
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    // Two references: the table's and this one — nobody else waits for the key.
    if Arc::strong_count(&lock) == 2 {
        held.remove(key);
    }
    out
}
