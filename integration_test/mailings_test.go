package integration_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
)

// afternoonZone returns a fixed-offset IANA zone ("Etc/GMT-3" is UTC+3) where it is now
// between 13:00 and 19:00: the welcome's 12:00 has passed and the quiet hours (21–09) are far,
// so a late booking's welcome goes out at once while the test runs on the real clock.
func afternoonZone(now time.Time) (zone string, local time.Time) {
	for off := -12; off <= 14; off++ {
		l := now.UTC().Add(time.Duration(off) * time.Hour)
		if h := l.Hour(); h >= 13 && h < 19 {
			name := "Etc/GMT"
			switch {
			case off > 0:
				name += fmt.Sprintf("-%d", off)
			case off < 0:
				name += fmt.Sprintf("+%d", -off)
			}
			loc, err := time.LoadLocation(name)
			if err != nil {
				panic(err)
			}
			return name, now.In(loc)
		}
	}
	panic("no afternoon zone")
}

// fastPacing makes one sender's messages 200 ms apart (the sandbox bans under 150 ms).
// fastPacing spaces sends 200 ms apart, and bounds a provider call by 2 s: an attempt whose
// outcome is unknown is looked up in the provider's listing 2 s after it ended, and again 2 s
// later, before it may go again.
func fastPacing(m *app.Main) {
	m.Config.SendInterval = 200 * time.Millisecond
	m.Config.SendTimeout = 2 * time.Second
}

// activeProperty creates a property in an afternoon zone with the sandbox integration active
// and returns its admin token and local "now".
func (h *harness) activeProperty(id string) (admin string, local time.Time) {
	h.t.Helper()
	admin, local = h.connectedProperty(id)
	h.must(200, "POST", "/api/v1/properties/"+id+intg+"/activate", admin, nil)
	h.sandbox.SetSpacing("1", 150*time.Millisecond)
	return admin, local
}

// connectedProperty is activeProperty short of activation: the key checked, sender 1 chosen.
func (h *harness) connectedProperty(id string) (admin string, local time.Time) {
	h.t.Helper()
	zone, local := afternoonZone(time.Now())
	h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
		"id": id, "name": "Hotel " + id, "time_zone": zone, "country": "RU", "language": "en", "contact_center": true,
	})
	admin = h.cli("token", "create", "--property", id, "--role", "admin")
	base := "/api/v1/properties/" + id
	h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
	h.must(200, "POST", base+intg+"/check", admin, nil)
	h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1"})
	return admin, local
}

func booking(arrival time.Time, nights int, phone, lang string, updated time.Time) map[string]any {
	return map[string]any{
		"status": "confirmed", "guarantee": "guaranteed",
		"arrival": arrival.Format("2006-01-02"), "departure": arrival.AddDate(0, 0, nights).Format("2006-01-02"),
		"created_at": updated.UTC().Format(time.RFC3339), "updated_at": updated.UTC().Format(time.RFC3339),
		"guest": map[string]any{"name": "Анна Петрова", "phone": phone, "language": lang},
	}
}

// waitDelivery polls a delivery until cond holds (the worker and the provider's callbacks run
// on their own) or fails after a deadline.
func (h *harness) waitDelivery(pid, token, id string, what string, cond func(map[string]any) bool) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.must(200, "GET", "/api/v1/properties/"+pid+"/deliveries/"+id, token, nil)
		if cond(r.Body) {
			return r.Body
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("delivery %s never became %s: %s\nlogs:\n%s", id, what, r.Raw, grepLines(grepLines(h.logs.String(), id), `"delivery"`))
		}
		time.Sleep(50 * time.Millisecond) // polling for another process's progress, not a fixed wait
	}
}

func status(s string) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["status"] == s }
}

func deliveryOf(r response, kind string) map[string]any {
	list, _ := r.Body["deliveries"].([]any)
	for _, d := range list {
		if d := d.(map[string]any); d["kind"] == kind {
			return d
		}
	}
	return nil
}

// TestMailingsEndToEnd follows bookings from the PMS to the guest's phone on both databases:
// intake, the default mailings, enabling, the paced send with its mark, the provider's status
// callbacks, one message per stay, re-planning, cancelling, disabling, failures and retry —
// with no staff linked to any operator at all.
func TestMailingsEndToEnd(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t), fastPacing)
			admin, local := h.activeProperty("p1")
			base := "/api/v1/properties/p1"
			now := time.Now()
			tomorrow := local.AddDate(0, 0, 1)

			// No mapping: mailings do not depend on it.
			if got := linked(h.must(200, "GET", base+"/mapping", admin, nil)); got != "" {
				t.Fatalf("this test runs without staff or links, got %q", got)
			}

			// The three mailings exist, disabled, with texts in four languages.
			r := h.must(200, "GET", base+"/mailings", admin, nil)
			ms, _ := r.Body["mailings"].([]any)
			if len(ms) != 3 {
				t.Fatalf("mailings after activation = %s", r.Raw)
			}
			for _, m := range ms {
				m := m.(map[string]any)
				tpl, _ := m["templates"].(map[string]any)
				if m["enabled"] != false || len(tpl) != 4 || tpl["ru"] == nil || tpl["de"] == nil || tpl["es"] == nil {
					t.Errorf("default mailing = %v", m)
				}
			}
			if r := h.must(200, "GET", base+"/mailings?sending_method=other", admin, nil); len(r.Body["mailings"].([]any)) != 0 {
				t.Errorf("sending_method filter kept %s", r.Raw)
			}

			// Input mistakes are named.
			r = h.must(422, "PATCH", base+"/mailings/welcome", admin, map[string]any{"templates": map[string]any{"en": "Hi {guest_nmae}!"}})
			if !strings.Contains(r.Raw, "{guest_nmae}") || !strings.Contains(r.Raw, `"field":"templates.en"`) {
				t.Fatalf("unknown placeholder = %s", r.Raw)
			}
			r = h.must(422, "PUT", base+"/bookings/bad", h.service, booking(tomorrow, 2, "12", "ru", now))
			if !strings.Contains(r.Raw, `"field":"guest.phone"`) {
				t.Fatalf("impossible phone = %s", r.Raw)
			}
			h.must(404, "PATCH", base+"/mailings/birthday", admin, map[string]any{"enabled": true})

			// A booking for tomorrow arrives while welcome is off: nothing planned.
			r = h.must(201, "PUT", base+"/bookings/b1", h.service, booking(tomorrow, 2, "8 (912) 345-67-89", "ru", now))
			if g := r.Body["booking"].(map[string]any)["guest"].(map[string]any); g["phone"] != "+79123456789" {
				t.Fatalf("phone not normalised to E.164: %s", r.Raw)
			}
			if d := deliveryOf(r, "welcome"); d != nil {
				t.Fatalf("a disabled mailing planned %v", d)
			}
			// The same room booked twice for one guest: one welcome only.
			h.must(201, "PUT", base+"/bookings/b2", h.service, booking(tomorrow, 2, "+79123456789", "ru", now))

			// Enabling plans the existing bookings: already past 12:00 the day before → now.
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
			b1 := deliveryOf(h.must(200, "GET", base+"/bookings/b1", h.service, nil), "welcome")
			b2 := deliveryOf(h.must(200, "GET", base+"/bookings/b2", h.service, nil), "welcome")
			if b1 == nil || b2 == nil {
				t.Fatal("enabling welcome did not plan the bookings")
			}
			settled := func(d map[string]any) bool { return d["status"] == "read" || d["status"] == "skipped" }
			sent := h.waitDelivery("p1", admin, b1["id"].(string), "read or skipped", settled)
			other := h.waitDelivery("p1", admin, b2["id"].(string), "read or skipped", settled)
			if sent["status"] == "skipped" {
				sent, other = other, sent // either room may be first; the other is the duplicate
			}
			if sent["status"] != "read" || other["status"] != "skipped" || other["reason"] != "duplicate_phone" {
				t.Fatalf("two rooms of one stay: %v and %v; want one read, one skipped duplicate_phone", sent, other)
			}
			dupBooking := other["booking_id"].(string)
			if sent["provider_message_id"] == "" || sent["attempt_count"] != float64(1) {
				t.Fatalf("sent delivery = %v", sent)
			}
			msgs := h.sandbox.Messages()
			if len(msgs) != 1 || msgs[0].Mark != sent["id"] || msgs[0].Phone != "+79123456789" {
				t.Fatalf("sandbox got %+v, want one message marked %s", msgs, sent["id"])
			}
			if !strings.Contains(msgs[0].Text, "Анна Петрова") || !strings.Contains(msgs[0].Text, "Hotel p1") || !strings.Contains(msgs[0].Text, "Здравствуйте") {
				t.Fatalf("the guest's language (ru) and names are not in the text: %q", msgs[0].Text)
			}

			// A booking far ahead is planned at 12:00 local the day before; a newer change
			// moves it, an older push is ignored, a cancellation cancels it.
			far := local.AddDate(0, 0, 10)
			r = h.must(201, "PUT", base+"/bookings/b3", h.service, booking(far, 3, "+4915123456789", "de", now))
			d3 := deliveryOf(r, "welcome")
			wantAt := time.Date(far.Year(), far.Month(), far.Day()-1, 12, 0, 0, 0, far.Location())
			if at, _ := time.Parse(time.RFC3339, d3["planned_at"].(string)); !at.Equal(wantAt) || d3["status"] != "scheduled" {
				t.Fatalf("b3 welcome = %v, want scheduled at %v", d3, wantAt)
			}
			r = h.must(200, "PUT", base+"/bookings/b3", h.service, booking(far.AddDate(0, 0, 1), 3, "+4915123456789", "de", now.Add(time.Minute)))
			moved := deliveryOf(r, "welcome")
			if at, _ := time.Parse(time.RFC3339, moved["planned_at"].(string)); !at.Equal(wantAt.AddDate(0, 0, 1)) || moved["version"] != float64(2) {
				t.Fatalf("moved b3 welcome = %v, want a day later at version 2", moved)
			}
			r = h.must(200, "PUT", base+"/bookings/b3", h.service, booking(far, 3, "+4915123456789", "de", now.Add(-time.Hour)))
			if r.Body["ignored"] != true || deliveryOf(r, "welcome")["version"] != float64(2) {
				t.Fatalf("an older push changed the booking: %s", r.Raw)
			}
			r = h.must(200, "DELETE", base+"/bookings/b3", h.service, nil)
			if d := deliveryOf(r, "welcome"); d["status"] != "cancelled" || d["reason"] != "booking_cancelled" {
				t.Fatalf("cancelled booking's welcome = %v", d)
			}

			// Preview: who gets what, when, from which sender.
			h.must(201, "PUT", base+"/bookings/b4", h.service, booking(far, 2, "+34612345678", "es", now))
			r = h.must(200, "GET", base+"/mailings/preview?days=30", admin, nil)
			if !strings.Contains(r.Raw, `"booking_id":"b4"`) || !strings.Contains(r.Raw, "Reception (+79990000001)") || strings.Contains(r.Raw, `"booking_id":"b3"`) {
				t.Fatalf("preview = %s", r.Raw)
			}
			h.must(422, "GET", base+"/mailings/preview?days=0", admin, nil)

			// A new send time moves what is planned; a bad one is named.
			r = h.must(422, "PATCH", base+"/mailings/welcome", admin, map[string]any{"schedule": map[string]any{"send_time": "25:00"}})
			if !strings.Contains(r.Raw, `"field":"schedule.send_time"`) {
				t.Fatalf("bad send time = %s", r.Raw)
			}
			r = h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"schedule": map[string]any{"send_time": "15:30"}})
			if sch := r.Body["schedule"].(map[string]any); sch["send_time"] != "15:30" || sch["quiet_start"] != "21:00" {
				t.Fatalf("schedule after changing the send time = %v, want the rest kept", sch)
			}
			d4 := deliveryOf(h.must(200, "GET", base+"/bookings/b4", h.service, nil), "welcome")
			want4 := time.Date(far.Year(), far.Month(), far.Day()-1, 15, 30, 0, 0, far.Location())
			if at, _ := time.Parse(time.RFC3339, d4["planned_at"].(string)); !at.Equal(want4) {
				t.Fatalf("b4 welcome after the new send time = %v, want %v", d4["planned_at"], want4)
			}
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"schedule": map[string]any{"send_time": "12:00"}})

			// Disabling cancels what is pending.
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": false})
			if d := deliveryOf(h.must(200, "GET", base+"/bookings/b4", h.service, nil), "welcome"); d["status"] != "cancelled" || d["reason"] != "mailing_disabled" {
				t.Fatalf("b4 welcome after disabling = %v", d)
			}

			// The provider refuses a message: failed without retry; a retry sends it.
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
			h.sandbox.SetOutage(http.StatusBadRequest)
			r = h.must(201, "PUT", base+"/bookings/b5", h.service, booking(tomorrow, 1, "+447911123456", "en", now))
			id5 := deliveryOf(r, "welcome")["id"].(string)
			failed := h.waitDelivery("p1", admin, id5, "failed", status("failed"))
			if !strings.HasPrefix(failed["reason"].(string), "provider_rejected") {
				t.Fatalf("refused message = %v", failed)
			}
			h.sandbox.SetOutage(0)
			h.must(409, "POST", base+"/deliveries/"+sent["id"].(string)+"/retry", admin, nil)
			h.must(200, "POST", base+"/deliveries/"+id5+"/retry", admin, nil)
			h.waitDelivery("p1", admin, id5, "sent", func(d map[string]any) bool { return d["sent_at"] != nil })

			// The ledger's filters.
			r = h.must(200, "GET", base+"/deliveries?status=skipped&kind=welcome", admin, nil)
			if list := r.Body["deliveries"].([]any); len(list) != 1 || list[0].(map[string]any)["booking_id"] != dupBooking {
				t.Fatalf("skipped welcomes = %s", r.Raw)
			}
			h.must(422, "GET", base+"/deliveries?status=lost", admin, nil)

			// Nothing was banned, and no two messages came closer than the pacing.
			for _, st := range h.sandbox.Stats() {
				if st.Banned || len(st.Violations) > 0 {
					t.Fatalf("sandbox banned a sender: %+v", st)
				}
			}

			// Another property sees none of it; callbacks need the integration's secret.
			other2 := h.property("p2", true)
			for _, path := range []string{"/deliveries/" + id5, "/bookings/b1"} {
				h.must(404, "GET", base+path, other2, nil)
			}
			h.must(404, "POST", base+"/deliveries/"+id5+"/retry", other2, nil)
			h.must(404, "POST", "/api/v1/properties/p2/deliveries/"+id5+"/retry", other2, nil)
			h.must(404, "POST", "/webhooks/intellectdialog/p1?secret=wrong", "", `{"event":"new_status","data":{"mark":"`+id5+`","status":"failed"}}`)
		})
	}
}

// grepLines keeps the lines of s that contain sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
