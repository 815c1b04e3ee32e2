package email

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// session is one SMTP connection, greeted, encrypted as configured and signed in. The
// protocol (replies, EHLO extensions, STARTTLS, AUTH exchanges, dot-stuffing) is go-mail's
// smtp package; the session decides each step and classifies what goes wrong.
type session struct {
	c    *Client
	ctx  context.Context
	conn net.Conn
	smtp *smtp.Client
	stop func() bool // stops closing conn when ctx ends
}

// deadline gives the next exchange c.timeout. I/O deadlines are wall-clock time by nature;
// the injected clock is for the times Bellhop writes down.
func (s *session) deadline() {
	_ = s.conn.SetDeadline(time.Now().Add(s.c.timeout))
}

// open connects and runs the conversation up to a signed-in session.
func (c *Client) open(ctx context.Context) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.classify(ctx, stepConnect, err)
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, c.classify(ctx, stepConnect, err)
	}
	s := &session{c: c, ctx: ctx, conn: conn}
	// A cancelled caller ends the conversation wherever it is.
	s.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	s.deadline()
	sc, err := smtp.NewClient(conn, c.host) // reads the 220 greeting
	if err != nil {
		s.close()
		return nil, c.classify(ctx, stepGreeting, err)
	}
	s.smtp = sc
	if err := s.hello(); err != nil {
		s.close()
		return nil, err
	}
	if c.security == SecuritySTARTTLS {
		if err := s.startTLS(); err != nil {
			s.close()
			return nil, err
		}
	}
	if c.user != "" {
		if err := s.auth(); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// dial connects where the address policy allows (safehttp checks the name and, after DNS,
// every address it connects to) and, for implicit TLS, completes the handshake.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	if err := c.policy.CheckHost(c.host); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.policy.DialContext(dctx, "tcp", net.JoinHostPort(c.host, strconv.Itoa(c.port)))
	if err != nil {
		return nil, err
	}
	if c.security != SecurityTLS {
		return conn, nil
	}
	tc := tls.Client(conn, c.tlsConfig())
	if err := tc.HandshakeContext(dctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

func (c *Client) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: c.host, RootCAs: c.rootCAs, MinVersion: tls.VersionTLS12}
}

func (s *session) hello() error {
	s.deadline()
	if err := s.smtp.Hello(s.c.helloName); err != nil {
		return s.c.classify(s.ctx, stepHello, err)
	}
	return nil
}

func (s *session) startTLS() error {
	if ok, _ := s.smtp.Extension("STARTTLS"); !ok {
		msg := "The email server does not offer STARTTLS"
		switch s.c.port {
		case 465:
			msg += ": port 465 expects security “tls”"
		case 25:
			msg += ": port 25 is for servers talking to servers; use the port the email provider gives for sending (usually 587)"
		default:
			msg += ": choose security “tls” if the email provider says so, or check the port"
		}
		return s.c.fail(stepStartTLS, ClassSettings, msg, nil)
	}
	s.deadline()
	if err := s.smtp.StartTLS(s.c.tlsConfig()); err != nil {
		return s.c.classify(s.ctx, stepStartTLS, err)
	}
	return nil
}

func (s *session) auth() error {
	a := &login{user: s.c.user, pass: s.c.pass, host: s.c.host, plainText: s.c.security == SecurityNone}
	s.deadline()
	if err := s.smtp.Auth(a); err != nil {
		if a.problem != nil {
			return a.problem
		}
		return s.c.classify(s.ctx, stepAuth, err)
	}
	return nil
}

// login signs in with PLAIN or LOGIN, whichever the server offers (PLAIN first: one round
// trip). It refuses, as an *Error the session returns, a server that offers neither, or one
// that would take the password over an unencrypted connection the settings did not choose.
type login struct {
	user, pass, host string
	plainText        bool // security "none": the settings accept an unencrypted sign-in
	mech             smtp.Auth
	problem          *Error
}

func (a *login) Start(server *smtp.ServerInfo) (string, []byte, error) {
	settings := func(msg string) (string, []byte, error) {
		a.problem = &Error{Step: string(stepAuth), Class: ClassSettings, Message: msg}
		return "", nil, errors.New(msg)
	}
	if !server.TLS && !a.plainText {
		return settings("The connection is not encrypted, so Bellhop will not send the password: choose security “starttls” or “tls”")
	}
	offered := func(m string) bool {
		return slices.ContainsFunc(server.Auth, func(s string) bool { return strings.EqualFold(s, m) })
	}
	switch {
	case len(server.Auth) == 0 && !server.TLS:
		return settings("The email server offers sign-in only over an encrypted connection: choose security “starttls” (port 587) or “tls” (port 465)")
	case len(server.Auth) == 0:
		return settings("The email server does not offer sign-in on this port: leave username and password empty if it needs none, " +
			"or use the port the email provider gives for sending (usually 587)")
	case offered("PLAIN"):
		a.mech = smtp.PlainAuth("", a.user, a.pass, a.host, true)
	case offered("LOGIN"):
		a.mech = smtp.LoginAuth(a.user, a.pass, a.host, true)
	default:
		return settings(fmt.Sprintf("The email server offers only sign-in methods Bellhop does not use (%s); it uses PLAIN or LOGIN",
			strings.Join(server.Auth, ", ")))
	}
	return a.mech.Start(server)
}

func (a *login) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.mech.Next(fromServer, more)
}

// send runs one mail transaction and returns the server's reply to the message.
func (s *session) send(msg *mail.Msg) (string, error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return "", s.c.fail(stepCheck, ClassInvalid, "The message has no sender", err)
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", s.c.fail(stepCheck, ClassInvalid, "The message has no recipient", err)
	}
	s.deadline()
	if err := s.smtp.Mail(from); err != nil {
		return "", s.c.classify(s.ctx, stepMail, err)
	}
	for _, r := range rcpts {
		s.deadline()
		if err := s.smtp.Rcpt(r); err != nil {
			return "", s.c.classify(s.ctx, stepRcpt, err)
		}
	}
	s.deadline()
	w, err := s.smtp.Data()
	if err != nil {
		return "", s.c.classify(s.ctx, stepData, err)
	}
	s.deadline()
	// Until the final "." the server cannot have accepted anything: a failure while writing
	// is ClassUnavailable. Close writes the "." and reads the answer: a failure there leaves
	// the outcome unknown.
	if _, err := msg.WriteTo(w); err != nil {
		return "", s.c.classify(s.ctx, stepBody, err)
	}
	if err := w.Close(); err != nil {
		return "", s.c.classify(s.ctx, stepEnd, err)
	}
	resp := ""
	if dc, ok := w.(*smtp.DataCloser); ok {
		_, resp = s.c.reply(dc.ServerResponse())
	}
	return resp, nil
}

// quit ends the conversation politely; the server's answer changes nothing.
func (s *session) quit() {
	s.deadline()
	if err := s.smtp.Quit(); err != nil && s.ctx.Err() == nil {
		s.c.log.Debug("email: the server's answer to QUIT", "server", s.c.addr(), "error", s.c.clean(err.Error()))
	}
	s.close()
}

// abort ends a session that failed: QUIT without waiting long, then close.
func (s *session) abort() {
	_ = s.conn.SetDeadline(time.Now().Add(time.Second))
	_ = s.smtp.Quit()
	s.close()
}

func (s *session) close() {
	s.stop()
	_ = s.conn.Close()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
