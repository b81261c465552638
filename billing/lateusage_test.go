package billing_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/usage"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/contract"
	"github.com/cloudbill/cloudbill/ent/discount"
	"github.com/cloudbill/cloudbill/ent/discountuse"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/invoiceline"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// issuingRace is October of 40 single-group organizations on PostgreSQL,
// issued by two engines at once (as two replicas) while a goroutine per
// organization calls change again and again (k = 0, 1, …) until it is
// refused with an error on field (October is invoiced) or the issuing is
// over; a last run then issues the groups skipped meanwhile. It counts the
// calls that went through and those refused, and fails unless both
// happened: only then was the race exercised. Changing until refused,
// rather than a fixed number of times, keeps the race exercised however
// fast the issuers run on a loaded machine.
type issuingRace struct {
	db     *store.DB
	orgs   []dataset.Org
	oct    calendar.Month
	engine func() *billing.Engine
}

func newIssuingRace(t *testing.T) *issuingRace {
	db := testenv.Postgres(t)
	oct := calendar.Month{Year: 2026, Month: 10}
	orgs, err := dataset.Seed(context.Background(), db.Client, dataset.Options{Groups: 40, GroupsPerOrg: 1, Month: oct, Services: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, calendar.NCPPolicy().Location())
	return &issuingRace{db: db, orgs: orgs, oct: oct, engine: func() *billing.Engine {
		return &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: true}
	}}
}

// errEnough from a change ends its organization's calls, uncounted.
var errEnough = errors.New("enough changes")

func (r *issuingRace) run(t *testing.T, what, field string, change func(e *billing.Engine, o dataset.Org, k int) error) {
	ctx := context.Background()
	at := r.engine().Clock.Now()
	var wg, issuers sync.WaitGroup
	var mu sync.Mutex
	var issued atomic.Bool
	accepted, refused := 0, 0
	for i := 0; i < 2; i++ {
		issuers.Add(1)
		go func() {
			defer issuers.Done()
			if _, err := r.engine().IssueInvoices(ctx, at); err != nil {
				t.Error(err)
			}
		}()
	}
	go func() { issuers.Wait(); issued.Store(true) }()
	for _, o := range r.orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := r.engine()
			for k := 0; ; k++ {
				over := issued.Load() // read before the call: one more call after the issuing ended
				err := change(e, o, k)
				var be *kernel.Error
				var batch *usage.BatchError
				mu.Lock()
				stop := over
				switch {
				case errors.Is(err, errEnough):
					stop = true
				case err == nil:
					accepted++
				case errors.As(err, &be) && be.Field == field,
					errors.As(err, &batch) && batch.Events[0].Field == field:
					refused++
					stop = true
				default:
					t.Error(err)
					stop = true
				}
				mu.Unlock()
				if stop {
					return
				}
			}
		}()
	}
	issuers.Wait()
	wg.Wait()
	if _, err := r.engine().IssueInvoices(ctx, at); err != nil { // groups skipped while a change held them
		t.Fatal(err)
	}
	t.Logf("%s: %d before their invoice, %d refused after it", what, accepted, refused)
	if refused == 0 || accepted == 0 {
		t.Fatal("the race was not exercised on both sides")
	}
}

// invoice is the October invoice of o's group.
func (r *issuingRace) invoice(t *testing.T, o dataset.Org) *ent.Invoice {
	inv, err := r.db.Client.Invoice.Query().Where(invoice.BillingGroupID(o.Groups[0]), invoice.Month(r.oct.String())).Only(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// late usage raced against the month's issuing. Every late
// event is either refused because the month is invoiced, or recorded before
// the invoice read the month: afterwards each invoice's usage equals the
// month's rollups rated again, so nothing recorded escaped its invoice.
func TestLateUsageNeverEscapesTheInvoice(t *testing.T) {
	r := newIssuingRace(t)
	ctx := context.Background()
	r.run(t, "late events", "occurredAt", func(e *billing.Engine, o dataset.Org, k int) error {
		_, err := e.Ingestion().RecordUsage(ctx, o.ID, []usage.UsageInput{{EventID: fmt.Sprintf("late-%d", k), BillingGroupID: o.Groups[0],
			ServiceCode: "ld-svc-00", Region: "ld-a", Metric: "unit", Quantity: "1000", OccurredAt: time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)}})
		return err
	})
	for _, o := range r.orgs {
		bg, err := r.db.Client.BillingGroup.Get(ctx, o.Groups[0])
		if err != nil {
			t.Fatal(err)
		}
		now, err := r.engine().Rated().Usage(ctx, bg, r.oct, "")
		if err != nil {
			t.Fatal(err)
		}
		if inv := r.invoice(t, o); now.Used != inv.UsageAmount {
			t.Fatalf("%s: October rated now %d, invoiced %d: recorded usage escaped the invoice", bg.ID, now.Used, inv.UsageAmount)
		}
	}
}

// discounts of a month created by operators while the month is
// being issued. Each either lands on its group's invoice or is refused
// because the month is invoiced — never accepted and then left out of an
// invoice that can no longer change.
func TestDiscountsNeverEscapeTheInvoice(t *testing.T) {
	r := newIssuingRace(t)
	ctx := context.Background()
	// 1% each, at most 100 per group: every accepted discount still has
	// something left to take, so each must show on the invoice.
	r.run(t, "discounts", "month", func(e *billing.Engine, o dataset.Org, k int) error {
		if k >= 100 {
			return errEnough // the group has its 100%
		}
		bg, err := r.db.Client.BillingGroup.Get(ctx, o.Groups[0])
		if err != nil {
			return err
		}
		_, err = e.Coupons().CreateDiscount(ctx, bg, r.oct, fmt.Sprintf("late %d", k), "1", nil, "")
		return err
	})
	for _, o := range r.orgs {
		inv := r.invoice(t, o)
		ds, err := r.db.Client.Discount.Query().Where(discount.BillingGroupID(o.Groups[0]), discount.Month(r.oct.String())).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			used, err := r.db.Client.DiscountUse.Query().Where(discountuse.DiscountID(d.ID), discountuse.InvoiceID(inv.ID)).Exist(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !used {
				t.Fatalf("%s: discount %q was accepted but is not on the invoice (discount %d)", o.Groups[0], d.Name, inv.DiscountAmount)
			}
		}
	}
}

// contracts created by operators while their month is being
// issued: each starting in October either is charged on the October
// invoice or is refused because October is invoiced; one starting in an
// invoiced month, or ending in one, is refused afterwards too.
func TestContractsNeverEscapeTheInvoice(t *testing.T) {
	r := newIssuingRace(t)
	ctx := context.Background()
	if _, err := (catalog.Service{Client: r.db.Client, Policy: calendar.NCPPolicy()}).CreateService(ctx, catalog.ServiceSpec{Code: "lt-flat", Name: "Flat", Kind: "STANDARD",
		Prices: []catalog.PriceSpec{{Metric: "month", Model: "FLAT_MONTHLY", UnitPrice: "3100", Region: "ld-a"}}}); err != nil {
		t.Fatal(err)
	}
	oct1 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	r.run(t, "contracts", "startsOn", func(e *billing.Engine, o dataset.Org, _ int) error {
		bg, err := r.db.Client.BillingGroup.Get(ctx, o.Groups[0])
		if err != nil {
			return err
		}
		_, err = e.CreateContract(ctx, bg, "lt-flat", "ld-a", oct1, nil)
		return err
	})
	for _, o := range r.orgs {
		inv := r.invoice(t, o)
		held, err := r.db.Client.Contract.Query().Where(contract.BillingGroupID(o.Groups[0]), contract.ServiceCode("lt-flat")).Exist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		charged, err := r.db.Client.InvoiceLine.Query().Where(invoiceline.InvoiceID(inv.ID), invoiceline.ServiceCode("lt-flat")).Exist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if held != charged {
			t.Fatalf("%s: contract held %v, charged on the October invoice %v", o.Groups[0], held, charged)
		}
	}
	// Afterwards: starting or ending in invoiced October is refused, in November allowed.
	e := r.engine()
	bg, err := r.db.Client.BillingGroup.Get(ctx, r.orgs[0].Groups[0])
	if err != nil {
		t.Fatal(err)
	}
	var be *kernel.Error
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
	old, err := r.db.Client.Contract.Query().Where(contract.StartsOn(oct1)).First(ctx) // one charged in the race
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EndContract(ctx, old, time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)); !errors.As(err, &be) || be.Field != "endsOn" {
		t.Fatalf("ending a contract in invoiced October: %v", err)
	}
}
