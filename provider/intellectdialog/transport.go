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
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
)

// errNoRoute is the cause of a 404 that is not the API's answer (no error envelope): the
// server has no such route, as opposed to the API saying a record does not exist.
var errNoRoute = errors.New("the server has no such route")

// maxReason bounds the provider's text in an error: a page or a stack trace is no reason.
const maxReason = 200

// reply is an answer of the API: the members of its "response" object.
type reply struct {
	status    int
	enveloped bool                       // the body was {"response":{…}}
	fields    map[string]json.RawMessage // the response object's members; nil for an empty body
}

func (r *reply) data() json.RawMessage { return r.fields["data"] }

// pagin returns the list's paging numbers, nil when the answer has none (or unreadable ones).
func (r *reply) pagin() *wirePagin {
	raw, ok := r.fields["pagin"]
	if !ok || apiclient.IsNull(raw) {
		return nil
	}
	var p wirePagin
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	return &p
}

// do runs one API call: it sends the request (retrying GET and DELETE on network errors and
// 5xx) and unwraps the envelope. needBody says whether an empty 2xx answer is an error. The
// reply comes back with an error too when the provider answered (for its status and envelope).
func (c *Client) do(ctx context.Context, step, method, path string, q url.Values, body any, needBody bool) (*reply, error) {
	attempts := 1
	if method == http.MethodGet || method == http.MethodDelete {
		attempts += c.retries
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		r, err := c.once(ctx, step, method, path, q, body, needBody)
		if err == nil || attempt >= attempts || provider.FailureOf(err) != provider.FailUnavailable || ctx.Err() != nil {
			return r, err
		}
		// Full jitter: a wait between wait/2 and wait, then double it.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return r, err
		case <-t.C:
		}
		wait *= 2
	}
}

// once is one attempt with its own timeout.
func (c *Client) once(ctx context.Context, step, method, path string, q url.Values, body any, needBody bool) (*reply, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := c.http.R().SetContext(actx).SetHeader("Authorization", c.key)
	if len(q) > 0 {
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
		case actx.Err() != nil || apiclient.IsTimeout(err):
			reason = fmt.Sprintf("no answer within %s", c.timeout)
		}
		return nil, c.fail(step, provider.FailUnavailable, 0, reason, err)
	}
	return c.answer(step, resp, needBody)
}

// answer turns an HTTP answer into a reply or a classified *provider.Error.
func (c *Client) answer(step string, resp *resty.Response, needBody bool) (*reply, error) {
	status := resp.StatusCode()
	raw := bytes.TrimSpace(resp.Body())
	r := &reply{status: status}
	ok := status >= 200 && status <= 299
	if ok && len(raw) == 0 {
		if !needBody { // e.g. 204 to a DELETE
			return r, nil
		}
		return r, c.fail(step, provider.FailInternal, status, "empty answer", nil)
	}

	var env struct {
		Response json.RawMessage `json:"response"`
	}
	decodeErr := json.Unmarshal(raw, &env)
	if decodeErr == nil {
		if t := bytes.TrimSpace(env.Response); len(t) == 0 || t[0] != '{' {
			decodeErr = errors.New(`no "response" object`)
		} else {
			decodeErr = json.Unmarshal(t, &r.fields)
		}
	}
	r.enveloped = decodeErr == nil

	var reason, apiStatus string
	if r.enveloped {
		var s flexString
		_ = json.Unmarshal(r.fields["status"], &s) // an object here reads as no status
		apiStatus = strings.ToLower(string(s))
		reason = errorText(r.fields["error"])
	}
	if !ok {
		if !r.enveloped {
			reason = apiclient.BodySnippet(resp.Header().Get("Content-Type"), resp.Body(), maxReason)
		}
		if reason == "" || reason == "empty answer" {
			reason = http.StatusText(status)
		}
		err := c.classify(step, resp, status, reason)
		if status == http.StatusNotFound && !r.enveloped {
			err.Err = errNoRoute
		}
		return r, err
	}
	if !r.enveloped {
		return r, c.fail(step, provider.FailInternal, status, "undecodable answer: "+apiclient.BodySnippet(resp.Header().Get("Content-Type"), resp.Body(), maxReason), decodeErr)
	}
	// A 200 may still carry an error answer.
	switch apiStatus {
	case "success", "ok", "true":
		if reason != "" {
			c.log.Debug("intellectdialog: a successful answer carries an error text", "step", step, "error", c.cleanText(reason))
		}
		return r, nil
	case "":
		if reason == "" {
			return r, nil
		}
	default:
		if reason == "" {
			reason = fmt.Sprintf("error answer with status %q", apiStatus)
		}
	}
	return r, c.classify(step, resp, status, reason)
}

// classify makes the error of a failed answer from its HTTP status and the provider's reason.
func (c *Client) classify(step string, resp *resty.Response, status int, reason string) *provider.Error {
	reason = c.redactor.Redact(reason)
	kind := provider.FailInvalidRequest
	switch {
	case status == http.StatusUnauthorized:
		kind = provider.FailUnauthorized
	case status == http.StatusTooManyRequests:
		kind = provider.FailRateLimited
	case status == http.StatusNotFound:
		kind = provider.FailNotFound
	case status == http.StatusRequestTimeout || status >= 500:
		kind = provider.FailUnavailable
	case status == http.StatusForbidden:
		if k, ok := kindOfReason(reason); ok && k == provider.FailSenderBlocked {
			kind = k
		} else {
			kind = provider.FailUnauthorized
		}
	case status >= 400:
		if k, ok := kindOfReason(reason); ok && (k == provider.FailSenderBlocked || k == provider.FailUnauthorized) {
			kind = k
		}
	default: // an error answer with a 2xx (or 3xx) status: only the reason tells
		if k, ok := kindOfReason(reason); ok {
			kind = k
		}
	}
	e := c.fail(step, kind, status, reason, nil)
	if kind == provider.FailRateLimited {
		e.RetryAfter = apiclient.RetryAfter(resp.Header(), c.clock.Now(), defaultRetryAfter)
	}
	return e
}

// reasonWords maps words of a provider's error text (English or Russian) to a kind, most
// specific first.
var reasonWords = []struct {
	kind  provider.Failure
	words []string
}{
	{provider.FailSenderBlocked, []string{"banned", "blocked", "заблокирован", "забанен", "бан "}},
	{provider.FailUnauthorized, []string{"key", "token", "unauthori", "unauthenticated", "forbidden", "access denied", "credential", "ключ", "токен", "авториз"}},
	{provider.FailRateLimited, []string{"rate limit", "too many", "слишком много"}},
	{provider.FailNotFound, []string{"not found", "unknown", "does not exist", "не найден"}},
	{provider.FailUnavailable, []string{"try again", "temporar", "unavailable", "maintenance", "timeout", "timed out", "попробуйте позже"}},
}

func kindOfReason(reason string) (provider.Failure, bool) {
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

func (c *Client) decodeError(step string, err error) *provider.Error {
	return c.fail(step, provider.FailInternal, http.StatusOK, "undecodable answer", err)
}

// cleanText makes text from the provider fit for an error or a log line: no key, no control
// characters, at most maxReason characters.
func (c *Client) cleanText(s string) string { return c.redactor.Clean(s, maxReason) }

// fail builds the error of a step. The API key never gets into it, even if the provider or a
// transport echoed it; the provider's text is cut short and cleaned of control characters.
func (c *Client) fail(step string, kind provider.Failure, status int, reason string, err error) *provider.Error {
	e := &provider.Error{Provider: Kind, Step: step, Failure: kind, Status: status, Reason: c.cleanText(reason), Err: err}
	if err != nil && c.redactor.Redact(err.Error()) != err.Error() {
		e.Err = c.redactor.Error(err)
	}
	return e
}

// errorText reads the envelope's error: a string, or an object with a message.
func errorText(raw json.RawMessage) string {
	if apiclient.IsNull(raw) {
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
		Detail      string `json:"detail"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		for _, v := range []string{obj.Message, obj.Description, obj.Text, obj.Detail} {
			if v != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	if t := string(bytes.TrimSpace(raw)); t == "false" || t == "[]" || t == "{}" || t == `""` {
		return ""
	}
	return apiclient.Truncate(string(raw), maxReason)
}
