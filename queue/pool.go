package queue

import (
	"context"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue/pacer"
)

// A pool is several senders of one type that share an integration's mailings. Each guest
// (by the phone's digits) hears from one number: the one that first sent to the guest, as
// long as it is in the pool; until then the number is chosen by weighted rendezvous hashing —
// stable for a guest while the pool's load is steady, and spread over the numbers in
// proportion to their free capacity. A paused number (banned or blocked) takes no new guests;
// its guests' messages wait for it, as a single sender's do.

// sendFrom returns the integration as the sender that sends d goes (for a pool: the guest's
// number) and that sender's pacer key. A single sender's integration comes back as it is.
func (w *Worker) sendFrom(ctx context.Context, in *bellhop.Integration, d *bellhop.Delivery) (*bellhop.Integration, string, error) {
	if len(in.Pool) < 2 {
		key, err := w.senderKey(ctx, in)
		return in, key, err
	}
	digits := bellhop.PhoneDigits(d.Phone)
	pinned, err := w.cfg.Store.GuestSender(ctx, in.PropertyID, in.Provider, digits)
	if err != nil {
		return nil, "", err
	}
	if i := slices.IndexFunc(in.Pool, func(s bellhop.Sender) bool { return s.ID == pinned }); i >= 0 {
		member := memberOf(in, in.Pool[i])
		key, err := w.senderKey(ctx, member)
		return member, key, err
	}
	weights := make([]float64, len(in.Pool))
	keys := make([]string, len(in.Pool))
	for i, sd := range in.Pool {
		if keys[i], err = w.senderKey(ctx, memberOf(in, sd)); err != nil {
			return nil, "", err
		}
		st, err := w.cfg.Pacer.State(ctx, keys[i])
		if err != nil {
			return nil, "", err
		}
		weights[i] = freeCapacity(st)
	}
	i := rendezvous(digits, in.Pool, weights)
	return memberOf(in, in.Pool[i]), keys[i], nil
}

// freeCapacity is a number's weight among its pool: the sends a 12-hour sending day allows it
// (at most its daily cap), less the messages already waiting for it, and at least one; a
// paused number has none.
func freeCapacity(st pacer.State) float64 {
	if st.Paused {
		return 0
	}
	day := 12 * float64(time.Hour)
	if st.Interval > 0 {
		day /= float64(st.Interval)
	}
	if st.DailyCap > 0 {
		day = min(day, float64(st.DailyCap))
	}
	return max(day-float64(st.Waiting), 1)
}

// rendezvous picks the pool's number for a guest: the highest weight / −ln(h), h the guest's
// and the number's hash in (0, 1). A number's share of guests follows its weight, and a
// change of one number's weight moves only guests to or from it. With every weight zero
// (all paused) the guest's number is picked by the hash alone, and its messages wait for it.
func rendezvous(guest string, pool []bellhop.Sender, weights []float64) int {
	if !slices.ContainsFunc(weights, func(w float64) bool { return w > 0 }) {
		weights = slices.Repeat([]float64{1}, len(pool))
	}
	best, bestScore := 0, math.Inf(-1)
	for i, sd := range pool {
		if weights[i] <= 0 {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(guest))
		h.Write([]byte{0})
		h.Write([]byte(sd.ID))
		u := (float64(h.Sum64()>>11) + 0.5) / (1 << 53)
		if score := weights[i] / -math.Log(u); score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// pinGuest records the pool's number that sent to the guest: the guest stays on it.
func (w *Worker) pinGuest(ctx context.Context, log *sendLog, in *bellhop.Integration, d *bellhop.Delivery, at time.Time) {
	if len(in.Pool) < 2 || in.Sender == nil {
		return
	}
	if err := w.cfg.Store.PinGuestSender(ctx, in.PropertyID, in.Provider, bellhop.PhoneDigits(d.Phone), in.Sender.ID, at); err != nil {
		// The next message is chosen by hash again: most likely the same number.
		log.WarnContext(ctx, "could not record the pool's number that sent to the guest", "sender", in.Sender.ID, "error", err)
	}
}

// poolKeys are the pacer keys of every number of an integration's pool (or its one sender).
func poolKeys(in *bellhop.Integration) []string {
	var keys []string
	for _, sd := range in.Senders() {
		keys = append(keys, SenderKey(memberOf(in, sd)))
	}
	return keys
}

// pausedSince reports whether the pool's number chosen for d was paused since (a ban met by
// another send) while the guest is not yet its: d then gives up its place there, to be sent
// from another number. A single sender's message waits for it, as it always has.
func (w *Worker) pausedSince(ctx context.Context, in *bellhop.Integration, key string, d *bellhop.Delivery) bool {
	if len(in.Pool) < 2 || in.Sender == nil {
		return false
	}
	st, err := w.cfg.Pacer.State(ctx, key)
	if err != nil || !st.Paused {
		return false
	}
	pinned, err := w.cfg.Store.GuestSender(ctx, in.PropertyID, in.Provider, bellhop.PhoneDigits(d.Phone))
	if err != nil || pinned == in.Sender.ID {
		return false
	}
	return w.cfg.Pacer.Cancel(ctx, key, d.ID) == nil
}
