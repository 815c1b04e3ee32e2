-- Bookings from the PMS, the property's mailings, and the delivery ledger.

-- +goose Up
CREATE TABLE bookings (
    property_id            TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    id                     TEXT    NOT NULL,
    status                 TEXT    NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    guarantee              TEXT    NOT NULL CHECK (guarantee IN ('guaranteed', 'non_guaranteed')),
    guarantee_deadline     INTEGER,
    -- Property-local days, 'YYYY-MM-DD', so they sort and compare as text.
    arrival                TEXT    NOT NULL,
    departure              TEXT    NOT NULL,
    -- The PMS's own times; the newest updated_at wins.
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    seen_non_guaranteed_at INTEGER,
    guest_name             TEXT    NOT NULL,
    guest_phone            TEXT    NOT NULL,
    guest_email            TEXT    NOT NULL DEFAULT '',
    guest_language         TEXT    NOT NULL DEFAULT '',
    -- 1 when first stored, one more for every accepted change.
    revision               INTEGER NOT NULL DEFAULT 1,
    received_at            INTEGER NOT NULL,
    PRIMARY KEY (property_id, id)
) STRICT;

CREATE INDEX bookings_by_departure ON bookings (property_id, departure);

CREATE TABLE mailings (
    property_id    TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('welcome', 'feedback', 'non_guaranteed')),
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    sending_method TEXT    NOT NULL,
    -- JSON objects: language → text, and the schedule's fields.
    templates      TEXT    NOT NULL,
    schedule       TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (property_id, kind)
) STRICT;

CREATE TABLE deliveries (
    -- Derived from (property, booking, kind); it is also the provider's idempotency mark.
    id                  TEXT    NOT NULL PRIMARY KEY,
    property_id         TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    booking_id          TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    stay_key            TEXT    NOT NULL,
    phone               TEXT    NOT NULL,
    language            TEXT    NOT NULL DEFAULT '',
    planned_at          INTEGER NOT NULL,
    -- When a worker should next look at it: planned_at, or the sender's slot it waits for.
    due_at              INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled')),
    reason              TEXT    NOT NULL DEFAULT '',
    provider            TEXT    NOT NULL DEFAULT '',
    provider_message_id TEXT    NOT NULL DEFAULT '',
    sender_id           TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    -- One more at every re-plan; a queued task for an older version does nothing.
    version             INTEGER NOT NULL DEFAULT 1,
    sent_at             INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (property_id, booking_id, kind)
) STRICT;

CREATE INDEX deliveries_due ON deliveries (status, due_at);
CREATE INDEX deliveries_by_property ON deliveries (property_id, planned_at);

-- One message per guest phone per stay per kind: the first delivery to claim a stay sends.
CREATE TABLE stay_claims (
    property_id TEXT NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    stay_key    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    PRIMARY KEY (property_id, kind, stay_key)
) STRICT;

-- +goose Down
DROP TABLE stay_claims;
DROP TABLE deliveries;
DROP TABLE mailings;
DROP TABLE bookings;
