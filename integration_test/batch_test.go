package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
)

// post sends a raw body with a Content-Type of the caller's choice.
func (h *harness) post(path, token, contentType, body string) response {
	h.t.Helper()
	req, err := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// ndjson writes bookings one a line, each with its id.
func ndjson(lines ...any) string {
	var b strings.Builder
	for _, l := range lines {
		switch l := l.(type) {
		case string:
			b.WriteString(l)
		default:
			raw, _ := json.Marshal(l)
			b.Write(raw)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func withID(id string, booking map[string]any) map[string]any {
	booking["id"] = id
	return booking
}

type lineResult struct {
	Line   int    `json:"line"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Code   string `json:"code"`
		Fields []struct {
			Field string `json:"field"`
		} `json:"fields"`
	} `json:"error"`
}

func batchResults(t *testing.T, r response) []lineResult {
	t.Helper()
	var out struct {
		Results []lineResult `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		t.Fatalf("batch answer %s: %v", r.Raw, err)
	}
	return out.Results
}

func namesField(r lineResult, field string) bool {
	if r.Error == nil {
		return false
	}
	for _, f := range r.Error.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// TestBulkIntake: a batch takes each booking exactly as the single PUT would — the same
// validation, "newer wins" and planning — reports every line, refuses bad lines alone, and
// keeps to its tenant, on both databases.
func TestBulkIntake(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			admin, local := h.activeProperty("p1")
			base := "/api/v1/properties/p1"
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
			now := time.Now().Add(-time.Hour)
			far := local.AddDate(0, 0, 20)

			body := ndjson(
				withID("b1", booking(far, 2, "+79123456701", "ru", now)),                                   // 1 created
				withID("b2", booking(far, 3, "+79123456702", "en", now)),                                   // 2 created
				withID("b1", booking(far, 2, "+79123456701", "ru", now)),                                   // 3 unchanged
				withID("b2", booking(far.AddDate(0, 0, 1), 3, "+79123456702", "en", now.Add(time.Minute))), // 4 updated
				withID("b2", booking(far, 3, "+79123456702", "en", now.Add(-time.Minute))),                 // 5 ignored_older
				withID("b6", booking(far, 2, "12", "ru", now)),                                             // 6 refused: phone
				"",                      // 7 blank
				`{"id":"b8","arrival":`, // 8 refused: not JSON
				withID("b9", booking(far, -1, "+79123456709", "ru", now)),                   // 9 refused: departure
				withID("b10", booking(far, 2, "+79123456710", "ru", now.Add(72*time.Hour))), // 10 refused: the future
				withID("", booking(far, 2, "+79123456711", "ru", now)),                      // 11 refused: id
			)
			r := h.post(base+"/bookings:batch", h.service, "application/x-ndjson", body)
			if r.Status != 200 {
				t.Fatalf("batch = %d %s", r.Status, r.Raw)
			}
			want := []struct {
				line          int
				id, status, f string
			}{
				{1, "b1", "created", ""}, {2, "b2", "created", ""}, {3, "b1", "unchanged", ""},
				{4, "b2", "updated", ""}, {5, "b2", "ignored_older", ""}, {6, "b6", "refused", "guest.phone"},
				{8, "b8", "refused", ""}, {9, "b9", "refused", "departure"}, {10, "b10", "refused", "updated_at"},
				{11, "", "refused", "id"},
			}
			got := batchResults(t, r)
			if len(got) != len(want) {
				t.Fatalf("%d results, want %d: %s", len(got), len(want), r.Raw)
			}
			for i, w := range want {
				g := got[i]
				if g.Line != w.line || g.ID != w.id || g.Status != w.status {
					t.Errorf("result %d = %+v, want line %d id %q %s", i, g, w.line, w.id, w.status)
				}
				if (g.Status == "refused") != (g.Error != nil) {
					t.Errorf("line %d: status %s with error %v", g.Line, g.Status, g.Error)
				}
				if w.f != "" && !namesField(g, w.f) {
					t.Errorf("line %d: error %+v does not name %s", g.Line, g.Error, w.f)
				}
			}
			counts, _ := r.Body["counts"].(map[string]any)
			if counts["created"] != 2.0 || counts["refused"] != 5.0 || counts["updated"] != 1.0 {
				t.Errorf("counts = %v", counts)
			}

			// The batch planned as the single PUT plans: b2's welcome moved with its arrival,
			// and a booking pushed alone gets the same plan as its twin taken in a batch.
			b2 := h.must(200, "GET", base+"/bookings/b2", h.service, nil)
			if got := b2.Body["booking"].(map[string]any)["arrival"]; got != far.AddDate(0, 0, 1).Format("2006-01-02") {
				t.Errorf("b2's arrival = %v: the newer line did not win", got)
			}
			h.must(201, "PUT", base+"/bookings/single", h.service, booking(far.AddDate(0, 0, 1), 3, "+79123456799", "en", now))
			alone := deliveryOf(h.must(200, "GET", base+"/bookings/single", h.service, nil), "welcome")
			batched := deliveryOf(b2, "welcome")
			if alone == nil || batched == nil || alone["planned_at"] != batched["planned_at"] || batched["status"] != "scheduled" {
				t.Errorf("welcome planned alone %v, in a batch %v", alone, batched)
			}
			for _, id := range []string{"b6", "b8", "b9"} {
				h.must(404, "GET", base+"/bookings/"+id, h.service, nil)
			}

			// A JSON array, however laid out, is read the same way; items count from 1.
			arr, _ := json.MarshalIndent([]any{withID("b20", booking(far, 2, "+79123456720", "de", now)), 42}, "", "  ")
			got = batchResults(t, h.must(200, "POST", base+"/bookings:batch", h.service, string(arr)))
			if len(got) != 2 || got[0].Status != "created" || got[1].Line != 2 || got[1].Status != "refused" {
				t.Errorf("array results = %+v", got)
			}

			// Whole-body mistakes: too many bookings, not NDJSON nor JSON, nothing at all.
			many := strings.Repeat(ndjson(withID("bx", booking(far, 2, "+79123456730", "ru", now))), 10_001)
			if r := h.post(base+"/bookings:batch", h.service, "application/x-ndjson", many); r.Status != 413 || r.errCode() != "too_large" {
				t.Errorf("10,001 bookings = %d %s", r.Status, r.Raw)
			}
			h.must(404, "GET", base+"/bookings/bx", h.service, nil)
			for _, c := range []struct{ ctype, body string }{
				{"text/csv", "id,arrival\nb1,2026-12-03\n"},
				{"application/json", `{"id":"b1"}`},
				{"application/json", `[{"id":"b1"}`},
				{"application/x-ndjson", "\n \n"},
			} {
				if r := h.post(base+"/bookings:batch", h.service, c.ctype, c.body); r.Status != 422 || r.errCode() != "invalid_input" {
					t.Errorf("%s %q = %d %s", c.ctype, c.body, r.Status, r.Raw)
				}
			}

			// Tenants: another property's service token does not find p1; an admin may not push.
			h.property("p2", true)
			other := h.cli("token", "create", "--property", "p2", "--role", "service")
			if r := h.post(base+"/bookings:batch", other, "application/x-ndjson", body); r.Status != 404 {
				t.Errorf("another property's token = %d %s", r.Status, r.Raw)
			}
			if r := h.post(base+"/bookings:batch", admin, "application/x-ndjson", body); r.Status != 403 {
				t.Errorf("an admin token = %d %s", r.Status, r.Raw)
			}
			h.must(404, "GET", "/api/v1/properties/p2/bookings/b1", other, nil)
		})
	}
}

// TestImportBookings: `bellhop import bookings` takes a file through the same intake, reports
// its progress and the refused lines with their numbers, and exits non-zero when any was.
func TestImportBookings(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			_, local := h.activeProperty("p1")
			now := time.Now().Add(-time.Hour)
			far := local.AddDate(0, 0, 20)
			var lines []any
			for i := range 600 {
				lines = append(lines, withID(fmt.Sprintf("imp%04d", i), booking(far, 2, fmt.Sprintf("+7912%07d", i), "ru", now)))
			}
			lines[99] = withID("bad-phone", booking(far, 2, "12", "ru", now))
			lines[449] = "{not json"
			file := filepath.Join(t.TempDir(), "bookings.ndjson")
			if err := os.WriteFile(file, []byte(ndjson(lines...)), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			err := app.Run(t.Context(), []string{"import", "bookings", file, "--property", "p1"}, h.env(nil), &out, &errb)
			if err == nil || app.ExitCode(err) == 0 {
				t.Fatalf("import with refused lines succeeded:\n%s\n%s", out.String(), errb.String())
			}
			for _, want := range []string{"line 100", "guest.phone", "line 450", "598 taken", "2 refused"} {
				if !strings.Contains(out.String()+errb.String(), want) {
					t.Errorf("the import's report lacks %q (%v):\nstdout:\n%s\nstderr:\n%s", want, err, out.String(), errb.String())
				}
			}
			if !strings.Contains(errb.String(), "600 lines") { // progress, plain lines: stderr is no terminal
				t.Errorf("no progress on stderr:\n%s", errb.String())
			}
			h.must(200, "GET", "/api/v1/properties/p1/bookings/imp0599", h.service, nil)

			// Again, with the bad lines left out: nothing changes, and it succeeds.
			lines[99], lines[449] = "", ""
			if err := os.WriteFile(file, []byte(ndjson(lines...)), 0o600); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			errb.Reset()
			if err := app.Run(t.Context(), []string{"import", "bookings", file, "--property", "p1"}, h.env(nil), &out, &errb); err != nil {
				t.Fatalf("second import: %v\n%s", err, errb.String())
			}
			if !strings.Contains(out.String(), "598 unchanged") {
				t.Errorf("second import's summary:\n%s", out.String())
			}

			// A property that does not exist, a file that does not: clear errors.
			if err := app.Run(t.Context(), []string{"import", "bookings", file, "--property", "nope"}, h.env(nil), &out, &errb); err == nil || !strings.Contains(err.Error(), "nope") {
				t.Errorf("unknown property: %v", err)
			}
			if err := app.Run(t.Context(), []string{"import", "bookings", file + ".missing", "--property", "p1"}, h.env(nil), &out, &errb); err == nil {
				t.Error("a missing file was imported")
			}
		})
	}
}
