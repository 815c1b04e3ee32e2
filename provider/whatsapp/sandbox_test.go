package whatsapp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/whatsapp"
	"github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// TestAgainstSandbox: the client and the sandbox speak the same protocol, end to end, for both
// kinds — the way the channel model will use them.
func TestAgainstSandbox(t *testing.T) {
	clock := bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	hooks := make(chan *http.Request, 64)
	bodies := make(chan []byte, 64)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		bodies <- b
	}))
	t.Cleanup(hook.Close)
	sb := sandbox.New(sandbox.Config{Clock: clock, WebhookURL: hook.URL, AppSecret: "e2e-secret"})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)

	cloud := newClient(t, whatsapp.Config{Kind: whatsapp.KindCloud, WABAID: sandbox.DefaultWABAID,
		Config: provider.Config{BaseURL: sandbox.CloudBaseURL(srv.URL), APIKey: sandbox.DefaultToken, HTTPClient: private}})
	if err := cloud.CheckCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	bad := newClient(t, whatsapp.Config{Kind: whatsapp.KindCloud, WABAID: sandbox.DefaultWABAID,
		Config: provider.Config{BaseURL: sandbox.CloudBaseURL(srv.URL), APIKey: "expired", HTTPClient: private}})
	if err := bad.CheckCredentials(ctx); provider.FailureOf(err) != provider.FailUnauthorized || whatsapp.ActionOf(err) != whatsapp.ActionFixCredentials {
		t.Fatalf("a bad token: %v", err)
	}

	numbers, err := cloud.PhoneNumbers(ctx)
	if err != nil || len(numbers) != 2 || numbers[0].ID != sandbox.NumberReception || numbers[1].QualityRating != "YELLOW" {
		t.Fatalf("numbers = %+v, %v", numbers, err)
	}
	templates, err := cloud.Templates(ctx)
	if err != nil || len(templates) != 3 {
		t.Fatalf("templates = %+v, %v", templates, err)
	}
	welcome := templates[0]
	if welcome.Name != "booking_welcome" || welcome.Language != "en" || welcome.BodyParams != 3 {
		t.Fatalf("first template = %+v", welcome)
	}

	// The sender is chosen from the list, as the channel model will.
	send := whatsapp.From(numbers[0].ID)
	_, err = cloud.SendText(ctx, "+7 912 345-67-89", "Hello", send)
	if whatsapp.ActionOf(err) != whatsapp.ActionUseTemplate || !whatsapp.FallThrough(err) {
		t.Fatalf("free text outside the window: %v", err)
	}
	sent, err := cloud.SendTemplate(ctx, "+7 912 345-67-89", welcome.Name, welcome.Language, []string{"Anna", "Sandbox Hotels", "3 December"},
		send, whatsapp.CallbackData("dl-42"))
	if err != nil || sent.MessageID == "" || sent.WAID != "79123456789" || sent.MessageStatus != "accepted" {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	_, err = cloud.SendTemplate(ctx, "79123456789", welcome.Name, welcome.Language, []string{"Anna", "Sandbox Hotels", "3 December"}, send)
	if pe, _ := provider.AsError(err); pe == nil || pe.Failure != provider.FailRateLimited || pe.RetryAfter != whatsapp.RecipientGap ||
		whatsapp.ActionOf(err) != whatsapp.ActionSlowDownRecipient {
		t.Fatalf("a second message to the guest at once: %v", err)
	}
	_, err = cloud.SendTemplate(ctx, "79123456780", welcome.Name, welcome.Language, []string{"Anna"}, send)
	if whatsapp.ActionOf(err) != whatsapp.ActionFixTemplate {
		t.Fatalf("a parameter short: %v", err)
	}

	// Statuses arrive signed; applied with Advances they end at read.
	status := ""
	for range 3 {
		r, body := <-hooks, <-bodies
		if err := whatsapp.VerifySignature(body, r.Header.Get(whatsapp.SignatureHeader), "e2e-secret"); err != nil {
			t.Fatal(err)
		}
		evs, err := whatsapp.ParseEvents(body)
		if err != nil || len(evs) != 1 || evs[0].MessageID != sent.MessageID || evs[0].CallbackData != "dl-42" {
			t.Fatalf("callback %s: %+v %v", body, evs, err)
		}
		if whatsapp.Advances(status, evs[0].Status) {
			status = evs[0].Status
		}
	}
	if status != "read" {
		t.Fatalf("status %q", status)
	}

	// The guest writes; the window opens.
	if _, err := sb.Inbound(sandbox.NumberReception, "79123456789", "Anna", "Thanks!"); err != nil {
		t.Fatal(err)
	}
	<-hooks
	<-bodies
	clock.Advance(whatsapp.RecipientGap)
	if _, err := cloud.SendText(ctx, "79123456789", "You are welcome!", send); err != nil {
		t.Fatal(err)
	}

	// The account is restricted: pause the sender.
	sb.SetRestricted(sandbox.NumberReception, 131031)
	clock.Advance(whatsapp.RecipientGap)
	_, err = cloud.SendText(ctx, "79123456789", "Hello again", send)
	if provider.FailureOf(err) != provider.FailSenderBlocked || whatsapp.ActionOf(err) != whatsapp.ActionPauseSender {
		t.Fatalf("a locked account: %v", err)
	}
	sb.SetRestricted(sandbox.NumberReception, 0)

	// 360dialog: the same body through its key; its templates and webhook.
	d360 := newClient(t, whatsapp.Config{Kind: whatsapp.KindDialog360,
		Config: provider.Config{BaseURL: sandbox.Dialog360BaseURL(srv.URL), APIKey: sandbox.DefaultAPIKey360, HTTPClient: private}})
	if err := d360.CheckCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	if tps, err := d360.Templates(ctx); err != nil || len(tps) != 3 {
		t.Fatalf("360dialog templates = %+v, %v", tps, err)
	}
	if err := d360.SetWebhook(ctx, hook.URL+"/360", map[string]string{"X-Bellhop-Secret": "s3"}); err != nil {
		t.Fatal(err)
	}
	if u, ok, err := d360.Webhook(ctx); err != nil || !ok || u != hook.URL+"/360" {
		t.Fatalf("360dialog webhook %q %v %v", u, ok, err)
	}
	clock.Advance(whatsapp.RecipientGap)
	sent, err = d360.SendText(ctx, "79123456789", "Through 360dialog")
	if err != nil || sent.MessageID == "" {
		t.Fatalf("360dialog send: %+v %v", sent, err)
	}
	if got := len(sb.Messages()); got != 3 {
		t.Fatalf("the sandbox kept %d messages", got)
	}
	sb.SetOutage(503)
	if err := d360.CheckCredentials(ctx); provider.FailureOf(err) != provider.FailUnavailable {
		t.Fatalf("an outage: %v", err)
	}
}
