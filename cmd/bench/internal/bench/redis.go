package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyPatterns are every key the bench makes in its database: Asynq's, its own, the workers' marker (queue.Worker notices Redis lost its data by it) and the horizon scheduler's lease.
var keyPatterns = []string{"asynq:*", "bench:*", "bellhop:alive:*", "bellhop:lease:*"}

// checkDB makes sure the database holds nothing but what an earlier bench run may have left,
// and removes that.
func checkDB(ctx context.Context, rdb *redis.Client, db int) error {
	n, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return fmt.Errorf("reach Redis: %w", err)
	}
	ours := 0
	for _, p := range keyPatterns {
		iter := rdb.Scan(ctx, 0, p, 1000).Iterator()
		for iter.Next(ctx) {
			ours++
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	if int64(ours) != n {
		return fmt.Errorf("redis database %d holds %d keys that are not the bench's: give the bench an empty database of its own (-db)", db, n-int64(ours))
	}
	return cleanDB(ctx, rdb)
}

// cleanDB removes the bench's keys.
func cleanDB(ctx context.Context, rdb *redis.Client) error {
	for _, p := range keyPatterns {
		iter := rdb.Scan(ctx, 0, p, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// infoField reads one numeric field of INFO section.
func infoField(ctx context.Context, rdb *redis.Client, section, field string) (int64, error) {
	s, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO %s: %w", section, err)
	}
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("redis INFO %s has no %s", section, field)
}

// datasetMemory is the memory Redis's keys take (INFO memory used_memory_dataset): used_memory
// without the server's overhead, whose clients' buffers come and go with the connections
// open at the moment, a few megabytes either way.
func datasetMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	return infoField(ctx, rdb, "memory", "used_memory_dataset")
}

func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	return infoField(ctx, rdb, "memory", "used_memory")
}

// redisCPU is the CPU time the Redis server has used so far (INFO cpu: user and system).
func redisCPU(ctx context.Context, rdb *redis.Client) (time.Duration, error) {
	s, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO cpu: %w", err)
	}
	var sum float64
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("redis INFO cpu %s: %w", k, err)
			}
			sum += f
		}
	}
	return time.Duration(sum * float64(time.Second)), nil
}
