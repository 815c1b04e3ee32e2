package mailings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
)

// links makes links on base for whatever it is asked, and remembers the question.
type links struct {
	base               string
	pid, address, lang string
}

func (l *links) URL(pid, address, lang string) string {
	l.pid, l.address, l.lang = pid, address, lang
	return l.base + "/unsubscribe/tok-" + pid
}

// TestComposeForEmailCarriesTheUnsubscribeLink: an e-mail's text and HTML end with the
// unsubscribe line in the guest's language and its header link is set over https only; a
// phone channel's message carries none, and neither does a preview without links.
func TestComposeForEmailCarriesTheUnsubscribeLink(t *testing.T) {
	mailKind := &provider.Kind{Name: "mail", Address: provider.AddressEmail, Caps: provider.Capabilities{Text: true}}
	phoneKind := &provider.Kind{Name: "chat", Address: provider.AddressPhone, Caps: provider.Capabilities{Text: true}}
	m := mailings.Defaults("p1", "mail")[0]
	p := bellhop.Property{ID: "p1", Name: "Aurora", TimeZone: "UTC", Language: "en"}
	b := bellhop.Booking{PropertyID: "p1", ID: "b1", Guest: bellhop.Guest{Name: "Anna", Phone: "+79123456789", Email: "anna@guest.example", Language: "ru"}}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

	for _, base := range []string{"https://bellhop.example", "http://127.0.0.1:8080"} {
		l := &links{base: base}
		msg, ok := mailings.ComposeFor(&mailings.Channel{Name: "mail", Kind: mailKind, Links: l}, &m, &p, &b, now)
		link := base + "/unsubscribe/tok-p1"
		if !ok || l.pid != "p1" || l.address != "anna@guest.example" || l.lang != "ru" {
			t.Fatalf("%s: ok %v, links asked for %+v", base, ok, l)
		}
		if !strings.HasSuffix(msg.Text, mailings.UnsubscribeLine("ru", link)) || !strings.Contains(msg.Text, "отпишитесь") {
			t.Errorf("%s: the text does not end with the Russian line: %q", base, msg.Text)
		}
		if !strings.Contains(msg.HTML, `<a href="`+link+`">`) {
			t.Errorf("%s: the HTML has no link: %s", base, msg.HTML)
		}
		if want := strings.HasPrefix(base, "https://"); (msg.Unsubscribe == link) != want || (msg.Unsubscribe == "") == want {
			t.Errorf("%s: List-Unsubscribe link %q", base, msg.Unsubscribe)
		}
	}
	msg, _ := mailings.ComposeFor(&mailings.Channel{Name: "chat", Kind: phoneKind, Links: &links{base: "https://x"}}, &m, &p, &b, now)
	if msg.Unsubscribe != "" || strings.Contains(msg.Text, "/unsubscribe/") {
		t.Errorf("a phone message carries an unsubscribe link: %+v", msg)
	}
	msg, _ = mailings.ComposeFor(&mailings.Channel{Name: "mail", Kind: mailKind}, &m, &p, &b, now)
	if msg.Unsubscribe != "" || strings.Contains(msg.Text, "/unsubscribe/") {
		t.Errorf("a preview without links carries one: %+v", msg)
	}
	if got := mailings.UnsubscribeLine("fr", "L"); !strings.HasPrefix(got, "To receive no more") {
		t.Errorf("a language without a line = %q, want English", got)
	}
}
