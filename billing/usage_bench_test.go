package billing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// BenchmarkRecordUsage records partner-shaped batches of 1,000 new events
// (one organization's 10 groups, 10 services, 2 regions, ten hours) through
// the engine on PostgreSQL, without GraphQL; ns/op is per batch.
//
//	go test -run '^$' -bench RecordUsage -benchtime 200x ./billing
func BenchmarkRecordUsage(b *testing.B) {
	ctx := context.Background()
	_, orgs, e, at := seededEngine(b, dataset.Options{Groups: 100})
	n := 0
	for b.Loop() {
		o := orgs[n%len(orgs)]
		evs := make([]usage.UsageInput, 1000)
		for k := range evs {
			evs[k] = usage.UsageInput{EventID: fmt.Sprintf("b-%d-%d", n, k), BillingGroupID: o.Groups[k%len(o.Groups)],
				ServiceCode: fmt.Sprintf("ld-svc-%02d", (k/len(o.Groups))%10), Region: []string{"ld-a", "ld-b"}[(k/len(o.Groups)/10)%2],
				Metric: "unit", Quantity: "1.5", OccurredAt: at.Add(-time.Duration(k%600) * time.Minute)}
		}
		res, err := e.Ingestion().RecordUsage(ctx, o.ID, evs)
		if err != nil || res.Accepted != 1000 {
			b.Fatalf("%+v %v", res, err)
		}
		n++
	}
	b.ReportMetric(float64(n*1000)/b.Elapsed().Seconds(), "events/s")
}

// seededEngine seeds the load script's data set of opts (October's usage) on
// a throwaway PostgreSQL and answers its organizations with an engine whose
// clock stands at at, November 5th 10:00 KST.
func seededEngine(tb testing.TB, opts dataset.Options) (db *store.DB, orgs []dataset.Org, e *billing.Engine, at time.Time) {
	tb.Helper()
	db = testenv.Postgres(tb)
	opts.Month = calendar.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(context.Background(), db.Client, opts)
	if err != nil {
		tb.Fatal(err)
	}
	at = time.Date(2026, 11, 5, 10, 0, 0, 0, calendar.NCPPolicy().Location())
	return db, orgs, &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: true}, at
}

// BenchmarkRecordUsageHotKeys records batches of the load script's
// hot-key shape: 1,000 new events on the same 1,000 rollup rows every
// batch (one event for each of 1,000 single-group organizations, same day
// and service), as an operator posts them; ns/op is per batch, one batch
// at a time, so it shows a batch's own cost, not the queue on the locks.
//
//	go test -run '^$' -bench RecordUsageHotKeys -benchtime 200x ./billing
func BenchmarkRecordUsageHotKeys(b *testing.B) {
	ctx := context.Background()
	_, orgs, e, at := seededEngine(b, dataset.Options{Groups: 1000, GroupsPerOrg: 1})
	n := 0
	for b.Loop() {
		evs := hotKeyBatch(fmt.Sprintf("h-%d", n), orgs, at)
		res, err := e.Ingestion().RecordUsage(ctx, "", evs)
		if err != nil || res.Accepted != len(evs) {
			b.Fatalf("%+v %v", res, err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(orgs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRecordUsageHotKeysParallel records the same hot-key batches as
// BenchmarkRecordUsageHotKeys from several goroutines at once, as the load
// script's four clients do, with and without a usage.Gate: batches on the
// same rollups pass their locked part one at a time, and each batch in
// flight beside the one holding the locks takes CPU from it. ns/op is per
// batch.
//
//	go test -run '^$' -bench RecordUsageHotKeysParallel -benchtime 200x ./billing
func BenchmarkRecordUsageHotKeysParallel(b *testing.B) {
	ctx := context.Background()
	_, orgs, e, at := seededEngine(b, dataset.Options{Groups: 1000, GroupsPerOrg: 1})
	run := 0
	for _, c := range []struct{ clients, gate int }{{2, 0}, {4, 0}, {4, 2}} {
		b.Run(fmt.Sprintf("clients=%d,gate=%d", c.clients, c.gate), func(b *testing.B) {
			run++
			e.IngestGate = usage.NewGate(c.gate)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range c.clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						evs := hotKeyBatch(fmt.Sprintf("p%d-%d", run, n), orgs, at)
						if res, err := e.Ingestion().RecordUsage(ctx, "", evs); err != nil || res.Accepted != len(evs) {
							b.Errorf("%+v %v", res, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*len(orgs))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// hotKeyBatch is one event for the first group of each of orgs, all on the
// same day, service and region (the same rollups in every batch), with
// event ids new under prefix.
func hotKeyBatch(prefix string, orgs []dataset.Org, at time.Time) []usage.UsageInput {
	evs := make([]usage.UsageInput, len(orgs))
	for k, o := range orgs {
		evs[k] = usage.UsageInput{EventID: fmt.Sprintf("%s-%d", prefix, k), BillingGroupID: o.Groups[0],
			ServiceCode: "ld-svc-00", Region: "ld-a", Metric: "unit", Quantity: "1.5", OccurredAt: at.Add(-time.Hour)}
	}
	return evs
}
