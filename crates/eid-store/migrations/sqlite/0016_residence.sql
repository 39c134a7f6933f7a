-- Residence procedures (issue 14): requests a level-2 citizen files online (temporary and
-- permanent residence, renewal, temporary absence, household split, deregistration), their
-- steps as append-only events, their attachments, and the scanned files themselves, kept
-- content-addressed (the SHA-256 of the bytes is the key) in a table so that they commit with
-- the request, back up with the database and behave alike on both engines. Written through
-- src/sql.rs.

CREATE TABLE res_request (
    id           INTEGER PRIMARY KEY,
    personal_id  TEXT NOT NULL,
    procedure    TEXT NOT NULL CHECK (procedure IN
                     ('temporary', 'renewal', 'permanent', 'absence', 'split', 'deregister')),
    commune      TEXT NOT NULL,
    res_path     INTEGER NOT NULL,
    address      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN
                     ('submitted', 'assigned', 'more_info', 'approved', 'refused')),
    open_key     TEXT,
    assignee     INTEGER,
    legal_days   INTEGER NOT NULL,
    fee_vnd      INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    clock_from   INTEGER NOT NULL,
    due_date     TEXT NOT NULL,
    asked        TEXT,
    decided_at   INTEGER,
    decided_by   INTEGER,
    outcome      TEXT
);
CREATE UNIQUE INDEX res_request_open ON res_request (open_key);
CREATE INDEX res_request_person ON res_request (personal_id, id);
CREATE INDEX res_request_path ON res_request (res_path, state);

CREATE TABLE res_event (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES res_request (id),
    kind        TEXT NOT NULL CHECK (kind IN
                    ('submitted', 'assigned', 'asked', 'answered', 'approved', 'refused')),
    actor       TEXT NOT NULL,
    body        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX res_event_request ON res_event (request_id, id);

CREATE TRIGGER res_event_no_update BEFORE UPDATE ON res_event
BEGIN SELECT RAISE(ABORT, 'res_event is append-only'); END;
CREATE TRIGGER res_event_no_delete BEFORE DELETE ON res_event
BEGIN SELECT RAISE(ABORT, 'res_event is append-only'); END;

CREATE TABLE res_blob (
    sha256     TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE res_attachment (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES res_request (id),
    event_id   INTEGER NOT NULL REFERENCES res_event (id),
    sha256     TEXT NOT NULL REFERENCES res_blob (sha256),
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX res_attachment_request ON res_attachment (request_id, id);
