-- Fallback across channels (issue 12): a mailing names its channels in order, maps its texts to
-- approved WhatsApp templates and has email subjects; a delivery is on one channel at a time
-- and leaves the ones it is done with behind; every attempt, channel by channel, is kept; and
-- the guest's last message per channel tells whether WhatsApp's 24-hour window is open.

-- +goose Up
-- JSON: ["whatsapp_cloud","email"]; sending_method stays the first of them.
ALTER TABLE mailings ADD COLUMN sending_methods TEXT NOT NULL DEFAULT '[]';
UPDATE mailings SET sending_methods = '["' || sending_method || '"]';
-- JSON objects: language → {name, language, params}, and language → subject.
ALTER TABLE mailings ADD COLUMN wa_templates TEXT NOT NULL DEFAULT '{}';
ALTER TABLE mailings ADD COLUMN subjects TEXT NOT NULL DEFAULT '{}';

-- The channel the delivery is on, and the channels it left behind (comma-separated kinds).
ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN channels_done TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET channel = provider;

CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    property_id TEXT    NOT NULL,
    -- The delivery's claim number of a provider call; 0 for a channel skipped unsent.
    attempt     INTEGER NOT NULL DEFAULT 0,
    channel     TEXT    NOT NULL,
    sender_id   TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    message_id  TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);
CREATE UNIQUE INDEX delivery_attempts_claims ON delivery_attempts (delivery_id, attempt) WHERE attempt > 0;
CREATE INDEX delivery_attempts_by_message ON delivery_attempts (property_id, message_id) WHERE message_id <> '';

-- The guest's last message per channel (phone digits, e-mail address or chat id).
CREATE TABLE contact_windows (
    property_id     TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    contact         TEXT    NOT NULL,
    last_inbound_at INTEGER NOT NULL,
    PRIMARY KEY (property_id, channel, contact)
) STRICT;

-- +goose Down
DROP TABLE contact_windows;
DROP TABLE delivery_attempts;
ALTER TABLE deliveries DROP COLUMN channels_done;
ALTER TABLE deliveries DROP COLUMN channel;
ALTER TABLE mailings DROP COLUMN subjects;
ALTER TABLE mailings DROP COLUMN wa_templates;
ALTER TABLE mailings DROP COLUMN sending_methods;
