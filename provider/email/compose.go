package email

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	mail "github.com/wneessen/go-mail"
)

// MessageID returns our Message-ID for a delivery, "<deliveryID@domain>": the same delivery
// always gets the same one, so a retry is recognisable in the guest's mailbox and in bounces.
// domain is Bellhop's host (e.g. the public URL's); it is lower-cased and reduced to the
// characters a domain may hold, and "bellhop.invalid" when nothing is left. Characters of
// deliveryID that may not stand in a Message-ID are written "=XX" (hex), which ParseMessageID
// reverses.
func MessageID(deliveryID, domain string) string {
	var b strings.Builder
	b.WriteByte('<')
	for i := 0; i < len(deliveryID); i++ {
		ch := deliveryID[i]
		if ch != '=' && (atext(ch) || ch == '.' && i > 0 && i < len(deliveryID)-1 && deliveryID[i-1] != '.') {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "=%02X", ch)
	}
	if deliveryID == "" {
		b.WriteString("=00")
	}
	b.WriteByte('@')
	b.WriteString(messageIDDomain(domain))
	b.WriteByte('>')
	return b.String()
}

// ParseMessageID reads back what MessageID wrote: the delivery id and the domain. ok is false
// for a Message-ID of another shape (not ours, or someone else's).
func ParseMessageID(id string) (deliveryID, domain string, ok bool) {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") {
		return "", "", false
	}
	local, domain, found := strings.Cut(id[1:len(id)-1], "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", "", false
	}
	var b strings.Builder
	for i := 0; i < len(local); i++ {
		ch := local[i]
		if ch != '=' {
			if !atext(ch) && ch != '.' {
				return "", "", false
			}
			b.WriteByte(ch)
			continue
		}
		if i+2 >= len(local) || !isHex(local[i+1]) || !isHex(local[i+2]) {
			return "", "", false
		}
		b.WriteByte(unhex(local[i+1])<<4 | unhex(local[i+2]))
		i += 2
	}
	if b.String() == "\x00" {
		return "", domain, true
	}
	return b.String(), domain, true
}

// atext reports a character RFC 5322 allows in a dot-atom.
func atext(ch byte) bool {
	switch {
	case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", ch) >= 0
}

func isHex(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'A' && ch <= 'F' || ch >= 'a' && ch <= 'f'
}

func unhex(ch byte) byte {
	switch {
	case ch >= 'a':
		return ch - 'a' + 10
	case ch >= 'A':
		return ch - 'A' + 10
	}
	return ch - '0'
}

func messageIDDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if host, err := url.Parse(domain); err == nil && host.Host != "" {
		domain = host.Hostname() // a URL such as BELLHOP_PUBLIC_URL
	}
	domain = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return -1
	}, domain)
	for strings.Contains(domain, "..") {
		domain = strings.ReplaceAll(domain, "..", ".")
	}
	domain = strings.Trim(domain, ".-")
	if domain == "" {
		return "bellhop.invalid"
	}
	return domain
}

// validMessageID reports a Message-ID of the form <left@right> with nothing that would break
// the header.
func validMessageID(id string) bool {
	if len(id) > 250 || !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") {
		return false
	}
	left, right, ok := strings.Cut(id[1:len(id)-1], "@")
	if !ok || left == "" || right == "" {
		return false
	}
	for i := 1; i < len(id)-1; i++ {
		if ch := id[i]; ch <= ' ' || ch >= 0x7f || ch == '<' || ch == '>' {
			return false
		}
	}
	return true
}

// reserved are the header fields the client writes itself; Message.Headers cannot set them.
var reserved = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"list-unsubscribe": true, "list-unsubscribe-post": true, "return-path": true,
}

// compose checks m and builds the MIME message.
func (c *Client) compose(m Message) (*mail.Msg, error) {
	invalid := func(format string, args ...any) (*mail.Msg, error) {
		return nil, c.fail(stepCheck, ClassInvalid, fmt.Sprintf(format, args...), nil)
	}
	to := strings.TrimSpace(m.To)
	if to == "" {
		return nil, c.fail(stepCheck, ClassUndeliverable, "The guest has no email address", nil)
	}
	if msg := addressProblem(to); msg != "" {
		return nil, c.fail(stepCheck, ClassUndeliverable, "The guest's email address "+msg, nil)
	}
	if msg := nameProblem(m.ToName); msg != "" {
		return invalid("The guest's name %s", msg)
	}
	subject := strings.TrimSpace(m.Subject)
	switch {
	case subject == "":
		return invalid("The message has no subject")
	case !utf8.ValidString(subject) || strings.ContainsFunc(subject, unicode.IsControl):
		return invalid("The subject must be one line of text")
	case strings.TrimSpace(m.Text) == "":
		return invalid("The message has no text")
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) || strings.ContainsRune(m.Text, 0) || strings.ContainsRune(m.HTML, 0):
		return invalid("The message text is not valid UTF-8 text")
	}
	id := strings.TrimSpace(m.MessageID)
	if id != "" && !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	if !validMessageID(id) {
		return invalid("The message has no Message-ID of the form <delivery-id@host> (see MessageID)")
	}

	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(c.fromName, c.from); err != nil {
		return nil, c.fail(stepCheck, ClassInvalid, "The from address cannot be written", err)
	}
	if err := msg.AddToFormat(strings.TrimSpace(m.ToName), to); err != nil {
		return nil, c.fail(stepCheck, ClassUndeliverable, "The guest's email address cannot be written", err)
	}
	msg.Subject(subject)
	msg.SetDateWithValue(c.clock.Now())
	msg.SetMessageIDWithValue(id[1 : len(id)-1])
	if u := strings.TrimSpace(m.ListUnsubscribe); u != "" {
		if strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == '<' || r == '>' || r == ',' || r > 0x7e }) {
			return invalid("The unsubscribe URL must be a plain https URL")
		}
		if err := msg.SetListUnsubscribeOneClick(u); err != nil {
			return invalid("The unsubscribe URL must be an https URL (one-click unsubscribe needs https)")
		}
	}
	for name, value := range m.Headers {
		switch {
		case !validFieldName(name):
			return invalid("The header name %q is not a header field name", clip(name, 40))
		case reserved[strings.ToLower(name)]:
			return invalid("The header %s is written by the email client and cannot be set", name)
		case !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl):
			return invalid("The header %s must be one line of text", name)
		}
		msg.SetGenHeader(mail.Header(name), value)
	}
	msg.SetUserAgent("Bellhop")
	html := m.HTML
	if strings.TrimSpace(html) == "" {
		html = HTMLFromText(m.Text)
	}
	msg.SetBodyString(mail.TypeTextPlain, normaliseNewlines(m.Text))
	msg.AddAlternativeString(mail.TypeTextHTML, normaliseNewlines(html))
	return msg, nil
}

// validFieldName reports an RFC 5322 field name: printable ASCII except colon.
func validFieldName(name string) bool {
	if name == "" || len(name) > 76 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if ch := name[i]; ch <= ' ' || ch >= 0x7f || ch == ':' {
			return false
		}
	}
	return true
}

func normaliseNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
