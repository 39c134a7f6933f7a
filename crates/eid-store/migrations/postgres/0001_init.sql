-- eid schema, version 1 (PostgreSQL 15). Same meaning as migrations/sqlite/0001_init.sql.
-- Applied by PgStore::migrate inside a transaction; the tables go into the first schema of
-- the connection's search_path.

-- The register: one row per person, the projection of person_event. Column values are the
-- text forms of the person CSV format (crate::csvfmt), except `phone`, kept in E.164.
-- Keys and sort columns use the "C" collation: byte order, as in SQLite, whatever the
-- database's locale, and byte comparisons are faster than the locale's.
CREATE TABLE person (
    personal_id       text COLLATE "C" PRIMARY KEY,
    surname           text NOT NULL,
    middle_name       text NOT NULL,
    given_name        text NOT NULL,
    name_folded       text COLLATE "C" NOT NULL,
    birth_date        text NOT NULL,          -- 'YYYY-MM-DD' or 'YYYY'
    birth_year        integer NOT NULL,
    sex               text NOT NULL,
    hometown_unit     text,
    residence_unit    text COLLATE "C" NOT NULL, -- 5-digit commune, 2024 tree
    res_path          bigint NOT NULL,        -- store::unit_path(residence_unit)
    residence_address text NOT NULL,
    temp_unit         text,
    temp_address      text,
    household_id      text COLLATE "C",
    phone             text,                   -- E.164
    phone_type        text NOT NULL,
    life_status       text NOT NULL,
    life_status_date  text,
    card_issued       text,
    card_revoked      boolean,
    digest            bytea NOT NULL,         -- SHA-256 of the 18 CSV fields joined by U+001F
    version           bigint NOT NULL,
    updated_at        bigint NOT NULL         -- unix ms
);

-- Under "C" the plain operator class serves both `LIKE 'prefix%'` and ORDER BY name_folded.
CREATE INDEX person_name_idx ON person (name_folded, birth_year);
CREATE INDEX person_res_path_idx ON person (res_path);
CREATE INDEX person_household_idx ON person (household_id);

-- Every change to a person, in order. Append-only.
CREATE TABLE person_event (
    seq         bigserial PRIMARY KEY,
    personal_id text COLLATE "C" NOT NULL,
    at          bigint NOT NULL,              -- unix ms
    actor       text NOT NULL,
    kind        text NOT NULL,                -- created | updated
    reason      text NOT NULL,
    changes     jsonb NOT NULL
);

CREATE INDEX person_event_person_idx ON person_event (personal_id, seq);

CREATE TABLE staff (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL,
    unit          text NOT NULL,
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    bigint NOT NULL
);

CREATE TABLE session (
    token_hash bytea PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id),
    csrf       text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);

CREATE TABLE api_token (
    id         bigserial PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id),
    name       text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    revoked_at bigint
);

-- Who did what, when. Append-only; targets are ids, never names or phone numbers.
CREATE TABLE audit (
    seq        bigserial PRIMARY KEY,
    at         bigint NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    outcome    text NOT NULL,
    request_id text NOT NULL
);

CREATE FUNCTION eid_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER person_event_append_only
    BEFORE UPDATE OR DELETE ON person_event
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER person_event_no_truncate
    BEFORE TRUNCATE ON person_event
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER audit_no_truncate
    BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();
