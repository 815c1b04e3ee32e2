package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserContactCenter clicks through the Contact Center page in headless Chromium, as a
// property manager who has never seen the API would: sign in with a one-time link, a wrong
// key, the right key, a sender, a staff member's operator, activation through the confirm
// dialog over unsaved changes, the welcome mailing, the upcoming send, and Russian.
// Screenshots of each step are kept (see screenshotDir).
func TestBrowserContactCenter(t *testing.T) {
	chromium := requireChromium(t)
	h := start(t, t.TempDir()+"/bellhop.db")
	const pid = "seaside"
	h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
		"id": pid, "name": "Seaside Hotel", "time_zone": "Europe/Moscow", "country": "RU", "language": "en", "contact_center": true,
	})
	base := "/api/v1/properties/" + pid
	h.must(201, "PUT", base+"/staff/anna", h.service, map[string]any{"name": "Anna Petrova", "email": "anna@seaside.example"})
	h.must(201, "PUT", base+"/staff/ivan", h.service, map[string]any{"name": "Ivan Sokolov"})
	// A guest arriving in three days: the welcome goes out the day before, inside the week.
	arrival := time.Now().AddDate(0, 0, 3)
	h.must(201, "PUT", base+"/bookings/B-77", h.service, booking(arrival, 2, "+7 912 345-67-89", "en", time.Now()))
	link := h.signInLink(pid)
	if !strings.HasPrefix(link, h.url+"/login/") {
		t.Fatalf("token create --link printed %q, want a URL under %s", link, h.url)
	}

	b := newBrowser(t, chromium)
	const card = "#intellectdialog"

	// Sign in with the one-time link.
	b.do(chromedp.Navigate(link))
	b.shot("sign-in-link")
	b.clickLoad("#use-link")
	b.waitText(card+"-status", "Not checked")
	b.shot("integration-empty")

	// A wrong key: the provider's refusal, in plain words; nothing verified.
	b.do(chromedp.Click(chromedp.CSS(card + " details summary")))
	b.do(chromedp.Clear(chromedp.CSS(card+"-base_url")), chromedp.SendKeys(chromedp.CSS(card+"-base_url"), h.sbURL))
	b.do(chromedp.SendKeys(chromedp.CSS(card+"-api_key"), "not-the-right-key"))
	b.clickLoad(card + "-check")
	b.waitText("#flash.flash-error", "rejected the API key")
	b.waitText(card+"-status", "Credentials rejected")
	b.shot("bad-key")

	// The right key: verified, with the organization's name and its senders.
	b.do(chromedp.SendKeys(chromedp.CSS(card+"-api_key"), "sandbox-key"))
	b.clickLoad(card + "-check")
	b.waitText("#flash.flash-ok", "Sandbox Hotels")
	b.waitText(card+"-status", "Verified")
	b.waitText(card+"-organization", "Sandbox Hotels")
	if got := b.text(card + "-sender_id"); !strings.Contains(got, "whatsapp · ") {
		t.Errorf("sender dropdown = %q, want senders as type and name", got)
	}
	if ph := b.attr(card+"-api_key", "placeholder"); !strings.Contains(ph, "Saved: …") || strings.Contains(ph, "sandbox-key") {
		t.Errorf("key field placeholder = %q, want only the saved key's hint", ph)
	}
	b.shot("verified")

	// Choose the sender.
	b.do(chromedp.SetValue(chromedp.CSS(card+"-sender_id"), "1"))
	b.clickLoad(card + "-save")
	b.waitText("#flash.flash-ok", "Sender saved")
	b.shot("sender-chosen")

	// Users: everyone starts with "Not selected" and a warning; a choice saves at once.
	b.clickLoad("#tab-users")
	b.waitText("#unmapped-warning", "2 staff member(s) have no operator")
	if got := b.value("#operator-anna"); got != "" {
		t.Errorf("Anna's operator before linking = %q, want Not selected", got)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#operator-anna"), "1"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#operator-anna').dispatchEvent(new Event('change', {bubbles: true}))`))
	b.waitText("#saved-anna", "Saved")
	b.shot("user-linked")
	b.do(chromedp.Navigate(h.url + "/p/" + pid + "/users"))
	if got := b.value("#operator-anna"); got != "1" {
		t.Errorf("Anna's operator after reload = %q, want 1", got)
	}
	b.waitText("#unmapped-warning", "1 staff member(s)")

	// Activate over an unsaved change: the page asks, then saves and activates.
	b.clickLoad("#tab-integration")
	b.do(chromedp.SetValue(chromedp.CSS(card+"-sender_id"), "2"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#intellectdialog-sender_id').dispatchEvent(new Event('change', {bubbles: true}))`))
	b.do(chromedp.Click(chromedp.CSS(card + "-activation label.switch")))
	b.do(chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
	b.shot("confirm-dialog")
	b.clickLoad("#confirm-ok")
	b.waitText(card+"-activated", "Activated")
	b.waitText("#flash.flash-ok", "The integration is active")
	if got := b.value(card + "-sender_id"); got != "2" {
		t.Errorf("sender after confirm = %q, want the unsaved choice 2 saved", got)
	}
	b.shot("activated")

	// Mailings: the editor previews live; the welcome mailing is switched on.
	b.clickLoad("#tab-mailings")
	b.do(chromedp.WaitVisible(chromedp.CSS("#mailing-welcome")))
	area := "#tpl-welcome-en"
	b.do(chromedp.Clear(chromedp.CSS(area)), chromedp.SendKeys(chromedp.CSS(area), "Hello {guest_name}, see you at {hotel_name} on {arrival_date}! {guest}"))
	b.waitText("#preview-welcome-en .preview-text", "Hello Anna Petrova, see you at Seaside Hotel on")
	b.waitText("#preview-welcome-en .preview-error", "{guest}")
	b.shot("template-preview")
	b.clickLoad("#mailing-welcome label.switch")
	b.waitText("#state-welcome", "On")
	b.waitText("#flash.flash-ok", "Welcome mailing is on")
	b.shot("welcome-on")

	// Deliveries: the ledger with the sender's pacing, and the upcoming send.
	b.clickLoad("#tab-deliveries")
	b.waitText("#pacer-next-intellectdialog", "now")
	b.waitText("#ledger", "B-77")
	b.shot("ledger")
	b.clickLoad("#tab-upcoming")
	b.waitText(`#upcoming tr.send[data-kind="welcome"][data-booking="B-77"]`, "Анна Петрова")
	b.waitText(`#upcoming tr.send[data-kind="welcome"]`, "whatsapp")
	b.shot("upcoming")

	// Russian, from the switcher.
	b.clickLoad("#lang-ru")
	b.waitText("h1", "Предстоящие сообщения")
	b.waitText("#tab-integration", "Каналы")
	b.waitText("#tab-mailings", "Рассылки")
	b.shot("upcoming-ru")
	b.clickLoad("#tab-integration")
	b.waitText(card+"-status", "Проверен")
	b.waitText(card+"-check", "Проверить подключение")
	b.shot("integration-ru")
}

// signInLink runs `bellhop token create --link` with BELLHOP_PUBLIC_URL pointing at the
// harness's server, as an administrator would.
func (h *harness) signInLink(pid string) string {
	h.t.Helper()
	var out, errb bytes.Buffer
	args := []string{"token", "create", "--property", pid, "--role", "admin", "--link"}
	if err := app.Run(context.Background(), args, h.env(map[string]string{"BELLHOP_PUBLIC_URL": h.url}), &out, &errb); err != nil {
		h.t.Fatalf("bellhop %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// requireChromium finds Chromium: $BELLHOP_CHROMIUM, else Debian's chromium on the PATH.
// Without it the test is skipped, or fails under CI=true (.ci/run installs it).
func requireChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BELLHOP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed (Debian: apt-get install -y chromium; or set BELLHOP_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// screenshotDir is where a browser test keeps its screenshots: $BELLHOP_SCREENSHOTS, else
// integration_test/screenshots (git ignores it). Each test gets a folder of its own.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BELLHOP_SCREENSHOTS")
	if dir == "" {
		dir = "screenshots"
	}
	dir, err := filepath.Abs(filepath.Join(dir, t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab driven by a test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: tctx, shots: screenshotDir(t)}
	t.Logf("screenshots: %s", b.shots)
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail("browser: %v", err)
	}
}

// clickLoad clicks and waits for the page it leads to.
func (b *browser) clickLoad(sel string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		b.fail("click %s: %v", sel, err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.fail("value of %s: %v", sel, err)
	}
	return s
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	js := fmt.Sprintf(`document.querySelector(%s).getAttribute(%s)`, jsString(sel), jsString(name))
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fail("attribute %s of %s: %v", name, sel, err)
	}
	return s
}

// waitText waits until the element shows the text (pages update after fetches, too).
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, jsString(sel), jsString(want))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s) || {textContent: "(no such element)"}).textContent`, jsString(sel))))
		b.fail("waiting for %s to show %q: %v; it shows %q", sel, want, err, strings.Join(strings.Fields(got), " "))
	}
}

// shot keeps a full-page screenshot of the current step.
func (b *browser) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	b.n++
	if err := os.WriteFile(filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name)), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fail keeps a screenshot of the page as it was, then fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	if buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(b.shots, "failure.png"), buf, 0o644)
	}
	b.t.Fatalf(format, args...)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
