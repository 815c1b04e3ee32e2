package integration_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// TestTemplateNamesCheckedOnSave: a mailing's WhatsApp templates are checked against the
// approved list of the WhatsApp Cloud API sandbox (its recorded templates, over HTTP) when the
// mailing is saved, through the API and the Mailings page, on both databases. While the
// channel is not active yet, and while the provider does not answer, the templates are saved
// unchecked with a warning (never a 500); once it answers, a name it does not have is a 422
// naming wa_templates.<lang>.name and the template, nothing saved, and an approved one is
// saved. An IntellectDialog WhatsApp Web sender lists no templates and sends the texts: not
// checked, no refusal. Another property's mailing stays 404.
func TestTemplateNamesCheckedOnSave(t *testing.T) {
	three := []string{"{guest_name}", "{hotel_name}", "{arrival_date}"}
	tpl := func(lang, name string) map[string]any {
		return map[string]any{"wa_templates": map[string]any{lang: map[string]any{"name": name, "params": three}}}
	}
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			wa, waURL, _ := channelSandboxes(t)
			admin, _ := h.activeProperty("p1")
			other := h.property("p2", true)
			base := "/api/v1/properties/p1"
			welcome := base + "/mailings/welcome"
			stored := func() map[string]any {
				t.Helper()
				w, _ := h.must(200, "GET", welcome, admin, nil).Body["wa_templates"].(map[string]any)
				en, _ := w["en"].(map[string]any)
				return en
			}
			warnings := func(r response) []map[string]any {
				t.Helper()
				ws, ok := r.Body["warnings"].([]any)
				if !ok {
					t.Fatalf("no warnings in the answer: %s", r.Raw)
				}
				var out []map[string]any
				for _, w := range ws {
					out = append(out, w.(map[string]any))
				}
				return out
			}

			// The Cloud API connected and its number chosen, not switched on yet: saved unchecked.
			cloud := base + "/integrations/whatsapp_cloud"
			h.must(200, "PUT", cloud, admin, map[string]any{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
				"app_secret": wa.AppSecret(), "base_url": wasandbox.CloudBaseURL(waURL)})
			h.must(200, "POST", cloud+"/check", admin, nil)
			h.must(200, "PUT", cloud+"/sender", admin, map[string]any{"sender_id": wasandbox.NumberReception})
			body := tpl("en", "booking_welcom")
			body["sending_methods"] = []string{"whatsapp_cloud", "intellectdialog"}
			r := h.must(200, "PATCH", welcome, admin, body)
			// (IntellectDialog's WhatsApp Web sender lists no templates: it sends the texts.)
			ws := warnings(r)
			if len(ws) != 1 || ws[0]["code"] != "templates_unchecked" || ws[0]["sending_method"] != "whatsapp_cloud" ||
				!strings.Contains(ws[0]["message"].(string), "not active yet") {
				t.Fatalf("templates of a channel not active yet: %s", r.Raw)
			}
			if r.Body["sending_method"] != "whatsapp_cloud" || stored()["name"] != "booking_welcom" {
				t.Fatalf("saved: %s", r.Raw)
			}

			// Switched on: the same name is refused, naming the field and the template.
			h.must(200, "POST", cloud+"/activate", admin, nil)
			r = h.must(422, "PATCH", welcome, admin, tpl("en", "booking_welcom"))
			if r.errCode() != "invalid_input" || strings.Join(fieldNames(r), ",") != "wa_templates.en.name" ||
				!strings.Contains(r.errMessage(), "booking_welcom is not among the approved templates of WhatsApp Cloud API") {
				t.Fatalf("an unknown template: %s", r.Raw)
			}
			// A rejected one is not in the approved list either; a language it lacks is named.
			r = h.must(422, "PATCH", welcome, admin, map[string]any{"wa_templates": map[string]any{
				"ru": map[string]any{"name": "promo_discount", "params": []string{"15"}},
				"de": map[string]any{"name": "booking_welcome", "params": three}}})
			if got := strings.Join(fieldNames(r), ","); got != "wa_templates.de.name,wa_templates.ru.name" ||
				!strings.Contains(r.errMessage(), "booking_welcome is approved at WhatsApp Cloud API in en, ru, not in de") {
				t.Fatalf("a rejected template and a missing language: %s", r.Raw)
			}

			// Approved: saved, no warning.
			r = h.must(200, "PATCH", welcome, admin, tpl("en", "booking_welcome"))
			if len(warnings(r)) != 0 || stored()["name"] != "booking_welcome" {
				t.Fatalf("an approved template: %s", r.Raw)
			}
			// Too many parameters for its body: refused naming them.
			r = h.must(422, "PATCH", welcome, admin, map[string]any{"wa_templates": map[string]any{
				"en": map[string]any{"name": "checkin_reminder", "params": []string{"{guest_name}", "{hotel_name}"}}}})
			if strings.Join(fieldNames(r), ",") != "wa_templates.en.params" || !strings.Contains(r.errMessage(), "checkin_reminder takes 1 parameter(s)") {
				t.Fatalf("too many parameters: %s", r.Raw)
			}

			// The provider does not answer: saved unchecked, with a warning; never a 500.
			wa.SetOutage(http.StatusServiceUnavailable)
			r = h.must(200, "PATCH", welcome, admin, tpl("en", "booking_welcome_v2"))
			if ws := warnings(r); len(ws) != 1 || ws[0]["code"] != "templates_unchecked" || !strings.Contains(ws[0]["message"].(string), "did not answer") {
				t.Fatalf("provider down: %s", r.Raw)
			}
			if stored()["name"] != "booking_welcome_v2" {
				t.Fatal("the unchecked template was not saved")
			}
			wa.SetOutage(0)

			// Another property's mailing: 404, as for ids that do not exist.
			h.must(404, "PATCH", "/api/v1/properties/p2/mailings/welcome", admin, tpl("en", "booking_welcome"))
			h.must(404, "PATCH", welcome, other, tpl("en", "booking_welcome"))

			// The page: a refused name is shown at its language, with the reason; a provider
			// that does not answer leaves the mailing saved, with the warning in the flash.
			c := h.pageClient()
			c.signInWithLink(h.signInLink("p1"))
			csrf := c.csrf("/p/p1/mailings")
			save := func(template string) pageAnswer {
				t.Helper()
				return c.do("POST", "/p/p1/mailings/welcome", url.Values{"csrf": {csrf}, "tpl_en": {"Hi {guest_name}"},
					"method_1": {"whatsapp_cloud"}, "wa_section": {"whatsapp_cloud"}, "wa_tpl_en": {template},
					"wa_params_en": {strings.Join(three, "\n")}, "wa_tpl_ru": {""},
					"day_offset": {"-1"}, "send_time": {"10:00"}, "delay_minutes": {"0"}, "late_until_day": {"0"},
					"quiet_start": {"21:00"}, "quiet_end": {"09:00"}})
			}
			p := save("booking_welcom/en")
			if p.Status != 422 || !strings.Contains(p.Body, `<p class="field-error">booking_welcom is not among the approved templates of WhatsApp Cloud API`) {
				t.Fatalf("a refused template on the page = %d:\n%s", p.Status, p.Body)
			}
			if p = save("booking_welcome/en"); p.Status != 303 {
				t.Fatalf("an approved template on the page = %d:\n%s", p.Status, p.Body)
			}
			if p = c.get("/p/p1/mailings"); !strings.Contains(p.Body, `class="flash flash-ok"`) || stored()["name"] != "booking_welcome" {
				t.Fatalf("saved without a warning:\n%s", p.Body)
			}
			wa.SetOutage(http.StatusServiceUnavailable)
			c.hdr.Set("Accept-Language", "ru")
			if p = save("checkin_reminder/en"); p.Status != 303 {
				t.Fatalf("a template while the provider is down = %d:\n%s", p.Status, p.Body)
			}
			p = c.get("/p/p1/mailings")
			if !strings.Contains(p.Body, `class="flash flash-warning"`) || !strings.Contains(p.Body, "Шаблоны WhatsApp не удалось сверить с WhatsApp Cloud API (провайдер не ответил)") {
				t.Fatalf("the warning is not shown:\n%s", p.Body)
			}
			if stored()["name"] != "checkin_reminder" {
				t.Fatal("the page's unchecked template was not saved")
			}
		})
	}
}
