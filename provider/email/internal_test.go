package email

import (
	"net/textproto"
	"strings"
	"testing"
)

func TestServerRepliesAreCleanedOfThePassword(t *testing.T) {
	c, err := New(Config{Host: "smtp.example.com", Username: "desk@hotel.example", Password: "Tr0ub4dor&3",
		FromAddress: "desk@hotel.example"})
	if err != nil {
		t.Fatal(err)
	}
	blob := b64("\x00desk@hotel.example\x00Tr0ub4dor&3")
	// A server that echoes what it got must not make Bellhop show the password.
	e := c.classifyReply(stepAuth, &textproto.Error{Code: 501, Msg: "5.5.2 Syntax error in " + blob + "\n5.5.2 near Tr0ub4dor&3 (" + b64("Tr0ub4dor&3") + ")"})
	for _, s := range []string{e.Error(), e.Reason, e.Message} {
		if strings.Contains(s, "Tr0ub4dor&3") || strings.Contains(s, blob) || strings.Contains(s, b64("Tr0ub4dor&3")) {
			t.Errorf("the password shows: %s", s)
		}
	}
	if e.EnhancedCode != "5.5.2" || strings.Contains(e.Reason, "5.5.2") || strings.Contains(e.Reason, "\n") {
		t.Errorf("enhanced %q reason %q: want the status once and one line", e.EnhancedCode, e.Reason)
	}
	if e.Class != ClassUnauthorized {
		t.Errorf("a 5xx to AUTH is class %s, want unauthorized", e.Class)
	}
	if s := c.String(); strings.Contains(s, "Tr0ub4dor") {
		t.Errorf("String shows the password: %s", s)
	}
}

func TestReasonsAreCutShort(t *testing.T) {
	c, err := New(Config{Host: "smtp.example.com", FromAddress: "desk@hotel.example"})
	if err != nil {
		t.Fatal(err)
	}
	_, text := c.reply("5.0.0 " + strings.Repeat("я", 300) + "\x1b[31m")
	if len(text) > maxReason+len("…") || !strings.HasSuffix(text, "…") || strings.ContainsRune(text, 0x1b) {
		t.Errorf("reason of %d bytes: %q", len(text), text)
	}
}

func TestClassifyByStep(t *testing.T) {
	c, err := New(Config{Host: "smtp.example.com", FromAddress: "desk@hotel.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step  step
		code  int
		msg   string
		class Class
	}{
		{stepAuth, 535, "5.7.8 Authentication failed", ClassUnauthorized},
		{stepAuth, 538, "5.7.11 Encryption required for requested authentication mechanism", ClassSettings},
		{stepAuth, 454, "4.7.0 Temporary authentication failure", ClassUnavailable},
		{stepMail, 553, "5.7.1 <x@y.z>: Sender address rejected: not owned by user desk", ClassSettings},
		{stepMail, 552, "5.3.4 Message size exceeds fixed limit", ClassRejected},
		{stepRcpt, 554, "5.7.1 <x@y.z>: Relay access denied", ClassUnauthorized},
		{stepRcpt, 550, "5.1.1 <x@y.z>: Recipient address rejected: User unknown", ClassUndeliverable},
		{stepRcpt, 552, "5.2.2 The email account that you tried to reach is over quota", ClassRejected},
		{stepRcpt, 450, "4.2.0 <x@y.z>: Recipient address rejected: Greylisted", ClassUnavailable},
		{stepData, 554, "5.5.1 Error: no valid recipients", ClassRejected},
		{stepEnd, 554, "5.7.1 Message rejected as spam", ClassRejected},
		{stepEnd, 451, "4.7.1 Rate limit exceeded, try again later", ClassRateLimited},
		{stepEnd, 250, "2.0.0 Ok", ClassInternal},
		{stepStartTLS, 454, "4.7.0 TLS not available due to local problem", ClassUnavailable},
		{stepStartTLS, 502, "5.5.1 TLS not supported", ClassSettings},
	} {
		e := c.classifyReply(tc.step, &textproto.Error{Code: tc.code, Msg: tc.msg})
		if e.Class != tc.class {
			t.Errorf("%s %d %q: class %s, want %s", tc.step, tc.code, tc.msg, e.Class, tc.class)
		}
	}
}
