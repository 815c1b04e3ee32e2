package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/redis/go-redis/v9"
)

// Defaults of Config.
const (
	DefaultKeyPrefix   = "bellhop:pacer:"
	DefaultInterval    = 300 * time.Second
	DefaultJitter      = 0.2
	DefaultPausedRetry = 15 * time.Minute
	DefaultForgetAfter = 7 * 24 * time.Hour
	DefaultSendMargin  = 5 * time.Second
)

// Config holds the pacer's long-lived settings. Zero values mean the defaults.
type Config struct {
	// KeyPrefix starts every Redis key; DefaultKeyPrefix when empty.
	KeyPrefix string
	// Interval, Jitter, DailyCap, Warmup and TimeZone are the settings of a sender that has
	// none stored (see Settings). Jitter 0 means DefaultJitter; a negative Jitter means none.
	// Every worker must be given the same ones.
	Interval time.Duration
	Jitter   float64
	DailyCap int
	Warmup   []int
	TimeZone string
	// PausedRetry is how long a message of a paused sender is told to wait before asking again.
	PausedRetry time.Duration
	// ForgetAfter drops a waiting entry whose slot is this far past and that nobody came
	// back for (a task deleted without Cancel). A message that comes back later simply gets
	// a new slot.
	ForgetAfter time.Duration
	// SendMargin is the least random extra a gap between two reserved slots gets, up to
	// half of what the jitter allows: a slot computed from the previous slot would otherwise
	// be refused at Acquire whenever the jitter drawn is shorter than the previous send took
	// (the gap runs from its end). 0 means DefaultSendMargin; negative means none.
	SendMargin time.Duration
	// Rand draws the jitter; nil uses math/rand/v2's global source. Tests seed one.
	Rand *rand.Rand
	// IntervalFor, when set, gives a sender's default interval (a channel kind's pacing
	// profile: the key names the kind); 0 means Interval. Stored settings override it. Every
	// worker must be given the same one.
	IntervalFor func(sender string) time.Duration
	// Memory keeps each sender's settings, pause and last send end in a database, so that
	// they outlive Redis: a sender whose Redis keys are gone is rebuilt from it before any
	// slot is handed out or granted. Nil keeps them in Redis only (tests, the bench).
	Memory Memory
	// AutoPipeline sends Acquire's and Done's short scripts through the client's automatic
	// pipeline (go-redis AutoPipeline, experimental there). Meant for a single Redis: on a
	// Cluster or Sentinel failover a batch in flight is retried as a whole, and one failover
	// test saw a ban with it, so those keep a round trip per call until that is understood.
	AutoPipeline bool
	// GrantReplicas, when positive, has every grant (Acquire's "send now") confirmed by that
	// many replicas before Acquire answers it: WAIT, pipelined after the script on the same
	// connection to the master of the sender's keys. Redis replicates asynchronously, so a
	// master that failed right after granting could take the grant with it, and the replica
	// promoted in its place would grant the sender's next send early. For Redis Cluster and
	// Sentinel (a single Redis has no replica to wait for). A grant not confirmed within
	// GrantWait (default 100 ms: a replica down or far behind) still stands, as it did before
	// this setting; Unconfirmed counts them.
	GrantReplicas int
	GrantWait     time.Duration
}

// Pacer paces the senders whose state lives in one Redis. It is safe for concurrent use, and
// any number of Pacers (in any number of processes) may share the same Redis and prefix.
type Pacer struct {
	rdb redis.UniversalClient
	// fast runs Acquire's and Done's short scripts, the two calls every send makes: with
	// Config.AutoPipeline rdb's automatic pipeline, so that the calls of a process's concurrent
	// sends go to Redis together, several to a write and a read, instead of a round trip each.
	fast        redis.Scripter
	clock       bellhop.Clock
	prefix      string
	registry    string
	defaults    Settings
	defaultLoc  *time.Location
	pausedRetry time.Duration
	forget      time.Duration
	margin      time.Duration
	mem         Memory
	intervalFor func(sender string) time.Duration

	randMu sync.Mutex
	rand   *rand.Rand

	mu         sync.Mutex
	cache      map[string]*senderCache
	registered sync.Map // senders this process has added to the registry

	grantReplicas int
	grantWait     time.Duration
	unconfirmed   atomic.Int64
}

// New returns a pacer over rdb that reads the time from clock.
func New(rdb redis.UniversalClient, clock bellhop.Clock, cfg Config) (*Pacer, error) {
	if rdb == nil {
		return nil, errors.New("pacer: no Redis client")
	}
	if clock == nil {
		return nil, errors.New("pacer: no clock")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, bellhop.Invalid("key_prefix", "must not contain { or }: they would break the sender's hash tag")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	switch {
	case cfg.Jitter == 0:
		cfg.Jitter = DefaultJitter
	case cfg.Jitter < 0:
		cfg.Jitter = 0
	}
	if cfg.PausedRetry == 0 {
		cfg.PausedRetry = DefaultPausedRetry
	}
	if cfg.PausedRetry < 0 {
		return nil, bellhop.Invalid("paused_retry", "must not be negative")
	}
	if cfg.ForgetAfter == 0 {
		cfg.ForgetAfter = DefaultForgetAfter
	}
	if cfg.ForgetAfter < 0 {
		return nil, bellhop.Invalid("forget_after", "must not be negative")
	}
	switch {
	case cfg.SendMargin == 0:
		cfg.SendMargin = DefaultSendMargin
	case cfg.SendMargin < 0:
		cfg.SendMargin = 0
	}
	defaults := Settings{
		Interval: cfg.Interval, Jitter: cfg.Jitter, DailyCap: cfg.DailyCap,
		Warmup: cfg.Warmup, TimeZone: cfg.TimeZone,
	}
	if err := defaults.Validate(); err != nil {
		return nil, err
	}
	loc, _ := loadZone(defaults.TimeZone)
	if cfg.GrantReplicas < 0 {
		return nil, bellhop.Invalid("grant_replicas", "must not be negative")
	}
	if cfg.GrantWait <= 0 {
		cfg.GrantWait = 100 * time.Millisecond
	}
	var fast redis.Scripter = rdb
	if cfg.AutoPipeline {
		if ap, err := rdb.AutoPipeline(); err == nil { // a Ring has none: round trips it is
			fast = ap
		}
	}
	return &Pacer{
		rdb: rdb, fast: fast, clock: clock, prefix: cfg.KeyPrefix, registry: cfg.KeyPrefix + "senders",
		defaults: defaults, defaultLoc: loc, pausedRetry: cfg.PausedRetry, forget: cfg.ForgetAfter,
		margin: cfg.SendMargin, rand: cfg.Rand, cache: map[string]*senderCache{}, mem: cfg.Memory,
		intervalFor: cfg.IntervalFor, grantReplicas: cfg.GrantReplicas, grantWait: cfg.GrantWait,
	}, nil
}

// Unconfirmed is how many grants of this process no replica confirmed in time (see
// Config.GrantReplicas).
func (p *Pacer) Unconfirmed() int64 { return p.unconfirmed.Load() }

// master is the client of the master that holds key: itself for a plain or Sentinel client,
// the key's node on a cluster; nil for a client of another kind (a Ring).
func (p *Pacer) master(ctx context.Context, key string) (*redis.Client, error) {
	switch c := p.rdb.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	}
	return nil, nil
}

// runGrant runs Acquire's script: with GrantReplicas, on the master of the sender's keys with
// WAIT pipelined after it on the same connection, so that a grant it answers is on the
// replicas too.
func (p *Pacer) runGrant(ctx context.Context, sc redis.Scripter, script *redis.Script, keys []string, args ...any) ([]any, error) {
	var node *redis.Client
	if p.grantReplicas > 0 {
		var err error
		if node, err = p.master(ctx, keys[0]); err != nil {
			return nil, err
		}
	}
	if node == nil { // nothing to wait for, or a client with no master to ask (a Ring)
		return script.Run(ctx, sc, keys, args...).Slice()
	}
	for try := 0; ; try++ {
		pipe := node.Pipeline()
		res := script.EvalSha(ctx, pipe, keys, args...)
		wait := pipe.Do(ctx, "wait", p.grantReplicas, p.grantWait.Milliseconds())
		_, _ = pipe.Exec(ctx)
		if err := res.Err(); redis.HasErrorPrefix(err, "NOSCRIPT") && try == 0 {
			if err := script.Load(ctx, node).Err(); err != nil {
				return nil, err
			}
			continue
		}
		vals, err := res.Slice()
		if err != nil {
			return nil, err
		}
		if n, err := wait.Int(); len(vals) > 0 && vals[0] == "ok" && (err != nil || n < p.grantReplicas) {
			p.unconfirmed.Add(1)
		}
		return vals, nil
	}
}

// Interval is the sender's interval as this process last learned it: its stored settings'
// once a call for the sender has answered them, the defaults' before.
func (p *Pacer) Interval(sender string) time.Duration { return p.cached(sender).set.Interval }

// Defaults returns the settings of a sender that has none stored (before IntervalFor).
func (p *Pacer) Defaults() Settings { return p.defaults }

// DefaultsFor returns the settings of sender while it has none stored: Defaults with the
// interval IntervalFor gives it.
func (p *Pacer) DefaultsFor(sender string) Settings {
	s := p.defaults
	if p.intervalFor != nil {
		if iv := p.intervalFor(sender); iv >= time.Millisecond {
			s.Interval = iv
		}
	}
	return s
}

// Reservation is a message's place in its sender's queue.
type Reservation struct {
	Sender string
	MsgID  string
	// Slot is the earliest time the message may be sent.
	Slot time.Time
	// At is when to try: Slot, or later while the sender is paused.
	At time.Time
	// Created is false when the message already held this slot (a redelivered task).
	Created bool
	// Paused reports that the sender is paused.
	Paused bool
}

// State is what the pacer knows about one sender, for the API and the pages.
type State struct {
	Sender string
	// NextFree is the slot a message reserved now would get (before jitter).
	NextFree time.Time
	// Waiting counts messages holding a slot.
	Waiting int
	// LastSendAt is when the last send started; zero if none.
	LastSendAt time.Time
	// Sending is the message whose send is in flight, if any.
	Sending     string
	Paused      bool
	PauseReason string
	// SentToday counts sends since the start of today in the sender's time zone.
	SentToday int
	// DailyCap is today's cap, warm-up included; 0 means none.
	DailyCap int
	Interval time.Duration
	// WarmupDay is which day of its warm-up the sender is in today: 0 on the day of its first
	// reservation (or before any), 1 the next day, and so on.
	WarmupDay int
}

// Reserve gives the message its slot, or returns the one it already holds.
func (p *Pacer) Reserve(ctx context.Context, sender, msgID string) (Reservation, error) {
	rs, err := p.ReserveMany(ctx, sender, []string{msgID}, 0)
	if err != nil {
		return Reservation{}, err
	}
	return rs[0], nil
}

// maxBatch bounds the messages of one ReserveMany script; a longer list takes several.
const maxBatch = 500

// ReserveMany is Reserve for several messages of one sender, in the order given (the order
// they were due): one script per maxBatch messages, so a queue that takes many due messages
// at once gives each its place for a fraction of a round trip. A message listed twice keeps
// its first place. pickup is how late the first message's send may start when the sender
// is idle (its slot is now) without delaying the others: the time its task takes to be
// picked up (a queue that polls once a second takes up to that); the others' slots are no
// earlier than now plus pickup.
func (p *Pacer) ReserveMany(ctx context.Context, sender string, msgIDs []string, pickup time.Duration) ([]Reservation, error) {
	for _, id := range msgIDs {
		if err := checkMsg(sender, id); err != nil {
			return nil, err
		}
	}
	if err := p.register(ctx, sender); err != nil {
		return nil, err
	}
	out := make([]Reservation, 0, len(msgIDs))
	for len(msgIDs) > 0 {
		batch := msgIDs[:min(len(msgIDs), maxBatch)]
		msgIDs = msgIDs[len(batch):]
		// Each message draws its own jitter, once: a run again (stale settings, another
		// day) places it with the same.
		extra := make([]any, 0, 2*len(batch))
		for _, id := range batch {
			extra = append(extra, id, p.jitter(sender))
		}
		res, now, err := p.run(ctx, reserveScript, "reserve", sender, "", pickup.Microseconds(), false, extra...)
		if err != nil {
			return nil, err
		}
		if len(res) != 2+2*len(batch) {
			return nil, fmt.Errorf("pacer: reserve %s: %d answers for %d messages", sender, (len(res)-2)/2, len(batch))
		}
		paused := toInt(res[1]) == 1
		for i, id := range batch {
			r := Reservation{
				Sender: sender, MsgID: id, Slot: micro(res[2+2*i]),
				Created: toInt(res[3+2*i]) == 1, Paused: paused,
			}
			r.At = r.Slot
			if r.Paused {
				if later := now.Add(p.pausedRetry); later.After(r.At) {
					r.At = later
				}
			}
			p.hint(sender, r.Slot)
			out = append(out, r)
		}
	}
	return out, nil
}

// Acquire is called right before the provider call, at or after the message's slot. ok
// means send now: a lease blocks the sender until now + maxSend, or until Done. Otherwise
// retryAt is when to call again: the slot when called early, a later check while the sender
// is paused, else a new slot the message now holds (the previous send was too recent, the
// provider asked to back off, or the day is full).
//
// The provider call must not outlast maxSend (give it that deadline): a send that does can
// overlap a send another worker started after the lease ran out.
func (p *Pacer) Acquire(ctx context.Context, sender, msgID string, maxSend time.Duration) (ok bool, retryAt time.Time, err error) {
	if err := checkMsg(sender, msgID); err != nil {
		return false, time.Time{}, err
	}
	if maxSend <= 0 {
		return false, time.Time{}, bellhop.Invalid("max_send", "must be positive")
	}
	if c := p.cached(sender); c.set.DailyCap == 0 && len(c.set.Warmup) == 0 {
		now := p.clock.Now()
		lo, hi := p.jitterBounds(c.set)
		k := p.keys(sender)
		res, err := p.runGrant(ctx, p.fast, acquireFastScript, []string{k.state, k.waiting, k.settings},
			c.ver, now.UnixMicro(), c.set.Interval.Microseconds(), p.draw(lo, hi), maxSend.Microseconds(),
			msgID, dayOf(now, c.loc).no, p.forget.Microseconds(), p.memFlag())
		if err != nil {
			return false, time.Time{}, fmt.Errorf("pacer: acquire %s: %w", sender, err)
		}
		switch {
		case len(res) == 2 && res[0] == "ok":
			return true, time.Time{}, nil
		case len(res) == 2 && res[0] == "early":
			return false, micro(res[1]), nil
		}
	}
	res, _, err := p.run(ctx, acquireScript, "acquire", sender, msgID, maxSend.Microseconds(), true)
	if err != nil {
		return false, time.Time{}, err
	}
	at := micro(res[1])
	switch res[0] {
	case "ok":
		return true, time.Time{}, nil
	case "retry":
		p.hint(sender, at)
	}
	return false, at, nil
}

// Done records that the message's send ended at finishedAt (succeeded or not: the provider
// was called). The sender's next send starts no earlier than finishedAt plus the interval.
func (p *Pacer) Done(ctx context.Context, sender, msgID string, finishedAt time.Time) error {
	_, err := p.Finish(ctx, sender, msgID, finishedAt)
	return err
}

// Moved is a waiting message whose slot Finish moved up.
type Moved struct {
	MsgID string
	Slot  time.Time
}

// Finish is Done, and also reports the waiting messages whose slots it moved up: slots are
// planned for the sender's typical send length, and when a send is much shorter than the
// typical one (a provider's latency spike is over) the slots planned for long sends are
// moved up, in order, keeping each gap's jitter. A queue wakes the moved messages' tasks,
// which it had scheduled for their old slots.
func (p *Pacer) Finish(ctx context.Context, sender, msgID string, finishedAt time.Time) ([]Moved, error) {
	if err := checkMsg(sender, msgID); err != nil {
		return nil, err
	}
	now := p.clock.Now()
	res, err := doneFastScript.Run(ctx, p.fast, []string{p.keys(sender).state}, msgID, finishedAt.UnixMicro(),
		p.cached(sender).set.Interval.Microseconds()).Slice()
	if err != nil {
		return nil, fmt.Errorf("pacer: done %s: %w", sender, err)
	}
	if len(res) == 0 || res[0] != "ok" {
		if res, now, err = p.run(ctx, doneScript, "done", sender, msgID, finishedAt.UnixMicro(), false); err != nil {
			return nil, err
		}
	}
	var moved []Moved
	for i := 3; i+1 < len(res); i += 2 {
		moved = append(moved, Moved{MsgID: toString(res[i]), Slot: micro(res[i+1])})
	}
	if len(res) > 2 && toInt(res[1]) == 1 {
		if err := p.keepSendEnd(ctx, sender, micro(res[2]), now); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// Cancel drops a waiting message that will not be sent. The slots after it stay where they
// are: gaps only grow.
func (p *Pacer) Cancel(ctx context.Context, sender, msgID string) error {
	if err := checkMsg(sender, msgID); err != nil {
		return err
	}
	_, _, err := p.run(ctx, cancelScript, "cancel", sender, msgID, 0, false)
	return err
}

// Backoff honours a provider's 429 / Retry-After: the sender's last send is taken to end at
// until, so its next send starts no earlier than until plus the interval. Messages already
// holding earlier slots are refused by Acquire and given new slots behind the hold (in their
// order), so none ends up closer than the interval. The message that got the 429 calls Done,
// then Reserve for its new slot.
func (p *Pacer) Backoff(ctx context.Context, sender string, until time.Time) error {
	if err := checkSender(sender); err != nil {
		return err
	}
	_, now, err := p.run(ctx, backoffScript, "backoff", sender, "", until.UnixMicro(), false)
	if err != nil {
		return err
	}
	return p.keepSendEnd(ctx, sender, until, now)
}

// Pause stops the sender (banned or blocked by the provider) until Resume: its messages keep
// their places and Acquire tells them to come back later. reason is shown in State.
func (p *Pacer) Pause(ctx context.Context, sender, reason string) error {
	if err := checkSender(sender); err != nil {
		return err
	}
	if reason == "" {
		reason = "paused"
	}
	if err := p.keepPause(ctx, sender, true, reason); err != nil {
		return err
	}
	k := p.keys(sender)
	pipe := p.rdb.TxPipeline()
	pipe.HSet(ctx, k.state, "paused", 1, "reason", reason)
	pipe.HIncrBy(ctx, k.state, "w", 1) // a rebuild that read the database before this retries
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("pacer: pause %s: %w", sender, err)
	}
	return p.register(ctx, sender)
}

// Resume lets a paused sender send again. Messages whose slots passed while it was paused
// are spaced again by Acquire as they come back: the first goes, the others get new slots.
func (p *Pacer) Resume(ctx context.Context, sender string) error {
	if err := checkSender(sender); err != nil {
		return err
	}
	if err := p.keepPause(ctx, sender, false, ""); err != nil {
		return err
	}
	k := p.keys(sender)
	pipe := p.rdb.TxPipeline()
	pipe.HDel(ctx, k.state, "paused", "reason")
	pipe.HIncrBy(ctx, k.state, "w", 1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("pacer: resume %s: %w", sender, err)
	}
	return nil
}

// State returns what the pacer knows about the sender.
func (p *Pacer) State(ctx context.Context, sender string) (State, error) {
	if err := checkSender(sender); err != nil {
		return State{}, err
	}
	res, _, err := p.run(ctx, stateScript, "read state of", sender, "", 0, false)
	if err != nil {
		return State{}, err
	}
	c := p.cached(sender)
	st := State{
		Sender: sender, NextFree: micro(res[1]), Waiting: toInt(res[2]),
		Paused: toInt(res[4]) == 1, PauseReason: toString(res[5]), SentToday: toInt(res[6]),
		DailyCap: toInt(res[7]), Sending: toString(res[8]), Interval: c.set.Interval,
	}
	if len(res) > 9 {
		st.WarmupDay = max(toInt(res[9]), 0)
	}
	if us := toInt(res[3]); us != 0 {
		st.LastSendAt = time.UnixMicro(int64(us))
	}
	return st, nil
}

// Senders lists the senders the pacer has seen whose names start with prefix ("" for all),
// sorted.
func (p *Pacer) Senders(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	iter := p.rdb.SScan(ctx, p.registry, 0, globEscape(prefix)+"*", 200).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("pacer: list senders: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// register adds the sender to the registry Senders reads, once per process: the registry is
// its own key outside the sender's hash tag, so the scripts cannot touch it.
func (p *Pacer) register(ctx context.Context, sender string) error {
	if _, ok := p.registered.Load(sender); ok {
		return nil
	}
	if err := p.rdb.SAdd(ctx, p.registry, sender).Err(); err != nil {
		return fmt.Errorf("pacer: register %s: %w", sender, err)
	}
	p.registered.Store(sender, true)
	return nil
}

// maxTries bounds one call's round trips: one to rebuild a lost sender, one to learn new
// settings, a few to learn which day a far slot falls in.
const maxTries = 8

// run executes script for the sender with the common arguments, answering the script's
// requests for fresh settings or for the day of a slot. It returns the script's answer and
// the time it was computed for.
// extra follows the common arguments (Reserve's messages).
func (p *Pacer) run(ctx context.Context, script *redis.Script, op, sender, msgID string, x int64, jitter bool, extra ...any) ([]any, time.Time, error) {
	var guess time.Time
	for range maxTries {
		c := p.cached(sender)
		now := p.clock.Now()
		today := dayOf(now, c.loc)
		if guess.IsZero() {
			guess = now
			if c.hint.After(guess) {
				guess = c.hint
			}
		}
		d1 := dayOf(guess, c.loc)
		d2 := dayOf(d1.end, c.loc)
		iv := c.set.Interval.Microseconds()
		var j int64
		jlo, jhi := p.jitterBounds(c.set)
		if jitter {
			j = p.draw(jlo, jhi)
		}
		mem := p.memFlag()
		k := p.keys(sender)
		args := []any{
			c.ver, now.UnixMicro(), iv, j, c.set.DailyCap, c.set.warmupCSV(),
			today.no, today.start.UnixMicro(), today.end.UnixMicro(),
			d1.no, d1.start.UnixMicro(), d1.end.UnixMicro(),
			d2.no, d2.start.UnixMicro(), d2.end.UnixMicro(),
			p.forget.Microseconds(), msgID, x, p.pausedRetry.Microseconds(),
			jhi, jlo, mem,
		}
		args = append(args, extra...)
		var res []any
		var err error
		if script == acquireScript {
			res, err = p.runGrant(ctx, p.rdb, script, []string{k.state, k.waiting, k.settings}, args...)
		} else {
			res, err = script.Run(ctx, p.rdb, []string{k.state, k.waiting, k.settings}, args...).Slice()
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("pacer: %s %s: %w", op, sender, err)
		}
		if len(res) == 0 {
			return nil, time.Time{}, fmt.Errorf("pacer: %s %s: empty answer", op, sender)
		}
		switch res[0] {
		case "stale":
			if _, err := p.refresh(sender, toString(res[1]), toString(res[2])); err != nil {
				return nil, time.Time{}, err
			}
			guess = time.Time{}
			continue
		case "day":
			guess = micro(res[1])
			continue
		case "rebuild":
			if err := p.rebuild(ctx, sender); err != nil {
				return nil, time.Time{}, err
			}
			continue
		}
		return res, now, nil
	}
	return nil, time.Time{}, fmt.Errorf("pacer: %s %s: no stable answer after %d tries", op, sender, maxTries)
}

// memFlag tells the scripts whether a database keeps the senders ("1") or not ("0").
func (p *Pacer) memFlag() string {
	if p.mem != nil {
		return "1"
	}
	return "0"
}

// jitterBounds are the least and the largest random extra (µs) a gap of a sender with
// settings s may get.
func (p *Pacer) jitterBounds(s Settings) (lo, hi int64) {
	if s.Jitter <= 0 {
		return 0, 0
	}
	h := s.Jitter * float64(s.Interval.Microseconds())
	l := min(float64(p.margin.Microseconds()), h/2)
	return int64(l), int64(h)
}

// jitter draws a gap's random extra for the sender with the settings this process knows.
func (p *Pacer) jitter(sender string) int64 {
	return p.draw(p.jitterBounds(p.cached(sender).set))
}

func (p *Pacer) draw(lo, hi int64) int64 {
	if hi <= 0 {
		return 0
	}
	return lo + int64(p.float64()*float64(hi-lo))
}

func (p *Pacer) float64() float64 {
	if p.rand == nil {
		return rand.Float64()
	}
	p.randMu.Lock()
	defer p.randMu.Unlock()
	return p.rand.Float64()
}

// keys are one sender's keys. They share the hash tag {sender}, so a script that touches
// them all runs on Redis Cluster.
type keys struct {
	state, waiting, settings string
}

func (p *Pacer) keys(sender string) keys {
	base := p.prefix + "{" + sender + "}:"
	return keys{state: base + "state", waiting: base + "waiting", settings: base + "settings"}
}

// day is one calendar day in a time zone: its number (days since 1970-01-01 as a date,
// whatever the zone and its DST) and its bounds, which are 23 or 25 hours apart on DST days.
type day struct {
	no         int64
	start, end time.Time
}

func dayOf(t time.Time, loc *time.Location) day {
	y, m, d := t.In(loc).Date()
	return day{
		no:    time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400,
		start: time.Date(y, m, d, 0, 0, 0, 0, loc),
		end:   time.Date(y, m, d+1, 0, 0, 0, 0, loc),
	}
}

func checkSender(sender string) error {
	switch {
	case sender == "":
		return bellhop.Invalid("sender", "is required")
	case len(sender) > 256:
		return bellhop.Invalid("sender", "must be at most 256 bytes")
	case strings.ContainsAny(sender, "{}"):
		return bellhop.Invalid("sender", "must not contain { or }")
	}
	return nil
}

func checkMsg(sender, msgID string) error {
	if err := checkSender(sender); err != nil {
		return err
	}
	if msgID == "" {
		return bellhop.Invalid("message_id", "is required")
	}
	return nil
}

func micro(v any) time.Time {
	n, _ := v.(int64)
	return time.UnixMicro(n)
}

func toInt(v any) int {
	n, _ := v.(int64)
	return int(n)
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

// globEscape quotes the characters SSCAN's MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
