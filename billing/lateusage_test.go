package billing_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/discountuse"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/invoiceline"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// late usage raced against the month's issuing on PostgreSQL
// (goroutines on two engines, as on two replicas). Every late event is
// either refused because the month is invoiced, or recorded before the
// invoice read the month: afterwards each invoice's usage equals the
// month's rollups rated again, so nothing recorded escaped its invoice.
func TestLateUsageNeverEscapesTheInvoice(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	oct := billing.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 40, GroupsPerOrg: 1, Month: oct, Services: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, billing.NCPPolicy().Location())
	engine := func() *billing.Engine {
		return &billing.Engine{Client: db.Client, Policy: billing.NCPPolicy(), Clock: billing.NewFixedClock(at), Postgres: true}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 2; i++ { // two replicas issuing
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := engine().IssueInvoices(ctx, at); err != nil {
				t.Error(err)
			}
		}()
	}
	for _, o := range orgs { // each group's partner sending late October usage meanwhile
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engine()
			for k := 0; k < 8; k++ {
				_, err := e.RecordUsage(ctx, o.ID, []billing.UsageInput{{EventID: fmt.Sprintf("late-%d", k), BillingGroupID: o.Groups[0],
					ServiceCode: "ld-svc-00", Region: "ld-a", Metric: "unit", Quantity: "1000", OccurredAt: time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)}})
				var be *billing.BatchError
				mu.Lock()
				switch {
				case err == nil:
					accepted++
				case errors.As(err, &be) && be.Events[0].Field == "occurredAt":
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Groups skipped while usage held their month are issued by the next run.
	if _, err := engine().IssueInvoices(ctx, at); err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		bg, err := db.Client.BillingGroup.Get(ctx, o.Groups[0])
		if err != nil {
			t.Fatal(err)
		}
		inv, err := db.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(oct.String())).Only(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now, err := engine().Usage(ctx, bg, oct, "")
		if err != nil {
			t.Fatal(err)
		}
		if now.Used != inv.UsageAmount {
			t.Fatalf("%s: October rated now %d, invoiced %d: recorded usage escaped the invoice", bg.ID, now.Used, inv.UsageAmount)
		}
	}
	t.Logf("late events: %d recorded before their invoice, %d refused after it", accepted, refused)
	if refused == 0 {
		t.Fatal("no late event met an issued month: the race was not exercised")
	}
}

// discounts of a month created by operators while the month
// is being issued (two engines, as on two replicas). Each either lands on
// its group's invoice or is refused because the month is invoiced — never
// accepted and then left out of an invoice that can no longer change.
func TestDiscountsNeverEscapeTheInvoice(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	oct := billing.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 40, GroupsPerOrg: 1, Month: oct, Services: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, billing.NCPPolicy().Location())
	engine := func() *billing.Engine {
		return &billing.Engine{Client: db.Client, Policy: billing.NCPPolicy(), Clock: billing.NewFixedClock(at), Postgres: true}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := engine().IssueInvoices(ctx, at); err != nil {
				t.Error(err)
			}
		}()
	}
	for _, o := range orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engine()
			bg, err := db.Client.BillingGroup.Get(ctx, o.Groups[0])
			if err != nil {
				t.Error(err)
				return
			}
			for k := 0; k < 4; k++ {
				_, err := e.CreateDiscount(ctx, bg, oct, fmt.Sprintf("late %d", k), "10", nil, "")
				var be *billing.Error
				mu.Lock()
				switch {
				case err == nil:
					accepted++
				case errors.As(err, &be) && be.Field == "month":
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if _, err := engine().IssueInvoices(ctx, at); err != nil { // groups skipped while a discount held them
		t.Fatal(err)
	}
	for _, o := range orgs {
		inv, err := db.Client.Invoice.Query().Where(invoice.BillingGroupID(o.Groups[0]), invoice.Month(oct.String())).Only(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := db.Client.Discount.Query().Where(discount.BillingGroupID(o.Groups[0]), discount.Month(oct.String())).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			used, err := db.Client.DiscountUse.Query().Where(discountuse.DiscountID(d.ID), discountuse.InvoiceID(inv.ID)).Exist(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !used {
				t.Fatalf("%s: discount %q was accepted but is not on the invoice (discount %d)", o.Groups[0], d.Name, inv.DiscountAmount)
			}
		}
	}
	t.Logf("discounts: %d accepted before their invoice, %d refused after it", accepted, refused)
	if refused == 0 || accepted == 0 {
		t.Fatal("the race was not exercised on both sides")
	}
}

// contracts created by operators while their month is being
// issued: each starting in October either is charged on the October invoice
// or is refused because October is invoiced; one starting in an invoiced
// month, or ending in one, is refused afterwards too.
func TestContractsNeverEscapeTheInvoice(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	oct := billing.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 40, GroupsPerOrg: 1, Month: oct, Services: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := billing.CreateService(ctx, db.Client, "KRW", billing.ServiceSpec{Code: "lt-flat", Name: "Flat", Kind: "STANDARD",
		Prices: []billing.PriceSpec{{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "3100", Region: "ld-a"}}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, billing.NCPPolicy().Location())
	engine := func() *billing.Engine {
		return &billing.Engine{Client: db.Client, Policy: billing.NCPPolicy(), Clock: billing.NewFixedClock(at), Postgres: true}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := engine().IssueInvoices(ctx, at); err != nil {
				t.Error(err)
			}
		}()
	}
	for _, o := range orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bg, err := db.Client.BillingGroup.Get(ctx, o.Groups[0])
			if err != nil {
				t.Error(err)
				return
			}
			_, err = engine().CreateContract(ctx, bg, "lt-flat", "ld-a", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), nil)
			var be *billing.Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &be) && be.Field == "startsOn":
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := engine().IssueInvoices(ctx, at); err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		inv, err := db.Client.Invoice.Query().Where(invoice.BillingGroupID(o.Groups[0]), invoice.Month(oct.String())).Only(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held, err := db.Client.Contract.Query().Where(contract.BillingGroupID(o.Groups[0]), contract.ServiceCode("lt-flat")).Exist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		charged, err := db.Client.InvoiceLine.Query().Where(invoiceline.InvoiceID(inv.ID), invoiceline.ServiceCode("lt-flat")).Exist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if held != charged {
			t.Fatalf("%s: contract held %v, charged on the October invoice %v", o.Groups[0], held, charged)
		}
	}
	t.Logf("contracts: %d charged on their invoice, %d refused after it", accepted, refused)
	if refused == 0 || accepted == 0 {
		t.Fatal("the race was not exercised on both sides")
	}
	// Afterwards: starting or ending in invoiced October is refused, in November allowed.
	e := engine()
	bg, err := db.Client.BillingGroup.Get(ctx, orgs[0].Groups[0])
	if err != nil {
		t.Fatal(err)
	}
	var be *billing.Error
	if _, err := e.CreateContract(ctx, bg, "lt-flat", "ld-a", time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), nil); !errors.As(err, &be) || be.Field != "startsOn" {
		t.Fatalf("a contract starting in invoiced October: %v", err)
	}
	c, err := e.CreateContract(ctx, bg, "lt-flat", "ld-a", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EndContract(ctx, c, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	old, err := db.Client.Contract.Query().Where(contract.StartsOn(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))).First(ctx) // one charged in the race
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EndContract(ctx, old, time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)); !errors.As(err, &be) || be.Field != "endsOn" {
		t.Fatalf("ending a contract in invoiced October: %v", err)
	}
}
