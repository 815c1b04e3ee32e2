package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
)

// Memory is where a sender's pacing outlives Redis (the database; store.DB is one): its
// settings, its pause and the end of its last send, keyed by the pacer's sender name. The
// pacer writes them through as they change and reads them back when a sender's Redis keys
// are gone.
type Memory interface {
	// GetSenderPace returns what is kept of the sender; a bellhop.ENotFound error when nothing is.
	GetSenderPace(ctx context.Context, sender string) (*bellhop.SenderPace, error)
	// SetSenderSettings keeps the sender's settings as the pacer encodes them.
	SetSenderSettings(ctx context.Context, sender, settings string, at time.Time) error
	// SetSenderPause keeps whether the sender is paused, and why.
	SetSenderPause(ctx context.Context, sender string, paused bool, reason string, at time.Time) error
	// NoteSendEnd records the end of a send (or of a provider's Retry-After); the kept end
	// must only ever move later.
	NoteSendEnd(ctx context.Context, sender string, end, at time.Time) error
}

// rebuild puts back a sender's lost Redis keys from the memory: its settings, its pause, and
// its last send end, which becomes no earlier than now when one is known: a send that was in
// flight when Redis lost the keys, or whose end's write did not reach the database, then
// still has the interval after it. Waiting messages lost their slots with the keys; each gets
// a new one, in the order they come back, when it next asks. A sender the memory does not
// know starts afresh.
func (p *Pacer) rebuild(ctx context.Context, sender string) error {
	k := p.keys(sender)
	for range maxTries {
		// Read the count of pauses, resumes and settings changes before the database: if one
		// comes in between, the script refuses and the database is read again.
		w, err := p.rdb.HGet(ctx, k.state, "w").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("pacer: rebuild %s: %w", sender, err)
		}
		sp, err := p.mem.GetSenderPace(ctx, sender)
		switch {
		case bellhop.IsNotFound(err):
			sp = &bellhop.SenderPace{Sender: sender}
		case err != nil:
			return fmt.Errorf("pacer: rebuild %s from the database: %w", sender, err)
		}
		if sp.Settings != "" {
			if _, err := unmarshalSettings([]byte(sp.Settings)); err != nil {
				return fmt.Errorf("pacer: rebuild %s: the database's settings: %w", sender, err)
			}
		}
		now := p.clock.Now()
		end := ""
		if !sp.LastSendEnd.IsZero() {
			end = strconv.FormatInt(max(sp.LastSendEnd.UnixMicro(), now.UnixMicro()), 10)
		}
		paused := ""
		if sp.Paused {
			paused = "1"
		}
		// A settings version no process can hold from before the loss: a process that cached
		// other settings under a reused version would keep using them.
		ver := strconv.FormatInt(now.UnixMicro()*1000+rand.Int64N(1000), 10)
		res, err := rebuildScript.Run(ctx, p.rdb, []string{k.state, k.settings},
			w, sp.Settings, ver, paused, sp.PauseReason, end).Slice()
		if err != nil {
			return fmt.Errorf("pacer: rebuild %s: %w", sender, err)
		}
		if len(res) > 0 && res[0] == "ok" {
			// The registry may have been lost with the keys.
			p.registered.Delete(sender)
			return p.register(ctx, sender)
		}
	}
	return fmt.Errorf("pacer: rebuild %s: changed under every try", sender)
}

// keepSendEnd writes a send's end through to the memory.
func (p *Pacer) keepSendEnd(ctx context.Context, sender string, end, now time.Time) error {
	if p.mem == nil {
		return nil
	}
	if err := p.mem.NoteSendEnd(ctx, sender, end, now); err != nil {
		return fmt.Errorf("pacer: keep the send end of %s: %w", sender, err)
	}
	return nil
}

// keepPause writes a pause or resume through to the memory, before Redis: a rebuild then
// never finds Redis ahead of the database.
func (p *Pacer) keepPause(ctx context.Context, sender string, paused bool, reason string) error {
	if p.mem == nil {
		return nil
	}
	if err := p.mem.SetSenderPause(ctx, sender, paused, reason, p.clock.Now()); err != nil {
		return fmt.Errorf("pacer: keep the pause of %s: %w", sender, err)
	}
	return nil
}

// keepSettings writes settings through to the memory, before Redis.
func (p *Pacer) keepSettings(ctx context.Context, sender string, b []byte) error {
	if p.mem == nil {
		return nil
	}
	if err := p.mem.SetSenderSettings(ctx, sender, string(b), p.clock.Now()); err != nil {
		return fmt.Errorf("pacer: keep the settings of %s: %w", sender, err)
	}
	return nil
}

// Carry passes a sender's pace on to the sender that takes its place (its key changed: a
// pacer group was joined or left): to's next send waits for from's last send end plus the
// interval, a pause of from pauses to, and to gets from's settings when it has none of its
// own.
func (p *Pacer) Carry(ctx context.Context, from, to string) error {
	return p.carry(ctx, from, to)
}

// Inherit is Carry for a sender the database knows nothing of yet: a key whose format
// changed starts where the old key left off instead of afresh. Once the database keeps
// anything of to, Inherit does nothing; without a Memory it never does anything.
func (p *Pacer) Inherit(ctx context.Context, from, to string) error {
	if p.mem == nil {
		return nil
	}
	if _, err := p.mem.GetSenderPace(ctx, to); !bellhop.IsNotFound(err) {
		return err // kept already (nil), or the database cannot say
	}
	return p.carry(ctx, from, to)
}

func (p *Pacer) carry(ctx context.Context, from, to string) error {
	if err := checkSender(from); err != nil {
		return err
	}
	if err := checkSender(to); err != nil {
		return err
	}
	k := p.keys(from)
	pipe := p.rdb.Pipeline()
	state := pipe.HMGet(ctx, k.state, "send_end", "paused", "reason")
	set := pipe.HGet(ctx, k.settings, "json")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("pacer: read %s to carry it to %s: %w", from, to, err)
	}
	v := state.Val()
	end, _ := strconv.ParseInt(toString(v[0]), 10, 64)
	paused, reason := toString(v[1]) == "1", toString(v[2])
	raw := set.Val()
	if p.mem != nil {
		// Redis may have lost from's keys: the database still knows.
		sp, err := p.mem.GetSenderPace(ctx, from)
		switch {
		case err == nil:
			end = max(end, sp.LastSendEnd.UnixMicro())
			if sp.Paused && !paused {
				paused, reason = true, sp.PauseReason
			}
			if raw == "" {
				raw = sp.Settings
			}
		case !bellhop.IsNotFound(err):
			return fmt.Errorf("pacer: read %s to carry it to %s: %w", from, to, err)
		}
	}
	if raw != "" {
		own, err := p.hasSettings(ctx, to)
		if err != nil {
			return err
		}
		if !own {
			s, err := unmarshalSettings([]byte(raw))
			if err != nil {
				return fmt.Errorf("pacer: settings of %s: %w", from, err)
			}
			if err := p.SetSettings(ctx, to, s); err != nil {
				return err
			}
		}
	}
	if paused {
		if err := p.Pause(ctx, to, reason); err != nil {
			return err
		}
	}
	if end > 0 {
		// The same number sent then: to waits as after a provider's Retry-After.
		return p.Backoff(ctx, to, time.UnixMicro(end))
	}
	return nil
}

// hasSettings reports whether the sender has settings of its own (in Redis or the database).
func (p *Pacer) hasSettings(ctx context.Context, sender string) (bool, error) {
	raw, err := p.rdb.HGet(ctx, p.keys(sender).settings, "json").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("pacer: read settings of %s: %w", sender, err)
	}
	if raw != "" || p.mem == nil {
		return raw != "", nil
	}
	sp, err := p.mem.GetSenderPace(ctx, sender)
	switch {
	case bellhop.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pacer: read settings of %s from the database: %w", sender, err)
	}
	return sp.Settings != "", nil
}
