package billing_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
)

// on PostgreSQL: operators' batches that each touch the same
// 1,000 rollups of 1,000 organizations race from 4 goroutines. Every batch
// is recorded — none fails on a deadlock between the batches' row locks
// (the rollups, the usage months and the organizations' revisions are
// locked in one order by every batch) — and the rollups add up to exactly
// what was sent.
func TestHotRollupBatchesNeverDeadlock(t *testing.T) {
	ctx := context.Background()
	db, orgs, e, at := seededEngine(t, dataset.Options{Groups: 1000, GroupsPerOrg: 1})
	deadlocks := func() (n int64) {
		db.SQL.QueryRow(`SELECT pg_stat_clear_snapshot()`)
		if err := db.SQL.QueryRow(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	const workers, batches = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				evs := make([]usage.UsageInput, 1000)
				for k := range evs {
					o := orgs[k%len(orgs)]
					evs[k] = usage.UsageInput{EventID: fmt.Sprintf("hot-%d-%d-%d", w, b, k), BillingGroupID: o.Groups[(k/len(orgs))%len(o.Groups)],
						ServiceCode: "ld-svc-00", Region: "ld-a", Metric: "unit", Quantity: "2", OccurredAt: at.Add(-time.Hour)}
				}
				if res, err := e.Ingestion().RecordUsage(ctx, "", evs); err != nil || res.Accepted != 1000 {
					errs <- fmt.Errorf("worker %d batch %d: %+v, %w", w, b, res, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Retries would hide deadlocks from the callers; the server counts them.
	time.Sleep(1500 * time.Millisecond) // a backend reports its statistics within a second
	if n := deadlocks() - before; n != 0 {
		t.Errorf("%d deadlocks between the batches", n)
	}
	var sum int64
	if err := db.SQL.QueryRow(`SELECT coalesce(sum(quantity_micros), 0) FROM usage_dailies WHERE day = $1 AND service_code = 'ld-svc-00' AND region_code = 'ld-a'`,
		at.Add(-time.Hour).Format("2006-01-02")).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if want := int64(workers * batches * 1000 * 2_000_000); sum != want {
		t.Fatalf("the rollups hold %d micro-units, want %d", sum, want)
	}
}
