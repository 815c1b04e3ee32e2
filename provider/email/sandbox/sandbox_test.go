package sandbox

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// These tests talk to the sandbox with go-smtp's own client, not Bellhop's, so the sandbox is
// checked against a second SMTP implementation.

func startT(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dial connects as the sandbox's mode wants, trusting its certificate.
func dial(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	tlsConfig := &tls.Config{ServerName: "localhost", RootCAs: s.CertPool()}
	var (
		c   *smtp.Client
		err error
	)
	switch s.Mode() {
	case ModeTLS:
		c, err = smtp.DialTLS(s.Addr(), tlsConfig)
	case ModeSTARTTLS:
		c, err = smtp.DialStartTLS(s.Addr(), tlsConfig)
	default:
		c, err = smtp.Dial(s.Addr())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const multipartMessage = "From: Hotel <reception@hotel.example>\r\n" +
	"To: anna@guest.example\r\n" +
	"Subject: =?UTF-8?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?=\r\n" +
	"Message-ID: <dl_1@bellhop.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=BOUNDARY\r\n" +
	"\r\n" +
	"--BOUNDARY\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82, Anna=\r\n" +
	"!\r\n" +
	"--BOUNDARY\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+0J/RgNC40LLQtdGCLCBB\r\nbm5hITwvcD4=\r\n" +
	"--BOUNDARY--\r\n"

func send(c *smtp.Client, from, to, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

func TestKeepsAndParsesEveryMessage(t *testing.T) {
	for _, mode := range []Mode{ModeSTARTTLS, ModeTLS} {
		t.Run(string(mode), func(t *testing.T) {
			s := startT(t, Config{Mode: mode})
			c := dial(t, s)
			if err := c.Auth(sasl.NewPlainClient("", DefaultUsername, DefaultPassword)); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the same Message-ID twice: kept twice
				if err := send(c, "reception@hotel.example", "anna@guest.example", multipartMessage); err != nil {
					t.Fatal(err)
				}
			}
			msgs := s.Messages()
			if len(msgs) != 2 || s.Count("dl_1@bellhop.example") != 2 || s.Count("<dl_1@bellhop.example>") != 2 {
				t.Fatalf("%d messages, count %d: want the repeat kept", len(msgs), s.Count("dl_1@bellhop.example"))
			}
			m := msgs[0]
			if m.ParseError != "" {
				t.Fatal(m.ParseError)
			}
			for _, c := range []struct{ what, got, want string }{
				{"from", m.From, "reception@hotel.example"},
				{"to", strings.Join(m.To, ","), "anna@guest.example"},
				{"user", m.User, DefaultUsername},
				{"subject", m.Subject, "Привет"},
				{"message id", m.MessageID, "<dl_1@bellhop.example>"},
				{"content type", m.ContentType, "multipart/alternative"},
				{"text", m.Text, "Привет, Anna!"},
				{"html", m.HTML, "<p>Привет, Anna!</p>"},
				{"header", m.Header.Get("To"), "anna@guest.example"},
			} {
				if c.got != c.want {
					t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
				}
			}
			if !m.TLS || m.ReceivedAt.IsZero() {
				t.Errorf("TLS %v, received at %v", m.TLS, m.ReceivedAt)
			}
			if st := s.Stats(); st.Logins != 1 || st.Messages != 2 || st.Connections != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestSignIn(t *testing.T) {
	s := startT(t, Config{})
	t.Run("LOGIN", func(t *testing.T) {
		c := dial(t, s)
		if err := c.Auth(sasl.NewLoginClient(DefaultUsername, DefaultPassword)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := dial(t, s)
		err := c.Auth(sasl.NewPlainClient("", DefaultUsername, "nope"))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 535 {
			t.Fatalf("error %v, want 535", err)
		}
	})
	t.Run("changed credentials", func(t *testing.T) {
		s.SetCredentials("front-desk", "n3w")
		defer s.SetCredentials(DefaultUsername, DefaultPassword)
		c := dial(t, s)
		if err := c.Auth(sasl.NewLoginClient("front-desk", "n3w")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("mail without sign-in", func(t *testing.T) {
		c := dial(t, s)
		var se *smtp.SMTPError
		if err := c.Mail("a@hotel.example", nil); !errors.As(err, &se) || se.Code != 530 {
			t.Fatalf("error %v, want 530", err)
		}
	})
	t.Run("no AUTH before STARTTLS", func(t *testing.T) {
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Error("STARTTLS not offered")
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered on a plain connection")
		}
	})
	if st := s.Stats(); st.FailedAuth != 1 || st.Logins != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestRefusesARecipient(t *testing.T) {
	s := startT(t, Config{NoAuth: true, Mode: ModePlain})
	s.RefuseRecipient("Nobody@Guest.example")
	c := dial(t, s)
	err := send(c, "a@hotel.example", "nobody@guest.example", multipartMessage)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("error %v, want 550 5.1.1", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "a@hotel.example", "anna@guest.example", multipartMessage); err != nil {
		t.Fatalf("another recipient: %v", err)
	}
}

// TestAnswersTheRecordedReplies checks that the sandbox puts the shared fixtures on the wire as
// real servers do: every line with the code and the enhanced status.
func TestAnswersTheRecordedReplies(t *testing.T) {
	raw, err := os.ReadFile("../testdata/replies.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixtures struct {
		Replies []struct {
			Name  string `json:"name"`
			Step  Step   `json:"step"`
			Reply Reply  `json:"reply"`
		} `json:"replies"`
	}
	if err := json.Unmarshal(raw, &fixtures); err != nil {
		t.Fatal(err)
	}
	s := startT(t, Config{Mode: ModePlain, AllowInsecureAuth: true})
	for _, f := range fixtures.Replies {
		t.Run(f.Name, func(t *testing.T) {
			s.Reset()
			s.Fail(f.Step, f.Reply, 1)
			conn, err := textproto.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			say := func(cmd string, want int) (int, string) {
				t.Helper()
				if cmd != "" {
					if err := conn.PrintfLine("%s", cmd); err != nil {
						t.Fatal(err)
					}
				}
				code, msg, err := conn.ReadResponse(want)
				var te *textproto.Error
				if err != nil && !errors.As(err, &te) {
					t.Fatal(err)
				}
				return code, msg
			}
			plain := "AUTH PLAIN " + b64("\x00"+DefaultUsername+"\x00"+DefaultPassword)
			script := []struct {
				step Step
				cmd  string
				ok   int
			}{{"", "", 220}, {"", "EHLO test", 250}, {StepAuth, plain, 235}, {StepMail, "MAIL FROM:<a@hotel.example>", 250},
				{StepRcpt, "RCPT TO:<anna@guest.example>", 250}, {"", "DATA", 354}, {StepData, "Subject: x\r\n\r\nhi\r\n.", 250}}
			for _, l := range script {
				code, msg := say(l.cmd, l.ok)
				if l.step != f.Step {
					if code != l.ok {
						t.Fatalf("%q: %d %s", l.cmd, code, msg)
					}
					continue
				}
				lines := strings.Split(msg, "\n")
				want := strings.Split(f.Reply.Text, "\n")
				if code != f.Reply.Code || len(lines) != len(want) {
					t.Fatalf("answer %d %q, want %d with %d lines", code, msg, f.Reply.Code, len(want))
				}
				for i := range lines {
					if lines[i] != f.Reply.Enhanced+" "+want[i] {
						t.Errorf("line %d: %q, want %q", i, lines[i], f.Reply.Enhanced+" "+want[i])
					}
				}
				return
			}
			t.Fatalf("step %q never came", f.Step)
		})
	}
}

func TestDropsTheConnectionAfterData(t *testing.T) {
	s := startT(t, Config{})
	s.DropAfterData(1)
	c := dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", DefaultUsername, DefaultPassword)); err != nil {
		t.Fatal(err)
	}
	err := send(c, "a@hotel.example", "anna@guest.example", multipartMessage)
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("error %v: want the connection gone, no answer", err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || !msgs[0].Dropped {
		t.Fatalf("%d messages: want the dropped one kept and marked", len(msgs))
	}
	// Only once: the next connection is answered.
	c2 := dial(t, s)
	if err := c2.Auth(sasl.NewPlainClient("", DefaultUsername, DefaultPassword)); err != nil {
		t.Fatal(err)
	}
	if err := send(c2, "a@hotel.example", "anna@guest.example", multipartMessage); err != nil {
		t.Fatal(err)
	}
	if s.Count("<dl_1@bellhop.example>") != 2 {
		t.Errorf("count %d, want 2", s.Count("<dl_1@bellhop.example>"))
	}
}

func TestPlainModeOffersNoTLS(t *testing.T) {
	s := startT(t, Config{Mode: ModePlain})
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered in plain mode")
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
