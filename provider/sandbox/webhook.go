package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// Webhook events.
const (
	EventNewMessage = "new_message"
	EventNewStatus  = "new_status"
	EventNewError   = "new_error"
)

var allEvents = []string{EventNewMessage, EventNewStatus, EventNewError}

// The callbacks' shapes are unconfirmed in the public record; these are the sandbox's choice,
// kept as fixtures in provider/intellectdialog/testdata/callbacks/sandbox_*.json so that the
// client's parser is tested against them.
//
// new_status (after each change: delivered, then read) and new_message (a guest's message)
// carry the message as GET messages/{id} shows it:
//
//	{"event":"new_status","data":{"id":"7","marker":"d-42","delivered_at":"2026-11-21 13:00:01",
//	 "viewed_at":"", … every key of a GET messages item …}}
//
// new_error (a refused send: banned sender, stop-listed phone) has the flat fields of the one
// public hint, message_id empty as the send made no message:
//
//	{"event":"new_error","message_id":"","phone":"79161234567","error_at":"2026-11-21 13:00:05",
//	 "detail":"provider 1 is blocked: …"}
type messagePayload struct {
	Event string      `json:"event"`
	Data  wireMessage `json:"data"`
}

type errorPayload struct {
	Event     string `json:"event"`
	MessageID string `json:"message_id"`
	Phone     string `json:"phone"` // digits
	ErrorAt   string `json:"error_at"`
	Detail    string `json:"detail"`
}

// job is one event to record and push.
type job struct {
	orgID, event string
	key          string // jobs with one key are pushed in order
	messageID    string // new_status and new_message: the message
	step         string // new_status: "delivered" or "read"
	body         []byte // new_error: the payload, made when the send was refused
}

// dispatcher records statuses and delivers events off the request path. Jobs with one key
// (one message) go to the same worker, so "delivered" always comes before "read". Queues are
// bounded: when one is full the job is dropped and logged rather than blocking a request.
type dispatcher struct {
	s      *Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
	shards []chan job
}

const (
	hookWorkers = 4
	hookQueue   = 256
)

func newDispatcher(s *Server) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{s: s, client: &http.Client{Timeout: WebhookTimeout}, ctx: ctx, cancel: cancel}
	for range hookWorkers {
		ch := make(chan job, hookQueue)
		d.shards = append(d.shards, ch)
		d.wg.Add(1)
		go d.work(ch)
	}
	return d
}

func (d *dispatcher) enqueue(j job) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(j.orgID + "\x00" + j.key))

	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return
	}
	select {
	case d.shards[h.Sum32()%uint32(len(d.shards))] <- j:
	default:
		d.s.log.Warn("sandbox: webhook queue full, event dropped", "event", j.event, "message_id", j.messageID)
	}
}

func (d *dispatcher) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		d.cancel()
		for _, ch := range d.shards {
			close(ch)
		}
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *dispatcher) work(ch <-chan job) {
	defer d.wg.Done()
	for j := range ch {
		if d.ctx.Err() != nil {
			continue
		}
		urls, body := d.s.apply(j)
		for _, u := range urls {
			d.post(u, j.event, body)
		}
	}
}

// apply records a job's status on its message and returns the payload and the URLs to call:
// the organization's webhook when it subscribes to the event, and Config.WebhookURL.
func (s *Server) apply(j job) ([]string, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.orgs[j.orgID]
	if g == nil {
		return nil, nil
	}
	body := j.body
	if j.event != EventNewError {
		m := g.byID[j.messageID]
		if m == nil {
			return nil, nil // the organization was reset
		}
		switch j.step {
		case "delivered":
			m.DeliveredAt, m.Status = m.CreatedAt.Add(DeliveredAfter), "delivered"
		case "read":
			if m.DeliveredAt.IsZero() {
				m.DeliveredAt = m.CreatedAt.Add(DeliveredAfter)
			}
			m.ViewedAt, m.Status = m.CreatedAt.Add(ViewedAfter), "read"
		}
		body, _ = json.Marshal(messagePayload{Event: j.event, Data: g.wireMessage(m)})
	}
	var urls []string
	if g.hook != nil && slices.Contains(g.hook.Events, j.event) {
		urls = append(urls, g.hook.URL)
	}
	if s.cfg.WebhookURL != "" {
		urls = append(urls, s.cfg.WebhookURL)
	}
	return urls, body
}

// logURL hides a webhook URL's query, which often carries a secret.
func logURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func (d *dispatcher) post(target, event string, body []byte) {
	ctx, cancel := context.WithTimeout(d.ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		d.s.log.Warn("sandbox: webhook", "url", logURL(target), "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bellhop-sandbox")
	resp, err := d.client.Do(req)
	if ue, isURL := err.(*url.Error); isURL {
		err = ue.Err // without the URL and its secret
	}
	if err != nil {
		d.s.log.Warn("sandbox: webhook delivery failed", "url", logURL(target), "event", event, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		d.s.log.Warn("sandbox: webhook answered an error", "url", logURL(target), "event", event, "status", resp.StatusCode)
		return
	}
	d.s.log.Debug("sandbox: webhook delivered", "url", logURL(target), "event", event)
}
