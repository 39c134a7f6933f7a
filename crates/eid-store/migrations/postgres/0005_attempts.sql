-- Limits on secrets and codes: one row per key (a hashed personal ID, an account, a phone),
-- counting the checks or sends reserved in the window that began at `window_start` (Unix
-- milliseconds). A check reserves its place with one conditional upsert before it runs, so
-- requests that arrive together cannot get past the limit (see ARCHITECTURE.md).
CREATE TABLE attempt (
    key          TEXT PRIMARY KEY,
    window_start bigint NOT NULL,
    n            bigint NOT NULL
);
CREATE INDEX attempt_window ON attempt (window_start);
