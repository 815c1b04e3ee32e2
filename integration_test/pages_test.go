package integration_test

import (
	"context"
	"fmt"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/web"
)

// pageClient is a browser without a browser: cookies kept, redirects not followed.
type pageClient struct {
	t   *testing.T
	h   *harness
	c   *http.Client
	hdr http.Header // sent with every request
}

func (h *harness) pageClient() *pageClient {
	jar, _ := cookiejar.New(nil)
	return &pageClient{t: h.t, h: h, hdr: http.Header{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type pageAnswer struct {
	Status int
	Body   string
	Header http.Header
}

func (c *pageClient) do(method, path string, form url.Values, hdr ...string) pageAnswer {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := path
	if strings.HasPrefix(path, "/") {
		u = c.h.url + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageAnswer{Status: res.StatusCode, Body: string(b), Header: res.Header}
}

func (c *pageClient) get(path string) pageAnswer { c.t.Helper(); return c.do("GET", path, nil) }

var (
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	loginCSRFRE = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", re, body)
	}
	return m[1]
}

// signInWithLink opens a sign-in link and confirms it, as the link page asks.
func (c *pageClient) signInWithLink(link string) pageAnswer {
	c.t.Helper()
	p := c.get(link)
	if p.Status != 200 {
		c.t.Fatalf("GET sign-in link = %d:\n%s", p.Status, p.Body)
	}
	return c.do("POST", link, url.Values{"login_csrf": {field(c.t, loginCSRFRE, p.Body)}})
}

// csrf returns the session's form token from one of its pages.
func (c *pageClient) csrf(path string) string {
	c.t.Helper()
	p := c.get(path)
	if p.Status != 200 {
		c.t.Fatalf("GET %s = %d:\n%s", path, p.Status, p.Body)
	}
	return field(c.t, csrfRE, p.Body)
}

func cookieOf(p pageAnswer, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestPageSessions: signing in to the pages with a one-time link or a token, the session
// cookie, CSRF refusals, tenancy, signing out, and the language.
func TestPageSessions(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	h.property("a", true)
	h.property("b", true)
	linkA := h.signInLink("a")

	t.Run("one-time link", func(t *testing.T) {
		c := h.pageClient()
		// Opening the link (a mail scanner's GET) spends nothing; a POST without the form's
		// token is refused.
		p := c.get(linkA)
		if p.Status != 200 || !strings.Contains(p.Body, `id="use-link"`) {
			t.Fatalf("link page = %d:\n%s", p.Status, p.Body)
		}
		if p := c.do("POST", linkA, url.Values{}); p.Status != 403 {
			t.Errorf("link POST without the form token = %d, want 403", p.Status)
		}
		p = c.signInWithLink(linkA)
		if p.Status != 303 || p.Header.Get("Location") != "/" {
			t.Fatalf("sign in = %d → %q:\n%s", p.Status, p.Header.Get("Location"), p.Body)
		}
		ck := cookieOf(p, "bellhop_session")
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over http", ck)
		}
		// Only the hash of the id is stored.
		if _, err := h.main.DB.SessionByHash(context.Background(), web.HashToken(ck.Value), time.Now()); err != nil {
			t.Errorf("session by the hash of its id: %v", err)
		}
		if _, err := h.main.DB.SessionByHash(context.Background(), []byte(ck.Value), time.Now()); !bellhop.IsNotFound(err) {
			t.Errorf("session by its raw id: %v, want not found", err)
		}
		if p := c.get("/"); p.Status != 303 || p.Header.Get("Location") != "/p/a" {
			t.Errorf("home = %d → %q, want the property's page", p.Status, p.Header.Get("Location"))
		}
		if p := c.get("/p/a"); p.Status != 200 || !strings.Contains(p.Body, "Hotel a") {
			t.Errorf("own page = %d", p.Status)
		}

		// The link is a secret: the access log names its route, not the link.
		secret := linkA[strings.LastIndex(linkA, "/")+1:]
		if strings.Contains(h.logs.String(), secret) {
			t.Error("the one-time link's secret is in the logs")
		}
		if !strings.Contains(h.logs.String(), `"path":"/login/…"`) {
			t.Error("the sign-in requests are not logged by their route")
		}

		// The same link again, from another browser: refused.
		other := h.pageClient()
		p = other.signInWithLink(linkA)
		if p.Status != 404 || !strings.Contains(p.Body, "already used or expired") || cookieOf(p, "bellhop_session") != nil {
			t.Errorf("reused link = %d:\n%s", p.Status, p.Body)
		}
		if p := other.get("/p/a"); p.Status != 303 || !strings.HasPrefix(p.Header.Get("Location"), "/login?next=") {
			t.Errorf("page without a session = %d → %q, want the sign-in page", p.Status, p.Header.Get("Location"))
		}
	})

	t.Run("tenancy", func(t *testing.T) {
		c := h.pageClient()
		c.signInWithLink(h.signInLink("a"))
		csrf := c.csrf("/p/a")
		for _, path := range []string{"/p/b", "/p/b/users", "/p/b/mailings", "/p/b/deliveries", "/p/b/upcoming", "/p/nope"} {
			if p := c.get(path); p.Status != 404 || strings.Contains(p.Body, "Hotel b") {
				t.Errorf("GET %s = %d, want 404", path, p.Status)
			}
		}
		p := c.do("POST", "/p/b/integrations/intellectdialog", url.Values{"csrf": {csrf}, "api_key": {"sandbox-key"}, "action": {"save"}})
		if p.Status != 404 {
			t.Errorf("POST to another property's form = %d, want 404", p.Status)
		}
		r := h.must(200, "GET", "/api/v1/properties/b"+intg, h.cli("token", "create", "--property", "b", "--role", "admin"), nil)
		if r.Body["configured"] != false {
			t.Errorf("another property's integration changed: %s", r.Raw)
		}
	})

	t.Run("csrf", func(t *testing.T) {
		c := h.pageClient()
		c.signInWithLink(h.signInLink("a"))
		csrf := c.csrf("/p/a")
		save := func(form url.Values, hdr ...string) pageAnswer {
			form.Set("api_key", "sandbox-key")
			form.Set("base_url", h.sbURL)
			form.Set("action", "save")
			return c.do("POST", "/p/a/integrations/intellectdialog", form, hdr...)
		}
		if p := save(url.Values{}); p.Status != 403 {
			t.Errorf("POST without the CSRF token = %d, want 403", p.Status)
		}
		if p := save(url.Values{"csrf": {"forged"}}); p.Status != 403 {
			t.Errorf("POST with a wrong CSRF token = %d, want 403", p.Status)
		}
		if p := save(url.Values{"csrf": {csrf}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); p.Status != 403 {
			t.Errorf("cross-site POST with the token = %d, want 403", p.Status)
		}
		if p := c.do("POST", "/p/a/users/anna", url.Values{"operator_id": {"1"}}, "Accept", "application/json"); p.Status != 403 || !strings.Contains(p.Body, `"ok":false`) {
			t.Errorf("fetch without the token = %d %s, want 403 JSON", p.Status, p.Body)
		}
		admin := h.cli("token", "create", "--property", "a", "--role", "admin")
		if r := h.must(200, "GET", "/api/v1/properties/a"+intg, admin, nil); r.Body["configured"] != false {
			t.Fatalf("a refused form changed the integration: %s", r.Raw)
		}
		p := save(url.Values{"csrf": {csrf}}, "Origin", h.url)
		if p.Status != 303 || p.Header.Get("Location") != "/p/a#intellectdialog" {
			t.Fatalf("POST with the token = %d → %q:\n%s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if r := h.must(200, "GET", "/api/v1/properties/a"+intg, admin, nil); r.Body["configured"] != true {
			t.Errorf("the form did not save the key: %s", r.Raw)
		}
		if p := c.get("/p/a"); !strings.Contains(p.Body, "The settings are saved") {
			t.Errorf("no outcome shown after the redirect:\n%s", p.Body)
		}
		// The sign-in form has a token of its own.
		anon := h.pageClient()
		if p := anon.do("POST", "/login", url.Values{"token": {admin}}); p.Status != 403 || cookieOf(p, "bellhop_session") != nil {
			t.Errorf("sign-in POST without its form token = %d, want 403", p.Status)
		}
	})

	t.Run("token sign-in", func(t *testing.T) {
		signIn := func(tok string) (*pageClient, pageAnswer) {
			c := h.pageClient()
			lp := c.get("/login?next=/p/a/users")
			return c, c.do("POST", "/login", url.Values{"token": {tok}, "next": {"/p/a/users"}, "login_csrf": {field(t, loginCSRFRE, lp.Body)}})
		}
		if _, p := signIn("bh_not-a-token"); p.Status != 401 || !strings.Contains(p.Body, "not valid") {
			t.Errorf("bad token = %d", p.Status)
		}
		if _, p := signIn(h.service); p.Status != 403 || !strings.Contains(p.Body, "admin token") {
			t.Errorf("service token = %d", p.Status)
		}
		_, p := signIn(h.cli("token", "create", "--property", "a", "--role", "admin"))
		if p.Status != 303 || p.Header.Get("Location") != "/p/a/users" {
			t.Errorf("admin token = %d → %q, want back to the page asked for", p.Status, p.Header.Get("Location"))
		}
		// A token for every property picks one.
		c, p := signIn(h.cli("token", "create", "--property", "*", "--role", "admin"))
		if p.Status != 303 {
			t.Fatalf("'*' admin token = %d", p.Status)
		}
		home := c.get("/")
		if home.Status != 200 || !strings.Contains(home.Body, `href="/p/a"`) || !strings.Contains(home.Body, `href="/p/b"`) {
			t.Errorf("'*' home = %d:\n%s", home.Status, home.Body)
		}
		for _, path := range []string{"/p/a", "/p/b/users"} {
			if p := c.get(path); p.Status != 200 {
				t.Errorf("'*' session GET %s = %d", path, p.Status)
			}
		}
	})

	t.Run("sign out", func(t *testing.T) {
		c := h.pageClient()
		c.signInWithLink(h.signInLink("a"))
		csrf := c.csrf("/p/a")
		if p := c.do("POST", "/logout", url.Values{}); p.Status != 403 {
			t.Errorf("sign out without the token = %d, want 403", p.Status)
		}
		p := c.do("POST", "/logout", url.Values{"csrf": {csrf}})
		if p.Status != 303 || p.Header.Get("Location") != "/login" {
			t.Errorf("sign out = %d → %q", p.Status, p.Header.Get("Location"))
		}
		if p := c.get("/p/a"); p.Status != 303 {
			t.Errorf("page after signing out = %d, want the sign-in page", p.Status)
		}
	})

	t.Run("language", func(t *testing.T) {
		c := h.pageClient()
		c.signInWithLink(h.signInLink("a"))
		c.hdr.Set("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5")
		if p := c.get("/p/a/users"); !strings.Contains(p.Body, `<html lang="ru">`) || !strings.Contains(p.Body, "Пользователи и операторы") {
			t.Errorf("Accept-Language ru: not a Russian page")
		}
		p := c.get("/lang/en?next=/p/a/users")
		if p.Status != 303 || p.Header.Get("Location") != "/p/a/users" {
			t.Errorf("switcher = %d → %q", p.Status, p.Header.Get("Location"))
		}
		if p := c.get("/p/a/users"); !strings.Contains(p.Body, "Users and operators") {
			t.Errorf("the switcher's choice does not beat Accept-Language")
		}
		if p := c.get("/lang/ru?next=//evil.example/"); p.Header.Get("Location") != "/" {
			t.Errorf("switcher followed an outside next: %q", p.Header.Get("Location"))
		}
	})
}

// Over https (a proxy in front, BELLHOP_PUBLIC_URL https://…) the session cookie is Secure.
func TestPageSessionCookieSecure(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", func(m *app.Main) { m.Config.PublicURL = "https://bellhop.example" })
	h.property("a", true)
	link := h.signInLink("a") // the harness's own URL, as a proxy would forward it
	p := h.pageClient().signInWithLink(link)
	if ck := cookieOf(p, "bellhop_session"); p.Status != 303 || ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Errorf("sign in = %d, session cookie %+v, want Secure and HttpOnly", p.Status, ck)
	}
}

// `bellhop token create --link` refuses what a link cannot be.
func TestPageSignInLinkCommand(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	h.property("a", true)
	for _, args := range [][]string{
		{"token", "create", "--property", "a", "--role", "service", "--link"},
		{"token", "create", "--property", "nope", "--role", "admin", "--link"},
	} {
		var out, errb strings.Builder
		if err := app.Run(context.Background(), args, h.env(nil), &out, &errb); err == nil {
			t.Errorf("bellhop %s succeeded: %s", strings.Join(args, " "), out.String())
		}
	}
	// With no BELLHOP_PUBLIC_URL the link points at the default address.
	if link := h.cli("token", "create", "--property", "a", "--role", "admin", "--link"); !strings.HasPrefix(link, "http://127.0.0.1:8080/login/") {
		t.Errorf("link = %q", link)
	}
}

// TestPageMailingEditor: the editor keeps a refused text with its error, saves a good one
// with its schedule, previews with sample data, and the switch turns a mailing on.
func TestPageMailingEditor(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("m")
	c := h.pageClient()
	c.signInWithLink(h.signInLink("m"))
	csrf := c.csrf("/p/m/mailings")
	form := func(en string) url.Values {
		return url.Values{"csrf": {csrf}, "sending_method": {"intellectdialog"},
			"tpl_en": {en}, "tpl_ru": {"Здравствуйте, {guest_name}!\r\nЖдём вас {arrival_date}."},
			"day_offset": {"-2"}, "send_time": {"13:30:00"}, "delay_minutes": {"0"}, "late_until_day": {"0"},
			"quiet_start": {"21:00"}, "quiet_end": {"09:00"}}
	}
	p := c.do("POST", "/p/m/mailings/welcome", form("Hi {guest}, welcome to {hotel_name}"))
	if p.Status != 422 || !strings.Contains(p.Body, "{guest} is not a placeholder") || !strings.Contains(p.Body, "Hi {guest}, welcome to {hotel_name}</textarea>") {
		t.Errorf("refused text = %d; want 422 with the text kept and the error:\n%s", p.Status, p.Body)
	}
	p = c.do("POST", "/p/m/mailings/welcome", form("Hi {guest_name}, welcome to {hotel_name}"))
	if p.Status != 303 {
		t.Fatalf("good text = %d:\n%s", p.Status, p.Body)
	}
	r := h.must(200, "GET", "/api/v1/properties/m/mailings/welcome", admin, nil)
	tpl, _ := r.Body["templates"].(map[string]any)
	sch, _ := r.Body["schedule"].(map[string]any)
	if tpl["en"] != "Hi {guest_name}, welcome to {hotel_name}" || tpl["ru"] != "Здравствуйте, {guest_name}!\nЖдём вас {arrival_date}." ||
		tpl["de"] == nil || sch["send_time"] != "13:30" || sch["day_offset"] != float64(-2) {
		t.Errorf("saved welcome = %s", r.Raw)
	}

	p = c.do("POST", "/p/m/mailings/welcome/preview", url.Values{"lang": {"ru"}, "text": {"Привет, {guest_name}! {hotel}"}},
		"X-CSRF-Token", csrf, "Accept", "application/json")
	if p.Status != 200 || !strings.Contains(p.Body, `"text":"Привет, Анна Петрова! {hotel}"`) || !strings.Contains(p.Body, "{hotel} is not a placeholder") {
		t.Errorf("preview = %d %s", p.Status, p.Body)
	}

	if p := c.do("POST", "/p/m/mailings/feedback/enabled", url.Values{"csrf": {csrf}, "enabled": {"on"}}); p.Status != 303 {
		t.Errorf("switch = %d", p.Status)
	}
	if r := h.must(200, "GET", "/api/v1/properties/m/mailings/feedback", admin, nil); r.Body["enabled"] != true {
		t.Errorf("feedback after the switch = %s", r.Raw)
	}
	if p := c.get("/p/m/mailings?sending_method=intellectdialog"); !strings.Contains(p.Body, `id="mailing-feedback"`) {
		t.Errorf("filtered by sending method: feedback missing")
	}
	if p := c.get("/p/m/mailings?sending_method=other"); strings.Contains(p.Body, `id="mailing-feedback"`) || !strings.Contains(p.Body, "No mailing is sent through this method") {
		t.Errorf("filtered by another sending method: %s", p.Body)
	}
}

// TestPageRetryAndResume: on the Deliveries tab a manager retries a message the provider
// refused, and resumes a sender the provider blocked; both messages then go out, once.
func TestPageRetryAndResume(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	admin, local := h.activeProperty("r")
	base := "/api/v1/properties/r"
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	c := h.pageClient()
	c.signInWithLink(h.signInLink("r"))
	tomorrow := local.AddDate(0, 0, 1)
	sent := func(d map[string]any) bool { return d["sent_at"] != nil }

	// Refused by the provider: failed, with a retry button that sends it.
	h.sandbox.SetOutage(http.StatusBadRequest)
	r := h.must(201, "PUT", base+"/bookings/r1", h.service, booking(tomorrow, 1, "+491701234571", "en", time.Now()))
	id := deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("r", admin, id, "failed", status("failed"))
	h.sandbox.SetOutage(0)
	p := c.get("/p/r/deliveries")
	if !strings.Contains(p.Body, `id="retry-`+id+`"`) || !strings.Contains(p.Body, "provider_rejected") {
		t.Fatalf("the ledger shows no retry for the failed message, or not why:\n%s", p.Body)
	}
	csrf := field(t, csrfRE, p.Body)
	if p := c.do("POST", "/p/r/deliveries/"+id+"/retry", url.Values{"csrf": {csrf}}); p.Status != 303 {
		t.Fatalf("retry = %d:\n%s", p.Status, p.Body)
	}
	h.waitDelivery("r", admin, id, "sent after the retry", sent)

	// Blocked by the provider: the sender is paused, the page says so, resume sends it.
	h.sandbox.SetSpacing("1", time.Hour)
	r = h.must(201, "PUT", base+"/bookings/r2", h.service, booking(tomorrow, 1, "+491701234572", "en", time.Now()))
	id = deliveryOf(r, "welcome")["id"].(string)
	h.waitDelivery("r", admin, id, "held by the paused sender", func(d map[string]any) bool {
		return d["status"] == "scheduled" && d["attempt_count"].(float64) >= 1
	})
	h.sandbox.Unban("1")
	h.sandbox.SetSpacing("1", 150*time.Millisecond)
	p = c.get("/p/r/deliveries")
	if !strings.Contains(p.Body, "/pacer/resume") || !strings.Contains(p.Body, "blocked") {
		t.Fatalf("the pacer card does not show the paused sender with its reason:\n%s", p.Body)
	}
	if p := c.do("POST", "/p/r/integrations/intellectdialog/pacer/resume", url.Values{"csrf": {csrf}}); p.Status != 303 {
		t.Fatalf("resume = %d:\n%s", p.Status, p.Body)
	}
	h.waitDelivery("r", admin, id, "sent after resuming", sent)

	seen := map[string]int{}
	for _, m := range h.sandbox.Messages() {
		seen[m.Mark]++
	}
	if len(seen) != 2 || seen[id] != 1 {
		t.Errorf("the provider got %v, want two messages once each", seen)
	}
}

// TestPagePacerGroup: the pacer card sets the group the sender shares its pace with, as the
// API's share_with_group does; a name the pacer cannot take changes nothing and says why.
func TestPagePacerGroup(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", fastPacing)
	admin, _ := h.activeProperty("g")
	pacer := "/api/v1/properties/g/integrations/intellectdialog/pacer"
	c := h.pageClient()
	c.signInWithLink(h.signInLink("g"))
	csrf := c.csrf("/p/g/deliveries")
	share := func(group string) pageAnswer {
		t.Helper()
		p := c.do("POST", "/p/g/integrations/intellectdialog/pacer", url.Values{"csrf": {csrf}, "share_with_group": {group}})
		if p.Status != 303 || p.Header.Get("Location") != "/p/g/deliveries#pacer-intellectdialog" {
			t.Fatalf("share %q = %d → %q:\n%s", group, p.Status, p.Header.Get("Location"), p.Body)
		}
		return c.get("/p/g/deliveries")
	}
	group := func() any { t.Helper(); return h.must(200, "GET", pacer, admin, nil).Body["share_with_group"] }

	if p := c.get("/p/g/deliveries"); !strings.Contains(p.Body, `id="pacer-group-intellectdialog"`) || !strings.Contains(p.Body, "paced for this property alone") {
		t.Fatalf("the pacer card has no group field, or does not say the pace is the property's own:\n%s", p.Body)
	}
	p := share(" Chain-Moscow ")
	if !strings.Contains(p.Body, "shares its pace with group chain-moscow") || !strings.Contains(p.Body, `value="chain-moscow"`) {
		t.Fatalf("after sharing, the page does not show the group:\n%s", p.Body)
	}
	if g := group(); g != "chain-moscow" {
		t.Fatalf("the API's share_with_group = %v, want chain-moscow", g)
	}
	p = share("no spaces allowed")
	if !strings.Contains(p.Body, "flash-error") || !strings.Contains(p.Body, "share_with_group") {
		t.Fatalf("a refused group is not explained:\n%s", p.Body)
	}
	if g := group(); g != "chain-moscow" {
		t.Fatalf("a refused group changed share_with_group to %v", g)
	}
	share("")
	if g := group(); g != "" {
		t.Fatalf("an empty group left share_with_group = %v, want the property's own pace", g)
	}
}

// TestPageMailingChannels: the editor sets a mailing's channels in order and, once a WhatsApp
// kind is among them, the approved template per language with its parameters, previewed for a
// sample booking; a refused order is shown again with the reason.
func TestPageMailingChannels(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("w")
	_, waURL, _ := channelSandboxes(t)
	cloud := "/api/v1/properties/w/integrations/whatsapp_cloud"
	h.must(200, "PUT", cloud, admin, map[string]any{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
		"app_secret": wasandbox.DefaultAppSecret, "base_url": wasandbox.CloudBaseURL(waURL)})
	h.must(200, "POST", cloud+"/check", admin, nil)
	h.must(200, "PUT", cloud+"/sender", admin, map[string]any{"sender_id": wasandbox.NumberReception})
	h.must(200, "POST", cloud+"/activate", admin, nil)

	c := h.pageClient()
	c.signInWithLink(h.signInLink("w"))
	p := c.get("/p/w/mailings")
	csrf := field(t, csrfRE, p.Body)
	if !strings.Contains(p.Body, `id="method-welcome-4"`) || strings.Contains(p.Body, `id="wa-welcome"`) {
		t.Fatalf("the editor has no channel places, or WhatsApp templates before a WhatsApp channel is chosen:\n%s", p.Body)
	}
	form := func(extra url.Values) url.Values {
		f := url.Values{"csrf": {csrf}, "tpl_en": {"Hi {guest_name}"}, "tpl_ru": {"Привет, {guest_name}"},
			"day_offset": {"-1"}, "send_time": {"10:00"}, "delay_minutes": {"0"}, "late_until_day": {"0"},
			"quiet_start": {"21:00"}, "quiet_end": {"09:00"}}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	save := func(extra url.Values) pageAnswer {
		t.Helper()
		return c.do("POST", "/p/w/mailings/welcome", form(extra))
	}
	welcome := func() response {
		t.Helper()
		return h.must(200, "GET", "/api/v1/properties/w/mailings/welcome", admin, nil)
	}

	// The same channel twice: refused, and the choices come back with the reason.
	p = save(url.Values{"method_1": {"whatsapp_cloud"}, "method_2": {"whatsapp_cloud"}})
	if p.Status != 422 || !strings.Contains(p.Body, "twice") {
		t.Fatalf("a channel twice = %d:\n%s", p.Status, p.Body)
	}
	if got := fmt.Sprint(welcome().Body["sending_methods"]); got != "[intellectdialog]" {
		t.Fatalf("a refused order changed the channels to %s", got)
	}

	// WhatsApp Cloud first, then email: saved in that order; the templates appear.
	if p = save(url.Values{"method_1": {"whatsapp_cloud"}, "method_2": {""}, "method_3": {"email"}}); p.Status != 303 {
		t.Fatalf("an order = %d:\n%s", p.Status, p.Body)
	}
	if got := fmt.Sprint(welcome().Body["sending_methods"]); got != "[whatsapp_cloud email]" {
		t.Fatalf("sending_methods = %s, want [whatsapp_cloud email]", got)
	}
	p = c.get("/p/w/mailings")
	if !strings.Contains(p.Body, `id="wa-welcome"`) || !strings.Contains(p.Body, `value="booking_welcome/en"`) ||
		!strings.Contains(p.Body, `value="booking_welcome/ru"`) || strings.Contains(p.Body, "promo_discount") {
		t.Fatalf("the editor does not offer the approved templates (and only those):\n%s", p.Body)
	}

	// A template per language with its parameters; the preview fills the body.
	p = save(url.Values{"method_1": {"whatsapp_cloud"}, "method_2": {"email"}, "wa_section": {"whatsapp_cloud"},
		"wa_tpl_en": {"booking_welcome/en"}, "wa_params_en": {"{guest_name}\r\n{hotel_name}\r\n\r\n{arrival_date}"}, "wa_tpl_ru": {""}})
	if p.Status != 303 {
		t.Fatalf("templates = %d:\n%s", p.Status, p.Body)
	}
	wa, _ := welcome().Body["wa_templates"].(map[string]any)
	en, _ := wa["en"].(map[string]any)
	if en["name"] != "booking_welcome" || en["language"] != "en" || fmt.Sprint(en["params"]) != "[{guest_name} {hotel_name} {arrival_date}]" || wa["ru"] != nil {
		t.Fatalf("wa_templates = %v", wa)
	}
	p = c.get("/p/w/mailings")
	if !strings.Contains(p.Body, `<option value="booking_welcome/en" selected>`) || !strings.Contains(p.Body, "Hello Anna Petrova! We look forward to welcoming you at Hotel w on") {
		t.Fatalf("the chosen template or its preview is missing:\n%s", p.Body)
	}
	p = c.do("POST", "/p/w/mailings/welcome/wa-preview", url.Values{"lang": {"ru"}, "channel": {"whatsapp_cloud"},
		"template": {"booking_welcome/ru"}, "params": {"{guest_name}\n{hotel_name}"}}, "X-CSRF-Token", csrf, "Accept", "application/json")
	if p.Status != 200 || !strings.Contains(p.Body, "Здравствуйте, Анна Петрова! Ждём вас в Hotel w {{3}}.") || !strings.Contains(p.Body, "takes 3 parameter(s); 2 given") {
		t.Errorf("live template preview = %d %s", p.Status, p.Body)
	}
}
