package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease lets one process at a time run a periodic job (the horizon scheduler, the retention
// job) among all that could: a Redis key set NX with a time to live (PX) and a random token of
// the holder's. The holder renews it on every run; a holder that dies stops renewing, its key
// expires after the TTL, and the next process to ask takes the lease over.
//
// A lease is about cost, not correctness: a holder stalled past its TTL may run once more
// beside the next one, so the jobs it guards must be safe to run twice (deterministic task
// ids, idempotent updates).
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	ttl   time.Duration
	token string
}

// NewLease returns a lease on key with the given time to live; this holder's token is random.
func NewLease(rdb redis.UniversalClient, key string, ttl time.Duration) *Lease {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return &Lease{rdb: rdb, key: key, ttl: ttl, token: hex.EncodeToString(b)}
}

// holdScript takes the lease when nobody holds it (SET NX PX) and renews it when this token
// holds it; another holder's lease is left alone.
var holdScript = redis.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
	return 1
end
if redis.call("GET", KEYS[1]) == ARGV[1] then
	redis.call("PEXPIRE", KEYS[1], ARGV[2])
	return 1
end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// Hold takes the lease or renews it for another TTL, and reports whether this holder has it.
func (l *Lease) Hold(ctx context.Context) (bool, error) {
	n, err := holdScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("hold lease %s: %w", l.key, err)
	}
	return n == 1, nil
}

// Release gives the lease up if this holder has it, so that another may take it at once.
func (l *Lease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}
