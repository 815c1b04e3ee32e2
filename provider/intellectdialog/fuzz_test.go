package intellectdialog_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
)

// FuzzParseEvents: whatever a callback body holds, reading it never panics; it fails, or
// gives events that are well-formed: each names an event, a message or a mark, its ids and
// words are short printable text the database can hold, and its status agrees with its
// times. Seeds: testdata/fuzz/FuzzParseEvents.
func FuzzParseEvents(f *testing.F) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, loc := range []*time.Location{time.UTC, moscow} {
			events, err := intellectdialog.ParseEventsIn(body, loc)
			if err != nil {
				if len(events) != 0 {
					t.Fatalf("an error and %d events", len(events))
				}
				continue
			}
			if len(events) == 0 {
				t.Fatal("no error and no event")
			}
			for _, ev := range events {
				checkEvent(t, ev)
			}
		}
	})
}

func checkEvent(t *testing.T, ev provider.StatusEvent) {
	t.Helper()
	if ev.Event == "" && ev.MessageID == "" && ev.Mark == "" {
		t.Fatalf("an event that names nothing: %+v", ev)
	}
	for name, s := range map[string]string{"event": ev.Event, "message_id": ev.MessageID, "mark": ev.Mark, "phone": ev.Phone, "status": ev.Status} {
		if len(s) > 255 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("%s %q is not short printable text", name, s)
		}
	}
	if !utf8.ValidString(ev.Error) {
		t.Fatalf("error %q is not UTF-8", ev.Error)
	}
	if ev.Event == "new_message" {
		return
	}
	switch {
	case !ev.ViewedAt.IsZero() && ev.Status != "read":
		t.Fatalf("viewed at %v but status %q", ev.ViewedAt, ev.Status)
	case ev.ViewedAt.IsZero() && !ev.DeliveredAt.IsZero() && ev.Status != "delivered":
		t.Fatalf("delivered at %v but status %q", ev.DeliveredAt, ev.Status)
	case (ev.Event == "new_error" || ev.Error != "") && ev.ViewedAt.IsZero() && ev.DeliveredAt.IsZero() && ev.Status != "failed":
		t.Fatalf("an error (%q) but status %q", ev.Error, ev.Status)
	}
}
