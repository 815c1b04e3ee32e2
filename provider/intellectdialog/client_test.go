package intellectdialog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
)

const testKey = "k-test-0123456789abcdef"

var ctx = context.Background()

var moscow = mustZone("Europe/Moscow")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// fixture reads a recorded answer from testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is what the fake API received.
type request struct {
	Method, Path string
	Query        url.Values
	Body         []byte
	Auth         string
}

// api is a fake IntellectDialog server: routes by "METHOD /v2/path", every request recorded.
// A route it does not have answers the mux's bare 404, as a server without that route would.
type api struct {
	mu   sync.Mutex
	mux  *http.ServeMux
	reqs []request
	base string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	a := &api{mux: http.NewServeMux()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		a.mu.Lock()
		a.reqs = append(a.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Auth: r.Header.Get("Authorization")})
		a.mu.Unlock()
		a.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.base = srv.URL + "/v2/"
	return a
}

// on routes pattern ("GET /companies") to h.
func (a *api) on(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	a.mux.HandleFunc(method+" /v2/"+strings.TrimPrefix(path, "/"), h)
}

// reply routes pattern to a fixed answer.
func (a *api) reply(pattern string, status int, body []byte) {
	a.on(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// requests returns the requests to path ("/companies"), all when path is "".
func (a *api) requests(path string) []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []request
	for _, r := range a.reqs {
		if path == "" || r.Path == "/v2/"+strings.TrimPrefix(path, "/") {
			out = append(out, r)
		}
	}
	return out
}

func (a *api) client(t *testing.T, opts ...func(*provider.Config)) *intellectdialog.Client {
	t.Helper()
	return newClient(t, a.base, testKey, opts...)
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

func zoned(name string) func(*provider.Config) { return func(c *provider.Config) { c.Zone = name } }
func noRetries(c *provider.Config)             { c.Retries = -1 }

// wantError checks err is a *provider.Error of this kind, from this client, without the key.
func wantError(t *testing.T, err error, kind provider.Failure) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", kind)
	}
	pe, ok := provider.AsError(err)
	if !ok {
		t.Fatalf("want a *provider.Error, got %T: %v", err, err)
	}
	if pe.Failure != kind {
		t.Fatalf("kind = %s, want %s (%v)", pe.Failure, kind, err)
	}
	if pe.Provider != intellectdialog.Kind || pe.Step == "" {
		t.Fatalf("error does not say who and what failed: %+v", pe)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatalf("the error reveals the API key: %v", err)
	}
	return pe
}

// logBuffer is a Config.Logger whose lines a test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestNew(t *testing.T) {
	cases := []struct {
		name, base, key string
		wantBase        string // "" means New must fail
	}{
		{"default base URL", "", testKey, intellectdialog.DefaultBaseURL},
		{"trailing slash added", "http://127.0.0.1:9090/v2", testKey, "http://127.0.0.1:9090/v2/"},
		{"kept as given", "https://api.example.com/v2/", testKey, "https://api.example.com/v2/"},
		{"no key", "https://api.example.com/v2/", "", ""},
		{"key with a newline", "https://api.example.com/v2/", "abc\ndef", ""},
		{"relative URL", "/v2/", testKey, ""},
		{"no scheme", "api.example.com/v2/", testKey, ""},
		{"other scheme", "ftp://api.example.com/v2/", testKey, ""},
		{"no host", "http:///v2/", testKey, ""},
		{"query", "https://api.example.com/v2/?x=1", testKey, ""},
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
		body     string // "" means companies.json
		want     bellhop.Organization
		wantKind provider.Failure
	}{
		{name: "recorded object", want: bellhop.Organization{ID: "417", Name: "Sandbox Hotels", Zone: "Europe/Moscow"}},
		{name: "a list of one", body: `{"response":{"status":"success","data":[{"id":12,"name":"Numeric Hotel","zone":"+05:00"}]}}`,
			want: bellhop.Organization{ID: "12", Name: "Numeric Hotel", Zone: "+05:00"}},
		{name: "an empty list", body: `{"response":{"status":"success","data":[]}}`, wantKind: provider.FailInternal},
		{name: "no data", body: `{"response":{"status":"success"}}`, wantKind: provider.FailInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			body := []byte(c.body)
			if c.body == "" {
				body = fixture(t, "companies.json")
			}
			a.reply("GET /companies", 200, body)
			cl := a.client(t)
			org, err := cl.Organization(ctx)
			if c.want.ID == "" {
				pe := wantError(t, err, c.wantKind)
				if pe.Step != "check key (GET companies)" {
					t.Fatalf("step = %q", pe.Step)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if org != c.want {
				t.Fatalf("organization = %+v, want %+v", org, c.want)
			}
			reqs := a.requests("companies")
			if len(reqs) != 1 || reqs[0].Auth != testKey {
				t.Fatalf("requests = %+v, want one with the raw key as Authorization", reqs)
			}
			// The zone came with the organization: no second lookup before reading times.
			if !cl.ZoneKnown() {
				t.Fatal("the zone of the organization was not kept")
			}
			if _, _, err := cl.Location(ctx); err != nil || len(a.requests("companies")) != 1 {
				t.Fatalf("Location asked again (%d requests): %v", len(a.requests("companies")), err)
			}
		})
	}
}

func TestSplitPhone(t *testing.T) {
	for _, c := range []struct{ in, name, phone string }{
		{"Reception +79990000001", "Reception", "+79990000001"},
		{"Reception (+7 999 000-00-01)", "Reception", "+79990000001"},
		{"Sales: +44 7700 900001", "Sales", "+447700900001"},
		{"Hotel bot", "Hotel bot", ""},
		{"Room 12", "Room 12", ""},
		{"+79990000001", "+79990000001", "+79990000001"},
	} {
		name, phone := intellectdialog.SplitPhone(c.in)
		if name != c.name || phone != c.phone {
			t.Errorf("splitPhone(%q) = %q, %q; want %q, %q", c.in, name, phone, c.name, c.phone)
		}
	}
}

func TestSenders(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /providers", 200, fixture(t, "providers.json"))
	got, err := a.client(t).Senders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []bellhop.Sender{
		{ID: "1", Type: "whatsapp", Name: "Reception", Phone: "+79990000001"},
		{ID: "2", Type: "whatsapp", Name: "Sales", Phone: "+79990000002"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("senders = %+v, want %+v", got, want)
	}
	q := a.requests("providers")[0].Query
	if q.Get("limit") != "500" || q.Get("offset") != "0" {
		t.Fatalf("query = %v, want limit=500 offset=0", q)
	}

	// No type name: the type id; a phone when some deployment adds one; numeric ids.
	b := newAPI(t)
	b.reply("GET /providers", 200, []byte(`{"response":{"status":"success","pagin":{"limit":500,"offset":0,"total":1},"data":[`+
		`{"id":17,"name":" Bot ","type":"","type_id":"3","phone":79990000017}]}}`))
	got, err = b.client(t).Senders(ctx)
	if err != nil || len(got) != 1 || got[0] != (bellhop.Sender{ID: "17", Type: "3", Name: "Bot", Phone: "79990000017"}) {
		t.Fatalf("senders = %+v, %v", got, err)
	}
}

func TestOperators(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /employees", 200, fixture(t, "employees.json"))
	got, err := a.client(t).Operators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []bellhop.Operator{
		{ID: "1", Name: "Irina Orlova", Email: "irina@sandbox-hotels.example"},
		{ID: "2", Name: "Павел Андреевич Смирнов", Email: "pavel@sandbox-hotels.example"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("operators = %+v, want %+v", got, want)
	}

	b := newAPI(t)
	b.reply("GET /employees", 200, []byte(`{"response":{"status":"success","data":[{"id":6,"name":"Front Desk","email":"desk@example.com"}]}}`))
	got, err = b.client(t).Operators(ctx)
	if err != nil || len(got) != 1 || got[0] != (bellhop.Operator{ID: "6", Name: "Front Desk", Email: "desk@example.com"}) {
		t.Fatalf("operators from name/email = %+v, %v", got, err)
	}
}

func TestLoginCode(t *testing.T) {
	cases := []struct {
		name string
		body string // "" means employee_code.json
		want provider.LoginCode
	}{
		{name: "recorded: response.code.code", want: provider.LoginCode{Code: "5f0c7a21"}},
		{name: "response.code as a string", body: `{"response":{"status":"success","code":"333"}}`, want: provider.LoginCode{Code: "333"}},
		{name: "response.data.code", body: `{"response":{"status":"success","data":{"code":"111"}}}`, want: provider.LoginCode{Code: "111"}},
		{name: "response.data.code.code", body: `{"response":{"status":"success","data":{"code":{"code":222}}}}`, want: provider.LoginCode{Code: "222"}},
		{name: "with a URL and an expiry", body: `{"response":{"status":"success","code":{"code":"444","url":"https://app.example/login/444","expires_at":"2026-11-21 13:10:00"}}}`,
			want: provider.LoginCode{Code: "444", URL: "https://app.example/login/444", ExpiresAt: time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)}},
		{name: "no code", body: `{"response":{"status":"success"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			body := []byte(c.body)
			if c.body == "" {
				body = fixture(t, "employee_code.json")
			}
			a.reply("POST /employees/2/code", 200, body)
			got, err := a.client(t, zoned("Europe/Moscow")).LoginCode(ctx, "2")
			if c.want.Code == "" {
				wantError(t, err, provider.FailInternal)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want.URL == "" {
				// No page named: the provider's own sign-in page on the API's host, for a few minutes.
				c.want.URL = strings.TrimSuffix(a.base, "/v2/") + "/login/" + c.want.Code
				if got.ExpiresAt.IsZero() || got.ExpiresAt.Before(time.Now()) {
					t.Fatalf("login code without an expiry: ExpiresAt %v, want a few minutes ahead", got.ExpiresAt)
				}
				c.want.ExpiresAt = got.ExpiresAt
			}
			if got.Code != c.want.Code || got.URL != c.want.URL || !got.ExpiresAt.Equal(c.want.ExpiresAt) {
				t.Fatalf("login code = %+v, want %+v", got, c.want)
			}
		})
	}

	a := newAPI(t)
	a.reply("POST /employees/42/code", 200, fixture(t, "error_not_found.json"))
	_, err := a.client(t).LoginCode(ctx, "42")
	wantError(t, err, provider.FailNotFound)
	_, err = a.client(t).LoginCode(ctx, "")
	wantError(t, err, provider.FailInvalidRequest)
}

func TestSendMessage(t *testing.T) {
	cases := []struct {
		name     string
		msg      provider.Message
		fixture  string
		wantBody map[string]any
		want     provider.SentMessage
	}{
		{name: "text", fixture: "send_message.json",
			msg:      provider.Message{Phone: "+7 (912) 345-67-89", SenderID: "1", Text: "Hello, Anna!", Mark: "dl_8f1e2a3b4c5d6e7f80912a3b", OperatorID: "2"},
			wantBody: map[string]any{"phone": "79123456789", "provider_id": "1", "text": "Hello, Anna!", "mark": "dl_8f1e2a3b4c5d6e7f80912a3b", "employee_id": "2"},
			want:     provider.SentMessage{MessageID: "90211", ChatID: "5512", StackID: "s-66120"}},
		{name: "queued: no message id is no error", fixture: "send_message_queued.json",
			msg:      provider.Message{Phone: "+79123456789", SenderID: "1", Text: "Hi"},
			wantBody: map[string]any{"phone": "79123456789", "provider_id": "1", "text": "Hi"},
			want:     provider.SentMessage{StackID: "s-66121"}},
		{name: "template", fixture: "send_message.json",
			msg:      provider.Message{Phone: "+79123456789", SenderID: "1", Template: "booking_welcome", Vars: []string{"Anna", "Sandbox Hotels", "3 December"}, Mark: strings.Repeat("m", 36)},
			wantBody: map[string]any{"phone": "79123456789", "provider_id": "1", "template": "booking_welcome", "vars": []any{"Anna", "Sandbox Hotels", "3 December"}, "mark": strings.Repeat("m", 36)},
			want:     provider.SentMessage{MessageID: "90211", ChatID: "5512", StackID: "s-66120"}},
		{name: "template without variables", fixture: "send_message.json",
			msg:      provider.Message{Phone: "+79123456789", SenderID: "1", Template: "hello"},
			wantBody: map[string]any{"phone": "79123456789", "provider_id": "1", "template": "hello", "vars": []any{}},
			want:     provider.SentMessage{MessageID: "90211", ChatID: "5512", StackID: "s-66120"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			a.reply("POST /messages", 200, fixture(t, c.fixture))
			got, err := a.client(t).SendMessage(ctx, c.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("sent = %+v, want %+v", got, c.want)
			}
			reqs := a.requests("messages")
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			var body map[string]any
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(body) != fmt.Sprint(c.wantBody) {
				t.Fatalf("body = %v, want %v", body, c.wantBody)
			}
		})
	}
}

func TestSendMessageRefused(t *testing.T) {
	ok := provider.Message{Phone: "+79123456789", SenderID: "1", Text: "hi"}
	cases := []struct {
		name      string
		msg       func(provider.Message) provider.Message
		status    int
		fixture   string // "" means no request may be made
		kind      provider.Failure
		wantCalls int
	}{
		{name: "mark longer than 36", msg: func(m provider.Message) provider.Message { m.Mark = strings.Repeat("x", 37); return m }, kind: provider.FailInvalidRequest},
		{name: "mark of 37 letters", msg: func(m provider.Message) provider.Message { m.Mark = strings.Repeat("ж", 37); return m }, kind: provider.FailInvalidRequest},
		{name: "no phone", msg: func(m provider.Message) provider.Message { m.Phone = "+"; return m }, kind: provider.FailInvalidRequest},
		{name: "phone too long", msg: func(m provider.Message) provider.Message { m.Phone = strings.Repeat("7", 21); return m }, kind: provider.FailInvalidRequest},
		{name: "no sender", msg: func(m provider.Message) provider.Message { m.SenderID = ""; return m }, kind: provider.FailInvalidRequest},
		{name: "no text or template", msg: func(m provider.Message) provider.Message { m.Text = ""; return m }, kind: provider.FailInvalidRequest},
		{name: "provider validation error", status: 200, fixture: "error_validation.json", kind: provider.FailInvalidRequest, wantCalls: 1},
		{name: "outage: never retried", status: 502, fixture: "error_server.html", kind: provider.FailUnavailable, wantCalls: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			if c.fixture != "" {
				a.reply("POST /messages", c.status, fixture(t, c.fixture))
			}
			m := ok
			if c.msg != nil {
				m = c.msg(ok)
			}
			_, err := a.client(t).SendMessage(ctx, m)
			pe := wantError(t, err, c.kind)
			if pe.Step != "send message (POST messages)" {
				t.Fatalf("step = %q", pe.Step)
			}
			if n := len(a.requests("")); n != c.wantCalls {
				t.Fatalf("%d requests, want %d", n, c.wantCalls)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /companies", 200, fixture(t, "companies.json"))
	a.reply("GET /messages", 200, fixture(t, "messages.json"))
	cl := a.client(t)
	if cl.ZoneKnown() {
		t.Fatal("the zone is known before anything was asked")
	}
	f := provider.MessageFilter{SenderID: "1",
		CreatedAfter:  time.Date(2026, 11, 21, 9, 59, 59, 500e6, time.UTC),
		CreatedBefore: time.Date(2026, 11, 21, 10, 30, 0, 500e6, time.UTC)}
	got, err := cl.Messages(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	q := a.requests("messages")[0].Query
	want := map[string]string{"provider_id": "1", "limit": "500", "offset": "0",
		// Europe/Moscow, widened to whole seconds.
		"created_after": "2026-11-21 12:59:59", "created_before": "2026-11-21 13:30:01"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Fatalf("query %s = %q, want %q (%v)", k, q.Get(k), v, q)
		}
	}
	for _, k := range []string{"mark", "marker", "phone", "type"} {
		if q.Has(k) {
			t.Fatalf("query has %s: %v", k, q)
		}
	}
	if len(got) != 2 {
		t.Fatalf("messages = %+v", got)
	}
	m := got[0]
	wantFirst := provider.StoredMessage{MessageID: "90211", ChatID: "5512", Phone: "79123456789", SenderID: "1", Outgoing: true,
		Text: "Hello, Anna! We look forward to welcoming you.", Mark: "dl_8f1e2a3b4c5d6e7f80912a3b",
		DeliveredAt: time.Date(2026, 11, 21, 10, 0, 4, 0, time.UTC), CreatedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	if !sameMessage(m, wantFirst) {
		t.Fatalf("first message = %+v\nwant %+v", m, wantFirst)
	}
	if m.CreatedAt.Location().String() != "Europe/Moscow" {
		t.Fatalf("created_at read in %s, want Europe/Moscow", m.CreatedAt.Location())
	}
	if got[1].MessageID != "90230" || got[1].Outgoing || got[1].Mark != "" || !got[1].DeliveredAt.IsZero() ||
		!got[1].CreatedAt.Equal(time.Date(2026, 11, 21, 10, 7, 12, 0, time.UTC)) {
		t.Fatalf("second message = %+v", got[1])
	}
	if !cl.ZoneKnown() {
		t.Fatal("the zone is not known after GET companies")
	}

	// Outgoing only: type=to_client, and the incoming message is left out even though this
	// server ignores the filter.
	got, err = cl.Messages(ctx, provider.MessageFilter{Outgoing: true})
	if err != nil || len(got) != 1 || got[0].MessageID != "90211" {
		t.Fatalf("outgoing = %+v, %v", got, err)
	}
	if q := a.requests("messages")[1].Query; q.Get("type") != "to_client" || q.Has("created_after") || q.Has("provider_id") {
		t.Fatalf("query = %v", q)
	}
	if n := len(a.requests("companies")); n != 1 {
		t.Fatalf("GET companies %d times, want once", n)
	}
}

func sameMessage(a, b provider.StoredMessage) bool {
	return a.MessageID == b.MessageID && a.ChatID == b.ChatID && a.Phone == b.Phone && a.SenderID == b.SenderID &&
		a.Outgoing == b.Outgoing && a.Text == b.Text && a.Mark == b.Mark && a.OperatorID == b.OperatorID &&
		a.DeliveredAt.Equal(b.DeliveredAt) && a.ViewedAt.Equal(b.ViewedAt) && a.CreatedAt.Equal(b.CreatedAt)
}

func TestMessage(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /messages/90211", 200, fixture(t, "message.json"))
	a.reply("GET /messages/1", 200, fixture(t, "error_not_found.json"))
	cl := a.client(t, zoned("Europe/Moscow"))
	m, err := cl.Message(ctx, "90211")
	if err != nil {
		t.Fatal(err)
	}
	want := provider.StoredMessage{MessageID: "90211", ChatID: "5512", Phone: "79123456789", SenderID: "1", Outgoing: true,
		Text: "Hello, Anna! We look forward to welcoming you.", Mark: "dl_8f1e2a3b4c5d6e7f80912a3b",
		DeliveredAt: time.Date(2026, 11, 21, 10, 0, 4, 0, time.UTC), ViewedAt: time.Date(2026, 11, 21, 10, 42, 31, 0, time.UTC),
		CreatedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	if !sameMessage(m, want) {
		t.Fatalf("message = %+v\nwant %+v", m, want)
	}
	if len(a.requests("companies")) != 0 {
		t.Fatal("asked GET companies although Config.Zone was given")
	}
	_, err = cl.Message(ctx, "1")
	wantError(t, err, provider.FailNotFound)
}

func TestZone(t *testing.T) {
	t.Run("asked once by concurrent calls", func(t *testing.T) {
		a := newAPI(t)
		companies := fixture(t, "companies.json")
		a.on("GET /companies", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(50 * time.Millisecond) // let the other calls queue up behind this lookup
			_, _ = w.Write(companies)
		})
		a.reply("GET /messages", 200, fixture(t, "messages.json"))
		cl := a.client(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cl.Messages(ctx, provider.MessageFilter{CreatedAfter: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := len(a.requests("companies")); n != 1 {
			t.Fatalf("GET companies %d times, want once", n)
		}
		for _, r := range a.requests("messages") {
			if got := r.Query["created_after"]; len(got) != 1 || got[0] != "2026-11-21 13:00:00" {
				t.Fatalf("created_after = %v, want Moscow time", got)
			}
		}
	})

	t.Run("configured offset", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /messages", 200, fixture(t, "messages.json"))
		cl := a.client(t, zoned("+05:30"))
		got, err := cl.Messages(ctx, provider.MessageFilter{CreatedAfter: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if q := a.requests("messages")[0].Query.Get("created_after"); q != "2026-11-21 05:30:00" {
			t.Fatalf("created_after = %q", q)
		}
		if !got[0].CreatedAt.Equal(time.Date(2026, 11, 21, 7, 30, 0, 0, time.UTC)) || !cl.ZoneKnown() {
			t.Fatalf("created_at = %v, known %v", got[0].CreatedAt, cl.ZoneKnown())
		}
		if len(a.requests("companies")) != 0 {
			t.Fatal("asked GET companies although Config.Zone was given")
		}
	})

	t.Run("unknown zone: UTC, said so, warned once without the key", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /companies", 200, []byte(`{"response":{"status":"success","data":{"id":"1","name":"Far Hotel","zone":"Mars/Olympus_Mons"}}}`))
		a.reply("GET /messages", 200, fixture(t, "messages.json"))
		var logs logBuffer
		cl := a.client(t, func(c *provider.Config) { c.Logger = logs.logger() })
		for range 2 {
			got, err := cl.Messages(ctx, provider.MessageFilter{CreatedAfter: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].CreatedAt.Equal(time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)) {
				t.Fatalf("created_at = %v, want it read as UTC", got[0].CreatedAt)
			}
		}
		if q := a.requests("messages")[0].Query.Get("created_after"); q != "2026-11-21 10:00:00" {
			t.Fatalf("created_after = %q, want UTC", q)
		}
		if cl.ZoneKnown() {
			t.Fatal("ZoneKnown is true for an unknown zone")
		}
		out := logs.String()
		if strings.Count(out, "unknown company time zone") != 1 || !strings.Contains(out, "Mars/Olympus_Mons") || strings.Contains(out, testKey) {
			t.Fatalf("log = %s", out)
		}
	})

	t.Run("lookup fails: the call fails and the next one asks again", func(t *testing.T) {
		a := newAPI(t)
		var mu sync.Mutex
		fail := true
		companies := fixture(t, "companies.json")
		a.on("GET /companies", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write(companies)
		})
		a.reply("GET /messages", 200, fixture(t, "messages.json"))
		cl := a.client(t, noRetries)
		_, err := cl.Messages(ctx, provider.MessageFilter{})
		wantError(t, err, provider.FailUnavailable)
		if len(a.requests("messages")) != 0 {
			t.Fatal("listed messages without knowing the zone")
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		if _, err := cl.Messages(ctx, provider.MessageFilter{}); err != nil || !cl.ZoneKnown() {
			t.Fatalf("second try: %v, known %v", err, cl.ZoneKnown())
		}
	})
}

func TestParseZone(t *testing.T) {
	cases := []struct {
		in     string
		offset int // seconds east of UTC on 2026-11-21
		name   string
		ok     bool
	}{
		{"Europe/Moscow", 3 * 3600, "Europe/Moscow", true},
		{"Asia/Yekaterinburg", 5 * 3600, "Asia/Yekaterinburg", true},
		{"America/New_York", -5 * 3600, "America/New_York", true},
		{"UTC", 0, "UTC", true},
		{"Z", 0, "UTC", true},
		{"gmt", 0, "UTC", true},
		{"+03:00", 3 * 3600, "", true},
		{"+0300", 3 * 3600, "", true},
		{"UTC+3", 3 * 3600, "", true},
		{"GMT+03:00", 3 * 3600, "", true},
		{"utc-4", -4 * 3600, "", true},
		{"+3", 3 * 3600, "", true},
		{"3", 3 * 3600, "", true},
		{"-05:30", -(5*3600 + 30*60), "", true},
		{"+05:45", 5*3600 + 45*60, "", true},
		{"+00:00", 0, "UTC", true},
		{" Europe/Moscow ", 3 * 3600, "Europe/Moscow", true},
		{"MSK", 3 * 3600, "Europe/Moscow", true},
		{"", 0, "UTC", false},
		{"Local", 0, "UTC", false},
		{"Mars/Olympus_Mons", 0, "UTC", false},
		{"+15", 0, "UTC", false},
		{"+03:75", 0, "UTC", false},
		{"UTC+", 0, "UTC", false},
		{"three", 0, "UTC", false},
	}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			loc, ok := intellectdialog.ParseZone(c.in)
			if ok != c.ok || loc == nil {
				t.Fatalf("ParseZone(%q) ok = %v (loc %v), want %v", c.in, ok, loc, c.ok)
			}
			if _, off := at.In(loc).Zone(); off != c.offset {
				t.Fatalf("ParseZone(%q) offset = %d, want %d", c.in, off, c.offset)
			}
			if c.name != "" && loc.String() != c.name {
				t.Fatalf("ParseZone(%q) = %s, want %s", c.in, loc, c.name)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /messages/1/templates", 200, fixture(t, "templates.json"))
	a.reply("GET /messages/2/templates", 200, []byte(`{"response":{"status":"success","data":[]}}`))
	a.reply("GET /messages/9/templates", 404, fixture(t, "error_not_found.json"))
	cl := a.client(t)
	got, err := cl.Templates(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Template{
		{ID: "tpl-1", Name: "booking_welcome", Language: "en", Category: "UTILITY", Status: "APPROVED",
			Text: "Hello {{1}}! We look forward to welcoming you at {{2}} on {{3}}."},
		{ID: "tpl-2", Name: "promo_discount", Language: "ru", Category: "MARKETING", Status: "REJECTED", Text: "Скидка {{1}}% на следующий визит!"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("templates = %+v\nwant %+v", got, want)
	}
	if !got[0].Approved() || got[1].Approved() {
		t.Fatal("Approved is wrong for the recorded statuses")
	}
	if q := a.requests("messages/1/templates")[0].Query; q.Has("limit") || q.Has("offset") {
		t.Fatalf("templates are not paged, query = %v", q)
	}
	if got, err := cl.Templates(ctx, "2"); err != nil || len(got) != 0 {
		t.Fatalf("no templates = %+v, %v", got, err)
	}
	_, err = cl.Templates(ctx, "9")
	wantError(t, err, provider.FailNotFound)
}

func TestStopListed(t *testing.T) {
	t.Run("stoplist", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /stoplist", 200, fixture(t, "stoplist.json")) // ignores the phone filter
		cl := a.client(t)
		cases := []struct {
			phone string
			want  bool
		}{
			{"+7 916 111-22-33", true},
			{"79161112233", true},
			{"+79990000000", false},
			{"+19161112233", true}, // same last 10 digits: stopped rather than risked
		}
		for _, c := range cases {
			got, err := cl.StopListed(ctx, c.phone)
			if err != nil || got != c.want {
				t.Fatalf("StopListed(%q) = %v, %v; want %v", c.phone, got, err, c.want)
			}
		}
		reqs := a.requests("stoplist")
		if len(reqs) != len(cases) || reqs[0].Query.Get("phone") != "79161112233" {
			t.Fatalf("requests = %+v", reqs)
		}
		if len(a.requests("persons/stoplist")) != 0 {
			t.Fatal("asked persons/stoplist although stoplist answered")
		}
	})

	t.Run("persons/stoplist when stoplist is no route", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /persons/stoplist", 200, fixture(t, "stoplist.json"))
		cl := a.client(t)
		for range 2 {
			if got, err := cl.StopListed(ctx, "+79161112233"); err != nil || !got {
				t.Fatalf("StopListed = %v, %v", got, err)
			}
		}
		if n, m := len(a.requests("stoplist")), len(a.requests("persons/stoplist")); n != 1 || m != 2 {
			t.Fatalf("stoplist asked %d times, persons/stoplist %d; want 1 and 2 (the route is remembered)", n, m)
		}
	})

	t.Run("no route at all", func(t *testing.T) {
		a := newAPI(t)
		var logs logBuffer
		cl := a.client(t, func(c *provider.Config) { c.Logger = logs.logger() })
		for range 2 {
			if got, err := cl.StopListed(ctx, "+79161112233"); err != nil || got {
				t.Fatalf("StopListed = %v, %v", got, err)
			}
		}
		if n := len(a.requests("")); n != 2 {
			t.Fatalf("%d requests, want 2 (each route once)", n)
		}
		if strings.Count(logs.String(), "no stop list route") != 1 {
			t.Fatalf("log = %s", logs.String())
		}
	})

	t.Run("the API's not found is an empty list", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /stoplist", 404, fixture(t, "error_not_found.json"))
		if got, err := a.client(t).StopListed(ctx, "+79161112233"); err != nil || got {
			t.Fatalf("StopListed = %v, %v", got, err)
		}
		if len(a.requests("persons/stoplist")) != 0 {
			t.Fatal("an enveloped 404 is the API's answer, not a missing route")
		}
	})

	t.Run("empty", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /stoplist", 200, fixture(t, "stoplist_empty.json"))
		if got, err := a.client(t).StopListed(ctx, "+79161112233"); err != nil || got {
			t.Fatalf("StopListed = %v, %v", got, err)
		}
	})

	t.Run("national form on the list", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /stoplist", 200, []byte(`{"response":{"status":"success","data":[{"id":"1","person_phone":"8 (916) 111-22-33"}]}}`))
		if got, err := a.client(t).StopListed(ctx, "+79161112233"); err != nil || !got {
			t.Fatalf("StopListed = %v, %v", got, err)
		}
	})

	t.Run("outage", func(t *testing.T) {
		a := newAPI(t)
		a.reply("GET /stoplist", 503, fixture(t, "error_server.html"))
		_, err := a.client(t, noRetries).StopListed(ctx, "+79161112233")
		wantError(t, err, provider.FailUnavailable)
	})

	t.Run("match on the third page", func(t *testing.T) {
		a := newAPI(t)
		items := makeItems(t, "stoplist.json", 45, nil)
		last := map[string]any{}
		_ = json.Unmarshal(items[44], &last)
		last["person_phone"] = "79035550000"
		items[44], _ = json.Marshal(last)
		a.on("GET /stoplist", pagedList(items, 20, true))
		got, err := a.client(t).StopListed(ctx, "+7 903 555-00-00")
		if err != nil || !got {
			t.Fatalf("StopListed = %v, %v", got, err)
		}
		if n := len(a.requests("stoplist")); n != 3 {
			t.Fatalf("%d pages read, want 3", n)
		}
	})
}

func TestWebhook(t *testing.T) {
	pmsURL := "https://pms.example.com/hooks/intellectdialog?token=pms-own-token"
	cases := []struct {
		name   string
		status int
		body   string // a fixture file when it ends in .json
		want   provider.Webhook
		ok     bool
		kind   provider.Failure // when an error is expected
	}{
		{name: "installed", status: 200, body: "webhook.json", ok: true,
			want: provider.Webhook{URL: pmsURL, Events: []string{"new_message", "new_status"}}},
		{name: "none: empty fields", status: 200, body: "webhook_none.json"},
		{name: "under data", status: 200, body: `{"response":{"status":"success","data":{"url":"https://a.example/h","events":["new_status"]}}}`,
			ok: true, want: provider.Webhook{URL: "https://a.example/h", Events: []string{"new_status"}}},
		{name: "a list: the first", status: 200, body: `{"response":{"status":"success","data":[{"url":"https://a.example/1","events":"new_status,new_error"},{"url":"https://a.example/2"}]}}`,
			ok: true, want: provider.Webhook{URL: "https://a.example/1", Events: []string{"new_status", "new_error"}}},
		{name: "an empty list", status: 200, body: `{"response":{"status":"success","data":[]}}`},
		{name: "null fields", status: 200, body: `{"response":{"status":"success","url":null,"events":null}}`},
		{name: "not found error at 200", status: 200, body: "error_not_found.json"},
		{name: "not found error at 404", status: 404, body: "error_not_found.json"},
		{name: "no such route", status: 0, kind: provider.FailNotFound},
		{name: "bad key", status: 401, body: "error_unauthorized.json", kind: provider.FailUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			if c.status != 0 {
				body := []byte(c.body)
				if strings.HasSuffix(c.body, ".json") {
					body = fixture(t, c.body)
				}
				a.reply("GET /webhooks", c.status, body)
			}
			got, ok, err := a.client(t).Webhook(ctx)
			if c.kind != provider.FailInternal {
				wantError(t, err, c.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok || got.URL != c.want.URL || !slices.Equal(got.Events, c.want.Events) {
				t.Fatalf("webhook = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestSetAndDeleteWebhook(t *testing.T) {
	a := newAPI(t)
	a.reply("POST /webhooks", 200, fixture(t, "webhook_set.json"))
	cl := a.client(t)
	hook := "https://bellhop.example.com/webhooks/intellectdialog/1042?secret=0123abcd"
	if err := cl.SetWebhook(ctx, provider.Webhook{URL: hook, Events: []string{"new_status", "new_error"}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetWebhook(ctx, provider.Webhook{URL: hook}); err != nil {
		t.Fatal(err)
	}
	reqs := a.requests("webhooks")
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, want := range []string{
		`{"url":"` + hook + `","events":["new_status","new_error"]}`,
		`{"url":"` + hook + `","events":["new_message","new_status","new_error"]}`,
	} {
		var got, w any
		_ = json.Unmarshal(reqs[i].Body, &got)
		_ = json.Unmarshal([]byte(want), &w)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("body %d = %s, want %s", i, reqs[i].Body, want)
		}
	}
	err := cl.SetWebhook(ctx, provider.Webhook{URL: "not a url"})
	wantError(t, err, provider.FailInvalidRequest)
	if len(a.requests("")) != 2 {
		t.Fatal("a bad URL was sent")
	}

	cases := []struct {
		name    string
		status  int
		body    []byte
		wantErr provider.Failure // FailInternal: none
		calls   int
	}{
		{"deleted", 200, fixture(t, "ok.json"), provider.FailInternal, 1},
		{"deleted, 204", 204, nil, provider.FailInternal, 1},
		{"none installed: 404", 404, fixture(t, "error_not_found.json"), provider.FailInternal, 1},
		{"none installed: not found at 200", 200, fixture(t, "error_not_found.json"), provider.FailInternal, 1},
		{"outage: retried, then an error", 503, fixture(t, "error_server.html"), provider.FailUnavailable, 2},
		{"bad key", 401, fixture(t, "error_unauthorized.json"), provider.FailUnauthorized, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newAPI(t)
			d.reply("DELETE /webhooks", c.status, c.body)
			err := d.client(t, func(cfg *provider.Config) { cfg.Retries = 1 }).DeleteWebhook(ctx)
			if c.wantErr == provider.FailInternal {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantError(t, err, c.wantErr)
			}
			if n := len(d.requests("webhooks")); n != c.calls {
				t.Fatalf("%d requests, want %d", n, c.calls)
			}
		})
	}
}

// TestErrorShapes: every way the API (or what stands in front of it) says no.
func TestErrorShapes(t *testing.T) {
	date := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	long := testKey + " \x07\x1b[31m" + strings.Repeat("очень длинная причина ", 40) + "\r\n" + testKey
	longBody, _ := json.Marshal(map[string]any{"response": map[string]any{"status": "error", "error": long}})
	companies := string(fixture(t, "companies.json"))
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string // a fixture file when it ends in .json or .html
		kind       provider.Failure
		why        string // in the error's Reason
		retryAfter time.Duration
	}{
		{name: "error envelope at 200: the key", status: 200, body: "error_unauthorized.json", kind: provider.FailUnauthorized, why: "Неверный ключ API"},
		{name: "error envelope at 200: not found", status: 200, body: "error_not_found.json", kind: provider.FailNotFound, why: "Запись не найдена"},
		{name: "error envelope at 200: validation", status: 200, body: "error_validation.json", kind: provider.FailInvalidRequest, why: "Поле phone"},
		{name: "error envelope at 200: banned", status: 200, body: `{"response":{"status":"error","error":"provider is banned by WhatsApp"}}`, kind: provider.FailSenderBlocked},
		{name: "error object", status: 200, body: `{"response":{"status":"error","error":{"message":"Company not found"}}}`, kind: provider.FailNotFound, why: "Company not found"},
		{name: "error status without text", status: 200, body: `{"response":{"status":"error"}}`, kind: provider.FailInvalidRequest, why: `status "error"`},
		{name: "401", status: 401, body: "error_unauthorized.json", kind: provider.FailUnauthorized, why: "Неверный ключ API"},
		{name: "401 empty", status: 401, kind: provider.FailUnauthorized, why: "Unauthorized"},
		{name: "403 the key", status: 403, body: "error_unauthorized.json", kind: provider.FailUnauthorized},
		{name: "403 blocked", status: 403, body: `{"response":{"status":"error","error":"sender 1 is blocked"}}`, kind: provider.FailSenderBlocked},
		{name: "404 envelope", status: 404, body: "error_not_found.json", kind: provider.FailNotFound, why: "Запись не найдена"},
		{name: "404 bare", status: 404, body: "404 page not found", kind: provider.FailNotFound},
		{name: "422", status: 422, body: "error_validation.json", kind: provider.FailInvalidRequest},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "120"}, kind: provider.FailRateLimited, retryAfter: 120 * time.Second},
		{name: "429 date", status: 429, header: map[string]string{"Date": date.Format(http.TimeFormat), "Retry-After": date.Add(90 * time.Second).Format(http.TimeFormat)},
			kind: provider.FailRateLimited, retryAfter: 90 * time.Second},
		{name: "429 without Retry-After", status: 429, kind: provider.FailRateLimited, retryAfter: 60 * time.Second},
		{name: "500 envelope", status: 500, body: `{"response":{"status":"error","error":"Internal error"}}`, kind: provider.FailUnavailable, why: "Internal error"},
		{name: "502 HTML page", status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "error_server.html", kind: provider.FailUnavailable, why: "unexpected HTML answer"},
		{name: "503 empty", status: 503, kind: provider.FailUnavailable, why: "Service Unavailable"},
		{name: "200 HTML page", status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "error_server.html", kind: provider.FailInternal, why: "unexpected HTML answer"},
		{name: "200 empty", status: 200, kind: provider.FailInternal, why: "empty answer"},
		{name: "200 truncated JSON", status: 200, body: companies[:len(companies)/2], kind: provider.FailInternal, why: "undecodable"},
		{name: "200 not JSON", status: 200, body: "hello", kind: provider.FailInternal, why: "hello"},
		{name: "200 without envelope", status: 200, body: `{"id":"417","name":"Sandbox Hotels"}`, kind: provider.FailInternal},
		{name: "200 data of the wrong shape", status: 200, body: `{"response":{"status":"success","data":"x"}}`, kind: provider.FailInternal},
		{name: "long reason with control characters and the key", status: 200, body: string(longBody), kind: provider.FailInvalidRequest, why: "[redacted]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			body := []byte(c.body)
			if strings.HasSuffix(c.body, ".json") || strings.HasSuffix(c.body, ".html") {
				body = fixture(t, c.body)
			}
			a.on("GET /companies", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write(body)
			})
			_, err := a.client(t, noRetries).Organization(ctx)
			pe := wantError(t, err, c.kind)
			if pe.Status != c.status || pe.RetryAfter != c.retryAfter {
				t.Fatalf("error = %+v, want status %d and RetryAfter %s", pe, c.status, c.retryAfter)
			}
			if !strings.Contains(pe.Reason, c.why) {
				t.Fatalf("reason = %q, want it to mention %q", pe.Reason, c.why)
			}
			if n := utf8.RuneCountInString(pe.Reason); n > 200 {
				t.Fatalf("reason has %d characters: %q", n, pe.Reason)
			}
			if strings.ContainsFunc(pe.Reason, unicode.IsControl) || strings.Contains(pe.Reason, "<html") || strings.Contains(pe.Reason, testKey) {
				t.Fatalf("reason not cleaned: %q", pe.Reason)
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
		{"no retries", -1, 1, func(c *intellectdialog.Client) error { _, _, err := c.Webhook(ctx); return err }, 1, true},
		{"DELETE retries", 1, 1, func(c *intellectdialog.Client) error { return c.DeleteWebhook(ctx) }, 2, false},
		{"POST messages never", 0, 1, func(c *intellectdialog.Client) error {
			_, err := c.SendMessage(ctx, provider.Message{Phone: "+79161234567", SenderID: "1", Text: "hi", Mark: "m"})
			return err
		}, 1, true},
		{"POST webhooks never", 0, 1, func(c *intellectdialog.Client) error {
			return c.SetWebhook(ctx, provider.Webhook{URL: "https://bellhop.example.com/h"})
		}, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			var mu sync.Mutex
			calls := 0
			a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n <= c.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = io.WriteString(w, ok)
			})
			err := c.call(a.client(t, func(cfg *provider.Config) { cfg.Retries = c.retries; cfg.Zone = "UTC" }))
			if n := len(a.requests("")); (err != nil) != c.wantErr || n != c.wantCalls {
				t.Fatalf("err = %v after %d calls, want error %v after %d calls", err, n, c.wantErr, c.wantCalls)
			}
			if err != nil {
				wantError(t, err, provider.FailUnavailable)
			}
		})
	}

	// A 4xx is an answer, not a failure to reach the provider: never retried.
	a := newAPI(t)
	a.reply("GET /providers", 400, fixture(t, "error_validation.json"))
	if _, err := a.client(t).Senders(ctx); err == nil || len(a.requests("")) != 1 {
		t.Fatalf("400: err %v after %d calls, want 1 call", err, len(a.requests("")))
	}
}

// TestKeyNeverInErrors: whatever fails, and even when the provider echoes the key back, the
// key does not appear in the error.
func TestKeyNeverInErrors(t *testing.T) {
	const key = "top/secret key+42"
	echo := func(status int, escape func(string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"response":{"status":"error","error":"key %s rejected"}}`, escape(r.Header.Get("Authorization")))
		}
	}
	plain := func(s string) string { return s }
	jsonEscaped := func(s string) string { return strings.ReplaceAll(s, "/", `\/`) }
	cases := []struct {
		name string
		base func(t *testing.T) string
	}{
		{"401 echoing the key", func(t *testing.T) string { a := newAPI(t); a.on("GET /companies", echo(401, plain)); return a.base }},
		{"500 echoing the key", func(t *testing.T) string { a := newAPI(t); a.on("GET /companies", echo(500, plain)); return a.base }},
		{"200 error echoing the key", func(t *testing.T) string { a := newAPI(t); a.on("GET /companies", echo(200, plain)); return a.base }},
		{"200 error echoing the key JSON-escaped", func(t *testing.T) string {
			a := newAPI(t)
			a.on("GET /companies", echo(200, jsonEscaped))
			return a.base
		}},
		{"plain text echoing the key JSON-escaped", func(t *testing.T) string {
			a := newAPI(t)
			a.on("GET /companies", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, "bad key: "+jsonEscaped(r.Header.Get("Authorization")))
			})
			return a.base
		}},
		{"connection refused", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL + "/v2/"
		}},
		{"timeout", func(t *testing.T) string {
			a := newAPI(t)
			a.on("GET /companies", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			return a.base
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
				if pe.Failure != provider.FailUnauthorized || !strings.Contains(pe.Reason, "[redacted]") {
					t.Fatalf("a rejected key = %+v", pe)
				}
			}
		})
	}
}

// makeItems makes n list items from the first item of a recorded list, with ids 1…n; mod
// changes item i.
func makeItems(t *testing.T, name string, n int, mod func(i int, item map[string]any)) []json.RawMessage {
	t.Helper()
	var env struct {
		Response struct {
			Data []map[string]any `json:"data"`
		} `json:"response"`
	}
	if err := json.Unmarshal(fixture(t, name), &env); err != nil || len(env.Response.Data) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	items := make([]json.RawMessage, n)
	for i := range n {
		item := map[string]any{}
		for k, v := range env.Response.Data[0] {
			item[k] = v
		}
		item["id"] = strconv.Itoa(i + 1)
		if mod != nil {
			mod(i, item)
		}
		items[i], _ = json.Marshal(item)
	}
	return items
}

// pagedList serves items by limit and offset. pageSize > 0 ignores limit and answers that
// many at a time (as the API does without limit); withPagin adds {limit, offset, total}.
func pagedList(items []json.RawMessage, pageSize int, withPagin bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if pageSize > 0 || limit <= 0 {
			limit = cmpOr(pageSize, 20)
		}
		end := min(offset+limit, len(items))
		page := []json.RawMessage{}
		if offset < len(items) {
			page = items[offset:end]
		}
		resp := map[string]any{"date": "2026-11-21 13:00:00", "status": "success", "data": page}
		if withPagin {
			resp["pagin"] = map[string]int{"limit": limit, "offset": offset, "total": len(items)}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"response": resp})
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestPaging(t *testing.T) {
	// Messages newest first, one a minute, so that the client's oldest-first order shows.
	messageItems := func(t *testing.T, n int) []json.RawMessage {
		start := time.Date(2026, 11, 21, 13, 0, 0, 0, moscow)
		return makeItems(t, "messages.json", n, func(i int, m map[string]any) {
			m["created_at"] = start.Add(time.Duration(n-i) * time.Minute).Format(time.DateTime)
		})
	}
	cases := []struct {
		name        string
		items       int
		pageSize    int // 0: the server honours limit
		withPagin   bool
		maxPages    int
		wantOffsets []string
		wantItems   int
		wantErr     bool
	}{
		{name: "three pages of 500", items: 1100, withPagin: true, wantOffsets: []string{"0", "500", "1000"}, wantItems: 1100},
		{name: "limit ignored: 20 at a time", items: 45, pageSize: 20, withPagin: true, wantOffsets: []string{"0", "20", "40"}, wantItems: 45},
		{name: "exactly a page", items: 500, withPagin: true, wantOffsets: []string{"0"}, wantItems: 500},
		{name: "no pagin: a short page ends it", items: 700, wantOffsets: []string{"0", "500"}, wantItems: 700},
		{name: "no pagin, limit ignored", items: 45, pageSize: 20, wantOffsets: []string{"0", "20", "40"}, wantItems: 45},
		{name: "empty", items: 0, withPagin: true, wantOffsets: []string{"0"}, wantItems: 0},
		{name: "page cap", items: 1100, withPagin: true, maxPages: 2, wantOffsets: []string{"0", "500"}, wantItems: 1000, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			var items []json.RawMessage
			if c.items > 0 {
				items = messageItems(t, c.items)
			}
			a.on("GET /messages", pagedList(items, c.pageSize, c.withPagin))
			got, err := a.client(t, zoned("Europe/Moscow")).Messages(ctx, provider.MessageFilter{MaxPages: c.maxPages})
			if c.wantErr {
				wantError(t, err, provider.FailInternal)
			} else if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.wantItems {
				t.Fatalf("%d messages, want %d", len(got), c.wantItems)
			}
			var offsets []string
			for _, r := range a.requests("messages") {
				offsets = append(offsets, r.Query.Get("offset"))
				if r.Query.Get("limit") != "500" {
					t.Fatalf("limit = %q", r.Query.Get("limit"))
				}
			}
			if !slices.Equal(offsets, c.wantOffsets) {
				t.Fatalf("offsets = %v, want %v", offsets, c.wantOffsets)
			}
			for i := 1; i < len(got); i++ {
				if got[i].CreatedAt.Before(got[i-1].CreatedAt) {
					t.Fatalf("not oldest first at %d: %v after %v", i, got[i].CreatedAt, got[i-1].CreatedAt)
				}
			}
			seen := map[string]bool{}
			for _, m := range got {
				if seen[m.MessageID] {
					t.Fatalf("message %s twice", m.MessageID)
				}
				seen[m.MessageID] = true
			}
		})
	}

	t.Run("offset ignored", func(t *testing.T) {
		a := newAPI(t)
		items := messageItems(t, 40)
		a.on("GET /messages", func(w http.ResponseWriter, r *http.Request) {
			r.URL.RawQuery = "limit=20&offset=0"
			pagedList(items, 20, true)(w, r)
		})
		got, err := a.client(t, zoned("UTC")).Messages(ctx, provider.MessageFilter{})
		wantError(t, err, provider.FailInternal)
		if len(got) != 20 || len(a.requests("messages")) != 2 {
			t.Fatalf("%d messages after %d requests", len(got), len(a.requests("messages")))
		}
	})

	t.Run("senders and operators page too", func(t *testing.T) {
		a := newAPI(t)
		a.on("GET /providers", pagedList(makeItems(t, "providers.json", 1001, nil), 0, true))
		a.on("GET /employees", pagedList(makeItems(t, "employees.json", 41, nil), 20, false))
		cl := a.client(t)
		senders, err := cl.Senders(ctx)
		if err != nil || len(senders) != 1001 || senders[1000].ID != "1001" || senders[0].Type != "whatsapp" {
			t.Fatalf("%d senders, %v", len(senders), err)
		}
		ops, err := cl.Operators(ctx)
		if err != nil || len(ops) != 41 || ops[40].Name != "Irina Orlova" {
			t.Fatalf("%d operators, %v", len(ops), err)
		}
		if n, m := len(a.requests("providers")), len(a.requests("employees")); n != 3 || m != 3 {
			t.Fatalf("%d and %d pages, want 3 and 3", n, m)
		}
	})
}

func TestParseEvents(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 21, h, m, s, 0, time.UTC) }
	const mark = "dl_8f1e2a3b4c5d6e7f80912a3b"
	want := map[string][]provider.StatusEvent{
		"list.json": {
			{Event: "new_status", MessageID: "90211", Mark: mark, Status: "delivered", DeliveredAt: at(13, 0, 4), At: at(13, 0, 4)},
			{Event: "new_status", MessageID: "90212", Mark: "dl_000000000000000000000001", Status: "read", ViewedAt: at(13, 5, 0), At: at(13, 5, 0)},
		},
		"new_error_flat.json": {
			{MessageID: "90211", Phone: "79123456789", Status: "failed", Error: "Номер не зарегистрирован в WhatsApp", At: at(13, 0, 5)},
		},
		"new_message.json": {
			{Event: "new_message", MessageID: "90230", Phone: "79123456789", At: at(13, 7, 12)},
		},
		"new_status_data.json": {
			{Event: "new_status", MessageID: "90211", Mark: mark, Phone: "79123456789", Status: "delivered", DeliveredAt: at(13, 0, 4), At: at(13, 0, 4)},
		},
		"new_status_flat.json": {
			{Event: "new_status", MessageID: "90211", Mark: mark, Status: "read", ViewedAt: at(13, 42, 31), At: at(13, 42, 31)},
		},
		"new_status_message.json": {
			{Event: "new_status", MessageID: "90211", Mark: mark, Status: "read", DeliveredAt: at(13, 0, 4), ViewedAt: at(13, 42, 31), At: at(13, 42, 31)},
		},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "callbacks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no callbacks: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			got, err := intellectdialog.ParseEvents(fixture(t, filepath.Join("callbacks", name)))
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok { // another's fixture: it must at least name an event or a message
				for _, ev := range got {
					if ev.Event == "" && ev.MessageID == "" && ev.Mark == "" {
						t.Fatalf("%s parsed to an event that names nothing: %+v", name, ev)
					}
				}
				return
			}
			if len(got) != len(w) {
				t.Fatalf("%d events, want %d: %+v", len(got), len(w), got)
			}
			for i := range w {
				if !sameEvent(got[i], w[i]) {
					t.Fatalf("event %d = %+v\nwant %+v", i, got[i], w[i])
				}
			}
		})
	}
	for name := range want {
		if !slices.Contains(files, filepath.Join("testdata", "callbacks", name)) {
			t.Fatalf("callback fixture %s is gone", name)
		}
	}
}

func sameEvent(a, b provider.StatusEvent) bool {
	return a.Event == b.Event && a.MessageID == b.MessageID && a.Mark == b.Mark && a.Phone == b.Phone &&
		a.Status == b.Status && a.Error == b.Error && a.DeliveredAt.Equal(b.DeliveredAt) && a.ViewedAt.Equal(b.ViewedAt) && a.At.Equal(b.At)
}

func TestParseEventsShapes(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []provider.StatusEvent // nil: an error
	}{
		{"event_type, payload, messageId", `{"event_type":"new_status","payload":{"messageId":7,"mark":"m1","state":"delivered"}}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "7", Mark: "m1", Status: "delivered"}}},
		{"name and object", `{"name":"new_error","object":{"id":"8","error":{"message":"blocked"},"timestamp":1795255200}}`,
			[]provider.StatusEvent{{Event: "new_error", MessageID: "8", Status: "failed", Error: "blocked", At: time.Unix(1795255200, 0)}}},
		{"new_error without text", `{"event":"new_error","data":{"message_id":"9"}}`,
			[]provider.StatusEvent{{Event: "new_error", MessageID: "9", Status: "failed"}}},
		{"read_at and a status word", `{"event":"new_status","data":{"id":"10","status":"sent","read_at":"2026-11-21T10:00:00Z"}}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "10", Status: "read", ViewedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), At: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}}},
		{"status word only", `{"event":"new_status","data":{"id":"11","status":"Delivered"}}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "11", Status: "delivered"}}},
		{"unknown status word kept", `{"event":"new_status","data":{"id":"12","status":"Bounced"}}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "12", Status: "bounced"}}},
		{"empty and zero times", `{"event":"new_status","data":{"id":"13","delivered_at":"0000-00-00 00:00:00","viewed_at":null,"status":"sent"}}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "13", Status: "sent"}}},
		{"a list under data", `{"event":"new_status","data":[{"id":"14","delivered_at":"2026-11-21 13:00:04"},{"id":"15"}]}`,
			[]provider.StatusEvent{{Event: "new_status", MessageID: "14", Status: "delivered", DeliveredAt: time.Date(2026, 11, 21, 13, 0, 4, 0, time.UTC), At: time.Date(2026, 11, 21, 13, 0, 4, 0, time.UTC)}, {Event: "new_status", MessageID: "15"}}},
		{"type is a direction, not an event", `{"type":"to_client","message_id":"16","marker":"m16","delivered_at":"2026-11-21 13:00:04"}`,
			[]provider.StatusEvent{{MessageID: "16", Mark: "m16", Status: "delivered", DeliveredAt: time.Date(2026, 11, 21, 13, 0, 4, 0, time.UTC), At: time.Date(2026, 11, 21, 13, 0, 4, 0, time.UTC)}}},
		{"an incoming message without an event", `{"id":"17","type":"from_client","text":"hi"}`,
			[]provider.StatusEvent{{Event: "new_message", MessageID: "17"}}},
		{"not JSON", `not json`, nil},
		{"empty body", ``, nil},
		{"empty list", `[]`, nil},
		{"empty object", `{}`, nil},
		{"a string", `"new_status"`, nil},
		{"numbers", `[1,2,3]`, nil},
		{"only a direction", `{"type":"to_client"}`, nil},
		{"unrelated object", `{"ping":true,"company_id":"417"}`, nil},
		{"truncated", `{"event":"new_status","data":{"id":"1"`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := intellectdialog.ParseEvents([]byte(c.body))
			if c.want == nil {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d events, want %d: %+v", len(got), len(c.want), got)
			}
			for i := range c.want {
				if !sameEvent(got[i], c.want[i]) {
					t.Fatalf("event %d = %+v\nwant %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestParseEventsInZone(t *testing.T) {
	body := fixture(t, filepath.Join("callbacks", "new_status_data.json"))
	got, err := intellectdialog.ParseEventsIn(body, moscow)
	if err != nil || len(got) != 1 || !got[0].DeliveredAt.Equal(time.Date(2026, 11, 21, 10, 0, 4, 0, time.UTC)) {
		t.Fatalf("events = %+v, %v", got, err)
	}

	// The client's own: its zone, and what it did not expect logged once.
	var logs logBuffer
	a := newAPI(t)
	cl := a.client(t, zoned("Europe/Moscow"), func(c *provider.Config) { c.Logger = logs.logger() })
	got, err = cl.ParseEvents(body)
	if err != nil || !got[0].DeliveredAt.Equal(time.Date(2026, 11, 21, 10, 0, 4, 0, time.UTC)) {
		t.Fatalf("events = %+v, %v", got, err)
	}
	for range 2 {
		if _, err := cl.ParseEvents([]byte(`{"event":"new_status","data":{"id":"1","status":"Bounced"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(logs.String(), "unknown status word") != 1 || !strings.Contains(logs.String(), "bounced") {
		t.Fatalf("log = %s", logs.String())
	}
	if len(a.requests("")) != 0 {
		t.Fatal("parsing a callback made a request")
	}
}
