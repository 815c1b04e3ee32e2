package whatsapp

import (
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop/provider"
)

// Action is what the caller should do about a failed send, beyond what its provider.Failure says.
// It distinguishes failures one Kind lumps together: a recipient WhatsApp cannot reach (try the
// next channel) and a refused request (fix it) are both "do not retry".
type Action int

const (
	// ActionNone: nothing specific; act on the provider.Failure.
	ActionNone Action = iota
	// ActionBackOff: the number's (or the app's) throughput was exceeded (130429). Retry after
	// RetryAfter; push the sender's next slot back.
	ActionBackOff
	// ActionSlowDownRecipient: too many messages to this one recipient (131056). Retry this
	// recipient's message after RetryAfter; other recipients are not affected.
	ActionSlowDownRecipient
	// ActionFallThrough: WhatsApp cannot deliver to this recipient (131026 and its kin): the
	// failure is permanent for this channel only. Send through the next channel of the mailing.
	ActionFallThrough
	// ActionUseTemplate: free text outside the 24-hour customer service window (131047). Send an
	// approved template instead; without one, fall through to the next channel.
	ActionUseTemplate
	// ActionFixTemplate: the template is missing, not approved in that language, or its
	// parameters do not fit (132000, 132001, 1320xx). Do not retry; a person must fix the mapping.
	ActionFixTemplate
	// ActionPauseSender: the business account or number is restricted (368, 131031). Pause the
	// sender until a person resumes it; its messages wait.
	ActionPauseSender
	// ActionFixCredentials: the access token or API key is invalid, expired or lacks permission
	// (190 and other auth codes). Mark the key invalid.
	ActionFixCredentials
)

func (a Action) String() string {
	switch a {
	case ActionBackOff:
		return "back_off"
	case ActionSlowDownRecipient:
		return "slow_down_recipient"
	case ActionFallThrough:
		return "fall_through"
	case ActionUseTemplate:
		return "use_template"
	case ActionFixTemplate:
		return "fix_template"
	case ActionPauseSender:
		return "pause_sender"
	case ActionFixCredentials:
		return "fix_credentials"
	default:
		return "none"
	}
}

// advice says what to do, for people reading an error.
func (a Action) advice() string {
	switch a {
	case ActionBackOff:
		return "the number's throughput was exceeded: back off"
	case ActionSlowDownRecipient:
		return "too many messages to this recipient: wait before the next one"
	case ActionFallThrough:
		return "WhatsApp cannot deliver to this recipient: try the next channel"
	case ActionUseTemplate:
		return "outside the 24-hour window: send an approved template"
	case ActionFixTemplate:
		return "the template or its parameters do not fit: fix the template mapping"
	case ActionPauseSender:
		return "the business account is restricted: pause the sender"
	case ActionFixCredentials:
		return "the access token or API key is not valid: enter a new one"
	}
	return ""
}

// Class is how Bellhop treats one of Meta's error codes.
type Class struct {
	Kind   provider.Failure
	Action Action
	// RetryAfter is the wait before a retry, for FailRateLimited (the API sends no Retry-After).
	RetryAfter time.Duration
}

// Waits after rate errors. Meta gives no Retry-After: these follow its published limits
// (80 messages/s per number; a recipient may get about one message per 6 s).
const (
	numberBackOff    = 2 * time.Second
	recipientBackOff = 6 * time.Second
	appBackOff       = 60 * time.Second
	spamBackOff      = 15 * time.Minute
)

// codes maps Meta's error codes (Cloud API and Graph API) to a class. The brief's codes first;
// the rest are from Meta's published error-code table.
var codes = map[int]Class{
	// Authorization.
	190: {provider.FailUnauthorized, ActionFixCredentials, 0}, // access token expired or invalid
	0:   {provider.FailUnauthorized, ActionFixCredentials, 0}, // AuthException (only with an HTTP 401/403: see classify)
	10:  {provider.FailUnauthorized, ActionFixCredentials, 0}, // permission denied
	102: {provider.FailUnauthorized, ActionFixCredentials, 0}, // API session

	// Throughput.
	130429: {provider.FailRateLimited, ActionBackOff, numberBackOff},
	131056: {provider.FailRateLimited, ActionSlowDownRecipient, recipientBackOff},
	4:      {provider.FailRateLimited, ActionBackOff, appBackOff},  // app's call rate
	80007:  {provider.FailRateLimited, ActionBackOff, appBackOff},  // WABA's call rate
	131048: {provider.FailRateLimited, ActionBackOff, spamBackOff}, // spam rate limit (quality)

	// The recipient cannot be reached on WhatsApp: permanent for this channel only.
	131026: {provider.FailUnreachable, ActionFallThrough, 0}, // undeliverable
	131050: {provider.FailUnreachable, ActionFallThrough, 0}, // recipient stopped marketing messages
	130497: {provider.FailUnreachable, ActionFallThrough, 0}, // no messaging to the recipient's country

	// The 24-hour customer service window: only free text meets it, and a send of free text
	// has no template at hand, so this channel cannot reach the guest now.
	131047: {provider.FailUnreachable, ActionUseTemplate, 0},

	// Templates.
	132000: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // parameter count mismatch
	132001: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // no such template in that language
	132005: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // text too long with its parameters
	132007: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // format policy
	132012: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // parameter format
	132015: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // template paused
	132016: {provider.FailInvalidRequest, ActionFixTemplate, 0}, // template disabled

	// The account is restricted.
	368:    {provider.FailSenderBlocked, ActionPauseSender, 0},
	131031: {provider.FailSenderBlocked, ActionPauseSender, 0},

	// Temporary on Meta's side.
	1:      {provider.FailUnavailable, ActionNone, 0},
	2:      {provider.FailUnavailable, ActionNone, 0},
	131000: {provider.FailUnavailable, ActionNone, 0},
	131016: {provider.FailUnavailable, ActionNone, 0},

	// The request itself.
	100:    {provider.FailInvalidRequest, ActionNone, 0},
	131008: {provider.FailInvalidRequest, ActionNone, 0}, // required parameter missing
	131009: {provider.FailInvalidRequest, ActionNone, 0}, // parameter value not valid
	131051: {provider.FailInvalidRequest, ActionNone, 0}, // unsupported message type
}

// Classify returns how Bellhop treats a Meta error code, whether it came in an API answer or in
// a failed status callback's errors[]. ok is false for a code it does not know; the caller
// then goes by the HTTP status (an answer) or treats it as a failure to look at (a callback).
func Classify(code int) (c Class, ok bool) {
	if code >= 200 && code <= 299 { // API permission
		return Class{Kind: provider.FailUnauthorized, Action: ActionFixCredentials}, true
	}
	c, ok = codes[code]
	return c, ok
}

// APIError is Meta's error envelope as the API answered it:
// {"error":{"message","type","code","error_subcode","error_data":{"details"},"fbtrace_id"}}.
// It is the Err of the *provider.Error a call returns, so both errors.As and provider.FailureOf
// work on what the client returns.
type APIError struct {
	Code    int    // Meta's error code; 0 when the answer had none
	Subcode int    // error_subcode (deprecated by Meta; often absent)
	Type    string // e.g. OAuthException
	Title   string // the message, as given ("(#131047) Re-engagement message"), cleaned
	Details string // error_data.details, cleaned
	TraceID string // fbtrace_id, for Meta's support
	Action  Action
}

func (e *APIError) Error() string {
	s := "code " + fmt.Sprint(e.Code)
	if e.Code == 0 {
		s = "no error code"
	}
	if e.Details != "" {
		s += ": " + e.Details
	}
	if a := e.Action.advice(); a != "" {
		s += " (" + a + ")"
	}
	if e.TraceID != "" {
		s += " [fbtrace_id " + e.TraceID + "]"
	}
	return s
}

// FallThrough reports whether the failure is permanent for this channel and recipient only, so
// the mailing should try its next channel: undeliverable (131026) and its kin, and free text
// outside the 24-hour window when no template is at hand (131047).
func (e *APIError) FallThrough() bool {
	return e.Action == ActionFallThrough || e.Action == ActionUseTemplate
}

// AsAPIError returns the *APIError in err's chain, if any.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// ActionOf returns the Action of the Meta error in err's chain, ActionNone when there is none.
func ActionOf(err error) Action {
	if e, ok := AsAPIError(err); ok {
		return e.Action
	}
	return ActionNone
}

// FallThrough reports whether err says the recipient cannot be reached through this channel
// (see (*APIError).FallThrough).
func FallThrough(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.FallThrough()
}
