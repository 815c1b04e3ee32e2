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
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/internal/shape"
	"github.com/bellhop/bellhop/provider/whatsapp"
	"github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// fixtures are the real API's recorded shapes, which the sandbox must match.
const fixtures = "../testdata"

var startTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

const (
	reception = sandbox.NumberReception
	sales     = sandbox.NumberSales
	guest     = "79123456789"
)

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

type reply struct {
	status int
	raw    []byte
	v      any
}

func (r reply) obj() map[string]any { m, _ := r.v.(map[string]any); return m }

// code is the Graph error code of an error answer, 0 for none.
func (r reply) code() int {
	e, _ := r.obj()["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

// messageID is a send answer's message id.
func (r reply) messageID() string {
	ms, _ := r.obj()["messages"].([]any)
	if len(ms) == 0 {
		return ""
	}
	id, _ := ms[0].(map[string]any)["id"].(string)
	return id
}

// call makes a request with the given headers and decodes the JSON answer.
func (e *env) call(method, path string, header map[string]string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode}
	r.raw, _ = io.ReadAll(resp.Body)
	if err := json.Unmarshal(r.raw, &r.v); err != nil {
		e.t.Fatalf("%s %s: undecodable answer %q", method, path, r.raw)
	}
	return r
}

var bearer = map[string]string{"Authorization": "Bearer " + sandbox.DefaultToken}
var key360 = map[string]string{"D360-API-KEY": sandbox.DefaultAPIKey360}

func (e *env) cloud(method, path string, body any) reply {
	e.t.Helper()
	return e.call(method, "/"+sandbox.DefaultVersion+path, bearer, body)
}

func text(to, body string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
		"text": map[string]any{"preview_url": false, "body": body}}
}

func template(to, name, lang string, params ...string) map[string]any {
	var ps []map[string]string
	for _, p := range params {
		ps = append(ps, map[string]string{"type": "text", "text": p})
	}
	tpl := map[string]any{"name": name, "language": map[string]string{"code": lang}}
	if len(ps) > 0 {
		tpl["components"] = []map[string]any{{"type": "body", "parameters": ps}}
	}
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template", "template": tpl}
}

var welcome = []string{"Anna", "Sandbox Hotels", "3 December"}

// sendText sends free text from a number and returns the answer.
func (e *env) sendText(from, to string) reply {
	e.t.Helper()
	return e.cloud("POST", "/"+from+"/messages", text(to, "Hello"))
}

func (e *env) sendTemplate(from, to string) reply {
	e.t.Helper()
	return e.cloud("POST", "/"+from+"/messages", template(to, "booking_welcome", "en", welcome...))
}

func (e *env) inbound(number, from string) {
	e.t.Helper()
	if _, err := e.sb.Inbound(number, from, "Anna", "Hello!"); err != nil {
		e.t.Fatal(err)
	}
}

// want checks an answer's status and Graph error code (0: no error).
func want(t *testing.T, r reply, status, code int) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("HTTP %d code %d, want %d %d: %s", r.status, r.code(), status, code, r.raw)
	}
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

func sameShape(t *testing.T, fixture string, got any) {
	t.Helper()
	if d := shape.Diff("$", readFixture(t, fixture), got, nil); len(d) > 0 {
		t.Errorf("answer differs from %s:\n  %s", fixture, strings.Join(d, "\n  "))
	}
}

func TestShapeDiffNamesThePath(t *testing.T) {
	want := map[string]any{"data": []any{map[string]any{"id": "1", "n": 1.0}}, "paging": map[string]any{}}
	got := map[string]any{"data": []any{map[string]any{"id": 1.0, "x": ""}}, "paging": []any{}}
	d := strings.Join(shape.Diff("$", want, got, nil), "; ")
	for _, s := range []string{"$.data[0].id: want string, got number", "$.data[0].n: missing",
		"$.data[0].x: not in the recorded answer", "$.paging: want object, got array"} {
		if !strings.Contains(d, s) {
			t.Errorf("diff %q lacks %q", d, s)
		}
	}
	if d := shape.Diff("$", map[string]any{"data": []any{1.0}}, map[string]any{"data": []any{}}, nil); len(d) != 1 {
		t.Errorf("an empty list passes for a recorded one: %v", d)
	}
}

// after returns a Graph page's after cursor.
func after(t *testing.T, r reply) string {
	t.Helper()
	p, _ := r.obj()["paging"].(map[string]any)
	c, _ := p["cursors"].(map[string]any)
	a, _ := c["after"].(string)
	if a == "" {
		t.Fatalf("no after cursor in %s", r.raw)
	}
	return a
}

// TestFixtureShapes: each recorded answer of the real API and the sandbox's answer to the same
// request have the same keys and JSON types.
func TestFixtureShapes(t *testing.T) {
	e := start(t, sandbox.Config{})
	numbersQ := "fields=id,display_phone_number,verified_name,quality_rating&limit=1"
	templatesQ := "fields=id,name,language,status,category,components&limit=2"
	var numbersAfter, templatesAfter string
	steps := []struct {
		fixture string
		setup   func()
		call    func() reply
		status  int
	}{
		{"phone_numbers.json", nil, func() reply {
			r := e.cloud("GET", "/"+sandbox.DefaultWABAID+"/phone_numbers?"+numbersQ, nil)
			numbersAfter = after(t, r)
			return r
		}, 200},
		{"phone_numbers_last.json", nil, func() reply {
			return e.cloud("GET", "/"+sandbox.DefaultWABAID+"/phone_numbers?"+numbersQ+"&after="+numbersAfter, nil)
		}, 200},
		{"message_templates.json", nil, func() reply {
			r := e.cloud("GET", "/"+sandbox.DefaultWABAID+"/message_templates?"+templatesQ, nil)
			templatesAfter = after(t, r)
			return r
		}, 200},
		{"message_templates_last.json", nil, func() reply {
			return e.cloud("GET", "/"+sandbox.DefaultWABAID+"/message_templates?"+templatesQ+"&after="+templatesAfter, nil)
		}, 200},
		{"error_190.json", nil, func() reply {
			return e.call("GET", "/v26.0/"+sandbox.DefaultWABAID+"/phone_numbers", map[string]string{"Authorization": "Bearer wrong"}, nil)
		}, 401},
		{"error_131047.json", nil, func() reply { return e.sendText(reception, guest) }, 400},
		{"send_text.json", func() { e.inbound(reception, guest) }, func() reply { return e.sendText(reception, guest) }, 200},
		{"error_131056.json", nil, func() reply { return e.sendText(reception, guest) }, 400},
		{"send_template.json", nil, func() reply { return e.sendTemplate(reception, "79123456780") }, 200},
		{"error_100.json", nil, func() reply { return e.sendText(reception, "7912abc") }, 400},
		{"error_132000.json", nil, func() reply {
			return e.cloud("POST", "/"+reception+"/messages", template("79123456781", "booking_welcome", "en", "Anna"))
		}, 400},
		{"error_132001.json", nil, func() reply {
			return e.cloud("POST", "/"+reception+"/messages", template("79123456781", "promo_discount", "ru", "15"))
		}, 404},
		{"error_130429.json", func() {
			for i := range sandbox.NumberRate {
				want(t, e.sendTemplate(sales, fmt.Sprint(79000000000+i)), 200, 0)
			}
		}, func() reply { return e.sendTemplate(sales, "79123456782") }, 400},
		{"error_368.json", func() { e.sb.SetRestricted(sales, 368) }, func() reply { return e.sendTemplate(sales, guest) }, 403},
		{"error_131031.json", func() { e.sb.SetRestricted(sales, 131031) }, func() reply { return e.sendTemplate(sales, guest) }, 403},
		{"dialog360_templates.json", nil, func() reply { return e.call("GET", "/v1/configs/templates", key360, nil) }, 200},
		{"dialog360_error_unauthorized.json", nil, func() reply {
			return e.call("GET", "/v1/configs/templates", map[string]string{"D360-API-KEY": "wrong"}, nil)
		}, 401},
		{"dialog360_webhook.json", nil, func() reply {
			return e.call("POST", "/v1/configs/webhook", key360, map[string]string{"url": "https://bellhop.example.com/webhooks/dialog360/1042"})
		}, 200},
		{"dialog360_webhook.json", nil, func() reply { return e.call("GET", "/v1/configs/webhook", key360, nil) }, 200},
		{"send_text.json", func() { e.clock.Advance(sandbox.RecipientGap) }, func() reply {
			return e.call("POST", "/messages", key360, text(guest, "Hello from 360dialog"))
		}, 200},
	}
	for _, st := range steps {
		if st.setup != nil {
			st.setup()
		}
		r := st.call()
		if r.status != st.status {
			t.Fatalf("%s: HTTP %d, want %d: %s", st.fixture, r.status, st.status, r.raw)
		}
		t.Run(st.fixture, func(t *testing.T) { sameShape(t, st.fixture, r.v) })
	}
	if r := e.cloud("GET", "/"+sandbox.DefaultWABAID+"/phone_numbers?"+numbersQ+"&after="+numbersAfter, nil); r.obj()["paging"].(map[string]any)["next"] != nil {
		t.Fatalf("the last page names a next one: %s", r.raw)
	}
}

// callback is one callback a receiver got.
type callback struct {
	header http.Header
	body   []byte
}

type receiver struct {
	url string
	ch  chan callback
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{ch: make(chan callback, 256)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.ch <- callback{header: r.Header.Clone(), body: b}
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks/whatsapp_cloud/1042"
	return rc
}

func (rc *receiver) next(t *testing.T) callback {
	t.Helper()
	select {
	case cb := <-rc.ch:
		return cb
	case <-time.After(5 * time.Second):
		t.Fatal("no callback within 5 s")
	}
	return callback{}
}

func (rc *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case cb := <-rc.ch:
		t.Fatalf("unexpected callback %s", cb.body)
	case <-time.After(wait):
	}
}

// event checks a callback's signature the way Bellhop will and returns its one event.
func (rc *receiver) event(t *testing.T, secret string) (whatsapp.Event, callback) {
	t.Helper()
	cb := rc.next(t)
	if err := whatsapp.VerifySignature(cb.body, cb.header.Get(whatsapp.SignatureHeader), secret); err != nil {
		t.Fatalf("callback signature: %v (%s)", err, cb.body)
	}
	evs, err := whatsapp.ParseEvents(cb.body)
	if err != nil || len(evs) != 1 {
		t.Fatalf("callback %s: %d events, %v", cb.body, len(evs), err)
	}
	return evs[0], cb
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignedCallbacks: an accepted message is reported sent, delivered, read — signed with the
// app secret, in Meta's shape, echoing the callback data — and a guest's message is reported
// too.
func TestSignedCallbacks(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, sandbox.Config{WebhookURL: rc.url, AppSecret: "app-secret-1"})
	body := template(guest, "booking_welcome", "en", welcome...)
	body["biz_opaque_callback_data"] = "dl_8f1e2a3b4c5d6e7f"
	r := e.cloud("POST", "/"+reception+"/messages", body)
	want(t, r, 200, 0)
	id := r.messageID()

	for i, st := range []struct {
		status  string
		after   time.Duration
		fixture string
	}{{"sent", 0, "webhook_status.json"}, {"delivered", sandbox.DeliveredAfter, "webhook_status.json"}, {"read", sandbox.ReadAfter, "webhook_status_read.json"}} {
		ev, cb := rc.event(t, "app-secret-1")
		if ev.Type != whatsapp.EventStatus || ev.MessageID != id || ev.Status != st.status || !ev.At.Equal(startTime.Add(st.after)) ||
			ev.Recipient != guest || ev.CallbackData != "dl_8f1e2a3b4c5d6e7f" || ev.PhoneNumberID != reception || ev.WABAID != sandbox.DefaultWABAID {
			t.Fatalf("status %d = %+v", i, ev)
		}
		sameShape(t, st.fixture, decode(t, cb.body))
		if err := whatsapp.VerifySignature(cb.body, cb.header.Get(whatsapp.SignatureHeader), "another-secret"); err == nil {
			t.Fatal("the callback verifies under another secret")
		}
	}
	if m := e.sb.Messages(); len(m) != 1 || m[0].Status != "read" || m[0].CallbackData != "dl_8f1e2a3b4c5d6e7f" ||
		m[0].Text != "Hello Anna! We look forward to welcoming you at Sandbox Hotels on 3 December." {
		t.Fatalf("kept = %+v", m)
	}

	// A recipient WhatsApp cannot reach: accepted, then failed with 131026.
	e.sb.SetUndeliverable("+7 912 345-67-80")
	r = e.sendTemplate(reception, "79123456780")
	want(t, r, 200, 0)
	ev, cb := rc.event(t, "app-secret-1")
	if ev.Status != "failed" || ev.ErrorCode != 131026 || !ev.FallThrough() || ev.MessageID != r.messageID() {
		t.Fatalf("failed status = %+v", ev)
	}
	sameShape(t, "webhook_status_failed.json", decode(t, cb.body))

	// A guest's message.
	in, err := e.sb.Inbound(reception, "+7 912 345-67-89", "Анна Петрова", "Is early check-in possible?")
	if err != nil {
		t.Fatal(err)
	}
	ev, cb = rc.event(t, "app-secret-1")
	if ev.Type != whatsapp.EventMessage || ev.From != guest || ev.Text != "Is early check-in possible?" || ev.Name != "Анна Петрова" ||
		ev.MessageID != in.ID || !ev.At.Equal(startTime) || ev.PhoneNumberID != reception {
		t.Fatalf("inbound = %+v", ev)
	}
	sameShape(t, "webhook_inbound.json", decode(t, cb.body))
	rc.none(t, 100*time.Millisecond)
}

// TestOutOfOrderCallbacks: with SetOutOfOrder a message's statuses arrive read, sent,
// delivered; the kept status still ends at read.
func TestOutOfOrderCallbacks(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, sandbox.Config{WebhookURL: rc.url})
	e.sb.SetOutOfOrder(true)
	want(t, e.sendTemplate(reception, guest), 200, 0)
	var got []string
	for range 3 {
		ev, _ := rc.event(t, sandbox.DefaultAppSecret)
		got = append(got, ev.Status)
	}
	if strings.Join(got, ",") != "read,sent,delivered" {
		t.Fatalf("statuses = %v", got)
	}
	if m := e.sb.Messages(); m[0].Status != "read" {
		t.Fatalf("kept status %q", m[0].Status)
	}
}

// TestWindow: free text only within 24 hours of the guest's last message to that number;
// templates any time.
func TestWindow(t *testing.T) {
	e := start(t, sandbox.Config{})
	want(t, e.sendText(reception, guest), 400, 131047)
	want(t, e.sendTemplate(reception, guest), 200, 0)

	e.clock.Advance(time.Hour)
	e.inbound(reception, "+"+guest)
	want(t, e.sendText(reception, guest), 200, 0)
	// The window is the number's: the other number has none with this guest.
	want(t, e.sendText(sales, guest), 400, 131047)

	e.clock.Advance(Window - time.Second - sandbox.RecipientGap)
	e.clock.Advance(sandbox.RecipientGap)
	want(t, e.sendText(reception, guest), 200, 0) // 23:59:59 after the guest wrote
	e.clock.Advance(sandbox.RecipientGap)
	want(t, e.sendText(reception, guest), 400, 131047) // past 24 h
	want(t, e.sendTemplate(reception, guest), 200, 0)

	e.inbound(reception, guest) // the guest writes again: the window reopens
	e.clock.Advance(sandbox.RecipientGap)
	want(t, e.sendText(reception, guest), 200, 0)

	refused := 0
	for _, r := range e.sb.Refusals() {
		if r.Code == 131047 {
			refused++
		}
	}
	if refused != 3 || len(e.sb.Messages()) != 5 {
		t.Fatalf("%d refusals for the window, %d messages", refused, len(e.sb.Messages()))
	}
}

// Window is the sandbox's, so the test reads as the rule.
const Window = sandbox.Window

// TestRecipientRate: a second message to one recipient from one number within 6 s is refused
// with 131056; other recipients and other numbers are not affected.
func TestRecipientRate(t *testing.T) {
	e := start(t, sandbox.Config{})
	want(t, e.sendTemplate(reception, guest), 200, 0)
	e.clock.Advance(sandbox.RecipientGap - time.Millisecond)
	want(t, e.sendTemplate(reception, guest), 400, 131056)
	want(t, e.sendTemplate(reception, "79123456780"), 200, 0) // another recipient
	want(t, e.sendTemplate(sales, guest), 200, 0)             // another number
	e.clock.Advance(time.Millisecond)
	want(t, e.sendTemplate(reception, guest), 200, 0) // 6 s after the first
	// A refused message does not count: 6 s after the accepted one is enough.
	e.clock.Advance(time.Second)
	want(t, e.sendTemplate(reception, guest), 400, 131056)
	e.clock.Advance(sandbox.RecipientGap - time.Second)
	want(t, e.sendTemplate(reception, guest), 200, 0)
}

// TestNumberRate: 80 messages a second per number; the 81st within the second is refused with
// 130429, the other number is not affected, and the next second has room again.
func TestNumberRate(t *testing.T) {
	e := start(t, sandbox.Config{})
	for i := range sandbox.NumberRate {
		want(t, e.sendTemplate(reception, fmt.Sprint(79000000000+i)), 200, 0)
	}
	want(t, e.sendTemplate(reception, "79123456700"), 400, 130429)
	want(t, e.sendTemplate(sales, "79123456700"), 200, 0)
	e.clock.Advance(999 * time.Millisecond)
	want(t, e.sendTemplate(reception, "79123456701"), 400, 130429)
	e.clock.Advance(time.Millisecond)
	want(t, e.sendTemplate(reception, "79123456701"), 200, 0)
}

// TestNoDedupe: the same message twice is two messages; nothing in a request makes the
// sandbox drop a repeat.
func TestNoDedupe(t *testing.T) {
	e := start(t, sandbox.Config{})
	body := template(guest, "booking_welcome", "en", welcome...)
	body["biz_opaque_callback_data"] = "dl-1"
	a := e.cloud("POST", "/"+reception+"/messages", body)
	e.clock.Advance(sandbox.RecipientGap)
	b := e.cloud("POST", "/"+reception+"/messages", body)
	want(t, a, 200, 0)
	want(t, b, 200, 0)
	if a.messageID() == b.messageID() || len(e.sb.Messages()) != 2 {
		t.Fatalf("ids %s %s, %d messages", a.messageID(), b.messageID(), len(e.sb.Messages()))
	}
}

// TestTemplatesChecked: only approved templates in their language, with the right number of
// parameters, and parameters the API takes.
func TestTemplatesChecked(t *testing.T) {
	e := start(t, sandbox.Config{})
	cases := []struct {
		name string
		body map[string]any
		code int
	}{
		{"approved, en", template("79000000001", "booking_welcome", "en", welcome...), 0},
		{"approved, ru", template("79000000002", "booking_welcome", "ru", "Анна", "Sandbox Hotels", "3 декабря"), 0},
		{"no such language", template("79000000003", "booking_welcome", "de", welcome...), 132001},
		{"rejected", template("79000000004", "promo_discount", "ru", "15"), 132001},
		{"no such template", template("79000000005", "nope", "en"), 132001},
		{"too few parameters", template("79000000006", "booking_welcome", "en", "Anna"), 132000},
		{"too many parameters", template("79000000007", "checkin_reminder", "en", "Anna", "extra"), 132000},
		{"a new line in a parameter", template("79000000008", "checkin_reminder", "en", "Anna\nP"), 100},
		{"one parameter", template("79000000009", "checkin_reminder", "en", "Anna"), 0},
	}
	for _, c := range cases {
		r := e.cloud("POST", "/"+reception+"/messages", c.body)
		if r.code() != c.code {
			t.Errorf("%s: code %d, want %d: %s", c.name, r.code(), c.code, r.raw)
		}
	}
}

// Test360Dialog: 360dialog's routes share the number's limits and window; its callbacks go to
// the URL set through its API, with its headers and unsigned.
func Test360Dialog(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, sandbox.Config{})
	want(t, e.call("POST", "/v1/configs/webhook", key360, map[string]any{"url": rc.url, "headers": map[string]string{"X-Bellhop-Secret": "s3"}}), 200, 0)
	if u, h := e.sb.Webhook360(); u != rc.url || h["X-Bellhop-Secret"] != "s3" {
		t.Fatalf("webhook = %q %v", u, h)
	}
	if r := e.call("POST", "/v1/configs/webhook", key360, map[string]any{"url": "/relative"}); r.status != 400 {
		t.Fatalf("a relative webhook URL: HTTP %d", r.status)
	}
	want(t, e.call("POST", "/messages", key360, text(guest, "Hi")), 400, 131047)
	e.inbound(reception, guest) // the 360dialog key's number
	in := rc.next(t)            // the guest's message reaches 360dialog's URL too
	if in.header.Get("X-Bellhop-Secret") != "s3" || in.header.Get(whatsapp.SignatureHeader) != "" {
		t.Fatalf("inbound headers %v", in.header)
	}
	r := e.call("POST", "/messages", key360, text(guest, "Hi"))
	want(t, r, 200, 0)
	// The number's pair rate holds across both APIs.
	want(t, e.sendTemplate(reception, guest), 400, 131056)
	for _, status := range []string{"sent", "delivered", "read"} {
		cb := rc.next(t)
		evs, err := whatsapp.ParseEvents(cb.body)
		if err != nil || len(evs) != 1 || evs[0].Status != status || evs[0].MessageID != r.messageID() {
			t.Fatalf("callback %s: %+v %v", cb.body, evs, err)
		}
		if cb.header.Get("X-Bellhop-Secret") != "s3" || cb.header.Get(whatsapp.SignatureHeader) != "" {
			t.Fatalf("360dialog callback headers %v", cb.header)
		}
	}
	if m := e.sb.Messages(); len(m) != 1 || m[0].Via != sandbox.ViaDialog360 || m[0].From != reception {
		t.Fatalf("kept %+v", m)
	}
	// Its templates: lower-case statuses, offset paging.
	r = e.call("GET", "/v1/configs/templates?limit=1&offset=1", key360, nil)
	list, _ := r.obj()["waba_templates"].([]any)
	if len(list) != 1 || r.obj()["total"] != 4.0 || list[0].(map[string]any)["status"] != "approved" {
		t.Fatalf("templates page = %s", r.raw)
	}
}

func TestAuthRoutesAndFaults(t *testing.T) {
	e := start(t, sandbox.Config{})
	numbers := "/v26.0/" + sandbox.DefaultWABAID + "/phone_numbers"
	for _, c := range []struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
		code   int
	}{
		{"no token", "GET", numbers, nil, 401, 190},
		{"token without Bearer", "GET", numbers, map[string]string{"Authorization": sandbox.DefaultToken}, 401, 190},
		{"bearer in lower case", "GET", numbers, map[string]string{"Authorization": "bearer " + sandbox.DefaultToken}, 200, 0},
		{"the 360dialog key on the Cloud API", "GET", numbers, key360, 401, 190},
		{"another WABA", "GET", "/v26.0/1/phone_numbers", bearer, 400, 100},
		{"another number", "POST", "/v26.0/1/messages", bearer, 400, 100},
		{"not a version", "GET", "/latest/" + sandbox.DefaultWABAID + "/phone_numbers", bearer, 400, 2500},
		{"unknown path", "GET", "/v26.0/nothing", bearer, 400, 2500},
		{"bad cursor", "GET", numbers + "?after=!!", bearer, 400, 100},
	} {
		r := e.call(c.method, c.path, c.header, map[string]any{})
		if r.status != c.status || r.code() != c.code {
			t.Errorf("%s: HTTP %d code %d, want %d %d: %s", c.name, r.status, r.code(), c.status, c.code, r.raw)
		}
	}

	e.sb.SetRestricted(reception, 368)
	want(t, e.sendTemplate(reception, guest), 403, 368)
	want(t, e.sendTemplate(sales, guest), 200, 0)
	e.sb.SetRestricted(reception, 0)
	want(t, e.sendTemplate(reception, guest), 200, 0)

	e.sb.SetOutage(503)
	want(t, e.sendTemplate(reception, "79123456780"), 503, 2)
	want(t, e.call("GET", "/v1/configs/templates", key360, nil), 503, 2)
	e.sb.SetOutage(0)
	if n := len(e.sb.Messages()); n != 2 {
		t.Fatalf("%d messages kept", n)
	}
	if rs := e.sb.Refusals(); len(rs) != 1 || rs[0].Code != 368 || rs[0].From != reception {
		t.Fatalf("refusals = %+v", rs)
	}
}

// TestControlOverHTTP: the hooks under /sandbox/ for other processes.
func TestControlOverHTTP(t *testing.T) {
	e := start(t, sandbox.Config{})
	post := func(path string, body any) int {
		b, _ := json.Marshal(body)
		resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("/sandbox/inbound", map[string]string{"from": "+" + guest, "text": "Hi", "name": "Anna"}); s != 200 {
		t.Fatalf("inbound: %d", s)
	}
	if s := post("/sandbox/inbound", map[string]string{"from": "12", "text": "Hi"}); s != 400 {
		t.Fatalf("inbound from a bad phone: %d", s)
	}
	want(t, e.sendText(reception, guest), 200, 0)
	var kept []sandbox.Message
	resp, err := http.Get(e.url + "/sandbox/messages")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&kept)
	resp.Body.Close()
	if len(kept) != 1 || kept[0].To != guest || kept[0].Type != "text" {
		t.Fatalf("messages = %+v", kept)
	}
	if s := post("/sandbox/outage", map[string]int{"status": 502}); s != 200 {
		t.Fatalf("outage: %d", s)
	}
	want(t, e.sendTemplate(reception, "79123456780"), 502, 2)
	if s := post("/sandbox/outage", map[string]int{"status": 200}); s != 400 {
		t.Fatalf("an outage of 200: %d", s)
	}
	if s := post("/sandbox/outage", map[string]int{"status": 0}); s != 200 {
		t.Fatalf("end of the outage: %d", s)
	}
	if s := post("/sandbox/undeliverable", map[string]string{"phone": "12"}); s != 400 {
		t.Fatalf("undeliverable with a bad phone: %d", s)
	}
	if s := post("/sandbox/undeliverable", map[string]string{"phone": "+7 912 345-67-81"}); s != 200 {
		t.Fatalf("undeliverable: %d", s)
	}
	e.clock.Advance(sandbox.RecipientGap)
	want(t, e.sendTemplate(reception, "79123456781"), 200, 0) // accepted, then reported failed
	if kept := e.sb.Messages(); kept[len(kept)-1].Status != "failed" {
		t.Fatalf("a message to an undeliverable phone ends %q", kept[len(kept)-1].Status)
	}
	if s := post("/sandbox/reset", nil); s != 200 {
		t.Fatalf("reset: %d", s)
	}
	if len(e.sb.Messages()) != 0 {
		t.Fatal("reset kept messages")
	}
	e.clock.Advance(sandbox.RecipientGap)
	want(t, e.sendText(reception, guest), 400, 131047) // the window went with the reset
}

func TestInboundRefusesNonsense(t *testing.T) {
	e := start(t, sandbox.Config{})
	for _, c := range []struct{ number, from, text string }{
		{reception, "123", "Hi"}, {reception, guest, " "}, {"1", guest, "Hi"},
	} {
		if _, err := e.sb.Inbound(c.number, c.from, "", c.text); err == nil {
			t.Errorf("Inbound(%q, %q, %q) accepted", c.number, c.from, c.text)
		}
	}
}

func TestCloseIsSafe(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, sandbox.Config{WebhookURL: rc.url})
	e.inbound(reception, guest)
	e.sb.Close()
	e.sb.Close()
	want(t, e.sendText(reception, guest), 200, 0) // the API keeps answering
}
