-- Properties, staff, tokens, integrations and sign-in links.
-- Times are BIGINT unix microseconds in UTC, as on SQLite, so that every query reads the same
-- on both databases and round-trips are exact.

-- +goose Up
CREATE TABLE properties (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    time_zone      TEXT    NOT NULL,
    country        TEXT    NOT NULL DEFAULT '',
    language       TEXT    NOT NULL,
    contact_center BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

CREATE TABLE staff (
    property_id TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL,
    -- Soft delete: rows that refer to a deleted member keep something to point at, and a
    -- later upsert revives the member.
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (property_id, id)
);

CREATE TABLE tokens (
    id          TEXT   NOT NULL PRIMARY KEY,
    hash        BYTEA  NOT NULL UNIQUE,
    -- NULL: the token reaches every property ('*').
    property_id TEXT   REFERENCES properties (id) ON DELETE CASCADE,
    role        TEXT   NOT NULL CHECK (role IN ('admin', 'service')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE sign_in_links (
    token_hash  BYTEA  NOT NULL PRIMARY KEY,
    -- NULL: the link signs in to every property ('*').
    property_id TEXT   REFERENCES properties (id) ON DELETE CASCADE,
    role        TEXT   NOT NULL CHECK (role IN ('admin', 'service')),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE integrations (
    property_id           TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    provider              TEXT    NOT NULL,
    sealed_key            BYTEA,
    key_hint              TEXT    NOT NULL DEFAULT '',
    base_url              TEXT    NOT NULL DEFAULT '',
    status                TEXT    NOT NULL,
    status_reason         TEXT    NOT NULL DEFAULT '',
    organization_id       TEXT    NOT NULL DEFAULT '',
    organization_name     TEXT    NOT NULL DEFAULT '',
    -- The chosen sender; all four are NULL until one is chosen.
    sender_id             TEXT,
    sender_type           TEXT,
    sender_name           TEXT,
    sender_phone          TEXT,
    active                BOOLEAN NOT NULL DEFAULT FALSE,
    sealed_webhook_secret BYTEA,
    checked_at            BIGINT,
    activated_at          BIGINT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    PRIMARY KEY (property_id, provider),
    CHECK (sender_id IS NOT NULL OR (sender_type IS NULL AND sender_name IS NULL AND sender_phone IS NULL))
);

-- +goose Down
DROP TABLE integrations;
DROP TABLE sign_in_links;
DROP TABLE tokens;
DROP TABLE staff;
DROP TABLE properties;
