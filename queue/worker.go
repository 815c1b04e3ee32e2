package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/safehttp"
	"github.com/bellhop/bellhop/queue/pacer"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Store is the storage the send handler needs.
type Store interface {
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	GetBooking(ctx context.Context, pid, bid string) (*bellhop.Booking, error)
	GetMailing(ctx context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error)
	GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error)
	GetDelivery(ctx context.Context, id string) (*bellhop.Delivery, error)
	DeferDelivery(ctx context.Context, id string, version int, dueAt, now time.Time) (bool, error)
	// SkipDelivery marks a pending delivery skipped, while it is at version with attempts
	// claims (as the caller read it); see store.SkipDelivery.
	SkipDelivery(ctx context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error)
	// ClaimDelivery moves the delivery to sending (in a transaction with its stay claim); see
	// store.ClaimDelivery.
	ClaimDelivery(ctx context.Context, d *bellhop.Delivery, provider, senderID string, leaseUntil, now time.Time) (attempt int, owner string, err error)
	// DueDeliveries lists pending deliveries due by now whose integration can send (ID and
	// Version set).
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*bellhop.Delivery, error)
	// ReleaseStay gives up the delivery's claim on its stay, if it holds it.
	ReleaseStay(ctx context.Context, d *bellhop.Delivery) error
	// HoldDelivery moves a sending row whose outcome cannot be learned to unconfirmed, while
	// it is on claim number attempts.
	HoldDelivery(ctx context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error)
	// CheckedDelivery records that the provider was asked about a delivery.
	CheckedDelivery(ctx context.Context, id string, now time.Time) error
	// UnreportedDeliveries lists sent messages with no delivery news (see store).
	UnreportedDeliveries(ctx context.Context, sentFrom, sentTo, checkedBefore time.Time, limit int) ([]*bellhop.Delivery, error)
	// NoteForwardResult records a callback relay's failure (or a success after failures).
	NoteForwardResult(ctx context.Context, pid, provider string, failed bool, errText string, at time.Time) error
	// ReportDelivery moves a delivery from one status to the next on the provider's word.
	ReportDelivery(ctx context.Context, id string, from, to bellhop.DeliveryStatus, reason, messageID string, sentAt, now time.Time) (bool, error)
	// GuestSender and PinGuestSender keep the number of a pool that first sent to a guest
	// (by the phone's digits); see store.
	GuestSender(ctx context.Context, pid, provider, digits string) (string, error)
	PinGuestSender(ctx context.Context, pid, provider, digits, senderID string, at time.Time) error
	// FinishAttempt records the outcome of the provider call of claim number attempt, on the
	// delivery (while that claim is its latest) and on the attempt's line of the ledger.
	FinishAttempt(ctx context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time, attemptStatus bellhop.DeliveryStatus, attemptReason string) (bool, error)
	// UpdateAttempt records what became of a provider call on its line of the ledger.
	UpdateAttempt(ctx context.Context, deliveryID string, attempt int, status bellhop.DeliveryStatus, reason, messageID string, now time.Time) error
	// MoveChannel leaves the delivery's channel (and the skipped ones) behind for next, or
	// ends the delivery when next is "" (see store.MoveChannel).
	MoveChannel(ctx context.Context, d *bellhop.Delivery, failed string, skipped []bellhop.DeliveryAttempt, next string, status bellhop.DeliveryStatus, reason string, dueAt, now time.Time) (bool, error)
	// LastInbound is the guest's last message on a channel (zero when none is known).
	LastInbound(ctx context.Context, pid, channel, contact string) (time.Time, error)
}

// Connector gives a provider client for an integration and turns provider failures into
// integration state (a rejected key makes it invalid, which pauses its mailings).
type Connector interface {
	Client(in *bellhop.Integration) (provider.Provider, error)
	ProviderError(ctx context.Context, in *bellhop.Integration, doing string, err error) error
	// ForwardTarget is the webhook an integration relays callbacks to (forward mode).
	ForwardTarget(in *bellhop.Integration) (target string, ok bool, err error)
}

// Config wires a Worker. Zero values mean defaults where one is given.
type Config struct {
	Store     Store
	Connector Connector
	Pacer     *pacer.Pacer
	Client    *Client
	Clock     bellhop.Clock // default: system clock
	Logger    *slog.Logger  // default: slog.Default()
	// Registerer receives the send metrics; nil registers none.
	Registerer prometheus.Registerer
	// Concurrency is how many sends one process handles at once; default 20.
	Concurrency int
	// Lead is how long before its slot a send's task is taken up, to wait out the rest of the
	// time in-process: Asynq schedules on whole seconds. Default 2 s.
	Lead time.Duration
	// SendTimeout bounds one provider call; default 30 s.
	SendTimeout time.Duration
	// PollEvery is how often a worker whose queue was empty looks again: Asynq has no
	// notification, and its own default (a second, jittered 0.5–1.5 s) let a send due now,
	// or given its slot now, wait up to a second and a half for a worker that idled before
	// it came. Default 200 ms: 5 dequeues a second per idle process, 0.1–0.3 s to pick up.
	PollEvery time.Duration
	// SweepEvery is how often pending deliveries that are overdue (a lost enqueue, a paused
	// integration that can send again, a worker that died with the send) are queued again;
	// default 10 s (one indexed query).
	SweepEvery time.Duration
	// SweepGrace is how long past due a delivery must be before the sweep queues it, so it
	// does not race the task already on its way; default 15 s. Overdue with its task still
	// there, it gets a task of its own (the first is likely held by a dead worker).
	SweepGrace time.Duration
	// Sleep waits out the last moments before a slot; default a real timer.
	Sleep pacer.Sleep

	// An attempt whose outcome is unknown (a timeout, a crash, a 5xx) may still have reached
	// the provider, which does not deduplicate: before sending again the worker lists the
	// sender's messages since the claim and looks for the delivery's mark.
	//
	// Settle is how long after the attempt's end (its lease, or the provider's error answer)
	// the first look waits, so a message the provider is still taking in shows; default
	// SendTimeout. Recheck is the wait between the first empty look and the second (a listing
	// that lags); default SendTimeout. Only two empty looks let the message go again.
	Settle, Recheck time.Duration
	// HoldAfter is how long after its claim a row whose outcome the provider cannot tell (it
	// does not answer) is held as unconfirmed instead of asked again; default 1 h.
	HoldAfter time.Duration
	// LookBack widens the listing's start before the claim, for clocks that disagree;
	// default 10 min.
	LookBack time.Duration
	// LossCheckEvery is how often a worker checks that Redis still holds its data (one
	// SETNX): after an empty restart the sends due within Horizon are queued again at once;
	// default 2 s.
	LossCheckEvery time.Duration
	// Horizon is the planning horizon: how far ahead of their time sends are in Redis (see
	// Horizon); default bellhop.DefaultPlanHorizon.
	Horizon time.Duration
	// ReportAfter is how long a sent message waits for a status callback before its provider
	// is asked (GET messages/{id}); ReportEvery spaces the questions; both default 10 min.
	// Messages are asked about until read or a day after they were sent.
	ReportAfter, ReportEvery time.Duration
	// StopListFor is how long a worker process trusts an account's stop list as it last read
	// it, when the provider's client can read it whole: one read per account per StopListFor
	// instead of a question per send. Default DefaultStopListFor (a minute); negative asks
	// about each guest's phone as it is sent to.
	StopListFor time.Duration
	// RelayClient passes callbacks on to the webhook an integration replaced (forward mode);
	// it must not follow redirects. Default: https to public hosts only, no redirects.
	RelayClient *http.Client
	// Kinds declares the channel kinds (address, capabilities, pacing); a kind it does not
	// declare reaches phones with free text and is asked about unknown outcomes when its
	// client can list messages. Nil declares none.
	Kinds KindSource
	// Unsubscribe makes the one-click unsubscribe link of each e-mail (List-Unsubscribe and a
	// visible line); nil: e-mails carry none.
	Unsubscribe mailings.UnsubscribeLinks
	// RecipientPacer paces messages to one recipient on kinds whose profile limits them
	// (Pacing.PerRecipient, keyed by RecipientKey); nil paces senders only.
	RecipientPacer *pacer.Pacer
}

// Worker handles send tasks.
type Worker struct {
	cfg         Config
	metrics     *workerMetrics
	relayClient *http.Client
	placer      *Placer // the sweep places the sends it queues again, and knows the sender keys
	stopLists   stopLists
}

// NewWorker validates cfg and returns a Worker.
func NewWorker(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Connector == nil || cfg.Pacer == nil || cfg.Client == nil {
		return nil, errors.New("queue: Store, Connector, Pacer and Client are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 20
	}
	if cfg.Lead <= 0 {
		cfg.Lead = DefaultLead
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = DefaultPollEvery
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Second
	}
	if cfg.SweepGrace <= 0 {
		cfg.SweepGrace = 15 * time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = cfg.SendTimeout
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = cfg.SendTimeout
	}
	if cfg.HoldAfter <= 0 {
		cfg.HoldAfter = time.Hour
	}
	if cfg.LookBack <= 0 {
		cfg.LookBack = 10 * time.Minute
	}
	if cfg.LossCheckEvery <= 0 {
		cfg.LossCheckEvery = 2 * time.Second
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = bellhop.DefaultPlanHorizon
	}
	if cfg.ReportAfter <= 0 {
		cfg.ReportAfter = 10 * time.Minute
	}
	if cfg.ReportEvery <= 0 {
		cfg.ReportEvery = 10 * time.Minute
	}
	if cfg.StopListFor == 0 {
		cfg.StopListFor = DefaultStopListFor
	}
	relay := cfg.RelayClient
	if relay == nil {
		relay = safehttp.Policy{}.NoRedirectClient()
	}
	return &Worker{cfg: cfg, metrics: newWorkerMetrics(cfg.Registerer), relayClient: relay,
		placer: NewPlacer(cfg.Store, cfg.Pacer, cfg.Clock, cfg.Lead, cfg.Logger)}, nil
}

// DefaultPollEvery is Config.PollEvery's default.
const DefaultPollEvery = 200 * time.Millisecond

// notYet asks Asynq to come back at a given time; it is not a failure.
type notYet struct{ at time.Time }

func (e *notYet) Error() string { return "not yet: due at " + e.at.UTC().Format(time.RFC3339Nano) }

// isFailure tells Asynq which errors count against a task's retries.
func isFailure(err error) bool {
	var ny *notYet
	return !errors.As(err, &ny)
}

// retryDelay brings a waiting send back just before its time, and backs off other failures
// exponentially (2 s, 4 s, … up to 10 min, with jitter).
func (w *Worker) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var ny *notYet
	if errors.As(err, &ny) {
		return max(ny.at.Sub(w.cfg.Clock.Now())-w.cfg.Lead, 0)
	}
	d := time.Duration(math.Min(math.Pow(2, float64(n+1)), 600)) * time.Second
	return d + time.Duration(rand.Int64N(int64(d/4)+1))
}

// ProcessTask handles one send task.
func (w *Worker) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p sendPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.DeliveryID == "" {
		return fmt.Errorf("undecodable send task %q: %v: %w", t.Payload(), err, asynq.SkipRetry)
	}
	var slot time.Time
	if p.Slot != 0 {
		slot = time.UnixMicro(p.Slot)
	}
	return w.send(ctx, p.DeliveryID, p.Version, slot)
}

// Send sends a delivery's version if it is still due: it re-reads the booking, mailing and
// integration, waits for the sender's slot, claims the delivery and calls the provider with the
// delivery id as the idempotency mark, then records the outcome. A nil error means the task is
// done; *notYet means come back later; other errors are retried with backoff.
func (w *Worker) Send(ctx context.Context, id string, version int) error {
	return w.send(ctx, id, version, time.Time{})
}

// send is Send for a task queued for the slot its delivery holds (zero when none).
func (w *Worker) send(ctx context.Context, id string, version int, slot time.Time) error {
	st := w.cfg.Store
	d, err := st.GetDelivery(ctx, id)
	if bellhop.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Version != version || !d.Status.Pending() {
		// Re-planned, cancelled or already sent: another task (or none) owns it. A place it
		// held in its sender's line is given up.
		w.forget(ctx, d)
		return nil
	}
	now := w.cfg.Clock.Now()
	// Asynq runs a task on whole seconds: up to a second before the lead it was queued for.
	if d.DueAt.After(now.Add(w.cfg.Lead + time.Second)) {
		return &notYet{d.DueAt}
	}
	log := &sendLog{base: w.cfg.Logger, d: d}

	p, err := st.GetProperty(ctx, d.PropertyID)
	if err != nil {
		return err
	}
	b, err := st.GetBooking(ctx, d.PropertyID, d.BookingID)
	if err != nil {
		return err
	}
	m, err := st.GetMailing(ctx, d.PropertyID, d.Kind)
	if err != nil {
		return err
	}

	// A delivery left "sending" by an attempt that did not finish may have reached the
	// provider: ask (or wait for its word) before deciding anything else, on the channel the
	// attempt went through.
	if d.Status == bellhop.DeliverySending && d.Attempts > 0 {
		done, err := w.settle(ctx, log, d, m, p, b, now)
		if err != nil || done {
			return err
		}
	}

	dec := mailings.Plan(m, p, b, now)
	if dec.Skip != "" {
		return w.skip(ctx, log, d, dec.Skip)
	}
	if dec.At.After(now.Add(w.cfg.Lead)) {
		// Quiet hours began or the rules moved it: come back then.
		if _, err := st.DeferDelivery(ctx, d.ID, d.Version, dec.At, now); err != nil {
			return err
		}
		return &notYet{dec.At}
	}
	// The first of the mailing's channels that can reach the guest sends; those before it are
	// left behind with their reasons.
	ch, err := w.choose(ctx, log, d, m, p, b, now)
	if err != nil || ch == nil {
		return err
	}
	in, client, msg := ch.in, ch.client, ch.msg
	log.channel = ch.kind

	// The pacer: Acquire both asks for the sender and, for a message that holds no slot yet,
	// gives it one (its place in line). A run brought back for a slot it was given waits out
	// the last moments first (DueAt holds the slot), so it usually costs one Acquire.
	// A pool sends from the guest's number: in becomes that number's from here on.
	in, sender, err := w.sendFrom(ctx, in, d)
	if err != nil {
		return err
	}
	ch.in = in
	if err := pacer.Wait(ctx, w.cfg.Clock, latest(d.DueAt, slot), w.cfg.Sleep); err != nil {
		return err
	}
	// A refused Acquire is waited out in-process while the whole wait stays within the lead,
	// as a task taken up early waits out its slot: handing it back to Asynq would cost a
	// dequeue and up to a second of its scheduler's tick. (A fixed number of tries made a
	// sender that many tasks wait on at once, with sends longer than its interval, send a
	// burst, then idle for a second: scenario 10.)
	waitFrom := w.cfg.Clock.Now()
	for {
		ok, retryAt, err := w.cfg.Pacer.Acquire(ctx, sender, d.ID, w.cfg.SendTimeout)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		now := w.cfg.Clock.Now()
		if w.pausedSince(ctx, in, sender, d) {
			// A pool's number paused since it was chosen: the next run chooses again.
			if _, err := st.DeferDelivery(ctx, d.ID, d.Version, now, now); err != nil {
				return err
			}
			return &notYet{now}
		}
		if retryAt.Sub(waitFrom) > w.cfg.Lead {
			if _, err := st.DeferDelivery(ctx, d.ID, d.Version, retryAt, now); err != nil {
				return err
			}
			return &notYet{retryAt}
		}
		if err := pacer.Wait(ctx, w.cfg.Clock, retryAt, w.cfg.Sleep); err != nil {
			return err
		}
	}
	// The sender is leased to this send now: every way out calls Done.
	start := w.cfg.Clock.Now()
	var moved []pacer.Moved // waiting messages whose slots this send's end moved up
	release := func(at time.Time) {
		var err error
		if moved, err = w.cfg.Pacer.Finish(context.WithoutCancel(ctx), sender, d.ID, at); err != nil {
			log.ErrorContext(ctx, "pacer: releasing the sender failed; its lease runs out on its own", "error", err)
		}
	}
	// While the claim's lease runs, another task for this delivery (a redelivery) waits.
	senderID := ""
	if in.Sender != nil {
		senderID = in.Sender.ID
	}
	// A kind that limits messages to one recipient (Cloud API: one per 6 s) waits for the
	// recipient's slot too; the sender's lease is given back meanwhile.
	rkey, done, err := w.acquireRecipient(ctx, log, d, ch, sender, start, release)
	if err != nil || done {
		return err
	}
	attempt, owner, err := st.ClaimDelivery(ctx, d, ch.kind, senderID, start.Add(w.cfg.SendTimeout), start)
	if err != nil {
		if bellhop.IsNotFound(err) {
			// Cancelled or re-planned while waiting for the slot — or another run of this
			// task claimed it since this one read the row: that run may be inside its provider
			// call on this message's lease, which must not be released under it.
			if cur, gerr := st.GetDelivery(ctx, d.ID); gerr == nil && cur.Status == bellhop.DeliverySending && cur.Attempts > d.Attempts {
				log.InfoContext(ctx, "another run of this send claimed it first; this one stops")
				return nil
			}
			release(start)
			w.releaseRecipient(ctx, log, rkey, d.ID, time.Time{})
			return nil
		}
		release(start)
		w.releaseRecipient(ctx, log, rkey, d.ID, time.Time{})
		return err
	}
	if owner != d.ID {
		release(start)
		w.releaseRecipient(ctx, log, rkey, d.ID, time.Time{})
		log.InfoContext(ctx, "skipped: another booking of the same stay and phone gets this message", "owner", owner)
		return w.skip(ctx, log, d, bellhop.ReasonDuplicatePhone)
	}
	msg.SenderID, msg.Mark = senderID, d.ID
	d.Attempts, d.Status, d.Channel = attempt, bellhop.DeliverySending, ch.kind
	sctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	sent, sendErr := client.SendMessage(sctx, msg)
	cancel()
	finished := w.cfg.Clock.Now()
	release(finished)
	w.releaseRecipient(ctx, log, rkey, d.ID, finished)
	err = w.outcome(ctx, log, d, m, ch, sender, rkey, attempt, sent, sendErr, finished)
	w.moveUp(context.WithoutCancel(ctx), log, moved)
	return err
}

// outcome records what the provider answered, on the delivery and on the attempt's line of
// the ledger. A failure that is permanent for this channel and guest falls through to the
// mailing's next channel at once; with none left the delivery fails.
func (w *Worker) outcome(ctx context.Context, log *sendLog, d *bellhop.Delivery, m *bellhop.Mailing, ch *channel, sender, rkey string, attempt int, sent provider.SentMessage, err error, finished time.Time) error {
	st := w.cfg.Store
	in := ch.in
	ctx = context.WithoutCancel(ctx) // the provider has answered: record it even on shutdown
	if err == nil {
		ok, err := st.FinishAttempt(ctx, d.ID, d.Version, attempt, bellhop.DeliverySent, "", sent.MessageID, &finished, finished, finished, bellhop.DeliverySent, "")
		if err != nil {
			return err
		}
		if !ok {
			// The channel's callback outran this answer and moved the delivery on to its next
			// channel: this task carries on there now (the callback's wake-up found it running).
			if cur, err := st.GetDelivery(ctx, d.ID); err == nil && cur.Version == d.Version && cur.Status == bellhop.DeliveryScheduled {
				log.InfoContext(ctx, "the channel reported the guest unreachable before its answer came; the next channel goes on", "channel", cur.Channel)
				return &notYet{cur.DueAt}
			}
			return nil
		}
		w.pinGuest(ctx, log, in, d, finished)
		w.metrics.sends.WithLabelValues("sent").Inc()
		log.InfoContext(ctx, "message sent", "attempt", attempt, "message_id", sent.MessageID, "stack_id", sent.StackID, "sender", sender)
		return nil
	}
	pe, _ := provider.AsError(err)
	reason := err.Error()
	if pe != nil && pe.Reason != "" {
		reason = pe.Reason
	}
	// back puts the delivery back to scheduled (due at due) after a refused attempt.
	back := func(why string, due time.Time) error {
		_, ferr := st.FinishAttempt(ctx, d.ID, d.Version, attempt, bellhop.DeliveryScheduled, "", "", nil, due, finished, bellhop.DeliveryFailed, why)
		return ferr
	}
	switch provider.FailureOf(err) {
	case provider.FailUnreachable, provider.FailInvalidRequest, provider.FailNotFound:
		// This channel cannot carry this message to this guest (not on WhatsApp, a refused
		// number or text): sending again would fail the same way, the next channel may not.
		word := bellhop.ReasonProviderRejected
		if provider.FailureOf(err) == provider.FailUnreachable {
			word = bellhop.ReasonUnreachable
		}
		why := word + ": " + clip(reason)
		next := mailings.NextChannel(m, d)
		if next == "" {
			w.metrics.sends.WithLabelValues("failed").Inc()
			log.WarnContext(ctx, "provider refused the message", "error", err)
			_, ferr := st.MoveChannel(ctx, d, why, nil, "", bellhop.DeliveryFailed, why, finished, finished)
			return ferr
		}
		w.metrics.sends.WithLabelValues("fell_through").Inc()
		log.WarnContext(ctx, "the channel cannot reach the guest; the next channel is tried", "next", next, "error", err)
		if _, ferr := st.MoveChannel(ctx, d, why, nil, next, bellhop.DeliveryScheduled, "", finished, finished); ferr != nil {
			return ferr
		}
		return &notYet{finished} // at once, through the next channel
	case provider.FailRateLimited:
		retryAfter := time.Minute
		if pe != nil && pe.RetryAfter > 0 {
			retryAfter = pe.RetryAfter
		}
		// Too many messages to one recipient (Cloud API 131056) hold back that recipient
		// only; otherwise the sender backs off.
		if pe != nil && pe.Recipient && rkey != "" {
			if err := w.cfg.RecipientPacer.Backoff(ctx, rkey, finished.Add(retryAfter)); err != nil {
				return err
			}
			at := finished.Add(retryAfter)
			w.metrics.sends.WithLabelValues("rate_limited").Inc()
			log.WarnContext(ctx, "provider asked to slow down for this recipient", "retry_after", retryAfter)
			if err := back(bellhop.ReasonRateLimited+": "+clip(reason), at); err != nil {
				return err
			}
			return &notYet{at}
		}
		if err := w.cfg.Pacer.Backoff(ctx, sender, finished.Add(retryAfter)); err != nil {
			return err
		}
		res, err := w.cfg.Pacer.Reserve(ctx, sender, d.ID)
		if err != nil {
			return err
		}
		w.metrics.sends.WithLabelValues("rate_limited").Inc()
		log.WarnContext(ctx, "provider asked to slow down; the sender backs off", "retry_after", retryAfter, "next_slot", res.At)
		if err := back(bellhop.ReasonRateLimited+": "+clip(reason), res.At); err != nil {
			return err
		}
		return &notYet{res.At}
	case provider.FailUnauthorized:
		// The integration becomes invalid with the provider's reason, which pauses its
		// mailings; this delivery waits for the key to be fixed (or goes through a later
		// channel that can send).
		_ = w.cfg.Connector.ProviderError(ctx, in, "send a mailing", err)
		log.WarnContext(ctx, "provider rejected the key while sending; the integration's mailings are paused", "error", err)
		w.metrics.sends.WithLabelValues("paused").Inc()
		return back(bellhop.ReasonIntegrationInvalid+": "+clip(reason), finished)
	case provider.FailSenderBlocked:
		if err := w.cfg.Pacer.Pause(ctx, sender, "the provider reports the sender blocked: "+clip(reason)); err != nil {
			return err
		}
		log.ErrorContext(ctx, "provider reports the sender blocked; it is paused until an administrator resumes it", "sender", sender, "error", err)
		w.metrics.sends.WithLabelValues("paused").Inc()
		return back("sender_blocked: "+clip(reason), finished)
	default:
		if pe != nil && pe.Unsent {
			// The message surely did not leave (a refused connection): it simply goes again.
			w.metrics.sends.WithLabelValues("retry").Inc()
			log.WarnContext(ctx, "the message did not leave; it is sent again", "attempt", attempt, "error", err)
			if err := back("unsent: "+clip(reason), finished); err != nil {
				return err
			}
			return fmt.Errorf("send delivery %s: %w", d.ID, err)
		}
		// Unavailable, a timeout, or an answer we could not read: the provider may or may not
		// have the message, and it does not deduplicate.
		n, _ := asynq.GetRetryCount(ctx)
		limit, ok := asynq.GetMaxRetry(ctx)
		if !ch.lookup || (ok && n >= limit) {
			// Nothing can tell whether it arrived (no listing to ask; or every retry is
			// spent): held, never sent blind. A status callback may still settle it.
			why := bellhop.ReasonUnconfirmed + ": the provider did not confirm the message: " + clip(reason)
			if ch.lookup {
				why = bellhop.ReasonUnconfirmed + ": the provider did not confirm the message after every retry: " + clip(reason)
			}
			log.ErrorContext(ctx, "provider did not confirm the message; held as unconfirmed", "attempt", attempt, "error", err)
			w.metrics.sends.WithLabelValues("unconfirmed").Inc()
			if uerr := st.UpdateAttempt(ctx, d.ID, attempt, bellhop.DeliveryUnconfirmed, why, "", finished); uerr != nil {
				return uerr
			}
			_, herr := st.HoldDelivery(ctx, d.ID, d.Version, attempt, why, finished)
			return herr
		}
		// The delivery stays "sending"; the retry asks the provider first (resolve) and
		// sends again only when it shows nothing.
		w.metrics.sends.WithLabelValues("retry").Inc()
		log.WarnContext(ctx, "provider did not confirm the message; it is looked up before any new attempt", "attempt", attempt, "error", err)
		if uerr := st.UpdateAttempt(ctx, d.ID, attempt, bellhop.DeliverySending, "not confirmed yet: "+clip(reason), "", finished); uerr != nil {
			return uerr
		}
		// The attempt is over: the retry may start as soon as Asynq brings it back.
		if _, derr := st.DeferDelivery(ctx, d.ID, d.Version, finished, finished); derr != nil {
			return derr
		}
		return fmt.Errorf("send delivery %s: %w", d.ID, err)
	}
}

// resolve settles an attempt whose outcome is unknown. The provider keeps every message it is
// sent (no dedupe by mark), so the worker lists the sender's outgoing messages since the round's
// first claim and looks for the delivery's mark (or, should the listing not echo marks, the same
// text to the same phone). It reports done when the row needs nothing more from this task:
// found (recorded as sent), held as unconfirmed, or waiting for the next look (notYet). It
// returns false, nil only after two empty looks, Recheck apart, both later than Settle after the
// attempt ended: then the message may go again.
func (w *Worker) resolve(ctx context.Context, log *sendLog, client provider.Finder, in *bellhop.Integration, d *bellhop.Delivery, text string) (bool, error) {
	st := w.cfg.Store
	now := w.cfg.Clock.Now()
	settleAt := d.DueAt.Add(w.cfg.Settle) // DueAt of a sending row: the attempt's lease or answer
	if now.Before(settleAt) {
		return true, &notYet{settleAt}
	}
	claimed := d.UpdatedAt
	if d.ClaimedAt != nil {
		claimed = *d.ClaimedAt
	}
	senderID := d.SenderID
	if senderID == "" && in.Sender != nil {
		senderID = in.Sender.ID
	}
	// The second look is due Recheck after the first: asking sooner (Asynq brings a task back
	// a little early) would only list the provider again.
	if d.CheckedAt != nil && !d.CheckedAt.Before(settleAt) {
		if next := d.CheckedAt.Add(w.cfg.Recheck); now.Before(next) {
			return true, &notYet{next}
		}
	}
	found, err := findSent(ctx, client, senderID, claimed.Add(-w.cfg.LookBack), d, text)
	if err != nil {
		if provider.FailureOf(err) == provider.FailUnauthorized {
			// The key was rejected: the integration becomes invalid and its mailings wait;
			// the sweep brings this row back once a working key is activated.
			_ = w.cfg.Connector.ProviderError(ctx, in, "look up an unconfirmed message", err)
			return true, nil
		}
		if now.After(claimed.Add(w.cfg.HoldAfter)) {
			reason := bellhop.ReasonUnconfirmed + ": the provider could not be asked whether it has the message; send again only if the guest did not get it"
			if _, herr := st.HoldDelivery(context.WithoutCancel(ctx), d.ID, d.Version, d.Attempts, reason, now); herr != nil {
				return true, herr
			}
			w.metrics.sends.WithLabelValues("unconfirmed").Inc()
			log.ErrorContext(ctx, "held as unconfirmed: the provider could not be asked about an unfinished attempt", "since", claimed, "error", err)
			return true, nil
		}
		log.WarnContext(ctx, "could not ask the provider about an unfinished attempt; asking again later", "error", err)
		return true, fmt.Errorf("ask the provider about delivery %s: %w", d.ID, err)
	}
	if found != nil {
		at := found.CreatedAt
		if at.IsZero() {
			at = now
		}
		// Only while the row is still on the attempt looked up: another run of this send may
		// have settled it, or claimed it again, since this one read it.
		ok, err := st.FinishAttempt(ctx, d.ID, d.Version, d.Attempts, bellhop.DeliverySent, "", found.MessageID, &at, now, now, bellhop.DeliverySent, "")
		if err != nil {
			return true, err
		}
		if !ok {
			log.InfoContext(ctx, "another run of this send settled the unfinished attempt first; this one stops")
			return true, nil
		}
		if err := w.cfg.Pacer.Done(context.WithoutCancel(ctx), SenderKey(in), d.ID, at); err != nil {
			log.WarnContext(ctx, "pacer: releasing a found message's place failed", "error", err)
		}
		w.metrics.sends.WithLabelValues("sent").Inc()
		log.InfoContext(ctx, "an unfinished attempt had reached the provider; recorded as sent, not sent again", "message_id", found.MessageID)
		return true, nil
	}
	// Nothing there. A listing may lag behind the provider's intake: one empty look is not
	// enough; the second, Recheck later, decides.
	if d.CheckedAt == nil || d.CheckedAt.Before(settleAt) {
		if err := st.CheckedDelivery(ctx, d.ID, now); err != nil {
			return true, err
		}
		log.InfoContext(ctx, "the provider shows no earlier attempt yet; looking once more before sending again")
		return true, &notYet{now.Add(w.cfg.Recheck)}
	}
	// Two empty looks: the attempt did not reach the provider. The row goes back to scheduled,
	// so that waiting for the sender's slot now does not start the looks over; the next claim
	// opens a new round.
	// Only while the row is still on the attempt looked up: another run of this send (the task
	// Asynq retried and the one the sweep queued can run at once) may have found the same two
	// empty looks, claimed the delivery again and be calling the provider now; putting its row
	// back to scheduled would make that call's outcome miss its claim and send once more.
	ok, err := st.FinishAttempt(ctx, d.ID, d.Version, d.Attempts, bellhop.DeliveryScheduled, "", "", nil, now, now,
		bellhop.DeliveryFailed, "not at the provider: two looks found no such message")
	if err != nil {
		return true, err
	}
	if !ok {
		log.InfoContext(ctx, "another run of this send took the unfinished attempt on first; this one stops")
		return true, nil
	}
	d.Status = bellhop.DeliveryScheduled
	log.InfoContext(ctx, "the provider shows no earlier attempt after two looks; sending again", "since", claimed)
	return false, nil
}

// findSent pages through the sender's outgoing messages created after since and returns the
// one that carries the delivery's mark, or failing that, the same text to the same phone.
func findSent(ctx context.Context, client provider.Finder, senderID string, since time.Time, d *bellhop.Delivery, text string) (*provider.StoredMessage, error) {
	// The provider's times are in its account's zone. Where the client could not learn the
	// zone, "since" could land hours after the claim and hide the very message looked for:
	// the window then opens by the widest zone offset. A longer listing costs pages, a
	// missed message costs a duplicate.
	if z, ok := any(client).(interface {
		Location(ctx context.Context) (*time.Location, bool, error)
	}); ok {
		if _, known, err := z.Location(ctx); err != nil {
			return nil, err
		} else if !known {
			since = since.Add(-14 * time.Hour)
		}
	}
	msgs, err := client.Messages(ctx, provider.MessageFilter{SenderID: senderID, Outgoing: true, CreatedAfter: since})
	if err != nil {
		return nil, err
	}
	var byText *provider.StoredMessage
	for i := range msgs {
		m := &msgs[i]
		if m.SenderID != "" && senderID != "" && m.SenderID != senderID {
			continue
		}
		if m.Mark == d.ID {
			return m, nil
		}
		if byText == nil && text != "" && m.Mark == "" && m.Text == text && sameDigits(m.Phone, d.Phone) {
			byText = m
		}
	}
	return byText, nil
}

// sameDigits compares two phones by their digits ("+7 912…" and "7912…" are one number).
func sameDigits(a, b string) bool {
	da, db := bellhop.PhoneDigits(a), bellhop.PhoneDigits(b)
	return da != "" && da == db
}

// Reconcile asks the provider about sent messages that had no delivery news for a while
// (callbacks can be lost, or never configured): a message shows delivered_at and viewed_at.
// It returns how many rows moved on.
func (w *Worker) Reconcile(ctx context.Context) (int, error) {
	st := w.cfg.Store
	now := w.cfg.Clock.Now()
	list, err := st.UnreportedDeliveries(ctx, now.Add(-24*time.Hour), now.Add(-w.cfg.ReportAfter), now.Add(-w.cfg.ReportEvery), 200)
	if err != nil {
		return 0, err
	}
	clients := map[string]provider.Provider{}
	moved := 0
	for _, d := range list {
		key := d.PropertyID + "\x00" + d.Provider
		client, ok := clients[key]
		if !ok {
			in, err := st.GetIntegration(ctx, d.PropertyID, d.Provider)
			if err == nil && in.Status == bellhop.StatusVerified {
				client, _ = w.cfg.Connector.Client(in)
			}
			clients[key] = client
		}
		if client == nil {
			continue
		}
		m, err := client.Message(ctx, d.ProviderMessageID)
		if err != nil {
			if provider.FailureOf(err) == provider.FailUnauthorized || provider.FailureOf(err) == provider.FailUnavailable {
				clients[key] = nil // this account answers nothing now; the next round asks again
			}
			w.cfg.Logger.WarnContext(ctx, "could not ask the provider about a sent message", "delivery", d.ID, "error", err)
			if err := st.CheckedDelivery(ctx, d.ID, now); err != nil {
				return moved, err
			}
			continue
		}
		to, at := bellhop.DeliveryStatus(""), time.Time{}
		switch {
		case !m.ViewedAt.IsZero():
			to, at = bellhop.DeliveryRead, m.ViewedAt
		case !m.DeliveredAt.IsZero():
			to, at = bellhop.DeliveryDelivered, m.DeliveredAt
		}
		if to != "" && d.Status.CanBecome(to) {
			sentAt := at
			if d.SentAt != nil {
				sentAt = *d.SentAt
			}
			if ok, err := st.ReportDelivery(ctx, d.ID, d.Status, to, "", m.MessageID, sentAt, now); err != nil {
				return moved, err
			} else if ok {
				moved++
			}
		}
		if err := st.CheckedDelivery(ctx, d.ID, now); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// forget drops a delivery that will not be sent by this task from its sender's line.
func (w *Worker) forget(ctx context.Context, d *bellhop.Delivery) {
	if d.Status == bellhop.DeliverySent || d.Status == bellhop.DeliveryDelivered || d.Status == bellhop.DeliveryRead {
		return // Done released it
	}
	kind := d.Channel
	if kind == "" {
		m, err := w.cfg.Store.GetMailing(ctx, d.PropertyID, d.Kind)
		if err != nil {
			return
		}
		kind = m.SendingMethod
	}
	in, err := w.cfg.Store.GetIntegration(ctx, d.PropertyID, kind)
	if err != nil || in.Sender == nil {
		return
	}
	// In a pool, the place may be held with any of its numbers.
	for _, key := range poolKeys(in) {
		if err := w.cfg.Pacer.Cancel(ctx, key, d.ID); err != nil {
			w.cfg.Logger.WarnContext(ctx, "pacer: dropping a withdrawn delivery failed; it is forgotten later", "delivery", d.ID, "error", err)
		}
	}
}

func (w *Worker) skip(ctx context.Context, log *sendLog, d *bellhop.Delivery, reason string) error {
	now := w.cfg.Clock.Now()
	ok, err := w.cfg.Store.SkipDelivery(ctx, d.ID, d.Version, d.Attempts, reason, now)
	if err != nil {
		return err
	}
	if !ok {
		// Re-planned, or claimed by another run of this send since this one read it: that
		// run (or the new version's task) decides.
		log.InfoContext(ctx, "not skipped: the row moved on since it was read", "reason", reason)
		return nil
	}
	if reason != bellhop.ReasonDuplicatePhone {
		if err := w.cfg.Store.ReleaseStay(ctx, d); err != nil {
			return err
		}
	}
	w.forget(ctx, d)
	w.metrics.sends.WithLabelValues("skipped").Inc()
	log.InfoContext(ctx, "message skipped", "reason", reason)
	return nil
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// Sweep queues pending deliveries that are overdue: a send whose enqueue was lost (a crash
// between the database commit and Redis), or that waited for a paused integration. It returns
// how many it queued; sends already queued are left as they are.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	now := w.cfg.Clock.Now()
	// A sending row is looked at once its claim's lease and the settle time have passed (its
	// worker died mid-send); a scheduled one a grace after its time (its task is on its way).
	return w.sweep(ctx, now.Add(-min(w.cfg.SweepGrace, w.cfg.Settle)), now.Add(-w.cfg.SweepGrace), 1000)
}

// sweep queues up to limit pending deliveries due by cutoff (scheduled ones only when due by
// scheduledBy). A delivery not due yet is queued for now all the same: its task finds it early
// and comes back at its time. A sending one gets a task of its own for the attempt that died.
func (w *Worker) sweep(ctx context.Context, cutoff, scheduledBy time.Time, limit int) (int, error) {
	now := w.cfg.Clock.Now()
	rows, err := w.cfg.Store.DueDeliveries(ctx, cutoff, limit)
	if err != nil {
		return 0, err
	}
	var due, dead []*bellhop.Delivery
	for _, d := range rows {
		switch {
		case d.Status == bellhop.DeliverySending && d.Attempts > 0 && !d.DueAt.IsZero():
			dead = append(dead, d)
		case d.DueAt.IsZero() || !d.DueAt.After(scheduledBy):
			due = append(due, d)
		}
	}
	// A send whose place in its sender's line was lost (Redis lost the pacer's keys) gets a
	// new one here, in the order the deliveries were due, before the sends race for slots.
	slots := w.holdPlaces(ctx, due)
	n := 0
	for _, d := range due {
		at, slot := now, slots[d.ID]
		if !slot.IsZero() {
			at = slot.Add(-w.cfg.Lead)
		}
		queued, err := w.cfg.Client.enqueueSlot(ctx, d.ID, d.Version, d.ID+":v"+strconv.Itoa(d.Version), at, slot)
		if err != nil {
			return n, err
		}
		if !queued && !d.DueAt.IsZero() {
			// Overdue by the grace, yet its task exists: "active" in a worker that died (which
			// Asynq hands on only a minute or two later), or backing off after errors. A task
			// of its own for this due time runs it now; should both run, one claim wins.
			if err := w.cfg.Client.recover(ctx, d.ID, d.Version, "d"+strconv.FormatInt(d.DueAt.Unix(), 10), now); err != nil {
				return n, err
			}
		}
		n++
	}
	for _, d := range dead {
		if err := w.cfg.Client.recover(ctx, d.ID, d.Version, "a"+strconv.Itoa(d.Attempts), now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Run serves send tasks from Redis and sweeps periodically until ctx ends, then stops
// gracefully: tasks in progress finish or go back to the queue.
func (w *Worker) Run(ctx context.Context, rdb redis.UniversalClient) error {
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              w.cfg.Concurrency,
		Queues:                   map[string]int{w.cfg.Client.queue: 1},
		IsFailure:                isFailure,
		RetryDelayFunc:           w.retryDelay,
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        w.cfg.PollEvery,
		ShutdownTimeout:          w.cfg.SendTimeout + 5*time.Second,
		Logger:                   asynqLogger{w.cfg.Logger},
		LogLevel:                 asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	mux.Handle(TypeSend, w)
	mux.HandleFunc(TypeForward, w.forward)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start the send workers: %w", err)
	}
	t := time.NewTicker(w.cfg.SweepEvery)
	defer t.Stop()
	lost := time.NewTicker(w.cfg.LossCheckEvery)
	defer lost.Stop()
	w.redisKeptData(ctx, rdb) // sets the marker
	for {
		if n, err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.WarnContext(ctx, "sweep failed", "error", err)
		} else if n > 0 {
			w.cfg.Logger.InfoContext(ctx, "sweep queued overdue sends", "count", n)
		}
		if n, err := w.Reconcile(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.WarnContext(ctx, "asking providers about sent messages failed", "error", err)
		} else if n > 0 {
			w.cfg.Logger.InfoContext(ctx, "providers reported sent messages delivered or read", "count", n)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				srv.Shutdown()
				return nil
			case <-t.C:
				waiting = false
			case <-lost.C:
				w.checkLoss(ctx, rdb)
			}
		}
	}
}

// requeueAfterLoss runs when Redis came back empty (a restart, a failover to a replica that had
// not caught up, an eviction): every queued send is gone with it, including those waiting for
// their sender's slot. The database still has them: every one due within the planning horizon
// — all that Redis held, as later ones are only in the database anyway — is queued again now
// (in due order, each given a new place in its sender's line), not a sweep's grace after its
// time. The pacer rebuilds its senders from the database before it lets any of them through.
func (w *Worker) requeueAfterLoss(ctx context.Context) error {
	w.cfg.Logger.WarnContext(ctx, "Redis lost its data; the sends due within the planning horizon are queued again from the database", "horizon", w.cfg.Horizon)
	soon := w.cfg.Clock.Now().Add(w.cfg.Horizon)
	n, err := w.sweep(ctx, soon, soon, 100_000)
	if err != nil {
		return err
	}
	w.cfg.Logger.InfoContext(ctx, "sends queued again after Redis lost its data", "count", n)
	return nil
}

// checkLoss queues again what Redis lost when its marker is gone. The marker is set again by
// the look that finds it gone, so a re-queue that fails (the database, or Redis failing over
// right after it came back) takes the marker away again: the next look, by any worker, tries
// again, rather than leaving the lost sends to the sweep once they are overdue.
func (w *Worker) checkLoss(ctx context.Context, rdb redis.UniversalClient) {
	if w.redisKeptData(ctx, rdb) {
		return
	}
	if err := w.requeueAfterLoss(ctx); err != nil && ctx.Err() == nil {
		w.cfg.Logger.WarnContext(ctx, "re-queueing after Redis lost its data failed; the next look tries again", "error", err)
		if err := rdb.Del(context.WithoutCancel(ctx), w.markerKey()).Err(); err != nil {
			w.cfg.Logger.WarnContext(ctx, "could not take the marker back; the sweep queues the lost sends once overdue", "error", err)
		}
	}
}

// markerKey is the key whose absence says Redis lost its data. It shares the queue's hash tag,
// so on a Redis Cluster it lives (and is lost) with the queue's keys.
func (w *Worker) markerKey() string { return "bellhop:alive:{" + w.cfg.Client.queue + "}" }

// redisKeptData reports whether Redis still holds the worker's marker key, and sets it when
// it does not (the first call, or after Redis lost its data). A Redis that does not answer
// counts as keeping its data: losing the connection is not losing the data.
func (w *Worker) redisKeptData(ctx context.Context, rdb redis.UniversalClient) bool {
	set, err := rdb.SetNX(ctx, w.markerKey(), "1", 0).Result()
	if err != nil {
		return true
	}
	return !set
}

// asynqLogger sends Asynq's own log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }

type workerMetrics struct {
	sends *prometheus.CounterVec
}

func newWorkerMetrics(reg prometheus.Registerer) *workerMetrics {
	m := &workerMetrics{sends: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bellhop_sends_total", Help: "Send attempts by outcome: sent, failed, skipped, retry, rate_limited, paused, unconfirmed.",
	}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(m.sends)
	}
	return m
}
