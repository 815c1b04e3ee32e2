package whatsapp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/whatsapp"
	"github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// openKind opens a kind's client as the connector does, from the integration's fields.
func openKind(t *testing.T, k provider.Kind, baseURL string, creds provider.Credentials) provider.Client {
	t.Helper()
	c, err := k.Open(provider.Config{BaseURL: baseURL, Credentials: creds, HTTPClient: private, Retries: -1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", k.Name, err)
	}
	return c
}

// TestChannelsAgainstSandbox: both kinds' clients, as the channel model sees them, against the
// sandbox: the check, senders with their quality rating, approved templates, a template sent
// with the delivery id as callback data, free text outside the 24-hour window unreachable (the
// mailing falls through), and 360dialog's webhook set with the secret header.
func TestChannelsAgainstSandbox(t *testing.T) {
	clock := bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Config{Clock: clock})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)

	cloud := openKind(t, whatsapp.CloudChannel(), sandbox.CloudBaseURL(srv.URL), provider.Credentials{
		"access_token": sandbox.DefaultToken, "waba_id": sandbox.DefaultWABAID, "app_secret": sandbox.DefaultAppSecret})
	d360 := openKind(t, whatsapp.Dialog360Channel(), sandbox.Dialog360BaseURL(srv.URL), provider.Credentials{"api_key": sandbox.DefaultAPIKey360})

	org, err := cloud.Organization(ctx)
	if err != nil || org.ID != sandbox.DefaultWABAID || org.Name != "Sandbox Hotels Reception" {
		t.Fatalf("cloud organization %+v, %v", org, err)
	}
	senders, err := cloud.(provider.SenderLister).Senders(ctx)
	if err != nil || len(senders) != 2 || senders[0].ID != sandbox.NumberReception || senders[0].Quality != "GREEN" ||
		senders[1].Quality != "YELLOW" || senders[0].Phone != "+79990000001" || senders[0].Type != whatsapp.KindCloud {
		t.Fatalf("cloud senders %+v, %v", senders, err)
	}
	tpls, err := cloud.(provider.TemplateLister).Templates(ctx, sandbox.NumberReception)
	if err != nil || len(tpls) != 3 {
		t.Fatalf("approved templates %+v, %v", tpls, err)
	}
	if _, ok := cloud.(provider.WebhookInstaller); ok {
		t.Error("the Cloud API client offers a webhook API it does not have")
	}

	sent, err := cloud.SendMessage(ctx, provider.Message{Phone: "+7 912 345-67-89", SenderID: sandbox.NumberSales,
		Template: "booking_welcome", Language: "ru", Vars: []string{"Анна", "Aurora", "3 декабря"}, Mark: "delivery-1"})
	if err != nil || sent.MessageID == "" {
		t.Fatalf("template send: %+v, %v", sent, err)
	}
	msgs := sb.Messages()
	if len(msgs) != 1 || msgs[0].From != sandbox.NumberSales || msgs[0].CallbackData != "delivery-1" || msgs[0].Type != "template" {
		t.Fatalf("the sandbox got %+v", msgs)
	}
	_, err = cloud.SendMessage(ctx, provider.Message{Phone: "+79123456700", SenderID: sandbox.NumberReception, Text: "Hello", Mark: "delivery-2"})
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnreachable || pe.Code != "131047" {
		t.Fatalf("free text outside the window: %v, want unreachable (131047)", err)
	}

	// 360dialog: the key's one number, the check by templates, the webhook with its header.
	org, err = d360.Organization(ctx)
	if err != nil || org.ID == "" {
		t.Fatalf("360dialog organization %+v, %v", org, err)
	}
	senders, _ = d360.(provider.SenderLister).Senders(ctx)
	if len(senders) != 1 || senders[0].ID != org.ID {
		t.Fatalf("360dialog senders %+v", senders)
	}
	wi := d360.(provider.WebhookInstaller)
	if err := wi.SetWebhook(ctx, provider.Webhook{URL: "https://bellhop.example.com/webhooks/dialog360/p1", Secret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	hook, headers := sb.Webhook360()
	if hook != "https://bellhop.example.com/webhooks/dialog360/p1" || headers[whatsapp.SecretHeader] != "s3cret" {
		t.Fatalf("360dialog webhook %q %v", hook, headers)
	}
	if w, ok, err := wi.Webhook(ctx); err != nil || !ok || w.URL != hook {
		t.Fatalf("read back: %+v %v %v", w, ok, err)
	}
	if _, err := d360.SendMessage(ctx, provider.Message{Phone: "+79123456789", Template: "booking_welcome", Language: "en",
		Vars: []string{"Anna", "Aurora", "3 December"}, Mark: "delivery-3"}); err != nil {
		t.Fatalf("360dialog template: %v", err)
	}

	bad := openKind(t, whatsapp.CloudChannel(), sandbox.CloudBaseURL(srv.URL), provider.Credentials{
		"access_token": "expired", "waba_id": sandbox.DefaultWABAID, "app_secret": "x"})
	if _, err := bad.Organization(ctx); provider.FailureOf(err) != provider.FailUnauthorized {
		t.Fatalf("a bad token: %v", err)
	} else if pe, _ := provider.AsError(err); pe.Field != "access_token" {
		t.Fatalf("a bad token names %q", pe.Field)
	}
	wrongWABA := openKind(t, whatsapp.CloudChannel(), sandbox.CloudBaseURL(srv.URL), provider.Credentials{
		"access_token": sandbox.DefaultToken, "waba_id": "999", "app_secret": "x"})
	if _, err := wrongWABA.Organization(ctx); provider.FailureOf(err) != provider.FailUnauthorized {
		t.Fatalf("a WABA the token cannot see: %v", err)
	} else if pe, _ := provider.AsError(err); pe.Field != "waba_id" {
		t.Fatalf("a wrong WABA names %q", pe.Field)
	}
	sb.SetOutage(http.StatusServiceUnavailable)
	if _, err := cloud.Organization(ctx); provider.FailureOf(err) != provider.FailUnavailable {
		t.Fatalf("an outage: %v", err)
	}
}

// TestChannelFailuresFromFixtures: every recorded error answer, met by a send through the
// channel model, is the Failure the send path acts on.
func TestChannelFailuresFromFixtures(t *testing.T) {
	for _, c := range []struct {
		fixture   string
		status    int
		failure   provider.Failure
		recipient bool
		field     string
	}{
		{"error_190.json", 401, provider.FailUnauthorized, false, "access_token"},
		{"error_130429.json", 400, provider.FailRateLimited, false, ""},
		{"error_131056.json", 400, provider.FailRateLimited, true, ""},
		{"error_131026.json", 400, provider.FailUnreachable, false, ""},
		{"error_131047.json", 400, provider.FailUnreachable, false, ""},
		{"error_368.json", 403, provider.FailSenderBlocked, false, ""},
		{"error_131031.json", 403, provider.FailSenderBlocked, false, ""},
		{"error_132001.json", 404, provider.FailInvalidRequest, false, ""},
		{"error_server.html", 502, provider.FailUnavailable, false, ""},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			a := newAPI(t)
			a.reply("POST /v26.0/"+testPhone+"/messages", c.status, fixture(t, c.fixture))
			cl := openKind(t, whatsapp.CloudChannel(), a.url+"/v26.0/", provider.Credentials{
				"access_token": testToken, "waba_id": testWABA, "app_secret": "x"})
			_, err := cl.SendMessage(ctx, provider.Message{Phone: "+79123456789", SenderID: testPhone, Text: "Hello", Mark: "d1"})
			pe := wantError(t, err, c.failure)
			if pe.Recipient != c.recipient || pe.Field != c.field || pe.Unsent {
				t.Fatalf("recipient %v field %q unsent %v", pe.Recipient, pe.Field, pe.Unsent)
			}
			if n := len(a.requests()); n != 1 {
				t.Fatalf("%d requests: a send is never repeated", n)
			}
			if c.status < 500 && pe.Code == "" {
				t.Errorf("no code in %v", fmt.Sprint(pe))
			}
		})
	}
}
