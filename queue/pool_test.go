package queue

import (
	"context"
	"fmt"
	"testing"

	"github.com/bellhop/bellhop"
)

// pooled gives the fixture's integration a pool of two numbers.
func pooled(f *fixture) {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	f.store.integration.Pool = []bellhop.Sender{
		{ID: senderID, Type: "whatsapp", Name: "Reception"},
		{ID: "wa-2", Type: "whatsapp", Name: "Concierge"},
	}
}

// chosen returns the pool's number sendFrom picks for each of n guests.
func chosen(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	in, err := f.store.GetIntegration(context.Background(), propertyID, providerKind)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, n)
	for i := range n {
		d := &bellhop.Delivery{PropertyID: propertyID, Phone: fmt.Sprintf("+7 912 %07d", i)}
		member, key, err := f.w.sendFrom(context.Background(), in, d)
		if err != nil {
			t.Fatal(err)
		}
		if key != SenderKey(member) {
			t.Fatalf("sendFrom's key %q is not its sender's %q", key, SenderKey(member))
		}
		out[i] = member.Sender.ID
	}
	return out
}

func count(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// A pool spreads new guests over its numbers, keeps each guest on one number, keeps a guest
// on the number that first sent to them, and sends new guests away from a paused number.
func TestPoolSpreadsGuestsAndKeepsEach(t *testing.T) {
	f := newFixture(t, testPacer)
	pooled(f)
	const guests = 200
	first := chosen(t, f, guests)
	// Two numbers of equal capacity: each gets about half (the hashes are fixed, so this
	// holds or fails the same way every run).
	if n := count(first, senderID); n < guests/2-30 || n > guests/2+30 {
		t.Errorf("%d of %d guests on %s, want about half", n, guests, senderID)
	}
	if again := chosen(t, f, guests); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Error("a second look chose other numbers for the same guests")
	}

	// Guest 0 was sent to from the other number than the hash picks: it stays there.
	other := "wa-2"
	if first[0] == other {
		other = senderID
	}
	if err := f.store.PinGuestSender(context.Background(), propertyID, providerKind, bellhop.PhoneDigits("+7 912 0000000"), other, t0); err != nil {
		t.Fatal(err)
	}
	if got := chosen(t, f, 1)[0]; got != other {
		t.Errorf("a guest first sent to from %s now gets %s", other, got)
	}

	// The first number is paused (banned): new guests all go to the second; guest 0, pinned
	// to wa-2 or to the paused one, keeps its number.
	in, _ := f.store.GetIntegration(context.Background(), propertyID, providerKind)
	if err := f.w.cfg.Pacer.Pause(context.Background(), SenderKey(memberOf(in, in.Pool[0])), "banned"); err != nil {
		t.Fatal(err)
	}
	after := chosen(t, f, guests)
	if after[0] != other {
		t.Errorf("the pinned guest moved from %s to %s", other, after[0])
	}
	if n := count(after[1:], senderID); n != 0 {
		t.Errorf("%d new guests went to the paused number", n)
	}
}

// A send through a pool goes from the guest's number, which then keeps the guest; a single
// sender's integration records nothing.
func TestPoolSendRecordsTheGuestsNumber(t *testing.T) {
	f := newFixture(t, testPacer)
	pooled(f)
	in, _ := f.store.GetIntegration(context.Background(), propertyID, providerKind)
	member, _, err := f.w.sendFrom(context.Background(), in, f.row(t))
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, 10)
	if len(f.prov.sends) != 1 {
		t.Fatalf("%d messages sent, want 1", len(f.prov.sends))
	}
	from := f.prov.sends[0].SenderID
	if from != member.Sender.ID {
		t.Fatalf("sent from %q, want the guest's number %q", from, member.Sender.ID)
	}
	if got, _ := f.store.GuestSender(context.Background(), propertyID, providerKind, bellhop.PhoneDigits(guestPhone)); got != from {
		t.Errorf("the guest's number is recorded as %q, want %q (it sent)", got, from)
	}
	if row := f.row(t); row.SenderID != from {
		t.Errorf("the ledger says sender %q, the provider got %q", row.SenderID, from)
	}

	// One sender: nothing to keep.
	g := newFixture(t, testPacer)
	g.run(t, 10)
	if got, _ := g.store.GuestSender(context.Background(), propertyID, providerKind, bellhop.PhoneDigits(guestPhone)); got != "" {
		t.Errorf("a single sender recorded the guest's number %q", got)
	}
}
