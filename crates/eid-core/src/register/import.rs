//! Import and export of persons in the CSV format of [`crate::csvfmt`].
//!
//! An import streams the file once, inside one write transaction on PostgreSQL, and in short
//! ones on SQLite so that a server on the same database keeps writing (see
//! [`super::batched`]). Every row is parsed into
//! domain types; a bad row becomes a [`Rejected`] with its line number, column and reason. With
//! [`OnError::Skip`] the good rows are committed; with [`OnError::Abort`] (the default) a single
//! bad row means nothing is written, while the rest of the file is still checked so the report
//! is complete. The store decides per row whether it is new, changed (an `updated` event with the
//! changed columns) or unchanged (nothing written), so importing a file twice changes nothing.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};

use eid_domain::{Person, PersonalId, UnitCode};
use time::{Date, OffsetDateTime};

pub use super::batched::resume_imports;
use super::batched::Sink;
use crate::csvfmt::{self, RowError};
use crate::store::{Actor, Store, StoreError};

/// What to do with the good rows when some rows are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Write nothing if any row is bad.
    Abort,
    /// Keep the good rows.
    Skip,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub on_error: OnError,
    /// The day dates are checked against (nothing may be later).
    pub today: Date,
    /// The time recorded on the events.
    pub now: OffsetDateTime,
    pub actor: Actor,
    /// Why, recorded on every event (e.g. "import of persons.csv").
    pub reason: String,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub column: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Data rows read (good and bad).
    pub rows: u64,
    /// Whether the good rows were written.
    pub committed: bool,
}

impl ImportSummary {
    /// Takes the store's counts once the good rows are committed.
    fn record_commit(&mut self, counts: crate::store::BatchCounts) {
        self.imported = counts.imported;
        self.updated = counts.updated;
        self.unchanged = counts.unchanged;
        self.committed = true;
    }
}

#[derive(Debug)]
pub enum ImportError {
    Store(StoreError),
    Io(String),
    Header(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Store(e) => write!(f, "{e}"),
            ImportError::Io(e) => write!(f, "reading or writing the file: {e}"),
            ImportError::Header(e) => write!(f, "line 1: {e}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Store(e)
    }
}

impl From<csv::Error> for ImportError {
    fn from(e: csv::Error) -> Self {
        ImportError::Io(e.to_string())
    }
}

/// Splits a raw CSV record into UTF-8 fields, or says which column is not UTF-8.
fn utf8_fields(record: &csv::ByteRecord) -> Result<Vec<&str>, RowError> {
    record
        .iter()
        .enumerate()
        .map(|(i, b)| {
            std::str::from_utf8(b).map_err(|_| RowError {
                column: csvfmt::COLUMNS.get(i).copied().unwrap_or("*"),
                reason: "is not valid UTF-8".into(),
            })
        })
        .collect()
}

/// Imports persons from a CSV stream. See the module documentation for the semantics.
pub fn import_persons<R: Read + Send>(
    store: &dyn Store,
    input: R,
    opts: &ImportOptions,
    on_rejected: &mut dyn FnMut(&Rejected),
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record)? {
        return Err(ImportError::Header("the file is empty".into()));
    }
    {
        let mut fields = utf8_fields(&record).map_err(|e| ImportError::Header(e.to_string()))?;
        if let Some(first) = fields.first_mut() {
            *first = csvfmt::strip_bom(first);
        }
        csvfmt::check_header(&fields).map_err(|e| ImportError::Header(e.reason))?;
    }

    // What an import that died left is finished (or thrown away) first.
    resume_imports(store)?;
    let mut sink = Some(Sink::open(
        store,
        opts.on_error == OnError::Abort,
        &opts.actor,
        &opts.reason,
        opts.now,
    )?);
    let mut summary = ImportSummary::default();
    // Parsing and checking rows runs on a second thread while this one writes: the two halves
    // of an import cost about the same, and a machine has more than one core.
    std::thread::scope(|scope| -> Result<(), ImportError> {
        // Room for more than the rows the stage sorts at a time: while this thread sorts and
        // stages them, the parser goes on instead of waiting for it (with room for 16 batches
        // the two threads took turns, each half idle).
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let today = opts.today;
        let parser = scope.spawn(move || parse_rows(reader, record, today, &tx));
        for batch in rx {
            for item in batch.items {
                summary.rows += 1;
                match item {
                    Parsed::Person(person) => {
                        if let Some(s) = sink.as_mut() {
                            if let Err(e) = s.put(&person) {
                                if let Some(s) = sink.take() {
                                    let _ = s.abandon();
                                }
                                return Err(e.into());
                            }
                        }
                    }
                    Parsed::Rejected(r) => {
                        summary.rejected += 1;
                        on_rejected(&r);
                        if opts.on_error == OnError::Abort {
                            // Nothing will be written: stop writing, keep checking for the report.
                            if let Some(s) = sink.take() {
                                s.abandon()?;
                            }
                        }
                    }
                }
            }
            progress(batch.bytes);
        }
        parser
            .join()
            .map_err(|_| ImportError::Io("the CSV parser thread failed".into()))
    })?;
    if let Some(s) = sink {
        summary.record_commit(s.finish()?);
    }
    Ok(summary)
}

/// Rows parsed on the parser thread, in file order, with the bytes read so far.
struct Batch {
    items: Vec<Parsed>,
    bytes: u64,
}

// Rows travel by value in batches; boxing each person would add an allocation per row.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Person(Person),
    Rejected(Rejected),
}

const BATCH_ROWS: usize = 1024;
/// Batches the parser may be ahead of the writer: 128 Ki rows, above the stage's sort of 100,000
/// (about 80 MB of rows at most).
const IN_FLIGHT: usize = 128;

/// The parser thread: reads data rows, parses and checks each, rejects repeated IDs, and sends
/// batches. Stops early when the receiver is gone (the writer failed).
fn parse_rows<R: Read>(
    mut reader: csv::Reader<R>,
    mut record: csv::ByteRecord,
    today: Date,
    tx: &std::sync::mpsc::SyncSender<Batch>,
) {
    let mut seen: HashMap<PersonalId, u64> = HashMap::new();
    let mut items = Vec::with_capacity(BATCH_ROWS);
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // A broken quote or similar: the reader cannot resynchronise reliably.
                items.push(Parsed::Rejected(Rejected {
                    line,
                    column: "*",
                    reason: format!("malformed CSV: {e}"),
                }));
                break;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let parsed = utf8_fields(&record)
            .and_then(|fields| csvfmt::parse_row(&fields, today))
            .and_then(|p| match seen.insert(p.id, line) {
                Some(first) => Err(RowError {
                    column: "personal_id",
                    reason: format!("duplicate personal ID, first seen on line {first}"),
                }),
                None => Ok(p),
            });
        items.push(match parsed {
            Ok(person) => Parsed::Person(person),
            Err(e) => Parsed::Rejected(Rejected {
                line,
                column: e.column,
                reason: e.reason,
            }),
        });
        if items.len() == BATCH_ROWS {
            let bytes = record.position().map_or(0, |p| p.byte());
            let batch = Batch {
                items: std::mem::replace(&mut items, Vec::with_capacity(BATCH_ROWS)),
                bytes,
            };
            if tx.send(batch).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Batch {
        items,
        bytes: reader.position().byte(),
    });
}

/// Imports already-built persons (the demo's generated province), checking each against the
/// rules first; a person that breaks one is counted as rejected and skipped.
pub fn import_generated(
    store: &dyn Store,
    persons: impl Iterator<Item = Person>,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let mut writer = store.writer(&opts.actor, &opts.reason, opts.now)?;
    let mut summary = ImportSummary::default();
    for p in persons {
        summary.rows += 1;
        if p.check(opts.today).is_err() {
            summary.rejected += 1;
            continue;
        }
        writer.put(&p)?;
    }
    summary.record_commit(writer.commit()?);
    Ok(summary)
}

/// Writes every person of `unit`'s subtree in the import format; returns how many.
pub fn export_persons<W: Write>(
    store: &dyn Store,
    unit: &UnitCode,
    out: W,
) -> Result<u64, ImportError> {
    let mut w = csv::Writer::from_writer(out);
    csvfmt::write_header(&mut w)?;
    let n = store.for_each_person(unit, &mut |p| {
        csvfmt::write_person(&mut w, p).map_err(|e| StoreError::Db(format!("writing CSV: {e}")))
    })?;
    w.flush().map_err(|e| ImportError::Io(e.to_string()))?;
    Ok(n)
}
