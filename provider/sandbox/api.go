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
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// handler is an API handler for an authenticated organization.
type handler func(http.ResponseWriter, *http.Request, *org)

// api wraps a handler: the configured latency first (a plain delay), then outage,
// authentication and the handler.
func (s *Server) api(h handler) http.HandlerFunc { return s.wrap(h, false) }

// acceptThenWait wraps POST messages: the request is processed (the message stored) at once
// and the answer held back by the latency — a provider that accepts a message but answers
// after the caller gave up.
func (s *Server) acceptThenWait(h handler) http.HandlerFunc { return s.wrap(h, true) }

func (s *Server) wrap(h handler, handleFirst bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		latency := s.latency
		s.mu.Unlock()
		if !handleFirst && !sleep(r, latency) {
			return
		}
		s.mu.Lock()
		outage := s.outage
		g := s.byKey(strings.TrimSpace(r.Header.Get("Authorization")))
		s.mu.Unlock()

		buf := &bufferedWriter{header: http.Header{}}
		switch {
		case outage != 0:
			s.fail(buf, nil, outage, "sandbox outage: HTTP "+strconv.Itoa(outage))
		case g == nil:
			s.fail(buf, nil, http.StatusUnauthorized, "invalid API key")
		default:
			h(buf, r, g)
		}
		if handleFirst && !sleep(r, latency) {
			return
		}
		buf.flush(w)
	}
}

// sleep waits d unless the request is given up first; it reports whether to answer.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
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

func (s *Server) companies(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	data := g.wireCompany()
	s.mu.Unlock()
	s.data(w, g, data)
}

// providers lists senders; filters name (a part of it), type, type_id.
func (s *Server) providers(w http.ResponseWriter, r *http.Request, g *org) {
	q := r.URL.Query()
	lq, bad := g.listQuery(q)
	if bad != "" {
		s.invalid(w, g, bad)
		return
	}
	s.mu.Lock()
	items := []wireProvider{}
	for _, sd := range g.senders {
		p := g.wireProvider(sd)
		if lq.in(g.createdAt) &&
			(q.Get("name") == "" || strings.Contains(strings.ToLower(p.Name), strings.ToLower(q.Get("name")))) &&
			(q.Get("type") == "" || strings.EqualFold(p.Type, q.Get("type"))) &&
			(q.Get("type_id") == "" || p.TypeID == q.Get("type_id")) {
			items = append(items, p)
		}
	}
	s.mu.Unlock()
	data, p := page(items, lq)
	s.answer(w, listAnswer{s.success(g), p, data})
}

// employees lists operators; filters phone and email.
func (s *Server) employees(w http.ResponseWriter, r *http.Request, g *org) {
	q := r.URL.Query()
	lq, bad := g.listQuery(q)
	if bad != "" {
		s.invalid(w, g, bad)
		return
	}
	s.mu.Lock()
	items := []wireEmployee{}
	for _, op := range g.operators {
		e := g.wireEmployee(op)
		if lq.in(g.createdAt) &&
			(q.Get("phone") == "" || (e.PersonPhone != "" && e.PersonPhone == bellhop.PhoneDigits(q.Get("phone")))) &&
			(q.Get("email") == "" || strings.EqualFold(e.PersonEmail, q.Get("email"))) {
			items = append(items, e)
		}
	}
	s.mu.Unlock()
	data, p := page(items, lq)
	s.answer(w, listAnswer{s.success(g), p, data})
}

// loginCode gives a one-time code for an operator's sign-in; the sandbox's own page is
// /login/{code}, valid for CodeTTL.
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request, g *org) {
	id := r.PathValue("id")
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	code := hex.EncodeToString(b)

	s.mu.Lock()
	_, ok := g.operator(id)
	if ok {
		s.codes[code] = loginCode{orgID: g.id, operatorID: id, expires: s.clock.Now().Add(CodeTTL)}
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, g, http.StatusNotFound, "employee "+id+" not found")
		return
	}
	a := codeAnswer{head: s.success(g)}
	a.Code.Code = code
	s.answer(w, a)
}

// sendRequest is POST messages' body.
type sendRequest struct {
	Phone      flexString      `json:"phone"`
	ProviderID flexString      `json:"provider_id"`
	Text       string          `json:"text"`
	Template   string          `json:"template"`
	Vars       json.RawMessage `json:"vars"`
	Mark       flexString      `json:"mark"`
	EmployeeID flexString      `json:"employee_id"`
	Attachment string          `json:"attachment"`
	Buttons    json.RawMessage `json:"buttons"`
}

// phoneChars is what a phone may hold besides its 8 to 15 digits.
var phoneChars = regexp.MustCompile(`^\+?[0-9 ()\-]+$`)

// check validates a send's fields as the provider does; vars is the template's variables.
func (req *sendRequest) check() (vars []string, reason string) {
	phone := strings.TrimSpace(string(req.Phone))
	switch {
	case phone == "":
		return nil, "the phone field is required"
	case utf8.RuneCountInString(phone) > maxPhone:
		return nil, "phone must be at most 20 characters"
	case !phoneChars.MatchString(phone) || len(bellhop.PhoneDigits(phone)) < 8 || len(bellhop.PhoneDigits(phone)) > 15:
		return nil, fmt.Sprintf("phone %q is not a phone number (8 to 15 digits)", phone)
	case req.ProviderID == "":
		return nil, "the provider_id field is required"
	case utf8.RuneCountInString(req.Text) > maxText:
		return nil, "text must be at most 10000 characters"
	case strings.TrimSpace(req.Text) == "" && req.Template == "":
		return nil, "the text field is required when template is not present"
	case utf8.RuneCountInString(string(req.Mark)) > maxMark:
		return nil, "mark must be at most 36 characters"
	case utf8.RuneCountInString(req.Attachment) > maxAttach:
		return nil, "attachment must be at most 255 characters"
	}
	if len(req.Buttons) > 0 && string(req.Buttons) != "null" && req.Buttons[0] != '[' && req.Buttons[0] != '{' {
		return nil, "buttons must be an array"
	}
	if req.Template != "" {
		var vs []flexString
		if len(req.Vars) == 0 || string(req.Vars) == "null" {
			return nil, "the vars field is required when template is present"
		}
		if err := json.Unmarshal(req.Vars, &vs); err != nil {
			return nil, "vars must be an array of strings"
		}
		for _, v := range vs {
			vars = append(vars, string(v))
		}
	}
	return vars, ""
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, g *org) {
	s.mu.Lock()
	if ra := s.rateLimit; ra > 0 {
		s.rateLimit = 0
		s.mu.Unlock()
		secs := int((ra + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, g, http.StatusTooManyRequests, "rate limit exceeded, retry in "+strconv.Itoa(secs)+"s")
		return
	}
	s.mu.Unlock()

	var req sendRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, g, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	vars, bad := req.check()
	if bad != "" {
		s.invalid(w, g, bad)
		return
	}
	sent, status, reason, jobs := s.accept(g, &req, vars)
	for _, j := range jobs {
		s.hooks.enqueue(j)
	}
	if status != http.StatusOK {
		s.fail(w, g, status, reason)
		return
	}
	s.data(w, g, sent)
}

// placeholder is a template variable: {{1}}, {{2}}, …
var placeholder = regexp.MustCompile(`\{\{([0-9]+)\}\}`)

// fill puts a template's vars into its text; it fails when a placeholder has no var.
func fill(text string, vars []string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(text, func(p string) string {
		n, _ := strconv.Atoi(placeholder.FindStringSubmatch(p)[1])
		if n < 1 || n > len(vars) {
			missing = append(missing, p)
			return p
		}
		return vars[n-1]
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no var for %s (got %d vars)", strings.Join(missing, ", "), len(vars))
	}
	return out, nil
}

// accept applies the send rules — sender, employee, template, stop list, ban — and records
// the message. It returns the answer (when status is 200), or the HTTP status and the
// reason, and the webhook events to send.
func (s *Server) accept(g *org, req *sendRequest, vars []string) (wireSent, int, string, []job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	senderID, mark, opID := string(req.ProviderID), string(req.Mark), string(req.EmployeeID)
	sd := g.sender(senderID)
	if sd == nil {
		return wireSent{}, http.StatusUnprocessableEntity, "provider_id " + senderID + ": no such provider", nil
	}
	if _, ok := g.operator(opID); opID != "" && !ok {
		return wireSent{}, http.StatusUnprocessableEntity, "employee_id " + opID + ": no such employee", nil
	}
	text := req.Text
	if req.Template != "" {
		var reason string
		if text, reason = g.templateText(sd, req.Template, vars); reason != "" {
			return wireSent{}, http.StatusUnprocessableEntity, reason, nil
		}
	}

	now := s.clock.Now()
	phone := "+" + bellhop.PhoneDigits(string(req.Phone))
	refuse := func(status int, reason string) (wireSent, int, string, []job) {
		body, _ := json.Marshal(errorPayload{
			Event: EventNewError, MessageID: "", Phone: bellhop.PhoneDigits(phone), ErrorAt: g.wireTime(now), Detail: reason,
		})
		return wireSent{}, status, reason, []job{{orgID: g.id, event: EventNewError, key: phone, body: body}}
	}
	if g.stopListed(bellhop.PhoneDigits(phone)) {
		sd.stats.StopListed++
		s.log.Info("sandbox: message to a stop-listed phone refused", "org", g.id, "sender", senderID, "mark", mark)
		return refuse(http.StatusUnprocessableEntity, "phone "+phone+" is on the account's stop list")
	}

	if sd.hasLastTry {
		gap := now.Sub(sd.lastTry)
		if !sd.stats.HasGap || gap < sd.stats.MinGap {
			sd.stats.MinGap, sd.stats.HasGap = gap, true
		}
	}
	sd.lastTry, sd.hasLastTry = now, true
	if sd.stats.Banned {
		sd.stats.Refused++
		return refuse(http.StatusForbidden, sd.stats.BanReason)
	}
	spacing := s.spacingOf(senderID)
	if sd.hasLast {
		if gap := now.Sub(sd.last); gap < spacing {
			sd.stats.Banned = true
			sd.stats.BanReason = fmt.Sprintf("provider %s is blocked: its number was banned by WhatsApp "+
				"(messages %.2fs apart, minimum %s)", senderID, gap.Seconds(), seconds(spacing))
			sd.stats.Violations = append(sd.stats.Violations, Violation{At: now, Gap: gap, Min: spacing, Phone: phone, Mark: mark})
			sd.stats.Refused++
			s.log.Warn("sandbox: sender banned", "org", g.id, "sender", senderID, "gap", gap, "spacing", spacing)
			return refuse(http.StatusForbidden, sd.stats.BanReason)
		}
	}
	sd.last, sd.hasLast = now, true
	sd.stats.Accepted++
	if mark != "" {
		if g.marks[mark] {
			sd.stats.RepeatedMarks++
			s.log.Warn("sandbox: a second message with a known mark (the provider does not deduplicate)",
				"org", g.id, "sender", senderID, "mark", mark)
		}
		g.marks[mark] = true
	}

	m := s.newMessage(g, sd, phone, text, now)
	m.Template, m.Vars, m.Mark, m.OperatorID, m.Attachment = req.Template, vars, mark, opID, req.Attachment
	m.StackID = "s-" + s.next.id(&s.next.stack)
	m.Status = "sent"
	owner := opID
	if owner == "" && len(g.operators) > 0 {
		owner = g.operators[0].ID
	}
	if owner != "" {
		g.noteDialog(owner, m)
	}
	s.log.Info("sandbox: message accepted", "org", g.id, "sender", senderID, "message_id", m.MessageID, "mark", mark)
	return g.wireSent(m), http.StatusOK, "", []job{
		{orgID: g.id, event: EventNewStatus, key: m.MessageID, messageID: m.MessageID, step: "delivered"},
		{orgID: g.id, event: EventNewStatus, key: m.MessageID, messageID: m.MessageID, step: "read"},
	}
}

// newMessage records a message of a sender with a phone, in or out. Call with s.mu held.
func (s *Server) newMessage(g *org, sd *sender, phone, text string, now time.Time) *Message {
	d := bellhop.PhoneDigits(phone)
	m := &Message{
		OrgID: g.id, MessageID: s.next.id(&s.next.msg), ChatID: s.chatOf(g, sd.ID, d),
		PersonID: s.personOf(g, d).id, Phone: "+" + d, SenderID: sd.ID, Text: text,
		CreatedAt: now.UTC(), provider: refOf(sd),
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	m.exID = fmt.Sprintf("true_%s@c.us_3EB0%X", d, b)
	g.messages = append(g.messages, m)
	g.byID[m.MessageID] = m
	return m
}

// templateText is the text an approved template of an official sender gives with vars, or
// the reason it cannot be sent. Call with s.mu held.
func (g *org) templateText(sd *sender, name string, vars []string) (string, string) {
	if sd.Type != SenderWhatsAppAPI {
		return "", fmt.Sprintf("templates are sent only by WhatsApp Business API providers; provider %s is %s",
			sd.ID, refOf(sd).typeName)
	}
	i := slices.IndexFunc(g.templates[sd.ID], func(t Template) bool { return t.Name == name })
	if i < 0 {
		return "", fmt.Sprintf("template %q not found for provider %s", name, sd.ID)
	}
	t := g.templates[sd.ID][i]
	if !strings.EqualFold(t.Status, "approved") {
		return "", fmt.Sprintf("template %q is not approved (status %s)", name, t.Status)
	}
	text, err := fill(t.Text, vars)
	if err != nil {
		return "", fmt.Sprintf("template %q: %v", name, err)
	}
	return text, ""
}

// noteDialog puts a message into its operator's dialogs.
func (g *org) noteDialog(operatorID string, m *Message) {
	for _, d := range g.dialogs[operatorID] {
		if d.ChatID == m.ChatID {
			d.LastMessage = m.Text
			return
		}
	}
	g.dialogs[operatorID] = append(g.dialogs[operatorID], &Dialog{
		ChatID: m.ChatID, GuestName: m.Phone, Phone: m.Phone, SenderID: m.SenderID, LastMessage: m.Text,
	})
}

// seconds formats a duration as whole or fractional seconds: "300s", "0.5s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// listMessages lists messages oldest first. Filters: provider_type, provider_type_id,
// provider_id, ex_id, chat_id, person_id, transfer_to, type (to_client|from_client), read
// (0|1); other parameters (phone, mark, …) are ignored, as the real API has no such filters.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, g *org) {
	q := r.URL.Query()
	lq, bad := g.listQuery(q)
	switch {
	case bad != "":
	case !slices.Contains([]string{"", "to_client", "from_client"}, q.Get("type")):
		bad = "type must be to_client or from_client"
	case !slices.Contains([]string{"", "0", "1"}, q.Get("read")):
		bad = "read must be 0 or 1"
	}
	if bad != "" {
		s.invalid(w, g, bad)
		return
	}
	eq := func(param, v string) bool { return q.Get(param) == "" || q.Get(param) == v }
	s.mu.Lock()
	now := s.clock.Now()
	items := []wireMessage{}
	for _, m := range g.messages {
		if !s.visible(m, now) || !lq.in(m.CreatedAt) {
			continue
		}
		wm := g.wireMessage(m)
		dir := "to_client"
		if m.Incoming {
			dir = "from_client"
		}
		read := "0"
		if wm.ViewedAt != "" {
			read = "1"
		}
		if (q.Get("provider_type") == "" || strings.EqualFold(q.Get("provider_type"), wm.ProviderTypeName)) &&
			eq("provider_type_id", wm.ProviderTypeID) && eq("provider_id", wm.ProviderID) && eq("ex_id", wm.ExID) &&
			eq("chat_id", wm.ChatID) && eq("person_id", wm.PersonID) && eq("transfer_to", wm.TransferTo) &&
			eq("type", dir) && eq("read", read) {
			items = append(items, wm)
		}
	}
	s.mu.Unlock()
	data, p := page(items, lq)
	s.answer(w, listAnswer{s.success(g), p, data})
}

func (s *Server) oneMessage(w http.ResponseWriter, r *http.Request, g *org) {
	id := r.PathValue("id")
	s.mu.Lock()
	m := g.byID[id]
	var wm wireMessage
	found := m != nil && s.visible(m, s.clock.Now())
	if found {
		wm = g.wireMessage(m)
	}
	s.mu.Unlock()
	if !found {
		s.fail(w, g, http.StatusNotFound, "message "+id+" not found")
		return
	}
	s.data(w, g, wm)
}

// templates lists a sender's WhatsApp templates, without paging; a sender that is not an
// official WhatsApp Business API one has none (an empty list).
func (s *Server) templates(w http.ResponseWriter, r *http.Request, g *org) {
	id := r.PathValue("id")
	s.mu.Lock()
	sd := g.sender(id)
	data := []wireTemplate{}
	if sd != nil && sd.Type == SenderWhatsAppAPI {
		for i, t := range g.templates[id] {
			data = append(data, g.wireTemplate(id, i, t))
		}
	}
	s.mu.Unlock()
	if sd == nil {
		s.fail(w, g, http.StatusNotFound, "provider "+id+" not found")
		return
	}
	s.data(w, g, data)
}

// stopList lists the account's stop list (GET stoplist and GET persons/stoplist); filters
// phone and email.
func (s *Server) stopList(w http.ResponseWriter, r *http.Request, g *org) {
	q := r.URL.Query()
	lq, bad := g.listQuery(q)
	if bad != "" {
		s.invalid(w, g, bad)
		return
	}
	s.mu.Lock()
	items := []wireStopEntry{}
	for _, e := range g.stoplist {
		it := g.wireStopEntry(e)
		if lq.in(e.createdAt) &&
			(q.Get("phone") == "" || it.PersonPhone == bellhop.PhoneDigits(q.Get("phone"))) &&
			(q.Get("email") == "" || (it.PersonEmail != "" && strings.EqualFold(it.PersonEmail, q.Get("email")))) {
			items = append(items, it)
		}
	}
	s.mu.Unlock()
	data, p := page(items, lq)
	s.answer(w, listAnswer{s.success(g), p, data})
}

func (s *Server) getWebhook(w http.ResponseWriter, _ *http.Request, g *org) {
	a := webhookAnswer{head: s.success(g), Events: []string{}}
	s.mu.Lock()
	if g.hook != nil {
		a.URL, a.Events = g.hook.URL, slices.Clone(g.hook.Events)
	}
	s.mu.Unlock()
	s.answer(w, a)
}

// checkWebhook validates a webhook registration; the reason is empty when it is fine.
func checkWebhook(rawURL string, events []string) string {
	if rawURL == "" {
		return "the url field is required"
	}
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "url must be an absolute http(s) URL"
	}
	if len(events) == 0 {
		return "the events field is required (a list of " + strings.Join(allEvents, ", ") + ")"
	}
	for _, e := range events {
		if !slices.Contains(allEvents, e) {
			return fmt.Sprintf("unknown event %q: want %s", e, strings.Join(allEvents, ", "))
		}
	}
	return ""
}

// setWebhook installs the account's one webhook, replacing the one there was.
func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request, g *org) {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, g, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if bad := checkWebhook(req.URL, req.Events); bad != "" {
		s.invalid(w, g, bad)
		return
	}
	s.mu.Lock()
	g.hook = &webhook{URL: req.URL, Events: slices.Clone(req.Events)}
	s.mu.Unlock()
	s.answer(w, webhookAnswer{s.success(g), req.URL, req.Events})
}

// deleteWebhook removes the account's webhook; with none installed it succeeds all the same.
func (s *Server) deleteWebhook(w http.ResponseWriter, _ *http.Request, g *org) {
	s.mu.Lock()
	g.hook = nil
	s.mu.Unlock()
	s.answer(w, s.success(g))
}
