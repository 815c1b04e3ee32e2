package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/provider/sandbox"
)

// harness is one running Bellhop (the real Main on :0) with its own database, Redis and a
// sandbox provider served over HTTP.
type harness struct {
	t       *testing.T
	main    *app.Main
	url     string
	dbURL   string
	secret  string
	sandbox *sandbox.Server
	sbURL   string // API root, …/v2/
	logs    *syncBuffer
	service string // service token for all properties
	ns      string // the Redis namespace of this Bellhop's queue and pacer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs Main (role all unless an option says otherwise) on a database.
func start(t *testing.T, dbURL string, opts ...func(*app.Main)) *harness {
	t.Helper()
	raddr := requireRedis(t)
	h := &harness{t: t, dbURL: dbURL, logs: &syncBuffer{}}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	h.secret = base64.StdEncoding.EncodeToString(key)

	h.sandbox = sandbox.New(sandbox.Config{})
	sbSrv := httptest.NewServer(h.sandbox)
	t.Cleanup(sbSrv.Close)
	t.Cleanup(h.sandbox.Close)
	h.sbURL = sbSrv.URL + "/v2/"

	// Each harness has a Redis namespace of its own: queued sends and pacer state of one test
	// (or an earlier run) never reach another.
	nsb := make([]byte, 6)
	_, _ = rand.Read(nsb)
	ns := "test-" + base64.RawURLEncoding.EncodeToString(nsb)
	h.ns = ns
	cfg, err := app.ConfigFromEnv(h.env(map[string]string{"REDIS_ADDR": raddr, "BELLHOP_SECRET_KEY": h.secret, "BELLHOP_REDIS_NAMESPACE": ns}), true)
	if err != nil {
		t.Fatal(err)
	}
	m := app.NewMain(cfg)
	m.Addr = "127.0.0.1:0"
	m.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, o := range opts {
		o(m)
	}
	runMain(t, m)
	h.main, h.url = m, m.URL()
	h.service = h.cli("token", "create", "--property", "*", "--role", "service")
	return h
}

// env is the process environment the commands see: the harness's database and key.
func (h *harness) env(extra map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		switch k {
		case "BELLHOP_DATABASE_URL":
			return h.dbURL
		case "BELLHOP_SECRET_KEY":
			return h.secret
		case "REDIS_ADDR":
			return redisAddr
		case "BELLHOP_REDIS_NAMESPACE":
			return h.ns
		case "BELLHOP_ALLOW_PRIVATE_PROVIDERS":
			// The sandbox listens on loopback over plain http (security_test turns it off).
			return "true"
		}
		return ""
	}
}

// cli runs a bellhop command as a user would and returns its stdout, trimmed.
func (h *harness) cli(args ...string) string {
	h.t.Helper()
	var out, errb bytes.Buffer
	if err := app.Run(context.Background(), args, h.env(nil), &out, &errb); err != nil {
		h.t.Fatalf("bellhop %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// response is an API answer.
type response struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r response) errCode() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r response) errMessage() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// call sends a request with a bearer token and a JSON body (a string is sent as is).
func (h *harness) call(method, path, token string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// must calls and fails the test unless the status is want.
func (h *harness) must(want int, method, path, token string, body any) response {
	h.t.Helper()
	r := h.call(method, path, token, body)
	if r.Status != want {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r
}

// property creates a property through the API and an admin token for it.
func (h *harness) property(id string, contactCenter bool) (admin string) {
	h.t.Helper()
	h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
		"id": id, "name": "Hotel " + id, "time_zone": "Europe/Moscow", "country": "RU", "contact_center": contactCenter,
	})
	return h.cli("token", "create", "--property", id, "--role", "admin")
}

// singleSenderOrg is a second provider account with one sender only.
func singleSenderOrg() sandbox.Organization {
	return sandbox.Organization{
		ID: "2", Name: "Solo Inn", APIKey: "one-sender-key",
		Senders:   []bellhop.Sender{{ID: "77", Type: "telegram", Name: "Solo bot"}},
		Operators: []bellhop.Operator{{ID: "9", Name: "Solo Operator"}},
	}
}

// startWorker runs a second Bellhop process in this one — a worker, unless opts say otherwise —
// on the harness's database, Redis namespace and secret key.
func (h *harness) startWorker(t *testing.T, opts ...func(*app.Main)) *app.Main {
	t.Helper()
	cfg, err := app.ConfigFromEnv(h.env(nil), true)
	if err != nil {
		t.Fatal(err)
	}
	m := app.NewMain(cfg)
	m.Role = app.RoleWorker
	m.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("process", "worker")
	for _, o := range opts {
		o(m)
	}
	runMain(t, m)
	return m
}

// runMain opens m and runs it until the test ends.
func runMain(t *testing.T, m *app.Main) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		t.Fatalf("open Main (role %s): %v", m.Role, err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Main.Run (role %s): %v", m.Role, err)
		}
		m.Close()
	})
}
