package app_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cloudbill/cloudbill/server/testenv"
)

const catalogSetup = `mutation {
  r: createRegion(input: {code: "kr-1", name: "Korea 1"}) { region { code } }
  s: createService(input: {code: "vm", name: "VM", kind: STANDARD, prices: [{metric: "hour", model: PER_UNIT, unitPrice: "85"}]}) { service { code } }
  a: createService(input: {code: "calls", name: "Calls", kind: STANDARD, prices: [{metric: "call", model: PER_UNIT, unitPrice: "0.5"}]}) { service { code } }
  l: createService(input: {code: "lb", name: "LB", kind: STANDARD, prices: [{metric: "month", model: FLAT_MONTHLY, unitPrice: "18000"}]}) { service { code } }
}`

const recordUsage = `mutation($e: [UsageEventInput!]!) { recordUsage(input: {events: $e}) { accepted duplicates } }`

func event(id, bg, svc, metric, qty, at string) map[string]any {
	return map[string]any{"eventId": id, "billingGroupId": bg, "serviceCode": svc, "region": "kr-1",
		"metric": metric, "quantity": qty, "occurredAt": at}
}

// A whole month on PostgreSQL through GraphQL: usage with duplicates, the
// issue job raced from many goroutines on two server instances, and an
// invoice whose every amount is checked by hand (R-12, R-13, R-38,
//
func TestFullMonthOnPostgres(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnv(t, db)
	e2 := newEnvAt(t, db, e1.clock) // a second replica on the same database
	e1.ok(e1.op, catalogSetup, nil)
	master, _ := e1.signUp("month@example.com")
	bg := e1.mainGroup(master)
	// Backdate the group so October is invoiced for it.
	if _, err := db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = $1`, bg); err != nil {
		t.Fatal(err)
	}
	// Load balancer from Oct 22: 10 of 31 days → 18000 × 10 / 31 = 5806.45… → 5806.
	e1.ok(e1.op, `mutation($bg: ID!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: "2026-10-22"}) { contract { id } } }`,
		map[string]any{"bg": bg})
	events := []any{
		event("a", bg, "vm", "hour", "100.5", "2026-10-05T10:00:00+09:00"),    // 8542.5
		event("b", bg, "vm", "hour", "0.5", "2026-10-31T23:59:59+09:00"),      // 42.5 → vm 8585
		event("c", bg, "calls", "call", "12345", "2026-10-01T00:00:00+09:00"), // 6172.5 → 6173
		event("a", bg, "vm", "hour", "100.5", "2026-10-05T10:00:00+09:00"),    // duplicate in the batch
		event("n", bg, "vm", "hour", "1000", "2026-11-01T00:00:00+09:00"),     // November, not October
	}
	d := e1.ok(e1.op, recordUsage, map[string]any{"e": events})
	if get(d, "recordUsage.accepted") != 4.0 || get(d, "recordUsage.duplicates") != 1.0 {
		t.Fatalf("record = %v", d)
	}
	// The same events again, concurrently from both replicas: all duplicates.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			r := e.gql(e.op, recordUsage, map[string]any{"e": events})
			if len(r.Errors) > 0 || get(r.Data, "recordUsage.accepted") != 0.0 {
				t.Errorf("replayed batch: %v %+v", r.Data, r.Errors)
			}
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()

	// Issue October from 16 goroutines on two replicas at once.
	run := `mutation { runBillingJobs(input: {at: "2026-11-03T00:00:00+09:00"}) { issued } }`
	issued := make(chan float64, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			r := e.gql(e.op, run, nil)
			if len(r.Errors) > 0 {
				t.Errorf("runBillingJobs: %+v", r.Errors)
				return
			}
			issued <- get(r.Data, "runBillingJobs.issued").(float64)
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()
	close(issued)
	total := 0.0
	for n := range issued {
		total += n
	}
	var count int
	db.SQL.QueryRow(`SELECT count(*) FROM invoices WHERE billing_group_id = $1`, bg).Scan(&count)
	if total != 1 || count != 1 {
		t.Fatalf("issued %v in total, %d invoice rows; want exactly 1 (R-51)", total, count)
	}

	inv := e1.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { status
		usageAmount { amount currency } discountAmount { amount } creditAmount { amount } determinedAmount { amount }
		taxAmount { amount } paymentAmount { amount } amountDue { amount }
		lines { region serviceCode usedAmount { amount } determinedAmount { amount } } } } }`, map[string]any{"bg": bg})
	want := map[string]string{
		"status": "ISSUED", "usageAmount.amount": "20564", "usageAmount.currency": "KRW", // 6173 + 5806 + 8585
		"discountAmount.amount": "0", "creditAmount.amount": "0", "determinedAmount.amount": "20564",
		"taxAmount.amount": "2056", "paymentAmount.amount": "22620", "amountDue.amount": "22620",
		"lines.0.serviceCode": "calls", "lines.0.usedAmount.amount": "6173",
		"lines.1.serviceCode": "lb", "lines.1.usedAmount.amount": "5806",
		"lines.2.serviceCode": "vm", "lines.2.usedAmount.amount": "8585",
	}
	for path, w := range want {
		if got := str(inv, "billingGroup.invoice."+path); got != w {
			t.Errorf("invoice %s = %q, want %q", path, got, w)
		}
	}
	// October is closed: late usage is refused, not lost silently.
	e1.fails("BAD_USER_INPUT", e1.op, recordUsage, map[string]any{"e": []any{event("late", bg, "vm", "hour", "1", "2026-10-30T00:00:00+09:00")}})
	// The usage view agrees with the invoice.
	u := e1.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { usage(month: "2026-10") { usedAmount { amount } } billingTrend(months: 2) { months { month usageAmount { amount } billedAmount { amount } invoiced } } } }`,
		map[string]any{"bg": bg})
	if str(u, "billingGroup.usage.usedAmount.amount") != "20564" || str(u, "billingGroup.billingTrend.months.0.billedAmount.amount") != "22620" {
		t.Fatalf("views = %v", u)
	}
	// The current month so far (Nov 1 to yesterday, Nov 19): 1000 h × 85 + LB 19/30 of 18000.
	cu := e1.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { currentUsage { period { from to } usedAmount { amount } } } }`, map[string]any{"bg": bg})
	if str(cu, "billingGroup.currentUsage.period.to") != "2026-11-19" || str(cu, "billingGroup.currentUsage.usedAmount.amount") != fmt.Sprint(85000+11400) {
		t.Fatalf("current usage = %v", cu)
	}
}
