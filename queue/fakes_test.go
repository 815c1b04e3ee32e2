package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/queue/pacer"
	"github.com/redis/go-redis/v9"
)

// testDB is this package's own Redis database. Every test keeps its keys under a prefix of
// its own and deletes them, so the database is never flushed.
const testDB = 12

// t0 is a Monday morning, well clear of any DST change and of the quiet hours.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// The worker's waits in these tests, each different so that a wait taken for another shows.
const (
	sendTimeout = 30 * time.Second
	settle      = 20 * time.Second
	recheck     = 45 * time.Second
	holdAfter   = time.Hour
	reportAfter = 10 * time.Minute
	reportEvery = 15 * time.Minute
)

// The hotel, its guest and its sender.
const (
	propertyID   = "1042"
	bookingID    = "B-1"
	providerKind = "fakeprovider"
	senderID     = "wa-1"
	guestPhone   = "+79123456789"
)

func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisDown is asked once per test binary: a missing Redis should not cost every test its
// dial retries.
var redisDown = sync.OnceValue(func() error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DB: testDB, MaxRetries: -1})
	defer rdb.Close()
	return rdb.Ping(context.Background()).Err()
})

// newRedis returns a client on the test database and a key prefix of the test's own, whose
// keys are deleted when the test ends. Without Redis the test is skipped, or fails in CI.
func newRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	if err := redisDown(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s does not answer: %v", redisAddr(), err)
		}
		t.Skipf("Redis at %s does not answer: %v", redisAddr(), err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DB: testDB})
	ns := fmt.Sprintf("bellhop:test:queue:%016x:", rand.Uint64())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, ns+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, ns
}

// fixture is a worker on a simulated clock, the real pacer on Redis, an in-memory ledger
// holding one welcome delivery due now, and a fake provider account.
type fixture struct {
	clock *bellhop.SimulatedClock
	store *memStore
	prov  *fakeProvider
	conn  *fakeConnector
	w     *Worker
	id    string // the welcome delivery
}

// testPacer paces the sender closer than the worker's looks, so that the pacer never holds
// a send back unless a test asks it to.
var testPacer = pacer.Config{Interval: 10 * time.Second, Jitter: -1}

func newFixture(t *testing.T, pc pacer.Config) *fixture {
	t.Helper()
	rdb, ns := newRedis(t)
	clock := bellhop.NewSimulatedClock(t0)
	pc.KeyPrefix = ns + "pacer:"
	p, err := pacer.New(rdb, clock, pc)
	if err != nil {
		t.Fatalf("pacer.New: %v", err)
	}
	store := newMemStore(t0)
	prov := newFakeProvider(clock)
	conn := &fakeConnector{prov: prov, store: store}
	w, err := NewWorker(Config{
		Store: store, Connector: conn, Pacer: p, Client: NewClient(rdb, ns+"mailings"),
		Clock:  clock,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(_ context.Context, d time.Duration) error {
			clock.Advance(d)
			return nil
		},
		SendTimeout: sendTimeout, Settle: settle, Recheck: recheck, HoldAfter: holdAfter,
		ReportAfter: reportAfter, ReportEvery: reportEvery,
	})
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	return &fixture{clock: clock, store: store, prov: prov, conn: conn, w: w,
		id: mailings.DeliveryID(propertyID, bookingID, bellhop.Welcome)}
}

// send runs the delivery's send task once.
func (f *fixture) send() error { return f.w.Send(context.Background(), f.id, 1) }

// comeBack is when Asynq would run the task again after it answered err, and whether err
// asked for a time (rather than failed). failures counts the failures so far.
func (f *fixture) comeBack(err error, failures int) (time.Duration, bool) {
	var ny *notYet
	if errors.As(err, &ny) {
		// Asynq brings the task back Lead before the time asked (retryDelay) and moves due
		// tasks on a one-second tick.
		return max(f.w.retryDelay(0, err, nil), time.Second), true
	}
	// Its backoff, without the jitter.
	return min(time.Duration(1<<(failures+1))*time.Second, 10*time.Minute), false
}

// run runs the send task as Asynq would, bringing it back after each error, until it
// answers nil. More than limit runs fail the test.
func (f *fixture) run(t *testing.T, limit int) {
	t.Helper()
	failures := 0
	for range limit {
		err := f.send()
		if err == nil {
			return
		}
		wait, asked := f.comeBack(err, failures)
		if !asked {
			failures++
		}
		f.clock.Advance(wait)
	}
	t.Fatalf("the send task was still not done after %d runs (%s); the row: %+v", limit, f.clock.Now().Sub(t0), f.row(t))
}

// comeBackAt asserts that err asks for the task to come back at want.
func comeBackAt(t *testing.T, err error, want time.Time) {
	t.Helper()
	var ny *notYet
	if !errors.As(err, &ny) {
		t.Fatalf("Send = %v, want to come back at %s", err, want.Format(time.TimeOnly))
	}
	if !ny.at.Equal(want) {
		t.Fatalf("Send asks to come back at %s, want %s", ny.at.Format(time.TimeOnly), want.Format(time.TimeOnly))
	}
}

func (f *fixture) row(t *testing.T) *bellhop.Delivery {
	t.Helper()
	d, err := f.store.GetDelivery(context.Background(), f.id)
	if err != nil {
		t.Fatalf("GetDelivery: %v", err)
	}
	return d
}

// testWriter sends the worker's log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}

// memStore is the ledger in memory, with the SQL's rules for moving a row (store/queries.sql).
type memStore struct {
	mu          sync.Mutex
	property    bellhop.Property
	booking     bellhop.Booking
	mailing     bellhop.Mailing
	integration bellhop.Integration
	rows        map[string]*bellhop.Delivery
	stays       map[string]string // property, kind and stay key → the delivery that owns it
	forwards    []string
	// others are the property's integrations of other kinds (channels of a mailing).
	others map[string]bellhop.Integration
	// attempts is the ledger of attempts; inbound the guests' last messages by channel and
	// contact.
	attempts []bellhop.DeliveryAttempt
	inbound  map[string]time.Time
	// afterGet, when set, runs after GetDelivery has read its row (outside the lock).
	afterGet func()
	// guests is the pool's number that first sent to each guest (property, kind, digits).
	guests map[string]string
}

// newMemStore holds a property whose welcome mailing is on, an active verified integration
// with a sender, and a booking arriving today, so that its welcome is due now.
func newMemStore(now time.Time) *memStore {
	p := bellhop.Property{ID: propertyID, Name: "Hotel Neva", TimeZone: "UTC", Country: "RU", Language: "en"}
	b := bellhop.Booking{
		ID: bookingID, PropertyID: propertyID, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
		Arrival: bellhop.DateOf(now), Departure: bellhop.DateOf(now).AddDays(2),
		CreatedAt: now.Add(-24 * time.Hour), UpdatedAt: now.Add(-24 * time.Hour),
		Guest: bellhop.Guest{Name: "Anna Petrova", Phone: guestPhone, Language: "en"}, Revision: 1,
	}
	m := bellhop.Mailing{
		PropertyID: propertyID, Kind: bellhop.Welcome, Enabled: true, SendingMethod: providerKind,
		Templates: map[string]string{"en": mailings.DefaultTemplates(bellhop.Welcome)["en"]},
		Schedule:  mailings.DefaultSchedule(bellhop.Welcome),
	}
	in := bellhop.Integration{
		PropertyID: propertyID, Provider: providerKind, Status: bellhop.StatusVerified, Active: true,
		OrganizationID: "org-1", Sender: &bellhop.Sender{ID: senderID, Type: "whatsapp", Name: "Reception"},
	}
	d := &bellhop.Delivery{
		ID: mailings.DeliveryID(propertyID, bookingID, bellhop.Welcome), PropertyID: propertyID, BookingID: bookingID,
		Kind: bellhop.Welcome, StayKey: mailings.StayKey(bellhop.Welcome, b), Phone: guestPhone, Language: "en",
		PlannedAt: now, DueAt: now, Status: bellhop.DeliveryScheduled, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	return &memStore{property: p, booking: b, mailing: m, integration: in,
		rows: map[string]*bellhop.Delivery{d.ID: d}, stays: map[string]string{}}
}

func ptr(t time.Time) *time.Time { return &t }

func clonePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(*t)
}

func cloneDelivery(d *bellhop.Delivery) *bellhop.Delivery {
	c := *d
	c.SentAt, c.ClaimedAt, c.CheckedAt = clonePtr(d.SentAt), clonePtr(d.ClaimedAt), clonePtr(d.CheckedAt)
	return &c
}

func notFound(what string) error { return bellhop.Errorf(bellhop.ENotFound, "%s not found.", what) }

func (s *memStore) GetProperty(_ context.Context, id string) (*bellhop.Property, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.property.ID {
		return nil, notFound("property " + id)
	}
	p := s.property
	return &p, nil
}

func (s *memStore) GetBooking(_ context.Context, pid, bid string) (*bellhop.Booking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pid != s.booking.PropertyID || bid != s.booking.ID {
		return nil, notFound("booking " + bid)
	}
	b := s.booking
	return &b, nil
}

func (s *memStore) GetMailing(_ context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pid != s.mailing.PropertyID || kind != s.mailing.Kind {
		return nil, notFound("mailing " + string(kind))
	}
	m := s.mailing
	return &m, nil
}

func (s *memStore) GetIntegration(_ context.Context, pid, kind string) (*bellhop.Integration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.integration
	if o, ok := s.others[kind]; ok && pid == o.PropertyID {
		in = o
	} else if pid != s.integration.PropertyID || kind != s.integration.Provider {
		return nil, notFound("integration " + kind)
	}
	if in.Sender != nil {
		sender := *in.Sender
		in.Sender = &sender
	}
	return &in, nil
}

// invalidate is what the connector does to an integration whose key the provider rejected.
func (s *memStore) invalidate(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.integration.Status, s.integration.StatusReason = bellhop.StatusInvalid, reason
}

// pauseNextGet makes the next GetDelivery close read once it has read its row, then wait
// until goOn is closed (a second run of a task, held after its read).
func (s *memStore) pauseNextGet() (read, goOn chan struct{}) {
	read, goOn = make(chan struct{}), make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterGet = func() {
		s.mu.Lock()
		s.afterGet = nil // only that read waits
		s.mu.Unlock()
		close(read)
		<-goOn
	}
	return read, goOn
}

func (s *memStore) GetDelivery(_ context.Context, id string) (*bellhop.Delivery, error) {
	s.mu.Lock()
	d, ok := s.rows[id]
	if ok {
		d = cloneDelivery(d)
	}
	hook := s.afterGet
	s.mu.Unlock()
	if !ok {
		return nil, notFound("delivery " + id)
	}
	if hook != nil {
		hook()
	}
	return d, nil
}

// pending returns the row if it is pending at version.
func (s *memStore) pending(id string, version int) *bellhop.Delivery {
	d, ok := s.rows[id]
	if !ok || d.Version != version || !d.Status.Pending() {
		return nil
	}
	return d
}

func (s *memStore) DeferDelivery(_ context.Context, id string, version int, dueAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.pending(id, version)
	if d == nil {
		return false, nil
	}
	d.DueAt, d.UpdatedAt = dueAt, now
	return true, nil
}

// SkipDelivery is skip-delivery: a pending row at version with attempts claims.
func (s *memStore) SkipDelivery(_ context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.rows[id]
	if !ok || d.Version != version || d.Attempts != attempts || !d.Status.Pending() {
		return false, nil
	}
	d.Status, d.Reason, d.ProviderMessageID, d.SentAt, d.DueAt, d.UpdatedAt = bellhop.DeliverySkipped, reason, "", nil, now, now
	return true, nil
}

func (s *memStore) FinishAttempt(ctx context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time, attemptStatus bellhop.DeliveryStatus, attemptReason string) (bool, error) {
	ok, err := s.finish(ctx, id, version, attempt, status, reason, messageID, sentAt, dueAt, now)
	if err != nil || !ok {
		return ok, err
	}
	return true, s.UpdateAttempt(ctx, id, attempt, attemptStatus, attemptReason, messageID, now)
}

func (s *memStore) UpdateAttempt(_ context.Context, id string, attempt int, status bellhop.DeliveryStatus, reason, messageID string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.attempts {
		if a := &s.attempts[i]; a.DeliveryID == id && a.Attempt == attempt && attempt > 0 {
			a.Status, a.Reason, a.UpdatedAt = status, reason, now
			if messageID != "" {
				a.MessageID = messageID
			}
		}
	}
	return nil
}

func (s *memStore) MoveChannel(_ context.Context, d *bellhop.Delivery, failed string, skipped []bellhop.DeliveryAttempt, next string, status bellhop.DeliveryStatus, reason string, dueAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.pending(d.ID, d.Version)
	if row == nil || row.Channel != d.Channel || !slices.Equal(row.ChannelsDone, d.ChannelsDone) || row.Attempts != d.Attempts {
		return false, nil
	}
	var names []string
	for _, at := range skipped {
		names = append(names, at.Channel)
	}
	row.ChannelsDone = d.DoneAfter(names, next)
	switch {
	case next != "":
		row.Channel = next
	case len(skipped) > 0:
		row.Channel = skipped[len(skipped)-1].Channel
	}
	row.Status, row.Reason, row.DueAt, row.UpdatedAt = status, reason, dueAt, now
	if failed != "" {
		for i := range s.attempts {
			if a := &s.attempts[i]; a.DeliveryID == d.ID && a.Attempt == d.Attempts {
				a.Status, a.Reason, a.UpdatedAt = bellhop.DeliveryFailed, failed, now
			}
		}
	}
	for _, at := range skipped {
		at.DeliveryID = d.ID
		s.attempts = append(s.attempts, at)
	}
	return true, nil
}

func (s *memStore) LastInbound(_ context.Context, pid, channel, contact string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inbound[pid+"|"+channel+"|"+contact], nil
}

// ledger returns the delivery's attempts as "channel status reason" lines.
func (s *memStore) ledger(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.attempts {
		if a.DeliveryID == id {
			out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", a.Channel, a.Status, a.Reason)))
		}
	}
	return out
}

func (s *memStore) finish(_ context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.rows[id]
	if !ok || d.Version != version || (attempt > 0 && (d.Attempts != attempt || d.Status == bellhop.DeliveryScheduled)) {
		return false, nil
	}
	if status == bellhop.DeliverySent {
		// record-sent: a row its callbacks already moved on keeps their status.
		switch d.Status {
		case bellhop.DeliveryScheduled, bellhop.DeliverySending:
			d.Status = bellhop.DeliverySent
		case bellhop.DeliveryDelivered, bellhop.DeliveryRead:
		default:
			return false, nil
		}
		d.Reason = ""
	} else {
		if !d.Status.Pending() {
			return false, nil
		}
		d.Status, d.Reason = status, reason
	}
	d.ProviderMessageID, d.SentAt, d.DueAt, d.UpdatedAt = messageID, clonePtr(sentAt), dueAt, now
	return true, nil
}

func (s *memStore) ClaimDelivery(_ context.Context, d *bellhop.Delivery, kind, sender string, leaseUntil, now time.Time) (int, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stay := d.PropertyID + "|" + string(d.Kind) + "|" + d.StayKey
	if _, ok := s.stays[stay]; !ok {
		s.stays[stay] = d.ID
	}
	if owner := s.stays[stay]; owner != d.ID {
		return 0, owner, nil
	}
	row := s.pending(d.ID, d.Version)
	if row == nil || row.Attempts != d.Attempts {
		return 0, "", bellhop.Errorf(bellhop.ENotFound, "Delivery %s is no longer pending at version %d as read.", d.ID, d.Version)
	}
	// A retry of a sending row keeps the round's first claim and its last look.
	retry := row.Status == bellhop.DeliverySending
	if !retry || row.ClaimedAt == nil {
		row.ClaimedAt = ptr(now)
	}
	if !retry {
		row.CheckedAt = nil
	}
	row.Status, row.Attempts = bellhop.DeliverySending, row.Attempts+1
	row.DueAt, row.Provider, row.Channel, row.SenderID, row.UpdatedAt = leaseUntil, kind, kind, sender, now
	s.attempts = append(s.attempts, bellhop.DeliveryAttempt{DeliveryID: d.ID, Attempt: row.Attempts, Channel: kind,
		SenderID: sender, Status: bellhop.DeliverySending, At: now, UpdatedAt: now})
	return row.Attempts, d.ID, nil
}

func (s *memStore) DueDeliveries(_ context.Context, now time.Time, limit int) ([]*bellhop.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*bellhop.Delivery
	if !s.integration.Active || s.integration.Status != bellhop.StatusVerified {
		return nil, nil
	}
	for _, d := range s.rows {
		if d.Status.Pending() && !d.DueAt.After(now) {
			out = append(out, &bellhop.Delivery{ID: d.ID, Version: d.Version, Status: d.Status, Attempts: d.Attempts, DueAt: d.DueAt})
		}
	}
	slices.SortFunc(out, func(a, b *bellhop.Delivery) int { return a.DueAt.Compare(b.DueAt) })
	return out[:min(limit, len(out))], nil
}

func (s *memStore) ReleaseStay(_ context.Context, d *bellhop.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stay := d.PropertyID + "|" + string(d.Kind) + "|" + d.StayKey
	if s.stays[stay] == d.ID {
		delete(s.stays, stay)
	}
	return nil
}

func (s *memStore) HoldDelivery(_ context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.rows[id]
	if !ok || d.Version != version || d.Attempts != attempts || d.Status != bellhop.DeliverySending {
		return false, nil
	}
	d.Status, d.Reason, d.DueAt, d.UpdatedAt = bellhop.DeliveryUnconfirmed, reason, now, now
	return true, nil
}

func (s *memStore) CheckedDelivery(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.rows[id]; ok {
		d.CheckedAt = ptr(now)
	}
	return nil
}

func (s *memStore) UnreportedDeliveries(_ context.Context, sentFrom, sentTo, checkedBefore time.Time, limit int) ([]*bellhop.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*bellhop.Delivery
	for _, d := range s.rows {
		switch {
		case d.Status != bellhop.DeliverySent && d.Status != bellhop.DeliveryDelivered,
			d.ProviderMessageID == "", d.SentAt == nil,
			d.SentAt.Before(sentFrom), d.SentAt.After(sentTo),
			d.CheckedAt != nil && d.CheckedAt.After(checkedBefore):
			continue
		}
		out = append(out, cloneDelivery(d))
	}
	slices.SortFunc(out, func(a, b *bellhop.Delivery) int { return cmp.Compare(a.SentAt.UnixMicro(), b.SentAt.UnixMicro()) })
	return out[:min(limit, len(out))], nil
}

func (s *memStore) NoteForwardResult(_ context.Context, pid, kind string, failed bool, errText string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forwards = append(s.forwards, fmt.Sprintf("%s/%s failed=%t %s", pid, kind, failed, errText))
	return nil
}

func (s *memStore) ReportDelivery(_ context.Context, id string, from, to bellhop.DeliveryStatus, reason, messageID string, sentAt, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.rows[id]
	if !ok || d.Status != from {
		return false, nil
	}
	d.Status, d.Reason, d.UpdatedAt = to, reason, now
	if d.ProviderMessageID == "" {
		d.ProviderMessageID = messageID
	}
	if d.SentAt == nil {
		d.SentAt = ptr(sentAt)
	}
	return true, nil
}

// fakeConnector hands out the fake provider and does what the real one does with a rejected
// key: the integration becomes invalid.
type fakeConnector struct {
	prov  *fakeProvider
	store *memStore
	// others are the clients of other kinds' integrations.
	others map[string]*fakeProvider

	mu     sync.Mutex
	errors []string // what was being done, and the failure's kind
}

func (c *fakeConnector) Client(in *bellhop.Integration) (provider.Provider, error) {
	if p, ok := c.others[in.Provider]; ok {
		return p, nil
	}
	return c.prov, nil
}

func (c *fakeConnector) ProviderError(_ context.Context, _ *bellhop.Integration, doing string, err error) error {
	c.mu.Lock()
	c.errors = append(c.errors, doing+": "+provider.FailureOf(err).String())
	c.mu.Unlock()
	if provider.FailureOf(err) == provider.FailUnauthorized {
		c.store.invalidate(err.Error())
		return bellhop.Errorf(bellhop.EInvalidAPIKey, "The provider rejected the key.")
	}
	return bellhop.Errorf(bellhop.EProviderUnavailable, "The provider did not answer.")
}

func (c *fakeConnector) ForwardTarget(*bellhop.Integration) (string, bool, error) {
	return "", false, nil
}

func (c *fakeConnector) calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errors)
}

// fate is what becomes of one SendMessage call.
type fate int

const (
	// accepted: the provider keeps the message and answers with its id.
	accepted fate = iota
	// timedOut: the provider keeps the message but answers only after the caller gave up.
	timedOut
	// unreached: the request never reaches the provider.
	unreached
	// undeliverable: the provider refuses it: this channel cannot reach the guest (131026).
	undeliverable
	// refusedConnection: the request surely did not leave (Error.Unsent).
	refusedConnection
)

// fakeProvider is one provider account that keeps every message it is sent (no dedupe by
// mark, like the real ones) and can be told how to misbehave.
type fakeProvider struct {
	clock *bellhop.SimulatedClock

	mu sync.Mutex
	// How it behaves; set before the worker runs.
	fates   []fate        // of the SendMessage calls in order; later calls are accepted
	listErr error         // Messages fails with it
	lag     time.Duration // a message is listed only lag after it was created
	noMarks bool          // the listing does not echo marks
	stopped map[string]bool
	// What happened.
	sends    []provider.Message       // every SendMessage call
	sentAt   []time.Time              // when each call was made
	kept     []provider.StoredMessage // every message the account holds
	listedAt []time.Time              // when Messages was called
	reads    int                      // Message calls
	calls    int                      // SendMessage calls begun
	nextID   int                      // the last message id handed out
	// inCall, when set, runs at the start of SendMessage call n (outside the lock).
	inCall func(n int)
}

func newFakeProvider(clock *bellhop.SimulatedClock) *fakeProvider {
	return &fakeProvider{clock: clock, stopped: map[string]bool{}}
}

func unavailable(step string, err error) error {
	return &provider.Error{Provider: "fake", Step: step, Failure: provider.FailUnavailable, Err: err}
}

func (p *fakeProvider) SendMessage(_ context.Context, m provider.Message) (provider.SentMessage, error) {
	p.mu.Lock()
	hook, n := p.inCall, p.calls
	p.calls++
	p.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f := accepted
	if n < len(p.fates) {
		f = p.fates[n]
	}
	p.sends, p.sentAt = append(p.sends, m), append(p.sentAt, p.clock.Now())
	switch f {
	case unreached:
		return provider.SentMessage{}, unavailable("send a message (POST messages)", errors.New("connection refused"))
	case undeliverable:
		return provider.SentMessage{}, &provider.Error{Provider: "fake", Step: "send a message", Failure: provider.FailUnreachable,
			Code: "131026", Reason: "Message undeliverable"}
	case refusedConnection:
		return provider.SentMessage{}, &provider.Error{Provider: "fake", Step: "send a message", Failure: provider.FailUnavailable,
			Unsent: true, Err: errors.New("connection refused")}
	}
	// The account shows the phone its own way.
	phone := strings.TrimPrefix(m.Phone, "+")
	p.nextID++
	id := fmt.Sprintf("msg-%d", p.nextID)
	p.kept = append(p.kept, provider.StoredMessage{MessageID: id, ChatID: "chat-" + phone, Phone: phone,
		SenderID: m.SenderID, Outgoing: true, Text: m.Text, Mark: m.Mark, CreatedAt: p.clock.Now()})
	if f == timedOut {
		p.clock.Advance(sendTimeout)
		return provider.SentMessage{}, unavailable("send a message (POST messages)", context.DeadlineExceeded)
	}
	return provider.SentMessage{MessageID: id, ChatID: "chat-" + phone}, nil
}

func (p *fakeProvider) Messages(_ context.Context, f provider.MessageFilter) ([]provider.StoredMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listedAt = append(p.listedAt, p.clock.Now())
	if p.listErr != nil {
		return nil, p.listErr
	}
	now := p.clock.Now()
	var out []provider.StoredMessage
	for _, m := range p.kept {
		switch {
		case now.Before(m.CreatedAt.Add(p.lag)),
			f.SenderID != "" && m.SenderID != f.SenderID,
			f.Outgoing && !m.Outgoing,
			!f.CreatedAfter.IsZero() && !m.CreatedAt.After(f.CreatedAfter),
			!f.CreatedBefore.IsZero() && !m.CreatedAt.Before(f.CreatedBefore):
			continue
		}
		if p.noMarks {
			m.Mark = ""
		}
		out = append(out, m)
	}
	return out, nil
}

func (p *fakeProvider) Message(_ context.Context, id string) (provider.StoredMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	for _, m := range p.kept {
		if m.MessageID == id {
			return m, nil
		}
	}
	return provider.StoredMessage{}, &provider.Error{Provider: "fake", Step: "read a message", Failure: provider.FailNotFound}
}

// keep puts a message on the account that Bellhop did not send.
func (p *fakeProvider) keep(m provider.StoredMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kept = append(p.kept, m)
}

// update changes a kept message, as the provider does when the guest's phone reports it.
func (p *fakeProvider) update(id string, change func(*provider.StoredMessage)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.kept {
		if p.kept[i].MessageID == id {
			change(&p.kept[i])
		}
	}
}

// counts returns how many SendMessage calls were made, how many of our messages the account
// holds (what the guest receives), and how many times it was listed and read.
func (p *fakeProvider) counts() (sends, received, lists, reads int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.kept {
		if strings.HasPrefix(m.MessageID, "msg-") {
			received++
		}
	}
	return len(p.sends), received, len(p.listedAt), p.reads
}

// times returns when the provider was sent to and listed, as offsets from t0.
func (p *fakeProvider) times() (sends, lists []time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.sentAt {
		sends = append(sends, at.Sub(t0))
	}
	for _, at := range p.listedAt {
		lists = append(lists, at.Sub(t0))
	}
	return sends, lists
}

func (p *fakeProvider) StopListed(_ context.Context, phone string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped[phone], nil
}

func (p *fakeProvider) Organization(context.Context) (bellhop.Organization, error) {
	return bellhop.Organization{ID: "org-1", Name: "Hotel Neva"}, nil
}

func (p *fakeProvider) Senders(context.Context) ([]bellhop.Sender, error) {
	return []bellhop.Sender{{ID: senderID, Type: "whatsapp", Name: "Reception"}}, nil
}

func (p *fakeProvider) Operators(context.Context) ([]bellhop.Operator, error) { return nil, nil }

func (p *fakeProvider) LoginCode(context.Context, string) (provider.LoginCode, error) {
	return provider.LoginCode{}, nil
}

func (p *fakeProvider) Templates(context.Context, string) ([]provider.Template, error) {
	return nil, nil
}

func (p *fakeProvider) Webhook(context.Context) (provider.Webhook, bool, error) {
	return provider.Webhook{}, false, nil
}

func (p *fakeProvider) SetWebhook(context.Context, provider.Webhook) error { return nil }

func (p *fakeProvider) DeleteWebhook(context.Context) error { return nil }

func (s *memStore) GuestSender(_ context.Context, pid, kind, digits string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.guests[pid+"|"+kind+"|"+digits], nil
}

func (s *memStore) PinGuestSender(_ context.Context, pid, kind, digits, senderID string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guests == nil {
		s.guests = map[string]string{}
	}
	if _, ok := s.guests[pid+"|"+kind+"|"+digits]; !ok {
		s.guests[pid+"|"+kind+"|"+digits] = senderID
	}
	return nil
}
