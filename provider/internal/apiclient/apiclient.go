// Package apiclient holds what Bellhop's HTTP provider clients share: keeping a key out of
// errors and logs, making a provider's words short and printable, telling a page from an API
// answer, and keeping resty quiet.
package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Redactor hides one secret (an API key, a token) in every form a provider or a transport may
// echo it back: as is, URL-escaped, and JSON-escaped.
type Redactor struct{ forms []string }

// NewRedactor returns a Redactor of secret; an empty secret hides nothing.
func NewRedactor(secret string) Redactor {
	if secret == "" {
		return Redactor{}
	}
	forms := []string{secret}
	j, _ := json.Marshal(secret)
	for _, f := range []string{url.QueryEscape(secret), url.PathEscape(secret), strings.Trim(string(j), `"`), strings.ReplaceAll(secret, "/", `\/`)} {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return Redactor{forms: forms}
}

// Redact replaces every form of the secret in s.
func (r Redactor) Redact(s string) string {
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, f, "[redacted]")
	}
	return s
}

// Clean makes a provider's text fit for an error or a log line: no secret, no control
// characters, runs of space made one, at most max characters.
func (r Redactor) Clean(s string, max int) string {
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || c == utf8.RuneError {
			return ' '
		}
		return c
	}, r.Redact(s))
	return Truncate(strings.Join(strings.Fields(s), " "), max)
}

// Error returns err, or, when its message shows the secret, an error with the message
// redacted that still unwraps to err (for errors.Is and errors.As).
func (r Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	if msg := r.Redact(err.Error()); msg != err.Error() {
		return redactedError{msg: msg, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// Truncate cuts s to at most n characters, the last one an ellipsis when it cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

// BodySnippet describes an answer that is not the API's JSON without dumping pages into
// errors: empty, an HTML page, or the start of the text.
func BodySnippet(contentType string, body []byte, max int) string {
	b := strings.TrimSpace(string(body))
	switch {
	case b == "":
		return "empty answer"
	case strings.Contains(contentType, "html") || strings.HasPrefix(b, "<"):
		return "unexpected HTML answer"
	default:
		return Truncate(b, max)
	}
}

// IsNull reports whether raw holds no JSON value.
func IsNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// IsTimeout reports whether err is a timeout (a deadline, a dial or read timeout).
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// WarnOnce logs a warning the first time its key is seen; the args must hold no secret.
type WarnOnce struct {
	Log  *slog.Logger
	seen sync.Map
}

// Warn logs msg unless key was warned about before.
func (w *WarnOnce) Warn(key, msg string, args ...any) {
	if _, seen := w.seen.LoadOrStore(key, true); !seen && w.Log != nil {
		w.Log.Warn(msg, args...)
	}
}

// QuietLogger keeps resty from writing to stderr; errors come back as values.
type QuietLogger struct{}

func (QuietLogger) Errorf(string, ...any) {}
func (QuietLogger) Warnf(string, ...any)  {}
func (QuietLogger) Debugf(string, ...any) {}

// RetryAfter reads an answer's Retry-After: seconds, or an HTTP date taken against the
// answer's own Date when it has one (else now). Absent, unreadable, negative or absurd (over
// a million seconds) gives def; a wait is at least a second.
func RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return def
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs > 1e6 {
			return def
		}
		return max(time.Duration(secs*float64(time.Second)), time.Second)
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return def
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		now = d
	}
	return max(at.Sub(now), time.Second)
}
