package bellhop_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// designBooking is the booking example of DESIGN.md, as the PMS pushes it.
const designBooking = `{"status":"confirmed","guarantee":"non_guaranteed","guarantee_deadline":"2026-12-01T18:00:00+03:00",
 "arrival":"2026-12-03","departure":"2026-12-05",
 "created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z",
 "guest":{"name":"Анна Петрова","phone":"+7 912 345-67-89","email":"anna@example.com","language":"ru"}}`

func decodeBooking(t *testing.T, s string) bellhop.Booking {
	t.Helper()
	var b bellhop.Booking
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		t.Fatalf("decode booking: %v", err)
	}
	b.ID, b.PropertyID = "B-1", "1042"
	return b
}

func TestBookingDecodesDesignExample(t *testing.T) {
	b := decodeBooking(t, designBooking)
	if err := b.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if b.Arrival != (bellhop.Date{Year: 2026, Month: time.December, Day: 3}) || b.Departure.String() != "2026-12-05" {
		t.Errorf("dates = %v … %v", b.Arrival, b.Departure)
	}
	if b.Guarantee != bellhop.NonGuaranteed || b.Status != bellhop.BookingConfirmed {
		t.Errorf("status/guarantee = %q/%q", b.Status, b.Guarantee)
	}
	if want := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC); b.GuaranteeDeadline == nil || !b.GuaranteeDeadline.Equal(want) {
		t.Errorf("guarantee_deadline = %v, want %v", b.GuaranteeDeadline, want)
	}
	if b.Guest.Name != "Анна Петрова" || b.Guest.Language != "ru" {
		t.Errorf("guest = %+v", b.Guest)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var again bellhop.Booking
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatalf("decode own JSON %s: %v", out, err)
	}
	if again.Arrival != b.Arrival || again.Departure != b.Departure {
		t.Errorf("round trip changed dates: %s", out)
	}
}

func TestBookingValidateNamesFields(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(b *bellhop.Booking)
		fields []string
	}{
		{"departure before arrival", func(b *bellhop.Booking) { b.Departure = b.Arrival.AddDays(-1) }, []string{"departure"}},
		{"departure on arrival day", func(b *bellhop.Booking) { b.Departure = b.Arrival }, []string{"departure"}},
		{"no dates", func(b *bellhop.Booking) { b.Arrival, b.Departure = bellhop.Date{}, bellhop.Date{} }, []string{"arrival", "departure"}},
		{"impossible date", func(b *bellhop.Booking) { b.Arrival = bellhop.Date{Year: 2026, Month: 2, Day: 30} }, []string{"arrival"}},
		{"unknown status", func(b *bellhop.Booking) { b.Status = "tentative" }, []string{"status"}},
		{"unknown guarantee", func(b *bellhop.Booking) { b.Guarantee = "card" }, []string{"guarantee"}},
		{"no phone", func(b *bellhop.Booking) { b.Guest.Phone = "" }, []string{"guest.phone"}},
		{"no name", func(b *bellhop.Booking) { b.Guest.Name = "" }, []string{"guest.name"}},
		{"bad email", func(b *bellhop.Booking) { b.Guest.Email = "anna at example" }, []string{"guest.email"}},
		{"bad language", func(b *bellhop.Booking) { b.Guest.Language = "russian!" }, []string{"guest.language"}},
		{"no updated_at", func(b *bellhop.Booking) { b.UpdatedAt = time.Time{} }, []string{"updated_at"}},
		{"several at once", func(b *bellhop.Booking) { b.Status = ""; b.Guest.Email = "x" }, []string{"status", "guest.email"}},
		{"NUL in the name", func(b *bellhop.Booking) { b.Guest.Name = "a\x00b" }, []string{"guest.name"}},
		{"stray byte in the email", func(b *bellhop.Booking) { b.Guest.Email = "a\xff@example.com" }, []string{"guest.email"}},
		{"NUL in the id", func(b *bellhop.Booking) { b.ID = "B\x001" }, []string{"id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := decodeBooking(t, designBooking)
			tt.edit(&b)
			err := b.Validate()
			var e *bellhop.Error
			if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
				t.Fatalf("Validate = %v, want invalid_input", err)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.fields))
			if !slices.Equal(got, want) {
				t.Errorf("fields = %v, want %v (%v)", got, want, err)
			}
		})
	}
}

func TestBookingValidateAcceptsRegionalLanguage(t *testing.T) {
	b := decodeBooking(t, designBooking)
	b.Guest.Language = "pt-BR"
	if err := b.Validate(); err != nil {
		t.Errorf("Validate with pt-BR: %v", err)
	}
}

func TestDateJSONRefusesMalformedDates(t *testing.T) {
	for _, in := range []string{`"2026-13-01"`, `"03.12.2026"`, `"2026-02-30"`, `20261203`} {
		var b struct {
			Arrival bellhop.Date `json:"arrival"`
		}
		err := json.Unmarshal([]byte(`{"arrival":`+in+`}`), &b)
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &typ) || typ.Field != "arrival" {
			t.Errorf("arrival %s: err = %v, want a type error naming arrival", in, err)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := bellhop.Date{Year: 2026, Month: time.December, Day: 31}
	if got := d.AddDays(1).String(); got != "2027-01-01" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := (bellhop.Date{Year: 2028, Month: time.March, Day: 1}).AddDays(-1).String(); got != "2028-02-29" {
		t.Errorf("leap day = %s", got)
	}
	if !d.After(d.AddDays(-1)) || !d.Before(d.AddDays(1)) || d.Before(d) {
		t.Error("Before/After disagree with the calendar")
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// 25 October 2026 is 25 hours long in Berlin: midnight still starts it.
	if got := (bellhop.Date{Year: 2026, Month: time.October, Day: 25}).In(berlin).UTC(); got != time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC) {
		t.Errorf("In(Berlin) = %v", got)
	}
	if got, err := bellhop.ParseDate("2026-12-03"); err != nil || got != (bellhop.Date{Year: 2026, Month: 12, Day: 3}) {
		t.Errorf("ParseDate = %v, %v", got, err)
	}
}

func TestBookingValidateAtRefusesTheFarFuture(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	b := decodeBooking(t, designBooking)
	b.CreatedAt, b.UpdatedAt = now.Add(bellhop.MaxClockSkew), now.Add(bellhop.MaxClockSkew)
	if err := b.ValidateAt(now); err != nil {
		t.Fatalf("a clock a day ahead: %v", err)
	}
	b.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	b.CreatedAt = now.Add(bellhop.MaxClockSkew + time.Second)
	var e *bellhop.Error
	if err := b.ValidateAt(now); !errors.As(err, &e) || len(e.Fields) != 2 ||
		e.Fields[0].Field != "created_at" || e.Fields[1].Field != "updated_at" {
		t.Fatalf("ValidateAt = %v, want created_at and updated_at refused", err)
	}
}

func TestPhoneDigits(t *testing.T) {
	for in, want := range map[string]string{
		"+7 (912) 345-67-89": "79123456789",
		"79123456789":        "79123456789",
		"тел. 8 912":         "8912",
		"":                   "",
	} {
		if got := bellhop.PhoneDigits(in); got != want {
			t.Errorf("PhoneDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
