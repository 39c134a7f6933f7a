-- What linkage changes in the register (issue 13, third slice): proposals made from sector rows
-- and from the register itself — a death (a matched civil-registry death row), a birth (an
-- unmatched civil-registry birth row, with the fields the registry lacked listed as gaps) and
-- a merge (two register persons the matcher takes for one) — each decided by an officer; the
-- decisions, merges and their undoing as append-only events; the merges in force; and the
-- roll-ups the data-quality page reads (population and persons with missing fields per
-- commune, written by each dedupe run). Written through src/sql.rs.

CREATE TABLE link_proposal (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('death', 'birth', 'merge')),
    source      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_id   INTEGER,
    personal_id TEXT,
    other_id    TEXT,
    res_path    INTEGER,
    score       REAL,
    detail      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'dismissed', 'undone')),
    created_at  INTEGER NOT NULL,
    decided_by  TEXT,
    decided_at  INTEGER
);
CREATE UNIQUE INDEX link_proposal_row ON link_proposal (kind, source, row_id, fingerprint);
CREATE INDEX link_proposal_open ON link_proposal (kind, state, res_path);
CREATE INDEX link_proposal_person ON link_proposal (personal_id);
CREATE INDEX link_proposal_other ON link_proposal (other_id);

CREATE TABLE link_proposal_event (
    id          INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES link_proposal (id),
    kind        TEXT NOT NULL CHECK (kind IN ('confirmed', 'dismissed', 'merged', 'undone')),
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX link_proposal_event_proposal ON link_proposal_event (proposal_id, id);

CREATE TRIGGER link_proposal_event_no_update BEFORE UPDATE ON link_proposal_event
BEGIN SELECT RAISE(ABORT, 'link_proposal_event is append-only'); END;
CREATE TRIGGER link_proposal_event_no_delete BEFORE DELETE ON link_proposal_event
BEGIN SELECT RAISE(ABORT, 'link_proposal_event is append-only'); END;

CREATE TABLE person_merged (
    personal_id TEXT PRIMARY KEY,
    survivor    TEXT NOT NULL,
    proposal_id INTEGER NOT NULL REFERENCES link_proposal (id),
    merged_at   INTEGER NOT NULL
);
CREATE INDEX person_merged_survivor ON person_merged (survivor);

CREATE TABLE link_gap (
    personal_id TEXT PRIMARY KEY,
    res_path    INTEGER NOT NULL,
    gaps        TEXT NOT NULL
);
CREATE INDEX link_gap_path ON link_gap (res_path);

CREATE TABLE link_population (
    res_path    INTEGER PRIMARY KEY,
    commune     TEXT NOT NULL,
    total       INTEGER NOT NULL,
    alive       INTEGER NOT NULL,
    computed_at INTEGER NOT NULL
);
