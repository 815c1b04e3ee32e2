// Package app is the bellhop command: it parses flags and the environment and wires Main.
// It lives apart from package main so end-to-end tests can start the real Main.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/web"
)

// ErrUsage means the command line was wrong; the usage has been printed.
var ErrUsage = errors.New("usage")

// ExitCode maps an error from Run to a process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	default:
		return 1
	}
}

const topUsage = `Bellhop connects a hotel's PMS to guest-messaging providers.

Usage: bellhop <command> [flags]

Commands:
  serve             run the API and/or the mailing workers (production)
  demo              run everything in one process on embedded defaults
  sandbox           run the sandbox providers: IntellectDialog-style, WhatsApp Business (Cloud
                    API and 360dialog) and an SMTP server
  migrate           apply database migrations
  property create   create a property
  token create      create an API token (or a one-time sign-in link)
  token list        list the API tokens (never the tokens themselves)
  token revoke ID   revoke a token and end the page sessions opened with it
  import bookings FILE --property ID   take in a property's bookings from an NDJSON file

Run 'bellhop <command> --help' for a command's flags.
`

// env is how commands see the process environment and output.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// Run runs the bellhop command line.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return ErrUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, topUsage)
		return nil
	case "serve":
		return e.serve(ctx, rest)
	case "demo":
		return e.demo(ctx, rest)
	case "sandbox":
		return e.sandbox(ctx, rest)
	case "migrate":
		return e.migrate(ctx, rest)
	case "property", "token":
		subs := map[string]func(context.Context, []string) error{"create": e.propertyCreate}
		usage := fmt.Sprintf("Usage: bellhop %s create [flags]\n", cmd)
		if cmd == "token" {
			subs = map[string]func(context.Context, []string) error{"create": e.tokenCreate, "list": e.tokenList, "revoke": e.tokenRevoke}
			usage = "Usage: bellhop token create|list|revoke [flags]\n"
		}
		if len(rest) == 0 || subs[rest[0]] == nil {
			if len(rest) > 0 && (rest[0] == "--help" || rest[0] == "-h") {
				fmt.Fprint(stdout, usage)
				return nil
			}
			fmt.Fprint(stderr, usage)
			return ErrUsage
		}
		return subs[rest[0]](ctx, rest[1:])
	case "import":
		if len(rest) > 0 && (rest[0] == "--help" || rest[0] == "-h") {
			fmt.Fprint(stdout, "Usage: bellhop import bookings FILE --property ID\n")
			return nil
		}
		if len(rest) == 0 || rest[0] != "bookings" {
			fmt.Fprint(stderr, "Usage: bellhop import bookings FILE --property ID\n")
			return ErrUsage
		}
		return e.importBookings(ctx, rest[1:])
	default:
		fmt.Fprintf(stderr, "bellhop: unknown command %q\n\n%s", cmd, topUsage)
		return ErrUsage
	}
}

// parse parses flags; --help prints the usage to stdout and returns errHelp.
func (e env) parse(fs *flag.FlagSet, summary string, args []string) error {
	return e.parseArgs(fs, summary, "", args)
}

// parseArgs is parse for a command that takes positional arguments after its flags, named in
// the usage by argsUsage ("ID"); the command checks fs.Args itself. With argsUsage "", none
// are allowed.
func (e env) parseArgs(fs *flag.FlagSet, summary, argsUsage string, args []string) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: bellhop %s [flags]%s\n\n%s\n\nFlags:\n", fs.Name(), strings.TrimRight(" "+argsUsage, " "), summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fmt.Fprint(w, "\n"+envHelp)
		fs.SetOutput(io.Discard)
	}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(e.stdout)
		return errHelp
	case err != nil:
		fmt.Fprintf(e.stderr, "bellhop %s: %v\n\n", fs.Name(), err)
		usage(e.stderr)
		return ErrUsage
	case fs.NArg() > 0 && argsUsage == "":
		fmt.Fprintf(e.stderr, "bellhop %s: unexpected argument %q\n\n", fs.Name(), fs.Arg(0))
		usage(e.stderr)
		return ErrUsage
	}
	return nil
}

// errHelp ends a command successfully after --help.
var errHelp = errors.New("help shown")

func done(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func (e env) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address the HTTP API listens on")
	role := fs.String("role", "all", "what this process runs: api (HTTP API), worker (mailing jobs) or all")
	if err := e.parse(fs, "Runs Bellhop for production. Scale out by running more --role worker processes.", args); err != nil {
		return done(err)
	}
	cfg, err := ConfigFromEnv(e.getenv, true)
	if err != nil {
		return err
	}
	m := NewMain(cfg)
	m.Addr, m.Role = *addr, Role(*role)
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx)
}

func (e env) sandbox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "address the sandbox listens on; its API is at http://ADDR/v2/")
	key := fs.String("api-key", "sandbox-key", "API key of the sandbox organization")
	spacing := fs.Duration("spacing", 300*time.Second, "a sender that gets two messages closer than this is banned")
	hook := fs.String("webhook-url", "", "URL that also receives every callback (besides the webhook the account installs)")
	zone := fs.String("zone", sandbox.DefaultZone, "the company's time zone: every time on the wire is in it")
	waAddr := fs.String("whatsapp-addr", "127.0.0.1:9091", "address of the WhatsApp Business sandbox (Cloud API and 360dialog); empty: none")
	waHook := fs.String("whatsapp-webhook-url", "", "the Meta app's callback URL: where Cloud API status callbacks go, signed with the app secret")
	smtpAddr := fs.String("smtp-addr", "127.0.0.1:2525", "address of the SMTP sandbox; empty: none")
	if err := e.parse(fs, `Serves an imitation of the IntellectDialog API v2: organization "Sandbox Hotels", senders 1
and 2 (whatsapp), operators 1, 2, 3. Like the real service it pages lists, writes times in the
company's zone and does not deduplicate by mark; it bans a sender that is sent messages closer
together than --spacing. Control endpoints (no key) are under /sandbox/.

Beside it: the WhatsApp Business Platform (Meta's Cloud API under /v26.0/ and 360dialog's under /,
two numbers, approved templates, the 24-hour window, 80/s per number and one message per 6 s per
guest; POST /sandbox/undeliverable {"phone"} makes a phone undeliverable) and an SMTP server that
keeps what it is sent.`, args); err != nil {
		return done(err)
	}
	if *spacing <= 0 {
		return errors.New("--spacing must be positive")
	}
	if *key == "" {
		return errors.New("--api-key must not be empty")
	}
	if !sandbox.ValidZone(*zone) {
		return fmt.Errorf("--zone %q is not a time zone (e.g. Europe/Moscow)", *zone)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (--addr): %w", *addr, err)
	}
	log := newLogger(e.stderr, "")
	cs, err := startChannelSandboxes(*waAddr, *smtpAddr, *waHook, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer cs.Close()
	sb := sandbox.New(sandbox.Config{APIKey: *key, Spacing: *spacing, WebhookURL: *hook, Zone: *zone, Logger: log})
	defer sb.Close()
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "sandbox provider: http://%s/v2/ (API key %q, spacing %s, zone %s)\n", ln.Addr(), *key, *spacing, *zone)
	fmt.Fprint(e.stdout, cs.describe())
	return serveUntil(ctx, srv, ln)
}

func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		return err
	}
}

func (e env) migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := e.parse(fs, "Applies the embedded database migrations to BELLHOP_DATABASE_URL (serve also does at start).", args); err != nil {
		return done(err)
	}
	cfg, err := ConfigFromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range applied {
		fmt.Fprintln(e.stdout, "applied", name)
	}
	fmt.Fprintf(e.stdout, "database is up to date (%s)\n", db.Dialect())
	return nil
}

func (e env) propertyCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("property create", flag.ContinueOnError)
	p := &bellhop.Property{}
	fs.StringVar(&p.ID, "id", "", "the PMS's id of the property (required)")
	fs.StringVar(&p.Name, "name", "", "the hotel's name as guests read it (required)")
	fs.StringVar(&p.TimeZone, "time-zone", "", "IANA time zone, e.g. Europe/Moscow (required)")
	fs.StringVar(&p.Country, "country", "", "ISO 3166 alpha-2 country, the default region of guest phones, e.g. RU")
	fs.StringVar(&p.Language, "language", "en", "default language of guest messages")
	fs.BoolVar(&p.ContactCenter, "contact-center", false, "the subscription includes the Contact Center module")
	if err := e.parse(fs, "Creates a property.", args); err != nil {
		return done(err)
	}
	p.Country = strings.ToUpper(p.Country)
	if err := bellhop.Validate(p); err != nil {
		return errors.New(bellhop.ErrorMessage(err))
	}
	db, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	if err := db.CreateProperty(ctx, p); err != nil {
		if bellhop.ErrorCode(err) == bellhop.EConflict {
			return fmt.Errorf("property %q already exists", p.ID)
		}
		return err
	}
	out, _ := json.Marshal(p)
	fmt.Fprintln(e.stdout, string(out))
	return nil
}

func (e env) tokenCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	pid := fs.String("property", "", "the property the token reaches, or '*' for all (required)")
	role := fs.String("role", "", "admin (property manager) or service (the PMS) (required)")
	link := fs.Bool("link", false, "print a one-time sign-in URL for the Contact Center page instead (admin only; BELLHOP_PUBLIC_URL gives its host)")
	expires := fs.Duration("expires", 0, "how long the token works, e.g. 720h (default: until revoked);\nwith --link: how long the link works (default 1h)")
	if err := e.parse(fs, `Creates an API token and prints it alone on stdout. Only its hash is stored: keep it safe.
With --link it prints a one-time sign-in URL for the Contact Center page instead.
'bellhop token list' shows the tokens, 'bellhop token revoke ID' ends one.`, args); err != nil {
		return done(err)
	}
	if *pid == "" {
		return errors.New("--property is required: a property id, or '*' for all properties")
	}
	if !bellhop.Role(*role).Valid() {
		return fmt.Errorf("--role: %q is not admin or service", *role)
	}
	if *link && bellhop.Role(*role) != bellhop.RoleAdmin {
		return fmt.Errorf("--link: sign-in links are for property managers; use --role admin")
	}
	if *expires < 0 || (*expires > 0 && *expires < time.Minute) {
		return errors.New("--expires must be a duration of a minute or more, such as 720h")
	}
	db, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if *link {
		cfg, err := ConfigFromEnv(e.getenv, false)
		if err != nil {
			return err
		}
		ttl := *expires
		if ttl == 0 {
			ttl = web.SignInLinkTTL
		}
		u, err := createSignInLink(ctx, db, publicURL(cfg), *pid, time.Now().Add(ttl))
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, u)
		return nil
	}
	now := time.Now()
	var until *time.Time
	if *expires > 0 {
		t := now.Add(*expires).UTC()
		until = &t
	}
	tok, err := createToken(ctx, db, *pid, bellhop.Role(*role), now, until)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func (e env) tokenList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	pid := fs.String("property", "", "only the tokens of this property ('*': those that reach every property)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	if err := e.parse(fs, `Lists the API tokens: id, property, role, when made, expiry, last use (to the minute) and
state. The tokens themselves are never shown: only their hashes are stored.`, args); err != nil {
		return done(err)
	}
	db, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.ListTokens(ctx, *pid)
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, t := range list {
			if err := enc.Encode(tokenRow{Token: t, State: tokenState(t, now)}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROPERTY\tROLE\tCREATED\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.PropertyID, t.Role, minute(&t.CreatedAt, "-"),
			minute(t.ExpiresAt, "never"), minute(t.LastUsedAt, "never"), tokenState(t, now))
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stderr, "no tokens")
	}
	return tw.Flush()
}

// tokenRow is a token as `token list --json` prints it: never the secret or its hash.
type tokenRow struct {
	*bellhop.Token
	State string `json:"state"`
}

// tokenState says whether a token works: active, expired or revoked.
func tokenState(t *bellhop.Token, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case !t.Works(now):
		return "expired"
	}
	return "active"
}

// minute shows a time to the minute, in UTC, or none when t is nil.
func minute(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func (e env) tokenRevoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	if err := e.parseArgs(fs, `Revokes the token with this id (see 'bellhop token list'): it stops working at once, and
the Contact Center page sessions opened with it end.`, "ID", args); err != nil {
		return done(err)
	}
	if fs.NArg() != 1 || strings.TrimSpace(fs.Arg(0)) == "" {
		fmt.Fprintln(e.stderr, "Usage: bellhop token revoke ID   (the id from 'bellhop token list')")
		return ErrUsage
	}
	id := strings.TrimSpace(fs.Arg(0))
	db, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	t, ended, err := db.RevokeToken(ctx, id, now)
	if bellhop.IsNotFound(err) {
		return fmt.Errorf("no token has the id %q (see 'bellhop token list')", id)
	} else if err != nil {
		return err
	}
	if !t.RevokedAt.Equal(now.UTC().Truncate(time.Microsecond)) {
		fmt.Fprintf(e.stdout, "token %s was already revoked on %s\n", t.ID, minute(t.RevokedAt, ""))
		return nil
	}
	fmt.Fprintf(e.stdout, "token %s (property %s, %s) revoked; %d page session(s) ended\n", t.ID, t.PropertyID, t.Role, ended)
	return nil
}

// migratedDB opens BELLHOP_DATABASE_URL and brings its schema up to date, so the
// administration commands work on a fresh database.
func (e env) migratedDB(ctx context.Context) (*store.DB, error) {
	cfg, err := ConfigFromEnv(e.getenv, false)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// tokenStore is what creating a token needs.
type tokenStore interface {
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	CreateToken(ctx context.Context, t *bellhop.Token) error
}

// createToken makes a random bearer token, stores its hash and returns it. expiresAt nil:
// the token works until it is revoked.
func createToken(ctx context.Context, db tokenStore, pid string, role bellhop.Role, now time.Time, expiresAt *time.Time) (string, error) {
	if pid != bellhop.AllProperties {
		if _, err := db.GetProperty(ctx, pid); err != nil {
			if bellhop.IsNotFound(err) {
				return "", fmt.Errorf("--property: property %q does not exist (create it with `bellhop property create`)", pid)
			}
			return "", err
		}
	}
	secret := make([]byte, 32)
	id := make([]byte, 8)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	tok := "bh_" + base64.RawURLEncoding.EncodeToString(secret)
	err := db.CreateToken(ctx, &bellhop.Token{ID: hex.EncodeToString(id), Hash: web.HashToken(tok), PropertyID: pid, Role: role,
		CreatedAt: now.UTC(), ExpiresAt: expiresAt})
	if err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	return tok, nil
}

// defaultPublicURL is where people reach Bellhop when BELLHOP_PUBLIC_URL is not set.
const defaultPublicURL = "http://127.0.0.1:8080"

func publicURL(cfg Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return defaultPublicURL
}

// linkStore is what making a sign-in link needs.
type linkStore interface {
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	web.LinkStore
}

// createSignInLink makes a one-time sign-in link to the Contact Center page of a property
// (or '*') for a property manager.
func createSignInLink(ctx context.Context, db linkStore, base, pid string, expiresAt time.Time) (string, error) {
	if pid != bellhop.AllProperties {
		if _, err := db.GetProperty(ctx, pid); err != nil {
			if bellhop.IsNotFound(err) {
				return "", fmt.Errorf("--property: property %q does not exist (create it with `bellhop property create`)", pid)
			}
			return "", err
		}
	}
	u, err := web.CreateSignInLink(ctx, db, base, pid, bellhop.RoleAdmin, expiresAt)
	if err != nil {
		return "", fmt.Errorf("store sign-in link: %w", err)
	}
	return u, nil
}
