package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
)

// Asynq's client enqueues one task per round trip. Queueing the sends that enter the planning
// horizon (or that a lost Redis needs back) is many tasks at once, so QueueBatch writes the very
// task Asynq's client would write — the same key, hash fields, set and message bytes (a test
// compares them byte for byte with Asynq's, at the Asynq version go.mod pins) — many to a
// pipeline, one round trip per batch.

// Asynq's task message (internal/proto/asynq.proto, TaskMessage): the fields a send sets.
const (
	taskFieldType    = 1
	taskFieldPayload = 2
	taskFieldID      = 3
	taskFieldQueue   = 4
	taskFieldRetry   = 5
	taskFieldTimeout = 8
)

// sendTaskTimeout is the Asynq timeout of a send task (Asynq's asynq.Timeout option).
const sendTaskTimeout = 10 * time.Minute

// taskMessage encodes a send task as Asynq's client does (proto3: zero fields omitted).
func (c *Client) taskMessage(taskID string, payload []byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, taskFieldType, protowire.BytesType)
	b = protowire.AppendString(b, TypeSend)
	b = protowire.AppendTag(b, taskFieldPayload, protowire.BytesType)
	b = protowire.AppendBytes(b, payload)
	b = protowire.AppendTag(b, taskFieldID, protowire.BytesType)
	b = protowire.AppendString(b, taskID)
	b = protowire.AppendTag(b, taskFieldQueue, protowire.BytesType)
	b = protowire.AppendString(b, c.queue)
	if c.maxRetry != 0 {
		b = protowire.AppendTag(b, taskFieldRetry, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(int32(c.maxRetry))))
	}
	b = protowire.AppendTag(b, taskFieldTimeout, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(sendTaskTimeout/time.Second))
	return b
}

// Asynq's own scripts (internal/rdb: enqueueCmd and scheduleCmd): a task id that exists is
// left alone, which is what keeps a delivery's version from being queued twice.
var (
	enqueueScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then
	return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "pending", "pending_since", ARGV[3])
redis.call("LPUSH", KEYS[2], ARGV[2])
return 1
`)
	scheduleScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then
	return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "scheduled")
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[3])
return 1
`)
)

// batchSize is how many tasks go in one pipeline: big enough that the round trip is nothing
// per task, small enough that one batch does not hold Redis up.
const batchSize = 500

// QueueBatch queues the sends of the pending deliveries among ds, each at its due time (one
// due by now is pending at once), under the same deterministic task ids as Schedule, many to
// a round trip; with a Placer, the ones due now are queued for their slots, as Schedule does.
// A send already queued for the same version is left as it is. It returns how many tasks it
// added; now is the clock's, to tell due from future.
func (c *Client) QueueBatch(ctx context.Context, ds []*bellhop.Delivery, now time.Time) (int, error) {
	rdb := c.rdb
	var pending []*bellhop.Delivery
	for _, d := range ds {
		if d.Status.Pending() {
			pending = append(pending, d)
		}
	}
	if len(pending) == 0 {
		return 0, nil
	}
	// Asynq's client publishes a queue's name once per process the same way.
	if _, done := c.published.Load(c.queue); !done {
		if err := rdb.SAdd(ctx, "asynq:queues", c.queue).Err(); err != nil {
			return 0, fmt.Errorf("queue sends: publish queue %s: %w", c.queue, err)
		}
		c.published.Store(c.queue, true)
	}
	// The scripts are loaded once, so that the pipelines carry their hashes only.
	for _, s := range []*redis.Script{enqueueScript, scheduleScript} {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return 0, fmt.Errorf("queue sends: load script: %w", err)
		}
	}
	slots := c.slots(ctx, pending)
	prefix := "asynq:{" + c.queue + "}:"
	added := 0
	for start := 0; start < len(pending); start += batchSize {
		part := pending[start:min(start+batchSize, len(pending))]
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, d := range part {
				id := TaskID(d)
				sp, at := sendPayload{DeliveryID: d.ID, Version: d.Version}, d.DueAt
				if slot := slots[d.ID]; !slot.IsZero() {
					sp.Slot, at = slot.UnixMicro(), slot.Add(-c.placer.lead)
				}
				payload, _ := json.Marshal(sp)
				msg := c.taskMessage(id, payload)
				if at.After(now) {
					scheduleScript.EvalSha(ctx, p, []string{prefix + "t:" + id, prefix + "scheduled"}, msg, at.Unix(), id)
				} else {
					enqueueScript.EvalSha(ctx, p, []string{prefix + "t:" + id, prefix + "pending"}, msg, id, now.UnixNano())
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return added, fmt.Errorf("queue %d sends: %w", len(part), err)
		}
		for _, cmd := range cmds {
			if n, err := cmd.(*redis.Cmd).Int(); err == nil && n == 1 {
				added++
			}
		}
	}
	return added, nil
}
