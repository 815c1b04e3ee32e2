package mailings

import (
	"context"
	"errors"

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
func (s *Service) PutBookings(ctx context.Context, pid string, lines []BatchLine) ([]LineResult, error) {
	if len(lines) > MaxBatch {
		return nil, bellhop.Errorf(bellhop.EInvalid, "At most %d bookings at a time, not %d.", MaxBatch, len(lines))
	}
	out := make([]LineResult, 0, len(lines))
	for start := 0; start < len(lines); start += batchTxSize {
		chunk := lines[start:min(start+batchTxSize, len(lines))]
		res, err := s.putChunk(ctx, pid, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// putChunk takes in one transaction's lines and queues their sends after it commits.
func (s *Service) putChunk(ctx context.Context, pid string, lines []BatchLine) ([]LineResult, error) {
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
		tx = &chunkTx{Tx: tx} // one reading of the mailings for every line
		for i, l := range lines {
			res[i] = LineResult{Line: l.Line, ID: l.ID}
			if l.Err != nil {
				res[i].Status, res[i].Error = LineRefused, refusal(l.Err)
				continue
			}
			// intake may change the booking (its phone, when first seen non-guaranteed):
			// a transaction run again starts from the line as it was sent.
			b := *l.Booking
			r, q, err := s.intake(ctx, tx, p, &b, now)
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
		return nil
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

// chunkTx is a batch's transaction: the property's mailings are read once for all its lines
// (nothing in a batch changes them), everything else as any transaction does.
type chunkTx struct {
	Tx
	mailings []*bellhop.Mailing
	read     bool
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
