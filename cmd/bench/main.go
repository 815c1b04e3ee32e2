// Command bench measures Bellhop's send path against a local Redis and the sandbox provider:
// the per-sender pacer beside Asynq's documented rate-limit-and-retry pattern, end-to-end
// throughput and planning. See `go run ./cmd/bench -h`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/bellhop/bellhop/cmd/bench/internal/bench"
)

func main() {
	if raw := os.Getenv(bench.WorkerEnv); raw != "" {
		// Re-executed by the bench as one of its worker processes.
		stop := profile("worker")
		err := bench.RunWorker(raw, os.Stdin, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if raw := os.Getenv(bench.ServeEnv); raw != "" {
		// Re-executed by the bench as `bellhop serve`.
		stop := profile("serve")
		err := bench.RunServe(raw)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var o bench.Options
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	flag.StringVar(&o.RedisAddr, "redis", addr, "Redis address (default $REDIS_ADDR or 127.0.0.1:6379)")
	flag.IntVar(&o.DB, "db", 15, "Redis database of the bench's own; it must hold no other keys, and is left empty")
	flag.BoolVar(&o.Quick, "quick", false, "smaller counts: done in under a minute")
	flag.IntVar(&o.Workers, "workers", 0, "worker processes (default 3)")
	flag.DurationVar(&o.Interval, "interval", 0, "the paced sender's interval in scenarios 1-2 (default 200ms)")
	flag.IntVar(&o.Messages, "messages", 0, "messages waiting on the paced sender (default 100, quick 10)")
	flag.DurationVar(&o.BaselineBudget, "baseline-budget", 0, "longest the baseline drains the paced sender (default 150s, quick 25s)")
	flag.IntVar(&o.Senders, "senders", 0, "senders of scenario 3 (default 1000, quick 500)")
	flag.IntVar(&o.PerSender, "per-sender", 0, "messages per sender in scenario 3 (default 10, quick 2)")
	flag.IntVar(&o.Concurrency, "concurrency", 0, "concurrent sends per worker process in scenario 3 (default 64)")
	flag.IntVar(&o.E2ERounds, "e2e-rounds", 0, "rounds of scenario 3 a side, the median shown (default 3, quick 1)")
	flag.IntVar(&o.Plans, "plans", 0, "future mailings planned in scenario 4 (default 100000, quick 20000)")
	flag.IntVar(&o.PlainPlans, "plain-plans", 0, "of which planned one round trip at a time for comparison (default 10000, quick 2000)")
	flag.IntVar(&o.HorizonPlans, "horizon-plans", 0, "bookings planned through the service per database and mode in scenario 5 (default 4000, quick 200)")
	pg := os.Getenv("BELLHOP_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	flag.StringVar(&o.PostgresURL, "postgres", pg, "PostgreSQL the bench makes a schema of its own in, and drops (default $BELLHOP_TEST_POSTGRES_URL)")
	flag.IntVar(&o.LedgerRows, "ledger-rows", 0, "ledger rows on PostgreSQL in scenario 6, a tenth of them measured first (default 400000, quick 20000)")
	flag.IntVar(&o.LedgerReads, "ledger-reads", 0, "reads of each ledger list at each size in scenario 6 (default 200, quick 50)")
	flag.IntVar(&o.IntakeBookings, "intake-bookings", 0, "bookings taken in bulk on PostgreSQL in scenario 7 (default 50000, quick 10000)")
	flag.IntVar(&o.IntakeSingle, "intake-single", 0, "of which taken one PUT's path at a time for comparison (default 5000, quick 1000)")
	flag.IntVar(&o.LatencySends, "latency-sends", 0, "sends due over 5 s on each side of scenario 5's due → start comparison (default 100, quick 10)")
	flag.IntVar(&o.CapacityRows, "capacity-rows", 0, "ledger rows of the capacity scenario (default 500000, quick 50000)")
	flag.IntVar(&o.CapacityPending, "capacity-pending", 0, "of which one hotel's sends of the next week (default 100000, quick 10000)")
	flag.IntVar(&o.APIRate, "api-rate", 0, "requests per second to the API in scenario 9 (default 500)")
	flag.DurationVar(&o.APIDuration, "api-duration", 0, "how long scenario 9 loads the API (default 20s, quick 4s)")
	flag.IntVar(&o.ScaleMessages, "scale-messages", 0, "welcomes sent through 1, 2 and 4 worker processes in scenario 10 (default 2000, quick 150)")
	flag.IntVar(&o.ScaleSenders, "scale-senders", 0, "properties (senders) they are spread over (default 100, quick 15)")
	verbose := flag.Bool("v", false, "log progress to stderr")
	only := flag.String("only", "", "run only these scenarios, e.g. 3,9 (1 and 2 run together); the SUMMARY reports -1 for the others")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile and an allocation profile of the bench and of each process it starts into this folder (go tool pprof)")
	flag.Parse()
	if *cpuprofile != "" {
		if err := os.MkdirAll(*cpuprofile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		os.Setenv(profileEnv, *cpuprofile) // the processes it starts inherit it
	}
	stopProfile := profile("bench")
	defer stopProfile()
	if *only != "" {
		var err error
		if o.Only, err = bench.ParseScenarios(*only); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -only:", err)
			os.Exit(2)
		}
	}
	if *verbose {
		o.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := bench.Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stopProfile()
		os.Exit(1)
	}
}

// profileEnv names the folder each process of a -cpuprofile run writes its profile into.
const profileEnv = "BELLHOP_BENCH_CPUPROFILE"

// profile starts a CPU profile into $BELLHOP_BENCH_CPUPROFILE/ROLE-PID.pprof when that is set;
// the returned func stops it.
func profile(role string) func() {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// And what the process allocated over its life (go tool pprof -sample_index=alloc_space).
		if a, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.allocs", role, os.Getpid()))); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(a, 0)
			a.Close()
		}
	}
}
