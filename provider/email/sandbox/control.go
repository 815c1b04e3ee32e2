package sandbox

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Step is a point of the SMTP conversation where the sandbox can be told to answer otherwise.
type Step string

const (
	StepAuth Step = "auth" // the answer to AUTH
	StepMail Step = "mail" // the answer to MAIL FROM
	StepRcpt Step = "rcpt" // the answer to RCPT TO
	StepData Step = "data" // the answer after the message's final "."
)

// Reply is an SMTP answer: a code, an enhanced status such as "4.3.0" (optional) and a text,
// whose lines become a multi-line reply with the status on every line, as Gmail writes them.
type Reply struct {
	Code     int    `json:"code"`
	Enhanced string `json:"enhanced,omitempty"`
	Text     string `json:"text"`
}

func (r Reply) smtpError() *smtp.SMTPError {
	text := r.Text
	if r.Enhanced != "" {
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			lines[i] = r.Enhanced + " " + l
		}
		text = strings.Join(lines, "\n")
	}
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.NoEnhancedCode, Message: text}
}

// Fail makes the next times answers at step be r instead of the usual one (at StepData the
// message is then not kept). Calls queue up: two Fail calls at one step answer in order.
func (s *Server) Fail(step Step, r Reply, times int) {
	if r.Code < 400 || r.Code > 599 {
		panic(fmt.Sprintf("email sandbox: Fail wants a 4xx or 5xx reply, not %d", r.Code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[step] = append(s.faults[step], r)
	}
}

// RefuseRecipient makes RCPT TO addr answer 550 5.1.1 (no such mailbox) until Reset.
func (s *Server) RefuseRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[strings.ToLower(addr)] = true
}

// DropAfterData makes the next n messages be kept but answered by closing the connection
// (the sender cannot know whether they were accepted).
func (s *Server) DropAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = n
}

// SetDelay makes the server wait d before each thing it writes (its greeting, every answer,
// TLS handshakes); 0 is normal speed.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetCredentials changes the account that may sign in.
func (s *Server) SetCredentials(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = username, password
}

// Credentials returns the account that may sign in.
func (s *Server) Credentials() (username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user, s.pass
}

// Messages returns every message kept, oldest first, repeats included.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Count says how many kept messages carry messageID (with or without angle brackets).
func (s *Server) Count(messageID string) int {
	want := "<" + strings.Trim(strings.TrimSpace(messageID), "<>") + ">"
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.messages {
		if m.MessageID == want {
			n++
		}
	}
	return n
}

// Stats counts what happened since Start or Reset.
type Stats struct {
	Connections int // TCP connections accepted
	Logins      int // successful sign-ins
	FailedAuth  int // refused sign-ins
	Messages    int // messages kept
}

// Stats returns the counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Connections: s.connections, Logins: s.logins, FailedAuth: s.failedAuth, Messages: len(s.messages)}
}

// Reset forgets the messages, counts and every control (the account stays).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	s.refused = map[string]bool{}
	s.faults = map[Step][]Reply{}
	s.dropAfter, s.delay = 0, 0
	s.connections, s.logins, s.failedAuth = 0, 0, 0
}
