//! The storage API: one trait, two engines (SQLite and PostgreSQL), the same behaviour.
//!
//! The API is synchronous; the server calls it from blocking threads. Every write that changes a
//! person appends an event to `person_event` in the same transaction, and `person` is the
//! projection of those events. Both event and audit tables are append-only: the engines refuse
//! updates and deletes on them with triggers.

use std::fmt;
use std::sync::Arc;

use eid_domain::{Level, Person, PersonalId, Tree, UnitCode, Units};
use time::OffsetDateTime;

/// Who made a change, as recorded in events and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A staff user, by id.
    Staff(i64),
    /// An API token, by id.
    Token(i64),
    /// A command run on the server's machine (`eid import`, `eid demo`, `eid admin`).
    Cli(String),
    /// Someone not signed in (a failed sign-in for a name no account has).
    Anonymous,
}

impl Actor {
    pub fn to_db(&self) -> String {
        match self {
            Actor::Staff(id) => format!("staff:{id}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Cli(what) => format!("cli:{what}"),
            Actor::Anonymous => "anonymous".to_owned(),
        }
    }
    pub fn from_db(s: &str) -> Actor {
        if let Some(n) = s.strip_prefix("staff:").and_then(|n| n.parse().ok()) {
            return Actor::Staff(n);
        }
        if let Some(n) = s.strip_prefix("token:").and_then(|n| n.parse().ok()) {
            return Actor::Token(n);
        }
        if s == "anonymous" {
            return Actor::Anonymous;
        }
        Actor::Cli(s.strip_prefix("cli:").unwrap_or(s).to_owned())
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}

/// What went wrong in the store. Messages never contain personal data.
#[derive(Debug)]
pub enum StoreError {
    /// The database engine failed (SQL, IO).
    Db(String),
    /// The database cannot take work at the moment: its server is gone or is no longer the
    /// primary (a crash, a failover under way), or no connection came free in time. Worth
    /// retrying shortly; the HTTP layer answers `503` with `Retry-After`.
    Unavailable(String),
    /// A uniqueness rule was broken (for example a second user with the same name).
    Conflict(&'static str),
    /// The thing to change does not exist.
    NotFound,
    /// Stored data could not be read back into domain types (a bug or a hand-edited database).
    Corrupt(String),
    /// The URL names no engine we know.
    BadUrl(String),
    /// A statement broke one of the schema's integrity rules. Both engines report it alike;
    /// the store's own methods turn the ones they expect into [`StoreError::Conflict`] or
    /// [`StoreError::NotFound`]. The message names the rule, never the row's values.
    Violated(Rule, String),
}

/// The kind of integrity rule a statement broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A primary key or a unique constraint or index.
    Unique,
    ForeignKey,
    Check,
    NotNull,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Db(e) => write!(f, "database error: {e}"),
            StoreError::Unavailable(e) => write!(f, "database unavailable: {e}"),
            StoreError::Conflict(what) => write!(f, "conflict: {what}"),
            StoreError::NotFound => f.write_str("not found"),
            StoreError::Corrupt(e) => write!(f, "stored data is corrupt: {e}"),
            StoreError::BadUrl(u) => write!(
                f,
                "database URL must start with sqlite:// or postgres://, got {u:?}"
            ),
            StoreError::Violated(_, e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        let rule = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Some(Rule::Unique)
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Rule::ForeignKey),
                ffi::SQLITE_CONSTRAINT_CHECK => Some(Rule::Check),
                ffi::SQLITE_CONSTRAINT_NOTNULL => Some(Rule::NotNull),
                _ => None,
            },
            _ => None,
        };
        match rule {
            Some(rule) => StoreError::Violated(rule, e.to_string()),
            None => StoreError::Db(e.to_string()),
        }
    }
}

impl From<postgres::Error> for StoreError {
    /// Without the server's `DETAIL`, which may quote row values (see `pg::db`).
    fn from(e: postgres::Error) -> Self {
        crate::pg::db(e)
    }
}

/// A person as stored: the record plus its version (number of events) and last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPerson {
    pub person: Person,
    pub version: i64,
    pub updated_at: OffsetDateTime,
}

/// One event of a person's history.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// `created` or `updated`.
    pub kind: String,
    pub reason: String,
    /// For `created`: `{"column": "value", …}` with every column; for `updated`:
    /// `{"column": ["old", "new"], …}` with the changed columns. Column names are those of the
    /// CSV format ([`crate::csvfmt::COLUMNS`]).
    pub changes: serde_json::Value,
}

/// What a person search asks for. `name` is folded by the store's caller.
#[derive(Clone)]
pub struct SearchQuery {
    /// Folded full name or its beginning (`nguyen van`).
    pub name_prefix: String,
    /// Year of birth, or a full date of birth, to narrow the search.
    pub birth_year: Option<i32>,
    pub birth_date: Option<time::Date>,
    /// Only persons whose permanent residence is in this unit's subtree (2024 tree).
    pub within: UnitCode,
    pub limit: u32,
}

/// The outcome of writing one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Updated,
    Unchanged,
}

/// Counts of an import or batch write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl BatchCounts {
    pub fn add(&mut self, o: PutOutcome) {
        match o {
            PutOutcome::Created => self.imported += 1,
            PutOutcome::Updated => self.updated += 1,
            PutOutcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// A write transaction over many persons: the importer's view of the store.
///
/// Nothing is visible to readers until [`PersonWriter::commit`]; dropping the writer without
/// committing rolls everything back.
pub trait PersonWriter {
    /// Creates or updates one person, appending the event. An engine may buffer: counts are
    /// final only after commit.
    fn put(&mut self, person: &Person) -> Result<(), StoreError>;
    /// [`PersonWriter::put`] of a person whose columns were worked out beforehand (on another
    /// thread); an engine that has no use for them writes the person.
    fn put_prepared(&mut self, person: &PreparedPerson) -> Result<(), StoreError> {
        self.put(&person.person)
    }
    /// [`PersonWriter::put_prepared`] of each, in order.
    fn put_many(&mut self, persons: &[PreparedPerson]) -> Result<(), StoreError> {
        persons.iter().try_for_each(|p| self.put_prepared(p))
    }
    /// Makes every write durable and returns the counts.
    fn commit(self: Box<Self>) -> Result<BatchCounts, StoreError>;
    /// The person as this transaction sees it, and locked against other writers until commit
    /// (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: the writer holds the database's write lock),
    /// so that a check made on it (the version a form was made from) still holds when the
    /// write lands. Writes buffered so far are flushed first.
    fn current(&mut self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError>;
    /// The shared SQL interface inside this transaction, for rows of other tables that must
    /// commit or roll back with the persons written (a proposal's decision). Writes buffered so
    /// far are flushed first.
    fn tx(&mut self) -> Result<Box<dyn crate::sql::Tx + '_>, StoreError>;
}

/// Staff roles. Every role but auditor is tied to the level of its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Ministry,
    Province,
    District,
    Commune,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ministry => "ministry",
            Role::Province => "province",
            Role::District => "district",
            Role::Commune => "commune",
            Role::Auditor => "auditor",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "ministry" => Some(Role::Ministry),
            "province" => Some(Role::Province),
            "district" => Some(Role::District),
            "commune" => Some(Role::Commune),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }
    /// The unit level an officer of this role must be attached to (`None`: any level).
    pub fn level(self) -> Option<Level> {
        match self {
            Role::Ministry => Some(Level::Nation),
            Role::Province => Some(Level::Province),
            Role::District => Some(Level::District),
            Role::Commune => Some(Level::Commune),
            Role::Auditor => None,
        }
    }
}

/// A staff account.
#[derive(Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The unit (2024 tree) whose subtree this account may see.
    pub unit: UnitCode,
    pub disabled: bool,
}

impl Staff {
    /// Whether this account may see a person who lives in `commune`.
    pub fn sees(&self, commune: &UnitCode) -> bool {
        self.role != Role::Auditor && Units::get().contains(Tree::Gso2024, &self.unit, commune)
    }
}

/// A new staff account; the password hash comes from `eid_core::secret::hash_password`.
#[derive(Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitCode,
    pub password_hash: String,
}

/// An API token's metadata (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub staff_id: i64,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A console session, found by the hash of its cookie.
#[derive(Clone)]
pub struct Session {
    pub staff: Staff,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// One line of the audit trail. Targets are ids (a personal ID's hash prefix is not needed:
/// the audit trail is itself access-controlled), never names or phone numbers.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// Dotted verb, e.g. `person.read`, `person.search`, `auth.login`, `token.issue`.
    pub action: String,
    /// What it was done to (a personal ID, a unit code, a username, a token id).
    pub target: String,
    /// `ok`, `denied`, `failed`.
    pub outcome: String,
    pub request_id: String,
}

/// Population of a unit: everyone, and those alive and present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Population {
    pub total: u64,
    pub alive: u64,
}

/// The storage API. Both engines pass the same conformance suite (`tests/store.rs`).
pub trait Store: Send + Sync {
    /// Which engine this is: `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Creates or upgrades the schema. Idempotent.
    fn migrate(&self) -> Result<(), StoreError>;
    /// Checks that the database answers.
    fn ping(&self) -> Result<(), StoreError>;
    /// Makes ahead of time what the store's tables will need (on PostgreSQL, the audit trail's
    /// partitions of the current month and the few after it, as `migrate` also does); answers
    /// how many it made. The server calls it every few hours, so a server that runs for months
    /// still appends each month's lines to that month's partition. SQLite needs nothing.
    fn prepare_ahead(&self) -> Result<u32, StoreError> {
        Ok(0)
    }
    /// Copies the database, while it serves, into the new file `to` (see [`crate::backup`]).
    /// Only SQLite does this here; PostgreSQL has base backups and WAL archiving.
    fn backup_to(&self, to: &std::path::Path) -> Result<crate::backup::Copied, StoreError> {
        let _ = to;
        Err(StoreError::Db(format!(
            "eid admin backup copies SQLite databases; back up {} with pg_basebackup and WAL archiving (scripts/pg-pitr.sh)",
            self.engine()
        )))
    }
    /// The shared SQL interface (accounts, applications, devices, outbox, roll-ups).
    fn db(&self) -> &dyn crate::sql::Db;
    /// Whether point reads (a person by ID, a token, a session) are local and take microseconds
    /// without ever waiting for a writer, so that a server may run them on its async workers
    /// instead of handing them to a blocking thread. True for SQLite in WAL mode.
    fn reads_are_local(&self) -> bool {
        false
    }
    /// Whether a write transaction holds the whole database against every other writer, in
    /// this process and others (SQLite), rather than the rows it touches (PostgreSQL). Long
    /// writes (an import) then commit in short transactions so that others get their turn.
    fn one_writer(&self) -> bool {
        false
    }

    // Persons.
    fn person(&self, id: &PersonalId) -> Result<Option<StoredPerson>, StoreError>;
    /// [`Store::person`] for a caller that knows where the person most likely lives (an
    /// account's `res_path`: their commune when the account was registered or activated): an
    /// engine whose register is split by province reads that province's part first, and does
    /// the whole lookup only when the person is not there (moved to another province since).
    /// The answer is the same as [`Store::person`]'s.
    fn person_near(
        &self,
        id: &PersonalId,
        res_path: i64,
    ) -> Result<Option<StoredPerson>, StoreError> {
        let _ = res_path;
        self.person(id)
    }
    /// A person and their residence fields beyond the 18 columns (`person_residency`), read
    /// together: the person lookup's hot path. The engines answer it with one statement; this
    /// default reads one after the other.
    fn person_and_residency(
        &self,
        id: &PersonalId,
    ) -> Result<Option<(StoredPerson, eid_domain::Residency)>, StoreError> {
        let Some(p) = self.person(id)? else {
            return Ok(None);
        };
        let r = crate::sql::read(self.db(), |tx| crate::residency::load(tx, id))?;
        Ok(Some((p, r)))
    }
    fn history(&self, id: &PersonalId) -> Result<Vec<PersonEvent>, StoreError>;
    fn search(&self, q: &SearchQuery) -> Result<Vec<StoredPerson>, StoreError>;
    /// The members of a household whose permanent residence is in `within`'s subtree, eldest
    /// first (by the text of the birth date, then personal ID), at most 100.
    fn household(
        &self,
        household_id: &str,
        within: &UnitCode,
    ) -> Result<Vec<StoredPerson>, StoreError>;
    /// Opens a write transaction for many persons, attributed to `actor` with `reason`, at `now`.
    fn writer(
        &self,
        actor: &Actor,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Box<dyn PersonWriter + '_>, StoreError>;
    /// Calls `f` with every person whose permanent residence is in `unit`'s subtree (2024 tree),
    /// in personal-ID order.
    fn for_each_person(
        &self,
        unit: &UnitCode,
        f: &mut dyn FnMut(&Person) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;
    /// Population per commune (2024 tree) under `unit`; callers sum it up the tree. A duplicate
    /// merged into another record (`person_merged`) is not counted: the survivor is.
    fn population_by_commune(
        &self,
        unit: &UnitCode,
    ) -> Result<Vec<(UnitCode, Population)>, StoreError>;

    // Staff, sessions, tokens: written once in `crate::staff`, through the shared SQL layer.
    // Engines do not override these.

    /// Creates a staff account; a taken username is `Conflict("username already exists")`.
    fn create_staff(&self, new: &NewStaff, now: OffsetDateTime) -> Result<i64, StoreError> {
        crate::staff::create_staff(self.db(), new, now)
    }
    /// The account and its password hash, disabled or not (sign-in says no to a disabled one).
    fn staff_by_username(&self, username: &str) -> Result<Option<(Staff, String)>, StoreError> {
        crate::staff::staff_by_username(self.db(), username)
    }
    /// The account, disabled or not.
    fn staff_by_id(&self, id: i64) -> Result<Option<Staff>, StoreError> {
        crate::staff::staff_by_id(self.db(), id)
    }
    fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        crate::staff::list_staff(self.db())
    }
    fn set_password(&self, staff_id: i64, password_hash: &str) -> Result<(), StoreError> {
        crate::staff::set_password(self.db(), staff_id, password_hash)
    }
    /// Disables or re-enables an account. A disabled account keeps its rows, but none of its
    /// sessions or tokens is found any more.
    fn set_staff_disabled(&self, staff_id: i64, disabled: bool) -> Result<(), StoreError> {
        crate::staff::set_disabled(self.db(), staff_id, disabled)
    }
    /// Records a console session (and forgets the expired ones). An unknown account is
    /// `NotFound`, a cookie hash already in use `Conflict`.
    fn create_session(
        &self,
        token_hash: &[u8],
        staff_id: i64,
        csrf: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        crate::staff::create_session(self.db(), token_hash, staff_id, csrf, now, expires_at)
    }
    /// The live session for this cookie hash: not expired at `now`, its account not disabled.
    fn session(
        &self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        crate::staff::session(self.db(), token_hash, now)
    }
    fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        crate::staff::delete_session(self.db(), token_hash)
    }
    /// Records an API token. An unknown account is `NotFound`, a hash already in use
    /// `Conflict`.
    fn create_api_token(
        &self,
        staff_id: i64,
        name: &str,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        crate::staff::create_api_token(self.db(), staff_id, name, token_hash, now)
    }
    /// Revokes a live token; an unknown or already revoked one is `NotFound`.
    fn revoke_api_token(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        crate::staff::revoke_api_token(self.db(), id, now)
    }
    /// The token's id and account, when the token exists, is not revoked and its account is
    /// not disabled.
    fn api_token(&self, token_hash: &[u8]) -> Result<Option<(i64, Staff)>, StoreError> {
        crate::staff::api_token(self.db(), token_hash)
    }
    fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        crate::staff::list_api_tokens(self.db())
    }

    // Audit trail: statements written once in `crate::audit`. SQLite overrides `audit`,
    // `audit_synced` and `audit_query` to commit lines in groups and keep the trail in a file
    // of its own.

    /// Records one line. An engine may queue it to commit lines in groups (SQLite); then
    /// [`Store::audit_synced`] says when it is committed, and [`Store::audit_log`] sees every
    /// line recorded before it was called.
    fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let line = crate::audit::Line::new(actor, action, target, outcome, request_id, now);
        crate::sql::write_one(self.db(), |tx| crate::audit::append(tx, &line))
    }
    /// Calls `done` once every line recorded with `request_id` is committed, or with the error
    /// that kept it from being written. The server answers a request only after this, so that
    /// a crash cannot lose the line of a request that was answered. Here (PostgreSQL) `audit`
    /// commits each line before it returns, so `done` runs at once.
    fn audit_synced(&self, request_id: &str, done: crate::audit::Done) {
        let _ = request_id;
        done(Ok(()));
    }
    /// Whether `audit` queues lines and commits them in groups in a trail of its own (SQLite):
    /// then a line cannot share a transaction with the store's other writes, and a reader that
    /// needs both follows the trail instead (`eid_core::transparency::staff_reads`).
    fn audit_is_grouped(&self) -> bool {
        false
    }
    /// The newest entries first.
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(&crate::audit::AuditQuery {
            limit,
            ..Default::default()
        })
    }
    /// The entries that match every filter given, newest first.
    fn audit_query(&self, q: &crate::audit::AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        crate::sql::read_one(self.db(), |tx| crate::audit::query(tx, q))
    }
}

/// Opens a store from a URL: `sqlite://PATH` (created if missing) or `postgres://…`, where
/// `schema=NAME` in the query string puts every table in that schema (created if missing).
pub fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(crate::sqlite::SqliteStore::open(path)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (url, schema) = split_schema(url)?;
        Ok(Arc::new(crate::pg::PgStore::connect(
            &url,
            schema.as_deref(),
        )?))
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

/// Creates the folder of a `sqlite://` database file if it is missing.
pub fn prepare_sqlite_dir(url: &str) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(parent) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
    }
    Ok(())
}

/// Takes `schema=NAME` out of a PostgreSQL URL's query string. The name is 1 to 63 lowercase
/// ASCII letters, digits and underscores, starting with a letter.
fn split_schema(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", name)) => {
                let ok = (1..=63).contains(&name.len())
                    && name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(StoreError::Db(
                        "database URL: schema must be 1 to 63 lowercase letters, digits or _, \
                         starting with a letter"
                            .to_owned(),
                    ));
                }
                schema = Some(name.to_owned());
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, schema))
}

/// The width of one province's range of [`unit_path`] keys: `unit_path / PROVINCE_SPAN` is the
/// province's number.
pub const PROVINCE_SPAN: i64 = 100_000_000;

/// The half-open range of [`unit_path`] keys of province number `province` (the range of its
/// partition of a table partitioned by `res_path` on PostgreSQL).
pub fn province_range(province: i64) -> (i64, i64) {
    (province * PROVINCE_SPAN, (province + 1) * PROVINCE_SPAN)
}

/// The provinces (GSO numbers of the 2024 tree) that have a partition of their own in `person`
/// and `account` on PostgreSQL (migrations 31 and 34); the rows of any other province are in the
/// `_other` (DEFAULT) partition. Sorted. `pg::partition_tests` checks it against the catalog.
pub const PARTITIONED_PROVINCES: [i64; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// The partition of `table` (`person` or `account`, partitioned by `res_path` on PostgreSQL)
/// that holds province `province`'s rows: `person_062`, or `person_other` for a province
/// without one of its own.
///
/// A read that names the partition is planned once per connection (a generic plan of a plain
/// table). Named through the parent with its range as parameters, the read is planned again
/// at every execution: PostgreSQL keeps custom plans for a partitioned table, whose generic
/// plan counts all 64 partitions. That planning was ~0.19 ms of each account or person read
/// against ~0.02 ms to bind the partition's statement (`log_min_duration_statement = 0`).
pub fn province_partition(table: &str, province: i64) -> String {
    if PARTITIONED_PROVINCES.binary_search(&province).is_ok() {
        format!("{table}_{province:03}")
    } else {
        format!("{table}_other")
    }
}

/// The hierarchical key of a commune of the 2024 tree, `PPDDDCCCCC`: a unit's subtree is one
/// range of keys, so scoping a query to any unit is a range scan on one index.
pub fn unit_path(commune: &UnitCode) -> Option<i64> {
    let units = Units::get();
    let unit = units.unit(Tree::Gso2024, commune)?;
    if unit.level != Level::Commune {
        return None;
    }
    let mut district = 0;
    let mut province = 0;
    for a in units.ancestors(Tree::Gso2024, commune) {
        match a.level {
            Level::District => district = i64::from(a.code.number()),
            Level::Province => province = i64::from(a.code.number()),
            _ => {}
        }
    }
    Some(province * PROVINCE_SPAN + district * 100_000 + i64::from(commune.number()))
}

/// The half-open range of [`unit_path`] keys inside a unit's subtree (2024 tree).
pub fn path_range(unit: &UnitCode) -> Option<(i64, i64)> {
    let units = Units::get();
    let u = units.unit(Tree::Gso2024, unit)?;
    match u.level {
        Level::Nation => Some((0, i64::MAX)),
        Level::Province => {
            let p = i64::from(unit.number());
            Some(province_range(p))
        }
        Level::District => {
            let p = units
                .ancestors(Tree::Gso2024, unit)
                .iter()
                .find(|a| a.level == Level::Province)
                .map(|a| i64::from(a.code.number()))?;
            let d = i64::from(unit.number());
            let lo = p * PROVINCE_SPAN + d * 100_000;
            Some((lo, lo + 100_000))
        }
        Level::Commune => {
            let k = unit_path(unit)?;
            Some((k, k + 1))
        }
    }
}

/// The SHA-256 of a person's CSV fields joined by the unit separator: equal digests mean an
/// import row changes nothing.
pub fn digest(fields: &[String; 18]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(f.as_bytes());
    }
    h.finalize().to_vec()
}

/// A person with the columns a register row stores worked out: its CSV fields, their
/// [`digest`], the folded name, the residence's [`unit_path`] and the `created` event's changes.
/// An import works these out on one thread while another writes (see
/// [`PersonWriter::put_prepared`]).
pub struct PreparedPerson {
    pub person: Person,
    pub fields: [String; 18],
    pub digest: Vec<u8>,
    pub folded: String,
    pub res_path: i64,
    /// The `changes` of its `created` event, worked out ahead for a row expected to be new (an
    /// import's staged rows); see [`PreparedPerson::created`].
    created: Option<String>,
}

impl PreparedPerson {
    /// A person about to be created or updated: the `created` event's changes are worked out
    /// only if it turns out to be new.
    pub fn new(person: Person) -> Result<PreparedPerson, StoreError> {
        let fields = crate::csvfmt::fields(&person);
        PreparedPerson::with_fields(person, fields, None)
    }

    /// From fields already in their stored form (an import's staged rows, mostly new): the
    /// person is read back from them, which checks them, and they are kept as they are.
    pub fn from_fields(fields: [String; 18]) -> Result<PreparedPerson, StoreError> {
        let created = Some(encode_created(&fields)?);
        PreparedPerson::with_fields(person_from_fields(&fields)?, fields, created)
    }

    fn with_fields(
        person: Person,
        fields: [String; 18],
        created: Option<String>,
    ) -> Result<PreparedPerson, StoreError> {
        let res_path = unit_path(&person.residence.unit)
            .ok_or_else(|| StoreError::Corrupt("residence unit is not a commune".into()))?;
        Ok(PreparedPerson {
            digest: digest(&fields),
            folded: person.name.folded(),
            res_path,
            created,
            fields,
            person,
        })
    }

    /// The `changes` of a `created` event: the fields as a JSON array in CSV order (a third of
    /// the bytes of an object; `history` expands it back to the object of the API).
    pub fn created(&self) -> Result<std::borrow::Cow<'_, str>, StoreError> {
        Ok(match &self.created {
            Some(c) => std::borrow::Cow::Borrowed(c.as_str()),
            None => std::borrow::Cow::Owned(encode_created(&self.fields)?),
        })
    }
}

fn encode_created(fields: &[String; 18]) -> Result<String, StoreError> {
    serde_json::to_string(fields).map_err(|e| StoreError::Db(format!("encoding an event: {e}")))
}

/// The `changes` of a `created` event: every column with its value.
pub fn created_changes(fields: &[String; 18]) -> serde_json::Value {
    let map = crate::csvfmt::COLUMNS
        .iter()
        .zip(fields)
        .map(|(c, v)| ((*c).to_owned(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map)
}

/// The `changes` of an `updated` event: each changed column with `[old, new]`, or `None` when
/// nothing changed.
pub fn updated_changes(old: &[String; 18], new: &[String; 18]) -> Option<serde_json::Value> {
    let map: serde_json::Map<String, serde_json::Value> = crate::csvfmt::COLUMNS
        .iter()
        .zip(old.iter().zip(new))
        .filter(|(_, (o, n))| o != n)
        .map(|(c, (o, n))| ((*c).to_owned(), serde_json::json!([o, n])))
        .collect();
    (!map.is_empty()).then_some(serde_json::Value::Object(map))
}

/// Milliseconds since the Unix epoch, the form timestamps are stored in.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_ms`].
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Replays a person's events into the 18 CSV fields of the current record: the projection the
/// `person` table must always equal.
pub fn replay(events: &[PersonEvent]) -> Option<[String; 18]> {
    let mut fields: Option<[String; 18]> = None;
    for e in events {
        let obj = e.changes.as_object()?;
        match e.kind.as_str() {
            "created" => {
                let mut f: [String; 18] = Default::default();
                for (slot, col) in f.iter_mut().zip(crate::csvfmt::COLUMNS) {
                    *slot = obj.get(col)?.as_str()?.to_owned();
                }
                fields = Some(f);
            }
            "updated" => {
                let f = fields.as_mut()?;
                for (slot, col) in f.iter_mut().zip(crate::csvfmt::COLUMNS) {
                    if let Some(pair) = obj.get(col) {
                        *slot = pair.get(1)?.as_str()?.to_owned();
                    }
                }
            }
            _ => return None,
        }
    }
    fields
}

/// Rebuilds a person from the 18 stored CSV fields.
pub fn person_from_fields(fields: &[String; 18]) -> Result<Person, StoreError> {
    let refs: [&str; 18] = std::array::from_fn(|i| fields[i].as_str());
    person_from_strs(&refs)
}

/// [`person_from_fields`] from borrowed text.
pub fn person_from_strs(fields: &[&str; 18]) -> Result<Person, StoreError> {
    const FAR_FUTURE: time::Date = time::macros::date!(9999 - 12 - 31);
    crate::csvfmt::parse_fields(fields, FAR_FUTURE)
        .map_err(|e| StoreError::Corrupt(format!("column {}", e.column)))
}

/// The national form of a stored E.164 phone (`+84912345678` → `0912345678`), the CSV form.
pub fn phone_national(e164: &str) -> String {
    e164.strip_prefix("+84")
        .map(|rest| format!("0{rest}"))
        .unwrap_or_else(|| e164.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_province_names_its_partition_or_the_default_one() {
        // `province_partition` searches the list: it must stay sorted.
        assert!(PARTITIONED_PROVINCES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(province_partition("person", 1), "person_001");
        assert_eq!(province_partition("account", 62), "account_062");
        assert_eq!(province_partition("account", 96), "account_096");
        // Numbers without a partition of their own (none in the 2024 tree) go to DEFAULT.
        for p in [0, 3, 97, 99, -1] {
            assert_eq!(province_partition("person", p), "person_other");
        }
    }

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        for a in [
            Actor::Staff(7),
            Actor::Token(3),
            Actor::Cli("import".into()),
            Actor::Anonymous,
        ] {
            assert_eq!(Actor::from_db(&a.to_db()), a);
        }
        assert_eq!(Actor::Anonymous.to_db(), "anonymous");
    }

    #[test]
    fn unit_paths_put_a_subtree_in_one_range() {
        let hàm_rồng = UnitCode::parse("14755").unwrap();
        let k = unit_path(&hàm_rồng).unwrap();
        assert_eq!(k, 3_838_014_755);
        for unit in ["38", "380", "14755", "VN"] {
            let (lo, hi) = path_range(&UnitCode::parse(unit).unwrap()).unwrap();
            assert!(lo <= k && k < hi, "{unit}");
        }
        for unit in ["381", "62", "14758"] {
            let (lo, hi) = path_range(&UnitCode::parse(unit).unwrap()).unwrap();
            assert!(!(lo <= k && k < hi), "{unit}");
        }
        assert_eq!(
            unit_path(&UnitCode::parse("380").unwrap()),
            None,
            "only communes have a path"
        );
    }

    #[test]
    fn updated_changes_list_only_what_changed() {
        let old: [String; 18] = std::array::from_fn(|i| format!("v{i}"));
        let mut new = old.clone();
        assert_eq!(updated_changes(&old, &new), None);
        new[8] = "Số 9".into();
        assert_eq!(
            updated_changes(&old, &new),
            Some(serde_json::json!({"residence_address": ["v8", "Số 9"]}))
        );
        assert_ne!(digest(&old), digest(&new));
    }
}
