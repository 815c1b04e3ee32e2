package mailings_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/store/storetest"
	"github.com/redis/go-redis/v9"
)

// leaseKey returns a lease key of the test's own on the Redis at REDIS_ADDR, deleted when the
// test ends. Without Redis the test is skipped, or fails in CI.
func leaseKey(t *testing.T) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 13, MaxRetries: -1})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		rdb.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s does not answer: %v", addr, err)
		}
		t.Skipf("Redis at %s does not answer: %v", addr, err)
	}
	key := fmt.Sprintf("bellhop:test:mailings:%016x:lease", rand.Uint64())
	t.Cleanup(func() {
		rdb.Del(context.Background(), key)
		rdb.Close()
	})
	return rdb, key
}

// txStore gives the planner its transactions on the real database.
type txStore struct{ *store.DB }

func (s txStore) InTx(ctx context.Context, fn func(tx mailings.Tx) error) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}

// Four hundred days after a stay, the guest's name, phone and email are gone from its booking
// and its ledger rows; the rows stay, so the ledger counts what it counted. Younger stays, and
// everything before the day, keep theirs; one process at a time does the erasing.
func TestRetentionErasesGuestDataAndKeepsTheCounts(t *testing.T) {
	for name, open := range storetest.Databases() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			rdb, key := leaseKey(t)
			ctx := context.Background()
			t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			clock := bellhop.NewSimulatedClock(t0)
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			svc, err := mailings.New(mailings.Config{Store: txStore{db}, Scheduler: nopScheduler{}, Clock: clock, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreateProperty(ctx, &bellhop.Property{ID: "1042", Name: "Hotel Neva", TimeZone: "UTC", Language: "en",
				ContactCenter: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			ms := mailings.Defaults("1042", "intellectdialog")
			for i := range ms {
				ms[i].Enabled = true
			}
			if _, err := db.CreateMailings(ctx, ms); err != nil {
				t.Fatal(err)
			}
			push := func(id string, arrival bellhop.Date) {
				t.Helper()
				now := clock.Now()
				b := &bellhop.Booking{ID: id, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
					Arrival: arrival, Departure: arrival.AddDays(2), CreatedAt: now, UpdatedAt: now,
					Guest: bellhop.Guest{Name: "Anna " + id, Phone: "+79123456789", Email: "anna@example.com", Language: "ru"}}
				if _, err := svc.PutBooking(ctx, "1042", b); err != nil {
					t.Fatal(err)
				}
			}
			counts := func() map[string]int {
				t.Helper()
				list, err := db.ListDeliveries(ctx, "1042", bellhop.DeliveryFilter{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				c := map[string]int{}
				for _, d := range list {
					c[string(d.Kind)+" "+string(d.Status)]++
				}
				return c
			}
			// An old stay, its welcome and feedback planned then withdrawn (finished rows).
			push("OLD", bellhop.DateOf(t0).AddDays(2))
			if _, err := svc.CancelBooking(ctx, "1042", "OLD"); err != nil {
				t.Fatal(err)
			}
			job := func() *mailings.Retention {
				r, err := mailings.NewRetention(mailings.RetentionConfig{Store: db, Lease: queue.NewLease(rdb, key, time.Minute),
					Clock: clock, Logger: quiet, Batch: 1})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			first, second := job(), job()
			step := func(r *mailings.Retention, name string, wantD, wantB int) {
				t.Helper()
				if d, b, err := r.Step(ctx); err != nil || d != wantD || b != wantB {
					t.Errorf("%s job's Step = %d deliveries, %d bookings, %v; want %d, %d", name, d, b, err, wantD, wantB)
				}
			}
			// 399 days after the stay: nothing is erased yet.
			clock.Set(t0.Add(399 * 24 * time.Hour))
			push("NEW", bellhop.DateOf(clock.Now()).AddDays(2))
			step(first, "first", 0, 0)
			before := counts()

			clock.Set(t0.Add(410 * 24 * time.Hour))
			step(second, "second", 0, 0) // the first holds the lease
			step(first, "first", 2, 1)   // in batches of one
			step(first, "first", 0, 0)

			old, err := db.GetBooking(ctx, "1042", "OLD")
			if err != nil {
				t.Fatal(err)
			}
			if old.Guest.Name != "" || old.Guest.Phone != "" || old.Guest.Email != "" || old.Arrival != bellhop.DateOf(t0).AddDays(2) {
				t.Errorf("the old booking after 410 days: %+v; want name, phone and email erased, the dates kept", old)
			}
			rows, err := db.BookingDeliveries(ctx, "1042", "OLD")
			if err != nil || len(rows) != 2 {
				t.Fatalf("the old booking's ledger rows: %d, %v; want both kept", len(rows), err)
			}
			for _, d := range rows {
				if d.Phone != "" || d.StayKey != "" || d.ErasedAt == nil || d.Status != bellhop.DeliveryCancelled {
					t.Errorf("old ledger row %s: phone %q, stay %q, erased %v, %s; want the phone gone, the row kept", d.Kind, d.Phone, d.StayKey, d.ErasedAt, d.Status)
				}
			}
			recent, err := db.GetBooking(ctx, "1042", "NEW")
			if err != nil || recent.Guest.Phone != "+79123456789" || recent.Guest.Name != "Anna NEW" {
				t.Errorf("the recent booking: %+v, %v; want it kept", recent, err)
			}
			if after := counts(); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("ledger counts by kind and status: %v before, %v after; want them unchanged", before, after)
			}
		})
	}
}

// nopScheduler queues nothing: the retention test looks at the database only.
type nopScheduler struct{}

func (nopScheduler) Schedule(context.Context, []*bellhop.Delivery) error { return nil }
func (nopScheduler) Wake(context.Context, []*bellhop.Delivery) error     { return nil }
