package integration_test

import (
	"context"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/chaos/scenario"
	"github.com/bellhop/bellhop/internal/redisproc"
)

// TestScaleOutOnRedisCluster sends welcomes through a real Redis Cluster of three masters with
// a replica each (redis-server processes on loopback ports of the test's own) with two worker
// processes on PostgreSQL: the send queue (Asynq), the pacer's scripts (a sender's keys under
// one hash tag), the marker that tells a Redis that lost its data, and the whole send path.
// Mid-run the master holding the queue is SIGKILLed and its replica takes over, then every
// master loses its data, then a master holding a sender's pacer keys is killed. The sandbox
// bans a sender sent two messages closer than 90 % of the interval and keeps every repeat:
// every welcome must reach it exactly once, none closer than the interval, nobody banned.
func TestScaleOutOnRedisCluster(t *testing.T) {
	runOnTopology(t, redisproc.Cluster, []string{"redis failover", "redis restarted", "redis failover"})
}

// TestScaleOutOnRedisSentinel is the same through Redis Sentinel: REDIS_ADDR lists three
// sentinels, REDIS_SENTINEL_MASTER names the master; the master is killed twice (each time a
// replica takes over) and the data lost once, while welcomes are waiting and being sent.
func TestScaleOutOnRedisSentinel(t *testing.T) {
	runOnTopology(t, redisproc.Sentinel, []string{"redis failover", "redis restarted", "redis failover"})
}

func runOnTopology(t *testing.T, kind redisproc.Kind, plan []string) {
	if testing.Short() {
		t.Skip("runs worker processes on a Redis " + string(kind) + " for half a minute")
	}
	if runtime.GOOS != "linux" {
		t.Skip("kills processes with SIGKILL")
	}
	redisServer, err := exec.LookPath("redis-server")
	need(t, "redis-server (the test starts a Redis "+string(kind)+" of its own)", err)
	dbURL := requirePostgres(t)
	bin := buildBellhop(t)
	res, err := scenario.Run(context.Background(), scenario.Config{
		Bin: bin, DatabaseURL: dbURL, RedisServer: redisServer, Redis: kind, Dir: t.TempDir(),
		Messages: 48, Senders: 6, Workers: 2, Plan: plan, Deadline: 80 * time.Second,
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	for _, f := range res.Faults {
		t.Logf("fault %-16s at %s: sending again %s after it ended", f.What, f.At, f.Recovery)
	}
	if res.Planned != 48 || res.Accepted < res.Planned {
		t.Errorf("planned %d, the provider took %d; want 48 and 48", res.Planned, res.Accepted)
	}
	if len(res.Faults) != len(plan) {
		t.Errorf("%d faults landed, want %d", len(res.Faults), len(plan))
	}
	if slices.Contains(plan, "redis restarted") && res.LossNoticed == 0 {
		t.Errorf("Redis lost its data and no worker noticed (the marker key)")
	}
	if kind == redisproc.Cluster && res.PacerMasters == 0 {
		t.Errorf("no master of the cluster holds a sender's pacer keys")
	}
	if !res.OK() {
		t.Errorf("a promise broke: %s", res.Summary())
	}
}
