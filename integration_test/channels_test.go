package integration_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	mailsandbox "github.com/bellhop/bellhop/provider/email/sandbox"
	"github.com/bellhop/bellhop/provider/whatsapp"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// channelSandboxes serve the WhatsApp Business Platform (Cloud API and 360dialog) over HTTP
// and an SMTP server, each on loopback.
func channelSandboxes(t *testing.T) (*wasandbox.Server, string, *mailsandbox.Server) {
	t.Helper()
	wa := wasandbox.New(wasandbox.Config{})
	srv := httptest.NewServer(wa)
	t.Cleanup(srv.Close)
	t.Cleanup(wa.Close)
	mail, err := mailsandbox.Start(mailsandbox.Config{Mode: mailsandbox.ModePlain, AllowInsecureAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.Close() })
	return wa, srv.URL, mail
}

func fieldNames(r response) []string {
	e, _ := r.Body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	var out []string
	for _, f := range fs {
		out = append(out, f.(map[string]any)["field"].(string))
	}
	return out
}

// TestChannelsConnect walks a manager connecting the WhatsApp Cloud API, 360dialog and email on
// both databases: every kind listed with what it can do; a body of the wrong shape named field
// by field; a wrong credential told from an unreachable service; sender discovery with quality
// ratings; an account that is its own sender chosen by itself; templates; the callback URL and
// verify token to paste into Meta's app, Meta's subscription check; 360dialog's webhook set
// through its API with the secret header. No answer ever carries a secret.
func TestChannelsConnect(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			wa, waURL, mail := channelSandboxes(t)
			admin := h.property("p1", true)
			base := "/api/v1/properties/p1/integrations"

			r := h.must(200, "GET", base, admin, nil)
			list, _ := r.Body["integrations"].([]any)
			kinds := map[string]map[string]any{}
			for _, x := range list {
				v := x.(map[string]any)
				kinds[v["provider"].(string)] = v
			}
			for _, k := range []string{"intellectdialog", "whatsapp_cloud", "dialog360", "email"} {
				v := kinds[k]
				if v == nil || v["configured"] != false || v["fields"] == nil || v["capabilities"] == nil || v["pacing"] == nil {
					t.Fatalf("%s in the list: %v", k, v)
				}
			}
			if c := kinds["whatsapp_cloud"]["capabilities"].(map[string]any); c["templates"] != true || c["lookup"] != false {
				t.Fatalf("cloud capabilities %v", c)
			}

			// WhatsApp Cloud API.
			cloud := base + "/whatsapp_cloud"
			r = h.must(422, "PUT", cloud, admin, map[string]any{"access_token": "x", "api_key": "y"})
			if got := strings.Join(fieldNames(r), ","); !strings.Contains(got, "api_key") || !strings.Contains(got, "waba_id") || !strings.Contains(got, "app_secret") {
				t.Fatalf("unknown and missing fields: %s", r.Raw)
			}
			good := map[string]any{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
				"app_secret": wasandbox.DefaultAppSecret, "base_url": wasandbox.CloudBaseURL(waURL)}
			h.must(200, "PUT", cloud, admin, map[string]any{"access_token": "EAA-not-the-token", "waba_id": good["waba_id"],
				"app_secret": good["app_secret"], "base_url": good["base_url"]})
			r = h.must(422, "POST", cloud+"/check", admin, nil)
			if r.errCode() != "invalid_api_key" || !strings.Contains(r.errMessage(), "access token") || fieldNames(r)[0] != "access_token" {
				t.Fatalf("a wrong token: %s", r.Raw)
			}
			h.must(200, "PUT", cloud, admin, map[string]any{"access_token": wasandbox.DefaultToken})
			wa.SetOutage(http.StatusServiceUnavailable)
			r = h.must(502, "POST", cloud+"/check", admin, nil)
			if r.errCode() != "provider_unavailable" || !strings.Contains(r.errMessage(), "try again") {
				t.Fatalf("an unreachable Cloud API: %s", r.Raw)
			}
			wa.SetOutage(0)
			if r = h.must(200, "GET", cloud, admin, nil); r.Body["status"] != "unverified" {
				t.Fatalf("an outage changed the state: %s", r.Raw)
			}
			r = h.must(200, "POST", cloud+"/check", admin, nil)
			senders, _ := r.Body["senders"].([]any)
			if r.Body["status"] != "verified" || len(senders) != 2 || senders[0].(map[string]any)["quality"] != "GREEN" || r.Body["sender"] != nil {
				t.Fatalf("check: %s", r.Raw)
			}
			h.must(200, "PUT", cloud+"/sender", admin, map[string]any{"sender_id": wasandbox.NumberReception})
			r = h.must(200, "POST", cloud+"/activate", admin, nil)
			cb, _ := r.Body["callback"].(map[string]any)
			if r.Body["active"] != true || cb["url"] != h.url+"/webhooks/whatsapp_cloud/p1" || cb["verify_token"] == "" {
				t.Fatalf("activated cloud: %s", r.Raw)
			}
			for _, secret := range []string{wasandbox.DefaultToken, wasandbox.DefaultAppSecret} {
				if strings.Contains(r.Raw, secret) {
					t.Fatalf("the view shows a secret: %s", r.Raw)
				}
			}
			r = h.must(200, "GET", cloud+"/templates", admin, nil)
			if tpls, _ := r.Body["templates"].([]any); len(tpls) != 3 {
				t.Fatalf("approved templates: %s", r.Raw)
			}
			// Meta's subscription check.
			q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {cb["verify_token"].(string)}}
			if r = h.call("GET", "/webhooks/whatsapp_cloud/p1?"+q.Encode(), "", nil); r.Status != 200 || r.Raw != "1158201444" {
				t.Fatalf("subscription check: %d %s", r.Status, r.Raw)
			}
			q.Set("hub.verify_token", "guess")
			h.must(403, "GET", "/webhooks/whatsapp_cloud/p1?"+q.Encode(), "", nil)

			// 360dialog: its key is one number, chosen by itself; activation sets the webhook.
			d360 := base + "/dialog360"
			h.must(200, "PUT", d360, admin, map[string]any{"api_key": "not-the-key", "base_url": wasandbox.Dialog360BaseURL(waURL)})
			if r = h.must(422, "POST", d360+"/check", admin, nil); r.errCode() != "invalid_api_key" || !strings.Contains(r.errMessage(), "API key") {
				t.Fatalf("a wrong 360dialog key: %s", r.Raw)
			}
			h.must(200, "PUT", d360, admin, map[string]any{"api_key": wasandbox.DefaultAPIKey360})
			if r = h.must(200, "POST", d360+"/check", admin, nil); r.Body["sender"] == nil {
				t.Fatalf("360dialog's one number is not chosen: %s", r.Raw)
			}
			h.must(200, "POST", d360+"/activate", admin, nil)
			hook, headers := wa.Webhook360()
			if hook != h.url+"/webhooks/dialog360/p1" || len(headers[whatsapp.SecretHeader]) < 32 {
				t.Fatalf("360dialog webhook %q with headers %v", hook, headers)
			}

			// Email: the account is its one sender.
			em := base + "/email"
			user, pass := mail.Credentials()
			port := mail.Addr()[strings.LastIndex(mail.Addr(), ":")+1:]
			settings := map[string]any{"host": mail.Host(), "port": port, "security": "none", "username": user,
				"password": "wrong-password", "from_address": "reception@aurora-hotel.example", "from_name": "Hotel Aurora"}
			h.must(200, "PUT", em, admin, settings)
			if r = h.must(422, "POST", em+"/check", admin, nil); r.errCode() != "invalid_api_key" || fieldNames(r)[0] != "password" {
				t.Fatalf("a wrong password: %s", r.Raw)
			}
			p, _ := strconv.Atoi(port)
			r = h.must(200, "PUT", em, admin, map[string]any{"password": pass, "port": p})
			if strings.Contains(r.Raw, pass) || r.Body["hints"].(map[string]any)["password"] == nil {
				t.Fatalf("the password in the view: %s", r.Raw)
			}
			r = h.must(200, "POST", em+"/check", admin, nil)
			if s, _ := r.Body["sender"].(map[string]any); r.Body["status"] != "verified" || s["id"] != "reception@aurora-hotel.example" {
				t.Fatalf("email check: %s", r.Raw)
			}
			h.must(200, "POST", em+"/activate", admin, nil)
			_ = mail.Close()
			if r = h.must(502, "POST", em+"/check", admin, nil); r.errCode() != "provider_unavailable" {
				t.Fatalf("an unreachable mail server: %s", r.Raw)
			}

			r = h.must(200, "GET", base, admin, nil)
			active := 0
			for _, x := range r.Body["integrations"].([]any) {
				if x.(map[string]any)["active"] == true {
					active++
				}
			}
			if active != 3 {
				t.Fatalf("%d active channels, want 3: %s", active, r.Raw)
			}
			// Another property sees none of it.
			other := h.property("p2", true)
			h.must(404, "GET", cloud, other, nil)
		})
	}
}

// TestForgedCallbacksChangeNothing: a delivery that was sent stays as it is when callbacks
// come with a bad signature (Cloud API), a wrong secret header (360dialog) or a wrong URL
// secret (IntellectDialog): 401, 401 and 404. The same news with its proof moves it.
func TestForgedCallbacksChangeNothing(t *testing.T) {
	h := start(t, databases(t)["sqlite"](t), fastPacing)
	admin, local := h.activeProperty("p1")
	// The sandbox's own callbacks go nowhere, so only this test's reach the delivery.
	hook, events := h.sandbox.Webhook("1")
	h.sandbox.SetWebhook("1", "http://127.0.0.1:1/", events)
	base := "/api/v1/properties/p1"
	for kind, body := range map[string]map[string]any{
		"whatsapp_cloud": {"access_token": "EAA-token-0123456789", "waba_id": wasandbox.DefaultWABAID, "app_secret": "the-app-secret"},
		"dialog360":      {"api_key": "a-360-key"},
	} {
		h.must(200, "PUT", base+"/integrations/"+kind, admin, body)
	}
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	r := h.must(201, "PUT", base+"/bookings/b1", h.service, booking(local.AddDate(0, 0, 1), 1, "+79123456789", "ru", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("p1", admin, id, "sent", status("sent"))

	failed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + wasandbox.DefaultWABAID + `","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"79990000001","phone_number_id":"` + wasandbox.NumberReception + `"},` +
		`"statuses":[{"id":"wamid.forged","status":"failed","timestamp":"1795255200","recipient_id":"79123456789","biz_opaque_callback_data":"` + id + `",` +
		`"errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}`)
	post := func(path string, header http.Header, body []byte) int {
		req, _ := http.NewRequest("POST", h.url+path, bytes.NewReader(body))
		req.Header = header
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		want   int
	}{
		{"cloud unsigned", "/webhooks/whatsapp_cloud/p1", http.Header{}, failed, 401},
		{"cloud signed with another secret", "/webhooks/whatsapp_cloud/p1", http.Header{whatsapp.SignatureHeader: {whatsapp.Sign(failed, "guess")}}, failed, 401},
		{"360dialog without its header", "/webhooks/dialog360/p1", http.Header{}, failed, 401},
		{"360dialog with a wrong header", "/webhooks/dialog360/p1", http.Header{whatsapp.SecretHeader: {"guess"}}, failed, 401},
		{"intellectdialog with a wrong secret", "/webhooks/intellectdialog/p1?secret=guess", http.Header{},
			[]byte(`{"event":"new_status","data":{"mark":"` + id + `","status":"failed"}}`), 404},
		{"another property's path", "/webhooks/intellectdialog/p2?secret=guess", http.Header{},
			[]byte(`{"event":"new_status","data":{"mark":"` + id + `","status":"failed"}}`), 404},
	} {
		if got := post(c.path, c.header, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if d := h.must(200, "GET", base+"/deliveries/"+id, admin, nil); d.Body["status"] != "sent" {
		t.Fatalf("forged callbacks changed the delivery: %s", d.Raw)
	}
	// With its proof the same kind of news is applied.
	u, _ := url.Parse(hook)
	if got := post(u.RequestURI(), http.Header{}, []byte(`{"event":"new_status","data":{"mark":"`+id+`","status":"delivered"}}`)); got != 200 {
		t.Fatalf("the real callback: %d", got)
	}
	h.waitDelivery("p1", admin, id, "delivered", status("delivered"))
}
