package email_test

import (
	"strings"
	"testing"

	"github.com/bellhop/bellhop/provider/email"
)

func TestHTMLFromText(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		not        []string
	}{
		{"paragraphs and line breaks", "Dear Anna,\r\n\r\n\r\nline one\nline two\n \nbye",
			[]string{"<p>Dear Anna,</p>", "<p>line one<br>\nline two</p>", "<p>bye</p>"}, []string{"<p></p>"}},
		{"markup is escaped", `<script>alert("x")</script> & <b>`,
			[]string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;"}, []string{"<script>", "<b>"}},
		{"links", "See https://hotel.example/a?b=1&c=2. Or (https://hotel.example/x_(1)).",
			[]string{`<a href="https://hotel.example/a?b=1&amp;c=2">https://hotel.example/a?b=1&amp;c=2</a>. Or (`,
				`<a href="https://hotel.example/x_(1)">https://hotel.example/x_(1)</a>).`}, nil},
		{"a quote cannot leave the attribute", `https://x.example/"onmouseover="alert(1)`,
			[]string{`<a href="https://x.example/">https://x.example/</a>&#34;onmouseover=&#34;alert(1)`}, []string{`" onmouseover`}},
		{"only http and https become links", "javascript:alert(1) ftp://x.example mailto:a@b.example",
			[]string{"javascript:alert(1) ftp://x.example mailto:a@b.example"}, []string{"<a "}},
		{"text in other scripts", "Добро пожаловать, 山田さん", []string{"<p>Добро пожаловать, 山田さん</p>"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := email.HTMLFromText(tc.text)
			if !strings.HasPrefix(got, "<!DOCTYPE html>") || !strings.Contains(got, `<meta charset="utf-8">`) {
				t.Errorf("not an HTML document in UTF-8:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("has %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestMessageID(t *testing.T) {
	for _, tc := range []struct {
		id, domain, want, wantDomain string
	}{
		{"dl_0123456789abcdef01234567", "bellhop.example", "<dl_0123456789abcdef01234567@bellhop.example>", "bellhop.example"},
		{"dl_1", "https://Bellhop.Example:8443/app", "<dl_1@bellhop.example>", "bellhop.example"},
		{"a b@c<d>.", "", "<a=20b=40c=3Cd=3E=2E@bellhop.invalid>", "bellhop.invalid"},
		{"x=y..z", "host..example.", "<x=3Dy.=2Ez@host.example>", "host.example"},
	} {
		got := email.MessageID(tc.id, tc.domain)
		if got != tc.want {
			t.Errorf("MessageID(%q, %q) = %q, want %q", tc.id, tc.domain, got, tc.want)
		}
		id, domain, ok := email.ParseMessageID(got)
		if !ok || id != tc.id || domain != tc.wantDomain {
			t.Errorf("ParseMessageID(%q) = %q, %q, %v; want %q, %q", got, id, domain, ok, tc.id, tc.wantDomain)
		}
	}
	first, again := email.MessageID("dl_1", "h.example"), email.MessageID("dl_1", "h.example")
	if first != again {
		t.Error("the same delivery got two Message-IDs")
	}
	for _, bad := range []string{"", "dl_1@h", "<dl_1>", "<@h>", "<a@b@c>", "<a=2@h>", "<a b@h>"} {
		if _, _, ok := email.ParseMessageID(bad); ok {
			t.Errorf("ParseMessageID(%q) took it", bad)
		}
	}
}
