package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/hibiken/asynq"
)

// TestCrashedWorkersSendEachMessageOnce runs the mailing workers as real `bellhop serve --role
// worker` processes and SIGKILLs them again and again in the middle of a send — some after the
// provider took the message but before the worker heard back, some before the message left —
// starting a replacement each time. Every planned welcome must reach the sandbox exactly once
// (it keeps every message, a second one under a known mark included, as the real provider
// does) and end sent in the ledger, and the sender must never be banned: the exactly-once
// effect and the pacing hold across crashes, not only across retries.
func TestCrashedWorkersSendEachMessageOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts worker processes for a few minutes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("finds which worker process is mid-send through /proc")
	}
	const (
		guests      = 40
		interval    = 500 * time.Millisecond // BELLHOP_SEND_INTERVAL of every process
		sendTimeout = 2 * time.Second        // BELLHOP_SEND_TIMEOUT: how long a killed send holds the sender
		midSend     = 8                      // kills that must land inside a provider call
	)
	began := time.Now()
	dbURL := requirePostgres(t) // the API and every worker process share it
	bin := buildBellhop(t)
	built := time.Since(began)

	// The provider and its callbacks go through relays: the killer sees each send in flight, so
	// that kills land inside provider calls, and some dead workers' callbacks are lost, so that
	// the ledger has to learn from the provider itself what reached it.
	lost := &markSet{}
	callbacks := newRelay(t, "", lost.pass)
	h := start(t, dbURL, func(m *app.Main) {
		m.Role = app.RoleAPI // every send is a worker process's
		m.Config.SendInterval = interval
		m.Config.PublicURL = callbacks.url
	})
	callbacks.setTarget(h.url)
	sends := make(chan send)
	provider := newRelay(t, strings.TrimSuffix(h.sbURL, "/v2/"), offerSends(sends))
	h.sbURL = provider.url + "/v2/" // the integration's base URL
	admin, local := h.activeProperty("p1")
	base := "/api/v1/properties/p1"
	h.sandbox.SetSpacing("1", interval*4/5) // closer than the pacing is a ban
	h.sandbox.SetLatency(50 * time.Millisecond)

	workers := newFleet(t, bin, []string{
		"BELLHOP_DATABASE_URL=" + dbURL,
		"REDIS_ADDR=" + redisAddr,
		"BELLHOP_SECRET_KEY=" + h.secret,
		"BELLHOP_REDIS_NAMESPACE=" + h.ns,
		"BELLHOP_SEND_INTERVAL=" + interval.String(),
		"BELLHOP_SEND_TIMEOUT=" + sendTimeout.String(),
		"BELLHOP_ALLOW_PRIVATE_PROVIDERS=true", // the sandbox is on loopback
	})
	for range 3 {
		workers.start()
	}

	// Every guest arrives tomorrow: enabling the welcome makes all of them due at once.
	now := time.Now()
	for i := range guests {
		h.must(201, "PUT", fmt.Sprintf("%s/bookings/b%02d", base, i), h.service,
			booking(local.AddDate(0, 0, 1), 2, fmt.Sprintf("+4917012345%02d", i), "en", now))
	}
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	enabled := time.Now()
	planned := map[string]bool{}
	for _, d := range ledger(h, base, admin) {
		planned[d["id"].(string)] = true
	}
	if len(planned) != guests {
		t.Fatalf("enabling the welcome planned %d deliveries, want %d", len(planned), guests)
	}

	// The killer: every 150–600 ms it takes the next send in flight and SIGKILLs the worker
	// process making it, then lets the request reach the provider (the worker died before it
	// heard back; half of these lose their callbacks too) or drops it (the message never left).
	// Every third kill instead hits a random worker wherever it is. Each victim is replaced.
	var kills []string
	var delivered, dropped, anywhere int
	for delivered+dropped < midSend {
		if time.Since(enabled) > 2*time.Minute {
			t.Fatalf("only %d of %d kills landed mid-send in 2 minutes: %v\n%s", delivered+dropped, midSend, kills, workers.tails())
		}
		time.Sleep(150*time.Millisecond + rand.N(450*time.Millisecond)) // the killer's own pace
		if len(kills)%3 == 2 {
			w := workers.random()
			workers.kill(w)
			kills = append(kills, fmt.Sprintf("worker %d anywhere", w.n))
			anywhere++
			workers.start()
			continue
		}
		var s send
		select {
		case s = <-sends:
		case <-time.After(5 * time.Second):
			continue // the sends left are held by killed workers until Asynq hands them on
		}
		w := workers.owner(s.client, provider.port)
		if w == nil {
			t.Logf("send of %s from %s: no worker process owns the connection; let through", s.mark, s.client)
			s.deliver <- true
			continue
		}
		workers.kill(w)
		deliver, what := (delivered+dropped)%2 == 0, "request dropped"
		switch {
		case deliver && delivered%2 == 1:
			lost.add(s.mark) // before the provider has it, so its callbacks find the mark lost
			what = "request delivered, callbacks lost"
		case deliver:
			what = "request delivered"
		}
		if deliver {
			delivered++
		} else {
			dropped++
		}
		s.deliver <- deliver
		kills = append(kills, fmt.Sprintf("worker %d mid-send of %s, %s", w.n, s.mark, what))
		workers.start()
	}
	killing := time.Since(enabled)

	// The survivors finish: Asynq hands a dead worker's tasks on once their lease has expired
	// (a minute or two). Settled means every welcome is final and no send is queued or running,
	// so no late re-send can still reach the sandbox.
	inspector := asynq.NewInspectorFromRedisClient(h.main.Redis)
	var rows []map[string]any
	for {
		rows = ledger(h, base, admin)
		final := 0
		for _, d := range rows {
			switch d["status"] {
			case "sent", "delivered", "read":
				final++
			case "scheduled", "sending":
			default:
				t.Fatalf("a welcome ended %v after crashes: %v\nkills: %v\n%s", d["status"], d, kills, workers.tails())
			}
		}
		q, err := inspector.GetQueueInfo(h.main.Queue.Queue())
		if err != nil {
			t.Fatalf("read the send queue: %v", err)
		}
		if q.Archived > 0 {
			t.Fatalf("%d sends were given up (archived) after crashes\nkills: %v\n%s", q.Archived, kills, workers.tails())
		}
		if final == len(rows) && q.Pending+q.Active+q.Scheduled+q.Retry == 0 {
			break
		}
		if time.Since(enabled) > 4*time.Minute {
			var open []string
			for _, d := range rows {
				if s := d["status"]; s == "scheduled" || s == "sending" {
					open = append(open, fmt.Sprintf("%s %s attempts=%v due=%v", d["id"], s, d["attempt_count"], d["due_at"]))
				}
			}
			t.Fatalf("not settled in 4 minutes: %d of %d welcomes final, queue %+v; open: %v\nkills: %v\n%s",
				final, len(rows), *q, open, kills, workers.tails())
		}
		time.Sleep(250 * time.Millisecond) // polling other processes' progress
	}

	// Each planned delivery reached the sandbox exactly once, under its own mark.
	marks := map[string]int{}
	for _, m := range h.sandbox.Messages() {
		marks[m.Mark]++
	}
	for id := range planned {
		if marks[id] != 1 {
			t.Errorf("delivery %s reached the sandbox %d times, want exactly once", id, marks[id])
		}
	}
	for mark, n := range marks {
		if !planned[mark] {
			t.Errorf("the sandbox accepted %d message(s) marked %q, which no planned delivery has", n, mark)
		}
	}
	var repeated int
	for _, st := range h.sandbox.Stats() {
		repeated += st.RepeatedMarks
		if st.Banned || len(st.Violations) > 0 {
			t.Errorf("sender %s/%s banned (the pacing broke across kills): %s %+v", st.OrgID, st.SenderID, st.BanReason, st.Violations)
		}
		if st.OrgID == "1" && st.SenderID == "1" && st.Accepted != guests {
			t.Errorf("sender 1 accepted %d messages, want %d", st.Accepted, guests)
		}
	}
	if repeated > 0 {
		t.Errorf("the sandbox got %d second messages under a known mark: guests got a welcome twice", repeated)
	}
	var resent, noMessageID int
	for _, d := range rows {
		if d["provider_message_id"] == nil || d["provider_message_id"] == "" {
			noMessageID++
		}
		if n, _ := d["attempt_count"].(float64); n < 1 {
			t.Errorf("delivery %s is %v after %v attempts", d["id"], d["status"], d["attempt_count"])
		} else if n > 1 {
			resent++
		}
	}
	if c := workers.crashed(); len(c) > 0 {
		t.Errorf("worker processes ended on their own: %v", c)
	}
	if t.Failed() {
		t.Logf("kills: %v\n%s", kills, workers.tails())
	}
	t.Logf("%d welcomes, %d worker processes, %s in all (building %s, killing %s): %d kills — %d mid-send with the request "+
		"delivered, %d mid-send with it dropped, %d anywhere; %d second messages under a known mark; %d deliveries claimed "+
		"more than once; %d unfinished sends found at the provider by mark; %d final without the provider's message id",
		guests, workers.started(), time.Since(began).Round(time.Second), built.Round(time.Second), killing.Round(time.Second),
		len(kills), delivered, dropped, anywhere, repeated, resent, workers.count("an unfinished attempt had reached the provider"), noMessageID)
	for _, k := range kills {
		t.Log("kill: " + k)
	}
}

// ledger lists the property's welcome deliveries.
func ledger(h *harness, base, token string) []map[string]any {
	h.t.Helper()
	r := h.must(200, "GET", base+"/deliveries?kind=welcome&limit=1000", token, nil)
	var out []map[string]any
	for _, d := range r.Body["deliveries"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// buildBellhop returns the bellhop command built from this module, once per test run (the
// fault runs and the crash test all start worker processes of it); TestMain removes it.
func buildBellhop(t *testing.T) string {
	t.Helper()
	bin, err := builtBellhop()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	builtDir     string
	builtBellhop = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "bellhop-it-")
		if err != nil {
			return "", err
		}
		builtDir = dir
		bin := filepath.Join(dir, "bellhop")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/bellhop")
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/bellhop: %v\n%s", err, out)
		}
		return bin, nil
	})
)

// send is a POST messages held until the killer says whether it goes on to the provider.
type send struct {
	client  string // the caller's address, host:port
	mark    string
	deliver chan bool
}

// relay forwards HTTP requests to a target and lets the test hold or lose some of them: a
// request pass refuses loses its connection, as if the network dropped it. pass's ctx ends
// when the test does.
type relay struct {
	url  string
	port int
	pass func(ctx context.Context, r *http.Request, body []byte) bool
	ctx  context.Context

	mu     sync.Mutex
	target string
}

func newRelay(t *testing.T, target string, pass func(ctx context.Context, r *http.Request, body []byte) bool) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	p := &relay{target: target, pass: pass, ctx: ctx}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		cancel() // a held request lets go, or Close would wait for it
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	p.url = srv.URL
	p.port, _ = strconv.Atoi(u.Port())
	return p
}

func (p *relay) setTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

func (p *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if !p.pass(p.ctx, r, body) {
		panic(http.ErrAbortHandler)
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	// The caller may be dead by now: what it sent still goes on.
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// offerSends hands the next POST messages to whoever receives from sends and holds it until
// they decide; other requests, and sends nobody is waiting for, pass at once.
func offerSends(sends chan<- send) func(ctx context.Context, r *http.Request, body []byte) bool {
	return func(ctx context.Context, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
			return true
		}
		var m struct {
			Mark any `json:"mark"`
		}
		_ = json.Unmarshal(body, &m)
		s := send{client: r.RemoteAddr, mark: fmt.Sprint(m.Mark), deliver: make(chan bool, 1)}
		select {
		case sends <- s:
		default:
			return true
		}
		select {
		case ok := <-s.deliver:
			return ok
		case <-ctx.Done():
			return false
		}
	}
}

// markSet is the marks whose provider callbacks get lost.
type markSet struct {
	mu    sync.Mutex
	marks map[string]bool
}

func (m *markSet) add(mark string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[string]bool{}
	}
	m.marks[mark] = true
}

// pass lets through every callback but those about the set's marks.
func (m *markSet) pass(_ context.Context, _ *http.Request, body []byte) bool {
	var e struct {
		Data struct {
			Mark string `json:"marker"` // the sandbox's new_status carries the message item
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &e)
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.marks[e.Data.Mark]
}

// fleet is the worker processes, started and killed by the test; t.Cleanup kills the rest.
type fleet struct {
	t   *testing.T
	bin string
	env []string
	dir string

	mu    sync.Mutex
	alive []*workerProc
	all   []*workerProc
}

type workerProc struct {
	n      int
	cmd    *exec.Cmd
	log    string
	done   chan struct{}
	killed bool  // set before the kill, under fleet.mu
	exit   error // how it ended, once done is closed
}

func newFleet(t *testing.T, bin string, env []string) *fleet {
	f := &fleet{t: t, bin: bin, env: env, dir: t.TempDir()}
	t.Cleanup(func() {
		f.mu.Lock()
		alive := slices.Clone(f.alive)
		f.mu.Unlock()
		for _, w := range alive {
			f.kill(w)
		}
	})
	return f
}

// start runs one more worker process, its output in a file of its own.
func (f *fleet) start() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &workerProc{n: len(f.all) + 1, done: make(chan struct{})}
	w.log = filepath.Join(f.dir, fmt.Sprintf("worker-%02d.log", w.n))
	out, err := os.Create(w.log)
	if err != nil {
		f.t.Fatal(err)
	}
	w.cmd = exec.Command(f.bin, "serve", "--role", "worker")
	w.cmd.Env = f.env
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		out.Close()
		f.t.Fatalf("start worker %d: %v", w.n, err)
	}
	go func() {
		w.exit = w.cmd.Wait()
		out.Close()
		close(w.done)
	}()
	f.alive = append(f.alive, w)
	f.all = append(f.all, w)
}

// kill SIGKILLs a worker and waits until it is gone.
func (f *fleet) kill(w *workerProc) {
	f.mu.Lock()
	w.killed = true
	f.mu.Unlock()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alive = slices.DeleteFunc(f.alive, func(x *workerProc) bool { return x == w })
}

func (f *fleet) random() *workerProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive[rand.N(len(f.alive))]
}

// crashed lists the workers that ended without being killed.
func (f *fleet) crashed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, w := range f.all {
		select {
		case <-w.done:
			if !w.killed {
				out = append(out, fmt.Sprintf("worker %d: %v", w.n, w.exit))
			}
		default:
		}
	}
	return out
}

func (f *fleet) started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.all)
}

// owner finds the live worker whose socket is the client end of a connection to the proxy:
// the TCP socket with that local address and the proxy's port as its remote one.
func (f *fleet) owner(client string, proxyPort int) *workerProc {
	_, p, err := net.SplitHostPort(client)
	if err != nil {
		return nil
	}
	port, _ := strconv.Atoi(p)
	inode := socketInode(port, proxyPort)
	if inode == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.alive {
		fds := fmt.Sprintf("/proc/%d/fd", w.cmd.Process.Pid)
		entries, _ := os.ReadDir(fds)
		for _, e := range entries {
			if l, _ := os.Readlink(filepath.Join(fds, e.Name())); l == "socket:["+inode+"]" {
				return w
			}
		}
	}
	return nil
}

// socketInode reads the kernel's TCP table for the socket from localPort to remotePort.
func socketInode(localPort, remotePort int) string {
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || hexPort(fs[1]) != localPort || hexPort(fs[2]) != remotePort {
				continue
			}
			fh.Close()
			return fs[9]
		}
		fh.Close()
	}
	return ""
}

func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(addr[i+1:], 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

// tails are the last lines of every worker's output, for failure messages.
func (f *fleet) tails() string {
	f.mu.Lock()
	all := slices.Clone(f.all)
	f.mu.Unlock()
	var b strings.Builder
	for _, w := range all {
		raw, _ := os.ReadFile(w.log)
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		fmt.Fprintf(&b, "--- worker %d (%s):\n%s\n", w.n, w.log, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

// count is how many lines of all workers' output contain s.
func (f *fleet) count(s string) int {
	f.mu.Lock()
	all := slices.Clone(f.all)
	f.mu.Unlock()
	n := 0
	for _, w := range all {
		raw, _ := os.ReadFile(w.log)
		n += strings.Count(string(raw), s)
	}
	return n
}
