package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		// Same-origin paths go through.
		{"/", "/"},
		{"/p/a/users", "/p/a/users"},
		{"/ok?x=1", "/ok?x=1"},
		{"/p/a?next=/x#top", "/p/a?next=/x#top"},
		{"/p/a%2Fb", "/p/a%2Fb"},
		{"/p/отель", "/p/отель"},
		{" /p/a ", "/p/a"}, // a browser trims the ends
		{"/p/\ta", "/p/a"}, // and drops tabs anywhere
		{"", "/"},
		// The cases: what browsers clean up into another host.
		{"/\t/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"\t//evil.example", "/"},
		{"\t/evil", "/evil"}, // clean: a tab before a local path leaves the local path
		{"\x00//evil.example", "/"},
		{"//evil.example/", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/p\\..\\..\\evil", "/"},
		// Encoded forms that decode to another host.
		{"/%2F%2Fevil", "/"},
		{"/%2fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%00", "/"},
		{"/%zz", "/"},
		// Schemes and hosts.
		{"https://evil.example/", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"p/a", "/"},
		{"/p/a\x7f", "/"},
		{"/p/\x01a", "/"},
		{"/p/a\x01", "/p/a"}, // trailing controls are trimmed, as a browser does
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The Location a language switch answers is the cleaned path, whatever the query says.
func TestLangSwitchRedirectStaysOnSite(t *testing.T) {
	p := &pages{s: &Server{cfg: Config{PublicURL: "http://bellhop.test"}}}
	for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example", "/%2F%2Fevil"} {
		r := httptest.NewRequest("GET", "/lang/ru?next="+url.QueryEscape(next), nil)
		r.SetPathValue("lang", "ru")
		w := httptest.NewRecorder()
		p.setLang(w, r)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
			t.Errorf("GET /lang/ru?next=%q: %d Location %q, want 303 to /", next, w.Code, w.Header().Get("Location"))
		}
	}
}
