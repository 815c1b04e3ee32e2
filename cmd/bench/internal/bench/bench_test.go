package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testDB is this package's own Redis database (the bench command's default is 15).
const testDB = 14

// TestMain lets the test binary be the bench's worker processes too: the bench re-executes
// its own binary with WorkerEnv set.
func TestMain(m *testing.M) {
	if raw := os.Getenv(ServeEnv); raw != "" {
		if err := RunServe(raw); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if raw := os.Getenv(WorkerEnv); raw != "" {
		if err := RunWorker(raw, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var summaryLine = regexp.MustCompile(`^SUMMARY violations=(\d+) min_gap_ratio=(-?[0-9.]+) p99_late_ms=(-?[0-9.]+) cmds_per_msg=(-?[0-9.]+) baseline_cmds_per_msg=(-?[0-9.]+) e2e_msgs_per_s=(-?[0-9.]+) plan_per_s=(-?[0-9.]+) redis_bytes_per_mailing=(-?[0-9.]+) baseline_e2e_msgs_per_s=(-?[0-9.]+) future_redis_mb_per_million=(-?[0-9.]+) intake_bookings_per_s=(-?[0-9.]+) api_p99_ms=(-?[0-9.]+)$`)

// TestRunPrintsSummary runs every scenario at a tiny size. It checks what the bench reports,
// never how fast anything was.
func TestRunPrintsSummary(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: testDB, MaxRetries: -1})
	err := rdb.Ping(context.Background()).Err()
	rdb.Close()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s does not answer: %v", addr, err)
		}
		t.Skipf("Redis at %s does not answer: %v", addr, err)
	}

	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{
		RedisAddr: addr, DB: testDB, Quick: true,
		Messages: 4, Interval: 100 * time.Millisecond, IdleWindow: 300 * time.Millisecond,
		BaselineBudget: 10 * time.Second,
		Senders:        20, PerSender: 2, Concurrency: 8,
		Plans: 300, PlainPlans: 100, HorizonPlans: 60, PostgresURL: os.Getenv("BELLHOP_TEST_POSTGRES_URL"),
		LedgerRows: 2_000, LedgerReads: 5, IntakeBookings: 300, IntakeSingle: 50, LatencySends: 5,
		CapacityRows: 3000, CapacityPending: 500,
		APIRate: 100, APIDuration: time.Second, ScaleMessages: 40, ScaleSenders: 4,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	m := summaryLine.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line is not a SUMMARY line: %q\n%s", last, out.String())
	}
	for i, v := range m[2:] {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			t.Errorf("SUMMARY field %d = %q: %v", i+2, v, err)
		}
	}
	if m[1] != "0" || sum.Violations != 0 {
		t.Errorf("the pacer let %s messages through closer than the interval\n%s", m[1], out.String())
	}
	if last != sum.String() {
		t.Errorf("printed %q, returned %q", last, sum.String())
	}
	for _, title := range []string{"Scenario 1", "Scenario 2", "Scenario 3", "Scenario 4", "Scenario 5", "Scenario 6", "Scenario 7", "Scenario 8", "Scenario 9", "Scenario 10"} {
		if !strings.Contains(out.String(), title) {
			t.Errorf("no %s table:\n%s", title, out.String())
		}
	}
	// Bulk intake is measured wherever PostgreSQL answers ("not measured" and -1 otherwise).
	if strings.Contains(out.String(), "Scenario 7 — bulk intake on PostgreSQL") != (sum.IntakeBookingsPerS > 0) {
		t.Errorf("intake_bookings_per_s = %v beside its table:\n%s", sum.IntakeBookingsPerS, out.String())
	}
	// The bench leaves its database as it found it.
	rdb = redis.NewClient(&redis.Options{Addr: addr, DB: testDB})
	defer rdb.Close()
	if n, err := rdb.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("database %d holds %d keys after the bench (%v)", testDB, n, err)
	}
}
