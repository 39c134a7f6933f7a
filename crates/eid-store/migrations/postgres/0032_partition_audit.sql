-- eid schema, version 32 (PostgreSQL only; SQLite keeps the trail in a file of its own). National
-- scale (issue 16): the audit trail is partitioned, and an existing trail is converted in place.
--
-- `audit` is partitioned by RANGE on `at`, one partition per calendar month in Vietnam's time
-- (`audit_YYYYMM`, the month's first millisecond at 00:00 +07 to the next month's), and a
-- DEFAULT partition (`audit_default`) for a line whose month has no partition. Every line is
-- written with the time it happens, so appends go to the newest month; an auditor's search by
-- dates (the console's from/to days, a day's export) reads only those months; a month no one
-- reads again is frozen by VACUUM once and then left alone, and the trail's retention is by
-- month. The reads by `seq` (newest first, the next page, a reader that follows the trail)
-- keep an index on `seq` in every partition and merge them.
--
-- The partitions of the current month and the next three are made by `eid_audit_ahead`, which
-- the server calls after migrating (every start and `eid migrate`). A month that already has
-- lines in the default partition is not made (its lines stay where they are, still read).
--
-- A primary key of a partitioned table must contain the partition key, so it is `(seq, at)`;
-- `audit_key` keeps `seq` unique across the partitions (below). The sequence is kept, so `seq`
-- goes on.

ALTER SEQUENCE audit_seq_seq OWNED BY NONE;
ALTER TABLE audit RENAME TO audit_unpartitioned;
ALTER TABLE audit_unpartitioned RENAME CONSTRAINT audit_pkey TO audit_unpartitioned_pkey;

CREATE TABLE audit (
    seq        bigint NOT NULL DEFAULT nextval('audit_seq_seq'),
    at         bigint NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    outcome    text NOT NULL,
    request_id text NOT NULL
) PARTITION BY RANGE (at);

-- `seq` stays unique across partitions (each partition's key sees only its own month):
-- `audit_key`, unpartitioned, holds every `seq` of the trail, inserted by a statement trigger
-- from the statement's new lines, so a `seq` already in the trail fails the append on
-- `audit_key_pkey`, as it failed on `audit_pkey` before. Measured on PostgreSQL 15 with 65
-- partitions, 20,000 single-line appends: 5.7 µs a line without the key, 10.3 µs with it; a
-- trigger that looked the new `seq` up in every partition instead cost 190 µs a line.
CREATE TABLE audit_key (seq bigint PRIMARY KEY);
INSERT INTO audit_key (seq) SELECT seq FROM audit_unpartitioned;

CREATE FUNCTION eid_audit_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_key (seq) SELECT seq FROM eid_new_audit;
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_key_append_only BEFORE UPDATE OR DELETE ON audit_key
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER audit_key_no_truncate BEFORE TRUNCATE ON audit_key
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();

-- What the parent's statement triggers do not do for a partition written directly: row triggers
-- (append-only) reach a partition from the parent, a TRUNCATE of the partition and a statement
-- that inserts into the partition itself do not.
CREATE FUNCTION eid_audit_guard(part text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only()',
        part || '_no_truncate', part);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS eid_new_audit FOR EACH STATEMENT EXECUTE FUNCTION eid_audit_key()',
        part || '_key', part);
END;
$$;

-- Makes the partition of the month (in Vietnam's time) that holds the instant `ms` (Unix
-- milliseconds), unless it exists or the default partition already holds lines of that month.
-- Returns whether it made one.
CREATE FUNCTION eid_audit_month(ms bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first timestamp := date_trunc('month', to_timestamp(ms / 1000.0) AT TIME ZONE 'Asia/Ho_Chi_Minh');
    lo bigint := (extract(epoch FROM first AT TIME ZONE 'Asia/Ho_Chi_Minh') * 1000)::bigint;
    hi bigint := (extract(epoch FROM (first + interval '1 month') AT TIME ZONE 'Asia/Ho_Chi_Minh') * 1000)::bigint;
    part text := 'audit_' || to_char(first, 'YYYYMM');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = part
               AND relnamespace = current_schema()::regnamespace) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_default WHERE at >= lo AND at < hi) THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit FOR VALUES FROM (%s) TO (%s)', part, lo, hi);
    PERFORM eid_audit_guard(part);
    RETURN true;
END;
$$;

-- Makes the partitions of the current month (by the database's clock) and the `months` after it;
-- returns how many it made.
CREATE FUNCTION eid_audit_ahead(months int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    made int := 0;
    m int;
BEGIN
    FOR m IN 0..months LOOP
        IF eid_audit_month((extract(epoch FROM (date_trunc('month', now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
                + make_interval(months => m)) AT TIME ZONE 'Asia/Ho_Chi_Minh') * 1000)::bigint) THEN
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END;
$$;

CREATE TABLE audit_default PARTITION OF audit DEFAULT;
SELECT eid_audit_guard('audit_default');

-- A partition for every month the trail has lines in, then the lines.
SELECT eid_audit_month(m)
FROM (SELECT min(at) AS m FROM audit_unpartitioned
      GROUP BY date_trunc('month', to_timestamp(at / 1000.0) AT TIME ZONE 'Asia/Ho_Chi_Minh')) AS months;

INSERT INTO audit (seq, at, actor, action, target, outcome, request_id)
SELECT seq, at, actor, action, target, outcome, request_id FROM audit_unpartitioned;
DROP TABLE audit_unpartitioned;
ALTER SEQUENCE audit_seq_seq OWNED BY audit.seq;

ALTER TABLE audit ADD CONSTRAINT audit_pkey PRIMARY KEY (seq, at);

CREATE TRIGGER audit_key AFTER INSERT ON audit
    REFERENCING NEW TABLE AS eid_new_audit
    FOR EACH STATEMENT EXECUTE FUNCTION eid_audit_key();

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER audit_no_truncate
    BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();
