// Package memo remembers the answers of functions that depend on their key alone.
package memo

import (
	"sync"
	"sync/atomic"
)

// Map remembers up to Limit answers of a function that depends on its key alone (parsing a
// phone number, a language tag or a provider's base URL: the same ones come again and
// again); beyond the limit it computes each time, so odd input cannot grow it without end.
// The zero Map remembers nothing; set Limit.
type Map[K comparable, V any] struct {
	Limit int64
	m     sync.Map
	n     atomic.Int64
}

// Get answers f(k), remembered when keep says the answer may be (an error is not kept: it
// would be one value shared by every caller).
func (c *Map[K, V]) Get(k K, f func(K) (v V, keep bool)) V {
	if v, ok := c.m.Load(k); ok {
		return v.(V)
	}
	v, keep := f(k)
	if keep && c.n.Load() < c.Limit {
		if _, loaded := c.m.LoadOrStore(k, v); !loaded {
			c.n.Add(1)
		}
	}
	return v
}
