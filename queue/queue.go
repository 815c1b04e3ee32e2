// Package queue runs the mailings' sends as Asynq tasks on Redis: task types, enqueueing with
// deterministic ids, the send handler with its exactly-once claim, and the per-sender pacer.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TypeSend is the task that sends one delivery.
const TypeSend = "delivery:send"

// DefaultQueue is the Asynq queue the sends go through.
const DefaultQueue = "mailings"

// sendPayload names the delivery and the version it was planned at: a task for an older
// version finds the row moved on and does nothing.
type sendPayload struct {
	DeliveryID string `json:"d"`
	Version    int    `json:"v"`
	// Slot is the place a Placer gave the send in its sender's line (µs since the epoch), when
	// it was queued for it: the task waits for it before its Acquire.
	Slot int64 `json:"s,omitempty"`
}

// TaskID is the Asynq task id of a delivery's send at its version. Being derived, enqueueing
// the same version twice is refused by Asynq instead of queueing a second send.
func TaskID(d *bellhop.Delivery) string {
	return d.ID + ":v" + strconv.Itoa(d.Version)
}

// Client queues sends.
type Client struct {
	rdb       redis.UniversalClient
	asynq     *asynq.Client
	inspector *asynq.Inspector
	queue     string
	// MaxRetry bounds retries of a send the provider could not take (5xx, timeouts).
	maxRetry int
	// published remembers that QueueBatch named the queue in Asynq's set of queues.
	published sync.Map
	placer    *Placer
}

// UsePlacer has the client give the sends that are due as they are queued their places in
// their senders' lines first, and queue each for its slot (see Placer).
func (c *Client) UsePlacer(p *Placer) { c.placer = p }

// slots places ds when the client has a Placer.
func (c *Client) slots(ctx context.Context, ds []*bellhop.Delivery) map[string]time.Time {
	if c.placer == nil {
		return nil
	}
	return c.placer.place(ctx, ds)
}

// enqueueDelivery queues d's send at its due time, or for its slot when it has one: a
// lead before it (Asynq runs tasks on whole seconds), the task waits out the rest.
func (c *Client) enqueueDelivery(ctx context.Context, d *bellhop.Delivery, slot time.Time) error {
	at := d.DueAt
	if !slot.IsZero() {
		at = slot.Add(-c.placer.lead)
	}
	_, err := c.enqueueSlot(ctx, d.ID, d.Version, TaskID(d), at, slot)
	return err
}

// NewClient returns a Client on rdb, which stays the caller's to close. queue names the Asynq
// queue ("" for DefaultQueue); the workers that serve it must be given the same Client.
func NewClient(rdb redis.UniversalClient, queue string) *Client {
	if queue == "" {
		queue = DefaultQueue
	}
	return &Client{rdb: rdb, asynq: asynq.NewClientFromRedisClient(rdb), inspector: asynq.NewInspectorFromRedisClient(rdb),
		queue: queue, maxRetry: DefaultMaxRetry}
}

// Queue is the Asynq queue the client puts sends on.
func (c *Client) Queue() string { return c.queue }

// DefaultMaxRetry is how many times a send the provider could not take is retried, with
// backoff, before it is recorded as failed (about a day in all).
const DefaultMaxRetry = 25

// Schedule queues the send of each scheduled delivery at its due time. A send already queued
// for the same version is left as it is.
func (c *Client) Schedule(ctx context.Context, ds []*bellhop.Delivery) error {
	slots := c.slots(ctx, ds)
	var errs []error
	for _, d := range ds {
		if d.Status != bellhop.DeliveryScheduled && d.Status != bellhop.DeliverySending {
			continue
		}
		if err := c.enqueueDelivery(ctx, d, slots[d.ID]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ScheduleMany is Schedule for many deliveries at once (planning a batch of bookings, the
// sweep): the same tasks under the same ids, queued by QueueBatch, hundreds to a round trip.
// A send is due or future by Asynq's clock, the system's, as Schedule's are.
func (c *Client) ScheduleMany(ctx context.Context, ds []*bellhop.Delivery) error {
	_, err := c.QueueBatch(ctx, ds, bellhop.SystemClock{}.Now())
	return err
}

// recover queues a fresh task for a sending delivery whose worker died: the dead worker's task
// is still "active" in Asynq (so its id is taken) until Asynq's recoverer hands it on, a minute
// or more later. The id names the attempt that died, so each is recovered once; should the old
// task run too, its claim finds the row moved on and it does nothing.
func (c *Client) recover(ctx context.Context, id string, version int, attempt string, at time.Time) error {
	_, err := c.enqueueID(ctx, id, version, id+":v"+strconv.Itoa(version)+":"+attempt, at)
	return err
}

// enqueueID queues a send under taskID; queued is false when a task of that id exists already.
func (c *Client) enqueueID(ctx context.Context, id string, version int, taskID string, at time.Time) (queued bool, err error) {
	return c.enqueueSlot(ctx, id, version, taskID, at, time.Time{})
}

// enqueueSlot is enqueueID for a send that holds slot in its sender's line (zero: none yet),
// which its task waits for.
func (c *Client) enqueueSlot(ctx context.Context, id string, version int, taskID string, at, slot time.Time) (queued bool, err error) {
	p := sendPayload{DeliveryID: id, Version: version}
	if !slot.IsZero() {
		p.Slot = slot.UnixMicro()
	}
	payload, _ := json.Marshal(p)
	_, err = c.asynq.EnqueueContext(ctx, asynq.NewTask(TypeSend, payload),
		asynq.TaskID(taskID), asynq.Queue(c.queue), asynq.ProcessAt(at),
		asynq.MaxRetry(c.maxRetry), asynq.Timeout(sendTaskTimeout))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue send of delivery %s: %w", id, err)
	}
	return true, nil
}

// Wake runs the sends of pending deliveries now: a send already queued for a later time (a
// paused sender's, a paused integration's) is moved up; a missing one is queued. A send that
// is running or about to run is left as it is.
func (c *Client) Wake(ctx context.Context, ds []*bellhop.Delivery) error {
	var errs []error
	for _, d := range ds {
		if !d.Status.Pending() {
			continue
		}
		payload, _ := json.Marshal(sendPayload{DeliveryID: d.ID, Version: d.Version})
		_, err := c.asynq.EnqueueContext(ctx, asynq.NewTask(TypeSend, payload), asynq.TaskID(TaskID(d)),
			asynq.Queue(c.queue), asynq.MaxRetry(c.maxRetry), asynq.Timeout(sendTaskTimeout))
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			err = c.inspector.RunTask(c.queue, TaskID(d))
			if errors.Is(err, asynq.ErrTaskNotFound) || (err != nil && strings.Contains(err.Error(), "already")) {
				err = nil // ran meanwhile, or is running or pending
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("wake delivery %s: %w", d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Move queues the send of a scheduled delivery for a new, earlier slot: its task, queued for
// the old one, is replaced. A task already running or about to run is left as it is.
func (c *Client) Move(ctx context.Context, d *bellhop.Delivery, slot time.Time, lead time.Duration) error {
	err := c.inspector.DeleteTask(c.queue, TaskID(d))
	switch {
	case err == nil, errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
	case strings.Contains(err.Error(), "active"):
		return nil // running now: its Acquire finds the new slot
	default:
		return fmt.Errorf("move delivery %s: %w", d.ID, err)
	}
	if _, err := c.enqueueSlot(ctx, d.ID, d.Version, TaskID(d), slot.Add(-lead), slot); err != nil {
		return fmt.Errorf("move delivery %s: %w", d.ID, err)
	}
	return nil
}

// Close releases the client. The Redis connection it was given is the caller's, and the
// client holds nothing else.
func (c *Client) Close() error { return nil }
