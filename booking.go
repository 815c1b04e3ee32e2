package bellhop

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Date is a calendar day with no time zone, like a booking's arrival: which instant it starts
// at depends on the property's zone (see In). Its JSON form is "2006-01-02".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// dateLayout is how dates travel in JSON and in the database.
const dateLayout = "2006-01-02"

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads "2006-01-02"; anything else, including 2026-02-30, is an error.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date like 2026-12-03", s)
	}
	return DateOf(t), nil
}

// String returns the date as "2006-01-02", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date (no date given).
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real calendar day.
func (d Date) Valid() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return DateOf(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)) == d
}

// In returns the first instant of d in loc: local midnight, or the first moment after it on
// the rare days a DST change skips midnight.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// At returns d at the local wall time hour:minute in loc. A wall time that a DST change skips
// is normalised forward, as time.Date does.
func (d Date) At(hour, minute int, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, loc)
}

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalJSON writes "2006-01-02", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "2006-01-02"; null and "" leave the zero Date, which Validate reports
// as missing. A malformed date is a *json.UnmarshalTypeError, so decoders name the field.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[Date]()}
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "date " + s, Type: reflect.TypeFor[Date]()}
	}
	*d = v
	return nil
}

// BookingStatus says whether the guest is still expected.
type BookingStatus string

const (
	// BookingConfirmed: the guest is expected.
	BookingConfirmed BookingStatus = "confirmed"
	// BookingCancelled: the booking was cancelled; nothing more is sent for it.
	BookingCancelled BookingStatus = "cancelled"
)

// Guarantee says whether the hotel holds a payment or card for the booking.
type Guarantee string

const (
	// Guaranteed: prepaid or secured by a card.
	Guaranteed Guarantee = "guaranteed"
	// NonGuaranteed: nothing secures the room yet; the guest gets a reminder.
	NonGuaranteed Guarantee = "non_guaranteed"
)

// Booking is a stay as the PMS pushes it. Arrival and departure are days in the property's
// time zone. A push whose UpdatedAt is not newer than the stored one is ignored.
type Booking struct {
	ID                string        `json:"id" validate:"required,max=64,ident"`
	PropertyID        string        `json:"property_id" validate:"required,max=64,ident"`
	Status            BookingStatus `json:"status" validate:"required,oneof=confirmed cancelled"`
	Guarantee         Guarantee     `json:"guarantee" validate:"required,oneof=guaranteed non_guaranteed"`
	GuaranteeDeadline *time.Time    `json:"guarantee_deadline,omitempty"`
	Arrival           Date          `json:"arrival"`
	Departure         Date          `json:"departure"`
	CreatedAt         time.Time     `json:"created_at"`
	UpdatedAt         time.Time     `json:"updated_at" validate:"required"`
	// SeenNonGuaranteedAt is when Bellhop first saw the booking non-guaranteed. Booking intake
	// sets it (whatever the PMS sends); the non_guaranteed reminder is planned from it.
	SeenNonGuaranteedAt *time.Time `json:"seen_non_guaranteed_at,omitempty"`
	Guest               Guest      `json:"guest"`
	// Revision is 1 when first stored and one more for every accepted change.
	Revision int `json:"revision"`
}

// Guest is the person a booking's messages go to.
type Guest struct {
	Name string `json:"name" validate:"required,max=200"`
	// Phone is E.164 once intake has normalised it (mailings.NormalizePhone).
	Phone    string `json:"phone" validate:"required,max=64"`
	Email    string `json:"email,omitempty" validate:"omitempty,email,max=254"`
	Language string `json:"language,omitempty" validate:"omitempty,language"`
}

// Cancelled reports whether the booking was cancelled.
func (b *Booking) Cancelled() bool { return b.Status == BookingCancelled }

// Validate checks the booking as the PMS sent it and names every bad field by its JSON path
// (guest.phone, departure, …). The phone's format is mailings.NormalizePhone's business.
func (b *Booking) Validate() error {
	var errs []error
	if err := Validate(b); err != nil {
		errs = append(errs, err)
	}
	switch {
	case b.Arrival.IsZero():
		errs = append(errs, Invalid("arrival", "is required"))
	case !b.Arrival.Valid():
		errs = append(errs, Invalid("arrival", "must be a date such as 2026-12-03"))
	}
	switch {
	case b.Departure.IsZero():
		errs = append(errs, Invalid("departure", "is required"))
	case !b.Departure.Valid():
		errs = append(errs, Invalid("departure", "must be a date such as 2026-12-05"))
	case b.Arrival.Valid() && !b.Departure.After(b.Arrival):
		errs = append(errs, Invalid("departure", "must be after the arrival (%s), not %s", b.Arrival, b.Departure))
	}
	return JoinInvalid(errs...)
}

// MaxClockSkew is how far in the future a booking's created_at and updated_at may be: a PMS
// clock a little ahead is fine, but an updated_at years ahead would make every later push
// look older ("newer wins") and freeze the booking for ever.
const MaxClockSkew = 24 * time.Hour

// ValidateAt is Validate plus the checks that need the time: created_at and updated_at no
// more than MaxClockSkew after now.
func (b *Booking) ValidateAt(now time.Time) error {
	errs := []error{b.Validate()}
	limit := now.Add(MaxClockSkew)
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"created_at", b.CreatedAt}, {"updated_at", b.UpdatedAt}} {
		if f.t.After(limit) {
			errs = append(errs, Invalid(f.name, "is more than a day in the future (%s; it is %s now); check the PMS's clock",
				f.t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		}
	}
	return JoinInvalid(errs...)
}

// PhoneDigits keeps a phone's digits: "+7 (912) 345-67-89" → "79123456789". Providers write
// phones without the plus or with spaces; compared by their digits they are one number.
func PhoneDigits(phone string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
}
