-- Staff reads of a person enter the data-use log without a write of their own (issue 10's
-- lookup goal, issue 15's log). On SQLite the audit lines live in a file of their own and commit
-- in groups; a lookup's `person.read` line is its record, and a folder appends those lines to
-- `data_use` in batches, moving `audit_cursor` (the audit `seq` folded up to; NULL: not started)
-- in the same transaction as the entries it covers, so a crash neither loses nor repeats one.
-- `data_use_pending` is PostgreSQL's path (see that migration); unused here, kept so both
-- schemas are alike.
ALTER TABLE transparency_head ADD COLUMN audit_cursor INTEGER;

CREATE TABLE data_use_pending (
    id          INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    who_kind    TEXT NOT NULL,
    who_id      TEXT NOT NULL,
    who_name    TEXT NOT NULL,
    who_unit    TEXT,
    who_role    TEXT,
    what        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
