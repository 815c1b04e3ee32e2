package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
)

// dueFails is a ledger whose listing of due sends fails the first `left` times (the database
// gone for a moment, or Redis failing over again right after it came back empty).
type dueFails struct {
	Store
	left int
}

func (s *dueFails) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*bellhop.Delivery, error) {
	if s.left > 0 {
		s.left--
		return nil, errors.New("connection reset by peer")
	}
	return s.Store.DueDeliveries(ctx, now, limit)
}

// A worker that finds Redis empty and fails to queue its sends again leaves the marker missing,
// so that the next look tries again; once it succeeds the marker stays and nothing is queued twice.
func TestALostRedisIsQueuedAgainUntilItWorks(t *testing.T) {
	f := newFixture(t, testPacer)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DB: testDB})
	t.Cleanup(func() { rdb.Del(ctx, f.w.markerKey()); rdb.Close() })
	f.w.cfg.Store = &dueFails{Store: f.w.cfg.Store, left: 1}
	prefix := "asynq:{" + f.w.cfg.Client.queue + "}:"
	queued := func() []string {
		ids := rdb.ZRange(ctx, prefix+"scheduled", 0, -1).Val()
		return append(ids, rdb.LRange(ctx, prefix+"pending", 0, -1).Val()...)
	}
	marker := func() bool { return rdb.Exists(ctx, f.w.markerKey()).Val() == 1 }

	f.w.redisKeptData(ctx, rdb)                                 // the worker's first look sets the marker
	if err := rdb.Del(ctx, f.w.markerKey()).Err(); err != nil { // Redis lost its data
		t.Fatal(err)
	}
	f.w.checkLoss(ctx, rdb)
	if got := queued(); len(got) != 0 || marker() {
		t.Fatalf("after a re-queue that failed: queued %v, marker %v; want nothing queued and the marker missing", got, marker())
	}
	f.w.checkLoss(ctx, rdb)
	want := f.id + ":v1"
	if got := queued(); len(got) != 1 || got[0] != want || !marker() {
		t.Fatalf("after the next look: queued %v, marker %v; want [%s] and the marker back", got, marker(), want)
	}
	f.w.checkLoss(ctx, rdb)
	if got := queued(); len(got) != 1 {
		t.Fatalf("a third look queued again: %v", got)
	}
}
