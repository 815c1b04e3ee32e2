-- Signed-in browsers of the property manager's pages. Only a SHA-256 of the session id (the
-- cookie's value) is kept.

-- +goose Up
CREATE TABLE sessions (
    id_hash     BLOB    NOT NULL PRIMARY KEY,
    -- NULL: the session reaches every property ('*').
    property_id TEXT    REFERENCES properties (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'service')),
    actor       TEXT    NOT NULL DEFAULT '',
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
