-- eid schema, version 31 (PostgreSQL only; SQLite keeps one table each). National scale
-- (issue 16): the register is partitioned, and an existing database is converted in place.
--
-- `person` is partitioned by RANGE on `res_path`, one partition per province of the 2024 tree
-- (`res_path / 100000000` is the province's number, so a province is the keys
-- [p * 10^8, (p + 1) * 10^8)) and a DEFAULT partition for a key outside them. Everything a
-- province, district or commune reads — a search, an outreach list, a roll-up, an export — is a
-- range of `res_path` inside one province, so the planner reads one partition.
--
-- PostgreSQL has no global index: a primary key of a partitioned table must include the
-- partition key, so `(personal_id, res_path)` alone would let one ID live in two provinces.
-- `person_key` (personal_id → province) is the one unpartitioned index of the register's IDs:
-- its primary key refuses a second row for an ID wherever it would live, and a lookup by ID
-- reads the province there first and then only that province's partition (run-time pruning on
-- the looked-up value). Triggers on `person` keep it, whoever writes: an INSERT adds the key
-- row (a second row for an ID fails on `person_key_pkey`), a DELETE removes it, and a person
-- who moves province has their row moved by the UPDATE and their key row follows in the same
-- statement.
--
-- `person_event` is partitioned by HASH on `personal_id` (16 partitions): its only reads are a
-- person's history by ID, which the ID itself prunes to one partition at plan time, and a
-- person's history never splits when they move. Its sequence is kept, so `seq` goes on.

CREATE TABLE person_key (
    personal_id text COLLATE "C" PRIMARY KEY,
    province    smallint NOT NULL        -- res_path / 100000000 of the person's row
);
INSERT INTO person_key (personal_id, province)
SELECT personal_id, res_path / 100000000 FROM person;

ALTER TABLE person RENAME TO person_unpartitioned;
ALTER TABLE person_unpartitioned RENAME CONSTRAINT person_pkey TO person_unpartitioned_pkey;

CREATE TABLE person (
    personal_id       text COLLATE "C" NOT NULL,
    surname           text NOT NULL,
    middle_name       text NOT NULL,
    given_name        text NOT NULL,
    name_folded       text COLLATE "C" NOT NULL,
    birth_date        text NOT NULL,
    birth_year        integer NOT NULL,
    sex               text NOT NULL,
    hometown_unit     text,
    residence_unit    text COLLATE "C" NOT NULL,
    res_path          bigint NOT NULL,
    residence_address text NOT NULL,
    temp_unit         text,
    temp_address      text,
    household_id      text COLLATE "C",
    phone             text,
    phone_type        text NOT NULL,
    life_status       text NOT NULL,
    life_status_date  text,
    card_issued       text,
    card_revoked      boolean,
    digest            bytea NOT NULL,
    version           bigint NOT NULL,
    updated_at        bigint NOT NULL
) PARTITION BY RANGE (res_path);

-- The 63 provinces of the 2024 tree (data/admin-units.tsv), by GSO number.
DO $$
DECLARE
    p int;
BEGIN
    FOREACH p IN ARRAY ARRAY[1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27,
        30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62,
        64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95,
        96]
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF person FOR VALUES FROM (%s) TO (%s)',
            'person_' || lpad(p::text, 3, '0'), p::bigint * 100000000, (p + 1)::bigint * 100000000);
    END LOOP;
END
$$;
CREATE TABLE person_other PARTITION OF person DEFAULT;

INSERT INTO person SELECT personal_id, surname, middle_name, given_name, name_folded, birth_date,
    birth_year, sex, hometown_unit, residence_unit, res_path, residence_address, temp_unit,
    temp_address, household_id, phone, phone_type, life_status, life_status_date, card_issued,
    card_revoked, digest, version, updated_at
FROM person_unpartitioned;
DROP TABLE person_unpartitioned;

-- Statement triggers with transition tables, not row triggers: a BEFORE ROW trigger makes
-- `COPY` insert row by row (no multi-row inserts), which made the import about 1.8× slower;
-- one `INSERT … SELECT` per statement keeps the bulk path. A second row for an ID still fails
-- the statement on `person_key_pkey`; a person moved to another province (an UPDATE that
-- moves the row between partitions) is in the UPDATE's transition table.
CREATE FUNCTION eid_person_key_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO person_key (personal_id, province)
    SELECT personal_id, res_path / 100000000 FROM eid_new_person;
    RETURN NULL;
END;
$$;
CREATE FUNCTION eid_person_key_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- No statement of eid changes a person's ID: one that tries is refused here rather than
    -- re-keyed.
    IF EXISTS (SELECT 1 FROM eid_new_person n LEFT JOIN eid_old_person o USING (personal_id)
               WHERE o.personal_id IS NULL) THEN
        RAISE EXCEPTION 'a personal ID cannot change' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE person_key k SET province = n.res_path / 100000000
    FROM eid_new_person n
    WHERE k.personal_id = n.personal_id AND k.province <> n.res_path / 100000000;
    RETURN NULL;
END;
$$;
CREATE FUNCTION eid_person_key_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM person_key k USING eid_old_person o WHERE k.personal_id = o.personal_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER person_key_insert AFTER INSERT ON person
    REFERENCING NEW TABLE AS eid_new_person
    FOR EACH STATEMENT EXECUTE FUNCTION eid_person_key_insert();
CREATE TRIGGER person_key_update AFTER UPDATE ON person
    REFERENCING OLD TABLE AS eid_old_person NEW TABLE AS eid_new_person
    FOR EACH STATEMENT EXECUTE FUNCTION eid_person_key_update();
CREATE TRIGGER person_key_delete AFTER DELETE ON person
    REFERENCING OLD TABLE AS eid_old_person
    FOR EACH STATEMENT EXECUTE FUNCTION eid_person_key_delete();

-- Keys and indexes after the rows: one build per partition instead of a row-by-row upkeep.
ALTER TABLE person ADD CONSTRAINT person_pkey PRIMARY KEY (personal_id, res_path);
CREATE INDEX person_name ON person (name_folded, birth_year);
CREATE INDEX person_res_path ON person (res_path);
CREATE INDEX person_household ON person (household_id) WHERE household_id IS NOT NULL;

-- The history.
ALTER SEQUENCE person_event_seq_seq OWNED BY NONE;
ALTER TABLE person_event RENAME TO person_event_unpartitioned;
ALTER TABLE person_event_unpartitioned
    RENAME CONSTRAINT person_event_pkey TO person_event_unpartitioned_pkey;
DROP INDEX person_event_person;

CREATE TABLE person_event (
    seq         bigint NOT NULL DEFAULT nextval('person_event_seq_seq'),
    personal_id text COLLATE "C" NOT NULL,
    at          bigint NOT NULL,
    actor       text NOT NULL,
    kind        text NOT NULL CONSTRAINT person_event_kind_check CHECK (kind IN ('created', 'updated')),
    reason      text NOT NULL,
    changes     jsonb NOT NULL
) PARTITION BY HASH (personal_id);

DO $$
DECLARE
    r int;
BEGIN
    FOR r IN 0..15 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF person_event FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            'person_event_' || lpad(r::text, 2, '0'), r);
        -- Row triggers reach the partitions from the parent; a statement's TRUNCATE does not.
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only()',
            'person_event_' || lpad(r::text, 2, '0') || '_no_truncate', 'person_event_' || lpad(r::text, 2, '0'));
    END LOOP;
END
$$;

INSERT INTO person_event (seq, personal_id, at, actor, kind, reason, changes)
SELECT seq, personal_id, at, actor, kind, reason, changes FROM person_event_unpartitioned;
DROP TABLE person_event_unpartitioned;
ALTER SEQUENCE person_event_seq_seq OWNED BY person_event.seq;

ALTER TABLE person_event ADD CONSTRAINT person_event_pkey PRIMARY KEY (seq, personal_id);
CREATE INDEX person_event_person ON person_event (personal_id, seq);

CREATE TRIGGER person_event_append_only
    BEFORE UPDATE OR DELETE ON person_event
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER person_event_no_truncate
    BEFORE TRUNCATE ON person_event
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();
