-- +goose Up
CREATE TABLE properties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    contact_center INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE staff (
    property_id TEXT NOT NULL REFERENCES properties(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (property_id, id)
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    property_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE integrations (
    property_id TEXT NOT NULL REFERENCES properties(id),
    provider TEXT NOT NULL,
    sealed_key BLOB,
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
    active INTEGER NOT NULL DEFAULT 0,
    sealed_webhook_secret BLOB,
    checked_at INTEGER,
    activated_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (property_id, provider)
);
-- +goose Down
DROP TABLE integrations;
DROP TABLE tokens;
DROP TABLE staff;
DROP TABLE properties;
