package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/mailings"
)

// invalidField asserts err is invalid_input naming exactly field, and returns it.
func invalidField(t *testing.T, err error, field string) *bellhop.Error {
	t.Helper()
	var e *bellhop.Error
	if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
		t.Fatalf("error = %v, want invalid_input", err)
	}
	if len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("fields = %+v (%s), want one naming %q", e.Fields, e.Message, field)
	}
	return e
}

func decodeBody(body string, v any, limit int64) error {
	r := httptest.NewRequest(http.MethodPut, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decodeMax(httptest.NewRecorder(), r, v, limit)
}

const validBooking = `{"arrival":"2026-12-03","departure":"2026-12-05","updated_at":"2026-11-21T10:00:00Z",
	"guest":{"name":"Анна","phone":"+79123456789"}}`

// TestDecodeNamesTheField: case 5 and 7 of issue 11 — text the database cannot hold, and
// times it cannot read, are refused naming the field, in a short answer.
func TestDecodeNamesTheField(t *testing.T) {
	long := strings.Repeat("9", 60<<10)
	cases := []struct {
		name, body string
		into       func() any
		field      string
		mention    string
	}{
		{"NUL in the guest's name", strings.Replace(validBooking, "Анна", `a\u0000b`, 1), booking, "guest.name", "NUL"},
		{"stray byte in the guest's name", strings.Replace(validBooking, "Анна", "a\xffb", 1), booking, "guest.name", "UTF-8"},
		{"stray byte in a member name", "{\"guest\":{\"na\xc3me\":\"A\"}}", booking, "guest", "UTF-8"},
		{"NUL in a template", `{"templates":{"en":"Hi\u0000 {guest_name}"}}`, mailingPatch, "templates.en", "NUL"},
		{"NUL in an API key", `{"api_key":"k\u0000"}`, func() any { return &connector.KeyInput{} }, "api_key", "NUL"},
		{"a word for a time", strings.Replace(validBooking, "2026-11-21T10:00:00Z", "yesterday", 1), booking, "updated_at", "2026-11-21T10:00:00Z"},
		{"a number for a time", `{"created_at":5}`, booking, "created_at", "must be a time"},
		{"a bad deadline", `{"guarantee_deadline":"soon"}`, booking, "guarantee_deadline", "must be a time"},
		{"a bad date", `{"arrival":"2026-02-30"}`, booking, "arrival", "2026-12-03"},
		{"a long bad time", `{"updated_at":"` + long + `"}`, booking, "updated_at", "must be a time"},
		{"a long unknown field", `{"` + long + `":1}`, booking, strings.Repeat("9", 60) + "…", "not a known field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := invalidField(t, decodeBody(c.body, c.into(), maxMailingBody), c.field)
			if !strings.Contains(e.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", e.Error(), c.mention)
			}
			if len(e.Error()) > 300 {
				t.Errorf("error is %d bytes long: %.100q…", len(e.Error()), e.Error())
			}
		})
	}
}

func booking() any      { return &mailings.BookingInput{} }
func mailingPatch() any { return &mailings.MailingPatch{} }

func TestDecodeRefusesBodies(t *testing.T) {
	cases := []struct {
		name, body string
		limit      int64
		mention    string
	}{
		{"too large", `{"guest":{"name":"` + strings.Repeat("a", 70<<10) + `"}}`, maxBookingBody, "at most 64 KiB"},
		{"not UTF-8 and not JSON", "\xff\xfe{", maxJSONBody, "not valid UTF-8"},
		{"empty", "", maxJSONBody, "empty"},
		{"two objects", `{}{}`, maxJSONBody, "one JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := decodeBody(c.body, &mailings.BookingInput{}, c.limit)
			if bellhop.ErrorCode(err) != bellhop.EInvalid || !strings.Contains(bellhop.ErrorMessage(err), c.mention) {
				t.Fatalf("error = %v, want invalid_input mentioning %q", err, c.mention)
			}
		})
	}
	var in mailings.BookingInput
	if err := decodeBody(validBooking, &in, maxBookingBody); err != nil || in.Guest.Name != "Анна" {
		t.Fatalf("a good booking: %v, %+v", err, in)
	}
}

// TestNumericParameters: every whole-number query parameter is range-checked and named.
func TestNumericParameters(t *testing.T) {
	for _, c := range []struct {
		query string
		want  int
		bad   bool
	}{
		{"", 7, false}, {"days=1", 1, false}, {"days=90", 90, false},
		{"days=0", 0, true}, {"days=91", 0, true}, {"days=abc", 0, true}, {"days=1000000000000000000000", 0, true},
	} {
		q, _ := url.ParseQuery(c.query)
		n, err := intParam(q, "days", 1, 90, 7)
		if c.bad {
			e := invalidField(t, err, "days")
			if !strings.Contains(e.Message, "from 1 to 90") {
				t.Errorf("%s: %v", c.query, err)
			}
			continue
		}
		if err != nil || n != c.want {
			t.Errorf("%s = %d, %v; want %d", c.query, n, err, c.want)
		}
	}
}

func TestRequestTextIsChecked(t *testing.T) {
	for _, c := range []struct {
		target string
		field  string // "" for a path refused as a whole
		ok     bool
	}{
		{"/api/v1/properties/p1/deliveries?booking=b1&limit=5", "", true},
		{"/api/v1/properties/p1/deliveries?booking=b%00", "booking", false},
		{"/api/v1/properties/p1/mapping-changes?staff_id=%FF", "staff_id", false},
		{"/api/v1/properties/p%001/bookings/b1", "", false},
	} {
		err := checkRequestText(httptest.NewRequest(http.MethodGet, c.target, nil))
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.target, err)
		case c.ok:
		case c.field != "":
			invalidField(t, err, c.field)
		case bellhop.ErrorCode(err) != bellhop.EInvalid:
			t.Errorf("%s: %v, want invalid_input", c.target, err)
		}
	}
}
