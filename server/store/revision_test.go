package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/migrate"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Every table that carries an organization says how its changes reach the
// per-organization caches and the read replicas (schema.Revision): a table
// that says nothing would be served stale by the caches, or never by a
// replica, without anybody noticing.
func TestEveryTenantTableDecidesItsRevision(t *testing.T) {
	decided := map[string]int{}
	for _, tb := range ent.RevisionTables {
		decided[tb]++
	}
	for tb := range ent.RevisionCovered {
		decided[tb]++
	}
	for tb := range ent.RevisionOutside {
		decided[tb]++
	}
	tenant := 0
	for _, tb := range migrate.Tables {
		hasOrg := false
		for _, c := range tb.Columns {
			hasOrg = hasOrg || c.Name == "org_id"
		}
		if !hasOrg {
			if decided[tb.Name] > 0 {
				t.Errorf("%s has no org_id but a Revision annotation", tb.Name)
			}
			continue
		}
		tenant++
		switch decided[tb.Name] {
		case 0:
			t.Errorf("tenant table %s does not say how its changes move the organization's revision: "+
				"give it TenantMixin{Revision: …} (or a Revision annotation) in ent/schema", tb.Name)
		case 1:
		default:
			t.Errorf("tenant table %s is in more than one revision list", tb.Name)
		}
	}
	if tenant < 25 {
		t.Fatalf("only %d tenant tables found: is org_id still the tenant column?", tenant)
	}
}

// The triggers installed on each database are exactly those of the
// generated list.
func TestRevisionTriggersFollowTheSchema(t *testing.T) {
	want := append([]string(nil), ent.RevisionTables...)
	sort.Strings(want)
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": testenv.SQLite, "postgres": testenv.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			q := `SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'cloudbill_revision_%' ORDER BY 1`
			if db.Dialect == dialect.Postgres {
				q = `SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'cloudbill_revision' ORDER BY 1`
			}
			rows, err := db.SQL.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("revision triggers on %s:\n got %v\nwant %v", name, got, want)
			}
		})
	}
}

// cloudbill_bump_usage locks the organizations it moves in the order of
// their primary key, whatever plan the table's size would favour (here it
// names nearly every row, where a sequential scan is cheapest and
// deadlocks): batches of recordUsage naming the same organizations race
// without a deadlock, and every bump counts.
func TestBumpUsageNeverDeadlocks(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	const orgs, workers, bumps = 300, 4, 15
	ids := make([]string, orgs)
	for i := range ids {
		ids[i] = fmt.Sprintf("org_bump%04d", i)
		if err := db.Client.Organization.Create().SetID(ids[i]).SetName(ids[i]).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(ids)
	var wg sync.WaitGroup
	errs := make(chan error, workers*bumps)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range bumps {
				tx, err := db.SQL.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				// Another statement of the batch after the bump keeps the
				// locks held a moment longer, as the commit does.
				if _, err := tx.ExecContext(ctx, `SELECT cloudbill_bump_usage($1)`, pq.StringArray(ids)); err != nil {
					tx.Rollback()
					errs <- err
					continue
				}
				if _, err := tx.ExecContext(ctx, `SELECT pg_sleep(0.002)`); err != nil {
					errs <- err
				}
				if err := tx.Commit(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var low, high int64
	if err := db.SQL.QueryRowContext(ctx, `SELECT min(usage_revision), max(usage_revision) FROM organizations WHERE id LIKE 'org_bump%'`).Scan(&low, &high); err != nil {
		t.Fatal(err)
	}
	if low != workers*bumps || high != workers*bumps {
		t.Fatalf("usage revisions %d..%d, want %d", low, high, workers*bumps)
	}
}
