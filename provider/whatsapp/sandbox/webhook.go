package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// statusStep is one status callback of a message.
type statusStep struct {
	status   string        // sent, delivered, read, failed
	after    time.Duration // the status's time, after the send
	code     int           // failed: the error code
	category string        // the conversation's and pricing's category
}

// job is one callback to make: a status of a message, or a prepared body (a guest's message).
type job struct {
	via       string
	messageID string
	step      statusStep
	number    string // a prepared body's number
	body      []byte // a prepared body
}

// target is where a callback goes and how.
type target struct {
	url     string
	headers map[string]string
	sign    bool // X-Hub-Signature-256 with the app secret (Cloud API)
}

// dispatcher delivers callbacks off the request path, one at a time, in the order they were
// queued (so an out-of-order series arrives in exactly that order). Its queue is bounded: when
// it is full the callback is dropped and logged rather than blocking a send.
type dispatcher struct {
	s      *Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.RWMutex
	closed bool
	queue  chan job
}

const hookQueue = 4096

func newDispatcher(s *Server) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{s: s, client: &http.Client{Timeout: WebhookTimeout}, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), queue: make(chan job, hookQueue)}
	go d.work()
	return d
}

func (d *dispatcher) enqueue(j job) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return
	}
	select {
	case d.queue <- j:
	default:
		d.s.log.Warn("sandbox: callback queue full, callback dropped", "message_id", j.messageID)
	}
}

func (d *dispatcher) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		d.cancel()
		close(d.queue)
	}
	d.mu.Unlock()
	<-d.done
}

func (d *dispatcher) work() {
	defer close(d.done)
	for j := range d.queue {
		if d.ctx.Err() != nil {
			continue
		}
		targets, body := d.s.apply(j)
		for _, t := range targets {
			d.post(t, body)
		}
	}
}

// apply records a status on its message and returns the callback's body and targets.
func (s *Server) apply(j job) ([]target, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []target
	if j.body != nil { // a guest's message: every callback URL that serves its number
		if s.cloudHook != "" {
			targets = append(targets, target{url: s.cloudHook, sign: true})
		}
		if s.hook360.URL != "" && j.number == DefaultNumbers()[0].ID {
			targets = append(targets, target{url: s.hook360.URL, headers: s.hook360.Headers})
		}
		return targets, j.body
	}
	m := s.byID[j.messageID]
	if m == nil {
		return nil, nil // reset since
	}
	n, _ := s.number(m.From)
	if statusRank(j.step.status) > statusRank(m.Status) {
		m.Status = j.step.status
	}
	switch j.via {
	case ViaCloud:
		if s.cloudHook != "" {
			targets = append(targets, target{url: s.cloudHook, sign: true})
		}
	case ViaDialog360:
		if s.hook360.URL != "" {
			targets = append(targets, target{url: s.hook360.URL, headers: s.hook360.Headers})
		}
	}
	return targets, s.statusBody(m, n, j.step)
}

// statusBody is a status callback as Meta sends it (testdata/webhook_status*.json).
func (s *Server) statusBody(m *Message, n Number, st statusStep) []byte {
	status := map[string]any{"id": m.ID, "status": st.status, "timestamp": unix(m.At.Add(st.after)), "recipient_id": m.To}
	if m.CallbackData != "" {
		status["biz_opaque_callback_data"] = m.CallbackData
	}
	switch st.status {
	case "sent", "delivered":
		conv := sha1.Sum([]byte(key(m.From, m.To)))
		status["conversation"] = map[string]any{"id": hex.EncodeToString(conv[:16]), "origin": map[string]string{"type": st.category}}
		status["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": st.category}
	case "failed":
		e := errorOf(st.code, "")
		title := e.message // "(#131026) Message undeliverable" → "Message undeliverable"
		if _, after, found := strings.Cut(title, ") "); found {
			title = after
		}
		status["errors"] = []map[string]any{{"code": st.code, "title": title, "message": title, "error_data": map[string]string{"details": e.details}}}
	}
	return s.envelope(n, "statuses", status, nil)
}

// envelope wraps one status or message in Meta's callback envelope.
func (s *Server) envelope(n Number, member string, item map[string]any, contacts []map[string]any) []byte {
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": bellhop.PhoneDigits(n.DisplayPhone), "phone_number_id": n.ID},
		member:              []map[string]any{item},
	}
	if contacts != nil {
		value["contacts"] = contacts
	}
	b, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []map[string]any{{"id": s.cfg.WABAID, "changes": []map[string]any{{"value": value, "field": "messages"}}}},
	})
	return b
}

// sign is the X-Hub-Signature-256 value of body under the app secret.
func (s *Server) sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(s.cfg.AppSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// logURL hides a callback URL's query and user, which often carry a secret.
func logURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func (d *dispatcher) post(t target, body []byte) {
	ctx, cancel := context.WithTimeout(d.ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		d.s.log.Warn("sandbox: callback", "url", logURL(t.url), "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bellhop-whatsapp-sandbox")
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	if t.sign {
		req.Header.Set("X-Hub-Signature-256", d.s.sign(body))
	}
	resp, err := d.client.Do(req)
	if ue, isURL := err.(*url.Error); isURL {
		err = ue.Err // without the URL and its secret
	}
	if err != nil {
		d.s.log.Warn("sandbox: callback delivery failed", "url", logURL(t.url), "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		d.s.log.Warn("sandbox: callback answered an error", "url", logURL(t.url), "status", resp.StatusCode)
	}
}
