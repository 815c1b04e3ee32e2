-- Exactly once without the provider's help, and the account's one webhook.
-- Deliveries: a send the provider could not be asked about is held 'unconfirmed'; claimed_at is
-- the first claim of the current send round (where a listing of the provider's messages starts);
-- checked_at is when Bellhop last asked the provider about the row.
-- Integrations: the company's time zone, what activation did to the webhook that was installed
-- before (sealed, to put it back), the relay's failures and the last callback nobody could read.

-- +goose Up
CREATE TABLE deliveries_new (
    id                  TEXT    NOT NULL PRIMARY KEY,
    property_id         TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    booking_id          TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    stay_key            TEXT    NOT NULL,
    phone               TEXT    NOT NULL,
    language            TEXT    NOT NULL DEFAULT '',
    planned_at          INTEGER NOT NULL,
    due_at              INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled', 'unconfirmed')),
    reason              TEXT    NOT NULL DEFAULT '',
    provider            TEXT    NOT NULL DEFAULT '',
    provider_message_id TEXT    NOT NULL DEFAULT '',
    sender_id           TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL DEFAULT 1,
    sent_at             INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    claimed_at          INTEGER,
    checked_at          INTEGER,
    UNIQUE (property_id, booking_id, kind)
) STRICT;

INSERT INTO deliveries_new (id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status,
                            reason, provider, provider_message_id, sender_id, attempts, version, sent_at, created_at,
                            updated_at, claimed_at)
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status,
       reason, provider, provider_message_id, sender_id, attempts, version, sent_at, created_at,
       updated_at, CASE WHEN status = 'sending' THEN updated_at END
FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, due_at);
CREATE INDEX deliveries_by_property ON deliveries (property_id, planned_at);
CREATE INDEX deliveries_unreported ON deliveries (status, sent_at);
CREATE INDEX deliveries_by_message ON deliveries (property_id, provider_message_id);

ALTER TABLE integrations ADD COLUMN organization_zone TEXT NOT NULL DEFAULT '';
-- '' (Bellhop's own webhook, or none was there), 'replaced' or 'forward'.
ALTER TABLE integrations ADD COLUMN webhook_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN sealed_previous_webhook BLOB;
ALTER TABLE integrations ADD COLUMN forward_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN forward_last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN forward_last_failed_at INTEGER;
ALTER TABLE integrations ADD COLUMN unreadable_callback TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN unreadable_callback_at INTEGER;

-- +goose Down
ALTER TABLE integrations DROP COLUMN unreadable_callback_at;
ALTER TABLE integrations DROP COLUMN unreadable_callback;
ALTER TABLE integrations DROP COLUMN forward_last_failed_at;
ALTER TABLE integrations DROP COLUMN forward_last_error;
ALTER TABLE integrations DROP COLUMN forward_failures;
ALTER TABLE integrations DROP COLUMN sealed_previous_webhook;
ALTER TABLE integrations DROP COLUMN webhook_mode;
ALTER TABLE integrations DROP COLUMN organization_zone;
DROP INDEX deliveries_by_message;
DROP INDEX deliveries_unreported;
ALTER TABLE deliveries DROP COLUMN checked_at;
ALTER TABLE deliveries DROP COLUMN claimed_at;
