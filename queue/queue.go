// Package queue runs the mailings' sends as Asynq tasks on Redis: task types, enqueueing with
// deterministic ids, the send handler with its exactly-once claim, and the per-sender pacer.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
}

// TaskID is the Asynq task id of a delivery's send at its version. Being derived, enqueueing
// the same version twice is refused by Asynq instead of queueing a second send.
func TaskID(d *bellhop.Delivery) string {
	return d.ID + ":v" + strconv.Itoa(d.Version)
}

// Client queues sends.
type Client struct {
	asynq *asynq.Client
	queue string
	// MaxRetry bounds retries of a send the provider could not take (5xx, timeouts).
	maxRetry int
}

// NewClient returns a Client on rdb, which stays the caller's to close. queue names the Asynq
// queue ("" for DefaultQueue); the workers that serve it must be given the same Client.
func NewClient(rdb redis.UniversalClient, queue string) *Client {
	if queue == "" {
		queue = DefaultQueue
	}
	return &Client{asynq: asynq.NewClientFromRedisClient(rdb), queue: queue, maxRetry: DefaultMaxRetry}
}

// Queue is the Asynq queue the client puts sends on.
func (c *Client) Queue() string { return c.queue }

// DefaultMaxRetry is how many times a send the provider could not take is retried, with
// backoff, before it is recorded as failed (about a day in all).
const DefaultMaxRetry = 25

// Schedule queues the send of each scheduled delivery at its due time. A send already queued
// for the same version is left as it is.
func (c *Client) Schedule(ctx context.Context, ds []*bellhop.Delivery) error {
	var errs []error
	for _, d := range ds {
		if d.Status != bellhop.DeliveryScheduled && d.Status != bellhop.DeliverySending {
			continue
		}
		if err := c.enqueue(ctx, d.ID, d.Version, d.DueAt); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Client) enqueue(ctx context.Context, id string, version int, at time.Time) error {
	payload, _ := json.Marshal(sendPayload{DeliveryID: id, Version: version})
	_, err := c.asynq.EnqueueContext(ctx, asynq.NewTask(TypeSend, payload),
		asynq.TaskID(id+":v"+strconv.Itoa(version)), asynq.Queue(c.queue), asynq.ProcessAt(at),
		asynq.MaxRetry(c.maxRetry), asynq.Timeout(10*time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue send of delivery %s: %w", id, err)
	}
	return nil
}

// Close releases the client (not the Redis connection it was given).
func (c *Client) Close() error { return c.asynq.Close() }
