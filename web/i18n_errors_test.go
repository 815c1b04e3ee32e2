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
		{"template not approved", "ru", bellhop.Invalid("wa_templates.en.name",
			"booking_welcom is not among the approved templates of WhatsApp Cloud API (approved: a, b, c, d, e and 2 more)"),
			"Шаблон WhatsApp (en) (name): шаблона booking_welcom нет среди одобренных шаблонов WhatsApp Cloud API (одобрены: a, b, c, d, e и ещё 2)"},
		{"template in another language", "ru", bellhop.Invalid("wa_templates.de.language", "booking_welcome is approved at 360dialog in en, ru, not in de"),
			"Шаблон WhatsApp (de) (language): шаблон booking_welcome одобрен в 360dialog на языках en, ru, но не на de"},
		{"template rejected", "ru", bellhop.Invalid("wa_templates.ru.name",
			"promo_discount is not approved at IntellectDialog (its status is REJECTED); only an approved template can be sent"),
			"Шаблон WhatsApp (ru) (name): шаблон promo_discount не одобрен в IntellectDialog (статус REJECTED); отправить можно только одобренный шаблон"},
		{"template parameters", "ru", bellhop.Invalid("wa_templates.en.params", "checkin_reminder takes 1 parameter(s) at WhatsApp Cloud API; 2 are given"),
			"Шаблон WhatsApp (en) (params): шаблон checkin_reminder в WhatsApp Cloud API принимает параметров: 1; указано: 2"},
	}
	for _, tt := range tests {
		got := serviceText(tt.lang, tt.err)
		if got != tt.want && !(tt.name == "webhook in use" && strings.HasPrefix(got, tt.want)) {
			t.Errorf("%s: serviceText = %q\nwant %q", tt.name, got, tt.want)
		}
	}
	// The warnings of a saved mailing, as the page's flash shows them.
	for msg, want := range map[string]string{
		"The WhatsApp templates could not be checked against WhatsApp Cloud API (it did not answer); they are saved unchecked. Save them again later to check them.":                                                                 "Шаблоны WhatsApp не удалось сверить с WhatsApp Cloud API (провайдер не ответил); они сохранены без проверки. Сохраните их позже ещё раз, чтобы проверить.",
		"The WhatsApp templates could not be checked against IntellectDialog (its sender lists no templates: only official WhatsApp Business API senders send them); they are saved unchecked. Save them again later to check them.": "Шаблоны WhatsApp не удалось сверить с IntellectDialog (у отправителя нет шаблонов: их отправляют только официальные отправители WhatsApp Business API); они сохранены без проверки. Сохраните их позже ещё раз, чтобы проверить.",
		"booking_welcome takes 3 parameter(s) at 360dialog; 2 are given, and WhatsApp refuses a message without all of them.":                                                                                                        "Шаблон booking_welcome в 360dialog принимает параметров: 3; указано: 2, а без всех параметров WhatsApp сообщение не примет.",
	} {
		if got := fieldMessage("ru", msg); got != want {
			t.Errorf("fieldMessage(%q) = %q\nwant %q", msg, got, want)
		}
	}
	if got := fieldMessage("ru", "a field message nobody translated"); got != "a field message nobody translated" {
		t.Errorf("an unknown field message = %q, want the English", got)
	}
}
