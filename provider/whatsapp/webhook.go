package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"

	"github.com/bellhop/bellhop"
)

// SignatureHeader is the header Meta signs callbacks in: "sha256=" and the hex HMAC-SHA256 of
// the raw body keyed with the app secret.
const SignatureHeader = "X-Hub-Signature-256"

// Webhook errors. A handler answers 403 to the challenge ones and 401 to the signature ones,
// and logs which it was (never the secret).
var (
	ErrNotSubscribe = errors.New("whatsapp: not a subscription check (hub.mode is not subscribe)")
	ErrVerifyToken  = errors.New("whatsapp: the verify token does not match")
	ErrChallenge    = errors.New("whatsapp: the challenge is missing or not a plain token")
	ErrNoSecret     = errors.New("whatsapp: no verify token or app secret is configured")
	ErrNoSignature  = errors.New("whatsapp: the callback has no " + SignatureHeader + " header")
	ErrSignature    = errors.New("whatsapp: the " + SignatureHeader + " signature does not match the body")
)

// challengeRE is what Bellhop echoes: Meta's challenge is a number; anything with markup in it
// is not echoed (the answer would be a reflected page).
var challengeRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,256}$`)

// VerifyChallenge answers Meta's subscription check, a GET with hub.mode=subscribe,
// hub.verify_token and hub.challenge: it returns the challenge to echo (200, text/plain) when
// the mode is subscribe and the token is verifyToken (compared in constant time). Any error
// means "answer 403".
func VerifyChallenge(query url.Values, verifyToken string) (string, error) {
	if verifyToken == "" {
		return "", ErrNoSecret
	}
	if query.Get("hub.mode") != "subscribe" {
		return "", ErrNotSubscribe
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", ErrVerifyToken
	}
	ch := query.Get("hub.challenge")
	if !challengeRE.MatchString(ch) {
		return "", ErrChallenge
	}
	return ch, nil
}

// Sign returns the X-Hub-Signature-256 value of body under appSecret (for sandboxes and tests).
func Sign(body []byte, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a callback's X-Hub-Signature-256 header against the raw body (the
// bytes as received, before any decoding) and the app secret, in constant time. nil means the
// body is Meta's; anything else means "answer 401 and read nothing of it".
func VerifySignature(body []byte, header, appSecret string) error {
	if appSecret == "" {
		return ErrNoSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	const prefix = "sha256="
	if len(header) != len(prefix)+2*sha256.Size || !strings.EqualFold(header[:len(prefix)], prefix) {
		return ErrSignature
	}
	got, err := hex.DecodeString(header[len(prefix):])
	if err != nil {
		return ErrSignature
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignature
	}
	return nil
}

// EventType is what a callback event is about.
type EventType string

const (
	// EventStatus is a status of a message Bellhop sent: sent, delivered, read or failed.
	EventStatus EventType = "status"
	// EventMessage is a guest's message to a number.
	EventMessage EventType = "message"
	// EventError is an error about the account or number rather than one message.
	EventError EventType = "error"
)

// Statuses of a sent message.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Event is one event of a callback.
type Event struct {
	Type          EventType
	WABAID        string    // the business account (entry id)
	PhoneNumberID string    // the number the event is about: the sender
	MessageID     string    // the message ("wamid.…"): Bellhop's for statuses, the guest's for messages
	At            time.Time // when it happened (UTC); zero when the callback's time is unreadable

	// Statuses.
	Status       string // sent, delivered, read, failed (lower case; others as given)
	Recipient    string // the guest's WhatsApp id (digits)
	CallbackData string // biz_opaque_callback_data as the send gave it (see CallbackData)

	// Failed statuses and errors: the first error of the event.
	ErrorCode    int
	ErrorTitle   string
	ErrorDetails string

	// Guests' messages.
	From        string // the guest's number (digits)
	Name        string // the guest's profile name, when given
	MessageType string // text, button, interactive, image, …
	Text        string // text.body, or a button's or reply's title; "" for media
}

// Class returns how Bellhop treats the event's error code; ok is false without a known one.
func (e Event) Class() (Class, bool) {
	if e.ErrorCode == 0 {
		return Class{}, false
	}
	return Classify(e.ErrorCode)
}

// FallThrough reports whether a failed status says the recipient cannot be reached through
// this channel (undeliverable, outside the window), so the mailing should try its next channel.
func (e Event) FallThrough() bool {
	c, ok := e.Class()
	return ok && (c.Action == ActionFallThrough || c.Action == ActionUseTemplate)
}

// StatusEvent returns a status event as the provider package describes one (the callback data
// as its mark), for callers written against provider.StatusEvent.
func (e Event) StatusEvent() provider.StatusEvent {
	ev := provider.StatusEvent{MessageID: e.MessageID, Mark: e.CallbackData, Status: e.Status, At: e.At}
	switch e.Type {
	case EventMessage:
		ev.Event, ev.Phone = "new_message", e.From
	case EventError:
		ev.Event = "new_error"
	default:
		ev.Event, ev.Phone = "new_status", e.Recipient
	}
	switch e.Status {
	case StatusDelivered:
		ev.DeliveredAt = e.At
	case StatusRead:
		ev.ViewedAt = e.At
	}
	if e.ErrorCode != 0 {
		ev.Error = strings.TrimSpace(fmt.Sprintf("%d %s", e.ErrorCode, e.ErrorTitle))
		ev.Code = strconv.Itoa(e.ErrorCode)
		ev.FallThrough = e.Status == StatusFailed && e.FallThrough()
	}
	if e.Type == EventMessage {
		ev.Inbound, ev.Text = true, e.Text
	}
	return ev
}

// statusRank orders a message's statuses. Callbacks come out of order, so a status is applied
// only when it ranks above the one recorded. Failed ranks above sent (it ends the message) but
// below delivered: a delivery is evidence, a failure after it a stray.
var statusRank = map[string]int{"": 0, StatusSent: 1, StatusFailed: 2, StatusDelivered: 3, StatusRead: 4}

// Advances reports whether status next moves a message forward from current, the status
// recorded so far ("" for none): only then should the caller apply it. Statuses arrive out of
// order (read before delivered, sent last): never move a message back. An unknown status
// never advances.
func Advances(current, next string) bool {
	n, known := statusRank[next]
	if !known {
		return false
	}
	c, ok := statusRank[current]
	return !ok || n > c
}

// The callback's shapes (entry[].changes[].value) as the record shows them.
type wireCallback struct {
	Object string `json:"object"`
	Entry  *[]struct {
		ID      flexString `json:"id"`
		Changes []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type wireValue struct {
	Metadata struct {
		DisplayPhone  string     `json:"display_phone_number"`
		PhoneNumberID flexString `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		WAID    flexString `json:"wa_id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	} `json:"contacts"`
	Statuses []struct {
		ID           flexString      `json:"id"`
		Status       string          `json:"status"`
		Timestamp    flexString      `json:"timestamp"`
		RecipientID  flexString      `json:"recipient_id"`
		CallbackData string          `json:"biz_opaque_callback_data"`
		Errors       []wireErrorBody `json:"errors"`
	} `json:"statuses"`
	Messages []struct {
		From        flexString            `json:"from"`
		ID          flexString            `json:"id"`
		Timestamp   flexString            `json:"timestamp"`
		Type        string                `json:"type"`
		Text        struct{ Body string } `json:"text"`
		Button      struct{ Text string } `json:"button"`
		Interactive struct {
			ButtonReply struct{ Title string } `json:"button_reply"`
			ListReply   struct{ Title string } `json:"list_reply"`
		} `json:"interactive"`
		Errors []wireErrorBody `json:"errors"`
	} `json:"messages"`
	Errors []wireErrorBody `json:"errors"`
}

// maxID bounds the ids ParseEvents passes on: a callback's id is stored and looked up, and no
// real one comes near this.
const maxID = 256

// ParseEvents reads a verified callback body (Cloud API or 360dialog: both forward Meta's
// shape) into its events: statuses (entry[].changes[].value.statuses[]), guests' messages
// (…value.messages[]) and errors (…value.errors[]). Changes of other fields (template status
// updates, account updates) carry no event and are skipped. An event whose id is missing,
// longer than 256 characters or has control characters is dropped.
//
// Statuses arrive out of order: the caller applies one only when Advances says it moves the
// message forward. It fails only when the body is not a WhatsApp callback at all; a callback
// with nothing Bellhop reads is no events and no error (answer it 200, or Meta retries it).
func ParseEvents(body []byte) ([]Event, error) {
	var cb wireCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, fmt.Errorf("whatsapp: undecodable callback: %w", err)
	}
	if cb.Object != "" && cb.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("whatsapp: a callback about %q, not a WhatsApp Business Account", apiclient.Truncate(cb.Object, 40))
	}
	if cb.Entry == nil {
		return nil, errors.New("whatsapp: the callback has no entry list")
	}
	var out []Event
	for _, entry := range *cb.Entry {
		for _, ch := range entry.Changes {
			if ch.Field != "" && ch.Field != "messages" {
				continue
			}
			var v wireValue
			if apiclient.IsNull(ch.Value) {
				continue
			}
			if err := json.Unmarshal(ch.Value, &v); err != nil {
				return nil, fmt.Errorf("whatsapp: undecodable callback value: %w", err)
			}
			out = append(out, events(string(entry.ID), &v)...)
		}
	}
	return out, nil
}

// events reads one change's value.
func events(waba string, v *wireValue) []Event {
	base := Event{WABAID: cleanID(waba), PhoneNumberID: cleanID(string(v.Metadata.PhoneNumberID))}
	var out []Event
	for _, s := range v.Statuses {
		ev := base
		ev.Type, ev.MessageID, ev.At = EventStatus, cleanID(string(s.ID)), unixTime(string(s.Timestamp))
		ev.Status = strings.ToLower(strings.TrimSpace(s.Status))
		ev.Recipient = bellhop.PhoneDigits(string(s.RecipientID))
		ev.CallbackData = cleanText(s.CallbackData)
		setError(&ev, s.Errors)
		if ev.MessageID != "" {
			out = append(out, ev)
		}
	}
	for _, m := range v.Messages {
		ev := base
		ev.Type, ev.MessageID, ev.At = EventMessage, cleanID(string(m.ID)), unixTime(string(m.Timestamp))
		ev.From, ev.MessageType = bellhop.PhoneDigits(string(m.From)), strings.ToLower(strings.TrimSpace(m.Type))
		switch ev.MessageType {
		case "text":
			ev.Text = m.Text.Body
		case "button":
			ev.Text = m.Button.Text
		case "interactive":
			ev.Text = m.Interactive.ButtonReply.Title
			if ev.Text == "" {
				ev.Text = m.Interactive.ListReply.Title
			}
		}
		ev.Text = cleanText(ev.Text)
		for _, c := range v.Contacts {
			if bellhop.PhoneDigits(string(c.WAID)) == ev.From || len(v.Contacts) == 1 {
				ev.Name = cleanText(c.Profile.Name)
				break
			}
		}
		setError(&ev, m.Errors)
		if ev.MessageID != "" && ev.From != "" {
			out = append(out, ev)
		}
	}
	for _, e := range v.Errors {
		ev := base
		ev.Type = EventError
		setError(&ev, []wireErrorBody{e})
		out = append(out, ev)
	}
	return out
}

func setError(ev *Event, errs []wireErrorBody) {
	if len(errs) == 0 {
		return
	}
	e := errs[0]
	ev.ErrorCode = e.Code.n
	ev.ErrorTitle = cleanText(firstNonEmpty(e.Title, e.Message))
	ev.ErrorDetails = cleanText(e.details())
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// cleanID returns id when a store can hold it: at most maxID characters, no control characters.
func cleanID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxID || strings.ContainsFunc(id, unicode.IsControl) {
		return ""
	}
	return id
}

// cleanText drops NULs, which no store takes in text; the rest is the guest's as written.
func cleanText(s string) string {
	return strings.ReplaceAll(s, "\x00", "")
}

// unixTime reads Unix seconds; zero when unreadable or implausible.
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
