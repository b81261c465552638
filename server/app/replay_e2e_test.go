package app_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

const runJobsFull = `mutation($at: DateTime!) { runBillingJobs(input: {at: $at}) { at ranThrough steps issued charged failed outstanding lateFees expired
	stepFailures { step billingGroupId subjectId month key error attempts } } }`

// runJobsAt runs the billing jobs at an instant and returns the payload.
func (e *env) runJobsAt(at string) map[string]any {
	e.t.Helper()
	return e.ok(e.op, runJobsFull, map[string]any{"at": at})["runBillingJobs"].(map[string]any)
}

// instant parses an RFC 3339 answer.
func instant(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%q is not an instant: %v", v, err)
	}
	return at
}

func kstAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const paymentsQuery = `query($bg: ID!) { billingGroup(id: $bg) { payments(first: 20) { edges { node { kind status createdAt paidAt } } }
	invoice(month: "2026-10") { status issuedAt outstandingAt paidAt lateFeeAmount { amount } amountDue { amount } coinAmount { amount } } } }`

// attempts lists a group's automatic payments, oldest first.
func attempts(t *testing.T, d map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range get(d, "billingGroup.payments.edges").([]any) {
		if n := e.(map[string]any)["node"].(map[string]any); n["kind"] == "AUTOMATIC" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return instant(t, out[i]["createdAt"]).Before(instant(t, out[j]["createdAt"])) })
	return out
}

// R-41..R-44: runBillingJobs far ahead of the last run replays every step
// due in between, in order, each dated by its calendar instant (not the
// server's clock): the automatic payment of each day from the 10th to the
// 14th, the invoice turning outstanding on the 15th (22:00 on the last day
// for a virtual account), then December's late fee. Before, a run at
// December 1st made October's invoice outstanding and charged a late fee
// with no automatic payment ever attempted, and coin uses took the
// server's clock. A run at an earlier instant does nothing new; a run again
// at the same instant changes nothing.
func TestReplayingTheCalendarSkipsNoStep(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		declined, declinedBG := e.octoberInvoice("replay-declined@example.com")
		good, goodBG := e.octoberInvoice("replay-good@example.com")
		coins, coinsBG := e.octoberInvoice("replay-coins@example.com")
		deposit, depositBG := e.octoberInvoice("replay-deposit@example.com")
		e.ok(declined, registerMethod, card("tok_visa_declined"))
		e.ok(good, registerMethod, card("tok_visa"))
		coinsPM := str(e.ok(coins, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		e.chargeCoins(coins, coinsPM, "50000", "replay-coins") // pays 50,000 of October at its issue
		e.ok(deposit, registerMethod, card("tok_visa"))
		e.ok(deposit, `mutation { changePaymentMethod(input: {type: DIRECT_DEPOSIT}) { paymentMethod { id } } }`, nil)

		// The server's clock stays on November 20th at 10:00 while the
		// calendar is run at other instants.
		e.at("2026-11-20T10:00:00+09:00")
		// The groups date from October 1st (octoberInvoice): the first run
		// replays October's calendar from there (finding 104), then issues
		// October's invoices.
		first := e.runJobsAt("2026-11-03T00:00:00+09:00")
		if first["issued"] != 4.0 || first["steps"] != 11.0 {
			t.Fatalf("first run = %v", first)
		}
		jump := e.runJobsAt("2026-12-01T00:00:00+09:00")
		// Nov 4 (tax invoices), 10, 11, 12, 13, 14, 15, Nov 30 22:00, then Dec 1.
		if jump["steps"] != 9.0 || jump["charged"] != 2.0 || jump["failed"] != 5.0 || jump["outstanding"] != 2.0 ||
			jump["lateFees"] != 2.0 || len(jump["stepFailures"].([]any)) != 0 || !instant(t, jump["ranThrough"]).Equal(kstAt("2026-12-01T00:00:00+09:00")) {
			t.Fatalf("far jump = %v", jump)
		}

		for _, c := range []struct {
			token, bg, name string
		}{{declined, declinedBG, "declined"}, {good, goodBG, "good"}, {coins, coinsBG, "coins"}, {deposit, depositBG, "deposit"}} {
			d := e.ok(e.login(fmt.Sprintf("replay-%s@example.com", c.name)), paymentsQuery, map[string]any{"bg": c.bg})
			auto := attempts(t, d)
			inv := get(d, "billingGroup.invoice")
			switch c.name {
			case "declined":
				// Attempted on each regular day at 00:00 KST, declined each time.
				if len(auto) != 5 {
					t.Fatalf("declined card: %d automatic attempts, want 5: %v", len(auto), auto)
				}
				for i, p := range auto {
					if want := kstAt(fmt.Sprintf("2026-11-%02dT00:00:00+09:00", 10+i)); p["status"] != "FAILED" || !instant(t, p["createdAt"]).Equal(want) {
						t.Fatalf("attempt %d = %v, want FAILED at %v", i, p, want)
					}
				}
				// Outstanding from the 15th, one late fee: 1.5% of 93,500, rounded down.
				if str(inv, "status") != "OUTSTANDING" || !instant(t, get(inv, "outstandingAt")).Equal(kstAt("2026-11-15T00:00:00+09:00")) ||
					str(inv, "lateFeeAmount.amount") != "1402" {
					t.Fatalf("declined invoice = %v", inv)
				}
			case "good", "coins":
				// Paid on the 10th at 00:00 KST, not at the server's clock.
				if len(auto) != 1 || auto[0]["status"] != "SUCCESSFUL" || !instant(t, auto[0]["paidAt"]).Equal(kstAt("2026-11-10T00:00:00+09:00")) ||
					str(inv, "status") != "PAID" || !instant(t, get(inv, "paidAt")).Equal(kstAt("2026-11-10T00:00:00+09:00")) {
					t.Fatalf("%s: payments %v, invoice %v", c.name, auto, inv)
				}
			case "deposit":
				// Nothing charged; outstanding at 22:00 on November 30th, then a late fee.
				if len(auto) != 0 || str(inv, "status") != "OUTSTANDING" ||
					!instant(t, get(inv, "outstandingAt")).Equal(kstAt("2026-11-30T22:00:00+09:00")) || str(inv, "lateFeeAmount.amount") != "1402" {
					t.Fatalf("deposit: payments %v, invoice %v", auto, inv)
				}
			}
		}
		// The coins used at October's issue are dated by it, not by the clock.
		w := e.ok(e.login("replay-coins@example.com"), `{ viewer { account { coins { usages(period: "2026-11") { occurredAt bonusAmount { amount } chargedAmount { amount } } } } } }`, nil)
		uses := get(w, "viewer.account.coins.usages").([]any)
		if len(uses) != 1 || !instant(t, get(uses[0], "occurredAt")).Equal(kstAt("2026-11-03T00:00:00+09:00")) {
			t.Fatalf("coin uses = %v", uses)
		}

		// Earlier than the last run: nothing new. Again at it: nothing new.
		for _, at := range []string{"2026-11-20T10:00:00+09:00", "2026-12-01T00:00:00+09:00"} {
			again := e.runJobsAt(at)
			if again["steps"] != 0.0 || again["issued"] != 0.0 || again["failed"] != 0.0 || again["lateFees"] != 0.0 ||
				!instant(t, again["ranThrough"]).Equal(kstAt("2026-12-01T00:00:00+09:00")) {
				t.Fatalf("run at %s after December 1st = %v", at, again)
			}
		}
		// More than 5 years ahead at once is refused.
		r := e.fails("BAD_USER_INPUT", e.op, runJobsFull, map[string]any{"at": "2031-12-01T00:00:01+09:00"})
		if r.Errors[0].Extensions["field"] != "at" {
			t.Fatalf("refusal = %+v", r.Errors)
		}
	})
}

// In production an instant ahead of the server's clock is refused
// (BAD_USER_INPUT, field at); the clock's own instant runs. On both databases.
func TestProductionRunsNoFutureCalendar(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, func(c *app.Config) { c.Production = true })
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-03T13:59:00+09:00")
		r := e.fails("BAD_USER_INPUT", e.op, runJobsFull, map[string]any{"at": "2026-11-03T13:59:01+09:00"})
		if r.Errors[0].Extensions["field"] != "at" {
			t.Fatalf("refusal = %+v", r.Errors)
		}
		if d := e.runJobsAt("2026-11-03T13:59:00+09:00"); !instant(t, d["ranThrough"]).Equal(kstAt("2026-11-03T13:59:00+09:00")) {
			t.Fatalf("run at the clock = %v", d)
		}
		if d := e.ok(e.op, `mutation { runBillingJobs { at ranThrough } }`, nil); !instant(t, get(d, "runBillingJobs.at")).Equal(kstAt("2026-11-03T13:59:00+09:00")) {
			t.Fatalf("run now = %v", d)
		}
	})
}

// Two replicas (two servers on one PostgreSQL) replay the calendar at the
// same time, from several goroutines each: every step runs once — one
// automatic attempt per invoice and day, one outstanding marking, one late
// fee — and in order: no invoice turns outstanding before its five
// attempts.
func TestReplicasReplayTheCalendarTogether(t *testing.T) {
	db := testenv.Postgres(t)
	e1 := newEnv(t, db)
	e2 := newEnvAt(t, db, e1.clock)
	e1.ok(e1.op, catalogSetup, nil)
	e1.at("2026-11-01T10:00:00+09:00")
	var declined, good []string
	for i := 0; i < 3; i++ {
		tok, bg := e1.octoberInvoice(fmt.Sprintf("rep-declined-%d@example.com", i))
		e1.ok(tok, registerMethod, card("tok_visa_declined"))
		declined = append(declined, bg)
		tok, bg = e1.octoberInvoice(fmt.Sprintf("rep-good-%d@example.com", i))
		e1.ok(tok, registerMethod, card("tok_visa"))
		good = append(good, bg)
	}
	e1.at("2026-11-20T10:00:00+09:00")
	e2.op = e1.op
	if d := e1.runJobsAt("2026-11-03T00:00:00+09:00"); d["issued"] != 6.0 {
		t.Fatalf("issue = %v", d)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := map[string]float64{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(e *env) {
			defer wg.Done()
			r := e.gql(e.op, runJobsFull, map[string]any{"at": "2027-01-01T00:00:00+09:00"})
			if len(r.Errors) > 0 {
				t.Errorf("runBillingJobs: %+v", r.Errors)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range []string{"charged", "failed", "outstanding", "lateFees"} {
				total[k] += get(r.Data, "runBillingJobs."+k).(float64)
			}
		}([]*env{e1, e2}[i%2])
	}
	wg.Wait()
	// 3 charged on the 10th; 3 × 5 declined attempts; 3 outstanding; 3 × 2
	// late fees (December and January).
	if total["charged"] != 3 || total["failed"] != 15 || total["outstanding"] != 3 || total["lateFees"] != 6 {
		t.Fatalf("the replicas together: %v", total)
	}
	for _, bg := range declined {
		var n int
		var outstanding, last time.Time
		var fee int64
		db.SQL.QueryRow(`SELECT count(*), max(p.created_at) FROM payments p WHERE p.billing_group_id = $1 AND p.kind = 'AUTOMATIC'`, bg).Scan(&n, &last)
		db.SQL.QueryRow(`SELECT outstanding_at, late_fee_amount FROM invoices WHERE billing_group_id = $1 AND month = '2026-10'`, bg).Scan(&outstanding, &fee)
		if n != 5 || !last.Before(outstanding) || fee != 2804 {
			t.Fatalf("%s: %d attempts (last %v), outstanding at %v, late fees %d", bg, n, last, outstanding, fee)
		}
	}
	for _, bg := range good {
		var status string
		db.SQL.QueryRow(`SELECT status FROM invoices WHERE billing_group_id = $1 AND month = '2026-10'`, bg).Scan(&status)
		if status != "PAID" {
			t.Fatalf("%s: %s", bg, status)
		}
	}
}

// Issue 13, finding 104 (a case of defect 5 found by TestMoneyInvariants):
// the catch-up started from the last recorded run, so the very first run on
// a database — one whose jobs never ran, or upgraded from a version without
// job_cursors — replayed nothing: run at December 1st, it ran only that
// instant's steps, so October's invoice was never attempted on November's
// payment days nor made outstanding on the 15th. The first run now starts the calendar at the
// creation of the first billing group: the same run attempts the payment
// on each of November 10th–14th, marks the invoice outstanding on the 15th
// and charges December's late fee. A database with no billing group has
// nothing to replay. Before the fix: 1 step, no attempt.
func TestTheFirstRunReplaysFromTheFirstGroup(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if d := e.runJobsAt("2026-10-15T00:00:00+09:00"); d["steps"] != 1.0 {
			t.Fatalf("first run without groups = %v", d)
		}
		db.SQL.Exec(`DELETE FROM job_cursors`) // as if it never ran
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		tok, bg := e.octoberInvoice("first-run@example.com")
		e.ok(tok, registerMethod, card("tok_visa_declined"))
		e.at("2026-12-05T10:00:00+09:00")
		d := e.runJobsAt("2026-12-01T00:00:00+09:00")
		if d["failed"] != 5.0 || d["outstanding"] != 1.0 || d["lateFees"] != 1.0 || len(d["stepFailures"].([]any)) != 0 {
			t.Fatalf("first run = %v", d)
		}
		auto := attempts(t, e.ok(tok, paymentsQuery, map[string]any{"bg": bg}))
		if len(auto) != 5 || !instant(t, auto[0]["createdAt"]).Equal(kstAt("2026-11-10T00:00:00+09:00")) {
			t.Fatalf("automatic attempts = %v", auto)
		}
		inv := get(e.ok(tok, paymentsQuery, map[string]any{"bg": bg}), "billingGroup.invoice")
		if str(inv, "status") != "OUTSTANDING" || !instant(t, get(inv, "outstandingAt")).Equal(kstAt("2026-11-15T00:00:00+09:00")) ||
			str(inv, "lateFeeAmount.amount") != "1402" {
			t.Fatalf("invoice = %v", inv)
		}
	})
}
