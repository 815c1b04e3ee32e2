-- The pacer's memory, and who shares a sender's pace.
-- pacer_senders keeps, per pacer sender key, what Redis must not be the only keeper of: the
-- sender's settings (the pacer's JSON; '' = the defaults), its pause and why, and when its last
-- send ended (µs; it only ever moves later). A pacer that finds its Redis keys gone rebuilds
-- them from here before it grants a slot.
-- integrations.pacer_group: '' paces the integration's sender on its own (the key holds the
-- property); a name shares the pace with the other properties that set the same name for the
-- same provider host, account and sender.

-- +goose Up
CREATE TABLE pacer_senders (
    sender        TEXT    NOT NULL PRIMARY KEY,
    settings      TEXT    NOT NULL DEFAULT '',
    paused        BOOLEAN NOT NULL DEFAULT FALSE,
    pause_reason  TEXT    NOT NULL DEFAULT '',
    last_send_end BIGINT,
    updated_at    BIGINT  NOT NULL
);

ALTER TABLE integrations ADD COLUMN pacer_group TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE integrations DROP COLUMN pacer_group;
DROP TABLE pacer_senders;
