-- Announced peaks (issue 16, surge mode): a window set in advance by the ministry in which the
-- server's admission control gives new registrations a smaller share. `load_permille` is the
-- expected load as a multiple of an ordinary day, in thousandths (3000 = 3×). Removing a peak
-- marks it (`removed_at`), so the list keeps what was announced; the audit trail says who did it.

CREATE TABLE surge_peak (
    id            INTEGER PRIMARY KEY,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    load_permille INTEGER NOT NULL CHECK (load_permille >= 1000),
    note          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    removed_at    INTEGER,
    CHECK (ends_at > starts_at)
);
CREATE INDEX surge_peak_ends ON surge_peak (ends_at);
