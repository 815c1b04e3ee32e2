package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/web"
	"github.com/redis/go-redis/v9"
)

// ServeEnv turns the bench binary (or its test binary) into `bellhop serve`: its value is the
// command line after "bellhop", as JSON, and the environment is the bellhop one.
const ServeEnv = "BELLHOP_BENCH_SERVE"

// RunServe is `bellhop <args>` in this process: the bench starts the real API (or workers)
// as processes of their own this way, without building the bellhop binary.
func RunServe(raw string) error {
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		return fmt.Errorf("bench serve: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { // the bench closes stdin to stop it
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	return app.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}

// apiRun is one load at a fixed rate.
type apiRun struct {
	Name           string
	Sent, Errors   int
	P50, P99, Max  time.Duration
	Rate, Achieved float64
	FirstError     string
}

type apiResult struct {
	load, floor apiRun
	rate        float64
	took        time.Duration
	// server is each method's p99 on the server alone (its access log) during the load.
	server map[string]time.Duration
}

// apiLoad runs `bellhop serve --role api` on PostgreSQL as a process of its own and sends it a
// fixed rate of booking pushes and ledger reads from this one, open loop: each request leaves
// at its scheduled time whether or not the ones before have been answered, and its latency is
// counted from that time, so a stall shows in full (no coordinated omission). Beside it, the
// same rate of GET /healthz on the same server: the floor that HTTP and the machine set.
func (b *bench) apiLoad(ctx context.Context) (apiResult, error) {
	o := b.o
	r := apiResult{rate: float64(o.APIRate), took: o.APIDuration}
	db, err := b.openDB(ctx, store.DialectPostgres)
	if err != nil {
		return r, fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	defer db.close()
	const pid = "bench-api"
	now := time.Now().UTC()
	if err := benchHotel(ctx, db.DB, pid, now); err != nil {
		return r, err
	}
	token, err := benchTokenAs(ctx, db.DB, pid, bellhop.RoleService)
	if err != nil {
		return r, err
	}

	ns := "bench-api-" + randomHex(4)
	srv, url, err := startServe(ctx, []string{"serve", "--role", "api", "--addr", "127.0.0.1:0"}, map[string]string{
		"BELLHOP_DATABASE_URL": db.dsn, "REDIS_ADDR": o.RedisAddr, "BELLHOP_REDIS_NAMESPACE": ns,
		"BELLHOP_SECRET_KEY": base64.StdEncoding.EncodeToString(randomBytes(32)), "BELLHOP_LOG_LEVEL": "info", // as in production: a log line per request
	})
	if err != nil {
		return r, err
	}
	defer func() {
		srv.stop()
		// The API queues nothing for stays this far ahead, but say so: its namespace goes.
		_ = deleteKeys(context.WithoutCancel(ctx), o.RedisAddr, ns)
	}()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
	}}
	base := url + "/api/v1/properties/" + pid
	var seq int
	var seqMu sync.Mutex
	load := func(ctx context.Context) (*http.Request, error) {
		seqMu.Lock()
		seq++
		n := seq
		seqMu.Unlock()
		var req *http.Request
		var err error
		if n%2 == 0 {
			req, err = http.NewRequestWithContext(ctx, "GET", base+"/deliveries?limit=50", nil)
		} else {
			// A new booking, or a change to one pushed before (a third of the pushes).
			id := n
			if n%3 == 0 && n > 30 {
				id = n - 30
			}
			body, _ := json.Marshal(apiBooking(n, now))
			req, err = http.NewRequestWithContext(ctx, "PUT", fmt.Sprintf("%s/bookings/API-%07d", base, id), bytes.NewReader(body))
			if req != nil {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		if req != nil {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, err
	}
	floor := func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", url+"/healthz", nil)
	}
	// Warm up the connections and the server's caches, unmeasured.
	if _, err := openLoop(ctx, client, load, o.APIRate, time.Second); err != nil {
		return r, err
	}
	if err := analyzeAPITables(ctx, db.dsn); err != nil {
		return r, err
	}
	b.logf("api: %d requests/s of pushes and reads for %v", o.APIRate, o.APIDuration)
	from := time.Now()
	if r.load, err = openLoop(ctx, client, load, o.APIRate, o.APIDuration); err != nil {
		return r, err
	}
	time.Sleep(100 * time.Millisecond) // the last access lines on their way
	r.server = srv.serverTimes(from, time.Now())
	b.logf("api: %d requests/s of GET /healthz for %v", o.APIRate, o.APIDuration)
	if r.floor, err = openLoop(ctx, client, floor, o.APIRate, o.APIDuration); err != nil {
		return r, err
	}
	r.load.Name, r.floor.Name = "pushes + ledger reads", "GET /healthz"
	return r, nil
}

// analyzeAPITables gathers the planner's statistics of the tables the API scenario reads and
// writes, once they hold the warm-up's rows. A database in service is analyzed by autovacuum
// soon after its tables change (autovacuum_naptime is a minute); this schema is seconds old
// and would not be within the run, and the plans made for its empty, never analyzed tables
// (where any index that starts with property_id looks as cheap as the right one) stay in each
// connection's prepared statements while the tables grow: under load one booking's read came to
// scan the property's whole ledger. The ledger and capacity scenarios analyze after filling
// their tables for the same reason.
func analyzeAPITables(ctx context.Context, dsn string) error {
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = raw.ExecContext(ctx, "ANALYZE properties, tokens, mailings, bookings, deliveries, delivery_attempts, stay_claims")
	if err != nil {
		return fmt.Errorf("api: analyze the warmed-up tables: %w", err)
	}
	return nil
}

// apiBooking is push n: a stay weeks ahead (beyond the planning horizon: the API queues
// nothing), its welcome and feedback planned.
func apiBooking(n int, now time.Time) map[string]any {
	arrival := now.AddDate(0, 0, 14+n%300)
	updated := now.Add(-time.Hour).Add(time.Duration(n) * time.Millisecond)
	return map[string]any{
		"status": "confirmed", "guarantee": "guaranteed",
		"arrival": arrival.Format("2006-01-02"), "departure": arrival.AddDate(0, 0, 2).Format("2006-01-02"),
		"created_at": updated.Format(time.RFC3339Nano), "updated_at": updated.Format(time.RFC3339Nano),
		"guest": map[string]any{"name": fmt.Sprintf("Guest %d", n), "phone": fmt.Sprintf("+7916%07d", n), "language": "ru"},
	}
}

// openLoop sends requests made by next at rate per second for d, each at its scheduled time
// whatever became of the ones before, and measures each from that time to its answer.
func openLoop(ctx context.Context, client *http.Client, next func(context.Context) (*http.Request, error), rate int, d time.Duration) (apiRun, error) {
	total := int(float64(rate) * d.Seconds())
	lat := make([]time.Duration, total)
	failed := make([]string, total)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range total {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
				return apiRun{}, ctx.Err()
			case <-time.After(wait):
			}
		}
		req, err := next(ctx)
		if err != nil {
			return apiRun{}, err
		}
		wg.Go(func() {
			res, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode >= 300 {
					err = fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, res.Status)
				}
			}
			lat[i] = time.Since(at)
			if err != nil {
				failed[i] = err.Error()
			}
		})
	}
	wg.Wait()
	r := apiRun{Sent: total, Rate: float64(rate), Achieved: float64(total) / time.Since(start).Seconds()}
	for _, f := range failed {
		if f != "" {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = f
			}
		}
	}
	r.P50, r.P99, r.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	return r, nil
}

func (b *bench) printAPI(r apiResult) {
	fmt.Fprintf(b.out, "Scenario 9 — the API under a fixed load: `bellhop serve --role api` on PostgreSQL, %0.f requests/s for %v from another process, open loop\n", r.rate, r.took)
	w := newTable(b.out, "", "booking pushes + ledger reads (half each)", "GET /healthz (no database)")
	pair := [2]apiRun{r.load, r.floor}
	row(w, "requests", func(x apiRun) string { return fmt.Sprint(x.Sent) }, pair)
	row(w, "sent / s", func(x apiRun) string { return fmt.Sprintf("%.0f", x.Achieved) }, pair)
	row(w, "latency p50", func(x apiRun) string { return fmt.Sprintf("%.2f ms", ms(x.P50)) }, pair)
	row(w, "latency p99", func(x apiRun) string { return fmt.Sprintf("%.2f ms", ms(x.P99)) }, pair)
	row(w, "latency max", func(x apiRun) string { return fmt.Sprintf("%.2f ms", ms(x.Max)) }, pair)
	row(w, "errors", func(x apiRun) string { return fmt.Sprint(x.Errors) }, pair)
	w.flush()
	if r.load.FirstError != "" {
		fmt.Fprintf(b.out, "  first error: %s\n", r.load.FirstError)
	}
	fmt.Fprintf(b.out, "  Latency counts from each request's scheduled time, so a stall delays every request behind it in the figures.\n")
	fmt.Fprintf(b.out, "  On the server alone (its access log, whole milliseconds), p99: booking pushes %v, ledger reads %v.\n\n",
		r.server["PUT"], r.server["GET"])
}

// runAPI runs and prints the API scenario and returns its p99 in ms, -1 without PostgreSQL.
func (b *bench) runAPI(ctx context.Context) (float64, error) {
	return onPostgres(b, ctx, "Scenario 9 — the API under a fixed load", b.apiLoad, b.printAPI, func(r apiResult) float64 { return ms(r.load.P99) })
}

// deleteKeys removes what a bellhop process of namespace ns left in Redis (its database 0).
func deleteKeys(ctx context.Context, addr, ns string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, "*"+ns+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return rdb.SRem(ctx, "asynq:queues", ns+":mailings").Err()
}

// benchTokenAs stores a token of role for pid ('*': every property) and returns it.
func benchTokenAs(ctx context.Context, db *store.DB, pid string, role bellhop.Role) (string, error) {
	tok := "bh_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	err := db.CreateToken(ctx, &bellhop.Token{ID: randomHex(8), Hash: web.HashToken(tok), PropertyID: pid,
		Role: role, CreatedAt: time.Now().UTC()})
	return tok, err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// served is a bellhop process the bench started.
type served struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	mu     sync.Mutex
	access []accessLine // its access log's lines, as the bench read them
}

// accessLine is one request as the server logged it: its time on the server alone.
type accessLine struct {
	at     time.Time // when the bench read the line
	method string
	took   time.Duration
}

// serverTimes are the p99s of the requests of each method the server logged between from
// and to (its access log counts milliseconds whole).
func (s *served) serverTimes(from, to time.Time) map[string]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := map[string][]time.Duration{}
	for _, l := range s.access {
		if !l.at.Before(from) && !l.at.After(to) {
			by[l.method] = append(by[l.method], l.took)
		}
	}
	p99 := map[string]time.Duration{}
	for m, ds := range by {
		slices.Sort(ds)
		p99[m] = ds[len(ds)*99/100]
	}
	return p99
}

// startServe starts `bellhop args…` as a process of its own (this binary, with ServeEnv) with
// the environment extra on top of this one, and for an API waits until it listens; url is
// where ("" for workers).
func startServe(ctx context.Context, args []string, extra map[string]string) (*served, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	raw, _ := json.Marshal(args)
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), ServeEnv+"="+string(raw))
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start bellhop %s: %w", strings.Join(args, " "), err)
	}
	s := &served{cmd: cmd, in: in}
	// Its log says where it listens; the rest of it goes to the bench's stderr.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errOut)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			var l struct {
				Msg      string `json:"msg"`
				URL      string `json:"url"`
				Method   string `json:"method"`
				Duration *int64 `json:"duration_ms"`
			}
			parsed := json.Unmarshal([]byte(line), &l) == nil
			if !sent && parsed && l.URL != "" && strings.Contains(l.Msg, "listening") {
				found <- l.URL
				sent = true
				continue
			}
			if parsed && l.Msg == "http request" && l.Duration != nil {
				s.mu.Lock()
				s.access = append(s.access, accessLine{at: time.Now(), method: l.Method, took: time.Duration(*l.Duration) * time.Millisecond})
				s.mu.Unlock()
				continue
			}
			if strings.Contains(line, `"level":"ERROR"`) || !strings.HasPrefix(line, "{") {
				fmt.Fprintln(os.Stderr, "bellhop:", line)
			}
		}
		close(found)
	}()
	if !contains(args, "api") {
		return s, "", nil
	}
	select {
	case u, ok := <-found:
		if !ok {
			s.stop()
			return nil, "", fmt.Errorf("bellhop %s ended before it listened", strings.Join(args, " "))
		}
		return s, u, waitHealthy(ctx, u)
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, "", fmt.Errorf("bellhop %s did not listen within 30 s", strings.Join(args, " "))
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func waitHealthy(ctx context.Context, url string) error {
	return waitFor(ctx, time.Now().Add(10*time.Second), 20*time.Millisecond, func() bool {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// stop ends the process gracefully (stdin closes), killing it after 15 s.
func (s *served) stop() {
	_ = s.in.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}
