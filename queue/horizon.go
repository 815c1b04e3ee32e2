package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
)

// HorizonStore is the storage the horizon scheduler reads and marks.
type HorizonStore interface {
	// DeliveriesToQueue lists scheduled deliveries whose send is not queued yet, due by
	// until, soonest first.
	DeliveriesToQueue(ctx context.Context, until time.Time, limit int) ([]*bellhop.Delivery, error)
	// MarkQueued records that the sends of ds, at their versions, are queued.
	MarkQueued(ctx context.Context, ds []*bellhop.Delivery) (int, error)
}

// HorizonConfig wires a Horizon. Zero values mean defaults where one is given.
type HorizonConfig struct {
	Store  HorizonStore
	Client *Client
	Redis  redis.UniversalClient
	Clock  bellhop.Clock // default: system clock
	Logger *slog.Logger  // default: slog.Default()
	// Horizon is how far ahead of its time a send is queued; default bellhop.DefaultPlanHorizon. It must
	// be the planner's (mailings.Config.Horizon) and the worker's (Config.Horizon).
	Horizon time.Duration
	// Every is how often the scheduler looks; default 5 s. A send enters Redis when it comes
	// within Horizon of its time, so this only needs to be small beside the horizon.
	Every time.Duration
	// Batch is how many sends one database read and one Redis round trip take; default 500.
	Batch int
	// LeaseTTL is how long the scheduler's lease lasts unrenewed: after a scheduler dies,
	// another takes over within it; default 30 s.
	LeaseTTL time.Duration
}

// Horizon is the planning horizon's scheduler: deliveries due later than the horizon are kept
// only in the database (a million future stays would otherwise hold half a gigabyte of Redis),
// and the scheduler queues each as it comes within the horizon — an indexed range scan of the
// rows not queued yet, a pipelined batch of Asynq tasks with deterministic ids, then a mark on
// the rows. One process at a time runs it, through a lease in Redis.
//
// Nothing is lost on the way: a crash between queueing and marking queues the same tasks
// again next time (their ids refuse the second copy), and a Redis that restarts empty has its
// sends within the horizon queued again from the database by the workers (Worker.Run).
type Horizon struct {
	cfg   HorizonConfig
	lease *Lease
}

// NewHorizon validates cfg and returns a Horizon.
func NewHorizon(cfg HorizonConfig) (*Horizon, error) {
	if cfg.Store == nil || cfg.Client == nil || cfg.Redis == nil {
		return nil, errors.New("queue: the horizon needs a Store, a Client and Redis")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = bellhop.DefaultPlanHorizon
	}
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = batchSize
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	return &Horizon{cfg: cfg, lease: NewLease(cfg.Redis, "bellhop:lease:{"+cfg.Client.queue+"}:horizon", cfg.LeaseTTL)}, nil
}

// maxBatchesPerStep bounds one Step (a backlog after an outage, a bulk import of bookings due
// soon), so that the lease is renewed and the loop stays responsive; the next Step goes on.
const maxBatchesPerStep = 100

// Step queues the sends that came within the horizon, if this process holds the scheduler's
// lease (taking it when nobody does), and returns how many it queued.
func (h *Horizon) Step(ctx context.Context) (int, error) {
	queued := 0
	for range maxBatchesPerStep {
		held, err := h.lease.Hold(ctx)
		if err != nil || !held {
			return queued, err
		}
		now := h.cfg.Clock.Now()
		ds, err := h.cfg.Store.DeliveriesToQueue(ctx, now.Add(h.cfg.Horizon), h.cfg.Batch)
		if err != nil {
			return queued, err
		}
		if len(ds) == 0 {
			return queued, nil
		}
		// Queued first, marked after: a crash in between queues them again, which their task
		// ids make harmless; the other order could mark sends that never reached Redis.
		if _, err := h.cfg.Client.QueueBatch(ctx, ds, now); err != nil {
			return queued, err
		}
		if _, err := h.cfg.Store.MarkQueued(ctx, ds); err != nil {
			return queued, err
		}
		queued += len(ds)
		if len(ds) < h.cfg.Batch {
			return queued, nil
		}
	}
	return queued, nil
}

// Run steps every Every until ctx ends, then gives the lease up.
func (h *Horizon) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Every)
	defer t.Stop()
	defer func() { _ = h.lease.Release(context.WithoutCancel(ctx)) }()
	for {
		if n, err := h.Step(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logger.WarnContext(ctx, "queueing the sends that entered the planning horizon failed; the next round tries again", "error", err)
		} else if n > 0 {
			h.cfg.Logger.DebugContext(ctx, "sends entered the planning horizon and were queued", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
