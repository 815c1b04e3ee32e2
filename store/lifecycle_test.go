package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// horizonSuite runs on a migrated database of its own: the planning horizon's scan of the rows
// whose send is not queued yet, and the mark that takes them off it.
func horizonSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := at.UTC()
	save := func(t *testing.T, d *bellhop.Delivery) {
		t.Helper()
		if err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	toQueue := func(t *testing.T, until time.Time, limit int) []string {
		t.Helper()
		list, err := db.DeliveriesToQueue(ctx, until, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range list {
			if d.Queued || d.Status != bellhop.DeliveryScheduled || d.DueAt.After(until) {
				t.Errorf("DeliveriesToQueue listed %s: %s, queued %v, due %v", d.ID, d.Status, d.Queued, d.DueAt)
			}
		}
		return deliveryIDs(list)
	}

	// Planned far ahead, unqueued; near, queued by the planner itself; and rows that are not
	// scheduled, which the scan never lists whatever their marks.
	far := delivery("a", "far", bellhop.Welcome, now.Add(3*time.Hour))
	later := delivery("a", "later", bellhop.Welcome, now.Add(2*time.Hour))
	near := delivery("a", "near", bellhop.Welcome, now.Add(10*time.Minute))
	near.Queued = true
	sent := withStatus(delivery("a", "sent", bellhop.Welcome, now.Add(-time.Hour)), bellhop.DeliverySent)
	cancelled := withStatus(delivery("b", "cancelled", bellhop.Welcome, now.Add(time.Hour)), bellhop.DeliveryCancelled)
	for _, d := range []*bellhop.Delivery{far, later, near, sent, cancelled} {
		save(t, d)
	}
	if got, err := db.GetDelivery(ctx, near.ID); err != nil || !got.Queued {
		t.Errorf("a row saved queued reads back queued = %v (%v), want true", got.Queued, err)
	}
	if got, err := db.GetDelivery(ctx, far.ID); err != nil || got.Queued {
		t.Errorf("a row saved unqueued reads back queued = %v (%v), want false", got.Queued, err)
	}
	if got := toQueue(t, now.Add(time.Hour), 100); len(got) != 0 {
		t.Errorf("due within an hour, unqueued: %v, want none (near is queued)", got)
	}
	if got, want := toQueue(t, now.Add(4*time.Hour), 100), []string{later.ID, far.ID}; !slices.Equal(got, want) {
		t.Errorf("due within four hours, unqueued: %v, want %v (soonest first)", got, want)
	}
	if got, want := toQueue(t, now.Add(4*time.Hour), 1), []string{later.ID}; !slices.Equal(got, want) {
		t.Errorf("with limit 1: %v, want %v", got, want)
	}

	// The scheduler queued later at version 1, but far was re-planned to version 2 meanwhile:
	// only later is marked, far's new version is still to be queued.
	list, err := db.DeliveriesToQueue(ctx, now.Add(4*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	replanned := *far
	replanned.Version, replanned.PlannedAt, replanned.DueAt = 2, now.Add(90*time.Minute), now.Add(90*time.Minute)
	save(t, &replanned)
	if n, err := db.MarkQueued(ctx, list); err != nil || n != 1 {
		t.Errorf("MarkQueued of later v1 and far v1 (now v2) = %d, %v; want 1 marked", n, err)
	}
	if got, want := toQueue(t, now.Add(4*time.Hour), 100), []string{far.ID}; !slices.Equal(got, want) {
		t.Errorf("after marking: %v, want %v", got, want)
	}
	if n, err := db.MarkQueued(ctx, nil); err != nil || n != 0 {
		t.Errorf("MarkQueued(nothing) = %d, %v", n, err)
	}

	// A re-plan of a queued row whose new version is not queued (it moved beyond the horizon)
	// is back on the scan; one the planner queues itself stays off it.
	moved := *later
	moved.Version, moved.PlannedAt, moved.DueAt = 2, now.Add(3*time.Hour), now.Add(3*time.Hour)
	save(t, &moved)
	if got, want := toQueue(t, now.Add(4*time.Hour), 100), []string{far.ID, later.ID}; !slices.Equal(got, want) {
		t.Errorf("after later moved on unqueued: %v, want %v", got, want)
	}
	moved.Version, moved.Queued = 3, true
	save(t, &moved)
	if got, want := toQueue(t, now.Add(4*time.Hour), 100), []string{far.ID}; !slices.Equal(got, want) {
		t.Errorf("after later was re-planned and queued by the planner: %v, want %v", got, want)
	}
	// Saving the queued version again without the mark keeps the mark: the send is queued.
	moved.Queued = false
	moved.UpdatedAt = now
	save(t, &moved)
	if got, err := db.GetDelivery(ctx, later.ID); err != nil || !got.Queued {
		t.Errorf("the queued version saved again: queued = %v (%v), want it kept", got.Queued, err)
	}
	// Cancelling a row that was never queued is a database change only; it leaves the scan.
	cancel := replanned
	cancel.Version, cancel.Status = 3, bellhop.DeliveryCancelled
	save(t, &cancel)
	if got := toQueue(t, now.Add(4*time.Hour), 100); len(got) != 0 {
		t.Errorf("after far was cancelled: %v, want none", got)
	}
}

// retentionSuite runs on a migrated database of its own: guest data erased after the retention
// period, in batches, with the ledger's rows and counts kept.
func retentionSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Date(2027, 12, 1, 12, 0, 0, 0, time.UTC)
	cutoff := now.AddDate(0, 0, -400)
	old := cutoff.Add(-48 * time.Hour)
	// Old stays: two finished rows and a booking whose stay ended before the cut-off; recent
	// ones, and an old row still pending, which keeps its data.
	for _, b := range []*bellhop.Booking{
		booking("a", "old-1", "2026-10-20", "2026-10-22", old),
		booking("a", "old-2", "2026-10-21", "2026-10-23", old),
		booking("a", "recent", "2027-11-20", "2027-11-22", now),
	} {
		if _, err := db.SaveBooking(ctx, b, b.UpdatedAt); err != nil {
			t.Fatal(err)
		}
	}
	rows := []*bellhop.Delivery{
		delivery("a", "old-1", bellhop.Welcome, old), // sent below, with its stay's claim
		withStatus(delivery("a", "old-2", bellhop.Welcome, old.Add(time.Hour)), bellhop.DeliverySkipped),
		withStatus(delivery("a", "old-2", bellhop.Feedback, old.Add(2*time.Hour)), bellhop.DeliveryFailed),
		delivery("a", "old-stuck", bellhop.Welcome, old), // still scheduled: not the ledger's history yet
		withStatus(delivery("a", "recent", bellhop.Welcome, now.Add(-time.Hour)), bellhop.DeliverySent),
	}
	for _, d := range rows {
		if err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// The sent old row holds its stay's claim (the claim's key holds the phone).
	claim := func(d *bellhop.Delivery) (owner string) {
		t.Helper()
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			_, owner, err = tx.ClaimDelivery(ctx, d, "intellectdialog", "1", old, old)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return owner
	}
	stay := rows[0].StayKey
	claim(rows[0])
	if ok, err := db.FinishDelivery(ctx, rows[0].ID, 1, bellhop.DeliverySent, "", "m-1", &old, old, old); err != nil || !ok {
		t.Fatal(ok, err)
	}
	rows[0].Status = bellhop.DeliverySent
	// A pool's record of which number first wrote to a guest holds the phone's digits too.
	for _, g := range []struct {
		digits string
		at     time.Time
	}{{"79123456789", old}, {"79990000001", now.Add(-time.Hour)}} {
		if err := db.PinGuestSender(ctx, "a", "intellectdialog", g.digits, "wa-1", g.at); err != nil {
			t.Fatal(err)
		}
	}
	count := func() map[bellhop.DeliveryStatus]int {
		list, err := db.ListDeliveries(ctx, "a", bellhop.DeliveryFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		c := map[bellhop.DeliveryStatus]int{}
		for _, d := range list {
			c[d.Status]++
		}
		return c
	}
	before := count()

	// Batches of two: two rounds erase the three old finished rows and two old bookings.
	var gotD, gotB []int
	for range 4 {
		d, b, err := db.EraseGuestData(ctx, cutoff, now, 2)
		if err != nil {
			t.Fatal(err)
		}
		gotD, gotB = append(gotD, d), append(gotB, b)
	}
	if want := []int{2, 1, 0, 0}; !slices.Equal(gotD, want) {
		t.Errorf("deliveries erased per batch of 2 = %v, want %v", gotD, want)
	}
	if want := []int{2, 0, 0, 0}; !slices.Equal(gotB, want) {
		t.Errorf("bookings erased per batch of 2 = %v, want %v", gotB, want)
	}
	for i, d := range rows {
		got, err := db.GetDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		erase := i < 3
		if erase && (got.Phone != "" || got.StayKey != "" || got.ErasedAt == nil || !got.ErasedAt.Equal(now)) {
			t.Errorf("old %s: phone %q, stay %q, erased %v; want erased at %v", d.ID, got.Phone, got.StayKey, got.ErasedAt, now)
		}
		if !erase && (got.Phone != d.Phone || got.ErasedAt != nil) {
			t.Errorf("%s (%s, planned %v): phone %q, erased %v; want it kept", d.ID, got.Status, got.PlannedAt, got.Phone, got.ErasedAt)
		}
		if got.Status != d.Status || got.Kind != d.Kind || !got.PlannedAt.Equal(d.PlannedAt) {
			t.Errorf("%s changed beyond its personal data: %+v", d.ID, got)
		}
	}
	for _, bid := range []string{"old-1", "old-2"} {
		b, err := db.GetBooking(ctx, "a", bid)
		if err != nil {
			t.Fatal(err)
		}
		if b.Guest.Name != "" || b.Guest.Phone != "" || b.Guest.Email != "" || b.Guest.Language != "ru" || b.Arrival.String() == "" {
			t.Errorf("old booking %s after retention: %+v; want name, phone and email erased, the rest kept", bid, b.Guest)
		}
	}
	if b, err := db.GetBooking(ctx, "a", "recent"); err != nil || b.Guest.Phone == "" || b.Guest.Name == "" {
		t.Errorf("recent booking after retention: %+v, %v; want it kept", b, err)
	}
	if after := count(); !mapsEqual(before, after) {
		t.Errorf("ledger counts by status: %v before, %v after; want them unchanged", before, after)
	}
	if got, err := db.GuestSender(ctx, "a", "intellectdialog", "79123456789"); err != nil || got != "" {
		t.Errorf("the old guest's pool number after retention = %q, %v; want it forgotten", got, err)
	}
	if got, err := db.GuestSender(ctx, "a", "intellectdialog", "79990000001"); err != nil || got != "wa-1" {
		t.Errorf("a recent guest's pool number after retention = %q, %v; want it kept", got, err)
	}
	// The old stay's claim went with the phone it held: another room of that stay may claim it.
	other := withStay(delivery("a", "other-room", bellhop.Welcome, now), stay)
	if err := db.SaveDelivery(ctx, other); err != nil {
		t.Fatal(err)
	}
	if owner := claim(other); owner != other.ID {
		t.Errorf("the erased stay's claim is still held by %q", owner)
	}

	// A newer push of an old booking brings the data back; the next run erases it again.
	again := booking("a", "old-1", "2026-10-20", "2026-10-22", old.Add(time.Hour))
	if stored, err := db.SaveBooking(ctx, again, now); err != nil || !stored {
		t.Fatalf("push of an erased booking = %v, %v", stored, err)
	}
	if _, b, err := db.EraseGuestData(ctx, cutoff, now, 10); err != nil || b != 1 {
		t.Errorf("retention after the data came back erased %d bookings (%v), want 1", b, err)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
