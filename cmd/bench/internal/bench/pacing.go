package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
	"github.com/redis/go-redis/v9"
)

// pacingResult is scenarios 1 and 2 for one mode: Messages on one sender, all due at once.
type pacingResult struct {
	Mode       string
	Delivered  int
	Refused    int
	Violations int
	Banned     bool
	TimedOut   bool
	HasGap     bool
	MinGap     time.Duration
	MeanGap    time.Duration
	P50Late    time.Duration
	P99Late    time.Duration
	MaxLate    time.Duration
	Wall       time.Duration
	Errors     int
	// Redis commands over the scenario, per second while the workers idled, and per
	// delivered message net of the idle rate: sent to the server (MONITOR), run inside its
	// scripts (MONITOR), and sent as the bench's processes count them (go-redis hook).
	Server, Inner, Hook                   int64
	IdleServerPerS, IdleInnerPerS         float64
	IdleHookPerS                          float64
	ServerPerMsg, InnerPerMsg, HookPerMsg float64
}

const pacedSender = "1"

func (b *bench) pacing(ctx context.Context, mode string) (pacingResult, error) {
	o := b.o
	r := pacingResult{Mode: mode}
	sb, url, stopSandbox, err := runSandbox(sandbox.Config{Spacing: o.Interval}, 2)
	if err != nil {
		return r, err
	}
	defer stopSandbox()
	queueName := "bench-pace-" + mode
	f, err := startFleet(ctx, o.Workers, workerConfig{
		Mode: mode, Redis: o.RedisAddr, DB: o.DB, Queue: queueName, Prefix: "bench:" + mode + ":",
		SandboxURL: url, Interval: o.Interval, Concurrency: 20, Record: true,
	})
	if err != nil {
		return r, err
	}
	defer f.kill()
	mon, err := startMonitor(o.RedisAddr, o.DB)
	if err != nil {
		return r, err
	}
	defer mon.close()
	b.logf("scenario 1/2 %s: %d workers up; measuring their idle Redis traffic for %v", mode, o.Workers, o.IdleWindow)
	time.Sleep(time.Second) // let the Asynq servers register and settle

	// Idle: what the workers' Asynq servers cost with nothing to do.
	c0, err := b.counters(f, mon)
	if err != nil {
		return r, err
	}
	time.Sleep(o.IdleWindow)
	c1, err := b.counters(f, mon)
	if err != nil {
		return r, err
	}
	idleSecs := c1.at.Sub(c0.at).Seconds()
	r.IdleServerPerS = float64(c1.server-c0.server) / idleSecs
	r.IdleInnerPerS = float64(c1.inner-c0.inner) / idleSecs
	r.IdleHookPerS = float64(c1.hook-c0.hook) / idleSecs

	// The scenario: every message due now, on one sender.
	ds := make([]*bellhop.Delivery, o.Messages)
	now := time.Now()
	for i := range ds {
		ds[i] = benchDelivery(pacedSender, i+1, now)
	}
	counted := &commandCounter{}
	prdb := redis.NewClient(&redis.Options{Addr: o.RedisAddr, DB: o.DB})
	prdb.AddHook(counted)
	defer prdb.Close()
	qc := queue.NewClient(prdb, queueName)
	defer qc.Close()
	placed := &recorder{on: true} // the slots the enqueuer's Placer deferred rows to
	if mode == modeOurs {
		pl, err := oursPlacer(prdb, "bench:"+mode+":", url, o.Interval, placed)
		if err != nil {
			return r, err
		}
		qc.UsePlacer(pl)
	}

	cA, err := b.counters(f, mon)
	if err != nil {
		return r, err
	}
	b.logf("scenario 1/2 %s: %d messages on one sender, interval %v", mode, o.Messages, o.Interval)
	if err := enqueueAs(ctx, mode, qc, prdb, queueName, ds); err != nil {
		return r, err
	}
	deadline := cA.at.Add(time.Duration(o.Messages)*o.Interval*2 + 30*time.Second)
	if mode == modeBaseline {
		deadline = cA.at.Add(o.BaselineBudget)
	}
	var st sandbox.SenderStats
	werr := waitFor(ctx, deadline, 50*time.Millisecond, func() bool {
		st = senderStats(sb, pacedSender)
		return st.Accepted >= o.Messages || st.Banned
	})
	if errors.Is(werr, errTimeout) {
		r.TimedOut = true
	} else if werr != nil {
		return r, werr
	}
	if st.Banned {
		time.Sleep(time.Second) // let stragglers be refused too
	}
	time.Sleep(300 * time.Millisecond) // the last Done and Asynq's completion
	cB, err := b.counters(f, mon)
	if err != nil {
		return r, err
	}
	events, err := f.stop()
	if err != nil {
		b.logf("scenario 1/2 %s: stopping workers: %v", mode, err)
	}
	events = append(events, placed.ev...)
	st = senderStats(sb, pacedSender)

	secs := cB.at.Sub(cA.at).Seconds()
	r.Server, r.Inner = cB.server-cA.server, cB.inner-cA.inner
	r.Hook = cB.hook - cA.hook + counted.n.Load()
	r.Delivered, r.Refused, r.Banned = st.Accepted, st.Refused, st.Banned
	r.Violations = len(st.Violations)
	r.MinGap, r.HasGap = st.MinGap, st.HasGap
	if r.Delivered > 0 {
		n := float64(r.Delivered)
		r.ServerPerMsg = (float64(r.Server) - r.IdleServerPerS*secs) / n
		r.InnerPerMsg = (float64(r.Inner) - r.IdleInnerPerS*secs) / n
		r.HookPerMsg = (float64(r.Hook) - r.IdleHookPerS*secs) / n
	}

	var msgs []sandbox.Message
	for _, m := range sb.Messages() {
		if m.SenderID == pacedSender {
			msgs = append(msgs, m)
		}
	}
	slices.SortFunc(msgs, func(a, b sandbox.Message) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if len(msgs) > 1 {
		r.MeanGap = msgs[len(msgs)-1].CreatedAt.Sub(msgs[0].CreatedAt) / time.Duration(len(msgs)-1)
		r.Wall = msgs[len(msgs)-1].CreatedAt.Sub(cA.at)
	}
	for _, e := range events {
		if e.Kind == evError || e.Kind == evOutcome {
			r.Errors++
		}
	}
	late := lateness(mode, msgs, events, o.Interval)
	r.P50Late = percentile(late, 0.50)
	r.P99Late = percentile(late, 0.99)
	r.MaxLate = percentile(late, 1)
	return r, nil
}

type counts struct {
	server, inner, hook int64
	at                  time.Time
}

// counters reads the commands counted so far by the monitor and by the workers.
func (b *bench) counters(f *fleet, mon *monitor) (counts, error) {
	var c counts
	var err error
	if c.hook, err = f.commands(); err != nil {
		return c, fmt.Errorf("count worker commands: %w", err)
	}
	if c.server, c.inner, err = mon.counts(context.Background(), b.rdb); err != nil {
		return c, err
	}
	c.at = time.Now()
	return c, nil
}

func senderStats(sb *sandbox.Server, id string) sandbox.SenderStats {
	for _, s := range sb.Stats() {
		if s.OrgID == sandbox.DefaultOrgID && s.SenderID == id {
			return s
		}
	}
	return sandbox.SenderStats{}
}

// lateness is, for each message the sandbox accepted, how long after the earliest allowed
// moment it arrived. Ours: after the slot the pacer last gave it (the slot a waiting task
// slept until, or the one it was deferred to); a message that never waited had its slot
// when it acquired the sender. Baseline: after the previous send's end plus the interval,
// when its next-free key expired.
func lateness(mode string, msgs []sandbox.Message, events []event, interval time.Duration) []time.Duration {
	byID := map[string][]event{}
	for _, e := range events {
		byID[e.ID] = append(byID[e.ID], e)
	}
	var out []time.Duration
	for i, m := range msgs {
		var earliest time.Time
		switch mode {
		case modeOurs:
			var last event
			for _, e := range byID[m.Mark] {
				if e.At.After(m.CreatedAt) {
					continue
				}
				switch e.Kind {
				case evSlot:
					if e.At.After(last.At) {
						last = e
					}
				case evClaim:
					if last.Slot.IsZero() && e.At.After(last.At) {
						last = event{At: e.At, Slot: e.At}
					}
				}
			}
			earliest = last.Slot
		case modeBaseline:
			if i == 0 {
				continue
			}
			for _, e := range byID[msgs[i-1].Mark] {
				if e.Kind == evEnd {
					earliest = e.At.Add(interval)
				}
			}
		}
		if earliest.IsZero() {
			continue
		}
		out = append(out, max(m.CreatedAt.Sub(earliest), 0))
	}
	return out
}

func (b *bench) printPacing(r [2]pacingResult) {
	o := b.o
	fmt.Fprintf(b.out, "Scenario 1 — pacing: 1 sender × %d messages due at once, interval %v, %d worker processes; gaps measured at the sandbox\n",
		o.Messages, o.Interval, o.Workers)
	w := newTable(b.out, "", "ours (pacer)", "baseline (Asynq rate-limit retry)")
	row(w, "delivered", func(x pacingResult) string {
		s := fmt.Sprintf("%d/%d", x.Delivered, o.Messages)
		if x.TimedOut && x.Mode == modeBaseline {
			s += fmt.Sprintf(" (stopped after %v)", o.BaselineBudget)
		} else if x.TimedOut {
			s += " (timed out)"
		}
		return s
	}, r)
	row(w, "gaps < interval (sandbox)", func(x pacingResult) string { return fmt.Sprint(x.Violations) }, r)
	row(w, "banned / refused", func(x pacingResult) string { return fmt.Sprintf("%s / %d", yesNo(x.Banned), x.Refused) }, r)
	row(w, "shortest gap", func(x pacingResult) string {
		return fmt.Sprintf("%.1f ms (%.3f× interval)", ms(x.MinGap), x.MinGap.Seconds()/o.Interval.Seconds())
	}, r)
	row(w, "mean gap", func(x pacingResult) string { return fmt.Sprintf("%.1f ms", ms(x.MeanGap)) }, r)
	row(w, "lateness p50 / p99 / max", func(x pacingResult) string {
		return fmt.Sprintf("%.1f / %.1f / %.1f ms", ms(x.P50Late), ms(x.P99Late), ms(x.MaxLate))
	}, r)
	row(w, "first enqueue → last arrival", func(x pacingResult) string { return fmt.Sprintf("%.1f s", x.Wall.Seconds()) }, r)
	row(w, "send errors", func(x pacingResult) string { return fmt.Sprint(x.Errors) }, r)
	w.flush()
	fmt.Fprintln(b.out, "  lateness: ours = arrival − the slot the pacer gave; baseline = arrival − (previous send's end + interval).")
	if r[1].TimedOut {
		fmt.Fprintf(b.out, "  the baseline was stopped after %v (-baseline-budget): the rest of its messages were still waiting.\n", o.BaselineBudget)
	}
	fmt.Fprintln(b.out, "  ours adds 10–20 % random jitter to each gap by design (never less than the interval); lateness excludes it.")
	fmt.Fprintln(b.out)

	fmt.Fprintf(b.out, "Scenario 2 — Redis commands per delivered message, %d waiting on one sender (same run as scenario 1)\n", o.Messages)
	w = newTable(b.out, "", "ours (pacer)", "baseline (Asynq rate-limit retry)")
	row(w, "commands sent to Redis / message", func(x pacingResult) string { return fmt.Sprintf("%.1f", x.ServerPerMsg) }, r)
	row(w, "  + commands inside Lua scripts / message", func(x pacingResult) string { return fmt.Sprintf("%.1f", x.InnerPerMsg) }, r)
	row(w, "  (cross-check: go-redis hook / message)", func(x pacingResult) string { return fmt.Sprintf("%.1f", x.HookPerMsg) }, r)
	row(w, "whole scenario: sent, in scripts, hook", func(x pacingResult) string {
		return fmt.Sprintf("%d, %d, %d", x.Server, x.Inner, x.Hook)
	}, r)
	row(w, "idle workers per s: sent, in scripts, hook", func(x pacingResult) string {
		return fmt.Sprintf("%.1f, %.1f, %.1f", x.IdleServerPerS, x.IdleInnerPerS, x.IdleHookPerS)
	}, r)
	w.flush()
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f×", a/b)
	}
	fmt.Fprintf(b.out, "  baseline/ours: %s commands sent, %s commands run inside scripts\n",
		ratio(r[1].ServerPerMsg, r[0].ServerPerMsg), ratio(r[1].InnerPerMsg, r[0].InnerPerMsg))
	fmt.Fprintf(b.out, "  Counted server-side by MONITOR, in the bench's database only (db %d): every client's commands, Asynq's included,\n", o.DB)
	fmt.Fprintln(b.out, "  from the first enqueue to the last completion; then the idle workers' rate (Asynq's polling and heartbeats)")
	fmt.Fprintln(b.out, "  × the scenario's duration is subtracted. \"Sent\" is what the pacer's O(1) is about (one EVALSHA is one command).")
	fmt.Fprintln(b.out, "  The baseline's cost grows with the queue (every waiting message polls); ours does not. A baseline stopped early")
	fmt.Fprintln(b.out, "  was measured with more messages still waiting than a full drain averages.")
	fmt.Fprintln(b.out)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
