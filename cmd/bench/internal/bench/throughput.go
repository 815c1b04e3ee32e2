package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
)

// throughputResult is scenario 3 for one mode: many senders, no real pacing.
type throughputResult struct {
	Mode       string
	Total      int
	Delivered  int
	Violations int
	TimedOut   bool
	Enqueue    time.Duration
	Wall       time.Duration // first enqueue → last arrival at the sandbox
	Rate       float64       // over Wall
	// First is the first arrival after the first enqueue; Sustained is the rate from the
	// first arrival to the last.
	First     time.Duration
	Tail      time.Duration // the last 1 % of arrivals
	Sustained float64
	// CPU time per delivered message: Redis's (from INFO cpu, over enqueue and delivery)
	// and the worker processes' (their whole life, the second's idle wait before included).
	RedisCPU, WorkerCPU time.Duration
	// WorkerCmds is the Redis commands the workers sent per delivered message (a pipeline's
	// each), their idle polling included.
	WorkerCmds float64
}

// throughputInterval is the smallest interval the pacer takes: the senders are not paced.
const throughputInterval = time.Millisecond

func (b *bench) throughput(ctx context.Context, mode string) (throughputResult, error) {
	o := b.o
	r := throughputResult{Mode: mode, Total: o.Senders * o.PerSender}
	sb, url, stopSandbox, err := runSandbox(sandbox.Config{Spacing: time.Nanosecond}, o.Senders)
	if err != nil {
		return r, err
	}
	defer stopSandbox()
	queueName := "bench-e2e-" + mode
	f, err := startFleet(ctx, o.Workers, workerConfig{
		Mode: mode, Redis: o.RedisAddr, DB: o.DB, Queue: queueName, Prefix: "bench:e2e-" + mode + ":",
		SandboxURL: url, Interval: throughputInterval, Concurrency: o.Concurrency,
	})
	if err != nil {
		return r, err
	}
	defer f.kill()
	time.Sleep(time.Second)

	// Round robin over the senders, so that a sender's messages are far apart in the queue.
	ds := make([]*bellhop.Delivery, 0, r.Total)
	now := time.Now()
	for n := 1; n <= o.PerSender; n++ {
		for s := 1; s <= o.Senders; s++ {
			ds = append(ds, benchDelivery(strconv.Itoa(s), n, now))
		}
	}
	qc := queue.NewClient(b.rdb, queueName)
	defer qc.Close()
	if mode == modeOurs {
		pl, err := oursPlacer(b.rdb, "bench:e2e-"+mode+":", url, throughputInterval, &recorder{})
		if err != nil {
			return r, err
		}
		qc.UsePlacer(pl)
	}
	b.logf("scenario 3 %s: %d messages over %d senders", mode, r.Total, o.Senders)
	cpu0, cpuErr := redisCPU(ctx, b.rdb)
	start := time.Now()
	if err := enqueueAs(ctx, mode, qc, b.rdb, queueName, ds); err != nil {
		return r, err
	}
	r.Enqueue = time.Since(start)
	deadline := start.Add(time.Duration(r.Total)*5*time.Millisecond + 60*time.Second)
	count := func() (accepted, violations int) {
		for _, st := range sb.Stats() {
			accepted += st.Accepted
			violations += len(st.Violations)
		}
		return accepted, violations
	}
	werr := waitFor(ctx, deadline, 100*time.Millisecond, func() bool {
		n, _ := count()
		return n >= r.Total
	})
	if errors.Is(werr, errTimeout) {
		r.TimedOut = true
	} else if werr != nil {
		return r, werr
	}
	cpu1, err := redisCPU(ctx, b.rdb)
	cmds, cerr := f.commands()
	if _, err := f.stop(); err != nil {
		b.logf("scenario 3 %s: stopping workers: %v", mode, err)
	}
	r.Delivered, r.Violations = count()
	if r.Delivered > 0 {
		if cpuErr == nil && err == nil {
			r.RedisCPU = (cpu1 - cpu0) / time.Duration(r.Delivered)
		}
		r.WorkerCPU = f.cpu() / time.Duration(r.Delivered)
		if cerr == nil {
			r.WorkerCmds = float64(cmds) / float64(r.Delivered)
		}
	}
	var at []time.Time
	for _, m := range sb.Messages() {
		at = append(at, m.CreatedAt)
	}
	slices.SortFunc(at, time.Time.Compare)
	if n := len(at); n > 1 {
		r.Wall = at[n-1].Sub(start)
		r.Rate = float64(n) / r.Wall.Seconds()
		r.First = at[0].Sub(start)
		r.Tail = at[n-1].Sub(at[n-1-n/100])
		r.Sustained = float64(n-1) / at[n-1].Sub(at[0]).Seconds()
	}
	return r, nil
}

// medianRound is the round of the median rate (the lower middle one of an even count).
func medianRound(rs []throughputResult) throughputResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b throughputResult) int { return cmp.Compare(a.Rate, b.Rate) })
	return sorted[(len(sorted)-1)/2]
}

func (b *bench) printThroughput(r [2]throughputResult, rounds [2][]throughputResult) {
	o := b.o
	fmt.Fprintf(b.out, "Scenario 3 — end to end: %d senders × %d messages, interval %v, sandbox spacing 1ns, %d worker processes × %d concurrent sends, HTTP to the sandbox; %d rounds a side, alternating which goes first, each side's median round shown\n",
		o.Senders, o.PerSender, throughputInterval, o.Workers, o.Concurrency, len(rounds[0]))
	w := newTable(b.out, "", "ours (queue.Worker + pacer)", "baseline (Asynq rate-limit retry)")
	row(w, "delivered", func(x throughputResult) string {
		s := fmt.Sprintf("%d/%d", x.Delivered, x.Total)
		if x.TimedOut {
			s += " (timed out)"
		}
		return s
	}, r)
	row(w, "violations", func(x throughputResult) string { return fmt.Sprint(x.Violations) }, r)
	row(w, "enqueue (ours: ScheduleMany; baseline: Asynq's Enqueue)", func(x throughputResult) string { return fmt.Sprintf("%.2f s", x.Enqueue.Seconds()) }, r)
	row(w, "first enqueue → last arrival", func(x throughputResult) string { return fmt.Sprintf("%.2f s", x.Wall.Seconds()) }, r)
	row(w, "first enqueue → first arrival", func(x throughputResult) string { return fmt.Sprintf("%.2f s", x.First.Seconds()) }, r)
	row(w, "last 1 % of arrivals took", func(x throughputResult) string { return fmt.Sprintf("%.2f s", x.Tail.Seconds()) }, r)
	row(w, "messages / s, first enqueue → last arrival", func(x throughputResult) string { return fmt.Sprintf("%.0f", x.Rate) }, r)
	w.line("  each round's, in order", roundRates(rounds[0]), roundRates(rounds[1]))
	row(w, "messages / s, first → last arrival", func(x throughputResult) string { return fmt.Sprintf("%.0f", x.Sustained) }, r)
	row(w, "Redis commands the workers sent per message", func(x throughputResult) string { return fmt.Sprintf("%.2f", x.WorkerCmds) }, r)
	row(w, "CPU per message: Redis / worker processes", func(x throughputResult) string {
		return fmt.Sprintf("%.0f / %.0f µs", float64(x.RedisCPU)/1e3, float64(x.WorkerCPU)/1e3)
	}, r)
	w.flush()
	fmt.Fprintln(b.out, "  SUMMARY's e2e_msgs_per_s is the first enqueue → last arrival rate (enqueueing included).")
	fmt.Fprintf(b.out, "  Redis, the sandbox, the bench and the %d workers share %d CPUs.\n\n", o.Workers, runtime.NumCPU())
}

func numCPU() int { return runtime.NumCPU() }

func roundRates(rs []throughputResult) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%.0f", r.Rate)
	}
	return strings.Join(out, ", ")
}
