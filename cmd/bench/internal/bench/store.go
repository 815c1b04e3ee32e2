package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
)

// memStore is the database-free queue.Store of a worker process: every delivery it is asked
// about is a welcome message of a booking whose property sends through the sender named in
// the delivery's id, due now. Each process keeps its own ledger rows. The sandbox does not
// deduplicate by mark (nor does the real provider): a delivery two processes both sent shows
// in the sender's RepeatedMarks.
type memStore struct {
	sandboxURL string
	rec        *recorder
	today      bellhop.Date

	mu   sync.Mutex
	rows map[string]*bellhop.Delivery
}

func newMemStore(sandboxURL string, rec *recorder) *memStore {
	return &memStore{sandboxURL: sandboxURL, rec: rec, today: bellhop.DateOf(time.Now().UTC()), rows: map[string]*bellhop.Delivery{}}
}

// deliveryID names message n of a sender. Real ledger ids are hashes (mailings.DeliveryID);
// these carry the sender and the booking so that any worker process can rebuild the row.
func deliveryID(sender string, n int) string { return "dl_s" + sender + "_" + strconv.Itoa(n) }

// benchDelivery is message n of a sender, scheduled and due at due, as planning leaves it.
func benchDelivery(sender string, n int, due time.Time) *bellhop.Delivery {
	id := deliveryID(sender, n)
	pid, bid, _ := parseID(id)
	return &bellhop.Delivery{ID: id, PropertyID: pid, BookingID: bid, Kind: bellhop.Welcome, Phone: phoneOf(bid),
		Version: 1, Status: bellhop.DeliveryScheduled, DueAt: due, PlannedAt: due}
}

// parseID reads the property and booking back from a delivery id.
func parseID(id string) (pid, bid string, ok bool) {
	sender, n, ok := strings.Cut(strings.TrimPrefix(id, "dl_s"), "_")
	if !ok || !strings.HasPrefix(id, "dl_s") {
		return "", "", false
	}
	return "bench-s" + sender, "B" + n, true
}

// senderOf reads the sender back from a property id.
func senderOf(pid string) string { return strings.TrimPrefix(pid, "bench-s") }

// phoneOf makes a valid E.164 number from a booking id.
func phoneOf(bid string) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(bid, "B"))
	return fmt.Sprintf("+7999%07d", n%10_000_000)
}

func (s *memStore) row(id string) (*bellhop.Delivery, error) {
	pid, bid, ok := parseID(id)
	if !ok {
		return nil, bellhop.Errorf(bellhop.ENotFound, "delivery %s not found", id)
	}
	d, ok := s.rows[id]
	if !ok {
		d = &bellhop.Delivery{
			ID: id, PropertyID: pid, BookingID: bid, Kind: bellhop.Welcome,
			Phone: phoneOf(bid), Status: bellhop.DeliveryScheduled, Version: 1,
		}
		s.rows[id] = d
	}
	return d, nil
}

func (s *memStore) GetDelivery(_ context.Context, id string) (*bellhop.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.row(id)
	if err != nil {
		return nil, err
	}
	c := *d
	return &c, nil
}

func (s *memStore) GetProperty(_ context.Context, id string) (*bellhop.Property, error) {
	return &bellhop.Property{ID: id, Name: "Bench Hotel", TimeZone: "UTC", Language: "en", ContactCenter: true}, nil
}

func (s *memStore) GetBooking(_ context.Context, pid, bid string) (*bellhop.Booking, error) {
	return &bellhop.Booking{
		ID: bid, PropertyID: pid, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
		Arrival: s.today, Departure: s.today.AddDays(2), UpdatedAt: time.Now(),
		Guest: bellhop.Guest{Name: "Guest " + bid, Phone: phoneOf(bid), Language: "en"},
	}, nil
}

// GetMailing is a welcome mailing that is due whenever the bench runs: the day before an
// arrival that is today, no quiet hours.
func (s *memStore) GetMailing(_ context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error) {
	return &bellhop.Mailing{
		PropertyID: pid, Kind: kind, Enabled: true, SendingMethod: intellectdialog.Kind,
		Templates: map[string]string{"en": "Hello {guest_name}, welcome to {hotel_name} on {arrival_date}!"},
		Schedule: bellhop.Schedule{
			DayOffset: -1, SendTime: "12:00", QuietStart: "00:00", QuietEnd: "00:00", LateUntilDay: 1,
		},
	}, nil
}

func (s *memStore) GetIntegration(_ context.Context, pid, prov string) (*bellhop.Integration, error) {
	id := senderOf(pid)
	return &bellhop.Integration{
		PropertyID: pid, Provider: prov, BaseURL: s.sandboxURL, Status: bellhop.StatusVerified,
		OrganizationID: "1", OrganizationName: "Sandbox Hotels", Active: true,
		Sender: &bellhop.Sender{ID: id, Type: "whatsapp", Name: "Bench " + id},
	}, nil
}

func (s *memStore) DeferDelivery(_ context.Context, id string, version int, dueAt, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.row(id)
	if err != nil || d.Version != version || !d.Status.Pending() {
		return false, err
	}
	d.DueAt = dueAt
	s.rec.add(event{ID: id, Kind: evSlot, Slot: dueAt})
	return true, nil
}

func (s *memStore) FinishDelivery(_ context.Context, id string, version int, status bellhop.DeliveryStatus, reason, messageID string, _ *time.Time, dueAt, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.row(id)
	if err != nil || d.Version != version {
		return false, err
	}
	d.Status, d.Reason, d.ProviderMessageID, d.DueAt = status, reason, messageID, dueAt
	if status != bellhop.DeliverySent {
		s.rec.add(event{ID: id, Kind: evOutcome, Note: string(status) + " " + reason})
	}
	return true, nil
}

func (s *memStore) FinishAttempt(ctx context.Context, id string, version, _ int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time, _ bellhop.DeliveryStatus, _ string) (bool, error) {
	return s.FinishDelivery(ctx, id, version, status, reason, messageID, sentAt, dueAt, now)
}

func (s *memStore) MoveChannel(ctx context.Context, d *bellhop.Delivery, _ string, _ []bellhop.DeliveryAttempt, next string, status bellhop.DeliveryStatus, reason string, dueAt, now time.Time) (bool, error) {
	if next != "" {
		status = bellhop.DeliveryScheduled
	}
	return s.FinishDelivery(ctx, d.ID, d.Version, status, reason, "", nil, dueAt, now)
}

// The bench keeps no ledger of attempts, and its guests never write.

func (s *memStore) UpdateAttempt(context.Context, string, int, bellhop.DeliveryStatus, string, string, time.Time) error {
	return nil
}

func (s *memStore) LastInbound(context.Context, string, string, string) (time.Time, error) {
	return time.Time{}, nil
}

func (s *memStore) ClaimDelivery(_ context.Context, d *bellhop.Delivery, prov, senderID string, _, _ time.Time) (int, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, err := s.row(d.ID)
	if err != nil {
		return 0, "", err
	}
	if row.Version != d.Version || !row.Status.Pending() {
		return 0, "", bellhop.Errorf(bellhop.ENotFound, "delivery %s moved on", d.ID)
	}
	row.Status, row.Provider, row.SenderID = bellhop.DeliverySending, prov, senderID
	row.Attempts++
	s.rec.add(event{ID: d.ID, Kind: evClaim})
	return row.Attempts, d.ID, nil
}

func (s *memStore) DueDeliveries(context.Context, time.Time, int) ([]*bellhop.Delivery, error) {
	return nil, nil
}

func (s *memStore) ReleaseStay(context.Context, *bellhop.Delivery) error { return nil }

// The bench's integrations send from one sender each: no pool, no guest to keep on a number.

func (s *memStore) GuestSender(context.Context, string, string, string) (string, error) {
	return "", nil
}

func (s *memStore) PinGuestSender(context.Context, string, string, string, string, time.Time) error {
	return nil
}

// connector hands every integration the one sandbox client.
type connector struct{ client provider.Provider }

func (c connector) Client(*bellhop.Integration) (provider.Provider, error) { return c.client, nil }

func (c connector) ProviderError(_ context.Context, _ *bellhop.Integration, doing string, err error) error {
	return errors.Join(errors.New(doing), err)
}

// The bench's sends all reach the sandbox: no attempt is left unknown, no callback relayed,
// and statuses are not asked about.

func (s *memStore) SkipDelivery(ctx context.Context, id string, version, _ int, reason string, now time.Time) (bool, error) {
	return s.FinishDelivery(ctx, id, version, bellhop.DeliverySkipped, reason, "", nil, now, now)
}

func (s *memStore) HoldDelivery(context.Context, string, int, int, string, time.Time) (bool, error) {
	return false, nil
}

func (s *memStore) CheckedDelivery(context.Context, string, time.Time) error { return nil }

func (s *memStore) UnreportedDeliveries(context.Context, time.Time, time.Time, time.Time, int) ([]*bellhop.Delivery, error) {
	return nil, nil
}

func (s *memStore) NoteForwardResult(context.Context, string, string, bool, string, time.Time) error {
	return nil
}

func (s *memStore) ReportDelivery(context.Context, string, bellhop.DeliveryStatus, bellhop.DeliveryStatus, string, string, time.Time, time.Time) (bool, error) {
	return false, nil
}

func (c connector) ForwardTarget(*bellhop.Integration) (string, bool, error) { return "", false, nil }
