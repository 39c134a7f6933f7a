-- The population register, its event history, staff, sessions and API tokens.
-- Person columns hold the CSV text forms (see src/csvfmt.rs); timestamps are Unix milliseconds.

CREATE TABLE person (
    personal_id       TEXT PRIMARY KEY,
    surname           TEXT NOT NULL,
    middle_name       TEXT NOT NULL,
    given_name        TEXT NOT NULL,
    name_folded       TEXT NOT NULL,
    birth_date        TEXT NOT NULL,
    birth_year        INTEGER NOT NULL,
    sex               TEXT NOT NULL,
    hometown_unit     TEXT,
    residence_unit    TEXT NOT NULL,
    res_path          INTEGER NOT NULL,
    residence_address TEXT NOT NULL,
    temp_unit         TEXT,
    temp_address      TEXT,
    household_id      TEXT,
    phone             TEXT,
    phone_type        TEXT NOT NULL,
    life_status       TEXT NOT NULL,
    life_status_date  TEXT,
    card_issued       TEXT,
    card_revoked      INTEGER,
    digest            BLOB NOT NULL,
    version           INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX person_name ON person (name_folded, birth_year);
CREATE INDEX person_res_path ON person (res_path);
CREATE INDEX person_household ON person (household_id) WHERE household_id IS NOT NULL;

CREATE TABLE person_event (
    seq         INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated')),
    reason      TEXT NOT NULL,
    changes     TEXT NOT NULL
);
CREATE INDEX person_event_person ON person_event (personal_id, seq);

CREATE TRIGGER person_event_no_update BEFORE UPDATE ON person_event
BEGIN SELECT RAISE(ABORT, 'person_event is append-only'); END;
CREATE TRIGGER person_event_no_delete BEFORE DELETE ON person_event
BEGIN SELECT RAISE(ABORT, 'person_event is append-only'); END;

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE session (
    token_hash BLOB PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_token (
    id         INTEGER PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id),
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- The audit trail lives in a file of its own (migrations/sqlite/audit/); see src/sqlite.rs.
