package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// envelope is how every API answer is wrapped.
type envelope struct {
	Response answer `json:"response"`
}

type answer struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Data   any    `json:"data,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeData(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, envelope{answer{Status: "success", Data: data}})
}

func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, envelope{answer{Status: "error", Error: reason}})
}

// api wraps an API handler: outage, authentication, then the handler, whose answer is held
// back by the configured latency (the request is processed at once, like a slow network).
func (s *Server) api(h func(http.ResponseWriter, *http.Request, *org)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		outage, latency := s.outage, s.latency
		var g *org
		if outage == 0 {
			g = s.byKey(apiKey(r))
		}
		s.mu.Unlock()

		buf := &bufferedWriter{header: http.Header{}}
		switch {
		case outage != 0:
			writeError(buf, outage, "sandbox outage: HTTP "+strconv.Itoa(outage))
		case g == nil:
			writeError(buf, http.StatusUnauthorized, "invalid API key")
		default:
			h(buf, r, g)
		}
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		buf.flush(w)
	}
}

// apiKey reads "Authorization: <key>" or "Authorization: Bearer <key>".
func apiKey(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	return v
}

// bufferedWriter keeps an answer until the latency has passed.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// decode reads a JSON body of at most 1 MiB.
func decode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

// flexString accepts a JSON string or number, as real clients send ids either way.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

type wireOrg struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) companies(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	data := wireOrg{ID: g.id, Name: g.name}
	s.mu.Unlock()
	writeData(w, data)
}

type wireSender struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Phone  string `json:"phone"`
	Status string `json:"status"` // active | banned
}

func (s *Server) providers(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	data := []wireSender{}
	for _, sd := range g.senders {
		st := "active"
		if sd.stats.Banned {
			st = "banned"
		}
		data = append(data, wireSender{ID: sd.ID, Name: sd.Name, Type: sd.Type, Phone: sd.Phone, Status: st})
	}
	s.mu.Unlock()
	writeData(w, data)
}

type wireOperator struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (s *Server) employees(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	data := []wireOperator{}
	for _, op := range g.operators {
		data = append(data, wireOperator{ID: op.ID, Name: op.Name, Email: op.Email})
	}
	s.mu.Unlock()
	writeData(w, data)
}

type wireCode struct {
	Code      string `json:"code"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

func (s *Server) loginCode(w http.ResponseWriter, r *http.Request, g *org) {
	id := r.PathValue("id")
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	code := hex.EncodeToString(b)

	s.mu.Lock()
	_, ok := g.operator(id)
	var exp time.Time
	if ok {
		exp = s.clock.Now().Add(CodeTTL)
		s.codes[code] = loginCode{orgID: g.id, operatorID: id, expires: exp}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "employee "+id+" not found")
		return
	}
	writeData(w, wireCode{Code: code, URL: s.publicBase(r) + "/login/" + code, ExpiresAt: exp.UTC().Format(time.RFC3339)})
}

// publicBase is where a browser reaches the sandbox: Config.PublicURL, else the request's host.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// phoneRE is E.164-ish: a plus and 8 to 15 digits.
var phoneRE = regexp.MustCompile(`^\+[0-9]{8,15}$`)

type sendRequest struct {
	Phone      string     `json:"phone"`
	ProviderID flexString `json:"provider_id"`
	Text       string     `json:"text"`
	Mark       flexString `json:"mark"`
}

type sendAnswer struct {
	MessageID string `json:"message_id"`
	ChatID    string `json:"chat_id"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, g *org) {
	s.mu.Lock()
	if ra := s.rateLimit; ra > 0 {
		s.rateLimit = 0
		s.mu.Unlock()
		secs := int((ra + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded, retry in "+strconv.Itoa(secs)+"s")
		return
	}
	s.mu.Unlock()

	var req sendRequest
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	switch {
	case !phoneRE.MatchString(req.Phone):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid phone %q: want + and 8 to 15 digits", req.Phone))
		return
	case req.ProviderID == "":
		writeError(w, http.StatusBadRequest, "provider_id is required")
		return
	case strings.TrimSpace(req.Text) == "":
		writeError(w, http.StatusBadRequest, "text is required")
		return
	}
	status, body, ev := s.accept(g, string(req.ProviderID), req.Phone, req.Text, string(req.Mark))
	if ev != nil {
		s.hooks.enqueue(*ev)
		if ev.Event == EventNewStatus {
			read := *ev
			read.Data.Status = "read"
			s.hooks.enqueue(read)
		}
	}
	if status != http.StatusOK {
		writeError(w, status, body.(string))
		return
	}
	writeData(w, body)
}

// accept applies dedupe, the ban rule and records the message. It returns the HTTP status,
// the answer (a sendAnswer, or the error reason) and the webhook event to send, if any.
func (s *Server) accept(g *org, senderID, phone, text, mark string) (int, any, *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sd := g.sender(senderID)
	if mark != "" {
		if m, ok := g.byMark[mark]; ok {
			if orig := g.sender(m.SenderID); orig != nil {
				orig.stats.Duplicates++
			}
			s.log.Info("sandbox: duplicate message", "org", g.id, "sender", m.SenderID, "mark", mark)
			return http.StatusOK, sendAnswer{MessageID: m.MessageID, ChatID: m.ChatID, Duplicate: true}, nil
		}
	}
	if sd == nil {
		return http.StatusNotFound, "provider " + senderID + " not found", nil
	}
	now := s.clock.Now()
	failed := func(reason string) (int, any, *Event) {
		sd.stats.Refused++
		ev := &Event{CompanyID: g.id, Event: EventNewError, Data: EventData{
			Mark: mark, ProviderID: senderID, Phone: phone, Status: "failed", Error: reason, Timestamp: now.UTC(),
		}}
		return http.StatusForbidden, reason, ev
	}
	if sd.hasLastTry {
		gap := now.Sub(sd.lastTry)
		if !sd.stats.HasGap || gap < sd.stats.MinGap {
			sd.stats.MinGap, sd.stats.HasGap = gap, true
		}
	}
	sd.lastTry, sd.hasLastTry = now, true
	if sd.stats.Banned {
		return failed(sd.stats.BanReason)
	}
	spacing := s.spacingOf(senderID)
	if sd.hasLast {
		if gap := now.Sub(sd.last); gap < spacing {
			sd.stats.Banned = true
			sd.stats.BanReason = fmt.Sprintf("sender %s is banned: messages %.2fs apart, minimum %s",
				senderID, gap.Seconds(), seconds(spacing))
			sd.stats.Violations = append(sd.stats.Violations, Violation{At: now, Gap: gap, Min: spacing, Phone: phone, Mark: mark})
			s.log.Warn("sandbox: sender banned", "org", g.id, "sender", senderID, "gap", gap, "spacing", spacing)
			return failed(sd.stats.BanReason)
		}
	}
	sd.last, sd.hasLast = now, true
	sd.stats.Accepted++

	chatKey := senderID + "\x00" + phone
	chat, ok := g.chats[chatKey]
	if !ok {
		s.nextChat++
		chat = strconv.Itoa(s.nextChat)
		g.chats[chatKey] = chat
	}
	s.nextMsg++
	m := &Message{
		OrgID: g.id, MessageID: strconv.Itoa(s.nextMsg), ChatID: chat, Phone: phone, SenderID: senderID,
		Text: text, Mark: mark, Status: "sent", CreatedAt: now.UTC(),
	}
	if len(g.operators) > 0 {
		m.OperatorID = g.operators[0].ID
		g.noteDialog(m)
	}
	g.messages = append(g.messages, m)
	g.byID[m.MessageID] = m
	if mark != "" {
		g.byMark[mark] = m
	}
	s.log.Info("sandbox: message accepted", "org", g.id, "sender", senderID, "message_id", m.MessageID, "mark", mark)
	return http.StatusOK, sendAnswer{MessageID: m.MessageID, ChatID: m.ChatID}, &Event{
		CompanyID: g.id, Event: EventNewStatus, Data: EventData{
			MessageID: m.MessageID, ChatID: m.ChatID, Mark: mark, ProviderID: senderID, Phone: phone,
			Status: "delivered", Timestamp: now.UTC(),
		},
	}
}

// noteDialog puts a sent message into its operator's dialogs.
func (g *org) noteDialog(m *Message) {
	for _, d := range g.dialogs[m.OperatorID] {
		if d.ChatID == m.ChatID {
			d.LastMessage = m.Text
			return
		}
	}
	g.dialogs[m.OperatorID] = append(g.dialogs[m.OperatorID], &Dialog{
		ChatID: m.ChatID, GuestName: m.Phone, Phone: m.Phone, SenderID: m.SenderID, LastMessage: m.Text,
	})
}

// seconds formats a duration as whole or fractional seconds: "300s", "0.5s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

type wireMessage struct {
	MessageID  string `json:"message_id"`
	ChatID     string `json:"chat_id"`
	Phone      string `json:"phone"`
	ProviderID string `json:"provider_id"`
	Text       string `json:"text"`
	Mark       string `json:"mark"`
	Status     string `json:"status"`
	CreatedAt  string `json:"created_at"`
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, g *org) {
	q := r.URL.Query()
	s.mu.Lock()
	data := []wireMessage{}
	for _, m := range g.messages {
		if !matches(m, q.Get("phone"), q.Get("provider_id"), q.Get("mark")) {
			continue
		}
		data = append(data, wireMessage{
			MessageID: m.MessageID, ChatID: m.ChatID, Phone: m.Phone, ProviderID: m.SenderID,
			Text: m.Text, Mark: m.Mark, Status: m.Status, CreatedAt: m.CreatedAt.Format(time.RFC3339Nano),
		})
	}
	s.mu.Unlock()
	writeData(w, data)
}

func matches(m *Message, phone, senderID, mark string) bool {
	return (phone == "" || m.Phone == phone) && (senderID == "" || m.SenderID == senderID) && (mark == "" || m.Mark == mark)
}

func (s *Server) listWebhooks(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	data := append([]webhook{}, g.webhooks...)
	s.mu.Unlock()
	writeData(w, data)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, g *org) {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, http.StatusBadRequest, "invalid url: want an absolute http(s) URL")
		return
	}
	if len(req.Events) == 0 {
		req.Events = slices.Clone(allEvents)
	}
	for _, e := range req.Events {
		if !slices.Contains(allEvents, e) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event %q: want %s", e, strings.Join(allEvents, ", ")))
			return
		}
	}
	s.mu.Lock()
	s.nextHook++
	h := webhook{ID: strconv.Itoa(s.nextHook), URL: req.URL, Events: req.Events}
	g.webhooks = append(g.webhooks, h)
	s.mu.Unlock()
	writeData(w, h)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, g *org) {
	id := r.PathValue("id")
	s.mu.Lock()
	i := slices.IndexFunc(g.webhooks, func(h webhook) bool { return h.ID == id })
	if i >= 0 {
		g.webhooks = slices.Delete(g.webhooks, i, i+1)
	}
	s.mu.Unlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, "webhook "+id+" not found")
		return
	}
	writeData(w, map[string]string{"id": id})
}
