package whatsapp

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

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// errNoRoute is the cause of a 404 that is not the API's answer (no error envelope): the
// server has no such route, which usually means a wrong base URL.
var errNoRoute = errors.New("the server has no such route: check the base URL")

// maxReason bounds the provider's text in an error: a page or a stack trace is no reason.
const maxReason = 200

// answer is an HTTP answer the API gave.
type answer struct {
	status int
	body   []byte // trimmed
}

// do runs one API call: it sends the request, retrying GETs on network errors and 5xx (a POST
// is never repeated: a send has no idempotency key), and classifies a failed answer.
func (c *Client) do(ctx context.Context, step, method, path string, q url.Values, body any) (*answer, error) {
	attempts := 1
	if method == http.MethodGet {
		attempts += c.retries
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		a, err := c.once(ctx, step, method, path, q, body)
		if err == nil || attempt >= attempts || provider.FailureOf(err) != provider.FailUnavailable || ctx.Err() != nil {
			return a, err
		}
		// Full jitter: a wait between wait/2 and wait, then double it.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return a, err
		case <-t.C:
		}
		wait *= 2
	}
}

// once is one attempt with its own timeout.
func (c *Client) once(ctx context.Context, step, method, path string, q url.Values, body any) (*answer, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := c.http.R().SetContext(actx)
	if c.kind == KindDialog360 {
		req.SetHeader("D360-API-KEY", c.key)
	} else {
		req.SetHeader("Authorization", "Bearer "+c.key)
	}
	if len(q) > 0 {
		req.SetQueryParamsFromValues(q)
	}
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, c.base+path)
	if err != nil {
		var refused *safehttp.RefusedError
		if errors.As(err, &refused) {
			// The address policy will refuse it every time: not a temporary failure.
			return nil, c.fail(step, provider.FailInvalidRequest, 0, refused.Error(), err)
		}
		reason := "no answer"
		switch {
		case ctx.Err() != nil:
			reason = "cancelled"
		case actx.Err() != nil || apiclient.IsTimeout(err):
			reason = fmt.Sprintf("no answer within %s", c.timeout)
		}
		return nil, c.fail(step, provider.FailUnavailable, 0, reason, err)
	}
	return c.answer(step, method, resp)
}

// answer turns an HTTP answer into an *answer or a classified *provider.Error.
func (c *Client) answer(step, method string, resp *resty.Response) (*answer, error) {
	status := resp.StatusCode()
	a := &answer{status: status, body: bytes.TrimSpace(resp.Body())}
	env, enveloped := errorEnvelope(a.body)
	if status < 200 || status > 299 {
		return a, c.classify(step, resp, env, enveloped)
	}
	if enveloped && env.Code.set {
		return a, c.classify(step, resp, env, enveloped) // a 2xx that carries an error
	}
	if method == http.MethodGet {
		// A list or a check with nothing readable in it is no answer; a POST's accepted
		// answer is judged by its caller (a send must not turn into a retry).
		switch {
		case len(a.body) == 0:
			return a, c.fail(step, provider.FailInternal, status, "empty answer", nil)
		case !json.Valid(a.body):
			return a, c.fail(step, provider.FailInternal, status, "undecodable answer: "+apiclient.BodySnippet(resp.Header().Get("Content-Type"), resp.Body(), maxReason), nil)
		}
	}
	return a, nil
}

// errorEnvelope reads an error answer: Meta's {"error":{…}}, {"error":"…"}, an {"errors":[…]}
// list or {"meta":{"developer_message"}} (360dialog's own answers, unconfirmed). ok is false
// when the body is none of these.
func errorEnvelope(raw []byte) (env wireErrorBody, ok bool) {
	var top map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &top) != nil {
		return env, false
	}
	if e, has := top["error"]; has && !apiclient.IsNull(e) {
		if json.Unmarshal(e, &env) == nil {
			return env, true
		}
		var s string
		if json.Unmarshal(e, &s) == nil {
			return wireErrorBody{Message: s}, true
		}
	}
	if e, has := top["errors"]; has {
		var list []wireErrorBody
		if json.Unmarshal(e, &list) == nil && len(list) > 0 {
			return list[0], true
		}
	}
	if m, has := top["meta"]; has {
		var meta struct {
			DeveloperMessage string `json:"developer_message"`
		}
		if json.Unmarshal(m, &meta) == nil && meta.DeveloperMessage != "" {
			return wireErrorBody{Message: meta.DeveloperMessage}, true
		}
	}
	return env, false
}

// classify makes the error of a failed answer: by Meta's error code when it knows the code
// (Meta asks for exactly that), else by the HTTP status.
func (c *Client) classify(step string, resp *resty.Response, env wireErrorBody, enveloped bool) *provider.Error {
	status := resp.StatusCode()
	reason := strings.TrimSpace(env.Message)
	if reason == "" {
		reason = strings.TrimSpace(env.Title)
	}
	if !enveloped {
		reason = apiclient.BodySnippet(resp.Header().Get("Content-Type"), resp.Body(), maxReason)
	}
	if reason == "" || reason == "empty answer" {
		reason = http.StatusText(status)
	}

	cls, known := Class{}, false
	if env.Code.set {
		cls, known = Classify(env.Code.n)
		if env.Code.n == 0 && status != http.StatusUnauthorized && status != http.StatusForbidden {
			known = false // 0 is also what a sloppy proxy writes for "no code"
		}
		if !known {
			c.warn.Warn("code:"+strconv.Itoa(env.Code.n), "whatsapp: an error code Bellhop does not know; classified by its HTTP status",
				"kind", c.kind, "step", step, "code", env.Code.n, "status", status, "reason", c.cleanText(reason))
		}
	}
	if !known {
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			cls = Class{Kind: provider.FailUnauthorized, Action: ActionFixCredentials}
		case status == http.StatusTooManyRequests:
			cls = Class{Kind: provider.FailRateLimited, Action: ActionBackOff, RetryAfter: defaultRetryAfter}
		case status == http.StatusNotFound:
			cls = Class{Kind: provider.FailNotFound}
		case status == http.StatusRequestTimeout || status >= 500:
			cls = Class{Kind: provider.FailUnavailable}
		default: // other 4xx, or an error envelope with a 2xx
			cls = Class{Kind: provider.FailInvalidRequest}
		}
	}

	e := c.fail(step, cls.Kind, status, reason, nil)
	if env.Code.set {
		e.Code = strconv.Itoa(env.Code.n)
	}
	// 131056 is about one recipient: only messages to that guest wait, not the number's.
	e.Recipient = cls.Action == ActionSlowDownRecipient
	if cls.Kind == provider.FailUnauthorized {
		e.Field = c.keyField()
	}
	switch {
	case enveloped || cls.Action != ActionNone:
		e.Err = &APIError{Code: env.Code.n, Subcode: env.Subcode.n, Type: c.cleanText(env.Type), Title: e.Reason,
			Details: c.cleanText(env.details()), TraceID: c.cleanText(env.TraceID), Action: cls.Action}
	case status == http.StatusNotFound:
		e.Err = errNoRoute
	}
	if cls.Kind == provider.FailRateLimited {
		def := cls.RetryAfter
		if def <= 0 {
			def = defaultRetryAfter
		}
		e.RetryAfter = apiclient.RetryAfter(resp.Header(), c.clock.Now(), def)
	}
	return e
}

// keyField names the integration field of the client's key: the Cloud API's access token or
// 360dialog's API key.
func (c *Client) keyField() string {
	if c.kind == KindDialog360 {
		return "api_key"
	}
	return "access_token"
}

// decodeJSON decodes an answer's body; an empty body is an error.
func decodeJSON(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return errors.New("empty answer")
	}
	return json.Unmarshal(raw, v)
}

func (c *Client) decodeError(step string, status int, err error) *provider.Error {
	return c.fail(step, provider.FailInternal, status, "undecodable answer", err)
}

// cleanText makes text from the provider fit for an error or a log line: no key, no control
// characters, at most maxReason characters.
func (c *Client) cleanText(s string) string { return c.redactor.Clean(s, maxReason) }

// fail builds the error of a step. The key never gets into it, even if the provider or a
// transport echoed it; the provider's text is cut short and cleaned of control characters.
func (c *Client) fail(step string, kind provider.Failure, status int, reason string, err error) *provider.Error {
	e := &provider.Error{Provider: c.kind, Step: step, Failure: kind, Status: status, Reason: c.cleanText(reason), Err: err}
	if err != nil && c.redactor.Redact(err.Error()) != err.Error() {
		e.Err = c.redactor.Error(err)
	}
	return e
}
