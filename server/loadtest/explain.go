package main

import (
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/lib/pq"
)

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

// explained is a statement to explain, with what it is and its arguments.
type explained struct {
	what, q string
	args    []any
}

// explainQueries shows, on the generated data set, how PostgreSQL runs
// the statements the targets depend on (EXPLAIN ANALYZE): the one a warm
// dashboard runs, the ones a cold one adds, and the month close's.
func explainQueries(db *sql.DB, orgs []dataset.Org) error {
	org := orgs[0]
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
	queries := []explained{
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
	queries = append(queries, explained{"ingestion: one batch of 1,000 new events and their rollups (rolled back)", usage.RecordEventsSQL, ingestionExplainArgs(org)})
	queries = append(queries, explained{"ingestion, hot keys: one batch of 1,000 new events on 1,000 organizations (rolled back)", usage.RecordEventsSQL, hotExplainArgs(orgs)})
	return explain(db, queries)
}

// ingestionExplainArgs are the arguments of one partner-shaped batch of
// 1,000 new events for org (explained in a transaction rolled back
// afterwards, timed per plan node).
func ingestionExplainArgs(org dataset.Org) []any {
	return batchExplainArgs(func(k int) (dataset.Org, int) { return org, k })
}

// hotExplainArgs are those of one hot-key batch (hotBatch 0): event k on
// the first group of orgs[k].
func hotExplainArgs(orgs []dataset.Org) []any {
	return batchExplainArgs(func(k int) (dataset.Org, int) { return orgs[k%len(orgs)], 0 })
}

// batchExplainArgs: event k of 1,000 is of the organization eventOf names
// and spread as usageEvent spreads its j'th event — j = k for the partner
// shape, 0 for hotBatch's first batch.
func batchExplainArgs(eventOf func(k int) (dataset.Org, int)) []any {
	n := 1000
	pairs := map[string]bool{}
	cols := make([][]string, 11)
	micros := make([]int64, n)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for k := 0; k < n; k++ {
		org, j := eventOf(k)
		pairs[org.Groups[j%len(org.Groups)]] = true
		at := quietDay.Add(-time.Duration(j%600) * time.Minute)
		for i, v := range []string{fmt.Sprintf("use_explain%019d", k), org.ID, fmt.Sprintf("explain-%d", k), org.Groups[j%len(org.Groups)],
			fmt.Sprintf("ld-svc-%02d", (j/len(org.Groups))%10), []string{"ld-a", "ld-b"}[(j/len(org.Groups)/10)%2], "", "unit", "",
			at.UTC().Format(time.RFC3339Nano), at.In(calendar.NCPPolicy().Location()).Format("2006-01-02")} {
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
	groups := slices.Sorted(maps.Keys(pairs))
	args = append(args, quietDay, pq.StringArray(groups), pq.StringArray(slices.Repeat([]string{"2026-11"}, len(groups))),
		pq.Int64Array(slices.Repeat([]int64{2}, n)), kernel.MaxDailyMicros, kernel.MaxMonthUsageAmount) // amount ceilings, bounds
	return args
}

// explain prints EXPLAIN ANALYZE of each query (timed per node for the
// last), each in a transaction rolled back.
func explain(db *sql.DB, queries []explained) error {
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
