package mapping

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// countingProvider answers Operators and counts the calls; nothing else is used here.
type countingProvider struct {
	provider.Provider
	calls int
}

func (p *countingProvider) Operators(context.Context) ([]bellhop.Operator, error) {
	p.calls++
	return []bellhop.Operator{{ID: "1", Name: "Irina"}}, nil
}

type oneIntegration struct {
	in *bellhop.Integration
	p  *countingProvider
}

func (c *oneIntegration) Primary(context.Context, string) (*bellhop.Integration, error) {
	return c.in, nil
}
func (c *oneIntegration) Client(*bellhop.Integration) (provider.Provider, error) { return c.p, nil }
func (c *oneIntegration) ProviderError(_ context.Context, _ *bellhop.Integration, _ string, err error) error {
	return err
}
func (c *oneIntegration) Title(kind string) string { return kind }

// The operator list is reused for OperatorsTTL, and never across a key change.
func TestOperatorsCache(t *testing.T) {
	clock := bellhop.NewSimulatedClock(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	conn := &oneIntegration{
		in: &bellhop.Integration{PropertyID: "p1", Provider: "intellectdialog", SealedKey: []byte("k1")},
		p:  &countingProvider{},
	}
	if _, err := New(Config{Store: nil, Connector: conn, Clock: clock}); err == nil {
		t.Fatal("New without a Store succeeded")
	}
	s, err := New(Config{Store: struct{ Store }{}, Connector: conn, Clock: clock, OperatorsTTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		key     string
		calls   int
	}{
		{0, "k1", 1},                // first look asks the provider
		{29 * time.Second, "k1", 1}, // within the TTL: cached
		{time.Second, "k1", 2},      // at the TTL: asked again
		{time.Second, "k2", 3},      // a new key never sees the old key's list
		{time.Second, "k2", 3},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		conn.in.SealedKey = []byte(st.key)
		ops, err := s.Operators(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ops.Operators) != 1 || conn.p.calls != st.calls {
			t.Errorf("step %d: %d operators after %d provider calls, want 1 after %d", i, len(ops.Operators), conn.p.calls, st.calls)
		}
	}
}
