package intellectdialog

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
)

// Webhook returns the account's one webhook. The record puts url and events beside status in
// the response; they are read under data too (an object, or a list whose first item counts).
// An empty url, or the API's "not found", is no webhook.
func (c *Client) Webhook(ctx context.Context) (provider.Webhook, bool, error) {
	const step = "read webhook (GET webhooks)"
	r, err := c.do(ctx, step, http.MethodGet, "webhooks", nil, nil, false)
	if provider.FailureOf(err) == provider.FailNotFound && !errors.Is(err, errNoRoute) {
		return provider.Webhook{}, false, nil
	}
	if err != nil {
		return provider.Webhook{}, false, err
	}
	var w wireWebhook
	if raw, ok := r.fields["url"]; ok && !apiclient.IsNull(raw) {
		var top struct {
			URL    flexString  `json:"url"`
			Events flexStrings `json:"events"`
		}
		if err := json.Unmarshal(marshalFields(r.fields, "url", "events"), &top); err != nil {
			return provider.Webhook{}, false, c.decodeError(step, err)
		}
		w = wireWebhook{URL: string(top.URL), Events: top.Events}
	} else if _, err := oneOrFirst(r.data(), &w); err != nil {
		return provider.Webhook{}, false, c.decodeError(step, err)
	}
	if strings.TrimSpace(w.URL) == "" {
		return provider.Webhook{}, false, nil
	}
	return provider.Webhook{URL: strings.TrimSpace(w.URL), Events: []string(w.Events)}, true, nil
}

// marshalFields makes an object of some of a response's members.
func marshalFields(fields map[string]json.RawMessage, keys ...string) []byte {
	obj := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		if v, ok := fields[k]; ok {
			obj[k] = v
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

// SetWebhook installs w as the account's one webhook, replacing whatever was there (often the
// hotel's PMS's own). No events means DefaultEvents.
func (c *Client) SetWebhook(ctx context.Context, w provider.Webhook) error {
	const step = "set webhook (POST webhooks)"
	u, err := url.Parse(strings.TrimSpace(w.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.fail(step, provider.FailInvalidRequest, 0, "the webhook URL must be an absolute http(s) URL", nil)
	}
	events := w.Events
	if len(events) == 0 {
		events = DefaultEvents
	}
	_, err = c.do(ctx, step, http.MethodPost, "webhooks", nil, wireWebhookSet{URL: u.String(), Events: events}, false)
	return err
}

// DeleteWebhook removes the account's webhook; none being installed is no error.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	_, err := c.do(ctx, "delete webhook (DELETE webhooks)", http.MethodDelete, "webhooks", nil, nil, false)
	if provider.FailureOf(err) == provider.FailNotFound {
		return nil
	}
	return err
}

// Callbacks. Their shape is unconfirmed in the public record (only new_error's flat message_id,
// phone, error_at and detail are hinted), so every plausible one is read: one event or a list,
// the message's fields flat or under data/message/payload/object.

// ParseEvents reads one webhook callback into its events; times without a zone are taken as
// UTC (ParseEventsIn or (*Client).ParseEvents read them in the account's zone). It fails only
// when the body holds nothing it recognises, so the caller can keep the body for diagnosis.
func ParseEvents(body []byte) ([]provider.StatusEvent, error) {
	return parseEvents(body, time.UTC, nil)
}

// ParseEventsIn is ParseEvents with times without a zone read in loc (the account's zone).
func ParseEventsIn(body []byte, loc *time.Location) ([]provider.StatusEvent, error) {
	if loc == nil {
		loc = time.UTC
	}
	return parseEvents(body, loc, nil)
}

// ParseEvents is ParseEvents in the account's zone as far as the client knows it (it asks
// nothing), logging what it did not expect to Config.Logger.
func (c *Client) ParseEvents(body []byte) ([]provider.StatusEvent, error) {
	loc, _, _ := c.zone.get()
	return parseEvents(body, loc, c)
}

// eventNames are the webhook events the API names; a "type" or "name" is an event only if it
// is one of these (or looks like one), since "type" is also a message's direction.
var eventNames = map[string]bool{"new_message": true, "new_status": true, "new_error": true}

// nestKeys are where a callback may nest the message.
var nestKeys = []string{"data", "message", "payload", "object"}

// statusWords maps the status words a callback may carry to delivered, read or failed.
var statusWords = map[string]string{
	"delivered": "delivered", "delivery": "delivered", "доставлено": "delivered",
	"read": "read", "viewed": "read", "seen": "read", "прочитано": "read",
	"failed": "failed", "error": "failed", "undelivered": "failed", "rejected": "failed", "ошибка": "failed",
	"sent": "sent", "queued": "sent", "pending": "sent", "accepted": "sent", "отправлено": "sent",
	// An envelope's own status, when a callback comes wrapped like an answer: no message status.
	"success": "", "ok": "",
}

func parseEvents(body []byte, loc *time.Location, c *Client) ([]provider.StatusEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("intellectdialog: undecodable callback: %w", err)
	}
	p := eventParser{loc: loc, c: c}
	events := p.value(v, "", 0)
	if len(events) == 0 {
		return nil, errors.New("intellectdialog: the callback holds no event Bellhop recognises")
	}
	return events, nil
}

type eventParser struct {
	loc *time.Location
	c   *Client // for logging; nil logs nothing
}

// value reads a callback's value: a list of events, or one (which may nest a list).
func (p eventParser) value(v any, event string, depth int) []provider.StatusEvent {
	if depth > 4 {
		return nil
	}
	switch t := v.(type) {
	case []any:
		var out []provider.StatusEvent
		for _, item := range t {
			out = append(out, p.value(item, event, depth+1)...)
		}
		return out
	case map[string]any:
		return p.object(t, event, depth)
	}
	return nil
}

// object reads one event. event is the name an enclosing object gave, if any.
func (p eventParser) object(obj map[string]any, event string, depth int) []provider.StatusEvent {
	if name := eventName(obj); name != "" {
		event = name
	}
	// A list of messages under the event: one event each.
	for _, k := range nestKeys {
		if list, ok := obj[k].([]any); ok && len(list) > 0 {
			return p.value(list, event, depth+1)
		}
	}
	if l, ok := obj["events"].([]any); ok && len(l) > 0 {
		return p.value(l, event, depth+1)
	}
	// The message's fields: nested first (more specific), then flat.
	scopes := nested(obj, 0)
	scopes = append(scopes, obj)
	get := func(keys ...string) string {
		for _, s := range scopes {
			for _, k := range keys {
				if v := scalar(s[k]); v != "" {
					return v
				}
			}
		}
		return ""
	}
	ev := provider.StatusEvent{
		Event:     event,
		MessageID: get("message_id", "messageId", "msg_id"),
		Mark:      get("marker", "mark"),
		Phone:     get("phone", "person_phone"),
		Error:     errorOf(scopes),
	}
	if ev.MessageID == "" { // "id" is the message's only where no message_id is given
		for _, s := range scopes {
			if ev.MessageID = scalar(s["id"]); ev.MessageID != "" {
				break
			}
		}
	}
	ev.DeliveredAt = p.time("delivered_at", get("delivered_at", "deliveredAt"))
	ev.ViewedAt = p.time("viewed_at", get("viewed_at", "read_at", "viewedAt", "readAt", "seen_at"))
	ev.At = p.time("at", get("error_at", "timestamp", "updated_at", "created_at", "date"))
	if ev.At.IsZero() {
		ev.At = latest(ev.ViewedAt, ev.DeliveredAt)
	}

	incoming := false
	var typ, typeName string
	for _, s := range scopes {
		typ = strings.ToLower(cmp.Or(typ, scalar(s["type"])))
		typeName = cmp.Or(typeName, scalar(s["type_name"]))
	}
	if out, known := outgoing(typ, typeName, ""); known && !out {
		incoming = true
	}
	if ev.Event == "" && incoming {
		ev.Event = "new_message"
	}
	// Text no id can hold (control characters, a NUL the database refuses, a megabyte) is no id:
	// it could match no message Bellhop sent.
	ev.Event, ev.MessageID, ev.Mark, ev.Phone = plain(ev.Event), plain(ev.MessageID), plain(ev.Mark), plain(ev.Phone)
	recognised := ev.Event != "" || ev.MessageID != "" || ev.Mark != ""
	if !recognised {
		return nil
	}
	if ev.Event != "new_message" {
		ev.Status = p.status(ev, get("status", "state"))
	}
	return []provider.StatusEvent{ev}
}

// eventName reads an object's event name: event or event_type as given, type or name only
// when they name an event (a "type" may be the message's direction).
func eventName(obj map[string]any) string {
	for _, k := range []string{"event", "event_type", "eventType"} {
		if v := strings.ToLower(scalar(obj[k])); v != "" {
			return v
		}
	}
	for _, k := range []string{"type", "name"} {
		v := strings.ToLower(scalar(obj[k]))
		if eventNames[v] || strings.HasPrefix(v, "new_") {
			return v
		}
	}
	return ""
}

// nested lists the objects under the nesting keys, deepest first.
func nested(obj map[string]any, depth int) []map[string]any {
	if depth > 2 {
		return nil
	}
	var out []map[string]any
	for _, k := range nestKeys {
		if inner, ok := obj[k].(map[string]any); ok {
			out = append(out, nested(inner, depth+1)...)
			out = append(out, inner)
		}
	}
	return out
}

// errorOf reads an error text: detail, error, error_message or description, a string or an
// object with a message.
func errorOf(scopes []map[string]any) string {
	for _, s := range scopes {
		for _, k := range []string{"detail", "error", "error_message", "errorMessage", "description"} {
			switch v := s[k].(type) {
			case string:
				if t := strings.TrimSpace(v); t != "" {
					return t
				}
			case map[string]any:
				for _, mk := range []string{"message", "detail", "description", "text"} {
					if t := strings.TrimSpace(scalar(v[mk])); t != "" {
						return t
					}
				}
			}
		}
	}
	return ""
}

// status derives the event's status: read if viewed, else delivered if delivered, else failed
// for new_error or an error text, else the status word as given.
func (p eventParser) status(ev provider.StatusEvent, word string) string {
	switch {
	case !ev.ViewedAt.IsZero():
		return "read"
	case !ev.DeliveredAt.IsZero():
		return "delivered"
	case ev.Event == "new_error" || ev.Error != "":
		return "failed"
	}
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return ""
	}
	if s, ok := statusWords[w]; ok {
		return s
	}
	if w = plain(w); w == "" {
		return ""
	}
	if p.c != nil {
		p.c.warn.Warn("status:"+w, "intellectdialog: a callback with an unknown status word", "status", p.c.cleanText(w))
	}
	return w
}

// time reads a callback time; text it cannot read is logged and left zero.
func (p eventParser) time(field, s string) time.Time {
	t, ok := parseTime(s, p.loc)
	if !ok && p.c != nil {
		p.c.warn.Warn("callback-time:"+field, "intellectdialog: a callback time it cannot read", "field", field, "value", p.c.cleanText(s))
	}
	return t
}

// scalar is a JSON string or number as text, "" otherwise.
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	}
	return ""
}

// maxIDLen bounds an id or a word a callback carries; real ones are far shorter.
const maxIDLen = 255

// plain returns s if it can be an id or a word: short, with no control characters; else "".
func plain(s string) string {
	if len(s) > maxIDLen || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return s
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
