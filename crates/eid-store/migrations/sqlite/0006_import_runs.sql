-- Imports that must be all-or-nothing, on an engine with one writer for the whole database
-- (SQLite): the checked rows are staged first, in short transactions, then merged into the
-- register in short transactions, so a running server keeps writing meanwhile. A run is
-- 'staging' until every row is staged (a run left there is thrown away: nothing reached the
-- register), then 'merging' until every staged row is in the register (a run left there is
-- finished by the next `eid import` or `eid migrate`: it was already decided), then 'done'.
CREATE TABLE import_run (
    id      INTEGER PRIMARY KEY,
    state   TEXT NOT NULL CHECK (state IN ('staging', 'merging', 'done')),
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    staged  INTEGER NOT NULL,
    merged  INTEGER NOT NULL,
    -- When the importer last showed it is alive (ms): a run is only resumed or thrown away
    -- by another process once this is old.
    beat    INTEGER NOT NULL
);

-- One checked row of a run: the 18 CSV fields as a JSON array.
CREATE TABLE import_stage (
    run     INTEGER NOT NULL REFERENCES import_run (id),
    seq     INTEGER NOT NULL,
    fields  TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
