package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// Class says what the caller should do about a failed Check or Send.
type Class int

const (
	// ClassInternal: a failure that fits no other class (a reply Bellhop did not expect).
	ClassInternal Class = iota
	// ClassUnavailable: the server could not be reached, did not answer in time, or answered
	// 4xx before it accepted the message. Nothing was accepted: try again later.
	ClassUnavailable
	// ClassRateLimited: the server says the account sends too much (a sending limit or quota).
	// Nothing was accepted: slow the account down and try again later.
	ClassRateLimited
	// ClassUnauthorized: the server refused the username or password (5xx to AUTH), or wants a
	// sign-in the settings do not give. Do not retry until a person fixes the settings.
	ClassUnauthorized
	// ClassSettings: the settings do not fit the server: its certificate is not trusted, it
	// offers no STARTTLS or sign-in where the settings need them, it refuses the from address,
	// or the address policy refuses the host. Do not retry until a person fixes the settings.
	ClassSettings
	// ClassUndeliverable: the server refused the guest's address (5xx to RCPT TO: no such
	// mailbox), or the address is not one. This guest cannot be reached by email at this
	// address: fall through to the next channel; do not retry.
	ClassUndeliverable
	// ClassRejected: the server refused this message (5xx to DATA or to its end, 552, a size
	// or mailbox limit exceeded). Sending the same message again fails the same way.
	ClassRejected
	// ClassUnknownOutcome: the whole message was handed over but the server's answer never
	// came (the connection dropped or timed out after the final "."). The message may have been
	// accepted and may reach the guest. SMTP has no idempotency key: sending it again may
	// deliver it twice, so the caller must hold the delivery (unconfirmed) for a person.
	ClassUnknownOutcome
	// ClassInvalid: the message Bellhop built is incomplete or malformed (no subject, a bad
	// header). A bug in the caller; nothing was sent.
	ClassInvalid
)

func (c Class) String() string {
	switch c {
	case ClassUnavailable:
		return "unavailable"
	case ClassRateLimited:
		return "rate_limited"
	case ClassUnauthorized:
		return "unauthorized"
	case ClassSettings:
		return "settings"
	case ClassUndeliverable:
		return "undeliverable"
	case ClassRejected:
		return "rejected"
	case ClassUnknownOutcome:
		return "unknown_outcome"
	case ClassInvalid:
		return "invalid"
	default:
		return "internal"
	}
}

// Failure is the provider.Failure of the class; provider.FailureOf and provider.AsError see an
// *Error as a *provider.Error of it. Settings problems count as unauthorized (the integration
// needs a person before it sends again); an undeliverable address as unreachable (the mailing
// falls through to its next channel); a rejected message as an invalid request (not retried).
// An unknown outcome is unavailable without Unsent: the send path must not send it again
// blindly, since no SMTP server can be asked what it has; every other failure left nothing
// sent (Unsent).
func (c Class) Failure() provider.Failure {
	switch c {
	case ClassUnavailable, ClassUnknownOutcome:
		return provider.FailUnavailable
	case ClassRateLimited:
		return provider.FailRateLimited
	case ClassUnauthorized, ClassSettings:
		return provider.FailUnauthorized
	case ClassUndeliverable:
		return provider.FailUnreachable
	case ClassRejected, ClassInvalid:
		return provider.FailInvalidRequest
	default:
		return provider.FailInternal
	}
}

// unsent reports that a failure of the class surely left nothing sent.
func (c Class) unsent() bool { return c != ClassUnknownOutcome && c != ClassInternal }

// Error is a failed Check or Send: the step of the SMTP conversation, the class, the server's
// reply code, a message in plain words for the hotel's manager, and the server's own words. It
// never contains the password.
type Error struct {
	Step  string // e.g. "sign in (AUTH)", "recipient (RCPT TO)"
	Class Class
	// Code is the SMTP reply code (535, 550, …); 0 when the server gave none.
	Code int
	// EnhancedCode is the RFC 3463 status ("5.1.1") when the server gave one.
	EnhancedCode string
	// Message says in plain words what happened and what to do; it may be shown to people.
	Message string
	// Reason is the server's reply text, cleaned and cut short; it may be shown to people.
	Reason string
	// RetryAfter is how long to wait before sending again (ClassRateLimited); 0: unknown.
	RetryAfter time.Duration
	// Err is the cause (a network, TLS or address-policy error, or the server's reply).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", Kind, e.Step, e.Class)
	if e.Code != 0 {
		fmt.Fprintf(&b, " (SMTP %d", e.Code)
		if e.EnhancedCode != "" {
			b.WriteString(" " + e.EnhancedCode)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Reason != "" {
		b.WriteString(": server said: " + e.Reason)
	}
	// A server reply is in Reason already (cleaned of secrets); other causes are Bellhop's own.
	var reply *textproto.Error
	if e.Err != nil && !errors.As(e.Err, &reply) {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// As lets provider.FailureOf and provider.AsError read an *Error as a *provider.Error, so the
// send path's table keyed by provider.Failure handles email too.
func (e *Error) As(target any) bool {
	p, ok := target.(**provider.Error)
	if !ok {
		return false
	}
	*p = &provider.Error{Provider: Kind, Step: e.Step, Failure: e.Class.Failure(), RetryAfter: e.RetryAfter,
		Unsent: e.Class.unsent(), Field: e.field(), Reason: e.Message, Err: e}
	if e.Code != 0 {
		(*p).Code = strings.TrimSpace(strconv.Itoa(e.Code) + " " + e.EnhancedCode)
	}
	return true
}

// field names the setting a refusal of the connection or the sign-in points at (the kind's
// field names: host, security, username, password, from_address), "" for others.
func (e *Error) field() string {
	switch e.Class {
	case ClassUnauthorized:
		if e.Step == string(stepAuth) {
			return "password"
		}
		return "username"
	case ClassSettings:
		switch {
		case e.Step == string(stepMail):
			return "from_address"
		case e.Step == string(stepStartTLS), tlsProblem(e.Err, "") != "", needsTLS(e.Code, strings.ToLower(e.Reason)):
			return "security"
		case e.Step == string(stepAuth):
			return "password"
		}
		return "host"
	}
	return ""
}

// ClassOf returns the Class of the *Error in err's chain, ClassInternal otherwise.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassInternal
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// step is one stage of an SMTP conversation; its text names it in errors.
type step string

const (
	stepConnect  step = "connect"
	stepGreeting step = "greeting"
	stepHello    step = "greeting (EHLO)"
	stepStartTLS step = "encryption (STARTTLS)"
	stepAuth     step = "sign in (AUTH)"
	stepCheck    step = "check the message"
	stepMail     step = "sender (MAIL FROM)"
	stepRcpt     step = "recipient (RCPT TO)"
	stepData     step = "message (DATA)"
	stepBody     step = "message (sending its text)"
	stepEnd      step = "message (the server's answer to it)"
)

// maxReason bounds the server's words in an error: a reply is one or two lines, not a page.
const maxReason = 200

// enhancedPrefix is an RFC 3463 status at the start of a reply line.
var enhancedPrefix = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})\s*`)

// reply splits a server reply into its enhanced status and its text on one line, without the
// status repeated on every line, secrets redacted and cut to maxReason.
func (c *Client) reply(msg string) (enhanced, text string) {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if m := enhancedPrefix.FindStringSubmatch(l); m != nil {
			if enhanced == "" {
				enhanced = m[1] + "." + m[2] + "." + m[3]
			}
			l = l[len(m[0]):]
		}
		lines[i] = l
	}
	return enhanced, c.clean(strings.Join(lines, " "))
}

// clean makes text fit to show: no secrets, no control characters, one short line.
func (c *Client) clean(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// fail builds an *Error at st.
func (c *Client) fail(st step, class Class, message string, err error) *Error {
	return &Error{Step: string(st), Class: class, Message: message, Err: err}
}

// classify turns what went wrong at st into an *Error a person can act on. ctx is the caller's
// context (to tell a cancellation from a timeout).
func (c *Client) classify(ctx context.Context, st step, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return c.classifyReply(st, te)
	}
	var refused *safehttp.RefusedError
	if errors.As(err, &refused) {
		return c.fail(st, ClassSettings, fmt.Sprintf("Bellhop may not connect to %s: %s. An email server must be on the public internet "+
			"(an operator who runs one inside their own network can allow it with BELLHOP_ALLOW_PRIVATE_PROVIDERS=true)", c.host, refused.Reason), err)
	}
	if msg := tlsProblem(err, c.host); msg != "" {
		return c.fail(st, ClassSettings, msg, err)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return c.fail(st, ClassSettings, fmt.Sprintf("There is no server named %s: check the host", c.host), err)
	}
	lost := st == stepEnd // the whole message went out; only the answer is missing
	var msg string
	switch {
	case ctx.Err() != nil:
		msg = "Bellhop stopped waiting for the email server (the send was cancelled)"
	case isTimeout(err):
		msg = fmt.Sprintf("The email server %s did not answer within %s", c.addr(), c.timeout)
		if st == stepGreeting && c.port == 465 && c.security != SecurityTLS {
			msg += ". Port 465 expects TLS from the start: choose security “tls”"
		}
	case st == stepConnect && errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("Nothing answers at %s: check the host and port (587 for STARTTLS, 465 for TLS)", c.addr())
	case st == stepConnect:
		msg = fmt.Sprintf("Bellhop could not connect to the email server %s", c.addr())
	default:
		msg = "The email server closed the connection"
	}
	if lost {
		return c.fail(st, ClassUnknownOutcome, msg+" after the whole message was sent: it may or may not have been accepted, "+
			"and sending it again may deliver it twice", err)
	}
	return c.fail(st, ClassUnavailable, msg+". Nothing was sent; try again later", err)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// tlsProblem says in plain words what is wrong with the server's TLS, or "".
func tlsProblem(err error, host string) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &unknown):
		return "The email server's certificate is not signed by an authority Bellhop trusts (it may be self-signed): " +
			"ask the email provider for the server name that has a valid certificate"
	case errors.As(err, &hostname):
		return fmt.Sprintf("The email server's certificate is not for %s (%s): use the server name the certificate is for",
			host, strings.TrimPrefix(hostname.Error(), "x509: "))
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "The email server's certificate has expired (or is not valid yet): the email provider must renew it"
		}
		return "The email server's certificate is not valid (" + strings.TrimPrefix(invalid.Error(), "x509: ") + ")"
	case errors.As(err, &verify):
		return "The email server's certificate could not be verified (" + verify.Error() + ")"
	case errors.As(err, &record):
		return "The email server did not answer with TLS: security “tls” is for port 465; for port 587 or 25 choose “starttls”"
	case errors.As(err, &alert):
		return "The email server refused the encrypted connection (TLS alert: " + alert.Error() + ")"
	}
	return ""
}

// classifyReply classifies an SMTP reply that is not the expected one.
func (c *Client) classifyReply(st step, te *textproto.Error) *Error {
	enhanced, text := c.reply(te.Msg)
	e := &Error{Step: string(st), Code: te.Code, EnhancedCode: enhanced, Reason: text, Err: te}
	lower := strings.ToLower(text)
	sub := enhancedSubject(enhanced)
	temporary := te.Code/100 == 4
	switch {
	case te.Code/100 != 4 && te.Code/100 != 5:
		e.Class, e.Message = ClassInternal, "The email server gave an answer Bellhop did not expect"
	case sub == "4.5" || containsAny(lower, "sending limit", "sending quota", "rate limit", "too many messages", "ratelimit"):
		e.Class, e.Message = ClassRateLimited, "The email server says the account has sent too much for now. Nothing was sent; "+
			"Bellhop will send more slowly and try again later"
		if !temporary {
			e.RetryAfter = time.Hour
		}
	case temporary:
		e.Class, e.Message = ClassUnavailable, "The email server asked to try again later. Nothing was sent"
	case st == stepAuth:
		e.Class, e.Message = c.authRefused(te.Code, lower)
	case needsTLS(te.Code, lower):
		e.Class, e.Message = ClassSettings, "The email server accepts mail only over an encrypted connection: choose security “starttls” (port 587) or “tls” (port 465)"
	case te.Code == 530 || (sub == "7.0" && containsAny(lower, "authenticat")) || containsAny(lower, "relay access denied", "relaying denied", "not permitted to relay"):
		e.Class, e.Message = ClassUnauthorized, "The email server wants Bellhop to sign in before it sends: enter the account's username and password"
	case te.Code == 552 || sub == "2.2" || sub == "3.4" || containsAny(lower, "exceed"):
		e.Class, e.Message = ClassRejected, "The email server refused the message: it is too large or the guest's mailbox is full"
	case st == stepGreeting || st == stepHello:
		e.Class, e.Message = ClassSettings, "The email server refused Bellhop's connection"
	case st == stepStartTLS:
		e.Class, e.Message = ClassSettings, "The email server refused to encrypt the connection: choose security “tls” for port 465, or ask the email provider"
	case st == stepMail:
		e.Class, e.Message = ClassSettings, fmt.Sprintf("The email server refused to send as %s: use an address that belongs to this email account", c.from)
	case st == stepRcpt:
		e.Class, e.Message = ClassUndeliverable, "The email server refused the guest's address (no such mailbox, or it does not accept mail)"
	case st == stepData || st == stepEnd || st == stepBody:
		e.Class, e.Message = ClassRejected, "The email server refused the message"
	default:
		e.Class, e.Message = ClassInternal, "The email server refused a command Bellhop sent"
	}
	return e
}

// authRefused classifies a permanent refusal of AUTH.
func (c *Client) authRefused(code int, lower string) (Class, string) {
	switch {
	case needsTLS(code, lower):
		return ClassSettings, "The email server accepts the password only over an encrypted connection: choose security “starttls” (port 587) or “tls” (port 465)"
	case code == 534:
		return ClassSettings, "The email server wants a stronger sign-in method than Bellhop offers (the account may need an app password)"
	case code == 504:
		return ClassSettings, "The email server does not accept the sign-in method Bellhop used (PLAIN or LOGIN)"
	}
	return ClassUnauthorized, "The email server refused the username or password"
}

// needsTLS reports a refusal that asks for encryption first (530 5.7.0 "Must issue a STARTTLS
// command first", 538 "Encryption required", 523 "TLS is required").
func needsTLS(code int, lower string) bool {
	return code == 538 || code == 523 || containsAny(lower, "starttls", "tls is required", "tls required", "encryption required", "must issue a starttls")
}

// enhancedSubject is the subject and detail of an enhanced status ("5.1.1" → "1.1").
func enhancedSubject(enhanced string) string {
	if _, rest, ok := strings.Cut(enhanced, "."); ok {
		return rest
	}
	return ""
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// addr is host:port for messages.
func (c *Client) addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }
