// Package sandbox is a real HTTP server that imitates the WhatsApp Business Platform — Meta's
// Cloud API and 360dialog — with the shapes recorded in provider/whatsapp/testdata, for the
// demo and tests.
//
// It serves one business account (WABA) with two numbers and a few templates (approved and
// rejected, in en and ru), under the Cloud API's routes (/{version}/{phone-number-id}/messages,
// /{version}/{waba-id}/phone_numbers and /message_templates, cursor-paged) and 360dialog's
// (/messages, /v1/configs/templates, /v1/configs/webhook; its key is the first number's).
// Like the real service it enforces:
//
//   - the 24-hour window: free text to a recipient who has not written to the number within
//     24 hours is refused with 131047; templates go through;
//   - about one message per 6 s to one recipient from one number (131056);
//   - 80 messages per second per number (130429);
//   - template existence, approval and parameter count (132001, 132000);
//   - restricted numbers (368 or 131031, set by SetRestricted);
//
// and it does not deduplicate anything: the same message twice is two messages. It keeps what
// it was sent (Messages) and refused (Refusals), and reports each accepted message through the
// callback URL: statuses sent → delivered → read (or read first with SetOutOfOrder), or failed
// with 131026 for a recipient set by SetUndeliverable. Cloud API callbacks are signed with the
// app secret (X-Hub-Signature-256); 360dialog's carry the headers set with its webhook instead,
// as 360dialog does not sign. A test injects a guest's message with Inbound, which opens the
// window and is reported as a messages callback.
//
// Times come from Config.Clock; statuses are recorded and pushed right after a send is
// accepted (delivered 1 s and read 5 s after it by that clock), so tests with a stopped clock
// see them too.
package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
)

// Defaults of the account the sandbox serves when Config says nothing else.
const (
	DefaultToken     = "sandbox-wa-token"   // the Cloud API access token
	DefaultAPIKey360 = "sandbox-360-key"    // the 360dialog API key (the first number's)
	DefaultWABAID    = "102290129340398"    // the business account
	DefaultAppSecret = "sandbox-app-secret" // signs Cloud API callbacks
	DefaultVersion   = "v26.0"              // the version DefaultCloudBaseURL names

	// NumberReception and NumberSales are the account's two phone-number ids.
	NumberReception = "106540352242922"
	NumberSales     = "106540352242923"

	// Window, RecipientGap and NumberRate are the limits the sandbox enforces.
	Window       = 24 * time.Hour
	RecipientGap = 6 * time.Second
	NumberRate   = 80 // messages per second per number

	// DeliveredAfter and ReadAfter are the times the statuses name, after the send.
	DeliveredAfter = 1 * time.Second
	ReadAfter      = 5 * time.Second

	// WebhookTimeout bounds one callback delivery.
	WebhookTimeout = 5 * time.Second

	// Via names which API a message came through.
	ViaCloud     = "whatsapp_cloud"
	ViaDialog360 = "dialog360"
)

// Config sets up a sandbox. Zero values mean defaults.
type Config struct {
	Token     string // Cloud API access token
	APIKey360 string // 360dialog API key
	WABAID    string
	AppSecret string // signs Cloud API callbacks
	// WebhookURL is the Cloud API app's callback URL (set in the Meta app in real life;
	// SetWebhookURL changes it). Empty: Cloud API callbacks go nowhere.
	WebhookURL string
	// OutOfOrder sends each message's statuses read, sent, delivered (SetOutOfOrder changes it).
	OutOfOrder bool
	Clock      bellhop.Clock // default the wall clock
	Logger     *slog.Logger  // default discard
}

// Number is one of the account's phone numbers.
type Number struct {
	ID            string
	DisplayPhone  string // "+7 999 000-00-01"
	VerifiedName  string
	QualityRating string
}

// Template is one of the account's templates in one language. Body has {{1}}, {{2}}, …;
// Examples are the sample values the listing shows, one per parameter.
type Template struct {
	ID       string
	Name     string
	Language string
	Category string // MARKETING, UTILITY, AUTHENTICATION
	Status   string // APPROVED, REJECTED, PENDING, …: only APPROVED ones may be sent
	Header   string // a TEXT header, "" for none
	Body     string
	Footer   string
	Buttons  []string // quick replies
	Examples []string
}

// DefaultNumbers are the account's two numbers.
func DefaultNumbers() []Number {
	return []Number{
		{ID: NumberReception, DisplayPhone: "+7 999 000-00-01", VerifiedName: "Sandbox Hotels Reception", QualityRating: "GREEN"},
		{ID: NumberSales, DisplayPhone: "+7 999 000-00-02", VerifiedName: "Sandbox Hotels Sales", QualityRating: "YELLOW"},
	}
}

// DefaultTemplates are a welcome template approved in en and ru (three parameters), a
// rejected promotion (ru) and an approved reminder with a header and a button (en, one
// parameter).
func DefaultTemplates() []Template {
	return []Template{
		{ID: "1029384756102938", Name: "booking_welcome", Language: "en", Category: "UTILITY", Status: "APPROVED",
			Body: "Hello {{1}}! We look forward to welcoming you at {{2}} on {{3}}.", Footer: "Sandbox Hotels",
			Examples: []string{"Anna", "Sandbox Hotels", "3 December"}},
		{ID: "1029384756102939", Name: "booking_welcome", Language: "ru", Category: "UTILITY", Status: "APPROVED",
			Body: "Здравствуйте, {{1}}! Ждём вас в {{2}} {{3}}.", Examples: []string{"Анна", "Sandbox Hotels", "3 декабря"}},
		{ID: "1029384756102940", Name: "promo_discount", Language: "ru", Category: "MARKETING", Status: "REJECTED",
			Body: "Скидка {{1}}% на следующий визит!", Examples: []string{"15"}},
		{ID: "1029384756102941", Name: "checkin_reminder", Language: "en", Category: "UTILITY", Status: "APPROVED",
			Header: "Check-in", Body: "Dear {{1}}, check-in opens at 14:00. Reply to this message if you need anything.",
			Buttons: []string{"Early check-in"}, Examples: []string{"Anna"}},
	}
}

// Message is a message the sandbox accepted.
type Message struct {
	ID           string    `json:"id"`  // wamid.…
	Via          string    `json:"via"` // ViaCloud or ViaDialog360
	From         string    `json:"from"`
	To           string    `json:"to"`   // digits
	Type         string    `json:"type"` // text or template
	Text         string    `json:"text"` // a template's body with its parameters filled in
	Template     string    `json:"template,omitempty"`
	Language     string    `json:"language,omitempty"`
	Params       []string  `json:"params,omitempty"`
	CallbackData string    `json:"callback_data,omitempty"`
	At           time.Time `json:"at"`
	// Status is the furthest status pushed so far: accepted, then sent, delivered, read; or failed.
	Status string `json:"status"`
}

// Refusal is a send the sandbox refused, with Meta's error code.
type Refusal struct {
	Via  string    `json:"via"`
	From string    `json:"from"`
	To   string    `json:"to"`
	Type string    `json:"type"`
	Code int       `json:"code"`
	At   time.Time `json:"at"`
}

// InboundMessage is a guest's message injected with Inbound.
type InboundMessage struct {
	ID   string    `json:"id"`
	To   string    `json:"to"`   // the number's id
	From string    `json:"from"` // digits
	Name string    `json:"name"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Server is the sandbox. It is an http.Handler; Close stops its callback worker.
type Server struct {
	cfg   Config
	clock bellhop.Clock
	log   *slog.Logger
	mux   *http.ServeMux
	hooks *dispatcher

	mu            sync.Mutex
	numbers       []Number
	templates     []Template
	messages      []*Message
	byID          map[string]*Message
	refusals      []Refusal
	lastInbound   map[string]time.Time   // number id + recipient → the guest's last message
	lastTo        map[string]time.Time   // number id + recipient → the last accepted message
	recent        map[string][]time.Time // number id → accepted messages within the last second
	restricted    map[string]int         // number id → 368 or 131031
	undeliverable map[string]bool        // recipient digits
	outage        int
	outOfOrder    bool
	cloudHook     string
	hook360       webhook360
}

type webhook360 struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// New returns a sandbox serving the default account.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	if cfg.APIKey360 == "" {
		cfg.APIKey360 = DefaultAPIKey360
	}
	if cfg.WABAID == "" {
		cfg.WABAID = DefaultWABAID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, clock: cfg.Clock, log: cfg.Logger}
	s.reset()
	s.hooks = newDispatcher(s)
	s.routes()
	return s
}

// reset puts the account back as configured. Call with s.mu held (or before serving).
func (s *Server) reset() {
	s.numbers = DefaultNumbers()
	s.templates = DefaultTemplates()
	s.messages = nil
	s.byID = map[string]*Message{}
	s.refusals = nil
	s.lastInbound = map[string]time.Time{}
	s.lastTo = map[string]time.Time{}
	s.recent = map[string][]time.Time{}
	s.restricted = map[string]int{}
	s.undeliverable = map[string]bool{}
	s.outage = 0
	s.outOfOrder = s.cfg.OutOfOrder
	s.cloudHook = s.cfg.WebhookURL
	s.hook360 = webhook360{}
}

// CloudBaseURL is the Cloud API's base URL on a sandbox served at serverURL.
func CloudBaseURL(serverURL string) string {
	return strings.TrimRight(serverURL, "/") + "/" + DefaultVersion + "/"
}

// Dialog360BaseURL is 360dialog's base URL on a sandbox served at serverURL.
func Dialog360BaseURL(serverURL string) string { return strings.TrimRight(serverURL, "/") + "/" }

// ServeHTTP serves the Cloud API under /{version}/, 360dialog's API under / and the control
// hooks under /sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the callback worker; callbacks not yet delivered are dropped. The API keeps
// answering.
func (s *Server) Close() { s.hooks.close() }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /{version}/{number}/messages", s.cloud(s.send))
	m.HandleFunc("GET /{version}/{waba}/phone_numbers", s.cloud(s.phoneNumbers))
	m.HandleFunc("GET /{version}/{waba}/message_templates", s.cloud(s.messageTemplates))

	m.HandleFunc("POST /messages", s.d360(s.send))
	m.HandleFunc("GET /v1/configs/templates", s.d360(s.templates360))
	m.HandleFunc("GET /v1/configs/webhook", s.d360(s.getWebhook360))
	m.HandleFunc("POST /v1/configs/webhook", s.d360(s.setWebhook360))

	m.HandleFunc("GET /sandbox/messages", s.ctlMessages)
	m.HandleFunc("GET /sandbox/refusals", s.ctlRefusals)
	m.HandleFunc("POST /sandbox/inbound", s.ctlInbound)
	m.HandleFunc("POST /sandbox/outage", s.ctlOutage)
	m.HandleFunc("POST /sandbox/undeliverable", s.ctlUndeliverable)
	m.HandleFunc("POST /sandbox/reset", s.ctlReset)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeGraphError(w, graphError{status: http.StatusBadRequest, code: 2500, typ: "OAuthException",
			message: "Unknown path components: " + r.URL.Path, noData: true})
	})
	s.mux = m
}

// number returns the account's number with an id. Call with s.mu held.
func (s *Server) number(id string) (Number, bool) {
	for _, n := range s.numbers {
		if n.ID == id {
			return n, true
		}
	}
	return Number{}, false
}

// template returns the template with a name in a language. Call with s.mu held.
func (s *Server) template(name, lang string) (Template, bool) {
	for _, t := range s.templates {
		if t.Name == name && t.Language == lang {
			return t, true
		}
	}
	return Template{}, false
}

// wamid makes a message id shaped like Meta's: "wamid." and base64.
func wamid(to string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "wamid." + base64.StdEncoding.EncodeToString(append([]byte("\x18\x0b"+to+"\x15\x02\x00\x11\x18\x12"), b...))
}

// traceID makes an fbtrace_id.
func traceID() string {
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	return "A" + base64.RawURLEncoding.EncodeToString(b)[:22]
}

// key joins a number id and a recipient.
func key(number, to string) string { return number + "\x00" + to }

// unix is a callback timestamp: Unix seconds as a string.
func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// statusRank orders statuses so that the kept one only moves forward.
func statusRank(s string) int {
	return slices.Index([]string{"accepted", "sent", "failed", "delivered", "read"}, s)
}
