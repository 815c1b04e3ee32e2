package integration_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
)

// TestPacerIdentityBelongsToTheIntegration: property F points its base_url at a server of its
// own that claims property B's provider account and sender ids. Whatever F does to its pacer —
// a week's interval and a cap of one, a resume, a ban its server reports, even the same pacer
// group — B's pace does not move: a sender's pace is keyed by the provider host, the ids the
// provider answered the property's own key with, and the property. Properties that really share
// a number (same host, same account) share its pace only when both administrators say so.
func TestPacerIdentityBelongsToTheIntegration(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	ctx := context.Background()
	adminB, local := h.activeProperty("b")
	const pacerB = "/api/v1/properties/b" + intg + "/pacer"
	h.must(200, "PATCH", pacerB, adminB, map[string]any{"interval_seconds": 120})

	// B sends one message, so that its pace has a last send and a next free slot to keep.
	h.must(200, "PATCH", "/api/v1/properties/b/mailings/welcome", adminB, map[string]any{"enabled": true})
	r := h.must(201, "PUT", "/api/v1/properties/b/bookings/r1", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234561", "en", time.Now()))
	h.waitDelivery("b", adminB, deliveryOf(r, "welcome")["id"].(string), "sent", func(d map[string]any) bool { return d["sent_at"] != nil })
	before := h.must(200, "GET", pacerB, adminB, nil)
	if before.Body["last_send_at"] == nil || before.Body["settings"].(map[string]any)["interval_seconds"] != float64(120) {
		t.Fatalf("B's pacer after its send = %s", before.Raw)
	}
	unchanged := func(when string) {
		t.Helper()
		now := h.must(200, "GET", pacerB, adminB, nil)
		for _, f := range []string{"settings", "next_free_at", "last_send_at", "paused", "waiting", "sent_today", "daily_cap", "share_with_group"} {
			if fmt.Sprint(now.Body[f]) != fmt.Sprint(before.Body[f]) {
				t.Fatalf("%s, B's pacer changed: %s was %v, is %v\nbefore %s\nnow    %s", when, f, before.Body[f], now.Body[f], before.Raw, now.Raw)
			}
		}
	}

	// F's server claims the same account and sender ids.
	fake := sandbox.New(sandbox.Config{})
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)
	t.Cleanup(fake.Close)
	adminF := h.connectTo("f", fakeSrv.URL+"/v2/")
	const pacerF = "/api/v1/properties/f" + intg + "/pacer"
	inB := h.must(200, "GET", "/api/v1/properties/b"+intg, adminB, nil)
	inF := h.must(200, "GET", "/api/v1/properties/f"+intg, adminF, nil)
	if inF.Body["organization_id"] != inB.Body["organization_id"] || inF.Body["organization_id"] == nil {
		t.Fatalf("the fake server must claim B's account: B %s, F %s", inB.Raw, inF.Raw)
	}

	// F's pacer is its own: a week's interval and a cap of one stop F, not B.
	rf := h.must(200, "PATCH", pacerF, adminF, map[string]any{"interval_seconds": 604800, "daily_cap": 1})
	if set := rf.Body["settings"].(map[string]any); set["interval_seconds"] != float64(604800) || set["daily_cap"] != float64(1) {
		t.Fatalf("F's own settings = %s", rf.Raw)
	}
	unchanged("after F's PATCH")

	// The same group name does not join F to B either: F's server is another host.
	h.must(200, "PATCH", pacerB, adminB, map[string]any{"share_with_group": "Riverside"})
	before = h.must(200, "GET", pacerB, adminB, nil)
	if before.Body["share_with_group"] != "riverside" || before.Body["settings"].(map[string]any)["interval_seconds"] != float64(120) {
		t.Fatalf("B after joining a group keeps its settings (the group had none): %s", before.Raw)
	}
	rf = h.must(200, "PATCH", pacerF, adminF, map[string]any{"share_with_group": "riverside", "interval_seconds": 300000})
	if rf.Body["share_with_group"] != "riverside" || rf.Body["settings"].(map[string]any)["interval_seconds"] != float64(300000) {
		t.Fatalf("F in the group = %s", rf.Raw)
	}
	unchanged("after F joined B's group name")
	h.must(422, "PATCH", pacerF, adminF, map[string]any{"share_with_group": "no spaces"})

	// F cannot resume B: B's sender is paused (as after a ban); F's resume resumes F's.
	dbB, err := h.main.DB.GetIntegration(ctx, "b", "intellectdialog")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.main.Pacer.Pause(ctx, queue.SenderKey(dbB), "blocked by the provider"); err != nil {
		t.Fatal(err)
	}
	before = h.must(200, "GET", pacerB, adminB, nil)
	if before.Body["paused"] != true {
		t.Fatalf("B not paused: %s", before.Raw)
	}
	if rf = h.must(200, "POST", pacerF+"/resume", adminF, nil); rf.Body["paused"] != false {
		t.Fatalf("F's resume = %s", rf.Raw)
	}
	unchanged("after F's resume")
	h.must(200, "POST", pacerB+"/resume", adminB, nil)
	before = h.must(200, "GET", pacerB, adminB, nil)

	// F cannot pause B: a ban F's server reports pauses F's sender alone.
	h.must(200, "PATCH", pacerF, adminF, map[string]any{"share_with_group": "", "interval_seconds": 0.2, "daily_cap": 0})
	h.must(200, "POST", "/api/v1/properties/f"+intg+"/activate", adminF, nil)
	h.must(200, "PATCH", "/api/v1/properties/f/mailings/welcome", adminF, map[string]any{"enabled": true})
	fake.SetSpacing("1", time.Hour) // its second message is a "ban"
	for i, phone := range []string{"+491701234571", "+491701234572"} {
		h.must(201, "PUT", fmt.Sprintf("/api/v1/properties/f/bookings/f%d", i), h.service, booking(local.AddDate(0, 0, 1), 1, phone, "en", time.Now()))
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) { // polling the worker
		rf = h.must(200, "GET", pacerF, adminF, nil)
		if rf.Body["paused"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("F's sender was never paused by its server's ban: %s", rf.Raw)
		}
	}
	if reason, _ := rf.Body["pause_reason"].(string); !strings.Contains(reason, "blocked") {
		t.Fatalf("F's pause reason = %s", rf.Raw)
	}
	unchanged("after F's server banned F's sender")

	// Sharing is explicit: C reaches the same account on the same host, and paces alone until
	// its administrator sets B's group; then one pace serves both.
	adminC := h.connectTo("c", h.sbURL)
	const pacerC = "/api/v1/properties/c" + intg + "/pacer"
	rc := h.must(200, "GET", pacerC, adminC, nil)
	if rc.Body["settings"].(map[string]any)["interval_seconds"] == float64(120) || rc.Body["last_send_at"] != nil {
		t.Fatalf("C shares B's pace without asking: %s", rc.Raw)
	}
	rc = h.must(200, "PATCH", pacerC, adminC, map[string]any{"share_with_group": "riverside"})
	if rc.Body["settings"].(map[string]any)["interval_seconds"] != float64(120) || fmt.Sprint(rc.Body["last_send_at"]) != fmt.Sprint(before.Body["last_send_at"]) {
		t.Fatalf("C in B's group does not see B's pace: C %s\nB %s", rc.Raw, before.Raw)
	}
	h.must(200, "PATCH", pacerC, adminC, map[string]any{"interval_seconds": 60})
	if rb := h.must(200, "GET", pacerB, adminB, nil); rb.Body["settings"].(map[string]any)["interval_seconds"] != float64(60) {
		t.Fatalf("B does not see the shared pace's change: %s", rb.Raw)
	}
}

// connectTo creates a property in an afternoon zone whose intellectdialog integration points
// at baseURL, checks the key and chooses sender 1; it returns the admin token.
func (h *harness) connectTo(id, baseURL string) string {
	h.t.Helper()
	zone, _ := afternoonZone(time.Now())
	h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
		"id": id, "name": "Hotel " + id, "time_zone": zone, "country": "RU", "language": "en", "contact_center": true,
	})
	admin := h.cli("token", "create", "--property", id, "--role", "admin")
	base := "/api/v1/properties/" + id + intg
	h.must(200, "PUT", base, admin, map[string]any{"api_key": "sandbox-key", "base_url": baseURL})
	h.must(200, "POST", base+"/check", admin, nil)
	h.must(200, "PUT", base+"/sender", admin, map[string]any{"sender_id": "1"})
	return admin
}
