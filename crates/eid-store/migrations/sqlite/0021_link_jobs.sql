-- Sector-file imports run as jobs (issue 13): the file is kept by its SHA-256 so a job can be
-- resumed after a restart; `done_rows` is the checkpoint (good rows committed, in file order),
-- moved in the same transaction as each batch of results, so a resumed job neither loses nor
-- repeats a committed row. `state`: queued → running → done | cancelled | failed.

CREATE TABLE link_job_file (
    sha     TEXT PRIMARY KEY,
    content BLOB NOT NULL
);

CREATE TABLE link_job (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL REFERENCES link_source (name),
    file_name   TEXT NOT NULL,
    file_sha    TEXT NOT NULL REFERENCES link_job_file (sha),
    received_on INTEGER NOT NULL,
    t_matched   REAL NOT NULL,
    t_review    REAL NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    cancel      INTEGER NOT NULL DEFAULT 0,
    batch_id    INTEGER REFERENCES link_batch (id),
    total_rows  INTEGER NOT NULL DEFAULT 0,
    done_rows   INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    n_matched   INTEGER NOT NULL DEFAULT 0,
    n_conflict  INTEGER NOT NULL DEFAULT 0,
    n_review    INTEGER NOT NULL DEFAULT 0,
    n_unmatched INTEGER NOT NULL DEFAULT 0,
    verified    INTEGER NOT NULL DEFAULT 0,
    proposed    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX link_job_open ON link_job (state);

-- The rows a job's file rejected, with line (or sheet row), column and reason.
CREATE TABLE link_job_rejected (
    job_id  INTEGER NOT NULL REFERENCES link_job (id),
    line    INTEGER NOT NULL,
    col     TEXT NOT NULL,
    reason  TEXT NOT NULL
);

CREATE INDEX link_job_rejected_job ON link_job_rejected (job_id, line);
