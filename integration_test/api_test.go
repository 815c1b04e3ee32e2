package integration_test

import (
	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"net/http"
	"strings"
	"testing"
)

// TestTenantIsolation: a property's token reaches nothing of another property; every such id
// answers 404 exactly like an id that does not exist.
func TestTenantIsolation(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			adminA := h.property("a", true)
			h.property("b", true)
			h.must(201, "PUT", "/api/v1/properties/b/staff/s1", h.service, map[string]any{"name": "Bob"})
			serviceA := h.cli("token", "create", "--property", "a", "--role", "service")

			cases := []struct {
				method, path, token string
				body                any
			}{
				{"GET", "/api/v1/properties/b", adminA, nil},
				{"GET", "/api/v1/properties/b/staff", adminA, nil},
				{"GET", "/api/v1/properties/b/staff/s1", adminA, nil},
				{"GET", "/api/v1/properties/b" + intg, adminA, nil},
				{"PUT", "/api/v1/properties/b" + intg, adminA, map[string]any{"api_key": "sandbox-key"}},
				{"POST", "/api/v1/properties/b" + intg + "/check", adminA, nil},
				{"GET", "/api/v1/properties/b" + intg + "/senders", adminA, nil},
				{"PUT", "/api/v1/properties/b" + intg + "/sender", adminA, map[string]any{"sender_id": "1"}},
				{"POST", "/api/v1/properties/b" + intg + "/activate", adminA, nil},
				{"POST", "/api/v1/properties/b" + intg + "/deactivate", adminA, nil},
				{"PATCH", "/api/v1/properties/b", serviceA, map[string]any{"name": "Mine now"}},
				{"PUT", "/api/v1/properties/b/staff/s1", serviceA, map[string]any{"name": "Eve"}},
				{"DELETE", "/api/v1/properties/b/staff/s1", serviceA, nil},
			}
			missing := h.must(404, "GET", "/api/v1/properties/nope", h.service, nil)
			for _, c := range cases {
				r := h.call(c.method, c.path, c.token, c.body)
				if r.Status != http.StatusNotFound || r.errCode() != "not_found" {
					t.Errorf("%s %s with property a's token = %d %s, want 404", c.method, c.path, r.Status, r.Raw)
				}
				if strings.Contains(r.Raw, "Hotel b") || strings.Contains(r.Raw, "Bob") {
					t.Errorf("%s %s leaks property b's data: %s", c.method, c.path, r.Raw)
				}
			}
			if missing.errCode() != "not_found" {
				t.Fatalf("missing property = %s", missing.Raw)
			}
			// Nothing of b changed.
			r := h.must(200, "GET", "/api/v1/properties/b/staff/s1", h.service, nil)
			if r.Body["name"] != "Bob" {
				t.Fatalf("property b's staff changed: %s", r.Raw)
			}
		})
	}
}

// TestInputErrors: every bad input gets a 4xx with a code and the field named, never a 500.
func TestInputErrors(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin := h.property("p1", true)
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, mention             string
	}{
		{"no token", "GET", "/api/v1/properties/p1", "", nil, 401, "unauthorized", "Bearer"},
		{"bad token", "GET", "/api/v1/properties/p1", "bh_nope", nil, 401, "unauthorized", "not valid"},
		{"admin cannot create properties", "POST", "/api/v1/properties", admin, map[string]any{"id": "x"}, 403, "forbidden", "service"},
		{"malformed JSON", "POST", "/api/v1/properties", h.service, `{"id":`, 422, "invalid_input", "JSON"},
		{"empty body", "POST", "/api/v1/properties", h.service, "", 422, "invalid_input", "empty"},
		{"unknown field", "POST", "/api/v1/properties", h.service, map[string]any{"id": "x", "colour": "red"}, 422, "invalid_input", "colour"},
		{"wrong type", "POST", "/api/v1/properties", h.service, map[string]any{"id": "x", "contact_center": "yes"}, 422, "invalid_input", "contact_center"},
		{"missing fields", "POST", "/api/v1/properties", h.service, map[string]any{"id": "x"}, 422, "invalid_input", "time_zone"},
		{"bad time zone", "POST", "/api/v1/properties", h.service, map[string]any{"id": "x", "name": "X", "time_zone": "Mars/Olympus"}, 422, "invalid_input", "IANA"},
		{"bad country", "POST", "/api/v1/properties", h.service, map[string]any{"id": "x", "name": "X", "time_zone": "UTC", "country": "XX"}, 422, "invalid_input", "country"},
		{"bad id", "POST", "/api/v1/properties", h.service, map[string]any{"id": "a b/c", "name": "X", "time_zone": "UTC"}, 422, "invalid_input", "id"},
		{"duplicate property", "POST", "/api/v1/properties", h.service, map[string]any{"id": "p1", "name": "X", "time_zone": "UTC"}, 409, "conflict", "already exists"},
		{"bad language", "PATCH", "/api/v1/properties/p1", h.service, map[string]any{"language": "12"}, 422, "invalid_input", "language"},
		{"staff without name", "PUT", "/api/v1/properties/p1/staff/s1", h.service, map[string]any{"email": "a@b.c"}, 422, "invalid_input", "name"},
		{"staff bad email", "PUT", "/api/v1/properties/p1/staff/s1", h.service, map[string]any{"name": "A", "email": "nope"}, 422, "invalid_input", "email"},
		{"admin cannot provision staff", "PUT", "/api/v1/properties/p1/staff/s1", admin, map[string]any{"name": "A"}, 403, "forbidden", "service"},
		{"delete unknown staff", "DELETE", "/api/v1/properties/p1/staff/ghost", h.service, nil, 404, "not_found", "ghost"},
		{"empty API key", "PUT", "/api/v1/properties/p1" + intg, admin, map[string]any{"api_key": ""}, 422, "invalid_input", "api_key"},
		{"API key with spaces", "PUT", "/api/v1/properties/p1" + intg, admin, map[string]any{"api_key": "two words"}, 422, "invalid_input", "api_key"},
		{"bad base URL", "PUT", "/api/v1/properties/p1" + intg, admin, map[string]any{"api_key": "k-123456", "base_url": "ftp://x"}, 422, "invalid_input", "base_url"},
		{"unknown provider", "GET", "/api/v1/properties/p1/integrations/carrier-pigeon", admin, nil, 404, "not_found", "intellectdialog"},
		{"check before a key", "POST", "/api/v1/properties/p1" + intg + "/check", admin, nil, 404, "not_found", "API key"},
		{"sender without id", "PUT", "/api/v1/properties/p1" + intg + "/sender", admin, map[string]any{}, 422, "invalid_input", "sender_id"},
		{"service cannot manage integrations", "GET", "/api/v1/properties/p1" + intg, h.service, nil, 403, "forbidden", "admin"},
		{"unknown API path", "GET", "/api/v1/nothing", admin, nil, 404, "not_found", "/api/v1/nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.call(c.method, c.path, c.token, c.body)
			if r.Status != c.status || r.errCode() != c.code || !strings.Contains(r.Raw, c.mention) {
				t.Fatalf("%s %s = %d %s; want %d %s mentioning %q", c.method, c.path, r.Status, r.Raw, c.status, c.code, c.mention)
			}
		})
	}
}

// TestPropertiesAndStaff: the PMS provisions, changes and removes; a removed staff member is gone.
func TestPropertiesAndStaff(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			r := h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
				"id": "h1", "name": "Hotel One", "time_zone": "Asia/Kathmandu", "country": "np"})
			if r.Body["language"] != "en" || r.Body["country"] != "NP" || r.Body["contact_center"] != false {
				t.Fatalf("created property = %s", r.Raw)
			}
			r = h.must(200, "PATCH", "/api/v1/properties/h1", h.service, map[string]any{"name": "Hotel Uno", "language": "es"})
			if r.Body["name"] != "Hotel Uno" || r.Body["language"] != "es" || r.Body["time_zone"] != "Asia/Kathmandu" {
				t.Fatalf("patched property = %s", r.Raw)
			}
			h.must(201, "PUT", "/api/v1/properties/h1/staff/s2", h.service, map[string]any{"name": "Zoe", "email": "zoe@h1.example"})
			first := h.must(201, "PUT", "/api/v1/properties/h1/staff/s1", h.service, map[string]any{"name": "Adam"})
			r = h.must(200, "PUT", "/api/v1/properties/h1/staff/s1", h.service, map[string]any{"name": "Adam Smith", "active": false})
			if r.Body["name"] != "Adam Smith" || r.Body["active"] != false || r.Body["created_at"] != first.Body["created_at"] {
				t.Fatalf("updated staff = %s", r.Raw)
			}
			r = h.must(200, "GET", "/api/v1/properties/h1/staff", h.service, nil)
			list, _ := r.Body["staff"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["name"] != "Adam Smith" {
				t.Fatalf("staff list = %s", r.Raw)
			}
			r = h.must(200, "GET", "/api/v1/properties/h1/staff?active=true", h.service, nil)
			if list, _ := r.Body["staff"].([]any); len(list) != 1 {
				t.Fatalf("active staff = %s", r.Raw)
			}
			h.must(204, "DELETE", "/api/v1/properties/h1/staff/s2", h.service, nil)
			h.must(404, "GET", "/api/v1/properties/h1/staff/s2", h.service, nil)
			// Provisioned again, the member is back.
			h.must(201, "PUT", "/api/v1/properties/h1/staff/s2", h.service, map[string]any{"name": "Zoe"})
		})
	}
}

// TestHealthReadinessMetrics: probes answer, and requests are counted by route.
func TestHealthReadinessMetrics(t *testing.T) {
	// An API-only process: the test closes its Redis client, which Asynq's workers do not
	// survive (a real outage leaves the client open and reconnecting).
	h := start(t, t.TempDir()+"/bellhop.db", func(m *app.Main) { m.Role = app.RoleAPI })
	h.must(200, "GET", "/healthz", "", nil)
	r := h.must(200, "GET", "/readyz", "", nil)
	checks, _ := r.Body["checks"].(map[string]any)
	if checks["database"] != "ok" || checks["redis"] != "ok" {
		t.Fatalf("readyz = %s", r.Raw)
	}
	h.must(404, "GET", "/api/v1/properties/none", h.service, nil)
	r = h.must(200, "GET", "/metrics", "", nil)
	want := `bellhop_http_requests_total{method="GET",route="GET /api/v1/properties/{pid}",status="404"} 1`
	if !strings.Contains(r.Raw, want) {
		t.Fatalf("metrics lack %q", want)
	}
	// Redis going away makes the process not ready.
	h.main.Redis.Close()
	r = h.must(503, "GET", "/readyz", "", nil)
	if checks, _ := r.Body["checks"].(map[string]any); checks["redis"] == "ok" || checks["database"] != "ok" {
		t.Fatalf("readyz without Redis = %s", r.Raw)
	}
}

// TestRequestIDs: a caller's well-formed X-Request-Id is kept, answered and logged; a bad one
// is replaced.
func TestRequestIDs(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	get := func(id string) string {
		req, _ := http.NewRequest("GET", h.url+"/api/v1/properties/none", nil)
		req.Header.Set("Authorization", "Bearer "+h.service)
		req.Header.Set("X-Request-Id", id)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("X-Request-Id")
	}
	if got := get("pms-req-42"); got != "pms-req-42" {
		t.Fatalf("request id = %q, want the caller's", got)
	}
	if !strings.Contains(h.logs.String(), `"request_id":"pms-req-42"`) {
		t.Fatal("the logs lack the caller's request id")
	}
	if got := get("bad id\twith spaces"); got == "" || strings.Contains(got, " ") {
		t.Fatalf("a malformed request id came back as %q", got)
	}
}
