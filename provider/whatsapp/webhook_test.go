package whatsapp_test

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/whatsapp"
)

func TestVerifyChallenge(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		v := url.Values{}
		for k, s := range map[string]string{"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge} {
			if s != "" {
				v.Set(k, s)
			}
		}
		return v
	}
	cases := []struct {
		name   string
		query  url.Values
		token  string
		want   string
		errIs  error
		parsed string // a raw query, parsed as Meta's GET would arrive, instead of query
	}{
		{name: "subscribe", query: q("subscribe", "vt-123", "1158201444"), token: "vt-123", want: "1158201444"},
		{name: "as a raw query", parsed: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vt%2B123", token: "vt+123", want: "1158201444"},
		{name: "wrong token", query: q("subscribe", "vt-124", "1158201444"), token: "vt-123", errIs: whatsapp.ErrVerifyToken},
		{name: "token prefix", query: q("subscribe", "vt-12", "1158201444"), token: "vt-123", errIs: whatsapp.ErrVerifyToken},
		{name: "no token sent", query: q("subscribe", "", "1158201444"), token: "vt-123", errIs: whatsapp.ErrVerifyToken},
		{name: "nothing configured", query: q("subscribe", "", "1158201444"), token: "", errIs: whatsapp.ErrNoSecret},
		{name: "other mode", query: q("unsubscribe", "vt-123", "1158201444"), token: "vt-123", errIs: whatsapp.ErrNotSubscribe},
		{name: "no mode", query: q("", "vt-123", "1158201444"), token: "vt-123", errIs: whatsapp.ErrNotSubscribe},
		{name: "no challenge", query: q("subscribe", "vt-123", ""), token: "vt-123", errIs: whatsapp.ErrChallenge},
		{name: "markup in the challenge", query: q("subscribe", "vt-123", "<script>alert(1)</script>"), token: "vt-123", errIs: whatsapp.ErrChallenge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			query := c.query
			if c.parsed != "" {
				var err error
				if query, err = url.ParseQuery(c.parsed); err != nil {
					t.Fatal(err)
				}
			}
			got, err := whatsapp.VerifyChallenge(query, c.token)
			if c.errIs != nil {
				if !errors.Is(err, c.errIs) || got != "" {
					t.Fatalf("got %q, %v; want %v", got, err, c.errIs)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestVerifySignature(t *testing.T) {
	const secret = "test-app-secret"
	body := fixture(t, "webhook_status.json")
	// Computed apart from this package (Python's hmac over the fixture file's bytes), so that
	// Sign and VerifySignature cannot agree on a wrong answer.
	const known = "sha256=14f46fb570c9d02eff15e9dc5fe78464880d458450bffa8646f49b424e2f637e"
	if got := whatsapp.Sign(body, secret); got != known {
		t.Fatalf("Sign = %s, want %s", got, known)
	}
	tampered := bytes.Replace(body, []byte(`"delivered"`), []byte(`"read"`), 1)
	oneByte := append([]byte(nil), body...)
	oneByte[len(oneByte)/2] ^= 1
	cases := []struct {
		name   string
		body   []byte
		header string
		secret string
		want   error
	}{
		{"valid", body, known, secret, nil},
		{"valid, upper-case prefix and hex", body, "SHA256=" + strings.ToUpper(strings.TrimPrefix(known, "sha256=")), secret, nil},
		{"valid, spaces around", body, "  " + known + " ", secret, nil},
		{"another body (independent vector)", []byte(`{"object":"whatsapp_business_account","entry":[]}`),
			"sha256=c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc", secret, nil},
		{"wrong secret", body, known, "another-secret", whatsapp.ErrSignature},
		{"tampered body", tampered, known, secret, whatsapp.ErrSignature},
		{"one bit flipped", oneByte, known, secret, whatsapp.ErrSignature},
		{"body with a trailing new line", append(append([]byte(nil), body...), '\n'), known, secret, whatsapp.ErrSignature},
		{"signature of another body", body, whatsapp.Sign([]byte("{}"), secret), secret, whatsapp.ErrSignature},
		{"no header", body, "", secret, whatsapp.ErrNoSignature},
		{"no prefix", body, strings.TrimPrefix(known, "sha256="), secret, whatsapp.ErrSignature},
		{"sha1 prefix", body, "sha1=" + strings.TrimPrefix(known, "sha256="), secret, whatsapp.ErrSignature},
		{"short", body, known[:len(known)-2], secret, whatsapp.ErrSignature},
		{"not hex", body, "sha256=" + strings.Repeat("zz", 32), secret, whatsapp.ErrSignature},
		{"no secret configured", body, whatsapp.Sign(body, ""), "", whatsapp.ErrNoSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := whatsapp.VerifySignature(c.body, c.header, c.secret)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseEvents(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	base := whatsapp.Event{WABAID: "102290129340398", PhoneNumberID: "106540352242922"}
	with := func(f func(e *whatsapp.Event)) whatsapp.Event {
		e := base
		f(&e)
		return e
	}
	cases := []struct {
		fixture string
		want    whatsapp.Event
	}{
		{"webhook_status.json", with(func(e *whatsapp.Event) {
			e.Type, e.Status, e.At = whatsapp.EventStatus, "delivered", at(1795255201)
			e.MessageID = "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBI3QjA1RTFDNkE2QUE5QjM4NjQA"
			e.Recipient, e.CallbackData = "79123456789", "dl_8f1e2a3b4c5d6e7f"
		})},
		{"webhook_status_read.json", with(func(e *whatsapp.Event) {
			e.Type, e.Status, e.At = whatsapp.EventStatus, "read", at(1795255205)
			e.MessageID = "wamid.HBgLNzkxMjM0NTY3ODkVAgARGBI3QjA1RTFDNkE2QUE5QjM4NjQA"
			e.Recipient, e.CallbackData = "79123456789", "dl_8f1e2a3b4c5d6e7f"
		})},
		{"webhook_status_failed.json", with(func(e *whatsapp.Event) {
			e.Type, e.Status, e.At = whatsapp.EventStatus, "failed", at(1795255200)
			e.MessageID = "wamid.HBgLNzkxMjM0NTY3ODAVAgARGBJBMTBCOUQ0RTJGNzY1QzNEOEEA"
			e.Recipient = "79123456780"
			e.ErrorCode, e.ErrorTitle, e.ErrorDetails = 131026, "Message undeliverable", "Message Undeliverable."
		})},
		{"webhook_inbound.json", with(func(e *whatsapp.Event) {
			e.Type, e.At = whatsapp.EventMessage, at(1795255200)
			e.MessageID = "wamid.HBgLNzkxMjM0NTY3ODkVAgASGBQzQUI0RDE2QjE4QzU2NkY3QTlFMAA="
			e.From, e.Name, e.MessageType, e.Text = "79123456789", "Анна Петрова", "text", "Hello! Is early check-in possible?"
		})},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			got, err := whatsapp.ParseEvents(fixture(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != c.want {
				t.Fatalf("events = %+v\nwant %+v", got, c.want)
			}
		})
	}

	failed, _ := whatsapp.ParseEvents(fixture(t, "webhook_status_failed.json"))
	if cls, ok := failed[0].Class(); !ok || cls.Action != whatsapp.ActionFallThrough || !failed[0].FallThrough() {
		t.Fatalf("a 131026 failure does not fall through: %+v", cls)
	}
	if se := failed[0].StatusEvent(); se.Event != "new_status" || se.Status != "failed" || se.Phone != "79123456780" || !strings.HasPrefix(se.Error, "131026") {
		t.Fatalf("status event = %+v", se)
	}
	delivered, _ := whatsapp.ParseEvents(fixture(t, "webhook_status.json"))
	if delivered[0].FallThrough() {
		t.Fatal("a delivery falls through")
	}
	if se := delivered[0].StatusEvent(); se.Mark != "dl_8f1e2a3b4c5d6e7f" || !se.DeliveredAt.Equal(at(1795255201)) || se.Error != "" {
		t.Fatalf("status event = %+v", se)
	}
}

func TestParseEventsEdges(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct {
		name    string
		body    string
		want    int // events; -1: an error
		check   func(t *testing.T, evs []whatsapp.Event)
		errPart string
	}{
		{name: "not JSON", body: `<html>`, want: -1, errPart: "undecodable"},
		{name: "cut off", body: string(fixture(t, "webhook_status.json")[:80]), want: -1, errPart: "undecodable"},
		{name: "another object", body: `{"object":"page","entry":[]}`, want: -1, errPart: "page"},
		{name: "no entry list", body: `{"object":"whatsapp_business_account"}`, want: -1, errPart: "no entry"},
		{name: "no events", body: `{"object":"whatsapp_business_account","entry":[]}`, want: 0},
		{name: "a template status update is skipped", want: 0,
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":5}}]}]}`},
		{name: "several statuses and changes, in order", want: 3,
			body: `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"7"},"statuses":[
				{"id":"a","status":"READ","timestamp":"3","recipient_id":"+7 912"},{"id":"b","status":"sent","timestamp":2}]}},
				{"field":"messages","value":{"statuses":[{"id":"c","status":"delivered","timestamp":"x"}]}}]}]}`,
			check: func(t *testing.T, evs []whatsapp.Event) {
				if evs[0].Status != "read" || evs[0].Recipient != "7912" || evs[0].PhoneNumberID != "7" ||
					!evs[1].At.Equal(time.Unix(2, 0).UTC()) || evs[1].MessageID != "b" || !evs[2].At.IsZero() {
					t.Fatalf("events = %+v", evs)
				}
			}},
		{name: "ids no store can hold are dropped", want: 1,
			body: `{"entry":[{"changes":[{"value":{"statuses":[{"id":"` + long + `","status":"sent"},{"id":"a\u0000b","status":"sent"},{"id":"","status":"sent"},{"id":"ok","status":"sent"}]}}]}]}`},
		{name: "NUL in a guest's text", want: 1,
			body: `{"entry":[{"changes":[{"value":{"messages":[{"from":"79123456789","id":"m1","timestamp":"1","type":"text","text":{"body":"a\u0000b"}}]}}]}]}`,
			check: func(t *testing.T, evs []whatsapp.Event) {
				if evs[0].Text != "ab" {
					t.Fatalf("text = %q", evs[0].Text)
				}
			}},
		{name: "button and interactive replies", want: 2,
			body: `{"entry":[{"changes":[{"value":{"messages":[
				{"from":"1234567","id":"m1","timestamp":"1","type":"button","button":{"text":"Early check-in","payload":"p"}},
				{"from":"1234567","id":"m2","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"x","title":"Late checkout"}}}]}}]}]}`,
			check: func(t *testing.T, evs []whatsapp.Event) {
				if evs[0].Text != "Early check-in" || evs[1].Text != "Late checkout" {
					t.Fatalf("events = %+v", evs)
				}
			}},
		{name: "an image has no text", want: 1,
			body: `{"entry":[{"changes":[{"value":{"messages":[{"from":"1234567","id":"m1","timestamp":"1","type":"image","image":{"id":"i"}}]}}]}]}`,
			check: func(t *testing.T, evs []whatsapp.Event) {
				if evs[0].MessageType != "image" || evs[0].Text != "" {
					t.Fatalf("events = %+v", evs)
				}
			}},
		{name: "an account error", want: 1,
			body: `{"entry":[{"changes":[{"value":{"errors":[{"code":131031,"title":"Business Account locked"}]}}]}]}`,
			check: func(t *testing.T, evs []whatsapp.Event) {
				if evs[0].Type != whatsapp.EventError || evs[0].ErrorCode != 131031 {
					t.Fatalf("events = %+v", evs)
				}
				if c, ok := evs[0].Class(); !ok || c.Kind != provider.FailSenderBlocked {
					t.Fatalf("class = %+v", c)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := whatsapp.ParseEvents([]byte(c.body))
			if c.want < 0 {
				if err == nil || !strings.Contains(err.Error(), c.errPart) {
					t.Fatalf("err = %v, want one about %q", err, c.errPart)
				}
				return
			}
			if err != nil || len(evs) != c.want {
				t.Fatalf("%d events, err %v; want %d", len(evs), err, c.want)
			}
			if c.check != nil {
				c.check(t, evs)
			}
		})
	}
}

// TestAdvances: statuses come out of order; only forward moves apply.
func TestAdvances(t *testing.T) {
	cases := []struct {
		current, next string
		want          bool
	}{
		{"", "sent", true}, {"", "read", true}, {"sent", "delivered", true}, {"delivered", "read", true},
		{"read", "delivered", false}, {"read", "sent", false}, {"delivered", "sent", false}, {"sent", "sent", false},
		{"sent", "failed", true}, {"failed", "delivered", true}, {"delivered", "failed", false}, {"read", "failed", false},
		{"sent", "deleted", false}, {"", "", false}, {"something", "sent", true},
	}
	for _, c := range cases {
		if got := whatsapp.Advances(c.current, c.next); got != c.want {
			t.Errorf("Advances(%q, %q) = %v, want %v", c.current, c.next, got, c.want)
		}
	}

	// Applying an out-of-order series with Advances ends at the furthest status.
	cur := ""
	for _, s := range []string{"read", "sent", "delivered"} {
		if whatsapp.Advances(cur, s) {
			cur = s
		}
	}
	if cur != "read" {
		t.Fatalf("ended at %q", cur)
	}
}
