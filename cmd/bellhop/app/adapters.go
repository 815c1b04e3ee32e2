package app

import (
	"context"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/store"
)

// mailingsStore gives the mailings service its transactions.
type mailingsStore struct{ *store.DB }

func (s mailingsStore) InTx(ctx context.Context, fn func(tx mailings.Tx) error) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (s mailingsStore) FallThrough(ctx context.Context, d *bellhop.Delivery, next, reason string, dueAt, now time.Time) (ok bool, err error) {
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		ok, err = tx.FallThrough(ctx, d, next, reason, dueAt, now)
		return err
	})
	return ok, err
}

// queueStore gives the send handler its claim transaction and due list.
type queueStore struct{ *store.DB }

func (s queueStore) ClaimDelivery(ctx context.Context, d *bellhop.Delivery, provider, senderID string, leaseUntil, now time.Time) (attempt int, owner string, err error) {
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		attempt, owner, err = tx.ClaimDelivery(ctx, d, provider, senderID, leaseUntil, now)
		return err
	})
	return attempt, owner, err
}

func (s queueStore) FinishAttempt(ctx context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time, attemptStatus bellhop.DeliveryStatus, attemptReason string) (ok bool, err error) {
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		ok, err = tx.FinishAttempt(ctx, id, version, attempt, status, reason, messageID, sentAt, dueAt, now, attemptStatus, attemptReason)
		return err
	})
	return ok, err
}

func (s queueStore) MoveChannel(ctx context.Context, d *bellhop.Delivery, failed string, skipped []bellhop.DeliveryAttempt, next string, status bellhop.DeliveryStatus, reason string, dueAt, now time.Time) (ok bool, err error) {
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		ok, err = tx.MoveChannel(ctx, d, failed, skipped, next, status, reason, dueAt, now)
		return err
	})
	return ok, err
}

func (s queueStore) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*bellhop.Delivery, error) {
	due, err := s.DB.DueDeliveries(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*bellhop.Delivery, 0, len(due))
	for _, d := range due {
		out = append(out, &bellhop.Delivery{ID: d.ID, Version: d.Version, Status: d.Status, Attempts: d.Attempts, DueAt: d.DueAt})
	}
	return out, nil
}
