package app_test

import (
	"testing"

	"github.com/cloudbill/cloudbill/server/store"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// Issue 13, finding 103 (found by TestMoneyInvariants): grantCredit took a
// free credit whose usage period ended in a month already invoiced for the
// group — a credit no invoice would ever use, AVAILABLE until some run
// expired it, shown as money the customer has. Every way a credit opens
// (grant, coupon, transfer; sales and welcome credits start now) now
// refuses a period whose last day is in a month already invoiced for the
// group, or before its first invoiced month, with BAD_USER_INPUT naming the
// input; a period that ended in a month not yet invoiced still pays that
// month's usage of its days. And once the jobs ran past a credit's end
// (for a free credit: the issue of its last month), none is AVAILABLE.
// Before the fix, the grants and the coupon were accepted.
func TestNoCreditOutsideItsLifecycle(t *testing.T) {
	testenv.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.ok(e.op, catalogSetup, nil)
		e.at("2026-11-01T10:00:00+09:00")
		master, bg := e.octoberInvoice("lifecycle@example.com")
		e.at("2026-11-20T10:00:00+09:00")
		if d := e.runJobsAt("2026-11-20T10:00:00+09:00"); d["issued"] == 0.0 {
			t.Fatalf("October not issued: %v", d)
		}
		grant := func(group, starts, ends string) map[string]any {
			return map[string]any{"in": map[string]any{"billingGroupId": group, "name": "Late promotion", "type": "FREE",
				"amount": "3000", "startsAt": starts, "endsAt": ends}}
		}
		refused := func(field, token, query string, vars map[string]any) {
			t.Helper()
			r := e.fails("BAD_USER_INPUT", token, query, vars)
			if r.Errors[0].Extensions["field"] != field {
				t.Fatalf("refusal names %v, want %s: %+v", r.Errors[0].Extensions["field"], field, r.Errors)
			}
		}
		// October is invoiced: a period whose last day is in October is refused…
		refused("endsAt", e.op, grantCredit, grant(bg, "2026-10-01T00:00:00+09:00", "2026-10-20T00:00:00+09:00"))
		refused("endsAt", e.op, grantCredit, grant(bg, "2026-10-01T00:00:00+09:00", "2026-11-01T00:00:00+09:00"))
		// …one that reaches November pays November (its 1st), and one that
		// ended before now in November pays the days it had.
		reaching := str(e.ok(e.op, grantCredit, grant(bg, "2026-10-01T00:00:00+09:00", "2026-11-02T00:00:00+09:00")), "grantCredit.credit.id")
		ended := str(e.ok(e.op, grantCredit, grant(bg, "2026-11-05T00:00:00+09:00", "2026-11-10T00:00:00+09:00")), "grantCredit.credit.id")
		e.ok(e.op, recordUsage, map[string]any{"e": []any{
			event("life-1", bg, "vm", "hour", "10", "2026-11-01T12:00:00+09:00"),
			event("life-2", bg, "vm", "hour", "10", "2026-11-06T12:00:00+09:00")}})

		// A group created in November was never invoiced for October.
		second := str(e.ok(master, `mutation { createBillingGroup(input: {name: "Later"}) { billingGroup { id } } }`, nil),
			"createBillingGroup.billingGroup.id")
		refused("endsAt", e.op, grantCredit, grant(second, "2026-09-01T00:00:00+09:00", "2026-11-01T00:00:00+09:00"))

		// The jobs run ahead of the clock (outside production) and invoice
		// November: a coupon's credit of 10 days from now could never pay.
		// (A transfer is checked alike, on its target, field
		// toBillingGroupId; its source expires in the run that invoices its
		// last month, so no transfer reaches it here.)
		e.ok(e.op, newCoupon, map[string]any{"in": map[string]any{"code": "LATE-10", "name": "Ten days", "amount": "5000",
			"validFrom": "2026-11-01T00:00:00+09:00", "validUntil": "2027-01-01T00:00:00+09:00", "maxRedemptions": 10, "creditValidDays": 10}})
		e.runJobsAt("2026-12-03T14:00:00+09:00")
		refused("code", master, register, map[string]any{"in": map[string]any{"billingGroupId": bg, "code": "LATE-10", "idempotencyKey": "late-10"}})

		// November's invoice used both credits granted for it; after the
		// jobs, no credit is AVAILABLE past its end.
		credits := map[string]map[string]any{}
		for _, group := range []string{bg, second} {
			d := e.ok(e.op, `query($bg: ID!) { billingGroup(id: $bg) { credits(first: 50, includeClosed: true) { edges { node {
				id type status endsAt usedAmount { amount } } } } } }`, map[string]any{"bg": group})
			for _, edge := range get(d, "billingGroup.credits.edges").([]any) {
				c := edge.(map[string]any)["node"].(map[string]any)
				credits[str(c, "id")] = c
				if c["status"] == "AVAILABLE" && c["type"] == "FREE" && !instant(t, c["endsAt"]).After(kstAt("2026-12-01T00:00:00+09:00")) {
					t.Fatalf("credit %v is AVAILABLE after the jobs ran past its last month's issue", c)
				}
			}
		}
		if len(credits) != 2 {
			t.Fatalf("credits = %v, want the two accepted", credits)
		}
		for _, id := range []string{reaching, ended} {
			if c := credits[id]; str(c, "usedAmount.amount") == "0" || c["status"] == "AVAILABLE" {
				t.Fatalf("credit %s for November's days: %v", id, c)
			}
		}
	})
}
