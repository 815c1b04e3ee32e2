package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue"
)

// planRun is one way of queueing future sends.
type planRun struct {
	n     int
	took  time.Duration
	rate  float64
	bytes float64
}

type planResult struct {
	plain, batch planRun
	// One task's share: its hash (the Asynq task message and state) and the rest (its
	// entry in the scheduled set, key overhead).
	taskHash, msgField int64
	scheduledSet       float64
}

const planQueue = "bench-plan"

// planning queues future sends the way booking intake does, with deterministic ids, and
// measures the rate and the Redis memory each takes.
func (b *bench) planning(ctx context.Context) (planResult, error) {
	o := b.o
	var r planResult
	ds := make([]*bellhop.Delivery, o.Plans)
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	for i := range ds {
		pid := fmt.Sprintf("hotel-%05d", i/200)
		bid := fmt.Sprintf("TL-20261203-%06d", i)
		ds[i] = &bellhop.Delivery{
			ID: mailings.DeliveryID(pid, bid, bellhop.Welcome), PropertyID: pid, BookingID: bid, Kind: bellhop.Welcome,
			Version: 1, Status: bellhop.DeliveryScheduled, DueAt: base.Add(time.Duration(i%(60*86400)) * time.Second),
		}
	}
	qc := queue.NewClient(b.rdb, planQueue)
	defer qc.Close()

	measure := func(n int, schedule func(context.Context, []*bellhop.Delivery) error) (planRun, error) {
		if err := cleanDB(ctx, b.rdb); err != nil {
			return planRun{}, err
		}
		m0, err := usedMemory(ctx, b.rdb)
		if err != nil {
			return planRun{}, err
		}
		start := time.Now()
		if err := schedule(ctx, ds[:n]); err != nil {
			return planRun{}, err
		}
		took := time.Since(start)
		m1, err := usedMemory(ctx, b.rdb)
		if err != nil {
			return planRun{}, err
		}
		queued, err := b.rdb.ZCard(ctx, "asynq:{"+planQueue+"}:scheduled").Result()
		if err != nil {
			return planRun{}, err
		}
		if int(queued) != n {
			return planRun{}, fmt.Errorf("%d of %d sends queued", queued, n)
		}
		return planRun{n: n, took: took, rate: float64(n) / took.Seconds(), bytes: float64(m1-m0) / float64(n)}, nil
	}

	plain := min(o.PlainPlans, o.Plans)
	b.logf("scenario 4: %d plans with Schedule", plain)
	var err error
	if r.plain, err = measure(plain, qc.Schedule); err != nil {
		return r, err
	}
	b.logf("scenario 4: %d plans with ScheduleMany", o.Plans)
	if r.batch, err = measure(o.Plans, qc.ScheduleMany); err != nil {
		return r, err
	}
	// Where the bytes go.
	taskKey := "asynq:{" + planQueue + "}:t:" + queue.TaskID(ds[0])
	r.taskHash, _ = b.rdb.MemoryUsage(ctx, taskKey, 0).Result()
	r.msgField, _ = b.rdb.HStrLen(ctx, taskKey, "msg").Result()
	set, _ := b.rdb.MemoryUsage(ctx, "asynq:{"+planQueue+"}:scheduled", 0).Result()
	r.scheduledSet = float64(set) / float64(o.Plans)
	return r, cleanDB(ctx, b.rdb)
}

func (b *bench) printPlanning(r planResult) {
	fmt.Fprintf(b.out, "Scenario 4 — planning future mailings: Asynq send tasks with deterministic ids, processed hours to weeks ahead\n")
	w := newTable(b.out, "", "ScheduleMany (pipelined, 500 a round trip)", "Schedule (one round trip each)")
	row(w, "mailings planned", func(x planRun) string { return fmt.Sprint(x.n) }, [2]planRun{r.batch, r.plain})
	row(w, "time", func(x planRun) string { return fmt.Sprintf("%.2f s", x.took.Seconds()) }, [2]planRun{r.batch, r.plain})
	row(w, "plans / s", func(x planRun) string { return fmt.Sprintf("%.0f", x.rate) }, [2]planRun{r.batch, r.plain})
	row(w, "Redis bytes / mailing (used_memory Δ)", func(x planRun) string { return fmt.Sprintf("%.0f", x.bytes) }, [2]planRun{r.batch, r.plain})
	w.flush()
	fmt.Fprintf(b.out, "  per task: its Asynq hash %d bytes (MEMORY USAGE; the protobuf task message alone %d), its share of the scheduled\n", r.taskHash, r.msgField)
	fmt.Fprintf(b.out, "  set %.0f bytes; the rest of the Δ is the keyspace's own overhead (dict entries, key strings, allocator rounding).\n\n", r.scheduledSet)
}
