-- What the register keeps of a person's residence beyond the 18 columns of `person` (issue 14):
-- the end of the temporary residence's term and a declared temporary absence. The projection
-- of the fields named `temp_until`, `absence_from`, `absence_to`, `absence_place` in the
-- person's `updated` events (store::residency), written in the same transaction as the event.
-- ISO dates as text; an absent field is NULL.

CREATE TABLE person_residency (
    personal_id   TEXT PRIMARY KEY,
    temp_until    TEXT,
    absence_from  TEXT,
    absence_to    TEXT,
    absence_place TEXT
);
