// Package email is Bellhop's email channel: an SMTP client that checks a hotel's mail account
// and sends guests multipart messages with our own Message-ID and one-click unsubscribe.
//
// SMTP has no idempotency key. A Send whose answer is lost after the whole message went out
// (ClassUnknownOutcome) may have delivered it, and no server can be asked afterwards: the caller
// must hold such a delivery (unconfirmed) rather than send it again. The Message-ID derived from
// the delivery id (MessageID) makes a repeat recognisable to the guest's mail system, not
// refused by it.
package email

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// Kind is the channel kind, as integrations and errors name it.
const Kind = "email"

// Security is how the connection to the server is encrypted.
type Security string

const (
	// SecuritySTARTTLS connects in plain text and upgrades with STARTTLS before signing in; the
	// server must offer it (usually port 587).
	SecuritySTARTTLS Security = "starttls"
	// SecurityTLS speaks TLS from the first byte (implicit TLS, usually port 465).
	SecurityTLS Security = "tls"
	// SecurityNone never encrypts. A password is then sent in clear, so it is allowed only with
	// Config.AllowPrivate (a relay inside the operator's own network).
	SecurityNone Security = "none"
)

// DefaultPort is the usual port of each security mode.
func (s Security) DefaultPort() int {
	switch s {
	case SecurityTLS:
		return 465
	case SecurityNone:
		return 25
	default:
		return 587
	}
}

const (
	defaultTimeout = 30 * time.Second
	maxHost        = 253
	maxCredential  = 1024
	maxName        = 200
	maxAddress     = 254
)

// Config is what the client needs to reach one mail account: the integration's settings
// (host … from_name, as the HTTP API names them) and the operator's. Zero values mean defaults.
type Config struct {
	Host     string   // the SMTP server's name (or address), without scheme or port
	Port     int      // default: 587 for starttls, 465 for tls, 25 for none
	Security Security // default starttls
	// Username and Password sign in with AUTH PLAIN or LOGIN (whichever the server offers).
	// Both empty: no sign-in (a relay that trusts the sender's address).
	Username    string
	Password    string
	FromAddress string // the guest sees mail from this address, e.g. reception@hotel.example
	FromName    string // optional, e.g. "Hotel Aurora"

	// Timeout is how long Bellhop waits for each answer of the server (and for the connection);
	// default 30 s. The caller's context bounds the whole call.
	Timeout time.Duration
	// AllowPrivate lets the client reach hosts on loopback and private networks and send a
	// password without encryption (BELLHOP_ALLOW_PRIVATE_PROVIDERS: demo, tests, a relay in
	// the operator's network). Off, the host must be a public one (safehttp's rule).
	AllowPrivate bool
	// RootCAs are the authorities the server's certificate must chain to; nil: the system's.
	RootCAs *x509.CertPool
	// HelloName is the name Bellhop gives in EHLO; default this machine's host name.
	HelloName string
	Logger    *slog.Logger  // what the client did not expect (never a secret); default discard
	Clock     bellhop.Clock // the messages' Date; default the system clock
}

// withDefaults returns cfg with its defaults filled in.
func (cfg Config) withDefaults() Config {
	cfg.Host = strings.TrimSuffix(strings.TrimSpace(cfg.Host), ".")
	if strings.HasPrefix(cfg.Host, "[") && strings.HasSuffix(cfg.Host, "]") {
		cfg.Host = cfg.Host[1 : len(cfg.Host)-1] // an IPv6 literal as written in URLs
	}
	cfg.Security = Security(strings.ToLower(strings.TrimSpace(string(cfg.Security))))
	if cfg.Security == "" {
		cfg.Security = SecuritySTARTTLS
	}
	if cfg.Port == 0 {
		cfg.Port = cfg.Security.DefaultPort()
	}
	cfg.FromAddress = strings.TrimSpace(cfg.FromAddress)
	cfg.FromName = strings.TrimSpace(cfg.FromName)
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.HelloName == "" {
		if h, err := os.Hostname(); err == nil && validHelloName(h) {
			cfg.HelloName = h
		} else {
			cfg.HelloName = "localhost"
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	return cfg
}

// Validate checks the settings a person typed in. It returns nil or a *bellhop.Error of code
// invalid_input that names every field at fault with its JSON name (host, port, security,
// username, password, from_address, from_name). A host the address policy refuses carries the
// *safehttp.RefusedError as its cause.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	if err := checkHost(cfg.Host, cfg.AllowPrivate); err != nil {
		errs = append(errs, err)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, bellhop.Invalid("port", "must be a port number from 1 to 65535 (usually 587 for starttls, 465 for tls)"))
	}
	switch cfg.Security {
	case SecuritySTARTTLS, SecurityTLS, SecurityNone:
	default:
		errs = append(errs, bellhop.Invalid("security", "must be starttls, tls or none, not %q", clip(string(cfg.Security), 20)))
	}
	switch {
	case cfg.Username == "" && cfg.Password != "":
		errs = append(errs, bellhop.Invalid("username", "is required with a password"))
	case cfg.Username != "" && cfg.Password == "":
		errs = append(errs, bellhop.Invalid("password", "is required with a username"))
	}
	if msg := credentialProblem(cfg.Username); msg != "" {
		errs = append(errs, bellhop.Invalid("username", "%s", msg))
	}
	if msg := credentialProblem(cfg.Password); msg != "" {
		errs = append(errs, bellhop.Invalid("password", "%s", msg))
	}
	if cfg.Security == SecurityNone && cfg.Password != "" && !cfg.AllowPrivate {
		errs = append(errs, bellhop.Invalid("security", "“none” would send the password unencrypted: choose starttls (port 587) or tls (port 465)"))
	}
	if cfg.FromAddress == "" {
		errs = append(errs, bellhop.Invalid("from_address", "is required: the address guests see the mail from, e.g. reception@hotel.example"))
	} else if msg := addressProblem(cfg.FromAddress); msg != "" {
		errs = append(errs, bellhop.Invalid("from_address", "%s", msg))
	}
	if msg := nameProblem(cfg.FromName); msg != "" {
		errs = append(errs, bellhop.Invalid("from_name", "%s", msg))
	}
	if !validHelloName(cfg.HelloName) {
		errs = append(errs, bellhop.Invalid("hello_name", "must be a host name"))
	}
	err := bellhop.JoinInvalid(errs...)
	if be, ok := err.(*bellhop.Error); ok && be.Err == nil {
		// JoinInvalid keeps the fields, not the causes: keep the address policy's refusal.
		for _, e := range errs {
			if cause := errors.Unwrap(e); cause != nil {
				be.Err = cause
			}
		}
	}
	return err
}

// checkHost checks the server's name and the address policy.
func checkHost(host string, allowPrivate bool) error {
	switch {
	case host == "":
		return bellhop.Invalid("host", "is required: the email server's name, e.g. smtp.example.com")
	case strings.Contains(host, "://"):
		return bellhop.Invalid("host", "must be a server name such as smtp.example.com, without %s", host[:strings.Index(host, "://")+3])
	case len(host) > maxHost:
		return bellhop.Invalid("host", "is longer than %d characters", maxHost)
	}
	if h, p, err := net.SplitHostPort(host); err == nil && h != "" {
		return bellhop.Invalid("host", "must not include the port: put %s in port", clip(p, 10))
	}
	if net.ParseIP(host) == nil && !validHostName(host) {
		return bellhop.Invalid("host", "%q is not a server name (letters, digits, dots and hyphens, e.g. smtp.example.com)", clip(host, 60))
	}
	if err := (safehttp.Policy{AllowPrivate: allowPrivate}).CheckHost(host); err != nil {
		reason := err.Error()
		var re *safehttp.RefusedError
		if errors.As(err, &re) {
			reason = re.Reason
		}
		e := bellhop.Invalid("host", "%s. An email server must be on the public internet "+
			"(an operator who runs one inside their own network can allow it with BELLHOP_ALLOW_PRIVATE_PROVIDERS=true)", reason)
		e.Err = err
		return e
	}
	return nil
}

// validHostName reports a DNS name: labels of letters, digits and inner hyphens (and
// underscores, which some providers use).
func validHostName(host string) bool {
	if host == "" || len(host) > maxHost {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func validHelloName(name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		return true
	}
	return validHostName(name)
}

// credentialProblem says what is wrong with a username or password, or "".
func credentialProblem(s string) string {
	switch {
	case len(s) > maxCredential:
		return fmt.Sprintf("is longer than %d characters", maxCredential)
	case !utf8.ValidString(s):
		return "is not valid UTF-8 text"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters (such as a line break or a tab)"
	}
	return ""
}

// addressProblem says what is wrong with an email address written alone, or "".
func addressProblem(addr string) string {
	switch {
	case len(addr) > maxAddress:
		return fmt.Sprintf("is longer than %d characters", maxAddress)
	case !utf8.ValidString(addr) || strings.ContainsFunc(addr, unicode.IsControl):
		return "must be an email address such as reception@hotel.example"
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return fmt.Sprintf("%q is not an email address such as reception@hotel.example", clip(addr, 60))
	}
	if a.Name != "" || a.Address != addr {
		return "must be the address alone, such as reception@hotel.example (the name goes in its own field)"
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	if !strings.Contains(domain, ".") && net.ParseIP(strings.Trim(domain, "[]")) == nil {
		return fmt.Sprintf("%q has no domain such as hotel.example after the @", clip(addr, 60))
	}
	return ""
}

// nameProblem says what is wrong with a display name, or "".
func nameProblem(name string) string {
	switch {
	case utf8.RuneCountInString(name) > maxName:
		return fmt.Sprintf("is longer than %d characters", maxName)
	case !utf8.ValidString(name):
		return "is not valid UTF-8 text"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters (such as a line break)"
	}
	return ""
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Client reaches one mail account. It opens a connection per call (Check, Send) and keeps
// none between calls. It is safe for concurrent use.
type Client struct {
	host      string
	port      int
	security  Security
	user      string
	pass      string
	from      string
	fromName  string
	timeout   time.Duration
	policy    safehttp.Policy
	rootCAs   *x509.CertPool
	helloName string
	log       *slog.Logger
	clock     bellhop.Clock
	// secrets are the password in the forms a server might echo, for redaction.
	secrets []string
}

// New returns a client for cfg after Validate.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{
		host:      cfg.Host,
		port:      cfg.Port,
		security:  cfg.Security,
		user:      cfg.Username,
		pass:      cfg.Password,
		from:      cfg.FromAddress,
		fromName:  cfg.FromName,
		timeout:   cfg.Timeout,
		policy:    safehttp.Policy{AllowPrivate: cfg.AllowPrivate},
		rootCAs:   cfg.RootCAs,
		helloName: cfg.HelloName,
		log:       cfg.Logger,
		clock:     cfg.Clock,
		secrets:   secretForms(cfg.Username, cfg.Password),
	}, nil
}

// Host, Port and Security say where the client connects.
func (c *Client) Host() string { return c.host }

// Port is the server's port.
func (c *Client) Port() int { return c.port }

// Security is the connection's encryption.
func (c *Client) Security() Security { return c.security }

// FromAddress is the address the guests see the mail from.
func (c *Client) FromAddress() string { return c.from }

// Check connects, greets, encrypts as configured, signs in and quits: it sends nothing. A
// wrong password is ClassUnauthorized; an unreachable or silent server ClassUnavailable; a
// certificate, STARTTLS or sign-in mismatch ClassSettings, with a Message that says what to
// change.
func (c *Client) Check(ctx context.Context) error {
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	s.quit()
	return nil
}

// Message is one email to a guest.
type Message struct {
	To     string // the guest's address
	ToName string // optional, e.g. "Anna Petrova"
	// Subject, and the body as plain Text (required) and HTML. Empty HTML is made from Text
	// (HTMLFromText), so both parts always carry the same content.
	Subject string
	Text    string
	HTML    string
	// MessageID is our own Message-ID, from MessageID(deliveryID, domain): required, so that a
	// retry carries the same one.
	MessageID string
	// ListUnsubscribe is the https URL of the one-click unsubscribe (RFC 8058); optional.
	ListUnsubscribe string
	// Headers are extra header fields (e.g. X-Bellhop-Delivery). They cannot replace the ones
	// the client writes (From, To, Subject, Date, Message-ID, MIME and List-Unsubscribe fields).
	Headers map[string]string
}

// Sent is the server's acceptance of a message.
type Sent struct {
	MessageID string // as sent, with angle brackets
	// Response is the server's reply to the message, often with its queue id
	// ("2.0.0 Ok: queued as 4Q1x…"), cleaned.
	Response string
}

// Send sends one message: multipart/alternative with the text and the HTML, our Message-ID,
// and List-Unsubscribe with List-Unsubscribe-Post when the message has an unsubscribe URL. It
// is never retried here. Its errors are *Error with a Class saying what to do; see
// ClassUnknownOutcome for the one case where the message may have been delivered.
func (c *Client) Send(ctx context.Context, m Message) (Sent, error) {
	msg, err := c.compose(m)
	if err != nil {
		return Sent{}, err
	}
	s, err := c.open(ctx)
	if err != nil {
		return Sent{}, err
	}
	resp, err := s.send(msg)
	if err != nil {
		s.abort()
		return Sent{}, err
	}
	s.quit()
	return Sent{MessageID: cmp.Or(msg.GetMessageID(), m.MessageID), Response: resp}, nil
}

// String describes the client without its password.
func (c *Client) String() string {
	return fmt.Sprintf("email client %s (%s) as %q from %s", c.addr(), c.security, c.user, c.from)
}

// secretForms are a password as a server might echo it back: as typed, and base64-encoded the
// ways AUTH PLAIN and LOGIN send it.
func secretForms(user, pass string) []string {
	if pass == "" {
		return nil
	}
	var out []string
	for _, s := range []string{pass, b64(pass), b64("\x00" + user + "\x00" + pass)} {
		if len(s) >= 4 { // redacting a shorter one would blot out ordinary words
			out = append(out, s)
		}
	}
	return out
}
