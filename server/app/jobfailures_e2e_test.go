package app_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// poisonPayments makes every payment of one billing group fail to be
// written (a database-level fault for one group); cure removes it.
func poisonPayments(t *testing.T, db *store.DB, bg string) (cure func()) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER poison_payments BEFORE INSERT ON payments WHEN NEW.billing_group_id = '` + bg + `'
		BEGIN SELECT RAISE(ABORT, 'poisoned payment'); END`}
	drop := `DROP TRIGGER poison_payments`
	if db.Dialect == "postgres" {
		stmts = []string{`CREATE FUNCTION poison_payments() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.billing_group_id = '` + bg + `' THEN RAISE EXCEPTION 'poisoned payment'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER poison_payments BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION poison_payments()`}
		drop = `DROP TRIGGER poison_payments ON payments`
	}
	for _, s := range stmts {
		if _, err := db.SQL.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if _, err := db.SQL.Exec(drop); err != nil {
			t.Fatal(err)
		}
	}
}

// metric reads one sample of /metrics (0 when absent).
func (e *env) metric(name string) float64 {
	e.t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(e.metrics())
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// failuresBy indexes a run's stepFailures by "step billingGroupId".
func failuresBy(run map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, f := range run["stepFailures"].([]any) {
		f := f.(map[string]any)
		out[f["step"].(string)+" "+f["billingGroupId"].(string)] = f
	}
	return out
}

// Issue 13, defect 3 (the jobs' layer): a poisoned billing group no longer
// stops the month close for everyone. Three groups carry bad data written
// with raw SQL — a discount whose percentage is no number (rating fails), a
// price turned negative (the invoice breaks its amounts' check constraint,
// which was taken for "already issued" and skipped without a word), and a
// database fault on one group's payments. Every other group is invoiced,
// charged and charged its late fee; each failure is recorded with its step,
// month, error and attempts, reported by runBillingJobs, logged and counted
// in /metrics; an invoice whose automatic payment could not be made is not
// made outstanding; and once the data is mended, the next run retries and
// succeeds — a late invoice gets a full payment period of its own.
func TestPoisonedGroupsDoNotStopTheJobs(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.ok(e.op, `mutation { createService(input: {code: "odd", name: "Odd", kind: STANDARD, prices: [{metric: "unit", model: PER_UNIT, unitPrice: "1"}]}) { service { code } } }`, nil)
		e.at("2026-11-01T10:00:00+09:00")
		groups := map[string]string{}
		tokens := map[string]string{}
		for _, name := range []string{"a", "b", "declined", "discount", "payments"} {
			tokens[name], groups[name] = e.octoberInvoice("poison-" + name + "@example.com")
			tok := "tok_visa"
			if name == "declined" {
				tok = "tok_visa_declined"
			}
			e.ok(tokens[name], registerMethod, card(tok))
		}
		// The price group uses only the "odd" service: 10 units.
		tokens["price"], _ = e.signUp("poison-price@example.com")
		groups["price"] = e.mainGroup(tokens["price"])
		db.SQL.Exec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + groups["price"] + `'`)
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("odd-1", groups["price"], "odd", "unit", "10", "2026-10-10T00:00:00+09:00")}})
		e.ok(tokens["price"], registerMethod, card("tok_visa"))
		e.ok(e.op, `mutation($bg: ID!) { createDiscount(input: {billingGroupId: $bg, month: "2026-10", name: "Loyalty", percentage: "10"}) { discount { id } } }`,
			map[string]any{"bg": groups["discount"]})

		// The poison, written with raw SQL.
		mustExec := func(q string) {
			t.Helper()
			if _, err := db.SQL.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		mustExec(`UPDATE discounts SET percentage = 'ten' WHERE billing_group_id = '` + groups["discount"] + `'`)
		mustExec(`UPDATE prices SET unit_price = '-5' WHERE service_id = (SELECT id FROM services WHERE code = 'odd')`)
		e.app.Resolver().Catalog.Invalidate()
		cure := poisonPayments(t, db, groups["payments"])

		e.at("2026-11-20T10:00:00+09:00")
		issue := e.runJobsAt("2026-11-03T00:00:00+09:00")
		fails := failuresBy(issue)
		if issue["issued"] != 4.0 || len(fails) != 2 {
			t.Fatalf("month close = %v", issue)
		}
		for _, name := range []string{"discount", "price"} {
			f := fails["issue "+groups[name]]
			if f == nil || f["month"] != "2026-10" || f["subjectId"] != groups[name] || f["attempts"] != 1.0 || f["error"] == "" {
				t.Fatalf("%s: failure %v in %v", name, f, issue)
			}
		}
		if !strings.Contains(fails["issue "+groups["price"]]["error"].(string), "invoice_amounts_nonneg") &&
			!strings.Contains(strings.ToLower(fails["issue "+groups["price"]]["error"].(string)), "check") {
			t.Fatalf("the check constraint's failure reads %q", fails["issue "+groups["price"]]["error"])
		}
		if n := e.metric("cloudbill_billing_groups_failing"); n != 2 {
			t.Fatalf("/metrics: %v groups failing, want 2", n)
		}
		if n := e.metric(`cloudbill_billing_job_failures_total{step="issue"}`); n != 2 {
			t.Fatalf("/metrics: %v issue failures, want 2", n)
		}
		var recorded int
		db.SQL.QueryRow(`SELECT count(*) FROM job_failures WHERE step = 'issue' AND month = '2026-10' AND resolved_at IS NULL`).Scan(&recorded)
		if recorded != 2 {
			t.Fatalf("%d issue failures recorded", recorded)
		}

		// To December 1st with the poison still there: the others are
		// charged on the 10th, or declined each day and charged a late fee.
		dec := e.runJobsAt("2026-12-01T00:00:00+09:00")
		if dec["charged"] != 2.0 || dec["failed"] != 5.0 || dec["outstanding"] != 1.0 || dec["lateFees"] != 1.0 {
			t.Fatalf("December 1st = %v", dec)
		}
		if f := failuresBy(dec)["autopay "+groups["payments"]]; f == nil || !strings.Contains(f["error"].(string), "poisoned payment") {
			t.Fatalf("the payments fault is not reported: %v", dec)
		}
		status := func(name, month string) map[string]any {
			t.Helper()
			d := e.ok(e.login("poison-"+name+"@example.com"), `query($bg: ID!, $m: Month!) { billingGroup(id: $bg) { invoice(month: $m) { status
				createdAt outstandingAt lateFeeAmount { amount } amountDue { amount } } } }`, map[string]any{"bg": groups[name], "m": month})
			inv, _ := get(d, "billingGroup.invoice").(map[string]any)
			return inv
		}
		for name, want := range map[string]string{"a": "PAID", "b": "PAID", "declined": "OUTSTANDING", "payments": "ISSUED"} {
			if inv := status(name, "2026-10"); inv["status"] != want {
				t.Fatalf("%s: %v, want %s", name, inv, want)
			}
		}
		if inv := status("declined", "2026-10"); str(inv, "lateFeeAmount.amount") != "1402" {
			t.Fatalf("declined: %v", inv)
		}
		// Never attempted (our fault): not outstanding, no late fee.
		if inv := status("payments", "2026-10"); inv["outstandingAt"] != nil || str(inv, "lateFeeAmount.amount") != "0" {
			t.Fatalf("payments: %v", inv)
		}
		if status("discount", "2026-10") != nil || status("price", "2026-10") != nil {
			t.Fatal("a poisoned group was invoiced")
		}
		if n := e.metric("cloudbill_billing_groups_failing"); n != 3 {
			t.Fatalf("/metrics: %v groups failing, want 3", n)
		}

		// The data mended, the next run retries and succeeds.
		mustExec(`UPDATE discounts SET percentage = '10' WHERE billing_group_id = '` + groups["discount"] + `'`)
		mustExec(`UPDATE prices SET unit_price = '1' WHERE service_id = (SELECT id FROM services WHERE code = 'odd')`)
		e.app.Resolver().Catalog.Invalidate()
		cure()
		mended := e.runJobsAt("2026-12-01T00:05:00+09:00")
		if mended["issued"] != 2.0 || mended["charged"] != 1.0 || len(mended["stepFailures"].([]any)) != 0 {
			t.Fatalf("after mending = %v", mended)
		}
		if n := e.metric("cloudbill_billing_groups_failing"); n != 0 {
			t.Fatalf("/metrics: %v groups failing after mending", n)
		}
		db.SQL.QueryRow(`SELECT count(*) FROM job_failures WHERE resolved_at IS NULL`).Scan(&recorded)
		if recorded != 0 {
			t.Fatalf("%d failures still open", recorded)
		}
		var attempts int
		db.SQL.QueryRow(`SELECT attempts FROM job_failures WHERE step = 'issue' AND billing_group_id = '` + groups["discount"] + `'`).Scan(&attempts)
		if attempts < 2 {
			t.Fatalf("the discount group's issue failed %d times", attempts)
		}
		if inv := status("payments", "2026-10"); inv["status"] != "PAID" {
			t.Fatalf("payments after mending: %v", inv)
		}
		// Issued on December 1st, the late invoices get December's payment
		// days: neither outstanding on the 15th nor charged a late fee, but
		// paid automatically on the 10th. (90% of 85,000 + VAT = 84,150; 10 + 1.)
		for name, amount := range map[string]string{"discount": "84150", "price": "11"} {
			if inv := status(name, "2026-10"); inv["status"] != "ISSUED" || str(inv, "amountDue.amount") != amount {
				t.Fatalf("%s after mending: %v", name, inv)
			}
		}
		e.runJobsAt("2026-12-15T00:00:00+09:00")
		for _, name := range []string{"discount", "price"} {
			if inv := status(name, "2026-10"); inv["status"] != "PAID" || str(inv, "lateFeeAmount.amount") != "0" {
				t.Fatalf("%s on December 15th: %v", name, inv)
			}
		}
	})
}

// Issue 13, defect 3: only the one-invoice-per-month key means "already
// issued". Any other unique key the invoice breaks — here an index on
// (organization, month) added with raw SQL, standing for any key but that
// one — is a failure of that group's month: recorded and retried, never
// taken for an invoice that exists and skipped without a word (as any
// unique violation was before 3a28c06). The check constraint's case is in
// TestPoisonedGroupsDoNotStopTheJobs.
func TestOnlyTheMonthKeyMeansAlreadyIssued(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		token, first := e.octoberInvoice("month-key@example.com")
		second := str(e.ok(token, `mutation { createBillingGroup(input: {name: "Second"}) { billingGroup { id } } }`, nil),
			"createBillingGroup.billingGroup.id")
		mustExec := func(q string) {
			t.Helper()
			if _, err := db.SQL.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		mustExec(`UPDATE billing_groups SET created_at = '2026-09-30T15:00:00Z' WHERE id = '` + second + `'`)
		e.ok(e.op, recordUsage, map[string]any{"e": []any{event("ev-2", second, "vm", "hour", "10", "2026-10-11T00:00:00+09:00")}})
		mustExec(`CREATE UNIQUE INDEX invoices_one_per_org_month ON invoices (org_id, month)`)

		e.at("2026-11-20T10:00:00+09:00")
		run := e.runJobsAt("2026-11-03T00:00:00+09:00")
		fails := run["stepFailures"].([]any)
		if run["issued"] != 1.0 || len(fails) != 1 {
			t.Fatalf("month close with a second unique key = %v", run)
		}
		f := fails[0].(map[string]any)
		issued := first
		if f["billingGroupId"] == first {
			issued = second
		}
		if f["step"] != "issue" || f["month"] != "2026-10" || !strings.Contains(strings.ToLower(f["error"].(string)), "unique") {
			t.Fatalf("the other key's violation reads %v", f)
		}
		if n := e.metric("cloudbill_billing_groups_failing"); n != 1 {
			t.Fatalf("/metrics: %v groups failing, want 1", n)
		}
		invoiced := func(bg string) bool {
			t.Helper()
			d := e.ok(token, `query($bg: ID!) { billingGroup(id: $bg) { invoice(month: "2026-10") { id } } }`, map[string]any{"bg": bg})
			return get(d, "billingGroup.invoice") != nil
		}
		if !invoiced(issued) || invoiced(f["billingGroupId"].(string)) {
			t.Fatalf("invoiced: %s %v, %s %v", issued, invoiced(issued), f["billingGroupId"], invoiced(f["billingGroupId"].(string)))
		}

		// The other key gone, the next run issues the month.
		mustExec(`DROP INDEX invoices_one_per_org_month`)
		if again := e.runJobsAt("2026-11-03T00:05:00+09:00"); again["issued"] != 1.0 || len(again["stepFailures"].([]any)) != 0 {
			t.Fatalf("after dropping the key = %v", again)
		}
		if !invoiced(first) || !invoiced(second) || e.metric("cloudbill_billing_groups_failing") != 0 {
			t.Fatal("a month is still missing or failing")
		}
	})
}
