-- eid schema, version 4 (PostgreSQL). Brings the register's indexes and checks in line with
-- SQLite's, as tests/schema.rs (the engines' schema comparison) found them:
-- - the register's indexes had an `_idx` suffix here and none in SQLite (or in any later
--   migration of either engine);
-- - the household index was partial in SQLite only: NULL households are never looked up;
-- - person_event.kind was checked in SQLite only.

ALTER INDEX person_name_idx RENAME TO person_name;
ALTER INDEX person_res_path_idx RENAME TO person_res_path;
ALTER INDEX person_event_person_idx RENAME TO person_event_person;

DROP INDEX person_household_idx;
CREATE INDEX person_household ON person (household_id) WHERE household_id IS NOT NULL;

ALTER TABLE person_event
    ADD CONSTRAINT person_event_kind_check CHECK (kind IN ('created', 'updated'));
