package pacer

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Settings are how one sender is paced.
type Settings struct {
	// Interval is the least time between the end of one send and the start of the next.
	Interval time.Duration
	// Jitter is the largest random extra added to each gap, as a fraction of Interval
	// (0.2 = up to 20 %). It is only ever added, never subtracted.
	Jitter float64
	// DailyCap is the most messages per day; 0 means no cap.
	DailyCap int
	// Warmup caps the sender's first days, one step per day (e.g. 20, 40, 80); after the
	// last step DailyCap applies. When both apply the smaller wins.
	Warmup []int
	// TimeZone is the IANA zone the day of DailyCap and Warmup is counted in; "" is UTC.
	TimeZone string
}

// Validate reports the first setting that cannot be used.
func (s Settings) Validate() error {
	switch {
	case s.Interval < time.Millisecond:
		return bellhop.Invalid("interval_seconds", "must be at least 0.001 (1 ms)")
	case s.Interval > 7*24*time.Hour:
		return bellhop.Invalid("interval_seconds", "must be at most 604800 (7 days)")
	case s.Jitter < 0 || s.Jitter > 1:
		return bellhop.Invalid("jitter", "must be between 0 and 1")
	case s.DailyCap < 0:
		return bellhop.Invalid("daily_cap", "must not be negative")
	case len(s.Warmup) > 366:
		return bellhop.Invalid("warmup", "must have at most 366 steps")
	}
	for i, n := range s.Warmup {
		if n < 1 {
			return bellhop.Invalid("warmup", "step %d must be at least 1", i+1)
		}
	}
	// "Local" is whatever zone the server runs in: not a zone a hotel's day is counted in.
	if _, err := loadZone(s.TimeZone); err != nil || s.TimeZone == "Local" {
		return bellhop.Invalid("time_zone", "must be an IANA time zone such as Europe/Moscow")
	}
	return nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// wireSettings is how Settings are kept in Redis.
type wireSettings struct {
	IntervalUS int64   `json:"interval_us"`
	Jitter     float64 `json:"jitter"`
	DailyCap   int     `json:"daily_cap"`
	Warmup     []int   `json:"warmup,omitempty"`
	TimeZone   string  `json:"time_zone,omitempty"`
}

func (s Settings) marshal() ([]byte, error) {
	return json.Marshal(wireSettings{
		IntervalUS: s.Interval.Microseconds(), Jitter: s.Jitter, DailyCap: s.DailyCap,
		Warmup: s.Warmup, TimeZone: s.TimeZone,
	})
}

func unmarshalSettings(b []byte) (Settings, error) {
	var w wireSettings
	if err := json.Unmarshal(b, &w); err != nil {
		return Settings{}, err
	}
	s := Settings{
		Interval: time.Duration(w.IntervalUS) * time.Microsecond, Jitter: w.Jitter,
		DailyCap: w.DailyCap, Warmup: w.Warmup, TimeZone: w.TimeZone,
	}
	return s, s.Validate()
}

func (s Settings) warmupCSV() string {
	parts := make([]string, len(s.Warmup))
	for i, n := range s.Warmup {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// SetSettings stores the sender's settings; every worker uses them from its next call on.
// Slots already reserved keep their time: Acquire still enforces the new interval.
func (p *Pacer) SetSettings(ctx context.Context, sender string, s Settings) error {
	if err := checkSender(sender); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := s.marshal()
	if err != nil {
		return fmt.Errorf("pacer: settings of %s: %w", sender, err)
	}
	if err := p.keepSettings(ctx, sender, b); err != nil {
		return err
	}
	k := p.keys(sender)
	pipe := p.rdb.TxPipeline()
	ver := pipe.HIncrBy(ctx, k.settings, "v", 1)
	pipe.HSet(ctx, k.settings, "json", b)
	pipe.HIncrBy(ctx, k.state, "w", 1) // a rebuild that read the database before this retries
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("pacer: store settings of %s: %w", sender, err)
	}
	p.remember(sender, strconv.FormatInt(ver.Val(), 10), s)
	return p.register(ctx, sender)
}

// Settings returns the sender's settings, the defaults when none were stored.
func (p *Pacer) Settings(ctx context.Context, sender string) (Settings, error) {
	if err := checkSender(sender); err != nil {
		return Settings{}, err
	}
	k := p.keys(sender)
	var ver, raw string
	for try := 0; ; try++ {
		pipe := p.rdb.Pipeline()
		vals := pipe.HMGet(ctx, k.settings, "v", "json")
		marker := pipe.HExists(ctx, k.state, "m")
		if _, err := pipe.Exec(ctx); err != nil {
			return Settings{}, fmt.Errorf("pacer: read settings of %s: %w", sender, err)
		}
		v := vals.Val()
		ver, _ = v[0].(string)
		raw, _ = v[1].(string)
		// Settings read from a lost sender's keys would be the defaults: rebuild it first.
		if p.mem == nil || (ver != "" && marker.Val()) || try == maxTries {
			break
		}
		if err := p.rebuild(ctx, sender); err != nil {
			return Settings{}, err
		}
	}
	c, err := p.refresh(sender, ver, raw)
	if err != nil {
		return Settings{}, err
	}
	return c.set, nil
}

// senderCache is what one process keeps about a sender between calls: the settings (the
// scripts say when they are stale) and where its last slot was, to guess which days the
// next slot may fall in.
type senderCache struct {
	ver  string
	set  Settings
	loc  *time.Location
	hint time.Time
}

func (p *Pacer) cached(sender string) senderCache {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cache[sender]
	if !ok {
		// Until a script says otherwise, assume the sender has no settings of its own.
		c = &senderCache{ver: "0", set: p.DefaultsFor(sender), loc: p.defaultLoc}
		p.cache[sender] = c
	}
	return *c
}

func (p *Pacer) remember(sender, ver string, s Settings) senderCache {
	loc, err := loadZone(s.TimeZone)
	if err != nil {
		loc = time.UTC // validated before it was stored
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cache[sender]
	if !ok {
		c = &senderCache{}
		p.cache[sender] = c
	}
	c.ver, c.set, c.loc = ver, s, loc
	return *c
}

// refresh takes the settings a script or a read answered; no settings mean the defaults.
func (p *Pacer) refresh(sender, ver, raw string) (senderCache, error) {
	if ver == "" {
		ver = "0"
	}
	if raw == "" {
		return p.remember(sender, ver, p.DefaultsFor(sender)), nil
	}
	s, err := unmarshalSettings([]byte(raw))
	if err != nil {
		return senderCache{}, fmt.Errorf("pacer: stored settings of %s: %w", sender, err)
	}
	return p.remember(sender, ver, s), nil
}

func (p *Pacer) hint(sender string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[sender]; ok && t.After(c.hint) {
		c.hint = t
	}
}
