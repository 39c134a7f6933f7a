//! Who used my data (issue 15): every read of a person's record — a staff lookup, a relying
//! party's release of attributes, a sector source matched to the person, a verifier's check — is
//! one [`DataUse`] recorded with [`record`] (or [`record_in`] inside the transaction that does the
//! read). The entries are the leaves of an append-only Merkle tree (RFC 6962/9162, [`merkle`]):
//! signed checkpoints ([`checkpoint`]) publish its size and root, a citizen's entries carry
//! inclusion proofs, successive checkpoints consistency proofs, and [`verify::verify`] checks the
//! whole log (`eid audit verify`). Citizens report misuse of an entry ([`reports`]). A person's
//! entries are found through a copy of the log keyed by person, filled in sorted runs
//! ([`index_tail`]), and the log's newest entries by scanning them ([`entries_for`]).

pub mod checkpoint;
pub mod merkle;
pub mod reports;
pub mod staff_reads;
pub mod tree;
pub mod verify;

use time::OffsetDateTime;

use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms};
use crate::{Caller, Error, Store, StoreError};

/// Who read the data.
#[derive(Clone, PartialEq, Eq)]
pub enum Who {
    /// A staff account: its username, unit (2024 code) and role.
    Staff {
        username: String,
        unit: String,
        role: String,
    },
    /// A relying party: its client id and name.
    RelyingParty { client_id: String, name: String },
    /// A sector source whose record was matched to the person.
    Sector { source: String },
    /// A verifier (a desk that checked a credential): its id and name.
    Verifier { id: String, name: String },
    /// An establishment that notified a stay of the person: its id and name.
    Establishment { id: String, name: String },
}

impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl Who {
    /// A staff caller as recorded.
    pub fn staff(caller: &Caller) -> Who {
        Who::Staff {
            username: caller.staff.username.clone(),
            unit: caller.unit().to_string(),
            role: caller.role().as_str().to_owned(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Who::Staff { .. } => "staff",
            Who::RelyingParty { .. } => "relying_party",
            Who::Sector { .. } => "sector",
            Who::Verifier { .. } => "verifier",
            Who::Establishment { .. } => "establishment",
        }
    }

    /// (id, display name, unit, role) as stored.
    pub(crate) fn columns(&self) -> (String, String, Option<String>, Option<String>) {
        match self {
            Who::Staff {
                username,
                unit,
                role,
            } => (
                username.clone(),
                username.clone(),
                Some(unit.clone()),
                Some(role.clone()),
            ),
            Who::RelyingParty { client_id, name } => (client_id.clone(), name.clone(), None, None),
            Who::Sector { source } => (source.clone(), source.clone(), None, None),
            Who::Verifier { id, name } | Who::Establishment { id, name } => {
                (id.clone(), name.clone(), None, None)
            }
        }
    }

    /// Who it was, from its stored kind and [`Who::columns`], as a use waits in
    /// `data_use_pending` on PostgreSQL ([`note_in`], `staff_reads`). `None` for an unknown kind.
    pub(crate) fn pending(
        kind: &str,
        id: String,
        name: String,
        unit: Option<String>,
        role: Option<String>,
    ) -> Option<Who> {
        match kind {
            "staff" => Some(Who::Staff {
                username: id,
                unit: unit.unwrap_or_default(),
                role: role.unwrap_or_default(),
            }),
            "relying_party" => Some(Who::RelyingParty {
                client_id: id,
                name,
            }),
            "sector" => Some(Who::Sector { source: id }),
            "verifier" => Some(Who::Verifier { id, name }),
            "establishment" => Some(Who::Establishment { id, name }),
            _ => None,
        }
    }
}

/// The columns of a row of `data_use_pending` (PostgreSQL), in [`DataUse::pending_values`]'
/// order.
pub(crate) const PENDING_COLUMNS: &str =
    "personal_id, who_kind, who_id, who_name, who_unit, who_role, what, purpose, at";

/// One use of a person's data, as a source reports it.
#[derive(Clone)]
pub struct DataUse {
    /// The person whose data was used.
    pub personal_id: String,
    pub who: Who,
    /// What was read: field or claim names, or a kind (`person`, `history`, `match`).
    pub what: String,
    /// The stated purpose (a code such as `register.lookup`, or the reason given).
    pub purpose: String,
    pub at: OffsetDateTime,
}

impl DataUse {
    /// The values of its row of `data_use_pending` ([`PENDING_COLUMNS`]), where a use waits on
    /// PostgreSQL until `staff_reads`' fold gives it its leaf number.
    pub(crate) fn pending_values(&self) -> [Val; 9] {
        let (who_id, who_name, who_unit, who_role) = self.who.columns();
        [
            self.personal_id.as_str().into(),
            self.who.kind().into(),
            who_id.into(),
            who_name.into(),
            who_unit.into(),
            who_role.into(),
            self.what.as_str().into(),
            self.purpose.as_str().into(),
            to_ms(self.at).into(),
        ]
    }
}

impl std::fmt::Debug for DataUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataUse({:?}, {}, …)", self.who, self.what)
    }
}

/// One stored entry: a leaf of the log.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The leaf index (0, 1, 2, …).
    pub seq: u64,
    pub personal_id: String,
    pub who_kind: String,
    pub who_id: String,
    pub who_name: String,
    pub who_unit: Option<String>,
    pub who_role: Option<String>,
    pub what: String,
    pub purpose: String,
    pub at: OffsetDateTime,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({}, {}, …)", self.seq, self.who_kind)
    }
}

impl Entry {
    /// The entry's canonical bytes, the leaf's input: a version tag and every field, each as a
    /// 4-byte big-endian length and its UTF-8 bytes (absent fields as length 0xFFFFFFFF).
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |s: Option<&str>| match s {
            Some(s) => {
                out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        };
        put(Some("eid-data-use/1"));
        put(Some(&self.seq.to_string()));
        put(Some(&self.personal_id));
        put(Some(&self.who_kind));
        put(Some(&self.who_id));
        put(Some(&self.who_name));
        put(self.who_unit.as_deref());
        put(self.who_role.as_deref());
        put(Some(&self.what));
        put(Some(&self.purpose));
        put(Some(&to_ms(self.at).to_string()));
        out
    }

    pub fn leaf_hash(&self) -> merkle::Hash {
        merkle::leaf_hash(&self.canonical())
    }
}

/// Records one use of a person's data in its own transaction; returns its leaf index.
pub fn record(store: &dyn Store, use_: &DataUse) -> Result<u64, Error> {
    sql::transact(store.db(), |tx| record_in(tx, use_)).map_err(Error::from)
}

/// Records one use of a person's data inside the caller's transaction (the entry and the read
/// it reports commit together or not at all). The leaf index comes from the one-row head,
/// whose update also serialises concurrent appends.
pub fn record_in(tx: &mut dyn Tx, use_: &DataUse) -> Result<u64, StoreError> {
    record_many_in(tx, std::slice::from_ref(use_))
}

/// Records one use of a person's data inside the caller's transaction, when the caller needs
/// no leaf index: on SQLite appended to the log at once ([`record_in`]); on PostgreSQL a row of
/// `data_use_pending`, which the server's fold moves into the log within a second and before a
/// citizen's data-use page is read (`staff_reads`). There, appending took the head's row lock,
/// which every writer of an entry then held to its commit: stays, wallet checks, sector
/// matches and a whole linkage import queued on one row.
pub fn note_in(tx: &mut dyn Tx, use_: &DataUse) -> Result<(), StoreError> {
    if tx.engine() == "postgres" {
        tx.exec(
            &format!(
                "INSERT INTO data_use_pending ({PENDING_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &use_.pending_values(),
        )?;
        return Ok(());
    }
    record_in(tx, use_).map(|_| ())
}

/// Records several uses in the caller's transaction, in order, with one update of the head;
/// returns the first one's leaf index (the size before them when `uses` is empty).
pub fn record_many_in(tx: &mut dyn Tx, uses: &[DataUse]) -> Result<u64, StoreError> {
    let n = i64::try_from(uses.len())
        .map_err(|_| StoreError::Corrupt("too many data uses in one batch".into()))?;
    let size = tx.int(
        "UPDATE transparency_head SET size = size + $1 WHERE id = 1 RETURNING size",
        &[n.into()],
    )?;
    let first = u64::try_from(size - n)
        .map_err(|_| StoreError::Corrupt("the transparency head is negative".into()))?;
    for (k, use_) in uses.iter().enumerate() {
        let seq = first + k as u64;
        let (who_id, who_name, who_unit, who_role) = use_.who.columns();
        let entry = Entry {
            seq,
            personal_id: use_.personal_id.clone(),
            who_kind: use_.who.kind().to_owned(),
            who_id,
            who_name,
            who_unit,
            who_role,
            what: use_.what.clone(),
            purpose: use_.purpose.clone(),
            // Stored in milliseconds: the canonical bytes use the stored value.
            at: from_ms(to_ms(use_.at)),
        };
        let leaf_hash = entry.leaf_hash().to_vec();
        // The entry's texts move into the statement's values (the fold of staff reads
        // records tens of thousands a second).
        let Entry {
            personal_id,
            who_kind,
            who_id,
            who_name,
            who_unit,
            who_role,
            what,
            purpose,
            at,
            ..
        } = entry;
        tx.exec(
            "INSERT INTO data_use (seq, personal_id, who_kind, who_id, who_name, who_unit, who_role, \
             what, purpose, at, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                (seq as i64).into(),
                personal_id.into(),
                who_kind.into(),
                who_id.into(),
                who_name.into(),
                who_unit.into(),
                who_role.into(),
                what.into(),
                purpose.into(),
                to_ms(at).into(),
                leaf_hash.into(),
            ],
        )?;
    }
    Ok(first)
}

const COLS: &str =
    "seq, personal_id, who_kind, who_id, who_name, who_unit, who_role, what, purpose, at, leaf_hash";

/// An entry and its stored leaf hash.
fn entry_from(r: &SqlRow) -> Result<(Entry, Vec<u8>), StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok((
        Entry {
            seq: u64::try_from(g(0).int()?)
                .map_err(|_| StoreError::Corrupt("a negative leaf index".into()))?,
            personal_id: g(1).text()?,
            who_kind: g(2).text()?,
            who_id: g(3).text()?,
            who_name: g(4).text()?,
            who_unit: g(5).opt_text()?,
            who_role: g(6).opt_text()?,
            what: g(7).text()?,
            purpose: g(8).text()?,
            at: from_ms(g(9).int()?),
        },
        g(10).blob()?,
    ))
}

/// Entries per page on the citizen's list.
pub const PAGE: u32 = 20;

/// The leaf indexes of a person's entries (`$1`): those copied into `data_use_by_person` and
/// those of the log's tail, which [`index_tail`] has not copied yet (found by scanning that
/// range of the log). Both parts are read in one statement, so they agree on `indexed`.
const SEQS_OF_PERSON: &str = "SELECT seq FROM data_use_by_person WHERE personal_id = $1 \
     UNION ALL SELECT seq FROM data_use WHERE personal_id = $1 \
     AND seq >= (SELECT indexed FROM transparency_head WHERE id = 1)";

/// One page of a person's entries, newest first (page 0 is the newest), and whether more follow.
pub fn entries_for(
    store: &dyn Store,
    personal_id: &str,
    page: u32,
) -> Result<(Vec<Entry>, bool), Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!(
                "SELECT {COLS} FROM data_use WHERE seq IN ({SEQS_OF_PERSON}) ORDER BY seq DESC \
                 LIMIT $2 OFFSET $3"
            ),
            &[
                personal_id.into(),
                i64::from(PAGE + 1).into(),
                (i64::from(page) * i64::from(PAGE)).into(),
            ],
        )
    })?;
    let mut out = rows
        .iter()
        .map(|r| entry_from(r).map(|(e, _)| e))
        .collect::<Result<Vec<_>, _>>()?;
    let more = out.len() > PAGE as usize;
    out.truncate(PAGE as usize);
    Ok((out, more))
}

/// The leaf index of `personal_id`'s newest entry, if they have one.
pub fn newest_seq(store: &dyn Store, personal_id: &str) -> Result<Option<u64>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT max(seq) FROM ({SEQS_OF_PERSON}) AS s"),
            &[personal_id.into()],
        )
    })?;
    Ok(row
        .and_then(|r| r.first().cloned())
        .and_then(|v| v.opt_int().ok().flatten())
        .and_then(|n| u64::try_from(n).ok()))
}

/// How long the log's unindexed tail grows before the fold copies it into
/// `data_use_by_person` ([`index_tail`]). A citizen's page scans at most about this many
/// entries of the log (plus what arrived since the last fold); a copy of this many writes each
/// page of the table about once when the table has fewer pages than that (some 6,000 at a
/// million entries), where entries added one by one each wrote a page.
pub const TAIL: u64 = 32_768;

/// Copies the log's tail into `data_use_by_person` in key order and moves `indexed` to the
/// log's size, in one transaction, if the tail holds at least `at_least` entries; returns how
/// many were copied. Safe to run from several threads or servers at once: the head's row is
/// taken first, and a second one finds the tail already copied.
pub fn index_tail(store: &dyn Store, at_least: u64) -> Result<u64, Error> {
    // A look first, without a write: the periodic fold calls this every second.
    let tail = sql::read(store.db(), |tx| {
        tx.int(
            "SELECT size - indexed FROM transparency_head WHERE id = 1",
            &[],
        )
    })?;
    if !tail_due(tail, at_least) {
        return Ok(0);
    }
    let copied = sql::transact(store.db(), |tx| {
        let row = tx
            .row(
                "UPDATE transparency_head SET indexed = indexed WHERE id = 1 \
                 RETURNING size, indexed",
                &[],
            )?
            .ok_or_else(|| StoreError::Corrupt("the transparency head is missing".into()))?;
        let size = row.first().cloned().unwrap_or(Val::Null).int()?;
        let indexed = row.get(1).cloned().unwrap_or(Val::Null).int()?;
        // Looked at again under the head's row: another folder may have copied it meanwhile.
        if !tail_due(size - indexed, at_least) {
            return Ok::<_, StoreError>(0);
        }
        tx.exec(
            "INSERT INTO data_use_by_person (personal_id, seq) SELECT personal_id, seq \
             FROM data_use WHERE seq >= $1 AND seq < $2 ORDER BY personal_id, seq",
            &[indexed.into(), size.into()],
        )?;
        tx.exec(
            "UPDATE transparency_head SET indexed = $1 WHERE id = 1",
            &[size.into()],
        )?;
        Ok(u64::try_from(size - indexed).unwrap_or(0))
    })?;
    Ok(copied)
}

/// Whether a tail of `tail` entries is to be copied by [`index_tail`]: some, and `at_least`.
fn tail_due(tail: i64, at_least: u64) -> bool {
    u64::try_from(tail).is_ok_and(|t| t > 0 && t >= at_least)
}

/// One entry by leaf index.
pub fn entry(store: &dyn Store, seq: u64) -> Result<Option<Entry>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {COLS} FROM data_use WHERE seq = $1"),
            &[(seq as i64).into()],
        )
    })?;
    Ok(row.map(|r| entry_from(&r)).transpose()?.map(|(e, _)| e))
}

/// Every entry in leaf order with its stored leaf hash (verification, proofs).
pub(crate) fn all_entries(tx: &mut dyn Tx) -> Result<Vec<(Entry, Vec<u8>)>, StoreError> {
    let rows = tx.query(&format!("SELECT {COLS} FROM data_use ORDER BY seq"), &[])?;
    rows.iter().map(entry_from).collect()
}

/// The stored leaf hashes of the first `size` leaves, in order.
pub(crate) fn leaf_hashes(tx: &mut dyn Tx, size: u64) -> Result<Vec<merkle::Hash>, StoreError> {
    let rows = tx.query(
        "SELECT leaf_hash FROM data_use WHERE seq < $1 ORDER BY seq",
        &[(size as i64).into()],
    )?;
    rows.iter()
        .map(|r| {
            let b = r.first().cloned().unwrap_or(Val::Null).blob()?;
            <[u8; 32]>::try_from(b.as_slice())
                .map_err(|_| StoreError::Corrupt("a leaf hash is not 32 bytes".into()))
        })
        .collect()
}
