package mailings

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// MaxBatch is the most bookings one bulk intake call takes: a hotel's whole book fits in a
// few calls, and one call's answer stays a few megabytes.
const MaxBatch = 10_000

// batchTxSize is how many bookings share one transaction: large enough that the commit's
// cost spreads thin, small enough that a transaction run again after a lost connection (the
// store does that) redoes little, and locks are held briefly.
const batchTxSize = 250

// BatchLine is one booking of a bulk intake, numbered as the caller counts: a file's line,
// an array's item. Err is why the line could not be read as a booking (it is then refused
// with that error); Booking is nil then.
type BatchLine struct {
	Line    int
	ID      string
	Booking *bellhop.Booking
	Err     error
}

// LineStatus is what became of one line of a bulk intake.
type LineStatus string

const (
	LineCreated      LineStatus = "created"       // a booking Bellhop had not seen
	LineUpdated      LineStatus = "updated"       // newer than the stored booking: it replaced it
	LineUnchanged    LineStatus = "unchanged"     // as new as the stored booking (sent again): nothing changed
	LineIgnoredOlder LineStatus = "ignored_older" // older than the stored booking: ignored, newer wins
	LineRefused      LineStatus = "refused"       // bad input: Error says what and where
)

// LineResult is one line's outcome. Error is set for refused lines only, in the API's error
// shape.
type LineResult struct {
	Line   int        `json:"line"`
	ID     string     `json:"id,omitempty"`
	Status LineStatus `json:"status"`
	Error  *LineError `json:"error,omitempty"`
}

// LineError is why a line was refused: the code, message and fields of the error the single
// PUT of that booking would have answered.
type LineError struct {
	Code    string               `json:"code"`
	Message string               `json:"message"`
	Fields  []bellhop.FieldError `json:"fields,omitempty"`
}

// refusal is the LineError of err, which is the caller's mistake (invalid_input and the like).
func refusal(err error) *LineError {
	le := &LineError{Code: bellhop.ErrorCode(err), Message: bellhop.ErrorMessage(err)}
	var e *bellhop.Error
	if errors.As(err, &e) {
		le.Fields = e.Fields
	}
	return le
}

// PutBookings takes in many bookings of one property, each exactly as PutBooking does (the
// same validation, "newer wins" and planning), batchTxSize to a transaction. A line that is
// bad input is refused with its error and the others go on; lines of one booking id are
// taken in order. The error is for what stops the whole call (the property is gone, the
// database failed): the transactions committed before it stay committed, and sending the
// same lines again is safe (they answer unchanged).
//
// batchLanes transactions run at once, each on its own share of the booking ids, so that
// one's planning overlaps another's round trips to the database and Redis.
func (s *Service) PutBookings(ctx context.Context, pid string, lines []BatchLine) ([]LineResult, error) {
	if len(lines) > MaxBatch {
		return nil, bellhop.Errorf(bellhop.EInvalid, "At most %d bookings at a time, not %d.", MaxBatch, len(lines))
	}
	// Each lane keeps its lines in order; a booking id is always in the same lane.
	lanes := make([][]int, min(batchLanes, (len(lines)+batchTxSize-1)/batchTxSize))
	for i, l := range lines {
		key := l.ID
		if l.Booking != nil {
			key = l.Booking.ID
		}
		h := fnv.New32a()
		h.Write([]byte(key))
		lane := int(h.Sum32() % uint32(len(lanes)))
		lanes[lane] = append(lanes[lane], i)
	}
	out := make([]LineResult, len(lines))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, idx := range lanes {
		wg.Go(func() {
			for start := 0; start < len(idx) && ctx.Err() == nil; start += batchTxSize {
				part := idx[start:min(start+batchTxSize, len(idx))]
				chunk := make([]BatchLine, len(part))
				for j, i := range part {
					chunk[j] = lines[i]
				}
				res, err := s.putChunk(ctx, pid, chunk)
				if err != nil {
					cancel(err)
					return
				}
				for j, i := range part {
					out[i] = res[j]
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// batchLanes is how many of a batch's transactions run at once: a few hide the round trips
// without taking many of the database's connections.
const batchLanes = 4

// putChunk takes in one transaction's lines and queues their sends after it commits. On a
// store whose transactions read and write many rows at once (BatchTx) the chunk's bookings
// are read in one go and its writes made at its end; should a push from elsewhere have
// changed one of them meanwhile, the chunk is taken in again one statement at a time.
func (s *Service) putChunk(ctx context.Context, pid string, lines []BatchLine) ([]LineResult, error) {
	res, err := s.putChunkVia(ctx, pid, lines, true)
	if errors.Is(err, errChunkRaced) {
		res, err = s.putChunkVia(ctx, pid, lines, false)
	}
	return res, err
}

// errChunkRaced: a booking of the chunk was stored by someone else after the chunk read it.
var errChunkRaced = errors.New("a booking of the batch changed while it was taken in")

func (s *Service) putChunkVia(ctx context.Context, pid string, lines []BatchLine, batched bool) ([]LineResult, error) {
	now := s.cfg.Clock.Now().UTC()
	var (
		res   []LineResult
		queue []*bellhop.Delivery
	)
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		res, queue = make([]LineResult, len(lines)), nil // set afresh: the store may run it again
		p, err := tx.GetProperty(ctx, pid)
		if err != nil {
			return err
		}
		ct, err := newChunkTx(ctx, tx, pid, lines, batched)
		if err != nil {
			return err
		}
		for i, l := range lines {
			res[i] = LineResult{Line: l.Line, ID: l.ID}
			if l.Err != nil {
				res[i].Status, res[i].Error = LineRefused, refusal(l.Err)
				continue
			}
			// intake may change the booking (its phone, when first seen non-guaranteed):
			// a transaction run again starts from the line as it was sent.
			b := *l.Booking
			r, q, err := s.intake(ctx, ct, p, &b, now)
			switch {
			case bellhop.ErrorCode(err) == bellhop.EInvalid:
				res[i].Status, res[i].Error = LineRefused, refusal(err)
				continue
			case err != nil:
				return err
			}
			res[i].Status = lineStatus(r, &b)
			queue = append(queue, q...)
		}
		return ct.flush(ctx, now)
	})
	if err != nil {
		return nil, err
	}
	s.scheduleMany(ctx, queue)
	return res, nil
}

// lineStatus names what intake did with b.
func lineStatus(r BookingResult, b *bellhop.Booking) LineStatus {
	switch {
	case r.Created:
		return LineCreated
	case !r.Ignored:
		return LineUpdated
	case r.Booking != nil && b.UpdatedAt.Before(r.Booking.UpdatedAt):
		return LineIgnoredOlder
	}
	return LineUnchanged
}

// BatchTx is a transaction that also reads and writes many bookings and their ledger rows in
// a few statements; the bulk intake uses it when the store's transactions have it.
type BatchTx interface {
	Tx
	GetBookings(ctx context.Context, pid string, ids []string) ([]*bellhop.Booking, error)
	BookingsDeliveries(ctx context.Context, pid string, bookingIDs []string) ([]*bellhop.Delivery, error)
	// SaveBookings stores bookings of distinct ids, each unless the stored one is as new or
	// newer, and returns how many it stored.
	SaveBookings(ctx context.Context, bs []*bellhop.Booking, receivedAt time.Time) (int, error)
	SaveDeliveries(ctx context.Context, ds []*bellhop.Delivery) error
}

// chunkTx is a batch's transaction as intake sees it. The property's mailings are read once
// for all its lines (nothing in a batch changes them). With a BatchTx underneath, the
// chunk's bookings and ledger rows are read at the start and written at the end (flush):
// intake's reads and writes of them in between are served from memory, so that a chunk
// costs a few statements, not several per booking. Intake only reads and writes a booking
// and its rows through GetBooking, SaveBooking, BookingDeliveries and SaveDelivery; every
// other call goes straight to the transaction.
type chunkTx struct {
	Tx
	mailings []*bellhop.Mailing
	read     bool

	batch BatchTx // nil: writes go straight through
	// bookings by id: as stored, or as this chunk will store it; a known id without an
	// entry has no booking.
	known      map[string]bool
	bookings   map[string]*bellhop.Booking
	deliveries map[string]map[bellhop.MailingKind]*bellhop.Delivery // by booking id
	saveB      []*bellhop.Booking                                   // to write, one per id
	savedB     map[string]int                                       // index in saveB
	saveD      []*bellhop.Delivery
	savedD     map[string]int
}

func newChunkTx(ctx context.Context, tx Tx, pid string, lines []BatchLine, batched bool) (*chunkTx, error) {
	t := &chunkTx{Tx: tx}
	bt, ok := tx.(BatchTx)
	if !ok || !batched {
		return t, nil
	}
	t.batch, t.known, t.bookings = bt, map[string]bool{}, map[string]*bellhop.Booking{}
	t.deliveries, t.savedB, t.savedD = map[string]map[bellhop.MailingKind]*bellhop.Delivery{}, map[string]int{}, map[string]int{}
	var ids []string
	for _, l := range lines {
		if l.Booking != nil && !t.known[l.Booking.ID] {
			t.known[l.Booking.ID] = true
			ids = append(ids, l.Booking.ID)
		}
	}
	bs, err := bt.GetBookings(ctx, pid, ids)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		t.bookings[b.ID] = b
	}
	ds, err := bt.BookingsDeliveries(ctx, pid, ids)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		t.rows(d.BookingID)[d.Kind] = d
	}
	return t, nil
}

func (t *chunkTx) rows(bid string) map[bellhop.MailingKind]*bellhop.Delivery {
	m := t.deliveries[bid]
	if m == nil {
		m = map[bellhop.MailingKind]*bellhop.Delivery{}
		t.deliveries[bid] = m
	}
	return m
}

// ListMailings reads the property's mailings the first time it is asked.
func (t *chunkTx) ListMailings(ctx context.Context, pid string) ([]*bellhop.Mailing, error) {
	if !t.read {
		ms, err := t.Tx.ListMailings(ctx, pid)
		if err != nil {
			return nil, err
		}
		t.mailings, t.read = ms, true
	}
	return t.mailings, nil
}

func (t *chunkTx) GetBooking(ctx context.Context, pid, bid string) (*bellhop.Booking, error) {
	if t.batch == nil || !t.known[bid] {
		return t.Tx.GetBooking(ctx, pid, bid)
	}
	b := t.bookings[bid]
	if b == nil {
		return nil, bellhop.Errorf(bellhop.ENotFound, "Booking %q of property %q not found.", bid, pid)
	}
	c := *b
	return &c, nil
}

// SaveBooking keeps b for flush under the store's rule: only a newer push is stored; its
// revision is one more than the stored one's, and the first moment it was seen
// non-guaranteed is the stored one's when it has one.
func (t *chunkTx) SaveBooking(ctx context.Context, b *bellhop.Booking, receivedAt time.Time) (bool, error) {
	if t.batch == nil || !t.known[b.ID] {
		return t.Tx.SaveBooking(ctx, b, receivedAt)
	}
	prev := t.bookings[b.ID]
	if prev != nil && !prev.UpdatedAt.Before(b.UpdatedAt.Truncate(time.Microsecond)) {
		return false, nil
	}
	b.Revision = 1
	if prev != nil {
		b.Revision = prev.Revision + 1
		if prev.SeenNonGuaranteedAt != nil {
			seen := *prev.SeenNonGuaranteedAt
			b.SeenNonGuaranteedAt = &seen
		}
	}
	if _, ok := t.savedB[b.ID]; ok {
		// A second change of one booking in a chunk: the first is written first, so that
		// the stored revision counts both, as two PUTs would.
		if err := t.flushBookings(ctx, receivedAt); err != nil {
			return false, err
		}
	}
	c := *b
	c.UpdatedAt = c.UpdatedAt.UTC().Truncate(time.Microsecond) // as the store keeps it
	t.bookings[b.ID] = &c
	t.savedB[b.ID] = len(t.saveB)
	t.saveB = append(t.saveB, b)
	return true, nil
}

// flushBookings writes the bookings kept so far; one the store did not take (someone stored
// a newer one since the chunk read it) makes the chunk errChunkRaced.
func (t *chunkTx) flushBookings(ctx context.Context, receivedAt time.Time) error {
	if len(t.saveB) == 0 {
		return nil
	}
	n, err := t.batch.SaveBookings(ctx, t.saveB, receivedAt)
	if err != nil {
		return err
	}
	if n != len(t.saveB) {
		return errChunkRaced
	}
	t.saveB, t.savedB = t.saveB[:0], map[string]int{}
	return nil
}

func (t *chunkTx) BookingDeliveries(ctx context.Context, pid, bid string) ([]*bellhop.Delivery, error) {
	if t.batch == nil || !t.known[bid] {
		return t.Tx.BookingDeliveries(ctx, pid, bid)
	}
	var out []*bellhop.Delivery
	for _, k := range bellhop.Kinds() {
		if d := t.deliveries[bid][k]; d != nil {
			c := *d
			out = append(out, &c)
		}
	}
	return out, nil
}

func (t *chunkTx) SaveDelivery(ctx context.Context, d *bellhop.Delivery) error {
	if t.batch == nil || !t.known[d.BookingID] {
		return t.Tx.SaveDelivery(ctx, d)
	}
	t.rows(d.BookingID)[d.Kind] = d
	if i, ok := t.savedD[d.ID]; ok {
		t.saveD[i] = d
	} else {
		t.savedD[d.ID] = len(t.saveD)
		t.saveD = append(t.saveD, d)
	}
	return nil
}

// flush writes what the chunk kept: its bookings, then their ledger rows. A booking the
// store did not take (someone stored a newer one since the chunk read it) makes the whole
// chunk errChunkRaced, to be taken in again one statement at a time.
func (t *chunkTx) flush(ctx context.Context, receivedAt time.Time) error {
	if t.batch == nil {
		return nil
	}
	if err := t.flushBookings(ctx, receivedAt); err != nil {
		return err
	}
	if len(t.saveD) > 0 {
		return t.batch.SaveDeliveries(ctx, t.saveD)
	}
	return nil
}

// scheduleMany is schedule for a batch's sends: many enqueues in flight when the scheduler
// can do that.
func (s *Service) scheduleMany(ctx context.Context, ds []*bellhop.Delivery) {
	type many interface {
		ScheduleMany(ctx context.Context, ds []*bellhop.Delivery) error
	}
	m, ok := s.cfg.Scheduler.(many)
	if !ok || len(ds) < 2 {
		s.schedule(ctx, ds)
		return
	}
	if err := m.ScheduleMany(ctx, ds); err != nil {
		s.cfg.Logger.WarnContext(ctx, "queueing sends failed; the sweep will queue them when due", "deliveries", len(ds), "error", err)
	}
}

// Tally counts the lines of each status; every status is present, zero or not.
func Tally(res []LineResult) map[LineStatus]int {
	n := map[LineStatus]int{LineCreated: 0, LineUpdated: 0, LineUnchanged: 0, LineIgnoredOlder: 0, LineRefused: 0}
	for _, r := range res {
		n[r.Status]++
	}
	return n
}
