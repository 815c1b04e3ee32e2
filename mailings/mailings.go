// Package mailings decides what guests are sent and when: mailing kinds and their defaults,
// schedules in property time, templates and their rendering, and booking intake → plans.
package mailings

import (
	"errors"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Validate checks a mailing as a property manager saves it: kind, sending method, schedule
// and every template. An enabled mailing needs at least one template.
func Validate(m bellhop.Mailing) error {
	errs := []error{m.Validate(), ValidateTemplates(m.Templates), ValidateChannelTexts(m)}
	if m.Enabled && len(m.Templates) == 0 && len(m.WATemplates) == 0 {
		errs = append(errs, bellhop.Invalid("templates", "an enabled mailing needs a text in at least one language"))
	}
	return bellhop.JoinInvalid(errs...)
}

// BookingInput is a booking as the PMS pushes it (PUT …/bookings/{bid}); the id and the
// property come from the path.
type BookingInput struct {
	Status            bellhop.BookingStatus `json:"status"`
	Guarantee         bellhop.Guarantee     `json:"guarantee"`
	GuaranteeDeadline *time.Time            `json:"guarantee_deadline"`
	Arrival           bellhop.Date          `json:"arrival"`
	Departure         bellhop.Date          `json:"departure"`
	CreatedAt         time.Time             `json:"created_at"`
	UpdatedAt         time.Time             `json:"updated_at"`
	Guest             bellhop.Guest         `json:"guest"`
}

// Booking is the booking id as the input says it, with the PMS's omissions filled in: no
// status is confirmed, no created_at is the updated_at.
func (in BookingInput) Booking(id string) *bellhop.Booking {
	b := &bellhop.Booking{
		ID: id, Status: in.Status, Guarantee: in.Guarantee,
		GuaranteeDeadline: in.GuaranteeDeadline, Arrival: in.Arrival, Departure: in.Departure,
		CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt, Guest: in.Guest,
	}
	if b.Status == "" {
		b.Status = bellhop.BookingConfirmed
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = b.UpdatedAt
	}
	return b
}

// Intake prepares a booking the PMS pushed for storing: it normalises the guest's phone with
// the property's country, validates the booking (its times no more than a day ahead of now),
// and keeps the first moment Bellhop saw it non-guaranteed (from prev, the stored version, or
// now), whatever the PMS sent. prev is nil for a new booking. Every bad field is named in one
// invalid_input error.
func Intake(prev *bellhop.Booking, b *bellhop.Booking, p bellhop.Property, now time.Time) error {
	var errs []error
	phone, phoneErr := NormalizePhone(b.Guest.Phone, p.Country)
	if phoneErr == nil {
		b.Guest.Phone = phone
	}
	b.Guest.Language = strings.TrimSpace(b.Guest.Language)
	if err := b.ValidateAt(now); err != nil {
		if phoneErr != nil {
			// The phone is reported once, in the words NormalizePhone chose.
			err = dropField(err, phoneField)
		}
		errs = append(errs, err)
	}
	errs = append(errs, phoneErr)
	b.SeenNonGuaranteedAt = nil
	switch {
	case prev != nil && prev.SeenNonGuaranteedAt != nil:
		seen := *prev.SeenNonGuaranteedAt
		b.SeenNonGuaranteedAt = &seen
	case b.Guarantee == bellhop.NonGuaranteed:
		seen := now
		b.SeenNonGuaranteedAt = &seen
	}
	return bellhop.JoinInvalid(errs...)
}

// Stale reports whether a push of b is older than (or as old as) the stored prev, and so
// must be ignored: the newest updated_at wins.
func Stale(prev *bellhop.Booking, b bellhop.Booking) bool {
	return prev != nil && !b.UpdatedAt.After(prev.UpdatedAt)
}

// dropField removes field's entries from an invalid_input error, returning nil if none remain.
func dropField(err error, field string) error {
	var e *bellhop.Error
	if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
		return err
	}
	var kept []error
	for _, f := range e.Fields {
		if f.Field != field {
			kept = append(kept, bellhop.Invalid(f.Field, "%s", f.Message))
		}
	}
	return bellhop.JoinInvalid(kept...)
}
