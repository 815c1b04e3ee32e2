package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// baselineInFlight is how many enqueues the baseline keeps in flight: each is one round trip.
const baselineInFlight = 32

// baselineEnqueue queues the baseline's sends the way Asynq documents it: one
// Client.Enqueue per task (its id the delivery's, at its due time), baselineInFlight of them
// at once. Ours queues through queue.Client, whose batches take hundreds to a round trip.
func baselineEnqueue(ctx context.Context, rdb redis.UniversalClient, queueName string, ds []*bellhop.Delivery) error {
	c := asynq.NewClientFromRedisClient(rdb)
	// Asynq's client names the queue on its first enqueue; the first goes alone so that the
	// others do not each name it again.
	enqueue := func(d *bellhop.Delivery) error {
		payload, _ := json.Marshal(map[string]any{"d": d.ID, "v": d.Version})
		_, err := c.EnqueueContext(ctx, asynq.NewTask(queue.TypeSend, payload), asynq.TaskID(queue.TaskID(d)),
			asynq.Queue(queueName), asynq.ProcessAt(d.DueAt), asynq.MaxRetry(queue.DefaultMaxRetry))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("baseline enqueue %s: %w", d.ID, err)
		}
		return nil
	}
	if len(ds) == 0 {
		return nil
	}
	var errs []error
	if err := enqueue(ds[0]); err != nil {
		errs = append(errs, err)
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	next := make(chan *bellhop.Delivery)
	for range min(baselineInFlight, len(ds)) {
		wg.Go(func() {
			for d := range next {
				if err := enqueue(d); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, d := range ds[1:] {
		if ctx.Err() != nil {
			break
		}
		next <- d
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// enqueueAs queues ds for mode: ours through queue.Client (its Placer included), the
// baseline through Asynq's own client.
func enqueueAs(ctx context.Context, mode string, qc *queue.Client, rdb redis.UniversalClient, queueName string, ds []*bellhop.Delivery) error {
	if mode == modeOurs {
		return qc.ScheduleMany(ctx, ds)
	}
	return baselineEnqueue(ctx, rdb, queueName, ds)
}
