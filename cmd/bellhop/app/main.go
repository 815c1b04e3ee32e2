package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/mapping"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/channels"
	"github.com/bellhop/bellhop/provider/email"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/queue/pacer"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

// Role says which parts a serving process runs.
type Role string

const (
	RoleAPI    Role = "api"
	RoleWorker Role = "worker"
	RoleAll    Role = "all"
)

// Main is a running Bellhop process: database, Redis, HTTP API and workers. Tests start the
// real Main on port 0 with a temporary database.
type Main struct {
	Config Config
	Addr   string // listen address, e.g. ":8080" or "127.0.0.1:0"
	Role   Role
	Clock  bellhop.Clock
	Logger *slog.Logger
	// Kinds are the channel kinds; default: every kind Bellhop ships (provider/channels).
	Kinds *provider.Registry
	// TuneWorker, when set, adjusts the send workers' settings before they start (tests use it
	// to sweep sooner).
	TuneWorker func(*queue.Config)

	DB        *store.DB
	Redis     redis.UniversalClient
	Connector *connector.Service
	Mapping   *mapping.Service
	Mailings  *mailings.Service
	Pacer     *pacer.Pacer
	// RecipientPacer paces one recipient's messages on kinds that limit them.
	RecipientPacer *pacer.Pacer
	Worker         *queue.Worker
	Queue          *queue.Client
	// Horizon queues planned sends as they come within the planning horizon, and Retention
	// erases guest data past the retention period (worker roles; one process at a time each).
	Horizon   *queue.Horizon
	Retention *mailings.Retention
	Registry  *prometheus.Registry
	// Unsubscribe makes and reads e-mails' unsubscribe links; default: BELLHOP_PUBLIC_URL's
	// host (the API's address when unset), a key derived from BELLHOP_SECRET_KEY.
	Unsubscribe *email.Links

	listener net.Listener
	server   *http.Server
}

// NewMain returns a Main with defaults for what cfg leaves empty.
func NewMain(cfg Config) *Main {
	return &Main{Config: cfg, Addr: ":8080", Role: RoleAll, Clock: bellhop.SystemClock{}}
}

// Open connects to the database (migrating it) and Redis, and listens; it does not serve yet.
func (m *Main) Open(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = newLogger(os.Stderr, m.Config.LogLevel)
	}
	if m.Kinds == nil {
		m.Kinds = channels.Registry()
	}
	switch m.Role {
	case RoleAPI, RoleWorker, RoleAll:
	default:
		return fmt.Errorf("--role: %q is not one of api, worker, all", m.Role)
	}
	if len(m.Config.SecretKey) == 0 {
		return errors.New("BELLHOP_SECRET_KEY is not set: it must be 32 random bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)")
	}
	db, err := openDB(ctx, m.Config.DatabaseURL)
	if err != nil {
		return err
	}
	m.DB = db
	if _, err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	m.Redis = m.Config.newRedis()
	if err := pingRedis(ctx, m.Redis, m.Config); err != nil {
		return err
	}
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m.Role == RoleAPI || m.Role == RoleAll {
		ln, err := net.Listen("tcp", m.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s (--addr): %w", m.Addr, err)
		}
		m.listener = ln
		if m.Config.PublicURL == "" {
			m.Config.PublicURL = m.URL()
			m.Logger.Warn("BELLHOP_PUBLIC_URL is not set: the provider is given the listen address for webhooks", "url", m.Config.PublicURL)
		}
	}
	if m.Config.AllowPrivateProviders {
		m.Logger.Info("BELLHOP_ALLOW_PRIVATE_PROVIDERS is on: provider addresses may be plain http or inside this network")
	}
	sealer, err := connector.NewSealer(m.Config.SecretKey)
	if err != nil {
		return fmt.Errorf("BELLHOP_SECRET_KEY: %w", err)
	}
	if m.Unsubscribe == nil {
		if m.Config.PublicURL == "" {
			// A worker alone does not know where guests reach the API.
			m.Logger.Warn("BELLHOP_PUBLIC_URL is not set: e-mails' unsubscribe links point to " + defaultPublicURL + ", which guests cannot open; set it to the API's public https address")
		}
		if m.Unsubscribe, err = email.NewLinks(publicURL(m.Config), m.Config.SecretKey); err != nil {
			return err
		}
	}
	// The database is the pacer's memory, Redis its cache: a sender whose Redis keys are lost
	// is rebuilt from the database before it may send again.
	// A sender's default interval is its kind's pacing profile (300 s for a WhatsApp Web
	// number, 1/80 s for a Cloud API number, …) unless BELLHOP_SEND_INTERVAL sets one for all.
	pc := pacer.Config{Interval: m.Config.SendInterval, KeyPrefix: m.Config.pacerPrefix(), Memory: db,
		AutoPipeline: m.Config.singleRedis(), GrantReplicas: m.Config.GrantReplicas}
	if m.Config.SendInterval == DefaultSendInterval {
		pc.IntervalFor = queue.Intervals(m.Kinds, false)
	}
	m.Pacer, err = pacer.New(m.Redis, m.Clock, pc)
	if err != nil {
		return fmt.Errorf("pacer: %w", err)
	}
	// Kinds that limit messages to one recipient (Cloud API: one per 6 s) are paced per
	// recipient as well, through the same Redis pacer. Such limits are short: they live in
	// Redis alone, and a recipient's line is forgotten an hour after its slot.
	m.RecipientPacer, err = pacer.New(m.Redis, m.Clock, pacer.Config{KeyPrefix: m.Config.pacerPrefix() + "rcpt:",
		Jitter: -1, ForgetAfter: time.Hour, IntervalFor: queue.Intervals(m.Kinds, true)})
	if err != nil {
		return fmt.Errorf("pacer: %w", err)
	}
	m.Queue = queue.NewClient(m.Redis, m.Config.queueName())
	// The connector creates the mailings when an integration is first activated, and the
	// mailings ask the connector for the approved templates a saved mailing names.
	m.Connector, err = connector.New(connector.Config{
		Store: db, Kinds: m.Kinds, Sealer: sealer, Clock: m.Clock, Logger: m.Logger, PublicURL: m.Config.PublicURL,
		OnActivate: []connector.ActivateHook{func(ctx context.Context, in *bellhop.Integration) error {
			return m.Mailings.EnsureMailings(ctx, in)
		}},
		Addresses: m.Config.addresses(), Report: m.reportStatus, Relay: m.Queue,
	})
	if err != nil {
		return err
	}
	m.Mailings, err = newMailings(db, m.Queue, queue.SenderPaces{Pacer: m.Pacer}, m.Clock, m.Logger, m.Kinds, m.Config.PlanHorizon, m.Connector)
	if err != nil {
		return err
	}
	// A send due as it is queued gets its place in its sender's line first, and its task is
	// queued for that slot (one run, one Acquire) instead of waiting for it through a retry.
	m.Queue.UsePlacer(queue.NewPlacer(queueStore{db}, m.Pacer, m.Clock, 0, m.Logger))
	if m.Role == RoleWorker || m.Role == RoleAll {
		wc := queue.Config{
			Store: queueStore{db}, Connector: m.Connector, Pacer: m.Pacer, Client: m.Queue,
			Clock: m.Clock, Logger: m.Logger, Registerer: m.Registry, SendTimeout: m.Config.SendTimeout,
			RelayClient: m.Config.addresses().NoRedirectClient(), Horizon: m.Config.PlanHorizon,
			Kinds: m.Kinds, RecipientPacer: m.RecipientPacer, Unsubscribe: m.Unsubscribe,
		}
		if m.TuneWorker != nil {
			m.TuneWorker(&wc)
		}
		m.Worker, err = queue.NewWorker(wc)
		if err != nil {
			return err
		}
		m.Horizon, err = queue.NewHorizon(queue.HorizonConfig{Store: db, Client: m.Queue, Redis: m.Redis,
			Clock: m.Clock, Logger: m.Logger, Horizon: m.Config.PlanHorizon})
		if err != nil {
			return err
		}
		if m.Config.Retention > 0 {
			m.Retention, err = mailings.NewRetention(mailings.RetentionConfig{Store: db, Clock: m.Clock, Logger: m.Logger,
				Keep: m.Config.Retention, Lease: queue.NewLease(m.Redis, m.Config.leaseKey("retention"), 5*time.Minute)})
			if err != nil {
				return err
			}
		}
	}
	m.Mapping, err = mapping.New(mapping.Config{Store: db, Connector: m.Connector, Clock: m.Clock, Logger: m.Logger})
	if err != nil {
		return err
	}
	if m.listener != nil {
		pacing, err := queue.NewPacing(queue.PacingConfig{
			Pacer: m.Pacer, Integrations: m.Connector, Store: db, Waker: m.Mailings, Clock: m.Clock, Logger: m.Logger,
		})
		if err != nil {
			return err
		}
		api := web.New(web.Config{
			Store: db, Connector: m.Connector, Mapping: m.Mapping, Mailings: m.Mailings, Pacing: pacing, Clock: m.Clock, Logger: m.Logger, Registry: m.Registry,
			PublicURL: m.Config.PublicURL, StopList: db, Unsubscribe: m.Unsubscribe,
			Ready: map[string]web.Check{
				"database": db.Ping,
				"redis":    func(ctx context.Context) error { return m.Redis.Ping(ctx).Err() },
			},
		})
		m.server = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)}
	}
	return nil
}

// reportStatus applies a callback's event of channel kind to the property's deliveries; a
// guest's message opens the channel's customer window (WhatsApp's 24 hours).
func (m *Main) reportStatus(ctx context.Context, pid, kind string, ev provider.StatusEvent) (bool, error) {
	if inbound, err := m.Mailings.NoteInbound(ctx, pid, kind, ev); err != nil || inbound {
		return false, err
	}
	rep, ok := mailings.ReportEvent(ev)
	if !ok {
		return false, nil // a status Bellhop does not track
	}
	rep.Channel = kind
	return m.Mailings.Report(ctx, pid, rep)
}

// newMailings is the mailings service over db, queueing sends with q those due within the
// planning horizon; pacing may be nil (no capacity view), a mailing may name the channel
// kinds given, and its WhatsApp templates are checked with templates when it is saved (nil:
// saved unchecked).
func newMailings(db *store.DB, q *queue.Client, pacing mailings.Pacing, clock bellhop.Clock, logger *slog.Logger, kinds *provider.Registry,
	horizon time.Duration, templates mailings.TemplateCatalog) (*mailings.Service, error) {
	return mailings.New(mailings.Config{Store: mailingsStore{db}, Scheduler: q, Clock: clock, Logger: logger,
		Pacing: pacing, SendingMethods: kinds.Names(), Kinds: kinds, Horizon: horizon, Templates: templates})
}

// URL is the base URL the API listens on, once Open has run.
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	addr := m.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Run serves until ctx is done, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	workerDone := make(chan struct{})
	if m.Worker != nil {
		go func() {
			defer close(workerDone)
			m.Logger.Info("bellhop workers running", "role", m.Role)
			var jobs sync.WaitGroup
			jobs.Go(func() { _ = m.Horizon.Run(ctx) })
			if m.Retention != nil {
				jobs.Go(func() { _ = m.Retention.Run(ctx) })
			}
			if err := m.Worker.Run(ctx, m.Redis); err != nil {
				errc <- err
			}
			jobs.Wait()
		}()
	} else {
		close(workerDone)
	}
	if m.server != nil {
		go func() {
			m.Logger.Info("bellhop API listening", "url", m.URL(), "role", m.Role)
			if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve HTTP: %w", err)
	}
	if m.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.server.Shutdown(sctx); err != nil {
			return fmt.Errorf("shut down HTTP: %w", err)
		}
	}
	<-workerDone
	return nil
}

// Close releases the database and Redis.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Close())
	} else if m.listener != nil {
		errs = append(errs, m.listener.Close())
	}
	if m.Queue != nil {
		errs = append(errs, m.Queue.Close())
	}
	if m.Redis != nil {
		errs = append(errs, m.Redis.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

func openDB(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("BELLHOP_DATABASE_URL: %w", err)
	}
	return db, nil
}

func pingRedis(ctx context.Context, c redis.UniversalClient, cfg Config) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		addrs := strings.Join(cfg.RedisAddrs, ",")
		if cfg.RedisSentinelMaster != "" {
			return fmt.Errorf("REDIS_ADDR, REDIS_SENTINEL_MASTER: the sentinels at %s do not lead to an answering master %q: %w", addrs, cfg.RedisSentinelMaster, err)
		}
		return fmt.Errorf("REDIS_ADDR: Redis at %s does not answer: %w", addrs, err)
	}
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
