package app

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/internal/redisproc"
)

// Bellhop's Redis client keeps working when the master it writes to dies and a replica takes
// over: through the sentinels, and on a Redis Cluster, where go-redis alone would keep calling
// the dead address until its periodic slot-map reload (set to an hour here, so only the reload
// on a failed call can pass).
func TestRedisClientFollowsAFailover(t *testing.T) {
	redisproc.Require(t)
	defer func(d time.Duration) { clusterReloadEvery = d }(clusterReloadEvery)
	clusterReloadEvery = time.Hour
	for _, kind := range []redisproc.Kind{redisproc.Cluster, redisproc.Sentinel} {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g, err := redisproc.Start(ctx, kind, "", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer g.Stop()
			cfg, err := ConfigFromEnv(func(k string) string {
				return map[string]string{"REDIS_ADDR": g.Addr(), "REDIS_SENTINEL_MASTER": g.SentinelMaster()}[k]
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			rdb := cfg.newRedis()
			defer rdb.Close()
			const key = "bellhop:alive:{mailings}"
			if err := rdb.Set(ctx, key, "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.Do(ctx, "WAIT", 1, 5000).Err(); err != nil { // on the replica before the crash
				t.Fatal(err)
			}
			killed, promoted, err := g.FailoverFor(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for {
				v, err := rdb.Get(ctx, key).Result()
				if err == nil {
					if v != "1" {
						t.Fatalf("read %q from %s", v, promoted)
					}
					break
				}
				last = err
				select {
				case <-ctx.Done():
					t.Fatalf("the client never reached %s after %s died: %v", promoted, killed, last)
				case <-time.After(50 * time.Millisecond): // the next call, as a worker's loop would make it
				}
			}
			if err := rdb.Set(ctx, key, "2", 0).Err(); err != nil {
				t.Fatalf("write after the failover: %v", err)
			}
		})
	}
}
