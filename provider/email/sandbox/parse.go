package sandbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Message is one message the sandbox accepted, parsed.
type Message struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	User string   // who signed in; "" without sign-in
	TLS  bool     // the message came over an encrypted connection
	// Header is the message's header as written (values not decoded).
	Header    mail.Header
	Subject   string // decoded
	MessageID string // as written, e.g. "<dl_…@bellhop.example>"
	// Text and HTML are the decoded text/plain and text/html parts (of a multipart/alternative,
	// or the single body).
	Text, HTML string
	// ContentType is the top-level media type, e.g. "multipart/alternative".
	ContentType string
	Raw         []byte
	// ParseError says why the message could not be read in full; "" when it could.
	ParseError string
	// Dropped: the sandbox kept the message but closed the connection instead of answering.
	Dropped    bool
	ReceivedAt time.Time
}

var words = new(mime.WordDecoder)

// parse reads a raw message. What it cannot read it notes in ParseError; it never refuses.
func parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseError = "header: " + err.Error()
		return m
	}
	m.Header = msg.Header
	m.MessageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	if subj, err := words.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	} else {
		m.Subject = msg.Header.Get("Subject")
		m.ParseError = "subject: " + err.Error()
	}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, _, _ := mime.ParseMediaType(ct)
	m.ContentType = mediaType
	if err := m.readPart(ct, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil && m.ParseError == "" {
		m.ParseError = "body: " + err.Error()
	}
	return m
}

// readPart reads one MIME entity into Text or HTML, descending into multiparts.
func (m *Message) readPart(contentType, encoding string, body io.Reader, depth int) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth > 5 {
			return fmt.Errorf("multipart nested too deep")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			pct := p.Header.Get("Content-Type")
			if pct == "" {
				pct = "text/plain"
			}
			if err := m.readPart(pct, p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return err
			}
		}
	}
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	default:
		r = body
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mediaType {
	case "text/plain":
		if m.Text == "" {
			m.Text = text
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = text
		}
	}
	return nil
}

// newlineStripper drops line breaks from base64 text.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		out := p[:0]
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				out = append(out, c)
			}
		}
		if len(out) > 0 || err != nil {
			return len(out), err
		}
	}
}
