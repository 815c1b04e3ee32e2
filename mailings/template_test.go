package mailings_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

func TestValidateTemplatesNamesTheProblem(t *testing.T) {
	tests := []struct {
		name      string
		templates map[string]string
		field     string
		says      []string
	}{
		{"unknown placeholder", map[string]string{"en": "Hi {guest_name}", "ru": "Здравствуйте, {guest}!"}, "templates.ru", []string{"{guest}", "{guest_name}"}},
		{"misspelt placeholder", map[string]string{"de": "Hallo {Guest_Name}"}, "templates.de", []string{"{Guest_Name}", "did you mean {Guest_Name} → {guest_name}"}},
		{"made-up placeholder", map[string]string{"en": "Your room: {room_number}"}, "templates.en", []string{"{room_number}"}},
		{"empty text", map[string]string{"es": "  \n"}, "templates.es", []string{"empty"}},
		{"language name instead of a code", map[string]string{"english": "Hello"}, "templates.english", []string{"language code"}},
		{"regional code", map[string]string{"en-US": "Hello"}, "templates.en-US", []string{`"en"`}},
		{"upper case code", map[string]string{"EN": "Hello"}, "templates.EN", []string{`"en"`}},
		{"too long", map[string]string{"en": strings.Repeat("a", mailings.MaxTemplateLength+1)}, "templates.en", []string{"4096"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := assertInvalidField(t, mailings.ValidateTemplates(tt.templates), tt.field)
			for _, s := range tt.says {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q does not say %q", e.Message, s)
				}
			}
		})
	}
}

func TestValidateTemplatesAcceptsPlainBraces(t *testing.T) {
	ok := map[string]string{
		"en": "Hello {guest_name}, see you on {arrival_date} {:-)}",
		"ru": "{hotel_name}: {booking_id}, {departure_date}, {guarantee_deadline}",
	}
	if err := mailings.ValidateTemplates(ok); err != nil {
		t.Errorf("ValidateTemplates: %v", err)
	}
}

func TestValidateMailing(t *testing.T) {
	m := mailing(bellhop.Welcome)
	if err := mailings.Validate(m); err != nil {
		t.Fatalf("default mailing refused: %v", err)
	}
	m.Templates = map[string]string{"ru": "{гость}, добро пожаловать"}
	m.Schedule.QuietEnd = "9"
	e := assertInvalidField(t, mailings.Validate(m), "templates.ru")
	assertInvalidField(t, e, "schedule.quiet_end")
	m.Templates = nil
	assertInvalidField(t, mailings.Validate(m), "templates")
}

func TestLanguage(t *testing.T) {
	all := map[string]string{"en": "x", "ru": "x", "de": "x", "es": "x"}
	tests := []struct {
		guest, property string
		templates       map[string]string
		want            string
	}{
		{"ru", "de", all, "ru"},
		{"ru-RU", "de", all, "ru"},
		{"es_MX", "", all, "es"},
		{"", "de", all, "de"},
		{"fr", "de", all, "de"},
		{"fr", "it", all, "en"},
		{"fr", "", all, "en"},
		{"not a language", "ru-RU", all, "ru"},
		{"fr", "it", map[string]string{"ru": "x", "de": "x"}, "de"},
		{"fr", "", nil, "fr"},
	}
	for _, tt := range tests {
		if got := mailings.Language(tt.guest, tt.property, tt.templates); got != tt.want {
			t.Errorf("Language(%q, %q, %v) = %q, want %q", tt.guest, tt.property, tt.templates, got, tt.want)
		}
	}
}

func TestRenderWritesDatesForTheLanguage(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	deadline := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC) // 18:00 in Moscow
	data := mailings.RenderData{
		Location: msk, GuestName: "Anna", HotelName: "Hotel Neva", BookingID: "B-1",
		Arrival: date("2026-12-03"), Departure: date("2026-05-05"), GuaranteeDeadline: &deadline,
	}
	const tpl = "{guest_name}|{hotel_name}|{booking_id}|{arrival_date}|{departure_date}|{guarantee_deadline}"
	tests := map[string]string{
		"en": "Anna|Hotel Neva|B-1|3 December 2026|5 May 2026|1 December 2026, 18:00",
		"ru": "Anna|Hotel Neva|B-1|3 декабря 2026|5 мая 2026|1 декабря 2026, 18:00",
		"de": "Anna|Hotel Neva|B-1|3. Dezember 2026|5. Mai 2026|1. Dezember 2026, 18:00 Uhr",
		"es": "Anna|Hotel Neva|B-1|3 de diciembre de 2026|5 de mayo de 2026|1 de diciembre de 2026, 18:00",
		"ja": "Anna|Hotel Neva|B-1|2026-12-03|2026-05-05|2026-12-01, 18:00",
	}
	for lang, want := range tests {
		data.Language = lang
		if got := mailings.Render(tpl, data); got != want {
			t.Errorf("%s: Render = %q, want %q", lang, got, want)
		}
	}
	data.Language, data.GuaranteeDeadline = "en", nil
	if got := mailings.Render("by {guarantee_deadline}", data); got != "by as soon as possible" {
		t.Errorf("no deadline: %q", got)
	}
}

var leftover = regexp.MustCompile(`\{[^{}]*\}`)

func TestDefaultTemplatesRenderCompletely(t *testing.T) {
	p := property("Europe/Moscow")
	b := booking("2026-12-03", "2026-12-05")
	b.ID = "TL-20261203-17"
	deadline := utc("2026-12-01T15:00:00Z")
	b.GuaranteeDeadline = &deadline
	ms := mailings.Defaults("1042", "intellectdialog")
	if len(ms) != 3 {
		t.Fatalf("Defaults = %d mailings, want 3", len(ms))
	}
	for _, m := range ms {
		if m.Enabled || m.SendingMethod != "intellectdialog" || m.PropertyID != "1042" {
			t.Errorf("%s: default mailing %+v must start disabled, for the property and sending method", m.Kind, m)
		}
		if err := mailings.Validate(m); err != nil {
			t.Errorf("%s: default mailing refused: %v", m.Kind, err)
		}
		for _, lang := range []string{"en", "ru", "de", "es"} {
			tpl, ok := m.Templates[lang]
			if !ok {
				t.Errorf("%s: no %s template", m.Kind, lang)
				continue
			}
			text := mailings.Render(tpl, mailings.DataFor(&p, &b, lang))
			if l := leftover.FindString(text); l != "" {
				t.Errorf("%s/%s: %q left in %q", m.Kind, lang, l, text)
			}
			for _, must := range []string{"Анна Петрова"} {
				if !strings.Contains(text, must) {
					t.Errorf("%s/%s: text does not name the guest: %q", m.Kind, lang, text)
				}
			}
			if m.Kind != bellhop.Feedback && !strings.Contains(text, "TL-20261203-17") {
				t.Errorf("%s/%s: text lacks the booking number: %q", m.Kind, lang, text)
			}
			if !strings.Contains(text, "Hotel Neva") {
				t.Errorf("%s/%s: text lacks the hotel's name: %q", m.Kind, lang, text)
			}
		}
	}
}

func TestDefaultSchedules(t *testing.T) {
	w, f, n := mailings.DefaultSchedule(bellhop.Welcome), mailings.DefaultSchedule(bellhop.Feedback), mailings.DefaultSchedule(bellhop.NonGuaranteedReminder)
	if w.DayOffset != -1 || w.SendTime != "12:00" || f.DayOffset != 1 || f.SendTime != "12:00" || n.DelayMinutes != 60 {
		t.Errorf("defaults = %+v %+v %+v", w, f, n)
	}
	for _, s := range []bellhop.Schedule{w, f, n} {
		if s.QuietStart != "21:00" || s.QuietEnd != "09:00" {
			t.Errorf("quiet hours = %s–%s, want 21:00–09:00", s.QuietStart, s.QuietEnd)
		}
	}
}

func TestDefaultsAreIndependentCopies(t *testing.T) {
	a := mailings.Defaults("1", "intellectdialog")
	a[0].Templates["en"] = "changed"
	if b := mailings.Defaults("2", "intellectdialog"); b[0].Templates["en"] == "changed" {
		t.Error("editing one property's defaults changed another's")
	}
}

func TestCompose(t *testing.T) {
	p := property("Europe/Moscow")
	b := booking("2026-12-03", "2026-12-05")
	b.Guest.Language = "de-AT"
	msg, ok := mailings.Compose(new(mailing(bellhop.Welcome)), &p, &b)
	if !ok || msg.Language != "de" || !strings.Contains(msg.Text, "am 3. Dezember 2026") {
		t.Errorf("Compose = %+v, %v", msg, ok)
	}
	m := mailing(bellhop.Welcome)
	m.Templates = nil
	if _, ok := mailings.Compose(&m, &p, &b); ok {
		t.Error("Compose without templates must report false")
	}
}

func TestValidateTemplatesListsEveryUnknownPlaceholder(t *testing.T) {
	e := assertInvalidField(t, mailings.ValidateTemplates(map[string]string{"en": "{name}, {room} {room} {hotel_name}"}), "templates.en")
	for _, s := range []string{"{name}, {room} are not placeholders", "{name} → {guest_name}"} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not say %q", e.Message, s)
		}
	}
}

// BenchmarkRender is the text of one welcome, rendered as every send renders it.
func BenchmarkRender(b *testing.B) {
	data := mailings.RenderData{
		Language: "ru", GuestName: "Anna", HotelName: "Hotel Neva", BookingID: "B-1",
		Arrival: date("2026-12-03"), Departure: date("2026-12-05"),
	}
	const tpl = "Здравствуйте, {guest_name}! Ждём вас в {hotel_name} {arrival_date}. Выезд {departure_date}, бронь {booking_id}."
	for b.Loop() {
		mailings.Render(tpl, data)
	}
}
