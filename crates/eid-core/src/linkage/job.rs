//! Sector-file imports as jobs: the file is stored by its SHA-256, the rows are decided, and
//! the results are written in slices, each slice in one transaction with the job's checkpoint
//! (`done_rows`, the good rows committed in file order). A job stopped by a crash or a restart
//! is resumed from the row after its last committed slice; one cancelled keeps what it wrote.
//! The console runs jobs in the background, `eid link import` in the foreground; both call
//! [`run`]. One runner at a time: a runner holds a lease on the job (`lease_owner`,
//! `lease_until`), taken by a conditional UPDATE and renewed with each checkpoint; another runner
//! takes the job over only once the lease has expired ([`LEASE`]), or at once when the first one
//! stopped and let it go.

use time::{Date, OffsetDateTime};

use super::files::read_sector_bytes;
use super::matcher::{Outcome, Thresholds};
use super::service::{new_batch, prepare, source, LinkSummary};
use crate::error::Error;
use crate::rollup::{day_date, day_number};
use crate::sql::{self, Val};
use crate::store::{from_ms, to_ms, Actor, Store, StoreError};
use crate::Acting;

/// Largest file a job accepts, in bytes.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

/// Good rows written per transaction (and per checkpoint).
pub const SLICE: usize = 500;

/// How long a runner's lease on a job lasts without a checkpoint. Every checkpoint renews it;
/// another runner (a second server on the same database) takes the job over only after it.
pub const LEASE: time::Duration = time::Duration::minutes(2);

/// What to import.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub source: String,
    pub file_name: String,
    pub received_on: Date,
    pub thresholds: Thresholds,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub source: String,
    pub file_name: String,
    pub received_on: Date,
    /// `queued`, `running`, `done`, `cancelled` or `failed`.
    pub state: String,
    /// A cancel was asked for (the runner stops before its next slice).
    pub cancel: bool,
    pub batch_id: Option<i64>,
    /// Good rows in the file (known once the file is read).
    pub total_rows: u64,
    /// Good rows committed: the checkpoint.
    pub done_rows: u64,
    pub rejected: u64,
    /// Committed rows per outcome, in [`Outcome::ALL`] order.
    pub outcomes: [u64; 4],
    pub verified: u64,
    pub proposed: u64,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Job {
    /// Still to run (a runner resumes it).
    pub fn is_open(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "running")
    }
}

/// A rejected row of a job's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRejected {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Queues a job: the source must exist and the file must be a CSV or XLSX whose header the
/// source's mapping accepts (checked before anything is stored). The file is kept by content.
pub fn submit(
    store: &dyn Store,
    actor: &Actor,
    now: OffsetDateTime,
    spec: &JobSpec,
    bytes: &[u8],
) -> Result<i64, Error> {
    let t = &spec.thresholds;
    if !(0.0..=1.0).contains(&t.review) || !(0.0..=1.0).contains(&t.matched) || t.review > t.matched
    {
        return Err(Error::bad(
            "link.bad_thresholds",
            "thresholds: need 0 ≤ review ≤ matched ≤ 1",
        ));
    }
    if bytes.is_empty() {
        return Err(Error::bad("link.bad_file", "the file is empty"));
    }
    if bytes.len() > MAX_FILE {
        return Err(Error::bad(
            "link.bad_file",
            format!("the file is larger than {} MB", MAX_FILE / 1024 / 1024),
        ));
    }
    let src = source(store, &spec.source)?;
    read_sector_bytes(bytes, &src.mapping, now.date())
        .map_err(|e| Error::bad("link.bad_file", e))?;
    let sha = sha256_hex(bytes);
    let name: String = spec.file_name.chars().take(200).collect();
    let id = sql::transact(store.db(), |tx| {
        if tx
            .row(
                "SELECT 1 FROM link_job_file WHERE sha = $1",
                &[sha.as_str().into()],
            )?
            .is_none()
        {
            tx.exec(
                "INSERT INTO link_job_file (sha, content) VALUES ($1, $2)",
                &[sha.as_str().into(), Val::Blob(bytes.to_vec())],
            )?;
        }
        tx.row(
            "INSERT INTO link_job (source, file_name, file_sha, received_on, t_matched, t_review, state, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8) RETURNING id",
            &[
                src.name.as_str().into(),
                name.as_str().into(),
                sha.as_str().into(),
                day_number(spec.received_on).into(),
                t.matched.into(),
                t.review.into(),
                actor.to_string().into(),
                to_ms(now).into(),
            ],
        )?
        .and_then(|r| r.first().cloned())
        .unwrap_or(Val::Null)
        .int()
    })?;
    Ok(id)
}

/// Jobs are for national staff who are not auditors: an import touches the whole register.
fn may_run(acting: &Acting) -> Result<(), Error> {
    acting.caller.not_auditor()?;
    if acting.caller.unit() != eid_domain::UnitCode::NATION {
        return Err(Error::ScopeDenied);
    }
    Ok(())
}

/// [`submit`] for a console officer (national staff, not an auditor). Audited as
/// `link.job.submit` with the source.
pub fn submit_as(
    store: &dyn Store,
    acting: &Acting,
    spec: &JobSpec,
    bytes: &[u8],
) -> Result<i64, Error> {
    let done =
        may_run(acting).and_then(|()| submit(store, acting.actor(), acting.now, spec, bytes));
    acting.audited(store, "link.job.submit", &spec.source, done)
}

/// Asks an open job to stop; a job already finished is left as it is (`Conflict`
/// `link.job_closed`). Audited as `link.job.cancel`.
pub fn cancel_as(store: &dyn Store, acting: &Acting, id: i64) -> Result<Job, Error> {
    let done = may_run(acting).and_then(|()| {
        let n = sql::write_one(store.db(), |tx| {
            tx.exec(
                "UPDATE link_job SET cancel = 1, updated_at = $2 WHERE id = $1 AND state IN ('queued', 'running')",
                &[id.into(), to_ms(acting.now).into()],
            )
        })?;
        let job = get(store, id)?;
        if n == 0 {
            return Err(Error::Conflict {
                code: "link.job_closed",
                message: format!("job {id} is {}", job.state),
            });
        }
        Ok(job)
    });
    acting.audited(store, "link.job.cancel", &id.to_string(), done)
}

/// One job as a console officer may read it (national staff, not auditors); no personal data
/// in it, so not audited (the progress page reads it every few seconds).
pub fn get_as(store: &dyn Store, acting: &Acting, id: i64) -> Result<Job, Error> {
    may_run(acting)?;
    get(store, id)
}

/// The newest jobs, at most `limit`, for a console officer.
pub fn list_as(store: &dyn Store, acting: &Acting, limit: u32) -> Result<Vec<Job>, Error> {
    may_run(acting)?;
    list(store, limit)
}

/// A job's rejected rows, for a console officer. Audited as `link.job.rejected`.
pub fn rejected_as(store: &dyn Store, acting: &Acting, id: i64) -> Result<Vec<JobRejected>, Error> {
    let done = may_run(acting).and_then(|()| {
        get(store, id)?;
        rejected(store, id)
    });
    acting.audited(store, "link.job.rejected", &id.to_string(), done)
}

const JOB_COLUMNS: &str = "id, source, file_name, received_on, state, cancel, batch_id, total_rows, done_rows, rejected, \
     n_matched, n_conflict, n_review, n_unmatched, verified, proposed, error, created_by, created_at, updated_at";

fn job_from(r: &[Val]) -> Result<Job, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let n = |i: usize| g(i).int().map(|v| v.max(0) as u64);
    Ok(Job {
        id: g(0).int()?,
        source: g(1).text()?,
        file_name: g(2).text()?,
        received_on: day_date(g(3).int()?),
        state: g(4).text()?,
        cancel: g(5).int()? != 0,
        batch_id: g(6).opt_int()?,
        total_rows: n(7)?,
        done_rows: n(8)?,
        rejected: n(9)?,
        outcomes: [n(10)?, n(11)?, n(12)?, n(13)?],
        verified: n(14)?,
        proposed: n(15)?,
        error: g(16).opt_text()?,
        created_by: g(17).text()?,
        created_at: from_ms(g(18).int()?),
        updated_at: from_ms(g(19).int()?),
    })
}

/// One job.
pub fn get(store: &dyn Store, id: i64) -> Result<Job, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {JOB_COLUMNS} FROM link_job WHERE id = $1"),
            &[id.into()],
        )
    })?
    .ok_or_else(|| Error::not_found("link.no_job", format!("no job {id}")))?;
    Ok(job_from(&row)?)
}

/// The newest jobs, at most `limit` (1–200).
pub fn list(store: &dyn Store, limit: u32) -> Result<Vec<Job>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!("SELECT {JOB_COLUMNS} FROM link_job ORDER BY id DESC LIMIT $1"),
            &[i64::from(limit.clamp(1, 200)).into()],
        )
    })?;
    Ok(rows.iter().map(|r| job_from(r)).collect::<Result<_, _>>()?)
}

/// The jobs still to run (queued, or running when their runner stopped), oldest first.
pub fn open_jobs(store: &dyn Store) -> Result<Vec<i64>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT id FROM link_job WHERE state IN ('queued', 'running') ORDER BY id",
            &[],
        )
    })?;
    Ok(rows
        .iter()
        .filter_map(|r| r.first().and_then(|v| v.int().ok()))
        .collect())
}

/// A job's rejected rows, by line.
pub fn rejected(store: &dyn Store, id: i64) -> Result<Vec<JobRejected>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT line, col, reason FROM link_job_rejected WHERE job_id = $1 ORDER BY line",
            &[id.into()],
        )
    })?;
    rows.iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok(JobRejected {
                line: g(0).int()?.max(0) as u64,
                column: g(1).text()?,
                reason: g(2).text()?,
            })
        })
        .collect::<Result<_, StoreError>>()
        .map_err(Into::into)
}

fn set_state(
    store: &dyn Store,
    id: i64,
    state: &str,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), Error> {
    sql::write_one(store.db(), |tx| {
        tx.exec(
            "UPDATE link_job SET state = $2, error = $3, updated_at = $4, lease_owner = NULL, lease_until = 0 \
             WHERE id = $1",
            &[id.into(), state.into(), error.into(), to_ms(now).into()],
        )
    })?;
    Ok(())
}

fn finish(
    store: &dyn Store,
    job: i64,
    state: &str,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<Job, Error> {
    set_state(store, job, state, error, now)?;
    store.audit(
        &Actor::Cli("link-job".to_owned()),
        "link.job.finish",
        &job.to_string(),
        state,
        "",
        now,
    )?;
    get(store, job)
}

/// Runs (or resumes) job `id` to its end: reads its stored file, decides every good row, and
/// writes the rows after the checkpoint in slices of `slice` rows. Before each slice `go(done)`
/// is asked whether to go on (a `false` leaves the job open, as a crash or a shutdown would) and
/// the job's cancel flag is read (set: the job ends `cancelled`, keeping what it wrote). A file
/// that no longer reads ends the job `failed`. `now` is read for each write.
///
/// The runner is a new lease owner (see [`run_as`]).
pub fn run(
    store: &dyn Store,
    id: i64,
    now: &dyn Fn() -> OffsetDateTime,
    slice: usize,
    go: &mut dyn FnMut(u64) -> bool,
) -> Result<Job, Error> {
    run_as(store, id, &runner_id(), now, slice, go)
}

/// A lease owner name unique to this call: the process, a counter and a random tag (two hosts
/// can run the same process id).
pub fn runner_id() -> String {
    use rand::RngCore;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}-{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::rngs::OsRng.next_u32()
    )
}

fn lease_end(t: OffsetDateTime) -> i64 {
    to_ms(t + LEASE)
}

/// Takes the lease on open job `id` for `owner`: free, already `owner`'s, or expired at `t`.
/// `false`: another runner holds it (or the job is no longer open).
fn take_lease(store: &dyn Store, id: i64, owner: &str, t: OffsetDateTime) -> Result<bool, Error> {
    let n = sql::write_one(store.db(), |tx| {
        tx.exec(
            "UPDATE link_job SET lease_owner = $2, lease_until = $3, state = 'running', updated_at = $4 \
             WHERE id = $1 AND state IN ('queued', 'running') \
             AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4)",
            &[id.into(), owner.into(), lease_end(t).into(), to_ms(t).into()],
        )
    })?;
    Ok(n == 1)
}

/// Lets the lease go (a runner told to stop): another runner may take the job at once.
fn release_lease(store: &dyn Store, id: i64, owner: &str) -> Result<(), Error> {
    sql::write_one(store.db(), |tx| {
        tx.exec(
            "UPDATE link_job SET lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2",
            &[id.into(), owner.into()],
        )
    })?;
    Ok(())
}

/// The open jobs no runner holds at `t` (queued, stopped, or whose runner's lease expired),
/// oldest first: what a server may take over.
pub fn takeable_jobs(store: &dyn Store, t: OffsetDateTime) -> Result<Vec<i64>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT id FROM link_job WHERE state IN ('queued', 'running') \
             AND (lease_owner IS NULL OR lease_until < $1) ORDER BY id",
            &[to_ms(t).into()],
        )
    })?;
    Ok(rows
        .iter()
        .filter_map(|r| r.first().and_then(|v| v.int().ok()))
        .collect())
}

/// [`run`] as lease owner `owner`. Another runner holding a live lease: `Conflict`
/// `link.job_busy`, and nothing is written. A runner whose lease was taken over (it had
/// expired) finds it at its next checkpoint and steps back with the same error, writing nothing
/// more. A `false` from `go` lets the lease go.
pub fn run_as(
    store: &dyn Store,
    id: i64,
    owner: &str,
    now: &dyn Fn() -> OffsetDateTime,
    slice: usize,
    go: &mut dyn FnMut(u64) -> bool,
) -> Result<Job, Error> {
    let job = get(store, id)?;
    if !job.is_open() {
        return Ok(job);
    }
    if !take_lease(store, id, owner, now())? {
        let job = get(store, id)?;
        return if job.is_open() {
            Err(busy(id))
        } else {
            Ok(job)
        };
    }
    if job.cancel {
        return finish(store, id, "cancelled", None, now());
    }
    let content = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT f.content, j.t_matched, j.t_review, j.created_by FROM link_job j \
             JOIN link_job_file f ON f.sha = j.file_sha WHERE j.id = $1",
            &[id.into()],
        )
    })?
    .ok_or_else(|| Error::not_found("link.no_job", format!("no job {id}")))?;
    let g = |i: usize| content.get(i).cloned().unwrap_or(Val::Null);
    let bytes = g(0).blob()?;
    let thresholds = Thresholds {
        matched: g(1).real()?,
        review: g(2).real()?,
    };
    let created_by = g(3).text()?;
    let src = match source(store, &job.source) {
        Ok(s) => s,
        Err(e) => return finish(store, id, "failed", Some(&e.to_string()), now()),
    };
    let (rows, bad) = match read_sector_bytes(&bytes, &src.mapping, job.created_at.date()) {
        Ok(x) => x,
        Err(e) => return finish(store, id, "failed", Some(&e), now()),
    };
    drop(bytes);
    let prepared = prepare(store, src, rows, &thresholds)?;
    let day = day_number(job.received_on);
    let total = prepared.rows.len();
    let batch = match job.batch_id {
        Some(b) => b,
        None => {
            let t = now();
            sql::transact(store.db(), |tx| {
                let b = new_batch(
                    tx,
                    &prepared,
                    &job.file_name,
                    day,
                    bad.len() as u64,
                    &created_by,
                    t,
                )?;
                for r in &bad {
                    tx.exec(
                        "INSERT INTO link_job_rejected (job_id, line, col, reason) VALUES ($1, $2, $3, $4)",
                        &[id.into(), (r.line as i64).into(), r.column.into(), r.reason.as_str().into()],
                    )?;
                }
                let n = tx.exec(
                    "UPDATE link_job SET batch_id = $2, total_rows = $3, rejected = $4, updated_at = $5, \
                     lease_until = $7 WHERE id = $1 AND batch_id IS NULL AND lease_owner = $6",
                    &[id.into(), b.into(), (total as i64).into(), (bad.len() as i64).into(), to_ms(t).into(),
                      owner.into(), lease_end(t).into()],
                )?;
                if n != 1 {
                    return Err(StoreError::Db("link job started twice".into()));
                }
                Ok(b)
            })
            .map_err(|_| busy(id))?
        }
    };
    let mut done = usize::try_from(job.done_rows)
        .unwrap_or(usize::MAX)
        .min(total);
    let slice = slice.max(1);
    while done < total {
        if !go(done as u64) {
            release_lease(store, id, owner)?;
            return get(store, id);
        }
        let (cancel, at, mine) = sql::read(store.db(), |tx| {
            tx.row(
                "SELECT cancel, done_rows, lease_owner FROM link_job WHERE id = $1",
                &[id.into()],
            )
        })?
        .map(|r| {
            let g = |i: usize| r.get(i).and_then(|v| v.int().ok()).unwrap_or(0);
            let holder = r.get(2).and_then(|v| v.opt_text().ok()).flatten();
            (g(0), g(1), holder.as_deref() == Some(owner))
        })
        .unwrap_or((0, 0, false));
        if !mine {
            // The lease expired and another runner took the job over.
            return Err(busy(id));
        }
        if cancel != 0 {
            return finish(store, id, "cancelled", None, now());
        }
        if at != done as i64 {
            // Another runner (a second server, `eid link import`) moved the checkpoint.
            return Err(busy(id));
        }
        let end = (done + slice).min(total);
        let t = now();
        let mut s = LinkSummary::default();
        sql::transact(store.db(), |tx| {
            prepared.write(tx, batch, day, t, done..end, &mut s)?;
            // The checkpoint moves only from where this runner found it: a second runner on
            // the same job rolls back instead of writing the rows again.
            let [m, c, r, u] = s.outcomes.map(|v| v as i64);
            let n = tx.exec(
                "UPDATE link_job SET done_rows = $3, n_matched = n_matched + $4, n_conflict = n_conflict + $5, \
                 n_review = n_review + $6, n_unmatched = n_unmatched + $7, verified = verified + $8, \
                 proposed = proposed + $9, updated_at = $10, lease_until = $12 \
                 WHERE id = $1 AND done_rows = $2 AND lease_owner = $11",
                &[id.into(), (done as i64).into(), (end as i64).into(), m.into(), c.into(), r.into(),
                  u.into(), (s.verified as i64).into(), (s.proposed as i64).into(), to_ms(t).into(),
                  owner.into(), lease_end(t).into()],
            )?;
            if n != 1 {
                return Err(StoreError::Db(
                    "link job checkpoint moved by another runner".into(),
                ));
            }
            Ok::<_, StoreError>(())
        })
        .map_err(|e| match e {
            StoreError::Db(m) if m.starts_with("link job checkpoint") => busy(id),
            e => e.into(),
        })?;
        done = end;
    }
    finish(store, id, "done", None, now())
}

/// Another runner has the job (`Conflict` `link.job_busy`): this one leaves it alone.
fn busy(id: i64) -> Error {
    Error::Conflict {
        code: "link.job_busy",
        message: format!("job {id} is run by another runner"),
    }
}

/// The counts of a finished job as a [`LinkSummary`] (what `eid link import` prints).
pub fn summary(job: &Job) -> LinkSummary {
    LinkSummary {
        batch_id: job.batch_id.unwrap_or(0),
        rows: job.total_rows,
        rejected: job.rejected,
        outcomes: job.outcomes,
        verified: job.verified,
        proposed: job.proposed,
    }
}

/// The label of an outcome slot of [`Job::outcomes`].
pub fn outcome_names() -> [&'static str; 4] {
    Outcome::ALL.map(|o| o.as_str())
}

/// The names and kinds of the defined sources, by name (what the upload form offers).
pub fn sources(store: &dyn Store) -> Result<Vec<(String, String)>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT name, kind FROM link_source ORDER BY name", &[])
    })?;
    rows.iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok((g(0).text()?, g(1).text()?))
        })
        .collect::<Result<_, StoreError>>()
        .map_err(Into::into)
}

/// Ends a job whose runner failed (a store error): `failed`, with the reason.
pub fn fail(store: &dyn Store, id: i64, reason: &str, now: OffsetDateTime) -> Result<Job, Error> {
    finish(store, id, "failed", Some(reason), now)
}
