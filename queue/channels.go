package queue

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
)

// A mailing names its channels in order. The send path takes the first that can reach the
// guest (mailings.Reach: an address of the channel's kind, an active and verified
// integration, something the channel may send now — WhatsApp's 24-hour rule — and no stop
// list naming the guest); the channels before it are left behind with their reasons in the
// ledger of attempts. A failure that is permanent for a channel and guest moves the delivery
// on to the next channel; a delivery's channel only ever moves forward.

// KindSource gives the declaration of a channel kind (provider.Registry is one).
type KindSource interface {
	Get(name string) (*provider.Kind, bool)
}

// PropertyStopList is the property's own stop list, when the store keeps one: a contact on it
// is sent nothing on any channel.
type PropertyStopList interface {
	StopListed(ctx context.Context, pid, contact string) (bool, error)
}

// channel is one of a mailing's channels, chosen for a delivery.
type channel struct {
	kind    string
	decl    *provider.Kind // nil for a kind without a declaration
	in      *bellhop.Integration
	client  provider.Provider
	msg     provider.Message
	contact string
	// lookup: the provider can list what it was sent (a Finder), so an attempt whose
	// outcome is unknown can be settled by asking; otherwise such an attempt is held.
	lookup bool
}

// declaration returns a kind's declaration, nil when the worker has none for it.
func (w *Worker) declaration(kind string) *provider.Kind {
	if w.cfg.Kinds == nil {
		return nil
	}
	k, ok := w.cfg.Kinds.Get(kind)
	if !ok {
		return nil
	}
	return k
}

// canLookUp reports whether the kind's client can list what it was sent.
func canLookUp(decl *provider.Kind, client any) bool {
	_, ok := client.(provider.Finder)
	return ok && (decl == nil || decl.Caps.Lookup)
}

// remaining lists the mailing's channels the delivery may still go through, in order: from
// its current channel on, without those it left behind.
func remaining(m *bellhop.Mailing, d *bellhop.Delivery) []string {
	methods := m.Methods()
	if i := slices.Index(methods, d.Channel); i > 0 {
		methods = methods[i:]
	}
	out := make([]string, 0, len(methods))
	for _, k := range methods {
		if !slices.Contains(d.ChannelsDone, k) {
			out = append(out, k)
		}
	}
	return out
}

// reach looks at one channel for the delivery: reason is "" when it can send now (c then
// carries the client and the composed message); wait marks a reason that may pass (a
// rejected key).
func (w *Worker) reach(ctx context.Context, log *sendLog, d *bellhop.Delivery, kind string, m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) (c *channel, reason string, wait bool, err error) {
	st := w.cfg.Store
	c = &channel{kind: kind, decl: w.declaration(kind)}
	in, err := st.GetIntegration(ctx, d.PropertyID, kind)
	switch {
	case bellhop.IsNotFound(err):
		in = nil
	case err != nil:
		return nil, "", false, err
	}
	c.in = in
	mc := mailings.Channel{Name: kind, Kind: c.decl, Integration: in, Links: w.cfg.Unsubscribe}
	c.contact = mc.Contact(b)
	if c.decl != nil && c.decl.Caps.CustomerWindow > 0 && c.contact != "" {
		if mc.LastInbound, err = st.LastInbound(ctx, d.PropertyID, kind, mailings.WindowContact(mc.Address(), c.contact)); err != nil {
			return nil, "", false, err
		}
	}
	msg, reason, wait := mailings.Reach(&mc, m, p, b, now)
	if reason != "" {
		return c, reason, wait, nil
	}
	client, err := w.cfg.Connector.Client(in)
	if err != nil {
		return nil, "", false, err
	}
	c.client, c.msg, c.lookup = client, msg, canLookUp(c.decl, client)
	// The account's own stop list: a guest who asked the hotel's provider to stop hears
	// nothing. A provider that cannot answer now makes the send wait; one that cannot read
	// the question (a stop list it does not offer, an answer of another shape) does not hold
	// every mailing back: the provider still refuses a stop-listed contact itself.
	if c.decl == nil || c.decl.Caps.StopList {
		if listed, err := w.stopListed(ctx, client, in, c.contact); err != nil {
			switch provider.FailureOf(err) {
			case provider.FailUnauthorized:
				_ = w.cfg.Connector.ProviderError(ctx, in, "check the stop list", err)
				return c, bellhop.ReasonIntegrationInvalid, true, nil
			case provider.FailUnavailable, provider.FailRateLimited:
				log.WarnContext(ctx, "could not check the stop list; the send waits for the provider", "channel", kind, "error", err)
				return nil, "", false, fmt.Errorf("check the stop list for delivery %s: %w", d.ID, err)
			default:
				log.WarnContext(ctx, "the provider's stop list could not be read; sending without it", "channel", kind, "error", err)
			}
		} else if listed {
			return c, bellhop.ReasonOptedOut, false, nil
		}
	}
	if ps, ok := st.(PropertyStopList); ok {
		listed, err := ps.StopListed(ctx, d.PropertyID, c.contact)
		if err != nil {
			return nil, "", false, err
		}
		if listed {
			return c, bellhop.ReasonOptedOut, false, nil
		}
	}
	return c, "", false, nil
}

// choose returns the first of the mailing's remaining channels that can send now, after
// recording the ones before it as skipped and moving the delivery onto it. It returns nil
// when the task is done: every channel was skipped (the delivery is skipped), or none can
// send now but one may later (the mailing is paused), or another run moved the row.
func (w *Worker) choose(ctx context.Context, log *sendLog, d *bellhop.Delivery, m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) (*channel, error) {
	st := w.cfg.Store
	var skipped []bellhop.DeliveryAttempt
	waiting := ""
	for _, kind := range remaining(m, d) {
		c, reason, wait, err := w.reach(ctx, log, d, kind, m, p, b, now)
		if err != nil {
			return nil, err
		}
		if reason == "" {
			// A first send's claim names its channel; a move is written only when channels
			// are left behind.
			if len(skipped) > 0 || (d.Channel != "" && kind != d.Channel) {
				w.forget(ctx, d) // its place in the line of the channel it leaves
				ok, err := st.MoveChannel(ctx, d, "", skipped, kind, bellhop.DeliveryScheduled, "", d.DueAt, now)
				if err != nil || !ok {
					return nil, err
				}
				d.ChannelsDone, d.Channel = d.DoneAfter(attemptChannels(skipped), kind), kind
				if len(skipped) > 0 {
					log.InfoContext(ctx, "channels that cannot reach the guest are skipped", "skipped", attemptChannels(skipped), "channel", kind)
				}
			}
			return c, nil
		}
		if wait && waiting == "" {
			waiting = kind + " (" + reason + ")"
		}
		skipped = append(skipped, bellhop.DeliveryAttempt{Channel: kind, Status: bellhop.DeliverySkipped, Reason: reason, At: now, UpdatedAt: now})
	}
	if waiting != "" {
		// The key was rejected: the mailing is paused, not skipped. The sweep picks the
		// delivery up again once the key is checked and verified.
		log.WarnContext(ctx, "send paused: no channel can send now; a channel waits for its key to be verified", "channel", waiting)
		return nil, nil
	}
	reason := bellhop.ReasonNoChannel
	if len(skipped) > 0 {
		reason = skipped[0].Reason
		for _, at := range skipped[1:] {
			if at.Reason != reason {
				reason = bellhop.ReasonNoChannel
			}
		}
	}
	ok, err := st.MoveChannel(ctx, d, "", skipped, "", bellhop.DeliverySkipped, reason, now, now)
	if err != nil || !ok {
		return nil, err
	}
	if err := st.ReleaseStay(ctx, d); err != nil {
		return nil, err
	}
	w.forget(ctx, d)
	w.metrics.sends.WithLabelValues("skipped").Inc()
	log.InfoContext(ctx, "message skipped: no channel can reach the guest", "reason", reason, "channels", attemptChannels(skipped))
	return nil, nil
}

func attemptChannels(list []bellhop.DeliveryAttempt) []string {
	out := make([]string, 0, len(list))
	for _, at := range list {
		out = append(out, at.Channel)
	}
	return out
}

// settle looks at an attempt whose outcome is unknown, on the channel it was made through:
// where the provider can list what it was sent, resolve asks it; where it cannot (email, the
// Cloud API), the row waits Settle for the provider's status callback and is then held as
// unconfirmed, never sent blind. It reports done when the task has nothing more to do now.
func (w *Worker) settle(ctx context.Context, log *sendLog, d *bellhop.Delivery, m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) (bool, error) {
	kind := d.Provider
	if kind == "" {
		kind = d.Channel
	}
	if kind == "" {
		kind = m.SendingMethod
	}
	in, err := w.cfg.Store.GetIntegration(ctx, d.PropertyID, kind)
	if bellhop.IsNotFound(err) {
		return true, w.skip(ctx, log, d, bellhop.ReasonIntegrationInactive)
	} else if err != nil {
		return true, err
	}
	client, err := w.cfg.Connector.Client(in)
	if err != nil {
		return true, err
	}
	decl := w.declaration(kind)
	if finder, ok := any(client).(provider.Finder); ok && canLookUp(decl, client) {
		text := ""
		if msg, ok := mailings.ComposeFor(&mailings.Channel{Name: kind, Kind: decl, Integration: in, Links: w.cfg.Unsubscribe}, m, p, b, now); ok {
			text = msg.Text
		}
		return w.resolve(ctx, log, finder, in, d, text)
	}
	settleAt := d.DueAt.Add(w.cfg.Settle)
	if now.Before(settleAt) {
		return true, &notYet{settleAt}
	}
	why := bellhop.ReasonUnconfirmed + ": an attempt did not finish and " + kind + " cannot be asked whether it has the message; send again only if the guest did not get it"
	if err := w.cfg.Store.UpdateAttempt(ctx, d.ID, d.Attempts, bellhop.DeliveryUnconfirmed, why, "", now); err != nil {
		return true, err
	}
	if _, err := w.cfg.Store.HoldDelivery(context.WithoutCancel(ctx), d.ID, d.Version, d.Attempts, why, now); err != nil {
		return true, err
	}
	w.metrics.sends.WithLabelValues("unconfirmed").Inc()
	log.ErrorContext(ctx, "held as unconfirmed: an unfinished attempt on a channel that cannot be asked", "channel", kind)
	return true, nil
}

// acquireRecipient waits for the recipient's slot on kinds that limit messages to one
// recipient (Pacing.PerRecipient), while the sender is leased: when the recipient's slot is
// not due, the sender's lease is given back (release) and the send comes back then. It returns
// the recipient's pacer key ("" when the kind has no such limit).
func (w *Worker) acquireRecipient(ctx context.Context, log *sendLog, d *bellhop.Delivery, ch *channel, sender string, start time.Time, release func(time.Time)) (string, bool, error) {
	if w.cfg.RecipientPacer == nil || ch.decl == nil || ch.decl.Pacing.PerRecipient <= 0 {
		return "", false, nil
	}
	digits := mailings.WindowContact(ch.decl.Address, ch.contact)
	if digits == "" {
		return "", false, nil
	}
	key := RecipientKey(sender, digits)
	ok, retryAt, err := w.cfg.RecipientPacer.Acquire(ctx, key, d.ID, w.cfg.SendTimeout)
	if err != nil {
		release(start)
		return "", true, err
	}
	if ok {
		return key, false, nil
	}
	release(start)
	now := w.cfg.Clock.Now()
	if _, err := w.cfg.Store.DeferDelivery(ctx, d.ID, d.Version, retryAt, now); err != nil {
		return "", true, err
	}
	log.InfoContext(ctx, "the recipient had a message from this sender moments ago; the send waits", "until", retryAt)
	return "", true, &notYet{retryAt}
}

// releaseRecipient ends the recipient's lease: the send ended at finished, or (zero) never
// started.
func (w *Worker) releaseRecipient(ctx context.Context, log *sendLog, key, msgID string, finished time.Time) {
	if key == "" {
		return
	}
	var err error
	if finished.IsZero() {
		err = w.cfg.RecipientPacer.Cancel(context.WithoutCancel(ctx), key, msgID)
	} else {
		err = w.cfg.RecipientPacer.Done(context.WithoutCancel(ctx), key, msgID, finished)
	}
	if err != nil {
		log.WarnContext(ctx, "pacer: releasing the recipient failed; its lease runs out on its own", "error", err)
	}
}

// RecipientKey is the pacer key of one recipient of a sender (digits of a phone, or an
// address) under the recipient pacer.
func RecipientKey(sender, recipient string) string {
	return sender + ":to=" + escapeKeyPart(recipient)
}

// KindOfKey is the channel kind a pacer key (SenderKey, RecipientKey) belongs to.
func KindOfKey(key string) string {
	first, _, _ := strings.Cut(key, ":")
	if k, err := url.PathUnescape(first); err == nil {
		return k
	}
	return first
}

// Intervals gives the pacer each sender's default interval from its kind's pacing profile:
// PerSender, or for the recipient pacer PerRecipient (0 for a kind without a declaration:
// the pacer's own default).
func Intervals(kinds KindSource, recipient bool) func(key string) time.Duration {
	return func(key string) time.Duration {
		k, ok := kinds.Get(KindOfKey(key))
		if !ok {
			return 0
		}
		if recipient {
			return k.Pacing.PerRecipient
		}
		return k.Pacing.PerSender
	}
}
