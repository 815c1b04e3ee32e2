package mailings_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

// batchStore is an in-memory store for the bulk intake's logic: transactions that roll back,
// the one-row and the many-row (BatchTx) reads and writes with the database's "newer wins".
// raceOnce makes the first SaveBookings find a newer push of its first booking stored by
// someone else meanwhile, as a concurrent PUT would; raceSaveOnce does the same to the next
// SaveBooking.
type batchStore struct {
	mailings.Store // what the bulk intake never calls
	property       *bellhop.Property
	mailings       []*bellhop.Mailing
	bookings       map[string]bellhop.Booking
	deliveries     map[string]bellhop.Delivery
	raceOnce       bool
	raceSaveOnce   bool
	raced          *bellhop.Booking // committed by the other writer: it outlives a rollback
	bulkWrites     int
	rowWrites      int
}

type batchTx struct{ *batchStore }

func (s *batchStore) InTx(ctx context.Context, fn func(tx mailings.Tx) error) error {
	bs, ds := maps.Clone(s.bookings), maps.Clone(s.deliveries)
	if err := fn(batchTx{s}); err != nil {
		s.bookings, s.deliveries = bs, ds // rolled back
		if s.raced != nil {
			batchTx{s}.save(s.raced)
		}
		return err
	}
	return nil
}

func (t batchTx) GetProperty(context.Context, string) (*bellhop.Property, error) {
	p := *t.property
	return &p, nil
}

func (t batchTx) ListMailings(context.Context, string) ([]*bellhop.Mailing, error) {
	return t.mailings, nil
}

func (t batchTx) GetBooking(_ context.Context, pid, bid string) (*bellhop.Booking, error) {
	b, ok := t.bookings[bid]
	if !ok {
		return nil, bellhop.Errorf(bellhop.ENotFound, "no booking %s", bid)
	}
	return &b, nil
}

func (t batchTx) save(b *bellhop.Booking) bool {
	prev, ok := t.bookings[b.ID]
	upd := b.UpdatedAt.UTC().Truncate(time.Microsecond)
	if ok && !prev.UpdatedAt.Before(upd) {
		return false
	}
	b.UpdatedAt, b.Revision = upd, 1
	if ok {
		b.Revision = prev.Revision + 1
	}
	t.bookings[b.ID] = *b
	return true
}

func (t batchTx) SaveBooking(_ context.Context, b *bellhop.Booking, _ time.Time) (bool, error) {
	t.rowWrites++
	if t.raceSaveOnce {
		t.raceSaveOnce = false
		t.save(changedMeanwhile(*b))
	}
	return t.save(b), nil
}

// changedMeanwhile is b as another writer stored it meanwhile: an hour newer, renamed.
func changedMeanwhile(b bellhop.Booking) *bellhop.Booking {
	b.UpdatedAt = b.UpdatedAt.Add(time.Hour)
	b.Guest.Name = "Changed meanwhile"
	return &b
}

func (t batchTx) BookingDeliveries(_ context.Context, pid, bid string) ([]*bellhop.Delivery, error) {
	var out []*bellhop.Delivery
	for _, d := range t.deliveries {
		if d.BookingID == bid {
			out = append(out, &d)
		}
	}
	return out, nil
}

func (t batchTx) SaveDelivery(_ context.Context, d *bellhop.Delivery) error {
	t.rowWrites++
	t.deliveries[d.ID] = *d
	return nil
}

func (t batchTx) ReleaseStay(context.Context, *bellhop.Delivery) error { return nil }

func (t batchTx) GetBookings(ctx context.Context, pid string, ids []string) ([]*bellhop.Booking, error) {
	var out []*bellhop.Booking
	for _, id := range ids {
		if b, err := t.GetBooking(ctx, pid, id); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

func (t batchTx) BookingsDeliveries(ctx context.Context, pid string, ids []string) ([]*bellhop.Delivery, error) {
	var out []*bellhop.Delivery
	for _, id := range ids {
		ds, _ := t.BookingDeliveries(ctx, pid, id)
		out = append(out, ds...)
	}
	return out, nil
}

func (t batchTx) SaveBookings(_ context.Context, bs []*bellhop.Booking, _ time.Time) (int, error) {
	t.bulkWrites++
	if t.raceOnce && len(bs) > 0 {
		t.raceOnce = false
		newer := changedMeanwhile(*bs[0])
		t.save(newer)
		t.raced = newer
	}
	n := 0
	for _, b := range bs {
		if t.save(b) {
			n++
		}
	}
	return n, nil
}

func (t batchTx) SaveDeliveries(_ context.Context, ds []*bellhop.Delivery) error {
	t.bulkWrites++
	for _, d := range ds {
		t.deliveries[d.ID] = *d
	}
	return nil
}

type noScheduler struct{}

func (noScheduler) Schedule(context.Context, []*bellhop.Delivery) error { return nil }
func (noScheduler) Wake(context.Context, []*bellhop.Delivery) error     { return nil }

func newBatchService(t *testing.T, now time.Time) (*mailings.Service, *batchStore) {
	t.Helper()
	p := &bellhop.Property{ID: "p1", Name: "Hotel", TimeZone: "Europe/Moscow", Country: "RU", Language: "en"}
	var ms []*bellhop.Mailing
	for _, m := range mailings.Defaults("p1", "intellectdialog") {
		m.Enabled = true
		ms = append(ms, &m)
	}
	st := &batchStore{property: p, mailings: ms, bookings: map[string]bellhop.Booking{}, deliveries: map[string]bellhop.Delivery{}}
	svc, err := mailings.New(mailings.Config{Store: st, Scheduler: noScheduler{}, Clock: fixedClock{now}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func line(n int, id string, updated time.Time, now time.Time) mailings.BatchLine {
	arrival := bellhop.DateOf(now.AddDate(0, 0, 20))
	return mailings.BatchLine{Line: n, ID: id, Booking: &bellhop.Booking{
		ID: id, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed, Arrival: arrival, Departure: arrival.AddDays(2),
		CreatedAt: updated, UpdatedAt: updated, Guest: bellhop.Guest{Name: "Guest " + id, Phone: "+79123456789", Language: "ru"},
	}}
}

// TestPutBookingsStatusesAndBulkWrites: each line's status is what the single PUT would have
// done, bad lines are refused alone, and a batch's rows are written a chunk at a time.
func TestPutBookingsStatusesAndBulkWrites(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	svc, st := newBatchService(t, now)
	at := now.Add(-time.Hour)
	lines := []mailings.BatchLine{
		line(1, "b1", at, now), line(2, "b2", at, now), line(3, "b1", at, now),
		line(4, "b2", at.Add(time.Minute), now), line(5, "b2", at.Add(-time.Minute), now),
		{Line: 6, ID: "b6", Err: bellhop.Invalid("arrival", "must be a date")},
		line(7, "b7", now.Add(72*time.Hour), now), // more than a day ahead: refused
	}
	res, err := svc.PutBookings(context.Background(), "p1", lines)
	if err != nil {
		t.Fatal(err)
	}
	want := []mailings.LineStatus{mailings.LineCreated, mailings.LineCreated, mailings.LineUnchanged, mailings.LineUpdated,
		mailings.LineIgnoredOlder, mailings.LineRefused, mailings.LineRefused}
	for i, w := range want {
		if res[i].Line != lines[i].Line || res[i].Status != w {
			t.Errorf("line %d: %+v, want %s", lines[i].Line, res[i], w)
		}
	}
	if res[5].Error == nil || res[5].Error.Fields[0].Field != "arrival" || res[6].Error == nil {
		t.Errorf("refusals = %+v, %+v", res[5].Error, res[6].Error)
	}
	if b := st.bookings["b2"]; b.Revision != 2 || !b.UpdatedAt.Equal(at.Add(time.Minute)) {
		t.Errorf("b2 stored as %+v: want the newer line at revision 2", b)
	}
	if len(st.deliveries) != 4 { // welcome and feedback for each of b1, b2
		t.Errorf("%d ledger rows, want 4", len(st.deliveries))
	}
	// Bookings, then bookings again (b2 changed twice in the chunk), then ledger rows.
	if st.rowWrites != 0 || st.bulkWrites != 3 {
		t.Errorf("%d one-row writes and %d bulk writes; want the chunk written in three statements", st.rowWrites, st.bulkWrites)
	}
	if mailings.Tally(res)[mailings.LineRefused] != 2 {
		t.Errorf("tally = %v", mailings.Tally(res))
	}
}

// TestPutBookingsRaced: a push stored by someone else while a chunk was taken in makes the
// chunk roll back and be taken in again one row at a time — the newer push wins, and nothing
// of the rest is lost.
func TestPutBookingsRaced(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	svc, st := newBatchService(t, now)
	st.raceOnce = true
	var lines []mailings.BatchLine
	for i := range 5 {
		lines = append(lines, line(i+1, fmt.Sprintf("b%d", i), now.Add(-time.Hour), now))
	}
	res, err := svc.PutBookings(context.Background(), "p1", lines)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != mailings.LineIgnoredOlder || st.bookings["b0"].Guest.Name != "Changed meanwhile" {
		t.Errorf("the raced booking: %+v, stored %+v", res[0], st.bookings["b0"])
	}
	for _, r := range res[1:] {
		if r.Status != mailings.LineCreated {
			t.Errorf("line %d: %s, want created", r.Line, r.Status)
		}
	}
	if len(st.bookings) != 5 || st.rowWrites == 0 {
		t.Errorf("%d bookings, %d one-row writes: the chunk was not taken in again row by row", len(st.bookings), st.rowWrites)
	}
}

// TestPutBookingRaced: a push that found no booking yet lost "newer wins" to one another writer
// stored meanwhile answers with the booking that won (ignored), not with none.
func TestPutBookingRaced(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	svc, st := newBatchService(t, now)
	st.raceSaveOnce = true
	res, err := svc.PutBooking(context.Background(), "p1", line(1, "b0", now.Add(-time.Hour), now).Booking)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ignored || res.Created || res.Booking == nil || res.Booking.Guest.Name != "Changed meanwhile" {
		t.Errorf("the raced push answered %+v (booking %+v), want ignored with the booking that won", res, res.Booking)
	}
}
