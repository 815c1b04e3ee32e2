package pacer

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
)

// testDB is this package's own Redis database, flushed by every test.
const testDB = 11

// t0 is a Monday morning, well clear of any DST change.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisDown is asked once per test binary: a missing Redis should not cost every test its
// dial retries.
var redisDown = sync.OnceValue(func() error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DB: testDB, MaxRetries: -1})
	defer rdb.Close()
	return rdb.Ping(context.Background()).Err()
})

// newRedis returns a client on the test database. Without Redis the test is skipped, or
// fails in CI.
func newRedis(t testing.TB) *redis.Client {
	t.Helper()
	if err := redisDown(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s does not answer: %v", redisAddr(), err)
		}
		t.Skipf("Redis at %s does not answer: %v", redisAddr(), err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DB: testDB})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

type fixture struct {
	rdb   *redis.Client
	clock *bellhop.SimulatedClock
	p     *Pacer
}

// setup flushes the test database and returns a pacer on a simulated clock at t0 whose
// jitter comes from a seeded source.
func setup(t testing.TB, cfg Config) *fixture {
	t.Helper()
	rdb := newRedis(t)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	clock := bellhop.NewSimulatedClock(t0)
	return &fixture{rdb: rdb, clock: clock, p: newPacer(t, rdb, clock, cfg, 1)}
}

func newPacer(t testing.TB, rdb redis.UniversalClient, clock bellhop.Clock, cfg Config, seed uint64) *Pacer {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(seed, 42))
	}
	p, err := New(rdb, clock, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// worker is another process: its own connection pool and its own Pacer on the same Redis.
func (f *fixture) worker(t testing.TB, cfg Config, seed uint64) *Pacer {
	return newPacer(t, newRedis(t), f.clock, cfg, seed)
}

func (f *fixture) reserve(t testing.TB, sender, msg string) Reservation {
	t.Helper()
	r, err := f.p.Reserve(context.Background(), sender, msg)
	if err != nil {
		t.Fatalf("Reserve(%s): %v", msg, err)
	}
	return r
}

func (f *fixture) acquire(t testing.TB, sender, msg string, maxSend time.Duration) (bool, time.Time) {
	t.Helper()
	ok, at, err := f.p.Acquire(context.Background(), sender, msg, maxSend)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", msg, err)
	}
	return ok, at
}

func (f *fixture) done(t testing.TB, sender, msg string, at time.Time) {
	t.Helper()
	if err := f.p.Done(context.Background(), sender, msg, at); err != nil {
		t.Fatalf("Done(%s): %v", msg, err)
	}
}

func (f *fixture) state(t testing.TB, sender string) State {
	t.Helper()
	st, err := f.p.State(context.Background(), sender)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

func (f *fixture) setSettings(t testing.TB, sender string, s Settings) {
	t.Helper()
	if err := f.p.SetSettings(context.Background(), sender, s); err != nil {
		t.Fatalf("SetSettings: %v", err)
	}
}

// advanceSleep is a Sleep for Wait that moves the simulated clock instead of sleeping.
func advanceSleep(c *bellhop.SimulatedClock) Sleep {
	return func(_ context.Context, d time.Duration) error {
		c.Advance(d)
		return nil
	}
}

// commandCounter is a go-redis hook that counts the commands sent to Redis.
type commandCounter struct{ n atomic.Int64 }

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

const sender = "intellectdialog:org1:1"

// noJitter is a Config whose senders are paced exactly at the interval.
var noJitter = Config{Interval: 300 * time.Second, Jitter: -1}
