package integration_test

import (
	"net/http"
	"strings"
	"testing"
)

const intg = "/integrations/intellectdialog"

// TestIntegrationFlow walks the property manager's flow on both databases: a bad key, the
// provider down, a good key, choosing a sender, activation and deactivation.
func TestIntegrationFlow(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			admin := h.property("p1", true)
			base := "/api/v1/properties/p1"

			// Before any key: an empty form, and activation names both missing parts.
			r := h.must(200, "GET", base+intg, admin, nil)
			if r.Body["configured"] != false || r.Body["status"] != "unverified" {
				t.Fatalf("fresh integration = %s", r.Raw)
			}
			r = h.must(409, "POST", base+intg+"/activate", admin, nil)
			if r.errCode() != "not_ready" || !strings.Contains(r.errMessage(), "API key") || !strings.Contains(r.errMessage(), "sender") {
				t.Fatalf("activate with nothing = %s", r.Raw)
			}

			// A rejected key: 422 with the provider's reason, saved as invalid, never verified.
			h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "wrong-key-123456", "base_url": h.sbURL})
			r = h.must(422, "POST", base+intg+"/check", admin, nil)
			if r.errCode() != "invalid_api_key" || !strings.Contains(strings.ToLower(r.errMessage()), "invalid api key") {
				t.Fatalf("check with a bad key = %s", r.Raw)
			}
			r = h.must(200, "GET", base+intg, admin, nil)
			if r.Body["status"] != "invalid" || r.Body["active"] != false {
				t.Fatalf("after a rejected key = %s", r.Raw)
			}

			// The good key: verified, with the organization's name.
			h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
			r = h.must(200, "GET", base+intg, admin, nil)
			if r.Body["status"] != "unverified" || r.Body["key_hint"] == nil {
				t.Fatalf("a changed key must be unverified with a hint: %s", r.Raw)
			}

			// Provider down: 502 "try again", state unchanged.
			h.sandbox.SetOutage(http.StatusServiceUnavailable)
			r = h.must(502, "POST", base+intg+"/check", admin, nil)
			if r.errCode() != "provider_unavailable" || !strings.Contains(r.errMessage(), "try again") {
				t.Fatalf("check while the provider is down = %s", r.Raw)
			}
			h.sandbox.SetOutage(0)
			if r = h.must(200, "GET", base+intg, admin, nil); r.Body["status"] != "unverified" {
				t.Fatalf("an outage changed the state: %s", r.Raw)
			}

			r = h.must(200, "POST", base+intg+"/check", admin, nil)
			if r.Body["status"] != "verified" || r.Body["organization_name"] != "Sandbox Hotels" {
				t.Fatalf("check with the good key = %s", r.Raw)
			}
			if senders, _ := r.Body["senders"].([]any); len(senders) != 2 {
				t.Fatalf("check should list the 2 sandbox senders: %s", r.Raw)
			}
			if r.Body["sender"] != nil {
				t.Fatalf("with two senders none may be chosen automatically: %s", r.Raw)
			}

			// Activation still needs a sender, and says so.
			r = h.must(409, "POST", base+intg+"/activate", admin, nil)
			if r.errCode() != "not_ready" || !strings.Contains(r.errMessage(), "sender") || strings.Contains(r.errMessage(), "API key") {
				t.Fatalf("activate without a sender = %s", r.Raw)
			}

			// Choosing a sender the provider does not offer is refused by field.
			r = h.must(422, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "42"})
			if r.errCode() != "invalid_input" || !strings.Contains(r.Raw, `"field":"sender_id"`) {
				t.Fatalf("unknown sender = %s", r.Raw)
			}
			r = h.must(200, "GET", base+intg+"/senders", admin, nil)
			if senders, _ := r.Body["senders"].([]any); len(senders) != 2 {
				t.Fatalf("senders = %s", r.Raw)
			}
			r = h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "2"})
			sender, _ := r.Body["sender"].(map[string]any)
			if sender["id"] != "2" || sender["phone"] != "+79990000002" || sender["type"] != "whatsapp" {
				t.Fatalf("chosen sender = %s", r.Raw)
			}

			r = h.must(200, "POST", base+intg+"/activate", admin, nil)
			if r.Body["active"] != true || r.Body["activated_at"] == nil {
				t.Fatalf("activate = %s", r.Raw)
			}
			// The provider now calls Bellhop back for this property, with a secret.
			hook, _ := h.sandbox.Webhook("1")
			if !strings.HasPrefix(hook, h.url+"/webhooks/intellectdialog/p1?secret=") {
				t.Fatalf("webhook at the provider = %q", hook)
			}
			// Activating again leaves Bellhop's webhook in place (the account has only one).
			h.must(200, "POST", base+intg+"/activate", admin, nil)
			if again, _ := h.sandbox.Webhook("1"); !strings.HasPrefix(again, h.url+"/webhooks/intellectdialog/p1?secret=") {
				t.Fatalf("after re-activation the webhook at the provider = %q", again)
			}

			r = h.must(200, "POST", base+intg+"/deactivate", admin, nil)
			if r.Body["active"] != false {
				t.Fatalf("deactivate = %s", r.Raw)
			}

			// The key never leaves Bellhop: not in answers, not in logs.
			for _, path := range []string{base + intg, base + intg + "/senders"} {
				if r := h.must(200, "GET", path, admin, nil); strings.Contains(r.Raw, "sandbox-key") || strings.Contains(r.Raw, "wrong-key-123456") {
					t.Fatalf("GET %s reveals the API key: %s", path, r.Raw)
				}
			}
			if logs := h.logs.String(); strings.Contains(logs, "sandbox-key") || strings.Contains(logs, "wrong-key-123456") {
				t.Fatal("the logs contain an API key")
			}
		})
	}
}

// TestKeyChangeNeedsNewCheck: changing the key of an active integration makes it unverified
// and inactive, so nothing is sent with a key nobody checked.
func TestKeyChangeNeedsNewCheck(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("p1", true)
	base := "/api/v1/properties/p1"
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
	h.must(200, "POST", base+intg+"/check", admin, nil)
	h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1"})
	h.must(200, "POST", base+intg+"/activate", admin, nil)

	// Saving the same key again changes nothing.
	r := h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key"})
	if r.Body["status"] != "verified" || r.Body["active"] != true {
		t.Fatalf("re-saving the same key changed the state: %s", r.Raw)
	}
	r = h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "another-key-7777"})
	if r.Body["status"] != "unverified" || r.Body["active"] != false || r.Body["key_hint"] != "…7777" {
		t.Fatalf("after a key change = %s", r.Raw)
	}
	r = h.must(409, "POST", base+intg+"/activate", admin, nil)
	if r.errCode() != "not_ready" || !strings.Contains(r.errMessage(), "not been checked") {
		t.Fatalf("activate with an unchecked key = %s", r.Raw)
	}
}

// TestSingleSenderIsChosen: an account with one sender needs no choice.
func TestSingleSenderIsChosen(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	h.sandbox.AddOrganization(singleSenderOrg())
	admin := h.property("p1", true)
	base := "/api/v1/properties/p1"
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "one-sender-key", "base_url": h.sbURL})
	r := h.must(200, "POST", base+intg+"/check", admin, nil)
	sender, _ := r.Body["sender"].(map[string]any)
	if sender["id"] != "77" || r.Body["organization_name"] != "Solo Inn" {
		t.Fatalf("the only sender was not chosen: %s", r.Raw)
	}
	h.must(200, "POST", base+intg+"/activate", admin, nil)
}

// TestSenderGoneAtProvider: a chosen sender removed at the provider is reported, and
// activation refuses it.
func TestSenderGoneAtProvider(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("p1", true)
	base := "/api/v1/properties/p1"
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
	h.must(200, "POST", base+intg+"/check", admin, nil)
	h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "2"})
	h.sandbox.RemoveSender("2")

	r := h.must(200, "GET", base+intg+"/senders", admin, nil)
	if r.Body["sender_missing"] != true {
		t.Fatalf("senders should report the chosen one missing: %s", r.Raw)
	}
	r = h.must(200, "POST", base+intg+"/check", admin, nil)
	if r.Body["sender_missing"] != true {
		t.Fatalf("check should report the chosen sender missing: %s", r.Raw)
	}
	r = h.must(409, "POST", base+intg+"/activate", admin, nil)
	if r.errCode() != "sender_missing" || !strings.Contains(r.errMessage(), "Choose another sender") {
		t.Fatalf("activate with a vanished sender = %s", r.Raw)
	}
}

// TestSubscriptionRequired: without the contact-center module every integration call is 403.
func TestSubscriptionRequired(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("basic", false)
	base := "/api/v1/properties/basic"
	for _, c := range []struct{ method, path string }{
		{"GET", base + intg}, {"PUT", base + intg}, {"POST", base + intg + "/check"},
		{"GET", base + intg + "/senders"}, {"POST", base + intg + "/activate"},
	} {
		var body any
		if c.method == "PUT" {
			body = map[string]any{"api_key": "sandbox-key"}
		}
		r := h.must(403, c.method, c.path, admin, body)
		if r.errCode() != "subscription_required" || !strings.Contains(r.errMessage(), "Contact Center") {
			t.Fatalf("%s %s = %s", c.method, c.path, r.Raw)
		}
	}
	// The PMS turns the module on; the same call now works.
	h.must(200, "PATCH", base, h.service, map[string]any{"contact_center": true})
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
}
