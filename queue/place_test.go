package queue

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/queue/pacer"
)

// placed queues the fixture's pending rows ids, in that order, through a client with a
// Placer, and returns the slot each task carries (zero: none).
func (f *fixture) placed(t *testing.T, ids ...string) map[string]time.Time {
	t.Helper()
	ctx := context.Background()
	c := f.w.cfg.Client
	c.UsePlacer(NewPlacer(f.store, f.w.cfg.Pacer, f.clock, 0, f.w.cfg.Logger))
	var ds []*bellhop.Delivery
	for _, id := range ids {
		d, err := f.store.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	if err := c.Schedule(ctx, ds); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	out := map[string]time.Time{}
	for _, d := range ds {
		info, err := c.inspector.GetTaskInfo(c.queue, TaskID(d))
		if err != nil {
			t.Fatalf("the task of %s: %v", d.ID, err)
		}
		var p sendPayload
		if err := json.Unmarshal(info.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out[d.ID] = time.Time{}
		if p.Slot != 0 {
			out[d.ID] = time.UnixMicro(p.Slot)
		}
	}
	return out
}

// Sends due at once on one sender are each queued for their own slot, in due order: the task
// runs once, a lead before its slot, and its one Acquire lets it through — no refused Acquire,
// no Asynq retry. A row whose slot is well after its due time says so (the sweep leaves it).
func TestDueSendsAreQueuedForTheirSlots(t *testing.T) {
	f := newFixture(t, testPacer) // 10 s apart: three of them take longer than the lead
	ids := f.addRows(t0, t0)
	slots := f.placed(t, ids[0], ids[1], f.id)
	iv := testPacer.Interval
	want := []time.Time{t0, t0.Add(time.Second + iv), t0.Add(time.Second + 2*iv)}
	for i, id := range []string{ids[0], ids[1], f.id} {
		if !slots[id].Equal(want[i]) {
			t.Fatalf("slots %v; want now, then the pickup allowance and the interval apart", slots)
		}
	}
	if d := f.rowOf(t, f.id); !d.DueAt.Equal(want[2]) {
		t.Errorf("the third row is due at %v, want its slot %v", d.DueAt, want[2])
	}
	// The first two went (their sends are not this test's); the third's task comes up early
	// (Asynq runs it in the second before its lead), waits for its slot and goes in one run.
	for _, id := range ids {
		if ok, _, err := f.w.cfg.Pacer.Acquire(context.Background(), SenderKey(&f.store.integration), id, time.Second); err != nil || !ok {
			t.Fatalf("Acquire(%s) = %v, %v", id, ok, err)
		}
		f.clock.Advance(time.Second)
		if err := f.w.cfg.Pacer.Done(context.Background(), SenderKey(&f.store.integration), id, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(want[1])
	}
	f.clock.Set(want[2].Add(-DefaultLead - time.Second))
	if err := f.w.send(context.Background(), f.id, 1, want[2]); err != nil {
		t.Fatalf("the third send at its slot: %v", err)
	}
	if d := f.row(t); d.Status != bellhop.DeliverySent || d.SentAt == nil || d.SentAt.Before(want[2]) {
		t.Fatalf("the third row = %+v; want sent at its slot %v", d, want[2])
	}
}

// A line that goes out within the lead is not placed: its tasks are queued now and space
// themselves in-process. A send that is not due yet is not placed either.
func TestShortLinesAndLaterSendsAreNotPlaced(t *testing.T) {
	f := newFixture(t, pacer.Config{Interval: 100 * time.Millisecond, Jitter: -1})
	ids := f.addRows(t0, t0.Add(time.Hour))
	for id, slot := range f.placed(t, f.id, ids[0], ids[1]) {
		if !slot.IsZero() {
			t.Errorf("%s was placed at %v; want no place", id, slot)
		}
	}
	if st, err := f.w.cfg.Pacer.State(context.Background(), SenderKey(&f.store.integration)); err != nil || st.Waiting != 0 {
		t.Errorf("pacer state %+v, %v; want nobody waiting", st, err)
	}
}

func (f *fixture) rowOf(t *testing.T, id string) *bellhop.Delivery {
	t.Helper()
	d, err := f.store.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// listingProvider is the fake account with a stop list it can read whole.
type listingProvider struct {
	*fakeProvider
	reads int
	fail  error
}

func (p *listingProvider) StopList(context.Context) (func(string) bool, error) {
	p.reads++
	if p.fail != nil {
		return nil, p.fail
	}
	p.mu.Lock()
	listed := map[string]bool{}
	for k, v := range p.stopped {
		listed[k] = v
	}
	p.mu.Unlock()
	return func(phone string) bool { return listed[phone] }, nil
}

// The account's stop list is read once per StopListFor, not once per send: a phone put on it
// is honoured from the next read on. An account that cannot answer makes the send wait; a
// list that cannot be read whole is asked about each phone.
func TestStopListIsReadOncePerAccountForAWhile(t *testing.T) {
	f := newFixture(t, testPacer)
	ctx := context.Background()
	p := &listingProvider{fakeProvider: f.prov}
	in := &f.store.integration
	const other = "+79990000001"
	for range 3 {
		if listed, err := f.w.stopListed(ctx, p, in, guestPhone); err != nil || listed {
			t.Fatalf("stopListed = %v, %v; want not listed", listed, err)
		}
	}
	p.stopped[other] = true
	if listed, _ := f.w.stopListed(ctx, p, in, other); listed || p.reads != 1 {
		t.Fatalf("within a minute: listed %v after %d reads; want the list as first read, read once", listed, p.reads)
	}
	f.clock.Advance(DefaultStopListFor)
	if listed, _ := f.w.stopListed(ctx, p, in, other); !listed || p.reads != 2 {
		t.Fatalf("after a minute: listed %v after %d reads; want the phone honoured from the second read", listed, p.reads)
	}
	f.clock.Advance(DefaultStopListFor)
	p.fail = &provider.Error{Failure: provider.FailUnavailable, Reason: "down"}
	if _, err := f.w.stopListed(ctx, p, in, other); provider.FailureOf(err) != provider.FailUnavailable {
		t.Fatalf("an account that does not answer: %v; want its failure (the send waits)", err)
	}
	p.fail = errors.New("a shape the reader does not know")
	if listed, err := f.w.stopListed(ctx, p, in, other); err != nil || !listed {
		t.Fatalf("a list that cannot be read whole: %v, %v; want the phone asked about", listed, err)
	}
}
