package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider/whatsapp"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// TestFallbackAcrossChannels: a property connects the WhatsApp Cloud API and email (the real
// sandboxes over HTTP and SMTP) and sends its welcome through both, in that order, on both
// databases. A guest WhatsApp reaches gets the approved template (she never wrote: outside the
// 24-hour window), and nothing by email. A guest whose number WhatsApp cannot reach — the news
// arrives later, in a signed status callback (131026) — gets the welcome by email, exactly one
// mail, after exactly one WhatsApp attempt; the ledger shows both; the same callback again
// changes nothing. A guest who wrote to the hotel's number minutes ago gets free text.
func TestFallbackAcrossChannels(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t), fastPacing)
			wa, waURL, mail := channelSandboxes(t)
			wa.SetWebhookURL(h.url + "/webhooks/whatsapp_cloud/p1")
			admin, local := h.connectedProperty("p1")
			base := "/api/v1/properties/p1"

			cloud := base + "/integrations/whatsapp_cloud"
			h.must(200, "PUT", cloud, admin, map[string]any{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
				"app_secret": wa.AppSecret(), "base_url": wasandbox.CloudBaseURL(waURL)})
			h.must(200, "POST", cloud+"/check", admin, nil)
			h.must(200, "PUT", cloud+"/sender", admin, map[string]any{"sender_id": wasandbox.NumberReception})
			h.must(200, "POST", cloud+"/activate", admin, nil)
			em := base + "/integrations/email"
			user, pass := mail.Credentials()
			h.must(200, "PUT", em, admin, map[string]any{"host": mail.Host(), "port": mail.Port(), "security": "none", "username": user,
				"password": pass, "from_address": "reception@aurora-hotel.example", "from_name": "Hotel Aurora"})
			h.must(200, "POST", em+"/check", admin, nil)
			h.must(200, "POST", em+"/activate", admin, nil)

			// The mailing's channels and its WhatsApp template, refused by name when wrong.
			r := h.must(422, "PATCH", base+"/mailings/welcome", admin, map[string]any{"sending_methods": []string{"whatsapp_cloud", "pigeon"}})
			if !strings.Contains(r.errMessage()+r.Raw, "pigeon") || !strings.Contains(r.Raw, "email") {
				t.Fatalf("an unknown channel must be named with the known ones: %s", r.Raw)
			}
			r = h.must(422, "PATCH", base+"/mailings/welcome", admin, map[string]any{"wa_templates": map[string]any{
				"en": map[string]any{"name": "booking_welcome", "params": []string{"{guest_name}", "{room_number}"}}}})
			if !strings.Contains(r.Raw, "{room_number}") || !strings.Contains(r.Raw, "wa_templates.en.params[1]") {
				t.Fatalf("an unknown placeholder must be named with its field: %s", r.Raw)
			}
			r = h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true,
				"sending_methods": []string{"whatsapp_cloud", "email"},
				"wa_templates":    map[string]any{"en": map[string]any{"name": "booking_welcome", "params": []string{"{guest_name}", "{hotel_name}", "{arrival_date}"}}},
				"subjects":        map[string]any{"en": "Welcome to {hotel_name}"}})
			if r.Body["sending_method"] != "whatsapp_cloud" {
				t.Fatalf("sending_method must show the first channel: %s", r.Raw)
			}
			if l := h.must(200, "GET", base+"/mailings?sending_method=email", admin, nil); len(l.Body["mailings"].([]any)) != 1 {
				t.Fatalf("the mailings sent (also) by email: %s", l.Raw)
			}

			tomorrow := local.AddDate(0, 0, 1)
			push := func(bid, phone, email string) string {
				t.Helper()
				b := booking(tomorrow, 1, phone, "en", time.Now())
				b["guest"].(map[string]any)["name"] = "Anna Petrova"
				b["guest"].(map[string]any)["email"] = email
				r := h.must(201, "PUT", base+"/bookings/"+bid, h.service, b)
				return deliveryOf(r, "welcome")["id"].(string)
			}
			toPhone := func(digits string) []wasandbox.Message {
				var out []wasandbox.Message
				for _, m := range wa.Messages() {
					if m.To == digits {
						out = append(out, m)
					}
				}
				return out
			}
			mailsTo := func(addr string) int {
				n := 0
				for _, m := range mail.Messages() {
					for _, to := range m.To {
						if strings.EqualFold(to, addr) {
							n++
						}
					}
				}
				return n
			}

			// Reached on WhatsApp: the template, nothing by email.
			id := push("reach", "+79123450001", "reach@guest.example")
			d := h.waitDelivery("p1", admin, id, "delivered on WhatsApp", func(d map[string]any) bool {
				return d["channel"] == "whatsapp_cloud" && (d["status"] == "delivered" || d["status"] == "read")
			})
			got := toPhone("79123450001")
			if len(got) != 1 || got[0].Type != "template" || got[0].Template != "booking_welcome" ||
				strings.Join(got[0].Params, "|") != "Anna Petrova|Hotel p1|"+fmt.Sprintf("%d %s %d", tomorrow.Day(), tomorrow.Month(), tomorrow.Year()) {
				t.Fatalf("WhatsApp got %+v; want the booking_welcome template with the guest, hotel and arrival", got)
			}
			if n := mailsTo("reach@guest.example"); n != 0 {
				t.Fatalf("a guest WhatsApp reached got %d mails", n)
			}
			if a := d["attempts"].([]any); len(a) != 1 || a[0].(map[string]any)["channel"] != "whatsapp_cloud" {
				t.Fatalf("attempts of a reached guest: %v", d["attempts"])
			}

			// Not on WhatsApp: 131026 comes in a signed callback; the welcome goes by email.
			wa.SetUndeliverable("+79123450002")
			id = push("lost", "+79123450002", "lost@guest.example")
			d = h.waitDelivery("p1", admin, id, "sent by email", func(d map[string]any) bool {
				return d["channel"] == "email" && d["sent_at"] != nil
			})
			if n, m := len(toPhone("79123450002")), mailsTo("lost@guest.example"); n != 1 || m != 1 {
				for _, x := range mail.Messages() {
					t.Logf("mail to %q: %s", x.To, x.Subject)
				}
				t.Fatalf("WhatsApp got %d attempts and email %d mails; want exactly one each", n, m)
			}
			var sent *struct{ subject, text, html string }
			for _, m := range mail.Messages() {
				if strings.EqualFold(strings.Join(m.To, ","), "lost@guest.example") {
					sent = &struct{ subject, text, html string }{m.Subject, m.Text, m.HTML}
				}
			}
			if sent.subject != "Welcome to Hotel p1" || !strings.Contains(sent.text, "Anna Petrova") || !strings.Contains(sent.html, "Anna Petrova") {
				t.Fatalf("the mail: %+v", sent)
			}
			attempts := d["attempts"].([]any)
			if len(attempts) != 2 {
				t.Fatalf("ledger: %v", attempts)
			}
			first, second := attempts[0].(map[string]any), attempts[1].(map[string]any)
			if first["channel"] != "whatsapp_cloud" || first["status"] != "failed" || !strings.HasPrefix(first["reason"].(string), "unreachable") ||
				first["message_id"] == "" || second["channel"] != "email" || second["status"] != "sent" {
				t.Fatalf("ledger: %v", attempts)
			}
			// The same failure again (Meta repeats callbacks): nothing moves, nothing is sent.
			wamid := first["message_id"].(string)
			body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + wasandbox.DefaultWABAID + `","changes":[{"field":"messages","value":{` +
				`"messaging_product":"whatsapp","metadata":{"display_phone_number":"79990000001","phone_number_id":"` + wasandbox.NumberReception + `"},` +
				`"statuses":[{"id":"` + wamid + `","status":"failed","timestamp":"` + strconv.FormatInt(time.Now().Unix(), 10) + `","recipient_id":"79123450002","biz_opaque_callback_data":"` + id + `",` +
				`"errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}`)
			req, _ := http.NewRequest("POST", h.url+"/webhooks/whatsapp_cloud/p1", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(body, wa.AppSecret()))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("the repeated callback: %d", res.StatusCode)
			}
			again := h.must(200, "GET", base+"/deliveries/"+id, admin, nil)
			if again.Body["channel"] != "email" || len(again.Body["attempts"].([]any)) != 2 || mailsTo("lost@guest.example") != 1 {
				t.Fatalf("a repeated failure callback changed the delivery: %s", again.Raw)
			}

			// Inside the 24-hour window (the guest just wrote): free text.
			if _, err := wa.Inbound(wasandbox.NumberReception, "+79123450003", "Anna", "Hello! Is parking free?"); err != nil {
				t.Fatal(err)
			}
			// The sandbox's callback carries the message to Bellhop on its own time.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				at, err := h.main.DB.LastInbound(context.Background(), "p1", "whatsapp_cloud", "79123450003")
				if err != nil {
					t.Fatal(err)
				}
				if !at.IsZero() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the guest's message never reached Bellhop")
				}
			}
			id = push("wrote", "+79123450003", "wrote@guest.example")
			h.waitDelivery("p1", admin, id, "sent on WhatsApp", func(d map[string]any) bool {
				return d["channel"] == "whatsapp_cloud" && d["sent_at"] != nil
			})
			if got := toPhone("79123450003"); len(got) != 1 || got[0].Type != "text" || !strings.Contains(got[0].Text, "Anna Petrova") {
				t.Fatalf("inside the window WhatsApp got %+v; want the welcome as free text", got)
			}

			// The preview tells each guest's channel, and why the ones before it cannot send:
			// with WhatsApp switched off, a welcome three days out goes by email.
			h.must(200, "POST", cloud+"/deactivate", admin, nil)
			later := booking(local.AddDate(0, 0, 3), 1, "+79123450004", "en", time.Now())
			later["guest"].(map[string]any)["email"] = "later@guest.example"
			h.must(201, "PUT", base+"/bookings/later", h.service, later)
			pv := h.must(200, "GET", base+"/mailings/preview?days=7", admin, nil)
			var send map[string]any
			for _, x := range pv.Body["sends"].([]any) {
				if x.(map[string]any)["booking_id"] == "later" {
					send = x.(map[string]any)
				}
			}
			skipped, _ := send["skipped"].([]any)
			if send["channel"] != "email" || len(skipped) != 1 || skipped[0].(map[string]any)["channel"] != "whatsapp_cloud" ||
				skipped[0].(map[string]any)["reason"] != "integration_inactive" {
				t.Fatalf("preview of a guest WhatsApp cannot reach now: %v", send)
			}
		})
	}
}
