package web

import (
	"errors"
	"regexp"
	"strings"

	"github.com/bellhop/bellhop"
)

// The services answer in English with stable codes, fields and details; the JSON API passes
// that on as it is. A page in another language renders a service error from its structure
// where it has one (the fields at fault, the webhook in use), and from msgPatterns for the
// known wording of a message or of a field's message. A message no pattern knows is shown in
// English, so a new service message works at once and gets its translation later.

// serviceText is err's message for a page in lang.
func serviceText(lang string, err error) string {
	msg := bellhop.ErrorMessage(err)
	var e *bellhop.Error
	if lang == "en" || !errors.As(err, &e) {
		return msg
	}
	switch e.Code {
	case bellhop.EWebhookInUse:
		if u, ok := e.Details["webhook_url"].(string); ok {
			title := "The provider"
			if m := webhookTitleRE.FindStringSubmatch(msg); m != nil {
				title = m[1]
			}
			return tr(lang, "svc.webhook_in_use", title, u)
		}
	case bellhop.ENotReady:
		if len(e.Fields) > 0 && strings.HasPrefix(msg, notReadyPrefix) {
			parts := make([]string, len(e.Fields))
			for i, f := range e.Fields {
				parts[i] = fieldMessage(lang, f.Message)
			}
			return tr(lang, "svc.not_ready", strings.Join(parts, "; "))
		}
	}
	if len(e.Fields) > 0 && msg == joinedFields(e.Fields) {
		// Built by bellhop.Invalid and JoinInvalid: "field: message; field: message".
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = fieldLabel(lang, f.Field) + ": " + fieldMessage(lang, f.Message)
		}
		return strings.Join(parts, "; ")
	}
	return fieldMessage(lang, msg)
}

// notReadyPrefix opens the connector's list of what an activation still lacks.
const notReadyPrefix = "The integration cannot be activated yet: "

var webhookTitleRE = regexp.MustCompile(`^The (.+?) account already sends its callbacks to `)

// joinedFields is the message bellhop.Invalid and JoinInvalid make of fields.
func joinedFields(fs []bellhop.FieldError) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

// fieldMessage is one English message (a whole one, or a field's) in lang: the first pattern
// that matches it whole, else the English.
func fieldMessage(lang, msg string) string {
	if lang == "en" {
		return msg
	}
	for _, p := range msgPatterns[lang] {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			return p.say(lang, m)
		}
	}
	return msg
}

// fieldLabel names an input field in lang: "api_key" by its label, "templates.ru" as its
// group and key; a field the catalog lacks by its own name.
func fieldLabel(lang, name string) string {
	if s, ok := fieldCatalog[lang][name]; ok {
		return s
	}
	if i := strings.LastIndex(name, "."); i > 0 {
		return fieldLabel(lang, name[:i]) + " (" + name[i+1:] + ")"
	}
	return name
}

// labelText is a field's English label as services write it ("API key", "access token") in
// lang, quoted; a label the catalog lacks stays English.
func labelText(lang, label string) string {
	if name, ok := labelFields[strings.ToLower(label)]; ok {
		if s, ok := fieldCatalog[lang][name]; ok {
			label = s
		}
	}
	return "«" + label + "»"
}

// msgPattern is a known English message and its wording in a language; say gets the
// submatches.
type msgPattern struct {
	re  *regexp.Regexp
	say func(lang string, m []string) string
}

func pat(re string, say func(lang string, m []string) string) msgPattern {
	return msgPattern{re: regexp.MustCompile("^" + re + "$"), say: say}
}

// andMoreRE is how a list of names says it was cut short ("and 3 more").
var andMoreRE = regexp.MustCompile(`\band (\d+) more\b`)

// msgPatterns are the known messages per language, set in init: some patterns translate their
// parts through fieldMessage, which reads msgPatterns.
var msgPatterns map[string][]msgPattern

func init() { msgPatterns = knownMessages() }

func knownMessages() map[string][]msgPattern {
	return map[string][]msgPattern{
		"ru": {
			// connector: a check or an action the provider answered.
			pat(`(.+) rejected the (.+?): (.+)\. Check that you copied the whole .+ from your .+ account\.`, func(l string, m []string) string {
				return m[1] + " отклонил " + labelText(l, m[2]) + ": " + fieldMessage(l, m[3]) + ". Проверьте, что значение " +
					labelText(l, m[2]) + " скопировано из аккаунта " + m[1] + " целиком."
			}),
			pat(`(.+) did not accept the (.+?): (.+)\. Check the .+ and save it again\.`, func(l string, m []string) string {
				return m[1] + " не принял " + labelText(l, m[2]) + ": " + fieldMessage(l, m[3]) + ". Проверьте " +
					labelText(l, m[2]) + " и сохраните снова."
			}),
			pat(`the (.+) was rejected`, func(l string, m []string) string {
				return "значение " + labelText(l, m[1]) + " отклонено"
			}),
			pat(`(.+) did not answer when Bellhop tried to (.+)\. Nothing was changed; try again in a few minutes\.`, func(l string, m []string) string {
				return m[1] + " не ответил, когда Bellhop пытался " + fieldMessage(l, m[2]) + ". Ничего не изменено; попробуйте снова через несколько минут."
			}),
			pat(`check the (.+)`, func(l string, m []string) string { return "проверить " + labelText(l, m[1]) }),
			pat(`install Bellhop's webhook`, func(string, []string) string { return "установить вебхук Bellhop" }),
			pat(`(.+) refused to (.+): (.+)\.`, func(l string, m []string) string {
				return m[1] + " отказался " + fieldMessage(l, m[2]) + ": " + fieldMessage(l, m[3]) + "."
			}),
			pat(`it gave no reason`, func(string, []string) string { return "причина не указана" }),
			pat(`the address answered “not found” when Bellhop tried to (.+): check that it is the (.+) API's root, such as (.+)`, func(l string, m []string) string {
				return "адрес ответил «не найдено», когда Bellhop пытался " + fieldMessage(l, m[1]) + ": проверьте, что это корень API " + m[2] + ", например " + m[3]
			}),
			pat(`(.+) is not connected yet: enter the (.+) first\.`, func(l string, m []string) string {
				return m[1] + " ещё не подключён: сначала введите " + labelText(l, m[2]) + "."
			}),
			pat(`Integrations need the Contact Center module, .*`, func(string, []string) string {
				return "Интеграциям нужен модуль «Контакт-центр», которого нет в подписке объекта. Попросите менеджера аккаунта добавить его."
			}),
			pat(`No messaging provider is connected yet: .*`, func(string, []string) string {
				return "Ни один провайдер сообщений ещё не подключён: сначала введите API-ключ провайдера на странице «Контакт-центр»."
			}),
			// connector: what an activation still lacks.
			pat(`the (.+) has not been checked: click Check integration`, func(l string, m []string) string {
				return "значение " + labelText(l, m[1]) + " не проверено: нажмите «" + tr(l, "integration.check") + "»"
			}),
			pat(`no (.+) has been entered`, func(l string, m []string) string { return "не введено значение " + labelText(l, m[1]) }),
			pat(`(.+) rejected the (.+) \((.+)\): enter a valid one and check it`, func(l string, m []string) string {
				return m[1] + " отклонил " + labelText(l, m[2]) + " (" + fieldMessage(l, m[3]) + "): введите верное значение и проверьте его"
			}),
			pat(`no sender is chosen: pick the phone number that sends`, func(string, []string) string {
				return "отправитель не выбран: выберите номер, с которого идут сообщения"
			}),
			// mailings: templates and channels.
			pat(`(.+) (?:is not a placeholder|are not placeholders); use ([^()]+?)(?: \(did you mean (.+)\?\))?`, func(l string, m []string) string {
				s := "нет таких плейсхолдеров: " + andMoreRE.ReplaceAllString(m[1], "и ещё $1") + "; используйте " + m[2]
				if m[3] != "" {
					s += " (возможно, имелось в виду " + m[3] + "?)"
				}
				return s
			}),
			pat(`is empty; write the message, or remove the language`, func(string, []string) string {
				return "пусто: напишите текст или уберите язык"
			}),
			pat(`is (\d+) characters long; a message holds at most (\d+)`, func(_ string, m []string) string {
				return "длина " + m[1] + " символов, а в сообщении помещается не больше " + m[2]
			}),
			pat(`an enabled mailing needs a text in at least one language`, func(string, []string) string {
				return "включённой рассылке нужен текст хотя бы на одном языке"
			}),
			pat(`the property has no (.+) integration; connect it first or remove it from the channels`, func(_ string, m []string) string {
				return "у объекта нет интеграции " + m[1] + ": подключите её или уберите из каналов"
			}),
			// mailings: WhatsApp templates checked against the provider's approved list.
			pat(`(.+) is not among the approved templates of (.+) \(approved: (.+)\)`, func(_ string, m []string) string {
				return "шаблона " + m[1] + " нет среди одобренных шаблонов " + m[2] + " (одобрены: " + andMoreRE.ReplaceAllString(m[3], "и ещё $1") + ")"
			}),
			pat(`(.+) is not among the approved templates of (.+) \(it lists none\)`, func(_ string, m []string) string {
				return "шаблона " + m[1] + " нет среди одобренных шаблонов " + m[2] + " (одобренных шаблонов нет)"
			}),
			pat(`(.+) is not approved at (.+) \(its status is (.+)\); only an approved template can be sent`, func(_ string, m []string) string {
				return "шаблон " + m[1] + " не одобрен в " + m[2] + " (статус " + m[3] + "); отправить можно только одобренный шаблон"
			}),
			pat(`(.+) is approved at (.+) in (.+), not in (.+)`, func(_ string, m []string) string {
				return "шаблон " + m[1] + " одобрен в " + m[2] + " на языках " + m[3] + ", но не на " + m[4]
			}),
			pat(`(.+) is approved at (.+) in (.+): set language to the one to send`, func(_ string, m []string) string {
				return "шаблон " + m[1] + " одобрен в " + m[2] + " на языках " + m[3] + ": укажите, на каком отправлять"
			}),
			pat(`(.+) takes (\d+) parameter\(s\) at (.+); (\d+) are given`, func(_ string, m []string) string {
				return "шаблон " + m[1] + " в " + m[3] + " принимает параметров: " + m[2] + "; указано: " + m[4]
			}),
			pat(`(.+) takes (\d+) parameter\(s\) at (.+); (\d+) are given, and WhatsApp refuses a message without all of them\.`, func(_ string, m []string) string {
				return "Шаблон " + m[1] + " в " + m[3] + " принимает параметров: " + m[2] + "; указано: " + m[4] + ", а без всех параметров WhatsApp сообщение не примет."
			}),
			pat(`The WhatsApp templates could not be checked against (.+) \((.+)\); they are saved unchecked\. Save them again later to check them\.`, func(l string, m []string) string {
				return "Шаблоны WhatsApp не удалось сверить с " + m[1] + " (" + fieldMessage(l, m[2]) + "); они сохранены без проверки. Сохраните их позже ещё раз, чтобы проверить."
			}),
			pat(`the integration is not connected`, func(string, []string) string { return "интеграция не подключена" }),
			pat(`the integration is not active yet`, func(string, []string) string { return "интеграция ещё не включена" }),
			pat(`its key was rejected`, func(string, []string) string { return "её ключ отклонён" }),
			pat(`no sender is chosen`, func(string, []string) string { return "отправитель не выбран" }),
			pat(`it did not answer`, func(string, []string) string { return "провайдер не ответил" }),
			pat(`it rejected the integration's key`, func(string, []string) string {
				return "провайдер отклонил ключ интеграции"
			}),
			pat(`its list of templates could not be read`, func(string, []string) string {
				return "не удалось прочитать список шаблонов"
			}),
			pat(`its sender lists no templates: only official WhatsApp Business API senders send them`, func(string, []string) string {
				return "у отправителя нет шаблонов: их отправляют только официальные отправители WhatsApp Business API"
			}),
			pat(`it was added to the channels meanwhile`, func(string, []string) string {
				return "канал добавили в рассылку тем временем"
			}),
			pat(`(.+) is not a channel Bellhop knows; use one of: (.+)`, func(_ string, m []string) string {
				return "Bellhop не знает канал " + m[1] + "; используйте один из: " + m[2]
			}),
			pat(`(".+") is not a language code such as en or ru`, func(_ string, m []string) string {
				return m[1] + " — не код языка (например, en или ru)"
			}),
			pat(`(".+") must be written as the language code (".+")`, func(_ string, m []string) string {
				return m[1] + " пишется как код языка " + m[2]
			}),
			pat(`Only failed or unconfirmed deliveries can be sent again; this one is (.+)\.`, func(_ string, m []string) string {
				return "Снова отправить можно только неудавшиеся или неподтверждённые доставки; у этой статус " + m[1] + "."
			}),
			pat(`Delivery (.+) not found\.`, func(_ string, m []string) string { return "Доставка " + m[1] + " не найдена." }),
			pat(`Enter the (.+) first\.`, func(_ string, m []string) string { return "Сначала введите: " + m[1] + "." }),
			pat(`(.+)\. A provider's address must be an https:// address on the public internet, such as (\S+) \(an operator who runs a provider inside their own network can allow it with BELLHOP_ALLOW_PRIVATE_PROVIDERS=true\)`, func(l string, m []string) string {
				return fieldMessage(l, m[1]) + ". Адрес провайдера должен быть адресом https:// в публичном интернете, например " + m[2] +
					" (администратор, у которого провайдер работает во внутренней сети, может разрешить это через BELLHOP_ALLOW_PRIVATE_PROVIDERS=true)"
			}),
			pat(`it is not an address Bellhop may call`, func(string, []string) string {
				return "Bellhop не может обращаться по этому адресу"
			}),
			pat(`(.+) has no sender (".+") \(it offers: (.*)\)`, func(_ string, m []string) string {
				return "у " + m[1] + " нет отправителя " + m[2] + " (есть: " + m[3] + ")"
			}),
			pat(`is required \(or sender_ids, for a pool of senders\)`, func(string, []string) string {
				return "обязательно (или sender_ids — для пула отправителей)"
			}),
			pat(`No sender is chosen yet, so nothing is paced\.`, func(string, []string) string {
				return "Отправитель ещё не выбран, поэтому темп не задан."
			}),
			// mapping: chats and operators on the Users page.
			pat(`(.+) has no operator (".+"); pick one of the operators it lists`, func(_ string, m []string) string {
				return "у " + m[1] + " нет оператора " + m[2] + "; выберите одного из перечисленных"
			}),
			pat(`Chats with guests are not set up yet: .*`, func(string, []string) string {
				return "Чаты с гостями ещё не настроены: попросите администратора подключить провайдера сообщений на странице «Контакт-центр»."
			}),
			pat(`Chats with guests are switched off: the (.+) integration is not active\. .*`, func(_ string, m []string) string {
				return "Чаты с гостями выключены: интеграция " + m[1] + " не активна. Попросите администратора включить её на странице «Контакт-центр»."
			}),
			pat(`(.+) is not linked to a (.+) operator yet\. .*`, func(_ string, m []string) string {
				return m[1] + " ещё не связан(а) с оператором " + m[2] + ". Попросите администратора связать вас на странице «Контакт-центр» (вкладка «Пользователи»)."
			}),
			pat(`(.+) is linked to operator (".+") \((.*)\), which (.+) no longer has\. .*`, func(_ string, m []string) string {
				return m[1] + " связан(а) с оператором " + m[2] + " (" + m[3] + "), которого в " + m[4] + " больше нет. Попросите администратора выбрать другого оператора на странице «Контакт-центр»."
			}),
			// common field checks.
			pat(`must be a whole number`, func(string, []string) string { return "должно быть целым числом" }),
			pat(`must be a whole number from (\d+) to (\d+)`, func(_ string, m []string) string {
				return "должно быть целым числом от " + m[1] + " до " + m[2]
			}),
			pat(`is required`, func(string, []string) string { return "обязательно" }),
			pat(`is not valid text`, func(string, []string) string { return "не является корректным текстом" }),
			pat(`must not contain line breaks, tabs or other control characters`, func(string, []string) string {
				return "не должно содержать переносов строк, табуляций и других управляющих символов"
			}),
			pat(`is required and must have no spaces: paste it whole`, func(string, []string) string {
				return "обязательно и без пробелов: вставьте его целиком"
			}),
			pat(`must be the WhatsApp Business Account ID: digits only, e\.g\. (\d+)`, func(_ string, m []string) string {
				return "должно быть ID аккаунта WhatsApp Business: только цифры, например " + m[1]
			}),
			pat(`must be a port number such as 587 or 465, not (".*")`, func(_ string, m []string) string {
				return "должно быть номером порта, например 587 или 465, а не " + m[1]
			}),
			pat(`must be an IANA time zone such as Europe/Moscow`, func(string, []string) string {
				return "должно быть часовым поясом IANA, например Europe/Moscow"
			}),
			pat(`must not be empty`, func(string, []string) string { return "не может быть пустым" }),
			pat(`must be one line`, func(string, []string) string { return "должно быть одной строкой" }),
			pat(`must be at most (\d+) characters`, func(_ string, m []string) string { return "не длиннее " + m[1] + " символов" }),
			pat(`must be at least (\d+) characters`, func(_ string, m []string) string { return "не короче " + m[1] + " символов" }),
			pat(`is longer than (\d+) characters`, func(_ string, m []string) string { return "длиннее " + m[1] + " символов" }),
		},
	}
}
