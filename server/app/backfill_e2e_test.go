package app_test

import (
	"context"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Issue 13: usage recorded before the version that added usage_months (the
// month's amount ceiling of bounds.go) was not counted against the month's
// bound. BackfillUsageMonths (run by `server migrate` and on start, app.New)
// fills each group-month from the daily rollups — at least what rating
// makes of the month — once per database (a job_cursors marker), and only
// ever raises a stored amount, so running it again changes nothing. The
// upgrade is simulated as the old version left the tables: rollups, no
// usage_months rows, no marker. Before the backfill, the months had no row.
func TestUsageMonthsBackfilledFromRollups(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, _ := e.signUp("backfill@example.com")
		bg := e.mainGroup(tok)
		e.at("2026-12-20T10:00:00+09:00")
		e.ok(e.op, recordUsage, map[string]any{"e": []any{
			event("bf-1", bg, "calls", "call", "3", "2026-11-05T10:00:00+09:00"), // 1.5 KRW
			event("bf-2", bg, "calls", "call", "1", "2026-11-05T11:00:00+09:00"), // 0.5: one rollup of 4 calls, 2 KRW
			event("bf-3", bg, "vm", "hour", "10", "2026-11-06T10:00:00+09:00"),   // 850
			event("bf-4", bg, "vm", "hour", "2", "2026-12-01T10:00:00+09:00"),    // 170
		}})
		months := func() map[string]int64 {
			t.Helper()
			rows, err := db.SQL.Query(`SELECT month, amount FROM usage_months WHERE billing_group_id = '` + bg + `'`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]int64{}
			for rows.Next() {
				var m string
				var a int64
				rows.Scan(&m, &a)
				out[m] = a
			}
			return out
		}
		if got := months(); got["2026-11"] != 853 || got["2026-12"] != 170 { // each event rounded up: 2 + 1 + 850
			t.Fatalf("usage_months as recorded = %v", got)
		}
		// As the old version left the database.
		for _, q := range []string{`DELETE FROM usage_months`, `DELETE FROM job_cursors`} {
			if _, err := db.SQL.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		n, err := e.app.Engine().Ingestion().BackfillUsageMonths(ctx)
		if err != nil || n != 2 {
			t.Fatalf("backfill = %d, %v", n, err)
		}
		// From the rollups: 4 calls = 2 KRW, 10 hours = 850; December 170.
		if got := months(); len(got) != 2 || got["2026-11"] != 852 || got["2026-12"] != 170 {
			t.Fatalf("usage_months after the backfill = %v", got)
		}
		// At least what rating charges for the month (the rollups rated).
		d := e.ok(tok, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`, map[string]any{"bg": bg})
		if str(d, "billingGroup.usage.usedAmount.amount") != "852" {
			t.Fatalf("November rates to %v", d)
		}
		// Once per database: again, nothing.
		if n, err := e.app.Engine().Ingestion().BackfillUsageMonths(ctx); err != nil || n != 0 {
			t.Fatalf("second backfill = %d, %v", n, err)
		}
		// Run again without its marker, it only raises: a higher stored
		// amount (usage counted since) stays, a lower one is raised.
		db.SQL.Exec(`DELETE FROM job_cursors`)
		db.SQL.Exec(`UPDATE usage_months SET amount = 5000 WHERE month = '2026-11'`)
		db.SQL.Exec(`UPDATE usage_months SET amount = 1 WHERE month = '2026-12'`)
		if n, err := e.app.Engine().Ingestion().BackfillUsageMonths(ctx); err != nil || n != 1 {
			t.Fatalf("backfill without its marker = %d, %v", n, err)
		}
		if got := months(); got["2026-11"] != 5000 || got["2026-12"] != 170 {
			t.Fatalf("usage_months after a repeated backfill = %v", got)
		}
	})
}
