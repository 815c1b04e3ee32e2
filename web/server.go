// Package web serves Bellhop's HTTP JSON API and the property manager's Contact Center pages:
// bearer tokens and sessions, one error format, health, readiness and metrics.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/mapping"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Store is the storage the API reads and writes directly.
type Store interface {
	CreateProperty(ctx context.Context, p *bellhop.Property) error
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	UpdateProperty(ctx context.Context, p *bellhop.Property) error
	UpsertStaff(ctx context.Context, s *bellhop.Staff) (bool, error)
	GetStaff(ctx context.Context, pid, sid string) (*bellhop.Staff, error)
	ListStaff(ctx context.Context, pid string, activeOnly bool) ([]*bellhop.Staff, error)
	DeleteStaff(ctx context.Context, pid, sid string) error
	TokenByHash(ctx context.Context, hash []byte) (*bellhop.Token, error)
	// TouchToken records a token's use (the store writes at most one a minute).
	TouchToken(ctx context.Context, id string, now time.Time) error
}

// Check is one readiness dependency (database, Redis).
type Check func(ctx context.Context) error

// Config wires a Server. Zero values mean defaults where one is given.
type Config struct {
	Store     Store
	Connector *connector.Service
	Mapping   *mapping.Service
	Mailings  *mailings.Service
	Pacing    Pacing
	Clock     bellhop.Clock // default: system clock
	Logger    *slog.Logger  // default: slog.Default()
	// Ready lists the dependencies /readyz checks, by name.
	Ready map[string]Check
	// Registry receives the HTTP metrics and serves /metrics; default: a new registry.
	Registry *prometheus.Registry
	// PublicURL is where people reach Bellhop; an https URL makes the pages' cookies Secure.
	PublicURL string
	// StopList is the properties' own stop lists; nil: the stop-list API answers 404.
	StopList StopList
	// Unsubscribe reads the tokens of e-mails' unsubscribe links; nil: every link is not found.
	Unsubscribe Unsubscriber
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *httpMetrics
}

// New returns a Server with its routes.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newHTTPMetrics(cfg.Registry)}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))

	// Properties and staff: provisioned by the PMS.
	m.Handle("POST /api/v1/properties", s.auth(bellhop.RoleService, s.handleCreateProperty))
	m.Handle("GET /api/v1/properties/{pid}", s.auth("", s.handleGetProperty))
	m.Handle("PATCH /api/v1/properties/{pid}", s.auth(bellhop.RoleService, s.handlePatchProperty))
	m.Handle("GET /api/v1/properties/{pid}/staff", s.auth("", s.handleListStaff))
	m.Handle("GET /api/v1/properties/{pid}/staff/{sid}", s.auth("", s.handleGetStaff))
	m.Handle("PUT /api/v1/properties/{pid}/staff/{sid}", s.auth(bellhop.RoleService, s.handlePutStaff))
	m.Handle("DELETE /api/v1/properties/{pid}/staff/{sid}", s.auth(bellhop.RoleService, s.handleDeleteStaff))

	// Integrations: the property manager's.
	const in = "/api/v1/properties/{pid}/integrations/{provider}"
	m.Handle("GET /api/v1/properties/{pid}/integrations", s.auth(bellhop.RoleAdmin, s.handleListIntegrations))
	m.Handle("GET "+in, s.auth(bellhop.RoleAdmin, s.handleGetIntegration))
	m.Handle("PUT "+in, s.auth(bellhop.RoleAdmin, s.handlePutIntegration))
	m.Handle("POST "+in+"/check", s.auth(bellhop.RoleAdmin, s.handleCheckIntegration))
	m.Handle("GET "+in+"/senders", s.auth(bellhop.RoleAdmin, s.handleListSenders))
	m.Handle("PUT "+in+"/sender", s.auth(bellhop.RoleAdmin, s.handlePutSender))
	m.Handle("POST "+in+"/activate", s.auth(bellhop.RoleAdmin, s.handleActivate))
	m.Handle("GET "+in+"/templates", s.auth(bellhop.RoleAdmin, s.handleTemplates))
	m.Handle("POST "+in+"/deactivate", s.auth(bellhop.RoleAdmin, s.handleDeactivate))

	// Staff ↔ operator links: the property manager's; chat sessions: the PMS's (or a manager's).
	const pp = "/api/v1/properties/{pid}"
	m.Handle("GET "+pp+"/operators", s.auth(bellhop.RoleAdmin, s.handleListOperators))
	m.Handle("GET "+pp+"/mapping", s.auth(bellhop.RoleAdmin, s.handleListMapping))
	m.Handle("PUT "+pp+"/mapping/{sid}", s.auth(bellhop.RoleAdmin, s.handlePutMapping))
	m.Handle("DELETE "+pp+"/mapping/{sid}", s.auth(bellhop.RoleAdmin, s.handleDeleteMapping))
	m.Handle("GET "+pp+"/mapping-changes", s.auth(bellhop.RoleAdmin, s.handleMappingChanges))
	m.Handle("POST "+pp+"/chat-sessions", s.auth("", s.handleOpenChat))

	// Bookings: pushed by the PMS. Mailings and the ledger: the property manager's.
	m.Handle("PUT "+pp+"/bookings/{bid}", s.auth(bellhop.RoleService, s.handlePutBooking))
	// Bulk intake (onboarding): a literal segment, so it never reaches bookings/{bid}.
	m.Handle("POST "+pp+"/bookings:batch", s.auth(bellhop.RoleService, s.handleBatchBookings))
	m.Handle("DELETE "+pp+"/bookings/{bid}", s.auth(bellhop.RoleService, s.handleCancelBooking))
	m.Handle("GET "+pp+"/bookings/{bid}", s.auth("", s.handleGetBooking))
	m.Handle("GET "+pp+"/mailings", s.auth(bellhop.RoleAdmin, s.handleListMailings))
	m.Handle("GET "+pp+"/mailings/preview", s.auth(bellhop.RoleAdmin, s.handlePreview))
	m.Handle("GET "+pp+"/capacity", s.auth("", s.handleCapacity))
	m.Handle("GET "+pp+"/mailings/{kind}", s.auth(bellhop.RoleAdmin, s.handleGetMailing))
	m.Handle("PATCH "+pp+"/mailings/{kind}", s.auth(bellhop.RoleAdmin, s.handlePatchMailing))
	m.Handle("GET "+pp+"/deliveries", s.auth("", s.handleListDeliveries))
	m.Handle("GET "+pp+"/deliveries/{id}", s.auth("", s.handleGetDelivery))
	m.Handle("POST "+pp+"/deliveries/{id}/retry", s.auth(bellhop.RoleAdmin, s.handleRetryDelivery))
	m.Handle("GET "+in+"/pacer", s.auth(bellhop.RoleAdmin, s.handlePacerState))
	m.Handle("PATCH "+in+"/pacer", s.auth(bellhop.RoleAdmin, s.handlePacerSettings))
	m.Handle("POST "+in+"/pacer/resume", s.auth(bellhop.RoleAdmin, s.handlePacerResume))
	// Provider callbacks prove themselves the kind's way instead of with a token; GET is
	// Meta's subscription check.
	m.HandleFunc("POST /webhooks/{provider}/{pid}", s.handleWebhook)
	m.HandleFunc("GET /webhooks/{provider}/{pid}", s.handleWebhook)

	s.stopListRoutes(m)
	s.pageRoutes(m)

	// Anything else under the API is a JSON 404, not the mux's text page.
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, bellhop.Errorf(bellhop.ENotFound, "No such API path: %s %s.", r.Method, clipPath(r.URL.Path)))
	})
}

// ServeHTTP runs the middleware chain: request id, recovery, metrics and access log, routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := requestID(r)
	w.Header().Set("X-Request-Id", rid)
	ctx := withRequestID(r.Context(), rid)
	r = r.WithContext(ctx)
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log(ctx).ErrorContext(ctx, "panic serving request", "panic", v, "stack", string(debug.Stack()))
			if !rw.wrote {
				s.writeError(rw, r, bellhop.Errorf(bellhop.EInternal, "internal error"))
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rw.status)).Inc()
		s.metrics.duration.WithLabelValues(r.Method, route).Observe(d.Seconds())
		if route != "GET /metrics" && route != "GET /healthz" {
			// One line per request: its attributes as s.log(ctx) would write them, without
			// building that logger.
			s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "http request", slog.String("request_id", rid),
				slog.String("method", r.Method), slog.String("path", loggedPath(r)), slog.Int("status", rw.status),
				slog.Int64("duration_ms", d.Milliseconds()))
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/webhooks/") {
		if err := checkRequestText(r); err != nil {
			s.writeError(rw, r, err)
			return
		}
	}
	s.mux.ServeHTTP(rw, r)
}

// loggedPath is the request path as logs may show it: a one-time sign-in link is a secret,
// and an unsubscribe link's token and a stop-list contact name a guest's address, so their
// paths are logged as their routes.
func loggedPath(r *http.Request) string {
	for _, name := range []string{"link", "token", "contact"} {
		if r.PathValue(name) != "" {
			return strings.ReplaceAll(r.Pattern[strings.Index(r.Pattern, "/"):], "{"+name+"}", "…")
		}
	}
	return clipPath(r.URL.Path)
}

// clipPath keeps a path short enough to repeat in an answer or a log line: the server reads
// URLs of up to a megabyte.
func clipPath(p string) string {
	const most = 200
	if len(p) <= most {
		return p
	}
	return strings.ToValidUTF8(p[:most], "") + "…"
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID keeps a caller's well-formed X-Request-Id so logs join across systems.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); requestIDRE.MatchString(id) {
		return id
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type requestIDKey struct{}

func withRequestID(ctx context.Context, rid string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, rid)
}

// log is the logger for what happens serving the request of ctx: its lines carry the
// request's id. It is built when something is logged, not for every request.
func (s *Server) log(ctx context.Context) *slog.Logger {
	if rid, ok := ctx.Value(requestIDKey{}).(string); ok {
		return s.cfg.Logger.With("request_id", rid)
	}
	return s.cfg.Logger
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bellhop_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := map[string]string{}
	status := http.StatusOK
	for name, check := range s.cfg.Ready {
		if err := check(ctx); err != nil {
			out[name] = "down: " + err.Error()
			status = http.StatusServiceUnavailable
			s.log(ctx).WarnContext(ctx, "readiness check failed", "dependency", name, "error", err)
		} else {
			out[name] = "ok"
		}
	}
	writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": out})
}
