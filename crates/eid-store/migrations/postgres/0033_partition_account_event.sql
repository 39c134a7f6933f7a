-- eid schema, version 33 (PostgreSQL only; SQLite keeps one table). National scale (issue 16):
-- the accounts' history is partitioned, and an existing one is converted in place.
--
-- `account_event` is partitioned by HASH on `personal_id` (16 partitions), as `person_event`
-- is: its reads are all by person — a person's account history (`accounts::events`, the ID
-- prunes it to one partition when the statement is planned) and a cohort's metrics, which join
-- the cohort's members to their events by ID. No read asks for a province's or a commune's
-- events (the roll-ups count in `unit_day_count` and `province_day_count`, kept in the writing
-- transaction), the event's `res_path` may be missing, and a person who moves keeps one
-- history in one partition. An event is appended to one partition as before.
--
-- A primary key of a partitioned table must contain the partition key: `(seq, personal_id)`.
-- `seq` was an identity column, which a partitioned table cannot have on PostgreSQL 15: it
-- becomes a sequence default that goes on from the identity's last value; no statement of eid
-- gives a `seq`.

CREATE SEQUENCE account_event_seq;
SELECT setval('account_event_seq', last_value, is_called) FROM account_event_seq_seq;

ALTER TABLE account_event RENAME TO account_event_unpartitioned;
ALTER TABLE account_event_unpartitioned
    RENAME CONSTRAINT account_event_pkey TO account_event_unpartitioned_pkey;
DROP INDEX account_event_person;

CREATE TABLE account_event (
    seq            bigint NOT NULL DEFAULT nextval('account_event_seq'),
    personal_id    text NOT NULL,
    account_id     bigint,
    application_id bigint,
    kind           text NOT NULL,
    at             bigint NOT NULL,
    day            bigint NOT NULL,
    commune        text,
    res_path       bigint,
    unit           text,
    device_id      bigint,
    actor          text NOT NULL,
    detail         text NOT NULL
) PARTITION BY HASH (personal_id);

DO $$
DECLARE
    r int;
BEGIN
    FOR r IN 0..15 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF account_event FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            'account_event_' || lpad(r::text, 2, '0'), r);
        -- Row triggers reach the partitions from the parent; a statement's TRUNCATE does not.
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only()',
            'account_event_' || lpad(r::text, 2, '0') || '_no_truncate', 'account_event_' || lpad(r::text, 2, '0'));
    END LOOP;
END
$$;

INSERT INTO account_event (seq, personal_id, account_id, application_id, kind, at, day, commune,
    res_path, unit, device_id, actor, detail)
SELECT seq, personal_id, account_id, application_id, kind, at, day, commune, res_path, unit,
    device_id, actor, detail
FROM account_event_unpartitioned;
DROP TABLE account_event_unpartitioned;
ALTER SEQUENCE account_event_seq RENAME TO account_event_seq_seq;
ALTER SEQUENCE account_event_seq_seq OWNED BY account_event.seq;

ALTER TABLE account_event ADD CONSTRAINT account_event_pkey PRIMARY KEY (seq, personal_id);
CREATE INDEX account_event_person ON account_event (personal_id, seq);

CREATE TRIGGER account_event_append_only BEFORE UPDATE OR DELETE ON account_event
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER account_event_no_truncate BEFORE TRUNCATE ON account_event
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();
