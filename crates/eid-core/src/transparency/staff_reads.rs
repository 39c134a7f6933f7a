//! Staff reads of a person's record in the data-use log, without a second write per read.
//!
//! A lookup is audited (`person.read`, the personal ID as target) before it is answered, and the
//! audit line already says who read whose record and when. So the line is the read's record:
//!
//! - On an engine that commits audit lines in groups in a trail of its own (SQLite,
//!   [`Store::audit_is_grouped`]), [`record_read`] writes only the line, and [`fold`] later
//!   appends every `person.read … ok` line to the data-use log in batches, moving a cursor (the
//!   audit `seq` folded up to) in the same transaction as the entries. The flusher is the trail's
//!   only writer and commits lines in `seq` order, so the cursor skips none; a crash between the
//!   answer and the fold loses nothing (the line is durable before the answer) and repeats
//!   nothing (the cursor moves with the entries). The server folds every second and before a
//!   citizen's data-use page is read, so the entry shows there at once.
//! - Elsewhere (PostgreSQL), the line and a row of `data_use_pending` commit in the lookup's
//!   transaction, and [`fold`] moves pending rows into the log in batches (leaf numbers from the
//!   head, the moved rows deleted, in one transaction). Lookups do not queue on the head's row
//!   lock, and a crash neither loses nor repeats an entry. Every other use recorded without
//!   needing its leaf index takes the same way there ([`super::note_in`]: stays, wallet checks,
//!   sector matches and decisions, userinfo releases), as does a relying party's release at an
//!   OpenID Connect code exchange (`oidc::grant`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{record_many_in, DataUse, Who};
use crate::audit::{AuditQuery, Line};
use crate::sql::{self, Val};
use crate::store::from_ms;
use crate::store::AuditEntry;
use crate::{Acting, Actor, Error, Store, StoreError};

/// The audit action of a staff read of one person (the target is the personal ID).
pub const ACTION: &str = "person.read";
/// The purpose recorded for a staff read.
pub const PURPOSE: &str = "register.lookup";
/// What a staff read shows of the person.
pub const WHAT: &str = "person";
/// The most lines one fold reads from the trail at a time (and the most pending rows one
/// PostgreSQL fold transaction moves).
const BATCH: u32 = 2_000;

/// Records that the caller read `personal_id`'s record: its audit line and its data-use entry
/// (at once, or through [`fold`] — see the module).
pub fn record_read(store: &dyn Store, acting: &Acting, personal_id: &str) -> Result<(), Error> {
    if store.audit_is_grouped() {
        acting.audit(store, ACTION, personal_id, "ok")?;
        return Ok(());
    }
    let line = Line::new(
        acting.actor(),
        ACTION,
        personal_id,
        "ok",
        &acting.request_id,
        acting.now,
    );
    let use_ = DataUse {
        personal_id: personal_id.to_owned(),
        who: Who::staff(&acting.caller),
        what: WHAT.to_owned(),
        purpose: PURPOSE.to_owned(),
        at: acting.now,
    };
    sql::transact(store.db(), |tx| {
        crate::audit::append(tx, &line)?;
        super::note_in(tx, &use_)
    })?;
    Ok(())
}

/// Moves pending data uses (PostgreSQL's path: staff reads and every use noted with
/// [`super::note_in`] or at a code exchange) into the log; returns how many.
fn fold_pending(store: &dyn Store) -> Result<usize, Error> {
    // Nothing pending (the usual case between staff reads): no writing transaction. Taking
    // the head's lock first made every periodic fold a durable write of its own, a third of
    // one per citizen sign-in in `bench/oidc-token.sh`. A read that arrives after this look
    // waits for the next fold.
    let any = sql::read_one(store.db(), |tx| {
        tx.row("SELECT 1 FROM data_use_pending LIMIT 1", &[])
    })?;
    if any.is_none() {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        let moved = sql::transact(store.db(), |tx| {
            // The head's row lock first: one folder at a time, and the next one reads the
            // pending rows only after this one's deletes are committed.
            tx.exec("UPDATE transparency_head SET size = size WHERE id = 1", &[])?;
            let rows = tx.query(
                "SELECT id, personal_id, who_kind, who_id, who_name, who_unit, who_role, what, \
                 purpose, at FROM data_use_pending ORDER BY id LIMIT $1",
                &[i64::from(BATCH).into()],
            )?;
            let mut ids = Vec::with_capacity(rows.len());
            let mut uses = Vec::with_capacity(rows.len());
            for r in &rows {
                let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
                ids.push(g(0).int()?);
                let kind = g(2).text()?;
                let who = Who::pending(
                    &kind,
                    g(3).text()?,
                    g(4).text()?,
                    g(5).opt_text()?,
                    g(6).opt_text()?,
                )
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("a pending data use of an unknown kind: {kind}"))
                })?;
                uses.push(DataUse {
                    personal_id: g(1).text()?,
                    who,
                    what: g(7).text()?,
                    purpose: g(8).text()?,
                    at: from_ms(g(9).int()?),
                });
            }
            if !uses.is_empty() {
                record_many_in(tx, &uses)?;
            }
            for id in ids {
                tx.exec("DELETE FROM data_use_pending WHERE id = $1", &[id.into()])?;
            }
            Ok::<_, StoreError>(uses.len())
        })?;
        total += moved;
        if moved < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Appends the staff reads audited since the last fold to the data-use log; returns how many.
/// Safe to run from several threads or servers at once: a folder whose cursor another one moved
/// since it read it writes nothing and reads it again.
///
/// On the grouped path one transaction takes batch after batch until the trail is read or it
/// has held the write lock for [`HOLD`]: fewer, larger commits cost less per entry. After a
/// transaction that ended on its hold, the fold pauses as an import does between its
/// transactions ([`PAUSE`]), so that the writers waiting for the lock go before its next one.
/// After each transaction (and after the pending rows on PostgreSQL) the log's tail is copied
/// into the per-person table once it is long enough ([`super::index_tail`]).
///
/// [`PAUSE`]: crate::register::batched::PAUSE
pub fn fold(store: &dyn Store) -> Result<usize, Error> {
    fold_holding(store, HOLD)
}

/// [`fold`] with transactions that end after the batch that passes `hold` (on the grouped path;
/// [`Duration::ZERO`] commits each batch on its own).
pub fn fold_holding(store: &dyn Store, hold: Duration) -> Result<usize, Error> {
    if !store.audit_is_grouped() {
        let moved = fold_pending(store)?;
        super::index_tail(store, super::TAIL)?;
        return Ok(moved);
    }
    let mut who = WhoCache::default();
    let mut total = 0;
    loop {
        let cursor = cursor(store)?;
        let started = Instant::now();
        let folded = sql::transact(store.db(), |tx| {
            // The head's row first: another folder that moved the cursor since it was read
            // wins, and this transaction holds the row (and the cursor) until it commits.
            let mine = tx.exec(
                "UPDATE transparency_head SET audit_cursor = audit_cursor \
                 WHERE id = 1 AND audit_cursor = $1",
                &[cursor.into()],
            )?;
            if mine != 1 {
                return Ok::<_, Error>(None);
            }
            let mut at = cursor;
            let mut moved = 0;
            let more = loop {
                let lines = store.audit_query(&AuditQuery {
                    action: Some(ACTION.to_owned()),
                    after_seq: Some(at),
                    oldest_first: true,
                    limit: BATCH,
                    ..AuditQuery::default()
                })?;
                let Some(last) = lines.last().map(|l| l.seq) else {
                    break false;
                };
                let mut uses = Vec::with_capacity(lines.len());
                for line in lines.iter().filter(|l| l.outcome == "ok") {
                    if let Some(w) = who.of(store, &line.actor)? {
                        uses.push(use_of(line, w));
                    }
                }
                if !uses.is_empty() {
                    record_many_in(tx, &uses)?;
                }
                moved += uses.len();
                at = last;
                if lines.len() < BATCH as usize {
                    break false;
                }
                if started.elapsed() >= hold {
                    break true;
                }
            };
            if at != cursor {
                tx.exec(
                    "UPDATE transparency_head SET audit_cursor = $1 WHERE id = 1",
                    &[at.into()],
                )?;
            }
            Ok(Some((moved, more)))
        })?;
        match folded {
            // Another folder moved the cursor first: read it again.
            None => continue,
            Some((moved, more)) => {
                total += moved;
                // The tail also grows between folds (stays, wallet checks and sector matches
                // append to the log on SQLite), and a long fold copies it as it goes.
                super::index_tail(store, super::TAIL)?;
                if !more {
                    return Ok(total);
                }
                // The transaction ended on its hold with more to fold: other writers, which
                // queue for the same lock, go first (as between an import's transactions).
                std::thread::sleep(crate::register::batched::PAUSE);
            }
        }
    }
}

/// The most time one fold transaction holds the write lock (it ends after the batch that
/// passes it; a batch is at most [`BATCH`] lines).
pub const HOLD: Duration = Duration::from_millis(50);

fn use_of(line: &AuditEntry, who: Who) -> DataUse {
    DataUse {
        personal_id: line.target.clone(),
        who,
        what: WHAT.to_owned(),
        purpose: PURPOSE.to_owned(),
        at: line.at,
    }
}

/// The audit `seq` folded up to. A log that has never been folded starts at the beginning of
/// the trail — unless it already holds staff reads recorded one by one (a database from before
/// the folder), which the trail's lines up to now are.
fn cursor(store: &dyn Store) -> Result<i64, Error> {
    let now: Option<i64> = sql::read(store.db(), |tx| {
        let row = tx.row(
            "SELECT audit_cursor FROM transparency_head WHERE id = 1",
            &[],
        )?;
        match row.and_then(|r| r.first().cloned()) {
            Some(v) => v.opt_int(),
            None => Err(StoreError::Corrupt(
                "the transparency head is missing".into(),
            )),
        }
    })?;
    if let Some(c) = now {
        return Ok(c);
    }
    let before = sql::read(store.db(), |tx| {
        tx.int(
            "SELECT count(*) FROM (SELECT 1 FROM data_use WHERE who_kind = 'staff' AND purpose = $1 LIMIT 1) AS s",
            &[PURPOSE.into()],
        )
    })?;
    let start = if before > 0 {
        store
            .audit_query(&AuditQuery {
                limit: 1,
                ..AuditQuery::default()
            })?
            .first()
            .map_or(0, |l| l.seq)
    } else {
        0
    };
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE transparency_head SET audit_cursor = $1 WHERE id = 1 AND audit_cursor IS NULL",
            &[start.into()],
        )?;
        Ok::<_, StoreError>(())
    })?;
    cursor_set(store)
}

fn cursor_set(store: &dyn Store) -> Result<i64, Error> {
    Ok(sql::read(store.db(), |tx| {
        tx.int(
            "SELECT audit_cursor FROM transparency_head WHERE id = 1",
            &[],
        )
    })?)
}

/// Who each audit actor is, looked up once per fold.
#[derive(Default)]
struct WhoCache {
    known: HashMap<Actor, Option<Who>>,
    /// Token id → staff id, read when a token not in it is met.
    tokens: Option<HashMap<i64, i64>>,
}

impl WhoCache {
    fn of(&mut self, store: &dyn Store, actor: &Actor) -> Result<Option<Who>, Error> {
        if let Some(w) = self.known.get(actor) {
            return Ok(w.clone());
        }
        let staff_id = match actor {
            Actor::Staff(id) => Some(*id),
            Actor::Token(id) => {
                // A token issued since the list was read: read it again.
                if !self.tokens.as_ref().is_some_and(|t| t.contains_key(id)) {
                    self.tokens = Some(
                        store
                            .list_api_tokens()?
                            .into_iter()
                            .map(|t| (t.id, t.staff_id))
                            .collect(),
                    );
                }
                self.tokens.as_ref().and_then(|t| t.get(id).copied())
            }
            // Only signed-in staff read a person through the register (the web's lookups).
            Actor::Cli(_) | Actor::Anonymous => None,
        };
        let who = match staff_id {
            Some(id) => store.staff_by_id(id)?.map(|staff| Who::Staff {
                username: staff.username.clone(),
                unit: staff.unit.to_string(),
                role: staff.role.as_str().to_owned(),
            }),
            None => None,
        };
        self.known.insert(actor.clone(), who.clone());
        Ok(who)
    }
}
