package usage

import "context"

// Gate bounds how many usage batches one server records at once: their
// transactions, not their decoding and checks, which run before. Batches
// that add to the same rollups take those rows' locks in one order and
// hold them to their commit, so they pass that part one at a time; every
// batch in flight beside the one holding the locks takes CPU from it and
// lengthens its hold. BenchmarkRecordUsageHotKeysParallel (1,000 events
// on the same 1,000 rollups a batch, 2 cores): 2 clients 37,000–38,700
// events/s, 4 clients 21,000–24,200, 4 clients through a gate of 2
// 37,800; the load script's hot keys (4 clients over HTTP, durable) rose
// from 19,900–20,600 to 24,300, and its backends waiting for row locks
// from 1.8 to 0.3 on average. A gate of 1 was slower for every load. A
// nil Gate bounds nothing.
type Gate struct{ slots chan struct{} }

// NewGate lets n batches be recorded at once; nil (no bound) for n <= 0.
func NewGate(n int) *Gate {
	if n <= 0 {
		return nil
	}
	return &Gate{slots: make(chan struct{}, n)}
}

// run runs fn once a slot is free, or answers ctx's error without
// running it.
func (g *Gate) run(ctx context.Context, fn func() error) error {
	if g == nil {
		return fn()
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	return fn()
}
