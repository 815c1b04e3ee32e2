package bellhop

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Each maps to one HTTP status in package web; anything else is internal.
const (
	EInvalid              = "invalid_input"         // 422
	ENotFound             = "not_found"             // 404
	EConflict             = "conflict"              // 409
	EUnauthorized         = "unauthorized"          // 401
	EForbidden            = "forbidden"             // 403
	EInternal             = "internal"              // 500
	EInvalidAPIKey        = "invalid_api_key"       // 422
	EProviderUnavailable  = "provider_unavailable"  // 502
	ENotMapped            = "not_mapped"            // 409
	ENotReady             = "not_ready"             // 409
	ESubscriptionRequired = "subscription_required" // 403
	ESenderMissing        = "sender_missing"        // 409
	EOperatorMissing      = "operator_missing"      // 409
	EWebhookInUse         = "webhook_in_use"        // 409
	EUnavailable          = "unavailable"           // 503: Bellhop's database failed for a moment; try again
	ETooLarge             = "too_large"             // 413: more than one request takes (bulk intake); split it
)

// Error is an error a user can act on: a code, a message in plain words, and for invalid
// input the fields at fault. Err keeps the cause for the logs; it is never shown.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Details carries what a client needs to act on the error (e.g. the webhook in use).
	Details map[string]any
	Err     error
}

// FieldError names one input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_input error naming one field.
func Invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EInvalid, Message: field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// ErrorCode returns the code of the *Error in err's chain, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err, or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// IsNotFound reports whether err carries the not_found code.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }

// JoinInvalid merges invalid_input errors into one that lists every field; any other error
// is returned as it is. It returns nil when every err is nil.
func JoinInvalid(errs ...error) error {
	var out *Error
	var msgs []string
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EInvalid {
			return err
		}
		if out == nil {
			out = &Error{Code: EInvalid}
		}
		out.Fields = append(out.Fields, e.Fields...)
		msgs = append(msgs, e.Message)
	}
	if out == nil {
		return nil
	}
	out.Message = strings.Join(msgs, "; ")
	return out
}
