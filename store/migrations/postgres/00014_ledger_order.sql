-- The ledger's list (newest planned first, ties by id) reads its page in that very order from
-- an index, unfiltered and by kind: the planner then never sorts a property's whole ledger to
-- find its first page, whatever its statistics say. A table whose statistics are stale (just
-- created, not analyzed yet) got a plan that read and sorted every row of the property on each
-- call (9 ms at 4,000 rows under the API bench), and the list's statement is now prepared, its
-- plan kept. planned_at's own range scans (from, to) use these indexes in either direction.

-- +goose Up
DROP INDEX deliveries_by_property;
CREATE INDEX deliveries_by_property ON deliveries (property_id, planned_at DESC, id);
DROP INDEX deliveries_by_kind;
CREATE INDEX deliveries_by_kind ON deliveries (property_id, kind, planned_at DESC, id);

-- +goose Down
DROP INDEX deliveries_by_kind;
CREATE INDEX deliveries_by_kind ON deliveries (property_id, kind, planned_at);
DROP INDEX deliveries_by_property;
CREATE INDEX deliveries_by_property ON deliveries (property_id, planned_at);
