package integration_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
)

// TestProviderFailures shows how sends meet a provider that pushes back: a 429 backs the
// sender off and the message goes later; a 5xx is looked up before it is sent again; a rejected key
// marks the integration invalid and pauses its mailings with a reason until a working key is
// activated; a banned sender is paused until an administrator resumes it. Nothing is lost and
// nothing is sent twice.
func TestProviderFailures(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	tomorrow := local.AddDate(0, 0, 1)
	n := 0
	push := func(phone string) string {
		t.Helper()
		n++
		r := h.must(201, "PUT", base+"/bookings/f"+string(rune('0'+n)), h.service, booking(tomorrow, 1, phone, "en", time.Now()))
		return deliveryOf(r, "welcome")["id"].(string)
	}
	final := func(d map[string]any) bool { return d["sent_at"] != nil }

	// 429 with Retry-After: one refused attempt, then the message goes after the hold.
	h.sandbox.SetRateLimit(time.Second)
	id := push("+491701234561")
	d := h.waitDelivery("p1", admin, id, "sent after a 429", final)
	if d["attempt_count"] != float64(2) {
		t.Errorf("after a 429: %v attempts, want 2 (the refused one and the send)", d["attempt_count"])
	}

	// 5xx: the send waits for the provider (a 5xx on the send itself leaves the row
	// "sending", looked up in the provider's listing before it may go again: see
	// TestProviderAnswersAfterTheTimeout); after the outage it goes once.
	h.sandbox.SetOutage(http.StatusServiceUnavailable)
	id = push("+491701234562")
	h.waitDelivery("p1", admin, id, "waiting for the provider", func(d map[string]any) bool {
		// Whichever call meets the outage first makes the send wait: the stop list's read
		// (unclaimed, still scheduled) or — when the worker holds the account's stop list
		// from its last read — the send itself (left sending, to be looked up first).
		logs := grepLines(h.logs.String(), id)
		return d["status"] == "scheduled" && strings.Contains(logs, "the send waits for the provider") ||
			d["status"] == "sending" && strings.Contains(logs, "it is looked up before any new attempt")
	})
	h.sandbox.SetOutage(0)
	h.waitDelivery("p1", admin, id, "sent after the outage", final)

	// The provider rejects the key (it was rotated in the provider's account).
	h.sandbox.SetAPIKey(sandbox.DefaultOrgID, "rotated-key")
	id = push("+491701234563")
	r := h.must(200, "GET", base+intg, admin, nil)
	for deadline := time.Now().Add(20 * time.Second); r.Body["status"] != "invalid"; r = h.must(200, "GET", base+intg, admin, nil) {
		if time.Now().After(deadline) {
			t.Fatalf("the integration never became invalid: %s", r.Raw)
		}
		time.Sleep(50 * time.Millisecond) // polling the worker's progress
	}
	if reason, _ := r.Body["status_reason"].(string); reason == "" {
		t.Fatalf("an invalid integration must say why: %s", r.Raw)
	}
	r = h.must(200, "GET", base+"/mailings", admin, nil)
	welcome := r.Body["mailings"].([]any)[0].(map[string]any)
	if welcome["paused"] != true || !strings.Contains(welcome["paused_reason"].(string), "rejected the API key") {
		t.Fatalf("the welcome mailing must show it is paused and why: %v", welcome)
	}
	if d := h.must(200, "GET", base+"/deliveries/"+id, admin, nil); d.Body["status"] != "scheduled" {
		t.Fatalf("a paused send must wait, not fail or skip: %s", d.Raw)
	}
	// The manager enters the new key, checks it and activates: the waiting message goes.
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "rotated-key", "base_url": h.sbURL})
	h.must(200, "POST", base+intg+"/check", admin, nil)
	h.must(200, "POST", base+intg+"/activate", admin, nil)
	h.waitDelivery("p1", admin, id, "sent after the key was fixed", final)

	// A ban (here forced by a spacing no pacer could meet) pauses the sender; its message
	// waits until an administrator resumes it.
	h.sandbox.SetSpacing("1", time.Hour)
	id = push("+491701234564")
	h.waitDelivery("p1", admin, id, "refused by the banned sender", func(d map[string]any) bool {
		return d["status"] == "scheduled" && d["attempt_count"].(float64) >= 1
	})
	r = h.must(200, "GET", base+intg+"/pacer", admin, nil)
	if r.Body["paused"] != true || !strings.Contains(r.Body["pause_reason"].(string), "blocked") {
		t.Fatalf("the pacer must show the sender paused with the reason: %s", r.Raw)
	}
	h.sandbox.Unban("1")
	h.sandbox.SetSpacing("1", 150*time.Millisecond)
	r = h.must(200, "POST", base+intg+"/pacer/resume", admin, nil)
	if r.Body["paused"] != false {
		t.Fatalf("resume = %s", r.Raw)
	}
	h.waitDelivery("p1", admin, id, "sent after resuming", final)

	// The sender's pacing is a setting: shown, changed by field, refused by name when wrong.
	r = h.must(200, "PATCH", base+intg+"/pacer", admin, map[string]any{"interval_seconds": 0.25, "daily_cap": 500})
	if set := r.Body["settings"].(map[string]any); set["interval_seconds"] != 0.25 || set["daily_cap"] != float64(500) || set["jitter"] != 0.2 {
		t.Fatalf("pacer settings after a change = %s", r.Raw)
	}
	if r = h.must(422, "PATCH", base+intg+"/pacer", admin, map[string]any{"jitter": 2}); !strings.Contains(r.Raw, `"field":"jitter"`) {
		t.Fatalf("a jitter of 2 = %s", r.Raw)
	}
	h.must(422, "PATCH", base+intg+"/pacer", admin, map[string]any{"interval_seconds": 0})
	for _, bad := range []map[string]any{{"interval_seconds": 1e12}, {"interval_seconds": 604801}, {"time_zone": "Local"}, {"time_zone": "Mars/Base"}} {
		field := "interval_seconds"
		if _, ok := bad["time_zone"]; ok {
			field = "time_zone"
		}
		if r = h.must(422, "PATCH", base+intg+"/pacer", admin, bad); !strings.Contains(r.Raw, `"field":"`+field+`"`) {
			t.Fatalf("pacer settings %v = %s; want 422 naming %s", bad, r.Raw, field)
		}
	}
	if r = h.must(200, "GET", base+intg+"/pacer", admin, nil); r.Body["settings"].(map[string]any)["interval_seconds"] != 0.25 {
		t.Fatalf("a refused change changed the settings: %s", r.Raw)
	}

	// Each message reached the provider once.
	seen := map[string]int{}
	for _, m := range h.sandbox.Messages() {
		seen[m.Mark]++
	}
	if len(seen) != 4 {
		t.Errorf("the provider has %d distinct messages, want 4: %v", len(seen), seen)
	}
	for mark, c := range seen {
		if c != 1 {
			t.Errorf("message %s accepted %d times", mark, c)
		}
	}
}

// TestLostEnqueueIsSwept: the API process commits a booking's plan but cannot reach Redis to
// queue the send (it died, or Redis blinked). A worker's sweep finds the overdue delivery and
// sends it: nothing is lost between the database and the queue.
func TestLostEnqueueIsSwept(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing, func(m *app.Main) { m.Role = app.RoleAPI })
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})

	// The API's Redis goes away after the database commit of the next push.
	h.main.Redis.Close()
	r := h.must(201, "PUT", base+"/bookings/lost", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234569", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	if !strings.Contains(h.logs.String(), "the sweep will queue them") {
		t.Fatal("the failed enqueue was not logged")
	}

	// A worker starts; its sweep queues what is overdue.
	h.startWorker(t, fastPacing, func(m *app.Main) {
		m.TuneWorker = func(c *queue.Config) { c.SweepEvery, c.SweepGrace = 100*time.Millisecond, time.Millisecond }
	})
	d := h.waitDelivery("p1", admin, id, "sent by the sweep", func(d map[string]any) bool { return d["sent_at"] != nil })
	if d["attempt_count"] != float64(1) {
		t.Errorf("swept delivery took %v attempts, want 1", d["attempt_count"])
	}
	if got := len(h.sandbox.Messages()); got != 1 {
		t.Errorf("the provider got %d messages, want 1", got)
	}
}
