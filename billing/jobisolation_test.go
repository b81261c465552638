package billing_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// One billing group whose rollups add up past int64 (data written before
// quantities were bounded) makes the month close's read of its whole page
// of groups fail: the page's other groups are issued all the same (each
// then read on its own), and only that group is reported failing.
func TestMonthCloseIsolatesAFailingPageRead(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		orgs, at := seedOctober(t, db, dataset.Options{Groups: 3, GroupsPerOrg: 1, Services: 2})
		poisoned := orgs[1].Groups[0]
		for _, day := range []string{"2026-10-28", "2026-10-29"} {
			if _, err := db.SQL.Exec(`INSERT INTO usage_dailies (id, org_id, billing_group_id, day, service_code, region_code, channel, metric, quantity_micros)
				VALUES ('ud_poison_` + day + `', '` + orgs[1].ID + `', '` + poisoned + `', '` + day + `', 'ld-svc-00', 'ld-a', 'poison', 'unit', 9000000000000000000)`); err != nil {
				t.Fatal(err)
			}
		}
		e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: db.Dialect == "postgres"}
		n, err := e.IssueInvoices(ctx, at)
		var fs billing.StepFailures
		if n != 2 || !errors.As(err, &fs) || len(fs) != 1 || fs[0].BillingGroupID != poisoned || fs[0].Step != billing.StepIssue || fs[0].Month != "2026-10" {
			t.Fatalf("issued %d, err %v", n, err)
		}
	})
}

// The month close reads its groups a page at a time (500): over three
// pages, the last of one group, every group is issued exactly once — by
// one engine on SQLite, by two racing engines on PostgreSQL.
func TestMonthCloseIssuesEveryPage(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const groups = 1001
		_, at := seedOctober(t, db, dataset.Options{Groups: groups, Services: 2})
		pg := db.Dialect == "postgres"
		engines := 1
		if pg {
			engines = 2
		}
		issued := make([]int, engines)
		errs := make([]error, engines)
		var wg sync.WaitGroup
		for i := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: pg}
				issued[i], errs[i] = e.IssueInvoices(ctx, at)
			}()
		}
		wg.Wait()
		total := 0
		for i := range engines {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			total += issued[i]
		}
		var invoices, perGroup int
		if err := db.SQL.QueryRow(`SELECT count(*), count(DISTINCT billing_group_id) FROM invoices WHERE month = '2026-10'`).Scan(&invoices, &perGroup); err != nil {
			t.Fatal(err)
		}
		// A group skipped by one engine while the other issued it is issued
		// by that other; none is left, none twice.
		if total != groups || invoices != groups || perGroup != groups {
			t.Fatalf("issued %v (total %d), %d invoices for %d groups, want %d each", issued, total, invoices, perGroup, groups)
		}
	})
}

// seedOctober seeds the load script's data set of opts with October 2026's
// usage on db, and answers its organizations and the instant of October's
// close (November 3rd, 01:00 KST, R-38).
func seedOctober(t *testing.T, db *store.DB, opts dataset.Options) ([]dataset.Org, time.Time) {
	t.Helper()
	opts.Month = calendar.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(context.Background(), db.Client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return orgs, time.Date(2026, 11, 3, 1, 0, 0, 0, calendar.NCPPolicy().Location())
}
