-- The citizen's browser sessions (issue 12): one row per session of the /me pages (and of the
-- OpenID Connect provider that signs in through them). Only the SHA-256 of the session token is
-- kept, and only the SHA-256 of the browser's device identifier. `level` is the level reached in
-- this session (1 after the password, 2 after the passcode), `amr` the methods used, space
-- separated ("pwd", "pwd otp", "pwd pin"). A session is live while `ended_at` is NULL, `now` is
-- before `expires_at` (absolute) and before `idle_until` (slid forward on use). The app's bearer
-- sessions stay in `citizen_session`.

CREATE TABLE citizen_web_session (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    account_id  INTEGER NOT NULL REFERENCES account (id),
    personal_id TEXT NOT NULL,
    device_hash BLOB NOT NULL,
    level       INTEGER NOT NULL CHECK (level IN (1, 2)),
    auth_time   INTEGER NOT NULL,
    amr         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    idle_until  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX citizen_web_session_account ON citizen_web_session (account_id, ended_at);
