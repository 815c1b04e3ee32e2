package mailings

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/memo"
	"golang.org/x/text/language"
)

// The placeholders a template may use; Render fills them in.
const (
	GuestName         = "{guest_name}"
	HotelName         = "{hotel_name}"
	ArrivalDate       = "{arrival_date}"
	DepartureDate     = "{departure_date}"
	BookingID         = "{booking_id}"
	GuaranteeDeadline = "{guarantee_deadline}"
)

// Placeholders returns every placeholder a template may use, in the order a manager sees them.
func Placeholders() []string {
	return []string{GuestName, HotelName, ArrivalDate, DepartureDate, BookingID, GuaranteeDeadline}
}

// MaxTemplateLength is the longest text a template may have, in characters: what a WhatsApp
// message holds.
const MaxTemplateLength = 4096

// placeholderRE finds anything written like a placeholder: a word in braces. Braces around
// other things (a smiley, a JSON snippet) are plain text.
var placeholderRE = regexp.MustCompile(`\{[\p{L}\p{N}_ -]{1,40}\}`)

// ValidateTemplates checks a mailing's texts: each key a base language code ("en", "ru"),
// each text non-empty, no longer than MaxTemplateLength and using known placeholders only.
// The error is invalid_input naming each bad template as templates.<language>.
func ValidateTemplates(templates map[string]string) error {
	var errs []error
	for _, lang := range slices.Sorted(maps.Keys(templates)) {
		text := templates[lang]
		field := "templates." + bellhop.Excerpt(lang)
		if err := checkLanguageKey(lang); err != nil {
			errs = append(errs, bellhop.Invalid(field, "%v", err))
			continue
		}
		if err := bellhop.CheckString(field, text); err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.TrimSpace(text) == "" {
			errs = append(errs, bellhop.Invalid(field, "is empty; write the message, or remove the language"))
			continue
		}
		if n := utf8.RuneCountInString(text); n > MaxTemplateLength {
			errs = append(errs, bellhop.Invalid(field, "is %d characters long; a message holds at most %d", n, MaxTemplateLength))
			continue
		}
		if msg := unknownPlaceholders(text); msg != "" {
			errs = append(errs, bellhop.Invalid(field, "%s", msg))
		}
	}
	return bellhop.JoinInvalid(errs...)
}

// unknownPlaceholders names the placeholders text uses that Render does not know, with the
// likely intended ones, or answers "" when there are none.
func unknownPlaceholders(text string) string {
	var unknown, hints []string
	for _, p := range placeholderRE.FindAllString(text, -1) {
		if slices.Contains(Placeholders(), p) || slices.Contains(unknown, p) {
			continue
		}
		unknown = append(unknown, p)
		if s := suggest(p); s != "" {
			hints = append(hints, p+" → "+s)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	named := unknown
	if len(named) > maxNamed {
		// A text full of braces must not make an answer as long as itself.
		named = append(slices.Clip(named[:maxNamed]), fmt.Sprintf("and %d more", len(unknown)-maxNamed))
	}
	if len(hints) > maxNamed {
		hints = hints[:maxNamed]
	}
	msg := fmt.Sprintf("%s %s; use %s", strings.Join(named, ", "),
		plural(len(unknown), "is not a placeholder", "are not placeholders"), strings.Join(Placeholders(), " "))
	if len(hints) > 0 {
		msg += " (did you mean " + strings.Join(hints, ", ") + "?)"
	}
	return msg
}

// maxNamed is how many unknown placeholders an error names.
const maxNamed = 5

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkLanguageKey accepts lower-case base language codes only, so that Language can match a
// guest's "ru-RU" to the "ru" template.
func checkLanguageKey(lang string) error {
	base, err := language.ParseBase(lang)
	if err != nil || base.String() != lang {
		shown := bellhop.Excerpt(lang)
		if err == nil {
			return fmt.Errorf("%q must be written as the language code %q", shown, base.String())
		}
		if tag, terr := language.Parse(lang); terr == nil {
			b, _ := tag.Base()
			return fmt.Errorf("%q must be a base language code such as %q", shown, b.String())
		}
		return fmt.Errorf("%q is not a language code such as en or ru", shown)
	}
	return nil
}

// suggest names the placeholder a mistyped one most likely meant: {Guest_Name} or {name} →
// {guest_name}.
func suggest(p string) string {
	w := strings.ToLower(strings.Trim(p, "{}"))
	w = strings.NewReplacer(" ", "_", "-", "_").Replace(strings.TrimSpace(w))
	if w == "" {
		return ""
	}
	for _, known := range Placeholders() {
		if strings.Contains(known, w) {
			return known
		}
	}
	return ""
}

// RenderData is what a template's placeholders are filled with.
type RenderData struct {
	// Language is the template's language; dates are written the way it writes them.
	Language string
	// Location is the property's time zone, in which the guarantee deadline is shown.
	Location          *time.Location
	GuestName         string
	HotelName         string
	BookingID         string
	Arrival           bellhop.Date
	Departure         bellhop.Date
	GuaranteeDeadline *time.Time
}

// DataFor gathers what a message about booking b at property p says, in language lang.
func DataFor(p *bellhop.Property, b *bellhop.Booking, lang string) RenderData {
	return RenderData{
		Language:          lang,
		Location:          p.Location(),
		GuestName:         strings.TrimSpace(b.Guest.Name),
		HotelName:         p.Name,
		BookingID:         b.ID,
		Arrival:           b.Arrival,
		Departure:         b.Departure,
		GuaranteeDeadline: b.GuaranteeDeadline,
	}
}

// Render fills tpl's placeholders from data. Dates are written for data.Language
// ("3 December 2026", "3 декабря 2026"); text that is not a known placeholder stays as it is.
// It runs for every message sent, so it scans for braces instead of running placeholderRE:
// a known placeholder is a word in braces, which the expression finds exactly where the
// scan does (FuzzTemplate compares the two).
func Render(tpl string, data RenderData) string {
	var (
		out  strings.Builder
		w    *dateWriter
		last int
	)
	for i := 0; i < len(tpl); {
		j := strings.IndexByte(tpl[i:], '{')
		if j < 0 {
			break
		}
		i += j
		k := strings.IndexByte(tpl[i:], '}')
		if k < 0 {
			break
		}
		p := tpl[i : i+k+1]
		if !isPlaceholder(p) {
			i++ // the next brace may open one: "{ {guest_name}"
			continue
		}
		if w == nil {
			w = writerFor(data.Language)
			out.Grow(len(tpl) + 64)
		}
		out.WriteString(tpl[last:i])
		out.WriteString(data.value(p, w))
		i += k + 1
		last = i
	}
	if w == nil {
		return tpl
	}
	out.WriteString(tpl[last:])
	return out.String()
}

func isPlaceholder(p string) bool {
	switch p {
	case GuestName, HotelName, BookingID, ArrivalDate, DepartureDate, GuaranteeDeadline:
		return true
	}
	return false
}

// value is what placeholder p stands for in data.
func (data *RenderData) value(p string, w *dateWriter) string {
	switch p {
	case GuestName:
		if data.GuestName == "" {
			return w.guest
		}
		return data.GuestName
	case HotelName:
		return data.HotelName
	case BookingID:
		return data.BookingID
	case ArrivalDate:
		return w.date(data.Arrival)
	case DepartureDate:
		return w.date(data.Departure)
	case GuaranteeDeadline:
		if data.GuaranteeDeadline == nil {
			return w.asap
		}
		loc := data.Location
		if loc == nil {
			loc = time.UTC
		}
		t := data.GuaranteeDeadline.In(loc)
		return w.date(bellhop.DateOf(t)) + ", " + t.Format("15:04") + w.oclock
	}
	return p
}

// Message is a mailing's text for one booking, in the language chosen for its guest.
type Message struct {
	Language string
	Text     string
}

// Compose picks the guest's language among m's templates and renders it for booking b at
// property p. It reports false when m has no template at all.
func Compose(m *bellhop.Mailing, p *bellhop.Property, b *bellhop.Booking) (Message, bool) {
	lang := Language(b.Guest.Language, p.Language, m.Templates)
	tpl, ok := m.Templates[lang]
	if !ok || strings.TrimSpace(tpl) == "" {
		return Message{}, false
	}
	return Message{Language: lang, Text: Render(tpl, DataFor(p, b, lang))}, true
}

// Language picks the language of a guest's message: the guest's, else the property's
// default, else English, the first of them that templates has, matched by base language
// ("ru-RU" → "ru"). When templates has none of them it answers the first language it does
// have, so the hotel's own text still goes out; with no templates at all it answers the first
// of the three that is set.
func Language(guestLang, propertyLang string, templates map[string]string) string {
	wanted := []string{BaseLanguage(guestLang), BaseLanguage(propertyLang), "en"}
	for _, l := range wanted {
		if l == "" {
			continue
		}
		if len(templates) == 0 {
			return l
		}
		if _, ok := templates[l]; ok {
			return l
		}
	}
	keys := slices.Sorted(maps.Keys(templates))
	return keys[0]
}

// BaseLanguage returns the base language of a BCP 47 tag ("ru-RU" → "ru", "pt_BR" → "pt"),
// or "" when tag is empty or not a language.
func BaseLanguage(tag string) string {
	return baseLanguages.Get(tag, func(tag string) (string, bool) { return parseBaseLanguage(tag), true })
}

// baseLanguages remembers BaseLanguage's answers: every send asks for two tags.
var baseLanguages = memo.Map[string, string]{Limit: 1000}

func parseBaseLanguage(tag string) string {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	b, conf := t.Base()
	if conf == language.No {
		return ""
	}
	return b.String()
}

// dateWriter writes dates the way a language does: day, month and year with the words
// between them ("3. Dezember 2026", "3 de diciembre de 2026").
type dateWriter struct {
	months [12]string
	// afterDay and afterMonth follow the day and the month's name; iso writes 2026-12-03.
	afterDay, afterMonth string
	iso                  bool
	// guest stands in for a missing name; asap for a missing guarantee deadline.
	guest, asap string
	// oclock follows the time of day ("18:00 Uhr").
	oclock string
}

func (w *dateWriter) date(d bellhop.Date) string {
	if d.IsZero() {
		return ""
	}
	if w.iso {
		return d.String()
	}
	return strconv.Itoa(d.Day) + w.afterDay + w.months[d.Month-1] + w.afterMonth + strconv.Itoa(d.Year)
}

// writers holds the languages Bellhop writes dates in; others get ISO dates (2026-12-03),
// which every reader understands.
var writers = map[string]*dateWriter{
	"en": {
		months: [12]string{"January", "February", "March", "April", "May", "June", "July",
			"August", "September", "October", "November", "December"},
		afterDay: " ", afterMonth: " ",
		guest: "Guest", asap: "as soon as possible",
	},
	"ru": {
		months: [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля",
			"августа", "сентября", "октября", "ноября", "декабря"},
		afterDay: " ", afterMonth: " ",
		guest: "Гость", asap: "как можно скорее",
	},
	"de": {
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
			"August", "September", "Oktober", "November", "Dezember"},
		afterDay: ". ", afterMonth: " ",
		guest: "Gast", asap: "so bald wie möglich", oclock: " Uhr",
	},
	"es": {
		months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
			"agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		afterDay: " de ", afterMonth: " de ",
		guest: "Huésped", asap: "lo antes posible",
	},
}

// isoWriter writes the dates of a language Bellhop has no words for, with English for the
// rest.
var isoWriter = func() dateWriter {
	w := *writers["en"]
	w.iso = true
	return w
}()

func writerFor(lang string) *dateWriter {
	if w, ok := writers[BaseLanguage(lang)]; ok {
		return w
	}
	return &isoWriter
}
