package queue

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/queue/pacer"
)

// welcomeText is what the guest of the fixture's booking reads.
func welcomeText(t *testing.T, s *memStore) string {
	t.Helper()
	msg, ok := mailings.Compose(&s.mailing, &s.property, &s.booking)
	if !ok {
		t.Fatal("the welcome mailing composes no text")
	}
	return msg.Text
}

// noLook is a table's "the provider is never listed".
const noLook = -time.Second

// secs turns whole seconds into offsets from t0, for the tables.
func secs(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, n := range s {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

// Runs of one send task, brought back as Asynq would, until it is done: whatever the provider
// did with an attempt, the guest gets the message once, and the ledger says what happened.
func TestSendExactlyOnce(t *testing.T) {
	// A timed-out attempt ends sendTimeout (30 s) after it started; the first look is settle
	// (20 s) after an attempt's end, the second recheck (45 s) after the first.
	tests := []struct {
		name  string
		pacer pacer.Config
		setup func(t *testing.T, f *fixture)

		received  int // messages the guest gets
		sends     int // SendMessage calls
		attempts  int
		status    bellhop.DeliveryStatus
		reason    string
		messageID string
		// When the provider was sent to, and first listed (noLook: never), from t0.
		sendsAt   []time.Duration
		firstLook time.Duration
	}{
		{
			name:     "accepted",
			received: 1, sends: 1, attempts: 1, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0), firstLook: noLook,
		},
		{
			name:     "taken but answered after the timeout: found at the first look",
			setup:    func(_ *testing.T, f *fixture) { f.prov.fates = []fate{timedOut} },
			received: 1, sends: 1, attempts: 1, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0), firstLook: 50 * time.Second,
		},
		{
			name: "taken, but the listing shows it only after the first look: found at the second",
			setup: func(_ *testing.T, f *fixture) {
				f.prov.fates, f.prov.lag = []fate{timedOut}, 70*time.Second
			},
			received: 1, sends: 1, attempts: 1, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0), firstLook: 50 * time.Second,
		},
		{
			name:     "never reached the provider: sent again after two empty looks",
			setup:    func(_ *testing.T, f *fixture) { f.prov.fates = []fate{unreached} },
			received: 1, sends: 2, attempts: 2, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0, 65), firstLook: 20 * time.Second,
		},
		{
			name: "never reached the provider, and the sender's pace holds the second attempt back",
			// The sender may send again only 300 s after the first attempt: the second
			// attempt waits for its slot and looks again before it goes.
			pacer:    pacer.Config{Interval: 300 * time.Second, Jitter: -1},
			setup:    func(_ *testing.T, f *fixture) { f.prov.fates = []fate{unreached} },
			received: 1, sends: 2, attempts: 2, status: bellhop.DeliverySent, messageID: "msg-1",
			firstLook: 20 * time.Second,
		},
		{
			name:     "the second attempt times out too: found from the first claim on",
			setup:    func(_ *testing.T, f *fixture) { f.prov.fates = []fate{unreached, timedOut} },
			received: 1, sends: 2, attempts: 2, status: bellhop.DeliverySent, messageID: "msg-1",
			// The second attempt ends at 95 s; a look settle later finds it.
			sendsAt: secs(0, 65), firstLook: 20 * time.Second,
		},
		{
			name: "the listing shows no marks: the same text to the guest's phone is the message",
			setup: func(_ *testing.T, f *fixture) {
				f.prov.fates, f.prov.noMarks = []fate{timedOut}, true
			},
			received: 1, sends: 1, attempts: 1, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0), firstLook: 50 * time.Second,
		},
		{
			name: "the listing shows no marks: the same text to another phone, or another text to the guest, is not",
			setup: func(t *testing.T, f *fixture) {
				f.prov.fates, f.prov.noMarks = []fate{unreached}, true
				text := welcomeText(t, f.store)
				f.prov.keep(provider.StoredMessage{MessageID: "other-1", Phone: "7 999 000-00-01", SenderID: senderID,
					Outgoing: true, Text: text, CreatedAt: t0})
				f.prov.keep(provider.StoredMessage{MessageID: "other-2", Phone: "+7 (912) 345-67-89", SenderID: senderID,
					Outgoing: true, Text: "Your table is ready.", CreatedAt: t0})
			},
			received: 1, sends: 2, attempts: 2, status: bellhop.DeliverySent, messageID: "msg-1",
			sendsAt: secs(0, 65), firstLook: 20 * time.Second,
		},
		{
			name:     "the guest's phone is on the account's stop list",
			setup:    func(_ *testing.T, f *fixture) { f.prov.stopped[guestPhone] = true },
			received: 0, sends: 0, attempts: 0, status: bellhop.DeliverySkipped, reason: bellhop.ReasonOptedOut,
			firstLook: noLook,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := testPacer
			if tt.pacer.Interval != 0 {
				pc = tt.pacer
			}
			f := newFixture(t, pc)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			f.run(t, 50)

			sends, received, _, _ := f.prov.counts()
			if received != tt.received || sends != tt.sends {
				t.Errorf("the provider was sent %d messages and the guest got %d, want %d and %d", sends, received, tt.sends, tt.received)
			}
			d := f.row(t)
			if d.Status != tt.status || d.Reason != tt.reason || d.Attempts != tt.attempts || d.ProviderMessageID != tt.messageID {
				t.Errorf("the row is %s (reason %q) after %d attempts with message %q, want %s (%q) after %d with %q",
					d.Status, d.Reason, d.Attempts, d.ProviderMessageID, tt.status, tt.reason, tt.attempts, tt.messageID)
			}
			if tt.status == bellhop.DeliverySent && (d.SentAt == nil || d.SentAt.Before(t0)) {
				t.Errorf("the sent row's sent_at is %v", d.SentAt)
			}
			sendsAt, looksAt := f.prov.times()
			if tt.sendsAt != nil && !slices.Equal(sendsAt, tt.sendsAt) {
				t.Errorf("the provider was sent to at %v, want %v", sendsAt, tt.sendsAt)
			}
			switch {
			case tt.firstLook == noLook && len(looksAt) > 0:
				t.Errorf("the provider was listed at %v, want never", looksAt)
			case tt.firstLook != noLook && (len(looksAt) == 0 || looksAt[0] != tt.firstLook):
				t.Errorf("the provider was listed at %v, want first at %s", looksAt, tt.firstLook)
			}
			for _, m := range f.prov.sends {
				if m.Phone != guestPhone || m.SenderID != senderID || m.Mark != f.id || m.Text != welcomeText(t, f.store) {
					t.Errorf("sent %+v, want the welcome text to %s from %s marked %s", m, guestPhone, senderID, f.id)
				}
			}
		})
	}
}

// An attempt that timed out leaves the row sending. Its task comes back right away (Asynq's
// backoff is seconds): it must neither send nor look before the provider has had Settle to
// take the message in.
func TestSendWaitsForSettleBeforeLooking(t *testing.T) {
	f := newFixture(t, testPacer)
	f.prov.fates = []fate{timedOut}
	if err := f.send(); err == nil || provider.FailureOf(err) != provider.FailUnavailable {
		t.Fatalf("the timed-out attempt answered %v, want the provider's unavailable error", err)
	}
	ended := t0.Add(sendTimeout)
	if d := f.row(t); d.Status != bellhop.DeliverySending || !d.DueAt.Equal(ended) || d.Attempts != 1 {
		t.Fatalf("after the timeout the row is %s, due %s, %d attempts; want sending, due at the attempt's end %s, 1",
			d.Status, d.DueAt.Format(time.TimeOnly), d.Attempts, ended.Format(time.TimeOnly))
	}
	for _, after := range []time.Duration{0, time.Second, settle - time.Second} {
		f.clock.Set(ended.Add(after))
		comeBackAt(t, f.send(), ended.Add(settle))
	}
	if sends, _, lists, _ := f.prov.counts(); sends != 1 || lists != 0 {
		t.Fatalf("before Settle the provider was sent %d messages and listed %d times, want 1 and 0", sends, lists)
	}
	f.clock.Set(ended.Add(settle))
	if err := f.send(); err != nil {
		t.Fatalf("Send at Settle: %v", err)
	}
	sends, received, lists, _ := f.prov.counts()
	if sends != 1 || received != 1 || lists != 1 {
		t.Errorf("the provider was sent %d messages (guest got %d) and listed %d times, want 1, 1, 1", sends, received, lists)
	}
	if d := f.row(t); d.Status != bellhop.DeliverySent || d.ProviderMessageID != "msg-1" || !d.SentAt.Equal(t0) {
		t.Errorf("the row is %s with message %q sent at %v, want sent with msg-1 at %s (when the provider took it)",
			d.Status, d.ProviderMessageID, d.SentAt, t0.Format(time.TimeOnly))
	}
}

// One empty look is not enough: the listing may lag. The second look comes Recheck after the
// first, and only a second empty look lets the message go again.
func TestSendLooksTwiceRecheckApart(t *testing.T) {
	for _, tt := range []struct {
		name      string
		fate      fate
		lag       time.Duration
		wantSends int
	}{
		{"the listing lags: found at the second look", timedOut, 70 * time.Second, 1},
		{"the attempt never arrived: sent again after the second look", unreached, 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPacer)
			f.prov.fates, f.prov.lag = []fate{tt.fate}, tt.lag
			_ = f.send()
			ended := f.row(t).DueAt
			first := ended.Add(settle)
			f.clock.Set(first)
			comeBackAt(t, f.send(), first.Add(recheck))
			if d := f.row(t); d.Status != bellhop.DeliverySending || d.CheckedAt == nil || !d.CheckedAt.Equal(first) {
				t.Fatalf("after the first empty look the row is %s, checked at %v; want sending, checked at %s", d.Status, d.CheckedAt, first.Format(time.TimeOnly))
			}
			f.clock.Set(first.Add(recheck))
			if err := f.send(); err != nil {
				t.Fatalf("Send at the second look: %v", err)
			}
			sends, received, lists, _ := f.prov.counts()
			if sends != tt.wantSends || received != 1 || lists != 2 {
				t.Errorf("the provider was sent %d messages (guest got %d) and listed %d times, want %d, 1, 2", sends, received, lists, tt.wantSends)
			}
			if d := f.row(t); d.Status != bellhop.DeliverySent || d.ProviderMessageID != "msg-1" || d.Attempts != tt.wantSends {
				t.Errorf("the row is %s with message %q after %d attempts, want sent with msg-1 after %d", d.Status, d.ProviderMessageID, d.Attempts, tt.wantSends)
			}
		})
	}
}

// A task that Asynq brings back a little before the second look's time (it runs a task Lead
// before the time asked, on a one-second tick) must wait without listing the provider: each
// look pages through all the sender's messages since the claim.
func TestSendDoesNotListBeforeRecheck(t *testing.T) {
	f := newFixture(t, testPacer)
	f.prov.fates = []fate{unreached}
	_ = f.send()
	first := t0.Add(settle)
	f.clock.Set(first)
	comeBackAt(t, f.send(), first.Add(recheck))
	for _, early := range []time.Duration{2 * time.Second, time.Second} {
		f.clock.Set(first.Add(recheck - early))
		comeBackAt(t, f.send(), first.Add(recheck))
	}
	if sends, _, lists, _ := f.prov.counts(); sends != 1 || lists != 1 {
		t.Errorf("before the second look's time the provider was sent %d messages and listed %d times, want 1 and 1", sends, lists)
	}
}

// A worker died inside the provider call: the row is sending with its lease running, the
// sender leased to it. The task Asynq runs again waits out the lease and Settle, then the
// provider's listing decides.
func TestSendAfterAWorkerDiedMidCall(t *testing.T) {
	for _, tt := range []struct {
		name         string
		arrived      bool // the dead worker's message reached the provider
		wantSends    int
		wantAttempts int
	}{
		{"the message had arrived", true, 0, 1},
		{"the message had not arrived", false, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPacer)
			ctx := context.Background()
			d := f.row(t)
			in, _ := f.store.GetIntegration(ctx, propertyID, providerKind)
			if ok, _, err := f.w.cfg.Pacer.Acquire(ctx, SenderKey(in), d.ID, sendTimeout); err != nil || !ok {
				t.Fatalf("the dead worker's Acquire = %t, %v", ok, err)
			}
			if _, _, err := f.store.ClaimDelivery(ctx, d, providerKind, senderID, t0.Add(sendTimeout), t0); err != nil {
				t.Fatalf("the dead worker's claim: %v", err)
			}
			if tt.arrived {
				f.prov.keep(provider.StoredMessage{MessageID: "msg-1", Phone: "79123456789", SenderID: senderID,
					Outgoing: true, Text: welcomeText(t, f.store), Mark: d.ID, CreatedAt: t0.Add(time.Second)})
			}

			f.clock.Set(t0.Add(5 * time.Second))
			comeBackAt(t, f.send(), t0.Add(sendTimeout)) // the lease runs
			f.clock.Set(t0.Add(sendTimeout))
			comeBackAt(t, f.send(), t0.Add(sendTimeout+settle))
			f.run(t, 20)

			sends, received, _, _ := f.prov.counts()
			if sends != tt.wantSends || received != 1 {
				t.Errorf("the provider was sent %d messages and the guest got %d, want %d and 1", sends, received, tt.wantSends)
			}
			if d := f.row(t); d.Status != bellhop.DeliverySent || d.ProviderMessageID != "msg-1" || d.Attempts != tt.wantAttempts {
				t.Errorf("the row is %s with message %q after %d attempts, want sent with msg-1 after %d", d.Status, d.ProviderMessageID, d.Attempts, tt.wantAttempts)
			}
		})
	}
}

// A provider that cannot be listed leaves the attempt's outcome unknown: the row is asked
// about again until HoldAfter after its claim, then held as unconfirmed, and never sent blind.
func TestSendHoldsWhatTheProviderCannotTell(t *testing.T) {
	f := newFixture(t, testPacer)
	f.prov.fates = []fate{timedOut}
	f.prov.listErr = unavailable("list messages (GET messages)", context.DeadlineExceeded)
	f.run(t, 50)

	d := f.row(t)
	if d.Status != bellhop.DeliveryUnconfirmed || !strings.HasPrefix(d.Reason, bellhop.ReasonUnconfirmed) {
		t.Fatalf("the row is %s (reason %q), want unconfirmed with a reason starting %q", d.Status, d.Reason, bellhop.ReasonUnconfirmed)
	}
	// Asked with backoff up to 10 min apart: held within one backoff after HoldAfter.
	if held := d.UpdatedAt.Sub(t0); held <= holdAfter || held > holdAfter+10*time.Minute {
		t.Errorf("held %s after the claim, want just after HoldAfter (%s)", held, holdAfter)
	}
	sends, _, lists, _ := f.prov.counts()
	if sends != 1 || lists < 5 {
		t.Errorf("the provider was sent %d messages and listed %d times, want 1 and a look every backoff", sends, lists)
	}

	// The provider answers again a day later, and the task runs once more: still nothing is sent.
	f.prov.listErr = nil
	f.clock.Advance(24 * time.Hour)
	if err := f.send(); err != nil {
		t.Fatalf("Send of a held row: %v", err)
	}
	if sends, _, _, _ := f.prov.counts(); sends != 1 {
		t.Errorf("a held row was sent again: %d messages", sends)
	}
	if d := f.row(t); d.Status != bellhop.DeliveryUnconfirmed || d.Attempts != 1 {
		t.Errorf("the held row became %s after %d attempts, want unconfirmed after 1", d.Status, d.Attempts)
	}
}

// A key the provider rejects while an attempt is being looked up pauses the integration (the
// connector marks it invalid); the message is not sent blind meanwhile.
func TestSendRejectedKeyWhileLookingUp(t *testing.T) {
	f := newFixture(t, testPacer)
	f.prov.fates = []fate{unreached}
	f.prov.listErr = &provider.Error{Provider: "fake", Step: "list messages (GET messages)", Failure: provider.FailUnauthorized, Status: 401, Reason: "invalid token"}
	f.run(t, 20)

	want := []string{"look up an unconfirmed message: unauthorized"}
	if got := f.conn.calls(); !slices.Equal(got, want) {
		t.Errorf("Connector.ProviderError calls = %q, want %q", got, want)
	}
	sends, received, lists, _ := f.prov.counts()
	if sends != 1 || received != 0 || lists != 1 {
		t.Errorf("the provider was sent %d messages (guest got %d) and listed %d times, want 1 (the first attempt), 0, 1", sends, received, lists)
	}
	if d := f.row(t); d.Status != bellhop.DeliverySending || d.Attempts != 1 {
		t.Errorf("the row is %s after %d attempts, want sending (waiting for a working key) after 1", d.Status, d.Attempts)
	}
	in, _ := f.store.GetIntegration(context.Background(), propertyID, providerKind)
	if in.Status != bellhop.StatusInvalid {
		t.Errorf("the integration is %s, want invalid", in.Status)
	}

	// The sweep does not bring it back while the key is invalid; a task run anyway still
	// sends nothing.
	if n, err := f.w.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("Sweep = %d, %v; want 0 while the key is invalid", n, err)
	}
	f.clock.Advance(time.Hour)
	if err := f.send(); err != nil {
		t.Fatalf("Send with the key rejected: %v", err)
	}
	if sends, _, _, _ := f.prov.counts(); sends != 1 {
		t.Errorf("sent with a rejected key: %d messages", sends)
	}
}

// Messages that had no delivery news are asked about once ReportAfter has passed, no more
// often than ReportEvery, and the row follows what the provider shows.
func TestReconcile(t *testing.T) {
	for _, tt := range []struct {
		name   string
		news   func(m *provider.StoredMessage, at time.Time)
		status bellhop.DeliveryStatus
	}{
		{"viewed", func(m *provider.StoredMessage, at time.Time) { m.DeliveredAt, m.ViewedAt = at, at }, bellhop.DeliveryRead},
		{"delivered", func(m *provider.StoredMessage, at time.Time) { m.DeliveredAt = at }, bellhop.DeliveryDelivered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testPacer)
			ctx := context.Background()
			f.run(t, 5)
			reconcile := func(wantMoved, wantReads int, wantStatus bellhop.DeliveryStatus) {
				t.Helper()
				moved, err := f.w.Reconcile(ctx)
				if err != nil {
					t.Fatalf("Reconcile: %v", err)
				}
				_, _, _, reads := f.prov.counts()
				d := f.row(t)
				if moved != wantMoved || reads != wantReads || d.Status != wantStatus {
					t.Fatalf("at +%s Reconcile moved %d rows after %d reads, the row is %s; want %d, %d, %s",
						f.clock.Now().Sub(t0), moved, reads, d.Status, wantMoved, wantReads, wantStatus)
				}
			}

			f.clock.Advance(reportAfter - time.Minute)
			reconcile(0, 0, bellhop.DeliverySent) // too early: a callback may still come

			f.clock.Advance(2 * time.Minute)
			reconcile(0, 1, bellhop.DeliverySent) // asked; no news yet
			if d := f.row(t); d.CheckedAt == nil || !d.CheckedAt.Equal(f.clock.Now()) {
				t.Fatalf("the row's checked_at is %v, want %s", d.CheckedAt, f.clock.Now().Format(time.TimeOnly))
			}

			f.prov.update("msg-1", func(m *provider.StoredMessage) { tt.news(m, f.clock.Now()) })
			f.clock.Advance(reportEvery - time.Minute)
			reconcile(0, 1, bellhop.DeliverySent) // checked recently: not asked again

			f.clock.Advance(time.Minute)
			reconcile(1, 2, tt.status)
		})
	}
}

// A read row is not asked about again, nor is a message sent more than a day ago.
func TestReconcileStops(t *testing.T) {
	f := newFixture(t, testPacer)
	ctx := context.Background()
	f.run(t, 5)
	f.prov.update("msg-1", func(m *provider.StoredMessage) { m.ViewedAt = t0.Add(time.Minute) })
	f.clock.Advance(reportAfter)
	if moved, err := f.w.Reconcile(ctx); err != nil || moved != 1 {
		t.Fatalf("Reconcile = %d, %v; want 1", moved, err)
	}
	f.clock.Advance(reportEvery)
	if moved, err := f.w.Reconcile(ctx); err != nil || moved != 0 {
		t.Fatalf("Reconcile of a read row = %d, %v; want 0", moved, err)
	}
	if _, _, _, reads := f.prov.counts(); reads != 1 {
		t.Errorf("the provider was asked %d times, want once (a read row is done)", reads)
	}

	g := newFixture(t, testPacer)
	g.run(t, 5)
	g.clock.Advance(24*time.Hour + time.Minute)
	if moved, err := g.w.Reconcile(ctx); err != nil || moved != 0 {
		t.Fatalf("Reconcile of a day-old message = %d, %v; want 0", moved, err)
	}
	if _, _, _, reads := g.prov.counts(); reads != 0 {
		t.Errorf("a day-old message was asked about %d times, want 0", reads)
	}
}

// Asynq may run a task again while its first run is still going (a worker cut off from Redis
// loses its lease; the recoverer hands the task to another). A second run that read the row
// before the first run claimed it must not send a second message.
func TestSendTwoRunsOfOneTaskAtOnce(t *testing.T) {
	f := newFixture(t, testPacer)
	secondRead, goOn := f.store.pauseNextGet()
	firstInCall, release := make(chan struct{}), make(chan struct{})
	f.prov.inCall = func(n int) {
		if n == 0 {
			close(firstInCall)
			<-release
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- f.send() }() // the second run: reads the row, then waits
	<-secondRead
	go func() { errs <- f.send() }() // the first run: claims and calls the provider
	<-firstInCall
	close(goOn) // the second run goes on while the first is inside the provider call
	second := <-errs
	close(release)
	first := <-errs
	t.Logf("the runs answered %v and %v", first, second)

	sends, received, _, _ := f.prov.counts()
	if received != 1 {
		t.Errorf("two runs of one task at once: the provider was sent %d messages and the guest got %d, want 1", sends, received)
	}
	if d := f.row(t); d.Status != bellhop.DeliverySent || d.Attempts != 1 {
		t.Errorf("the row is %s after %d attempts, want sent after 1", d.Status, d.Attempts)
	}
}

// Two runs of one send look the provider up at once after an attempt that never arrived (the
// task Asynq retried and the one the sweep queued): the first finds nothing twice, claims the
// delivery again and calls the provider; the second, which read the row before that claim,
// must not put the row back to scheduled under the first run's call — the first run's outcome
// would then find its claim gone and send once more (seen in the fault suite: two messages
// under one mark, a second apart).
func TestSendTwoRunsAfterTwoEmptyLooks(t *testing.T) {
	f := newFixture(t, testPacer)
	f.prov.fates = []fate{unreached}
	_ = f.send()
	first := f.row(t).DueAt.Add(settle)
	f.clock.Set(first)
	comeBackAt(t, f.send(), first.Add(recheck))
	f.clock.Set(first.Add(recheck))

	secondRead, goOn := f.store.pauseNextGet()
	secondDone := make(chan error, 1)
	f.prov.inCall = func(n int) {
		if n == 1 { // the first run's new attempt, before the provider has the message
			close(goOn)
			<-secondDone
		}
	}
	go func() { // the second run: reads the row (sending, attempt 1), then waits
		err := f.send()
		secondDone <- err
		secondDone <- err // one for the first run's call, one for the test
	}()
	<-secondRead
	firstErr := f.send() // the first run: two empty looks, claims again, calls the provider
	secondErr := <-secondDone
	t.Logf("the runs answered %v and %v", firstErr, secondErr)
	f.prov.inCall = nil
	f.run(t, 20) // whatever either run left queued

	sends, received, _, _ := f.prov.counts()
	if sends != 2 || received != 1 {
		t.Errorf("the provider was sent %d messages and the guest got %d, want 2 (the one that never arrived, and one more) and 1", sends, received)
	}
	if d := f.row(t); d.Status != bellhop.DeliverySent || d.Attempts != 2 {
		t.Errorf("the row is %s after %d attempts, want sent after 2", d.Status, d.Attempts)
	}
}
