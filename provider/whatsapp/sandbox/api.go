package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// graphError is Meta's error envelope:
// {"error":{"message","type","code","error_data":{"messaging_product","details"},"error_subcode","fbtrace_id"}}.
type graphError struct {
	status  int
	code    int
	subcode int // 0: no error_subcode member
	typ     string
	message string
	details string
	noData  bool // no error_data member (authorization and Graph errors)
}

// errorOf builds the envelope of a WhatsApp error code with the real service's message and
// HTTP status; details replaces the default details when given.
func errorOf(code int, details string) graphError {
	e := graphError{status: http.StatusBadRequest, code: code, typ: "OAuthException"}
	switch code {
	case 100:
		e.message, e.details = "(#100) Invalid parameter", "Invalid parameter"
	case 130429:
		e.message, e.subcode = "(#130429) Rate limit hit", 2494055
		e.details = "Message failed to send because there were too many messages sent from this phone number in a short period of time"
	case 131056:
		e.message = "(#131056) (Business Account, Consumer Account) pair rate limit hit"
		e.details = "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time"
	case 131047:
		e.message = "(#131047) Re-engagement message"
		e.details = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
	case 131026:
		e.message, e.details = "(#131026) Message undeliverable", "Message Undeliverable."
	case 132000:
		e.message = "(#132000) Number of parameters does not match the expected number of params"
	case 132001:
		e.status, e.message = http.StatusNotFound, "(#132001) Template name does not exist in the translation"
	case 368:
		e.status, e.message = http.StatusForbidden, "(#368) Temporarily blocked for policies violations"
		e.details = "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy"
	case 131031:
		e.status, e.message = http.StatusForbidden, "(#131031) Business Account locked"
		e.details = "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy, or the data in the request could not be verified against the account"
	}
	if details != "" {
		e.details = details
	}
	return e
}

func writeGraphError(w http.ResponseWriter, e graphError) {
	body := map[string]any{"message": e.message, "type": e.typ, "code": e.code, "fbtrace_id": traceID()}
	if !e.noData {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": e.details}
	}
	if e.subcode != 0 {
		body["error_subcode"] = e.subcode
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handler is an API handler; via says which API the request came through.
type handler func(w http.ResponseWriter, r *http.Request, via string)

var versionRE = regexp.MustCompile(`^v[0-9]{1,2}\.[0-9]$`)

// cloud wraps a Cloud API handler: version, outage, then the bearer token.
func (s *Server) cloud(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !versionRE.MatchString(r.PathValue("version")) {
			writeGraphError(w, graphError{status: http.StatusBadRequest, code: 2500, typ: "OAuthException",
				message: "Unknown path components: /" + r.PathValue("version"), noData: true})
			return
		}
		if s.outageAnswer(w) {
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) != 1 {
			writeGraphError(w, graphError{status: http.StatusUnauthorized, code: 190, typ: "OAuthException",
				message: "Invalid OAuth access token - Cannot parse access token", noData: true})
			return
		}
		h(w, r, ViaCloud)
	}
}

// d360 wraps a 360dialog handler: outage, then the API key. The shape of 360dialog's own
// refusal is unconfirmed; the sandbox answers {"meta":{"success":false,"http_code":…,
// "developer_message":…}} (testdata/dialog360_error_unauthorized.json).
func (s *Server) d360(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.outageAnswer(w) {
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("D360-API-KEY")), []byte(s.cfg.APIKey360)) != 1 {
			write360Error(w, http.StatusUnauthorized, "Invalid api_key")
			return
		}
		h(w, r, ViaDialog360)
	}
}

func write360Error(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"meta": map[string]any{"success": false, "http_code": status, "developer_message": msg}})
}

// outageAnswer answers the request with the outage's status when there is one.
func (s *Server) outageAnswer(w http.ResponseWriter) bool {
	s.mu.Lock()
	status := s.outage
	s.mu.Unlock()
	if status == 0 {
		return false
	}
	e := graphError{status: status, code: 2, typ: "OAuthException", message: "(#2) Service temporarily unavailable", noData: true}
	if status == http.StatusTooManyRequests {
		e.code, e.message = 4, "(#4) Application request limit reached"
	}
	writeGraphError(w, e)
	return true
}

// wireSend is a send request, as either API takes it.
type wireSend struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             *struct {
		Body       string `json:"body"`
		PreviewURL bool   `json:"preview_url"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	CallbackData string `json:"biz_opaque_callback_data"`
}

var toRE = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// send is POST /{version}/{phone-number-id}/messages and 360dialog's POST /messages.
func (s *Server) send(w http.ResponseWriter, r *http.Request, via string) {
	from := r.PathValue("number")
	if via == ViaDialog360 {
		from = DefaultNumbers()[0].ID // a 360dialog key is its number's
	}
	var req wireSend
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeGraphError(w, errorOf(100, "The request body is not valid JSON"))
		return
	}
	now := s.clock.Now()
	to := bellhop.PhoneDigits(req.To)

	s.mu.Lock()
	refuse := func(e graphError) {
		s.refusals = append(s.refusals, Refusal{Via: via, From: from, To: to, Type: req.Type, Code: e.code, At: now})
		s.mu.Unlock()
		writeGraphError(w, e)
	}
	if _, ok := s.number(from); !ok {
		s.mu.Unlock()
		writeGraphError(w, graphError{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException", noData: true,
			message: fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", from)})
		return
	}
	if code := s.restricted[from]; code != 0 {
		refuse(errorOf(code, ""))
		return
	}
	switch {
	case req.MessagingProduct != "whatsapp":
		refuse(errorOf(100, "The parameter messaging_product is required."))
		return
	case !toRE.MatchString(req.To):
		refuse(errorOf(100, "Parameter 'to' is not a valid phone number"))
		return
	}
	m := &Message{ID: wamid(to), Via: via, From: from, To: to, Type: req.Type, CallbackData: req.CallbackData, At: now, Status: "accepted"}
	var tpl Template
	switch req.Type {
	case "text":
		if req.Text == nil || strings.TrimSpace(req.Text.Body) == "" || utf8.RuneCountInString(req.Text.Body) > 4096 {
			refuse(errorOf(100, "text.body is required and may have at most 4096 characters"))
			return
		}
		m.Text = req.Text.Body
	case "template":
		if req.Template == nil || req.Template.Name == "" || req.Template.Language.Code == "" {
			refuse(errorOf(100, "template.name and template.language.code are required"))
			return
		}
		var ok bool
		tpl, ok = s.template(req.Template.Name, req.Template.Language.Code)
		if !ok || tpl.Status != "APPROVED" {
			refuse(errorOf(132001, fmt.Sprintf("template name (%s) does not exist in %s", req.Template.Name, req.Template.Language.Code)))
			return
		}
		var params []string
		for _, c := range req.Template.Components {
			if strings.EqualFold(c.Type, "body") {
				for _, p := range c.Parameters {
					params = append(params, p.Text)
				}
			}
		}
		for _, p := range params {
			if strings.TrimSpace(p) == "" || strings.ContainsAny(p, "\n\t") || strings.Contains(p, "     ") {
				refuse(errorOf(100, "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"))
				return
			}
		}
		if want := paramCount(tpl.Body); len(params) != want {
			refuse(errorOf(132000, fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", len(params), want)))
			return
		}
		m.Template, m.Language, m.Params, m.Text = tpl.Name, tpl.Language, params, fill(tpl.Body, params)
	default:
		refuse(errorOf(100, fmt.Sprintf("Unsupported message type %q", truncate(req.Type, 20))))
		return
	}
	pair := key(from, to)
	if m.Type == "text" {
		if last, ok := s.lastInbound[pair]; !ok || now.Sub(last) >= Window {
			refuse(errorOf(131047, ""))
			return
		}
	}
	recent := s.recent[from][:0]
	for _, t := range s.recent[from] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	s.recent[from] = recent
	if len(recent) >= NumberRate {
		refuse(errorOf(130429, ""))
		return
	}
	if last, ok := s.lastTo[pair]; ok && now.Sub(last) < RecipientGap {
		refuse(errorOf(131056, ""))
		return
	}
	s.recent[from] = append(s.recent[from], now)
	s.lastTo[pair] = now
	s.messages = append(s.messages, m)
	s.byID[m.ID] = m
	undeliverable := s.undeliverable[to]
	outOfOrder := s.outOfOrder
	category := "service"
	if m.Type == "template" {
		category = strings.ToLower(tpl.Category)
	}
	s.mu.Unlock()

	msg := map[string]any{"id": m.ID}
	if m.Type == "template" {
		msg["message_status"] = "accepted"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": to}},
		"messages":          []map[string]any{msg},
	})

	steps := []statusStep{{status: "sent"}, {status: "delivered", after: DeliveredAfter}, {status: "read", after: ReadAfter}}
	switch {
	case undeliverable:
		steps = []statusStep{{status: "failed", code: 131026}}
	case outOfOrder:
		steps = []statusStep{steps[2], steps[0], steps[1]}
	}
	for _, st := range steps {
		st.category = category
		s.hooks.enqueue(job{via: via, messageID: m.ID, step: st})
	}
}

// paramCount is the highest {{n}} in a template's body.
func paramCount(body string) int {
	n := 0
	for _, m := range placeholderRE.FindAllStringSubmatch(body, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

var placeholderRE = regexp.MustCompile(`\{\{([0-9]+)\}\}`)

// fill puts parameters into a template's body.
func fill(body string, params []string) string {
	return placeholderRE.ReplaceAllStringFunc(body, func(p string) string {
		i, _ := strconv.Atoi(p[2 : len(p)-2])
		if i >= 1 && i <= len(params) {
			return params[i-1]
		}
		return p
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// page cuts a Graph list: limit (default 25, at most 100) and after, an opaque cursor.
type page struct {
	start, end int
	limit      int
}

func cursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("idx:" + strconv.Itoa(i)))
}

func cursorIndex(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "idx:") {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimPrefix(string(b), "idx:"))
	return i, err == nil && i >= 0
}

func cut(q url.Values, n int) (page, string) {
	p := page{limit: 25}
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 {
			return p, "limit must be a positive number"
		}
		p.limit = min(l, 100)
	}
	if a := q.Get("after"); a != "" {
		i, ok := cursorIndex(a)
		if !ok {
			return p, "Invalid cursor"
		}
		p.start = i + 1
	}
	p.start = min(p.start, n)
	p.end = min(p.start+p.limit, n)
	return p, ""
}

// graphPage answers a page of items with Graph's paging: cursors, and next while there is more.
func graphPage(w http.ResponseWriter, r *http.Request, items []map[string]any, p page) {
	out := map[string]any{"data": items[p.start:p.end]}
	if p.end > p.start {
		paging := map[string]any{"cursors": map[string]string{"before": cursor(p.start), "after": cursor(p.end - 1)}}
		if p.end < len(items) {
			q := r.URL.Query()
			q.Set("limit", strconv.Itoa(p.limit))
			q.Set("after", cursor(p.end-1))
			paging["next"] = (&url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}).String()
		}
		out["paging"] = paging
	}
	writeJSON(w, http.StatusOK, out)
}

// fields keeps the members a Graph request's fields parameter names (id always); without it,
// the defaults.
func fields(q url.Values, item map[string]any) map[string]any {
	f := q.Get("fields")
	if f == "" {
		return item
	}
	out := map[string]any{"id": item["id"]}
	for _, name := range strings.Split(f, ",") {
		if v, ok := item[strings.TrimSpace(name)]; ok {
			out[strings.TrimSpace(name)] = v
		}
	}
	return out
}

func (s *Server) unknownWABA(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("waba") == s.cfg.WABAID {
		return false
	}
	writeGraphError(w, graphError{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException", noData: true,
		message: fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", r.PathValue("waba"))})
	return true
}

// phoneNumbers is GET /{version}/{waba-id}/phone_numbers.
func (s *Server) phoneNumbers(w http.ResponseWriter, r *http.Request, _ string) {
	if s.unknownWABA(w, r) {
		return
	}
	s.mu.Lock()
	var items []map[string]any
	for _, n := range s.numbers {
		items = append(items, fields(r.URL.Query(), map[string]any{"id": n.ID, "display_phone_number": n.DisplayPhone,
			"verified_name": n.VerifiedName, "quality_rating": n.QualityRating}))
	}
	s.mu.Unlock()
	p, bad := cut(r.URL.Query(), len(items))
	if bad != "" {
		writeGraphError(w, errorOf(100, bad))
		return
	}
	graphPage(w, r, items, p)
}

// components is a template's components as the listing shows them.
func components(t Template) []map[string]any {
	var out []map[string]any
	if t.Header != "" {
		out = append(out, map[string]any{"type": "HEADER", "format": "TEXT", "text": t.Header})
	}
	body := map[string]any{"type": "BODY", "text": t.Body}
	if len(t.Examples) > 0 {
		body["example"] = map[string]any{"body_text": [][]string{t.Examples}}
	}
	out = append(out, body)
	if t.Footer != "" {
		out = append(out, map[string]any{"type": "FOOTER", "text": t.Footer})
	}
	if len(t.Buttons) > 0 {
		var bs []map[string]string
		for _, b := range t.Buttons {
			bs = append(bs, map[string]string{"type": "QUICK_REPLY", "text": b})
		}
		out = append(out, map[string]any{"type": "BUTTONS", "buttons": bs})
	}
	return out
}

// messageTemplates is GET /{version}/{waba-id}/message_templates.
func (s *Server) messageTemplates(w http.ResponseWriter, r *http.Request, _ string) {
	if s.unknownWABA(w, r) {
		return
	}
	s.mu.Lock()
	var items []map[string]any
	for _, t := range s.templates {
		items = append(items, fields(r.URL.Query(), map[string]any{"id": t.ID, "name": t.Name, "language": t.Language,
			"status": t.Status, "category": t.Category, "components": components(t)}))
	}
	s.mu.Unlock()
	p, bad := cut(r.URL.Query(), len(items))
	if bad != "" {
		writeGraphError(w, errorOf(100, bad))
		return
	}
	graphPage(w, r, items, p)
}

// templates360 is 360dialog's GET /v1/configs/templates: offset and limit (default 50, at
// most 1000), statuses in lower case.
func (s *Server) templates360(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	limit, offset := 50, 0
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				write360Error(w, http.StatusBadRequest, p.name+" must be a number")
				return
			}
			*p.dst = n
		}
	}
	limit = min(max(limit, 1), 1000)
	s.mu.Lock()
	all := make([]map[string]any, 0, len(s.templates))
	for _, t := range s.templates {
		reason := "NONE"
		if t.Status == "REJECTED" {
			reason = "PROMOTIONAL"
		}
		all = append(all, map[string]any{"category": t.Category, "components": components(t), "id": t.ID, "language": t.Language,
			"name": t.Name, "namespace": "092819ec_f801_461b_b975_3a2d464f50a8", "rejected_reason": reason, "status": strings.ToLower(t.Status)})
	}
	s.mu.Unlock()
	start := min(offset, len(all))
	end := min(start+limit, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"count": end - start, "filters": map[string]any{}, "limit": limit, "offset": offset,
		"sort": []string{"id"}, "total": len(all), "waba_templates": all[start:end]})
}

func (s *Server) getWebhook360(w http.ResponseWriter, _ *http.Request, _ string) {
	s.mu.Lock()
	u := s.hook360.URL
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"url": u})
}

func (s *Server) setWebhook360(w http.ResponseWriter, r *http.Request, _ string) {
	var req webhook360
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		write360Error(w, http.StatusBadRequest, "want {\"url\": \"https://…\"}")
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		write360Error(w, http.StatusBadRequest, "url must be an absolute http(s) URL")
		return
	}
	s.mu.Lock()
	s.hook360 = webhook360{URL: req.URL, Headers: req.Headers}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"url": req.URL})
}
