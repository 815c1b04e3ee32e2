// Package provider is Bellhop's channel model: what a channel kind declares (Kind: address,
// capabilities, pacing profile, credential fields, callbacks), what its client does (Client and
// the optional interfaces), and how a failed call is classified (Failure, Error). Each kind
// lives in a sub-package (intellectdialog, whatsapp, email) with a real sandbox beside it;
// provider/channels registers them all.
package provider

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Provider is a client that does everything IntellectDialog does: every optional interface
// of a Kind's client at once.
type Provider interface {
	Client
	SenderLister
	OperatorDirectory
	TemplateLister
	Finder
	StopLister
	WebhookInstaller
}

// Config is what a client needs to reach one account. Zero values mean defaults.
type Config struct {
	BaseURL string // API root including the version, e.g. https://api.intellectdialog.com/v2/
	APIKey  string
	// Credentials are the integration's fields as its Kind declares them (secrets unsealed);
	// kinds with one key read APIKey.
	Credentials Credentials
	// AllowPrivate lets the client reach loopback and private addresses (SMTP hosts; HTTP
	// clients get it through HTTPClient's dialer).
	AllowPrivate bool
	// Zone is the account's time zone as the provider names it (IntellectDialog's company
	// "zone"); the provider reads and writes times in it. Empty: the client asks once.
	Zone    string
	Timeout time.Duration // per request; default 10 s
	// Retries of safe (idempotent) requests on network errors and 5xx; default 2. Negative: none.
	Retries    int
	HTTPClient *http.Client  // optional transport
	Logger     *slog.Logger  // what the client did not expect (never a secret); default discard
	Clock      bellhop.Clock // default the system clock
}

// LoginCode is a one-time sign-in for an operator.
type LoginCode struct {
	Code      string
	URL       string // the page to open, when the provider gives one
	ExpiresAt time.Time
}

// Message is one outgoing message: a Text, or a Template with its Vars.
type Message struct {
	Phone    string // E.164, for kinds whose Address is phone
	Email    string // for kinds whose Address is email
	ChatID   string // for kinds whose Address is chat
	SenderID string
	Text     string
	// Subject and HTML are an email's (HTML made from the same template as Text).
	Subject, HTML string
	Template      string   // an approved WhatsApp template's name (official WhatsApp senders)
	Language      string   // the template's language as the provider lists it ("ru", "en_US")
	Vars          []string // the template's variables (body parameters), in order
	// Mark labels the message (at most 36 characters) so it can be found in Messages: the
	// delivery id. WhatsApp echoes it in status callbacks; email makes its Message-ID of it.
	Mark string
	// Unsubscribe is the guest's one-click unsubscribe URL (email's List-Unsubscribe).
	Unsubscribe string
	// OperatorID sends the message under an operator's name (IntellectDialog employee_id).
	OperatorID string
}

// SentMessage is the provider's answer to a send.
type SentMessage struct {
	MessageID string // may be empty: the provider queues the send (StackID)
	ChatID    string
	StackID   string // the provider's own send queue entry
}

// MessageFilter narrows Messages; empty fields match all.
type MessageFilter struct {
	SenderID string
	// Outgoing lists only messages to clients (type=to_client).
	Outgoing bool
	// CreatedAfter and CreatedBefore bound the creation time (sent in the account's zone).
	CreatedAfter, CreatedBefore time.Time
	// MaxPages stops paging after this many pages (of 500); 0 means 100.
	MaxPages int
}

// StoredMessage is a message as the provider lists it.
type StoredMessage struct {
	MessageID   string
	ChatID      string
	Phone       string // the person's phone as the provider shows it (not normalised)
	SenderID    string
	Outgoing    bool
	Text        string
	Mark        string // the provider's "marker"
	OperatorID  string
	DeliveredAt time.Time // zero until delivered
	ViewedAt    time.Time // zero until read
	CreatedAt   time.Time
}

// Template is a sender's message template (WhatsApp Business).
type Template struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"` // MARKETING, UTILITY, AUTHENTICATION
	Status   string `json:"status"`   // Approved, Rejected, Paused, …
	Text     string `json:"text"`
}

// Approved reports whether the template may be sent.
func (t Template) Approved() bool { return strings.EqualFold(t.Status, "approved") }

// templateParam is a positional parameter of a template's body: {{1}}, {{2}}, …
var templateParam = regexp.MustCompile(`\{\{\s*([0-9]{1,3})\s*\}\}`)

// TemplateParams is how many parameters a template's body takes: its highest {{n}}.
func TemplateParams(body string) int {
	n := 0
	for _, m := range templateParam.FindAllStringSubmatch(body, -1) {
		if v, err := strconv.Atoi(m[1]); err == nil && v > n {
			n = v
		}
	}
	return n
}

// FillTemplate writes values into a template's body, values[0] for {{1}} and so on, as the
// guest would read it; a {{n}} without a value is left as it is.
func FillTemplate(body string, values []string) string {
	return templateParam.ReplaceAllStringFunc(body, func(m string) string {
		i, _ := strconv.Atoi(templateParam.FindStringSubmatch(m)[1])
		if i >= 1 && i <= len(values) {
			return values[i-1]
		}
		return m
	})
}

// Webhook is the account's callback registration.
type Webhook struct {
	URL    string
	Events []string // new_message, new_status, new_error
	// Secret is the integration's webhook secret, for kinds whose provider sends it back in a
	// header with every callback (360dialog); others carry it in URL, or not at all.
	Secret string
}

// Failure classifies a provider failure by what the caller should do about it.
type Failure int

const (
	// FailInternal: a failure that fits no other kind (e.g. an answer that could not be decoded).
	FailInternal Failure = iota
	// FailUnauthorized: the API key was rejected. Do not retry; mark the key invalid.
	FailUnauthorized
	// FailUnavailable: network error, timeout or 5xx. Try again later; change no state.
	FailUnavailable
	// FailRateLimited: 429 or a rate error. Retry after RetryAfter.
	FailRateLimited
	// FailInvalidRequest: the provider refused the request itself (bad phone, unknown id). Do not retry.
	FailInvalidRequest
	// FailNotFound: the addressed object (sender, operator, webhook) does not exist.
	FailNotFound
	// FailSenderBlocked: the sender is banned or blocked; pause it until a person resumes it.
	FailSenderBlocked
	// FailUnreachable: this channel cannot reach this recipient (not on WhatsApp, a mailbox
	// that does not exist, outside the customer window with no template): permanent for the
	// channel and the guest, so a mailing falls through to its next channel.
	FailUnreachable
)

func (k Failure) String() string {
	switch k {
	case FailUnauthorized:
		return "unauthorized"
	case FailUnavailable:
		return "unavailable"
	case FailRateLimited:
		return "rate_limited"
	case FailInvalidRequest:
		return "invalid_request"
	case FailNotFound:
		return "not_found"
	case FailSenderBlocked:
		return "sender_blocked"
	case FailUnreachable:
		return "unreachable"
	default:
		return "internal"
	}
}

// Error is a failed provider call: which provider, which step, what kind of failure and the
// provider's own reason. It never contains the API key.
type Error struct {
	Provider   string        // e.g. "intellectdialog"
	Step       string        // e.g. "check key (GET companies)"
	Failure    Failure       // what the caller should do about it
	Status     int           // HTTP status, 0 for network errors
	RetryAfter time.Duration // from Retry-After, for FailRateLimited
	// Recipient says a FailRateLimited is about one recipient (Cloud API 131056), not the
	// sender: only messages to that recipient wait.
	Recipient bool
	// Unsent says the message surely did not leave (a refused connection, an SMTP error
	// before DATA): a FailUnavailable send may simply be retried. Without it the outcome is
	// unknown and the send path asks the provider (Finder) or holds the row unconfirmed.
	Unsent bool
	// Code is the provider's own error code, when it gives one (Meta's 131026).
	Code string
	// Field names the credential or setting at fault (the kind's field: "access_token",
	// "password", "host"), when the failure says which; "" means the kind's main credential.
	Field  string
	Reason string // the provider's message, as given
	Err    error  // underlying cause (network error), if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Provider, e.Step, e.Failure)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// FailureOf returns the Failure of the *Error in err's chain, FailInternal otherwise.
func FailureOf(err error) Failure {
	var e *Error
	if errors.As(err, &e) {
		return e.Failure
	}
	return FailInternal
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusEvent is a provider's callback about a message Bellhop sent (or a guest's message).
type StatusEvent struct {
	Event       string // new_status, new_error, new_message, or "" when the payload names none
	MessageID   string
	Mark        string
	Phone       string
	Status      string // delivered, read, failed; empty for events that carry none
	Error       string
	DeliveredAt time.Time
	ViewedAt    time.Time
	At          time.Time
	// Code is the provider's error code of a failed status; FallThrough says the failure is
	// permanent for this channel and recipient (a mailing tries its next channel).
	Code        string
	FallThrough bool
	// Text of an inbound message (new_message); Inbound marks one.
	Text    string
	Inbound bool
}
