package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue/pacer"
)

// Pacing is the pacer as the rest of Bellhop sees it: a property's sender's pace, read, changed
// and resumed by property and kind. Which key names the sender, how a pacer group moves it,
// and the pace of earlier releases stay inside queue.
type Pacing struct {
	cfg PacingConfig
}

// PacingConfig wires a Pacing. Pacer, Integrations and Store are required.
type PacingConfig struct {
	Pacer *pacer.Pacer
	// Integrations gives a property's integration of a kind (not_found for what it cannot see).
	Integrations interface {
		Integration(ctx context.Context, pid, kind string) (*bellhop.Integration, error)
	}
	// Store keeps with whom an integration shares its sender's pace.
	Store interface {
		SetPacerGroup(ctx context.Context, pid, provider, group string, at time.Time) error
	}
	// Waker wakes a property's waiting sends after its sender is resumed, so they go now
	// rather than at their next look; nil wakes none.
	Waker interface {
		Resume(ctx context.Context, pid string) (int, error)
	}
	Clock  bellhop.Clock // default: system clock
	Logger *slog.Logger  // default: slog.Default()
}

// NewPacing validates cfg and returns a Pacing.
func NewPacing(cfg PacingConfig) (*Pacing, error) {
	if cfg.Pacer == nil || cfg.Integrations == nil || cfg.Store == nil {
		return nil, errors.New("queue: Pacing needs a Pacer, Integrations and a Store")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Pacing{cfg: cfg}, nil
}

// sender returns the integration's chosen sender and its pacer key. A sender paced under the
// key of earlier releases starts from that pace (once).
func (p *Pacing) sender(ctx context.Context, pid, kind string) (*bellhop.Integration, string, error) {
	in, err := p.cfg.Integrations.Integration(ctx, pid, kind)
	if err != nil {
		return nil, "", err
	}
	if in.Sender == nil {
		return nil, "", bellhop.Errorf(bellhop.ENotReady, "No sender is chosen yet, so nothing is paced.")
	}
	key := SenderKey(in)
	if err := p.cfg.Pacer.Inherit(ctx, LegacySenderKey(in), key); err != nil {
		return nil, "", err
	}
	return in, key, nil
}

// Pace is the pace of the sender property pid's integration of kind has chosen; not_ready
// when it has chosen none.
func (p *Pacing) Pace(ctx context.Context, pid, kind string) (*bellhop.Pace, error) {
	in, key, err := p.sender(ctx, pid, kind)
	if err != nil {
		return nil, err
	}
	return p.pace(ctx, in, key)
}

func (p *Pacing) pace(ctx context.Context, in *bellhop.Integration, key string) (*bellhop.Pace, error) {
	st, err := p.cfg.Pacer.State(ctx, key)
	if err != nil {
		return nil, err
	}
	set, err := p.cfg.Pacer.Settings(ctx, key)
	if err != nil {
		return nil, err
	}
	return &bellhop.Pace{
		Sender: in.Sender, NextFree: st.NextFree, Waiting: st.Waiting, LastSendAt: st.LastSendAt,
		Interval: st.Interval, SentToday: st.SentToday, DailyCap: st.DailyCap,
		Paused: st.Paused, PauseReason: st.PauseReason, Group: in.PacerGroup,
		Settings: bellhop.PaceSettings{Interval: set.Interval, Jitter: set.Jitter, DailyCap: set.DailyCap,
			Warmup: set.Warmup, TimeZone: set.TimeZone},
	}, nil
}

// ChangePace sets how the sender is paced, and whether its pace is shared with other
// properties (a pacer group); every worker uses them from its next send on. A group that
// changes moves the integration to the group's pace (or back to its own): the new one starts
// no earlier than the old one's last send allows, paused if the old one was, and with the old
// one's settings when it has none yet; settings in the same change apply to the new one.
// Refused settings change nothing, the group included.
func (p *Pacing) ChangePace(ctx context.Context, pid, kind string, ch bellhop.PaceChange, actor string) (*bellhop.Pace, error) {
	in, key, err := p.sender(ctx, pid, kind)
	if err != nil {
		return nil, err
	}
	target, targetKey := in, key
	if ch.Group != nil {
		group, err := PacerGroup("share_with_group", *ch.Group)
		if err != nil {
			return nil, err
		}
		if group != in.PacerGroup {
			moved := *in
			moved.PacerGroup = group
			target, targetKey = &moved, SenderKey(&moved)
		}
	}
	set, err := p.cfg.Pacer.Settings(ctx, targetKey)
	if err != nil {
		return nil, err
	}
	changed := ch.IntervalSeconds != nil || ch.Jitter != nil || ch.DailyCap != nil || ch.Warmup != nil || ch.TimeZone != nil
	if ch.IntervalSeconds != nil {
		// Checked in seconds before it becomes a Duration, which a huge number would overflow.
		if sec := *ch.IntervalSeconds; sec < 0.001 || sec > 7*24*3600 {
			return nil, bellhop.Invalid("interval_seconds", "must be from 0.001 (1 ms) to 604800 (7 days)")
		}
		set.Interval = time.Duration(*ch.IntervalSeconds * float64(time.Second))
	}
	if ch.Jitter != nil {
		set.Jitter = *ch.Jitter
	}
	if ch.DailyCap != nil {
		set.DailyCap = *ch.DailyCap
	}
	if ch.Warmup != nil {
		set.Warmup = *ch.Warmup
	}
	if ch.TimeZone != nil {
		set.TimeZone = *ch.TimeZone
	}
	if err := set.Validate(); changed && err != nil {
		return nil, err
	}
	if targetKey != key {
		if err := p.cfg.Store.SetPacerGroup(ctx, in.PropertyID, in.Provider, target.PacerGroup, p.cfg.Clock.Now()); err != nil {
			return nil, err
		}
		if err := p.cfg.Pacer.Carry(ctx, key, targetKey); err != nil {
			return nil, err
		}
		p.cfg.Logger.InfoContext(ctx, "sender pace group changed", "property", in.PropertyID, "group", target.PacerGroup,
			"from", key, "sender", targetKey, "actor", actor)
	}
	if changed {
		if err := p.cfg.Pacer.SetSettings(ctx, targetKey, set); err != nil {
			return nil, err
		}
		p.cfg.Logger.InfoContext(ctx, "sender pacing changed", "property", in.PropertyID, "sender", targetKey,
			"interval", set.Interval, "daily_cap", set.DailyCap, "actor", actor)
	}
	return p.pace(ctx, target, targetKey)
}

// Resume lets the paused sender send again and wakes the property's waiting sends.
func (p *Pacing) Resume(ctx context.Context, pid, kind, actor string) (*bellhop.Pace, error) {
	in, key, err := p.sender(ctx, pid, kind)
	if err != nil {
		return nil, err
	}
	if err := p.cfg.Pacer.Resume(ctx, key); err != nil {
		return nil, err
	}
	p.cfg.Logger.InfoContext(ctx, "sender resumed", "property", in.PropertyID, "sender", key, "actor", actor)
	if p.cfg.Waker != nil {
		if _, err := p.cfg.Waker.Resume(ctx, in.PropertyID); err != nil {
			p.cfg.Logger.WarnContext(ctx, "waking the sender's waiting sends failed; they come back on their own", "error", err)
		}
	}
	return p.pace(ctx, in, key)
}
