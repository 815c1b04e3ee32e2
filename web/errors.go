package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

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
	bellhop.EUnavailable:          http.StatusServiceUnavailable,
	bellhop.ETooLarge:             http.StatusRequestEntityTooLarge,
}

// retryAfter is what a 503 asks the client to wait, in seconds: the store has already retried
// for a few hundred milliseconds, and a lost database connection is usually back within this.
const retryAfter = "2"

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
// and shown as a generic message. A 503 says when to try again (Retry-After).
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
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
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

// maxBody bounds bodies that are not JSON objects for the API (a provider's callback, a page's
// form); JSON bodies have their own limits (maxJSONBody).
const maxBody = 1 << 20

// decode reads a JSON object of at most maxJSONBody bytes into v (see decodeMax).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeMax(w, r, v, maxJSONBody)
}

// decodeMax reads a JSON object of at most limit bytes into v, refusing unknown fields,
// trailing data, bad types, text that is not UTF-8 and NUL characters, with messages that name
// the field and never repeat a long value.
func decodeMax(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return bellhop.Errorf(bellhop.EInvalid, "The body must be JSON (Content-Type: application/json), not %s.", bellhop.Excerpt(ct))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return decodeError(err)
	}
	return decodeJSON(body, v)
}

// decodeJSON is decodeMax's reading of a body already in hand (a line of a batch, too).
func decodeJSON(body []byte, v any) error {
	// encoding/json would quietly turn stray bytes into U+FFFD: refuse them instead.
	if err := notUTF8(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if placed(err) {
			return decodeError(err)
		}
		// A type's own parse error (time.Time's) does not say where it was: find the field.
		if field, t := failingField(body, reflect.TypeOf(v)); field != "" {
			return invalidAs(field, t)
		}
		return decodeError(err)
	}
	if dec.More() {
		return bellhop.Errorf(bellhop.EInvalid, "The body must hold one JSON object only.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bellhop.Errorf(bellhop.EInvalid, "The body must hold one JSON object only.")
	}
	return bellhop.CheckText(v)
}

// placed reports whether decodeError can tell the caller what is wrong and where.
func placed(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syn) ||
		errors.As(err, &typ) || errors.As(err, &tooBig) || strings.HasPrefix(err.Error(), "json: unknown field ")
}

// decodeError turns a decoding error into invalid_input in plain words. The caller's value is
// never repeated whole: the parser's text can hold it twice, however long it is.
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
		if typ.Field == "" {
			return bellhop.Errorf(bellhop.EInvalid, "The body must be a JSON object.")
		}
		return invalidAs(bellhop.Excerpt(typ.Field), typ.Type)
	case errors.As(err, &tooBig):
		return bellhop.Errorf(bellhop.EInvalid, "The body is too large: this request takes at most %s.", sizeWords(tooBig.Limit))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bellhop.Invalid(bellhop.Excerpt(name), "is not a known field")
	default:
		return &bellhop.Error{Code: bellhop.EInvalid, Message: "The body could not be read as the JSON object this request takes.",
			Err: errors.New(bellhop.Excerpt(err.Error()))}
	}
}

// sizeWords writes a byte count as people read it: 64 KiB, 1 MiB.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
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
