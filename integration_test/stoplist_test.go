package integration_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/provider/email"
)

// guestPage fetches a guest-facing page (no token) and returns its status and body.
func guestPage(t *testing.T, method, link, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, link, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, link, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// stopContacts lists a property's stop list as contact → source.
func (h *harness) stopContacts(pid, token string) map[string]string {
	h.t.Helper()
	r := h.must(200, "GET", "/api/v1/properties/"+pid+"/stop-list", token, nil)
	out := map[string]string{}
	list, _ := r.Body["stop_list"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		out[m["contact"].(string)], _ = m["source"].(string)
	}
	return out
}

// TestStopListAndUnsubscribeLink on both databases: the manager lists, adds and removes
// contacts (normalised; a bad one is 422 naming "contact"); another property's admin sees and
// deletes nothing of it (404); the guest's link shows a page in the guest's language that
// changes nothing until the button (or a mail client's one-click POST) is used, and then puts
// the address on the stop list; a changed token is a plain 404 page and changes nothing.
func TestStopListAndUnsubscribeLink(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			adminA := h.property("a", true)
			adminB := h.property("b", true)
			const sl = "/api/v1/properties/a/stop-list/"

			// The manager's side.
			r := h.must(201, "PUT", sl+url.PathEscape("+7 912 345-67-89"), adminA, nil)
			if r.Body["contact"] != "79123456789" || r.Body["source"] != "api" || r.Body["created_at"] == nil {
				t.Fatalf("PUT phone = %s", r.Raw)
			}
			h.must(200, "PUT", sl+"79123456789", adminA, nil) // listed already: the first entry stays
			h.must(201, "PUT", sl+"Boris@Guest.Example", adminA, nil)
			for _, bad := range []string{"not-a-contact", "12", "anna@", "+7 912 +345"} {
				r := h.call("PUT", sl+url.PathEscape(bad), adminA, nil)
				if r.Status != 422 || r.errCode() != "invalid_input" || !strings.Contains(r.Raw, `"field":"contact"`) {
					t.Errorf("PUT %q = %d %s, want 422 naming contact", bad, r.Status, r.Raw)
				}
			}
			if got := h.stopContacts("a", adminA); len(got) != 2 || got["79123456789"] != "api" || got["boris@guest.example"] != "api" {
				t.Fatalf("stop list = %v", got)
			}
			h.must(204, "DELETE", sl+"boris@guest.example", adminA, nil)
			h.must(404, "DELETE", sl+"boris@guest.example", adminA, nil)

			// Another property's admin: 404 for the list, the entry and its removal.
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/properties/a/stop-list"},
				{"PUT", sl + "anna@guest.example"},
				{"DELETE", sl + "79123456789"},
			} {
				r := h.call(c.method, c.path, adminB, nil)
				if r.Status != 404 || r.errCode() != "not_found" || strings.Contains(r.Raw, "7912") {
					t.Errorf("%s %s with b's token = %d %s, want 404", c.method, c.path, r.Status, r.Raw)
				}
			}
			if got := h.stopContacts("a", adminA); len(got) != 1 || got["79123456789"] != "api" {
				t.Fatalf("after b's attempts a's stop list = %v", got)
			}
			if got := h.stopContacts("b", adminB); len(got) != 0 {
				t.Fatalf("b's stop list = %v", got)
			}

			// The guest's side: the link in an e-mail, in the guest's language.
			link := h.main.Unsubscribe.URL("a", "Anna@Guest.example", "ru")
			if !strings.HasPrefix(link, h.url+"/unsubscribe/") {
				t.Fatalf("link %q is not on %s", link, h.url)
			}
			tok := strings.TrimPrefix(strings.SplitN(link, "?", 2)[0], h.url+"/unsubscribe/")
			tampered := []string{
				h.url + "/unsubscribe/" + tok[:len(tok)-2] + flip(tok[len(tok)-2:]),
				h.url + "/unsubscribe/" + flip(tok[:2]) + tok[2:],
				h.url + "/unsubscribe/" + strings.Replace(tok, ".", "", 1),
				h.url + "/unsubscribe/x",
				h.url + "/unsubscribe/" + strings.Repeat("A", 5000),
			}
			for _, bad := range tampered {
				for _, method := range []string{"GET", "POST"} {
					status, body := guestPage(t, method, bad, "List-Unsubscribe=One-Click")
					if status != 404 || !strings.Contains(body, "not valid") {
						t.Errorf("%s a changed link = %d %q, want the 404 page", method, status, body)
					}
				}
			}
			status, body := guestPage(t, "GET", link, "")
			if status != 200 || !strings.Contains(body, "Отписаться") || !strings.Contains(body, "anna@guest.example") || !strings.Contains(body, "Hotel a") {
				t.Fatalf("GET the link = %d %s", status, body)
			}
			if got := h.stopContacts("a", adminA); len(got) != 1 {
				t.Fatalf("opening the page changed the stop list: %v", got)
			}
			// The mail client's one-click POST (RFC 8058).
			status, body = guestPage(t, "POST", link, "List-Unsubscribe=One-Click")
			if status != 200 || !strings.Contains(body, "Готово") {
				t.Fatalf("POST the link = %d %s", status, body)
			}
			if got := h.stopContacts("a", adminA); len(got) != 2 || got["anna@guest.example"] != "unsubscribe_link" {
				t.Fatalf("after the link a's stop list = %v", got)
			}
			if got := h.stopContacts("b", adminB); len(got) != 0 {
				t.Fatalf("a's link changed b's stop list: %v", got)
			}
			// Again: already done, in English for an English browser without the hint.
			req, _ := http.NewRequest("GET", strings.SplitN(link, "?", 2)[0], nil)
			req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(raw), "already unsubscribed") || strings.Contains(string(raw), `id="unsubscribe"`) {
				t.Fatalf("GET the link again = %d %s", res.StatusCode, raw)
			}
			// The manager can take the guest off again; a link of a property that is gone is
			// not found.
			h.must(204, "DELETE", sl+"anna@guest.example", adminA, nil)
			if status, _ := guestPage(t, "POST", h.main.Unsubscribe.URL("gone", "anna@guest.example", ""), ""); status != 404 {
				t.Fatalf("a link of no property = %d, want 404", status)
			}
			if strings.Contains(h.logs.String(), tok) {
				t.Fatal("the logs carry an unsubscribe token")
			}
		})
	}
}

// flip changes every character of s to another of the base64url alphabet.
func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// TestUnsubscribedEmailFallsThrough on both databases: a welcome sent by e-mail through the
// SMTP sandbox carries List-Unsubscribe and List-Unsubscribe-Post and a visible line in the
// guest's language; a changed link changes nothing; following the link (the mail client's
// one-click POST) puts the address on the stop list; the guest's next mailing skips e-mail
// with opted_out and goes out on the mailing's next channel, WhatsApp through IntellectDialog.
func TestUnsubscribedEmailFallsThrough(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			// Bellhop's public address is https, as RFC 8058 asks, behind a TLS proxy that
			// this test stands in for by following the links on the API's own address.
			const public = "https://bellhop.test"
			h := start(t, db(t), fastPacing, func(m *app.Main) {
				var err error
				if m.Unsubscribe, err = email.NewLinks(public, m.Config.SecretKey); err != nil {
					t.Fatal(err)
				}
			})
			admin, local := h.activeProperty("p1")
			base := "/api/v1/properties/p1"
			_, _, mail := channelSandboxes(t)
			user, pass := mail.Credentials()
			port, _ := strconv.Atoi(mail.Addr()[strings.LastIndex(mail.Addr(), ":")+1:])
			h.must(200, "PUT", base+"/integrations/email", admin, map[string]any{"host": mail.Host(), "port": port, "security": "none",
				"username": user, "password": pass, "from_address": "reception@aurora-hotel.example", "from_name": "Hotel Aurora"})
			h.must(200, "POST", base+"/integrations/email/check", admin, nil)
			h.must(200, "POST", base+"/integrations/email/activate", admin, nil)
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true, "sending_methods": []string{"email", "intellectdialog"}})

			now, tomorrow := time.Now(), local.AddDate(0, 0, 1)
			withEmail := func(b map[string]any) map[string]any {
				b["guest"].(map[string]any)["email"] = "Anna.Petrova@Guest.example"
				return b
			}
			d1 := deliveryOf(h.must(201, "PUT", base+"/bookings/b1", h.service, withEmail(booking(tomorrow, 2, "+79123456789", "ru", now))), "welcome")
			sent := h.waitDelivery("p1", admin, d1["id"].(string), "sent by e-mail", func(d map[string]any) bool {
				return d["status"] == "sent" && d["channel"] == "email"
			})
			msgs := mail.Messages()
			if len(msgs) != 1 || len(h.sandbox.Messages()) != 0 {
				t.Fatalf("e-mails %d, WhatsApp messages %d; want the welcome by e-mail alone (%v)", len(msgs), len(h.sandbox.Messages()), sent)
			}
			m := msgs[0]
			lu := strings.TrimSpace(m.Header.Get("List-Unsubscribe"))
			if !strings.HasPrefix(lu, "<"+public+"/unsubscribe/") || !strings.HasSuffix(lu, ">") {
				t.Fatalf("List-Unsubscribe = %q", lu)
			}
			if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Fatalf("List-Unsubscribe-Post = %q", got)
			}
			shown := strings.Trim(lu, "<>")
			if !strings.Contains(m.Text, "отпишитесь здесь: "+shown) || !strings.Contains(m.HTML, `href="`+html.EscapeString(shown)+`"`) {
				t.Fatalf("no visible unsubscribe line in Russian:\n%s\n%s", m.Text, m.HTML)
			}
			link := h.url + strings.TrimPrefix(shown, public)

			tok := strings.TrimPrefix(strings.SplitN(link, "?", 2)[0], h.url+"/unsubscribe/")
			if status, _ := guestPage(t, "POST", h.url+"/unsubscribe/"+flip(tok[:3])+tok[3:], "List-Unsubscribe=One-Click"); status != 404 {
				t.Fatalf("a changed link = %d, want 404", status)
			}
			if got := h.stopContacts("p1", admin); len(got) != 0 {
				t.Fatalf("a changed link listed %v", got)
			}
			if status, body := guestPage(t, "POST", link, "List-Unsubscribe=One-Click"); status != 200 {
				t.Fatalf("one-click unsubscribe = %d %s", status, body)
			}
			if got := h.stopContacts("p1", admin); len(got) != 1 || got["anna.petrova@guest.example"] != "unsubscribe_link" {
				t.Fatalf("after the link the stop list = %v", got)
			}

			// The guest's next stay: e-mail is skipped as opted out, WhatsApp sends.
			d2 := deliveryOf(h.must(201, "PUT", base+"/bookings/b2", h.service, withEmail(booking(tomorrow, 3, "+79123450000", "ru", now))), "welcome")
			next := h.waitDelivery("p1", admin, d2["id"].(string), "sent on the next channel", func(d map[string]any) bool {
				return d["channel"] == "intellectdialog" && (d["status"] == "sent" || d["status"] == "delivered" || d["status"] == "read")
			})
			skipped := false
			for _, a := range next["attempts"].([]any) {
				a := a.(map[string]any)
				if a["channel"] == "email" {
					skipped = a["status"] == "skipped" && a["reason"] == "opted_out"
				}
			}
			if !skipped {
				t.Fatalf("the e-mail attempt is not skipped as opted_out: %v", next["attempts"])
			}
			if n := len(mail.Messages()); n != 1 {
				t.Fatalf("%d e-mails after unsubscribing, want the first one only", n)
			}
			if wa := h.sandbox.Messages(); len(wa) != 1 || wa[0].Phone != "+79123450000" {
				t.Fatalf("WhatsApp got %+v, want the second welcome", wa)
			}
		})
	}
}
