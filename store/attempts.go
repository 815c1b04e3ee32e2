package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// splitDone reads the channels_done column: kinds separated by commas.
func splitDone(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// AddAttempt adds a line to a delivery's ledger of attempts: a channel skipped unsent (Attempt
// 0) or a provider call (the claim's number; ClaimDelivery adds those).
func (a *access) AddAttempt(ctx context.Context, pid string, at bellhop.DeliveryAttempt) error {
	at.At, at.UpdatedAt = dbTime(at.At), dbTime(at.UpdatedAt)
	if at.UpdatedAt.IsZero() {
		at.UpdatedAt = at.At
	}
	if _, err := a.exec(ctx, "add-attempt", at.DeliveryID, pid, at.Attempt, at.Channel, at.SenderID, string(at.Status),
		at.Reason, at.MessageID, toMicros(at.At), toMicros(at.UpdatedAt)); err != nil {
		return fmt.Errorf("record an attempt of delivery %s: %w", at.DeliveryID, err)
	}
	return nil
}

// UpdateAttempt records what became of a delivery's provider call number attempt; an empty
// messageID keeps the one recorded.
func (a *access) UpdateAttempt(ctx context.Context, deliveryID string, attempt int, status bellhop.DeliveryStatus, reason, messageID string, now time.Time) error {
	if attempt <= 0 {
		return nil
	}
	if _, err := a.exec(ctx, "update-attempt", string(status), reason, messageID, messageID, toMicros(dbTime(now)), deliveryID, attempt); err != nil {
		return fmt.Errorf("record the outcome of attempt %d of delivery %s: %w", attempt, deliveryID, err)
	}
	return nil
}

// DeliveryAttempts lists a delivery's ledger of attempts, oldest first.
func (a *access) DeliveryAttempts(ctx context.Context, deliveryID string) ([]bellhop.DeliveryAttempt, error) {
	rows, err := a.queryRows(ctx, "list-attempts", deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	list, err := collect(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	out := make([]bellhop.DeliveryAttempt, 0, len(list))
	for _, at := range list {
		out = append(out, *at)
	}
	return out, nil
}

// ListDeliveriesWithAttempts is ListDeliveries with each row's ledger of attempts
// (AttemptLog), read in the same statement.
func (a *access) ListDeliveriesWithAttempts(ctx context.Context, pid string, f bellhop.DeliveryFilter) ([]*bellhop.Delivery, error) {
	const name = "list-deliveries-with-attempts"
	q, args, err := a.listQuery(name, pid, f)
	if err != nil {
		return nil, err
	}
	rows, err := a.queryRowsText(ctx, name, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of property %q: %w", pid, err)
	}
	list, err := scanWithAttempts(rows)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of property %q: %w", pid, err)
	}
	return list, nil
}

// scanWithAttempts reads list-deliveries-with-attempts' rows (a ledger row's columns, then one
// attempt's or NULLs; a ledger row's lines next to each other) and closes rows.
func scanWithAttempts(rows *sql.Rows) ([]*bellhop.Delivery, error) {
	defer rows.Close()
	var out []*bellhop.Delivery
	var r deliveryRow
	var attempt, at, updated sql.NullInt64
	var channel, sender, status, reason, message sql.NullString
	dest := append(r.dest(), &attempt, &channel, &sender, &status, &reason, &message, &at, &updated)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, transientAsUnavailable(err)
		}
		if len(out) == 0 || out[len(out)-1].ID != r.d.ID {
			d := r.delivery()
			d.AttemptLog = []bellhop.DeliveryAttempt{}
			out = append(out, d)
		}
		if !attempt.Valid {
			continue
		}
		d := out[len(out)-1]
		d.AttemptLog = append(d.AttemptLog, bellhop.DeliveryAttempt{
			DeliveryID: d.ID, Attempt: int(attempt.Int64), Channel: channel.String, SenderID: sender.String,
			Status: bellhop.DeliveryStatus(status.String), Reason: reason.String, MessageID: message.String,
			At: fromMicros(at.Int64), UpdatedAt: fromMicros(updated.Int64),
		})
	}
	return out, transientAsUnavailable(rows.Err())
}

func scanAttempt(row scanner) (*bellhop.DeliveryAttempt, error) {
	var at bellhop.DeliveryAttempt
	var status string
	var when, updated int64
	if err := row.Scan(&at.DeliveryID, &at.Attempt, &at.Channel, &at.SenderID, &status, &at.Reason, &at.MessageID, &when, &updated); err != nil {
		return nil, err
	}
	at.Status, at.At, at.UpdatedAt = bellhop.DeliveryStatus(status), fromMicros(when), fromMicros(updated)
	return &at, nil
}

// MoveChannel leaves the delivery's channel behind for the next: d is the row as the caller
// read it (its version, channel, channels done and attempts must still hold); skipped are the
// ledger lines of the channels left behind unsent. next is the channel the delivery goes on
// with (status scheduled, due at dueAt), or "" when none is left: the delivery then ends as
// status (skipped or failed) with reason. failed, when not empty, is why the provider call of
// the latest claim (d.Attempts) failed for good: its line says so. It reports whether the row
// was still as read. Run it inside WithTx.
func (a *access) MoveChannel(ctx context.Context, d *bellhop.Delivery, failed string, skipped []bellhop.DeliveryAttempt, next string, status bellhop.DeliveryStatus, reason string, dueAt, now time.Time) (bool, error) {
	done := doneAfter(d, skipped, next)
	res, err := a.exec(ctx, "move-channel", channelAfter(d, skipped, next), done, string(status), reason, toMicros(dbTime(dueAt)), toMicros(dbTime(now)),
		d.ID, d.Version, d.Channel, strings.Join(d.ChannelsDone, ","), d.Attempts)
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("move delivery %s to its next channel: %w", d.ID, err)
	}
	if n == 0 {
		return false, nil
	}
	if failed != "" {
		if err := a.UpdateAttempt(ctx, d.ID, d.Attempts, bellhop.DeliveryFailed, failed, "", now); err != nil {
			return false, err
		}
	}
	for _, at := range skipped {
		at.DeliveryID = d.ID
		if err := a.AddAttempt(ctx, d.PropertyID, at); err != nil {
			return false, err
		}
	}
	return true, nil
}

// FallThrough applies a provider's later word that the message of the delivery's latest
// attempt (d.Attempts, on d.Channel) cannot reach the guest: that attempt's line says failed
// with reason, and the delivery goes on to next (scheduled, due at dueAt) or, when next is
// "", ends failed. It reports whether the row was still as read (a repeated or late callback
// changes nothing). Run it inside WithTx.
func (a *access) FallThrough(ctx context.Context, d *bellhop.Delivery, next, reason string, dueAt, now time.Time) (bool, error) {
	done := doneAfter(d, nil, next)
	status, dreason := bellhop.DeliveryScheduled, ""
	if next == "" {
		status, dreason = bellhop.DeliveryFailed, reason
	}
	res, err := a.exec(ctx, "fall-through", channelAfter(d, nil, next), done, string(status), dreason, toMicros(dbTime(dueAt)), toMicros(dbTime(now)),
		d.ID, d.Channel, strings.Join(d.ChannelsDone, ","), d.Attempts)
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("move delivery %s to its next channel: %w", d.ID, err)
	}
	if n == 0 {
		return false, nil
	}
	if err := a.UpdateAttempt(ctx, d.ID, d.Attempts, bellhop.DeliveryFailed, reason, "", now); err != nil {
		return false, err
	}
	return true, nil
}

// channelAfter is the channel a delivery shows after a move: the next one, or when none is
// left the last one it was on.
func channelAfter(d *bellhop.Delivery, skipped []bellhop.DeliveryAttempt, next string) string {
	switch {
	case next != "":
		return next
	case len(skipped) > 0:
		return skipped[len(skipped)-1].Channel
	}
	return d.Channel
}

// doneAfter is the channels_done column once the delivery leaves its channel and the
// skipped ones.
func doneAfter(d *bellhop.Delivery, skipped []bellhop.DeliveryAttempt, next string) string {
	names := make([]string, 0, len(skipped))
	for _, at := range skipped {
		names = append(names, at.Channel)
	}
	return strings.Join(d.DoneAfter(names, next), ",")
}

// NoteInbound records a guest's message on a channel at at (contact: phone digits, e-mail
// address or chat id); the latest one is kept.
func (a *access) NoteInbound(ctx context.Context, pid, channel, contact string, at time.Time) error {
	if _, err := a.exec(ctx, "note-inbound", pid, channel, contact, toMicros(dbTime(at))); err != nil {
		if isForeignKeyViolation(err) {
			return propertyNotFound(pid)
		}
		return fmt.Errorf("note a guest's message on %s: %w", channel, err)
	}
	return nil
}

// LastInbound returns the guest's last message on a channel; zero when none is known.
func (a *access) LastInbound(ctx context.Context, pid, channel, contact string) (time.Time, error) {
	var at int64
	err := a.queryRow(ctx, "last-inbound", pid, channel, contact).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the guest's last message on %s: %w", channel, err)
	}
	return fromMicros(at), nil
}
