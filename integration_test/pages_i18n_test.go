package integration_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestPageRussianServiceErrors: on the Russian pages the services' English messages (a rejected
// key, a template with an unknown placeholder) read in Russian, while the JSON API keeps its
// English message and code.
func TestPageRussianServiceErrors(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, _ := h.activeProperty("r")
	c := h.pageClient()
	c.signInWithLink(h.signInLink("r"))
	c.get("/lang/ru?next=/p/r")
	csrf := c.csrf("/p/r")

	p := c.do("POST", "/p/r/integrations/intellectdialog", url.Values{"csrf": {csrf}, "action": {"check"}, "api_key": {"not-the-sandbox-key"}})
	if p.Status != 303 {
		t.Fatalf("check with a wrong key = %d:\n%s", p.Status, p.Body)
	}
	p = c.get("/p/r")
	for _, want := range []string{"Неверные данные: сервис их отклонил.", "отклонил «API-ключ»", "скопировано из аккаунта"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the Russian page after a wrong key lacks %q:\n%s", want, p.Body)
		}
	}
	for _, english := range []string{"rejected the API key", "Check that you copied"} {
		if strings.Contains(p.Body, english) {
			t.Errorf("the Russian page after a wrong key shows %q", english)
		}
	}
	// The API still answers in English, with its code.
	r := h.must(422, "POST", "/api/v1/properties/r"+intg+"/check", admin, nil)
	if !strings.Contains(r.Raw, "invalid_api_key") || !strings.Contains(r.Raw, "rejected the API key") {
		t.Errorf("the API's answer to a wrong key = %s", r.Raw)
	}

	csrf = c.csrf("/p/r/mailings")
	p = c.do("POST", "/p/r/mailings/welcome", url.Values{"csrf": {csrf}, "sending_method": {"intellectdialog"},
		"tpl_en": {"Hi {guest}, welcome"}, "day_offset": {"-2"}, "send_time": {"13:30:00"}, "delay_minutes": {"0"},
		"late_until_day": {"0"}, "quiet_start": {"21:00"}, "quiet_end": {"09:00"}})
	if p.Status != 422 {
		t.Fatalf("a bad template = %d:\n%s", p.Status, p.Body)
	}
	for _, want := range []string{"Исправьте форму.", "Текст (en): нет таких плейсхолдеров: {guest}", "возможно, имелось в виду {guest} → {guest_name}"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the Russian page after a bad template lacks %q:\n%s", want, p.Body)
		}
	}
	if strings.Contains(p.Body, "is not a placeholder") || strings.Contains(p.Body, "did you mean") {
		t.Errorf("the Russian page after a bad template shows the English message")
	}
}
