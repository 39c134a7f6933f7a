//! The bulk writer: batches of persons classified against their current rows and written with
//! `COPY` in its text format.

use super::pool::Conn;
use super::*;
use std::collections::HashSet;

/// Appends `s` escaped for `COPY … FROM STDIN` text format.
pub(super) fn copy_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A nullable text column: the empty string is NULL.
pub(super) fn copy_opt(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.extend_from_slice(b"\\N");
    } else {
        copy_text(out, s);
    }
}

pub(super) fn copy_int(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, "{n}");
}

/// A bytea column in hex form (`\x…`, its backslash escaped for COPY).
pub(super) fn copy_bytea(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\\\x");
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

// ----------------------------------------------------------------------------------------------
// The writer

/// A person ready to write: its CSV fields and the derived columns.
pub(super) struct Pending {
    pub(super) fields: [String; 18],
    pub(super) folded: String,
    pub(super) birth_year: i32,
    pub(super) res_path: i64,
    pub(super) phone: Option<String>,
    pub(super) digest: Vec<u8>,
}

/// A row to write: the person's final state in this batch.
pub(super) struct OutRow {
    pub(super) p: Pending,
    pub(super) version: i64,
    /// The version the row has in the database now; 0 when it is new.
    pub(super) base_version: i64,
    /// The province whose partition holds the stored row (when `base_version > 0`).
    pub(super) base_province: i16,
    /// The `created` event whose changes are this row's fields, until the row is replaced.
    pub(super) created_event: Option<usize>,
}

/// The `changes` of an event.
pub(super) enum Changes {
    /// Every field of the row at this index of the rows to write, written straight to COPY.
    Created(usize),
    Json(serde_json::Value),
}

pub(super) struct Event {
    pub(super) personal_id: String,
    pub(super) kind: &'static str,
    pub(super) changes: Changes,
}

/// The current state of a person while a batch is classified.
pub(super) enum Current {
    /// As stored: a row of the lookup query.
    Db(usize),
    /// As written earlier in this batch: an index in the rows to write.
    Out(usize),
}

/// A write transaction on one pooled connection. See [`PersonWriter`].
pub struct PgWriter<'a> {
    pub(super) conn: Conn<'a>,
    pub(super) actor: String,
    pub(super) reason: String,
    pub(super) now_ms: i64,
    pub(super) buf: Vec<Pending>,
    pub(super) counts: BatchCounts,
    pub(super) stage_created: bool,
    pub(super) paths: HashMap<UnitCode, i64>,
    /// Secondary indexes dropped for a bulk load into an empty register, rebuilt at commit.
    pub(super) deferred_indexes: Vec<String>,
    /// Loading into a register that was empty when the table lock was taken: the personal IDs
    /// written so far (as numbers), which are then all the register holds, so a batch none of
    /// whose IDs is here needs no lookup of stored rows.
    pub(super) written: Option<HashSet<u64>>,
    /// COMMIT or ROLLBACK was sent.
    pub(super) done: bool,
}

impl<'a> PgWriter<'a> {
    pub(super) fn new(
        mut conn: Conn<'a>,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<PgWriter<'a>, StoreError> {
        let c = conn.c()?;
        // Loading into an empty register: building the secondary indexes once at the end is
        // several times faster than maintaining them row by row. The primary keys stay.
        // The first look is outside any transaction, so it holds no lock afterwards. If the
        // table looks empty, writers queue on a table lock taken before anything is read, and
        // the one that gets it looks again: two writers that both saw an empty table would
        // otherwise each hold a read lock the other's DROP INDEX waits for (a deadlock).
        let looks_empty = |c: &mut Client| -> Result<bool, StoreError> {
            Ok(c.query_one("SELECT NOT EXISTS (SELECT 1 FROM person)", &[])
                .map_err(db)?
                .get(0))
        };
        let mut empty = looks_empty(c)?;
        c.batch_execute("BEGIN").map_err(db)?;
        if empty {
            c.batch_execute("LOCK TABLE person IN SHARE ROW EXCLUSIVE MODE")
                .map_err(db)?;
            empty = looks_empty(c)?;
        }
        let mut deferred_indexes = Vec::new();
        if empty {
            let rows = c
                .query(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i \
                     JOIN pg_class k ON k.relname = i.indexname \
                     JOIN pg_index x ON x.indexrelid = k.oid AND NOT x.indisprimary AND NOT x.indisunique \
                     WHERE i.schemaname = current_schema() AND i.tablename IN ('person', 'person_event') \
                     AND k.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                     ORDER BY i.indexname",
                    &[],
                )
                .map_err(db)?;
            for row in rows {
                let (name, def): (String, String) = (row.get(0), row.get(1));
                // A partitioned table's index is shown `ON ONLY` the parent; built that way it
                // would have no partitions' indexes under it.
                let def = def.replacen(" ON ONLY ", " ON ", 1);
                c.batch_execute(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                    .map_err(db)?;
                deferred_indexes.push(def);
            }
        }
        Ok(PgWriter {
            written: empty.then(HashSet::new),
            deferred_indexes,
            conn,
            actor: actor.to_db(),
            reason: reason.to_owned(),
            now_ms: to_ms(now),
            buf: Vec::new(),
            counts: BatchCounts::default(),
            stage_created: false,
            paths: HashMap::new(),
            done: false,
        })
    }

    pub(super) fn pending(&mut self, person: &Person) -> Result<Pending, StoreError> {
        let unit = person.residence.unit;
        let res_path = match self.paths.get(&unit) {
            Some(&k) => k,
            None => {
                let k = unit_path(&unit).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "residence unit {} is not a commune of the 2024 tree",
                        unit.as_str()
                    ))
                })?;
                self.paths.insert(unit, k);
                k
            }
        };
        let fields = csvfmt::fields(person);
        let digest = store::digest(&fields);
        Ok(Pending {
            folded: person.name.folded(),
            birth_year: person.birth.year(),
            res_path,
            phone: person.phone.as_ref().map(|p| p.as_str().to_owned()),
            digest,
            fields,
        })
    }

    /// Writes the buffered persons.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // The buffer's allocation is kept for the next batch: a fresh one of ~30 MB each time
        // cost the writer's thread page faults and copies while it grew.
        let mut batch = std::mem::take(&mut self.buf);
        let classified = self.classify(&mut batch);
        self.buf = batch;
        let (out, events) = classified?;
        self.write_rows(&out)?;
        self.write_events(&events, &out)
    }

    /// Compares the batch with the stored rows: which persons are new, changed or the same.
    pub(super) fn classify(
        &mut self,
        batch: &mut Vec<Pending>,
    ) -> Result<(Vec<OutRow>, Vec<Event>), StoreError> {
        let ids: Vec<&str> = batch.iter().map(|p| p.fields[0].as_str()).collect();
        // Into a register that was empty under our lock: only IDs this load wrote can be
        // stored, so a batch of none of them is all new (a file that repeats an ID still looks).
        let unseen = self.written.as_mut().is_some_and(|w| {
            // Every ID recorded; one seen before (or not a number) means a look.
            let before = w.len();
            w.extend(ids.iter().filter_map(|id| id.parse::<u64>().ok()));
            w.len() == before + ids.len()
        });
        // The stored rows, read province by province: `person_key` says where each ID lives,
        // then each province's IDs are read from its partition alone.
        let mut rows = Vec::new();
        let mut row_province: Vec<i16> = Vec::new();
        if !unseen {
            let c = self.conn.c()?;
            let groups = c
                .query(
                    "SELECT province, array_agg(personal_id) FROM person_key \
                     WHERE personal_id = ANY($1) GROUP BY province",
                    &[&ids],
                )
                .map_err(db)?;
            for g in &groups {
                let province: i16 = g.try_get(0).map_err(db)?;
                let stored: Vec<&str> = g.try_get(1).map_err(db)?;
                let (lo, hi) = province_range(province);
                let found = c
                    .query(
                        &format!(
                            "SELECT digest, version, {PERSON_COLS} FROM person \
                             WHERE personal_id = ANY($1) AND res_path >= $2 AND res_path < $3"
                        ),
                        &[&stored, &lo, &hi],
                    )
                    .map_err(db)?;
                row_province.extend(std::iter::repeat_n(province, found.len()));
                rows.extend(found);
            }
        }
        drop(ids);
        let mut current: HashMap<String, Current> = HashMap::with_capacity(batch.len());
        for (i, row) in rows.iter().enumerate() {
            current.insert(row.try_get(2).map_err(db)?, Current::Db(i));
        }
        let lost = || StoreError::Db("writer lost track of a row".into());

        let mut out: Vec<OutRow> = Vec::with_capacity(batch.len());
        let mut events: Vec<Event> = Vec::with_capacity(batch.len());
        for p in batch.drain(..) {
            let id = p.fields[0].clone();
            let (old_fields, old_version, out_index, base_version, base_province) =
                match current.get(&id) {
                    None => {
                        events.push(Event {
                            personal_id: id.clone(),
                            kind: "created",
                            changes: Changes::Created(out.len()),
                        });
                        current.insert(id, Current::Out(out.len()));
                        out.push(OutRow {
                            p,
                            version: 1,
                            base_version: 0,
                            base_province: 0,
                            created_event: Some(events.len() - 1),
                        });
                        self.counts.imported += 1;
                        continue;
                    }
                    Some(Current::Db(i)) => {
                        let row = rows.get(*i).ok_or_else(lost)?;
                        let digest: &[u8] = row.try_get(0).map_err(db)?;
                        if digest == p.digest.as_slice() {
                            self.counts.unchanged += 1;
                            continue;
                        }
                        let version: i64 = row.try_get(1).map_err(db)?;
                        let province = *row_province.get(*i).ok_or_else(lost)?;
                        (
                            Cow::Owned(row_fields(row, 2)?),
                            version,
                            None,
                            version,
                            province,
                        )
                    }
                    Some(Current::Out(i)) => {
                        let o = out.get(*i).ok_or_else(lost)?;
                        if o.p.digest == p.digest {
                            self.counts.unchanged += 1;
                            continue;
                        }
                        (
                            Cow::Borrowed(&o.p.fields),
                            o.version,
                            Some(*i),
                            o.base_version,
                            o.base_province,
                        )
                    }
                };
            let Some(changes) = store::updated_changes(&old_fields, &p.fields) else {
                self.counts.unchanged += 1;
                continue;
            };
            drop(old_fields);
            events.push(Event {
                personal_id: id.clone(),
                kind: "updated",
                changes: Changes::Json(changes),
            });
            self.counts.updated += 1;
            let row = OutRow {
                p,
                version: old_version + 1,
                base_version,
                base_province,
                created_event: None,
            };
            match out_index {
                Some(i) => {
                    // Created earlier in this batch: its `created` event keeps the first fields.
                    let slot = out.get_mut(i).ok_or_else(lost)?;
                    if let Some(e) = slot.created_event {
                        events.get_mut(e).ok_or_else(lost)?.changes =
                            Changes::Json(store::created_changes(&slot.p.fields));
                    }
                    *slot = row;
                }
                None => {
                    current.insert(id, Current::Out(out.len()));
                    out.push(row);
                }
            }
        }
        Ok((out, events))
    }

    /// New rows go straight into their province's partition of `person` with COPY, and their
    /// keys into `person_key` (a row someone else created meanwhile is a conflict on its
    /// primary key); changed rows go through a staging table and one UPDATE that checks the
    /// version each was read at (optimistic locking).
    ///
    /// Why the partitions and not the parent: PostgreSQL 15 copies into a partitioned table
    /// that has a statement trigger with a transition table (migration 31's, which keeps
    /// `person_key` for every other writer) one row at a time, and fills the transition table
    /// besides. A partition has neither trigger, so its COPY inserts rows in blocks; the keys
    /// the trigger would have written go in with a COPY of their own, before the rows.
    pub(super) fn write_rows(&mut self, out: &[OutRow]) -> Result<(), StoreError> {
        let now_ms = self.now_ms;
        let mut new: Vec<(i64, &OutRow)> = out
            .iter()
            .filter(|r| r.base_version == 0)
            .map(|r| (r.p.res_path.div_euclid(store::PROVINCE_SPAN), r))
            .collect();
        if !new.is_empty() {
            let conflict = |e: postgres::Error| {
                if is_code(&e, &SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict("a person was created by another writer at the same time")
                } else {
                    db(e)
                }
            };
            let mut copy = CopyStream::new(
                self.conn.c()?,
                "COPY person_key (personal_id, province) FROM STDIN",
            )
            .map_err(db)?;
            for (province, r) in &new {
                let buf = copy.buf();
                copy_text(buf, &r.p.fields[0]);
                buf.push(b'\t');
                copy_int(buf, *province);
                buf.push(b'\n');
                copy.row_done();
            }
            copy.finish().map_err(conflict)?;
            // One COPY per province, into its partition (`person_other` for a province without
            // one of its own); the sort is stable, so each keeps the file's order.
            new.sort_by_key(|(province, _)| *province);
            for group in new.chunk_by(|a, b| a.0 == b.0) {
                let Some((province, _)) = group.first() else {
                    continue;
                };
                let partition = store::province_partition("person", *province);
                let mut copy = CopyStream::new(
                    self.conn.c()?,
                    &format!("COPY {partition} ({PERSON_ALL_COLS}) FROM STDIN"),
                )
                .map_err(db)?;
                for (_, r) in group {
                    encode_row(copy.buf(), r, now_ms, false);
                    copy.row_done();
                }
                copy.finish().map_err(conflict)?;
            }
        }
        let changed = out.iter().filter(|r| r.base_version > 0).count();
        if changed == 0 {
            return Ok(());
        }
        let client = self.conn.c()?;
        if self.stage_created {
            client
                .batch_execute("TRUNCATE eid_person_stage")
                .map_err(db)?;
        } else {
            client
                .batch_execute("CREATE TEMP TABLE eid_person_stage (LIKE person, base_version bigint, base_province smallint) ON COMMIT DROP")
                .map_err(db)?;
            self.stage_created = true;
        }
        let mut copy = CopyStream::new(
            client,
            &format!(
                "COPY eid_person_stage ({PERSON_ALL_COLS}, base_version, base_province) FROM STDIN"
            ),
        )
        .map_err(db)?;
        for r in out.iter().filter(|r| r.base_version > 0) {
            encode_row(copy.buf(), r, now_ms, true);
            copy.row_done();
        }
        copy.finish().map_err(db)?;
        let set = PERSON_ALL_COLS
            .split(", ")
            .filter(|c| *c != "personal_id")
            .map(|c| format!("{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // One UPDATE per province the stored rows are in, so each reads one partition. A row
        // whose new residence is in another province moves partition (and its key row with it,
        // by the triggers of migration 31).
        let mut provinces: Vec<i16> = out
            .iter()
            .filter(|r| r.base_version > 0)
            .map(|r| r.base_province)
            .collect();
        provinces.sort_unstable();
        provinces.dedup();
        let sql = format!(
            "UPDATE person SET {set} FROM eid_person_stage s \
             WHERE s.base_province = $1 AND person.res_path >= $2 AND person.res_path < $3 \
             AND person.personal_id = s.personal_id AND person.version = s.base_version"
        );
        let mut n = 0;
        for province in provinces {
            let (lo, hi) = province_range(province);
            n += client.execute(&sql, &[&province, &lo, &hi]).map_err(db)?;
        }
        if usize::try_from(n).ok() != Some(changed) {
            return Err(StoreError::Conflict(
                "a person was changed by another writer at the same time",
            ));
        }
        Ok(())
    }

    pub(super) fn write_events(
        &mut self,
        events: &[Event],
        out: &[OutRow],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // The columns all events of the writer share: at, actor (after kind: reason).
        let mut head = Vec::new();
        head.push(b'\t');
        copy_int(&mut head, self.now_ms);
        head.push(b'\t');
        copy_text(&mut head, &self.actor);
        head.push(b'\t');
        let mut tail = Vec::new();
        tail.push(b'\t');
        copy_text(&mut tail, &self.reason);
        tail.push(b'\t');
        let mut copy = CopyStream::new(
            self.conn.c()?,
            "COPY person_event (personal_id, at, actor, kind, reason, changes) FROM STDIN",
        )
        .map_err(db)?;
        for e in events {
            let buf = copy.buf();
            copy_text(buf, &e.personal_id);
            buf.extend_from_slice(&head);
            buf.extend_from_slice(e.kind.as_bytes());
            buf.extend_from_slice(&tail);
            match &e.changes {
                Changes::Created(i) => match out.get(*i) {
                    Some(r) => created_json(buf, &r.p.fields),
                    None => return Err(StoreError::Db("writer lost track of a row".into())),
                },
                Changes::Json(v) => copy_text(buf, &v.to_string()),
            }
            buf.push(b'\n');
            copy.row_done();
        }
        copy.finish().map_err(db)?;
        Ok(())
    }
}

/// Bytes sent to the server at a time while a COPY is encoded, so that the server works on one
/// chunk while the next is encoded.
pub(super) const COPY_CHUNK: usize = 64 * 1024;

/// A `COPY … FROM STDIN` fed in chunks.
pub(super) struct CopyStream<'c> {
    pub(super) w: CopyInWriter<'c>,
    pub(super) buf: Vec<u8>,
    /// A write failed: the server refused the data; `finish` reports why.
    pub(super) failed: bool,
}

impl<'c> CopyStream<'c> {
    pub(super) fn new(
        client: &'c mut Client,
        sql: &str,
    ) -> Result<CopyStream<'c>, postgres::Error> {
        Ok(CopyStream {
            w: client.copy_in(sql)?,
            buf: Vec::with_capacity(COPY_CHUNK + 4096),
            failed: false,
        })
    }

    pub(super) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Call after each whole row.
    pub(super) fn row_done(&mut self) {
        if self.buf.len() >= COPY_CHUNK {
            self.send();
        }
    }

    pub(super) fn send(&mut self) {
        if !self.failed && self.w.write_all(&self.buf).is_err() {
            self.failed = true;
        }
        self.buf.clear();
    }

    pub(super) fn finish(mut self) -> Result<u64, postgres::Error> {
        self.send();
        self.w.finish()
    }
}

/// One row of `PERSON_ALL_COLS` (then `base_version` if asked) in COPY text format.
pub(super) fn encode_row(buf: &mut Vec<u8>, r: &OutRow, now_ms: i64, with_base: bool) {
    let f = &r.p.fields;
    let text = |buf: &mut Vec<u8>, i: usize| {
        copy_text(buf, f.get(i).map(String::as_str).unwrap_or(""));
        buf.push(b'\t');
    };
    let opt = |buf: &mut Vec<u8>, i: usize| {
        copy_opt(buf, f.get(i).map(String::as_str).unwrap_or(""));
        buf.push(b'\t');
    };
    text(buf, 0); // personal_id
    text(buf, 1); // surname
    text(buf, 2); // middle_name
    text(buf, 3); // given_name
    copy_text(buf, &r.p.folded);
    buf.push(b'\t');
    text(buf, 4); // birth_date
    copy_int(buf, i64::from(r.p.birth_year));
    buf.push(b'\t');
    text(buf, 5); // sex
    opt(buf, 6); // hometown_unit
    text(buf, 7); // residence_unit
    copy_int(buf, r.p.res_path);
    buf.push(b'\t');
    text(buf, 8); // residence_address
    opt(buf, 9); // temp_unit
    opt(buf, 10); // temp_address
    opt(buf, 11); // household_id
    copy_opt(buf, r.p.phone.as_deref().unwrap_or("")); // phone, E.164
    buf.push(b'\t');
    text(buf, 13); // phone_type
    text(buf, 14); // life_status
    opt(buf, 15); // life_status_date
    opt(buf, 16); // card_issued
    buf.extend_from_slice(match f[17].as_str() {
        "1" => b"t",
        "0" => b"f",
        _ => b"\\N",
    });
    buf.push(b'\t');
    copy_bytea(buf, &r.p.digest);
    buf.push(b'\t');
    copy_int(buf, r.version);
    buf.push(b'\t');
    copy_int(buf, now_ms);
    if with_base {
        buf.push(b'\t');
        copy_int(buf, r.base_version);
        buf.push(b'\t');
        copy_int(buf, i64::from(r.base_province));
    }
    buf.push(b'\n');
}

/// The `changes` of a `created` event, the same JSON as [`store::created_changes`], written
/// straight into COPY text format.
pub(super) fn created_json(buf: &mut Vec<u8>, fields: &[String; 18]) {
    buf.push(b'{');
    for (i, (column, value)) in csvfmt::COLUMNS.iter().zip(fields).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        buf.extend_from_slice(column.as_bytes());
        buf.extend_from_slice(b"\":");
        if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            // Nothing to escape, for JSON or for COPY.
            buf.push(b'"');
            buf.extend_from_slice(value.as_bytes());
            buf.push(b'"');
        } else {
            copy_text(buf, &serde_json::Value::String(value.clone()).to_string());
        }
    }
    buf.push(b'}');
}

impl PersonWriter for PgWriter<'_> {
    fn put(&mut self, person: &Person) -> Result<(), StoreError> {
        let p = self.pending(person)?;
        self.buf.push(p);
        if self.buf.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn current(&mut self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError> {
        self.flush()?;
        let sql = format!(
            "SELECT {PERSON_COLS}, version, updated_at FROM person WHERE {} FOR UPDATE",
            by_id("$1", "$2", "$3")
        );
        let row = in_partition_of(&mut self.conn.kept()?, id.as_str(), |c, lo, hi| {
            c.query_opt(&sql, &[&id.as_str(), &lo, &hi])
        })?;
        row.as_ref().map(stored_person).transpose()
    }

    fn tx(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.flush()?;
        // The writer sent `BEGIN` itself: statements on its connection run inside it.
        let (client, statements) = self.conn.parts()?;
        Ok(Box::new(super::db::PgTx::auto(client, statements)))
    }

    fn commit(mut self: Box<Self>) -> Result<BatchCounts, StoreError> {
        self.flush()?;
        for def in std::mem::take(&mut self.deferred_indexes) {
            self.conn.c()?.batch_execute(&def).map_err(db)?;
        }
        self.done = true;
        if let Err(e) = self.conn.c()?.batch_execute("COMMIT") {
            self.conn.discard = true;
            return Err(db(e));
        }
        Ok(self.counts)
    }
}

impl Drop for PgWriter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let rolled_back = match self.conn.client.as_mut() {
            Some(p) => p.client.batch_execute("ROLLBACK").is_ok(),
            None => false,
        };
        if !rolled_back {
            self.conn.discard = true;
        }
    }
}
