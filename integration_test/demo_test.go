package integration_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
)

// TestDemoWalksTheFlow runs `bellhop demo` as the README says and follows the curl lines it
// prints: key, check, sender, activate (over the demo PMS's webhook: refused, then forwarding),
// with the printed admin token.
func TestDemoWalksTheFlow(t *testing.T) {
	raddr := requireRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	env := map[string]string{"REDIS_ADDR": raddr}
	go func() {
		done <- app.Run(ctx, []string{"demo", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("demo did not stop on cancel")
		}
	}()

	fields := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && fields["Service token"] == "" {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			fields[k] = strings.Fields(v)[0]
		}
	}
	// The rest, up to the last line, holds the other channels' PUT bodies.
	var bodies []string
	for sc.Scan() && !strings.Contains(sc.Text(), "Press Ctrl+C") {
		if l := sc.Text(); strings.Contains(l, "-d '{") {
			bodies = append(bodies, l[strings.Index(l, "-d '")+4:strings.LastIndex(l, "'")])
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	api, sb, admin := fields["API"], fields["Sandbox"], fields["Admin token"]
	if !strings.HasPrefix(admin, "bh_") || !strings.HasSuffix(sb, "/v2/") {
		t.Fatalf("demo printed %v", fields)
	}
	h := &harness{t: t, url: api}
	base := "/api/v1/properties/demo-hotel"
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": sb})
	h.must(200, "POST", base+intg+"/check", admin, nil)
	h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1"})
	// The sandbox account's webhook is the demo PMS's: activation stops and names it, then
	// goes on forwarding to it.
	r := h.must(409, "POST", base+intg+"/activate", admin, nil)
	if r.errCode() != "webhook_in_use" || !strings.Contains(r.errMessage(), "/pms/callbacks") || strings.Contains(r.Raw, "demo-pms-token") {
		t.Fatalf("activate over the PMS's webhook = %s", r.Raw)
	}
	r = h.must(200, "POST", base+intg+"/activate", admin, map[string]any{"forward_to_existing": true})
	if r.Body["active"] != true || r.Body["webhook_mode"] != "forward" {
		t.Fatalf("activate = %s", r.Raw)
	}
	r = h.must(200, "GET", base+"/staff", admin, nil)
	if staff, _ := r.Body["staff"].([]any); len(staff) != 3 {
		t.Fatalf("demo staff = %s", r.Raw)
	}
	h.must(200, "GET", base+"/operators", admin, nil)
	h.must(200, "PUT", base+"/mapping/anna", admin, map[string]any{"operator_id": "1"})
	r = h.must(201, "POST", base+"/chat-sessions", fields["Service token"], map[string]any{"staff_id": "anna"})
	if !strings.Contains(h.chatPage(t, r), "Signed in as Irina Orlova") {
		t.Fatal("the demo's chat session does not sign Anna in as operator 1")
	}

	// The welcome walk: a booking for tomorrow, the welcome switched on, a planned delivery.
	moscow, _ := time.LoadLocation("Europe/Moscow")
	tomorrow := time.Now().In(moscow).AddDate(0, 0, 1)
	h.must(201, "PUT", base+"/bookings/B-1", fields["Service token"], booking(tomorrow, 2, "+7 912 345-67-89", "ru", time.Now()))
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	r = h.must(200, "GET", base+"/deliveries", admin, nil)
	if list, _ := r.Body["deliveries"].([]any); len(list) != 1 || list[0].(map[string]any)["kind"] != "welcome" || list[0].(map[string]any)["status"] == "skipped" {
		t.Fatalf("the demo's welcome was not planned: %s", r.Raw)
	}

	// The other channels connect with the printed bodies: WhatsApp Cloud API and email.
	connected := 0
	for _, b := range bodies {
		kind := ""
		switch {
		case strings.Contains(b, `"access_token"`):
			kind = "whatsapp_cloud"
		case strings.Contains(b, `"from_address"`):
			kind = "email"
		default:
			continue
		}
		h.must(200, "PUT", base+"/integrations/"+kind, admin, b)
		if r := h.must(200, "POST", base+"/integrations/"+kind+"/check", admin, nil); r.Body["status"] != "verified" {
			t.Fatalf("%s check: %s", kind, r.Raw)
		}
		connected++
	}
	if connected != 2 {
		t.Fatalf("the demo printed %d channel bodies that connect: %q", connected, bodies)
	}
}
