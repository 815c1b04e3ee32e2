package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// The pacer's memory: what Redis, the pacer's cache, must not be the only keeper of. Rows are
// keyed by the pacer's sender key and written through by the pacer (queue/pacer.Memory).

// GetSenderPace reads what is kept of a pacer sender; not found when nothing is.
func (a *access) GetSenderPace(ctx context.Context, sender string) (*bellhop.SenderPace, error) {
	var sp bellhop.SenderPace
	var end sql.NullInt64
	var updated int64
	err := a.queryRow(ctx, "get-pacer-sender", sender).Scan(&sp.Sender, &sp.Settings, &sp.Paused, &sp.PauseReason, &end, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "nothing is kept of pacer sender %q", sender)
	}
	if err != nil {
		return nil, fmt.Errorf("read pacer sender %q: %w", sender, err)
	}
	if end.Valid {
		sp.LastSendEnd = fromMicros(end.Int64)
	}
	sp.UpdatedAt = fromMicros(updated)
	return &sp, nil
}

// SetSenderSettings keeps a pacer sender's settings (the pacer's JSON; "" for the defaults).
func (a *access) SetSenderSettings(ctx context.Context, sender, settings string, at time.Time) error {
	if _, err := a.exec(ctx, "set-pacer-sender-settings", sender, settings, toMicros(dbTime(at))); err != nil {
		return fmt.Errorf("keep the settings of pacer sender %q: %w", sender, err)
	}
	return nil
}

// SetSenderPause keeps whether a pacer sender is paused, and why.
func (a *access) SetSenderPause(ctx context.Context, sender string, paused bool, reason string, at time.Time) error {
	if !paused {
		reason = ""
	}
	if _, err := a.exec(ctx, "set-pacer-sender-pause", sender, paused, reason, toMicros(dbTime(at))); err != nil {
		return fmt.Errorf("keep the pause of pacer sender %q: %w", sender, err)
	}
	return nil
}

// NoteSendEnd records that a pacer sender's send ended at end. The kept end only moves later:
// an earlier end (a late or repeated write) leaves it as it is.
func (a *access) NoteSendEnd(ctx context.Context, sender string, end, at time.Time) error {
	if _, err := a.exec(ctx, "note-pacer-send-end", sender, toMicros(dbTime(end)), toMicros(dbTime(at))); err != nil {
		return fmt.Errorf("note the send end of pacer sender %q: %w", sender, err)
	}
	return nil
}
