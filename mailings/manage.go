package mailings

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// MailingView is a mailing as the API shows it: its settings and whether it can send now.
type MailingView struct {
	*bellhop.Mailing
	// Paused is true for an enabled mailing whose integration cannot send (inactive, or its key
	// was rejected); PausedReason says why in plain words. Its sends wait, none are dropped.
	Paused       bool   `json:"paused"`
	PausedReason string `json:"paused_reason,omitempty"`
}

// ListMailings lists a property's mailings; sendingMethod, when not empty, keeps those sent
// through that provider kind.
func (s *Service) ListMailings(ctx context.Context, pid, sendingMethod string) ([]*MailingView, error) {
	if _, err := s.cfg.Store.GetProperty(ctx, pid); err != nil {
		return nil, err
	}
	ms, err := s.cfg.Store.ListMailings(ctx, pid)
	if err != nil {
		return nil, err
	}
	out := []*MailingView{}
	for _, m := range ms {
		if sendingMethod != "" && m.SendingMethod != sendingMethod {
			continue
		}
		v := &MailingView{Mailing: m}
		if m.Enabled {
			in, err := s.cfg.Store.GetIntegration(ctx, pid, m.SendingMethod)
			switch {
			case bellhop.IsNotFound(err):
				v.Paused, v.PausedReason = true, "The "+m.SendingMethod+" integration is not connected."
			case err != nil:
				return nil, err
			case in.Status == bellhop.StatusInvalid:
				v.Paused, v.PausedReason = true, "The provider rejected the API key ("+in.StatusReason+"). Enter a working key and check it; the waiting messages go out once the integration is active again."
			case !in.Active:
				v.Paused, v.PausedReason = true, "The integration is switched off; the waiting messages go out once it is active again."
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// GetMailing returns one mailing.
func (s *Service) GetMailing(ctx context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error) {
	if !kind.Valid() {
		return nil, unknownKind(kind)
	}
	return s.cfg.Store.GetMailing(ctx, pid, kind)
}

func unknownKind(kind bellhop.MailingKind) error {
	return bellhop.Errorf(bellhop.ENotFound, "There is no %q mailing; the mailings are welcome, feedback and non_guaranteed.", bellhop.Excerpt(string(kind)))
}

// checkSendingMethod refuses a sending method that is no provider kind Bellhop knows, before
// it is stored: a mailing "sent" through it would wait for ever.
func (s *Service) checkSendingMethod(method string) error {
	if method == "" || len(s.cfg.SendingMethods) == 0 || slices.Contains(s.cfg.SendingMethods, method) {
		return nil // empty, or a name Mailing.Validate judges
	}
	return bellhop.Invalid("sending_method", "%q is not a provider Bellhop knows; use one of: %s",
		bellhop.Excerpt(method), strings.Join(s.cfg.SendingMethods, ", "))
}

// MailingPatch is a change to a mailing; nil fields stay as they are. Templates replaces the
// texts of the languages it names; an empty text removes that language.
type MailingPatch struct {
	Enabled       *bool             `json:"enabled"`
	SendingMethod *string           `json:"sending_method"`
	Templates     map[string]string `json:"templates"`
	Schedule      *SchedulePatch    `json:"schedule"`
}

// SchedulePatch changes the schedule fields it names and keeps the others.
type SchedulePatch struct {
	DayOffset    *int               `json:"day_offset"`
	SendTime     *bellhop.TimeOfDay `json:"send_time"`
	DelayMinutes *int               `json:"delay_minutes"`
	QuietStart   *bellhop.TimeOfDay `json:"quiet_start"`
	QuietEnd     *bellhop.TimeOfDay `json:"quiet_end"`
	LateUntilDay *int               `json:"late_until_day"`
}

func (p *SchedulePatch) apply(s *bellhop.Schedule) {
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setT := func(dst *bellhop.TimeOfDay, v *bellhop.TimeOfDay) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.DayOffset, p.DayOffset)
	setT(&s.SendTime, p.SendTime)
	set(&s.DelayMinutes, p.DelayMinutes)
	setT(&s.QuietStart, p.QuietStart)
	setT(&s.QuietEnd, p.QuietEnd)
	set(&s.LateUntilDay, p.LateUntilDay)
}

// PatchMailing changes a mailing and plans again every booking it may still concern:
// enabling plans the future bookings, disabling cancels the pending sends, a new schedule
// moves them. Unknown placeholders and bad schedule fields are invalid_input naming them.
func (s *Service) PatchMailing(ctx context.Context, pid string, kind bellhop.MailingKind, patch MailingPatch) (*bellhop.Mailing, error) {
	if !kind.Valid() {
		return nil, unknownKind(kind)
	}
	now := s.cfg.Clock.Now().UTC()
	var out *bellhop.Mailing
	var queue []*bellhop.Delivery
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		out, queue = nil, nil // the store may run a transaction again
		p, err := tx.GetProperty(ctx, pid)
		if err != nil {
			return err
		}
		m, err := tx.GetMailing(ctx, pid, kind)
		if err != nil {
			return err
		}
		if patch.Enabled != nil {
			m.Enabled = *patch.Enabled
		}
		if patch.SendingMethod != nil {
			m.SendingMethod = strings.TrimSpace(*patch.SendingMethod)
			if err := s.checkSendingMethod(m.SendingMethod); err != nil {
				return err
			}
		}
		for lang, text := range patch.Templates {
			if m.Templates == nil {
				m.Templates = map[string]string{}
			}
			if text == "" {
				delete(m.Templates, lang)
			} else {
				m.Templates[lang] = text
			}
		}
		if patch.Schedule != nil {
			patch.Schedule.apply(&m.Schedule)
		}
		if err := Validate(*m); err != nil {
			return err
		}
		if m.Enabled {
			if _, err := tx.GetIntegration(ctx, pid, m.SendingMethod); bellhop.IsNotFound(err) {
				return bellhop.Invalid("sending_method", "the property has no %s integration", m.SendingMethod)
			} else if err != nil {
				return err
			}
		}
		m.UpdatedAt = now
		if err := tx.UpdateMailing(ctx, m); err != nil {
			return err
		}
		out = m
		// Bookings that departed more than the late window ago cannot be concerned any more.
		from := bellhop.DateOf(now.In(p.Location())).AddDays(-maxDaysAfterDeparture)
		bookings, err := tx.ListBookingsDeparting(ctx, pid, from)
		if err != nil {
			return err
		}
		for _, b := range bookings {
			_, q, err := s.planBooking(ctx, tx, p, b, []bellhop.MailingKind{kind}, now)
			if err != nil {
				return err
			}
			queue = append(queue, q...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "mailing changed", "property", pid, "kind", kind, "enabled", out.Enabled, "sends_queued", len(queue))
	s.schedule(ctx, queue)
	return out, nil
}

// maxDaysAfterDeparture bounds how long after departure a booking is planned again: the
// longest late window a schedule allows.
const maxDaysAfterDeparture = 61

// Upcoming is what the property's mailings will send in the next days, and through which
// sender.
type Upcoming struct {
	From  time.Time      `json:"from"`
	Until time.Time      `json:"until"`
	Days  int            `json:"days"`
	Sends []UpcomingSend `json:"sends"`
	Note  string         `json:"note,omitempty"`
}

// UpcomingSend is one message to come.
type UpcomingSend struct {
	Send
	GuestName string          `json:"guest_name"`
	Sender    *bellhop.Sender `json:"sender"`
	// SenderLabel is how the page shows the sender: "whatsapp · Reception (+79990000001)".
	SenderLabel string `json:"sender_label,omitempty"`
	// ExpectedAt is when the message would really go: behind its sender's earlier messages,
	// at the sender's pace, in the sending hours and within its daily cap (see Capacity). Nil
	// while its sender is paused, or when the pace cannot be read.
	ExpectedAt *time.Time `json:"expected_at,omitempty"`
	// TooLate says it would arrive too late to be useful: a welcome once the arrival day has
	// begun, a feedback more than a day after its time, a reminder after the guarantee
	// deadline — or never, its sender being paused. LateReason says which, in plain words.
	TooLate    bool   `json:"too_late"`
	LateReason string `json:"late_reason,omitempty"`
}

// Preview lists who gets what, when and from which sender in the next days days, from the
// enabled mailings and the bookings Bellhop holds.
func (s *Service) Preview(ctx context.Context, pid string, days int) (*Upcoming, error) {
	if days < 1 || days > 90 {
		return nil, bellhop.Invalid("days", "must be a whole number from 1 to 90")
	}
	p, err := s.cfg.Store.GetProperty(ctx, pid)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	ms, err := s.cfg.Store.ListMailings(ctx, pid)
	if err != nil {
		return nil, err
	}
	bookings, err := s.cfg.Store.ListBookingsDeparting(ctx, pid, bellhop.DateOf(now.In(p.Location())).AddDays(-maxDaysAfterDeparture))
	if err != nil {
		return nil, err
	}
	var enabled []bellhop.Mailing
	senders := map[string]*bellhop.Sender{}
	integrations := map[string]*bellhop.Integration{}
	for _, m := range ms {
		if !m.Enabled {
			continue
		}
		enabled = append(enabled, *m)
		if _, seen := senders[m.SendingMethod]; !seen {
			in, err := s.cfg.Store.GetIntegration(ctx, pid, m.SendingMethod)
			if err != nil && !bellhop.IsNotFound(err) {
				return nil, err
			}
			if in != nil {
				senders[m.SendingMethod] = in.Sender
				integrations[m.SendingMethod] = in
			} else {
				senders[m.SendingMethod] = nil
			}
		}
	}
	plain := make([]bellhop.Booking, 0, len(bookings))
	names := map[string]string{}
	for _, b := range bookings {
		plain = append(plain, *b)
		names[b.ID] = b.Guest.Name
	}
	out := &Upcoming{From: now, Until: now.AddDate(0, 0, days), Days: days, Sends: []UpcomingSend{}}
	if len(enabled) == 0 {
		out.Note = "No mailing is enabled."
	}
	method := map[bellhop.MailingKind]string{}
	for _, m := range enabled {
		method[m.Kind] = m.SendingMethod
	}
	for _, send := range Preview(enabled, *p, plain, now, days) {
		u := UpcomingSend{Send: send, GuestName: names[send.BookingID], Sender: senders[method[send.Kind]]}
		if u.Sender != nil {
			u.SenderLabel = u.Sender.Label()
		}
		out.Sends = append(out.Sends, u)
	}
	s.expect(ctx, out.Sends, enabled, integrations, p.Location(), bookings, now)
	return out, nil
}

// Deliveries lists a property's ledger with filters.
func (s *Service) Deliveries(ctx context.Context, pid string, f bellhop.DeliveryFilter) ([]*bellhop.Delivery, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, bellhop.Invalid("status", "must be one of scheduled, sending, sent, delivered, read, failed, skipped, cancelled")
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, bellhop.Invalid("kind", "must be one of welcome, feedback, non_guaranteed")
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, bellhop.Invalid("limit", "must be a whole number from 1 to 1000")
	}
	if _, err := s.cfg.Store.GetProperty(ctx, pid); err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.ListDeliveries(ctx, pid, f)
	return nonNil(ds), err
}

// GetDelivery returns one ledger row of a property; another property's is not found.
func (s *Service) GetDelivery(ctx context.Context, pid, id string) (*bellhop.Delivery, error) {
	d, err := s.cfg.Store.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.PropertyID != pid {
		return nil, bellhop.Errorf(bellhop.ENotFound, "Delivery %q not found.", id)
	}
	return d, nil
}

// RetryDelivery sends a failed or unconfirmed delivery again, now (paced like any other). An
// unconfirmed one is the person's "send again": they know the guest did not get it.
func (s *Service) RetryDelivery(ctx context.Context, pid, id string) (*bellhop.Delivery, error) {
	now := s.cfg.Clock.Now().UTC()
	var out *bellhop.Delivery
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		d, err := tx.GetDelivery(ctx, id)
		if err != nil {
			return err
		}
		if d.PropertyID != pid {
			return bellhop.Errorf(bellhop.ENotFound, "Delivery %q not found.", id)
		}
		if d.Status != bellhop.DeliveryFailed && d.Status != bellhop.DeliveryUnconfirmed {
			return bellhop.Errorf(bellhop.EConflict, "Only failed or unconfirmed deliveries can be sent again; this one is %s.", d.Status)
		}
		d.Status, d.Reason, d.DueAt, d.UpdatedAt = bellhop.DeliveryScheduled, "", now, now
		d.Version++
		d.Queued = true // due now: queued below
		if err := tx.SaveDelivery(ctx, d); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.schedule(ctx, []*bellhop.Delivery{out})
	return out, nil
}

// StatusReport is what a provider says happened to a message.
type StatusReport struct {
	// Mark is the idempotency marker the message was sent with: the delivery id.
	Mark      string
	MessageID string
	Status    bellhop.DeliveryStatus // delivered, read or failed
	Reason    string
	// At is when the provider says it happened; zero means now.
	At time.Time
}

// ReportEvent turns a provider callback into a status report: a read or delivered time, a
// failure, or a status word; events that carry none (a guest's message) report nothing.
func ReportEvent(ev provider.StatusEvent) (StatusReport, bool) {
	r := StatusReport{Mark: ev.Mark, MessageID: ev.MessageID, At: ev.At}
	switch strings.ToLower(strings.TrimSpace(ev.Status)) {
	case "read", "viewed", "seen":
		r.Status = bellhop.DeliveryRead
		if !ev.ViewedAt.IsZero() {
			r.At = ev.ViewedAt
		}
	case "delivered":
		r.Status = bellhop.DeliveryDelivered
		if !ev.DeliveredAt.IsZero() {
			r.At = ev.DeliveredAt
		}
	case "failed", "error", "undelivered", "rejected":
		r.Status = bellhop.DeliveryFailed
		r.Reason = "provider_failed"
		if ev.Error != "" {
			r.Reason += ": " + clipReason(ev.Error)
		}
	default:
		return StatusReport{}, false
	}
	return r, true
}

// clipReason keeps a provider's words short and printable for the ledger.
func clipReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// Report records a provider's status report on a property's delivery. Reports that would move
// a delivery backwards (read → delivered), repeat, or name another property's message are
// ignored; it reports whether the ledger changed.
func (s *Service) Report(ctx context.Context, pid string, r StatusReport) (bool, error) {
	var d *bellhop.Delivery
	var err error
	switch {
	case r.Mark != "":
		d, err = s.cfg.Store.GetDelivery(ctx, r.Mark)
		if bellhop.IsNotFound(err) && r.MessageID != "" {
			d, err = s.cfg.Store.DeliveryByMessageID(ctx, pid, r.MessageID)
		}
	case r.MessageID != "":
		d, err = s.cfg.Store.DeliveryByMessageID(ctx, pid, r.MessageID)
	default:
		return false, nil
	}
	if bellhop.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if d.PropertyID != pid {
		return false, nil
	}
	switch {
	case !d.Status.CanBecome(r.Status):
		// A report that would move the row backwards (read → delivered), or repeats: dropped.
		return false, nil
	case d.Status == bellhop.DeliveryScheduled:
		return false, nil // not sent: nothing the provider can report on
	case d.Status == bellhop.DeliverySending && r.Status == bellhop.DeliveryFailed:
		return false, nil // the worker records the failure it meets itself
	}
	// A delivered/read report on a sending row outran the worker that sent the message: the
	// row moves on now and the worker's "sent" adds to it.
	now := s.cfg.Clock.Now().UTC()
	sentAt := r.At
	if sentAt.IsZero() || sentAt.After(now) {
		sentAt = now
	}
	return s.cfg.Store.ReportDelivery(ctx, d.ID, d.Status, r.Status, r.Reason, r.MessageID, sentAt, now)
}
