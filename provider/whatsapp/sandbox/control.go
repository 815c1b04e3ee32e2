package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/bellhop/bellhop"
)

// Messages returns the messages the sandbox accepted, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		c := *m
		c.Params = slices.Clone(m.Params)
		out = append(out, c)
	}
	return out
}

// Refusals returns the sends the sandbox refused, oldest first.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refusals)
}

// Inbound records a guest's text message to a number, as if the guest wrote from phone: it
// opens the number's 24-hour window for that guest and is pushed as a messages callback to
// the Cloud API callback URL (signed) and, for the 360dialog key's number, to 360dialog's.
func (s *Server) Inbound(numberID, phone, name, text string) (InboundMessage, error) {
	from := bellhop.PhoneDigits(phone)
	switch {
	case len(from) < 7 || len(from) > 15:
		return InboundMessage{}, fmt.Errorf("sandbox: inbound: %q is not a phone number", phone)
	case strings.TrimSpace(text) == "":
		return InboundMessage{}, errors.New("sandbox: inbound: empty text")
	}
	now := s.clock.Now()
	s.mu.Lock()
	n, ok := s.number(numberID)
	if !ok {
		s.mu.Unlock()
		return InboundMessage{}, fmt.Errorf("sandbox: inbound: the account has no number %q", numberID)
	}
	in := InboundMessage{ID: wamid(from), To: n.ID, From: from, Name: name, Text: text, At: now}
	s.lastInbound[key(n.ID, from)] = now
	msg := map[string]any{"from": from, "id": in.ID, "timestamp": unix(now), "text": map[string]string{"body": text}, "type": "text"}
	body := s.envelope(n, "messages", msg, []map[string]any{{"profile": map[string]string{"name": name}, "wa_id": from}})
	s.mu.Unlock()
	s.hooks.enqueue(job{number: n.ID, body: body})
	return in, nil
}

// SetOutage makes every API request answer this HTTP status (e.g. 503) with Graph's error
// envelope (code 2; code 4 for 429); 0 ends the outage.
func (s *Server) SetOutage(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = status
}

// SetRestricted restricts a number: its sends are refused with code (368, temporarily blocked
// for policy violations, or 131031, account locked); 0 lifts it.
func (s *Server) SetRestricted(numberID string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.restricted, numberID)
		return
	}
	s.restricted[numberID] = code
}

// SetUndeliverable makes a phone (any format) one WhatsApp cannot reach: sends to it are
// accepted, then reported failed with 131026 (as the real service reports it, by callback).
func (s *Server) SetUndeliverable(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.undeliverable[bellhop.PhoneDigits(phone)] = true
}

// SetOutOfOrder makes each accepted message's statuses arrive read, sent, delivered.
func (s *Server) SetOutOfOrder(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outOfOrder = on
}

// SetWebhookURL sets the Cloud API app's callback URL (in real life set in the Meta app);
// "" sends Cloud API callbacks nowhere.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cloudHook = u
}

// Webhook360 returns the callback URL and headers set through 360dialog's API.
func (s *Server) Webhook360() (url string, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := map[string]string{}
	for k, v := range s.hook360.Headers {
		h[k] = v
	}
	return s.hook360.URL, h
}

// AppSecret returns the app secret Cloud API callbacks are signed with.
func (s *Server) AppSecret() string { return s.cfg.AppSecret }

// Reset puts the account back as configured: no messages, refusals, windows, restrictions,
// undeliverable phones or outage; the callback URLs as in Config.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

// The same hooks over HTTP, for tests that run other processes. No authentication.

func (s *Server) ctlMessages(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Messages())
}

func (s *Server) ctlRefusals(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Refusals())
}

func ctlDecode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func ctlError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func (s *Server) ctlInbound(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NumberID string `json:"number_id"`
		From     string `json:"from"`
		Name     string `json:"name"`
		Text     string `json:"text"`
	}
	if err := ctlDecode(r, &req); err != nil {
		ctlError(w, `want {"number_id":"`+NumberReception+`","from":"+79161234567","name":"Anna","text":"Hello"}`)
		return
	}
	if req.NumberID == "" {
		req.NumberID = NumberReception
	}
	in, err := s.Inbound(req.NumberID, req.From, req.Name, req.Text)
	if err != nil {
		ctlError(w, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Server) ctlOutage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status int `json:"status"`
	}
	if err := ctlDecode(r, &req); err != nil || (req.Status != 0 && (req.Status < 400 || req.Status > 599)) {
		ctlError(w, `want {"status": 503} (a 4xx/5xx status, or 0 to end the outage)`)
		return
	}
	s.SetOutage(req.Status)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// ctlUndeliverable makes a phone undeliverable over HTTP (the demo's way to try fallback):
// messages to it are accepted, then reported failed with 131026.
func (s *Server) ctlUndeliverable(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Phone string `json:"phone"`
	}
	if err := ctlDecode(r, &req); err != nil || len(bellhop.PhoneDigits(req.Phone)) < 7 {
		ctlError(w, `want {"phone": "+79161234567"}`)
		return
	}
	s.SetUndeliverable(req.Phone)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) ctlReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
