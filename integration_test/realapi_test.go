package integration_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
)

// quickResolve makes an unknown attempt's lookups quick: a short send timeout (Settle and
// Recheck follow it) and a sweep that comes back fast.
func quickResolve(m *app.Main) {
	m.Config.SendInterval = 200 * time.Millisecond
	m.Config.SendTimeout = time.Second
}

// countByMark is how many messages the provider holds per mark: the sandbox keeps every
// message it is sent, as the real provider does (no dedupe by mark).
func countByMark(sb *sandbox.Server) map[string]int {
	seen := map[string]int{}
	for _, m := range sb.Messages() {
		seen[m.Mark]++
	}
	return seen
}

// TestProviderAnswersAfterTheTimeout: the provider takes each message but answers only after
// Bellhop's timeout, its listing lags behind what it took, and it never drops a repeated mark.
// Bellhop must not send again on a timeout: it looks the message up in the provider's listing
// (twice, the listing lags) and records it sent. Every guest gets exactly one welcome.
func TestProviderAnswersAfterTheTimeout(t *testing.T) {
	// The provider's status callbacks go nowhere: a delivered callback would settle the row
	// by itself, and here the listing has to.
	h := start(t, t.TempDir()+"/bellhop.db", quickResolve, func(m *app.Main) { m.Config.PublicURL = "http://127.0.0.1:9" })
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.sandbox.SetLatency(1500 * time.Millisecond)    // accepted at once, answered after the 1 s timeout
	h.sandbox.SetListingLag(1200 * time.Millisecond) // and shown in GET messages only later
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	var ids []string
	for i := range 3 {
		r := h.must(201, "PUT", fmt.Sprintf("%s/bookings/late%d", base, i), h.service,
			booking(local.AddDate(0, 0, 1), 1, fmt.Sprintf("+4917012340%02d", i), "en", time.Now()))
		ids = append(ids, deliveryOf(r, "welcome")["id"].(string))
	}
	for _, id := range ids {
		d := h.waitDelivery("p1", admin, id, "sent", func(d map[string]any) bool { return d["sent_at"] != nil })
		if d["provider_message_id"] == "" || d["provider_message_id"] == nil {
			t.Errorf("delivery %s was recorded sent without the provider's message id: %v", id, d)
		}
	}
	seen := countByMark(h.sandbox)
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("the provider holds %d messages marked %s, want exactly 1", seen[id], id)
		}
	}
	for _, st := range h.sandbox.Stats() {
		if st.RepeatedMarks != 0 || st.Banned {
			t.Errorf("sender %s: %d repeated marks, banned %v; want none", st.SenderID, st.RepeatedMarks, st.Banned)
		}
	}
	if !strings.Contains(h.logs.String(), "an unfinished attempt had reached the provider") {
		t.Error("no send was recognised in the provider's listing: the latency did not outlast the timeout")
	}
}

// TestUnconfirmedIsHeldNotSentBlind: the provider takes a message but answers after the
// timeout, then cannot be asked about it (it answers 503 to everything) for longer than the
// hold time. The row is held as unconfirmed and nothing more is sent; the ledger lists it, and
// "send again" — a person's decision, who knows whether the guest got it — is offered.
func TestUnconfirmedIsHeldNotSentBlind(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", quickResolve, func(m *app.Main) {
		m.Config.PublicURL = "http://127.0.0.1:9"
		m.TuneWorker = func(c *queue.Config) { c.HoldAfter = 3 * time.Second }
	})
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	h.sandbox.SetLatency(1500 * time.Millisecond)
	r := h.must(201, "PUT", base+"/bookings/held", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234599", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	for deadline := time.Now().Add(20 * time.Second); len(h.sandbox.Messages()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the message never reached the provider")
		}
		time.Sleep(20 * time.Millisecond) // waiting for the worker's send
	}
	h.sandbox.SetOutage(http.StatusServiceUnavailable) // before the late answer: the worker times out
	d := h.waitDelivery("p1", admin, id, "unconfirmed", status("unconfirmed"))
	if reason, _ := d["reason"].(string); !strings.HasPrefix(reason, "unconfirmed") {
		t.Errorf("an unconfirmed row must say why: %v", d)
	}
	h.sandbox.SetOutage(0)
	if seen := countByMark(h.sandbox); seen[id] != 1 {
		t.Fatalf("the provider holds %d messages marked %s, want the one it took", seen[id], id)
	}
	if list := h.must(200, "GET", base+"/deliveries?status=unconfirmed", admin, nil); !strings.Contains(list.Raw, id) {
		t.Fatalf("the ledger's unconfirmed filter misses the row: %s", list.Raw)
	}
	if d := h.must(200, "GET", base+"/deliveries/"+id, admin, nil); d.Body["status"] != "unconfirmed" {
		t.Fatalf("an unconfirmed row moved on by itself: %s", d.Raw)
	}
	r = h.must(200, "POST", base+"/deliveries/"+id+"/retry", admin, nil)
	if r.Body["status"] != "scheduled" {
		t.Fatalf("send again = %s", r.Raw)
	}
}

// TestStopListIsHonoured: a phone on the provider account's own stop list gets nothing; the
// ledger says opted_out.
func TestStopListIsHonoured(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.sandbox.AddToStopList(sandbox.DefaultOrgID, "+491701234577")
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	r := h.must(201, "PUT", base+"/bookings/stop", h.service, booking(local.AddDate(0, 0, 1), 1, "+49 170 1234577", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	r = h.must(201, "PUT", base+"/bookings/go", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234578", "en", time.Now()))
	other := deliveryOf(r, "welcome")["id"].(string)
	d := h.waitDelivery("p1", admin, id, "skipped", status("skipped"))
	if d["reason"] != "opted_out" {
		t.Errorf("a stop-listed guest's welcome: reason %v, want opted_out", d["reason"])
	}
	h.waitDelivery("p1", admin, other, "sent", func(d map[string]any) bool { return d["sent_at"] != nil })
	if seen := countByMark(h.sandbox); seen[id] != 0 || seen[other] != 1 {
		t.Errorf("messages by mark = %v; want none to the stop-listed guest, one to the other", seen)
	}
}

// pmsHook stands for the hotel's PMS, whose own webhook is installed on the provider account.
type pmsHook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newPMSHook(t *testing.T) *pmsHook {
	p := &pmsHook{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.bodies = append(p.bodies, string(b))
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pmsHook) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// TestTheAccountsOneWebhook: the provider account already calls the hotel's PMS back. Activation
// does not clobber it: it stops with webhook_in_use naming it (its secret hidden). With
// forward_to_existing Bellhop takes its place and passes every callback on unchanged, so the PMS
// keeps working; deactivation puts the PMS's webhook back. replace_webhook takes it without
// forwarding, and is undone the same way.
func TestTheAccountsOneWebhook(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	pms := newPMSHook(t)
	pmsURL := pms.srv.URL + "/hooks/intellectdialog?token=pms-secret-token"
	pmsEvents := []string{"new_message", "new_status"}
	h.sandbox.SetWebhook(sandbox.DefaultOrgID, pmsURL, pmsEvents)

	admin, local := h.connectedProperty("p1")
	base := "/api/v1/properties/p1"

	r := h.must(409, "POST", base+intg+"/activate", admin, nil)
	if r.errCode() != "webhook_in_use" || !strings.Contains(r.errMessage(), pms.srv.URL) {
		t.Fatalf("activation over the PMS's webhook = %s; want webhook_in_use naming it", r.Raw)
	}
	if strings.Contains(r.Raw, "pms-secret-token") {
		t.Fatalf("the answer shows the PMS's secret: %s", r.Raw)
	}
	if u, _ := h.sandbox.Webhook(sandbox.DefaultOrgID); u != pmsURL {
		t.Fatalf("a refused activation changed the account's webhook to %q", u)
	}
	if got := h.must(200, "GET", base+intg, admin, nil); got.Body["active"] != false {
		t.Fatalf("a refused activation left the integration active: %s", got.Raw)
	}
	h.must(422, "POST", base+intg+"/activate", admin, map[string]any{"replace_webhook": true, "forward_to_existing": true})

	// Forward: Bellhop's webhook in place, the PMS gets every callback as the provider sent it.
	r = h.must(200, "POST", base+intg+"/activate", admin, map[string]any{"forward_to_existing": true})
	if r.Body["webhook_mode"] != "forward" || !strings.Contains(fmt.Sprint(r.Body["previous_webhook"]), pms.srv.URL) {
		t.Fatalf("forward activation = %s", r.Raw)
	}
	if u, _ := h.sandbox.Webhook(sandbox.DefaultOrgID); !strings.HasPrefix(u, h.url+"/webhooks/intellectdialog/p1?") {
		t.Fatalf("after activation the account's webhook is %q, want Bellhop's", u)
	}
	h.sandbox.SetSpacing("1", 150*time.Millisecond)
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	r = h.must(201, "PUT", base+"/bookings/fw", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234588", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("p1", admin, id, "delivered (a callback reached Bellhop)", func(d map[string]any) bool {
		return d["status"] == "delivered" || d["status"] == "read"
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(pms.received(), "\n"), id) {
		if time.Now().After(deadline) {
			t.Fatalf("the PMS never got the callback about %s; it got %q", id, pms.received())
		}
		time.Sleep(50 * time.Millisecond) // the relay runs in the worker
	}

	// Deactivation gives the account back to the PMS.
	h.must(200, "POST", base+intg+"/deactivate", admin, nil)
	if u, ev := h.sandbox.Webhook(sandbox.DefaultOrgID); u != pmsURL || len(ev) != len(pmsEvents) {
		t.Fatalf("after deactivation the account's webhook is %q %v, want the PMS's %q %v", u, ev, pmsURL, pmsEvents)
	}

	// Replace: Bellhop's in place, nothing forwarded; deactivation puts the PMS's back again.
	before := len(pms.received())
	r = h.must(200, "POST", base+intg+"/activate", admin, map[string]any{"replace_webhook": true})
	if r.Body["webhook_mode"] != "replaced" {
		t.Fatalf("replace activation = %s", r.Raw)
	}
	r = h.must(201, "PUT", base+"/bookings/rp", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234589", "en", time.Now()))
	id = deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("p1", admin, id, "delivered", func(d map[string]any) bool { return d["status"] == "delivered" || d["status"] == "read" })
	for _, b := range pms.received()[before:] {
		if strings.Contains(b, id) {
			t.Fatalf("replace mode forwarded a callback to the PMS: %s", b)
		}
	}
	h.must(200, "POST", base+intg+"/deactivate", admin, nil)
	if u, _ := h.sandbox.Webhook(sandbox.DefaultOrgID); u != pmsURL {
		t.Fatalf("after deactivating replace mode the account's webhook is %q", u)
	}
}

// TestStatusesWithoutCallbacks: the provider's callbacks never reach Bellhop (a firewall, a
// lost webhook): the worker asks the provider about sent messages (GET messages/{id}) and the
// ledger still learns they were delivered and read.
func TestStatusesWithoutCallbacks(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing, func(m *app.Main) {
		m.Config.PublicURL = "http://127.0.0.1:9" // the provider's callbacks go nowhere
		m.TuneWorker = func(c *queue.Config) {
			c.SweepEvery, c.ReportAfter, c.ReportEvery = 200*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond
		}
	})
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	r := h.must(201, "PUT", base+"/bookings/nocb", h.service, booking(local.AddDate(0, 0, 1), 1, "+491701234566", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("p1", admin, id, "read, learned by asking", status("read"))
}
