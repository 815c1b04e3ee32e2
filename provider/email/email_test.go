package email_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/email"
	"github.com/bellhop/bellhop/provider/email/sandbox"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// start runs a sandbox for the test.
func start(t *testing.T, cfg sandbox.Config) *sandbox.Server {
	t.Helper()
	sb, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// settings are a client's settings for sb: its account, its certificate trusted, private
// addresses allowed.
func settings(sb *sandbox.Server) email.Config {
	user, pass := sb.Credentials()
	return email.Config{
		Host: sb.Host(), Port: sb.Port(), Security: email.Security(sb.Mode()),
		Username: user, Password: pass,
		FromAddress: "reception@aurora-hotel.example", FromName: "Hotel Aurora",
		Timeout: 5 * time.Second, AllowPrivate: true, RootCAs: sb.CertPool(), HelloName: "bellhop.test",
	}
}

func newClient(t *testing.T, cfg email.Config) *email.Client {
	t.Helper()
	c, err := email.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// wantClass fails unless err is an *email.Error of class want.
func wantClass(t *testing.T, err error, want email.Class) *email.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want class %s", want)
	}
	e, ok := email.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *email.Error", err, err)
	}
	if e.Class != want {
		t.Fatalf("class %s, want %s: %v", e.Class, want, err)
	}
	if e.Message == "" {
		t.Errorf("no message for people: %v", err)
	}
	return e
}

func TestCheckSignsInWithEachSecurity(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sandbox.Config
	}{
		{"starttls", sandbox.Config{Mode: sandbox.ModeSTARTTLS}},
		{"tls", sandbox.Config{Mode: sandbox.ModeTLS}},
		{"none with a relay that needs no sign-in", sandbox.Config{Mode: sandbox.ModePlain, NoAuth: true}},
		{"none with sign-in inside the operator's network", sandbox.Config{Mode: sandbox.ModePlain, AllowInsecureAuth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := start(t, tc.cfg)
			cfg := settings(sb)
			if tc.cfg.NoAuth {
				cfg.Username, cfg.Password = "", ""
			}
			if err := newClient(t, cfg).Check(context.Background()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			st := sb.Stats()
			wantLogins := 1
			if tc.cfg.NoAuth {
				wantLogins = 0
			}
			if st.Logins != wantLogins || st.Messages != 0 || st.Connections != 1 {
				t.Errorf("stats %+v: want one connection, %d sign-in, no message", st, wantLogins)
			}
		})
	}
}

func TestCheckWrongPasswordIsUnauthorized(t *testing.T) {
	for _, mode := range []sandbox.Mode{sandbox.ModeSTARTTLS, sandbox.ModeTLS} {
		t.Run(string(mode), func(t *testing.T) {
			sb := start(t, sandbox.Config{Mode: mode})
			var logs bytes.Buffer
			cfg := settings(sb)
			cfg.Password = "Wrong-Secret-42"
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			err := newClient(t, cfg).Check(context.Background())
			e := wantClass(t, err, email.ClassUnauthorized)
			if e.Code != 535 || !strings.Contains(e.Message, "username or password") {
				t.Errorf("code %d message %q: want 535 and words about the username or password", e.Code, e.Message)
			}
			if provider.FailureOf(err) != provider.FailUnauthorized {
				t.Errorf("provider kind %s, want unauthorized", provider.FailureOf(err))
			}
			if sb.Stats().FailedAuth != 1 {
				t.Errorf("the server saw %d refused sign-ins, want 1", sb.Stats().FailedAuth)
			}
			for _, secret := range []string{cfg.Password, base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.Username + "\x00" + cfg.Password))} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("the password shows in the error or the log: %v\n%s", err, logs.String())
				}
			}
		})
	}
}

func TestCheckCertificateProblems(t *testing.T) {
	t.Run("not trusted", func(t *testing.T) {
		for _, mode := range []sandbox.Mode{sandbox.ModeSTARTTLS, sandbox.ModeTLS} {
			sb := start(t, sandbox.Config{Mode: mode})
			cfg := settings(sb)
			cfg.RootCAs = nil // the system's authorities do not know the sandbox
			e := wantClass(t, newClient(t, cfg).Check(context.Background()), email.ClassSettings)
			if !strings.Contains(e.Message, "certificate") || !strings.Contains(e.Message, "not signed by an authority") {
				t.Errorf("%s: message %q does not say the certificate is not trusted", mode, e.Message)
			}
			if sb.Stats().Logins != 0 {
				t.Errorf("%s: the password went to a server whose certificate was not trusted", mode)
			}
		}
	})
	t.Run("for another name", func(t *testing.T) {
		sb := start(t, sandbox.Config{Hostname: "mail.sandbox.test"})
		cfg := settings(sb)
		cfg.Host = "localhost" // reaches the sandbox; its certificate names mail.sandbox.test
		e := wantClass(t, newClient(t, cfg).Check(context.Background()), email.ClassSettings)
		if !strings.Contains(e.Message, "not for localhost") {
			t.Errorf("message %q does not say the certificate is for another name", e.Message)
		}
	})
}

func TestCheckSettingsThatDoNotFitTheServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server sandbox.Config
		change func(*email.Config)
		words  string
	}{
		{"sign-in over plain text refused: use STARTTLS", sandbox.Config{Mode: sandbox.ModeSTARTTLS},
			func(c *email.Config) { c.Security = email.SecurityNone }, "starttls"},
		{"no STARTTLS offered", sandbox.Config{Mode: sandbox.ModePlain, AllowInsecureAuth: true},
			func(c *email.Config) { c.Security = email.SecuritySTARTTLS }, "does not offer STARTTLS"},
		{"tls to a server that greets in plain text", sandbox.Config{Mode: sandbox.ModeSTARTTLS},
			func(c *email.Config) { c.Security = email.SecurityTLS }, "did not answer with TLS"},
		{"sign-in where the server offers none", sandbox.Config{Mode: sandbox.ModeSTARTTLS, NoAuth: true},
			func(c *email.Config) { c.Username, c.Password = "someone", "secret" }, "does not offer sign-in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := start(t, tc.server)
			cfg := settings(sb)
			tc.change(&cfg)
			err := newClient(t, cfg).Check(context.Background())
			e := wantClass(t, err, email.ClassSettings)
			if !strings.Contains(strings.ToLower(e.Message), strings.ToLower(tc.words)) {
				t.Errorf("message %q does not say %q", e.Message, tc.words)
			}
			if provider.FailureOf(err) != provider.FailUnauthorized {
				t.Errorf("provider kind %s: a settings problem must stop sending like a rejected key", provider.FailureOf(err))
			}
		})
	}
}

func TestCheckUnreachableAndSlowServersAreUnavailable(t *testing.T) {
	t.Run("nothing listens", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		c := newClient(t, email.Config{Host: "127.0.0.1", Port: port, FromAddress: "a@hotel.example", AllowPrivate: true, Timeout: 2 * time.Second})
		e := wantClass(t, c.Check(context.Background()), email.ClassUnavailable)
		if !strings.Contains(e.Message, "Nothing answers") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("too slow", func(t *testing.T) {
		sb := start(t, sandbox.Config{})
		sb.SetDelay(2 * time.Second)
		cfg := settings(sb)
		cfg.Timeout = 200 * time.Millisecond
		e := wantClass(t, newClient(t, cfg).Check(context.Background()), email.ClassUnavailable)
		if !strings.Contains(e.Message, "did not answer within 200ms") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		sb := start(t, sandbox.Config{})
		sb.SetDelay(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		began := time.Now()
		err := newClient(t, settings(sb)).Check(ctx)
		wantClass(t, err, email.ClassUnavailable)
		if time.Since(began) > time.Second {
			t.Errorf("Check took %s after its context ended", time.Since(began))
		}
		if provider.FailureOf(err) != provider.FailUnavailable {
			t.Errorf("provider kind %s", provider.FailureOf(err))
		}
	})
}

func TestAddressPolicyRefusesPrivateHosts(t *testing.T) {
	sb := start(t, sandbox.Config{})
	for _, host := range []string{sb.Host(), "localhost", "10.1.2.3", "169.254.169.254", "mail.internal"} {
		cfg := settings(sb)
		cfg.Host, cfg.AllowPrivate = host, false
		_, err := email.New(cfg)
		if bellhop.ErrorCode(err) != bellhop.EInvalid {
			t.Errorf("%s: error %v, want invalid_input", host, err)
			continue
		}
		var be *bellhop.Error
		errors.As(err, &be)
		if len(be.Fields) != 1 || be.Fields[0].Field != "host" {
			t.Errorf("%s: fields %+v, want host", host, be.Fields)
		}
		var refused *safehttp.RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("%s: the cause is not the address policy's: %v", host, err)
		}
		if !strings.Contains(be.Message, "BELLHOP_ALLOW_PRIVATE_PROVIDERS") {
			t.Errorf("%s: message %q does not say how an operator allows it", host, be.Message)
		}
	}
	if n := sb.Stats().Connections; n != 0 {
		t.Errorf("the sandbox was reached %d times", n)
	}
	// The same host is fine when the operator allows private providers.
	if err := newClient(t, settings(sb)).Check(context.Background()); err != nil {
		t.Errorf("with AllowPrivate: %v", err)
	}
}

func TestValidateNamesTheFields(t *testing.T) {
	good := email.Config{Host: "smtp.example.com", Username: "u", Password: "p", FromAddress: "reception@hotel.example"}
	for _, tc := range []struct {
		name   string
		change func(*email.Config)
		fields []string
	}{
		{"good", func(*email.Config) {}, nil},
		{"no host", func(c *email.Config) { c.Host = "" }, []string{"host"}},
		{"an IPv6 address", func(c *email.Config) { c.Host = "[2606:4700::1111]" }, nil},
		{"a documentation address", func(c *email.Config) { c.Host = "2001:db8::1" }, []string{"host"}},
		{"a URL as host", func(c *email.Config) { c.Host = "smtp://smtp.example.com" }, []string{"host"}},
		{"port in host", func(c *email.Config) { c.Host = "smtp.example.com:587" }, []string{"host"}},
		{"not a host name", func(c *email.Config) { c.Host = "smtp example com" }, []string{"host"}},
		{"port out of range", func(c *email.Config) { c.Port = 70000 }, []string{"port"}},
		{"unknown security", func(c *email.Config) { c.Security = "ssl" }, []string{"security"}},
		{"password without username", func(c *email.Config) { c.Username = "" }, []string{"username"}},
		{"username without password", func(c *email.Config) { c.Password = "" }, []string{"password"}},
		{"line break in password", func(c *email.Config) { c.Password = "a\r\nMAIL FROM:<x@y.z>" }, []string{"password"}},
		{"password in clear on the internet", func(c *email.Config) { c.Security = email.SecurityNone }, []string{"security"}},
		{"no from address", func(c *email.Config) { c.FromAddress = "" }, []string{"from_address"}},
		{"name in from address", func(c *email.Config) { c.FromAddress = "Hotel <a@hotel.example>" }, []string{"from_address"}},
		{"not an address", func(c *email.Config) { c.FromAddress = "reception" }, []string{"from_address"}},
		{"line break in from name", func(c *email.Config) { c.FromName = "Hotel\nBcc: x@y.z" }, []string{"from_name"}},
		{"several", func(c *email.Config) { c.Host, c.FromAddress = "", "" }, []string{"host", "from_address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			err := cfg.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var be *bellhop.Error
			if !errors.As(err, &be) || be.Code != bellhop.EInvalid {
				t.Fatalf("error %v, want invalid_input", err)
			}
			var got []string
			for _, f := range be.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v (%s)", got, tc.fields, be.Message)
			}
			if strings.Contains(be.Message, "MAIL FROM") {
				t.Errorf("the message repeats the password: %s", be.Message)
			}
		})
	}
}

// welcome is a message as the send path would build it.
func welcome(to string) email.Message {
	text := "Здравствуйте, Анна!\n\nWe look forward to your stay from 3 to 5 December.\nYour booking: https://aurora-hotel.example/b/42?lang=en.\n\nReception <desk> & team"
	return email.Message{
		To: to, ToName: "Анна Петрова",
		Subject:         "Добро пожаловать — welcome to Hotel Aurora",
		Text:            text,
		MessageID:       email.MessageID("dl_0123456789abcdef01234567", "bellhop.example"),
		ListUnsubscribe: "https://bellhop.example/unsubscribe/" + email.UnsubscribeToken([]byte("0123456789abcdef0123456789abcdef"), "p1", to),
		Headers:         map[string]string{"X-Bellhop-Delivery": "dl_0123456789abcdef01234567"},
	}
}

func TestSendWritesAMultipartMessageOfOurOwn(t *testing.T) {
	sb := start(t, sandbox.Config{})
	cfg := settings(sb)
	clock := bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	cfg.Clock = clock
	m := welcome("anna@guest.example")
	sent, err := newClient(t, cfg).Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.MessageID != "<dl_0123456789abcdef01234567@bellhop.example>" {
		t.Errorf("sent Message-ID %q", sent.MessageID)
	}
	if !strings.Contains(sent.Response, "queued") {
		t.Errorf("server response %q", sent.Response)
	}
	msgs := sb.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages kept, want 1", len(msgs))
	}
	got := msgs[0]
	if got.ParseError != "" {
		t.Fatalf("the sandbox could not read the message: %s\n%s", got.ParseError, got.Raw)
	}
	checks := []struct {
		what, got, want string
	}{
		{"envelope from", got.From, "reception@aurora-hotel.example"},
		{"envelope to", strings.Join(got.To, ","), "anna@guest.example"},
		{"signed in as", got.User, sandbox.DefaultUsername},
		{"content type", got.ContentType, "multipart/alternative"},
		{"Message-ID", got.MessageID, m.MessageID},
		{"subject", got.Subject, m.Subject},
		{"List-Unsubscribe", got.Header.Get("List-Unsubscribe"), "<" + m.ListUnsubscribe + ">"},
		{"List-Unsubscribe-Post", got.Header.Get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
		{"X-Bellhop-Delivery", got.Header.Get("X-Bellhop-Delivery"), "dl_0123456789abcdef01234567"},
		{"Date", got.Header.Get("Date"), "Sat, 21 Nov 2026 10:00:00 +0000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	if !got.TLS {
		t.Error("the message did not come over an encrypted connection")
	}
	from, _ := got.Header.AddressList("From")
	to, _ := got.Header.AddressList("To")
	if len(from) != 1 || from[0].Name != "Hotel Aurora" || len(to) != 1 || to[0].Name != "Анна Петрова" {
		t.Errorf("From %v To %v: want the hotel's and the guest's names", from, to)
	}
	if strings.TrimSpace(got.Text) != m.Text {
		t.Errorf("text part:\n%q\nwant\n%q", got.Text, m.Text)
	}
	for _, want := range []string{
		"Здравствуйте, Анна!", "<p>We look forward", "<br>",
		`<a href="https://aurora-hotel.example/b/42?lang=en">https://aurora-hotel.example/b/42?lang=en</a>.`,
		"Reception &lt;desk&gt; &amp; team",
	} {
		if !strings.Contains(got.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, got.HTML)
		}
	}
	if strings.Contains(got.HTML, "<desk>") {
		t.Error("the HTML part carries the text's markup unescaped")
	}
	if _, ok := got.Header["Bcc"]; ok {
		t.Error("the message has a Bcc header")
	}
}

func TestSendRefusedRecipientIsUndeliverable(t *testing.T) {
	sb := start(t, sandbox.Config{})
	sb.RefuseRecipient("nobody@guest.example")
	_, err := newClient(t, settings(sb)).Send(context.Background(), welcome("nobody@guest.example"))
	e := wantClass(t, err, email.ClassUndeliverable)
	if e.Code != 550 || e.EnhancedCode != "5.1.1" || e.Step != "recipient (RCPT TO)" {
		t.Errorf("code %d %s at %q", e.Code, e.EnhancedCode, e.Step)
	}
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnreachable || !pe.Unsent || pe.Code != "550 5.1.1" {
		t.Errorf("provider error %+v: a refused address falls through to the next channel and is surely unsent", pe)
	}
	if n := len(sb.Messages()); n != 0 {
		t.Errorf("%d messages kept", n)
	}
}

func TestSendTransientRepliesLeaveNothingSent(t *testing.T) {
	for _, tc := range []struct {
		step  sandbox.Step
		reply sandbox.Reply
	}{
		{sandbox.StepMail, sandbox.Reply{Code: 421, Enhanced: "4.7.0", Text: "Try again later, closing connection."}},
		{sandbox.StepRcpt, sandbox.Reply{Code: 451, Enhanced: "4.3.0", Text: "Mail server temporarily rejected message."}},
		{sandbox.StepData, sandbox.Reply{Code: 451, Enhanced: "4.3.0", Text: "Mail server temporarily rejected message."}},
		{sandbox.StepAuth, sandbox.Reply{Code: 454, Enhanced: "4.7.0", Text: "Temporary authentication failure"}},
	} {
		t.Run(string(tc.step), func(t *testing.T) {
			sb := start(t, sandbox.Config{})
			sb.Fail(tc.step, tc.reply, 1)
			c := newClient(t, settings(sb))
			m := welcome("anna@guest.example")
			_, err := c.Send(context.Background(), m)
			e := wantClass(t, err, email.ClassUnavailable)
			if e.Code != tc.reply.Code {
				t.Errorf("code %d, want %d", e.Code, tc.reply.Code)
			}
			if n := sb.Count(m.MessageID); n != 0 {
				t.Fatalf("the server kept the message %d times after a refusal", n)
			}
			if _, err := c.Send(context.Background(), m); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			if n := sb.Count(m.MessageID); n != 1 {
				t.Errorf("after the retry the server has the message %d times, want 1", n)
			}
		})
	}
}

func TestSendDroppedAfterDataIsAnUnknownOutcome(t *testing.T) {
	for _, mode := range []sandbox.Mode{sandbox.ModeSTARTTLS, sandbox.ModeTLS} {
		t.Run(string(mode), func(t *testing.T) {
			sb := start(t, sandbox.Config{Mode: mode})
			sb.DropAfterData(1)
			c := newClient(t, settings(sb))
			m := welcome("anna@guest.example")
			_, err := c.Send(context.Background(), m)
			e := wantClass(t, err, email.ClassUnknownOutcome)
			if !strings.Contains(e.Message, "may or may not have been accepted") {
				t.Errorf("message %q", e.Message)
			}
			if pe, _ := provider.AsError(err); pe.Failure != provider.FailUnavailable || pe.Unsent {
				t.Errorf("provider error %+v: an unknown outcome is unavailable but not surely unsent (never retried blindly)", pe)
			}
			// The server did take it: this is why the caller must hold the delivery. A blind
			// retry delivers it twice, since SMTP has no idempotency and no server dedupes.
			if n := sb.Count(m.MessageID); n != 1 {
				t.Fatalf("the server has the message %d times, want 1", n)
			}
			if _, err := c.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if n := sb.Count(m.MessageID); n != 2 {
				t.Errorf("after a blind retry the server has the message %d times, want 2", n)
			}
		})
	}
}

func TestSendClassifiesRealServerReplies(t *testing.T) {
	raw, err := os.ReadFile("testdata/replies.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixtures struct {
		Replies []struct {
			Name  string        `json:"name"`
			Step  sandbox.Step  `json:"step"`
			Reply sandbox.Reply `json:"reply"`
			Class string        `json:"class"`
		} `json:"replies"`
	}
	if err := json.Unmarshal(raw, &fixtures); err != nil {
		t.Fatal(err)
	}
	if len(fixtures.Replies) < 8 {
		t.Fatalf("only %d fixtures", len(fixtures.Replies))
	}
	sb := start(t, sandbox.Config{})
	c := newClient(t, settings(sb))
	for _, f := range fixtures.Replies {
		t.Run(f.Name, func(t *testing.T) {
			sb.Reset()
			sb.Fail(f.Step, f.Reply, 1)
			_, err := c.Send(context.Background(), welcome("anna@guest.example"))
			e, ok := email.AsError(err)
			if !ok {
				t.Fatalf("error %v", err)
			}
			if e.Class.String() != f.Class || e.Code != f.Reply.Code || e.EnhancedCode != f.Reply.Enhanced {
				t.Errorf("class %s code %d %s, want %s %d %s: %v", e.Class, e.Code, e.EnhancedCode, f.Class, f.Reply.Code, f.Reply.Enhanced, err)
			}
			first := strings.SplitN(f.Reply.Text, "\n", 2)[0]
			if !strings.HasPrefix(e.Reason, strings.TrimSpace(first)) || strings.Contains(e.Reason, f.Reply.Enhanced) {
				t.Errorf("reason %q: want the server's words on one line without the status repeated", e.Reason)
			}
			if len(sb.Messages()) != 0 {
				t.Errorf("the server kept a message it refused")
			}
		})
	}
}

func TestSendRefusesABadMessageBeforeConnecting(t *testing.T) {
	sb := start(t, sandbox.Config{})
	c := newClient(t, settings(sb))
	for _, tc := range []struct {
		name   string
		change func(*email.Message)
		class  email.Class
	}{
		{"no address", func(m *email.Message) { m.To = "" }, email.ClassUndeliverable},
		{"not an address", func(m *email.Message) { m.To = "anna at guest" }, email.ClassUndeliverable},
		{"no subject", func(m *email.Message) { m.Subject = " " }, email.ClassInvalid},
		{"subject on two lines", func(m *email.Message) { m.Subject = "Hi\r\nBcc: x@y.z" }, email.ClassInvalid},
		{"no text", func(m *email.Message) { m.Text = "" }, email.ClassInvalid},
		{"no Message-ID", func(m *email.Message) { m.MessageID = "" }, email.ClassInvalid},
		{"header injection", func(m *email.Message) { m.Headers = map[string]string{"X-A": "b\r\nBcc: x@y.z"} }, email.ClassInvalid},
		{"our own header", func(m *email.Message) { m.Headers = map[string]string{"message-id": "<x@y>"} }, email.ClassInvalid},
		{"unsubscribe over http", func(m *email.Message) { m.ListUnsubscribe = "http://bellhop.example/u/x" }, email.ClassInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := welcome("anna@guest.example")
			tc.change(&m)
			_, err := c.Send(context.Background(), m)
			wantClass(t, err, tc.class)
		})
	}
	if n := sb.Stats().Connections; n != 0 {
		t.Errorf("the client connected %d times for messages it should have refused", n)
	}
}

func TestSendWithoutHTMLMakesItFromTheText(t *testing.T) {
	sb := start(t, sandbox.Config{Mode: sandbox.ModeTLS})
	m := welcome("anna@guest.example")
	m.HTML = "<p>Our own <b>HTML</b></p>"
	if _, err := newClient(t, settings(sb)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := sb.Messages()[0].HTML; !strings.Contains(got, "Our own <b>HTML</b>") {
		t.Errorf("the caller's HTML was not sent as given: %s", got)
	}
}

func TestClassesAsProviderKinds(t *testing.T) {
	for class, kind := range map[email.Class]provider.Failure{
		email.ClassUnavailable:    provider.FailUnavailable,
		email.ClassRateLimited:    provider.FailRateLimited,
		email.ClassUnauthorized:   provider.FailUnauthorized,
		email.ClassSettings:       provider.FailUnauthorized,
		email.ClassUndeliverable:  provider.FailUnreachable,
		email.ClassRejected:       provider.FailInvalidRequest,
		email.ClassInvalid:        provider.FailInvalidRequest,
		email.ClassUnknownOutcome: provider.FailUnavailable,
	} {
		err := error(&email.Error{Step: "x", Class: class, Message: "m"})
		if got := provider.FailureOf(err); got != kind {
			t.Errorf("%s: provider kind %s, want %s", class, got, kind)
		}
		pe, ok := provider.AsError(err)
		if !ok || pe.Provider != email.Kind || pe.Reason != "m" {
			t.Errorf("%s: provider error %+v", class, pe)
		}
		if pe.Unsent == (class == email.ClassUnknownOutcome) {
			t.Errorf("%s: unsent %v", class, pe.Unsent)
		}
		if email.ClassOf(pe) != class {
			t.Errorf("%s: the provider view loses the class", class)
		}
	}
}
