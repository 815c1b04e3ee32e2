-- Exactly once without the provider's help, and the account's one webhook.
-- Deliveries: a send the provider could not be asked about is held 'unconfirmed'; claimed_at is
-- the first claim of the current send round (where a listing of the provider's messages starts);
-- checked_at is when Bellhop last asked the provider about the row.
-- Integrations: the company's time zone, what activation did to the webhook that was installed
-- before (sealed, to put it back), the relay's failures and the last callback nobody could read.

-- +goose Up
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled', 'unconfirmed'));
ALTER TABLE deliveries ADD COLUMN claimed_at BIGINT;
ALTER TABLE deliveries ADD COLUMN checked_at BIGINT;
UPDATE deliveries SET claimed_at = updated_at WHERE status = 'sending';
CREATE INDEX deliveries_unreported ON deliveries (status, sent_at);
CREATE INDEX deliveries_by_message ON deliveries (property_id, provider_message_id);

ALTER TABLE integrations ADD COLUMN organization_zone TEXT NOT NULL DEFAULT '';
-- '' (Bellhop's own webhook, or none was there), 'replaced' or 'forward'.
ALTER TABLE integrations ADD COLUMN webhook_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN sealed_previous_webhook BYTEA;
ALTER TABLE integrations ADD COLUMN forward_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN forward_last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN forward_last_failed_at BIGINT;
ALTER TABLE integrations ADD COLUMN unreadable_callback TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN unreadable_callback_at BIGINT;

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
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled'));
