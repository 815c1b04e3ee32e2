package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// A channel kind ("intellectdialog", "whatsapp_cloud", "dialog360", "email", …) is the one
// word for what an integration connects, what a mailing sends through (its sending methods) and
// what a webhook URL names. Each kind package under provider/ declares itself with a Kind; the
// connector, the send path, the webhook handler and the page work from that declaration alone,
// so adding a kind is one package plus one line in provider/channels.

// Kind declares one channel kind: what it can do, how it is paced, what a manager types in to
// connect it, how its clients are made and how its callbacks are authenticated and read.
type Kind struct {
	Name  string // the kind's word, e.g. "whatsapp_cloud"
	Title string // for people, e.g. "WhatsApp Cloud API"
	// DefaultBaseURL is the API root used when an integration sets none ("" for SMTP).
	DefaultBaseURL string
	// Address is what the kind reaches a guest by.
	Address Address
	Caps    Capabilities
	Pacing  Pacing
	// Fields are the credentials and settings the integration's PUT body carries, in the order
	// a form shows them. Secret fields are sealed at rest and never returned.
	Fields []Field
	// Open returns a client for one account. The client implements Client and whichever of the
	// optional interfaces (SenderLister, OperatorDirectory, TemplateLister, Finder, StopLister,
	// WebhookInstaller) Caps promises.
	Open func(Config) (Client, error)
	// Callbacks reads and authenticates the kind's callbacks; nil for a kind with none.
	Callbacks *Callbacks
}

// Address is what a kind reaches a guest by.
type Address string

const (
	AddressPhone Address = "phone" // WhatsApp, SMS, IntellectDialog, Viber
	AddressEmail Address = "email"
	AddressChat  Address = "chat" // a chat the guest opened with a bot (Telegram)
)

// Capabilities say what a kind can do; the page shows them and the send path relies on them.
type Capabilities struct {
	Text      bool `json:"text"`      // free text
	Templates bool `json:"templates"` // approved templates (WhatsApp Business)
	Senders   bool `json:"senders"`   // an account has senders to choose from
	Operators bool `json:"operators"` // operators and their sign-in (chat sessions)
	Statuses  bool `json:"statuses"`  // delivery status callbacks
	Inbound   bool `json:"inbound"`   // guests' messages arrive
	// Lookup: what the account was sent can be listed (Finder), so an attempt whose outcome
	// is unknown can be settled; without it such an attempt is held as unconfirmed.
	Lookup   bool `json:"lookup"`
	StopList bool `json:"stop_list"` // the account keeps a stop list (StopLister)
	// Webhook: the kind's callback address is set through its API (WebhookInstaller);
	// without it the manager pastes Bellhop's URL into the provider's console.
	Webhook bool `json:"webhook"`
	// CustomerWindow: free text reaches a guest only within this long after the guest's last
	// message, templates at any time (WhatsApp's 24-hour rule); 0 means no such rule.
	CustomerWindow time.Duration `json:"customer_window,omitempty"`
}

// Pacing is a kind's pacing profile. Every limit goes through the same Redis pacer.
type Pacing struct {
	// PerSender is the default least time between two messages of one sender (a number, a
	// bot, a mail account); a manager may change it per sender when Adjustable.
	PerSender  time.Duration `json:"per_sender"`
	Adjustable bool          `json:"adjustable"`
	// PerRecipient is the least time between two messages to one recipient through one
	// sender (Cloud API: one per 6 s); 0 means no such limit.
	PerRecipient time.Duration `json:"per_recipient,omitempty"`
	// Why says where the numbers come from, for the page.
	Why string `json:"why,omitempty"`
}

// Field is one credential or setting of a kind.
type Field struct {
	Name     string   `json:"name"`  // JSON name in the PUT body: api_key, access_token, host, …
	Label    string   `json:"label"` // English; the page translates by Name
	Secret   bool     `json:"secret"`
	Required bool     `json:"required"`
	Type     string   `json:"type"`              // text, url, number, email, select
	Options  []string `json:"options,omitempty"` // for select
	Default  string   `json:"default,omitempty"`
	Help     string   `json:"help,omitempty"`
}

// Credentials are an integration's field values by name (secrets unsealed, in memory only).
type Credentials map[string]string

// Get returns a credential's value, trimmed.
func (c Credentials) Get(name string) string { return strings.TrimSpace(c[name]) }

// Field returns the declaration of a field by name.
func (k *Kind) Field(name string) (Field, bool) {
	for _, f := range k.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Validate checks credentials against the declaration: required fields present, no unknown
// field, selects within their options. It returns a *bellhop.Error of code invalid_input that
// names every problem.
func (k *Kind) Validate(c Credentials, partial bool) error {
	var errs []error
	for name := range c {
		if _, ok := k.Field(name); !ok {
			names := make([]string, 0, len(k.Fields))
			for _, f := range k.Fields {
				names = append(names, f.Name)
			}
			errs = append(errs, bellhop.Invalid(name, "is not a setting of %s; it takes: %s", k.Title, strings.Join(names, ", ")))
		}
	}
	for _, f := range k.Fields {
		v, set := c[f.Name]
		v = strings.TrimSpace(v)
		if f.Required && v == "" && (!partial || set) {
			errs = append(errs, bellhop.Invalid(f.Name, "is required"))
			continue
		}
		if v != "" && f.Type == "select" && !slices.Contains(f.Options, v) {
			errs = append(errs, bellhop.Invalid(f.Name, "must be one of: %s", strings.Join(f.Options, ", ")))
		}
	}
	return bellhop.JoinInvalid(errs...)
}

// Client is what every kind's client does: check its credentials and send one message.
type Client interface {
	// Organization checks the credentials and returns the account they reach. A wrong
	// credential is a FailUnauthorized error; a service that cannot be reached FailUnavailable.
	Organization(ctx context.Context) (bellhop.Organization, error)
	// SendMessage sends one text or template. No provider deduplicates: a second call with the
	// same Mark is a second message to the guest.
	SendMessage(ctx context.Context, m Message) (SentMessage, error)
}

// SenderLister lists an account's senders (numbers, bots) to choose from.
type SenderLister interface {
	Senders(ctx context.Context) ([]bellhop.Sender, error)
}

// OperatorDirectory lists the account's operators and signs them in.
type OperatorDirectory interface {
	Operators(ctx context.Context) ([]bellhop.Operator, error)
	LoginCode(ctx context.Context, operatorID string) (LoginCode, error)
}

// TemplateLister lists a sender's message templates (approved or not).
type TemplateLister interface {
	Templates(ctx context.Context, senderID string) ([]Template, error)
}

// Finder lists what the account was sent, to settle an attempt whose outcome is unknown, and
// reads one message for its delivery state.
type Finder interface {
	Messages(ctx context.Context, f MessageFilter) ([]StoredMessage, error)
	Message(ctx context.Context, id string) (StoredMessage, error)
}

// StopLister reads the account's own stop list.
type StopLister interface {
	StopListed(ctx context.Context, phone string) (bool, error)
}

// WebhookInstaller reads and sets the account's callback address through the API.
type WebhookInstaller interface {
	Webhook(ctx context.Context) (w Webhook, ok bool, err error)
	SetWebhook(ctx context.Context, w Webhook) error
	DeleteWebhook(ctx context.Context) error
}

// Callbacks authenticate and read a kind's callbacks (POST /webhooks/{kind}/{pid}). Every
// integration has a webhook secret of its own, made by Bellhop; how a callback proves itself
// is the kind's: the secret in the URL Bellhop registered (IntellectDialog), a header the
// provider was asked to send with it (360dialog), a signature over the raw body with a
// credential (Meta's X-Hub-Signature-256 with the app secret).
type Callbacks struct {
	// URLSecret: the callback URL carries the integration's secret (?secret=…) and a callback
	// must present it. Without it the URL is plain and Authenticate alone decides.
	URLSecret bool
	// Authenticate checks a callback the provider's way: h and body as received, c the
	// integration's credentials, secret its webhook secret. Nil: URLSecret is the only proof
	// (and must then be set). Any error means "refuse it and read nothing".
	Authenticate func(h http.Header, body []byte, c Credentials, secret string) error
	// Challenge answers a subscription check (Meta's GET with hub.challenge; the verify token
	// is the webhook secret); nil when the kind has none. Any error means "refuse it".
	Challenge func(q url.Values, c Credentials, secret string) (string, error)
	// Parse reads one authenticated callback (one or several events); zone is the account's
	// time zone as the provider names it ("" when unknown).
	Parse func(body []byte, zone string) ([]StatusEvent, error)
	// Manual: the manager registers the callback URL in the provider's own console (Meta's app
	// settings); the integration's view shows the URL and the verify token to paste there.
	Manual bool
}

// Registry holds the kinds Bellhop knows, by name.
type Registry struct {
	kinds map[string]*Kind
}

// NewRegistry returns a registry of kinds; it panics on a duplicate or incomplete kind, a
// programming error found at start.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: map[string]*Kind{}}
	for _, k := range kinds {
		if k.Name == "" || k.Open == nil {
			panic(fmt.Sprintf("provider: kind %q has no name or no Open", k.Name))
		}
		if _, dup := r.kinds[k.Name]; dup {
			panic(fmt.Sprintf("provider: kind %q registered twice", k.Name))
		}
		if c := k.Callbacks; c != nil && (c.Parse == nil || (c.Authenticate == nil && !c.URLSecret)) {
			panic(fmt.Sprintf("provider: kind %q reads callbacks it does not authenticate", k.Name))
		}
		if k.Title == "" {
			k.Title = k.Name
		}
		r.kinds[k.Name] = &k
	}
	return r
}

// Get returns a kind by name.
func (r *Registry) Get(name string) (*Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Lookup returns a kind by name, or a not_found error listing the known ones.
func (r *Registry) Lookup(name string) (*Kind, error) {
	if k, ok := r.kinds[name]; ok {
		return k, nil
	}
	return nil, bellhop.Errorf(bellhop.ENotFound, "Unknown channel %q; Bellhop knows: %s.", bellhop.Excerpt(name), strings.Join(r.Names(), ", "))
}

// Names lists the kinds' names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All lists the kinds, sorted by name.
func (r *Registry) All() []*Kind {
	out := make([]*Kind, 0, len(r.kinds))
	for _, n := range r.Names() {
		out = append(out, r.kinds[n])
	}
	return out
}
