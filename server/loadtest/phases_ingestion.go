package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
)

// recordUsageMutation is what partners post.
const recordUsageMutation = `mutation($e: [UsageEventInput!]!) { recordUsage(input: {events: $e}) { accepted duplicates } }`

// usageEvent is the k'th event of a batch for org: spread over its groups,
// services, regions and the last ten hours.
func usageEvent(id string, org dataset.Org, k int) map[string]any {
	return map[string]any{"eventId": id, "billingGroupId": org.Groups[k%len(org.Groups)],
		"serviceCode": fmt.Sprintf("ld-svc-%02d", (k/len(org.Groups))%10), "region": []string{"ld-a", "ld-b"}[(k/len(org.Groups)/10)%2],
		"metric": "unit", "quantity": "1.5", "occurredAt": quietDay.Add(-time.Duration(k%600) * time.Minute).Format(time.RFC3339)}
}

// partnerBatch is batch b of 1,000 events for one organization, its ids
// prefixed so that no two loads' events collide.
func partnerBatch(prefix string, b int, org dataset.Org) []byte {
	evs := make([]map[string]any, 0, 1000)
	for i := 0; i < 1000; i++ {
		evs = append(evs, usageEvent(fmt.Sprintf("%s-%d-%d", prefix, b, i), org, i))
	}
	body, _ := json.Marshal(map[string]any{"query": recordUsageMutation, "variables": map[string]any{"e": evs}})
	return body
}

// hotBatch is batch b of the hot-key load: its 1,000 events go to 1,000
// organizations, the same rollup rows in every batch (each organization's
// first group, one service, region, day and instant: usageEvent's k = 0).
// Until 2026-12-08 the k was the batch's number, which moved every batch
// to other groups and services: concurrent batches shared only their
// organizations' rows.
func hotBatch(b int, orgs []dataset.Org) []byte {
	evs := make([]map[string]any, 0, 1000)
	for i := 0; i < 1000; i++ {
		n := b*1000 + i
		evs = append(evs, usageEvent(fmt.Sprintf("h-%d", n), orgs[n%len(orgs)], 0))
	}
	body, _ := json.Marshal(map[string]any{"query": recordUsageMutation, "variables": map[string]any{"e": evs}})
	return body
}

// createAPITokens gives every organization a usage:write API token (its
// master creates it through the API), from 4 clients.
func (r *runner) createAPITokens() error {
	r.apiTokens = make([]string, len(r.orgs))
	var next atomic.Int64
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(r.orgs) && errs[w] == nil; i = int(next.Add(1)) - 1 {
				errs[w] = r.createAPIToken(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) createAPIToken(i int) error {
	master, err := r.master(r.orgs[i])
	if err != nil {
		return err
	}
	var out struct {
		Data struct{ CreateAPIToken struct{ Token string } }
	}
	body, _ := json.Marshal(map[string]any{"query": `mutation { createApiToken(input: {name: "load", scopes: ["usage:write"]}) { token } }`})
	if err := post(r.base, body, master, &out); err != nil || out.Data.CreateAPIToken.Token == "" {
		return fmt.Errorf("createApiToken: %v", err)
	}
	r.apiTokens[i] = out.Data.CreateAPIToken.Token
	return nil
}

// ingestion: batches of 1,000 events through recordUsage, in two shapes.
// Partners: each batch is one organization's usage sent with its own API
// token (what partners do). Hot keys: one operator token, and every batch
// touches the same 1,000 organizations and rollup rows, so concurrent
// batches queue for the same row locks (a worst case). Then the same
// number of rows by plain COPY, and a replayed batch.
func (r *runner) ingestion() error {
	fmt.Println("\nusage ingestion:")
	c := r.cfg
	if err := r.createAPITokens(); err != nil {
		return err
	}
	var partnerBodies, hotBodies [][]byte
	for b := 0; b < c.batches; b++ {
		partnerBodies = append(partnerBodies, partnerBatch("p", b, r.orgs[b%len(r.orgs)]))
	}
	for b := 0; b < c.hotBatches; b++ {
		hotBodies = append(hotBodies, hotBatch(b, r.orgs))
	}
	op, _, _ := r.tokens.Mint(auth.TypeAccess, "operator@loadtest", "", "", []string{auth.RoleOperator}, time.Hour)
	rate, accepted, took := ingest(r.base, r.dbURL, partnerBodies, r.apiTokens, "ingestion")
	if r.stats {
		topStatements(r.dbURL, "ingestion (partners)")
	}
	hotRate, hotAccepted, hotTook := ingest(r.base, r.dbURL, hotBodies, []string{op}, "ingestion-hot")
	if r.stats {
		topStatements(r.dbURL, "ingestion (hot keys)")
	}
	copyRate, err := copyRows(r.dbURL, c.batches*1000)
	if err != nil {
		return err
	}
	r.fig.IngestionEPS, r.fig.IngestionHotEPS, r.fig.CopyRowsPerS = rate, hotRate, copyRate
	report("recordUsage ingestion, partners", "≥ 50,000 events/s", "%.0f events/s (%d events in %.1f s, 4 clients, a batch = one organization)", rate, accepted, took.Seconds())
	report("recordUsage ingestion, hot keys", "≥ 25,000 events/s (issue 17)", "%.0f events/s (%d events in %.1f s, 4 clients, every batch on the same 1,000 rollup rows)", hotRate, hotAccepted, hotTook.Seconds())
	report("plain COPY of the same rows", "(reference)", "%.0f rows/s; recordUsage is %.1f%% of COPY (partners)", copyRate, 100*rate/copyRate)
	if len(partnerBodies) == 0 {
		return nil
	}
	// Replay the first batch: every event is a duplicate.
	var replay struct {
		Data struct {
			RecordUsage struct{ Accepted, Duplicates int }
		}
	}
	post(r.base, partnerBodies[0], r.apiTokens[0], &replay)
	report("replayed batch", "all duplicates", "%d accepted, %d duplicates", replay.Data.RecordUsage.Accepted, replay.Data.RecordUsage.Duplicates)
	return nil
}

// ingest posts the batches from 4 clients (batch i with token i mod
// len(tokens)) and returns the accepted events per second. It prints
// what the server's PostgreSQL backends were doing meanwhile.
func ingest(base, dbURL string, bodies [][]byte, tokens []string, name string) (float64, int64, time.Duration) {
	var accepted atomic.Int64
	stopProfile := profile(name, 3)
	stopWaits := sampleWaits(dbURL, name)
	s0, p0, l0 := cpuTicks()
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				var out struct {
					Data   struct{ RecordUsage struct{ Accepted int64 } }
					Errors []any
				}
				if err := post(base, bodies[i], tokens[i%len(tokens)], &out); err != nil || len(out.Errors) > 0 {
					fmt.Fprintln(os.Stderr, "recordUsage:", err, out.Errors)
					return
				}
				accepted.Add(out.Data.RecordUsage.Accepted)
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	s1, p1, l1 := cpuTicks()
	stopProfile()
	stopWaits()
	fmt.Printf("  %s CPU: %s\n", name, cpuSplit{(s1 - s0) / took.Seconds(), (p1 - p0) / took.Seconds(), (l1 - l0) / took.Seconds()})
	return float64(accepted.Load()) / took.Seconds(), accepted.Load(), took
}

// copyRows COPYs n usage-event-shaped rows into a scratch table.
func copyRows(url string, n int) (float64, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE copy_bench (LIKE usage_events INCLUDING ALL)`); err != nil {
		return 0, err
	}
	t0 := time.Now()
	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	stmt, err := tx.Prepare(pq.CopyIn("copy_bench", usageEventColumns...))
	if err != nil {
		return 0, err
	}
	now := time.Now()
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(fmt.Sprintf("use_%026d", i), "org_x", now, fmt.Sprintf("copy-%d", i), "bg_x", "ld-svc-01",
			"ld-a", "", "unit", int64(1_500_000), now, now.In(kst).Format("2006-01")); err != nil {
			return 0, err
		}
	}
	if _, err := stmt.Exec(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// sampleWaits samples, every 20 ms until stop is called, what the
// backends of the load's database are doing (pg_stat_activity, this
// sampler left out), and stop prints the average number of backends in
// the most frequent states: "running" (no wait event: on a CPU or waiting
// for one), waiting for a lock (another transaction's rows: hot keys
// queue there), for WAL or I/O, "server" (idle inside a transaction, the
// server working between its statements), and autovacuum workers apart.
// It tells a lock-bound load from a CPU-bound one; its own 50 reads a
// second cost PostgreSQL well under 1% of a core.
func sampleWaits(url, name string) (stop func()) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: sampling pg_stat_activity:", err)
		return func() {}
	}
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	counts := map[string]int{} // written by the sampler only, read after it ended
	samples := 0
	sample := func() error {
		rows, err := db.QueryContext(ctx, `SELECT CASE
				WHEN backend_type <> 'client backend' THEN backend_type
				WHEN state = 'idle in transaction' THEN 'server'
				ELSE coalesce(wait_event_type || ':' || wait_event, 'running') END, count(*)
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND state IN ('active', 'idle in transaction') GROUP BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var what string
			var n int
			if err := rows.Scan(&what, &n); err != nil {
				return err
			}
			counts[what] += n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		samples++
		return nil
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := sample(); err != nil {
				if ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "loadtest: sampling pg_stat_activity:", err)
				}
				return
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		db.Close()
		if samples == 0 {
			return
		}
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
			return cmp.Or(counts[b]-counts[a], strings.Compare(a, b))
		})
		var parts []string
		for _, k := range keys[:min(len(keys), 7)] {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(counts[k])/float64(samples)))
		}
		fmt.Printf("  %s PostgreSQL backends (average over %d samples): %s\n", name, samples, strings.Join(parts, ", "))
	}
}
