package pacer

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// fakeMemory is a database in a map.
type fakeMemory struct {
	mu   sync.Mutex
	rows map[string]bellhop.SenderPace
	fail error // every call fails with it when set
}

func newFakeMemory() *fakeMemory { return &fakeMemory{rows: map[string]bellhop.SenderPace{}} }

func (m *fakeMemory) GetSenderPace(_ context.Context, sender string) (*bellhop.SenderPace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	sp, ok := m.rows[sender]
	if !ok {
		return nil, bellhop.Errorf(bellhop.ENotFound, "no pacer sender %q", sender)
	}
	return &sp, nil
}

func (m *fakeMemory) update(sender string, at time.Time, fn func(*bellhop.SenderPace)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	sp := m.rows[sender]
	sp.Sender, sp.UpdatedAt = sender, at
	fn(&sp)
	m.rows[sender] = sp
	return nil
}

func (m *fakeMemory) SetSenderSettings(_ context.Context, sender, settings string, at time.Time) error {
	return m.update(sender, at, func(sp *bellhop.SenderPace) { sp.Settings = settings })
}

func (m *fakeMemory) SetSenderPause(_ context.Context, sender string, paused bool, reason string, at time.Time) error {
	return m.update(sender, at, func(sp *bellhop.SenderPace) { sp.Paused, sp.PauseReason = paused, reason })
}

func (m *fakeMemory) NoteSendEnd(_ context.Context, sender string, end, at time.Time) error {
	return m.update(sender, at, func(sp *bellhop.SenderPace) {
		if end.After(sp.LastSendEnd) {
			sp.LastSendEnd = end
		}
	})
}

func (f *fixture) flush(t *testing.T) {
	t.Helper()
	if err := f.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// Redis restarts empty in the middle of a run. The sender's settings, its last send and its
// waiting messages' order come back from the database: nothing is granted before the last
// send's end plus the interval, and a worker that cached the old settings learns the kept ones.
func TestFlushedRedisIsRebuiltFromTheMemory(t *testing.T) {
	mem := newFakeMemory()
	cfg := Config{Memory: mem} // 300 s by default
	f := setup(t, cfg)
	ctx := context.Background()
	other := f.worker(t, cfg, 2)
	want := Settings{Interval: 120 * time.Second, Jitter: 0.1, DailyCap: 50, TimeZone: "Europe/Moscow"}
	iv := want.Interval
	f.setSettings(t, sender, want)
	for _, m := range []string{"a", "b", "c"} {
		f.reserve(t, sender, m)
	}
	if _, err := other.Reserve(ctx, sender, "c"); err != nil { // caches the settings' version
		t.Fatal(err)
	}
	if ok, _ := f.acquire(t, sender, "a", 30*time.Second); !ok {
		t.Fatal("a refused at its slot")
	}
	end := t0.Add(3 * time.Second)
	f.clock.Set(end)
	f.done(t, sender, "a", end)
	if sp := mem.rows[sender]; !sp.LastSendEnd.Equal(end) || sp.Settings == "" {
		t.Fatalf("the database keeps %+v; want a's end and the settings", sp)
	}

	f.clock.Advance(10 * time.Second)
	f.flush(t)
	// b and c come back (the sweep queued them again) and ask at once, c first.
	ok, cAt, err := other.Acquire(ctx, sender, "c", 30*time.Second)
	if err != nil || ok {
		t.Fatalf("c right after the flush = %v, %v, %v; want refused", ok, cAt, err)
	}
	if cAt.Before(end.Add(iv)) {
		t.Fatalf("c's new slot %v is closer than the interval to a's end %v", cAt, end)
	}
	if cAt.Sub(end) >= 300*time.Second {
		t.Errorf("c's new slot is %v after a's end: the kept interval of %v was forgotten", cAt.Sub(end), iv)
	}
	ok, bAt := f.acquire(t, sender, "b", 30*time.Second)
	if ok || bAt.Sub(cAt) < iv {
		t.Fatalf("b = %v, %v; want refused, an interval after c's slot %v", ok, bAt, cAt)
	}
	for _, p := range []*Pacer{f.p, other} {
		if got, err := p.Settings(ctx, sender); err != nil || got.Interval != iv || got.DailyCap != 50 || got.TimeZone != "Europe/Moscow" {
			t.Errorf("settings after the flush = %+v, %v; want %+v", got, err, want)
		}
	}
	// The interval holds at the new slots too: nothing goes early, c goes at its slot.
	f.clock.Set(cAt.Add(-time.Microsecond))
	if ok, _ := f.acquire(t, sender, "c", 30*time.Second); ok {
		t.Fatal("c granted before its slot")
	}
	f.clock.Set(cAt)
	if ok, _ := f.acquire(t, sender, "c", 30*time.Second); !ok {
		t.Fatal("c refused at its new slot")
	}
	if st := f.state(t, sender); st.Interval != iv || st.Waiting != 1 || st.Sending != "c" {
		t.Errorf("state after the flush = %+v", st)
	}
}

// A settings read after the flush (the API's PATCH starts from it) sees the kept settings, not
// the defaults: a change of one field must not reset the others.
func TestSettingsReadAfterAFlushAreTheKeptOnes(t *testing.T) {
	mem := newFakeMemory()
	f := setup(t, Config{Memory: mem})
	f.setSettings(t, sender, Settings{Interval: 120 * time.Second, DailyCap: 7})
	f.flush(t)
	got, err := f.p.Settings(context.Background(), sender)
	if err != nil || got.Interval != 120*time.Second || got.DailyCap != 7 {
		t.Fatalf("settings after a flush = %+v, %v", got, err)
	}
}

// A sender the database says is paused stays paused whatever Redis forgot; a resume is kept
// as well. The database here is the real store, as the service wires it.
func TestPausedInTheDatabaseStaysPausedAfterAFlush(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bellhop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSenderPause(ctx, sender, true, "blocked by the provider", t0); err != nil {
		t.Fatal(err)
	}
	f := setup(t, Config{Memory: db, Jitter: -1})

	r := f.reserve(t, sender, "a")
	if !r.Paused {
		t.Fatalf("reservation = %+v; the database says the sender is paused", r)
	}
	for range 2 {
		if ok, at := f.acquire(t, sender, "a", time.Second); ok || !at.Equal(f.clock.Now().Add(DefaultPausedRetry)) {
			t.Fatalf("acquire of a paused sender = %v, %v", ok, at)
		}
		if st := f.state(t, sender); !st.Paused || st.PauseReason != "blocked by the provider" {
			t.Fatalf("state = %+v; want paused with the database's reason", st)
		}
		f.flush(t)
	}

	if err := f.p.Resume(ctx, sender); err != nil {
		t.Fatal(err)
	}
	f.flush(t)
	if ok, _ := f.acquire(t, sender, "a", time.Second); !ok {
		t.Fatal("a refused after the resume and a flush")
	}
	f.done(t, sender, "a", f.clock.Now())
	if err := f.p.Pause(ctx, sender, "banned"); err != nil {
		t.Fatal(err)
	}
	f.flush(t)
	if st := f.state(t, sender); !st.Paused || st.PauseReason != "banned" {
		t.Fatalf("state after a pause and a flush = %+v", st)
	}
	sp, err := db.GetSenderPace(ctx, sender)
	if err != nil || !sp.Paused || sp.LastSendEnd.IsZero() {
		t.Fatalf("the database keeps %+v, %v; want paused, with a's end", sp, err)
	}
}

// A pause that lands while another process rebuilds the sender is not undone by the rebuild.
func TestPauseDuringARebuildIsKept(t *testing.T) {
	mem := newFakeMemory()
	f := setup(t, Config{Memory: mem})
	ctx := context.Background()
	f.reserve(t, sender, "a")
	f.flush(t)
	// The rebuild read the database (not paused); the pause comes in before its script runs.
	k := f.p.keys(sender)
	w, _ := f.rdb.HGet(ctx, k.state, "w").Result()
	if err := f.p.Pause(ctx, sender, "blocked"); err != nil {
		t.Fatal(err)
	}
	res, err := rebuildScript.Run(ctx, f.rdb, []string{k.state, k.settings}, w, "", "1", "", "", "").Slice()
	if err != nil || res[0] != "again" {
		t.Fatalf("a rebuild from a read older than a pause = %v, %v; want again", res, err)
	}
	if st := f.state(t, sender); !st.Paused || st.PauseReason != "blocked" {
		t.Fatalf("state = %+v; want the pause kept", st)
	}
}

// Without the database nothing is granted to a sender whose keys are gone: sends wait.
func TestLostSenderWaitsForTheDatabase(t *testing.T) {
	mem := newFakeMemory()
	f := setup(t, Config{Memory: mem})
	f.reserve(t, sender, "a")
	f.flush(t)
	mem.fail = errors.New("database down")
	if ok, _, err := f.p.Acquire(context.Background(), sender, "a", time.Second); ok || err == nil {
		t.Fatalf("acquire with the database down = %v, %v; want an error", ok, err)
	}
	mem.fail = nil
	if ok, _ := f.acquire(t, sender, "a", time.Second); !ok {
		t.Fatal("a refused once the database is back")
	}
}

// A sender whose key changed (the key's format, on an upgrade) starts where the old key left
// off: its settings, its pause and the interval after its last send. Once the database keeps
// the new key, the old one is no longer read: a resume of the new key stays.
func TestInheritCarriesTheOldKeysPaceOnce(t *testing.T) {
	mem := newFakeMemory()
	f := setup(t, Config{Memory: mem, Jitter: -1})
	ctx := context.Background()
	const old, key = "intellectdialog:org1:1", "intellectdialog:api.example.com:org1:1:p1"
	legacy := newPacer(t, f.rdb, f.clock, Config{Jitter: -1}, 3) // a release without the database
	if err := legacy.SetSettings(ctx, old, Settings{Interval: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.Reserve(ctx, old, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := legacy.Acquire(ctx, old, "a", time.Second); err != nil || !ok {
		t.Fatalf("legacy acquire = %v, %v", ok, err)
	}
	end := t0.Add(time.Second)
	if err := legacy.Done(ctx, old, "a", end); err != nil {
		t.Fatal(err)
	}
	if err := legacy.Pause(ctx, old, "blocked"); err != nil {
		t.Fatal(err)
	}

	f.clock.Set(t0.Add(time.Minute))
	if err := f.p.Inherit(ctx, old, key); err != nil {
		t.Fatal(err)
	}
	if s, err := f.p.Settings(ctx, key); err != nil || s.Interval != 10*time.Minute {
		t.Fatalf("inherited settings = %+v, %v", s, err)
	}
	if st := f.state(t, key); !st.Paused || st.PauseReason != "blocked" {
		t.Fatalf("inherited state = %+v; want paused", st)
	}
	if err := f.p.Resume(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, at := f.acquire(t, key, "b", time.Second); ok || at.Before(end.Add(10*time.Minute)) {
		t.Fatalf("b after inheriting = %v, %v; want refused until the old key's end plus its interval", ok, at)
	}
	if err := f.p.Inherit(ctx, old, key); err != nil { // a process that starts later
		t.Fatal(err)
	}
	if st := f.state(t, key); st.Paused {
		t.Fatalf("a second Inherit paused the resumed key again: %+v", st)
	}
}

// Joining a pacer group carries the property's own pace to the group's sender.
func TestCarryPassesThePaceOn(t *testing.T) {
	f := setup(t, Config{Memory: newFakeMemory(), Jitter: -1})
	ctx := context.Background()
	const own, group = "k:h:o:1:p1", "k:h:o:1:group=g"
	f.setSettings(t, group, Settings{Interval: time.Minute})
	f.reserve(t, own, "a")
	f.acquire(t, own, "a", time.Second)
	end := t0.Add(2 * time.Second)
	f.done(t, own, "a", end)
	if err := f.p.Carry(ctx, own, group); err != nil {
		t.Fatal(err)
	}
	ok, at := f.acquire(t, group, "b", time.Second)
	if ok || at.Before(end.Add(time.Minute)) {
		t.Fatalf("b on the group = %v, %v; want refused until a's end plus the group's interval", ok, at)
	}
	if s, _ := f.p.Settings(ctx, group); s.Interval != time.Minute {
		t.Errorf("the group's settings changed: %+v", s)
	}
}
