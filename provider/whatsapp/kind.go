package whatsapp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// SecretHeader is the header 360dialog is asked to send with every callback (set with the
// webhook, POST v1/configs/webhook {"url", "headers"}): 360dialog does not sign callbacks, so
// the integration's webhook secret in this header is how Bellhop knows them.
const SecretHeader = "X-Bellhop-Webhook-Secret"

// ErrSecretHeader is a 360dialog callback without the integration's secret header.
var ErrSecretHeader = errors.New("dialog360: the callback does not carry the webhook secret header")

// Pacing shared by both kinds: 80 messages/s per number and about one per 6 s to one recipient.
var pacing = provider.Pacing{
	PerSender:    time.Second / NumberRate,
	Adjustable:   true,
	PerRecipient: RecipientGap,
	Why: "Meta's Cloud API takes about 80 messages per second per number (error 130429 beyond it) " +
		"and about one message per 6 seconds to one guest (error 131056).",
}

// caps are what both kinds can do. Lookup is false: the API cannot list sent messages, so a
// send whose answer was lost waits for its status callback or is held as unconfirmed.
var caps = provider.Capabilities{Text: true, Templates: true, Senders: true, Statuses: true, Inbound: true, CustomerWindow: Window}

var baseURLField = provider.Field{Name: "base_url", Label: "API address", Type: "url",
	Help: "Leave empty for the service's own address; a sandbox or proxy has its own."}

// CloudChannel declares the kind whatsapp_cloud: Meta's Cloud API with a system user's access
// token, the WhatsApp Business Account id (its numbers are the senders) and the app secret
// (it signs the callbacks, which the manager subscribes to in the Meta app: Manual).
func CloudChannel() provider.Kind {
	return provider.Kind{
		Name: KindCloud, Title: "WhatsApp Cloud API", DefaultBaseURL: DefaultCloudBaseURL,
		Address: provider.AddressPhone, Caps: caps, Pacing: pacing,
		Fields: []provider.Field{
			{Name: "access_token", Label: "Access token", Secret: true, Required: true, Type: "text",
				Help: "A system user's permanent token with whatsapp_business_messaging and whatsapp_business_management."},
			{Name: "waba_id", Label: "WhatsApp Business Account ID", Required: true, Type: "text",
				Help: "Digits, from WhatsApp Manager → Account tools."},
			{Name: "app_secret", Label: "App secret", Secret: true, Required: true, Type: "text",
				Help: "From the Meta app's Settings → Basic: it signs the status callbacks."},
			baseURLField,
		},
		Open: func(cfg provider.Config) (provider.Client, error) {
			return open(KindCloud, cfg, cfg.Credentials.Get("access_token"), "access_token")
		},
		Callbacks: &provider.Callbacks{
			Manual: true,
			Authenticate: func(h http.Header, body []byte, c provider.Credentials, _ string) error {
				return VerifySignature(body, h.Get(SignatureHeader), c.Get("app_secret"))
			},
			Challenge: func(q url.Values, _ provider.Credentials, secret string) (string, error) {
				return VerifyChallenge(q, secret)
			},
			Parse: parseCallback,
		},
	}
}

// Dialog360Channel declares the kind dialog360: 360dialog's hosted Cloud API. Its API key is one
// number's, which is the account's one sender; the callback URL is set through the API with a
// secret header (SecretHeader).
func Dialog360Channel() provider.Kind {
	c := caps
	c.Webhook = true
	return provider.Kind{
		Name: KindDialog360, Title: "360dialog", DefaultBaseURL: DefaultDialog360BaseURL,
		Address: provider.AddressPhone, Caps: c, Pacing: pacing,
		Fields: []provider.Field{
			{Name: "api_key", Label: "API key", Secret: true, Required: true, Type: "text",
				Help: "The number's D360-API-KEY from the 360dialog Client Hub."},
			baseURLField,
		},
		Open: func(cfg provider.Config) (provider.Client, error) {
			key := cfg.APIKey
			if key == "" {
				key = cfg.Credentials.Get("api_key")
			}
			return open(KindDialog360, cfg, key, "api_key")
		},
		Callbacks: &provider.Callbacks{
			Authenticate: func(h http.Header, _ []byte, _ provider.Credentials, secret string) error {
				got := h.Get(SecretHeader)
				if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
					return ErrSecretHeader
				}
				return nil
			},
			Parse: parseCallback,
		},
	}
}

// open makes an account of a kind; a refused setting is invalid_input naming its field.
func open(kind string, cfg provider.Config, key, keyField string) (provider.Client, error) {
	wc := Config{Kind: kind, Config: cfg, WABAID: cfg.Credentials.Get("waba_id")}
	wc.APIKey = key
	var errs []error
	if strings.TrimSpace(key) == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		errs = append(errs, bellhop.Invalid(keyField, "is required and must have no spaces: paste it whole"))
	}
	if kind == KindCloud && !graphID.MatchString(wc.WABAID) {
		errs = append(errs, bellhop.Invalid("waba_id", "must be the WhatsApp Business Account ID: digits only, e.g. 102290129340398"))
	}
	if err := bellhop.JoinInvalid(errs...); err != nil {
		return nil, err
	}
	c, err := New(wc)
	if err != nil {
		return nil, bellhop.Invalid("base_url", "%s", strings.TrimPrefix(err.Error(), kind+": "))
	}
	return Account(c), nil
}

// account is a Client as the channel model sees it: provider.Client, SenderLister and
// TemplateLister; account360 adds WebhookInstaller.
type account struct{ c *Client }

type account360 struct{ *account }

var (
	_ provider.Client           = (*account)(nil)
	_ provider.SenderLister     = (*account)(nil)
	_ provider.TemplateLister   = (*account)(nil)
	_ provider.WebhookInstaller = account360{}
)

// Account returns the channel model's client over c (what Kind.Open returns).
func Account(c *Client) provider.Client {
	if c.kind == KindDialog360 {
		return account360{&account{c: c}}
	}
	return &account{c: c}
}

// Organization checks the credentials. The Cloud API's account is the WABA (named after its
// first number's verified name); a 360dialog key is one number's, and the API names nothing,
// so its account is known by a digest of the key (never the key).
func (a *account) Organization(ctx context.Context) (bellhop.Organization, error) {
	if a.c.kind == KindDialog360 {
		if err := a.c.CheckCredentials(ctx); err != nil {
			return bellhop.Organization{}, err
		}
		return bellhop.Organization{ID: a.number360(), Name: "360dialog"}, nil
	}
	numbers, err := a.c.PhoneNumbers(ctx)
	if pe, ok := provider.AsError(err); ok && (pe.Failure == provider.FailInvalidRequest || pe.Failure == provider.FailNotFound) && !errors.Is(err, errNoRoute) {
		// The token works but the account it names cannot be read (Meta's 100 "Object with
		// ID … does not exist"): the WABA id is wrong, or the token may not see it.
		wrong := *pe
		wrong.Failure, wrong.Field = provider.FailUnauthorized, "waba_id"
		return bellhop.Organization{}, &wrong
	}
	if err != nil {
		return bellhop.Organization{}, err
	}
	org := bellhop.Organization{ID: a.c.waba, Name: "WhatsApp Business Account " + a.c.waba}
	if len(numbers) > 0 && numbers[0].VerifiedName != "" {
		org.Name = numbers[0].VerifiedName
	}
	return org, nil
}

// number360 is the sender id of a 360dialog key: a digest of the key, stable while it is.
func (a *account) number360() string {
	sum := sha256.Sum256([]byte("dialog360/" + a.c.key))
	return "d360-" + hex.EncodeToString(sum[:6])
}

// Senders lists the Cloud API account's numbers with their quality rating; a 360dialog key's
// one number is its only sender.
func (a *account) Senders(ctx context.Context) ([]bellhop.Sender, error) {
	if a.c.kind == KindDialog360 {
		return []bellhop.Sender{{ID: a.number360(), Type: KindDialog360, Name: "360dialog number"}}, nil
	}
	numbers, err := a.c.PhoneNumbers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bellhop.Sender, 0, len(numbers))
	for _, n := range numbers {
		s := n.Sender(KindCloud)
		s.Quality = n.QualityRating
		out = append(out, s)
	}
	return out, nil
}

// Templates lists the account's approved templates (the same for all its numbers).
func (a *account) Templates(ctx context.Context, _ string) ([]provider.Template, error) {
	list, err := a.c.Templates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]provider.Template, len(list))
	for i, t := range list {
		out[i] = t.Provider()
	}
	return out, nil
}

// SendMessage sends a template when the message names one, else free text (which reaches the
// guest only inside the 24-hour window: outside it the error is FailUnreachable). The Mark
// goes as callback data, so status callbacks name the delivery.
func (a *account) SendMessage(ctx context.Context, m provider.Message) (provider.SentMessage, error) {
	opts := []SendOption{CallbackData(m.Mark)}
	if a.c.kind == KindCloud && m.SenderID != "" {
		opts = append(opts, From(m.SenderID))
	}
	var (
		sent Sent
		err  error
	)
	if m.Template != "" {
		sent, err = a.c.SendTemplate(ctx, m.Phone, m.Template, m.Language, m.Vars, opts...)
	} else {
		sent, err = a.c.SendText(ctx, m.Phone, m.Text, opts...)
	}
	if err != nil {
		return provider.SentMessage{}, err
	}
	return provider.SentMessage{MessageID: sent.MessageID, ChatID: sent.WAID}, nil
}

// Webhook reads the 360dialog number's callback URL (the Cloud API's is set in the Meta app).
func (a account360) Webhook(ctx context.Context) (provider.Webhook, bool, error) {
	u, ok, err := a.c.Webhook(ctx)
	return provider.Webhook{URL: u}, ok, err
}

// SetWebhook sets the 360dialog number's callback URL with the secret header.
func (a account360) SetWebhook(ctx context.Context, w provider.Webhook) error {
	var headers map[string]string
	if w.Secret != "" {
		headers = map[string]string{SecretHeader: w.Secret}
	}
	return a.c.SetWebhook(ctx, w.URL, headers)
}

// DeleteWebhook: 360dialog's API can replace a number's callback URL but not remove it, so
// Bellhop's stays; its callbacks for an inactive integration are still authenticated and read.
func (a account360) DeleteWebhook(context.Context) error { return nil }

// parseCallback reads a verified callback into status events; a failed status carries its
// code and whether the mailing should fall through to its next channel.
func parseCallback(body []byte, _ string) ([]provider.StatusEvent, error) {
	evs, err := ParseEvents(body)
	if err != nil {
		return nil, err
	}
	out := make([]provider.StatusEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.StatusEvent())
	}
	return out, nil
}
