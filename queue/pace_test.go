package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue/pacer"
)

// addRows adds scheduled deliveries of the fixture's property and kind, due at the given times.
func (f *fixture) addRows(due ...time.Time) []string {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	var ids []string
	for i, at := range due {
		d := cloneDelivery(f.store.rows[f.id])
		d.ID, d.BookingID, d.DueAt, d.PlannedAt = fmt.Sprintf("extra-%d", i), fmt.Sprintf("B-x%d", i), at, at
		f.store.rows[d.ID] = d
		ids = append(ids, d.ID)
	}
	return ids
}

// Redis lost the pacer's keys and the sends' tasks: the sweep gives the overdue sends their
// places back in the order they were due, not in the order their tasks happen to run.
func TestSweepGivesLostPlacesBackInDueOrder(t *testing.T) {
	f := newFixture(t, testPacer)
	ctx := context.Background()
	ids := f.addRows(t0.Add(-4*time.Minute), t0.Add(-10*time.Minute), t0.Add(-6*time.Minute))
	f.store.mu.Lock()
	delete(f.store.rows, f.id) // only the three overdue sends
	f.store.mu.Unlock()
	if n, err := f.w.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 queued", n, err)
	}
	in, _ := f.store.GetIntegration(ctx, propertyID, providerKind)
	slot := map[string]time.Time{}
	for _, id := range ids {
		r, err := f.w.cfg.Pacer.Reserve(ctx, SenderKey(in), id)
		if err != nil || r.Created {
			t.Fatalf("Reserve(%s) after the sweep = %+v, %v; want the place the sweep gave it", id, r, err)
		}
		slot[id] = r.Slot
	}
	// Due order: extra-1 (−10 min), extra-2 (−6 min), extra-0 (−4 min).
	if !slot["extra-1"].Before(slot["extra-2"]) || !slot["extra-2"].Before(slot["extra-0"]) {
		t.Errorf("places after the sweep: %v; want them in due order", slot)
	}
}

// When the pacer moves waiting sends up (a latency spike is over), their rows are due at the
// new slots and their tasks run again now, to be scheduled for them. A move under a second is
// not worth a task run.
func TestMovedUpSendsAreDueAtTheirNewSlots(t *testing.T) {
	f := newFixture(t, testPacer)
	ctx := context.Background()
	ids := f.addRows(t0.Add(time.Minute), t0.Add(2*time.Minute))
	f.w.moveUp(ctx, &sendLog{base: f.w.cfg.Logger, d: &bellhop.Delivery{}}, []pacer.Moved{
		{MsgID: ids[0], Slot: t0.Add(20 * time.Second)},
		{MsgID: ids[1], Slot: t0.Add(2*time.Minute - 500*time.Millisecond)},
		{MsgID: "gone", Slot: t0},
	})
	rows := map[string]*bellhop.Delivery{}
	for _, id := range ids {
		d, err := f.store.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rows[id] = d
	}
	if !rows[ids[0]].DueAt.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("moved row due at %v, want its new slot", rows[ids[0]].DueAt)
	}
	if !rows[ids[1]].DueAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("a row moved by half a second is due at %v, want it left alone", rows[ids[1]].DueAt)
	}
}

// A send the pacer keeps refusing (here the provider asks the sender to back off, again and
// again, as other sends of a busy sender would keep taking the slot) waits in-process while
// the whole wait stays within the lead, however many refusals that takes, and is handed back
// to Asynq, for the slot it then holds, only once it would wait longer.
func TestRefusedSendWaitsWithinTheLead(t *testing.T) {
	for _, c := range []struct {
		name     string
		backoffs int // refusals in a row, each 300 ms (a 200 ms back-off and the interval)
		sent     bool
	}{
		{"six refusals, 1.8 s: sent in this run", 6, true},
		{"refused for longer than the lead: back to Asynq", 100, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, pacer.Config{Interval: 100 * time.Millisecond, Jitter: -1})
			sender := SenderKey(&f.store.integration)
			backoffs := 0
			backoff := func() {
				if backoffs < c.backoffs {
					backoffs++
					if err := f.w.cfg.Pacer.Backoff(ctx, sender, f.clock.Now().Add(200*time.Millisecond)); err != nil {
						t.Fatal(err)
					}
				}
			}
			f.w.cfg.Sleep = func(_ context.Context, d time.Duration) error {
				f.clock.Advance(d)
				backoff() // someone else took the slot meanwhile
				return nil
			}
			backoff()
			err := f.send()
			waited := f.clock.Now().Sub(t0)
			if c.sent {
				if err != nil || sends(f) != 1 || backoffs != c.backoffs {
					t.Fatalf("Send = %v after %d refusals, %d provider calls; want sent in this run after %d", err, backoffs, sends(f), c.backoffs)
				}
				return
			}
			var ny *notYet
			if !errors.As(err, &ny) || sends(f) != 0 {
				t.Fatalf("Send = %v, %d provider calls; want to come back later, nothing sent", err, sends(f))
			}
			if waited > DefaultLead {
				t.Errorf("the run waited %v in-process, want at most the lead (%v)", waited, DefaultLead)
			}
			if d := f.row(t); !d.DueAt.Equal(ny.at) {
				t.Errorf("the row is due at %v, want the time the task comes back for, %v", d.DueAt, ny.at)
			}
		})
	}
}

func sends(f *fixture) int {
	n, _, _, _ := f.prov.counts()
	return n
}
