package pacer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestReserveGivesFIFOSlotsSpacedByIntervalPlusJitter(t *testing.T) {
	f := setup(t, Config{}) // 300 s, jitter 0.2
	const n = 50
	iv := 300 * time.Second
	var prev time.Time
	gaps := map[time.Duration]bool{}
	for i := range n {
		r := f.reserve(t, sender, fmt.Sprintf("m%02d", i))
		if i == 0 {
			if !r.Slot.Equal(t0) {
				t.Fatalf("first slot on an idle sender = %v, want now (%v)", r.Slot, t0)
			}
		} else {
			gap := r.Slot.Sub(prev)
			// Never under the interval (plus the send margin), never over 20 % more.
			if gap < iv+DefaultSendMargin || gap >= iv+iv/5 {
				t.Fatalf("gap %d = %v, want in [%v, %v)", i, gap, iv+DefaultSendMargin, iv+iv/5)
			}
			gaps[gap] = true
		}
		if !r.Created || r.Paused || !r.At.Equal(r.Slot) {
			t.Fatalf("reservation %d = %+v", i, r)
		}
		prev = r.Slot
		f.clock.Advance(time.Second) // messages keep arriving; the queue keeps its order
	}
	if len(gaps) < n/2 {
		t.Errorf("only %d distinct gaps in %d: jitter does not vary", len(gaps), n-1)
	}
	if st := f.state(t, sender); st.Waiting != n {
		t.Errorf("waiting = %d, want %d", st.Waiting, n)
	}
}

func TestReserveIsIdempotentPerMessage(t *testing.T) {
	f := setup(t, Config{})
	a := f.reserve(t, sender, "a")
	b := f.reserve(t, sender, "b")
	f.clock.Advance(time.Minute)
	again := f.reserve(t, sender, "b") // the task was redelivered
	if again.Created || !again.Slot.Equal(b.Slot) {
		t.Fatalf("redelivered Reserve = %+v, want the same slot %v", again, b.Slot)
	}
	if !a.Slot.Before(b.Slot) {
		t.Fatalf("a %v not before b %v", a.Slot, b.Slot)
	}
	c := f.reserve(t, sender, "c")
	if gap := c.Slot.Sub(b.Slot); gap < 300*time.Second {
		t.Errorf("c only %v after b", gap)
	}
	if st := f.state(t, sender); st.Waiting != 3 {
		t.Errorf("waiting = %d, want 3", st.Waiting)
	}
}

func TestAcquireRefusesEarlyAndMeasuresFromSendEnd(t *testing.T) {
	f := setup(t, noJitter)
	const maxSend = 30 * time.Second
	iv := noJitter.Interval
	f.reserve(t, sender, "a")
	b := f.reserve(t, sender, "b")
	if want := t0.Add(iv); !b.Slot.Equal(want) {
		t.Fatalf("b slot = %v, want %v", b.Slot, want)
	}

	if ok, _ := f.acquire(t, sender, "a", maxSend); !ok {
		t.Fatal("a refused at its slot")
	}
	// b asks before its slot: told to come back at it, keeping it.
	if ok, at := f.acquire(t, sender, "b", maxSend); ok || !at.Equal(b.Slot) {
		t.Fatalf("early b = %v, %v; want refused until %v", ok, at, b.Slot)
	}

	// a's provider call took 2 s: the next send may start only 300 s after that.
	sendEnd := t0.Add(2 * time.Second)
	f.clock.Set(sendEnd)
	f.done(t, sender, "a", sendEnd)
	f.clock.Set(b.Slot)
	ok, at := f.acquire(t, sender, "b", maxSend)
	if ok || !at.Equal(sendEnd.Add(iv)) {
		t.Fatalf("b at its slot = %v, %v; want refused with new slot %v", ok, at, sendEnd.Add(iv))
	}
	f.clock.Set(at)
	if ok, _ := f.acquire(t, sender, "b", maxSend); !ok {
		t.Fatal("b refused at its new slot")
	}
	st := f.state(t, sender)
	if st.Sending != "b" || st.Waiting != 0 || st.SentToday != 2 || !st.LastSendAt.Equal(at) {
		t.Errorf("state = %+v", st)
	}
}

func TestAcquireAndDoneAreIdempotent(t *testing.T) {
	f := setup(t, noJitter)
	f.reserve(t, sender, "a")
	for range 2 { // the reply of the first call was lost; go-redis or the caller retries
		if ok, _ := f.acquire(t, sender, "a", 30*time.Second); !ok {
			t.Fatal("a refused")
		}
	}
	end := t0.Add(time.Second)
	f.clock.Set(end)
	f.done(t, sender, "a", end)
	f.done(t, sender, "a", end)
	st := f.state(t, sender)
	if st.SentToday != 1 || st.Sending != "" || st.Waiting != 0 {
		t.Fatalf("state = %+v, want one send, none in flight", st)
	}
	if want := end.Add(noJitter.Interval); !st.NextFree.Equal(want) {
		t.Errorf("next free = %v, want %v", st.NextFree, want)
	}
}

// A worker killed before or during its send must not let the next send come too close.
func TestKilledWorkerCannotSendCloseToTheNextSlot(t *testing.T) {
	const maxSend = 60 * time.Second
	iv := noJitter.Interval

	t.Run("killed before sending, rerun late", func(t *testing.T) {
		f := setup(t, noJitter)
		f.reserve(t, sender, "a") // its worker dies here
		b := f.reserve(t, sender, "b")
		f.clock.Set(b.Slot)
		if ok, _ := f.acquire(t, sender, "b", maxSend); !ok {
			t.Fatal("b refused at its slot")
		}
		bEnd := b.Slot.Add(time.Second)
		f.clock.Set(bEnd)
		f.done(t, sender, "b", bEnd)

		f.clock.Set(bEnd.Add(40 * time.Second)) // a's task is retried now
		ok, at := f.acquire(t, sender, "a", maxSend)
		if ok {
			t.Fatal("a sent 40 s after b")
		}
		if at.Before(bEnd.Add(iv)) {
			t.Fatalf("a's new slot %v is closer than the interval to b's end %v", at, bEnd)
		}
		f.clock.Set(at)
		if ok, _ := f.acquire(t, sender, "a", maxSend); !ok {
			t.Fatal("a refused at its new slot")
		}
	})

	t.Run("killed while sending", func(t *testing.T) {
		f := setup(t, noJitter)
		f.reserve(t, sender, "a")
		b := f.reserve(t, sender, "b")
		if ok, _ := f.acquire(t, sender, "a", maxSend); !ok {
			t.Fatal("a refused")
		} // a's worker dies mid-send: no Done

		// The lease stands for a's whole possible send: b waits for its end plus the interval.
		f.clock.Set(b.Slot)
		ok, at := f.acquire(t, sender, "b", maxSend)
		if leaseEnd := t0.Add(maxSend); ok || at.Before(leaseEnd.Add(iv)) {
			t.Fatalf("b = %v, %v; want refused until %v", ok, at, leaseEnd.Add(iv))
		}
		// a's task is redelivered: Reserve gives it a slot after b's, not a second lease.
		r := f.reserve(t, sender, "a")
		if !r.Created || !r.Slot.After(at) {
			t.Fatalf("redelivered a = %+v; want a new slot after b's %v", r, at)
		}
		f.clock.Set(at)
		if ok, _ := f.acquire(t, sender, "b", maxSend); !ok {
			t.Fatal("b refused at its new slot")
		}
	})
}

func TestDailyCapRollsToTheNextDayInTheSendersZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, Config{})
	// Sunday 2026-03-29 is 23 hours long in Berlin: clocks jump from 02:00 to 03:00.
	f.clock.Set(time.Date(2026, 3, 28, 20, 0, 0, 0, berlin))
	f.setSettings(t, sender, Settings{Interval: time.Hour, DailyCap: 3, TimeZone: "Europe/Berlin"})

	want := []string{
		"03-28 20:00 CET", "03-28 21:00 CET", "03-28 22:00 CET",
		"03-29 00:00 CET", "03-29 01:00 CET", "03-29 03:00 CEST", // 02:00 does not exist
		"03-30 00:00 CEST", "03-30 01:00 CEST",
	}
	for i, w := range want {
		r := f.reserve(t, sender, fmt.Sprintf("m%d", i))
		if got := r.Slot.In(berlin).Format("01-02 15:04 MST"); got != w {
			t.Errorf("slot %d = %s, want %s", i, got, w)
		}
	}
	st := f.state(t, sender)
	if st.DailyCap != 3 || st.Waiting != len(want) {
		t.Errorf("state = %+v", st)
	}
	// The slot of a day whose cap is reached is the next day's start, not a time in it.
	if !st.NextFree.Equal(time.Date(2026, 3, 30, 2, 0, 0, 0, berlin)) {
		t.Errorf("next free = %v", st.NextFree.In(berlin))
	}
}

func TestDailyCapIsEnforcedAtSendTime(t *testing.T) {
	f := setup(t, noJitter)
	iv := noJitter.Interval
	var slots []time.Time
	for i := range 3 {
		slots = append(slots, f.reserve(t, sender, fmt.Sprint(i)).Slot)
	}
	// The cap arrives after the slots were given: the third send today is refused.
	f.setSettings(t, sender, Settings{Interval: iv, DailyCap: 2})
	for i, s := range slots {
		f.clock.Set(s)
		ok, at := f.acquire(t, sender, fmt.Sprint(i), time.Second)
		if i < 2 {
			if !ok {
				t.Fatalf("send %d refused", i)
			}
			f.done(t, sender, fmt.Sprint(i), s)
			continue
		}
		if tomorrow := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC); ok || !at.Equal(tomorrow) {
			t.Fatalf("third send = %v, %v; want refused until %v", ok, at, tomorrow)
		}
	}
	if st := f.state(t, sender); st.SentToday != 2 || st.DailyCap != 2 {
		t.Errorf("state = %+v", st)
	}
}

func TestWarmupRaisesTheDailyCapDayByDay(t *testing.T) {
	f := setup(t, Config{Interval: time.Hour, Jitter: -1, Warmup: []int{2, 3}, DailyCap: 4})
	perDay := map[string]int{}
	for i := range 14 {
		r := f.reserve(t, sender, fmt.Sprint(i))
		perDay[r.Slot.Format("01-02")]++
	}
	// Day 1 of the sender: 2, day 2: 3, then the plain cap of 4 (t0 is 10:00).
	want := map[string]int{"03-02": 2, "03-03": 3, "03-04": 4, "03-05": 4, "03-06": 1}
	if fmt.Sprint(perDay) != fmt.Sprint(want) {
		t.Errorf("slots per day = %v, want %v", perDay, want)
	}
	if st := f.state(t, sender); st.DailyCap != 2 {
		t.Errorf("today's cap = %d, want 2", st.DailyCap)
	}
}

func TestBackoffPushesTheSenderBackAndRespacesWaitingMessages(t *testing.T) {
	f := setup(t, noJitter)
	iv := noJitter.Interval
	ctx := context.Background()
	for _, m := range []string{"a", "b", "c"} {
		f.reserve(t, sender, m)
	}
	if ok, _ := f.acquire(t, sender, "a", 30*time.Second); !ok {
		t.Fatal("a refused")
	}
	// The provider answers 429, Retry-After 10 minutes.
	f.clock.Advance(time.Second)
	until := f.clock.Now().Add(10 * time.Minute)
	if err := f.p.Backoff(ctx, sender, until); err != nil {
		t.Fatal(err)
	}
	f.done(t, sender, "a", f.clock.Now())
	ra := f.reserve(t, sender, "a") // the refused message queues again
	if ra.Slot.Before(until.Add(iv)) {
		t.Fatalf("a's new slot %v is before the hold %v plus the interval", ra.Slot, until)
	}

	// b and c were already waiting, ahead of the hold: each gets a new slot when it asks,
	// and the slots stay in order and spaced.
	got := map[string]time.Time{"a": ra.Slot}
	for _, m := range []string{"b", "c"} {
		f.clock.Advance(iv)
		ok, at := f.acquire(t, sender, m, 30*time.Second)
		if ok {
			t.Fatalf("%s sent during the backoff", m)
		}
		got[m] = at
	}
	if got["b"].Sub(got["a"]) < iv || got["c"].Sub(got["b"]) < iv {
		t.Fatalf("slots after backoff a %v b %v c %v", got["a"], got["b"], got["c"])
	}
	if st := f.state(t, sender); st.NextFree.Sub(got["c"]) < iv {
		t.Errorf("next free %v too close to c %v", st.NextFree, got["c"])
	}
	f.clock.Set(got["a"])
	if ok, _ := f.acquire(t, sender, "a", time.Second); !ok {
		t.Fatal("a refused at its slot after the backoff")
	}
}

func TestPausedSenderKeepsItsMessagesUntilResumed(t *testing.T) {
	f := setup(t, noJitter)
	ctx := context.Background()
	a := f.reserve(t, sender, "a")
	f.reserve(t, sender, "b")
	if err := f.p.Pause(ctx, sender, "banned by the provider"); err != nil {
		t.Fatal(err)
	}
	ok, at := f.acquire(t, sender, "a", time.Second)
	if ok || !at.Equal(a.Slot.Add(DefaultPausedRetry)) {
		t.Fatalf("paused acquire = %v, %v; want refused until %v", ok, at, a.Slot.Add(DefaultPausedRetry))
	}
	c := f.reserve(t, sender, "c")
	if !c.Paused || c.At.Before(f.clock.Now().Add(DefaultPausedRetry)) {
		t.Fatalf("reservation while paused = %+v", c)
	}
	st := f.state(t, sender)
	if !st.Paused || st.PauseReason != "banned by the provider" || st.Waiting != 3 {
		t.Fatalf("paused state = %+v", st)
	}

	f.clock.Advance(2 * time.Hour)
	if err := f.p.Resume(ctx, sender); err != nil {
		t.Fatal(err)
	}
	st = f.state(t, sender)
	if st.Paused || st.PauseReason != "" || st.Waiting != 3 {
		t.Fatalf("resumed state = %+v", st)
	}
	// All three slots passed while paused: the first to ask goes, the others are spaced.
	if ok, _ := f.acquire(t, sender, "a", time.Second); !ok {
		t.Fatal("a refused after resume")
	}
	f.done(t, sender, "a", f.clock.Now())
	ok, bAt := f.acquire(t, sender, "b", time.Second)
	if ok || bAt.Sub(f.clock.Now()) < noJitter.Interval {
		t.Fatalf("b right after a = %v, %v", ok, bAt)
	}
}

func TestCancelDropsOnlyThatMessage(t *testing.T) {
	f := setup(t, noJitter)
	ctx := context.Background()
	f.reserve(t, sender, "a")
	f.reserve(t, sender, "b")
	c := f.reserve(t, sender, "c")
	for range 2 {
		if err := f.p.Cancel(ctx, sender, "b"); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.state(t, sender); st.Waiting != 2 {
		t.Fatalf("waiting = %d, want 2", st.Waiting)
	}
	if again := f.reserve(t, sender, "c"); !again.Slot.Equal(c.Slot) {
		t.Errorf("c moved from %v to %v", c.Slot, again.Slot)
	}
	if d := f.reserve(t, sender, "d"); d.Slot.Sub(c.Slot) != noJitter.Interval {
		t.Errorf("d at %v, want one interval after c %v", d.Slot, c.Slot)
	}
}

func TestCancelFreesItsPlaceInTheDay(t *testing.T) {
	f := setup(t, Config{Interval: time.Hour, Jitter: -1, DailyCap: 2})
	ctx := context.Background()
	f.reserve(t, sender, "a")
	b := f.reserve(t, sender, "b") // today is full
	if err := f.p.Cancel(ctx, sender, "b"); err != nil {
		t.Fatal(err)
	}
	if d := f.reserve(t, sender, "d"); d.Slot.Day() != t0.Day() || d.Slot.Sub(b.Slot) < time.Hour {
		t.Errorf("d = %v; want today, after b's slot %v", d.Slot, b.Slot)
	}
	if e := f.reserve(t, sender, "e"); e.Slot.Day() == t0.Day() {
		t.Errorf("e = %v; today was full again", e.Slot)
	}
}

func TestSettingsAreStoredPerSenderAndSeenByEveryWorker(t *testing.T) {
	f := setup(t, Config{})
	ctx := context.Background()
	other := f.worker(t, Config{}, 2)

	if s, err := f.p.Settings(ctx, sender); err != nil || s.Interval != DefaultInterval || s.Jitter != DefaultJitter {
		t.Fatalf("default settings = %+v, %v", s, err)
	}
	other.Reserve(ctx, sender, "warm") // the other worker caches the defaults

	want := Settings{Interval: 10 * time.Minute, Jitter: 0.1, DailyCap: 30, Warmup: []int{5, 10}, TimeZone: "Europe/Moscow"}
	f.setSettings(t, sender, want)
	got, err := other.Settings(ctx, sender)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("settings = %+v, %v; want %+v", got, err, want)
	}
	// The other worker's next reservation uses the new interval without being told.
	r, err := other.Reserve(ctx, sender, "next")
	if err != nil {
		t.Fatal(err)
	}
	if gap := r.Slot.Sub(t0); gap < 10*time.Minute || gap >= 11*time.Minute {
		t.Errorf("gap with new settings = %v", gap)
	}

	for _, bad := range []Settings{
		{Interval: 0},
		{Interval: time.Minute, Jitter: 1.5},
		{Interval: time.Minute, DailyCap: -1},
		{Interval: time.Minute, Warmup: []int{10, 0}},
		{Interval: time.Minute, TimeZone: "Mars/Olympus"},
	} {
		err := f.p.SetSettings(ctx, sender, bad)
		if bellhop.ErrorCode(err) != bellhop.EInvalid {
			t.Errorf("SetSettings(%+v) = %v, want invalid_input", bad, err)
		}
	}
}

func TestSendersListsKnownSendersByPrefix(t *testing.T) {
	f := setup(t, Config{})
	ctx := context.Background()
	for _, s := range []string{"intellectdialog:1:2", "intellectdialog:1:1", "intellectdialog:2:1", "other:*:1"} {
		f.reserve(t, s, "m")
	}
	f.setSettings(t, "intellectdialog:1:3", Settings{Interval: time.Minute})
	for prefix, want := range map[string]string{
		"":                  "[intellectdialog:1:1 intellectdialog:1:2 intellectdialog:1:3 intellectdialog:2:1 other:*:1]",
		"intellectdialog:1": "[intellectdialog:1:1 intellectdialog:1:2 intellectdialog:1:3]",
		"other:*":           "[other:*:1]",
		"other:?":           "[]",
	} {
		got, err := f.p.Senders(ctx, prefix)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("Senders(%q) = %v, %v; want %s", prefix, got, err, want)
		}
	}
}

func TestInvalidInputIsRefused(t *testing.T) {
	f := setup(t, Config{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty sender": func() error { _, err := f.p.Reserve(ctx, "", "m"); return err }(),
		"hash tag":     func() error { _, err := f.p.Reserve(ctx, "a{b}", "m"); return err }(),
		"empty msg":    func() error { _, err := f.p.Reserve(ctx, sender, ""); return err }(),
		"no max send":  func() error { _, _, err := f.p.Acquire(ctx, sender, "m", 0); return err }(),
	} {
		if bellhop.ErrorCode(err) != bellhop.EInvalid {
			t.Errorf("%s: %v, want invalid_input", name, err)
		}
	}
	if _, err := New(f.rdb, f.clock, Config{KeyPrefix: "x{"}); bellhop.ErrorCode(err) != bellhop.EInvalid {
		t.Errorf("prefix with a brace: %v", err)
	}
}

func TestWaitReachesTheExactSlotWithoutSleeping(t *testing.T) {
	clock := bellhop.NewSimulatedClock(t0)
	at := t0.Add(2*time.Second + 345678*time.Microsecond)
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		if d > time.Millisecond {
			d /= 2 // a timer that fires early: Wait checks the clock again
		}
		clock.Advance(d)
		return nil
	}
	if err := Wait(context.Background(), clock, at, sleep); err != nil {
		t.Fatal(err)
	}
	if now := clock.Now(); now.Before(at) || now.Sub(at) > time.Microsecond {
		t.Fatalf("woke at %v, want %v", now, at)
	}
	if len(slept) < 2 {
		t.Errorf("slept %v", slept)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, clock, at.Add(time.Hour), advanceSleep(clock)); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v", err)
	}
	if err := Wait(context.Background(), clock, t0, nil); err != nil { // already past: no timer
		t.Errorf("Wait for a past time = %v", err)
	}
}

func TestRefusedMessageKeepsItsPlaceWhenItFits(t *testing.T) {
	f := setup(t, noJitter)
	iv := noJitter.Interval
	ctx := context.Background()
	for _, m := range []string{"a", "b", "x", "c"} {
		f.reserve(t, sender, m)
	}
	if err := f.p.Cancel(ctx, sender, "x"); err != nil { // leaves two intervals between b and c
		t.Fatal(err)
	}
	f.acquire(t, sender, "a", 30*time.Second)
	end := t0.Add(2 * time.Second) // a's provider call took 2 s
	f.done(t, sender, "a", end)

	f.clock.Set(t0.Add(iv)) // b's slot: 2 s too early
	ok, at := f.acquire(t, sender, "b", 30*time.Second)
	if ok || !at.Equal(end.Add(iv)) {
		t.Fatalf("b = %v, %v; want refused until %v", ok, at, end.Add(iv))
	}
	c := f.reserve(t, sender, "c")
	if !at.Before(c.Slot) {
		t.Errorf("b moved behind c: b %v, c %v", at, c.Slot)
	}
}
