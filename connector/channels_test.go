package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/channels"
	"github.com/bellhop/bellhop/provider/email"
	mailsandbox "github.com/bellhop/bellhop/provider/email/sandbox"
	"github.com/bellhop/bellhop/provider/safehttp"
	"github.com/bellhop/bellhop/provider/whatsapp"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// channelService is a connector over every kind Bellhop ships, private addresses allowed (the
// sandboxes listen on loopback), callbacks reported to reports.
func channelService(t *testing.T, publicURL string, reports *[]provider.StatusEvent) (*connector.Service, *memStore) {
	t.Helper()
	st := &memStore{ins: map[string]*bellhop.Integration{}}
	sealer, err := connector.NewSealer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := connector.New(connector.Config{
		Store: st, Sealer: sealer, Addresses: safehttp.Policy{AllowPrivate: true}, Kinds: channels.Registry(),
		ProviderTimeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler), PublicURL: publicURL,
		Report: func(_ context.Context, _, _ string, ev provider.StatusEvent) (bool, error) {
			if reports != nil {
				*reports = append(*reports, ev)
			}
			return true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// a channel under test: the credentials that work, a wrong one, and how to make its service
// unreachable.
type channelCase struct {
	kind        string
	good        connector.CredentialsInput
	wrong       connector.CredentialsInput // one credential changed
	wrongField  string                     // the field the check must name
	unreachable func()
	// senders the check lists; auto says the account's one sender is chosen by itself.
	senders int
	auto    bool
}

func channelCases(t *testing.T) []channelCase {
	whatsappSandbox := func() (*wasandbox.Server, *httptest.Server) {
		wa := wasandbox.New(wasandbox.Config{})
		srv := httptest.NewServer(wa)
		t.Cleanup(srv.Close)
		t.Cleanup(wa.Close)
		return wa, srv
	}
	wa, srv := whatsappSandbox()
	wa360, srv360 := whatsappSandbox()
	mail, err := mailsandbox.Start(mailsandbox.Config{Mode: mailsandbox.ModePlain, AllowInsecureAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.Close() })
	user, pass := mail.Credentials()
	mailCreds := connector.CredentialsInput{"host": mail.Host(), "port": "0", "security": "none", "username": user,
		"password": pass, "from_address": "reception@aurora-hotel.example", "from_name": "Hotel Aurora"}
	mailCreds["port"] = strings.TrimPrefix(mail.Addr()[strings.LastIndex(mail.Addr(), ":"):], ":")
	wrongMail := connector.CredentialsInput{"password": "not-the-password"}
	return []channelCase{
		{kind: whatsapp.KindCloud,
			good: connector.CredentialsInput{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
				"app_secret": wasandbox.DefaultAppSecret, "base_url": wasandbox.CloudBaseURL(srv.URL)},
			wrong: connector.CredentialsInput{"access_token": "EAAnot-the-token"}, wrongField: "access_token",
			unreachable: func() { wa.SetOutage(http.StatusServiceUnavailable) }, senders: 2},
		{kind: whatsapp.KindDialog360,
			good:  connector.CredentialsInput{"api_key": wasandbox.DefaultAPIKey360, "base_url": wasandbox.Dialog360BaseURL(srv360.URL)},
			wrong: connector.CredentialsInput{"api_key": "not-the-360-key"}, wrongField: "api_key",
			unreachable: func() { wa360.SetOutage(http.StatusServiceUnavailable) }, senders: 1, auto: true},
		{kind: email.Kind, good: mailCreds, wrong: wrongMail, wrongField: "password",
			unreachable: func() { _ = mail.Close() }, senders: 1, auto: true},
	}
}

// TestCheckTellsAWrongCredentialFromAnUnreachableService: for each kind, the right credentials
// verify and list the senders (an account that is its one sender is chosen by itself); an
// unreachable service is provider_unavailable and leaves the integration as it was; a wrong
// credential is invalid_api_key naming that credential in plain words, and marks it invalid.
// No answer ever carries a secret.
func TestCheckTellsAWrongCredentialFromAnUnreachableService(t *testing.T) {
	ctx := context.Background()
	for _, c := range channelCases(t) {
		t.Run(c.kind, func(t *testing.T) {
			s, st := channelService(t, "", nil)
			v, err := s.SetCredentials(ctx, "p", c.kind, c.good)
			if err != nil {
				t.Fatalf("save: %v", err)
			}
			if !v.Configured || v.Status != bellhop.StatusUnverified {
				t.Fatalf("after save: configured %v status %s", v.Configured, v.Status)
			}
			res, err := s.Check(ctx, "p", c.kind)
			if err != nil {
				t.Fatalf("check with the right credentials: %v", err)
			}
			if res.Status != bellhop.StatusVerified || len(res.Senders) != c.senders || (res.Sender != nil) != c.auto {
				t.Fatalf("check: status %s, %d senders, chosen %v", res.Status, len(res.Senders), res.Sender)
			}
			noSecrets(t, res, c.good, c.kind)

			c.unreachable()
			_, err = s.Check(ctx, "p", c.kind)
			if bellhop.ErrorCode(err) != bellhop.EProviderUnavailable || !strings.Contains(bellhop.ErrorMessage(err), "try again") {
				t.Fatalf("check of an unreachable service = %v, want provider_unavailable saying to try again", err)
			}
			if in, _ := st.GetIntegration(ctx, "p", c.kind); in.Status != bellhop.StatusVerified || in.StatusReason != "" {
				t.Fatalf("an unreachable service changed the integration: %s %q", in.Status, in.StatusReason)
			}
		})
	}
	for _, c := range channelCases(t) {
		t.Run(c.kind+" wrong credential", func(t *testing.T) {
			s, st := channelService(t, "", nil)
			if _, err := s.SetCredentials(ctx, "p", c.kind, c.good); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetCredentials(ctx, "p", c.kind, c.wrong); err != nil {
				t.Fatalf("save the wrong credential alone (the rest kept): %v", err)
			}
			_, err := s.Check(ctx, "p", c.kind)
			var be *bellhop.Error
			if bellhop.ErrorCode(err) != bellhop.EInvalidAPIKey || !asError(err, &be) || len(be.Fields) == 0 || be.Fields[0].Field != c.wrongField {
				t.Fatalf("check with a wrong %s = %v, want invalid_api_key naming it", c.wrongField, err)
			}
			k, _ := channels.Registry().Get(c.kind)
			f, _ := k.Field(c.wrongField)
			if msg := bellhop.ErrorMessage(err); !strings.Contains(strings.ToLower(msg), strings.ToLower(f.Label)) {
				t.Errorf("message %q does not name the %s", msg, f.Label)
			}
			if in, _ := st.GetIntegration(ctx, "p", c.kind); in.Status != bellhop.StatusInvalid {
				t.Errorf("status %s after a rejected credential, want invalid", in.Status)
			}
			noSecrets(t, err.Error(), c.wrong, c.kind)
		})
	}
}

func asError(err error, target **bellhop.Error) bool {
	e, ok := err.(*bellhop.Error)
	*target = e
	return ok
}

// noSecrets fails when v, as JSON, holds any secret field's value of creds.
func noSecrets(t *testing.T, v any, creds connector.CredentialsInput, kind string) {
	t.Helper()
	b, _ := json.Marshal(v)
	k, _ := channels.Registry().Get(kind)
	for _, f := range k.Fields {
		if f.Secret && creds[f.Name] != "" && bytes.Contains(b, []byte(creds[f.Name])) {
			t.Errorf("%s shows up in %s", f.Name, b)
		}
	}
}

// TestSetCredentialsValidatesAgainstTheKind: unknown fields and missing ones are 422 naming each;
// the kind's own rules name their field; a secret left out keeps its value; the same values
// again change nothing, another value makes the integration unverified.
func TestSetCredentialsValidatesAgainstTheKind(t *testing.T) {
	ctx := context.Background()
	s, st := channelService(t, "https://bellhop.example.com", nil)
	_, err := s.SetCredentials(ctx, "p", whatsapp.KindCloud, connector.CredentialsInput{"access_token": "EAAx", "token": "x"})
	for _, f := range []string{"token", "waba_id", "app_secret"} {
		if !namesField(err, f) {
			t.Errorf("%v does not name %s", err, f)
		}
	}
	_, err = s.SetCredentials(ctx, "p", whatsapp.KindCloud, connector.CredentialsInput{"access_token": "EAAx", "waba_id": "my-waba", "app_secret": "s"})
	if !namesField(err, "waba_id") {
		t.Errorf("a WABA id that is not digits: %v", err)
	}
	_, err = s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"host": "https://smtp.example.com", "from_address": "reception", "security": "ssl"})
	for _, f := range []string{"security"} {
		if !namesField(err, f) {
			t.Errorf("%v does not name %s", err, f)
		}
	}
	_, err = s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"host": "https://smtp.example.com", "from_address": "reception"})
	for _, f := range []string{"host", "from_address"} {
		if !namesField(err, f) {
			t.Errorf("%v does not name %s", err, f)
		}
	}
	if _, err := s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"base_url": "https://x.example/"}); !namesField(err, "base_url") {
		t.Errorf("email takes no base_url: %v", err)
	}

	good := connector.CredentialsInput{"host": "smtp.example.com", "port": "587", "security": "starttls", "username": "u",
		"password": "a-password", "from_address": "reception@hotel.example"}
	v, err := s.SetCredentials(ctx, "p", email.Kind, good)
	if err != nil {
		t.Fatal(err)
	}
	if v.Hints["password"] == "" || v.Settings["host"] != "smtp.example.com" || v.Callback != nil {
		t.Fatalf("view: hints %v settings %v callback %v", v.Hints, v.Settings, v.Callback)
	}
	in, _ := st.GetIntegration(ctx, "p", email.Kind)
	if bytes.Contains(in.SealedCredentials, []byte("a-password")) || in.Settings["password"] != "" {
		t.Fatal("the password is stored in clear")
	}
	in.Status = bellhop.StatusVerified
	_ = st.SaveIntegration(ctx, in)
	if v, err = s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"host": "smtp.example.com"}); err != nil || v.Status != bellhop.StatusVerified {
		t.Fatalf("the same host again: %v, status %v", err, v.Status)
	}
	v, err = s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"from_name": "Hotel Aurora", "password": ""})
	if err != nil || v.Status != bellhop.StatusUnverified || v.Hints["password"] == "" {
		t.Fatalf("a new name keeps the password and needs a check: %v, %+v", err, v)
	}

	// Cloud API: the view shows the callback URL and verify token to paste into Meta's app.
	v, err = s.SetCredentials(ctx, "p", whatsapp.KindCloud, connector.CredentialsInput{"access_token": "EAAtoken-0123456789abcdef",
		"waba_id": "102290129340398", "app_secret": "app-secret-0123"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Callback == nil || v.Callback.URL != "https://bellhop.example.com/webhooks/whatsapp_cloud/p" || len(v.Callback.VerifyToken) < 32 {
		t.Fatalf("callback setup %+v", v.Callback)
	}
	if v.Hints["access_token"] != "…cdef" || v.Hints["app_secret"] != "…" {
		t.Errorf("hints %v", v.Hints)
	}
}

func namesField(err error, name string) bool {
	e, ok := err.(*bellhop.Error)
	if !ok || (e.Code != bellhop.EInvalid) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == name {
			return true
		}
	}
	return false
}

// TestForgedCallbacksAreRefused: each kind's callbacks are authenticated its way, and a forged
// one is refused before anything is read or reported.
func TestForgedCallbacksAreRefused(t *testing.T) {
	ctx := context.Background()
	var reports []provider.StatusEvent
	s, st := channelService(t, "https://bellhop.example.com", &reports)
	body, err := os.ReadFile(filepath.Join("..", "provider", "whatsapp", "testdata", "webhook_status_failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SetCredentials(ctx, "p", whatsapp.KindCloud, connector.CredentialsInput{"access_token": "EAAtoken-0123456789abcdef",
		"waba_id": "102290129340398", "app_secret": "app-secret"})
	if err != nil {
		t.Fatal(err)
	}
	token := v.Callback.VerifyToken
	post := func(kind string, h http.Header, q url.Values, b []byte) (*connector.CallbackResult, error) {
		return s.HandleCallback(ctx, "p", kind, connector.Callback{Method: http.MethodPost, Header: h, Query: q, Body: b})
	}
	signed := http.Header{whatsapp.SignatureHeader: {whatsapp.Sign(body, "app-secret")}}
	for name, h := range map[string]http.Header{
		"unsigned":                  {},
		"wrong secret":              {whatsapp.SignatureHeader: {whatsapp.Sign(body, "another-secret")}},
		"signature of another body": {whatsapp.SignatureHeader: {whatsapp.Sign(append([]byte(" "), body...), "app-secret")}},
	} {
		if _, err := post(whatsapp.KindCloud, h, nil, body); bellhop.ErrorCode(err) != bellhop.EUnauthorized {
			t.Errorf("cloud, %s: %v, want unauthorized", name, err)
		}
	}
	if len(reports) != 0 {
		t.Fatalf("forged callbacks reported %d events", len(reports))
	}
	res, err := post(whatsapp.KindCloud, signed, nil, body)
	if err != nil || res.Events != 1 || len(reports) != 1 {
		t.Fatalf("a signed callback: %+v %v, %d reports", res, err, len(reports))
	}
	if ev := reports[0]; ev.Status != "failed" || ev.Code != "131026" || !ev.FallThrough {
		t.Errorf("the failed status reads %+v, want code 131026 falling through", ev)
	}

	// Meta's subscription check: the verify token is the integration's webhook secret.
	get := func(tok string) (*connector.CallbackResult, error) {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tok}, "hub.challenge": {"1158201444"}}
		return s.HandleCallback(ctx, "p", whatsapp.KindCloud, connector.Callback{Method: http.MethodGet, Query: q})
	}
	if _, err := get("guess"); bellhop.ErrorCode(err) != bellhop.EForbidden {
		t.Errorf("a wrong verify token: %v, want forbidden", err)
	}
	if res, err := get(token); err != nil || res.Challenge != "1158201444" {
		t.Errorf("the right verify token: %+v %v", res, err)
	}

	// 360dialog: the secret header Bellhop set with the webhook.
	if _, err := s.SetCredentials(ctx, "p", whatsapp.KindDialog360, connector.CredentialsInput{"api_key": "d360-key"}); err != nil {
		t.Fatal(err)
	}
	in, _ := st.GetIntegration(ctx, "p", whatsapp.KindDialog360)
	secret, _ := s.WebhookSecret(in)
	if _, err := post(whatsapp.KindDialog360, http.Header{whatsapp.SecretHeader: {"guess"}}, url.Values{"secret": {secret}}, body); bellhop.ErrorCode(err) != bellhop.EUnauthorized {
		t.Errorf("360dialog with a wrong header (even with the secret in the URL): %v, want unauthorized", err)
	}
	if _, err := post(whatsapp.KindDialog360, http.Header{whatsapp.SecretHeader: {secret}}, nil, body); err != nil {
		t.Errorf("360dialog with its header: %v", err)
	}

	// IntellectDialog: the secret in the URL; a wrong one is an unknown URL.
	if _, err := s.SetCredentials(ctx, "p", "intellectdialog", connector.CredentialsInput{"api_key": "id-key-0123456789"}); err != nil {
		t.Fatal(err)
	}
	in, _ = st.GetIntegration(ctx, "p", "intellectdialog")
	secret, _ = s.WebhookSecret(in)
	idBody := []byte(`{"event":"new_status","data":{"mark":"d1","status":"delivered"}}`)
	if _, err := post("intellectdialog", nil, url.Values{"secret": {"wrong"}}, idBody); bellhop.ErrorCode(err) != bellhop.ENotFound {
		t.Errorf("intellectdialog with a wrong URL secret: %v, want not_found", err)
	}
	n := len(reports)
	if _, err := post("intellectdialog", nil, url.Values{"secret": {secret}}, idBody); err != nil || len(reports) != n+1 {
		t.Errorf("intellectdialog with its secret: %v, %d reports", err, len(reports)-n)
	}
	// Email has no callbacks at all.
	if _, err := post(email.Kind, nil, nil, idBody); bellhop.ErrorCode(err) != bellhop.ENotFound {
		t.Errorf("email callback: %v, want not_found", err)
	}
}

// TestCallbackWhoseNewsCannotBeStoredIsRetried: when the database cannot take a callback's
// news, the callback is answered with that error (503 for a storage blip), so the provider
// sends it again and nothing is lost; a body no parser reads is kept and acknowledged.
func TestCallbackWhoseNewsCannotBeStoredIsRetried(t *testing.T) {
	ctx := context.Background()
	st := &memStore{ins: map[string]*bellhop.Integration{}}
	sealer, _ := connector.NewSealer(bytes.Repeat([]byte{9}, 32))
	fail := true
	s, err := connector.New(connector.Config{Store: st, Sealer: sealer, Kinds: channels.Registry(), Logger: slog.New(slog.DiscardHandler),
		PublicURL: "https://bellhop.example.com",
		Report: func(context.Context, string, string, provider.StatusEvent) (bool, error) {
			if fail {
				return false, bellhop.Errorf(bellhop.EUnavailable, "the database is unavailable")
			}
			return true, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCredentials(ctx, "p", whatsapp.KindCloud, connector.CredentialsInput{"access_token": "EAAtoken",
		"waba_id": "102290129340398", "app_secret": "app-secret"}); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(filepath.Join("..", "provider", "whatsapp", "testdata", "webhook_status.json"))
	cb := connector.Callback{Method: http.MethodPost, Header: http.Header{whatsapp.SignatureHeader: {whatsapp.Sign(body, "app-secret")}}, Body: body}
	if _, err := s.HandleCallback(ctx, "p", whatsapp.KindCloud, cb); bellhop.ErrorCode(err) != bellhop.EUnavailable {
		t.Fatalf("news the database could not take: %v, want unavailable (the provider retries)", err)
	}
	fail = false
	if res, err := s.HandleCallback(ctx, "p", whatsapp.KindCloud, cb); err != nil || res.Changed != res.Events || res.Events == 0 {
		t.Fatalf("the retry: %+v %v", res, err)
	}
	junk := []byte(`{"object":"page","entry":[]}`)
	cb = connector.Callback{Method: http.MethodPost, Header: http.Header{whatsapp.SignatureHeader: {whatsapp.Sign(junk, "app-secret")}}, Body: junk}
	if res, err := s.HandleCallback(ctx, "p", whatsapp.KindCloud, cb); err != nil || res.Read {
		t.Fatalf("an unreadable callback: %+v %v, want acknowledged unread", res, err)
	}
}

// TestMailAccountIsItsOwnSender: the check chooses the account's one sender, its from address;
// another from address is another sender, chosen at the next check.
func TestMailAccountIsItsOwnSender(t *testing.T) {
	ctx := context.Background()
	var mail channelCase
	for _, c := range channelCases(t) {
		if c.kind == email.Kind {
			mail = c
		}
	}
	s, _ := channelService(t, "", nil)
	if _, err := s.SetCredentials(ctx, "p", email.Kind, mail.good); err != nil {
		t.Fatal(err)
	}
	res, err := s.Check(ctx, "p", email.Kind)
	if err != nil || res.Sender == nil || res.Sender.ID != "reception@aurora-hotel.example" {
		t.Fatalf("first check: %+v %v", res, err)
	}
	if _, err := s.SetCredentials(ctx, "p", email.Kind, connector.CredentialsInput{"from_address": "hello@aurora-hotel.example"}); err != nil {
		t.Fatal(err)
	}
	if res, err = s.Check(ctx, "p", email.Kind); err != nil || res.Sender == nil || res.Sender.ID != "hello@aurora-hotel.example" || res.SenderMissing {
		t.Fatalf("after a new from address: %+v %v", res, err)
	}
}

// Test360dialogWebhookIsNeverReplacedSilently: a 360dialog number has one webhook, like an
// IntellectDialog account: another system's stops activation (webhook_in_use), replacing it is
// a choice, Bellhop's carries the secret header, and deactivation puts the other one back.
func Test360dialogWebhookIsNeverReplacedSilently(t *testing.T) {
	ctx := context.Background()
	wa := wasandbox.New(wasandbox.Config{})
	srv := httptest.NewServer(wa)
	t.Cleanup(srv.Close)
	t.Cleanup(wa.Close)
	other, err := whatsapp.New(whatsapp.Config{Kind: whatsapp.KindDialog360, Config: provider.Config{BaseURL: wasandbox.Dialog360BaseURL(srv.URL),
		APIKey: wasandbox.DefaultAPIKey360, HTTPClient: safehttp.Policy{AllowPrivate: true}.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetWebhook(ctx, "https://pms.example.com/whatsapp", map[string]string{"Authorization": "pms"}); err != nil {
		t.Fatal(err)
	}
	s, st := channelService(t, "https://bellhop.example.com", nil)
	if _, err := s.SetCredentials(ctx, "p", whatsapp.KindDialog360, connector.CredentialsInput{"api_key": wasandbox.DefaultAPIKey360,
		"base_url": wasandbox.Dialog360BaseURL(srv.URL)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, "p", whatsapp.KindDialog360); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Activate(ctx, "p", whatsapp.KindDialog360, connector.ActivateOptions{}); bellhop.ErrorCode(err) != bellhop.EWebhookInUse {
		t.Fatalf("activation over the PMS's webhook: %v, want webhook_in_use", err)
	}
	if u, _ := wa.Webhook360(); u != "https://pms.example.com/whatsapp" {
		t.Fatalf("a refused activation changed the webhook to %q", u)
	}
	if _, err := s.Activate(ctx, "p", whatsapp.KindDialog360, connector.ActivateOptions{ReplaceWebhook: true}); err != nil {
		t.Fatal(err)
	}
	in, _ := st.GetIntegration(ctx, "p", whatsapp.KindDialog360)
	secret, _ := s.WebhookSecret(in)
	if u, h := wa.Webhook360(); u != "https://bellhop.example.com/webhooks/dialog360/p" || h[whatsapp.SecretHeader] != secret {
		t.Fatalf("Bellhop's webhook %q %v", u, h)
	}
	if _, err := s.Deactivate(ctx, "p", whatsapp.KindDialog360); err != nil {
		t.Fatal(err)
	}
	if u, _ := wa.Webhook360(); u != "https://pms.example.com/whatsapp" {
		t.Fatalf("deactivation left the webhook at %q", u)
	}
}
