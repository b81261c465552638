package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// pooledDB opens a fresh database through PgBouncer in transaction pooling
// mode, as CLOUDBILL_DATABASE_POOLER=transaction does, and migrates it
// through the pooler.
func pooledDB(t *testing.T) *store.DB {
	t.Helper()
	direct := testenv.PostgresURL(t)
	bouncer := testenv.StartedPgBouncer(t)
	db, err := store.OpenDBWith(bouncer.URL(direct), "", store.Options{Pooler: store.PoolerTransaction, DirectURL: direct})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// The money paths and the month close through PgBouncer (transaction
// pooling): usage recorded from racing partners, coins charged, an instant
// payment, the month's invoices issued and auto-paid by the jobs run from
// two servers at once, each amount checked by hand. Every client
// connection's transactions land on whichever server session is free, so
// a statement prepared by name on one session is unknown to the next.
func TestPgBouncerMoneyPaths(t *testing.T) {
	db := pooledDB(t)
	e := newEnv(t, db)
	e2 := newEnvAt(t, db, e.clock) // a second server on the same pooler
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	instant, instantBG := e.octoberInvoice("bouncer-instant@example.com")
	auto, autoBG := e.octoberInvoice("bouncer-auto@example.com")
	instantPM := str(e.ok(instant, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
	e.ok(auto, registerMethod, card("tok_visa"))

	// November's usage from 8 partners' batches at once, on both servers:
	// 8 × 10 events of 1 hour, each batch sent twice.
	feed := e.partner(auto)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*env{e, e2}[i%2]
			var events []any
			for j := range 10 {
				events = append(events, event(fmt.Sprintf("nov-%d-%d", i/2, j), autoBG, "vm", "hour", "1", "2026-11-01T09:00:00+09:00"))
			}
			if r := s.gql(feed, recordUsage, map[string]any{"e": events}); len(r.Errors) > 0 {
				t.Errorf("recordUsage through PgBouncer: %+v", r.Errors[0])
			}
		}()
	}
	wg.Wait()

	// The month close: October's invoices issued by both servers racing.
	e.at("2026-11-03T00:00:00+09:00")
	issued := make([]float64, 2)
	for i, s := range []*env{e, e2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.gql(e.op, `mutation($at: DateTime!) { runBillingJobs(input: {at: $at}) { issued } }`, map[string]any{"at": "2026-11-03T00:00:00+09:00"})
			if len(r.Errors) > 0 {
				t.Errorf("jobs through PgBouncer: %+v", r.Errors)
				return
			}
			issued[i], _ = get(r.Data, "runBillingJobs.issued").(float64)
		}()
	}
	wg.Wait()
	if issued[0]+issued[1] != 2 {
		t.Fatalf("the racing jobs issued %v invoices, want 2 in all", issued)
	}

	// Coins, then an instant payment: 93,500 due, 50,000 of coins, 43,500 by card.
	e.at("2026-11-05T15:00:00+09:00")
	instant = e.login("bouncer-instant@example.com")
	e.chargeCoins(instant, instantPM, "50000", "c-bouncer")
	p := e2.ok(instant, payInstantly, map[string]any{"in": map[string]any{"billingGroupId": instantBG, "paymentMethodId": instantPM, "idempotencyKey": "p-bouncer"}})
	if str(p, "payInstantly.payment.status") != "SUCCESSFUL" || str(p, "payInstantly.payment.amount.amount") != "43500" {
		t.Fatalf("instant payment = %v, want 43,500 by card after the coins", p)
	}
	if w := e.wallet(instant); w != "0" {
		t.Fatalf("wallet = %s after paying, want 0", w)
	}

	// The 10th: the jobs charge the other invoice (93,500).
	e.at("2026-11-10T09:00:00+09:00")
	if got := e.runJobs("2026-11-10T09:00:00+09:00"); get(got, "runBillingJobs.charged") != 1.0 {
		t.Fatalf("the 10th = %v", got)
	}
	auto = e.login("bouncer-auto@example.com")
	for _, c := range []struct{ tok, bg string }{{instant, instantBG}, {auto, autoBG}} {
		inv := e.ok(c.tok, invoiceQuery, map[string]any{"bg": c.bg, "m": "2026-10"})
		if str(inv, "billingGroup.invoice.status") != "PAID" || str(inv, "billingGroup.invoice.amountDue.amount") != "0" {
			t.Fatalf("invoice = %v", inv)
		}
	}
	// November so far: 80 distinct events of 1 hour at 85 = 6,800.
	u := e.ok(auto, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-11") { usedAmount { amount } } } }`, map[string]any{"bg": autoBG})
	if got := str(u, "billingGroup.usage.usedAmount.amount"); got != "6800" {
		t.Fatalf("November's usage = %s, want 6800 (80 events of 1 hour at 85)", got)
	}
}

// Behind PgBouncer, a payment settled on one server still reaches the
// paymentUpdated subscribers of another: the relay LISTENs on the direct
// connection (CLOUDBILL_DATABASE_DIRECT_URL), never through the pooler,
// which would hand the listening session to other clients.
func TestPgBouncerPaymentUpdatedAcrossReplicas(t *testing.T) {
	paymentUpdatedAcrossReplicas(t, pooledDB(t))
}
