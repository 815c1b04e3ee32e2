package intellectdialog

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	// IANA names must resolve in minimal containers without /usr/share/zoneinfo too: the
	// company's zone decides what "2026-11-21 13:00:00" means.
	_ "time/tzdata"

	"github.com/bellhop/bellhop/provider"
)

// wireTime is how the API writes times: "YYYY-mm-dd HH:ii:ss" in the company's zone.
const wireTime = time.DateTime

// zoneAbbreviations are names that are not IANA names but that an account may carry.
var zoneAbbreviations = map[string]string{"MSK": "Europe/Moscow"}

// ParseZone reads a time zone as IntellectDialog's company "zone" may name it: an IANA name
// ("Europe/Moscow"), an offset ("+03:00", "+0300", "UTC+3", "GMT+03:00", "+3", "3", "-05:30")
// or "UTC"/"Z". ok is false when s names no zone it knows; loc is then UTC.
func ParseZone(s string) (loc *time.Location, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.UTC, false
	}
	switch u := strings.ToUpper(s); u {
	case "UTC", "Z", "GMT", "UT", "ETC/UTC", "ETC/GMT":
		return time.UTC, true
	default:
		if name, found := zoneAbbreviations[u]; found {
			s = name
		}
	}
	if l, found := parseOffset(s); found {
		return l, true
	}
	// "Local" would be this machine's zone, which says nothing about the account's.
	if strings.EqualFold(s, "local") {
		return time.UTC, false
	}
	if l, err := time.LoadLocation(s); err == nil {
		return l, true
	}
	return time.UTC, false
}

// parseOffset reads [UTC|GMT][+|-]H[H][[:]MM].
func parseOffset(s string) (*time.Location, bool) {
	rest := s
	if len(rest) >= 3 && (strings.EqualFold(rest[:3], "UTC") || strings.EqualFold(rest[:3], "GMT")) {
		rest = strings.TrimSpace(rest[3:])
	}
	sign := 1
	switch {
	case strings.HasPrefix(rest, "+"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "-"), strings.HasPrefix(rest, "−"):
		sign = -1
		rest = strings.TrimLeft(rest, "-−")
	}
	var hh, mm string
	switch {
	case strings.Contains(rest, ":"):
		hh, mm, _ = strings.Cut(rest, ":")
	case len(rest) == 4:
		hh, mm = rest[:2], rest[2:]
	case len(rest) == 3:
		hh, mm = rest[:1], rest[1:]
	default:
		hh, mm = rest, "0"
	}
	if hh == "" || len(hh) > 2 || len(mm) > 2 || !allDigits(hh) || !allDigits(mm) {
		return nil, false
	}
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	if h > 14 || m > 59 || (h == 14 && m > 0) {
		return nil, false
	}
	off := sign * (h*3600 + m*60)
	if off == 0 {
		return time.UTC, true
	}
	name := fmt.Sprintf("UTC%+03d:%02d", sign*h, m)
	if sign < 0 && h == 0 {
		name = fmt.Sprintf("UTC-00:%02d", m)
	}
	return time.FixedZone(name, off), true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseTime reads a time of the API: "YYYY-mm-dd HH:ii:ss" (in loc), RFC 3339, or Unix seconds
// (milliseconds when the number is too large for seconds). "", "0000-00-00 00:00:00" and null
// are the zero time; ok is false only for text that is none of these.
func parseTime(s string, loc *time.Location) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" || strings.HasPrefix(s, "0000-00-00") || s == "0" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{wireTime, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 && !math.IsInf(n, 0) {
		if n >= 1e11 { // seconds would be after the year 5000: milliseconds
			n /= 1000
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).In(loc), true
	}
	return time.Time{}, false
}

// formatFloor and formatCeil write a filter bound in the account's zone at whole seconds,
// rounding outwards so that the window sent is never narrower than the one asked for.
func formatFloor(t time.Time, loc *time.Location) string {
	return t.In(loc).Truncate(time.Second).Format(wireTime)
}

func formatCeil(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if f := t.Truncate(time.Second); !f.Equal(t) {
		t = f.Add(time.Second)
	}
	return t.Format(wireTime)
}

// zone is the account's time zone, found once: from Config.Zone, or GET companies before the
// first call that reads or writes times (or from a call of Organization).
type zone struct {
	lookup chan struct{} // holds one token while a lookup runs, so only one runs at a time

	mu       sync.Mutex
	resolved bool
	loc      *time.Location
	known    bool
	name     string
}

func (z *zone) get() (loc *time.Location, known, resolved bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.resolved {
		return time.UTC, false, false
	}
	return z.loc, z.known, true
}

// set records the zone named name, unless one is recorded already; it reports whether it did.
func (z *zone) set(name string) bool {
	loc, ok := ParseZone(name)
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.resolved {
		return false
	}
	z.resolved, z.loc, z.known, z.name = true, loc, ok, name
	return true
}

// ZoneKnown reports whether the client reads and writes times in the account's own zone. It is
// false while the zone has not been found yet (see Location) and when the zone the account names
// is one ParseZone does not know: times are then taken as UTC, and a caller that filters by time
// should widen its window by a day either way.
func (c *Client) ZoneKnown() bool {
	_, known, _ := c.zone.get()
	return known
}

// Location returns the account's time zone, asking GET companies once when Config.Zone was
// empty. known is false when the account names no zone the client understands (loc is then UTC).
// A failure to reach the provider is returned and the lookup is tried again on the next call.
func (c *Client) Location(ctx context.Context) (loc *time.Location, known bool, err error) {
	if loc, known, ok := c.zone.get(); ok {
		return loc, known, nil
	}
	select {
	case c.zone.lookup <- struct{}{}:
	case <-ctx.Done():
		return time.UTC, false, c.fail("read time zone (GET companies)", provider.FailUnavailable, 0, "cancelled", ctx.Err())
	}
	defer func() { <-c.zone.lookup }()
	if loc, known, ok := c.zone.get(); ok { // another call found it while this one waited
		return loc, known, nil
	}
	org, err := c.company(ctx, "read time zone (GET companies)")
	switch kind := provider.FailureOf(err); {
	case err == nil:
		c.setZone(org.Zone)
	case kind == provider.FailUnavailable || kind == provider.FailRateLimited || kind == provider.FailUnauthorized:
		return time.UTC, false, err
	default:
		// The account answered but names no zone we can use: UTC, and the caller is told so.
		c.log.Warn("intellectdialog: cannot read the company's time zone; times are taken as UTC",
			"step", "read time zone (GET companies)", "kind", kind.String())
		c.zone.set("")
	}
	loc, known, _ = c.zone.get()
	return loc, known, nil
}

// setZone records the account's zone (first one wins) and warns once when it is unknown.
func (c *Client) setZone(name string) {
	if !c.zone.set(name) {
		return
	}
	if _, known, _ := c.zone.get(); !known {
		c.warn.Warn("zone", "intellectdialog: unknown company time zone; times are taken as UTC",
			"zone", c.cleanText(name))
	}
}
