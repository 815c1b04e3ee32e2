-- The planning horizon and the ledger's retention (issue 13).
-- queued_version is the version whose send was handed to the queue (Redis). A delivery due
-- beyond the horizon stays only here, with queued_version behind version, until the scheduler
-- queues it as it enters the horizon; a re-plan (a new version) is unqueued again by itself.
-- Every pending row written before this migration was queued when it was planned.
-- erased_at is when the guest's personal data (name, phone, email) was erased after the
-- retention period; the rows stay, so counts by status, kind and day stay too.

-- +goose Up
ALTER TABLE deliveries ADD COLUMN queued_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN erased_at INTEGER;
UPDATE deliveries SET queued_version = version;
ALTER TABLE bookings ADD COLUMN erased_at INTEGER;

-- The scheduler's range scan: only the rows not queued yet, by due time.
CREATE INDEX deliveries_to_queue ON deliveries (due_at) WHERE status = 'scheduled' AND queued_version <> version;
-- The retention job's range scans: only the rows not erased yet, oldest first.
CREATE INDEX deliveries_to_erase ON deliveries (planned_at) WHERE erased_at IS NULL;
CREATE INDEX bookings_to_erase ON bookings (departure) WHERE erased_at IS NULL;
CREATE INDEX guest_senders_by_first ON guest_senders (first_at);

-- +goose Down
DROP INDEX guest_senders_by_first;
DROP INDEX bookings_to_erase;
DROP INDEX deliveries_to_erase;
DROP INDEX deliveries_to_queue;
ALTER TABLE bookings DROP COLUMN erased_at;
ALTER TABLE deliveries DROP COLUMN erased_at;
ALTER TABLE deliveries DROP COLUMN queued_version;
