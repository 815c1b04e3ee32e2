// Package provider declares what Bellhop needs from a guest-messaging provider and the errors
// a provider client returns. Clients live in sub-packages (intellectdialog); sandbox is a real
// HTTP server speaking the IntellectDialog-style protocol for the demo and tests.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
)

// Provider is one provider account reached with one API key.
type Provider interface {
	// Organization returns the account the key belongs to; a bad key is a KindUnauthorized error.
	Organization(ctx context.Context) (bellhop.Organization, error)
	// Senders lists the account's sending channels.
	Senders(ctx context.Context) ([]bellhop.Sender, error)
	// Operators lists the account's users who answer chats.
	Operators(ctx context.Context) ([]bellhop.Operator, error)
	// LoginCode asks for a one-time sign-in for an operator.
	LoginCode(ctx context.Context, operatorID string) (LoginCode, error)
	// SendMessage sends one text. Message.Mark is the idempotency marker: the provider
	// deduplicates messages that carry the same mark.
	SendMessage(ctx context.Context, m Message) (SentMessage, error)
	// Messages lists messages the account sent, newest last.
	Messages(ctx context.Context, f MessageFilter) ([]StoredMessage, error)
	Webhooks(ctx context.Context) ([]Webhook, error)
	CreateWebhook(ctx context.Context, w Webhook) (Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
}

// Config is what a client needs to reach one account. Zero values mean defaults.
type Config struct {
	BaseURL string // API root including the version, e.g. https://api.intellectdialog.com/v2/
	APIKey  string
	Timeout time.Duration // per request; default 10 s
	// Retries of safe (idempotent) requests on network errors and 5xx; default 2. Negative: none.
	Retries    int
	HTTPClient *http.Client // optional transport
}

// LoginCode is a one-time sign-in for an operator.
type LoginCode struct {
	Code      string
	URL       string // the page to open, when the provider gives one
	ExpiresAt time.Time
}

// Message is one outgoing text.
type Message struct {
	Phone    string // E.164
	SenderID string
	Text     string
	Mark     string
}

// SentMessage is the provider's answer to a send.
type SentMessage struct {
	MessageID string
	ChatID    string
	// Duplicate is true when the provider had already accepted a message with this mark.
	Duplicate bool
}

// MessageFilter narrows Messages; empty fields match all.
type MessageFilter struct {
	Phone    string
	SenderID string
	Mark     string
}

// StoredMessage is a message as the provider lists it.
type StoredMessage struct {
	MessageID string
	ChatID    string
	Phone     string
	SenderID  string
	Text      string
	Mark      string
	Status    string
	CreatedAt time.Time
}

// Webhook is a callback registration.
type Webhook struct {
	ID     string
	URL    string
	Events []string // new_message, new_status, new_error
}

// Kind classifies a provider failure by what the caller should do about it.
type Kind int

const (
	// KindInternal: a failure that fits no other kind (e.g. an answer that could not be decoded).
	KindInternal Kind = iota
	// KindUnauthorized: the API key was rejected. Do not retry; mark the key invalid.
	KindUnauthorized
	// KindUnavailable: network error, timeout or 5xx. Try again later; change no state.
	KindUnavailable
	// KindRateLimited: 429 or a rate error. Retry after RetryAfter.
	KindRateLimited
	// KindInvalidRequest: the provider refused the request itself (bad phone, unknown id). Do not retry.
	KindInvalidRequest
	// KindNotFound: the addressed object (sender, operator, webhook) does not exist.
	KindNotFound
	// KindSenderBlocked: the sender is banned or blocked; pause it until a person resumes it.
	KindSenderBlocked
)

func (k Kind) String() string {
	switch k {
	case KindUnauthorized:
		return "unauthorized"
	case KindUnavailable:
		return "unavailable"
	case KindRateLimited:
		return "rate_limited"
	case KindInvalidRequest:
		return "invalid_request"
	case KindNotFound:
		return "not_found"
	case KindSenderBlocked:
		return "sender_blocked"
	default:
		return "internal"
	}
}

// Error is a failed provider call: which provider, which step, what kind of failure and the
// provider's own reason. It never contains the API key.
type Error struct {
	Provider   string        // e.g. "intellectdialog"
	Step       string        // e.g. "check key (GET companies)"
	Kind       Kind          //
	Status     int           // HTTP status, 0 for network errors
	RetryAfter time.Duration // from Retry-After, for KindRateLimited
	Reason     string        // the provider's message, as given
	Err        error         // underlying cause (network error), if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Provider, e.Step, e.Kind)
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

// KindOf returns the Kind of the *Error in err's chain, KindInternal otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusEvent is a provider's callback about a message Bellhop sent.
type StatusEvent struct {
	Event     string // e.g. new_status, new_error, new_message
	MessageID string
	Mark      string
	Status    string // delivered, read, failed; empty for events that carry none
	Error     string
	At        time.Time
}
