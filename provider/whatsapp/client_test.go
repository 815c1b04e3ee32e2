package whatsapp_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/safehttp"
	"github.com/bellhop/bellhop/provider/whatsapp"
)

const (
	testToken = "EAAG-test-token-0123456789abcdef"
	testKey   = "d360-test-key-0123456789abcdef"
	testWABA  = "102290129340398"
	testPhone = "106540352242922"
)

var ctx = context.Background()

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
	Header       http.Header
	Body         []byte
}

// api is a fake WhatsApp API: routes by "METHOD /path", every request recorded. A route it does
// not have answers the mux's bare 404, as a server without that route would.
type api struct {
	mu   sync.Mutex
	mux  *http.ServeMux
	reqs []request
	url  string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	a := &api{mux: http.NewServeMux()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		a.mu.Lock()
		a.reqs = append(a.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		a.mu.Unlock()
		a.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *api) on(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, h) }

// reply routes pattern to a fixed answer.
func (a *api) reply(pattern string, status int, body []byte) {
	a.on(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func (a *api) requests() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]request(nil), a.reqs...)
}

// private lets clients reach the httptest server (loopback), as BELLHOP_ALLOW_PRIVATE_PROVIDERS does.
var private = safehttp.Policy{AllowPrivate: true}.Client()

func (a *api) cloud(t *testing.T, opts ...func(*whatsapp.Config)) *whatsapp.Client {
	t.Helper()
	cfg := whatsapp.Config{Kind: whatsapp.KindCloud, WABAID: testWABA, PhoneNumberID: testPhone,
		Config: provider.Config{BaseURL: a.url + "/v26.0/", APIKey: testToken, Timeout: 2 * time.Second, HTTPClient: private}}
	return newClient(t, cfg, opts...)
}

func (a *api) d360(t *testing.T, opts ...func(*whatsapp.Config)) *whatsapp.Client {
	t.Helper()
	cfg := whatsapp.Config{Kind: whatsapp.KindDialog360,
		Config: provider.Config{BaseURL: a.url + "/", APIKey: testKey, Timeout: 2 * time.Second, HTTPClient: private}}
	return newClient(t, cfg, opts...)
}

func newClient(t *testing.T, cfg whatsapp.Config, opts ...func(*whatsapp.Config)) *whatsapp.Client {
	t.Helper()
	for _, o := range opts {
		o(&cfg)
	}
	c, err := whatsapp.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func noRetries(c *whatsapp.Config) { c.Retries = -1 }

// wantError checks err is a *provider.Error of this kind, from this client, without a secret.
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
	if (pe.Provider != whatsapp.KindCloud && pe.Provider != whatsapp.KindDialog360) || pe.Step == "" {
		t.Fatalf("error does not say who and what failed: %+v", pe)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testKey) {
		t.Fatalf("the error reveals the key: %v", err)
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

func (l *logBuffer) use(c *whatsapp.Config) {
	c.Logger = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestNew(t *testing.T) {
	cloud := func(base, key, waba, phone string) whatsapp.Config {
		return whatsapp.Config{Kind: whatsapp.KindCloud, WABAID: waba, PhoneNumberID: phone, Config: provider.Config{BaseURL: base, APIKey: key}}
	}
	d360 := func(base, key string) whatsapp.Config {
		return whatsapp.Config{Kind: whatsapp.KindDialog360, Config: provider.Config{BaseURL: base, APIKey: key}}
	}
	cases := []struct {
		name     string
		cfg      whatsapp.Config
		wantBase string // "" means New must fail
	}{
		{"cloud default base URL", cloud("", testToken, testWABA, ""), whatsapp.DefaultCloudBaseURL},
		{"360dialog default base URL", d360("", testKey), whatsapp.DefaultDialog360BaseURL},
		{"trailing slash added", cloud("http://127.0.0.1:9090/v26.0", testToken, testWABA, testPhone), "http://127.0.0.1:9090/v26.0/"},
		{"360dialog needs no WABA", d360("https://waba-v2.360dialog.io", testKey), "https://waba-v2.360dialog.io/"},
		{"unknown kind", whatsapp.Config{Kind: "whatsapp", Config: provider.Config{APIKey: testToken}}, ""},
		{"no token", cloud("", "", testWABA, ""), ""},
		{"token with a space", cloud("", "Bearer abc", testWABA, ""), ""},
		{"key with a newline", d360("", "abc\ndef"), ""},
		{"no WABA", cloud("", testToken, "", ""), ""},
		{"WABA not digits", cloud("", testToken, "../me", ""), ""},
		{"phone number id not digits", cloud("", testToken, testWABA, "1/../2"), ""},
		{"relative URL", cloud("/v26.0/", testToken, testWABA, ""), ""},
		{"other scheme", cloud("ftp://graph.facebook.com/v26.0/", testToken, testWABA, ""), ""},
		{"query", cloud("https://graph.facebook.com/v26.0/?x=1", testToken, testWABA, ""), ""},
		{"credentials in the URL", d360("https://user:pw@waba-v2.360dialog.io/", testKey), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, err := whatsapp.New(c.cfg)
			if c.wantBase == "" {
				if err == nil {
					t.Fatalf("New accepted %+v", c.cfg)
				}
				if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "pw@") {
					t.Fatalf("the error reveals a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cl.BaseURL() != c.wantBase || cl.Kind() != c.cfg.Kind {
				t.Fatalf("base = %q kind = %q, want %q %q", cl.BaseURL(), cl.Kind(), c.wantBase, c.cfg.Kind)
			}
		})
	}
}

// TestDefaultClientKeepsToPublicHTTPS: without an HTTP client of its own, a client uses
// safehttp's default policy and never reaches a private address.
func TestDefaultClientKeepsToPublicHTTPS(t *testing.T) {
	a := newAPI(t)
	a.reply("GET /v26.0/"+testWABA+"/phone_numbers", 200, fixture(t, "phone_numbers_last.json"))
	c := newClient(t, whatsapp.Config{Kind: whatsapp.KindCloud, WABAID: testWABA,
		Config: provider.Config{BaseURL: a.url + "/v26.0/", APIKey: testToken}})
	err := c.CheckCredentials(ctx)
	wantError(t, err, provider.FailInvalidRequest)
	var refused *safehttp.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("want the address policy's refusal in the chain, got %v", err)
	}
	if n := len(a.requests()); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
}

func TestCheckCredentials(t *testing.T) {
	cases := []struct {
		name     string
		d360     bool
		route    string
		status   int
		fixture  string
		wantKind provider.Failure // FailInternal means no error
		auth     string           // the header the request must carry, "name: value"
	}{
		{"cloud token good", false, "GET /v26.0/" + testWABA + "/phone_numbers", 200, "phone_numbers.json", provider.FailInternal, "Authorization: Bearer " + testToken},
		{"cloud token bad (190)", false, "GET /v26.0/" + testWABA + "/phone_numbers", 401, "error_190.json", provider.FailUnauthorized, ""},
		{"cloud WABA unknown (100)", false, "GET /v26.0/" + testWABA + "/phone_numbers", 400, "error_100.json", provider.FailInvalidRequest, ""},
		{"360dialog key good", true, "GET /v1/configs/templates", 200, "dialog360_templates.json", provider.FailInternal, "D360-API-KEY: " + testKey},
		{"360dialog key bad", true, "GET /v1/configs/templates", 401, "dialog360_error_unauthorized.json", provider.FailUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			a.reply(c.route, c.status, fixture(t, c.fixture))
			cl := a.cloud(t)
			if c.d360 {
				cl = a.d360(t)
			}
			err := cl.CheckCredentials(ctx)
			if c.wantKind == provider.FailInternal {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantError(t, err, c.wantKind)
				if c.wantKind == provider.FailUnauthorized && whatsapp.ActionOf(err) != whatsapp.ActionFixCredentials {
					t.Fatalf("action = %s, want fix_credentials", whatsapp.ActionOf(err))
				}
				return
			}
			reqs := a.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			name, value, _ := strings.Cut(c.auth, ": ")
			if got := reqs[0].Header.Get(name); got != value {
				t.Fatalf("%s = %q, want %q", name, got, value)
			}
			other := "D360-API-KEY"
			if c.d360 {
				other = "Authorization"
			}
			if reqs[0].Header.Get(other) != "" {
				t.Fatalf("the request also carries %s", other)
			}
		})
	}
}

// pages serves first to a request without after and last to one whose after is the first
// page's cursor; anything else is a test failure.
func pages(t *testing.T, first, last []byte) http.HandlerFunc {
	var p struct {
		Paging struct {
			Cursors struct{ After string }
		}
	}
	if err := json.Unmarshal(first, &p); err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("after") {
		case "":
			_, _ = w.Write(first)
		case p.Paging.Cursors.After:
			_, _ = w.Write(last)
		default:
			t.Errorf("unexpected cursor %q", r.URL.Query().Get("after"))
			w.WriteHeader(400)
		}
	}
}

func TestPhoneNumbers(t *testing.T) {
	a := newAPI(t)
	a.on("GET /v26.0/"+testWABA+"/phone_numbers", pages(t, fixture(t, "phone_numbers.json"), fixture(t, "phone_numbers_last.json")))
	got, err := a.cloud(t).PhoneNumbers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []whatsapp.PhoneNumber{
		{ID: "106540352242922", DisplayPhone: "+7 999 000-00-01", VerifiedName: "Sandbox Hotels Reception", QualityRating: "GREEN"},
		{ID: "106540352242923", DisplayPhone: "+7 999 000-00-02", VerifiedName: "Sandbox Hotels Sales", QualityRating: "YELLOW"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("numbers = %+v\nwant %+v", got, want)
	}
	if s := got[0].Sender(whatsapp.KindCloud); s.ID != testPhone || s.Phone != "+79990000001" || s.Name != "Sandbox Hotels Reception" || s.Type != whatsapp.KindCloud {
		t.Fatalf("sender = %+v", s)
	}
	reqs := a.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 pages", len(reqs))
	}
	q := reqs[0].Query
	if q.Get("limit") != "100" || !strings.Contains(q.Get("fields"), "display_phone_number") || !strings.Contains(q.Get("fields"), "quality_rating") {
		t.Fatalf("first page query = %v", q)
	}
	if reqs[1].Query.Get("after") == "" || reqs[1].Query.Get("fields") != q.Get("fields") {
		t.Fatalf("second page query = %v", reqs[1].Query)
	}

	// 360dialog lists no numbers, without asking.
	_, err = a.d360(t).PhoneNumbers(ctx)
	wantError(t, err, provider.FailInvalidRequest)
	if n := len(a.requests()); n != 2 {
		t.Fatalf("360dialog PhoneNumbers made a request")
	}
}

func TestTemplates(t *testing.T) {
	a := newAPI(t)
	a.on("GET /v26.0/"+testWABA+"/message_templates", pages(t, fixture(t, "message_templates.json"), fixture(t, "message_templates_last.json")))
	a.reply("GET /v1/configs/templates", 200, fixture(t, "dialog360_templates.json"))

	got, err := a.cloud(t).Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Approved only (promo_discount is rejected), sorted by name and language.
	want := []string{"booking_welcome/en/3/UTILITY", "booking_welcome/ru/3/UTILITY", "checkin_reminder/en/1/UTILITY"}
	var names []string
	for _, tp := range got {
		names = append(names, fmt.Sprintf("%s/%s/%d/%s", tp.Name, tp.Language, tp.BodyParams, tp.Category))
		if !tp.Approved() || tp.ID == "" || !strings.Contains(tp.Body, "{{1}}") {
			t.Errorf("template %+v", tp)
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("templates = %v, want %v", names, want)
	}
	if p := got[0].Provider(); p.Name != "booking_welcome" || p.Language != "en" || !p.Approved() || p.Text != got[0].Body {
		t.Fatalf("provider template = %+v", p)
	}

	got, err = a.d360(t).Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "booking_welcome" || got[0].Status != "APPROVED" || got[0].BodyParams != 3 {
		t.Fatalf("360dialog templates = %+v", got)
	}
	for _, r := range a.requests() {
		if r.Path == "/v1/configs/templates" && (r.Query.Get("limit") != "1000" || r.Query.Get("offset") != "0") {
			t.Fatalf("360dialog query = %v", r.Query)
		}
	}
}

func TestBodyParams(t *testing.T) {
	a := newAPI(t)
	cases := map[string]int{
		"No parameters.":              0,
		"Hi {{1}}":                    1,
		"{{2}} before {{1}}":          2,
		"{{ 3 }} spaced":              3,
		"{{1}} and {{1}} again":       1,
		"{{10}} ten":                  10,
		"{{name}} is named, not {{}}": 0,
	}
	var items []string
	i := 0
	for body := range cases {
		i++
		b, _ := json.Marshal(body)
		items = append(items, fmt.Sprintf(`{"id":"%d","name":"t%d","language":"en","status":"APPROVED","category":"UTILITY","components":[{"type":"BODY","text":%s}]}`, i, i, b))
	}
	a.reply("GET /v26.0/"+testWABA+"/message_templates", 200, []byte(`{"data":[`+strings.Join(items, ",")+`]}`))
	got, err := a.cloud(t).Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d templates", len(got))
	}
	for _, tp := range got {
		if tp.BodyParams != cases[tp.Body] {
			t.Errorf("%q: %d parameters, want %d", tp.Body, tp.BodyParams, cases[tp.Body])
		}
	}
}

// TestPagingRefusesTruncatedLists: a list that cannot be read whole is an error, never a
// shorter list.
func TestPagingRefusesTruncatedLists(t *testing.T) {
	page := func(id, after, next string) []byte {
		p := map[string]any{"data": []any{map[string]any{"id": id, "display_phone_number": "+1 555 0100", "verified_name": "X", "quality_rating": "GREEN"}}}
		if after != "" || next != "" {
			pg := map[string]any{"cursors": map[string]string{"before": "b", "after": after}}
			if next != "" {
				pg["next"] = next
			}
			p["paging"] = pg
		}
		b, _ := json.Marshal(p)
		return b
	}
	cases := []struct {
		name    string
		handler func(n int, after string) []byte
		want    int    // numbers read; -1: an error
		reason  string // part of the error's reason
	}{
		{"last page has cursors but no next", func(n int, _ string) []byte { return page("1", "c1", "") }, 1, ""},
		{"cursor only in next", func(n int, after string) []byte {
			if after == "" {
				return page("1", "", "https://graph.facebook.com/v26.0/x/phone_numbers?after=from-next")
			}
			if after != "from-next" {
				return []byte(`{"data":[]}`)
			}
			return page("2", "c2", "")
		}, 2, ""},
		{"next without any cursor", func(int, string) []byte { return page("1", "", "https://graph.facebook.com/v26.0/x/phone_numbers") }, -1, "no cursor"},
		{"the same cursor again", func(n int, _ string) []byte { return page(fmt.Sprint(n), "same", "https://x/next") }, -1, "repeats a page cursor"},
		{"endless", func(n int, _ string) []byte { return page(fmt.Sprint(n), fmt.Sprint("c", n), "https://x/next") }, -1, "past 50 pages"},
		{"no data list", func(int, string) []byte { return []byte(`{"paging":{}}`) }, -1, "no data list"},
		{"data is not a list", func(int, string) []byte { return []byte(`{"data":{"id":"1"}}`) }, -1, "undecodable"},
		{"empty list", func(int, string) []byte { return []byte(`{"data":[]}`) }, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			n := 0
			a.on("GET /v26.0/"+testWABA+"/phone_numbers", func(w http.ResponseWriter, r *http.Request) {
				n++
				_, _ = w.Write(c.handler(n, r.URL.Query().Get("after")))
			})
			got, err := a.cloud(t).PhoneNumbers(ctx)
			if c.want < 0 {
				pe := wantError(t, err, provider.FailInternal)
				if !strings.Contains(pe.Error(), c.reason) {
					t.Fatalf("error %q lacks %q", pe, c.reason)
				}
				return
			}
			if err != nil || len(got) != c.want {
				t.Fatalf("got %d numbers, err %v; want %d", len(got), err, c.want)
			}
		})
	}

	// 360dialog: offset paging with a total; a server that ignores offset cannot be read whole.
	a := newAPI(t)
	a.on("GET /v1/configs/templates", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"count":1,"limit":1,"offset":0,"total":3,"waba_templates":[{"id":"a","name":"x","language":"en","status":"approved","components":[]}]}`))
	})
	_, err := a.d360(t).Templates(ctx)
	if pe := wantError(t, err, provider.FailInternal); !strings.Contains(pe.Reason, "ignores offset") {
		t.Fatalf("reason = %q", pe.Reason)
	}
	// One that pages properly is read whole.
	b := newAPI(t)
	b.on("GET /v1/configs/templates", func(w http.ResponseWriter, r *http.Request) {
		off := r.URL.Query().Get("offset")
		fmt.Fprintf(w, `{"count":1,"limit":1,"offset":%s,"total":2,"waba_templates":[{"id":"t%s","name":"n%s","language":"en","status":"APPROVED","components":[]}]}`, off, off, off)
	})
	got, err := b.d360(t).Templates(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestSend(t *testing.T) {
	type sendCase struct {
		name     string
		d360     bool
		send     func(c *whatsapp.Client) (whatsapp.Sent, error)
		path     string
		fixture  string
		wantBody string // the request body, as JSON
		want     whatsapp.Sent
	}
	cases := []sendCase{
		{"cloud text", false,
			func(c *whatsapp.Client) (whatsapp.Sent, error) {
				return c.SendText(ctx, "+7 (912) 345-67-89", "Hello, Anna!", whatsapp.CallbackData("dl_8f1e2a3b"))
			},
			"/v26.0/" + testPhone + "/messages", "send_text.json",
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"79123456789","type":"text","text":{"preview_url":false,"body":"Hello, Anna!"},"biz_opaque_callback_data":"dl_8f1e2a3b"}`,
			whatsapp.Sent{MessageID: "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBI3QjA1RTFDNkE2QUE5QjM4NjQA", WAID: "79123456789"}},
		{"cloud template from another number", false,
			func(c *whatsapp.Client) (whatsapp.Sent, error) {
				return c.SendTemplate(ctx, "79123456789", "booking_welcome", "ru", []string{"Анна", "Sandbox Hotels", "3 декабря"}, whatsapp.From("106540352242923"))
			},
			"/v26.0/106540352242923/messages", "send_template.json",
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"79123456789","type":"template","template":{"name":"booking_welcome","language":{"code":"ru"},"components":[{"type":"body","parameters":[{"type":"text","text":"Анна"},{"type":"text","text":"Sandbox Hotels"},{"type":"text","text":"3 декабря"}]}]}}`,
			whatsapp.Sent{MessageID: "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBJFRjY0QjhDNTlDNzE1QTJCMEEA", WAID: "79123456789", MessageStatus: "accepted"}},
		{"cloud template without parameters", false,
			func(c *whatsapp.Client) (whatsapp.Sent, error) {
				return c.SendTemplate(ctx, "79123456789", "hello_world", "en_US", nil)
			},
			"/v26.0/" + testPhone + "/messages", "send_template.json",
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"79123456789","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`,
			whatsapp.Sent{MessageID: "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBJFRjY0QjhDNTlDNzE1QTJCMEEA", WAID: "79123456789", MessageStatus: "accepted"}},
		{"360dialog text", true,
			func(c *whatsapp.Client) (whatsapp.Sent, error) { return c.SendText(ctx, "79123456789", "Hi") },
			"/messages", "send_text.json",
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"79123456789","type":"text","text":{"preview_url":false,"body":"Hi"}}`,
			whatsapp.Sent{MessageID: "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBI3QjA1RTFDNkE2QUE5QjM4NjQA", WAID: "79123456789"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			a.reply("POST "+c.path, 200, fixture(t, c.fixture))
			cl := a.cloud(t)
			if c.d360 {
				cl = a.d360(t)
			}
			got, err := c.send(cl)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("sent = %+v, want %+v", got, c.want)
			}
			reqs := a.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			var gotBody, wantBody any
			if err := json.Unmarshal(reqs[0].Body, &gotBody); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(c.wantBody), &wantBody)
			if g, w := fmt.Sprint(gotBody), fmt.Sprint(wantBody); g != w {
				t.Fatalf("body\n got %s\nwant %s", reqs[0].Body, c.wantBody)
			}
			if ct := reqs[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
}

// TestSendRefusedBeforeAsking: what the API would refuse is refused here, naming the problem,
// without a request.
func TestSendRefusedBeforeAsking(t *testing.T) {
	long := strings.Repeat("я", whatsapp.MaxTextLength+1)
	cases := []struct {
		name   string
		send   func(c *whatsapp.Client) error
		reason string
	}{
		{"no phone", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, " ", "x"); return err }, "phone is required"},
		{"letters in the phone", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "+7912abc4567", "x"); return err }, "only digits"},
		{"short phone", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "12345", "x"); return err }, "7 to 15 digits"},
		{"long phone", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "1234567890123456", "x"); return err }, "7 to 15 digits"},
		{"empty text", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "79123456789", " \n"); return err }, "text is required"},
		{"long text", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "79123456789", long); return err }, "longer than 4096"},
		{"NUL in text", func(c *whatsapp.Client) error { _, err := c.SendText(ctx, "79123456789", "a\x00b"); return err }, "NUL"},
		{"template name", func(c *whatsapp.Client) error {
			_, err := c.SendTemplate(ctx, "79123456789", "Booking Welcome", "en", nil)
			return err
		}, "not a template name"},
		{"language", func(c *whatsapp.Client) error {
			_, err := c.SendTemplate(ctx, "79123456789", "booking_welcome", "english", nil)
			return err
		}, "not a language code"},
		{"empty parameter", func(c *whatsapp.Client) error {
			_, err := c.SendTemplate(ctx, "79123456789", "booking_welcome", "en", []string{"Anna", " "})
			return err
		}, "{{2}} is empty"},
		{"new line in a parameter", func(c *whatsapp.Client) error {
			_, err := c.SendTemplate(ctx, "79123456789", "booking_welcome", "en", []string{"Anna\nPetrova"})
			return err
		}, "new line"},
		{"five spaces in a parameter", func(c *whatsapp.Client) error {
			_, err := c.SendTemplate(ctx, "79123456789", "booking_welcome", "en", []string{"Anna     Petrova"})
			return err
		}, "four spaces"},
		{"callback data too long", func(c *whatsapp.Client) error {
			_, err := c.SendText(ctx, "79123456789", "x", whatsapp.CallbackData(strings.Repeat("a", 513)))
			return err
		}, "callback data"},
		{"sender not digits", func(c *whatsapp.Client) error {
			_, err := c.SendText(ctx, "79123456789", "x", whatsapp.From("../waba"))
			return err
		}, "no sender"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			pe := wantError(t, c.send(a.cloud(t)), provider.FailInvalidRequest)
			if !strings.Contains(pe.Reason, c.reason) {
				t.Fatalf("reason %q lacks %q", pe.Reason, c.reason)
			}
			if n := len(a.requests()); n != 0 {
				t.Fatalf("%d requests", n)
			}
		})
	}

	// A Cloud API client without a sender cannot send.
	a := newAPI(t)
	c := a.cloud(t, func(c *whatsapp.Config) { c.PhoneNumberID = "" })
	_, err := c.SendText(ctx, "79123456789", "x")
	if pe := wantError(t, err, provider.FailInvalidRequest); !strings.Contains(pe.Reason, "no sender") {
		t.Fatalf("reason = %q", pe.Reason)
	}
}

// TestErrorCodes: every recorded error answer maps to its kind and action, whatever its HTTP
// status; a send is never repeated.
func TestErrorCodes(t *testing.T) {
	cases := []struct {
		fixture     string
		status      int
		kind        provider.Failure
		action      whatsapp.Action
		code        int
		retryAfter  time.Duration
		fallThrough bool
	}{
		{"error_190.json", 401, provider.FailUnauthorized, whatsapp.ActionFixCredentials, 190, 0, false},
		{"error_130429.json", 400, provider.FailRateLimited, whatsapp.ActionBackOff, 130429, 2 * time.Second, false},
		{"error_131056.json", 400, provider.FailRateLimited, whatsapp.ActionSlowDownRecipient, 131056, whatsapp.RecipientGap, false},
		{"error_131026.json", 400, provider.FailUnreachable, whatsapp.ActionFallThrough, 131026, 0, true},
		{"error_131047.json", 400, provider.FailUnreachable, whatsapp.ActionUseTemplate, 131047, 0, true},
		{"error_132000.json", 400, provider.FailInvalidRequest, whatsapp.ActionFixTemplate, 132000, 0, false},
		{"error_132001.json", 404, provider.FailInvalidRequest, whatsapp.ActionFixTemplate, 132001, 0, false},
		{"error_368.json", 403, provider.FailSenderBlocked, whatsapp.ActionPauseSender, 368, 0, false},
		{"error_131031.json", 403, provider.FailSenderBlocked, whatsapp.ActionPauseSender, 131031, 0, false},
		{"error_100.json", 400, provider.FailInvalidRequest, whatsapp.ActionNone, 100, 0, false},
		// The code decides, not the status: the same body with another status reads the same.
		{"error_131047.json", 500, provider.FailUnreachable, whatsapp.ActionUseTemplate, 131047, 0, true},
		{"error_368.json", 400, provider.FailSenderBlocked, whatsapp.ActionPauseSender, 368, 0, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %d", c.fixture, c.status), func(t *testing.T) {
			a := newAPI(t)
			body := fixture(t, c.fixture)
			a.reply("POST /v26.0/"+testPhone+"/messages", c.status, body)
			_, err := a.cloud(t).SendText(ctx, "79123456789", "Hello")
			pe := wantError(t, err, c.kind)
			if pe.Status != c.status || pe.RetryAfter != c.retryAfter {
				t.Fatalf("status %d retry after %s, want %d %s", pe.Status, pe.RetryAfter, c.status, c.retryAfter)
			}
			if pe.Code != fmt.Sprint(c.code) || pe.Recipient != (c.code == 131056) {
				t.Fatalf("code %q recipient %v, want %d (recipient only for 131056)", pe.Code, pe.Recipient, c.code)
			}
			ae, ok := whatsapp.AsAPIError(err)
			if !ok {
				t.Fatalf("no *APIError in %v", err)
			}
			var env struct {
				Error struct {
					Message   string `json:"message"`
					FBTraceID string `json:"fbtrace_id"`
				} `json:"error"`
			}
			_ = json.Unmarshal(body, &env)
			if ae.Code != c.code || ae.Action != c.action || ae.TraceID != env.Error.FBTraceID || ae.Title != env.Error.Message {
				t.Fatalf("api error = %+v", ae)
			}
			if whatsapp.ActionOf(err) != c.action || whatsapp.FallThrough(err) != c.fallThrough || ae.FallThrough() != c.fallThrough {
				t.Fatalf("action %s fall through %v", whatsapp.ActionOf(err), whatsapp.FallThrough(err))
			}
			if !strings.Contains(err.Error(), env.Error.Message) || !strings.Contains(err.Error(), fmt.Sprint(c.code)) {
				t.Fatalf("the error does not name the provider's reason and code: %v", err)
			}
			if c.action != whatsapp.ActionNone && !strings.Contains(err.Error(), "(") {
				t.Fatalf("the error does not say what to do: %v", err)
			}
			if cls, ok := whatsapp.Classify(c.code); !ok || cls.Kind != c.kind || cls.Action != c.action {
				t.Fatalf("Classify(%d) = %+v %v", c.code, cls, ok)
			}
			if n := len(a.requests()); n != 1 {
				t.Fatalf("the send was made %d times", n)
			}
		})
	}
}

// TestAnswersThatAreNotTheAPIs: pages, empty and cut-off bodies, unknown codes.
func TestAnswersThatAreNotTheAPIs(t *testing.T) {
	html := fixture(t, "error_server.html")
	cases := []struct {
		name        string
		send        bool // POST messages rather than GET phone_numbers
		status      int
		body        []byte
		header      map[string]string
		kind        provider.Failure // FailInternal with ok: no error
		ok          bool
		reason      string
		wantReqs    int
		wantLogged  string
		wantMessage string // ok sends: the message id
	}{
		{name: "HTML 502 on a list: retried", status: 502, body: html, header: map[string]string{"Content-Type": "text/html"},
			kind: provider.FailUnavailable, reason: "unexpected HTML answer", wantReqs: 3},
		{name: "HTML 502 on a send: not retried", send: true, status: 502, body: html, header: map[string]string{"Content-Type": "text/html"},
			kind: provider.FailUnavailable, reason: "unexpected HTML answer", wantReqs: 1},
		{name: "HTML 404: wrong base URL", status: 404, body: []byte("<html>Not Found</html>"), kind: provider.FailNotFound, reason: "unexpected HTML answer", wantReqs: 1},
		{name: "empty 200 on a list", status: 200, body: nil, kind: provider.FailInternal, reason: "empty answer", wantReqs: 1},
		{name: "cut-off 200 on a list", status: 200, body: fixture(t, "phone_numbers.json")[:60], kind: provider.FailInternal, reason: "undecodable", wantReqs: 1},
		{name: "cut-off error body", status: 400, body: fixture(t, "error_131047.json")[:50], kind: provider.FailInvalidRequest, wantReqs: 1},
		{name: "empty 401", status: 401, body: nil, kind: provider.FailUnauthorized, reason: "Unauthorized", wantReqs: 1},
		{name: "429 without an envelope", status: 429, body: []byte("slow down"), header: map[string]string{"Retry-After": "7"},
			kind: provider.FailRateLimited, reason: "slow down", wantReqs: 1},
		{name: "an error envelope with 200", status: 200, body: fixture(t, "error_190.json"), kind: provider.FailUnauthorized, wantReqs: 1},
		{name: "an unknown code", send: true, status: 400, body: []byte(`{"error":{"message":"(#999999) Something new","type":"OAuthException","code":999999,"fbtrace_id":"x"}}`),
			kind: provider.FailInvalidRequest, reason: "Something new", wantReqs: 1, wantLogged: "999999"},
		{name: "an unknown code with 503", status: 503, body: []byte(`{"error":{"message":"(#999998) Busy","code":999998}}`),
			kind: provider.FailUnavailable, reason: "Busy", wantReqs: 3},
		{name: "empty 200 on a send: accepted", send: true, status: 200, body: nil, ok: true, wantReqs: 1, wantLogged: "no message id"},
		{name: "cut-off 200 on a send: accepted", send: true, status: 200, body: fixture(t, "send_text.json")[:70], ok: true, wantReqs: 1, wantLogged: "no message id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t)
			handler := func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write(c.body)
			}
			a.on("POST /v26.0/"+testPhone+"/messages", handler)
			a.on("GET /v26.0/"+testWABA+"/phone_numbers", handler)
			var logs logBuffer
			cl := a.cloud(t, logs.use, func(c *whatsapp.Config) { c.Timeout = time.Second })
			var err error
			var sent whatsapp.Sent
			if c.send {
				sent, err = cl.SendText(ctx, "79123456789", "Hello")
			} else {
				_, err = cl.PhoneNumbers(ctx)
			}
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if sent.MessageID != c.wantMessage {
					t.Fatalf("message id %q", sent.MessageID)
				}
			} else {
				pe := wantError(t, err, c.kind)
				if !strings.Contains(pe.Reason, c.reason) {
					t.Fatalf("reason %q lacks %q", pe.Reason, c.reason)
				}
				if strings.Contains(pe.Error(), "<html") || strings.Contains(pe.Error(), "<center>") {
					t.Fatalf("a page in the error: %v", pe)
				}
				if c.kind == provider.FailRateLimited && pe.RetryAfter != 7*time.Second {
					t.Fatalf("retry after %s", pe.RetryAfter)
				}
				if c.status == 404 && !strings.Contains(pe.Error(), "check the base URL") {
					t.Fatalf("a 404 page does not point at the base URL: %v", pe)
				}
			}
			if n := len(a.requests()); n != c.wantReqs {
				t.Fatalf("%d requests, want %d", n, c.wantReqs)
			}
			if !strings.Contains(logs.String(), c.wantLogged) {
				t.Fatalf("log lacks %q:\n%s", c.wantLogged, logs.String())
			}
		})
	}
}

func TestRetries(t *testing.T) {
	// A GET is retried on 5xx, and its success counts.
	a := newAPI(t)
	n := 0
	a.on("GET /v26.0/"+testWABA+"/phone_numbers", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n < 3 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write(fixture(t, "phone_numbers_last.json"))
	})
	if got, err := a.cloud(t).PhoneNumbers(ctx); err != nil || len(got) != 1 || n != 3 {
		t.Fatalf("got %v, %v after %d attempts", got, err, n)
	}
	// With retries off it is not.
	n = 0
	_, err := a.cloud(t, noRetries).PhoneNumbers(ctx)
	wantError(t, err, provider.FailUnavailable)
	if n != 1 {
		t.Fatalf("%d attempts with retries off", n)
	}

	// Each attempt has its own timeout; a send that times out is not repeated.
	slow := newAPI(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	wait := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	slow.on("POST /v26.0/"+testPhone+"/messages", wait)
	slow.on("GET /v26.0/"+testWABA+"/phone_numbers", wait)
	short := func(c *whatsapp.Config) { c.Timeout = 100 * time.Millisecond }
	start := time.Now()
	_, err = slow.cloud(t, short).SendText(ctx, "79123456789", "Hello")
	if pe := wantError(t, err, provider.FailUnavailable); !strings.Contains(pe.Reason, "no answer within") {
		t.Fatalf("reason = %q", pe.Reason)
	}
	if len(slow.requests()) != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("%d requests in %s", len(slow.requests()), time.Since(start))
	}
	_, err = slow.cloud(t, short).PhoneNumbers(ctx)
	wantError(t, err, provider.FailUnavailable)
	if got := len(slow.requests()); got != 4 {
		t.Fatalf("%d requests, want 1 send and 3 list attempts", got)
	}

	// A cancelled context ends it at once and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = slow.cloud(t).PhoneNumbers(cctx)
	if pe := wantError(t, err, provider.FailUnavailable); pe.Reason != "cancelled" {
		t.Fatalf("reason = %q", pe.Reason)
	}
}

// TestKeyNeverInErrors: a provider that echoes the key gets it back as [redacted], in errors
// and in logs.
func TestKeyNeverInErrors(t *testing.T) {
	for _, key := range []string{testToken, "k/with+odd=chars&more"} {
		echo := func(w http.ResponseWriter, r *http.Request) {
			k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if k == "" {
				k = r.Header.Get("D360-API-KEY")
			}
			j, _ := json.Marshal(k)
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":{"message":"bad key %s","type":%s,"code":999997,"error_data":{"details":"key=%s %s"},"fbtrace_id":%s}}`,
				k, j, url.QueryEscape(k), strings.Trim(string(j), `"`), j)
		}
		a := newAPI(t)
		a.on("POST /v26.0/"+testPhone+"/messages", echo)
		a.on("POST /messages", echo)
		a.on("GET /v26.0/"+testWABA+"/phone_numbers", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprintf(w, "<html>upstream said %s</html>", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		})
		var logs logBuffer
		withKey := func(c *whatsapp.Config) { c.APIKey = key }
		for _, cl := range []*whatsapp.Client{a.cloud(t, withKey, logs.use), a.d360(t, withKey, logs.use)} {
			_, err := cl.SendText(ctx, "79123456789", "Hello")
			if err == nil || strings.Contains(err.Error(), key) || strings.Contains(err.Error(), url.QueryEscape(key)) {
				t.Fatalf("%s: error reveals the key: %v", cl.Kind(), err)
			}
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Fatalf("%s: the echo was not redacted but dropped? %v", cl.Kind(), err)
			}
		}
		_, err := a.cloud(t, withKey, logs.use).PhoneNumbers(ctx)
		if err == nil || strings.Contains(err.Error(), key) {
			t.Fatalf("error reveals the key: %v", err)
		}
		if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), url.QueryEscape(key)) {
			t.Fatalf("the log reveals the key:\n%s", logs.String())
		}
	}
}

// Test360Webhook: the 360dialog callback URL is read and set through the API; the Cloud API's
// is not the API's to set.
func Test360Webhook(t *testing.T) {
	a := newAPI(t)
	var set []byte
	a.on("POST /v1/configs/webhook", func(w http.ResponseWriter, r *http.Request) {
		set, _ = io.ReadAll(r.Body)
		_, _ = w.Write(fixture(t, "dialog360_webhook.json"))
	})
	a.reply("GET /v1/configs/webhook", 200, fixture(t, "dialog360_webhook.json"))
	c := a.d360(t)
	if err := c.SetWebhook(ctx, "https://bellhop.example.com/webhooks/dialog360/1042", map[string]string{"X-Bellhop-Secret": "s3"}); err != nil {
		t.Fatal(err)
	}
	if string(set) != `{"url":"https://bellhop.example.com/webhooks/dialog360/1042","headers":{"X-Bellhop-Secret":"s3"}}` {
		t.Fatalf("body = %s", set)
	}
	u, ok, err := c.Webhook(ctx)
	if err != nil || !ok || u != "https://bellhop.example.com/webhooks/dialog360/1042" {
		t.Fatalf("webhook = %q %v %v", u, ok, err)
	}
	if err := c.SetWebhook(ctx, "not a url", nil); err == nil {
		t.Fatal("a relative URL was set")
	}

	none := newAPI(t)
	none.reply("GET /v1/configs/webhook", 200, []byte(`{"url":""}`))
	if _, ok, err := none.d360(t).Webhook(ctx); ok || err != nil {
		t.Fatalf("no webhook: ok %v err %v", ok, err)
	}

	cloud := a.cloud(t)
	wantError(t, cloud.SetWebhook(ctx, "https://bellhop.example.com/x", nil), provider.FailInvalidRequest)
	_, _, err = cloud.Webhook(ctx)
	wantError(t, err, provider.FailInvalidRequest)
}
