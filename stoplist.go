package bellhop

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// A property's own stop list names the contacts that asked the hotel to send them nothing
// more: a phone stops every channel that reaches the guest by that phone, an e-mail address
// stops e-mail. The send path skips a listed contact on that channel with ReasonOptedOut and
// goes on to the mailing's next channel.

// Where a stop-list entry came from.
const (
	StopSourceUnsubscribeLink = "unsubscribe_link" // the guest followed an e-mail's unsubscribe link
	StopSourceAPI             = "api"              // the property manager put it there
	StopSourceReply           = "reply"            // the guest answered STOP/СТОП
)

// StopEntry is one contact on a property's stop list.
type StopEntry struct {
	// Contact is normalised (see StopContact): a phone's digits, an e-mail in lower case.
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// Phones in international (E.164) form have at most 15 digits; fewer than 7 is no
// international number.
const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
	maxEmail       = 254
)

// StopContact normalises a contact for the stop list: an e-mail address (anything with an
// "@") in lower case, a phone as its E.164 digits without the plus ("+7 912 345-67-89" →
// "79123456789"). Anything else is an invalid_input error naming the field "contact".
func StopContact(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", Invalid("contact", "must be valid UTF-8 text")
	}
	if strings.Contains(s, "@") {
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s || len(s) > maxEmail || strings.ContainsAny(s, " <>\"") {
			return "", Invalid("contact", "%q is not an e-mail address such as anna@example.com", clipText(s, 80))
		}
		return strings.ToLower(s), nil
	}
	for _, r := range s {
		if !strings.ContainsRune("+0123456789 ()-.", r) {
			return "", Invalid("contact", "%q is neither an e-mail address nor a phone number in international form such as +7 912 345-67-89", clipText(s, 80))
		}
	}
	if strings.LastIndex(s, "+") > 0 {
		return "", Invalid("contact", "%q has a plus sign inside it; write the phone in international form such as +7 912 345-67-89", clipText(s, 80))
	}
	d := PhoneDigits(s)
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits || d[0] == '0' {
		return "", Invalid("contact", "%q is not a phone number in international form (7 to 15 digits with the country code, such as +7 912 345-67-89)", clipText(s, 80))
	}
	return d, nil
}

// clipText shortens s to at most n runes for a message.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
