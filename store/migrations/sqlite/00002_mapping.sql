-- Staff ↔ operator links and their audit trail.

-- +goose Up
CREATE TABLE staff_operators (
    property_id   TEXT    NOT NULL,
    staff_id      TEXT    NOT NULL,
    -- The integration kind whose operator this is, e.g. 'intellectdialog'.
    provider      TEXT    NOT NULL,
    operator_id   TEXT    NOT NULL,
    -- The operator's name when linked, so a link to an operator the provider no longer has
    -- can still say whom it meant.
    operator_name TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (property_id, staff_id),
    FOREIGN KEY (property_id, staff_id) REFERENCES staff (property_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX staff_operators_by_operator ON staff_operators (property_id, provider, operator_id);

CREATE TABLE mapping_changes (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    property_id       TEXT    NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    staff_id          TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    -- NULL on the old side: a new link; NULL on the new side: an unlink.
    old_operator_id   TEXT,
    old_operator_name TEXT,
    new_operator_id   TEXT,
    new_operator_name TEXT,
    actor             TEXT    NOT NULL,
    at                INTEGER NOT NULL
) STRICT;

CREATE INDEX mapping_changes_by_property ON mapping_changes (property_id, id);

-- +goose Down
DROP TABLE mapping_changes;
DROP TABLE staff_operators;
