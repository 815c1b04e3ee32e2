// Package scenario is Bellhop's fault run: real worker processes on PostgreSQL and a Redis of
// its own, sending welcomes through the sandbox provider (which bans a sender sent two
// messages too close together and keeps every repeat), while workers are SIGKILLed, Redis
// restarts empty, the provider answers 503 or slowly, and PostgreSQL ends connections. It
// counts what a hotel would notice: messages accepted more or less than once, bans, gaps
// under the interval, and errors the API answered. `go run ./cmd/chaos` is the long version;
// integration_test's TestFaultSuite runs a short one.
package scenario

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/internal/redisproc"
	"github.com/bellhop/bellhop/provider/sandbox"
	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that ends Bellhop's sessions
)

// Config sets up a run. Zero values mean the defaults of the short run.
type Config struct {
	Bin         string // the bellhop binary the workers run (go build ./cmd/bellhop)
	DatabaseURL string // PostgreSQL; the run creates a schema of its own and drops it
	RedisServer string // the redis-server binary; default: found on PATH
	// Redis is how the run's own Redis is arranged: one server (the default), a Redis
	// Cluster of three masters with a replica each, or a Sentinel group.
	Redis redisproc.Kind
	Dir   string // scratch folder (worker logs, Redis); default: a temporary one

	Messages       int           // welcomes due now, spread over the senders; default 40
	Senders        int           // one property and provider account each; default 2
	Workers        int           // worker processes; default 2
	WorkerKills    int           // SIGKILLs of a worker (replaced at once); default 2
	RedisRestarts  int           // Redis killed and started again empty (a cluster's or Sentinel group's masters flushed); default 1
	RedisFailovers int           // a master SIGKILLed and a replica taking over (cluster and Sentinel only); default 0
	Outages        int           // provider answering 503 for OutageFor; default 1
	LatencySpikes  int           // provider answering after SendTimeout+1 s for OutageFor; default 1
	DBKills        int           // every Bellhop connection ended by the server; default 1
	Interval       time.Duration // least time between two messages of a sender; default 500 ms
	SendTimeout    time.Duration // default 2 s
	OutageFor      time.Duration // how long an outage or a latency spike lasts; default 2 s
	Deadline       time.Duration // the run fails when not settled by then; default 4 min
	// Plan, when set, is the faults in the order they land (names as in Fault.What), instead
	// of the counts above in a shuffled order: a run that found something can be run again.
	Plan []string
	Logf func(format string, args ...any)
}

// Fault is one fault injected, and how long sending took to resume after it.
type Fault struct {
	What     string
	At       time.Duration // since the welcomes were switched on
	Recovery time.Duration // from the fault's end to the next message the provider took
}

// Result is what the run counts. A good run has every count but Planned, Accepted and Requests
// at zero.
type Result struct {
	Planned  int // welcomes due
	Accepted int // messages the provider took
	Missing  int // planned welcomes the provider never took
	Repeated int // second messages under a mark the provider already had
	// RepeatedAt lists each repeated mark with its arrivals (times since the welcomes were
	// switched on), for finding its sends in the workers' logs.
	RepeatedAt   map[string][]time.Duration
	Stray        int // messages under no planned mark
	Bans         int // senders the provider banned
	Gaps         int // gaps between two messages of a sender under the interval
	MinGapRatio  float64
	PacerMasters int // Redis Cluster masters that held some sender's pacer keys at the end
	LossNoticed  int // times a worker noticed Redis had lost its data (by the marker) and queued again
	// SchedulerLease says the planning horizon's scheduler held its lease in Redis at the end
	// (its scripts ran there, after every fault).
	SchedulerLease bool
	NotFinal       int // welcomes not sent/delivered/read at the end
	Requests       int // API requests made during the run
	ServerErrors   int // API answers 5xx other than 503 with Retry-After
	Unavailable    int // 503 with Retry-After (a dependency was down; the client may retry)
	Faults         []Fault
	Elapsed        time.Duration
}

// OK reports whether the run kept every promise.
func (r Result) OK() bool {
	return r.Missing == 0 && r.Repeated == 0 && r.Stray == 0 && r.Bans == 0 && r.Gaps == 0 && r.NotFinal == 0 && r.ServerErrors == 0
}

// Summary is one line of the counts, for logs and README.
func (r Result) Summary() string {
	return fmt.Sprintf("CHAOS planned=%d accepted=%d missing=%d repeated=%d stray=%d bans=%d gaps_under_interval=%d min_gap_ratio=%.2f not_final=%d requests=%d server_errors=%d unavailable_503=%d faults=%d elapsed=%s",
		r.Planned, r.Accepted, r.Missing, r.Repeated, r.Stray, r.Bans, r.Gaps, r.MinGapRatio, r.NotFinal,
		r.Requests, r.ServerErrors, r.Unavailable, len(r.Faults), r.Elapsed.Round(time.Second)) + r.clusterSummary() + r.repeatedSummary()
}

// repeatedSummary names the repeated marks and when each arrived, or is empty.
func (r Result) repeatedSummary() string {
	var s string
	for _, m := range slices.Sorted(maps.Keys(r.RepeatedAt)) {
		s += fmt.Sprintf(" repeated_mark=%s@%v", m, r.RepeatedAt[m])
	}
	return s
}

func (r Result) clusterSummary() string {
	s := fmt.Sprintf(" loss_noticed=%d scheduler_lease=%t", r.LossNoticed, r.SchedulerLease)
	if r.PacerMasters > 0 {
		s += fmt.Sprintf(" pacer_masters=%d", r.PacerMasters)
	}
	return s
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Messages, 40)
	def(&c.Senders, 2)
	def(&c.Workers, 2)
	if c.Interval <= 0 {
		c.Interval = 500 * time.Millisecond
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 2 * time.Second
	}
	if c.OutageFor <= 0 {
		c.OutageFor = 2 * time.Second
	}
	if c.Deadline <= 0 {
		c.Deadline = 4 * time.Minute
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// run is one run's moving parts.
type run struct {
	cfg     Config
	dir     string
	dbURL   string // Bellhop's, with its application_name
	admin   *sql.DB
	schema  string
	appName string
	redis   *redisproc.Group
	// failedOver is how many masters were failed over so far.
	failedOver int
	sb         *sandbox.Server
	sbURL      string
	main       *app.Main
	api        string
	secret     string
	ns         string
	workers    *fleet
	service    string
	props      []property

	requests, serverErrors, unavailable atomic.Int64
	// switchedOn is when the welcomes were switched on: the faults' and arrivals' times count
	// from it.
	switchedOn time.Time
}

type property struct {
	id, admin string
	local     time.Time
	marks     []string // planned welcome ids
}

// Run performs one fault run. A setup failure is an error; broken promises are in Result.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg.defaults()
	faults := cfg.WorkerKills + cfg.RedisRestarts + cfg.RedisFailovers + cfg.Outages + cfg.LatencySpikes + cfg.DBKills
	if len(cfg.Plan) > 0 {
		faults = len(cfg.Plan)
	}
	if cfg.Bin == "" || cfg.DatabaseURL == "" {
		return res, errors.New("chaos: Bin and DatabaseURL are required")
	}
	r := &run{cfg: cfg}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	r.dir = cfg.Dir
	if r.dir == "" {
		d, err := os.MkdirTemp("", "bellhop-chaos-")
		if err != nil {
			return res, err
		}
		r.dir = d
		cleanups = append(cleanups, func() { _ = os.RemoveAll(d) })
	}
	if err := r.database(ctx); err != nil {
		return res, err
	}
	cleanups = append(cleanups, r.dropDatabase)
	if r.redis, err = redisproc.Start(ctx, cfg.Redis, cfg.RedisServer, r.dir); err != nil {
		return res, fmt.Errorf("chaos: %w", err)
	}
	cleanups = append(cleanups, r.redis.Stop)

	// The provider: one account (and one sender) per property, banning gaps under 90 % of
	// the interval, so that only a broken pacer is banned, not the send's own jitter.
	r.sb = sandbox.New(sandbox.Config{Spacing: cfg.Interval * 9 / 10})
	sbSrv := httptest.NewServer(r.sb)
	cleanups = append(cleanups, sbSrv.Close, r.sb.Close)
	r.sbURL = sbSrv.URL + "/v2/"
	for i := range cfg.Senders {
		r.sb.AddOrganization(sandbox.Organization{
			ID: fmt.Sprintf("org%d", i+1), Name: fmt.Sprintf("Chaos Hotel %d", i+1), APIKey: fmt.Sprintf("chaos-key-%d", i+1),
			Senders:   []bellhop.Sender{{ID: fmt.Sprintf("s%d", i+1), Type: "whatsapp", Name: "Reception", Phone: fmt.Sprintf("+7999%07d", i+1)}},
			Operators: []bellhop.Operator{{ID: "1", Name: "Front Desk"}},
		})
	}

	apiCtx, stopAPI := context.WithCancel(ctx)
	if err := r.startAPI(apiCtx); err != nil {
		stopAPI()
		return res, err
	}
	cleanups = append(cleanups, func() { stopAPI(); r.main.Close() })
	r.workers = newFleet(cfg.Bin, r.dir, r.workerEnv())
	cleanups = append(cleanups, r.workers.stopAll)
	for range cfg.Workers {
		if err := r.workers.start(); err != nil {
			return res, err
		}
	}
	if err := r.setUp(ctx); err != nil {
		return res, err
	}
	// Load from a client while it runs: ledger reads and far-future booking pushes, on a copy
	// of the properties (their planned marks are filled in below).
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadDone sync.WaitGroup
	props := slices.Clone(r.props)
	loadDone.Go(func() { r.load(loadCtx, props) })

	began := time.Now()
	r.switchedOn = began
	for _, p := range r.props {
		if _, err := r.call(ctx, "PATCH", "/api/v1/properties/"+p.id+"/mailings/welcome", p.admin, map[string]any{"enabled": true}); err != nil {
			stopLoad()
			return res, err
		}
	}
	// Switching the welcome on planned one per guest: these are the marks to find.
	if err := r.plannedMarks(ctx); err != nil {
		stopLoad()
		return res, err
	}
	for _, p := range r.props {
		res.Planned += len(p.marks)
	}
	plan := r.faultPlan()
	r.cfg.Logf("chaos: %d welcomes over %d senders, %d workers, %d faults", res.Planned, cfg.Senders, cfg.Workers, faults)
	for i, what := range plan {
		// Fault i lands when (i+1)/(n+1) of the welcomes have gone out.
		want := res.Planned * (i + 1) / (len(plan) + 1)
		if err := r.waitAccepted(ctx, want, began); err != nil {
			stopLoad()
			return res, err
		}
		f := Fault{What: what, At: time.Since(began)}
		ended, err := r.inject(ctx, what)
		if err != nil {
			stopLoad()
			return res, fmt.Errorf("inject %s: %w", what, err)
		}
		before := len(r.sb.Messages())
		if err := r.waitAccepted(ctx, min(before+1, res.Planned), began); err != nil {
			stopLoad()
			return res, err
		}
		f.Recovery = time.Since(ended)
		res.Faults = append(res.Faults, f)
		r.cfg.Logf("chaos: %-16s at %6s, sending again %s after it ended", what, f.At.Round(100*time.Millisecond), f.Recovery.Round(10*time.Millisecond))
	}
	notFinal, err := r.settle(ctx, began)
	stopLoad()
	loadDone.Wait()
	if err != nil {
		return res, err
	}
	res.NotFinal = notFinal
	res.Elapsed = time.Since(began)
	r.count(&res)
	res.LossNoticed = r.workers.count(lossNoticed)
	if res.SchedulerLease, err = r.schedulerLease(ctx); err != nil {
		return res, err
	}
	if cfg.Redis == redisproc.Cluster {
		byMaster, err := r.redis.KeysByMaster(ctx, r.pacerKeys())
		if err != nil {
			return res, err
		}
		res.PacerMasters = len(byMaster)
	}
	return res, nil
}

// faultPlan is the faults in a shuffled order (or Config.Plan's).
func (r *run) faultPlan() []string {
	if len(r.cfg.Plan) > 0 {
		return r.cfg.Plan
	}
	var plan []string
	add := func(n int, what string) {
		for range n {
			plan = append(plan, what)
		}
	}
	add(r.cfg.WorkerKills, "worker killed")
	add(r.cfg.RedisRestarts, "redis restarted")
	add(r.cfg.RedisFailovers, "redis failover")
	add(r.cfg.Outages, "provider 503")
	add(r.cfg.LatencySpikes, "provider slow")
	add(r.cfg.DBKills, "db connections")
	mrand.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	return plan
}

// inject causes one fault and returns when it ended.
func (r *run) inject(ctx context.Context, what string) (time.Time, error) {
	switch what {
	case "worker killed":
		r.workers.killRandom()
		return time.Now(), r.workers.start()
	case "redis restarted":
		if err := r.redis.Empty(ctx); err != nil {
			return time.Time{}, err
		}
		return time.Now(), nil
	case "redis failover":
		key, err := r.failoverTarget(ctx)
		if err != nil {
			return time.Time{}, err
		}
		killed, promoted, err := r.redis.FailoverFor(ctx, key)
		if err != nil {
			return time.Time{}, err
		}
		r.failedOver++
		r.cfg.Logf("chaos: master %s (holding %s) killed, %s took over", killed, key, promoted)
		return time.Now(), nil
	case "provider 503":
		r.sb.SetOutage(http.StatusServiceUnavailable)
		sleep(ctx, r.cfg.OutageFor)
		r.sb.SetOutage(0)
		return time.Now(), nil
	case "provider slow":
		r.sb.SetLatency(r.cfg.SendTimeout + time.Second)
		sleep(ctx, r.cfg.OutageFor)
		r.sb.SetLatency(0)
		return time.Now(), nil
	case "db connections":
		_, err := r.admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, r.appName)
		return time.Now(), err
	}
	return time.Time{}, fmt.Errorf("unknown fault %q", what)
}

// failoverTarget is a key whose master is failed over next: in a cluster first the master
// holding the send queue, then masters holding a sender's pacer keys (each with a replica left
// to take over); in a Sentinel group there is only the master.
func (r *run) failoverTarget(ctx context.Context) (string, error) {
	queueKey := "asynq:{" + r.ns + ":mailings}:pending" // the queue's hash tag (Asynq's keys)
	if r.cfg.Redis != redisproc.Cluster || r.failedOver == 0 {
		return queueKey, nil
	}
	byMaster, err := r.redis.KeysByMaster(ctx, r.pacerKeys())
	if err != nil {
		return "", err
	}
	for addr, keys := range byMaster {
		if r.redis.HasReplica(ctx, addr) {
			return keys[0], nil
		}
	}
	// Every sender happens to live on masters already failed over: any other master will do.
	for i := range 1000 {
		key := fmt.Sprintf("{probe-%d}", i)
		if addr, err := r.redis.MasterOf(ctx, key); err == nil && r.redis.HasReplica(ctx, addr) {
			return key, nil
		}
	}
	return "", errors.New("chaos: no master has a replica left to fail over to")
}

// schedulerLease reports whether a worker holds the horizon scheduler's lease (queue.Horizon):
// its key shares the queue's hash tag.
func (r *run) schedulerLease(ctx context.Context) (bool, error) {
	rdb := r.redis.Client()
	defer rdb.Close()
	// A failover or a restart near the end may have taken the lease with it: a scheduler takes
	// it again at its next look (every 5 s; a look that meets the failover fails and the next
	// one retries), so it is looked for over two of them.
	deadline := time.Now().Add(12 * time.Second)
	for {
		n, err := rdb.Exists(ctx, "bellhop:lease:{"+r.ns+":mailings}:horizon").Result()
		if err == nil && n == 1 {
			return true, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return false, fmt.Errorf("chaos: look for the scheduler's lease: %w", err)
			}
			return false, nil
		}
		sleep(ctx, 200*time.Millisecond)
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
}

// pacerKeys matches the state key of every sender's pacer in the run's namespace.
func (r *run) pacerKeys() string { return "bellhop:" + r.ns + ":pacer:{*}:state" }

// sleep waits d: a fault lasts that long in the real world too.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// waitAccepted returns once the provider took n messages.
func (r *run) waitAccepted(ctx context.Context, n int, began time.Time) error {
	for len(r.sb.Messages()) < n {
		if time.Since(began) > r.cfg.Deadline {
			return fmt.Errorf("chaos: only %d of %d messages went out in %s\n%s", len(r.sb.Messages()), n, r.cfg.Deadline, r.workers.tails())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleep(ctx, 20*time.Millisecond) // polling other processes' progress
	}
	return nil
}

// settle waits until every planned welcome is final and no send is queued or running, so
// that no late repeat can still reach the provider; it returns how many are not final when
// the deadline comes.
func (r *run) settle(ctx context.Context, began time.Time) (int, error) {
	for {
		var open int
		err := r.admin.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.deliveries
			WHERE booking_id LIKE 'g-%%' AND status NOT IN ('sent', 'delivered', 'read')`, r.schema)).Scan(&open)
		if err != nil {
			return 0, fmt.Errorf("read the ledger: %w", err)
		}
		if open == 0 {
			return 0, nil
		}
		if time.Since(began) > r.cfg.Deadline || ctx.Err() != nil {
			return open, nil
		}
		sleep(ctx, 100*time.Millisecond) // polling other processes' progress
	}
}

// count compares what the provider took with what was planned.
func (r *run) count(res *Result) {
	planned := map[string]bool{}
	for _, p := range r.props {
		for _, m := range p.marks {
			planned[m] = true
		}
	}
	seen := map[string]int{}
	arrived := map[string][]time.Duration{}
	last := map[string]time.Time{} // sender → the previous message's arrival
	res.MinGapRatio = -1
	for _, m := range r.sb.Messages() { // in arrival order
		if m.Incoming {
			continue
		}
		res.Accepted++
		seen[m.Mark]++
		arrived[m.Mark] = append(arrived[m.Mark], m.CreatedAt.Sub(r.switchedOn))
		// The promise is measured where the guest's phone would see it: arrivals at the
		// provider, strictly against the interval (the sandbox bans only under 90 % of it).
		sender := m.OrgID + "/" + m.SenderID
		if prev, ok := last[sender]; ok {
			gap := m.CreatedAt.Sub(prev)
			if gap < r.cfg.Interval {
				res.Gaps++
			}
			if ratio := float64(gap) / float64(r.cfg.Interval); res.MinGapRatio < 0 || ratio < res.MinGapRatio {
				res.MinGapRatio = ratio
			}
		}
		last[sender] = m.CreatedAt
	}
	for m := range planned {
		if seen[m] == 0 {
			res.Missing++
		}
	}
	for m, n := range seen {
		if !planned[m] {
			res.Stray += n
		} else if n > 1 {
			res.Repeated += n - 1
			if res.RepeatedAt == nil {
				res.RepeatedAt = map[string][]time.Duration{}
			}
			res.RepeatedAt[m] = arrived[m]
		}
	}
	for _, st := range r.sb.Stats() {
		if st.Banned {
			res.Bans++
		}
	}
	res.Requests = int(r.requests.Load())
	res.ServerErrors = int(r.serverErrors.Load())
	res.Unavailable = int(r.unavailable.Load())
}

// database makes a schema of the run's own and Bellhop's URL into it, under an
// application_name the DB-kill fault can aim at.
func (r *run) database(ctx context.Context) error {
	admin, err := sql.Open("pgx", r.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	r.admin = admin
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	r.schema = "chaos_" + hex.EncodeToString(b)
	r.appName = "bellhop_" + r.schema
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+r.schema); err != nil {
		return fmt.Errorf("chaos: create schema: %w", err)
	}
	u, err := url.Parse(r.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", r.schema)
	q.Set("application_name", r.appName)
	u.RawQuery = q.Encode()
	r.dbURL = u.String()
	return nil
}

func (r *run) dropDatabase() {
	_, _ = r.admin.Exec("DROP SCHEMA " + r.schema + " CASCADE")
	_ = r.admin.Close()
}

func (r *run) env(k string) string {
	switch k {
	case "BELLHOP_DATABASE_URL":
		return r.dbURL
	case "REDIS_ADDR":
		return r.redis.Addr()
	case "REDIS_SENTINEL_MASTER":
		return r.redis.SentinelMaster()
	case "BELLHOP_SECRET_KEY":
		return r.secret
	case "BELLHOP_REDIS_NAMESPACE":
		return r.ns
	case "BELLHOP_SEND_INTERVAL":
		return r.cfg.Interval.String()
	case "BELLHOP_SEND_TIMEOUT":
		return r.cfg.SendTimeout.String()
	case "BELLHOP_ALLOW_PRIVATE_PROVIDERS":
		return "true"
	case "BELLHOP_LOG_LEVEL":
		return "info"
	}
	return ""
}

func (r *run) workerEnv() []string {
	var env []string
	for _, k := range []string{"BELLHOP_DATABASE_URL", "REDIS_ADDR", "REDIS_SENTINEL_MASTER", "BELLHOP_SECRET_KEY", "BELLHOP_REDIS_NAMESPACE",
		"BELLHOP_SEND_INTERVAL", "BELLHOP_SEND_TIMEOUT", "BELLHOP_ALLOW_PRIVATE_PROVIDERS", "BELLHOP_LOG_LEVEL"} {
		env = append(env, k+"="+r.env(k))
	}
	return env
}

// startAPI runs Bellhop's API (no workers) in this process, on a free port.
func (r *run) startAPI(ctx context.Context) error {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r.secret = base64.StdEncoding.EncodeToString(key)
	r.ns = "chaos-" + r.schema
	cfg, err := app.ConfigFromEnv(r.env, true)
	if err != nil {
		return err
	}
	m := app.NewMain(cfg)
	m.Addr, m.Role = "127.0.0.1:0", app.RoleAPI
	logf, err := os.Create(filepath.Join(r.dir, "api.log"))
	if err != nil {
		return err
	}
	m.Logger = slog.New(slog.NewJSONHandler(logf, nil))
	if err := m.Open(ctx); err != nil {
		m.Close()
		return fmt.Errorf("chaos: open the API: %w", err)
	}
	go func() { _ = m.Run(ctx) }()
	r.main, r.api = m, m.URL()
	return nil
}

// cli runs a bellhop command in this process.
func (r *run) cli(ctx context.Context, args ...string) (string, error) {
	var out, errb bytes.Buffer
	if err := app.Run(ctx, args, r.env, &out, &errb); err != nil {
		return "", fmt.Errorf("bellhop %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// setUp makes the properties, connects each to its provider account and pushes its guests,
// all arriving tomorrow, so that every welcome is due as soon as it is switched on.
func (r *run) setUp(ctx context.Context) error {
	var err error
	if r.service, err = r.cli(ctx, "token", "create", "--property", "*", "--role", "service"); err != nil {
		return err
	}
	zone, local := afternoonZone(time.Now())
	for i := range r.cfg.Senders {
		p := property{id: fmt.Sprintf("h%d", i+1), local: local}
		if _, err := r.call(ctx, "POST", "/api/v1/properties", r.service, map[string]any{
			"id": p.id, "name": "Chaos Hotel " + p.id, "time_zone": zone, "country": "DE", "language": "en", "contact_center": true,
		}); err != nil {
			return err
		}
		if p.admin, err = r.cli(ctx, "token", "create", "--property", p.id, "--role", "admin"); err != nil {
			return err
		}
		base := "/api/v1/properties/" + p.id + "/integrations/intellectdialog"
		steps := []struct {
			method, path string
			body         any
		}{
			{"PUT", base, map[string]any{"api_key": fmt.Sprintf("chaos-key-%d", i+1), "base_url": r.sbURL}},
			{"POST", base + "/check", nil},
			{"POST", base + "/activate", nil},
		}
		for _, s := range steps {
			if _, err := r.call(ctx, s.method, s.path, p.admin, s.body); err != nil {
				return err
			}
		}
		r.props = append(r.props, p)
	}
	for n := range r.cfg.Messages {
		p := &r.props[n%len(r.props)]
		body := booking(p.local.AddDate(0, 0, 1), fmt.Sprintf("+49170%07d", n))
		if _, err := r.call(ctx, "PUT", fmt.Sprintf("/api/v1/properties/%s/bookings/g-%d", p.id, n), r.service, body); err != nil {
			return err
		}
	}
	return nil
}

// plannedMarks reads each property's planned welcomes for the guests due now.
func (r *run) plannedMarks(ctx context.Context) error {
	for i := range r.props {
		p := &r.props[i]
		rows, err := r.admin.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM %s.deliveries
			WHERE property_id = $1 AND kind = 'welcome' AND booking_id LIKE 'g-%%'`, r.schema), p.id)
		if err != nil {
			return fmt.Errorf("read the planned welcomes: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			p.marks = append(p.marks, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func booking(arrival time.Time, phone string) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"status": "confirmed", "guarantee": "guaranteed",
		"arrival": arrival.Format("2006-01-02"), "departure": arrival.AddDate(0, 0, 2).Format("2006-01-02"),
		"created_at": now, "updated_at": now,
		"guest": map[string]any{"name": "Chaos Guest", "phone": phone, "language": "en"},
	}
}

// load is a PMS and a manager using the API while the faults land: ledger reads and pushes of
// far-future bookings (planned, not due). Every answer is counted; 503 with Retry-After is
// allowed while a dependency is down, any other 5xx is not.
func (r *run) load(ctx context.Context, props []property) {
	n := 0
	for ctx.Err() == nil {
		p := props[n%len(props)]
		if n%2 == 0 {
			_, _ = r.call(ctx, "GET", "/api/v1/properties/"+p.id+"/deliveries?limit=20", p.admin, nil)
		} else {
			_, _ = r.call(ctx, "PUT", fmt.Sprintf("/api/v1/properties/%s/bookings/f-%d", p.id, n), r.service,
				booking(p.local.AddDate(0, 2, 0), fmt.Sprintf("+49171%07d", n)))
		}
		n++
		sleep(ctx, 50*time.Millisecond) // a steady 20 requests a second
	}
}

// call makes one API request and counts its answer; 4xx and 5xx are errors.
func (r *run) call(ctx context.Context, method, path, token string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.api+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.requests.Add(1)
		r.serverErrors.Add(1)
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	r.requests.Add(1)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		r.unavailable.Add(1)
	case resp.StatusCode >= 500:
		r.serverErrors.Add(1)
		r.cfg.Logf("chaos: %s %s answered %d: %.200s", method, path, resp.StatusCode, out)
	}
	if resp.StatusCode >= 400 {
		return out, fmt.Errorf("%s %s = %d: %.300s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// afternoonZone is a fixed-offset zone where it is afternoon now, so that a welcome for
// tomorrow's arrival is due at once, outside quiet hours.
func afternoonZone(now time.Time) (string, time.Time) {
	for off := -12; off <= 14; off++ {
		if h := now.UTC().Add(time.Duration(off) * time.Hour).Hour(); h >= 12 && h < 19 {
			name := "Etc/GMT"
			if off > 0 {
				name += fmt.Sprintf("-%d", off)
			} else if off < 0 {
				name += fmt.Sprintf("+%d", -off)
			}
			if loc, err := time.LoadLocation(name); err == nil {
				return name, now.In(loc)
			}
		}
	}
	return "UTC", now.UTC()
}

// fleet is the worker processes.
type fleet struct {
	bin, dir string
	env      []string
	mu       sync.Mutex
	alive    []*exec.Cmd
	n        int
}

func newFleet(bin, dir string, env []string) *fleet { return &fleet{bin: bin, dir: dir, env: env} }

func (f *fleet) start() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	out, err := os.Create(filepath.Join(f.dir, fmt.Sprintf("worker-%02d.log", f.n)))
	if err != nil {
		return err
	}
	cmd := exec.Command(f.bin, "serve", "--role", "worker")
	cmd.Env, cmd.Stdout, cmd.Stderr = f.env, out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("chaos: start a worker: %w", err)
	}
	go func() { _ = cmd.Wait(); out.Close() }()
	f.alive = append(f.alive, cmd)
	return nil
}

func (f *fleet) killRandom() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.alive) == 0 {
		return
	}
	i := mrand.N(len(f.alive))
	_ = f.alive[i].Process.Signal(syscall.SIGKILL)
	f.alive = slices.Delete(f.alive, i, i+1)
}

// stopAll ends the workers left at the end of a run.
func (f *fleet) stopAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.alive {
		_ = c.Process.Signal(syscall.SIGKILL)
	}
	f.alive = nil
}

// lossNoticed starts the log line of a worker that found Redis's marker gone (queue.Worker).
const lossNoticed = `"msg":"Redis lost its data`

// count is how many lines of the workers' logs contain s.
func (f *fleet) count(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for i := 1; i <= f.n; i++ {
		data, _ := os.ReadFile(filepath.Join(f.dir, fmt.Sprintf("worker-%02d.log", i)))
		n += strings.Count(string(data), s)
	}
	return n
}

// tails is the end of each worker's log, for a run that fails.
func (f *fleet) tails() string {
	var b strings.Builder
	for i := 1; i <= f.n; i++ {
		data, err := os.ReadFile(filepath.Join(f.dir, fmt.Sprintf("worker-%02d.log", i)))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- worker %d (last lines)\n%s\n", i, strings.Join(lines[max(0, len(lines)-8):], "\n"))
	}
	return b.String()
}
