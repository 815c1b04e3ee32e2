package queue

import (
	"context"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// DefaultStopListFor is how long a worker process trusts an account's stop list as it last
// read it (Config.StopListFor).
const DefaultStopListFor = time.Minute

// stopListReader is a provider client that can read the account's whole stop list at once.
type stopListReader interface {
	StopList(ctx context.Context) (func(phone string) bool, error)
}

// stopLists keeps, per provider account, the stop list a worker process last read: a send
// looks its guest's phone up there instead of asking the provider each time.
type stopLists struct {
	mu sync.Mutex
	m  map[string]*stopList
}

type stopList struct {
	mu    sync.Mutex // held while the list is read: the account's other sends wait for it
	has   func(phone string) bool
	whole bool // false: the list could not be read whole; ask per phone until at+for
	at    time.Time
}

func (s *stopLists) of(key string) *stopList {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*stopList{}
	}
	l := s.m[key]
	if l == nil {
		l = &stopList{}
		s.m[key] = l
	}
	return l
}

// stopListed reports whether the account's own stop list holds the phone. The account's
// whole list is read at most once per Config.StopListFor per process (and only by a client
// that can): a phone put on the list is honoured by the next read, and the provider refuses
// a stop-listed phone itself meanwhile. The list belongs to the account, so properties that
// send through one account (the same provider host and account id) share what was read.
func (w *Worker) stopListed(ctx context.Context, client provider.Provider, in *bellhop.Integration, phone string) (bool, error) {
	r, ok := client.(stopListReader)
	if !ok || w.cfg.StopListFor < 0 {
		return client.StopListed(ctx, phone)
	}
	l := w.stopLists.of(in.Provider + "\x00" + ProviderHost(in.BaseURL) + "\x00" + in.OrganizationID)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := w.cfg.Clock.Now()
	if l.at.IsZero() || now.Before(l.at) || now.Sub(l.at) >= w.cfg.StopListFor {
		has, err := r.StopList(ctx)
		if err != nil && ctx.Err() != nil {
			return false, err
		}
		switch provider.FailureOf(err) {
		case provider.FailUnauthorized, provider.FailUnavailable, provider.FailRateLimited:
			return false, err // as the phone's own question would have failed: read again next time
		}
		l.has, l.whole, l.at = has, err == nil, now
	}
	if !l.whole {
		// Too long to read whole, or of a shape the reader did not expect: ask about the phone.
		return client.StopListed(ctx, phone)
	}
	return l.has(phone), nil
}
