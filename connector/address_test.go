package connector_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// memStore keeps one property's integrations in memory.
type memStore struct {
	mu  sync.Mutex
	ins map[string]*bellhop.Integration
}

func (m *memStore) GetProperty(_ context.Context, id string) (*bellhop.Property, error) {
	return &bellhop.Property{ID: id, ContactCenter: true, TimeZone: "UTC"}, nil
}

func (m *memStore) GetIntegration(_ context.Context, pid, kind string) (*bellhop.Integration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, ok := m.ins[pid+"/"+kind]
	if !ok {
		return nil, bellhop.Errorf(bellhop.ENotFound, "no integration")
	}
	c := *in
	return &c, nil
}

func (m *memStore) SaveIntegration(_ context.Context, in *bellhop.Integration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *in
	m.ins[in.PropertyID+"/"+in.Provider] = &c
	return nil
}

func (m *memStore) ListIntegrations(context.Context, string) ([]*bellhop.Integration, error) {
	return nil, nil
}

func (m *memStore) NoteUnreadableCallback(context.Context, string, string, string, time.Time) error {
	return nil
}

func newService(t *testing.T, addresses safehttp.Policy) *connector.Service {
	t.Helper()
	sealer, err := connector.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := connector.New(connector.Config{
		Store: &memStore{ins: map[string]*bellhop.Integration{}}, Sealer: sealer, Addresses: addresses,
		ProviderTimeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Kinds: noRetries(intellectdialog.Channel()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noRetries registers kinds whose clients never retry, so a test sees each request once.
func noRetries(kinds ...provider.Kind) *provider.Registry {
	for i := range kinds {
		open := kinds[i].Open
		kinds[i].Open = func(c provider.Config) (provider.Client, error) { c.Retries = -1; return open(c) }
	}
	return provider.NewRegistry(kinds...)
}

func fieldOf(err error) string {
	if e, ok := err.(*bellhop.Error); ok && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}

func TestSetKeyRefusesPrivateAddresses(t *testing.T) {
	ctx := context.Background()
	strict := newService(t, safehttp.Policy{})
	for _, base := range []string{
		"http://127.0.0.1:1/", "https://127.0.0.1:8443/", "http://169.254.169.254/latest/", "https://169.254.169.254/latest/",
		"https://10.0.0.5/v2/", "https://[::1]/", "https://localhost/v2/", "https://metadata.google.internal/",
		"http://api.intellectdialog.com/v2/",
	} {
		_, err := strict.SetKey(ctx, "p", intellectdialog.Kind, connector.KeyInput{APIKey: "some-key", BaseURL: base})
		if bellhop.ErrorCode(err) != bellhop.EInvalid || fieldOf(err) != "base_url" {
			t.Errorf("SetKey base_url %s = %v, want invalid_input naming base_url", base, err)
			continue
		}
		if msg := bellhop.ErrorMessage(err); !strings.Contains(msg, "https://") || !strings.Contains(msg, "BELLHOP_ALLOW_PRIVATE_PROVIDERS") {
			t.Errorf("SetKey base_url %s message %q: want it to say what is allowed and how to allow more", base, msg)
		}
	}
	if _, err := strict.SetKey(ctx, "p", intellectdialog.Kind, connector.KeyInput{APIKey: "some-key", BaseURL: "https://api.intellectdialog.com/v2/"}); err != nil {
		t.Errorf("public https base_url: %v", err)
	}
	open := newService(t, safehttp.Policy{AllowPrivate: true})
	if _, err := open.SetKey(ctx, "p", intellectdialog.Kind, connector.KeyInput{APIKey: "some-key", BaseURL: "http://127.0.0.1:1/"}); err != nil {
		t.Errorf("with private providers allowed: %v", err)
	}
}

// An integration saved while the flag was on (or before the policy) is not called once it is
// off: the check is refused before any connection, naming base_url.
func TestCheckRefusesSavedPrivateAddress(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	st := &memStore{ins: map[string]*bellhop.Integration{}}
	sealer, _ := connector.NewSealer(bytes.Repeat([]byte{7}, 32))
	cfg := connector.Config{Store: st, Sealer: sealer, Addresses: safehttp.Policy{AllowPrivate: true}, Logger: slog.New(slog.DiscardHandler),
		Kinds: noRetries(intellectdialog.Channel())}
	before, _ := connector.New(cfg)
	if _, err := before.SetKey(ctx, "p", intellectdialog.Kind, connector.KeyInput{APIKey: "some-key", BaseURL: srv.URL + "/v2/"}); err != nil {
		t.Fatal(err)
	}
	cfg.Addresses = safehttp.Policy{}
	after, _ := connector.New(cfg)
	_, err := after.Check(ctx, "p", intellectdialog.Kind)
	if bellhop.ErrorCode(err) != bellhop.EInvalid || fieldOf(err) != "base_url" || !strings.Contains(bellhop.ErrorMessage(err), "plain http") {
		t.Fatalf("Check of a plain http loopback address = %v, want invalid_input naming base_url", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests", n)
	}

	// With the flag on, a server that is not the API says so without echoing its page.
	_, err = before.Check(ctx, "p", intellectdialog.Kind)
	msg := bellhop.ErrorMessage(err)
	if bellhop.ErrorCode(err) != bellhop.EInvalid || fieldOf(err) != "base_url" || strings.Contains(msg, "page not found") {
		t.Fatalf("Check of a server without the API = %v, want invalid_input naming base_url, no echo", err)
	}
}

// A provider's refusal reaches people as a short, clean reason, never its whole answer.
func TestProviderReasonIsShortAndClean(t *testing.T) {
	ctx := context.Background()
	long := "bad request:\x1b[31m " + strings.Repeat("<tr><td>stack frame</td></tr>\n", 50)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(long))
	}))
	defer srv.Close()
	s := newService(t, safehttp.Policy{AllowPrivate: true})
	if _, err := s.SetKey(ctx, "p", intellectdialog.Kind, connector.KeyInput{APIKey: "some-key", BaseURL: srv.URL + "/v2/"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Check(ctx, "p", intellectdialog.Kind)
	msg := bellhop.ErrorMessage(err)
	if bellhop.ErrorCode(err) != bellhop.EInvalid {
		t.Fatalf("Check = %v, want invalid_input", err)
	}
	if utf8.RuneCountInString(msg) > 200 || strings.ContainsAny(msg, "\x1b\n") {
		t.Errorf("message %q: want at most 200 characters and no control characters", msg)
	}
}
