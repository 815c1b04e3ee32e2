package pacer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Several worker processes, each with many goroutines, pace one sender under a simulated
// clock. Workers die mid-send, tasks run late and are redelivered; whatever happens, no send
// may start within the interval of the end of the one before.
func TestWorkersNeverSendCloserThanTheInterval(t *testing.T) {
	cfg := Config{Interval: 300 * time.Second} // jitter 0.2
	f := setup(t, cfg)
	const (
		workers = 4
		msgs    = 60
		maxSend = 30 * time.Second
	)
	pacers := []*Pacer{f.p}
	for i := 1; i < workers; i++ {
		pacers = append(pacers, f.worker(t, cfg, uint64(i+1)))
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7)) // drives the scenario; used by this goroutine only

	type message struct {
		id        string
		due       time.Time // when its task runs next
		redeliver bool      // its worker died: the task reruns from Reserve
		sending   bool
		endAt     time.Time // when its send ends (Done is called then)
		done      bool
	}
	type send struct {
		id         string
		start, end time.Time
	}
	ms := make([]*message, msgs)
	for i := range ms {
		ms[i] = &message{id: fmt.Sprintf("delivery-%02d", i)}
	}
	var (
		mu      sync.Mutex
		sends   []send
		wg      sync.WaitGroup
		refused atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf(format, args...)
	}
	for _, m := range ms {
		p := pacers[rng.IntN(workers)]
		wg.Go(func() {
			r, err := p.Reserve(ctx, sender, m.id)
			if err != nil {
				fail("Reserve: %v", err)
				return
			}
			m.due = r.At
		})
	}
	wg.Wait()

	for round := 0; round < 20000; round++ {
		now := f.clock.Now()
		for _, m := range ms { // sends that end now report it, except those whose worker died
			if m.sending && !m.endAt.After(now) {
				m.sending = false
				if m.redeliver {
					continue
				}
				m.done = true
				p := pacers[rng.IntN(workers)]
				wg.Go(func() {
					if err := p.Done(ctx, sender, m.id, m.endAt); err != nil {
						fail("Done: %v", err)
					}
				})
			}
		}
		wg.Wait()
		type attempt struct {
			m        *message
			p        *Pacer
			late     time.Duration
			dies     bool
			rerunIn  time.Duration
			duration time.Duration
		}
		var due []attempt
		for _, m := range ms {
			if !m.done && !m.sending && !m.due.After(now) {
				due = append(due, attempt{
					m: m, p: pacers[rng.IntN(workers)],
					late:     time.Duration(rng.IntN(3)) * time.Duration(rng.Int64N(int64(10*time.Minute))),
					dies:     rng.IntN(8) == 0,
					rerunIn:  maxSend + time.Duration(rng.Int64N(int64(10*time.Minute))),
					duration: time.Duration(rng.Int64N(int64(20 * time.Second))),
				})
			}
		}
		for _, a := range due { // all due tasks, on every worker, at the same moment
			wg.Go(func() {
				m := a.m
				if m.redeliver {
					r, err := a.p.Reserve(ctx, sender, m.id)
					if err != nil {
						fail("Reserve: %v", err)
						return
					}
					m.redeliver = false
					if r.At.After(now) {
						m.due = r.At.Add(a.late)
						return
					}
				}
				ok, retryAt, err := a.p.Acquire(ctx, sender, m.id, maxSend)
				if err != nil {
					fail("Acquire: %v", err)
					return
				}
				if !ok {
					refused.Add(1)
					m.due = retryAt.Add(a.late) // tasks run late, sometimes minutes
					return
				}
				s := send{id: m.id, start: now, end: now.Add(a.duration)}
				m.sending, m.endAt = true, s.end
				if a.dies {
					// The worker dies at some point of its send: the message may have reached
					// the provider as late as the lease end, and its task is redelivered.
					m.redeliver = true
					m.due = now.Add(a.rerunIn)
					s.end = now.Add(maxSend)
				}
				mu.Lock()
				sends = append(sends, s)
				mu.Unlock()
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if !slices.ContainsFunc(ms, func(m *message) bool { return !m.done }) {
			break
		}
		f.clock.Advance(time.Duration(1+rng.IntN(45)) * time.Second)
	}

	for _, m := range ms {
		if !m.done {
			t.Fatalf("%s never sent by %v", m.id, f.clock.Now())
		}
	}
	slices.SortFunc(sends, func(a, b send) int { return a.start.Compare(b.start) })
	for i := 1; i < len(sends); i++ {
		prev, cur := sends[i-1], sends[i]
		if gap := cur.start.Sub(prev.end); gap < cfg.Interval {
			t.Errorf("%s started %v after %s ended", cur.id, gap, prev.id)
		}
	}
	t.Logf("%d sends of %d messages (%d attempts refused), last at +%v",
		len(sends), msgs, refused.Load(), sends[len(sends)-1].start.Sub(t0))
}

// A waiting message costs the same few Redis commands whether 10 or 100 wait: one to
// reserve, one to acquire, one when the send is done. It never polls.
func TestRedisCommandsPerMessageDoNotGrowWithTheQueue(t *testing.T) {
	for _, n := range []int{10, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := setup(t, Config{})
			ctx := context.Background()
			// Load the scripts and open the connection first: those are not per-message costs.
			f.reserve(t, "warm-up", "w")
			f.acquire(t, "warm-up", "w", time.Second)
			f.done(t, "warm-up", "w", t0)

			observer := f.worker(t, Config{}, 9) // its own client: its commands are not counted

			counter := &commandCounter{}
			f.rdb.AddHook(counter)
			slots := make([]time.Time, n)
			for i := range n {
				slots[i] = f.reserve(t, sender, fmt.Sprint(i)).At
			}
			if st, err := observer.State(ctx, sender); err != nil || st.Waiting != n {
				t.Fatalf("state = %+v, %v; want %d waiting", st, err, n)
			}
			for i := range n {
				if err := Wait(ctx, f.clock, slots[i], advanceSleep(f.clock)); err != nil {
					t.Fatal(err)
				}
				if ok, at := f.acquire(t, sender, fmt.Sprint(i), 30*time.Second); !ok {
					t.Fatalf("message %d refused at its slot, retry at %v", i, at)
				}
				f.clock.Advance(2 * time.Second) // the provider call
				f.done(t, sender, fmt.Sprint(i), f.clock.Now())
			}
			total := counter.n.Load()
			perMessage := float64(total-1) / float64(n) // -1: the sender joins the registry once
			if total-1 > int64(3*n) {
				t.Errorf("%d commands for %d messages (%.2f each), want at most 3 each", total, n, perMessage)
			}
			t.Logf("%d messages: %.2f Redis commands each", n, perMessage)
		})
	}
}

// When every waiting message's slot has passed at once (the sender was paused, Redis was
// down), all of them asking at the same instant get exactly one send; the others keep their
// places and come back within an interval.
func TestSimultaneousAcquiresLetExactlyOneSend(t *testing.T) {
	cfg := Config{Interval: 300 * time.Second}
	f := setup(t, cfg)
	ctx := context.Background()
	pacers := []*Pacer{f.p, f.worker(t, cfg, 2), f.worker(t, cfg, 3), f.worker(t, cfg, 4)}
	const n = 50
	for i := range n {
		f.reserve(t, sender, fmt.Sprint(i))
	}
	f.clock.Advance(24 * time.Hour)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
		next []time.Time
	)
	for i := range n {
		wg.Go(func() {
			ok, at, err := pacers[i%len(pacers)].Acquire(ctx, sender, fmt.Sprint(i), 30*time.Second)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("Acquire: %v", err)
			case ok:
				sent++
			default:
				next = append(next, at)
			}
		})
	}
	wg.Wait()
	if sent != 1 {
		t.Fatalf("%d sends at the same instant, want 1", sent)
	}
	// The others keep their places and are told to come back while the send is in flight:
	// soon (one interval), not behind the lease's worst case, which would push every later
	// slot back by the whole lease.
	now := f.clock.Now()
	for _, at := range next {
		if !at.After(now) || at.After(now.Add(cfg.Interval)) {
			t.Errorf("come back at %v, want within one interval (%v) after now", at.Sub(now), cfg.Interval)
		}
	}
	st, err := pacers[0].State(ctx, sender)
	if err != nil {
		t.Fatal(err)
	}
	if st.Waiting != n-1 {
		t.Errorf("%d messages waiting, want the %d that were refused to keep their places", st.Waiting, n-1)
	}
}
