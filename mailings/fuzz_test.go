package mailings_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

// FuzzBookingIntake: whatever body the PMS pushes, decoding, intake and planning never panic;
// the push is either refused as invalid_input naming a field (a 422), or gives a booking the
// store can hold and every mailing can plan. Seeds: testdata/fuzz/FuzzBookingIntake.
func FuzzBookingIntake(f *testing.F) {
	p := property("Europe/Moscow")
	now := utc("2026-11-21T10:00:05Z")
	f.Fuzz(func(t *testing.T, body []byte) {
		var in mailings.BookingInput
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&in) != nil {
			return // the API answers 422 for a body it cannot decode
		}
		b := in.Booking("B-1")
		b.PropertyID = p.ID
		if err := mailings.Intake(nil, b, p, now); err != nil {
			var e *bellhop.Error
			if !errors.As(err, &e) || e.Code != bellhop.EInvalid || len(e.Fields) == 0 {
				t.Fatalf("Intake refused with %v, want invalid_input naming fields", err)
			}
			for _, fe := range e.Fields {
				if fe.Field == "" || fe.Message == "" {
					t.Fatalf("a field error without a field or a message: %+v", e.Fields)
				}
			}
			if len(e.Message) > 4000 {
				t.Fatalf("the error is %d bytes long: a value was echoed whole", len(e.Message))
			}
			return
		}
		if err := b.ValidateAt(now); err != nil {
			t.Fatalf("Intake accepted a booking that does not validate: %v", err)
		}
		if err := bellhop.CheckText(b); err != nil {
			t.Fatalf("Intake accepted text the store cannot hold: %v", err)
		}
		if !strings.HasPrefix(b.Guest.Phone, "+") || strings.Trim(b.Guest.Phone[1:], "0123456789") != "" {
			t.Fatalf("phone %q is not E.164", b.Guest.Phone)
		}
		for _, m := range mailings.Defaults(p.ID, "intellectdialog") {
			m.Enabled = true
			d := mailings.Plan(&m, &p, b, now)
			if (d.Skip == "") == d.At.IsZero() {
				t.Fatalf("%s: decision %+v sets both or neither of At and Skip", m.Kind, d)
			}
			if d.Skip == "" && d.At.Before(now) {
				t.Fatalf("%s: planned at %v, before now %v", m.Kind, d.At, now)
			}
			msg, ok := mailings.Compose(&m, &p, b)
			if !ok || !utf8.ValidString(msg.Text) {
				t.Fatalf("%s: composed %q, %v", m.Kind, msg.Text, ok)
			}
		}
	})
}

// wordInBraces is what a template's author would take for a placeholder.
var wordInBraces = regexp.MustCompile(`\{[\p{L}\p{N}_ -]{1,40}\}`)

// FuzzTemplate: template checking and rendering never panic, whatever the text and the
// language; a text with an unknown placeholder is refused naming the template, and a text
// that is accepted renders with every placeholder filled in. Seeds: testdata/fuzz/FuzzTemplate.
func FuzzTemplate(f *testing.F) {
	f.Add("Hello {guest_name}, see you on {arrival_date} at {hotel_name}.", "en")
	f.Add("Здравствуйте, {guest_nmae}!", "ru")
	f.Add("{guarantee_deadline} {booking_id} {departure_date}", "de-AT")
	f.Add(`{"json": {braces}} :-{ }`, "zz")
	f.Add("{ {guest_name}} {{hotel_name}{arrival_date", "es")
	b := booking("2026-12-03", "2026-12-05")
	deadline := utc("2026-12-01T15:00:00Z")
	b.GuaranteeDeadline = &deadline
	p := property("Europe/Moscow")
	f.Fuzz(func(t *testing.T, text, lang string) {
		err := mailings.ValidateTemplates(map[string]string{"en": text})
		unknown := slices.ContainsFunc(wordInBraces.FindAllString(text, -1), func(w string) bool {
			return !slices.Contains(mailings.Placeholders(), w)
		})
		if err != nil {
			var e *bellhop.Error
			if !errors.As(err, &e) || e.Code != bellhop.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "templates.en" {
				t.Fatalf("refused with %v, want invalid_input naming templates.en", err)
			}
			if len(e.Message) > 2000 {
				t.Fatalf("the error is %d bytes long: the text was echoed", len(e.Message))
			}
		} else if unknown {
			t.Fatalf("%q has an unknown placeholder but was accepted", text)
		}
		data := mailings.DataFor(&p, &b, lang)
		out := mailings.Render(text, data)
		// Render scans for braces; the expression finds the same placeholders.
		want := wordInBraces.ReplaceAllStringFunc(text, func(w string) string {
			if slices.Contains(mailings.Placeholders(), w) {
				return mailings.Render(w, data)
			}
			return w
		})
		if out != want {
			t.Fatalf("Render(%q) = %q, the expression's placeholders filled in give %q", text, out, want)
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("Render(%q) = %q: not UTF-8", text, out)
		}
		if err == nil {
			for _, ph := range mailings.Placeholders() {
				if strings.Contains(out, ph) {
					t.Fatalf("Render(%q) = %q left %s", text, out, ph)
				}
			}
		}
		m := bellhop.Mailing{Kind: bellhop.Welcome, Templates: map[string]string{"en": text}}
		guest := b
		guest.Guest.Language = lang
		mailings.Compose(&m, &p, &guest)
	})
}
