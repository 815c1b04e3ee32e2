package intellectdialog_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
	"github.com/bellhop/bellhop/provider/sandbox"
)

func newFakeClock() *bellhop.SimulatedClock {
	return bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
}

// env is a sandbox served over real HTTP and a client with the sandbox's key.
type env struct {
	sb     *sandbox.Server
	srv    *httptest.Server
	base   string // API root, …/v2/
	clock  *bellhop.SimulatedClock
	client *intellectdialog.Client
}

func start(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{clock: newFakeClock()}
	if cfg.Clock == nil {
		cfg.Clock = e.clock
	}
	e.sb = sandbox.New(cfg)
	e.srv = httptest.NewServer(e.sb)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.sb.Close)
	e.base = e.srv.URL + "/v2/"
	e.client = newClient(t, e.base, sandbox.DefaultAPIKey)
	return e
}

func newClient(t *testing.T, base, key string, opts ...func(*provider.Config)) *intellectdialog.Client {
	t.Helper()
	cfg := provider.Config{BaseURL: base, APIKey: key, Timeout: 2 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := intellectdialog.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// wantError checks err is a *provider.Error of this kind, from this client, without the key.
func wantError(t *testing.T, err error, kind provider.Kind, key string) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", kind)
	}
	pe, ok := provider.AsError(err)
	if !ok {
		t.Fatalf("want a *provider.Error, got %T: %v", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %s, want %s (%v)", pe.Kind, kind, err)
	}
	if pe.Provider != intellectdialog.Kind || pe.Step == "" {
		t.Fatalf("error does not say who and what failed: %+v", pe)
	}
	if key != "" && strings.Contains(err.Error(), key) {
		t.Fatalf("the error reveals the API key: %v", err)
	}
	return pe
}

var ctx = context.Background()

func TestNew(t *testing.T) {
	const key = "secret-key-123"
	cases := []struct {
		name, base, key string
		wantBase        string // "" means New must fail
	}{
		{"default base URL", "", key, intellectdialog.DefaultBaseURL},
		{"trailing slash added", "http://127.0.0.1:9090/v2", key, "http://127.0.0.1:9090/v2/"},
		{"kept as given", "https://api.example.com/v2/", key, "https://api.example.com/v2/"},
		{"no key", "https://api.example.com/v2/", "", ""},
		{"key with a newline", "https://api.example.com/v2/", "abc\ndef", ""},
		{"relative URL", "/v2/", key, ""},
		{"no scheme", "api.example.com/v2/", key, ""},
		{"other scheme", "ftp://api.example.com/v2/", key, ""},
		{"no host", "http:///v2/", key, ""},
		{"query", "https://api.example.com/v2/?x=1", key, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, err := intellectdialog.New(provider.Config{BaseURL: c.base, APIKey: c.key})
			if c.wantBase == "" {
				if err == nil {
					t.Fatalf("New(%q) accepted a bad config", c.base)
				}
				if c.key != "" && strings.Contains(err.Error(), c.key) {
					t.Fatalf("error reveals the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if cl.BaseURL() != c.wantBase {
				t.Fatalf("base URL = %q, want %q", cl.BaseURL(), c.wantBase)
			}
		})
	}
}

func TestOrganization(t *testing.T) {
	cases := []struct {
		name     string
		key      string
		timeout  time.Duration
		setup    func(*sandbox.Server)
		wantKind provider.Kind
		wantName string
		wantWhy  string // in the error's Reason
	}{
		{name: "good key", key: "sandbox-key", wantName: "Sandbox Hotels"},
		{name: "second organization", key: "solo-key", wantName: "Solo Inn",
			setup: func(sb *sandbox.Server) {
				sb.AddOrganization(sandbox.Organization{ID: "2", Name: "Solo Inn", APIKey: "solo-key"})
			}},
		{name: "bad key", key: "wrong-key-123456", wantKind: provider.KindUnauthorized, wantWhy: "invalid API key"},
		{name: "outage", key: "sandbox-key", wantKind: provider.KindUnavailable,
			setup: func(sb *sandbox.Server) { sb.SetOutage(http.StatusServiceUnavailable) }},
		{name: "slower than the timeout", key: "sandbox-key", timeout: 100 * time.Millisecond, wantKind: provider.KindUnavailable,
			wantWhy: "no answer within", setup: func(sb *sandbox.Server) { sb.SetLatency(2 * time.Second) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, sandbox.Config{})
			if c.setup != nil {
				c.setup(e.sb)
			}
			cl := newClient(t, e.base, c.key, func(cfg *provider.Config) {
				if c.timeout > 0 {
					cfg.Timeout = c.timeout
				}
				cfg.Retries = -1
			})
			org, err := cl.Organization(ctx)
			if c.wantName != "" {
				if err != nil {
					t.Fatalf("Organization: %v", err)
				}
				if org.Name != c.wantName || org.ID == "" {
					t.Fatalf("organization = %+v, want %q", org, c.wantName)
				}
				return
			}
			pe := wantError(t, err, c.wantKind, c.key)
			if pe.Step != "check key (GET companies)" {
				t.Fatalf("step = %q", pe.Step)
			}
			if !strings.Contains(pe.Reason, c.wantWhy) {
				t.Fatalf("reason = %q, want it to mention %q", pe.Reason, c.wantWhy)
			}
		})
	}
}

func TestSendersAndOperators(t *testing.T) {
	e := start(t, sandbox.Config{})
	senders, err := e.client.Senders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []bellhop.Sender{
		{ID: "1", Type: "whatsapp", Name: "Reception", Phone: "+79990000001"},
		{ID: "2", Type: "whatsapp", Name: "Sales", Phone: "+79990000002"},
	}
	if len(senders) != len(want) || senders[0] != want[0] || senders[1] != want[1] {
		t.Fatalf("senders = %+v, want %+v", senders, want)
	}
	ops, err := e.client.Operators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].ID != "1" || ops[1].ID != "2" || ops[2].ID != "3" || ops[0].Name == "" || ops[0].Email == "" {
		t.Fatalf("operators = %+v", ops)
	}

	// Removed at the provider: gone from the lists.
	e.sb.RemoveSender("2")
	e.sb.RemoveOperator("3")
	if senders, _ = e.client.Senders(ctx); len(senders) != 1 || senders[0].ID != "1" {
		t.Fatalf("senders after removing 2 = %+v", senders)
	}
	if ops, _ = e.client.Operators(ctx); len(ops) != 2 {
		t.Fatalf("operators after removing 3 = %+v", ops)
	}

	// Another organization sees only its own.
	e.sb.AddOrganization(sandbox.Organization{ID: "9", Name: "Solo Inn", APIKey: "solo-key",
		Senders:   []bellhop.Sender{{ID: "77", Type: "telegram", Name: "Bot"}},
		Operators: []bellhop.Operator{{ID: "5", Name: "Solo Operator"}}})
	solo := newClient(t, e.base, "solo-key")
	if senders, _ = solo.Senders(ctx); len(senders) != 1 || senders[0].ID != "77" {
		t.Fatalf("second organization's senders = %+v", senders)
	}
}

func TestLoginCode(t *testing.T) {
	e := start(t, sandbox.Config{})
	lc, err := e.client.LoginCode(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if lc.Code == "" || lc.URL != e.srv.URL+"/login/"+lc.Code {
		t.Fatalf("login code = %+v, want its URL at %s/login/", lc, e.srv.URL)
	}
	if want := e.clock.Now().Add(10 * time.Minute); !lc.ExpiresAt.Equal(want) {
		t.Fatalf("expires at %v, want %v", lc.ExpiresAt, want)
	}

	status, page := get(t, lc.URL)
	if status != http.StatusOK || !strings.Contains(page, "Signed in as Pavel Smirnov (operator 2)") ||
		!strings.Contains(page, `data-operator-id="2"`) {
		t.Fatalf("login page = %d\n%s", status, page)
	}
	// The operator's own dialogs, and nobody else's.
	mine := e.sb.Dialogs("1", "2")
	if len(mine) == 0 {
		t.Fatal("operator 2 has no seeded dialogs")
	}
	for _, d := range mine {
		if !strings.Contains(page, `data-chat-id="`+d.ChatID+`"`) {
			t.Fatalf("the page misses dialog %s:\n%s", d.ChatID, page)
		}
	}
	for _, other := range []string{"1", "3"} {
		for _, d := range e.sb.Dialogs("1", other) {
			if strings.Contains(page, `data-chat-id="`+d.ChatID+`"`) || strings.Contains(page, d.GuestName) {
				t.Fatalf("operator 2's page shows operator %s's dialog %+v", other, d)
			}
		}
	}

	// Unknown operator; expired code.
	_, err = e.client.LoginCode(ctx, "42")
	wantError(t, err, provider.KindNotFound, sandbox.DefaultAPIKey)
	e.clock.Advance(10*time.Minute + time.Second)
	if status, _ := get(t, lc.URL); status != http.StatusNotFound {
		t.Fatalf("expired code answered %d", status)
	}
	if status, _ := get(t, e.srv.URL+"/login/nonsense"); status != http.StatusNotFound {
		t.Fatalf("unknown code answered %d", status)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSendAndDedupe(t *testing.T) {
	e := start(t, sandbox.Config{})
	msg := provider.Message{Phone: "+79161234567", SenderID: "1", Text: "Welcome to Sandbox Hotels!", Mark: "delivery-1"}
	first, err := e.client.SendMessage(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if first.MessageID == "" || first.ChatID == "" || first.Duplicate {
		t.Fatalf("first send = %+v", first)
	}
	// A retry with the same mark, even right away, is the same message and no new send.
	again, err := e.client.SendMessage(ctx, msg)
	if err != nil {
		t.Fatalf("repeat with the same mark: %v", err)
	}
	if again.MessageID != first.MessageID || again.ChatID != first.ChatID || !again.Duplicate {
		t.Fatalf("repeat = %+v, want the first message %+v marked duplicate", again, first)
	}
	if n := len(e.sb.Messages()); n != 1 {
		t.Fatalf("sandbox kept %d messages, want 1", n)
	}
	if e.sb.Banned("1") {
		t.Fatal("a duplicate got the sender banned")
	}
	st := e.sb.Stats()[0]
	if st.SenderID != "1" || st.Accepted != 1 || st.Duplicates != 1 {
		t.Fatalf("stats = %+v", st)
	}

	list, err := e.client.Messages(ctx, provider.MessageFilter{Mark: "delivery-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].MessageID != first.MessageID || list[0].Phone != msg.Phone || list[0].SenderID != "1" ||
		list[0].Text != msg.Text || list[0].Mark != msg.Mark || !list[0].CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("messages by mark = %+v", list)
	}
	if list, _ = e.client.Messages(ctx, provider.MessageFilter{Phone: "+70000000000"}); len(list) != 0 {
		t.Fatalf("filter by another phone = %+v", list)
	}
}

func TestSpacingBan(t *testing.T) {
	const spacing = 300 * time.Second
	cases := []struct {
		name       string
		gap        time.Duration
		wantBanned bool
	}{
		{"back to back", 0, true},
		{"just under the spacing", spacing - time.Millisecond, true},
		{"exactly the spacing", spacing, false},
		{"well apart", 2 * spacing, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, sandbox.Config{Spacing: spacing})
			send := func(mark string) error {
				_, err := e.client.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi", Mark: mark})
				return err
			}
			if err := send("m1"); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(c.gap)
			err := send("m2")
			if !c.wantBanned {
				if err != nil || e.sb.Banned("1") {
					t.Fatalf("a send %s after the last was refused: %v", c.gap, err)
				}
				return
			}
			pe := wantError(t, err, provider.KindSenderBlocked, sandbox.DefaultAPIKey)
			if pe.Status != http.StatusForbidden || !strings.Contains(pe.Reason, "banned") {
				t.Fatalf("ban error = %+v", pe)
			}
			if !e.sb.Banned("1") || e.sb.Banned("2") {
				t.Fatal("only sender 1 should be banned")
			}
			// Banned for good: later messages are refused however far apart.
			e.clock.Advance(10 * spacing)
			wantError(t, send("m3"), provider.KindSenderBlocked, sandbox.DefaultAPIKey)
			if _, err := e.client.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "2", Text: "hi"}); err != nil {
				t.Fatalf("sender 2 should still send: %v", err)
			}
			st := e.sb.Stats()[0]
			if st.Accepted != 1 || st.Refused != 2 || len(st.Violations) != 1 || st.Violations[0].Gap != c.gap {
				t.Fatalf("stats = %+v", st)
			}
			if senders, _ := e.client.Senders(ctx); len(senders) != 2 {
				t.Fatalf("senders = %+v", senders)
			}
		})
	}
}

func TestSpacingOverride(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.SetSpacing("1", time.Second)
	for i, mark := range []string{"a", "b", "c"} {
		if i > 0 {
			e.clock.Advance(time.Second)
		}
		if _, err := e.client.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi", Mark: mark}); err != nil {
			t.Fatalf("send %d with a 1 s spacing: %v", i, err)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	e := start(t, sandbox.Config{})
	cases := []struct {
		name    string
		msg     provider.Message
		setup   func()
		kind    provider.Kind
		why     string
		retryIn time.Duration
	}{
		{name: "invalid phone", msg: provider.Message{Phone: "8 912 345", SenderID: "1", Text: "hi"},
			kind: provider.KindInvalidRequest, why: "invalid phone"},
		{name: "unknown sender", msg: provider.Message{Phone: "+79161234567", SenderID: "9", Text: "hi"},
			kind: provider.KindNotFound, why: "not found"},
		{name: "no sender", msg: provider.Message{Phone: "+79161234567", Text: "hi"},
			kind: provider.KindInvalidRequest, why: "sender"},
		{name: "rate limited", msg: provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi"},
			setup: func() { e.sb.SetRateLimit(30 * time.Second) }, kind: provider.KindRateLimited, retryIn: 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			_, err := e.client.SendMessage(ctx, c.msg)
			pe := wantError(t, err, c.kind, sandbox.DefaultAPIKey)
			if pe.Step != "send message (POST messages)" || !strings.Contains(pe.Reason, c.why) || pe.RetryAfter != c.retryIn {
				t.Fatalf("error = %+v", pe)
			}
		})
	}
	if n := len(e.sb.Messages()); n != 0 {
		t.Fatalf("refused messages were kept: %d", n)
	}
	// The rate limit was for one request only.
	if _, err := e.client.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi"}); err != nil {
		t.Fatalf("send after the 429: %v", err)
	}
}

func TestWebhooks(t *testing.T) {
	e := start(t, sandbox.Config{})
	events := make(chan sandbox.Event, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev sandbox.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || r.URL.Query().Get("secret") != "s3" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		events <- ev
	}))
	defer recv.Close()

	hook, err := e.client.CreateWebhook(ctx, provider.Webhook{URL: recv.URL + "/hook?secret=s3", Events: []string{"new_status", "new_error"}})
	if err != nil {
		t.Fatal(err)
	}
	if hook.ID == "" || hook.URL != recv.URL+"/hook?secret=s3" || len(hook.Events) != 2 {
		t.Fatalf("created webhook = %+v", hook)
	}
	list, err := e.client.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != hook.ID {
		t.Fatalf("webhooks = %+v, %v", list, err)
	}

	sent, err := e.client.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi", Mark: "d-7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"delivered", "read"} {
		select {
		case ev := <-events:
			d := ev.Data
			if ev.Event != "new_status" || d.Status != want || d.MessageID != sent.MessageID || d.ChatID != sent.ChatID ||
				d.Mark != "d-7" || d.ProviderID != "1" || d.Phone != "+79161234567" {
				t.Fatalf("event = %+v, want new_status %s of message %s", ev, want, sent.MessageID)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event within 5 s", want)
		}
	}

	if err := e.client.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = e.client.Webhooks(ctx); len(list) != 0 {
		t.Fatalf("webhooks after delete = %+v", list)
	}
	wantError(t, e.client.DeleteWebhook(ctx, hook.ID), provider.KindNotFound, sandbox.DefaultAPIKey)
	_, err = e.client.CreateWebhook(ctx, provider.Webhook{URL: "not a url"})
	wantError(t, err, provider.KindInvalidRequest, sandbox.DefaultAPIKey)
}

// stub serves fixed answers and counts requests.
type stub struct {
	mu    sync.Mutex
	calls int
	h     func(w http.ResponseWriter, r *http.Request, call int)
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	s.h(w, r, n)
}

func (s *stub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request, call int)) (*stub, string) {
	t.Helper()
	s := &stub{h: h}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL + "/v2/"
}

func TestClassification(t *testing.T) {
	const key = "k-0123456789"
	date := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       provider.Kind
		retryAfter time.Duration
	}{
		{name: "200 error answer about the key", status: 200, body: `{"response":{"status":"error","error":"Invalid API key"}}`, kind: provider.KindUnauthorized},
		{name: "200 error answer in Russian", status: 200, body: `{"response":{"status":"error","error":"Неверный ключ API"}}`, kind: provider.KindUnauthorized},
		{name: "200 error answer, banned", status: 200, body: `{"response":{"status":"error","error":"provider is banned by WhatsApp"}}`, kind: provider.KindSenderBlocked},
		{name: "200 error answer, other", status: 200, body: `{"response":{"status":"error","error":"text too long"}}`, kind: provider.KindInvalidRequest},
		{name: "200 error object", status: 200, body: `{"response":{"status":"error","error":{"message":"Company not found"}}}`, kind: provider.KindNotFound},
		{name: "401", status: 401, body: `{"response":{"status":"error","error":"nope"}}`, kind: provider.KindUnauthorized},
		{name: "403 key", status: 403, body: `{"response":{"status":"error","error":"access denied"}}`, kind: provider.KindUnauthorized},
		{name: "403 blocked", status: 403, body: `{"response":{"status":"error","error":"sender 1 is blocked"}}`, kind: provider.KindSenderBlocked},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "120"}, body: `{}`, kind: provider.KindRateLimited, retryAfter: 120 * time.Second},
		{name: "429 date", status: 429, header: map[string]string{"Date": date.Format(http.TimeFormat), "Retry-After": date.Add(90 * time.Second).Format(http.TimeFormat)},
			kind: provider.KindRateLimited, retryAfter: 90 * time.Second},
		{name: "429 without Retry-After", status: 429, kind: provider.KindRateLimited, retryAfter: 60 * time.Second},
		{name: "404", status: 404, body: `{"response":{"status":"error","error":"no such thing"}}`, kind: provider.KindNotFound},
		{name: "422", status: 422, body: `{"response":{"status":"error","error":"bad text"}}`, kind: provider.KindInvalidRequest},
		{name: "400 plain text", status: 400, body: `bad request`, kind: provider.KindInvalidRequest},
		{name: "502 HTML", status: 502, header: map[string]string{"Content-Type": "text/html"}, body: `<html><body>Bad Gateway</body></html>`, kind: provider.KindUnavailable},
		{name: "200 not JSON", status: 200, body: `hello`, kind: provider.KindInternal},
		{name: "200 HTML", status: 200, header: map[string]string{"Content-Type": "text/html"}, body: `<html></html>`, kind: provider.KindInternal},
		{name: "200 without envelope", status: 200, body: `{"id":1}`, kind: provider.KindInternal},
		{name: "200 data of the wrong shape", status: 200, body: `{"response":{"status":"success","data":"x"}}`, kind: provider.KindInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, base := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			})
			cl := newClient(t, base, key, func(cfg *provider.Config) { cfg.Retries = -1 })
			_, err := cl.Organization(ctx)
			pe := wantError(t, err, c.kind, key)
			if pe.RetryAfter != c.retryAfter || pe.Status != c.status {
				t.Fatalf("error = %+v, want status %d and RetryAfter %s", pe, c.status, c.retryAfter)
			}
			if strings.Contains(pe.Reason, "<html") {
				t.Fatalf("the reason dumps a page: %q", pe.Reason)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	ok := `{"response":{"status":"success","data":[]}}`
	cases := []struct {
		name      string
		retries   int
		failures  int // answers 503 this many times, then succeeds
		call      func(*intellectdialog.Client) error
		wantCalls int
		wantErr   bool
	}{
		{"GET recovers", 0, 2, func(c *intellectdialog.Client) error { _, err := c.Senders(ctx); return err }, 3, false},
		{"GET gives up", 0, 5, func(c *intellectdialog.Client) error { _, err := c.Operators(ctx); return err }, 3, true},
		{"no retries", -1, 1, func(c *intellectdialog.Client) error { _, err := c.Webhooks(ctx); return err }, 1, true},
		{"DELETE retries", 1, 1, func(c *intellectdialog.Client) error { return c.DeleteWebhook(ctx, "1") }, 2, false},
		{"POST messages never", 0, 1, func(c *intellectdialog.Client) error {
			_, err := c.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi", Mark: "m"})
			return err
		}, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, base := serve(t, func(w http.ResponseWriter, r *http.Request, call int) {
				if call <= c.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = io.WriteString(w, ok)
			})
			cl := newClient(t, base, "k", func(cfg *provider.Config) { cfg.Retries = c.retries })
			err := c.call(cl)
			if (err != nil) != c.wantErr || s.count() != c.wantCalls {
				t.Fatalf("err = %v after %d calls, want error %v after %d calls", err, s.count(), c.wantErr, c.wantCalls)
			}
			if err != nil {
				wantError(t, err, provider.KindUnavailable, "")
			}
		})
	}

	// A 4xx is an answer, not a failure to reach the provider: never retried.
	s, base := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(http.StatusBadRequest) })
	if _, err := newClient(t, base, "k").Senders(ctx); err == nil || s.count() != 1 {
		t.Fatalf("400: err %v after %d calls, want 1 call", err, s.count())
	}
}

func TestFlexibleIDs(t *testing.T) {
	answers := map[string]string{
		"/v2/companies": `{"response":{"status":"success","data":[{"id":12,"name":"Numeric Hotel"}]}}`,
		"/v2/providers": `{"response":{"status":"success","data":[{"id":17,"name":"WA","type":"whatsapp","phone":79990000017}]}}`,
		"/v2/employees": `{"response":{"status":"success","data":[{"id":"5","name":"Op"},{"id":6,"name":"Op2","email":null}]}}`,
		"/v2/messages":  `{"response":{"status":"success","data":{"message_id":1001,"chat_id":2002,"duplicate":1}}}`,
		"/v2/messages?mark=m": `{"response":{"status":"success","data":[{"message_id":1001,"chat_id":"2002","phone":"+79161234567",` +
			`"provider_id":17,"text":"hi","mark":"m","status":"read","created_at":1795255200}]}}`,
	}
	_, base := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("Authorization") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, answers[r.URL.RequestURI()])
	})
	cl := newClient(t, base, "k")
	org, err := cl.Organization(ctx)
	if err != nil || org.ID != "12" || org.Name != "Numeric Hotel" {
		t.Fatalf("organization = %+v, %v", org, err)
	}
	senders, err := cl.Senders(ctx)
	if err != nil || len(senders) != 1 || senders[0].ID != "17" || senders[0].Phone != "79990000017" {
		t.Fatalf("senders = %+v, %v", senders, err)
	}
	ops, err := cl.Operators(ctx)
	if err != nil || len(ops) != 2 || ops[0].ID != "5" || ops[1].ID != "6" {
		t.Fatalf("operators = %+v, %v", ops, err)
	}
	sent, err := cl.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "17", Text: "hi", Mark: "m"})
	if err != nil || sent.MessageID != "1001" || sent.ChatID != "2002" || !sent.Duplicate {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	list, err := cl.Messages(ctx, provider.MessageFilter{Mark: "m"})
	if err != nil || len(list) != 1 || list[0].SenderID != "17" || list[0].ChatID != "2002" ||
		!list[0].CreatedAt.Equal(time.Unix(1795255200, 0)) {
		t.Fatalf("messages = %+v, %v", list, err)
	}
}

// TestKeyNeverInErrors: whatever fails, and even when the provider echoes the key back, the
// key does not appear in the error.
func TestKeyNeverInErrors(t *testing.T) {
	const key = "top-secret-key-42"
	echo := func(status int) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"response": map[string]any{
				"status": "error", "error": "key " + r.Header.Get("Authorization") + " rejected"}})
		}
	}
	cases := []struct {
		name string
		base func(t *testing.T) string
	}{
		{"401 echoing the key", func(t *testing.T) string { _, b := serve(t, echo(401)); return b }},
		{"500 echoing the key", func(t *testing.T) string { _, b := serve(t, echo(500)); return b }},
		{"200 error echoing the key", func(t *testing.T) string { _, b := serve(t, echo(200)); return b }},
		{"connection refused", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL + "/v2/"
		}},
		{"timeout", func(t *testing.T) string {
			_, b := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
			return b
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newClient(t, c.base(t), key, func(cfg *provider.Config) { cfg.Timeout = 200 * time.Millisecond; cfg.Retries = -1 })
			_, err := cl.Organization(ctx)
			if err == nil {
				t.Fatal("want an error")
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), key) {
					t.Fatalf("the error chain reveals the key: %v", e)
				}
			}
			pe, _ := provider.AsError(err)
			if pe == nil || strings.Contains(pe.Reason, key) {
				t.Fatalf("reason reveals the key: %+v", pe)
			}
			if pe.Status == http.StatusUnauthorized || pe.Status == http.StatusOK {
				if pe.Kind != provider.KindUnauthorized || !strings.Contains(pe.Reason, "[redacted]") {
					t.Fatalf("a rejected key = %+v", pe)
				}
			}
		})
	}
}

func TestEmptyAnswers(t *testing.T) {
	_, base := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	cl := newClient(t, base, "k")
	if err := cl.DeleteWebhook(ctx, "5"); err != nil {
		t.Fatalf("DELETE answered 204: %v", err)
	}
	_, err := cl.Senders(ctx)
	wantError(t, err, provider.KindInternal, "k")
}
