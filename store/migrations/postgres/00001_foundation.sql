-- +goose Up
CREATE TABLE properties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    contact_center BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE staff (
    property_id TEXT NOT NULL REFERENCES properties(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (property_id, id)
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    property_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE integrations (
    property_id TEXT NOT NULL REFERENCES properties(id),
    provider TEXT NOT NULL,
    sealed_key BYTEA,
    key_hint TEXT NOT NULL DEFAULT '',
    base_url TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    organization_id TEXT NOT NULL DEFAULT '',
    organization_name TEXT NOT NULL DEFAULT '',
    sender_id TEXT,
    sender_type TEXT,
    sender_name TEXT,
    sender_phone TEXT,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    sealed_webhook_secret BYTEA,
    checked_at BIGINT,
    activated_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (property_id, provider)
);
-- +goose Down
DROP TABLE integrations;
DROP TABLE tokens;
DROP TABLE staff;
DROP TABLE properties;
