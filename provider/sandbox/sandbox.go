// Package sandbox is a real HTTP server that imitates the IntellectDialog API v2 (the shapes
// recorded in provider/intellectdialog/testdata), for the demo, `bellhop sandbox` and tests.
//
// What it does that the real service does (as far as the public record shows): answers in
// `{"response":{…}}` envelopes, pages lists (limit 20 by default, at most 500), writes and reads
// times as "YYYY-mm-dd HH:ii:ss" in the company's zone, keeps one webhook per account and does
// not deduplicate by mark. What it does for tests: it bans a sender that gets two messages
// closer than its spacing, reports delivery and reading through the webhook, and has fault
// controls (outage, latency, rate limit, listing lag) as Go methods and under /sandbox/.
//
// Choices where the real behaviour is unknown (documented so that tests can rely on them):
//   - GET messages lists oldest first (by id); created_after and created_before are inclusive,
//     to the second.
//   - A message to a phone on the account's stop list is refused with HTTP 422 and an error
//     envelope saying "stop list" (never "banned"/"blocked", which mean the sender), and a
//     new_error callback.
//   - GET messages/{provider_id}/templates answers an empty list for a sender that is not an
//     official WhatsApp Business API one.
//   - DELETE webhooks succeeds when no webhook is installed.
//   - Only the raw key is accepted in Authorization ("Bearer <key>" is refused, as it would be
//     by a server that compares the header with the key).
package sandbox

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // the company zone must load on machines without a zone database

	"github.com/bellhop/bellhop"
)

// Defaults of the organization the sandbox serves when Config says nothing else.
const (
	DefaultAPIKey  = "sandbox-key"
	DefaultOrgID   = "1"
	DefaultOrgName = "Sandbox Hotels"
	DefaultZone    = "Europe/Moscow"
	DefaultSpacing = 300 * time.Second

	// CodeTTL is how long a login code stays valid.
	CodeTTL = 10 * time.Minute
	// WebhookTimeout bounds one webhook delivery.
	WebhookTimeout = 5 * time.Second

	// DeliveredAfter and ViewedAfter are when, after its creation by the sandbox's clock, an
	// accepted message counts as delivered and as read. The sandbox does not wait for these
	// moments: right after accepting it records both, in order, and pushes each to the
	// webhook, so that tests with a stopped clock see them too.
	DeliveredAfter = 1 * time.Second
	ViewedAfter    = 5 * time.Second
)

// SenderWhatsAppAPI is the Go-side type of an official WhatsApp Business API sender, the only
// kind that sends templates. The wire calls it "WhatsApp Business API" (type_id "5").
const SenderWhatsAppAPI = "whatsapp_business_api"

// Config sets up a sandbox. Zero values mean defaults.
type Config struct {
	APIKey  string        // key of the default organization; default "sandbox-key"
	OrgName string        // default "Sandbox Hotels"
	Zone    string        // IANA zone of organizations that name none; default "Europe/Moscow"
	Spacing time.Duration // minimum gap between two messages of one sender; default 300 s
	// WebhookURL is an observer that receives every event of every organization, besides the
	// webhook an organization installs.
	WebhookURL string
	Clock      bellhop.Clock // decides times, spacing, bans, lag and code expiry; default the wall clock
	Logger     *slog.Logger  // default: discard
}

// Organization is one provider account: its key, zone, sending channels and operators.
type Organization struct {
	ID        string
	Name      string
	APIKey    string
	Zone      string // IANA zone; empty: Config.Zone
	Senders   []bellhop.Sender
	Operators []bellhop.Operator
	// Templates are the WhatsApp templates of each official sender (Type SenderWhatsAppAPI),
	// by sender id.
	Templates map[string][]Template
	// StopList holds phones the account must not message (any format; compared by digits).
	StopList []string
}

// Template is an official sender's WhatsApp template. Text has {{1}}, {{2}}, … for the vars.
type Template struct {
	ID       string
	Name     string // the elementName a send names
	Language string // e.g. "en"
	Category string // MARKETING, UTILITY, AUTHENTICATION
	Status   string // APPROVED, REJECTED, PAUSED, …; only approved ones may be sent
	Text     string
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

// OfficialSender is an official WhatsApp Business API sender to add to an organization (as
// sender "3" of the default one, say) together with DefaultTemplates.
func OfficialSender(id string) bellhop.Sender {
	return bellhop.Sender{ID: id, Type: SenderWhatsAppAPI, Name: "Concierge", Phone: "+79990000003"}
}

// DefaultTemplates are an approved welcome template with three vars and a rejected promotion.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "tpl-1", Name: "booking_welcome", Language: "en", Category: "UTILITY", Status: "APPROVED",
			Text: "Hello {{1}}! We look forward to welcoming you at {{2}} on {{3}}."},
		{ID: "tpl-2", Name: "promo_discount", Language: "ru", Category: "MARKETING", Status: "REJECTED",
			Text: "Скидка {{1}}% на следующий визит!"},
	}
}

// Message is a message the sandbox keeps: one it accepted for sending, or a guest's incoming
// one (Incoming).
type Message struct {
	OrgID      string    `json:"org_id"`
	MessageID  string    `json:"message_id"`
	ChatID     string    `json:"chat_id"`
	PersonID   string    `json:"person_id"`
	Phone      string    `json:"phone"` // E.164: + and the digits, whatever format the request used
	SenderID   string    `json:"provider_id"`
	Incoming   bool      `json:"incoming,omitempty"` // from_client
	Text       string    `json:"text"`               // a template's text with its vars
	Template   string    `json:"template,omitempty"`
	Vars       []string  `json:"vars,omitempty"`
	Mark       string    `json:"mark,omitempty"`
	OperatorID string    `json:"operator_id"` // employee_id as sent; empty when none
	Attachment string    `json:"attachment,omitempty"`
	StackID    string    `json:"stack_id,omitempty"`
	Status     string    `json:"status"` // sent, then delivered, then read; incoming: received
	CreatedAt  time.Time `json:"created_at"`
	// DeliveredAt and ViewedAt are zero until the webhook workers record them.
	DeliveredAt time.Time `json:"delivered_at"`
	ViewedAt    time.Time `json:"viewed_at"`

	exID     string      // the provider's id at WhatsApp
	provider providerRef // the sender as it was when the message was made
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
	OrgID    string
	SenderID string
	Accepted int // messages accepted
	// RepeatedMarks counts accepted messages whose mark an earlier accepted message of the
	// organization already had: the provider does not deduplicate, so each is a second
	// message to a guest.
	RepeatedMarks int
	Refused       int  // messages refused because the sender is banned (the banning one included)
	StopListed    int  // messages refused because the phone is on the stop list
	Banned        bool //
	BanReason     string
	Violations    []Violation
	// MinGap is the smallest gap seen between two consecutive messages that reached the ban
	// rule (accepted or refused); HasGap is false until there were two.
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
	loc   *time.Location // Config.Zone's
	mux   *http.ServeMux
	hooks *dispatcher

	mu         sync.Mutex
	orgs       map[string]*org // by id
	orgOrder   []string
	codes      map[string]loginCode
	outage     int
	latency    time.Duration
	listingLag time.Duration
	rateLimit  time.Duration // > 0: the next POST messages answers 429 with this Retry-After
	spacing    map[string]time.Duration
	next       counters
}

// counters hand out ids; they keep counting across Reset.
type counters struct {
	msg, chat, person, stop, stack int
}

func (c *counters) id(n *int) string {
	*n++
	return strconv.Itoa(*n)
}

// org is an organization's live state.
type org struct {
	initial   Organization
	id, name  string
	key       string
	zone      string
	loc       *time.Location
	createdAt time.Time
	senders   []*sender
	operators []operator
	templates map[string][]Template
	messages  []*Message
	byID      map[string]*Message
	marks     map[string]bool
	chats     map[string]string  // sender id + phone digits → chat id
	persons   map[string]*person // by phone digits
	stoplist  []stopEntry
	hook      *webhook             // the one installed; nil when none
	dialogs   map[string][]*Dialog // operator id → dialogs
}

type sender struct {
	bellhop.Sender
	last, lastTry       time.Time // last accepted message, last message that reached the ban rule
	hasLast, hasLastTry bool      // so that a clock at the zero time still works
	stats               SenderStats
}

type operator struct {
	bellhop.Operator
	personID string
}

type person struct {
	id, phone string // phone: digits
}

type stopEntry struct {
	id        string
	person    *person
	createdAt time.Time
}

type webhook struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

type loginCode struct {
	orgID, operatorID string
	expires           time.Time
}

// New returns a sandbox serving the default organization, with cfg's key, name and zone.
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
	s.cfg.Zone, s.loc = s.zone(cfg.Zone)
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

// zone loads an IANA zone; an empty or unknown one is the default (logged when unknown).
func (s *Server) zone(name string) (string, *time.Location) {
	if name == "" {
		name = DefaultZone
		if s.cfg.Zone != "" {
			name = s.cfg.Zone
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		s.log.Warn("sandbox: unknown time zone, using "+DefaultZone, "zone", name, "err", err)
		name = DefaultZone
		loc, _ = time.LoadLocation(DefaultZone)
	}
	return name, loc
}

// ValidZone reports whether name is a zone the sandbox can serve (for command-line checks).
func ValidZone(name string) bool {
	_, err := time.LoadLocation(name)
	return name != "" && err == nil
}

// AddOrganization adds (or replaces, by ID) an organization with its own key. An empty ID
// gets the next free number.
func (s *Server) AddOrganization(o Organization) {
	now := s.clock.Now()
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
	o.StopList = append([]string(nil), o.StopList...)
	tpl := map[string][]Template{}
	for id, ts := range o.Templates {
		tpl[id] = append([]Template(nil), ts...)
	}
	o.Templates = tpl
	if _, ok := s.orgs[o.ID]; !ok {
		s.orgOrder = append(s.orgOrder, o.ID)
	}
	s.orgs[o.ID] = s.newOrg(o, now)
}

// newOrg builds an organization's live state as it was added. Call with s.mu held.
func (s *Server) newOrg(o Organization, createdAt time.Time) *org {
	g := &org{
		initial:   o,
		id:        o.ID,
		name:      o.Name,
		key:       o.APIKey,
		createdAt: createdAt,
		templates: o.Templates,
		byID:      map[string]*Message{},
		marks:     map[string]bool{},
		chats:     map[string]string{},
		persons:   map[string]*person{},
		dialogs:   map[string][]*Dialog{},
	}
	g.zone, g.loc = s.zone(o.Zone)
	for _, sd := range o.Senders {
		g.senders = append(g.senders, &sender{Sender: sd, stats: SenderStats{OrgID: o.ID, SenderID: sd.ID}})
	}
	for _, op := range o.Operators {
		g.operators = append(g.operators, operator{Operator: op, personID: s.next.id(&s.next.person)})
	}
	for _, phone := range o.StopList {
		if d := bellhop.PhoneDigits(phone); d != "" {
			g.stoplist = append(g.stoplist, stopEntry{id: s.next.id(&s.next.stop), person: s.personOf(g, d), createdAt: createdAt})
		}
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

// ServeHTTP serves the API under /v2/, the login pages under /login/ and the control
// endpoints under /sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the webhook workers; pending deliveries are dropped and later messages are
// neither delivered nor read. The API keeps answering.
func (s *Server) Close() { s.hooks.close() }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/companies", s.api(s.companies))
	m.HandleFunc("GET /v2/providers", s.api(s.providers))
	m.HandleFunc("GET /v2/employees", s.api(s.employees))
	m.HandleFunc("POST /v2/employees/{id}/code", s.api(s.loginCode))
	m.HandleFunc("POST /v2/messages", s.acceptThenWait(s.sendMessage))
	m.HandleFunc("GET /v2/messages", s.api(s.listMessages))
	m.HandleFunc("GET /v2/messages/{id}", s.api(s.oneMessage))
	m.HandleFunc("GET /v2/messages/{id}/templates", s.api(s.templates))
	m.HandleFunc("GET /v2/stoplist", s.api(s.stopList))
	m.HandleFunc("GET /v2/persons/stoplist", s.api(s.stopList))
	m.HandleFunc("GET /v2/webhooks", s.api(s.getWebhook))
	m.HandleFunc("POST /v2/webhooks", s.api(s.setWebhook))
	m.HandleFunc("DELETE /v2/webhooks", s.api(s.deleteWebhook))
	m.HandleFunc("/v2/", s.api(func(w http.ResponseWriter, r *http.Request, g *org) {
		s.fail(w, g, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))

	m.HandleFunc("GET /login/{code}", s.loginPage)

	m.HandleFunc("GET /sandbox/stats", s.ctlStats)
	m.HandleFunc("GET /sandbox/messages", s.ctlMessages)
	m.HandleFunc("GET /sandbox/webhooks", s.ctlWebhooks)
	m.HandleFunc("PUT /sandbox/webhooks", s.ctlSetWebhook)
	m.HandleFunc("POST /sandbox/reset", s.ctlReset)
	m.HandleFunc("POST /sandbox/outage", s.ctlOutage)
	m.HandleFunc("POST /sandbox/latency", s.ctlLatency)
	m.HandleFunc("POST /sandbox/listing-lag", s.ctlListingLag)
	m.HandleFunc("POST /sandbox/rate-limit", s.ctlRateLimit)
	m.HandleFunc("POST /sandbox/stoplist", s.ctlStopList)
	m.HandleFunc("POST /sandbox/incoming", s.ctlIncoming)
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

func (g *org) operator(id string) (operator, bool) {
	for _, op := range g.operators {
		if op.ID == id {
			return op, true
		}
	}
	return operator{}, false
}

// stopListed reports whether a phone (digits) is on the organization's stop list.
func (g *org) stopListed(phone string) bool {
	for _, e := range g.stoplist {
		if e.person.phone == phone {
			return true
		}
	}
	return false
}

// personOf returns the person with a phone (digits), adding one. Call with s.mu held.
func (s *Server) personOf(g *org, phone string) *person {
	p := g.persons[phone]
	if p == nil {
		p = &person{id: s.next.id(&s.next.person), phone: phone}
		g.persons[phone] = p
	}
	return p
}

// chatOf returns the chat of a sender with a phone (digits), opening one. Call with s.mu held.
func (s *Server) chatOf(g *org, senderID, phone string) string {
	key := senderID + "\x00" + phone
	chat, ok := g.chats[key]
	if !ok {
		chat = s.next.id(&s.next.chat)
		g.chats[key] = chat
	}
	return chat
}

// spacingOf is the spacing in force for a sender. Call with s.mu held.
func (s *Server) spacingOf(senderID string) time.Duration {
	if d, ok := s.spacing[senderID]; ok {
		return d
	}
	return s.cfg.Spacing
}

// visible reports whether a message shows in GET messages yet (the listing lag). Call with
// s.mu held.
func (s *Server) visible(m *Message, now time.Time) bool {
	return !now.Before(m.CreatedAt.Add(s.listingLag))
}
