package mailings

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Decision is when a mailing goes to a booking's guest, or why it does not. Exactly one of
// At and Skip is set.
type Decision struct {
	At time.Time
	// Skip is a bellhop.Reason* constant.
	Skip string
}

// Plan decides when mailing m goes to the guest of booking b at property p, seen at now.
// Wall times are the property's (p.Location()), built as local dates and times so that a
// DST change never shifts them. The rules, each a setting of m.Schedule:
//   - welcome: DayOffset days from arrival at SendTime; feedback: from departure;
//     non_guaranteed: DelayMinutes after the booking was first seen non-guaranteed.
//   - A time already past means "as soon as allowed": now.
//   - A time inside the quiet hours moves to their end.
//   - A send that would go out after day LateUntilDay (from arrival, or departure for
//     feedback), or for non_guaranteed after the guarantee deadline, is skipped as too_late.
//   - Cancelled bookings, disabled mailings and guaranteed bookings (non_guaranteed) are
//     skipped with their reason.
//
// The queue calls Plan when a booking arrives or changes, and again at send time: a Decision
// whose At is not after now means "send now".
func Plan(m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) Decision {
	switch {
	case b.Cancelled():
		return Decision{Skip: bellhop.ReasonBookingCancelled}
	case !m.Enabled:
		return Decision{Skip: bellhop.ReasonMailingDisabled}
	case m.Schedule.Validate() != nil:
		return Decision{Skip: bellhop.ReasonInvalidSchedule}
	}
	loc := p.Location()
	s := m.Schedule
	var anchor bellhop.Date
	var planned time.Time
	switch m.Kind {
	case bellhop.Welcome, bellhop.Feedback:
		anchor = b.Arrival
		if m.Kind == bellhop.Feedback {
			anchor = b.Departure
		}
		h, mm, _ := s.SendTime.Clock()
		planned = anchor.AddDays(s.DayOffset).At(h, mm, loc)
	case bellhop.NonGuaranteedReminder:
		if b.Guarantee != bellhop.NonGuaranteed {
			return Decision{Skip: bellhop.ReasonBecameGuaranteed}
		}
		anchor = b.Arrival
		seen := b.UpdatedAt
		if b.SeenNonGuaranteedAt != nil {
			seen = *b.SeenNonGuaranteedAt
		}
		planned = seen.Add(s.Delay())
	default:
		return Decision{Skip: bellhop.ReasonInvalidSchedule}
	}
	at := planned
	if at.Before(now) {
		at = now
	}
	at = AfterQuietHours(at, s.QuietStart, s.QuietEnd, loc)
	if !at.Before(anchor.AddDays(s.LateUntilDay + 1).In(loc)) {
		return Decision{Skip: bellhop.ReasonTooLate}
	}
	if m.Kind == bellhop.NonGuaranteedReminder && b.GuaranteeDeadline != nil && !at.Before(*b.GuaranteeDeadline) {
		return Decision{Skip: bellhop.ReasonTooLate}
	}
	return Decision{At: at}
}

// AfterQuietHours returns t, or the end of the quiet hours [start, end) if t falls inside
// them, in loc's wall time. A start later than the end wraps midnight; equal (or malformed)
// times mean no quiet hours. The end is built as a local wall time, so a DST change that
// night still ends the quiet hours at, say, 09:00 local.
func AfterQuietHours(t time.Time, start, end bellhop.TimeOfDay, loc *time.Location) time.Time {
	from, to := start.Minutes(), end.Minutes()
	if from < 0 || to < 0 || from == to {
		return t
	}
	lt := t.In(loc)
	minute := lt.Hour()*60 + lt.Minute()
	day := bellhop.DateOf(lt)
	switch {
	case from < to && minute >= from && minute < to:
		// Same-day window, e.g. 13:00–15:00.
	case from > to && minute >= from:
		// Evening part of a window across midnight: it ends tomorrow.
		day = day.AddDays(1)
	case from > to && minute < to:
		// Morning part: it ends today.
	default:
		return t
	}
	h, m, _ := end.Clock()
	return day.At(h, m, loc)
}

// StayKey names a guest's stay for one kind of message at a property: the same phone with
// the same dates is one stay, however many rooms (bookings) it holds, and gets one message.
// b.Guest.Phone must be normalised (E.164).
func StayKey(kind bellhop.MailingKind, b bellhop.Booking) string {
	return strings.Join([]string{b.PropertyID, b.Guest.Phone, b.Arrival.String(), b.Departure.String(), string(kind)}, "|")
}

// Send is one message the mailings are going to send.
type Send struct {
	At        time.Time           `json:"at"`
	Kind      bellhop.MailingKind `json:"kind"`
	BookingID string              `json:"booking_id"`
	Phone     string              `json:"phone"`
	Language  string              `json:"language"`
	Text      string              `json:"text"`
}

// Preview lists what the property's enabled mailings will send to bookings from now until
// days days later, earliest first: one send per stay and kind (the booking with the smallest
// id stands for its stay), with the text the guest will read. To preview a disabled mailing,
// pass it with Enabled set.
func Preview(ms []bellhop.Mailing, p bellhop.Property, bookings []bellhop.Booking, now time.Time, days int) []Send {
	until := now.AddDate(0, 0, days)
	sorted := slices.SortedFunc(slices.Values(bookings), func(a, b bellhop.Booking) int { return cmp.Compare(a.ID, b.ID) })
	seen := map[string]bool{}
	var out []Send
	for _, m := range ms {
		for _, b := range sorted {
			key := StayKey(m.Kind, b)
			if seen[key] {
				continue
			}
			d := Plan(&m, &p, &b, now)
			if d.Skip != "" || d.At.After(until) {
				continue
			}
			msg, ok := Compose(&m, &p, &b)
			if !ok {
				continue
			}
			seen[key] = true
			out = append(out, Send{At: d.At, Kind: m.Kind, BookingID: b.ID, Phone: b.Guest.Phone, Language: msg.Language, Text: msg.Text})
		}
	}
	slices.SortStableFunc(out, func(a, b Send) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.BookingID, b.BookingID), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}
