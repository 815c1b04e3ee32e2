-- Properties, staff, tokens, integrations and sign-in links.
-- Times are INTEGER unix microseconds in UTC; booleans are INTEGER 0/1. STRICT tables make
-- SQLite refuse a value of the wrong type instead of storing it anyway.

-- +goose Up
CREATE TABLE properties (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    time_zone      TEXT    NOT NULL,
    country        TEXT    NOT NULL DEFAULT '',
    language       TEXT    NOT NULL,
    contact_center INTEGER NOT NULL DEFAULT 0 CHECK (contact_center IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE staff (
    property_id TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    -- Soft delete: rows that refer to a deleted member keep something to point at, and a
    -- later upsert revives the member.
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (property_id, id)
) STRICT;

CREATE TABLE tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    hash        BLOB    NOT NULL UNIQUE,
    -- NULL: the token reaches every property ('*').
    property_id TEXT    REFERENCES properties (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'service')),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE sign_in_links (
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    -- NULL: the link signs in to every property ('*').
    property_id TEXT    REFERENCES properties (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'service')),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;

CREATE TABLE integrations (
    property_id           TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    provider              TEXT    NOT NULL,
    sealed_key            BLOB,
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
    active                INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    sealed_webhook_secret BLOB,
    checked_at            INTEGER,
    activated_at          INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (property_id, provider),
    CHECK (sender_id IS NOT NULL OR (sender_type IS NULL AND sender_name IS NULL AND sender_phone IS NULL))
) STRICT;

-- +goose Down
DROP TABLE integrations;
DROP TABLE sign_in_links;
DROP TABLE tokens;
DROP TABLE staff;
DROP TABLE properties;
