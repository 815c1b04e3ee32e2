package mailings

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bellhop/bellhop"
)

// DefaultRetention is how long the ledger keeps a guest's personal data: 400 days, a year of
// stays and the season after it to compare with.
const DefaultRetention = 400 * 24 * time.Hour

// Eraser erases guest personal data from the ledger (the store's EraseGuestData).
type Eraser interface {
	// EraseGuestData erases up to limit finished deliveries planned before cutoff and up to
	// limit bookings whose stay ended before it, oldest first, and says how many of each.
	EraseGuestData(ctx context.Context, cutoff, now time.Time, limit int) (deliveries, bookings int, err error)
}

// Lease lets one process at a time run the job (queue.Lease).
type Lease interface {
	Hold(ctx context.Context) (bool, error)
	Release(ctx context.Context) error
}

// RetentionConfig wires a Retention. Zero values mean defaults where one is given.
type RetentionConfig struct {
	Store Eraser
	Lease Lease
	Clock bellhop.Clock // default: system clock
	// Logger reports what was erased; default slog.Default().
	Logger *slog.Logger
	// Keep is how long guest data stays; default DefaultRetention.
	Keep time.Duration
	// Every is how often the job runs; default an hour.
	Every time.Duration
	// Batch is how many rows of each table one transaction erases; default 1000.
	Batch int
}

// Retention is the ledger's data lifecycle: a periodic job that erases the guest's name, phone
// and email from bookings and ledger rows older than the retention period, in batches, one
// process at a time. The rows themselves stay, so the ledger's counts by status, kind and day
// are what they were.
type Retention struct {
	cfg RetentionConfig
}

// NewRetention validates cfg and returns a Retention.
func NewRetention(cfg RetentionConfig) (*Retention, error) {
	if cfg.Store == nil || cfg.Lease == nil {
		return nil, errors.New("mailings: retention needs a Store and a Lease")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultRetention
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	return &Retention{cfg: cfg}, nil
}

// Step erases what has outlived the retention period, batch after batch while this process
// holds the lease, and returns how many deliveries and bookings it erased.
func (r *Retention) Step(ctx context.Context) (deliveries, bookings int, err error) {
	for {
		held, err := r.cfg.Lease.Hold(ctx)
		if err != nil || !held {
			return deliveries, bookings, err
		}
		now := r.cfg.Clock.Now().UTC()
		d, b, err := r.cfg.Store.EraseGuestData(ctx, now.Add(-r.cfg.Keep), now, r.cfg.Batch)
		deliveries, bookings = deliveries+d, bookings+b
		if err != nil || (d < r.cfg.Batch && b < r.cfg.Batch) {
			return deliveries, bookings, err
		}
	}
}

// Run steps every Every until ctx ends, then gives the lease up.
func (r *Retention) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	defer func() { _ = r.cfg.Lease.Release(context.WithoutCancel(ctx)) }()
	for {
		if d, b, err := r.Step(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "erasing guest data past the retention period failed; the next round goes on", "error", err)
		} else if d+b > 0 {
			r.cfg.Logger.InfoContext(ctx, "guest data past the retention period erased", "deliveries", d, "bookings", b, "retention", r.cfg.Keep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
