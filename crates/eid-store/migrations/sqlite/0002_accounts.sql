-- Electronic identification accounts (levels 1 and 2), in-person applications and the intake
-- devices that collect them, one-time codes, citizen sessions, the SMS outbox, guardianship,
-- content-addressed photos, and the per-unit, per-day counters the operations console reads.
-- Written through src/sql.rs: four column types only, the same shape as the PostgreSQL schema.
-- Days are days since 1970-01-01 in Vietnam's time zone; timestamps are Unix milliseconds.

CREATE TABLE app_setting (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE guardian (
    child_id    TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    relation    TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (child_id, guardian_id)
);

CREATE TABLE photo (
    hash       BLOB PRIMARY KEY,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE device (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    unit           TEXT NOT NULL,
    public_key     BLOB NOT NULL UNIQUE,
    daily_capacity INTEGER NOT NULL CHECK (daily_capacity > 0),
    status         TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'retired')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX device_unit ON device (unit);

CREATE TABLE account (
    id               INTEGER PRIMARY KEY,
    personal_id      TEXT NOT NULL UNIQUE,
    level            INTEGER NOT NULL CHECK (level IN (0, 1, 2)),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'active')),
    phone            TEXT NOT NULL,
    password_hash    TEXT,
    passcode_hash    TEXT,
    guardian_id      TEXT,
    commune          TEXT NOT NULL,
    res_path         INTEGER NOT NULL,
    photo_hash       BLOB,
    verifier         TEXT,
    verifier_score   REAL,
    holder_lock      INTEGER NOT NULL DEFAULT 0,
    officer_lock     TEXT,
    register_lock    TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    locked_out_until INTEGER,
    device_hash      BLOB,
    created_at       INTEGER NOT NULL,
    activated_at     INTEGER,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE application (
    id             INTEGER PRIMARY KEY,
    personal_id    TEXT NOT NULL,
    phone          TEXT NOT NULL,
    portrait_hash  BLOB NOT NULL,
    match_method   TEXT NOT NULL,
    match_against  TEXT NOT NULL,
    match_result   TEXT NOT NULL,
    match_score    REAL,
    officer_id     INTEGER NOT NULL,
    device_id      INTEGER NOT NULL REFERENCES device (id),
    unit           TEXT NOT NULL,
    commune        TEXT NOT NULL,
    res_path       INTEGER NOT NULL,
    packet_hash    BLOB NOT NULL UNIQUE,
    collected_at   INTEGER NOT NULL,
    collected_day  INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('review', 'approved', 'code_sent', 'activated', 'rejected')),
    review_reason  TEXT,
    reject_reason  TEXT,
    decided_by     TEXT,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX application_open ON application (personal_id)
    WHERE state IN ('review', 'approved', 'code_sent');
CREATE INDEX application_unit ON application (unit, state, collected_day);
CREATE INDEX application_res ON application (res_path, state);

CREATE TABLE code (
    id             INTEGER PRIMARY KEY,
    handle         BLOB UNIQUE,
    purpose        TEXT NOT NULL,
    personal_id    TEXT,
    account_id     INTEGER,
    application_id INTEGER,
    phone          TEXT,
    code_hash      BLOB,
    code2_hash     BLOB,
    payload        TEXT NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    sends          INTEGER NOT NULL DEFAULT 1,
    state          TEXT NOT NULL CHECK (state IN ('open', 'used', 'dead')),
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX code_person ON code (personal_id, purpose, state);
CREATE INDEX code_application ON code (application_id);

CREATE TABLE citizen_session (
    token_hash  BLOB PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    device_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX citizen_session_account ON citizen_session (account_id);

CREATE TABLE account_event (
    seq            INTEGER PRIMARY KEY,
    personal_id    TEXT NOT NULL,
    account_id     INTEGER,
    application_id INTEGER,
    kind           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    day            INTEGER NOT NULL,
    commune        TEXT,
    res_path       INTEGER,
    unit           TEXT,
    device_id      INTEGER,
    actor          TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX account_event_person ON account_event (personal_id, seq);

CREATE TRIGGER account_event_no_update BEFORE UPDATE ON account_event
BEGIN SELECT RAISE(ABORT, 'account_event is append-only'); END;
CREATE TRIGGER account_event_no_delete BEFORE DELETE ON account_event
BEGIN SELECT RAISE(ABORT, 'account_event is append-only'); END;

CREATE TABLE unit_day_count (
    metric   TEXT NOT NULL,
    res_path INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (metric, res_path, day)
) WITHOUT ROWID;

CREATE TABLE device_day_count (
    device_id INTEGER NOT NULL,
    day       INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (device_id, day)
) WITHOUT ROWID;

CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY,
    to_phone        TEXT NOT NULL,
    body            TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    provider_id     TEXT,
    last_error      TEXT
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE state = 'pending';
