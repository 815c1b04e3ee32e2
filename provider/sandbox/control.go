package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bellhop/bellhop"
)

// Test and inspection hooks. Methods that take a sender or operator id act on every
// organization that has one with that id (ids of the default organization are "1", "2", …).

// Messages returns every accepted message of every organization, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, g := range s.orgList() {
		for _, m := range g.messages {
			out = append(out, *m)
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int {
		ai, _ := strconv.Atoi(a.MessageID)
		bi, _ := strconv.Atoi(b.MessageID)
		return ai - bi
	})
	return out
}

// Stats returns what each sender of each organization was sent.
func (s *Server) Stats() []SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SenderStats
	for _, g := range s.orgList() {
		for _, sd := range g.senders {
			st := sd.stats
			st.Violations = slices.Clone(st.Violations)
			st.Spacing = s.spacingOf(sd.ID)
			out = append(out, st)
		}
	}
	return out
}

// Banned reports whether a sender with this id is banned.
func (s *Server) Banned(senderID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.orgs {
		if sd := g.sender(senderID); sd != nil && sd.stats.Banned {
			return true
		}
	}
	return false
}

// Unban lifts a sender's ban. Its next message is still measured against its last accepted one.
func (s *Server) Unban(senderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.orgs {
		if sd := g.sender(senderID); sd != nil {
			sd.stats.Banned, sd.stats.BanReason = false, ""
		}
	}
}

// SetSpacing overrides the spacing of a sender; d <= 0 restores Config.Spacing.
func (s *Server) SetSpacing(senderID string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.spacing, senderID)
		return
	}
	s.spacing[senderID] = d
}

// SetOutage makes every API request answer this HTTP status (e.g. 503); 0 ends the outage.
func (s *Server) SetOutage(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = status
}

// SetLatency holds back every API answer by d (the request itself is processed at once).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetRateLimit makes the next POST messages answer 429 with this Retry-After (whole seconds,
// rounded up); 0 cancels it.
func (s *Server) SetRateLimit(retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = max(retryAfter, 0)
}

// RemoveSender removes a sending channel, as if deleted at the provider.
func (s *Server) RemoveSender(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.orgs {
		g.senders = slices.DeleteFunc(g.senders, func(sd *sender) bool { return sd.ID == id })
	}
}

// RemoveOperator removes an operator; its login codes stop working.
func (s *Server) RemoveOperator(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.orgs {
		g.operators = slices.DeleteFunc(g.operators, func(op bellhop.Operator) bool { return op.ID == id })
	}
}

// Webhooks returns the URLs registered by an organization, in registration order.
func (s *Server) Webhooks(orgID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if g := s.orgs[orgID]; g != nil {
		for _, h := range g.webhooks {
			out = append(out, h.URL)
		}
	}
	return out
}

// Dialogs returns the chats an operator of an organization sees on the login page.
func (s *Server) Dialogs(orgID, operatorID string) []Dialog {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Dialog
	if g := s.orgs[orgID]; g != nil {
		for _, d := range g.dialogs[operatorID] {
			out = append(out, *d)
		}
	}
	return out
}

// Reset puts every organization back as it was added: no messages, bans, webhooks or codes,
// removed senders and operators back; outage, latency, rate limit and spacing overrides off.
// Ids keep counting up.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, g := range s.orgs {
		s.orgs[id] = newOrg(g.initial)
	}
	s.codes = map[string]loginCode{}
	s.spacing = map[string]time.Duration{}
	s.outage, s.latency, s.rateLimit = 0, 0, 0
}

// The same hooks over HTTP, for tests that run other processes. No authentication.

type wireViolation struct {
	At         time.Time `json:"at"`
	GapSeconds float64   `json:"gap_seconds"`
	MinSeconds float64   `json:"min_seconds"`
	Phone      string    `json:"phone"`
	Mark       string    `json:"mark"`
}

type wireStats struct {
	OrgID          string          `json:"org_id"`
	SenderID       string          `json:"sender_id"`
	Accepted       int             `json:"accepted"`
	Duplicates     int             `json:"duplicates"`
	Refused        int             `json:"refused"`
	Banned         bool            `json:"banned"`
	BanReason      string          `json:"ban_reason,omitempty"`
	Violations     []wireViolation `json:"violations"`
	MinGapSeconds  *float64        `json:"min_gap_seconds"` // null until two messages
	SpacingSeconds float64         `json:"spacing_seconds"`
}

func (s *Server) ctlStats(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		Senders  []wireStats `json:"senders"`
		Messages int         `json:"messages"`
	}{Senders: []wireStats{}, Messages: len(s.Messages())}
	for _, st := range s.Stats() {
		ws := wireStats{
			OrgID: st.OrgID, SenderID: st.SenderID, Accepted: st.Accepted, Duplicates: st.Duplicates,
			Refused: st.Refused, Banned: st.Banned, BanReason: st.BanReason, Violations: []wireViolation{},
			SpacingSeconds: st.Spacing.Seconds(),
		}
		if st.HasGap {
			g := st.MinGap.Seconds()
			ws.MinGapSeconds = &g
		}
		for _, v := range st.Violations {
			ws.Violations = append(ws.Violations, wireViolation{At: v.At, GapSeconds: v.Gap.Seconds(), MinSeconds: v.Min.Seconds(), Phone: v.Phone, Mark: v.Mark})
		}
		out.Senders = append(out.Senders, ws)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ctlMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []Message{}
	for _, m := range s.Messages() {
		if (q.Get("org") == "" || m.OrgID == q.Get("org")) && matches(&m, q.Get("phone"), q.Get("provider_id"), q.Get("mark")) {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ctlWebhooks(w http.ResponseWriter, r *http.Request) {
	type orgHook struct {
		OrgID string `json:"org_id"`
		webhook
	}
	org := r.URL.Query().Get("org")
	out := []orgHook{}
	s.mu.Lock()
	for _, g := range s.orgList() {
		if org != "" && g.id != org {
			continue
		}
		for _, h := range g.webhooks {
			out = append(out, orgHook{OrgID: g.id, webhook: h})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

var okAnswer = map[string]bool{"ok": true}

func ctlError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func (s *Server) ctlReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlOutage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status int `json:"status"`
	}
	if err := decode(r, &req); err != nil || (req.Status != 0 && (req.Status < 400 || req.Status > 599)) {
		ctlError(w, `want {"status": 503} (a 4xx/5xx status, or 0 to end the outage)`)
		return
	}
	s.SetOutage(req.Status)
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlLatency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Latency jsonDuration `json:"latency"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"latency": "2s"} (a Go duration or a number of seconds): `+err.Error())
		return
	}
	s.SetLatency(time.Duration(req.Latency))
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlRateLimit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RetryAfter jsonDuration `json:"retry_after"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"retry_after": "30s"} (a Go duration or a number of seconds): `+err.Error())
		return
	}
	s.SetRateLimit(time.Duration(req.RetryAfter))
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlUnban(w http.ResponseWriter, r *http.Request) {
	s.Unban(r.PathValue("id"))
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlSpacing(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Spacing jsonDuration `json:"spacing"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"spacing": "2s"} (a Go duration or a number of seconds; 0: the default): `+err.Error())
		return
	}
	s.SetSpacing(r.PathValue("id"), time.Duration(req.Spacing))
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlRemoveSender(w http.ResponseWriter, r *http.Request) {
	s.RemoveSender(r.PathValue("id"))
	writeJSON(w, http.StatusOK, okAnswer)
}

func (s *Server) ctlRemoveOperator(w http.ResponseWriter, r *http.Request) {
	s.RemoveOperator(r.PathValue("id"))
	writeJSON(w, http.StatusOK, okAnswer)
}

// jsonDuration is a Go duration string ("1.5s") or a number of seconds.
type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = jsonDuration(p)
	case float64:
		*d = jsonDuration(v * float64(time.Second))
	case nil:
		*d = 0
	default:
		return fmt.Errorf("want a duration like \"2s\" or a number of seconds, got %s", b)
	}
	return nil
}

// SetAPIKey changes an organization's API key, as if rotated in its account: the old key is
// rejected from now on. Reset puts the original back.
func (s *Server) SetAPIKey(orgID, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.orgs[orgID]; g != nil {
		g.key = key
	}
}
