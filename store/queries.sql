-- Named queries, one per "-- name:" line. Placeholders are "?" on both databases; Open rewrites
-- them to $1, $2, … for PostgreSQL, so a literal "?" must stay inside single quotes.
-- Times are unix microseconds (UTC); booleans are bound as Go bools.
-- Migrate prepares every query here, so a broken one fails at boot, not on first use.

-- name: create-property
INSERT INTO properties (id, name, time_zone, country, language, contact_center, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: get-property
SELECT id, name, time_zone, country, language, contact_center, created_at, updated_at
FROM properties
WHERE id = ?;

-- name: update-property
UPDATE properties
SET name = ?, time_zone = ?, country = ?, language = ?, contact_center = ?, updated_at = ?
WHERE id = ?;

-- name: list-properties
SELECT id, name, time_zone, country, language, contact_center, created_at, updated_at
FROM properties
ORDER BY id;

-- name: insert-staff
INSERT INTO staff (property_id, id, name, email, active, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (property_id, id) DO NOTHING;

-- name: revive-staff
-- A deleted member comes back as new: its creation time is the caller's.
UPDATE staff
SET name = ?, email = ?, active = ?, created_at = ?, updated_at = ?, deleted = FALSE
WHERE property_id = ? AND id = ? AND deleted;

-- name: update-staff
UPDATE staff
SET name = ?, email = ?, active = ?, updated_at = ?
WHERE property_id = ? AND id = ? AND NOT deleted
RETURNING created_at;

-- name: get-staff
SELECT property_id, id, name, email, active, created_at, updated_at
FROM staff
WHERE property_id = ? AND id = ? AND NOT deleted;

-- name: list-staff
-- The second parameter is true to include inactive members.
SELECT property_id, id, name, email, active, created_at, updated_at
FROM staff
WHERE property_id = ? AND NOT deleted AND (active OR ?)
ORDER BY name, id;

-- name: delete-staff
UPDATE staff
SET deleted = TRUE
WHERE property_id = ? AND id = ? AND NOT deleted;

-- name: create-token
INSERT INTO tokens (id, hash, property_id, role, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?);

-- name: token-by-hash
SELECT id, hash, property_id, role, created_at, expires_at, last_used_at, revoked_at
FROM tokens
WHERE hash = ?;

-- name: token-and-property
-- A request's token and the property its path names, in one round trip (the API's every
-- request): the property's columns are NULL when there is no such property.
SELECT t.id, t.hash, t.property_id, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at,
       p.id, p.name, p.time_zone, p.country, p.language, p.contact_center, p.created_at, p.updated_at
FROM tokens t LEFT JOIN properties p ON p.id = ?
WHERE t.hash = ?;

-- name: list-tokens
-- The property filter is '' for every token, '*' for the tokens that reach every property.
SELECT id, hash, property_id, role, created_at, expires_at, last_used_at, revoked_at
FROM tokens
WHERE ? = '' OR COALESCE(property_id, '*') = ?
ORDER BY created_at, id;

-- name: touch-token
-- At most one write a minute per token: a use within the minute changes nothing.
UPDATE tokens
SET last_used_at = ?
WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?);

-- name: revoke-token
-- Revoking twice keeps the first time.
UPDATE tokens
SET revoked_at = COALESCE(revoked_at, ?)
WHERE id = ?
RETURNING id, hash, property_id, role, created_at, expires_at, last_used_at, revoked_at;

-- name: delete-token-sessions
DELETE FROM sessions
WHERE token_id = ?;

-- name: create-sign-in-link
INSERT INTO sign_in_links (token_hash, property_id, role, expires_at)
VALUES (?, ?, ?, ?);

-- name: use-sign-in-link
-- One statement, so two browsers racing with the same link cannot both sign in.
UPDATE sign_in_links
SET used_at = ?
WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
RETURNING property_id, role;

-- name: get-integration
SELECT property_id, provider, sealed_key, key_hint, base_url, status, status_reason,
       organization_id, organization_name, sender_id, sender_type, sender_name, sender_phone,
       active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at,
       organization_zone, webhook_mode, sealed_previous_webhook, forward_failures, forward_last_error,
       forward_last_failed_at, unreadable_callback, unreadable_callback_at, pacer_group, sender_pool,
       settings, sealed_credentials
FROM integrations
WHERE property_id = ? AND provider = ?;

-- name: list-integrations
SELECT property_id, provider, sealed_key, key_hint, base_url, status, status_reason,
       organization_id, organization_name, sender_id, sender_type, sender_name, sender_phone,
       active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at,
       organization_zone, webhook_mode, sealed_previous_webhook, forward_failures, forward_last_error,
       forward_last_failed_at, unreadable_callback, unreadable_callback_at, pacer_group, sender_pool,
       settings, sealed_credentials
FROM integrations
WHERE property_id = ?
ORDER BY provider;

-- name: save-integration
-- The creation time stays the first save's. pacer_group is written on creation only: after
-- that its own update (set-pacer-group) owns it, so a save from an older read cannot undo it.
INSERT INTO integrations (property_id, provider, sealed_key, key_hint, base_url, status, status_reason,
                          organization_id, organization_name, sender_id, sender_type, sender_name, sender_phone,
                          active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at,
                          organization_zone, webhook_mode, sealed_previous_webhook, pacer_group, sender_pool,
                          settings, sealed_credentials)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (property_id, provider) DO UPDATE
SET sealed_key = excluded.sealed_key,
    key_hint = excluded.key_hint,
    base_url = excluded.base_url,
    status = excluded.status,
    status_reason = excluded.status_reason,
    organization_id = excluded.organization_id,
    organization_name = excluded.organization_name,
    sender_id = excluded.sender_id,
    sender_type = excluded.sender_type,
    sender_name = excluded.sender_name,
    sender_phone = excluded.sender_phone,
    active = excluded.active,
    sealed_webhook_secret = excluded.sealed_webhook_secret,
    checked_at = excluded.checked_at,
    activated_at = excluded.activated_at,
    updated_at = excluded.updated_at,
    organization_zone = excluded.organization_zone,
    webhook_mode = excluded.webhook_mode,
    sealed_previous_webhook = excluded.sealed_previous_webhook,
    sender_pool = excluded.sender_pool,
    settings = excluded.settings,
    sealed_credentials = excluded.sealed_credentials
RETURNING created_at;

-- name: note-forward-failure
-- A callback Bellhop could not relay to the webhook it replaced ('forward' mode); ok = 1 after
-- a relay that worked clears the last error but keeps the count.
UPDATE integrations
SET forward_failures = forward_failures + ?, forward_last_error = ?, forward_last_failed_at = COALESCE(?, forward_last_failed_at)
WHERE property_id = ? AND provider = ?;

-- name: note-unreadable-callback
UPDATE integrations
SET unreadable_callback = ?, unreadable_callback_at = ?
WHERE property_id = ? AND provider = ?;

-- name: lock-active-staff
-- Touching the staff row serialises concurrent changes to one member's link, so the audit
-- trail's "old" side is always what was really there.
UPDATE staff
SET updated_at = updated_at
WHERE property_id = ? AND id = ? AND NOT deleted AND active
RETURNING name;

-- name: get-mapping
SELECT property_id, staff_id, provider, operator_id, operator_name, updated_at, updated_by
FROM staff_operators
WHERE property_id = ? AND staff_id = ?;

-- name: upsert-mapping
INSERT INTO staff_operators (property_id, staff_id, provider, operator_id, operator_name, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (property_id, staff_id) DO UPDATE
SET provider = excluded.provider,
    operator_id = excluded.operator_id,
    operator_name = excluded.operator_name,
    updated_at = excluded.updated_at,
    updated_by = excluded.updated_by;

-- name: delete-mapping
DELETE FROM staff_operators
WHERE property_id = ? AND staff_id = ?;

-- name: list-mapping
-- Every active staff member, with their link or NULLs.
SELECT s.property_id, s.id, s.name, s.email, s.active, s.created_at, s.updated_at,
       m.provider, m.operator_id, m.operator_name, m.updated_at, m.updated_by
FROM staff s
LEFT JOIN staff_operators m ON m.property_id = s.property_id AND m.staff_id = s.id
WHERE s.property_id = ? AND s.active AND NOT s.deleted
ORDER BY s.name, s.id;

-- name: insert-mapping-change
INSERT INTO mapping_changes (property_id, staff_id, provider, old_operator_id, old_operator_name,
                             new_operator_id, new_operator_name, actor, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id;

-- name: list-mapping-changes
-- Newest first. An empty staff id (the second parameter, given twice) lists every member's.
SELECT id, property_id, staff_id, provider, old_operator_id, old_operator_name,
       new_operator_id, new_operator_name, actor, at
FROM mapping_changes
WHERE property_id = ? AND (staff_id = ? OR CAST(? AS TEXT) = '')
ORDER BY id DESC
LIMIT ?;

-- name: get-booking
SELECT property_id, id, status, guarantee, guarantee_deadline, arrival, departure, created_at, updated_at,
       seen_non_guaranteed_at, guest_name, guest_phone, guest_email, guest_language, revision
FROM bookings
WHERE property_id = ? AND id = ?;

-- name: upsert-booking
-- Only a newer push changes a stored booking; a stale one returns no row. The first moment
-- the booking was seen non-guaranteed is kept.
INSERT INTO bookings (property_id, id, status, guarantee, guarantee_deadline, arrival, departure, created_at,
                      updated_at, seen_non_guaranteed_at, guest_name, guest_phone, guest_email, guest_language,
                      revision, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
ON CONFLICT (property_id, id) DO UPDATE
SET status = excluded.status,
    guarantee = excluded.guarantee,
    guarantee_deadline = excluded.guarantee_deadline,
    arrival = excluded.arrival,
    departure = excluded.departure,
    created_at = excluded.created_at,
    updated_at = excluded.updated_at,
    seen_non_guaranteed_at = COALESCE(bookings.seen_non_guaranteed_at, excluded.seen_non_guaranteed_at),
    guest_name = excluded.guest_name,
    guest_phone = excluded.guest_phone,
    guest_email = excluded.guest_email,
    guest_language = excluded.guest_language,
    revision = bookings.revision + 1,
    received_at = excluded.received_at,
    erased_at = NULL
WHERE bookings.updated_at < excluded.updated_at
RETURNING revision, seen_non_guaranteed_at;

-- name: cancel-booking
UPDATE bookings
SET status = 'cancelled', revision = revision + 1, received_at = ?
WHERE property_id = ? AND id = ? AND status <> 'cancelled'
RETURNING revision;

-- name: list-bookings-departing
-- Bookings whose departure is on or after a day: the ones mailings may still concern.
SELECT property_id, id, status, guarantee, guarantee_deadline, arrival, departure, created_at, updated_at,
       seen_non_guaranteed_at, guest_name, guest_phone, guest_email, guest_language, revision
FROM bookings
WHERE property_id = ? AND departure >= ?
ORDER BY arrival, id;

-- name: insert-mailing
-- Creating the defaults never overwrites a mailing the property has.
INSERT INTO mailings (property_id, kind, enabled, sending_method, templates, schedule, created_at, updated_at,
                      sending_methods, wa_templates, subjects)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (property_id, kind) DO NOTHING;

-- name: update-mailing
UPDATE mailings
SET enabled = ?, sending_method = ?, templates = ?, schedule = ?, updated_at = ?,
    sending_methods = ?, wa_templates = ?, subjects = ?
WHERE property_id = ? AND kind = ?;

-- name: get-mailing
SELECT property_id, kind, enabled, sending_method, templates, schedule, created_at, updated_at,
       sending_methods, wa_templates, subjects
FROM mailings
WHERE property_id = ? AND kind = ?;

-- name: list-mailings
SELECT property_id, kind, enabled, sending_method, templates, schedule, created_at, updated_at,
       sending_methods, wa_templates, subjects
FROM mailings
WHERE property_id = ?
ORDER BY CASE kind WHEN 'welcome' THEN 1 WHEN 'feedback' THEN 2 ELSE 3 END;

-- name: save-delivery
-- queued_version is the version when the caller queues this version's send itself (it is due
-- within the planning horizon), else 0: a row whose send is not queued keeps the version it
-- had queued, behind its own, for the scheduler to find. A row written again holds personal
-- data again, so the retention job looks at it again.
INSERT INTO deliveries (id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status,
                        reason, provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
                        queued_version, channel, channels_done)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE
SET queued_version = CASE WHEN excluded.queued_version = 0 THEN deliveries.queued_version ELSE excluded.queued_version END,
    erased_at = NULL,
    stay_key = excluded.stay_key,
    phone = excluded.phone,
    language = excluded.language,
    planned_at = excluded.planned_at,
    due_at = excluded.due_at,
    status = excluded.status,
    reason = excluded.reason,
    provider = excluded.provider,
    provider_message_id = excluded.provider_message_id,
    sender_id = excluded.sender_id,
    attempts = excluded.attempts,
    version = excluded.version,
    sent_at = excluded.sent_at,
    updated_at = excluded.updated_at,
    channel = excluded.channel,
    channels_done = excluded.channels_done;

-- name: get-delivery
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
       provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
       claimed_at, checked_at, queued_version, erased_at, channel, channels_done
FROM deliveries
WHERE id = ?;

-- name: list-booking-deliveries
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
       provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
       claimed_at, checked_at, queued_version, erased_at, channel, channels_done
FROM deliveries
WHERE property_id = ? AND booking_id = ?
ORDER BY CASE kind WHEN 'welcome' THEN 1 WHEN 'feedback' THEN 2 ELSE 3 END;

-- name: list-deliveries
-- The ledger's list, newest planned first. The filters given go after "WHERE property_id = ?"
-- (listQuery: "AND status = ?", "AND kind = ?", "AND booking_id = ?", planned_at bounds), so
-- each shape of filter is a statement of its own whose one cached plan fits it, with no
-- "(status = ? OR ? = '')" that only a plan made for the values can fold away. listQuery
-- writes the limit in, too.
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
       provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
       claimed_at, checked_at, queued_version, erased_at, channel, channels_done
FROM deliveries
WHERE property_id = ?
ORDER BY planned_at DESC, id
LIMIT ?;

-- name: due-deliveries
-- Pending deliveries a worker should have looked at by now, of integrations that can send.
-- A sending one is due again when its claim is old: its worker may have died. The integration
-- is the delivery's channel's.
-- Before a channel is chosen any of the mailing's channels that can send will do: the worker
-- picks the first that reaches the guest (a lost task of a mailing whose first channel is off
-- is still found).
SELECT d.id, d.version, d.status, d.attempts, d.due_at
FROM deliveries d
JOIN mailings m ON m.property_id = d.property_id AND m.kind = d.kind
WHERE d.status IN ('scheduled', 'sending') AND d.due_at <= ?
  AND EXISTS (
    SELECT 1 FROM integrations i
    WHERE i.property_id = d.property_id AND i.active AND i.status = 'verified'
      AND (i.provider = d.channel
           OR (d.channel = '' AND m.sending_methods LIKE '%"' || i.provider || '"%')))
ORDER BY d.due_at
LIMIT ?;

-- name: deliveries-to-queue
-- The planning horizon's scheduler: scheduled rows whose send is not queued yet, due by the
-- horizon's edge, soonest first. The partial index deliveries_to_queue holds only these rows,
-- so the scan reads what it returns and nothing else.
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
       provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
       claimed_at, checked_at, queued_version, erased_at, channel, channels_done
FROM deliveries
WHERE status = 'scheduled' AND queued_version <> version AND due_at <= ?
ORDER BY due_at
LIMIT ?;

-- name: mark-queued
-- The parameter is a JSON object of delivery id → the version whose send was queued. A row
-- re-planned since (another version) is not marked: its new version is still to be queued.
UPDATE deliveries
SET queued_version = deliveries.version
FROM json_each(?) AS q
WHERE deliveries.id = q.key AND CAST(deliveries.version AS TEXT) = CAST(q.value AS TEXT);

-- name: erase-stay-claims
-- The stay claims of the deliveries erase-deliveries is about to erase (they hold the phone).
DELETE FROM stay_claims
WHERE (property_id, kind, stay_key) IN (
    SELECT property_id, kind, stay_key FROM deliveries
    WHERE erased_at IS NULL AND planned_at < ? AND status NOT IN ('scheduled', 'sending')
    ORDER BY planned_at
    LIMIT ?);

-- name: erase-deliveries
-- Retention: the oldest finished ledger rows planned before the cut-off lose the guest's
-- phone (and the stay key, which holds it); their status, kind, times and counts stay.
UPDATE deliveries
SET phone = '', stay_key = '', erased_at = ?
WHERE id IN (
    SELECT id FROM deliveries
    WHERE erased_at IS NULL AND planned_at < ? AND status NOT IN ('scheduled', 'sending')
    ORDER BY planned_at
    LIMIT ?);

-- name: erase-guest-senders
-- Retention: which number of a pool first wrote to a guest is kept by the guest's phone; a
-- record older than the cut-off goes (the guest may hear from another number of the pool).
DELETE FROM guest_senders
WHERE (property_id, provider, phone) IN (
    SELECT property_id, provider, phone FROM guest_senders
    WHERE first_at < ?
    ORDER BY first_at
    LIMIT ?);

-- name: erase-bookings
-- Retention: bookings whose stay ended before the cut-off day lose the guest's name, phone
-- and email; the booking, its dates and language stay.
UPDATE bookings
SET guest_name = '', guest_phone = '', guest_email = '', erased_at = ?
WHERE (property_id, id) IN (
    SELECT property_id, id FROM bookings
    WHERE erased_at IS NULL AND departure < ?
    ORDER BY departure
    LIMIT ?);

-- name: claim-delivery
-- scheduled → sending, or a retry of sending; only the version the caller planned with, and
-- only as many attempts as the caller read: of two runs of one task, one claims, the other
-- finds the row moved on (it must not send while the first may be inside its provider call).
UPDATE deliveries
-- claimed_at is the first claim of this send round: a retry of a sending row keeps it, so the
-- provider's listing is searched from the earliest attempt that may have reached it.
SET status = 'sending', attempts = attempts + 1, due_at = ?, provider = ?, channel = ?, sender_id = ?, updated_at = ?,
    claimed_at = CASE WHEN status = 'sending' AND claimed_at IS NOT NULL THEN claimed_at ELSE ? END,
    checked_at = CASE WHEN status = 'sending' THEN checked_at END
WHERE id = ? AND version = ? AND attempts = ? AND status IN ('scheduled', 'sending')
RETURNING attempts;

-- name: claim-stay
INSERT INTO stay_claims (property_id, kind, stay_key, delivery_id)
VALUES (?, ?, ?, ?)
ON CONFLICT (property_id, kind, stay_key) DO NOTHING;

-- name: stay-owner
SELECT delivery_id FROM stay_claims WHERE property_id = ? AND kind = ? AND stay_key = ?;

-- name: release-stay
DELETE FROM stay_claims WHERE property_id = ? AND kind = ? AND stay_key = ? AND delivery_id = ?;

-- name: defer-delivery
UPDATE deliveries
SET due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND status IN ('scheduled', 'sending');

-- name: finish-delivery
-- The outcome of a send attempt, for the version that was claimed.
-- A positive attempt also requires it to be the delivery's latest claim, still out: a callback
-- may have moved the delivery on to its next channel (scheduled, or claimed again) meanwhile.
UPDATE deliveries
SET status = ?, reason = ?, provider_message_id = ?, sent_at = ?, due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND status IN ('scheduled', 'sending')
  AND (? = 0 OR (attempts = ? AND status <> 'scheduled'));

-- name: record-sent
-- The provider took the message. Its status callbacks may have outrun this write and already
-- moved the row to delivered or read: then only the message id and time are added.
UPDATE deliveries
SET status = CASE WHEN status IN ('delivered', 'read') THEN status ELSE 'sent' END,
    reason = '', provider_message_id = ?, sent_at = ?, due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND status IN ('scheduled', 'sending', 'delivered', 'read')
  AND (? = 0 OR (attempts = ? AND status <> 'scheduled'));

-- name: delivery-by-message
-- A provider callback that names its message only by the provider's id.
SELECT id FROM deliveries WHERE property_id = ? AND provider_message_id = ? LIMIT 1;

-- name: hold-delivery
-- A sending row the provider could not be asked about: held, never sent blind. Only on the
-- claim the caller looked at: another run of the send may have claimed it again since.
UPDATE deliveries
SET status = 'unconfirmed', reason = ?, due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND attempts = ? AND status = 'sending';

-- name: skip-delivery
-- A pending row the send path will not send, as the caller read it (its version and its
-- number of claims): a run that read the row before another run claimed it leaves it be.
UPDATE deliveries
SET status = 'skipped', reason = ?, provider_message_id = '', sent_at = NULL, due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND attempts = ? AND status IN ('scheduled', 'sending');

-- name: check-delivery
-- Bellhop asked the provider about the row (a sending row's lookup, a sent row's status).
UPDATE deliveries SET checked_at = ? WHERE id = ?;

-- name: unreported-deliveries
-- Sent messages with no delivery news: their provider is asked, until read or a day has passed.
SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
       provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
       claimed_at, checked_at, queued_version, erased_at, channel, channels_done
FROM deliveries
WHERE status IN ('sent', 'delivered') AND provider_message_id <> ''
  AND sent_at >= ? AND sent_at <= ?
  AND (checked_at IS NULL OR checked_at <= ?)
ORDER BY sent_at
LIMIT ?;

-- name: report-delivery
-- A provider's status report; the caller checks the move is forward. A report that outran
-- the send's own write (its worker may have died) brings the message id and a sent time.
UPDATE deliveries
SET status = ?, reason = ?, updated_at = ?,
    provider_message_id = CASE WHEN provider_message_id = '' THEN ? ELSE provider_message_id END,
    sent_at = COALESCE(sent_at, ?)
WHERE id = ? AND status = ?;

-- name: create-session
INSERT INTO sessions (id_hash, property_id, role, actor, csrf, created_at, expires_at, token_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: session-by-hash
-- A session opened with a token lives only as long as the token works: revoked, expired or
-- removed, the session is over.
SELECT s.id_hash, s.property_id, s.role, s.actor, s.csrf, s.created_at, s.expires_at, s.token_id
FROM sessions s
LEFT JOIN tokens t ON t.id = s.token_id
WHERE s.id_hash = ? AND s.expires_at > ?
  AND (s.token_id IS NULL
       OR (t.id IS NOT NULL AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)));

-- name: delete-session
DELETE FROM sessions
WHERE id_hash = ?;

-- name: delete-expired-sessions
DELETE FROM sessions
WHERE expires_at <= ?;

-- The pacer's memory (issue 11): one row per pacer sender key; see migration 00006.

-- name: get-pacer-sender
SELECT sender, settings, paused, pause_reason, last_send_end, updated_at
FROM pacer_senders
WHERE sender = ?;

-- name: set-pacer-sender-settings
INSERT INTO pacer_senders (sender, settings, updated_at)
VALUES (?, ?, ?)
ON CONFLICT (sender) DO UPDATE
SET settings = excluded.settings, updated_at = excluded.updated_at;

-- name: set-pacer-sender-pause
INSERT INTO pacer_senders (sender, paused, pause_reason, updated_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (sender) DO UPDATE
SET paused = excluded.paused, pause_reason = excluded.pause_reason, updated_at = excluded.updated_at;

-- name: note-pacer-send-end
-- One per send: the last end only ever moves later, whatever order the writes arrive in.
INSERT INTO pacer_senders (sender, last_send_end, updated_at)
VALUES (?, ?, ?)
ON CONFLICT (sender) DO UPDATE
SET last_send_end = CASE
        WHEN pacer_senders.last_send_end IS NULL OR excluded.last_send_end > pacer_senders.last_send_end
        THEN excluded.last_send_end
        ELSE pacer_senders.last_send_end
    END,
    updated_at = excluded.updated_at;

-- name: set-pacer-group
UPDATE integrations
SET pacer_group = ?, updated_at = ?
WHERE property_id = ? AND provider = ?;

-- name: count-pending
-- A property's scheduled sends planned in [from, to), per kind: one aggregate over a range of
-- the deliveries_pending index, no row read, no sort.
SELECT COALESCE(SUM(CASE WHEN kind = 'welcome' THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN kind = 'feedback' THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN kind = 'non_guaranteed' THEN 1 ELSE 0 END), 0)
FROM deliveries
WHERE property_id = ? AND status = 'scheduled' AND planned_at >= ? AND planned_at < ?;

-- name: guest-sender
-- The number of a pool that first sent to a guest.
SELECT sender_id FROM guest_senders WHERE property_id = ? AND provider = ? AND phone = ?;

-- name: pin-guest-sender
-- The first number that sent to a guest keeps the guest; a later one changes nothing.
INSERT INTO guest_senders (property_id, provider, phone, sender_id, first_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (property_id, provider, phone) DO NOTHING;

-- name: add-stop
-- A contact already listed keeps its first source and time.
INSERT INTO stop_list (property_id, contact, source, created_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (property_id, contact) DO NOTHING;

-- name: get-stop
SELECT contact, source, created_at FROM stop_list WHERE property_id = ? AND contact = ?;

-- name: list-stops
-- One page of a property's stop list in contact order, after the given contact.
SELECT contact, source, created_at
FROM stop_list
WHERE property_id = ? AND contact > ?
ORDER BY contact
LIMIT ?;

-- name: delete-stop
DELETE FROM stop_list WHERE property_id = ? AND contact = ?;

-- name: move-channel
-- The send path leaves the delivery's channel behind (skipped, or failed for good) for the
-- next one, or ends the delivery when none is left; only from the state the caller read.
UPDATE deliveries
SET channel = ?, channels_done = ?, status = ?, reason = ?, due_at = ?, updated_at = ?
WHERE id = ? AND version = ? AND channel = ? AND channels_done = ? AND attempts = ?
  AND status IN ('scheduled', 'sending');

-- name: fall-through
-- A provider's later word that a sent message cannot reach the guest on its channel: the
-- delivery goes on to its next channel (or fails), once: only from the state the caller read.
UPDATE deliveries
SET channel = ?, channels_done = ?, status = ?, reason = ?, due_at = ?, updated_at = ?,
    provider_message_id = '', sent_at = NULL, claimed_at = NULL, checked_at = NULL
WHERE id = ? AND channel = ? AND channels_done = ? AND attempts = ?
  AND status IN ('sending', 'sent', 'unconfirmed');

-- name: add-attempt
INSERT INTO delivery_attempts (delivery_id, property_id, attempt, channel, sender_id, status, reason, message_id, at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: update-attempt
-- What became of one provider call (by the delivery's claim number).
UPDATE delivery_attempts
SET status = ?, reason = ?, message_id = CASE WHEN ? <> '' THEN ? ELSE message_id END, updated_at = ?
WHERE delivery_id = ? AND attempt = ?;

-- name: note-attempt-message
-- The provider's id of a call whose outcome came too late to count (the delivery moved on).
UPDATE delivery_attempts SET message_id = ? WHERE delivery_id = ? AND attempt = ? AND message_id = '';

-- name: list-attempts
SELECT delivery_id, attempt, channel, sender_id, status, reason, message_id, at, updated_at
FROM delivery_attempts
WHERE delivery_id = ?
ORDER BY id;

-- name: list-deliveries-with-attempts
-- list-deliveries (filtered the same way) with each row's attempts in one statement: a row per
-- attempt, oldest first, or one with NULL attempt columns for a row without any.
SELECT d.id, d.property_id, d.booking_id, d.kind, d.stay_key, d.phone, d.language, d.planned_at, d.due_at,
       d.status, d.reason, d.provider, d.provider_message_id, d.sender_id, d.attempts, d.version, d.sent_at,
       d.created_at, d.updated_at, d.claimed_at, d.checked_at, d.queued_version, d.erased_at, d.channel,
       d.channels_done,
       a.attempt, a.channel, a.sender_id, a.status, a.reason, a.message_id, a.at, a.updated_at
FROM (
    SELECT id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status, reason,
           provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at,
           claimed_at, checked_at, queued_version, erased_at, channel, channels_done
    FROM deliveries
    WHERE property_id = ?
    ORDER BY planned_at DESC, id
    LIMIT ?) d
LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
ORDER BY d.planned_at DESC, d.id, a.id;

-- name: note-inbound
-- A guest's message on a channel: the customer window runs from the latest one.
INSERT INTO contact_windows (property_id, channel, contact, last_inbound_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (property_id, channel, contact) DO UPDATE
SET last_inbound_at = CASE WHEN excluded.last_inbound_at > contact_windows.last_inbound_at
                           THEN excluded.last_inbound_at ELSE contact_windows.last_inbound_at END;

-- name: last-inbound
SELECT last_inbound_at FROM contact_windows WHERE property_id = ? AND channel = ? AND contact = ?;
