// Command chaos is Bellhop's long fault run: thousands of welcomes across many senders through
// worker kills, empty Redis restarts, provider outages and slow answers, and PostgreSQL
// connections ended by the server; it prints what a hotel would notice (messages accepted more
// or less than once, bans, gaps under the interval, API errors) and the recovery after each
// fault. It needs PostgreSQL ($BELLHOP_TEST_POSTGRES_URL) and redis-server on PATH.
//
//	go run ./cmd/chaos                      # 10,000 welcomes, 200 senders, 20 kills, 3 Redis restarts
//	go run ./cmd/chaos -messages 400 -senders 20 -kills 4 -redis-restarts 1   # a quicker look
//	go run ./cmd/chaos -redis cluster -redis-failovers 2   # on a Redis Cluster, two masters killed
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/bellhop/bellhop/cmd/chaos/scenario"
	"github.com/bellhop/bellhop/internal/redisproc"
)

func main() {
	cfg := scenario.Config{}
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	fs.IntVar(&cfg.Messages, "messages", 10000, "welcomes due at once")
	fs.IntVar(&cfg.Senders, "senders", 200, "senders (one property and provider account each)")
	fs.IntVar(&cfg.Workers, "workers", 4, "worker processes")
	fs.IntVar(&cfg.WorkerKills, "kills", 20, "worker processes SIGKILLed (each replaced)")
	fs.IntVar(&cfg.RedisRestarts, "redis-restarts", 3, "times Redis is killed and started again empty")
	fs.IntVar(&cfg.RedisFailovers, "redis-failovers", 0, "masters killed for a replica to take over (with -redis cluster or sentinel)")
	redisKind := fs.String("redis", "single", "how the run's Redis is arranged: single, cluster (3 masters, 3 replicas) or sentinel (1 master, 2 replicas, 3 sentinels)")
	fs.IntVar(&cfg.Outages, "outages", 2, "provider outages (503)")
	fs.IntVar(&cfg.LatencySpikes, "latency-spikes", 2, "provider slow-downs past the send timeout")
	fs.IntVar(&cfg.DBKills, "db-kills", 3, "times PostgreSQL ends every Bellhop connection")
	fs.DurationVar(&cfg.Interval, "interval", 200*time.Millisecond, "least time between two messages of a sender")
	fs.DurationVar(&cfg.SendTimeout, "send-timeout", 2*time.Second, "longest provider call")
	fs.DurationVar(&cfg.Deadline, "deadline", 30*time.Minute, "give up when not settled by then")
	plan := fs.String("plan", "", `the faults in order, comma-separated, instead of the counts: e.g. "worker killed,redis restarted,db connections"`)
	fs.StringVar(&cfg.Dir, "dir", "", "keep the workers' and the API's logs in this folder (default: a temporary one, removed)")
	db := fs.String("database", os.Getenv("BELLHOP_TEST_POSTGRES_URL"), "PostgreSQL URL (a schema of the run's own is made and dropped)")
	_ = fs.Parse(os.Args[1:])
	if *db == "" {
		*db = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	cfg.DatabaseURL = *db
	cfg.Redis = redisproc.Kind(*redisKind)
	if *plan != "" {
		for _, f := range strings.Split(*plan, ",") {
			cfg.Plan = append(cfg.Plan, strings.TrimSpace(f))
		}
	}
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "bellhop-chaos-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	cfg.Bin = filepath.Join(dir, "bellhop")
	fmt.Fprintln(os.Stderr, "chaos: building bellhop …")
	if out, err := exec.Command("go", "build", "-o", cfg.Bin, "./cmd/bellhop").CombinedOutput(); err != nil {
		fail(fmt.Errorf("go build ./cmd/bellhop: %v\n%s", err, out))
	}
	res, err := scenario.Run(ctx, cfg)
	if err != nil {
		fail(err)
	}
	fmt.Println("fault                 at         recovery")
	for _, f := range res.Faults {
		fmt.Printf("%-20s  %-9s  %s\n", f.What, f.At.Round(100*time.Millisecond), f.Recovery.Round(10*time.Millisecond))
	}
	fmt.Println(res.Summary())
	if !res.OK() {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}
