// Command loadtest measures cloudbill against the performance targets on
// this machine: it starts a throwaway PostgreSQL, generates a data set,
// closes a month on two replicas, runs the real server binary, drives it
// with wrk when installed (apt-get install wrk), else vegeta, pushes usage,
// and prints each figure beside its target.
//
//	go run ./server/loadtest                 # 10,000 billing groups, 10 s per load
//	go run ./server/loadtest -groups 2000 -duration 5s
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/notify"
	"github.com/cloudbill/cloudbill/ent/schema/xid"
	"github.com/cloudbill/cloudbill/server/auth"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const secret = "loadtest-secret-loadtest-secret-loadtest"

// quietDay is the server's clock during the loads.
var quietDay = time.Date(2026, 11, 5, 10, 0, 0, 0, billing.NCPPolicy().Location())

type row struct{ what, target, got string }

var results []row

func report(what, target, format string, args ...any) {
	got := fmt.Sprintf(format, args...)
	results = append(results, row{what, target, got})
	fmt.Printf("  %-44s %s\n", what+":", got)
}

func main() {
	groups := flag.Int("groups", 10000, "billing groups in the data set")
	duration := flag.Duration("duration", 10*time.Second, "length of each load")
	workers := flag.Int("clients", 32, "concurrent load clients")
	batches := flag.Int("batches", 600, "recordUsage batches of 1,000 events from partners")
	hotBatches := flag.Int("hot-batches", 300, "recordUsage batches of 1,000 events on the same rollup rows")
	history := flag.Int("history", 200, "October usage events per group in usage_events before the ingestion load")
	flag.BoolVar(&withReplica, "replica", os.Getenv("LOADTEST_REPLICA") == "1",
		"serve the dashboards' reads from a streaming replica of the throwaway cluster (CLOUDBILL_DATABASE_REPLICA_URL)")
	flag.Parse()
	if err := run(*groups, *duration, *workers, *batches, *hotBatches, *history); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(groups int, dur time.Duration, clients, batches, hotBatches, history int) error {
	ctx := context.Background()
	fmt.Printf("cloudbill load test: %d CPU cores, %d billing groups, %s per load, %d clients\n",
		runtime.NumCPU(), groups, dur, clients)
	stats := os.Getenv("LOADTEST_PG_STATS") != ""
	if stats {
		testenv.ExtraOptions = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
	}
	// More server settings for experiments, e.g. "-c autovacuum=off".
	testenv.ExtraOptions += " " + os.Getenv("LOADTEST_PG_OPTIONS")
	admin, stop, err := testenv.StartCluster()
	if err != nil {
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	defer stop()
	adminDB, err := sql.Open("postgres", admin)
	if err != nil {
		return err
	}
	if _, err := adminDB.Exec("CREATE DATABASE cloudbill_load"); err != nil {
		return err
	}
	dbURL := strings.Replace(admin, "/postgres?", "/cloudbill_load?", 1)

	st, err := store.OpenDB(dbURL, "")
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("generating the data set…")
	t0 := time.Now()
	oct := billing.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(ctx, st.Client, dataset.Options{Groups: groups, Month: oct, Credits: 2})
	if err != nil {
		return err
	}
	fmt.Printf("  %d organizations, %d groups × 20 priced lines, 2 credits each, in %s\n", len(orgs), groups, time.Since(t0).Round(time.Second))
	t0 = time.Now()
	if err := seedEventHistory(dbURL, orgs, history, oct); err != nil {
		return fmt.Errorf("usage event history: %w", err)
	}
	fmt.Printf("  %d October usage events in usage_events (%d a group), copied and vacuumed in %s\n", history*groups, history, time.Since(t0).Round(time.Second))

	// Month close on two replicas at once (separate connection pools).
	fmt.Println("\nmonth close (two replicas at once):")
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, billing.NCPPolicy().Location())
	var peak atomic.Uint64
	done := make(chan struct{})
	go sampleHeap(&peak, done)
	t0 = time.Now()
	var wg sync.WaitGroup
	issued := make([]int, 2)
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		rep, err := store.OpenDB(dbURL, "")
		if err != nil {
			return err
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e := &billing.Engine{Client: rep.Client, Policy: billing.NCPPolicy(), Clock: billing.NewFixedClock(at), Postgres: true}
			issued[i], errs[i] = e.IssueInvoices(ctx, at)
		}(i)
	}
	wg.Wait()
	close(done)
	closeTime := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var invoices, lines int
	st.SQL.QueryRow("SELECT count(*) FROM invoices").Scan(&invoices)
	st.SQL.QueryRow("SELECT count(*) FROM invoice_lines").Scan(&lines)
	report("month close", "≤ 30 s for 10,000 groups × 20 lines", "%.1f s for %d invoices, %d lines (%0.f invoices/s); replicas issued %d + %d; peak Go heap %d MiB",
		closeTime.Seconds(), invoices, lines, float64(invoices)/closeTime.Seconds(), issued[0], issued[1], peak.Load()>>20)
	if invoices != groups {
		return fmt.Errorf("%d invoices for %d groups", invoices, groups)
	}
	// November so far: what the dashboards show as current usage.
	if err := dataset.MonthToDate(ctx, st.Client, orgs, oct.Next(), quietDay.Day()-1, 0); err != nil {
		return err
	}
	// The calendar caught up to the quiet day before the server starts (tax
	// invoices of October, the notices of 10,000 invoices sent), as on a
	// server that has been running: the loads measure the steady state,
	// not a backlog of jobs beside them.
	t0 = time.Now()
	eng := &billing.Engine{Client: st.Client, Policy: billing.NCPPolicy(), Clock: billing.NewFixedClock(quietDay), Postgres: true}
	if _, err := eng.RunJobs(ctx, quietDay); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob := &notify.Outbox{Client: st.Client, Clock: billing.NewFixedClock(quietDay), Email: notify.LogSender{Log: quiet}, SMS: notify.LogSender{Log: quiet}}
	for {
		n, err := ob.Deliver(ctx, 1000)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	fmt.Printf("  jobs and outbox caught up to %s in %s\n", quietDay.Format("2006-01-02 15:04"), time.Since(t0).Round(time.Millisecond))
	// As autovacuum would have left a running database: the bulk writes
	// above vacuumed and analysed now, not in the middle of a load.
	t0 = time.Now()
	if _, err := st.SQL.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	fmt.Printf("  VACUUM ANALYZE in %s\n", time.Since(t0).Round(time.Millisecond))
	if err := explainQueries(st.SQL, orgs[0]); err != nil {
		return err
	}

	// The real server binary.
	dir, err := os.MkdirTemp("", "cloudbill-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cloudbill")
	if out, err := exec.Command("go", "build", "-o", bin, "./server").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	if withReplica {
		if err := startReplica(dbURL); err != nil {
			return err
		}
	}
	srv, base, err := startServer(bin, dbURL)
	if err != nil {
		return err
	}
	defer srv.Process.Kill()
	serverPID, profiledPID = srv.Process.Pid, srv.Process.Pid

	tokens, err := auth.NewTokens([]byte(secret), "cloudbill", "cloudbill-api")
	if err != nil {
		return err
	}
	// Tokens are stamped with the server's clock.
	started := time.Now()
	tokens.Now = func() time.Time { return quietDay.Add(time.Since(started)) }
	var bodies [][]byte
	var bearer []string
	for i := 0; i < len(orgs) && i < 200; i++ {
		tok, _, err := tokens.Mint(auth.TypeAccess, orgs[i].MasterID, orgs[i].ID, "", nil, time.Hour)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]any{"query": dataset.DashboardQuery, "variables": map[string]any{"bg": orgs[i].Groups[0], "n": 20}})
		bodies, bearer = append(bodies, b), append(bearer, tok)
	}
	// One dashboard by hand: it must answer without errors.
	if err := checkOnce(base, bodies[0], bearer[0]); err != nil {
		return err
	}
	fmt.Println("\nreads (wrk when installed, else vegeta; keep-alive, max rate):")
	typename, _ := json.Marshal(map[string]any{"query": "{ __typename }"})
	attack(base, [][]byte{typename}, bearer[:1], time.Second, clients, "baseline warm-up")
	base1 := attack(base, [][]byte{typename}, bearer[:1], dur, clients, "baseline")
	report("{ __typename } baseline", "(reference)", "%.0f req/s, p99 %.1f ms, %.2f%% ok (%s)", base1.Throughput, base1.P99, 100*base1.Success, base1.Tool)
	// The first seconds after a start are not the steady state: every
	// organization's first dashboard fills the replica's caches (9 to 13
	// statements instead of 1). Reported apart, then measured without them.
	warm := attack(base, bodies, bearer, 2*time.Second, clients, "dashboard warm-up")
	report("dashboard, first 2 s after start (cold caches)", "(reported)", "%.0f req/s, p99 %.1f ms, p50 %.1f ms", warm.Throughput, warm.P99, warm.P50)
	h0, m0 := metric(base, "cloudbill_response_cache_hits_total"), metric(base, "cloudbill_response_cache_misses_total")
	dash := attack(base, bodies, bearer, dur, clients, "dashboard")
	report("dashboard query", "≥ 1,500 req/s at 32 clients, p99 ≤ 50 ms", "%.0f req/s, p99 %.1f ms, p50 %.1f ms, %.2f%% ok",
		dash.Throughput, dash.P99, dash.P50, 100*dash.Success)
	cacheReport := func(what string, h0, m0 float64) {
		h, m := metric(base, "cloudbill_response_cache_hits_total")-h0, metric(base, "cloudbill_response_cache_misses_total")-m0
		report(what, "(reported)", "response cache %.1f%% hits (%.0f of %.0f); view cache %.0f rows of %d, %.0f organizations",
			100*h/max(h+m, 1), h, h+m, metric(base, "cloudbill_view_cache_rows"), billing.DefaultViewRows, metric(base, "cloudbill_view_cache_organizations"))
	}
	cacheReport("caches during the dashboard load", h0, m0)
	report("dashboard / baseline", "≥ 10%", "%.1f%%", 100*dash.Throughput/base1.Throughput)
	for i := range bodies[:10] { // still right under load's aftermath
		if err := checkOnce(base, bodies[i], bearer[i]); err != nil {
			return err
		}
	}
	report("server RSS under the dashboard load", "≤ 150 MB", "peak %s, now %s", procStatus(srv.Process.Pid, "VmHWM"), procStatus(srv.Process.Pid, "VmRSS"))
	// The dashboard of every group in turn (each master asking for each of
	// its organization's groups): a working set larger than one replica's
	// cache budget, the other end from the 200 dashboards above.
	var spread [][]byte
	var spreadBearer []string
	for _, o := range orgs {
		tok, _, err := tokens.Mint(auth.TypeAccess, o.MasterID, o.ID, "", nil, time.Hour)
		if err != nil {
			return err
		}
		for _, g := range o.Groups {
			b, _ := json.Marshal(map[string]any{"query": dataset.DashboardQuery, "variables": map[string]any{"bg": g, "n": 20}})
			spread, spreadBearer = append(spread, b), append(spreadBearer, tok)
		}
	}
	h0, m0 = metric(base, "cloudbill_response_cache_hits_total"), metric(base, "cloudbill_response_cache_misses_total")
	all := attack(base, spread, spreadBearer, dur, clients, "dashboard-all-groups")
	report(fmt.Sprintf("dashboard, each of the %d groups in turn", len(spread)), "(reported)", "%.0f req/s, p99 %.1f ms, p50 %.1f ms, %.2f%% ok",
		all.Throughput, all.P99, all.P50, 100*all.Success)
	cacheReport("caches during the all-groups load", h0, m0)
	report("server RSS after both dashboard loads", "(reported)", "peak %s, now %s", procStatus(srv.Process.Pid, "VmHWM"), procStatus(srv.Process.Pid, "VmRSS"))
	if stats {
		topStatements(dbURL, "dashboard")
	}
	// The same dashboards on a replica without the view cache: what every
	// dashboard costs when nothing of it is cached (9 statements).
	if srv2, base2, err := startServer(bin, dbURL, "CLOUDBILL_VIEW_CACHE=0", "CLOUDBILL_PPROF_ADDR="); err == nil {
		serverPID = srv2.Process.Pid
		off := attack(base2, bodies, bearer, dur, clients, "dashboard-no-cache")
		report("dashboard, view cache off", "(reported)", "%.0f req/s, p99 %.1f ms, p50 %.1f ms", off.Throughput, off.P99, off.P50)
		if withReplica {
			report("statements on the replica, view cache off", "(reported)", "%.0f of %.0f",
				metric(base2, "cloudbill_sql_replica_statements_total"), metric(base2, "cloudbill_sql_statements_total"))
		}
		srv2.Process.Kill()
		srv2.Wait()
		serverPID = srv.Process.Pid
	} else {
		return err
	}

	// Usage ingestion: batches of 1,000 events through recordUsage, in two
	// shapes. Partners: each batch is one organization's usage sent with its
	// own API token (what partners do), spread over its groups, services,
	// regions and the last ten hours. Hot keys: one operator token, and
	// every batch touches the same 1,000 organizations and rollup rows, so
	// concurrent batches queue for the same row locks (a worst case).
	fmt.Println("\nusage ingestion:")
	mutation := `mutation($e: [UsageEventInput!]!) { recordUsage(input: {events: $e}) { accepted duplicates } }`
	event := func(id string, org dataset.Org, k int) map[string]any {
		return map[string]any{"eventId": id, "billingGroupId": org.Groups[k%len(org.Groups)],
			"serviceCode": fmt.Sprintf("ld-svc-%02d", (k/len(org.Groups))%10), "region": []string{"ld-a", "ld-b"}[(k/len(org.Groups)/10)%2],
			"metric": "unit", "quantity": "1.5", "occurredAt": quietDay.Add(-time.Duration(k%600) * time.Minute).Format(time.RFC3339)}
	}
	var partnerBodies, hotBodies [][]byte
	var partnerTokens []string
	n := 0
	for b := 0; b < max(batches, hotBatches); b++ {
		org := orgs[b%len(orgs)]
		var evs, hot []map[string]any
		for i := 0; i < 1000; i++ {
			evs = append(evs, event(fmt.Sprintf("p-%d-%d", b, i), org, i))
			hot = append(hot, event(fmt.Sprintf("h-%d", n), orgs[n%len(orgs)], n/len(orgs)))
			n++
		}
		if b < batches {
			pb, _ := json.Marshal(map[string]any{"query": mutation, "variables": map[string]any{"e": evs}})
			partnerBodies = append(partnerBodies, pb)
		}
		if b < hotBatches {
			hb, _ := json.Marshal(map[string]any{"query": mutation, "variables": map[string]any{"e": hot}})
			hotBodies = append(hotBodies, hb)
		}
		if b < len(orgs) {
			master, _, _ := tokens.Mint(auth.TypeAccess, org.MasterID, org.ID, "", nil, time.Hour)
			var out struct {
				Data struct{ CreateAPIToken struct{ Token string } }
			}
			body, _ := json.Marshal(map[string]any{"query": `mutation { createApiToken(input: {name: "load", scopes: ["usage:write"]}) { token } }`})
			if err := post(base, body, master, &out); err != nil || out.Data.CreateAPIToken.Token == "" {
				return fmt.Errorf("createApiToken: %v", err)
			}
			partnerTokens = append(partnerTokens, out.Data.CreateAPIToken.Token)
		}
	}
	op, _, _ := tokens.Mint(auth.TypeAccess, "operator@loadtest", "", "", []string{auth.RoleOperator}, time.Hour)
	rate, accepted, took := ingest(base, partnerBodies, partnerTokens, "ingestion")
	if stats {
		topStatements(dbURL, "ingestion (partners)")
	}
	hotRate, hotAccepted, hotTook := ingest(base, hotBodies, []string{op}, "ingestion-hot")
	if stats {
		topStatements(dbURL, "ingestion (hot keys)")
	}
	// The same number of rows by COPY into a table of the same shape.
	copyRate, err := copyRows(dbURL, batches*1000)
	if err != nil {
		return err
	}
	report("recordUsage ingestion, partners", "≥ 50,000 events/s", "%.0f events/s (%d events in %.1f s, 4 clients, a batch = one organization)", rate, accepted, took.Seconds())
	report("recordUsage ingestion, hot keys", "(worst case)", "%.0f events/s (%d events in %.1f s, 4 clients, every batch on the same 1,000 rollup rows)", hotRate, hotAccepted, hotTook.Seconds())
	report("plain COPY of the same rows", "(reference)", "%.0f rows/s; recordUsage is %.1f%% of COPY (partners)", copyRate, 100*rate/copyRate)
	// Replay the first batch: every event is a duplicate.
	var replay struct {
		Data struct {
			RecordUsage struct{ Accepted, Duplicates int }
		}
	}
	post(base, partnerBodies[0], partnerTokens[0], &replay)
	report("replayed batch", "all duplicates", "%d accepted, %d duplicates", replay.Data.RecordUsage.Accepted, replay.Data.RecordUsage.Duplicates)

	// Start to ready on the embedded default, once built.
	fmt.Println("\nfootprint:")
	sqliteDir, _ := os.MkdirTemp("", "cloudbill-start-")
	defer os.RemoveAll(sqliteDir)
	addr2 := freeAddr()
	t0 = time.Now()
	s2 := exec.Command(bin)
	s2.Env = append(os.Environ(), "CLOUDBILL_DATA_DIR="+sqliteDir, "CLOUDBILL_ADDR="+addr2, "DATABASE_URL=", "CLOUDBILL_DEMO=0", "CLOUDBILL_LOG_LEVEL=warn")
	if err := s2.Start(); err != nil {
		return err
	}
	if err := waitReady("http://"+addr2, 30*time.Second); err != nil {
		return err
	}
	report("start to ready, embedded SQLite (fresh data dir, migrations)", "≤ 1 s", "%d ms", time.Since(t0).Milliseconds())
	s2.Process.Kill()
	s2.Wait()
	t0 = time.Now()
	s3 := exec.Command(bin)
	s3.Env = s2.Env
	s3.Start()
	waitReady("http://"+addr2, 30*time.Second)
	report("start to ready, embedded SQLite (existing data dir)", "≤ 1 s", "%d ms", time.Since(t0).Milliseconds())
	s3.Process.Kill()
	s3.Wait()

	fmt.Println("\nsummary (target → measured):")
	for _, r := range results {
		fmt.Printf("| %s | %s | %s |\n", r.what, r.target, r.got)
	}
	return nil
}

// topStatements prints where PostgreSQL spent its time during the load
// just run (LOADTEST_PG_STATS=1), and resets the statistics for the next.
func topStatements(url, load string) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return
	}
	defer db.Close()
	if _, err := db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		fmt.Println("  pg_stat_statements:", err)
		return
	}
	rows, err := db.Query(`SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 3), round(mean_plan_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12`)
	if err != nil {
		fmt.Println("  pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	defer db.Exec("SELECT pg_stat_statements_reset()")
	fmt.Printf("  %s: top statements by total time (calls, total ms, mean ms, mean planning ms, query):\n", load)
	for rows.Next() {
		var calls int64
		var total, mean, plan float64
		var q string
		rows.Scan(&calls, &total, &mean, &plan, &q)
		fmt.Printf("    %8d %8.0f %7.3f %7.3f  %s\n", calls, total, mean, plan, q)
	}
}

// explainQueries shows, on the generated data set, how PostgreSQL runs
// the statements the targets depend on (EXPLAIN ANALYZE): the one a warm
// dashboard runs, the ones a cold one adds, and the month close's.
func explainQueries(db *sql.DB, org dataset.Org) error {
	bg := org.Groups[0]
	var credits []string
	rows, err := db.Query("SELECT id FROM credits WHERE billing_group_id = $1", bg)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		credits = append(credits, id)
	}
	rows.Close()
	queries := []struct {
		what, q string
		args    []any
	}{
		{"warm dashboard: the caller's organization revisions", "SELECT revision, usage_revision FROM organizations WHERE id = $1", []any{org.ID}},
		{"cold dashboard: the newest history entry of each credit of a page",
			`SELECT * FROM credit_entries WHERE credit_id = ANY($1) AND id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER
			(PARTITION BY credit_id ORDER BY occurred_at DESC, id DESC) AS rn FROM credit_entries WHERE credit_id = ANY($1)) ranked WHERE rn <= 2)`,
			[]any{pq.StringArray(credits)}},
		{"cold dashboard: six months of usage through yesterday, summed by month", `SELECT substr(day, 1, 7) AS month, service_code, region_code,
			channel, metric, SUM(quantity_micros) FROM usage_dailies WHERE billing_group_id = $1 AND day >= '2026-06-01' AND day <= '2026-11-04'
			GROUP BY substr(day, 1, 7), service_code, region_code, channel, metric`, []any{bg}},
		{"month close: the groups still without the month's invoice", `SELECT id FROM billing_groups b WHERE created_at < $1 AND id > ''
			AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.billing_group_id = b.id AND i.month = '2026-10') ORDER BY id LIMIT 500`,
			[]any{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
	}
	// Ingestion: one partner-shaped batch of 1,000 new events (in a
	// transaction rolled back afterwards), timed per plan node.
	n := 1000
	cols := make([][]string, 11)
	micros := make([]int64, n)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for k := 0; k < n; k++ {
		at := quietDay.Add(-time.Duration(k%600) * time.Minute)
		for i, v := range []string{fmt.Sprintf("use_explain%019d", k), org.ID, fmt.Sprintf("explain-%d", k), org.Groups[k%len(org.Groups)],
			fmt.Sprintf("ld-svc-%02d", (k/len(org.Groups))%10), []string{"ld-a", "ld-b"}[(k/len(org.Groups)/10)%2], "", "unit", "",
			at.UTC().Format(time.RFC3339Nano), at.In(billing.NCPPolicy().Location()).Format("2006-01-02")} {
			cols[i][k] = v
		}
		micros[k] = 1_500_000
	}
	args := []any{}
	for i, c := range cols {
		if i == 8 {
			args = append(args, pq.Int64Array(micros))
			continue
		}
		args = append(args, pq.StringArray(c))
	}
	args = append(args, quietDay, pq.StringArray(org.Groups), pq.StringArray(slices.Repeat([]string{"2026-11"}, len(org.Groups))),
		pq.Int64Array(slices.Repeat([]int64{2}, n)), billing.MaxDailyMicros, billing.MaxMonthUsageAmount) // amount ceilings, bounds
	queries = append(queries, struct {
		what, q string
		args    []any
	}{"ingestion: one batch of 1,000 new events and their rollups (rolled back)", billing.RecordEventsSQL, args})

	fmt.Println("\nquery plans on this data set (EXPLAIN ANALYZE):")
	for i, q := range queries {
		timing := "OFF"
		if i == len(queries)-1 {
			timing = "ON"
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		rows, err := tx.Query("EXPLAIN (ANALYZE, COSTS OFF, TIMING "+timing+", SUMMARY ON) "+q.q, q.args...)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("explain %s: %w", q.what, err)
		}
		fmt.Printf("  %s:\n", q.what)
		for rows.Next() {
			var line string
			rows.Scan(&line)
			if !strings.HasPrefix(strings.TrimSpace(line), "Planning Time") {
				fmt.Printf("    %s\n", line)
			}
		}
		rows.Close()
		tx.Rollback()
	}
	return nil
}

var (
	// withReplica (-replica, LOADTEST_REPLICA=1): the servers read from a
	// streaming replica, started after the data set is loaded.
	withReplica bool
	replicaEnv  []string
)

// startReplica starts a streaming replica of the throwaway cluster, waits
// until it has replayed the data set and points the servers at it.
func startReplica(dbURL string) error {
	rep, err := testenv.StartReplica()
	if err != nil {
		return fmt.Errorf("starting a replica: %w", err)
	}
	if err := rep.WaitCaughtUp(); err != nil {
		return err
	}
	fmt.Println("reads from a streaming replica:", rep.URL(dbURL))
	replicaEnv = []string{"CLOUDBILL_DATABASE_REPLICA_URL=" + rep.URL(dbURL)}
	return nil
}

// startServer starts the server binary on PostgreSQL at the quiet day and
// waits until it is ready.
func startServer(bin, dbURL string, env ...string) (*exec.Cmd, string, error) {
	addr := freeAddr()
	srv := exec.Command(bin)
	srv.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "CLOUDBILL_JWT_SECRET="+secret, "CLOUDBILL_ADDR="+addr,
		"CLOUDBILL_RATE_LIMIT=0", "CLOUDBILL_DEMO=0", "CLOUDBILL_LOG_LEVEL=warn", "CLOUDBILL_PPROF_ADDR="+os.Getenv("LOADTEST_PPROF_ADDR"),
		// A quiet day of the calendar (after the 3rd, before the regular
		// payment days), so the reads are measured in a steady state.
		"CLOUDBILL_CLOCK="+quietDay.Format(time.RFC3339))
	srv.Env = append(srv.Env, replicaEnv...)
	srv.Env = append(srv.Env, env...)
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	if err := waitReady(base, 30*time.Second); err != nil {
		srv.Process.Kill()
		return nil, "", err
	}
	return srv, base, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuSplit says where the machine's CPU went during a load: the server,
// PostgreSQL's processes, and this process (the load generator), in cores.
type cpuSplit struct{ server, postgres, loadgen float64 }

func (c cpuSplit) String() string {
	return fmt.Sprintf("server %.2f, PostgreSQL %.2f, load generator %.2f cores", c.server, c.postgres, c.loadgen)
}

// serverPID is the server under load, for cpuSplit; profiledPID the one
// whose pprof endpoint LOADTEST_PPROF_ADDR is.
var serverPID, profiledPID int

// cpuTicks sums utime+stime of the server, the postgres processes and the
// load generator (this process, and wrk as an exited child) from /proc
// (Linux only; zero elsewhere).
func cpuTicks() (server, pg, self float64) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := 0
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		f := strings.Fields(s[close+2:])
		if len(f) < 13 {
			continue
		}
		var ut, st, cut, cst float64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		fmt.Sscan(f[13], &cut) // children waited for: wrk, once it has exited
		fmt.Sscan(f[14], &cst)
		t := (ut + st) / 100 // USER_HZ
		if pid == os.Getpid() {
			t += (cut + cst) / 100
		}
		switch {
		case pid == serverPID:
			server += t
		case pid == os.Getpid():
			self += t
		case s[open+1:close] == "postgres":
			pg += t
		}
	}
	return
}

// ingest posts the batches from 4 clients (batch i with token i mod
// len(tokens)) and returns the accepted events per second.
func ingest(base string, bodies [][]byte, tokens []string, name string) (float64, int64, time.Duration) {
	var accepted atomic.Int64
	stopProfile := profile(name, 3)
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
	stopProfile()
	s1, p1, l1 := cpuTicks()
	fmt.Printf("  %s CPU: %s\n", name, cpuSplit{(s1 - s0) / took.Seconds(), (p1 - p0) / took.Seconds(), (l1 - l0) / took.Seconds()})
	return float64(accepted.Load()) / took.Seconds(), accepted.Load(), took
}

// profile starts a CPU profile of the server (LOADTEST_PPROF_ADDR and
// LOADTEST_PROFILE_DIR set), written to name.pprof when stop is called.
func profile(name string, seconds int) (stop func()) {
	pp, dir := os.Getenv("LOADTEST_PPROF_ADDR"), os.Getenv("LOADTEST_PROFILE_DIR")
	if pp == "" || dir == "" || seconds < 1 || serverPID != profiledPID {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pp, seconds))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		if f, err := os.Create(filepath.Join(dir, name+".pprof")); err == nil {
			f.ReadFrom(resp.Body)
			f.Close()
		}
		// Allocations so far (cumulative), for go tool pprof -sample_index=alloc_space.
		if resp, err := http.Get("http://" + pp + "/debug/pprof/allocs"); err == nil {
			if f, err := os.Create(filepath.Join(dir, name+"-allocs.pprof")); err == nil {
				f.ReadFrom(resp.Body)
				f.Close()
			}
			resp.Body.Close()
		}
	}()
	return func() { <-done }
}

// loadResult is what a load measured: requests a second, latencies (ms)
// and the share of HTTP successes.
type loadResult struct {
	Throughput, P50, P99, Success float64
	Tool                          string
}

// attack drives the server at its maximal rate with clients concurrent
// connections for dur, cycling through bodies (body i with bearer i mod
// len(bearer)): with wrk when it is installed (a C load generator leaves
// the shared CPU to the server; apt-get install wrk), else with vegeta in
// this process (LOADTEST_TOOL=vegeta forces it).
func attack(base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) loadResult {
	s0, p0, l0 := cpuTicks()
	t0 := time.Now()
	stopProfile := profile(name, int(dur.Seconds())-2)
	defer func() {
		stopProfile()
		s1, p1, l1 := cpuTicks()
		el := time.Since(t0).Seconds()
		fmt.Printf("  %s CPU: %s\n", name, cpuSplit{(s1 - s0) / el, (p1 - p0) / el, (l1 - l0) / el})
	}()
	if wrk, err := exec.LookPath("wrk"); err == nil && os.Getenv("LOADTEST_TOOL") != "vegeta" {
		if r, err := attackWrk(wrk, base, bodies, bearer, dur, clients, name); err == nil {
			return r
		} else {
			fmt.Fprintln(os.Stderr, "wrk:", err, "— using vegeta")
		}
	}
	m := attackVegeta(base, bodies, bearer, dur, clients, name)
	return loadResult{Throughput: m.Throughput, P50: ms(m.Latencies.P50), P99: ms(m.Latencies.P99), Success: m.Success, Tool: "vegeta"}
}

const wrkScript = `
local tokens, bodies = {}, {}
for line in io.lines(os.getenv("LOADTEST_REQUESTS")) do
  local tab = line:find("\t")
  tokens[#tokens + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
end
local i = 0
request = function()
  i = i + 1
  local k = (i % #bodies) + 1
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[k]}, bodies[k])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
`

func attackWrk(wrk, base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) (loadResult, error) {
	dir, err := os.MkdirTemp("", "cloudbill-wrk-")
	if err != nil {
		return loadResult{}, err
	}
	defer os.RemoveAll(dir)
	var reqs strings.Builder
	for i, b := range bodies {
		reqs.WriteString(bearer[i%len(bearer)] + "\t" + string(b) + "\n")
	}
	script, requests := filepath.Join(dir, "load.lua"), filepath.Join(dir, "requests.tsv")
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return loadResult{}, err
	}
	if err := os.WriteFile(requests, []byte(reqs.String()), 0o600); err != nil {
		return loadResult{}, err
	}
	cmd := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", clients), fmt.Sprintf("-d%ds", int(dur.Seconds())), "-s", script, base)
	cmd.Env = append(os.Environ(), "LOADTEST_REQUESTS="+requests)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("%v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var n, us, p50, p99, errs, non2xx int64
		if _, err := fmt.Sscanf(line, "WRKRESULT %d %d %d %d %d %d", &n, &us, &p50, &p99, &errs, &non2xx); err == nil && n > 0 {
			return loadResult{Throughput: float64(n) / (float64(us) / 1e6), P50: float64(p50) / 1000, P99: float64(p99) / 1000,
				Success: float64(n-errs-non2xx) / float64(n), Tool: "wrk"}, nil
		}
	}
	return loadResult{}, fmt.Errorf("no result in wrk's output: %s", out)
}

func attackVegeta(base string, bodies [][]byte, bearer []string, dur time.Duration, clients int, name string) vegeta.Metrics {
	var i atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		k := int(i.Add(1)) % len(bodies)
		t.Method, t.URL, t.Body = "POST", base+"/graphql", bodies[k]
		t.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + bearer[k%len(bearer)]}}
		return nil
	}
	// Bodies are drained, not kept: the load generator shares the CPU with
	// the server. checkOnce reads whole answers before and after.
	a := vegeta.NewAttacker(vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)), vegeta.KeepAlive(true),
		vegeta.Connections(clients*2), vegeta.MaxBody(0))
	var m vegeta.Metrics
	perSecond := map[int]*vegeta.Metrics{}
	start := time.Now()
	for res := range a.Attack(targeter, vegeta.Rate{Freq: 0}, dur, name) {
		m.Add(res)
		if os.Getenv("LOADTEST_TRACE") != "" {
			sec := int(res.Timestamp.Sub(start).Seconds())
			if perSecond[sec] == nil {
				perSecond[sec] = &vegeta.Metrics{}
			}
			perSecond[sec].Add(res)
		}
	}
	m.Close()
	for sec := 0; sec < len(perSecond); sec++ {
		if ps := perSecond[sec]; ps != nil {
			ps.Close()
			fmt.Printf("    %s second %2d: %5.0f req/s, p50 %5.1f ms, p99 %6.1f ms, max %6.1f ms\n", name, sec, float64(ps.Requests), ms(ps.Latencies.P50), ms(ps.Latencies.P99), ms(ps.Latencies.Max))
		}
	}
	return m
}

func post(base string, body []byte, token string, out any) error {
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// metric reads one unlabelled value of the server's /metrics.
func metric(base, name string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return -1
}

func checkOnce(base string, body []byte, token string) error {
	var out struct {
		Data   map[string]any
		Errors []any
	}
	if err := post(base, body, token, &out); err != nil {
		return err
	}
	if len(out.Errors) > 0 || out.Data == nil {
		return fmt.Errorf("the dashboard query failed: %v", out.Errors)
	}
	return nil
}

// usageEventColumns are the columns both COPYs of usage events write, in
// the order their rows give them.
var usageEventColumns = []string{"id", "org_id", "created_at", "event_id", "billing_group_id",
	"service_code", "region_code", "channel", "metric", "quantity_micros", "occurred_at"}

// seedEventHistory copies perGroup events of month m for every group into
// usage_events, as a month of partners' usage leaves them, and vacuums the
// table as a running platform's older rows would be. The ingestion load
// then inserts into a table and indexes of a working size: into an empty
// table, autovacuum would vacuum it at every 20% of growth, all through the
// load (about a fifth of ingestion's throughput), which a platform with a
// month of usage does not see.
func seedEventHistory(url string, orgs []dataset.Org, perGroup int, m billing.Month) error {
	if perGroup <= 0 {
		return nil
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(pq.CopyIn("usage_events", usageEventColumns...))
	if err != nil {
		return err
	}
	start := m.Start(time.UTC)
	hours := m.Days() * 24
	for _, o := range orgs {
		for gi, g := range o.Groups {
			var ids []string
			xid.AppendNew("use", perGroup, func(id []byte) { ids = append(ids, string(id)) })
			for k, id := range ids {
				at := start.Add(time.Duration(k*hours/perGroup) * time.Hour)
				if _, err := stmt.Exec(id, o.ID, at, fmt.Sprintf("hist-%d-%d", gi, k), g, fmt.Sprintf("ld-svc-%02d", k%10),
					[]string{"ld-a", "ld-b"}[k/10%2], "", "unit", int64(1_500_000), at); err != nil {
					return err
				}
			}
		}
	}
	if _, err := stmt.Exec(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.Exec("VACUUM (ANALYZE) usage_events")
	return err
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
			"ld-a", "", "unit", int64(1_500_000), now); err != nil {
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

func sampleHeap(peak *atomic.Uint64, done chan struct{}) {
	var m runtime.MemStats
	for {
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func procStatus(pid int, key string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key+":") {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(line, key+":")), &kb)
			return fmt.Sprintf("%d MB", kb/1024)
		}
	}
	return "?"
}

func freeAddr() string {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().String()
}

func waitReady(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s", base, limit)
}
