-- The OpenID Connect provider (issue 12): signing keys (private halves encrypted at rest under
-- the key-encryption key of `[oidc] key_file`), the relying-party registry, pushed and pending
-- authorization requests, codes, grants, refresh tokens, single-use client-assertion ids,
-- consents and the append-only record of every release of attributes to a client.
-- Secrets (codes, request handles, refresh tokens, client secrets) are stored as SHA-256 only.
-- Timestamps are Unix milliseconds. Lists are JSON arrays (URIs) or space-separated (scopes).

CREATE TABLE oidc_key (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
    state       TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    private_enc BLOB NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX oidc_key_state ON oidc_key (state, alg);

CREATE TABLE oidc_client (
    client_id                 TEXT PRIMARY KEY,
    name_vi                   TEXT NOT NULL,
    name_en                   TEXT NOT NULL,
    logo_uri                  TEXT,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri    TEXT,
    scopes                    TEXT NOT NULL,
    acr_values                TEXT NOT NULL,
    id_token_alg              TEXT NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256', 'EdDSA')),
    auth_method               TEXT NOT NULL CHECK (auth_method IN ('private_key_jwt', 'client_secret_basic')),
    secret_hash               BLOB,
    jwks                      TEXT,
    require_par               INTEGER NOT NULL DEFAULT 0,
    sector_identifier         TEXT NOT NULL,
    dpop_bound                INTEGER NOT NULL DEFAULT 0,
    disabled                  INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

-- Pushed requests (kind 'par', 60 s, single use) and requests waiting for the citizen's
-- sign-in or consent (kind 'pending'); params is the request's JSON.
CREATE TABLE oidc_request (
    handle_hash BLOB PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('par', 'pending')),
    client_id   TEXT NOT NULL REFERENCES oidc_client (client_id),
    params      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX oidc_request_expiry ON oidc_request (expires_at);

CREATE TABLE oidc_grant (
    id          INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_client (client_id),
    scopes      TEXT NOT NULL,
    sid         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX oidc_grant_person ON oidc_grant (personal_id, client_id);
CREATE INDEX oidc_grant_sid ON oidc_grant (sid);

CREATE TABLE oidc_code (
    code_hash  BLOB PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oidc_grant (id),
    client_id  TEXT NOT NULL,
    details    TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oidc_code_expiry ON oidc_code (expires_at);

CREATE TABLE oidc_refresh (
    token_hash BLOB PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oidc_grant (id),
    dpop_jkt   TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oidc_refresh_grant ON oidc_refresh (grant_id);

-- Client-assertion ids (RFC 7523 `jti`), kept until the assertion would have expired.
CREATE TABLE oidc_jti (
    key_hash   BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE oidc_consent (
    personal_id TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_client (client_id),
    scopes      TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    PRIMARY KEY (personal_id, client_id)
);

-- Every release of attributes to a client: the claim names, never their values.
CREATE TABLE oidc_release (
    id          INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    claims      TEXT NOT NULL,
    released_at INTEGER NOT NULL
);
CREATE INDEX oidc_release_person ON oidc_release (personal_id, released_at);

CREATE TRIGGER oidc_release_no_update BEFORE UPDATE ON oidc_release
BEGIN SELECT RAISE(ABORT, 'oidc_release is append-only'); END;
CREATE TRIGGER oidc_release_no_delete BEFORE DELETE ON oidc_release
BEGIN SELECT RAISE(ABORT, 'oidc_release is append-only'); END;
