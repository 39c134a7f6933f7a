-- The citizen's wallet (issue 15): documents the citizen asked to integrate (shown once a sector
-- row of that kind matched them), the presentations (QR credentials) issued with their
-- status-list index and revocation, and each verifier's online read of one.
-- Only the names of the disclosed claims are kept, never their values. Times in ms.

CREATE TABLE wallet_doc (
    personal_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (personal_id, kind)
);

CREATE TABLE wallet_cred (
    id          INTEGER PRIMARY KEY,
    cti         TEXT NOT NULL UNIQUE,
    personal_id TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    claims      TEXT NOT NULL,
    status_idx  INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    used_at     INTEGER
);
CREATE INDEX wallet_cred_person ON wallet_cred (personal_id, issued_at);
CREATE INDEX wallet_cred_revoked ON wallet_cred (revoked_at, expires_at);

CREATE TABLE wallet_read (
    id          INTEGER PRIMARY KEY,
    cti         TEXT NOT NULL,
    personal_id TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    claims      TEXT NOT NULL,
    read_at     INTEGER NOT NULL
);
CREATE INDEX wallet_read_person ON wallet_read (personal_id, read_at);
