package pacer

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A batch is placed as if its messages had been reserved one by one, in the order given, for
// one round trip: a held slot is kept, new ones are spaced by the interval and come out FIFO.
func TestReserveManyPlacesABatchInOrderInOneCall(t *testing.T) {
	f := setup(t, noJitter)
	ctx := context.Background()
	held := f.reserve(t, sender, "m1")
	counted := &commandCounter{}
	f.rdb.AddHook(counted)
	ids := []string{"m0", "m1", "m2", "m3"}
	rs, err := f.p.ReserveMany(ctx, sender, ids, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := counted.n.Load(); n != 1 {
		t.Errorf("a batch of %d cost %d commands, want 1", len(ids), n)
	}
	iv := noJitter.Interval
	want := map[string]time.Time{"m1": held.Slot, "m0": held.Slot.Add(iv), "m2": held.Slot.Add(2 * iv), "m3": held.Slot.Add(3 * iv)}
	for i, r := range rs {
		if r.MsgID != ids[i] || !r.Slot.Equal(want[r.MsgID]) || r.Created != (r.MsgID != "m1") {
			t.Errorf("reservation %d = %+v; want %s at %v, created unless held", i, r, ids[i], want[ids[i]])
		}
	}
	again, err := f.p.ReserveMany(ctx, sender, ids, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Created || !r.Slot.Equal(rs[i].Slot) {
			t.Errorf("a batch queued again moved %s: %+v, was %+v", r.MsgID, r, rs[i])
		}
	}
}

// The first message of a line that starts on an idle sender goes now; its task still has to
// be picked up, so the others are planned from the pickup allowance on (five intervals at
// most), and the first may start that much late without pushing the second to the back.
func TestReserveManyLeavesTheFirstSendItsPickup(t *testing.T) {
	f := setup(t, noJitter)
	ctx := context.Background()
	rs, err := f.p.ReserveMany(ctx, sender, []string{"a", "b"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	iv := noJitter.Interval
	if !rs[0].Slot.Equal(t0) || !rs[1].Slot.Equal(t0.Add(time.Second+iv)) {
		t.Fatalf("slots %v, %v; want now and now + 1 s + interval", rs[0].Slot, rs[1].Slot)
	}
	f.clock.Advance(900 * time.Millisecond) // a's task was picked up late
	if ok, _ := f.acquire(t, sender, "a", time.Second); !ok {
		t.Fatal("the first of the line refused")
	}
	f.done(t, sender, "a", f.clock.Now().Add(50*time.Millisecond))
	f.clock.Set(rs[1].Slot)
	if ok, at := f.acquire(t, sender, "b", time.Second); !ok {
		t.Fatalf("the second refused at its slot (retry at %v): the first's pickup pushed it back", at)
	}
	// The allowance is at most five intervals: a short interval's line is not held back a second.
	g := setup(t, Config{Interval: time.Millisecond, Jitter: -1})
	rs, err = g.p.ReserveMany(ctx, sender, []string{"a", "b"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs[1].Slot.Sub(rs[0].Slot); got != 6*time.Millisecond {
		t.Errorf("second slot %v after the first, want 5 intervals + 1", got)
	}
}

// Under a daily cap a batch spreads over the days it needs, each day holding no more than the
// cap, in order.
func TestReserveManyKeepsTheDailyCapAcrossDays(t *testing.T) {
	f := setup(t, Config{Interval: time.Minute, Jitter: -1, DailyCap: 3})
	ids := make([]string, 8)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
	}
	rs, err := f.p.ReserveMany(context.Background(), sender, ids, 0)
	if err != nil {
		t.Fatal(err)
	}
	perDay := map[string]int{}
	for i, r := range rs {
		perDay[r.Slot.UTC().Format(time.DateOnly)]++
		if i > 0 && !r.Slot.After(rs[i-1].Slot) {
			t.Fatalf("slot %d %v not after %v", i, r.Slot, rs[i-1].Slot)
		}
	}
	if len(perDay) != 3 {
		t.Errorf("8 messages at 3 a day over %d days (%v), want 3", len(perDay), perDay)
	}
	for day, n := range perDay {
		if n > 3 {
			t.Errorf("%s holds %d slots, over the cap of 3", day, n)
		}
	}
}
