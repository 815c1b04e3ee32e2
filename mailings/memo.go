package mailings

import (
	"sync"
	"sync/atomic"
)

// memo remembers up to limit answers of a function that depends on its key alone (parsing a
// phone number or a language tag: a hotel's guests bring the same ones again and again);
// beyond the limit it computes each time, so odd input cannot grow it without end.
type memo[K comparable, V any] struct {
	m     sync.Map
	n     atomic.Int64
	limit int64
}

// get answers f(k), remembered when keep says the answer may be (an error is not kept: it
// would be one value shared by every caller).
func (c *memo[K, V]) get(k K, f func(K) (v V, keep bool)) V {
	if v, ok := c.m.Load(k); ok {
		return v.(V)
	}
	v, keep := f(k)
	if keep && c.n.Load() < c.limit {
		if _, loaded := c.m.LoadOrStore(k, v); !loaded {
			c.n.Add(1)
		}
	}
	return v
}
