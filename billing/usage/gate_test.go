package usage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A gate of n runs at most n batches at once, runs every one that comes,
// and a batch whose context ends while it waits is not run.
func TestGateBoundsBatchesAtOnce(t *testing.T) {
	g := NewGate(2)
	var inFlight, most, ran atomic.Int32
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.run(context.Background(), func() error {
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(2 * time.Millisecond) // overlap, were the gate open
				inFlight.Add(-1)
				ran.Add(1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 12 || most.Load() != 2 {
		t.Fatalf("ran %d of 12, at most %d at once; want 12, 2", ran.Load(), most.Load())
	}

	full := NewGate(1)
	release := make(chan struct{})
	started := make(chan struct{})
	go full.run(context.Background(), func() error { close(started); <-release; return nil })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := full.run(ctx, func() error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("waiting with an ended context: %v, ran %v", err, called)
	}
	close(release)

	if NewGate(0) != nil {
		t.Fatal("NewGate(0) bounds something")
	}
}
