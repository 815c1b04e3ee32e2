package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// fallbackSuite runs on a migrated database: a delivery's channel, the channels it left behind
// and its ledger of attempts as the send path and the callbacks move them, and the guests'
// last messages per channel.
func fallbackSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for _, id := range []string{"fb", "fb-other"} {
		if err := db.CreateProperty(ctx, property(id)); err != nil {
			t.Fatal(err)
		}
	}
	now := at.Add(24 * time.Hour)
	d := delivery("fb", "f1", bellhop.Welcome, at)
	if err := db.SaveDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	read := func() *bellhop.Delivery {
		t.Helper()
		got, err := db.GetDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	lines := func() []string {
		t.Helper()
		list, err := db.DeliveryAttempts(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.Channel+" "+string(a.Status)+" "+a.Reason+" "+a.MessageID)
		}
		return out
	}
	check := func(step string, wantLines ...string) {
		t.Helper()
		if got := lines(); !slices.Equal(got, wantLines) {
			t.Errorf("%s: attempts = %q, want %q", step, got, wantLines)
		}
	}

	// The claim opens the attempt's line and names the channel; the answer completes both.
	attempt, _, err := db.ClaimDelivery(ctx, d, "whatsapp_cloud", "n1", now.Add(time.Minute), now)
	if err != nil || attempt != 1 {
		t.Fatalf("ClaimDelivery = %d, %v", attempt, err)
	}
	check("claimed", "whatsapp_cloud sending  ")
	if got := read(); got.Channel != "whatsapp_cloud" {
		t.Errorf("claimed row is on %q, want whatsapp_cloud", got.Channel)
	}
	sentAt := now.Add(time.Second)
	if ok, err := db.FinishAttempt(ctx, d.ID, 1, 1, bellhop.DeliverySent, "", "wamid.1", &sentAt, sentAt, sentAt, bellhop.DeliverySent, ""); err != nil || !ok {
		t.Fatalf("FinishAttempt(sent) = %v, %v", ok, err)
	}
	check("sent", "whatsapp_cloud sent  wamid.1")

	// The channel's later word: unreachable. The delivery goes on to email, once.
	sent := read()
	if ok, err := db.FallThrough(ctx, sent, "email", "unreachable: 131026", now, now); err != nil || !ok {
		t.Fatalf("FallThrough = %v, %v", ok, err)
	}
	got := read()
	if got.Status != bellhop.DeliveryScheduled || got.Channel != "email" || !slices.Equal(got.ChannelsDone, []string{"whatsapp_cloud"}) ||
		got.ProviderMessageID != "" || got.SentAt != nil {
		t.Errorf("after the fall-through: %s on %q, done %v, message %q, sent %v", got.Status, got.Channel, got.ChannelsDone, got.ProviderMessageID, got.SentAt)
	}
	check("fell through", "whatsapp_cloud failed unreachable: 131026 wamid.1")
	if ok, err := db.FallThrough(ctx, sent, "email", "unreachable: 131026", now, now); err != nil || ok {
		t.Errorf("the same callback again = %v, %v; want nothing changed", ok, err)
	}
	// An answer for the old attempt that comes now counts for nothing.
	if ok, err := db.FinishAttempt(ctx, d.ID, 1, 1, bellhop.DeliverySent, "", "wamid.1", &sentAt, sentAt, sentAt, bellhop.DeliverySent, ""); err != nil || ok {
		t.Errorf("a late answer for the old attempt = %v, %v; want nothing changed", ok, err)
	}
	check("late answer", "whatsapp_cloud failed unreachable: 131026 wamid.1")

	// The send path skips email (no address) and, with no channel left, the delivery.
	if ok, err := db.MoveChannel(ctx, sent, "", nil, "", bellhop.DeliverySkipped, "x", now, now); err != nil || ok {
		t.Errorf("MoveChannel from a row read before the fall-through = %v, %v; want refused", ok, err)
	}
	skip := []bellhop.DeliveryAttempt{{Channel: "email", Status: bellhop.DeliverySkipped, Reason: bellhop.ReasonNoEmail, At: now}}
	if ok, err := db.MoveChannel(ctx, got, "", skip, "", bellhop.DeliverySkipped, bellhop.ReasonNoEmail, now, now); err != nil || !ok {
		t.Fatalf("MoveChannel = %v, %v", ok, err)
	}
	got = read()
	if got.Status != bellhop.DeliverySkipped || got.Reason != bellhop.ReasonNoEmail || got.Channel != "email" ||
		!slices.Equal(got.ChannelsDone, []string{"whatsapp_cloud", "email"}) {
		t.Errorf("after the last skip: %s (%s) on %q, done %v", got.Status, got.Reason, got.Channel, got.ChannelsDone)
	}
	check("skipped", "whatsapp_cloud failed unreachable: 131026 wamid.1", "email skipped no_email ")
	list, err := db.ListDeliveriesWithAttempts(ctx, "fb", bellhop.DeliveryFilter{})
	if err != nil || len(list) != 1 || len(list[0].AttemptLog) != 2 || list[0].AttemptLog[1].Channel != "email" {
		t.Errorf("ListDeliveriesWithAttempts = %+v, %v", list, err)
	}
	if list, err := db.ListDeliveriesWithAttempts(ctx, "fb-other", bellhop.DeliveryFilter{}); err != nil || len(list) != 0 {
		t.Errorf("another property's ledger = %+v, %v", list, err)
	}

	// The guest's last message per channel: the latest is kept, per property and channel.
	for _, when := range []time.Time{now, now.Add(-time.Hour)} {
		if err := db.NoteInbound(ctx, "fb", "whatsapp_cloud", "79123456789", when); err != nil {
			t.Fatal(err)
		}
	}
	if last, err := db.LastInbound(ctx, "fb", "whatsapp_cloud", "79123456789"); err != nil || !last.Equal(now.UTC().Truncate(time.Microsecond)) {
		t.Errorf("LastInbound = %v, %v; want %v", last, err, now)
	}
	for _, c := range [][2]string{{"fb-other", "whatsapp_cloud"}, {"fb", "dialog360"}} {
		if last, err := db.LastInbound(ctx, c[0], c[1], "79123456789"); err != nil || !last.IsZero() {
			t.Errorf("LastInbound(%s, %s) = %v, %v; want none", c[0], c[1], last, err)
		}
	}
}
