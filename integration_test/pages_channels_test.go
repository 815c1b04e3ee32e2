package integration_test

import (
	"net"
	"net/url"
	"strings"
	"testing"

	mailsandbox "github.com/bellhop/bellhop/provider/email/sandbox"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// TestPageChannels: the Channels page makes each kind's form from its declared fields, never
// shows a secret, saves only what changed (so saving an untouched, verified channel keeps it
// verified), and shows the Cloud API's callback URL and verify token as the API does.
func TestPageChannels(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("c")
	mail, err := mailsandbox.Start(mailsandbox.Config{Mode: mailsandbox.ModePlain, AllowInsecureAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.Close() })
	user, pass := mail.Credentials()
	_, port, _ := net.SplitHostPort(mail.Addr())
	c := h.pageClient()
	c.signInWithLink(h.signInLink("c"))

	p := c.get("/p/c")
	for _, want := range []string{
		`id="channel-intellectdialog"`, `id="channel-whatsapp_cloud"`, `id="channel-dialog360"`, `id="channel-email"`,
		`id="email-host" name="host" type="text"`, `id="email-port" name="port" type="number" value="" placeholder="587"`,
		`<select id="email-security" name="security">`, `<option value="starttls" selected>`,
		`id="email-password" name="password" type="password"`, `id="email-from_address" name="from_address" type="email"`,
		`id="whatsapp_cloud-access_token" name="access_token" type="password"`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("the Channels page lacks %s:\n%s", want, p.Body)
		}
	}
	csrf := field(t, csrfRE, p.Body)
	email := url.Values{"csrf": {csrf}, "host": {mail.Host()}, "port": {port}, "security": {"none"}, "username": {user},
		"password": {pass}, "from_address": {"desk@hotel-c.example"}, "from_name": {""}, "sender_id": {""}}
	post := func(form url.Values, action string) pageAnswer {
		t.Helper()
		f := url.Values{"action": {action}}
		for k, v := range form {
			f[k] = v
		}
		p := c.do("POST", "/p/c/integrations/email", f)
		if p.Status != 303 || p.Header.Get("Location") != "/p/c#email" {
			t.Fatalf("%s = %d → %q:\n%s", action, p.Status, p.Header.Get("Location"), p.Body)
		}
		return c.get("/p/c")
	}
	if p = post(email, "check"); !strings.Contains(p.Body, "flash-ok") {
		t.Fatalf("check with the right password:\n%s", p.Body)
	}
	if strings.Contains(p.Body, pass) {
		t.Fatal("the page shows the saved password")
	}
	r := h.must(200, "GET", "/api/v1/properties/c/integrations/email", admin, nil)
	if r.Body["status"] != "verified" {
		t.Fatalf("email after the page's check: %s", r.Raw)
	}

	// The same form again, the password left empty as the page shows it: nothing changed.
	email.Set("password", "")
	email.Set("sender_id", "desk@hotel-c.example")
	p = post(email, "save")
	if !strings.Contains(p.Body, "Nothing to save") {
		t.Errorf("saving an untouched form did not say there is nothing to save:\n%s", p.Body)
	}
	if r = h.must(200, "GET", "/api/v1/properties/c/integrations/email", admin, nil); r.Body["status"] != "verified" {
		t.Fatalf("saving an untouched form made the channel %v", r.Body["status"])
	}
	// A changed setting is saved and must be checked again.
	email.Set("from_name", "Hotel C")
	if p = post(email, "save"); !strings.Contains(p.Body, "The settings are saved") {
		t.Errorf("a changed setting is not reported saved:\n%s", p.Body)
	}
	if r = h.must(200, "GET", "/api/v1/properties/c/integrations/email", admin, nil); r.Body["status"] != "unverified" {
		t.Errorf("a changed setting left the channel %v; it must be checked again", r.Body["status"])
	}

	// WhatsApp Cloud API: the callback URL and verify token to paste into the Meta app.
	_, waURL, _ := channelSandboxes(t)
	cloud := "/api/v1/properties/c/integrations/whatsapp_cloud"
	h.must(200, "PUT", cloud, admin, map[string]any{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
		"app_secret": wasandbox.DefaultAppSecret, "base_url": wasandbox.CloudBaseURL(waURL)})
	cb, _ := h.must(200, "GET", cloud, admin, nil).Body["callback"].(map[string]any)
	if cb == nil {
		t.Fatal("the API shows no callback for the Cloud API")
	}
	p = c.get("/p/c")
	for _, want := range []string{`id="whatsapp_cloud-callback-url" type="text" readonly value="` + cb["url"].(string) + `"`,
		`id="whatsapp_cloud-verify-token" type="text" readonly value="` + cb["verify_token"].(string) + `"`} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("the Cloud API card lacks %s:\n%s", want, p.Body)
		}
	}
	for _, secret := range []string{wasandbox.DefaultToken, wasandbox.DefaultAppSecret} {
		if strings.Contains(p.Body, secret) {
			t.Fatalf("the page shows a secret of the Cloud API")
		}
	}

	// In Russian the declared fields have Russian labels.
	c.get("/lang/ru?next=/p/c")
	if p = c.get("/p/c"); !strings.Contains(p.Body, "SMTP-сервер") || !strings.Contains(p.Body, "Проверить подключение") {
		t.Errorf("the Russian Channels page:\n%s", p.Body)
	}
}
