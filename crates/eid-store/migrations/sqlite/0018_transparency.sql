-- Who used my data (issue 15): every read of a person's record by staff, a relying party, a
-- sector source or a verifier is one `data_use` entry, and the entries are the leaves of an
-- append-only Merkle tree (RFC 6962/9162): `seq` is the leaf index (0, 1, 2, … without gaps,
-- handed out by the one-row `transparency_head` in the entry's own transaction), `leaf_hash`
-- the leaf's hash over the entry's canonical bytes. Signed checkpoints (tree size, root, a signed
-- note under a platform Ed25519 key) are kept in `transparency_checkpoint`.
-- Citizens report misuse of an entry (`data_use_report`), answered by auditors.
-- Officers show short-lived codes (`officer_code`, SHA-256 only) that citizens check; failed
-- checks are counted per claimed unit and day (`officer_check_fail`).
-- Account recovery without the old phone (`account_recovery`): personal ID, passcode, a fresh
-- portrait and a code to the new phone start a time lock, during which the bound phone and the
-- account's sessions are told and can cancel; the requester's handle, the new phone's code and
-- the owner's cancel token are stored as SHA-256 only. Failed verifications are counted per
-- reason, next step of the fallback ladder and day (`verify_failure`).
-- Timestamps are Unix milliseconds.

CREATE TABLE data_use (
    seq         INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    who_kind    TEXT NOT NULL,
    who_id      TEXT NOT NULL,
    who_name    TEXT NOT NULL,
    who_unit    TEXT,
    who_role    TEXT,
    what        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    leaf_hash   BLOB NOT NULL
);
CREATE INDEX data_use_person ON data_use (personal_id, seq);

CREATE TRIGGER data_use_no_update BEFORE UPDATE ON data_use
BEGIN SELECT RAISE(ABORT, 'data_use is append-only'); END;
CREATE TRIGGER data_use_no_delete BEFORE DELETE ON data_use
BEGIN SELECT RAISE(ABORT, 'data_use is append-only'); END;

CREATE TABLE transparency_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO transparency_head (id, size) VALUES (1, 0);

CREATE TABLE transparency_checkpoint (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    kid       TEXT NOT NULL,
    note      TEXT NOT NULL,
    signed_at INTEGER NOT NULL
);

CREATE TABLE data_use_report (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL REFERENCES data_use (seq),
    personal_id TEXT NOT NULL,
    who_unit    TEXT,
    note        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'answered')),
    outcome     TEXT,
    answer      TEXT,
    answered_by TEXT,
    created_at  INTEGER NOT NULL,
    answered_at INTEGER
);
CREATE INDEX data_use_report_person ON data_use_report (personal_id, id);
CREATE INDEX data_use_report_state ON data_use_report (state, id);

CREATE TABLE officer_code (
    code_hash  BLOB PRIMARY KEY,
    staff_id   INTEGER NOT NULL,
    unit       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX officer_code_expiry ON officer_code (expires_at);

CREATE TABLE officer_check_fail (
    unit TEXT NOT NULL,
    day  INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (unit, day)
);

CREATE TABLE account_recovery (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    personal_id     TEXT NOT NULL,
    new_phone       TEXT NOT NULL,
    new_device_hash BLOB,
    handle_hash     BLOB NOT NULL UNIQUE,
    code_hash       BLOB NOT NULL,
    cancel_hash     BLOB,
    state           TEXT NOT NULL CHECK (state IN ('code', 'waiting', 'cancelled', 'completed')),
    code_tries      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    code_expires_at INTEGER NOT NULL,
    unlock_at       INTEGER,
    done_at         INTEGER,
    cancelled_by    TEXT
);
CREATE INDEX account_recovery_person ON account_recovery (personal_id, state);

CREATE TABLE verify_failure (
    reason TEXT NOT NULL,
    next_step TEXT NOT NULL,
    day    INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (reason, next_step, day)
);
