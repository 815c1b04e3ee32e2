package integration_test

import (
	"context"
	"os/exec"
	"runtime"
	"testing"

	"github.com/bellhop/bellhop/cmd/chaos/scenario"
)

// TestFaultSuite is the fault run in short (go run ./cmd/chaos is the long one): 2 worker
// processes on PostgreSQL and a Redis of its own send 40 welcomes through the sandbox, which
// bans a sender sent two messages too close and keeps every repeat, while a worker is SIGKILLed
// twice, Redis restarts empty, the provider answers 503 and then too slowly, and PostgreSQL ends
// every Bellhop connection — and a client keeps using the API. Every welcome must reach the
// provider exactly once, with no ban, no gap under the interval, and no 5xx answered but 503
// with Retry-After.
func TestFaultSuite(t *testing.T) {
	runFaults(t, "a Redis of the test's own, to restart empty", scenario.Config{
		WorkerKills: 2, RedisRestarts: 1, Outages: 1, LatencySpikes: 1, DBKills: 1,
	})
}

// runFaults performs a fault run with cfg (binary, database, Redis and folder filled in) and
// fails the test when a welcome is missing or a promise broke. why says what redis-server is for.
func runFaults(t *testing.T, why string, cfg scenario.Config) scenario.Result {
	t.Helper()
	if testing.Short() {
		t.Skip("runs worker processes through faults for a minute or two")
	}
	if runtime.GOOS != "linux" {
		t.Skip("kills processes with SIGKILL")
	}
	redisServer, err := exec.LookPath("redis-server")
	need(t, "redis-server ("+why+")", err)
	cfg.DatabaseURL = requirePostgres(t)
	cfg.Bin = buildBellhop(t)
	cfg.RedisServer, cfg.Dir, cfg.Logf = redisServer, t.TempDir(), t.Logf
	res, err := scenario.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	for _, f := range res.Faults {
		t.Logf("fault %-16s at %s: sending again %s after it ended", f.What, f.At, f.Recovery)
	}
	want := cfg.Messages
	if want == 0 {
		want = 40 // the run's default
	}
	if res.Planned != want || res.Accepted < res.Planned {
		t.Errorf("planned %d, the provider took %d; want %d and %d", res.Planned, res.Accepted, want, want)
	}
	if !res.OK() {
		t.Errorf("a promise broke: %s", res.Summary())
	}
	return res
}
