package dataset_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/catalog"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/server/loadtest/dataset"
	"github.com/cloudbill/cloudbill/server/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// BenchmarkMonthClose issues a month of invoices (20 priced lines and two
// credits to allocate per group) on PostgreSQL; ns/op is per invoice.
//
//	go test -run '^$' -bench MonthClose -benchtime 2000x ./server/loadtest/dataset
func BenchmarkMonthClose(b *testing.B) {
	db := testenv.Postgres(b)
	ctx := context.Background()
	oct := calendar.Month{Year: 2026, Month: 10}
	if _, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: b.N, Month: oct, Credits: 2}); err != nil {
		b.Fatal(err)
	}
	// The catalog cached as the server's engines have it: else each
	// invoice reads it again, which the month close does not.
	e := &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)), Postgres: true,
		Catalog: catalog.NewCache()}
	b.ResetTimer()
	n, err := e.IssueInvoices(ctx, time.Date(2026, 11, 3, 1, 0, 0, 0, calendar.NCPPolicy().Location()))
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if n != b.N {
		b.Fatalf("issued %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
}

// The data set issues one invoice per group with every line rated and the
// credits allocated, also with two replicas closing the month at once.
func TestSeededMonthCloseOnTwoReplicas(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	oct := calendar.Month{Year: 2026, Month: 10}
	if _, err := dataset.Seed(ctx, db.Client, dataset.Options{Groups: 60, Month: oct, Credits: 2}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 1, 0, 0, 0, calendar.NCPPolicy().Location())
	mk := func() *billing.Engine {
		return &billing.Engine{Client: db.Client, Policy: calendar.NCPPolicy(), Clock: calendar.NewFixedClock(at), Postgres: true}
	}
	res := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			n, err := mk().IssueInvoices(ctx, at)
			if err != nil {
				t.Error(err)
			}
			res <- n
		}()
	}
	a, b := <-res, <-res
	count, _ := db.Client.Invoice.Query().Where(invoice.Month("2026-10")).Count(ctx)
	lines, _ := db.Client.InvoiceLine.Query().Count(ctx)
	if a+b != 60 || count != 60 || lines != 60*20 {
		t.Fatalf("replicas issued %d + %d, %d invoices, %d lines; want 60, 60, 1200", a, b, count, lines)
	}
	t.Logf("two replicas divided the close: %d and %d invoices", a, b)
}
