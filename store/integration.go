package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// GetIntegration reads property pid's integration with a provider kind.
func (a *access) GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error) {
	in, err := scanIntegration(a.queryRow(ctx, "get-integration", pid, provider))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "integration %q of property %q not found", provider, pid)
	}
	if err != nil {
		return nil, fmt.Errorf("read integration %q of property %q: %w", provider, pid, err)
	}
	return in, nil
}

// ListIntegrations lists property pid's integrations by provider kind.
func (a *access) ListIntegrations(ctx context.Context, pid string) ([]*bellhop.Integration, error) {
	rows, err := a.queryRows(ctx, "list-integrations", pid)
	if err != nil {
		return nil, fmt.Errorf("list integrations of property %q: %w", pid, err)
	}
	list, err := collect(rows, scanIntegration)
	if err != nil {
		return nil, fmt.Errorf("list integrations of property %q: %w", pid, err)
	}
	return list, nil
}

// SaveIntegration creates or replaces an integration. The first save's CreatedAt (UpdatedAt
// when zero) stays the creation time and is written back to in, as are the normalised times.
// A property that does not exist is not found.
func (a *access) SaveIntegration(ctx context.Context, in *bellhop.Integration) error {
	if in.CreatedAt.IsZero() {
		in.CreatedAt = in.UpdatedAt
	}
	in.CreatedAt, in.UpdatedAt = dbTime(in.CreatedAt), dbTime(in.UpdatedAt)
	in.CheckedAt, in.ActivatedAt = dbTimePtr(in.CheckedAt), dbTimePtr(in.ActivatedAt)
	var sender [4]sql.NullString // id, type, name, phone: all NULL when none is chosen
	if s := in.Sender; s != nil {
		for i, v := range []string{s.ID, s.Type, s.Name, s.Phone} {
			sender[i] = sql.NullString{String: v, Valid: true}
		}
	}
	pool := ""
	if len(in.Pool) > 0 {
		b, err := json.Marshal(in.Pool)
		if err != nil {
			return fmt.Errorf("save integration %q of property %q: its pool: %w", in.Provider, in.PropertyID, err)
		}
		pool = string(b)
	}
	settings, err := json.Marshal(in.Settings)
	if err != nil || in.Settings == nil {
		settings = []byte("{}")
	}
	var created int64
	err = a.queryRow(ctx, "save-integration",
		in.PropertyID, in.Provider, blob(in.SealedKey), in.KeyHint, in.BaseURL, string(in.Status), in.StatusReason,
		in.OrganizationID, in.OrganizationName, sender[0], sender[1], sender[2], sender[3],
		in.Active, blob(in.SealedWebhookSecret), nullMicros(in.CheckedAt), nullMicros(in.ActivatedAt),
		toMicros(in.CreatedAt), toMicros(in.UpdatedAt),
		in.OrganizationZone, string(in.WebhookMode), blob(in.SealedPreviousWebhook), in.PacerGroup, pool,
		string(settings), blob(in.SealedCredentials),
	).Scan(&created)
	if isForeignKeyViolation(err) {
		return propertyNotFound(in.PropertyID)
	}
	if err != nil {
		return fmt.Errorf("save integration %q of property %q: %w", in.Provider, in.PropertyID, err)
	}
	in.CreatedAt = fromMicros(created)
	return nil
}

func scanIntegration(row scanner) (*bellhop.Integration, error) {
	var in bellhop.Integration
	var status string
	var sid, stype, sname, sphone sql.NullString
	var checked, activated, forwardFailed, unreadableAt sql.NullInt64
	var created, updated int64
	var mode, pool, settings string
	err := row.Scan(&in.PropertyID, &in.Provider, &in.SealedKey, &in.KeyHint, &in.BaseURL, &status, &in.StatusReason,
		&in.OrganizationID, &in.OrganizationName, &sid, &stype, &sname, &sphone,
		&in.Active, &in.SealedWebhookSecret, &checked, &activated, &created, &updated,
		&in.OrganizationZone, &mode, &in.SealedPreviousWebhook, &in.ForwardFailures, &in.ForwardLastError,
		&forwardFailed, &in.UnreadableCallback, &unreadableAt, &in.PacerGroup, &pool, &settings, &in.SealedCredentials)
	if err != nil {
		return nil, err
	}
	if pool != "" {
		if err := json.Unmarshal([]byte(pool), &in.Pool); err != nil {
			return nil, fmt.Errorf("the sender pool of integration %q: %w", in.Provider, err)
		}
	}
	if settings != "" && settings != "{}" {
		if err := json.Unmarshal([]byte(settings), &in.Settings); err != nil {
			return nil, fmt.Errorf("read the settings of integration %q: %w", in.Provider, err)
		}
	}
	in.SealedCredentials = nonEmpty(in.SealedCredentials)
	in.WebhookMode = bellhop.WebhookMode(mode)
	in.SealedPreviousWebhook = nonEmpty(in.SealedPreviousWebhook)
	in.ForwardLastFailedAt, in.UnreadableCallbackAt = timePtr(forwardFailed), timePtr(unreadableAt)
	in.Status = bellhop.IntegrationStatus(status)
	in.SealedKey, in.SealedWebhookSecret = nonEmpty(in.SealedKey), nonEmpty(in.SealedWebhookSecret)
	if sid.Valid {
		in.Sender = &bellhop.Sender{ID: sid.String, Type: stype.String, Name: sname.String, Phone: sphone.String}
	}
	in.CheckedAt, in.ActivatedAt = timePtr(checked), timePtr(activated)
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &in, nil
}

// NoteForwardResult records one callback relayed (or not) to the webhook activation replaced:
// a failure counts and keeps its error; a success after failures clears the last error.
func (a *access) NoteForwardResult(ctx context.Context, pid, provider string, failed bool, errText string, at time.Time) error {
	n, when := 0, sql.NullInt64{}
	if failed {
		n, when = 1, sql.NullInt64{Int64: toMicros(dbTime(at)), Valid: true}
	}
	if _, err := a.exec(ctx, "note-forward-failure", n, errText, when, pid, provider); err != nil {
		return fmt.Errorf("note webhook relay of %q for property %q: %w", provider, pid, err)
	}
	return nil
}

// NoteUnreadableCallback keeps the last callback of an integration that Bellhop could not read.
func (a *access) NoteUnreadableCallback(ctx context.Context, pid, provider, body string, at time.Time) error {
	if _, err := a.exec(ctx, "note-unreadable-callback", body, toMicros(dbTime(at)), pid, provider); err != nil {
		return fmt.Errorf("keep an unreadable callback of %q for property %q: %w", provider, pid, err)
	}
	return nil
}

// SetPacerGroup sets the group with which property pid's integration shares its sender's
// pace ("" for none). It is the only write of the group after the integration's creation.
func (a *access) SetPacerGroup(ctx context.Context, pid, provider, group string, at time.Time) error {
	res, err := a.exec(ctx, "set-pacer-group", group, toMicros(dbTime(at)), pid, provider)
	if err != nil {
		return fmt.Errorf("set the pacer group of %q for property %q: %w", provider, pid, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return bellhop.Errorf(bellhop.ENotFound, "integration %q of property %q not found", provider, pid)
	}
	return nil
}
