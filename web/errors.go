package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	bellhop.EInvalid:              http.StatusUnprocessableEntity,
	bellhop.ENotFound:             http.StatusNotFound,
	bellhop.EConflict:             http.StatusConflict,
	bellhop.EUnauthorized:         http.StatusUnauthorized,
	bellhop.EForbidden:            http.StatusForbidden,
	bellhop.EInternal:             http.StatusInternalServerError,
	bellhop.EInvalidAPIKey:        http.StatusUnprocessableEntity,
	bellhop.EProviderUnavailable:  http.StatusBadGateway,
	bellhop.ENotMapped:            http.StatusConflict,
	bellhop.ENotReady:             http.StatusConflict,
	bellhop.ESubscriptionRequired: http.StatusForbidden,
	bellhop.ESenderMissing:        http.StatusConflict,
	bellhop.EOperatorMissing:      http.StatusConflict,
	bellhop.EWebhookInUse:         http.StatusConflict,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string               `json:"code"`
	Message string               `json:"message"`
	Fields  []bellhop.FieldError `json:"fields,omitempty"`
	Details map[string]any       `json:"details,omitempty"`
}

// writeError answers with the error's code and message; internal errors are logged in full
// and shown as a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := bellhop.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = bellhop.EInternal, http.StatusInternalServerError
	}
	body := errorBody{Error: errorDetail{Code: code, Message: bellhop.ErrorMessage(err)}}
	var e *bellhop.Error
	if errors.As(err, &e) {
		body.Error.Fields = e.Fields
		body.Error.Details = e.Details
	}
	log := s.log(r.Context())
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "code", code, "error", err)
		if code == bellhop.EInternal {
			body.Error.Message = "Internal error; the request id in X-Request-Id helps support find what happened."
		}
	} else {
		log.InfoContext(r.Context(), "request refused", "code", code, "error", err)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// maxBody bounds request bodies; a booking or a template is far smaller.
const maxBody = 1 << 20

// decode reads a JSON object into v, refusing unknown fields, trailing data and bad types with
// messages that name the field.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return bellhop.Errorf(bellhop.EInvalid, "The body must be JSON (Content-Type: application/json), not %s.", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return bellhop.Errorf(bellhop.EInvalid, "The body must hold one JSON object only.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bellhop.Errorf(bellhop.EInvalid, "The body must hold one JSON object only.")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return bellhop.Errorf(bellhop.EInvalid, "The request body is empty; send a JSON object.")
	case errors.As(err, &syn):
		return bellhop.Errorf(bellhop.EInvalid, "The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bellhop.Errorf(bellhop.EInvalid, "The body is not valid JSON (it ends too early).")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return bellhop.Errorf(bellhop.EInvalid, "The body must be a JSON object.")
		}
		switch typ.Type {
		case reflect.TypeFor[bellhop.Date]():
			return bellhop.Invalid(field, "must be a date such as 2026-12-03")
		case reflect.TypeFor[time.Time]():
			return bellhop.Invalid(field, "must be a time such as 2026-11-21T10:00:00Z")
		}
		return bellhop.Invalid(field, "must be a %s", jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &tooBig):
		return bellhop.Errorf(bellhop.EInvalid, "The body is larger than %d bytes.", tooBig.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bellhop.Invalid(name, "is not a known field")
	default:
		return &bellhop.Error{Code: bellhop.EInvalid, Message: fmt.Sprintf("The body could not be read: %v.", err), Err: err}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "JSON object"
	default:
		return "number"
	}
}
