package mailings

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Capacity ahead of time: what the ledger holds for each sender (or pool of senders) in the
// next days, against what the sender's pace lets it send — before welcomes start arriving
// after the guest.
//
// The model, per sender and property-local day:
//   - planned: the scheduled ledger rows of the mailings it sends, by planned day (one count
//     per day over a range of the ledger's index, never read row by row); rows planned on an
//     earlier day and still waiting are carried into today.
//   - can_send: the day's sending window — the hours outside the quiet hours of the mailings
//     it sends (21:00–09:00 by default: 12 h), and only from now on today — divided by the
//     sender's average gap (its interval plus the mean of its jitter), at most its daily cap
//     (warm-up included; today less what it sent already). A paused sender sends nothing.
//     A pool can send what its numbers can together.
//   - over: carried + planned − can_send, when positive: sends that wait for a later day,
//     carried into the next one.

// SenderPace is how fast one sender sends, as its pacer has it.
type SenderPace struct {
	Sender bellhop.Sender
	// MeanGap is the average time from one send's start to the next one's.
	MeanGap time.Duration
	// DailyCap is the most sends a day (0: none); Warmup caps the first days, one step a
	// day, and WarmupDay is today's step (0 = the sender's first day).
	DailyCap  int
	Warmup    []int
	WarmupDay int
	// Zone is where the sender's day (of its cap) is counted.
	Zone        *time.Location
	SentToday   int
	Paused      bool
	PauseReason string
	// NextFree is when a message joining the sender's line now could go; Waiting counts those
	// holding a slot.
	NextFree time.Time
	Waiting  int
}

// CapOn is the sender's cap on the day ahead days after today (warm-up included); 0 means
// none.
func (p SenderPace) CapOn(ahead int) int {
	c := p.DailyCap
	if i := p.WarmupDay + ahead; i >= 0 && i < len(p.Warmup) {
		if w := p.Warmup[i]; c == 0 || w < c {
			c = w
		}
	}
	return c
}

// Pacing tells the capacity view and the preview how fast an integration's senders send
// (the queue's pacer).
type Pacing interface {
	// Paces returns the pace of each sender of the integration, in the order of
	// in.Senders().
	Paces(ctx context.Context, in *bellhop.Integration) ([]SenderPace, error)
}

// CapacityReport is, per sending integration, its planned sends per day against what its
// senders can send.
type CapacityReport struct {
	From     time.Time `json:"from"`
	Days     int       `json:"days"`
	TimeZone string    `json:"time_zone"`
	// Senders has one entry per integration that sends an enabled mailing: its sender, or
	// its pool summed.
	Senders  []SenderCapacity  `json:"senders"`
	Warnings []CapacityWarning `json:"warnings"`
}

// SenderCapacity is one integration's sender (or pool) over the days.
type SenderCapacity struct {
	SendingMethod string                `json:"sending_method"`
	Senders       []bellhop.Sender      `json:"senders"`
	Label         string                `json:"label"`
	Kinds         []bellhop.MailingKind `json:"kinds"`
	// WindowHours is a full day's sending window: the hours outside the quiet hours.
	WindowHours float64 `json:"window_hours"`
	// MeanGapSeconds is each sender's average gap between two sends, in the order of Senders.
	MeanGapSeconds []float64     `json:"mean_gap_seconds"`
	Paused         []string      `json:"paused"`
	Days           []DayCapacity `json:"days"`
}

// DayCapacity is one property-local day of a sender.
type DayCapacity struct {
	Date    bellhop.Date `json:"date"`
	Weekday string       `json:"weekday"`
	// Planned counts the sends planned that day; Carried those left from earlier days.
	Planned int `json:"planned"`
	Carried int `json:"carried"`
	CanSend int `json:"can_send"`
	// Over is what waits for a later day: Carried + Planned − CanSend, when positive.
	Over int `json:"over"`
}

// CapacityWarning says in plain words that a sender cannot keep up on a day, or is paused.
type CapacityWarning struct {
	SendingMethod string       `json:"sending_method"`
	Label         string       `json:"label"`
	Numbers       int          `json:"numbers"`
	Date          bellhop.Date `json:"date"`
	Weekday       string       `json:"weekday"`
	Planned       int          `json:"planned"`
	Carried       int          `json:"carried"`
	CanSend       int          `json:"can_send"`
	Over          int          `json:"over"`
	// Paused names a paused number (and why) instead of a day.
	Paused  string `json:"paused,omitempty"`
	Message string `json:"message"`
}

// Capacity reports, for each integration that sends an enabled mailing of property pid, the
// sends planned on each of the next days days against what its senders can send, with a
// warning for every day it cannot keep up. It needs Config.Pacing.
func (s *Service) Capacity(ctx context.Context, pid string, days int) (*CapacityReport, error) {
	if days < 1 || days > 90 {
		return nil, bellhop.Invalid("days", "must be a whole number from 1 to 90")
	}
	if s.cfg.Pacing == nil {
		return nil, bellhop.Errorf(bellhop.ENotReady, "Capacity is not available: this server has no pacer.")
	}
	p, err := s.cfg.Store.GetProperty(ctx, pid)
	if err != nil {
		return nil, err
	}
	ms, err := s.cfg.Store.ListMailings(ctx, pid)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	loc := p.Location()
	today := bellhop.DateOf(now.In(loc))
	out := &CapacityReport{From: now, Days: days, TimeZone: p.TimeZone, Senders: []SenderCapacity{}, Warnings: []CapacityWarning{}}
	groups := sendingGroups(ms)
	if len(groups) == 0 {
		return out, nil
	}
	// counts[0] is what is carried from before today; counts[1+i] day i's.
	counts := make([]map[bellhop.MailingKind]int, days+1)
	from := time.Time{}
	for i := range counts {
		to := today.AddDays(i).In(loc)
		if i > 0 {
			from, to = today.AddDays(i-1).In(loc), today.AddDays(i).In(loc)
		}
		if counts[i], err = s.cfg.Store.CountPending(ctx, pid, from, to); err != nil {
			return nil, err
		}
	}
	for _, g := range groups {
		in, err := s.cfg.Store.GetIntegration(ctx, pid, g.method)
		if bellhop.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		senders := in.Senders()
		if len(senders) == 0 {
			continue
		}
		paces, err := s.cfg.Pacing.Paces(ctx, in)
		if err != nil {
			if bellhop.ErrorCode(err) != bellhop.EInternal {
				return nil, err
			}
			// Redis does not answer: the count waits for it; nothing is lost.
			s.cfg.Logger.WarnContext(ctx, "capacity: the senders' pace could not be read", "sending_method", g.method, "error", err)
			return nil, bellhop.Errorf(bellhop.EUnavailable, "The senders' pace could not be read just now; try again in a moment.")
		}
		sc := senderCapacity(g, senders, paces, counts, now, loc, days)
		out.Senders = append(out.Senders, sc)
		out.Warnings = append(out.Warnings, warningsOf(sc)...)
	}
	return out, nil
}

// sendingGroup is the enabled mailings one integration sends.
type sendingGroup struct {
	method string
	ms     []bellhop.Mailing
}

func sendingGroups(ms []*bellhop.Mailing) []sendingGroup {
	var gs []sendingGroup
	for _, m := range ms {
		if !m.Enabled {
			continue
		}
		i := slices.IndexFunc(gs, func(g sendingGroup) bool { return g.method == m.SendingMethod })
		if i < 0 {
			gs = append(gs, sendingGroup{method: m.SendingMethod})
			i = len(gs) - 1
		}
		gs[i].ms = append(gs[i].ms, *m)
	}
	return gs
}

func senderCapacity(g sendingGroup, senders []bellhop.Sender, paces []SenderPace, counts []map[bellhop.MailingKind]int, now time.Time, loc *time.Location, days int) SenderCapacity {
	sc := SenderCapacity{SendingMethod: g.method, Senders: senders, Label: poolLabel(senders), Paused: []string{}, MeanGapSeconds: []float64{}}
	for _, m := range g.ms {
		sc.Kinds = append(sc.Kinds, m.Kind)
	}
	for _, pc := range paces {
		sc.MeanGapSeconds = append(sc.MeanGapSeconds, pc.MeanGap.Seconds())
		if pc.Paused {
			sc.Paused = append(sc.Paused, pc.Sender.Label())
		}
	}
	today := bellhop.DateOf(now.In(loc))
	var full time.Duration
	for _, w := range sendingWindows(g.ms, today.AddDays(1), loc, time.Time{}) {
		full += w.to.Sub(w.from)
	}
	sc.WindowHours = full.Hours()
	planned := make([]int, days)
	carried := 0
	for _, k := range sc.Kinds {
		carried += counts[0][k]
		for i := range days {
			planned[i] += counts[1+i][k]
		}
	}
	for i := range days {
		day := today.AddDays(i)
		can := 0
		windows := sendingWindows(g.ms, day, loc, now)
		for _, pc := range paces {
			can += pc.canSend(windows, day, loc, now)
		}
		dc := DayCapacity{Date: day, Weekday: day.In(loc).Weekday().String(), Planned: planned[i], Carried: carried, CanSend: can}
		dc.Over = max(0, carried+planned[i]-can)
		carried = dc.Over
		sc.Days = append(sc.Days, dc)
	}
	return sc
}

// dayIndex is how many days d is after today (negative before).
func dayIndex(today, d bellhop.Date) int {
	return int(d.In(time.UTC).Sub(today.In(time.UTC)).Hours() / 24)
}

// canSend is how many sends the sender can make in the day's windows: from each window's
// start, one per mean gap, at most the day's cap (today's less what it sent already).
func (p SenderPace) canSend(windows []window, day bellhop.Date, loc *time.Location, now time.Time) int {
	if p.Paused || p.MeanGap <= 0 {
		return 0
	}
	n := 0
	for _, w := range windows {
		if span := w.to.Sub(w.from); span > 0 {
			n += int((span + p.MeanGap - 1) / p.MeanGap)
		}
	}
	// The cap of the sender's day (in its own zone) that holds the middle of this one.
	zone := p.Zone
	if zone == nil {
		zone = time.UTC
	}
	mid := day.In(loc).Add(12 * time.Hour)
	ahead := dayIndex(bellhop.DateOf(now.In(zone)), bellhop.DateOf(mid.In(zone)))
	if c := p.CapOn(ahead); c > 0 {
		if ahead == 0 {
			c = max(0, c-p.SentToday)
		}
		n = min(n, c)
	}
	return n
}

// window is a stretch of time when a sender may send.
type window struct{ from, to time.Time }

// sendingWindows is when the mailings ms may send on day (property-local): the hours outside
// their quiet hours (a union: a send of one mailing may go when another's are quiet), from
// notBefore on.
func sendingWindows(ms []bellhop.Mailing, day bellhop.Date, loc *time.Location, notBefore time.Time) []window {
	start, end := day.In(loc), day.AddDays(1).In(loc)
	var ws []window
	for _, m := range ms {
		qs, qe := m.Schedule.QuietStart.Minutes(), m.Schedule.QuietEnd.Minutes()
		at := func(min int) time.Time { return day.At(min/60, min%60, loc) }
		switch {
		case qs < 0 || qe < 0 || qs == qe:
			ws = append(ws, window{start, end})
		case qs < qe:
			ws = append(ws, window{start, at(qs)}, window{at(qe), end})
		default:
			ws = append(ws, window{at(qe), at(qs)})
		}
	}
	slices.SortFunc(ws, func(a, b window) int { return a.from.Compare(b.from) })
	var out []window
	for _, w := range ws {
		if w.from.Before(notBefore) {
			w.from = notBefore
		}
		if !w.to.After(w.from) {
			continue
		}
		if n := len(out); n > 0 && !w.from.After(out[n-1].to) {
			if w.to.After(out[n-1].to) {
				out[n-1].to = w.to
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

func poolLabel(senders []bellhop.Sender) string {
	labels := make([]string, len(senders))
	for i, s := range senders {
		labels[i] = s.Label()
	}
	return strings.Join(labels, ", ")
}

// warningsOf says which days a sender cannot keep up, and which of its numbers are paused.
func warningsOf(sc SenderCapacity) []CapacityWarning {
	var out []CapacityWarning
	pending := 0
	for _, d := range sc.Days {
		pending += d.Planned + d.Carried
	}
	if pending > 0 {
		for _, label := range sc.Paused {
			out = append(out, CapacityWarning{SendingMethod: sc.SendingMethod, Label: sc.Label, Numbers: len(sc.Senders), Paused: label,
				Message: fmt.Sprintf("%s is paused: nothing goes out from it until an administrator resumes it.", label)})
		}
	}
	for _, d := range sc.Days {
		if d.Over == 0 {
			continue
		}
		w := CapacityWarning{SendingMethod: sc.SendingMethod, Label: sc.Label, Numbers: len(sc.Senders), Date: d.Date, Weekday: d.Weekday,
			Planned: d.Planned, Carried: d.Carried, CanSend: d.CanSend, Over: d.Over}
		w.Message = w.english()
		out = append(out, w)
	}
	return out
}

// english is the warning's plain words: "Thursday 2026-12-03: 412 planned, this number can
// send 130; 282 wait for a later day (whatsapp · Reception (+79990000001))."
func (w CapacityWarning) english() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d planned", w.Weekday, w.Date, w.Planned)
	if w.Carried > 0 {
		fmt.Fprintf(&b, " and %d left from earlier days", w.Carried)
	}
	if w.Numbers > 1 {
		fmt.Fprintf(&b, ", these %d numbers can send %d", w.Numbers, w.CanSend)
	} else {
		fmt.Fprintf(&b, ", this number can send %d", w.CanSend)
	}
	fmt.Fprintf(&b, "; %d wait for a later day (%s).", w.Over, w.Label)
	return b.String()
}

// expect works out when each previewed send would really go, and flags those that would be
// too late to be useful. Each integration's sends queue up in order (the preview's order is
// by planned time) behind its senders, as in the capacity model: one per mean gap, in the
// mailing's sending hours, within the daily cap; a pool sends each from whichever number is
// free first. A pace that cannot be read leaves the sends as planned, logged.
func (s *Service) expect(ctx context.Context, sends []UpcomingSend, ms []bellhop.Mailing, ins map[string]*bellhop.Integration, loc *time.Location, bookings []*bellhop.Booking, now time.Time) {
	if s.cfg.Pacing == nil {
		return
	}
	mailing := map[bellhop.MailingKind]bellhop.Mailing{}
	for _, m := range ms {
		mailing[m.Kind] = m
	}
	booking := map[string]*bellhop.Booking{}
	for _, b := range bookings {
		booking[b.ID] = b
	}
	for method, in := range ins {
		if len(in.Senders()) == 0 {
			continue
		}
		paces, err := s.cfg.Pacing.Paces(ctx, in)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "the preview could not read the senders' pace; times are as planned", "sending_method", method, "error", err)
			continue
		}
		lines := make([]*senderLine, 0, len(paces))
		for _, pc := range paces {
			if !pc.Paused && pc.MeanGap > 0 {
				lines = append(lines, newSenderLine(pc, now))
			}
		}
		for i := range sends {
			u := &sends[i]
			m := mailing[u.Kind]
			if ch := u.Channel; ch != method && (ch != "" || m.SendingMethod != method) {
				continue // another channel sends it
			}
			if len(lines) == 0 {
				u.TooLate, u.LateReason = true, "Its sender is paused: it goes out only once an administrator resumes it."
				continue
			}
			at, line := time.Time{}, lines[0]
			for _, l := range lines {
				if t := l.next(u.At, m.Schedule, loc); at.IsZero() || t.Before(at) {
					at, line = t, l
				}
			}
			line.take(at)
			u.ExpectedAt = &at
			u.TooLate, u.LateReason = tooLate(u.Send, at, booking[u.BookingID], loc)
		}
	}
}

// senderLine is one sender's queue in the preview: when it is next free and how many sends
// each of its days already holds.
type senderLine struct {
	pace   SenderPace
	free   time.Time
	perDay map[bellhop.Date]int
	zone   *time.Location
	today  bellhop.Date
}

func newSenderLine(pc SenderPace, now time.Time) *senderLine {
	zone := pc.Zone
	if zone == nil {
		zone = time.UTC
	}
	l := &senderLine{pace: pc, free: now, perDay: map[bellhop.Date]int{}, zone: zone, today: bellhop.DateOf(now.In(zone))}
	// A sender with nobody waiting may still be resting after its last send; one with a line
	// has that line in the preview already.
	if pc.Waiting == 0 && pc.NextFree.After(now) {
		l.free = pc.NextFree
	}
	l.perDay[l.today] = pc.SentToday
	return l
}

// next is the earliest time the line could send a message planned at planned: not before it
// is free, outside the mailing's quiet hours, on a day with room under the cap.
func (l *senderLine) next(planned time.Time, sch bellhop.Schedule, loc *time.Location) time.Time {
	t := planned
	if l.free.After(t) {
		t = l.free
	}
	for range 400 { // a cap of at least one a day finds room within the days ahead
		t = AfterQuietHours(t, sch.QuietStart, sch.QuietEnd, loc)
		day := bellhop.DateOf(t.In(l.zone))
		c := l.pace.CapOn(dayIndex(l.today, day))
		if c == 0 || l.perDay[day] < c {
			return t
		}
		t = day.AddDays(1).In(l.zone)
	}
	return t
}

// take books the line's send at t.
func (l *senderLine) take(t time.Time) {
	l.perDay[bellhop.DateOf(t.In(l.zone))]++
	l.free = t.Add(l.pace.MeanGap)
}

// tooLate says whether a send that goes at at is still of use to the guest, and why not.
func tooLate(s Send, at time.Time, b *bellhop.Booking, loc *time.Location) (bool, string) {
	if b == nil {
		return false, ""
	}
	switch s.Kind {
	case bellhop.Welcome:
		if !at.Before(b.Arrival.In(loc)) {
			return true, "It would arrive after the guest's arrival day has begun."
		}
	case bellhop.Feedback:
		if at.Sub(s.At) > 24*time.Hour {
			return true, "It would arrive more than a day after its time."
		}
	case bellhop.NonGuaranteedReminder:
		if b.GuaranteeDeadline != nil && !at.Before(*b.GuaranteeDeadline) {
			return true, "It would arrive after the booking's guarantee deadline."
		}
	}
	return false, ""
}
