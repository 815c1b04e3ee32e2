package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/store"
	"github.com/hibiken/asynq"
)

// dueLatency is how late after its due time each send's task started, with the planning
// horizon or with every send queued when planned.
type dueLatency struct {
	Horizon       bool
	N, Started    int
	P50, P99, Max time.Duration
}

// latencyHorizon is the bench's short horizon: the sends, due seconds from now, are planned
// beyond it and come within while the bench watches.
func (b *bench) latencyHorizon() time.Duration {
	if b.o.Quick {
		return time.Second
	}
	return 2 * time.Second
}

// horizonLatency plans sends due 3 s from now and over the next 5 s (quick: 2 s, over 1 s) on
// SQLite, twice side by side: once queued in Redis when planned (as before the horizon), once
// left to the horizon's scheduler (a 2 s horizon, quick 1 s, looking every 250 ms). One Asynq server runs both
// queues' tasks as the workers would; what is measured is due → the send's task starts, the
// only part of due → sent the horizon could change (the send itself is the same code either
// way).
func (b *bench) horizonLatency(ctx context.Context) ([2]dueLatency, error) {
	var out [2]dueLatency
	db, err := b.openDB(ctx, store.DialectSQLite)
	if err != nil {
		return out, err
	}
	defer db.close()
	now := time.Now()
	if err := db.CreateProperty(ctx, &bellhop.Property{ID: "bench-l", Name: "Bench", TimeZone: "UTC", Language: "en",
		ContactCenter: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		return out, err
	}
	n := b.o.LatencySends
	spread, horizonLen := 5*time.Second, b.latencyHorizon()
	if b.o.Quick {
		spread = time.Second
	}
	first := now.Add(horizonLen + time.Second)
	spacing := spread / time.Duration(n)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One Asynq server runs both queues, so both see the same one-second tick.
	var mu sync.Mutex
	due := map[string]time.Time{}
	side := map[string]int{}
	late := [2][]time.Duration{}
	done := make(chan struct{})
	queues := map[string]int{}
	var jobs sync.WaitGroup
	for i, horizon := range []bool{true, false} {
		out[i] = dueLatency{Horizon: horizon, N: n}
		name := fmt.Sprintf("bench-latency-%v", horizon)
		queues[name] = 1
		qc := queue.NewClient(b.rdb, name)
		var ds []*bellhop.Delivery
		for k := range n {
			at := first.Add(time.Duration(k) * spacing)
			d := &bellhop.Delivery{ID: fmt.Sprintf("dl_%s_%d", name, k), PropertyID: "bench-l", BookingID: fmt.Sprintf("%v-%d", horizon, k),
				Kind: bellhop.Welcome, StayKey: fmt.Sprint(k), Phone: "+79990000000", PlannedAt: at, DueAt: at,
				Status: bellhop.DeliveryScheduled, Version: 1, Queued: !horizon, CreatedAt: now, UpdatedAt: now}
			if err := db.SaveDelivery(ctx, d); err != nil {
				return out, err
			}
			due[d.ID], side[d.ID] = at, i
			ds = append(ds, d)
		}
		if !horizon {
			// As planning did before the horizon: every send queued when planned.
			if err := qc.Schedule(ctx, ds); err != nil {
				return out, err
			}
			continue
		}
		h, err := queue.NewHorizon(queue.HorizonConfig{Store: db, Client: qc, Redis: b.rdb, Logger: quiet,
			Horizon: horizonLen, Every: 250 * time.Millisecond})
		if err != nil {
			return out, err
		}
		jobs.Go(func() { _ = h.Run(ctx) })
	}
	srv := asynq.NewServerFromRedisClient(b.rdb, asynq.Config{Concurrency: 16, Queues: queues,
		DelayedTaskCheckInterval: time.Second, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(queue.TypeSend, func(_ context.Context, t *asynq.Task) error {
		started := time.Now()
		var p struct {
			ID string `json:"d"`
		}
		_ = json.Unmarshal(t.Payload(), &p)
		mu.Lock()
		defer mu.Unlock()
		i := side[p.ID]
		late[i] = append(late[i], started.Sub(due[p.ID]))
		if len(late[0])+len(late[1]) == 2*n {
			close(done)
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return out, err
	}
	var timeout error
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(time.Until(first.Add(spread)) + 20*time.Second):
		mu.Lock()
		timeout = fmt.Errorf("%d and %d of %d sends started in time", len(late[0]), len(late[1]), n)
		mu.Unlock()
	}
	srv.Shutdown()
	cancel()
	jobs.Wait()
	if timeout != nil {
		return out, timeout
	}
	for i := range out {
		out[i].Started = len(late[i])
		out[i].P50, out[i].P99 = percentile(late[i], 0.50), percentile(late[i], 0.99)
		if len(late[i]) > 0 {
			out[i].Max = late[i][len(late[i])-1]
		}
	}
	return out, cleanDB(context.WithoutCancel(ctx), b.rdb)
}
