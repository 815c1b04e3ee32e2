package mailings

import (
	"maps"

	"github.com/bellhop/bellhop"
)

// Defaults returns a property's three mailings as they start when an integration is first
// activated: disabled, sent through sendingMethod, with the default schedule and texts in
// English, Russian, German and Spanish, ready to switch on or edit.
func Defaults(propertyID, sendingMethod string) []bellhop.Mailing {
	out := make([]bellhop.Mailing, 0, len(bellhop.Kinds()))
	for _, k := range bellhop.Kinds() {
		out = append(out, bellhop.Mailing{
			PropertyID:     propertyID,
			Kind:           k,
			SendingMethod:  sendingMethod,
			SendingMethods: []string{sendingMethod},
			Templates:      DefaultTemplates(k),
			Schedule:       DefaultSchedule(k),
		})
	}
	return out
}

// DefaultSchedule is DESIGN.md's rule for kind: welcome at 12:00 the day before arrival
// (late bookings until the end of the arrival day); feedback at 12:00 the day after departure
// (until three days later); non_guaranteed an hour after the booking is seen (until the end
// of the arrival day); nothing between 21:00 and 09:00.
func DefaultSchedule(kind bellhop.MailingKind) bellhop.Schedule {
	s := bellhop.Schedule{SendTime: "12:00", QuietStart: "21:00", QuietEnd: "09:00"}
	switch kind {
	case bellhop.Welcome:
		s.DayOffset, s.LateUntilDay = -1, 0
	case bellhop.Feedback:
		s.DayOffset, s.LateUntilDay = 1, 3
	case bellhop.NonGuaranteedReminder:
		s.DelayMinutes = 60
	}
	return s
}

// DefaultTemplates returns a copy of the default texts of kind, by language.
func DefaultTemplates(kind bellhop.MailingKind) map[string]string {
	return maps.Clone(defaultTemplates[kind])
}

var defaultTemplates = map[bellhop.MailingKind]map[string]string{
	bellhop.Welcome: {
		"en": "Dear {guest_name},\n\n" +
			"we are looking forward to welcoming you to {hotel_name} on {arrival_date}!\n\n" +
			"If there is anything we can arrange before you arrive (an early check-in, a transfer " +
			"from the airport or station, a surprise for a special occasion), simply reply to this " +
			"message and we will take care of it.\n\n" +
			"Have a pleasant journey!\nBooking no. {booking_id}",
		"ru": "Здравствуйте, {guest_name}!\n\n" +
			"Команда {hotel_name} с радостью ждёт вас {arrival_date}.\n\n" +
			"Если к вашему приезду что-то нужно подготовить — ранний заезд, трансфер из аэропорта " +
			"или с вокзала, сюрприз к особому случаю, — просто ответьте на это сообщение, и мы обо " +
			"всём позаботимся.\n\n" +
			"Приятной дороги!\nБронирование № {booking_id}",
		"de": "Guten Tag {guest_name},\n\n" +
			"das Team von {hotel_name} freut sich, Sie am {arrival_date} bei uns begrüßen zu dürfen!\n\n" +
			"Wenn wir vor Ihrer Ankunft etwas für Sie vorbereiten dürfen – einen früheren Check-in, " +
			"einen Transfer vom Flughafen oder Bahnhof, eine Überraschung zu einem besonderen Anlass –, " +
			"antworten Sie einfach auf diese Nachricht. Wir kümmern uns gern darum.\n\n" +
			"Gute Reise!\nBuchungsnummer {booking_id}",
		"es": "Hola, {guest_name}:\n\n" +
			"todo el equipo de {hotel_name} le espera con ilusión el {arrival_date}.\n\n" +
			"Si podemos preparar algo antes de su llegada (un check-in anticipado, un traslado desde " +
			"el aeropuerto o la estación, una sorpresa para una ocasión especial), responda a este " +
			"mensaje y nos encargaremos de todo.\n\n" +
			"¡Buen viaje!\nReserva n.º {booking_id}",
	},
	bellhop.Feedback: {
		"en": "Dear {guest_name},\n\n" +
			"thank you for staying at {hotel_name}. We hope you enjoyed your time with us and had " +
			"a good journey home.\n\n" +
			"How was your stay? Simply reply to this message: our team reads every answer, and your " +
			"words help us make the next visit even better.\n\n" +
			"We would be delighted to welcome you again!",
		"ru": "Здравствуйте, {guest_name}!\n\n" +
			"Спасибо, что остановились в {hotel_name}. Надеемся, вам у нас понравилось, а дорога " +
			"домой была лёгкой.\n\n" +
			"Расскажите, как прошло ваше пребывание? Просто ответьте на это сообщение: мы читаем " +
			"каждый отзыв, и ваши слова помогают нам становиться лучше.\n\n" +
			"Будем рады видеть вас снова!",
		"de": "Guten Tag {guest_name},\n\n" +
			"vielen Dank für Ihren Aufenthalt im {hotel_name}. Wir hoffen, Sie hatten eine schöne " +
			"Zeit bei uns und sind gut nach Hause gekommen.\n\n" +
			"Wie hat es Ihnen gefallen? Antworten Sie einfach auf diese Nachricht – wir lesen jede " +
			"Rückmeldung, und Ihre Worte helfen uns, Ihren nächsten Besuch noch schöner zu machen.\n\n" +
			"Wir freuen uns darauf, Sie wieder bei uns begrüßen zu dürfen!",
		"es": "Hola, {guest_name}:\n\n" +
			"gracias por alojarse en {hotel_name}. Esperamos que haya disfrutado de su estancia y " +
			"que el viaje de vuelta haya ido bien.\n\n" +
			"¿Qué tal su experiencia? Responda a este mensaje: leemos todas las respuestas y sus " +
			"comentarios nos ayudan a mejorar cada día.\n\n" +
			"¡Será un placer recibirle de nuevo!",
	},
	bellhop.NonGuaranteedReminder: {
		"en": "Dear {guest_name},\n\n" +
			"thank you for booking {hotel_name} from {arrival_date} to {departure_date} " +
			"(booking no. {booking_id}).\n\n" +
			"Your booking is not guaranteed yet. To make sure we keep your room for you, please " +
			"secure it with a card or a prepayment (deadline: {guarantee_deadline}).\n\n" +
			"If you have any questions or need help, reply to this message and we will be glad to assist.",
		"ru": "Здравствуйте, {guest_name}!\n\n" +
			"Благодарим за бронирование № {booking_id} в {hotel_name} с {arrival_date} по {departure_date}.\n\n" +
			"Бронирование пока не гарантировано. Чтобы номер был закреплён за вами, пожалуйста, " +
			"гарантируйте его банковской картой или предоплатой (срок: {guarantee_deadline}).\n\n" +
			"Если возникнут вопросы или понадобится помощь, ответьте на это сообщение — мы с радостью поможем.",
		"de": "Guten Tag {guest_name},\n\n" +
			"vielen Dank für Ihre Buchung im {hotel_name} vom {arrival_date} bis {departure_date} " +
			"(Buchungsnummer {booking_id}).\n\n" +
			"Ihre Buchung ist noch nicht garantiert. Damit wir Ihr Zimmer sicher für Sie freihalten, " +
			"garantieren Sie sie bitte mit einer Kreditkarte oder einer Anzahlung (Frist: {guarantee_deadline}).\n\n" +
			"Bei Fragen antworten Sie einfach auf diese Nachricht – wir helfen Ihnen gern.",
		"es": "Hola, {guest_name}:\n\n" +
			"gracias por reservar en {hotel_name} del {arrival_date} al {departure_date} " +
			"(reserva n.º {booking_id}).\n\n" +
			"Su reserva todavía no está garantizada. Para asegurarnos de guardarle la habitación, le " +
			"rogamos que la garantice con una tarjeta o un pago anticipado (plazo: {guarantee_deadline}).\n\n" +
			"Si tiene alguna pregunta o necesita ayuda, responda a este mensaje y le atenderemos con mucho gusto.",
	},
}
