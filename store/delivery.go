package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// SaveDelivery writes a ledger row whole, creating it or replacing it (by id).
func (a *access) SaveDelivery(ctx context.Context, d *bellhop.Delivery) error {
	_, err := a.exec(ctx, "save-delivery", deliveryArgs(d)...)
	if isForeignKeyViolation(err) {
		return propertyNotFound(d.PropertyID)
	}
	if err != nil {
		return fmt.Errorf("save delivery %s: %w", d.ID, err)
	}
	return nil
}

// deliveryArgs are save-delivery's parameters for d, whose times it brings to what the
// database keeps.
func deliveryArgs(d *bellhop.Delivery) []any {
	d.PlannedAt, d.DueAt = dbTime(d.PlannedAt), dbTime(d.DueAt)
	d.CreatedAt, d.UpdatedAt = dbTime(d.CreatedAt), dbTime(d.UpdatedAt)
	d.SentAt = dbTimePtr(d.SentAt)
	queued := 0 // the version handed to the queue: none yet, unless it was
	if d.Queued {
		queued = d.Version
	}
	return []any{d.ID, d.PropertyID, d.BookingID, string(d.Kind), d.StayKey, d.Phone,
		d.Language, toMicros(d.PlannedAt), toMicros(d.DueAt), string(d.Status), d.Reason, d.Provider,
		d.ProviderMessageID, d.SenderID, d.Attempts, d.Version, nullMicros(d.SentAt), toMicros(d.CreatedAt),
		toMicros(d.UpdatedAt), queued, d.Channel, strings.Join(d.ChannelsDone, ",")}
}

// GetDelivery reads a ledger row by id, whatever its property: callers that serve a property
// check it.
func (a *access) GetDelivery(ctx context.Context, id string) (*bellhop.Delivery, error) {
	d, err := scanDelivery(a.queryRow(ctx, "get-delivery", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "Delivery %q not found.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery %s: %w", id, err)
	}
	return d, nil
}

// BookingDeliveries lists a booking's ledger rows, by kind.
func (a *access) BookingDeliveries(ctx context.Context, pid, bid string) ([]*bellhop.Delivery, error) {
	rows, err := a.queryRows(ctx, "list-booking-deliveries", pid, bid)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of booking %q: %w", bid, err)
	}
	list, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of booking %q: %w", bid, err)
	}
	return list, nil
}

// ListDeliveries lists a property's ledger, newest planned first.
func (a *access) ListDeliveries(ctx context.Context, pid string, f bellhop.DeliveryFilter) ([]*bellhop.Delivery, error) {
	q, args, err := a.listQuery("list-deliveries", pid, f)
	if err != nil {
		return nil, err
	}
	rows, err := a.queryRowsText(ctx, "list-deliveries", q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of property %q: %w", pid, err)
	}
	list, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of property %q: %w", pid, err)
	}
	return list, nil
}

// listShapes caches the ledger's list queries by dialect, name, the filters they have and limit.
var listShapes sync.Map

// listQuery returns the ledger list query name (list-deliveries or
// list-deliveries-with-attempts) with the conditions of the filters f has, and its
// parameters. Each shape of filter is a statement of its own: a prepared statement with one
// plan serves it on PostgreSQL, planned once per connection rather than on every call, and
// that plan fits the filters (the index of the status, the kind or the booking, or the
// ledger's own order) whatever values they take.
func (a *access) listQuery(name, pid string, f bellhop.DeliveryFilter) (string, []any, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args := make([]any, 1, 6)
	args[0] = pid
	shape := 0
	for i, c := range []struct {
		given bool
		arg   any
	}{
		{f.Status != "", string(f.Status)},
		{f.Kind != "", string(f.Kind)},
		{f.BookingID != "", f.BookingID},
		{!f.PlannedFrom.IsZero(), toMicros(f.PlannedFrom)},
		{!f.PlannedTo.IsZero(), toMicros(f.PlannedTo)},
	} {
		if c.given {
			shape |= 1 << i
			args = append(args, c.arg)
		}
	}
	key := listKey{a.dialect, name, shape, f.Limit}
	if q, ok := listShapes.Load(key); ok {
		return q.(string), args, nil
	}
	raw, err := rawQuery(name)
	if err != nil {
		return "", nil, err
	}
	const at, limit = "WHERE property_id = ?", "LIMIT ?"
	if strings.Count(raw, at) != 1 || strings.Count(raw, limit) != 1 {
		return "", nil, fmt.Errorf("store: query %q has no single %q and %q to add filters to", name, at, limit)
	}
	var cond strings.Builder
	for i, c := range []string{" AND status = ?", " AND kind = ?", " AND booking_id = ?", " AND planned_at >= ?", " AND planned_at < ?"} {
		if shape&(1<<i) != 0 {
			cond.WriteString(c)
		}
	}
	q := strings.Replace(raw, at, at+cond.String(), 1)
	// The limit is written into the statement: a generic plan knows no "LIMIT $n" and costs it
	// as a tenth of the rows, dearer than the plans made for the values, so PostgreSQL kept
	// planning the list on every call rather than using its one cached plan.
	q = strings.Replace(q, limit, "LIMIT "+strconv.Itoa(f.Limit), 1)
	if a.dialect == DialectPostgres {
		q = rebind(q)
	}
	if f.Limit <= maxCachedLimit {
		listShapes.Store(key, q)
	}
	return q, args, nil
}

// maxCachedLimit bounds the list queries kept built (the API's largest page): a caller's
// larger limit is built each time.
const maxCachedLimit = 1000

type listKey struct {
	dialect, name string
	shape, limit  int
}

// DueDelivery names a pending delivery a worker should look at.
type DueDelivery struct {
	ID       string
	Version  int
	Status   bellhop.DeliveryStatus
	Attempts int
	DueAt    time.Time
}

// DueDeliveries lists pending deliveries due by now whose integration can send (active, with
// a verified key), oldest first: the sweep that re-queues sends a crash or a lost enqueue left
// behind.
func (a *access) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]DueDelivery, error) {
	rows, err := a.queryRows(ctx, "due-deliveries", toMicros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list due deliveries: %w", err)
	}
	defer rows.Close()
	var out []DueDelivery
	for rows.Next() {
		var d DueDelivery
		var status string
		var due int64
		if err := rows.Scan(&d.ID, &d.Version, &status, &d.Attempts, &due); err != nil {
			return nil, fmt.Errorf("list due deliveries: %w", err)
		}
		d.Status, d.DueAt = bellhop.DeliveryStatus(status), fromMicros(due)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list due deliveries: %w", err)
	}
	return out, nil
}

// ClaimDelivery is the step before calling the provider: it moves a pending delivery of the
// given version to sending (a sending one stays sending: a retry) and counts the attempt,
// after taking the stay's claim so that one message per phone, stay and kind goes out. It
// returns the attempt number, or 0 with the delivery's stay owner when another delivery owns
// the stay, or a not_found error when the delivery is no longer pending at that version or
// was claimed since d was read (d.Attempts is what the caller saw): the provider keeps
// repeats, so of two runs of one send only one may call it.
// Run it inside WithTx.
func (a *access) ClaimDelivery(ctx context.Context, d *bellhop.Delivery, provider, senderID string, leaseUntil, now time.Time) (attempt int, owner string, err error) {
	if _, err := a.exec(ctx, "claim-stay", d.PropertyID, string(d.Kind), d.StayKey, d.ID); err != nil {
		return 0, "", fmt.Errorf("claim stay of delivery %s: %w", d.ID, err)
	}
	if err := a.queryRow(ctx, "stay-owner", d.PropertyID, string(d.Kind), d.StayKey).Scan(&owner); err != nil {
		return 0, "", fmt.Errorf("read stay owner of delivery %s: %w", d.ID, err)
	}
	if owner != d.ID {
		return 0, owner, nil
	}
	err = a.queryRow(ctx, "claim-delivery", toMicros(leaseUntil), provider, provider, senderID, toMicros(now), toMicros(now), d.ID, d.Version, d.Attempts).Scan(&attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", bellhop.Errorf(bellhop.ENotFound, "Delivery %s is no longer pending at version %d.", d.ID, d.Version)
	}
	if err != nil {
		return 0, "", fmt.Errorf("claim delivery %s: %w", d.ID, err)
	}
	// The ledger of attempts gets the call before it is made.
	if err := a.AddAttempt(ctx, d.PropertyID, bellhop.DeliveryAttempt{
		DeliveryID: d.ID, Attempt: attempt, Channel: provider, SenderID: senderID,
		Status: bellhop.DeliverySending, At: now, UpdatedAt: now,
	}); err != nil {
		return 0, "", err
	}
	return attempt, owner, nil
}

// ReleaseStay gives up a delivery's claim on its stay (it was cancelled or skipped before
// sending), so another booking of the same stay may send.
func (a *access) ReleaseStay(ctx context.Context, d *bellhop.Delivery) error {
	if _, err := a.exec(ctx, "release-stay", d.PropertyID, string(d.Kind), d.StayKey, d.ID); err != nil {
		return fmt.Errorf("release stay of delivery %s: %w", d.ID, err)
	}
	return nil
}

// DeferDelivery records when a pending delivery is next due (the sender's slot it waits for),
// and reports whether the version was still pending.
func (a *access) DeferDelivery(ctx context.Context, id string, version int, dueAt, now time.Time) (bool, error) {
	res, err := a.exec(ctx, "defer-delivery", toMicros(dueAt), toMicros(now), id, version)
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("defer delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// FinishDelivery records the outcome of a pending delivery's version: sent (with the
// provider's message id), failed, skipped or back to scheduled (due again at dueAt). It
// reports whether the version was still pending. Sent also completes a row whose provider
// callbacks arrived first (delivered, read), keeping that status.
func (a *access) FinishDelivery(ctx context.Context, id string, version int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time) (bool, error) {
	return a.finish(ctx, id, version, 0, status, reason, messageID, sentAt, dueAt, now)
}

// FinishAttempt is FinishDelivery for the provider call of claim number attempt: it applies
// only while that claim is the delivery's latest (a status callback may have moved the
// delivery on to its next channel meanwhile), and records the outcome on the attempt's line
// of the ledger as well: attemptStatus (sent, failed, unconfirmed, or sending for an outcome
// still unknown) with the reason. Run it inside WithTx.
func (a *access) FinishAttempt(ctx context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time, attemptStatus bellhop.DeliveryStatus, attemptReason string) (bool, error) {
	ok, err := a.finish(ctx, id, version, attempt, status, reason, messageID, sentAt, dueAt, now)
	if err != nil {
		return false, err
	}
	if !ok {
		// The delivery moved on (a callback said this channel cannot reach the guest): the
		// attempt's line keeps what it says, and learns the message's id.
		if messageID != "" && attempt > 0 {
			if _, err := a.exec(ctx, "note-attempt-message", messageID, id, attempt); err != nil {
				return false, fmt.Errorf("record the message id of attempt %d of delivery %s: %w", attempt, id, err)
			}
		}
		return false, nil
	}
	return true, a.UpdateAttempt(ctx, id, attempt, attemptStatus, attemptReason, messageID, now)
}

func (a *access) finish(ctx context.Context, id string, version, attempt int, status bellhop.DeliveryStatus, reason, messageID string, sentAt *time.Time, dueAt, now time.Time) (bool, error) {
	var res sql.Result
	var err error
	if status == bellhop.DeliverySent {
		res, err = a.exec(ctx, "record-sent", messageID, nullMicros(dbTimePtr(sentAt)), toMicros(dueAt), toMicros(now), id, version, attempt, attempt)
	} else {
		res, err = a.exec(ctx, "finish-delivery", string(status), reason, messageID, nullMicros(dbTimePtr(sentAt)),
			toMicros(dueAt), toMicros(now), id, version, attempt, attempt)
	}
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("record outcome of delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// ReportDelivery moves a delivery from status from to status to (a provider's report), and
// reports whether it was still in from. A row that has no provider message id or sent time yet
// (the report outran the send's own write) gets messageID and sentAt.
func (a *access) ReportDelivery(ctx context.Context, id string, from, to bellhop.DeliveryStatus, reason, messageID string, sentAt, now time.Time) (bool, error) {
	res, err := a.exec(ctx, "report-delivery", string(to), reason, toMicros(now), messageID, toMicros(dbTime(sentAt)), id, string(from))
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("record report on delivery %s: %w", id, err)
	}
	return n == 1, nil
}

func scanDelivery(row scanner) (*bellhop.Delivery, error) {
	var r deliveryRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.delivery(), nil
}

// deliveryRow receives the columns of a ledger row as the queries list them.
type deliveryRow struct {
	d                              bellhop.Delivery
	kind, status, done             string
	planned, due, created, updated int64
	sent, claimed, checked, erased sql.NullInt64
	queued                         int
}

func (r *deliveryRow) dest() []any {
	d := &r.d
	return []any{&d.ID, &d.PropertyID, &d.BookingID, &r.kind, &d.StayKey, &d.Phone, &d.Language, &r.planned, &r.due,
		&r.status, &d.Reason, &d.Provider, &d.ProviderMessageID, &d.SenderID, &d.Attempts, &d.Version, &r.sent,
		&r.created, &r.updated, &r.claimed, &r.checked, &r.queued, &r.erased, &d.Channel, &r.done}
}

// delivery is the row read, as a new Delivery.
func (r *deliveryRow) delivery() *bellhop.Delivery {
	d := r.d
	d.ClaimedAt, d.CheckedAt, d.ErasedAt = timePtr(r.claimed), timePtr(r.checked), timePtr(r.erased)
	d.Queued = r.queued == d.Version
	d.ChannelsDone = splitDone(r.done)
	d.Kind, d.Status = bellhop.MailingKind(r.kind), bellhop.DeliveryStatus(r.status)
	d.PlannedAt, d.DueAt, d.SentAt = fromMicros(r.planned), fromMicros(r.due), timePtr(r.sent)
	d.CreatedAt, d.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	return &d
}

// HoldDelivery moves a sending row whose outcome the provider could not tell to unconfirmed,
// and reports whether it was still sending at that version and claim (attempts, as read).
// Nothing sends it again until a person asks (RetryDelivery) or the provider's word arrives
// (ReportDelivery).
func (a *access) HoldDelivery(ctx context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error) {
	res, err := a.exec(ctx, "hold-delivery", reason, toMicros(now), toMicros(now), id, version, attempts)
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("hold delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// SkipDelivery marks a pending delivery skipped with reason, and reports whether it was still
// pending at that version with that many claims (attempts, as the caller read it): another
// run of the send that claimed it since goes on.
func (a *access) SkipDelivery(ctx context.Context, id string, version, attempts int, reason string, now time.Time) (bool, error) {
	res, err := a.exec(ctx, "skip-delivery", reason, toMicros(now), toMicros(now), id, version, attempts)
	n, err := affected(res, err)
	if err != nil {
		return false, fmt.Errorf("skip delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// CheckedDelivery records that Bellhop asked the provider about a delivery at now.
func (a *access) CheckedDelivery(ctx context.Context, id string, now time.Time) error {
	if _, err := a.exec(ctx, "check-delivery", toMicros(now), id); err != nil {
		return fmt.Errorf("note the check of delivery %s: %w", id, err)
	}
	return nil
}

// UnreportedDeliveries lists sent (or delivered) messages sent between sentFrom and sentTo
// that were not asked about since checkedBefore, oldest first: the status reconciler's work.
func (a *access) UnreportedDeliveries(ctx context.Context, sentFrom, sentTo, checkedBefore time.Time, limit int) ([]*bellhop.Delivery, error) {
	rows, err := a.queryRows(ctx, "unreported-deliveries", toMicros(sentFrom), toMicros(sentTo), toMicros(checkedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("list unreported deliveries: %w", err)
	}
	list, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list unreported deliveries: %w", err)
	}
	return list, nil
}

// DeliveryByMessageID finds a property's delivery by the provider's message id.
func (a *access) DeliveryByMessageID(ctx context.Context, pid, messageID string) (*bellhop.Delivery, error) {
	var id string
	err := a.queryRow(ctx, "delivery-by-message", pid, messageID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "No delivery with provider message %q.", messageID)
	}
	if err != nil {
		return nil, fmt.Errorf("find delivery by message %q: %w", messageID, err)
	}
	return a.GetDelivery(ctx, id)
}

// CountPending counts property pid's scheduled sends planned in [from, to), per kind (a
// zero from counts from the start). It is one aggregate over a range of the
// deliveries_pending index: no row is read.
func (a *access) CountPending(ctx context.Context, pid string, from, to time.Time) (map[bellhop.MailingKind]int, error) {
	lo := int64(-1 << 62)
	if !from.IsZero() {
		lo = toMicros(from)
	}
	var w, f, n int64
	if err := a.queryRow(ctx, "count-pending", pid, lo, toMicros(to)).Scan(&w, &f, &n); err != nil {
		return nil, fmt.Errorf("count pending sends of property %q: %w", pid, err)
	}
	return map[bellhop.MailingKind]int{bellhop.Welcome: int(w), bellhop.Feedback: int(f), bellhop.NonGuaranteedReminder: int(n)}, nil
}

// GuestSender returns the number of property pid's pool (of a provider kind) that first sent
// to the guest whose phone has these digits; "" when none has.
func (a *access) GuestSender(ctx context.Context, pid, provider, digits string) (string, error) {
	var id string
	err := a.queryRow(ctx, "guest-sender", pid, provider, digits).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the number that sends to a guest of property %q: %w", pid, err)
	}
	return id, nil
}

// PinGuestSender records that a number of the pool sent to the guest; the first record stays.
func (a *access) PinGuestSender(ctx context.Context, pid, provider, digits, senderID string, at time.Time) error {
	if _, err := a.exec(ctx, "pin-guest-sender", pid, provider, digits, senderID, toMicros(dbTime(at))); err != nil {
		return fmt.Errorf("record the number that sent to a guest of property %q: %w", pid, err)
	}
	return nil
}

// DeliveriesToQueue lists scheduled deliveries whose send is not queued yet and that are due
// by until (the planning horizon's edge), soonest first: the horizon scheduler's work.
func (a *access) DeliveriesToQueue(ctx context.Context, until time.Time, limit int) ([]*bellhop.Delivery, error) {
	rows, err := a.queryRows(ctx, "deliveries-to-queue", toMicros(until), limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries to queue: %w", err)
	}
	list, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries to queue: %w", err)
	}
	return list, nil
}

// MarkQueued records that the sends of these deliveries, at the versions given, are queued.
// A delivery re-planned since (at another version) is left unqueued. It returns how many
// rows it marked.
func (a *access) MarkQueued(ctx context.Context, ds []*bellhop.Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	versions := make(map[string]int, len(ds))
	for _, d := range ds {
		versions[d.ID] = d.Version
	}
	raw, err := json.Marshal(versions)
	if err != nil {
		return 0, fmt.Errorf("mark %d deliveries queued: %w", len(ds), err)
	}
	n, err := affected(a.exec(ctx, "mark-queued", string(raw)))
	if err != nil {
		return 0, fmt.Errorf("mark %d deliveries queued: %w", len(ds), err)
	}
	return int(n), nil
}

// EraseGuestData erases the guest's personal data from up to limit finished ledger rows
// planned before cutoff and from up to limit bookings whose stay ended before it (name,
// phone, email; the stay claims and a pool's guest records that hold the phone go too),
// oldest first, and returns how
// many of each it erased. The rows stay: the ledger's counts by status, kind and day do not
// change. Call it again until both are 0.
func (db *DB) EraseGuestData(ctx context.Context, cutoff, now time.Time, limit int) (deliveries, bookings int, err error) {
	err = db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "erase-stay-claims", toMicros(cutoff), limit); err != nil {
			return fmt.Errorf("erase old stay claims: %w", err)
		}
		n, err := affected(tx.exec(ctx, "erase-deliveries", toMicros(now), toMicros(cutoff), limit))
		if err != nil {
			return fmt.Errorf("erase guest data from old deliveries: %w", err)
		}
		deliveries = int(n)
		if _, err := tx.exec(ctx, "erase-guest-senders", toMicros(cutoff), limit); err != nil {
			return fmt.Errorf("erase old guest senders: %w", err)
		}
		n, err = affected(tx.exec(ctx, "erase-bookings", toMicros(now), bellhop.DateOf(cutoff.UTC()).String(), limit))
		if err != nil {
			return fmt.Errorf("erase guest data from old bookings: %w", err)
		}
		bookings = int(n)
		return nil
	})
	return deliveries, bookings, err
}
