package pacer

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkReserve reserves ever more messages on one sender: the queue grows by b.N.
func BenchmarkReserve(b *testing.B) {
	f := setup(b, Config{})
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := f.p.Reserve(ctx, sender, strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAcquireDone is one delivered message on an idle sender: reserve, acquire at the
// slot, done.
func BenchmarkAcquireDone(b *testing.B) {
	f := setup(b, Config{Interval: time.Second, Jitter: -1})
	ctx := context.Background()
	i := 0
	for b.Loop() {
		id := strconv.Itoa(i)
		i++
		r, err := f.p.Reserve(ctx, sender, id)
		if err != nil {
			b.Fatal(err)
		}
		f.clock.Set(r.Slot)
		ok, _, err := f.p.Acquire(ctx, sender, id, time.Second)
		if err != nil || !ok {
			b.Fatalf("Acquire = %v, %v", ok, err)
		}
		f.clock.Advance(100 * time.Millisecond)
		if err := f.p.Done(ctx, sender, id, f.clock.Now()); err != nil {
			b.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
}
