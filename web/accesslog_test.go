package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every request but health and metrics gets one access line carrying its request id, and what
// is logged while serving it carries the id too.
func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	s := New(Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	req := httptest.NewRequest("GET", "/api/v1/nowhere", nil)
	req.Header.Set("X-Request-Id", "req-123")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 404 || rec.Header().Get("X-Request-Id") != "req-123" {
		t.Fatalf("answer %d, X-Request-Id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("access line %q: %v", lines[len(lines)-1], err)
	}
	for k, want := range map[string]any{"msg": "http request", "level": "INFO", "request_id": "req-123", "method": "GET",
		"path": "/api/v1/nowhere", "status": float64(404)} {
		if got[k] != want {
			t.Errorf("access line %s = %v, want %v (%s)", k, got[k], want, lines[len(lines)-1])
		}
	}
	if _, ok := got["duration_ms"].(float64); !ok {
		t.Errorf("access line has no duration_ms: %s", lines[len(lines)-1])
	}

	buf.Reset()
	s.log(withRequestID(req.Context(), "req-456")).Warn("something")
	if !strings.Contains(buf.String(), `"request_id":"req-456"`) {
		t.Errorf("a request's warning = %s, want its request id", buf.String())
	}
	buf.Reset()
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if buf.Len() != 0 {
		t.Errorf("GET /healthz logged %s", buf.String())
	}
}
