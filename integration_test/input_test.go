package integration_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fieldsOf returns the fields an error answer names, in order.
func fieldsOf(r response) []string {
	e, _ := r.Body["error"].(map[string]any)
	list, _ := e["fields"].([]any)
	var out []string
	for _, f := range list {
		if f, ok := f.(map[string]any); ok {
			s, _ := f["field"].(string)
			out = append(out, s)
		}
	}
	return out
}

// refused calls and fails the test unless the answer is a 422 naming exactly fields.
func (h *harness) refused(method, path, token string, body any, fields ...string) response {
	h.t.Helper()
	r := h.call(method, path, token, body)
	if r.Status != 422 || r.errCode() != "invalid_input" || strings.Join(fieldsOf(r), " ") != strings.Join(fields, " ") {
		h.t.Fatalf("%s %s = %d %.300s; want 422 naming %v", method, path, r.Status, r.Raw, fields)
	}
	return r
}

// noServerErrors fails the test if any request was answered 5xx.
func (h *harness) noServerErrors() {
	h.t.Helper()
	if l := grepLines(h.logs.String(), `"request failed"`); l != "" {
		h.t.Fatalf("a request failed with a server error:\n%s", l)
	}
}

// TestInputTextRefused (issue 11, case 5): a NUL, which PostgreSQL refuses in text, or bytes
// that are not UTF-8, in any text the API takes are a 422 naming the field, never a 500 and
// never quietly replaced; nothing is stored.
func TestInputTextRefused(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			admin, _ := h.activeProperty("p1")
			base := "/api/v1/properties/p1"
			now := time.Now()
			good := booking(now.AddDate(0, 0, 10), 2, "+79123456789", "ru", now)

			h.refused("POST", "/api/v1/properties", h.service, map[string]any{"id": "p2", "name": "a\x00b", "time_zone": "UTC"}, "name")
			h.must(404, "GET", "/api/v1/properties/p2", h.service, nil)
			h.refused("PATCH", base, h.service, map[string]any{"name": "a\x00b"}, "name")
			h.refused("PUT", base+"/staff/s1", h.service, map[string]any{"name": "a\x00b"}, "name")
			h.refused("PUT", base+"/staff/s1", h.service, "{\"name\":\"Ann\",\"email\":\"a\xff@example.com\"}", "email")
			h.must(404, "GET", base+"/staff/s1", h.service, nil)

			nul := booking(now.AddDate(0, 0, 10), 2, "+79123456789", "ru", now)
			nul["guest"].(map[string]any)["name"] = "a\x00b"
			h.refused("PUT", base+"/bookings/b1", h.service, nul, "guest.name")
			raw, _ := json.Marshal(good)
			stray := strings.Replace(string(raw), "Анна", "\xffАнна", 1)
			r := h.refused("PUT", base+"/bookings/b1", h.service, stray, "guest.name")
			if !strings.Contains(r.errMessage(), "UTF-8") {
				t.Errorf("stray byte = %s", r.Raw)
			}
			h.must(404, "GET", base+"/bookings/b1", h.service, nil)

			h.refused("PATCH", base+"/mailings/welcome", admin, map[string]any{"templates": map[string]any{"en": "Hi\x00 {guest_name}"}}, "templates.en")
			h.refused("PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key\x00"}, "api_key")
			h.refused("GET", base+"/deliveries?booking=b%00", admin, nil, "booking")
			h.refused("GET", base+"/mapping-changes?staff_id=%FF", admin, nil, "staff_id")
			if r := h.call("PUT", base+"/bookings/b%001", h.service, good); r.Status != 422 {
				t.Errorf("a NUL in the path = %d %s", r.Status, r.Raw)
			}
			h.noServerErrors()
		})
	}
}

// TestInputValidatedBeforeNewerWins (issue 11, case 6): a bad push is refused even when it is
// not newer, and an updated_at far ahead cannot win and freeze the booking.
func TestInputValidatedBeforeNewerWins(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			h.property("p1", true)
			path := "/api/v1/properties/p1/bookings/b1"
			now := time.Now().UTC().Truncate(time.Second)
			arrival := now.AddDate(0, 0, 10)
			h.must(201, "PUT", path, h.service, booking(arrival, 2, "+79123456789", "ru", now.Add(-time.Hour)))

			bogus := booking(arrival, 2, "+79123456789", "ru", now.Add(-time.Hour))
			bogus["status"] = "bogus"
			h.refused("PUT", path, h.service, bogus, "status")

			frozen := booking(arrival, 2, "+79123456789", "ru", now)
			frozen["updated_at"] = "9999-12-31T23:59:59Z"
			r := h.refused("PUT", path, h.service, frozen, "updated_at")
			if !strings.Contains(r.errMessage(), "future") {
				t.Errorf("far future = %s", r.Raw)
			}
			ahead := booking(arrival, 2, "+79123456789", "ru", now)
			ahead["created_at"] = now.Add(49 * time.Hour).Format(time.RFC3339)
			h.refused("PUT", path, h.service, ahead, "created_at")

			// A clock a little ahead is fine; a later push still wins.
			r = h.must(200, "PUT", path, h.service, booking(arrival, 3, "+79123456789", "ru", now.Add(time.Hour)))
			if r.Body["ignored"] != false {
				t.Fatalf("a newer push = %s", r.Raw)
			}
			r = h.must(200, "PUT", path, h.service, booking(arrival, 4, "+79123456789", "ru", now.Add(2*time.Hour)))
			if b := r.Body["booking"].(map[string]any); r.Body["ignored"] != false || b["departure"] != arrival.AddDate(0, 0, 4).Format("2006-01-02") {
				t.Fatalf("the booking froze: %s", r.Raw)
			}
			// An older push is still ignored.
			r = h.must(200, "PUT", path, h.service, booking(arrival, 5, "+79123456789", "ru", now))
			if r.Body["ignored"] != true {
				t.Fatalf("an older push = %s", r.Raw)
			}
			h.noServerErrors()
		})
	}
}

// TestInputTimesAndSizes (issue 11, case 7): a bad time names its field in a short answer, a
// huge value is never echoed into the answer or the log, and bodies are capped.
func TestInputTimesAndSizes(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	now := time.Now()
	bk := func(field, value string) map[string]any {
		b := booking(now.AddDate(0, 0, 10), 2, "+79123456789", "ru", now)
		b[field] = value
		return b
	}
	r := h.refused("PUT", base+"/bookings/b1", h.service, bk("updated_at", "yesterday"), "updated_at")
	e := r.Body["error"].(map[string]any)
	if f := e["fields"].([]any)[0].(map[string]any); f["message"] != "must be a time such as 2026-11-21T10:00:00Z" {
		t.Errorf("bad time = %s", r.Raw)
	}
	if strings.Contains(r.Raw, "parsing time") || strings.Contains(r.Raw, "yesterday") {
		t.Errorf("the answer repeats the parser's text: %s", r.Raw)
	}
	h.refused("PUT", base+"/bookings/b1", h.service, bk("guarantee_deadline", "soon"), "guarantee_deadline")
	h.refused("PUT", base+"/bookings/b1", h.service, bk("arrival", "tomorrow"), "arrival")

	// Under the cap: named, short, and not in the log.
	long := strings.Repeat("Z", 60<<10)
	logged := len(h.logs.String())
	r = h.refused("PUT", base+"/bookings/b1", h.service, bk("updated_at", long), "updated_at")
	if len(r.Raw) > 400 {
		t.Errorf("the answer to a 60 KB value is %d bytes", len(r.Raw))
	}
	// Over the cap: refused in plain words.
	r = h.call("PUT", base+"/bookings/b1", h.service, bk("updated_at", strings.Repeat("Z", 900<<10)))
	if r.Status != 422 || !strings.Contains(r.errMessage(), "too large") || len(r.Raw) > 400 {
		t.Errorf("a 900 KB value = %d %.400s", r.Status, r.Raw)
	}
	tpl := strings.Repeat("Y", 900<<10)
	r = h.refused("PATCH", base+"/mailings/welcome", admin, map[string]any{"templates": map[string]any{"en": tpl}}, "templates.en")
	if len(r.Raw) > 400 {
		t.Errorf("the answer to a 900 KB template is %d bytes", len(r.Raw))
	}
	if grown := len(h.logs.String()) - logged; grown > 20<<10 {
		t.Errorf("the log grew by %d bytes for three refused requests", grown)
	}
	if strings.Contains(h.logs.String(), strings.Repeat("Z", 100)) || strings.Contains(h.logs.String(), strings.Repeat("Y", 100)) {
		t.Error("a submitted value reached the log whole")
	}
	h.noServerErrors()
}

// TestInputParametersAndSendingMethod (issue 11, small ones): numeric query parameters are
// range-checked and named; a mailing cannot be sent through a provider Bellhop does not know.
func TestInputParametersAndSendingMethod(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	for _, q := range []struct{ path, param string }{
		{"/mapping-changes?limit=1000000000", "limit"},
		{"/mapping-changes?limit=0", "limit"},
		{"/mapping-changes?limit=ten", "limit"},
		{"/deliveries?limit=1001", "limit"},
		{"/deliveries?limit=-1", "limit"},
		{"/deliveries?limit=1e3", "limit"},
		{"/mailings/preview?days=91", "days"},
		{"/mailings/preview?days=0", "days"},
		{"/mailings/preview?days=week", "days"},
	} {
		r := h.refused("GET", base+q.path, admin, nil, q.param)
		if !strings.Contains(r.errMessage(), "whole number from") {
			t.Errorf("%s = %s", q.path, r.Raw)
		}
	}
	for _, p := range []string{"/mapping-changes?limit=500", "/deliveries?limit=1000", "/mailings/preview?days=90"} {
		h.must(200, "GET", base+p, admin, nil)
	}

	r := h.refused("PATCH", base+"/mailings/welcome", admin, map[string]any{"sending_method": "carrier-pigeon"}, "sending_method")
	if !strings.Contains(r.errMessage(), "intellectdialog") {
		t.Errorf("unknown sending method = %s", r.Raw)
	}
	r = h.must(200, "GET", base+"/mailings/welcome", admin, nil)
	if r.Body["sending_method"] != "intellectdialog" {
		t.Fatalf("the unknown sending method was stored: %s", r.Raw)
	}
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"sending_method": "intellectdialog"})
	h.noServerErrors()
}
