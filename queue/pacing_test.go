package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// pacingStore is the ledger of the fixture as Pacing sees it: its integration, and the group
// it shares its sender's pace with.
type pacingStore struct {
	*memStore
	groupSets int
}

func (s *pacingStore) Integration(ctx context.Context, pid, kind string) (*bellhop.Integration, error) {
	return s.GetIntegration(ctx, pid, kind)
}

func (s *pacingStore) SetPacerGroup(_ context.Context, pid, kind, group string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pid != s.integration.PropertyID || kind != s.integration.Provider {
		return notFound("integration " + kind)
	}
	s.integration.PacerGroup = group
	s.groupSets++
	return nil
}

// waker counts the properties whose waiting sends were woken.
type waker struct{ woken []string }

func (w *waker) Resume(_ context.Context, pid string) (int, error) {
	w.woken = append(w.woken, pid)
	return 1, nil
}

func newPacing(t *testing.T) (*Pacing, *fixture, *pacingStore, *waker) {
	t.Helper()
	f := newFixture(t, testPacer)
	ps, wk := &pacingStore{memStore: f.store}, &waker{}
	p, err := NewPacing(PacingConfig{Pacer: f.w.cfg.Pacer, Integrations: ps, Store: ps, Waker: wk, Clock: f.clock, Logger: f.w.cfg.Logger})
	if err != nil {
		t.Fatalf("NewPacing: %v", err)
	}
	return p, f, ps, wk
}

func TestPacingShowsTheSendersPace(t *testing.T) {
	p, _, _, _ := newPacing(t)
	pc, err := p.Pace(context.Background(), propertyID, providerKind)
	if err != nil {
		t.Fatalf("Pace: %v", err)
	}
	if pc.Sender == nil || pc.Sender.ID != senderID || pc.Settings.Interval != testPacer.Interval || pc.Paused || pc.Group != "" {
		t.Fatalf("pace = %+v; want sender %s, interval %s, not paused, no group", pc, senderID, testPacer.Interval)
	}
	if _, err := p.Pace(context.Background(), "other", providerKind); bellhop.ErrorCode(err) != bellhop.ENotFound {
		t.Fatalf("another property's pace: %v; want not_found", err)
	}
}

func TestPacingWithoutSenderIsNotReady(t *testing.T) {
	p, _, ps, _ := newPacing(t)
	ps.mu.Lock()
	ps.integration.Sender = nil
	ps.mu.Unlock()
	for name, call := range map[string]func() error{
		"pace":   func() error { _, err := p.Pace(context.Background(), propertyID, providerKind); return err },
		"resume": func() error { _, err := p.Resume(context.Background(), propertyID, providerKind, "test"); return err },
		"change": func() error {
			_, err := p.ChangePace(context.Background(), propertyID, providerKind, bellhop.PaceChange{DailyCap: ref(5)}, "test")
			return err
		},
	} {
		if err := call(); bellhop.ErrorCode(err) != bellhop.ENotReady {
			t.Errorf("%s without a sender: %v; want not_ready", name, err)
		}
	}
}

func TestPacingRefusedChangeChangesNothing(t *testing.T) {
	p, _, ps, _ := newPacing(t)
	ctx := context.Background()
	for _, tc := range []struct {
		field string
		ch    bellhop.PaceChange
	}{
		{"jitter", bellhop.PaceChange{Jitter: ref(2.0), Group: ref("chain")}},
		{"interval_seconds", bellhop.PaceChange{IntervalSeconds: ref(1e300), DailyCap: ref(3)}},
		{"share_with_group", bellhop.PaceChange{Group: ref("no spaces")}},
	} {
		_, err := p.ChangePace(ctx, propertyID, providerKind, tc.ch, "test")
		var e *bellhop.Error
		if !errors.As(err, &e) || e.Code != bellhop.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("change %+v: %v; want invalid_input naming %s", tc.ch, err, tc.field)
		}
	}
	pc, err := p.Pace(ctx, propertyID, providerKind)
	if err != nil {
		t.Fatal(err)
	}
	if ps.groupSets != 0 || pc.Group != "" || pc.Settings.DailyCap != 0 || pc.Settings.Interval != testPacer.Interval {
		t.Fatalf("refused changes changed the pace: %+v (group set %d times)", pc, ps.groupSets)
	}
}

// A sender that joins a group carries its pause and its settings to the group's pace, with
// the settings of the same change on top.
func TestPacingGroupMovesThePace(t *testing.T) {
	p, f, ps, _ := newPacing(t)
	ctx := context.Background()
	in, _ := ps.GetIntegration(ctx, propertyID, providerKind)
	own := SenderKey(in)
	if err := f.w.cfg.Pacer.Pause(ctx, own, "blocked"); err != nil {
		t.Fatal(err)
	}
	pc, err := p.ChangePace(ctx, propertyID, providerKind, bellhop.PaceChange{Group: ref(" Chain "), DailyCap: ref(40)}, "test")
	if err != nil {
		t.Fatalf("ChangePace: %v", err)
	}
	if pc.Group != "chain" || !pc.Paused || pc.Settings.DailyCap != 40 || pc.Settings.Interval != testPacer.Interval {
		t.Fatalf("pace after joining the group = %+v; want group chain, paused, cap 40, the old interval", pc)
	}
	in, _ = ps.GetIntegration(ctx, propertyID, providerKind)
	if in.PacerGroup != "chain" || SenderKey(in) == own {
		t.Fatalf("the integration's group = %q, key %s; want chain and a key other than %s", in.PacerGroup, SenderKey(in), own)
	}
	if set, _ := f.w.cfg.Pacer.Settings(ctx, own); set.DailyCap == 40 {
		t.Fatal("the change went to the sender's own pace, not the group's")
	}
}

func TestPacingResumeWakesWaitingSends(t *testing.T) {
	p, f, ps, wk := newPacing(t)
	ctx := context.Background()
	in, _ := ps.GetIntegration(ctx, propertyID, providerKind)
	if err := f.w.cfg.Pacer.Pause(ctx, SenderKey(in), "blocked"); err != nil {
		t.Fatal(err)
	}
	if pc, err := p.Pace(ctx, propertyID, providerKind); err != nil || !pc.Paused || pc.PauseReason != "blocked" {
		t.Fatalf("pace of a paused sender = %+v, %v", pc, err)
	}
	pc, err := p.Resume(ctx, propertyID, providerKind, "test")
	if err != nil || pc.Paused {
		t.Fatalf("Resume = %+v, %v; want not paused", pc, err)
	}
	if len(wk.woken) != 1 || wk.woken[0] != propertyID {
		t.Fatalf("woken = %v; want the property's waiting sends woken once", wk.woken)
	}
}

func ref[T any](v T) *T { return &v }
