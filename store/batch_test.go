package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// batchSuite: the bulk intake's reads and writes of many rows keep the one-row rules — a
// stored booking as new or newer is kept, other properties' rows are never read — across
// more rows than one statement takes.
func batchSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 1203 // over two statements' worth (500 rows each)
	var bs []*bellhop.Booking
	var ids []string
	for i := range n {
		id := fmt.Sprintf("bulk%04d", i)
		ids = append(ids, id)
		bs = append(bs, booking("a", id, "2026-12-03", "2026-12-05", at.Add(time.Duration(i)*time.Second+789)))
	}
	// One stored already, newer than the batch's; one older.
	if ok, err := db.SaveBooking(ctx, booking("a", "bulk0007", "2026-12-03", "2026-12-05", at.Add(time.Hour)), at); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := db.SaveBooking(ctx, booking("a", "bulk0008", "2026-12-03", "2026-12-05", at.Add(-time.Hour)), at); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := db.SaveBooking(ctx, booking("b", "bulk0009", "2026-12-03", "2026-12-05", at), at); err != nil || !ok {
		t.Fatal(ok, err)
	}
	var saved int
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		got, err := tx.GetBookings(ctx, "a", ids)
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Errorf("GetBookings found %d stored bookings, want 2 (property b's is not a's)", len(got))
		}
		saved, err = tx.SaveBookings(ctx, bs, at)
		if err != nil {
			return err
		}
		var ds []*bellhop.Delivery
		for _, b := range bs {
			ds = append(ds, delivery("a", b.ID, bellhop.Welcome, at.Add(24*time.Hour)))
		}
		return tx.SaveDeliveries(ctx, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	if saved != n-1 {
		t.Errorf("SaveBookings stored %d, want %d: all but the one stored newer", saved, n-1)
	}
	kept, err := db.GetBooking(ctx, "a", "bulk0007")
	if err != nil || !kept.UpdatedAt.Equal(at.Add(time.Hour)) {
		t.Errorf("the newer stored booking was replaced: %+v, %v", kept, err)
	}
	if b, err := db.GetBooking(ctx, "a", "bulk0008"); err != nil || b.Revision != 2 {
		t.Errorf("an older stored booking is replaced at revision 2: %+v, %v", b, err)
	}
	last, err := db.GetBooking(ctx, "a", ids[n-1])
	if err != nil || last.Revision != 1 || !last.UpdatedAt.Equal(at.Add(time.Duration(n-1)*time.Second).Truncate(time.Microsecond)) {
		t.Errorf("last booking = %+v, %v", last, err)
	}
	var ds []*bellhop.Delivery
	err = db.WithTx(ctx, func(tx *store.Tx) (err error) {
		ds, err = tx.BookingsDeliveries(ctx, "a", ids)
		return err
	})
	if err != nil || len(ds) != n {
		t.Fatalf("BookingsDeliveries = %d rows, %v; want %d", len(ds), err, n)
	}
	one, err := db.BookingDeliveries(ctx, "a", ids[600])
	if err != nil || len(one) != 1 || one[0].ID != "a/"+ids[600]+"/welcome" || !one[0].PlannedAt.Equal(at.Add(24*time.Hour)) {
		t.Errorf("a row written in bulk reads back as %+v, %v", one, err)
	}
}
