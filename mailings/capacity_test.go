package mailings

import (
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestCapacityRules(t *testing.T) {
	loc := time.FixedZone("MSK", 3*3600)
	day := bellhop.Date{Year: 2030, Month: 3, Day: 7}
	now := day.AddDays(-1).At(10, 0, loc)
	quiet := func(from, to bellhop.TimeOfDay) bellhop.Mailing {
		return bellhop.Mailing{Schedule: bellhop.Schedule{QuietStart: from, QuietEnd: to}}
	}

	// Two mailings' sending hours make one window: 09:00–21:00 and 08:00–20:00 → 08:00–21:00.
	ws := sendingWindows([]bellhop.Mailing{quiet("21:00", "09:00"), quiet("20:00", "08:00")}, day, loc, time.Time{})
	if len(ws) != 1 || !ws[0].from.Equal(day.At(8, 0, loc)) || !ws[0].to.Equal(day.At(21, 0, loc)) {
		t.Errorf("windows = %v, want 08:00–21:00", ws)
	}
	// A same-day quiet stretch leaves two windows; today's start at now.
	ws = sendingWindows([]bellhop.Mailing{quiet("13:00", "15:00")}, day, loc, day.At(14, 0, loc))
	if len(ws) != 1 || !ws[0].from.Equal(day.At(15, 0, loc)) {
		t.Errorf("windows from 14:00 with quiet 13–15 = %v, want 15:00–midnight", ws)
	}

	// Warm-up: on its second day a sender with steps 20, 40, 80 and a cap of 60 may send 40,
	// then 60, then 60; without a cap, nothing limits it after the steps.
	p := SenderPace{Warmup: []int{20, 40, 80}, WarmupDay: 1, DailyCap: 60}
	for ahead, want := range []int{40, 60, 60} {
		if got := p.CapOn(ahead); got != want {
			t.Errorf("CapOn(%d) = %d, want %d", ahead, got, want)
		}
	}
	p.DailyCap = 0
	if got := p.CapOn(2); got != 0 {
		t.Errorf("CapOn after the warm-up without a cap = %d, want none", got)
	}

	// 12 hours at 300 s a gap: 144 sends, at most the cap; less what it sent today.
	full := []window{{day.At(9, 0, loc), day.At(21, 0, loc)}}
	sp := SenderPace{MeanGap: 300 * time.Second, Zone: loc}
	if got := sp.canSend(full, day, loc, now); got != 144 {
		t.Errorf("canSend over 12 h = %d, want 144", got)
	}
	sp.DailyCap, sp.SentToday = 100, 30
	if got := sp.canSend(full, day, loc, now); got != 100 {
		t.Errorf("canSend tomorrow with a cap of 100 = %d, want 100", got)
	}
	if got := sp.canSend(full, day.AddDays(-1), loc, now); got != 70 {
		t.Errorf("canSend today with a cap of 100, 30 sent = %d, want 70", got)
	}
	sp.Paused = true
	if got := sp.canSend(full, day, loc, now); got != 0 {
		t.Errorf("a paused sender can send %d, want 0", got)
	}

	// Too late to be useful.
	deadline := day.At(18, 0, loc)
	b := &bellhop.Booking{Arrival: day, GuaranteeDeadline: &deadline}
	for _, tc := range []struct {
		kind    bellhop.MailingKind
		planned time.Time
		at      time.Time
		late    bool
	}{
		{bellhop.Welcome, day.At(-12, 0, loc), day.At(-1, 0, loc), false},
		{bellhop.Welcome, day.At(-12, 0, loc), day.At(0, 0, loc), true},
		{bellhop.Feedback, day.At(12, 0, loc), day.At(36, 0, loc), false},
		{bellhop.Feedback, day.At(12, 0, loc), day.At(36, 1, loc), true},
		{bellhop.NonGuaranteedReminder, day.At(10, 0, loc), day.At(17, 59, loc), false},
		{bellhop.NonGuaranteedReminder, day.At(10, 0, loc), day.At(18, 0, loc), true},
	} {
		if late, why := tooLate(Send{Kind: tc.kind, At: tc.planned}, tc.at, b, loc); late != tc.late || late == (why == "") {
			t.Errorf("%s planned %s, going %s: too late %v (%q), want %v", tc.kind, tc.planned, tc.at, late, why, tc.late)
		}
	}
}
