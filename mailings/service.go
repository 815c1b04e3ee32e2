package mailings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// Tx is the storage planning reads and writes, all in one transaction.
type Tx interface {
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	GetBooking(ctx context.Context, pid, bid string) (*bellhop.Booking, error)
	SaveBooking(ctx context.Context, b *bellhop.Booking, receivedAt time.Time) (bool, error)
	CancelBooking(ctx context.Context, pid, bid string, at time.Time) (bool, error)
	ListBookingsDeparting(ctx context.Context, pid string, day bellhop.Date) ([]*bellhop.Booking, error)
	CreateMailings(ctx context.Context, ms []bellhop.Mailing) (int, error)
	UpdateMailing(ctx context.Context, m *bellhop.Mailing) error
	GetMailing(ctx context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error)
	ListMailings(ctx context.Context, pid string) ([]*bellhop.Mailing, error)
	SaveDelivery(ctx context.Context, d *bellhop.Delivery) error
	GetDelivery(ctx context.Context, id string) (*bellhop.Delivery, error)
	BookingDeliveries(ctx context.Context, pid, bid string) ([]*bellhop.Delivery, error)
	ListDeliveries(ctx context.Context, pid string, f bellhop.DeliveryFilter) ([]*bellhop.Delivery, error)
	ReleaseStay(ctx context.Context, d *bellhop.Delivery) error
	DeferDelivery(ctx context.Context, id string, version int, dueAt, now time.Time) (bool, error)
	GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error)
}

// Store is Tx outside a transaction, plus a way to run one.
type Store interface {
	Tx
	InTx(ctx context.Context, fn func(tx Tx) error) error
	ReportDelivery(ctx context.Context, id string, from, to bellhop.DeliveryStatus, reason, messageID string, sentAt, now time.Time) (bool, error)
	// DeliveryByMessageID finds a property's delivery by the provider's message id.
	DeliveryByMessageID(ctx context.Context, pid, messageID string) (*bellhop.Delivery, error)
	// CountPending counts a property's scheduled sends planned in [from, to) per kind, from
	// an index (store.CountPending); a zero from counts from the start.
	CountPending(ctx context.Context, pid string, from, to time.Time) (map[bellhop.MailingKind]int, error)
	// UpdateAttempt records a provider's word on a delivery's attempt (its ledger line).
	UpdateAttempt(ctx context.Context, deliveryID string, attempt int, status bellhop.DeliveryStatus, reason, messageID string, now time.Time) error
	// FallThrough moves a delivery whose latest message cannot reach the guest on to its next
	// channel, or fails it (see store.FallThrough).
	FallThrough(ctx context.Context, d *bellhop.Delivery, next, reason string, dueAt, now time.Time) (bool, error)
	// NoteInbound records a guest's message on a channel; LastInbound reads the latest.
	NoteInbound(ctx context.Context, pid, channel, contact string, at time.Time) error
	LastInbound(ctx context.Context, pid, channel, contact string) (time.Time, error)
	// ListDeliveriesWithAttempts lists the ledger with each row's attempts; DeliveryAttempts
	// reads one row's.
	ListDeliveriesWithAttempts(ctx context.Context, pid string, f bellhop.DeliveryFilter) ([]*bellhop.Delivery, error)
	DeliveryAttempts(ctx context.Context, deliveryID string) ([]bellhop.DeliveryAttempt, error)
}

// Scheduler queues the sends of scheduled deliveries (the queue package). It must tolerate
// being asked twice for the same delivery version.
type Scheduler interface {
	Schedule(ctx context.Context, ds []*bellhop.Delivery) error
	// Wake runs pending deliveries' sends now (after a pause ends).
	Wake(ctx context.Context, ds []*bellhop.Delivery) error
}

// Config wires a Service. Zero values mean defaults where one is given.
type Config struct {
	Store     Store
	Scheduler Scheduler
	Clock     bellhop.Clock // default: system clock
	Logger    *slog.Logger  // default: slog.Default()
	// Pacing tells the capacity view and the preview how fast each sender sends; nil leaves
	// the capacity view unavailable and the preview without realistic send times.
	Pacing Pacing
	// Kinds declares the channel kinds (address, capabilities), for the preview's choice of
	// channel; nil: every kind reaches phones with free text.
	Kinds interface {
		Get(name string) (*provider.Kind, bool)
	}
	// SendingMethods are the provider kinds a mailing may be sent through (the connector's
	// kinds); a mailing naming another is refused. Empty accepts any well-formed name.
	SendingMethods []string
	// Horizon is the planning horizon: a send due within it is queued when it is planned, a
	// later one is left in the database for the queue's horizon scheduler (queue.Horizon),
	// which queues it as it comes within. Default bellhop.DefaultPlanHorizon; negative queues
	// every send when planned (as before the horizon).
	Horizon time.Duration
	// Templates lists the templates a channel's provider approved, to check a mailing's
	// WhatsApp templates when it is saved; nil saves them unchecked.
	Templates TemplateCatalog
	// TemplateCheckWait bounds the provider calls of one such check; default
	// DefaultTemplateCheckWait. A provider that does not answer in time leaves the templates
	// saved unchecked, with a warning.
	TemplateCheckWait time.Duration
}

// Service takes bookings in and keeps each booking's deliveries planned: the ledger rows and
// the queued sends that go with them.
type Service struct {
	cfg Config
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Scheduler == nil {
		return nil, errors.New("mailings: Store and Scheduler are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Horizon == 0 {
		cfg.Horizon = bellhop.DefaultPlanHorizon
	}
	return &Service{cfg: cfg}, nil
}

// DeliveryID is the ledger id of a mailing kind for a booking. It is derived, not random, so
// that planning is idempotent; it is also the provider's idempotency mark.
func DeliveryID(pid, bid string, kind bellhop.MailingKind) string {
	h := sha256.Sum256([]byte(pid + "\x00" + bid + "\x00" + string(kind)))
	return "dl_" + hex.EncodeToString(h[:12])
}

// BookingResult is a booking after intake, with its deliveries.
type BookingResult struct {
	Booking *bellhop.Booking `json:"booking"`
	// Created is true for a booking Bellhop had not seen; Ignored for a push that was not
	// newer than the stored booking (which is returned unchanged).
	Created    bool                `json:"created"`
	Ignored    bool                `json:"ignored"`
	Deliveries []*bellhop.Delivery `json:"deliveries"`
}

// PutBooking takes in a booking as the PMS pushes it: validated and its phone normalised with
// the property's country first, then a push not newer than the stored one ignored, and the
// booking's deliveries planned again in the same transaction. Sends are queued after it
// commits; a crash in between is caught up by the queue's sweep, so no send is lost.
func (s *Service) PutBooking(ctx context.Context, pid string, b *bellhop.Booking) (*BookingResult, error) {
	return s.putBooking(ctx, pid, nil, b)
}

// PutPropertyBooking is PutBooking for property p as the caller has just read it (the API
// reads it to answer a missing property 404): the transaction does not read it again.
func (s *Service) PutPropertyBooking(ctx context.Context, p *bellhop.Property, b *bellhop.Booking) (*BookingResult, error) {
	return s.putBooking(ctx, p.ID, p, b)
}

// putBooking is PutBooking, reading property pid inside the transaction unless p is given.
func (s *Service) putBooking(ctx context.Context, pid string, p *bellhop.Property, b *bellhop.Booking) (*BookingResult, error) {
	now := s.cfg.Clock.Now().UTC()
	res := &BookingResult{}
	var queue []*bellhop.Delivery
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		prop := p
		if prop == nil {
			var err error
			if prop, err = tx.GetProperty(ctx, pid); err != nil {
				return err
			}
		}
		var err error
		*res, queue, err = s.intake(ctx, tx, prop, b, now) // set afresh: the store may run a transaction again
		return err
	})
	if err != nil {
		return nil, err
	}
	s.schedule(ctx, queue)
	return res, nil
}

// intake is one booking's intake inside tx, for PutBooking and PutBookings alike: validated
// first, a push not newer than the stored one ignored, then stored and its deliveries planned.
// It returns the deliveries whose sends must be queued once tx commits.
func (s *Service) intake(ctx context.Context, tx Tx, p *bellhop.Property, b *bellhop.Booking, now time.Time) (BookingResult, []*bellhop.Delivery, error) {
	var res BookingResult
	b.PropertyID = p.ID
	prev, stored, err := intakeReads(ctx, tx, p.ID, b.ID)
	if err != nil {
		return res, nil, err
	}
	// Validation comes first: a bad push is refused even when it is not newer, so the PMS
	// learns of it, and an updated_at far ahead cannot win and freeze the booking.
	if err := Intake(prev, b, *p, now); err != nil {
		return res, nil, err
	}
	saved := false
	if !Stale(prev, *b) {
		if saved, err = tx.SaveBooking(ctx, b, now); err != nil {
			return res, nil, err
		}
	}
	if !saved { // not newer, or a newer push won a race with this one
		if prev == nil {
			// Another push stored the booking after this one read it: read what won.
			if prev, err = tx.GetBooking(ctx, p.ID, b.ID); err != nil {
				return res, nil, err
			}
			stored.deliveries = nil
		}
		if stored.deliveries == nil {
			if stored.deliveries, err = tx.BookingDeliveries(ctx, p.ID, b.ID); err != nil {
				return res, nil, err
			}
		}
		res.Booking, res.Ignored, res.Deliveries = prev, true, nonNil(stored.deliveries)
		return res, nil, nil
	}
	res.Booking, res.Created = b, prev == nil
	var queue []*bellhop.Delivery
	res.Deliveries, queue, err = s.plan(ctx, tx, p, b, nil, now, stored)
	return res, queue, err
}

// intakeReader is a transaction that reads what a push decides on in one go (the store's:
// one round trip on PostgreSQL).
type intakeReader interface {
	IntakeReads(ctx context.Context, pid, bid string) (*bellhop.Booking, []*bellhop.Mailing, []*bellhop.Delivery, error)
}

// storedRows are a booking's mailings and ledger rows as read with it; nil slices are not
// read yet.
type storedRows struct {
	mailings   []*bellhop.Mailing
	deliveries []*bellhop.Delivery
}

// intakeReads reads booking bid (nil when there is none) and, when tx can in the same round
// trip, the property's mailings and the booking's ledger rows.
func intakeReads(ctx context.Context, tx Tx, pid, bid string) (*bellhop.Booking, storedRows, error) {
	if r, ok := tx.(intakeReader); ok {
		b, ms, ds, err := r.IntakeReads(ctx, pid, bid)
		return b, storedRows{mailings: nonNil(ms), deliveries: nonNil(ds)}, err
	}
	b, err := tx.GetBooking(ctx, pid, bid)
	if bellhop.IsNotFound(err) {
		return nil, storedRows{}, nil
	}
	return b, storedRows{}, err
}

// CancelBooking marks a booking cancelled (the PMS's DELETE) and cancels its pending sends.
func (s *Service) CancelBooking(ctx context.Context, pid, bid string) (*BookingResult, error) {
	now := s.cfg.Clock.Now().UTC()
	res := &BookingResult{}
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		*res = BookingResult{} // the store may run a transaction again
		p, err := tx.GetProperty(ctx, pid)
		if err != nil {
			return err
		}
		if _, err := tx.CancelBooking(ctx, pid, bid, now); err != nil {
			return err
		}
		b, err := tx.GetBooking(ctx, pid, bid)
		if err != nil {
			return err
		}
		res.Booking = b
		res.Deliveries, _, err = s.planBooking(ctx, tx, p, b, nil, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// GetBooking returns a booking with its deliveries.
func (s *Service) GetBooking(ctx context.Context, pid, bid string) (*BookingResult, error) {
	b, err := s.cfg.Store.GetBooking(ctx, pid, bid)
	if err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.BookingDeliveries(ctx, pid, bid)
	if err != nil {
		return nil, err
	}
	return &BookingResult{Booking: b, Deliveries: nonNil(ds)}, nil
}

// planBooking brings a booking's deliveries in line with its mailings (only the kinds in
// only, when given) and returns every delivery of the booking and those whose sends must be
// queued.
func (s *Service) planBooking(ctx context.Context, tx Tx, p *bellhop.Property, b *bellhop.Booking, only []bellhop.MailingKind, now time.Time) (all, queue []*bellhop.Delivery, err error) {
	return s.plan(ctx, tx, p, b, only, now, storedRows{})
}

// plan is planBooking with the mailings and ledger rows already read (those not nil in stored).
func (s *Service) plan(ctx context.Context, tx Tx, p *bellhop.Property, b *bellhop.Booking, only []bellhop.MailingKind, now time.Time, stored storedRows) (all, queue []*bellhop.Delivery, err error) {
	ms, existing := stored.mailings, stored.deliveries
	if ms == nil {
		if ms, err = tx.ListMailings(ctx, p.ID); err != nil {
			return nil, nil, err
		}
	}
	if existing == nil {
		if existing, err = tx.BookingDeliveries(ctx, p.ID, b.ID); err != nil {
			return nil, nil, err
		}
	}
	byKind := map[bellhop.MailingKind]*bellhop.Delivery{}
	for _, d := range existing {
		byKind[d.Kind] = d
	}
	var save, release []*bellhop.Delivery
	for _, m := range ms {
		if only != nil && !slices.Contains(only, m.Kind) {
			continue
		}
		d, changed := planDelivery(m, p, b, byKind[m.Kind], now)
		if !changed {
			continue
		}
		d.Queued = d.Status == bellhop.DeliveryScheduled && s.withinHorizon(d.DueAt, now)
		save = append(save, d)
		// A delivery that claimed its stay in an attempt that did not go through gives the
		// claim up when it will not send, or when its stay (phone, dates) changed.
		if cur := byKind[m.Kind]; cur != nil && (cur.StayKey != d.StayKey || !d.Status.Pending()) {
			release = append(release, cur)
		}
		byKind[m.Kind] = d
		if d.Queued {
			queue = append(queue, d)
		}
	}
	if err := saveDeliveries(ctx, tx, save); err != nil {
		return nil, nil, err
	}
	for _, cur := range release {
		if err := tx.ReleaseStay(ctx, cur); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range bellhop.Kinds() {
		if d := byKind[k]; d != nil {
			all = append(all, d)
		}
	}
	return nonNil(all), queue, nil
}

// deliveriesSaver is a transaction that writes several ledger rows in one statement (the
// store's).
type deliveriesSaver interface {
	SaveDeliveries(ctx context.Context, ds []*bellhop.Delivery) error
}

// saveDeliveries writes a booking's changed ledger rows (of distinct kinds): in one statement
// when tx can, else one by one.
func saveDeliveries(ctx context.Context, tx Tx, ds []*bellhop.Delivery) error {
	if bt, ok := tx.(deliveriesSaver); ok && len(ds) > 1 {
		return bt.SaveDeliveries(ctx, ds)
	}
	for _, d := range ds {
		if err := tx.SaveDelivery(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// planDelivery decides what the ledger row of mailing m for booking b becomes, given the
// current row (nil when none), and reports whether it changed. Rows that were sent, failed or
// are being sent are history and stay as they are.
func planDelivery(m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, cur *bellhop.Delivery, now time.Time) (*bellhop.Delivery, bool) {
	if cur != nil && !replannable(cur) {
		return cur, false
	}
	dec := Plan(m, p, b, now)
	lang := Language(b.Guest.Language, p.Language, m.Templates)
	next := &bellhop.Delivery{
		ID: DeliveryID(p.ID, b.ID, m.Kind), PropertyID: p.ID, BookingID: b.ID, Kind: m.Kind,
		StayKey: StayKey(m.Kind, *b), Phone: b.Guest.Phone, Language: lang, Version: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if cur != nil {
		next.CreatedAt, next.Version, next.Attempts = cur.CreatedAt, cur.Version, cur.Attempts
		next.PlannedAt, next.DueAt, next.Provider, next.SenderID = cur.PlannedAt, cur.DueAt, cur.Provider, cur.SenderID
	}
	if dec.Skip != "" {
		status := bellhop.DeliverySkipped
		switch dec.Skip {
		case bellhop.ReasonBookingCancelled, bellhop.ReasonMailingDisabled, bellhop.ReasonBecameGuaranteed:
			if cur == nil {
				// Nothing was planned, so there is nothing to withdraw: no row.
				return nil, false
			}
			status = bellhop.DeliveryCancelled
		}
		if cur != nil && cur.Status == status && cur.Reason == dec.Skip {
			return cur, false
		}
		next.Status, next.Reason = status, dec.Skip
		if cur == nil {
			next.PlannedAt, next.DueAt = now, now
		}
		if cur != nil && cur.Status == bellhop.DeliveryScheduled {
			next.Version++ // the queued send must not run
		}
		return next, true
	}
	if cur != nil && cur.Status == bellhop.DeliveryScheduled && cur.PlannedAt.Equal(dec.At) &&
		cur.Phone == next.Phone && cur.Language == next.Language && cur.StayKey == next.StayKey {
		return cur, false
	}
	next.Status, next.PlannedAt, next.DueAt = bellhop.DeliveryScheduled, dec.At, dec.At
	if cur != nil {
		next.Version++
	}
	return next, true
}

// replannable reports whether a row may still change with its booking: it was never sent,
// nor claimed for sending.
func replannable(d *bellhop.Delivery) bool {
	switch d.Status {
	case bellhop.DeliveryScheduled:
		return true
	case bellhop.DeliveryCancelled, bellhop.DeliverySkipped:
		return d.Attempts == 0 && d.SentAt == nil
	}
	return false
}

// withinHorizon reports whether a send due at due is queued when planned at now; a later one
// waits in the database for the horizon scheduler. A re-plan or a cancellation of a send that
// was never queued is then a database change only.
func (s *Service) withinHorizon(due, now time.Time) bool {
	return s.cfg.Horizon < 0 || !due.After(now.Add(s.cfg.Horizon))
}

// schedule queues sends after their rows are committed. A failure is logged, not returned:
// the rows are safe, and the queue's sweep queues what is due and not queued.
func (s *Service) schedule(ctx context.Context, ds []*bellhop.Delivery) {
	if len(ds) == 0 {
		return
	}
	if err := s.cfg.Scheduler.Schedule(ctx, ds); err != nil {
		s.cfg.Logger.WarnContext(ctx, "queueing sends failed; the sweep will queue them when due", "deliveries", len(ds), "error", err)
	}
}

func nonNil[T any](s []*T) []*T {
	if s == nil {
		return []*T{}
	}
	return s
}

// EnsureMailings creates a property's three mailings, disabled and with the default texts,
// when an integration is activated for the first time; existing mailings are kept as they are.
func (s *Service) EnsureMailings(ctx context.Context, in *bellhop.Integration) error {
	now := s.cfg.Clock.Now().UTC()
	ms := Defaults(in.PropertyID, in.Provider)
	for i := range ms {
		ms[i].CreatedAt, ms[i].UpdatedAt = now, now
	}
	n, err := s.cfg.Store.CreateMailings(ctx, ms)
	if err != nil {
		return fmt.Errorf("create default mailings: %w", err)
	}
	if n > 0 {
		s.cfg.Logger.InfoContext(ctx, "default mailings created", "property", in.PropertyID, "sending_method", in.Provider, "created", n)
	}
	// Sends that waited while the integration was off or its key was rejected go now.
	if _, err := s.Resume(ctx, in.PropertyID); err != nil {
		s.cfg.Logger.WarnContext(ctx, "resuming paused sends failed; the sweep will", "property", in.PropertyID, "error", err)
	}
	return nil
}

// Resume runs a property's pending sends whose planned time has passed now: those that waited
// for an integration to be active and verified again, or for a paused sender to be resumed
// (a send that still waits for its sender's slot just takes its place again). It returns how
// many it woke.
func (s *Service) Resume(ctx context.Context, pid string) (int, error) {
	now := s.cfg.Clock.Now().UTC()
	var due []*bellhop.Delivery
	for _, st := range []bellhop.DeliveryStatus{bellhop.DeliveryScheduled, bellhop.DeliverySending} {
		ds, err := s.cfg.Store.ListDeliveries(ctx, pid, bellhop.DeliveryFilter{Status: st, Limit: 1000})
		if err != nil {
			return 0, err
		}
		for _, d := range ds {
			if d.PlannedAt.After(now) {
				continue
			}
			if d.DueAt.After(now) {
				// Deferred while paused (a paused sender's retry): due now instead.
				if ok, err := s.cfg.Store.DeferDelivery(ctx, d.ID, d.Version, now, now); err != nil {
					return 0, err
				} else if !ok {
					continue
				}
			}
			due = append(due, d)
		}
	}
	if len(due) == 0 {
		return 0, nil
	}
	if err := s.cfg.Scheduler.Wake(ctx, due); err != nil {
		return 0, err
	}
	s.cfg.Logger.InfoContext(ctx, "paused sends resumed", "property", pid, "count", len(due))
	return len(due), nil
}
