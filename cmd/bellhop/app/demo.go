package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/web"
	"github.com/redis/go-redis/v9"
)

const (
	demoProperty = "demo-hotel"
	demoTimeZone = "Europe/Moscow"
)

// demoState is what the demo keeps in its data folder between runs (tokens are shown again).
type demoState struct {
	AdminToken   string `json:"admin_token"`
	ServiceToken string `json:"service_token"`
}

func (e env) demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	data := fs.String("data", "bellhop-demo", "folder for the demo's SQLite database, secret key and tokens")
	addr := fs.String("addr", "127.0.0.1:8080", "address the API listens on")
	sbAddr := fs.String("sandbox-addr", "127.0.0.1:0", "address of the sandbox provider (port 0: any free port)")
	spacing := fs.Duration("spacing", 300*time.Second, "sandbox: minimum spacing between messages of one sender before it bans it")
	waAddr := fs.String("whatsapp-addr", "127.0.0.1:0", "address of the WhatsApp Business sandbox (Cloud API and 360dialog); empty: none")
	smtpAddr := fs.String("smtp-addr", "127.0.0.1:0", "address of the SMTP sandbox; empty: none")
	if err := e.parse(fs, `Runs Bellhop in one process on embedded defaults: SQLite in --data, Redis at REDIS_ADDR
(or a redis-server child process on a free port), the sandbox providers (IntellectDialog-style,
WhatsApp Business, SMTP), and a seeded demo property with staff. Prints the URL, tokens and curl
lines that walk the integration flow and connect the other channels.`, args); err != nil {
		return done(err)
	}
	cfg, err := ConfigFromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("--data: create %s: %w", *data, err)
	}
	if len(cfg.SecretKey) == 0 {
		if cfg.SecretKey, err = demoSecret(filepath.Join(*data, "secret.key")); err != nil {
			return err
		}
	}
	if e.getenv("BELLHOP_DATABASE_URL") == "" {
		cfg.DatabaseURL = filepath.Join(*data, "bellhop.db")
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Redis: the one configured if it answers, else a child redis-server.
	redisAddr, stopRedis, err := demoRedis(ctx, cfg.RedisAddrs, *data, e.stderr)
	if err != nil {
		return err
	}
	defer stopRedis()
	cfg.RedisAddrs = []string{redisAddr}

	// The sandbox provider.
	sbLn, err := net.Listen("tcp", *sbAddr)
	if err != nil {
		return fmt.Errorf("--sandbox-addr: listen on %s: %w", *sbAddr, err)
	}
	sb := sandbox.New(sandbox.Config{Spacing: *spacing, Logger: log})
	defer sb.Close()
	// The hotel's PMS already receives the sandbox account's callbacks (an account has one
	// webhook), as real hotels' PMSs often do: activation has to choose what to do with it.
	sbMux := http.NewServeMux()
	sbMux.Handle("/", sb)
	sbMux.HandleFunc("POST /pms/callbacks", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		log.Info("the hotel's PMS received a provider callback", "bytes", n)
	})
	sbSrv := &http.Server{Handler: sbMux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = sbSrv.Serve(sbLn) }()
	defer sbSrv.Close()
	sandboxURL := "http://" + sbLn.Addr().String() + "/v2/"
	pmsHook := "http://" + sbLn.Addr().String() + "/pms/callbacks?token=demo-pms-token"
	sb.SetWebhook(sandbox.DefaultOrgID, pmsHook, []string{"new_message", "new_status"})

	// The other channels' sandboxes: WhatsApp Business (its Cloud API callbacks go where the
	// Meta app would send them, once the public URL is known) and SMTP.
	cs, err := startChannelSandboxes(*waAddr, *smtpAddr, "", log)
	if err != nil {
		return err
	}
	defer cs.Close()

	// The pacer keeps the sandbox's rule: one message per --spacing per sender. The demo's
	// queue and pacer keys stay apart from anything else on a shared Redis.
	if e.getenv("BELLHOP_SEND_INTERVAL") == "" {
		cfg.SendInterval = *spacing
	}
	if cfg.RedisNamespace == "" {
		cfg.RedisNamespace = "demo"
	}
	// The sandbox and the demo PMS listen on loopback over plain http.
	cfg.AllowPrivateProviders = true
	m := NewMain(cfg)
	m.Addr, m.Role, m.Logger = *addr, RoleAll, log
	if m.Config.PublicURL == "" {
		m.Config.PublicURL = "http://" + *addr
	}
	if cs.whatsapp != nil {
		cs.whatsapp.SetWebhookURL(strings.TrimRight(m.Config.PublicURL, "/") + "/webhooks/whatsapp_cloud/" + demoProperty)
	}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	st, err := seedDemo(ctx, m.DB, filepath.Join(*data, "tokens.json"))
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	// A fresh one-time link each run: links work once.
	pageURL := m.URL()
	if cfg.PublicURL != "" {
		pageURL = cfg.PublicURL
	}
	link, err := createSignInLink(ctx, m.DB, pageURL, demoProperty, time.Now().Add(24*time.Hour))
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	printDemo(e.stdout, m.URL(), link, sandboxURL, redisAddr, *data, st, m.Clock.Now())
	printDemoChannels(e.stdout, m.URL(), cs)
	return m.Run(ctx)
}

// demoSecret reads the demo's secret key, making one on first run.
func demoSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s is not a base64 32-byte key; delete it to make a new one (sealed API keys will need entering again)", path)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("save demo secret key: %w", err)
	}
	return key, nil
}

// demoRedis returns the address of a Redis that answers: the configured one, or a child
// redis-server on a free port that the returned function stops.
func demoRedis(ctx context.Context, addrs []string, dir string, stderr io.Writer) (string, func(), error) {
	if len(addrs) == 1 {
		c := redis.NewClient(&redis.Options{Addr: addrs[0], DialTimeout: time.Second, MaxRetries: -1})
		err := c.Ping(ctx).Err()
		c.Close()
		if err == nil {
			return addrs[0], func() {}, nil
		}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("the demo needs Redis: none answers at REDIS_ADDR (%s) and redis-server is not installed. "+
			"Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_ADDR to a running Redis", strings.Join(addrs, ","))
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	abs, _ := filepath.Abs(dir)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", abs)
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server started on %s but does not answer", addr)
		}
		select {
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// seedDemo creates the demo property, its staff and tokens once; later runs reuse them.
func seedDemo(ctx context.Context, db *store.DB, tokensPath string) (demoState, error) {
	now := time.Now().UTC()
	_, err := db.GetProperty(ctx, demoProperty)
	if bellhop.IsNotFound(err) {
		err = db.CreateProperty(ctx, &bellhop.Property{
			ID: demoProperty, Name: "Demo Hotel", TimeZone: demoTimeZone, Country: "RU", Language: "en",
			ContactCenter: true, CreatedAt: now, UpdatedAt: now,
		})
	}
	if err != nil {
		return demoState{}, err
	}
	for _, s := range []bellhop.Staff{
		{ID: "anna", Name: "Anna Petrova", Email: "anna@demo-hotel.example"},
		{ID: "ivan", Name: "Ivan Sokolov", Email: "ivan@demo-hotel.example"},
		{ID: "maria", Name: "Maria Garcia", Email: "maria@demo-hotel.example"},
	} {
		if _, err := db.GetStaff(ctx, demoProperty, s.ID); err == nil {
			continue
		}
		s.PropertyID, s.Active, s.CreatedAt, s.UpdatedAt = demoProperty, true, now, now
		if _, err := db.UpsertStaff(ctx, &s); err != nil {
			return demoState{}, err
		}
	}
	var st demoState
	if b, err := os.ReadFile(tokensPath); err == nil && json.Unmarshal(b, &st) == nil && st.AdminToken != "" {
		a, aerr := db.TokenByHash(ctx, web.HashToken(st.AdminToken))
		s, serr := db.TokenByHash(ctx, web.HashToken(st.ServiceToken))
		if aerr == nil && serr == nil && a.Works(now) && s.Works(now) {
			return st, nil
		}
	}
	if st.AdminToken, err = createToken(ctx, db, demoProperty, bellhop.RoleAdmin, now, nil); err != nil {
		return st, err
	}
	if st.ServiceToken, err = createToken(ctx, db, bellhop.AllProperties, bellhop.RoleService, now, nil); err != nil {
		return st, err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(tokensPath, b, 0o600); err != nil {
		return st, fmt.Errorf("save demo tokens: %w", err)
	}
	return st, nil
}

func printDemo(w io.Writer, url, link, sandboxURL, redisAddr, data string, st demoState, now time.Time) {
	loc, _ := time.LoadLocation(demoTimeZone)
	tomorrow := now.In(loc).AddDate(0, 0, 1)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	api := url + "/api/v1/properties/" + demoProperty
	fmt.Fprintf(bw, `
Bellhop demo is running.
  Page:           %s/p/%s   (the Contact Center page)
  Sign-in link:   %s   (works once, for a day; or sign in with the admin token)
  API:            %s
  Sandbox:        %s   (API key: sandbox-key)
  Redis:          %s
  Data folder:    %s
  Admin token:    %s   (property %s)
  Service token:  %s   (all properties)

Open the sign-in link in a browser and walk the flow on the page, or through the API (copy and paste):
  export ADMIN=%s
  # 1. enter the API key (a wrong one answers 422 invalid_api_key at the check)
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"api_key":"sandbox-key","base_url":"%s"}' %s/integrations/intellectdialog
  # 2. check it against the provider
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/integrations/intellectdialog/check
  # 3. list the senders and pick one
  curl -s -H "Authorization: Bearer $ADMIN" %s/integrations/intellectdialog/senders
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"sender_id":"1"}' %s/integrations/intellectdialog/sender
  # 4. activate: the account's one webhook belongs to the hotel's PMS, so this answers
  #    409 webhook_in_use naming it, and changes nothing
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/integrations/intellectdialog/activate
  #    keep the PMS working: Bellhop takes the webhook and passes every callback on to it
  #    (or {"replace_webhook":true}; either way deactivating puts the PMS's webhook back)
  curl -s -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"forward_to_existing":true}' %s/integrations/intellectdialog/activate

Link staff to operators and open a chat (as the PMS does when Anna clicks "Chats with guests"):
  export SERVICE=%s
  curl -s -H "Authorization: Bearer $ADMIN" %s/operators
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"operator_id":"1"}' %s/mapping/anna
  curl -s -H "Authorization: Bearer $ADMIN" %s/mapping
  curl -s -X POST -H "Authorization: Bearer $SERVICE" -H 'Content-Type: application/json' \
    -d '{"staff_id":"anna"}' %s/chat-sessions      # open the "url" it returns

Send a welcome (after activating): the PMS pushes a booking for tomorrow, the manager switches
the welcome on, and the ledger shows it planned, sent (paced, one per sender per --spacing) and read:
  curl -s -X PUT -H "Authorization: Bearer $SERVICE" -H 'Content-Type: application/json' \
    -d '{"status":"confirmed","guarantee":"guaranteed","arrival":"%s","departure":"%s","updated_at":"%s","guest":{"name":"Анна Петрова","phone":"+7 912 345-67-89","email":"anna@guest.example","language":"ru"}}' \
    %s/bookings/B-1
  curl -s -X PATCH -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"enabled":true}' %s/mailings/welcome
  curl -s -H "Authorization: Bearer $ADMIN" %s/deliveries
  curl -s -H "Authorization: Bearer $ADMIN" '%s/mailings/preview?days=7'
  curl -s %s/../sandbox/messages
`, url, demoProperty, link, url, sandboxURL, redisAddr, data, st.AdminToken, demoProperty, st.ServiceToken,
		st.AdminToken, sandboxURL, api, api, api, api, api, api,
		st.ServiceToken, api, api, api, api,
		tomorrow.Format("2006-01-02"), tomorrow.AddDate(0, 0, 2).Format("2006-01-02"), now.UTC().Format(time.RFC3339),
		api, api, api, api, strings.TrimSuffix(sandboxURL, "/"))
}

// printDemoChannels shows how to connect the demo property to the WhatsApp Business and SMTP
// sandboxes and how to make WhatsApp fail for a guest, so that the welcome falls back to email.
func printDemoChannels(w io.Writer, url string, cs *channelSandboxes) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	api := url + "/api/v1/properties/" + demoProperty + "/integrations"
	if cs.whatsapp != nil {
		fmt.Fprintf(bw, `
Connect the official WhatsApp (the sandbox's Cloud API; its callbacks are signed with the app secret):
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"access_token":%q,"waba_id":%q,"app_secret":%q,"base_url":%q}' %s/whatsapp_cloud
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/whatsapp_cloud/check     # two numbers, with quality
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"sender_id":%q}' %s/whatsapp_cloud/sender
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/whatsapp_cloud/activate
  curl -s -H "Authorization: Bearer $ADMIN" %s/whatsapp_cloud/templates
  (360dialog works the same: PUT {"api_key":%q,"base_url":%q} to %s/dialog360)
`, wasandbox.DefaultToken, wasandbox.DefaultWABAID, wasandbox.DefaultAppSecret, wasandbox.CloudBaseURL(cs.whatsappURL), api,
			api, wasandbox.NumberReception, api, api, api, wasandbox.DefaultAPIKey360, wasandbox.Dialog360BaseURL(cs.whatsappURL), api)
	}
	if cs.mail != nil {
		fmt.Fprintf(bw, `
Connect email (the SMTP sandbox; the account is its one sender, chosen at the check):
  curl -s -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '%s' %s/email
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/email/check
  curl -s -X POST -H "Authorization: Bearer $ADMIN" %s/email/activate
`, cs.emailBody(), api, api, api)
	}
	if cs.whatsapp != nil && cs.mail != nil {
		fmt.Fprintf(bw, `
Try fallback: the welcome goes by WhatsApp first, then email; make Anna's number undeliverable
on WhatsApp and watch the ledger:
  curl -s -X PATCH -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"sending_methods":["whatsapp_cloud","email"]}' %s/../mailings/welcome
  curl -s -X POST -H 'Content-Type: application/json' -d '{"phone":"+79123456789"}' %s/sandbox/undeliverable
`, api, cs.whatsappURL)
	}
	fmt.Fprint(bw, "\nPress Ctrl+C to stop.\n")
}
