-- Channel kinds beyond IntellectDialog have credentials of their own (issue 12): a kind's
-- non-secret settings (host, port, waba_id, from_address …) as a JSON object, and its secret
-- fields other than api_key (access_token, app_secret, password) as one sealed JSON object.
-- api_key stays in sealed_key, so existing IntellectDialog rows read as before.

-- +goose Up
ALTER TABLE integrations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE integrations ADD COLUMN sealed_credentials BYTEA;

-- +goose Down
ALTER TABLE integrations DROP COLUMN sealed_credentials;
ALTER TABLE integrations DROP COLUMN settings;
