//! The shared SQL interface (`src/sql.rs`) on PostgreSQL: values, rows and transactions.

use super::pool::Statements;
use super::*;

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(n) => match *ty {
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                _ => n.to_sql(ty, out),
            },
            Val::Real(f) => f.to_sql(ty, out),
            Val::Text(s) => s.as_str().to_sql(ty, out),
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

pub(super) fn pg_row(row: &Row) -> Result<SqlRow, StoreError> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(db)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(db)?
                .map(|n| Val::Int(i64::from(n))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(db)?
                .map(|n| Val::Int(i64::from(n))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(db)?
                .map(|b| Val::Int(i64::from(b))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(db)?.map(Val::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(db)?
                .map(|f| Val::Real(f64::from(f))),
            Type::NUMERIC => {
                return Err(StoreError::Corrupt(
                    "numeric columns are not read through the shared interface; cast to bigint"
                        .into(),
                ))
            }
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(db)?
                .map(Val::Blob),
            _ => row
                .try_get::<_, Option<String>>(i)
                .map_err(db)?
                .map(Val::Text),
        };
        out.push(v.unwrap_or(Val::Null));
    }
    Ok(out)
}

/// A connection inside a transaction, or on its own (each statement its own transaction).
pub(super) enum On<'a, 'c> {
    Tx(&'a mut postgres::Transaction<'c>),
    Auto(&'a mut Client),
}

/// Statements on a connection, noting whether one found the server gone: a body may turn that
/// error into its own (which the engine does not see), and the connection must still not go
/// back to the pool.
pub(super) struct PgTx<'a, 'c> {
    on: On<'a, 'c>,
    statements: &'a mut Statements,
    lost: bool,
    /// Keys read by this unit of work, kept with the connection once it has committed.
    fresh: Vec<(&'static str, Vec<u8>)>,
}

impl<'a, 'c> PgTx<'a, 'c> {
    pub(super) fn tx(
        tx: &'a mut postgres::Transaction<'c>,
        statements: &'a mut Statements,
    ) -> Self {
        PgTx {
            on: On::Tx(tx),
            statements,
            lost: false,
            fresh: Vec::new(),
        }
    }

    pub(super) fn auto(c: &'a mut Client, statements: &'a mut Statements) -> Self {
        PgTx {
            on: On::Auto(c),
            statements,
            lost: false,
            fresh: Vec::new(),
        }
    }

    /// `sql`'s statement, kept on this connection ([`Statements`]).
    fn prepared(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        let on = &mut self.on;
        self.statements.get(sql, |q| match on {
            On::Tx(tx) => tx.prepare(q),
            On::Auto(c) => c.prepare(q),
        })
    }

    /// The unit of work committed: the keys it read are kept with the connection.
    fn committed(self) {
        self.statements.keys.extend(self.fresh);
    }

    fn note(&mut self, e: postgres::Error) -> StoreError {
        let e = db(e);
        if super::pool::is_lost(&e) {
            self.lost = true;
        }
        e
    }
}

pub(super) fn pg_args(args: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// Whether an execution failed because its kept statement no longer fits the schema (a cached
/// plan whose result type changed, a statement the server no longer has): it is prepared
/// again next time.
pub(super) fn stale(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::FEATURE_NOT_SUPPORTED || *c == SqlState::INVALID_SQL_STATEMENT_NAME
    })
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64, StoreError> {
        let st = self.prepared(sql).map_err(|e| self.note(e))?;
        match &mut self.on {
            On::Tx(tx) => tx.execute(&st, &pg_args(args)),
            On::Auto(c) => c.execute(&st, &pg_args(args)),
        }
        .map_err(|e| {
            if stale(&e) {
                self.statements.forget(sql);
            }
            self.note(e)
        })
    }

    fn query(&mut self, sql: &str, args: &[Val]) -> Result<Vec<SqlRow>, StoreError> {
        let st = self.prepared(sql).map_err(|e| self.note(e))?;
        let rows = match &mut self.on {
            On::Tx(tx) => tx.query(&st, &pg_args(args)),
            On::Auto(c) => c.query(&st, &pg_args(args)),
        }
        .map_err(|e| {
            if stale(&e) {
                self.statements.forget(sql);
            }
            self.note(e)
        })?;
        rows.iter().map(pg_row).collect()
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn kept_key(&mut self, name: &'static str) -> Option<Vec<u8>> {
        self.statements.keys.get(name).cloned()
    }

    fn keep_key(&mut self, name: &'static str, value: &[u8]) {
        self.fresh.push((name, value.to_vec()));
    }
}

impl Db for PgStore {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer_conn()?;
        let mut lost = false;
        let r = (|| {
            let (client, statements) = conn.parts()?;
            let mut tx = client.transaction().map_err(db)?;
            let mut on = PgTx::tx(&mut tx, statements);
            let r = body(&mut on);
            lost = on.lost;
            r?;
            let fresh = std::mem::take(&mut on.fresh);
            tx.commit().map_err(db)?;
            statements.keys.extend(fresh);
            Ok(())
        })();
        conn.check_noted(r, lost)
    }

    /// A read runs its statements on their own, without `START TRANSACTION READ ONLY` and
    /// `COMMIT`: under READ COMMITTED (eid's isolation level) each statement of a transaction
    /// takes its own snapshot anyway, so the explicit transaction bought no consistency and
    /// cost two round trips a read (ten of them in an OIDC sign-in). A body that writes is
    /// refused on SQLite, whose readers are `query_only`, and the same suites run there.
    fn read_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.autocommit_dyn(false, body)
    }

    /// A read (`write` false) may go to a replica; a write goes to the primary.
    fn autocommit_dyn(
        &self,
        write: bool,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = if write {
            self.writer_conn()?
        } else {
            self.reader()?
        };
        let mut lost = false;
        let r = match conn.parts() {
            Ok((c, statements)) => {
                let mut on = PgTx::auto(c, statements);
                let r = body(&mut on);
                lost = on.lost;
                if r.is_ok() {
                    on.committed();
                }
                r
            }
            Err(e) => Err(e),
        };
        conn.check_noted(r, lost)
    }
}
