package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

func TestCapacitySQLite(t *testing.T) {
	capacitySuite(t, open(t, filepath.Join(t.TempDir(), "bellhop.db")))
}

func TestCapacityPostgres(t *testing.T) {
	capacitySuite(t, open(t, requirePostgres(t).freshSchema(t)))
}

// capacitySuite: the capacity view's count of pending sends per kind over a time range, and the
// pool's record of the number that first sent to a guest.
func capacitySuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := db.CreateProperty(ctx, property(id)); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2030, 3, 7, 0, 0, 0, 0, time.UTC)
	n := 0
	add := func(pid string, kind bellhop.MailingKind, planned time.Time, status bellhop.DeliveryStatus) {
		t.Helper()
		n++
		d := &bellhop.Delivery{ID: fmt.Sprintf("dl_%d", n), PropertyID: pid, BookingID: fmt.Sprintf("B%d", n), Kind: kind,
			StayKey: fmt.Sprint(n), Phone: "+7912", PlannedAt: planned, DueAt: planned, Status: status, Version: 1,
			CreatedAt: day, UpdatedAt: day}
		if err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	noon := day.Add(12 * time.Hour)
	for range 3 {
		add("a", bellhop.Welcome, noon, bellhop.DeliveryScheduled)
	}
	add("a", bellhop.Welcome, noon.Add(14*time.Minute), bellhop.DeliveryScheduled) // same quarter hour
	add("a", bellhop.Welcome, noon.Add(15*time.Minute), bellhop.DeliveryScheduled) // the next
	add("a", bellhop.Feedback, noon, bellhop.DeliveryScheduled)
	add("a", bellhop.Welcome, noon, bellhop.DeliverySent)                       // gone out
	add("a", bellhop.Welcome, noon, bellhop.DeliveryCancelled)                  // withdrawn
	add("a", bellhop.Welcome, noon, bellhop.DeliverySending)                    // in flight
	add("b", bellhop.Welcome, noon, bellhop.DeliveryScheduled)                  // another hotel's
	add("a", bellhop.Welcome, day.Add(48*time.Hour), bellhop.DeliveryScheduled) // past until

	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     map[bellhop.MailingKind]int
	}{
		{"the day", day, day.Add(24 * time.Hour), map[bellhop.MailingKind]int{bellhop.Welcome: 5, bellhop.Feedback: 1}},
		{"from the start", time.Time{}, day.Add(24 * time.Hour), map[bellhop.MailingKind]int{bellhop.Welcome: 5, bellhop.Feedback: 1}},
		{"to noon, exclusive", day, noon, map[bellhop.MailingKind]int{}},
		{"a quarter hour from noon", noon, noon.Add(15 * time.Minute), map[bellhop.MailingKind]int{bellhop.Welcome: 4, bellhop.Feedback: 1}},
		{"two days on", day.Add(24 * time.Hour), day.Add(72 * time.Hour), map[bellhop.MailingKind]int{bellhop.Welcome: 1}},
	} {
		got, err := db.CountPending(ctx, "a", tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range bellhop.Kinds() {
			if got[k] != tc.want[k] {
				t.Errorf("%s: CountPending = %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}

	// The first number that sent to a guest keeps the guest.
	if id, err := db.GuestSender(ctx, "a", "intellectdialog", "79123456789"); err != nil || id != "" {
		t.Fatalf("GuestSender before any send = %q, %v; want none", id, err)
	}
	for _, sender := range []string{"2", "1"} {
		if err := db.PinGuestSender(ctx, "a", "intellectdialog", "79123456789", sender, day); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := db.GuestSender(ctx, "a", "intellectdialog", "79123456789"); err != nil || id != "2" {
		t.Errorf("GuestSender = %q, %v; want the first number, 2", id, err)
	}
	if id, err := db.GuestSender(ctx, "b", "intellectdialog", "79123456789"); err != nil || id != "" {
		t.Errorf("another hotel's GuestSender = %q, %v; want none", id, err)
	}

	// A pool is kept with its integration, in its order.
	in := &bellhop.Integration{PropertyID: "a", Provider: "intellectdialog", Status: bellhop.StatusVerified,
		Sender: &bellhop.Sender{ID: "2", Type: "whatsapp", Name: "Two"}, UpdatedAt: day,
		Pool: []bellhop.Sender{{ID: "2", Type: "whatsapp", Name: "Two"}, {ID: "1", Type: "whatsapp", Name: "One", Phone: "+79990000001"}}}
	if err := db.SaveIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	back, err := db.GetIntegration(ctx, "a", "intellectdialog")
	if err != nil || !slices.Equal(back.Pool, in.Pool) {
		t.Fatalf("GetIntegration's pool = %+v, %v; want %+v", back.Pool, err, in.Pool)
	}
	in.Pool = nil
	if err := db.SaveIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	if back, err := db.GetIntegration(ctx, "a", "intellectdialog"); err != nil || back.Pool != nil || back.Sender.ID != "2" {
		t.Errorf("after the pool was dropped: pool %+v, sender %+v, %v; want one sender", back.Pool, back.Sender, err)
	}
}
