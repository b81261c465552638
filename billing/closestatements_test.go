package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/credits"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/rating"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/credit"
	"github.com/cloudbill/cloudbill/ent/creditentry"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// The month close's cost is per invoice: these are the statements one
// invoice of a month close runs (besides BEGIN and COMMIT), after the page's
// prefetch and the catalog. On PostgreSQL the credits are locked with the
// organization's usage revision in one statement and spent in one; a
// statement added to the path fails this test, and so does a credit's money
// that does not add up afterwards.
func TestMonthCloseStatementsPerInvoice(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const groups = 4
		_, at := seedOctober(t, db, dataset.Options{Groups: groups, Credits: 2})
		pg := db.Dialect == "postgres"
		e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: pg,
			Catalog: catalog.NewCache()}
		lctx, log := store.WithStatementLog(ctx)
		if n, err := e.IssueInvoices(lctx, at); err != nil || n != groups {
			t.Fatalf("issued %d, %v", n, err)
		}
		// The page's reads, then the catalog once.
		fixed := []string{"job_failures", "billing_groups", "organizations", "usage_dailies", "contracts", "discounts",
			"accounts", "coin_charges", "services", "prices", "regions"}
		perInvoice := []string{"credits", "organizations", "INSERT invoices", "INSERT invoice_lines",
			"UPDATE credits", "UPDATE credits", "INSERT credit_entries", "INSERT outbox_events"}
		if pg {
			perInvoice = []string{"claim", "lock credits", "INSERT invoices", "INSERT invoice_lines", "spend credits",
				"INSERT outbox_events"}
		}
		got := map[string]int{}
		for _, q := range log.SQL {
			got[statementKind(q)]++
		}
		want := map[string]int{}
		for _, k := range fixed {
			want[k]++
		}
		for _, k := range perInvoice {
			want[k] += groups
		}
		if len(got) != len(want) {
			t.Errorf("statement kinds %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%d × %s, want %d (all: %v)", got[k], k, n, got)
			}
		}
		creditsAddUp(t, db.Client, groups)
	})
}

// statementKind names a logged statement: the month close's own
// PostgreSQL statements by what they do, the others by their table.
func statementKind(q string) string {
	switch {
	case strings.HasPrefix(q, "SELECT pg_try_advisory_xact_lock"):
		return "claim"
	case strings.HasPrefix(q, "WITH held AS"):
		return "lock credits"
	case strings.HasPrefix(q, "WITH want AS"):
		return "spend credits"
	}
	return testenv.StatementTable(q)
}

// creditsAddUp: every credit's use is its USE entries, its remainder what
// was not used, USED_UP exactly when nothing remains, and the invoices'
// credit amounts are the entries naming them.
func creditsAddUp(t *testing.T, client *ent.Client, groups int) {
	ctx := context.Background()
	cs, err := client.Credit.Query().WithEntries().All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	usedUp, byInvoice := 0, map[string]int64{}
	for _, c := range cs {
		var used int64
		for _, en := range c.Edges.Entries {
			if en.Kind == creditentry.KindUSE {
				used -= en.Amount
				byInvoice[en.InvoiceID] -= en.Amount
			}
		}
		if used != c.Used || c.Accumulated-c.Used != c.Remaining || (c.Remaining == 0) != (c.Status == credit.StatusUSED_UP) ||
			(c.Status == credit.StatusUSED_UP) != (c.ClosedAt != nil) {
			t.Errorf("credit %s: used %d by its entries, %+v", c.ID, used, c)
		}
		if c.Status == credit.StatusUSED_UP {
			usedUp++
		}
	}
	invs, err := client.Invoice.Query().All(ctx)
	if err != nil || len(invs) != groups {
		t.Fatalf("%d invoices, %v", len(invs), err)
	}
	for _, inv := range invs {
		if inv.CreditAmount != byInvoice[inv.ID] || inv.CreditAmount == 0 {
			t.Errorf("invoice %s: credit amount %d, entries %d", inv.ID, inv.CreditAmount, byInvoice[inv.ID])
		}
	}
	t.Logf("%d credits, %d used up", len(cs), usedUp)
}

// Spending more than a credit holds is refused with INSUFFICIENT_BALANCE
// on both databases and, rolled back, leaves the credits and their history
// as they were; spending all of one closes it (USED_UP at that instant).
func TestSpendCreditsIsGuarded(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedOctober(t, db, dataset.Options{Groups: 1, Credits: 2})
		cs, err := db.Client.Credit.Query().Order(ent.Asc(credit.FieldID)).All(ctx)
		if err != nil || len(cs) != 2 {
			t.Fatal(len(cs), err)
		}
		pg := db.Dialect == "postgres"
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		spend := func(uses []rating.CreditUse) error {
			return kernel.WithTx(ctx, db.Client, func(tx *ent.Tx) error {
				return credits.Spend(ctx, tx, pg, cs[0].OrgID, "KRW", "inv_test", uses, at)
			})
		}
		over := []rating.CreditUse{{CreditID: cs[0].ID, Amount: 1}, {CreditID: cs[1].ID, Amount: cs[1].Remaining + 1}}
		var ke *kernel.Error
		if err := spend(over); !errors.As(err, &ke) || ke.Code != kernel.CodeInsufficientBalance {
			t.Fatalf("overspending: %v", err)
		}
		if n, _ := db.Client.CreditEntry.Query().Where(creditentry.KindEQ(creditentry.KindUSE)).Count(ctx); n != 0 {
			t.Fatalf("%d USE entries after a refused spend", n)
		}
		for _, c := range cs {
			if now := db.Client.Credit.GetX(ctx, c.ID); now.Remaining != c.Remaining || now.Used != 0 {
				t.Fatalf("credit %s after a refused spend: %+v", c.ID, now)
			}
		}
		// Two uses of one credit are one entry; all of the other closes it.
		all := []rating.CreditUse{{CreditID: cs[0].ID, Amount: 10}, {CreditID: cs[1].ID, Amount: cs[1].Remaining}, {CreditID: cs[0].ID, Amount: 5}}
		if err := spend(all); err != nil {
			t.Fatal(err)
		}
		a, b := db.Client.Credit.GetX(ctx, cs[0].ID), db.Client.Credit.GetX(ctx, cs[1].ID)
		if a.Remaining != cs[0].Remaining-15 || a.Used != 15 || a.Status != credit.StatusAVAILABLE || a.ClosedAt != nil {
			t.Errorf("partly spent credit: %+v", a)
		}
		if b.Remaining != 0 || b.Used != cs[1].Remaining || b.Status != credit.StatusUSED_UP || b.ClosedAt == nil || !b.ClosedAt.Equal(at) {
			t.Errorf("spent credit: %+v", b)
		}
		es := db.Client.CreditEntry.Query().Where(creditentry.KindEQ(creditentry.KindUSE)).Order(ent.Asc(creditentry.FieldCreditID)).AllX(ctx)
		if len(es) != 2 || es[0].Amount != -15 || es[1].Amount != -cs[1].Remaining || es[0].InvoiceID != "inv_test" ||
			!es[0].OccurredAt.Equal(at) || es[0].OrgID != cs[0].OrgID || es[0].Currency != "KRW" {
			t.Errorf("USE entries: %+v", es)
		}
	})
}
