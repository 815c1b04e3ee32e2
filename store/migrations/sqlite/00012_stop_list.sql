-- The property's own stop list: contacts that asked the hotel to send them nothing more (an
-- e-mail's unsubscribe link, the manager through the API, later a STOP reply). A contact is
-- normalised before it is stored: a phone's E.164 digits, an e-mail address in lower case.

-- +goose Up
CREATE TABLE stop_list (
    property_id TEXT NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    contact     TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (property_id, contact)
);

-- +goose Down
DROP TABLE stop_list;
