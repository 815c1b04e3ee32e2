package integration_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/chaos/scenario"
	"github.com/bellhop/bellhop/internal/redisproc"
)

// TestScaleOutOnRedisCluster sends welcomes through a real Redis Cluster of three masters with
// a replica each (redis-server processes on loopback ports of the test's own) with two worker
// processes on PostgreSQL: the send queue (Asynq), the pacer's scripts (a sender's keys under
// one hash tag), the marker that tells a Redis that lost its data, the planning horizon
// scheduler's lease, and the whole send path.
// Mid-run the master holding the queue is SIGKILLed and its replica takes over, then every
// master loses its data, then a master holding a sender's pacer keys is killed. The sandbox
// bans a sender sent two messages closer than 90 % of the interval and keeps every repeat:
// every welcome must reach it exactly once, none closer than the interval, nobody banned.
func TestScaleOutOnRedisCluster(t *testing.T) {
	runOnTopology(t, redisproc.Cluster)
}

// TestScaleOutOnRedisSentinel is the same through Redis Sentinel: REDIS_ADDR lists three
// sentinels, REDIS_SENTINEL_MASTER names the master; the master is killed twice (each time a
// replica takes over) and the data lost once, while welcomes are waiting and being sent.
func TestScaleOutOnRedisSentinel(t *testing.T) {
	runOnTopology(t, redisproc.Sentinel)
}

func runOnTopology(t *testing.T, kind redisproc.Kind) {
	// The two run side by side: each has Redis processes, a schema and a namespace of its own,
	// and their workers mostly wait out the interval.
	t.Parallel()
	plan := []string{"redis failover", "redis restarted", "redis failover"}
	res := runFaults(t, "the test starts a Redis "+string(kind)+" of its own", scenario.Config{
		Redis: kind, Messages: 48, Senders: 6, Workers: 2, Plan: plan, Deadline: 80 * time.Second,
	})
	if len(res.Faults) != len(plan) {
		t.Errorf("%d faults landed, want %d", len(res.Faults), len(plan))
	}
	if slices.Contains(plan, "redis restarted") && res.LossNoticed == 0 {
		t.Errorf("Redis lost its data and no worker noticed (the marker key)")
	}
	if !res.SchedulerLease {
		t.Errorf("no worker holds the planning horizon scheduler's lease")
	}
	if kind == redisproc.Cluster && res.PacerMasters == 0 {
		t.Errorf("no master of the cluster holds a sender's pacer keys")
	}
}
