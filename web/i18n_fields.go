package web

import "strings"

// A channel kind declares its fields in English (provider.Kind.Fields); the page shows them in
// English as declared and in the other languages from fieldCatalog. A field the catalog lacks
// shows in English, so a new kind works at once and gets its translation later (a test lists
// what is missing).
//
// Keys: a field's name for its label ("api_key"), "KIND.NAME.help" or "NAME.help" for its help,
// "option.VALUE" for a select's options.
var fieldCatalog = map[string]map[string]string{
	"ru": {
		"api_key":      "API-ключ",
		"base_url":     "Адрес API",
		"access_token": "Токен доступа",
		"waba_id":      "ID аккаунта WhatsApp Business",
		"app_secret":   "Секрет приложения",
		"host":         "SMTP-сервер",
		"port":         "Порт",
		"security":     "Шифрование",
		"username":     "Имя пользователя",
		"password":     "Пароль",
		"from_address": "Адрес отправителя",
		"from_name":    "Имя отправителя",

		"intellectdialog.api_key.help":     "В настройках аккаунта IntellectDialog → API.",
		"intellectdialog.base_url.help":    "Оставьте пустым для адреса IntellectDialog; меняйте, только если так сказал провайдер.",
		"base_url.help":                    "Оставьте пустым для адреса самого сервиса; у песочницы или прокси свой адрес.",
		"whatsapp_cloud.access_token.help": "Постоянный токен системного пользователя с правами whatsapp_business_messaging и whatsapp_business_management.",
		"whatsapp_cloud.waba_id.help":      "Цифры, из WhatsApp Manager → Инструменты аккаунта.",
		"whatsapp_cloud.app_secret.help":   "Из настроек приложения Meta → Основное: им подписаны уведомления о статусах.",
		"dialog360.api_key.help":           "D360-API-KEY номера из 360dialog Client Hub.",
		"email.host.help":                  "например, smtp.example.com",
		"email.port.help":                  "587 для STARTTLS, 465 для TLS",
		"email.password.help":              "Некоторые почтовые сервисы требуют пароль приложения.",
		"email.from_address.help":          "например, reception@hotel.example",
		"email.from_name.help":             "например, Hotel Aurora",

		"option.starttls": "STARTTLS",
		"option.tls":      "TLS",
		"option.none":     "без шифрования",

		// fields of a mailing and of an activation, as service errors name them
		"templates":           "Текст",
		"wa_templates":        "Шаблон WhatsApp",
		"sending_methods":     "Каналы",
		"schedule":            "Расписание",
		"sender_id":           "Отправитель",
		"sender_ids":          "Отправители",
		"forward_to_existing": "Пересылка уведомлений",
		"operator_id":         "Оператор",
	},
}

// fieldText is a declared field's text in lang: key from fieldCatalog, else for a kind's help
// text the field's own ("email.port.help" → "port.help"), else the declaration's English.
func fieldText(lang, key, english string) string {
	if lang == "en" || english == "" {
		return english
	}
	if s, ok := fieldCatalog[lang][key]; ok {
		return s
	}
	if _, rest, ok := strings.Cut(key, "."); ok && strings.Contains(rest, ".") {
		if s, ok := fieldCatalog[lang][rest]; ok {
			return s
		}
	}
	return english
}

// labelFields finds a field by its English label as services write it in messages ("the API
// key was rejected"), lower-cased, so that fieldCatalog can name it in another language.
var labelFields = map[string]string{
	"api key":                      "api_key",
	"api address":                  "base_url",
	"access token":                 "access_token",
	"whatsapp business account id": "waba_id",
	"app secret":                   "app_secret",
	"smtp server":                  "host",
	"port":                         "port",
	"encryption":                   "security",
	"username":                     "username",
	"password":                     "password",
	"from address":                 "from_address",
	"from name":                    "from_name",
}
