-- Capacity ahead of time, and pools of senders.
-- deliveries_pending counts a property's pending sends per time slot from the index alone
-- (property, status, planned time, kind): the capacity view never reads the rows.
-- integrations.sender_pool: the senders of a pool (JSON array of {id, type, name, phone}), in
-- the order chosen; '' when the integration sends from its one sender (sender_id).
-- guest_senders: the number of a pool that first sent to a guest (by the phone's digits);
-- the guest hears from that number ever after, while it is in the pool.

-- +goose Up
CREATE INDEX deliveries_pending ON deliveries (property_id, status, planned_at, kind);

ALTER TABLE integrations ADD COLUMN sender_pool TEXT NOT NULL DEFAULT '';

CREATE TABLE guest_senders (
    property_id TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    provider    TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    sender_id   TEXT    NOT NULL,
    first_at    INTEGER NOT NULL,
    PRIMARY KEY (property_id, provider, phone)
) STRICT;

-- +goose Down
DROP TABLE guest_senders;
ALTER TABLE integrations DROP COLUMN sender_pool;
DROP INDEX deliveries_pending;
