// Package sandbox is a real HTTP server speaking the IntellectDialog-style protocol, for the
// demo, `bellhop sandbox` and tests. It keeps what it was sent, deduplicates by mark, calls
// webhooks with statuses and bans a sender that gets two messages closer than its spacing.
package sandbox

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// Defaults of the organization the sandbox serves when Config says nothing else.
const (
	DefaultAPIKey  = "sandbox-key"
	DefaultOrgID   = "1"
	DefaultOrgName = "Sandbox Hotels"
	DefaultSpacing = 300 * time.Second

	// CodeTTL is how long a login code stays valid.
	CodeTTL = 10 * time.Minute
	// WebhookTimeout bounds one webhook delivery.
	WebhookTimeout = 5 * time.Second
)

// Config sets up a sandbox. Zero values mean defaults.
type Config struct {
	APIKey     string        // key of the default organization; default "sandbox-key"
	OrgName    string        // default "Sandbox Hotels"
	Spacing    time.Duration // minimum gap between two messages of one sender; default 300 s
	WebhookURL string        // also receives every event of every organization
	Clock      bellhop.Clock // decides spacing, bans and code expiry; default the wall clock
	Logger     *slog.Logger  // default: discard
	// PublicURL is the base of login URLs (e.g. http://127.0.0.1:9090); default: taken from
	// the request's Host.
	PublicURL string
}

// Organization is one provider account: its key, sending channels and operators.
type Organization struct {
	ID        string
	Name      string
	APIKey    string
	Senders   []bellhop.Sender
	Operators []bellhop.Operator
}

// DefaultOrganization is what New serves with a zero Config (key and name aside).
func DefaultOrganization() Organization {
	return Organization{
		ID:     DefaultOrgID,
		Name:   DefaultOrgName,
		APIKey: DefaultAPIKey,
		Senders: []bellhop.Sender{
			{ID: "1", Type: "whatsapp", Name: "Reception", Phone: "+79990000001"},
			{ID: "2", Type: "whatsapp", Name: "Sales", Phone: "+79990000002"},
		},
		Operators: []bellhop.Operator{
			{ID: "1", Name: "Irina Orlova", Email: "irina@sandbox-hotels.example"},
			{ID: "2", Name: "Pavel Smirnov", Email: "pavel@sandbox-hotels.example"},
			{ID: "3", Name: "Elena Kuznetsova", Email: "elena@sandbox-hotels.example"},
		},
	}
}

// Message is a message the sandbox accepted.
type Message struct {
	OrgID      string    `json:"org_id"`
	MessageID  string    `json:"message_id"`
	ChatID     string    `json:"chat_id"`
	Phone      string    `json:"phone"`
	SenderID   string    `json:"provider_id"`
	Text       string    `json:"text"`
	Mark       string    `json:"mark,omitempty"`
	Status     string    `json:"status"` // sent, then delivered, then read
	OperatorID string    `json:"operator_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// Violation is a message that came sooner than its sender's spacing allowed and got it banned.
type Violation struct {
	At    time.Time     // by the sandbox's clock
	Gap   time.Duration // since the previous accepted message of the sender
	Min   time.Duration // the spacing in force
	Phone string
	Mark  string
}

// SenderStats is what one sender was sent.
type SenderStats struct {
	OrgID      string
	SenderID   string
	Accepted   int  // new messages accepted
	Duplicates int  // repeats of a known mark (not new sends)
	Refused    int  // messages refused because the sender is banned (the banning one included)
	Banned     bool //
	BanReason  string
	Violations []Violation
	// MinGap is the smallest gap seen between two consecutive new messages (accepted or
	// refused); HasGap is false until there were two.
	MinGap  time.Duration
	HasGap  bool
	Spacing time.Duration
}

// Dialog is a guest chat an operator sees on the login page.
type Dialog struct {
	ChatID      string `json:"chat_id"`
	GuestName   string `json:"guest_name"`
	Phone       string `json:"phone"`
	SenderID    string `json:"provider_id"`
	LastMessage string `json:"last_message"`
}

// Server is the sandbox provider. It is an http.Handler; Close stops its webhook workers.
type Server struct {
	cfg   Config
	clock bellhop.Clock
	log   *slog.Logger
	mux   *http.ServeMux
	hooks *dispatcher

	mu        sync.Mutex
	orgs      map[string]*org // by id
	orgOrder  []string
	codes     map[string]loginCode
	outage    int
	latency   time.Duration
	rateLimit time.Duration // > 0: the next POST messages answers 429 with this Retry-After
	spacing   map[string]time.Duration
	nextMsg   int
	nextChat  int
	nextHook  int
}

// org is an organization's live state.
type org struct {
	initial   Organization
	id, name  string
	key       string
	senders   []*sender
	operators []bellhop.Operator
	messages  []*Message
	byMark    map[string]*Message
	byID      map[string]*Message
	chats     map[string]string // sender id + phone → chat id
	webhooks  []webhook
	dialogs   map[string][]*Dialog // operator id → dialogs
}

type sender struct {
	bellhop.Sender
	last, lastTry       time.Time // last accepted message, last new message
	hasLast, hasLastTry bool      // so that a clock at the zero time still works
	stats               SenderStats
}

type webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

type loginCode struct {
	orgID, operatorID string
	expires           time.Time
}

// New returns a sandbox serving the default organization, with cfg's key and name.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Spacing <= 0 {
		cfg.Spacing = DefaultSpacing
	}
	s := &Server{
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		orgs:    map[string]*org{},
		codes:   map[string]loginCode{},
		spacing: map[string]time.Duration{},
	}
	s.hooks = newDispatcher(s)
	def := DefaultOrganization()
	if cfg.APIKey != "" {
		def.APIKey = cfg.APIKey
	}
	if cfg.OrgName != "" {
		def.Name = cfg.OrgName
	}
	s.AddOrganization(def)
	s.routes()
	return s
}

// AddOrganization adds (or replaces, by ID) an organization with its own key. An empty ID
// gets the next free number.
func (s *Server) AddOrganization(o Organization) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == "" {
		o.ID = strconv.Itoa(len(s.orgs) + 1)
		for s.orgs[o.ID] != nil {
			o.ID += "0"
		}
	}
	o.Senders = append([]bellhop.Sender(nil), o.Senders...)
	o.Operators = append([]bellhop.Operator(nil), o.Operators...)
	if _, ok := s.orgs[o.ID]; !ok {
		s.orgOrder = append(s.orgOrder, o.ID)
	}
	s.orgs[o.ID] = newOrg(o)
}

func newOrg(o Organization) *org {
	g := &org{
		initial:   o,
		id:        o.ID,
		name:      o.Name,
		key:       o.APIKey,
		operators: append([]bellhop.Operator(nil), o.Operators...),
		byMark:    map[string]*Message{},
		byID:      map[string]*Message{},
		chats:     map[string]string{},
		dialogs:   map[string][]*Dialog{},
	}
	for _, sd := range o.Senders {
		g.senders = append(g.senders, &sender{Sender: sd, stats: SenderStats{OrgID: o.ID, SenderID: sd.ID}})
	}
	var senderID string
	if len(o.Senders) > 0 {
		senderID = o.Senders[0].ID
	}
	for i, op := range g.operators {
		g.dialogs[op.ID] = seedDialogs(i, senderID)
	}
	return g
}

// guests are the fake guests of the seeded dialogs.
var guests = []struct{ name, phone string }{
	{"Anna Petrova", "+79161000001"}, {"John Smith", "+447700900001"},
	{"Maria Garcia", "+34600000001"}, {"Li Wei", "+8613800000001"},
	{"Olga Ivanova", "+79161000002"}, {"Thomas Müller", "+491510000001"},
}

// seedDialogs gives the i-th operator one or two fake guest chats of its own.
func seedDialogs(i int, senderID string) []*Dialog {
	n := 1 + (i+1)%2
	var ds []*Dialog
	for j := 0; j < n; j++ {
		g := guests[(2*i+j)%len(guests)]
		ds = append(ds, &Dialog{
			ChatID:      "seed-" + strconv.Itoa(i+1) + "-" + strconv.Itoa(j+1),
			GuestName:   g.name,
			Phone:       g.phone,
			SenderID:    senderID,
			LastMessage: "Hello! Is early check-in possible?",
		})
	}
	return ds
}

// ServeHTTP serves the API under /v2/, the login pages under /login/ and the inspection
// endpoints under /sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the webhook workers; pending deliveries are dropped. The API keeps answering.
func (s *Server) Close() { s.hooks.close() }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/companies", s.api(s.companies))
	m.HandleFunc("GET /v2/providers", s.api(s.providers))
	m.HandleFunc("GET /v2/employees", s.api(s.employees))
	m.HandleFunc("POST /v2/employees/{id}/code", s.api(s.loginCode))
	m.HandleFunc("POST /v2/messages", s.api(s.sendMessage))
	m.HandleFunc("GET /v2/messages", s.api(s.listMessages))
	m.HandleFunc("GET /v2/webhooks", s.api(s.listWebhooks))
	m.HandleFunc("POST /v2/webhooks", s.api(s.createWebhook))
	m.HandleFunc("DELETE /v2/webhooks/{id}", s.api(s.deleteWebhook))
	m.HandleFunc("/v2/", s.api(func(w http.ResponseWriter, r *http.Request, _ *org) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))

	m.HandleFunc("GET /login/{code}", s.loginPage)

	m.HandleFunc("GET /sandbox/stats", s.ctlStats)
	m.HandleFunc("GET /sandbox/messages", s.ctlMessages)
	m.HandleFunc("GET /sandbox/webhooks", s.ctlWebhooks)
	m.HandleFunc("POST /sandbox/reset", s.ctlReset)
	m.HandleFunc("POST /sandbox/outage", s.ctlOutage)
	m.HandleFunc("POST /sandbox/latency", s.ctlLatency)
	m.HandleFunc("POST /sandbox/rate-limit", s.ctlRateLimit)
	m.HandleFunc("POST /sandbox/senders/{id}/unban", s.ctlUnban)
	m.HandleFunc("POST /sandbox/senders/{id}/spacing", s.ctlSpacing)
	m.HandleFunc("DELETE /sandbox/senders/{id}", s.ctlRemoveSender)
	m.HandleFunc("DELETE /sandbox/operators/{id}", s.ctlRemoveOperator)
	s.mux = m
}

// orgList returns the organizations in the order they were added. Call with s.mu held.
func (s *Server) orgList() []*org {
	out := make([]*org, 0, len(s.orgOrder))
	for _, id := range s.orgOrder {
		out = append(out, s.orgs[id])
	}
	return out
}

// byKey finds the organization of an API key. Call with s.mu held.
func (s *Server) byKey(key string) *org {
	if key == "" {
		return nil
	}
	for _, g := range s.orgs {
		if g.key == key {
			return g
		}
	}
	return nil
}

func (g *org) sender(id string) *sender {
	for _, sd := range g.senders {
		if sd.ID == id {
			return sd
		}
	}
	return nil
}

func (g *org) operator(id string) (bellhop.Operator, bool) {
	for _, op := range g.operators {
		if op.ID == id {
			return op, true
		}
	}
	return bellhop.Operator{}, false
}

// spacingOf is the spacing in force for a sender. Call with s.mu held.
func (s *Server) spacingOf(senderID string) time.Duration {
	if d, ok := s.spacing[senderID]; ok {
		return d
	}
	return s.cfg.Spacing
}
