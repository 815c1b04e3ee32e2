// Package intellectdialog is the client of the IntellectDialog-style messaging API: it checks
// keys, lists senders and operators, opens operator logins, sends messages and manages webhooks.
package intellectdialog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
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
)

var _ provider.Provider = (*Client)(nil)

// Client reaches one IntellectDialog account. It is safe for concurrent use.
type Client struct {
	http    *resty.Client
	base    string // absolute, ends in "/"
	key     string
	timeout time.Duration
	retries int
	backoff time.Duration // first wait between retries; doubles
	clock   bellhop.Clock
}

// New returns a client for cfg. BaseURL defaults to DefaultBaseURL and must be an absolute
// http(s) URL; APIKey is required.
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
		base:    u.String(),
		key:     cfg.APIKey,
		timeout: cfg.Timeout,
		retries: cfg.Retries,
		backoff: 200 * time.Millisecond,
		clock:   bellhop.SystemClock{},
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.retries == 0 {
		c.retries = defaultRetries
	} else if c.retries < 0 {
		c.retries = 0
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
		SetLogger(quietLogger{}).
		SetResponseBodyLimit(maxBody).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", "bellhop/"+Kind)
	return c, nil
}

// BaseURL returns the API root the client talks to, ending in "/".
func (c *Client) BaseURL() string { return c.base }

// Organization checks the key: it returns the account the key belongs to.
func (c *Client) Organization(ctx context.Context) (bellhop.Organization, error) {
	const step = "check key (GET companies)"
	var raw json.RawMessage
	if err := c.do(ctx, step, http.MethodGet, "companies", nil, nil, &raw); err != nil {
		return bellhop.Organization{}, err
	}
	// One account per key: an object, or a list holding it.
	var o wireOrg
	if trimmed := strings.TrimSpace(string(raw)); strings.HasPrefix(trimmed, "[") {
		var list []wireOrg
		if err := json.Unmarshal(raw, &list); err != nil {
			return bellhop.Organization{}, c.decodeError(step, err)
		}
		if len(list) == 0 {
			return bellhop.Organization{}, c.fail(step, provider.KindInternal, http.StatusOK, "the answer lists no company", nil)
		}
		o = list[0]
	} else if err := json.Unmarshal(raw, &o); err != nil {
		return bellhop.Organization{}, c.decodeError(step, err)
	}
	if o.ID == "" && o.Name == "" {
		return bellhop.Organization{}, c.fail(step, provider.KindInternal, http.StatusOK, "the answer names no company", nil)
	}
	return bellhop.Organization{ID: string(o.ID), Name: o.Name}, nil
}

// Senders lists the account's sending channels (IntellectDialog calls them providers).
func (c *Client) Senders(ctx context.Context) ([]bellhop.Sender, error) {
	var list []wireSender
	if err := c.do(ctx, "list senders (GET providers)", http.MethodGet, "providers", nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]bellhop.Sender, 0, len(list))
	for _, s := range list {
		out = append(out, bellhop.Sender{ID: string(s.ID), Type: s.Type, Name: s.Name, Phone: string(s.Phone)})
	}
	return out, nil
}

// Operators lists the account's employees.
func (c *Client) Operators(ctx context.Context) ([]bellhop.Operator, error) {
	var list []wireOperator
	if err := c.do(ctx, "list operators (GET employees)", http.MethodGet, "employees", nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]bellhop.Operator, 0, len(list))
	for _, o := range list {
		out = append(out, bellhop.Operator{ID: string(o.ID), Name: o.Name, Email: o.Email})
	}
	return out, nil
}

// LoginCode asks for a one-time sign-in of an operator.
func (c *Client) LoginCode(ctx context.Context, operatorID string) (provider.LoginCode, error) {
	step := "get login code (POST employees/{id}/code)"
	if operatorID == "" {
		return provider.LoginCode{}, c.fail(step, provider.KindInvalidRequest, 0, "operator id is required", nil)
	}
	var w wireCode
	if err := c.do(ctx, step, http.MethodPost, "employees/"+url.PathEscape(operatorID)+"/code", nil, struct{}{}, &w); err != nil {
		return provider.LoginCode{}, err
	}
	return provider.LoginCode{Code: string(w.Code), URL: w.URL, ExpiresAt: time.Time(w.ExpiresAt)}, nil
}

// SendMessage sends one text. It is never retried here: a caller that retries passes the same
// Mark, and the provider answers the first message's ids with Duplicate set.
func (c *Client) SendMessage(ctx context.Context, m provider.Message) (provider.SentMessage, error) {
	const step = "send message (POST messages)"
	switch {
	case m.SenderID == "":
		return provider.SentMessage{}, c.fail(step, provider.KindInvalidRequest, 0, "sender id is required", nil)
	case m.Phone == "":
		return provider.SentMessage{}, c.fail(step, provider.KindInvalidRequest, 0, "phone is required", nil)
	}
	var w wireSent
	body := wireSend{Phone: m.Phone, ProviderID: m.SenderID, Text: m.Text, Mark: m.Mark}
	if err := c.do(ctx, step, http.MethodPost, "messages", nil, body, &w); err != nil {
		return provider.SentMessage{}, err
	}
	if w.MessageID == "" {
		return provider.SentMessage{}, c.fail(step, provider.KindInternal, http.StatusOK, "the answer has no message_id", nil)
	}
	return provider.SentMessage{MessageID: string(w.MessageID), ChatID: string(w.ChatID), Duplicate: bool(w.Duplicate)}, nil
}

// Messages lists messages the account sent, newest last.
func (c *Client) Messages(ctx context.Context, f provider.MessageFilter) ([]provider.StoredMessage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"phone": f.Phone, "provider_id": f.SenderID, "mark": f.Mark} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list []wireMessage
	if err := c.do(ctx, "list messages (GET messages)", http.MethodGet, "messages", q, nil, &list); err != nil {
		return nil, err
	}
	out := make([]provider.StoredMessage, 0, len(list))
	for _, m := range list {
		out = append(out, provider.StoredMessage{
			MessageID: string(m.MessageID), ChatID: string(m.ChatID), Phone: string(m.Phone),
			SenderID: string(m.ProviderID), Text: m.Text, Mark: string(m.Mark), Status: m.Status,
			CreatedAt: time.Time(m.CreatedAt),
		})
	}
	return out, nil
}

// Webhooks lists the callback registrations.
func (c *Client) Webhooks(ctx context.Context) ([]provider.Webhook, error) {
	var list []wireWebhook
	if err := c.do(ctx, "list webhooks (GET webhooks)", http.MethodGet, "webhooks", nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]provider.Webhook, 0, len(list))
	for _, w := range list {
		out = append(out, provider.Webhook{ID: string(w.ID), URL: w.URL, Events: w.Events})
	}
	return out, nil
}

// CreateWebhook registers a callback URL for events (new_message, new_status, new_error).
func (c *Client) CreateWebhook(ctx context.Context, w provider.Webhook) (provider.Webhook, error) {
	body := struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}{w.URL, w.Events}
	if body.Events == nil {
		body.Events = []string{}
	}
	var got wireWebhook
	if err := c.do(ctx, "create webhook (POST webhooks)", http.MethodPost, "webhooks", nil, body, &got); err != nil {
		return provider.Webhook{}, err
	}
	out := provider.Webhook{ID: string(got.ID), URL: got.URL, Events: got.Events}
	if out.URL == "" {
		out.URL = w.URL
	}
	if out.Events == nil {
		out.Events = w.Events
	}
	return out, nil
}

// DeleteWebhook removes a callback registration.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	step := "delete webhook (DELETE webhooks/{id})"
	if id == "" {
		return c.fail(step, provider.KindInvalidRequest, 0, "webhook id is required", nil)
	}
	return c.do(ctx, step, http.MethodDelete, "webhooks/"+url.PathEscape(id), nil, nil, nil)
}

// do runs one API call: it sends the request (retrying GET and DELETE on network errors and
// 5xx), unwraps the envelope and decodes data into out (when out is not nil).
func (c *Client) do(ctx context.Context, step, method, path string, q url.Values, body, out any) error {
	attempts := 1
	if method == http.MethodGet || method == http.MethodDelete {
		attempts += c.retries
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, step, method, path, q, body, out)
		if err == nil {
			return nil
		}
		if attempt >= attempts || provider.KindOf(err) != provider.KindUnavailable || ctx.Err() != nil {
			return err
		}
		// Full jitter: a wait between wait/2 and wait, then double it.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// once is one attempt with its own timeout.
func (c *Client) once(ctx context.Context, step, method, path string, q url.Values, body, out any) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := c.http.R().SetContext(actx).SetHeader("Authorization", c.key)
	if q != nil {
		req.SetQueryParamsFromValues(q)
	}
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, c.base+path)
	if err != nil {
		reason := "no answer"
		switch {
		case ctx.Err() != nil:
			reason = "cancelled"
		case actx.Err() != nil || isTimeout(err):
			reason = fmt.Sprintf("no answer within %s", c.timeout)
		}
		return c.fail(step, provider.KindUnavailable, 0, reason, err)
	}
	return c.answer(step, resp, out)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// answer turns an HTTP answer into out or a classified *provider.Error.
func (c *Client) answer(step string, resp *resty.Response, out any) error {
	status := resp.StatusCode()
	raw := resp.Body()
	if status >= 200 && status <= 299 && len(bytes.TrimSpace(raw)) == 0 {
		if out == nil { // e.g. 204 to a DELETE
			return nil
		}
		return c.fail(step, provider.KindInternal, status, "empty answer", nil)
	}
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	if decodeErr == nil && env.Response == nil {
		decodeErr = errors.New(`no "response" object`)
	}
	var reason, apiStatus string
	if decodeErr == nil {
		apiStatus = strings.ToLower(strings.TrimSpace(env.Response.Status))
		reason = errorText(env.Response.Error)
	}

	if status < 200 || status > 299 {
		if decodeErr != nil {
			reason = bodySnippet(resp)
		}
		if reason == "" {
			reason = http.StatusText(status)
		}
		return c.classify(step, resp, status, reason)
	}
	if decodeErr != nil {
		return c.fail(step, provider.KindInternal, status, "undecodable answer: "+bodySnippet(resp), decodeErr)
	}
	// A 200 may still carry an error answer.
	if (apiStatus != "success" && apiStatus != "ok" && apiStatus != "") || (apiStatus == "" && reason != "") {
		if reason == "" {
			reason = "error answer with status " + fmt.Sprintf("%q", env.Response.Status)
		}
		return c.classify(step, resp, status, reason)
	}
	if out == nil || len(env.Response.Data) == 0 || string(env.Response.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Response.Data, out); err != nil {
		return c.decodeError(step, err)
	}
	return nil
}

// classify makes the error of a failed answer from its HTTP status and the provider's reason.
func (c *Client) classify(step string, resp *resty.Response, status int, reason string) error {
	kind := provider.KindInvalidRequest
	switch {
	case status == http.StatusUnauthorized:
		kind = provider.KindUnauthorized
	case status == http.StatusTooManyRequests:
		kind = provider.KindRateLimited
	case status == http.StatusNotFound:
		kind = provider.KindNotFound
	case status == http.StatusRequestTimeout || status >= 500:
		kind = provider.KindUnavailable
	case status == http.StatusForbidden:
		if k, ok := kindOfReason(reason); ok && k == provider.KindSenderBlocked {
			kind = k
		} else {
			kind = provider.KindUnauthorized
		}
	case status >= 400:
		if k, ok := kindOfReason(reason); ok && (k == provider.KindSenderBlocked || k == provider.KindUnauthorized) {
			kind = k
		}
	default: // an error answer with a 2xx (or 3xx) status: only the reason tells
		if k, ok := kindOfReason(reason); ok {
			kind = k
		}
	}
	e := c.fail(step, kind, status, reason, nil)
	if kind == provider.KindRateLimited {
		e.RetryAfter = c.retryAfter(resp)
	}
	return e
}

// reasonWords maps words of a provider's error text (English or Russian) to a kind, most
// specific first.
var reasonWords = []struct {
	kind  provider.Kind
	words []string
}{
	{provider.KindSenderBlocked, []string{"banned", "blocked", "заблокирован", "забанен", "бан "}},
	{provider.KindUnauthorized, []string{"key", "token", "unauthori", "unauthenticated", "forbidden", "access denied", "credential", "ключ", "токен", "авториз"}},
	{provider.KindRateLimited, []string{"rate limit", "too many", "слишком много"}},
	{provider.KindNotFound, []string{"not found", "unknown", "does not exist", "не найден"}},
	{provider.KindUnavailable, []string{"try again", "temporar", "unavailable", "maintenance", "timeout", "timed out", "попробуйте позже"}},
}

func kindOfReason(reason string) (provider.Kind, bool) {
	r := strings.ToLower(reason)
	for _, rw := range reasonWords {
		for _, w := range rw.words {
			if strings.Contains(r, w) {
				return rw.kind, true
			}
		}
	}
	return 0, false
}

// retryAfter reads Retry-After (seconds or an HTTP date, against the answer's Date when given).
func (c *Client) retryAfter(resp *resty.Response) time.Duration {
	v := strings.TrimSpace(resp.Header().Get("Retry-After"))
	if v == "" {
		return defaultRetryAfter
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 1e9 {
			return defaultRetryAfter
		}
		return max(time.Duration(secs*float64(time.Second)), time.Second)
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return defaultRetryAfter
	}
	now := c.clock.Now()
	if d, err := http.ParseTime(resp.Header().Get("Date")); err == nil {
		now = d
	}
	return max(at.Sub(now), time.Second)
}

func (c *Client) decodeError(step string, err error) *provider.Error {
	return c.fail(step, provider.KindInternal, http.StatusOK, "undecodable answer", err)
}

// fail builds the error of a step. The API key never gets into it, even if the provider or a
// transport echoed it.
func (c *Client) fail(step string, kind provider.Kind, status int, reason string, err error) *provider.Error {
	e := &provider.Error{Provider: Kind, Step: step, Kind: kind, Status: status, Reason: c.redact(reason), Err: err}
	if err != nil && strings.Contains(err.Error(), c.key) {
		e.Err = redactedError{msg: c.redact(err.Error()), err: err}
	}
	return e
}

func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// redactedError shows a cleaned message but keeps the cause for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// errorText reads the envelope's error: a string, or an object with a message.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Message     string `json:"message"`
		Description string `json:"description"`
		Text        string `json:"text"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		for _, v := range []string{obj.Message, obj.Description, obj.Text} {
			if v != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	if string(raw) == "false" {
		return ""
	}
	return truncate(string(raw), 200)
}

// bodySnippet describes an answer that is not the API's JSON, without dumping pages into errors.
func bodySnippet(resp *resty.Response) string {
	ct := resp.Header().Get("Content-Type")
	body := strings.TrimSpace(string(resp.Body()))
	switch {
	case body == "":
		return "empty answer"
	case strings.Contains(ct, "html") || strings.HasPrefix(body, "<"):
		return "unexpected HTML answer"
	default:
		return truncate(body, 200)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// quietLogger keeps resty from writing to stderr; errors come back as values.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
