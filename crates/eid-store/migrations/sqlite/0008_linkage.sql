-- Sector data against the register (issue 13): sources with their column mapping, import
-- batches, one decision per sector row with its explanation, and the sources a person was
-- verified against. Written through src/sql.rs. Days are day numbers (days since 1970-01-01).

CREATE TABLE link_source (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('social_insurance', 'health_insurance', 'civil_births', 'civil_deaths', 'education', 'other')),
    mapping    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE link_batch (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL REFERENCES link_source (name),
    file_name   TEXT NOT NULL,
    received_on INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE link_result (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES link_batch (id),
    source         TEXT NOT NULL,
    line           INTEGER NOT NULL,
    row_id         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('matched', 'conflict', 'review', 'unmatched')),
    method         TEXT NOT NULL,
    personal_id    TEXT,
    alternative_id TEXT,
    res_path       INTEGER,
    score          REAL,
    explanation    TEXT NOT NULL,
    attributes     TEXT NOT NULL,
    received_on    INTEGER NOT NULL
);
CREATE INDEX link_result_outcome ON link_result (outcome, res_path);
CREATE INDEX link_result_person ON link_result (personal_id);

CREATE TABLE person_verification (
    personal_id TEXT NOT NULL,
    source      TEXT NOT NULL,
    verified_on INTEGER NOT NULL,
    result_id   INTEGER NOT NULL REFERENCES link_result (id),
    PRIMARY KEY (personal_id, source)
);
