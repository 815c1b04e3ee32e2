package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/store"
)

// horizonRun is bookings planned through the real service (a transaction per booking on a real
// database, the send queued or not) with the planning horizon on or off.
type horizonRun struct {
	Dialect string
	Horizon bool
	N       int
	Took    time.Duration
	Rate    float64 // bookings planned per second
	// Queued is how many sends were in Redis once the horizon's scheduler had run; Bytes the
	// Redis used_memory_dataset Δ per planned mailing.
	Queued int
	Bytes  float64
	Err    error // the database was not there (PostgreSQL not running): not measured
}

// MBPerMillion is the Redis memory a million planned mailings take, scaled from N: bytes per
// mailing times a million, in MB of 10^6 bytes — the same number.
func (r horizonRun) MBPerMillion() float64 { return r.Bytes }

const horizonQueue = "bench-horizon"

// horizonPlanning plans o.HorizonPlans future bookings (one welcome each, arriving over the next
// 60 days) on SQLite and on PostgreSQL, each with the planning horizon (an hour) and without it
// (every send queued in Redis when planned, as before the horizon), and measures the rate and
// what Redis holds afterwards.
func (b *bench) horizonPlanning(ctx context.Context) ([2][2]horizonRun, error) {
	var out [2][2]horizonRun
	for i, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		// The baseline first: a first run on a database pays for its cold start.
		for j := 1; j >= 0; j-- {
			on := j == 0
			r, err := b.planThrough(ctx, dialect, on)
			if err != nil {
				return out, fmt.Errorf("%s, horizon %v: %w", dialect, on, err)
			}
			out[i][j] = r
		}
	}
	return out, nil
}

func (b *bench) planThrough(ctx context.Context, dialect string, horizon bool) (horizonRun, error) {
	r := horizonRun{Dialect: dialect, Horizon: horizon, N: b.o.HorizonPlans}
	db, err := b.openDB(ctx, dialect)
	if err != nil {
		r.Err = err
		return r, nil
	}
	defer db.close()
	if err := cleanDB(ctx, b.rdb); err != nil {
		return r, err
	}
	now := time.Now().UTC()
	// A chain across the world's zones: each hotel's welcomes go at its own noon, so some are
	// always coming within the hour somewhere.
	const properties = 24
	for p := range properties {
		pid := fmt.Sprintf("bench-h%02d", p)
		zone := fmt.Sprintf("Etc/GMT%+d", p-12)
		if err := db.CreateProperty(ctx, &bellhop.Property{ID: pid, Name: "Bench " + pid, TimeZone: zone, Language: "en",
			ContactCenter: true, CreatedAt: now, UpdatedAt: now}); err != nil {
			return r, err
		}
		ms := mailings.Defaults(pid, "intellectdialog")
		ms[0].Enabled = true // the welcome: one future mailing per booking
		if _, err := db.CreateMailings(ctx, ms); err != nil {
			return r, err
		}
	}
	qc := queue.NewClient(b.rdb, horizonQueue)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := mailings.Config{Store: txStore{db.DB}, Scheduler: qc, Logger: quiet, Horizon: bellhop.DefaultPlanHorizon}
	if !horizon {
		cfg.Horizon = -1
	}
	svc, err := mailings.New(cfg)
	if err != nil {
		return r, err
	}
	// The scheduler's first round on nothing loads its scripts and takes its lease: what
	// Redis holds for the scheduler itself, whatever the number of mailings, is not counted.
	h, err := queue.NewHorizon(queue.HorizonConfig{Store: db, Client: qc, Redis: b.rdb, Logger: quiet})
	if err != nil {
		return r, err
	}
	if _, err := h.Step(ctx); err != nil {
		return r, err
	}
	m0, err := datasetMemory(ctx, b.rdb)
	if err != nil {
		return r, err
	}
	today := bellhop.DateOf(now)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= r.N || ctx.Err() != nil {
					return
				}
				arrival := today.AddDays(2 + i%60)
				bk := &bellhop.Booking{ID: fmt.Sprintf("H%07d", i), Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
					Arrival: arrival, Departure: arrival.AddDays(2), CreatedAt: now, UpdatedAt: now,
					Guest: bellhop.Guest{Name: "Guest", Phone: fmt.Sprintf("+7999%07d", i), Language: "en"}}
				if _, err := svc.PutBooking(ctx, fmt.Sprintf("bench-h%02d", i%properties), bk); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return r, err
	}
	r.Took = time.Since(start)
	r.Rate = float64(r.N) / r.Took.Seconds()
	// The scheduler's round: what came within the horizon is queued now.
	if _, err := h.Step(ctx); err != nil {
		return r, err
	}
	m1, err := datasetMemory(ctx, b.rdb)
	if err != nil {
		return r, err
	}
	prefix := "asynq:{" + horizonQueue + "}:"
	r.Queued = int(b.rdb.ZCard(ctx, prefix+"scheduled").Val() + b.rdb.LLen(ctx, prefix+"pending").Val())
	r.Bytes = max(float64(m1-m0), 0) / float64(r.N)
	b.logf("scenario 5 %s horizon=%v: %d bookings in %v, %d sends in Redis", dialect, horizon, r.N, r.Took, r.Queued)
	return r, cleanDB(ctx, b.rdb)
}

// txStore gives the planner its transactions (cmd/bellhop wires the same).
type txStore struct{ *store.DB }

func (s txStore) InTx(ctx context.Context, fn func(tx mailings.Tx) error) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (b *bench) printHorizon(r [2][2]horizonRun, lat [2]dueLatency) {
	n := r[0][0].N
	fmt.Fprintf(b.out, "Scenario 5 — the planning horizon: %d bookings planned through the service (a transaction each, 8 at a time), one\n", n)
	fmt.Fprintf(b.out, "  future welcome each, arriving over the next 60 days at 24 hotels in 24 zones; Redis per million scaled from %d (a\n", n)
	fmt.Fprintf(b.out, "  million does not fit the time budget). With the horizon Redis holds only the sends due within the hour.\n")
	w := newTable(b.out, "", "SQLite, horizon 1 h", "SQLite, all queued (before)", "PostgreSQL, horizon 1 h", "PostgreSQL, all queued (before)")
	cells := func(label string, f func(horizonRun) string) {
		var c []string
		for _, db := range r {
			for _, x := range db {
				if x.Err != nil {
					c = append(c, "not measured")
					continue
				}
				c = append(c, f(x))
			}
		}
		w.line(append([]string{label}, c...)...)
	}
	cells("bookings planned / s", func(x horizonRun) string { return fmt.Sprintf("%.0f", x.Rate) })
	cells("sends in Redis afterwards", func(x horizonRun) string { return fmt.Sprintf("%d of %d", x.Queued, x.N) })
	cells("Redis bytes / mailing (used_memory_dataset Δ)", func(x horizonRun) string { return fmt.Sprintf("%.0f", x.Bytes) })
	cells("Redis MB / million future mailings", func(x horizonRun) string { return fmt.Sprintf("%.1f", x.MBPerMillion()) })
	w.flush()
	for _, db := range r {
		if db[0].Err != nil {
			fmt.Fprintf(b.out, "  %s: %v\n", db[0].Dialect, db[0].Err)
		}
	}
	fmt.Fprintf(b.out, "  Due → the send's task starts, %d sends due 3 s after planning and on, on SQLite, both sides at once in one Asynq\n", lat[0].N)
	fmt.Fprintf(b.out, "  server (its 1 s tick included; the worker takes a task up 2 s early to meet its time, so only the difference counts):\n")
	w = newTable(b.out, "", fmt.Sprintf("horizon (%v, looked at every 250 ms)", b.latencyHorizon()), "all queued when planned (before)")
	row(w, "p50 / p99 / max", func(x dueLatency) string {
		return fmt.Sprintf("%.0f / %.0f / %.0f ms", ms(x.P50), ms(x.P99), ms(x.Max))
	}, lat)
	row(w, "started", func(x dueLatency) string { return fmt.Sprintf("%d of %d", x.Started, x.N) }, lat)
	w.flush()
	fmt.Fprintln(b.out)
}

// futureMBPerMillion is the SUMMARY's figure: the larger of the two databases' with the horizon.
func futureMBPerMillion(r [2][2]horizonRun) float64 {
	mb := -1.0
	for _, db := range r {
		if db[0].Err == nil {
			mb = max(mb, db[0].MBPerMillion())
		}
	}
	return mb
}
