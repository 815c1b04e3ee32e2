package queue

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/queue/pacer"
)

// guestEmail is the fixture guest's e-mail address once twoChannels gives her one.
const guestEmail = "anna@example.com"

// twoChannels sends the fixture's welcome through two channels: first the fixture's provider,
// declared like the WhatsApp Cloud API (a phone; free text only within 24 hours of the
// guest's last message, an approved template otherwise; sent messages cannot be listed), then
// email. It returns the email account.
func twoChannels(t *testing.T, f *fixture) *fakeProvider {
	t.Helper()
	mail := newFakeProvider(f.clock)
	f.conn.others = map[string]*fakeProvider{"email": mail}
	s := f.store
	s.mu.Lock()
	s.others = map[string]bellhop.Integration{"email": {PropertyID: propertyID, Provider: "email", Status: bellhop.StatusVerified,
		Active: true, OrganizationID: "reception@hotel-neva.example"}}
	s.mailing.SendingMethod, s.mailing.SendingMethods = providerKind, []string{providerKind, "email"}
	s.mailing.WATemplates = map[string]bellhop.WATemplate{"en": {Name: "welcome_guest", Language: "en_US",
		Params: []string{"{guest_name}", "{hotel_name}", "{arrival_date}"}}}
	s.booking.Guest.Email = guestEmail
	s.inbound = map[string]time.Time{}
	s.mu.Unlock()
	none := func(provider.Config) (provider.Client, error) { return nil, nil }
	f.w.cfg.Kinds = provider.NewRegistry(
		provider.Kind{Name: providerKind, Address: provider.AddressPhone, Open: none,
			Caps: provider.Capabilities{Text: true, Templates: true, Senders: true, Statuses: true, Inbound: true, CustomerWindow: 24 * time.Hour}},
		provider.Kind{Name: "email", Address: provider.AddressEmail, Open: none, Caps: provider.Capabilities{Text: true}},
	)
	return mail
}

func sendsOf(p *fakeProvider) []provider.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sends)
}

func TestFallbackUndeliverableGoesToEmailAtOnce(t *testing.T) {
	f := newFixture(t, testPacer)
	mail := twoChannels(t, f)
	f.prov.fates = []fate{undeliverable}

	// The first run meets "undeliverable" and asks to come back at once, on email.
	comeBackAt(t, f.send(), t0)
	if d := f.row(t); d.Status != bellhop.DeliveryScheduled || d.Channel != "email" || !slices.Equal(d.ChannelsDone, []string{providerKind}) {
		t.Fatalf("after the undeliverable attempt: %s on %q, done %v; want scheduled on email, %s left behind", d.Status, d.Channel, d.ChannelsDone, providerKind)
	}
	f.run(t, 3)
	// A redelivered task finds the row sent and sends nothing.
	if err := f.send(); err != nil {
		t.Fatalf("a redelivered task: %v", err)
	}

	wa, em := sendsOf(f.prov), sendsOf(mail)
	if len(wa) != 1 || len(em) != 1 {
		t.Fatalf("WhatsApp got %d attempts and email %d; want exactly one each", len(wa), len(em))
	}
	// Outside the guest's 24 hours (she never wrote): the approved template, its parameters
	// filled from the booking.
	if wa[0].Template != "welcome_guest" || wa[0].Language != "en_US" || wa[0].Text != "" || wa[0].Phone != guestPhone ||
		!slices.Equal(wa[0].Vars, []string{"Anna Petrova", "Hotel Neva", "2 March 2026"}) {
		t.Errorf("WhatsApp was sent %+v; want the template welcome_guest (en_US) with the guest's name, the hotel and the arrival", wa[0])
	}
	if em[0].Email != guestEmail || em[0].Phone != "" || em[0].Text != welcomeText(t, f.store) || em[0].Subject == "" ||
		em[0].HTML == "" || em[0].Mark != f.id {
		t.Errorf("email was sent %+v; want the welcome text with a subject and HTML to %s, marked %s", em[0], guestEmail, f.id)
	}
	d := f.row(t)
	if d.Status != bellhop.DeliverySent || d.Channel != "email" || d.Attempts != 2 {
		t.Errorf("delivery %s on %q after %d attempts; want sent on email after 2", d.Status, d.Channel, d.Attempts)
	}
	want := []string{providerKind + " failed unreachable: Message undeliverable", "email sent"}
	if got := f.store.ledger(f.id); !slices.Equal(got, want) {
		t.Errorf("ledger of attempts = %q, want %q", got, want)
	}
}

func TestFallbackWindowDecidesTextOrTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wrote    time.Duration // how long before the send the guest wrote; 0: never
		template bool
	}{
		{"the guest never wrote: template", 0, true},
		{"the guest wrote an hour ago: free text", time.Hour, false},
		{"the guest wrote 25 hours ago: template", 25 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPacer)
			mail := twoChannels(t, f)
			if tc.wrote > 0 {
				f.store.mu.Lock()
				f.store.inbound[propertyID+"|"+providerKind+"|"+bellhop.PhoneDigits(guestPhone)] = t0.Add(-tc.wrote)
				f.store.mu.Unlock()
			}
			f.run(t, 3)
			wa := sendsOf(f.prov)
			if len(wa) != 1 || len(sendsOf(mail)) != 0 {
				t.Fatalf("WhatsApp got %d messages, email %d; want 1 and 0", len(wa), len(sendsOf(mail)))
			}
			if got := wa[0].Template != ""; got != tc.template {
				t.Errorf("template sent = %v (%+v), want %v", got, wa[0], tc.template)
			}
			if !tc.template && wa[0].Text != welcomeText(t, f.store) {
				t.Errorf("free text = %q, want the welcome text", wa[0].Text)
			}
		})
	}
}

func TestFallbackNoTemplateForTheLanguageSkipsToEmail(t *testing.T) {
	f := newFixture(t, testPacer)
	mail := twoChannels(t, f)
	f.store.mu.Lock()
	f.store.mailing.WATemplates = nil // outside the window WhatsApp has nothing it may send
	f.store.mu.Unlock()
	f.run(t, 3)
	if len(sendsOf(f.prov)) != 0 || len(sendsOf(mail)) != 1 {
		t.Fatalf("WhatsApp got %d, email %d; want 0 and 1", len(sendsOf(f.prov)), len(sendsOf(mail)))
	}
	want := []string{providerKind + " skipped no_template", "email sent"}
	if got := f.store.ledger(f.id); !slices.Equal(got, want) {
		t.Errorf("ledger = %q, want %q", got, want)
	}
}

func TestFallbackNoChannelReachesTheGuest(t *testing.T) {
	f := newFixture(t, testPacer)
	twoChannels(t, f)
	f.store.mu.Lock()
	f.store.mailing.WATemplates = nil
	f.store.booking.Guest.Email = ""
	f.store.mu.Unlock()
	f.run(t, 2)
	d := f.row(t)
	if d.Status != bellhop.DeliverySkipped || d.Reason != bellhop.ReasonNoChannel {
		t.Errorf("delivery %s (%s), want skipped (no_channel)", d.Status, d.Reason)
	}
	want := []string{providerKind + " skipped no_template", "email skipped no_email"}
	if got := f.store.ledger(f.id); !slices.Equal(got, want) {
		t.Errorf("ledger = %q, want %q", got, want)
	}
}

func TestFallbackUnknownOutcomeWithoutLookupIsHeld(t *testing.T) {
	f := newFixture(t, testPacer)
	mail := twoChannels(t, f)
	f.prov.fates = []fate{timedOut}
	// The Cloud API cannot list what it was sent: the attempt is held, neither sent again
	// nor passed on to email.
	if err := f.send(); err != nil {
		t.Fatalf("Send = %v, want the row held", err)
	}
	d := f.row(t)
	if d.Status != bellhop.DeliveryUnconfirmed || len(sendsOf(f.prov)) != 1 || len(sendsOf(mail)) != 0 {
		t.Errorf("after a timed-out send: %s, WhatsApp %d, email %d; want unconfirmed, 1, 0", d.Status, len(sendsOf(f.prov)), len(sendsOf(mail)))
	}
	if got := f.store.ledger(f.id); len(got) != 1 || got[0][:len(providerKind)+12] != providerKind+" unconfirmed" {
		t.Errorf("ledger = %q, want one unconfirmed attempt", got)
	}
}

func TestFallbackUnsentIsSentAgainOnTheSameChannel(t *testing.T) {
	f := newFixture(t, testPacer)
	mail := twoChannels(t, f)
	f.prov.fates = []fate{refusedConnection}
	f.run(t, 5)
	if len(sendsOf(f.prov)) != 2 || len(sendsOf(mail)) != 0 {
		t.Errorf("WhatsApp got %d calls, email %d; want 2 (refused, then sent) and 0", len(sendsOf(f.prov)), len(sendsOf(mail)))
	}
	if d := f.row(t); d.Status != bellhop.DeliverySent || d.Channel != providerKind {
		t.Errorf("delivery %s on %s, want sent on %s", d.Status, d.Channel, providerKind)
	}
}

func TestFallbackWorkerDiedMidSendWithoutLookupIsHeld(t *testing.T) {
	f := newFixture(t, testPacer)
	mail := twoChannels(t, f)
	// The worker dies inside the provider call: the row stays sending with its claim.
	f.prov.inCall = func(int) { panic("worker died") }
	func() {
		defer func() { _ = recover() }()
		_ = f.send()
	}()
	f.prov.inCall = nil
	d := f.row(t)
	if d.Status != bellhop.DeliverySending {
		t.Fatalf("after the crash the row is %s, want sending", d.Status)
	}
	// Its lease runs out and the task comes back: it waits Settle for a status callback,
	// then holds the row; nothing is sent again, on any channel.
	f.clock.Advance(sendTimeout)
	comeBackAt(t, f.send(), d.DueAt.Add(settle))
	f.clock.Set(d.DueAt.Add(settle))
	if err := f.send(); err != nil {
		t.Fatal(err)
	}
	if d := f.row(t); d.Status != bellhop.DeliveryUnconfirmed {
		t.Errorf("row %s, want unconfirmed", d.Status)
	}
	if n, m := f.prov.calls, len(sendsOf(mail)); n != 1 || m != 0 {
		t.Errorf("WhatsApp calls %d, email %d; want 1 and 0", n, m)
	}
}

func TestFallbackRecipientPacing(t *testing.T) {
	f := newFixture(t, pacer.Config{Interval: time.Second, Jitter: -1}) // the number may send again after 1 s
	twoChannels(t, f)
	// The Cloud API's profile: one message per 6 s to one recipient, through a second line.
	rdb, ns := newRedis(t)
	none := func(provider.Config) (provider.Client, error) { return nil, nil }
	f.w.cfg.Kinds = provider.NewRegistry(
		provider.Kind{Name: providerKind, Address: provider.AddressPhone, Open: none, Pacing: provider.Pacing{PerRecipient: 6 * time.Second},
			Caps: provider.Capabilities{Text: true, Templates: true, Senders: true, CustomerWindow: 24 * time.Hour}},
		provider.Kind{Name: "email", Address: provider.AddressEmail, Open: none, Caps: provider.Capabilities{Text: true}},
	)
	rp, err := pacer.New(rdb, f.clock, pacer.Config{KeyPrefix: ns + "rcpt:", Jitter: -1, IntervalFor: Intervals(f.w.cfg.Kinds, true)})
	if err != nil {
		t.Fatal(err)
	}
	f.w.cfg.RecipientPacer = rp
	f.run(t, 2)
	first := f.clock.Now()
	// The same guest's next message (sent again as a new version) waits out the 6 s.
	f.store.mu.Lock()
	row := f.store.rows[f.id]
	row.Status, row.Version, row.DueAt, row.Channel, row.ChannelsDone = bellhop.DeliveryScheduled, 2, first, "", nil
	f.store.mu.Unlock()
	err = f.w.Send(context.Background(), f.id, 2)
	comeBackAt(t, err, first.Add(6*time.Second))
	if n := len(sendsOf(f.prov)); n != 1 {
		t.Fatalf("%d sends within 6 s to one recipient, want 1", n)
	}
	f.clock.Set(first.Add(6 * time.Second))
	if err := f.w.Send(context.Background(), f.id, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(sendsOf(f.prov)); n != 2 {
		t.Fatalf("%d sends after the recipient's 6 s, want 2", n)
	}
}
