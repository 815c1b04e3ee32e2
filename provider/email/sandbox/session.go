package sandbox

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend opens a session per client greeting.
type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tls: isTLS}, nil
}

// session is one client's conversation.
type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	user string // who signed in, "" before
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errNoMailbox    = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable: no such user here"}
)

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.NoAuth {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if err := ss.s.fault(StepAuth); err != nil {
		return nil, err
	}
	check := func(username, password string) error {
		if err := ss.s.authenticate(username, password); err != nil {
			return err
		}
		ss.user = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" && !ss.s.cfg.NoAuth {
		return errAuthRequired
	}
	if err := ss.s.fault(StepMail); err != nil {
		return err
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.fault(StepRcpt); err != nil {
		return err
	}
	if ss.s.isRefused(to) {
		return errNoMailbox
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.fault(StepData); err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.User, m.TLS = ss.from, append([]string(nil), ss.to...), ss.user, ss.tls
	if ss.s.takeDrop() {
		// The message is taken (a real server may have queued it) but its sender never hears:
		// the connection closes before the answer.
		m.Dropped = true
		ss.s.keep(m)
		_ = ss.conn.Conn().Close()
		return nil
	}
	ss.s.keep(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (which go-sasl offers only as a client): it
// asks for the username and the password, each base64-encoded, or takes the username as the
// initial response.
type loginServer struct {
	check    func(username, password string) error
	username []byte
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 {
			l.username = bytes.Clone(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.username = bytes.Clone(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(string(l.username), string(response))
	}
	return nil, false, errors.New("unexpected response")
}

// authenticate compares a sign-in with the account, in constant time.
func (s *Server) authenticate(username, password string) error {
	s.mu.Lock()
	user, pass := s.user, s.pass
	s.mu.Unlock()
	okUser := subtle.ConstantTimeCompare([]byte(username), []byte(user)) == 1
	okPass := subtle.ConstantTimeCompare([]byte(password), []byte(pass)) == 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if !okUser || !okPass {
		s.failedAuth++
		return smtp.ErrAuthFailed
	}
	s.logins++
	return nil
}

func (s *Server) isRefused(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[strings.ToLower(strings.Trim(addr, "<>"))]
}

// fault takes the next reply queued for step, if any.
func (s *Server) fault(step Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[step]
	if len(q) == 0 {
		return nil
	}
	r := q[0]
	s.faults[step] = q[1:]
	return r.smtpError()
}

func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropAfter <= 0 {
		return false
	}
	s.dropAfter--
	return true
}

func (s *Server) keep(m Message) {
	m.ReceivedAt = s.cfg.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
}
