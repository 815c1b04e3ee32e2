// Package bench measures the send path against a local Redis and the sandbox provider: our
// pacer beside Asynq's documented rate-limit-and-retry pattern, and planning throughput.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/redis/go-redis/v9"
)

// Options size the bench. Zero values take the defaults of a full run (or of a quick one).
type Options struct {
	RedisAddr string
	DB        int
	Quick     bool
	// Workers is how many worker processes send (scenarios 1–3).
	Workers int
	// Interval is the sender's pacing in scenarios 1–2.
	Interval time.Duration
	// Messages wait on the one sender of scenarios 1–2.
	Messages int
	// BaselineBudget bounds how long the baseline drains the paced sender's queue: Asynq's
	// retry pattern gets about one message out per few seconds, so a full drain of 100 would
	// take minutes. What it delivered by then is measured, with the rest still waiting.
	BaselineBudget time.Duration
	// IdleWindow is how long the workers' idle Redis traffic is measured before scenario 2.
	IdleWindow time.Duration
	// Senders × PerSender messages go out in scenario 3, with Concurrency sends per process.
	Senders     int
	PerSender   int
	Concurrency int
	// E2ERounds is how often scenario 3 runs each side, alternating which goes first; each
	// side's median round is the figure (one round varies by a fifth on a shared machine).
	E2ERounds int
	// Plans future mailings are queued in scenario 4 with ScheduleMany; PlainPlans of them
	// with Schedule, one round trip each.
	Plans      int
	PlainPlans int
	// HorizonPlans bookings are planned through the service in scenario 5, on SQLite and on
	// PostgreSQL (PostgresURL), with the planning horizon and without.
	HorizonPlans int
	PostgresURL  string
	// LedgerRows fill the ledger on PostgreSQL in scenario 6 (a tenth of them first); each
	// list is read LedgerReads times at each size.
	LedgerRows  int
	LedgerReads int
	// IntakeBookings are taken in bulk on PostgreSQL in scenario 7; IntakeSingle of them one
	// PUT's path at a time for comparison.
	IntakeBookings int
	IntakeSingle   int
	// LatencySends are due over 5 s in scenario 5's due → start comparison, on each side.
	LatencySends int
	// CapacityRows is the size of the ledger the capacity scenario counts in (SQLite), of which
	// CapacityPending are one hotel's sends of the next week.
	CapacityRows    int
	CapacityPending int
	// APIRate requests a second go to the API for APIDuration in scenario 9.
	APIRate     int
	APIDuration time.Duration
	// ScaleMessages welcomes over ScaleSenders properties go through 1, 2 and 4 worker
	// processes in scenario 10.
	ScaleMessages int
	ScaleSenders  int
	// Only, when not empty, names the scenarios that run (1 and 2 are one run); the others
	// report -1 in the SUMMARY.
	Only map[int]bool
	// Log receives progress lines; nil for none.
	Log io.Writer
}

// ParseScenarios reads a list such as "3,9" or "5-7" for Options.Only.
func ParseScenarios(s string) (map[int]bool, error) {
	m := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("%q is not a scenario number", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("%q is not a range of scenarios", part)
			}
		}
		if a < 1 || b > lastScenario || a > b {
			return nil, fmt.Errorf("%q: scenarios are 1 to %d", part, lastScenario)
		}
		for n := a; n <= b; n++ {
			m[n] = true
		}
	}
	if m[1] || m[2] {
		m[1], m[2] = true, true
	}
	return m, nil
}

const lastScenario = 10

func (o *Options) runs(n int) bool { return len(o.Only) == 0 || o.Only[n] }

func (o *Options) defaults() {
	if o.RedisAddr == "" {
		o.RedisAddr = "127.0.0.1:6379"
	}
	def := func(v *int, full, quick int) {
		if *v <= 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	def(&o.Workers, 3, 3)
	def(&o.Messages, 100, 12)
	def(&o.Senders, 1000, 500)
	def(&o.PerSender, 10, 2)
	def(&o.Concurrency, 64, 64)
	def(&o.E2ERounds, 3, 1)
	def(&o.Plans, 100_000, 20_000)
	def(&o.PlainPlans, 10_000, 2_000)
	def(&o.HorizonPlans, 4_000, 200)
	def(&o.LedgerRows, 400_000, 20_000)
	def(&o.LedgerReads, 200, 50)
	def(&o.LatencySends, 100, 10)
	if o.PostgresURL == "" {
		o.PostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	def(&o.IntakeBookings, 50_000, 10_000)
	def(&o.IntakeSingle, 5_000, 1_000)
	def(&o.CapacityRows, 500_000, 50_000)
	def(&o.CapacityPending, 100_000, 10_000)
	o.CapacityPending = min(o.CapacityPending, o.CapacityRows)
	def(&o.APIRate, 500, 500)
	def(&o.ScaleMessages, 2_000, 150)
	def(&o.ScaleSenders, 100, 15)
	if o.APIDuration <= 0 {
		o.APIDuration = 20 * time.Second
		if o.Quick {
			o.APIDuration = 4 * time.Second
		}
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.BaselineBudget <= 0 {
		o.BaselineBudget = 150 * time.Second
		if o.Quick {
			o.BaselineBudget = 25 * time.Second
		}
	}
	if o.IdleWindow <= 0 {
		o.IdleWindow = 6 * time.Second
		if o.Quick {
			o.IdleWindow = 2 * time.Second
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Summary is what the last line reports.
type Summary struct {
	Violations          int
	MinGapRatio         float64
	P99LateMS           float64
	CmdsPerMsg          float64
	BaselineCmdsPerMsg  float64
	E2EMsgsPerS         float64
	PlanPerS            float64
	RedisBytesPerMailng float64
	// BaselineE2EMsgsPerS is the unpaced baseline's end-to-end rate in the same run.
	BaselineE2EMsgsPerS float64
	// FutureRedisMBPerMillion is the Redis memory that 1,000,000 planned future mailings use;
	// IntakeBookingsPerS is bulk intake on PostgreSQL; APIP99MS the API's p99 under a fixed
	// load. A scenario that did not run reports -1.
	FutureRedisMBPerMillion float64
	IntakeBookingsPerS      float64
	APIP99MS                float64
}

// String is the SUMMARY line.
func (s Summary) String() string {
	return fmt.Sprintf("SUMMARY violations=%d min_gap_ratio=%.3f p99_late_ms=%.1f cmds_per_msg=%.1f baseline_cmds_per_msg=%.1f e2e_msgs_per_s=%.0f plan_per_s=%.0f redis_bytes_per_mailing=%.0f baseline_e2e_msgs_per_s=%.0f future_redis_mb_per_million=%.1f intake_bookings_per_s=%.0f api_p99_ms=%.2f",
		s.Violations, s.MinGapRatio, s.P99LateMS, s.CmdsPerMsg, s.BaselineCmdsPerMsg, s.E2EMsgsPerS, s.PlanPerS, s.RedisBytesPerMailng,
		s.BaselineE2EMsgsPerS, s.FutureRedisMBPerMillion, s.IntakeBookingsPerS, s.APIP99MS)
}

// Run runs every scenario, prints a table for each and the SUMMARY line last.
func Run(ctx context.Context, o Options, out io.Writer) (Summary, error) {
	o.defaults()
	rdb := redis.NewClient(&redis.Options{Addr: o.RedisAddr, DB: o.DB, PoolSize: 64})
	defer rdb.Close()
	if err := checkDB(ctx, rdb, o.DB); err != nil {
		return Summary{}, err
	}
	defer func() { _ = cleanDB(context.WithoutCancel(ctx), rdb) }()
	b := &bench{o: o, rdb: rdb, out: out}

	fmt.Fprintf(out, "bellhop bench: Redis %s db %d, %d worker processes, GOMAXPROCS-visible CPUs %d\n\n", o.RedisAddr, o.DB, o.Workers, numCPU())

	s := Summary{Violations: -1, MinGapRatio: -1, P99LateMS: -1, CmdsPerMsg: -1, BaselineCmdsPerMsg: -1,
		E2EMsgsPerS: -1, PlanPerS: -1, RedisBytesPerMailng: -1, BaselineE2EMsgsPerS: -1,
		FutureRedisMBPerMillion: -1, IntakeBookingsPerS: -1, APIP99MS: -1}
	if o.runs(1) {
		var pace [2]pacingResult
		for i, mode := range []string{modeOurs, modeBaseline} {
			r, err := b.pacing(ctx, mode)
			if err != nil {
				return Summary{}, fmt.Errorf("scenario 1 (%s): %w", mode, err)
			}
			pace[i] = r
		}
		b.printPacing(pace)
		s.Violations = pace[0].Violations
		s.MinGapRatio = pace[0].MinGap.Seconds() / o.Interval.Seconds()
		if !pace[0].HasGap {
			s.MinGapRatio = 0
		}
		s.P99LateMS = ms(pace[0].P99Late)
		s.CmdsPerMsg, s.BaselineCmdsPerMsg = pace[0].ServerPerMsg, pace[1].ServerPerMsg
	}

	if o.runs(3) {
		var rounds [2][]throughputResult
		for round := range o.E2ERounds {
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0} // the side that goes second is not always the same
			}
			for _, i := range order {
				mode := []string{modeOurs, modeBaseline}[i]
				r, err := b.throughput(ctx, mode)
				if err != nil {
					return Summary{}, fmt.Errorf("scenario 3 (%s): %w", mode, err)
				}
				rounds[i] = append(rounds[i], r)
			}
		}
		thr := [2]throughputResult{medianRound(rounds[0]), medianRound(rounds[1])}
		b.printThroughput(thr, rounds)
		s.E2EMsgsPerS, s.BaselineE2EMsgsPerS = thr[0].Rate, thr[1].Rate
	}

	if o.runs(4) {
		plan, err := b.planning(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 4: %w", err)
		}
		b.printPlanning(plan)
		s.PlanPerS, s.RedisBytesPerMailng = plan.batch.rate, plan.batch.bytes
	}

	if o.runs(5) {
		hz, err := b.horizonPlanning(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 5: %w", err)
		}
		lat, err := b.horizonLatency(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 5, due → start: %w", err)
		}
		b.printHorizon(hz, lat)
		s.FutureRedisMBPerMillion = futureMBPerMillion(hz)
	}

	if o.runs(6) {
		ledger, err := b.ledgerList(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 6: %w", err)
		}
		b.printLedger(ledger)
	}

	if o.runs(7) {
		rate, err := b.runIntake(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 7: %w", err)
		}
		s.IntakeBookingsPerS = rate
	}
	if o.runs(8) {
		capa, err := b.capacity(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 8: %w", err)
		}
		b.printCapacity(capa)
	}
	if o.runs(9) {
		p99, err := b.runAPI(ctx)
		if err != nil {
			return Summary{}, fmt.Errorf("scenario 9: %w", err)
		}
		s.APIP99MS = p99
	}
	if o.runs(10) {
		if err := b.runScaleOut(ctx); err != nil {
			return Summary{}, fmt.Errorf("scenario 10: %w", err)
		}
	}

	fmt.Fprintln(out, s.String())
	return s, nil
}

type bench struct {
	o   Options
	rdb *redis.Client
	out io.Writer
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.o.Log, "bench: "+format+"\n", args...)
}

// runSandbox serves a sandbox on a free local port with senders "1" … "n" (at least the
// default two).
func runSandbox(cfg sandbox.Config, n int) (*sandbox.Server, string, func(), error) {
	sb := sandbox.New(cfg)
	if n > 2 {
		org := sandbox.DefaultOrganization()
		if cfg.APIKey != "" {
			org.APIKey = cfg.APIKey
		}
		org.Senders = nil
		for i := 1; i <= n; i++ {
			id := strconv.Itoa(i)
			org.Senders = append(org.Senders, bellhop.Sender{ID: id, Type: "whatsapp", Name: "Bench " + id, Phone: fmt.Sprintf("+7998%07d", i)})
		}
		sb.AddOrganization(org)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("listen for the sandbox: %w", err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		_ = srv.Close()
		sb.Close()
	}
	return sb, "http://" + ln.Addr().String() + "/v2/", stop, nil
}

// percentile is the nearest-rank p-th percentile of xs (sorted in place).
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(float64(len(xs))*p+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitFor polls cond every step until it holds, ctx ends or deadline passes.
func waitFor(ctx context.Context, deadline time.Time, step time.Duration, cond func() bool) error {
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
	}
	return nil
}

var errTimeout = errors.New("timed out")
