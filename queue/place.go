package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue/pacer"
)

// PlaceStore is what placing due sends reads and writes.
type PlaceStore interface {
	GetMailing(ctx context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error)
	GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error)
	DeferDelivery(ctx context.Context, id string, version int, dueAt, now time.Time) (bool, error)
}

// Placer gives the sends that are due as they are queued their places in their senders'
// lines, so that each task is queued for its own slot: it runs once, just before the slot,
// and its Acquire is the first pacer call the worker makes for it. Without a Placer, a task
// due now learns its slot from a refused Acquire and waits for it through an Asynq retry
// (a second run, a second Acquire).
type Placer struct {
	store  PlaceStore
	pacer  *pacer.Pacer
	clock  bellhop.Clock
	lead   time.Duration
	logger *slog.Logger

	adopted sync.Map // pacer keys whose pre-issue-11 pace this process has carried over
}

// DefaultLead is how long before its slot a send's task is taken up by default (Config.Lead).
const DefaultLead = 2 * time.Second

// NewPlacer returns a Placer. lead is the worker's Config.Lead (0: DefaultLead); clock and
// logger default to the system clock and slog.Default().
func NewPlacer(store PlaceStore, p *pacer.Pacer, clock bellhop.Clock, lead time.Duration, logger *slog.Logger) *Placer {
	if clock == nil {
		clock = bellhop.SystemClock{}
	}
	if lead <= 0 {
		lead = DefaultLead
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Placer{store: store, pacer: p, clock: clock, lead: lead, logger: logger}
}

// senderKey is the integration's pacer key, after carrying over, once per process, the pace
// the sender had under its legacy key: an upgrade does not let the number send early.
func (pl *Placer) senderKey(ctx context.Context, in *bellhop.Integration) (string, error) {
	key := SenderKey(in)
	if _, ok := pl.adopted.Load(key); ok {
		return key, nil
	}
	if err := pl.pacer.Inherit(ctx, LegacySenderKey(in), key); err != nil {
		return "", err
	}
	pl.adopted.Store(key, true)
	return key, nil
}

// pickup is how long a task queued now may take to start: Asynq's workers poll an empty
// queue once a second. A line that starts on an idle sender plans its second send at least
// this far ahead, so that the first one's pickup does not push the rest back.
const pickup = time.Second

// placeInFlight is how many senders' batches are placed at once.
const placeInFlight = 16

// place reserves the slots of the scheduled deliveries in ds that are due by now + lead, one
// ReserveMany per sender in the order they come in ds (due order), and returns each placed
// delivery's slot (when to send; later while its sender is paused). A row whose slot is more
// than the lead after its due time is deferred to it, so that the sweep does not take it
// for a lost send. A delivery whose sender cannot be told (no mailing, no active and
// verified integration with a sender) is left out: its task finds out why. Errors are
// logged: an unplaced send still goes, its first Acquire gives it its place.
func (pl *Placer) place(ctx context.Context, ds []*bellhop.Delivery) map[string]time.Time {
	now := pl.clock.Now()
	type line struct {
		key  string
		rows []*bellhop.Delivery
	}
	// Each property, kind and channel's sender is looked up once, several at a time: a batch
	// over many hotels (onboarding, a sweep) would otherwise wait on their lookups one by one
	// before its first task is queued.
	lineAt := func(d *bellhop.Delivery) string { return d.PropertyID + "\x00" + string(d.Kind) + "\x00" + d.Channel }
	seen := map[string]bool{}
	var firsts []*bellhop.Delivery // the first delivery of each property, kind and channel
	for _, d := range ds {
		if d.Status != bellhop.DeliveryScheduled || d.DueAt.After(now.Add(pl.lead)) {
			continue
		}
		if at := lineAt(d); !seen[at] {
			seen[at] = true
			firsts = append(firsts, d)
		}
	}
	found := make([]string, len(firsts))
	parallel(len(firsts), placeInFlight, func(i int) { found[i] = pl.lineOf(ctx, firsts[i]) })
	keys := make(map[string]string, len(firsts)) // property, kind and channel → pacer key, "" when it cannot send
	for i, d := range firsts {
		keys[lineAt(d)] = found[i]
	}
	var lines []*line
	bySender := map[string]*line{}
	for _, d := range ds {
		if d.Status != bellhop.DeliveryScheduled || d.DueAt.After(now.Add(pl.lead)) {
			continue
		}
		key := keys[lineAt(d)]
		if key == "" {
			continue
		}
		l := bySender[key]
		if l == nil {
			l = &line{key: key}
			bySender[key] = l
			lines = append(lines, l)
		}
		l.rows = append(l.rows, d)
	}
	slots := make(map[string]time.Time, len(ds))
	// A line that goes out within the lead needs no places: its tasks, queued now, wait out
	// their turns in-process (a refused Acquire tells each when), with no retry through Asynq.
	long := lines[:0]
	for _, l := range lines {
		if time.Duration(len(l.rows))*pl.pacer.Interval(l.key) > pl.lead {
			long = append(long, l)
		}
	}
	lines = long
	var mu sync.Mutex
	parallel(len(lines), placeInFlight, func(i int) {
		got := pl.reserve(ctx, lines[i].key, lines[i].rows, now)
		mu.Lock()
		for id, at := range got {
			slots[id] = at
		}
		mu.Unlock()
	})
	return slots
}

// parallel runs f(0) … f(n-1), at most width at a time, and returns when all are done.
func parallel(n, width int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(width, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// lineOf is the pacer key of the delivery's sender, "" when it has none to send through now.
func (pl *Placer) lineOf(ctx context.Context, d *bellhop.Delivery) string {
	m, err := pl.store.GetMailing(ctx, d.PropertyID, d.Kind)
	if err != nil {
		return ""
	}
	kind := d.Channel // the channel it is on, or before one is chosen the mailing's first
	if kind == "" {
		kind = m.SendingMethod
	}
	in, err := pl.store.GetIntegration(ctx, d.PropertyID, kind)
	// A pool's number depends on the guest: its sends take their places as they run.
	if err != nil || in.Sender == nil || len(in.Pool) >= 2 || !in.Active || in.Status != bellhop.StatusVerified {
		return ""
	}
	key, err := pl.senderKey(ctx, in)
	if err != nil {
		pl.logger.WarnContext(ctx, "placing due sends: the sender's earlier pace could not be read", "property", d.PropertyID, "error", err)
		return ""
	}
	return key
}

func (pl *Placer) reserve(ctx context.Context, key string, rows []*bellhop.Delivery, now time.Time) map[string]time.Time {
	ids := make([]string, len(rows))
	for i, d := range rows {
		ids[i] = d.ID
	}
	rs, err := pl.pacer.ReserveMany(ctx, key, ids, pickup)
	if err != nil {
		pl.logger.WarnContext(ctx, "placing due sends in their sender's line failed; their tasks ask for their places", "sender", key, "count", len(ids), "error", err)
		return nil
	}
	out := make(map[string]time.Time, len(rs))
	for i, r := range rs {
		d := rows[i]
		if r.At.After(d.DueAt.Add(pl.lead)) {
			if ok, err := pl.store.DeferDelivery(ctx, d.ID, d.Version, r.At, now); err != nil || !ok {
				continue // moved on meanwhile, or the row is not to be trusted: queue it as due
			}
		}
		out[d.ID] = r.At
	}
	return out
}
