-- eid schema, version 34 (PostgreSQL only; SQLite keeps one table). National scale (issue 16):
-- the accounts are partitioned, and an existing table is converted in place.
--
-- `account` is partitioned by RANGE on `res_path`, one partition per province of the 2024 tree,
-- as `person` is (migration 31): `account_001` … `account_096` and `account_other` as DEFAULT.
-- An account's `res_path` is its holder's residence when it was last registered or activated
-- (level 1 registration, level 2 activation set it), so a province's accounts are read from its
-- partition: the outreach list of a commune joins its persons to that one partition.
--
-- PostgreSQL has no global index: a primary key of a partitioned table must contain the
-- partition key, so `(id, res_path)` and `(personal_id, res_path)` alone would let an id or a
-- personal ID live in two provinces. `account_key (id, personal_id → province)`, unpartitioned,
-- is the accounts' one index of both keys: its primary key and unique constraint refuse a second
-- account for an id or a person wherever it would live, and the foreign keys of the sessions
-- point at it. Statement triggers with transition tables on `account` keep it, whoever writes
-- (an INSERT adds the key row, a DELETE — a pending account replaced by `accounts::guardians` —
-- removes it, an UPDATE that moves an account to another province moves its key row's
-- province). A statement that finds an account by id or personal ID reads the province from
-- `account_key` first and sends the range of that province's `res_path` as parameters, so that
-- the planner keeps one partition (`eid_store::account_key`).
--
-- `id` was an identity column, which a partitioned table cannot have on PostgreSQL 15: it becomes
-- a sequence default that goes on from the identity's last value; no statement of eid gives an
-- `id`.

CREATE SEQUENCE account_id_next;
SELECT setval('account_id_next', last_value, is_called) FROM account_id_seq;

CREATE TABLE account_key (
    id          bigint PRIMARY KEY,
    personal_id text NOT NULL CONSTRAINT account_key_personal_id_key UNIQUE,
    province    smallint NOT NULL        -- res_path / 100000000 of the account's row
);
INSERT INTO account_key (id, personal_id, province)
SELECT id, personal_id, res_path / 100000000 FROM account;

-- The sessions' foreign keys leave the old table before it goes; they point at `account_key`.
ALTER TABLE citizen_session DROP CONSTRAINT citizen_session_account_id_fkey;
ALTER TABLE citizen_web_session DROP CONSTRAINT citizen_web_session_account_id_fkey;

ALTER TABLE account RENAME TO account_unpartitioned;
ALTER TABLE account_unpartitioned RENAME CONSTRAINT account_pkey TO account_unpartitioned_pkey;
ALTER TABLE account_unpartitioned
    RENAME CONSTRAINT account_personal_id_key TO account_unpartitioned_personal_id_key;

CREATE TABLE account (
    id               bigint NOT NULL DEFAULT nextval('account_id_next'),
    personal_id      text NOT NULL,
    level            bigint NOT NULL CONSTRAINT account_level_check CHECK (level IN (0, 1, 2)),
    state            text NOT NULL CONSTRAINT account_state_check CHECK (state IN ('pending', 'active')),
    phone            text NOT NULL,
    password_hash    text,
    passcode_hash    text,
    guardian_id      text,
    commune          text NOT NULL,
    res_path         bigint NOT NULL,
    photo_hash       bytea,
    verifier         text,
    verifier_score   double precision,
    holder_lock      bigint NOT NULL DEFAULT 0,
    officer_lock     text,
    register_lock    text,
    failures         bigint NOT NULL DEFAULT 0,
    locked_out_until bigint,
    device_hash      bytea,
    created_at       bigint NOT NULL,
    activated_at     bigint,
    updated_at       bigint NOT NULL
) PARTITION BY RANGE (res_path);

-- The 63 provinces of the 2024 tree (data/admin-units.tsv), by GSO number, as `person`'s.
DO $$
DECLARE
    p int;
BEGIN
    FOREACH p IN ARRAY ARRAY[1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27,
        30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62,
        64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95,
        96]
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF account FOR VALUES FROM (%s) TO (%s)',
            'account_' || lpad(p::text, 3, '0'), p::bigint * 100000000, (p + 1)::bigint * 100000000);
    END LOOP;
END
$$;
CREATE TABLE account_other PARTITION OF account DEFAULT;

INSERT INTO account (id, personal_id, level, state, phone, password_hash, passcode_hash,
    guardian_id, commune, res_path, photo_hash, verifier, verifier_score, holder_lock,
    officer_lock, register_lock, failures, locked_out_until, device_hash, created_at,
    activated_at, updated_at)
SELECT id, personal_id, level, state, phone, password_hash, passcode_hash, guardian_id, commune,
    res_path, photo_hash, verifier, verifier_score, holder_lock, officer_lock, register_lock,
    failures, locked_out_until, device_hash, created_at, activated_at, updated_at
FROM account_unpartitioned;
DROP TABLE account_unpartitioned;
ALTER SEQUENCE account_id_next RENAME TO account_id_seq;
ALTER SEQUENCE account_id_seq OWNED BY account.id;

-- Keys after the rows: one build per partition. Within a partition, `(id, res_path)` and
-- `(personal_id, res_path)` are the indexes a lookup uses; across partitions `account_key`
-- keeps both unique.
ALTER TABLE account ADD CONSTRAINT account_pkey PRIMARY KEY (id, res_path);
ALTER TABLE account ADD CONSTRAINT account_personal_id_key UNIQUE (personal_id, res_path);

ALTER TABLE citizen_session ADD CONSTRAINT citizen_session_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES account_key (id);
ALTER TABLE citizen_web_session ADD CONSTRAINT citizen_web_session_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES account_key (id);

-- Statement triggers with transition tables, as `person`'s (a row trigger would cost a call per
-- row; these cost one per statement). A second account for an id or a person fails the statement
-- on `account_key_pkey` or `account_key_personal_id_key`; an account moved to another province
-- (an UPDATE that moves the row between partitions) is in the UPDATE's transition tables.
CREATE FUNCTION eid_account_key_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_key (id, personal_id, province)
    SELECT id, personal_id, res_path / 100000000 FROM eid_new_account;
    RETURN NULL;
END;
$$;
CREATE FUNCTION eid_account_key_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- No statement of eid changes an account's id or its holder: one that tries is refused
    -- here rather than re-keyed.
    IF EXISTS (SELECT 1 FROM eid_new_account n
               LEFT JOIN eid_old_account o ON o.id = n.id AND o.personal_id = n.personal_id
               WHERE o.id IS NULL) THEN
        RAISE EXCEPTION 'an account''s id and personal ID cannot change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE account_key k SET province = n.res_path / 100000000
    FROM eid_new_account n
    WHERE k.id = n.id AND k.province <> n.res_path / 100000000;
    RETURN NULL;
END;
$$;
CREATE FUNCTION eid_account_key_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM account_key k USING eid_old_account o WHERE k.id = o.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER account_key_insert AFTER INSERT ON account
    REFERENCING NEW TABLE AS eid_new_account
    FOR EACH STATEMENT EXECUTE FUNCTION eid_account_key_insert();
CREATE TRIGGER account_key_update AFTER UPDATE ON account
    REFERENCING OLD TABLE AS eid_old_account NEW TABLE AS eid_new_account
    FOR EACH STATEMENT EXECUTE FUNCTION eid_account_key_update();
CREATE TRIGGER account_key_delete AFTER DELETE ON account
    REFERENCING OLD TABLE AS eid_old_account
    FOR EACH STATEMENT EXECUTE FUNCTION eid_account_key_delete();
