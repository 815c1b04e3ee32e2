package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/store"
)

// IntakeReads, inside a transaction, answers what the three reads it stands for answer one
// by one (on PostgreSQL it sends them as one batch on the transaction's connection).
func intakeSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	reads := func(pid, bid string) (b *bellhop.Booking, ms []*bellhop.Mailing, ds []*bellhop.Delivery) {
		t.Helper()
		err := db.WithTx(ctx, func(tx *store.Tx) (err error) {
			b, ms, ds, err = tx.IntakeReads(ctx, pid, bid)
			return err
		})
		if err != nil {
			t.Fatalf("IntakeReads(%s, %s): %v", pid, bid, err)
		}
		return b, ms, ds
	}
	if b, ms, ds := reads("a", "none"); b != nil || len(ms) != 0 || len(ds) != 0 {
		t.Errorf("IntakeReads of a property with nothing = %+v, %d mailings, %d rows; want nothing", b, len(ms), len(ds))
	}

	if _, err := db.CreateMailings(ctx, mailings.Defaults("a", "intellectdialog")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateMailings(ctx, mailings.Defaults("b", "intellectdialog")); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{"a", "b"} {
		b := booking(pid, "i1", "2026-12-03", "2026-12-05", at.Add(time.Minute))
		b.Guest.Email = pid + "@guest.example"
		if ok, err := db.SaveBooking(ctx, b, at); err != nil || !ok {
			t.Fatal(ok, err)
		}
		for _, k := range []bellhop.MailingKind{bellhop.Welcome, bellhop.Feedback} {
			if err := db.SaveDelivery(ctx, delivery(pid, "i1", k, at.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, ms, ds := reads("a", "i1")
	wantB, err := db.GetBooking(ctx, "a", "i1")
	if err != nil {
		t.Fatal(err)
	}
	wantMs, err := db.ListMailings(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	wantDs, err := db.BookingDeliveries(ctx, "a", "i1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b, wantB) {
		t.Errorf("IntakeReads' booking = %+v, want %+v", b, wantB)
	}
	if len(ms) != 3 || !reflect.DeepEqual(ms, wantMs) {
		t.Errorf("IntakeReads' mailings = %+v, want the 3 of ListMailings %+v", ms, wantMs)
	}
	if len(ds) != 2 || !reflect.DeepEqual(ds, wantDs) {
		t.Errorf("IntakeReads' ledger rows = %+v, want the 2 of BookingDeliveries %+v", ds, wantDs)
	}
	for _, d := range ds {
		if d.PropertyID != "a" {
			t.Errorf("IntakeReads of property a read property %s's row %s", d.PropertyID, d.ID)
		}
	}
}
