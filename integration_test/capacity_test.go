package integration_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/cmd/bellhop/app"
)

// capacityNow is a Monday morning in Moscow (UTC+3 all year): the week ahead has no DST
// change, and the welcomes of Friday's arrivals are planned for Thursday 12:00.
var capacityNow = time.Date(2030, 3, 4, 10, 0, 0, 0, time.FixedZone("MSK", 3*3600))

// onClock runs Main on a simulated clock, as the API only: nothing is sent, the plans stay.
func onClock(clock bellhop.Clock) func(*app.Main) {
	return func(m *app.Main) {
		m.Clock = clock
		m.Role = app.RoleAPI
	}
}

// TestCapacityAheadOfTime: a hotel with 400 arrivals on Friday on one number paced at the
// default 300 s sees on Monday that Thursday's welcomes are more than the number can send,
// with the numbers worked out here from the rules: a sending day is the 12 hours outside the
// quiet hours (21:00–09:00), the average gap is the interval plus the mean jitter (evenly
// between 5 s and 20 % of the interval), and what a day cannot send waits for the next.
func TestCapacityAheadOfTime(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			clock := bellhop.NewSimulatedClock(capacityNow)
			h := start(t, db(t), onClock(clock))
			const pid = "cap1"
			h.must(201, "POST", "/api/v1/properties", h.service, map[string]any{
				"id": pid, "name": "Hotel Volga", "time_zone": "Europe/Moscow", "country": "RU", "language": "en", "contact_center": true,
			})
			admin := h.cli("token", "create", "--property", pid, "--role", "admin")
			base := "/api/v1/properties/" + pid
			h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
			h.must(200, "POST", base+intg+"/check", admin, nil)
			h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1"})
			h.must(200, "POST", base+intg+"/activate", admin, nil)
			h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})

			// Nothing planned yet: no warning.
			if r := h.call("GET", base+"/capacity?days=7", admin, nil); r.Status != 200 {
				t.Fatalf("capacity: %s\n%s", r.Raw, grepLines(h.logs.String(), "error"))
			}
			r := h.must(200, "GET", base+"/capacity?days=7", admin, nil)
			if w := r.Body["warnings"].([]any); len(w) != 0 {
				t.Fatalf("warnings with nothing planned: %v", w)
			}

			friday := capacityNow.AddDate(0, 0, 4)
			const arrivals = 400
			updated := capacityNow.Add(-time.Hour)
			for i := range arrivals {
				h.must(201, "PUT", fmt.Sprintf("%s/bookings/B%03d", base, i), h.service,
					booking(friday, 2, fmt.Sprintf("+7912%07d", i), "en", updated))
			}

			// The rules, worked out here.
			interval := 300.0
			meanGap := interval + (math.Min(5, 0.2*interval/2)+0.2*interval)/2 // 332.5 s
			perDay := int(math.Ceil(12 * 3600 / meanGap))                      // 09:00–21:00
			today := int(math.Ceil(11 * 3600 / meanGap))                       // from 10:00
			if perDay != 130 || today != 120 {
				t.Fatalf("the test's own arithmetic: %d a day, %d today", perDay, today)
			}
			type day struct{ planned, carried, canSend, over int }
			over := arrivals - perDay
			want := []day{
				{0, 0, today, 0}, {0, 0, perDay, 0}, {0, 0, perDay, 0}, // Mon, Tue, Wed
				{arrivals, 0, perDay, over},                 // Thursday
				{0, over, perDay, over - perDay},            // Friday
				{0, over - perDay, perDay, over - 2*perDay}, // Saturday
				{0, over - 2*perDay, perDay, 0},             // Sunday: the last 10 go
			}
			r = h.must(200, "GET", base+"/capacity?days=7", admin, nil)
			senders := r.Body["senders"].([]any)
			if len(senders) != 1 {
				t.Fatalf("capacity has %d senders, want 1: %s", len(senders), r.Raw)
			}
			sc := senders[0].(map[string]any)
			if sc["sending_method"] != "intellectdialog" || sc["window_hours"] != 12.0 {
				t.Fatalf("sender %v, window %v h, want intellectdialog and 12 h", sc["sending_method"], sc["window_hours"])
			}
			days := sc["days"].([]any)
			if len(days) != 7 {
				t.Fatalf("%d days, want 7", len(days))
			}
			for i, d := range days {
				d := d.(map[string]any)
				got := day{num(d["planned"]), num(d["carried"]), num(d["can_send"]), num(d["over"])}
				date := capacityNow.AddDate(0, 0, i).Format(time.DateOnly)
				if d["date"] != date || got != want[i] {
					t.Errorf("day %d: %v %+v, want %s %+v", i, d["date"], got, date, want[i])
				}
			}
			warnings := r.Body["warnings"].([]any)
			if len(warnings) != 3 {
				t.Fatalf("%d warnings, want Thursday, Friday and Saturday: %s", len(warnings), r.Raw)
			}
			thursday := warnings[0].(map[string]any)
			msg := thursday["message"].(string)
			wantMsg := fmt.Sprintf("Thursday 2030-03-07: %d planned, this number can send %d; %d wait", arrivals, perDay, over)
			if !strings.HasPrefix(msg, wantMsg) {
				t.Errorf("Thursday's warning %q, want it to start %q", msg, wantMsg)
			}

			// The mailings come with the same warnings.
			r = h.must(200, "GET", base+"/mailings", admin, nil)
			mw := r.Body["warnings"].([]any)
			if len(mw) != 3 || mw[0].(map[string]any)["message"] != msg {
				t.Errorf("the mailings' warnings: %v, want Thursday's first: %q", mw, msg)
			}

			// The preview puts each welcome where the number can really send it: from Thursday
			// 12:00 one per mean gap until 21:00; the rest would go on Friday, the arrival day,
			// and are flagged too late.
			thursdayNoon := time.Date(2030, 3, 7, 12, 0, 0, 0, capacityNow.Location())
			onThursday := int(math.Ceil(9 * 3600 / meanGap)) // 12:00–21:00
			r = h.must(200, "GET", base+"/mailings/preview?days=7", admin, nil)
			sends := r.Body["sends"].([]any)
			if len(sends) != arrivals {
				t.Fatalf("the preview has %d sends, want %d", len(sends), arrivals)
			}
			late := 0
			for i, x := range sends {
				x := x.(map[string]any)
				at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(x["expected_at"]))
				if err != nil {
					t.Fatalf("send %d has no expected_at: %v", i, x)
				}
				if i < 3 {
					if want := thursdayNoon.Add(time.Duration(float64(i) * meanGap * float64(time.Second))); !at.Equal(want) {
						t.Errorf("send %d expected at %s, want %s", i, at, want)
					}
				}
				if x["too_late"] == true {
					late++
					if i < onThursday || !strings.Contains(fmt.Sprint(x["late_reason"]), "arrival day") {
						t.Errorf("send %d at %s flagged too late: %v", i, at, x["late_reason"])
					}
				} else if i >= onThursday {
					t.Errorf("send %d at %s (Friday) is not flagged too late", i, at.In(capacityNow.Location()))
				}
			}
			if late != arrivals-onThursday {
				t.Errorf("%d welcomes flagged too late, want %d", late, arrivals-onThursday)
			}

			// Bad input and another property's capacity.
			if r := h.call("GET", base+"/capacity?days=0", admin, nil); r.Status != 422 {
				t.Errorf("days=0: %d, want 422: %s", r.Status, r.Raw)
			}
			other := h.property("cap2", true)
			if r := h.call("GET", base+"/capacity", other, nil); r.Status != 404 {
				t.Errorf("another property's capacity: %d, want 404", r.Status)
			}
		})
	}
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// TestCapacityOnThePages: the Mailings tab names the day a sender cannot keep up, in the
// page's language, and the Upcoming tab shows when each message would really go and which
// would come too late.
func TestCapacityOnThePages(t *testing.T) {
	h := start(t, t.TempDir()+"/bellhop.db")
	admin, local := h.activeProperty("cp")
	base := "/api/v1/properties/cp"
	// The number's days counted in the hotel's zone: with UTC's, whether the second welcome
	// (the next day's first slot) comes after the arrival day began depended on the hour the
	// test ran, as the afternoon zone lies east or west of UTC.
	h.must(200, "PATCH", base+intg+"/pacer", admin, map[string]any{"daily_cap": 1, "time_zone": local.Location().String()})
	h.must(200, "PATCH", base+"/mailings/welcome", admin, map[string]any{"enabled": true})
	arrival := local.AddDate(0, 0, 2)
	for i := range 3 {
		h.must(201, "PUT", fmt.Sprintf("%s/bookings/c%d", base, i), h.service, booking(arrival, 1, fmt.Sprintf("+7912777%04d", i), "en", time.Now()))
	}
	tomorrow := local.AddDate(0, 0, 1)
	c := h.pageClient()
	c.signInWithLink(h.signInLink("cp"))
	p := c.get("/p/cp/mailings")
	want := fmt.Sprintf("%s %s: 3 planned, this number can send 1; 2 wait for a later day", tomorrow.Weekday(), tomorrow.Format(time.DateOnly))
	if p.Status != 200 || !strings.Contains(p.Body, `id="capacity"`) || !strings.Contains(p.Body, want) {
		t.Errorf("the mailings page does not warn %q:\n%s", want, p.Body)
	}
	ru := map[time.Weekday]string{time.Monday: "Понедельник", time.Tuesday: "Вторник", time.Wednesday: "Среда",
		time.Thursday: "Четверг", time.Friday: "Пятница", time.Saturday: "Суббота", time.Sunday: "Воскресенье"}
	p = c.do("GET", "/p/cp/mailings", nil, "Accept-Language", "ru")
	want = fmt.Sprintf("%s, %s: запланировано 3, этот номер может отправить 1; 2 ждут следующих дней", ru[tomorrow.Weekday()], tomorrow.Format(time.DateOnly))
	if !strings.Contains(p.Body, want) {
		t.Errorf("the Russian mailings page does not warn %q", want)
	}
	// One a day: tomorrow's first goes, the other two would go on the arrival day and later.
	p = c.get("/p/cp/upcoming")
	if n := strings.Count(p.Body, `too-late"`); n != 2 {
		t.Errorf("the upcoming page flags %d messages too late, want 2", n)
	}
}
