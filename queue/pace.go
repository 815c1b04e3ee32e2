package queue

import (
	"context"
	"log/slog"
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
	key := SenderKey(in)
	if _, ok := w.adopted.Load(key); ok {
		return key, nil
	}
	if err := w.cfg.Pacer.Inherit(ctx, LegacySenderKey(in), key); err != nil {
		return "", err
	}
	w.adopted.Store(key, true)
	return key, nil
}

// moveUp brings forward the sends whose slots the pacer moved up (a provider's latency spike
// is over): their tasks were scheduled for the old slots. Each is due at its new slot, and
// its task runs now to be scheduled again for it. Moves under a second are left alone: tasks
// run on whole seconds.
func (w *Worker) moveUp(ctx context.Context, log *slog.Logger, moved []pacer.Moved) {
	if len(moved) == 0 {
		return
	}
	now := w.cfg.Clock.Now()
	var woken []*bellhop.Delivery
	for _, m := range moved {
		d, err := w.cfg.Store.GetDelivery(ctx, m.MsgID)
		if err != nil || d.Status != bellhop.DeliveryScheduled || d.DueAt.Sub(m.Slot) < time.Second {
			continue
		}
		if ok, err := w.cfg.Store.DeferDelivery(ctx, d.ID, d.Version, m.Slot, now); err != nil || !ok {
			continue
		}
		d.DueAt = m.Slot
		woken = append(woken, d)
	}
	if err := w.cfg.Client.Wake(ctx, woken); err != nil {
		log.WarnContext(ctx, "waking sends whose slots moved up failed; they go at their old times", "error", err)
	}
	if len(woken) > 0 {
		log.InfoContext(ctx, "sends are short again: waiting sends moved up", "count", len(woken))
	}
}

// holdPlaces gives each overdue scheduled delivery its place in its sender's line, in the
// order the deliveries were due (due is the sweep's list, oldest first). A delivery that holds
// a slot keeps it; one whose slot Redis lost gets a new one behind those before it, rather
// than racing the others for the next slot when their tasks all run at once.
func (w *Worker) holdPlaces(ctx context.Context, due []*bellhop.Delivery) {
	st := w.cfg.Store
	keys := map[string]string{} // property and kind → pacer key, "" when it cannot send
	for _, row := range due {
		d, err := st.GetDelivery(ctx, row.ID)
		if err != nil || d.Status != bellhop.DeliveryScheduled || d.Version != row.Version {
			continue
		}
		at := d.PropertyID + "\x00" + string(d.Kind)
		key, seen := keys[at]
		if !seen {
			if m, err := st.GetMailing(ctx, d.PropertyID, d.Kind); err == nil {
				// A pool's number depends on the guest: its sends take their places as they run.
				if in, err := st.GetIntegration(ctx, d.PropertyID, m.SendingMethod); err == nil && in.Sender != nil && len(in.Pool) < 2 {
					key, _ = w.senderKey(ctx, in)
				}
			}
			keys[at] = key
		}
		if key == "" {
			continue
		}
		if _, err := w.cfg.Pacer.Reserve(ctx, key, d.ID); err != nil {
			w.cfg.Logger.WarnContext(ctx, "sweep: could not hold a send's place in its sender's line", "delivery", d.ID, "error", err)
		}
	}
}
