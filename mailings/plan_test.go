package mailings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

func property(zone string) bellhop.Property {
	return bellhop.Property{ID: "1042", Name: "Hotel Neva", TimeZone: zone, Country: "RU", Language: "ru"}
}

func mailing(kind bellhop.MailingKind) bellhop.Mailing {
	for _, m := range mailings.Defaults("1042", "intellectdialog") {
		if m.Kind == kind {
			m.Enabled = true
			return m
		}
	}
	panic("no default mailing " + kind)
}

func date(s string) bellhop.Date {
	d, err := bellhop.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// local is a wall time in zone, e.g. local("Europe/Moscow", "2026-12-02 15:00").
func local(zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func booking(arrival, departure string) bellhop.Booking {
	return bellhop.Booking{
		ID: "B-1", PropertyID: "1042", Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
		Arrival: date(arrival), Departure: date(departure),
		CreatedAt: utc("2026-11-01T10:00:00Z"), UpdatedAt: utc("2026-11-01T10:00:00Z"),
		Guest: bellhop.Guest{Name: "Анна Петрова", Phone: "+79123456789", Language: "ru"},
	}
}

func TestPlanScheduleVectors(t *testing.T) {
	for _, row := range readTSV(t, "testdata/schedule.tsv") {
		t.Run(row["kind"]+"/"+row["time_zone"]+"/"+row["arrival"], func(t *testing.T) {
			kind := bellhop.MailingKind(row["kind"])
			p := property(row["time_zone"])
			b := booking(row["arrival"], row["departure"])
			// Booked well ahead, so no catch-up is involved.
			now := b.Arrival.In(p.Location()).AddDate(0, 0, -60)
			if kind == bellhop.NonGuaranteedReminder {
				seen := utc(row["seen_non_guaranteed_at"])
				b.Guarantee, b.SeenNonGuaranteedAt = bellhop.NonGuaranteed, &seen
				now = seen
			}
			d := mailings.Plan(new(mailing(kind)), &p, &b, now)
			want := utc(row["planned_utc"])
			if d.Skip != "" || !d.At.Equal(want) {
				t.Errorf("%s: Plan = %v (skip %q), want %s (%s local)", row["line"], d.At.UTC(), d.Skip, want, want.In(p.Location()))
			}
		})
	}
}

func TestPlanCatchesUpLateBookings(t *testing.T) {
	const msk = "Europe/Moscow"
	tests := []struct {
		name, kind, now string
		want, skip      string
	}{
		{"booked a week ahead", "welcome", "2026-11-26 10:00", "2026-12-02 12:00", ""},
		{"booked the afternoon before: now", "welcome", "2026-12-02 15:20", "2026-12-02 15:20", ""},
		{"booked the night before: after the quiet hours", "welcome", "2026-12-02 22:30", "2026-12-03 09:00", ""},
		{"booked after midnight: after the quiet hours", "welcome", "2026-12-03 01:10", "2026-12-03 09:00", ""},
		{"booked on arrival day: now", "welcome", "2026-12-03 14:00", "2026-12-03 14:00", ""},
		{"booked late on arrival day: too late", "welcome", "2026-12-03 22:00", "", bellhop.ReasonTooLate},
		{"arrival day has passed", "welcome", "2026-12-04 10:00", "", bellhop.ReasonTooLate},
		{"feedback planned ahead", "feedback", "2026-12-03 10:00", "2026-12-06 12:00", ""},
		{"feedback missed by a day: now", "feedback", "2026-12-07 10:00", "2026-12-07 10:00", ""},
		{"feedback on the last late day, at night", "feedback", "2026-12-08 23:30", "", bellhop.ReasonTooLate},
		{"feedback a week late", "feedback", "2026-12-12 12:00", "", bellhop.ReasonTooLate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := booking("2026-12-03", "2026-12-05")
			d := mailings.Plan(new(mailing(bellhop.MailingKind(tt.kind))), new(property(msk)), &b, local(msk, tt.now))
			if d.Skip != tt.skip {
				t.Fatalf("Plan skip = %q, want %q (at %v)", d.Skip, tt.skip, d.At)
			}
			if tt.skip == "" && !d.At.Equal(local(msk, tt.want)) {
				t.Errorf("Plan at %v, want %s local", d.At, tt.want)
			}
		})
	}
}

func TestPlanSkips(t *testing.T) {
	const msk = "Europe/Moscow"
	now := local(msk, "2026-11-21 10:00")
	seen := now
	deadline := local(msk, "2026-11-21 10:30")
	tests := []struct {
		name string
		kind bellhop.MailingKind
		edit func(m *bellhop.Mailing, b *bellhop.Booking)
		skip string
	}{
		{"cancelled: welcome", bellhop.Welcome, func(_ *bellhop.Mailing, b *bellhop.Booking) { b.Status = bellhop.BookingCancelled }, bellhop.ReasonBookingCancelled},
		{"cancelled: feedback", bellhop.Feedback, func(_ *bellhop.Mailing, b *bellhop.Booking) { b.Status = bellhop.BookingCancelled }, bellhop.ReasonBookingCancelled},
		{"cancelled: non_guaranteed", bellhop.NonGuaranteedReminder, func(_ *bellhop.Mailing, b *bellhop.Booking) { b.Status = bellhop.BookingCancelled }, bellhop.ReasonBookingCancelled},
		{"mailing switched off", bellhop.Welcome, func(m *bellhop.Mailing, _ *bellhop.Booking) { m.Enabled = false }, bellhop.ReasonMailingDisabled},
		{"became guaranteed", bellhop.NonGuaranteedReminder, func(_ *bellhop.Mailing, b *bellhop.Booking) { b.Guarantee = bellhop.Guaranteed }, bellhop.ReasonBecameGuaranteed},
		{"guarantee deadline passes before the reminder", bellhop.NonGuaranteedReminder, func(_ *bellhop.Mailing, b *bellhop.Booking) { b.GuaranteeDeadline = &deadline }, bellhop.ReasonTooLate},
		{"broken schedule", bellhop.Welcome, func(m *bellhop.Mailing, _ *bellhop.Booking) { m.Schedule.SendTime = "noon" }, bellhop.ReasonInvalidSchedule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mailing(tt.kind)
			b := booking("2026-12-03", "2026-12-05")
			b.Guarantee, b.SeenNonGuaranteedAt = bellhop.NonGuaranteed, &seen
			tt.edit(&m, &b)
			if d := mailings.Plan(&m, new(property(msk)), &b, now); d.Skip != tt.skip || !d.At.IsZero() {
				t.Errorf("Plan = %+v, want skip %q", d, tt.skip)
			}
		})
	}
}

func TestPlanNonGuaranteed(t *testing.T) {
	const msk = "Europe/Moscow"
	m := mailing(bellhop.NonGuaranteedReminder)
	b := booking("2026-12-03", "2026-12-05")
	b.Guarantee = bellhop.NonGuaranteed
	seen := local(msk, "2026-11-21 13:00")
	b.SeenNonGuaranteedAt = &seen
	deadline := local(msk, "2026-12-01 18:00")
	b.GuaranteeDeadline = &deadline

	// Re-planned at any later moment, the reminder keeps its hour after first sight.
	for _, now := range []string{"2026-11-21 13:00", "2026-11-21 13:59"} {
		if d := mailings.Plan(&m, new(property(msk)), &b, local(msk, now)); !d.At.Equal(local(msk, "2026-11-21 14:00")) {
			t.Errorf("now %s: Plan = %+v, want 14:00", now, d)
		}
	}
	// Due but not yet sent (a worker was down): send now.
	if d := mailings.Plan(&m, new(property(msk)), &b, local(msk, "2026-11-22 10:00")); !d.At.Equal(local(msk, "2026-11-22 10:00")) {
		t.Errorf("overdue: Plan = %+v, want now", d)
	}
	// After the guest has arrived the reminder is pointless.
	b.GuaranteeDeadline = nil
	if d := mailings.Plan(&m, new(property(msk)), &b, local(msk, "2026-12-04 10:00")); d.Skip != bellhop.ReasonTooLate {
		t.Errorf("after arrival: Plan = %+v, want too_late", d)
	}
}

func TestQuietHours(t *testing.T) {
	tests := []struct {
		name, zone, at, start, end, want string
	}{
		{"evening moves to next morning", "Europe/Moscow", "2026-12-01 21:30", "21:00", "09:00", "2026-12-02 09:00"},
		{"start of the window is quiet", "Europe/Moscow", "2026-12-01 21:00", "21:00", "09:00", "2026-12-02 09:00"},
		{"early morning moves to the same morning", "Europe/Moscow", "2026-12-01 06:00", "21:00", "09:00", "2026-12-01 09:00"},
		{"end of the window is not quiet", "Europe/Moscow", "2026-12-01 09:00", "21:00", "09:00", "2026-12-01 09:00"},
		{"daytime stays", "Europe/Moscow", "2026-12-01 20:59", "21:00", "09:00", "2026-12-01 20:59"},
		{"same-day window", "Europe/Moscow", "2026-12-01 13:30", "13:00", "15:00", "2026-12-01 15:00"},
		{"outside a same-day window", "Europe/Moscow", "2026-12-01 22:00", "13:00", "15:00", "2026-12-01 22:00"},
		{"no quiet hours", "Europe/Moscow", "2026-12-01 03:00", "00:00", "00:00", "2026-12-01 03:00"},
		// Clocks go back at 03:00 in Berlin that night: the night is 13 hours long, and the
		// guest still hears nothing before 09:00 on their clock.
		{"autumn DST night", "Europe/Berlin", "2026-10-24 22:30", "21:00", "09:00", "2026-10-25 09:00"},
		// Clocks go forward at 02:00: the night is 11 hours long.
		{"spring DST night", "Europe/Berlin", "2027-03-27 23:00", "21:00", "09:00", "2027-03-28 09:00"},
		{"inside the skipped hour", "America/New_York", "2027-03-14 01:59", "21:00", "09:00", "2027-03-14 09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, _ := time.LoadLocation(tt.zone)
			got := mailings.AfterQuietHours(local(tt.zone, tt.at), bellhop.TimeOfDay(tt.start), bellhop.TimeOfDay(tt.end), loc)
			if want := local(tt.zone, tt.want); !got.Equal(want) {
				t.Errorf("AfterQuietHours(%s) = %s, want %s", tt.at, got.In(loc), want)
			}
		})
	}
}

func TestPlanQuietHoursAcrossDST(t *testing.T) {
	// A welcome set for 23:00 the day before a Berlin arrival on 25 October 2026, the night
	// the clocks go back: it waits for 09:00 on the arrival day, which is 08:00 UTC, not 07:00.
	m := mailing(bellhop.Welcome)
	m.Schedule.SendTime = "23:00"
	b := booking("2026-10-25", "2026-10-27")
	d := mailings.Plan(&m, new(property("Europe/Berlin")), &b, utc("2026-10-01T00:00:00Z"))
	if want := utc("2026-10-25T08:00:00Z"); d.Skip != "" || !d.At.Equal(want) {
		t.Errorf("Plan = %+v, want %s", d, want)
	}
}

func TestStayKey(t *testing.T) {
	a := booking("2026-12-03", "2026-12-05")
	b := a
	b.ID = "B-2" // a second room, same guest phone
	if mailings.StayKey(bellhop.Welcome, a) != mailings.StayKey(bellhop.Welcome, b) {
		t.Error("two rooms of one stay and phone must share a key")
	}
	other := []func(b *bellhop.Booking){
		func(b *bellhop.Booking) { b.Guest.Phone = "+79123456780" },
		func(b *bellhop.Booking) { b.Arrival = date("2026-12-02") },
		func(b *bellhop.Booking) { b.Departure = date("2026-12-06") },
		func(b *bellhop.Booking) { b.PropertyID = "2077" },
	}
	for i, edit := range other {
		c := a
		edit(&c)
		if mailings.StayKey(bellhop.Welcome, a) == mailings.StayKey(bellhop.Welcome, c) {
			t.Errorf("case %d: a different stay got the same key", i)
		}
	}
	if mailings.StayKey(bellhop.Welcome, a) == mailings.StayKey(bellhop.Feedback, a) {
		t.Error("each kind has its own key")
	}
}

func TestPreview(t *testing.T) {
	const msk = "Europe/Moscow"
	p := property(msk)
	room1 := booking("2026-12-03", "2026-12-05")
	room2 := room1
	room2.ID = "B-2"
	later := booking("2026-12-20", "2026-12-22")
	later.ID, later.Guest.Phone = "B-3", "+4915123456789"
	gone := booking("2026-12-04", "2026-12-06")
	gone.ID, gone.Status = "B-4", bellhop.BookingCancelled
	fb := mailing(bellhop.Feedback)
	fb.Enabled = false

	sends := mailings.Preview([]bellhop.Mailing{mailing(bellhop.Welcome), fb}, p,
		[]bellhop.Booking{room2, later, gone, room1}, local(msk, "2026-11-30 10:00"), 7)
	if len(sends) != 1 {
		t.Fatalf("Preview = %+v, want one welcome for the two-room stay", sends)
	}
	s := sends[0]
	if s.BookingID != "B-1" || s.Kind != bellhop.Welcome || !s.At.Equal(local(msk, "2026-12-02 12:00")) || s.Language != "ru" {
		t.Errorf("send = %+v", s)
	}
	if want := "Команда Hotel Neva с радостью ждёт вас 3 декабря 2026."; !strings.Contains(s.Text, want) {
		t.Errorf("text = %q, want it to say %q", s.Text, want)
	}
}
