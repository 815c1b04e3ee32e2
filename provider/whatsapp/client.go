// Package whatsapp is the client of the official WhatsApp Business Platform in the two forms that
// share one message body: Meta's Cloud API (kind whatsapp_cloud) and 360dialog (kind dialog360).
//
// It checks credentials, lists a business account's numbers and approved templates, sends free
// text and templates, and reads Meta's webhooks (VerifyChallenge, VerifySignature, ParseEvents).
// Things the caller must know, because the API will not tell it twice:
//
//   - No idempotency key exists. A send is never retried here; a second call is a second message
//     to the guest. A send that timed out or met a 5xx may still have been delivered: hold it as
//     unconfirmed, or pass CallbackData (the delivery id) and let a later status callback, which
//     echoes it, say what happened.
//   - Free text reaches a guest only within 24 hours of the guest's last message to the number;
//     outside it only approved templates do (131047, ActionUseTemplate).
//   - Status callbacks arrive out of order (read before delivered, failed after sent); apply a
//     status only when it moves the message forward (Advances).
//   - Pacing: about 80 messages/s per number (130429) and about one message per 6 s to one
//     recipient (131056). Classify and the errors' Action say what to do when they are exceeded.
package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
	"github.com/bellhop/bellhop/provider/safehttp"
)

const (
	// KindCloud is Meta's Cloud API, as integrations and errors name it.
	KindCloud = "whatsapp_cloud"
	// KindDialog360 is 360dialog's hosted Cloud API.
	KindDialog360 = "dialog360"

	// DefaultCloudBaseURL is the Graph API root with the version Bellhop is written against.
	DefaultCloudBaseURL = "https://graph.facebook.com/v26.0/"
	// DefaultDialog360BaseURL is 360dialog's Cloud API root.
	DefaultDialog360BaseURL = "https://waba-v2.360dialog.io/"

	// NumberRate is the Cloud API's throughput per number, messages per second.
	NumberRate = 80
	// RecipientGap is about the least time between two messages to one recipient (131056).
	RecipientGap = 6 * time.Second
	// Window is the customer service window: free text only within it after the guest's last
	// message.
	Window = 24 * time.Hour

	// MaxTextLength is the longest text body the API takes, in characters.
	MaxTextLength = 4096
	// MaxCallbackData is the longest biz_opaque_callback_data the API takes.
	MaxCallbackData = 512

	defaultTimeout    = 10 * time.Second
	defaultRetries    = 2
	defaultRetryAfter = 60 * time.Second
	maxBody           = 16 << 20
)

// Config is what a client needs to reach one account. The embedded provider.Config carries the
// settings every provider client shares; zero values mean defaults:
//
//   - BaseURL: the API root; for the Cloud API including its version. Default per kind.
//   - APIKey: the Cloud API's access token (sent as "Authorization: Bearer …"), or 360dialog's
//     API key (sent as D360-API-KEY). Required.
//   - HTTPClient: provider/safehttp's client (safehttp.Policy.Client), so that a base URL
//     someone typed cannot reach into the operator's network. Nil means safehttp's default
//     policy: https to public hosts only.
//   - Timeout (per attempt), Retries (GETs only), Logger, Clock. Zone is not used: the API's
//     times are Unix seconds.
type Config struct {
	Kind string // KindCloud or KindDialog360
	provider.Config
	// WABAID is the WhatsApp Business Account id (Cloud API; required): its numbers and
	// templates are listed.
	WABAID string
	// PhoneNumberID is the number sends go from (Cloud API; a PhoneNumber.ID, the sender).
	// The From option overrides it per send. 360dialog's key is one number's: not used.
	PhoneNumberID string
}

// Client reaches one WhatsApp Business account. It is safe for concurrent use.
type Client struct {
	kind     string
	http     *resty.Client
	base     string // absolute, ends in "/"
	key      string
	redactor apiclient.Redactor // hides the key as it may be echoed back
	waba     string
	number   string
	timeout  time.Duration
	retries  int
	backoff  time.Duration // first wait between retries; doubles
	clock    bellhop.Clock
	log      *slog.Logger
	warn     apiclient.WarnOnce // warnings logged once
}

// graphID is a Graph API object id: digits only, so it can never change the path it is put in.
var graphID = regexp.MustCompile(`^[0-9]{1,32}$`)

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	var def string
	switch cfg.Kind {
	case KindCloud:
		def = DefaultCloudBaseURL
	case KindDialog360:
		def = DefaultDialog360BaseURL
	default:
		return nil, fmt.Errorf("whatsapp: unknown kind %q (want %s or %s)", cfg.Kind, KindCloud, KindDialog360)
	}
	name := "the access token"
	if cfg.Kind == KindDialog360 {
		name = "the API key"
	}
	switch {
	case cfg.APIKey == "":
		return nil, fmt.Errorf("%s: %s is required", cfg.Kind, name)
	case strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r <= 0x20 || r == 0x7f }):
		return nil, fmt.Errorf("%s: %s contains spaces or control characters", cfg.Kind, name)
	}
	if cfg.Kind == KindCloud {
		if !graphID.MatchString(cfg.WABAID) {
			return nil, fmt.Errorf("%s: the WhatsApp Business Account id is required and must be digits (got %q)", cfg.Kind, apiclient.Truncate(cfg.WABAID, 40))
		}
		if cfg.PhoneNumberID != "" && !graphID.MatchString(cfg.PhoneNumberID) {
			return nil, fmt.Errorf("%s: the phone number id must be digits (got %q)", cfg.Kind, apiclient.Truncate(cfg.PhoneNumberID, 40))
		}
	}
	base, err := baseURL(cfg.Kind, cfg.BaseURL, def)
	if err != nil {
		return nil, err
	}
	c := &Client{
		kind:     cfg.Kind,
		base:     base,
		key:      cfg.APIKey,
		redactor: apiclient.NewRedactor(cfg.APIKey),
		waba:     cfg.WABAID,
		number:   cfg.PhoneNumberID,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		backoff:  200 * time.Millisecond,
		clock:    cfg.Clock,
		log:      cfg.Logger,
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.retries == 0 {
		c.retries = defaultRetries
	} else if c.retries < 0 {
		c.retries = 0
	}
	if c.clock == nil {
		c.clock = bellhop.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.warn.Log = c.log
	// A copy, so resty never changes the caller's client; safehttp's default policy when none
	// is given, so that no provider call leaves the address policy.
	hc := safehttp.Policy{}.Client()
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	c.http = resty.NewWithClient(hc)
	// Retries and timeouts are ours (per attempt, GETs only); resty stays quiet.
	c.http.SetRetryCount(0).
		SetLogger(apiclient.QuietLogger{}).
		SetResponseBodyLimit(maxBody).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", "bellhop/"+cfg.Kind)
	return c, nil
}

// baseURL checks and normalises a base URL: absolute http(s), no query or fragment, ending in "/".
func baseURL(kind, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := raw
		if err == nil {
			shown = u.Redacted()
		}
		return "", fmt.Errorf("%s: base URL %q is not an absolute http(s) URL (e.g. %s)", kind, apiclient.Truncate(shown, 80), def)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%s: base URL %q must not have credentials, a query or a fragment", kind, u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

// Kind returns KindCloud or KindDialog360.
func (c *Client) Kind() string { return c.kind }

// BaseURL returns the API root the client talks to, ending in "/".
func (c *Client) BaseURL() string { return c.base }

// CheckCredentials checks the key: the Cloud API lists one phone number of the business account
// (a bad token is error 190, FailUnauthorized; a WABA the token may not see is an error too);
// 360dialog lists the templates.
func (c *Client) CheckCredentials(ctx context.Context) error {
	if c.kind == KindDialog360 {
		const step = "check key (GET v1/configs/templates)"
		_, err := c.do(ctx, step, http.MethodGet, "v1/configs/templates", url.Values{"limit": {"1"}}, nil)
		return err
	}
	const step = "check token (GET {waba-id}/phone_numbers)"
	_, err := c.do(ctx, step, http.MethodGet, c.waba+"/phone_numbers", url.Values{"fields": {"id"}, "limit": {"1"}}, nil)
	return err
}

// PhoneNumber is one number of the business account: a sender.
type PhoneNumber struct {
	ID            string // the phone-number-id sends go from
	DisplayPhone  string // as Meta shows it, e.g. "+7 999 000-00-01"
	VerifiedName  string // the business name guests see
	QualityRating string // GREEN, YELLOW, RED or UNKNOWN
}

// Phone returns the number in E.164 ("+79990000001"), "" when it shows no digits.
func (p PhoneNumber) Phone() string {
	if d := bellhop.PhoneDigits(p.DisplayPhone); d != "" {
		return "+" + d
	}
	return ""
}

// Sender returns the number as a Bellhop sender of the given kind.
func (p PhoneNumber) Sender(kind string) bellhop.Sender {
	return bellhop.Sender{ID: p.ID, Type: kind, Name: p.VerifiedName, Phone: p.Phone()}
}

// PhoneNumbers lists the business account's numbers, every page (Cloud API only: a 360dialog
// key is one number's and the API lists none).
func (c *Client) PhoneNumbers(ctx context.Context) ([]PhoneNumber, error) {
	const step = "list numbers (GET {waba-id}/phone_numbers)"
	if c.kind == KindDialog360 {
		return nil, c.fail(step, provider.FailInvalidRequest, 0, "a 360dialog key belongs to one number: the API lists no numbers", nil)
	}
	var out []PhoneNumber
	q := url.Values{"fields": {"id,display_phone_number,verified_name,quality_rating"}}
	err := graphList(ctx, c, step, c.waba+"/phone_numbers", q, func(w wirePhoneNumber) error {
		if w.ID == "" {
			c.warn.Warn("number-without-id", "whatsapp: a phone number without an id; skipped", "kind", c.kind, "step", step)
			return nil
		}
		out = append(out, PhoneNumber{ID: string(w.ID), DisplayPhone: strings.TrimSpace(w.DisplayPhone),
			VerifiedName: strings.TrimSpace(w.VerifiedName), QualityRating: strings.ToUpper(strings.TrimSpace(w.QualityRating))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Template is a message template in one language.
type Template struct {
	ID       string
	Name     string
	Language string // as the template names it, e.g. "en_US" or "ru": SendTemplate takes the same
	Category string // MARKETING, UTILITY, AUTHENTICATION
	Status   string // APPROVED, PENDING, REJECTED, PAUSED, …; upper case
	Body     string // the BODY component's text, with {{1}}, {{2}}, …
	// BodyParams is how many body parameters a send must carry: the highest {{n}} in Body.
	BodyParams int
}

// Approved reports whether the template may be sent.
func (t Template) Approved() bool { return t.Status == "APPROVED" }

// Provider returns the template as the provider package describes one.
func (t Template) Provider() provider.Template {
	return provider.Template{ID: t.ID, Name: t.Name, Language: t.Language, Category: t.Category, Status: t.Status, Text: t.Body}
}

// Templates lists the approved templates, one per name and language, every page, sorted by
// name and language. Templates not approved (pending, rejected, paused) are left out: they
// cannot be sent.
func (c *Client) Templates(ctx context.Context) ([]Template, error) {
	var (
		all []*wireTemplate
		err error
	)
	if c.kind == KindDialog360 {
		all, err = c.templates360(ctx)
	} else {
		const step = "list templates (GET {waba-id}/message_templates)"
		q := url.Values{"fields": {"id,name,language,status,category,components"}}
		err = graphList(ctx, c, step, c.waba+"/message_templates", q, func(w wireTemplate) error {
			all = append(all, &w)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(all))
	for _, w := range all {
		t := Template{ID: string(w.ID), Name: strings.TrimSpace(w.Name), Language: w.language(),
			Category: strings.ToUpper(strings.TrimSpace(w.Category)), Status: strings.ToUpper(strings.TrimSpace(w.Status))}
		for _, comp := range w.Components {
			if strings.EqualFold(comp.Type, "BODY") {
				t.Body = comp.Text
			}
		}
		t.BodyParams = provider.TemplateParams(t.Body)
		if t.Name == "" || t.Language == "" || !t.Approved() {
			continue
		}
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b Template) int {
		if a.Name != b.Name {
			return strings.Compare(a.Name, b.Name)
		}
		return strings.Compare(a.Language, b.Language)
	})
	return slices.CompactFunc(out, func(a, b Template) bool { return a.Name == b.Name && a.Language == b.Language }), nil
}

// Sent is the API's answer to an accepted send.
type Sent struct {
	// MessageID is the message's id ("wamid.…"), which status callbacks name. It is empty only
	// when the API accepted the message but its answer could not be read (logged).
	MessageID string
	// WAID is the recipient's WhatsApp id as the API resolved the number.
	WAID string
	// MessageStatus is what the API said of a template send ("accepted",
	// "held_for_quality_assessment", …); empty for texts.
	MessageStatus string
}

// SendOption changes one send.
type SendOption func(*sendOptions)

type sendOptions struct {
	from         string
	callbackData string
}

// From sends from another number of the account than Config.PhoneNumberID (Cloud API).
func From(phoneNumberID string) SendOption {
	return func(o *sendOptions) { o.from = phoneNumberID }
}

// CallbackData attaches an opaque string (at most MaxCallbackData bytes; Bellhop's delivery id)
// that every status callback of the message echoes (biz_opaque_callback_data). It is a label,
// not an idempotency key: the API does not drop a second message with the same one.
func CallbackData(s string) SendOption {
	return func(o *sendOptions) { o.callbackData = s }
}

// SendText sends free text (at most MaxTextLength characters) to a phone number (any format;
// sent as its digits). Outside the 24-hour window it fails with 131047 (ActionUseTemplate).
// It is never retried: see the package documentation.
func (c *Client) SendText(ctx context.Context, to, text string, opts ...SendOption) (Sent, error) {
	const step = "send text (POST messages)"
	switch {
	case strings.TrimSpace(text) == "":
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, "text is required", nil)
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, "text is not valid UTF-8 or contains NUL", nil)
	case utf8.RuneCountInString(text) > MaxTextLength:
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, fmt.Sprintf("text is longer than %d characters", MaxTextLength), nil)
	}
	return c.send(ctx, step, to, wireSend{Type: "text", Text: &wireText{Body: text}}, opts)
}

// templateName and language are what the API takes as a template's name and language code.
var (
	templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageCode = regexp.MustCompile(`^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4})?$`)
)

// SendTemplate sends an approved template in a language ("ru", "en_US": as Templates lists it)
// with its body parameters in order ({{1}}, {{2}}, …). A parameter must not be empty and must
// not hold a new line, a tab or more than four spaces in a row (the API refuses those).
// It is never retried: see the package documentation.
func (c *Client) SendTemplate(ctx context.Context, to, name, language string, params []string, opts ...SendOption) (Sent, error) {
	const step = "send template (POST messages)"
	invalid := func(reason string) (Sent, error) {
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, reason, nil)
	}
	if !templateName.MatchString(name) {
		return invalid(fmt.Sprintf("template name %q is not a template name (lower-case letters, digits and _)", apiclient.Truncate(name, 60)))
	}
	if !languageCode.MatchString(language) {
		return invalid(fmt.Sprintf("language %q is not a language code such as ru or en_US", apiclient.Truncate(language, 20)))
	}
	tpl := &wireTemplateSend{Name: name, Language: wireLanguage{Code: language}}
	if len(params) > 0 {
		body := wireComponentSend{Type: "body"}
		for i, p := range params {
			if reason := paramProblem(p); reason != "" {
				return invalid(fmt.Sprintf("parameter {{%d}} %s", i+1, reason))
			}
			body.Parameters = append(body.Parameters, wireParam{Type: "text", Text: p})
		}
		tpl.Components = []wireComponentSend{body}
	}
	return c.send(ctx, step, to, wireSend{Type: "template", Template: tpl}, opts)
}

// paramProblem says why the API would refuse a body parameter, "" when it would not.
func paramProblem(p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return "is empty"
	case !utf8.ValidString(p) || strings.ContainsRune(p, 0):
		return "is not valid UTF-8 or contains NUL"
	case strings.ContainsAny(p, "\n\r\t"):
		return "contains a new line or a tab"
	case strings.Contains(p, "     "):
		return "contains more than four spaces in a row"
	case utf8.RuneCountInString(p) > 1024:
		return "is longer than 1024 characters"
	}
	return ""
}

// send posts one message. Never retried: the API has no idempotency key.
func (c *Client) send(ctx context.Context, step, to string, body wireSend, opts []SendOption) (Sent, error) {
	var o sendOptions
	for _, opt := range opts {
		opt(&o)
	}
	phone, reason := recipient(to)
	if reason != "" {
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, reason, nil)
	}
	if len(o.callbackData) > MaxCallbackData || !utf8.ValidString(o.callbackData) {
		return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, fmt.Sprintf("callback data is longer than %d bytes or not UTF-8", MaxCallbackData), nil)
	}
	path := "messages"
	if c.kind == KindCloud {
		from := o.from
		if from == "" {
			from = c.number
		}
		if !graphID.MatchString(from) {
			return Sent{}, c.fail(step, provider.FailInvalidRequest, 0, "no sender: choose the phone number to send from", nil)
		}
		path = from + "/messages"
	}
	body.MessagingProduct, body.RecipientType, body.To, body.CallbackData = "whatsapp", "individual", phone, o.callbackData
	a, err := c.do(ctx, step, http.MethodPost, path, nil, body)
	if err != nil {
		return Sent{}, err
	}
	var w wireSent
	if derr := decodeJSON(a.body, &w); derr != nil || len(w.Messages) == 0 || w.Messages[0].ID == "" {
		// The API said yes: the message is on its way even if its id cannot be read. An error
		// here would invite a retry, which is a second message to the guest.
		c.log.Warn("whatsapp: an accepted send whose answer has no message id", "kind", c.kind, "step", step, "status", a.status, "answer", c.cleanText(string(a.body)))
		return Sent{}, nil
	}
	sent := Sent{MessageID: string(w.Messages[0].ID), MessageStatus: w.Messages[0].MessageStatus}
	if len(w.Contacts) > 0 {
		sent.WAID = string(w.Contacts[0].WAID)
	}
	return sent, nil
}

// recipient turns a phone number in any common format into the digits the API takes; reason
// says why it is not one.
func recipient(to string) (phone, reason string) {
	if strings.TrimSpace(to) == "" {
		return "", "the recipient's phone is required"
	}
	if strings.ContainsFunc(to, func(r rune) bool { return !strings.ContainsRune("0123456789+-(). ", r) }) {
		return "", "the recipient's phone may hold only digits, spaces, +, -, ( and )"
	}
	d := bellhop.PhoneDigits(to)
	if len(d) < 7 || len(d) > 15 {
		return "", "the recipient's phone must have 7 to 15 digits with the country code"
	}
	return d, ""
}

// Webhook returns the callback URL set on the 360dialog number; ok is false when none is
// (360dialog only: the Cloud API's callback URL is set in the Meta app).
func (c *Client) Webhook(ctx context.Context) (webhookURL string, ok bool, err error) {
	const step = "read webhook (GET v1/configs/webhook)"
	if c.kind != KindDialog360 {
		return "", false, c.fail(step, provider.FailInvalidRequest, 0, "the Cloud API's webhook is set in the Meta app, not through the API", nil)
	}
	a, err := c.do(ctx, step, http.MethodGet, "v1/configs/webhook", nil, nil)
	if provider.FailureOf(err) == provider.FailNotFound && !errors.Is(err, errNoRoute) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	var w wireWebhook
	if err := decodeJSON(a.body, &w); err != nil {
		return "", false, c.decodeError(step, a.status, err)
	}
	w.URL = strings.TrimSpace(w.URL)
	return w.URL, w.URL != "", nil
}

// SetWebhook sets the 360dialog number's callback URL, replacing the one there was; headers
// are sent with every callback (360dialog does not sign callbacks: a secret in the URL or in
// a header is how Bellhop knows them). 360dialog only.
func (c *Client) SetWebhook(ctx context.Context, webhookURL string, headers map[string]string) error {
	const step = "set webhook (POST v1/configs/webhook)"
	if c.kind != KindDialog360 {
		return c.fail(step, provider.FailInvalidRequest, 0, "the Cloud API's webhook is set in the Meta app, not through the API", nil)
	}
	u, err := url.Parse(strings.TrimSpace(webhookURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.fail(step, provider.FailInvalidRequest, 0, "the webhook URL must be an absolute http(s) URL", nil)
	}
	_, err = c.do(ctx, step, http.MethodPost, "v1/configs/webhook", nil, wireWebhook{URL: u.String(), Headers: headers})
	return err
}
