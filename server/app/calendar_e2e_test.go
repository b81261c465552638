package app_test

import (
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// setUTC moves the clock to an instant given in UTC, as a server's own clock
// reads it (instants written in KST would hide a database that compares the
// text of times with different offsets).
func (e *env) setUTC(s string) {
	e.t.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(t.UTC())
	e.op, _, _ = e.app.Tokens.Mint("access", "operator@test", "", "", []string{"OPERATOR"}, time.Hour)
}

// at KST boundaries on both databases: instants are compared as
// instants, whatever offset they were written with. On SQLite a coin charge
// made at 05:00 KST on January 1st was listed under the previous December
// and year, and a credit used up at 00:00 KST stayed listed 9 hours past its
// 3 months (times were compared as text with different offsets).
func TestInstantsCompareAsInstants(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		_, bg := e.octoberInvoice("instants@example.com")
		// A credit of 10,000 is used up by October's invoice (85,000),
		// at its issue: 2026-11-03 00:00 KST.
		e.ok(e.op, grantCredit, map[string]any{"in": map[string]any{"billingGroupId": bg, "name": "Prepaid", "type": "FREE",
			"amount": "10000", "startsAt": "2026-10-01T00:00:00+09:00", "endsAt": "2031-10-01T00:00:00+09:00"}})
		if d := e.runJobs("2026-11-03T00:00:00+09:00"); get(d, "runBillingJobs.issued") != 1.0 {
			t.Fatalf("jobs = %v", d)
		}
		listed := func(at string) (float64, float64) {
			e.setUTC(at)
			master := e.login("instants@example.com")
			q := `query($bg: ID!, $inc: Boolean) { billingGroup(id: $bg) { credits(first: 10, includeClosed: $inc) { totalCount edges { node { status } } } } }`
			d := e.ok(master, q, map[string]any{"bg": bg, "inc": false})
			all := e.ok(master, q, map[string]any{"bg": bg, "inc": true})
			return get(d, "billingGroup.credits.totalCount").(float64), get(all, "billingGroup.credits.totalCount").(float64)
		}
		// 2027-02-02 23:59 KST: still within 3 months of closing.
		if n, all := listed("2027-02-02T14:59:00Z"); n != 1 || all != 1 {
			t.Errorf("a minute before 3 months: listed %v of %v, want 1 of 1", n, all)
		}
		// 2027-02-03 00:00 KST: 3 months after it closed, it leaves the default list.
		if n, all := listed("2027-02-02T15:00:00Z"); n != 0 || all != 1 {
			t.Errorf("3 months after closing: listed %v of %v, want 0 of 1", n, all)
		}

		// A coin charge at 2027-01-01 05:00 KST (2026-12-31 20:00 UTC) is January's and 2027's.
		e.setUTC("2026-12-31T20:00:00Z")
		master := e.login("instants@example.com")
		pm := str(e.ok(master, registerMethod, card("tok_visa")), "registerPaymentMethod.paymentMethod.id")
		e.ok(master, `mutation($pm: ID!) { chargeCoins(input: {amount: "50000", paymentMethodId: $pm, idempotencyKey: "new-year"}) { charge { id } } }`,
			map[string]any{"pm": pm})
		for period, want := range map[string]int{"2027-01": 1, "2027": 1, "2026-12": 0, "2026": 0} {
			d := e.ok(master, `query($p: String) { viewer { account { coins { charges(period: $p) { id createdAt } } } } }`, map[string]any{"p": period})
			if n := len(get(d, "viewer.account.coins.charges").([]any)); n != want {
				t.Errorf("charges(period: %q) lists %d, want %d: %v", period, n, want, d)
			}
		}
	})
}
