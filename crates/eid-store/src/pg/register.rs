//! The register through the storage API: persons, their history, search, households, the bulk
//! writer, streaming and the population roll-up.

use super::*;

impl PgStore {
    /// Applies the migrations up to version `last` that have not been applied, in one
    /// transaction (tests stop early to convert a database of an older version).
    pub(crate) fn migrate_to(&self, last: i32) -> Result<(), StoreError> {
        let mut conn = self.writer_conn()?;
        let mut tx = conn.c()?.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
        )
        .map_err(db)?;
        let applied: Vec<i32> = tx
            .query("SELECT version FROM schema_migrations", &[])
            .map_err(db)?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db)?;

        for (version, sql) in MIGRATIONS {
            if applied.contains(version) || *version > last {
                continue;
            }
            tx.batch_execute(sql).map_err(db)?;
            // The database's own clock, as on SQLite: when a migration ran is not business time.
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) \
                 VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                &[version],
            )
            .map_err(db)?;
        }
        if applied.contains(&AUDIT_BY_MONTH) || AUDIT_BY_MONTH <= last {
            tx.execute("SELECT eid_audit_ahead($1)", &[&AUDIT_MONTHS_AHEAD])
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        self.schema_changed();
        Ok(())
    }

    /// Makes the audit trail's partitions of the current month and the `months` after it
    /// (`eid_audit_ahead`, migration 32) under the migration lock, so that two nodes do not make
    /// one month twice; answers how many it made.
    pub(crate) fn audit_months_ahead(&self, months: i32) -> Result<u32, StoreError> {
        let mut conn = self.writer_conn()?;
        let r = (|| {
            let mut tx = conn.c()?.transaction().map_err(db)?;
            // As `migrate` does: two nodes must not make the same month at once.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
                .map_err(db)?;
            let made: i32 = tx
                .query_one("SELECT eid_audit_ahead($1)", &[&months])
                .map_err(db)?
                .try_get(0)
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(u32::try_from(made).unwrap_or(0))
        })();
        conn.check(r)
    }
}

impl PgStore {
    /// A person by ID on one connection: in the partition `guess` (a `res_path` range) first
    /// when there is one, else — or when they are not there — in the partition their key names.
    fn person_in(
        &self,
        id: &PersonalId,
        guess: Option<(i64, i64)>,
    ) -> Result<Option<StoredPerson>, StoreError> {
        let mut conn = self.reader()?;
        let mut c = conn.kept()?;
        let read = |c: &mut Kept<'_>, lo: i64, _: i64| {
            let sql = format!(
                "SELECT {PERSON_COLS}, version, updated_at FROM {} person \
                 WHERE person.personal_id = $1",
                person_partition(lo)
            );
            c.query_opt(&sql, &[&id.as_str()])
        };
        let found = match guess {
            Some((lo, hi)) => read(&mut c, lo, hi)?,
            None => None,
        };
        let row = match found {
            Some(row) => Some(row),
            None => in_partition_of(&mut c, id.as_str(), read)?,
        };
        row.as_ref().map(stored_person).transpose()
    }
}

impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn db(&self) -> &dyn Db {
        self
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.migrate_to(i32::MAX)
    }

    fn prepare_ahead(&self) -> Result<u32, StoreError> {
        self.audit_months_ahead(AUDIT_MONTHS_AHEAD)
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.c()?.batch_execute("SELECT 1").map_err(db)
    }

    fn person(&self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError> {
        self.person_in(id, None)
    }

    /// One statement instead of two when the person is in `res_path`'s province (the
    /// partition key's look-up is skipped); otherwise [`Store::person`]'s lookup.
    fn person_near(
        &self,
        id: &PersonalId,
        res_path: i64,
    ) -> Result<Option<StoredPerson>, StoreError> {
        let guess = store::province_range(res_path.div_euclid(store::PROVINCE_SPAN));
        self.person_in(id, Some(guess))
    }

    fn person_and_residency(
        &self,
        id: &PersonalId,
    ) -> Result<Option<(StoredPerson, eid_domain::Residency)>, StoreError> {
        let mut conn = self.reader()?;
        let row = in_partition_of(&mut conn.kept()?, id.as_str(), |c, lo, _| {
            let sql = format!(
                "SELECT {PERSON_COLS}, version, updated_at, {} FROM {} person \
                 LEFT JOIN person_residency USING (personal_id) WHERE person.personal_id = $1",
                crate::residency::COLUMNS,
                person_partition(lo)
            );
            c.query_opt(&sql, &[&id.as_str()])
        })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text = |i: usize| row.try_get::<_, Option<String>>(i).map_err(db);
        let r = crate::residency::from_texts([text(20)?, text(21)?, text(22)?, text(23)?])?;
        Ok(Some((stored_person(&row)?, r)))
    }

    fn history(&self, id: &PersonalId) -> Result<Vec<PersonEvent>, StoreError> {
        let mut conn = self.reader()?;
        let rows = conn.kept()?.query(
            "SELECT seq, at, actor, kind, reason, changes::text FROM person_event \
             WHERE personal_id = $1 ORDER BY seq",
            &[&id.as_str()],
        )?;
        rows.iter()
            .map(|r| {
                let changes: &str = r.try_get(5).map_err(db)?;
                Ok(PersonEvent {
                    seq: r.try_get(0).map_err(db)?,
                    at: from_ms(r.try_get(1).map_err(db)?),
                    actor: Actor::from_db(r.try_get(2).map_err(db)?),
                    kind: r.try_get(3).map_err(db)?,
                    reason: r.try_get(4).map_err(db)?,
                    changes: serde_json::from_str(changes)
                        .map_err(|_| corrupt("event changes are not JSON"))?,
                })
            })
            .collect()
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(&q.within) else {
            return Ok(Vec::new());
        };
        // Folding twice changes nothing; it makes the store agree with SQLite on unfolded input.
        let prefix = eid_domain::fold(&q.name_prefix);
        let mut pattern = String::with_capacity(prefix.len() + 1);
        for c in prefix.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        let limit = i64::from(q.limit);
        let birth_date = q.birth_date.map(eid_domain::iso);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&pattern, &lo, &hi, &limit];
        let mut sql = format!(
            "SELECT {PERSON_COLS}, version, updated_at FROM person \
             WHERE name_folded LIKE $1 AND res_path >= $2 AND res_path < $3"
        );
        if let Some(year) = &q.birth_year {
            params.push(year);
            sql.push_str(&format!(" AND birth_year = ${}", params.len()));
        }
        if let Some(date) = &birth_date {
            params.push(date);
            sql.push_str(&format!(" AND birth_date = ${}", params.len()));
        }
        sql.push_str(" ORDER BY name_folded, personal_id LIMIT $4");
        let mut conn = self.reader()?;
        let rows = conn.c()?.query(&sql, &params).map_err(db)?;
        rows.iter().map(stored_person).collect()
    }

    fn household(
        &self,
        household_id: &str,
        within: &UnitCode,
    ) -> Result<Vec<StoredPerson>, StoreError> {
        let Some((lo, hi)) = path_range(within) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {PERSON_COLS}, version, updated_at FROM person \
             WHERE household_id = $1 AND res_path >= $2 AND res_path < $3 \
             ORDER BY birth_date, personal_id LIMIT 100"
        );
        let mut conn = self.reader()?;
        let rows = conn.kept()?.query(&sql, &[&household_id, &lo, &hi])?;
        rows.iter().map(stored_person).collect()
    }

    fn writer(
        &self,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Box<dyn PersonWriter + '_>, StoreError> {
        Ok(Box::new(PgWriter::new(
            self.writer_conn()?,
            actor,
            reason,
            now,
        )?))
    }

    fn for_each_person(
        &self,
        unit: &UnitCode,
        f: &mut dyn FnMut(&Person) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(0);
        };
        let mut conn = self.reader()?;
        let mut tx = conn
            .c()?
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(db)?;
        let portal = tx
            .bind(
                &format!(
                    "SELECT {PERSON_COLS} FROM person WHERE res_path >= $1 AND res_path < $2 ORDER BY personal_id"
                ),
                &[&lo, &hi],
            )
            .map_err(db)?;
        let mut n = 0u64;
        loop {
            let rows = tx.query_portal(&portal, STREAM_CHUNK).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                f(&person_from_fields(&row_fields(row, 0)?)?)?;
                n += 1;
            }
            if rows.len() < usize::try_from(STREAM_CHUNK).unwrap_or(usize::MAX) {
                break;
            }
        }
        drop(portal);
        tx.commit().map_err(db)?;
        Ok(n)
    }

    fn population_by_commune(
        &self,
        unit: &UnitCode,
    ) -> Result<Vec<(UnitCode, Population)>, StoreError> {
        let Some((lo, hi)) = path_range(unit) else {
            return Ok(Vec::new());
        };
        let mut conn = self.reader()?;
        let rows = conn
            .c()?
            .query(
                "SELECT residence_unit, count(*), count(*) FILTER (WHERE life_status = 'alive') FROM person \
                 WHERE res_path >= $1 AND res_path < $2 \
                   AND personal_id NOT IN (SELECT personal_id FROM person_merged) \
                 GROUP BY residence_unit ORDER BY residence_unit",
                &[&lo, &hi],
            )
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let code: &str = r.try_get(0).map_err(db)?;
                let total: i64 = r.try_get(1).map_err(db)?;
                let alive: i64 = r.try_get(2).map_err(db)?;
                Ok((
                    UnitCode::parse(code)
                        .map_err(|_| corrupt("person has a bad residence unit"))?,
                    Population {
                        total: u64::try_from(total).unwrap_or(0),
                        alive: u64::try_from(alive).unwrap_or(0),
                    },
                ))
            })
            .collect()
    }
}
