package calendar

import (
	"sync"
	"time"
)

// Clock tells the time. Every calendar rule reads it, never time.Now, so that
// tests and operators can replay the calendar at exact instants.
type Clock interface{ Now() time.Time }

// SystemClock is the real time.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// OffsetClock runs from a chosen start instant at real speed
// (CLOUDBILL_CLOCK outside production).
type OffsetClock struct{ offset time.Duration }

// StartingAt returns a clock that reads t now and then advances.
func StartingAt(t time.Time) *OffsetClock { return &OffsetClock{offset: time.Until(t)} }

func (c *OffsetClock) Now() time.Time { return time.Now().Add(c.offset) }

// FixedClock stands still until moved; for tests.
type FixedClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFixedClock returns a clock that reads t until Set or Advance.
func NewFixedClock(t time.Time) *FixedClock { return &FixedClock{t: t} }

func (c *FixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to t.
func (c *FixedClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock forward by d.
func (c *FixedClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
