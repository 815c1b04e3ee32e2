package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
)

type env struct {
	t     *testing.T
	sb    *sandbox.Server
	url   string
	clock *bellhop.SimulatedClock
}

func start(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{t: t, clock: bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))}
	cfg.Clock = e.clock
	e.sb = sandbox.New(cfg)
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	t.Cleanup(e.sb.Close)
	e.url = srv.URL
	return e
}

// call makes a request and decodes the JSON answer into a generic value.
func (e *env) call(method, path, auth string, body any) (int, http.Header, map[string]any) {
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
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &v); err != nil {
			e.t.Fatalf("%s %s: undecodable answer %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, v
}

// answer returns the envelope's status, error and data.
func answer(v map[string]any) (string, string, any) {
	r, _ := v["response"].(map[string]any)
	st, _ := r["status"].(string)
	er, _ := r["error"].(string)
	return st, er, r["data"]
}

func (e *env) send(key, sender, phone, mark string) (int, string, map[string]any) {
	e.t.Helper()
	status, _, v := e.call("POST", "/v2/messages", key, map[string]any{"phone": phone, "provider_id": sender, "text": "hello", "mark": mark})
	_, reason, data := answer(v)
	d, _ := data.(map[string]any)
	return status, reason, d
}

func TestAuthAndEnvelope(t *testing.T) {
	e := start(t, sandbox.Config{APIKey: "k1", OrgName: "Grand"})
	cases := []struct {
		auth       string
		wantStatus int
	}{
		{"k1", 200},
		{"Bearer k1", 200},
		{"bearer k1", 200},
		{"", 401},
		{"sandbox-key", 401},
		{"Bearer k2", 401},
	}
	for _, c := range cases {
		status, _, v := e.call("GET", "/v2/companies", c.auth, nil)
		st, reason, data := answer(v)
		if status != c.wantStatus {
			t.Fatalf("auth %q: HTTP %d, want %d", c.auth, status, c.wantStatus)
		}
		if status == 200 {
			org, _ := data.(map[string]any)
			if st != "success" || org["id"] != "1" || org["name"] != "Grand" {
				t.Fatalf("auth %q: answer %v", c.auth, v)
			}
		} else if st != "error" || reason != "invalid API key" {
			t.Fatalf("auth %q: answer %v", c.auth, v)
		}
	}
	if status, _, v := e.call("GET", "/v2/nothing", "k1", nil); status != 404 {
		t.Fatalf("unknown endpoint: %d %v", status, v)
	}
}

func TestProtocolShapes(t *testing.T) {
	e := start(t, sandbox.Config{})
	const key = sandbox.DefaultAPIKey
	_, _, v := e.call("GET", "/v2/providers", key, nil)
	_, _, data := answer(v)
	list, _ := data.([]any)
	if len(list) != 2 {
		t.Fatalf("providers = %v", v)
	}
	first, _ := list[0].(map[string]any)
	for k, want := range map[string]string{"id": "1", "name": "Reception", "type": "whatsapp", "phone": "+79990000001", "status": "active"} {
		if first[k] != want {
			t.Fatalf("provider field %s = %v, want %q", k, first[k], want)
		}
	}

	status, _, v := e.call("POST", "/v2/employees/3/code", key, nil)
	_, _, data = answer(v)
	code, _ := data.(map[string]any)
	exp, err := time.Parse(time.RFC3339, code["expires_at"].(string))
	if status != 200 || err != nil || !exp.Equal(e.clock.Now().Add(10*time.Minute)) ||
		code["url"] != e.url+"/login/"+code["code"].(string) {
		t.Fatalf("code = %v", v)
	}

	// provider_id may be a number, as real clients send it.
	status, _, v = e.call("POST", "/v2/messages", key, map[string]any{"phone": "+79161234567", "provider_id": 2, "text": "hi", "mark": "x"})
	if st, _, _ := answer(v); status != 200 || st != "success" {
		t.Fatalf("numeric provider_id: %d %v", status, v)
	}
	_, _, v = e.call("GET", "/v2/messages?provider_id=2", key, nil)
	_, _, data = answer(v)
	msgs, _ := data.([]any)
	if len(msgs) != 1 {
		t.Fatalf("messages = %v", v)
	}
	m := msgs[0].(map[string]any)
	for _, k := range []string{"message_id", "chat_id", "phone", "provider_id", "text", "mark", "status", "created_at"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("message lacks %s: %v", k, m)
		}
	}
}

func TestPublicURL(t *testing.T) {
	e := start(t, sandbox.Config{PublicURL: "https://sandbox.example/"})
	_, _, v := e.call("POST", "/v2/employees/1/code", sandbox.DefaultAPIKey, nil)
	_, _, data := answer(v)
	code := data.(map[string]any)
	if code["url"] != "https://sandbox.example/login/"+code["code"].(string) {
		t.Fatalf("url = %v", code["url"])
	}
}

func TestOperatorsSeeOnlyTheirDialogs(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.AddOrganization(sandbox.Organization{ID: "2", Name: "Other", APIKey: "other",
		Senders:   []bellhop.Sender{{ID: "1", Type: "whatsapp", Name: "X", Phone: "+79990000009"}},
		Operators: []bellhop.Operator{{ID: "1", Name: "<b>Other Op</b>"}}})

	// A message sent through a sender shows in operator 1's dialogs.
	if status, reason, _ := e.send(sandbox.DefaultAPIKey, "1", "+79160000042", "m"); status != 200 {
		t.Fatalf("send: %d %s", status, reason)
	}
	page := func(key, op string) string {
		_, _, v := e.call("POST", "/v2/employees/"+op+"/code", key, nil)
		_, _, data := answer(v)
		resp, err := http.Get(data.(map[string]any)["url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	p1 := page(sandbox.DefaultAPIKey, "1")
	if !strings.Contains(p1, "Signed in as Irina Orlova (operator 1)") || !strings.Contains(p1, `data-phone="+79160000042"`) {
		t.Fatalf("operator 1's page:\n%s", p1)
	}
	p2 := page(sandbox.DefaultAPIKey, "2")
	if strings.Contains(p2, "+79160000042") || !strings.Contains(p2, `data-operator-id="2"`) {
		t.Fatalf("operator 2 sees operator 1's chat:\n%s", p2)
	}
	other := page("other", "1")
	if strings.Contains(other, "+79160000042") || strings.Contains(other, "<b>") || !strings.Contains(other, "&lt;b&gt;Other Op") {
		t.Fatalf("the other organization's operator 1:\n%s", other)
	}

	// A removed operator's code stops working.
	_, _, v := e.call("POST", "/v2/employees/3/code", sandbox.DefaultAPIKey, nil)
	_, _, data := answer(v)
	e.sb.RemoveOperator("3")
	resp, err := http.Get(data.(map[string]any)["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("removed operator's page: %d", resp.StatusCode)
	}
}

// TestBanIsAtomic: many concurrent sends through one sender: exactly one gets through.
func TestBanIsAtomic(t *testing.T) {
	e := start(t, sandbox.Config{})
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := e.send(sandbox.DefaultAPIKey, "1", "+7916000"+strconv.Itoa(1000+i), "m"+strconv.Itoa(i))
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
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
	if status, reason, _ := e.send(sandbox.DefaultAPIKey, "1", "+79160001000", "after"); status != 200 {
		t.Fatalf("after unban and a full spacing: %d %s", status, reason)
	}
}

// TestBanWebhook: a refused send is reported as new_error to Config.WebhookURL.
func TestBanWebhook(t *testing.T) {
	events := make(chan sandbox.Event, 8)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev sandbox.Event
		_ = json.NewDecoder(r.Body).Decode(&ev)
		events <- ev
	}))
	defer recv.Close()
	e := start(t, sandbox.Config{WebhookURL: recv.URL})
	e.send(sandbox.DefaultAPIKey, "2", "+79161234567", "a")
	status, reason, _ := e.send(sandbox.DefaultAPIKey, "2", "+79161234567", "b")
	if status != 403 || !strings.Contains(reason, "sender 2 is banned") || !strings.Contains(reason, "minimum 300s") {
		t.Fatalf("second send: %d %q", status, reason)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Event != sandbox.EventNewError {
				continue
			}
			if ev.Data.Mark != "b" || ev.Data.Status != "failed" || !strings.Contains(ev.Data.Error, "banned") || ev.CompanyID != "1" {
				t.Fatalf("new_error event = %+v", ev)
			}
			return
		case <-deadline:
			t.Fatal("no new_error event within 5 s")
		}
	}
}

func TestInspectionOverHTTP(t *testing.T) {
	e := start(t, sandbox.Config{})
	const key = sandbox.DefaultAPIKey
	ctl := func(method, path string, body any) map[string]any {
		t.Helper()
		status, _, v := e.call(method, path, "", body)
		if status != 200 {
			t.Fatalf("%s %s: %d %v", method, path, status, v)
		}
		return v
	}

	// Spacing override, then two sends 1 s apart and a duplicate.
	ctl("POST", "/sandbox/senders/1/spacing", map[string]any{"spacing": "1s"})
	e.send(key, "1", "+79161234567", "a")
	e.clock.Advance(1500 * time.Millisecond)
	e.send(key, "1", "+79161234567", "b")
	e.send(key, "1", "+79161234567", "b")
	stats := ctl("GET", "/sandbox/stats", nil)
	senders := stats["senders"].([]any)
	s1 := senders[0].(map[string]any)
	if stats["messages"] != 2.0 || s1["accepted"] != 2.0 || s1["duplicates"] != 1.0 || s1["banned"] != false ||
		s1["min_gap_seconds"] != 1.5 || s1["spacing_seconds"] != 1.0 {
		t.Fatalf("stats = %v", stats)
	}
	resp, err := http.Get(e.url + "/sandbox/messages?mark=b")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []sandbox.Message
	_ = json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if len(msgs) != 1 || msgs[0].Mark != "b" || msgs[0].SenderID != "1" || msgs[0].OrgID != "1" {
		t.Fatalf("messages = %+v", msgs)
	}

	// Ban, then unban over HTTP.
	e.send(key, "1", "+79161234567", "c")
	if !e.sb.Banned("1") {
		t.Fatal("a send 0 s after the last should ban")
	}
	ctl("POST", "/sandbox/senders/1/unban", nil)
	if e.sb.Banned("1") {
		t.Fatal("unban over HTTP did nothing")
	}

	// Outage, rate limit.
	ctl("POST", "/sandbox/outage", map[string]any{"status": 503})
	if status, _, _ := e.call("GET", "/v2/companies", key, nil); status != 503 {
		t.Fatalf("during the outage: %d", status)
	}
	ctl("POST", "/sandbox/outage", map[string]any{"status": 0})
	ctl("POST", "/sandbox/rate-limit", map[string]any{"retry_after": 2.5})
	e.clock.Advance(time.Hour)
	status, hdr, _ := e.call("POST", "/v2/messages", key, map[string]any{"phone": "+79161234567", "provider_id": "2", "text": "x"})
	if status != 429 || hdr.Get("Retry-After") != "3" {
		t.Fatalf("rate limited: %d Retry-After %q", status, hdr.Get("Retry-After"))
	}

	// Webhooks registered through the API show in the inspection list.
	e.call("POST", "/v2/webhooks", key, map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"new_status"}})
	resp, err = http.Get(e.url + "/sandbox/webhooks?org=1")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&hooks)
	resp.Body.Close()
	if len(hooks) != 1 || hooks[0]["url"] != "http://127.0.0.1:1/hook" || len(e.sb.Webhooks("1")) != 1 {
		t.Fatalf("webhooks = %v", hooks)
	}

	// Removing a sender; reset brings everything back.
	ctl("DELETE", "/sandbox/senders/2", nil)
	if status, _, _ := e.send(key, "2", "+79161234567", "gone"); status != 404 {
		t.Fatalf("send through a removed sender: %d", status)
	}
	ctl("POST", "/sandbox/reset", nil)
	stats = ctl("GET", "/sandbox/stats", nil)
	if stats["messages"] != 0.0 || len(stats["senders"].([]any)) != 2 || len(e.sb.Webhooks("1")) != 0 {
		t.Fatalf("after reset: %v", stats)
	}

	// Bad control input is refused.
	if status, _, _ := e.call("POST", "/sandbox/latency", "", map[string]any{"latency": "soon"}); status != 400 {
		t.Fatalf("bad latency: %d", status)
	}
}

func TestLatencyHoldsTheAnswer(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.sb.SetLatency(300 * time.Millisecond)
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", e.url+"/v2/companies", nil)
	req.Header.Set("Authorization", sandbox.DefaultAPIKey)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("an answer came before the latency passed")
	}
	e.sb.SetLatency(0)
	if status, _, _ := e.call("GET", "/v2/companies", sandbox.DefaultAPIKey, nil); status != 200 {
		t.Fatalf("after latency 0: %d", status)
	}
}

func TestCloseIsSafe(t *testing.T) {
	e := start(t, sandbox.Config{WebhookURL: "http://127.0.0.1:1/"})
	e.sb.Close()
	e.sb.Close()
	// Sends still work after Close; they just call no webhooks.
	if status, reason, _ := e.send(sandbox.DefaultAPIKey, "1", "+79161234567", "x"); status != 200 {
		t.Fatalf("send after Close: %d %s", status, reason)
	}
}

// TestBanAtZeroTime: a fake clock that starts at the zero time still gets bans right.
func TestBanAtZeroTime(t *testing.T) {
	e := start(t, sandbox.Config{})
	e.clock.Set(time.Time{})
	e.send(sandbox.DefaultAPIKey, "1", "+79161234567", "a")
	if status, _, _ := e.send(sandbox.DefaultAPIKey, "1", "+79161234567", "b"); status != 403 || !e.sb.Banned("1") {
		t.Fatalf("second send at the same instant: %d, banned %v", status, e.sb.Banned("1"))
	}
}
