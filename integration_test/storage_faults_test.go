package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStorageFaults: Bellhop on PostgreSQL whose connections the server kills
// (pg_terminate_backend, as a restart or a failover does) answers every request, retried
// under the hood, never 500; while the database cannot be reached at all, the API answers 503
// with Retry-After, and serves again as soon as it is back.
func TestStorageFaults(t *testing.T) {
	dsn := requirePostgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Bellhop reaches the server through a proxy the test can cut, under a name of its own.
	proxy := newDBProxy(t, u.Host)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	appName := "bellhop_faults_" + hex.EncodeToString(b)
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery, u.Host = q.Encode(), proxy.addr()
	admin, err := sql.Open("pgx", postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	// kill ends every connection Bellhop has (its API and its workers); with wait, it returns
	// once the server has really ended them.
	kill := func(wait bool) (int, error) {
		var n int
		err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, appName).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("terminate Bellhop's connections: %w", err)
		}
		for i := 0; wait && i < 200; i++ {
			var left int
			if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&left); err != nil {
				return n, err
			}
			if left == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return n, nil
	}

	h := start(t, u.String(), fastPacing)
	adminToken, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.must(200, "PATCH", base+"/mailings/welcome", adminToken, map[string]any{"enabled": true})
	tomorrow := local.AddDate(0, 0, 1)
	phone := func(i int) string { return fmt.Sprintf("+4917012%05d", i) }

	// Between requests: each request right after a kill still answers as if nothing happened.
	type request struct {
		method, path, token string
		body                any
		want                int
	}
	killed := 0
	for i := range 4 {
		bid := fmt.Sprint("k", i)
		for _, r := range []request{
			{"GET", base, adminToken, nil, 200},
			{"PUT", base + "/bookings/" + bid, h.service, booking(tomorrow, 1, phone(i), "en", time.Now()), 201},
			{"GET", base + "/bookings/" + bid, adminToken, nil, 200},
			{"PUT", base + "/bookings/" + bid, h.service, booking(tomorrow, 2, phone(i), "en", time.Now().Add(time.Second)), 200},
			{"GET", base + "/deliveries", adminToken, nil, 200},
		} {
			n, err := kill(true)
			if err != nil {
				t.Fatal(err)
			}
			killed += n
			if got := h.call(r.method, r.path, r.token, r.body); got.Status != r.want {
				t.Errorf("%s %s right after Bellhop's connections were killed = %d, want %d: %s", r.method, r.path, got.Status, r.want, got.Raw)
			}
		}
	}
	if killed == 0 {
		t.Fatal("no connection of Bellhop's was killed: is application_name passed on?")
	}

	// While requests run: connections die under them, every 100 ms for 2 s, and no request
	// fails with 500. BELLHOP_STORAGE_FAULTS_STORM=1 makes it a storm for chasing rare faults:
	// eight clients that do not pause, and a kill every 250 ms for 25 s.
	rounds, every, nClients, pause := 20, 100*time.Millisecond, 3, 20*time.Millisecond
	if os.Getenv("BELLHOP_STORAGE_FAULTS_STORM") == "1" {
		rounds, every, nClients, pause = 100, 250*time.Millisecond, 8, 0
	}
	stop := make(chan struct{})
	var killer sync.WaitGroup
	kills := 0
	killer.Go(func() {
		defer close(stop)
		for range rounds {
			time.Sleep(every)
			if n, err := kill(false); err != nil {
				t.Error(err)
				return
			} else if n > 0 {
				kills++
			}
		}
	})
	var mu sync.Mutex
	statuses := map[int]int{}
	var clients sync.WaitGroup
	for c := range nClients {
		clients.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				bid := fmt.Sprintf("c%d-%d", c, i)
				for _, r := range []request{
					{"PUT", base + "/bookings/" + bid, h.service, booking(tomorrow, 1, phone(1000+c*10000+i), "en", time.Now()), 201},
					{"GET", base + "/bookings/" + bid, adminToken, nil, 200},
				} {
					got := h.call(r.method, r.path, r.token, r.body)
					mu.Lock()
					statuses[got.Status]++
					mu.Unlock()
					if got.Status == 503 && got.errCode() == "unavailable" {
						// A commit whose connection died under it may have committed: the
						// client is asked to try again rather than have it done twice.
						break
					}
					if got.Status != r.want {
						t.Errorf("%s %s while connections are killed = %d, want %d: %s", r.method, r.path, got.Status, r.want, got.Raw)
					}
				}
				time.Sleep(pause) // a busy PMS, not a benchmark
			}
		})
	}
	clients.Wait()
	killer.Wait()
	t.Logf("statuses while Bellhop's connections were killed %d times: %v", kills, statuses)
	if kills < rounds/2 {
		t.Errorf("only %d kills met a connection of Bellhop's, want most of %d", kills, rounds)
	}
	if statuses[500] > 0 {
		// What the server made of it. Seen twice in about 3,000 requests under -race load with
		// the kills 700 ms apart: a PUT answered 500 "internal error", which only the panic
		// recovery in web.Server.ServeHTTP writes; its log line (with the stack) is an ERROR.
		t.Errorf("%d requests answered 500; the server logged:\n%s", statuses[500], grepLines(h.logs.String(), `"level":"ERROR"`))
	}
	// A commit cut off is looked up, not answered 503; what remains is a request whose every
	// retry met a fresh kill (a slow machine runs few, long requests: at most two then).
	if ok := statuses[200] + statuses[201]; statuses[503] > max(2, ok/10) {
		t.Errorf("%d of the requests answered 503 (%d succeeded), want only the odd one", statuses[503], ok)
	}

	// The database out of reach: 503 with Retry-After, in plain words, for reads and writes.
	proxy.setDown(true)
	for _, r := range []request{
		{"GET", base, adminToken, nil, 503},
		{"PUT", base + "/bookings/down", h.service, booking(tomorrow, 1, phone(999), "en", time.Now()), 503},
	} {
		res, body := h.raw(r.method, r.path, r.token, r.body)
		if res.StatusCode != 503 || res.Header.Get("Retry-After") != "2" || !strings.Contains(body, `"code":"unavailable"`) ||
			!strings.Contains(body, "briefly unavailable") {
			t.Errorf("%s %s with the database unreachable = %d, Retry-After %q: %s; want 503, Retry-After 2 and code unavailable",
				r.method, r.path, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
	}
	proxy.setDown(false)
	h.must(200, "GET", base, adminToken, nil)
	h.must(201, "PUT", base+"/bookings/back", h.service, booking(tomorrow, 1, phone(998), "en", time.Now()))
}

// raw sends a request like call and returns the response itself (headers included) and its body.
func (h *harness) raw(method, path, token string, body any) (*http.Response, string) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// dbProxy forwards TCP connections to the database. Set down, it drops every connection and
// closes new ones at once: the database is out of reach.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	return p
}

func (p *dbProxy) addr() string { return p.ln.Addr().String() }

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *dbProxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = true, true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(server, client)
		close(done)
	}()
	_, _ = io.Copy(client, server)
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *dbProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}
