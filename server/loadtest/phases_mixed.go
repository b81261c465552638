package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// mixedFirstPass is the first page-size pass of the mixed load's
// dashboards, past those the all-groups load can have used (40 passes
// over all groups), so none of its requests repeats one of that load.
const mixedFirstPass = 40

// mixedClients post the mixed load's usage, apart from the dashboards'.
const mixedClients = 8

// mixedTargetEPS is issue 17's ingestion rate to hold beside the
// dashboards; the load is paced a little above it (-mixed-rate).
const mixedTargetEPS = 20000

// mixed: the dashboards of all groups in turn while usage arrives for
// every organization at a paced rate (-mixed-rate events a second, in
// partner batches of 1,000, each organization's with its own API token,
// organizations in turn), as on a running platform where each batch moves
// its organization's usage revision exactly where dashboards are read.
// Reported: the dashboards' rate and p99 during ingestion, and the
// ingestion rate achieved during the dashboards (below the target when
// the server falls behind: a batch is posted when it is due or, late,
// as soon as a client is free).
func (r *runner) mixed() error {
	c := r.cfg
	fmt.Printf("\nmixed: dashboards of all groups while %d events/s of usage arrive:\n", c.mixedRate)
	// Enough batches for the load and half as much again.
	n := max(1, c.mixedRate*int(c.dur.Seconds()+1)*3/2/1000)
	bodies := make([][]byte, n)
	tokens := make([]string, n)
	for b := range bodies {
		bodies[b] = partnerBatch("m", b, r.orgs[b%len(r.orgs)])
		tokens[b] = r.apiTokens[b%len(r.orgs)]
	}
	stop := make(chan struct{})
	result := make(chan pacedResult, 1)
	go func() { result <- paceIngestion(r.base, bodies, tokens, c.mixedRate, stop) }()
	h0, m0 := r.cacheCounters()
	dash := attackFrom(mixedFirstPass, r.base, r.spread, r.spreadBearer, c.dur, c.clients, "dashboard-during-ingestion")
	close(stop)
	ing := <-result
	r.fig.DuringIngestionRPS, r.fig.DuringIngestionP99 = dash.Throughput, dash.P99
	r.fig.IngestionDuringDashboardsEPS = ing.rate()
	report("dashboards of all groups during ingestion", "≥ 1,000 req/s, p99 ≤ 100 ms (issue 17)", "%.0f req/s, p99 %.1f ms, p50 %.1f ms, %.2f%% ok",
		dash.Throughput, dash.P99, dash.P50, 100*dash.Success)
	report("ingestion during those dashboards", fmt.Sprintf("≥ 20,000 events/s held (paced to %d)", c.mixedRate),
		"%.0f events/s (%d events in %.1f s, %d clients, %d of %d batches late, %d failed)",
		ing.rate(), ing.accepted, ing.took.Seconds(), mixedClients, ing.late, ing.batches, ing.failed)
	r.cacheReport("caches during the mixed load", h0, m0)
	if ing.batches == len(bodies) {
		fmt.Fprintln(os.Stderr, "loadtest: the mixed load ran out of batches before its dashboards ended")
	}
	pid := r.srv.Process.Pid
	report("server RSS after the mixed load", "≤ 150 MB", "peak %s, now %s", procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS"))
	if r.stats {
		topStatements(r.dbURL, "mixed")
	}
	return nil
}

// pacedResult is what paceIngestion did.
type pacedResult struct {
	accepted              int64
	batches, late, failed int
	took                  time.Duration
}

func (p pacedResult) rate() float64 {
	if p.took <= 0 {
		return 0
	}
	return float64(p.accepted) / p.took.Seconds()
}

// paceIngestion posts bodies[b] (with tokens[b]) when it is due, at rate
// events a second (1,000 a batch), from mixedClients clients, until stop
// is closed or the bodies run out; it waits for the batches in flight and
// counts the time until then.
func paceIngestion(base string, bodies [][]byte, tokens []string, rate int, stop <-chan struct{}) pacedResult {
	var res pacedResult
	var accepted atomic.Int64
	var failed atomic.Int32
	due := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < mixedClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range due {
				var out struct {
					Data   struct{ RecordUsage struct{ Accepted int64 } }
					Errors []any
				}
				if err := post(base, bodies[b], tokens[b], &out); err != nil || len(out.Errors) > 0 {
					fmt.Fprintln(os.Stderr, "recordUsage (mixed):", err, out.Errors)
					failed.Add(1)
					continue
				}
				accepted.Add(out.Data.RecordUsage.Accepted)
			}
		}()
	}
	every := time.Duration(float64(time.Second) * 1000 / float64(max(rate, 1)))
	t0 := time.Now()
loop:
	for b := range bodies {
		at := t0.Add(time.Duration(b) * every)
		select {
		case <-stop:
			break loop
		case <-time.After(time.Until(at)):
		}
		select {
		case due <- b:
		default: // no client free when it was due
			res.late++
			select {
			case due <- b:
			case <-stop:
				break loop
			}
		}
		res.batches++
	}
	close(due)
	wg.Wait()
	res.took, res.accepted, res.failed = time.Since(t0), accepted.Load(), int(failed.Load())
	return res
}
