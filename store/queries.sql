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
INSERT INTO tokens (id, hash, property_id, role, created_at)
VALUES (?, ?, ?, ?, ?);

-- name: token-by-hash
SELECT id, hash, property_id, role, created_at
FROM tokens
WHERE hash = ?;

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
       active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at
FROM integrations
WHERE property_id = ? AND provider = ?;

-- name: list-integrations
SELECT property_id, provider, sealed_key, key_hint, base_url, status, status_reason,
       organization_id, organization_name, sender_id, sender_type, sender_name, sender_phone,
       active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at
FROM integrations
WHERE property_id = ?
ORDER BY provider;

-- name: save-integration
-- The creation time stays the first save's.
INSERT INTO integrations (property_id, provider, sealed_key, key_hint, base_url, status, status_reason,
                          organization_id, organization_name, sender_id, sender_type, sender_name, sender_phone,
                          active, sealed_webhook_secret, checked_at, activated_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
    updated_at = excluded.updated_at
RETURNING created_at;

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
