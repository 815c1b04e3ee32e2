package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

// TestServiceText: a service error reads in Russian from its fields and details or a known
// pattern; an unknown message, and every message in English, stays as the service wrote it.
func TestServiceText(t *testing.T) {
	rejected := &bellhop.Error{Code: bellhop.EInvalidAPIKey,
		Message: "IntellectDialog rejected the API key: the API key was rejected. Check that you copied the whole API key from your IntellectDialog account.",
		Fields:  []bellhop.FieldError{{Field: "api_key", Message: "the API key was rejected"}}}
	unknown := bellhop.Errorf(bellhop.EConflict, "Something no page has heard of.")
	tests := []struct {
		name, lang string
		err        error
		want       string
	}{
		{"rejected key", "ru", rejected, "IntellectDialog отклонил «API-ключ»: значение «API-ключ» отклонено. Проверьте, что значение «API-ключ» скопировано из аккаунта IntellectDialog целиком."},
		{"english stays", "en", rejected, rejected.Message},
		{"unknown falls back", "ru", unknown, "Something no page has heard of."},
		{"not an *Error", "ru", fmt.Errorf("boom"), "Internal error."},
		{"fields", "ru", bellhop.JoinInvalid(bellhop.Invalid("templates.en", "{x} is not a placeholder; use {guest_name}"),
			bellhop.Invalid("sending_methods", "the property has no email integration; connect it first or remove it from the channels"),
			bellhop.Invalid("mystery", "is odd")),
			"Текст (en): нет таких плейсхолдеров: {x}; используйте {guest_name}; Каналы: у объекта нет интеграции email: подключите её или уберите из каналов; mystery: is odd"},
		{"required", "ru", bellhop.Invalid("operator_id", "is required"), "Оператор: обязательно"},
		{"webhook in use", "ru", &bellhop.Error{Code: bellhop.EWebhookInUse, Message: "The 360dialog account already sends its callbacks to https://pms.example/… — another system.",
			Details: map[string]any{"webhook_url": "https://pms.example/…"}}, "Аккаунт 360dialog уже отправляет уведомления на https://pms.example/…"},
		{"not ready", "ru", &bellhop.Error{Code: bellhop.ENotReady, Message: notReadyPrefix + "no API key has been entered; and no sender is chosen: pick the phone number that sends.",
			Fields: []bellhop.FieldError{{Field: "api_key", Message: "no API key has been entered"}, {Field: "sender_id", Message: "no sender is chosen: pick the phone number that sends"}}},
			"Интеграцию пока нельзя включить: не введено значение «API-ключ»; отправитель не выбран: выберите номер, с которого идут сообщения."},
	}
	for _, tt := range tests {
		got := serviceText(tt.lang, tt.err)
		if got != tt.want && !(tt.name == "webhook in use" && strings.HasPrefix(got, tt.want)) {
			t.Errorf("%s: serviceText = %q\nwant %q", tt.name, got, tt.want)
		}
	}
	if got := fieldMessage("ru", "a field message nobody translated"); got != "a field message nobody translated" {
		t.Errorf("an unknown field message = %q, want the English", got)
	}
}
