-- A person's entries of the data-use log are found through `data_use_by_person`, which is
-- filled in sorted runs instead of row by row (issue 16's lookup goal). Every staff lookup adds
-- an entry, and an index on (personal_id, seq) took each one at a random place: once the index
-- had more pages than a fold had entries, every fold's commit wrote about a page per entry.
-- Now the log's newest entries (seq >= `transparency_head.indexed`, the tail) are found by
-- scanning that range of the log, and once the tail has grown long enough one transaction
-- copies it into `data_use_by_person` in key order and moves `indexed` to the log's size, so a
-- run of tens of thousands of entries writes each page of the table about once. Like the log,
-- the copy is append-only, and `eid audit verify` checks it holds each copied entry once.
CREATE TABLE data_use_by_person (
    personal_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (personal_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER data_use_by_person_no_update BEFORE UPDATE ON data_use_by_person
BEGIN SELECT RAISE(ABORT, 'data_use_by_person is append-only'); END;
CREATE TRIGGER data_use_by_person_no_delete BEFORE DELETE ON data_use_by_person
BEGIN SELECT RAISE(ABORT, 'data_use_by_person is append-only'); END;

INSERT INTO data_use_by_person (personal_id, seq)
SELECT personal_id, seq FROM data_use ORDER BY personal_id, seq;

ALTER TABLE transparency_head ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
UPDATE transparency_head SET indexed = size WHERE id = 1;

DROP INDEX data_use_person;
