package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

// A database that is briefly away answers 503 with Retry-After, in words a client can act
// on; nothing else asks the client to come back.
func TestWriteErrorStatus(t *testing.T) {
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	unavailable := &bellhop.Error{Code: bellhop.EUnavailable, Message: "The database is briefly unavailable; please try again in a few seconds.",
		Err: errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")}
	for _, c := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
		message    string
	}{
		{"database unavailable", fmt.Errorf("find token: %w", unavailable), 503, "unavailable", "2", "briefly unavailable"},
		{"not found", bellhop.Errorf(bellhop.ENotFound, "Property %q not found.", "x"), 404, "not_found", "", "not found"},
		{"provider unavailable", bellhop.Errorf(bellhop.EProviderUnavailable, "The provider did not answer."), 502, "provider_unavailable", "", "did not answer"},
		{"internal", errors.New("find token: something broke"), 500, "internal", "", "Internal error"},
	} {
		rec := httptest.NewRecorder()
		s.writeError(rec, httptest.NewRequest(http.MethodGet, "/api/v1/properties/x", nil), c.err)
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: body %q: %v", c.name, rec.Body, err)
		}
		if rec.Code != c.status || body.Error.Code != c.code || !strings.Contains(body.Error.Message, c.message) {
			t.Errorf("%s: %d %s %q, want %d %s and a message with %q", c.name, rec.Code, body.Error.Code, body.Error.Message, c.status, c.code, c.message)
		}
		if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("%s: Retry-After = %q, want %q", c.name, got, c.retryAfter)
		}
		if strings.Contains(body.Error.Message, "SQLSTATE") || strings.Contains(body.Error.Message, "something broke") {
			t.Errorf("%s: the message shows the cause: %q", c.name, body.Error.Message)
		}
	}
}
