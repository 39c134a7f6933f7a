//! The audit trail's statements, written once for both engines through [`crate::sql`].
//!
//! Where the lines go differs, deliberately: PostgreSQL appends each line as it comes (the
//! [`Store`](crate::store::Store) trait's default `audit`); SQLite queues lines in memory and a
//! flusher thread appends them in batches to a database file of its own (see `sqlite.rs` and
//! ARCHITECTURE.md). Both append with [`append`] and read with [`query`], so the trail has the
//! same shape, order and filters on both.

use time::OffsetDateTime;

use crate::sql::{SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, AuditEntry, StoreError};

/// One line on its way to the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: String,
}

impl Line {
    pub fn new(
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Line {
        Line {
            at: to_ms(now),
            actor: actor.to_db(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            request_id: request_id.to_owned(),
        }
    }
}

/// Which entries to read. Every filter given must match; entries come newest first (by
/// `seq`, the order they were appended in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<Actor>,
    /// The exact action (`auth.login`).
    pub action: Option<String>,
    /// The exact target.
    pub target: Option<String>,
    /// Only entries older than this `seq`: the next page after an entry.
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Appends one line.
pub fn append(tx: &mut dyn Tx, line: &Line) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO audit (at, actor, action, target, outcome, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Val::from(line.at),
            Val::from(&line.actor),
            Val::from(&line.action),
            Val::from(&line.target),
            Val::from(&line.outcome),
            Val::from(&line.request_id),
        ],
    )?;
    Ok(())
}

/// The entries matching `q`, newest first.
pub fn query(tx: &mut dyn Tx, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let mut sql =
        String::from("SELECT seq, at, actor, action, target, outcome, request_id FROM audit");
    let mut args: Vec<Val> = Vec::new();
    let mut filter = |clause: &str, v: Val| {
        args.push(v);
        let glue = if args.len() == 1 { " WHERE " } else { " AND " };
        sql.push_str(glue);
        sql.push_str(&clause.replace('#', &format!("${}", args.len())));
    };
    if let Some(a) = &q.actor {
        filter("actor = #", Val::from(a.to_db()));
    }
    if let Some(a) = &q.action {
        filter("action = #", Val::from(a));
    }
    if let Some(t) = &q.target {
        filter("target = #", Val::from(t));
    }
    if let Some(s) = q.before_seq {
        filter("seq < #", Val::from(s));
    }
    args.push(Val::from(q.limit));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", args.len()));
    tx.query(&sql, &args)?.iter().map(entry).collect()
}

fn entry(r: &SqlRow) -> Result<AuditEntry, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(AuditEntry {
        seq: g(0).int()?,
        at: from_ms(g(1).int()?),
        actor: Actor::from_db(&g(2).text()?),
        action: g(3).text()?,
        target: g(4).text()?,
        outcome: g(5).text()?,
        request_id: g(6).text()?,
    })
}
