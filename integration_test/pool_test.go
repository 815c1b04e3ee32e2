package integration_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSenderPool: a mailing sent through a pool of the sandbox's two WhatsApp numbers spreads
// its guests over both, keeps each guest on the number that first sent to them, and when one
// number is banned, sends new guests from the other — nothing lost.
func TestSenderPool(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t), fastPacing)
			admin, local := h.connectedProperty("pool")
			base := "/api/v1/properties/pool"

			// Bad choices are named.
			r := h.must(422, "PUT", base+intg+"/sender", admin, map[string]any{"sender_ids": []string{"1", "99"}})
			if !strings.Contains(r.Raw, `"field":"sender_ids"`) || !strings.Contains(r.Raw, `\"99\"`) {
				t.Errorf("an unknown sender in the pool: %s", r.Raw)
			}
			h.must(422, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1", "sender_ids": []string{"2"}})
			h.must(422, "PUT", base+intg+"/sender", admin, map[string]any{"sender_ids": []string{"1", "1"}})

			r = h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_ids": []string{"1", "2"}})
			if pool, _ := r.Body["pool"].([]any); len(pool) != 2 {
				t.Fatalf("the integration's pool: %s", r.Raw)
			}
			if r := h.must(200, "GET", base+intg, admin, nil); len(r.Body["pool"].([]any)) != 2 {
				t.Fatalf("the integration view has no pool: %s", r.Raw)
			}
			h.must(200, "POST", base+intg+"/activate", admin, nil)
			c := h.pageClient()
			c.signInWithLink(h.signInLink("pool"))
			if p := c.get("/p/pool"); !strings.Contains(p.Body, `class="hint pool"`) || !strings.Contains(p.Body, "79990000002)</li>") {
				t.Errorf("the Channels page does not show the pool:\n%s", p.Body)
			}
			h.sandbox.SetSpacing("1", 150*time.Millisecond)
			h.sandbox.SetSpacing("2", 150*time.Millisecond)
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})

			// from returns the number each of the guests' welcomes went from, once all went.
			from := func(bookings []string) map[string]string {
				t.Helper()
				out := map[string]string{}
				for _, bid := range bookings {
					d := deliveryOf(h.must(200, "GET", base+"/bookings/"+bid, h.service, nil), "welcome")
					got := h.waitDelivery("pool", admin, d["id"].(string), "sent", func(d map[string]any) bool {
						return d["status"] == "sent" || d["status"] == "delivered" || d["status"] == "read"
					})
					out[bid] = got["sender_id"].(string)
				}
				return out
			}
			now := time.Now()
			var first []string
			for i := range 16 {
				bid := fmt.Sprintf("g%d", i)
				h.must(201, "PUT", base+"/bookings/"+bid, h.service, booking(local, 2, fmt.Sprintf("+7912555%04d", i), "en", now))
				first = append(first, bid)
			}
			numbers := from(first)
			spread := map[string]int{}
			for _, n := range numbers {
				spread[n]++
			}
			if spread["1"] == 0 || spread["2"] == 0 || spread["1"]+spread["2"] != 16 {
				t.Fatalf("16 guests over the pool: %v, want both numbers used", spread)
			}

			// Four of them book another stay: each hears from the same number again.
			var again []string
			for i := range 4 {
				bid := fmt.Sprintf("g%d-again", i)
				h.must(201, "PUT", base+"/bookings/"+bid, h.service, booking(local, 1, fmt.Sprintf("+7912555%04d", i), "en", now))
				again = append(again, bid)
			}
			for bid, n := range from(again) {
				if was := numbers[strings.TrimSuffix(bid, "-again")]; n != was {
					t.Errorf("%s went from %s, the guest's first message from %s", bid, n, was)
				}
			}

			// Number 1 is banned by the provider at its next message: new guests go from 2.
			h.sandbox.SetSpacing("1", time.Hour)
			var later []string
			for i := range 8 {
				bid := fmt.Sprintf("n%d", i)
				h.must(201, "PUT", base+"/bookings/"+bid, h.service, booking(local, 2, fmt.Sprintf("+7912666%04d", i), "en", now))
				later = append(later, bid)
			}
			for bid, n := range from(later) {
				if n != "2" {
					t.Errorf("new guest %s went from %s after 1 was banned, want 2", bid, n)
				}
			}
			if !h.sandbox.Banned("1") {
				t.Error("number 1 was never banned: no new guest was meant for it, so the test proved nothing")
			}
			for _, m := range h.sandbox.Messages() {
				if m.SenderID == "1" && strings.HasPrefix(m.Phone, "+7912666") {
					t.Errorf("the banned number took a new guest's message: %+v", m)
				}
			}
		})
	}
}
