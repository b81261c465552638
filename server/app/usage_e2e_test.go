package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// partner creates a usage:write API token for the master's organization,
// the way a partner pushing usage gets one.
func (e *env) partner(master string) string {
	e.t.Helper()
	d := e.ok(master, `mutation { createApiToken(input: {name: "usage feed", scopes: ["usage:write"]}) { token } }`, nil)
	return str(d, "createApiToken.token")
}

// eventErrors maps the per-event errors of a refused batch to their fields
// ("events.occurredAt"), by event id.
func eventErrors(r result) map[string]string {
	out := map[string]string{}
	for _, e := range r.Errors {
		if id, ok := e.Extensions["eventId"].(string); ok {
			out[id], _ = e.Extensions["field"].(string)
		}
	}
	return out
}

// wantField fails unless r is a BAD_USER_INPUT error about field.
func wantField(t *testing.T, r result, field string) {
	t.Helper()
	if r.code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != field {
		t.Fatalf("want BAD_USER_INPUT on %s, got %+v", field, r.Errors)
	}
}

// Issue 13, defect 2: nothing billable is accepted that no invoice will
// carry. The month close invoices a month to the billing groups created
// before it ended, so usage, a contract or a discount of a month before
// the group was created used to be accepted and then never invoiced; and a
// discount coupon redeemed in a month already invoiced (the jobs run ahead
// of the clock) made a discount no invoice applies. Each is refused, with
// the field at fault, and what is accepted is all on the invoice.
func TestNothingBillableBeforeTheFirstInvoice(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db) // 2026-11-20 10:00 KST
		e.ok(e.op, catalogSetup, nil)
		master, _ := e.signUp("first-month@example.com")
		bg := e.mainGroup(master) // created in November
		feed := e.partner(master)

		// Usage of October, before the group existed: the whole batch is
		// refused, naming the October event.
		r := e.fails("BAD_USER_INPUT", feed, recordUsage, map[string]any{"e": []any{
			event("oct", bg, "vm", "hour", "10", "2026-10-31T23:00:00+09:00"),
			event("nov", bg, "vm", "hour", "2", "2026-11-01T00:00:00+09:00"),
		}})
		if got := eventErrors(r); len(got) != 1 || got["oct"] != "events.occurredAt" {
			t.Fatalf("per-event errors = %v (%+v)", got, r.Errors)
		}
		d := e.ok(feed, recordUsage, map[string]any{"e": []any{event("nov", bg, "vm", "hour", "2", "2026-11-01T00:00:00+09:00")}})
		if get(d, "recordUsage.accepted") != 1.0 {
			t.Fatalf("November usage: %v", d)
		}

		// A contract starting in October, a discount of October: refused.
		contract := `mutation($bg: ID!, $on: String!) { createContract(input: {billingGroupId: $bg, serviceCode: "lb", region: "kr-1", startsOn: $on}) { contract { id } } }`
		wantField(t, e.gql(e.op, contract, map[string]any{"bg": bg, "on": "2026-10-22"}), "startsOn")
		e.ok(e.op, contract, map[string]any{"bg": bg, "on": "2026-11-16"}) // 15 of 30 days: 9000
		discount := `mutation($bg: ID!, $m: Month!) { createDiscount(input: {billingGroupId: $bg, month: $m, name: "Early", percentage: "10"}) { discount { id } } }`
		wantField(t, e.gql(e.op, discount, map[string]any{"bg": bg, "m": "2026-10"}), "month")

		// The jobs run ahead of the clock (allowed outside production)
		// issue November; a discount coupon redeemed now, still in
		// November, would make a discount of a month already invoiced.
		e.ok(e.op, `mutation { runBillingJobs(input: {at: "2026-12-03T00:00:00+09:00"}) { issued } }`, nil)
		e.ok(e.op, `mutation { createCoupon(input: {code: "HALF-OFF", name: "Half off", discountPercentage: "50",
			validFrom: "2026-01-01T00:00:00+09:00", validUntil: "2027-01-01T00:00:00+09:00", maxRedemptions: 10}) { coupon { id } } }`, nil)
		wantField(t, e.gql(master, `mutation($bg: ID!) { registerCoupon(input: {billingGroupId: $bg, code: "HALF-OFF", idempotencyKey: "c-1"}) { discount { id } } }`,
			map[string]any{"bg": bg}), "code")

		// Everything accepted is on November's invoice; October has none
		// and no usage.
		inv := e.ok(master, `query($bg: ID!) { billingGroup(id: $bg) { oct: invoice(month: "2026-10") { id }
			nov: invoice(month: "2026-11") { usageAmount { amount } discountAmount { amount } }
			usage(month: "2026-10") { usedAmount { amount } } } }`, map[string]any{"bg": bg})
		if get(inv, "billingGroup.oct") != nil || str(inv, "billingGroup.usage.usedAmount.amount") != "0" {
			t.Fatalf("October: %v", inv)
		}
		if str(inv, "billingGroup.nov.usageAmount.amount") != "9170" || str(inv, "billingGroup.nov.discountAmount.amount") != "0" {
			t.Fatalf("November's invoice = %v; want 2 h × 85 + 9000 = 9170, no discount", inv)
		}
	})
}
