// Package sandbox is a real SMTP server (emersion/go-smtp) for the email channel's tests and the
// demo: STARTTLS or implicit TLS with a certificate it makes at start, AUTH PLAIN and LOGIN, and
// every accepted message kept, parsed.
//
// Like a real server it does not deduplicate by Message-ID: a message sent twice is kept twice
// (Count tells how often). For tests it can refuse a recipient (550 5.1.1), answer any reply at
// any step (421, 451, 552 …), drop the connection after taking a whole message without answering
// (the unknown-outcome case: the message is kept, as a real server may have queued it), and be
// slow. Its choices: the greeting names Config.Hostname; sign-in is required before MAIL when a
// username is set (530 5.7.0 otherwise); AUTH is offered only over TLS unless
// Config.AllowInsecureAuth.
package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/bellhop/bellhop"
)

// Mode is how the sandbox encrypts connections.
type Mode string

const (
	// ModeSTARTTLS offers STARTTLS on a plain connection (like port 587).
	ModeSTARTTLS Mode = "starttls"
	// ModeTLS speaks TLS from the first byte (like port 465).
	ModeTLS Mode = "tls"
	// ModePlain offers no encryption at all.
	ModePlain Mode = "none"
)

// Defaults of a zero Config.
const (
	DefaultUsername = "sandbox"
	DefaultPassword = "sandbox-password"
	DefaultHostname = "localhost"
)

// Config sets up a sandbox. Zero values mean defaults.
type Config struct {
	Addr string // where to listen; default 127.0.0.1:0 (a free port)
	Mode Mode   // default ModeSTARTTLS
	// Username and Password are the one account that may sign in; default "sandbox" and
	// "sandbox-password". NoAuth accepts mail without sign-in and offers no AUTH.
	Username, Password string
	NoAuth             bool
	// AllowInsecureAuth offers AUTH on a connection that is not encrypted.
	AllowInsecureAuth bool
	// Hostname is the server's name in its greeting and certificate (which also covers
	// 127.0.0.1 and ::1); default "localhost".
	Hostname        string
	MaxMessageBytes int64         // default 10 MiB
	Clock           bellhop.Clock // the messages' ReceivedAt; default the wall clock
	Logger          *slog.Logger  // default discard
}

// Server is a running sandbox.
type Server struct {
	cfg      Config
	smtp     *smtp.Server
	listener net.Listener
	certPEM  []byte
	pool     *x509.CertPool
	done     chan struct{}
	served   chan struct{}

	mu          sync.Mutex
	user, pass  string
	messages    []Message
	refused     map[string]bool
	faults      map[Step][]Reply
	dropAfter   int
	delay       time.Duration
	connections int
	logins      int
	failedAuth  int
}

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeSTARTTLS
	}
	switch cfg.Mode {
	case ModeSTARTTLS, ModeTLS, ModePlain:
	default:
		return nil, fmt.Errorf("email sandbox: mode %q is not starttls, tls or none", cfg.Mode)
	}
	if cfg.Username == "" && cfg.Password == "" {
		cfg.Username, cfg.Password = DefaultUsername, DefaultPassword
	}
	if cfg.Hostname == "" {
		cfg.Hostname = DefaultHostname
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 10 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cert, certPEM, err := selfSigned(cfg.Hostname, cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("email sandbox: make a certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)

	s := &Server{
		cfg: cfg, certPEM: certPEM, pool: pool,
		done: make(chan struct{}), served: make(chan struct{}),
		user: cfg.Username, pass: cfg.Password,
		refused: map[string]bool{}, faults: map[Step][]Reply{},
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = 50
	srv.AllowInsecureAuth = cfg.AllowInsecureAuth
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.Mode != ModePlain {
		srv.TLSConfig = tlsConfig
	}
	s.smtp = srv

	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("email sandbox: listen on %s: %w", cfg.Addr, err)
	}
	l = &slowListener{Listener: l, s: s}
	if cfg.Mode == ModeTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	s.listener = l
	go func() {
		defer close(s.served)
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			cfg.Logger.Error("email sandbox stopped", "error", err)
		}
	}()
	return s, nil
}

// Close stops the server and ends every connection.
func (s *Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	err := s.smtp.Close()
	// go-smtp closes only the listeners its Serve has registered: a Close that comes before
	// the serving goroutine got there would leave Accept waiting for ever. Closing ours too
	// ends it either way.
	_ = s.listener.Close()
	<-s.served
	return err
}

// Addr is host:port the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Host is the address the server listens on, without the port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Mode is how the server encrypts.
func (s *Server) Mode() Mode { return s.cfg.Mode }

// CertPool holds the server's self-signed certificate, for a client that should trust it.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// CertPEM is the server's certificate, PEM-encoded.
func (s *Server) CertPEM() []byte { return append([]byte(nil), s.certPEM...) }

// selfSigned makes a certificate for hostname, 127.0.0.1 and ::1 that is its own authority.
func selfSigned(hostname string, now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"Bellhop email sandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{hostname},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(hostname); ip != nil {
		tmpl.DNSNames, tmpl.IPAddresses = nil, append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}

// slowListener hands out connections whose every write waits for the configured delay, so a
// slow server is slow at every answer, the greeting included.
type slowListener struct {
	net.Listener
	s *Server
}

func (l *slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.connections++
	l.s.mu.Unlock()
	return &slowConn{Conn: c, s: l.s}, nil
}

type slowConn struct {
	net.Conn
	s *Server
}

func (c *slowConn) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	d := c.s.delay
	c.s.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.s.done:
			t.Stop()
		}
	}
	return c.Conn.Write(p)
}
