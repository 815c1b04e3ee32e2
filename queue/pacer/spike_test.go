package pacer

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// After a provider latency spike, the slots handed out while sends took 5 s are moved up as
// soon as a send is short again: the backlog runs at the normal rate, in order, and never
// closer than the interval.
func TestSlotsMoveUpWhenALatencySpikeEnds(t *testing.T) {
	cfg := Config{Interval: 2 * time.Second, Jitter: 0.2}
	f := setup(t, cfg)
	ctx := context.Background()
	iv, jmax := cfg.Interval, time.Duration(float64(cfg.Interval)*cfg.Jitter)
	const short, long = 100 * time.Millisecond, 5 * time.Second
	var lastEnd time.Time
	// send delivers the message at its slot (asking again when refused); the call takes d.
	send := func(id string, d time.Duration) []Moved {
		t.Helper()
		for {
			ok, at := f.acquire(t, sender, id, 30*time.Second)
			if ok {
				break
			}
			f.clock.Set(at)
		}
		if start := f.clock.Now(); !lastEnd.IsZero() && start.Sub(lastEnd) < iv {
			t.Fatalf("%s started %v after the last send ended", id, start.Sub(lastEnd))
		}
		f.clock.Advance(d)
		lastEnd = f.clock.Now()
		moved, err := f.p.Finish(ctx, sender, id, lastEnd)
		if err != nil {
			t.Fatal(err)
		}
		return moved
	}
	for i := range 3 { // normal sends
		id := fmt.Sprint("n", i)
		f.reserve(t, sender, id)
		send(id, short)
	}
	for i := range 6 { // the spike: every send takes 5 s
		id := fmt.Sprint("s", i)
		f.reserve(t, sender, id)
		send(id, long)
	}
	// A backlog arrives while sends are slow: its slots are planned for 5 s sends.
	const n = 20
	before := make([]time.Time, n)
	for i := range n {
		before[i] = f.reserve(t, sender, fmt.Sprint("b", i)).Slot
	}
	if gap := before[2].Sub(before[1]); gap < iv+3*time.Second {
		t.Fatalf("slots during the spike are %v apart; the test expects them planned for long sends", gap)
	}

	// The spike is over: the first of the backlog takes 100 ms.
	moved := send("b0", short)
	if len(moved) != n-1 {
		t.Fatalf("%d slots moved up, want the %d waiting", len(moved), n-1)
	}
	after := make([]time.Time, n)
	for i := 1; i < n; i++ {
		after[i] = f.reserve(t, sender, fmt.Sprint("b", i)).Slot // Reserve again: the slot it holds
		if moved[i-1].MsgID != fmt.Sprint("b", i) || !moved[i-1].Slot.Equal(after[i]) {
			t.Fatalf("moved[%d] = %+v; want b%d at %v", i-1, moved[i-1], i, after[i])
		}
	}
	if limit := lastEnd.Add(iv + jmax + short); after[1].After(limit) {
		t.Errorf("b1's slot is %v after b0's end, want at most %v", after[1].Sub(lastEnd), limit.Sub(lastEnd))
	}
	if after[1].Sub(lastEnd) < iv {
		t.Errorf("b1's slot is only %v after b0's end", after[1].Sub(lastEnd))
	}
	for i := 2; i < n; i++ {
		gap := after[i].Sub(after[i-1])
		if gap < iv+short || gap > iv+jmax+short {
			t.Errorf("gap b%d-b%d = %v, want within [%v, %v]", i-1, i, gap, iv+short, iv+jmax+short)
		}
		if after[i].After(before[i]) {
			t.Errorf("b%d moved later: %v → %v", i, before[i], after[i])
		}
	}
	// A newcomer queues behind the moved backlog, planned for short sends.
	if nx := f.reserve(t, sender, "next").Slot; nx.Before(after[n-1].Add(iv+short)) || nx.After(after[n-1].Add(iv+jmax+short)) {
		t.Errorf("a newcomer's slot is %v after the last of the backlog", nx.Sub(after[n-1]))
	}

	// The backlog goes at its new slots, each granted at once, none closer than the interval.
	for i := 1; i < n; i++ {
		f.clock.Set(after[i])
		if ok, at := f.acquire(t, sender, fmt.Sprint("b", i), 30*time.Second); !ok {
			t.Fatalf("b%d refused at its new slot, retry at %v", i, at)
		}
		if f.clock.Now().Sub(lastEnd) < iv {
			t.Fatalf("b%d started %v after the last send ended", i, f.clock.Now().Sub(lastEnd))
		}
		f.clock.Advance(short)
		lastEnd = f.clock.Now()
		if moved, err := f.p.Finish(ctx, sender, fmt.Sprint("b", i), lastEnd); err != nil || len(moved) != 0 {
			t.Fatalf("Finish(b%d) = %v, %v; nothing more to move", i, moved, err)
		}
	}
	if took, slow := lastEnd.Sub(after[1]), before[n-1].Sub(before[1]); took > slow/2 {
		t.Errorf("the backlog took %v after the spike, %v as planned during it", took, slow)
	}
}

// A send a little shorter than usual moves nothing: only a large drop is worth the work.
func TestOrdinaryVariationMovesNoSlot(t *testing.T) {
	f := setup(t, Config{Interval: 300 * time.Second})
	ctx := context.Background()
	for i := range 5 {
		f.reserve(t, sender, fmt.Sprint(i))
	}
	for i, d := range []time.Duration{3 * time.Second, 1 * time.Second, 2500 * time.Millisecond} {
		id := fmt.Sprint(i)
		for {
			ok, at := f.acquire(t, sender, id, 30*time.Second)
			if ok {
				break
			}
			f.clock.Set(at)
		}
		f.clock.Advance(d)
		moved, err := f.p.Finish(ctx, sender, id, f.clock.Now())
		if err != nil || len(moved) != 0 {
			t.Fatalf("send %d of %v moved %v, %v", i, d, moved, err)
		}
	}
}
