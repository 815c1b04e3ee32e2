package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The pages speak English and Russian. A language cookie set by the switcher wins; else the
// browser's Accept-Language decides; else English.

const langCookie = "bellhop_lang"

var pageLangs = []string{"en", "ru"}

var langLabels = map[string]string{"en": "English", "ru": "Русский"}

// pageLang picks the language of a page request.
func pageLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(pageLangs, c.Value) {
		return c.Value
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// acceptLanguage returns the supported language the header prefers most, or English.
func acceptLanguage(h string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ && q > 0 && slices.Contains(pageLangs, base) {
			best, bestQ = base, q
		}
	}
	return best
}

// langOption is one entry of the language switcher.
type langOption struct {
	Code, Label, Href string
	Current           bool
}

func langOptions(current, path string) []langOption {
	out := make([]langOption, 0, len(pageLangs))
	for _, l := range pageLangs {
		out = append(out, langOption{Code: l, Label: langLabels[l], Current: l == current,
			Href: "/lang/" + l + "?next=" + url.QueryEscape(path)})
	}
	return out
}

// tr translates key into lang, formatting args into it; a key missing in lang falls back to
// English, and a key missing everywhere shows itself so that it is noticed.
func tr(lang, key string, args ...any) string {
	msg, ok := catalog[lang][key]
	if !ok {
		if msg, ok = catalog["en"][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// catalog holds every text of the pages, by language and key.
var catalog = map[string]map[string]string{
	"en": {
		"nav.language":    "Language",
		"nav.sections":    "Sections",
		"nav.sign_out":    "Sign out",
		"nav.properties":  "Properties",
		"tab.integration": "Integration",
		"tab.users":       "Users",
		"tab.mailings":    "Mailings",
		"tab.deliveries":  "Deliveries",

		"title.login":       "Sign in to the Contact Center",
		"title.link":        "Sign in with a link",
		"title.properties":  "Choose a property",
		"title.integration": "Contact Center",
		"title.users":       "Users and operators",
		"title.mailings":    "Guest mailings",
		"title.deliveries":  "Deliveries",
		"title.upcoming":    "Upcoming messages",
		"title.not_found":   "Not found",
		"title.forbidden":   "Not allowed",
		"title.error":       "Something went wrong",

		"common.save":         "Save",
		"common.cancel":       "Cancel",
		"common.all":          "All",
		"common.filter":       "Filter",
		"common.not_selected": "Not selected",

		"login.intro":     "Paste the admin token your Bellhop administrator gave you.",
		"login.token":     "Admin token",
		"login.submit":    "Sign in",
		"login.link_hint": "Got a sign-in link instead? Just open it: it signs you in once.",
		"login.bad_token": "This token is not valid. Check that you copied all of it.",
		"login.not_admin": "This is a %s token, for the PMS. The Contact Center page needs an admin token.",
		"login.expired":   "Your session has ended. Please sign in again.",
		"login.refused":   "The form was sent from another site or has expired. Please try again.",
		"link.intro":      "This link signs you in to the Contact Center once. Continue on this device?",
		"link.submit":     "Continue to the Contact Center",
		"link.use_token":  "Sign in with a token instead",
		"link.bad":        "This sign-in link is unknown, already used or expired. Ask for a new one.",

		"properties.intro":    "Your token reaches every property. Which one do you manage now?",
		"properties.none":     "There are no properties yet.",
		"message.home":        "Back to the start page",
		"message.not_found":   "There is no such page, or it belongs to another property.",
		"message.csrf":        "The form was refused: it was sent from another site, or the page is too old. Reload the page and try again.",
		"message.internal":    "Internal error; try again in a moment. If it persists, tell support the time it happened.",
		"message.unavailable": "The database is briefly out of reach; try again in a few seconds. Nothing was changed.",

		"status.unverified": "Not checked",
		"status.verified":   "Verified",
		"status.invalid":    "Key rejected",

		"integration.activated":             "Activated",
		"integration.organization":          "Organization",
		"integration.checked_at":            "Last checked",
		"integration.activated_at":          "Activated on",
		"integration.api_key":               "API key",
		"integration.key_placeholder":       "Paste the API key from your provider account",
		"integration.key_saved_placeholder": "Saved key %s",
		"integration.key_hint_saved":        "A key ending in %s is saved; it is never shown. Enter a new key only to replace it.",
		"integration.key_hint_short":        "A key is saved; it is never shown (too short to show its end). Enter a new key only to replace it.",
		"integration.key_hint_new":          "You find the key in your provider account's settings (API section).",
		"integration.advanced":              "Provider address",
		"integration.base_url":              "API address",
		"integration.base_url_hint":         "Change it only if your provider told you to. It is saved together with a key.",
		"integration.sender":                "Sender (type and name)",
		"integration.sender_after_check":    "The senders appear once the key is verified: click Check integration.",
		"integration.sender_missing":        "The chosen sender is no longer offered by the provider: choose another.",
		"integration.check":                 "Check integration",
		"integration.unsaved":               "Unsaved changes",
		"integration.active_switch":         "Integration active",
		"integration.activate":              "Activate",
		"integration.deactivate":            "Deactivate",
		"integration.needs":                 "To activate:",
		"integration.confirm_text":          "The form has unsaved changes. Save them and continue?",
		"integration.confirm_ok":            "Save and continue",
		"missing.verified_key":              "check the API key",
		"missing.sender":                    "choose a sender",

		"flash.key_saved":     "The key is saved (%s). Click Check integration to verify it.",
		"flash.saved":         "Saved.",
		"flash.nothing":       "Nothing to save: enter a key or choose a sender.",
		"flash.checked":       "%s accepted the key: organization “%s”, %d sender(s).",
		"flash.sender_saved":  "Sender saved: %s.",
		"flash.activated":     "The integration is active. Guest mailings can be switched on in the Mailings tab.",
		"flash.deactivated":   "The integration is switched off; nothing is sent through it.",
		"flash.mailing_saved": "The %s mailing is saved.",
		"flash.mailing_on":    "The %s mailing is on.",
		"flash.mailing_off":   "The %s mailing is off; its pending messages are cancelled.",
		"flash.retried":       "The message will be sent again shortly.",
		"flash.resumed":       "The sender is resumed.",
		"flash.pace_shared":   "The sender now shares its pace with group %s.",
		"flash.pace_own":      "The sender is now paced for this property alone.",
		"flash.linked":        "Saved",
		"flash.unlinked":      "Saved: no operator",

		"users.intro":            "Link every staff member to the provider operator they answer chats as. Several staff may share one operator.",
		"users.staff":            "Staff member",
		"users.email":            "Email",
		"users.operator":         "Operator",
		"users.operator_of":      "Operator of %s",
		"users.none":             "No active staff yet: the PMS adds them.",
		"users.unmapped":         "%d staff member(s) have no operator: they cannot open chats with guests until linked.",
		"users.no_operator":      "Cannot open chats until an operator is chosen.",
		"users.operator_missing": "Operator %s no longer exists at the provider: choose another.",
		"users.missing_short":    "no longer exists",

		"mailings.method_filter":                 "Sending method",
		"mailings.method":                        "Sending method",
		"mailings.none":                          "The mailings appear once the integration is activated for the first time.",
		"mailings.none_filtered":                 "No mailing is sent through this method.",
		"mailings.on":                            "On",
		"mailings.off":                           "Off",
		"mailings.switch":                        "Send this mailing",
		"mailings.turn_on":                       "Switch on",
		"mailings.turn_off":                      "Switch off",
		"mailings.templates":                     "Message text",
		"mailings.placeholders":                  "Placeholders (click to insert):",
		"mailings.preview":                       "Preview with a sample booking:",
		"mailings.schedule":                      "When it is sent",
		"kind.welcome":                           "Welcome",
		"kind.feedback":                          "Feedback",
		"kind.non_guaranteed":                    "Non-guaranteed booking",
		"kind.welcome.about":                     "Greets the guest before arrival.",
		"kind.feedback.about":                    "Asks how the stay was, after departure. Not sent for cancelled bookings.",
		"kind.non_guaranteed.about":              "Reminds the guest to guarantee a booking that has no payment or card.",
		"schedule.day_offset.welcome":            "Days from arrival (−1 = the day before)",
		"schedule.day_offset.feedback":           "Days from departure (1 = the day after)",
		"schedule.send_time":                     "At",
		"schedule.delay_minutes":                 "Minutes after the booking is seen non-guaranteed",
		"schedule.late_until_day.welcome":        "Still send until day (from arrival)",
		"schedule.late_until_day.feedback":       "Still send until day (from departure)",
		"schedule.late_until_day.non_guaranteed": "Still send until day (from arrival)",
		"schedule.quiet_start":                   "Quiet hours from",
		"schedule.quiet_end":                     "to",
		"schedule.hint":                          "Times are the hotel's local time (%s). Nothing is sent in the quiet hours; such messages wait until they end.",
		"lang.en":                                "English",
		"lang.ru":                                "Russian",
		"lang.de":                                "German",
		"lang.es":                                "Spanish",
		"lang.other":                             "Language “%s”",

		"ledger.title":                "Ledger",
		"ledger.status":               "Status",
		"ledger.kind":                 "Mailing",
		"ledger.planned":              "Planned",
		"ledger.booking":              "Booking",
		"ledger.phone":                "Phone",
		"ledger.reason":               "Reason",
		"ledger.attempts":             "Attempts",
		"ledger.retry":                "Retry",
		"ledger.none":                 "No messages match.",
		"delivery.scheduled":          "Scheduled",
		"delivery.sending":            "Sending",
		"delivery.sent":               "Sent",
		"delivery.delivered":          "Delivered",
		"delivery.read":               "Read",
		"delivery.failed":             "Failed",
		"delivery.skipped":            "Skipped",
		"delivery.cancelled":          "Cancelled",
		"webhook.title":               "Callbacks",
		"webhook.forwarding":          "Bellhop receives this account's callbacks and passes each one on, unchanged, to %s (the system that had them before).",
		"webhook.relay_failures":      "%d could not be passed on.",
		"webhook.replaced":            "Bellhop receives this account's callbacks in place of %s; switching the integration off gives them back.",
		"webhook.unreadable":          "Last callback Bellhop could not read",
		"webhook.question":            "If another system (often the PMS) already receives this account's callbacks — an account has room for one:",
		"webhook.ask":                 "Stop and tell me (nothing is changed)",
		"webhook.forward":             "Take its place and pass every callback on to it, so it keeps working",
		"webhook.replace":             "Take its place (it is put back when I switch the integration off)",
		"delivery.unconfirmed":        "Unconfirmed — send again?",
		"reason.too_late":             "the moment had passed",
		"reason.opted_out":            "the guest is on the stop list",
		"reason.unconfirmed":          "the provider could not tell whether it had the message; send again only if the guest did not get it",
		"reason.booking_cancelled":    "the booking was cancelled",
		"reason.mailing_disabled":     "the mailing is switched off",
		"reason.integration_inactive": "the integration is not active",
		"reason.duplicate_phone":      "another booking of the same stay and phone gets it",
		"reason.became_guaranteed":    "the booking is guaranteed now",
		"reason.invalid_phone":        "the guest's phone cannot receive messages",
		"reason.no_template":          "the mailing has no text",

		"pacer.title":             "Sender %s",
		"pacer.next_free":         "Next free slot",
		"pacer.now":               "now: the next message goes at once",
		"pacer.waiting":           "Messages waiting",
		"pacer.interval":          "Least time between messages",
		"pacer.sent_today":        "Sent today",
		"pacer.last_send":         "Last send",
		"pacer.paused":            "Paused:",
		"pacer.resume":            "Resume sending",
		"pacer.no_sender":         "No sender is chosen yet, so nothing is paced.",
		"pacer.group":             "Shares its pace with",
		"pacer.group_none":        "no one: paced for this property alone",
		"pacer.group_label":       "Pacer group",
		"pacer.group_placeholder": "e.g. chain-moscow",
		"pacer.group_hint":        "Properties that send from the same number set the same group name, so the number's pace holds for all of them together. Leave empty to pace it for this property alone.",

		"upcoming.title":        "Upcoming (7 days)",
		"upcoming.intro":        "What the enabled mailings will send in the next %d days, from the bookings Bellhop holds. Times are the hotel's (%s).",
		"upcoming.when":         "When",
		"upcoming.guest":        "Guest",
		"upcoming.sender":       "Sender",
		"upcoming.text":         "Text",
		"upcoming.none":         "Nothing to send in the next days.",
		"upcoming.none_enabled": "No mailing is switched on: switch them on in the Mailings tab.",

		"code.invalid_api_key":       "The provider rejected the API key.",
		"code.provider_unavailable":  "The provider did not answer.",
		"code.not_ready":             "Not ready yet.",
		"code.subscription_required": "Contact Center is not in the subscription.",
		"code.invalid_input":         "Please correct the form.",
		"code.conflict":              "Not possible right now.",
		"code.not_found":             "Not found.",
		"code.sender_missing":        "The sender is gone.",
		"code.operator_missing":      "The operator is gone.",
	},
	"ru": {
		"nav.language":    "Язык",
		"nav.sections":    "Разделы",
		"nav.sign_out":    "Выйти",
		"nav.properties":  "Объекты",
		"tab.integration": "Интеграция",
		"tab.users":       "Пользователи",
		"tab.mailings":    "Рассылки",
		"tab.deliveries":  "Отправки",

		"title.login":       "Вход в Контакт-центр",
		"title.link":        "Вход по ссылке",
		"title.properties":  "Выберите объект",
		"title.integration": "Контакт-центр",
		"title.users":       "Пользователи и операторы",
		"title.mailings":    "Рассылки гостям",
		"title.deliveries":  "Отправки",
		"title.upcoming":    "Предстоящие сообщения",
		"title.not_found":   "Не найдено",
		"title.forbidden":   "Запрещено",
		"title.error":       "Что-то пошло не так",

		"common.save":         "Сохранить",
		"common.cancel":       "Отмена",
		"common.all":          "Все",
		"common.filter":       "Показать",
		"common.not_selected": "Не выбран",

		"login.intro":     "Вставьте токен администратора, который вам выдал администратор Bellhop.",
		"login.token":     "Токен администратора",
		"login.submit":    "Войти",
		"login.link_hint": "У вас ссылка для входа? Просто откройте её: она действует один раз.",
		"login.bad_token": "Этот токен недействителен. Проверьте, что скопировали его целиком.",
		"login.not_admin": "Это токен роли %s, для PMS. Для страницы Контакт-центра нужен токен администратора.",
		"login.expired":   "Сеанс завершён. Войдите снова.",
		"login.refused":   "Форма отправлена с другого сайта или устарела. Попробуйте ещё раз.",
		"link.intro":      "Эта ссылка один раз открывает вход в Контакт-центр. Продолжить на этом устройстве?",
		"link.submit":     "Перейти в Контакт-центр",
		"link.use_token":  "Войти по токену",
		"link.bad":        "Ссылка для входа неизвестна, уже использована или истекла. Попросите новую.",

		"properties.intro":    "Ваш токен открывает все объекты. Каким вы управляете сейчас?",
		"properties.none":     "Объектов пока нет.",
		"message.home":        "На стартовую страницу",
		"message.not_found":   "Такой страницы нет, или она относится к другому объекту.",
		"message.csrf":        "Форма отклонена: она отправлена с другого сайта или страница устарела. Обновите страницу и попробуйте снова.",
		"message.internal":    "Внутренняя ошибка; попробуйте чуть позже. Если повторится, сообщите в поддержку время ошибки.",
		"message.unavailable": "База данных ненадолго недоступна; попробуйте через несколько секунд. Ничего не изменено.",

		"status.unverified": "Не проверен",
		"status.verified":   "Проверен",
		"status.invalid":    "Ключ отклонён",

		"integration.activated":             "Активирована",
		"integration.organization":          "Организация",
		"integration.checked_at":            "Последняя проверка",
		"integration.activated_at":          "Активирована",
		"integration.api_key":               "API-ключ",
		"integration.key_placeholder":       "Вставьте API-ключ из кабинета провайдера",
		"integration.key_saved_placeholder": "Сохранён ключ %s",
		"integration.key_hint_saved":        "Сохранён ключ, оканчивающийся на %s; он никогда не показывается. Вводите новый ключ, только чтобы заменить его.",
		"integration.key_hint_short":        "Ключ сохранён; он никогда не показывается (слишком короткий, чтобы показать его конец). Вводите новый ключ, только чтобы заменить его.",
		"integration.key_hint_new":          "Ключ находится в настройках кабинета провайдера (раздел API).",
		"integration.advanced":              "Адрес провайдера",
		"integration.base_url":              "Адрес API",
		"integration.base_url_hint":         "Меняйте, только если так сказал провайдер. Сохраняется вместе с ключом.",
		"integration.sender":                "Отправитель (тип и название)",
		"integration.sender_after_check":    "Отправители появятся после проверки ключа: нажмите «Проверить интеграцию».",
		"integration.sender_missing":        "Выбранного отправителя у провайдера больше нет: выберите другого.",
		"integration.check":                 "Проверить интеграцию",
		"integration.unsaved":               "Есть несохранённые изменения",
		"integration.active_switch":         "Интеграция включена",
		"integration.activate":              "Включить",
		"integration.deactivate":            "Выключить",
		"integration.needs":                 "Чтобы включить:",
		"integration.confirm_text":          "В форме есть несохранённые изменения. Сохранить их и продолжить?",
		"integration.confirm_ok":            "Сохранить и продолжить",
		"missing.verified_key":              "проверьте API-ключ",
		"missing.sender":                    "выберите отправителя",

		"flash.key_saved":     "Ключ сохранён (%s). Нажмите «Проверить интеграцию».",
		"flash.saved":         "Сохранено.",
		"flash.nothing":       "Нечего сохранять: введите ключ или выберите отправителя.",
		"flash.checked":       "%s принял ключ: организация «%s», отправителей: %d.",
		"flash.sender_saved":  "Отправитель сохранён: %s.",
		"flash.activated":     "Интеграция включена. Рассылки можно включить на вкладке «Рассылки».",
		"flash.deactivated":   "Интеграция выключена; через неё ничего не отправляется.",
		"flash.mailing_saved": "Рассылка «%s» сохранена.",
		"flash.mailing_on":    "Рассылка «%s» включена.",
		"flash.mailing_off":   "Рассылка «%s» выключена; её ожидающие сообщения отменены.",
		"flash.retried":       "Сообщение скоро будет отправлено снова.",
		"flash.resumed":       "Отправка возобновлена.",
		"flash.pace_shared":   "Отправитель теперь соблюдает общий темп группы %s.",
		"flash.pace_own":      "Темп отправителя теперь только для этого объекта.",
		"flash.linked":        "Сохранено",
		"flash.unlinked":      "Сохранено: без оператора",

		"users.intro":            "Свяжите каждого сотрудника с оператором провайдера, от имени которого он отвечает в чатах. Несколько сотрудников могут делить одного оператора.",
		"users.staff":            "Сотрудник",
		"users.email":            "Эл. почта",
		"users.operator":         "Оператор",
		"users.operator_of":      "Оператор сотрудника %s",
		"users.none":             "Активных сотрудников пока нет: их добавляет PMS.",
		"users.unmapped":         "Сотрудников без оператора: %d. Они не смогут открыть чаты с гостями, пока их не свяжут.",
		"users.no_operator":      "Не сможет открыть чаты, пока не выбран оператор.",
		"users.operator_missing": "Оператора %s у провайдера больше нет: выберите другого.",
		"users.missing_short":    "больше нет",

		"mailings.method_filter":                 "Способ отправки",
		"mailings.method":                        "Способ отправки",
		"mailings.none":                          "Рассылки появятся после первого включения интеграции.",
		"mailings.none_filtered":                 "Через этот способ не отправляется ни одна рассылка.",
		"mailings.on":                            "Включена",
		"mailings.off":                           "Выключена",
		"mailings.switch":                        "Отправлять эту рассылку",
		"mailings.turn_on":                       "Включить",
		"mailings.turn_off":                      "Выключить",
		"mailings.templates":                     "Текст сообщения",
		"mailings.placeholders":                  "Подстановки (нажмите, чтобы вставить):",
		"mailings.preview":                       "Предпросмотр на примере брони:",
		"mailings.schedule":                      "Когда отправлять",
		"kind.welcome":                           "Приветствие",
		"kind.feedback":                          "Отзыв",
		"kind.non_guaranteed":                    "Негарантированная бронь",
		"kind.welcome.about":                     "Приветствует гостя перед заездом.",
		"kind.feedback.about":                    "Спрашивает о проживании после выезда. Не отправляется по отменённым броням.",
		"kind.non_guaranteed.about":              "Напоминает гарантировать бронь без оплаты или карты.",
		"schedule.day_offset.welcome":            "Дней от заезда (−1 = накануне)",
		"schedule.day_offset.feedback":           "Дней от выезда (1 = на следующий день)",
		"schedule.send_time":                     "В",
		"schedule.delay_minutes":                 "Минут после того, как бронь замечена негарантированной",
		"schedule.late_until_day.welcome":        "Ещё отправлять до дня (от заезда)",
		"schedule.late_until_day.feedback":       "Ещё отправлять до дня (от выезда)",
		"schedule.late_until_day.non_guaranteed": "Ещё отправлять до дня (от заезда)",
		"schedule.quiet_start":                   "Тихие часы с",
		"schedule.quiet_end":                     "до",
		"schedule.hint":                          "Время — местное время отеля (%s). В тихие часы ничего не отправляется; такие сообщения ждут их окончания.",
		"lang.en":                                "Английский",
		"lang.ru":                                "Русский",
		"lang.de":                                "Немецкий",
		"lang.es":                                "Испанский",
		"lang.other":                             "Язык «%s»",

		"ledger.title":                "Журнал",
		"ledger.status":               "Статус",
		"ledger.kind":                 "Рассылка",
		"ledger.planned":              "Запланировано",
		"ledger.booking":              "Бронь",
		"ledger.phone":                "Телефон",
		"ledger.reason":               "Причина",
		"ledger.attempts":             "Попытки",
		"ledger.retry":                "Повторить",
		"ledger.none":                 "Нет подходящих сообщений.",
		"delivery.scheduled":          "Запланировано",
		"delivery.sending":            "Отправляется",
		"delivery.sent":               "Отправлено",
		"delivery.delivered":          "Доставлено",
		"delivery.read":               "Прочитано",
		"delivery.failed":             "Ошибка",
		"delivery.skipped":            "Пропущено",
		"delivery.cancelled":          "Отменено",
		"webhook.title":               "Уведомления",
		"webhook.forwarding":          "Bellhop получает уведомления этого аккаунта и передаёт каждое без изменений на %s (системе, которая получала их раньше).",
		"webhook.relay_failures":      "Не удалось передать: %d.",
		"webhook.replaced":            "Bellhop получает уведомления этого аккаунта вместо %s; при отключении интеграции они вернутся туда.",
		"webhook.unreadable":          "Последнее уведомление, которое Bellhop не смог прочитать",
		"webhook.question":            "Если уведомления этого аккаунта уже получает другая система (часто PMS) — у аккаунта есть место только для одной:",
		"webhook.ask":                 "Остановиться и сообщить мне (ничего не меняется)",
		"webhook.forward":             "Занять её место и передавать ей каждое уведомление, чтобы она продолжала работать",
		"webhook.replace":             "Занять её место (она вернётся, когда я отключу интеграцию)",
		"delivery.unconfirmed":        "Не подтверждено — отправить ещё раз?",
		"reason.opted_out":            "гость в стоп-листе",
		"reason.unconfirmed":          "провайдер не смог подтвердить, получил ли он сообщение; отправьте ещё раз, только если гость его не получил",
		"reason.too_late":             "момент прошёл",
		"reason.booking_cancelled":    "бронь отменена",
		"reason.mailing_disabled":     "рассылка выключена",
		"reason.integration_inactive": "интеграция выключена",
		"reason.duplicate_phone":      "его получает другая бронь того же проживания и телефона",
		"reason.became_guaranteed":    "бронь теперь гарантирована",
		"reason.invalid_phone":        "на телефон гостя нельзя отправить сообщение",
		"reason.no_template":          "у рассылки нет текста",

		"pacer.title":             "Отправитель %s",
		"pacer.next_free":         "Ближайшее свободное окно",
		"pacer.now":               "сейчас: следующее сообщение уйдёт сразу",
		"pacer.waiting":           "Сообщений в очереди",
		"pacer.interval":          "Минимальный интервал между сообщениями",
		"pacer.sent_today":        "Отправлено сегодня",
		"pacer.last_send":         "Последняя отправка",
		"pacer.paused":            "Приостановлен:",
		"pacer.resume":            "Возобновить отправку",
		"pacer.no_sender":         "Отправитель ещё не выбран, поэтому темп не задан.",
		"pacer.group":             "Общий темп с",
		"pacer.group_none":        "ни с кем: темп только для этого объекта",
		"pacer.group_label":       "Группа темпа",
		"pacer.group_placeholder": "например, chain-moscow",
		"pacer.group_hint":        "Объекты, отправляющие с одного номера, указывают одно и то же имя группы, и темп номера соблюдается для всех вместе. Оставьте пустым, чтобы темп был только для этого объекта.",

		"upcoming.title":        "Предстоящие (7 дней)",
		"upcoming.intro":        "Что включённые рассылки отправят в ближайшие %d дн. по броням, которые есть в Bellhop. Время — местное время отеля (%s).",
		"upcoming.when":         "Когда",
		"upcoming.guest":        "Гость",
		"upcoming.sender":       "Отправитель",
		"upcoming.text":         "Текст",
		"upcoming.none":         "В ближайшие дни отправлять нечего.",
		"upcoming.none_enabled": "Ни одна рассылка не включена: включите их на вкладке «Рассылки».",

		"code.invalid_api_key":       "Провайдер отклонил API-ключ.",
		"code.provider_unavailable":  "Провайдер не ответил.",
		"code.not_ready":             "Пока не готово.",
		"code.subscription_required": "Контакт-центр не входит в подписку.",
		"code.invalid_input":         "Исправьте форму.",
		"code.conflict":              "Сейчас это невозможно.",
		"code.not_found":             "Не найдено.",
		"code.sender_missing":        "Отправителя больше нет.",
		"code.operator_missing":      "Оператора больше нет.",
	},
}
