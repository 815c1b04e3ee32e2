package queue

import (
	"context"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue/pacer"
)

// LegacySenderKey is the pacer key of releases before the key held the provider host and the
// property (kind:org:sender). A sender's pace is carried over from it once (pacer.Inherit).
func LegacySenderKey(in *bellhop.Integration) string {
	sender := ""
	if in.Sender != nil {
		sender = in.Sender.ID
	}
	return in.Provider + ":" + in.OrganizationID + ":" + sender
}

// senderKey is the integration's pacer key, after carrying over, once per process, the pace
// the sender had under its legacy key: an upgrade does not let the number send early.
func (w *Worker) senderKey(ctx context.Context, in *bellhop.Integration) (string, error) {
	return w.placer.senderKey(ctx, in)
}

// latest is the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// moveUp brings forward the sends whose slots the pacer moved up (a provider's latency spike
// is over): their tasks were scheduled for the old slots. Each is due at its new slot, and
// its task is queued again for it. Moves under a second are left alone: tasks run on whole
// seconds.
func (w *Worker) moveUp(ctx context.Context, log *sendLog, moved []pacer.Moved) {
	if len(moved) == 0 {
		return
	}
	now := w.cfg.Clock.Now()
	woken := 0
	for _, m := range moved {
		d, err := w.cfg.Store.GetDelivery(ctx, m.MsgID)
		if err != nil || d.Status != bellhop.DeliveryScheduled || d.DueAt.Sub(m.Slot) < time.Second {
			continue
		}
		if ok, err := w.cfg.Store.DeferDelivery(ctx, d.ID, d.Version, m.Slot, now); err != nil || !ok {
			continue
		}
		if err := w.cfg.Client.Move(ctx, d, m.Slot, w.cfg.Lead); err != nil {
			log.WarnContext(ctx, "queueing a send whose slot moved up failed; it goes at its old time", "delivery", d.ID, "error", err)
			continue
		}
		woken++
	}
	if woken > 0 {
		log.InfoContext(ctx, "sends are short again: waiting sends moved up", "count", woken)
	}
}

// holdPlaces gives each overdue scheduled delivery its place in its sender's line, in the
// order the deliveries were due (due is the sweep's list, oldest first), and returns the
// slots to queue them for. A delivery that holds a slot keeps it; one whose slot Redis lost
// gets a new one behind those before it, rather than racing the others for the next slot
// when their tasks all run at once.
func (w *Worker) holdPlaces(ctx context.Context, due []*bellhop.Delivery) map[string]time.Time {
	var rows []*bellhop.Delivery
	for _, row := range due {
		d, err := w.cfg.Store.GetDelivery(ctx, row.ID)
		if err != nil || d.Status != bellhop.DeliveryScheduled || d.Version != row.Version {
			continue
		}
		rows = append(rows, d)
	}
	return w.placer.place(ctx, rows)
}
