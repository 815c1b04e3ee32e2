package bellhop

import (
	"sync"
	"time"
)

// SimulatedClock is a Clock that moves only when told to; tests and benchmarks drive time
// with it instead of sleeping.
type SimulatedClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSimulatedClock returns a clock that reads t until advanced.
func NewSimulatedClock(t time.Time) *SimulatedClock { return &SimulatedClock{t: t} }

// Now returns the simulated time.
func (c *SimulatedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *SimulatedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *SimulatedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
