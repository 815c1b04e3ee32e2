// Package intellectdialog is the client of the IntellectDialog messaging API v2: it checks keys,
// lists senders, operators and messages, sends messages and manages the account's one webhook.
package intellectdialog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
)

const (
	// Kind is the provider kind, as integrations and errors name it.
	Kind = "intellectdialog"
	// DefaultBaseURL is the production API root.
	DefaultBaseURL = "https://api.intellectdialog.com/v2/"

	defaultTimeout    = 10 * time.Second
	defaultRetries    = 2
	defaultRetryAfter = 60 * time.Second
	maxBody           = 16 << 20

	// maxMark is the API's limit on a message's mark (its validation: max:36).
	maxMark = 36
	// maxPhoneDigits is the API's limit on a phone (its validation: max:20).
	maxPhoneDigits = 20
)

// DefaultEvents are the webhook events SetWebhook subscribes to when it is given none.
var DefaultEvents = []string{"new_message", "new_status", "new_error"}

var _ provider.Provider = (*Client)(nil)

// Client reaches one IntellectDialog account. It is safe for concurrent use.
type Client struct {
	http     *resty.Client
	base     string // absolute, ends in "/"
	key      string
	redactor apiclient.Redactor // hides the key as it may be echoed back
	timeout  time.Duration
	retries  int
	backoff  time.Duration // first wait between retries; doubles
	clock    bellhop.Clock
	log      *slog.Logger

	zone zone
	warn apiclient.WarnOnce // warnings logged once

	stopMu   sync.Mutex
	stopPath string // the stop list's route once one answered; stopNone when neither did
}

const stopNone = "-"

// stopPaths are the stop list's possible routes: the PHP client's, then PROVIDERS.md's.
var stopPaths = []string{"stoplist", "persons/stoplist"}

// New returns a client for cfg. BaseURL defaults to DefaultBaseURL and must be an absolute
// http(s) URL; APIKey is required. A Zone it does not know is logged and taken as UTC.
func New(cfg provider.Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("intellectdialog: the API key is required")
	}
	if strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("intellectdialog: the API key contains control characters")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := base
		if err == nil {
			shown = u.Redacted()
		}
		return nil, fmt.Errorf("intellectdialog: base URL %q is not an absolute http(s) URL (e.g. %s)", shown, DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("intellectdialog: base URL %q must not have a query or fragment", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c := &Client{
		base:     u.String(),
		key:      cfg.APIKey,
		redactor: apiclient.NewRedactor(cfg.APIKey),
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		backoff:  200 * time.Millisecond,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		zone:     zone{lookup: make(chan struct{}, 1)},
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
	if strings.TrimSpace(cfg.Zone) != "" {
		c.setZone(cfg.Zone)
	}
	// A copy, so resty never changes the caller's client; the shared default transport, so
	// short-lived clients do not each keep a connection pool.
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
	}
	if hc.Transport == nil {
		hc.Transport = http.DefaultTransport
	}
	c.http = resty.NewWithClient(hc)
	// Retries and timeouts are ours (per attempt, GET and DELETE only); resty stays quiet.
	c.http.SetRetryCount(0).
		SetLogger(apiclient.QuietLogger{}).
		SetResponseBodyLimit(maxBody).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", "bellhop/"+Kind)
	return c, nil
}

// BaseURL returns the API root the client talks to, ending in "/".
func (c *Client) BaseURL() string { return c.base }

// Organization checks the key: it returns the account the key belongs to, with its time zone
// (which the client keeps for its times when Config.Zone was empty).
func (c *Client) Organization(ctx context.Context) (bellhop.Organization, error) {
	org, err := c.company(ctx, "check key (GET companies)")
	if err != nil {
		return bellhop.Organization{}, err
	}
	c.setZone(org.Zone)
	return org, nil
}

// company reads GET companies: an object under data, or a list holding it.
func (c *Client) company(ctx context.Context, step string) (bellhop.Organization, error) {
	r, err := c.do(ctx, step, http.MethodGet, "companies", nil, nil, true)
	if err != nil {
		return bellhop.Organization{}, err
	}
	var w wireCompany
	found, err := oneOrFirst(r.data(), &w)
	if err != nil {
		return bellhop.Organization{}, c.decodeError(step, err)
	}
	if !found || (w.ID == "" && w.Name == "") {
		return bellhop.Organization{}, c.fail(step, provider.FailInternal, r.status, "the answer names no company", nil)
	}
	return bellhop.Organization{ID: string(w.ID), Name: strings.TrimSpace(w.Name), Zone: string(w.Zone)}, nil
}

// Senders lists the account's sending channels (IntellectDialog calls them providers), every
// page. Type is the provider type's name in lower case ("whatsapp"), or its type_id when it
// has no name.
func (c *Client) Senders(ctx context.Context) ([]bellhop.Sender, error) {
	list, err := listAll[wireProvider](ctx, c, "list senders (GET providers)", "providers", nil, maxListPages)
	if err != nil {
		return nil, err
	}
	out := make([]bellhop.Sender, 0, len(list))
	for _, s := range list {
		typ := strings.ToLower(strings.TrimSpace(string(s.Type)))
		if typ == "" {
			typ = string(s.TypeID)
		}
		name, phone := strings.TrimSpace(s.Name), strings.TrimSpace(string(s.Phone))
		if phone == "" {
			name, phone = splitPhone(name)
		}
		out = append(out, bellhop.Sender{ID: string(s.ID), Type: typ, Name: name, Phone: phone})
	}
	return out, nil
}

// Operators lists the account's employees, every page. Name is first name, patronymic and
// surname.
func (c *Client) Operators(ctx context.Context) ([]bellhop.Operator, error) {
	list, err := listAll[wireEmployee](ctx, c, "list operators (GET employees)", "employees", nil, maxListPages)
	if err != nil {
		return nil, err
	}
	out := make([]bellhop.Operator, 0, len(list))
	for _, e := range list {
		name := joinNonEmpty(e.First, e.Middle, e.Last)
		if name == "" {
			name = strings.TrimSpace(e.AltName)
		}
		email := cmp.Or(strings.TrimSpace(e.Email), strings.TrimSpace(e.AltEmail))
		out = append(out, bellhop.Operator{ID: string(e.ID), Name: name, Email: email})
	}
	return out, nil
}

func joinNonEmpty(parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// LoginCode asks for a one-time sign-in code of an operator. The record puts it at
// response.code.code; it is read under data too. URL and ExpiresAt are set only when the answer
// carries them (the record documents neither).
func (c *Client) LoginCode(ctx context.Context, operatorID string) (provider.LoginCode, error) {
	const step = "get login code (POST employees/{id}/code)"
	if strings.TrimSpace(operatorID) == "" {
		return provider.LoginCode{}, c.fail(step, provider.FailInvalidRequest, 0, "operator id is required", nil)
	}
	r, err := c.do(ctx, step, http.MethodPost, "employees/"+url.PathEscape(operatorID)+"/code", nil, struct{}{}, true)
	if err != nil {
		return provider.LoginCode{}, err
	}
	var lc codeParts
	for _, k := range []string{"code", "data"} {
		if lc = codeFrom(r.fields[k], 0); lc.code != "" {
			break
		}
	}
	if lc.code == "" {
		return provider.LoginCode{}, c.fail(step, provider.FailInternal, r.status, "the answer has no code", nil)
	}
	out := provider.LoginCode{Code: lc.code, URL: lc.url}
	if out.URL == "" {
		// The record documents the code alone: the page that takes it is the provider's own
		// sign-in page, on the API's host (unconfirmed; a provider that names a URL wins).
		out.URL = c.loginPage(lc.code)
	}
	if lc.expires == "" {
		// No expiry is documented: a one-time code is taken to last a few minutes.
		out.ExpiresAt = c.clock.Now().Add(loginCodeTTL).UTC()
	}
	if lc.expires != "" {
		loc, _, err := c.Location(ctx)
		if err != nil {
			loc = time.UTC
		}
		if t, ok := parseTime(lc.expires, loc); ok {
			out.ExpiresAt = t
		} else {
			c.warn.Warn("expires", "intellectdialog: unreadable login code expiry", "step", step, "value", c.cleanText(lc.expires))
		}
	}
	return out, nil
}

// loginCodeTTL is how long a login code is taken to last when the provider does not say.
const loginCodeTTL = 10 * time.Minute

// loginPage is the provider's sign-in page for a one-time code: /login/{code} on the API's host.
func (c *Client) loginPage(code string) string {
	u, err := url.Parse(c.base)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/login/" + code}).String()
}

// phoneInName finds a phone number written at the end of a sender's name ("Reception
// +79990000001"): providers list no phone field, and accounts often name a number by it.
var phoneInName = regexp.MustCompile(`^(.*?)[\s,;:(\[-]*(\+\d[\d\s()-]{6,}\d)[)\]]?\s*$`)

func splitPhone(name string) (rest, phone string) {
	m := phoneInName.FindStringSubmatch(name)
	if m == nil {
		return name, ""
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, m[2])
	if len(digits) < 7 || len(digits) > 15 {
		return name, ""
	}
	rest = strings.TrimSpace(m[1])
	if rest == "" {
		rest = name
	}
	return rest, "+" + digits
}

type codeParts struct{ code, url, expires string }

// codeFrom finds a login code in raw: a string, or an object whose "code" is one (or another
// such object).
func codeFrom(raw json.RawMessage, depth int) codeParts {
	if apiclient.IsNull(raw) || depth > 2 {
		return codeParts{}
	}
	var s flexString
	if json.Unmarshal(raw, &s) == nil {
		return codeParts{code: string(s)}
	}
	var obj struct {
		Code      json.RawMessage `json:"code"`
		URL       flexString      `json:"url"`
		Link      flexString      `json:"link"`
		ExpiresAt flexString      `json:"expires_at"`
		ExpiredAt flexString      `json:"expired_at"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return codeParts{}
	}
	p := codeFrom(obj.Code, depth+1)
	p.url = cmp.Or(p.url, string(obj.URL), string(obj.Link))
	p.expires = cmp.Or(p.expires, string(obj.ExpiresAt), string(obj.ExpiredAt))
	return p
}

// SendMessage sends one text or template. It is never retried here: the provider does not
// deduplicate by mark, so a retry is the caller's decision. An empty MessageID is no failure:
// the provider queued the send (StackID).
func (c *Client) SendMessage(ctx context.Context, m provider.Message) (provider.SentMessage, error) {
	const step = "send message (POST messages)"
	// The phone goes as digits without "+": the record shows phones as digits (person_phone
	// "79123456789") and the API refuses more than 20 characters.
	phone := bellhop.PhoneDigits(m.Phone)
	invalid := func(reason string) (provider.SentMessage, error) {
		return provider.SentMessage{}, c.fail(step, provider.FailInvalidRequest, 0, reason, nil)
	}
	switch {
	case strings.TrimSpace(m.SenderID) == "":
		return invalid("sender id is required")
	case phone == "":
		return invalid("phone is required")
	case len(phone) > maxPhoneDigits:
		return invalid(fmt.Sprintf("phone has more than %d digits", maxPhoneDigits))
	case m.Text == "" && m.Template == "":
		return invalid("text or template is required")
	case utf8.RuneCountInString(m.Mark) > maxMark:
		return invalid(fmt.Sprintf("mark is longer than %d characters", maxMark))
	}
	body := wireSend{Phone: phone, ProviderID: m.SenderID, Text: m.Text, Template: m.Template, Mark: m.Mark, EmployeeID: m.OperatorID}
	if m.Template != "" {
		body.Vars = append([]string{}, m.Vars...) // vars is required with a template, even empty
	}
	r, err := c.do(ctx, step, http.MethodPost, "messages", nil, body, true)
	if err != nil {
		return provider.SentMessage{}, err
	}
	var w wireSent
	if _, err := oneOrFirst(r.data(), &w); err != nil {
		// The provider said success: the message is on its way even if its ids are unreadable.
		c.log.Warn("intellectdialog: unreadable answer to a send it accepted", "step", step, "error", c.cleanText(err.Error()))
	}
	sent := provider.SentMessage{MessageID: string(w.MessageID), ChatID: string(w.ChatID), StackID: string(w.StackID)}
	if sent.MessageID == "" && sent.StackID == "" {
		c.log.Warn("intellectdialog: an accepted send with neither message_id nor stack_id", "step", step, "sender", m.SenderID)
	}
	return sent, nil
}

// Messages lists the account's messages that match f, every page, oldest first. Times in the
// filter are sent in the account's zone (see ZoneKnown). The API has no mark or phone filter:
// the caller matches those. Past f.MaxPages it returns the messages read with an error.
func (c *Client) Messages(ctx context.Context, f provider.MessageFilter) ([]provider.StoredMessage, error) {
	const step = "list messages (GET messages)"
	loc, _, err := c.Location(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if f.SenderID != "" {
		q.Set("provider_id", f.SenderID)
	}
	if f.Outgoing {
		q.Set("type", "to_client")
	}
	if !f.CreatedAfter.IsZero() {
		q.Set("created_after", formatFloor(f.CreatedAfter, loc))
	}
	if !f.CreatedBefore.IsZero() {
		q.Set("created_before", formatCeil(f.CreatedBefore, loc))
	}
	pages := f.MaxPages
	if pages <= 0 {
		pages = defaultMessagePages
	}
	list, err := listAll[wireMessage](ctx, c, step, "messages", q, pages)
	out := make([]provider.StoredMessage, 0, len(list))
	for _, w := range list {
		m := c.storedMessage(step, w, loc)
		// The same filter again, in case the server ignored one; a time it could not read
		// keeps the message.
		switch {
		case f.SenderID != "" && m.SenderID != "" && m.SenderID != f.SenderID,
			f.Outgoing && !m.Outgoing,
			!m.CreatedAt.IsZero() && !f.CreatedAfter.IsZero() && m.CreatedAt.Before(f.CreatedAfter.Truncate(time.Second)),
			!m.CreatedAt.IsZero() && !f.CreatedBefore.IsZero() && m.CreatedAt.After(f.CreatedBefore):
			continue
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b provider.StoredMessage) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// Message reads one message by the provider's id.
func (c *Client) Message(ctx context.Context, id string) (provider.StoredMessage, error) {
	const step = "read message (GET messages/{id})"
	if strings.TrimSpace(id) == "" {
		return provider.StoredMessage{}, c.fail(step, provider.FailInvalidRequest, 0, "message id is required", nil)
	}
	loc, _, err := c.Location(ctx)
	if err != nil {
		return provider.StoredMessage{}, err
	}
	r, err := c.do(ctx, step, http.MethodGet, "messages/"+url.PathEscape(id), nil, nil, true)
	if err != nil {
		return provider.StoredMessage{}, err
	}
	var w wireMessage
	found, err := oneOrFirst(r.data(), &w)
	if err != nil {
		return provider.StoredMessage{}, c.decodeError(step, err)
	}
	if !found {
		return provider.StoredMessage{}, c.fail(step, provider.FailNotFound, r.status, "the answer has no message", nil)
	}
	return c.storedMessage(step, w, loc), nil
}

// storedMessage maps a message of the API; its times are in the account's zone loc.
func (c *Client) storedMessage(step string, w wireMessage, loc *time.Location) provider.StoredMessage {
	m := provider.StoredMessage{
		MessageID:  string(cmp.Or(w.ID, w.MessageID)),
		ChatID:     string(w.ChatID),
		Phone:      string(cmp.Or(w.PersonPhone, w.Phone)),
		SenderID:   string(w.ProviderID),
		Text:       w.Text,
		Mark:       string(cmp.Or(w.Marker, w.Mark)),
		OperatorID: string(w.EmployeeID),
	}
	out, known := outgoing(string(w.Type), w.TypeName, string(w.TypeID))
	if !known {
		c.warn.Warn("direction:"+string(w.Type)+"|"+w.TypeName+"|"+string(w.TypeID),
			"intellectdialog: a message of an unknown direction; taken as incoming",
			"step", step, "type", c.cleanText(string(w.Type)), "type_name", c.cleanText(w.TypeName), "type_id", c.cleanText(string(w.TypeID)))
	}
	m.Outgoing = out
	for _, t := range []struct {
		name string
		raw  flexString
		dst  *time.Time
	}{{"delivered_at", w.DeliveredAt, &m.DeliveredAt}, {"viewed_at", w.ViewedAt, &m.ViewedAt}, {"created_at", w.CreatedAt, &m.CreatedAt}} {
		v, ok := parseTime(string(t.raw), loc)
		if !ok {
			c.warn.Warn("time:"+t.name, "intellectdialog: an unreadable time", "step", step, "field", t.name, "value", c.cleanText(string(t.raw)))
		}
		*t.dst = v
	}
	return m
}

// outgoing reads a message's direction from type (to_client|from_client), type_name
// (Исходящее|Входящее) or type_id (2 outgoing, 1 incoming in the record).
func outgoing(typ, typeName, typeID string) (out, known bool) {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "to_client", "outgoing", "out":
		return true, true
	case "from_client", "incoming", "in":
		return false, true
	}
	switch strings.ToLower(strings.TrimSpace(typeName)) {
	case "исходящее", "outgoing":
		return true, true
	case "входящее", "incoming":
		return false, true
	}
	switch strings.TrimSpace(typeID) {
	case "2":
		return true, true
	case "1":
		return false, true
	}
	return false, false
}

// Templates lists a sender's WhatsApp templates (one answer: the API does not page them).
func (c *Client) Templates(ctx context.Context, senderID string) ([]provider.Template, error) {
	const step = "list templates (GET messages/{provider_id}/templates)"
	if strings.TrimSpace(senderID) == "" {
		return nil, c.fail(step, provider.FailInvalidRequest, 0, "sender id is required", nil)
	}
	r, err := c.do(ctx, step, http.MethodGet, "messages/"+url.PathEscape(senderID)+"/templates", nil, nil, true)
	if err != nil {
		return nil, err
	}
	items, err := listItems(r.data())
	if err != nil {
		return nil, c.decodeError(step, err)
	}
	out := make([]provider.Template, 0, len(items))
	for _, raw := range items {
		var w wireTemplate
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, c.decodeError(step, err)
		}
		out = append(out, provider.Template{ID: string(w.ID), Name: w.ElementName, Language: w.LanguageCode,
			Category: w.Category, Status: w.Status, Text: w.Data})
	}
	return out, nil
}

// StopListed reports whether the account's stop list holds phone. Phones are compared by
// their digits, every page, since the server may ignore the phone filter.
func (c *Client) StopListed(ctx context.Context, phone string) (bool, error) {
	const step = "check stop list (GET stoplist)"
	want := bellhop.PhoneDigits(phone)
	if want == "" {
		return false, c.fail(step, provider.FailInvalidRequest, 0, "phone is required", nil)
	}
	listed := false
	err := c.eachStopEntry(ctx, step, url.Values{"phone": {want}}, func(digits string) bool {
		listed = samePhone(want, digits)
		return listed
	})
	return listed, err
}

// StopList reads the account's whole stop list once and answers whether it holds a phone, by
// its digits as StopListed compares them: a worker that keeps the answer for a while asks
// once, not once per send. A list longer than maxListPages pages is an error.
func (c *Client) StopList(ctx context.Context) (func(phone string) bool, error) {
	const step = "read the stop list (GET stoplist)"
	whole, last := map[string]bool{}, map[string]bool{}
	err := c.eachStopEntry(ctx, step, nil, func(digits string) bool {
		if digits != "" {
			whole[digits] = true
			if len(digits) >= national {
				last[digits[len(digits)-national:]] = true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return func(phone string) bool {
		d := bellhop.PhoneDigits(phone)
		return d != "" && (whole[d] || (len(d) >= national && last[d[len(d)-national:]]))
	}, nil
}

// eachStopEntry hands fn the digits of each phone on the account's stop list (filtered by q,
// which the server may ignore) until fn answers true. It asks GET stoplist (the PHP client's
// route) and, when that route does not exist, GET persons/stoplist (PROVIDERS.md's), and
// keeps the one that answered. When neither exists the list is empty.
func (c *Client) eachStopEntry(ctx context.Context, step string, q url.Values, fn func(digits string) (stop bool)) error {
	c.stopMu.Lock()
	known := c.stopPath
	c.stopMu.Unlock()
	paths := stopPaths
	switch known {
	case stopNone:
		return nil
	case "":
	default:
		paths = []string{known}
	}
	for _, path := range paths {
		err := c.eachPage(ctx, step, path, q, maxListPages, func(items []json.RawMessage) (bool, error) {
			for _, raw := range items {
				var e wireStopEntry
				if json.Unmarshal(raw, &e) != nil {
					continue
				}
				if fn(bellhop.PhoneDigits(string(cmp.Or(e.PersonPhone, e.Phone)))) {
					return true, nil
				}
			}
			return false, nil
		})
		if errors.Is(err, errNoRoute) && known == "" {
			continue // the server has no such route: try the next
		}
		if provider.FailureOf(err) == provider.FailNotFound && !errors.Is(err, errNoRoute) {
			err = nil // the API's own "not found": nobody listed
		}
		if err != nil {
			return err
		}
		c.stopMu.Lock()
		c.stopPath = path
		c.stopMu.Unlock()
		return nil
	}
	c.stopMu.Lock()
	c.stopPath = stopNone
	c.stopMu.Unlock()
	c.warn.Warn("stoplist", "intellectdialog: the account has no stop list route (neither stoplist nor persons/stoplist); phones are taken as not stop-listed")
	return nil
}

// national is how many trailing digits make a number the same whatever its prefix.
const national = 10

// samePhone compares phones by digits; numbers of 10 digits or more also match on their last 10,
// so that a stop list that keeps a national form ("89161112233") still stops "+79161112233".
func samePhone(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return len(a) >= national && len(b) >= national && a[len(a)-national:] == b[len(b)-national:]
}
