-- The ledger's list filtered by kind reads that kind's rows newest first from an index, as the
-- unfiltered list (deliveries_by_property), the status filter (deliveries_pending) and the
-- booking filter (the unique key) already do: a rare kind (the non-guaranteed reminder) no
-- longer means reading the property's whole ledger, so the list stays as fast as it grows.

-- +goose Up
CREATE INDEX deliveries_by_kind ON deliveries (property_id, kind, planned_at);

-- +goose Down
DROP INDEX deliveries_by_kind;
