-- Tokens can expire and be revoked, and say when they were last used; a page session records
-- the token it was opened with, so that revoking (or removing) the token ends the session.

-- +goose Up
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

-- NULL: opened with a one-time sign-in link. No foreign key: a session whose token is gone
-- is refused by the lookup, and removed with the expired ones.
ALTER TABLE sessions ADD COLUMN token_id TEXT;
-- Sessions opened before this migration name their token in the actor.
UPDATE sessions SET token_id = substr(actor, 7) WHERE actor LIKE 'token:%';
CREATE INDEX sessions_by_token ON sessions (token_id) WHERE token_id IS NOT NULL;

-- +goose Down
DROP INDEX sessions_by_token;
ALTER TABLE sessions DROP COLUMN token_id;
ALTER TABLE tokens DROP COLUMN revoked_at;
ALTER TABLE tokens DROP COLUMN last_used_at;
ALTER TABLE tokens DROP COLUMN expires_at;
