package email

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// SenderInterval is the default least time between two messages of one mail account: one per
// 2 s is 30 a minute, Microsoft 365's published per-mailbox limit, and well under Gmail's
// 2,000 a day for a hotel's mailings. A manager may change it for a relay that takes more.
const SenderInterval = 2 * time.Second

// Channel declares the kind email: one SMTP account, whose from address is its one sender.
// It sends text and HTML made from the same template; SMTP has no delivery statuses and no
// way to list what was sent.
func Channel() provider.Kind {
	return provider.Kind{
		Name: Kind, Title: "Email (SMTP)", Address: provider.AddressEmail,
		Caps: provider.Capabilities{Text: true, Senders: true},
		Pacing: provider.Pacing{PerSender: SenderInterval, Adjustable: true,
			Why: "Mail providers limit an account's rate (Microsoft 365: 30 messages a minute): one per 2 seconds by default."},
		Fields: []provider.Field{
			{Name: "host", Label: "SMTP server", Required: true, Type: "text", Help: "e.g. smtp.example.com"},
			{Name: "port", Label: "Port", Type: "number", Default: "587", Help: "587 for STARTTLS, 465 for TLS"},
			{Name: "security", Label: "Encryption", Type: "select", Default: string(SecuritySTARTTLS),
				Options: []string{string(SecuritySTARTTLS), string(SecurityTLS), string(SecurityNone)}},
			{Name: "username", Label: "Username", Type: "text"},
			{Name: "password", Label: "Password", Secret: true, Type: "text", Help: "Some providers want an app password."},
			{Name: "from_address", Label: "From address", Required: true, Type: "email", Help: "e.g. reception@hotel.example"},
			{Name: "from_name", Label: "From name", Type: "text", Help: "e.g. Hotel Aurora"},
		},
		Open: func(cfg provider.Config) (provider.Client, error) {
			ec, err := ConfigFrom(cfg)
			if err != nil {
				return nil, err
			}
			c, err := New(ec)
			if err != nil {
				return nil, err
			}
			return account{c}, nil
		},
	}
}

// ConfigFrom reads the integration's settings into a Config; a port that is not a number is
// invalid_input naming it.
func ConfigFrom(cfg provider.Config) (Config, error) {
	c := cfg.Credentials
	ec := Config{Host: c.Get("host"), Security: Security(c.Get("security")), Username: c.Get("username"),
		Password: c["password"], FromAddress: c.Get("from_address"), FromName: c.Get("from_name"),
		Timeout: cfg.Timeout, AllowPrivate: cfg.AllowPrivate, Logger: cfg.Logger, Clock: cfg.Clock}
	if p := c.Get("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return Config{}, bellhop.Invalid("port", "must be a port number such as 587 or 465, not %q", clip(p, 10))
		}
		ec.Port = n
	}
	return ec, nil
}

// account is the channel model's client of a mail account: provider.Client and SenderLister.
type account struct{ c *Client }

var (
	_ provider.Client       = account{}
	_ provider.SenderLister = account{}
)

// Organization checks the connection (connect, encrypt, sign in, quit; nothing is sent). The
// account is the username on the host sending as the from address: another from address is
// another account, whose one sender the check chooses afresh.
func (a account) Organization(ctx context.Context) (bellhop.Organization, error) {
	if err := a.c.Check(ctx); err != nil {
		return bellhop.Organization{}, err
	}
	id := a.c.user
	if id == "" {
		id = a.c.from
	}
	return bellhop.Organization{ID: id + "@" + a.c.addr() + "/" + a.c.from, Name: a.c.from}, nil
}

// Senders is the account's one sender: its from address.
func (a account) Senders(context.Context) ([]bellhop.Sender, error) {
	name := a.c.fromName
	if name == "" {
		name = a.c.from
	}
	return []bellhop.Sender{{ID: a.c.from, Type: Kind, Name: name}}, nil
}

// SendMessage sends one email to m.Email with our Message-ID made from m.Mark (the delivery
// id) on the from address's domain, so a retry carries the same one.
func (a account) SendMessage(ctx context.Context, m provider.Message) (provider.SentMessage, error) {
	if strings.TrimSpace(m.Mark) == "" {
		return provider.SentMessage{}, a.c.fail(stepCheck, ClassInvalid, "the message has no delivery id for its Message-ID", nil)
	}
	_, domain, _ := strings.Cut(a.c.from, "@")
	sent, err := a.c.Send(ctx, Message{To: m.Email, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		MessageID: MessageID(m.Mark, domain), ListUnsubscribe: m.Unsubscribe,
		Headers: map[string]string{"X-Bellhop-Delivery": m.Mark}})
	if err != nil {
		return provider.SentMessage{}, err
	}
	return provider.SentMessage{MessageID: sent.MessageID}, nil
}
