package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Webhook events.
const (
	EventNewMessage = "new_message"
	EventNewStatus  = "new_status"
	EventNewError   = "new_error"
)

var allEvents = []string{EventNewMessage, EventNewStatus, EventNewError}

// Event is what the sandbox POSTs to webhooks:
//
//	{"event":"new_status","company_id":"1","data":{"message_id":"7","chat_id":"3","mark":"d-42",
//	 "provider_id":"1","phone":"+79161234567","status":"delivered","timestamp":"…"}}
type Event struct {
	Event     string    `json:"event"`
	CompanyID string    `json:"company_id"`
	Data      EventData `json:"data"`
}

// EventData describes the message an event is about. Failed sends carry no message id.
type EventData struct {
	MessageID  string    `json:"message_id"`
	ChatID     string    `json:"chat_id"`
	Mark       string    `json:"mark"`
	ProviderID string    `json:"provider_id"`
	Phone      string    `json:"phone"`
	Status     string    `json:"status"` // delivered, read, failed
	Error      string    `json:"error,omitempty"`
	Timestamp  time.Time `json:"timestamp"`
}

// dispatcher delivers events off the request path. Events of one message go to the same
// worker, so "delivered" always arrives before "read". Queues are bounded: when one is full
// the event is dropped and logged rather than blocking a request.
type dispatcher struct {
	s      *Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
	shards []chan Event
}

const (
	hookWorkers = 4
	hookQueue   = 256
)

func newDispatcher(s *Server) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{s: s, client: &http.Client{Timeout: WebhookTimeout}, ctx: ctx, cancel: cancel}
	for range hookWorkers {
		ch := make(chan Event, hookQueue)
		d.shards = append(d.shards, ch)
		d.wg.Add(1)
		go d.work(ch)
	}
	return d
}

func (d *dispatcher) enqueue(e Event) {
	key := e.CompanyID + "\x00" + e.Data.MessageID
	if e.Data.MessageID == "" {
		key += e.Data.Mark + "\x00" + e.Data.Phone
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))

	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return
	}
	select {
	case d.shards[h.Sum32()%uint32(len(d.shards))] <- e:
	default:
		d.s.log.Warn("sandbox: webhook queue full, event dropped", "event", e.Event, "message_id", e.Data.MessageID)
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

func (d *dispatcher) work(ch <-chan Event) {
	defer d.wg.Done()
	for e := range ch {
		if d.ctx.Err() != nil {
			continue
		}
		for _, u := range d.s.deliver(e) {
			d.post(u, e)
		}
	}
}

// deliver applies an event's status to the stored message and returns the URLs to call.
func (s *Server) deliver(e Event) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var urls []string
	if g := s.orgs[e.CompanyID]; g != nil {
		if m := g.byID[e.Data.MessageID]; m != nil && e.Event == EventNewStatus {
			m.Status = e.Data.Status
		}
		for _, h := range g.webhooks {
			for _, ev := range h.Events {
				if ev == e.Event {
					urls = append(urls, h.URL)
					break
				}
			}
		}
	}
	if s.cfg.WebhookURL != "" {
		urls = append(urls, s.cfg.WebhookURL)
	}
	return urls
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

func (d *dispatcher) post(target string, e Event) {
	body, _ := json.Marshal(e)
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
		d.s.log.Warn("sandbox: webhook delivery failed", "url", logURL(target), "event", e.Event, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		d.s.log.Warn("sandbox: webhook answered an error", "url", logURL(target), "event", e.Event, "status", resp.StatusCode)
		return
	}
	d.s.log.Debug("sandbox: webhook delivered", "url", logURL(target), "event", e.Event, "status", e.Data.Status)
}
