package bellhop

import (
	"fmt"
	"slices"
	"time"
)

// MailingKind names one of the automated guest mailings.
type MailingKind string

const (
	// Welcome goes out before arrival.
	Welcome MailingKind = "welcome"
	// Feedback goes out after departure and asks how the stay was.
	Feedback MailingKind = "feedback"
	// NonGuaranteedReminder asks a guest to guarantee a booking that has no payment or card.
	NonGuaranteedReminder MailingKind = "non_guaranteed"
)

// Kinds returns every mailing kind in the order a property manager sees them.
func Kinds() []MailingKind { return []MailingKind{Welcome, Feedback, NonGuaranteedReminder} }

// Valid reports whether k is a known mailing kind.
func (k MailingKind) Valid() bool {
	return k == Welcome || k == Feedback || k == NonGuaranteedReminder
}

// Mailing is one automated mailing of a property: whether it runs, which channels send it (in
// order: the first that can reach the guest sends, a permanent failure falls through to the
// next), its text per language and when it goes out. Mailings are created disabled when an
// integration is first activated.
type Mailing struct {
	PropertyID string      `json:"property_id"`
	Kind       MailingKind `json:"kind"`
	Enabled    bool        `json:"enabled"`
	// SendingMethod is the first of SendingMethods, kept for the clients that name one.
	SendingMethod string `json:"sending_method"`
	// SendingMethods are the channel kinds that may send it, in the order they are tried,
	// e.g. ["whatsapp_cloud", "email"]. Methods returns them with SendingMethod as the only
	// one when a mailing stored before fallback has none.
	SendingMethods []string `json:"sending_methods"`
	// Templates maps a base language code ("en", "ru") to the message text with placeholders.
	Templates map[string]string `json:"templates"`
	// WATemplates maps a base language code to the approved WhatsApp template sent outside the
	// guest's 24-hour window (kinds with a customer window), with its body parameters.
	WATemplates map[string]WATemplate `json:"wa_templates"`
	// Subjects maps a base language code to an email's subject (placeholders allowed); a
	// language without one takes the kind's default subject.
	Subjects  map[string]string `json:"subjects"`
	Schedule  Schedule          `json:"schedule"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// WATemplate is an approved WhatsApp message template a mailing sends: its name, the language
// the provider lists it in ("en_US"; empty: the mapping's own language key) and its body
// parameters in order ({{1}}, {{2}}, …), each a text with placeholders such as "{guest_name}".
type WATemplate struct {
	Name     string   `json:"name"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params"`
}

// Methods returns the channels in the order they are tried. A SendingMethod that is not the
// first of SendingMethods (set by a client that knows one channel) comes first, the others
// keeping their order after it.
func (m *Mailing) Methods() []string {
	if m.SendingMethod == "" || (len(m.SendingMethods) > 0 && m.SendingMethods[0] == m.SendingMethod) {
		return m.SendingMethods
	}
	out := []string{m.SendingMethod}
	for _, k := range m.SendingMethods {
		if k != m.SendingMethod {
			out = append(out, k)
		}
	}
	return out
}

// Uses reports whether the mailing may be sent through channel kind.
func (m *Mailing) Uses(kind string) bool {
	for _, k := range m.Methods() {
		if k == kind {
			return true
		}
	}
	return false
}

// Validate checks the mailing's kind, sending method and schedule. Template text is checked
// by mailings.ValidateTemplates (mailings.Validate does both).
func (m *Mailing) Validate() error {
	var errs []error
	if !m.Kind.Valid() {
		errs = append(errs, Invalid("kind", "must be one of: welcome feedback non_guaranteed"))
	}
	methods := m.Methods()
	if len(methods) == 0 {
		errs = append(errs, Invalid("sending_methods", "is required (the channels that send it, in order, e.g. [\"whatsapp_cloud\", \"email\"])"))
	}
	seen := map[string]bool{}
	for _, k := range methods {
		switch {
		case len(k) > 64 || !identRE.MatchString(k):
			errs = append(errs, Invalid("sending_methods", "%q is not a channel name such as intellectdialog or email", Excerpt(k)))
		case seen[k]:
			errs = append(errs, Invalid("sending_methods", "names %s twice; each channel is tried once", k))
		}
		seen[k] = true
	}
	if len(methods) > 8 {
		errs = append(errs, Invalid("sending_methods", "names %d channels; at most 8 are tried", len(methods)))
	}
	errs = append(errs, m.Schedule.Validate())
	return JoinInvalid(errs...)
}

// Schedule says when a mailing goes out, in the property's local time. Every default of the
// mailing rules is a field here, so a property can change any of them.
//
// Welcome and feedback are planned for DayOffset days from their day (arrival for welcome,
// departure for feedback) at SendTime; non_guaranteed goes DelayMinutes after the booking is
// first seen non-guaranteed. A send that falls in the quiet hours moves to their end. A send
// that cannot go out in time still goes until the end of day LateUntilDay (counted from the
// same day: arrival for welcome and non_guaranteed, departure for feedback); later it is
// skipped as too_late.
type Schedule struct {
	DayOffset    int       `json:"day_offset"`
	SendTime     TimeOfDay `json:"send_time"`
	DelayMinutes int       `json:"delay_minutes"`
	// QuietStart and QuietEnd bound the local hours when nothing is sent; a start later than
	// the end wraps midnight (21:00–09:00). Equal times mean no quiet hours.
	QuietStart   TimeOfDay `json:"quiet_start"`
	QuietEnd     TimeOfDay `json:"quiet_end"`
	LateUntilDay int       `json:"late_until_day"`
}

// Limits that keep a schedule within what a hotel would mean.
const (
	maxDayOffset    = 60
	maxDelayMinutes = 7 * 24 * 60
)

// Validate checks every field and names it as schedule.<field>.
func (s *Schedule) Validate() error {
	var errs []error
	if s.DayOffset < -maxDayOffset || s.DayOffset > maxDayOffset {
		errs = append(errs, Invalid("schedule.day_offset", "must be between -%d and %d days", maxDayOffset, maxDayOffset))
	}
	for _, f := range []struct {
		name string
		t    TimeOfDay
	}{{"send_time", s.SendTime}, {"quiet_start", s.QuietStart}, {"quiet_end", s.QuietEnd}} {
		if _, _, err := f.t.Clock(); err != nil {
			errs = append(errs, Invalid("schedule."+f.name, "%v", err))
		}
	}
	if s.DelayMinutes < 0 || s.DelayMinutes > maxDelayMinutes {
		errs = append(errs, Invalid("schedule.delay_minutes", "must be between 0 and %d minutes (7 days)", maxDelayMinutes))
	}
	if s.LateUntilDay < s.DayOffset || s.LateUntilDay > maxDayOffset {
		errs = append(errs, Invalid("schedule.late_until_day", "must be between day_offset (%d) and %d", s.DayOffset, maxDayOffset))
	}
	return JoinInvalid(errs...)
}

// Delay is DelayMinutes as a duration.
func (s *Schedule) Delay() time.Duration { return time.Duration(s.DelayMinutes) * time.Minute }

// TimeOfDay is a local wall-clock time written "15:04", e.g. "09:00".
type TimeOfDay string

// Clock returns the hour and minute, or an error saying how the time must look.
func (t TimeOfDay) Clock() (hour, minute int, err error) {
	s := string(t)
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("must be a time of day such as 09:00, not %q", Excerpt(s))
	}
	tm, perr := time.Parse("15:04", s)
	if perr != nil {
		return 0, 0, fmt.Errorf("must be a time of day such as 09:00, not %q", Excerpt(s))
	}
	return tm.Hour(), tm.Minute(), nil
}

// Minutes returns the minutes after midnight, or -1 if t is malformed.
func (t TimeOfDay) Minutes() int {
	h, m, err := t.Clock()
	if err != nil {
		return -1
	}
	return h*60 + m
}

// Delivery is the ledger row for one mailing to one booking: one per (property, booking,
// kind). Its status only moves forward (see CanBecome).
type Delivery struct {
	ID         string      `json:"id"`
	PropertyID string      `json:"property_id"`
	BookingID  string      `json:"booking_id"`
	Kind       MailingKind `json:"kind"`
	// StayKey ties together bookings of one guest phone and stay (mailings.StayKey): only one
	// of them gets each kind of message.
	StayKey   string         `json:"stay_key,omitempty"`
	Phone     string         `json:"phone"`
	Language  string         `json:"language,omitempty"`
	PlannedAt time.Time      `json:"planned_at"`
	Status    DeliveryStatus `json:"status"`
	// Reason says why a delivery was skipped, cancelled or failed (Reason* constants).
	Reason string `json:"reason,omitempty"`
	// ProviderMessageID is the provider's id for the sent message; status callbacks carry it.
	ProviderMessageID string `json:"provider_message_id,omitempty"`
	SenderID          string `json:"sender_id,omitempty"`
	// Provider is the integration kind that sends (or sent) it.
	Provider string `json:"provider,omitempty"`
	// DueAt is when a worker next looks at a pending delivery: PlannedAt, or the sender's
	// slot it waits for.
	DueAt time.Time `json:"due_at"`
	// Version counts re-plans; a queued send of an older version does nothing.
	Version int `json:"version"`
	// Attempts counts the provider calls made for it (claims); AttemptLog lists every attempt,
	// channel by channel, skipped ones included (read separately: ListDeliveries leaves it nil).
	Attempts   int               `json:"attempt_count"`
	AttemptLog []DeliveryAttempt `json:"attempts"`
	// Channel is the channel kind the delivery is on: the one it was or will be sent through.
	// It only moves forward in the mailing's order; ChannelsDone are those it left behind
	// (skipped, or failed for good), never tried again unless a person sends it again.
	Channel      string     `json:"channel"`
	ChannelsDone []string   `json:"channels_done,omitempty"`
	SentAt       *time.Time `json:"sent_at,omitempty"`
	// ClaimedAt is the first claim of the current send round: the provider's messages are
	// searched from there when an attempt's outcome is unknown.
	ClaimedAt *time.Time `json:"claimed_at,omitempty"`
	// CheckedAt is when Bellhop last asked the provider about this message.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// ErasedAt is when the guest's personal data (the phone) was erased from this row after
	// the retention period; the row itself stays.
	ErasedAt *time.Time `json:"erased_at,omitempty"`
	// Queued is true when this version's send has been handed to the queue. A delivery due
	// beyond the planning horizon is kept only in the database until it enters the horizon.
	Queued bool `json:"-"`
}

// DefaultPlanHorizon is how far ahead of its time a delivery's send is queued in Redis (the
// planning horizon); a delivery due later stays only in the database until it comes within.
const DefaultPlanHorizon = time.Hour

// DoneAfter is ChannelsDone once the delivery leaves its channel and the channels skipped
// for next (the channel it goes on with; "" when none is left).
func (d *Delivery) DoneAfter(skipped []string, next string) []string {
	done := append([]string(nil), d.ChannelsDone...)
	for _, k := range append([]string{d.Channel}, skipped...) {
		if k != "" && k != next && !slices.Contains(done, k) {
			done = append(done, k)
		}
	}
	return done
}

// DeliveryAttempt is one line of a delivery's ledger of attempts: a channel skipped (and why),
// or one provider call through it and what became of it.
type DeliveryAttempt struct {
	DeliveryID string `json:"-"`
	// Attempt is the delivery's claim number of this call; 0 for a channel skipped unsent.
	Attempt  int    `json:"attempt,omitempty"`
	Channel  string `json:"channel"`
	SenderID string `json:"sender_id,omitempty"`
	// Status is skipped, sending, sent, delivered, read, failed or unconfirmed.
	Status    DeliveryStatus `json:"status"`
	Reason    string         `json:"reason,omitempty"`
	MessageID string         `json:"message_id,omitempty"`
	At        time.Time      `json:"at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	// DeliveryScheduled: planned, waiting for its time (and the sender's pace).
	DeliveryScheduled DeliveryStatus = "scheduled"
	// DeliverySending: claimed by a worker that is calling the provider.
	DeliverySending DeliveryStatus = "sending"
	// DeliverySent: the provider accepted the message.
	DeliverySent DeliveryStatus = "sent"
	// DeliveryDelivered: the provider reports it reached the guest's phone.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryRead: the guest read it.
	DeliveryRead DeliveryStatus = "read"
	// DeliveryFailed: the provider refused or could not deliver it.
	DeliveryFailed DeliveryStatus = "failed"
	// DeliverySkipped: decided at send time not to send it (see Reason).
	DeliverySkipped DeliveryStatus = "skipped"
	// DeliveryCancelled: withdrawn before its time, e.g. the booking was cancelled.
	DeliveryCancelled DeliveryStatus = "cancelled"
	// DeliveryUnconfirmed: an attempt may or may not have reached the provider, and the
	// provider could not be asked for long enough: held, never sent blind, until a person
	// says "send again" (or the provider's listing later shows it).
	DeliveryUnconfirmed DeliveryStatus = "unconfirmed"
)

// DeliveryStatuses returns every delivery status, from first to last.
func DeliveryStatuses() []DeliveryStatus {
	return []DeliveryStatus{DeliveryScheduled, DeliverySending, DeliverySent, DeliveryDelivered,
		DeliveryRead, DeliveryFailed, DeliverySkipped, DeliveryCancelled, DeliveryUnconfirmed}
}

// Valid reports whether s is a known status.
func (s DeliveryStatus) Valid() bool {
	switch s {
	case DeliveryScheduled, DeliverySending, DeliverySent, DeliveryDelivered, DeliveryRead,
		DeliveryFailed, DeliverySkipped, DeliveryCancelled, DeliveryUnconfirmed:
		return true
	}
	return false
}

// Pending reports whether the message has not gone out yet and may still be rescheduled,
// sent or cancelled.
func (s DeliveryStatus) Pending() bool { return s == DeliveryScheduled || s == DeliverySending }

// Final reports whether nothing more will happen to the delivery except provider reports
// (delivered, read) on a sent message.
func (s DeliveryStatus) Final() bool { return s.Valid() && !s.Pending() }

// CanBecome reports whether a delivery in status s may move to next, so that late or repeated
// provider callbacks never move it backwards (read → delivered). Skipped, cancelled, failed
// and read are ends; a failure may follow sent (the provider's later report) but not delivered;
// a sending delivery may go back to scheduled for a retry, and may be reported delivered or
// read before its sender has recorded it sent.
func (s DeliveryStatus) CanBecome(next DeliveryStatus) bool {
	if !s.Valid() || !next.Valid() || s == next {
		return false
	}
	switch s {
	case DeliveryScheduled:
		return next != DeliveryDelivered && next != DeliveryRead && next != DeliverySent
	case DeliverySending:
		// The provider's delivered/read callbacks may outrun the send's own record of it.
		return true
	case DeliverySent:
		return next == DeliveryDelivered || next == DeliveryRead || next == DeliveryFailed
	case DeliveryDelivered:
		return next == DeliveryRead
	case DeliveryUnconfirmed:
		// The provider's later word settles it either way.
		return next == DeliverySent || next == DeliveryDelivered || next == DeliveryRead || next == DeliveryFailed
	default:
		return false
	}
}

// Reasons a delivery was skipped, cancelled or failed. They are stored and shown as they are.
const (
	// ReasonTooLate: the moment for the message has passed (e.g. the arrival day is over).
	ReasonTooLate = "too_late"
	// ReasonBookingCancelled: the booking was cancelled.
	ReasonBookingCancelled = "booking_cancelled"
	// ReasonMailingDisabled: the property switched the mailing off.
	ReasonMailingDisabled = "mailing_disabled"
	// ReasonIntegrationInactive: the integration that sends the mailing is not active.
	ReasonIntegrationInactive = "integration_inactive"
	// ReasonDuplicatePhone: another booking of the same stay and phone gets the message.
	ReasonDuplicatePhone = "duplicate_phone"
	// ReasonBecameGuaranteed: the booking is guaranteed now; no reminder is needed.
	ReasonBecameGuaranteed = "became_guaranteed"
	// ReasonInvalidPhone: the guest's phone is not a number a message can reach.
	ReasonInvalidPhone = "invalid_phone"
	// ReasonNoTemplate: the mailing has no text to send.
	ReasonNoTemplate = "no_template"
	// ReasonInvalidSchedule: the mailing's schedule is malformed, so no time can be planned.
	ReasonInvalidSchedule = "invalid_schedule"
	// ReasonBookingChanged: the booking changed so that this send no longer applies.
	ReasonBookingChanged = "booking_changed"
	// ReasonSenderMissing: the integration has no sender, or the provider no longer offers it.
	ReasonSenderMissing = "sender_missing"
	// ReasonProviderRejected: the provider refused the message (its words are logged).
	ReasonProviderRejected = "provider_rejected"
	// ReasonOptedOut: the guest's contact is on a stop list (the provider account's or the
	// property's); nothing is sent to it.
	ReasonOptedOut = "opted_out"
	// ReasonUnconfirmed: an attempt's outcome could not be learned from the provider.
	ReasonUnconfirmed = "unconfirmed"
	// ReasonNoPhone, ReasonNoEmail, ReasonNoChat: the guest has no address of the kind the
	// channel reaches people by.
	ReasonNoPhone = "no_phone"
	ReasonNoEmail = "no_email"
	ReasonNoChat  = "no_chat"
	// ReasonIntegrationInvalid: the channel's key was rejected (a later channel sends meanwhile).
	ReasonIntegrationInvalid = "integration_invalid"
	// ReasonUnreachable: the channel reported the guest cannot be reached through it
	// (WhatsApp's 131026); the next channel is tried.
	ReasonUnreachable = "unreachable"
	// ReasonRateLimited: the provider asked to slow down (an attempt's line; the send waits).
	ReasonRateLimited = "rate_limited"
	// ReasonNoChannel: no channel of the mailing could reach the guest (the attempts say why).
	ReasonNoChannel = "no_channel"
)

// DeliveryFilter selects ledger rows; empty fields select everything.
type DeliveryFilter struct {
	Status    DeliveryStatus
	Kind      MailingKind
	BookingID string
	// PlannedFrom and PlannedTo bound planned_at: From inclusive, To exclusive.
	PlannedFrom, PlannedTo time.Time
	Limit                  int // default 100
}
