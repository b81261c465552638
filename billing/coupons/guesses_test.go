package coupons_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/coupons"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// reservations of coupon attempts raced from 50 goroutines through
// two limiters (two replicas) on PostgreSQL: exactly Max succeed within the
// window; forgiven ones give their place back; the window frees them all.
func TestGuessReservationsRace(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	org, err := db.Client.Organization.Create().SetName("Guess").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limiters := []*coupons.Guesses{coupons.NewGuesses(db.Client, true, 10, time.Minute), coupons.NewGuesses(db.Client, true, 10, time.Minute)}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var ok atomic.Int64
	var ids sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, granted, err := limiters[i%2].Reserve(ctx, org.ID, "acct_guesser", now)
			if err != nil {
				t.Error(err)
				return
			}
			if granted {
				ok.Add(1)
				ids.Store(id, true)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 {
		t.Fatalf("%d of 50 concurrent attempts reserved, want 10", ok.Load())
	}
	ids.Range(func(id, _ any) bool { // a right code gives its place back
		if err := limiters[0].Forgive(ctx, id.(string)); err != nil {
			t.Fatal(err)
		}
		return false
	})
	if _, granted, _ := limiters[1].Reserve(ctx, org.ID, "acct_guesser", now); !granted {
		t.Fatal("a forgiven attempt did not give its place back")
	}
	if _, granted, _ := limiters[1].Reserve(ctx, org.ID, "acct_guesser", now); granted {
		t.Fatal("an 11th attempt within the window was reserved")
	}
	if _, granted, _ := limiters[0].Reserve(ctx, org.ID, "acct_guesser", now.Add(time.Minute)); !granted {
		t.Fatal("attempts a window old still count")
	}
}
