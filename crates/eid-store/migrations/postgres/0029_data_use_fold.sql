-- Staff reads of a person enter the data-use log without contending for its head (issue 10's
-- lookup goal, issue 15's log). On PostgreSQL a lookup's audit line and one row of
-- `data_use_pending` commit in the lookup's transaction, and a folder moves pending rows into
-- `data_use` in batches, each batch taking its leaf numbers from the head and deleting the rows
-- it moved in one transaction: a crash neither loses nor repeats an entry, and concurrent
-- lookups no longer queue on the head's row lock. `audit_cursor` is the SQLite folder's (see
-- that migration); unused here, kept so both schemas are alike.
ALTER TABLE transparency_head ADD COLUMN audit_cursor BIGINT;

CREATE TABLE data_use_pending (
    id          bigserial PRIMARY KEY,
    personal_id TEXT NOT NULL,
    who_kind    TEXT NOT NULL,
    who_id      TEXT NOT NULL,
    who_name    TEXT NOT NULL,
    who_unit    TEXT,
    who_role    TEXT,
    what        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    at          bigint NOT NULL
);
