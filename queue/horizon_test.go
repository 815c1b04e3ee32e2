package queue

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue/pacer"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/store/storetest"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// One holder at a time; a holder that dies (stops renewing) loses the lease when its time to
// live runs out, and the next one takes over.
func TestLeaseOneHolderAtATime(t *testing.T) {
	rdb, ns := newRedis(t)
	ctx := context.Background()
	key := ns + "lease"
	a, b := NewLease(rdb, key, 30*time.Second), NewLease(rdb, key, 30*time.Second)
	hold := func(l *Lease, name string, want bool) {
		t.Helper()
		if got, err := l.Hold(ctx); err != nil || got != want {
			t.Fatalf("%s.Hold() = %v, %v; want %v", name, got, err, want)
		}
	}
	hold(a, "a", true)
	hold(b, "b", false)
	hold(a, "a (renewing)", true)
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 30*time.Second {
		t.Errorf("the lease's time to live is %v, want at most 30 s: a dead holder's lease must run out", ttl)
	}
	// a dies: it renews no more, and Redis lets the key go when its time to live is over
	// (standing for the 30 s here, the key's expiry is moved to a moment already past).
	if err := rdb.PExpireAt(ctx, key, time.UnixMilli(1)).Err(); err != nil {
		t.Fatal(err)
	}
	hold(b, "b (after a's lease ran out)", true)
	hold(a, "a (come back)", false)
	// Release gives the lease up at once, and only the holder's own.
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	hold(a, "a (after its Release of b's lease)", false)
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	hold(a, "a (after b's Release)", true)
}

// QueueBatch writes, many to a round trip, exactly the task Asynq's client writes: the same
// message bytes, hash fields and set entry, so Asynq's servers run it like any other.
func TestQueueBatchWritesAsynqsTask(t *testing.T) {
	rdb, ns := newRedis(t)
	ctx := context.Background()
	c := NewClient(rdb, ns+"batch")
	t.Cleanup(func() { deleteQueue(rdb, c.queue) })
	future := time.Now().Add(24 * time.Hour).Truncate(time.Second) // Asynq's client judges "future" by the real time
	d := &bellhop.Delivery{ID: "dl_batch", Version: 3, Status: bellhop.DeliveryScheduled, DueAt: future}
	prefix := "asynq:{" + c.queue + "}:"
	task := func(id string) map[string]string {
		t.Helper()
		h, err := rdb.HGetAll(ctx, prefix+"t:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		delete(h, "pending_since") // a time
		return h
	}
	// Asynq's own enqueue, read back and removed.
	if err := c.enqueueDelivery(ctx, d, time.Time{}); err != nil {
		t.Fatal(err)
	}
	want, wantScore := task(TaskID(d)), rdb.ZScore(ctx, prefix+"scheduled", TaskID(d)).Val()
	deleteQueue(rdb, c.queue)

	now := time.Now()
	if n, err := c.QueueBatch(ctx, []*bellhop.Delivery{d}, now); err != nil || n != 1 {
		t.Fatalf("QueueBatch = %d, %v; want 1 queued", n, err)
	}
	if got := task(TaskID(d)); !reflect.DeepEqual(got, want) {
		t.Errorf("QueueBatch wrote %q, Asynq writes %q", got, want)
	}
	if got := rdb.ZScore(ctx, prefix+"scheduled", TaskID(d)).Val(); got != wantScore {
		t.Errorf("scheduled at %v, Asynq schedules at %v", got, wantScore)
	}
	if !rdb.SIsMember(ctx, "asynq:queues", c.queue).Val() {
		t.Errorf("the queue is not in Asynq's set of queues")
	}
	info, err := c.inspector.GetTaskInfo(c.queue, TaskID(d))
	if err != nil || info.Type != TypeSend || info.MaxRetry != DefaultMaxRetry || info.Timeout != sendTaskTimeout ||
		info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(future) {
		t.Errorf("Asynq reads the task as %+v, %v", info, err)
	}

	// The same version again is refused by its id; a due one goes straight to pending.
	due := &bellhop.Delivery{ID: "dl_due", Version: 1, Status: bellhop.DeliveryScheduled, DueAt: now.Add(-time.Minute)}
	sent := &bellhop.Delivery{ID: "dl_sent", Version: 1, Status: bellhop.DeliverySent, DueAt: now}
	if n, err := c.QueueBatch(ctx, []*bellhop.Delivery{d, due, sent}, now); err != nil || n != 1 {
		t.Fatalf("QueueBatch of a queued, a due and a sent delivery = %d, %v; want 1 queued", n, err)
	}
	if info, err := c.inspector.GetTaskInfo(c.queue, TaskID(due)); err != nil || info.State != asynq.TaskStatePending {
		t.Errorf("the due send is %+v, %v; want pending", info, err)
	}
	if n := rdb.ZCard(ctx, prefix+"scheduled").Val() + rdb.LLen(ctx, prefix+"pending").Val(); n != 2 {
		t.Errorf("%d tasks queued, want 2 (nothing twice, nothing for a sent delivery)", n)
	}
}

// deleteQueue removes an Asynq queue's keys.
func deleteQueue(rdb *redis.Client, queue string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, "asynq:{"+queue+"}:*", 500).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// horizonStack is planning, the horizon's scheduler and a worker on one real database and
// Redis, on a simulated clock.
type horizonStack struct {
	db       *store.DB
	rdb      *redis.Client
	clock    *bellhop.SimulatedClock
	mailings *mailings.Service
	client   *Client
	worker   *Worker
}

// txStore gives the planner its transactions and the worker its claim and due list on the
// real database (cmd/bellhop wires the same).
type txStore struct{ *store.DB }

func (s txStore) InTx(ctx context.Context, fn func(tx mailings.Tx) error) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (s txStore) ClaimDelivery(ctx context.Context, d *bellhop.Delivery, provider, senderID string, leaseUntil, now time.Time) (attempt int, owner string, err error) {
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		attempt, owner, err = tx.ClaimDelivery(ctx, d, provider, senderID, leaseUntil, now)
		return err
	})
	return attempt, owner, err
}

func (s txStore) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*bellhop.Delivery, error) {
	due, err := s.DB.DueDeliveries(ctx, now, limit)
	out := make([]*bellhop.Delivery, 0, len(due))
	for _, d := range due {
		out = append(out, &bellhop.Delivery{ID: d.ID, Version: d.Version, Status: d.Status, Attempts: d.Attempts, DueAt: d.DueAt})
	}
	return out, err
}

func newHorizonStack(t *testing.T, db *store.DB) *horizonStack {
	t.Helper()
	ctx := context.Background()
	rdb, ns := newRedis(t)
	clock := bellhop.NewSimulatedClock(t0)
	client := NewClient(rdb, ns+"mailings")
	t.Cleanup(func() {
		deleteQueue(rdb, client.queue)
		rdb.Del(context.Background(), "bellhop:alive:{"+client.queue+"}", "bellhop:lease:{"+client.queue+"}:horizon")
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := mailings.New(mailings.Config{Store: txStore{db}, Scheduler: client, Clock: clock, Logger: quiet, Horizon: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pacer.New(rdb, clock, pacer.Config{Interval: 10 * time.Second, KeyPrefix: ns + "pacer:"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(Config{Store: txStore{db}, Connector: &fakeConnector{}, Pacer: p, Client: client, Clock: clock,
		Logger: quiet, Horizon: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProperty(ctx, &bellhop.Property{ID: propertyID, Name: "Hotel Neva", TimeZone: "UTC", Language: "en",
		ContactCenter: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveIntegration(ctx, &bellhop.Integration{PropertyID: propertyID, Provider: providerKind,
		BaseURL: "https://api.example.com/v2/", Status: bellhop.StatusVerified, Active: true, OrganizationID: "org-1",
		Sender: &bellhop.Sender{ID: senderID, Type: "whatsapp"}, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ms := mailings.Defaults(propertyID, providerKind)
	for i := range ms {
		ms[i].Enabled = true
		ms[i].Schedule.QuietStart, ms[i].Schedule.QuietEnd = "00:00", "00:00"
	}
	if _, err := db.CreateMailings(ctx, ms); err != nil {
		t.Fatal(err)
	}
	return &horizonStack{db: db, rdb: rdb, clock: clock, mailings: svc, client: client, worker: w}
}

// push plans a booking arriving on the given day (the welcome goes at 12:00 the day before).
func (s *horizonStack) push(t *testing.T, id string, arrival bellhop.Date) {
	t.Helper()
	now := s.clock.Now()
	b := &bellhop.Booking{ID: id, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
		Arrival: arrival, Departure: arrival.AddDays(2), CreatedAt: now, UpdatedAt: now,
		Guest: bellhop.Guest{Name: "Guest " + id, Phone: "+7912345" + id[len(id)-4:], Language: "en"}}
	if _, err := s.mailings.PutBooking(context.Background(), propertyID, b); err != nil {
		t.Fatal(err)
	}
}

// tasks lists the queued sends in Redis, by task id.
func (s *horizonStack) tasks(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	prefix := "asynq:{" + s.client.queue + "}:"
	ids := s.rdb.ZRange(ctx, prefix+"scheduled", 0, -1).Val()
	ids = append(ids, s.rdb.LRange(ctx, prefix+"pending", 0, -1).Val()...)
	slices.Sort(ids)
	return ids
}

func welcomeTask(bid string, version int) string {
	return mailings.DeliveryID(propertyID, bid, bellhop.Welcome) + ":v" + string(rune('0'+version))
}

// Sends due beyond the horizon stay only in the database; the scheduler queues each as it
// comes within, once, one scheduler at a time; a re-plan or a cancellation before then is a
// database change only; and a Redis that restarts empty gets back what it held from the
// database, while later sends keep waiting there.
func TestHorizonQueuesSendsAsTheyComeWithin(t *testing.T) {
	for name, open := range storetest.Databases() {
		t.Run(name, func(t *testing.T) {
			s := newHorizonStack(t, open(t))
			ctx := context.Background()
			today := bellhop.DateOf(t0)
			// Welcomes at 12:00 the day before arrival: B-0001's is today at 12:00, two hours
			// from now (beyond the horizon); B-0002's tomorrow; B-0003's, for a guest arriving
			// today, goes now.
			s.push(t, "B-0001", today.AddDays(1))
			s.push(t, "B-0002", today.AddDays(2))
			s.push(t, "B-0003", today)
			if got, want := s.tasks(t), []string{welcomeTask("B-0003", 1)}; !slices.Equal(got, want) {
				t.Fatalf("queued at plan time: %v, want only the send due now, %v", got, want)
			}
			// Re-planned and cancelled before they came within the horizon: Redis never sees them.
			s.push(t, "B-0002", today.AddDays(3))
			if _, err := s.mailings.CancelBooking(ctx, propertyID, "B-0002"); err != nil {
				t.Fatal(err)
			}
			if got := s.tasks(t); len(got) != 1 {
				t.Fatalf("after a re-plan and a cancellation beyond the horizon, Redis holds %v; want them in the database only", got)
			}

			// Two schedulers (two worker processes) share the lease: one queues.
			newHorizon := func() *Horizon {
				h, err := NewHorizon(HorizonConfig{Store: s.db, Client: s.client, Redis: s.rdb, Clock: s.clock,
					Horizon: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			first, second := newHorizon(), newHorizon()
			step := func(h *Horizon, name string, want int) {
				t.Helper()
				if n, err := h.Step(ctx); err != nil || n != want {
					t.Fatalf("%s scheduler's Step = %d, %v; want %d queued", name, n, err, want)
				}
			}
			step(first, "first", 0) // B-0001's send is two hours away
			s.clock.Advance(59 * time.Minute)
			step(first, "first", 0)
			s.clock.Advance(2 * time.Minute) // 12:00 is 59 minutes away
			step(second, "second", 0)        // the first holds the lease
			step(first, "first", 1)
			step(first, "first", 0) // queued once
			want := []string{welcomeTask("B-0001", 1), welcomeTask("B-0003", 1)}
			if got := s.tasks(t); !slices.Equal(got, want) {
				t.Fatalf("after B-0001's send came within the horizon: %v, want %v", got, want)
			}
			info, err := s.client.inspector.GetTaskInfo(s.client.queue, welcomeTask("B-0001", 1))
			if noon := time.Date(t0.Year(), t0.Month(), t0.Day(), 12, 0, 0, 0, time.UTC); err != nil || !info.NextProcessAt.Equal(noon) {
				t.Errorf("B-0001's send is queued for %v (%v), want its time %v", info.NextProcessAt, err, noon)
			}

			// The first scheduler dies: its lease runs out (moved to a past moment here, for the
			// 30 s), and the second takes over with B-0004's send.
			s.push(t, "B-0004", today.AddDays(2)) // tomorrow 12:00
			if err := s.rdb.PExpireAt(ctx, first.lease.key, time.UnixMilli(1)).Err(); err != nil {
				t.Fatal(err)
			}
			s.clock.Set(time.Date(t0.Year(), t0.Month(), t0.Day()+1, 11, 30, 0, 0, time.UTC))
			step(second, "second (after the first died)", 1)
			step(first, "first (come back)", 0)

			// Redis restarts empty. The workers find their marker gone and queue again what Redis
			// held — every unsent send within the horizon — from the database: B-0004's (in 30
			// minutes) and the overdue ones no worker ran here; a later one waits in the database.
			s.push(t, "B-0005", bellhop.DateOf(s.clock.Now()).AddDays(3))
			s.worker.redisKeptData(ctx, s.rdb) // the first look sets the marker
			deleteQueue(s.rdb, s.client.queue)
			if err := s.rdb.Del(ctx, "bellhop:alive:{"+s.client.queue+"}").Err(); err != nil {
				t.Fatal(err)
			}
			if s.worker.redisKeptData(ctx, s.rdb) {
				t.Fatal("the worker did not notice that Redis lost its data")
			}
			s.worker.requeueAfterLoss(ctx)
			want = []string{welcomeTask("B-0001", 1), welcomeTask("B-0003", 1), welcomeTask("B-0004", 1)}
			slices.Sort(want)
			if got := s.tasks(t); !slices.Equal(got, want) {
				t.Errorf("after Redis restarted empty: %v, want %v (the unsent sends within the horizon)", got, want)
			}
			if d, err := s.db.GetDelivery(ctx, mailings.DeliveryID(propertyID, "B-0005", bellhop.Welcome)); err != nil || d.Queued || d.Status != bellhop.DeliveryScheduled {
				t.Errorf("B-0005's send, three days away: %+v, %v; want scheduled in the database, not queued", d, err)
			}
		})
	}
}
