package integration_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	mailsandbox "github.com/bellhop/bellhop/provider/email/sandbox"
	"github.com/chromedp/chromedp"
)

// TestBrowserSecondChannel: a manager whose IntellectDialog channel already sends connects a
// second channel, email, on the Channels page against a real SMTP server: the check tells an
// unreachable server from a wrong password, then verifies the account, whose from address is
// its sender; the channel is switched on; the welcome mailing is set to try IntellectDialog
// first and fall back to email. The page and the API then say the same.
func TestBrowserSecondChannel(t *testing.T) {
	chromium := requireChromium(t)
	h := start(t, t.TempDir()+"/bellhop.db")
	const pid = "aurora"
	admin, _ := h.activeProperty(pid)
	mail, err := mailsandbox.Start(mailsandbox.Config{Mode: mailsandbox.ModePlain, AllowInsecureAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.Close() })
	user, pass := mail.Credentials()
	_, port, _ := net.SplitHostPort(mail.Addr())
	closed := closedPort(t)

	b := newBrowser(t, chromium)
	b.do(chromedp.Navigate(h.signInLink(pid)))
	b.clickLoad("#use-link")
	// The list: every kind, IntellectDialog verified and on, email not connected yet.
	b.waitText("#channel-intellectdialog-status", "Verified")
	b.waitText("#channel-intellectdialog-active", "On")
	b.waitText("#channel-email-status", "Not connected")
	b.waitText("#channel-email-sends", "text")
	b.waitText("#channel-whatsapp_cloud-sends", "approved templates")
	b.shot("channels")

	const card = "#email"
	set := func(field, value string) {
		t.Helper()
		sel := card + "-" + field
		b.do(chromedp.SetValue(chromedp.CSS(sel), value))
	}
	// A server nobody answers at: the service could not be reached; nothing is verified.
	set("host", mail.Host())
	set("port", closed)
	set("security", "none")
	set("username", user)
	set("password", "wrong-password")
	set("from_address", "reception@aurora-hotel.example")
	set("from_name", "Hotel Aurora")
	b.clickLoad(card + "-check")
	b.waitText("#flash.flash-error", "could not be reached")
	b.waitText(card+"-status", "Not checked")
	if got := b.value(card + "-password"); got != "" {
		t.Errorf("the password field after saving shows %q, want it empty", got)
	}
	if ph := b.attr(card+"-password", "placeholder"); !strings.HasPrefix(ph, "Saved: …") {
		t.Errorf("the password field's placeholder = %q, want the saved one's hint", ph)
	}
	b.shot("email-unreachable")

	// The right server, the wrong password: the credentials are wrong.
	set("port", port)
	set("password", "wrong-password")
	b.clickLoad(card + "-check")
	b.waitText("#flash.flash-error", "Wrong credentials")
	b.waitText(card+"-status", "Credentials rejected")
	b.shot("email-wrong-password")

	// The right password: verified; the account's one sender, its from address, is chosen.
	set("password", pass)
	b.clickLoad(card + "-check")
	b.waitText("#flash.flash-ok", "accepted")
	b.waitText(card+"-status", "Verified")
	b.waitText("#channel-email-reach", "reception@aurora-hotel.example")
	b.clickLoad(card + "-activation label.switch")
	b.waitText(card+"-activated", "Activated")
	b.waitText("#channel-email-active", "On")
	b.shot("email-active")

	r := h.must(200, "GET", "/api/v1/properties/"+pid+"/integrations/email", admin, nil)
	if r.Body["status"] != "verified" || r.Body["active"] != true || strings.Contains(r.Raw, pass) {
		t.Fatalf("the API after the page connected email: %s", r.Raw)
	}
	if got := mail.Stats().Logins; got < 1 {
		t.Errorf("the SMTP server saw %d sign-ins; the check must sign in", got)
	}

	testFallbackOrder(t, h, b, pid, admin)
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return strconv.Itoa(port)
}

// testFallbackOrder sets the welcome mailing's channels on the Mailings tab: IntellectDialog
// first, email when it cannot reach the guest.
func testFallbackOrder(t *testing.T, h *harness, b *browser, pid, admin string) {
	t.Helper()
	b.clickLoad("#tab-mailings")
	const first, second = "#method-welcome-1", "#method-welcome-2"
	if got := b.value(first); got != "intellectdialog" {
		t.Fatalf("the welcome's first channel = %q, want intellectdialog (the one it had)", got)
	}
	// Email first, then IntellectDialog; then ↑ on the second place swaps them.
	b.do(chromedp.SetValue(chromedp.CSS(first), "email"), chromedp.SetValue(chromedp.CSS(second), "intellectdialog"))
	b.do(chromedp.Click(chromedp.CSS(`#methods-welcome li:nth-child(2) button[data-move="up"]`)))
	if a, c := b.value(first), b.value(second); a != "intellectdialog" || c != "email" {
		t.Fatalf("after ↑ the order is %q, %q; want intellectdialog, email", a, c)
	}
	b.shot("fallback-order")
	b.clickLoad("#save-welcome")
	b.waitText("#flash.flash-ok", "Welcome mailing is saved")
	if a, c, d := b.value(first), b.value(second), b.value("#method-welcome-3"); a != "intellectdialog" || c != "email" || d != "" {
		t.Fatalf("the page after saving shows %q, %q, %q; want intellectdialog, email, none", a, c, d)
	}
	b.shot("fallback-saved")
	r := h.must(200, "GET", "/api/v1/properties/"+pid+"/mailings/welcome", admin, nil)
	if got := fmt.Sprint(r.Body["sending_methods"]); got != "[intellectdialog email]" || r.Body["sending_method"] != "intellectdialog" {
		t.Fatalf("the API after the page set the order: %s", r.Raw)
	}
}
