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

// ListMailings lists a property's mailings; sendingMethod, when not empty, keeps those that
// may be sent through that channel kind (any of their sending methods).
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
		if sendingMethod != "" && !m.Uses(sendingMethod) {
			continue
		}
		v := &MailingView{Mailing: m}
		if m.Enabled {
			// Paused when none of its channels can send; the first channel's trouble is told.
			why := ""
			for _, kind := range m.Methods() {
				in, err := s.cfg.Store.GetIntegration(ctx, pid, kind)
				reason := ""
				switch {
				case bellhop.IsNotFound(err):
					reason = "The " + kind + " integration is not connected."
				case err != nil:
					return nil, err
				case in.Status == bellhop.StatusInvalid:
					reason = "The provider rejected the API key (" + in.StatusReason + "). Enter a working key and check it; the waiting messages go out once the integration is active again."
				case !in.Active:
					reason = "The integration is switched off; the waiting messages go out once it is active again."
				}
				if reason == "" {
					why = ""
					break
				}
				if why == "" {
					why = reason
				}
			}
			v.Paused, v.PausedReason = why != "", why
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

// checkSendingMethod refuses a sending method that is no channel kind Bellhop knows, before
// it is stored: a mailing "sent" through it would wait for ever. field names the input.
func (s *Service) checkSendingMethod(field, method string) error {
	if method == "" || len(s.cfg.SendingMethods) == 0 || slices.Contains(s.cfg.SendingMethods, method) {
		return nil // empty, or a name Mailing.Validate judges
	}
	return bellhop.Invalid(field, "%q is not a channel Bellhop knows; use one of: %s",
		bellhop.Excerpt(method), strings.Join(s.cfg.SendingMethods, ", "))
}

// MailingPatch is a change to a mailing; nil fields stay as they are. Templates, WATemplates
// and Subjects replace the entries of the languages they name; an empty text (a null
// template) removes that language. SendingMethods replaces the channels; SendingMethod alone
// (the form of clients that know one channel) makes that channel the first, the others
// keeping their order after it.
type MailingPatch struct {
	Enabled        *bool                          `json:"enabled"`
	SendingMethod  *string                        `json:"sending_method"`
	SendingMethods *[]string                      `json:"sending_methods"`
	Templates      map[string]string              `json:"templates"`
	WATemplates    map[string]*bellhop.WATemplate `json:"wa_templates"`
	Subjects       map[string]string              `json:"subjects"`
	Schedule       *SchedulePatch                 `json:"schedule"`
}

// applyChannels sets the mailing's channels from the patch, checking each is a known kind.
func (s *Service) applyChannels(m *bellhop.Mailing, patch MailingPatch) error {
	switch {
	case patch.SendingMethods != nil:
		var errs []error
		methods := make([]string, 0, len(*patch.SendingMethods))
		for _, k := range *patch.SendingMethods {
			k = strings.TrimSpace(k)
			errs = append(errs, s.checkSendingMethod("sending_methods", k))
			methods = append(methods, k)
		}
		if err := bellhop.JoinInvalid(errs...); err != nil {
			return err
		}
		m.SendingMethods = methods
	case patch.SendingMethod != nil:
		first := strings.TrimSpace(*patch.SendingMethod)
		if err := s.checkSendingMethod("sending_method", first); err != nil {
			return err
		}
		methods := []string{first}
		for _, k := range m.Methods() {
			if k != first {
				methods = append(methods, k)
			}
		}
		m.SendingMethods = methods
	default:
		return nil
	}
	m.SendingMethod = ""
	if len(m.SendingMethods) > 0 {
		m.SendingMethod = m.SendingMethods[0]
	}
	return nil
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

// applyPatch changes mailing m as the patch says (see MailingPatch).
func (s *Service) applyPatch(m *bellhop.Mailing, patch MailingPatch) error {
	if patch.Enabled != nil {
		m.Enabled = *patch.Enabled
	}
	if err := s.applyChannels(m, patch); err != nil {
		return err
	}
	for lang, t := range patch.WATemplates {
		if m.WATemplates == nil {
			m.WATemplates = map[string]bellhop.WATemplate{}
		}
		if t == nil || (t.Name == "" && len(t.Params) == 0) {
			delete(m.WATemplates, lang)
		} else {
			m.WATemplates[lang] = *t
		}
	}
	mergeTexts(&m.Subjects, patch.Subjects)
	mergeTexts(&m.Templates, patch.Templates)
	if patch.Schedule != nil {
		patch.Schedule.apply(&m.Schedule)
	}
	return nil
}

// PatchMailing changes a mailing and plans again every booking it may still concern:
// enabling plans the future bookings, disabling cancels the pending sends, a new schedule
// moves them. Unknown placeholders and bad schedule fields are invalid_input naming them.
// WhatsApp templates the patch names are checked against the approved lists of the
// mailing's channels that send templates first (see CheckWATemplates): one a provider does
// not have is invalid_input naming it; a channel that cannot be asked now leaves a warning.
func (s *Service) PatchMailing(ctx context.Context, pid string, kind bellhop.MailingKind, patch MailingPatch) (*SavedMailing, error) {
	if !kind.Valid() {
		return nil, unknownKind(kind)
	}
	check, err := s.checkTemplates(ctx, pid, kind, patch)
	if err != nil {
		return nil, err
	}
	patch = check.patch
	now := s.cfg.Clock.Now().UTC()
	var out *bellhop.Mailing
	var queue []*bellhop.Delivery
	var late []MailingWarning
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		out, queue, late = nil, nil, nil // the store may run a transaction again
		p, err := tx.GetProperty(ctx, pid)
		if err != nil {
			return err
		}
		m, err := tx.GetMailing(ctx, pid, kind)
		if err != nil {
			return err
		}
		if err := s.applyPatch(m, patch); err != nil {
			return err
		}
		if err := Validate(*m); err != nil {
			return err
		}
		if m.Enabled {
			var errs []error
			for _, kind := range m.Methods() {
				if _, err := tx.GetIntegration(ctx, pid, kind); bellhop.IsNotFound(err) {
					errs = append(errs, bellhop.Invalid("sending_methods", "the property has no %s integration; connect it first or remove it from the channels", kind))
				} else if err != nil {
					return err
				}
			}
			if err := bellhop.JoinInvalid(errs...); err != nil {
				return err
			}
		}
		if s.cfg.Templates != nil && patch.namesTemplates() {
			// Channels another change put in the mailing since the templates were checked.
			for _, method := range s.templateMethods(m.Methods()) {
				if !check.asked[method] {
					late = append(late, uncheckedWarning(method, s.kind(method).Title, "it was added to the channels meanwhile"))
				}
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
	warnings := append(append([]MailingWarning{}, check.warnings...), late...)
	s.cfg.Logger.InfoContext(ctx, "mailing changed", "property", pid, "kind", kind, "enabled", out.Enabled, "sends_queued", len(queue),
		"warnings", len(warnings))
	s.schedule(ctx, queue)
	return &SavedMailing{Mailing: out, Warnings: warnings}, nil
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
	// Channel is the channel the guest would get it through: the first of the mailing's
	// channels that can reach the guest ("" when none can); Skipped says why each one before
	// it cannot (no_email, no_template, opted_out, integration_inactive, …).
	Channel string        `json:"channel"`
	Skipped []ChannelSkip `json:"skipped,omitempty"`
}

// ChannelSkip is a channel the preview passes over for a guest, and why.
type ChannelSkip struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
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
		for _, kind := range m.Methods() {
			if _, seen := senders[kind]; seen {
				continue
			}
			in, err := s.cfg.Store.GetIntegration(ctx, pid, kind)
			if err != nil && !bellhop.IsNotFound(err) {
				return nil, err
			}
			if in != nil {
				senders[kind] = in.Sender
				integrations[kind] = in
			} else {
				senders[kind] = nil
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
	if err := s.route(ctx, out.Sends, enabled, integrations, p, bookings); err != nil {
		return nil, err
	}
	s.expect(ctx, out.Sends, enabled, integrations, p.Location(), bookings, now)
	return out, nil
}

// route tells each planned message the channel it would go through, as the send path would
// choose it at the message's time from what Bellhop holds (the guest's addresses, the
// channels' integrations, the guest's last message per channel, the mailing's texts, the
// property's stop list; not the provider's own stop list, which only a send asks), and why
// the channels before it cannot reach the guest. Its sender is that channel's.
func (s *Service) route(ctx context.Context, sends []UpcomingSend, ms []bellhop.Mailing, ins map[string]*bellhop.Integration, p *bellhop.Property, bookings []*bellhop.Booking) error {
	mailing := map[bellhop.MailingKind]bellhop.Mailing{}
	for _, m := range ms {
		mailing[m.Kind] = m
	}
	booking := map[string]*bellhop.Booking{}
	for _, b := range bookings {
		booking[b.ID] = b
	}
	stops, _ := s.cfg.Store.(interface {
		StopListed(ctx context.Context, pid, contact string) (bool, error)
	})
	for i := range sends {
		u := &sends[i]
		m, b := mailing[u.Kind], booking[u.BookingID]
		if b == nil {
			continue
		}
		u.Sender, u.SenderLabel = nil, ""
		for _, kind := range m.Methods() {
			c := Channel{Name: kind, Kind: s.kind(kind), Integration: ins[kind]}
			if c.Kind != nil && c.Kind.Caps.CustomerWindow > 0 && c.Contact(b) != "" {
				at, err := s.cfg.Store.LastInbound(ctx, p.ID, kind, WindowContact(c.Address(), c.Contact(b)))
				if err != nil {
					return err
				}
				c.LastInbound = at
			}
			_, reason, _ := Reach(&c, &m, p, b, u.At)
			if reason == "" && stops != nil {
				listed, err := stops.StopListed(ctx, p.ID, c.Contact(b))
				if err != nil {
					return err
				}
				if listed {
					reason = bellhop.ReasonOptedOut
				}
			}
			if reason != "" {
				u.Skipped = append(u.Skipped, ChannelSkip{Channel: kind, Reason: reason})
				continue
			}
			u.Channel = kind
			if in := ins[kind]; in != nil && in.Sender != nil {
				u.Sender, u.SenderLabel = in.Sender, in.Sender.Label()
			}
			break
		}
	}
	return nil
}

// kind returns a channel kind's declaration, nil when the service has none.
func (s *Service) kind(name string) *provider.Kind {
	if s.cfg.Kinds == nil {
		return nil
	}
	k, _ := s.cfg.Kinds.Get(name)
	return k
}

// WindowContact is how a guest's contact is keyed for the customer window (as the send path
// and the callbacks key it): a phone by its digits, an e-mail address in lower case.
func WindowContact(a provider.Address, contact string) string {
	switch a {
	case provider.AddressPhone:
		return bellhop.PhoneDigits(contact)
	case provider.AddressEmail:
		return strings.ToLower(strings.TrimSpace(contact))
	}
	return strings.TrimSpace(contact)
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
	ds, err := s.cfg.Store.ListDeliveriesWithAttempts(ctx, pid, f)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		// Rows of the ledger are a property's own (a foreign key), so only an empty list
		// needs to ask whether the property exists: a missing one is not found.
		if _, err := s.cfg.Store.GetProperty(ctx, pid); err != nil {
			return nil, err
		}
	}
	return nonNil(ds), nil
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
	if d.AttemptLog, err = s.cfg.Store.DeliveryAttempts(ctx, d.ID); err != nil {
		return nil, err
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
		// Sent again on a person's word: from the mailing's first channel, as new.
		d.Channel, d.ChannelsDone = "", nil
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
	// Channel is the kind whose callback says it ("" when unknown); a report from a channel
	// the delivery has left behind changes nothing.
	Channel string
	// FallThrough marks a failure that is permanent for the channel and guest (WhatsApp's
	// 131026): the delivery goes on to its mailing's next channel.
	FallThrough bool
}

// ReportEvent turns a provider callback into a status report: a read or delivered time, a
// failure, or a status word; events that carry none (a guest's message) report nothing.
func ReportEvent(ev provider.StatusEvent) (StatusReport, bool) {
	r := StatusReport{Mark: ev.Mark, MessageID: ev.MessageID, At: ev.At, FallThrough: ev.FallThrough}
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
		if ev.FallThrough {
			r.Reason = bellhop.ReasonUnreachable
		}
		switch {
		case ev.Error != "":
			r.Reason += ": " + clipReason(ev.Error)
		case ev.Code != "":
			r.Reason += ": " + clipReason(ev.Code)
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
	if r.Channel != "" && d.Channel != "" && r.Channel != d.Channel {
		return false, nil // about a channel the delivery has left behind
	}
	if r.Status == bellhop.DeliveryFailed && r.FallThrough {
		return s.fallThrough(ctx, d, r)
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
	ok, err := s.cfg.Store.ReportDelivery(ctx, d.ID, d.Status, r.Status, r.Reason, r.MessageID, sentAt, now)
	if err != nil || !ok {
		return ok, err
	}
	// The latest attempt's line of the ledger says it too.
	return true, s.cfg.Store.UpdateAttempt(ctx, d.ID, d.Attempts, r.Status, r.Reason, r.MessageID, now)
}

// fallThrough applies a provider's later word that the delivery's latest message cannot
// reach the guest on its channel: the delivery goes on to its mailing's next channel (its
// send is queued at once) or, with none left, fails. Only a report about the latest attempt
// counts: a message id other than the delivery's, a delivered or read delivery, or a repeat
// changes nothing.
func (s *Service) fallThrough(ctx context.Context, d *bellhop.Delivery, r StatusReport) (bool, error) {
	switch d.Status {
	case bellhop.DeliverySending, bellhop.DeliverySent, bellhop.DeliveryUnconfirmed:
	default:
		return false, nil
	}
	if d.Attempts == 0 || (r.MessageID != "" && d.ProviderMessageID != "" && r.MessageID != d.ProviderMessageID) {
		return false, nil
	}
	if r.MessageID == "" && r.Mark != d.ID {
		return false, nil
	}
	m, err := s.cfg.Store.GetMailing(ctx, d.PropertyID, d.Kind)
	if err != nil {
		return false, err
	}
	next := NextChannel(m, d)
	now := s.cfg.Clock.Now().UTC()
	ok, err := s.cfg.Store.FallThrough(ctx, d, next, r.Reason, now, now)
	if err != nil || !ok {
		return ok, err
	}
	s.cfg.Logger.InfoContext(ctx, "a channel reported the guest unreachable; the next channel is tried",
		"delivery", d.ID, "channel", d.Channel, "next", next, "reason", r.Reason)
	if next != "" {
		d.Status, d.DueAt, d.Channel = bellhop.DeliveryScheduled, now, next
		if err := s.cfg.Scheduler.Wake(ctx, []*bellhop.Delivery{d}); err != nil {
			// The sweep queues it within its grace.
			s.cfg.Logger.WarnContext(ctx, "queueing the send on the next channel failed; the sweep queues it", "delivery", d.ID, "error", err)
		}
	}
	return true, nil
}

// NextChannel is the mailing's channel after the delivery's current one that the delivery
// has not left behind, or "" when none is left.
func NextChannel(m *bellhop.Mailing, d *bellhop.Delivery) string {
	methods := m.Methods()
	if i := slices.Index(methods, d.Channel); i >= 0 {
		methods = methods[i+1:]
	}
	for _, k := range methods {
		if k != d.Channel && !slices.Contains(d.ChannelsDone, k) {
			return k
		}
	}
	return ""
}

// NoteInbound records a guest's message (an inbound event of channel kind) for the 24-hour
// rule: free text may follow on that channel within the kind's window. It reports whether
// the event was a guest's message.
func (s *Service) NoteInbound(ctx context.Context, pid, kind string, ev provider.StatusEvent) (bool, error) {
	if !ev.Inbound && ev.Event != "new_message" {
		return false, nil
	}
	contact := bellhop.PhoneDigits(ev.Phone)
	if contact == "" {
		return false, nil
	}
	now := s.cfg.Clock.Now().UTC()
	at := ev.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	return true, s.cfg.Store.NoteInbound(ctx, pid, kind, contact, at)
}

// mergeTexts applies a patch of texts per language to *texts: an empty text removes that
// language.
func mergeTexts(texts *map[string]string, patch map[string]string) {
	for lang, text := range patch {
		if *texts == nil {
			*texts = map[string]string{}
		}
		if text == "" {
			delete(*texts, lang)
		} else {
			(*texts)[lang] = text
		}
	}
}
