package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/bellhop/bellhop/web"
)

// TestSecurityProviderAddresses: without BELLHOP_ALLOW_PRIVATE_PROVIDERS a provider address
// must be https to a public host; loopback (a port scan of Bellhop's own machine) and the
// cloud's metadata service are refused with 422 naming base_url, and nothing is saved.
func TestSecurityProviderAddresses(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db", func(m *app.Main) { m.Config.AllowPrivateProviders = false })
	admin := h.property("a", true)
	path := "/api/v1/properties/a" + intg
	for _, base := range []string{
		"http://127.0.0.1:1/",
		h.sbURL, // the sandbox, on loopback over http
		strings.Replace(h.sbURL, "http://", "https://", 1),
		"http://169.254.169.254/latest/",
		"https://169.254.169.254/latest/",
		"https://[::1]/v2/",
		"https://10.0.0.1/v2/",
		"https://localhost/v2/",
		"https://metadata.google.internal/computeMetadata/v1/",
	} {
		r := h.call("PUT", path, admin, map[string]any{"api_key": "sandbox-key", "base_url": base})
		if r.Status != 422 || r.errCode() != bellhop.EInvalid || !strings.Contains(r.Raw, `"field":"base_url"`) {
			t.Errorf("PUT base_url %s = %d %s, want 422 naming base_url", base, r.Status, r.Raw)
			continue
		}
		if msg := r.errMessage(); !strings.Contains(msg, "https://") {
			t.Errorf("PUT base_url %s: message %q does not say what is allowed", base, msg)
		}
	}
	if r := h.call("PUT", path, admin, map[string]any{"api_key": "sandbox-key", "base_url": "https://169.254.169.254/latest/"}); !strings.Contains(r.errMessage(), "metadata") {
		t.Errorf("the metadata address: message %q, want it named as such", r.errMessage())
	}
	if r := h.must(200, "GET", path, admin, nil); r.Body["configured"] != false {
		t.Errorf("a refused address was saved: %s", r.Raw)
	}
	// The provider's own public address is fine (nothing is called until the check).
	h.must(200, "PUT", path, admin, map[string]any{"api_key": "sandbox-key", "base_url": "https://api.intellectdialog.com/v2/"})
}

var nextFieldRE = regexp.MustCompile(`name="next" value="([^"]*)"`)

// TestSecurityOpenRedirect: the sign-in and language pages send the browser back only to a
// path of this site, after the clean-up a browser does (tabs dropped, "\" read as "/").
func TestSecurityOpenRedirect(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("a", true)
	evil := []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "\t//evil.example", "https://evil.example/", "/%2F%2Fevil.example"}
	for _, next := range evil {
		c := h.pageClient()
		// The request, byte for byte: GET /lang/ru?next=/%09/evil.example.
		p := c.get("/lang/ru?next=" + url.QueryEscape(next))
		if p.Status != 303 || p.Header.Get("Location") != "/" {
			t.Errorf("GET /lang/ru?next=%q = %d → %q, want / ", next, p.Status, p.Header.Get("Location"))
		}
		lp := c.get("/login?next=" + url.QueryEscape(next))
		if m := nextFieldRE.FindStringSubmatch(lp.Body); m == nil || m[1] != "/" {
			t.Errorf("the sign-in form carries next=%q on as %v, want /", next, m)
		}
		p = c.do("POST", "/login", url.Values{"token": {admin}, "next": {next}, "login_csrf": {field(t, loginCSRFRE, lp.Body)}})
		if p.Status != 303 || p.Header.Get("Location") != "/" {
			t.Errorf("POST /login next=%q = %d → %q, want /", next, p.Status, p.Header.Get("Location"))
		}
	}
	if p := h.pageClient().get("/lang/ru?next=/%09/evil.example"); p.Header.Get("Location") != "/" {
		t.Errorf("GET /lang/ru?next=/%%09/evil.example → %q", p.Header.Get("Location"))
	}
	if p := h.pageClient().get("/lang/en?next=" + url.QueryEscape("/p/a/users?x=1")); p.Header.Get("Location") != "/p/a/users?x=1" {
		t.Errorf("a path of this site: → %q", p.Header.Get("Location"))
	}
}

// tokenRows runs `bellhop token list --json` and returns its rows by id.
func tokenRows(h *harness, args ...string) map[string]map[string]any {
	h.t.Helper()
	out := h.cli(append([]string{"token", "list", "--json"}, args...)...)
	rows := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			h.t.Fatalf("token list --json line %q: %v", line, err)
		}
		rows[row["id"].(string)] = row
	}
	return rows
}

// tokenID is the id `token list` shows for a token.
func tokenID(h *harness, tok string) string {
	h.t.Helper()
	t, err := h.main.DB.TokenByHash(context.Background(), web.HashToken(tok))
	if err != nil {
		h.t.Fatal(err)
	}
	return t.ID
}

// TestSecurityTokens: tokens expire and can be revoked; revoking ends API access and the
// page sessions opened with the token; `token list` never shows a secret; the bearer scheme
// is case-insensitive.
func TestSecurityTokens(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("a", true)
	base := "/api/v1/properties/a"

	t.Run("lower-case bearer", func(t *testing.T) {
		for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
			req, _ := http.NewRequest("GET", h.url+base, nil)
			req.Header.Set("Authorization", scheme+" "+admin)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("Authorization: %s <token> = %d, want 200", scheme, res.StatusCode)
			}
		}
	})

	t.Run("list never shows a token", func(t *testing.T) {
		month := h.cli("token", "create", "--property", "a", "--role", "admin", "--expires", "720h")
		h.must(200, "GET", base, month, nil)
		table := h.cli("token", "list")
		jsonOut := h.cli("token", "list", "--json")
		for _, tok := range []string{admin, month, h.service} {
			sum := web.HashToken(tok)
			for _, secret := range []string{tok, strings.TrimPrefix(tok, "bh_"), hex.EncodeToString(sum), base64.StdEncoding.EncodeToString(sum)} {
				if strings.Contains(table, secret) || strings.Contains(jsonOut, secret) {
					t.Fatalf("token list shows a token or its hash:\n%s\n%s", table, jsonOut)
				}
			}
		}
		for _, col := range []string{"ID", "PROPERTY", "ROLE", "CREATED", "EXPIRES", "LAST USED", "STATE", tokenID(h, month)} {
			if !strings.Contains(table, col) {
				t.Errorf("token list lacks %q:\n%s", col, table)
			}
		}
		rows := tokenRows(h, "--property", "a")
		row := rows[tokenID(h, month)]
		exp, _ := time.Parse(time.RFC3339, fmt.Sprint(row["expires_at"]))
		if d := time.Until(exp); d < 719*time.Hour || d > 721*time.Hour {
			t.Errorf("--expires 720h: expires_at %v", row["expires_at"])
		}
		if row["last_used_at"] == nil || row["state"] != "active" || row["role"] != "admin" || row["property_id"] != "a" {
			t.Errorf("a used token's row = %v", row)
		}
		if r := rows[tokenID(h, admin)]; r["expires_at"] != nil {
			t.Errorf("a token made without --expires expires: %v", r)
		}
		if _, ok := rows[tokenID(h, h.service)]; ok {
			t.Errorf("--property a lists the '*' token")
		}
		if _, ok := tokenRows(h, "--property", "*")[tokenID(h, h.service)]; !ok {
			t.Errorf("--property '*' does not list the '*' token")
		}
	})

	t.Run("expired token", func(t *testing.T) {
		tok := "bh_expired-" + strings.Repeat("x", 30)
		past := time.Now().Add(-time.Minute)
		if err := h.main.DB.CreateToken(context.Background(), &bellhop.Token{ID: "expired1", Hash: web.HashToken(tok), PropertyID: "a",
			Role: bellhop.RoleAdmin, CreatedAt: past.Add(-time.Hour), ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		r := h.call("GET", base, tok, nil)
		if r.Status != 401 || r.errCode() != bellhop.EUnauthorized || !strings.Contains(r.errMessage(), "expired") {
			t.Errorf("expired token = %d %s, want 401 saying it expired", r.Status, r.Raw)
		}
		c := h.pageClient()
		lp := c.get("/login")
		p := c.do("POST", "/login", url.Values{"token": {tok}, "login_csrf": {field(t, loginCSRFRE, lp.Body)}})
		if p.Status != 401 || cookieOf(p, "bellhop_session") != nil || !strings.Contains(p.Body, "expired") {
			t.Errorf("sign-in with an expired token = %d, want 401 saying it expired", p.Status)
		}
		if row := tokenRows(h)["expired1"]; row["state"] != "expired" {
			t.Errorf("token list: %v, want state expired", row)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		tok := h.cli("token", "create", "--property", "a", "--role", "admin")
		other := h.cli("token", "create", "--property", "a", "--role", "admin")
		h.must(200, "GET", base, tok, nil)
		// A page session opened with the token, and one with another token.
		open := func(tok string) (*pageClient, string) {
			c := h.pageClient()
			lp := c.get("/login")
			if p := c.do("POST", "/login", url.Values{"token": {tok}, "login_csrf": {field(t, loginCSRFRE, lp.Body)}}); p.Status != 303 {
				t.Fatalf("sign in = %d:\n%s", p.Status, p.Body)
			}
			return c, c.csrf("/p/a")
		}
		page, csrf := open(tok)
		otherPage, _ := open(other)

		id := tokenID(h, tok)
		var out, errb bytes.Buffer
		if err := app.Run(context.Background(), []string{"token", "revoke", id}, h.env(nil), &out, &errb); err != nil {
			t.Fatalf("token revoke: %v\n%s", err, errb.String())
		}
		if !strings.Contains(out.String(), "revoked") || !strings.Contains(out.String(), "1 page session") || strings.Contains(out.String(), tok) {
			t.Errorf("token revoke said %q", out.String())
		}

		r := h.call("GET", base, tok, nil)
		if r.Status != 401 || !strings.Contains(r.errMessage(), "revoked") {
			t.Errorf("API with a revoked token = %d %s, want 401 saying it was revoked", r.Status, r.Raw)
		}
		if p := page.get("/p/a"); p.Status != 303 || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
			t.Errorf("page of a revoked token's session = %d → %q, want the sign-in page", p.Status, p.Header.Get("Location"))
		}
		p := page.do("POST", "/p/a/integrations/intellectdialog", url.Values{"csrf": {csrf}, "api_key": {"sandbox-key"},
			"base_url": {h.sbURL}, "action": {"save"}}, "Origin", h.url)
		if p.Status != 401 {
			t.Errorf("form post of a revoked token's session = %d, want 401", p.Status)
		}
		if r := h.must(200, "GET", base+intg, other, nil); r.Body["configured"] != false {
			t.Errorf("the revoked session's form post saved the key: %s", r.Raw)
		}
		// Another token and its session work on.
		h.must(200, "GET", base, other, nil)
		if p := otherPage.get("/p/a"); p.Status != 200 {
			t.Errorf("another token's session = %d, want 200", p.Status)
		}
		if row := tokenRows(h)[id]; row["state"] != "revoked" || row["revoked_at"] == nil {
			t.Errorf("token list: %v, want state revoked", row)
		}
		// Revoking again says so; an unknown id is an error that says where ids come from.
		out.Reset()
		if err := app.Run(context.Background(), []string{"token", "revoke", id}, h.env(nil), &out, &errb); err != nil || !strings.Contains(out.String(), "already revoked") {
			t.Errorf("revoking again: %v, %q", err, out.String())
		}
		errb.Reset()
		if err := app.Run(context.Background(), []string{"token", "revoke", "nope"}, h.env(nil), &out, &errb); err == nil || !strings.Contains(err.Error(), "token list") {
			t.Errorf("revoking an unknown id: %v", err)
		}
	})
}
