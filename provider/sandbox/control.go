package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Test and inspection hooks. Methods that take a sender or operator id act on every
// organization that has one with that id (ids of the default organization are "1", "2", …).

// Messages returns every message of every organization, oldest first: those accepted for
// sending and guests' incoming ones (Incoming). The listing lag does not apply here.
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

// SetLatency delays every API request by d. POST messages is processed at once — the
// message is accepted and stored — and only its answer waits: a provider that accepts a send
// but answers after the caller's timeout. Other requests wait d, then are processed.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetListingLag makes a message show in GET messages and GET messages/{id} only d after it
// was created (by the sandbox's clock): a listing that lags behind the sends. 0 ends it.
func (s *Server) SetListingLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listingLag = max(d, 0)
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
		g.operators = slices.DeleteFunc(g.operators, func(op operator) bool { return op.ID == id })
	}
}

// SetWebhook installs an organization's one webhook as if through POST webhooks (a hotel's
// own PMS hook, say), replacing the one there was. No events means all; an empty url removes it.
func (s *Server) SetWebhook(orgID, url string, events []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.orgs[orgID]
	switch {
	case g == nil:
	case url == "":
		g.hook = nil
	default:
		if len(events) == 0 {
			events = allEvents
		}
		g.hook = &webhook{URL: url, Events: slices.Clone(events)}
	}
}

// Webhook returns an organization's webhook; url is empty when none is installed.
func (s *Server) Webhook(orgID string) (url string, events []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.orgs[orgID]; g != nil && g.hook != nil {
		return g.hook.URL, slices.Clone(g.hook.Events)
	}
	return "", nil
}

// AddToStopList puts a phone (any format; kept as digits) on an organization's stop list.
// Sends to it are refused from now on; Reset takes it off again.
func (s *Server) AddToStopList(orgID, phone string) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, d := s.orgs[orgID], bellhop.PhoneDigits(phone)
	if g == nil || d == "" || g.stopListed(d) {
		return
	}
	g.stoplist = append(g.stoplist, stopEntry{id: s.next.id(&s.next.stop), person: s.personOf(g, d), createdAt: now})
}

// Incoming records a guest's message to a sender (type from_client), as if the guest wrote
// from phone: it shows in GET messages and is pushed to the webhook as new_message.
func (s *Server) Incoming(orgID, senderID, phone, text string) (Message, error) {
	switch d := bellhop.PhoneDigits(phone); {
	case len(d) < 8 || len(d) > 15:
		return Message{}, fmt.Errorf("sandbox: incoming: phone %q is not a phone number", phone)
	case strings.TrimSpace(text) == "":
		return Message{}, errors.New("sandbox: incoming: empty text")
	}
	s.mu.Lock()
	g := s.orgs[orgID]
	if g == nil {
		s.mu.Unlock()
		return Message{}, fmt.Errorf("sandbox: incoming: no organization %q", orgID)
	}
	sd := g.sender(senderID)
	if sd == nil {
		s.mu.Unlock()
		return Message{}, fmt.Errorf("sandbox: incoming: organization %s has no sender %q", orgID, senderID)
	}
	m := s.newMessage(g, sd, phone, text, s.clock.Now())
	m.Incoming, m.Status = true, "received"
	m.exID = "false" + strings.TrimPrefix(m.exID, "true")
	if len(g.operators) > 0 {
		g.noteDialog(g.operators[0].ID, m)
	}
	out := *m
	s.mu.Unlock()
	s.hooks.enqueue(job{orgID: orgID, event: EventNewMessage, key: m.MessageID, messageID: m.MessageID})
	return out, nil
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

// Reset puts every organization back as it was added: no messages, bans, webhooks, codes or
// stop-list additions, removed senders and operators back; outage, latency, listing lag, rate
// limit and spacing overrides off. Ids keep counting up.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, g := range s.orgs {
		s.orgs[id] = s.newOrg(g.initial, g.createdAt)
	}
	s.codes = map[string]loginCode{}
	s.spacing = map[string]time.Duration{}
	s.outage, s.latency, s.listingLag, s.rateLimit = 0, 0, 0, 0
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
	RepeatedMarks  int             `json:"repeated_marks"`
	Refused        int             `json:"refused"`
	StopListed     int             `json:"stop_listed"`
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
			OrgID: st.OrgID, SenderID: st.SenderID, Accepted: st.Accepted, RepeatedMarks: st.RepeatedMarks,
			Refused: st.Refused, StopListed: st.StopListed, Banned: st.Banned, BanReason: st.BanReason, Violations: []wireViolation{},
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

// ctlMessages lists messages; filters org, phone, provider_id and mark (unlike the API's).
func (s *Server) ctlMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	eq := func(param, v string) bool { return q.Get(param) == "" || q.Get(param) == v }
	out := []Message{}
	for _, m := range s.Messages() {
		if eq("org", m.OrgID) && (q.Get("phone") == "" || bellhop.PhoneDigits(q.Get("phone")) == bellhop.PhoneDigits(m.Phone)) &&
			eq("provider_id", m.SenderID) && eq("mark", m.Mark) {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type orgWebhook struct {
	OrgID string `json:"org_id"`
	webhook
}

// ctlWebhooks lists the installed webhooks, one per organization at most; filter org.
func (s *Server) ctlWebhooks(w http.ResponseWriter, r *http.Request) {
	org := r.URL.Query().Get("org")
	out := []orgWebhook{}
	s.mu.Lock()
	for _, g := range s.orgList() {
		if (org == "" || g.id == org) && g.hook != nil {
			out = append(out, orgWebhook{OrgID: g.id, webhook: *g.hook})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// ctlSetWebhook is SetWebhook: {"org":"1","url":"http://…","events":["new_status"]}; org
// defaults to the default organization, an empty url removes the webhook.
func (s *Server) ctlSetWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Org    string   `json:"org"`
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"org":"1","url":"http://…","events":["new_status"]}: `+err.Error())
		return
	}
	if req.URL != "" {
		events := req.Events
		if len(events) == 0 {
			events = allEvents
		}
		if bad := checkWebhook(req.URL, events); bad != "" {
			ctlError(w, bad)
			return
		}
	}
	g, ok := s.ctlOrg(w, req.Org)
	if !ok {
		return
	}
	s.SetWebhook(g, req.URL, req.Events)
	writeJSON(w, http.StatusOK, okAnswer)
}

// ctlOrg resolves a control request's organization ("" is the default one); it answers 404
// itself when there is none.
func (s *Server) ctlOrg(w http.ResponseWriter, id string) (string, bool) {
	if id == "" {
		id = DefaultOrgID
	}
	s.mu.Lock()
	g := s.orgs[id]
	s.mu.Unlock()
	if g == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no organization " + strconv.Quote(id)})
		return "", false
	}
	return id, true
}

func (s *Server) ctlStopList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Org   string `json:"org"`
		Phone string `json:"phone"`
	}
	if err := decode(r, &req); err != nil || bellhop.PhoneDigits(req.Phone) == "" {
		ctlError(w, `want {"org":"1","phone":"+79161112233"}`)
		return
	}
	if g, ok := s.ctlOrg(w, req.Org); ok {
		s.AddToStopList(g, req.Phone)
		writeJSON(w, http.StatusOK, okAnswer)
	}
}

func (s *Server) ctlIncoming(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Org        string     `json:"org"`
		ProviderID flexString `json:"provider_id"`
		Phone      string     `json:"phone"`
		Text       string     `json:"text"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"org":"1","provider_id":"1","phone":"+79161234567","text":"Hello"}: `+err.Error())
		return
	}
	g, ok := s.ctlOrg(w, req.Org)
	if !ok {
		return
	}
	m, err := s.Incoming(g, string(req.ProviderID), req.Phone, req.Text)
	if err != nil {
		ctlError(w, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) ctlListingLag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Lag jsonDuration `json:"lag"`
	}
	if err := decode(r, &req); err != nil {
		ctlError(w, `want {"lag": "2s"} (a Go duration or a number of seconds): `+err.Error())
		return
	}
	s.SetListingLag(time.Duration(req.Lag))
	writeJSON(w, http.StatusOK, okAnswer)
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
