package mailings_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/channels"
	"github.com/bellhop/bellhop/store/storetest"
)

// The lists below are what the kinds' clients make of the recorded answers
// (provider/whatsapp/testdata/message_templates*.json: approved ones only, the BODY text;
// provider/intellectdialog/testdata/templates.json: every status, the text in "data"), plus
// the regional language codes Meta lists ("en_US", "en_GB").
var (
	cloudList = []provider.Template{
		{Name: "booking_welcome", Language: "en", Category: "UTILITY", Status: "APPROVED", Text: "Hello {{1}}! We look forward to welcoming you at {{2}} on {{3}}."},
		{Name: "booking_welcome", Language: "ru", Category: "UTILITY", Status: "APPROVED", Text: "Здравствуйте, {{1}}! Ждём вас в {{2}} {{3}}."},
		{Name: "checkin_reminder", Language: "en", Category: "UTILITY", Status: "APPROVED", Text: "Dear {{1}}, check-in opens at 14:00. Reply to this message if you need anything."},
	}
	idList = []provider.Template{
		{Name: "booking_welcome", Language: "en", Category: "UTILITY", Status: "APPROVED", Text: "Hello {{1}}! We look forward to welcoming you at {{2}} on {{3}}."},
		{Name: "promo_discount", Language: "ru", Category: "MARKETING", Status: "REJECTED", Text: "Скидка {{1}}% на следующий визит!"},
	}
	three = []string{"{guest_name}", "{hotel_name}", "{arrival_date}"}
)

func wa(name, lang string, params ...string) *bellhop.WATemplate {
	return &bellhop.WATemplate{Name: name, Language: lang, Params: params}
}

// fieldsOf returns the fields an invalid_input error names, with their messages.
func fieldsOf(t *testing.T, errs []error) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := bellhop.JoinInvalid(errs...)
	if err == nil {
		return out
	}
	var e *bellhop.Error
	if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
		t.Fatalf("error %v, want invalid_input", err)
	}
	for _, f := range e.Fields {
		out[f.Field] = f.Message
	}
	return out
}

// TestCheckWATemplates: a mapping passes when the list has its name approved in its language
// (a base language matching a regional one, which is answered) with no more parameters than
// the body takes; otherwise the field at fault is named with the template.
func TestCheckWATemplates(t *testing.T) {
	regional := []provider.Template{{Name: "booking_welcome", Language: "en_US", Status: "APPROVED", Text: "Hi {{1}}"},
		{Name: "booking_welcome", Language: "ru", Status: "APPROVED", Text: "Привет, {{1}}"}}
	twoRegions := append([]provider.Template{{Name: "booking_welcome", Language: "en_GB", Status: "APPROVED", Text: "Hi {{1}}"}}, regional...)
	for _, c := range []struct {
		name      string
		list      []provider.Template
		wa        map[string]*bellhop.WATemplate
		field     string // the one field refused, "" for none
		mentions  []string
		languages map[string]string
		warning   string // the field of the one warning, "" for none
	}{
		{name: "approved, the key's language", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", three...),
			"ru": wa("booking_welcome", "ru", three...), "de": nil}, languages: map[string]string{"en": "en", "ru": "ru"}},
		{name: "a name the provider does not have", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcom", "", three...)},
			field: "wa_templates.en.name", mentions: []string{"booking_welcom", "WhatsApp Cloud API", "approved: booking_welcome, checkin_reminder"}},
		{name: "a list without templates", list: nil, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", three...)},
			field: "wa_templates.en.name", mentions: []string{"booking_welcome", "it lists none"}},
		{name: "rejected", list: idList, wa: map[string]*bellhop.WATemplate{"ru": wa("promo_discount", "", "15")},
			field: "wa_templates.ru.name", mentions: []string{"promo_discount", "REJECTED", "not approved"}},
		{name: "not in the key's language", list: cloudList, wa: map[string]*bellhop.WATemplate{"de": wa("booking_welcome", "", three...)},
			field: "wa_templates.de.name", mentions: []string{"booking_welcome", "in en, ru, not in de"}},
		{name: "not in the language named", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("checkin_reminder", "ru", "{guest_name}")},
			field: "wa_templates.en.language", mentions: []string{"checkin_reminder", "in en, not in ru"}},
		{name: "a base language matches a regional one", list: regional, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{guest_name}")},
			languages: map[string]string{"en": "en_US"}},
		{name: "a regional language matches a base one", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("checkin_reminder", "en_US", "{guest_name}")},
			languages: map[string]string{"en": "en"}},
		{name: "another region does not", list: regional, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "en_GB", "{guest_name}")},
			field: "wa_templates.en.language", mentions: []string{"in en_US, ru, not in en_GB"}},
		{name: "two regions for a base language", list: twoRegions, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{guest_name}")},
			field: "wa_templates.en.language", mentions: []string{"en_GB, en_US", "set language"}},
		{name: "more parameters than the body takes", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("checkin_reminder", "", "{guest_name}", "{hotel_name}")},
			field: "wa_templates.en.params", mentions: []string{"checkin_reminder takes 1 parameter(s)", "2 are given"}},
		{name: "fewer: saved with a warning", list: cloudList, wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{guest_name}")},
			languages: map[string]string{"en": "en"}, warning: "wa_templates.en.params"},
		{name: "a body the list does not show is not counted", list: []provider.Template{{Name: "booking_welcome", Language: "en", Status: "APPROVED"}},
			wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{guest_name}")}, languages: map[string]string{"en": "en"}},
		{name: "a list without statuses", list: []provider.Template{{Name: "booking_welcome", Language: "en", Text: "Hi {{1}}"}},
			wa: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{guest_name}")}, languages: map[string]string{"en": "en"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := mailings.CheckWATemplates("WhatsApp Cloud API", c.list, c.wa)
			fields := fieldsOf(t, r.Errs)
			switch {
			case c.field == "" && len(fields) > 0:
				t.Fatalf("refused %v", fields)
			case c.field != "" && (len(fields) != 1 || fields[c.field] == ""):
				t.Fatalf("refused %v, want %s alone", fields, c.field)
			}
			for _, m := range c.mentions {
				if !strings.Contains(fields[c.field], m) {
					t.Errorf("%s: %q does not mention %q", c.field, fields[c.field], m)
				}
			}
			if c.languages != nil && len(r.Languages) != len(c.languages) {
				t.Errorf("languages %v, want %v", r.Languages, c.languages)
			}
			for lang, code := range c.languages {
				if r.Languages[lang] != code {
					t.Errorf("languages %v, want %v", r.Languages, c.languages)
				}
			}
			if c.warning == "" && len(r.Warnings) > 0 || c.warning != "" && (len(r.Warnings) != 1 || r.Warnings[0].Field != c.warning ||
				r.Warnings[0].Code != mailings.WarnTemplateParamsShort) {
				t.Errorf("warnings %+v, want one about %q", r.Warnings, c.warning)
			}
		})
	}
}

// catalog is a provider's template list as the connector answers it, counting its calls.
type catalog struct {
	mu    sync.Mutex
	lists map[string][]provider.Template
	err   error
	calls map[string]int
}

func (c *catalog) SenderTemplates(_ context.Context, pid, kind string) ([]provider.Template, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[pid+"/"+kind]++
	if c.err != nil {
		return nil, c.err
	}
	return c.lists[kind], nil
}

func (c *catalog) reset(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err, c.calls = err, map[string]int{}
}

// TestPatchMailingChecksTemplates: a mailing saved with WhatsApp templates is checked against
// the approved list of each of its channels that sends templates and can be asked now, read
// once per channel: a name the provider does not have is refused naming the field, nothing
// saved; a known one is saved (its language as the provider lists it); a provider that does
// not answer, or a channel not active yet, leaves the mailing saved with a warning. Input
// refused on its own is refused before any provider is asked; another property's mailing is
// not found.
func TestPatchMailingChecksTemplates(t *testing.T) {
	for name, open := range storetest.Databases() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
			cat := &catalog{lists: map[string][]provider.Template{"whatsapp_cloud": append(cloudList[:2:2],
				provider.Template{Name: "checkin_reminder", Language: "en_US", Status: "APPROVED", Text: "Dear {{1}}, check-in opens at 14:00."}),
				"intellectdialog": idList}}
			cat.reset(nil)
			kinds := channels.Registry()
			svc, err := mailings.New(mailings.Config{Store: txStore{db}, Scheduler: nopScheduler{}, Clock: bellhop.NewSimulatedClock(now),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Kinds: kinds, SendingMethods: kinds.Names(), Templates: cat})
			if err != nil {
				t.Fatal(err)
			}
			for _, pid := range []string{"p1", "p2"} {
				if err := db.CreateProperty(ctx, &bellhop.Property{ID: pid, Name: "Hotel " + pid, TimeZone: "Europe/Moscow", Language: "en",
					ContactCenter: true, CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.CreateMailings(ctx, mailings.Defaults("p1", "whatsapp_cloud")); err != nil {
				t.Fatal(err)
			}
			integration := func(kind string, active bool) {
				t.Helper()
				if err := db.SaveIntegration(ctx, &bellhop.Integration{PropertyID: "p1", Provider: kind, Status: bellhop.StatusVerified,
					Sender: &bellhop.Sender{ID: "106540352242922", Type: "whatsapp", Name: "Reception"}, Active: active,
					CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			integration("whatsapp_cloud", true)
			patch := func(pid string, p mailings.MailingPatch) (*mailings.SavedMailing, error) {
				return svc.PatchMailing(ctx, pid, bellhop.Welcome, p)
			}
			stored := func() map[string]bellhop.WATemplate {
				t.Helper()
				m, err := db.GetMailing(ctx, "p1", bellhop.Welcome)
				if err != nil {
					t.Fatal(err)
				}
				return m.WATemplates
			}

			// Unknown: refused naming the field and the template; nothing saved.
			_, err = patch("p1", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{
				"en": wa("booking_welcom", "", three...), "ru": wa("booking_welcome", "", three...)}})
			var e *bellhop.Error
			if !errors.As(err, &e) || e.Code != bellhop.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "wa_templates.en.name" ||
				!strings.Contains(e.Message, "booking_welcom ") {
				t.Fatalf("an unknown template = %v, want invalid_input naming wa_templates.en.name and the template", err)
			}
			if len(stored()) != 0 {
				t.Fatalf("a refused patch saved %v", stored())
			}

			// Known: saved; two languages, one list.
			cat.reset(nil)
			res, err := patch("p1", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{
				"en": wa("booking_welcome", "", three...), "ru": wa("booking_welcome", "ru", three...)}})
			if err != nil || len(res.Warnings) != 0 {
				t.Fatalf("known templates = %+v, %v; want saved without warnings", res, err)
			}
			if got := stored(); got["en"].Name != "booking_welcome" || got["en"].Language != "" || got["ru"].Language != "ru" {
				t.Fatalf("stored %+v", got)
			}
			if n := cat.calls["p1/whatsapp_cloud"]; n != 1 {
				t.Fatalf("the list was read %d times, want once", n)
			}

			// A base language is stored as the provider lists it, so a send names that code.
			if _, err := patch("p1", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{"en": wa("checkin_reminder", "", "{guest_name}")}}); err != nil {
				t.Fatal(err)
			}
			if got := stored(); got["en"].Name != "checkin_reminder" || got["en"].Language != "en_US" || got["ru"].Name != "booking_welcome" {
				t.Fatalf("stored %+v, want checkin_reminder in en_US and the Russian one kept", got)
			}

			// The provider does not answer: saved, with a warning naming the channel.
			cat.reset(bellhop.Errorf(bellhop.EProviderUnavailable, "WhatsApp Cloud API did not answer."))
			res, err = patch("p1", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{"en": wa("booking_welcome_v2", "", three...)}})
			if err != nil || len(res.Warnings) != 1 || res.Warnings[0].Code != mailings.WarnTemplatesUnchecked ||
				res.Warnings[0].SendingMethod != "whatsapp_cloud" || !strings.Contains(res.Warnings[0].Message, "it did not answer") {
				t.Fatalf("provider down = %+v, %v; want saved with a warning", res, err)
			}
			if got := stored(); got["en"].Name != "booking_welcome_v2" {
				t.Fatalf("stored %+v", got)
			}

			// Input refused on its own never reaches the provider.
			cat.reset(nil)
			_, err = patch("p1", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", "{room_number}")}})
			if !errors.As(err, &e) || e.Fields[0].Field != "wa_templates.en.params[0]" || len(cat.calls) != 0 {
				t.Fatalf("an unknown placeholder = %v after %v calls; want refused before any", err, cat.calls)
			}

			// A channel not active yet (and one that sends no templates) is not asked: a warning.
			integration("whatsapp_cloud", false)
			res, err = patch("p1", mailings.MailingPatch{SendingMethods: &[]string{"email", "whatsapp_cloud", "dialog360"},
				WATemplates: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", three...)}})
			if err != nil || len(res.Warnings) != 2 || len(cat.calls) != 0 {
				t.Fatalf("inactive channels = %+v, %v, %v calls; want two warnings and no call", res, err, cat.calls)
			}
			for i, why := range []string{"whatsapp_cloud: the integration is not active yet", "dialog360: the integration is not connected"} {
				method, reason, _ := strings.Cut(why, ": ")
				if w := res.Warnings[i]; w.SendingMethod != method || !strings.Contains(w.Message, reason) {
					t.Errorf("warning %d = %+v, want %q", i, w, why)
				}
			}

			// An IntellectDialog sender lists a rejected template by its status.
			integration("intellectdialog", true)
			_, err = patch("p1", mailings.MailingPatch{SendingMethods: &[]string{"intellectdialog"},
				WATemplates: map[string]*bellhop.WATemplate{"ru": wa("promo_discount", "", "15")}})
			if !errors.As(err, &e) || e.Fields[0].Field != "wa_templates.ru.name" || !strings.Contains(e.Message, "REJECTED") {
				t.Fatalf("a rejected template = %v", err)
			}
			// …and a WhatsApp Web sender lists none: it sends the texts, so nothing to say; a
			// mailing without texts is saved with a warning.
			cat.lists["intellectdialog"] = nil
			res, err = patch("p1", mailings.MailingPatch{SendingMethods: &[]string{"intellectdialog"},
				WATemplates: map[string]*bellhop.WATemplate{"ru": wa("promo_discount", "", "15")}})
			if err != nil || len(res.Warnings) != 0 {
				t.Fatalf("a sender without templates, a mailing with texts = %+v, %v", res, err)
			}
			res, err = patch("p1", mailings.MailingPatch{Templates: map[string]string{"en": "", "ru": "", "de": "", "es": ""},
				WATemplates: map[string]*bellhop.WATemplate{"ru": wa("promo_discount", "", "15")}})
			if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "lists no templates") {
				t.Fatalf("a sender without templates, a mailing without texts = %+v, %v", res, err)
			}

			// Another property's mailing: not found, nothing asked.
			cat.reset(nil)
			if _, err := patch("p2", mailings.MailingPatch{WATemplates: map[string]*bellhop.WATemplate{"en": wa("booking_welcome", "", three...)}}); !bellhop.IsNotFound(err) || len(cat.calls) != 0 {
				t.Fatalf("p2's mailing = %v after %v calls, want not found", err, cat.calls)
			}
		})
	}
}
