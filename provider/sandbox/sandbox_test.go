package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/internal/shape"
	"github.com/bellhop/bellhop/provider/sandbox"
)

// fixtures are the real API's recorded answers, which the sandbox must match in shape.
const fixtures = "../intellectdialog/testdata"

const key = sandbox.DefaultAPIKey

// start is 10:00 UTC: 13:00 in the default company zone (Europe/Moscow).
var startTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	sb    *sandbox.Server
	url   string
	clock *bellhop.SimulatedClock
}

func start(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{t: t, clock: bellhop.NewSimulatedClock(startTime)}
	cfg.Clock = e.clock
	e.sb = sandbox.New(cfg)
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	t.Cleanup(e.sb.Close)
	e.url = srv.URL
	return e
}

// withOfficialSender replaces the default organization by one that also has sender "3", an
// official WhatsApp Business API number with the default templates.
func (e *env) withOfficialSender() {
	o := sandbox.DefaultOrganization()
	o.Senders = append(o.Senders, sandbox.OfficialSender("3"))
	o.Templates = map[string][]sandbox.Template{"3": sandbox.DefaultTemplates()}
	e.sb.AddOrganization(o)
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	v      map[string]any
}

// response is the envelope's inside.
func (r reply) response() map[string]any { m, _ := r.v["response"].(map[string]any); return m }
func (r reply) state() string            { s, _ := r.response()["status"].(string); return s }
func (r reply) reason() string           { s, _ := r.response()["error"].(string); return s }
func (r reply) obj() map[string]any      { m, _ := r.response()["data"].(map[string]any); return m }
func (r reply) list() []map[string]any {
	var out []map[string]any
	l, _ := r.response()["data"].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}
func (r reply) pagin() (limit, offset, total float64) {
	p, _ := r.response()["pagin"].(map[string]any)
	limit, _ = p["limit"].(float64)
	offset, _ = p["offset"].(float64)
	total, _ = p["total"].(float64)
	return
}

// call makes a request with auth as the Authorization header and decodes the JSON answer.
func (e *env) call(method, path, auth string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	r.raw, _ = io.ReadAll(resp.Body)
	if len(r.raw) > 0 && (r.raw[0] == '{' || r.raw[0] == '[') {
		if err := json.Unmarshal(r.raw, &r.v); err != nil && r.raw[0] == '{' {
			e.t.Fatalf("%s %s: undecodable answer %q", method, path, r.raw)
		}
	}
	return r
}

// api calls the API with the default key and wants status.
func (e *env) api(want int, method, path string, body any) reply {
	e.t.Helper()
	r := e.call(method, path, key, body)
	if r.status != want {
		e.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	wantStatus := "success"
	if want >= 300 {
		wantStatus = "error"
	}
	if r.state() != wantStatus {
		e.t.Fatalf("%s %s: status %q, want %q: %s", method, path, r.state(), wantStatus, r.raw)
	}
	return r
}

func (e *env) send(sender, phone, mark string) reply {
	e.t.Helper()
	return e.call("POST", "/v2/messages", key, map[string]any{"phone": phone, "provider_id": sender, "text": "hello", "mark": mark})
}

func readFixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return v
}

var wireTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)

// wireTime checks a time field (date, *_at) of the sandbox's answers: "" or
// "YYYY-mm-dd HH:ii:ss", as the real service writes them.
func wireTime(key string, v any) string {
	if s, isString := v.(string); isString && (key == "date" || strings.HasSuffix(key, "_at")) && s != "" && !wireTimeRE.MatchString(s) {
		return fmt.Sprintf("%q is not YYYY-mm-dd HH:ii:ss", s)
	}
	return ""
}

func sameShape(t *testing.T, fixture string, got any) {
	t.Helper()
	if d := shape.Diff("$", readFixture(t, fixture), got, wireTime); len(d) > 0 {
		t.Errorf("answer differs from %s:\n  %s", fixture, strings.Join(d, "\n  "))
	}
}

func TestShapeDiffNamesThePath(t *testing.T) {
	want := map[string]any{"response": map[string]any{"data": []any{map[string]any{"id": "1", "n": 1.0}}}}
	got := map[string]any{"response": map[string]any{"data": []any{map[string]any{"id": 1.0, "x": ""}}}}
	d := strings.Join(shape.Diff("$", want, got, wireTime), "; ")
	for _, s := range []string{"$.response.data[0].id: want string, got number", "$.response.data[0].n: missing", "$.response.data[0].x: not in the recorded answer"} {
		if !strings.Contains(d, s) {
			t.Errorf("diff %q lacks %q", d, s)
		}
	}
}

// TestFixtureShapes: each recorded answer of the real API, and the sandbox's answer to the
// same request, have the same keys and JSON types.
func TestFixtureShapes(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.withOfficialSender()
	steps := []struct {
		fixture      string
		method, path string
		auth         string
		body         any
		status       int
	}{
		{"companies.json", "GET", "/v2/companies", key, nil, 200},
		{"providers.json", "GET", "/v2/providers", key, nil, 200},
		{"employees.json", "GET", "/v2/employees", key, nil, 200},
		{"employee_code.json", "POST", "/v2/employees/1/code", key, nil, 200},
		{"send_message.json", "POST", "/v2/messages", key, map[string]any{
			"phone": "+79123456789", "provider_id": "1", "text": "Hello, Anna!", "mark": "dl_8f1e2a3b4c5d6e7f80912a3b"}, 200},
		{"messages.json", "GET", "/v2/messages", key, nil, 200},
		{"message.json", "GET", "/v2/messages/1", key, nil, 200},
		{"templates.json", "GET", "/v2/messages/3/templates", key, nil, 200},
		{"stoplist_empty.json", "GET", "/v2/stoplist", key, nil, 200},
		{"webhook_none.json", "GET", "/v2/webhooks", key, nil, 200},
		{"webhook_set.json", "POST", "/v2/webhooks", key, map[string]any{
			"url": "https://bellhop.example.com/webhooks/intellectdialog/1042?secret=0123abcd", "events": []string{"new_message", "new_status", "new_error"}}, 200},
		{"webhook.json", "GET", "/v2/webhooks", key, nil, 200},
		{"ok.json", "DELETE", "/v2/webhooks", key, nil, 200},
		{"stoplist.json", "GET", "/v2/stoplist", key, nil, 200},
		{"stoplist.json", "GET", "/v2/persons/stoplist", key, nil, 200},
		{"error_unauthorized.json", "GET", "/v2/companies", "wrong-key", nil, 401},
		{"error_unauthorized.json", "GET", "/v2/companies", "", nil, 401},
		{"error_not_found.json", "GET", "/v2/nothing", key, nil, 404},
		{"error_not_found.json", "GET", "/v2/messages/999", key, nil, 404},
		{"error_not_found.json", "DELETE", "/v2/webhooks/1", key, nil, 404},
		{"error_validation.json", "POST", "/v2/messages", key, map[string]any{"provider_id": "1", "text": "x"}, 422},
	}
	for _, st := range steps {
		switch st.fixture {
		case "messages.json":
			// An incoming message after the outgoing one, as in the recording; both delivered.
			if _, err := e.sb.Incoming(sandbox.DefaultOrgID, "1", "+79123456789", "Thank you!"); err != nil {
				t.Fatal(err)
			}
		case "stoplist.json":
			e.sb.AddToStopList(sandbox.DefaultOrgID, "+79161112233")
		}
		r := e.call(st.method, st.path, st.auth, st.body)
		if r.status != st.status {
			t.Fatalf("%s %s: HTTP %d, want %d: %s", st.method, st.path, r.status, st.status, r.raw)
		}
		t.Run(st.fixture+" "+st.method+" "+st.path, func(t *testing.T) { sameShape(t, st.fixture, r.v) })
	}
}

func TestAuth(t *testing.T) {
	e := start(t, sandbox.Config{APIKey: "k1", OrgName: "Grand"})
	for _, c := range []struct {
		auth string
		want int
	}{{"k1", 200}, {" k1 ", 200}, {"Bearer k1", 401}, {"", 401}, {"sandbox-key", 401}, {"k2", 401}} {
		r := e.call("GET", "/v2/companies", c.auth, nil)
		if r.status != c.want {
			t.Fatalf("auth %q: HTTP %d, want %d", c.auth, r.status, c.want)
		}
		if c.want == 200 {
			if o := r.obj(); r.state() != "success" || o["id"] != "1" || o["name"] != "Grand" || o["zone"] != "Europe/Moscow" {
				t.Fatalf("auth %q: %s", c.auth, r.raw)
			}
		} else if r.state() != "error" || r.reason() != "invalid API key" {
			t.Fatalf("auth %q: %s", c.auth, r.raw)
		}
	}
	if r := e.call("PUT", "/v2/companies", "k1", nil); r.status != 404 || r.state() != "error" {
		t.Fatalf("unknown method: %d %s", r.status, r.raw)
	}
}

func TestProvidersAndEmployees(t *testing.T) {
	e := start(t, sandbox.Config{})
	ps := e.api(200, "GET", "/v2/providers", nil).list()
	if len(ps) != 2 {
		t.Fatalf("providers = %v", ps)
	}
	want := map[string]any{"id": "1", "name": "Reception +79990000001", "type_id": "1", "type": "WhatsApp",
		"created_at": "2026-11-21 13:00:00", "updated_at": "2026-11-21 13:00:00"}
	if fmt.Sprint(ps[0]) != fmt.Sprint(want) {
		t.Fatalf("provider 1 = %v, want %v", ps[0], want)
	}

	r := e.api(200, "GET", "/v2/employees", nil)
	es := r.list()
	if l, o, n := r.pagin(); len(es) != 3 || l != 20 || o != 0 || n != 3 {
		t.Fatalf("employees = %s", r.raw)
	}
	var names []string
	for _, x := range es {
		names = append(names, x["id"].(string)+":"+x["person_name"].(string)+" "+x["person_surname"].(string))
	}
	if got := strings.Join(names, ", "); got != "1:Irina Orlova, 2:Pavel Smirnov, 3:Elena Kuznetsova" {
		t.Fatalf("employees = %s", got)
	}
	if es := e.api(200, "GET", "/v2/employees?email=PAVEL@sandbox-hotels.example", nil).list(); len(es) != 1 || es[0]["id"] != "2" {
		t.Fatalf("email filter: %v", es)
	}
	if es := e.api(200, "GET", "/v2/employees?phone=79990000000", nil).list(); len(es) != 0 {
		t.Fatalf("phone filter: %v", es)
	}
	if es := e.api(200, "GET", "/v2/employees?limit=2&offset=2", nil).list(); len(es) != 1 || es[0]["id"] != "3" {
		t.Fatalf("second page: %v", es)
	}
}

func TestValidation(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.withOfficialSender()
	msg := func(kv ...any) map[string]any {
		m := map[string]any{"phone": "+79161234567", "provider_id": "1", "text": "hi"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	cases := []struct {
		name         string
		method, path string
		body         any
		why          string
	}{
		{"phone missing", "POST", "/v2/messages", msg("phone", nil), "phone"},
		{"phone too long", "POST", "/v2/messages", msg("phone", "+7 916 123-45-67 0000 00"), "20 characters"},
		{"not a phone", "POST", "/v2/messages", msg("phone", "reception"), "not a phone number"},
		{"provider missing", "POST", "/v2/messages", msg("provider_id", nil), "provider_id"},
		{"unknown provider", "POST", "/v2/messages", msg("provider_id", "42"), "no such provider"},
		{"unknown employee", "POST", "/v2/messages", msg("employee_id", "42"), "no such employee"},
		{"text too long", "POST", "/v2/messages", msg("text", strings.Repeat("я", 10001)), "10000"},
		{"neither text nor template", "POST", "/v2/messages", msg("text", nil), "text"},
		{"mark too long", "POST", "/v2/messages", msg("mark", strings.Repeat("m", 37)), "36"},
		{"template without vars", "POST", "/v2/messages", msg("provider_id", "3", "text", nil, "template", "booking_welcome"), "vars"},
		{"limit over 500", "GET", "/v2/messages?limit=501", nil, "limit"},
		{"limit 0", "GET", "/v2/providers?limit=0", nil, "limit"},
		{"negative offset", "GET", "/v2/employees?offset=-1", nil, "offset"},
		{"created_after in RFC 3339", "GET", "/v2/messages?created_after=2026-11-21T13:00:00Z", nil, "created_after"},
		{"type", "GET", "/v2/messages?type=outgoing", nil, "type"},
		{"read", "GET", "/v2/messages?read=yes", nil, "read"},
		{"webhook without url", "POST", "/v2/webhooks", map[string]any{"events": []string{"new_status"}}, "url"},
		{"webhook with a bad event", "POST", "/v2/webhooks", map[string]any{"url": "https://x.example/h", "events": []string{"delivered"}}, "unknown event"},
		{"webhook without events", "POST", "/v2/webhooks", map[string]any{"url": "https://x.example/h", "events": []string{}}, "events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(c.method, c.path, key, c.body)
			if r.status != 422 || r.state() != "error" || !strings.Contains(r.reason(), c.why) {
				t.Fatalf("HTTP %d %s, want 422 and an error saying %q", r.status, r.raw, c.why)
			}
			sameShape(t, "error_validation.json", r.v)
		})
	}
	if n := len(e.sb.Messages()); n != 0 {
		t.Fatalf("refused requests stored %d messages", n)
	}
	// Parameters the API does not have are ignored, as a real server would.
	e.send("1", "+79161234567", "m")
	if r := e.api(200, "GET", "/v2/messages?phone=%2B70000000000&mark=other&color=red", nil); len(r.list()) != 1 {
		t.Fatalf("unknown filters were applied: %s", r.raw)
	}
}

// TestPhoneFormats: a phone in any format is one person and one chat; the wire shows its
// digits, the Go side E.164.
func TestPhoneFormats(t *testing.T) {
	e := start(t, sandbox.Config{Spacing: time.Second})
	for i, p := range []string{"+79161234567", "79161234567", "+7 (916) 123-45-67"} {
		if r := e.send("1", p, "m"+strconv.Itoa(i)); r.status != 200 {
			t.Fatalf("%q: %s", p, r.raw)
		}
		e.clock.Advance(time.Second)
	}
	ms := e.api(200, "GET", "/v2/messages", nil).list()
	for i, m := range e.sb.Messages() {
		if m.Phone != "+79161234567" || ms[i]["person_phone"] != "79161234567" || ms[i]["chat_id"] != ms[0]["chat_id"] ||
			ms[i]["person_id"] != ms[0]["person_id"] {
			t.Fatalf("message %d: kept %q, listed %v", i, m.Phone, ms[i])
		}
	}
}

func TestPaging(t *testing.T) {
	e := start(t, sandbox.Config{Spacing: time.Second})
	for i := range 25 {
		if r := e.send("1", "+7916100"+strconv.Itoa(1000+i), "m"+strconv.Itoa(i)); r.status != 200 {
			t.Fatalf("send %d: %s", i, r.raw)
		}
		e.clock.Advance(time.Second)
	}
	r := e.api(200, "GET", "/v2/messages", nil)
	if l, o, n := r.pagin(); len(r.list()) != 20 || l != 20 || o != 0 || n != 25 {
		t.Fatalf("first page: %d items, pagin %v %v %v", len(r.list()), l, o, n)
	}
	for i, m := range r.list() {
		if m["id"] != strconv.Itoa(i+1) || m["marker"] != "m"+strconv.Itoa(i) {
			t.Fatalf("item %d = %v, want oldest first", i, m)
		}
	}
	r = e.api(200, "GET", "/v2/messages?offset=20", nil)
	if l, o, n := r.pagin(); len(r.list()) != 5 || l != 20 || o != 20 || n != 25 || r.list()[0]["marker"] != "m20" {
		t.Fatalf("second page: %s", r.raw)
	}
	if r = e.api(200, "GET", "/v2/messages?limit=500", nil); len(r.list()) != 25 {
		t.Fatalf("limit 500: %d items", len(r.list()))
	}
	if r = e.api(200, "GET", "/v2/messages?offset=100", nil); len(r.list()) != 0 || r.response()["data"] == nil {
		t.Fatalf("past the end: %s", r.raw)
	}
	r = e.call("GET", "/v2/messages?limit=501", key, nil)
	if r.status != 422 || r.state() != "error" || !strings.Contains(r.reason(), "500") {
		t.Fatalf("limit 501: %d %s", r.status, r.raw)
	}
}

func TestTimesInCompanyZone(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.send("1", "+79161234567", "a") // 10:00 UTC = 13:00 Moscow
	e.clock.Advance(time.Hour)
	e.send("1", "+79161234567", "b") // 14:00 Moscow
	all := e.api(200, "GET", "/v2/messages", nil).list()
	if all[0]["created_at"] != "2026-11-21 13:00:00" || all[1]["created_at"] != "2026-11-21 14:00:00" {
		t.Fatalf("created_at = %v, %v", all[0]["created_at"], all[1]["created_at"])
	}
	if d := e.api(200, "GET", "/v2/companies", nil).response()["date"]; d != "2026-11-21 14:00:00" {
		t.Fatalf("date = %v", d)
	}
	markers := func(q string) string {
		var ms []string
		for _, m := range e.api(200, "GET", "/v2/messages?"+q, nil).list() {
			ms = append(ms, m["marker"].(string))
		}
		return strings.Join(ms, ",")
	}
	for q, want := range map[string]string{
		"created_after=2026-11-21+14:00:00":                                    "b",
		"created_after=2026-11-21+13:00:01":                                    "b",
		"created_after=2026-11-21+13:00:00":                                    "a,b",
		"created_before=2026-11-21+13:59:59":                                   "a",
		"created_after=2026-11-21+10:00:00&created_before=2026-11-21+11:00:00": "", // UTC times read as Moscow
		"created_after=2026-11-21+13:30:00&created_before=2026-11-21+14:00:00": "b",
	} {
		if got := markers(q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}

	// Another zone, per organization or by Config.
	v := start(t, sandbox.Config{Zone: "Asia/Vladivostok"}) // UTC+10
	if c := v.api(200, "GET", "/v2/companies", nil).obj(); c["zone"] != "Asia/Vladivostok" || c["created_at"] != "2026-11-21 20:00:00" {
		t.Fatalf("company = %v", c)
	}
	v.sb.AddOrganization(sandbox.Organization{ID: "2", Name: "Kaliningrad Inn", APIKey: "k2", Zone: "Europe/Kaliningrad",
		Senders: []bellhop.Sender{{ID: "9", Type: "whatsapp", Name: "Front desk", Phone: "+74010000000"}}})
	if r := v.call("GET", "/v2/companies", "k2", nil); r.obj()["zone"] != "Europe/Kaliningrad" || r.response()["date"] != "2026-11-21 12:00:00" {
		t.Fatalf("company 2 = %s", r.raw)
	}
}

// TestNoDedupeByMark: the same mark twice is two messages to the guest, counted as a repeat.
func TestNoDedupeByMark(t *testing.T) {
	e := start(t, sandbox.Config{})
	first := e.send("1", "+79161234567", "d-1")
	e.clock.Advance(sandbox.DefaultSpacing)
	second := e.send("1", "+79161234567", "d-1")
	if first.status != 200 || second.status != 200 || first.obj()["message_id"] == second.obj()["message_id"] {
		t.Fatalf("sends: %s / %s", first.raw, second.raw)
	}
	if n := len(e.api(200, "GET", "/v2/messages", nil).list()); n != 2 || len(e.sb.Messages()) != 2 {
		t.Fatalf("listed %d, kept %d, want 2", n, len(e.sb.Messages()))
	}
	e.clock.Advance(sandbox.DefaultSpacing)
	e.send("1", "+79161234567", "d-2")
	st := e.sb.Stats()[0]
	if st.Accepted != 3 || st.RepeatedMarks != 1 {
		t.Fatalf("stats = %+v", st)
	}
	s := e.sb.Stats()[1]
	if s.SenderID != "2" || s.RepeatedMarks != 0 {
		t.Fatalf("sender 2 stats = %+v", s)
	}
}

// TestBanIsAtomic: many concurrent sends through one sender: exactly one gets through, the
// rest are refused as banned.
func TestBanIsAtomic(t *testing.T) {
	e := start(t, sandbox.Config{})
	var wg sync.WaitGroup
	replies := make(chan reply, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies <- e.send("1", "+7916000"+strconv.Itoa(1000+i), "m"+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(replies)
	counts := map[int]int{}
	for r := range replies {
		counts[r.status]++
		if r.status == 403 && (r.state() != "error" || !strings.Contains(r.reason(), "banned")) {
			t.Fatalf("refusal: %s", r.raw)
		}
	}
	if counts[200] != 1 || counts[403] != 19 || !e.sb.Banned("1") || len(e.sb.Messages()) != 1 {
		t.Fatalf("statuses %v, banned %v, messages %d", counts, e.sb.Banned("1"), len(e.sb.Messages()))
	}
	st := e.sb.Stats()[0]
	if st.Accepted != 1 || st.Refused != 19 || len(st.Violations) != 1 || !st.HasGap || st.MinGap != 0 {
		t.Fatalf("stats = %+v", st)
	}
	e.sb.Unban("1")
	e.clock.Advance(sandbox.DefaultSpacing)
	if r := e.send("1", "+79160001000", "after"); r.status != 200 {
		t.Fatalf("after unban and a full spacing: %s", r.raw)
	}
}

func TestBanOnSpacing(t *testing.T) {
	e := start(t, sandbox.Config{Spacing: time.Minute})
	e.send("2", "+79161234567", "a")
	e.clock.Advance(time.Minute)
	if r := e.send("2", "+79161234567", "b"); r.status != 200 {
		t.Fatalf("a full spacing later: %s", r.raw)
	}
	e.clock.Advance(59 * time.Second)
	r := e.send("2", "+79161234567", "c")
	if r.status != 403 || !strings.Contains(r.reason(), "provider 2 is blocked") || !strings.Contains(r.reason(), "minimum 60s") {
		t.Fatalf("59 s later: %s", r.raw)
	}
	e.clock.Advance(time.Hour)
	if r := e.send("2", "+79161234567", "d"); r.status != 403 || !e.sb.Banned("2") || e.sb.Banned("1") {
		t.Fatalf("a banned sender stays banned: %s", r.raw)
	}
	if r := e.send("1", "+79161234567", "e"); r.status != 200 {
		t.Fatalf("the other sender: %s", r.raw)
	}
}

// TestBanAtZeroTime: a fake clock that starts at the zero time still gets bans right.
func TestBanAtZeroTime(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.clock.Set(time.Time{})
	e.send("1", "+79161234567", "a")
	if r := e.send("1", "+79161234567", "b"); r.status != 403 || !e.sb.Banned("1") {
		t.Fatalf("second send at the same instant: %d, banned %v", r.status, e.sb.Banned("1"))
	}
}

// receiver is a webhook endpoint that keeps what it is sent.
type receiver struct {
	url string
	ch  chan []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{ch: make(chan []byte, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.ch <- b
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook?secret=s3"
	return rc
}

// next returns the next payload of an event, skipping others.
func (rc *receiver) next(t *testing.T, event string) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-rc.ch:
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("undecodable callback %q", b)
			}
			if v["event"] == event {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s callback within 5 s", event)
		}
	}
}

func (rc *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case b := <-rc.ch:
		t.Fatalf("unexpected callback %s", b)
	case <-time.After(wait):
	}
}

// TestStatusesPushed: an accepted message is delivered, then read; each change goes to the
// organization's webhook and to Config.WebhookURL, and shows in GET messages/{id}.
func TestStatusesPushed(t *testing.T) {
	observer := newReceiver(t)
	e := start(t, sandbox.Config{WebhookURL: observer.url})
	hook := newReceiver(t)
	e.api(200, "POST", "/v2/webhooks", map[string]any{"url": hook.url, "events": []string{"new_status", "new_error"}})

	id := e.send("1", "+79123456789", "dl-1").obj()["message_id"].(string)
	delivered := hook.next(t, "new_status")
	sameShape(t, "callbacks/sandbox_new_status.json", delivered)
	d := delivered["data"].(map[string]any)
	if d["id"] != id || d["marker"] != "dl-1" || d["person_phone"] != "79123456789" ||
		d["delivered_at"] != "2026-11-21 13:00:01" || d["viewed_at"] != "" {
		t.Fatalf("first status = %v", d)
	}
	read := hook.next(t, "new_status")["data"].(map[string]any)
	if read["id"] != id || read["delivered_at"] != "2026-11-21 13:00:01" || read["viewed_at"] != "2026-11-21 13:00:05" ||
		read["updated_at"] != "2026-11-21 13:00:05" {
		t.Fatalf("second status = %v", read)
	}
	if d := observer.next(t, "new_status")["data"].(map[string]any); d["id"] != id || d["viewed_at"] != "" {
		t.Fatalf("the observer's first status = %v", d)
	}
	m := e.api(200, "GET", "/v2/messages/"+id, nil).obj()
	if m["delivered_at"] != "2026-11-21 13:00:01" || m["viewed_at"] != "2026-11-21 13:00:05" {
		t.Fatalf("message = %v", m)
	}
	if got := e.sb.Messages()[0]; got.Status != "read" || !got.ViewedAt.Equal(startTime.Add(sandbox.ViewedAfter)) {
		t.Fatalf("kept message = %+v", got)
	}
	if n := len(e.api(200, "GET", "/v2/messages?read=1", nil).list()); n != 1 {
		t.Fatalf("read=1 lists %d", n)
	}

	// A refused send is new_error, with the flat fields.
	r := e.send("1", "+79123456789", "dl-2")
	er := hook.next(t, "new_error")
	sameShape(t, "callbacks/sandbox_new_error.json", er)
	if er["message_id"] != "" || er["phone"] != "79123456789" || er["error_at"] != "2026-11-21 13:00:00" || er["detail"] != r.reason() {
		t.Fatalf("new_error = %v (refusal %s)", er, r.raw)
	}

	// A guest's message is new_message, which this webhook did not subscribe to.
	if _, err := e.sb.Incoming(sandbox.DefaultOrgID, "1", "+79123456789", "Thanks!"); err != nil {
		t.Fatal(err)
	}
	sameShape(t, "callbacks/sandbox_new_message.json", observer.next(t, "new_message"))
	hook.none(t, 200*time.Millisecond)
}

// TestOneWebhook: one webhook per account: POST replaces, GET shows it beside status, DELETE
// has no id.
func TestOneWebhook(t *testing.T) {
	e := start(t, sandbox.Config{})
	get := func() (string, []any) {
		r := e.api(200, "GET", "/v2/webhooks", nil).response()
		if _, under := r["data"]; under {
			t.Fatalf("webhook under data: %v", r)
		}
		u, _ := r["url"].(string)
		ev, _ := r["events"].([]any)
		return u, ev
	}
	if u, ev := get(); u != "" || ev == nil || len(ev) != 0 {
		t.Fatalf("no webhook yet: %q %v", u, ev)
	}
	// A hotel's own PMS webhook, installed before Bellhop.
	e.sb.SetWebhook(sandbox.DefaultOrgID, "https://pms.example.com/hook?token=t", []string{"new_message"})
	if u, ev := get(); u != "https://pms.example.com/hook?token=t" || fmt.Sprint(ev) != "[new_message]" {
		t.Fatalf("pre-installed: %q %v", u, ev)
	}
	r := e.api(200, "POST", "/v2/webhooks", map[string]any{"url": "https://bellhop.example/h/1", "events": []string{"new_status", "new_error"}})
	if r.response()["url"] != "https://bellhop.example/h/1" {
		t.Fatalf("POST answer: %s", r.raw)
	}
	if u, ev := get(); u != "https://bellhop.example/h/1" || fmt.Sprint(ev) != "[new_status new_error]" {
		t.Fatalf("replaced: %q %v", u, ev)
	}
	if u, ev := e.sb.Webhook(sandbox.DefaultOrgID); u != "https://bellhop.example/h/1" || len(ev) != 2 {
		t.Fatalf("Webhook() = %q %v", u, ev)
	}
	if r := e.call("DELETE", "/v2/webhooks/1", key, nil); r.status != 404 || r.state() != "error" {
		t.Fatalf("DELETE with an id: %d %s", r.status, r.raw)
	}
	e.api(200, "DELETE", "/v2/webhooks", nil)
	if u, ev := get(); u != "" || len(ev) != 0 {
		t.Fatalf("after DELETE: %q %v", u, ev)
	}
	if u, _ := e.sb.Webhook(sandbox.DefaultOrgID); u != "" {
		t.Fatalf("Webhook() after DELETE = %q", u)
	}
	e.api(200, "DELETE", "/v2/webhooks", nil) // none installed: still fine
}

// TestLatencyAcceptsBeforeAnswering: a send whose answer comes after the caller's timeout
// was accepted all the same; other requests are just slow.
func TestLatencyAcceptsBeforeAnswering(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.SetLatency(500 * time.Millisecond)
	client := &http.Client{Timeout: 50 * time.Millisecond}
	do := func(method, path, body string) error {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", key)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := do("POST", "/v2/messages", `{"phone":"+79161234567","provider_id":"1","text":"hi","mark":"slow"}`); err == nil {
		t.Fatal("an answer came before the latency passed")
	}
	if ms := e.sb.Messages(); len(ms) != 1 || ms[0].Mark != "slow" {
		t.Fatalf("the timed-out send was not accepted: %+v", ms)
	}
	if err := do("GET", "/v2/companies", ""); err == nil {
		t.Fatal("GET answered before the latency passed")
	}
	started := time.Now()
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 1 || time.Since(started) < 500*time.Millisecond {
		t.Fatalf("after %v: %s", time.Since(started), r.raw)
	}
	e.sb.SetLatency(0)
	e.api(200, "GET", "/v2/companies", nil)
}

// TestListingLag: a message shows in the listing only the lag after it was created.
func TestListingLag(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.SetListingLag(30 * time.Second)
	id := e.send("1", "+79161234567", "lagging").obj()["message_id"].(string)
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 0 {
		t.Fatalf("listed at once: %s", r.raw)
	}
	e.api(404, "GET", "/v2/messages/"+id, nil)
	e.clock.Advance(29 * time.Second)
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 0 {
		t.Fatalf("listed after 29 s: %s", r.raw)
	}
	e.clock.Advance(time.Second)
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 1 || r.list()[0]["marker"] != "lagging" {
		t.Fatalf("not listed after 30 s: %s", r.raw)
	}
	e.api(200, "GET", "/v2/messages/"+id, nil)
}

func TestStopList(t *testing.T) {
	hook := newReceiver(t)
	e := start(t, sandbox.Config{WebhookURL: hook.url})
	if r := e.api(200, "GET", "/v2/persons/stoplist", nil); len(r.list()) != 0 {
		t.Fatalf("empty stop list: %s", r.raw)
	}
	e.sb.AddToStopList(sandbox.DefaultOrgID, "+7 916 111-22-33")
	if r := e.call("POST", "/sandbox/stoplist", "", map[string]any{"phone": "+79162223344"}); r.status != 200 {
		t.Fatalf("control: %d %s", r.status, r.raw)
	}
	for _, path := range []string{"/v2/stoplist", "/v2/persons/stoplist"} {
		r := e.api(200, "GET", path, nil)
		if _, _, n := r.pagin(); n != 2 || r.list()[0]["person_phone"] != "79161112233" || r.list()[1]["person_phone"] != "79162223344" {
			t.Fatalf("%s: %s", path, r.raw)
		}
	}
	if r := e.api(200, "GET", "/v2/stoplist?phone=%2B79162223344", nil); len(r.list()) != 1 || r.list()[0]["person_phone"] != "79162223344" {
		t.Fatalf("phone filter: %s", r.raw)
	}
	if r := e.api(200, "GET", "/v2/stoplist?email=x@example.com", nil); len(r.list()) != 0 {
		t.Fatalf("email filter: %s", r.raw)
	}

	r := e.send("1", "+79161112233", "to-stopped")
	if r.status != 422 || r.state() != "error" || !strings.Contains(r.reason(), "stop list") ||
		strings.Contains(r.reason(), "banned") || strings.Contains(r.reason(), "blocked") {
		t.Fatalf("send to a stop-listed phone: %d %s", r.status, r.raw)
	}
	if er := hook.next(t, "new_error"); er["phone"] != "79161112233" || !strings.Contains(er["detail"].(string), "stop list") {
		t.Fatalf("new_error = %v", er)
	}
	st := e.sb.Stats()[0]
	if st.StopListed != 1 || st.Accepted != 0 || st.Refused != 0 || st.Banned || len(e.sb.Messages()) != 0 {
		t.Fatalf("stats = %+v", st)
	}
	// A stop-listed phone does not count toward the ban rule.
	if r := e.send("1", "+79161234567", "ok"); r.status != 200 {
		t.Fatalf("a send right after the refusal: %s", r.raw)
	}
	e.sb.Reset()
	if r := e.api(200, "GET", "/v2/stoplist", nil); len(r.list()) != 0 {
		t.Fatalf("after Reset: %s", r.raw)
	}
}

func TestTemplates(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.withOfficialSender()
	ps := e.api(200, "GET", "/v2/providers", nil).list()
	if len(ps) != 3 || ps[2]["type"] != "WhatsApp Business API" || ps[2]["type_id"] != "5" {
		t.Fatalf("providers = %v", ps)
	}
	r := e.api(200, "GET", "/v2/messages/3/templates", nil)
	if _, paged := r.response()["pagin"]; paged {
		t.Fatalf("templates are not paged: %s", r.raw)
	}
	ts := r.list()
	if len(ts) != 2 || ts[0]["elementName"] != "booking_welcome" || ts[0]["status"] != "APPROVED" || ts[1]["status"] != "REJECTED" {
		t.Fatalf("templates = %v", ts)
	}
	if r := e.api(200, "GET", "/v2/messages/1/templates", nil); r.list() != nil || r.response()["data"] == nil {
		t.Fatalf("a WhatsApp Web sender's templates: %s", r.raw)
	}
	e.api(404, "GET", "/v2/messages/42/templates", nil)

	r = e.api(200, "POST", "/v2/messages", map[string]any{"phone": "+79123456789", "provider_id": 3,
		"template": "booking_welcome", "vars": []any{"Anna", "Sandbox Hotels", "3 December"}, "mark": "t-1"})
	const want = "Hello Anna! We look forward to welcoming you at Sandbox Hotels on 3 December."
	if r.obj()["text"] != want || r.obj()["provider_type_id"] != "5" {
		t.Fatalf("template send: %s", r.raw)
	}
	if m := e.sb.Messages()[0]; m.Text != want || m.Template != "booking_welcome" || len(m.Vars) != 3 {
		t.Fatalf("kept = %+v", m)
	}
	e.clock.Advance(sandbox.DefaultSpacing)
	for _, c := range []struct {
		body map[string]any
		why  string
	}{
		{map[string]any{"provider_id": "3", "template": "promo_discount", "vars": []string{"10"}}, "not approved"},
		{map[string]any{"provider_id": "3", "template": "nope", "vars": []string{}}, "not found"},
		{map[string]any{"provider_id": "3", "template": "booking_welcome", "vars": []string{"Anna"}}, "no var for {{2}}, {{3}}"},
		{map[string]any{"provider_id": "1", "template": "booking_welcome", "vars": []string{"a", "b", "c"}}, "WhatsApp Business API"},
	} {
		c.body["phone"] = "+79123456789"
		if r := e.call("POST", "/v2/messages", key, c.body); r.status != 422 || !strings.Contains(r.reason(), c.why) {
			t.Errorf("%v: %d %s, want 422 saying %q", c.body, r.status, r.raw, c.why)
		}
	}
	if len(e.sb.Messages()) != 1 || e.sb.Banned("3") {
		t.Fatalf("refused templates were sent: %+v", e.sb.Messages())
	}
}

func TestIncoming(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.send("1", "+79123456789", "out")
	e.clock.Advance(time.Minute)
	in, err := e.sb.Incoming(sandbox.DefaultOrgID, "1", "+79123456789", "Can we check in early?")
	if err != nil || !in.Incoming {
		t.Fatalf("Incoming = %+v, %v", in, err)
	}
	r := e.api(200, "GET", "/v2/messages?type=from_client", nil)
	ms := r.list()
	if len(ms) != 1 || ms[0]["type_name"] != "Входящее" || ms[0]["type_id"] != "1" || ms[0]["text"] != "Can we check in early?" ||
		ms[0]["created_at"] != "2026-11-21 13:01:00" || ms[0]["marker"] != "" {
		t.Fatalf("incoming = %s", r.raw)
	}
	out := e.api(200, "GET", "/v2/messages?type=to_client", nil).list()
	if len(out) != 1 || out[0]["type_name"] != "Исходящее" || out[0]["chat_id"] != ms[0]["chat_id"] || out[0]["person_id"] != ms[0]["person_id"] {
		t.Fatalf("outgoing = %v, incoming = %v", out, ms)
	}
	if n := len(e.api(200, "GET", "/v2/messages?chat_id="+ms[0]["chat_id"].(string), nil).list()); n != 2 {
		t.Fatalf("chat filter: %d", n)
	}
	for _, bad := range [][3]string{{"9", "1", "+79123456789"}, {"1", "9", "+79123456789"}, {"1", "1", "12"}} {
		if _, err := e.sb.Incoming(bad[0], bad[1], bad[2], "x"); err == nil {
			t.Errorf("Incoming%v: no error", bad)
		}
	}
	r = e.call("POST", "/sandbox/incoming", "", map[string]any{"provider_id": 2, "phone": "+79123456789", "text": "hi"})
	if r.status != 200 || len(e.api(200, "GET", "/v2/messages?provider_id=2&type=from_client", nil).list()) != 1 {
		t.Fatalf("control incoming: %d %s", r.status, r.raw)
	}
}

func TestOperatorsSeeOnlyTheirDialogs(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.AddOrganization(sandbox.Organization{ID: "2", Name: "Other", APIKey: "other",
		Senders:   []bellhop.Sender{{ID: "1", Type: "whatsapp", Name: "X", Phone: "+79990000009"}},
		Operators: []bellhop.Operator{{ID: "1", Name: "<b>Other Op</b>"}}})

	// A message sent through a sender shows in operator 1's dialogs.
	if r := e.send("1", "+79160000042", "m"); r.status != 200 {
		t.Fatalf("send: %s", r.raw)
	}
	code := func(auth, op string) string {
		r := e.call("POST", "/v2/employees/"+op+"/code", auth, nil)
		c, _ := r.response()["code"].(map[string]any)
		s, _ := c["code"].(string)
		if r.status != 200 || s == "" {
			t.Fatalf("code for %s: %s", op, r.raw)
		}
		return s
	}
	page := func(code string) (int, string) {
		resp, err := http.Get(e.url + "/login/" + code)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, p1 := page(code(key, "1"))
	if !strings.Contains(p1, "Signed in as Irina Orlova (operator 1)") || !strings.Contains(p1, `data-phone="+79160000042"`) {
		t.Fatalf("operator 1's page:\n%s", p1)
	}
	_, p2 := page(code(key, "2"))
	if strings.Contains(p2, "+79160000042") || !strings.Contains(p2, `data-operator-id="2"`) {
		t.Fatalf("operator 2 sees operator 1's chat:\n%s", p2)
	}
	_, other := page(code("other", "1"))
	if strings.Contains(other, "+79160000042") || strings.Contains(other, "<b>") || !strings.Contains(other, "&lt;b&gt;Other Op") {
		t.Fatalf("the other organization's operator 1:\n%s", other)
	}
	e.api(404, "POST", "/v2/employees/42/code", nil)

	// A code expires after 10 minutes; a removed operator's code stops working at once.
	c1 := code(key, "1")
	e.clock.Advance(sandbox.CodeTTL)
	if st, _ := page(c1); st != 404 {
		t.Fatalf("expired code: %d", st)
	}
	c3 := code(key, "3")
	e.sb.RemoveOperator("3")
	if st, _ := page(c3); st != 404 {
		t.Fatalf("removed operator's page: %d", st)
	}
}

func TestControlOverHTTP(t *testing.T) {
	e := start(t, sandbox.Config{})
	ctl := func(method, path string, body any) reply {
		t.Helper()
		r := e.call(method, path, "", body)
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
		}
		return r
	}

	// Spacing override, then two sends 1.5 s apart with the same mark.
	ctl("POST", "/sandbox/senders/1/spacing", map[string]any{"spacing": "1s"})
	e.send("1", "+79161234567", "a")
	e.clock.Advance(1500 * time.Millisecond)
	e.send("1", "+79161234567", "a")
	stats := ctl("GET", "/sandbox/stats", nil).v
	s1 := stats["senders"].([]any)[0].(map[string]any)
	if stats["messages"] != 2.0 || s1["accepted"] != 2.0 || s1["repeated_marks"] != 1.0 || s1["banned"] != false ||
		s1["min_gap_seconds"] != 1.5 || s1["spacing_seconds"] != 1.0 {
		t.Fatalf("stats = %s", ctl("GET", "/sandbox/stats", nil).raw)
	}
	var msgs []sandbox.Message
	_ = json.Unmarshal(ctl("GET", "/sandbox/messages?mark=a&org=1", nil).raw, &msgs)
	if len(msgs) != 2 || msgs[0].Mark != "a" || msgs[0].SenderID != "1" || msgs[0].OrgID != "1" || msgs[0].Phone != "+79161234567" {
		t.Fatalf("messages = %+v", msgs)
	}

	// Ban, then unban.
	e.send("1", "+79161234567", "c")
	if !e.sb.Banned("1") {
		t.Fatal("a send 0 s after the last should ban")
	}
	ctl("POST", "/sandbox/senders/1/unban", nil)
	if e.sb.Banned("1") {
		t.Fatal("unban over HTTP did nothing")
	}

	// Outage, rate limit, listing lag, latency.
	ctl("POST", "/sandbox/outage", map[string]any{"status": 503})
	if r := e.call("GET", "/v2/companies", key, nil); r.status != 503 || r.state() != "error" {
		t.Fatalf("during the outage: %d %s", r.status, r.raw)
	}
	ctl("POST", "/sandbox/outage", map[string]any{"status": 0})
	ctl("POST", "/sandbox/rate-limit", map[string]any{"retry_after": 2.5})
	e.clock.Advance(time.Hour)
	if r := e.send("2", "+79161234567", "x"); r.status != 429 || r.header.Get("Retry-After") != "3" || r.state() != "error" {
		t.Fatalf("rate limited: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	ctl("POST", "/sandbox/listing-lag", map[string]any{"lag": "1h"})
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 2 {
		t.Fatalf("with a lag, older messages still show: %s", r.raw)
	}
	e.send("2", "+79161234567", "y")
	if r := e.api(200, "GET", "/v2/messages", nil); len(r.list()) != 2 {
		t.Fatalf("a lagging message shows: %s", r.raw)
	}
	ctl("POST", "/sandbox/latency", map[string]any{"latency": "10ms"})

	// Webhooks: one per organization.
	ctl("PUT", "/sandbox/webhooks", map[string]any{"url": "http://127.0.0.1:1/pms", "events": []string{"new_message"}})
	e.api(200, "POST", "/v2/webhooks", map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"new_status"}})
	var hooks []map[string]any
	_ = json.Unmarshal(ctl("GET", "/sandbox/webhooks?org=1", nil).raw, &hooks)
	if len(hooks) != 1 || hooks[0]["url"] != "http://127.0.0.1:1/hook" || hooks[0]["org_id"] != "1" {
		t.Fatalf("webhooks = %v", hooks)
	}
	if r := e.call("PUT", "/sandbox/webhooks", "", map[string]any{"org": "9", "url": "http://x.example/"}); r.status != 404 {
		t.Fatalf("webhook of an unknown organization: %d", r.status)
	}

	// Removing a sender; reset brings everything back.
	ctl("DELETE", "/sandbox/senders/2", nil)
	if r := e.send("2", "+79161234567", "gone"); r.status != 422 || !strings.Contains(r.reason(), "no such provider") {
		t.Fatalf("send through a removed sender: %s", r.raw)
	}
	ctl("DELETE", "/sandbox/operators/2", nil)
	if n := len(e.api(200, "GET", "/v2/employees", nil).list()); n != 2 {
		t.Fatalf("employees after removing one: %d", n)
	}
	ctl("POST", "/sandbox/reset", nil)
	stats = ctl("GET", "/sandbox/stats", nil).v
	if u, _ := e.sb.Webhook("1"); stats["messages"] != 0.0 || len(stats["senders"].([]any)) != 2 || u != "" {
		t.Fatalf("after reset: %v, webhook %q", stats, u)
	}
	if r := e.api(200, "GET", "/v2/employees", nil); len(r.list()) != 3 {
		t.Fatalf("operators after reset: %s", r.raw)
	}

	// Bad control input is refused.
	for _, c := range []struct{ path, body string }{
		{"/sandbox/latency", `{"latency":"soon"}`}, {"/sandbox/listing-lag", `{"lag":true}`},
		{"/sandbox/outage", `{"status":200}`}, {"/sandbox/stoplist", `{"phone":""}`},
		{"/sandbox/incoming", `{"provider_id":"1","phone":"+79161234567","text":""}`},
	} {
		if r := e.call("POST", c.path, "", json.RawMessage(c.body)); r.status != 400 {
			t.Errorf("%s %s: %d", c.path, c.body, r.status)
		}
	}
}

func TestCloseIsSafe(t *testing.T) {
	e := start(t, sandbox.Config{WebhookURL: "http://127.0.0.1:1/"})
	e.sb.Close()
	e.sb.Close()
	// Sends still work after Close; they are just never delivered.
	if r := e.send("1", "+79161234567", "x"); r.status != 200 {
		t.Fatalf("send after Close: %s", r.raw)
	}
}
