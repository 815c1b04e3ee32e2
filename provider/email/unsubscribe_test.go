package email_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/provider/email"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestUnsubscribeTokenRoundTrip(t *testing.T) {
	for _, tc := range []struct{ property, addr string }{
		{"p1", "anna@guest.example"},
		{"", "anna@guest.example"},
		{"отель/7", "Анна+tag@почта.рф"},
		{"a.b", "c@d.example"}, // the split between property and address is not guessable
	} {
		tok := email.UnsubscribeToken(secret, tc.property, tc.addr)
		if tok == "" || url.PathEscape(tok) != tok || url.QueryEscape(tok) != tok {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		p, a, ok := email.VerifyUnsubscribe(secret, tok)
		if !ok || p != tc.property || a != tc.addr {
			t.Errorf("Verify(%q) = %q, %q, %v; want %q, %q", tok, p, a, ok, tc.property, tc.addr)
		}
	}
	if email.UnsubscribeToken(secret, "a.b", "c@d.example") == email.UnsubscribeToken(secret, "a", "b.c@d.example") {
		t.Error("two different (property, address) pairs got one token")
	}
}

func TestUnsubscribeTokenRefusesTampering(t *testing.T) {
	tok := email.UnsubscribeToken(secret, "p1", "anna@guest.example")
	other := email.UnsubscribeToken(secret, "p2", "boris@guest.example")
	payload, mac, _ := strings.Cut(tok, ".")
	otherPayload, _, _ := strings.Cut(other, ".")
	bad := map[string]string{
		"empty":                   "",
		"no signature":            payload,
		"empty signature":         payload + ".",
		"another's payload":       otherPayload + "." + mac,
		"truncated signature":     payload + "." + mac[:len(mac)-2],
		"extra part":              tok + ".x",
		"padding":                 tok + "=",
		"standard base64 letters": strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+",
	}
	// Every single changed character.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		if tok[i] == '.' {
			continue
		}
		for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, tok[i])+1)%64], alphabet[(strings.IndexByte(alphabet, tok[i])+63)%64]} {
			b := []byte(tok)
			b[i] = r
			bad["changed at "+string(rune('0'+i%10))+"/"+string(b)] = string(b)
		}
	}
	for name, token := range bad {
		if p, a, ok := email.VerifyUnsubscribe(secret, token); ok {
			t.Errorf("%s: %q verified as %q, %q", name, token, p, a)
		}
	}
	if _, _, ok := email.VerifyUnsubscribe([]byte("another secret of 32 bytes......"), tok); ok {
		t.Error("a token verified with another secret")
	}
	if _, _, ok := email.VerifyUnsubscribe(secret, tok); !ok {
		t.Error("the untouched token does not verify")
	}
}

func TestUnsubscribeTokenWantsARealSecret(t *testing.T) {
	short := []byte("too short")
	if tok := email.UnsubscribeToken(short, "p1", "anna@guest.example"); tok != "" {
		t.Errorf("a %d-byte secret made token %q", len(short), tok)
	}
	if tok := email.UnsubscribeToken(secret, "p1", ""); tok != "" {
		t.Errorf("no address made token %q", tok)
	}
	if _, _, ok := email.VerifyUnsubscribe(nil, "x.y"); ok {
		t.Error("verified without a secret")
	}
}

// TestLinks: a link carries the public URL's host and the guest's language; its token is
// signed with a key derived from the secret key, not with the secret key itself, so a token
// made with the sealing key (or another Bellhop's) is refused.
func TestLinks(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	l, err := email.NewLinks("https://bellhop.example.com/", key)
	if err != nil {
		t.Fatal(err)
	}
	link := l.URL("p1", " Anna@Guest.Example ", "ru")
	tok, lang, ok := strings.Cut(strings.TrimPrefix(link, "https://bellhop.example.com/unsubscribe/"), "?")
	if !ok || lang != "lang=ru" || tok == link {
		t.Fatalf("link = %q", link)
	}
	if p, a, ok := l.Verify(tok); !ok || p != "p1" || a != "anna@guest.example" {
		t.Fatalf("Verify = %q %q %v", p, a, ok)
	}
	if _, _, ok := l.Verify(email.UnsubscribeToken(key, "p1", "anna@guest.example")); ok {
		t.Fatal("a token signed with the secret key itself verified")
	}
	other, _ := email.NewLinks("https://bellhop.example.com", []byte("another key of thirty-two bytes."))
	if _, _, ok := other.Verify(tok); ok {
		t.Fatal("another key verified the token")
	}
	for _, bad := range []string{"", "ftp://x", "bellhop.example.com"} {
		if _, err := email.NewLinks(bad, key); err == nil {
			t.Errorf("NewLinks(%q) accepted", bad)
		}
	}
	if _, err := email.NewLinks("https://bellhop.example.com", key[:8]); err == nil {
		t.Error("NewLinks took an 8-byte key")
	}
}
