package mailings

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/email"
)

// A mailing names its channels in order; at send time the first that can reach the guest
// sends. Reach decides for one channel from what Bellhop holds (the guest's addresses, the
// integration, the guest's last message on the channel, the mailing's texts) and composes the
// message that channel would carry; the send path adds what needs the provider (its stop list)
// and the preview shows the same decision.

// Channel is what is known of one of a mailing's channels for one guest.
type Channel struct {
	Name string
	// Kind is the channel's declaration; nil for a kind Bellhop does not know, which is taken
	// to reach phones with free text (the first provider's way).
	Kind *provider.Kind
	// Integration is the property's integration of the kind; nil when none is connected.
	Integration *bellhop.Integration
	// LastInbound is the guest's last message on this channel; zero when none is known.
	LastInbound time.Time
	// Links makes the guest's one-click unsubscribe link for a channel that reaches people by
	// e-mail; nil: messages carry none (the preview).
	Links UnsubscribeLinks
}

// UnsubscribeLinks makes a guest's one-click unsubscribe link (email.Links is one): address at
// property pid, the page in language lang.
type UnsubscribeLinks interface {
	URL(pid, address, lang string) string
}

// Address is how the channel reaches people.
func (c *Channel) Address() provider.Address {
	if c.Kind == nil {
		return provider.AddressPhone
	}
	return c.Kind.Address
}

// Contact is the guest's address on the channel ("" when the guest has none).
func (c *Channel) Contact(b *bellhop.Booking) string {
	switch c.Address() {
	case provider.AddressEmail:
		return strings.TrimSpace(b.Guest.Email)
	case provider.AddressPhone:
		return strings.TrimSpace(b.Guest.Phone)
	}
	return "" // chats are opened by the guest; bookings carry none yet
}

// InsideWindow reports whether the guest wrote on this channel recently enough for free text
// (WhatsApp's 24-hour rule); a channel without such a rule is always inside.
func (c *Channel) InsideWindow(now time.Time) bool {
	if c.Kind == nil || c.Kind.Caps.CustomerWindow <= 0 {
		return true
	}
	return !c.LastInbound.IsZero() && now.Sub(c.LastInbound) < c.Kind.Caps.CustomerWindow
}

// Reach decides whether channel c can reach the guest of booking b with mailing m at now, and
// composes the message it would send (Phone, Email or ChatID set; SenderID and Mark are the
// send path's). When it cannot, reason says why (a Reason* word); wait reports a reason that
// may pass by itself (the channel's key was rejected and waits for a new one), for which the
// mailing pauses rather than skips when no later channel can send.
func Reach(c *Channel, m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) (msg provider.Message, reason string, wait bool) {
	contact := c.Contact(b)
	if contact == "" {
		switch c.Address() {
		case provider.AddressEmail:
			return msg, bellhop.ReasonNoEmail, false
		case provider.AddressChat:
			return msg, bellhop.ReasonNoChat, false
		}
		return msg, bellhop.ReasonNoPhone, false
	}
	in := c.Integration
	switch {
	case in == nil || !in.Active:
		return msg, bellhop.ReasonIntegrationInactive, false
	case in.Status != bellhop.StatusVerified:
		return msg, bellhop.ReasonIntegrationInvalid, true
	case in.Sender == nil && (c.Kind == nil || c.Kind.Caps.Senders):
		return msg, bellhop.ReasonSenderMissing, false
	}
	msg, ok := ComposeFor(c, m, p, b, now)
	if !ok {
		return msg, bellhop.ReasonNoTemplate, false
	}
	switch c.Address() {
	case provider.AddressEmail:
		msg.Email = contact
	case provider.AddressChat:
		msg.ChatID = contact
	default:
		msg.Phone = contact
	}
	return msg, "", false
}

// ComposeFor renders mailing m for booking b as channel c carries it: free text where the
// channel sends text (inside the guest's window, for kinds with one), else the approved
// template mapped for the guest's language with its parameters filled in; email gets a
// subject and HTML made from the same text. It reports false when the mailing has nothing
// this channel may send.
func ComposeFor(c *Channel, m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, now time.Time) (provider.Message, bool) {
	text := c.Kind == nil || c.Kind.Caps.Text
	templates := c.Kind != nil && c.Kind.Caps.Templates
	if text && c.InsideWindow(now) {
		if body, ok := Compose(m, p, b); ok {
			msg := provider.Message{Text: body.Text, Language: body.Language}
			if c.Address() == provider.AddressEmail {
				if c.Links != nil {
					// The link goes, visibly, at the end of the text (and so of the HTML
					// made from it) and in the List-Unsubscribe header — there only over
					// https, as RFC 8058's one-click asks (a plain-http Bellhop such as the
					// demo shows the link in the text alone).
					if link := c.Links.URL(p.ID, c.Contact(b), body.Language); link != "" {
						msg.Text = strings.TrimRight(msg.Text, "\n ") + "\n\n" + UnsubscribeLine(body.Language, link)
						if strings.HasPrefix(link, "https://") {
							msg.Unsubscribe = link
						}
					}
				}
				msg.Subject = Subject(m, p, b, body.Language)
				msg.HTML = email.HTMLFromText(msg.Text)
			}
			return msg, true
		}
	}
	if !templates || len(m.WATemplates) == 0 {
		return provider.Message{}, false
	}
	keys := make(map[string]string, len(m.WATemplates))
	for lang := range m.WATemplates {
		keys[lang] = lang
	}
	lang := Language(b.Guest.Language, p.Language, keys)
	t := m.WATemplates[lang]
	data := DataFor(p, b, lang)
	vars := make([]string, 0, len(t.Params))
	for _, param := range t.Params {
		vars = append(vars, paramText(Render(param, data)))
	}
	tl := t.Language
	if tl == "" {
		tl = lang
	}
	return provider.Message{Template: t.Name, Language: tl, Vars: vars}, true
}

// UnsubscribeLine is the visible unsubscribe line at the end of an e-mail, in the guest's
// language (English when there is none for it).
func UnsubscribeLine(lang, link string) string {
	line, ok := unsubscribeLines[BaseLanguage(lang)]
	if !ok {
		line = unsubscribeLines["en"]
	}
	return line + " " + link
}

var unsubscribeLines = map[string]string{
	"en": "To receive no more e-mails from us, unsubscribe here:",
	"ru": "Чтобы больше не получать от нас писем, отпишитесь здесь:",
	"de": "Wenn Sie keine E-Mails mehr von uns erhalten möchten, melden Sie sich hier ab:",
	"es": "Para no recibir más correos nuestros, cancele la suscripción aquí:",
}

// paramText makes a rendered value fit a template parameter: WhatsApp refuses new lines, tabs,
// more than four spaces in a row and empty parameters.
func paramText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}

// Subject is the email subject of mailing m for booking b in language lang: the mailing's
// own, else the kind's default in that language, else in English.
func Subject(m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking, lang string) string {
	s, ok := m.Subjects[lang]
	if !ok || strings.TrimSpace(s) == "" {
		s = DefaultSubject(m.Kind, lang)
	}
	return paramText(Render(s, DataFor(p, b, lang)))
}

// DefaultSubject is kind's default email subject in lang (English when there is none).
func DefaultSubject(kind bellhop.MailingKind, lang string) string {
	if s, ok := defaultSubjects[kind][BaseLanguage(lang)]; ok {
		return s
	}
	return defaultSubjects[kind]["en"]
}

// DefaultSubjects returns a copy of kind's default subjects, by language.
func DefaultSubjects(kind bellhop.MailingKind) map[string]string {
	return maps.Clone(defaultSubjects[kind])
}

var defaultSubjects = map[bellhop.MailingKind]map[string]string{
	bellhop.Welcome: {
		"en": "We look forward to welcoming you to {hotel_name}",
		"ru": "Ждём вас в {hotel_name}",
		"de": "Wir freuen uns auf Ihren Besuch im {hotel_name}",
		"es": "Le esperamos en {hotel_name}",
	},
	bellhop.Feedback: {
		"en": "How was your stay at {hotel_name}?",
		"ru": "Как прошло ваше пребывание в {hotel_name}?",
		"de": "Wie war Ihr Aufenthalt im {hotel_name}?",
		"es": "¿Qué tal su estancia en {hotel_name}?",
	},
	bellhop.NonGuaranteedReminder: {
		"en": "Please guarantee your booking no. {booking_id} at {hotel_name}",
		"ru": "Пожалуйста, гарантируйте бронирование № {booking_id} в {hotel_name}",
		"de": "Bitte garantieren Sie Ihre Buchung Nr. {booking_id} im {hotel_name}",
		"es": "Garantice su reserva n.º {booking_id} en {hotel_name}",
	},
}

// Limits of what a mailing's WhatsApp templates and subjects hold.
const (
	maxSubjectLength = 200
	maxParams        = 20
	maxParamLength   = 1024
)

// Meta's template names are lower-case letters, digits and underscores; its language codes
// look like "en", "en_US" or "zh_HK".
var (
	waNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	waLangRE = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
)

// ValidateChannelTexts checks a mailing's WhatsApp template mappings and email subjects: keys
// are base language codes, template names and languages as WhatsApp writes them, parameters
// and subjects short texts with known placeholders only. Each problem is named by its field:
// wa_templates.ru.params[0], subjects.en.
func ValidateChannelTexts(m bellhop.Mailing) error {
	var errs []error
	for _, lang := range slices.Sorted(maps.Keys(m.WATemplates)) {
		t := m.WATemplates[lang]
		field := "wa_templates." + bellhop.Excerpt(lang)
		if err := checkLanguageKey(lang); err != nil {
			errs = append(errs, bellhop.Invalid(field, "%v", err))
			continue
		}
		if !waNameRE.MatchString(t.Name) {
			errs = append(errs, bellhop.Invalid(field+".name", "must be the approved template's name: lower-case letters, digits and underscores, such as welcome_guest"))
		}
		if t.Language != "" && !waLangRE.MatchString(t.Language) {
			errs = append(errs, bellhop.Invalid(field+".language", "must be a template language as WhatsApp lists it, such as en_US or ru"))
		}
		if len(t.Params) > maxParams {
			errs = append(errs, bellhop.Invalid(field+".params", "has %d parameters; a template takes at most %d", len(t.Params), maxParams))
			continue
		}
		for i, param := range t.Params {
			pf := fmt.Sprintf("%s.params[%d]", field, i)
			if strings.TrimSpace(param) == "" {
				errs = append(errs, bellhop.Invalid(pf, "is empty; WhatsApp refuses an empty parameter (use a placeholder such as {guest_name})"))
				continue
			}
			errs = append(errs, checkShortText(pf, param, maxParamLength))
		}
	}
	for _, lang := range slices.Sorted(maps.Keys(m.Subjects)) {
		s := m.Subjects[lang]
		field := "subjects." + bellhop.Excerpt(lang)
		if err := checkLanguageKey(lang); err != nil {
			errs = append(errs, bellhop.Invalid(field, "%v", err))
			continue
		}
		if strings.ContainsAny(s, "\r\n") {
			errs = append(errs, bellhop.Invalid(field, "must be one line"))
			continue
		}
		errs = append(errs, checkShortText(field, s, maxSubjectLength))
	}
	return bellhop.JoinInvalid(errs...)
}

// checkShortText checks a one-part text of a mailing (a template parameter, a subject): valid
// text, at most max characters, known placeholders only.
func checkShortText(field, s string, max int) error {
	if err := bellhop.CheckString(field, s); err != nil {
		return err
	}
	if utf8.RuneCountInString(s) > max {
		return bellhop.Invalid(field, "is longer than %d characters", max)
	}
	if msg := unknownPlaceholders(s); msg != "" {
		return bellhop.Invalid(field, "%s", msg)
	}
	return nil
}
